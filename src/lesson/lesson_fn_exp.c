/* lesson_fn_exp.c - placeholder functions that run experiments or read the
 * weights: ablation and patching on the session's prompt (private engines,
 * so the session is left as it is), MLP neurons, embedding neighbours. */
#include "config.h"
#include "interp.h"
#include "lesson_int.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static rs_session *S(lesson_env *env) { return lx_session(env); }
static const rs_config *C(lesson_env *env) { return &lx_session(env)->model->cfg; }

static int layer_arg(lesson_env *env, const lx_val *v, int *out, rs_err *err)
{
	long l = 0;
	int L = C(env)->n_layers;
	if (lx_arg_int(v, "the layer", &l, err))
		return -1;
	if (l < 0)
		l += L;
	if (l < 0 || l >= L)
		return rs_fail(err, "layer %ld: the model has %d layers", l, L);
	*out = (int)l;
	return 0;
}

static int index_arg(const lx_val *v, const char *what, int n, int *out, rs_err *err)
{
	long i = 0;
	if (lx_arg_int(v, what, &i, err))
		return -1;
	if (i < 0 || i >= n)
		return rs_fail(err, "%s %ld: there are %d", what, i, n);
	*out = (int)i;
	return 0;
}

/* The metric of ablation and patching: logit(tok) [- logit(tok_b)] at the last position. */
static int metric(lesson_env *env, int argc, lx_val *a, int i, interp_metric *mt, rs_err *err)
{
	mt->pos = -1;
	mt->tok_b = -1;
	if (lx_arg_tok(env, &a[i], &mt->tok, err))
		return -1;
	if (argc > i + 1 && lx_arg_tok(env, &a[i + 1], &mt->tok_b, err))
		return -1;
	return 0;
}

/* ablate_delta(L, H, tok [, tok_b]): how the metric changes when head H of
 * layer L is set to zero, on the session's prompt and the clean model. */
static int f_ablate_delta(lesson_env *env, int argc, lx_val *a, lx_val *out, rs_err *err)
{
	int L = 0, H = 0;
	interp_metric mt = {0, 0, -1};
	if (layer_arg(env, &a[0], &L, err) || index_arg(&a[1], "head", C(env)->n_heads, &H, err) ||
	    metric(env, argc, a, 2, &mt, err))
		return -1;
	abl_target t = {ABL_HEAD, L, H, -1, 0};
	abl_result r;
	if (abl_run(S(env)->model, S(env)->ids, S(env)->n_ids, &t, 1, &mt, &r, err))
		return -1;
	*out = lx_num(r.delta);
	return 0;
}

/* The clean prompt's ids, tokenized as the session tokenizes its own. */
static int clean_ids(lesson_env *env, const lx_val *v, int32_t **ids, int *n, rs_err *err)
{
	const char *text = NULL;
	rs_session *s = S(env);
	if (lx_arg_str(v, "the clean prompt", &text, err))
		return -1;
	if (!s->tok)
		return rs_fail(err, "the model has no tokenizer");
	if (tok_encode(s->tok, text, strlen(text), s->add_bos ? TOK_ADD_BOS : 0, ids, NULL, n, err))
		return -1;
	if (*n != s->n_ids) {
		free(*ids);
		return rs_fail(err, "the clean prompt has %d tokens, the session's %d: they must match", *n, s->n_ids);
	}
	return 0;
}

static patch_ctx *patch_open(lesson_env *env, int argc, lx_val *a, int mi, rs_err *err)
{
	int32_t *ids = NULL;
	int n = 0;
	interp_metric mt = {0, 0, -1};
	if (metric(env, argc, a, mi, &mt, err) || clean_ids(env, &a[0], &ids, &n, err))
		return NULL;
	patch_ctx *p = patch_create(S(env)->model, ids, S(env)->ids, n, &mt, err);
	free(ids);
	return p;
}

/* patch_head(clean, tok, tok_b): the head whose output (hook_z, all
 * positions) taken from the clean run restores the most of the metric. */
static int f_patch_head(lesson_env *env, int argc, lx_val *a, lx_val *out, rs_err *err)
{
	patch_ctx *p = patch_open(env, argc, a, 1, err);
	if (!p)
		return -1;
	patch_sweep *sw = patch_sweep_heads(p, HOOK_Z, -1, err);
	if (!sw) {
		patch_free(p);
		return -1;
	}
	int best = 0;
	for (int i = 1; i < sw->rows * sw->cols; i++)
		if (sw->norm[i] > sw->norm[best])
			best = i;
	char buf[32];
	snprintf(buf, sizeof buf, "L%dH%d", best / sw->cols, best % sw->cols);
	patch_sweep_free(sw);
	patch_free(p);
	*out = lx_str(buf);
	return 0;
}

/* patch_value(clean, L, H, tok, tok_b): the share of the metric one head's patch restores. */
static int f_patch_value(lesson_env *env, int argc, lx_val *a, lx_val *out, rs_err *err)
{
	int L = 0, H = 0;
	if (layer_arg(env, &a[1], &L, err) || index_arg(&a[2], "head", C(env)->n_heads, &H, err))
		return -1;
	patch_ctx *p = patch_open(env, argc, a, 3, err);
	if (!p)
		return -1;
	float m = 0;
	rs_hook h = {HOOK_Z, L};
	int rc = patch_one(p, &h, H, -1, &m, err);
	if (!rc)
		*out = lx_num(patch_normalise(p, m));
	patch_free(p);
	return rc;
}

/* patch_resid(clean, L, pos, tok, tok_b): the share restored by patching
 * blocks.L.hook_resid_pre at one position. */
static int f_patch_resid(lesson_env *env, int argc, lx_val *a, lx_val *out, rs_err *err)
{
	int L = 0, pos = 0;
	if (layer_arg(env, &a[1], &L, err) || lx_arg_pos(env, &a[2], &pos, err))
		return -1;
	patch_ctx *p = patch_open(env, argc, a, 3, err);
	if (!p)
		return -1;
	float m = 0;
	rs_hook h = {HOOK_RESID_PRE, L};
	int rc = patch_one(p, &h, -1, pos, &m, err);
	if (!rc)
		*out = lx_num(patch_normalise(p, m));
	patch_free(p);
	return rc;
}

/* patch_metric(which, clean, tok, tok_b): the metric on the clean (which 1) or the corrupted (0) run. */
static int f_patch_metric(lesson_env *env, int argc, lx_val *a, lx_val *out, rs_err *err)
{
	long which = 0;
	if (lx_arg_int(&a[0], "which (1 clean, 0 corrupted)", &which, err))
		return -1;
	patch_ctx *p = patch_open(env, argc - 1, a + 1, 1, err);
	if (!p)
		return -1;
	*out = lx_num(which ? patch_clean_metric(p) : patch_corrupt_metric(p));
	patch_free(p);
	return 0;
}

/* ---------------------------------------------------------------- neurons */
static const rs_act *mlp_post(lesson_env *env, int L, rs_err *err)
{
	const rs_act *a = eng_act(S(env)->eng, (rs_hook){HOOK_MLP_POST, L});
	if (!a)
		rs_fail(err, "blocks.%d.mlp.hook_post has not been computed yet", L);
	return a;
}

/* top_neuron(L, pos): the neuron of layer L most active (largest hook_post) at pos. */
static int f_top_neuron(lesson_env *env, int argc, lx_val *a, lx_val *out, rs_err *err)
{
	int L = 0, p = 0;
	if (layer_arg(env, &a[0], &L, err) || lx_arg_pos(env, &a[1], &p, err))
		return -1;
	const rs_act *act = mlp_post(env, L, err);
	if (!act)
		return -1;
	const float *x = act->data + (int64_t)p * act->shape[1];
	int best = 0;
	for (int i = 1; i < act->shape[1]; i++)
		if (x[i] > x[best])
			best = i;
	*out = lx_num(best);
	return 0;
}

static int f_neuron(lesson_env *env, int argc, lx_val *a, lx_val *out, rs_err *err)
{
	int L = 0, n = 0, p = 0;
	if (layer_arg(env, &a[0], &L, err) || index_arg(&a[1], "neuron", C(env)->d_ff, &n, err) ||
	    lx_arg_pos(env, &a[2], &p, err))
		return -1;
	const rs_act *act = mlp_post(env, L, err);
	if (!act)
		return -1;
	*out = lx_num(act->data[(int64_t)p * act->shape[1] + n]);
	return 0;
}

static char *token_list(lesson_env *env, const int32_t *ids, int n)
{
	char *s = rs_xcalloc(1, (size_t)n * 260 + 1), buf[256];
	for (int i = 0; i < n; i++) {
		if (i)
			strcat(s, " ");
		strcat(s, lx_tok_display(S(env)->tok, ids[i], buf, sizeof buf));
	}
	return s;
}

char *lx_token_list(lesson_env *env, const int32_t *ids, int n)
{
	return token_list(env, ids, n);
}

/* neuron_top_pos(L, n, k): the prompt's tokens where the neuron is most active. */
static int f_neuron_top_pos(lesson_env *env, int argc, lx_val *a, lx_val *out, rs_err *err)
{
	int L = 0, n = 0, k = 0;
	if (layer_arg(env, &a[0], &L, err) || index_arg(&a[1], "neuron", C(env)->d_ff, &n, err) ||
	    index_arg(&a[2], "k", 21, &k, err))
		return -1;
	const rs_act *act = mlp_post(env, L, err);
	if (!act)
		return -1;
	int T = act->shape[0];
	float *col = rs_xmalloc(sizeof *col * (size_t)T);
	for (int t = 0; t < T; t++)
		col[t] = act->data[(int64_t)t * act->shape[1] + n];
	int32_t idx[20], ids[20];
	k = vec_topk(col, T, k < T ? k : T, 0, idx);
	for (int i = 0; i < k; i++)
		ids[i] = S(env)->ids[idx[i]];
	free(col);
	*out = lx_str_take(token_list(env, ids, k));
	return 0;
}

/* neuron_out(L, n, k): the tokens the neuron's output direction (its column
 * of W_down, through the final norm's weight) raises most in the unembedding;
 * with k negative, the -k it lowers most (what a negative activation raises). */
static int f_neuron_out(lesson_env *env, int argc, lx_val *a, lx_val *out, rs_err *err)
{
	int L = 0, n = 0;
	long k = 0;
	const rs_model *m = S(env)->model;
	if (layer_arg(env, &a[0], &L, err) || index_arg(&a[1], "neuron", C(env)->d_ff, &n, err) ||
	    lx_arg_int(&a[2], "k", &k, err))
		return -1;
	if (k < -20 || k > 20)
		return rs_fail(err, "k: at most 20 tokens (negative: the tokens lowered most)");
	int sign = k < 0 ? -1 : 1;
	k *= sign;
	int d = C(env)->d_model, ff = C(env)->d_ff;
	float *u = rs_xmalloc(sizeof *u * (size_t)d), *row = rs_xmalloc(sizeof *row * (size_t)ff);
	for (int i = 0; i < d; i++) {
		mat_row(&m->layers[L].w_down, i, row);
		u[i] = sign * row[n] * m->final_norm[i];
	}
	int32_t idx[20];
	int nk = interp_unembed_top(m, u, (int)k, idx);
	*out = lx_str_take(token_list(env, idx, nk));
	free(u);
	free(row);
	return 0;
}

/* dla_neuron(L, pos, tok): the layer's neuron with the largest direct effect on tok's logit. */
static int f_dla_neuron(lesson_env *env, int argc, lx_val *a, lx_val *out, rs_err *err)
{
	int L = 0, p = 0;
	interp_metric mt = {0, 0, -1};
	if (layer_arg(env, &a[0], &L, err) || lx_arg_pos(env, &a[1], &p, err) || lx_arg_tok(env, &a[2], &mt.tok, err))
		return -1;
	mt.pos = p;
	int ff = C(env)->d_ff;
	float *v = rs_xmalloc(sizeof *v * (size_t)ff);
	if (dla_neurons(S(env)->eng, &mt, L, v, err)) {
		free(v);
		return -1;
	}
	int best = 0;
	for (int i = 1; i < ff; i++)
		if (v[i] > v[best])
			best = i;
	free(v);
	*out = lx_num(best);
	return 0;
}

/* neuron_dla(L, n, pos, tok): neuron n's direct logit attribution to tok at
 * pos, with the final norm's scale frozen at this run's value. */
static int f_neuron_dla(lesson_env *env, int argc, lx_val *a, lx_val *out, rs_err *err)
{
	int L = 0, n = 0, p = 0;
	interp_metric mt = {0, 0, -1};
	if (layer_arg(env, &a[0], &L, err) || index_arg(&a[1], "neuron", C(env)->d_ff, &n, err) ||
	    lx_arg_pos(env, &a[2], &p, err) || lx_arg_tok(env, &a[3], &mt.tok, err))
		return -1;
	mt.pos = p;
	float *v = rs_xmalloc(sizeof *v * (size_t)C(env)->d_ff);
	int rc = dla_neurons(S(env)->eng, &mt, L, v, err);
	if (!rc)
		*out = lx_num(v[n]);
	free(v);
	return rc;
}

/* ---------------------------------------------------------------- embeddings */
static float *embed_row(lesson_env *env, int32_t id)
{
	const rs_model *m = S(env)->model;
	float *x = rs_xmalloc(sizeof *x * (size_t)m->cfg.d_model);
	mat_row(&m->tok_embd, id, x);
	return x;
}

static double dotd(const float *x, const float *y, int n)
{
	double s = 0;
	for (int i = 0; i < n; i++)
		s += (double)x[i] * y[i];
	return s;
}

static int f_embed_norm(lesson_env *env, int argc, lx_val *a, lx_val *out, rs_err *err)
{
	int32_t t = 0;
	if (lx_arg_tok(env, &a[0], &t, err))
		return -1;
	float *x = embed_row(env, t);
	*out = lx_num(sqrt(dotd(x, x, C(env)->d_model)));
	free(x);
	return 0;
}

static int f_cos_embed(lesson_env *env, int argc, lx_val *a, lx_val *out, rs_err *err)
{
	int32_t t = 0, u = 0;
	if (lx_arg_tok(env, &a[0], &t, err) || lx_arg_tok(env, &a[1], &u, err))
		return -1;
	int d = C(env)->d_model;
	float *x = embed_row(env, t), *y = embed_row(env, u);
	double xx = dotd(x, x, d), yy = dotd(y, y, d);
	*out = lx_num(xx > 0 && yy > 0 ? dotd(x, y, d) / sqrt(xx * yy) : 0);
	free(x);
	free(y);
	return 0;
}

/* nearest(tok, k): the k tokens whose embedding rows point most nearly the same way. */
static int f_nearest(lesson_env *env, int argc, lx_val *a, lx_val *out, rs_err *err)
{
	int32_t t = 0;
	int k = 0;
	if (lx_arg_tok(env, &a[0], &t, err) || index_arg(&a[1], "k", 21, &k, err))
		return -1;
	const rs_model *m = S(env)->model;
	int d = m->cfg.d_model, V = m->cfg.vocab;
	float *x = embed_row(env, t), *row = rs_xmalloc(sizeof *row * (size_t)d);
	float *cs = rs_xmalloc(sizeof *cs * (size_t)V);
	double xx = dotd(x, x, d);
	for (int v = 0; v < V; v++) {
		mat_row(&m->tok_embd, v, row);
		double yy = dotd(row, row, d);
		cs[v] = v == t || yy <= 0 || xx <= 0 ? -2.0f : (float)(dotd(x, row, d) / sqrt(xx * yy));
	}
	int32_t idx[20];
	k = vec_topk(cs, V, k, 0, idx);
	*out = lx_str_take(token_list(env, idx, k));
	free(x);
	free(row);
	free(cs);
	return 0;
}

/* norm_weight(which, L, i): entry i of an RMSNorm's weight: 'ln1' (before
 * attention), 'ln2' (before the MLP) of layer L, or 'final' (L ignored). */
static int f_norm_weight(lesson_env *env, int argc, lx_val *a, lx_val *out, rs_err *err)
{
	const char *which = NULL;
	int L = 0, i = 0;
	const rs_model *m = S(env)->model;
	if (lx_arg_str(&a[0], "which norm (ln1, ln2, final)", &which, err) ||
	    (strcmp(which, "final") && layer_arg(env, &a[1], &L, err)) ||
	    index_arg(&a[2], "index", C(env)->d_model, &i, err))
		return -1;
	const float *w = !strcmp(which, "ln1") ? m->layers[L].attn_norm
		       : !strcmp(which, "ln2") ? m->layers[L].ffn_norm
		       : !strcmp(which, "final") ? m->final_norm : NULL;
	if (!w)
		return rs_fail(err, "which norm: ln1, ln2 or final, not '%s'", rs_esc(which, -1));
	*out = lx_num(w[i]);
	return 0;
}

/* ablated(component, mode, tok [, tok_b [, pos]]): the metric (tok's logit, or
 * its difference from tok_b's) at pos (default the last) when the component
 * ('L2H1' or 'L3 mlp') is ablated at every position, mode 'zero' or 'mean',
 * on the session's prompt and the clean model; ablated_prob(component, mode,
 * tok [, pos]): tok's probability there. The numbers of `ablate` followed by
 * `dla` or `top`. */
static int ablation_args(lesson_env *env, int argc, lx_val *a, int pos_at, interp_metric *mt, abl_target *t,
			 rs_err *err)
{
	const char *comp = NULL, *mode = NULL;
	int l = 0, h = 0;
	if (lx_arg_str(&a[0], "the component", &comp, err) || lx_arg_str(&a[1], "the mode", &mode, err))
		return -1;
	if (lx_parse_component(comp, &l, &h) || l < 0 || l >= C(env)->n_layers || h >= C(env)->n_heads)
		return rs_fail(err, "'%s' is not a head (L2H1) or an MLP (L3 mlp) of this model", rs_esc(comp, -1));
	if (strcmp(mode, "zero") && strcmp(mode, "mean"))
		return rs_fail(err, "the mode is 'zero' or 'mean', not '%s'", rs_esc(mode, -1));
	*t = (abl_target){h >= 0 ? ABL_HEAD : ABL_MLP, l, h, -1, !strcmp(mode, "mean")};
	mt->pos = -1;
	mt->tok_b = -1;
	if (lx_arg_tok(env, &a[2], &mt->tok, err))
		return -1;
	if (pos_at > 3 && argc > 3 && lx_arg_tok(env, &a[3], &mt->tok_b, err))
		return -1;
	if (argc > pos_at && lx_arg_pos(env, &a[pos_at], &mt->pos, err))
		return -1;
	return 0;
}

static int ablated_run(lesson_env *env, int argc, lx_val *a, int pos_at, abl_result *r, rs_err *err)
{
	interp_metric mt;
	abl_target t;
	rs_session *s = S(env);
	if (ablation_args(env, argc, a, pos_at, &mt, &t, err))
		return -1;
	if (mt.pos < 0)
		mt.pos = s->n_ids - 1;
	const abl_result *m = lx_abl_memo_get(env, s->model, s->ids, s->n_ids, &t, &mt, pos_at == 3);
	if (m) {
		*r = *m;
		return 0;
	}
	if (abl_run(s->model, s->ids, s->n_ids, &t, 1, &mt, r, err))
		return -1;
	lx_abl_memo_put(env, s->model, s->ids, s->n_ids, &t, &mt, r);
	return 0;
}

static int f_ablated(lesson_env *env, int argc, lx_val *a, lx_val *out, rs_err *err)
{
	abl_result r;
	if (ablated_run(env, argc, a, 4, &r, err))
		return -1;
	*out = lx_num(r.ablated);
	return 0;
}

static int f_ablated_prob(lesson_env *env, int argc, lx_val *a, lx_val *out, rs_err *err)
{
	abl_result r;
	if (ablated_run(env, argc, a, 3, &r, err))
		return -1;
	*out = lx_num(r.p_ablated);
	return 0;
}

/* head_out(L, H, k [, pos]): the k tokens head H of layer L raises most at pos
 * (default the last) through the unembedding: what the head writes there. */
static int f_head_out(lesson_env *env, int argc, lx_val *a, lx_val *out, rs_err *err)
{
	int L = 0, H = 0, p = S(env)->n_ids - 1;
	long k = 0;
	if (layer_arg(env, &a[0], &L, err) || index_arg(&a[1], "head", C(env)->n_heads, &H, err) ||
	    lx_arg_int(&a[2], "k", &k, err) || (argc > 3 && lx_arg_pos(env, &a[3], &p, err)))
		return -1;
	if (k < 1 || k > 20)
		return rs_fail(err, "k: 1 to 20 tokens");
	if (!S(env)->eng)
		return rs_fail(err, "no prompt has run");
	int32_t ids[20];
	int n = interp_head_promotes(S(env)->eng, L, H, p, (int)k, ids, err);
	if (n < 0)
		return -1;
	*out = lx_str_take(token_list(env, ids, n));
	return 0;
}

const lx_func lx_funcs_exp[] = {
	{"norm_weight", 3, 3, f_norm_weight},
	{"ablate_delta", 3, 4, f_ablate_delta}, {"ablated", 3, 5, f_ablated}, {"ablated_prob", 3, 4, f_ablated_prob},
	{"head_out", 3, 4, f_head_out}, {"patch_head", 2, 3, f_patch_head},
	{"patch_value", 4, 5, f_patch_value}, {"patch_resid", 4, 5, f_patch_resid},
	{"patch_metric", 3, 4, f_patch_metric},
	{"top_neuron", 2, 2, f_top_neuron}, {"neuron", 3, 3, f_neuron},
	{"neuron_top_pos", 3, 3, f_neuron_top_pos}, {"neuron_out", 3, 3, f_neuron_out},
	{"dla_neuron", 3, 3, f_dla_neuron}, {"neuron_dla", 4, 4, f_neuron_dla},
	{"embed_norm", 1, 1, f_embed_norm}, {"cos_embed", 2, 2, f_cos_embed}, {"nearest", 2, 2, f_nearest},
	{NULL, 0, 0, NULL},
};
