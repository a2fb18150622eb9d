/* commands_experiments.c - interventions on the session's pass (ablate,
 * patch, steer), listing and clearing them, generating and exporting.
 * Interventions are the engine's: the session registers them and reruns the
 * pass up to the stop shown, so every view shows the edited run. */
#include "config.h"
#include "commands_internal.h"
#include "stream.h"
#include "dtype.h"
#include "interp.h"
#include "datadir.h"
#include "safetensors.h"
#include "sampler.h"
#include "tokenizer.h"

#include <cJSON.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* "blocks.0.attn.hook_z head 1 pos 3" */
static char *fmt_selection(const rs_intervention *iv, char *buf, size_t n)
{
	char hn[96];
	size_t o = (size_t)snprintf(buf, n, "%s", hook_name(iv->hook, hn, sizeof hn));
	if (iv->head >= 0 && o < n)
		o += (size_t)snprintf(buf + o, n - o, " %s %d", cmd_head_word(iv->hook.kind), iv->head);
	if (iv->index >= 0 && o < n)
		o += (size_t)snprintf(buf + o, n - o, " index %d", iv->index);
	if (o < n)
		snprintf(buf + o, n - o, iv->pos >= 0 ? " pos %d" : " (all positions)", iv->pos);
	return buf;
}

/* Registers iv, prints what it is and what it changed at the selected position. */
static cmd_status add_iv(rs_session *s, const rs_intervention *iv, const char *what, const char *name, rs_err *err)
{
	char sel[160], note[400];
	effect_snap snap;
	cmd_effect_begin(s, &snap);
	snprintf(note, sizeof note, "%s %s", what, fmt_selection(iv, sel, sizeof sel));
	rs_err e2;
	int id = session_add_intervention(s, iv, note, &e2);
	if (id < 0)
		return cmd_usage(err, name, "%s", e2.msg);
	session_printf(s, "#%d %s\n", id, note);
	cmd_effect_print(s, &snap);
	return CMD_OK;
}

cmd_status cmd_add_intervention(rs_session *s, const rs_intervention *iv, const char *what, const char *name,
				rs_err *err)
{
	return add_iv(s, iv, what, name, err);
}

/* --pos P, --head H, --kv-head K, --index I shared by the intervention
 * commands; the head options are read once the hook is known (heads_of). */
typedef struct sel_heads {
	const char *head, *kv_head;
} sel_heads;

static int take_selection(rs_session *s, int *argc, char **argv, rs_intervention *iv, sel_heads *hd, rs_err *err)
{
	int miss[4];
	const char *p = cmd_take_opt(argc, argv, "--pos", &miss[0]);
	hd->head = cmd_take_opt(argc, argv, "--head", &miss[1]);
	const char *x = cmd_take_opt(argc, argv, "--index", &miss[2]);
	hd->kv_head = cmd_take_opt(argc, argv, "--kv-head", &miss[3]);
	if (miss[0] || miss[1] || miss[2] || miss[3]) {
		cmd_usage(err, argv[0], "--pos, --head, --kv-head and --index need a number");
		return -1;
	}
	iv->pos = iv->head = iv->index = -1;
	if (p && (cmd_need_prompt(s, argv[0], err) || cmd_arg_index(p, s->n_ids, argv[0], "position", &iv->pos, err)))
		return -1;
	long v;
	if (x && cmd_arg_long(x, 0, INT32_MAX, argv[0], "index", &v, err))
		return -1;
	if (x)
		iv->index = (int)v;
	return cmd_no_more_flags(*argc, argv, err);
}

/* ---------------------------------------------------------------- ablate */
/* ablate ... mean --over FILE: the selection set to its mean per position over
 * the prompts of FILE (found in the lessons directory when not here). */
static cmd_status ablate_over(rs_session *s, rs_intervention *iv, const char *file, const char *name, rs_err *err)
{
	if (iv->kind != IV_MEAN)
		return cmd_usage(err, name, "--over goes with mean (the mean over the prompts of the file)");
	if (!s->tok)
		return cmd_usage(err, name, "--over reads prompts as text: this model has no tokenizer");
	if (cmd_need_prompt(s, name, err) || cmd_check_path(s, file, name, err))
		return CMD_ERROR;
	char path[4096];
	const char *dir = rs_lessons_dir();
	snprintf(path, sizeof path, "%s", file);
	if (access(path, R_OK) && file[0] != '/' && dir)
		snprintf(path, sizeof path, "%s/%s", dir, file);
	int np = 0;
	int64_t numel = 0;
	rs_err e2;
	float *mean = abl_mean_over_file(s->model, s->tok, TOK_PARSE_SPECIAL | (s->add_bos ? TOK_ADD_BOS : 0), path,
					 iv->hook, s->n_ids, &np, &numel, &e2);
	if (!mean)
		return cmd_fail(err, name, "%s", e2.msg);
	iv->kind = IV_REPLACE;
	iv->values = mean;
	iv->n_values = numel;
	char what[160];
	snprintf(what, sizeof what, "mean-ablate (mean of %d prompts of %.60s)", np, file);
	cmd_status st = add_iv(s, iv, what, name, err);
	free(mean);
	return st;
}

static cmd_status c_ablate(rs_session *s, int argc, char **argv, rs_err *err)
{
	rs_intervention iv = {0};
	int miss;
	const char *over = cmd_take_opt(&argc, argv, "--over", &miss);
	if (miss)
		return cmd_usage(err, argv[0], "--over needs a file of prompts");
	sel_heads hd;
	if (take_selection(s, &argc, argv, &iv, &hd, err))
		return CMD_ERROR;
	iv.kind = IV_ZERO;
	if (argc >= 2 && (!strcmp(argv[argc - 1], "zero") || !strcmp(argv[argc - 1], "mean")))
		iv.kind = !strcmp(argv[--argc], "mean") ? IV_MEAN : IV_ZERO;
	const rs_config *c = &s->model->cfg;
	if (argc == 3) { /* L H: a head's output (its hook_z) */
		int l, h;
		if (cmd_arg_index(argv[1], c->n_layers, argv[0], "layer", &l, err) ||
		    cmd_arg_index(argv[2], c->n_heads, argv[0], "head", &h, err))
			return CMD_ERROR;
		iv.hook = (rs_hook){HOOK_Z, l};
		iv.head = h;
	} else if (argc == 2) {
		if (cmd_arg_hook(s, argv[1], argv[0], &iv.hook, err) ||
		    cmd_arg_head(s, iv.hook.kind, hd.head, hd.kv_head, argv[0], &iv.head, err))
			return CMD_ERROR;
	} else if (argc == 4) {
		return cmd_usage(err, argv[0], "'%.40s' is neither zero nor mean", argv[3]);
	} else {
		return cmd_usage(err, argv[0], "give a layer and a head, or a hook");
	}
	if (iv.head >= 0 && !hook_has_heads(iv.hook.kind))
		return cmd_usage(err, argv[0], "this hook has no heads");
	if (over)
		return ablate_over(s, &iv, over, argv[0], err);
	return add_iv(s, &iv, iv.kind == IV_MEAN ? "mean-ablate" : "zero-ablate", argv[0], err);
}

/* ---------------------------------------------------------------- patch */
static cmd_status c_patch(rs_session *s, int argc, char **argv, rs_err *err)
{
	int as_ids = 0, from = -1;
	int miss;
	const char *hs = cmd_take_opt(&argc, argv, "--head", &miss);
	if (miss)
		return cmd_usage(err, argv[0], "--head needs a number");
	const char *kvs = cmd_take_opt(&argc, argv, "--kv-head", &miss);
	if (miss)
		return cmd_usage(err, argv[0], "--kv-head needs a number");
	for (int i = 1; i < argc && from < 0; i++)
		if (!strcmp(argv[i], "from"))
			from = i;
	if (from < 0)
		return cmd_usage(err, argv[0], "say from which prompt");
	if (from + 1 >= argc)
		return cmd_usage(err, argv[0], "the source prompt is missing");
	if (!strcmp(argv[from + 1], "--ids"))
		as_ids = 1;
	if (from < 2 || from > 3)
		return cmd_usage(err, argv[0], "give a hook and maybe a position before from");
	if (from + 1 + as_ids >= argc)
		return cmd_usage(err, argv[0], "the source prompt is missing");
	for (int i = 1; i < from; i++)
		if (!strncmp(argv[i], "--", 2))
			return cmd_usage(err, argv[0], "unknown option '%.40s'", argv[i]);
	if (cmd_need_prompt(s, argv[0], err))
		return CMD_ERROR;
	rs_intervention iv = {.kind = IV_REPLACE, .head = -1, .pos = -1, .index = -1};
	if (cmd_arg_hook(s, argv[1], argv[0], &iv.hook, err))
		return CMD_ERROR;
	if (from == 3 && cmd_arg_index(argv[2], s->n_ids, argv[0], "position", &iv.pos, err))
		return CMD_ERROR;
	if (cmd_arg_head(s, iv.hook.kind, hs, kvs, argv[0], &iv.head, err))
		return CMD_ERROR;
	if (iv.head >= 0 && !hook_has_heads(iv.hook.kind))
		return cmd_usage(err, argv[0], "this hook has no heads");
	int32_t *ids;
	int n;
	const char *src = cmd_text(argc, argv, from + 1 + as_ids);
	if (cmd_arg_prompt(s, src, as_ids, argv[0], &ids, &n, err))
		return CMD_ERROR;
	if (n != s->n_ids) {
		free(ids);
		return cmd_fail(err, argv[0], "the source prompt has %d tokens and this one %d: patching needs the same length",
				n, s->n_ids);
	}
	/* the source run is clean: no interventions */
	rs_engine *e = cmd_scratch_engine(s, 0, err);
	cmd_status st = CMD_ERROR;
	if (e && eng_set_prompt(e, ids, n, err) == 0) {
		eng_run_to(e, iv.hook);
		const rs_act *a = eng_act(e, iv.hook);
		if (!a) {
			cmd_fail(err, argv[0], "the source run did not keep this hook (see set cache)");
		} else {
			iv.values = a->data;
			iv.n_values = a->numel;
			char what[200];
			snprintf(what, sizeof what, "patch from %.120s:", src);
			st = add_iv(s, &iv, what, argv[0], err);
		}
	} else if (e) {
		cmd_fail(err, argv[0], "%s", err->msg);
	}
	eng_free(e);
	free(ids);
	return st;
}

/* ---------------------------------------------------------------- steer */
/* The steering vector named by spec, of the hook's width; *index is set for dim:I. */
static float *steer_vector(rs_session *s, rs_hook h, const char *spec, int *index, int64_t *n, char *desc,
			   size_t dn, const char *name, rs_err *err)
{
	const rs_model *m = s->model;
	int d = m->cfg.d_model;
	*index = -1;
	if (!strncmp(spec, "dim:", 4)) {
		long i;
		if (cmd_arg_long(spec + 4, 0, INT32_MAX, name, "dimension", &i, err))
			return NULL;
		*index = (int)i;
		*n = 1;
		float *v = rs_xmalloc(sizeof(float));
		v[0] = 1;
		snprintf(desc, dn, "dimension %ld", i);
		return v;
	}
	if (!strncmp(spec, "embed:", 6) || !strncmp(spec, "unembed:", 8)) {
		int un = spec[0] == 'u';
		int32_t t;
		if (cmd_arg_token(s, spec + (un ? 8 : 6), name, &t, err))
			return NULL;
		float *v = rs_xmalloc(sizeof(float) * (size_t)d);
		mat_row(un ? &m->output : &m->tok_embd, t, v);
		*n = d;
		char tb[160];
		snprintf(desc, dn, "%s of %s", un ? "unembedding" : "embedding", cmd_fmt_token(s, t, tb, sizeof tb));
		return v;
	}
	if (!strncmp(spec, "diff:", 5)) {
		const char *bar = strchr(spec + 5, '|');
		if (!bar) {
			cmd_usage(err, name, "diff:A|B needs two prompts separated by |");
			return NULL;
		}
		char *a_txt = strndup(spec + 5, (size_t)(bar - spec - 5));
		const char *b_txt = bar + 1;
		float *v = NULL;
		const char *txt[2] = {a_txt, b_txt};
		rs_engine *e = cmd_scratch_engine(s, 0, err);
		for (int k = 0; k < 2 && e; k++) {
			int32_t *ids;
			int cnt;
			if (cmd_arg_prompt(s, txt[k], 0, name, &ids, &cnt, err))
				break;
			int rc = eng_set_prompt(e, ids, cnt, err);
			free(ids);
			if (rc) {
				cmd_fail(err, name, "%s", err->msg);
				break;
			}
			eng_run_to(e, h);
			const rs_act *a = eng_act(e, h);
			if (!a || a->n_dims != 2) {
				cmd_usage(err, name, "diff: needs a hook of shape [T, width]");
				break;
			}
			int w = a->shape[1];
			const float *row = a->data + (size_t)(a->shape[0] - 1) * w;
			if (!k) {
				v = rs_xmalloc(sizeof(float) * (size_t)w);
				memcpy(v, row, sizeof(float) * (size_t)w);
				*n = w;
			} else {
				for (int i = 0; i < w; i++)
					v[i] -= row[i];
				snprintf(desc, dn, "diff '%.60s' - '%.60s' (last positions)", a_txt, b_txt);
				eng_free(e);
				free(a_txt);
				return v;
			}
		}
		eng_free(e);
		free(v);
		free(a_txt);
		return NULL;
	}
	if (!strncmp(spec, "file:", 5)) {
		char *path = strdup(spec + 5), *tname = strchr(path, ':');
		if (tname)
			*tname++ = 0;
		float *v = NULL;
		rs_err e2;
		st_file *f = NULL;
		if (cmd_check_path(s, path, name, err)) {
			free(path);
			return NULL;
		}
		if (!(f = st_open(path, &e2))) {
			cmd_fail(err, name, "%s", e2.msg);
			free(path);
			return NULL;
		}
		const st_tensor *t = tname ? st_find(f, tname) : f->n ? &f->tensors[0] : NULL;
		if (!t || t->dtype != RS_F32) {
			cmd_fail(err, name, "%.200s: no F32 tensor %.60s", path, tname ? tname : "in the file");
		} else {
			*n = st_numel(t);
			v = rs_xmalloc(sizeof(float) * (size_t)(*n > 0 ? *n : 1));
			memcpy(v, t->data, sizeof(float) * (size_t)*n);
			snprintf(desc, dn, "%.100s %.60s", path, t->name);
		}
		st_close(f);
		free(path);
		return v;
	}
	if (!strncmp(spec, "feature:", 8))
		return cmd_feature_vector(s, h, spec + 8, n, desc, dn, name, err);
	cmd_usage(err, name, "vector '%.40s': use dim:I, embed:TOKEN, unembed:TOKEN, diff:A|B, file:PATH[:NAME] or feature:N",
		  spec);
	return NULL;
}

static cmd_status c_steer(rs_session *s, int argc, char **argv, rs_err *err)
{
	rs_intervention iv = {.kind = IV_ADD};
	sel_heads hd;
	if (take_selection(s, &argc, argv, &iv, &hd, err))
		return CMD_ERROR;
	if (argc != 4)
		return cmd_usage(err, argv[0], "give a hook, a vector and a scale");
	if (cmd_arg_hook(s, argv[1], argv[0], &iv.hook, err) ||
	    cmd_arg_head(s, iv.hook.kind, hd.head, hd.kv_head, argv[0], &iv.head, err) ||
	    cmd_arg_float(argv[3], argv[0], "scale", &iv.scale, err))
		return CMD_ERROR;
	if (iv.index >= 0)
		return cmd_usage(err, argv[0], "use dim:I to steer one dimension");
	char desc[256] = "", what[320];
	int64_t n = 0;
	float *v = steer_vector(s, iv.hook, argv[2], &iv.index, &n, desc, sizeof desc, argv[0], err);
	if (!v)
		return CMD_ERROR;
	iv.values = v;
	iv.n_values = n;
	snprintf(what, sizeof what, "add %.4f x %s at", iv.scale, desc);
	cmd_status st = add_iv(s, &iv, what, argv[0], err);
	free(v);
	return st;
}

/* ---------------------------------------------------------------- listing */
static cmd_status c_interventions(rs_session *s, int argc, char **argv, rs_err *err)
{
	if (argc > 1)
		return cmd_usage(err, argv[0], "takes no arguments");
	int n = eng_n_interventions(s->eng);
	if (!n)
		session_printf(s, "no interventions\n");
	for (int i = 0; i < n; i++)
		session_printf(s, "#%d %s\n", i, session_iv_note(s, i));
	return CMD_OK;
}

static cmd_status c_clear(rs_session *s, int argc, char **argv, rs_err *err)
{
	int n = eng_n_interventions(s->eng), which = -1;
	if (argc > 2)
		return cmd_usage(err, argv[0], "give at most one intervention number");
	if (argc == 2 && strcmp(argv[1], "all")) {
		const char *p = argv[1][0] == '#' ? argv[1] + 1 : argv[1];
		if (!n)
			return cmd_fail(err, argv[0], "there are no interventions");
		if (cmd_arg_index(p, n, argv[0], "intervention", &which, err))
			return CMD_ERROR;
	}
	effect_snap snap;
	cmd_effect_begin(s, &snap);
	if (which >= 0) {
		session_remove_intervention(s, which);
		session_printf(s, "removed #%d; %d left\n", which, n - 1);
	} else {
		session_clear_interventions(s);
		session_printf(s, "removed %d intervention%s\n", n, n == 1 ? "" : "s");
	}
	if (n)
		cmd_effect_print(s, &snap);
	return CMD_OK;
}

/* ---------------------------------------------------------------- generate */
static cmd_status c_generate(rs_session *s, int argc, char **argv, rs_err *err)
{
	int append = cmd_take_flag(&argc, argv, "--append"), no_stop = cmd_take_flag(&argc, argv, "--no-stop");
	int fast = cmd_take_flag(&argc, argv, "--fast");
	int m1, m2, m3;
	const char *ts = cmd_take_opt(&argc, argv, "--temp", &m1), *ps = cmd_take_opt(&argc, argv, "--top-p", &m2);
	const char *ss = cmd_take_opt(&argc, argv, "--seed", &m3);
	if (m1 || m2 || m3)
		return cmd_usage(err, argv[0], "--temp, --top-p and --seed need a value");
	if (cmd_no_more_flags(argc, argv, err) || cmd_need_prompt(s, argv[0], err))
		return CMD_ERROR;
	if (argc > 2)
		return cmd_usage(err, argv[0], "give at most one count");
	long n = 10, seed = 1;
	float temp = 0, top_p = 1;
	if (argc == 2 && cmd_arg_long(argv[1], 1, 1024, argv[0], "count", &n, err))
		return CMD_ERROR;
	if ((ts && cmd_arg_float(ts, argv[0], "temperature", &temp, err)) || (ps && cmd_arg_float(ps, argv[0], "top-p", &top_p, err)) ||
	    (ss && cmd_arg_long(ss, 0, INT32_MAX, argv[0], "seed", &seed, err)))
		return CMD_ERROR;
	if (temp < 0 || top_p <= 0 || top_p > 1)
		return cmd_usage(err, argv[0], "the temperature must be >= 0 and top-p in (0, 1]");
	if (s->n_ids + n > s->model->cfg.max_ctx)
		n = s->model->cfg.max_ctx - s->n_ids;
	if (n <= 0)
		return cmd_fail(err, argv[0], "the prompt already fills the model's context");
	const rs_config *c = &s->model->cfg;
	int32_t stop1 = s->tok ? tok_eos(s->tok) : c->eos_id, stop2 = s->tok ? tok_eot(s->tok) : -1;
	rs_engine *e = cmd_scratch_engine(s, 1, err);
	if (!e)
		return CMD_ERROR;
	eng_set_cache_filter(e, "!*");
	eng_set_logits_all(e, 0);
	eng_set_fast(e, fast);
	if (eng_set_prompt(e, s->ids, s->n_ids, err)) {
		eng_free(e);
		return cmd_fail(err, argv[0], "%s", err->msg);
	}
	eng_run(e);
	rs_sampler smp;
	sampler_init(&smp, c->vocab, temp, top_p, (uint64_t)seed);
	int32_t *out = rs_xmalloc(sizeof(int32_t) * (size_t)(s->n_ids + (n > 0 ? n : 1)));
	memcpy(out, s->ids, sizeof(int32_t) * (size_t)s->n_ids);
	int k = 0, stopped = 0;
	const float *lg = eng_last_logits(e);
	while (k < n && lg) {
		int32_t t = (int32_t)sampler_sample(&smp, lg);
		out[s->n_ids + k++] = t;
		if (!no_stop && (t == stop1 || t == stop2)) {
			stopped = 1;
			break;
		}
		if (k < n && session_should_stop(s)) { /* Esc in the screen */
			stopped = 2;
			break;
		}
		if (k < n)
			lg = eng_decode(e, t, err);
	}
	sampler_free(&smp);
	char slow[200] = "";
	if (stream_active(eng_stream(e))) { /* a model stepped from disk: every token reads every weight */
		rs_stream_stats ss;
		stream_stats(eng_stream(e), &ss);
		char a[32], r[32];
		snprintf(slow, sizeof slow, "stepped from disk: each token read %s%s%s\n",
			 rs_format_size((double)ss.pass_bytes, a, sizeof a), ss.disk_rate > 0 ? ", the disk gave " : "",
			 ss.disk_rate > 0 ? rs_format_size(ss.disk_rate, r, sizeof r) : "");
		if (ss.disk_rate > 0)
			snprintf(slow + strlen(slow) - 1, sizeof slow - strlen(slow) + 1, "/s\n");
	}
	eng_free(e);
	if (slow[0])
		session_printf(s, "%s", slow);
	session_printf(s, "generated %d token%s (%s%s%s)\nids:", k, k == 1 ? "" : "s", temp > 0 ? "sampled" : "greedy",
		       stopped == 1 ? ", stopped at end of text" : stopped == 2 ? ", stopped by a key" : "",
		       fast ? "; --fast: 8-bit activations after the prompt, not the exact computation" : "");
	for (int i = 0; i < k; i++)
		session_printf(s, " %d", (int)out[s->n_ids + i]);
	session_printf(s, "\n");
	char *text = NULL;
	size_t len;
	if (s->tok && tok_decode(s->tok, out + s->n_ids, k, 0, &text, &len, NULL) == 0) {
		char tb[160];
		session_printf(s, "text:");
		for (int i = 0; i < k; i++)
			session_printf(s, " %s", cmd_fmt_token(s, out[s->n_ids + i], tb, sizeof tb));
		session_printf(s, "\n");
	}
	cmd_status st = CMD_OK;
	if (append && k) {
		char *full = NULL;
		if (s->prompt && text) {
			full = rs_xmalloc(strlen(s->prompt) + strlen(text) + 1);
			strcpy(full, s->prompt);
			strcat(full, text);
		}
		if (session_set_ids(s, out, s->n_ids + k, err))
			st = cmd_fail(err, argv[0], "%s", err->msg);
		else {
			s->prompt = full;
			full = NULL;
			s->generated = k;
			session_printf(s, "the prompt is now %d tokens\n", s->n_ids);
		}
		free(full);
	}
	free(text);
	free(out);
	return st;
}

/* ---------------------------------------------------------------- table */
#define A(...) {__VA_ARGS__}

const cmd_def cmds_exp[] = {
	{"ablate", "L H [zero|mean [--over FILE]] | HOOK [zero|mean [--over FILE]] [--head H | --kv-head K] [--pos P] [--index I]",
	 "knock out a head (or any hook, neuron, position)",
	 "ablate L H sets the output of head H of layer L (its attn.hook_z) to zero, or with mean to its mean over "
	 "the prompt's positions. mean --over FILE uses instead the mean at each position over the prompts of FILE (one a line, each as long as this prompt in tokens; # comments; a name not found here is looked up in the lessons directory, which has ioi-abc.txt for the built-in model): dataset-mean ablation. ablate HOOK does the same to a whole hook or a part of it: --head H (always a query head; on k, v and rot_k the kv head it reads) or --kv-head K for the hooks "
	 "with heads, --pos for one position, --index for one entry of the last axis (an MLP neuron of "
	 "mlp.hook_post, say). The pass is recomputed; when the logits are computed, the change of the next-token "
	 "prediction at the selected position is shown.",
	 A(ARG_LAYER, ARG_HEAD, ARG_WORD), "zero mean", c_ablate, "--head --kv-head --pos --index --over", "Experiments", CMD_REPLAY},
	{"patch", "HOOK [POS] from PROMPT [--head H | --kv-head K]", "activation patching from another prompt",
	 "Runs PROMPT (text, or --ids 1,2,3 after from) on the clean model and puts its HOOK activation into this "
	 "run: at every position, or at POS only; --head H for one query head of q, z or the pattern, and on k and v the kv head query head H reads; --kv-head K names a kv head of k or v. Both prompts "
	 "must have the same number of tokens.",
	 A(ARG_HOOK, ARG_POS, ARG_WORD, ARG_TEXT), "from", c_patch, "--head --kv-head --ids", NULL, CMD_REPLAY},
	{"steer", "HOOK VECTOR SCALE [--pos P]", "add a vector to a hook (activation steering)",
	 "Adds SCALE times VECTOR to HOOK at every position (or --pos P). VECTOR is dim:I (one dimension), "
	 "embed:TOKEN or unembed:TOKEN (a row of the embedding or unembedding), diff:A|B (HOOK's activation at the "
	 "last position of prompt A minus that of prompt B), file:PATH[:NAME] (an F32 tensor of a safetensors "
	 "file) or feature:N (feature N's decoder direction in the SAE, a unit vector: see sae and features).",
	 A(ARG_HOOK, ARG_WORD, ARG_NUMBER), "dim: embed: unembed: diff: file: feature:", c_steer, "--pos --head --kv-head", NULL, CMD_REPLAY},
	{"sweep", "patch HOOK [--heads [--pos P]] from PROMPT | ablate heads|attn|mlp [zero|mean] [--values]",
	 "patch or ablate every layer and position (or head) in turn",
	 "sweep patch reruns this prompt (the corrupted one) once per layer and position with HOOK (resid_pre, "
	 "attn_out, mlp_out...) taken from the clean run of PROMPT (the same length), or once per layer and head "
	 "with --heads (z, q, k, v, pattern; at every position or --pos P; its columns are query heads h, or kv heads "
	 "kv for k and v). The grid shows how much of the clean "
	 "metric comes back: 0 as corrupted, 1 as clean. sweep ablate ablates each head, attention layer or MLP "
	 "in turn and shows how the metric changes. On a screen too narrow for the grid it prints as a heatmap; "
	 "--values prints the numbers. The metric is the logit of --metric TOKEN (minus that of "
	 "--vs TOKEN) at --at POS (default the last); by default the clean run's top token against the corrupted "
	 "run's (patching) or the model's top token (ablation). Both run on the clean model, without the "
	 "session's interventions.",
	 A(ARG_WORD, ARG_HOOK, ARG_WORD, ARG_TEXT), "patch ablate heads attn mlp zero mean from", cmd_sweep_run,
	 "--heads --pos --metric --vs --at --values", NULL, CMD_REPLAY},
	{"interventions", "", "list the interventions in effect",
	 "Each has a number (for clear N) and says what it does.", A(ARG_NONE), NULL, c_interventions, NULL, NULL, CMD_REPLAY | CMD_VIEW},
	{"clear", "[N|all]", "remove one intervention, or all",
	 "Without an argument or with all, removes every intervention; the pass is recomputed.", A(ARG_WORD), "all",
	 c_clear, NULL, NULL, CMD_REPLAY},
	{"generate", "[N] [--append] [--no-stop] [--temp T] [--top-p P] [--seed S] [--fast]", "continue the prompt N tokens",
	 "Greedy decoding by default (sampling with --temp), with the interventions in effect, in a side run: the "
	 "session's pass is left alone. Stops at the end-of-text token unless --no-stop. --append makes the "
	 "continuation part of the prompt (a new pass). --fast quantizes each new token's activations to 8 bits "
	 "before the Q4_K and Q6_K products, as llama.cpp does: faster, not the exact f32 computation.",
	 A(ARG_NUMBER), NULL, c_generate, "--append --no-stop --temp --top-p --seed --fast", NULL, CMD_REPLAY},
	{"export", "FILE [HOOKS]", "save cached activations (.safetensors or .json)",
	 "Writes the computed hooks up to the stop shown whose names match HOOKS (comma-separated globs, ! "
	 "excludes; default all) with the prompt's input_ids, as safetensors (readable by Python's safetensors, "
	 "numpy and torch) or JSON, chosen by FILE's extension.",
	 A(ARG_FILE, ARG_HOOK), NULL, cmd_export_run, NULL, NULL, 0},
	{0},
};
