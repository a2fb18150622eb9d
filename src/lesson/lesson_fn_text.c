/* lesson_fn_text.c - placeholder functions about tokens, tokenizers,
 * configurations and arithmetic: everything that needs no forward pass. */
#include "config.h"
#include "convert.h"
#include "lesson_int.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---------------------------------------------------------------- arguments */
int lx_arg_num(const lx_val *v, const char *what, double *out, rs_err *err)
{
	if (v->type != LX_NUM)
		return rs_fail(err, "%s must be a number, not '%s'", what, rs_esc(v->str, -1));
	*out = v->num;
	return 0;
}

int lx_arg_int(const lx_val *v, const char *what, long *out, rs_err *err)
{
	double x = 0;
	if (lx_arg_num(v, what, &x, err))
		return -1;
	if (x != floor(x) || fabs(x) > 1e12)
		return rs_fail(err, "%s must be a whole number, not %g", what, x);
	*out = (long)x;
	return 0;
}

int lx_arg_str(const lx_val *v, const char *what, const char **out, rs_err *err)
{
	if (v->type != LX_STR)
		return rs_fail(err, "%s must be text, not %g", what, v->num);
	*out = v->str;
	return 0;
}

int lx_arg_pos(lesson_env *env, const lx_val *v, int *out, rs_err *err)
{
	long p = 0;
	if (lx_arg_int(v, "the position", &p, err))
		return -1;
	int T = lx_session(env)->n_ids;
	if (p < 0)
		p += T;
	if (p < 0 || p >= T)
		return rs_fail(err, "position %ld is outside the prompt (%d tokens)", v->type == LX_NUM ? (long)v->num : p, T);
	*out = (int)p;
	return 0;
}

static int encode(const rs_tokenizer *t, const char *text, int32_t **ids, int *n, rs_err *err)
{
	return tok_encode(t, text, strlen(text), 0, ids, NULL, n, err);
}

int lx_arg_tok(lesson_env *env, const lx_val *v, int32_t *out, rs_err *err)
{
	rs_session *s = lx_session(env);
	int V = s->model->cfg.vocab;
	if (v->type == LX_NUM) {
		long id = 0;
		if (lx_arg_int(v, "the token id", &id, err))
			return -1;
		if (id < 0 || id >= V)
			return rs_fail(err, "token id %ld is outside the vocabulary (%d)", id, V);
		*out = (int32_t)id;
		return 0;
	}
	if (!s->tok)
		return rs_fail(err, "the model has no tokenizer: give a token id");
	int32_t *ids = NULL;
	int n = 0;
	if (encode(s->tok, v->str, &ids, &n, err))
		return -1;
	int32_t id = n == 1 ? ids[0] : -1;
	free(ids);
	if (n != 1)
		return rs_fail(err, "'%s' is %d tokens, not one", rs_esc(v->str, -1), n);
	if (id >= V)
		return rs_fail(err, "'%s' is id %d, outside the model's vocabulary", rs_esc(v->str, -1), id);
	*out = id;
	return 0;
}

char *lx_tok_display(const rs_tokenizer *tok, int32_t id, char *buf, size_t n)
{
	size_t len = 0;
	const char *b = tok ? tok_token_bytes(tok, id, &len) : NULL;
	if (!b || n < 4) {
		snprintf(buf, n, "#%d", id);
		return buf;
	}
	buf[0] = '\'';
	rs_visible(b, len, RS_VIS_UTF8, buf + 1, n - 2); /* escapes, never control bytes */
	strcat(buf, "'");
	return buf;
}

/* ---------------------------------------------------------------- the prompt */
static int f_n_tokens(lesson_env *env, int argc, lx_val *a, lx_val *out, rs_err *err)
{
	*out = lx_num(lx_session(env)->n_ids);
	return 0;
}

static int f_token(lesson_env *env, int argc, lx_val *a, lx_val *out, rs_err *err)
{
	int p = 0;
	if (lx_arg_pos(env, &a[0], &p, err))
		return -1;
	char buf[256];
	rs_session *s = lx_session(env);
	*out = lx_str(lx_tok_display(s->tok, s->ids[p], buf, sizeof buf));
	return 0;
}

static int f_id(lesson_env *env, int argc, lx_val *a, lx_val *out, rs_err *err)
{
	int p = 0;
	if (lx_arg_pos(env, &a[0], &p, err))
		return -1;
	*out = lx_num(lx_session(env)->ids[p]);
	return 0;
}

static int f_tok(lesson_env *env, int argc, lx_val *a, lx_val *out, rs_err *err)
{
	int32_t id = 0;
	if (lx_arg_tok(env, &a[0], &id, err))
		return -1;
	*out = lx_num(id);
	return 0;
}

static int f_piece(lesson_env *env, int argc, lx_val *a, lx_val *out, rs_err *err)
{
	int32_t id = 0;
	if (lx_arg_tok(env, &a[0], &id, err))
		return -1;
	char buf[256];
	*out = lx_str(lx_tok_display(lx_session(env)->tok, id, buf, sizeof buf));
	return 0;
}

static int f_prompt(lesson_env *env, int argc, lx_val *a, lx_val *out, rs_err *err)
{
	rs_session *s = lx_session(env);
	*out = lx_str(s->prompt ? s->prompt : "");
	return 0;
}

/* ---------------------------------------------------------------- tokenizers */
static const rs_tokenizer *which_tok(lesson_env *env, int argc, lx_val *a, int i, rs_err *err)
{
	const char *w = "model";
	if (argc > i && lx_arg_str(&a[i], "the tokenizer (model or llama3)", &w, err))
		return NULL;
	return lx_tokenizer(env, w, err);
}

static int f_n_pieces(lesson_env *env, int argc, lx_val *a, lx_val *out, rs_err *err)
{
	const char *text = NULL;
	const rs_tokenizer *t = which_tok(env, argc, a, 1, err);
	if (!t || lx_arg_str(&a[0], "the text", &text, err))
		return -1;
	int32_t *ids = NULL;
	int n = 0;
	if (encode(t, text, &ids, &n, err))
		return -1;
	free(ids);
	*out = lx_num(n);
	return 0;
}

static char *join_tokens(const rs_tokenizer *t, const int32_t *ids, int n, int with_ids)
{
	size_t cap = 64 + (size_t)n * 32, o = 0;
	char *s = rs_xmalloc(cap), buf[256];
	s[0] = 0;
	for (int i = 0; i < n; i++) {
		lx_tok_display(t, ids[i], buf, sizeof buf);
		size_t need = strlen(buf) + 24;
		if (o + need >= cap)
			s = rs_xrealloc(s, cap = 2 * cap + need);
		o += with_ids ? (size_t)snprintf(s + o, cap - o, "%s%d %s", i ? "  " : "", ids[i], buf)
			      : (size_t)snprintf(s + o, cap - o, "%s%s", i ? " " : "", buf);
	}
	return s;
}

static int f_tokenize(lesson_env *env, int argc, lx_val *a, lx_val *out, rs_err *err)
{
	const char *text = NULL;
	const rs_tokenizer *t = which_tok(env, argc, a, 1, err);
	if (!t || lx_arg_str(&a[0], "the text", &text, err))
		return -1;
	int32_t *ids = NULL;
	int n = 0;
	if (encode(t, text, &ids, &n, err))
		return -1;
	*out = lx_str_take(join_tokens(t, ids, n, 1));
	free(ids);
	return 0;
}

/* The symbols of a trace as 'a|b|c' with spaces shown as a middle dot. */
static void syms_text(const rs_tokenizer *t, const tok_trace *tr, int sym0, int n, const char *text, char *buf,
		      size_t cap)
{
	size_t o = 0;
	for (int i = 0; i < n && o + 8 < cap; i++) {
		const tok_sym *sy = &tr->syms[sym0 + i];
		if (i)
			buf[o++] = '|';
		for (uint32_t k = 0; k < sy->len && o + 8 < cap; k++) {
			char c = text[sy->off + k];
			if (c == ' ')
				o += (size_t)snprintf(buf + o, cap - o, "\xc2\xb7");
			else if ((unsigned char)c < 0x20)
				o += (size_t)snprintf(buf + o, cap - o, "\\x%02x", (unsigned char)c);
			else
				buf[o++] = c;
		}
	}
	buf[o] = 0;
}

static int f_bpe(lesson_env *env, int argc, lx_val *a, lx_val *out, rs_err *err)
{
	const char *text = NULL;
	const rs_tokenizer *t = which_tok(env, argc, a, 1, err);
	if (!t || lx_arg_str(&a[0], "the text", &text, err))
		return -1;
	if (strlen(text) > 80)
		return rs_fail(err, "keep the text short (at most 80 bytes): every merge is a line");
	tok_trace *tr = NULL;
	/* merge even words that are whole tokens, to show how BPE builds them */
	if (tok_trace_encode(t, text, strlen(text), TOK_ALWAYS_MERGE, 0, &tr, err))
		return -1;
	size_t cap = 4096, o = 0;
	char *s = rs_xmalloc(cap), line[1024], syms[768], l[128], r[128], m[128];
	s[0] = 0;
	for (int p = 0; p < tr->n_pieces; p++) {
		const tok_trace_piece *pc = &tr->pieces[p];
		syms_text(t, tr, pc->sym0, pc->n_sym0, text, syms, sizeof syms);
		int n = snprintf(line, sizeof line, "%s%s\n", p ? "\n" : "", syms);
		for (int k = 0; k < pc->n_steps; k++) {
			const tok_trace_step *st = &tr->steps[pc->step0 + k];
			syms_text(t, tr, st->sym0, st->n_syms, text, syms, sizeof syms);
			n += snprintf(line + n, sizeof line - (size_t)n, "  %s + %s -> %s (rank %d): %s\n",
				      lx_tok_display(t, st->left, l, sizeof l), lx_tok_display(t, st->right, r, sizeof r),
				      lx_tok_display(t, st->result, m, sizeof m), st->rank, syms);
			if (n >= (int)sizeof line - 200) {
				if (o + (size_t)n + 1 >= cap)
					s = rs_xrealloc(s, cap = 2 * cap + (size_t)n);
				memcpy(s + o, line, (size_t)n + 1);
				o += (size_t)n;
				n = 0;
				line[0] = 0;
			}
		}
		if (o + (size_t)n + 1 >= cap)
			s = rs_xrealloc(s, cap = 2 * cap + (size_t)n);
		memcpy(s + o, line, (size_t)n + 1);
		o += (size_t)n;
	}
	while (o && s[o - 1] == '\n')
		s[--o] = 0;
	tok_trace_free(tr);
	*out = lx_str_take(s);
	return 0;
}

/* The text as a user message in the Hugging Face Llama 3.1 chat template. */
static int chat_render(lesson_env *env, int argc, lx_val *a, int32_t **ids, int *n, char **text, rs_err *err,
		       const rs_tokenizer **tp)
{
	const char *msg = NULL;
	const rs_tokenizer *t = which_tok(env, argc, a, 1, err);
	if (!t || lx_arg_str(&a[0], "the text", &msg, err))
		return -1;
	tok_chat_msg m = {"user", msg};
	*tp = t;
	return tok_chat_render(t, TOK_CHAT_LLAMA31, &m, 1, 1, NULL, ids, NULL, n, text, err);
}

static int f_chat(lesson_env *env, int argc, lx_val *a, lx_val *out, rs_err *err)
{
	int32_t *ids = NULL;
	int n = 0;
	char *text = NULL;
	const rs_tokenizer *t;
	if (chat_render(env, argc, a, &ids, &n, &text, err, &t))
		return -1;
	free(ids);
	*out = lx_str_take(text);
	return 0;
}

static int f_chat_count(lesson_env *env, int argc, lx_val *a, lx_val *out, rs_err *err)
{
	int32_t *ids = NULL;
	int n = 0;
	char *text = NULL;
	const rs_tokenizer *t;
	if (chat_render(env, argc, a, &ids, &n, &text, err, &t))
		return -1;
	free(ids);
	free(text);
	*out = lx_num(n);
	return 0;
}

static int f_chat_ids(lesson_env *env, int argc, lx_val *a, lx_val *out, rs_err *err)
{
	int32_t *ids = NULL;
	int n = 0;
	char *text = NULL;
	const rs_tokenizer *t;
	if (chat_render(env, argc, a, &ids, &n, &text, err, &t))
		return -1;
	free(text);
	size_t cap = (size_t)n * 8 + 8, o = 0;
	char *s = rs_xmalloc(cap);
	s[0] = 0;
	for (int i = 0; i < n; i++)
		o += (size_t)snprintf(s + o, cap - o, "%s%d", i ? " " : "", ids[i]);
	free(ids);
	*out = lx_str_take(s);
	return 0;
}

/* The special tokens of the chat rendering, in order. */
static int f_chat_special(lesson_env *env, int argc, lx_val *a, lx_val *out, rs_err *err)
{
	int32_t *ids = NULL;
	int n = 0, k = 0;
	char *text = NULL;
	const rs_tokenizer *t;
	if (chat_render(env, argc, a, &ids, &n, &text, err, &t))
		return -1;
	free(text);
	for (int i = 0; i < n; i++)
		if (tok_is_special(t, ids[i]))
			ids[k++] = ids[i];
	*out = lx_str_take(join_tokens(t, ids, k, 0));
	free(ids);
	return 0;
}

static int f_vocab(lesson_env *env, int argc, lx_val *a, lx_val *out, rs_err *err)
{
	const rs_tokenizer *t = which_tok(env, argc, a, 0, err);
	if (!t)
		return -1;
	*out = lx_num(tok_n_vocab(t));
	return 0;
}

/* ---------------------------------------------------------------- configurations */
static int cfg_field(const rs_config *c, const char *f, lx_val *out, rs_err *err)
{
	const struct {
		const char *name;
		double v;
	} nums[] = {
		{"n_layers", c->n_layers}, {"d_model", c->d_model}, {"n_heads", c->n_heads},
		{"n_kv_heads", c->n_kv_heads}, {"head_dim", c->head_dim}, {"d_ff", c->d_ff},
		{"vocab", c->vocab}, {"max_ctx", c->max_ctx}, {"rms_eps", c->rms_eps},
		{"rope_theta", c->rope_theta}, {"rope_factor", c->rope_kind ? c->rope_factor : 1},
		{"tied", c->tied}, {"bos", c->bos_id}, {"eos", c->eos_id},
		{"params", (double)config_param_count(c)},
	};
	for (size_t i = 0; i < sizeof nums / sizeof *nums; i++)
		if (!strcmp(f, nums[i].name)) {
			*out = lx_num(nums[i].v);
			return 0;
		}
	if (!strcmp(f, "name")) {
		char vis[3 * sizeof c->name]; /* from the file: shown, never obeyed by the terminal */
		*out = lx_str(rs_visible(c->name, strlen(c->name), RS_VIS_UTF8, vis, sizeof vis));
		return 0;
	}
	return rs_fail(err, "unknown field '%s' (n_layers d_model n_heads n_kv_heads head_dim d_ff vocab max_ctx "
			    "rms_eps rope_theta rope_factor tied bos eos params name)", rs_esc(f, -1));
}

static int f_cfg(lesson_env *env, int argc, lx_val *a, lx_val *out, rs_err *err)
{
	const char *f = NULL;
	if (lx_arg_str(&a[0], "the field", &f, err))
		return -1;
	return cfg_field(&lx_session(env)->model->cfg, f, out, err);
}

static int f_preset(lesson_env *env, int argc, lx_val *a, lx_val *out, rs_err *err)
{
	const char *name = NULL, *f = NULL;
	if (lx_arg_str(&a[0], "the preset", &name, err) || lx_arg_str(&a[1], "the field", &f, err))
		return -1;
	rs_config c;
	if (convert_preset(name, &c))
		return rs_fail(err, "unknown preset '%s' (llama3.2-1b, llama3.2-3b, llama3.1-8b, llama3.1-70b, "
				    "llama3.1-405b)", rs_esc(name, -1));
	return cfg_field(&c, f, out, err);
}

/* ---------------------------------------------------------------- arithmetic */
#define MATH1(fname, expr)                                                             \
	static int fname(lesson_env *env, int argc, lx_val *a, lx_val *out, rs_err *err) \
	{                                                                              \
		double x = 0;                                                         \
		if (lx_arg_num(&a[0], "the argument", &x, err))                        \
			return -1;                                                     \
		*out = lx_num(expr);                                                   \
		return 0;                                                              \
	}
MATH1(f_sqrt, sqrt(x))
MATH1(f_exp, exp(x))
MATH1(f_log, log(x))
MATH1(f_abs, fabs(x))
MATH1(f_floor, floor(x))
MATH1(f_ceil, ceil(x))

static int f_round(lesson_env *env, int argc, lx_val *a, lx_val *out, rs_err *err)
{
	double x = 0, d = 0;
	if (lx_arg_num(&a[0], "the number", &x, err) || (argc > 1 && lx_arg_num(&a[1], "the digits", &d, err)))
		return -1;
	double f = pow(10, d);
	*out = lx_num(round(x * f) / f);
	return 0;
}

static int f_min(lesson_env *env, int argc, lx_val *a, lx_val *out, rs_err *err)
{
	double x = 0, y = 0;
	if (lx_arg_num(&a[0], "min's argument", &x, err) || lx_arg_num(&a[1], "min's argument", &y, err))
		return -1;
	*out = lx_num(x < y ? x : y);
	return 0;
}

static int f_max(lesson_env *env, int argc, lx_val *a, lx_val *out, rs_err *err)
{
	double x = 0, y = 0;
	if (lx_arg_num(&a[0], "max's argument", &x, err) || lx_arg_num(&a[1], "max's argument", &y, err))
		return -1;
	*out = lx_num(x > y ? x : y);
	return 0;
}

/* if(cond, a, b): a when cond is a nonzero number or non-empty text. Both
 * sides are computed (they are cheap); it lets text follow what the model did. */
static int f_if(lesson_env *env, int argc, lx_val *a, lx_val *out, rs_err *err)
{
	int c = a[0].type == LX_NUM ? a[0].num != 0 : a[0].str[0] != 0;
	const lx_val *v = &a[c ? 1 : 2];
	*out = v->type == LX_STR ? lx_str(v->str) : *v;
	return 0;
}

static int compare(const lx_val *a, double *x, double *y, rs_err *err)
{
	return lx_arg_num(&a[0], "the left side", x, err) || lx_arg_num(&a[1], "the right side", y, err) ? -1 : 0;
}

static int f_gt(lesson_env *env, int argc, lx_val *a, lx_val *out, rs_err *err)
{
	double x = 0, y = 0;
	if (compare(a, &x, &y, err))
		return -1;
	*out = lx_num(x > y);
	return 0;
}

static int f_lt(lesson_env *env, int argc, lx_val *a, lx_val *out, rs_err *err)
{
	double x = 0, y = 0;
	if (compare(a, &x, &y, err))
		return -1;
	*out = lx_num(x < y);
	return 0;
}

/* eq(a, b): equal numbers, or equal text. */
static int f_eq(lesson_env *env, int argc, lx_val *a, lx_val *out, rs_err *err)
{
	if (a[0].type != a[1].type)
		*out = lx_num(0);
	else
		*out = lx_num(a[0].type == LX_NUM ? a[0].num == a[1].num : !strcmp(a[0].str, a[1].str));
	return 0;
}

const lx_func lx_funcs_text[] = {
	{"if", 3, 3, f_if}, {"gt", 2, 2, f_gt}, {"lt", 2, 2, f_lt}, {"eq", 2, 2, f_eq},
	{"n_tokens", 0, 0, f_n_tokens}, {"token", 1, 1, f_token}, {"id", 1, 1, f_id},
	{"tok", 1, 1, f_tok}, {"piece", 1, 1, f_piece}, {"prompt", 0, 0, f_prompt},
	{"n_pieces", 1, 2, f_n_pieces}, {"tokenize", 1, 2, f_tokenize}, {"bpe", 1, 2, f_bpe},
	{"chat", 1, 2, f_chat}, {"chat_count", 1, 2, f_chat_count}, {"chat_ids", 1, 2, f_chat_ids},
	{"chat_special", 1, 2, f_chat_special}, {"vocab", 0, 1, f_vocab},
	{"cfg", 1, 1, f_cfg}, {"preset", 2, 2, f_preset},
	{"sqrt", 1, 1, f_sqrt}, {"exp", 1, 1, f_exp}, {"log", 1, 1, f_log}, {"abs", 1, 1, f_abs},
	{"floor", 1, 1, f_floor}, {"ceil", 1, 1, f_ceil}, {"round", 1, 2, f_round},
	{"min", 2, 2, f_min}, {"max", 2, 2, f_max},
	{NULL, 0, 0, NULL},
};

const lx_func *lx_find_func(const char *name)
{
	const lx_func *tables[] = {lx_funcs_text, lx_funcs_model, lx_funcs_exp, lx_funcs_circ, lx_funcs_feat};
	for (size_t t = 0; t < sizeof tables / sizeof *tables; t++)
		for (const lx_func *f = tables[t]; f->name; f++)
			if (!strcmp(f->name, name))
				return f;
	return NULL;
}
