/* tokenizer.h - Llama tokenizers: byte-level BPE (Llama 3) and SentencePiece-style
 * BPE (Llama 2 / TinyLlama GGUF), with chat rendering and a step-by-step trace.
 *
 * A tokenizer is immutable once created: every function taking a const
 * rs_tokenizer * may be called from several threads at once.
 *
 * Vocabulary. Token i has a piece (the string stored in the file: "Ġworld" in
 * byte-level BPE, "▁world" in SentencePiece, "<|eot_id|>" for a control token)
 * and bytes (what it stands for in text: " world"). Encoding and decoding work
 * on bytes; any byte string, valid UTF-8 or not, encodes, and decoding the ids
 * gives the bytes back (byte-level BPE has a token for every byte; SentencePiece
 * falls back to <0xNN> tokens, though a "▁" written in the text comes back as
 * a space, as in SentencePiece itself).
 *
 * Byte-level BPE (reference/llama-spec.md section 3.1): special tokens are
 * split out first; each remaining span is cut into pre-tokens by the Llama 3
 * regex; a pre-token that is itself a token is emitted whole (ignore_merges);
 * otherwise its bytes are merged pairwise, lowest merge rank first, leftmost
 * first on ties, until no adjacent pair has a merge.
 *
 * SentencePiece BPE (section 3.4): a space is prefixed to each span of text (at
 * the start and after a special token) when add_space_prefix is set, spaces
 * become "▁", the UTF-8 characters are merged pairwise, highest score first,
 * and characters left without a token are emitted as <0xNN> byte tokens.
 *
 * Ownership: arrays returned through pointer arguments are malloc'd and the
 * caller frees them with free(); strings returned as const char * point into
 * the tokenizer and live until tok_free.
 */
#ifndef RS_TOKENIZER_H
#define RS_TOKENIZER_H

#include <stddef.h>
#include <stdint.h>

#include "err.h"

struct gguf_file;
struct gguf_writer;

typedef struct rs_tokenizer rs_tokenizer;

/* A byte string that need not be NUL-terminated. */
typedef struct tok_str {
	const char *s;
	size_t len;
} tok_str;

enum tok_kind {
	TOK_BPE = 1, /* byte-level BPE with merge ranks: GGUF model "gpt2", HF tokenizer.json */
	TOK_SPM = 2, /* SentencePiece BPE with scores: GGUF model "llama" */
};

/* Token types, numbered as GGUF's tokenizer.ggml.token_type. */
enum tok_type {
	TOK_T_UNDEFINED = 0,
	TOK_T_NORMAL = 1,
	TOK_T_UNKNOWN = 2,
	TOK_T_CONTROL = 3,      /* special: recognised in text only with TOK_PARSE_SPECIAL */
	TOK_T_USER_DEFINED = 4, /* always recognised in text, as written */
	TOK_T_UNUSED = 5,
	TOK_T_BYTE = 6,         /* SentencePiece <0xNN> */
};

/* --------------------------------------------------------------- creation */

/* Everything a tokenizer is made of; the loaders fill one and call tok_create.
 * All pointers are borrowed: tok_create copies what it keeps. */
typedef struct tok_spec {
	int kind;               /* enum tok_kind */
	int32_t n_tokens;
	const tok_str *pieces;  /* [n_tokens] stored token strings */
	const int32_t *types;   /* [n_tokens] enum tok_type, or NULL: all normal */
	const float *scores;    /* [n_tokens] SentencePiece scores (TOK_SPM), or NULL */
	int32_t n_merges;
	const tok_str *merges;  /* [n_merges * 2] left and right pieces, in rank order (TOK_BPE) */
	int32_t bos, eos, eot;  /* token ids, or -1 for none */
	int32_t unk;            /* TOK_SPM: emitted for a byte with no <0xNN> token; -1 none */
	int add_bos;            /* the file's preference; see tok_add_bos */
	int add_space_prefix;   /* TOK_SPM */
	int ignore_merges;      /* TOK_BPE: emit a pre-token whole when it is a token (Llama 3) */
	const char *name;       /* source named in error messages (a path), or NULL */
} tok_spec;

/* Builds a tokenizer. Fails with one line when a merge names a piece that is
 * not in the vocabulary, when a special id is out of range, and the like. */
rs_tokenizer *tok_create(const tok_spec *spec, rs_err *err);

/* Convenience for builders such as the BPE trainer: a Llama-3-style byte-level
 * BPE from NUL-terminated pieces (GPT-2 byte-to-unicode strings, as in GGUF),
 * types (NULL: all normal) and "left right" merge strings in rank order.
 * ignore_merges is on, add_bos is on when bos >= 0, and eot is "<|eot_id|>"
 * when the vocabulary has it, else eos. */
rs_tokenizer *tok_create_bpe(const char *const *pieces, const int32_t *types, int32_t n_tokens,
			     const char *const *merges, int32_t n_merges, int32_t bos, int32_t eos,
			     rs_err *err);

/* Hugging Face tokenizer.json (model BPE with the Llama 3 pre-tokenizer regex;
 * merges as "a b" strings or ["a", "b"] pairs; added_tokens are the special
 * tokens). Reads tokenizer_config.json next to it, when present, for eos. */
rs_tokenizer *tok_load_json(const char *path, rs_err *err);

/* The same from memory; name is used in error messages. */
rs_tokenizer *tok_load_json_mem(const char *buf, size_t len, const char *name, rs_err *err);

/* From the tokenizer.ggml.* keys of an open GGUF file (model "gpt2" with pre
 * "llama-bpe", or model "llama"). Nothing of g is kept. */
rs_tokenizer *tok_load_gguf(const struct gguf_file *g, rs_err *err);

/* Opens whatever path names: a .gguf (checked by its magic), a Hugging Face
 * model folder (its tokenizer.json) or a tokenizer.json. */
rs_tokenizer *tok_load(const char *path, rs_err *err);

void tok_free(rs_tokenizer *tok);

/* Writes tok as tokenizer.ggml.* keys (model, pre, tokens, token_type, merges or
 * scores, special ids, add_bos_token, add_space_prefix), as llama.cpp's
 * converter does, so tok_load_gguf reads back the same tokenizer. */
int tok_gguf_write(const rs_tokenizer *tok, struct gguf_writer *w, rs_err *err);

/* ------------------------------------------------------------- vocabulary */

int tok_kind(const rs_tokenizer *tok);
int32_t tok_n_vocab(const rs_tokenizer *tok);
/* The stored string of token id ("Ġworld"), NUL-terminated; "" when out of range. */
const char *tok_piece(const rs_tokenizer *tok, int32_t id);
/* The bytes token id stands for (" world"); *len is set; NULL when out of range. */
const char *tok_token_bytes(const rs_tokenizer *tok, int32_t id, size_t *len);
int tok_type(const rs_tokenizer *tok, int32_t id);   /* enum tok_type; -1 out of range */
int tok_is_special(const rs_tokenizer *tok, int32_t id); /* control token */
float tok_score(const rs_tokenizer *tok, int32_t id); /* TOK_SPM; 0 otherwise */
/* The id whose stored piece is exactly piece, or -1. */
int32_t tok_find(const rs_tokenizer *tok, const char *piece);
int32_t tok_bos(const rs_tokenizer *tok); /* -1 when none */
int32_t tok_eos(const rs_tokenizer *tok);
int32_t tok_eot(const rs_tokenizer *tok); /* end of turn: <|eot_id|> in Llama 3 instruct */
int tok_add_bos(const rs_tokenizer *tok); /* whether the model expects BOS prepended */
/* Merge number rank (TOK_BPE): the pair and the token it makes. 0 or -1. */
int tok_merge(const rs_tokenizer *tok, int32_t rank, int32_t *left, int32_t *right,
	      int32_t *result);
int32_t tok_n_merges(const rs_tokenizer *tok);

/* --------------------------------------------------------------- encoding */

enum tok_flags {
	TOK_ADD_BOS = 1 << 0,       /* prepend BOS (when the tokenizer has one) */
	TOK_PARSE_SPECIAL = 1 << 1, /* control tokens written in the text become tokens */
	/* Byte-level BPE: merge even pre-tokens that are whole tokens (as if
	 * ignore_merges were off), so a trace shows how BPE builds a word. The ids
	 * can differ from the real ones. */
	TOK_ALWAYS_MERGE = 1 << 2,
};

/* Encodes len bytes of text. *ids and *offsets (either may be NULL to not
 * receive it) get n entries: the token ids and each token's byte offset in
 * text (an added BOS gets offset 0; a byte-fallback token the offset of its byte). */
int tok_encode(const rs_tokenizer *tok, const char *text, size_t len, int flags,
	       int32_t **ids, int32_t **offsets, int *n, rs_err *err);

enum tok_decode_flags {
	TOK_SKIP_SPECIAL = 1 << 0, /* leave control tokens out of the text */
};

/* The bytes of ids concatenated into a malloc'd, NUL-terminated *out (*len,
 * when len is not NULL, excludes the NUL; the text may hold NUL bytes). SentencePiece: the space that encoding prefixed (at the
 * start and after a special token) is removed again. Fails on an id out of range. */
int tok_decode(const rs_tokenizer *tok, const int32_t *ids, int n, int flags, char **out,
	       size_t *len, rs_err *err);

/* The Llama 3 pre-tokenizer: the end (exclusive) of the regex match that starts
 * at pos in s[0..len), pos < len. Invalid UTF-8 bytes count as one character
 * each, neither letter, number nor space. */
size_t tok_pretok_next(const char *s, size_t len, size_t pos);

/* ------------------------------------------------------------------ trace */

/* How an encoding came about, for the screen to replay one step at a time:
 * first the pre-tokens (special tokens, regex pieces; in SentencePiece the
 * spans between special tokens), then the merges applied to each of them. */

typedef struct tok_sym {
	int32_t id;        /* token, or -1: a SentencePiece character with no token */
	uint32_t off, len; /* the bytes of text it covers */
} tok_sym;

enum tok_piece_kind {
	TOK_PIECE_SPECIAL = 1, /* a special token found in the text */
	TOK_PIECE_WHOLE,       /* a pre-token that is itself a token: emitted with no merges */
	TOK_PIECE_MERGED,      /* a pre-token built by merges */
	TOK_PIECE_BOS,         /* the added BOS */
};

typedef struct tok_trace_piece {
	int kind;              /* enum tok_piece_kind */
	uint32_t off, len;     /* span of text */
	int sym0, n_sym0;      /* its initial symbols: syms[sym0 .. sym0+n_sym0) */
	int step0, n_steps;    /* its merges: steps[step0 .. step0+n_steps) */
	int id0, n_ids;        /* the tokens it became: ids[id0 .. id0+n_ids) */
} tok_trace_piece;

typedef struct tok_trace_step {
	int piece;             /* index into pieces */
	int at;                /* position of the left symbol in the piece's list before */
	int32_t left, right;   /* the pair's ids (-1: a SentencePiece character with no token) */
	int32_t result;        /* the merged token */
	int32_t rank;          /* TOK_BPE: merge rank (lower merges first); TOK_SPM: -1 */
	float score;           /* TOK_SPM: the merged token's score (higher first) */
	int sym0, n_syms;      /* the piece's symbols after this merge: syms[sym0 ..) */
} tok_trace_step;

typedef struct tok_trace {
	tok_trace_piece *pieces;
	int n_pieces;
	tok_trace_step *steps;
	int n_steps;
	tok_sym *syms;         /* pool the pieces and steps point into */
	int n_syms;
	int32_t *ids, *offsets; /* the final encoding, as tok_encode gives it */
	int n_ids;
} tok_trace;

/* Encodes text recording every step; *out is freed with tok_trace_free. Each
 * merge stores the piece's whole symbol list, so this is for short texts: it
 * fails when the recording would pass max_syms symbols (0: 1<<22). */
int tok_trace_encode(const rs_tokenizer *tok, const char *text, size_t len, int flags,
		     int max_syms, tok_trace **out, rs_err *err);
void tok_trace_free(tok_trace *t);

/* ------------------------------------------------------------------- chat */

enum tok_chat_style {
	/* Hugging Face Llama 3.1 template: a system block always comes first, with
	 * "Cutting Knowledge Date: December 2023\nToday Date: 26 Jul 2024\n\n". */
	TOK_CHAT_LLAMA31 = 1,
	/* Llama 3 / Meta ChatFormat / llama.cpp "llama3": no preamble; a system
	 * turn only when a system message is given. */
	TOK_CHAT_LLAMA3 = 2,
};

typedef struct tok_chat_msg {
	const char *role;      /* "system", "user", "assistant", "ipython" */
	const char *content;   /* trimmed of surrounding white space, as the templates do */
} tok_chat_msg;

/* Renders a conversation to token ids directly: the header and end-of-turn
 * tokens are emitted as ids, so text in a message is never read as a special
 * token. add_prompt appends the assistant header (generation prompt). date is
 * TOK_CHAT_LLAMA31's "Today Date" (NULL: "26 Jul 2024"). *text (optional)
 * receives the rendered text, *offsets (optional) each token's offset in it.
 * Needs the Llama 3 special tokens in the vocabulary. */
int tok_chat_render(const rs_tokenizer *tok, int style, const tok_chat_msg *msgs, int n_msgs,
		    int add_prompt, const char *date, int32_t **ids, int32_t **offsets, int *n,
		    char **text, rs_err *err);

/* Token ids written as text, the one grammar: plain ids or #ID, separated by
 * commas or white space ("1,2,3", "#1 #2"), each an int32 (the range, a
 * model's vocabulary, is the caller's check: "-3" parses, to be refused as
 * out of range). Returns 0 with *ids malloc'd and *n
 * entries (0 and NULL for none), or -1 with *bad at the first entry that is
 * not an id and *n the entries before it. */
int tok_parse_ids(const char *s, int32_t **ids, int *n, const char **bad);

#endif
