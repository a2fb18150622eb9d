/* train_adamw.c - AdamW with decoupled weight decay, the learning-rate schedule,
 * and the global gradient norm for clipping. */
#include "config.h"
#include "train.h"

#include <math.h>

float train_lr(const train_sched *s, int step)
{
	if (step < s->warmup)
		return s->lr * (float)(step + 1) / (float)s->warmup;
	if (s->decay_frac > 0) {
		int decay = (int)lround(s->decay_frac * s->steps), start = s->steps - decay;
		if (step < start || decay <= 0)
			return s->lr;
		double f = (double)(step - start + 1) / decay;
		return (float)(s->lr + (s->min_lr - s->lr) * (f > 1 ? 1 : f));
	}
	int decay_steps = s->steps - s->warmup;
	if (decay_steps <= 0)
		return s->lr;
	double progress = (double)(step - s->warmup) / decay_steps;
	if (progress > 1)
		progress = 1;
	return (float)(s->min_lr + 0.5 * (s->lr - s->min_lr) * (1.0 + cos(M_PI * progress)));
}

double train_grad_norm(const train_model *m)
{
	/* one thread, in order: a parallel reduction would add in an order that
	 * changes from run to run */
	double ss = 0;
	for (int64_t i = 0; i < m->n_params; i++)
		ss += (double)m->grads[i] * m->grads[i];
	return sqrt(ss);
}

typedef struct adamw_job {
	float *p, *mm, *vv;
	const float *g;
	const adamw_opts *o;
	int64_t n;
	float lr, decay, bc1, bc2, grad_scale;
} adamw_job;

static void adamw_part(void *ctx, int id, int nt)
{
	const adamw_job *a = ctx;
	const adamw_opts *o = a->o;
	float *p = a->p, *mm = a->mm, *vv = a->vv;
	for (int64_t j = a->n * id / nt; j < a->n * (id + 1) / nt; j++) {
		float gj = a->g[j] * a->grad_scale;
		mm[j] = o->beta1 * mm[j] + (1.0f - o->beta1) * gj;
		vv[j] = o->beta2 * vv[j] + (1.0f - o->beta2) * gj * gj;
		float mhat = mm[j] / a->bc1, vhat = vv[j] / a->bc2;
		p[j] -= a->lr * mhat / (sqrtf(vhat) + o->eps) + a->decay * p[j];
	}
}

void adamw_step(train_model *m, const adamw_opts *o, float lr, int t, float grad_scale)
{
	float bc1 = 1.0f - powf(o->beta1, (float)t), bc2 = 1.0f - powf(o->beta2, (float)t);
	int64_t off = 0;
	for (int i = 0; i < TRAIN_N_TENSORS; i++) {
		const train_tensor *ti = &m->tensors[i];
		/* decoupled: the decay shrinks the weights directly, not through the
		 * moments; norms keep their scale */
		adamw_job a = {m->params + off, m->adam_m + off, m->adam_v + off, m->grads + off, o, ti->numel, lr,
			       ti->decay ? lr * o->wd : 0.0f, bc1, bc2, grad_scale};
		train_parallel(adamw_part, &a);
		off += ti->numel;
	}
}
