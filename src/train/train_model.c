/* train_model.c - parameter layout of the trained model, initialization, threads. */
#include "config.h"
#include "train.h"

#include <cblas.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pool.h"

/* ---------------------------------------------------------------- threads */

static int n_threads = 1;

void train_set_threads(int n)
{
	/* at most the pool's threads (the program sets the pool's count before it
	 * starts: pool_set_threads) */
	n_threads = n < 1 ? 1 : n;
	if (n_threads > pool_threads())
		n_threads = pool_threads();
	/* BLAS runs inside our parallel loops: one thread each, or two thread
	 * systems fight over the cores. */
	openblas_set_num_threads(1);
}

int train_threads(void) { return n_threads; }

typedef struct par_job {
	void (*fn)(void *ctx, int id, int nt);
	void *ctx;
	int nt;
} par_job;

static void par_part(void *ctx, int64_t begin, int64_t end)
{
	const par_job *j = ctx;
	for (int64_t id = begin; id < end; id++)
		j->fn(j->ctx, (int)id, j->nt);
}

void train_parallel(void (*fn)(void *ctx, int id, int nt), void *ctx)
{
	par_job j = {fn, ctx, n_threads};
	pool_for(n_threads, 1, par_part, &j); /* one id per pool thread */
}

/* ---------------------------------------------------------------- config */

rs_config train_config_make(int layers, int d_model, int heads, int kv_heads, int d_ff, int vocab, int ctx)
{
	rs_config c;
	memset(&c, 0, sizeof c);
	c.n_layers = layers;
	c.d_model = d_model;
	c.n_heads = heads;
	c.n_kv_heads = kv_heads;
	c.head_dim = heads > 0 ? d_model / heads : 0;
	c.d_ff = d_ff;
	c.vocab = vocab;
	c.max_ctx = ctx;
	c.rms_eps = 1e-5f;
	c.rope_theta = 10000.0f;
	c.rope_kind = RS_ROPE_NONE;
	c.tied = 1;
	c.bos_id = c.eos_id = -1;
	snprintf(c.name, sizeof c.name, "residual-train");
	return c;
}

int train_config_check(const rs_config *c, rs_err *err)
{
	if (config_validate(c, "training config", err))
		return -1;
	if (!c->tied)
		return rs_fail(err, "training config: the trainer makes tied embeddings only");
	if (c->rope_kind != RS_ROPE_NONE)
		return rs_fail(err, "training config: RoPE scaling is not supported when training");
	if (c->max_ctx < 2)
		return rs_fail(err, "training config: context %d is too short", c->max_ctx);
	if ((int64_t)c->vocab * c->d_model > (INT64_C(1) << 31))
		return rs_fail(err, "training config: the embedding is too large");
	return 0;
}

/* ---------------------------------------------------------------- layout */

static void point(train_params *p, float *base, const train_tensor *t)
{
	float **slot[TRAIN_N_TENSORS] = {&p->tok_embd, &p->attn_norm, &p->wq, &p->wk, &p->wv, &p->wo,
					 &p->ffn_norm, &p->w_gate, &p->w_up, &p->w_down, &p->final_norm};
	for (int i = 0; i < TRAIN_N_TENSORS; i++) {
		*slot[i] = base;
		base += t[i].numel;
	}
}

train_model *train_model_create(const rs_config *c)
{
	train_model *m = rs_xcalloc(1, sizeof *m);
	m->cfg = *c;
	int64_t L = c->n_layers, d = c->d_model, qd = (int64_t)c->n_heads * c->head_dim,
		kvd = (int64_t)c->n_kv_heads * c->head_dim, ff = c->d_ff;
	const train_tensor t[TRAIN_N_TENSORS] = {
		{"tok_embd", (int64_t)c->vocab * d, 0, 1},
		{"attn_norm", L * d, 1, 0},
		{"wq", L * qd * d, 1, 1},
		{"wk", L * kvd * d, 1, 1},
		{"wv", L * kvd * d, 1, 1},
		{"wo", L * d * qd, 1, 1},
		{"ffn_norm", L * d, 1, 0},
		{"w_gate", L * ff * d, 1, 1},
		{"w_up", L * ff * d, 1, 1},
		{"w_down", L * d * ff, 1, 1},
		{"final_norm", d, 0, 0},
	};
	memcpy(m->tensors, t, sizeof t);
	for (int i = 0; i < TRAIN_N_TENSORS; i++)
		m->n_params += t[i].numel;
	size_t bytes = sizeof(float) * (size_t)m->n_params;
	m->params = rs_xcalloc(1, bytes);
	m->grads = rs_xcalloc(1, bytes);
	m->adam_m = rs_xcalloc(1, bytes);
	m->adam_v = rs_xcalloc(1, bytes);
	point(&m->p, m->params, m->tensors);
	point(&m->g, m->grads, m->tensors);
	m->inv_freq = rs_xmalloc(sizeof(float) * (size_t)(c->head_dim / 2));
	config_rope_inv_freq(c, m->inv_freq);
	return m;
}

void train_model_free(train_model *m)
{
	if (!m)
		return;
	free(m->params);
	free(m->grads);
	free(m->adam_m);
	free(m->adam_v);
	free(m->inv_freq);
	free(m);
}

float *train_tensor_data(train_model *m, int i, int grads)
{
	float *p = grads ? m->grads : m->params;
	for (int j = 0; j < i; j++)
		p += m->tensors[j].numel;
	return p;
}

void train_zero_grads(train_model *m)
{
	memset(m->grads, 0, sizeof(float) * (size_t)m->n_params);
}

/* ---------------------------------------------------------------- init */

/* splitmix64, then Box-Muller in double: the same numbers on every machine
 * that rounds like IEEE 754 (no libm differences worth speaking of at f32). */
static uint64_t mix(uint64_t *s)
{
	uint64_t z = (*s += 0x9e3779b97f4a7c15ull);
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
	return z ^ (z >> 31);
}

static double uniform01(uint64_t *s)
{
	return ((double)(mix(s) >> 11) + 0.5) * (1.0 / 9007199254740992.0);
}

static void fill_normal(float *x, int64_t n, double std, uint64_t *s)
{
	for (int64_t i = 0; i < n; i += 2) {
		double u1 = uniform01(s), u2 = uniform01(s);
		double r = sqrt(-2.0 * log(u1)) * std;
		x[i] = (float)(r * cos(2 * M_PI * u2));
		if (i + 1 < n)
			x[i + 1] = (float)(r * sin(2 * M_PI * u2));
	}
}

void train_model_init(train_model *m, uint64_t seed)
{
	const double std = 0.02, resid_std = 0.02 / sqrt(2.0 * m->cfg.n_layers);
	for (int i = 0; i < TRAIN_N_TENSORS; i++) {
		float *p = train_tensor_data(m, i, 0);
		const train_tensor *t = &m->tensors[i];
		uint64_t s = seed * 0x100000001b3ull + (uint64_t)i * 0x9e3779b97f4a7c15ull;
		if (!t->decay) { /* norm weights */
			for (int64_t j = 0; j < t->numel; j++)
				p[j] = 1.0f;
		} else {
			/* wo and w_down write into the residual stream once per layer:
			 * smaller, so that its variance does not grow with depth */
			int resid_out = !strcmp(t->name, "wo") || !strcmp(t->name, "w_down");
			fill_normal(p, t->numel, resid_out ? resid_std : std, &s);
		}
	}
	memset(m->adam_m, 0, sizeof(float) * (size_t)m->n_params);
	memset(m->adam_v, 0, sizeof(float) * (size_t)m->n_params);
	train_zero_grads(m);
}
