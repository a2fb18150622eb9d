/* lesson.h - guided lessons: the file format, live placeholders, the runner,
 * progress, the headless check and the Python export.
 *
 * A lesson is one JSON file in lessons/ (lessons/README.md documents the
 * format). Its steps run commands of the one command registry (commands.h)
 * on the session, so a lesson does nothing a learner could not type. Text
 * refers to live values with placeholders, {prob(' Paris')} or
 * {norm('blocks.0.hook_resid_post', 3)}, evaluated against the session when
 * the step is shown, so a lesson never states a number the model did not
 * produce; questions carry an expression that computes their answer.
 *
 * Lessons are found in $RESIDUAL_LESSONS, then PKGDATADIR/lessons, then
 * the source tree's lessons/ when running from a build tree (datadir.h).
 * Progress lives in $XDG_STATE_HOME/residual/progress.json (default
 * ~/.local/state/residual/progress.json).
 */
#ifndef RS_LESSON_H
#define RS_LESSON_H

#include <stdio.h>

#include "commands.h"
#include "err.h"
#include "session.h"

/* ---------------------------------------------------------------- diagnostics */
/* Mistakes found in lesson files, one line each: "FILE: $.steps[3].commands[1]: what". */
typedef struct lesson_diags {
	char **msg;
	int n, cap;
} lesson_diags;

void lesson_diag(lesson_diags *d, const char *file, const char *path, const char *fmt, ...) RS_PRINTF(4, 5);
void lesson_diags_free(lesson_diags *d);

/* ---------------------------------------------------------------- the format */
/* What a lesson or a step needs beyond a model with a tokenizer. */
enum lesson_req {
	LESSON_REQ_NONE = 0,
	LESSON_REQ_BUILTIN = 1 << 0, /* the built-in model's vocabulary: names, capitals... one token each */
	LESSON_REQ_LLAMA3 = 1 << 1,  /* a Llama 3 tokenizer (the loaded model's, or $RESIDUAL_TOKENIZER) */
	LESSON_REQ_TOKENIZER = 1 << 2, /* any tokenizer: the lesson writes its prompts as text */
	LESSON_REQ_405B = 1 << 3,    /* a model of Llama 3.1 405B's width (a slice, random-model --layers N) */
};

/* How a learner's answer is compared with the computed one. */
enum lesson_answer_kind {
	LESSON_ANS_NUMBER, /* agrees to the question's significant digits (default 3) */
	LESSON_ANS_INT,    /* exactly, as an integer */
	LESSON_ANS_HEAD,   /* "L2H1", "2.1", "2 1", "layer 2 head 1" */
	LESSON_ANS_TOKEN,  /* token text; leading/trailing space and quotes ignored */
	LESSON_ANS_TEXT,   /* case-insensitive text; with choices, one of them (or its number) */
};

typedef struct lesson_question {
	char *ask;
	int kind;           /* enum lesson_answer_kind */
	char *expect;       /* expression computing the answer */
	int digits;         /* LESSON_ANS_NUMBER: significant digits the answer must agree to */
	char **choices;     /* LESSON_ANS_TEXT: optional; the expected value must be one */
	int n_choices;
	char *explain;      /* shown after a right answer (may hold placeholders) */
} lesson_question;

typedef struct lesson_step {
	char *title;
	char *text;         /* lines joined with '\n'; placeholders in braces */
	char *python;       /* NULL when none */
	char **commands;    /* registry commands, placeholders allowed */
	int n_commands;
	unsigned panes;     /* rs_pane bits; PANE_LESSON is always added */
	int has_panes;
	char *highlight;    /* NULL: none */
	int output_view;    /* "output": 0 as usual, 1 "tall", 2 "box" (rs_session.output_view) */
	char **let_name, **let_expr; /* variables set after the commands, in order */
	int n_let;
	lesson_question *q;
	int n_q;
	int requires;       /* lesson_req bits (the lesson's are added) */
} lesson_step;

typedef struct lesson {
	char *path;         /* the file */
	char *name;         /* file name without .json: "01-what-a-model-computes" */
	int number;         /* its leading number */
	char *title, *summary;
	int requires;
	char **var_name, **var_expr; /* lesson variables, set before the first step */
	int n_vars;
	char *python_setup; /* lesson-wide Python after the common preamble */
	lesson_step *steps;
	int n_steps;
} lesson;

/* Reads and validates one file; NULL with every mistake in d. */
lesson *lesson_load(const char *path, lesson_diags *d);
/* The same from JSON text in memory (a lesson built on the fly: `explain`);
 * path names it ("00-explain.json") in messages and gives its name. */
lesson *lesson_load_text(const char *path, const char *text, lesson_diags *d);
void lesson_free(lesson *l);

typedef struct lesson_set {
	char *dir;
	lesson **l;         /* sorted by number, then name */
	int n;
} lesson_set;

/* The lessons directory ($RESIDUAL_LESSONS, PKGDATADIR/lessons, the source tree's), or NULL. */
const char *lesson_dir(void);
/* Loads every *.json of dir (NULL: lesson_dir()). Files with mistakes are
 * left out and reported in d; NULL only when the directory cannot be read. */
lesson_set *lesson_set_load(const char *dir, lesson_diags *d, rs_err *err);
void lesson_set_free(lesson_set *s);
/* "3", "03", "03-embeddings", "embeddings" or a unique prefix of a name. */
lesson *lesson_find(const lesson_set *s, const char *name);

/* ---------------------------------------------------------------- placeholders */
typedef struct lesson_env lesson_env; /* variables and caches of a run (lesson_expr.c) */

lesson_env *lesson_env_create(rs_session *s);
void lesson_env_free(lesson_env *env);
void lesson_env_clear_vars(lesson_env *env);
/* Evaluates an expression and stores its value as a variable. */
int lesson_env_let(lesson_env *env, const char *name, const char *expr, rs_err *err);
/* Evaluates one expression ("prob(' Paris')", optionally ":fmt") to text. */
int lesson_eval(lesson_env *env, const char *expr, char **out, rs_err *err);
/* A question's expected answer: numbers with six significant digits. */
int lesson_eval_answer(lesson_env *env, const char *expr, char **out, rs_err *err);
/* Replaces every {expr[:fmt]} of a template ("{{" and "}}" are braces). */
int lesson_expand(lesson_env *env, const char *tmpl, char **out, rs_err *err);
/* Parses every placeholder of a template without evaluating anything
 * (unknown functions, arity, syntax); d gets "FILE: PATH: ..." lines. */
int lesson_syntax_check(const char *tmpl, int is_expr, const char *file, const char *path,
			lesson_diags *d);
/* Why the session cannot run something that needs req, or NULL. */
const char *lesson_req_missing(lesson_env *env, int req);

/* Compares a learner's answer with the expected text: 1 right, 0 wrong.
 * The one rule for numbers: the answer is right when it agrees with the
 * engine's value to the question's significant digits, that is within half
 * a unit of the last of them (14.0271 to 3 digits: 13.95 to 14.05). */
int lesson_answer_ok(const lesson_question *q, const char *expected, const char *given);
/* The same, and (why, n) says how close a number was, for the learner. */
int lesson_answer_grade(const lesson_question *q, const char *expected, const char *given, char *why, size_t n);
/* Half a unit of the last of digits significant digits of want. */
double lesson_answer_halfunit(double want, int digits);

/* ---------------------------------------------------------------- progress */
typedef struct lesson_progress_entry {
	char *name;
	int step;           /* the step shown last (0-based) */
	int n_steps;
	int finished;       /* walked to its end at least once */
	unsigned long answered; /* bit i: question i (step-major order, first 64) answered right */
} lesson_progress_entry;

typedef struct lesson_progress {
	char *path;
	char *current;      /* the lesson in progress, NULL when none */
	lesson_progress_entry *e;
	int n;
} lesson_progress;

/* The file's path: $XDG_STATE_HOME/residual/progress.json, else
 * $HOME/.local/state/residual/progress.json; NULL when neither is set. */
const char *lesson_progress_path(char *buf, size_t n);
/* Reads it (a missing file is an empty progress). A file that does not parse
 * is renamed to progress.json.corrupt-TIME, *note says so, and the progress
 * starts empty: nothing is overwritten. */
lesson_progress *lesson_progress_load(char *note, size_t note_n);
void lesson_progress_free(lesson_progress *p);
lesson_progress_entry *lesson_progress_get(lesson_progress *p, const char *name, int create);
/* Writes atomically (temporary file, fsync, rename), merging in the entries
 * another process wrote meanwhile for other lessons. */
int lesson_progress_save(lesson_progress *p, rs_err *err);

/* ---------------------------------------------------------------- the runner */
/* The `lesson` command (commands.h) and its short forms next, prev, answer,
 * which the program hands to the registry: cmd_extend(lesson_cmds, lesson_command). */
cmd_status lesson_command(rs_session *s, int argc, char **argv, rs_err *err);
extern const cmd_def lesson_cmds[];
/* Text of the lesson pane (ui.h). */
const char *lesson_pane_text(const rs_session *s);
/* At the screen's start: hands the lesson commands to the registry
 * (cmd_extend, as cli_main does), then with name NULL resumes the lesson in
 * progress, or shows the list when lesson 1 was never finished; "none" does
 * nothing more. Returns 0, or -1 with a message (an unknown lesson). */
int lesson_startup(rs_session *s, const char *name, rs_err *err);
/* The words the built-in model holds as one token each (the corpus
 * generator's, train/), handed down by the program; LESSON_REQ_BUILTIN
 * checks the loaded vocabulary against them. Without it that check passes. */
void lesson_set_builtin_words(const char *const *(*words)(size_t *n));

/* ---------------------------------------------------------------- headless */
typedef struct lesson_check_opts {
	const char *dir;    /* NULL: lesson_dir() */
	const char *model;  /* NULL: the built-in model */
	const char *only;   /* NULL: every lesson */
	int verbose;        /* print every step's expanded text */
	int validate_only;  /* no model: only the files */
} lesson_check_opts;

/* Validates every file and runs every lesson through the batch engine:
 * commands succeed, placeholders resolve, questions' answers are what the
 * engine computes. Prints "ok"/"FAIL"/"skip" lines and the mistakes to out;
 * returns the number of mistakes (0: all good). */
int lesson_check(const lesson_check_opts *o, FILE *out);

/* Writes one runnable Python file per lesson into dir (created). */
int lesson_export_python(const lesson_set *set, const char *dir, rs_err *err);

#endif
