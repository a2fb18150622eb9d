/* commands_internal.h - what the command files share: argument parsing,
 * formatting and the themed tables that make up the registry. */
#ifndef RS_COMMANDS_INTERNAL_H
#define RS_COMMANDS_INTERNAL_H

#include <stdint.h>

#include "commands.h"
#include "vec.h"

/* The registry is the concatenation of these tables (each ends with a zero entry). */
extern const cmd_def cmds_session[];  /* commands_nav.c: prompt, model, panes, help, quit */
extern const cmd_def cmds_nav[];      /* commands_nav.c: step, back, run-to, selection */
extern const cmd_def cmds_inspect[];  /* commands_inspect.c: show, norms, attn, top, tokens */
extern const cmd_def cmds_tokens[];   /* commands_tokens.c: tokenize */
extern const cmd_def cmds_analysis[]; /* commands_analysis.c: lens, dla, heads, compare */
extern const cmd_def cmds_exp[];      /* commands_experiments.c: ablate, patch, steer, generate, export */
extern const cmd_def cmds_features[]; /* commands_features.c: sae, features, feature, steer-from */
extern cmd_handler cmd_lesson_handler;  /* commands.c: set by cmd_extend, NULL without lessons */

/* `help [NAME]` (commands.c, which knows the aliases). */
cmd_status cmd_help_run(rs_session *s, int argc, char **argv, rs_err *err);

/* `export FILE [HOOKS]` (commands_export.c) and `sweep` (commands_sweep.c). */
cmd_status cmd_export_run(rs_session *s, int argc, char **argv, rs_err *err);
cmd_status cmd_sweep_run(rs_session *s, int argc, char **argv, rs_err *err);

/* commands_sweep.c, shared with the circuits commands: the metric from
 * --metric TOKEN, --vs TOKEN and --at POS (taken out of argv; tok stays -1
 * without --metric); its one-line description; the model's top next token at
 * pos (-1: the last) of a prompt; a layer × column grid of numbers, or a
 * heatmap where the screen's output is too narrow for the numbers and
 * values is 0 (--values asks for the numbers). */
struct interp_metric;
int cmd_take_metric(rs_session *s, int *argc, char **argv, struct interp_metric *mt, rs_err *err);
void cmd_print_metric(rs_session *s, const struct interp_metric *mt);
int32_t cmd_top_token(rs_session *s, const int32_t *ids, int n, int pos, rs_err *err);
/* Checks the other (clean) prompt has this one's length, then, without
 * --metric: the clean prompt's top token against this (corrupted) prompt's
 * at the metric's position (sweep patch, path-patch, attrib). */
int cmd_default_metric(rs_session *s, const int32_t *clean, int n, struct interp_metric *mt, const char *name,
		       rs_err *err);
void cmd_print_grid(rs_session *s, const float *v, int rows, int cols, const char *row_name, const char *col_name,
		    int values);

/* commands_circuits.c and commands_attrib.c: circuit, composition, path-patch, attrib. */
extern const cmd_def cmds_circuits[];
cmd_status cmd_attrib_run(rs_session *s, int argc, char **argv, rs_err *err);

/* ---------------------------------------------------------------- errors */
/* Fills err with "NAME: message (usage: NAME ARGS)" and returns CMD_ERROR. */
cmd_status cmd_usage(rs_err *err, const char *name, const char *fmt, ...) RS_PRINTF(3, 4);
/* The same without the usage, for failures that are not about the arguments. */
cmd_status cmd_fail(rs_err *err, const char *name, const char *fmt, ...) RS_PRINTF(3, 4);

/* ---------------------------------------------------------------- arguments */
/* The text of arguments i.. of the line being run: the argument itself when
 * it is the only one (quotes removed), else the line as typed from argument
 * i to the last one (spacing kept, so a prompt tokenizes as typed). Valid
 * until the command returns. */
const char *cmd_text(int argc, char **argv, int i);

/* Removes "--flag" from argv (anywhere after the name); returns whether it was there. */
int cmd_take_flag(int *argc, char **argv, const char *flag);
/* Removes "--opt VALUE" or "--opt=VALUE"; returns VALUE, NULL when absent.
 * *missing is set when the option was given without a value. */
const char *cmd_take_opt(int *argc, char **argv, const char *opt, int *missing);
/* Fails on any argument left that starts with "--". */
int cmd_no_more_flags(int argc, char **argv, rs_err *err);

/* Integers in [lo, hi]; what names the argument in the message. */
int cmd_arg_long(const char *s, long lo, long hi, const char *name, const char *what, long *out, rs_err *err);
/* An index into n things; negative values count from the end (-1 is the last). */
int cmd_arg_index(const char *s, int n, const char *name, const char *what, int *out, rs_err *err);
int cmd_arg_float(const char *s, const char *name, const char *what, float *out, rs_err *err);
/* Token ids: "1,2,3" or several words "1 2 3" (commas and spaces mix). */
int cmd_arg_ids(int argc, char **argv, int i, const char *name, int32_t **ids, int *n, rs_err *err);
/* A hook: a full name ("blocks.2.hook_resid_mid"), a name inside the block
 * ("hook_resid_mid", "attn.hook_pattern") or a short name ("resid_mid",
 * "pattern"), with "blocks.N." or "N." in front or else the selected layer. */
int cmd_arg_hook(const rs_session *s, const char *str, const char *name, rs_hook *out, rs_err *err);
/* The one head convention. --head H is always a query head; --kv-head K a
 * key/value head, for the hooks whose heads are key/value heads (k, v,
 * rot_k: cmd_hook_kv). On those, --head H means the key/value head that
 * query head H reads (H * n_kv_heads / n_heads under GQA). *out is the
 * index on the hook's own head axis, -1 when neither option is given. */
int cmd_hook_kv(int kind);
int cmd_arg_head(const rs_session *s, int kind, const char *head, const char *kv_head, const char *name, int *out,
		 rs_err *err);
/* "kv head 1" or "head 1": a head as the hook counts it. */
const char *cmd_head_word(int kind);
/* A token: an id ("#42" or "42"), or text that is exactly one token. */
int cmd_arg_token(const rs_session *s, const char *str, const char *name, int32_t *out, rs_err *err);

/* A prompt given as one argument: text for the tokenizer (BOS as the session
 * adds it), or token ids "1,2,3" when as_ids or the model has no tokenizer. */
int cmd_arg_prompt(const rs_session *s, const char *str, int as_ids, const char *name, int32_t **ids, int *n,
	       rs_err *err);

/* ---------------------------------------------------------------- checks */
int cmd_need_prompt(const rs_session *s, const char *name, rs_err *err);
/* The hook's tensor as the learner sees it, or an error saying how to get there. */
const rs_act *cmd_need_act(const rs_session *s, rs_hook h, const char *name, rs_err *err);
/* In restricted sessions, a path must be relative and stay below the working directory. */
int cmd_check_path(const rs_session *s, const char *path, const char *name, rs_err *err);

/* ---------------------------------------------------------------- formatting */
/* A token for display: its text in single quotes with control bytes escaped,
 * or "#id" when there is no tokenizer. Returns buf. */
char *cmd_fmt_token(const rs_session *s, int32_t id, char *buf, size_t n);
/* Appends the "stop N/M hook [shape]" line that step, back and run-to print. */
void cmd_print_where(rs_session *s);
/* Shape as "[24, 4, 16]". */
char *cmd_fmt_shape(const rs_act *a, char *buf, size_t n);

/* The next-token distribution at the selected position before and after an
 * experiment, so ablate, patch, steer and clear can say what they changed. */
typedef struct effect_snap {
	int pos, valid;
	int32_t top;          /* the top token before */
	double p_top, logit_top;
} effect_snap;
void cmd_effect_begin(rs_session *s, effect_snap *e);
void cmd_effect_print(rs_session *s, const effect_snap *e);

/* An engine over the session's model for side runs (compare, generate, patch
 * sources), with copies of the session's interventions when with_ivs. */
rs_engine *cmd_scratch_engine(rs_session *s, int with_ivs, rs_err *err);

/* Registers an intervention as ablate, patch and steer do: prints "#id what
 * SELECTION" and what it changed at the selected position. */
cmd_status cmd_add_intervention(rs_session *s, const rs_intervention *iv, const char *what, const char *name,
				rs_err *err);
/* steer's vector feature:N (commands_features.c): the SAE's decoder row N. */
float *cmd_feature_vector(rs_session *s, rs_hook h, const char *spec, int64_t *n, char *desc, size_t dn,
			  const char *name, rs_err *err);

/* x, or 0 when it would print as -0.0000 (rounding noise in a difference). */
static inline double clean_zero(double x)
{
	return x > -5e-5 && x < 5e-5 ? 0.0 : x;
}


#endif
