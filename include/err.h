/* err.h - error status with a one-line message.
 *
 * Functions that can fail return 0 on success and -1 on failure, and fill an
 * rs_err with one line naming the file, offset, tensor or argument at fault.
 * Callers pass the message up unchanged or prefix context with rs_errf_prefix.
 */
#ifndef RS_ERR_H
#define RS_ERR_H

#include <stddef.h>

#define RS_PRINTF(f, a) __attribute__((format(printf, f, a)))

typedef struct rs_err {
	char msg[512];
} rs_err;

/* Formats the message into e (which may be NULL) and returns -1. */
int rs_fail(rs_err *e, const char *fmt, ...) RS_PRINTF(2, 3);

/* Prepends "prefix: " to the message already in e; returns -1. */
int rs_fail_prefix(rs_err *e, const char *fmt, ...) RS_PRINTF(2, 3);

/* Text from a file made safe for a one-line message: control bytes and
 * non-ASCII become \xNN, and long text is cut with "...". n < 0: up to the
 * NUL. Returns one of a few rotating thread-local buffers, so several calls
 * may appear in one printf. */
const char *rs_esc(const char *s, long n);

/* How rs_visible shows text. */
enum rs_vis_flags {
	RS_VIS_UTF8 = 1 << 0,      /* the output is UTF-8: printable non-ASCII characters stay as they
				    * are and ESC shows as U+241B; else all is ASCII (ESC is \e, other
				    * characters \u{XXXX}) */
	RS_VIS_SPACE = 1 << 1,     /* a space as a middle dot (ASCII: _) */
	RS_VIS_ARROWS = 1 << 2,    /* in UTF-8, newline and tab as arrows (else \n, \t) */
	RS_VIS_BACKSLASH = 1 << 3, /* a backslash as \\ (so that every escape reads back) */
	RS_VIS_QUOTE = 1 << 4,     /* a single quote as \' */
	RS_VIS_BAR = 1 << 5,       /* a '|' as \| */
	RS_VIS_DQUOTE = 1 << 6,    /* a double quote as \" */
	RS_VIS_LINES = 1 << 7,     /* running text: newline and tab pass as they are */
};

/* Text from a file (a token, a model name) made safe to show on a terminal,
 * the one place that does it: control characters (C0, DEL, C1, the bidi
 * overrides) and bytes that are not UTF-8 never pass, only visible stand-ins:
 * \n \t \r, ESC as U+241B or \e, other bytes \xNN, other characters
 * \u{XXXX}. So a crafted vocabulary cannot retitle or reprogram a terminal.
 * Writes at most n-1 bytes and a NUL to dst (a stand-in is never cut);
 * returns dst. */
char *rs_visible(const char *s, size_t len, int flags, char *dst, size_t n);

/* Allocation that never returns NULL: on failure prints and exits(2),
 * after running the registered cleanup (the screen restores the terminal). */
void *rs_xmalloc(size_t n);
void *rs_xcalloc(size_t n, size_t size);
void *rs_xrealloc(void *p, size_t n);
char *rs_xstrdup(const char *s);
void rs_set_fatal_cleanup(void (*fn)(void));

#endif
