/* dla.c - residual decomposition and direct logit attribution.
 *
 * The final residual stream is a sum: the embedding, every head's output and
 * every MLP's output (Llama has no biases). The final RMSNorm divides by a
 * per-position scale and multiplies by w_final; freezing the scale at its value
 * in the run (as TransformerLens does) makes the logit linear in the residual,
 * so each component's share of a logit is exact and the shares add up. */
#include "config.h"
#include "interp.h"

#include <cblas.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int dla_n_components(const rs_config *c)
{
	return 1 + c->n_layers * (c->n_heads + 1);
}

char *dla_component_name(const dla_component *c, char *buf, size_t n)
{
	if (c->kind == DLA_EMBED)
		snprintf(buf, n, "embed");
	else if (c->kind == DLA_HEAD)
		snprintf(buf, n, "L%dH%d", c->layer, c->head);
	else
		snprintf(buf, n, "L%d mlp", c->layer);
	return buf;
}

static double dot_d(const float *a, const double *b, int n)
{
	double s = 0;
	for (int i = 0; i < n; i++)
		s += a[i] * b[i];
	return s;
}

/* dir[d] = (W_U[tok] - W_U[tok_b]) ⊙ w_final: the metric read off the
 * normalised residual, before dividing by the scale. */
static void metric_direction(const rs_model *m, const interp_metric *mt, double *dir)
{
	int d = m->cfg.d_model;
	float *u = rs_xmalloc(sizeof(float) * (size_t)d * 2); /* [2, d] */
	mat_row(&m->output, mt->tok, u);
	if (mt->tok_b >= 0)
		mat_row(&m->output, mt->tok_b, u + d);
	for (int i = 0; i < d; i++)
		dir[i] = ((double)u[i] - (mt->tok_b >= 0 ? u[d + i] : 0.0)) * m->final_norm[i];
	free(u);
}

/* g[cols] = Wᵀ·dir for W [d, cols] (W_O or W_down): what each input
 * coordinate of the matrix contributes to the direction. */
static void read_back(const rs_mat *W, const double *dir, double *g)
{
	float *row = rs_xmalloc(sizeof(float) * (size_t)W->cols);
	memset(g, 0, sizeof(double) * (size_t)W->cols);
	for (int64_t r = 0; r < W->rows; r++) {
		mat_row(W, r, row);
		for (int64_t j = 0; j < W->cols; j++)
			g[j] += dir[r] * row[j];
	}
	free(row);
}

void dla_free(dla_result *r)
{
	if (!r)
		return;
	free(r->comp);
	free(r->order);
	free(r);
}

typedef struct val_idx { float v; int i; } val_idx;

static int by_value_desc(const void *a, const void *b)
{
	const val_idx *x = a, *y = b;
	if (x->v != y->v)
		return x->v < y->v ? 1 : -1;
	return x->i - y->i; /* ties in forward order, so the listing is stable */
}

dla_result *dla_run(const rs_engine *e, const interp_metric *mt, rs_err *err)
{
	const rs_model *m = eng_model(e);
	const rs_config *c = &m->cfg;
	int T = eng_n_tokens(e), d = c->d_model, H = c->n_heads, hd = c->head_dim;
	if (interp_metric_check(mt, m, T, err))
		return NULL;
	int p = interp_metric_pos(mt, T);
	const rs_act *sc = interp_need(e, HOOK_LNF_SCALE, -1, err);
	const rs_act *emb = sc ? interp_need(e, HOOK_EMBED, -1, err) : NULL;
	const rs_act *fin = emb ? interp_need(e, HOOK_RESID_POST, c->n_layers - 1, err) : NULL;
	float logit;
	if (!fin || interp_metric_engine(e, mt, &logit, err))
		return NULL;
	for (int l = 0; l < c->n_layers; l++)
		if (!interp_need(e, HOOK_Z, l, err) || !interp_need(e, HOOK_MLP_OUT, l, err))
			return NULL;
	dla_result *r = rs_xcalloc(1, sizeof *r);
	r->pos = p;
	r->tok = mt->tok;
	r->tok_b = mt->tok_b;
	r->scale = sc->data[p];
	r->logit = logit;
	r->n = dla_n_components(c);
	r->comp = rs_xmalloc(sizeof *r->comp * (size_t)r->n);
	double *dir = rs_xmalloc(sizeof(double) * (size_t)d);          /* [d] */
	double *g = rs_xmalloc(sizeof(double) * (size_t)H * hd);       /* [H*hd] W_Oᵀ·dir */
	metric_direction(m, mt, dir);
	double inv = 1.0 / r->scale, total = 0;
	int k = 0;
	r->comp[k++] = (dla_component){DLA_EMBED, -1, -1, (float)(dot_d(emb->data + (size_t)p * d, dir, d) * inv)};
	for (int l = 0; l < c->n_layers; l++) {
		const float *z = eng_act(e, (rs_hook){HOOK_Z, l})->data + (size_t)p * H * hd; /* [H, hd] */
		const float *mo = eng_act(e, (rs_hook){HOOK_MLP_OUT, l})->data + (size_t)p * d;
		read_back(&m->layers[l].wo, dir, g);
		for (int h = 0; h < H; h++) {
			double s = 0;
			for (int i = 0; i < hd; i++)
				s += (double)z[h * hd + i] * g[h * hd + i];
			r->comp[k++] = (dla_component){DLA_HEAD, l, h, (float)(s * inv)};
		}
		r->comp[k++] = (dla_component){DLA_MLP, l, -1, (float)(dot_d(mo, dir, d) * inv)};
	}
	val_idx *vi = rs_xmalloc(sizeof *vi * (size_t)r->n);
	for (int i = 0; i < r->n; i++) {
		total += r->comp[i].value;
		vi[i] = (val_idx){r->comp[i].value, i};
	}
	qsort(vi, (size_t)r->n, sizeof *vi, by_value_desc);
	r->order = rs_xmalloc(sizeof(int) * (size_t)r->n);
	for (int i = 0; i < r->n; i++)
		r->order[i] = vi[i].i;
	r->total = (float)total;
	r->remainder = (float)(dot_d(fin->data + (size_t)p * d, dir, d) * inv - total);
	free(vi);
	free(dir);
	free(g);
	return r;
}

int interp_head_outputs(const rs_engine *e, int layer, int pos, float *out, rs_err *err)
{
	const rs_model *m = eng_model(e);
	const rs_config *c = &m->cfg;
	int T = eng_n_tokens(e), d = c->d_model, H = c->n_heads, hd = c->head_dim, qd = H * hd;
	if (layer < 0 || layer >= c->n_layers)
		return rs_fail(err, "head outputs: layer %d does not exist (0..%d)", layer, c->n_layers - 1);
	if (pos < -1 || pos >= T)
		return rs_fail(err, "head outputs: position %d is outside the prompt (%d tokens)", pos, T);
	const rs_act *za = interp_need(e, HOOK_Z, layer, err);
	if (!za)
		return -1;
	int n = pos < 0 ? T : 1;
	const float *z = za->data + (size_t)(pos < 0 ? 0 : pos) * qd; /* [n, H, hd] */
	const rs_mat *wo = &m->layers[layer].wo;                       /* [d, H*hd] */
	float *W = rs_xmalloc(sizeof(float) * (size_t)d * qd);
	for (int r = 0; r < d; r++)
		mat_row(wo, r, W + (size_t)r * qd);
	for (int h = 0; h < H; h++)
		/* out_h[n, d] = z_h[n, hd] · W[:, h*hd : (h+1)*hd]ᵀ */
		cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, n, d, hd, 1.0f, z + h * hd, qd, W + h * hd, qd, 0.0f,
			    out + (size_t)h * n * d, d);
	free(W);
	return 0;
}

int dla_decompose(const rs_engine *e, int pos, float *out, rs_err *err)
{
	const rs_config *c = &eng_model(e)->cfg;
	int T = eng_n_tokens(e), d = c->d_model, H = c->n_heads;
	if (pos < 0 || pos >= T)
		return rs_fail(err, "decomposition: position %d is outside the prompt (%d tokens)", pos, T);
	const rs_act *emb = interp_need(e, HOOK_EMBED, -1, err);
	if (!emb)
		return -1;
	memcpy(out, emb->data + (size_t)pos * d, sizeof(float) * (size_t)d);
	float *o = out + d;
	for (int l = 0; l < c->n_layers; l++) {
		const rs_act *mo = interp_need(e, HOOK_MLP_OUT, l, err);
		if (!mo || interp_head_outputs(e, l, pos, o, err))
			return -1;
		o += (size_t)H * d;
		memcpy(o, mo->data + (size_t)pos * d, sizeof(float) * (size_t)d);
		o += d;
	}
	return 0;
}

int dla_neurons(const rs_engine *e, const interp_metric *mt, int layer, float *out, rs_err *err)
{
	const rs_model *m = eng_model(e);
	const rs_config *c = &m->cfg;
	int T = eng_n_tokens(e), ff = c->d_ff;
	if (interp_metric_check(mt, m, T, err))
		return -1;
	if (layer < 0 || layer >= c->n_layers)
		return rs_fail(err, "neuron attribution: layer %d does not exist (0..%d)", layer, c->n_layers - 1);
	int p = interp_metric_pos(mt, T);
	const rs_act *post = interp_need(e, HOOK_MLP_POST, layer, err);
	const rs_act *sc = post ? interp_need(e, HOOK_LNF_SCALE, -1, err) : NULL;
	if (!sc)
		return -1;
	double *dir = rs_xmalloc(sizeof(double) * (size_t)c->d_model); /* [d] */
	double *g = rs_xmalloc(sizeof(double) * (size_t)ff);           /* [ff] W_downᵀ·dir */
	metric_direction(m, mt, dir);
	read_back(&m->layers[layer].w_down, dir, g);
	for (int i = 0; i < ff; i++)
		out[i] = (float)(post->data[(size_t)p * ff + i] * g[i] / sc->data[p]);
	free(dir);
	free(g);
	return 0;
}
