/* sae_train.h - training a sparse autoencoder (sae.h) on one hook's
 * activations: collecting them by running the engine over a corpus, the
 * optimisation, the held-out measurements and the index of top contexts.
 *
 * Threads: core's pool (pool.h); each thread multiplies its own rows with a
 * single-threaded BLAS call, so for a fixed thread count a run from the same
 * seed gives the same bits. */
#ifndef RS_SAE_TRAIN_H
#define RS_SAE_TRAIN_H

#include <stdint.h>

#include "engine.h"
#include "err.h"
#include "sae.h"

typedef struct sae_train_opts {
	int64_t steps;       /* updates */
	int batch;           /* vectors an update */
	float lr;            /* Adam, constant after a linear warmup, linear to 0 over the last 20% */
	int warmup;
	float l1;            /* relu: the L1 coefficient on f (decoder rows are unit norm) */
	uint64_t seed;       /* initialisation and the order of the vectors */
	int log_every;       /* 0: quiet */
} sae_train_opts;

/* Called every log_every steps with the step and the batch's mean squared
 * error and L0. */
typedef void (*sae_train_log)(void *ctx, int64_t step, double mse, double l0);

/* Initialises s (Gao et al. 2024: random unit decoder rows, encoder = the
 * decoder's transpose, b_dec = the data's mean) and trains it on the rows of
 * x (N, d), drawn in a seeded random order, epoch after epoch. Returns the
 * mean squared error of the first and last log windows in *first, *last. */
void sae_train(rs_sae *s, const float *x, int64_t N, const sae_train_opts *o, sae_train_log log, void *ctx,
	       double *first, double *last);

/* ---------------------------------------------------------------- over a corpus */

/* Activations of hook h over windows of T tokens of ids (documents as BOS
 * doc EOS; starts: window starts), positions 1..T-1 of each (position 0, the
 * BOS, is left out: its vector is unlike any other and would take features).
 * x gets (n_windows·(T-1), d); win_start the start of each window. */
typedef struct sae_acts {
	float *x;            /* (N, d) */
	int64_t N;
	int d, T;
	int64_t n_windows;
	int64_t *win_start;  /* (n_windows) offset into ids */
} sae_acts;

int sae_collect(rs_engine *e, rs_hook h, const int32_t *ids, const int64_t *starts, int64_t n_windows, int T,
		sae_acts *out, rs_err *err);
void sae_acts_free(sae_acts *a);

/* Held-out quality over windows (as sae_collect's): normalised MSE, L0, and
 * the next-token loss clean, with the SAE's reconstruction in place of the
 * hook (every position but the BOS), zero-ablated, and mean-ablated (the
 * mean of mean_x (d), the training data's). Fills s->meta. */
int sae_measure(rs_engine *e, rs_sae *s, const int32_t *ids, const int64_t *starts, int64_t n_windows, int T,
		const float *mean_x, rs_err *err);

/* The index of each feature's top contexts over the collected activations:
 * ctx tokens, the activating one at `at`. Also counts the dead features
 * (never active over the pass) into s->meta.dead. */
rs_sae_index *sae_build_index(rs_sae *s, const sae_acts *a, const int32_t *ids, int64_t n_ids, int top, int ctx,
			      int at);

#endif
