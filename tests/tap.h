/* tap.h - a minimal TAP producer for the C tests (automake's tap-driver reads it). */
#ifndef RS_TAP_H
#define RS_TAP_H

#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int tap_n, tap_failed;

static inline void tap_plan(int n) { printf("1..%d\n", n); fflush(stdout); }

static inline int tap_ok(int cond, const char *fmt, ...)
{
	va_list ap;
	char msg[2048];
	tap_n++;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof msg, fmt, ap);
	va_end(ap);
	printf("%s %d - %s\n", cond ? "ok" : "not ok", tap_n, msg);
	fflush(stdout);
	if (!cond && !strstr(msg, "# TODO")) /* a TODO test may fail without failing the run */
		tap_failed++;
	return cond;
}

static inline void tap_diag(const char *fmt, ...)
{
	va_list ap;
	printf("# ");
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	printf("\n");
}

static inline void tap_skip_all(const char *why)
{
	printf("1..0 # SKIP %s\n", why);
	exit(0);
}

static inline int tap_done(void)
{
	if (tap_n == 0) /* plan at the end when not given up front */
		printf("1..0\n");
	return tap_failed ? 1 : 0;
}

/* Ends with a trailing plan: use when the number of checks depends on data. */
static inline int tap_done_plan(void)
{
	printf("1..%d\n", tap_n);
	return tap_failed ? 1 : 0;
}

/* max |a[i]| (0 for n = 0). */
static inline float tap_max_abs(const float *a, size_t n)
{
	float m = 0;
	for (size_t i = 0; i < n; i++)
		m = fabsf(a[i]) > m ? fabsf(a[i]) : m;
	return m;
}

static inline float tap_max_abs_diff(const float *a, const float *b, size_t n)
{
	float m = 0;
	for (size_t i = 0; i < n; i++) {
		float d = fabsf(a[i] - b[i]);
		if (isnan(d) || d > m)
			m = isnan(d) ? INFINITY : d;
	}
	return m;
}

static inline const char *tap_fixtures(void)
{
	const char *f = getenv("FIXTURES");
	return f && *f ? f : "../shared/fixtures";
}

#endif
