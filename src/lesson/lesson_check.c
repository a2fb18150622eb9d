/* lesson_check.c - `residual lessons --check`: every file validated, every
 * lesson run headless on a real model through the command registry.
 *
 * A lesson passes when every command succeeds, every placeholder of its
 * text, questions and explanations resolves, and every question's expected
 * answer computes to a well-formed answer that the answer checker accepts.
 * Lessons (or steps) whose requirements the model does not meet are skipped
 * with the reason, so a check on a stand-in model still covers the rest.
 */
#include "config.h"
#include "lesson_int.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* The run state with a set of our own (the run frees it with the session). */
static lesson_run *attach(rs_session *s, lesson_set *set)
{
	rs_err err;
	/* lesson_run_get loads the installed set; swap in the one checked */
	lesson_run *r = lesson_run_get(s, &err);
	if (!r)
		return NULL;
	lesson_set_free(r->set);
	r->set = set;
	r->notice[0] = 0;
	return r;
}

static int check_question(lesson_run *r, const lesson *l, int k, int i, FILE *out, int verbose)
{
	const lesson_question *q = &l->steps[k].q[i];
	char path[96];
	snprintf(path, sizeof path, "$.steps[%d].questions[%d]", k, i);
	rs_err err = {{0}};
	char *want = NULL, *t = NULL;
	int bad = 0;
	if (lesson_run_expect(r, k, i, &want, &err)) {
		fprintf(out, "%s: %s.expect: %s\n", l->path, path, err.msg);
		return 1;
	}
	if (lesson_expand(r->env, q->ask, &t, &err)) {
		fprintf(out, "%s: %s.ask: %s\n", l->path, path, err.msg);
		bad++;
	}
	free(t);
	t = NULL;
	if (q->explain && lesson_expand(r->env, q->explain, &t, &err)) {
		fprintf(out, "%s: %s.explain: %s\n", l->path, path, err.msg);
		bad++;
	}
	free(t);
	int L, H;
	const rs_config *c = &lx_session(r->env)->model->cfg;
	if (q->kind == LESSON_ANS_HEAD &&
	    (lx_parse_component(want, &L, &H) || H < 0 || L >= c->n_layers || H >= c->n_heads)) {
		fprintf(out, "%s: %s.expect: '%s' is not a head of this model\n", l->path, path, want);
		bad++;
	}
	if (q->kind == LESSON_ANS_INT && strspn(want, "-0123456789") != strlen(want)) {
		fprintf(out, "%s: %s.expect: '%s' is not a whole number\n", l->path, path, want);
		bad++;
	}
	if (q->n_choices) {
		int found = 0;
		for (int c2 = 0; c2 < q->n_choices; c2++)
			found |= lesson_answer_ok(q, want, q->choices[c2]);
		if (!found) {
			fprintf(out, "%s: %s.expect: '%s' is none of the choices\n", l->path, path, want);
			bad++;
		}
	}
	/* the learner types what the engine computed: the checker must take it */
	if (!bad && !lesson_answer_ok(q, want, want)) {
		fprintf(out, "%s: %s: the computed answer '%s' does not pass the answer check\n", l->path, path, want);
		bad++;
	}
	if (verbose)
		fprintf(out, "    question %d: answer %s\n", i + 1, want);
	free(want);
	return bad;
}

/* Runs one lesson from its start; returns the number of mistakes. */
static int check_lesson(lesson_run *r, rs_session *s, lesson *l, FILE *out, int verbose, int *skipped)
{
	rs_err err = {{0}};
	int bad = 0, steps_skipped = 0;
	r->cur = l;
	const char *why = lesson_req_missing(r->env, l->requires);
	if (why) {
		fprintf(out, "skip %s: %s\n", l->name, why);
		(*skipped)++;
		return 0;
	}
	if (lesson_run_reset(r, s, &err)) {
		fprintf(out, "%s: %s\n", l->path, err.msg);
		return 1;
	}
	for (int k = 0; k < l->n_steps; k++) {
		const lesson_step *st = &l->steps[k];
		if ((why = lesson_req_missing(r->env, st->requires))) {
			fprintf(out, "skip %s step %d: %s\n", l->name, k + 1, why);
			steps_skipped++;
			continue;
		}
		int failed;
		char *text = NULL;
		if (lesson_run_exec(r, s, k, NULL, &failed, &err)) {
			if (failed >= 0)
				fprintf(out, "%s: $.steps[%d].commands[%d]: '%s': %s\n", l->path, k, failed,
					st->commands[failed], err.msg);
			else
				fprintf(out, "%s: %s\n", l->path, err.msg);
			/* later steps build on this one: stop here */
			return bad + 1;
		}
		if (lesson_expand(r->env, st->text, &text, &err)) {
			fprintf(out, "%s: $.steps[%d].text: %s\n", l->path, k, err.msg);
			bad++;
		} else if (verbose) {
			fprintf(out, "--- %s step %d: %s\n%s\n", l->name, k + 1, st->title, text);
			/* the step's variables, for tests/check_python to compare with the Python's */
			for (int i = 0; i < st->n_let; i++) {
				char *v = NULL, full[160];
				rs_err e2;
				snprintf(full, sizeof full, "{%s:.9g}", st->let_name[i]); /* numbers in full */
				if (lesson_expand(r->env, full, &v, &e2) == 0 ||
				    lesson_eval(r->env, st->let_name[i], &v, &e2) == 0)
					fprintf(out, "    let %s = %s\n", st->let_name[i], v);
				free(v);
			}
		}
		free(text);
		for (int i = 0; i < st->n_q; i++)
			bad += check_question(r, l, k, i, out, verbose);
	}
	if (!bad) {
		int nq = 0;
		for (int k = 0; k < l->n_steps; k++)
			nq += l->steps[k].n_q;
		fprintf(out, "ok   %s: %d steps, %d questions%s\n", l->name, l->n_steps, nq,
			steps_skipped ? " (some steps skipped)" : "");
	}
	return bad;
}

int lesson_check(const lesson_check_opts *o, FILE *out)
{
	lesson_diags d = {0};
	rs_err err = {{0}};
	lesson_set *set = lesson_set_load(o->dir, &d, &err);
	if (!set) {
		fprintf(out, "residual lessons: %s\n", err.msg);
		lesson_diags_free(&d);
		return 1;
	}
	int bad = d.n;
	for (int i = 0; i < d.n; i++)
		fprintf(out, "%s\n", d.msg[i]);
	lesson_diags_free(&d);
	if (!set->n) {
		fprintf(out, "residual lessons: no lesson files in %s\n", set->dir);
		lesson_set_free(set);
		return bad + 1;
	}
	if (o->validate_only) {
		fprintf(out, "%d lesson files valid, %d mistakes (not run: no model)\n", set->n, bad);
		lesson_set_free(set);
		return bad;
	}
	rs_session *s = session_create(o->model, &err);
	if (!s) {
		fprintf(out, "residual lessons: %s\n", err.msg);
		lesson_set_free(set);
		return bad + 1;
	}
	lesson_run *r = attach(s, set);
	if (!r) {
		lesson_set_free(set);
		session_free(s);
		return bad + 1;
	}
	int skipped = 0, ran = 0;
	for (int i = 0; i < set->n; i++) {
		if (o->only && lesson_find(set, o->only) != set->l[i])
			continue;
		int b = check_lesson(r, s, set->l[i], out, o->verbose, &skipped);
		if (b)
			fprintf(out, "FAIL %s: %d mistake%s\n", set->l[i]->name, b, b > 1 ? "s" : "");
		bad += b;
		ran++;
	}
	if (o->only && !ran) {
		fprintf(out, "residual lessons: no lesson '%s'\n", o->only);
		bad++;
	}
	fprintf(out, "%d lessons checked on %s, %d skipped, %d mistakes\n", ran - skipped, s->model_path, skipped, bad);
	r->cur = NULL; /* nothing to save: a check leaves the learner's progress alone */
	session_free(s);
	return bad;
}
