/* strbuf.h - a growable string, always NUL-terminated (the one string builder). */
#ifndef RS_STRBUF_H
#define RS_STRBUF_H

#include <stdarg.h>
#include <stddef.h>

#include "err.h"

typedef struct rs_strbuf {
	char *p;       /* NULL until the first byte is added (or strbuf_add(b, "", 0)) */
	size_t n, cap; /* p holds n bytes and a NUL */
} rs_strbuf;

void strbuf_init(rs_strbuf *b);
void strbuf_free(rs_strbuf *b);
void strbuf_add(rs_strbuf *b, const char *s, size_t n);
void strbuf_puts(rs_strbuf *b, const char *s);
void strbuf_putc(rs_strbuf *b, char c);
void strbuf_printf(rs_strbuf *b, const char *fmt, ...) RS_PRINTF(2, 3);
void strbuf_vprintf(rs_strbuf *b, const char *fmt, va_list ap);

#endif
