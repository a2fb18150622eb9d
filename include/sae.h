/* sae.h - a sparse autoencoder (SAE) of one hook's activations: its
 * parameters, encoder and decoder, its file, and the index of each feature's
 * top-activating contexts.
 *
 * The maths (Bricken et al. 2023; TopK as Gao et al. 2024):
 *   pre  = W_enc · (x − b_dec) + b_enc                       [n]
 *   f    = ReLU(pre)                      (type relu)
 *        = ReLU of the k largest entries of pre, 0 elsewhere (type topk)
 *   x̂    = W_decᵀ · f + b_dec = Σ_i f_i · dec_i + b_dec      [d]
 * Row i of W_dec is feature i's decoder direction (unit norm: the trainer
 * keeps it so), the vector `steer HOOK feature:i` adds.
 *
 * Files: GGUF, keys under residual.sae.* (the hook, type, k, the model it
 * was trained on, and the training run's facts and measured quality),
 * tensors sae.w_enc (n, d), sae.b_enc (n), sae.w_dec (n, d), sae.b_dec (d).
 * The index of top contexts is a second GGUF beside it (NAME.index.gguf). It
 * lives in core because both the trainer (train/, below interp) and the
 * feature commands read and write it. */
#ifndef RS_SAE_H
#define RS_SAE_H

#include <stdint.h>

#include "err.h"
#include "hooks.h"

typedef enum rs_sae_type { SAE_RELU = 0, SAE_TOPK = 1 } rs_sae_type;

/* Measured facts kept in the file's keys (0 when unknown). */
typedef struct rs_sae_meta {
	char model[128];       /* general.name of the model it was trained on */
	uint64_t seed;
	int64_t tokens;        /* activation vectors trained on (with repeats) */
	int64_t steps, batch;
	float lr, l1;
	double seconds;        /* training time */
	double nmse;           /* held-out Σ‖x−x̂‖² / Σ‖x−mean‖² */
	double l0;             /* held-out mean active features per vector */
	int64_t dead;          /* features that never fired over the index pass */
	double ce_clean, ce_sae, ce_zero, ce_mean; /* held-out next-token loss, nats */
} rs_sae_meta;

typedef struct rs_sae {
	int d, n;              /* input width, features */
	rs_sae_type type;
	int k;                 /* topk: active features per vector */
	rs_hook hook;
	float *w_enc;          /* (n, d) */
	float *b_enc;          /* (n) */
	float *w_dec;          /* (n, d) row i: feature i's decoder direction */
	float *b_dec;          /* (d) */
	rs_sae_meta meta;
} rs_sae;

/* Zeroed parameters (k is used by topk only). */
rs_sae *sae_create(int d, int n, rs_sae_type type, int k, rs_hook hook);
void sae_free(rs_sae *s);
const char *sae_type_name(rs_sae_type t);
/* "relu" or "topk"; -1 otherwise. */
int sae_type_parse(const char *s);

/* pre (rows, n) = W_enc · (x − b_dec) + b_enc for rows of x (rows, d). */
void sae_pre(const rs_sae *s, const float *x, float *pre, int64_t rows);
/* f = the activation function of pre, in place (rows, n). */
void sae_activate(const rs_sae *s, float *f, int64_t rows);
/* f (rows, n) = the features of x (rows, d). */
void sae_encode(const rs_sae *s, const float *x, float *f, int64_t rows);
/* xhat (rows, d) = W_decᵀ f + b_dec. */
void sae_decode(const rs_sae *s, const float *f, float *xhat, int64_t rows);

/* The file: 0, or -1 with one line naming the file. */
int sae_save(const rs_sae *s, const char *path, rs_err *err);
rs_sae *sae_load(const char *path, rs_err *err);

/* ---------------------------------------------------------------- index
 * For each feature, its top activations over a corpus pass, best first, at
 * most one per window: the context around the token (tokens before it, the
 * token, a few after; -1 pads) and the activation. */
typedef struct rs_sae_index {
	int n, top, ctx;       /* features, contexts each, tokens a context */
	int at;                /* where the activating token is within a context */
	int32_t *tokens;       /* (n, top, ctx) */
	float *act;            /* (n, top) 0: no more contexts */
	int64_t *fired;        /* (n) vectors the feature was active on in the pass */
	int64_t vectors;       /* vectors of the pass */
	int64_t *win;          /* (n, top) the window of each context, while building (not saved) */
} rs_sae_index;

rs_sae_index *sae_index_create(int n, int top, int ctx, int at);
void sae_index_free(rs_sae_index *x);
/* Offers feature i's activation a at a token whose context is ctx (x->ctx
 * tokens) in window w; keeps the best x->top, one per window. */
void sae_index_offer(rs_sae_index *x, int i, float a, const int32_t *ctx, int64_t w);
int sae_index_save(const rs_sae_index *x, const char *path, rs_err *err);
rs_sae_index *sae_index_load(const char *path, rs_err *err);
/* NAME.gguf -> NAME.index.gguf */
void sae_index_path(const char *sae_path, char *buf, size_t n);

#endif
