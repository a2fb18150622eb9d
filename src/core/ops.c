/* ops.c - forward-pass kernels: matmul dispatch, RMSNorm, RoPE, softmax, SwiGLU. */
#include "config.h"
#include "ops.h"
#include "dtype.h"

#include <cblas.h>
#include <math.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "err.h"
#include "kernels.h"
#include "pool.h"

static int n_threads;

void op_set_threads(int n)
{
	if (n < 1)
		n = 1;
	n_threads = n;
	openblas_set_num_threads(n);
	pool_set_threads(n);
}

/* The default count, once, even when several threads ask first at once. */
static void threads_from_env(void)
{
	if (n_threads)
		return; /* op_set_threads came first */
	const char *e = getenv("RESIDUAL_THREADS");
	long n = e ? strtol(e, NULL, 10) : sysconf(_SC_NPROCESSORS_ONLN);
	op_set_threads(n > 0 ? (int)n : 1);
}

int op_threads(void)
{
	static pthread_once_t once = PTHREAD_ONCE_INIT;
	pthread_once(&once, threads_from_env);
	return n_threads;
}

/* Rows of a quantized matrix dequantized per tile, then one sgemm per tile:
 * big enough for BLAS to be efficient, small enough to stay in cache. */
static void matmul_tiled(float *y, const float *x, const rs_mat *W, int n)
{
	int64_t tile = 4194304 / W->cols; /* 16 MB of f32 */
	if (tile < 16)
		tile = 16;
	if (tile > W->rows)
		tile = W->rows;
	float *buf = rs_xmalloc(sizeof(float) * (size_t)(tile * W->cols)); /* restores the terminal on failure */
	for (int64_t r0 = 0; r0 < W->rows; r0 += tile) {
		int64_t nr = W->rows - r0 < tile ? W->rows - r0 : tile;
		kern_dequant_rows(W, r0, nr, buf);
		cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, n, (int)nr, (int)W->cols, 1.0f, x,
			    (int)W->cols, buf, (int)W->cols, 0.0f, y + r0, (int)W->rows);
	}
	free(buf);
}

/* Up to 4 tokens: each weight row is read once for all of them (kern_matvec);
 * more: kern_matmul's blocked product in the SIMD tiers, else OpenBLAS. */
void op_matmul(float *y, const float *x, const rs_mat *W, int n)
{
	op_threads();
	if (n > 4) {
		if (kern_matmul(y, x, W, n)) {
			/* One threading system: the products (attention's too, through
			 * kern_sgemm) run on pool.c's threads, so OpenBLAS, left with a few
			 * small calls outside the forward pass, keeps none of its own to spin
			 * on the cores between them. */
			static int blas_single;
			if (!blas_single) {
				blas_single = 1;
				openblas_set_num_threads(1);
			}
			return;
		}
	} else if (W->type != RS_F32 || n == 1 || kern_tier_in_use() != KERN_SCALAR) {
		kern_matvec(y, x, W, n);
		return;
	}
	if (W->type == RS_F32) {
		cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, n, (int)W->rows, (int)W->cols, 1.0f, x,
			    (int)W->cols, W->data, (int)W->cols, 0.0f, y, (int)W->rows);
	} else {
		matmul_tiled(y, x, W, n);
	}
}

float op_dot(const float *a, const float *b, int n)
{
	return kern_dot_f32(a, b, n);
}

void op_rms_scale(float *scale, const float *x, int n, int d, float eps)
{
	for (int t = 0; t < n; t++) {
		const float *xt = x + (size_t)t * d;
		double ss = 0; /* double: exact enough that the order of summation does not show */
		for (int i = 0; i < d; i++)
			ss += (double)xt[i] * xt[i];
		scale[t] = sqrtf((float)(ss / d) + eps);
	}
}

void op_rms_apply(float *y, const float *x, const float *scale, const float *w, int n, int d)
{
	for (int t = 0; t < n; t++) {
		float inv = 1.0f / scale[t];
		for (int i = 0; i < d; i++)
			y[(size_t)t * d + i] = x[(size_t)t * d + i] * inv * w[i];
	}
}

void op_rms_normalize(float *y, const float *x, const float *scale, int n, int d)
{
	for (int t = 0; t < n; t++) {
		float inv = 1.0f / scale[t];
		for (int i = 0; i < d; i++)
			y[(size_t)t * d + i] = x[(size_t)t * d + i] * inv;
	}
}

void op_rms_weight(float *y, const float *w, int n, int d)
{
	for (int t = 0; t < n; t++)
		for (int i = 0; i < d; i++)
			y[(size_t)t * d + i] *= w[i];
}

void op_rmsnorm(float *y, float *scale, const float *x, const float *w, int n, int d, float eps)
{
	for (int t = 0; t < n; t++) {
		float s;
		op_rms_scale(&s, x + (size_t)t * d, 1, d, eps);
		if (scale)
			scale[t] = s;
		op_rms_apply(y + (size_t)t * d, x + (size_t)t * d, &s, w, 1, d);
	}
}

void op_rope(float *x, int n, int n_heads, int hd, const float *inv_freq, int pos0)
{
	int half = hd / 2;
	float cs[half], sn[half];
	for (int t = 0; t < n; t++) {
		for (int i = 0; i < half; i++) {
			float a = (float)(pos0 + t) * inv_freq[i]; /* the angle in f32, as transformers */
			cs[i] = cosf(a);
			sn[i] = sinf(a);
		}
		for (int h = 0; h < n_heads; h++) {
			float *v = x + ((size_t)t * n_heads + h) * hd;
			for (int i = 0; i < half; i++) {
				float a = v[i], b = v[i + half];
				v[i] = a * cs[i] - b * sn[i];
				v[i + half] = b * cs[i] + a * sn[i];
			}
		}
	}
}

void op_softmax_rows(float *x, int n, int len)
{
	for (int r = 0; r < n; r++) {
		float *v = x + (size_t)r * len;
		float mx = -INFINITY;
		for (int i = 0; i < len; i++)
			mx = v[i] > mx ? v[i] : mx;
		if (mx == -INFINITY) { /* fully masked: leave zeros */
			memset(v, 0, sizeof(float) * (size_t)len);
			continue;
		}
		double sum = 0;
		for (int i = 0; i < len; i++) {
			v[i] = expf(v[i] - mx);
			sum += v[i];
		}
		float inv = (float)(1.0 / sum);
		for (int i = 0; i < len; i++)
			v[i] *= inv;
	}
}

void op_swiglu(float *out, const float *gate, const float *up, int64_t n)
{
	for (int64_t i = 0; i < n; i++) {
		float g = gate[i];
		out[i] = g / (1.0f + expf(-g)) * up[i];
	}
}
