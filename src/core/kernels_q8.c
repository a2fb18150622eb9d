/* kernels_q8.c - the opt-in fast decode (`generate --fast`, `bench --fast`):
 * the token's activations quantized to 8 bits as llama.cpp does for K-quant
 * weights (blocks of 256 with sums per 16 and 32, like its Q8_K), then integer
 * dot products with Q4_K and Q6_K rows (AVX2: vpmaddubsw/vpmaddwd, 32 weights
 * in two instructions, the sub-block scales applied in 16-bit) and one f32
 * scale per block. Q8_0 has none: its exact kernel (kernels.c) measured as fast
 * as an 8-bit one here (AVX2 15.5 against 16.8 GB/s a core, AVX-512 22-23
 * against 17), so --fast leaves it exact.
 *
 * This is NOT the f32 computation of the file's weights: each activation moves
 * by up to half its block's step d = max|x|/127. The default path (kernels.c)
 * stays exact; `bench --fast` prints the largest logit difference between the
 * two. Weight types other than Q4_K and Q6_K use the exact kernels. */
#include "config.h"
#include "kernels.h"
#include "dtype.h"
#include "kernels_x86.h"

#include <math.h>
#include <stdlib.h>

int kern_q8_supports(int type)
{
	return type == RS_Q4_K || type == RS_Q6_K;
}

int kern_q8_block(int type)
{
	(void)type; /* every supported type: llama.cpp's Q8_K blocks */
	return 256;
}

int kern_q8_quantize(kern_q8x *xq, const float *x, int n, int block)
{
	*xq = (kern_q8x){.n = n, .block = block};
	if (n % block)
		return -1;
	xq->d = malloc(sizeof(float) * (size_t)(n / block));
	xq->q = malloc((size_t)n);
	xq->sum16 = malloc(sizeof(int16_t) * (size_t)(n / 16));
	xq->sum32 = malloc(sizeof(int16_t) * (size_t)(n / 32));
	if (!xq->d || !xq->q || !xq->sum16 || !xq->sum32) {
		kern_q8x_free(xq);
		return -1;
	}
	for (int b = 0; b < n / block; b++) {
		const float *v = x + (size_t)b * block;
		float amax = 0;
		for (int i = 0; i < block; i++)
			amax = fmaxf(amax, fabsf(v[i]));
		/* d = amax/127; q = round(x/d) lies in -127..127 (x·(127/amax) <= 127
		 * up to one rounding, far below 127.5) */
		float id = amax > 0 ? 127.0f / amax : 0.0f;
		xq->d[b] = amax / 127.0f;
		for (int i = 0; i < block; i++)
			xq->q[b * block + i] = (int8_t)nearbyintf(v[i] * id);
	}
	for (int k = 0; k < n / 16; k++) {
		int s = 0;
		for (int i = 0; i < 16; i++)
			s += xq->q[16 * k + i];
		xq->sum16[k] = (int16_t)s;
	}
	for (int k = 0; k < n / 32; k++)
		xq->sum32[k] = (int16_t)(xq->sum16[2 * k] + xq->sum16[2 * k + 1]);
	return 0;
}

void kern_q8x_free(kern_q8x *xq)
{
	free(xq->d);
	free(xq->q);
	free(xq->sum16);
	free(xq->sum32);
	xq->d = NULL, xq->q = NULL, xq->sum16 = NULL, xq->sum32 = NULL;
}

static float f16_at(const uint8_t *p)
{
	uint16_t h;
	memcpy(&h, p, 2);
	return rs_f16_to_f32(h);
}

/* The eight 6-bit scales and mins of a Q4_K super-block (bytes 4..15). */
static void k4_scales(const uint8_t *s, int *sc, int *m)
{
	for (int j = 0; j < 4; j++) {
		sc[j] = s[j] & 63;
		m[j] = s[j + 4] & 63;
		sc[j + 4] = (s[j + 8] & 15) | (s[j] >> 6) << 4;
		m[j + 4] = (s[j + 8] >> 4) | (s[j + 4] >> 6) << 4;
	}
}

/* Σ over the eight sub-blocks of m_j times the sum of the activations' codes under it. */
static int k4_min_sum(const int *m, const int16_t *s16)
{
	int s = 0;
	for (int j = 0; j < 8; j++)
		s += m[j] * (s16[2 * j] + s16[2 * j + 1]);
	return s;
}

/* Σ over the sixteen groups of the scale times the sum of the codes under it, times 32:
 * the offset of Q6_K's codes (w = d·sc·(q - 32)). */
static int q6_offset(const int8_t *sc, const int16_t *s16)
{
	int s = 0;
	for (int g = 0; g < 16; g++)
		s += sc[g] * s16[g];
	return 32 * s;
}

/* ---------------------------------------------------------------- plain C */
static float dot_q4_k_plain(const uint8_t *w, const kern_q8x *x)
{
	float s = 0;
	for (int b = 0; b < x->n / 256; b++, w += 144) {
		int sc[8], m[8], is = 0;
		k4_scales(w + 4, sc, m);
		const uint8_t *qs = w + 16;
		const int8_t *v = x->q + 256 * b;
		for (int c = 0; c < 4; c++)
			for (int l = 0; l < 32; l++)
				is += sc[2 * c] * (qs[32 * c + l] & 15) * v[64 * c + l] +
				      sc[2 * c + 1] * (qs[32 * c + l] >> 4) * v[64 * c + 32 + l];
		float dx = x->d[b];
		s += f16_at(w) * dx * (float)is - f16_at(w + 2) * dx * (float)k4_min_sum(m, x->sum16 + 16 * b);
	}
	return s;
}

static float dot_q6_k_plain(const uint8_t *w, const kern_q8x *x)
{
	float s = 0;
	for (int b = 0; b < x->n / 256; b++, w += 210) {
		const int8_t *sc = (const int8_t *)(w + 192), *v = x->q + 256 * b;
		int is = 0;
		for (int nn = 0; nn < 2; nn++) {
			const uint8_t *ql = w + 64 * nn, *qh = w + 128 + 32 * nn;
			const int8_t *vv = v + 128 * nn;
			const int8_t *sg = sc + 8 * nn;
			for (int l = 0; l < 32; l++) {
				int q0 = (ql[l] & 15) | (qh[l] & 3) << 4, q1 = (ql[l + 32] & 15) | (qh[l] >> 2 & 3) << 4;
				int q2 = (ql[l] >> 4) | (qh[l] >> 4 & 3) << 4, q3 = (ql[l + 32] >> 4) | (qh[l] >> 6 & 3) << 4;
				int g = l / 16;
				is += sg[g] * q0 * vv[l] + sg[g + 2] * q1 * vv[l + 32] + sg[g + 4] * q2 * vv[l + 64] +
				      sg[g + 6] * q3 * vv[l + 96];
			}
		}
		is -= q6_offset(sc, x->sum16 + 16 * b);
		s += f16_at(w + 208) * x->d[b] * (float)is;
	}
	return s;
}

#if HAVE_X86
/* ---------------------------------------------------------------- AVX2 */
AVX2 static inline __m256i madd_u8s8(__m256i u, __m256i s, __m256i w16)
{
	return _mm256_madd_epi16(_mm256_maddubs_epi16(u, s), w16);
}

AVX2 static float dot_q4_k_avx2q(const uint8_t *w, const kern_q8x *x)
{
	const __m256i m4 = _mm256_set1_epi8(15);
	/* pick[j]: a shuffle that spreads the 16-bit scale j over a register */
	__m256i pick[8];
	for (int j = 0; j < 8; j++)
		pick[j] = _mm256_set1_epi16((short)(2 * j | (2 * j + 1) << 8));
	__m256 acc = _mm256_setzero_ps();
	__m128 mins = _mm_setzero_ps();
	for (int b = 0; b < x->n / 256; b++, w += 144) {
		PREFETCH(w, 144);
		__m128i scm = k4_scales_v(w);
		__m256i sc16 = _mm256_broadcastsi128_si256(_mm_cvtepu8_epi16(scm));
		const uint8_t *v = (const uint8_t *)x->q + 256 * b;
		__m256i is = _mm256_setzero_si256();
		for (int c = 0; c < 4; c++) {
			__m256i q = ld32(w + 16 + 32 * c);
			__m256i lo = _mm256_and_si256(q, m4), hi = _mm256_and_si256(_mm256_srli_epi16(q, 4), m4);
			is = _mm256_add_epi32(is, madd_u8s8(lo, ld32(v + 64 * c), _mm256_shuffle_epi8(sc16, pick[2 * c])));
			is = _mm256_add_epi32(is, madd_u8s8(hi, ld32(v + 64 * c + 32), _mm256_shuffle_epi8(sc16, pick[2 * c + 1])));
		}
		float dx = x->d[b];
		acc = _mm256_fmadd_ps(_mm256_set1_ps(half_x(w) * dx), _mm256_cvtepi32_ps(is), acc);
		/* Σ_j m_j · (Σ of the codes under sub-block j) */
		__m128i ms = _mm_madd_epi16(_mm_cvtepu8_epi16(_mm_unpackhi_epi64(scm, scm)),
					    _mm_loadu_si128((const __m128i *)(x->sum32 + 8 * b)));
		mins = _mm_fmadd_ps(_mm_set1_ps(half_x(w + 2) * dx), _mm_cvtepi32_ps(ms), mins);
	}
	__m128 h = _mm_add_ps(mins, _mm_movehl_ps(mins, mins));
	h = _mm_add_ss(h, _mm_shuffle_ps(h, h, 1));
	return hsum(acc) - _mm_cvtss_f32(h);
}

AVX2 static float dot_q6_k_avx2q(const uint8_t *w, const kern_q8x *x)
{
	const __m256i m4 = _mm256_set1_epi8(15), m30 = _mm256_set1_epi8(0x30);
	/* pick[k]: scale 2k (mod 8) over the low half, 2k+1 over the high half: the two
	 * groups of 16 in the k-th 32 codes */
	__m256i pick[4];
	for (int k = 0; k < 4; k++)
		pick[k] = _mm256_setr_m128i(_mm_set1_epi16((short)(4 * k | (4 * k + 1) << 8)),
					    _mm_set1_epi16((short)((4 * k + 2) | (4 * k + 3) << 8)));
	__m256 acc = _mm256_setzero_ps();
	for (int b = 0; b < x->n / 256; b++, w += 210) {
		PREFETCH(w, 210);
		const uint8_t *v = (const uint8_t *)x->q + 256 * b;
		__m128i sc8 = _mm_loadu_si128((const __m128i *)(w + 192));
		__m256i sc16 = _mm256_cvtepi8_epi16(sc8);
		/* Σ_g sc_g · 32 · (Σ of the codes under group g): the codes' offset of 32 */
		__m256i is = _mm256_sub_epi32(_mm256_setzero_si256(),
					      _mm256_slli_epi32(_mm256_madd_epi16(sc16, _mm256_loadu_si256(
											   (const __m256i *)(x->sum16 + 16 * b))),
								5));
		for (int nn = 0; nn < 2; nn++) {
			__m256i s16 = _mm256_broadcastsi128_si256(_mm_cvtepi8_epi16(nn ? _mm_unpackhi_epi64(sc8, sc8) : sc8));
			__m256i a = ld32(w + 64 * nn), bq = ld32(w + 64 * nn + 32), h = ld32(w + 128 + 32 * nn);
			/* the unsigned codes q (0..63) of elements 128nn + 32k' .. +31, as q6_codes */
			__m256i u[4] = {
				_mm256_or_si256(_mm256_and_si256(a, m4), _mm256_and_si256(_mm256_slli_epi16(h, 4), m30)),
				_mm256_or_si256(_mm256_and_si256(bq, m4), _mm256_and_si256(_mm256_slli_epi16(h, 2), m30)),
				_mm256_or_si256(_mm256_and_si256(_mm256_srli_epi16(a, 4), m4), _mm256_and_si256(h, m30)),
				_mm256_or_si256(_mm256_and_si256(_mm256_srli_epi16(bq, 4), m4),
						_mm256_and_si256(_mm256_srli_epi16(h, 2), m30))};
			for (int k = 0; k < 4; k++)
				is = _mm256_add_epi32(is, madd_u8s8(u[k], ld32(v + 128 * nn + 32 * k),
								    _mm256_shuffle_epi8(s16, pick[k])));
		}
		acc = _mm256_fmadd_ps(_mm256_set1_ps(half_x(w + 208) * x->d[b]), _mm256_cvtepi32_ps(is), acc);
	}
	return hsum(acc);
}
#endif

float kern_q8_dot(kern_tier t, int type, const void *row, const kern_q8x *x)
{
#if HAVE_X86
	if (t >= KERN_AVX2)
		switch (type) {
		case RS_Q4_K: return dot_q4_k_avx2q(row, x);
		default: return dot_q6_k_avx2q(row, x);
		}
#else
	(void)t;
#endif
	switch (type) {
	case RS_Q4_K: return dot_q4_k_plain(row, x);
	default: return dot_q6_k_plain(row, x);
	}
}
