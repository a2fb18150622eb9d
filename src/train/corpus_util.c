/* corpus_util.c - seeded RNG and document list for the corpus code. */
#include "config.h"
#include "corpus.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

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
