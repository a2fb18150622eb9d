/* session.c - one tutor session: model, tokenizer, engine, prompt and view.
 *
 * The session keeps the learner's view (view_stop) apart from what the engine
 * has computed (eng_stop): stepping forward computes only what is missing,
 * stepping back just lowers the view, so every number shown comes from the
 * engine's cache and stepping back shows exactly what was shown before.
 */
#include "config.h"
#include "session.h"
#include "datadir.h"
#include "feat.h"
#include "stream.h"
#include "tokenizer.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* The activation cache grows with T² (attention scores and patterns of every
 * layer): prompts whose cache would pass this many MiB are refused. */
#define SESSION_CACHE_MB 8192

static const char *const pane_names[PANE_N][2] = {
#define ROW(id, name, other, what) [id] = {name, other},
	RS_PANE_TABLE(ROW)
#undef ROW
};

const char *session_pane_name(int p, int other)
{
	return p >= 0 && p < PANE_N ? pane_names[p][other != 0] : "?";
}

int session_pane_parse(const char *name, int other)
{
	for (int p = 0; p < PANE_N; p++)
		if (!strcmp(name, pane_names[p][0]) || (other && !strcmp(name, pane_names[p][1])))
			return p;
	return -1;
}

int session_opt(session_opts *o, int argc, char **argv, int *i)
{
	static const char *const names[] = {"--model", "--tokenizer", "--prompt", "--ids"};
	const char **slots[] = {&o->model, &o->tokenizer, &o->prompt, &o->ids};
	if (*i + 1 >= argc)
		return 0;
	for (size_t k = 0; k < sizeof names / sizeof *names; k++)
		if (!strcmp(argv[*i], names[k])) {
			*slots[k] = argv[++*i];
			return 1;
		}
	return 0;
}

const char *session_default_model(void)
{
	static char path[4096];
	return rs_data_path("RESIDUAL_MODEL", "residual-tiny.gguf", "assets/residual-tiny.gguf", path, sizeof path);
}

static void bump(rs_session *s)
{
	s->version++;
}

int session_n_stops(const rs_session *s)
{
	return hook_n_stops(s->model->cfg.n_layers);
}

static void free_notes(rs_session *s)
{
	int n = s->eng ? eng_n_interventions(s->eng) : 0;
	for (int i = 0; s->iv_notes && i < n; i++)
		free(s->iv_notes[i]);
	free(s->iv_notes);
	s->iv_notes = NULL;
}

/* Forgets the hooks computed on demand (the pass they belong to is gone). */

rs_session *session_create(const char *model_path, rs_err *err)
{
	if (!model_path && !(model_path = session_default_model())) {
		rs_fail(err, "the built-in model residual-tiny.gguf is not installed (set RESIDUAL_MODEL or use --model PATH)");
		return NULL;
	}
	rs_model *m = model_load(model_path, err);
	if (!m)
		return NULL;
	rs_engine *e = eng_create(m, err);
	if (!e) {
		model_free(m);
		return NULL;
	}
	rs_session *s = rs_xcalloc(1, sizeof *s);
	s->model = m;
	s->eng = e;
	s->tok = m->tok;
	s->model_path = rs_xstrdup(model_path);
	s->add_bos = s->tok ? tok_add_bos(s->tok) : 0;
	s->view_stop = -1;
	s->gran = GRAN_HOOK;
	s->topk = 10;
	s->panes = SESSION_PANES_DEFAULT;
	s->output = rs_xcalloc(1, 256);
	s->output_cap = 256;
	s->version = 1;
	return s;
}

void session_free(rs_session *s)
{
	if (!s)
		return;
	if (s->upper && s->upper_free)
		s->upper_free(s->upper);
	free_notes(s);
	feat_free(s);
	eng_free(s->eng);
	if (s->own_tok)
		tok_free(s->tok);
	model_free(s->model);
	free(s->model_path);
	free(s->prompt);
	free(s->ids);
	free(s->output);
	free(s);
}

/* ---------------------------------------------------------------- output */
void session_clear_output(rs_session *s)
{
	s->output_len = 0;
	s->output[0] = 0;
	bump(s);
}

/* A command printing more than this (the whole attention matrix of a long
 * prompt, say) is cut, so that typing cannot exhaust memory. */
#define OUTPUT_LIMIT ((size_t)64 << 20)
static const char truncated[] = "\n[output cut at 64 MiB]\n";

void session_printf(rs_session *s, const char *fmt, ...)
{
	if (s->output_len >= OUTPUT_LIMIT)
		return;
	va_list ap;
	va_start(ap, fmt);
	int n = vsnprintf(s->output + s->output_len, s->output_cap - s->output_len, fmt, ap);
	va_end(ap);
	if (n < 0)
		return;
	if (s->output_len + (size_t)n + 1 > s->output_cap) {
		size_t cap = s->output_cap * 2;
		while (cap < s->output_len + (size_t)n + 1)
			cap *= 2;
		s->output = rs_xrealloc(s->output, cap);
		s->output_cap = cap;
		va_start(ap, fmt);
		vsnprintf(s->output + s->output_len, s->output_cap - s->output_len, fmt, ap);
		va_end(ap);
	}
	s->output_len += (size_t)n;
	if (s->output_len >= OUTPUT_LIMIT) { /* room for the note: cap > limit + its size */
		s->output_len = OUTPUT_LIMIT;
		if (s->output_cap < OUTPUT_LIMIT + sizeof truncated) {
			s->output = rs_xrealloc(s->output, OUTPUT_LIMIT + sizeof truncated);
			s->output_cap = OUTPUT_LIMIT + sizeof truncated;
		}
		memcpy(s->output + OUTPUT_LIMIT, truncated, sizeof truncated);
		s->output_len += sizeof truncated - 1;
	}
	bump(s);
}

/* ---------------------------------------------------------------- prompt */
static double cache_bytes_with(const rs_session *s, const char *filter, int T)
{
	double bytes = 0;
	char hn[96];
	for (int t = 0; t < session_n_stops(s); t++) {
		rs_hook h = hook_at(t, s->model->cfg.n_layers);
		if (hook_glob_match(filter, hook_name(h, hn, sizeof hn)))
			bytes += (double)eng_hook_shape(s->model, h, T, T).numel * sizeof(float);
	}
	return bytes;
}

/* The cache a big model keeps by default when the whole cache would not fit
 * its budget: the residual stream and the small hooks; attention scores and
 * patterns and the MLP's wide activations only where `set cache` asks. */
#define SESSION_BIG_CACHE "!*attn.hook_attn_scores,!*attn.hook_pattern,!*mlp.hook_pre,!*mlp.hook_pre_linear,!*mlp.hook_post"

double session_cache_budget(const rs_session *s)
{
	if (s->lean_cache)
		return 16.0 * 1024 * 1024;
	rs_stream *st = eng_stream(s->eng);
	double b = (double)stream_budget(st) / 8;
	return b < 1024.0 * 1024 * 1024 ? b : 1024.0 * 1024 * 1024;
}

/* A follower's cache (classroom): the residual stream between layers (what
 * the norms and lens panes show, and where a rerun starts), the norms' scales,
 * rotated keys and values (a rerun from a layer's start needs the KV cache
 * of the layers before), the final norm and the logits. The rest is one
 * layer's rerun away, and a follower's private memory is what thirty
 * students multiply. */
#define SESSION_LEAN_CACHE \
	"hook_embed,blocks.*.hook_resid_pre,blocks.*.hook_resid_post,blocks.*.hook_scale,blocks.*.attn.hook_rot_k,blocks.*.attn.hook_v," \
	"ln_final.*,logits"

const char *session_cache_policy(const rs_session *s, int T)
{
	if (s->cache_filter[0])
		return s->cache_filter;
	if (s->lean_cache)
		return SESSION_LEAN_CACHE;
	if (stream_active(eng_stream(s->eng)) && cache_bytes_with(s, "", T) > session_cache_budget(s))
		return SESSION_BIG_CACHE;
	return "";
}

double session_cache_bytes(const rs_session *s, int T)
{
	return cache_bytes_with(s, session_cache_policy(s, T), T);
}

int session_stream_note(const rs_session *s, char *buf, size_t n)
{
	rs_stream *st = eng_stream(s->eng);
	if (!stream_active(st))
		return 0;
	rs_stream_stats ss;
	stream_stats(st, &ss);
	char a[32], b[32], r[32], t[32];
	rs_format_size((double)ss.pass_bytes, a, sizeof a);
	rs_format_budget(ss.budget, b, sizeof b);
	if (ss.disk_rate > 0)
		snprintf(buf, n, "the weights pass the %s memory budget: this pass reads %s from disk; at the %s/s "
			 "the last pass read, about %s a pass (each decoded or generated token is a pass too)", b, a,
			 rs_format_size(ss.disk_rate, r, sizeof r), rs_format_secs((double)ss.pass_bytes / ss.disk_rate, t, sizeof t));
	else
		snprintf(buf, n, "the weights pass the %s memory budget: this pass reads %s from disk (at 3 GB/s "
			 "about %s per token; the disk is measured as it runs)", b, a,
			 rs_format_secs((double)ss.pass_bytes / 3e9, t, sizeof t));
	return 1;
}

int session_cache_note(const rs_session *s, char *buf, size_t n)
{
	double need = s->n_ids ? session_cache_bytes(s, s->n_ids) : 0;
	size_t used = 0;
	buf[0] = 0;
	if (need >= SESSION_CACHE_NOTE_MB * 1024.0 * 1024.0 ||
	    (s->n_ids && stream_active(eng_stream(s->eng)))) {
		const char *pol = session_cache_policy(s, s->n_ids);
		snprintf(buf, n, "this prompt needs %.0f MiB of activation cache%s", need / (1 << 20),
			 !s->cache_filter[0] && pol[0] ? " (big-model default: no attention patterns or MLP "
							 "activations; set cache overrides)" : "");
		used = strlen(buf);
	}
	if (used + 3 < n && session_stream_note(s, buf + used + (used ? 2 : 0), n - used - (used ? 2 : 0)) && used)
		memcpy(buf + used, "; ", 2);
	return buf[0] != 0;
}

int session_set_cache_filter(rs_session *s, const char *globs, rs_err *err)
{
	if (globs && strlen(globs) >= sizeof s->cache_filter)
		return rs_fail(err, "the cache globs are too long (at most %zu bytes)", sizeof s->cache_filter - 1);
	snprintf(s->cache_filter, sizeof s->cache_filter, "%s", globs ? globs : "");
	eng_set_cache_filter(s->eng, s->cache_filter[0] ? s->cache_filter : "*");
	eng_set_lazy(s->eng, s->lean_cache && !s->cache_filter[0]);
	return session_rerun(s, err);
}

int session_set_ids(rs_session *s, const int32_t *ids, int n, rs_err *err)
{
	if (n > s->model->cfg.max_ctx)
		return rs_fail(err, "the prompt has %d tokens but the model's context is %d", n, s->model->cfg.max_ctx);
	const char *env = getenv("RESIDUAL_CACHE_MB");
	double limit = (env && atof(env) > 0 ? atof(env) : SESSION_CACHE_MB) * 1024.0 * 1024.0;
	const char *policy = session_cache_policy(s, n);
	double need = session_cache_bytes(s, n);
	if (need > limit)
		return rs_fail(err, "the activation cache of %d tokens would take %.0f MiB (limit %.0f MiB, see "
			       "RESIDUAL_CACHE_MB); keep fewer hooks, e.g. set cache '!*attn_scores*,!*pattern*'",
			       n, need / (1 << 20), limit / (1 << 20));
	if (eng_set_prompt(s->eng, ids, n, err))
		return -1; /* checked before anything changes: the old prompt stays */
	eng_set_cache_filter(s->eng, policy[0] ? policy : "*");
	eng_set_lazy(s->eng, s->lean_cache && !s->cache_filter[0]);
	int32_t *copy = rs_xmalloc(sizeof(int32_t) * (size_t)n);
	memcpy(copy, ids, sizeof(int32_t) * (size_t)n);
	free(s->ids);
	s->ids = copy;
	s->n_ids = n;
	free(s->prompt);
	s->prompt = NULL;
	s->generated = 0;
	s->view_stop = -1;
	s->sel_pos = n - 1; /* the last position predicts the next token */
	bump(s);
	return 0;
}

int session_set_prompt(rs_session *s, const char *text, rs_err *err)
{
	if (!s->tok)
		return rs_fail(err, "this model has no tokenizer: give the prompt as token ids (prompt --ids 1,2,3)");
	int32_t *ids = NULL;
	int n = 0;
	int flags = TOK_PARSE_SPECIAL | (s->add_bos ? TOK_ADD_BOS : 0);
	if (tok_encode(s->tok, text, strlen(text), flags, &ids, NULL, &n, err))
		return -1;
	int rc = session_set_ids(s, ids, n, err);
	free(ids);
	if (rc)
		return -1;
	s->prompt = rs_xstrdup(text);
	return 0;
}

/* ---------------------------------------------------------------- stepping */
int session_should_stop(rs_session *s)
{
	return s->interrupt && s->interrupt(s->interrupt_ctx);
}

/* The progress line of a pass stepped from disk, at each new layer. */
static void progress(rs_session *s, int *last_layer)
{
	rs_stream *st = eng_stream(s->eng);
	if (!stream_active(st))
		return;
	rs_stream_stats ss;
	stream_stats(st, &ss);
	if (ss.layer == *last_layer || ss.layer < 0)
		return;
	*last_layer = ss.layer;
	int L = s->model->cfg.n_layers;
	char line[160], rd[32];
	int k = snprintf(line, sizeof line, ss.layer < L ? "layer %d of %d" : "unembedding (after %d of %d layers)",
			 ss.layer < L ? ss.layer + 1 : L, L);
	k += snprintf(line + k, sizeof line - (size_t)k, ", %s read", rs_format_size((double)ss.disk_read, rd, sizeof rd));
	if (ss.used > 0 && ss.seconds > 1 && ss.pass_bytes > ss.used)
		snprintf(line + k, sizeof line - (size_t)k, ", about %s left",
			 rs_format_secs(ss.seconds * (double)(ss.pass_bytes - ss.used) / (double)ss.used, rd, sizeof rd));
	session_progress(s, "%s", line);
}

void session_progress(rs_session *s, const char *fmt, ...)
{
	char line[256];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(line, sizeof line, fmt, ap);
	va_end(ap);
	if (s->progress)
		s->progress(s->interrupt_ctx, line);
	else
		fprintf(stderr, "%s\n", line);
}

/* Makes sure the engine has computed stop t, and shows it. */
static int show_stop(rs_session *s, int t)
{
	int last_layer = -2;
	int last = session_n_stops(s) - 1;
	if (t > last)
		t = last;
	if (t < -1)
		t = -1;
	s->interrupted = 0;
	/* one stop at a time, so that a front end can stop a long run between
	 * two stops; the stops computed so far stay (the next move goes on) */
	while (t >= 0 && eng_stop(s->eng) < t && eng_step(s->eng) >= 0) {
		progress(s, &last_layer);
		if (eng_stop(s->eng) < t && session_should_stop(s)) {
			s->interrupted = 1;
			t = eng_stop(s->eng);
		}
	}
	if (t > eng_stop(s->eng)) /* cannot happen with a prompt set; stay safe */
		t = eng_stop(s->eng);
	s->view_stop = t;
	rs_hook h = session_hook(s);
	if (hook_is_layer_kind(h.kind))
		s->sel_layer = h.layer;
	bump(s);
	return t;
}

int session_step(rs_session *s, int n)
{
	if (!s->n_ids)
		return s->view_stop;
	int L = s->model->cfg.n_layers, last = session_n_stops(s) - 1, t = s->view_stop;
	for (int i = 0; i < n && t < last; i++) {
		do
			t++;
		while (t < last && !hook_in_gran(hook_at(t, L).kind, s->gran));
	}
	return show_stop(s, t);
}

int session_back(rs_session *s, int n)
{
	if (!s->n_ids)
		return s->view_stop;
	int L = s->model->cfg.n_layers, t = s->view_stop;
	for (int i = 0; i < n && t >= 0; i++) {
		do
			t--;
		while (t >= 0 && !hook_in_gran(hook_at(t, L).kind, s->gran));
	}
	return show_stop(s, t);
}

int session_goto(rs_session *s, rs_hook h)
{
	if (!s->n_ids)
		return s->view_stop;
	if (!hook_is_layer_kind(h.kind))
		h.layer = -1;
	return show_stop(s, hook_stop(h, s->model->cfg.n_layers));
}

int session_run_layer(rs_session *s)
{
	if (!s->n_ids)
		return s->view_stop;
	rs_hook h = session_hook(s);
	int L = s->model->cfg.n_layers;
	if (h.kind == HOOK_N_KINDS || h.kind == HOOK_EMBED)
		h = (rs_hook){HOOK_RESID_POST, 0};
	else if (hook_is_layer_kind(h.kind))
		h = (rs_hook){HOOK_RESID_POST, h.layer};
	else
		return session_run_all(s);
	if (hook_stop(h, L) == s->view_stop && h.layer + 1 < L)
		h.layer++; /* already at the end of this layer: the next one */
	return show_stop(s, hook_stop(h, L));
}

int session_run_all(rs_session *s)
{
	if (!s->n_ids)
		return s->view_stop;
	return show_stop(s, session_n_stops(s) - 1);
}

int session_rerun(rs_session *s, rs_err *err)
{
	if (!s->n_ids)
		return 0;
	int keep = s->view_stop;
	if (eng_set_prompt(s->eng, s->ids, s->n_ids, err))
		return -1;
	show_stop(s, keep);
	return 0;
}

rs_hook session_hook(const rs_session *s)
{
	if (s->view_stop < 0)
		return (rs_hook){HOOK_N_KINDS, -1};
	return hook_at(s->view_stop, s->model->cfg.n_layers);
}


const rs_act *session_compute_act(rs_session *s, rs_hook h, rs_err *err)
{
	const rs_act *a = session_act(s, h);
	if (a)
		return a;
	int L = s->model->cfg.n_layers;
	char hn[96];
	hook_name(h, hn, sizeof hn);
	if (s->view_stop < 0 || hook_stop(h, L) > s->view_stop) {
		rs_fail(err, "%s is not computed yet", hn);
		return NULL;
	}
	if (s->cache_filter[0] || !hook_is_layer_kind(h.kind)) {
		rs_fail(err, "%s was not kept in the cache (see set cache)", hn);
		return NULL;
	}
	rs_act sh = eng_hook_shape(s->model, h, s->n_ids, s->n_ids);
	if ((double)eng_lazy_bytes(s->eng) + (double)sh.numel * sizeof(float) > session_cache_budget(s))
		eng_drop_lazy(s->eng); /* the oldest go: start the on-demand cache again */
	if (!(a = eng_compute_act(s->eng, h, err)))
		return NULL;
	bump(s);
	return a;
}

/* session_act, computing (a lean session's engine is lazy) or not. */
static const rs_act *act_lookup(const rs_session *s, rs_hook h, int compute)
{
	if (h.kind < 0 || h.kind >= HOOK_N_KINDS || s->view_stop < 0)
		return NULL;
	if (!hook_is_layer_kind(h.kind))
		h.layer = -1;
	else if (h.layer < 0 || h.layer >= s->model->cfg.n_layers)
		return NULL;
	if (hook_stop(h, s->model->cfg.n_layers) > s->view_stop)
		return NULL;
	return compute ? eng_act(s->eng, h) : eng_act_kept(s->eng, h); /* the recomputed ones included */
}

const rs_act *session_act(const rs_session *s, rs_hook h) { return act_lookup(s, h, 1); }
const rs_act *session_act_kept(const rs_session *s, rs_hook h) { return act_lookup(s, h, 0); }

int session_can_show(const rs_session *s, rs_hook h)
{
	if (act_lookup(s, h, 0))
		return 1;
	int L = s->model ? s->model->cfg.n_layers : 0;
	return s->model && s->view_stop >= 0 && !s->cache_filter[0] && hook_is_layer_kind(h.kind) &&
	       h.layer >= 0 && h.layer < L && hook_stop(h, L) <= s->view_stop;
}

const rs_act *session_view_act(const rs_session *s, rs_hook h)
{
	const rs_act *a = session_act(s, h);
	if (a || !session_can_show(s, h))
		return a;
	rs_err err; /* the pane says what is missing; the reason is cmd_need_act's to give */
	return session_compute_act((rs_session *)s, h, &err);
}

/* ---------------------------------------------------------------- interventions */
int session_add_intervention(rs_session *s, const rs_intervention *iv, const char *note, rs_err *err)
{
	int n = eng_n_interventions(s->eng);
	int id = eng_add_intervention(s->eng, iv, err);
	if (id < 0)
		return -1;
	s->iv_notes = rs_xrealloc(s->iv_notes, sizeof *s->iv_notes * (size_t)(n + 1));
	s->iv_notes[id] = rs_xstrdup(note ? note : "");
	if (session_rerun(s, err)) {
		session_remove_intervention(s, id);
		return -1;
	}
	return id;
}

void session_remove_intervention(rs_session *s, int i)
{
	int n = eng_n_interventions(s->eng);
	if (i < 0 || i >= n)
		return;
	eng_remove_intervention(s->eng, i);
	free(s->iv_notes[i]);
	memmove(&s->iv_notes[i], &s->iv_notes[i + 1], sizeof *s->iv_notes * (size_t)(n - i - 1));
	session_rerun(s, NULL);
}

void session_clear_interventions(rs_session *s)
{
	free_notes(s);
	eng_clear_interventions(s->eng);
	session_rerun(s, NULL);
}

const char *session_iv_note(const rs_session *s, int i)
{
	if (i < 0 || i >= eng_n_interventions(s->eng) || !s->iv_notes)
		return "";
	return s->iv_notes[i];
}

/* ---------------------------------------------------------------- models */
int session_set_tokenizer(rs_session *s, const char *path, rs_err *err)
{
	rs_tokenizer *t = tok_load(path, err);
	if (!t)
		return -1;
	if (tok_n_vocab(t) > s->model->cfg.vocab) {
		rs_fail(err, "%s: the tokenizer has %d tokens but the model only %d", path, (int)tok_n_vocab(t),
			s->model->cfg.vocab);
		tok_free(t);
		return -1;
	}
	if (s->own_tok)
		tok_free(s->tok);
	s->tok = t;
	s->own_tok = 1;
	s->add_bos = tok_add_bos(t);
	bump(s);
	return 0;
}

int session_load(rs_session *s, const char *model_path, rs_err *err)
{
	rs_model *m = model_load(model_path, err);
	if (!m)
		return -1; /* the old model stays */
	rs_engine *e = eng_create(m, err);
	if (!e) {
		model_free(m);
		return -1;
	}
	eng_set_cache_filter(e, s->cache_filter[0] ? s->cache_filter : "*");
	free_notes(s); /* interventions name hooks of the old model */
	eng_free(s->eng);
	rs_tokenizer *keep = NULL;
	if (!m->tok && s->own_tok && tok_n_vocab(s->tok) <= m->cfg.vocab)
		keep = s->tok; /* a tokenizer given with --tokenizer still fits */
	else if (s->own_tok)
		tok_free(s->tok);
	model_free(s->model);
	s->model = m;
	s->eng = e;
	s->tok = m->tok ? m->tok : keep;
	s->own_tok = !m->tok && keep;
	if (s->tok)
		s->add_bos = tok_add_bos(s->tok);
	free(s->model_path);
	s->model_path = rs_xstrdup(model_path);
	if (s->sel_layer >= m->cfg.n_layers)
		s->sel_layer = m->cfg.n_layers - 1;
	if (s->sel_head >= m->cfg.n_heads)
		s->sel_head = m->cfg.n_heads - 1;
	/* the prompt again: its text with the new tokenizer, or its ids if they fit */
	char *text = s->prompt ? rs_xstrdup(s->prompt) : NULL;
	int rc = 0, had_ids = s->n_ids;
	if (text && s->tok)
		rc = session_set_prompt(s, text, err);
	else if (text)
		rc = rs_fail(err, "the new model has no tokenizer");
	else if (s->n_ids)
		rc = session_set_ids(s, s->ids, s->n_ids, err);
	if (rc) { /* keep the session usable without a pass; the text stays for the learner */
		free(s->ids);
		s->ids = NULL;
		s->n_ids = 0;
		free(s->prompt);
		s->prompt = text;
		text = NULL;
		s->view_stop = -1;
		s->sel_pos = 0;
		if (s->prompt)
			rs_fail_prefix(err, "the prompt was kept but not tokenized again");
		else
			rs_fail_prefix(err, "the prompt of %d token ids was dropped", had_ids);
	}
	free(text);
	bump(s);
	return rc ? 1 : 0;
}
