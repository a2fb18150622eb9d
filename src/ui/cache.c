/* cache.c - what the panes show that takes more than a glance to find.
 *
 * Stepping must redraw instantly, so nothing here scans a vocabulary on a
 * redraw: the top-k of a position's logits is found once and kept, norms of
 * the residual stream are kept per (layer, position), and logit-lens cells
 * are filled one layer at a time while the screen waits for a key. All of it
 * is dropped when the data may have changed (a command ran, a new prompt).
 */
#include "config.h"
#include "ui_int.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "interp.h"

static uint64_t data_key(ui *u)
{
	rs_session *s = u->s;
	uint64_t h = sig_mix(u->gen, (uintptr_t)s->eng);
	h = sig_mix(h, (uintptr_t)s->model);
	h = sig_mix(h, (uint64_t)s->n_ids);
	for (int i = 0; i < s->n_ids; i++)
		h = sig_mix(h, (uint32_t)s->ids[i]);
	return h | 1;
}

void cache_free(ui_cache *c)
{
	free(c->topk);
	free(c->norms);
	free(c->lens);
	free(c->lens_max);
	free(c->lens_sum);
	free(c->lens_arg);
	memset(c, 0, sizeof *c);
	c->lens_busy = -1;
}

void cache_sync(ui *u)
{
	ui_cache *c = &u->cache;
	uint64_t key = data_key(u);
	if (key == c->key)
		return;
	cache_free(c);
	c->key = key;
	c->T = u->s->n_ids;
	c->n_layers = u->s->model ? u->s->model->cfg.n_layers : 0;
	if (c->T <= 0)
		return;
	c->topk = rs_xcalloc((size_t)c->T, sizeof *c->topk);
	size_t nn = (size_t)(c->n_layers + 1) * (size_t)c->T;
	c->norms = rs_xmalloc(nn * sizeof *c->norms);
	for (size_t i = 0; i < nn; i++)
		c->norms[i] = NAN;
	c->lens = rs_xcalloc((size_t)c->n_layers * (size_t)c->T, sizeof *c->lens);
}

const ui_topk *cache_topk(ui *u, int pos)
{
	cache_sync(u);
	ui_cache *c = &u->cache;
	if (pos < 0 || pos >= c->T)
		return NULL;
	const rs_act *a = session_act(u->s, (rs_hook){HOOK_LOGITS, -1});
	if (!a || a->shape[0] != c->T)
		return NULL;
	ui_topk *t = &c->topk[pos];
	int k = u->s->topk > 0 ? u->s->topk : 10;
	if (k > 64)
		k = 64;
	if (t->valid && t->k >= k)
		return t;
	int V = a->shape[1];
	const float *x = a->data + (int64_t)pos * V;
	int n = vec_topk(x, V, k, 0, t->id);
	double lse = vec_softmax(x, V, NULL);
	for (int j = 0; j < n; j++) {
		t->logit[j] = x[t->id[j]];
		t->prob[j] = (float)exp((double)t->logit[j] - lse);
	}
	t->k = n;
	t->valid = 1;
	return t;
}

/* The hook of norms row r: embed, then resid_post of each layer. */
static rs_hook norm_hook(int row)
{
	return row == 0 ? (rs_hook){HOOK_EMBED, -1} : (rs_hook){HOOK_RESID_POST, row - 1};
}

float cache_norm(ui *u, int row, int pos)
{
	cache_sync(u);
	ui_cache *c = &u->cache;
	if (row < 0 || row > c->n_layers || pos < 0 || pos >= c->T)
		return NAN;
	const rs_act *a = session_act(u->s, norm_hook(row));
	if (!a)
		return NAN;
	float *slot = &c->norms[(size_t)row * c->T + pos];
	if (isnan(*slot)) {
		int d = a->shape[1];
		const float *x = a->data + (int64_t)pos * d;
		double ss = 0;
		for (int i = 0; i < d; i++)
			ss += (double)x[i] * x[i];
		*slot = (float)sqrt(ss);
	}
	return *slot;
}

const ui_lens_cell *cache_lens(ui *u, int layer, int pos)
{
	cache_sync(u);
	ui_cache *c = &u->cache;
	if (layer < 0 || layer >= c->n_layers || pos < 0 || pos >= c->T)
		return NULL;
	if (!session_act(u->s, (rs_hook){HOOK_RESID_POST, layer}))
		return NULL;
	ui_lens_cell *cell = &c->lens[(size_t)layer * c->T + pos];
	if (!cell->valid)
		c->lens_pending = 1;
	return cell;
}

/* The logit lens of one layer: interp's lens_apply (the residual stream
 * after the layer through the final norm and the unembedding) over a slice
 * of the vocabulary at a time, so that one piece of idle work stays short
 * (a 128k vocabulary in slices of LENS_ROWS) and a key never waits long.
 * Across slices the top token and the softmax normaliser are carried along
 * (an online softmax: running maximum and rescaled sum). */
#define LENS_ROWS 4096
#define LENS_POS 256

static void lens_slice(ui *u)
{
	ui_cache *c = &u->cache;
	const rs_model *m = u->s->model;
	int layer = c->lens_busy, T = c->T, d = m->cfg.d_model;
	const rs_act *a = session_act(u->s, (rs_hook){HOOK_RESID_POST, layer});
	if (!a) {
		c->lens_busy = -1;
		return;
	}
	int64_t r0 = c->lens_row, V = m->output.rows;
	int64_t nr = V - r0 < LENS_ROWS ? V - r0 : LENS_ROWS;
	/* the same model with its unembedding cut to rows [r0, r0+nr) */
	rs_model part = *m;
	part.output.data = (const char *)m->output.data + (size_t)r0 * m->output.row_bytes;
	part.output.rows = nr;
	int np = T < LENS_POS ? T : LENS_POS;
	float *y = rs_xmalloc(sizeof(float) * (size_t)np * (size_t)nr);
	for (int p0 = 0; p0 < T; p0 += np) {
		int n = T - p0 < np ? T - p0 : np;
		lens_apply(&part, a->data + (int64_t)p0 * d, n, y);
		for (int t = 0; t < n; t++) {
			const float *row = y + (int64_t)t * nr;
			int p = p0 + t;
			float mx = c->lens_max[p];
			int32_t arg = c->lens_arg[p];
			for (int64_t i = 0; i < nr; i++)
				if (row[i] > mx)
					mx = row[i], arg = (int32_t)(r0 + i);
			double sum = c->lens_sum[p] * exp((double)c->lens_max[p] - mx);
			for (int64_t i = 0; i < nr; i++)
				sum += exp((double)(row[i] - mx));
			c->lens_max[p] = mx;
			c->lens_sum[p] = sum;
			c->lens_arg[p] = arg;
		}
	}
	free(y);
	c->lens_row = r0 + nr;
	if (c->lens_row < V)
		return;
	for (int p = 0; p < T; p++) {
		ui_lens_cell *cell = &c->lens[(size_t)layer * T + p];
		cell->id = c->lens_arg[p];
		cell->prob = (float)(1.0 / c->lens_sum[p]); /* exp(max - max) / sum */
		cell->valid = 1;
	}
	c->lens_busy = -1;
}

static void lens_begin(ui_cache *c, int layer)
{
	if (!c->lens_max) {
		c->lens_max = rs_xmalloc(sizeof *c->lens_max * (size_t)c->T);
		c->lens_sum = rs_xmalloc(sizeof *c->lens_sum * (size_t)c->T);
		c->lens_arg = rs_xmalloc(sizeof *c->lens_arg * (size_t)c->T);
	}
	for (int p = 0; p < c->T; p++) {
		c->lens_max[p] = -INFINITY;
		c->lens_sum[p] = 0;
		c->lens_arg[p] = 0;
	}
	c->lens_busy = layer;
	c->lens_row = 0;
}

int cache_idle(ui *u)
{
	ui_cache *c = &u->cache;
	cache_sync(u);
	if (!c->lens_pending || !c->T)
		return 0;
	if (c->lens_busy >= 0) {
		lens_slice(u);
		return 1;
	}
	/* the selected layer first, then the others the learner can already see */
	int L = c->n_layers, order0 = u->s->sel_layer;
	for (int k = 0; k < L; k++) {
		int l = (order0 + k) % L;
		if (!session_act(u->s, (rs_hook){HOOK_RESID_POST, l}))
			continue;
		if (!c->lens[(size_t)l * c->T].valid) {
			lens_begin(c, l);
			lens_slice(u);
			return 1;
		}
	}
	c->lens_pending = 0;
	return 0;
}
