/* commands_sweep.c - `sweep`: interp's patching and ablation sweeps over
 * every layer and position (or head), measured by a logit or logit
 * difference. The sweeps run in interp's private engines on the clean model,
 * so the session's pass and interventions are left alone. */
#include "config.h"
#include "commands_internal.h"
#include "interp.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* The metric from --metric TOKEN, --vs TOKEN and --at POS (taken out of
 * argv); tok stays -1 without --metric, for the caller's default. */
int cmd_take_metric(rs_session *s, int *argc, char **argv, interp_metric *mt, rs_err *err)
{
	int m[3];
	const char *ts = cmd_take_opt(argc, argv, "--metric", &m[0]);
	const char *vs = cmd_take_opt(argc, argv, "--vs", &m[1]);
	const char *ps = cmd_take_opt(argc, argv, "--at", &m[2]);
	if (m[0] || m[1] || m[2]) {
		cmd_usage(err, argv[0], "--metric and --vs need a token, --at a position");
		return -1;
	}
	mt->pos = -1;
	mt->tok = mt->tok_b = -1;
	if (ts && cmd_arg_token(s, ts, argv[0], &mt->tok, err))
		return -1;
	if (vs && cmd_arg_token(s, vs, argv[0], &mt->tok_b, err))
		return -1;
	if (ps && cmd_arg_index(ps, s->n_ids, argv[0], "position", &mt->pos, err))
		return -1;
	return 0;
}

void cmd_print_metric(rs_session *s, const interp_metric *mt)
{
	char a[160], b[160];
	session_printf(s, "metric: logit of %s", cmd_fmt_token(s, mt->tok, a, sizeof a));
	if (mt->tok_b >= 0)
		session_printf(s, " minus logit of %s", cmd_fmt_token(s, mt->tok_b, b, sizeof b));
	session_printf(s, " at pos %d\n", interp_metric_pos(mt, s->n_ids));
}

/* A sweep stopped part way shows the cells it has. */
static void print_stopped(rs_session *s, int done, int rows, int cols)
{
	if (done < rows * cols)
		session_printf(s, "stopped after %d of %d cells; '-' marks those not computed\n", done, rows * cols);
}

/* Whether a grid prints as a heatmap: it is wider than the screen's output
 * (batch mode has no width) and --values did not ask for the numbers. */
static int grid_values; /* --values of the sweep being run */

static void print_heat(rs_session *s, const float *v, int rows, int cols, const char *row_name, const char *col_name)
{
	/* the screen's ASCII diverging scale, by magnitude over the largest |x| */
	static const char *const pos[] = {".", "+", "*", "#"}, *const neg[] = {".", "-", "=", "~"};
	float mx = 0;
	for (size_t i = 0; i < (size_t)rows * cols; i++)
		if (!isnan(v[i]) && fabsf(v[i]) > mx)
			mx = fabsf(v[i]);
	session_printf(s, "heatmap, %s (rows) x %s (columns), 2 characters a cell; --values prints the numbers\n",
		       row_name, col_name);
	session_printf(s, "scale: . near 0, + * # up to %+.4f, - = ~ down to %+.4f, blank not computed\n", mx, -mx);
	session_printf(s, "%-6s", row_name);
	for (int c = 0; c < cols; c += 5)
		session_printf(s, "%-10d", c);
	session_printf(s, "\n");
	for (int r = 0; r < rows; r++) {
		session_printf(s, "%-6d", r);
		for (int c = 0; c < cols; c++) {
			float x = v[(size_t)r * cols + c];
			if (isnan(x)) {
				session_printf(s, "  ");
				continue;
			}
			int lv = mx > 0 ? (int)(fabsf(x) / mx * 3.999f) : 0;
			lv = lv < 0 ? 0 : lv > 3 ? 3 : lv;
			const char *g = x < 0 ? neg[lv] : pos[lv];
			session_printf(s, "%s%s", g, g);
		}
		session_printf(s, "\n");
	}
}

static void print_grid(rs_session *s, const float *v, int rows, int cols, const char *row_name, const char *col_name)
{
	cmd_print_grid(s, v, rows, cols, row_name, col_name, grid_values);
}

void cmd_print_grid(rs_session *s, const float *v, int rows, int cols, const char *row_name, const char *col_name,
		    int values)
{
	if (s->out_cols > 0 && !values && 6 + cols * 9 > s->out_cols && 6 + cols * 2 <= s->out_cols) {
		print_heat(s, v, rows, cols, row_name, col_name);
		return;
	}
	session_printf(s, "%-6s", row_name);
	for (int c = 0; c < cols; c++) {
		char label[32];
		snprintf(label, sizeof label, "%s%d", col_name, c);
		session_printf(s, " %8s", cols == 1 ? "" : label);
	}
	session_printf(s, "\n");
	for (int r = 0; r < rows; r++) {
		session_printf(s, "%-6d", r);
		for (int c = 0; c < cols; c++) {
			float x = v[(size_t)r * cols + c];
			if (isnan(x))
				session_printf(s, " %8s", "-");
			else
				session_printf(s, " %8.4f", clean_zero(x));
		}
		session_printf(s, "\n");
	}
}

/* The model's top next token at position pos (-1: the last) of a prompt. */
int32_t cmd_top_token(rs_session *s, const int32_t *ids, int n, int pos, rs_err *err)
{
	rs_engine *e = cmd_scratch_engine(s, 0, err);
	int32_t best = -1;
	if (e && eng_set_prompt(e, ids, n, err) == 0) {
		eng_set_cache_filter(e, "logits");
		eng_run(e);
		int t, V = s->model->cfg.vocab;
		const rs_act *lg = eng_act(e, (rs_hook){HOOK_LOGITS, -1});
		vec_topk(lg->data + (size_t)(pos < 0 ? n - 1 : pos) * V, V, 1, 0, &t);
		best = t;
	}
	eng_free(e);
	return best;
}

int cmd_default_metric(rs_session *s, const int32_t *clean, int n, interp_metric *mt, const char *name, rs_err *err)
{
	if (n != s->n_ids)
		return cmd_fail(err, name, "the other prompt has %d tokens and this one %d: patching needs the same length",
				n, s->n_ids), -1;
	if (mt->tok >= 0)
		return 0;
	/* the clean top token against the corrupted one: ARENA's logit difference */
	int32_t tc = cmd_top_token(s, clean, n, mt->pos, err), tr = tc < 0 ? -1 : cmd_top_token(s, s->ids, n, mt->pos, err);
	if (tc < 0 || tr < 0)
		return cmd_fail(err, name, "%s", err->msg), -1;
	mt->tok = tc;
	if (mt->tok_b < 0)
		mt->tok_b = tr == tc ? -1 : tr;
	return 0;
}

static cmd_status sweep_patch(rs_session *s, int argc, char **argv, rs_err *err)
{
	/* sweep patch HOOK [--heads [--pos P]] from PROMPT */
	int heads = cmd_take_flag(&argc, argv, "--heads"), m, pos = -1, from = -1, as_ids = 0;
	const char *ps = cmd_take_opt(&argc, argv, "--pos", &m);
	interp_metric mt;
	if (m)
		return cmd_usage(err, argv[0], "--pos needs a position");
	if (cmd_take_metric(s, &argc, argv, &mt, err))
		return CMD_ERROR;
	for (int i = 2; i < argc && from < 0; i++)
		if (!strcmp(argv[i], "from"))
			from = i;
	if (from != 3 || from + 1 >= argc)
		return cmd_usage(err, argv[0], "sweep patch needs a hook kind and from PROMPT");
	as_ids = !strcmp(argv[from + 1], "--ids");
	if (from + 1 + as_ids >= argc)
		return cmd_usage(err, argv[0], "the clean prompt is missing");
	rs_hook h;
	if (cmd_arg_hook(s, argv[2], argv[0], &h, err))
		return CMD_ERROR;
	if (ps && cmd_arg_index(ps, s->n_ids, argv[0], "position", &pos, err))
		return CMD_ERROR;
	int32_t *clean;
	int n;
	if (cmd_arg_prompt(s, cmd_text(argc, argv, from + 1 + as_ids), as_ids, argv[0], &clean, &n, err))
		return CMD_ERROR;
	cmd_status st = CMD_ERROR;
	if (cmd_default_metric(s, clean, n, &mt, argv[0], err))
		goto out;
	rs_err e2;
	patch_ctx *p = patch_create(s->model, clean, s->ids, n, &mt, &e2);
	if (!p) {
		cmd_fail(err, argv[0], "%s", e2.msg);
		goto out;
	}
	patch_set_stop(p, s->interrupt, s->interrupt_ctx); /* Esc in the screen */
	patch_sweep *sw = heads ? patch_sweep_heads(p, h.kind, pos, &e2) : patch_sweep_pos(p, h.kind, &e2);
	if (!sw) {
		cmd_usage(err, argv[0], "%s", e2.msg);
	} else {
		cmd_print_metric(s, &mt);
		session_printf(s, "clean %.4f, corrupted (this prompt) %.4f; patching %s from the clean run, "
				  "normalised: 0 = corrupted, 1 = clean\n",
			       sw->clean, sw->corrupt, hook_kind_name(h.kind));
		print_stopped(s, sw->done, sw->rows, sw->cols);
		/* columns: query heads, kv heads (k, v, rot_k) or positions */
		session_printf(s, "rows: layers; columns: %s\n",
			       !heads ? "positions (p)" : cmd_hook_kv(h.kind) ? "kv heads (kv)" : "query heads (h)");
		print_grid(s, sw->norm, sw->rows, sw->cols, "layer",
			   !heads ? "p" : cmd_hook_kv(h.kind) ? "kv" : "h");
		patch_sweep_free(sw);
		st = CMD_OK;
	}
	patch_free(p);
out:
	free(clean);
	return st;
}

static cmd_status sweep_ablate(rs_session *s, int argc, char **argv, rs_err *err)
{
	/* sweep ablate heads|attn|mlp [zero|mean] */
	int mean = 0;
	interp_metric mt;
	if (cmd_take_metric(s, &argc, argv, &mt, err))
		return CMD_ERROR;
	if (argc == 4 && (!strcmp(argv[3], "mean") || !strcmp(argv[3], "zero")))
		mean = argv[--argc][0] == 'm';
	if (argc != 3)
		return cmd_usage(err, argv[0], "sweep ablate needs heads, attn or mlp");
	int site = !strcmp(argv[2], "heads") ? ABL_HEAD : !strcmp(argv[2], "attn") ? ABL_ATTN
						: !strcmp(argv[2], "mlp") ? ABL_MLP : -1;
	if (site < 0)
		return cmd_usage(err, argv[0], "'%.40s' is not heads, attn or mlp", argv[2]);
	if (mt.tok < 0 && (mt.tok = cmd_top_token(s, s->ids, s->n_ids, mt.pos, err)) < 0)
		return cmd_fail(err, argv[0], "%s", err->msg);
	rs_err e2;
	abl_sweep *sw = abl_sweep_run(s->model, s->ids, s->n_ids, site, mean, &mt, s->interrupt, s->interrupt_ctx,
				      &e2);
	if (!sw)
		return cmd_fail(err, argv[0], "%s", e2.msg);
	cmd_print_metric(s, &mt);
	session_printf(s, "without ablation %.4f; change when each %s is %s-ablated:\n", sw->base,
		       site == ABL_HEAD ? "head" : site == ABL_ATTN ? "attention layer" : "MLP", mean ? "mean" : "zero");
	print_stopped(s, sw->done, sw->rows, sw->cols);
	print_grid(s, sw->delta, sw->rows, sw->cols, "layer", site == ABL_HEAD ? "h" : "");
	abl_sweep_free(sw);
	return CMD_OK;
}

cmd_status cmd_sweep_run(rs_session *s, int argc, char **argv, rs_err *err)
{
	grid_values = cmd_take_flag(&argc, argv, "--values");
	if (cmd_need_prompt(s, argv[0], err))
		return CMD_ERROR;
	if (argc >= 2 && !strcmp(argv[1], "patch"))
		return sweep_patch(s, argc, argv, err);
	if (argc >= 2 && !strcmp(argv[1], "ablate"))
		return sweep_ablate(s, argc, argv, err);
	return cmd_usage(err, argv[0], "say patch or ablate");
}
