/* commands.c - the command registry: splitting a line into words, running a
 * command, `help`, and batch mode (commands from a file without curses). */
#include "config.h"
#include "commands_internal.h"
#include "strbuf.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAX_WORDS 256
#define MAX_LINE (1 << 20)

/* ---------------------------------------------------------------- registry */
static const cmd_def *const tables[] = {cmds_session, cmds_nav, cmds_inspect, cmds_tokens, cmds_analysis,
					cmds_exp, cmds_circuits, cmds_features};
static cmd_def registry[128];
/* What an upper layer hands down (cmd_extend): lesson/ adds next, prev and
 * answer, and handles `lesson`. */
static const cmd_def *extra_cmds;
cmd_handler cmd_lesson_handler;

void cmd_extend(const cmd_def *cmds, cmd_handler lesson)
{
	extra_cmds = cmds;
	cmd_lesson_handler = lesson;
	registry[0].name = NULL; /* rebuilt on next use */
}

const cmd_def *cmd_registry(void)
{
	if (!registry[0].name) {
		size_t n = 0;
		for (size_t t = 0; t < sizeof tables / sizeof *tables; t++)
			for (const cmd_def *d = tables[t]; d->name; d++)
				if (n + 1 < sizeof registry / sizeof *registry)
					registry[n++] = *d;
		for (const cmd_def *d = extra_cmds; d && d->name; d++)
			if (n + 1 < sizeof registry / sizeof *registry)
				registry[n++] = *d;
	}
	return registry;
}

/* Names that mean another command (kept out of the listing). */
static const char *const aliases[][2] = {
	{"exit", "quit"}, {"q", "quit"}, {"?", "help"}, {"s", "step"}, {"b", "back"}, {"n", "step"},
	{"runto", "run-to"}, {"goto", "run-to"}, {"ivs", "interventions"}, {"gen", "generate"},
};

const cmd_def *cmd_find(const char *name)
{
	if (!name)
		return NULL;
	for (size_t i = 0; i < sizeof aliases / sizeof *aliases; i++)
		if (!strcmp(name, aliases[i][0]))
			name = aliases[i][1];
	for (const cmd_def *d = cmd_registry(); d->name; d++)
		if (!strcmp(d->name, name))
			return d;
	return NULL;
}

/* ---------------------------------------------------------------- errors */
static void vfail(rs_err *err, const char *name, int usage, const char *fmt, va_list ap)
{
	if (!err)
		return;
	char msg[400];
	vsnprintf(msg, sizeof msg, fmt, ap);
	const cmd_def *d = usage ? cmd_find(name) : NULL;
	if (d)
		snprintf(err->msg, sizeof err->msg, "%s: %s (usage: %s%s%s)", name, msg, d->name, *d->args ? " " : "",
			 d->args);
	else
		snprintf(err->msg, sizeof err->msg, "%s: %s", name, msg);
}

cmd_status cmd_usage(rs_err *err, const char *name, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vfail(err, name, 1, fmt, ap);
	va_end(ap);
	return CMD_ERROR;
}

cmd_status cmd_fail(rs_err *err, const char *name, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vfail(err, name, 0, fmt, ap);
	va_end(ap);
	return CMD_ERROR;
}

/* ---------------------------------------------------------------- words */
typedef struct cmd_line {
	const char *raw;
	int n;
	char *words[MAX_WORDS + 1];
	size_t start[MAX_WORDS], end[MAX_WORDS]; /* raw offsets of each word */
	char *text;                                /* cmd_text's buffer */
	struct cmd_line *outer;                    /* the line of an enclosing cmd_exec (lessons) */
} cmd_line;

static cmd_line *current;

/* Splits raw into words. Returns 0, or -1 with a message (unterminated quote,
 * too many words). */
static int split_words(cmd_line *cl, const char *raw, rs_err *err)
{
	size_t len = strlen(raw), i = 0;
	cl->raw = raw;
	cl->n = 0;
	char *buf = rs_xmalloc(len + 1);
	for (;;) {
		while (i < len && (raw[i] == ' ' || raw[i] == '\t' || raw[i] == '\r' || raw[i] == '\n'))
			i++;
		/* a comment: "#" at the start of the line, or after white space and
		 * followed by white space; "#ID" (a digit next) is a token id */
		if (i >= len)
			break;
		if (raw[i] == '#' && (cl->n == 0 ? !(i + 1 < len && raw[i + 1] >= '0' && raw[i + 1] <= '9')
				     : i + 1 >= len || raw[i + 1] == ' ' || raw[i + 1] == '\t' ||
					       raw[i + 1] == '\r' || raw[i + 1] == '\n'))
			break;
		if (cl->n == MAX_WORDS) {
			free(buf);
			return rs_fail(err, "too many words (at most %d)", MAX_WORDS);
		}
		size_t o = 0, s0 = i;
		char quote = 0;
		while (i < len) {
			char c = raw[i];
			if (quote) {
				if (c == quote) {
					quote = 0;
					i++;
				} else if (quote == '"' && c == '\\' && i + 1 < len &&
					   (raw[i + 1] == '"' || raw[i + 1] == '\\')) {
					buf[o++] = raw[i + 1];
					i += 2;
				} else {
					buf[o++] = c;
					i++;
				}
			} else if (c == ' ' || c == '\t' || c == '\r' || c == '\n') {
				break;
			} else if (c == '"' || c == '\'') {
				quote = c;
				i++;
			} else if (c == '\\' && i + 1 < len) {
				buf[o++] = raw[i + 1];
				i += 2;
			} else {
				buf[o++] = c;
				i++;
			}
		}
		if (quote) {
			free(buf);
			for (int w = 0; w < cl->n; w++)
				free(cl->words[w]);
			cl->n = 0;
			return rs_fail(err, "unterminated %s quote", quote == '"' ? "double" : "single");
		}
		buf[o] = 0;
		cl->start[cl->n] = s0;
		cl->end[cl->n] = i;
		cl->words[cl->n++] = rs_xstrdup(buf);
	}
	cl->words[cl->n] = NULL;
	free(buf);
	return 0;
}

const char *cmd_text(int argc, char **argv, int i)
{
	if (i >= argc)
		return "";
	if (i == argc - 1 || !current)
		return argv[i];
	/* the raw span when argv[i..] are consecutive words of the line; handlers
	 * that took flags out of argv may have made a gap: then join with spaces */
	int a = -1;
	for (int w = 0; w < current->n && a < 0; w++)
		if (current->words[w] == argv[i])
			a = w;
	int contiguous = a >= 0 && a + (argc - 1 - i) < current->n;
	for (int k = i; contiguous && k < argc; k++)
		contiguous = current->words[a + k - i] == argv[k];
	free(current->text);
	if (contiguous) {
		int b = a + argc - 1 - i;
		size_t n = current->end[b] - current->start[a];
		current->text = rs_xmalloc(n + 1);
		memcpy(current->text, current->raw + current->start[a], n);
		current->text[n] = 0;
	} else {
		size_t n = 1;
		for (int k = i; k < argc; k++)
			n += strlen(argv[k]) + 1;
		current->text = rs_xcalloc(1, n);
		for (int k = i; k < argc; k++) {
			if (k > i)
				strcat(current->text, " ");
			strcat(current->text, argv[k]);
		}
	}
	return current->text;
}

/* ---------------------------------------------------------------- running */
/* cmd_exec_quiet's depth, so that the classroom hook knows a key's command */
static int quiet_depth;

cmd_status cmd_exec_quiet(rs_session *s, const char *line, rs_err *err)
{
	char *out = s->output;
	size_t len = s->output_len, cap = s->output_cap;
	s->output_cap = 256;
	s->output = rs_xmalloc(s->output_cap);
	s->output[0] = 0;
	s->output_len = 0;
	quiet_depth++;
	cmd_status st = cmd_exec(s, line, err);
	quiet_depth--;
	free(s->output);
	s->output = out, s->output_len = len, s->output_cap = cap;
	return st;
}

cmd_status cmd_exec(rs_session *s, const char *line, rs_err *err)
{
	rs_err local;
	if (!err)
		err = &local;
	err->msg[0] = 0;
	if (s)
		session_clear_output(s);
	if (!line)
		return CMD_OK;
	if (strlen(line) > MAX_LINE) {
		rs_fail(err, "the line is too long (%zu bytes; at most %d)", strlen(line), MAX_LINE);
		return CMD_ERROR;
	}
	cmd_line cl = {0};
	if (split_words(&cl, line, err))
		return CMD_ERROR;
	if (!cl.n)
		return CMD_OK;
	cmd_status st;
	const cmd_def *d = cmd_find(cl.words[0]);
	if (!d) {
		rs_fail(err, "unknown command '%.60s' (type help for the list)", cl.words[0]);
		st = CMD_ERROR;
	} else if (!s) {
		rs_fail(err, "%s: no session", d->name);
		st = CMD_ERROR;
	} else {
		/* handlers may reorder argv (taking flags out); keep the words to free */
		char *argv[MAX_WORDS + 1];
		memcpy(argv, cl.words, sizeof(char *) * (size_t)(cl.n + 1));
		argv[0] = (char *)d->name;
		/* the classroom hears of the commands typed, not of those a lesson runs */
		int top = !current && s->on_command;
		int quiet = quiet_depth > 0;
		if (top)
			s->on_command(s->on_command_ctx, line, quiet, -1);
		cl.outer = current;
		current = &cl;
		st = d->run(s, cl.n, argv, err);
		current = cl.outer;
		if (st == CMD_ERROR && !err->msg[0])
			cmd_usage(err, d->name, "failed");
		if (top && s->on_command)
			s->on_command(s->on_command_ctx, line, quiet, (int)st);
	}
	for (int w = 0; w < cl.n; w++)
		free(cl.words[w]);
	free(cl.text);
	return st;
}

const cmd_def *cmd_of_line(const char *line)
{
	cmd_line cl = {0};
	if (!line || strlen(line) > MAX_LINE || split_words(&cl, line, NULL))
		return NULL;
	const cmd_def *d = cl.n ? cmd_find(cl.words[0]) : NULL;
	for (int w = 0; w < cl.n; w++)
		free(cl.words[w]);
	return d;
}

char *cmd_words_from(const char *line, int first)
{
	cmd_line cl = {0};
	if (!line || strlen(line) > MAX_LINE || split_words(&cl, line, NULL))
		return NULL;
	rs_strbuf b;
	strbuf_init(&b);
	strbuf_add(&b, "", 0);
	for (int w = first; w < cl.n; w++) {
		if (w > first)
			strbuf_putc(&b, ' ');
		strbuf_puts(&b, cl.words[w]);
	}
	for (int w = 0; w < cl.n; w++)
		free(cl.words[w]);
	return b.p;
}

/* ---------------------------------------------------------------- help */
static void print_group(rs_session *s, const char *title)
{
	session_printf(s, "%s:\n", title);
}

cmd_status cmd_help_run(rs_session *s, int argc, char **argv, rs_err *err)
{
	if (argc > 2)
		return cmd_usage(err, argv[0], "give one command name");
	if (argc == 2) {
		const cmd_def *d = cmd_find(argv[1]);
		if (!d)
			return cmd_usage(err, argv[0], "no command '%.60s'", argv[1]);
		session_printf(s, "%s%s%s - %s\n", d->name, *d->args ? " " : "", d->args, d->summary);
		if (d->help && *d->help)
			session_printf(s, "\n%s\n", d->help);
		int first = 1;
		for (size_t i = 0; i < sizeof aliases / sizeof *aliases; i++)
			if (!strcmp(aliases[i][1], d->name)) {
				session_printf(s, "%s%s", first ? "\nalso: " : ", ", aliases[i][0]);
				first = 0;
			}
		if (!first)
			session_printf(s, "\n");
		return CMD_OK;
	}
	for (const cmd_def *d = cmd_registry(); d->name; d++) {
		if (d->group)
			print_group(s, d->group);
		char use[160];
		snprintf(use, sizeof use, "%s%s%s", d->name, *d->args ? " " : "", d->args);
		if (strlen(use) > 28) /* long usages get a line of their own */
			session_printf(s, "  %s\n  %-28s %s\n", use, "", d->summary);
		else
			session_printf(s, "  %-28s %s\n", use, d->summary);
	}
	session_printf(s, "Type help NAME for more. Hooks: full names (blocks.0.hook_resid_pre) or short ones "
			  "(resid_pre, 0.pattern); layers, heads and positions count from 0, negative from the end.\n");
	return CMD_OK;
}

/* ---------------------------------------------------------------- batch */
/* getline that keeps at most max bytes of a line (the newline excluded):
 * the rest is read and dropped and *cut set, so that no file can make one
 * line take more memory than that. */
static ssize_t getline_max(char **line, size_t *cap, FILE *f, size_t max, int *cut)
{
	size_t n = 0;
	int c = EOF;
	*cut = 0;
	if (!*line)
		*line = rs_xmalloc(*cap = 256);
	while ((c = getc(f)) != EOF && c != '\n') {
		if (n >= max) {
			*cut = 1;
			continue;
		}
		if (n + 2 > *cap)
			*line = rs_xrealloc(*line, *cap *= 2);
		(*line)[n++] = (char)c;
	}
	(*line)[n] = 0;
	return c == EOF && n == 0 && !*cut ? -1 : (ssize_t)n;
}

int cmd_batch(rs_session *s, const char *path, int echo)
{
	FILE *f = strcmp(path, "-") ? fopen(path, "r") : stdin;
	if (!f) {
		fprintf(stderr, "residual: %s: %s\n", path, strerror(errno));
		return 2;
	}
	char *line = NULL;
	size_t cap = 0;
	ssize_t len;
	int lineno = 0, failed = 0, cut;
	while ((len = getline_max(&line, &cap, f, MAX_LINE, &cut)) >= 0) {
		lineno++;
		if (cut) {
			fflush(stdout);
			fprintf(stderr, "error: %s:%d: the line is too long (at most %d bytes); skipped\n", path,
				lineno, MAX_LINE);
			failed = 1;
			continue;
		}
		while (len > 0 && (line[len - 1] == '\n' || line[len - 1] == '\r'))
			line[--len] = 0;
		if (memchr(line, 0, (size_t)len)) {
			fflush(stdout);
			fprintf(stderr, "residual: %s:%d: a NUL byte in the line\n", path, lineno);
			failed = 1;
			continue;
		}
		if (echo) {
			const char *p = line + strspn(line, " \t");
			if (*p && *p != '#')
				printf("> %s\n", line);
		}
		rs_err err = {{0}};
		cmd_status st = cmd_exec(s, line, &err);
		if (s->output_len) {
			fputs(s->output, stdout);
			if (s->output[s->output_len - 1] != '\n')
				putchar('\n');
		}
		if (st == CMD_ERROR) {
			failed = 1;
			fflush(stdout);
			fprintf(stderr, "error: %s:%d: %s\n", path, lineno, err.msg);
			fflush(stderr);
		}
		if (st == CMD_QUIT)
			break;
	}
	free(line);
	fflush(stdout);
	if (f != stdin)
		fclose(f);
	return failed ? 1 : 0;
}
