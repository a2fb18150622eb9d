/* lesson_run.c - stepping through a lesson on a session.
 *
 * Showing step k replays the lesson from a clean state: the interventions
 * are cleared, the learner's settings restored, the lesson's variables set,
 * and the commands of steps 0..k run in order (only step k's output is
 * kept). So whatever the learner typed between steps, the numbers a step
 * shows are the ones its own commands produce, and `prev`, a resume after a
 * restart and the headless check all see the same state. Replaying is cheap
 * on the built-in model (a few milliseconds a step).
 */
#include "config.h"
#include "lesson_int.h"
#include "strbuf.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---------------------------------------------------------------- text */
/* the pane's text: core's string builder (strbuf.h) under the runner's short names */
typedef rs_strbuf tbuf;
#define tb_add strbuf_puts
#define tb_printf strbuf_printf

/* ---------------------------------------------------------------- state */
static void run_free(void *p) /* the session's upper_free */
{
	lesson_run *r = p;
	if (!r)
		return;
	lesson_set_free(r->set);
	lesson_free(r->generated);
	lesson_env_free(r->env);
	free(r->text);
	free(r->body);
	for (int i = 0; i < r->n_asks; i++)
		free(r->asks[i]);
	free(r->asks);
	for (int i = 0; i < r->n_expected; i++)
		free(r->expected[i]);
	free(r->expected);
	free(r->answered);
	free(r);
}

/* rs_session.upper_state: the lesson and its step, as the commands that
 * bring a follower there (a lesson explain built has no file: left out). */
static void run_state(const rs_session *s, rs_strbuf *cmds)
{
	const lesson_run *r = s->upper;
	if (!r || !r->cur || r->cur == r->generated)
		return;
	strbuf_printf(cmds, "lesson '%s'\n", r->cur->name);
	int k = r->step < r->cur->n_steps ? r->step : r->cur->n_steps - 1;
	strbuf_printf(cmds, "lesson step %d\n", k + 1);
	if (r->step >= r->cur->n_steps)
		strbuf_puts(cmds, "next\n");
}

/* rs_session.upper_question: the step's question the learner is on, or
 * whether an answer to question q is right, as `answer` grades it. */
static int run_question(const rs_session *s, int q, const char *given, char *key, size_t n)
{
	const lesson_run *r = s->upper;
	if (!r || !r->cur || r->step >= r->cur->n_steps)
		return -1;
	const lesson_step *st = &r->cur->steps[r->step];
	if (!st->n_q || !r->expected || !r->answered)
		return -1;
	snprintf(key, n, "%s#%d", r->cur->name, r->step + 1);
	if (!given) {
		int i = 0;
		while (i < st->n_q - 1 && i < r->n_expected - 1 && r->answered[i] > 0)
			i++;
		return i;
	}
	if (q < 0 || q >= st->n_q || q >= r->n_expected || !r->expected[q])
		return 0;
	char why[200];
	return lesson_answer_grade(&st->q[q], r->expected[q], given, why, sizeof why) ? 1 : 0;
}

static lesson_run *run_get(rs_session *s, int without_lessons, rs_err *err)
{
	if (s->upper)
		return s->upper;
	lesson_diags d = {0};
	lesson_set *set = lesson_set_load(NULL, &d, err);
	if (!set && without_lessons) {
		set = rs_xcalloc(1, sizeof *set); /* none installed: a runner for explain's lesson only */
		err->msg[0] = 0;
	}
	if (!set) {
		lesson_diags_free(&d);
		return NULL;
	}
	lesson_run *r = rs_xcalloc(1, sizeof *r);
	r->set = set;
	r->env = lesson_env_create(s);
	/* a broken file is left out; say so once, where the learner looks */
	if (d.n)
		snprintf(r->notice, sizeof r->notice, "%d lesson file%s could not be read: %s", d.n, d.n > 1 ? "s" : "",
			 d.msg[0]);
	lesson_diags_free(&d);
	s->upper = r;
	s->upper_free = run_free;
	s->upper_state = run_state;
	s->upper_question = run_question;
	r->no_save = s->restricted;
	return r;
}

lesson_run *lesson_run_get(rs_session *s, rs_err *err) { return run_get(s, 0, err); }

lesson_run *lesson_run_get_any(rs_session *s, rs_err *err) { return run_get(s, 1, err); }

static void save_settings(lesson_run *r, rs_session *s)
{
	if (r->saved)
		return;
	r->saved = 1;
	r->add_bos = s->add_bos;
	r->topk = s->topk;
	r->vec_full = s->vec_full;
	r->attn_values = s->attn_values;
	r->gran = s->gran;
	r->panes = s->panes;
}

static void restore_settings(lesson_run *r, rs_session *s, int panes_too)
{
	if (!r->saved)
		return;
	s->add_bos = r->add_bos;
	s->topk = r->topk;
	s->vec_full = r->vec_full;
	s->attn_values = r->attn_values;
	s->gran = (rs_gran)r->gran;
	if (panes_too)
		s->panes = r->panes;
	s->version++;
}

static void clear_expected(lesson_run *r)
{
	for (int i = 0; i < r->n_expected; i++)
		free(r->expected[i]);
	free(r->expected);
	free(r->answered);
	r->expected = NULL;
	r->answered = NULL;
	r->n_expected = 0;
}

/* ---------------------------------------------------------------- steps */
/* The state before a lesson's first step: no interventions, the learner's
 * settings, the lesson's variables. */
int lesson_run_reset(lesson_run *r, rs_session *s, rs_err *err)
{
	session_clear_interventions(s);
	restore_settings(r, s, 0);
	s->highlight[0] = 0;
	s->sel_layer = s->sel_head = 0;
	lesson_env_clear_vars(r->env);
	for (int i = 0; i < r->cur->n_vars; i++)
		if (lesson_env_let(r->env, r->cur->var_name[i], r->cur->var_expr[i], err))
			return rs_fail_prefix(err, "$.vars.%s", r->cur->var_name[i]);
	return 0;
}

/* Runs step k's commands (placeholders expanded) and its let. With out, the
 * commands and their output are appended there. *failed_cmd gets the index of
 * a failing command, or -1 (a let failed, or none). */
int lesson_run_exec(lesson_run *r, rs_session *s, int k, char **out, int *failed_cmd, rs_err *err)
{
	const lesson_step *st = &r->cur->steps[k];
	tbuf b = {0};
	tb_add(&b, "");
	*failed_cmd = -1;
	for (int i = 0; i < st->n_commands; i++) {
		char *line = NULL;
		if (lesson_expand(r->env, st->commands[i], &line, err)) {
			*failed_cmd = i;
			free(b.p);
			return -1;
		}
		tb_printf(&b, "%s> %s\n", b.n ? "\n" : "", line);
		r->executing++;
		cmd_status rc = cmd_exec(s, line, err);
		r->executing--;
		if (s->output_len)
			tb_add(&b, s->output);
		free(line);
		if (rc != CMD_OK) {
			if (rc == CMD_QUIT)
				rs_fail(err, "the command ended the session");
			*failed_cmd = i;
			free(b.p);
			return -1;
		}
	}
	for (int i = 0; i < st->n_let; i++)
		if (lesson_env_let(r->env, st->let_name[i], st->let_expr[i], err)) {
			free(b.p);
			return rs_fail_prefix(err, "$.steps[%d].let.%s", k, st->let_name[i]);
		}
	if (out)
		*out = b.p;
	else
		free(b.p);
	return 0;
}

/* The expected answers of step k's questions, as text. */
int lesson_run_expect(lesson_run *r, int k, int qi, char **out, rs_err *err)
{
	return lesson_eval_answer(r->env, r->cur->steps[k].q[qi].expect, out, err);
}

static int question_base(const lesson *l, int k)
{
	int n = 0;
	for (int i = 0; i < k; i++)
		n += l->steps[i].n_q;
	return n;
}

static const char *const kind_hint[] = {
	[LESSON_ANS_NUMBER] = "a number", [LESSON_ANS_INT] = "a whole number",
	[LESSON_ANS_HEAD] = "a head, as L2H1", [LESSON_ANS_TOKEN] = "a token",
	[LESSON_ANS_TEXT] = "a word",
};

/* Fills the step's text and questions in, once, when the step is shown: the
 * pane keeps showing the numbers of the step's own run whatever the learner
 * does next. */
static void fill(lesson_run *r, int k, const char *problem)
{
	free(r->body);
	for (int i = 0; i < r->n_asks; i++)
		free(r->asks[i]);
	free(r->asks);
	r->asks = NULL;
	r->n_asks = 0;
	if (problem || k >= r->cur->n_steps) {
		r->body = problem ? rs_xstrdup(problem) : NULL;
		return;
	}
	const lesson_step *st = &r->cur->steps[k];
	rs_err err = {{0}};
	if (lesson_expand(r->env, st->text, &r->body, &err)) {
		char msg[700];
		snprintf(msg, sizeof msg, "(this step's text could not be filled in: %s)", err.msg);
		r->body = rs_xstrdup(msg);
	}
	r->asks = rs_xcalloc((size_t)st->n_q + 1, sizeof *r->asks);
	for (int i = 0; i < st->n_q; i++) {
		if (lesson_expand(r->env, st->q[i].ask, &r->asks[i], &err))
			r->asks[i] = rs_xstrdup(st->q[i].ask);
		/* a number's question says how precise the answer must be */
		if (st->q[i].kind == LESSON_ANS_NUMBER && !strstr(r->asks[i], "digit")) {
			size_t len = strlen(r->asks[i]);
			char *t = rs_xmalloc(len + 48);
			snprintf(t, len + 48, "%s (to %d significant digits)", r->asks[i], st->q[i].digits);
			free(r->asks[i]);
			r->asks[i] = t;
		}
	}
	r->n_asks = st->n_q;
}

/* The pane's text for step k (or the closing page when k == n_steps). */
static void render(lesson_run *r, int k)
{
	const lesson *l = r->cur;
	tbuf b = {0};
	tb_add(&b, "");
	if (r->notice[0])
		tb_printf(&b, "(%s)\n\n", r->notice);
	if (r->once[0])
		tb_printf(&b, "%s\n\n", r->once);
	if (l == r->generated)
		tb_printf(&b, "%s\n", l->title); /* explain's: no number, no place in the list */
	else
		tb_printf(&b, "Lesson %d: %s\n", l->number, l->title);
	if (k >= l->n_steps && l == r->generated) {
		tb_printf(&b, "\nYou have reached the end of the walk. prompt TEXT and then :explain walk through "
			   "another answer; :lesson lists the lessons.\n");
		free(r->text);
		r->text = b.p;
		return;
	}
	if (k >= l->n_steps) {
		tb_printf(&b, "\nYou have reached the end of this lesson.\n");
		int next = -1;
		for (int i = 0; i < r->set->n; i++)
			if (r->set->l[i] == l && i + 1 < r->set->n)
				next = i + 1;
		if (next >= 0)
			tb_printf(&b, "\nNext: lesson %d, %s. Type :next to begin it, :lesson for the list.\n",
				  r->set->l[next]->number, r->set->l[next]->title);
		else
			tb_printf(&b, "\nThat was the last lesson. :lesson lists them all.\n");
		free(r->text);
		r->text = b.p;
		return;
	}
	const lesson_step *st = &l->steps[k];
	tb_printf(&b, "Step %d of %d: %s\n\n", k + 1, l->n_steps, st->title);
	tb_add(&b, r->body ? r->body : "");
	tb_add(&b, "\n");
	for (int i = 0; i < r->n_asks; i++) {
		char num[16] = "";
		if (r->n_asks > 1)
			snprintf(num, sizeof num, " %d", i + 1);
		tb_printf(&b, "\nQuestion%s: ", num);
		tb_add(&b, r->asks[i]);
		tb_add(&b, "\n");
		for (int c = 0; c < st->q[i].n_choices; c++)
			tb_printf(&b, "  %d) %s\n", c + 1, st->q[i].choices[c]);
		if (r->answered && r->answered[i] > 0)
			tb_printf(&b, "  answered: %s\n", r->expected[i] ? r->expected[i] : "");
		else
			tb_printf(&b, "  (answer with :answer and %s)\n", kind_hint[st->q[i].kind]);
	}
	tb_printf(&b, "\n:next  :prev  :lesson (list)  :lesson text (all of it)  :lesson quit\n");
	free(r->text);
	r->text = b.p;
}

/* Panes and highlight of step k. */
static void apply_view(lesson_run *r, rs_session *s, int k)
{
	const lesson_step *st = k < r->cur->n_steps ? &r->cur->steps[k] : NULL;
	s->panes = (st && st->has_panes ? st->panes : SESSION_PANES_DEFAULT) | 1u << PANE_LESSON;
	snprintf(s->highlight, sizeof s->highlight, "%s", st && st->highlight ? st->highlight : "");
	s->output_view = st ? st->output_view : 0;
	if (s->output_view == 2)
		s->output_view_gen++;
	s->version++;
}

void lesson_run_save(lesson_run *r)
{
	if (r->cur && r->cur == r->generated)
		return; /* built by explain: nothing to resume */
	if (r->no_save)
		return;
	char note[600];
	lesson_progress *p = lesson_progress_load(note, sizeof note);
	if (note[0])
		snprintf(r->notice, sizeof r->notice, "%.480s", note);
	if (r->cur) {
		lesson_progress_entry *e = lesson_progress_get(p, r->cur->name, 1);
		e->step = r->step < r->cur->n_steps ? r->step : r->cur->n_steps - 1;
		e->n_steps = r->cur->n_steps;
		if (r->step >= r->cur->n_steps)
			e->finished = 1;
		int base = question_base(r->cur, r->step < r->cur->n_steps ? r->step : 0);
		for (int i = 0; r->answered && i < r->n_expected; i++)
			if (r->answered[i] > 0 && base + i < 64)
				e->answered |= 1ul << (base + i);
		free(p->current);
		p->current = r->step < r->cur->n_steps && !r->leaving ? rs_xstrdup(r->cur->name) : NULL;
	} else {
		free(p->current);
		p->current = NULL;
	}
	rs_err err = {{0}};
	if (p->path && lesson_progress_save(p, &err))
		snprintf(r->notice, sizeof r->notice, "progress not saved: %.480s", err.msg);
	lesson_progress_free(p);
}

/* Shows step k of the current lesson (k == n_steps: the closing page).
 * When the lesson cannot start or a step's command fails, the page says so
 * and -1 returns with the same message (a step skipped for what the model
 * lacks is no failure). */
int lesson_run_goto(lesson_run *r, rs_session *s, int k, rs_err *err)
{
	lesson *l = r->cur;
	if (k < 0)
		k = 0;
	if (k > l->n_steps)
		k = l->n_steps;
	save_settings(r, s);
	clear_expected(r);
	r->step = k;
	r->once[0] = 0;
	char *out = NULL, problem[900] = "";
	int shown = k < l->n_steps ? k : l->n_steps - 1, failed = 0;
	if (lesson_run_reset(r, s, err)) {
		snprintf(problem, sizeof problem, "(the lesson could not start: %s)", err->msg);
		failed = 1;
	} else {
		for (int i = 0; i <= shown && !problem[0]; i++) {
			const char *why = lesson_req_missing(r->env, l->steps[i].requires);
			if (why) {
				if (i == shown)
					snprintf(problem, sizeof problem,
						 "This step %s, so it is skipped here. Type :next to go on.", why);
				continue;
			}
			int bad;
			free(out);
			out = NULL;
			if (lesson_run_exec(r, s, i, i == shown ? &out : NULL, &bad, err)) {
				snprintf(problem, sizeof problem, "(step %d%s%s%s could not run: %s)", i + 1,
					 bad >= 0 ? ", command '" : "", bad >= 0 ? l->steps[i].commands[bad] : "",
					 bad >= 0 ? "'," : "", err->msg);
				failed = 1;
			}
		}
	}
	if (k < l->n_steps && !problem[0] && l->steps[k].n_q) {
		const lesson_step *st = &l->steps[k];
		r->n_expected = st->n_q;
		r->expected = rs_xcalloc((size_t)st->n_q, sizeof *r->expected);
		r->answered = rs_xcalloc((size_t)st->n_q, sizeof *r->answered);
		lesson_progress *p = lesson_progress_load(NULL, 0);
		lesson_progress_entry *e = lesson_progress_get(p, l->name, 0);
		int base = question_base(l, k);
		for (int i = 0; i < st->n_q; i++) {
			rs_err qe = {{0}};
			if (lesson_run_expect(r, k, i, &r->expected[i], &qe))
				r->expected[i] = NULL;
			if (e && base + i < 64 && (e->answered >> (base + i) & 1))
				r->answered[i] = 1;
		}
		lesson_progress_free(p);
	}
	fill(r, k, problem[0] ? problem : NULL);
	render(r, k);
	apply_view(r, s, k);
	session_clear_output(s);
	if (out)
		session_printf(s, "%s", out);
	free(out);
	lesson_run_save(r);
	if (failed) /* the message without the page's parentheses */
		return rs_fail(err, "%.*s", (int)strlen(problem) - 2, problem + 1);
	return 0;
}

int lesson_run_start(lesson_run *r, rs_session *s, lesson *l, int restart, rs_err *err)
{
	if (r->cur != l)
		r->cur = l;
	int k = 0;
	if (!restart) {
		lesson_progress *p = lesson_progress_load(NULL, 0);
		lesson_progress_entry *e = lesson_progress_get(p, l->name, 0);
		/* a finished lesson starts over; one in progress resumes */
		if (e && !(e->finished && e->step >= l->n_steps - 1) && e->step < l->n_steps)
			k = e->step;
		lesson_progress_free(p);
	}
	return lesson_run_goto(r, s, k, err);
}

/* Leaves the lesson: the learner's panes and settings come back. */
void lesson_run_leave(lesson_run *r, rs_session *s)
{
	if (r->cur) {
		/* leaving on purpose: the next start does not resume it by itself */
		r->leaving = 1;
		lesson_run_save(r);
		r->leaving = 0;
	}
	restore_settings(r, s, 1);
	r->saved = 0;
	s->panes &= ~(1u << PANE_LESSON);
	s->highlight[0] = 0;
	s->output_view = 0;
	r->cur = NULL;
	clear_expected(r);
	free(r->text);
	r->text = NULL;
	s->version++;
}

/* `answer TEXT`: the first question of the step not answered right yet. */
int lesson_run_answer(lesson_run *r, rs_session *s, const char *given, rs_err *err)
{
	if (!r->cur || r->step >= r->cur->n_steps)
		return rs_fail(err, "no lesson step is shown (lesson NAME starts one)");
	const lesson_step *st = &r->cur->steps[r->step];
	if (!st->n_q || !r->expected)
		return rs_fail(err, "this step asks no question");
	int i = 0;
	while (i < st->n_q - 1 && r->answered[i] > 0)
		i++;
	if (!r->expected[i])
		return rs_fail(err, "the answer to this question could not be computed on this model");
	char why[200];
	if (lesson_answer_grade(&st->q[i], r->expected[i], given, why, sizeof why)) {
		r->answered[i] = 1;
		session_printf(s, "Right: %s.\n", r->expected[i]);
		if (st->q[i].explain) {
			char *t = NULL;
			rs_err e2 = {{0}};
			if (!lesson_expand(r->env, st->q[i].explain, &t, &e2))
				session_printf(s, "%s\n", t);
			free(t);
		}
		lesson_run_save(r);
	} else {
		r->answered[i] = r->answered[i] > 0 ? 1 : -1;
		session_printf(s, "Not quite: '%s' is not it%s%s. Look again, or :lesson reveal shows the answer.\n",
			       rs_esc(given, -1), why[0] ? ": " : "", why);
	}
	render(r, r->step);
	s->version++;
	return 0;
}

void lesson_run_note(lesson_run *r, const char *msg)
{
	snprintf(r->once, sizeof r->once, "%s", msg);
	if (r->cur)
		render(r, r->step);
}

const char *lesson_pane_text(const rs_session *s)
{
	const lesson_run *r = s->upper;
	return r ? r->text : NULL;
}
