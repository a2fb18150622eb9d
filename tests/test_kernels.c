/* test_kernels.c - the SIMD kernels against plain references: dequantized rows
 * are bit-identical to rs_dequant_row, matrix products agree with a double
 * precision sum, and f16/bf16 conversions round as IEEE says. */
#include "config.h"
#include "tap.h"
#include "dtype.h"
#include "kernels.h"
#include "ops.h"

#include <stdint.h>

static uint64_t rng = 88172645463325252ull;

static float frand(void)
{
	rng ^= rng << 13;
	rng ^= rng >> 7;
	rng ^= rng << 17;
	return (float)((rng >> 11) * (1.0 / 9007199254740992.0)) * 2.0f - 1.0f;
}

int main(void)
{
	tap_diag("SIMD kernels: %s", kern_simd() ? "avx2" : "none (scalar only)");
	/* conversions: exactly representable values survive; halfway cases round to even */
	tap_ok(rs_f16_to_f32(rs_f32_to_f16(1.0f)) == 1.0f && rs_f16_to_f32(rs_f32_to_f16(-2.5f)) == -2.5f &&
		       rs_f16_to_f32(rs_f32_to_f16(65504.0f)) == 65504.0f && isinf(rs_f16_to_f32(rs_f32_to_f16(1e6f))) &&
		       rs_f32_to_f16(1.0f + 1.0f / 2048) == rs_f32_to_f16(1.0f) &&
		       rs_f32_to_f16(1.0f + 3.0f / 2048) == rs_f32_to_f16(1.0f + 4.0f / 2048) &&
		       rs_f16_to_f32(1) == 5.9604644775390625e-8f,
	       "f16: exact values, overflow to inf, round half to even, subnormals");
	tap_ok(rs_bf16_to_f32(rs_f32_to_bf16(1.5f)) == 1.5f && rs_f32_to_bf16(1.0f + 1.0f / 256) == rs_f32_to_bf16(1.0f) &&
		       isnan(rs_bf16_to_f32(rs_f32_to_bf16(NAN))),
	       "bf16: exact values, round half to even, nan stays nan");

	static const int types[] = {RS_F32, RS_F16, RS_BF16, RS_Q8_0};
	const int rows = 67, cols = 320, n = 5;
	float *src = malloc(sizeof(float) * rows * cols), *x = malloc(sizeof(float) * n * cols);
	for (int i = 0; i < rows * cols; i++)
		src[i] = frand() * 0.5f;
	for (int i = 0; i < n * cols; i++)
		x[i] = frand();
	for (int ti = 0; ti < 4; ti++) {
		int type = types[ti];
		size_t rb = rs_dtype_row_bytes(type, cols);
		uint8_t *w = malloc(rb * rows);
		for (int r = 0; r < rows; r++)
			rs_quant_row(type, src + r * cols, w + r * rb, cols);
		rs_mat m = {w, type, rows, cols, rb};
		float *ref = malloc(sizeof(float) * rows * cols), *got = malloc(sizeof(float) * rows * cols);
		for (int r = 0; r < rows; r++)
			rs_dequant_row(type, w + r * rb, ref + r * cols, cols);
		kern_dequant_rows(&m, 0, rows, got);
		tap_ok(memcmp(ref, got, sizeof(float) * rows * cols) == 0, "%s: dequantized rows bit-identical",
		       rs_dtype_name(type));
		float *y = malloc(sizeof(float) * n * rows);
		for (int nn = 1; nn <= n; nn += n - 1) { /* n = 1 (matvec) and n = 5 (tiled sgemm) */
			op_matmul(y, x, &m, nn);
			double worst = 0;
			for (int t = 0; t < nn; t++)
				for (int r = 0; r < rows; r++) {
					double s = 0;
					for (int c = 0; c < cols; c++)
						s += (double)ref[r * cols + c] * x[t * cols + c];
					worst = fmax(worst, fabs(s - y[t * rows + r]));
				}
			tap_ok(worst < 2e-5, "%s: matmul of %d token(s) = double-precision sum (max diff %.1e)",
			       rs_dtype_name(type), nn, worst);
		}
		free(y);
		free(ref);
		free(got);
		free(w);
	}
	free(src);
	free(x);
	return tap_done_plan();
}
