/* tok_spm.c - SentencePiece-style BPE (Llama 2, TinyLlama) on one span of text.
 *
 * The span is escaped (optional leading space, every space as "▁"), split into
 * UTF-8 characters, and adjacent symbols are merged while their concatenation
 * is a token: the highest score first, the leftmost on ties. A final symbol
 * that is no token is written as <0xNN> byte tokens (or unk). Symbols cover
 * bytes of the escaped buffer; map[] takes them back to offsets in the text.
 */
#include "config.h"
#include "tok_internal.h"

#include <stdlib.h>

#define SPM_SPACE "\xE2\x96\x81" /* U+2581 ▁ */

typedef struct spm_sym {
	int32_t id;          /* token for this text, or -1 */
	int32_t prev, next;
	uint32_t start, len; /* in the escaped buffer; len 0 once merged away */
} spm_sym;

typedef struct spm_cand {
	float score;
	int32_t left, right;
	uint32_t size;       /* left.len + right.len when queued: stale when it differs */
	int32_t id;
} spm_cand;

/* Heap order: higher score first, then the leftmost. */
static inline int cand_before(const spm_cand *a, const spm_cand *b)
{
	return a->score > b->score || (a->score == b->score && a->left < b->left);
}

static void heap_push(spm_cand *h, int *n, spm_cand c)
{
	int i = (*n)++;
	while (i > 0 && cand_before(&c, &h[(i - 1) / 2])) {
		h[i] = h[(i - 1) / 2];
		i = (i - 1) / 2;
	}
	h[i] = c;
}

static spm_cand heap_pop(spm_cand *h, int *n)
{
	spm_cand top = h[0], last = h[--(*n)];
	int i = 0;
	for (;;) {
		int c = 2 * i + 1;
		if (c >= *n)
			break;
		if (c + 1 < *n && cand_before(&h[c + 1], &h[c]))
			c++;
		if (!cand_before(&h[c], &last))
			break;
		h[i] = h[c];
		i = c;
	}
	h[i] = last;
	return top;
}

static void try_pair(const rs_tokenizer *tok, const char *buf, const spm_sym *s, int32_t a,
		     spm_cand *h, int *nh)
{
	if (a < 0 || s[a].next < 0)
		return;
	int32_t b = s[a].next;
	uint32_t size = s[a].len + s[b].len;
	int32_t id = tok_lookup(tok, buf + s[a].start, size);
	if (id >= 0)
		heap_push(h, nh, (spm_cand){tok->scores[id], a, b, size, id});
}

static int snapshot(tok_rec *rec, tok_scratch *sc, const spm_sym *s)
{
	size_t k = 0;
	for (int32_t i = 0; i >= 0; i = s[i].next) {
		if (k == sc->cap_snap) {
			sc->cap_snap = sc->cap_snap ? sc->cap_snap * 2 : 64;
			sc->snap = rs_xrealloc(sc->snap, sc->cap_snap * sizeof *sc->snap);
		}
		uint32_t o = sc->map[s[i].start], e = sc->map[s[i].start + s[i].len];
		sc->snap[k++] = (tok_sym){s[i].id, o, e - o};
	}
	return tok_rec_syms(rec, sc->snap, (int)k);
}

/* Escapes text[off..off+len) into sc->buf; map[i] is the text offset of
 * buf[i] (map[n] the end). Returns the escaped length. */
static size_t escape(tok_scratch *sc, const char *text, uint32_t off, uint32_t len, int prefix)
{
	size_t need = 3 * ((size_t)len + 1) + 1;
	if (need > sc->cap_buf) {
		sc->cap_buf = need;
		sc->buf = rs_xrealloc(sc->buf, need);
		sc->map = rs_xrealloc(sc->map, need * sizeof *sc->map);
	}
	size_t k = 0;
	if (prefix) {
		memcpy(sc->buf, SPM_SPACE, 3);
		sc->map[0] = sc->map[1] = sc->map[2] = off;
		k = 3;
	}
	for (uint32_t i = 0; i < len; i++) {
		if (text[off + i] == ' ') {
			memcpy(sc->buf + k, SPM_SPACE, 3);
			sc->map[k] = sc->map[k + 1] = sc->map[k + 2] = off + i;
			k += 3;
		} else {
			sc->buf[k] = text[off + i];
			sc->map[k++] = off + i;
		}
	}
	sc->map[k] = off + len;
	return k;
}

void tok_spm_span(const rs_tokenizer *tok, tok_scratch *sc, const char *text, uint32_t off,
		  uint32_t len, int prefix, tok_out *out, tok_rec *rec)
{
	size_t n_buf = escape(sc, text, off, len, prefix);
	const char *buf = sc->buf;
	if (n_buf > sc->cap_syms) {
		sc->cap_syms = n_buf * 2;
		sc->syms = rs_xrealloc(sc->syms, sc->cap_syms * sizeof(spm_sym));
	}
	if (3 * n_buf > sc->cap_heap) {
		sc->cap_heap = 6 * n_buf;
		sc->heap = rs_xrealloc(sc->heap, sc->cap_heap * sizeof(spm_cand));
	}
	spm_sym *s = sc->syms;
	spm_cand *h = sc->heap;
	int32_t n = 0;
	for (size_t i = 0; i < n_buf;) {
		uint32_t cp;
		int cl = tok_utf8_next((const unsigned char *)buf + i, n_buf - i, &cp);
		s[n] = (spm_sym){tok_lookup(tok, buf + i, (size_t)cl), n - 1, n + 1, (uint32_t)i,
				 (uint32_t)cl};
		n++;
		i += (size_t)cl;
	}
	s[n - 1].next = -1;
	int pc = -1;
	if (rec) {
		pc = tok_rec_piece(rec, TOK_PIECE_MERGED, off, len, out->n);
		rec->t.pieces[pc].sym0 = snapshot(rec, sc, s);
		rec->t.pieces[pc].n_sym0 = n;
	}
	int nh = 0, n_live = n;
	for (int32_t i = 0; i + 1 < n; i++)
		try_pair(tok, buf, s, i, h, &nh);
	while (nh > 0) {
		spm_cand c = heap_pop(h, &nh);
		int32_t a = c.left, b = c.right;
		if (s[a].len == 0 || s[b].len == 0 || s[a].next != b || s[a].len + s[b].len != c.size)
			continue;
		int at = 0;
		if (rec)
			for (int32_t i = 0; i != a; i = s[i].next)
				at++;
		int32_t left_id = s[a].id, right_id = s[b].id;
		s[a].id = c.id;
		s[a].len = c.size;
		s[b].len = 0;
		s[a].next = s[b].next;
		if (s[b].next >= 0)
			s[s[b].next].prev = a;
		n_live--;
		try_pair(tok, buf, s, s[a].prev, h, &nh);
		try_pair(tok, buf, s, a, h, &nh);
		if (rec) {
			tok_trace_step st = {
				.piece = pc, .at = at, .left = left_id, .right = right_id,
				.result = c.id, .rank = -1, .score = c.score, .n_syms = n_live,
			};
			st.sym0 = snapshot(rec, sc, s);
			tok_rec_step(rec, &st);
		}
	}
	for (int32_t i = 0; i >= 0; i = s[i].next) {
		if (s[i].id >= 0) {
			tok_out_push(out, s[i].id, sc->map[s[i].start]);
			continue;
		}
		for (uint32_t k = 0; k < s[i].len; k++) { /* byte fallback */
			int32_t bt = tok->byte_tok[(unsigned char)buf[s[i].start + k]];
			if (bt < 0)
				bt = tok->unk;
			if (bt >= 0)
				tok_out_push(out, bt, sc->map[s[i].start + k]);
		}
	}
	if (rec)
		tok_rec_piece_end(rec, pc, out->n);
}
