/* bpe_train.h - byte-level BPE trainer for the built-in model's tokenizer.
 *
 * Text is cut into pre-tokens (the Llama 3 regex), pre-tokens are counted,
 * and pairs of adjacent symbols are merged, most frequent first, until the
 * vocabulary reaches its size. The result has the shape of a Llama 3
 * tokenizer: 256 byte tokens (ids 0..255, id = byte value), the merged
 * tokens in merge order, then the special tokens (<|begin_of_text|>, ...,
 * <|eot_id|>, as in Llama 3.1's first eleven). Token strings use GPT-2's
 * byte-to-unicode alphabet ("Ġworld"), merges are "left right" strings in
 * rank order, types are 1 (normal) or 3 (control), as GGUF stores them.
 *
 * Forced words (" Mary", " Paris") become single tokens: after training, each
 * one that is still split gets a chain of merges joining its pieces left to
 * right; training stops early by exactly as many tokens as the chains need.
 */
#ifndef RS_BPE_TRAIN_H
#define RS_BPE_TRAIN_H

#include <stddef.h>
#include <stdint.h>

#include "err.h"

/* A pre-tokenizer: the end (exclusive) of the pre-token starting at pos in
 * s[0..len). tok_pretok_next (tokenizer.h) has this shape. */
typedef size_t (*bpe_pretok_fn)(const char *s, size_t len, size_t pos);

/* The Llama 3 regex, exact for ASCII text; a byte >= 0x80 counts as a letter
 * (the corpus is ASCII, so this never matters for it). */
size_t bpe_pretok_ascii(const char *s, size_t len, size_t pos);

/* ---------------------------------------------------------------- counting */

typedef struct bpe_counts bpe_counts;

bpe_counts *bpe_counts_create(void);
void bpe_counts_free(bpe_counts *c);
/* Cuts text into pre-tokens with pretok (NULL: bpe_pretok_ascii) and counts them. */
void bpe_counts_add_text(bpe_counts *c, const char *text, size_t len, bpe_pretok_fn pretok);
void bpe_counts_add(bpe_counts *c, const char *piece, size_t len, uint64_t count);
size_t bpe_counts_unique(const bpe_counts *c);
uint64_t bpe_counts_total(const bpe_counts *c);

/* ---------------------------------------------------------------- training */

typedef struct bpe_train_opts {
	int vocab_size;                /* all tokens: 256 bytes + merges + specials */
	const char *const *forced;     /* words that must be one token each (raw bytes) */
	size_t n_forced;
	int verbose;                   /* progress on stderr */
} bpe_train_opts;

typedef struct bpe_vocab {
	int32_t n_tokens;
	char **tokens;       /* [n_tokens] GPT-2 byte-to-unicode strings, UTF-8 */
	int32_t *types;      /* [n_tokens] 1 normal, 3 control */
	int32_t n_merges;
	char **merges;       /* [n_merges] "left right" in rank order */
	int32_t bos, eos, eot;
	/* Statistics over the counted text. */
	uint64_t n_pretokens; /* pre-tokens counted (with repeats) */
	uint64_t n_encoded;   /* tokens the counted text encodes to with this vocabulary */
	int32_t n_forced_chains; /* tokens added to make forced words whole */
	/* Private: merges as ids, for encoding. */
	int32_t *m_left, *m_right, *m_result;
	struct bpe_pairmap *pairs;
	uint32_t *tok_len;   /* raw byte length of each token */
	char **tok_bytes;    /* raw bytes of each token */
} bpe_vocab;

int bpe_train(const bpe_counts *c, const bpe_train_opts *o, bpe_vocab **out, rs_err *err);
void bpe_vocab_free(bpe_vocab *v);

/* Encodes one pre-token (raw bytes) by merge rank; writes at most max ids,
 * returns how many the piece takes. */
int bpe_vocab_encode_piece(const bpe_vocab *v, const char *piece, size_t len, int32_t *ids,
			   int max);
/* The id of the token whose raw bytes are exactly s, or -1. */
int32_t bpe_vocab_find(const bpe_vocab *v, const char *s, size_t len);

/* GPT-2's byte-to-unicode: the UTF-8 (1 or 2 bytes, NUL-terminated) for byte b. */
void bpe_byte_char(unsigned char b, char out[3]);

/* Writes a GGUF with no tensors and the tokenizer.ggml.* keys of a Llama 3
 * model (model "gpt2", pre "llama-bpe", tokens, token_type, merges, bos, eos,
 * eot, add_bos_token) plus general.architecture "llama" and general.name. */
int bpe_vocab_write_gguf(const bpe_vocab *v, const char *path, rs_err *err);

#endif
