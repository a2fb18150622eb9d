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

/* Allocation that never returns NULL: on failure prints and exits(2),
 * after running the registered cleanup (the screen restores the terminal). */
void *rs_xmalloc(size_t n);
void *rs_xcalloc(size_t n, size_t size);
void *rs_xrealloc(void *p, size_t n);
char *rs_xstrdup(const char *s);
void rs_set_fatal_cleanup(void (*fn)(void));

#endif
