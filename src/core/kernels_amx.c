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
 * the hardware (an absolute error under 2^-126·|w| a product).
 *
 * The six products become one longer dot product: each 16 values of k turn
 * into three 32-slot segments, W's slots [h h | m h | m l] against x's
 * [h m | h l | m h]. A tile of W is 16 rows x 32 slots (64-byte rows); a tile
 * of x is the same in AMX's pair layout (slot pairs of 16 tokens a row).
 * Two panels of 16 rows times two tiles of 16 tokens use four f32 tiles and
 * four operand tiles, one tile load a product (the shape AMX keeps busy).
 * Private to src/core; kernels.c calls it from kern_matmul. */
#include "config.h"
#include "kernels_amx.h"

#include <string.h>

#if HAVE_AMX
#include <immintrin.h>
#include <sys/syscall.h>
#include <unistd.h>

#define AMX __attribute__((target("avx512f,avx512bw,avx512vl,avx512bf16,amx-tile,amx-bf16")))
#define ARCH_REQ_XCOMP_PERM 0x1023
#define XFEATURE_XTILEDATA 18

int amx_request(void)
{
	unsigned a, b, c, d;
	__asm__("cpuid" : "=a"(a), "=b"(b), "=c"(c), "=d"(d) : "a"(7), "c"(0));
	if (!(d & (1u << 22)) || !(d & (1u << 24))) /* AMX-BF16, AMX-TILE */
		return 0;
	__asm__("cpuid" : "=a"(a), "=b"(b), "=c"(c), "=d"(d) : "a"(7), "c"(1));
	if (!(a & (1u << 5))) /* AVX512-BF16, for packing */
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

size_t amx_x_bytes(int n, int64_t kc)
{
	return (size_t)amx_token_tiles(n) * (size_t)((kc + 31) / 32) * 3 * AMX_TILE_BYTES;
}

/* Xp [token tile][step of 32 k][part] tiles in AMX's pair layout: row p
 * holds k = 2p, 2p+1 of each of the 16 tokens. */
AMX void amx_pack_x(const float *x, int64_t ldx, int n, int64_t kc, int j0, int j1, uint16_t *Xp)
{
	int64_t S = (kc + 31) / 32;
	uint32_t col[3][16][16] __attribute__((aligned(64))); /* [part][token][pair] */
	for (int j = j0; j < j1; j++)
		for (int64_t s = 0; s < S; s++) {
			for (int t = 0; t < 16; t++) {
				__m512i part[3] = {_mm512_setzero_si512(), _mm512_setzero_si512(), _mm512_setzero_si512()};
				if (16 * j + t < n)
					split32(x + (size_t)(16 * j + t) * ldx + 32 * s, (int)(kc - 32 * s), part);
				for (int q = 0; q < 3; q++)
					_mm512_store_si512(col[q][t], part[q]);
			}
			uint32_t *o = (uint32_t *)(Xp + (size_t)(j * S + s) * 3 * AMX_TILE_ELEMS);
			for (int q = 0; q < 3; q++)
				for (int p = 0; p < 16; p++)
					for (int t = 0; t < 16; t++)
						o[q * 256 + p * 16 + t] = col[q][t][p];
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

/* y[t, r] (+)= C[r][t] of one 16 x 16 tile, the valid rows and tokens only:
 * a gather takes column t of C (16 rows apart). */
AMX static void put_tile(const float *C, float *y, int64_t ldy, int t0, int n, int nr, int acc)
{
	const __m512i col = _mm512_mullo_epi32(_mm512_set_epi32(15, 14, 13, 12, 11, 10, 9, 8, 7, 6, 5, 4, 3, 2, 1, 0),
					       _mm512_set1_epi32(16));
	__mmask16 rows = nr >= 16 ? 0xffff : nr <= 0 ? 0 : (__mmask16)((1u << nr) - 1);
	for (int t = 0; t < 16 && t0 + t < n; t++) {
		float *yt = y + (size_t)(t0 + t) * ldy;
		__m512 v = _mm512_i32gather_ps(col, C + t, 4);
		if (acc)
			v = _mm512_add_ps(v, _mm512_maskz_loadu_ps(rows, yt));
		_mm512_mask_storeu_ps(yt, rows, v);
	}
}

/* Four products, the operand tiles loaded by the caller: C[2i+j] += A_i · B_j. */
#define TDP4()                           \
	do {                             \
		_tile_dpbf16ps(4, 0, 2); \
		_tile_dpbf16ps(5, 0, 3); \
		_tile_dpbf16ps(6, 1, 2); \
		_tile_dpbf16ps(7, 1, 3); \
	} while (0)

AMX void amx_panel_pair(const float *w, int64_t ld, int nr, int64_t kc, const uint16_t *Xp, int n, float *y,
			int64_t ldy, int acc, uint16_t *Wp)
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
			enum { H = 0, M = AMX_TILE_ELEMS, L = 2 * AMX_TILE_ELEMS };
			/* x's high part against w's three, then x's middle against w's
			 * high and middle, then x's low against w's high: 16 loads */
			_tile_loadd(2, x0 + H, 64);
			_tile_loadd(3, x1 + H, 64);
			_tile_loadd(0, w0 + L, 64);
			_tile_loadd(1, w1 + L, 64);
			TDP4();
			_tile_loadd(0, w0 + M, 64);
			_tile_loadd(1, w1 + M, 64);
			TDP4();
			_tile_loadd(0, w0 + H, 64);
			_tile_loadd(1, w1 + H, 64);
			TDP4();
			_tile_loadd(2, x0 + M, 64);
			_tile_loadd(3, x1 + M, 64);
			TDP4();
			_tile_loadd(2, x0 + L, 64);
			_tile_loadd(3, x1 + L, 64);
			TDP4();
			_tile_loadd(0, w0 + M, 64);
			_tile_loadd(1, w1 + M, 64);
			_tile_loadd(2, x0 + M, 64);
			_tile_loadd(3, x1 + M, 64);
			TDP4();
		}
		_tile_stored(4, C[0], 64);
		_tile_stored(5, C[1], 64);
		_tile_stored(6, C[2], 64);
		_tile_stored(7, C[3], 64);
		put_tile(C[0], y, ldy, 16 * j, n, nr, acc);
		put_tile(C[1], y, ldy, 16 * (j + 1), n, nr, acc);
		put_tile(C[2], y + 16, ldy, 16 * j, n, nr - 16, acc);
		put_tile(C[3], y + 16, ldy, 16 * (j + 1), n, nr - 16, acc);
	}
}
#else
int amx_request(void)
{
	return 0;
}
#endif
