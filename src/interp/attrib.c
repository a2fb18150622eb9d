/* attrib.c - attribution patching (Nanda 2023): the first-order estimate of
 * every activation patch from one forward and one backward pass.
 *
 * The gradient comes from the trainer's backward pass (train_backward_from):
 * the engine's weights are copied into a train_model in f32, with
 *  - Q/K rows in the Hugging Face (rotate-half) order the engine's hooks use
 *    (GGUF files keep them interleaved; the engine un-permutes after the
 *    matmul, the copy un-permutes the rows once),
 *  - the engine's RoPE frequencies (m->inv_freq, any scaling included),
 *  - tied embeddings (the trainer unembeds with tok_embd; an untied model is
 *    refused),
 * so the trainer's forward computes the engine's function (the same RMSNorm
 * kernel, RoPE kernel, GQA grouping h / (H/Hkv), causal softmax); the logits
 * are compared on every run (attrib_result.max_logit_diff). The metric's
 * gradient is put in as dlogits: +1 at the metric's token, −1 at the second. */
#include "config.h"
#include "circuits.h"
#include "ops.h"
#include "train.h"

#include <cJSON.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#define ATTRIB_MAX_PARAMS (64LL << 20) /* the copy holds params, grads and two moments */

static void qk_rows(const rs_model *m, const rs_mat *W, int64_t rows, float *dst)
{
	for (int64_t r = 0; r < rows; r++)
		mat_row(W, m->qk_interleaved ? rope_gguf_row(r, m->cfg.head_dim) : r, dst + r * W->cols);
}

static void all_rows(const rs_mat *W, float *dst)
{
	for (int64_t r = 0; r < W->rows; r++)
		mat_row(W, r, dst + r * W->cols);
}

/* The engine's model as the trainer's (see the top of the file). */
static train_model *copy_model(const rs_model *m, rs_err *err)
{
	rs_config c = m->cfg;
	if (!c.tied) {
		rs_fail(err, "attribution patching uses the trainer's backward pass, which needs tied embeddings; "
			     "this model has its own output matrix");
		return NULL;
	}
	int64_t np = config_param_count(&c);
	if (np > ATTRIB_MAX_PARAMS) {
		rs_fail(err, "attribution patching copies the model to f32 for the backward pass: %lld parameters "
			     "are more than the %lld it takes", (long long)np, (long long)ATTRIB_MAX_PARAMS);
		return NULL;
	}
	/* the trainer's config check wants plain RoPE; the engine's frequencies
	 * (scaled or not) are copied in below, so the kind does not matter */
	c.rope_kind = RS_ROPE_NONE;
	if (train_config_check(&c, err))
		return NULL;
	train_model *t = train_model_create(&c);
	int L = c.n_layers, d = c.d_model, qd = c.n_heads * c.head_dim, kvd = c.n_kv_heads * c.head_dim, ff = c.d_ff;
	all_rows(&m->tok_embd, t->p.tok_embd);
	memcpy(t->p.final_norm, m->final_norm, sizeof(float) * (size_t)d);
	for (int l = 0; l < L; l++) {
		const rs_layer *ly = &m->layers[l];
		memcpy(t->p.attn_norm + (size_t)l * d, ly->attn_norm, sizeof(float) * (size_t)d);
		memcpy(t->p.ffn_norm + (size_t)l * d, ly->ffn_norm, sizeof(float) * (size_t)d);
		qk_rows(m, &ly->wq, qd, t->p.wq + (size_t)l * qd * d);
		qk_rows(m, &ly->wk, kvd, t->p.wk + (size_t)l * kvd * d);
		all_rows(&ly->wv, t->p.wv + (size_t)l * kvd * d);
		all_rows(&ly->wo, t->p.wo + (size_t)l * d * qd);
		all_rows(&ly->w_gate, t->p.w_gate + (size_t)l * ff * d);
		all_rows(&ly->w_up, t->p.w_up + (size_t)l * ff * d);
		all_rows(&ly->w_down, t->p.w_down + (size_t)l * d * ff);
	}
	memcpy(t->inv_freq, m->inv_freq, sizeof(float) * (size_t)(c.head_dim / 2));
	return t;
}

/* The trainer's site for a hook kind, and the width of its rows. */
static int tap_site(int kind)
{
	switch (kind) {
	case HOOK_RESID_PRE: return TRAIN_TAP_RESID_PRE;
	case HOOK_RESID_MID: case HOOK_ATTN_OUT: return TRAIN_TAP_RESID_MID;
	case HOOK_RESID_POST: case HOOK_MLP_OUT: return TRAIN_TAP_RESID_POST;
	case HOOK_Z: return TRAIN_TAP_Z;
	case HOOK_LNF_OUT: return TRAIN_TAP_LNF_OUT;
	default: return -1;
	}
}

typedef struct collect {
	int site, width, N;
	float *out;  /* [layers or 1, N, width] */
} collect;

static void on_grad(void *ctx, int site, int layer, const float *grad)
{
	collect *c = ctx;
	if (site != c->site)
		return;
	size_t row = (size_t)c->N * c->width;
	memcpy(c->out + (layer < 0 ? 0 : (size_t)layer * row), grad, sizeof(float) * row);
}

/* ∂metric/∂(hook of this kind) at every layer of the run of ids: out
 * [layers (1 for ln_final), n, width]; *max_diff: the trainer's logits at
 * the metric's row against the engine's base run e. */
static int grads(const rs_model *m, const rs_engine *e, const int32_t *ids, int n, const interp_metric *mt, int kind,
		 float *out, float *max_diff, rs_err *err)
{
	const rs_config *c = &m->cfg;
	int site = tap_site(kind), V = c->vocab, p = interp_metric_pos(mt, n);
	if (site < 0)
		return rs_fail(err, "attribution patching: %s is not one of resid_pre, resid_mid, resid_post, attn_out, "
				    "mlp_out, z, ln_final.hook_out", hook_kind_name(kind));
	train_model *t = copy_model(m, err);
	if (!t)
		return -1;
	/* the trainer's loops on one thread with single-threaded BLAS (see
	 * train.h); the engine's thread count is put back after */
	int threads = op_threads();
	train_set_threads(1);
	train_acts *a = train_acts_create(&t->cfg, 1, n);
	train_forward(t, a, ids, NULL);
	const rs_act *lg = eng_act(e, (rs_hook){HOOK_LOGITS, -1});
	float md = 0;
	if (lg) {
		int rows = lg->shape[0];
		const float *row = lg->data + (size_t)(rows == n ? p : rows - 1) * V;
		for (int i = 0; i < V; i++)
			md = fmaxf(md, fabsf(row[i] - a->logits[(size_t)p * V + i]));
	}
	*max_diff = lg ? md : NAN;
	memset(a->logits, 0, sizeof(float) * (size_t)n * V);
	a->logits[(size_t)p * V + mt->tok] += 1.0f;
	if (mt->tok_b >= 0)
		a->logits[(size_t)p * V + mt->tok_b] -= 1.0f;
	collect col = {site, site == TRAIN_TAP_Z ? c->n_heads * c->head_dim : c->d_model, n, out};
	train_tap tap = {on_grad, &col, 1};
	train_backward_from(t, a, ids, &tap);
	train_acts_free(a);
	train_model_free(t);
	op_set_threads(threads);
	return 0;
}

int attrib_grad(const rs_model *m, const int32_t *ids, int n, const interp_metric *mt, rs_hook h, float *out,
		float *max_logit_diff, rs_err *err)
{
	const rs_config *c = &m->cfg;
	if (interp_metric_check(mt, m, n, err))
		return -1;
	rs_engine *e = eng_create(m, err);
	if (!e || eng_set_prompt(e, ids, n, err)) {
		eng_free(e);
		return -1;
	}
	eng_set_cache_filter(e, "logits");
	eng_run(e);
	int layers = h.kind == HOOK_LNF_OUT ? 1 : c->n_layers;
	int width = h.kind == HOOK_Z ? c->n_heads * c->head_dim : c->d_model;
	float *all = rs_xmalloc(sizeof(float) * (size_t)layers * n * width);
	int rc = grads(m, e, ids, n, mt, h.kind, all, max_logit_diff, err);
	if (!rc)
		memcpy(out, all + (h.kind == HOOK_LNF_OUT ? 0 : (size_t)h.layer * n * width),
		       sizeof(float) * (size_t)n * width);
	free(all);
	eng_free(e);
	return rc;
}

void attrib_free(attrib_result *r)
{
	if (!r)
		return;
	free(r->est);
	free(r->norm);
	free(r);
}

attrib_result *attrib_run(const rs_model *m, const int32_t *source, const int32_t *base, int n,
			  const interp_metric *mt, int kind, int heads, int pos, rs_err *err)
{
	const rs_config *c = &m->cfg;
	int L = c->n_layers, H = c->n_heads, hd = c->head_dim, d = c->d_model;
	if (interp_metric_check(mt, m, n, err))
		return NULL;
	if (tap_site(kind) < 0) {
		rs_fail(err, "attribution patching: %s is not one of resid_pre, resid_mid, resid_post, attn_out, mlp_out, "
			     "z, ln_final.hook_out", hook_kind_name(kind));
		return NULL;
	}
	if (heads && kind != HOOK_Z) {
		rs_fail(err, "attribution patching: --heads is for z (a head's output)");
		return NULL;
	}
	if (pos < -1 || pos >= n) {
		rs_fail(err, "attribution patching: position %d is outside the prompt (%d tokens)", pos, n);
		return NULL;
	}
	rs_engine *eb = eng_create(m, err), *es = eb ? eng_create(m, err) : NULL;
	attrib_result *r = NULL;
	float *g = NULL;
	if (!es || eng_set_prompt(eb, base, n, err) || eng_set_prompt(es, source, n, err))
		goto out;
	eng_run(eb);
	eng_run(es);
	r = rs_xcalloc(1, sizeof *r);
	r->site = kind;
	r->heads = heads;
	r->pos = pos;
	if (interp_metric_engine(eb, mt, &r->base, err) || interp_metric_engine(es, mt, &r->source, err))
		goto fail;
	int layers = kind == HOOK_LNF_OUT ? 1 : L, width = kind == HOOK_Z ? H * hd : d;
	g = rs_xmalloc(sizeof(float) * (size_t)layers * n * width);
	if (grads(m, eb, base, n, mt, kind, g, &r->max_logit_diff, err))
		goto fail;
	r->rows = layers;
	r->cols = heads ? H : n;
	r->est = rs_xcalloc((size_t)r->rows * r->cols, sizeof(float));
	r->norm = rs_xmalloc(sizeof(float) * (size_t)r->rows * r->cols);
	for (int l = 0; l < layers; l++) {
		rs_hook h = {kind, kind == HOOK_LNF_OUT ? -1 : l};
		const rs_act *ab = interp_need(eb, h.kind, h.layer, err), *as = interp_need(es, h.kind, h.layer, err);
		if (!ab || !as)
			goto fail;
		const float *gl = g + (size_t)l * n * width;
		for (int t = 0; t < n; t++) {
			if (heads && pos >= 0 && t != pos)
				continue;
			for (int i = 0; i < width; i++) {
				size_t at = (size_t)t * width + i;
				double v = ((double)as->data[at] - ab->data[at]) * gl[at];
				r->est[(size_t)l * r->cols + (heads ? i / hd : t)] += (float)v;
			}
		}
	}
	for (int i = 0; i < r->rows * r->cols; i++)
		r->norm[i] = r->source != r->base ? r->est[i] / (r->source - r->base) : NAN;
	goto out;
fail:
	attrib_free(r);
	r = NULL;
out:
	free(g);
	eng_free(eb);
	eng_free(es);
	return r;
}

double attrib_corr(const float *a, const float *b, int n)
{
	double sa = 0, sb = 0, saa = 0, sbb = 0, sab = 0;
	int k = 0;
	for (int i = 0; i < n; i++) {
		if (isnan(a[i]) || isnan(b[i]))
			continue;
		sa += a[i];
		sb += b[i];
		k++;
	}
	if (k < 2)
		return NAN;
	double ma = sa / k, mb = sb / k;
	for (int i = 0; i < n; i++) {
		if (isnan(a[i]) || isnan(b[i]))
			continue;
		saa += (a[i] - ma) * (a[i] - ma);
		sbb += (b[i] - mb) * (b[i] - mb);
		sab += (a[i] - ma) * (b[i] - mb);
	}
	return saa > 0 && sbb > 0 ? sab / sqrt(saa * sbb) : NAN;
}

cJSON *attrib_to_json(const attrib_result *r, const interp_metric *mt)
{
	cJSON *o = cJSON_CreateObject();
	cJSON_AddItemToObject(o, "metric", interp_metric_to_json(mt));
	cJSON_AddStringToObject(o, "hook", hook_kind_name(r->site));
	cJSON_AddStringToObject(o, "columns", r->heads ? "heads" : "positions");
	if (r->heads)
		cJSON_AddNumberToObject(o, "pos", r->pos);
	cJSON_AddNumberToObject(o, "base", r->base);
	cJSON_AddNumberToObject(o, "source", r->source);
	cJSON_AddNumberToObject(o, "max_logit_diff_trainer_vs_engine", r->max_logit_diff);
	cJSON_AddItemToObject(o, "estimate", interp_json_grid(r->est, r->rows, r->cols));
	cJSON_AddItemToObject(o, "normalised", interp_json_grid(r->norm, r->rows, r->cols));
	return o;
}
