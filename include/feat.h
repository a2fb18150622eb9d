/* feat.h - the session's sparse autoencoder (sae.h): which one goes with
 * the model, and the features active at a position of the session's pass,
 * for the commands (`sae`, `features`, `feature`, `steer ... feature:N`) and
 * the features pane. */
#ifndef RS_FEAT_H
#define RS_FEAT_H

#include <stdint.h>

#include "err.h"
#include "sae.h"
#include "session.h"

/* The session's SAE: the one loaded with `sae FILE`, else for the built-in
 * model the one shipped beside it (assets/residual-tiny.sae.gguf), loaded
 * on first use. NULL with a message naming what to do when there is none or
 * it does not fit the model. */
const rs_sae *feat_sae(rs_session *s, rs_err *err);
/* Its index of top contexts (NULL when it has none). */
const rs_sae_index *feat_index(const rs_session *s);
/* Loads FILE (and FILE's index beside it, when there is one) as the
 * session's SAE; checks that it fits the model. */
int feat_load(rs_session *s, const char *path, rs_err *err);
/* Frees the session's SAE (session_free calls it). */
void feat_free(rs_session *s);

/* The features at position pos of the pass as the learner sees it (the SAE's
 * hook must be computed: the pane's case), the k most active, strongest
 * first: ids and activations; returns how many are active among them, or -1
 * with a message. */
int feat_top_shown(rs_session *s, int pos, int k, int *ids, float *acts, rs_err *err);
/* The features (n of the SAE) at position pos of the session's pass, the
 * hook computed now in a side run (interventions included) when the pass
 * has not reached it; its activation x (d) too when x is not NULL. */
int feat_at(rs_session *s, int pos, float *f, float *x, rs_err *err);
/* The k tokens feature i's decoder direction raises most (sign +1) or lowers
 * most (-1) through the unembedding, read with the final norm's weight as
 * direct logit attribution does; returns how many. */
int feat_promotes(const rs_session *s, int i, int sign, int k, int32_t *ids);
/* Feature i's context j from the index as one line, the activating token in
 * [[ ]]; its activation in *act (0: no such context). */
char *feat_context(const rs_session *s, int i, int j, float *act, char *buf, size_t n);

#endif
