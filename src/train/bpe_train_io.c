/* bpe_train_io.c - the BPE trainer's plumbing: hash maps, pre-token counting,
 * the ASCII Llama 3 pre-tokenizer, GPT-2 byte characters and the GGUF file. */
#include "config.h"
#include "bpe_train.h"
#include "bpe_train_int.h"
#include "gguf.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

/* ---------------------------------------------------------------- pair map */

static uint64_t mix64(uint64_t x)
{
	x ^= x >> 33;
	x *= 0xff51afd7ed558ccdull;
	x ^= x >> 33;
	x *= 0xc4ceb9fe1a85ec53ull;
	return x ^ (x >> 33);
}

void pairmap_init(bpe_pairmap *m)
{
	m->cap = 1024;
	m->n = 0;
	m->keys = rs_xcalloc(m->cap, sizeof *m->keys);
	m->vals = rs_xmalloc(m->cap * sizeof *m->vals);
}

void pairmap_free(bpe_pairmap *m)
{
	free(m->keys);
	free(m->vals);
	memset(m, 0, sizeof *m);
}

static size_t pairmap_slot(const bpe_pairmap *m, uint64_t key)
{
	size_t mask = m->cap - 1, i = (size_t)mix64(key) & mask;
	while (m->keys[i] && m->keys[i] != key + 1)
		i = (i + 1) & mask;
	return i;
}

int64_t *pairmap_get(bpe_pairmap *m, uint64_t key, int64_t dflt)
{
	if ((m->n + 1) * 2 > m->cap) {
		bpe_pairmap big = {rs_xcalloc(m->cap * 2, sizeof(uint64_t)),
				   rs_xmalloc(m->cap * 2 * sizeof(int64_t)), m->cap * 2, m->n};
		for (size_t i = 0; i < m->cap; i++)
			if (m->keys[i]) {
				size_t j = pairmap_slot(&big, m->keys[i] - 1);
				big.keys[j] = m->keys[i];
				big.vals[j] = m->vals[i];
			}
		pairmap_free(m);
		*m = big;
	}
	size_t i = pairmap_slot(m, key);
	if (!m->keys[i]) {
		m->keys[i] = key + 1;
		m->vals[i] = dflt;
		m->n++;
	}
	return &m->vals[i];
}

int64_t pairmap_find(const bpe_pairmap *m, uint64_t key, int64_t dflt)
{
	size_t i = pairmap_slot(m, key);
	return m->keys[i] ? m->vals[i] : dflt;
}

/* ---------------------------------------------------------------- string map */

static uint64_t hash_bytes(const char *s, size_t n)
{
	uint64_t h = 0xcbf29ce484222325ull; /* FNV-1a, then mixed */
	for (size_t i = 0; i < n; i++)
		h = (h ^ (unsigned char)s[i]) * 0x100000001b3ull;
	return mix64(h);
}

void strmap_init(bpe_strmap *m)
{
	memset(m, 0, sizeof *m);
	m->cap = 1024;
	m->slot = rs_xmalloc(m->cap * sizeof *m->slot);
	for (size_t i = 0; i < m->cap; i++)
		m->slot[i].off = SIZE_MAX;
}

void strmap_free(bpe_strmap *m)
{
	free(m->slot);
	free(m->arena);
	memset(m, 0, sizeof *m);
}

static size_t strmap_slot(const bpe_strmap *m, uint64_t h, const char *s, size_t len)
{
	size_t mask = m->cap - 1, i = (size_t)h & mask;
	while (m->slot[i].off != SIZE_MAX &&
	       !(m->slot[i].hash == h && m->slot[i].len == len &&
		 !memcmp(m->arena + m->slot[i].off, s, len)))
		i = (i + 1) & mask;
	return i;
}

int64_t *strmap_get(bpe_strmap *m, const char *s, size_t len, int64_t dflt)
{
	if ((m->n + 1) * 2 > m->cap) {
		size_t cap = m->cap * 2;
		struct strmap_slot *ns = rs_xmalloc(cap * sizeof *ns);
		for (size_t i = 0; i < cap; i++)
			ns[i].off = SIZE_MAX;
		for (size_t i = 0; i < m->cap; i++) {
			if (m->slot[i].off == SIZE_MAX)
				continue;
			size_t j = (size_t)m->slot[i].hash & (cap - 1);
			while (ns[j].off != SIZE_MAX)
				j = (j + 1) & (cap - 1);
			ns[j] = m->slot[i];
		}
		free(m->slot);
		m->slot = ns;
		m->cap = cap;
	}
	uint64_t h = hash_bytes(s, len);
	size_t i = strmap_slot(m, h, s, len);
	if (m->slot[i].off == SIZE_MAX) {
		if (m->arena_n + len + 1 > m->arena_cap) {
			m->arena_cap = (m->arena_n + len + 1) * 2;
			m->arena = rs_xrealloc(m->arena, m->arena_cap);
		}
		memcpy(m->arena + m->arena_n, s, len);
		m->arena[m->arena_n + len] = 0;
		m->slot[i] = (struct strmap_slot){h, m->arena_n, (uint32_t)len, dflt};
		m->arena_n += len + 1;
		m->n++;
	}
	return &m->slot[i].val;
}

int64_t strmap_find(const bpe_strmap *m, const char *s, size_t len, int64_t dflt)
{
	size_t i = strmap_slot(m, hash_bytes(s, len), s, len);
	return m->slot[i].off == SIZE_MAX ? dflt : m->slot[i].val;
}

/* ---------------------------------------------------------------- pre-tokenizer */

static int is_letter(unsigned char c)
{
	return (c | 0x20) >= 'a' && (c | 0x20) <= 'z' ? 1 : c >= 0x80;
}

static int is_digit(unsigned char c)
{
	return c >= '0' && c <= '9';
}

static int is_space(unsigned char c)
{
	return c == ' ' || (c >= '\t' && c <= '\r');
}

static int is_nl(unsigned char c)
{
	return c == '\r' || c == '\n';
}

/* The alternatives of the Llama 3 regex, tried in order at pos:
 *   (?i:'s|'t|'re|'ve|'m|'ll|'d) | [^\r\n\p{L}\p{N}]?\p{L}+ | \p{N}{1,3}
 *   | ?[^\s\p{L}\p{N}]+[\r\n]* | \s*[\r\n]+ | \s+(?!\S) | \s+          */
size_t bpe_pretok_ascii(const char *str, size_t len, size_t pos)
{
	const unsigned char *s = (const unsigned char *)str;
	size_t i = pos;
	unsigned char c = s[i];
	if (c == '\'' && i + 1 < len) {
		unsigned char d = s[i + 1] | 0x20, e = i + 2 < len ? s[i + 2] | 0x20 : 0;
		if (d == 's' || d == 't' || d == 'm' || d == 'd')
			return i + 2;
		if ((d == 'r' && e == 'e') || (d == 'v' && e == 'e') || (d == 'l' && e == 'l'))
			return i + 3;
	}
	if (is_letter(c) || (!is_nl(c) && !is_digit(c) && i + 1 < len && is_letter(s[i + 1]))) {
		i++;
		while (i < len && is_letter(s[i]))
			i++;
		return i;
	}
	if (is_digit(c)) {
		while (i < len && i - pos < 3 && is_digit(s[i]))
			i++;
		return i;
	}
	size_t j = c == ' ' ? i + 1 : i;
	if (j < len && !is_space(s[j]) && !is_letter(s[j]) && !is_digit(s[j])) {
		while (j < len && !is_space(s[j]) && !is_letter(s[j]) && !is_digit(s[j]))
			j++;
		while (j < len && is_nl(s[j]))
			j++;
		return j;
	}
	/* c is white space from here on. */
	size_t e = i;
	while (e < len && is_space(s[e]))
		e++;
	size_t last_nl = SIZE_MAX;
	for (size_t k = i; k < e; k++)
		if (is_nl(s[k]))
			last_nl = k;
	if (last_nl != SIZE_MAX)
		return last_nl + 1;
	if (e == len || e - i == 1)
		return e;
	return e - 1; /* leave the last space to join the word after it */
}

/* ---------------------------------------------------------------- counts */

bpe_counts *bpe_counts_create(void)
{
	bpe_counts *c = rs_xcalloc(1, sizeof *c);
	strmap_init(&c->words);
	return c;
}

void bpe_counts_free(bpe_counts *c)
{
	if (!c)
		return;
	strmap_free(&c->words);
	free(c);
}

void bpe_counts_add(bpe_counts *c, const char *piece, size_t len, uint64_t count)
{
	*strmap_get(&c->words, piece, len, 0) += (int64_t)count;
	c->total += count;
}

void bpe_counts_add_text(bpe_counts *c, const char *text, size_t len, bpe_pretok_fn pretok)
{
	if (!pretok)
		pretok = bpe_pretok_ascii;
	for (size_t pos = 0; pos < len;) {
		size_t end = pretok(text, len, pos);
		if (end <= pos)
			end = pos + 1; /* a broken pre-tokenizer must not hang us */
		bpe_counts_add(c, text + pos, end - pos, 1);
		pos = end;
	}
}

size_t bpe_counts_unique(const bpe_counts *c)
{
	return c->words.n;
}

uint64_t bpe_counts_total(const bpe_counts *c)
{
	return c->total;
}

/* ---------------------------------------------------------------- GPT-2 characters */

void bpe_byte_char(unsigned char b, char out[3])
{
	/* Printable Latin-1 bytes stand for themselves; the other 68 bytes
	 * (controls, space, DEL, NBSP, soft hyphen) are moved to U+0100.. in
	 * byte order, so that every token string is visible text. */
	unsigned cp;
	if ((b >= 0x21 && b <= 0x7e) || (b >= 0xa1 && b <= 0xac) || b >= 0xae) {
		cp = b;
	} else {
		unsigned n = 0;
		for (unsigned k = 0; k < b; k++)
			n += !((k >= 0x21 && k <= 0x7e) || (k >= 0xa1 && k <= 0xac) || k >= 0xae);
		cp = 256 + n;
	}
	if (cp < 0x80) {
		out[0] = (char)cp;
		out[1] = 0;
	} else {
		out[0] = (char)(0xc0 | (cp >> 6));
		out[1] = (char)(0x80 | (cp & 0x3f));
		out[2] = 0;
	}
}

/* ---------------------------------------------------------------- GGUF */

int bpe_vocab_write_gguf(const bpe_vocab *v, const char *path, rs_err *err)
{
	gguf_writer *w = gguf_writer_create();
	gguf_w_str(w, "general.architecture", "llama");
	gguf_w_str(w, "general.name", "residual byte-level BPE tokenizer");
	gguf_w_str(w, "tokenizer.ggml.model", "gpt2");
	gguf_w_str(w, "tokenizer.ggml.pre", "llama-bpe");
	gguf_w_arr_str(w, "tokenizer.ggml.tokens", (const char *const *)v->tokens,
		       (size_t)v->n_tokens);
	gguf_w_arr_i32(w, "tokenizer.ggml.token_type", v->types, (size_t)v->n_tokens);
	gguf_w_arr_str(w, "tokenizer.ggml.merges", (const char *const *)v->merges,
		       (size_t)v->n_merges);
	gguf_w_u32(w, "tokenizer.ggml.bos_token_id", (uint32_t)v->bos);
	gguf_w_u32(w, "tokenizer.ggml.eos_token_id", (uint32_t)v->eos);
	gguf_w_u32(w, "tokenizer.ggml.eot_token_id", (uint32_t)v->eot);
	gguf_w_bool(w, "tokenizer.ggml.add_bos_token", 1);
	int rc = gguf_write(w, path, err);
	gguf_writer_free(w);
	return rc;
}
