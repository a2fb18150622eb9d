/* err.c - error messages and checked allocation. */
#include "config.h"
#include "err.h"

#include <stdarg.h>
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
