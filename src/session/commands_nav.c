/* commands_nav.c - the session (prompt, model, settings, panes) and moving
 * through the forward pass (step, back, run-to, selection). */
#include "config.h"
#include "commands_internal.h"
#include "stream.h"
#include "dtype.h"
#include "tokenizer.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int on_off(const char *v, int *out)
{
	if (!strcmp(v, "on") || !strcmp(v, "1") || !strcmp(v, "yes"))
		return *out = 1, 0;
	if (!strcmp(v, "off") || !strcmp(v, "0") || !strcmp(v, "no"))
		return *out = 0, 0;
	return -1;
}

/* ---------------------------------------------------------------- prompt */
static void print_tokens_line(rs_session *s)
{
	char tb[160];
	for (int i = 0; i < s->n_ids; i++)
		session_printf(s, "%s%d:%s", i ? " " : "", i, cmd_fmt_token(s, s->ids[i], tb, sizeof tb));
	session_printf(s, "\n");
}

static cmd_status c_prompt(rs_session *s, int argc, char **argv, rs_err *err)
{
	/* only a leading --ids is an option: the text itself may hold anything */
	int as_ids = argc >= 2 && !strcmp(argv[1], "--ids");
	if (as_ids) {
		memmove(&argv[1], &argv[2], sizeof(char *) * (size_t)(argc - 1));
		argc--;
		if (argc < 2)
			return cmd_usage(err, argv[0], "no token ids given");
	}
	if (argc < 2) {
		if (!s->n_ids) {
			if (s->prompt) /* kept from a model it no longer fits */
				session_printf(s, "prompt \"%s\" kept, not tokenized for this model\n", s->prompt);
			else
				session_printf(s, "no prompt yet\n");
			return CMD_OK;
		}
		if (s->prompt)
			session_printf(s, "prompt \"%s\", %d tokens\n", s->prompt, s->n_ids);
		else
			session_printf(s, "prompt of %d token ids\n", s->n_ids);
		print_tokens_line(s);
		return CMD_OK;
	}
	if (as_ids) {
		int32_t *ids;
		int n;
		if (cmd_arg_ids(argc, argv, 1, argv[0], &ids, &n, err))
			return CMD_ERROR;
		int rc = session_set_ids(s, ids, n, err);
		free(ids);
		if (rc)
			return cmd_usage(err, argv[0], "%s", err->msg);
	} else {
		rs_err e2;
		if (session_set_prompt(s, cmd_text(argc, argv, 1), &e2))
			return cmd_fail(err, argv[0], "%s", e2.msg);
	}
	session_printf(s, "%d tokens: ", s->n_ids);
	print_tokens_line(s);
	char note[512];
	if (session_cache_note(s, note, sizeof note))
		session_printf(s, "%s\n", note);
	return CMD_OK;
}

/* ---------------------------------------------------------------- model */
static void print_model(rs_session *s, int full)
{
	const rs_model *m = s->model;
	const rs_config *c = &m->cfg;
	char name[3 * sizeof c->name]; /* from the file: shown, never obeyed by the terminal */
	rs_visible(c->name, strlen(c->name), RS_VIS_UTF8, name, sizeof name);
	session_printf(s, "model %s (%s)%s%s\n", s->model_path, m->format ? m->format : "?", c->name[0] ? "  " : "",
		       name);
	if (!full)
		return;
	session_printf(s, "layers %d  d_model %d  heads %d  kv_heads %d  head_dim %d  d_ff %d  vocab %d  context %d\n",
		       c->n_layers, c->d_model, c->n_heads, c->n_kv_heads, c->head_dim, c->d_ff, c->vocab,
		       c->max_ctx);
	const char *rk = c->rope_kind == RS_ROPE_LLAMA3 ? "llama3" : c->rope_kind == RS_ROPE_LINEAR ? "linear" : "none";
	session_printf(s, "rope theta %g  scaling %s", c->rope_theta, rk);
	if (c->rope_kind == RS_ROPE_LLAMA3)
		session_printf(s, " (factor %g, low %g, high %g, original context %d)", c->rope_factor, c->rope_low_freq,
			       c->rope_high_freq, c->rope_orig_ctx);
	else if (c->rope_kind == RS_ROPE_LINEAR)
		session_printf(s, " (factor %g)", c->rope_factor);
	session_printf(s, "\nrms_norm_eps %g  tied embeddings %s  bos %d  eos %d\n", c->rms_eps, c->tied ? "yes" : "no",
		       c->bos_id, c->eos_id);
	int64_t params = config_param_count(c);
	session_printf(s, "parameters %lld (%.2f M)\n", (long long)params, params / 1e6);
	const char *tn = rs_dtype_name(m->weight_type);
	size_t bytes32 = rs_dtype_row_bytes(m->weight_type, 256);
	double wbytes = bytes32 ? (double)params * (double)bytes32 / 256.0 : 0;
	session_printf(s, "weights %s, %.2f MiB, mapped read-only (shared between sessions)\n", tn ? tn : "?",
		       wbytes / (1024.0 * 1024.0));
	{
		rs_stream *st = eng_stream(s->eng);
		char a[32], b[32], r[32];
		rs_format_size((double)model_weight_bytes(m), a, sizeof a);
		uint64_t budget = stream_budget(st);
		rs_format_budget(budget, b, sizeof b);
		if (stream_active(st)) {
			rs_stream_stats ss;
			stream_stats(st, &ss);
			char p[32];
			session_printf(s, "memory budget %s (set mem): the weights (%s) pass it, so they are stepped from "
				       "disk, read ahead up to %s and dropped once used; each pass (each token) reads %s",
				       b, a, rs_format_budget(budget / 2, r, sizeof r),
				       rs_format_size((double)ss.pass_bytes, p, sizeof p));
			if (ss.disk_rate > 0)
			{
				char t[32];
				session_printf(s, ", at %s/s about %s", rs_format_size(ss.disk_rate, r, sizeof r),
					       rs_format_secs((double)ss.pass_bytes / ss.disk_rate, t, sizeof t));
			}
			session_printf(s, "\n");
		} else {
			session_printf(s, "memory budget %s (set mem): the weights (%s) fit\n", b, a);
		}
		int T = s->n_ids ? s->n_ids : 32;
		const char *pol = session_cache_policy(s, T);
		session_printf(s, "activation cache estimate %.2f MiB for %s%d tokens (%s)\n",
			       session_cache_bytes(s, T) / (1024.0 * 1024.0), s->n_ids ? "" : "a prompt of ", T,
			       s->cache_filter[0] ? "set cache" : pol[0] ? "big-model default: residual stream and small hooks"
									 : "every hook");
	}
	double cache = 0;
	for (int t = 0; t <= eng_stop(s->eng); t++) {
		const rs_act *a = eng_act(s->eng, hook_at(t, c->n_layers));
		if (a)
			cache += (double)a->numel * sizeof(float);
	}
	session_printf(s, "activation cache %.2f MiB (%d tokens, %d of %d stops computed)\n", cache / (1024.0 * 1024.0),
		       s->n_ids, eng_stop(s->eng) + 1, session_n_stops(s));
	if (s->tok)
		session_printf(s, "tokenizer %s, %d tokens, BOS %s\n",
			       tok_kind(s->tok) == TOK_SPM ? "SentencePiece BPE" : "byte-level BPE",
			       (int)tok_n_vocab(s->tok), s->add_bos ? "added" : "not added");
	else
		session_printf(s, "tokenizer none (give prompts as ids: prompt --ids 1,2,3)\n");
}

static cmd_status c_model(rs_session *s, int argc, char **argv, rs_err *err)
{
	if (argc > 1)
		return cmd_usage(err, argv[0], "takes no arguments");
	print_model(s, 1);
	return CMD_OK;
}

static cmd_status c_load(rs_session *s, int argc, char **argv, rs_err *err)
{
	if (argc != 2)
		return cmd_usage(err, argv[0], "give one model path");
	if (cmd_check_path(s, argv[1], argv[0], err))
		return CMD_ERROR;
	rs_err e2;
	int rc = session_load(s, argv[1], &e2);
	if (rc < 0)
		return cmd_fail(err, argv[0], "%s", e2.msg);
	print_model(s, 0);
	if (rc > 0) /* the model is loaded; the prompt did not fit it */
		return cmd_fail(err, argv[0], "%s", e2.msg);
	session_printf(s, "%s\n", s->n_ids ? "the prompt was tokenized again" : "no prompt");
	return CMD_OK;
}

/* ---------------------------------------------------------------- settings */
static cmd_status c_set(rs_session *s, int argc, char **argv, rs_err *err)
{
	if (argc == 1) {
		session_printf(s, "bos %s\ntopk %d\nfull %s\nvalues %s\ncache %s\n", s->add_bos ? "on" : "off", s->topk,
			       s->vec_full ? "on" : "off", s->attn_values ? "on" : "off",
			       s->cache_filter[0] ? s->cache_filter : "all");
		return CMD_OK;
	}
	if (argc != 3)
		return cmd_usage(err, argv[0], "give a setting and its value");
	const char *k = argv[1], *v = argv[2];
	int b;
	if (!strcmp(k, "bos")) {
		if (on_off(v, &b))
			return cmd_usage(err, argv[0], "bos is on or off");
		int old = s->add_bos;
		s->add_bos = b;
		if (s->prompt) { /* the same text again, with or without BOS */
			char *text = rs_xstrdup(s->prompt);
			rs_err e2;
			int rc = session_set_prompt(s, text, &e2);
			free(text);
			if (rc) {
				s->add_bos = old;
				return cmd_fail(err, argv[0], "%s", e2.msg);
			}
		}
	} else if (!strcmp(k, "topk")) {
		long n;
		if (cmd_arg_long(v, 1, 100, argv[0], "topk", &n, err))
			return CMD_ERROR;
		s->topk = (int)n;
	} else if (!strcmp(k, "full") || !strcmp(k, "values")) {
		if (on_off(v, &b))
			return cmd_usage(err, argv[0], "%s is on or off", k);
		*(k[0] == 'f' ? &s->vec_full : &s->attn_values) = b;
	} else if (!strcmp(k, "mem")) {
		uint64_t bytes;
		if (rs_parse_size(v, &bytes) || !bytes)
			return cmd_usage(err, argv[0], "mem is a size such as 4G, 500M or unlimited");
		setenv("RESIDUAL_MEM", v, 1); /* engines made later (load, patching) use it too */
		eng_set_mem_budget(s->eng, bytes);
		char note[512];
		if (session_stream_note(s, note, sizeof note))
			session_printf(s, "%s\n", note);
	} else if (!strcmp(k, "cache")) {
		rs_err e2;
		if (session_set_cache_filter(s, !strcmp(v, "all") ? "" : v, &e2))
			return cmd_usage(err, argv[0], "%s", e2.msg);
	} else {
		return cmd_usage(err, argv[0], "no setting '%.40s' (bos, topk, full, values, cache, mem)", k);
	}
	s->version++;
	session_printf(s, "%s %s\n", k, v);
	return CMD_OK;
}

static cmd_status c_gran(rs_session *s, int argc, char **argv, rs_err *err)
{
	static const char *const names[] = {"hook", "sublayer", "layer"};
	if (argc == 1) {
		session_printf(s, "gran %s\n", names[s->gran]);
		return CMD_OK;
	}
	if (argc != 2)
		return cmd_usage(err, argv[0], "give one granularity");
	for (int g = 0; g < 3; g++)
		if (!strcmp(argv[1], names[g])) {
			s->gran = (rs_gran)g;
			s->version++;
			session_printf(s, "gran %s\n", names[g]);
			return CMD_OK;
		}
	return cmd_usage(err, argv[0], "no granularity '%.40s'", argv[1]);
}

static cmd_status c_pane(rs_session *s, int argc, char **argv, rs_err *err)
{
	if (argc > 3)
		return cmd_usage(err, argv[0], "too many arguments");
	if (argc >= 2) {
		if (argc == 2 && (!strcmp(argv[1], "all") || !strcmp(argv[1], "none") || !strcmp(argv[1], "default"))) {
			s->panes = argv[1][0] == 'a' ? (1u << PANE_N) - 1 : argv[1][0] == 'n' ? 1u << PANE_OUTPUT
											      : SESSION_PANES_DEFAULT;
		} else {
			int p = session_pane_parse(argv[1], 0);
			if (p < 0)
				return cmd_usage(err, argv[0], "no pane '%.40s'", argv[1]);
			int on = !(s->panes & (1u << p));
			if (argc == 3 && strcmp(argv[2], "toggle") && on_off(argv[2], &on))
				return cmd_usage(err, argv[0], "say on, off or toggle");
			s->panes = on ? s->panes | (1u << p) : s->panes & ~(1u << p);
		}
		s->version++;
	}
	for (int i = 0; i < PANE_N; i++)
		session_printf(s, "%s%s %s", i ? "  " : "", session_pane_name(i, 0), s->panes & (1u << i) ? "on" : "off");
	session_printf(s, "\n");
	return CMD_OK;
}

static cmd_status c_highlight(rs_session *s, int argc, char **argv, rs_err *err)
{
	if (argc == 1) {
		session_printf(s, "highlight %s\n", s->highlight[0] ? s->highlight : "off");
		return CMD_OK;
	}
	const char *t = cmd_text(argc, argv, 1);
	if (!strcmp(t, "off") || !strcmp(t, "none"))
		t = "";
	snprintf(s->highlight, sizeof s->highlight, "%s", t);
	s->version++;
	session_printf(s, "highlight %s\n", s->highlight[0] ? s->highlight : "off");
	return CMD_OK;
}

static cmd_status c_lesson(rs_session *s, int argc, char **argv, rs_err *err)
{
	if (cmd_lesson_handler)
		return cmd_lesson_handler(s, argc, argv, err);
	session_printf(s, "no lessons are installed in this build\n");
	return argc > 1 ? cmd_fail(err, argv[0], "no lesson '%.60s' (no lessons are installed)", argv[1]) : CMD_OK;
}

static cmd_status c_echo(rs_session *s, int argc, char **argv, rs_err *err)
{
	session_printf(s, "%s\n", cmd_text(argc, argv, 1));
	return CMD_OK;
}

static cmd_status c_quit(rs_session *s, int argc, char **argv, rs_err *err)
{
	return CMD_QUIT;
}

/* ---------------------------------------------------------------- moving */
static void print_selection(rs_session *s)
{
	char tb[160] = "";
	if (s->n_ids)
		cmd_fmt_token(s, s->ids[s->sel_pos], tb, sizeof tb);
	session_printf(s, "pos %d %s  layer %d  head %d\n", s->sel_pos, tb, s->sel_layer, s->sel_head);
}

static cmd_status c_where(rs_session *s, int argc, char **argv, rs_err *err)
{
	if (argc > 1)
		return cmd_usage(err, argv[0], "takes no arguments");
	cmd_print_where(s);
	print_selection(s);
	if (s->n_ids && eng_stop(s->eng) > s->view_stop)
		session_printf(s, "computed to stop %d\n", eng_stop(s->eng));
	return CMD_OK;
}

static cmd_status step_or_back(rs_session *s, int argc, char **argv, rs_err *err, int dir)
{
	long n = 1;
	if (argc > 2)
		return cmd_usage(err, argv[0], "give at most one count");
	if (argc == 2 && cmd_arg_long(argv[1], 1, 1000000, argv[0], "count", &n, err))
		return CMD_ERROR;
	if (cmd_need_prompt(s, argv[0], err))
		return CMD_ERROR;
	int before = s->view_stop;
	if (dir > 0)
		session_step(s, (int)n);
	else
		session_back(s, (int)n);
	cmd_print_where(s);
	if (before == s->view_stop)
		session_printf(s, "%s\n", dir > 0 ? "at the end of the pass" : "at the start of the pass");
	return CMD_OK;
}

static cmd_status c_step(rs_session *s, int argc, char **argv, rs_err *err)
{
	return step_or_back(s, argc, argv, err, 1);
}

static cmd_status c_back(rs_session *s, int argc, char **argv, rs_err *err)
{
	return step_or_back(s, argc, argv, err, -1);
}

static cmd_status c_run_to(rs_session *s, int argc, char **argv, rs_err *err)
{
	rs_hook h;
	if (argc != 2)
		return cmd_usage(err, argv[0], "give one hook");
	if (cmd_arg_hook(s, argv[1], argv[0], &h, err) || cmd_need_prompt(s, argv[0], err))
		return CMD_ERROR;
	session_goto(s, h);
	cmd_print_where(s);
	return CMD_OK;
}

static cmd_status c_run(rs_session *s, int argc, char **argv, rs_err *err)
{
	if (argc > 2 || (argc == 2 && strcmp(argv[1], "layer") && strcmp(argv[1], "all")))
		return cmd_usage(err, argv[0], "say layer or all");
	if (cmd_need_prompt(s, argv[0], err))
		return CMD_ERROR;
	if (argc == 2 && argv[1][0] == 'l')
		session_run_layer(s);
	else
		session_run_all(s);
	cmd_print_where(s);
	return CMD_OK;
}

static cmd_status select_cmd(rs_session *s, int argc, char **argv, rs_err *err, int *field, int n, const char *what)
{
	if (argc > 2)
		return cmd_usage(err, argv[0], "give one %s", what);
	if (argc == 2) {
		int v;
		if (cmd_arg_index(argv[1], n, argv[0], what, &v, err))
			return CMD_ERROR;
		*field = v;
		s->version++;
	}
	print_selection(s);
	return CMD_OK;
}

static cmd_status c_layer(rs_session *s, int argc, char **argv, rs_err *err)
{
	return select_cmd(s, argc, argv, err, &s->sel_layer, s->model->cfg.n_layers, "layer");
}

static cmd_status c_head(rs_session *s, int argc, char **argv, rs_err *err)
{
	return select_cmd(s, argc, argv, err, &s->sel_head, s->model->cfg.n_heads, "head");
}

static cmd_status c_pos(rs_session *s, int argc, char **argv, rs_err *err)
{
	if (argc == 2 && cmd_need_prompt(s, argv[0], err))
		return CMD_ERROR;
	return select_cmd(s, argc, argv, err, &s->sel_pos, s->n_ids, "position");
}

/* ---------------------------------------------------------------- tables */
#define A(...) {__VA_ARGS__}

const cmd_def cmds_session[] = {
	{"help", "[COMMAND]", "list the commands, or explain one",
	 "Without an argument, lists every command with its arguments. help NAME shows what NAME does.",
	 A(ARG_COMMAND), NULL, cmd_help_run, NULL, "Session", CMD_REPLAY | CMD_VIEW},
	{"prompt", "TEXT | --ids N,N,...", "set the prompt and start a new forward pass",
	 "Tokenizes TEXT (with BOS when the model wants it; see set bos) and starts a new pass, stopped before "
	 "hook_embed. The text is taken as typed; quote it to keep leading or trailing spaces. --ids gives token ids "
	 "instead (models without a tokenizer). Interventions stay registered. Without arguments, shows the prompt.",
	 A(ARG_TEXT), NULL, c_prompt, "--ids", NULL, CMD_REPLAY},
	{"model", "", "configuration, parameter count and memory of the model",
	 "Shows the model's configuration (layers, widths, heads, RoPE), its parameter count, the memory of its "
	 "weights and of the activation cache, and its tokenizer.",
	 A(ARG_NONE), NULL, c_model, NULL, NULL, CMD_REPLAY | CMD_VIEW},
	{"load", "PATH", "load another model (.gguf file or Hugging Face folder)",
	 "Replaces the model. The prompt is tokenized again with the new tokenizer; interventions are dropped "
	 "because they name hooks of the old model. If loading fails, the old model stays.",
	 A(ARG_FILE), NULL, c_load, NULL, NULL, 0},
	{"set", "[NAME VALUE]", "settings: bos, topk, full, values, cache, mem",
	 "set bos on|off: prepend BOS to text prompts (the prompt is tokenized again). set topk K: rows of the "
	 "top-k pane. set full on|off: the vector pane shows every number. set values on|off: the attention pane "
	 "shows numbers. set cache GLOBS: which hooks the cache keeps (comma-separated globs, ! excludes; the pass "
	 "is recomputed; all for every hook; a model stepped from disk keeps the residual stream and small hooks by "
	 "default). set mem SIZE (4G, 500M, unlimited): the memory budget for the weights; a model past it is "
	 "stepped from disk, a layer at a time (slow: each token reads every weight). Without arguments, lists "
	 "the settings.",
	 A(ARG_WORD, ARG_WORD), "bos topk full values cache mem on off", c_set, NULL, NULL, CMD_REPLAY},
	{"pane", "[NAME [on|off|toggle] | all | none | default]", "show or hide panes of the screen",
	 "Panes: tokens, pipeline, vector, attn, norms, lens, topk, lesson, output. pane NAME toggles one; "
	 "pane all / none / default set them all. Without arguments, lists them.",
	 A(ARG_WORD, ARG_WORD), "tokens pipeline vector attn norms lens topk lesson output all none default on off "
				"toggle", c_pane, NULL, NULL, CMD_REPLAY},
	{"highlight", "[TEXT | off]", "highlight something on the screen (for lessons)",
	 "Lessons use it to point at a pane or a value; the screen decides how to show it.", A(ARG_TEXT), NULL,
	 c_highlight, NULL, NULL, CMD_REPLAY},
	{"lesson", "[NAME]", "list the lessons, or start one", "Lessons are guided walks through the model.",
	 A(ARG_WORD), NULL, c_lesson, NULL, NULL, CMD_REPLAY},
	{"echo", "TEXT", "print TEXT (for scripts and lessons)", "", A(ARG_TEXT), NULL, c_echo, NULL, NULL, CMD_REPLAY | CMD_VIEW},
	{"quit", "", "end the session", "", A(ARG_NONE), NULL, c_quit, NULL, NULL, 0},
	{0},
};

const cmd_def cmds_nav[] = {
	{"where", "", "where the pass stands and what is selected",
	 "Shows the stop shown (its number, hook and shape), the selected position, layer and head, and how far "
	 "the engine has computed when the view was stepped back.",
	 A(ARG_NONE), NULL, c_where, NULL, "Moving through the pass", CMD_REPLAY | CMD_VIEW},
	{"step", "[N]", "compute and show the next N stops",
	 "Moves the view N stops forward (default 1) at the granularity set by gran, computing what has not been "
	 "computed yet.",
	 A(ARG_NUMBER), NULL, c_step, NULL, NULL, CMD_REPLAY},
	{"back", "[N]", "show the previous N stops (nothing is recomputed)",
	 "Moves the view back; the numbers shown are the ones computed on the way forward.", A(ARG_NUMBER), NULL,
	 c_back, NULL, NULL, CMD_REPLAY},
	{"run-to", "HOOK", "run forward (or go back) to a hook",
	 "HOOK is a full name (blocks.1.hook_resid_mid), a name inside the selected layer (resid_mid, "
	 "attn.hook_pattern) or one with a layer in front (1.resid_mid).",
	 A(ARG_HOOK), NULL, c_run_to, NULL, NULL, CMD_REPLAY},
	{"run", "[layer|all]", "run to the end of the layer, or of the pass (default)", "", A(ARG_WORD),
	 "layer all", c_run, NULL, NULL, CMD_REPLAY},
	{"gran", "[hook|sublayer|layer]", "how far step and back move",
	 "hook: every hook point. sublayer: embedding, attention output, residual after attention, MLP output, "
	 "residual after the MLP, final norm and logits. layer: embedding, the end of each layer, logits.",
	 A(ARG_WORD), "hook sublayer layer", c_gran, NULL, NULL, CMD_REPLAY},
	{"layer", "[N]", "select a layer (attention pane, short hook names)", "", A(ARG_LAYER), NULL, c_layer, NULL,
	 NULL, CMD_REPLAY},
	{"head", "[N]", "select an attention head", "", A(ARG_HEAD), NULL, c_head, NULL, NULL, CMD_REPLAY},
	{"pos", "[N]", "select a token position (-1: the last)", "", A(ARG_POS), NULL, c_pos, NULL, NULL, CMD_REPLAY},
	{0},
};
