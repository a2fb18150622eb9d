/* vec.c - softmax and top-k over a vector (vec.h). */
#include "config.h"
#include "vec.h"

#include <math.h>
#include <stddef.h>

static double logsumexp(const float *x, int n)
{
	float mx = -INFINITY;
	for (int i = 0; i < n; i++)
		mx = x[i] > mx ? x[i] : mx;
	double s = 0;
	for (int i = 0; i < n; i++)
		s += exp((double)x[i] - mx);
	return mx + log(s);
}

double vec_softmax(const float *x, int n, float *probs)
{
	double lse = logsumexp(x, n);
	if (probs)
		for (int i = 0; i < n; i++)
			probs[i] = (float)exp((double)x[i] - lse);
	return lse;
}

double vec_softmax_d(const float *x, int n, double *pd)
{
	double lse = logsumexp(x, n);
	if (pd)
		for (int i = 0; i < n; i++)
			pd[i] = exp((double)x[i] - lse);
	return lse;
}

int vec_topk(const float *x, int n, int k, int absval, int *out)
{
	if (k > n)
		k = n;
	if (k <= 0)
		return 0;
	int m = 0;
	/* insertion into a sorted window of k: vocabularies are large, k small */
	for (int i = 0; i < n; i++) {
		float v = absval ? fabsf(x[i]) : x[i];
		if (isnan(v))
			continue;
		if (m == k) {
			float last = absval ? fabsf(x[out[m - 1]]) : x[out[m - 1]];
			if (v <= last)
				continue;
			m--;
		}
		int j = m++;
		while (j > 0 && (absval ? fabsf(x[out[j - 1]]) : x[out[j - 1]]) < v) {
			out[j] = out[j - 1];
			j--;
		}
		out[j] = i;
	}
	return m;
}
