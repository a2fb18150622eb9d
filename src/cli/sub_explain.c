/* sub_explain.c - `residual explain [--model M] [--chat] [-n N] [--vs TOKEN]
 * [--json] [--print] PROMPT`: how the model arrived at its answer, measured.
 *
 * A thin front end over the `explain` command (lesson/lesson_explain.c): the
 * prompt becomes token ids (with --chat the Llama 3.1 chat template's, for
 * instruct models), then either the screen opens with `explain` run in it
 * (a terminal), or the session runs it headless and prints the walk or,
 * with --json, the measurements. */
#include "config.h"
#include "cli.h"
#include "cliutil.h"
#include "commands.h"
#include "lesson.h"
#include "session.h"
#include "strbuf.h"
#include "tokenizer.h"
#include "ui.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static const char usage_text[] =
	"usage: residual explain [--model PATH] [--tokenizer PATH] [--chat] [-n N] [--vs TOKEN] [--json] [--print] PROMPT\n"
	"Generates the model's answer to PROMPT (greedy, N tokens; default: to the end token or 16) and walks\n"
	"through how it arose, every number measured in this run: the tokens the model saw, the logit lens of\n"
	"the answer, direct logit attribution against a runner-up (--vs, default the second most likely token),\n"
	"the top heads' attention and writes, zero and mean ablation of the top components, copying for later\n"
	"tokens, and a summary. On a terminal it opens the screen on the walk (a lesson built on the fly);\n"
	"--print prints the walk, --json the measurements and the summary. --chat wraps PROMPT as a user turn\n"
	"of the Llama 3.1 chat template (instruct models).\n";

int sub_explain(int argc, char **argv)
{
	session_opts so = {0};
	int chat = 0, json = 0, print = 0, n = 0;
	const char *vs = NULL;
	rs_strbuf prompt = {0};
	for (int i = 1; i < argc; i++) {
		const char *a = argv[i], *val = i + 1 < argc ? argv[i + 1] : NULL;
		if (!strcmp(a, "--help") || !strcmp(a, "-h")) {
			fputs(usage_text, stdout);
			strbuf_free(&prompt);
			return 0;
		}
		if (session_opt(&so, argc, argv, &i))
			continue;
		if (!strcmp(a, "--chat"))
			chat = 1;
		else if (!strcmp(a, "--json"))
			json = 1;
		else if (!strcmp(a, "--print"))
			print = 1;
		else if ((!strcmp(a, "-n") || !strcmp(a, "--n")) && val) {
			n = atoi(val);
			i++;
			if (n < 1 || n > 64) {
				fprintf(stderr, "residual explain: -n is 1 to 64\n");
				strbuf_free(&prompt);
				return 2;
			}
		} else if (!strcmp(a, "--vs") && val) {
			vs = val;
			i++;
		} else if (a[0] == '-' && a[1]) {
			fprintf(stderr, "residual explain: unknown or incomplete option '%s'\n%s", a, usage_text);
			strbuf_free(&prompt);
			return 2;
		} else {
			strbuf_printf(&prompt, "%s%s", prompt.n ? " " : "", a);
		}
	}
	if (so.prompt)
		strbuf_printf(&prompt, "%s%s", prompt.n ? " " : "", so.prompt);
	if (!prompt.n && !so.ids) {
		fprintf(stderr, "residual explain: give the prompt\n%s", usage_text);
		strbuf_free(&prompt);
		return 2;
	}
	if (!so.model && !session_default_model()) {
		fprintf(stderr, "residual explain: the built-in model is not installed; give --model PATH\n");
		strbuf_free(&prompt);
		return 1;
	}
	rs_err err = {{0}};
	rs_session *s = session_create(so.model, &err);
	int rc = 1;
	int32_t *ids = NULL;
	int nid = 0;
	if (!s)
		goto out;
	if (so.tokenizer && session_set_tokenizer(s, so.tokenizer, &err))
		goto out;
	if (so.ids) {
		if (cli_parse_ids(so.ids, &ids, &nid, &err))
			goto out;
	} else if (!s->tok) {
		rs_fail(&err, "this model has no tokenizer: give the prompt as --ids 1,2,3");
		goto out;
	} else if (chat) {
		tok_chat_msg msg = {"user", prompt.p};
		if (tok_chat_render(s->tok, TOK_CHAT_LLAMA31, &msg, 1, 1, NULL, &ids, NULL, &nid, NULL, &err)) {
			rs_fail_prefix(&err, "--chat");
			goto out;
		}
	} else if (tok_encode(s->tok, prompt.p, prompt.n, s->add_bos ? TOK_ADD_BOS : 0, &ids, NULL, &nid, &err)) {
		goto out;
	}
	/* the command line of `explain` */
	rs_strbuf line = {0};
	strbuf_printf(&line, "explain");
	if (n)
		strbuf_printf(&line, " %d", n);
	if (vs) {
		strbuf_puts(&line, " --vs '");
		for (const char *p = vs; *p; p++)
			strbuf_printf(&line, *p == '\'' ? "'\\''" : "%c", *p);
		strbuf_puts(&line, "'");
	}
	if (chat)
		strbuf_puts(&line, " --chat");
	if (json)
		strbuf_puts(&line, " --json");
	if (!json && !print && isatty(1) && isatty(0)) {
		/* the screen, with explain run in it */
		rs_strbuf idl = {0};
		for (int i = 0; i < nid; i++)
			strbuf_printf(&idl, "%s%d", i ? "," : "", ids[i]);
		char *uargv[12];
		int k = 0;
		uargv[k++] = "residual";
		if (so.model)
			uargv[k++] = "--model", uargv[k++] = (char *)so.model;
		if (so.tokenizer)
			uargv[k++] = "--tokenizer", uargv[k++] = (char *)so.tokenizer;
		uargv[k++] = "--ids", uargv[k++] = idl.p;
		uargv[k++] = "--lesson", uargv[k++] = "none";
		uargv[k++] = "--run", uargv[k++] = line.p;
		uargv[k] = NULL;
		session_free(s);
		s = NULL;
		rc = ui_main(k, uargv);
		strbuf_free(&idl);
		strbuf_free(&line);
		goto out;
	}
	if (session_set_ids(s, ids, nid, &err)) {
		strbuf_free(&line);
		goto out;
	}
	cmd_status st = cmd_exec(s, line.p, &err);
	strbuf_free(&line);
	if (st != CMD_OK)
		goto out;
	fputs(s->output ? s->output : "", stdout);
	rc = 0;
out:
	if (rc && err.msg[0])
		fprintf(stderr, "residual explain: %s\n", err.msg);
	free(ids);
	strbuf_free(&prompt);
	session_free(s);
	return rc;
}
