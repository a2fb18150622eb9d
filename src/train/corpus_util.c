/* corpus_util.c - byte buffer, seeded RNG and document list for the corpus code. */
#include "config.h"
#include "corpus.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void corpus_buf_init(corpus_buf *b)
{
	b->p = NULL;
	b->n = b->cap = 0;
}

void corpus_buf_free(corpus_buf *b)
{
	free(b->p);
	corpus_buf_init(b);
}

static void buf_reserve(corpus_buf *b, size_t extra)
{
	if (b->n + extra + 1 <= b->cap)
		return;
	size_t cap = b->cap ? b->cap : 256;
	while (cap < b->n + extra + 1)
		cap *= 2;
	b->p = rs_xrealloc(b->p, cap);
	b->cap = cap;
}

void corpus_buf_add(corpus_buf *b, const char *s, size_t n)
{
	buf_reserve(b, n);
	memcpy(b->p + b->n, s, n);
	b->n += n;
	b->p[b->n] = 0;
}

void corpus_buf_puts(corpus_buf *b, const char *s)
{
	corpus_buf_add(b, s, strlen(s));
}

void corpus_buf_putc(corpus_buf *b, char c)
{
	corpus_buf_add(b, &c, 1);
}

void corpus_buf_printf(corpus_buf *b, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	int k = vsnprintf(NULL, 0, fmt, ap);
	va_end(ap);
	if (k <= 0)
		return;
	buf_reserve(b, (size_t)k);
	va_start(ap, fmt);
	vsnprintf(b->p + b->n, (size_t)k + 1, fmt, ap);
	va_end(ap);
	b->n += (size_t)k;
}

/* ---------------------------------------------------------------- RNG */

void corpus_rng_seed(corpus_rng *r, uint64_t seed, uint64_t stream)
{
	/* Streams keep the parts of the corpus independent: adding a story
	 * template must not reshuffle the facts. */
	r->s = seed ^ (stream * 0xd1342543de82ef95ull);
	corpus_rng_next(r);
}

uint64_t corpus_rng_next(corpus_rng *r)
{
	uint64_t z = (r->s += 0x9e3779b97f4a7c15ull);
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
	return z ^ (z >> 31);
}

uint32_t corpus_rng_below(corpus_rng *r, uint32_t n)
{
	/* Multiply-shift: no modulo bias worth caring about at these sizes, and
	 * no floating point, so every platform draws the same numbers. */
	return (uint32_t)(((corpus_rng_next(r) >> 32) * (uint64_t)n) >> 32);
}

int corpus_rng_pct(corpus_rng *r, uint32_t pct)
{
	return corpus_rng_below(r, 100) < pct;
}

/* ---------------------------------------------------------------- documents */

void corpus_docs_free(corpus_docs *d)
{
	for (size_t i = 0; i < d->n; i++)
		free(d->doc[i]);
	free(d->doc);
	memset(d, 0, sizeof *d);
}

void corpus_docs_take(corpus_docs *d, char *text)
{
	if (d->n == d->cap) {
		d->cap = d->cap ? d->cap * 2 : 64;
		d->doc = rs_xrealloc(d->doc, d->cap * sizeof *d->doc);
	}
	d->doc[d->n++] = text;
	d->bytes += strlen(text);
}
