/* text.c - printable token text, display widths, heat levels (no curses). */
#include "config.h"
#include "ui.h"
#include "err.h"

#include <math.h>
#include <stdio.h>
#include <string.h>
#include <wchar.h>

char *ui_token_text(const char *bytes, size_t len, int utf8, char *dst, size_t n)
{
	return rs_visible(bytes, len, (utf8 ? RS_VIS_UTF8 : 0) | RS_VIS_SPACE | RS_VIS_ARROWS, dst, n);
}

/* Walks s one character at a time; returns columns, and through *fit the
 * bytes that fit in cols columns (cols < 0: no limit). */
static int walk(const char *s, int cols, size_t *fit)
{
	mbstate_t st;
	memset(&st, 0, sizeof st);
	size_t len = strlen(s), i = 0;
	int w = 0;
	while (i < len) {
		wchar_t wc;
		size_t k = mbrtowc(&wc, s + i, len - i, &st);
		int cw = 1;
		if (k == (size_t)-1 || k == (size_t)-2 || k == 0) {
			memset(&st, 0, sizeof st);
			k = 1;
		} else {
			cw = wcwidth(wc);
			if (cw < 0)
				cw = 1;
		}
		if (cols >= 0 && w + cw > cols)
			break;
		w += cw;
		i += k;
	}
	if (fit)
		*fit = i;
	return w;
}

int ui_text_width(const char *s) { return walk(s, -1, NULL); }

size_t ui_text_fit(const char *s, int cols)
{
	size_t fit;
	walk(s, cols < 0 ? 0 : cols, &fit);
	return fit;
}

int ui_heat_level(float v, float lo, float hi, int n)
{
	if (n <= 1 || isnan(v) || !(hi > lo))
		return 0;
	float t = (v - lo) / (hi - lo);
	if (t <= 0)
		return 0;
	if (t >= 1)
		return n - 1;
	int l = (int)(t * (float)n);
	return l >= n ? n - 1 : l;
}
