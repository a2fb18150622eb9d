/* rep.c - the repeated-random-tokens experiment: random tokens cannot be
 * predicted the first time, but a model with induction heads predicts them
 * the second time by looking back at what followed them before. */
#include "config.h"
#include "filelimits.h"
#include "interp.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

/* splitmix64: a fixed generator, so a seed gives the same tokens everywhere */
RS_WRAPS static uint64_t rep_next(uint64_t *s)
{
	uint64_t z = (*s += 0x9e3779b97f4a7c15ull);
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
	return z ^ (z >> 31);
}

void rep_free(rep_result *r)
{
	if (!r)
		return;
	free(r->tokens);
	free(r->loss);
	heads_free(r->scores);
	free(r);
}

rep_result *rep_run(const rs_model *m, const rep_opts *o, rs_err *err)
{
	const rs_config *c = &m->cfg;
	rep_opts def = {0};
	if (!o)
		o = &def;
	int n = o->n > 0 ? o->n : 50;
	int32_t lo = o->tok_lo, hi = o->tok_hi;
	if (!lo && !hi)
		hi = c->vocab;
	if (lo < 0 || hi > c->vocab || hi - lo < 3) {
		rs_fail(err, "repeated tokens: the token range [%d, %d) is empty or outside the vocabulary (%d)", lo, hi,
			c->vocab);
		return NULL;
	}
	int bos = !o->no_bos && c->bos_id >= 0 && c->bos_id < c->vocab;
	rep_result *r = rs_xcalloc(1, sizeof *r);
	r->n = n;
	r->bos = bos;
	r->T = bos + 2 * n;
	r->tokens = rs_xmalloc(sizeof(int32_t) * (size_t)r->T);
	if (bos)
		r->tokens[0] = c->bos_id;
	uint64_t st = o->seed;
	for (int i = 0; i < n; i++) {
		int32_t t;
		do /* never BOS or EOS: they would mark the sequence, not its content */
			t = lo + (int32_t)(rep_next(&st) % (uint64_t)(hi - lo));
		while (t == c->bos_id || t == c->eos_id);
		r->tokens[bos + i] = r->tokens[bos + n + i] = t;
	}
	rs_engine *e = eng_create(m, err);
	if (!e)
		goto fail;
	eng_set_cache_filter(e, "*attn.hook_pattern,logits"); /* all the scores read */
	if (eng_set_prompt(e, r->tokens, r->T, err))
		goto fail;
	eng_run(e);
	const rs_act *lg = interp_need(e, HOOK_LOGITS, -1, err);
	if (!lg || !(r->scores = heads_score(e, err)))
		goto fail;
	int V = c->vocab;
	r->loss = rs_xmalloc(sizeof(float) * (size_t)(r->T - 1));
	double s1 = 0, s2 = 0;
	int n1 = 0, n2 = 0;
	for (int t = 0; t + 1 < r->T; t++) {
		const float *row = lg->data + (size_t)t * V;
		r->loss[t] = (float)(vec_softmax(row, V, NULL) - row[r->tokens[t + 1]]);
		/* the prediction at t is of token t + 1: it belongs to that token's half */
		if (t + 1 < bos + n)
			s1 += r->loss[t], n1++;
		else
			s2 += r->loss[t], n2++;
	}
	r->loss_first = n1 ? (float)(s1 / n1) : NAN;
	r->loss_second = (float)(s2 / n2);
	eng_free(e);
	return r;
fail:
	eng_free(e);
	rep_free(r);
	return NULL;
}
