/* tok_bpe.c - byte-level BPE on one pre-token.
 *
 * The piece starts as one symbol per byte. A min-heap holds the candidate
 * merges of adjacent symbols keyed by (rank, position); the best is applied,
 * its two new neighbours become candidates, and entries made stale by earlier
 * merges are skipped when they surface. O(n log n) in the piece length, which
 * matters for long runs of punctuation or invalid bytes.
 */
#include "config.h"
#include "tok_internal.h"

#include <stdlib.h>

typedef struct bpe_sym {
	int32_t id;
	int32_t prev, next;  /* neighbours in the piece, -1 at the ends */
	uint32_t off, len;   /* bytes covered; len 0 once merged into the left neighbour */
} bpe_sym;

typedef struct bpe_cand {
	int32_t rank, pos;   /* heap order: lower rank first, then leftmost */
	int32_t left, right; /* the ids the pair had when queued, to spot stale entries */
	int32_t result;
} bpe_cand;

static inline int cand_less(const bpe_cand *a, const bpe_cand *b)
{
	return a->rank < b->rank || (a->rank == b->rank && a->pos < b->pos);
}

static void heap_push(bpe_cand *h, int *n, bpe_cand c)
{
	int i = (*n)++;
	while (i > 0) {
		int parent = (i - 1) / 2;
		if (!cand_less(&c, &h[parent]))
			break;
		h[i] = h[parent];
		i = parent;
	}
	h[i] = c;
}

static bpe_cand heap_pop(bpe_cand *h, int *n)
{
	bpe_cand top = h[0], last = h[--(*n)];
	int i = 0;
	for (;;) {
		int c = 2 * i + 1;
		if (c >= *n)
			break;
		if (c + 1 < *n && cand_less(&h[c + 1], &h[c]))
			c++;
		if (!cand_less(&h[c], &last))
			break;
		h[i] = h[c];
		i = c;
	}
	h[i] = last;
	return top;
}

static void try_pair(const rs_tokenizer *tok, const bpe_sym *s, int32_t a, bpe_cand *h, int *nh)
{
	if (a < 0 || s[a].next < 0)
		return;
	int32_t b = s[a].next;
	const tok_merge_slot *m = tok_merge_find(tok, s[a].id, s[b].id);
	if (m)
		heap_push(h, nh, (bpe_cand){m->rank, a, s[a].id, s[b].id, m->result});
}

/* The piece's current symbols into the trace pool; returns the pool index. */
static int snapshot(tok_rec *rec, tok_scratch *sc, const bpe_sym *s, int n_live)
{
	if ((size_t)n_live > sc->cap_snap) {
		sc->cap_snap = (size_t)n_live * 2;
		sc->snap = rs_xrealloc(sc->snap, sc->cap_snap * sizeof *sc->snap);
	}
	int k = 0;
	for (int32_t i = 0; i >= 0; i = s[i].next)
		sc->snap[k++] = (tok_sym){s[i].id, s[i].off, s[i].len};
	return tok_rec_syms(rec, sc->snap, k);
}

void tok_bpe_piece(const rs_tokenizer *tok, tok_scratch *sc, const char *text, uint32_t off,
		   uint32_t len, int flags, tok_out *out, tok_rec *rec)
{
	const unsigned char *p = (const unsigned char *)text + off;
	int whole = (tok->ignore_merges && !(flags & TOK_ALWAYS_MERGE)) || len == 1;
	int32_t id = whole ? tok_lookup(tok, (const char *)p, len) : -1;
	if (id >= 0) {
		if (rec) {
			int pc = tok_rec_piece(rec, TOK_PIECE_WHOLE, off, len, out->n);
			tok_sym s = {id, off, len};
			rec->t.pieces[pc].sym0 = tok_rec_syms(rec, &s, 1);
			rec->t.pieces[pc].n_sym0 = 1;
			tok_out_push(out, id, off);
			tok_rec_piece_end(rec, pc, out->n);
		} else {
			tok_out_push(out, id, off);
		}
		return;
	}

	if (len > sc->cap_syms) {
		sc->cap_syms = (size_t)len * 2;
		sc->syms = rs_xrealloc(sc->syms, sc->cap_syms * sizeof(bpe_sym));
	}
	if (3 * (size_t)len > sc->cap_heap) {
		sc->cap_heap = 6 * (size_t)len;
		sc->heap = rs_xrealloc(sc->heap, sc->cap_heap * sizeof(bpe_cand));
	}
	bpe_sym *s = sc->syms;
	bpe_cand *h = sc->heap;
	/* A byte with no token is dropped, as Hugging Face does with no unk_token;
	 * the Llama 3 vocabulary has all 256. */
	int n = 0;
	for (uint32_t i = 0; i < len; i++) {
		if (tok->byte_tok[p[i]] < 0)
			continue;
		s[n] = (bpe_sym){tok->byte_tok[p[i]], n - 1, n + 1, off + i, 1};
		n++;
	}
	if (n == 0)
		return;
	s[n - 1].next = -1;
	int n_live = n, pc = -1;
	if (rec) {
		pc = tok_rec_piece(rec, TOK_PIECE_MERGED, off, len, out->n);
		rec->t.pieces[pc].sym0 = snapshot(rec, sc, s, n_live);
		rec->t.pieces[pc].n_sym0 = n_live;
	}
	int nh = 0;
	for (int32_t i = 0; i + 1 < n; i++)
		try_pair(tok, s, i, h, &nh);
	while (nh > 0) {
		bpe_cand c = heap_pop(h, &nh);
		int32_t a = c.pos, b = s[a].next;
		if (s[a].len == 0 || b < 0 || s[a].id != c.left || s[b].id != c.right)
			continue; /* stale: one of the two has merged since */
		int at = 0;
		if (rec)
			for (int32_t i = 0; i != a; i = s[i].next)
				at++;
		s[a].id = c.result;
		s[a].len += s[b].len;
		s[b].len = 0;
		s[a].next = s[b].next;
		if (s[b].next >= 0)
			s[s[b].next].prev = a;
		n_live--;
		try_pair(tok, s, s[a].prev, h, &nh);
		try_pair(tok, s, a, h, &nh);
		if (rec) {
			tok_trace_step st = {
				.piece = pc, .at = at, .left = c.left, .right = c.right,
				.result = c.result, .rank = c.rank, .score = 0.0f,
				.n_syms = n_live,
			};
			st.sym0 = snapshot(rec, sc, s, n_live);
			tok_rec_step(rec, &st);
		}
	}
	for (int32_t i = 0; i >= 0; i = s[i].next)
		tok_out_push(out, s[i].id, s[i].off);
	if (rec)
		tok_rec_piece_end(rec, pc, out->n);
}
