/* kernels.h - inner loops with AVX2/FMA/F16C versions chosen at run time. */
#ifndef RS_KERNELS_H
#define RS_KERNELS_H

#include <stdint.h>

#include "model.h"

/* Σ a[i]·b[i] over f32. */
float kern_dot_f32(const float *a, const float *b, int n);
/* y[t, r] = Σ_c W[r, c]·x[t, c] for t < n (n small): each row is read once. */
void kern_matvec(float *y, const float *x, const rs_mat *W, int n);
/* Rows r0 .. r0+nr-1 of W as f32 into dst [nr, cols]. */
void kern_dequant_rows(const rs_mat *W, int64_t r0, int64_t nr, float *dst);
/* Whether the AVX2 paths are in use (for reports). */
int kern_simd(void);

#endif
