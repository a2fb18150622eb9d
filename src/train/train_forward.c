/* train_forward.c - the batched training forward pass, keeping its activations. */
#include "config.h"
#include "train.h"

#include <stdlib.h>
#include <string.h>

train_acts *train_acts_create(const rs_config *c, int B, int T)
{
	train_acts *a = rs_xcalloc(1, sizeof *a);
	size_t L = (size_t)c->n_layers, N = (size_t)B * T, d = (size_t)c->d_model;
	size_t qd = (size_t)c->n_heads * c->head_dim, kvd = (size_t)c->n_kv_heads * c->head_dim;
	size_t ff = (size_t)c->d_ff, V = (size_t)c->vocab;
	a->B = B;
	a->T = T;
	a->N = (int)N;
#define ALLOC(field, n) (a->field = rs_xcalloc((n), sizeof(float)))
	ALLOC(resid, (L + 1) * N * d);
	ALLOC(rms1, L * N);
	ALLOC(xn1, L * N * d);
	ALLOC(q, L * N * qd);
	ALLOC(k, L * N * kvd);
	ALLOC(v, L * N * kvd);
	ALLOC(att, L * (size_t)B * c->n_heads * T * T);
	ALLOC(z, L * N * qd);
	ALLOC(resid_mid, L * N * d);
	ALLOC(rms2, L * N);
	ALLOC(xn2, L * N * d);
	ALLOC(gate, L * N * ff);
	ALLOC(up, L * N * ff);
	ALLOC(post, L * N * ff);
	ALLOC(rmsf, N);
	ALLOC(xnf, N * d);
	ALLOC(logits, N * V);
	ALLOC(lse, N);
	ALLOC(losses, N);
	ALLOC(d_resid, N * d);
	ALLOC(d_xn, N * d);
	ALLOC(d_q, N * qd);
	ALLOC(d_k, N * kvd);
	ALLOC(d_v, N * kvd);
	ALLOC(d_gate, N * ff);
	ALLOC(d_up, N * ff);
	ALLOC(d_post, N * ff);
	a->d_att_threads = train_threads();
	ALLOC(d_att, (size_t)a->d_att_threads * T * T);
#undef ALLOC
	return a;
}

void train_acts_free(train_acts *a)
{
	if (!a)
		return;
	float *bufs[] = {a->resid, a->rms1, a->xn1, a->q, a->k, a->v, a->att, a->z, a->resid_mid, a->rms2,
			 a->xn2, a->gate, a->up, a->post, a->rmsf, a->xnf, a->logits, a->lse, a->losses,
			 a->d_resid, a->d_xn, a->d_q, a->d_k, a->d_v, a->d_gate, a->d_up, a->d_post, a->d_att};
	for (size_t i = 0; i < sizeof bufs / sizeof *bufs; i++)
		free(bufs[i]);
	free(a);
}

typedef struct add_job {
	float *dst;
	const float *src;
	int64_t n;
} add_job;

static void add_part(void *ctx, int id, int nt)
{
	const add_job *a = ctx;
	for (int64_t i = a->n * id / nt; i < a->n * (id + 1) / nt; i++)
		a->dst[i] += a->src[i];
}

static void add_into(float *dst, const float *src, int64_t n)
{
	add_job a = {dst, src, n};
	train_parallel(add_part, &a);
}

float train_forward(train_model *m, train_acts *a, const int32_t *tokens, const int32_t *targets)
{
	const rs_config *c = &m->cfg;
	const train_params *p = &m->p;
	int B = a->B, T = a->T, N = a->N, d = c->d_model, H = c->n_heads, Hkv = c->n_kv_heads, hd = c->head_dim;
	int qd = H * hd, kvd = Hkv * hd, ff = c->d_ff, V = c->vocab;
	size_t Nd = (size_t)N * d;

	for (int t = 0; t < N; t++) /* hook_embed */
		memcpy(a->resid + (size_t)t * d, p->tok_embd + (size_t)tokens[t] * d, sizeof(float) * (size_t)d);

	for (int l = 0; l < c->n_layers; l++) {
		float *x = a->resid + l * Nd;
		float *xn1 = a->xn1 + l * Nd, *q = a->q + (size_t)l * N * qd, *k = a->k + (size_t)l * N * kvd;
		float *v = a->v + (size_t)l * N * kvd, *z = a->z + (size_t)l * N * qd;
		float *mid = a->resid_mid + l * Nd, *xn2 = a->xn2 + l * Nd;
		float *gate = a->gate + (size_t)l * N * ff, *up = a->up + (size_t)l * N * ff;
		float *post = a->post + (size_t)l * N * ff;
		float *att = a->att + (size_t)l * B * H * T * T;
		/* attention sublayer */
		train_rmsnorm_fwd(xn1, a->rms1 + (size_t)l * N, x, p->attn_norm + (size_t)l * d, N, d, c->rms_eps);
		train_linear_fwd(q, xn1, p->wq + (size_t)l * qd * d, N, d, qd);
		train_linear_fwd(k, xn1, p->wk + (size_t)l * kvd * d, N, d, kvd);
		train_linear_fwd(v, xn1, p->wv + (size_t)l * kvd * d, N, d, kvd);
		train_rope_fwd(q, B, T, H, hd, m->inv_freq);
		train_rope_fwd(k, B, T, Hkv, hd, m->inv_freq);
		train_attention_fwd(z, att, q, k, v, B, T, H, Hkv, hd);
		train_linear_fwd(mid, z, p->wo + (size_t)l * d * qd, N, qd, d);
		add_into(mid, x, (int64_t)Nd);
		/* MLP sublayer */
		train_rmsnorm_fwd(xn2, a->rms2 + (size_t)l * N, mid, p->ffn_norm + (size_t)l * d, N, d, c->rms_eps);
		train_linear_fwd(gate, xn2, p->w_gate + (size_t)l * ff * d, N, d, ff);
		train_linear_fwd(up, xn2, p->w_up + (size_t)l * ff * d, N, d, ff);
		train_swiglu_fwd(post, gate, up, (int64_t)N * ff);
		float *next = a->resid + (l + 1) * Nd;
		train_linear_fwd(next, post, p->w_down + (size_t)l * d * ff, N, ff, d);
		add_into(next, mid, (int64_t)Nd);
	}

	float *xf = a->resid + (size_t)c->n_layers * Nd;
	train_rmsnorm_fwd(a->xnf, a->rmsf, xf, p->final_norm, N, d, c->rms_eps);
	train_linear_fwd(a->logits, a->xnf, p->tok_embd, N, d, V); /* tied unembedding */
	a->n_targets = train_xent_fwd(a->losses, a->lse, a->logits, targets, N, V);
	if (!targets || !a->n_targets)
		return 0.0f;
	double sum = 0;
	for (int t = 0; t < N; t++)
		sum += a->losses[t];
	return (float)(sum / a->n_targets);
}
