/* tok_internal.h - the tokenizer's representation, shared by src/core/tok*.c. */
#ifndef RS_TOK_INTERNAL_H
#define RS_TOK_INTERNAL_H

#include <stdint.h>
#include <string.h>

#include "filelimits.h"
#include "tokenizer.h"

/* One merge in the (left, right) -> (rank, result) map. */
typedef struct tok_merge_slot {
	uint64_t key; /* (uint64_t)left << 32 | right; TOK_EMPTY_KEY when free */
	int32_t rank, result;
} tok_merge_slot;

/* One entry of the text -> id map. The key's place in the arena and a
 * fingerprint of its hash sit in the slot, so a probe reads the arena only
 * for a likely match. */
typedef struct tok_vslot {
	uint32_t fp;       /* high half of the key's hash */
	int32_t id;        /* -1: empty */
	uint32_t off, len; /* the key in the arena */
} tok_vslot;

#define TOK_EMPTY_KEY UINT64_MAX

struct rs_tokenizer {
	int kind;                  /* enum tok_kind */
	int32_t n_vocab;
	/* Pieces and bytes of all tokens, each NUL-terminated, in one block. */
	char *arena;
	uint32_t *piece_off;       /* [n_vocab] into arena */
	uint32_t *piece_len;       /* [n_vocab] */
	uint32_t *bytes_off;       /* [n_vocab] into arena */
	uint32_t *bytes_len;       /* [n_vocab] */
	uint8_t *types;            /* [n_vocab] enum tok_type */
	float *scores;             /* [n_vocab] TOK_SPM, else NULL */

	/* Text -> id for the tokens that merging may produce: the key is a token's
	 * bytes in TOK_BPE and its piece ("▁the") in TOK_SPM. Open addressing,
	 * -1 = empty. */
	tok_vslot *vocab_hash;
	uint32_t vocab_mask;

	tok_merge_slot *merge_hash; /* TOK_BPE */
	uint32_t merge_mask;
	int32_t *merges;           /* [n_merges * 3] left, right, result by rank */
	int32_t n_merges;

	int32_t byte_tok[256];     /* the token of each single byte (BPE) or <0xNN> (SPM); -1 */

	/* Tokens recognised in text (control and user-defined), grouped by first
	 * byte and longest first within a group, so the first hit is the longest. */
	int32_t *special_ids;
	int n_special;
	int special_first[257];    /* special_ids[special_first[b] .. special_first[b+1]) */

	int32_t bos, eos, eot, unk;
	int add_bos, add_space_prefix, ignore_merges;
};

RS_WRAPS static inline uint64_t tok_hash_bytes(const char *s, size_t n)
{
	uint64_t h = 0x9E3779B97F4A7C15ull ^ (n * 0xC2B2AE3D27D4EB4Full);
	while (n >= 8) {
		uint64_t v;
		memcpy(&v, s, 8);
		h = (h ^ v) * 0xFF51AFD7ED558CCDull;
		h ^= h >> 32;
		s += 8;
		n -= 8;
	}
	uint64_t v = 0;
	memcpy(&v, s, n);
	h = (h ^ v) * 0xC4CEB9FE1A85EC53ull;
	return h ^ (h >> 29);
}

RS_WRAPS static inline uint64_t tok_hash_u64(uint64_t k)
{
	k ^= k >> 33;
	k *= 0xFF51AFD7ED558CCDull;
	k ^= k >> 33;
	return k;
}

/* The token whose key (see vocab_hash) is s[0..n) with hash h, or -1. */
static inline int32_t tok_lookup_h(const rs_tokenizer *tok, const char *s, size_t n, uint64_t h)
{
	uint32_t fp = (uint32_t)(h >> 32);
	for (uint32_t i = (uint32_t)h & tok->vocab_mask;; i = (i + 1) & tok->vocab_mask) {
		const tok_vslot *v = &tok->vocab_hash[i];
		if (v->id < 0)
			return -1;
		if (v->fp == fp && v->len == n && !memcmp(tok->arena + v->off, s, n))
			return v->id;
	}
}

static inline int32_t tok_lookup(const rs_tokenizer *tok, const char *s, size_t n)
{
	return tok_lookup_h(tok, s, n, tok_hash_bytes(s, n));
}

/* The merge of (left, right), or NULL. */
static inline const tok_merge_slot *tok_merge_find(const rs_tokenizer *tok, int32_t left,
						   int32_t right)
{
	if (!tok->merge_hash)
		return NULL;
	uint64_t key = (uint64_t)(uint32_t)left << 32 | (uint32_t)right;
	for (uint32_t i = (uint32_t)tok_hash_u64(key) & tok->merge_mask;;
	     i = (i + 1) & tok->merge_mask) {
		const tok_merge_slot *m = &tok->merge_hash[i];
		if (m->key == key)
			return m;
		if (m->key == TOK_EMPTY_KEY)
			return NULL;
	}
}

/* ------------------------------------------------------ GPT-2 byte map */

/* The code point that stands for byte b in byte-level token strings. */
static inline uint32_t tok_byte_to_cp(unsigned b)
{
	if ((b >= 0x21 && b <= 0x7E) || (b >= 0xA1 && b <= 0xAC) || b >= 0xAE)
		return b;
	/* The 68 others, in increasing order, map to U+0100, U+0101, ... */
	if (b <= 0x20)
		return 0x100 + b;
	if (b <= 0xA0)
		return 0x100 + 33 + (b - 0x7F);
	return 0x100 + 67; /* 0xAD */
}

/* The byte code point cp stands for, or -1. */
static inline int tok_cp_to_byte(uint32_t cp)
{
	if ((cp >= 0x21 && cp <= 0x7E) || (cp >= 0xA1 && cp <= 0xAC) || (cp >= 0xAE && cp <= 0xFF))
		return (int)cp;
	if (cp < 0x100 || cp >= 0x100 + 68)
		return -1;
	uint32_t k = cp - 0x100;
	if (k < 33)
		return (int)k;
	if (k < 67)
		return (int)(0x7F + k - 33);
	return 0xAD;
}

/* Decodes one UTF-8 character of s[0..n), n > 0: returns its length and sets
 * *cp; an invalid or truncated sequence is one byte long with *cp = UINT32_MAX. */
static inline int tok_utf8_next(const unsigned char *s, size_t n, uint32_t *cp)
{
	unsigned c = s[0];
	if (c < 0x80) {
		*cp = c;
		return 1;
	}
	int len;
	uint32_t v, min;
	if (c >= 0xC2 && c <= 0xDF)
		len = 2, v = c & 0x1F, min = 0x80;
	else if (c >= 0xE0 && c <= 0xEF)
		len = 3, v = c & 0x0F, min = 0x800;
	else if (c >= 0xF0 && c <= 0xF4)
		len = 4, v = c & 0x07, min = 0x10000;
	else
		goto bad;
	if ((size_t)len > n)
		goto bad;
	for (int i = 1; i < len; i++) {
		if ((s[i] & 0xC0) != 0x80)
			goto bad;
		v = v << 6 | (s[i] & 0x3F);
	}
	if (v < min || v > 0x10FFFF || (v >= 0xD800 && v <= 0xDFFF))
		goto bad;
	*cp = v;
	return len;
bad:
	*cp = UINT32_MAX;
	return 1;
}

/* ------------------------------------------------------ encoding state */

/* Growing output of an encode call. */
typedef struct tok_out {
	int32_t *ids, *offs;
	int n, cap;
} tok_out;

/* Starts with room for a few tokens, so that even an empty result is an
 * allocation (callers may memcpy from it with a count of 0). */
void tok_out_init(tok_out *o);
void tok_out_push(tok_out *o, int32_t id, uint32_t off);

/* A trace under construction (tok_trace plus capacities); NULL when not tracing. */
typedef struct tok_rec {
	tok_trace t;
	int cap_pieces, cap_steps, cap_syms;
	int max_syms;
	int overflow;              /* set when max_syms was passed; the caller fails */
} tok_rec;

/* Starts a piece record; its initial symbols follow with tok_rec_syms. */
int tok_rec_piece(tok_rec *r, int kind, uint32_t off, uint32_t len, int id0);
/* Appends symbols to the pool; returns the index of the first. */
int tok_rec_syms(tok_rec *r, const tok_sym *s, int n);
void tok_rec_step(tok_rec *r, const tok_trace_step *st);
void tok_rec_piece_end(tok_rec *r, int piece, int n_ids_now);

/* Scratch buffers reused by all pieces of one encode call. */
typedef struct tok_scratch {
	void *syms;
	size_t cap_syms;
	void *heap;
	size_t cap_heap;
	char *buf;
	uint32_t *map;
	size_t cap_buf;
	tok_sym *snap;
	size_t cap_snap;
} tok_scratch;

void tok_scratch_free(tok_scratch *sc);

/* Encodes one pre-token text[off..off+len) of a TOK_BPE tokenizer. */
void tok_bpe_piece(const rs_tokenizer *tok, tok_scratch *sc, const char *text, uint32_t off,
		   uint32_t len, int flags, tok_out *out, tok_rec *rec);

/* Encodes one span of text between special tokens of a TOK_SPM tokenizer;
 * prefix: add the space prefix. */
void tok_spm_span(const rs_tokenizer *tok, tok_scratch *sc, const char *text, uint32_t off,
		  uint32_t len, int prefix, tok_out *out, tok_rec *rec);

/* Encodes text[off..off+len) with no special-token splitting (used by chat
 * rendering for the text between header tokens). */
void tok_encode_span(const rs_tokenizer *tok, tok_scratch *sc, const char *text, uint32_t off,
		     uint32_t len, int flags, int prev_special, tok_out *out, tok_rec *rec);

/* Splits "left right" at its first space after index 0 (GGUF and old HF
 * merges); 0, or -1 when there is none. */
int tok_split_merge(tok_str m, tok_str *left, tok_str *right);

/* Byte-level (GPT-2) decoding of a token string, each character standing for
 * one byte; returns the byte count written to out (n bytes suffice), or -1
 * when a character is not one of the 256. */
int tok_bytelevel_decode(const char *s, size_t n, char *out);

/* The spec's name for error messages. */
const char *tok_src_name(const tok_spec *s);

/* Fills tok->merges and tok->merge_hash from spec->merges (TOK_BPE). */
int tok_build_merges(rs_tokenizer *tok, const tok_spec *spec, rs_err *err);

/* s[0..len) made safe for a one-line error message in buf (cap bytes, 80 is
 * plenty): quotes, backslashes and control bytes escaped, long text cut with
 * "...". Returns buf. */
const char *tok_quote(char *buf, size_t cap, const char *s, size_t len);

/* The known Llama 3 pre-tokenizer regex, as tokenizer.json stores it. */
extern const char tok_llama3_regex[];

#endif
