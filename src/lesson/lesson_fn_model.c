/* lesson_fn_model.c - placeholder functions that read the forward pass:
 * cached activations, logits, the logit lens, attribution, head scores, and
 * the side experiments of interp.h (ablation, patching) on the session's
 * prompt. They read the engine's cache of everything computed so far; a
 * hook not computed yet is an error that names it, so a lesson author
 * learns to run the pass far enough first. */
#include "config.h"
#include "interp.h"
#include "lesson_int.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---------------------------------------------------------------- access */
static const rs_config *cfg_of(lesson_env *env) { return &lx_session(env)->model->cfg; }
static const rs_engine *eng_of(lesson_env *env) { return lx_session(env)->eng; }

/* A full hook name; a negative layer counts from the end ("blocks.-1.hook_resid_post"). */
static int get_hook(lesson_env *env, const lx_val *v, rs_hook *h, rs_err *err)
{
	const char *name = NULL;
	if (lx_arg_str(v, "the hook", &name, err))
		return -1;
	if (hook_parse_rel(name, cfg_of(env)->n_layers, h))
		return rs_fail(err, "unknown hook '%s' (full names: blocks.0.hook_resid_post)", rs_esc(name, -1));
	return 0;
}

static const rs_act *need(lesson_env *env, rs_hook h, rs_err *err)
{
	const rs_act *a = eng_act(eng_of(env), h);
	if (!a) {
		char name[96];
		hook_name(h, name, sizeof name);
		rs_fail(err, "%s has not been computed yet (run the pass to it first)", name);
	}
	return a;
}

static int get_layer(lesson_env *env, const lx_val *v, int *out, rs_err *err)
{
	long l = 0;
	int L = cfg_of(env)->n_layers;
	if (lx_arg_int(v, "the layer", &l, err))
		return -1;
	if (l < 0)
		l += L;
	if (l < 0 || l >= L)
		return rs_fail(err, "layer %ld: the model has %d layers", l, L);
	*out = (int)l;
	return 0;
}

static int get_head(lesson_env *env, const lx_val *v, int n, int *out, rs_err *err)
{
	long h = 0;
	if (lx_arg_int(v, "the head", &h, err))
		return -1;
	if (h < 0 || h >= n)
		return rs_fail(err, "head %ld: there are %d", h, n);
	*out = (int)h;
	return 0;
}

/* The vector of a hook at a position: a[0] hook, a[1] position, a[hi] head
 * (for q/k/v/z and patterns; -1: none given). */
static int get_row(lesson_env *env, int argc, const lx_val *a, int hi, const float **x, int *n, rs_err *err)
{
	rs_hook h = {0, 0};
	int p = 0;
	if (get_hook(env, &a[0], &h, err) || lx_arg_pos(env, &a[1], &p, err))
		return -1;
	const rs_act *act = need(env, h, err);
	if (!act)
		return -1;
	if (!hook_has_heads(h.kind)) {
		*x = act_row(act, h.kind, p, 0, n);
		return 0;
	}
	int head = 0;
	if (hi < 0 || hi >= argc)
		return rs_fail(err, "this hook has a head axis: give the head");
	if (get_head(env, &a[hi], act_n_heads(act, h.kind), &head, err))
		return -1;
	*x = act_row(act, h.kind, p, head, n);
	if (hook_is_attn(h.kind))
		*n = p + 1; /* the keys a query may see */
	return 0;
}

/* The logits at a position (default: the last). */
static int get_logits(lesson_env *env, int argc, const lx_val *a, int i, const float **x, int *pos, rs_err *err)
{
	rs_session *s = lx_session(env);
	int p = s->n_ids - 1;
	if (argc > i && lx_arg_pos(env, &a[i], &p, err))
		return -1;
	const rs_act *act = need(env, (rs_hook){HOOK_LOGITS, -1}, err);
	if (!act)
		return -1;
	int rows = act->shape[0];
	if (rows != s->n_ids && p != s->n_ids - 1)
		return rs_fail(err, "only the last position's logits were computed");
	*x = act->data + (int64_t)(rows == s->n_ids ? p : 0) * act->shape[1];
	if (pos)
		*pos = p;
	return 0;
}

/* ---------------------------------------------------------------- vectors */
static int f_norm(lesson_env *env, int argc, lx_val *a, lx_val *out, rs_err *err)
{
	const float *x = NULL;
	int n = 0;
	if (get_row(env, argc, a, 2, &x, &n, err))
		return -1;
	double ss = 0;
	for (int i = 0; i < n; i++)
		ss += (double)x[i] * x[i];
	*out = lx_num(sqrt(ss));
	return 0;
}

static int f_rms(lesson_env *env, int argc, lx_val *a, lx_val *out, rs_err *err)
{
	const float *x = NULL;
	int n = 0;
	if (get_row(env, argc, a, 2, &x, &n, err))
		return -1;
	double ss = 0;
	for (int i = 0; i < n; i++)
		ss += (double)x[i] * x[i];
	*out = lx_num(sqrt(ss / n));
	return 0;
}

static int f_mean(lesson_env *env, int argc, lx_val *a, lx_val *out, rs_err *err)
{
	const float *x = NULL;
	int n = 0;
	if (get_row(env, argc, a, 2, &x, &n, err))
		return -1;
	double s = 0;
	for (int i = 0; i < n; i++)
		s += x[i];
	*out = lx_num(s / n);
	return 0;
}

static int f_maxabs(lesson_env *env, int argc, lx_val *a, lx_val *out, rs_err *err)
{
	const float *x = NULL;
	int n = 0, best = 0;
	if (get_row(env, argc, a, 2, &x, &n, err))
		return -1;
	for (int i = 1; i < n; i++)
		if (fabsf(x[i]) > fabsf(x[best]))
			best = i;
	*out = lx_num(fabsf(x[best]));
	return 0;
}

static int f_argmaxabs(lesson_env *env, int argc, lx_val *a, lx_val *out, rs_err *err)
{
	const float *x = NULL;
	int n = 0, best = 0;
	if (get_row(env, argc, a, 2, &x, &n, err))
		return -1;
	for (int i = 1; i < n; i++)
		if (fabsf(x[i]) > fabsf(x[best]))
			best = i;
	*out = lx_num(best);
	return 0;
}

/* value(hook, pos, i [, head]) */
static int f_value(lesson_env *env, int argc, lx_val *a, lx_val *out, rs_err *err)
{
	const float *x = NULL;
	int n = 0;
	long i = 0;
	if (get_row(env, argc, a, 3, &x, &n, err) || lx_arg_int(&a[2], "the index", &i, err))
		return -1;
	if (i < 0)
		i += n;
	if (i < 0 || i >= n)
		return rs_fail(err, "index %ld: the vector has %d entries", i, n);
	*out = lx_num(x[i]);
	return 0;
}

/* cos(hook_a, pos_a, hook_b, pos_b): cosine similarity of two [T, d] rows. */
static int f_cos(lesson_env *env, int argc, lx_val *a, lx_val *out, rs_err *err)
{
	const float *x = NULL, *y = NULL;
	int n = 0, m = 0;
	if (get_row(env, 2, a, -1, &x, &n, err) || get_row(env, 2, a + 2, -1, &y, &m, err))
		return -1;
	if (n != m)
		return rs_fail(err, "the vectors have %d and %d entries", n, m);
	double xy = 0, xx = 0, yy = 0;
	for (int i = 0; i < n; i++)
		xy += (double)x[i] * y[i], xx += (double)x[i] * x[i], yy += (double)y[i] * y[i];
	*out = lx_num(xx > 0 && yy > 0 ? xy / sqrt(xx * yy) : 0);
	return 0;
}

/* sumcheck(a, b, c, pos): max |a + b - c| over the row (a residual identity). */
static int f_sumcheck(lesson_env *env, int argc, lx_val *a, lx_val *out, rs_err *err)
{
	const float *x = NULL, *y = NULL, *z = NULL;
	int n1 = 0, n2 = 0, n3 = 0;
	lx_val pa[2] = {a[0], a[3]}, pb[2] = {a[1], a[3]}, pc[2] = {a[2], a[3]};
	if (get_row(env, 2, pa, -1, &x, &n1, err) || get_row(env, 2, pb, -1, &y, &n2, err) ||
	    get_row(env, 2, pc, -1, &z, &n3, err))
		return -1;
	if (n1 != n2 || n2 != n3)
		return rs_fail(err, "the three hooks have different widths");
	double worst = 0;
	for (int i = 0; i < n1; i++) {
		double d = fabs((double)x[i] + y[i] - z[i]);
		worst = d > worst ? d : worst;
	}
	*out = lx_num(worst);
	return 0;
}

/* ---------------------------------------------------------------- attention */
static int attn_args(lesson_env *env, const lx_val *a, int with_k, int *L, int *H, int *q, int *k, rs_err *err)
{
	if (get_layer(env, &a[0], L, err) || get_head(env, &a[1], cfg_of(env)->n_heads, H, err) ||
	    lx_arg_pos(env, &a[2], q, err) || (with_k && lx_arg_pos(env, &a[3], k, err)))
		return -1;
	if (with_k && *k > *q)
		return rs_fail(err, "key %d comes after query %d: the causal mask hides it", *k, *q);
	return 0;
}

static int pattern_at(lesson_env *env, int kind, lx_val *a, lx_val *out, rs_err *err)
{
	int L = 0, H = 0, q = 0, k = 0;
	if (attn_args(env, a, 1, &L, &H, &q, &k, err))
		return -1;
	const rs_act *act = need(env, (rs_hook){kind, L}, err);
	if (!act)
		return -1;
	*out = lx_num(act_at(act, H, q, k));
	return 0;
}

static int f_attn(lesson_env *env, int argc, lx_val *a, lx_val *out, rs_err *err)
{
	return pattern_at(env, HOOK_PATTERN, a, out, err);
}

static int f_score(lesson_env *env, int argc, lx_val *a, lx_val *out, rs_err *err)
{
	return pattern_at(env, HOOK_ATTN_SCORES, a, out, err);
}

/* The score by hand: rotated query · rotated key of the head's KV group / √hd. */
static int f_qk(lesson_env *env, int argc, lx_val *a, lx_val *out, rs_err *err)
{
	int L = 0, H = 0, q = 0, k = 0;
	if (attn_args(env, a, 1, &L, &H, &q, &k, err))
		return -1;
	const rs_config *c = cfg_of(env);
	const rs_act *rq = need(env, (rs_hook){HOOK_ROT_Q, L}, err), *rk = rq ? need(env, (rs_hook){HOOK_ROT_K, L}, err) : NULL;
	if (!rk)
		return -1;
	int kvh = H / (c->n_heads / c->n_kv_heads), hd;
	const float *x = act_row(rq, HOOK_ROT_Q, q, H, &hd);
	const float *y = act_row(rk, HOOK_ROT_K, k, kvh, &hd);
	double d = 0;
	for (int i = 0; i < hd; i++)
		d += (double)x[i] * y[i];
	*out = lx_num(d / sqrt(hd));
	return 0;
}

/* attn_max(L, H, q): the key position the query attends to most. */
static int f_attn_max(lesson_env *env, int argc, lx_val *a, lx_val *out, rs_err *err)
{
	int L = 0, H = 0, q = 0;
	if (attn_args(env, a, 0, &L, &H, &q, NULL, err))
		return -1;
	const rs_act *act = need(env, (rs_hook){HOOK_PATTERN, L}, err);
	if (!act)
		return -1;
	int Tk;
	const float *row = act_row(act, HOOK_PATTERN, q, H, &Tk);
	int best = 0;
	for (int k = 1; k <= q; k++)
		if (row[k] > row[best])
			best = k;
	*out = lx_num(best);
	return 0;
}

static int f_kv_head(lesson_env *env, int argc, lx_val *a, lx_val *out, rs_err *err)
{
	int H = 0;
	const rs_config *c = cfg_of(env);
	if (get_head(env, &a[0], c->n_heads, &H, err))
		return -1;
	*out = lx_num(H / (c->n_heads / c->n_kv_heads));
	return 0;
}

/* ---------------------------------------------------------------- logits */
static int f_prob(lesson_env *env, int argc, lx_val *a, lx_val *out, rs_err *err)
{
	const float *x = NULL;
	int32_t t = 0;
	int V = cfg_of(env)->vocab;
	if (lx_arg_tok(env, &a[0], &t, err) || get_logits(env, argc, a, 1, &x, NULL, err))
		return -1;
	float *p = rs_xmalloc(sizeof *p * (size_t)V);
	vec_softmax(x, V, p);
	*out = lx_num(p[t]);
	free(p);
	return 0;
}

static int f_logit(lesson_env *env, int argc, lx_val *a, lx_val *out, rs_err *err)
{
	const float *x = NULL;
	int32_t t = 0;
	if (lx_arg_tok(env, &a[0], &t, err) || get_logits(env, argc, a, 1, &x, NULL, err))
		return -1;
	*out = lx_num(x[t]);
	return 0;
}

static int f_logit_diff(lesson_env *env, int argc, lx_val *a, lx_val *out, rs_err *err)
{
	const float *x = NULL;
	int32_t t = 0, u = 0;
	if (lx_arg_tok(env, &a[0], &t, err) || lx_arg_tok(env, &a[1], &u, err) ||
	    get_logits(env, argc, a, 2, &x, NULL, err))
		return -1;
	*out = lx_num((double)x[t] - x[u]);
	return 0;
}

static int f_rank(lesson_env *env, int argc, lx_val *a, lx_val *out, rs_err *err)
{
	const float *x = NULL;
	int32_t t = 0;
	if (lx_arg_tok(env, &a[0], &t, err) || get_logits(env, argc, a, 1, &x, NULL, err))
		return -1;
	*out = lx_num(interp_rank(x, cfg_of(env)->vocab, t) + 1);
	return 0;
}

/* The k-th most likely token (k from 1) at a position: its id. */
static int top_k_id(lesson_env *env, int argc, lx_val *a, int32_t *id, double *prob, rs_err *err)
{
	const float *x = NULL;
	long k = 0;
	int V = cfg_of(env)->vocab;
	if (lx_arg_int(&a[0], "k", &k, err) || get_logits(env, argc, a, 1, &x, NULL, err))
		return -1;
	if (k < 1 || k > 100)
		return rs_fail(err, "k must be 1 to 100");
	int32_t idx[100];
	vec_topk(x, V, (int)k, 0, idx);
	*id = idx[k - 1];
	if (prob) {
		float *p = rs_xmalloc(sizeof *p * (size_t)V);
		vec_softmax(x, V, p);
		*prob = p[*id];
		free(p);
	}
	return 0;
}

static int f_top(lesson_env *env, int argc, lx_val *a, lx_val *out, rs_err *err)
{
	int32_t id = 0;
	char buf[256];
	if (top_k_id(env, argc, a, &id, NULL, err))
		return -1;
	*out = lx_str(lx_tok_display(lx_session(env)->tok, id, buf, sizeof buf));
	return 0;
}

static int f_top_id(lesson_env *env, int argc, lx_val *a, lx_val *out, rs_err *err)
{
	int32_t id = 0;
	if (top_k_id(env, argc, a, &id, NULL, err))
		return -1;
	*out = lx_num(id);
	return 0;
}

static int f_top_prob(lesson_env *env, int argc, lx_val *a, lx_val *out, rs_err *err)
{
	int32_t id = 0;
	double p = 0;
	if (top_k_id(env, argc, a, &id, &p, err))
		return -1;
	*out = lx_num(p);
	return 0;
}

static int f_entropy(lesson_env *env, int argc, lx_val *a, lx_val *out, rs_err *err)
{
	const float *x = NULL;
	int V = cfg_of(env)->vocab;
	if (get_logits(env, argc, a, 0, &x, NULL, err))
		return -1;
	float *p = rs_xmalloc(sizeof *p * (size_t)V);
	vec_softmax(x, V, p);
	double h = 0;
	for (int i = 0; i < V; i++)
		if (p[i] > 0)
			h -= p[i] * log(p[i]);
	free(p);
	*out = lx_num(h);
	return 0;
}

/* -log p(the prompt's next token) at a position. */
static int loss_at(lesson_env *env, int p, double *out, rs_err *err)
{
	rs_session *s = lx_session(env);
	if (p >= s->n_ids - 1)
		return rs_fail(err, "position %d has no next token in the prompt", p);
	lx_val pos = lx_num(p);
	const float *x = NULL;
	if (get_logits(env, 1, &pos, 0, &x, NULL, err))
		return -1;
	int V = cfg_of(env)->vocab;
	float *pr = rs_xmalloc(sizeof *pr * (size_t)V);
	double lse = vec_softmax(x, V, pr);
	*out = lse - x[s->ids[p + 1]];
	free(pr);
	return 0;
}

static int f_loss(lesson_env *env, int argc, lx_val *a, lx_val *out, rs_err *err)
{
	int p = 0;
	double l = 0;
	if (lx_arg_pos(env, &a[0], &p, err) || loss_at(env, p, &l, err))
		return -1;
	*out = lx_num(l);
	return 0;
}

/* mean_loss(a, b): mean next-token loss over positions a .. b-1. */
static int f_mean_loss(lesson_env *env, int argc, lx_val *a, lx_val *out, rs_err *err)
{
	long lo = 0, hi = 0;
	if (lx_arg_int(&a[0], "the first position", &lo, err) || lx_arg_int(&a[1], "the end position", &hi, err))
		return -1;
	if (lo < 0 || hi <= lo)
		return rs_fail(err, "give positions 0 <= a < b");
	double sum = 0;
	for (long p = lo; p < hi; p++) {
		double l = 0;
		if (loss_at(env, (int)p, &l, err))
			return -1;
		sum += l;
	}
	*out = lx_num(sum / (double)(hi - lo));
	return 0;
}

/* ---------------------------------------------------------------- logit lens */
static int lens_at(lesson_env *env, const lx_val *hook, const lx_val *pos, float **logits, rs_err *err)
{
	rs_hook h = {0, 0};
	int p = 0;
	if (get_hook(env, hook, &h, err) || lx_arg_pos(env, pos, &p, err))
		return -1;
	*logits = rs_xmalloc(sizeof **logits * (size_t)cfg_of(env)->vocab);
	if (lens_logits(eng_of(env), h, p, *logits, err)) {
		free(*logits);
		return -1;
	}
	return 0;
}

static int f_lens_top(lesson_env *env, int argc, lx_val *a, lx_val *out, rs_err *err)
{
	float *x = NULL;
	if (lens_at(env, &a[0], &a[1], &x, err))
		return -1;
	int32_t id = 0;
	vec_topk(x, cfg_of(env)->vocab, 1, 0, &id);
	free(x);
	char buf[256];
	*out = lx_str(lx_tok_display(lx_session(env)->tok, id, buf, sizeof buf));
	return 0;
}

static int f_lens_prob(lesson_env *env, int argc, lx_val *a, lx_val *out, rs_err *err)
{
	float *x = NULL;
	int32_t t = 0;
	if (lx_arg_tok(env, &a[1], &t, err) || lens_at(env, &a[0], &a[2], &x, err))
		return -1;
	int V = cfg_of(env)->vocab;
	float *p = rs_xmalloc(sizeof *p * (size_t)V);
	vec_softmax(x, V, p);
	*out = lx_num(p[t]);
	free(p);
	free(x);
	return 0;
}

static int f_lens_rank(lesson_env *env, int argc, lx_val *a, lx_val *out, rs_err *err)
{
	float *x = NULL;
	int32_t t = 0;
	if (lx_arg_tok(env, &a[1], &t, err) || lens_at(env, &a[0], &a[2], &x, err))
		return -1;
	*out = lx_num(interp_rank(x, cfg_of(env)->vocab, t) + 1);
	free(x);
	return 0;
}

/* lens_first(token [, pos [, k]]): the first point of the residual stream
 * (resid_pre and resid_mid of each layer, then the last resid_post) whose lens
 * ranks the token first (k: among its top k); "never" when none does. */
static int f_lens_first(lesson_env *env, int argc, lx_val *a, lx_val *out, rs_err *err)
{
	int32_t t = 0;
	int p = lx_session(env)->n_ids - 1, L = cfg_of(env)->n_layers, V = cfg_of(env)->vocab;
	long k = 1;
	if (lx_arg_tok(env, &a[0], &t, err) || (argc > 1 && lx_arg_pos(env, &a[1], &p, err)) ||
	    (argc > 2 && lx_arg_int(&a[2], "k", &k, err)))
		return -1;
	float *x = rs_xmalloc(sizeof *x * (size_t)V);
	for (int i = 0; i <= 2 * L; i++) {
		rs_hook h = i == 2 * L ? (rs_hook){HOOK_RESID_POST, L - 1}
				       : (rs_hook){i % 2 ? HOOK_RESID_MID : HOOK_RESID_PRE, i / 2};
		if (lens_logits(eng_of(env), h, p, x, err)) {
			free(x);
			return -1;
		}
		if (interp_rank(x, V, t) < k) {
			char name[96];
			*out = lx_str(hook_name(h, name, sizeof name));
			free(x);
			return 0;
		}
	}
	free(x);
	*out = lx_str("never");
	return 0;
}

/* ---------------------------------------------------------------- attribution */
/* A metric from (pos, tok, tok_b) arguments starting at a[i]; the token
 * defaults to the model's top prediction at the position. */
static int metric_args(lesson_env *env, int argc, lx_val *a, int i, interp_metric *mt, rs_err *err)
{
	int p = lx_session(env)->n_ids - 1;
	if (argc > i && lx_arg_pos(env, &a[i], &p, err))
		return -1;
	mt->pos = p;
	mt->tok_b = -1;
	if (argc > i + 1) {
		if (lx_arg_tok(env, &a[i + 1], &mt->tok, err))
			return -1;
	} else {
		const float *x = NULL;
		lx_val pos = lx_num(p);
		if (get_logits(env, 1, &pos, 0, &x, NULL, err))
			return -1;
		vec_topk(x, cfg_of(env)->vocab, 1, 0, &mt->tok);
	}
	if (argc > i + 2 && lx_arg_tok(env, &a[i + 2], &mt->tok_b, err))
		return -1;
	return 0;
}

/* dla_top(n [, pos [, tok [, tok_b]]]): the component with the n-th largest contribution. */
static int f_dla_top(lesson_env *env, int argc, lx_val *a, lx_val *out, rs_err *err)
{
	long n = 0;
	interp_metric mt = {0, 0, -1};
	if (lx_arg_int(&a[0], "n", &n, err) || metric_args(env, argc, a, 1, &mt, err))
		return -1;
	dla_result *r = dla_run(eng_of(env), &mt, err);
	if (!r)
		return -1;
	if (n < 1 || n > r->n) {
		dla_free(r);
		return rs_fail(err, "n must be 1 to %d", r->n);
	}
	char name[64];
	*out = lx_str(dla_component_name(&r->comp[r->order[n - 1]], name, sizeof name));
	dla_free(r);
	return 0;
}

/* dla_top_head(n [, pos [, tok [, tok_b]]]): the head (not MLP, not the
 * embedding) with the n-th largest contribution, so a lesson can ablate it. */
static int f_dla_top_head(lesson_env *env, int argc, lx_val *a, lx_val *out, rs_err *err)
{
	long n = 0;
	interp_metric mt = {0, 0, -1};
	if (lx_arg_int(&a[0], "n", &n, err) || metric_args(env, argc, a, 1, &mt, err))
		return -1;
	dla_result *r = dla_run(eng_of(env), &mt, err);
	if (!r)
		return -1;
	for (int i = 0; i < r->n; i++) {
		const dla_component *c = &r->comp[r->order[i]];
		if (c->kind == DLA_HEAD && --n == 0) {
			char name[64];
			*out = lx_str(dla_component_name(c, name, sizeof name));
			dla_free(r);
			return 0;
		}
	}
	dla_free(r);
	return rs_fail(err, "n must be 1 to the number of heads");
}

/* dla(component, pos, tok [, tok_b]): one component's contribution. */
static int f_dla(lesson_env *env, int argc, lx_val *a, lx_val *out, rs_err *err)
{
	const char *want = NULL;
	interp_metric mt = {0, 0, -1};
	if (lx_arg_str(&a[0], "the component (embed, L2H1, L3 mlp)", &want, err) ||
	    metric_args(env, argc, a, 1, &mt, err))
		return -1;
	dla_result *r = dla_run(eng_of(env), &mt, err);
	if (!r)
		return -1;
	int found = -1;
	for (int i = 0; i < r->n && found < 0; i++) {
		char name[64];
		if (!strcmp(dla_component_name(&r->comp[i], name, sizeof name), want))
			found = i;
	}
	if (found < 0) {
		dla_free(r);
		return rs_fail(err, "no component '%s' (embed, L2H1, L3 mlp)", rs_esc(want, -1));
	}
	*out = lx_num(r->comp[found].value);
	dla_free(r);
	return 0;
}

/* ---------------------------------------------------------------- heads */
static const float *score_table(const head_scores *hs, const char *name)
{
	if (!strcmp(name, "prev")) return hs->prev;
	if (!strcmp(name, "dup")) return hs->dup;
	if (!strcmp(name, "induction")) return hs->induction;
	if (!strcmp(name, "first")) return hs->first;
	if (!strcmp(name, "entropy")) return hs->entropy;
	return NULL;
}

/* best_head(score): "L2H1", the head with the highest score (entropy: the lowest). */
static int f_best_head(lesson_env *env, int argc, lx_val *a, lx_val *out, rs_err *err)
{
	const char *name = NULL;
	if (lx_arg_str(&a[0], "the score (prev, dup, induction, first, entropy)", &name, err))
		return -1;
	head_scores *hs = heads_score(eng_of(env), err);
	if (!hs)
		return -1;
	const float *v = score_table(hs, name);
	if (!v) {
		heads_free(hs);
		return rs_fail(err, "unknown score '%s' (prev, dup, induction, first, entropy)", rs_esc(name, -1));
	}
	int best = -1, n = hs->n_layers * hs->n_heads, low = !strcmp(name, "entropy");
	for (int i = 0; i < n; i++)
		if (!isnan(v[i]) && (best < 0 || (low ? v[i] < v[best] : v[i] > v[best])))
			best = i;
	int H = hs->n_heads;
	heads_free(hs);
	if (best < 0)
		return rs_fail(err, "the %s score is undefined on this prompt", name);
	char buf[32];
	snprintf(buf, sizeof buf, "L%dH%d", best / H, best % H);
	*out = lx_str(buf);
	return 0;
}

static int f_head_score(lesson_env *env, int argc, lx_val *a, lx_val *out, rs_err *err)
{
	const char *name = NULL;
	int L = 0, H = 0;
	if (lx_arg_str(&a[0], "the score", &name, err) || get_layer(env, &a[1], &L, err) ||
	    get_head(env, &a[2], cfg_of(env)->n_heads, &H, err))
		return -1;
	head_scores *hs = heads_score(eng_of(env), err);
	if (!hs)
		return -1;
	const float *v = score_table(hs, name);
	double x = v ? v[L * hs->n_heads + H] : 0;
	heads_free(hs);
	if (!v)
		return rs_fail(err, "unknown score '%s' (prev, dup, induction, first, entropy)", rs_esc(name, -1));
	*out = lx_num(x);
	return 0;
}

static int component(const lx_val *v, int *l, int *h, rs_err *err)
{
	const char *s = NULL;
	if (lx_arg_str(v, "the head (L2H1)", &s, err))
		return -1;
	if (lx_parse_component(s, l, h))
		return rs_fail(err, "'%s' is not a head (L2H1) or an MLP (L3 mlp)", rs_esc(s, -1));
	return 0;
}

static int f_layer(lesson_env *env, int argc, lx_val *a, lx_val *out, rs_err *err)
{
	int l = 0, h = 0;
	if (component(&a[0], &l, &h, err))
		return -1;
	*out = lx_num(l);
	return 0;
}

static int f_head(lesson_env *env, int argc, lx_val *a, lx_val *out, rs_err *err)
{
	int l = 0, h = 0;
	if (component(&a[0], &l, &h, err))
		return -1;
	if (h < 0)
		return rs_fail(err, "an MLP has no head number");
	*out = lx_num(h);
	return 0;
}

const lx_func lx_funcs_model[] = {
	{"norm", 2, 3, f_norm}, {"rms", 2, 3, f_rms}, {"mean", 2, 3, f_mean},
	{"maxabs", 2, 3, f_maxabs}, {"argmaxabs", 2, 3, f_argmaxabs}, {"value", 3, 4, f_value},
	{"cos", 4, 4, f_cos}, {"sumcheck", 4, 4, f_sumcheck},
	{"attn", 4, 4, f_attn}, {"score", 4, 4, f_score}, {"qk", 4, 4, f_qk},
	{"attn_max", 3, 3, f_attn_max}, {"kv_head", 1, 1, f_kv_head},
	{"prob", 1, 2, f_prob}, {"logit", 1, 2, f_logit}, {"logit_diff", 2, 3, f_logit_diff},
	{"rank", 1, 2, f_rank}, {"top", 1, 2, f_top}, {"top_id", 1, 2, f_top_id},
	{"top_prob", 1, 2, f_top_prob}, {"entropy", 0, 1, f_entropy}, {"loss", 1, 1, f_loss},
	{"mean_loss", 2, 2, f_mean_loss},
	{"lens_top", 2, 2, f_lens_top}, {"lens_prob", 3, 3, f_lens_prob}, {"lens_rank", 3, 3, f_lens_rank},
	{"lens_first", 1, 3, f_lens_first},
	{"dla_top", 1, 4, f_dla_top}, {"dla_top_head", 1, 4, f_dla_top_head}, {"dla", 1, 4, f_dla},
	{"best_head", 1, 1, f_best_head}, {"head_score", 3, 3, f_head_score},
	{"layer", 1, 1, f_layer}, {"head", 1, 1, f_head},
	{NULL, 0, 0, NULL},
};
