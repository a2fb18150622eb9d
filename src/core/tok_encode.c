/* tok_encode.c - encoding: special tokens split out of the text, the spans
 * between them handed to BPE or SentencePiece; and the trace recorder. */
#include "config.h"
#include "tok_internal.h"

#include <stdlib.h>
#include <string.h>

void tok_out_init(tok_out *o)
{
	o->n = 0;
	o->cap = 16;
	o->ids = rs_xmalloc((size_t)o->cap * sizeof *o->ids);
	o->offs = rs_xmalloc((size_t)o->cap * sizeof *o->offs);
}

void tok_out_push(tok_out *o, int32_t id, uint32_t off)
{
	if (o->n == o->cap) {
		o->cap = o->cap ? o->cap * 2 : 64;
		o->ids = rs_xrealloc(o->ids, (size_t)o->cap * sizeof *o->ids);
		o->offs = rs_xrealloc(o->offs, (size_t)o->cap * sizeof *o->offs);
	}
	o->ids[o->n] = id;
	o->offs[o->n] = (int32_t)off;
	o->n++;
}

void tok_scratch_free(tok_scratch *sc)
{
	free(sc->syms);
	free(sc->heap);
	free(sc->buf);
	free(sc->map);
	free(sc->snap);
	memset(sc, 0, sizeof *sc);
}

/* The first special token in text[from..len) that flags allow: returns its
 * position (len when none) and sets *id. Leftmost, then longest. */
static size_t find_special(const rs_tokenizer *tok, const char *text, size_t len, size_t from,
			   int flags, int32_t *id)
{
	if (tok->n_special == 0)
		return len;
	const int *first = tok->special_first;
	for (size_t p = from; p < len; p++) {
		unsigned b = (unsigned char)text[p];
		for (int k = first[b]; k < first[b + 1]; k++) {
			int32_t t = tok->special_ids[k];
			if (tok->types[t] == TOK_T_CONTROL && !(flags & TOK_PARSE_SPECIAL))
				continue;
			uint32_t n = tok->bytes_len[t];
			if (n <= len - p && !memcmp(text + p, tok->arena + tok->bytes_off[t], n)) {
				*id = t;
				return p;
			}
		}
	}
	return len;
}

void tok_encode_span(const rs_tokenizer *tok, tok_scratch *sc, const char *text, uint32_t off,
		     uint32_t len, int flags, int prev_special, tok_out *out, tok_rec *rec)
{
	if (len == 0)
		return;
	if (tok->kind == TOK_SPM) {
		tok_spm_span(tok, sc, text, off, len, prev_special && tok->add_space_prefix, out, rec);
		return;
	}
	size_t end = (size_t)off + len;
	for (size_t p = off; p < end;) {
		size_t q = tok_pretok_next(text, end, p);
		tok_bpe_piece(tok, sc, text, (uint32_t)p, (uint32_t)(q - p), flags, out, rec);
		p = q;
	}
}

static void emit_special(tok_out *out, tok_rec *rec, int kind, int32_t id, uint32_t off,
			 uint32_t len)
{
	int piece = rec ? tok_rec_piece(rec, kind, off, len, out->n) : -1;
	if (rec) {
		tok_sym s = {id, off, len};
		rec->t.pieces[piece].sym0 = tok_rec_syms(rec, &s, 1);
		rec->t.pieces[piece].n_sym0 = 1;
	}
	tok_out_push(out, id, off);
	if (rec)
		tok_rec_piece_end(rec, piece, out->n);
}

static int encode_into(const rs_tokenizer *tok, const char *text, size_t len, int flags,
		       tok_out *out, tok_rec *rec, rs_err *err)
{
	if (len > INT32_MAX)
		return rs_fail(err, "encode: text of %zu bytes is too long (2 GiB at most)", len);
	tok_scratch sc = {0};
	if ((flags & TOK_ADD_BOS) && tok->bos >= 0)
		emit_special(out, rec, TOK_PIECE_BOS, tok->bos, 0, 0);
	int prev_special = 1; /* SentencePiece: a space prefix at the start */
	for (size_t p = 0; p < len;) {
		int32_t id = -1;
		size_t q = find_special(tok, text, len, p, flags, &id);
		tok_encode_span(tok, &sc, text, (uint32_t)p, (uint32_t)(q - p), flags, prev_special,
				out, rec);
		if (q == len)
			break;
		emit_special(out, rec, TOK_PIECE_SPECIAL, id, (uint32_t)q, tok->bytes_len[id]);
		prev_special = 1;
		p = q + tok->bytes_len[id];
	}
	tok_scratch_free(&sc);
	if (rec && rec->overflow)
		return rs_fail(err, "trace: more than %d symbols to record; trace a shorter text",
			       rec->max_syms);
	return 0;
}

int tok_encode(const rs_tokenizer *tok, const char *text, size_t len, int flags,
	       int32_t **ids, int32_t **offsets, int *n, rs_err *err)
{
	tok_out out;
	tok_out_init(&out);
	int rc = encode_into(tok, text, len, flags, &out, NULL, err);
	if (rc || !ids)
		free(out.ids);
	if (rc || !offsets)
		free(out.offs);
	if (ids)
		*ids = rc ? NULL : out.ids;
	if (offsets)
		*offsets = rc ? NULL : out.offs;
	*n = rc ? 0 : out.n;
	return rc;
}

/* ---------------------------------------------------------------- trace */

#define GROW(arr, n, cap, need)                                                    \
	do {                                                                       \
		if ((n) + (need) > (cap)) {                                        \
			while ((n) + (need) > (cap))                               \
				(cap) = (cap) ? (cap) * 2 : 64;                    \
			(arr) = rs_xrealloc((arr), (size_t)(cap) * sizeof *(arr)); \
		}                                                                  \
	} while (0)

int tok_rec_piece(tok_rec *r, int kind, uint32_t off, uint32_t len, int id0)
{
	GROW(r->t.pieces, r->t.n_pieces, r->cap_pieces, 1);
	tok_trace_piece *p = &r->t.pieces[r->t.n_pieces];
	memset(p, 0, sizeof *p);
	p->kind = kind;
	p->off = off;
	p->len = len;
	p->step0 = r->t.n_steps;
	p->id0 = id0;
	return r->t.n_pieces++;
}

int tok_rec_syms(tok_rec *r, const tok_sym *s, int n)
{
	int at = r->t.n_syms;
	if (r->overflow || (long)r->t.n_syms + n > r->max_syms) {
		r->overflow = 1;
		return at;
	}
	GROW(r->t.syms, r->t.n_syms, r->cap_syms, n);
	memcpy(r->t.syms + at, s, (size_t)n * sizeof *s);
	r->t.n_syms += n;
	return at;
}

void tok_rec_step(tok_rec *r, const tok_trace_step *st)
{
	GROW(r->t.steps, r->t.n_steps, r->cap_steps, 1);
	r->t.steps[r->t.n_steps++] = *st;
}

void tok_rec_piece_end(tok_rec *r, int piece, int n_ids_now)
{
	tok_trace_piece *p = &r->t.pieces[piece];
	p->n_steps = r->t.n_steps - p->step0;
	p->n_ids = n_ids_now - p->id0;
}

int tok_trace_encode(const rs_tokenizer *tok, const char *text, size_t len, int flags,
		     int max_syms, tok_trace **out, rs_err *err)
{
	tok_rec rec = {0};
	rec.max_syms = max_syms > 0 ? max_syms : 1 << 22;
	tok_out o;
	tok_out_init(&o);
	int rc = encode_into(tok, text, len, flags, &o, &rec, err);
	tok_trace *t = rs_xmalloc(sizeof *t);
	*t = rec.t;
	t->ids = o.ids;
	t->offsets = o.offs;
	t->n_ids = o.n;
	if (rc) {
		tok_trace_free(t);
		t = NULL;
	}
	*out = t;
	return rc;
}

void tok_trace_free(tok_trace *t)
{
	if (!t)
		return;
	free(t->pieces);
	free(t->steps);
	free(t->syms);
	free(t->ids);
	free(t->offsets);
	free(t);
}
