/* commands_circuits.c - `circuit`, `composition` and `path-patch`: circuits
 * read from the weights and path patching (interp/circuit.c, pathpatch.c).
 * They run on the clean model, so the session's pass and interventions are
 * left alone. `attrib` is in commands_attrib.c. */
#include "config.h"
#include "circuits.h"
#include "commands_internal.h"
#include "tokenizer.h"

#include <cJSON.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Prints a cJSON value and frees it. */
static void print_json(rs_session *s, cJSON *j)
{
	char *txt = cJSON_Print(j);
	session_printf(s, "%s\n", txt ? txt : "null");
	free(txt);
	cJSON_Delete(j);
}

static const char *tok_text(void *ud, int32_t id)
{
	static char buf[160];
	return cmd_fmt_token(ud, id, buf, sizeof buf);
}

/* ---------------------------------------------------------------- circuit */
/* The token set: --tokens TEXT (tokenized without BOS, each distinct token
 * once), --ids LIST, or the distinct tokens of the session's prompt but BOS. */
static int token_set(rs_session *s, const char *text, const char *ids, const char *name, int32_t **out, int *n,
		     rs_err *err)
{
	int32_t *raw = NULL;
	int nr = 0;
	if (ids) {
		char *argv[2] = {(char *)ids, NULL};
		if (cmd_arg_ids(1, argv, 0, name, &raw, &nr, err))
			return -1;
	} else if (text) {
		if (!s->tok)
			return cmd_usage(err, name, "--tokens needs a tokenizer; give --ids"), -1;
		rs_err e2;
		if (tok_encode(s->tok, text, strlen(text), 0, &raw, NULL, &nr, &e2))
			return cmd_fail(err, name, "--tokens: %s", e2.msg), -1;
	} else {
		if (!s->n_ids)
			return cmd_usage(err, name, "give --tokens TEXT or --ids LIST, or a prompt whose tokens to use"), -1;
		raw = rs_xmalloc(sizeof(int32_t) * (size_t)s->n_ids);
		for (int i = 0; i < s->n_ids; i++)
			if (s->ids[i] != s->model->cfg.bos_id || s->n_ids == 1)
				raw[nr++] = s->ids[i];
	}
	int k = 0;
	for (int i = 0; i < nr; i++) {
		if (raw[i] < 0 || raw[i] >= s->model->cfg.vocab) {
			free(raw);
			return cmd_usage(err, name, "token %d is outside the vocabulary (%d)", raw[i], s->model->cfg.vocab), -1;
		}
		int seen = 0;
		for (int j = 0; j < k && !seen; j++)
			seen = raw[j] == raw[i];
		if (!seen)
			raw[k++] = raw[i];
	}
	if (!k) {
		free(raw);
		return cmd_usage(err, name, "the token set is empty"), -1;
	}
	*out = raw;
	*n = k;
	return 0;
}

static void print_matrix(rs_session *s, const circ_result *r)
{
	char a[160];
	session_printf(s, "%-12s", r->kind == CIRC_QK ? "query\\key" : "src\\out");
	for (int b = 0; b < r->n; b++)
		session_printf(s, " %9.9s", cmd_fmt_token(s, r->tokens[b], a, sizeof a));
	session_printf(s, "\n");
	for (int i = 0; i < r->n; i++) {
		session_printf(s, "%-12.12s", cmd_fmt_token(s, r->tokens[i], a, sizeof a));
		for (int b = 0; b < r->n; b++)
			session_printf(s, " %9.3f", clean_zero(r->m[(size_t)i * r->n + b]));
		session_printf(s, "\n");
	}
}

static cmd_status c_circuit(rs_session *s, int argc, char **argv, rs_err *err)
{
	int m[3], json = cmd_take_flag(&argc, argv, "--json");
	const char *text = cmd_take_opt(&argc, argv, "--tokens", &m[0]);
	const char *ids = cmd_take_opt(&argc, argv, "--ids", &m[1]);
	const char *top_s = cmd_take_opt(&argc, argv, "--top", &m[2]);
	if (m[0] || m[1] || m[2])
		return cmd_usage(err, argv[0], "--tokens needs text, --ids a list, --top a number");
	if (cmd_no_more_flags(argc, argv, err))
		return CMD_ERROR;
	if (argc != 4 || (strcmp(argv[1], "qk") && strcmp(argv[1], "ov")))
		return cmd_usage(err, argv[0], "say qk or ov, then a layer and a head");
	const rs_config *c = &s->model->cfg;
	long L, H, top = 10;
	if (cmd_arg_long(argv[2], 0, c->n_layers - 1, argv[0], "layer", &L, err) ||
	    cmd_arg_long(argv[3], 0, c->n_heads - 1, argv[0], "head", &H, err) ||
	    (top_s && cmd_arg_long(top_s, 1, 100, argv[0], "--top", &top, err)))
		return CMD_ERROR;
	int32_t *toks;
	int n;
	if (token_set(s, text, ids, argv[0], &toks, &n, err))
		return CMD_ERROR;
	int kind = argv[1][0] == 'q' ? CIRC_QK : CIRC_OV;
	rs_err e2;
	circ_result *r = circ_run(s->model, kind, (int)L, (int)H, toks, n, &e2);
	free(toks);
	if (!r)
		return cmd_usage(err, argv[0], "%s", e2.msg);
	if (json) {
		print_json(s, circ_to_json(r, tok_text, s));
		circ_free(r);
		return CMD_OK;
	}
	if (kind == CIRC_QK)
		session_printf(s, "QK circuit of L%ldH%ld (kv head %d): W_E W_Q W_K^T W_E^T / sqrt(d_head) over %d tokens, "
				  "the score of a query token (row) on a key token (column) at relative offset 0 (RoPE "
				  "rotates both alike there); ln1's weight folded into W_Q and W_K, embeddings normalised\n",
			       L, H, r->kv_head, n);
	else
		session_printf(s, "OV circuit of L%ldH%ld (kv head %d): W_U W_O W_V W_E over %d tokens, the logit an "
				  "attended source token (row) adds to each output token (column); ln1's weight folded into "
				  "W_V, the final norm's into W_U%s\n",
			       L, H, r->kv_head, n, s->model->cfg.tied ? " (tied: W_U = W_E^T)" : "");
	if (n <= 12)
		print_matrix(s, r);
	/* the largest entries */
	int cells = n * n, k = (int)top < cells ? (int)top : cells;
	int *order = rs_xmalloc(sizeof(int) * (size_t)k);
	vec_topk(r->m, cells, k, 0, order);
	session_printf(s, "top %d entries:\n", k);
	for (int i = 0; i < k; i++) {
		char a[160], b[160];
		int at = order[i];
		session_printf(s, "  %-14s -> %-14s %9.4f\n", cmd_fmt_token(s, r->tokens[at / n], a, sizeof a),
			       cmd_fmt_token(s, r->tokens[at % n], b, sizeof b), r->m[at]);
	}
	free(order);
	session_printf(s, "diagonal largest in its row: %.1f%% of %d tokens (%s)\n", 100.0 * r->diag_share, n,
		       kind == CIRC_QK ? "a token attending to itself most" : "a token raising itself most: copying");
	if (kind == CIRC_OV) {
		if (r->have_eig)
			session_printf(s, "over the whole vocabulary (%d tokens): copying score sum(eig)/sum(|eig|) = %.4f, "
					  "%.1f%% of the %d eigenvalues with a positive real part\n",
				       c->vocab, r->copy_score, 100.0 * r->pos_share, r->n_eig);
		else
			session_printf(s, "eigenvalues: %s\n", r->eig_note);
	}
	circ_free(r);
	return CMD_OK;
}

/* ---------------------------------------------------------------- composition */
static cmd_status c_composition(rs_session *s, int argc, char **argv, rs_err *err)
{
	int m, json = cmd_take_flag(&argc, argv, "--json"), values = cmd_take_flag(&argc, argv, "--values");
	const char *top_s = cmd_take_opt(&argc, argv, "--top", &m);
	if (m)
		return cmd_usage(err, argv[0], "--top needs a number");
	if (cmd_no_more_flags(argc, argv, err))
		return CMD_ERROR;
	int kind = COMP_K, i = 1;
	if (argc > 1 && (!strcmp(argv[1], "q") || !strcmp(argv[1], "k") || !strcmp(argv[1], "v"))) {
		kind = argv[1][0] == 'q' ? COMP_Q : argv[1][0] == 'k' ? COMP_K : COMP_V;
		i = 2;
	}
	const rs_config *c = &s->model->cfg;
	long L = -1, H = -1, top = 10;
	if (argc != i && argc != i + 2)
		return cmd_usage(err, argv[0], "give q, k or v, and optionally a receiving head's layer and head");
	if (argc == i + 2 && (cmd_arg_long(argv[i], 1, c->n_layers - 1, argv[0], "layer (a receiver after layer 0)", &L,
					   err) ||
			      cmd_arg_long(argv[i + 1], 0, c->n_heads - 1, argv[0], "head", &H, err)))
		return CMD_ERROR;
	if (top_s && cmd_arg_long(top_s, 1, 1000, argv[0], "--top", &top, err))
		return CMD_ERROR;
	rs_err e2;
	comp_result *r = comp_run(s->model, kind, &e2);
	if (!r)
		return cmd_fail(err, argv[0], "%s", e2.msg);
	static const char *const kn[] = {"Q", "K", "V"};
	static const char *const what[] = {"the receiver's queries read the sender's output",
					   "the receiver's keys read the sender's output",
					   "the receiver's values read the sender's output"};
	int NH = c->n_layers * c->n_heads;
	if (json) {
		print_json(s, comp_to_json(r));
		comp_free(r);
		return CMD_OK;
	}
	static const char *const formula[] = {"|W_QK^T W_OV| / (|W_QK| |W_OV|)", "|W_QK W_OV| / (|W_QK| |W_OV|)",
					      "|W_OV,recv W_OV,send| / (|W_OV,recv| |W_OV,send|)"};
	session_printf(s, "%s-composition (%s): %s, Frobenius norms, each head's ln1 weight folded in; random "
			  "matrices of these shapes score %.4f on average\n",
		       kn[kind], what[kind], formula[kind], r->baseline);
	if (L >= 0) {
		float *g = rs_xmalloc(sizeof(float) * (size_t)L * c->n_heads);
		for (int j = 0; j < L * c->n_heads; j++)
			g[j] = r->score[(size_t)(L * c->n_heads + H) * NH + j];
		session_printf(s, "receiver L%ldH%ld; rows: the sender's layer, columns: its head (h)\n", L, H);
		cmd_print_grid(s, g, (int)L, c->n_heads, "layer", "h", values);
		free(g);
	} else {
		int n = 0, *order = rs_xmalloc(sizeof(int) * (size_t)NH * NH);
		float *v = rs_xmalloc(sizeof(float) * (size_t)NH * NH);
		for (int j = 0; j < NH * NH; j++)
			v[j] = isnan(r->score[j]) ? -INFINITY : r->score[j];
		for (int j = 0; j < NH * NH; j++)
			n += !isnan(r->score[j]);
		int k = (int)top < n ? (int)top : n;
		vec_topk(v, NH * NH, k, 0, order);
		session_printf(s, "the %d highest of %d pairs (receiver <- sender); composition %s L H shows one "
				  "receiver's grid\n",
			       k, n, kind == COMP_Q ? "q" : kind == COMP_V ? "v" : "k");
		for (int j = 0; j < k; j++) {
			int rv = order[j] / NH, sd = order[j] % NH;
			session_printf(s, "  L%dH%d <- L%dH%d  %.4f\n", rv / c->n_heads, rv % c->n_heads, sd / c->n_heads,
				       sd % c->n_heads, r->score[order[j]]);
		}
		free(order);
		free(v);
	}
	comp_free(r);
	return CMD_OK;
}

/* ---------------------------------------------------------------- path-patch */
/* "L.H", or "L.mlp" (*H = -1) */
static int parse_sender(const rs_config *c, const char *w, int *L, int *H)
{
	char tail;
	int len = 0;
	if (sscanf(w, "%d.mlp%n", L, &len) == 1 && w[len] == 0) {
		*H = -1;
		return *L >= 0 && *L < c->n_layers ? 0 : -1;
	}
	return sscanf(w, "%d.%d%c", L, H, &tail) == 2 && *L >= 0 && *L < c->n_layers && *H >= 0 && *H < c->n_heads
		       ? 0 : -1;
}

static cmd_status c_path_patch(rs_session *s, int argc, char **argv, rs_err *err)
{
	/* path-patch SENDER|senders RECEIVER from PROMPT */
	int json = cmd_take_flag(&argc, argv, "--json"), values = cmd_take_flag(&argc, argv, "--values");
	interp_metric mt;
	if (cmd_need_prompt(s, argv[0], err) || cmd_take_metric(s, &argc, argv, &mt, err))
		return CMD_ERROR;
	if (argc < 5 || strcmp(argv[3], "from"))
		return cmd_usage(err, argv[0], "give a sender (L.H or senders), receivers, then from PROMPT");
	const rs_config *c = &s->model->cfg;
	int sweep = !strcmp(argv[1], "senders"), SL = -1, SH = -1;
	if (!sweep && parse_sender(c, argv[1], &SL, &SH))
		return cmd_usage(err, argv[0], "sender '%.40s' is not a head L.H or an MLP L.mlp of this model (%d layers, "
				 "%d heads)", argv[1], c->n_layers, c->n_heads);
	pp_receiver *recv;
	int nr;
	rs_err e2;
	if (pp_parse_receivers(c, argv[2], SL, !sweep && SH < 0, &recv, &nr, &e2))
		return cmd_usage(err, argv[0], "%s", e2.msg);
	int as_ids = !strcmp(argv[4], "--ids");
	int32_t *src = NULL;
	int n;
	cmd_status st = CMD_ERROR;
	if (4 + as_ids >= argc) {
		cmd_usage(err, argv[0], "the other prompt is missing");
		goto out;
	}
	if (cmd_arg_prompt(s, cmd_text(argc, argv, 4 + as_ids), as_ids, argv[0], &src, &n, err))
		goto out;
	if (cmd_default_metric(s, src, n, &mt, argv[0], err)) /* as sweep patch */
		goto out;
	pp_ctx *p = pp_create(s->model, src, s->ids, n, &mt, &e2);
	if (!p) {
		cmd_fail(err, argv[0], "%s", e2.msg);
		goto out;
	}
	char names[400] = "", one[48];
	for (int i = 0; i < nr && strlen(names) < sizeof names - 60; i++)
		snprintf(names + strlen(names), sizeof names - strlen(names), "%s%s", i ? "," : "",
			 pp_receiver_name(&recv[i], one, sizeof one));
	if (sweep) {
		pp_sweep *sw = pp_sweep_senders(p, recv, nr, s->interrupt, s->interrupt_ctx, &e2);
		if (!sw) {
			cmd_usage(err, argv[0], "%s", e2.msg);
		} else if (json) {
			print_json(s, pp_sweep_to_json(sw, &mt));
			st = CMD_OK;
		} else {
			cmd_print_metric(s, &mt);
			session_printf(s, "this prompt %.4f, the other %.4f; each head's change sent to %s only, "
					  "normalised: 0 = this prompt, 1 = the other\n",
				       sw->base, sw->source, names);
			if (sw->done < sw->rows * sw->cols)
				session_printf(s, "stopped after %d of %d senders\n", sw->done, sw->rows * sw->cols);
			session_printf(s, "rows: the sender's layer; columns: its head (h); '-' cannot send to them\n");
			cmd_print_grid(s, sw->norm, sw->rows, sw->cols, "layer", "h", values);
			st = CMD_OK;
		}
		pp_sweep_free(sw);
	} else {
		float v;
		if (pp_run(p, SL, SH, recv, nr, &v, &e2)) {
			cmd_usage(err, argv[0], "%s", e2.msg);
		} else if (json) {
			cJSON *o = cJSON_CreateObject();
			cJSON_AddItemToObject(o, "metric", interp_metric_to_json(&mt));
			cJSON_AddNumberToObject(o, "sender_layer", SL);
			cJSON_AddNumberToObject(o, "sender_head", SH);
			cJSON_AddStringToObject(o, "receivers", names);
			cJSON_AddNumberToObject(o, "base", pp_base_metric(p));
			cJSON_AddNumberToObject(o, "source", pp_source_metric(p));
			cJSON_AddNumberToObject(o, "patched", v);
			float nv = pp_normalise(p, v);
			if (isfinite(nv))
				cJSON_AddNumberToObject(o, "normalised", nv);
			print_json(s, o);
			st = CMD_OK;
		} else {
			cmd_print_metric(s, &mt);
			session_printf(s, "this prompt %.4f, the other %.4f\n", pp_base_metric(p), pp_source_metric(p));
			char sn[32];
			if (SH < 0)
				snprintf(sn, sizeof sn, "L%d MLP", SL);
			else
				snprintf(sn, sizeof sn, "L%dH%d", SL, SH);
			session_printf(s, "%s's change sent to %s only: %.4f (normalised %.4f: 0 = this prompt, 1 = the "
					  "other)\n",
				       sn, names, v, pp_normalise(p, v));
			st = CMD_OK;
		}
	}
	pp_free(p);
out:
	free(src);
	free(recv);
	return st;
}

/* ---------------------------------------------------------------- table */
#define A(...) {__VA_ARGS__}

const cmd_def cmds_circuits[] = {
	{"circuit", "qk|ov L H [--tokens TEXT | --ids LIST] [--top K] [--json]",
	 "a head's QK or OV circuit read from the weights",
	 "circuit qk L H: W_E W_Q W_K^T W_E^T / sqrt(d_head) over a set of tokens, the attention score a query "
	 "token gives a key token from their embeddings alone at relative offset 0 (RoPE turns q and k of one "
	 "position by the same angle, which keeps their dot product; how scores change with distance is not in "
	 "it). circuit ov L H: W_U W_O W_V W_E, the logits an attended token adds to each output token, with the "
	 "share of tokens that raise themselves most (ARENA's diagonal test) and, where the vocabulary allows, "
	 "the copying score sum/sum|.| of the eigenvalues of the full OV circuit, from its d_head x d_head "
	 "factor. RMSNorm weights are folded into W_Q, W_K, W_V (and the final norm's into W_U); under GQA a "
	 "head's W_K and W_V are its kv group's. The tokens: --tokens TEXT (tokenized, each distinct token once), "
	 "--ids, or the prompt's distinct tokens but BOS. Nothing vocab x vocab is made.",
	 A(ARG_WORD, ARG_LAYER, ARG_HEAD), "qk ov", c_circuit, "--tokens --ids --top --json", "Circuits", CMD_REPLAY | CMD_VIEW},
	{"composition", "[q|k|v] [L H] [--top N] [--values] [--json]",
	 "Q-, K- or V-composition scores between heads of different layers",
	 "How much a later head's queries (q), keys (k, the default) or values (v) read what an earlier head "
	 "writes: |W_QK^T W_OV| (q), |W_QK W_OV| (k), |W_OV W_OV| (v) over the product of the two norms "
	 "(Frobenius; Elhage et al. 2021), each head's ln1 weight folded in, with the average score of random "
	 "matrices of the same shapes to compare. Without L H: the highest pairs; with L H: that receiver's "
	 "scores against every head of the earlier layers as a layer x head grid (a heatmap when the screen is "
	 "narrow; --values prints numbers).",
	 A(ARG_WORD, ARG_LAYER, ARG_HEAD), "q k v", c_composition, "--top --values --json", NULL, CMD_REPLAY | CMD_VIEW},
	{"path-patch", "SENDER|senders RECEIVER[,...] from PROMPT [--metric T] [--vs T] [--at P] [--values] [--json]",
	 "path patching: a head's change into chosen receivers only",
	 "Wang et al. 2022. SENDER is a head L.H or an MLP L.mlp; its output on PROMPT (the other run, the same length) minus its "
	 "output here is added to the input of each RECEIVER only: L.H.q, L.H.k, L.H.v (or L.H for all three, "
	 "L.H.qk...) of a later head, L.mlp, logits (the final norm's input), or all (everything downstream, "
	 "which is activation patching of the sender). Everything else runs as on this prompt. Receivers in "
	 "different layers also see what earlier receivers changed. Under GQA the change reaches one query "
	 "head's k or v alone. path-patch senders RECEIVER from PROMPT tries every head before the receivers "
	 "(a layer x head grid). The metric and its normalisation are sweep patch's: 0 as this prompt, 1 as the "
	 "other.",
	 A(ARG_WORD, ARG_WORD, ARG_WORD, ARG_TEXT), "senders all logits from", c_path_patch,
	 "--metric --vs --at --values --json --ids", NULL, CMD_REPLAY | CMD_VIEW},
	{"attrib", "HOOK from PROMPT [--heads [--pos P]] [--compare] [--metric T] [--vs T] [--at P] [--values] [--json]",
	 "attribution patching: every patch estimated from one backward pass",
	 "Nanda 2023. For HOOK (resid_pre, resid_mid, resid_post, attn_out, mlp_out, z, ln_final.hook_out) at "
	 "every layer and position (z --heads: every head, summed over positions or at --pos P), (clean - "
	 "corrupted activation) . d metric / d activation, taken at this (corrupted) run, normalised as sweep "
	 "patch: what sweep patch HOOK from PROMPT would show, to first order. The gradient is the trainer's "
	 "backward pass over an f32 copy of the model (tied embeddings needed). --compare runs the real sweep too "
	 "and prints its grid and the correlation.",
	 A(ARG_HOOK, ARG_WORD, ARG_TEXT), "from", cmd_attrib_run,
	 "--heads --pos --compare --metric --vs --at --values --json --ids", NULL, CMD_REPLAY | CMD_VIEW},
	{0},
};
