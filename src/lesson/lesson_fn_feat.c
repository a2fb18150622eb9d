/* lesson_fn_feat.c - placeholders over the session's sparse autoencoder
 * (feat.h): its measured quality, the features at a position, what a
 * feature's decoder direction promotes, its top contexts, and how its
 * direction overlaps the others (superposition). */
#include "config.h"
#include "lesson_int.h"
#include "feat.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

static const rs_sae *need_sae(lesson_env *env, rs_err *err)
{
	return feat_sae(lx_session(env), err);
}

/* sae(field): the SAE's shape and the facts its file records. */
static int f_sae(lesson_env *env, int argc, lx_val *a, lx_val *out, rs_err *err)
{
	const char *field;
	const rs_sae *s = need_sae(env, err);
	if (!s || lx_arg_str(&a[0], "field", &field, err))
		return -1;
	const rs_sae_meta *m = &s->meta;
	double rec = m->ce_zero > m->ce_clean ? (m->ce_zero - m->ce_sae) / (m->ce_zero - m->ce_clean) : 0;
	double rec_mean = m->ce_mean > m->ce_clean ? (m->ce_mean - m->ce_sae) / (m->ce_mean - m->ce_clean) : 0;
	const struct {
		const char *name;
		double v;
	} rows[] = {
		{"n", s->n}, {"d", s->d}, {"k", s->k}, {"layer", s->hook.layer}, {"expansion", (double)s->n / s->d},
		{"nmse", m->nmse}, {"explained", 1 - m->nmse}, {"l0", m->l0}, {"dead", (double)m->dead},
		{"ce_clean", m->ce_clean}, {"ce_sae", m->ce_sae}, {"ce_zero", m->ce_zero}, {"ce_mean", m->ce_mean},
		{"recovered", rec}, {"recovered_mean", rec_mean}, {"seconds", m->seconds}, {"tokens", (double)m->tokens},
		{"steps", (double)m->steps},
	};
	for (size_t i = 0; i < sizeof rows / sizeof *rows; i++)
		if (!strcmp(field, rows[i].name)) {
			*out = lx_num(rows[i].v);
			return 0;
		}
	if (!strcmp(field, "hook")) {
		char hn[96];
		*out = lx_str(hook_name(s->hook, hn, sizeof hn));
		return 0;
	}
	if (!strcmp(field, "type")) {
		*out = lx_str(sae_type_name(s->type));
		return 0;
	}
	return rs_fail(err, "sae: no field '%.40s' (n d k layer expansion nmse explained l0 dead ce_clean ce_sae ce_zero "
			    "ce_mean recovered recovered_mean seconds tokens steps hook type)",
		       field);
}

/* The features at a position argument, into a malloc'd array (n). */
static float *feats(lesson_env *env, const lx_val *pv, int *pos, float *x, rs_err *err)
{
	const rs_sae *s = need_sae(env, err);
	if (!s || lx_arg_pos(env, pv, pos, err))
		return NULL;
	float *f = rs_xmalloc(sizeof(float) * (size_t)s->n);
	if (feat_at(lx_session(env), *pos, f, x, err)) {
		free(f);
		return NULL;
	}
	return f;
}

static int feature_arg(lesson_env *env, const lx_val *v, int *i, rs_err *err)
{
	long n;
	const rs_sae *s = need_sae(env, err);
	if (!s || lx_arg_int(v, "feature", &n, err))
		return -1;
	if (n < 0 || n >= s->n)
		return rs_fail(err, "feature %ld does not exist (0..%d)", n, s->n - 1);
	*i = (int)n;
	return 0;
}

/* feature_top(rank, pos): the rank-th most active feature at pos (rank from 1), -1 if fewer are active. */
static int f_feature_top(lesson_env *env, int argc, lx_val *a, lx_val *out, rs_err *err)
{
	long r;
	int p;
	if (lx_arg_int(&a[0], "rank", &r, err))
		return -1;
	float *f = feats(env, &a[1], &p, NULL, err);
	if (!f)
		return -1;
	int n = lx_session(env)->sae->n;
	if (r < 1 || r > n) {
		free(f);
		return rs_fail(err, "rank: 1 to %d", n);
	}
	int32_t *idx = rs_xmalloc(sizeof(int32_t) * (size_t)r);
	int got = vec_topk(f, n, (int)r, 0, idx);
	*out = lx_num(got == r && f[idx[r - 1]] > 0 ? idx[r - 1] : -1);
	free(idx);
	free(f);
	return 0;
}

/* feature_act(i, pos): feature i's activation at pos. */
static int f_feature_act(lesson_env *env, int argc, lx_val *a, lx_val *out, rs_err *err)
{
	int i, p;
	if (feature_arg(env, &a[0], &i, err))
		return -1;
	float *f = feats(env, &a[1], &p, NULL, err);
	if (!f)
		return -1;
	*out = lx_num(f[i]);
	free(f);
	return 0;
}

/* n_active(pos): how many features are active at pos (the L0 of one vector). */
static int f_n_active(lesson_env *env, int argc, lx_val *a, lx_val *out, rs_err *err)
{
	int p;
	float *f = feats(env, &a[0], &p, NULL, err);
	if (!f)
		return -1;
	int n = lx_session(env)->sae->n, c = 0;
	for (int i = 0; i < n; i++)
		c += f[i] > 0;
	*out = lx_num(c);
	free(f);
	return 0;
}

/* recon_err(pos): ‖x − x̂‖ / ‖x‖ of the SAE at pos. */
static int f_recon_err(lesson_env *env, int argc, lx_val *a, lx_val *out, rs_err *err)
{
	int p;
	const rs_sae *s = need_sae(env, err);
	if (!s)
		return -1;
	float *x = rs_xmalloc(sizeof(float) * (size_t)s->d), *xh = rs_xmalloc(sizeof(float) * (size_t)s->d);
	float *f = feats(env, &a[0], &p, x, err);
	if (f) {
		sae_decode(s, f, xh, 1);
		double e = 0, n = 0;
		for (int j = 0; j < s->d; j++)
			e += ((double)x[j] - xh[j]) * ((double)x[j] - xh[j]), n += (double)x[j] * x[j];
		*out = lx_num(n > 0 ? sqrt(e / n) : 0);
	}
	free(x), free(xh), free(f);
	return f ? 0 : -1;
}

/* feature_promotes(i, k): the k tokens feature i's decoder direction raises most (k < 0: the -k it lowers). */
static int f_feature_promotes(lesson_env *env, int argc, lx_val *a, lx_val *out, rs_err *err)
{
	int i;
	long k;
	if (feature_arg(env, &a[0], &i, err) || lx_arg_int(&a[1], "k", &k, err))
		return -1;
	if (k == 0 || k < -20 || k > 20)
		return rs_fail(err, "k: 1 to 20 tokens (negative: the tokens lowered most)");
	int32_t ids[20];
	int n = feat_promotes(lx_session(env), i, k < 0 ? -1 : 1, (int)labs(k), ids);
	*out = lx_str_take(lx_token_list(env, ids, n));
	return 0;
}

/* feature_context(i, j), feature_context_act(i, j): feature i's j-th top context (from 1) and its activation. */
static int context(lesson_env *env, lx_val *a, lx_val *out, int want_act, rs_err *err)
{
	int i;
	long j;
	if (feature_arg(env, &a[0], &i, err) || lx_arg_int(&a[1], "j", &j, err))
		return -1;
	if (!feat_index(lx_session(env)))
		return rs_fail(err, "this SAE has no index of top contexts");
	char buf[1024];
	float act;
	feat_context(lx_session(env), i, (int)j - 1, &act, buf, sizeof buf);
	if (!(act > 0))
		return rs_fail(err, "feature %d has no context %ld", i, j);
	*out = want_act ? lx_num(act) : lx_str(buf);
	return 0;
}

static int f_feature_context(lesson_env *env, int argc, lx_val *a, lx_val *out, rs_err *err)
{
	return context(env, a, out, 0, err);
}

static int f_feature_context_act(lesson_env *env, int argc, lx_val *a, lx_val *out, rs_err *err)
{
	return context(env, a, out, 1, err);
}

/* feature_freq(i): the share of the index pass's vectors feature i was active on. */
static int f_feature_freq(lesson_env *env, int argc, lx_val *a, lx_val *out, rs_err *err)
{
	int i;
	if (feature_arg(env, &a[0], &i, err))
		return -1;
	const rs_sae_index *x = feat_index(lx_session(env));
	if (!x || !x->vectors)
		return rs_fail(err, "this SAE has no index of top contexts");
	*out = lx_num((double)x->fired[i] / (double)x->vectors);
	return 0;
}

/* feature_max_cos(i): the largest |cosine| between feature i's decoder
 * direction and another feature's: directions of more features than
 * dimensions cannot all be orthogonal. */
static int f_feature_max_cos(lesson_env *env, int argc, lx_val *a, lx_val *out, rs_err *err)
{
	int i;
	if (feature_arg(env, &a[0], &i, err))
		return -1;
	const rs_sae *s = lx_session(env)->sae;
	const float *di = s->w_dec + (size_t)i * s->d;
	double best = 0, ni = 0;
	for (int j = 0; j < s->d; j++)
		ni += (double)di[j] * di[j];
	for (int o = 0; o < s->n; o++) {
		if (o == i)
			continue;
		const float *dj = s->w_dec + (size_t)o * s->d;
		double dot = 0, nj = 0;
		for (int j = 0; j < s->d; j++)
			dot += (double)di[j] * dj[j], nj += (double)dj[j] * dj[j];
		if (ni > 0 && nj > 0)
			best = fmax(best, fabs(dot) / sqrt(ni * nj));
	}
	*out = lx_num(best);
	return 0;
}

/* feature_for(tok): the feature whose decoder direction raises tok's logit
 * most directly: argmax_i (W_U[tok] ⊙ g_final) · dec_i. */
static int f_feature_for(lesson_env *env, int argc, lx_val *a, lx_val *out, rs_err *err)
{
	int32_t t;
	const rs_sae *s = need_sae(env, err);
	if (!s || lx_arg_tok(env, &a[0], &t, err))
		return -1;
	const rs_model *m = lx_session(env)->model;
	float *u = rs_xmalloc(sizeof(float) * (size_t)s->d);
	mat_row(&m->output, t, u);
	int best = 0;
	double bv = -INFINITY;
	for (int i = 0; i < s->n; i++) {
		double v = 0;
		for (int j = 0; j < s->d; j++)
			v += (double)u[j] * m->final_norm[j] * s->w_dec[(size_t)i * s->d + j];
		if (v > bv)
			bv = v, best = i;
	}
	free(u);
	*out = lx_num(best);
	return 0;
}

const lx_func lx_funcs_feat[] = {
	{"feature_for", 1, 1, f_feature_for},
	{"sae", 1, 1, f_sae},
	{"feature_top", 2, 2, f_feature_top},
	{"feature_act", 2, 2, f_feature_act},
	{"n_active", 1, 1, f_n_active},
	{"recon_err", 1, 1, f_recon_err},
	{"feature_promotes", 2, 2, f_feature_promotes},
	{"feature_context", 2, 2, f_feature_context},
	{"feature_context_act", 2, 2, f_feature_context_act},
	{"feature_freq", 1, 1, f_feature_freq},
	{"feature_max_cos", 1, 1, f_feature_max_cos},
	{NULL, 0, 0, NULL},
};
