/* lesson_fn_circ.c - placeholder functions of lessons 15 to 17: circuits
 * read from the weights, path patching and attribution patching (interp's
 * circuits.h), on the clean model and the session's prompt. Heads are named
 * as best_head names them ('L3H1'); an MLP as 'L0 mlp'. */
#include "config.h"
#include "circuits.h"
#include "lesson_int.h"
#include "tokenizer.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static rs_session *S(lesson_env *env) { return lx_session(env); }

/* 'L3H1' -> 3, 1; 'L0 mlp' -> 0, -1 (when mlp_ok). */
static int comp_arg(lesson_env *env, const lx_val *v, int mlp_ok, int *L, int *H, rs_err *err)
{
	const char *s = NULL;
	const rs_config *c = &S(env)->model->cfg;
	int len = 0;
	if (lx_arg_str(v, "the component", &s, err))
		return -1;
	if (mlp_ok && sscanf(s, "L%d mlp%n", L, &len) == 1 && s[len] == 0 && *L >= 0 && *L < c->n_layers) {
		*H = -1;
		return 0;
	}
	if (sscanf(s, "L%dH%d%n", L, H, &len) == 2 && s[len] == 0 && *L >= 0 && *L < c->n_layers && *H >= 0 &&
	    *H < c->n_heads)
		return 0;
	return rs_fail(err, "'%.40s' is not a head of this model (as L2H1)%s", s, mlp_ok ? " or an MLP (as L0 mlp)" : "");
}

static int kind_arg(const lx_val *v, int *kind, rs_err *err)
{
	const char *s = NULL;
	if (lx_arg_str(v, "the composition (q, k or v)", &s, err))
		return -1;
	if (strlen(s) != 1 || !strchr("qkv", s[0]))
		return rs_fail(err, "composition '%.20s': q, k or v", s);
	*kind = s[0] == 'q' ? COMP_Q : s[0] == 'k' ? COMP_K : COMP_V;
	return 0;
}

static int metric_args(lesson_env *env, int argc, lx_val *a, int i, interp_metric *mt, rs_err *err)
{
	mt->pos = -1;
	mt->tok_b = -1;
	if (lx_arg_tok(env, &a[i], &mt->tok, err))
		return -1;
	return argc > i + 1 ? lx_arg_tok(env, &a[i + 1], &mt->tok_b, err) : 0;
}

/* The other prompt, tokenized as the session tokenizes its own; the same length. */
static int other_ids(lesson_env *env, const lx_val *v, int32_t **ids, rs_err *err)
{
	const char *text = NULL;
	rs_session *s = S(env);
	int n = 0;
	if (lx_arg_str(v, "the other prompt", &text, err))
		return -1;
	if (!s->tok)
		return rs_fail(err, "the model has no tokenizer");
	if (tok_encode(s->tok, text, strlen(text), s->add_bos ? TOK_ADD_BOS : 0, ids, NULL, &n, err))
		return -1;
	if (n != s->n_ids) {
		free(*ids);
		return rs_fail(err, "the other prompt has %d tokens, the session's %d: they must match", n, s->n_ids);
	}
	return 0;
}

/* ---------------------------------------------------------------- composition, circuits */
/* comp(kind, receiver, sender): the composition score. */
static int f_comp(lesson_env *env, int argc, lx_val *a, lx_val *out, rs_err *err)
{
	int kind, RL, RH, SL, SH;
	if (kind_arg(&a[0], &kind, err) || comp_arg(env, &a[1], 0, &RL, &RH, err) || comp_arg(env, &a[2], 0, &SL, &SH, err))
		return -1;
	if (SL >= RL)
		return rs_fail(err, "composition: the sender's layer %d must come before the receiver's %d", SL, RL);
	circ_head r, s;
	if (circ_head_load(S(env)->model, RL, RH, &r, err) || circ_head_load(S(env)->model, SL, SH, &s, err)) {
		circ_head_free(&r);
		return -1;
	}
	*out = lx_num(comp_score(&r, &s, kind));
	circ_head_free(&r);
	circ_head_free(&s);
	return 0;
}

/* comp_best(kind, receiver): the earlier head with the highest score ('L2H4'). */
static int f_comp_best(lesson_env *env, int argc, lx_val *a, lx_val *out, rs_err *err)
{
	int kind, RL, RH;
	if (kind_arg(&a[0], &kind, err) || comp_arg(env, &a[1], 0, &RL, &RH, err))
		return -1;
	if (RL == 0)
		return rs_fail(err, "composition: a head of layer 0 reads no earlier head");
	comp_result *r = comp_run(S(env)->model, kind, err);
	if (!r)
		return -1;
	int H = r->n_heads, NH = r->n_layers * H, best = 0;
	const float *row = r->score + (size_t)(RL * H + RH) * NH;
	for (int j = 1; j < RL * H; j++)
		if (row[j] > row[best])
			best = j;
	char buf[32];
	snprintf(buf, sizeof buf, "L%dH%d", best / H, best % H);
	comp_free(r);
	*out = lx_str(buf);
	return 0;
}

/* comp_baseline(kind): random matrices' mean score. */
static int f_comp_baseline(lesson_env *env, int argc, lx_val *a, lx_val *out, rs_err *err)
{
	int kind;
	if (kind_arg(&a[0], &kind, err))
		return -1;
	comp_result *r = comp_run(S(env)->model, kind, err);
	if (!r)
		return -1;
	*out = lx_num(r->baseline);
	comp_free(r);
	return 0;
}

/* copy_score(head): Σλ/Σ|λ| of the head's OV circuit over the vocabulary. */
static int f_copy_score(lesson_env *env, int argc, lx_val *a, lx_val *out, rs_err *err)
{
	int L, H;
	int32_t t = 0;
	if (comp_arg(env, &a[0], 0, &L, &H, err))
		return -1;
	circ_result *r = circ_run(S(env)->model, CIRC_OV, L, H, &t, 1, err);
	if (!r)
		return -1;
	int ok = r->have_eig;
	if (ok)
		*out = lx_num(r->copy_score);
	else
		rs_fail(err, "copy_score: %s", r->eig_note);
	circ_free(r);
	return ok ? 0 : -1;
}

/* qk_circ(head, query token, key token), ov_circ(head, source token, output token): one entry. */
static int entry(lesson_env *env, lx_val *a, lx_val *out, int kind, rs_err *err)
{
	int L, H;
	int32_t t[2];
	if (comp_arg(env, &a[0], 0, &L, &H, err) || lx_arg_tok(env, &a[1], &t[0], err) ||
	    lx_arg_tok(env, &a[2], &t[1], err))
		return -1;
	circ_result *r = circ_run(S(env)->model, kind, L, H, t, 2, err);
	if (!r)
		return -1;
	*out = lx_num(r->m[1]);
	circ_free(r);
	return 0;
}

static int f_qk(lesson_env *env, int argc, lx_val *a, lx_val *out, rs_err *err)
{
	return entry(env, a, out, CIRC_QK, err);
}

static int f_ov(lesson_env *env, int argc, lx_val *a, lx_val *out, rs_err *err)
{
	return entry(env, a, out, CIRC_OV, err);
}

/* ov_diag(head): share of the prompt's distinct tokens (BOS left out) that
 * raise themselves most through the head's OV circuit. */
static int f_ov_diag(lesson_env *env, int argc, lx_val *a, lx_val *out, rs_err *err)
{
	int L, H, n = 0;
	rs_session *s = S(env);
	if (comp_arg(env, &a[0], 0, &L, &H, err))
		return -1;
	if (!s->n_ids)
		return rs_fail(err, "ov_diag: no prompt");
	int32_t *t = rs_xmalloc(sizeof(int32_t) * (size_t)s->n_ids);
	for (int i = 0; i < s->n_ids; i++) {
		int seen = s->ids[i] == s->model->cfg.bos_id;
		for (int j = 0; j < n && !seen; j++)
			seen = t[j] == s->ids[i];
		if (!seen)
			t[n++] = s->ids[i];
	}
	circ_result *r = n ? circ_run(s->model, CIRC_OV, L, H, t, n, err) : NULL;
	free(t);
	if (!r)
		return n ? -1 : rs_fail(err, "ov_diag: the prompt has no token but BOS");
	*out = lx_num(r->diag_share);
	circ_free(r);
	return 0;
}

/* ---------------------------------------------------------------- path patching */
/* path_patch(other, sender, receivers, tok [, tok_b]): the normalised metric
 * with the sender's change (from the other prompt) sent to the receivers
 * only; receivers as path-patch takes them ('3.1.q,3.2.q', '0.mlp', 'logits', 'all'). */
static int f_path_patch(lesson_env *env, int argc, lx_val *a, lx_val *out, rs_err *err)
{
	int SL, SH;
	const char *rs = NULL;
	interp_metric mt;
	const rs_config *c = &S(env)->model->cfg;
	if (comp_arg(env, &a[1], 1, &SL, &SH, err) || lx_arg_str(&a[2], "the receivers", &rs, err) ||
	    metric_args(env, argc, a, 3, &mt, err))
		return -1;
	pp_receiver *r = NULL;
	int n = 0;
	if (pp_parse_receivers(c, rs, SL, SH < 0, &r, &n, err))
		return -1;
	int32_t *ids = NULL;
	pp_ctx *p = NULL;
	float v;
	int rc = -1;
	if (!other_ids(env, &a[0], &ids, err) && (p = pp_create(S(env)->model, ids, S(env)->ids, S(env)->n_ids, &mt,
								     err)) &&
		 !pp_run(p, SL, SH, r, n, &v, err)) {
		*out = lx_num(pp_normalise(p, v));
		rc = 0;
	}
	pp_free(p);
	free(ids);
	free(r);
	return rc;
}

/* ---------------------------------------------------------------- attribution patching */
static int hook_kind_arg(const lx_val *v, int *kind, rs_err *err)
{
	const char *s = NULL;
	if (lx_arg_str(v, "the hook kind", &s, err))
		return -1;
	static const struct { const char *name; int kind; } kinds[] = {
		{"resid_pre", HOOK_RESID_PRE}, {"resid_mid", HOOK_RESID_MID}, {"resid_post", HOOK_RESID_POST},
		{"attn_out", HOOK_ATTN_OUT}, {"mlp_out", HOOK_MLP_OUT}, {"z", HOOK_Z}, {"lnf_out", HOOK_LNF_OUT},
	};
	for (size_t i = 0; i < sizeof kinds / sizeof *kinds; i++)
		if (!strcmp(s, kinds[i].name)) {
			*kind = kinds[i].kind;
			return 0;
		}
	return rs_fail(err, "'%.30s': resid_pre, resid_mid, resid_post, attn_out, mlp_out, z or lnf_out", s);
}

/* The estimate (z: by head) and, when real is given, activation patching's grid. */
static attrib_result *attrib_open(lesson_env *env, int argc, lx_val *a, int mi, int kind, float **real, rs_err *err)
{
	interp_metric mt;
	int32_t *ids = NULL;
	if (metric_args(env, argc, a, mi, &mt, err) || other_ids(env, &a[0], &ids, err))
		return NULL;
	rs_session *s = S(env);
	attrib_result *r = attrib_run(s->model, ids, s->ids, s->n_ids, &mt, kind, kind == HOOK_Z, -1, err);
	if (r && real) {
		patch_ctx *p = patch_create(s->model, ids, s->ids, s->n_ids, &mt, err);
		patch_sweep *sw = !p ? NULL : kind == HOOK_Z ? patch_sweep_heads(p, kind, -1, err)
						    : patch_sweep_pos(p, kind, err);
		if (sw) {
			*real = rs_xmalloc(sizeof(float) * (size_t)sw->rows * sw->cols);
			memcpy(*real, sw->norm, sizeof(float) * (size_t)sw->rows * sw->cols);
		} else {
			attrib_free(r);
			r = NULL;
		}
		patch_sweep_free(sw);
		patch_free(p);
	}
	free(ids);
	return r;
}

/* attrib_corr(other, hook, tok [, tok_b]): the correlation of the estimate with
 * activation patching over the grid (z: layers × heads; else layers × positions). */
static int f_attrib_corr(lesson_env *env, int argc, lx_val *a, lx_val *out, rs_err *err)
{
	int kind;
	float *real = NULL;
	if (hook_kind_arg(&a[1], &kind, err))
		return -1;
	if (kind == HOOK_LNF_OUT)
		return rs_fail(err, "attrib_corr: lnf_out has no patching sweep; use attrib_est");
	attrib_result *r = attrib_open(env, argc, a, 2, kind, &real, err);
	if (!r)
		return -1;
	*out = lx_num(attrib_corr(r->norm, real, r->rows * r->cols));
	attrib_free(r);
	free(real);
	return 0;
}

/* attrib_est(other, hook, L, col, tok [, tok_b]): one normalised estimate
 * (col: a head for z, else a position; negative positions count from the end). */
static int f_attrib_est(lesson_env *env, int argc, lx_val *a, lx_val *out, rs_err *err)
{
	int kind;
	long L, col;
	if (hook_kind_arg(&a[1], &kind, err) || lx_arg_int(&a[2], "the layer", &L, err) ||
	    lx_arg_int(&a[3], "the column", &col, err))
		return -1;
	attrib_result *r = attrib_open(env, argc, a, 4, kind, NULL, err);
	if (!r)
		return -1;
	if (kind != HOOK_Z && col < 0)
		col += r->cols;
	int ok = L >= 0 && L < r->rows && col >= 0 && col < r->cols;
	if (ok)
		*out = lx_num(r->norm[L * r->cols + col]);
	else
		rs_fail(err, "attrib_est: cell (%ld, %ld) is outside the %d x %d grid", L, col, r->rows, r->cols);
	attrib_free(r);
	return ok ? 0 : -1;
}

const lx_func lx_funcs_circ[] = {
	{"comp", 3, 3, f_comp}, {"comp_best", 2, 2, f_comp_best}, {"comp_baseline", 1, 1, f_comp_baseline},
	{"copy_score", 1, 1, f_copy_score}, {"qk_circ", 3, 3, f_qk}, {"ov_circ", 3, 3, f_ov}, {"ov_diag", 1, 1, f_ov_diag},
	{"path_patch", 4, 5, f_path_patch},
	{"attrib_corr", 3, 4, f_attrib_corr}, {"attrib_est", 5, 6, f_attrib_est},
	{NULL, 0, 0, NULL},
};
