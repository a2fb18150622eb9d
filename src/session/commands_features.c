/* commands_features.c - a sparse autoencoder's features in the session
 * (issue 22): `sae [FILE]`, `features [POS]`, `feature N`, the vector
 * feature:N of `steer`, and `steer-from A.txt B.txt HOOK SCALE`.
 *
 * The SAE reads the hook it was trained on (its file says which); the
 * features shown are those of the pass as it is, interventions included. */
#include "config.h"
#include "commands_internal.h"
#include "datadir.h"
#include "feat.h"
#include "interp.h"
#include "tokenizer.h"

#include <cJSON.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* ---------------------------------------------------------------- the session's SAE */

void feat_free(rs_session *s)
{
	sae_free(s->sae);
	sae_index_free(s->sae_index);
	free(s->sae_model);
	s->sae = NULL, s->sae_index = NULL, s->sae_model = NULL;
}

static const char *base_name(const char *p)
{
	const char *b = p ? strrchr(p, '/') : NULL;
	return b ? b + 1 : p ? p : "";
}

/* Whether the SAE's hook exists in the model and is as wide as its input. */
static int sae_fits(const rs_model *m, const rs_sae *sae, const char *path, rs_err *err)
{
	char hn[96];
	hook_name(sae->hook, hn, sizeof hn);
	if (sae->hook.layer >= m->cfg.n_layers)
		return rs_fail(err, "%s reads %s, past this model's %d layers", path, hn, m->cfg.n_layers);
	rs_act sh = eng_hook_shape(m, sae->hook, 1, 1);
	if (sh.n_dims != 2 || sh.shape[1] != sae->d)
		return rs_fail(err, "%s reads %s as %d wide; in this model it is %d", path, hn, sae->d,
			       sh.n_dims == 2 ? sh.shape[1] : -1);
	return 0;
}

int feat_load(rs_session *s, const char *path, rs_err *err)
{
	rs_sae *sae = sae_load(path, err);
	if (!sae)
		return -1;
	if (sae_fits(s->model, sae, path, err)) {
		sae_free(sae);
		return -1;
	}
	char ip[4096];
	sae_index_path(path, ip, sizeof ip);
	rs_sae_index *ix = NULL;
	if (access(ip, R_OK) == 0) {
		rs_err e2;
		if (!(ix = sae_index_load(ip, &e2))) {
			sae_free(sae);
			return rs_fail(err, "%s", e2.msg);
		}
		if (ix->n != sae->n) {
			rs_fail(err, "%s has %d features, its index %s %d", path, sae->n, ip, ix->n);
			sae_index_free(ix);
			sae_free(sae);
			return -1;
		}
	}
	feat_free(s);
	s->sae = sae;
	s->sae_index = ix;
	s->sae_model = rs_xstrdup(s->model_path ? s->model_path : "");
	return 0;
}

const rs_sae *feat_sae(rs_session *s, rs_err *err)
{
	if (s->sae && s->sae_model && !strcmp(s->sae_model, s->model_path ? s->model_path : ""))
		return s->sae;
	feat_free(s); /* another model since: its SAE no longer applies */
	char buf[4096];
	const char *p = rs_data_path("RESIDUAL_SAE", "residual-tiny.sae.gguf", "assets/residual-tiny.sae.gguf", buf,
				     sizeof buf);
	if (!p || strcmp(base_name(s->model_path), "residual-tiny.gguf")) {
		rs_fail(err, "no SAE for this model: load one with `sae FILE` (`residual train-sae` makes one)");
		return NULL;
	}
	if (feat_load(s, p, err))
		return NULL;
	return s->sae;
}

const rs_sae_index *feat_index(const rs_session *s)
{
	return s->sae_index;
}

/* ---------------------------------------------------------------- reading features */

/* The k largest of f (n), strongest first, active ones only. */
static int top_active(const float *f, int n, int k, int *ids, float *acts)
{
	int got = 0;
	for (int i = 0; i < n; i++) {
		if (!(f[i] > 0))
			continue;
		int j = got < k ? got++ : k;
		if (j == k) {
			if (!(f[i] > acts[k - 1]))
				continue;
			j = k - 1;
		}
		for (; j > 0 && acts[j - 1] < f[i]; j--)
			ids[j] = ids[j - 1], acts[j] = acts[j - 1];
		ids[j] = i, acts[j] = f[i];
	}
	return got;
}

/* Features (n) of row pos of the hook's tensor a (T, d). */
static float *encode_row(const rs_sae *sae, const rs_act *a, int pos)
{
	float *f = rs_xmalloc(sizeof(float) * (size_t)sae->n);
	sae_encode(sae, a->data + (size_t)pos * sae->d, f, 1);
	return f;
}

int feat_top_shown(rs_session *s, int pos, int k, int *ids, float *acts, rs_err *err)
{
	const rs_sae *sae = feat_sae(s, err);
	if (!sae)
		return -1;
	const rs_act *a = session_view_act(s, sae->hook);
	char hn[96];
	if (!a || pos < 0 || pos >= a->shape[0])
		return rs_fail(err, "features appear once %s is computed", hook_name(sae->hook, hn, sizeof hn));
	float *f = encode_row(sae, a, pos);
	int got = top_active(f, sae->n, k, ids, acts);
	free(f);
	return got;
}

int feat_promotes(const rs_session *s, int i, int sign, int k, int32_t *ids)
{
	const rs_model *m = s->model;
	int d = m->cfg.d_model;
	float *u = rs_xmalloc(sizeof(float) * (size_t)d);
	for (int j = 0; j < d; j++)
		u[j] = (float)sign * s->sae->w_dec[(size_t)i * d + j] * m->final_norm[j];
	int got = interp_unembed_top(m, u, k, ids);
	free(u);
	return got;
}

char *feat_context(const rs_session *s, int i, int j, float *act, char *buf, size_t n)
{
	const rs_sae_index *x = s->sae_index;
	buf[0] = 0;
	*act = 0;
	if (!x || i < 0 || i >= x->n || j < 0 || j >= x->top || !(x->act[(size_t)i * x->top + j] > 0))
		return buf;
	*act = x->act[(size_t)i * x->top + j];
	const int32_t *t = x->tokens + ((size_t)i * x->top + j) * x->ctx;
	size_t o = 0;
	for (int c = 0; c < x->ctx && o + 8 < n; c++) {
		if (t[c] < 0 || t[c] >= s->model->cfg.vocab)
			continue;
		size_t len = 0;
		const char *b = s->tok ? tok_token_bytes(s->tok, t[c], &len) : NULL;
		char piece[96];
		if (b)
			rs_visible(b, len, RS_VIS_UTF8 | RS_VIS_BACKSLASH, piece, sizeof piece);
		else
			snprintf(piece, sizeof piece, " #%d", (int)t[c]);
		o += (size_t)snprintf(buf + o, n - o, c == x->at ? "[[%s]]" : "%s", piece);
	}
	if (o >= n)
		buf[n - 1] = 0;
	return buf;
}

/* The hook's tensor of the session's pass: as shown when computed, else from
 * a side run with the session's interventions (the pass is left alone).
 * Returns a copy (T, d). */
static float *pass_acts(rs_session *s, const rs_sae *sae, int *T, const char *name, rs_err *err)
{
	const rs_act *a = session_act(s, sae->hook);
	if (a) {
		*T = a->shape[0];
		float *x = rs_xmalloc(sizeof(float) * (size_t)a->numel);
		memcpy(x, a->data, sizeof(float) * (size_t)a->numel);
		return x;
	}
	rs_engine *e = cmd_scratch_engine(s, 1, err);
	if (!e)
		return NULL;
	float *x = NULL;
	char hn[96];
	eng_set_cache_filter(e, hook_name(sae->hook, hn, sizeof hn));
	if (eng_set_prompt(e, s->ids, s->n_ids, err) == 0) {
		eng_run_to(e, sae->hook);
		if ((a = eng_act(e, sae->hook))) {
			*T = a->shape[0];
			x = rs_xmalloc(sizeof(float) * (size_t)a->numel);
			memcpy(x, a->data, sizeof(float) * (size_t)a->numel);
		}
	}
	if (!x)
		cmd_fail(err, name, "%s could not be computed: %s", hn, err->msg);
	eng_free(e);
	return x;
}

int feat_at(rs_session *s, int pos, float *f, float *xout, rs_err *err)
{
	const rs_sae *sae = feat_sae(s, err);
	if (!sae)
		return -1;
	if (pos < 0 || pos >= s->n_ids)
		return rs_fail(err, "position %d is outside the prompt", pos);
	int T;
	float *x = pass_acts(s, sae, &T, "features", err);
	if (!x)
		return -1;
	int row = pos - (s->n_ids - T);
	if (row < 0) {
		free(x);
		return rs_fail(err, "position %d has no activation in this pass", pos);
	}
	sae_encode(sae, x + (size_t)row * sae->d, f, 1);
	if (xout)
		memcpy(xout, x + (size_t)row * sae->d, sizeof(float) * (size_t)sae->d);
	free(x);
	return 0;
}

static void json_print(rs_session *s, cJSON *o)
{
	char *t = cJSON_PrintUnformatted(o);
	session_printf(s, "%s\n", t);
	free(t);
	cJSON_Delete(o);
}

static cJSON *json_tokens(const rs_session *s, const int32_t *ids, int n)
{
	cJSON *a = cJSON_CreateArray();
	for (int i = 0; i < n; i++) {
		cJSON *t = cJSON_CreateObject();
		cJSON_AddNumberToObject(t, "id", ids[i]);
		size_t len = 0;
		const char *b = s->tok ? tok_token_bytes(s->tok, ids[i], &len) : NULL;
		char *txt = b ? strndup(b, len) : NULL;
		cJSON_AddStringToObject(t, "text", txt ? txt : "");
		free(txt);
		cJSON_AddItemToArray(a, t);
	}
	return a;
}

/* "' Paris' ' Rome' ' Madrid'" */
static char *fmt_tokens(const rs_session *s, const int32_t *ids, int n, char *buf, size_t len)
{
	size_t o = 0;
	buf[0] = 0;
	for (int i = 0; i < n && o < len; i++) {
		char tb[64];
		o += (size_t)snprintf(buf + o, len - o, "%s%s", i ? " " : "", cmd_fmt_token(s, ids[i], tb, sizeof tb));
	}
	return buf;
}

/* ---------------------------------------------------------------- sae */

static void print_sae(rs_session *s, const char *path_note)
{
	const rs_sae *sae = s->sae;
	const rs_sae_meta *m = &sae->meta;
	char hn[96];
	session_printf(s, "%s SAE of %s: %d features from %d (x%d), %s", sae_type_name(sae->type),
		       hook_name(sae->hook, hn, sizeof hn), sae->n, sae->d, sae->n / (sae->d ? sae->d : 1), path_note);
	if (sae->type == SAE_TOPK)
		session_printf(s, ", k %d", sae->k);
	session_printf(s, "\ntrained on %s: %lld vectors seen (with repeats) in %lld steps, %.0f s\n", m->model[0] ? m->model : "?",
		       (long long)m->tokens, (long long)m->steps, m->seconds);
	if (m->ce_zero > m->ce_clean)
		session_printf(s,
			       "held out: variance explained %.3f, L0 %.1f, %lld dead; loss clean %.3f, with the SAE "
			       "%.3f, zero-ablated %.3f (%.1f%% of the loss recovered)\n",
			       1 - m->nmse, m->l0, (long long)m->dead, m->ce_clean, m->ce_sae, m->ce_zero,
			       100 * (m->ce_zero - m->ce_sae) / (m->ce_zero - m->ce_clean));
	session_printf(s, "%s\n", s->sae_index ? "index of top contexts: loaded" : "no index of top contexts");
}

static cmd_status c_sae(rs_session *s, int argc, char **argv, rs_err *err)
{
	if (argc > 2)
		return cmd_usage(err, argv[0], "give one file, or nothing to see the SAE in use");
	rs_err e2;
	if (argc == 2) {
		if (cmd_check_path(s, argv[1], argv[0], err))
			return CMD_ERROR;
		if (feat_load(s, argv[1], &e2))
			return cmd_fail(err, argv[0], "%s", e2.msg);
		print_sae(s, "loaded");
		return CMD_OK;
	}
	if (!feat_sae(s, &e2))
		return cmd_fail(err, argv[0], "%s", e2.msg);
	print_sae(s, "in use");
	return CMD_OK;
}

/* ---------------------------------------------------------------- features */

#define FEAT_MAX 64

static cmd_status c_features(rs_session *s, int argc, char **argv, rs_err *err)
{
	int json = cmd_take_flag(&argc, argv, "--json"), miss;
	const char *ks = cmd_take_opt(&argc, argv, "--top", &miss);
	if (miss)
		return cmd_usage(err, argv[0], "--top needs a number");
	if (cmd_no_more_flags(argc, argv, err))
		return CMD_ERROR;
	if (argc > 2)
		return cmd_usage(err, argv[0], "give at most a position");
	long k = 10;
	if (ks && cmd_arg_long(ks, 1, FEAT_MAX, argv[0], "--top", &k, err))
		return CMD_ERROR;
	rs_err e2;
	const rs_sae *sae = feat_sae(s, &e2);
	if (!sae)
		return cmd_fail(err, argv[0], "%s", e2.msg);
	if (cmd_need_prompt(s, argv[0], err))
		return CMD_ERROR;
	int pos = s->sel_pos;
	if (argc == 2 && cmd_arg_index(argv[1], s->n_ids, argv[0], "position", &pos, err))
		return CMD_ERROR;
	int T;
	float *x = pass_acts(s, sae, &T, argv[0], err);
	if (!x)
		return CMD_ERROR;
	int row = pos - (s->n_ids - T);
	if (row < 0) {
		free(x);
		return cmd_fail(err, argv[0], "position %d has no activation in this pass", pos);
	}
	float *f = rs_xmalloc(sizeof(float) * (size_t)sae->n);
	sae_encode(sae, x + (size_t)row * sae->d, f, 1);
	int ids[FEAT_MAX];
	float acts[FEAT_MAX];
	int got = top_active(f, sae->n, (int)k, ids, acts), active = 0;
	for (int i = 0; i < sae->n; i++)
		active += f[i] > 0;
	char hn[96], tb[96];
	hook_name(sae->hook, hn, sizeof hn);
	cJSON *o = json ? cJSON_CreateObject() : NULL;
	if (o) {
		cJSON_AddStringToObject(o, "hook", hn);
		cJSON_AddNumberToObject(o, "pos", pos);
		cJSON_AddItemToObject(o, "token", json_tokens(s, s->ids + pos, 1));
		cJSON_AddNumberToObject(o, "active", active);
	} else {
		session_printf(s, "features of %s at pos %d %s: %d of %d active\n", hn, pos,
			       cmd_fmt_token(s, s->ids[pos], tb, sizeof tb), active, sae->n);
		if (got)
			session_printf(s, "%7s %9s  %-34s %s\n", "feature", "act", "promotes", "top context");
	}
	cJSON *arr = o ? cJSON_AddArrayToObject(o, "features") : NULL;
	for (int j = 0; j < got; j++) {
		int32_t pr[3];
		int np = feat_promotes(s, ids[j], 1, 3, pr);
		float cact;
		char ctx[512], ptxt[160];
		feat_context(s, ids[j], 0, &cact, ctx, sizeof ctx);
		if (o) {
			cJSON *r = cJSON_CreateObject();
			cJSON_AddNumberToObject(r, "feature", ids[j]);
			cJSON_AddNumberToObject(r, "act", acts[j]);
			cJSON_AddItemToObject(r, "promotes", json_tokens(s, pr, np));
			cJSON_AddStringToObject(r, "top_context", ctx);
			cJSON_AddNumberToObject(r, "top_context_act", cact);
			cJSON_AddItemToArray(arr, r);
		} else {
			session_printf(s, "%7d %9.4f  %-34s %s\n", ids[j], acts[j], fmt_tokens(s, pr, np, ptxt, sizeof ptxt),
				       ctx);
		}
	}
	if (o)
		json_print(s, o);
	free(f);
	free(x);
	return CMD_OK;
}

/* ---------------------------------------------------------------- feature N */

static cmd_status c_feature(rs_session *s, int argc, char **argv, rs_err *err)
{
	int json = cmd_take_flag(&argc, argv, "--json");
	if (cmd_no_more_flags(argc, argv, err))
		return CMD_ERROR;
	if (argc != 2)
		return cmd_usage(err, argv[0], "give a feature number");
	rs_err e2;
	const rs_sae *sae = feat_sae(s, &e2);
	if (!sae)
		return cmd_fail(err, argv[0], "%s", e2.msg);
	int i;
	if (cmd_arg_index(argv[1], sae->n, argv[0], "feature", &i, err))
		return CMD_ERROR;
	const rs_sae_index *ix = s->sae_index;
	int32_t up[8], down[8];
	int nu = feat_promotes(s, i, 1, 8, up), nd = feat_promotes(s, i, -1, 8, down);
	char hn[96], buf[512];
	hook_name(sae->hook, hn, sizeof hn);
	/* its activation at each position of this prompt */
	float *f = NULL;
	int T = 0;
	if (s->n_ids > 0) {
		float *x = pass_acts(s, sae, &T, argv[0], err);
		if (!x)
			return CMD_ERROR;
		f = rs_xmalloc(sizeof(float) * (size_t)T * sae->n);
		sae_encode(sae, x, f, T);
		free(x);
	}
	cJSON *o = json ? cJSON_CreateObject() : NULL;
	if (o) {
		cJSON_AddNumberToObject(o, "feature", i);
		cJSON_AddStringToObject(o, "hook", hn);
		if (ix) {
			cJSON_AddNumberToObject(o, "fired", (double)ix->fired[i]);
			cJSON_AddNumberToObject(o, "vectors", (double)ix->vectors);
		}
		cJSON_AddItemToObject(o, "promotes", json_tokens(s, up, nu));
		cJSON_AddItemToObject(o, "suppresses", json_tokens(s, down, nd));
	} else {
		session_printf(s, "feature %d of %s", i, hn);
		if (ix && ix->vectors)
			session_printf(s, ": active on %lld of %lld corpus vectors (%.3f%%)", (long long)ix->fired[i],
				       (long long)ix->vectors, 100.0 * (double)ix->fired[i] / (double)ix->vectors);
		session_printf(s, "\npromotes   %s\n", fmt_tokens(s, up, nu, buf, sizeof buf));
		session_printf(s, "suppresses %s\n", fmt_tokens(s, down, nd, buf, sizeof buf));
	}
	cJSON *ctxs = o ? cJSON_AddArrayToObject(o, "top_contexts") : NULL;
	for (int j = 0; ix && j < ix->top; j++) {
		float a;
		feat_context(s, i, j, &a, buf, sizeof buf);
		if (!(a > 0))
			break;
		if (o) {
			cJSON *c = cJSON_CreateObject();
			cJSON_AddNumberToObject(c, "act", a);
			cJSON_AddStringToObject(c, "text", buf);
			cJSON_AddItemToArray(ctxs, c);
		} else {
			session_printf(s, "%s%9.4f  %s\n", j ? "" : "top contexts in the corpus:\n", a, buf);
		}
	}
	cJSON *here = o ? cJSON_AddArrayToObject(o, "this_prompt") : NULL;
	int shown = 0;
	for (int t = 0; f && t < T; t++) {
		float a = f[(size_t)t * sae->n + i];
		if (!(a > 0))
			continue;
		int pos = s->n_ids - T + t;
		if (o) {
			cJSON *c = cJSON_CreateObject();
			cJSON_AddNumberToObject(c, "pos", pos);
			cJSON_AddNumberToObject(c, "act", a);
			cJSON_AddItemToArray(here, c);
		} else {
			char tb[96];
			session_printf(s, "%s  pos %d %s %.4f\n", shown ? "" : "in this prompt:\n", pos,
				       cmd_fmt_token(s, s->ids[pos], tb, sizeof tb), a);
		}
		shown++;
	}
	if (!o && f && !shown)
		session_printf(s, "not active anywhere in this prompt\n");
	if (o)
		json_print(s, o);
	free(f);
	return CMD_OK;
}

/* ---------------------------------------------------------------- steering */

float *cmd_feature_vector(rs_session *s, rs_hook h, const char *spec, int64_t *n, char *desc, size_t dn,
			  const char *name, rs_err *err)
{
	rs_err e2;
	const rs_sae *sae = feat_sae(s, &e2);
	if (!sae) {
		cmd_fail(err, name, "%s", e2.msg);
		return NULL;
	}
	int i;
	if (cmd_arg_index(spec, sae->n, name, "feature", &i, err))
		return NULL;
	rs_act sh = eng_hook_shape(s->model, h, 1, 1);
	if (sh.n_dims != 2 || sh.shape[1] != sae->d) {
		cmd_usage(err, name, "feature:N is a direction of the residual stream (%d wide): steer a hook of that width",
			  sae->d);
		return NULL;
	}
	float *v = rs_xmalloc(sizeof(float) * (size_t)sae->d);
	memcpy(v, sae->w_dec + (size_t)i * sae->d, sizeof(float) * (size_t)sae->d);
	*n = sae->d;
	char hn[96];
	snprintf(desc, dn, "feature %d's decoder direction (SAE of %s)", i, hook_name(sae->hook, hn, sizeof hn));
	return v;
}

/* steer-from A.txt B.txt HOOK SCALE [--all-positions] [--pos P] */
static cmd_status c_steer_from(rs_session *s, int argc, char **argv, rs_err *err)
{
	int all_pos = cmd_take_flag(&argc, argv, "--all-positions"), miss;
	const char *ps = cmd_take_opt(&argc, argv, "--pos", &miss);
	if (miss)
		return cmd_usage(err, argv[0], "--pos needs a number");
	if (cmd_no_more_flags(argc, argv, err))
		return CMD_ERROR;
	if (argc != 5)
		return cmd_usage(err, argv[0], "give two prompt files, a hook and a scale");
	if (!s->tok)
		return cmd_usage(err, argv[0], "the prompt files are text: this model has no tokenizer");
	rs_intervention iv = {.kind = IV_ADD, .head = -1, .pos = -1, .index = -1};
	if (cmd_arg_hook(s, argv[3], argv[0], &iv.hook, err) || cmd_arg_float(argv[4], argv[0], "scale", &iv.scale, err))
		return CMD_ERROR;
	if (ps && (cmd_need_prompt(s, argv[0], err) || cmd_arg_index(ps, s->n_ids, argv[0], "position", &iv.pos, err)))
		return CMD_ERROR;
	char path[2][4096];
	const char *dir = rs_lessons_dir();
	for (int k = 0; k < 2; k++) { /* a name not found here is looked up in the lessons folder */
		const char *f = argv[1 + k];
		if (cmd_check_path(s, f, argv[0], err))
			return CMD_ERROR;
		snprintf(path[k], sizeof path[k], "%s", f);
		if (access(path[k], R_OK) && f[0] != '/' && dir)
			snprintf(path[k], sizeof path[k], "%s/%s", dir, f);
	}
	int na = 0, nb = 0, w = 0;
	rs_err e2;
	float *v = steer_from_files(s->model, s->tok, TOK_PARSE_SPECIAL | (s->add_bos ? TOK_ADD_BOS : 0), path[0],
				    path[1], iv.hook, all_pos, &na, &nb, &w, &e2);
	if (!v)
		return cmd_fail(err, argv[0], "%s", e2.msg);
	iv.values = v;
	iv.n_values = w;
	double norm = 0;
	for (int j = 0; j < w; j++)
		norm += (double)v[j] * v[j];
	char what[400];
	snprintf(what, sizeof what, "add %.4f x (mean of %d prompts of %.60s - mean of %d of %.60s, %s; norm %.4g) at",
		 iv.scale, na, argv[1], nb, argv[2], all_pos ? "every position but the BOS" : "last positions", sqrt(norm));
	cmd_status st = cmd_add_intervention(s, &iv, what, argv[0], err);
	free(v);
	return st;
}

/* ---------------------------------------------------------------- table */
#define A(...) {__VA_ARGS__}

const cmd_def cmds_features[] = {
	{"sae", "[FILE]", "load a sparse autoencoder, or say which is in use",
	 "An SAE (`residual train-sae` writes one) reads one hook and writes it as a sparse sum of feature "
	 "directions. Without FILE: the one in use (for the built-in model, the one shipped with it), its hook, size "
	 "and measured quality. With FILE: loads it and the index of top contexts beside it (FILE.index.gguf).",
	 A(ARG_FILE), NULL, c_sae, NULL, "Features", CMD_REPLAY},
	{"features", "[POS] [--top K] [--json]", "the SAE's most active features at a position",
	 "Encodes the SAE's hook at POS (default the selected position) as the pass computes it, interventions "
	 "included, and lists the K (default 10) most active features: the activation, the tokens each one's "
	 "decoder direction promotes through the unembedding (read with the final norm's weight, as direct logit "
	 "attribution does) and its top context in the corpus, the activating token in [[ ]]. The features pane "
	 "shows the same at the selected position.",
	 A(ARG_POS), NULL, c_features, "--top --json", NULL, CMD_REPLAY | CMD_VIEW},
	{"feature", "N [--json]", "one feature: its top contexts, the tokens it promotes, where it fires here",
	 "Feature N of the SAE: how often it fired over the corpus, the tokens its decoder direction promotes and "
	 "suppresses most, its top-activating contexts from the index, and its activation at each position of this "
	 "prompt where it is active.",
	 A(ARG_NUMBER), NULL, c_feature, "--json", NULL, CMD_REPLAY | CMD_VIEW},
	{"steer-from", "A.txt B.txt HOOK SCALE [--all-positions] [--pos P]",
	 "steer by the mean difference of activations over two prompt files",
	 "Runs every prompt of A.txt and of B.txt (one a line, # comments; a name not found here is looked up in the "
	 "lessons folder) on the clean model and adds SCALE times (mean over A - mean over B) of HOOK's activation to "
	 "this run, at every position (or --pos P). A prompt's activation is its last position's, where the model "
	 "reads the whole prompt and predicts what follows, so the files need not pair up or share lengths; "
	 "--all-positions takes instead the mean over its positions after the BOS. llama.cpp's control vectors "
	 "(cvector-generator --method mean) instead pair the files line by line, pad each pair to one length and "
	 "average the differences at every position where they are not zero.",
	 A(ARG_FILE, ARG_FILE, ARG_HOOK, ARG_NUMBER), NULL, c_steer_from, "--all-positions --pos", NULL, CMD_REPLAY},
	{NULL}};
