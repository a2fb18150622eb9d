/* rerun.c - base run + worker reruns for ablation and patching. */
#include "config.h"
#include "rerun.h"

#include <stdlib.h>
#include <string.h>
#include <time.h>

double rerun_clock(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + ts.tv_nsec * 1e-9;
}

int rerun_init(interp_rerun *r, const rs_model *m, const int32_t *ids, int n, const interp_metric *mt,
	       rs_err *err)
{
	memset(r, 0, sizeof *r);
	r->m = m;
	r->mt = *mt;
	r->T = n;
	if (interp_metric_check(mt, m, n, err))
		return -1;
	if (!(r->base = eng_create(m, err)) || !(r->work = eng_create(m, err)))
		goto fail;
	if (eng_set_prompt(r->base, ids, n, err))
		goto fail;
	eng_run(r->base);
	if (interp_metric_engine(r->base, mt, &r->base_metric, err))
		goto fail;
	r->full = 1;
	rerun_set_full(r, 0);
	return 0;
fail:
	rerun_done(r);
	return -1;
}

void rerun_done(interp_rerun *r)
{
	eng_free(r->base);
	eng_free(r->work);
	r->base = r->work = NULL;
}

void rerun_set_full(interp_rerun *r, int full)
{
	if (r->full == full)
		return;
	r->full = full;
	/* a sweep reads one logit row: caching the rest would only cost copies */
	eng_set_cache_filter(r->work, full ? "*" : "logits");
	eng_set_logits_all(r->work, full || interp_metric_pos(&r->mt, r->T) != r->T - 1);
}

int rerun_with(interp_rerun *r, const rs_intervention *iv, int n_iv, float *metric, rs_err *err)
{
	int L = r->m->cfg.n_layers, stop = n_iv ? hook_n_stops(L) - 1 : 0;
	eng_clear_interventions(r->work);
	for (int i = 0; i < n_iv; i++) {
		if (eng_add_intervention(r->work, &iv[i], err) < 0)
			return -1;
		int s = hook_stop(iv[i].hook, L);
		stop = s < stop ? s : stop;
	}
	if (eng_resume(r->work, r->base, stop, err))
		return -1;
	eng_run(r->work);
	return interp_metric_engine(r->work, &r->mt, metric, err);
}

float rerun_prob(const rs_engine *e, const interp_metric *mt)
{
	const rs_act *lg = eng_act(e, (rs_hook){HOOK_LOGITS, -1});
	int T = eng_n_tokens(e), V = (int)lg->shape[1], p = interp_metric_pos(mt, T);
	float *pr = rs_xmalloc(sizeof *pr * (size_t)V);
	vec_softmax(lg->data + (size_t)(lg->shape[0] == T ? p : 0) * V, V, pr);
	float out = pr[mt->tok];
	free(pr);
	return out;
}
