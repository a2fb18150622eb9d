/* draw.c - drawing helpers shared by the panes: text clipped by display
 * width, titles, wrapped paragraphs, compact numbers, token text. */
#include "config.h"
#include "ui_int.h"

#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "tokenizer.h"

int draw_text(WINDOW *w, int y, int x, int maxw, const char *s)
{
	if (maxw <= 0)
		return 0;
	size_t n = ui_text_fit(s, maxw);
	if (wmove(w, y, x) == ERR)
		return 0;
	waddnstr(w, s, (int)n);
	char tmp[1024];
	size_t k = n < sizeof tmp - 1 ? n : sizeof tmp - 1;
	memcpy(tmp, s, k);
	tmp[k] = 0;
	return ui_text_width(tmp);
}

int draw_textf(WINDOW *w, int y, int x, int maxw, const char *fmt, ...)
{
	char buf[1024];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(buf, sizeof buf, fmt, ap);
	va_end(ap);
	return draw_text(w, y, x, maxw, buf);
}

/* Writes the first of forms (long to short, one a line) that fits whole
 * in maxw columns; returns its width, -1 when none fits (nothing drawn). */
int draw_forms(WINDOW *w, int y, int x, int maxw, const char *forms)
{
	const char *p = forms;
	while (p && *p) {
		const char *nl = strchr(p, '\n');
		size_t len = nl ? (size_t)(nl - p) : strlen(p);
		char form[512];
		if (len >= sizeof form)
			len = sizeof form - 1;
		memcpy(form, p, len);
		form[len] = 0;
		if (ui_text_width(form) <= maxw)
			return draw_text(w, y, x, maxw, form);
		p = nl ? nl + 1 : NULL;
	}
	ui_trace("line dropped: %s", forms);
	return -1;
}

/* A pane's title line: the title, then the first of info's forms (long to
 * short, one a line) that fits whole. A form is never cut: when none fits,
 * the title stands alone and the screen's trace says so (the golden screen
 * test checks that nothing is dropped at 80x24). */
void draw_title(ui *u, WINDOW *w, const char *title, const char *info)
{
	int W = getmaxx(w);
	theme_set(&u->th, w, ROLE_TITLE);
	int used = draw_text(w, 0, 0, W, title);
	theme_set(&u->th, w, ROLE_NORMAL);
	if (info && *info && W - used - 2 >= 0)
		draw_forms(w, 0, used + 2, W - used - 2, info);
}

/* The screen's short form of a hook name: without "blocks." and "hook_"
 * (blocks.0.ln1.hook_normalized is 0.ln1.normalized, ln_final.hook_scale
 * is ln_final.scale); the rule is in the help overlay. */
char *draw_hook_short(const char *name, char *buf, size_t n)
{
	size_t o = 0;
	const char *s = name;
	if (!strncmp(s, "blocks.", 7))
		s += 7;
	while (*s && o + 1 < n) {
		if (!strncmp(s, "hook_", 5)) {
			s += 5;
			continue;
		}
		buf[o++] = *s++;
	}
	buf[o] = 0;
	return buf;
}

/* One line of s (up to width columns, broken at a space when possible)
 * starting at *p; advances *p past it. Returns the bytes of the line. */
static size_t wrap_line(const char **p, int width)
{
	const char *s = *p;
	const char *nl = strchr(s, '\n');
	size_t len = nl ? (size_t)(nl - s) : strlen(s);
	char tmp[2048];
	size_t k = len < sizeof tmp - 1 ? len : sizeof tmp - 1;
	memcpy(tmp, s, k);
	tmp[k] = 0;
	size_t fit = ui_text_fit(tmp, width);
	if (fit < k) {
		size_t brk = fit;
		while (brk > 0 && tmp[brk] != ' ')
			brk--;
		if (brk > 0)
			fit = brk;
		*p = s + fit + (s[fit] == ' ');
		return fit;
	}
	*p = s + len + (nl ? 1 : 0);
	if (!nl && !len)
		*p = s;
	return len;
}

int draw_count_wrapped(const char *s, int width)
{
	int n = 0;
	if (!s || width <= 0)
		return 0;
	while (*s) {
		const char *before = s;
		wrap_line(&s, width);
		n++;
		if (s == before)
			break;
	}
	return n;
}

int draw_wrapped(WINDOW *w, int y, int x, int h, int width, const char *s, int skip)
{
	int row = 0, line = 0;
	if (!s)
		return 0;
	while (*s && row < h) {
		const char *start = s, *before = s;
		size_t len = wrap_line(&s, width);
		if (line++ >= skip) {
			char tmp[2048];
			size_t k = len < sizeof tmp - 1 ? len : sizeof tmp - 1;
			memcpy(tmp, start, k);
			tmp[k] = 0;
			draw_text(w, y + row, x, width, tmp);
			row++;
		}
		if (s == before)
			break;
	}
	return row;
}

void draw_fmt_num(char *buf, size_t n, float v, int cw)
{
	char tmp[32];
	if (isnan(v)) {
		snprintf(buf, n, "%*s", cw, "nan");
		return;
	}
	if (isinf(v)) {
		snprintf(buf, n, "%*s", cw, v < 0 ? "-inf" : "inf");
		return;
	}
	/* most decimals that fit; a leading "0." loses its 0 when that buys one */
	for (int dec = cw; dec >= 0; dec--) {
		snprintf(tmp, sizeof tmp, "%.*f", dec, v);
		if ((int)strlen(tmp) > cw && dec > 0 && fabsf(v) < 1) {
			char *z = strstr(tmp, "0.");
			if (z == tmp || (z == tmp + 1 && tmp[0] == '-'))
				memmove(z, z + 1, strlen(z));
		}
		if ((int)strlen(tmp) <= cw) {
			snprintf(buf, n, "%*s", cw, tmp);
			return;
		}
	}
	snprintf(tmp, sizeof tmp, "%.0e", v);
	snprintf(buf, n, "%*.*s", cw, cw, tmp);
}

void draw_fmt_sig(char *buf, size_t n, float v)
{
	float a = fabsf(v);
	if (isnan(v) || isinf(v))
		draw_fmt_num(buf, n, v, 4);
	else if (a >= 1e5f || (a < 1e-3f && a > 0))
		snprintf(buf, n, "%.3e", v);
	else
		snprintf(buf, n, "%.*f", a >= 100 ? 1 : a >= 1 ? 3 : 4, v);
}

char *draw_token(ui *u, int32_t id, char *buf, size_t n)
{
	const rs_tokenizer *tok = u->s->tok;
	size_t len = 0;
	const char *bytes = tok ? tok_token_bytes(tok, id, &len) : NULL;
	if (!bytes) {
		snprintf(buf, n, "#%d", id);
		return buf;
	}
	if (tok_is_special(tok, id))
		return ui_token_text(tok_piece(tok, id), strlen(tok_piece(tok, id)), u->th.utf8, buf, n);
	return ui_token_text(bytes, len, u->th.utf8, buf, n);
}

/* First index of a window of n out of total that keeps sel in view. */
int draw_window_start(int sel, int n, int total)
{
	if (total <= n)
		return 0;
	int s = sel - n / 2;
	if (s < 0)
		s = 0;
	return s > total - n ? total - n : s;
}

/* A dim paragraph from row y: what a pane says while it has nothing to show. */
void draw_dim_text(ui *u, WINDOW *w, int y, const char *msg)
{
	theme_set(&u->th, w, ROLE_DIM);
	draw_wrapped(w, y, 0, getmaxy(w) - y, getmaxx(w), msg, 0);
	theme_set(&u->th, w, ROLE_NORMAL);
}

/* A frame drawn with characters, not the terminal's line-drawing set, so it
 * looks the same in every terminal (and in tmux's capture). */
void draw_box(ui *u, WINDOW *w)
{
	int H = getmaxy(w), W = getmaxx(w);
	int utf8 = u->th.utf8;
	const char *hz = utf8 ? "\xe2\x94\x80" : "-", *vt = utf8 ? "\xe2\x94\x82" : "|";
	const char *c[4] = {"+", "+", "+", "+"};
	if (utf8) {
		c[0] = "\xe2\x94\x8c", c[1] = "\xe2\x94\x90";
		c[2] = "\xe2\x94\x94", c[3] = "\xe2\x94\x98";
	}
	for (int x = 1; x < W - 1; x++) {
		mvwaddstr(w, 0, x, hz);
		mvwaddstr(w, H - 1, x, hz);
	}
	for (int y = 1; y < H - 1; y++) {
		mvwaddstr(w, y, 0, vt);
		mvwaddstr(w, y, W - 1, vt);
	}
	mvwaddstr(w, 0, 0, c[0]);
	mvwaddstr(w, 0, W - 1, c[1]);
	mvwaddstr(w, H - 1, 0, c[2]);
	/* the last cell of the screen: waddstr there may report an error; harmless */
	mvwaddstr(w, H - 1, W - 1, c[3]);
}
