/* ops.h - the numeric kernels of the forward pass, over flat f32 arrays. */
#ifndef RS_OPS_H
#define RS_OPS_H

#include <stdint.h>

#include "model.h"

/* y[n, W.rows] = x[n, W.cols] · Wᵀ for W of any supported type.
 * BLAS sgemm for f32 prefill; fused dequantize-dot kernels for small n. */
void op_matmul(float *y, const float *x, const rs_mat *W, int n);

/* RMSNorm, the one copy (the engine stops between its halves; the trainer
 * calls op_rmsnorm): scale[t] = sqrt(mean(x[t]²) + eps); y[t] = x[t] / scale[t] * w.
 * x, y [n, d]; scale [n] (may be NULL for op_rmsnorm). */
void op_rms_scale(float *scale, const float *x, int n, int d, float eps);
void op_rms_apply(float *y, const float *x, const float *scale, const float *w, int n, int d);
/* The two halves of op_rms_apply, with the same bits: y = x · (1/scale)
 * (TransformerLens's hook_normalized), then y ·= w in place (our hook_out). */
void op_rms_normalize(float *y, const float *x, const float *scale, int n, int d);
void op_rms_weight(float *y, const float *w, int n, int d);
void op_rmsnorm(float *y, float *scale, const float *x, const float *w, int n, int d, float eps);

/* Rotates (x[i], x[i+hd/2]) of every head by pos·inv_freq[i] (Hugging Face
 * rotate-half order). x [n, n_heads*hd], positions pos0 .. pos0+n-1. */
void op_rope(float *x, int n, int n_heads, int hd, const float *inv_freq, int pos0);

/* In-place softmax over each of n rows of length len (entries of -inf become 0). */
void op_softmax_rows(float *x, int n, int len);

/* out[i] = silu(gate[i]) * up[i]. */
void op_swiglu(float *out, const float *gate, const float *up, int64_t n);

float op_dot(const float *a, const float *b, int n);

/* Threads used by our kernels and BLAS (default: all cores; RESIDUAL_THREADS). */
void op_set_threads(int n);
int op_threads(void);

#endif
