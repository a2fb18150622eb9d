/* heads.c - what each attention head does, from its pattern on a prompt:
 * previous-token, duplicate-token and induction scores (ARENA's detectors),
 * attention to the first token, and how spread out the attention is. */
#include "config.h"
#include "interp.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

void heads_score_pattern(const float *A, const int32_t *ids, int T, float out[5], float *entropy_q)
{
	double prev = 0, dup = 0, ind = 0, first = 0, ent = 0;
	int n_rep = 0;
	if (entropy_q)
		entropy_q[0] = 0;
	for (int t = 1; t < T; t++) {
		const float *row = A + (size_t)t * T; /* [T] keys, causal: j <= t */
		prev += row[t - 1];
		first += row[0];
		double h = 0;
		for (int j = 0; j <= t; j++)
			h -= row[j] > 0 ? row[j] * log(row[j]) : 0;
		ent += h;
		if (entropy_q)
			entropy_q[t] = (float)h;
		/* earlier copies j of this query's token: a duplicate-token head
		 * looks at j, an induction head at the token that followed, j + 1 */
		int has = 0;
		double sd = 0, si = 0;
		for (int j = 0; j < t; j++) {
			if (ids[j] != ids[t])
				continue;
			has = 1;
			sd += row[j];
			si += row[j + 1];
		}
		if (has) {
			n_rep++;
			dup += sd;
			ind += si;
		}
	}
	float nq = T > 1 ? (float)(T - 1) : NAN;
	out[0] = (float)(prev / nq);
	out[1] = n_rep ? (float)(dup / n_rep) : NAN;
	out[2] = n_rep ? (float)(ind / n_rep) : NAN;
	out[3] = (float)(first / nq);
	out[4] = (float)(ent / nq);
}

void heads_free(head_scores *s)
{
	if (!s)
		return;
	free(s->prev);
	free(s->dup);
	free(s->induction);
	free(s->first);
	free(s->entropy);
	free(s->entropy_q);
	free(s);
}

head_scores *heads_score(const rs_engine *e, rs_err *err)
{
	const rs_config *c = &eng_model(e)->cfg;
	int L = c->n_layers, H = c->n_heads, T = eng_n_tokens(e);
	for (int l = 0; l < L; l++)
		if (!interp_need(e, HOOK_PATTERN, l, err))
			return NULL;
	head_scores *s = rs_xcalloc(1, sizeof *s);
	s->n_layers = L;
	s->n_heads = H;
	s->T = T;
	float **f[] = {&s->prev, &s->dup, &s->induction, &s->first, &s->entropy};
	for (int i = 0; i < 5; i++)
		*f[i] = rs_xmalloc(sizeof(float) * (size_t)L * H);
	s->entropy_q = rs_xmalloc(sizeof(float) * (size_t)L * H * T);
	const int32_t *ids = eng_tokens(e);
	s->n_q = T > 1 ? T - 1 : 0;
	for (int t = 1; t < T; t++)
		for (int j = 0; j < t; j++)
			if (ids[j] == ids[t]) {
				s->n_rep++;
				break;
			}
	for (int l = 0; l < L; l++) {
		const rs_act *P = eng_act(e, (rs_hook){HOOK_PATTERN, l});
		for (int h = 0; h < H; h++) {
			float o[5];
			int64_t at = (int64_t)l * H + h;
			int Tk;
			heads_score_pattern(act_row(P, HOOK_PATTERN, 0, h, &Tk), ids, T, o, s->entropy_q + at * T); /* head h's [T, T] */
			for (int i = 0; i < 5; i++)
				(*f[i])[at] = o[i];
		}
	}
	return s;
}
