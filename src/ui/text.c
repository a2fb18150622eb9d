/* text.c - printable token text, display widths, heat levels (no curses). */
#include "config.h"
#include "ui.h"

#include <math.h>
#include <stdio.h>
#include <string.h>
#include <wchar.h>

/* Length of the valid UTF-8 sequence at s (of at most len bytes), or 0. */
static int utf8_len(const unsigned char *s, size_t len)
{
	int n;
	uint32_t cp;
	if (s[0] < 0x80)
		return 1;
	if ((s[0] & 0xe0) == 0xc0)
		n = 2, cp = s[0] & 0x1f;
	else if ((s[0] & 0xf0) == 0xe0)
		n = 3, cp = s[0] & 0x0f;
	else if ((s[0] & 0xf8) == 0xf0)
		n = 4, cp = s[0] & 0x07;
	else
		return 0;
	if ((size_t)n > len)
		return 0;
	for (int i = 1; i < n; i++) {
		if ((s[i] & 0xc0) != 0x80)
			return 0;
		cp = cp << 6 | (s[i] & 0x3f);
	}
	/* overlong forms, surrogates and values past U+10FFFF are not text */
	if ((n == 2 && cp < 0x80) || (n == 3 && cp < 0x800) || (n == 4 && cp < 0x10000) ||
	    (cp >= 0xd800 && cp <= 0xdfff) || cp > 0x10ffff)
		return 0;
	return n;
}

static uint32_t utf8_cp(const unsigned char *s, int n)
{
	static const unsigned char mask[] = {0, 0x7f, 0x1f, 0x0f, 0x07};
	uint32_t cp = s[0] & mask[n];
	for (int i = 1; i < n; i++)
		cp = cp << 6 | (s[i] & 0x3f);
	return cp;
}

char *ui_token_text(const char *bytes, size_t len, int utf8, char *dst, size_t n)
{
	size_t o = 0;
	const unsigned char *s = (const unsigned char *)bytes;
	if (!n)
		return dst;
	for (size_t i = 0; i < len;) {
		char tmp[16];
		const char *piece = tmp;
		size_t plen;
		int adv = 1;
		unsigned c = s[i];
		if (c == ' ')
			piece = utf8 ? "\xc2\xb7" : "_"; /* middle dot */
		else if (c == '\n')
			piece = utf8 ? "\xe2\x86\xb5" : "\\n"; /* downwards arrow with corner */
		else if (c == '\t')
			piece = utf8 ? "\xe2\x86\x92" : "\\t";
		else if (c == '\r')
			piece = "\\r";
		else if (c < 0x20 || c == 0x7f)
			snprintf(tmp, sizeof tmp, "\\x%02X", c);
		else if (c < 0x80)
			tmp[0] = (char)c, tmp[1] = 0;
		else {
			int l = utf8_len(s + i, len - i);
			if (!l)
				snprintf(tmp, sizeof tmp, "\\x%02X", c);
			else if (!utf8 || utf8_cp(s + i, l) < 0xa0) /* C1 controls stay escaped */
				snprintf(tmp, sizeof tmp, "\\u{%X}", utf8_cp(s + i, l)), adv = l;
			else
				memcpy(tmp, s + i, (size_t)l), tmp[l] = 0, adv = l;
		}
		plen = strlen(piece);
		if (o + plen >= n)
			break;
		memcpy(dst + o, piece, plen);
		o += plen;
		i += (size_t)adv;
	}
	dst[o] = 0;
	return dst;
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
