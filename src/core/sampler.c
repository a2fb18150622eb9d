/* sampler.c - greedy and temperature/top-p sampling with a seeded generator. */
#include "config.h"
#include "sampler.h"
#include "err.h"
#include "filelimits.h"

#include <math.h>
#include <stdlib.h>

void sampler_init(rs_sampler *s, int vocab, float temperature, float top_p, uint64_t seed)
{
	s->temperature = temperature;
	s->top_p = top_p;
	s->rng = seed ? seed : 0x9e3779b97f4a7c15ull;
	s->n = vocab;
	s->idx = rs_xmalloc(sizeof(int) * (size_t)vocab);
	s->prob = rs_xmalloc(sizeof(float) * (size_t)vocab);
}

void sampler_free(rs_sampler *s)
{
	free(s->idx);
	free(s->prob);
	s->idx = NULL;
	s->prob = NULL;
}

int sampler_argmax(const float *logits, int n)
{
	int best = 0;
	for (int i = 1; i < n; i++)
		if (logits[i] > logits[best])
			best = i;
	return best;
}

RS_WRAPS static float uniform(uint64_t *st)
{
	uint64_t x = *st; /* xorshift64* */
	x ^= x >> 12;
	x ^= x << 25;
	x ^= x >> 27;
	*st = x;
	return (float)((x * 0x2545F4914F6CDD1Dull) >> 40) / 16777216.0f;
}

static int by_prob_desc(const void *a, const void *b, void *base)
{
	const float *p = base;
	float pa = p[*(const int *)a], pb = p[*(const int *)b];
	return pa < pb ? 1 : pa > pb ? -1 : *(const int *)a - *(const int *)b;
}

int sampler_sample(rs_sampler *s, const float *logits)
{
	int n = s->n;
	if (s->temperature <= 0)
		return sampler_argmax(logits, n);
	float mx = logits[sampler_argmax(logits, n)];
	double sum = 0;
	for (int i = 0; i < n; i++) {
		s->prob[i] = expf((logits[i] - mx) / s->temperature);
		sum += s->prob[i];
	}
	for (int i = 0; i < n; i++)
		s->prob[i] = (float)(s->prob[i] / sum);
	float r = uniform(&s->rng);
	if (s->top_p >= 1.0f) {
		float c = 0;
		for (int i = 0; i < n; i++) {
			c += s->prob[i];
			if (r < c)
				return i;
		}
		return n - 1;
	}
	/* nucleus: sort only tokens that can matter (p >= (1-top_p)/(n-1)), as
	 * any token below that cannot be inside the smallest set reaching top_p */
	float cutoff = (1.0f - s->top_p) / (float)(n - 1 > 0 ? n - 1 : 1);
	int m = 0;
	for (int i = 0; i < n; i++)
		if (s->prob[i] >= cutoff)
			s->idx[m++] = i;
	qsort_r(s->idx, (size_t)m, sizeof(int), by_prob_desc, s->prob);
	float cum = 0;
	int last = m - 1;
	for (int i = 0; i < m; i++) {
		cum += s->prob[s->idx[i]];
		if (cum > s->top_p) {
			last = i;
			break;
		}
	}
	float target = r * cum, c = 0;
	for (int i = 0; i <= last; i++) {
		c += s->prob[s->idx[i]];
		if (target < c)
			return s->idx[i];
	}
	return s->idx[last];
}
