/* commands_args.c - parsing arguments and formatting what commands print. */
#include "config.h"
#include "commands_internal.h"
#include "tokenizer.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---------------------------------------------------------------- flags */
static void remove_arg(int *argc, char **argv, int i, int n)
{
	memmove(&argv[i], &argv[i + n], sizeof(char *) * (size_t)(*argc - i - n + 1));
	*argc -= n;
}

int cmd_take_flag(int *argc, char **argv, const char *flag)
{
	int found = 0;
	for (int i = 1; i < *argc;) {
		if (!strcmp(argv[i], flag)) {
			remove_arg(argc, argv, i, 1);
			found = 1;
		} else {
			i++;
		}
	}
	return found;
}

const char *cmd_take_opt(int *argc, char **argv, const char *opt, int *missing)
{
	size_t n = strlen(opt);
	const char *val = NULL;
	if (missing)
		*missing = 0;
	for (int i = 1; i < *argc;) {
		if (!strncmp(argv[i], opt, n) && argv[i][n] == '=') {
			val = argv[i] + n + 1;
			remove_arg(argc, argv, i, 1);
		} else if (!strcmp(argv[i], opt)) {
			if (i + 1 >= *argc) {
				if (missing)
					*missing = 1;
				remove_arg(argc, argv, i, 1);
				return NULL;
			}
			val = argv[i + 1];
			remove_arg(argc, argv, i, 2);
		} else {
			i++;
		}
	}
	return val;
}

int cmd_no_more_flags(int argc, char **argv, rs_err *err)
{
	for (int i = 1; i < argc; i++)
		if (!strncmp(argv[i], "--", 2) && argv[i][2]) {
			cmd_usage(err, argv[0], "unknown option '%.40s'", argv[i]);
			return -1;
		}
	return 0;
}

/* ---------------------------------------------------------------- numbers */
int cmd_arg_long(const char *s, long lo, long hi, const char *name, const char *what, long *out, rs_err *err)
{
	char *end;
	errno = 0;
	long v = strtol(s, &end, 10);
	if (!*s || *end || errno) {
		cmd_usage(err, name, "%s '%.40s' is not a whole number", what, s);
		return -1;
	}
	if (v < lo || v > hi) {
		cmd_usage(err, name, "%s %ld is out of range (%ld..%ld)", what, v, lo, hi);
		return -1;
	}
	*out = v;
	return 0;
}

int cmd_arg_index(const char *s, int n, const char *name, const char *what, int *out, rs_err *err)
{
	long v;
	if (n <= 0) {
		cmd_usage(err, name, "there is no %s to choose", what);
		return -1;
	}
	char *end;
	errno = 0;
	v = strtol(s, &end, 10);
	if (!*s || *end || errno) {
		cmd_usage(err, name, "%s '%.40s' is not a whole number", what, s);
		return -1;
	}
	if (v < -(long)n || v >= n) {
		cmd_usage(err, name, "%s %ld is out of range (0..%d, or -1 for the last)", what, v, n - 1);
		return -1;
	}
	*out = (int)(v < 0 ? v + n : v);
	return 0;
}

int cmd_arg_float(const char *s, const char *name, const char *what, float *out, rs_err *err)
{
	char *end;
	errno = 0;
	double v = strtod(s, &end);
	if (!*s || *end || errno || !isfinite(v) || fabs(v) > 1e30) {
		cmd_usage(err, name, "%s '%.40s' is not a finite number", what, s);
		return -1;
	}
	*out = (float)v;
	return 0;
}

int cmd_arg_ids(int argc, char **argv, int i, const char *name, int32_t **ids, int *n, rs_err *err)
{
	int k = 0;
	int32_t *v = NULL;
	for (; i < argc; i++) { /* the words together are one list; no negative ids here */
		int32_t *w = NULL;
		int m = 0, bad = tok_parse_ids(argv[i], &w, &m, NULL) != 0;
		for (int j = 0; !bad && j < m; j++)
			bad = w[j] < 0;
		if (bad) {
			free(w);
			free(v);
			cmd_usage(err, name, "'%.40s' is not a list of token ids", argv[i]);
			return -1;
		}
		v = rs_xrealloc(v, sizeof *v * (size_t)(k + m + 1));
		if (m)
			memcpy(v + k, w, sizeof *v * (size_t)m);
		k += m;
		free(w);
	}
	if (!k) {
		free(v);
		cmd_usage(err, name, "no token ids given");
		return -1;
	}
	*ids = v;
	*n = k;
	return 0;
}

/* ---------------------------------------------------------------- hooks */
int cmd_arg_hook(const rs_session *s, const char *str, const char *name, rs_hook *out, rs_err *err)
{
	int L = s->model->cfg.n_layers;
	long l = 0;
	rs_hook h = {0, -1};
	switch (hook_parse_loose(str, L, s->sel_layer, &h, &l)) {
	case 0:
		*out = h;
		return 0;
	case HOOK_ELAYER:
		cmd_usage(err, name, "layer %ld of '%.60s' is out of range (0..%d)", l, str, L - 1);
		return -1;
	case HOOK_ENOTBLOCK:
		cmd_usage(err, name, "'%.60s': %s is not inside a block", str, hook_kind_name(h.kind));
		return -1;
	default:
		cmd_usage(err, name, "no hook '%.60s' (see hooks for the names)", str);
		return -1;
	}
}

int cmd_arg_token(const rs_session *s, const char *str, const char *name, int32_t *out, rs_err *err)
{
	int V = s->model->cfg.vocab;
	const char *num = str[0] == '#' ? str + 1 : str;
	if (*num && strspn(num, "0123456789") == strlen(num)) {
		long id;
		if (cmd_arg_long(num, 0, V - 1, name, "token id", &id, err))
			return -1;
		*out = (int32_t)id;
		return 0;
	}
	if (!s->tok) {
		cmd_usage(err, name, "this model has no tokenizer: give a token id, not '%.40s'", str);
		return -1;
	}
	int32_t id = tok_find(s->tok, str);
	if (id >= 0 && id < V) {
		*out = id;
		return 0;
	}
	int32_t *ids = NULL;
	int n = 0;
	rs_err e2;
	if (tok_encode(s->tok, str, strlen(str), TOK_PARSE_SPECIAL, &ids, NULL, &n, &e2) || n != 1 || ids[0] >= V) {
		free(ids);
		if (n > 1)
			cmd_usage(err, name, "'%.40s' is %d tokens; give one token (or its id)", str, n);
		else
			cmd_usage(err, name, "'%.40s' is not a token of this model", str);
		return -1;
	}
	*out = ids[0];
	free(ids);
	return 0;
}

/* ---------------------------------------------------------------- checks */
int cmd_need_prompt(const rs_session *s, const char *name, rs_err *err)
{
	if (s->n_ids > 0)
		return 0;
	cmd_fail(err, name, "there is no prompt yet (type prompt TEXT%s)", s->tok ? "" : " or prompt --ids 1,2,3");
	return -1;
}

const rs_act *cmd_need_act(const rs_session *s, rs_hook h, const char *name, rs_err *err)
{
	char hn[96];
	if (cmd_need_prompt(s, name, err))
		return NULL;
	hook_name(h, hn, sizeof hn);
	if (s->view_stop < 0 || hook_stop(h, s->model->cfg.n_layers) > s->view_stop) {
		cmd_fail(err, name, "%s is not computed yet (step there, or run-to %s)", hn, hn);
		return NULL;
	}
	const rs_act *a = session_act(s, h);
	if (!a) { /* left out by the big-model cache default: computed now, from its layer's start */
		rs_err e2;
		if (!(a = session_compute_act((rs_session *)s, h, &e2)))
			cmd_fail(err, name, "%s", e2.msg);
	}
	return a;
}

int cmd_check_path(const rs_session *s, const char *path, const char *name, rs_err *err)
{
	if (!*path) {
		cmd_usage(err, name, "the file name is empty");
		return -1;
	}
	if (!s->restricted)
		return 0;
	if (path[0] == '/' || path[0] == '~' || !strncmp(path, "..", 2) || strstr(path, "/..")) {
		cmd_fail(err, name, "'%.60s': this session only uses files below its working directory", path);
		return -1;
	}
	return 0;
}

/* ---------------------------------------------------------------- formatting */
char *cmd_fmt_token(const rs_session *s, int32_t id, char *buf, size_t n)
{
	size_t len = 0;
	const char *b = s->tok ? tok_token_bytes(s->tok, id, &len) : NULL;
	if (!b || n < 4) {
		snprintf(buf, n, "#%d", (int)id);
		return buf;
	}
	buf[0] = '\'';
	rs_visible(b, len, RS_VIS_UTF8 | RS_VIS_BACKSLASH | RS_VIS_QUOTE, buf + 1, n - 2);
	strcat(buf, "'");
	return buf;
}

char *cmd_fmt_shape(const rs_act *a, char *buf, size_t n)
{
	size_t o = 0;
	o += (size_t)snprintf(buf + o, n - o, "[");
	for (int i = 0; i < a->n_dims && o < n; i++)
		o += (size_t)snprintf(buf + o, n - o, "%s%d", i ? ", " : "", a->shape[i]);
	if (o < n)
		snprintf(buf + o, n - o, "]");
	return buf;
}

void cmd_print_where(rs_session *s)
{
	int total = session_n_stops(s);
	if (!s->n_ids) {
		session_printf(s, "no prompt\n");
		return;
	}
	if (s->view_stop < 0) {
		session_printf(s, "stop -/%d  before hook_embed\n", total);
		return;
	}
	char hn[96], sh[64];
	rs_hook h = session_hook(s);
	hook_name(h, hn, sizeof hn);
	rs_act shape = eng_hook_shape(s->model, h, s->n_ids, s->n_ids);
	const rs_act *a = session_act_kept(s, h); /* for its shape: not worth a rerun */
	session_printf(s, "stop %d/%d  %s  %s\n", s->view_stop, total, hn, cmd_fmt_shape(a ? a : &shape, sh, sizeof sh));
}

/* ---------------------------------------------------------------- prompts and side runs */
int cmd_arg_prompt(const rs_session *s, const char *str, int as_ids, const char *name, int32_t **ids, int *n,
	       rs_err *err)
{
	if (as_ids || !s->tok) {
		char *argv[2] = {(char *)str, NULL};
		if (cmd_arg_ids(1, argv, 0, name, ids, n, err))
			return -1;
	} else {
		rs_err e2;
		int flags = TOK_PARSE_SPECIAL | (s->add_bos ? TOK_ADD_BOS : 0);
		if (tok_encode(s->tok, str, strlen(str), flags, ids, NULL, n, &e2)) {
			cmd_fail(err, name, "%s", e2.msg);
			return -1;
		}
		if (!*n) {
			free(*ids);
			cmd_usage(err, name, "the prompt is empty");
			return -1;
		}
	}
	for (int i = 0; i < *n; i++)
		if ((*ids)[i] >= s->model->cfg.vocab) {
			cmd_usage(err, name, "token id %d is outside the vocabulary (%d)", (*ids)[i], s->model->cfg.vocab);
			free(*ids);
			return -1;
		}
	return 0;
}

rs_engine *cmd_scratch_engine(rs_session *s, int with_ivs, rs_err *err)
{
	rs_engine *e = eng_create(s->model, err);
	if (!e)
		return NULL;
	for (int i = 0; with_ivs && i < eng_n_interventions(s->eng); i++)
		eng_add_intervention(e, eng_intervention(s->eng, i), NULL);
	return e;
}

static const float *logits_row(rs_session *s, int pos)
{
	const rs_act *a = session_act(s, (rs_hook){HOOK_LOGITS, -1});
	if (!a)
		return NULL;
	int row = pos - (s->n_ids - a->shape[0]);
	return row >= 0 ? a->data + (size_t)row * a->shape[1] : NULL;
}

/* The top next token at pos and the log normaliser of its logits (NULL: not computed). */
static const float *next_token(rs_session *s, int pos, int *top, double *lse)
{
	const float *lg = logits_row(s, pos);
	if (lg) {
		int V = s->model->cfg.vocab;
		*lse = vec_softmax(lg, V, NULL);
		vec_topk(lg, V, 1, 0, top);
	}
	return lg;
}

void cmd_effect_begin(rs_session *s, effect_snap *e)
{
	memset(e, 0, sizeof *e);
	e->pos = s->sel_pos;
	int top;
	double lse;
	const float *lg = s->n_ids ? next_token(s, e->pos, &top, &lse) : NULL;
	if (!lg)
		return;
	e->top = top;
	e->p_top = exp((double)lg[top] - lse);
	e->logit_top = lg[top];
	e->valid = 1;
}

void cmd_effect_print(rs_session *s, const effect_snap *e)
{
	int top;
	double lse;
	const float *lg = e->valid && e->pos < s->n_ids ? next_token(s, e->pos, &top, &lse) : NULL;
	if (!lg)
		return;
	char a[160], b[160];
	session_printf(s, "next token after pos %d: %s p %.4f -> %.4f (logit %.4f -> %.4f)", e->pos,
		       cmd_fmt_token(s, e->top, a, sizeof a), e->p_top, exp((double)lg[e->top] - lse), e->logit_top,
		       lg[e->top]);
	if (top != e->top)
		session_printf(s, "; now %s p %.4f", cmd_fmt_token(s, top, b, sizeof b), exp((double)lg[top] - lse));
	session_printf(s, "\n");
}

/* ---------------------------------------------------------------- heads */
int cmd_hook_kv(int kind)
{
	return hook_shape(kind) == HSHAPE_KV;
}

const char *cmd_head_word(int kind)
{
	return cmd_hook_kv(kind) ? "kv head" : "head";
}

int cmd_arg_head(const rs_session *s, int kind, const char *head, const char *kv_head, const char *name, int *out,
		 rs_err *err)
{
	const rs_config *c = &s->model->cfg;
	*out = -1;
	if (head && kv_head) {
		cmd_usage(err, name, "give --head (a query head) or --kv-head, not both");
		return -1;
	}
	if (kv_head) {
		if (!cmd_hook_kv(kind)) {
			cmd_usage(err, name, "--kv-head is for k, v and rot_k; %s has query heads: use --head",
				  hook_kind_name(kind));
			return -1;
		}
		return cmd_arg_index(kv_head, c->n_kv_heads, name, "kv head", out, err);
	}
	if (!head)
		return 0;
	int h;
	if (cmd_arg_index(head, c->n_heads, name, "head", &h, err))
		return -1;
	*out = cmd_hook_kv(kind) ? h * c->n_kv_heads / c->n_heads : h;
	return 0;
}
