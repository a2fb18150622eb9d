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
	lens_top_free(&c->lens_top);
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

/* The logit lens of one layer, a slice of the vocabulary at a time
 * (interp's lens_top), so that one piece of idle work stays short (a 128k
 * vocabulary in slices of LENS_ROWS) and a key never waits long. */
#define LENS_ROWS 4096

static void lens_slice(ui *u)
{
	ui_cache *c = &u->cache;
	int layer = c->lens_busy, T = c->T;
	const rs_act *a = session_act(u->s, (rs_hook){HOOK_RESID_POST, layer});
	if (!a) {
		c->lens_busy = -1;
		return;
	}
	if (lens_top_step(&c->lens_top, u->s->model, a->data, LENS_ROWS))
		return;
	for (int p = 0; p < T; p++) {
		ui_lens_cell *cell = &c->lens[(size_t)layer * T + p];
		cell->id = c->lens_top.top[p];
		cell->prob = c->lens_top.prob[p];
		cell->valid = 1;
	}
	c->lens_busy = -1;
}

static void lens_begin(ui_cache *c, int layer)
{
	lens_top_begin(&c->lens_top, c->T);
	c->lens_busy = layer;
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
