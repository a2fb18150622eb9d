/* kernels.h - inner loops with scalar, AVX2 (FMA, F16C) and AVX-512 (F, BW, VL)
 * versions; the tier is chosen once, at first use, from the CPU and
 * $RESIDUAL_SIMD (which may only lower it). */
#ifndef RS_KERNELS_H
#define RS_KERNELS_H

#include <stdint.h>

#include "model.h"

/* Σ a[i]·b[i] over f32. */
float kern_dot_f32(const float *a, const float *b, int n);
/* y[t, r] = Σ_c W[r, c]·x[t, c] for t < n (n small): each row is read once. */
void kern_matvec(float *y, const float *x, const rs_mat *W, int n);
/* y[t, r] = Σ_c W[r, c]·x[t, c] for t < n (prefill): panels of W dequantized
 * into cache-resident f32 and multiplied with the SIMD tier's micro-kernel.
 * Returns 0, computing nothing, in the scalar tier or when $RESIDUAL_GEMM is
 * "openblas" (then the caller uses BLAS). */
int kern_matmul(float *y, const float *x, const rs_mat *W, int n);
/* The same product on f32 operands with strides, as cblas_sgemm (row major, x
 * not transposed): y[t·ldy + r] = alpha·Σ_k x[t·ldx + k]·w(r, k), where w(r, k)
 * is w[r·ldw + k], or w[k·ldw + r] when w_kmajor. Returns 0, computing
 * nothing, where kern_matmul would. */
int kern_sgemm(int n, int rows, int K, const float *x, int64_t ldx, const float *w, int64_t ldw, int w_kmajor,
	       float *y, int64_t ldy, float alpha);
/* Reads $RESIDUAL_GEMM again at the next kern_matmul (for benchmarks). */
void kern_gemm_reread_env(void);
/* Attention of one query (decode), heads spread over the threads. Head h reads
 * key/value head h / rep at column (h / rep)·hd of rows kvd apart.
 * Scores: A[h·Tk + t] = sc·Σ_i q[h·hd + i]·K[t, i]. */
void kern_attn_scores1(float *A, const float *q, const float *K, int H, int rep, int hd, int kvd, int Tk, float sc);
/* z[h·hd + i] = Σ_t P[h·Tk + t]·V[t, i]. */
void kern_attn_z1(float *z, const float *P, const float *V, int H, int rep, int hd, int kvd, int Tk);
/* Rows r0 .. r0+nr-1 of W as f32 into dst [nr, cols]. */
void kern_dequant_rows(const rs_mat *W, int64_t r0, int64_t nr, float *dst);
/* AMX: the AVX-512 kernels, and the prefill product on AMX tiles (kernels_amx.c). */
typedef enum kern_tier { KERN_SCALAR, KERN_AVX2, KERN_AVX512, KERN_AMX, KERN_N_TIERS } kern_tier;
/* Fewer tokens than this take the AVX-512 product in the AMX tier. */
#define KERN_AMX_MIN_TOKENS 32
/* The tier every kernel uses, and the best this CPU could run. */
kern_tier kern_tier_in_use(void);
kern_tier kern_tier_best(void);
const char *kern_tier_name(kern_tier t);
/* "scalar", "avx2", "avx512", "amx" -> tier; -1 for anything else. */
int kern_tier_parse(const char *name);
/* Why $RESIDUAL_SIMD was not followed ("" when it was, or is unset). */
const char *kern_tier_note(void);

/* The opt-in fast decode (kernels_q8.c): activations quantized to 8 bits per
 * block as llama.cpp does, integer dot products. Not the f32 computation of
 * the file's weights; Q4_K and Q6_K only. */
typedef struct kern_q8x {
	int n, block;   /* n activations in blocks of block (256) */
	float *d;       /* [n / block] the step of each block: max|x| / 127 */
	int8_t *q;      /* [n] x ≈ d·q, q = round(x / d) */
	int16_t *sum16; /* [n / 16] Σ q over each 16 */
	int16_t *sum32; /* [n / 32] Σ q over each 32 */
} kern_q8x;
int kern_q8_supports(int type);
/* The block size the fast kernels of this weight type want (256). */
int kern_q8_block(int type);
/* Quantizes x; -1 when n is not a multiple of block or memory runs out. */
int kern_q8_quantize(kern_q8x *xq, const float *x, int n, int block);
void kern_q8x_free(kern_q8x *xq);
/* Σ_c row[c]·x[c] of one row of a supported type, in tier t. */
float kern_q8_dot(kern_tier t, int type, const void *row, const kern_q8x *x);
/* y[r] = Σ_c W[r, c]·x[c] for one token, the activations quantized; types the
 * fast kernels lack go through kern_matvec. */
void kern_matvec_q8(float *y, const float *x, const rs_mat *W);

#endif
