/* train_loop.c - batches from the token stream, the training loop, progress,
 * validation loss, checkpoints. */
#include "config.h"
#include "train.h"
#include "dtype.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* ---------------------------------------------------------------- data */

void train_data_free_index(train_data *d)
{
	free(d->starts);
	d->starts = NULL;
	d->n_starts = 0;
}

void train_data_index(train_data *d, int T)
{
	train_data_free_index(d);
	if (d->n < (int64_t)T + 1)
		return;
	int64_t last = d->n - T - 1; /* a window needs T+1 tokens */
	if (d->bos >= 0) {
		int64_t n = 0, cap = 1024;
		d->starts = rs_xmalloc(sizeof(int64_t) * (size_t)cap);
		for (int64_t i = 0; i <= last; i++) {
			if (d->ids[i] != d->bos)
				continue;
			if (n == cap)
				d->starts = rs_xrealloc(d->starts, sizeof(int64_t) * (size_t)(cap *= 2));
			d->starts[n++] = i;
		}
		d->n_starts = n;
		if (n)
			return;
		free(d->starts);
		d->starts = NULL;
	}
	d->n_starts = last + 1; /* no BOS: every offset */
}

static uint64_t mix64(uint64_t z)
{
	z += 0x9e3779b97f4a7c15ull;
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
	return z ^ (z >> 31);
}

static void window(const train_data *d, int64_t start, int T, int32_t *tokens, int32_t *targets)
{
	memcpy(tokens, d->ids + start, sizeof(int32_t) * (size_t)T);
	memcpy(targets, d->ids + start + 1, sizeof(int32_t) * (size_t)T);
}

static int64_t start_at(const train_data *d, int64_t i)
{
	return d->starts ? d->starts[i] : i;
}

/* BOS, a span of 8..64 random tokens, the span again and again to the end;
 * the first copy is not a target (nothing predicts it). */
static void drill(const train_data *d, uint64_t s, int T, int32_t *tokens, int32_t *targets)
{
	int32_t seq[T + 1];
	int lead = d->bos >= 0, len = 8 + (int)(mix64(s) % 57);
	uint32_t range = (uint32_t)(d->rep_hi - d->rep_lo);
	if (lead)
		seq[0] = d->bos;
	for (int i = 0; i < len && lead + i <= T; i++)
		seq[lead + i] = d->rep_lo + (int32_t)(mix64(s + 1 + (uint64_t)i) % range);
	for (int i = lead + len; i <= T; i++)
		seq[i] = seq[i - len];
	memcpy(tokens, seq, sizeof(int32_t) * (size_t)T);
	for (int t = 0; t < T; t++)
		targets[t] = t + 1 < lead + len ? -1 : seq[t + 1];
}

void train_data_batch(const train_data *d, uint64_t seed, int64_t step, int B, int T, int32_t *tokens,
		      int32_t *targets)
{
	uint64_t s = mix64(seed ^ mix64((uint64_t)step));
	for (int b = 0; b < B; b++) {
		s = mix64(s);
		if (d->rep_frac > 0 && d->rep_hi - d->rep_lo > 1 &&
		    (double)(mix64(s ^ 0xd1b54a32d192ed03ull) >> 11) / 9007199254740992.0 < d->rep_frac)
			drill(d, mix64(s ^ 0x8cb92ba72f3d8dd7ull) * 1000, T, tokens + (size_t)b * T,
			      targets + (size_t)b * T);
		else
			window(d, start_at(d, (int64_t)(s % (uint64_t)d->n_starts)), T, tokens + (size_t)b * T,
			       targets + (size_t)b * T);
	}
}

float train_eval_loss(train_model *m, train_acts *a, const train_data *d, int n_batches)
{
	int B = a->B, T = a->T;
	if (!d || d->n_starts <= 0 || n_batches <= 0)
		return NAN;
	int32_t *tok = rs_xmalloc(sizeof(int32_t) * (size_t)B * T * 2), *tgt = tok + (size_t)B * T;
	int64_t total = (int64_t)n_batches * B;
	double sum = 0;
	for (int i = 0; i < n_batches; i++) {
		/* evenly spaced windows: the same set every time */
		for (int b = 0; b < B; b++) {
			int64_t w = (int64_t)i * B + b;
			window(d, start_at(d, w * d->n_starts / total), T, tok + (size_t)b * T, tgt + (size_t)b * T);
		}
		sum += train_forward(m, a, tok, tgt);
	}
	free(tok);
	return (float)(sum / n_batches);
}

/* ---------------------------------------------------------------- the loop */

/* The first step of the decay of a warmup-stable-decay schedule. */
static int decay_start(const train_sched *s)
{
	return s->steps - (int)lround(s->decay_frac * s->steps);
}

static double now(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + ts.tv_nsec * 1e-9;
}

static void fmt_dur(char *buf, size_t n, double s)
{
	if (!(s >= 0) || s > 1e7)
		snprintf(buf, n, "?");
	else if (s >= 3600)
		snprintf(buf, n, "%dh%02dm", (int)(s / 3600), (int)fmod(s / 60, 60));
	else
		snprintf(buf, n, "%dm%02ds", (int)(s / 60), (int)fmod(s, 60));
}

static int save(train_model *m, const train_run_opts *o, rs_err *err)
{
	if (o->ckpt_path && train_ckpt_save(m, &o->st, o->ckpt_path, err))
		return -1;
	if (o->out_path && train_export_gguf(m, o->tok, o->name, o->out_type, o->out_path, err))
		return -1;
	return 0;
}

int train_run(train_model *m, train_run_opts *o, const train_data *train, const train_data *val, rs_err *err)
{
	train_state *st = &o->st;
	int B = st->batch, T = o->T;
	if (train->n_starts <= 0)
		return rs_fail(err, "training data: fewer than %d tokens", T + 1);
	if (T > m->cfg.max_ctx)
		return rs_fail(err, "training windows of %d tokens exceed the context %d", T, m->cfg.max_ctx);
	train_acts *a = train_acts_create(&m->cfg, B, T);
	int32_t *tok = rs_xmalloc(sizeof(int32_t) * (size_t)B * T * 2), *tgt = tok + (size_t)B * T;
	int log_every = o->log_every > 0 ? o->log_every : 10;
	double t_start = now(), t_last = t_start, sec0 = st->seconds, loss_sum = 0;
	int n_loss = 0, steps_since = 0, rc = 0, step0 = st->step;

	fprintf(stderr, "training %lld parameters: %d layers, d %d, %d heads (%d kv), ff %d, vocab %d; "
		"batch %d x %d tokens, %d threads; steps %d..%d\n",
		(long long)m->n_params, m->cfg.n_layers, m->cfg.d_model, m->cfg.n_heads, m->cfg.n_kv_heads,
		m->cfg.d_ff, m->cfg.vocab, B, T, train_threads(), st->step, st->total_steps);
	while (st->step < st->total_steps && !(o->stop_at > 0 && st->step >= o->stop_at)) {
		int step = st->step;
		train_data_batch(train, st->seed, step, B, T, tok, tgt);
		train_zero_grads(m);
		float loss = train_forward(m, a, tok, tgt);
		train_backward(m, a, tok, tgt);
		double norm = train_grad_norm(m);
		float scale = st->clip > 0 && norm > st->clip ? (float)(st->clip / norm) : 1.0f;
		float lr = train_lr(&st->sched, step);
		if (!isfinite(loss) || !isfinite(norm)) {
			rc = rs_fail(err, "step %d: the loss or the gradient is not finite (loss %g, norm %g)", step,
				     loss, norm);
			break;
		}
		adamw_step(m, &st->adamw, lr, step + 1, scale);
		st->step = step + 1;
		st->tokens_seen += (double)B * T;
		st->seconds = sec0 + (now() - t_start);
		loss_sum += loss;
		n_loss++;
		steps_since++;
		if (o->time_budget > 0 && st->sched.decay_frac > 0) {
			/* stable phase: aim the end at the budget from the speed so far
			 * (this run's steps only); frozen once the decay has begun. The
			 * decay never starts before the next step, so the same --steps
			 * without a budget repeats the run exactly. */
			int done = st->step - step0;
			if (st->step < decay_start(&st->sched) && done >= 20) {
				double per = (now() - t_start) / done;
				int total = st->step + (int)((o->time_budget - (st->seconds - sec0)) / per);
				if (total < st->step + 1)
					total = st->step + 1;
				st->sched.steps = total;
				while (decay_start(&st->sched) < st->step)
					st->sched.steps++;
				st->total_steps = st->sched.steps;
			}
		}
		if (st->step % log_every == 0 || st->step == st->total_steps) {
			double t = now(), tps = steps_since * (double)B * T / (t - t_last);
			char eta[32], el[32];
			fmt_dur(eta, sizeof eta, (st->total_steps - st->step) * (double)B * T / tps);
			fmt_dur(el, sizeof el, st->seconds);
			fprintf(stderr, "step %6d/%d | loss %.4f | lr %.3e | norm %6.3f | %6.0f tok/s | %s elapsed | ETA %s\n",
				st->step, st->total_steps, loss_sum / n_loss, lr, norm, tps, el, eta);
			t_last = t;
			steps_since = 0;
			loss_sum = 0;
			n_loss = 0;
		}
		int last = st->step == st->total_steps || st->step == o->stop_at;
		if (val && ((o->eval_every > 0 && st->step % o->eval_every == 0) || last)) {
			double t = now();
			float vl = train_eval_loss(m, a, val, o->eval_batches > 0 ? o->eval_batches : 8);
			fprintf(stderr, "step %6d/%d | val loss %.4f (%.1fs)\n", st->step, st->total_steps, vl,
				now() - t);
			t_last += now() - t; /* keep evaluation out of tokens/s */
		}
		if ((o->ckpt_every > 0 && st->step % o->ckpt_every == 0) || last) {
			double t = now();
			if ((rc = save(m, o, err)))
				break;
			t_last += now() - t;
		}
	}
	/* Nothing left to run (resumed at --stop-at or at the end): write the
	 * model as it is, so that --resume CKPT --stop-at STEP exports a
	 * checkpoint to GGUF instead of reporting a file it never wrote. */
	if (!rc && st->step == step0)
		rc = save(m, o, err);
	fflush(stderr);
	free(tok);
	train_acts_free(a);
	return rc;
}
