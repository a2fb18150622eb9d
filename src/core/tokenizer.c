/* tokenizer.c - building a tokenizer (vocabulary, lookup tables; merges in tok_merges.c),
 * its accessors, and decoding. Encoding is in tok_encode.c. */
#include "config.h"
#include "tok_internal.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define SPM_SPACE "\xE2\x96\x81" /* U+2581 ▁ */

const char *tok_src_name(const tok_spec *s)
{
	return s->name ? s->name : "tokenizer";
}

/* Byte-level (GPT-2) decoding of a token string: each character stands for
 * one byte. Returns the byte count written to out, or -1 when a character is
 * not one of the 256. */
int tok_bytelevel_decode(const char *s, size_t n, char *out)
{
	const unsigned char *u = (const unsigned char *)s;
	size_t i = 0;
	int k = 0;
	while (i < n) {
		if (u[i] >= 0x21 && u[i] <= 0x7E) { /* printable ASCII stands for itself */
			out[k++] = (char)u[i++];
			continue;
		}
		uint32_t cp;
		i += tok_utf8_next(u + i, n - i, &cp);
		int b = tok_cp_to_byte(cp);
		if (b < 0)
			return -1;
		out[k++] = (char)b;
	}
	return k;
}

/* "<0xNN>" -> NN, or -1. */
static int spm_byte_piece(const char *s, size_t n)
{
	static const char hex[] = "0123456789ABCDEF";
	if (n != 6 || memcmp(s, "<0x", 3) || s[5] != '>')
		return -1;
	const char *h = strchr(hex, s[3] ? s[3] : 'x'), *l = strchr(hex, s[4] ? s[4] : 'x');
	if (!h || !l)
		return -1;
	return (int)(h - hex) * 16 + (int)(l - hex);
}

/* The bytes a token stands for, written to out (room for n bytes). */
static size_t token_bytes_of(int kind, int type, const char *s, size_t n, char *out)
{
	if (type == TOK_T_CONTROL || type == TOK_T_USER_DEFINED || type == TOK_T_UNUSED) {
		memcpy(out, s, n); /* stored as the text itself, in both kinds */
		return n;
	}
	if (kind == TOK_BPE) {
		int k = tok_bytelevel_decode(s, n, out);
		if (k >= 0)
			return (size_t)k;
		memcpy(out, s, n); /* not a byte-level string: keep it as written */
		return n;
	}
	if (type == TOK_T_BYTE) {
		int b = spm_byte_piece(s, n);
		if (b >= 0) {
			out[0] = (char)b;
			return 1;
		}
	}
	size_t k = 0;
	for (size_t i = 0; i < n; i++) {
		if (i + 3 <= n && !memcmp(s + i, SPM_SPACE, 3)) {
			out[k++] = ' ';
			i += 2;
		} else {
			out[k++] = s[i];
		}
	}
	return k;
}

/* Whether merging may produce token id (it goes into vocab_hash). */
static int mergeable(const rs_tokenizer *tok, int32_t id)
{
	int t = tok->types[id];
	if (tok->kind == TOK_SPM)
		return t == TOK_T_NORMAL || t == TOK_T_USER_DEFINED || t == TOK_T_UNDEFINED;
	return t != TOK_T_CONTROL && t != TOK_T_UNUSED;
}

static void build_vocab_hash(rs_tokenizer *tok)
{
	uint32_t size = 64;
	while (size < (uint32_t)tok->n_vocab * 2u)
		size *= 2;
	tok->vocab_mask = size - 1;
	tok->vocab_hash = rs_xmalloc(size * sizeof *tok->vocab_hash);
	for (uint32_t i = 0; i < size; i++)
		tok->vocab_hash[i] = (tok_vslot){0, -1, 0, 0};
	int spm = tok->kind == TOK_SPM;
	for (int32_t id = 0; id < tok->n_vocab; id++) {
		if (!mergeable(tok, id))
			continue;
		uint32_t off = spm ? tok->piece_off[id] : tok->bytes_off[id];
		uint32_t len = spm ? tok->piece_len[id] : tok->bytes_len[id];
		if (len == 0)
			continue;
		const char *k = tok->arena + off;
		uint64_t h = tok_hash_bytes(k, len);
		uint32_t fp = (uint32_t)(h >> 32), i = (uint32_t)h & tok->vocab_mask;
		for (;; i = (i + 1) & tok->vocab_mask) {
			tok_vslot *v = &tok->vocab_hash[i];
			if (v->id < 0) {
				*v = (tok_vslot){fp, id, off, len};
				break;
			}
			if (v->fp == fp && v->len == len && !memcmp(tok->arena + v->off, k, len))
				break; /* a duplicate: the first id keeps the text */
		}
	}
}

/* Specials sort by first byte, longest first, so that the first one that
 * matches at a position is the longest (leftmost-longest, as HF matches). */
typedef struct special_key {
	unsigned first;
	uint32_t len;
	int32_t id;
} special_key;

static int cmp_special(const void *pa, const void *pb)
{
	const special_key *a = pa, *b = pb;
	if (a->first != b->first)
		return a->first < b->first ? -1 : 1;
	if (a->len != b->len)
		return a->len > b->len ? -1 : 1;
	return a->id < b->id ? -1 : a->id > b->id;
}

static void build_specials(rs_tokenizer *tok)
{
	int n = 0;
	for (int32_t id = 0; id < tok->n_vocab; id++) {
		int t = tok->types[id];
		n += (t == TOK_T_CONTROL || t == TOK_T_USER_DEFINED) && tok->bytes_len[id] > 0;
	}
	special_key *keys = rs_xmalloc((size_t)(n ? n : 1) * sizeof *keys);
	n = 0;
	for (int32_t id = 0; id < tok->n_vocab; id++) {
		int t = tok->types[id];
		if ((t == TOK_T_CONTROL || t == TOK_T_USER_DEFINED) && tok->bytes_len[id] > 0)
			keys[n++] = (special_key){(unsigned char)tok->arena[tok->bytes_off[id]],
						  tok->bytes_len[id], id};
	}
	qsort(keys, (size_t)n, sizeof *keys, cmp_special);
	tok->special_ids = rs_xmalloc((size_t)(n ? n : 1) * sizeof *tok->special_ids);
	tok->n_special = n;
	int k = 0;
	for (int b = 0; b <= 256; b++) {
		tok->special_first[b] = k;
		while (k < n && b < 256 && keys[k].first == (unsigned)b)
			tok->special_ids[k] = keys[k].id, k++;
	}
	free(keys);
}

static int check_id(const tok_spec *spec, const char *what, int32_t id, rs_err *err)
{
	if (id < -1 || id >= spec->n_tokens)
		return rs_fail(err, "%s: %s %d is out of range (vocabulary of %d)", tok_src_name(spec),
			       what, (int)id, (int)spec->n_tokens);
	return 0;
}

rs_tokenizer *tok_create(const tok_spec *spec, rs_err *err)
{
	if (spec->kind != TOK_BPE && spec->kind != TOK_SPM) {
		rs_fail(err, "%s: unknown tokenizer kind %d", tok_src_name(spec), spec->kind);
		return NULL;
	}
	if (spec->n_tokens <= 0 || spec->n_tokens > (1 << 28)) {
		rs_fail(err, "%s: vocabulary of %d tokens", tok_src_name(spec), (int)spec->n_tokens);
		return NULL;
	}
	if (check_id(spec, "bos id", spec->bos, err) || check_id(spec, "eos id", spec->eos, err) ||
	    check_id(spec, "eot id", spec->eot, err) || check_id(spec, "unknown-token id", spec->unk, err))
		return NULL;
	size_t total = 0;
	for (int32_t i = 0; i < spec->n_tokens; i++) {
		total += 2 * spec->pieces[i].len + 2;
		if (spec->types && (spec->types[i] < 0 || spec->types[i] > TOK_T_BYTE)) {
			rs_fail(err, "%s: token %d has type %d (types are 0..6)", tok_src_name(spec),
				(int)i, (int)spec->types[i]);
			return NULL;
		}
	}
	if (total >= UINT32_MAX) {
		rs_fail(err, "%s: token strings too large (%zu bytes)", tok_src_name(spec), total);
		return NULL;
	}
	rs_tokenizer *tok = rs_xcalloc(1, sizeof *tok);
	int32_t n = spec->n_tokens;
	tok->kind = spec->kind;
	tok->n_vocab = n;
	tok->arena = rs_xmalloc(total);
	tok->piece_off = rs_xmalloc((size_t)n * sizeof(uint32_t));
	tok->piece_len = rs_xmalloc((size_t)n * sizeof(uint32_t));
	tok->bytes_off = rs_xmalloc((size_t)n * sizeof(uint32_t));
	tok->bytes_len = rs_xmalloc((size_t)n * sizeof(uint32_t));
	tok->types = rs_xmalloc((size_t)n);
	if (spec->kind == TOK_SPM)
		tok->scores = rs_xcalloc((size_t)n, sizeof(float));
	for (int b = 0; b < 256; b++)
		tok->byte_tok[b] = -1;
	size_t at = 0;
	for (int32_t i = 0; i < n; i++) {
		tok_str p = spec->pieces[i];
		int t = spec->types ? spec->types[i] : TOK_T_NORMAL;
		tok->types[i] = (uint8_t)t;
		tok->piece_off[i] = (uint32_t)at;
		tok->piece_len[i] = (uint32_t)p.len;
		if (p.len)
			memcpy(tok->arena + at, p.s, p.len);
		tok->arena[at + p.len] = 0;
		at += p.len + 1;
		size_t bl = token_bytes_of(tok->kind, t, p.s ? p.s : "", p.len, tok->arena + at);
		tok->bytes_off[i] = (uint32_t)at;
		tok->bytes_len[i] = (uint32_t)bl;
		tok->arena[at + bl] = 0;
		at += bl + 1;
		if (tok->scores && spec->scores)
			tok->scores[i] = spec->scores[i];
		int byte_ok = spec->kind == TOK_SPM ? t == TOK_T_BYTE : mergeable(tok, i);
		if (byte_ok && bl == 1 && tok->byte_tok[(unsigned char)tok->arena[tok->bytes_off[i]]] < 0)
			tok->byte_tok[(unsigned char)tok->arena[tok->bytes_off[i]]] = i;
	}
	tok->bos = spec->bos;
	tok->eos = spec->eos;
	tok->eot = spec->eot;
	tok->unk = spec->unk;
	tok->add_bos = spec->add_bos && spec->bos >= 0;
	tok->add_space_prefix = spec->add_space_prefix;
	tok->ignore_merges = spec->ignore_merges;
	build_vocab_hash(tok);
	build_specials(tok);
	if (spec->kind == TOK_BPE && tok_build_merges(tok, spec, err)) {
		tok_free(tok);
		return NULL;
	}
	return tok;
}

void tok_free(rs_tokenizer *tok)
{
	if (!tok)
		return;
	free(tok->arena);
	free(tok->piece_off);
	free(tok->piece_len);
	free(tok->bytes_off);
	free(tok->bytes_len);
	free(tok->types);
	free(tok->scores);
	free(tok->vocab_hash);
	free(tok->merge_hash);
	free(tok->merges);
	free(tok->special_ids);
	free(tok);
}

const char *tok_quote(char *buf, size_t cap, const char *s, size_t len)
{
	static const char hex[] = "0123456789abcdef";
	size_t k = 0;
	for (size_t i = 0; i < len; i++) {
		unsigned char c = (unsigned char)s[i];
		if (k + 8 >= cap || i >= 48) {
			memcpy(buf + k, "...", 3);
			k += 3;
			break;
		}
		if (c == '"' || c == '\\') {
			buf[k++] = '\\';
			buf[k++] = (char)c;
		} else if (c < 0x20 || c == 0x7F) {
			buf[k++] = '\\';
			buf[k++] = 'x';
			buf[k++] = hex[c >> 4];
			buf[k++] = hex[c & 15];
		} else {
			buf[k++] = (char)c;
		}
	}
	buf[k] = 0;
	return buf;
}

int tok_split_merge(tok_str m, tok_str *left, tok_str *right)
{
	const char *sp = m.len > 1 ? memchr(m.s + 1, ' ', m.len - 1) : NULL;
	if (!sp)
		return -1;
	*left = (tok_str){m.s, (size_t)(sp - m.s)};
	*right = (tok_str){sp + 1, m.len - (size_t)(sp - m.s) - 1};
	return 0;
}

rs_tokenizer *tok_create_bpe(const char *const *pieces, const int32_t *types, int32_t n_tokens,
			     const char *const *merges, int32_t n_merges, int32_t bos, int32_t eos,
			     rs_err *err)
{
	if (n_tokens < 0 || n_merges < 0) {
		rs_fail(err, "tok_create_bpe: negative count");
		return NULL;
	}
	tok_str *p = rs_xmalloc((size_t)(n_tokens ? n_tokens : 1) * sizeof *p);
	tok_str *m = rs_xmalloc((size_t)(n_merges ? n_merges : 1) * 2 * sizeof *m);
	int32_t eot = eos;
	for (int32_t i = 0; i < n_tokens; i++) {
		p[i] = (tok_str){pieces[i], strlen(pieces[i])};
		if (types && types[i] == TOK_T_CONTROL && !strcmp(pieces[i], "<|eot_id|>"))
			eot = i;
	}
	rs_tokenizer *tok = NULL;
	for (int32_t i = 0; i < n_merges; i++) {
		if (tok_split_merge((tok_str){merges[i], strlen(merges[i])}, &m[2 * i], &m[2 * i + 1])) {
			char q[80];
			rs_fail(err, "tok_create_bpe: merge %d (\"%s\") has no space", (int)i,
				tok_quote(q, sizeof q, merges[i], strlen(merges[i])));
			goto out;
		}
	}
	tok_spec spec = {
		.kind = TOK_BPE, .n_tokens = n_tokens, .pieces = p, .types = types,
		.n_merges = n_merges, .merges = m, .bos = bos, .eos = eos, .eot = eot, .unk = -1,
		.add_bos = bos >= 0, .ignore_merges = 1, .name = "tok_create_bpe",
	};
	tok = tok_create(&spec, err);
out:
	free(p);
	free(m);
	return tok;
}

/* ------------------------------------------------------------ accessors */

int tok_kind(const rs_tokenizer *tok) { return tok->kind; }
int32_t tok_n_vocab(const rs_tokenizer *tok) { return tok->n_vocab; }
int32_t tok_bos(const rs_tokenizer *tok) { return tok->bos; }
int32_t tok_eos(const rs_tokenizer *tok) { return tok->eos; }
int32_t tok_eot(const rs_tokenizer *tok) { return tok->eot; }
int tok_add_bos(const rs_tokenizer *tok) { return tok->add_bos; }
int32_t tok_n_merges(const rs_tokenizer *tok) { return tok->n_merges; }

const char *tok_piece(const rs_tokenizer *tok, int32_t id)
{
	return id >= 0 && id < tok->n_vocab ? tok->arena + tok->piece_off[id] : "";
}

const char *tok_token_bytes(const rs_tokenizer *tok, int32_t id, size_t *len)
{
	if (id < 0 || id >= tok->n_vocab) {
		*len = 0;
		return NULL;
	}
	*len = tok->bytes_len[id];
	return tok->arena + tok->bytes_off[id];
}

int tok_type(const rs_tokenizer *tok, int32_t id)
{
	return id >= 0 && id < tok->n_vocab ? tok->types[id] : -1;
}

int tok_is_special(const rs_tokenizer *tok, int32_t id)
{
	return tok_type(tok, id) == TOK_T_CONTROL;
}

float tok_score(const rs_tokenizer *tok, int32_t id)
{
	return tok->scores && id >= 0 && id < tok->n_vocab ? tok->scores[id] : 0.0f;
}

int tok_merge(const rs_tokenizer *tok, int32_t rank, int32_t *left, int32_t *right,
	      int32_t *result)
{
	if (rank < 0 || rank >= tok->n_merges)
		return -1;
	*left = tok->merges[3 * rank];
	*right = tok->merges[3 * rank + 1];
	*result = tok->merges[3 * rank + 2];
	return 0;
}

int32_t tok_find(const rs_tokenizer *tok, const char *piece)
{
	size_t n = strlen(piece);
	for (int i = 0; i < tok->n_special; i++) {
		int32_t id = tok->special_ids[i];
		if (tok->piece_len[id] == n && !memcmp(tok->arena + tok->piece_off[id], piece, n))
			return id;
	}
	int32_t id = -1;
	if (tok->kind == TOK_SPM) {
		id = tok_lookup(tok, piece, n);
	} else if (n > 0) {
		char *tmp = rs_xmalloc(n);
		int k = tok_bytelevel_decode(piece, n, tmp);
		if (k > 0)
			id = tok_lookup(tok, tmp, (size_t)k);
		free(tmp);
	}
	if (id >= 0 && tok->piece_len[id] == n && !memcmp(tok->arena + tok->piece_off[id], piece, n))
		return id;
	for (id = 0; id < tok->n_vocab; id++) /* tokens outside the hash: unused, odd strings */
		if (tok->piece_len[id] == n && !memcmp(tok->arena + tok->piece_off[id], piece, n))
			return id;
	return -1;
}

/* -------------------------------------------------------------- decoding */

int tok_decode(const rs_tokenizer *tok, const int32_t *ids, int n, int flags, char **out,
	       size_t *len, rs_err *err)
{
	size_t total = 1;
	for (int i = 0; i < n; i++) {
		if (ids[i] < 0 || ids[i] >= tok->n_vocab) {
			*out = NULL;
			if (len)
				*len = 0;
			return rs_fail(err, "decode: token id %d at position %d is out of range "
				       "(vocabulary of %d)", (int)ids[i], i, (int)tok->n_vocab);
		}
		total += tok->bytes_len[ids[i]];
	}
	char *s = rs_xmalloc(total);
	size_t k = 0;
	/* SentencePiece: encoding prefixed a space at the start and after each
	 * special token; the first text token there gives it back. */
	int strip = tok->kind == TOK_SPM && tok->add_space_prefix;
	for (int i = 0; i < n; i++) {
		int32_t id = ids[i];
		int t = tok->types[id];
		if (t == TOK_T_CONTROL || t == TOK_T_USER_DEFINED) {
			/* Both are split out of the text before SentencePiece runs. */
			strip = tok->kind == TOK_SPM && tok->add_space_prefix;
			if (t == TOK_T_CONTROL && (flags & TOK_SKIP_SPECIAL))
				continue;
			memcpy(s + k, tok->arena + tok->bytes_off[id], tok->bytes_len[id]);
			k += tok->bytes_len[id];
			continue;
		}
		const char *b = tok->arena + tok->bytes_off[id];
		size_t bl = tok->bytes_len[id];
		if (strip && bl > 0 && b[0] == ' ') {
			b++;
			bl--;
		}
		if (bl > 0 || tok->bytes_len[id] > 0)
			strip = 0;
		memcpy(s + k, b, bl);
		k += bl;
	}
	s[k] = 0;
	*out = s;
	if (len)
		*len = k;
	return 0;
}

int tok_parse_ids(const char *s, int32_t **ids, int *n, const char **bad)
{
	int cap = 0, k = 0;
	int32_t *v = NULL;
	const char *p = s;
	*ids = NULL;
	*n = 0;
	for (;;) {
		p += strspn(p, ", \t\n");
		if (!*p)
			break;
		const char *num = *p == '#' ? p + 1 : p;
		char *end;
		errno = 0;
		int digit = (*num >= '0' && *num <= '9') || (*num == '-' && num[1] >= '0' && num[1] <= '9');
		long x = digit ? strtol(num, &end, 10) : (end = (char *)num, 0);
		if (end == num || errno || x < INT32_MIN || x > INT32_MAX || (*end && !strchr(", \t\n", *end))) {
			free(v);
			*n = k;
			if (bad)
				*bad = p;
			return -1;
		}
		if (k == cap)
			v = rs_xrealloc(v, sizeof *v * (size_t)(cap = cap ? cap * 2 : 16));
		v[k++] = (int32_t)x;
		p = end;
	}
	*ids = v;
	*n = k;
	return 0;
}
