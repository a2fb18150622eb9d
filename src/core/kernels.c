/* kernels.c - the forward pass's arithmetic on weights: decode's fused
 * dequantize-and-dot of f32 activations with F32/F16/BF16/Q8_0/Q4_0/Q4_K/Q5_K/Q6_K
 * rows, dequantization, prefill's blocked product (kern_matmul, kern_sgemm) and
 * decode's attention, in three tiers chosen once at start: scalar, AVX2 (+FMA,
 * F16C) and AVX-512 (F, BW, VL). RESIDUAL_SIMD=scalar|avx2|avx512 asks for a lower
 * tier than the CPU has (never a higher one), so tests can run every tier a
 * machine can. Activations and sums stay f32, and every weight is the f32 value
 * rs_dequant_row gives: only the order of summation differs between tiers. */
#include "config.h"
#include "kernels.h"
#include "dtype.h"
#include "pool.h"
#include "kernels_x86.h"
#include "kernels_amx.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <stdio.h>
#include <string.h>

/* Every f16 value as f32 (rs_f16_to_f32), filled with the tier. Q8_0's decode
 * kernels read a block's scale from here: a load and a broadcast from memory,
 * where F16C's conversion and a register broadcast take the shuffle port that
 * the int8 widening needs too (17-18 against 14.5-15.6 GB/s a core from L2). */
static float f16_table[65536];

/* The f16 at p, from the table. */
static inline const float *f16_at(const uint8_t *p)
{
	uint16_t h;
	memcpy(&h, p, 2);
	return f16_table + h;
}

/* ---------------------------------------------------------------- scalar */
static float dot_f32_scalar(const float *a, const float *b, int n)
{
	float s0 = 0, s1 = 0, s2 = 0, s3 = 0;
	int i = 0;
	for (; i + 4 <= n; i += 4) {
		s0 += a[i] * b[i];
		s1 += a[i + 1] * b[i + 1];
		s2 += a[i + 2] * b[i + 2];
		s3 += a[i + 3] * b[i + 3];
	}
	for (; i < n; i++)
		s0 += a[i] * b[i];
	return (s0 + s1) + (s2 + s3);
}

/* Any type: dequantize the row in pieces, then dot. */
static float dot_row_scalar(int type, const void *row, const float *x, int n)
{
	float buf[256];
	float s = 0;
	for (int c = 0; c < n; c += 256) {
		int m = n - c < 256 ? n - c : 256;
		rs_dequant_row(type, (const uint8_t *)row + rs_dtype_row_bytes(type, c), buf, m);
		s += dot_f32_scalar(buf, x + c, m);
	}
	return s;
}

#if HAVE_X86
/* ---------------------------------------------------------------- AVX2 */

/* One row at a time, four accumulators of eight: the chains hide the FMA
 * latency, and one sequential stream per thread keeps the hardware prefetcher
 * ahead (several rows at once measured half as fast here). */
#define DEF_DOT(name, T, LOAD8, SCALAR) \
	AVX2 static float name(const T *w, const float *x, int n) \
	{ \
		__m256 a = _mm256_setzero_ps(), b = a, c = a, d = a; \
		int i = 0; \
		for (; i + 32 <= n; i += 32) { \
			PREFETCH(w + i, 32 * sizeof(T)); \
			a = _mm256_fmadd_ps(LOAD8(w + i), _mm256_loadu_ps(x + i), a); \
			b = _mm256_fmadd_ps(LOAD8(w + i + 8), _mm256_loadu_ps(x + i + 8), b); \
			c = _mm256_fmadd_ps(LOAD8(w + i + 16), _mm256_loadu_ps(x + i + 16), c); \
			d = _mm256_fmadd_ps(LOAD8(w + i + 24), _mm256_loadu_ps(x + i + 24), d); \
		} \
		for (; i + 8 <= n; i += 8) \
			a = _mm256_fmadd_ps(LOAD8(w + i), _mm256_loadu_ps(x + i), a); \
		float s = hsum(_mm256_add_ps(_mm256_add_ps(a, b), _mm256_add_ps(c, d))); \
		for (; i < n; i++) \
			s += SCALAR(w[i]) * x[i]; \
		return s; \
	}

AVX2 static inline __m256 bf16x8(const uint16_t *p)
{
	__m256i v = _mm256_cvtepu16_epi32(_mm_loadu_si128((const __m128i *)p));
	return _mm256_castsi256_ps(_mm256_slli_epi32(v, 16));
}

#define LOAD8_F32(p) _mm256_loadu_ps(p)
#define LOAD8_F16(p) _mm256_cvtph_ps(_mm_loadu_si128((const __m128i *)(p)))
#define LOAD8_BF16(p) bf16x8(p)
#define AS_FLOAT(v) (v)
DEF_DOT(dot_f32_avx2, float, LOAD8_F32, AS_FLOAT)
DEF_DOT(dot_f16_avx2, uint16_t, LOAD8_F16, rs_f16_to_f32)
DEF_DOT(dot_bf16_avx2, uint16_t, LOAD8_BF16, rs_bf16_to_f32)

AVX2 static inline __m256 i8x8(const int8_t *p)
{
	return _mm256_cvtepi32_ps(_mm256_cvtepi8_epi32(_mm_loadl_epi64((const __m128i *)p)));
}

/* One block of 32: d · Σ q·x, added into acc. */
AVX2 static inline __m256 q8_block(const uint8_t *b, const float *x, __m256 acc)
{
	uint16_t dh;
	memcpy(&dh, b, 2);
	const int8_t *q = (const int8_t *)(b + 2);
	__m256 s0 = _mm256_mul_ps(i8x8(q), _mm256_loadu_ps(x));
	__m256 s1 = _mm256_mul_ps(i8x8(q + 8), _mm256_loadu_ps(x + 8));
	s0 = _mm256_fmadd_ps(i8x8(q + 16), _mm256_loadu_ps(x + 16), s0);
	s1 = _mm256_fmadd_ps(i8x8(q + 24), _mm256_loadu_ps(x + 24), s1);
	return _mm256_fmadd_ps(_mm256_broadcast_ss(f16_table + dh), _mm256_add_ps(s0, s1), acc);
}

AVX2 static float dot_q8_0_avx2(const uint8_t *w, const float *x, int n)
{
	__m256 a = _mm256_setzero_ps(), b = a;
	int nb = n / RS_QK8_0, k = 0;
	for (; k + 2 <= nb; k += 2) { /* two blocks per step: two independent chains */
		PREFETCH(w + (size_t)k * 34, 68);
		a = q8_block(w + (size_t)k * 34, x + k * RS_QK8_0, a);
		b = q8_block(w + (size_t)(k + 1) * 34, x + (k + 1) * RS_QK8_0, b);
	}
	if (k < nb)
		a = q8_block(w + (size_t)k * 34, x + k * RS_QK8_0, a);
	return hsum(_mm256_add_ps(a, b));
}

/* ---- the 4-, 5- and 6-bit types
 * Q4_K and Q5_K: a super-block is read as byte codes q (0..31) and, per
 * sub-block of 32, a scale ds and a min dm, so that element i is w = ds·q - dm.
 * The product ds·q is exact in f32 (at most 11 + 6 + 5 bits), so
 * fmsub(ds, q, dm) rounds once, as rs_dequant_row's ds·q - dm does. Q4_0 and
 * Q6_K: signed codes q - 8 or q - 32 and w = ds·q, one exact product. Either
 * way the weights are bit-identical to the dequantized rows. */

/* The eight 6-bit scales and mins of a Q4_K/Q5_K super-block (bytes 4..15),
 * times d and dmin. */
AVX2 static inline void k_scales8(const uint8_t *p, float *ds, float *dm)
{
	__m128i v = k4_scales_v(p);
	__m256 scf = _mm256_cvtepi32_ps(_mm256_cvtepu8_epi32(v));
	__m256 mf = _mm256_cvtepi32_ps(_mm256_cvtepu8_epi32(_mm_unpackhi_epi64(v, v)));
	_mm256_storeu_ps(ds, _mm256_mul_ps(_mm256_set1_ps(half_x(p)), scf));
	_mm256_storeu_ps(dm, _mm256_mul_ps(_mm256_set1_ps(half_x(p + 2)), mf));
}

/* Q6_K: sixteen int8 scales times d. */
AVX2 static inline void q6_scales16(const uint8_t *p, float *ds)
{
	__m256 d = _mm256_set1_ps(half_x(p + 208));
	for (int h = 0; h < 2; h++)
		_mm256_storeu_ps(ds + 8 * h, _mm256_mul_ps(d, _mm256_cvtepi32_ps(_mm256_cvtepi8_epi32(
								 _mm_loadl_epi64((const __m128i *)(p + 192 + 8 * h))))));
}


/* Byte codes of a Q4_K/Q5_K super-block: element 64c + 32h + l is nibble h of
 * qs[32c + l], plus (Q5_K) bit 2c+h of qh[l] as bit 4. */
AVX2 static inline void q45_codes(const uint8_t *p, int five, uint8_t *q)
{
	const __m256i m4 = _mm256_set1_epi8(15), m16 = _mm256_set1_epi8(16);
	const uint8_t *qs = five ? p + 48 : p + 16;
	__m256i qh = five ? ld32(p + 16) : _mm256_setzero_si256();
	for (int c = 0; c < 4; c++) {
		__m256i v = ld32(qs + 32 * c);
		__m256i lo = _mm256_and_si256(v, m4), hi = _mm256_and_si256(_mm256_srli_epi16(v, 4), m4);
		if (five) {
			__m256i b0 = _mm256_set1_epi8((char)(1 << (2 * c))), b1 = _mm256_set1_epi8((char)(2 << (2 * c)));
			lo = _mm256_or_si256(lo, _mm256_and_si256(_mm256_cmpeq_epi8(_mm256_and_si256(qh, b0), b0), m16));
			hi = _mm256_or_si256(hi, _mm256_and_si256(_mm256_cmpeq_epi8(_mm256_and_si256(qh, b1), b1), m16));
		}
		_mm256_storeu_si256((__m256i *)(q + 64 * c), lo);
		_mm256_storeu_si256((__m256i *)(q + 64 * c + 32), hi);
	}
}

/* Signed codes q - 8 of a Q4_0 block: element l is the low nibble of qs[l],
 * element 16 + l its high one. */
AVX2 static inline void q4_0_codes(const uint8_t *p, int8_t *q)
{
	__m128i v = _mm_loadu_si128((const __m128i *)(p + 2)), m4 = _mm_set1_epi8(15), k8 = _mm_set1_epi8(8);
	_mm_storeu_si128((__m128i *)q, _mm_sub_epi8(_mm_and_si128(v, m4), k8));
	_mm_storeu_si128((__m128i *)(q + 16), _mm_sub_epi8(_mm_and_si128(_mm_srli_epi16(v, 4), m4), k8));
}

AVX2 static inline __m256 u8x8(const uint8_t *p)
{
	return _mm256_cvtepi32_ps(_mm256_cvtepu8_epi32(_mm_loadl_epi64((const __m128i *)p)));
}

/* Σ w·x over one Q6_K super-block of signed codes, w = ds·q. */
AVX2 static inline void q6_dot_avx2(const int8_t *q, const float *ds, const float *x, __m256 *acc)
{
	for (int k = 0; k < 16; k++) {
		__m256 s = _mm256_broadcast_ss(ds + k);
		acc[0] = _mm256_fmadd_ps(_mm256_mul_ps(s, i8x8(q + 16 * k)), _mm256_loadu_ps(x + 16 * k), acc[0]);
		acc[1] = _mm256_fmadd_ps(_mm256_mul_ps(s, i8x8(q + 16 * k + 8)), _mm256_loadu_ps(x + 16 * k + 8), acc[1]);
	}
}

/* Σ w·x over 256 codes in groups of g, w = fmsub(ds, q, dm), eight at a time. */
AVX2 static inline void codes_dot_avx2(const uint8_t *q, const float *ds, const float *dm, int g, const float *x,
				      __m256 *acc)
{
	for (int k = 0; k < 256 / g; k++) {
		__m256 s = _mm256_broadcast_ss(ds + k), m = _mm256_broadcast_ss(dm + k);
		for (int i = k * g; i < (k + 1) * g; i += 16) {
			acc[0] = _mm256_fmadd_ps(_mm256_fmsub_ps(s, u8x8(q + i), m), _mm256_loadu_ps(x + i), acc[0]);
			acc[1] = _mm256_fmadd_ps(_mm256_fmsub_ps(s, u8x8(q + i + 8), m), _mm256_loadu_ps(x + i + 8), acc[1]);
		}
	}
}

AVX2 static float dot_kq_avx2(int type, const uint8_t *w, const float *x, int n)
{
	size_t bb = rs_dtype_row_bytes(type, 256);
	__m256 acc[2] = {_mm256_setzero_ps(), _mm256_setzero_ps()};
	uint8_t q[256];
	float ds[16], dm[16];
	for (int b = 0; b < n / 256; b++, w += bb, x += 256) {
		PREFETCH(w, bb);
		if (type == RS_Q6_K) {
			q6_scales16(w, ds);
			q6_codes(w, (int8_t *)q);
			q6_dot_avx2((const int8_t *)q, ds, x, acc);
		} else {
			k_scales8(w, ds, dm);
			q45_codes(w, type == RS_Q5_K, q);
			codes_dot_avx2(q, ds, dm, 32, x, acc);
		}
	}
	return hsum(_mm256_add_ps(acc[0], acc[1]));
}

/* Q4_0: [d][16 bytes], w = d·(q - 8), one exact product. */
AVX2 static float dot_q4_0_avx2(const uint8_t *w, const float *x, int n)
{
	__m256 a = _mm256_setzero_ps(), b = a, c = a, e = a;
	const __m256i m4 = _mm256_set1_epi32(15), k8 = _mm256_set1_epi32(8);
	for (int k = 0; k < n / 32; k++, w += 18, x += 32) {
		if (!(k & 3))
			PREFETCH(w, 72);
		__m256 dv = _mm256_broadcast_ss(f16_at(w));
		__m256i v0 = _mm256_cvtepu8_epi32(_mm_loadl_epi64((const __m128i *)(w + 2)));
		__m256i v1 = _mm256_cvtepu8_epi32(_mm_loadl_epi64((const __m128i *)(w + 10)));
		__m256 l0 = _mm256_cvtepi32_ps(_mm256_sub_epi32(_mm256_and_si256(v0, m4), k8));
		__m256 l1 = _mm256_cvtepi32_ps(_mm256_sub_epi32(_mm256_and_si256(v1, m4), k8));
		__m256 h0 = _mm256_cvtepi32_ps(_mm256_sub_epi32(_mm256_srli_epi32(v0, 4), k8));
		__m256 h1 = _mm256_cvtepi32_ps(_mm256_sub_epi32(_mm256_srli_epi32(v1, 4), k8));
		a = _mm256_fmadd_ps(_mm256_mul_ps(dv, l0), _mm256_loadu_ps(x), a);
		b = _mm256_fmadd_ps(_mm256_mul_ps(dv, l1), _mm256_loadu_ps(x + 8), b);
		c = _mm256_fmadd_ps(_mm256_mul_ps(dv, h0), _mm256_loadu_ps(x + 16), c);
		e = _mm256_fmadd_ps(_mm256_mul_ps(dv, h1), _mm256_loadu_ps(x + 24), e);
	}
	return hsum(_mm256_add_ps(_mm256_add_ps(a, b), _mm256_add_ps(c, e)));
}

/* The 4-, 5- and 6-bit types as f32 (bit-identical to rs_dequant_row); VL is
 * 8 (this tier) or 16 (AVX-512 passes its own store). */
typedef void (*store_fn)(float *dst, const uint8_t *q, float ds, float dm, int len, int sgn);

/* sgn: the codes are signed and w = ds·q */
AVX2 static void store8(float *dst, const uint8_t *q, float ds, float dm, int len, int sgn)
{
	__m256 s = _mm256_set1_ps(ds), m = _mm256_set1_ps(dm);
	if (sgn)
		for (int i = 0; i < len; i += 8)
			_mm256_storeu_ps(dst + i, _mm256_mul_ps(s, i8x8((const int8_t *)q + i)));
	else
		for (int i = 0; i < len; i += 8)
			_mm256_storeu_ps(dst + i, _mm256_fmsub_ps(s, u8x8(q + i), m));
}

AVX2 static inline void dequant_codes(int type, const uint8_t *w, float *dst, int64_t n, store_fn st)
{
	uint8_t q[256];
	float ds[16], dm[16];
	if (type == RS_Q4_0) {
		for (int64_t b = 0; b < n / 32; b++, w += 18, dst += 32) {
			q4_0_codes(w, (int8_t *)q);
			st(dst, q, half_x(w), 0.0f, 32, 1);
		}
		return;
	}
	size_t bb = rs_dtype_row_bytes(type, 256);
	for (int64_t b = 0; b < n / 256; b++, w += bb, dst += 256) {
		int g = 32;
		if (type == RS_Q6_K) {
			q6_scales16(w, ds);
			q6_codes(w, (int8_t *)q);
			memset(dm, 0, sizeof dm);
			g = 16;
		} else {
			k_scales8(w, ds, dm);
			q45_codes(w, type == RS_Q5_K, q);
		}
		for (int k = 0; k < 256 / g; k++)
			st(dst + k * g, q + k * g, ds[k], dm[k], g, g == 16);
	}
}

/* Q4_K with the scales factored out: Σ w·x = Σ_j ds_j·Σ q·x − Σ_j dm_j·Σx_j,
 * the sums of x over each 32 (xs) computed once a token, not once a row. The
 * codes are read from the packed nibbles (no byte buffer): about 7 operations
 * a 16 weights against 9.5 for fmsub(ds, q, dm)·x. The error is bounded by
 * |ds·q|·|x| + |dm|·|x| a term, not |w·x| (test_kernels bounds it so). */
AVX2 static float dot_q4_k_avx2_xs(const uint8_t *w, const float *x, const float *xs, int n)
{
	__m256 a0 = _mm256_setzero_ps(), a1 = a0, am = a0;
	const __m256i m4 = _mm256_set1_epi32(15);
	float ds[8], dm[8];
	for (int b = 0; b < n / 256; b++, w += 144, x += 256, xs += 8) {
		PREFETCH(w, 144);
		k_scales8(w, ds, dm);
		am = _mm256_fmadd_ps(_mm256_loadu_ps(dm), _mm256_loadu_ps(xs), am);
		const uint8_t *qs = w + 16;
		for (int c = 0; c < 4; c++) { /* sub-blocks 2c (low nibbles) and 2c + 1 (high) */
			__m256 s0 = _mm256_setzero_ps(), s1 = s0;
			for (int i = 0; i < 32; i += 8) {
				__m256i v = _mm256_cvtepu8_epi32(_mm_loadl_epi64((const __m128i *)(qs + 32 * c + i)));
				s0 = _mm256_fmadd_ps(_mm256_cvtepi32_ps(_mm256_and_si256(v, m4)), _mm256_loadu_ps(x + 64 * c + i),
						     s0);
				s1 = _mm256_fmadd_ps(_mm256_cvtepi32_ps(_mm256_srli_epi32(v, 4)),
						     _mm256_loadu_ps(x + 64 * c + 32 + i), s1);
			}
			a0 = _mm256_fmadd_ps(s0, _mm256_set1_ps(ds[2 * c]), a0);
			a1 = _mm256_fmadd_ps(s1, _mm256_set1_ps(ds[2 * c + 1]), a1);
		}
	}
	return hsum(_mm256_add_ps(a0, a1)) - hsum(am);
}

/* xs[g] = Σ x[32g .. 32g+31] for the Q4_K kernel above. */
AVX2 static void sums32_avx2(const float *x, int n, float *xs)
{
	for (int g = 0; g < n / 32; g++, x += 32)
		xs[g] = hsum(_mm256_add_ps(_mm256_add_ps(_mm256_loadu_ps(x), _mm256_loadu_ps(x + 8)),
					   _mm256_add_ps(_mm256_loadu_ps(x + 16), _mm256_loadu_ps(x + 24))));
}

AVX2 static float dot_row_avx2(int type, const void *row, const float *x, int n)
{
	switch (type) {
	case RS_F32: return dot_f32_avx2(row, x, n);
	case RS_F16: return dot_f16_avx2(row, x, n);
	case RS_BF16: return dot_bf16_avx2(row, x, n);
	case RS_Q8_0: return dot_q8_0_avx2(row, x, n);
	case RS_Q4_0: return dot_q4_0_avx2(row, x, n);
	default: return dot_kq_avx2(type, row, x, n);
	}
}

AVX2 static void dequant_f16_avx2(const uint16_t *w, float *dst, int64_t n)
{
	int64_t i = 0;
	for (; i + 8 <= n; i += 8)
		_mm256_storeu_ps(dst + i, _mm256_cvtph_ps(_mm_loadu_si128((const __m128i *)(w + i))));
	for (; i < n; i++)
		dst[i] = rs_f16_to_f32(w[i]);
}

AVX2 static void dequant_bf16_avx2(const uint16_t *w, float *dst, int64_t n)
{
	int64_t i = 0;
	for (; i + 8 <= n; i += 8)
		_mm256_storeu_ps(dst + i, bf16x8(w + i));
	for (; i < n; i++)
		dst[i] = rs_bf16_to_f32(w[i]);
}

AVX2 static void dequant_q8_0_avx2(const uint8_t *w, float *dst, int64_t n)
{
	for (int64_t b = 0; b < n / RS_QK8_0; b++, w += 34, dst += RS_QK8_0) {
		uint16_t dh;
		memcpy(&dh, w, 2);
		__m256 d = _mm256_set1_ps(_cvtsh_ss(dh));
		const int8_t *q = (const int8_t *)(w + 2);
		for (int j = 0; j < RS_QK8_0; j += 8)
			_mm256_storeu_ps(dst + j, _mm256_mul_ps(d, i8x8(q + j)));
	}
}

/* ---------------------------------------------------------------- AVX-512 */
#define AVX512 __attribute__((target("avx512f,avx512bw,avx512vl,avx2,fma,f16c")))

AVX512 static inline __m512 bf16x16(const uint16_t *p)
{
	__m512i v = _mm512_cvtepu16_epi32(_mm256_loadu_si256((const __m256i *)p));
	return _mm512_castsi512_ps(_mm512_slli_epi32(v, 16));
}

#define LOAD16_F32(p) _mm512_loadu_ps(p)
#define LOAD16_F16(p) _mm512_cvtph_ps(_mm256_loadu_si256((const __m256i *)(p)))
#define LOAD16_BF16(p) bf16x16(p)

/* As DEF_DOT, sixteen lanes: four chains of sixteen, then the tail in scalar. */
#define DEF_DOT512(name, T, LOAD16, SCALAR) \
	AVX512 static float name(const T *w, const float *x, int n) \
	{ \
		__m512 a = _mm512_setzero_ps(), b = a, c = a, d = a; \
		int i = 0; \
		for (; i + 64 <= n; i += 64) { \
			PREFETCH(w + i, 64 * sizeof(T)); \
			a = _mm512_fmadd_ps(LOAD16(w + i), _mm512_loadu_ps(x + i), a); \
			b = _mm512_fmadd_ps(LOAD16(w + i + 16), _mm512_loadu_ps(x + i + 16), b); \
			c = _mm512_fmadd_ps(LOAD16(w + i + 32), _mm512_loadu_ps(x + i + 32), c); \
			d = _mm512_fmadd_ps(LOAD16(w + i + 48), _mm512_loadu_ps(x + i + 48), d); \
		} \
		for (; i + 16 <= n; i += 16) \
			a = _mm512_fmadd_ps(LOAD16(w + i), _mm512_loadu_ps(x + i), a); \
		float s = _mm512_reduce_add_ps(_mm512_add_ps(_mm512_add_ps(a, b), _mm512_add_ps(c, d))); \
		for (; i < n; i++) \
			s += SCALAR(w[i]) * x[i]; \
		return s; \
	}

DEF_DOT512(dot_f32_avx512, float, LOAD16_F32, AS_FLOAT)
DEF_DOT512(dot_f16_avx512, uint16_t, LOAD16_F16, rs_f16_to_f32)
DEF_DOT512(dot_bf16_avx512, uint16_t, LOAD16_BF16, rs_bf16_to_f32)

AVX512 static inline __m512 i8x16(const int8_t *p)
{
	return _mm512_cvtepi32_ps(_mm512_cvtepi8_epi32(_mm_loadu_si128((const __m128i *)p)));
}

/* One block of 32: d · Σ q·x, added into acc. */
AVX512 static inline __m512 q8_block512(const uint8_t *b, const float *x, __m512 acc)
{
	uint16_t dh;
	memcpy(&dh, b, 2);
	const int8_t *q = (const int8_t *)(b + 2);
	__m512 s = _mm512_mul_ps(i8x16(q), _mm512_loadu_ps(x));
	s = _mm512_fmadd_ps(i8x16(q + 16), _mm512_loadu_ps(x + 16), s);
	return _mm512_fmadd_ps(_mm512_set1_ps(f16_table[dh]), s, acc);
}

/* Four blocks (136 bytes, three lines to prefetch) a round, four chains. */
AVX512 static float dot_q8_0_avx512(const uint8_t *w, const float *x, int n)
{
	__m512 a = _mm512_setzero_ps(), b = a, c = a, d = a;
	int nb = n / RS_QK8_0, k = 0;
	for (; k + 4 <= nb; k += 4) {
		const uint8_t *p = w + (size_t)k * 34;
		PREFETCH(p, 136);
		a = q8_block512(p, x + k * RS_QK8_0, a);
		b = q8_block512(p + 34, x + (k + 1) * RS_QK8_0, b);
		c = q8_block512(p + 68, x + (k + 2) * RS_QK8_0, c);
		d = q8_block512(p + 102, x + (k + 3) * RS_QK8_0, d);
	}
	for (; k < nb; k++)
		a = q8_block512(w + (size_t)k * 34, x + k * RS_QK8_0, a);
	return _mm512_reduce_add_ps(_mm512_add_ps(_mm512_add_ps(a, b), _mm512_add_ps(c, d)));
}

AVX512 static inline __m512 u8x16(const uint8_t *p)
{
	return _mm512_cvtepi32_ps(_mm512_cvtepu8_epi32(_mm_loadu_si128((const __m128i *)p)));
}

/* Q4_K: the sixteen weights a sub-block can hold, fmsub(ds, j, dm) for j < 16,
 * fill one register; vpermps picks each element's by its nibble (it reads
 * only the index's low four bits). Q5_K: 32 values in two registers, vpermt2ps. */
AVX512 static float dot_q4_k_avx512(const uint8_t *w, const float *x, int n)
{
	__m512 a0 = _mm512_setzero_ps(), a1 = a0, a2 = a0, a3 = a0;
	const __m512 iota = _mm512_setr_ps(0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15);
	float ds[8], dm[8];
	for (int b = 0; b < n / 256; b++, w += 144, x += 256) {
		PREFETCH(w, 144);
		k_scales8(w, ds, dm);
		const uint8_t *qs = w + 16;
		for (int c = 0; c < 4; c++) {
			__m512 t0 = _mm512_fmsub_ps(_mm512_set1_ps(ds[2 * c]), iota, _mm512_set1_ps(dm[2 * c]));
			__m512 t1 = _mm512_fmsub_ps(_mm512_set1_ps(ds[2 * c + 1]), iota, _mm512_set1_ps(dm[2 * c + 1]));
			__m512i v0 = _mm512_cvtepu8_epi32(_mm_loadu_si128((const __m128i *)(qs + 32 * c)));
			__m512i v1 = _mm512_cvtepu8_epi32(_mm_loadu_si128((const __m128i *)(qs + 32 * c + 16)));
			const float *xc = x + 64 * c;
			a0 = _mm512_fmadd_ps(_mm512_permutexvar_ps(v0, t0), _mm512_loadu_ps(xc), a0);
			a1 = _mm512_fmadd_ps(_mm512_permutexvar_ps(v1, t0), _mm512_loadu_ps(xc + 16), a1);
			a2 = _mm512_fmadd_ps(_mm512_permutexvar_ps(_mm512_srli_epi32(v0, 4), t1), _mm512_loadu_ps(xc + 32), a2);
			a3 = _mm512_fmadd_ps(_mm512_permutexvar_ps(_mm512_srli_epi32(v1, 4), t1), _mm512_loadu_ps(xc + 48), a3);
		}
	}
	return _mm512_reduce_add_ps(_mm512_add_ps(_mm512_add_ps(a0, a1), _mm512_add_ps(a2, a3)));
}

AVX512 static float dot_q5_k_avx512(const uint8_t *w, const float *x, int n)
{
	__m512 a0 = _mm512_setzero_ps(), a1 = a0, a2 = a0, a3 = a0;
	const __m512 iota = _mm512_setr_ps(0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15);
	const __m512 iota16 = _mm512_add_ps(iota, _mm512_set1_ps(16.0f));
	const __m512i m16 = _mm512_set1_epi32(16);
	float ds[8], dm[8];
	for (int b = 0; b < n / 256; b++, w += 176, x += 256) {
		PREFETCH(w, 176);
		k_scales8(w, ds, dm);
		const uint8_t *qs = w + 48;
		/* qh[l] << 4: bit 2c+h of it is the fifth bit of sub-block 2c+h */
		__m512i h0 = _mm512_slli_epi32(_mm512_cvtepu8_epi32(_mm_loadu_si128((const __m128i *)(w + 16))), 4);
		__m512i h1 = _mm512_slli_epi32(_mm512_cvtepu8_epi32(_mm_loadu_si128((const __m128i *)(w + 32))), 4);
		for (int c = 0; c < 4; c++) {
			__m512 s0 = _mm512_set1_ps(ds[2 * c]), m0 = _mm512_set1_ps(dm[2 * c]);
			__m512 s1 = _mm512_set1_ps(ds[2 * c + 1]), m1 = _mm512_set1_ps(dm[2 * c + 1]);
			__m512 t0 = _mm512_fmsub_ps(s0, iota, m0), u0 = _mm512_fmsub_ps(s0, iota16, m0);
			__m512 t1 = _mm512_fmsub_ps(s1, iota, m1), u1 = _mm512_fmsub_ps(s1, iota16, m1);
			__m512i v0 = _mm512_cvtepu8_epi32(_mm_loadu_si128((const __m128i *)(qs + 32 * c)));
			__m512i v1 = _mm512_cvtepu8_epi32(_mm_loadu_si128((const __m128i *)(qs + 32 * c + 16)));
			/* index = the nibble in bits 0-3, the fifth bit in bit 4 (0xD8: m16 ? B : A) */
			__m512i i0 = _mm512_ternarylogic_epi32(v0, _mm512_srli_epi32(h0, 2 * c), m16, 0xD8);
			__m512i i1 = _mm512_ternarylogic_epi32(v1, _mm512_srli_epi32(h1, 2 * c), m16, 0xD8);
			__m512i j0 = _mm512_ternarylogic_epi32(_mm512_srli_epi32(v0, 4), _mm512_srli_epi32(h0, 2 * c + 1), m16, 0xD8);
			__m512i j1 = _mm512_ternarylogic_epi32(_mm512_srli_epi32(v1, 4), _mm512_srli_epi32(h1, 2 * c + 1), m16, 0xD8);
			const float *xc = x + 64 * c;
			a0 = _mm512_fmadd_ps(_mm512_permutex2var_ps(t0, i0, u0), _mm512_loadu_ps(xc), a0);
			a1 = _mm512_fmadd_ps(_mm512_permutex2var_ps(t0, i1, u0), _mm512_loadu_ps(xc + 16), a1);
			a2 = _mm512_fmadd_ps(_mm512_permutex2var_ps(t1, j0, u1), _mm512_loadu_ps(xc + 32), a2);
			a3 = _mm512_fmadd_ps(_mm512_permutex2var_ps(t1, j1, u1), _mm512_loadu_ps(xc + 48), a3);
		}
	}
	return _mm512_reduce_add_ps(_mm512_add_ps(_mm512_add_ps(a0, a1), _mm512_add_ps(a2, a3)));
}

/* Q6_K: byte codes as in the AVX2 tier, then sixteen at a time. */
AVX512 static float dot_q6_k_avx512(const uint8_t *w, const float *x, int n)
{
	__m512 acc[4] = {_mm512_setzero_ps(), _mm512_setzero_ps(), _mm512_setzero_ps(), _mm512_setzero_ps()};
	int8_t q[256];
	float ds[16];
	for (int b = 0; b < n / 256; b++, w += 210, x += 256) {
		PREFETCH(w, 210);
		__m512 d = _mm512_set1_ps(half_x(w + 208));
		_mm512_storeu_ps(ds, _mm512_mul_ps(d, _mm512_cvtepi32_ps(_mm512_cvtepi8_epi32(_mm_loadu_si128((const __m128i *)(w + 192))))));
		q6_codes(w, q);
		for (int g = 0; g < 16; g++)
			acc[g & 3] = _mm512_fmadd_ps(_mm512_mul_ps(_mm512_set1_ps(ds[g]), i8x16(q + 16 * g)),
						     _mm512_loadu_ps(x + 16 * g), acc[g & 3]);
	}
	return _mm512_reduce_add_ps(_mm512_add_ps(_mm512_add_ps(acc[0], acc[1]), _mm512_add_ps(acc[2], acc[3])));
}

/* Q4_0: the sixteen values d·(j - 8) in one register, as Q4_K. */
AVX512 static float dot_q4_0_avx512(const uint8_t *w, const float *x, int n)
{
	__m512 a = _mm512_setzero_ps(), b = a, c = a, e = a;
	const __m512 iota8 = _mm512_setr_ps(-8, -7, -6, -5, -4, -3, -2, -1, 0, 1, 2, 3, 4, 5, 6, 7);
	int nb = n / 32, k = 0;
	for (; k + 2 <= nb; k += 2, w += 36, x += 64) {
		if (!(k & 2))
			PREFETCH(w, 72);
		__m512 t0 = _mm512_mul_ps(_mm512_set1_ps(*f16_at(w)), iota8);
		__m512 t1 = _mm512_mul_ps(_mm512_set1_ps(*f16_at(w + 18)), iota8);
		__m512i v0 = _mm512_cvtepu8_epi32(_mm_loadu_si128((const __m128i *)(w + 2)));
		__m512i v1 = _mm512_cvtepu8_epi32(_mm_loadu_si128((const __m128i *)(w + 20)));
		a = _mm512_fmadd_ps(_mm512_permutexvar_ps(v0, t0), _mm512_loadu_ps(x), a);
		b = _mm512_fmadd_ps(_mm512_permutexvar_ps(_mm512_srli_epi32(v0, 4), t0), _mm512_loadu_ps(x + 16), b);
		c = _mm512_fmadd_ps(_mm512_permutexvar_ps(v1, t1), _mm512_loadu_ps(x + 32), c);
		e = _mm512_fmadd_ps(_mm512_permutexvar_ps(_mm512_srli_epi32(v1, 4), t1), _mm512_loadu_ps(x + 48), e);
	}
	if (k < nb) {
		__m512 t0 = _mm512_mul_ps(_mm512_set1_ps(*f16_at(w)), iota8);
		__m512i v0 = _mm512_cvtepu8_epi32(_mm_loadu_si128((const __m128i *)(w + 2)));
		a = _mm512_fmadd_ps(_mm512_permutexvar_ps(v0, t0), _mm512_loadu_ps(x), a);
		b = _mm512_fmadd_ps(_mm512_permutexvar_ps(_mm512_srli_epi32(v0, 4), t0), _mm512_loadu_ps(x + 16), b);
	}
	return _mm512_reduce_add_ps(_mm512_add_ps(_mm512_add_ps(a, b), _mm512_add_ps(c, e)));
}

AVX512 static float dot_row_avx512(int type, const void *row, const float *x, int n)
{
	switch (type) {
	case RS_F32: return dot_f32_avx512(row, x, n);
	case RS_F16: return dot_f16_avx512(row, x, n);
	case RS_BF16: return dot_bf16_avx512(row, x, n);
	case RS_Q8_0: return dot_q8_0_avx512(row, x, n);
	case RS_Q4_0: return dot_q4_0_avx512(row, x, n);
	case RS_Q4_K: return dot_q4_k_avx512(row, x, n);
	case RS_Q5_K: return dot_q5_k_avx512(row, x, n);
	default: return dot_q6_k_avx512(row, x, n);
	}
}

AVX512 static void store16(float *dst, const uint8_t *q, float ds, float dm, int len, int sgn)
{
	__m512 s = _mm512_set1_ps(ds), m = _mm512_set1_ps(dm);
	if (sgn)
		for (int i = 0; i < len; i += 16)
			_mm512_storeu_ps(dst + i, _mm512_mul_ps(s, i8x16((const int8_t *)q + i)));
	else
		for (int i = 0; i < len; i += 16)
			_mm512_storeu_ps(dst + i, _mm512_fmsub_ps(s, u8x16(q + i), m));
}

/* Dequantized rows are bit-identical in every tier: the conversions are exact. */
AVX512 static int dequant_avx512(int type, const void *row, float *dst, int64_t n)
{
	int64_t i = 0;
	if (type == RS_F16) {
		const uint16_t *w = row;
		for (; i + 16 <= n; i += 16)
			_mm512_storeu_ps(dst + i, LOAD16_F16(w + i));
		for (; i < n; i++)
			dst[i] = rs_f16_to_f32(w[i]);
		return 1;
	}
	if (type == RS_BF16) {
		const uint16_t *w = row;
		for (; i + 16 <= n; i += 16)
			_mm512_storeu_ps(dst + i, bf16x16(w + i));
		for (; i < n; i++)
			dst[i] = rs_bf16_to_f32(w[i]);
		return 1;
	}
	if (type == RS_Q4_K) { /* as dot_q4_k_avx512: each sub-block's 16 values, picked by nibble */
		const uint8_t *w = row;
		const __m512 iota = _mm512_setr_ps(0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15);
		float ds[8], dm[8];
		for (int64_t b = 0; b < n / 256; b++, w += 144, dst += 256) {
			k_scales8(w, ds, dm);
			for (int c = 0; c < 4; c++) {
				__m512 t0 = _mm512_fmsub_ps(_mm512_set1_ps(ds[2 * c]), iota, _mm512_set1_ps(dm[2 * c]));
				__m512 t1 = _mm512_fmsub_ps(_mm512_set1_ps(ds[2 * c + 1]), iota, _mm512_set1_ps(dm[2 * c + 1]));
				__m512i v0 = _mm512_cvtepu8_epi32(_mm_loadu_si128((const __m128i *)(w + 16 + 32 * c)));
				__m512i v1 = _mm512_cvtepu8_epi32(_mm_loadu_si128((const __m128i *)(w + 32 + 32 * c)));
				_mm512_storeu_ps(dst + 64 * c, _mm512_permutexvar_ps(v0, t0));
				_mm512_storeu_ps(dst + 64 * c + 16, _mm512_permutexvar_ps(v1, t0));
				_mm512_storeu_ps(dst + 64 * c + 32, _mm512_permutexvar_ps(_mm512_srli_epi32(v0, 4), t1));
				_mm512_storeu_ps(dst + 64 * c + 48, _mm512_permutexvar_ps(_mm512_srli_epi32(v1, 4), t1));
			}
		}
		return 1;
	}
	if (type == RS_Q6_K) {
		const uint8_t *w = row;
		int8_t q[256];
		for (int64_t b = 0; b < n / 256; b++, w += 210, dst += 256) {
			__m512 s = _mm512_mul_ps(_mm512_set1_ps(half_x(w + 208)),
						 _mm512_cvtepi32_ps(_mm512_cvtepi8_epi32(_mm_loadu_si128((const __m128i *)(w + 192)))));
			float ds[16];
			_mm512_storeu_ps(ds, s);
			q6_codes(w, q);
			for (int g = 0; g < 16; g++)
				_mm512_storeu_ps(dst + 16 * g, _mm512_mul_ps(_mm512_set1_ps(ds[g]), i8x16(q + 16 * g)));
		}
		return 1;
	}
	if (type == RS_Q4_0 || type == RS_Q5_K) {
		dequant_codes(type, row, dst, n, store16);
		return 1;
	}
	if (type == RS_Q8_0) {
		const uint8_t *w = row;
		for (int64_t b = 0; b < n / RS_QK8_0; b++, w += 34, dst += RS_QK8_0) {
			uint16_t dh;
			memcpy(&dh, w, 2);
			__m512 d = _mm512_set1_ps(_cvtsh_ss(dh));
			const int8_t *q = (const int8_t *)(w + 2);
			_mm512_storeu_ps(dst, _mm512_mul_ps(d, i8x16(q)));
			_mm512_storeu_ps(dst + 16, _mm512_mul_ps(d, i8x16(q + 16)));
		}
		return 1;
	}
	return 0;
}
#endif

/* ---------------------------------------------------------------- dispatch */
static const char *const tier_names[KERN_N_TIERS] = {"scalar", "avx2", "avx512", "amx"};
static kern_tier best_tier, tier;
static char tier_note[96];
static pthread_once_t tier_once = PTHREAD_ONCE_INIT;

static void choose_tier(void)
{
	for (int h = 0; h < 65536; h++)
		f16_table[h] = rs_f16_to_f32((uint16_t)h);
	best_tier = KERN_SCALAR;
#if HAVE_X86
	__builtin_cpu_init();
	if (__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma") && __builtin_cpu_supports("f16c"))
		best_tier = KERN_AVX2;
	if (best_tier == KERN_AVX2 && __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw") &&
	    __builtin_cpu_supports("avx512vl"))
		best_tier = KERN_AVX512;
	if (best_tier == KERN_AVX512 && amx_request())
		best_tier = KERN_AMX;
#endif
	tier = best_tier;
	const char *want = getenv("RESIDUAL_SIMD");
	if (!want || !*want)
		return;
	int k = kern_tier_parse(want);
	if (k < 0)
		snprintf(tier_note, sizeof tier_note, "RESIDUAL_SIMD=%.40s is not scalar, avx2, avx512 or amx", want);
	else if ((kern_tier)k > best_tier)
		snprintf(tier_note, sizeof tier_note, "RESIDUAL_SIMD=%s: this CPU has only %s", tier_names[k],
			 tier_names[best_tier]);
	else
		tier = (kern_tier)k;
}

kern_tier kern_tier_in_use(void)
{
	pthread_once(&tier_once, choose_tier);
	return tier;
}

kern_tier kern_tier_best(void)
{
	pthread_once(&tier_once, choose_tier);
	return best_tier;
}

const char *kern_tier_name(kern_tier t)
{
	return t < KERN_N_TIERS ? tier_names[t] : "?";
}

int kern_tier_parse(const char *name)
{
	for (int k = 0; k < KERN_N_TIERS; k++)
		if (!strcmp(name, tier_names[k]))
			return k;
	return -1;
}

const char *kern_tier_note(void)
{
	pthread_once(&tier_once, choose_tier);
	return tier_note;
}

float kern_dot_f32(const float *a, const float *b, int n)
{
#if HAVE_X86
	switch (kern_tier_in_use()) {
	case KERN_AVX512:
	case KERN_AMX: return dot_f32_avx512(a, b, n);
	case KERN_AVX2: return dot_f32_avx2(a, b, n);
	default: break;
	}
#endif
	return dot_f32_scalar(a, b, n);
}

typedef struct matvec_job {
	float *y;
	const float *x;
	const rs_mat *W;
	int n;
	kern_tier tier;
	const kern_q8x *xq; /* the fast path (kernels_q8.c): x quantized, one token */
	const float *xs;    /* AVX2 Q4_K: x's sums over each 32, [n][cols / 32] */
	int64_t chunk, n_chunks;
	atomic_int_fast64_t next;
} matvec_job;

static float dot_row(kern_tier t, int type, const void *row, const float *x, int n)
{
#if HAVE_X86
	if (t >= KERN_AVX512)
		return dot_row_avx512(type, row, x, n);
	if (t == KERN_AVX2)
		return dot_row_avx2(type, row, x, n);
#endif
	return dot_row_scalar(type, row, x, n);
}

static void matvec_rows(void *ctx, int64_t r0, int64_t r1)
{
	const matvec_job *j = ctx;
	const rs_mat *W = j->W;
	int cols = (int)W->cols;
	for (int64_t r = r0; r < r1; r++) {
		const void *row = (const uint8_t *)W->data + (size_t)r * W->row_bytes;
		if (j->xq) {
			j->y[r] = kern_q8_dot(j->tier, W->type, row, j->xq);
			continue;
		}
#if HAVE_X86
		if (j->xs) {
			for (int t = 0; t < j->n; t++)
				j->y[(size_t)t * W->rows + r] = dot_q4_k_avx2_xs(row, j->x + (size_t)t * cols,
										 j->xs + (size_t)t * (cols / 32), cols);
			continue;
		}
#endif
		for (int t = 0; t < j->n; t++)
			j->y[(size_t)t * W->rows + r] = dot_row(j->tier, W->type, row, j->x + (size_t)t * cols, cols);
	}
}

/* Each thread takes the next chunk of rows until none is left: an even split
 * when the threads run alike, and when the machine is shared a thread that
 * starts late (or is preempted) does less, instead of the others waiting for it. */
static void matvec_chunks(void *ctx, int64_t a, int64_t b)
{
	matvec_job *j = ctx;
	int64_t c;
	while ((c = atomic_fetch_add_explicit(&j->next, 1, memory_order_relaxed)) < j->n_chunks) {
		int64_t r0 = c * j->chunk, r1 = r0 + j->chunk < j->W->rows ? r0 + j->chunk : j->W->rows;
		matvec_rows(j, r0, r1);
	}
}

static void matvec_run(matvec_job *j);

void kern_matvec(float *y, const float *x, const rs_mat *W, int n)
{
	matvec_job j = {.y = y, .x = x, .W = W, .n = n, .tier = kern_tier_in_use()};
#if HAVE_X86
	float *xs = NULL;
	if (j.tier == KERN_AVX2 && W->type == RS_Q4_K && (xs = malloc(sizeof(float) * (size_t)n * (W->cols / 32)))) {
		for (int t = 0; t < n; t++)
			sums32_avx2(x + (size_t)t * W->cols, (int)W->cols, xs + (size_t)t * (W->cols / 32));
		j.xs = xs;
	}
	matvec_run(&j);
	free(xs);
#else
	matvec_run(&j);
#endif
}

void kern_matvec_q8(float *y, const float *x, const rs_mat *W)
{
	kern_q8x xq;
	if (!kern_q8_supports(W->type) || kern_q8_quantize(&xq, x, (int)W->cols, kern_q8_block(W->type))) {
		kern_matvec(y, x, W, 1);
		return;
	}
	matvec_job j = {.y = y, .x = x, .W = W, .n = 1, .tier = kern_tier_in_use(), .xq = &xq};
	matvec_run(&j);
	kern_q8x_free(&xq);
}

static void matvec_run(matvec_job *j)
{
	const rs_mat *W = j->W;
	/* at least ~256K weights per thread: below that, waking a thread costs more
	 * than it saves (measured on the built-in model's 192-wide matrices) */
	int64_t min_rows = 262144 / W->cols + 1;
	int threads = pool_threads();
	if (threads < 2 || W->rows < 2 * min_rows) {
		matvec_rows(j, 0, W->rows);
		return;
	}
	/* four chunks per thread, each at least min_rows (long runs keep the prefetch useful) */
	j->chunk = W->rows / (4 * threads) > min_rows ? W->rows / (4 * threads) : min_rows;
	j->n_chunks = (W->rows + j->chunk - 1) / j->chunk;
	atomic_init(&j->next, 0);
	pool_for(threads, 1, matvec_chunks, j);
}

typedef struct dequant_job {
	const rs_mat *W;
	int64_t r0;
	float *dst;
	kern_tier tier;
} dequant_job;

#if HAVE_X86
AVX2 static int dequant_avx2(int type, const void *row, float *dst, int64_t n)
{
	switch (type) {
	case RS_F16: dequant_f16_avx2(row, dst, n); return 1;
	case RS_BF16: dequant_bf16_avx2(row, dst, n); return 1;
	case RS_Q8_0: dequant_q8_0_avx2(row, dst, n); return 1;
	case RS_Q4_0: case RS_Q4_K: case RS_Q5_K: case RS_Q6_K: dequant_codes(type, row, dst, n, store8); return 1;
	default: return 0;
	}
}
#endif

/* n values of a row (from a block boundary) as f32 with tier t's kernels,
 * bit-identical to rs_dequant_row, which does the types they lack. */
static void dequant_span(kern_tier t, int type, const void *row, float *dst, int64_t n)
{
#if HAVE_X86
	if (t >= KERN_AVX512 && dequant_avx512(type, row, dst, n))
		return;
	if (t == KERN_AVX2 && dequant_avx2(type, row, dst, n))
		return;
#endif
	rs_dequant_row(type, row, dst, n);
}

static void dequant_rows(void *ctx, int64_t a, int64_t b)
{
	const dequant_job *j = ctx;
	const rs_mat *W = j->W;
	for (int64_t r = a; r < b; r++)
		dequant_span(j->tier, W->type, (const uint8_t *)W->data + (size_t)(j->r0 + r) * W->row_bytes,
			     j->dst + (size_t)r * W->cols, W->cols);
}

void kern_dequant_rows(const rs_mat *W, int64_t r0, int64_t nr, float *dst)
{
	dequant_job j = {W, r0, dst, kern_tier_in_use()};
	pool_for(nr, 65536 / W->cols + 1, dequant_rows, &j);
}

/* ---------------------------------------------------------------- prefill */
/* y[t, r] = Σ_k x[t, k]·W[r, k] for many tokens, without BLAS: W is taken a
 * panel of PW rows at a time (32 in AVX-512, 16 in AVX2), dequantized with the
 * kernels above and transposed into B[k][PW], so that one vector holds a k of
 * PW rows; the micro-kernel multiplies MR tokens by that panel for KC values
 * of k at a time, B's slice staying in L1, each token's x[t, k] broadcast.
 * Every y is a plain sum of K products in k order (f32, one FMA each). */
#define GEMM_KC 256

#if HAVE_X86
/* dst[c][r] = src[r][c], 8 x 8 (rows of src ss apart, of dst ds apart). */
AVX2 static inline void tr8x8(const float *src, int64_t ss, float *dst, int64_t ds)
{
	__m256 r0 = _mm256_loadu_ps(src), r1 = _mm256_loadu_ps(src + ss), r2 = _mm256_loadu_ps(src + 2 * ss),
	       r3 = _mm256_loadu_ps(src + 3 * ss), r4 = _mm256_loadu_ps(src + 4 * ss), r5 = _mm256_loadu_ps(src + 5 * ss),
	       r6 = _mm256_loadu_ps(src + 6 * ss), r7 = _mm256_loadu_ps(src + 7 * ss);
	__m256 t0 = _mm256_unpacklo_ps(r0, r1), t1 = _mm256_unpackhi_ps(r0, r1), t2 = _mm256_unpacklo_ps(r2, r3),
	       t3 = _mm256_unpackhi_ps(r2, r3), t4 = _mm256_unpacklo_ps(r4, r5), t5 = _mm256_unpackhi_ps(r4, r5),
	       t6 = _mm256_unpacklo_ps(r6, r7), t7 = _mm256_unpackhi_ps(r6, r7);
	__m256 u0 = _mm256_shuffle_ps(t0, t2, 0x44), u1 = _mm256_shuffle_ps(t0, t2, 0xEE),
	       u2 = _mm256_shuffle_ps(t1, t3, 0x44), u3 = _mm256_shuffle_ps(t1, t3, 0xEE),
	       u4 = _mm256_shuffle_ps(t4, t6, 0x44), u5 = _mm256_shuffle_ps(t4, t6, 0xEE),
	       u6 = _mm256_shuffle_ps(t5, t7, 0x44), u7 = _mm256_shuffle_ps(t5, t7, 0xEE);
	_mm256_storeu_ps(dst, _mm256_permute2f128_ps(u0, u4, 0x20));
	_mm256_storeu_ps(dst + ds, _mm256_permute2f128_ps(u1, u5, 0x20));
	_mm256_storeu_ps(dst + 2 * ds, _mm256_permute2f128_ps(u2, u6, 0x20));
	_mm256_storeu_ps(dst + 3 * ds, _mm256_permute2f128_ps(u3, u7, 0x20));
	_mm256_storeu_ps(dst + 4 * ds, _mm256_permute2f128_ps(u0, u4, 0x31));
	_mm256_storeu_ps(dst + 5 * ds, _mm256_permute2f128_ps(u1, u5, 0x31));
	_mm256_storeu_ps(dst + 6 * ds, _mm256_permute2f128_ps(u2, u6, 0x31));
	_mm256_storeu_ps(dst + 7 * ds, _mm256_permute2f128_ps(u3, u7, 0x31));
}

/* B[k - klo][pw] = rows r0 .. r0+nr-1 of W (zeros past nr) for klo <= k < khi: 256 values of k at a
 * time are dequantized into tmp [pw][256] and transposed from there, so both
 * steps stay in L1 (dequantizing whole rows first and transposing from L2 took
 * twice as long). */
#define PACK_KB 256
AVX2 static void pack_panel(kern_tier t, const rs_mat *W, int64_t r0, int nr, int pw, float *tmp, float *B,
			    int64_t klo, int64_t khi)
{
	for (int64_t k0 = klo; k0 < khi; k0 += PACK_KB) {
		int64_t kb = khi - k0 < PACK_KB ? khi - k0 : PACK_KB, ss = PACK_KB;
		const float *src = tmp;
		if (W->type == RS_F32 && nr == pw) {
			ss = (int64_t)(W->row_bytes / sizeof(float));
			src = (const float *)W->data + r0 * ss + k0;
		} else {
			size_t off = rs_dtype_row_bytes(W->type, k0);
			for (int i = 0; i < pw; i++) {
				float *d = tmp + i * PACK_KB;
				const void *row = (const uint8_t *)W->data + (size_t)(r0 + i) * W->row_bytes + off;
				if (i >= nr)
					memset(d, 0, sizeof(float) * (size_t)kb);
				else
					dequant_span(t, W->type, row, d, kb);
			}
		}
		float *b = B + (k0 - klo) * pw;
		int64_t k = 0;
		for (; k + 8 <= kb; k += 8)
			for (int i = 0; i < pw; i += 8)
				tr8x8(src + i * ss + k, ss, b + k * pw + i, pw);
		for (; k < kb; k++)
			for (int i = 0; i < pw; i++)
				b[k * pw + i] = src[i * ss + k];
	}
}

/* AVX-512: MR = 12 tokens by 32 rows, 24 accumulators. mt is a constant in
 * each caller (the switch below), so the loops over t unroll away. */
#define MR512 12
__attribute__((always_inline)) AVX512 static inline void mk512(int mt, const float *x, int64_t ldx, const float *B,
							       int64_t k0, int64_t kc, float *y, int64_t ldy,
							       __mmask16 m0, __mmask16 m1, int first, float scale)
{
	__m512 c0[MR512], c1[MR512];
#pragma GCC unroll 12
	for (int t = 0; t < MR512; t++)
		if (t < mt) {
			c0[t] = first ? _mm512_setzero_ps() : _mm512_maskz_loadu_ps(m0, y + t * ldy);
			c1[t] = first ? _mm512_setzero_ps() : _mm512_maskz_loadu_ps(m1, y + t * ldy + 16);
		}
	const float *xk = x + k0;
	for (int64_t k = 0; k < kc; k++, xk++) {
		__m512 b0 = _mm512_loadu_ps(B + (k0 + k) * 32), b1 = _mm512_loadu_ps(B + (k0 + k) * 32 + 16);
#pragma GCC unroll 12
		for (int t = 0; t < MR512; t++)
			if (t < mt) {
				__m512 a = _mm512_set1_ps(xk[t * ldx]);
				c0[t] = _mm512_fmadd_ps(a, b0, c0[t]);
				c1[t] = _mm512_fmadd_ps(a, b1, c1[t]);
			}
	}
	if (scale != 1.0f)
#pragma GCC unroll 12
		for (int t = 0; t < MR512; t++)
			if (t < mt) {
				c0[t] = _mm512_mul_ps(c0[t], _mm512_set1_ps(scale));
				c1[t] = _mm512_mul_ps(c1[t], _mm512_set1_ps(scale));
			}
#pragma GCC unroll 12
	for (int t = 0; t < MR512; t++)
		if (t < mt) {
			_mm512_mask_storeu_ps(y + t * ldy, m0, c0[t]);
			_mm512_mask_storeu_ps(y + t * ldy + 16, m1, c1[t]);
		}
}

AVX512 static void panel512(const float *x, int64_t ldx, int n, int64_t K, const float *B, float *y, int64_t ldy,
			    int nr, float alpha, int acc)
{
	__mmask16 m0 = (__mmask16)(nr >= 16 ? 0xffff : (1u << nr) - 1);
	__mmask16 m1 = (__mmask16)(nr >= 32 ? 0xffff : nr <= 16 ? 0 : (1u << (nr - 16)) - 1);
	for (int64_t k0 = 0; k0 < K; k0 += GEMM_KC) {
		int64_t kc = K - k0 < GEMM_KC ? K - k0 : GEMM_KC;
		for (int t0 = 0; t0 < n; t0 += MR512) {
			const float *xt = x + (size_t)t0 * ldx;
			float *yt = y + (size_t)t0 * ldy;
			int first = k0 == 0 && !acc;
			float scale = k0 + kc == K ? alpha : 1.0f;
			switch (n - t0 < MR512 ? n - t0 : MR512) {
#define MK(m) case m: mk512(m, xt, ldx, B, k0, kc, yt, ldy, m0, m1, first, scale); break;
			MK(1) MK(2) MK(3) MK(4) MK(5) MK(6) MK(7) MK(8) MK(9) MK(10) MK(11) MK(12)
#undef MK
			}
		}
	}
}

/* AVX2: MR = 6 tokens by 16 rows, 12 accumulators. */
#define MR256 6
__attribute__((always_inline)) AVX2 static inline void mk256(int mt, const float *x, int64_t ldx, const float *B,
							     int64_t k0, int64_t kc, float *y, int64_t ldy,
							     __m256i m0, __m256i m1, int first, float scale)
{
	__m256 c0[MR256], c1[MR256];
#pragma GCC unroll 6
	for (int t = 0; t < MR256; t++)
		if (t < mt) {
			c0[t] = first ? _mm256_setzero_ps() : _mm256_maskload_ps(y + t * ldy, m0);
			c1[t] = first ? _mm256_setzero_ps() : _mm256_maskload_ps(y + t * ldy + 8, m1);
		}
	const float *xk = x + k0;
	for (int64_t k = 0; k < kc; k++, xk++) {
		__m256 b0 = _mm256_loadu_ps(B + (k0 + k) * 16), b1 = _mm256_loadu_ps(B + (k0 + k) * 16 + 8);
#pragma GCC unroll 6
		for (int t = 0; t < MR256; t++)
			if (t < mt) {
				__m256 a = _mm256_broadcast_ss(xk + t * ldx);
				c0[t] = _mm256_fmadd_ps(a, b0, c0[t]);
				c1[t] = _mm256_fmadd_ps(a, b1, c1[t]);
			}
	}
	if (scale != 1.0f)
#pragma GCC unroll 6
		for (int t = 0; t < MR256; t++)
			if (t < mt) {
				c0[t] = _mm256_mul_ps(c0[t], _mm256_set1_ps(scale));
				c1[t] = _mm256_mul_ps(c1[t], _mm256_set1_ps(scale));
			}
#pragma GCC unroll 6
	for (int t = 0; t < MR256; t++)
		if (t < mt) {
			_mm256_maskstore_ps(y + t * ldy, m0, c0[t]);
			_mm256_maskstore_ps(y + t * ldy + 8, m1, c1[t]);
		}
}

AVX2 static void panel256(const float *x, int64_t ldx, int n, int64_t K, const float *B, float *y, int64_t ldy,
			  int nr, float alpha, int acc)
{
	const __m256i lane = _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7);
	__m256i m0 = _mm256_cmpgt_epi32(_mm256_set1_epi32(nr), lane);
	__m256i m1 = _mm256_cmpgt_epi32(_mm256_set1_epi32(nr - 8), lane);
	for (int64_t k0 = 0; k0 < K; k0 += GEMM_KC) {
		int64_t kc = K - k0 < GEMM_KC ? K - k0 : GEMM_KC;
		for (int t0 = 0; t0 < n; t0 += MR256) {
			const float *xt = x + (size_t)t0 * ldx;
			float *yt = y + (size_t)t0 * ldy;
			int first = k0 == 0 && !acc;
			float scale = k0 + kc == K ? alpha : 1.0f;
			switch (n - t0 < MR256 ? n - t0 : MR256) {
#define MK(m) case m: mk256(m, xt, ldx, B, k0, kc, yt, ldy, m0, m1, first, scale); break;
			MK(1) MK(2) MK(3) MK(4) MK(5) MK(6)
#undef MK
			}
		}
	}
}

typedef struct gemm_job {
	float *y;
	const float *x;
	const rs_mat *W;
	int n, pw;
	kern_tier tier;
	int64_t n_panels, ldx, ldy, k_lo, k_hi; /* this pass: klo <= k < khi */
	float alpha;
	const float *kmajor; /* instead of W: B[k][r] = kmajor[k·ld_kmajor + r] */
	int64_t ld_kmajor;
	atomic_int_fast64_t next;
} gemm_job;

/* B[k][pw] from a k-major f32 matrix (rows r0 .. r0+nr-1; zeros past nr). */
static void pack_kmajor(const float *src, int64_t ld, int64_t K, int64_t r0, int nr, int pw, float *B)
{
	for (int64_t k = 0; k < K; k++) {
		memcpy(B + k * pw, src + k * ld + r0, sizeof(float) * (size_t)nr);
		memset(B + k * pw + nr, 0, sizeof(float) * (size_t)(pw - nr));
	}
}

/* Each thread takes the next panel until none is left (as matvec_chunks). */
static void gemm_panels(void *ctx, int64_t a, int64_t b)
{
	gemm_job *j = ctx;
	const rs_mat *W = j->W;
	int64_t K = j->k_hi - j->k_lo, p;
	float *tmp = malloc(sizeof(float) * (size_t)(j->pw * (K + PACK_KB)));
	if (!tmp)
		abort();
	float *B = tmp + j->pw * PACK_KB;
	float alpha = j->k_hi == W->cols ? j->alpha : 1.0f; /* the scale once, in the last pass */
	while ((p = atomic_fetch_add_explicit(&j->next, 1, memory_order_relaxed)) < j->n_panels) {
		int64_t r0 = p * j->pw;
		int nr = (int)(W->rows - r0 < j->pw ? W->rows - r0 : j->pw);
		if (j->kmajor)
			pack_kmajor(j->kmajor + j->k_lo * j->ld_kmajor, j->ld_kmajor, K, r0, nr, j->pw, B);
		else
			pack_panel(j->tier, W, r0, nr, j->pw, tmp, B, j->k_lo, j->k_hi);
		if (j->tier >= KERN_AVX512)
			panel512(j->x + j->k_lo, j->ldx, j->n, K, B, j->y + r0, j->ldy, nr, alpha, j->k_lo > 0);
		else
			panel256(j->x + j->k_lo, j->ldx, j->n, K, B, j->y + r0, j->ldy, nr, alpha, j->k_lo > 0);
	}
	free(tmp);
}
#endif

/* The product in passes over k, each a pool_for over the panels: a pass's
 * slice of x (n x KR floats, at most ~1 MB) stays in L2 while every panel
 * uses it. With all of k in one pass, 128 tokens of a 8192-wide x (4 MB) came
 * from L3 once per panel: 100 GFLOP/s per core against 125 at k = 2048. */
static void gemm_passes(gemm_job *j, int threads)
{
	int64_t K = j->W->cols, kr = ((int64_t)1 << 18) / (j->n > 0 ? j->n : 1);
	kr = kr / PACK_KB * PACK_KB;
	if (kr < PACK_KB)
		kr = PACK_KB;
	for (int64_t k0 = 0; k0 < K; k0 += kr) {
		j->k_lo = k0;
		j->k_hi = K - k0 < kr ? K : k0 + kr;
		if (j->k_hi < K && K - j->k_hi < PACK_KB) /* no sliver of a last pass */
			j->k_hi = K;
		atomic_store(&j->next, 0);
		pool_for(threads < j->n_panels ? threads : j->n_panels, 1, gemm_panels, j);
		if (j->k_hi == K)
			break;
	}
}

static int gemm_blas = -1;

void kern_gemm_reread_env(void)
{
	gemm_blas = -1;
}

static int use_blas(void)
{
	if (gemm_blas < 0) { /* a benign race: every thread computes the same value */
		const char *e = getenv("RESIDUAL_GEMM");
		gemm_blas = e && !strcmp(e, "openblas");
	}
	return gemm_blas;
}

#if HAVE_AMX
/* The product on AMX tiles (kernels_amx.c), in passes over k as gemm_passes:
 * a pass packs its slice of x once (the threads split the token tiles), then
 * the threads take pairs of 16-row panels and multiply their slice of W by the
 * packed x: its integer codes and scales where the type has a scale each 32
 * (row_codes), else the f32 rows the AVX-512 kernels dequantize. */
#define AMX_MAX_TOKENS 256  /* more: in chunks of this many, so a pass's x fits L2 */
#define AMX_X_BUDGET 393216   /* bytes of packed x a pass */
#define AMX_YT_BUDGET 8388608 /* bytes of the transposed output at a time */

typedef struct amx_job {
	float *y;
	const float *x;
	const rs_mat *W;
	int n, codes; /* codes: W's type has a scale (and min) each 32 (row_codes) */
	int threads;
	int64_t row0, rows; /* this chunk of W's rows */
	int64_t k_lo, kc, n_pairs;
	uint16_t *Xp;
	float *Xs, *yt; /* yt [rows, ldt]: the output transposed until the end */
	int64_t ldt;
	atomic_int_fast64_t next;
} amx_job;

static int amx_codes_type(int type)
{
	return type == RS_Q8_0 || type == RS_Q4_0 || type == RS_Q4_K || type == RS_Q5_K;
}

/* Codes types with a minimum too (w = ds·q − dm): they need x's sums. */
static int amx_codes_min(int type)
{
	return type == RS_Q4_K || type == RS_Q5_K;
}

/* The codes of n values of a row (n a whole number of blocks) as int8, and
 * each 32's ds and dm, w = ds·q − dm: the numbers dequant_codes multiplies. */
AVX2 static void row_codes(int type, const uint8_t *w, int64_t n, int8_t *q, float *ds, float *dm)
{
	if (type == RS_Q8_0 || type == RS_Q4_0) {
		size_t bb = type == RS_Q8_0 ? 34 : 18;
		for (int64_t b = 0; b < n / 32; b++, w += bb, q += 32) {
			ds[b] = half_x(w);
			dm[b] = 0;
			if (type == RS_Q8_0) {
				memcpy(q, w + 2, 32);
				continue;
			}
			q4_0_codes(w, q);
		}
		return;
	}
	size_t bb = rs_dtype_row_bytes(type, 256);
	for (int64_t b = 0; b < n / 256; b++, w += bb) {
		k_scales8(w, ds + 8 * b, dm + 8 * b);
		q45_codes(w, type == RS_Q5_K, (uint8_t *)q + 256 * b);
	}
}

static void amx_pack_tiles(void *ctx, int64_t a, int64_t b)
{
	const amx_job *j = ctx;
	amx_pack_x(j->x + j->k_lo, j->W->cols, j->n, j->kc, (int)a, (int)b, j->Xp,
		   j->codes && amx_codes_min(j->W->type) ? j->Xs : NULL);
}

/* The codes path for one pair of panels: rows r0 .. r0+nr-1, this pass's
 * values of k from byte off of each row. */
static void amx_pair_codes(amx_job *j, int64_t r0, int nr, size_t off, float *yt, int8_t *q, float *ds, float *dm,
			   uint16_t *Wp, float (*acc)[2][256], const amx_prefetch *pf)
{
	const rs_mat *W = j->W;
	int64_t S = (j->kc + 31) / 32;
	for (int i = 0; i < nr; i++)
		row_codes(W->type, (const uint8_t *)W->data + (size_t)(r0 + i) * W->row_bytes + off, j->kc,
			  q + (size_t)i * j->kc, ds + i * S, dm + i * S);
	amx_panel_pair_codes(q, j->kc, ds, amx_codes_min(W->type) ? dm : NULL, S, nr, j->kc, j->Xp, j->Xs, j->n, yt, j->ldt, j->k_lo > 0,
			     Wp, (float *)(Wp + (size_t)S * 2 * AMX_TILE_ELEMS), acc, pf);
}

static void amx_pairs(void *ctx, int64_t a, int64_t b)
{
	amx_job *j = ctx;
	const rs_mat *W = j->W;
	int64_t p, S = (j->kc + 31) / 32;
	float *w = malloc(sizeof(float) * 32 * (size_t)j->kc + sizeof(float) * 64 * (size_t)S); /* or q, ds, dm */
	uint16_t *Wp = aligned_alloc(64, (size_t)S * 6 * AMX_TILE_BYTES);
	float (*accb)[2][256] = aligned_alloc(64, sizeof(float) * 512 * (size_t)amx_token_tiles(j->n));
	if (!w || !Wp || !accb)
		abort();
	amx_begin();
	size_t span = rs_dtype_row_bytes(W->type, j->kc), off0 = rs_dtype_row_bytes(W->type, j->k_lo);
	int64_t end = j->row0 + j->rows;
	while ((p = atomic_fetch_add_explicit(&j->next, 1, memory_order_relaxed)) < j->n_pairs) {
		int64_t r0 = j->row0 + 32 * p;
		int nr = (int)(end - r0 < 32 ? end - r0 : 32);
		float *yt = j->yt + (r0 - j->row0) * j->ldt;
		/* this pass's weights of the pair this thread likely takes next (the
		 * threads take pairs in turn), on their way to L2 while the tiles
		 * work, a share at each step: reading them when needed cost 12% of a
		 * prefill */
		int64_t next = r0 + 32 * (int64_t)j->threads;
		amx_prefetch pf = {(const uint8_t *)W->data + (size_t)next * W->row_bytes + off0, W->row_bytes, span,
				   (int)(end - next < 32 ? end - next : 32)};
		const amx_prefetch *pfp = next < end ? &pf : NULL;
		if (j->codes) {
			float *ds = w + 8 * (size_t)j->kc; /* after 32·kc bytes of codes */
			amx_pair_codes(j, r0, nr, off0, yt, (int8_t *)w, ds, ds + 32 * S, Wp, accb, pfp);
			continue;
		}
		for (int i = 0; i < nr; i++)
			dequant_span(KERN_AMX, W->type, (const uint8_t *)W->data + (size_t)(r0 + i) * W->row_bytes + off0,
				     w + (size_t)i * j->kc, j->kc);
		amx_panel_pair(w, j->kc, nr, j->kc, j->Xp, j->n, yt, j->ldt, j->k_lo > 0, Wp, pfp);
	}
	amx_end();
	free(accb);
	free(Wp);
	free(w);
}

static void amx_untranspose_blocks(void *ctx, int64_t a, int64_t b)
{
	const amx_job *j = ctx;
	amx_untranspose(j->yt, j->ldt, j->n, j->rows, a, b, j->y + j->row0, j->W->rows);
}

/* 0 when memory for the packed x or the transposed output runs out. */
static int amx_matmul(float *y, const float *x, const rs_mat *W, int n)
{
	int64_t K = W->cols, step = rs_dtype_block(W->type) > 32 ? rs_dtype_block(W->type) : 32;
	int threads = pool_threads();
	for (int t0 = 0; t0 < n; t0 += AMX_MAX_TOKENS) {
		int nt = n - t0 < AMX_MAX_TOKENS ? n - t0 : AMX_MAX_TOKENS, J = amx_token_tiles(nt);
		int64_t kc = AMX_X_BUDGET / ((int64_t)J * 16 * 6) / step * step; /* 3 bf16 an x */
		if (kc < step)
			kc = step;
		/* rows in chunks whose transposed output stays within AMX_YT_BUDGET
		 * (the unembedding has 128K rows); each chunk packs x again */
		int64_t chunk = AMX_YT_BUDGET / ((int64_t)J * 16 * (int64_t)sizeof(float)) / 32 * 32;
		if (chunk < 256)
			chunk = 256;
		if (chunk > W->rows)
			chunk = W->rows;
		amx_job j = {.x = x + (size_t)t0 * K, .W = W, .n = nt, .threads = threads, .codes = amx_codes_type(W->type),
			     .ldt = 16 * (int64_t)J};
		j.Xp = aligned_alloc(64, amx_x_bytes(nt, kc < K ? kc : K));
		j.Xs = malloc(sizeof(float) * (size_t)J * 16 * (size_t)((kc + 31) / 32));
		j.yt = malloc(sizeof(float) * (size_t)j.ldt * (size_t)chunk);
		if (!j.Xp || !j.Xs || !j.yt) {
			free(j.Xp);
			free(j.Xs);
			free(j.yt);
			return 0;
		}
		j.y = y + (size_t)t0 * W->rows;
		for (j.row0 = 0; j.row0 < W->rows; j.row0 += chunk) {
			j.rows = W->rows - j.row0 < chunk ? W->rows - j.row0 : chunk;
			j.n_pairs = (j.rows + 31) / 32;
			for (int64_t k0 = 0; k0 < K; k0 += kc) {
				j.k_lo = k0;
				j.kc = K - k0 < kc ? K - k0 : kc;
				pool_for(J, 1, amx_pack_tiles, &j);
				atomic_init(&j.next, 0);
				pool_for(threads < j.n_pairs ? threads : j.n_pairs, 1, amx_pairs, &j);
			}
			pool_for((j.rows + 15) / 16, 8, amx_untranspose_blocks, &j);
		}
		free(j.Xp);
		free(j.Xs);
		free(j.yt);
	}
	return 1;
}
#endif

int kern_matmul(float *y, const float *x, const rs_mat *W, int n)
{
#if HAVE_X86
	kern_tier t = kern_tier_in_use();
	if (t == KERN_SCALAR || use_blas() || !rs_dtype_name(W->type))
		return 0;
#if HAVE_AMX
	if (t == KERN_AMX && n >= KERN_AMX_MIN_TOKENS && amx_matmul(y, x, W, n))
		return 1;
#endif
	gemm_job j = {.y = y, .x = x, .W = W, .n = n, .pw = t >= KERN_AVX512 ? 32 : 16, .tier = t, .ldx = W->cols,
		      .ldy = W->rows, .alpha = 1.0f};
	j.n_panels = (W->rows + j.pw - 1) / j.pw;
	atomic_init(&j.next, 0);
	gemm_passes(&j, pool_threads());
	return 1;
#else
	return 0;
#endif
}

int kern_sgemm(int n, int rows, int K, const float *x, int64_t ldx, const float *w, int64_t ldw, int w_kmajor,
	       float *y, int64_t ldy, float alpha)
{
#if HAVE_X86
	kern_tier t = kern_tier_in_use();
	if (t == KERN_SCALAR || use_blas() || n < 1 || rows < 1 || K < 1)
		return 0;
	rs_mat W = {(void *)w, RS_F32, rows, K, sizeof(float) * (size_t)ldw};
	gemm_job j = {.y = y, .x = x, .W = &W, .n = n, .pw = t >= KERN_AVX512 ? 32 : 16, .tier = t, .ldx = ldx,
		      .ldy = ldy, .alpha = alpha, .kmajor = w_kmajor ? w : NULL, .ld_kmajor = ldw};
	j.n_panels = (rows + j.pw - 1) / j.pw;
	atomic_init(&j.next, 0);
	int threads = pool_threads();
	/* small products (attention of a short prompt) are not worth a second thread */
	int64_t flops = 2 * (int64_t)n * rows * K;
	if (flops < 4000000)
		threads = 1;
	gemm_passes(&j, threads);
	return 1;
#else
	return 0;
#endif
}

/* ---------------------------------------------------------------- decode attention */
typedef struct attn1_job {
	float *out;
	const float *q, *P, *KV;
	int rep, hd, kvd, Tk;
	float sc;
	kern_tier tier;
} attn1_job;

static void scores1_heads(void *ctx, int64_t h0, int64_t h1)
{
	const attn1_job *j = ctx;
	for (int64_t h = h0; h < h1; h++) {
		const float *Kh = j->KV + (h / j->rep) * j->hd, *qh = j->q + h * j->hd;
		float *A = j->out + h * j->Tk;
		for (int t = 0; t < j->Tk; t++)
			A[t] = j->sc * kern_dot_f32(qh, Kh + (size_t)t * j->kvd, j->hd);
	}
}

#if HAVE_X86
/* z = Σ_t P[t]·V[t, 0..hd), 64 columns at a time, masked past hd. */
AVX512 static void z1_avx512(float *z, const float *P, const float *V, int hd, int kvd, int Tk)
{
	for (int i0 = 0; i0 < hd; i0 += 64) {
		__mmask16 m[4];
		for (int c = 0; c < 4; c++) {
			int left = hd - i0 - 16 * c;
			m[c] = (__mmask16)(left >= 16 ? 0xffff : left <= 0 ? 0 : (1u << left) - 1);
		}
		__m512 a0 = _mm512_setzero_ps(), a1 = a0, a2 = a0, a3 = a0;
		for (int t = 0; t < Tk; t++) {
			const float *v = V + (size_t)t * kvd + i0;
			__m512 p = _mm512_set1_ps(P[t]);
			a0 = _mm512_fmadd_ps(p, _mm512_maskz_loadu_ps(m[0], v), a0);
			a1 = _mm512_fmadd_ps(p, _mm512_maskz_loadu_ps(m[1], v + 16), a1);
			a2 = _mm512_fmadd_ps(p, _mm512_maskz_loadu_ps(m[2], v + 32), a2);
			a3 = _mm512_fmadd_ps(p, _mm512_maskz_loadu_ps(m[3], v + 48), a3);
		}
		_mm512_mask_storeu_ps(z + i0, m[0], a0);
		_mm512_mask_storeu_ps(z + i0 + 16, m[1], a1);
		_mm512_mask_storeu_ps(z + i0 + 32, m[2], a2);
		_mm512_mask_storeu_ps(z + i0 + 48, m[3], a3);
	}
}

AVX2 static void z1_avx2(float *z, const float *P, const float *V, int hd, int kvd, int Tk)
{
	const __m256i lane = _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7);
	for (int i0 = 0; i0 < hd; i0 += 32) {
		__m256i m[4];
		for (int c = 0; c < 4; c++)
			m[c] = _mm256_cmpgt_epi32(_mm256_set1_epi32(hd - i0 - 8 * c), lane);
		__m256 a0 = _mm256_setzero_ps(), a1 = a0, a2 = a0, a3 = a0;
		for (int t = 0; t < Tk; t++) {
			const float *v = V + (size_t)t * kvd + i0;
			__m256 p = _mm256_broadcast_ss(P + t);
			a0 = _mm256_fmadd_ps(p, _mm256_maskload_ps(v, m[0]), a0);
			a1 = _mm256_fmadd_ps(p, _mm256_maskload_ps(v + 8, m[1]), a1);
			a2 = _mm256_fmadd_ps(p, _mm256_maskload_ps(v + 16, m[2]), a2);
			a3 = _mm256_fmadd_ps(p, _mm256_maskload_ps(v + 24, m[3]), a3);
		}
		_mm256_maskstore_ps(z + i0, m[0], a0);
		_mm256_maskstore_ps(z + i0 + 8, m[1], a1);
		_mm256_maskstore_ps(z + i0 + 16, m[2], a2);
		_mm256_maskstore_ps(z + i0 + 24, m[3], a3);
	}
}
#endif

static void z1_heads(void *ctx, int64_t h0, int64_t h1)
{
	const attn1_job *j = ctx;
	for (int64_t h = h0; h < h1; h++) {
		const float *Vh = j->KV + (h / j->rep) * j->hd, *P = j->P + h * j->Tk;
		float *z = j->out + h * j->hd;
#if HAVE_X86
		if (j->tier >= KERN_AVX512) {
			z1_avx512(z, P, Vh, j->hd, j->kvd, j->Tk);
			continue;
		}
		if (j->tier == KERN_AVX2) {
			z1_avx2(z, P, Vh, j->hd, j->kvd, j->Tk);
			continue;
		}
#endif
		memset(z, 0, sizeof(float) * (size_t)j->hd);
		for (int t = 0; t < j->Tk; t++)
			for (int i = 0; i < j->hd; i++)
				z[i] += P[t] * Vh[(size_t)t * j->kvd + i];
	}
}

/* heads per thread: at least ~64K multiply-adds each, or waking a thread costs more */
static int64_t heads_min(int hd, int Tk)
{
	int64_t w = (int64_t)hd * Tk;
	return w >= 65536 ? 1 : 65536 / w + 1;
}

void kern_attn_scores1(float *A, const float *q, const float *K, int H, int rep, int hd, int kvd, int Tk, float sc)
{
	attn1_job j = {.out = A, .q = q, .KV = K, .rep = rep, .hd = hd, .kvd = kvd, .Tk = Tk, .sc = sc,
		       .tier = kern_tier_in_use()};
	pool_for(H, heads_min(hd, Tk), scores1_heads, &j);
}

void kern_attn_z1(float *z, const float *P, const float *V, int H, int rep, int hd, int kvd, int Tk)
{
	attn1_job j = {.out = z, .P = P, .KV = V, .rep = rep, .hd = hd, .kvd = kvd, .Tk = Tk,
		       .tier = kern_tier_in_use()};
	pool_for(H, heads_min(hd, Tk), z1_heads, &j);
}
