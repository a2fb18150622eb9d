/* lesson_expr.c - the placeholder language of lessons.
 *
 * A placeholder is {EXPR} or {EXPR:FORMAT} inside text or a command line.
 * EXPR is arithmetic (+ - * / ^, parentheses) over numbers, 'strings' or
 * "strings", variables and function calls (lesson_fn_*.c); + joins when
 * either side is text. FORMAT: .3f .2e .4g % .1% , (thousands) int.
 * lessons/README.md documents it for authors.
 *
 * One recursive-descent parser serves both evaluation and the syntax check:
 * in dry mode it calls nothing and checks only names and arity, so the
 * validator finds a misspelt function without a model.
 */
#include "config.h"
#include "lesson_int.h"
#include "convert.h"

#include <ctype.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define LX_MAX_ARGS 8
/* Bounds on what a lesson file or a learner can hand the evaluator: the
 * parser recurses once per level of parentheses, unary minus, power or
 * call, so nesting is bounded; and so is the text. */
#define LX_MAX_DEPTH 64
#define LX_MAX_EXPR 4096        /* bytes of one expression */
#define LX_MAX_TEMPLATE 65536   /* bytes of one template ({...} text) */

/* ---------------------------------------------------------------- values */
void lx_val_free(lx_val *v)
{
	if (v->type == LX_STR)
		free(v->str);
	v->str = NULL;
	v->type = LX_NUM;
}

lx_val lx_num(double x) { return (lx_val){LX_NUM, x, NULL}; }
lx_val lx_str(const char *s) { return (lx_val){LX_STR, 0, rs_xstrdup(s)}; }
lx_val lx_str_take(char *s) { return (lx_val){LX_STR, 0, s}; }

static char *fmt_num(double x)
{
	char buf[64];
	double a = fabs(x);
	if (isnan(x))
		snprintf(buf, sizeof buf, "nan");
	else if (a < 1e15 && x == floor(x))
		snprintf(buf, sizeof buf, "%.0f", x);
	else if (a >= 1e-3 && a < 1e6)
		snprintf(buf, sizeof buf, "%.4f", x);
	else
		snprintf(buf, sizeof buf, "%.3e", x);
	return rs_xstrdup(buf);
}

char *lx_to_text(const lx_val *v)
{
	return v->type == LX_STR ? rs_xstrdup(v->str) : fmt_num(v->num);
}

/* Applies a FORMAT to a value; returns a malloc'd string or NULL on a bad format. */
static char *apply_format(const lx_val *v, const char *f, rs_err *err)
{
	if (!*f || !strcmp(f, "s"))
		return lx_to_text(v);
	if (f[0] == '+' && f[1] && v->type == LX_NUM) {
		/* a signed contribution: "+0.312", "-0.207" */
		char *t = apply_format(v, f + 1, err);
		if (!t || v->num < 0 || t[0] == '-')
			return t;
		char *u = rs_xmalloc(strlen(t) + 2);
		u[0] = '+';
		strcpy(u + 1, t);
		free(t);
		return u;
	}
	if (v->type == LX_STR) {
		rs_fail(err, "format '%s' needs a number, got text", f);
		return NULL;
	}
	char buf[96];
	double x = v->num;
	if (!strcmp(f, "int")) {
		snprintf(buf, sizeof buf, "%.0f", round(x));
	} else if (!strcmp(f, ",")) {
		char digits[64];
		snprintf(digits, sizeof digits, "%.0f", fabs(round(x)));
		size_t n = strlen(digits), o = 0;
		if (x < 0 && round(x) != 0)
			buf[o++] = '-';
		for (size_t i = 0; i < n; i++) {
			if (i && (n - i) % 3 == 0)
				buf[o++] = ',';
			buf[o++] = digits[i];
		}
		buf[o] = 0;
	} else if (!strcmp(f, "%")) {
		snprintf(buf, sizeof buf, "%.1f%%", 100 * x);
	} else if (f[0] == '.' && isdigit((unsigned char)f[1]) && strchr("feg%", f[2]) && f[2] && !f[3]) {
		char spec[8] = {'%', '.', f[1], f[2] == '%' ? 'f' : f[2], 0};
		snprintf(buf, sizeof buf, spec, f[2] == '%' ? 100 * x : x);
		if (f[2] == '%')
			strcat(buf, "%");
	} else {
		rs_fail(err, "unknown format '%s' (.3f .2e .4g %% .1%% , int, + in front for a sign)", rs_esc(f, -1));
		return NULL;
	}
	return rs_xstrdup(buf);
}

/* ---------------------------------------------------------------- env */
struct lesson_env {
	rs_session *s;
	char **name;
	lx_val *val;
	int n, cap;
	rs_tokenizer *l3;       /* loaded from $RESIDUAL_TOKENIZER, owned */
	int l3_tried;
	char l3_why[300];
	const rs_tokenizer *builtin_for; /* the tokenizer the built-in check ran on */
	char builtin_why[200];
	lx_abl_memo memo[LX_ABL_MEMO]; /* ablation results (lx_abl_memo_get), a ring */
	int memo_next;
};

lesson_env *lesson_env_create(rs_session *s)
{
	lesson_env *env = rs_xcalloc(1, sizeof *env);
	env->s = s;
	return env;
}

void lesson_env_clear_vars(lesson_env *env)
{
	for (int i = 0; i < env->n; i++) {
		free(env->name[i]);
		lx_val_free(&env->val[i]);
	}
	env->n = 0;
}

void lesson_env_free(lesson_env *env)
{
	if (!env)
		return;
	lesson_env_clear_vars(env);
	free(env->name);
	free(env->val);
	for (int i = 0; i < LX_ABL_MEMO; i++)
		free(env->memo[i].ids);
	if (env->l3)
		tok_free(env->l3);
	free(env);
}

rs_session *lx_session(lesson_env *env) { return env->s; }

/* ---------------------------------------------------------------- ablation memo */
static int memo_match(const lx_abl_memo *e, const rs_model *m, const int32_t *ids, int n, const abl_target *t,
		      const interp_metric *mt, int any_b)
{
	return e->ids && e->m == m && e->n == n && !memcmp(e->ids, ids, sizeof *ids * (size_t)n) &&
	       e->t.site == t->site && e->t.layer == t->layer && e->t.index == t->index && e->t.pos == t->pos &&
	       e->t.mean == t->mean && e->mt.pos == mt->pos && e->mt.tok == mt->tok && (any_b || e->mt.tok_b == mt->tok_b);
}

const abl_result *lx_abl_memo_get(lesson_env *env, const rs_model *m, const int32_t *ids, int n, const abl_target *t,
				  const interp_metric *mt, int any_b)
{
	for (int i = 0; i < LX_ABL_MEMO; i++)
		if (memo_match(&env->memo[i], m, ids, n, t, mt, any_b))
			return &env->memo[i].r;
	return NULL;
}

void lx_abl_memo_put(lesson_env *env, const rs_model *m, const int32_t *ids, int n, const abl_target *t,
		     const interp_metric *mt, const abl_result *r)
{
	if (lx_abl_memo_get(env, m, ids, n, t, mt, 0))
		return;
	lx_abl_memo *e = &env->memo[env->memo_next];
	env->memo_next = (env->memo_next + 1) % LX_ABL_MEMO;
	free(e->ids);
	e->ids = rs_xmalloc(sizeof *ids * (size_t)(n > 0 ? n : 1));
	memcpy(e->ids, ids, sizeof *ids * (size_t)n);
	e->n = n;
	e->m = m;
	e->t = *t;
	e->mt = *mt;
	e->r = *r;
}

static const lx_val *get_var(lesson_env *env, const char *name)
{
	for (int i = env->n - 1; i >= 0; i--)
		if (!strcmp(env->name[i], name))
			return &env->val[i];
	return NULL;
}

static void set_var(lesson_env *env, const char *name, lx_val v)
{
	for (int i = 0; i < env->n; i++)
		if (!strcmp(env->name[i], name)) {
			lx_val_free(&env->val[i]);
			env->val[i] = v;
			return;
		}
	if (env->n == env->cap) {
		env->cap = env->cap ? 2 * env->cap : 16;
		env->name = rs_xrealloc(env->name, sizeof *env->name * (size_t)env->cap);
		env->val = rs_xrealloc(env->val, sizeof *env->val * (size_t)env->cap);
	}
	env->name[env->n] = rs_xstrdup(name);
	env->val[env->n++] = v;
}

/* ---------------------------------------------------------------- parser */
typedef struct lx {
	lesson_env *env;
	const char *p;
	int dry;
	rs_err *err;
	int failed;
	int depth;      /* levels of recursion, at most LX_MAX_DEPTH */
} lx;

static int lx_fail(lx *x, const char *fmt, ...) RS_PRINTF(2, 3);
static int lx_fail(lx *x, const char *fmt, ...)
{
	if (!x->failed) {
		va_list ap;
		va_start(ap, fmt);
		vsnprintf(x->err->msg, sizeof x->err->msg, fmt, ap);
		va_end(ap);
	}
	x->failed = 1;
	return -1;
}

static void skip_ws(lx *x)
{
	while (*x->p == ' ' || *x->p == '\t' || *x->p == '\n')
		x->p++;
}

static int expr(lx *x, lx_val *out);

static int call(lx *x, const char *name, lx_val *out)
{
	const lx_func *f = lx_find_func(name);
	lx_val args[LX_MAX_ARGS];
	int argc = 0;
	skip_ws(x);
	if (*x->p == '(') {
		x->p++;
		skip_ws(x);
		if (*x->p != ')') {
			for (;;) {
				if (argc == LX_MAX_ARGS) {
					lx_fail(x, "%s: too many arguments", name);
					goto fail;
				}
				if (expr(x, &args[argc]))
					goto fail;
				argc++;
				skip_ws(x);
				if (*x->p == ',') {
					x->p++;
					continue;
				}
				break;
			}
		}
		if (*x->p != ')') {
			lx_fail(x, "%s: expected ',' or ')'", name);
			goto fail;
		}
		x->p++;
	} else if (!f || x->dry || get_var(x->env, name)) {
		/* a bare name is a variable first; in dry mode variables are not known yet */
		const lx_val *v = x->dry ? NULL : get_var(x->env, name);
		if (v)
			*out = v->type == LX_STR ? lx_str(v->str) : *v;
		else if (x->dry)
			*out = lx_num(0);
		else
			return lx_fail(x, "unknown variable '%s'", name);
		return 0;
	}
	if (!f) {
		lx_fail(x, "unknown function '%s'", name);
		goto fail;
	}
	if (argc < f->min_args || argc > f->max_args) {
		if (f->min_args == f->max_args)
			lx_fail(x, "%s takes %d argument%s, not %d", name, f->min_args, f->min_args == 1 ? "" : "s", argc);
		else
			lx_fail(x, "%s takes %d to %d arguments, not %d", name, f->min_args, f->max_args, argc);
		goto fail;
	}
	if (x->dry) {
		*out = lx_num(0);
	} else {
		*out = lx_num(0);
		rs_err e = {{0}};
		if (f->fn(x->env, argc, args, out, &e)) {
			lx_fail(x, "%s: %s", name, e.msg);
			goto fail;
		}
	}
	for (int i = 0; i < argc; i++)
		lx_val_free(&args[i]);
	return 0;
fail:
	for (int i = 0; i < argc; i++)
		lx_val_free(&args[i]);
	return -1;
}

static int primary(lx *x, lx_val *out)
{
	skip_ws(x);
	char c = *x->p;
	if (c == '(') {
		x->p++;
		if (expr(x, out))
			return -1;
		skip_ws(x);
		if (*x->p != ')') {
			lx_val_free(out);
			return lx_fail(x, "expected ')'");
		}
		x->p++;
		return 0;
	}
	if (c == '\'' || c == '"') {
		x->p++;
		size_t cap = 32, n = 0;
		char *s = rs_xmalloc(cap);
		while (*x->p && *x->p != c) {
			char ch = *x->p++;
			if (ch == '\\' && *x->p) {
				ch = *x->p++;
				ch = ch == 'n' ? '\n' : ch == 't' ? '\t' : ch;
			}
			if (n + 2 > cap)
				s = rs_xrealloc(s, cap *= 2);
			s[n++] = ch;
		}
		s[n] = 0;
		if (*x->p != c) {
			free(s);
			return lx_fail(x, "unterminated string");
		}
		x->p++;
		*out = lx_str_take(s);
		return 0;
	}
	if (isdigit((unsigned char)c) || (c == '.' && isdigit((unsigned char)x->p[1]))) {
		char *end;
		double v = strtod(x->p, &end);
		x->p = end;
		*out = lx_num(v);
		return 0;
	}
	if (isalpha((unsigned char)c) || c == '_') {
		char name[64];
		size_t n = 0;
		while ((isalnum((unsigned char)*x->p) || *x->p == '_') && n + 1 < sizeof name)
			name[n++] = *x->p++;
		name[n] = 0;
		return call(x, name, out);
	}
	return lx_fail(x, c ? "unexpected '%c'" : "unexpected end%c", c ? c : ' ');
}

static int need_num(lx *x, const lx_val *v, const char *op)
{
	if (x->dry || v->type == LX_NUM)
		return 0;
	return lx_fail(x, "'%s' needs numbers, got text", op);
}

static int unary_at(lx *x, lx_val *out);

/* Every recursion of the parser passes here: the depth is counted. */
static int unary(lx *x, lx_val *out)
{
	if (x->depth >= LX_MAX_DEPTH)
		return lx_fail(x, "the expression nests deeper than %d levels", LX_MAX_DEPTH);
	x->depth++;
	int rc = unary_at(x, out);
	x->depth--;
	return rc;
}

static int unary_at(lx *x, lx_val *out)
{
	skip_ws(x);
	if (*x->p == '-') {
		x->p++;
		if (unary(x, out))
			return -1;
		if (need_num(x, out, "-")) {
			lx_val_free(out);
			return -1;
		}
		out->num = -out->num;
		return 0;
	}
	if (primary(x, out))
		return -1;
	skip_ws(x);
	if (*x->p == '^') {
		x->p++;
		lx_val e;
		if (unary(x, &e)) {
			lx_val_free(out);
			return -1;
		}
		int bad = need_num(x, out, "^") || need_num(x, &e, "^");
		double r = pow(out->num, e.num);
		lx_val_free(out);
		lx_val_free(&e);
		if (bad)
			return -1;
		*out = lx_num(r);
	}
	return 0;
}

static int term(lx *x, lx_val *out)
{
	if (unary(x, out))
		return -1;
	for (;;) {
		skip_ws(x);
		char op = *x->p;
		if (op != '*' && op != '/')
			return 0;
		x->p++;
		lx_val r;
		if (unary(x, &r)) {
			lx_val_free(out);
			return -1;
		}
		int bad = need_num(x, out, op == '*' ? "*" : "/") || need_num(x, &r, op == '*' ? "*" : "/");
		double v = op == '*' ? out->num * r.num : out->num / r.num;
		lx_val_free(out);
		lx_val_free(&r);
		if (bad)
			return -1;
		*out = lx_num(v);
	}
}

static int expr(lx *x, lx_val *out)
{
	if (term(x, out))
		return -1;
	for (;;) {
		skip_ws(x);
		char op = *x->p;
		if (op != '+' && op != '-')
			return 0;
		x->p++;
		lx_val r;
		if (term(x, &r)) {
			lx_val_free(out);
			return -1;
		}
		if (op == '+' && (out->type == LX_STR || r.type == LX_STR)) {
			char *a = lx_to_text(out), *b = lx_to_text(&r);
			char *s = rs_xmalloc(strlen(a) + strlen(b) + 1);
			strcpy(s, a);
			strcat(s, b);
			free(a);
			free(b);
			lx_val_free(out);
			lx_val_free(&r);
			*out = lx_str_take(s);
			continue;
		}
		int bad = need_num(x, out, "-") || need_num(x, &r, "-");
		double v = op == '+' ? out->num + r.num : out->num - r.num;
		lx_val_free(out);
		lx_val_free(&r);
		if (bad)
			return -1;
		*out = lx_num(v);
	}
}

/* Parses EXPR[:FORMAT] from *pp up to a '}' (in_braces) or the end; on
 * success *text (when not dry) is the formatted value. */
/* An expression of at most LX_MAX_EXPR bytes (up to the end or the '}'). */
static int expr_too_long(const char *e, int in_braces, rs_err *err)
{
	size_t n = 0;
	while (e[n] && !(in_braces && e[n] == '}') && n <= LX_MAX_EXPR)
		n++;
	if (n <= LX_MAX_EXPR)
		return 0;
	return rs_fail(err, "the expression is longer than %d bytes", LX_MAX_EXPR);
}

static int placeholder(lesson_env *env, const char **pp, int in_braces, int dry, char **text, rs_err *err)
{
	if (expr_too_long(*pp, in_braces, err))
		return -1;
	lx x = {env, *pp, dry, err, 0, 0};
	lx_val v;
	if (expr(&x, &v))
		return -1;
	skip_ws(&x);
	char fmt[16] = "";
	if (*x.p == ':') {
		const char *f = ++x.p;
		while (*x.p && *x.p != '}')
			x.p++;
		snprintf(fmt, sizeof fmt, "%.*s", (int)(x.p - f), f);
	}
	if (in_braces ? *x.p != '}' : *x.p != 0) {
		lx_val_free(&v);
		return lx_fail(&x, *x.p ? "unexpected '%c'" : "missing '}'%c", *x.p ? *x.p : ' ');
	}
	*pp = x.p;
	if (dry) {
		rs_err e;
		lx_val probe = lx_num(0);
		char *t = fmt[0] ? apply_format(&probe, fmt, &e) : NULL;
		if (fmt[0] && !t)
			return rs_fail(err, "%s", e.msg);
		free(t);
		lx_val_free(&v);
		return 0;
	}
	*text = apply_format(&v, fmt, err);
	lx_val_free(&v);
	return *text ? 0 : -1;
}

int lesson_eval_answer(lesson_env *env, const char *e, char **out, rs_err *err)
{
	if (expr_too_long(e, 0, err))
		return -1;
	lx x = {env, e, 0, err, 0, 0};
	lx_val v;
	if (expr(&x, &v))
		return -1;
	skip_ws(&x);
	if (*x.p) {
		lx_val_free(&v);
		return lx_fail(&x, "unexpected '%c'", *x.p);
	}
	if (v.type == LX_NUM && !(fabs(v.num) < 1e15 && v.num == floor(v.num))) {
		/* enough digits that a learner typing the shown value agrees to its digits */
		char buf[64];
		snprintf(buf, sizeof buf, "%.6g", v.num);
		*out = rs_xstrdup(buf);
	} else {
		*out = lx_to_text(&v);
	}
	lx_val_free(&v);
	return 0;
}

int lesson_eval(lesson_env *env, const char *e, char **out, rs_err *err)
{
	const char *p = e;
	return placeholder(env, &p, 0, 0, out, err);
}

int lesson_env_let(lesson_env *env, const char *name, const char *e, rs_err *err)
{
	if (expr_too_long(e, 0, err))
		return -1;
	lx x = {env, e, 0, err, 0, 0};
	lx_val v;
	if (expr(&x, &v))
		return -1;
	skip_ws(&x);
	if (*x.p) {
		lx_val_free(&v);
		return lx_fail(&x, "unexpected '%c'", *x.p);
	}
	set_var(env, name, v);
	return 0;
}

/* Walks a template; with env NULL only parses (dry). */
static int walk(lesson_env *env, const char *t, char **out, rs_err *err)
{
	if (strnlen(t, LX_MAX_TEMPLATE + 1) > LX_MAX_TEMPLATE)
		return rs_fail(err, "the text is longer than %d bytes", LX_MAX_TEMPLATE);
	rs_strbuf b = {0};
	strbuf_add(&b, "", 0);
	const char *p = t;
	while (*p) {
		if ((p[0] == '{' && p[1] == '{') || (p[0] == '}' && p[1] == '}')) {
			strbuf_add(&b, p, 1);
			p += 2;
			continue;
		}
		if (*p != '{') {
			strbuf_add(&b, p, 1);
			p++;
			continue;
		}
		const char *start = ++p;
		char *v = NULL;
		if (placeholder(env, &p, 1, env == NULL, &v, err)) {
			/* name the placeholder, whole, in the message */
			const char *end = strchr(start, '}');
			int n = end ? (int)(end - start) : (int)strlen(start);
			char msg[sizeof err->msg];
			snprintf(msg, sizeof msg, "{%.*s}: %.300s", n > 160 ? 160 : n, start, err->msg);
			snprintf(err->msg, sizeof err->msg, "%s", msg);
			free(b.p);
			return -1;
		}
		if (v)
			strbuf_add(&b, v, strlen(v));
		free(v);
		p++; /* the '}' */
	}
	if (out)
		*out = b.p;
	else
		free(b.p);
	return 0;
}

int lesson_expand(lesson_env *env, const char *tmpl, char **out, rs_err *err)
{
	return walk(env, tmpl, out, err);
}

int lesson_syntax_check(const char *tmpl, int is_expr, const char *file, const char *path, lesson_diags *d)
{
	rs_err err = {{0}};
	int rc;
	if (is_expr) {
		const char *p = tmpl;
		rc = placeholder(NULL, &p, 0, 1, NULL, &err);
	} else {
		rc = walk(NULL, tmpl, NULL, &err);
	}
	if (rc)
		lesson_diag(d, file, path, "%s", err.msg);
	return rc;
}

/* ---------------------------------------------------------------- tokenizers */
static int is_llama3(const rs_tokenizer *t)
{
	return t && tok_n_vocab(t) >= 128000 && tok_find(t, "<|begin_of_text|>") >= 0 &&
	       tok_find(t, "<|start_header_id|>") >= 0;
}

const rs_tokenizer *lx_tokenizer(lesson_env *env, const char *which, rs_err *err)
{
	if (!which || !strcmp(which, "model")) {
		if (!env->s->tok)
			rs_fail(err, "the model has no tokenizer");
		return env->s->tok;
	}
	if (strcmp(which, "llama3")) {
		rs_fail(err, "unknown tokenizer '%s' (model, llama3)", rs_esc(which, -1));
		return NULL;
	}
	if (is_llama3(env->s->tok))
		return env->s->tok;
	if (!env->l3_tried) {
		env->l3_tried = 1;
		const char *path = getenv("RESIDUAL_TOKENIZER");
		rs_err e = {{0}};
		if (!path || !*path)
			snprintf(env->l3_why, sizeof env->l3_why,
				 "needs the Llama 3.1 tokenizer: load a Llama 3 model, or set RESIDUAL_TOKENIZER "
				 "to its tokenizer.json (see README: Tokenizers)");
		else if (!(env->l3 = tok_load(path, &e)))
			snprintf(env->l3_why, sizeof env->l3_why, "RESIDUAL_TOKENIZER: %.260s", e.msg);
		else if (!is_llama3(env->l3)) {
			tok_free(env->l3);
			env->l3 = NULL;
			snprintf(env->l3_why, sizeof env->l3_why, "RESIDUAL_TOKENIZER=%s is not a Llama 3 tokenizer",
				 rs_esc(path, -1));
		}
	}
	if (!env->l3)
		rs_fail(err, "%s", env->l3_why);
	return env->l3;
}

static const char *const *(*builtin_words)(size_t *n);

void lesson_set_builtin_words(const char *const *(*words)(size_t *n))
{
	builtin_words = words;
}

const char *lesson_req_missing(lesson_env *env, int req)
{
	rs_err e;
	if ((req & LESSON_REQ_TOKENIZER) && !env->s->tok)
		return "needs a model with a tokenizer (its prompts are text)";
	if ((req & LESSON_REQ_LLAMA3) && !lx_tokenizer(env, "llama3", &e))
		return env->l3_why;
	if (req & LESSON_REQ_405B) {
		const rs_config *c = &env->s->model->cfg;
		rs_config big;
		convert_preset("llama3.1-405b", &big);
		if (c->d_model != big.d_model || c->n_heads != big.n_heads || c->n_kv_heads != big.n_kv_heads ||
		    c->head_dim != big.head_dim || c->d_ff != big.d_ff || c->vocab != big.vocab)
			return "needs a model of Llama 3.1 405B's width: load the real one, or a slice "
			       "(residual random-model --shape llama3.1-405b --layers 2 --type q8_0 -o /tmp/405b-2l.gguf)";
	}
	if (!(req & LESSON_REQ_BUILTIN) || !builtin_words)
		return NULL;
	const rs_tokenizer *t = env->s->tok;
	if (!t)
		return "needs the built-in model's vocabulary; this model has no tokenizer";
	if (env->builtin_for != t) {
		/* the demos rely on every name, country and capital being one token */
		env->builtin_for = t;
		env->builtin_why[0] = 0;
		size_t n;
		const char *const *w = builtin_words(&n);
		for (size_t i = 0; i < n && !env->builtin_why[0]; i++) {
			if (strchr(w[i] + 1, ' '))
				continue;
			int32_t *ids = NULL;
			int k = 0;
			rs_err te;
			if (tok_encode(t, w[i], strlen(w[i]), 0, &ids, NULL, &k, &te) || k != 1)
				snprintf(env->builtin_why, sizeof env->builtin_why,
					 "needs the built-in model's vocabulary ('%s' is not one token here)",
					 rs_esc(w[i], -1));
			free(ids);
		}
	}
	return env->builtin_why[0] ? env->builtin_why : NULL;
}

/* ---------------------------------------------------------------- answers */
static void norm_text(const char *s, char *out, size_t n)
{
	size_t o = 0;
	while (*s == ' ' || *s == '\'' || *s == '"' || *s == '\t')
		s++;
	for (; *s && o + 1 < n; s++)
		out[o++] = (char)tolower((unsigned char)*s);
	while (o && (out[o - 1] == ' ' || out[o - 1] == '\'' || out[o - 1] == '"' || out[o - 1] == '.' ||
		     out[o - 1] == '\t'))
		o--;
	out[o] = 0;
}

/* "L2H1", "l2h1", "2.1", "2,1", "2 1", "layer 2 head 1" */
static int parse_head(const char *s, int *l, int *h)
{
	int nums[2], k = 0;
	while (*s && k < 2) {
		if (isdigit((unsigned char)*s)) {
			nums[k++] = (int)strtol(s, (char **)&s, 10);
			continue;
		}
		if (!strchr(" ,.:lLhH\tayerdAYERD", *s))
			return -1;
		s++;
	}
	while (*s == ' ')
		s++;
	if (k != 2 || *s)
		return -1;
	*l = nums[0];
	*h = nums[1];
	return 0;
}

double lesson_answer_halfunit(double want, int digits)
{
	if (digits < 1)
		digits = 3;
	double a = fabs(want);
	/* a zero agrees to "digits" decimals */
	int e = a > 0 ? (int)floor(log10(a)) : 0;
	return 0.5 * pow(10.0, e - digits + 1);
}

int lesson_answer_ok(const lesson_question *q, const char *expected, const char *given)
{
	char why[8];
	return lesson_answer_grade(q, expected, given, why, sizeof why);
}

int lesson_answer_grade(const lesson_question *q, const char *expected, const char *given, char *why, size_t n)
{
	char a[256], b[256];
	if (n)
		why[0] = 0;
	switch (q->kind) {
	case LESSON_ANS_NUMBER: {
		char *end;
		double want = strtod(expected, NULL), got = strtod(given, &end);
		while (*end == ' ' || *end == '%')
			end++;
		if (end == given || *end) {
			snprintf(why, n, "give a number");
			return 0;
		}
		int d = q->digits > 0 ? q->digits : 3;
		double half = lesson_answer_halfunit(want, d), off = fabs(got - want);
		if (off <= half * (1 + 1e-9) + 1e-12)
			return 1;
		if (want != 0)
			snprintf(why, n, "%.3g away from the engine's value (%.2g%%); it must agree to %d significant digits",
				 off, 100 * off / fabs(want), d);
		else
			snprintf(why, n, "%.3g away from the engine's value; it must agree to %d significant digits", off, d);
		return 0;
	}
	case LESSON_ANS_INT: {
		char *end;
		long got = strtol(given, &end, 10);
		while (*end == ' ')
			end++;
		return end != given && !*end && got == lround(strtod(expected, NULL));
	}
	case LESSON_ANS_HEAD: {
		int l1, h1, l2, h2;
		return !parse_head(expected, &l1, &h1) && !parse_head(given, &l2, &h2) && l1 == l2 && h1 == h2;
	}
	case LESSON_ANS_TOKEN:
	case LESSON_ANS_TEXT:
		norm_text(expected, a, sizeof a);
		norm_text(given, b, sizeof b);
		if (!strcmp(a, b))
			return 1;
		/* a choice may be answered by its number */
		for (int i = 0; i < q->n_choices; i++) {
			char c[256];
			norm_text(q->choices[i], c, sizeof c);
			if (!strcmp(c, a) && atoi(b) == i + 1 && b[strspn(b, "0123456789")] == 0)
				return 1;
		}
		return 0;
	}
	return 0;
}

int lx_parse_component(const char *s, int *layer, int *head)
{
	if (!parse_head(s, layer, head))
		return 0;
	int l;
	char rest[16];
	if (sscanf(s, "L%d %15s", &l, rest) == 2 && !strcmp(rest, "mlp")) {
		*layer = l;
		*head = -1;
		return 0;
	}
	return -1;
}
