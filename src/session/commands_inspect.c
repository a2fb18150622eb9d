/* commands_inspect.c - looking at what the engine computed: tokens, hooks,
 * vectors with their statistics, residual norms, attention, top-k. Every
 * number printed is read from the engine's cache (session_act). */
#include "config.h"
#include "commands_internal.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---------------------------------------------------------------- tokens */
static cmd_status c_tokens(rs_session *s, int argc, char **argv, rs_err *err)
{
	if (argc > 1)
		return cmd_usage(err, argv[0], "takes no arguments");
	if (cmd_need_prompt(s, argv[0], err))
		return CMD_ERROR;
	char tb[160];
	session_printf(s, "pos     id  token\n");
	for (int i = 0; i < s->n_ids; i++)
		session_printf(s, "%c%3d %6d  %s\n", i == s->sel_pos ? '*' : ' ', i, (int)s->ids[i],
			       cmd_fmt_token(s, s->ids[i], tb, sizeof tb));
	return CMD_OK;
}

static cmd_status c_hooks(rs_session *s, int argc, char **argv, rs_err *err)
{
	int L = s->model->cfg.n_layers, only = -2;
	if (argc > 2)
		return cmd_usage(err, argv[0], "give at most one layer");
	if (argc == 2 && cmd_arg_index(argv[1], L, argv[0], "layer", &only, err))
		return CMD_ERROR;
	int T = s->n_ids ? s->n_ids : 1;
	for (int t = 0; t < session_n_stops(s); t++) {
		rs_hook h = hook_at(t, L);
		if (only != -2 && h.layer != only)
			continue;
		char hn[96], sh[64];
		rs_act a = eng_hook_shape(s->model, h, T, T);
		const char *mark = !s->n_ids ? "" : t == s->view_stop ? "  <- shown" : t < s->view_stop ? "  computed" : "";
		cmd_fmt_shape(&a, sh, sizeof sh);
		if (*mark)
			session_printf(s, "%3d  %-32s %-14s%s\n", t, hook_name(h, hn, sizeof hn), sh, mark);
		else
			session_printf(s, "%3d  %-32s %s\n", t, hook_name(h, hn, sizeof hn), sh);
	}
	return CMD_OK;
}

/* ---------------------------------------------------------------- vectors */
typedef struct vec_view {
	const float *x;
	int n;
	char what[200]; /* "pos 3 'cat'", "head 1 query 3" */
} vec_view;

/* The vector of hook h that the learner means: the row at pos, in head
 * `head` for the per-head hooks, the query row of one head for patterns. */
static int pick_vector(rs_session *s, rs_hook h, const rs_act *a, int pos, int head, vec_view *v, const char *name,
		       rs_err *err)
{
	char tb[160];
	cmd_fmt_token(s, s->ids[pos], tb, sizeof tb);
	if (hook_is_attn(h.kind)) {
		int H = act_n_heads(a, h.kind);
		if (head >= H)
			head = H - 1;
		v->x = act_row(a, h.kind, pos, head, &v->n);
		snprintf(v->what, sizeof v->what, "head %d query %d %s", head, pos, tb);
		return 0;
	}
	int row = pos;
	if (a->shape[0] != s->n_ids) { /* logits of the last position only */
		row = pos - (s->n_ids - a->shape[0]);
		if (row < 0) {
			cmd_fail(err, name, "only the last %d positions were computed here", a->shape[0]);
			return -1;
		}
	}
	if (hook_has_heads(h.kind)) {
		/* head is on the hook's own axis (a kv head for k, v, rot_k) */
		if (head >= act_n_heads(a, h.kind))
			head = act_n_heads(a, h.kind) - 1;
		v->x = act_row(a, h.kind, row, head, &v->n);
		snprintf(v->what, sizeof v->what, "pos %d %s %s %d", pos, tb, cmd_head_word(h.kind), head);
		return 0;
	}
	v->x = a->data + (size_t)row * a->shape[1];
	v->n = a->shape[1];
	snprintf(v->what, sizeof v->what, "pos %d %s", pos, tb);
	return 0;
}

static void print_stats(rs_session *s, const float *x, int n, int is_logits)
{
	double sum = 0, ss = 0;
	float mn = INFINITY, mx = -INFINITY;
	int amax = 0;
	for (int i = 0; i < n; i++) {
		sum += x[i];
		ss += (double)x[i] * x[i];
		if (x[i] < mn)
			mn = x[i];
		if (x[i] > mx)
			mx = x[i];
		if (fabsf(x[i]) > fabsf(x[amax]))
			amax = i;
	}
	double mean = sum / n, var = ss / n - mean * mean;
	session_printf(s, "norm %.4f  mean %.4f  std %.4f  min %.4f  max %.4f  max|x| %.4f at %d\n", sqrt(ss), mean,
		       sqrt(var > 0 ? var : 0), mn, mx, fabsf(x[amax]), amax);
	int idx[8];
	int k = vec_topk(x, n, 8, !is_logits, idx);
	session_printf(s, "top %s:", is_logits ? "entries" : "|x|");
	for (int i = 0; i < k; i++)
		session_printf(s, " %d:%+.4f", idx[i], x[idx[i]]);
	session_printf(s, "\n");
}

static void print_full(rs_session *s, const float *x, int n)
{
	for (int i = 0; i < n; i += 8) {
		session_printf(s, "%6d:", i);
		for (int j = i; j < n && j < i + 8; j++)
			session_printf(s, " %.6f", x[j]);
		session_printf(s, "\n");
	}
}

static cmd_status c_show(rs_session *s, int argc, char **argv, rs_err *err)
{
	int full = cmd_take_flag(&argc, argv, "--full") || s->vec_full;
	int missing;
	const char *hs = cmd_take_opt(&argc, argv, "--head", &missing);
	if (missing)
		return cmd_usage(err, argv[0], "--head needs a head number");
	const char *kvs = cmd_take_opt(&argc, argv, "--kv-head", &missing);
	if (missing)
		return cmd_usage(err, argv[0], "--kv-head needs a head number");
	if (cmd_no_more_flags(argc, argv, err) || cmd_need_prompt(s, argv[0], err))
		return CMD_ERROR;
	if (argc > 3)
		return cmd_usage(err, argv[0], "too many arguments");
	rs_hook h = session_hook(s);
	int pos = s->sel_pos, head = s->sel_head, ai = 1;
	/* `show 3` is the current hook at position 3 */
	if (argc >= 2 && !(argc == 2 && strspn(argv[1], "-0123456789") == strlen(argv[1])))
		if (cmd_arg_hook(s, argv[ai++], argv[0], &h, err))
			return CMD_ERROR;
	if (ai < argc && cmd_arg_index(argv[ai], s->n_ids, argv[0], "position", &pos, err))
		return CMD_ERROR;
	if (h.kind == HOOK_N_KINDS)
		return cmd_fail(err, argv[0], "nothing is computed yet (step first, or name a hook)");
	/* --head is a query head (the selected one by default); --kv-head for k, v, rot_k */
	int given;
	if (cmd_arg_head(s, h.kind, hs, kvs, argv[0], &given, err))
		return CMD_ERROR;
	if (given >= 0)
		head = given;
	else if (cmd_hook_kv(h.kind)) /* the kv head the selected query head reads */
		head = head * s->model->cfg.n_kv_heads / s->model->cfg.n_heads;
	const rs_act *a = cmd_need_act(s, h, argv[0], err);
	if (!a)
		return CMD_ERROR;
	vec_view v;
	if (pick_vector(s, h, a, pos, head, &v, argv[0], err))
		return CMD_ERROR;
	char hn[96], via[64] = "";
	int qh;
	if (hs && cmd_hook_kv(h.kind) && !cmd_arg_index(hs, s->model->cfg.n_heads, argv[0], "head", &qh, err))
		snprintf(via, sizeof via, " (read by query head %d)", qh); /* --head on a kv hook */
	session_printf(s, "%s %s%s  [%d]\n", hook_name(h, hn, sizeof hn), v.what, via, v.n);
	print_stats(s, v.x, v.n, h.kind == HOOK_LOGITS);
	if (full)
		print_full(s, v.x, v.n);
	return CMD_OK;
}

/* ---------------------------------------------------------------- norms */
static cmd_status c_norms(rs_session *s, int argc, char **argv, rs_err *err)
{
	if (argc > 1)
		return cmd_usage(err, argv[0], "takes no arguments");
	if (cmd_need_prompt(s, argv[0], err))
		return CMD_ERROR;
	int L = s->model->cfg.n_layers, T = s->n_ids, rows = 0;
	session_printf(s, "L2 norm of the residual stream (rows: hooks, columns: positions)\n%-26s", "");
	for (int t = 0; t < T; t++)
		session_printf(s, " %9d", t);
	session_printf(s, "\n");
	for (int l = 0; l <= L; l++) {
		rs_hook hs[2] = {{HOOK_RESID_PRE, l}, {HOOK_RESID_MID, l}};
		if (l == L)
			hs[0] = (rs_hook){HOOK_RESID_POST, L - 1};
		for (int k = 0; k < (l == L ? 1 : 2); k++) {
			const rs_act *a = session_act(s, hs[k]);
			if (!a)
				continue;
			char hn[96];
			session_printf(s, "%-26s", hook_name(hs[k], hn, sizeof hn));
			for (int t = 0; t < T; t++) {
				double ss = 0;
				const float *x = a->data + (size_t)t * a->shape[1];
				for (int i = 0; i < a->shape[1]; i++)
					ss += (double)x[i] * x[i];
				session_printf(s, " %9.4f", sqrt(ss));
			}
			session_printf(s, "\n");
			rows++;
		}
	}
	if (!rows)
		return cmd_fail(err, argv[0], "no residual stream is computed yet (step to blocks.0.hook_resid_pre)");
	return CMD_OK;
}

/* ---------------------------------------------------------------- attention */
static cmd_status c_attn(rs_session *s, int argc, char **argv, rs_err *err)
{
	int values = cmd_take_flag(&argc, argv, "--values") || s->attn_values;
	if (cmd_no_more_flags(argc, argv, err) || cmd_need_prompt(s, argv[0], err))
		return CMD_ERROR;
	if (argc != 1 && argc != 3)
		return cmd_usage(err, argv[0], "give a layer and a head, or neither");
	int layer = s->sel_layer, head = s->sel_head;
	if (argc == 3 && (cmd_arg_index(argv[1], s->model->cfg.n_layers, argv[0], "layer", &layer, err) ||
			  cmd_arg_index(argv[2], s->model->cfg.n_heads, argv[0], "head", &head, err)))
		return CMD_ERROR;
	const rs_act *a = cmd_need_act(s, (rs_hook){HOOK_PATTERN, layer}, argv[0], err);
	if (!a)
		return CMD_ERROR;
	int T = a->shape[1], Tk;
	char tb[160], kb[160];
	session_printf(s, "attention pattern of layer %d head %d (rows: queries, columns: keys)\n", layer, head);
	for (int q = 0; q < T; q++) {
		const float *p = act_row(a, HOOK_PATTERN, q, head, &Tk);
		if (values) {
			session_printf(s, "%4d:", q);
			for (int j = 0; j < Tk; j++)
				session_printf(s, " %.4f", p[j]);
			session_printf(s, "\n");
			continue;
		}
		int idx[3];
		int k = vec_topk(p, q + 1 < Tk ? q + 1 : Tk, 3, 0, idx);
		session_printf(s, "%4d %-14s ->", q, cmd_fmt_token(s, s->ids[q], tb, sizeof tb));
		for (int i = 0; i < k; i++)
			session_printf(s, "%s %d %s %.4f", i ? "," : "", idx[i], cmd_fmt_token(s, s->ids[idx[i]], kb, sizeof kb),
				       p[idx[i]]);
		session_printf(s, "\n");
	}
	return CMD_OK;
}

/* ---------------------------------------------------------------- top-k */
static cmd_status c_top(rs_session *s, int argc, char **argv, rs_err *err)
{
	if (argc > 3)
		return cmd_usage(err, argv[0], "too many arguments");
	if (cmd_need_prompt(s, argv[0], err))
		return CMD_ERROR;
	long k = s->topk;
	int pos = s->sel_pos;
	if (argc >= 2 && cmd_arg_long(argv[1], 1, 1000, argv[0], "K", &k, err))
		return CMD_ERROR;
	if (argc == 3 && cmd_arg_index(argv[2], s->n_ids, argv[0], "position", &pos, err))
		return CMD_ERROR;
	const rs_act *a = cmd_need_act(s, (rs_hook){HOOK_LOGITS, -1}, argv[0], err);
	if (!a)
		return CMD_ERROR;
	int V = a->shape[1], row = pos - (s->n_ids - a->shape[0]);
	if (row < 0)
		return cmd_fail(err, argv[0], "logits were computed for the last position only");
	const float *lg = a->data + (size_t)row * V;
	double *p = rs_xmalloc(sizeof(double) * (size_t)V);
	vec_softmax_d(lg, V, p);
	int *idx = rs_xmalloc(sizeof(int) * (size_t)k);
	int n = vec_topk(lg, V, (int)k, 0, idx);
	char tb[160];
	session_printf(s, "next token after pos %d %s:\n", pos, cmd_fmt_token(s, s->ids[pos], tb, sizeof tb));
	for (int i = 0; i < n; i++)
		session_printf(s, "%3d %6d %-20s p %.4f  logit %.4f\n", i + 1, idx[i], cmd_fmt_token(s, idx[i], tb, sizeof tb),
			       p[idx[i]], lg[idx[i]]);
	free(idx);
	free(p);
	return CMD_OK;
}

/* ---------------------------------------------------------------- table */
#define A(...) {__VA_ARGS__}

const cmd_def cmds_inspect[] = {
	{"tokens", "", "the prompt's tokens: position, id, text",
	 "Lists every position with its token id and text; * marks the selected position.", A(ARG_NONE), NULL,
	 c_tokens, NULL, "Looking", CMD_REPLAY | CMD_VIEW},
	{"hooks", "[LAYER]", "the hook points of a pass with their shapes",
	 "Every stop of the forward pass in order, with the shape of its tensor for this prompt; marks what is "
	 "computed and the stop shown.",
	 A(ARG_LAYER), NULL, c_hooks, NULL, NULL, CMD_REPLAY | CMD_VIEW},
	{"show", "[HOOK] [POS] [--head H | --kv-head K] [--full]", "a vector and its statistics",
	 "Shows the vector of HOOK (default: the stop shown) at position POS (default: the selected one): its L2 "
	 "norm, mean, standard deviation, min, max, largest |x| and the 8 entries largest in magnitude. For q, k, "
	 "v and z it is one head's vector: --head H is always a query head (default the selected one); k, v and "
	 "rot_k have key/value heads, shown as 'kv head K': --kv-head K names one, --head H the one query head H "
	 "reads. For attention scores and patterns the row of one query. --full prints every number.",
	 A(ARG_HOOK, ARG_POS), NULL, c_show, "--full --head --kv-head", NULL, CMD_REPLAY | CMD_VIEW},
	{"norms", "", "L2 norms of the residual stream per layer and position",
	 "Rows are the residual stream before each layer, after its attention and after the last layer; "
	 "columns are positions. Only computed stops are shown.",
	 A(ARG_NONE), NULL, c_norms, NULL, NULL, CMD_REPLAY | CMD_VIEW},
	{"attn", "[L H] [--values]", "attention pattern of a layer and head",
	 "For each query position, the three keys it attends to most with their weights; --values (or set "
	 "values on) prints the whole matrix. Default: the selected layer and head.",
	 A(ARG_LAYER, ARG_HEAD), NULL, c_attn, "--values", NULL, CMD_REPLAY | CMD_VIEW},
	{"top", "[K] [POS]", "the K most likely next tokens at a position",
	 "Softmax of the logits at POS (default: the selected position): rank, token id, text, probability and "
	 "logit. Needs the logits computed.",
	 A(ARG_NUMBER, ARG_POS), NULL, c_top, NULL, NULL, CMD_REPLAY | CMD_VIEW},
	{0},
};
