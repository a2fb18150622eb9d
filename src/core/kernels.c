/* kernels.c - dot products of f32 activations with f32/f16/bf16/q8_0 weight rows,
 * in three tiers chosen once at start: scalar, AVX2 (+FMA, F16C) and AVX-512
 * (F, BW, VL). RESIDUAL_SIMD=scalar|avx2|avx512 asks for a lower tier than the
 * CPU has (never a higher one), so tests can run every tier a machine can. */
#include "config.h"
#include "kernels.h"
#include "dtype.h"
#include "pool.h"

#include <pthread.h>
#include <stdlib.h>
#include <stdio.h>
#include <string.h>
#if defined(__x86_64__)
#include <immintrin.h>
#define HAVE_X86 1
#else
#define HAVE_X86 0
#endif

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
#define AVX2 __attribute__((target("avx2,fma,f16c")))

AVX2 static inline float hsum(__m256 v)
{
	__m128 lo = _mm256_castps256_ps128(v), hi = _mm256_extractf128_ps(v, 1);
	lo = _mm_add_ps(lo, hi);
	lo = _mm_add_ps(lo, _mm_movehl_ps(lo, lo));
	lo = _mm_add_ss(lo, _mm_shuffle_ps(lo, lo, 1));
	return _mm_cvtss_f32(lo);
}

/* One row at a time, four accumulators of eight: the chains hide the FMA
 * latency, and one sequential stream per thread keeps the hardware prefetcher
 * ahead (several rows at once measured half as fast here). */
#define DEF_DOT(name, T, LOAD8, SCALAR) \
	AVX2 static float name(const T *w, const float *x, int n) \
	{ \
		__m256 a = _mm256_setzero_ps(), b = a, c = a, d = a; \
		int i = 0; \
		for (; i + 32 <= n; i += 32) { \
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
	__m128i v;
	memcpy(&v, p, 8);
	return _mm256_cvtepi32_ps(_mm256_cvtepi8_epi32(v));
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
	return _mm256_fmadd_ps(_mm256_set1_ps(_cvtsh_ss(dh)), _mm256_add_ps(s0, s1), acc);
}

AVX2 static float dot_q8_0_avx2(const uint8_t *w, const float *x, int n)
{
	__m256 a = _mm256_setzero_ps(), b = a;
	int nb = n / RS_QK8_0, k = 0;
	for (; k + 2 <= nb; k += 2) { /* two blocks per step: two independent chains */
		a = q8_block(w + (size_t)k * 34, x + k * RS_QK8_0, a);
		b = q8_block(w + (size_t)(k + 1) * 34, x + (k + 1) * RS_QK8_0, b);
	}
	if (k < nb)
		a = q8_block(w + (size_t)k * 34, x + k * RS_QK8_0, a);
	return hsum(_mm256_add_ps(a, b));
}

AVX2 static float dot_row_avx2(int type, const void *row, const float *x, int n)
{
	switch (type) {
	case RS_F32: return dot_f32_avx2(row, x, n);
	case RS_F16: return dot_f16_avx2(row, x, n);
	case RS_BF16: return dot_bf16_avx2(row, x, n);
	case RS_Q8_0: return dot_q8_0_avx2(row, x, n);
	default: { /* the other quantized types: dequantize 256 at a time, then dot */
		float buf[256], s = 0;
		for (int c = 0; c < n; c += 256) {
			int m = n - c < 256 ? n - c : 256;
			rs_dequant_row(type, (const uint8_t *)row + rs_dtype_row_bytes(type, c), buf, m);
			s += dot_f32_avx2(buf, x + c, m);
		}
		return s;
	}
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
		__m256 d = _mm256_set1_ps(rs_f16_to_f32(dh));
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
	return _mm512_fmadd_ps(_mm512_set1_ps(_cvtsh_ss(dh)), s, acc);
}

AVX512 static float dot_q8_0_avx512(const uint8_t *w, const float *x, int n)
{
	__m512 a = _mm512_setzero_ps(), b = a;
	int nb = n / RS_QK8_0, k = 0;
	for (; k + 2 <= nb; k += 2) {
		a = q8_block512(w + (size_t)k * 34, x + k * RS_QK8_0, a);
		b = q8_block512(w + (size_t)(k + 1) * 34, x + (k + 1) * RS_QK8_0, b);
	}
	if (k < nb)
		a = q8_block512(w + (size_t)k * 34, x + k * RS_QK8_0, a);
	return _mm512_reduce_add_ps(_mm512_add_ps(a, b));
}

AVX512 static float dot_row_avx512(int type, const void *row, const float *x, int n)
{
	switch (type) {
	case RS_F32: return dot_f32_avx512(row, x, n);
	case RS_F16: return dot_f16_avx512(row, x, n);
	case RS_BF16: return dot_bf16_avx512(row, x, n);
	case RS_Q8_0: return dot_q8_0_avx512(row, x, n);
	default: {
		float buf[256], s = 0;
		for (int c = 0; c < n; c += 256) {
			int m = n - c < 256 ? n - c : 256;
			rs_dequant_row(type, (const uint8_t *)row + rs_dtype_row_bytes(type, c), buf, m);
			s += dot_f32_avx512(buf, x + c, m);
		}
		return s;
	}
	}
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
	if (type == RS_Q8_0) {
		const uint8_t *w = row;
		for (int64_t b = 0; b < n / RS_QK8_0; b++, w += 34, dst += RS_QK8_0) {
			uint16_t dh;
			memcpy(&dh, w, 2);
			__m512 d = _mm512_set1_ps(rs_f16_to_f32(dh));
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
static const char *const tier_names[KERN_N_TIERS] = {"scalar", "avx2", "avx512"};
static kern_tier best_tier, tier;
static char tier_note[96];
static pthread_once_t tier_once = PTHREAD_ONCE_INIT;

static void choose_tier(void)
{
	best_tier = KERN_SCALAR;
#if HAVE_X86
	__builtin_cpu_init();
	if (__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma") && __builtin_cpu_supports("f16c"))
		best_tier = KERN_AVX2;
	if (best_tier == KERN_AVX2 && __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw") &&
	    __builtin_cpu_supports("avx512vl"))
		best_tier = KERN_AVX512;
#endif
	tier = best_tier;
	const char *want = getenv("RESIDUAL_SIMD");
	if (!want || !*want)
		return;
	int k = kern_tier_parse(want);
	if (k < 0)
		snprintf(tier_note, sizeof tier_note, "RESIDUAL_SIMD=%.40s is not scalar, avx2 or avx512", want);
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
	case KERN_AVX512: return dot_f32_avx512(a, b, n);
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
} matvec_job;

static float dot_row(kern_tier t, int type, const void *row, const float *x, int n)
{
#if HAVE_X86
	if (t == KERN_AVX512)
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
		for (int t = 0; t < j->n; t++)
			j->y[(size_t)t * W->rows + r] = dot_row(j->tier, W->type, row, j->x + (size_t)t * cols, cols);
	}
}

void kern_matvec(float *y, const float *x, const rs_mat *W, int n)
{
	matvec_job j = {y, x, W, n, kern_tier_in_use()};
	/* at least ~256K weights per thread: below that, waking a thread costs more
	 * than it saves (measured on the built-in model's 192-wide matrices) */
	pool_for(W->rows, 262144 / W->cols + 1, matvec_rows, &j);
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
	default: return 0;
	}
}
#endif

static void dequant_rows(void *ctx, int64_t a, int64_t b)
{
	const dequant_job *j = ctx;
	const rs_mat *W = j->W;
	for (int64_t r = a; r < b; r++) {
		const void *row = (const uint8_t *)W->data + (size_t)(j->r0 + r) * W->row_bytes;
		float *d = j->dst + (size_t)r * W->cols;
#if HAVE_X86
		if (j->tier == KERN_AVX512 && dequant_avx512(W->type, row, d, W->cols))
			continue;
		if (j->tier == KERN_AVX2 && dequant_avx2(W->type, row, d, W->cols))
			continue;
#endif
		rs_dequant_row(W->type, row, d, W->cols);
	}
}

void kern_dequant_rows(const rs_mat *W, int64_t r0, int64_t nr, float *dst)
{
	dequant_job j = {W, r0, dst, kern_tier_in_use()};
	pool_for(nr, 65536 / W->cols + 1, dequant_rows, &j);
}
