/* lesson_load.c - reading and validating lesson files.
 *
 * Every mistake is reported with the file, the JSON path of the value at
 * fault and what is wrong, and loading goes on past the first one, so an
 * author sees all of them at once. Commands are checked against the
 * registry and placeholders are parsed (not evaluated) here; evaluating them
 * needs a session and is the headless check's business (lesson_check.c).
 */
#include "config.h"
#include "datadir.h"
#include "lesson.h"
#include "filelimits.h"

#include <cjson/cJSON.h>
#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>


/* ---------------------------------------------------------------- diagnostics */
void lesson_diag(lesson_diags *d, const char *file, const char *path, const char *fmt, ...)
{
	char msg[640];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof msg, fmt, ap);
	va_end(ap);
	if (d->n == d->cap)
		d->msg = rs_xrealloc(d->msg, sizeof *d->msg * (size_t)(d->cap = d->cap ? 2 * d->cap : 16));
	size_t n = strlen(file) + strlen(path) + strlen(msg) + 8;
	d->msg[d->n] = rs_xmalloc(n);
	if (path[0])
		snprintf(d->msg[d->n], n, "%s: %s: %s", file, path, msg);
	else
		snprintf(d->msg[d->n], n, "%s: %s", file, msg);
	for (char *s = d->msg[d->n]; *s; s++) /* one line, whatever text (or key) from the file it quotes */
		if ((unsigned char)*s < 0x20)
			*s = ' ';
	d->n++;
}

void lesson_diags_free(lesson_diags *d)
{
	for (int i = 0; i < d->n; i++)
		free(d->msg[i]);
	free(d->msg);
	memset(d, 0, sizeof *d);
}

/* ---------------------------------------------------------------- helpers */
typedef struct ctx {
	const char *file;
	lesson_diags *d;
	int errors;
} ctx;

static void bad(ctx *c, const char *path, const char *fmt, ...) RS_PRINTF(3, 4);
static void bad(ctx *c, const char *path, const char *fmt, ...)
{
	char msg[512];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof msg, fmt, ap);
	va_end(ap);
	/* a broken file gets its first hundred mistakes listed, not a million */
	if (c->errors < 100)
		lesson_diag(c->d, c->file, path, "%s", msg);
	else if (c->errors == 100)
		lesson_diag(c->d, c->file, "", "more mistakes follow; fix these first");
	c->errors++;
}

/* Whether an array or object has more entries than a lesson may (filelimits.h);
 * reports it when so. */
static int too_many(ctx *c, const cJSON *v, const char *path)
{
	int n = cJSON_GetArraySize(v);
	if (n <= RS_MAX_LESSON_ITEMS)
		return 0;
	bad(c, path, "has %d entries (the limit is %d)", n, RS_MAX_LESSON_ITEMS);
	return 1;
}

static const char *type_name(const cJSON *v)
{
	if (cJSON_IsString(v)) return "a string";
	if (cJSON_IsNumber(v)) return "a number";
	if (cJSON_IsArray(v)) return "an array";
	if (cJSON_IsObject(v)) return "an object";
	if (cJSON_IsBool(v)) return "a boolean";
	return "null";
}

/* Keys outside the allowed list are mistakes (a typo would silently drop a field). */
static void only_keys(ctx *c, const cJSON *obj, const char *path, const char *const *keys)
{
	const cJSON *it;
	cJSON_ArrayForEach(it, obj) {
		int known = 0;
		for (const char *const *k = keys; *k && !known; k++)
			known = !strcmp(*k, it->string);
		if (!known) {
			char msg[400] = "";
			for (const char *const *k = keys; *k; k++)
				snprintf(msg + strlen(msg), sizeof msg - strlen(msg), "%s%s", k == keys ? "" : ", ", *k);
			bad(c, path, "unknown key '%s' (known: %s)", rs_esc(it->string, -1), msg);
		}
	}
}

/* A string, or an array of strings joined with newlines (long text reads
 * better in JSON as lines). NULL when absent; a mistake when wrong. */
static char *get_text(ctx *c, const cJSON *obj, const char *key, const char *path, int required)
{
	char p[256];
	snprintf(p, sizeof p, "%s.%s", path, key);
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(obj, key);
	if (!v) {
		if (required)
			bad(c, path, "missing '%s'", key);
		return NULL;
	}
	if (cJSON_IsString(v))
		return rs_xstrdup(v->valuestring);
	if (!cJSON_IsArray(v)) {
		bad(c, p, "must be a string or an array of strings, not %s", type_name(v));
		return NULL;
	}
	size_t n = 1;
	const cJSON *it;
	int i = 0;
	cJSON_ArrayForEach(it, v) {
		if (!cJSON_IsString(it)) {
			bad(c, p, "[%d] must be a string, not %s", i, type_name(it));
			return NULL;
		}
		n += strlen(it->valuestring) + 1;
		i++;
	}
	char *s = rs_xcalloc(1, n);
	i = 0;
	cJSON_ArrayForEach(it, v) {
		if (i++)
			strcat(s, "\n");
		strcat(s, it->valuestring);
	}
	return s;
}

static char *get_str(ctx *c, const cJSON *obj, const char *key, const char *path, int required)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(obj, key);
	if (!v) {
		if (required)
			bad(c, path, "missing '%s'", key);
		return NULL;
	}
	if (!cJSON_IsString(v)) {
		bad(c, path, "'%s' must be a string, not %s", key, type_name(v));
		return NULL;
	}
	if (required && !v->valuestring[0])
		bad(c, path, "'%s' is empty", key);
	return rs_xstrdup(v->valuestring);
}

static int parse_requires(ctx *c, const cJSON *obj, const char *path)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(obj, "requires");
	if (!v)
		return 0;
	char p[256];
	snprintf(p, sizeof p, "%s.requires", path);
	int req = 0;
	const cJSON *one = v, *it;
	if (cJSON_IsArray(v))
		one = NULL;
	else if (!cJSON_IsString(v)) {
		bad(c, p, "must be a string or an array of strings");
		return 0;
	}
	for (it = one ? one : v->child; it; it = one ? NULL : it->next) {
		if (!cJSON_IsString(it))
			bad(c, p, "must hold strings");
		else if (!strcmp(it->valuestring, "builtin"))
			req |= LESSON_REQ_BUILTIN;
		else if (!strcmp(it->valuestring, "llama3-tokenizer"))
			req |= LESSON_REQ_LLAMA3;
		else if (!strcmp(it->valuestring, "tokenizer"))
			req |= LESSON_REQ_TOKENIZER;
		else if (!strcmp(it->valuestring, "405b-shape"))
			req |= LESSON_REQ_405B;
		else
			bad(c, p, "unknown requirement '%s' (builtin, tokenizer, llama3-tokenizer, 405b-shape)",
			    rs_esc(it->valuestring, -1));
	}
	return req;
}

/* Variables: an object of name -> expression, kept in file order. */
static int parse_vars(ctx *c, const cJSON *obj, const char *key, const char *path, char ***names,
		      char ***exprs)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(obj, key);
	*names = *exprs = NULL;
	if (!v)
		return 0;
	char p[256];
	snprintf(p, sizeof p, "%s.%s", path, key);
	if (!cJSON_IsObject(v)) {
		bad(c, p, "must be an object of name: expression");
		return 0;
	}
	if (too_many(c, v, p))
		return 0;
	int n = cJSON_GetArraySize(v), k = 0;
	*names = rs_xcalloc((size_t)n + 1, sizeof **names);
	*exprs = rs_xcalloc((size_t)n + 1, sizeof **exprs);
	const cJSON *it;
	cJSON_ArrayForEach(it, v) {
		char q[300];
		snprintf(q, sizeof q, "%s.%s", p, it->string);
		int ident = isalpha((unsigned char)it->string[0]) || it->string[0] == '_';
		for (const char *s = it->string; *s && ident; s++)
			ident = isalnum((unsigned char)*s) || *s == '_';
		if (!ident)
			bad(c, p, "'%s' is not a variable name (letters, digits, _)", rs_esc(it->string, -1));
		if (!cJSON_IsString(it)) {
			bad(c, q, "must be an expression (a string)");
			continue;
		}
		if (lesson_syntax_check(it->valuestring, 1, c->file, q, c->d))
			c->errors++;
		(*names)[k] = rs_xstrdup(it->string);
		(*exprs)[k++] = rs_xstrdup(it->valuestring);
	}
	return k;
}

static unsigned parse_panes(ctx *c, const cJSON *v, const char *path)
{
	if (!cJSON_IsArray(v)) {
		bad(c, path, "must be an array of pane names");
		return 0;
	}
	unsigned m = 0;
	int i = 0;
	const cJSON *it;
	cJSON_ArrayForEach(it, v) {
		int found = cJSON_IsString(it) ? session_pane_parse(it->valuestring, 0) : -1;
		if (cJSON_IsString(it) && !strcmp(it->valuestring, "default"))
			m |= SESSION_PANES_DEFAULT;
		else if (found < 0)
			bad(c, path, "[%d]: unknown pane %s (tokens, pipeline, vector, attn, norms, lens, topk, "
				     "lesson, output, default)",
			    i, cJSON_IsString(it) ? rs_esc(it->valuestring, -1) : type_name(it));
		else
			m |= 1u << found;
		i++;
	}
	return m | 1u << PANE_LESSON;
}

/* The first word of a command line (before any placeholder), into buf. */
static void first_word(const char *line, char *buf, size_t n)
{
	while (*line == ' ' || *line == '\t')
		line++;
	size_t k = 0;
	while (line[k] && line[k] != ' ' && line[k] != '\t' && k + 1 < n) {
		buf[k] = line[k];
		k++;
	}
	buf[k] = 0;
}

/* Commands a lesson may not run: they would leave the lesson or the session. */
static const char *const forbidden[] = {"lesson", "next", "prev", "answer", "quit", "load", "export", NULL};

static void parse_commands(ctx *c, const cJSON *v, const char *path, lesson_step *st)
{
	if (!cJSON_IsArray(v)) {
		bad(c, path, "must be an array of command lines");
		return;
	}
	if (too_many(c, v, path))
		return;
	int n = cJSON_GetArraySize(v), i = 0;
	st->commands = rs_xcalloc((size_t)n + 1, sizeof *st->commands);
	const cJSON *it;
	cJSON_ArrayForEach(it, v) {
		char p[400], w[64];
		snprintf(p, sizeof p, "%.300s[%d]", path, i++);
		if (!cJSON_IsString(it)) {
			bad(c, p, "must be a command line (a string), not %s", type_name(it));
			continue;
		}
		first_word(it->valuestring, w, sizeof w);
		const cmd_def *d = cmd_find(w);
		if (!w[0])
			bad(c, p, "empty command");
		else if (strchr(w, '{'))
			bad(c, p, "the command name must be written out, not computed");
		else if (!d)
			bad(c, p, "unknown command '%s'", rs_esc(w, -1));
		for (int k = 0; forbidden[k] && d; k++)
			if (!strcmp(d->name, forbidden[k]))
				bad(c, p, "a lesson step cannot run '%s'", d->name);
		if (lesson_syntax_check(it->valuestring, 0, c->file, p, c->d))
			c->errors++;
		st->commands[st->n_commands++] = rs_xstrdup(it->valuestring);
	}
}

/* Text states numbers only through placeholders: a decimal written into the
 * prose is almost always a value copied from one run of one model. */
static void lint_numbers(ctx *c, const char *text, const char *path)
{
	int depth = 0;
	for (const char *s = text; *s; s++) {
		if (s[0] == '{' && s[1] == '{') { s++; continue; }
		if (s[0] == '}' && s[1] == '}') { s++; continue; }
		if (*s == '{') depth++;
		else if (*s == '}' && depth) depth--;
		if (depth || !isdigit((unsigned char)*s) || (s > text && (isalnum((unsigned char)s[-1]) || s[-1] == '.')))
			continue;
		const char *e = s;
		while (isdigit((unsigned char)*e))
			e++;
		/* version numbers of model families are names, not measurements */
		int named = (s - text >= 6 && !strncmp(s - 6, "Llama ", 6)) || (s - text >= 6 && !strncmp(s - 6, "Llama-", 6));
		if (*e == '.' && isdigit((unsigned char)e[1]) && !named) {
			while (*++e && isdigit((unsigned char)*e))
				;
			bad(c, path, "'%.*s' looks like a number computed by a model: write it as a placeholder",
			    (int)(e - s), s);
			s = e - 1;
		}
	}
}

static const char *const question_keys[] = {"ask", "kind", "expect", "digits", "choices", "explain", NULL};
static const char *const kind_names[] = {"number", "int", "head", "token", "text", NULL};

static void parse_question(ctx *c, const cJSON *v, const char *path, lesson_question *q)
{
	q->digits = 3;
	if (!cJSON_IsObject(v)) {
		bad(c, path, "must be an object");
		return;
	}
	only_keys(c, v, path, question_keys);
	q->ask = get_text(c, v, "ask", path, 1);
	q->explain = get_text(c, v, "explain", path, 0);
	q->expect = get_str(c, v, "expect", path, 1);
	char *kind = get_str(c, v, "kind", path, 1);
	q->kind = -1;
	for (int k = 0; kind && kind_names[k]; k++)
		if (!strcmp(kind, kind_names[k]))
			q->kind = k;
	if (kind && q->kind < 0)
		bad(c, path, "unknown kind '%s' (number, int, head, token, text)", rs_esc(kind, -1));
	free(kind);
	char p[300];
	if (q->expect) {
		snprintf(p, sizeof p, "%.280s.expect", path);
		if (lesson_syntax_check(q->expect, 1, c->file, p, c->d))
			c->errors++;
	}
	for (int k = 0; k < 2; k++) {
		char *t = k ? q->explain : q->ask;
		snprintf(p, sizeof p, "%.280s.%s", path, k ? "explain" : "ask");
		if (t && lesson_syntax_check(t, 0, c->file, p, c->d))
			c->errors++;
		if (t)
			lint_numbers(c, t, p);
	}
	/* one rule for every number: agree to the significant digits the
	 * question states (the runner says it when the question does not) */
	const cJSON *dg = cJSON_GetObjectItemCaseSensitive(v, "digits");
	if (dg && (!cJSON_IsNumber(dg) || dg->valuedouble != (int)dg->valuedouble || dg->valuedouble < 1 ||
		   dg->valuedouble > 9))
		bad(c, path, "'digits' must be a whole number from 1 to 9 (significant digits)");
	else if (dg)
		q->digits = (int)dg->valuedouble;
	const cJSON *ch = cJSON_GetObjectItemCaseSensitive(v, "choices");
	if (ch) {
		snprintf(p, sizeof p, "%.280s.choices", path);
		if (!cJSON_IsArray(ch) || cJSON_GetArraySize(ch) < 2) {
			bad(c, p, "must be an array of at least two strings");
			return;
		}
		if (too_many(c, ch, p))
			return;
		if (q->kind != LESSON_ANS_TEXT)
			bad(c, p, "choices go with kind 'text'");
		q->choices = rs_xcalloc((size_t)cJSON_GetArraySize(ch), sizeof *q->choices);
		const cJSON *it;
		cJSON_ArrayForEach(it, ch) {
			if (!cJSON_IsString(it))
				bad(c, p, "must hold strings");
			else
				q->choices[q->n_choices++] = rs_xstrdup(it->valuestring);
		}
	}
}

static const char *const step_keys[] = {"title", "text", "python", "commands", "panes", "highlight",
					"output", "let", "questions", "requires", NULL};

static void parse_step(ctx *c, const cJSON *v, const char *path, lesson_step *st)
{
	if (!cJSON_IsObject(v)) {
		bad(c, path, "a step must be an object, not %s", type_name(v));
		return;
	}
	only_keys(c, v, path, step_keys);
	st->title = get_str(c, v, "title", path, 1);
	st->text = get_text(c, v, "text", path, 1);
	st->python = get_text(c, v, "python", path, 0);
	st->highlight = get_str(c, v, "highlight", path, 0);
	char *ov = get_str(c, v, "output", path, 0);
	if (ov && !strcmp(ov, "tall"))
		st->output_view = 1;
	else if (ov && !strcmp(ov, "box"))
		st->output_view = 2;
	else if (ov)
		bad(c, path, "'output' is tall (the output pane shows all of its text) or box (it opens in the box)");
	free(ov);
	st->requires = parse_requires(c, v, path);
	char p[300];
	if (st->text) {
		snprintf(p, sizeof p, "%s.text", path);
		if (lesson_syntax_check(st->text, 0, c->file, p, c->d))
			c->errors++;
		lint_numbers(c, st->text, p);
	}
	const cJSON *cmds = cJSON_GetObjectItemCaseSensitive(v, "commands");
	if (cmds) {
		snprintf(p, sizeof p, "%s.commands", path);
		parse_commands(c, cmds, p, st);
	}
	const cJSON *panes = cJSON_GetObjectItemCaseSensitive(v, "panes");
	if (panes) {
		snprintf(p, sizeof p, "%s.panes", path);
		st->panes = parse_panes(c, panes, p);
		st->has_panes = 1;
	}
	st->n_let = parse_vars(c, v, "let", path, &st->let_name, &st->let_expr);
	const cJSON *qs = cJSON_GetObjectItemCaseSensitive(v, "questions");
	if (qs) {
		snprintf(p, sizeof p, "%s.questions", path);
		if (!cJSON_IsArray(qs)) {
			bad(c, p, "must be an array of questions");
			return;
		}
		if (too_many(c, qs, p))
			return;
		st->q = rs_xcalloc((size_t)cJSON_GetArraySize(qs) + 1, sizeof *st->q);
		const cJSON *it;
		cJSON_ArrayForEach(it, qs) {
			char qp[320];
			snprintf(qp, sizeof qp, "%s[%d]", p, st->n_q);
			parse_question(c, it, qp, &st->q[st->n_q++]);
		}
	}
}

static const char *const lesson_keys[] = {"title", "summary", "requires", "vars", "python_setup", "steps", NULL};

static char *base_name(const char *path)
{
	const char *b = strrchr(path, '/');
	b = b ? b + 1 : path;
	char *s = rs_xstrdup(b);
	size_t n = strlen(s);
	if (n > 5 && !strcmp(s + n - 5, ".json"))
		s[n - 5] = 0;
	return s;
}

static char *read_file(const char *path, size_t *len, rs_err *err)
{
	FILE *f = fopen(path, "rb");
	if (!f) {
		rs_fail(err, "%s", strerror(errno));
		return NULL;
	}
	size_t cap = 8192, n = 0, got;
	char *buf = rs_xmalloc(cap);
	while ((got = fread(buf + n, 1, cap - n - 1, f)) > 0) {
		n += got;
		if (n + 1 == cap)
			buf = rs_xrealloc(buf, cap *= 2);
		if (n > RS_MAX_LESSON_BYTES) {
			fclose(f);
			free(buf);
			rs_fail(err, "larger than %u bytes", RS_MAX_LESSON_BYTES);
			return NULL;
		}
	}
	fclose(f);
	buf[n] = 0;
	*len = n;
	return buf;
}

lesson *lesson_load(const char *path, lesson_diags *d)
{
	rs_err err = {{0}};
	size_t len;
	char *buf = read_file(path, &len, &err);
	if (!buf) {
		lesson_diag(d, path, "", "cannot read: %s", err.msg);
		return NULL;
	}
	lesson *l = lesson_load_text(path, buf, d);
	free(buf);
	return l;
}

lesson *lesson_load_text(const char *path, const char *buf, lesson_diags *d)
{
	ctx c = {path, d, 0};
	const char *end = NULL;
	cJSON *root = cJSON_ParseWithOpts(buf, &end, 1);
	if (!root) {
		/* the line of the parse error helps more than a byte offset */
		int line = 1;
		for (const char *p = buf; end && p < end; p++)
			line += *p == '\n';
		lesson_diag(d, path, "$", "not valid JSON (near line %d)", line);
		return NULL;
	}
	lesson *l = rs_xcalloc(1, sizeof *l);
	l->path = rs_xstrdup(path);
	l->name = base_name(path);
	l->number = atoi(l->name);
	if (!isdigit((unsigned char)l->name[0]))
		bad(&c, "", "the file name must start with the lesson's number (01-name.json)");
	if (!cJSON_IsObject(root)) {
		bad(&c, "$", "must be an object");
	} else {
		only_keys(&c, root, "$", lesson_keys);
		l->title = get_str(&c, root, "title", "$", 1);
		l->summary = get_text(&c, root, "summary", "$", 0);
		l->python_setup = get_text(&c, root, "python_setup", "$", 0);
		l->requires = parse_requires(&c, root, "$");
		l->n_vars = parse_vars(&c, root, "vars", "$", &l->var_name, &l->var_expr);
		const cJSON *steps = cJSON_GetObjectItemCaseSensitive(root, "steps");
		if (!cJSON_IsArray(steps) || !cJSON_GetArraySize(steps)) {
			bad(&c, "$", "'steps' must be a non-empty array");
		} else if (!too_many(&c, steps, "$.steps")) {
			l->steps = rs_xcalloc((size_t)cJSON_GetArraySize(steps), sizeof *l->steps);
			const cJSON *it;
			cJSON_ArrayForEach(it, steps) {
				char p[64];
				snprintf(p, sizeof p, "$.steps[%d]", l->n_steps);
				parse_step(&c, it, p, &l->steps[l->n_steps]);
				l->steps[l->n_steps++].requires |= l->requires;
			}
		}
	}
	cJSON_Delete(root);
	if (c.errors) {
		lesson_free(l);
		return NULL;
	}
	return l;
}

static void free_strv(char **v, int n)
{
	for (int i = 0; v && i < n; i++)
		free(v[i]);
	free(v);
}

void lesson_free(lesson *l)
{
	if (!l)
		return;
	for (int i = 0; i < l->n_steps; i++) {
		lesson_step *st = &l->steps[i];
		free(st->title);
		free(st->text);
		free(st->python);
		free(st->highlight);
		free_strv(st->commands, st->n_commands);
		free_strv(st->let_name, st->n_let);
		free_strv(st->let_expr, st->n_let);
		for (int k = 0; k < st->n_q; k++) {
			free(st->q[k].ask);
			free(st->q[k].expect);
			free(st->q[k].explain);
			free_strv(st->q[k].choices, st->q[k].n_choices);
		}
		free(st->q);
	}
	free(l->steps);
	free_strv(l->var_name, l->n_vars);
	free_strv(l->var_expr, l->n_vars);
	free(l->path);
	free(l->name);
	free(l->title);
	free(l->summary);
	free(l->python_setup);
	free(l);
}

/* ---------------------------------------------------------------- the set */
const char *lesson_dir(void)
{
	return rs_lessons_dir();
}

static int by_number(const void *a, const void *b)
{
	const lesson *x = *(lesson *const *)a, *y = *(lesson *const *)b;
	return x->number != y->number ? (x->number > y->number) - (x->number < y->number) : strcmp(x->name, y->name);
}

lesson_set *lesson_set_load(const char *dir, lesson_diags *d, rs_err *err)
{
	if (!dir && !(dir = lesson_dir())) {
		rs_fail(err, "no lessons directory (set RESIDUAL_LESSONS)");
		return NULL;
	}
	DIR *dh = opendir(dir);
	if (!dh) {
		rs_fail(err, "%s: %s", dir, strerror(errno));
		return NULL;
	}
	lesson_set *s = rs_xcalloc(1, sizeof *s);
	s->dir = rs_xstrdup(dir);
	int cap = 0;
	struct dirent *de;
	while ((de = readdir(dh))) {
		size_t n = strlen(de->d_name);
		if (n < 6 || strcmp(de->d_name + n - 5, ".json") || de->d_name[0] == '.')
			continue;
		char path[4096];
		snprintf(path, sizeof path, "%s/%s", dir, de->d_name);
		lesson *l = lesson_load(path, d);
		if (!l)
			continue;
		if (s->n == cap)
			s->l = rs_xrealloc(s->l, sizeof *s->l * (size_t)(cap = cap ? 2 * cap : 16));
		s->l[s->n++] = l;
	}
	closedir(dh);
	if (s->n)
		qsort(s->l, (size_t)s->n, sizeof *s->l, by_number);
	for (int i = 1; i < s->n; i++)
		if (s->l[i]->number == s->l[i - 1]->number)
			lesson_diag(d, s->l[i]->path, "", "lesson number %d is also %s", s->l[i]->number,
				    s->l[i - 1]->name);
	return s;
}

void lesson_set_free(lesson_set *s)
{
	if (!s)
		return;
	for (int i = 0; i < s->n; i++)
		lesson_free(s->l[i]);
	free(s->l);
	free(s->dir);
	free(s);
}

lesson *lesson_find(const lesson_set *s, const char *name)
{
	if (!s || !name || !*name)
		return NULL;
	char *end;
	long num = strtol(name, &end, 10);
	if (end != name && !*end) {
		for (int i = 0; i < s->n; i++)
			if (s->l[i]->number == num)
				return s->l[i];
		return NULL;
	}
	lesson *hit = NULL;
	int hits = 0;
	size_t n = strlen(name);
	for (int i = 0; i < s->n; i++) {
		const char *nm = s->l[i]->name, *slug = strchr(nm, '-');
		slug = slug ? slug + 1 : nm;
		if (!strcmp(nm, name) || !strcmp(slug, name))
			return s->l[i];
		if (!strncmp(nm, name, n) || !strncmp(slug, name, n))
			hit = s->l[i], hits++;
	}
	return hits == 1 ? hit : NULL;
}
