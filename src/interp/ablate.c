/* ablate.c - zero and mean ablation of heads, neurons and sublayers, and the
 * effect on a logit or logit difference. Each ablation is a rerun of the
 * forward pass from the ablated layer on, with an engine intervention. */
#include "config.h"
#include "rerun.h"
#include "mapfile.h"
#include "tokenizer.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

/* The engine intervention that ablates a target. A head is ablated through
 * its hook_z: its output z_h·W_Oᵀ is linear in z_h, so zero (or mean) z_h
 * gives a zero (or mean) output. */
int abl_intervention(const rs_config *c, const abl_target *t, rs_intervention *iv, rs_err *err)
{
	static const int kinds[] = {[ABL_HEAD] = HOOK_Z, [ABL_NEURON] = HOOK_MLP_POST, [ABL_ATTN] = HOOK_ATTN_OUT,
				    [ABL_MLP] = HOOK_MLP_OUT};
	if (t->site < ABL_HEAD || t->site > ABL_MLP)
		return rs_fail(err, "ablation: unknown site %d", t->site);
	if (t->layer < 0 || t->layer >= c->n_layers)
		return rs_fail(err, "ablation: layer %d does not exist (0..%d)", t->layer, c->n_layers - 1);
	if (t->site == ABL_HEAD && (t->index < 0 || t->index >= c->n_heads))
		return rs_fail(err, "ablation: head %d does not exist (0..%d)", t->index, c->n_heads - 1);
	if (t->site == ABL_NEURON && (t->index < 0 || t->index >= c->d_ff))
		return rs_fail(err, "ablation: neuron %d does not exist (0..%d)", t->index, c->d_ff - 1);
	memset(iv, 0, sizeof *iv);
	iv->hook = (rs_hook){kinds[t->site], t->layer};
	iv->kind = t->mean ? IV_MEAN : IV_ZERO;
	iv->head = t->site == ABL_HEAD ? t->index : -1;
	iv->index = t->site == ABL_NEURON ? t->index : -1;
	iv->pos = t->pos;
	return 0;
}

int abl_run(const rs_model *m, const int32_t *ids, int n, const abl_target *t, int n_t,
	    const interp_metric *mt, abl_result *out, rs_err *err)
{
	rs_intervention *iv = rs_xcalloc((size_t)(n_t > 0 ? n_t : 1), sizeof *iv);
	interp_rerun r;
	int rc = -1;
	for (int i = 0; i < n_t; i++) {
		if (abl_intervention(&m->cfg, &t[i], &iv[i], err)) {
			free(iv);
			return -1;
		}
		if (t[i].pos < -1 || t[i].pos >= n) {
			free(iv);
			return rs_fail(err, "ablation: position %d is outside the prompt (%d tokens)", t[i].pos, n);
		}
	}
	if (rerun_init(&r, m, ids, n, mt, err) == 0 && rerun_with(&r, iv, n_t, &out->ablated, err) == 0) {
		out->base = r.base_metric;
		out->delta = out->ablated - out->base;
		out->p_base = rerun_prob(r.base, mt);
		out->p_ablated = rerun_prob(r.work, mt);
		rc = 0;
	}
	rerun_done(&r);
	free(iv);
	return rc;
}

void abl_sweep_free(abl_sweep *s)
{
	if (!s)
		return;
	free(s->value);
	free(s->delta);
	free(s);
}

abl_sweep *abl_sweep_run(const rs_model *m, const int32_t *ids, int n, int site, int mean,
			 const interp_metric *mt, int (*stop)(void *), void *stop_ctx, rs_err *err)
{
	const rs_config *c = &m->cfg;
	if (site < ABL_HEAD || site > ABL_MLP) {
		rs_fail(err, "ablation: unknown site %d", site);
		return NULL;
	}
	interp_rerun r;
	double t0 = rerun_clock();
	if (rerun_init(&r, m, ids, n, mt, err))
		return NULL;
	abl_sweep *s = rs_xcalloc(1, sizeof *s);
	s->site = site;
	s->mean = mean;
	s->rows = c->n_layers;
	s->cols = site == ABL_HEAD ? c->n_heads : site == ABL_NEURON ? c->d_ff : 1;
	s->base = r.base_metric;
	size_t cells = (size_t)s->rows * s->cols;
	s->value = rs_xmalloc(sizeof(float) * cells);
	s->delta = rs_xmalloc(sizeof(float) * cells);
	for (size_t at = 0; at < cells; at++)
		s->value[at] = s->delta[at] = NAN;
	for (size_t at = 0; at < cells; at++) {
		if (at && stop && stop(stop_ctx))
			break;
		abl_target t = {site, (int)(at / s->cols), (int)(at % s->cols), -1, mean};
		rs_intervention iv;
		if (abl_intervention(c, &t, &iv, err) || rerun_with(&r, &iv, 1, &s->value[at], err)) {
			abl_sweep_free(s);
			rerun_done(&r);
			return NULL;
		}
		s->delta[at] = s->value[at] - s->base;
		s->done++;
	}
	rerun_done(&r);
	s->seconds = rerun_clock() - t0;
	return s;
}

/* ---------------------------------------------------------------- dataset mean */
float *abl_mean_over(const rs_model *m, rs_hook h, int32_t *const *ids, const int *n, int n_prompts, int64_t *numel,
		     rs_err *err)
{
	if (n_prompts < 1) {
		rs_fail(err, "mean over prompts: there are no prompts");
		return NULL;
	}
	for (int i = 1; i < n_prompts; i++)
		if (n[i] != n[0]) {
			rs_fail(err,
				"mean over prompts: prompt %d has %d tokens, prompt 1 has %d (a mean per position "
				"needs prompts of one length)",
				i + 1, n[i], n[0]);
			return NULL;
		}
	rs_engine *e = eng_create(m, err);
	if (!e)
		return NULL;
	char name[96];
	eng_set_cache_filter(e, hook_name(h, name, sizeof name));
	double *sum = NULL;
	int64_t len = 0;
	for (int i = 0; i < n_prompts; i++) {
		const rs_act *a = NULL;
		if (eng_set_prompt(e, ids[i], n[i], err))
			goto fail;
		eng_run_to(e, h);
		if (!(a = eng_act(e, h))) {
			rs_fail(err, "mean over prompts: %s was not computed", name);
			goto fail;
		}
		if (!sum) {
			len = a->numel;
			sum = rs_xcalloc((size_t)len, sizeof *sum);
		}
		for (int64_t k = 0; k < len; k++)
			sum[k] += a->data[k];
	}
	float *mean = rs_xmalloc(sizeof *mean * (size_t)len);
	for (int64_t k = 0; k < len; k++)
		mean[k] = (float)(sum[k] / n_prompts);
	free(sum);
	eng_free(e);
	*numel = len;
	return mean;
fail:
	free(sum);
	eng_free(e);
	return NULL;
}

float *abl_mean_over_file(const rs_model *m, const rs_tokenizer *tok, int flags, const char *path, rs_hook h,
			  int want_n, int *n_prompts, int64_t *numel, rs_err *err)
{
	interp_prompts p;
	if (interp_read_prompts(tok, flags, path, &p, err))
		return NULL;
	float *mean = NULL;
	int want = want_n > 0 ? want_n : p.len[0];
	for (int i = 0; i < p.n; i++)
		if (p.len[i] != want) {
			rs_fail(err, "%s:%d: this prompt has %d tokens, %s %d: a mean per position needs prompts of one length",
				path, p.line[i], p.len[i], i > 0 || want_n <= 0 ? "the first has" : "the prompt has", want);
			goto done;
		}
	mean = abl_mean_over(m, h, p.ids, p.len, p.n, numel, err);
	*n_prompts = p.n;
done:
	interp_prompts_free(&p);
	return mean;
}
