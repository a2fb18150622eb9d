/* dtype.c - element types, half/bfloat conversion, Q8_0 blocks. */
#include "config.h"
#include "dtype.h"

#include <math.h>
#include <string.h>

const char *rs_dtype_name(int type)
{
	switch (type) {
	case RS_F32: return "F32";
	case RS_F16: return "F16";
	case RS_BF16: return "BF16";
	case RS_Q8_0: return "Q8_0";
	case RS_Q4_0: return "Q4_0";
	case RS_Q4_K: return "Q4_K";
	case RS_Q5_K: return "Q5_K";
	case RS_Q6_K: return "Q6_K";
	default: return NULL;
	}
}

int rs_dtype_block(int type)
{
	switch (type) {
	case RS_Q8_0: case RS_Q4_0: return 32;
	case RS_Q4_K: case RS_Q5_K: case RS_Q6_K: return RS_QK_K;
	default: return 1;
	}
}

/* Bytes of one block (reference/llama-spec.md 5.1). */
static size_t block_bytes(int type)
{
	switch (type) {
	case RS_Q8_0: return 34;
	case RS_Q4_0: return 18;
	case RS_Q4_K: return 144;
	case RS_Q5_K: return 176;
	case RS_Q6_K: return 210;
	default: return 0;
	}
}

size_t rs_dtype_row_bytes(int type, int64_t n)
{
	switch (type) {
	case RS_F32: return (size_t)n * 4;
	case RS_F16:
	case RS_BF16: return (size_t)n * 2;
	case RS_Q8_0: case RS_Q4_0: case RS_Q4_K: case RS_Q5_K: case RS_Q6_K:
		return n % rs_dtype_block(type) ? 0 : (size_t)(n / rs_dtype_block(type)) * block_bytes(type);
	default: return 0;
	}
}

float rs_f16_to_f32(uint16_t h)
{
	uint32_t sign = (uint32_t)(h & 0x8000) << 16;
	uint32_t exp = (h >> 10) & 0x1f, man = h & 0x3ff, bits;
	if (exp == 0) {
		if (man == 0) {
			bits = sign;
		} else { /* subnormal: renormalise */
			int e = -1;
			do {
				e++;
				man <<= 1;
			} while (!(man & 0x400));
			bits = sign | ((uint32_t)(127 - 15 - e) << 23) | ((man & 0x3ff) << 13);
		}
	} else if (exp == 31) {
		bits = sign | 0x7f800000u | (man << 13);
	} else {
		bits = sign | ((exp + 127 - 15) << 23) | (man << 13);
	}
	float f;
	memcpy(&f, &bits, 4);
	return f;
}

uint16_t rs_f32_to_f16(float f)
{
	uint32_t x;
	memcpy(&x, &f, 4);
	uint32_t sign = (x >> 16) & 0x8000;
	uint32_t absx = x & 0x7fffffffu;
	if (absx >= 0x7f800000u) /* inf or nan */
		return (uint16_t)(sign | 0x7c00 | (absx > 0x7f800000u ? 0x200 : 0));
	if (absx >= 0x477ff000u) /* rounds to >= 65520: overflow to inf */
		return (uint16_t)(sign | 0x7c00);
	if (absx < 0x38800000u) { /* below the smallest normal half: subnormal or zero */
		float a;
		memcpy(&a, &absx, 4);
		/* round to nearest even in units of 2^-24 */
		return (uint16_t)(sign | (uint32_t)nearbyintf(a * 16777216.0f));
	}
	uint32_t mant = absx & 0x7fffff, exp = (absx >> 23) - 127 + 15;
	uint32_t h = (exp << 10) | (mant >> 13);
	uint32_t rest = mant & 0x1fff;
	if (rest > 0x1000 || (rest == 0x1000 && (h & 1)))
		h++; /* may carry into the exponent, which is still correct */
	return (uint16_t)(sign | h);
}

float rs_bf16_to_f32(uint16_t h)
{
	uint32_t bits = (uint32_t)h << 16;
	float f;
	memcpy(&f, &bits, 4);
	return f;
}

uint16_t rs_f32_to_bf16(float f)
{
	uint32_t x;
	memcpy(&x, &f, 4);
	if ((x & 0x7fffffffu) > 0x7f800000u)
		return (uint16_t)((x >> 16) | 0x40); /* keep nan a quiet nan */
	x += 0x7fff + ((x >> 16) & 1); /* round to nearest even */
	return (uint16_t)(x >> 16);
}

static float half_at(const uint8_t *p)
{
	uint16_t h;
	memcpy(&h, p, 2);
	return rs_f16_to_f32(h);
}

/* Q4_0: [d][16 bytes]; low nibbles are elements 0-15, high nibbles 16-31. */
/* The read-only quantized types are decoded by plain loops that the compiler
 * vectorizes; target_clones adds an AVX2 version chosen at load time. */
#if defined(__x86_64__) && defined(__GNUC__) && !defined(__clang__)
#define VEC_CLONES __attribute__((target_clones("avx2", "default"), optimize("tree-vectorize")))
#else
#define VEC_CLONES
#endif

VEC_CLONES static void dequant_q4_0(const uint8_t *p, float *y, int64_t n)
{
	for (int64_t b = 0; b < n / 32; b++, p += 18, y += 32) {
		float d = half_at(p);
		for (int j = 0; j < 16; j++) {
			y[j] = d * (float)((p[2 + j] & 15) - 8);
			y[j + 16] = d * (float)((p[2 + j] >> 4) - 8);
		}
	}
}

/* The 6-bit scale and min of sub-block s of a Q4_K/Q5_K super-block. */
static void k_scale_min(const uint8_t *b, int s, int *sc, int *m)
{
	if (s < 4) {
		*sc = b[s] & 63;
		*m = b[s + 4] & 63;
	} else {
		*sc = (b[s + 4] & 15) | ((b[s - 4] >> 6) << 4);
		*m = (b[s + 4] >> 4) | ((b[s] >> 6) << 4);
	}
}

/* Q4_K (five 0) and Q5_K: eight sub-blocks of 32 with a scale and a min each;
 * element 64c + 32h + l takes nibble h of qs[32c + l] (and bit 2c+h of qh[l]).
 * The inner loops are plain so that the compiler vectorizes them. */
VEC_CLONES static void dequant_q45_k(const uint8_t *p, float *y, int64_t n, int five)
{
	size_t bb = five ? 176 : 144;
	for (int64_t b = 0; b < n / RS_QK_K; b++, p += bb, y += RS_QK_K) {
		float d = half_at(p), dmin = half_at(p + 2);
		const uint8_t *scales = p + 4, *qh = p + 16, *qs = five ? p + 48 : p + 16;
		for (int c = 0; c < 4; c++)
			for (int h = 0; h < 2; h++) {
				int sc, m;
				k_scale_min(scales, 2 * c + h, &sc, &m);
				float ds = d * (float)sc, dm = dmin * (float)m;
				const uint8_t *q = qs + 32 * c;
				float *o = y + 64 * c + 32 * h;
				int shift = 4 * h, bit = 2 * c + h;
				if (five)
					for (int l = 0; l < 32; l++)
						o[l] = ds * (float)(((q[l] >> shift) & 15) | (((qh[l] >> bit) & 1) << 4)) - dm;
				else
					for (int l = 0; l < 32; l++)
						o[l] = ds * (float)((q[l] >> shift) & 15) - dm;
			}
	}
}

/* Q6_K: [ql 128][qh 64][scales 16 x int8][d]; element 128n + 32k + l, with one
 * scale per 16 elements. */
VEC_CLONES static void dequant_q6_k(const uint8_t *p, float *y, int64_t n)
{
	for (int64_t b = 0; b < n / RS_QK_K; b++, p += 210, y += RS_QK_K) {
		const int8_t *sc = (const int8_t *)(p + 192);
		float d = half_at(p + 208);
		for (int nn = 0; nn < 2; nn++)
			for (int k = 0; k < 4; k++)
				for (int half = 0; half < 2; half++) {
					const uint8_t *ql = p + 64 * nn + 32 * (k & 1) + 16 * half;
					const uint8_t *qh = p + 128 + 32 * nn + 16 * half;
					float ds = d * (float)sc[8 * nn + 2 * k + half];
					float *o = y + 128 * nn + 32 * k + 16 * half;
					int lshift = k < 2 ? 0 : 4, hshift = 2 * k;
					for (int l = 0; l < 16; l++)
						o[l] = ds * (float)((((ql[l] >> lshift) & 15) | (((qh[l] >> hshift) & 3) << 4)) - 32);
				}
	}
}

void rs_dequant_row(int type, const void *src, float *dst, int64_t n)
{
	const uint8_t *p = src;
	switch (type) {
	case RS_F32:
		memcpy(dst, src, (size_t)n * 4);
		break;
	case RS_F16:
		for (int64_t i = 0; i < n; i++) {
			uint16_t h;
			memcpy(&h, p + 2 * i, 2);
			dst[i] = rs_f16_to_f32(h);
		}
		break;
	case RS_BF16:
		for (int64_t i = 0; i < n; i++) {
			uint16_t h;
			memcpy(&h, p + 2 * i, 2);
			dst[i] = rs_bf16_to_f32(h);
		}
		break;
	case RS_Q8_0:
		for (int64_t b = 0; b < n / RS_QK8_0; b++, p += 34) {
			uint16_t dh;
			memcpy(&dh, p, 2);
			float d = rs_f16_to_f32(dh);
			const int8_t *q = (const int8_t *)(p + 2);
			for (int j = 0; j < RS_QK8_0; j++)
				dst[b * RS_QK8_0 + j] = d * q[j];
		}
		break;
	case RS_Q4_0:
		dequant_q4_0(p, dst, n);
		break;
	case RS_Q4_K:
		dequant_q45_k(p, dst, n, 0);
		break;
	case RS_Q5_K:
		dequant_q45_k(p, dst, n, 1);
		break;
	case RS_Q6_K:
		dequant_q6_k(p, dst, n);
		break;
	}
}

void rs_quant_row(int type, const float *src, void *dst, int64_t n)
{
	uint8_t *p = dst;
	switch (type) {
	case RS_F32:
		memcpy(dst, src, (size_t)n * 4);
		break;
	case RS_F16:
		for (int64_t i = 0; i < n; i++) {
			uint16_t h = rs_f32_to_f16(src[i]);
			memcpy(p + 2 * i, &h, 2);
		}
		break;
	case RS_BF16:
		for (int64_t i = 0; i < n; i++) {
			uint16_t h = rs_f32_to_bf16(src[i]);
			memcpy(p + 2 * i, &h, 2);
		}
		break;
	case RS_Q8_0:
		/* as ggml's reference quantizer: d = max|x| / 127, q = round(x / d) */
		for (int64_t b = 0; b < n / RS_QK8_0; b++, p += 34) {
			const float *x = src + b * RS_QK8_0;
			float amax = 0;
			for (int j = 0; j < RS_QK8_0; j++)
				amax = fmaxf(amax, fabsf(x[j]));
			float d = amax / 127.0f, id = d ? 1.0f / d : 0.0f;
			uint16_t dh = rs_f32_to_f16(d);
			memcpy(p, &dh, 2);
			for (int j = 0; j < RS_QK8_0; j++)
				((int8_t *)(p + 2))[j] = (int8_t)roundf(x[j] * id);
		}
		break;
	}
}
