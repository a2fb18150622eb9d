/* explain.c - "how did the model arrive at its answer": the measurements
 * behind `explain`, composed from the analyses of this layer (lens_run,
 * dla_run, heads_score, abl_run's reruns). Greedy generation first; then one
 * cached run of the prompt followed by the answer (but its last token), so
 * the answer's i-th token is read at position n_prompt - 1 + i of one pass.
 * Wording is the lesson layer's: nothing here is text. */
#include "config.h"
#include "rerun.h"
#include "sampler.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

char *explain_comp_name(const dla_component *c, char *buf, size_t n)
{
	dla_component_name(c, buf, n); /* "L3 mlp" is "L3 MLP" here */
	char *m = strstr(buf, " mlp");
	if (m)
		memcpy(m, " MLP", 4);
	return buf;
}

int interp_unembed_top(const rs_model *m, const float *u, int k, int32_t *ids)
{
	int d = m->cfg.d_model, V = m->cfg.vocab;
	float *row = rs_xmalloc(sizeof *row * (size_t)d), *score = rs_xmalloc(sizeof *score * (size_t)V);
	for (int v = 0; v < V; v++) {
		mat_row(&m->output, v, row);
		double s = 0;
		for (int i = 0; i < d; i++)
			s += (double)row[i] * u[i];
		score[v] = (float)s;
	}
	int got = vec_topk(score, V, k, 0, ids);
	free(score);
	free(row);
	return got;
}

int interp_head_promotes(const rs_engine *e, int layer, int head, int pos, int k, int32_t *ids, rs_err *err)
{
	const rs_model *m = eng_model(e);
	const rs_config *c = &m->cfg;
	int d = c->d_model;
	if (head < 0 || head >= c->n_heads)
		return rs_fail(err, "head %d does not exist (0..%d)", head, c->n_heads - 1);
	if (pos < 0 || pos >= eng_n_tokens(e))
		return rs_fail(err, "position %d is outside the prompt", pos);
	float *o = rs_xmalloc(sizeof *o * (size_t)c->n_heads * d);
	if (interp_head_outputs(e, layer, pos, o, err)) {
		free(o);
		return -1;
	}
	float *u = o + (size_t)head * d;
	for (int i = 0; i < d; i++)
		u[i] *= m->final_norm[i];
	int got = interp_unembed_top(m, u, k, ids);
	free(o);
	return got;
}

/* Greedy continuation of the prompt: the answer's tokens appended to ids. */
static int generate(const rs_model *m, explain_result *r, const explain_opts *o, rs_err *err)
{
	int n_max = o->n_max > 0 ? o->n_max : 16, V = m->cfg.vocab;
	rs_engine *e = eng_create(m, err);
	if (!e)
		return -1;
	eng_set_cache_filter(e, "logits");
	if (eng_set_prompt(e, r->ids, r->n_prompt, err)) {
		eng_free(e);
		return -1;
	}
	eng_run(e);
	const float *lg = eng_last_logits(e);
	while (r->n_answer < n_max) {
		int32_t t = sampler_argmax(lg, V);
		if (t == o->stop1 || t == o->stop2) {
			r->ended = 1;
			break;
		}
		r->ids[r->n_prompt + r->n_answer++] = t;
		if (r->n_answer == n_max || r->n_prompt + r->n_answer >= m->cfg.max_ctx)
			break;
		if (!(lg = eng_decode(e, t, err))) {
			eng_free(e);
			return -1;
		}
	}
	eng_free(e);
	r->n_ids = r->n_prompt + r->n_answer;
	return 0;
}

typedef struct by_abs {
	float v;
	int i;
} by_abs;

static int by_abs_desc(const void *a, const void *b)
{
	float x = fabsf(((const by_abs *)a)->v), y = fabsf(((const by_abs *)b)->v);
	return x < y ? 1 : x > y ? -1 : ((const by_abs *)a)->i - ((const by_abs *)b)->i;
}

/* The measurements of one answer token that read the cached run (no reruns). */
static int measure(const rs_engine *e, const head_scores *hs, explain_tok *t, int n_comp, int32_t vs, rs_err *err)
{
	const rs_model *m = eng_model(e);
	const rs_config *c = &m->cfg;
	const int32_t *ids = eng_tokens(e);
	int V = c->vocab;
	float *x = rs_xmalloc(sizeof *x * (size_t)V), *p = rs_xmalloc(sizeof *p * (size_t)V);
	if (lens_logits(e, (rs_hook){HOOK_RESID_POST, c->n_layers - 1}, t->pos, x, err))
		goto fail;
	/* the final logits, read where the lens reads the last point: the same numbers as `top` */
	{
		const rs_act *lg = interp_need(e, HOOK_LOGITS, -1, err);
		if (!lg)
			goto fail;
		memcpy(x, lg->data + (size_t)(lg->shape[0] == eng_n_tokens(e) ? t->pos : 0) * V, sizeof *x * (size_t)V);
	}
	vec_softmax(x, V, p);
	if (vs < 0) {
		int32_t top2[2];
		vec_topk(x, V, 2, 0, top2);
		vs = top2[0] == t->id ? top2[1] : top2[0];
	}
	t->vs = vs;
	t->p = p[t->id];
	t->p_vs = p[vs];
	/* the lens trajectory */
	lens_opts lo = {.pos = t->pos, .top_k = 1, .target = LENS_TARGET_TOKEN, .token = t->id};
	lens_result *lr = lens_run(e, &lo, err);
	if (!lr)
		goto fail;
	t->n_sites = lr->n_sites;
	t->sites = rs_xmalloc(sizeof *t->sites * (size_t)lr->n_sites);
	t->rank = rs_xmalloc(sizeof *t->rank * (size_t)lr->n_sites);
	t->prob = rs_xmalloc(sizeof *t->prob * (size_t)lr->n_sites);
	t->first_top1 = t->first_top5 = -1;
	for (int i = 0; i < lr->n_sites; i++) {
		t->sites[i] = lr->sites[i];
		t->rank[i] = lr->target_rank[lens_cell(lr, i, 0)]; /* lens ranks count from 1 */
		t->prob[i] = lr->target_prob[lens_cell(lr, i, 0)];
		if (t->first_top1 < 0 && t->rank[i] == 1)
			t->first_top1 = i;
		if (t->first_top5 < 0 && t->rank[i] <= 5)
			t->first_top5 = i;
	}
	lens_free(lr);
	/* attribution: against the runner-up, and of the answer alone */
	interp_metric mt = {t->pos, t->id, vs}, mt1 = {t->pos, t->id, -1};
	dla_result *d = dla_run(e, &mt, err), *d1 = d ? dla_run(e, &mt1, err) : NULL;
	if (!d1) {
		dla_free(d);
		goto fail;
	}
	t->logit_diff = d->logit;
	t->scale = d->scale;
	t->embed = d->comp[0].value;
	by_abs *o = rs_xmalloc(sizeof *o * (size_t)d->n);
	for (int i = 1; i < d->n; i++)
		o[i - 1] = (by_abs){d->comp[i].value, i};
	qsort(o, (size_t)d->n - 1, sizeof *o, by_abs_desc);
	t->n_comp = n_comp < d->n - 1 ? n_comp : d->n - 1;
	t->comp = rs_xcalloc((size_t)t->n_comp, sizeof *t->comp);
	double listed = t->embed;
	for (int k = 0; k < t->n_comp; k++) {
		explain_comp *ec = &t->comp[k];
		ec->c = d->comp[o[k].i];
		ec->dla_answer = d1->comp[o[k].i].value;
		ec->zero_delta = ec->mean_delta = ec->p_zero = ec->p_mean = NAN;
		listed += ec->c.value;
		if (ec->c.kind != DLA_HEAD)
			continue;
		const rs_act *pat = interp_need(e, HOOK_PATTERN, ec->c.layer, err);
		if (!pat) {
			free(o);
			dla_free(d);
			dla_free(d1);
			goto fail;
		}
		int nk = 0;
		const float *row = act_row(pat, HOOK_PATTERN, t->pos, ec->c.head, &nk);
		int32_t idx[EXPLAIN_MAX_ATT];
		nk = nk > t->pos + 1 ? t->pos + 1 : nk;
		ec->n_att = vec_topk(row, nk, EXPLAIN_MAX_ATT < nk ? EXPLAIN_MAX_ATT : nk, 0, idx);
		for (int j = 0; j < ec->n_att; j++) {
			ec->att_pos[j] = idx[j];
			ec->att_w[j] = row[idx[j]];
		}
		int np = interp_head_promotes(e, ec->c.layer, ec->c.head, t->pos, EXPLAIN_MAX_ATT, ec->prom, err);
		if (np < 0) {
			free(o);
			dla_free(d);
			dla_free(d1);
			goto fail;
		}
		ec->n_prom = np;
	}
	t->rest = (float)(d->total - listed);
	free(o);
	dla_free(d);
	dla_free(d1);
	/* copying: the token before this position occurred earlier, followed by the answer token */
	t->copy_src = -1;
	for (int j = t->pos - 1; j >= 1 && t->copy_src < 0; j--)
		if (ids[j - 1] == ids[t->pos] && ids[j] == t->id)
			t->copy_src = j;
	if (t->copy_src >= 0) {
		t->ind_attn = -1;
		for (int l = 0; l < c->n_layers; l++) {
			const rs_act *pat = interp_need(e, HOOK_PATTERN, l, err);
			if (!pat)
				goto fail;
			for (int h = 0; h < c->n_heads; h++) {
				float w = act_at(pat, h, t->pos, t->copy_src);
				if (w > t->ind_attn) {
					t->ind_attn = w;
					t->ind_layer = l;
					t->ind_head = h;
				}
			}
		}
		t->ind_score = hs->induction[t->ind_layer * c->n_heads + t->ind_head];
	}
	free(x);
	free(p);
	return 0;
fail:
	free(x);
	free(p);
	return -1;
}

/* Zero or mean ablation of one listed component, at every position: a rerun from its layer. */
static int ablate_one(interp_rerun *rr, explain_comp *ec, int mean, rs_err *err)
{
	abl_target at = {ec->c.kind == DLA_HEAD ? ABL_HEAD : ABL_MLP, ec->c.layer, ec->c.head, -1, mean};
	rs_intervention iv;
	float v;
	if (abl_intervention(&rr->m->cfg, &at, &iv, err) || rerun_with(rr, &iv, 1, &v, err))
		return -1;
	float p = rerun_prob(rr->work, &rr->mt);
	if (mean) {
		ec->mean_delta = v - rr->base_metric;
		ec->p_mean = p;
	} else {
		ec->zero_delta = v - rr->base_metric;
		ec->p_zero = p;
	}
	return 0;
}

explain_result *explain_run(const rs_model *m, const int32_t *prompt, int n, const explain_opts *o, rs_err *err)
{
	const rs_config *c = &m->cfg;
	int n_max = o->n_max > 0 ? o->n_max : 16;
	if (n < 1) {
		rs_fail(err, "explain: the prompt is empty");
		return NULL;
	}
	if (n >= c->max_ctx) {
		rs_fail(err, "explain: the prompt fills the model's context");
		return NULL;
	}
	explain_result *r = rs_xcalloc(1, sizeof *r);
	r->n_prompt = n;
	r->ids = rs_xmalloc(sizeof *r->ids * (size_t)(n + n_max));
	memcpy(r->ids, prompt, sizeof *r->ids * (size_t)n);
	if (generate(m, r, o, err))
		goto fail;
	if (!r->n_answer) {
		rs_fail(err, "explain: the model's answer is its end token at once: nothing to explain");
		goto fail;
	}
	/* one cached run of the prompt and the answer but its last token */
	int T = r->n_ids - 1;
	rs_engine *e = eng_create(m, err);
	if (!e)
		goto fail;
	eng_set_logits_all(e, 1);
	if (eng_set_prompt(e, r->ids, T, err)) {
		eng_free(e);
		goto fail;
	}
	eng_run(e);
	head_scores *hs = heads_score(e, err);
	if (!hs) {
		eng_free(e);
		goto fail;
	}
	r->tok = rs_xcalloc((size_t)r->n_answer, sizeof *r->tok);
	int total = 0;
	for (int i = 0; i < r->n_answer; i++) {
		explain_tok *t = &r->tok[i];
		t->pos = n - 1 + i;
		t->id = r->ids[n + i];
		if (measure(e, hs, t, i ? (o->n_comp_later > 0 ? o->n_comp_later : 2)
					  : (o->n_comp_first > 0 ? o->n_comp_first : 3),
			    i ? -1 : o->vs, err)) {
			heads_free(hs);
			eng_free(e);
			goto fail;
		}
		total += 2 * t->n_comp;
	}
	heads_free(hs);
	eng_free(e);
	/* the causal checks: time one rerun first, so the caller can say how long the rest takes */
	int done = 0;
	r->n_done = 0;
	for (int i = 0; i < r->n_answer; i++) {
		explain_tok *t = &r->tok[i];
		interp_rerun rr;
		interp_metric mt = {t->pos, t->id, t->vs};
		if (rerun_init(&rr, m, r->ids, T, &mt, err)) {
			rerun_done(&rr);
			goto fail;
		}
		for (int k = 0; k < t->n_comp; k++)
			for (int mean = 0; mean < 2; mean++) {
				if (o->stop && o->stop(o->stop_ctx)) {
					r->stopped = 1;
					rerun_done(&rr);
					return r;
				}
				double t0 = rerun_clock();
				if (ablate_one(&rr, &t->comp[k], mean, err)) {
					rerun_done(&rr);
					goto fail;
				}
				if (!done)
					r->rerun_seconds = rerun_clock() - t0;
				done++;
				if (o->progress)
					o->progress(o->progress_ctx, done, total, r->rerun_seconds * (total - done));
			}
		rerun_done(&rr);
		r->n_done = i + 1;
	}
	return r;
fail:
	explain_free(r);
	return NULL;
}

void explain_free(explain_result *r)
{
	if (!r)
		return;
	for (int i = 0; r->tok && i < r->n_answer; i++) {
		free(r->tok[i].sites);
		free(r->tok[i].rank);
		free(r->tok[i].prob);
		free(r->tok[i].comp);
	}
	free(r->tok);
	free(r->ids);
	free(r);
}
