/* sampler.h - choosing the next token: greedy, or temperature + top-p. */
#ifndef RS_SAMPLER_H
#define RS_SAMPLER_H

#include <stdint.h>

typedef struct rs_sampler {
	float temperature;  /* 0: greedy */
	float top_p;        /* 1: no nucleus cut */
	uint64_t rng;       /* xorshift state, from the seed */
	int n;              /* vocabulary size */
	int *idx;           /* [n] scratch */
	float *prob;        /* [n] scratch */
} rs_sampler;

void sampler_init(rs_sampler *s, int vocab, float temperature, float top_p, uint64_t seed);
void sampler_free(rs_sampler *s);
int sampler_argmax(const float *logits, int n);
int sampler_sample(rs_sampler *s, const float *logits);

#endif
