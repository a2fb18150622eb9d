/* train_layers.c - forward and backward of each layer type, batched over rows.
 *
 * Parallel loops (train_parallel, on core's pool) give each thread a fixed,
 * contiguous slice of the output (rows of y, of dx, of dW) and call
 * single-threaded BLAS on it; nothing is summed across threads, so the bits
 * depend only on the thread count.
 */
#include "config.h"
#include "train.h"
#include "ops.h"

#include <cblas.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

/* Thread id's slice [*r0, *r1) of n rows among nt, in multiples of 8 (keeps
 * BLAS panels whole where it can). */
static void slice(int n, int id, int nt, int *r0, int *r1)
{
	int per = (n + nt - 1) / nt;
	per = (per + 7) & ~7;
	*r0 = id * per < n ? id * per : n;
	*r1 = *r0 + per < n ? *r0 + per : n;
}

/* Thread id's even share [*b, *e) of n loop iterations among nt. */
static void span(int64_t n, int id, int nt, int64_t *b, int64_t *e)
{
	*b = n * id / nt;
	*e = n * (id + 1) / nt;
}

/* The arguments of a layer kernel, for its part on each thread. */
typedef struct layer_job {
	float *y, *y2, *dw;
	const float *x, *x2, *x3, *x4, *w;
	int n, in, out, B, T, H, Hkv, hd, accumulate;
	int64_t numel;
	float eps, scale;
	const float *freq;
	const int32_t *targets;
	int count[64]; /* per thread, summed in order after */
} layer_job;

/* ---------------------------------------------------------------- linear */

static void linear_fwd_part(void *ctx, int id, int nt)
{
	const layer_job *j = ctx;
	int r0, r1, in = j->in, out = j->out;
	slice(j->n, id, nt, &r0, &r1);
	if (r1 > r0)
		cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, r1 - r0, out, in, 1.0f, j->x + (size_t)r0 * in, in,
			    j->w, in, 0.0f, j->y + (size_t)r0 * out, out);
}

void train_linear_fwd(float *y, const float *x, const float *W, int n, int in, int out)
{
	layer_job j = {.y = y, .x = x, .w = W, .n = n, .in = in, .out = out};
	train_parallel(linear_fwd_part, &j);
}

static void linear_bwd_part(void *ctx, int id, int nt)
{
	const layer_job *j = ctx;
	int r0, r1, n = j->n, in = j->in, out = j->out;
	const float *dy = j->x2;
	/* dx[n, in] = dy[n, out] · W[out, in], rows of dx split */
	slice(n, id, nt, &r0, &r1);
	if (j->y && r1 > r0)
		cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, r1 - r0, in, out, 1.0f, dy + (size_t)r0 * out, out,
			    j->w, in, j->accumulate ? 1.0f : 0.0f, j->y + (size_t)r0 * in, in);
	/* dW[out, in] += dyᵀ[out, n] · x[n, in], rows of dW split */
	slice(out, id, nt, &r0, &r1);
	if (j->dw && r1 > r0)
		cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, r1 - r0, in, n, 1.0f, dy + r0, out, j->x, in, 1.0f,
			    j->dw + (size_t)r0 * in, in);
}

void train_linear_bwd(float *dx, float *dW, const float *dy, const float *x, const float *W, int n, int in,
		      int out, int accumulate)
{
	layer_job j = {.y = dx, .dw = dW, .x2 = dy, .x = x, .w = W, .n = n, .in = in, .out = out,
		       .accumulate = accumulate};
	train_parallel(linear_bwd_part, &j);
}

/* ---------------------------------------------------------------- RMSNorm */

static void rmsnorm_fwd_part(void *ctx, int id, int nt)
{
	const layer_job *j = ctx;
	int r0, r1, d = j->in;
	slice(j->n, id, nt, &r0, &r1);
	if (r1 > r0) /* the core's kernel: the same bits as the engine */
		op_rmsnorm(j->y + (size_t)r0 * d, j->y2 + r0, j->x + (size_t)r0 * d, j->w, r1 - r0, d, j->eps);
}

void train_rmsnorm_fwd(float *y, float *scale, const float *x, const float *w, int n, int d, float eps)
{
	layer_job j = {.y = y, .y2 = scale, .x = x, .w = w, .n = n, .in = d, .eps = eps};
	train_parallel(rmsnorm_fwd_part, &j);
}

static void rmsnorm_bwd_part(void *ctx, int id, int nt)
{
	const layer_job *jb = ctx;
	int r0, r1, n = jb->n, d = jb->in;
	const float *dy = jb->x2, *x = jb->x, *scale = jb->x3, *w = jb->w;
	float *dx = jb->y, *dw = jb->dw;
	slice(n, id, nt, &r0, &r1);
	for (int t = r0; t < r1; t++) {
		const float *xt = x + (size_t)t * d, *dyt = dy + (size_t)t * d;
		float *dxt = dx + (size_t)t * d;
		float r = 1.0f / scale[t];
		double dot = 0;
		for (int i = 0; i < d; i++)
			dot += (double)dyt[i] * w[i] * xt[i];
		float c = (float)(dot * r * r * r / d);
		for (int i = 0; i < d; i++)
			dxt[i] += r * w[i] * dyt[i] - xt[i] * c;
	}
	/* columns of dw split; every column summed over the rows in order */
	slice(d, id, nt, &r0, &r1);
	for (int t = 0; t < n && dw; t++) {
		const float *xt = x + (size_t)t * d, *dyt = dy + (size_t)t * d;
		float r = 1.0f / scale[t];
		for (int i = r0; i < r1; i++)
			dw[i] += dyt[i] * xt[i] * r;
	}
}

void train_rmsnorm_bwd(float *dx, float *dw, const float *dy, const float *x, const float *scale, const float *w,
		       int n, int d)
{
	/* y_i = w_i x_i r with r = 1/scale = (mean(x²) + eps)^-1/2, so
	 * dr/dx_j = -x_j r³ / d and
	 * dx_j = r w_j dy_j - x_j r³/d · Σ_i dy_i w_i x_i,  dw_i = Σ_t dy_i x_i r. */
	layer_job j = {.y = dx, .dw = dw, .x2 = dy, .x = x, .x3 = scale, .w = w, .n = n, .in = d};
	train_parallel(rmsnorm_bwd_part, &j);
}

/* ---------------------------------------------------------------- RoPE */

static void rope_part(void *ctx, int id, int nt)
{
	const layer_job *j = ctx;
	int64_t b0, b1;
	span(j->B, id, nt, &b0, &b1);
	for (int64_t b = b0; b < b1; b++)
		op_rope(j->y + (size_t)b * j->T * j->H * j->hd, j->T, j->H, j->hd, j->freq, 0);
}

void train_rope_fwd(float *x, int B, int T, int n_heads, int hd, const float *inv_freq)
{
	layer_job j = {.y = x, .B = B, .T = T, .H = n_heads, .hd = hd, .freq = inv_freq};
	train_parallel(rope_part, &j);
}

void train_rope_bwd(float *dx, int B, int T, int n_heads, int hd, const float *inv_freq)
{
	/* The rotation's transpose is the rotation by minus the angle: the
	 * same kernel with negated frequencies (cos is even, sin odd, exactly). */
	int half = hd / 2;
	float neg[half];
	for (int i = 0; i < half; i++)
		neg[i] = -inv_freq[i];
	layer_job j = {.y = dx, .B = B, .T = T, .H = n_heads, .hd = hd, .freq = neg};
	train_parallel(rope_part, &j);
}

/* ---------------------------------------------------------------- attention */

/* Softmax of row i over keys 0..i, zeros after: as op_softmax_rows does with
 * -inf above the diagonal. Rows i0..i1-1 of A (T columns). */
static void causal_softmax(float *A, int i0, int i1, int T)
{
	for (int i = i0; i < i1; i++) {
		float *a = A + (size_t)i * T;
		float mx = -INFINITY;
		for (int j = 0; j <= i; j++)
			mx = a[j] > mx ? a[j] : mx;
		double sum = 0;
		for (int j = 0; j <= i; j++) {
			a[j] = expf(a[j] - mx);
			sum += a[j];
		}
		float inv = (float)(1.0 / sum);
		for (int j = 0; j <= i; j++)
			a[j] *= inv;
		for (int j = i + 1; j < T; j++)
			a[j] = 0.0f;
	}
}

/* Queries go in blocks of ATT_BLOCK rows; a block [i0, i1) needs only keys
 * [0, i1), so the products skip most of the masked upper triangle (5/8 of the
 * work of the full square at T = 4 blocks) at sizes BLAS still runs well. */
#define ATT_BLOCK 64

static void attention_fwd_part(void *ctx, int id, int nt)
{
	const layer_job *j = ctx;
	const float *q = j->x, *k = j->x2, *v = j->x3;
	float *z = j->y, *att = j->y2;
	int T = j->T, H = j->H, Hkv = j->Hkv, hd = j->hd;
	int qd = H * hd, kvd = Hkv * hd, rep = H / Hkv;
	float sc = 1.0f / sqrtf((float)hd);
	int64_t bh0, bh1;
	span((int64_t)j->B * H, id, nt, &bh0, &bh1);
	for (int bh = (int)bh0; bh < bh1; bh++) {
		int b = bh / H, h = bh % H, kh = h / rep;
		const float *Q = q + (size_t)b * T * qd + h * hd;
		const float *K = k + (size_t)b * T * kvd + kh * hd;
		const float *V = v + (size_t)b * T * kvd + kh * hd;
		float *A = att + (size_t)bh * T * T, *Z = z + (size_t)b * T * qd + h * hd;
		for (int i0 = 0; i0 < T; i0 += ATT_BLOCK) {
			int i1 = i0 + ATT_BLOCK < T ? i0 + ATT_BLOCK : T, m = i1 - i0;
			float *Ai = A + (size_t)i0 * T;
			cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, m, i1, hd, sc, Q + (size_t)i0 * qd, qd, K,
				    kvd, 0.0f, Ai, T);
			causal_softmax(A, i0, i1, T);
			cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, m, hd, i1, 1.0f, Ai, T, V, kvd, 0.0f,
				    Z + (size_t)i0 * qd, qd);
		}
	}
}

void train_attention_fwd(float *z, float *att, const float *q, const float *k, const float *v, int B, int T, int H,
			 int Hkv, int hd)
{
	layer_job j = {.y = z, .y2 = att, .x = q, .x2 = k, .x3 = v, .B = B, .T = T, .H = H, .Hkv = Hkv, .hd = hd};
	train_parallel(attention_fwd_part, &j);
}

typedef struct attn_bwd_job {
	float *dq, *dk, *dv, *scratch;
	const float *dz, *att, *q, *k, *v;
	int B, T, H, Hkv, hd;
} attn_bwd_job;

static void attention_bwd_part(void *ctx, int id, int nt)
{
	const attn_bwd_job *j = ctx;
	float *dq = j->dq, *dk = j->dk, *dv = j->dv;
	const float *dz = j->dz, *att = j->att, *q = j->q, *k = j->k, *v = j->v;
	int T = j->T, H = j->H, Hkv = j->Hkv, hd = j->hd;
	int qd = H * hd, kvd = Hkv * hd, rep = H / Hkv;
	float sc = 1.0f / sqrtf((float)hd);
	int64_t bk0, bk1;
	span((int64_t)j->B * Hkv, id, nt, &bk0, &bk1);
	float *S = j->scratch + (size_t)id * T * T; /* [nt][T, T], this thread's */
	for (int bk = (int)bk0; bk < bk1; bk++) {
		int b = bk / Hkv, kh = bk % Hkv;
		const float *K = k + (size_t)b * T * kvd + kh * hd;
		const float *V = v + (size_t)b * T * kvd + kh * hd;
		float *dK = dk + (size_t)b * T * kvd + kh * hd;
		float *dV = dv + (size_t)b * T * kvd + kh * hd;
		for (int t = 0; t < T; t++) {
			memset(dK + (size_t)t * kvd, 0, sizeof(float) * (size_t)hd);
			memset(dV + (size_t)t * kvd, 0, sizeof(float) * (size_t)hd);
		}
		for (int r = 0; r < rep; r++) {
			int h = kh * rep + r;
			const float *P = att + ((size_t)b * H + h) * T * T;
			const float *Q = q + (size_t)b * T * qd + h * hd;
			const float *dZ = dz + (size_t)b * T * qd + h * hd;
			float *dQ = dq + (size_t)b * T * qd + h * hd;
			for (int i0 = 0; i0 < T; i0 += ATT_BLOCK) {
				int i1 = i0 + ATT_BLOCK < T ? i0 + ATT_BLOCK : T, m = i1 - i0;
				const float *Pi = P + (size_t)i0 * T;
				float *Si = S + (size_t)i0 * T;
				/* Z = P V: dP = dZ Vᵀ, dV += Pᵀ dZ */
				cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, m, i1, hd, 1.0f, dZ + (size_t)i0 * qd,
					    qd, V, kvd, 0.0f, Si, T);
				cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, i1, hd, m, 1.0f, Pi, T,
					    dZ + (size_t)i0 * qd, qd, 1.0f, dV, kvd);
				/* P = softmax(S): dS_ij = P_ij (dP_ij - Σ_k P_ik dP_ik); 0 where masked */
				for (int i = i0; i < i1; i++) {
					const float *p = P + (size_t)i * T;
					float *s = S + (size_t)i * T;
					double dot = 0;
					for (int j = 0; j <= i; j++)
						dot += (double)p[j] * s[j];
					float fd = (float)dot;
					for (int j = 0; j <= i; j++)
						s[j] = p[j] * (s[j] - fd);
					for (int j = i + 1; j < i1; j++)
						s[j] = 0.0f;
				}
				/* S = sc·Q Kᵀ: dQ = sc·dS K, dK += sc·dSᵀ Q. dQ's rows of this
				 * block are written after dZ's were read (they may alias) */
				cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, m, hd, i1, sc, Si, T, K, kvd, 0.0f,
					    dQ + (size_t)i0 * qd, qd);
				cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, i1, hd, m, sc, Si, T, Q + (size_t)i0 * qd,
					    qd, 1.0f, dK, kvd);
			}
		}
	}
}

void train_attention_bwd(float *dq, float *dk, float *dv, float *scratch, const float *dz, const float *att,
			 const float *q, const float *k, const float *v, int B, int T, int H, int Hkv, int hd)
{
	/* One task per (batch, KV head): the query heads sharing it add into its
	 * dK and dV one after the other, in the same thread. */
	attn_bwd_job j = {dq, dk, dv, scratch, dz, att, q, k, v, B, T, H, Hkv, hd};
	train_parallel(attention_bwd_part, &j);
}

/* ---------------------------------------------------------------- SwiGLU */

static void swiglu_fwd_part(void *ctx, int id, int nt)
{
	const layer_job *j = ctx;
	int r0, r1;
	int64_t n = j->numel, per = (n + 1023) / 1024; /* blocks of 1024 */
	slice((int)per, id, nt, &r0, &r1);
	int64_t i0 = (int64_t)r0 * 1024, i1 = (int64_t)r1 * 1024 < n ? (int64_t)r1 * 1024 : n;
	if (i1 > i0)
		op_swiglu(j->y + i0, j->x + i0, j->x2 + i0, i1 - i0);
}

void train_swiglu_fwd(float *post, const float *gate, const float *up, int64_t n)
{
	layer_job j = {.y = post, .x = gate, .x2 = up, .numel = n};
	train_parallel(swiglu_fwd_part, &j);
}

static void swiglu_bwd_part(void *ctx, int id, int nt)
{
	/* post = g·σ(g)·u: d/du = g σ(g), d/dg = u σ(g) (1 + g (1 - σ(g))) */
	const layer_job *j = ctx;
	const float *dpost = j->x3, *gate = j->x, *up = j->x2;
	float *dgate = j->y, *dup = j->y2;
	int64_t i0, i1;
	span(j->numel, id, nt, &i0, &i1);
	for (int64_t i = i0; i < i1; i++) {
		float g = gate[i], s = 1.0f / (1.0f + expf(-g));
		dup[i] = dpost[i] * g * s;
		dgate[i] = dpost[i] * up[i] * s * (1.0f + g * (1.0f - s));
	}
}

void train_swiglu_bwd(float *dgate, float *dup, const float *dpost, const float *gate, const float *up, int64_t n)
{
	layer_job j = {.y = dgate, .y2 = dup, .x3 = dpost, .x = gate, .x2 = up, .numel = n};
	train_parallel(swiglu_bwd_part, &j);
}

/* ---------------------------------------------------------------- cross-entropy */

static void xent_fwd_part(void *ctx, int id, int nt)
{
	layer_job *jb = ctx;
	float *losses = jb->y, *lse = jb->y2;
	const float *logits = jb->x;
	const int32_t *targets = jb->targets;
	int V = jb->in, count = 0;
	int64_t t0, t1;
	span(jb->n, id, nt, &t0, &t1);
	for (int t = (int)t0; t < t1; t++) {
		const float *z = logits + (size_t)t * V;
		float mx = -INFINITY;
		for (int j = 0; j < V; j++)
			mx = z[j] > mx ? z[j] : mx;
		double sum = 0;
		for (int j = 0; j < V; j++)
			sum += expf(z[j] - mx);
		lse[t] = mx + (float)log(sum);
		int y = targets ? targets[t] : -1;
		losses[t] = y >= 0 ? lse[t] - z[y] : 0.0f;
		count += y >= 0;
	}
	jb->count[id] = count;
}

int train_xent_fwd(float *losses, float *lse, const float *logits, const int32_t *targets, int n, int V)
{
	layer_job j = {.y = losses, .y2 = lse, .x = logits, .targets = targets, .n = n, .in = V};
	train_parallel(xent_fwd_part, &j);
	int count = 0;
	for (int i = 0; i < train_threads(); i++)
		count += j.count[i];
	return count;
}

static void xent_bwd_part(void *ctx, int id, int nt)
{
	const layer_job *jb = ctx;
	float *logits = jb->y, scale = jb->scale;
	const float *lse = jb->x;
	const int32_t *targets = jb->targets;
	int V = jb->in;
	int64_t t0, t1;
	span(jb->n, id, nt, &t0, &t1);
	for (int t = (int)t0; t < t1; t++) {
		float *z = logits + (size_t)t * V;
		int y = targets ? targets[t] : -1;
		if (y < 0) {
			memset(z, 0, sizeof(float) * (size_t)V);
			continue;
		}
		for (int j = 0; j < V; j++)
			z[j] = expf(z[j] - lse[t]) * scale;
		z[y] -= scale;
	}
}

void train_xent_bwd(float *logits, const float *lse, const int32_t *targets, int n, int V, float scale)
{
	layer_job j = {.y = logits, .x = lse, .targets = targets, .n = n, .in = V, .scale = scale};
	train_parallel(xent_bwd_part, &j);
}
