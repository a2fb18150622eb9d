/* common.c - metrics, softmax, top-k and cache look-ups shared by the analyses. */
#include "config.h"
#include "interp.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

int interp_metric_pos(const interp_metric *mt, int T)
{
	return mt->pos < 0 ? T - 1 : mt->pos;
}

int interp_metric_check(const interp_metric *mt, const rs_model *m, int T, rs_err *err)
{
	int V = m->cfg.vocab;
	if (mt->tok < 0 || mt->tok >= V)
		return rs_fail(err, "metric: token %d is outside the vocabulary (%d)", mt->tok, V);
	if (mt->tok_b >= V || mt->tok_b < -1)
		return rs_fail(err, "metric: token %d is outside the vocabulary (%d)", mt->tok_b, V);
	if (mt->pos < -1 || mt->pos >= T)
		return rs_fail(err, "metric: position %d is outside the prompt (%d tokens)", mt->pos, T);
	return 0;
}

int interp_metric_eval(const interp_metric *mt, const float *logits, int rows, int T, int vocab, float *out,
		       rs_err *err)
{
	int p = interp_metric_pos(mt, T);
	int row = rows == T ? p : rows == 1 && p == T - 1 ? 0 : -1;
	if (row < 0)
		return rs_fail(err, "metric: the logits of position %d were not computed (only the last)", p);
	const float *l = logits + (size_t)row * vocab;
	*out = l[mt->tok] - (mt->tok_b >= 0 ? l[mt->tok_b] : 0.0f);
	return 0;
}

int interp_metric_engine(const rs_engine *e, const interp_metric *mt, float *out, rs_err *err)
{
	const rs_act *lg = interp_need(e, HOOK_LOGITS, -1, err);
	if (!lg)
		return -1;
	if (interp_metric_check(mt, eng_model(e), eng_n_tokens(e), err))
		return -1;
	return interp_metric_eval(mt, lg->data, lg->shape[0], eng_n_tokens(e), lg->shape[1], out, err);
}

int interp_rank(const float *x, int n, int32_t i)
{
	int r = 0;
	for (int j = 0; j < n; j++)
		r += x[j] > x[i];
	return r;
}

const rs_act *interp_need(const rs_engine *e, int kind, int layer, rs_err *err)
{
	rs_hook h = {kind, hook_is_layer_kind(kind) ? layer : -1};
	const rs_act *a = eng_act(e, h);
	if (!a) {
		char name[96];
		hook_name(h, name, sizeof name);
		if (!eng_n_tokens(e))
			rs_fail(err, "no prompt has been run");
		else if (eng_stop(e) < hook_stop(h, eng_model(e)->cfg.n_layers))
			rs_fail(err, "%s has not been computed yet: run the prompt to the end first", name);
		else
			rs_fail(err, "%s is not in the cache (see the cache filter)", name);
	}
	return a;
}
