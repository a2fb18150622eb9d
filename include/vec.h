/* vec.h - small reductions over a vector of floats, one copy each: the
 * softmax of logits (through the log-sum-exp, in double) and the top k.
 * The forward pass's own softmax over attention rows is op_softmax_rows
 * (ops.h): in place, in float, as transformers computes it. */
#ifndef RS_VEC_H
#define RS_VEC_H

/* log Σ exp(x[i]) over x[n], in double. Fills probs (float) or pd (double)
 * with exp(x[i] - lse) when given (either may be NULL); returns lse. */
double vec_softmax(const float *x, int n, float *probs);
double vec_softmax_d(const float *x, int n, double *pd);

/* The indices of the k largest x[i] (of |x[i]| with absval) into out, by
 * decreasing value, ties by lower index; NaNs are passed over. Returns how
 * many were written (min(k, n) unless NaNs). */
int vec_topk(const float *x, int n, int k, int absval, int *out);

#endif
