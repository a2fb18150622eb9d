/* kernels_x86.h - the x86 pieces kernels.c (the exact f32 kernels) and
 * kernels_q8.c (the 8-bit --fast decode) share: the AVX2 target attribute,
 * the software prefetch, and the decoding of Q6_K codes. Private to src/core. */
#ifndef RS_KERNELS_X86_H
#define RS_KERNELS_X86_H

#include <stdint.h>
#include <string.h>
#if defined(__x86_64__)
#include <immintrin.h>
#define HAVE_X86 1
#else
#define HAVE_X86 0
#endif

#if HAVE_X86
#define AVX2 __attribute__((target("avx2,fma,f16c")))

/* Software prefetch PF_AHEAD bytes ahead of the weights being read, one per
 * 64-byte line of the bb bytes a step reads, into L2 (T1). Decode reads each
 * weight once; without it one thread read 5.5 GB/s of Q4_K and 7 of Q8_0 from
 * memory here. Two threads, alternating runs (load average 1.8-2.9), GB/s of
 * Q8_0 / Q4_K / Q6_K: T1 4 KB ahead 16.0-26.4 / 14.0-18.4 / 13.8-16.9, T0 4 KB
 * 16.7-27.6 / 9.0-19.0 / 7.0-17.9, T1 8 KB 7.3-14.8 / 6.1-12.5 / 5.2-11.4. */
#ifndef PF_AHEAD
#define PF_AHEAD 4096
#endif
#ifndef PF_HINT
#define PF_HINT _MM_HINT_T1
#endif
#define PREFETCH(w, bb) \
	do { \
		for (size_t pf_ = 0; pf_ < (size_t)(bb); pf_ += 64) \
			_mm_prefetch((const char *)(w) + PF_AHEAD + pf_, PF_HINT); \
	} while (0)


AVX2 static inline float hsum(__m256 v)
{
	__m128 lo = _mm256_castps256_ps128(v), hi = _mm256_extractf128_ps(v, 1);
	lo = _mm_add_ps(lo, hi);
	lo = _mm_add_ps(lo, _mm_movehl_ps(lo, lo));
	lo = _mm_add_ss(lo, _mm_shuffle_ps(lo, lo, 1));
	return _mm_cvtss_f32(lo);
}

AVX2 static inline float half_x(const uint8_t *p)
{
	uint16_t h;
	memcpy(&h, p, 2);
	return _cvtsh_ss(h);
}

AVX2 static inline __m256i ld32(const uint8_t *p)
{
	return _mm256_loadu_si256((const __m256i *)p);
}

/* Signed codes q - 32 of a Q6_K super-block in element order (256-bit byte
 * operations): w = ds·(q - 32), one exact product, even the sign of a zero
 * as rs_dequant_row's. */
AVX2 static inline void q6_codes(const uint8_t *p, int8_t *q)
{
	const __m256i m4 = _mm256_set1_epi8(15), m30 = _mm256_set1_epi8(0x30), k32 = _mm256_set1_epi8(32);
	for (int nn = 0; nn < 2; nn++) {
		__m256i a = ld32(p + 64 * nn), b = ld32(p + 64 * nn + 32), h = ld32(p + 128 + 32 * nn);
		__m256i *o = (__m256i *)(q + 128 * nn);
		_mm256_storeu_si256(o, _mm256_sub_epi8(_mm256_or_si256(_mm256_and_si256(a, m4), _mm256_and_si256(_mm256_slli_epi16(h, 4), m30)), k32));
		_mm256_storeu_si256(o + 1, _mm256_sub_epi8(_mm256_or_si256(_mm256_and_si256(b, m4), _mm256_and_si256(_mm256_slli_epi16(h, 2), m30)), k32));
		_mm256_storeu_si256(o + 2, _mm256_sub_epi8(_mm256_or_si256(_mm256_and_si256(_mm256_srli_epi16(a, 4), m4), _mm256_and_si256(h, m30)), k32));
		_mm256_storeu_si256(o + 3, _mm256_sub_epi8(_mm256_or_si256(_mm256_and_si256(_mm256_srli_epi16(b, 4), m4),
							   _mm256_and_si256(_mm256_srli_epi16(h, 2), m30)), k32));
	}
}

/* The eight 6-bit scales (low 64 bits) and mins (high 64 bits) of a Q4_K
 * (or Q5_K) super-block (bytes 4..15), one byte each, as rs_dequant_row unpacks them. */
AVX2 static inline __m128i k4_scales_v(const uint8_t *p)
{
	uint32_t u0, u1, u2;
	memcpy(&u0, p + 4, 4);
	memcpy(&u1, p + 8, 4);
	memcpy(&u2, p + 12, 4);
	uint64_t sc = (uint64_t)(u0 & 0x3f3f3f3f) | (uint64_t)((u2 & 0x0f0f0f0f) | ((u0 >> 2) & 0x30303030)) << 32;
	uint64_t m = (uint64_t)(u1 & 0x3f3f3f3f) | (uint64_t)(((u2 >> 4) & 0x0f0f0f0f) | ((u1 >> 2) & 0x30303030)) << 32;
	return _mm_set_epi64x((long long)m, (long long)sc);
}

#endif
#endif
