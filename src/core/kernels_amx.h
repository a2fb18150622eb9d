/* kernels_amx.h - the AMX prefill product (kernels_amx.c), private to src/core. */
#ifndef RS_KERNELS_AMX_H
#define RS_KERNELS_AMX_H

#include <stddef.h>
#include <stdint.h>

#define AMX_TILE_ELEMS 512 /* bf16 in one 16 x 64-byte tile */
#define AMX_TILE_BYTES 1024

/* 1 when this CPU has AMX-BF16 and the kernel granted this process the tile
 * state; call once (kernels.c's tier choice does). */
int amx_request(void);

/* Tiles of 16 tokens, rounded up to an even count (tokens past n are zeros). */
static inline int amx_token_tiles(int n)
{
	int j = (n + 15) / 16;
	return j + (j & 1);
}

/* Weights to bring into L2 while a panel pair computes: rows of span bytes,
 * stride apart (the pair the thread takes next), spread over its steps. */
typedef struct amx_prefetch {
	const uint8_t *base;
	size_t stride, span;
	int rows;
} amx_prefetch;

#if HAVE_AMX
/* Per thread, around its share of the work: the tile shape, and its release. */
void amx_begin(void);
void amx_end(void);
/* Bytes of x packed for kc values of k. */
size_t amx_x_bytes(int n, int64_t kc);
/* Token tiles j0 .. j1-1 of x [n, kc] (rows ldx apart) into Xp, and (Xs not
 * NULL) the sum of each token's x over each 32 of k into Xs [tile][step][16]. */
void amx_pack_x(const float *x, int64_t ldx, int n, int64_t kc, int j0, int j1, uint16_t *Xp, float *Xs);
/* Rows 0 .. nr-1 (nr <= 32) of the transposed output yt [rows, ldt] (ldt at
 * least the tokens rounded up to 32; acc: += instead of =) from the f32 rows
 * w [nr, kc] (ld apart) and packed x; Wp: 6 KB of scratch each 32 of kc. */
void amx_panel_pair(const float *w, int64_t ld, int nr, int64_t kc, const uint16_t *Xp, int n, float *yt,
		    int64_t ldt, int acc, uint16_t *Wp, const amx_prefetch *pf);
/* y [n, ldy] from yt, the blocks of 16 rows b0 .. b1-1. */
void amx_untranspose(const float *yt, int64_t ldt, int n, int64_t rows, int64_t b0, int64_t b1, float *y,
		     int64_t ldy);
/* The same for weights w = ds·q − dm (dm NULL: 0) given as int8 codes q
 * [nr, kc] (ldq apart) and ds, dm [nr, kc/32] (lds apart); Xs from
 * amx_pack_x. Wq: 2 KB and Ws: 256 bytes of scratch each 32 of kc; acc_buf:
 * 2 KB each tile of 16 tokens, 64-byte aligned. */
void amx_panel_pair_codes(const int8_t *q, int64_t ldq, const float *ds, const float *dm, int64_t lds, int nr,
			  int64_t kc, const uint16_t *Xp, const float *Xs, int n, float *yt, int64_t ldt, int acc,
			  uint16_t *Wq, float *Ws, float (*acc_buf)[2][256], const amx_prefetch *pf);
#endif

#endif
