/* sae_train.c - the SAE's optimisation: Adam on the mean squared
 * reconstruction error (plus L1 for relu), unit-norm decoder rows.
 *
 * One update over a batch xb (B, d) (sae.h has the forward maths):
 *   e = x̂ − x;  loss = Σ‖e‖² / B  (+ l1·Σf / B for relu)
 *   dx̂ = 2e/B;  dW_dec = fᵀ dx̂;  df = dx̂ W_decᵀ;  dpre = df ⊙ [f > 0] (+ l1/B)
 *   dW_enc = dpreᵀ (x − b_dec);  db_enc = Σ dpre;  db_dec = Σ dx̂ − Σ dpre W_enc
 * Each decoder row's gradient loses its component along the row before the
 * update and the row is scaled back to unit norm after it (Bricken et al.
 * 2023), so f_i is the length of feature i's part of x̂. */
#include "config.h"
#include "sae_train.h"
#include "corpus.h"
#include "pool.h"

#include <cblas.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

/* ---------------------------------------------------------------- products over the pool */

/* C (M, N) = alpha·op(A) · op(B) + beta·C, row-major; each thread takes a
 * block of C's rows with a single-threaded BLAS call, so a row's bits do not
 * depend on the thread count. */
typedef struct gemm_job {
	int ta, tb, M, N, K, lda, ldb, ldc;
	const float *A, *B;
	float *C;
	float beta;
} gemm_job;

static void gemm_rows(void *ctx, int64_t r0, int64_t r1)
{
	const gemm_job *j = ctx;
	const float *A = j->ta ? j->A + r0 : j->A + r0 * j->lda;
	cblas_sgemm(CblasRowMajor, j->ta ? CblasTrans : CblasNoTrans, j->tb ? CblasTrans : CblasNoTrans, (int)(r1 - r0),
		    j->N, j->K, 1.0f, A, j->lda, j->B, j->ldb, j->beta, j->C + r0 * j->ldc, j->ldc);
}

static void pgemm(int ta, int tb, int M, int N, int K, const float *A, int lda, const float *B, int ldb, float beta,
		  float *C, int ldc)
{
	gemm_job j = {ta, tb, M, N, K, lda, ldb, ldc, A, B, C, beta};
	pool_for(M, 64, gemm_rows, &j);
}

/* ---------------------------------------------------------------- one update */

typedef struct sae_grads {
	float *w_enc, *b_enc, *w_dec, *b_dec;
} sae_grads;

typedef struct step_buf {
	float *xb, *xc, *f, *xhat, *dxhat, *df, *dxc; /* (B, d) or (B, n) */
	sae_grads g, m, v;                            /* gradients, Adam moments */
} step_buf;

typedef struct act_job {
	const rs_sae *s;
	float *f;
} act_job;

static void act_rows(void *ctx, int64_t r0, int64_t r1)
{
	const act_job *j = ctx;
	sae_activate(j->s, j->f + r0 * j->s->n, r1 - r0);
}

/* Column sums: out[c] (+)= sign·Σ_r a[r, c], columns split over the pool,
 * the rows summed in order. */
typedef struct colsum_job {
	const float *a;
	float *out;
	int rows, cols;
	float sign;
} colsum_job;

static void colsum_cols(void *ctx, int64_t c0, int64_t c1)
{
	const colsum_job *j = ctx;
	for (int64_t c = c0; c < c1; c++) {
		double acc = 0;
		for (int r = 0; r < j->rows; r++)
			acc += j->a[(int64_t)r * j->cols + c];
		j->out[c] += j->sign * (float)acc;
	}
}

static void colsum(const float *a, int rows, int cols, float sign, float *out)
{
	colsum_job j = {a, out, rows, cols, sign};
	pool_for(cols, 256, colsum_cols, &j);
}

/* Adam on one tensor, elements split over the pool. */
typedef struct adam_job {
	float *p, *g, *m, *v;
	float lr, b1, b2, eps, c1, c2;
} adam_job;

static void adam_elems(void *ctx, int64_t i0, int64_t i1)
{
	const adam_job *j = ctx;
	for (int64_t i = i0; i < i1; i++) {
		j->m[i] = j->b1 * j->m[i] + (1 - j->b1) * j->g[i];
		j->v[i] = j->b2 * j->v[i] + (1 - j->b2) * j->g[i] * j->g[i];
		j->p[i] -= j->lr * (j->m[i] / j->c1) / (sqrtf(j->v[i] / j->c2) + j->eps);
	}
}

static void adam(float *p, float *g, float *m, float *v, int64_t n, float lr, int64_t t)
{
	adam_job j = {p, g, m, v, lr, 0.9f, 0.999f, 1e-8f, 0, 0};
	j.c1 = 1 - powf(j.b1, (float)t);
	j.c2 = 1 - powf(j.b2, (float)t);
	pool_for(n, 4096, adam_elems, &j);
}

/* Decoder rows: the gradient's part along the row removed (before), the row
 * scaled to unit norm (after). */
static void dec_project(float *g, const float *w, int n, int d)
{
	for (int i = 0; i < n; i++) {
		double dot = 0;
		for (int j = 0; j < d; j++)
			dot += (double)g[(int64_t)i * d + j] * w[(int64_t)i * d + j];
		for (int j = 0; j < d; j++)
			g[(int64_t)i * d + j] -= (float)dot * w[(int64_t)i * d + j];
	}
}

static void dec_normalise(float *w, int n, int d)
{
	for (int i = 0; i < n; i++) {
		double ss = 0;
		for (int j = 0; j < d; j++)
			ss += (double)w[(int64_t)i * d + j] * w[(int64_t)i * d + j];
		float inv = ss > 0 ? (float)(1 / sqrt(ss)) : 0;
		for (int j = 0; j < d; j++)
			w[(int64_t)i * d + j] *= inv;
	}
}

/* One update on xb (B, d) already in b->xb; returns the batch's mean
 * squared error, *l0 its mean active features. */
static double sae_step(rs_sae *s, step_buf *b, int B, float l1, float lr, int64_t t, double *l0)
{
	int d = s->d, n = s->n;
	for (int64_t r = 0; r < B; r++)
		for (int j = 0; j < d; j++)
			b->xc[r * d + j] = b->xb[r * d + j] - s->b_dec[j];
	for (int64_t r = 0; r < B; r++)
		memcpy(b->f + r * n, s->b_enc, sizeof(float) * (size_t)n);
	pgemm(0, 1, B, n, d, b->xc, d, s->w_enc, d, 1, b->f, n); /* pre = xc W_encᵀ + b_enc */
	act_job aj = {s, b->f};
	pool_for(B, 16, act_rows, &aj);
	for (int64_t r = 0; r < B; r++)
		memcpy(b->xhat + r * d, s->b_dec, sizeof(float) * (size_t)d);
	pgemm(0, 0, B, d, n, b->f, n, s->w_dec, d, 1, b->xhat, d); /* x̂ = f W_dec + b_dec */
	double mse = 0;
	for (int64_t i = 0; i < (int64_t)B * d; i++) {
		float e = b->xhat[i] - b->xb[i];
		mse += (double)e * e;
		b->dxhat[i] = 2 * e / B;
	}
	int64_t active = 0;
	for (int64_t i = 0; i < (int64_t)B * n; i++)
		active += b->f[i] > 0;
	*l0 = (double)active / B;
	pgemm(1, 0, n, d, B, b->f, n, b->dxhat, d, 0, b->g.w_dec, d); /* dW_dec = fᵀ dx̂ */
	pgemm(0, 1, B, n, d, b->dxhat, d, s->w_dec, d, 0, b->df, n);  /* df = dx̂ W_decᵀ */
	for (int64_t i = 0; i < (int64_t)B * n; i++)
		b->df[i] = b->f[i] > 0 ? b->df[i] + l1 / B : 0; /* now dpre */
	pgemm(1, 0, n, d, B, b->df, n, b->xc, d, 0, b->g.w_enc, d); /* dW_enc = dpreᵀ xc */
	pgemm(0, 0, B, d, n, b->df, n, s->w_enc, d, 0, b->dxc, d);  /* dxc = dpre W_enc */
	memset(b->g.b_enc, 0, sizeof(float) * (size_t)n);
	memset(b->g.b_dec, 0, sizeof(float) * (size_t)d);
	colsum(b->df, B, n, 1, b->g.b_enc);
	colsum(b->dxhat, B, d, 1, b->g.b_dec);
	colsum(b->dxc, B, d, -1, b->g.b_dec);
	dec_project(b->g.w_dec, s->w_dec, n, d);
	adam(s->w_enc, b->g.w_enc, b->m.w_enc, b->v.w_enc, (int64_t)n * d, lr, t);
	adam(s->b_enc, b->g.b_enc, b->m.b_enc, b->v.b_enc, n, lr, t);
	adam(s->w_dec, b->g.w_dec, b->m.w_dec, b->v.w_dec, (int64_t)n * d, lr, t);
	adam(s->b_dec, b->g.b_dec, b->m.b_dec, b->v.b_dec, d, lr, t);
	dec_normalise(s->w_dec, n, d);
	return mse / B;
}

/* ---------------------------------------------------------------- the loop */

static void grads_alloc(sae_grads *g, int n, int d)
{
	g->w_enc = rs_xcalloc((size_t)n * d, sizeof(float));
	g->b_enc = rs_xcalloc((size_t)n, sizeof(float));
	g->w_dec = rs_xcalloc((size_t)n * d, sizeof(float));
	g->b_dec = rs_xcalloc((size_t)d, sizeof(float));
}

static void grads_free(sae_grads *g)
{
	free(g->w_enc), free(g->b_enc), free(g->w_dec), free(g->b_dec);
}

/* A standard normal from two uniforms (Box-Muller). */
static double normal(corpus_rng *r)
{
	double u1 = ((double)(corpus_rng_next(r) >> 11) + 1) / 9007199254740993.0;
	double u2 = (double)(corpus_rng_next(r) >> 11) / 9007199254740992.0;
	return sqrt(-2 * log(u1)) * cos(6.283185307179586 * u2);
}

static float lr_at(const sae_train_opts *o, int64_t step)
{
	if (step < o->warmup)
		return o->lr * (float)(step + 1) / (float)o->warmup;
	int64_t decay_from = o->steps - o->steps / 5;
	if (step >= decay_from)
		return o->lr * (float)(o->steps - step) / (float)(o->steps - decay_from);
	return o->lr;
}

void sae_train(rs_sae *s, const float *x, int64_t N, const sae_train_opts *o, sae_train_log log, void *ctx,
	       double *first, double *last)
{
	int d = s->d, n = s->n, B = o->batch;
	/* BLAS runs inside the pool's threads (pgemm): one thread each, as the
	 * engine's kernels leave it, or the two sets of threads fight over the cores */
	openblas_set_num_threads(1);
	corpus_rng r;
	corpus_rng_seed(&r, o->seed, 0x5ae);
	/* init: unit random decoder rows, encoder rows the same, b_dec the mean */
	for (int64_t i = 0; i < (int64_t)n * d; i++)
		s->w_dec[i] = (float)normal(&r);
	dec_normalise(s->w_dec, n, d);
	memcpy(s->w_enc, s->w_dec, sizeof(float) * (size_t)n * d);
	memset(s->b_enc, 0, sizeof(float) * (size_t)n);
	for (int j = 0; j < d; j++) {
		double acc = 0;
		for (int64_t i = 0; i < N; i++)
			acc += x[i * d + j];
		s->b_dec[j] = (float)(acc / (double)N);
	}
	step_buf b = {0};
	b.xb = rs_xmalloc(sizeof(float) * (size_t)B * d);
	b.xc = rs_xmalloc(sizeof(float) * (size_t)B * d);
	b.xhat = rs_xmalloc(sizeof(float) * (size_t)B * d);
	b.dxhat = rs_xmalloc(sizeof(float) * (size_t)B * d);
	b.dxc = rs_xmalloc(sizeof(float) * (size_t)B * d);
	b.f = rs_xmalloc(sizeof(float) * (size_t)B * n);
	b.df = rs_xmalloc(sizeof(float) * (size_t)B * n);
	grads_alloc(&b.g, n, d), grads_alloc(&b.m, n, d), grads_alloc(&b.v, n, d);
	int64_t *perm = rs_xmalloc(sizeof(int64_t) * (size_t)N);
	int64_t next = N; /* position in the current permutation */
	double win = 0, win_l0 = 0;
	int win_n = 0, logged = 0;
	*first = *last = 0;
	for (int64_t step = 0; step < o->steps; step++) {
		for (int i = 0; i < B; i++) {
			if (next == N) { /* a new epoch: a fresh shuffle (Fisher-Yates) */
				for (int64_t j = 0; j < N; j++)
					perm[j] = j;
				for (int64_t j = N - 1; j > 0; j--) {
					int64_t k = (int64_t)(corpus_rng_next(&r) % (uint64_t)(j + 1));
					int64_t t = perm[j];
					perm[j] = perm[k], perm[k] = t;
				}
				next = 0;
			}
			memcpy(b.xb + (int64_t)i * d, x + perm[next++] * d, sizeof(float) * (size_t)d);
		}
		double l0;
		double mse = sae_step(s, &b, B, s->type == SAE_RELU ? o->l1 : 0, lr_at(o, step), step + 1, &l0);
		win += mse, win_l0 += l0, win_n++;
		int every = o->log_every > 0 ? o->log_every : 100;
		if (win_n == every || step == o->steps - 1) {
			if (!logged++)
				*first = win / win_n;
			*last = win / win_n;
			if (log && o->log_every > 0)
				log(ctx, step + 1, win / win_n, win_l0 / win_n);
			win = win_l0 = 0, win_n = 0;
		}
	}
	free(perm);
	free(b.xb), free(b.xc), free(b.xhat), free(b.dxhat), free(b.dxc), free(b.f), free(b.df);
	grads_free(&b.g), grads_free(&b.m), grads_free(&b.v);
}
