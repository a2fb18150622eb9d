/* lesson_cmd.c - the learner's side of lessons: the `lesson` command and its
 * short forms (next, prev, answer), the list, and what the screen does at
 * its start.
 *
 *   lesson                 the list, with each lesson's state
 *   lesson NAME            start NAME, or resume it where it was left
 *   lesson next | prev     the next or previous step (also :next, :prev)
 *   lesson step N          jump to step N
 *   lesson answer TEXT     answer the step's question (also :answer TEXT)
 *   lesson reveal          show the step's answers
 *   lesson restart [NAME]  from its first step
 *   lesson text            print the step's text (batch mode has no pane)
 *   lesson quit            leave the lesson; progress stays saved
 */
#include "config.h"
#include "lesson_int.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---------------------------------------------------------------- the list */
char *lesson_list_text(const lesson_set *set, lesson_env *env)
{
	lesson_progress *p = lesson_progress_load(NULL, 0);
	size_t cap = 256 + (size_t)set->n * 160, o = 0;
	char *s = rs_xmalloc(cap);
	o += (size_t)snprintf(s, cap, "Lessons (:lesson N starts or resumes one; :next and :prev step):\n");
	int tw = 0; /* the longest title: the states line up after it */
	for (int i = 0; i < set->n; i++)
		if ((int)strlen(set->l[i]->title) > tw)
			tw = (int)strlen(set->l[i]->title);
	for (int i = 0; i < set->n; i++) {
		const lesson *l = set->l[i];
		const lesson_progress_entry *e = lesson_progress_get(p, l->name, 0);
		char state[160] = "";
		const char *why = env ? lesson_req_missing(env, l->requires) : NULL;
		if (e && e->finished)
			snprintf(state, sizeof state, "done");
		else if (e)
			snprintf(state, sizeof state, "at step %d of %d", e->step + 1, l->n_steps);
		if (why && !(l->requires & LESSON_REQ_LLAMA3))
			snprintf(state + strlen(state), sizeof state - strlen(state), "%s(needs the built-in model)",
				 state[0] ? ", " : "");
		else if (l->requires & LESSON_REQ_LLAMA3)
			snprintf(state + strlen(state), sizeof state - strlen(state), "%s(with a Llama 3 tokenizer)",
				 state[0] ? ", " : "");
		if (o + 200 > cap)
			s = rs_xrealloc(s, cap *= 2);
		if (o + 200 + (size_t)tw > cap)
			s = rs_xrealloc(s, cap *= 2);
		o += (size_t)snprintf(s + o, cap - o, "%s %2d  %-*s%s%s\n",
				      p->current && !strcmp(p->current, l->name) ? ">" : " ", l->number,
				      state[0] ? tw : 0, l->title, state[0] ? "  " : "", state);
	}
	lesson_progress_free(p);
	return s;
}

/* The words from i on, joined by spaces (an answer may be several words). */
static const char *words_from(int argc, char **argv, int i, char *buf, size_t n)
{
	buf[0] = 0;
	for (int k = i; k < argc; k++)
		snprintf(buf + strlen(buf), n - strlen(buf), "%s%s", k > i ? " " : "", argv[k]);
	return buf;
}

static cmd_status fail(rs_err *err, const char *name, const char *msg)
{
	snprintf(err->msg, sizeof err->msg, "%s: %s", name, msg);
	return CMD_ERROR;
}

/* Shows the list in the lesson pane (no lesson running) and the output. */
static void show_list(lesson_run *r, rs_session *s)
{
	char *list = lesson_list_text(r->set, r->env);
	session_printf(s, "%s", list);
	if (!r->cur) {
		free(r->text);
		size_t n = strlen(list) + 600;
		r->text = rs_xmalloc(n);
		snprintf(r->text, n,
			 "%s%s%sWelcome. These lessons walk through a real Llama-3-style forward pass, one hook at a "
			 "time, and then through the experiments of interpretability research. Every number they show "
			 "is computed by the model as you go.\n\n%s\nStart with :lesson 1.",
			 r->notice[0] ? "(" : "", r->notice, r->notice[0] ? ")\n\n" : "", list);
		s->panes |= 1u << PANE_LESSON;
		s->version++;
	}
	free(list);
}

static cmd_status step_by(lesson_run *r, rs_session *s, int delta, const char *name, rs_err *err)
{
	if (!r->cur)
		return fail(err, name, "no lesson is running (lesson lists them, lesson NAME starts one)");
	int k = r->step + delta;
	if (k < 0)
		return fail(err, name, "this is the first step");
	if (k > r->cur->n_steps) {
		/* past the closing page: the next lesson */
		for (int i = 0; i + 1 < r->set->n; i++)
			if (r->set->l[i] == r->cur)
				return lesson_run_start(r, s, r->set->l[i + 1], 0, err) ? CMD_ERROR : CMD_OK;
		return fail(err, name, r->cur == r->generated ? "that was the end of the walk (:explain walks through another answer)"
							     : "that was the last lesson");
	}
	return lesson_run_goto(r, s, k, err) ? CMD_ERROR : CMD_OK;
}

cmd_status lesson_command(rs_session *s, int argc, char **argv, rs_err *err)
{
	const char *name = argv[0];
	char buf[512];
	lesson_run *r = lesson_run_get(s, err);
	if (!r)
		return CMD_ERROR;
	if (!strcmp(name, "next"))
		return step_by(r, s, 1, name, err);
	if (!strcmp(name, "prev"))
		return step_by(r, s, -1, name, err);
	if (!strcmp(name, "answer")) {
		if (argc < 2)
			return fail(err, name, "give the answer (answer TEXT)");
		return lesson_run_answer(r, s, words_from(argc, argv, 1, buf, sizeof buf), err) ? CMD_ERROR : CMD_OK;
	}
	if (argc == 1) {
		show_list(r, s);
		return CMD_OK;
	}
	const char *sub = argv[1];
	if (!strcmp(sub, "next") || !strcmp(sub, "prev"))
		return step_by(r, s, !strcmp(sub, "next") ? 1 : -1, "lesson", err);
	if (!strcmp(sub, "answer")) {
		if (argc < 3)
			return fail(err, "lesson", "give the answer (lesson answer TEXT)");
		return lesson_run_answer(r, s, words_from(argc, argv, 2, buf, sizeof buf), err) ? CMD_ERROR : CMD_OK;
	}
	if (!strcmp(sub, "step")) {
		if (!r->cur)
			return fail(err, "lesson", "no lesson is running");
		int k = argc > 2 ? atoi(argv[2]) : 0;
		if (k < 1 || k > r->cur->n_steps) {
			snprintf(err->msg, sizeof err->msg, "lesson: step is 1 to %d", r->cur->n_steps);
			return CMD_ERROR;
		}
		return lesson_run_goto(r, s, k - 1, err) ? CMD_ERROR : CMD_OK;
	}
	if (!strcmp(sub, "reveal")) {
		if (!r->cur || !r->n_expected)
			return fail(err, "lesson", "this step asks no question");
		for (int i = 0; i < r->n_expected; i++)
			session_printf(s, "Answer%s%.0d: %s\n", r->n_expected > 1 ? " " : "", r->n_expected > 1 ? i + 1 : 0,
				       r->expected[i] ? r->expected[i] : "(not computable on this model)");
		return CMD_OK;
	}
	if (!strcmp(sub, "text")) {
		if (!r->text)
			return fail(err, "lesson", "no lesson is running");
		session_printf(s, "%s", r->text);
		return CMD_OK;
	}
	if (!strcmp(sub, "quit") || !strcmp(sub, "stop")) {
		if (!r->cur)
			return fail(err, "lesson", "no lesson is running");
		int num = r->cur->number;
		lesson_run_leave(r, s);
		session_printf(s, "left lesson %d; :lesson %d resumes it where you were\n", num, num);
		return CMD_OK;
	}
	int restart = !strcmp(sub, "restart");
	if (restart && argc == 2) {
		if (!r->cur)
			return fail(err, "lesson", "no lesson is running (lesson restart NAME)");
		return lesson_run_start(r, s, r->cur, 1, err) ? CMD_ERROR : CMD_OK;
	}
	const char *want = restart ? argv[2] : sub;
	lesson *l = lesson_find(r->set, want);
	if (!l) {
		snprintf(err->msg, sizeof err->msg, "lesson: no lesson '%s' (lesson lists them)", rs_esc(want, -1));
		return CMD_ERROR;
	}
	return lesson_run_start(r, s, l, restart, err) ? CMD_ERROR : CMD_OK;
}

/* ---------------------------------------------------------------- start-up */
int lesson_startup(rs_session *s, const char *name, rs_err *err)
{
	cmd_extend(lesson_cmds, lesson_command); /* a front end starting lessons has their commands */
	if (name && !strcmp(name, "none"))
		return 0;
	lesson_run *r = lesson_run_get(s, err);
	if (!r)
		return name ? -1 : 0; /* no lessons installed: only an explicit --lesson is an error */
	if (name) {
		lesson *l = lesson_find(r->set, name);
		if (!l)
			return rs_fail(err, "--lesson: no lesson '%s' (residual lessons --list)", rs_esc(name, -1));
		lesson_run_start(r, s, l, 0, err); /* a step that fails says so on its page: the screen opens */
		return 0;
	}
	char note[600];
	lesson_progress *p = lesson_progress_load(note, sizeof note);
	if (note[0])
		snprintf(r->notice, sizeof r->notice, "%.480s", note);
	lesson *cur = p->current ? lesson_find(r->set, p->current) : NULL;
	int first_done = 0;
	if (r->set->n) {
		const lesson_progress_entry *e = lesson_progress_get(p, r->set->l[0]->name, 0);
		first_done = e && e->finished;
	}
	lesson_progress_free(p);
	if (cur) {
		int rc = lesson_run_start(r, s, cur, 0, err);
		if (!rc) {
			char msg[160];
			snprintf(msg, sizeof msg, "Resumed lesson %d at step %d, where you left it. :lesson quit leaves it.",
				 cur->number, r->step + 1);
			lesson_run_note(r, msg);
		}
		return 0; /* a step that failed says so on its page: the screen opens */
	}
	if (!first_done && r->set->n) {
		session_clear_output(s);
		show_list(r, s);
		session_clear_output(s);
	}
	return 0;
}

/* ---------------------------------------------------------------- short forms */
/* Handed to the registry by the program (cmd_extend in cli_main). */
const cmd_def lesson_cmds[] = {
	{"next", "", "the lesson's next step", "Shows the next step of the lesson in progress (lesson next).",
	 {ARG_NONE}, NULL, lesson_command, NULL, "Lessons", CMD_REPLAY},
	{"prev", "", "the lesson's previous step",
	 "Shows the previous step again; the lesson replays its commands, so the numbers are the same.",
	 {ARG_NONE}, NULL, lesson_command, NULL, NULL, CMD_REPLAY},
	{"answer", "TEXT", "answer the question of the lesson's step",
	 "Checks TEXT against the answer the model computes (lesson reveal shows it). Heads are written L2H1, "
	 "tokens as their text.",
	 {ARG_TEXT}, NULL, lesson_command, NULL, NULL, CMD_VIEW},
	{"explain", "[N] [--vs TOKEN] [--json]", "how the model arrived at its answer, step by step, measured",
	 "Generates the model's answer to the prompt (greedy, N tokens, default: to the end token or 16), then walks "
	 "through how it arose as a lesson built on the fly, every number live: the tokens the model saw; the logit "
	 "lens of the first answer token (its rank and probability at each point of the residual stream); direct "
	 "logit attribution against a runner-up (--vs TOKEN, default the second most likely token); where the top "
	 "heads attend and what they write; zero and mean ablation of the top components (and where attribution and "
	 "ablation disagree, why); for later tokens, whether they are copied from the prompt and by which head; a "
	 "summary from the measurements. The session's prompt becomes the prompt and the answer. --json prints the "
	 "measurements as JSON. Esc stops the ablation checks on a big model.",
	 {ARG_NUMBER}, NULL, lesson_explain_command, "--vs --json --chat", "Explaining an answer", CMD_REPLAY},
	{NULL, NULL, NULL, NULL, {ARG_NONE}, NULL, NULL, NULL, NULL, 0},
};
