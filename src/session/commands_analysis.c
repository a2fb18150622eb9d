/* commands_analysis.c - the analyses of interp/ as commands: logit lens,
 * direct logit attribution, head scores, repeated tokens, comparing prompts.
 * The analyses read the session's engine (with its interventions); they need
 * the whole pass, so the engine computes ahead while the view stays put. */
#include "config.h"
#include "commands_internal.h"
#include "interp.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Runs the session's pass to the end (the view does not move). */
static int need_full_pass(rs_session *s, const char *name, rs_err *err)
{
	if (cmd_need_prompt(s, name, err))
		return -1;
	if (!eng_done(s->eng)) {
		eng_run(s->eng);
		s->version++;
	}
	return 0;
}

/* A token cell of at most w display columns (UTF-8 aware), padded. */
static void print_cell(rs_session *s, const char *text, int w)
{
	int cols = 0;
	size_t i = 0;
	while (text[i] && cols < w) {
		size_t step = 1;
		while (text[i + step] && ((unsigned char)text[i + step] & 0xc0) == 0x80)
			step++;
		session_printf(s, "%.*s", (int)step, text + i);
		i += step;
		cols++;
	}
	session_printf(s, "%*s", w - cols, "");
}

/* ---------------------------------------------------------------- lens */
/* A grid of values in [0, 1] as a heatmap, 2 characters a cell, in the
 * screen's ASCII sequential scale: for grids wider than the screen's output. */
static void print_heat01(rs_session *s, const float *v, int rows, int cols, const char *const *row_names,
			 const char *row_title)
{
	static const char ramp[] = ".:-=+*#%@";
	int lw = (int)strlen(row_title);
	for (int r = 0; r < rows; r++)
		if ((int)strlen(row_names[r]) > lw)
			lw = (int)strlen(row_names[r]);
	session_printf(s, "%-*s ", lw, row_title);
	for (int c = 0; c < cols; c += 5)
		session_printf(s, "%-10d", c);
	session_printf(s, "\n");
	for (int r = 0; r < rows; r++) {
		session_printf(s, "%-*s ", lw, row_names[r]);
		for (int c = 0; c < cols; c++) {
			float x = v[(size_t)r * cols + c];
			int lv = isnan(x) ? -1 : (int)(x * 8.999f);
			char g = lv < 0 ? ' ' : ramp[lv > 8 ? 8 : lv];
			session_printf(s, "%c%c", g, g);
		}
		session_printf(s, "\n");
	}
	session_printf(s, "scale: . 0 : - = + * # %% @ 1\n");
}

static cmd_status c_lens(rs_session *s, int argc, char **argv, rs_err *err)
{
	int all = cmd_take_flag(&argc, argv, "--all"), miss;
	int values = cmd_take_flag(&argc, argv, "--values");
	const char *ts = cmd_take_opt(&argc, argv, "--target", &miss);
	if (miss)
		return cmd_usage(err, argv[0], "--target needs a token");
	if (cmd_no_more_flags(argc, argv, err))
		return CMD_ERROR;
	if (argc > 2 || (all && argc > 1))
		return cmd_usage(err, argv[0], "give one position, or --all");
	if (cmd_need_prompt(s, argv[0], err))
		return CMD_ERROR;
	lens_opts o = {.sites = 0, .pos = all ? -1 : s->sel_pos, .top_k = all ? 1 : 3, .target = LENS_TARGET_FINAL};
	if (argc == 2 && cmd_arg_index(argv[1], s->n_ids, argv[0], "position", &o.pos, err))
		return CMD_ERROR;
	if (ts && cmd_arg_token(s, ts, argv[0], &o.token, err))
		return CMD_ERROR;
	if (ts)
		o.target = LENS_TARGET_TOKEN;
	if (need_full_pass(s, argv[0], err))
		return CMD_ERROR;
	rs_err e2;
	lens_result *r = lens_run(s->eng, &o, &e2);
	if (!r)
		return cmd_fail(err, argv[0], "%s", e2.msg);
	char tb[160], hn[96];
	if (all && s->out_cols > 0 && !values && 26 + r->n_pos * 11 > s->out_cols) {
		/* wider than the screen: the top token's probability as a heatmap */
		float *g = rs_xmalloc(sizeof(float) * (size_t)r->n_sites * r->n_pos);
		char **names = rs_xcalloc((size_t)r->n_sites, sizeof *names);
		char nb[96];
		for (int si = 0; si < r->n_sites; si++) {
			names[si] = rs_xstrdup(hook_name(r->sites[si], hn, sizeof hn));
			if (!strncmp(names[si], "blocks.", 7)) /* the screen's short form */
				snprintf(nb, sizeof nb, "%s", names[si] + 7), free(names[si]), names[si] = rs_xstrdup(nb);
			for (int p = 0; p < r->n_pos; p++)
				g[(size_t)si * r->n_pos + p] = r->top_probs[lens_cell(r, si, p) * r->top_k];
		}
		session_printf(s, "logit lens: the top token's probability per site (rows) and position (columns); "
				  "lens --all --values prints the tokens\n");
		print_heat01(s, g, r->n_sites, r->n_pos, (const char *const *)names, "site");
		for (int si = 0; si < r->n_sites; si++)
			free(names[si]);
		free(names);
		free(g);
		lens_free(r);
		return CMD_OK;
	}
	if (all) {
		session_printf(s, "logit lens: top token per site (rows) and position (columns)\n%-26s", "");
		for (int p = 0; p < r->n_pos; p++)
			session_printf(s, " %-10d", r->positions[p]);
		session_printf(s, "\n");
		for (int si = 0; si < r->n_sites; si++) {
			session_printf(s, "%-26s", hook_name(r->sites[si], hn, sizeof hn));
			for (int p = 0; p < r->n_pos; p++) {
				session_printf(s, " ");
				print_cell(s, cmd_fmt_token(s, r->top_ids[lens_cell(r, si, p) * r->top_k], tb, sizeof tb), 10);
			}
			session_printf(s, "\n");
		}
		lens_free(r);
		return CMD_OK;
	}
	int p = r->positions[0];
	session_printf(s, "logit lens at pos %d %s; target %s (%s)\n", p, cmd_fmt_token(s, s->ids[p], tb, sizeof tb),
		       cmd_fmt_token(s, r->targets[0], hn, sizeof hn), ts ? "given" : "the model's final top token");
	for (int si = 0; si < r->n_sites; si++) {
		int64_t c = lens_cell(r, si, 0);
		session_printf(s, "%-26s", hook_name(r->sites[si], hn, sizeof hn));
		for (int k = 0; k < r->top_k; k++) {
			session_printf(s, " ");
			print_cell(s, cmd_fmt_token(s, r->top_ids[c * r->top_k + k], tb, sizeof tb), 12);
			session_printf(s, " %.4f", r->top_probs[c * r->top_k + k]);
		}
		session_printf(s, " | target p %.4f rank %d | KL %.4f\n", r->target_prob[c], r->target_rank[c],
			       clean_zero(r->kl[c]));
	}
	lens_free(r);
	return CMD_OK;
}

/* ---------------------------------------------------------------- dla */
static cmd_status c_dla(rs_session *s, int argc, char **argv, rs_err *err)
{
	int m1, m2;
	const char *vs = cmd_take_opt(&argc, argv, "--vs", &m1), *ks = cmd_take_opt(&argc, argv, "--top", &m2);
	if (m1 || m2)
		return cmd_usage(err, argv[0], "--vs needs a token and --top a count");
	if (cmd_no_more_flags(argc, argv, err) || cmd_need_prompt(s, argv[0], err))
		return CMD_ERROR;
	if (argc > 3)
		return cmd_usage(err, argv[0], "too many arguments");
	interp_metric mt = {s->sel_pos, -1, -1};
	long top = 10;
	if (argc >= 2 && cmd_arg_index(argv[1], s->n_ids, argv[0], "position", &mt.pos, err))
		return CMD_ERROR;
	if ((argc == 3 && cmd_arg_token(s, argv[2], argv[0], &mt.tok, err)) ||
	    (vs && cmd_arg_token(s, vs, argv[0], &mt.tok_b, err)) || (ks && cmd_arg_long(ks, 1, 100000, argv[0], "count", &top, err)))
		return CMD_ERROR;
	if (need_full_pass(s, argv[0], err))
		return CMD_ERROR;
	if (mt.tok < 0) { /* the model's own prediction at the position */
		const rs_act *lg = eng_act(s->eng, (rs_hook){HOOK_LOGITS, -1});
		int row = lg ? mt.pos - (s->n_ids - lg->shape[0]) : -1;
		if (row < 0)
			return cmd_fail(err, argv[0], "the logits of position %d are not cached: name a token", mt.pos);
		int t;
		vec_topk(lg->data + (size_t)row * lg->shape[1], lg->shape[1], 1, 0, &t);
		mt.tok = t;
	}
	rs_err e2;
	dla_result *r = dla_run(s->eng, &mt, &e2);
	if (!r)
		return cmd_fail(err, argv[0], "%s", e2.msg);
	char ta[160], tb[160], pb[160];
	session_printf(s, "direct logit attribution at pos %d %s: logit of %s", r->pos,
		       cmd_fmt_token(s, s->ids[r->pos], pb, sizeof pb), cmd_fmt_token(s, r->tok, ta, sizeof ta));
	if (r->tok_b >= 0)
		session_printf(s, " minus %s", cmd_fmt_token(s, r->tok_b, tb, sizeof tb));
	session_printf(s, " = %.4f\nfinal norm scale %.4f; components sum to %.4f, remainder %.4f\n", r->logit, r->scale,
		       r->total, clean_zero(r->remainder));
	float *v = rs_xmalloc(sizeof(float) * (size_t)r->n);
	int *idx = rs_xmalloc(sizeof(int) * (size_t)r->n);
	for (int i = 0; i < r->n; i++)
		v[i] = r->comp[i].value;
	int k = vec_topk(v, r->n, (int)top, 1, idx);
	session_printf(s, "largest contributions (of %d):\n", r->n);
	for (int i = 0; i < k; i++) {
		char cn[32];
		session_printf(s, "  %-10s %+.4f\n", dla_component_name(&r->comp[idx[i]], cn, sizeof cn), v[idx[i]]);
	}
	free(idx);
	free(v);
	dla_free(r);
	return CMD_OK;
}

/* ---------------------------------------------------------------- heads */
static const char *const score_names[] = {"prev", "dup", "induction", "first", "entropy"};

static void print_head_table(rs_session *s, const head_scores *hs, int by, int top)
{
	int n = hs->n_layers * hs->n_heads;
	const float *cols[5] = {hs->prev, hs->dup, hs->induction, hs->first, hs->entropy};
	int *idx = rs_xmalloc(sizeof(int) * (size_t)n);
	int k = n;
	if (by >= 0)
		k = vec_topk(cols[by], n, top, 0, idx);
	else
		for (int i = 0; i < n; i++)
			idx[i] = i;
	/* how many queries each column's mean rests on; fewer than 5: marked "?" */
	int nq[5] = {hs->n_q, hs->n_rep, hs->n_rep, hs->n_q, hs->n_q};
	session_printf(s, "layer head     prev      dup  induction    first  entropy\n");
	session_printf(s, "  queries  %7d  %7d  %9d  %7d  %7d\n", nq[0], nq[1], nq[2], nq[3], nq[4]);
	int few = 0;
	for (int i = 0; i < k; i++) {
		int c = idx[i];
		session_printf(s, "%5d %4d", c / hs->n_heads, c % hs->n_heads);
		for (int j = 0; j < 5; j++) {
			if (isnan(cols[j][c]))
				session_printf(s, " %*s", j == 2 ? 10 : 8, "-");
			else if (nq[j] < 5)
				session_printf(s, " %*.4f?", j == 2 ? 9 : 7, cols[j][c]), few = 1;
			else
				session_printf(s, " %*.4f", j == 2 ? 10 : 8, cols[j][c]);
		}
		session_printf(s, "\n");
	}
	if (few)
		session_printf(s, "?: the mean rests on fewer than 5 queries; a longer or repeated prompt gives a surer score\n");
	free(idx);
}

/* The scores as layer x head heatmaps, side by side as the screen's width
 * allows: for a screen, where the table of every head is long. */
static void print_head_heat(rs_session *s, const head_scores *hs)
{
	static const char ramp[] = ".:-=+*#%@";
	const float *cols[5] = {hs->prev, hs->dup, hs->induction, hs->first, hs->entropy};
	int nq[5] = {hs->n_q, hs->n_rep, hs->n_rep, hs->n_q, hs->n_q};
	int L = hs->n_layers, H = hs->n_heads;
	int gw = H * 2 > 9 ? H * 2 : 9, per = (s->out_cols - 4) / (gw + 2);
	if (per < 1)
		per = 1;
	float emax = hs->T > 1 ? logf((float)hs->T) : 1;
	for (int j0 = 0; j0 < 5; j0 += per) {
		int j1 = j0 + per < 5 ? j0 + per : 5;
		session_printf(s, "    ");
		for (int j = j0; j < j1; j++)
			session_printf(s, "%-*s  ", gw, score_names[j]);
		session_printf(s, "\n");
		for (int l = 0; l < L; l++) {
			session_printf(s, "L%-3d", l);
			for (int j = j0; j < j1; j++) {
				for (int h = 0; h < H; h++) {
					float x = cols[j][(size_t)l * H + h];
					if (j == 4)
						x /= emax;
					int lv = isnan(x) ? -1 : (int)(x * 8.999f);
					char g = lv < 0 ? ' ' : ramp[lv > 8 ? 8 : lv < 0 ? 0 : lv];
					session_printf(s, "%c%c", g, g);
				}
				session_printf(s, "%*s  ", gw - H * 2, "");
			}
			session_printf(s, "\n");
		}
	}
	session_printf(s, "layer (rows) x head (columns, 2 characters each); scale: . 0 : - = + * # %% @ 1 (entropy: @ = "
			  "ln %d = %.2f nats)\n", hs->T, emax);
	session_printf(s, "queries each rests on: prev, first, entropy %d; dup, induction %d%s\n", nq[0], nq[1],
		       nq[1] < 5 ? " (fewer than 5: unsure)" : "");
	session_printf(s, "heads --values prints the numbers; heads SCORE --top N the best heads\n");
}

static cmd_status c_heads(rs_session *s, int argc, char **argv, rs_err *err)
{
	int miss;
	int values = cmd_take_flag(&argc, argv, "--values");
	const char *ts = cmd_take_opt(&argc, argv, "--top", &miss);
	if (miss)
		return cmd_usage(err, argv[0], "--top needs a count");
	if (cmd_no_more_flags(argc, argv, err) || cmd_need_prompt(s, argv[0], err))
		return CMD_ERROR;
	if (argc > 2)
		return cmd_usage(err, argv[0], "give at most one score to sort by");
	int by = -1;
	long top = 10;
	for (int j = 0; argc == 2 && j < 5; j++)
		if (!strcmp(argv[1], score_names[j]))
			by = j;
	if (argc == 2 && by < 0)
		return cmd_usage(err, argv[0], "no score '%.40s' (prev, dup, induction, first, entropy)", argv[1]);
	if (ts && cmd_arg_long(ts, 1, 1 << 20, argv[0], "count", &top, err))
		return CMD_ERROR;
	if (by < 0 && ts)
		by = 2; /* --top alone: the induction heads */
	if (need_full_pass(s, argv[0], err))
		return CMD_ERROR;
	rs_err e2;
	head_scores *hs = heads_score(s->eng, &e2);
	if (!hs)
		return cmd_fail(err, argv[0], "%s", e2.msg);
	session_printf(s, "head scores on this prompt (%d tokens): mean attention to the previous token, to earlier "
			  "copies of the token (dup), to the token after them (induction), to position 0; entropy in nats\n",
		       hs->T);
	if (by < 0 && !values && s->out_cols > 0)
		print_head_heat(s, hs);
	else
		print_head_table(s, hs, by, (int)top);
	if (isnan(hs->dup[0]))
		session_printf(s, "no token repeats in this prompt, so dup and induction are undefined (try repeat)\n");
	heads_free(hs);
	return CMD_OK;
}

/* ---------------------------------------------------------------- repeated tokens */
static cmd_status c_repeat(rs_session *s, int argc, char **argv, rs_err *err)
{
	int use = cmd_take_flag(&argc, argv, "--use"), no_bos = cmd_take_flag(&argc, argv, "--no-bos"), miss;
	const char *ss = cmd_take_opt(&argc, argv, "--seed", &miss);
	if (miss)
		return cmd_usage(err, argv[0], "--seed needs a number");
	if (cmd_no_more_flags(argc, argv, err))
		return CMD_ERROR;
	if (argc > 2)
		return cmd_usage(err, argv[0], "give at most one length");
	long n = 20, seed = 1;
	if ((argc == 2 && cmd_arg_long(argv[1], 2, 1000, argv[0], "length", &n, err)) ||
	    (ss && cmd_arg_long(ss, 0, INT32_MAX, argv[0], "seed", &seed, err)))
		return CMD_ERROR;
	rep_opts o = {.n = (int)n, .no_bos = no_bos, .seed = (uint64_t)seed};
	rs_err e2;
	rep_result *r = rep_run(s->model, &o, &e2);
	if (!r)
		return cmd_fail(err, argv[0], "%s", e2.msg);
	session_printf(s, "%ld random tokens repeated (%d tokens, seed %ld)\nloss on the first half %.4f, on the second "
			  "half %.4f\n", n, r->T, seed, r->loss_first, r->loss_second);
	print_head_table(s, r->scores, 2, 5);
	cmd_status st = CMD_OK;
	if (use) {
		if (session_set_ids(s, r->tokens, r->T, &e2))
			st = cmd_fail(err, argv[0], "%s", e2.msg);
		else
			session_printf(s, "the prompt is now these %d tokens\n", r->T);
	}
	rep_free(r);
	return st;
}

/* ---------------------------------------------------------------- compare */
static cmd_status c_compare(rs_session *s, int argc, char **argv, rs_err *err)
{
	int as_ids = cmd_take_flag(&argc, argv, "--ids");
	if (cmd_no_more_flags(argc, argv, err))
		return CMD_ERROR;
	if (argc != 3)
		return cmd_usage(err, argv[0], "give two prompts (quote each)");
	const rs_config *c = &s->model->cfg;
	int32_t *ids[2] = {NULL, NULL};
	int n[2];
	rs_engine *e[2] = {NULL, NULL};
	cmd_status st = CMD_ERROR;
	char tb[160];
	for (int k = 0; k < 2; k++) {
		if (cmd_arg_prompt(s, argv[1 + k], as_ids, argv[0], &ids[k], &n[k], err))
			goto out;
		if (!(e[k] = cmd_scratch_engine(s, 1, err)))
			goto out;
		eng_set_cache_filter(e[k], "blocks.*.hook_resid_post,logits");
		eng_set_logits_all(e[k], 0);
		if (eng_set_prompt(e[k], ids[k], n[k], err)) {
			cmd_fail(err, argv[0], "%s", err->msg);
			goto out;
		}
		eng_run(e[k]);
		session_printf(s, "%c: %d tokens:", 'A' + k, n[k]);
		for (int i = 0; i < n[k]; i++)
			session_printf(s, " %s", cmd_fmt_token(s, ids[k][i], tb, sizeof tb));
		session_printf(s, "\n");
	}
	if (eng_n_interventions(s->eng))
		session_printf(s, "(both runs with the %d interventions in effect)\n", eng_n_interventions(s->eng));
	session_printf(s, "next token after the last position:\n");
	int top[2][5], kk[2];
	double *p[2];
	for (int k = 0; k < 2; k++) {
		const float *lg = eng_last_logits(e[k]);
		p[k] = rs_xmalloc(sizeof(double) * (size_t)c->vocab);
		vec_softmax_d(lg, c->vocab, p[k]);
		kk[k] = vec_topk(lg, c->vocab, 5, 0, top[k]);
	}
	for (int i = 0; i < kk[0] && i < kk[1]; i++) {
		session_printf(s, "%3d  ", i + 1);
		print_cell(s, cmd_fmt_token(s, top[0][i], tb, sizeof tb), 16);
		session_printf(s, " %.4f   ", p[0][top[0][i]]);
		print_cell(s, cmd_fmt_token(s, top[1][i], tb, sizeof tb), 16);
		session_printf(s, " %.4f\n", p[1][top[1][i]]);
	}
	double tv = 0;
	for (int v = 0; v < c->vocab; v++)
		tv += fabs(p[0][v] - p[1][v]);
	session_printf(s, "total variation distance %.4f\n", tv / 2);
	free(p[0]);
	free(p[1]);
	session_printf(s, "residual stream after each layer, last positions:\n");
	for (int l = 0; l < c->n_layers; l++) {
		const rs_act *a = eng_act(e[0], (rs_hook){HOOK_RESID_POST, l});
		const rs_act *b = eng_act(e[1], (rs_hook){HOOK_RESID_POST, l});
		int d = c->d_model;
		const float *x = a->data + (size_t)(n[0] - 1) * d, *y = b->data + (size_t)(n[1] - 1) * d;
		double xx = 0, yy = 0, xy = 0, dd = 0;
		for (int i = 0; i < d; i++) {
			xx += (double)x[i] * x[i];
			yy += (double)y[i] * y[i];
			xy += (double)x[i] * y[i];
			dd += ((double)x[i] - y[i]) * ((double)x[i] - y[i]);
		}
		char hn[96];
		session_printf(s, "%-26s |A| %.4f  |B| %.4f  |A-B| %.4f  cos %.4f\n",
			       hook_name((rs_hook){HOOK_RESID_POST, l}, hn, sizeof hn), sqrt(xx), sqrt(yy), sqrt(dd),
			       xx > 0 && yy > 0 ? xy / sqrt(xx * yy) : 0.0);
	}
	st = CMD_OK;
out:
	for (int k = 0; k < 2; k++) {
		free(ids[k]);
		eng_free(e[k]);
	}
	return st;
}

/* ---------------------------------------------------------------- table */
#define A(...) {__VA_ARGS__}

const cmd_def cmds_analysis[] = {
	{"lens", "[POS] [--target TOKEN] | --all [--values]", "logit lens: what each layer would predict",
	 "Reads the residual stream before and after each attention layer (and after the last layer) through the "
	 "final norm and the unembedding, at POS (default: the selected position): the top tokens with their "
	 "probabilities, the probability and rank of the target (default: the model's final prediction) and the "
	 "KL divergence from the final distribution. --all shows the top token for every position (on a screen "
	 "too narrow for that table, a heatmap of its probability; --values prints the tokens). Runs the pass "
	 "to the end if needed.",
	 A(ARG_POS), NULL, c_lens, "--all --target --values", "Analyses", CMD_REPLAY | CMD_VIEW},
	{"dla", "[POS] [TOKEN] [--vs TOKEN] [--top N]", "direct logit attribution to heads and MLPs",
	 "Splits the logit of TOKEN (default: the model's prediction) at POS into the embedding, every head and "
	 "every MLP, with the final norm's scale frozen; --vs TOKEN attributes the logit difference. Shows the "
	 "N (default 10) largest contributions by magnitude.",
	 A(ARG_POS, ARG_TOKEN), NULL, c_dla, "--vs --top", NULL, CMD_REPLAY | CMD_VIEW},
	{"heads", "[prev|dup|induction|first|entropy] [--top N] [--values]", "score every head: previous-token, induction...",
	 "From this prompt's attention patterns: mean attention to the previous token, to earlier copies of the "
	 "current token (duplicate-token heads), to the tokens after those copies (induction heads), to position "
	 "0, and the mean entropy, with how many queries each mean rests on (? marks fewer than 5). Name a score "
	 "to sort by it. On the screen, without a score, layer x head heatmaps; --values prints the table.",
	 A(ARG_WORD), "prev dup induction first entropy", c_heads, "--top --values", NULL, CMD_REPLAY | CMD_VIEW},
	{"repeat", "[N] [--seed S] [--no-bos] [--use]", "repeated random tokens: the induction test",
	 "Runs BOS and N (default 20) random tokens twice: a model with induction heads predicts the second half "
	 "far better. Shows the loss on each half and the heads with the highest induction scores. --use makes "
	 "these tokens the prompt.",
	 A(ARG_NUMBER), NULL, c_repeat, "--seed --no-bos --use", NULL, CMD_REPLAY},
	{"compare", "PROMPT_A PROMPT_B [--ids]", "two prompts side by side",
	 "Runs both prompts (quote each; --ids for token id lists) with the interventions in effect and shows "
	 "their top next tokens, how far the two distributions are apart, and how the residual streams at the "
	 "last positions differ after each layer.",
	 A(ARG_TEXT, ARG_TEXT), NULL, c_compare, "--ids", NULL, CMD_REPLAY | CMD_VIEW},
	{0},
};
