/* lesson_int.h - what the lesson files share: values and functions of the
 * placeholder language, the run state kept in a session. */
#ifndef RS_LESSON_INT_H
#define RS_LESSON_INT_H

#include <stdint.h>

#include "interp.h"
#include "lesson.h"
#include "strbuf.h"
#include "tokenizer.h"

/* ---------------------------------------------------------------- values */
enum { LX_NUM, LX_STR };

typedef struct lx_val {
	int type;
	double num;
	char *str;  /* owned when type is LX_STR */
} lx_val;

void lx_val_free(lx_val *v);
lx_val lx_num(double x);
lx_val lx_str(const char *s);     /* copies */
lx_val lx_str_take(char *s);      /* takes a malloc'd string */
/* A value as text with the default format (integers whole, else 4 decimals
 * or scientific); malloc'd. */
char *lx_to_text(const lx_val *v);

/* ---------------------------------------------------------------- functions */
typedef int (*lx_fn)(lesson_env *env, int argc, lx_val *argv, lx_val *out, rs_err *err);

typedef struct lx_func {
	const char *name;
	int min_args, max_args;
	lx_fn fn;
} lx_func;

/* The tables of lesson_fn_text.c, lesson_fn_model.c and lesson_fn_exp.c,
 * zero-terminated. */
extern const lx_func lx_funcs_text[];
extern const lx_func lx_funcs_model[];
extern const lx_func lx_funcs_exp[];
extern const lx_func lx_funcs_circ[]; /* lesson_fn_circ.c: circuits, path and attribution patching */
extern const lx_func lx_funcs_feat[]; /* lesson_fn_feat.c: the SAE's features */
const lx_func *lx_find_func(const char *name);

/* Argument helpers: each fails with a message naming the argument. */
int lx_arg_num(const lx_val *v, const char *what, double *out, rs_err *err);
int lx_arg_int(const lx_val *v, const char *what, long *out, rs_err *err);
int lx_arg_str(const lx_val *v, const char *what, const char **out, rs_err *err);
/* A position: negative counts from the end of the session's prompt. */
int lx_arg_pos(lesson_env *env, const lx_val *v, int *out, rs_err *err);
/* A token: a number is an id, text must be exactly one token. */
int lx_arg_tok(lesson_env *env, const lx_val *v, int32_t *out, rs_err *err);

/* Ablation results kept by the environment, so that a step shown again (or
 * the placeholders of `explain`, whose measurements put them here) does not
 * rerun the model: the key is the model, the prompt's ids, the target and the
 * metric (any_b: any second token, for a probability, which does not depend
 * on it). abl_run runs on the clean model, so interventions are no part of it. */
#define LX_ABL_MEMO 64
typedef struct lx_abl_memo {
	const rs_model *m;
	int32_t *ids;
	int n;
	abl_target t;
	interp_metric mt;
	abl_result r;
} lx_abl_memo;
const abl_result *lx_abl_memo_get(lesson_env *env, const rs_model *m, const int32_t *ids, int n, const abl_target *t,
				  const interp_metric *mt, int any_b);
void lx_abl_memo_put(lesson_env *env, const rs_model *m, const int32_t *ids, int n, const abl_target *t,
		     const interp_metric *mt, const abl_result *r);

/* The session the placeholders read. */
rs_session *lx_session(lesson_env *env);
/* A tokenizer by name: "model" (the session's) or "llama3" (a Llama 3 one:
 * the session's when it is one, else $RESIDUAL_TOKENIZER). */
const rs_tokenizer *lx_tokenizer(lesson_env *env, const char *which, rs_err *err);
/* Tokens for display, space-separated; malloc'd. */
char *lx_token_list(lesson_env *env, const int32_t *ids, int n);
/* A token for display: 'text' with control bytes escaped, into buf. */
char *lx_tok_display(const rs_tokenizer *tok, int32_t id, char *buf, size_t n);
/* "L2H1" or "L3 mlp" into layer and head (-1 for an MLP). */
int lx_parse_component(const char *s, int *layer, int *head);

/* ---------------------------------------------------------------- the run */
typedef struct lesson_run {
	lesson_set *set;
	lesson_env *env;
	lesson *cur;            /* NULL: no lesson (the pane shows the list) */
	int step;               /* shown step; cur->n_steps after the last one */
	char *text;             /* the pane's text */
	char *body;             /* the step's text, filled in when it was shown */
	char **asks;            /* its questions, filled in */
	int n_asks;
	char notice[512];       /* one line shown above the text (progress problems) */
	char once[160];         /* a line shown above the text until the next step */
	/* what each question showed and computed, for `answer` */
	char **expected;        /* [n_q of the step] expected answers as text, NULL if not computed */
	int *answered;          /* [n_q] 1 right, -1 wrong, 0 not yet */
	int n_expected;
	/* the learner's settings before the lesson, restored when it ends */
	int leaving;            /* saving on `lesson quit`: not the lesson in progress any more */
	int saved, add_bos, topk, vec_full, attn_values, gran;
	unsigned panes;
	lesson *generated;      /* the lesson `explain` built (not a file: no progress kept) */
	int executing;          /* inside a step's commands (explain run by a lesson prints only) */
	int no_save;            /* a restricted session (a classroom's follower) writes no progress */
} lesson_run;

/* lesson_run.c */
lesson_run *lesson_run_get(rs_session *s, rs_err *err);
/* The same, with no lessons installed too (an empty set): for explain's lesson. */
lesson_run *lesson_run_get_any(rs_session *s, rs_err *err);
int lesson_run_reset(lesson_run *r, rs_session *s, rs_err *err);
int lesson_run_exec(lesson_run *r, rs_session *s, int k, char **out, int *failed_cmd, rs_err *err);
int lesson_run_expect(lesson_run *r, int k, int qi, char **out, rs_err *err);
int lesson_run_goto(lesson_run *r, rs_session *s, int k, rs_err *err);
int lesson_run_start(lesson_run *r, rs_session *s, lesson *l, int restart, rs_err *err);
void lesson_run_leave(lesson_run *r, rs_session *s);
int lesson_run_answer(lesson_run *r, rs_session *s, const char *given, rs_err *err);
void lesson_run_save(lesson_run *r);
/* Shows a line above the step's text until the step changes. */
void lesson_run_note(lesson_run *r, const char *msg);
/* lesson_explain.c: `explain [N] [--vs TOKEN] [--json]`. */
cmd_status lesson_explain_command(rs_session *s, int argc, char **argv, rs_err *err);
/* lesson_cmd.c: the list of lessons with each one's state, for the pane and `lessons --list`. */
char *lesson_list_text(const lesson_set *set, lesson_env *env);

#endif
