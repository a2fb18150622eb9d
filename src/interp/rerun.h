/* rerun.h - private to interp/: a base run kept with its whole cache, and a
 * worker engine that reruns it from any stop with interventions (ablation
 * and patching sweeps start each rerun at the layer they change). */
#ifndef RS_INTERP_RERUN_H
#define RS_INTERP_RERUN_H

#include "interp.h"

typedef struct interp_rerun {
	const rs_model *m;
	rs_engine *base;     /* the unaltered run, every hook cached */
	rs_engine *work;     /* reruns */
	interp_metric mt;
	int T;
	float base_metric;
	int full;            /* whether the worker keeps its whole cache and every logit row */
} interp_rerun;

int rerun_init(interp_rerun *r, const rs_model *m, const int32_t *ids, int n, const interp_metric *mt,
	       rs_err *err);
void rerun_done(interp_rerun *r);
/* full: the worker keeps its cache and all logits (for inspection);
 * else only what the metric needs (sweeps). */
void rerun_set_full(interp_rerun *r, int full);
/* Reruns the base prompt with these interventions, from the earliest stop
 * they touch (n_iv 0: from the start); *metric gets the rerun's metric. */
int rerun_with(interp_rerun *r, const rs_intervention *iv, int n_iv, float *metric, rs_err *err);
double rerun_clock(void);
/* The probability of the metric's token at its position in an engine's cached logits. */
float rerun_prob(const rs_engine *e, const interp_metric *mt);
/* ablate.c: the engine intervention that ablates a target. */
int abl_intervention(const rs_config *c, const abl_target *t, rs_intervention *iv, rs_err *err);

#endif
