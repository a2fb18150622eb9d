/* err.c - error messages and checked allocation. */
#include "config.h"
#include "err.h"

#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void (*fatal_cleanup)(void);

int rs_fail(rs_err *e, const char *fmt, ...)
{
	if (e) {
		va_list ap;
		va_start(ap, fmt);
		vsnprintf(e->msg, sizeof e->msg, fmt, ap);
		va_end(ap);
	}
	return -1;
}

int rs_fail_prefix(rs_err *e, const char *fmt, ...)
{
	if (e) {
		char both[2 * sizeof e->msg];
		va_list ap;
		va_start(ap, fmt);
		int n = vsnprintf(both, sizeof e->msg, fmt, ap);
		va_end(ap);
		if (n < 0)
			n = 0;
		if ((size_t)n > sizeof e->msg - 1)
			n = sizeof e->msg - 1;
		both[n] = 0;
		strcat(both, ": ");
		strcat(both, e->msg);
		memcpy(e->msg, both, sizeof e->msg - 1);
		e->msg[sizeof e->msg - 1] = 0;
	}
	return -1;
}

const char *rs_esc(const char *s, long n)
{
	static _Thread_local char bufs[4][200];
	static _Thread_local int next;
	char *b = bufs[next++ % 4];
	size_t len = n < 0 ? strlen(s) : (size_t)n, o = 0;
	for (size_t i = 0; i < len; i++) {
		unsigned char c = (unsigned char)s[i];
		if (o + 8 >= sizeof bufs[0]) {
			memcpy(b + o, "...", 4);
			return b;
		}
		if (c >= 0x20 && c < 0x7f && c != '\\')
			b[o++] = (char)c;
		else
			o += (size_t)snprintf(b + o, sizeof bufs[0] - o, "\\x%02x", c);
	}
	b[o] = 0;
	return b;
}

/* Length of the valid UTF-8 sequence at s (len bytes left) and its code
 * point, or 0 (overlong forms, surrogates and values past U+10FFFF too). */
static int utf8_seq(const unsigned char *s, size_t len, uint32_t *cp)
{
	int n;
	uint32_t c;
	if (s[0] < 0x80)
		n = 1, c = s[0];
	else if ((s[0] & 0xe0) == 0xc0)
		n = 2, c = s[0] & 0x1f;
	else if ((s[0] & 0xf0) == 0xe0)
		n = 3, c = s[0] & 0x0f;
	else if ((s[0] & 0xf8) == 0xf0)
		n = 4, c = s[0] & 0x07;
	else
		return 0;
	if ((size_t)n > len)
		return 0;
	for (int i = 1; i < n; i++) {
		if ((s[i] & 0xc0) != 0x80)
			return 0;
		c = c << 6 | (s[i] & 0x3f);
	}
	if ((n == 2 && c < 0x80) || (n == 3 && c < 0x800) || (n == 4 && c < 0x10000) ||
	    (c >= 0xd800 && c <= 0xdfff) || c > 0x10ffff)
		return 0;
	*cp = c;
	return n;
}

/* Characters that change how a terminal shows what follows. */
static int unsafe_cp(uint32_t c)
{
	return c < 0xa0 || (c >= 0x202a && c <= 0x202e) || (c >= 0x2066 && c <= 0x2069) || c == 0x2028 ||
	       c == 0x2029;
}

char *rs_visible(const char *s, size_t len, int flags, char *dst, size_t n)
{
	const unsigned char *b = (const unsigned char *)s;
	int utf8 = flags & RS_VIS_UTF8;
	size_t o = 0;
	if (!n)
		return dst;
	for (size_t i = 0; i < len;) {
		char tmp[16];
		const char *piece = tmp;
		unsigned c = b[i];
		uint32_t cp = c;
		int adv = 1;
		if ((c == '\n' || c == '\t') && (flags & RS_VIS_LINES))
			piece = c == '\n' ? "\n" : "\t";
		else if (c == ' ')
			piece = !(flags & RS_VIS_SPACE) ? " " : utf8 ? "\xc2\xb7" : "_"; /* middle dot */
		else if (c == '\n')
			piece = utf8 && (flags & RS_VIS_ARROWS) ? "\xe2\x86\xb5" : "\\n"; /* arrow with corner */
		else if (c == '\t')
			piece = utf8 && (flags & RS_VIS_ARROWS) ? "\xe2\x86\x92" : "\\t";
		else if (c == '\r')
			piece = "\\r";
		else if (c == 0x1b)
			piece = utf8 ? "\xe2\x90\x9b" : "\\e"; /* symbol for escape */
		else if ((c == '\\' && (flags & RS_VIS_BACKSLASH)) || (c == '\'' && (flags & RS_VIS_QUOTE)) ||
			 (c == '|' && (flags & RS_VIS_BAR)) || (c == '"' && (flags & RS_VIS_DQUOTE)))
			tmp[0] = '\\', tmp[1] = (char)c, tmp[2] = 0;
		else if (c < 0x20 || c == 0x7f)
			snprintf(tmp, sizeof tmp, "\\x%02x", c);
		else if (c < 0x80)
			tmp[0] = (char)c, tmp[1] = 0;
		else if (!(adv = utf8_seq(b + i, len - i, &cp)))
			snprintf(tmp, sizeof tmp, "\\x%02x", c), adv = 1;
		else if (!utf8 || unsafe_cp(cp))
			snprintf(tmp, sizeof tmp, "\\u{%X}", (unsigned)cp);
		else
			memcpy(tmp, b + i, (size_t)adv), tmp[adv] = 0;
		size_t plen = strlen(piece);
		if (o + plen >= n)
			break;
		memcpy(dst + o, piece, plen);
		o += plen;
		i += (size_t)adv;
	}
	dst[o] = 0;
	return dst;
}

void rs_set_fatal_cleanup(void (*fn)(void))
{
	fatal_cleanup = fn;
}

static void out_of_memory(size_t n)
{
	if (fatal_cleanup)
		fatal_cleanup();
	fprintf(stderr, "residual: out of memory allocating %zu bytes\n", n);
	exit(2);
}

void *rs_xmalloc(size_t n)
{
	void *p = malloc(n ? n : 1);
	if (!p)
		out_of_memory(n);
	return p;
}

void *rs_xcalloc(size_t n, size_t size)
{
	void *p = calloc(n ? n : 1, size ? size : 1);
	if (!p)
		out_of_memory(n * size);
	return p;
}

void *rs_xrealloc(void *p, size_t n)
{
	p = realloc(p, n ? n : 1);
	if (!p)
		out_of_memory(n);
	return p;
}

char *rs_xstrdup(const char *s)
{
	size_t n = strlen(s) + 1;
	char *p = rs_xmalloc(n);
	memcpy(p, s, n);
	return p;
}
