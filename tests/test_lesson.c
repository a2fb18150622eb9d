/* test_lesson.c - the lesson module without a model: the placeholder
 * language (arithmetic, text, formats, errors), answer checking, the
 * validator's messages, lesson lookup and the progress file. */
#include "config.h"
#include "lesson.h"
#include "tap.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <dirent.h>

static lesson_env *env;

static void expands(const char *tmpl, const char *want)
{
	char *out = NULL;
	rs_err err = {{0}};
	int rc = lesson_expand(env, tmpl, &out, &err);
	tap_ok(rc == 0 && !strcmp(out, want), "'%s' -> '%s' (got '%s'%s%s)", tmpl, want, rc ? "" : out,
	       rc ? ", " : "", rc ? err.msg : "");
	free(out);
}

static void fails(const char *tmpl, const char *msg_part)
{
	char *out = NULL;
	rs_err err = {{0}};
	int rc = lesson_expand(env, tmpl, &out, &err);
	tap_ok(rc != 0 && strstr(err.msg, msg_part), "'%s' fails with '%s' (got: %s)", tmpl, msg_part, err.msg);
	free(out);
}

static void answer(int kind, const char *want, const char *given, int ok, char **choices, int n)
{
	lesson_question q = {0};
	q.kind = kind;
	q.digits = 3;
	q.choices = choices;
	q.n_choices = n;
	tap_ok(lesson_answer_ok(&q, want, given) == ok, "answer '%s' for '%s' is %s", given, want,
	       ok ? "right" : "wrong");
}

static void write_file(const char *path, const char *text)
{
	FILE *f = fopen(path, "w");
	fputs(text, f);
	fclose(f);
}

int main(void)
{
	env = lesson_env_create(NULL);
	expands("no braces", "no braces");
	expands("{1 + 2 * 3}", "7");
	expands("{(1 + 2) * 3 - 2 ^ 3}", "1");
	expands("{-2 ^ 2}", "-4");
	expands("{1 / 3}", "0.3333");
	expands("{1 / 3:.2f}", "0.33");
	expands("{0.25:%}", "25.0%");
	expands("{0.123:.2%}", "12.30%");
	expands("{1234567:,}", "1,234,567");
	expands("{-1234.6:,}", "-1,235");
	expands("{0.5:+.2f} {-0.5:+.2f}", "+0.50 -0.50");
	expands("{1e-7}", "1.000e-07");
	expands("{sqrt(16) + abs(-2) + round(2.3456, 2)}", "8.3500");
	expands("{'a' + \"b\" + 1}", "ab1");
	expands("{if(gt(2, 1), 'yes', 'no')} {if(lt(2, 1), 'yes', 'no')} {if(eq('x', 'x'), 1, 0)}", "yes no 1");
	expands("{{literal}} braces", "{literal} braces");
	fails("{nosuch(1)}", "unknown function 'nosuch'");
	fails("{sqrt(1, 2)}", "sqrt takes 1 argument, not 2");
	fails("{1 +}", "unexpected");
	fails("{'open}", "unterminated string");
	fails("{1:.3z}", "unknown format");
	fails("{'a' * 2}", "needs numbers");
	fails("{missing}", "unknown variable 'missing'");
	rs_err err = {{0}};
	tap_ok(lesson_env_let(env, "x", "2 * 21", &err) == 0, "let x = 2 * 21");
	expands("x is {x}, x/4 is {x / 4:.1f}", "x is 42, x/4 is 10.5");

	/* answers */
	answer(LESSON_ANS_HEAD, "L2H1", "L2H1", 1, NULL, 0);
	answer(LESSON_ANS_HEAD, "L2H1", "2.1", 1, NULL, 0);
	answer(LESSON_ANS_HEAD, "L2H1", "layer 2 head 1", 1, NULL, 0);
	answer(LESSON_ANS_HEAD, "L2H1", "2 1", 1, NULL, 0);
	answer(LESSON_ANS_HEAD, "L2H1", "L1H2", 0, NULL, 0);
	answer(LESSON_ANS_TOKEN, "' Paris'", "Paris", 1, NULL, 0);
	answer(LESSON_ANS_TOKEN, "' Paris'", " paris ", 1, NULL, 0);
	answer(LESSON_ANS_TOKEN, "' Paris'", "Rome", 0, NULL, 0);
	answer(LESSON_ANS_NUMBER, "0.5318", "0.532", 1, NULL, 0);
	answer(LESSON_ANS_NUMBER, "0.5318", "0.53", 0, NULL, 0);  /* 2 digits: not 3 */
	answer(LESSON_ANS_NUMBER, "14.0271", "14.0", 1, NULL, 0);
	answer(LESSON_ANS_NUMBER, "14.0271", "14.03", 1, NULL, 0);
	answer(LESSON_ANS_NUMBER, "14.0271", "14.1", 0, NULL, 0); /* issue 16 */
	answer(LESSON_ANS_NUMBER, "0.32549", "0.325", 1, NULL, 0);
	answer(LESSON_ANS_NUMBER, "0.32549", "0.326", 0, NULL, 0);
	answer(LESSON_ANS_NUMBER, "0.5318", "0.6", 0, NULL, 0);
	answer(LESSON_ANS_NUMBER, "0.5318", "abc", 0, NULL, 0);
	answer(LESSON_ANS_INT, "6", "6", 1, NULL, 0);
	answer(LESSON_ANS_INT, "6", "6.5", 0, NULL, 0);
	char *choices[] = {"before", "after"};
	answer(LESSON_ANS_TEXT, "before", "Before", 1, choices, 2);
	answer(LESSON_ANS_TEXT, "before", "1", 1, choices, 2);
	answer(LESSON_ANS_TEXT, "before", "2", 0, choices, 2);

	/* the validator */
	char dir[] = "/tmp/test_lesson.XXXXXX";
	tap_ok(mkdtemp(dir) != NULL, "temporary directory");
	char path[512];
	snprintf(path, sizeof path, "%s/03-bad.json", dir);
	write_file(path, "{\"title\": \"t\", \"steps\": [{\"title\": \"s\", \"text\": \"x\", \"commands\": [\"atn 0 1\"]},"
			 " {\"title\": \"s2\", \"text\": [\"a\", 3]}]}");
	lesson_diags d = {0};
	lesson *l = lesson_load(path, &d);
	int found1 = 0, found2 = 0;
	for (int i = 0; i < d.n; i++) {
		found1 |= strstr(d.msg[i], "03-bad.json: $.steps[0].commands[0]: unknown command 'atn'") != NULL;
		found2 |= strstr(d.msg[i], "$.steps[1].text: [1] must be a string, not a number") != NULL;
	}
	tap_ok(!l && found1 && found2, "the validator names file, path and mistake (%d messages)", d.n);
	lesson_diags_free(&d);
	snprintf(path, sizeof path, "%s/03-bad.json", dir);
	write_file(path, "{\"title\": \"Good one\", \"steps\": [{\"title\": \"s\", \"text\": \"{1+1} tokens\", "
			 "\"commands\": [\"tokens\"], \"panes\": [\"tokens\"], \"questions\": [{\"ask\": \"?\", "
			 "\"kind\": \"int\", \"expect\": \"1 + 1\"}]}]}");
	lesson_set *set = lesson_set_load(dir, &d, &err);
	tap_ok(set && set->n == 1 && d.n == 0, "a valid file loads (%d mistakes)", d.n);
	tap_ok(set && lesson_find(set, "3") && lesson_find(set, "03") && lesson_find(set, "bad") &&
		       lesson_find(set, "03-bad") && !lesson_find(set, "4"),
	       "lessons are found by number, name or slug");
	lesson_set_free(set);
	lesson_diags_free(&d);
	unlink(path);

	/* progress: atomic save, reload, a corrupt file kept aside */
	char state[600], pfile[700], note[600];
	snprintf(state, sizeof state, "%s/state", dir);
	setenv("XDG_STATE_HOME", state, 1);
	lesson_progress *p = lesson_progress_load(note, sizeof note);
	lesson_progress_entry *e = lesson_progress_get(p, "01-x", 1);
	e->step = 3;
	e->n_steps = 5;
	p->current = strdup("01-x");
	tap_ok(lesson_progress_save(p, &err) == 0, "progress saves (%s)", err.msg);
	lesson_progress_free(p);
	p = lesson_progress_load(note, sizeof note);
	e = lesson_progress_get(p, "01-x", 0);
	tap_ok(e && e->step == 3 && p->current && !strcmp(p->current, "01-x") && !note[0], "progress reloads");
	lesson_progress_free(p);
	snprintf(pfile, sizeof pfile, "%s/residual/progress.json", state);
	write_file(pfile, "{\"lessons\": [");
	p = lesson_progress_load(note, sizeof note);
	tap_ok(p->n == 0 && strstr(note, "kept as"), "a corrupt file is reported: %s", note);
	int aside = 0;
	char sdir[700];
	snprintf(sdir, sizeof sdir, "%s/residual", state);
	DIR *dh = opendir(sdir);
	struct dirent *de;
	while (dh && (de = readdir(dh)))
		aside |= strstr(de->d_name, "progress.json.corrupt-") != NULL;
	if (dh)
		closedir(dh);
	tap_ok(aside && access(pfile, F_OK) != 0, "and kept aside, not overwritten");
	tap_ok(lesson_progress_save(p, &err) == 0 && access(pfile, F_OK) == 0, "a new progress file is written");
	lesson_progress_free(p);

	lesson_env_free(env);
	char cmd[700];
	snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
	if (system(cmd))
		tap_diag("could not remove %s", dir);
	return tap_done_plan();
}
