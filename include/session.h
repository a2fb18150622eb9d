/* session.h - the state of one tutor session, in plain C (no curses).
 *
 * A session owns a model, its tokenizer and a stepping engine, the prompt,
 * and what the learner is looking at (selected position, layer, head, the stop
 * shown). Commands (commands.h) change a session; the screen (ui/) only draws
 * one; lessons drive one through commands. Everything a learner can see is
 * computed by the engine: the session never invents a number.
 *
 * Viewing vs computing: the engine computes forward to eng_stop(); the learner
 * looks at view_stop <= eng_stop(). Stepping back lowers view_stop only, and
 * views read tensors of stops <= view_stop from the engine's cache, so
 * stepping back shows exactly what was shown before.
 */
#ifndef RS_SESSION_H
#define RS_SESSION_H

#include <stddef.h>
#include <stdint.h>

#include "engine.h"
#include "err.h"
#include "hooks.h"
#include "model.h"

struct rs_tokenizer;
struct rs_strbuf;

/* The panes the screen can show (bit i of rs_session.panes is pane i), one
 * row each: X(id, name, other name, what it shows). The name is the one of
 * the `pane` command and of lesson files; `highlight` takes either. How a
 * pane is drawn is ui/'s (its pane table). */
#define RS_PANE_TABLE(X) \
	X(PANE_TOKENS,   "tokens",   "token",      "token strip with the selected position") \
	X(PANE_PIPELINE, "pipeline", "pipe",       "where the engine stands: embed, per layer norm/attn/add/norm/mlp/add, unembed") \
	X(PANE_VECTOR,   "vector",   "vec",        "vector inspector of the current hook at the selected position") \
	X(PANE_ATTN,     "attn",     "attention",  "attention pattern of the selected layer and head") \
	X(PANE_NORMS,    "norms",    "norm",       "residual-stream norms per layer and position") \
	X(PANE_LENS,     "lens",     "logit-lens", "logit-lens grid: layer x position, top token and probability") \
	X(PANE_TOPK,     "topk",     "top",        "top-k next tokens with probabilities") \
	X(PANE_LESSON,   "lesson",   "lesson",     "lesson text") \
	X(PANE_OUTPUT,   "output",   "out",        "output of the last command") \
	X(PANE_FEATURES, "features", "sae",        "the SAE's most active features at the selected position")

typedef enum rs_pane {
#define RS_PANE_ENUM(id, name, other, what) id,
	RS_PANE_TABLE(RS_PANE_ENUM)
#undef RS_PANE_ENUM
	PANE_N
} rs_pane;

/* A pane's name ("attn"), its other name ("attention"; other nonzero), or "?". */
const char *session_pane_name(int p, int other);
/* The pane a name means (with other, the other names too), or -1. */
int session_pane_parse(const char *name, int other);

#define SESSION_PANES_DEFAULT ((1u << PANE_TOKENS) | (1u << PANE_PIPELINE) | (1u << PANE_VECTOR) | \
			       (1u << PANE_ATTN) | (1u << PANE_NORMS) | (1u << PANE_LENS) | \
			       (1u << PANE_TOPK) | (1u << PANE_OUTPUT))

typedef struct rs_session {
	rs_model *model;            /* owned */
	struct rs_tokenizer *tok;   /* the model's, or one loaded with --tokenizer; NULL: ids only */
	int own_tok;
	rs_engine *eng;             /* owned */
	char *model_path;
	/* the prompt */
	char *prompt;               /* its text, or NULL when given as ids */
	int32_t *ids;               /* [n_ids] */
	int n_ids;
	int add_bos;                /* prepend BOS when tokenizing a prompt (default: the tokenizer's) */
	/* what the learner looks at */
	int view_stop;              /* stop shown; -1 before hook_embed; <= eng_stop(eng) */
	int sel_pos;                /* 0 .. n_ids-1 */
	int sel_layer;              /* 0 .. n_layers-1 */
	int sel_head;               /* 0 .. n_heads-1 */
	rs_gran gran;               /* stop granularity for step/back */
	int vec_full;               /* vector inspector shows every number */
	int attn_values;            /* attention pane shows values, not only the heatmap */
	int topk;                   /* k of the top-k pane (default 10) */
	unsigned panes;             /* bitmask of rs_pane to show (lessons may narrow it) */
	char highlight[128];        /* what a lesson asks to highlight, "" for nothing */
	int output_view;            /* what a lesson step asks of the output pane:
				     * 0 as usual, 1 tall (its text whole when it fits),
				     * 2 opened in the box over the panes */
	unsigned output_view_gen;   /* bumped each time a step asks for the box */
	int out_cols;               /* the columns the output is read in (the screen's box);
				     * 0: any (batch mode prints whole tables) */
	/* text the last command produced, for PANE_OUTPUT (batch mode prints it) */
	char *output;
	/* bumped on every change, so views can redraw only what changed */
	uint64_t version;
	/* --- added by the commands module --- */
	size_t output_len, output_cap; /* output holds output_len bytes (NUL-terminated) */
	char **iv_notes;            /* [eng_n_interventions] how each intervention came about */
	int restricted;             /* classroom/fuzzing: load and export take only relative paths
				     * without "..", so typed commands cannot touch other files */
	int generated;              /* tokens appended by `generate --append` (for display) */
	char cache_filter[256];     /* the engine's cache globs ("" for all), for memory estimates */
	int lean_cache;             /* classroom followers: keep the residual stream and the small
				     * hooks only; what a pane or command shows beyond them is
				     * computed when shown (session_view_act) */
	/* --- the sparse autoencoder of `sae`/`features` (feat.h) --- */
	struct rs_sae *sae;         /* NULL until used */
	struct rs_sae_index *sae_index;
	char *sae_model;            /* the model_path it was checked against */
	/* --- owned by the layer above (lesson/ keeps its runner here) --- */
	void *upper;                /* opaque to the session; NULL until that layer sets it */
	void (*upper_free)(void *); /* frees it with the session */
	/* --- set by the screen --- */
	/* Asked after each stop a step or run computes, while more are to come:
	 * nonzero stops the run there (Esc or Ctrl-C on a big model). NULL: never. */
	int (*interrupt)(void *ctx);
	void *interrupt_ctx;
	/* Shows one line on how a long job goes ("ablation 3 of 12"), with
	 * interrupt_ctx; NULL: session_progress writes it to stderr. */
	void (*progress)(void *ctx, const char *line);
	int interrupted;            /* the last move stopped early, at view_stop */
	/* --- classroom mode (class.h) --- */
	/* Told of every command run at the top level (not those a lesson step
	 * runs): before it runs (status -1) and after (its cmd_status), with its
	 * line and whether it ran quietly (a key). NULL: nobody listens. */
	void (*on_command)(void *ctx, const char *line, int quiet, int status);
	void *on_command_ctx;
	/* Set by the layer above with upper (lesson/): the commands that bring a
	 * session back to its state ("lesson 3", "lesson step 2"), one a line; and
	 * the question of the step shown: given NULL, the index of the question
	 * the learner is on (its key, "lesson#step", in key), given an answer, 1
	 * when it is right for question q, 0 when not; -1 when no question. */
	void (*upper_state)(const struct rs_session *s, struct rs_strbuf *cmds);
	int (*upper_question)(const struct rs_session *s, int q, const char *given, char *key, size_t n);
} rs_session;

/* The options every front end (the screen, batch mode) takes to start a
 * session: --model PATH, --tokenizer PATH, --prompt TEXT, --ids 1,2,3. */
typedef struct session_opts {
	const char *model, *tokenizer, *prompt, *ids;
} session_opts;
/* Whether argv[*i] is one of them with its value; then it is stored and *i
 * moved past the value. An option without its value is not one. */
int session_opt(session_opts *o, int argc, char **argv, int *i);

/* Opens a model (path NULL: the built-in model) and makes an empty session. */
rs_session *session_create(const char *model_path, rs_err *err);
void session_free(rs_session *s);
/* Replaces the model (the command `load`); the prompt is re-tokenized.
 * Returns 0; -1 with a message when the model cannot be used (the old one
 * stays); 1 when the new model is in use but the prompt does not fit it (too
 * long, no tokenizer, ids past its vocabulary): err says why, no pass is
 * set up, and a prompt given as text stays in s->prompt. */
int session_load(rs_session *s, const char *model_path, rs_err *err);

/* Tokenizes text (with BOS when add_bos) and starts a new forward pass
 * stopped before hook_embed; interventions stay registered. A prompt longer
 * than the model's context, or whose activation cache would pass
 * $RESIDUAL_CACHE_MB (default 8192) MiB, is refused with a message. */
int session_set_prompt(rs_session *s, const char *text, rs_err *err);
int session_set_ids(rs_session *s, const int32_t *ids, int n, rs_err *err);

/* Moves the view n stops forward at the session's granularity, computing
 * what has not been computed yet; returns the stop now shown. Every move
 * that computes stops early, at the last stop computed, when s->interrupt
 * says so (s->interrupted tells). */
int session_step(rs_session *s, int n);
/* Moves the view n stops back (no computation). */
int session_back(rs_session *s, int n);
/* Moves the view to the stop of hook h (forward or back). */
int session_goto(rs_session *s, rs_hook h);
/* Runs to the end of the current layer / of the pass. */
int session_run_layer(rs_session *s);
int session_run_all(rs_session *s);
/* Recomputes the pass (after interventions changed) up to the stop shown. */
int session_rerun(rs_session *s, rs_err *err);

/* Whether the front end asks to stop a long job now (s->interrupt; 0
 * without one): stepping asks it between stops, sweeps between cells,
 * generation between tokens. */
int session_should_stop(rs_session *s);
/* Says how a long job goes: the screen's hint line (s->progress), else a line on stderr. */
void session_progress(rs_session *s, const char *fmt, ...) RS_PRINTF(2, 3);

/* The hook shown (view_stop), as a hook. kind HOOK_N_KINDS before the first stop. */
rs_hook session_hook(const rs_session *s);
/* A hook's tensor if it is computed at or before the stop shown, else NULL. */
const rs_act *session_act(const rs_session *s, rs_hook h);
/* The same, computing a hook the big-model cache default left out (attention
 * patterns, MLP activations): the engine recomputes it from the cached
 * residual stream at the start of its layer (eng_compute_act, re-reading
 * that layer's weights) and keeps it for this pass; past
 * session_cache_budget the earlier ones go. NULL with a message when it
 * cannot be. */
const rs_act *session_compute_act(rs_session *s, rs_hook h, rs_err *err);
/* What a view shows: session_act, or, for a hook the cache policy (not `set
 * cache`) left out, session_compute_act; NULL when it cannot be shown. */
const rs_act *session_view_act(const rs_session *s, rs_hook h);
/* What the cache holds now, never computing (a lean session's engine
 * computes what session_act asks for). */
const rs_act *session_act_kept(const rs_session *s, rs_hook h);
/* Whether session_view_act would give the hook (without computing it). */
int session_can_show(const rs_session *s, rs_hook h);

/* Appends to the text of PANE_OUTPUT (printf-like) and bumps version;
 * cmd_exec clears the output before each command, so it holds what the last
 * command printed. */
void session_printf(rs_session *s, const char *fmt, ...) RS_PRINTF(2, 3);
void session_clear_output(rs_session *s);

/* Interventions go through the session so that the pass is recomputed up to
 * the stop shown and each one keeps a note of how it came about ("patched
 * from 'The cat'"). add returns the intervention's index or -1. */
int session_add_intervention(rs_session *s, const rs_intervention *iv, const char *note, rs_err *err);
void session_remove_intervention(rs_session *s, int i);
void session_clear_interventions(rs_session *s);
const char *session_iv_note(const rs_session *s, int i);

/* Uses another tokenizer (a tokenizer.json, a .gguf or a model folder) for
 * this model; fails when its vocabulary is larger than the model's. */
int session_set_tokenizer(rs_session *s, const char *path, rs_err *err);
/* Number of stops of one pass of the model. */
int session_n_stops(const rs_session *s);
/* Which hooks the cache keeps (comma-separated globs, '!' excludes; NULL or
 * "" for all); the pass is recomputed up to the stop shown. */
int session_set_cache_filter(rs_session *s, const char *globs, rs_err *err);
/* Bytes the activation cache takes for a prompt of T tokens (under the policy below). */
double session_cache_bytes(const rs_session *s, int T);
/* The cache globs in force for a prompt of T tokens: the learner's (`set
 * cache`), else, for a model stepped from disk whose whole cache would pass
 * session_cache_budget (an eighth of the memory budget, at most 1 GiB), the
 * big-model default that keeps the residual stream and small hooks and leaves
 * out attention scores/patterns and the MLP's wide activations; else "" (all). */
const char *session_cache_policy(const rs_session *s, int T);
double session_cache_budget(const rs_session *s);
/* For a prompt whose activation cache takes SESSION_CACHE_NOTE_MB or more:
 * "this prompt needs N MiB of activation cache" in buf, and 1 (else 0), so
 * that a learner knows before computing. */
#define SESSION_CACHE_NOTE_MB 64
/* For a model stepped from disk (stream.h): "this pass reads 243 GB from
 * disk; at the 3.1 GB/s this disk gave, about 80 s per token" in buf, and 1. */
int session_stream_note(const rs_session *s, char *buf, size_t n);
int session_cache_note(const rs_session *s, char *buf, size_t n);

/* The path of the built-in model (assets/residual-tiny.gguf), found in
 * $RESIDUAL_MODEL, then PKGDATADIR, then the source tree; NULL if none. */
const char *session_default_model(void);

#endif
