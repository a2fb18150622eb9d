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
	default: return NULL;
	}
}

int rs_dtype_block(int type)
{
	return type == RS_Q8_0 ? RS_QK8_0 : 1;
}

size_t rs_dtype_row_bytes(int type, int64_t n)
{
	switch (type) {
	case RS_F32: return (size_t)n * 4;
	case RS_F16:
	case RS_BF16: return (size_t)n * 2;
	case RS_Q8_0: return n % RS_QK8_0 ? 0 : (size_t)(n / RS_QK8_0) * 34;
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
