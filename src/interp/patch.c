/* patch.c - activation patching: run a clean and a corrupted prompt, then
 * rerun the corrupted one with one activation taken from the clean run, and
 * see how much of the clean behaviour comes back. */
#include "config.h"
#include "rerun.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

struct patch_ctx {
	rs_engine *clean;     /* the clean run, every hook cached: the patches' source */
	float clean_metric;
	interp_rerun cor;     /* the corrupted run and the worker that reruns it */
	int (*stop)(void *);  /* asked between two cells of a sweep (may be NULL) */
	void *stop_ctx;
};

void patch_set_stop(patch_ctx *p, int (*stop)(void *), void *ctx)
{
	p->stop = stop;
	p->stop_ctx = ctx;
}

void patch_free(patch_ctx *p)
{
	if (!p)
		return;
	eng_free(p->clean);
	rerun_done(&p->cor);
	free(p);
}

patch_ctx *patch_create(const rs_model *m, const int32_t *clean, const int32_t *corrupt, int n,
			const interp_metric *mt, rs_err *err)
{
	patch_ctx *p = rs_xcalloc(1, sizeof *p);
	if (rerun_init(&p->cor, m, corrupt, n, mt, err)) {
		free(p);
		return NULL;
	}
	if (!(p->clean = eng_create(m, err)) || eng_set_prompt(p->clean, clean, n, err))
		goto fail;
	eng_run(p->clean);
	if (interp_metric_engine(p->clean, mt, &p->clean_metric, err))
		goto fail;
	return p;
fail:
	patch_free(p);
	return NULL;
}

float patch_clean_metric(const patch_ctx *p) { return p->clean_metric; }
float patch_corrupt_metric(const patch_ctx *p) { return p->cor.base_metric; }
const rs_engine *patch_clean_engine(const patch_ctx *p) { return p->clean; }
const rs_engine *patch_corrupt_engine(const patch_ctx *p) { return p->cor.base; }
const rs_engine *patch_engine(const patch_ctx *p) { return p->cor.work; }

float patch_normalise(const patch_ctx *p, float metric)
{
	float span = p->clean_metric - p->cor.base_metric;
	return span != 0 ? (metric - p->cor.base_metric) / span : NAN;
}

/* The intervention that puts the clean run's value of hook h (a head, a
 * position, or all of it) into the rerun. */
static int patch_intervention(patch_ctx *p, rs_hook h, int head, int pos, rs_intervention *iv, rs_err *err)
{
	const rs_act *a = interp_need(p->clean, h.kind, h.layer, err);
	if (!a)
		return -1;
	if (h.kind == HOOK_LOGITS)
		return rs_fail(err, "patching: the logits are the output, not an activation to patch");
	if (pos < -1 || pos >= p->cor.T)
		return rs_fail(err, "patching: position %d is outside the prompt (%d tokens)", pos, p->cor.T);
	memset(iv, 0, sizeof *iv);
	iv->hook = h;
	iv->kind = IV_REPLACE;
	iv->head = head;
	iv->pos = pos;
	iv->index = -1;
	iv->values = a->data;
	iv->n_values = a->numel;
	return 0;
}

int patch_one(patch_ctx *p, const rs_hook *h, int head, int pos, float *metric, rs_err *err)
{
	rs_intervention iv = {0};
	rerun_set_full(&p->cor, 1);
	if (h && patch_intervention(p, *h, head, pos, &iv, err))
		return -1;
	return rerun_with(&p->cor, &iv, h ? 1 : 0, metric, err);
}

void patch_sweep_free(patch_sweep *s)
{
	if (!s)
		return;
	free(s->value);
	free(s->norm);
	free(s);
}

/* Rows are layers; column j patches head j (heads) or position j. */
static patch_sweep *sweep(patch_ctx *p, int kind, int heads, int pos, int cols, rs_err *err)
{
	const rs_config *c = &eng_model(p->clean)->cfg;
	double t0 = rerun_clock();
	patch_sweep *s = rs_xcalloc(1, sizeof *s);
	s->kind = kind;
	s->rows = c->n_layers;
	s->cols = cols;
	s->cols_are_heads = heads;
	s->pos = heads ? pos : -1;
	s->clean = p->clean_metric;
	s->corrupt = p->cor.base_metric;
	size_t cells = (size_t)s->rows * cols;
	s->value = rs_xmalloc(sizeof(float) * cells);
	s->norm = rs_xmalloc(sizeof(float) * cells);
	for (size_t at = 0; at < cells; at++)
		s->value[at] = s->norm[at] = NAN;
	rerun_set_full(&p->cor, 0);
	for (size_t at = 0; at < cells; at++) {
		if (at && p->stop && p->stop(p->stop_ctx))
			break;
		int l = (int)(at / cols), j = (int)(at % cols);
		rs_intervention iv;
		if (patch_intervention(p, (rs_hook){kind, l}, heads ? j : -1, heads ? pos : j, &iv, err) ||
		    rerun_with(&p->cor, &iv, 1, &s->value[at], err)) {
			patch_sweep_free(s);
			return NULL;
		}
		s->norm[at] = patch_normalise(p, s->value[at]);
		s->done++;
	}
	s->seconds = rerun_clock() - t0;
	return s;
}

patch_sweep *patch_sweep_pos(patch_ctx *p, int kind, rs_err *err)
{
	const rs_model *m = eng_model(p->clean);
	rs_act sh = eng_hook_shape(m, (rs_hook){kind, 0}, p->cor.T, p->cor.T);
	if (!hook_is_layer_kind(kind) || sh.n_dims != 2) {
		rs_fail(err, "patching by position needs a [T, width] hook of a layer (resid_pre, attn_out...), not %s",
			hook_kind_name(kind));
		return NULL;
	}
	return sweep(p, kind, 0, -1, p->cor.T, err);
}

patch_sweep *patch_sweep_heads(patch_ctx *p, int kind, int pos, rs_err *err)
{
	const rs_model *m = eng_model(p->clean);
	rs_act sh = eng_hook_shape(m, (rs_hook){kind, 0}, p->cor.T, p->cor.T);
	if (!hook_is_layer_kind(kind) || !hook_has_heads(kind)) {
		rs_fail(err, "patching by head needs a hook with a head axis (z, q, k, v, pattern...), not %s",
			hook_kind_name(kind));
		return NULL;
	}
	if (pos < -1 || pos >= p->cor.T) {
		rs_fail(err, "patching: position %d is outside the prompt (%d tokens)", pos, p->cor.T);
		return NULL;
	}
	return sweep(p, kind, 1, pos, act_n_heads(&sh, kind), err);
}
