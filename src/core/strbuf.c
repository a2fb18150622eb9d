/* strbuf.c - a growable string (strbuf.h). */
#include "config.h"
#include "strbuf.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void strbuf_init(rs_strbuf *b)
{
	b->p = NULL;
	b->n = b->cap = 0;
}

void strbuf_free(rs_strbuf *b)
{
	free(b->p);
	strbuf_init(b);
}

static void reserve(rs_strbuf *b, size_t extra)
{
	if (b->n + extra + 1 <= b->cap)
		return;
	size_t cap = b->cap ? b->cap : 256;
	while (cap < b->n + extra + 1)
		cap *= 2;
	b->p = rs_xrealloc(b->p, cap);
	b->cap = cap;
}

void strbuf_add(rs_strbuf *b, const char *s, size_t n)
{
	reserve(b, n);
	memcpy(b->p + b->n, s, n);
	b->n += n;
	b->p[b->n] = 0;
}

void strbuf_puts(rs_strbuf *b, const char *s)
{
	strbuf_add(b, s, strlen(s));
}

void strbuf_putc(rs_strbuf *b, char c)
{
	strbuf_add(b, &c, 1);
}

void strbuf_vprintf(rs_strbuf *b, const char *fmt, va_list ap)
{
	va_list ap2;
	va_copy(ap2, ap);
	int k = vsnprintf(NULL, 0, fmt, ap2);
	va_end(ap2);
	if (k <= 0)
		return;
	reserve(b, (size_t)k);
	vsnprintf(b->p + b->n, (size_t)k + 1, fmt, ap);
	b->n += (size_t)k;
}

void strbuf_printf(rs_strbuf *b, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	strbuf_vprintf(b, fmt, ap);
	va_end(ap);
}
