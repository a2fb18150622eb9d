/* tok_merges.c - resolving a BPE merge list ("left right" pieces in rank
 * order) into the (left id, right id) -> (rank, result) map. */
#include "config.h"
#include "tok_internal.h"

#include <stdlib.h>
#include <string.h>

/* Decodes a merge's piece into out: byte-level, or as written when it is not
 * a byte-level string. Returns the length. */
static size_t merge_piece_bytes(tok_str p, char *out)
{
	int k = tok_bytelevel_decode(p.s, p.len, out);
	if (k >= 0)
		return (size_t)k;
	memcpy(out, p.s, p.len);
	return p.len;
}

static inline void prefetch_slot(const rs_tokenizer *tok, uint64_t h)
{
	__builtin_prefetch(&tok->vocab_hash[(uint32_t)h & tok->vocab_mask]);
}

/* Prefetches the arena bytes of the first slot probed for h. */
static inline void prefetch_key(const rs_tokenizer *tok, uint64_t h)
{
	const tok_vslot *v = &tok->vocab_hash[(uint32_t)h & tok->vocab_mask];
	if (v->id >= 0)
		__builtin_prefetch(tok->arena + v->off);
}

/* One merge on its way through build_merges' stages. */
typedef struct pending {
	char *a, *b, *c;     /* decoded left, right and their concatenation */
	size_t la, lb;
	uint64_t ha, hb, hc, hk;
	int32_t ia, ib, ic;
	uint64_t key;
} pending;

enum { MERGE_BATCH = 64 };

static int merge_error(const tok_spec *spec, int32_t r, const pending *p, rs_err *err)
{
	tok_str a = spec->merges[2 * r], b = spec->merges[2 * r + 1];
	const char *what = p->ia < 0 ? "its left piece is" : p->ib < 0 ? "its right piece is"
				     : "the merged piece is";
	char qa[80], qb[80];
	return rs_fail(err, "%s: merge %d (\"%s %s\"): %s not in the vocabulary", tok_src_name(spec),
		       (int)r, tok_quote(qa, sizeof qa, a.s, a.len), tok_quote(qb, sizeof qb, b.s, b.len),
		       what);
}

/* Resolves the merges' pieces to ids and fills the pair map. A merge costs a
 * few hash-table reads that mostly miss the cache; merges go through in
 * batches, each stage prefetching what the next reads, so the misses of a
 * batch overlap instead of queueing (this is most of the load time). */
int tok_build_merges(rs_tokenizer *tok, const tok_spec *spec, rs_err *err)
{
	/* the loaders bound this already; the table's size below must not wrap */
	if (spec->n_merges < 0 || spec->n_merges > RS_MAX_MERGES)
		return rs_fail(err, "%s: %d merges (0 to %d allowed)", tok_src_name(spec), (int)spec->n_merges,
			       RS_MAX_MERGES);
	uint32_t size = 64;
	while (size < (uint32_t)spec->n_merges + (uint32_t)spec->n_merges / 2)
		size *= 2;
	tok->merge_mask = size - 1;
	tok->merge_hash = rs_xmalloc(size * sizeof *tok->merge_hash);
	for (uint32_t i = 0; i < size; i++)
		tok->merge_hash[i].key = TOK_EMPTY_KEY;
	tok->merges = rs_xmalloc((size_t)(spec->n_merges ? spec->n_merges : 1) * 3 * sizeof(int32_t));
	tok->n_merges = spec->n_merges;
	pending p[MERGE_BATCH];
	size_t cap = 0;
	char *buf = NULL;
	for (int32_t r0 = 0; r0 < spec->n_merges; r0 += MERGE_BATCH) {
		int nb = spec->n_merges - r0 < MERGE_BATCH ? spec->n_merges - r0 : MERGE_BATCH;
		size_t need = 0;
		for (int k = 0; k < nb; k++)
			need += 2 * (spec->merges[2 * (r0 + k)].len + spec->merges[2 * (r0 + k) + 1].len);
		if (need > cap) {
			cap = need * 2;
			buf = rs_xrealloc(buf, cap);
		}
		char *at = buf;
		for (int k = 0; k < nb; k++) { /* decode, hash, prefetch the slots */
			pending *q = &p[k];
			tok_str a = spec->merges[2 * (r0 + k)], b = spec->merges[2 * (r0 + k) + 1];
			q->a = at;
			q->la = merge_piece_bytes(a, q->a);
			q->b = q->a + q->la;
			q->lb = merge_piece_bytes(b, q->b);
			q->c = q->b + q->lb;
			at = q->c + q->la + q->lb;
			q->ha = tok_hash_bytes(q->a, q->la);
			q->hb = tok_hash_bytes(q->b, q->lb);
			prefetch_slot(tok, q->ha);
			prefetch_slot(tok, q->hb);
		}
		for (int k = 0; k < nb; k++) {
			prefetch_key(tok, p[k].ha);
			prefetch_key(tok, p[k].hb);
		}
		for (int k = 0; k < nb; k++) { /* left and right ids; hash the concatenation */
			pending *q = &p[k];
			q->ia = q->la ? tok_lookup_h(tok, q->a, q->la, q->ha) : -1;
			q->ib = q->lb ? tok_lookup_h(tok, q->b, q->lb, q->hb) : -1;
			q->ic = -1;
			memcpy(q->c, q->a, q->la);
			memcpy(q->c + q->la, q->b, q->lb);
			q->hc = tok_hash_bytes(q->c, q->la + q->lb);
			prefetch_slot(tok, q->hc);
		}
		for (int k = 0; k < nb; k++)
			prefetch_key(tok, p[k].hc);
		for (int k = 0; k < nb; k++) { /* the merged token; hash the pair */
			pending *q = &p[k];
			if (q->ia < 0 || q->ib < 0)
				continue;
			q->ic = tok_lookup_h(tok, q->c, q->la + q->lb, q->hc);
			q->key = (uint64_t)(uint32_t)q->ia << 32 | (uint32_t)q->ib;
			q->hk = tok_hash_u64(q->key);
			__builtin_prefetch(&tok->merge_hash[(uint32_t)q->hk & tok->merge_mask]);
		}
		for (int k = 0; k < nb; k++) { /* insert; a pair listed twice keeps its first rank */
			pending *q = &p[k];
			int32_t r = r0 + k;
			if (q->ic < 0) {
				free(buf);
				return merge_error(spec, r, q, err);
			}
			tok->merges[3 * r] = q->ia;
			tok->merges[3 * r + 1] = q->ib;
			tok->merges[3 * r + 2] = q->ic;
			for (uint32_t i = (uint32_t)q->hk & tok->merge_mask;; i = (i + 1) & tok->merge_mask) {
				tok_merge_slot *m = &tok->merge_hash[i];
				if (m->key == q->key)
					break;
				if (m->key == TOK_EMPTY_KEY) {
					*m = (tok_merge_slot){q->key, r, q->ic};
					break;
				}
			}
		}
	}
	free(buf);
	return 0;
}
