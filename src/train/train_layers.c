/* train_layers.c - forward and backward of each layer type, batched over rows.
 *
 * Parallel loops give each thread a fixed, contiguous slice of the output (rows
 * of y, of dx, of dW) and call single-threaded BLAS on it; nothing is summed
 * across threads, so the bits depend only on the thread count.
 */
#include "config.h"
#include "train.h"
#include "ops.h"

#include <cblas.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#ifdef _OPENMP
#include <omp.h>
#endif

static int thread_id(void)
{
#ifdef _OPENMP
	return omp_get_thread_num();
#else
	return 0;
#endif
}

static int thread_count(void)
{
#ifdef _OPENMP
	return omp_get_num_threads();
#else
	return 1;
#endif
}

/* This thread's slice [*r0, *r1) of n rows, in multiples of 8 (keeps BLAS
 * panels whole where it can). Call inside a parallel region. */
static void slice(int n, int *r0, int *r1)
{
	int nt = thread_count(), id = thread_id();
	int per = (n + nt - 1) / nt;
	per = (per + 7) & ~7;
	*r0 = id * per < n ? id * per : n;
	*r1 = *r0 + per < n ? *r0 + per : n;
}

/* ---------------------------------------------------------------- linear */

void train_linear_fwd(float *y, const float *x, const float *W, int n, int in, int out)
{
#pragma omp parallel
	{
		int r0, r1;
		slice(n, &r0, &r1);
		if (r1 > r0)
			cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, r1 - r0, out, in, 1.0f, x + (size_t)r0 * in,
				    in, W, in, 0.0f, y + (size_t)r0 * out, out);
	}
}

void train_linear_bwd(float *dx, float *dW, const float *dy, const float *x, const float *W, int n, int in,
		      int out, int accumulate)
{
#pragma omp parallel
	{
		int r0, r1;
		/* dx[n, in] = dy[n, out] · W[out, in], rows of dx split */
		slice(n, &r0, &r1);
		if (dx && r1 > r0)
			cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, r1 - r0, in, out, 1.0f,
				    dy + (size_t)r0 * out, out, W, in, accumulate ? 1.0f : 0.0f, dx + (size_t)r0 * in,
				    in);
		/* dW[out, in] += dyᵀ[out, n] · x[n, in], rows of dW split */
		slice(out, &r0, &r1);
		if (dW && r1 > r0)
			cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, r1 - r0, in, n, 1.0f, dy + r0, out, x, in,
				    1.0f, dW + (size_t)r0 * in, in);
	}
}

/* ---------------------------------------------------------------- RMSNorm */

void train_rmsnorm_fwd(float *y, float *scale, const float *x, const float *w, int n, int d, float eps)
{
#pragma omp parallel
	{
		int r0, r1;
		slice(n, &r0, &r1);
		if (r1 > r0) /* the core's kernel: the same bits as the engine */
			op_rmsnorm(y + (size_t)r0 * d, scale + r0, x + (size_t)r0 * d, w, r1 - r0, d, eps);
	}
}

void train_rmsnorm_bwd(float *dx, float *dw, const float *dy, const float *x, const float *scale, const float *w,
		       int n, int d)
{
	/* y_i = w_i x_i r with r = 1/scale = (mean(x²) + eps)^-1/2, so
	 * dr/dx_j = -x_j r³ / d and
	 * dx_j = r w_j dy_j - x_j r³/d · Σ_i dy_i w_i x_i,  dw_i = Σ_t dy_i x_i r. */
#pragma omp parallel
	{
		int r0, r1;
		slice(n, &r0, &r1);
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
		slice(d, &r0, &r1);
		for (int t = 0; t < n && dw; t++) {
			const float *xt = x + (size_t)t * d, *dyt = dy + (size_t)t * d;
			float r = 1.0f / scale[t];
			for (int i = r0; i < r1; i++)
				dw[i] += dyt[i] * xt[i] * r;
		}
	}
}

/* ---------------------------------------------------------------- RoPE */

void train_rope_fwd(float *x, int B, int T, int n_heads, int hd, const float *inv_freq)
{
#pragma omp parallel for schedule(static)
	for (int b = 0; b < B; b++)
		op_rope(x + (size_t)b * T * n_heads * hd, T, n_heads, hd, inv_freq, 0);
}

void train_rope_bwd(float *dx, int B, int T, int n_heads, int hd, const float *inv_freq)
{
	/* The rotation's transpose is the rotation by minus the angle: the
	 * same kernel with negated frequencies (cos is even, sin odd, exactly). */
	int half = hd / 2;
	float neg[half];
	for (int i = 0; i < half; i++)
		neg[i] = -inv_freq[i];
#pragma omp parallel for schedule(static)
	for (int b = 0; b < B; b++)
		op_rope(dx + (size_t)b * T * n_heads * hd, T, n_heads, hd, neg, 0);
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

void train_attention_fwd(float *z, float *att, const float *q, const float *k, const float *v, int B, int T, int H,
			 int Hkv, int hd)
{
	int qd = H * hd, kvd = Hkv * hd, rep = H / Hkv;
	float sc = 1.0f / sqrtf((float)hd);
#pragma omp parallel for schedule(static)
	for (int bh = 0; bh < B * H; bh++) {
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

void train_attention_bwd(float *dq, float *dk, float *dv, float *scratch, const float *dz, const float *att,
			 const float *q, const float *k, const float *v, int B, int T, int H, int Hkv, int hd)
{
	int qd = H * hd, kvd = Hkv * hd, rep = H / Hkv;
	float sc = 1.0f / sqrtf((float)hd);
	/* One task per (batch, KV head): the query heads sharing it add into its
	 * dK and dV one after the other, in the same thread. */
#pragma omp parallel for schedule(static)
	for (int bk = 0; bk < B * Hkv; bk++) {
		int b = bk / Hkv, kh = bk % Hkv;
		float *S = scratch + (size_t)thread_id() * T * T;
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

/* ---------------------------------------------------------------- SwiGLU */

void train_swiglu_fwd(float *post, const float *gate, const float *up, int64_t n)
{
#pragma omp parallel
	{
		int r0, r1;
		int64_t per = (n + 1023) / 1024; /* blocks of 1024 */
		slice((int)per, &r0, &r1);
		int64_t i0 = (int64_t)r0 * 1024, i1 = (int64_t)r1 * 1024 < n ? (int64_t)r1 * 1024 : n;
		if (i1 > i0)
			op_swiglu(post + i0, gate + i0, up + i0, i1 - i0);
	}
}

void train_swiglu_bwd(float *dgate, float *dup, const float *dpost, const float *gate, const float *up, int64_t n)
{
	/* post = g·σ(g)·u: d/du = g σ(g), d/dg = u σ(g) (1 + g (1 - σ(g))) */
#pragma omp parallel for schedule(static)
	for (int64_t i = 0; i < n; i++) {
		float g = gate[i], s = 1.0f / (1.0f + expf(-g));
		dup[i] = dpost[i] * g * s;
		dgate[i] = dpost[i] * up[i] * s * (1.0f + g * (1.0f - s));
	}
}

/* ---------------------------------------------------------------- cross-entropy */

int train_xent_fwd(float *losses, float *lse, const float *logits, const int32_t *targets, int n, int V)
{
	int count = 0;
#pragma omp parallel for schedule(static) reduction(+ : count)
	for (int t = 0; t < n; t++) {
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
	return count;
}

void train_xent_bwd(float *logits, const float *lse, const int32_t *targets, int n, int V, float scale)
{
#pragma omp parallel for schedule(static)
	for (int t = 0; t < n; t++) {
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
