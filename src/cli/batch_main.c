/* batch_main.c - `residual --batch [FILE|-]`: the command language without
 * curses, for scripts, tests and classrooms without a terminal. */
#include "config.h"
#include "cli.h"
#include "commands.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void usage(FILE *f)
{
	fprintf(f, "usage: residual --batch [FILE|-] [--model PATH] [--tokenizer PATH] [--prompt TEXT]\n"
		   "                        [--ids N,N,...] [--echo] [--restricted]\n"
		   "       residual --batch [FILE|-] --present SOCKET [--names] [options]\n"
		   "       residual --batch [FILE|-] --follow SOCKET\n"
		   "Runs the commands of FILE (default: standard input) one line at a time and prints what\n"
		   "they print; errors go to standard error. The exit status is 0 when every command\n"
		   "succeeded, 1 when one failed, 2 when the session could not start. Type help for the\n"
		   "commands (residual --batch with 'help' as input lists them).\n");
}

int cli_batch_main(int argc, char **argv)
{
	const char *file = "-";
	session_opts so = {0};
	int echo = 0, restricted = 0, names = 0;
	const char *present = NULL, *follow = NULL;
	for (int i = 1; i < argc; i++) {
		const char *a = argv[i];
		int has_val = i + 1 < argc;
		if (session_opt(&so, argc, argv, &i)) {
			continue;
		} else if (!strcmp(a, "--batch")) {
			if (has_val && (argv[i + 1][0] != '-' || !strcmp(argv[i + 1], "-")))
				file = argv[++i];
		} else if (!strcmp(a, "--echo")) {
			echo = 1;
		} else if (!strcmp(a, "--present") && has_val) {
			present = argv[++i];
		} else if (!strcmp(a, "--follow") && has_val) {
			follow = argv[++i];
		} else if (!strcmp(a, "--names")) {
			names = 1;
		} else if (!strcmp(a, "--restricted")) {
			restricted = 1;
		} else if (!strcmp(a, "--help") || !strcmp(a, "-h")) {
			usage(stdout);
			return 0;
		} else if (!strcmp(a, "--no-history")) {
			/* the screen's option; harmless here */
		} else {
			fprintf(stderr, "residual: unknown or incomplete option '%s'\n", a);
			usage(stderr);
			return 2;
		}
	}
	const char *model = so.model, *tokenizer = so.tokenizer, *prompt = so.prompt, *ids = so.ids;
	if (follow) {
		if (present || model || tokenizer || prompt || ids) {
			fprintf(stderr, "residual: --follow takes the teacher's model and prompt; give it alone\n");
			return 2;
		}
		return cli_batch_follow(follow, file, echo);
	}
	rs_err err = {{0}};
	rs_session *s = session_create(model, &err);
	if (!s) {
		fprintf(stderr, "residual: %s\n", err.msg);
		return 2;
	}
	s->restricted = restricted;
	if (tokenizer && session_set_tokenizer(s, tokenizer, &err)) {
		fprintf(stderr, "residual: %s\n", err.msg);
		session_free(s);
		return 2;
	}
	/* the start-up prompt goes through the command language too */
	const char *pre = prompt ? "prompt" : ids ? "prompt --ids" : NULL;
	if (pre) {
		const char *text = prompt ? prompt : ids;
		size_t n = strlen(pre) + 4 * strlen(text) + 8;
		char *line = malloc(n), *o = line;
		if (!line) {
			session_free(s);
			return 2;
		}
		o += sprintf(o, "%s '", pre);
		for (const char *p = text; *p; p++) { /* single-quote the text, shell-style */
			if (*p == '\'') {
				strcpy(o, "'\\''");
				o += 4;
			} else {
				*o++ = *p;
			}
		}
		strcpy(o, "'");
		cmd_status st = cmd_exec(s, line, &err);
		free(line);
		if (st == CMD_ERROR) {
			fprintf(stderr, "residual: %s\n", err.msg);
			session_free(s);
			return 2;
		}
	}
	int rc = present ? cli_batch_present(s, present, file, echo, names) : cmd_batch(s, file, echo);
	session_free(s);
	return rc;
}
