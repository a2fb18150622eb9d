/* bench_kernels - the decode kernels alone: kern_matvec (one token) over a
 * matrix of each weight type, as GB/s of weights read, in the tier this
 * process runs (RESIDUAL_SIMD lowers it) and with the threads of
 * RESIDUAL_THREADS (default: all). Two sizes: one far larger than any cache
 * (memory bound) and one that stays in L2 (the kernel's own speed; also per
 * second of CPU time, which a busy machine disturbs less: run it with one thread).
 * For Q8_0, Q4_K and Q6_K the same two figures again for the --fast kernels
 * (activations quantized to 8 bits, kernels_q8.c).
 *
 *   bench/bench_kernels [MB_OF_WEIGHTS (default 1024)] */
#include "config.h"
#include "dtype.h"
#include "kernels.h"
#include "ops.h"

#include <cblas.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static double clk(clockid_t c)
{
	struct timespec t;
	clock_gettime(c, &t);
	return t.tv_sec + t.tv_nsec * 1e-9;
}

static uint64_t rng = 88172645463325252ull;
static uint8_t byte(void)
{
	rng ^= rng << 13;
	rng ^= rng >> 7;
	rng ^= rng << 17;
	return (uint8_t)(rng >> 24);
}

/* Random blocks with f16 scales near 0.01 (finite, no subnormals). */
static void fill(uint8_t *w, size_t bytes, int type)
{
	for (size_t i = 0; i < bytes; i++)
		w[i] = byte();
	if (type == RS_F32) {
		float *f = (float *)w;
		for (size_t i = 0; i < bytes / 4; i++)
			f[i] = (float)(w[i * 4] - 128) / 128.0f;
		return;
	}
	if (type == RS_F16 || type == RS_BF16) {
		uint16_t *h = (uint16_t *)w;
		for (size_t i = 0; i < bytes / 2; i++)
			h[i] = (uint16_t)((h[i] & 0x83ff) | (type == RS_F16 ? 0x2000 : 0x3c00));
		return;
	}
	size_t bb = rs_dtype_row_bytes(type, rs_dtype_block(type));
	for (size_t b = 0; b + bb <= bytes; b += bb) {
		uint8_t *p = w + b;
		size_t at0 = type == RS_Q6_K ? 208 : 0;
		p[at0 + 1] = 0x20 | (p[at0 + 1] & 3);
		if (type == RS_Q4_K || type == RS_Q5_K)
			p[3] = 0x20 | (p[3] & 3);
	}
}

int main(int argc, char **argv)
{
	double mb = argc > 1 ? atof(argv[1]) : 1024;
	static const int types[] = {RS_F32, RS_F16, RS_BF16, RS_Q8_0, RS_Q4_0, RS_Q4_K, RS_Q5_K, RS_Q6_K};
	const int cols = 2048;
	printf("tier %s, %d threads; GB/s of weights, one token (best of 5)\n", kern_tier_name(kern_tier_in_use()),
	       op_threads());
	printf("%-6s %12s %12s %16s %14s %18s\n", "type", "memory", "L2 (1 MB)", "L2 per CPU-s", "--fast memory",
	       "--fast L2 per CPU-s");
	float *x = malloc(sizeof(float) * cols);
	for (int i = 0; i < cols; i++)
		x[i] = (float)((i * 37) % 101) / 101.0f - 0.5f;
	for (size_t ti = 0; ti < sizeof types / sizeof *types; ti++) {
		int type = types[ti];
		size_t rb = rs_dtype_row_bytes(type, cols);
		double gbs[3], fgbs[2] = {0, 0};
		for (int sz = 0; sz < 2; sz++) {
			int64_t rows = (int64_t)((sz ? 1.0 : mb) * 1e6 / rb);
			uint8_t *w = malloc(rb * rows);
			float *y = malloc(sizeof(float) * rows);
			fill(w, rb * rows, type);
			rs_mat m = {w, type, rows, cols, rb};
			int reps = sz ? 200 : 1;
			double best = 1e30, best_cpu = 1e30;
			for (int r = 0; r < 5; r++) {
				double t0 = clk(CLOCK_MONOTONIC), c0 = clk(CLOCK_PROCESS_CPUTIME_ID);
				for (int k = 0; k < reps; k++)
					kern_matvec(y, x, &m, 1);
				double t = (clk(CLOCK_MONOTONIC) - t0) / reps, c = (clk(CLOCK_PROCESS_CPUTIME_ID) - c0) / reps;
				best = t < best ? t : best;
				best_cpu = c < best_cpu ? c : best_cpu;
			}
			gbs[sz] = rb * rows / best / 1e9;
			if (sz)
				gbs[2] = rb * rows / best_cpu / 1e9;
			for (int r = 0; kern_q8_supports(type) && r < 5; r++) {
				double t0 = clk(CLOCK_MONOTONIC), c0 = clk(CLOCK_PROCESS_CPUTIME_ID);
				for (int k = 0; k < reps; k++)
					kern_matvec_q8(y, x, &m);
				double t = (clk(CLOCK_MONOTONIC) - t0) / reps, c = (clk(CLOCK_PROCESS_CPUTIME_ID) - c0) / reps;
				double g = rb * rows / (sz ? c : t) / 1e9;
				fgbs[sz] = g > fgbs[sz] ? g : fgbs[sz];
			}
			free(w);
			free(y);
		}
		printf("%-6s %12.1f %12.1f %16.1f", rs_dtype_name(type), gbs[0], gbs[1], gbs[2]);
		if (fgbs[0] > 0)
			printf(" %14.1f %18.1f", fgbs[0], fgbs[1]);
		printf("\n");
	}
	free(x);
	/* prefill: kern_matmul (own) against OpenBLAS on the f32 tiles, at 1B shapes */
	printf("\nprefill matmul, 128 tokens (GFLOP/s, best of 3; per CPU-s beside)\n");
	printf("%-6s %6s %6s %14s %14s %14s\n", "type", "rows", "cols", "own", "own/CPU-s", "OpenBLAS");
	static const int gtypes[] = {RS_F32, RS_F16, RS_Q8_0, RS_Q4_K, RS_Q6_K};
	static const int shapes[][2] = {{2048, 2048}, {8192, 2048}, {2048, 8192}};
	const int n = 128;
	for (size_t ti = 0; ti < sizeof gtypes / sizeof *gtypes; ti++)
		for (int si = 0; si < 3; si++) {
			int type = gtypes[ti], rows = shapes[si][0], k = shapes[si][1];
			size_t rb = rs_dtype_row_bytes(type, k);
			uint8_t *w = malloc(rb * rows);
			fill(w, rb * rows, type);
			float *xx = malloc(sizeof(float) * n * k), *y = malloc(sizeof(float) * n * rows);
			for (int i = 0; i < n * k; i++)
				xx[i] = (float)((i * 37) % 101) / 101.0f - 0.5f;
			rs_mat m = {w, type, rows, k, rb};
			double g[3] = {0, 0, 0};
			for (int mode = 0; mode < 2; mode++) {
				setenv("RESIDUAL_GEMM", mode ? "openblas" : "own", 1);
				kern_gemm_reread_env();
				openblas_set_num_threads(op_threads()); /* op_matmul leaves it 1 after kern_matmul */
				for (int r = 0; r < 3; r++) {
					double t0 = clk(CLOCK_MONOTONIC), c0 = clk(CLOCK_PROCESS_CPUTIME_ID);
					op_matmul(y, xx, &m, n);
					double t = clk(CLOCK_MONOTONIC) - t0, c = clk(CLOCK_PROCESS_CPUTIME_ID) - c0;
					double f = 2.0 * n * rows * k / 1e9;
					g[mode ? 2 : 0] = f / t > g[mode ? 2 : 0] ? f / t : g[mode ? 2 : 0];
					if (!mode)
						g[1] = f / c > g[1] ? f / c : g[1];
				}
			}
			printf("%-6s %6d %6d %14.1f %14.1f %14.1f\n", rs_dtype_name(type), rows, k, g[0], g[1], g[2]);
			free(w);
			free(xx);
			free(y);
		}
	return 0;
}
