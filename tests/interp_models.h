/* interp_models.h - small Llama models written by the tests: random ones
 * for the identities, and hand-built ones whose heads do a known job. */
#ifndef RS_INTERP_MODELS_H
#define RS_INTERP_MODELS_H

#include <stdint.h>

#include "err.h"

typedef struct tm_layer {
	float *attn_norm;       /* [d] */
	float *wq;              /* [H*hd, d] Hugging Face (rotate-half) row order */
	float *wk, *wv;         /* [Hkv*hd, d] */
	float *wo;              /* [d, H*hd] */
	float *ffn_norm;        /* [d] */
	float *gate, *up;       /* [ff, d] */
	float *down;            /* [d, ff] */
} tm_layer;

typedef struct tm_model {
	int n_layers, d, n_heads, n_kv_heads, head_dim, d_ff, vocab;
	int tied;
	int bos;                /* -1: none */
	float rope_theta, rms_eps;
	float *embd;            /* [vocab, d] */
	float *out;             /* [vocab, d]; unused when tied */
	float *final_norm;      /* [d] */
	float *rope_freqs;      /* [hd/2] divisors of the base frequencies, or NULL */
	tm_layer *layers;       /* [n_layers] */
} tm_model;

/* Allocates zeroed weights (norms at 1) for the shapes set in m. */
void tm_alloc(tm_model *m);
/* Fills every matrix with N(0, std²) (embeddings N(0, 1)), norms 1 + N(0, 0.1²). */
void tm_randomize(tm_model *m, float std, uint64_t seed);
void tm_free(tm_model *m);
/* Writes a GGUF file; matrices in `type` (RS_F32, RS_F16, RS_Q8_0), Q/K rows
 * permuted to GGUF's interleaved order (the loader permutes them back). */
int tm_write_gguf(const tm_model *m, const char *path, int type, rs_err *err);
/* N(0, 1) from a splitmix64 state. */
float tm_normal(uint64_t *s);

#endif
