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

/* y (n x rows) = x (n x cols) · ref (rows x cols)ᵀ, checked against a
 * double-precision sum. Any order of float multiply-adds of cols products,
 * each with at most two roundings before it is added (the Q8_0 and K-quant
 * scale is one more product), is within γ(cols+2)·Σ|w·x| of the exact sum
 * (Higham, Accuracy and Stability, §3.1; γ(k) = k·u/(1-k·u), u = 2^-24), in
 * every SIMD tier and summation order alike. Returns the worst ratio of the
 * error to that bound (so <= 1 passes); the worst error is in *worst. absw
 * (or NULL): |w| to bound with instead, for kernels that sum ds·Σq·x − dm·Σx
 * rather than (ds·q − dm)·x, whose terms are |ds·q|·|x| and |dm|·|x|. */
static double matmul_worst(const float *y, const float *x, const float *ref, const float *absw, int n, int rows,
			   int cols, double *worst)
{
	/* the AMX product sums six exact part products a k in f32 (and one more
	 * add a pass over k) and drops three below 2^-20·|w·x| (kernels_amx.c) */
	int amx = kern_tier_in_use() == KERN_AMX && n >= KERN_AMX_MIN_TOKENS;
	const double u = 0x1p-24, k = amx ? 7.0 * cols + 2 : cols + 2;
	const double gamma = k * u / (1 - k * u) + (amx ? 0x1p-20 + 0x1p-28 : 0);
	double ratio = 0;
	*worst = 0;
	for (int t = 0; t < n; t++)
		for (int r = 0; r < rows; r++) {
			double s = 0, abs_sum = 0;
			for (int c = 0; c < cols; c++) {
				s += (double)ref[r * cols + c] * x[t * cols + c];
				abs_sum += fabs((double)(absw ? absw : ref)[r * cols + c] * x[t * cols + c]);
			}
			double e = fabs(s - y[t * rows + r]);
			*worst = fmax(*worst, e);
			ratio = fmax(ratio, e / (gamma * abs_sum + 1e-300));
		}
	return ratio;
}

/* F32 and Q8_0 products of n tokens by rows x cols random weights against
 * double-precision sums: the shapes that exercise passes and chunks. */
static void check_matmul_shape(int n, int rows, int cols, const char *what)
{
	float *w = malloc(sizeof(float) * rows * cols), *x = malloc(sizeof(float) * n * cols),
	      *ref = malloc(sizeof(float) * rows * cols), *y = malloc(sizeof(float) * n * rows);
	uint8_t *q = malloc(rs_dtype_row_bytes(RS_F32, cols) * rows);
	for (int i = 0; i < rows * cols; i++)
		w[i] = frand();
	for (int i = 0; i < n * cols; i++)
		x[i] = frand();
	for (int type = RS_F32; type != -1; type = type == RS_F32 ? RS_Q8_0 : -1) {
		size_t rb = rs_dtype_row_bytes(type, cols);
		for (int r = 0; r < rows; r++) {
			rs_quant_row(type, w + r * cols, q + r * rb, cols);
			rs_dequant_row(type, q + r * rb, ref + r * cols, cols);
		}
		rs_mat m = {q, type, rows, cols, rb};
		op_matmul(y, x, &m, n);
		double worst, ratio = matmul_worst(y, x, ref, NULL, n, rows, cols, &worst);
		tap_ok(ratio <= 1, "%s: matmul of %d tokens, %d %s = double-precision sum (%.1e of the bound)",
		       rs_dtype_name(type), n, cols, what, ratio);
	}
	free(w);
	free(x);
	free(ref);
	free(y);
	free(q);
}

/* Hand-built blocks of the read-only quantized types, with the values worked
 * out by hand from the layouts in reference/llama-spec.md section 5. */
static void check_quant_blocks(void)
{
	uint8_t b[210];
	float y[256];
	int ok = 1;
	/* Q4_0: d = 0.5; byte j = j | (15-j) << 4 */
	memset(b, 0, sizeof b);
	b[0] = 0x00, b[1] = 0x38;
	for (int j = 0; j < 16; j++)
		b[2 + j] = (uint8_t)(j | (15 - j) << 4);
	rs_dequant_row(RS_Q4_0, b, y, 32);
	for (int j = 0; j < 16; j++)
		ok &= y[j] == 0.5f * (j - 8) && y[j + 16] == 0.5f * (7 - j);
	tap_ok(ok && rs_dtype_row_bytes(RS_Q4_0, 64) == 36, "Q4_0 block by hand");

	/* Q4_K: d = 1, dmin = 0.5; sub-block 0: scale 1, min 5; sub-block 1: scale 2, min 0;
	 * sub-block 4 (its high scale/min bits in bytes 0 and 4): scale 3 | 1<<4 = 19,
	 * min 7 | 2<<4 = 39 */
	memset(b, 0, sizeof b);
	b[0] = 0x00, b[1] = 0x3c, b[2] = 0x00, b[3] = 0x38;
	uint8_t *sc = b + 4, *qs = b + 16;
	sc[0] = 0x41, sc[1] = 2, sc[4] = 0x85, sc[8] = 0x73;
	for (int l = 0; l < 32; l++) {
		qs[l] = (uint8_t)((l & 15) | (15 - (l & 15)) << 4);
		qs[64 + l] = 3;
	}
	rs_dequant_row(RS_Q4_K, b, y, 256);
	ok = 1;
	for (int l = 0; l < 32; l++)
		ok &= y[l] == (l & 15) - 2.5f && y[32 + l] == 2.0f * (15 - (l & 15)) && y[128 + l] == 19 * 3 - 19.5f &&
		      y[64 + l] == 0 && y[160 + l] == 0;
	tap_ok(ok && rs_dtype_row_bytes(RS_Q4_K, 512) == 288, "Q4_K super-block by hand (scales of sub-blocks 0, 1, 4)");

	/* Q5_K: the same, with the fifth bit (qh[l] bit 0: sub-block 0) set for even l */
	uint8_t b5[176];
	memset(b5, 0, sizeof b5);
	memcpy(b5, b, 16);
	for (int l = 0; l < 32; l++) {
		b5[16 + l] = (uint8_t)(l % 2 == 0);
		b5[48 + l] = qs[l];
		b5[48 + 64 + l] = 3;
	}
	rs_dequant_row(RS_Q5_K, b5, y, 256);
	ok = 1;
	for (int l = 0; l < 32; l++)
		ok &= y[l] == (l & 15) + (l % 2 == 0 ? 16 : 0) - 2.5f && y[128 + l] == 37.5f;
	tap_ok(ok, "Q5_K super-block by hand (fifth bits)");

	/* Q6_K: d = 0.25; scales 0..4 = -3, 2, 5, 0, 1; ql[l] = (l&15) | 9<<4; qh[l] = 0b0110 */
	memset(b, 0, sizeof b);
	for (int l = 0; l < 32; l++) {
		b[l] = (uint8_t)((l & 15) | 9 << 4);
		b[128 + l] = 0x06;
	}
	int8_t scales[5] = {-3, 2, 5, 0, 1};
	memcpy(b + 192, scales, 5);
	b[208] = 0x00, b[209] = 0x34;
	rs_dequant_row(RS_Q6_K, b, y, 256);
	ok = 1;
	for (int l = 0; l < 32; l++) {
		float e0 = l < 16 ? -0.75f * (l & 15) : 0.5f * (l & 15);  /* k 0: q = l&15 (+32 -32) */
		float e1 = l < 16 ? -20.0f : 0.0f;                       /* k 1: q = 16 - 32 */
		float e2 = l < 16 ? -5.75f : 0.0f;                       /* k 2: q = 9 - 32 */
		ok &= y[l] == e0 && y[32 + l] == e1 && y[64 + l] == e2;
	}
	tap_ok(ok && rs_dtype_row_bytes(RS_Q6_K, 256) == 210, "Q6_K super-block by hand");
}

/* Matrix products on matrices of random blocks (scales kept finite) agree
 * with double-precision sums of the dequantized rows. */
static void check_quant_matmul(int type)
{
	/* an odd number of blocks: the two-at-a-time loops' tails run too; 1 and 5
	 * tokens, and 37 (three tiles of 16 on AMX, the last partial) */
	const int rows = 9, cols = type == RS_Q4_0 ? 352 : 768, n = 37;
	size_t rb = rs_dtype_row_bytes(type, cols), bb = rb / (size_t)(cols / rs_dtype_block(type));
	uint8_t *w = malloc(rb * rows);
	for (size_t i = 0; i < rb * rows; i++)
		w[i] = (uint8_t)(frand() * 127 + 128);
	for (size_t blk = 0; blk < rb * rows / bb; blk++) { /* f16 scales around 0.01: exponent bits fixed */
		uint8_t *p = w + blk * bb;
		size_t at[2] = {type == RS_Q6_K ? 208 : 0, 2};
		for (int k = 0; k < (type == RS_Q4_K || type == RS_Q5_K ? 2 : 1); k++)
			p[at[k] + 1] = (uint8_t)(0x20 | (p[at[k] + 1] & 0x83)); /* either sign */
	}
	float *ref = malloc(sizeof(float) * rows * cols), *x = malloc(sizeof(float) * n * cols),
	      *y = malloc(sizeof(float) * n * rows);
	for (int r = 0; r < rows; r++)
		rs_dequant_row(type, w + r * rb, ref + r * cols, cols);
	for (int i = 0; i < n * cols; i++)
		x[i] = frand();
	/* |ds·q| + |dm| of every weight: the same blocks with d made positive and
	 * dmin negative (Q4_K, Q5_K: d at bytes 0-1, dmin at 2-3) */
	float *absw = NULL;
	if (type == RS_Q4_K || type == RS_Q5_K) {
		uint8_t *flip = malloc(rb * rows);
		memcpy(flip, w, rb * rows);
		for (size_t blk = 0; blk < rb * rows / bb; blk++) {
			flip[blk * bb + 1] &= 0x7f;
			flip[blk * bb + 3] |= 0x80;
		}
		absw = malloc(sizeof(float) * rows * cols);
		for (int r = 0; r < rows; r++)
			rs_dequant_row(type, flip + r * rb, absw + r * cols, cols);
		free(flip);
	}
	rs_mat m = {w, type, rows, cols, rb};
	float *got = malloc(sizeof(float) * rows * cols);
	kern_dequant_rows(&m, 0, rows, got);
	tap_ok(memcmp(ref, got, sizeof(float) * rows * cols) == 0, "%s: dequantized rows bit-identical",
	       rs_dtype_name(type));
	free(got);
	static const int ns[] = {1, 5, n};
	for (int ni = 0, nn = 1; ni < 3; nn = ns[++ni % 3]) {
		op_matmul(y, x, &m, nn);
		double worst, ratio = matmul_worst(y, x, ref, absw, nn, rows, cols, &worst);
		tap_ok(ratio <= 1, "%s: matmul of %d token(s) = double-precision sum (max diff %.1e, %.1e of the bound)",
		       rs_dtype_name(type), nn, worst, ratio);
	}
	free(w);
	free(ref);
	free(absw);
	free(x);
	free(y);
}

/* The fast decode (kernels_q8.c). The activations' quantization is checked on
 * its own (|x - d·q| <= d/2, the sums); then each row's result, computed from
 * the quantized activations x' = d·q with integer sums, is compared with the
 * double-precision Σ w·x' of the dequantized row. Its float steps (the block
 * scales, the conversion of the integer sums, the sum over blocks) are fewer
 * than nb + 8 roundings of terms bounded by Σ a·|x'|, where a is
 * |ds·q| + |dm| for Q4_K (= max(|w|, |w'|), w' the weight with dmin's sign
 * flipped) and |ds|·(q + 32) for Q6_K (its codes are summed unsigned, the 32
 * taken off after): so |y - Σ w·x'| <= γ(nb + 8)·Σ a·|x'|. The product is
 * also within Σ|w|·|x - x'| (+ that bound) of the exact one. */
static void check_fast(int type)
{
	const int rows = 350, cols = 1536, nb = cols / kern_q8_block(type); /* rows: enough for two threads */
	size_t rb = rs_dtype_row_bytes(type, cols), bb = rb / (size_t)(cols / rs_dtype_block(type));
	uint8_t *w = malloc(rb * rows), *w2 = malloc(rb * rows);
	for (size_t i = 0; i < rb * rows; i++)
		w[i] = (uint8_t)(frand() * 127 + 128);
	for (size_t blk = 0; blk < rb * rows / bb; blk++) {
		uint8_t *p = w + blk * bb;
		size_t at[2] = {type == RS_Q6_K ? 208 : 0, 2};
		for (int k = 0; k < (type == RS_Q4_K ? 2 : 1); k++)
			p[at[k] + 1] = (uint8_t)(0x20 | (p[at[k] + 1] & 0x83));
	}
	memcpy(w2, w, rb * rows);
	if (type == RS_Q4_K)
		for (size_t blk = 0; blk < rb * rows / bb; blk++)
			w2[blk * bb + 3] ^= 0x80; /* dmin's sign */
	float *x = malloc(sizeof(float) * cols), *y = malloc(sizeof(float) * rows);
	float *wr = malloc(sizeof(float) * cols), *wr2 = malloc(sizeof(float) * cols);
	for (int i = 0; i < cols; i++)
		x[i] = frand() * (i % 97 == 0 ? 8 : 1); /* a few large values: blocks of different steps */
	kern_q8x xq;
	int ok = kern_q8_quantize(&xq, x, cols, kern_q8_block(type)) == 0;
	double qerr = 0;
	for (int i = 0; ok && i < cols; i++) {
		float d = xq.d[i / xq.block];
		ok &= xq.q[i] != -128; /* -127..127 */
		qerr = fmax(qerr, fabs(x[i] - (double)d * xq.q[i]) / d);
	}
	for (int k = 0; ok && k < cols / 16; k++) {
		int s16 = 0;
		for (int i = 0; i < 16; i++)
			s16 += xq.q[16 * k + i];
		ok &= xq.sum16[k] == s16 && (k % 2 == 0 || xq.sum32[k / 2] == xq.sum16[k - 1] + s16);
	}
	tap_ok(ok && qerr <= 0.5 + 1e-5, "%s --fast: activations quantized in blocks of %d: |x - d·q| <= d/2 (worst %.4f d), sums",
	       rs_dtype_name(type), kern_q8_block(type), qerr);
	rs_mat m = {w, type, rows, cols, rb};
	kern_matvec_q8(y, x, &m);
	const double u = 0x1p-24, gamma = (nb + 8) * u / (1 - (nb + 8) * u);
	double ratio = 0, worst = 0, approx = 0;
	int same = 1;
	for (int r = 0; r < rows; r++) {
		const uint8_t *row = w + (size_t)r * rb;
		rs_dequant_row(type, row, wr, cols);
		rs_dequant_row(type, w2 + (size_t)r * rb, wr2, cols);
		double sq = 0, a = 0, exact = 0, qe = 0;
		for (int i = 0; i < cols; i++) {
			double xp = (double)xq.d[i / xq.block] * xq.q[i], ai = fabs(wr[i]);
			if (type == RS_Q4_K)
				ai = fmax(ai, fabs(wr2[i]));
			if (type == RS_Q6_K) { /* |ds|·(q + 32) from the bytes (llama-spec section 5) */
				const uint8_t *p = row + (size_t)(i / 256) * 210;
				int e = i % 256, nn = e / 128, l = e % 32, grp = (e % 128) / 32;
				int ql = p[64 * nn + l + (grp & 1) * 32], qh = p[128 + 32 * nn + l];
				int q = ((grp < 2 ? ql & 15 : ql >> 4) | ((qh >> (2 * grp)) & 3) << 4);
				uint16_t dh;
				memcpy(&dh, p + 208, 2);
				ai = fabs((double)rs_f16_to_f32(dh) * (int8_t)p[192 + e / 16]) * (q + 32);
			}
			sq += (double)wr[i] * xp;
			a += ai * fabs(xp);
			exact += (double)wr[i] * x[i];
			qe += fabs((double)wr[i]) * fabs(x[i] - xp);
		}
		double e = fabs(y[r] - sq);
		worst = fmax(worst, e);
		ratio = fmax(ratio, e / (gamma * a + 1e-300));
		approx = fmax(approx, fabs(y[r] - exact) / (qe + gamma * a + 1e-300));
		same &= y[r] == kern_q8_dot(kern_tier_in_use(), type, row, &xq);
	}
	tap_ok(ratio <= 1, "%s --fast: = double-precision Σ w·x' of the quantized activations (max diff %.1e, %.1e of the bound)",
	       rs_dtype_name(type), worst, ratio);
	tap_ok(approx <= 1, "%s --fast: within Σ|w|·|x - x'| of the exact product (%.2f of it)", rs_dtype_name(type), approx);
	tap_ok(same, "%s --fast: the threaded product = kern_q8_dot row by row", rs_dtype_name(type));
	kern_q8x_free(&xq);
	free(w);
	free(w2);
	free(x);
	free(y);
	free(wr);
	free(wr2);
}

int main(void)
{
	tap_diag("SIMD kernels: %s (best on this CPU: %s)", kern_tier_name(kern_tier_in_use()),
		 kern_tier_name(kern_tier_best()));
	if (*kern_tier_note())
		tap_diag("%s", kern_tier_note());
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

	check_quant_blocks();
	check_quant_matmul(RS_Q4_0);
	check_quant_matmul(RS_Q4_K);
	check_quant_matmul(RS_Q5_K);
	check_quant_matmul(RS_Q6_K);
	check_fast(RS_Q4_K);
	check_fast(RS_Q6_K);
	static const int types[] = {RS_F32, RS_F16, RS_BF16, RS_Q8_0};
	/* 352 = 5·64 + 32: every loop of every tier; 67 rows = two panels of 32 and
	 * 3 (four of 16 and 3 in AVX2); 29 tokens = 2·12 + 5 (4·6 + 5) in kern_matmul;
	 * 45 tokens = three tiles of 16 on AMX (the last partial, a fourth all padding) */
	const int rows = 67, cols = 352, n = 45;
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
		static const int ns[] = {1, 5, 29, 45}; /* matvec; kern_matmul (or BLAS) with partial and full tiles */
		for (int ni = 0, nn = 1; ni < 4; nn = ns[++ni % 4]) {
			op_matmul(y, x, &m, nn);
			double worst, ratio = matmul_worst(y, x, ref, NULL, nn, rows, cols, &worst);
			tap_ok(ratio <= 1, "%s: matmul of %d token(s) = double-precision sum (max diff %.1e, %.1e of the bound)",
			       rs_dtype_name(type), nn, worst, ratio);
		}
		free(y);
		free(ref);
		free(got);
		free(w);
	}
	{ /* kern_matmul with a k that is no multiple of 8 (the transposition's tail) */
		const int r2 = 19, c2 = 77, n2 = 13;
		rs_mat m = {src, RS_F32, r2, c2, sizeof(float) * c2};
		float *y = malloc(sizeof(float) * n2 * r2);
		op_matmul(y, x, &m, n2);
		double worst, ratio = matmul_worst(y, x, src, NULL, n2, r2, c2, &worst);
		tap_ok(ratio <= 1, "F32: matmul of %d tokens, %d columns = double-precision sum (max diff %.1e, %.1e of the bound)",
		       n2, c2, worst, ratio);
		free(y);
	}
	{ /* decode attention: 4 heads on 2 key/value heads, a head size with a tail in every tier */
		const int H = 4, rep = 2, hd = 40, kvd = 80, Tk = 37;
		float A[4 * 37], z[4 * 40];
		const float *q = x, *K = src, *V = src + Tk * kvd, *P = x + H * hd; /* any numbers will do */
		kern_attn_scores1(A, q, K, H, rep, hd, kvd, Tk, 0.125f);
		kern_attn_z1(z, P, V, H, rep, hd, kvd, Tk);
		const double u = 0x1p-24, gs = (hd + 1) * u / (1 - (hd + 1) * u), gz = (Tk + 1) * u / (1 - (Tk + 1) * u);
		double rs = 0, rz = 0;
		for (int h = 0; h < H; h++) {
			const float *Kh = K + (h / rep) * hd, *Vh = V + (h / rep) * hd;
			for (int t = 0; t < Tk; t++) {
				double s = 0, a = 0;
				for (int i = 0; i < hd; i++) {
					s += 0.125 * q[h * hd + i] * Kh[t * kvd + i];
					a += fabs(0.125 * q[h * hd + i] * Kh[t * kvd + i]);
				}
				rs = fmax(rs, fabs(s - A[h * Tk + t]) / (gs * a + 1e-300));
			}
			for (int i = 0; i < hd; i++) {
				double s = 0, a = 0;
				for (int t = 0; t < Tk; t++) {
					s += (double)P[h * Tk + t] * Vh[t * kvd + i];
					a += fabs((double)P[h * Tk + t] * Vh[t * kvd + i]);
				}
				rz = fmax(rz, fabs(s - z[h * hd + i]) / (gz * a + 1e-300));
			}
		}
		tap_ok(rs <= 1, "decode attention scores = double-precision sums (%.1e of the bound)", rs);
		tap_ok(rz <= 1, "decode attention z = double-precision sums (%.1e of the bound)", rz);
	}
	{ /* kern_sgemm (attention of a prompt): strided operands, w either way round, a scale */
		const int n2 = 13, r2 = 45, k2 = 70, ldx = 80, ldy = 47;
		float *y = malloc(sizeof(float) * n2 * ldy);
		for (int kmajor = 0; kmajor < 2; kmajor++) {
			int ldw = kmajor ? 50 : 75;
			if (!kern_sgemm(n2, r2, k2, x, ldx, src, ldw, kmajor, y, ldy, 0.25f)) {
				tap_ok(1, "# SKIP no kern_sgemm in the %s tier", kern_tier_name(kern_tier_in_use()));
				continue;
			}
			const double u = 0x1p-24, g = (k2 + 1) * u / (1 - (k2 + 1) * u);
			double ratio = 0;
			for (int t = 0; t < n2; t++)
				for (int r = 0; r < r2; r++) {
					double sum = 0, a = 0;
					for (int k = 0; k < k2; k++) {
						double p = 0.25 * x[t * ldx + k] * (kmajor ? src[k * ldw + r] : src[r * ldw + k]);
						sum += p;
						a += fabs(p);
					}
					ratio = fmax(ratio, fabs(sum - y[t * ldy + r]) / (g * a + 1e-300));
				}
			tap_ok(ratio <= 1, "kern_sgemm, w %s: = double-precision sums (%.1e of the bound)",
			       kmajor ? "k-major" : "row-major", ratio);
		}
		free(y);
	}
	/* kern_matmul in passes over k (29 tokens: passes of 8960; 300: two chunks of
	 * tokens, 256 and 44, on AMX, passes of 256) */
	check_matmul_shape(300, 19, 9312, "columns (passes over k)");
	/* many rows: on AMX, 256 tokens put the transposed output in chunks of 8192
	 * rows (8 MB), so 8200 rows take two (the second of 8) */
	check_matmul_shape(256, 8200, 64, "columns, 8200 rows (chunks of rows)");
	/* a length that leaves a scalar tail in every tier */
	double exact = 0, abs_sum = 0;
	for (int i = 0; i < 77; i++)
		exact += (double)src[i] * x[i], abs_sum += fabs((double)src[i] * x[i]);
	double e = fabs(kern_dot_f32(src, x, 77) - exact), bound = 79 * 0x1p-24 / (1 - 79 * 0x1p-24) * abs_sum;
	tap_ok(e <= bound, "dot of 77 floats = double-precision sum (diff %.1e, bound %.1e)", e, bound);
	free(src);
	free(x);
	return tap_done_plan();
}
