/* sae_data.c - an SAE against the model: collecting a hook's activations
 * over a corpus with the engine, the held-out measurements (reconstruction,
 * L0, the loss with the reconstruction spliced in) and the index of each
 * feature's top contexts. */
#include "config.h"
#include "sae_train.h"
#include "pool.h"
#include "vec.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void sae_acts_free(sae_acts *a)
{
	free(a->x);
	free(a->win_start);
	memset(a, 0, sizeof *a);
}

/* Runs window w to the hook; its activation [T, d], or NULL with err set. */
static const rs_act *run_window(rs_engine *e, rs_hook h, const int32_t *ids, int T, rs_err *err)
{
	if (eng_set_prompt(e, ids, T, err))
		return NULL;
	eng_run_to(e, h);
	const rs_act *a = eng_act(e, h);
	if (!a || a->n_dims != 2) {
		rs_fail(err, "the hook is not cached or not of shape [T, width]");
		return NULL;
	}
	return a;
}

int sae_collect(rs_engine *e, rs_hook h, const int32_t *ids, const int64_t *starts, int64_t n_windows, int T,
		sae_acts *out, rs_err *err)
{
	char hn[96];
	memset(out, 0, sizeof *out);
	eng_set_cache_filter(e, hook_name(h, hn, sizeof hn));
	int d = 0;
	for (int64_t w = 0; w < n_windows; w++) {
		const rs_act *a = run_window(e, h, ids + starts[w], T, err);
		if (!a) {
			sae_acts_free(out);
			return -1;
		}
		if (!out->x) {
			d = a->shape[1];
			out->d = d, out->T = T, out->n_windows = n_windows;
			out->x = rs_xmalloc(sizeof(float) * (size_t)n_windows * (T - 1) * d);
			out->win_start = rs_xmalloc(sizeof(int64_t) * (size_t)n_windows);
		}
		memcpy(out->x + out->N * d, a->data + d, sizeof(float) * (size_t)(T - 1) * d);
		out->N += T - 1;
		out->win_start[w] = starts[w];
	}
	eng_set_cache_filter(e, "*");
	return 0;
}

/* ---------------------------------------------------------------- measurements */

/* Mean next-token loss of positions 1..T-1 (position t predicts ids[t+1]; the
 * window has T+1 tokens) of the pass just run. */
static double window_loss(const rs_engine *e, const int32_t *ids, int T, int V)
{
	const rs_act *lg = eng_act(e, (rs_hook){HOOK_LOGITS, -1});
	double l = 0;
	for (int t = 1; t < T; t++) {
		const float *row = lg->data + (size_t)t * V;
		l += vec_softmax(row, V, NULL) - row[ids[t + 1]];
	}
	return l / (T - 1);
}

/* Runs the window with the hook's rows 1..T-1 replaced by repl (T, d) (row 0
 * is the clean one); its loss. */
static double spliced_loss(rs_engine *e, rs_hook h, const int32_t *ids, int T, const float *repl, int64_t numel,
			   int V, rs_err *err)
{
	rs_intervention iv = {.hook = h, .kind = IV_REPLACE, .head = -1, .pos = -1, .index = -1,
			      .values = repl, .n_values = numel};
	if (eng_add_intervention(e, &iv, err) < 0)
		return NAN;
	double l = NAN;
	if (!eng_set_prompt(e, ids, T, err)) {
		eng_run(e);
		l = window_loss(e, ids, T, V);
	}
	eng_clear_interventions(e);
	return l;
}

int sae_measure(rs_engine *e, rs_sae *s, const int32_t *ids, const int64_t *starts, int64_t n_windows, int T,
		const float *mean_x, rs_err *err)
{
	int d = s->d, n = s->n, V = eng_model(e)->cfg.vocab;
	char hn[96];
	char filt[160];
	snprintf(filt, sizeof filt, "%s,logits", hook_name(s->hook, hn, sizeof hn));
	eng_set_cache_filter(e, filt);
	eng_set_logits_all(e, 1);
	float *x = rs_xmalloc(sizeof(float) * (size_t)T * d);
	float *xhat = rs_xmalloc(sizeof(float) * (size_t)T * d);
	float *f = rs_xmalloc(sizeof(float) * (size_t)T * n);
	double sse = 0, sx2 = 0, active = 0, ce[4] = {0};
	double *sx = rs_xcalloc((size_t)d, sizeof(double));
	int64_t vecs = 0;
	int rc = 0;
	for (int64_t w = 0; w < n_windows && !rc; w++) {
		const int32_t *wi = ids + starts[w];
		const rs_act *a = run_window(e, s->hook, wi, T, err);
		if (!a || a->shape[1] != d) {
			rc = a ? rs_fail(err, "the hook is %d wide, the SAE %d", a->shape[1], d) : -1;
			break;
		}
		eng_run(e);
		ce[0] += window_loss(e, wi, T, V);
		memcpy(x, a->data, sizeof(float) * (size_t)T * d);
		sae_encode(s, x + d, f, T - 1);
		memcpy(xhat, x, sizeof(float) * (size_t)d); /* row 0, the BOS, stays */
		sae_decode(s, f, xhat + d, T - 1);
		for (int64_t i = d; i < (int64_t)T * d; i++) {
			double df = (double)x[i] - xhat[i];
			sse += df * df;
			sx2 += (double)x[i] * x[i];
			sx[i % d] += x[i];
		}
		for (int64_t i = 0; i < (int64_t)(T - 1) * n; i++)
			active += f[i] > 0;
		vecs += T - 1;
		ce[1] += spliced_loss(e, s->hook, wi, T, xhat, (int64_t)T * d, V, err);
		for (int64_t i = d; i < (int64_t)T * d; i++) /* zero-ablated */
			xhat[i] = 0;
		ce[2] += spliced_loss(e, s->hook, wi, T, xhat, (int64_t)T * d, V, err);
		for (int64_t i = d; i < (int64_t)T * d; i++) /* mean-ablated */
			xhat[i] = mean_x[i % d];
		ce[3] += spliced_loss(e, s->hook, wi, T, xhat, (int64_t)T * d, V, err);
		if (isnan(ce[1] + ce[2] + ce[3]))
			rc = -1;
	}
	double var = sx2;
	for (int j = 0; j < d; j++)
		var -= sx[j] * sx[j] / (double)(vecs ? vecs : 1);
	rs_sae_meta *m = &s->meta;
	m->nmse = var > 0 ? sse / var : 0;
	m->l0 = vecs ? active / (double)vecs : 0;
	m->ce_clean = ce[0] / (double)n_windows;
	m->ce_sae = ce[1] / (double)n_windows;
	m->ce_zero = ce[2] / (double)n_windows;
	m->ce_mean = ce[3] / (double)n_windows;
	free(x), free(xhat), free(f), free(sx);
	eng_set_cache_filter(e, "*");
	return rc;
}

/* ---------------------------------------------------------------- index */

typedef struct index_job {
	const rs_sae *s;
	const sae_acts *a;
	const int32_t *ids;
	int64_t n_ids;
	rs_sae_index *x;
	const float *f; /* (rows, n) of this chunk */
	int64_t row0, rows;
} index_job;

static void encode_rows(void *ctx, int64_t r0, int64_t r1)
{
	index_job *j = ctx;
	sae_encode(j->s, j->a->x + (j->row0 + r0) * j->s->d, (float *)j->f + r0 * j->s->n, r1 - r0);
}

/* Each thread owns a range of features: their lists and counts are its own. */
static void offer_features(void *ctx, int64_t i0, int64_t i1)
{
	index_job *j = ctx;
	rs_sae_index *x = j->x;
	int n = j->s->n, T = j->a->T;
	int32_t buf[256];
	for (int64_t r = 0; r < j->rows; r++) {
		const float *fr = j->f + r * n;
		int64_t row = j->row0 + r, w = row / (T - 1);
		int64_t start = j->a->win_start[w], p = start + 1 + row % (T - 1);
		int built = 0;
		for (int64_t i = i0; i < i1; i++) {
			if (!(fr[i] > 0))
				continue;
			x->fired[i]++;
			if (!built) { /* the context, clipped to what the window holds */
				for (int c = 0; c < x->ctx; c++) {
					int64_t q = p - x->at + c;
					buf[c] = q >= start && q < start + T && q < j->n_ids ? j->ids[q] : -1;
				}
				built = 1;
			}
			sae_index_offer(x, (int)i, fr[i], buf, w);
		}
	}
}

rs_sae_index *sae_build_index(rs_sae *s, const sae_acts *a, const int32_t *ids, int64_t n_ids, int top, int ctx,
			      int at)
{
	if (ctx > 256)
		ctx = 256;
	rs_sae_index *x = sae_index_create(s->n, top, ctx, at);
	const int64_t chunk = 4096;
	float *f = rs_xmalloc(sizeof(float) * (size_t)chunk * s->n);
	index_job j = {s, a, ids, n_ids, x, f, 0, 0};
	for (int64_t r0 = 0; r0 < a->N; r0 += chunk) {
		j.row0 = r0;
		j.rows = a->N - r0 < chunk ? a->N - r0 : chunk;
		pool_for(j.rows, 64, encode_rows, &j);
		pool_for(s->n, 16, offer_features, &j);
	}
	x->vectors = a->N;
	s->meta.dead = 0;
	for (int i = 0; i < s->n; i++)
		s->meta.dead += x->fired[i] == 0;
	free(f);
	return x;
}
