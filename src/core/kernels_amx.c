/* kernels_amx.c - the prefill product on Intel AMX tiles, still f32.
 *
 * AMX multiplies bf16 (8 significant bits) into f32 sums. An f32 value splits
 * exactly into three bf16 parts, v = h + m + l: h is v with its low 16 bits
 * cleared, m the same of v − h, l = v − h − m (at most 8 significant bits
 * left). So w·x = Σ over the nine part products, each exact in f32. We keep
 * the six whose size can reach 2^-16 of |w·x| (hh, hm, mh, hl, mm, lh); the
 * three dropped (ml, lm, ll) together stay below 2^-20·|w|·|x| (|m| < 2^-7|v|,
 * |l| < 2^-14|v|), sixteen times f32's unit roundoff, far inside the γ(K)
 * bound of any f32 sum of K products. Sums run in f32 inside the tiles (one
 * rounding a product, as an FMA). Parts below 2^-126 are read as zero by
 * the hardware (an error under 2^-126·(|w| + |x|) a product).
 *
 * Layout: for each step of 32 values of k, a tile holds one part of 16 rows
 * of W (16 x 32 bf16, 64-byte rows) or of 16 tokens of x (AMX's pair layout:
 * row p holds k = 2p, 2p+1 of every token). The split path (amx_panel_pair:
 * F32, F16, BF16, Q6_K) multiplies two panels of 16 rows by two tiles of 16
 * tokens into four f32 tiles, the six part products a step taken in an
 * order that loads 16 operand tiles for 24 products. The codes path
 * (amx_panel_pair_codes: a scale each 32 weights) needs only x's three parts
 * against the exact integer codes, and scales each step's sums on the vector
 * units. The output is kept transposed (rows of W by tokens) and turned back
 * once (amx_untranspose).
 * Private to src/core; kernels.c calls it from kern_matmul. */
#include "config.h"
#include "kernels_amx.h"

#include <string.h>

#if HAVE_AMX
#include <cpuid.h>
#include <immintrin.h>
#include <sys/syscall.h>
#include <unistd.h>

#define AMX __attribute__((target("avx512f,avx512bw,avx512vl,avx512bf16,amx-tile,amx-bf16")))
#define ARCH_REQ_XCOMP_PERM 0x1023
#define XFEATURE_XTILEDATA 18

int amx_request(void)
{
	unsigned a, b, c, d;
	if (!__get_cpuid_count(7, 0, &a, &b, &c, &d) || !(d & (1u << 22)) || !(d & (1u << 24))) /* AMX-BF16, -TILE */
		return 0;
	if (!__get_cpuid_count(7, 1, &a, &b, &c, &d) || !(a & (1u << 5))) /* AVX512-BF16, for packing */
		return 0;
	/* Linux hands out the 8 KB of tile state only on request (5.16 and later) */
	return syscall(SYS_arch_prctl, ARCH_REQ_XCOMP_PERM, XFEATURE_XTILEDATA) == 0;
}

typedef struct tilecfg {
	uint8_t palette, start_row, reserved[14];
	uint16_t colsb[16];
	uint8_t rows[16];
} tilecfg;

/* Every tile 16 rows of 64 bytes; per thread, so each worker loads it. Kept
 * in static memory: the intrinsic tells the compiler it reads one byte, so the
 * stores that fill a local copy can be dropped as dead. */
static const tilecfg tile_shape = {
	.palette = 1,
	.colsb = {64, 64, 64, 64, 64, 64, 64, 64},
	.rows = {16, 16, 16, 16, 16, 16, 16, 16},
};

AMX void amx_begin(void)
{
	_tile_loadconfig(&tile_shape);
}

/* vzeroupper too: GCC left it out on amx_panel_pair's way out, and the plain
 * SSE code after it (expf in op_swiglu) then ran 20 times slower. */
AMX void amx_end(void)
{
	_tile_release();
	_mm256_zeroupper();
}

/* The three parts of 32 floats (k past kk read as 0), as 32 bf16 each. The
 * conversion is exact: every part is a bf16 value already. */
AMX static inline void split32(const float *v, int kk, __m512i part[3])
{
	const __m512i top = _mm512_set1_epi32((int)0xffff0000u);
	__m512 a[2], h[2], m[2], l[2];
	for (int i = 0; i < 2; i++) {
		int left = kk - 16 * i;
		__mmask16 k = left >= 16 ? 0xffff : left <= 0 ? 0 : (__mmask16)((1u << left) - 1);
		a[i] = _mm512_maskz_loadu_ps(k, v + 16 * i);
		h[i] = _mm512_castsi512_ps(_mm512_and_si512(_mm512_castps_si512(a[i]), top));
		__m512 r = _mm512_sub_ps(a[i], h[i]);
		m[i] = _mm512_castsi512_ps(_mm512_and_si512(_mm512_castps_si512(r), top));
		l[i] = _mm512_sub_ps(r, m[i]);
	}
	part[0] = (__m512i)_mm512_cvtne2ps_pbh(h[1], h[0]);
	part[1] = (__m512i)_mm512_cvtne2ps_pbh(m[1], m[0]);
	part[2] = (__m512i)_mm512_cvtne2ps_pbh(l[1], l[0]);
}

/* Round b of a 16 x 16 transpose swaps bit b of the row and the lane: lanes
 * of row r (bit b clear) from itself (index i) or row r + b (16 + i − b). */
static const int32_t swap_lo[4][16] = {
	{0, 16, 2, 18, 4, 20, 6, 22, 8, 24, 10, 26, 12, 28, 14, 30},
	{0, 1, 16, 17, 4, 5, 20, 21, 8, 9, 24, 25, 12, 13, 28, 29},
	{0, 1, 2, 3, 16, 17, 18, 19, 8, 9, 10, 11, 24, 25, 26, 27},
	{0, 1, 2, 3, 4, 5, 6, 7, 16, 17, 18, 19, 20, 21, 22, 23},
};
static const int32_t swap_hi[4][16] = {
	{1, 17, 3, 19, 5, 21, 7, 23, 9, 25, 11, 27, 13, 29, 15, 31},
	{2, 3, 18, 19, 6, 7, 22, 23, 10, 11, 26, 27, 14, 15, 30, 31},
	{4, 5, 6, 7, 20, 21, 22, 23, 12, 13, 14, 15, 28, 29, 30, 31},
	{8, 9, 10, 11, 12, 13, 14, 15, 24, 25, 26, 27, 28, 29, 30, 31},
};

AMX static inline void transpose16(__m512 v[16])
{
	for (int k = 0, b = 1; k < 4; k++, b *= 2) {
		__m512i lo = _mm512_loadu_si512(swap_lo[k]), hi = _mm512_loadu_si512(swap_hi[k]);
		for (int r = 0; r < 16; r++)
			if (!(r & b)) {
				__m512 a = _mm512_permutex2var_ps(v[r], lo, v[r + b]);
				v[r + b] = _mm512_permutex2var_ps(v[r], hi, v[r + b]);
				v[r] = a;
			}
	}
}

size_t amx_x_bytes(int n, int64_t kc)
{
	return (size_t)amx_token_tiles(n) * (size_t)((kc + 31) / 32) * 3 * AMX_TILE_BYTES;
}

/* Xp [token tile][step of 32 k][part] tiles in AMX's pair layout: row p
 * holds k = 2p, 2p+1 of each of the 16 tokens. */
AMX void amx_pack_x(const float *x, int64_t ldx, int n, int64_t kc, int j0, int j1, uint16_t *Xp, float *Xs)
{
	int64_t S = (kc + 31) / 32;
	__m512 col[3][16]; /* [part][token]: 16 pairs of bf16 */
	for (int j = j0; j < j1; j++)
		for (int64_t s = 0; s < S; s++) {
			for (int t = 0; t < 16; t++) {
				__m512i part[3] = {_mm512_setzero_si512(), _mm512_setzero_si512(), _mm512_setzero_si512()};
				float sum = 0;
				if (16 * j + t < n) {
					const float *v = x + (size_t)(16 * j + t) * ldx + 32 * s;
					int kk = (int)(kc - 32 * s < 32 ? kc - 32 * s : 32);
					split32(v, kk, part);
					if (Xs) {
						__mmask16 k0 = kk >= 16 ? 0xffff : (__mmask16)((1u << kk) - 1);
						__mmask16 k1 = kk >= 32 ? 0xffff : kk <= 16 ? 0 : (__mmask16)((1u << (kk - 16)) - 1);
						sum = _mm512_reduce_add_ps(_mm512_add_ps(_mm512_maskz_loadu_ps(k0, v),
											 _mm512_maskz_loadu_ps(k1, v + 16)));
					}
				}
				if (Xs)
					Xs[(j * S + s) * 16 + t] = sum;
				for (int q = 0; q < 3; q++)
					col[q][t] = _mm512_castsi512_ps(part[q]);
			}
			/* pair layout: row p of a tile holds pair p of each token */
			float *o = (float *)(Xp + (size_t)(j * S + s) * 3 * AMX_TILE_ELEMS);
			for (int q = 0; q < 3; q++) {
				transpose16(col[q]);
				for (int p = 0; p < 16; p++)
					_mm512_store_ps(o + q * 256 + p * 16, col[q][p]);
			}
		}
	_mm256_zeroupper();
}

/* Wp [panel of 16 rows][step of 32 k][part][row][32] from rows of f32 (ld apart). */
AMX static void pack_w(const float *w, int64_t ld, int nr, int64_t kc, uint16_t *Wp)
{
	int64_t S = (kc + 31) / 32;
	for (int r = 0; r < 32; r++)
		for (int64_t s = 0; s < S; s++) {
			__m512i part[3] = {_mm512_setzero_si512(), _mm512_setzero_si512(), _mm512_setzero_si512()};
			if (r < nr)
				split32(w + r * ld + 32 * s, (int)(kc - 32 * s), part);
			uint16_t *o = Wp + ((size_t)((r / 16) * S + s) * 3) * AMX_TILE_ELEMS + (r % 16) * 32;
			for (int q = 0; q < 3; q++)
				_mm512_store_si512(o + q * AMX_TILE_ELEMS, part[q]);
		}
}

/* yt[r, t0 + t] (+)= C[r][t] for the valid rows of a tile: the output is
 * kept transposed (rows of W by tokens) until amx_untranspose. */
AMX static void put_rows(const float *C, float *yt, int64_t ldt, int t0, int nr, int acc)
{
	for (int r = 0; r < 16 && r < nr; r++) {
		float *d = yt + r * ldt + t0;
		__m512 v = _mm512_load_ps(C + 16 * r);
		_mm512_storeu_ps(d, acc ? _mm512_add_ps(v, _mm512_loadu_ps(d)) : v);
	}
}

AMX void amx_untranspose(const float *yt, int64_t ldt, int n, int64_t rows, int64_t b0, int64_t b1, float *y,
			 int64_t ldy)
{
	for (int64_t b = b0; b < b1; b++)
		for (int t0 = 0; t0 < n; t0 += 16) {
			int64_t r0 = 16 * b;
			int nr = (int)(rows - r0 < 16 ? rows - r0 : 16);
			__m512 v[16];
			for (int r = 0; r < 16; r++)
				v[r] = r < nr ? _mm512_loadu_ps(yt + (r0 + r) * ldt + t0) : _mm512_setzero_ps();
			transpose16(v);
			__mmask16 m = nr >= 16 ? 0xffff : (__mmask16)((1u << nr) - 1);
			for (int t = 0; t < 16 && t0 + t < n; t++)
				_mm512_mask_storeu_ps(y + (size_t)(t0 + t) * ldy + r0, m, v[t]);
		}
	_mm256_zeroupper();
}

/* Two operand tiles, t0 and t1, from p0 and p1. */
#define LOAD2(t0, p0, t1, p1)            \
	do {                             \
		_tile_loadd(t0, p0, 64); \
		_tile_loadd(t1, p1, 64); \
	} while (0)
/* Step s of S's share of the rows to prefetch. */
static inline void prefetch_share(const amx_prefetch *pf, int64_t s, int64_t S)
{
	if (!pf)
		return;
	for (int64_t r = s * pf->rows / S; r < (s + 1) * pf->rows / S; r++)
		for (size_t b = 0; b < pf->span; b += 64)
			_mm_prefetch((const char *)pf->base + r * pf->stride + b, _MM_HINT_T1);
}

/* Four products, the operand tiles loaded by the caller: C[2i+j] += A_i · B_j. */
#define TDP4()                           \
	do {                             \
		_tile_dpbf16ps(4, 0, 2); \
		_tile_dpbf16ps(5, 0, 3); \
		_tile_dpbf16ps(6, 1, 2); \
		_tile_dpbf16ps(7, 1, 3); \
	} while (0)

AMX void amx_panel_pair(const float *w, int64_t ld, int nr, int64_t kc, const uint16_t *Xp, int n, float *yt,
			int64_t ldt, int acc, uint16_t *Wp, const amx_prefetch *pf)
{
	int64_t S = (kc + 31) / 32, step = 3 * AMX_TILE_ELEMS;
	int J = amx_token_tiles(n);
	float C[4][256] __attribute__((aligned(64)));
	pack_w(w, ld, nr, kc, Wp);
	const uint16_t *W0 = Wp, *W1 = Wp + (size_t)S * step;
	for (int j = 0; j < J; j += 2) {
		const uint16_t *X0 = Xp + (size_t)j * S * step, *X1 = X0 + (size_t)S * step;
		_tile_zero(4);
		_tile_zero(5);
		_tile_zero(6);
		_tile_zero(7);
		for (int64_t s = 0; s < S; s++) {
			const uint16_t *w0 = W0 + s * step, *w1 = W1 + s * step, *x0 = X0 + s * step, *x1 = X1 + s * step;
			if (j == 0)
				prefetch_share(pf, s, S);
			enum { H = 0, M = AMX_TILE_ELEMS, L = 2 * AMX_TILE_ELEMS };
			/* x's high part against w's three, then x's middle against w's
			 * high and middle, then x's low against w's high: 16 loads */
			LOAD2(2, x0 + H, 3, x1 + H);
			LOAD2(0, w0 + L, 1, w1 + L);
			TDP4();
			LOAD2(0, w0 + M, 1, w1 + M);
			TDP4();
			LOAD2(0, w0 + H, 1, w1 + H);
			TDP4();
			LOAD2(2, x0 + M, 3, x1 + M);
			TDP4();
			LOAD2(2, x0 + L, 3, x1 + L);
			TDP4();
			LOAD2(0, w0 + M, 1, w1 + M);
			LOAD2(2, x0 + M, 3, x1 + M);
			TDP4();
		}
		_tile_stored(4, C[0], 64);
		_tile_stored(5, C[1], 64);
		_tile_stored(6, C[2], 64);
		_tile_stored(7, C[3], 64);
		put_rows(C[0], yt, ldt, 16 * j, nr, acc);
		put_rows(C[1], yt, ldt, 16 * (j + 1), nr, acc);
		put_rows(C[2], yt + 16 * ldt, ldt, 16 * j, nr - 16, acc);
		put_rows(C[3], yt + 16 * ldt, ldt, 16 * (j + 1), nr - 16, acc);
	}
}

/* Weights of the form w = ds·q − dm with one ds and dm each 32 values of k
 * (Q8_0, Q4_0: dm = 0; Q4_K, Q5_K): the codes q are small integers, exact in
 * one bf16, so a 32-k step needs three products (q against x's three parts),
 * not six, all exact; after each step the tile's sums are scaled on the
 * vector units, acc += ds·C − dm·Σx (Σx of the step's 32 x, from amx_pack_x).
 * Tiles: codes of two panels (0, 1), x's parts (2, 3, 4), sums (5, 6). */
AMX static void pack_codes(const int8_t *q, int64_t ldq, const float *ds, const float *dm, int64_t lds, int nr,
			   int64_t kc, uint16_t *Wq, float *Ws)
{
	int64_t S = (kc + 31) / 32;
	for (int r = 0; r < 32; r++)
		for (int64_t s = 0; s < S; s++) {
			__m512i v = _mm512_setzero_si512();
			float a = 0, b = 0;
			if (r < nr) {
				const int8_t *c = q + r * ldq + 32 * s;
				__m512 lo = _mm512_cvtepi32_ps(_mm512_cvtepi8_epi32(_mm_loadu_si128((const __m128i *)c)));
				__m512 hi = _mm512_cvtepi32_ps(_mm512_cvtepi8_epi32(_mm_loadu_si128((const __m128i *)(c + 16))));
				v = (__m512i)_mm512_cvtne2ps_pbh(hi, lo);
				a = ds[r * lds + s];
				b = dm ? dm[r * lds + s] : 0;
			}
			_mm512_store_si512(Wq + ((size_t)((r / 16) * S + s)) * AMX_TILE_ELEMS + (r % 16) * 32, v);
			float *w = Ws + ((size_t)((r / 16) * S + s)) * 32;
			w[r % 16] = a;
			w[16 + r % 16] = b;
		}
}

/* acc[r] += ds[r]·C[r] − dm[r]·xs over 16 rows of a tile's sums. */
AMX static inline void scale_rows(float *acc, const float *C, const float *w, __m512 xs, int bias)
{
	for (int r = 0; r < 16; r++) {
		__m512 a = _mm512_fmadd_ps(_mm512_load_ps(C + 16 * r), _mm512_set1_ps(w[r]), _mm512_load_ps(acc + 16 * r));
		if (bias)
			a = _mm512_fnmadd_ps(xs, _mm512_set1_ps(w[16 + r]), a);
		_mm512_store_ps(acc + 16 * r, a);
	}
}

/* Both panels' sums of step s into their accumulators. */
AMX static inline void scale_step(float (*A)[256], float (*C)[256], const float *S0, const float *S1, const float *Xs,
				  int64_t xs_at, int64_t s, int bias)
{
	__m512 xs = bias ? _mm512_loadu_ps(Xs + xs_at * 16) : _mm512_setzero_ps();
	scale_rows(A[0], C[0], S0 + s * 32, xs, bias);
	scale_rows(A[1], C[1], S1 + s * 32, xs, bias);
}

AMX void amx_panel_pair_codes(const int8_t *q, int64_t ldq, const float *ds, const float *dm, int64_t lds, int nr,
			      int64_t kc, const uint16_t *Xp, const float *Xs, int n, float *yt, int64_t ldt, int acc,
			      uint16_t *Wq, float *Ws, float (*acc_buf)[2][256], const amx_prefetch *pf)
{
	int64_t S = (kc + 31) / 32, xstep = 3 * AMX_TILE_ELEMS;
	int J = (n + 15) / 16, bias = dm != NULL;
	/* steps outside, token tiles inside: a step's codes are loaded once for
	 * all the tiles of x (3 tile loads for 6 products, not 5) */
	float C[2][2][256] __attribute__((aligned(64)));
	float (*A)[2][256] = acc_buf; /* [J][panel][16 x 16] */
	pack_codes(q, ldq, ds, dm, lds, nr, kc, Wq, Ws);
	const uint16_t *W0 = Wq, *W1 = Wq + (size_t)S * AMX_TILE_ELEMS;
	const float *S0 = Ws, *S1 = Ws + (size_t)S * 32;
	memset(A, 0, sizeof(float) * 512 * (size_t)J);
	int64_t i = 0, last_s = 0;
	int last_j = 0;
	for (int64_t s = 0; s < S; s++) {
		prefetch_share(pf, s, S);
		_tile_loadd(0, W0 + s * AMX_TILE_ELEMS, 64);
		_tile_loadd(1, W1 + s * AMX_TILE_ELEMS, 64);
		for (int j = 0; j < J; j++, i++) {
			const uint16_t *x = Xp + ((size_t)j * S + s) * xstep;
			_tile_loadd(2, x, 64);
			_tile_loadd(3, x + AMX_TILE_ELEMS, 64);
			_tile_loadd(4, x + 2 * AMX_TILE_ELEMS, 64);
			_tile_zero(5);
			_tile_zero(6);
			_tile_dpbf16ps(5, 0, 2);
			_tile_dpbf16ps(6, 1, 2);
			_tile_dpbf16ps(5, 0, 3);
			_tile_dpbf16ps(6, 1, 3);
			_tile_dpbf16ps(5, 0, 4);
			_tile_dpbf16ps(6, 1, 4);
			_tile_stored(5, C[i & 1][0], 64);
			_tile_stored(6, C[i & 1][1], 64);
			/* the last product's sums, not this one's: reading a tile's
			 * store at once waits for it to reach L1 (91 against 59 ns) */
			if (i > 0)
				scale_step(A[last_j], C[(i - 1) & 1], S0, S1, Xs, last_j * S + last_s, last_s, bias);
			last_j = j;
			last_s = s;
		}
	}
	scale_step(A[last_j], C[(i - 1) & 1], S0, S1, Xs, last_j * S + last_s, last_s, bias);
	for (int j = 0; j < J; j++) {
		put_rows(A[j][0], yt, ldt, 16 * j, nr, acc);
		put_rows(A[j][1], yt + 16 * ldt, ldt, 16 * j, nr - 16, acc);
	}
}
#else
int amx_request(void)
{
	return 0;
}
#endif
