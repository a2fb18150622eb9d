/* pool.c - worker threads that spin briefly, then sleep on a condition variable. */
#include "config.h"
#include "pool.h"
#include "err.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <unistd.h>

#define POOL_MAX 64
#define SPIN_ITERS 20000 /* about 10-50 µs before sleeping */

typedef struct pool_job {
	void (*fn)(void *ctx, int64_t begin, int64_t end);
	void *ctx;
	int64_t n;
	int parts;
} pool_job;

static struct {
	pthread_mutex_t mu;
	pthread_cond_t wake, done_cv;
	atomic_uint_fast64_t gen;  /* bumped per job */
	atomic_int pending;        /* workers still running the job */
	pool_job job;
	int n_threads;             /* caller included */
	int started;
} P = {.mu = PTHREAD_MUTEX_INITIALIZER, .wake = PTHREAD_COND_INITIALIZER, .done_cv = PTHREAD_COND_INITIALIZER};

static pthread_mutex_t call_mu = PTHREAD_MUTEX_INITIALIZER; /* one job at a time */
static _Thread_local int inside; /* a pool_for from inside a job runs serially */

static void run_part(const pool_job *j, int part)
{
	int64_t b = j->n * part / j->parts, e = j->n * (part + 1) / j->parts;
	if (b < e)
		j->fn(j->ctx, b, e);
}

static void *worker(void *arg)
{
	int id = (int)(intptr_t)arg;
	uint64_t seen = 0;
	inside = 1;
	for (;;) {
		uint64_t g;
		int spins = 0;
		while ((g = atomic_load_explicit(&P.gen, memory_order_acquire)) == seen && spins < SPIN_ITERS)
			spins++;
		if (g == seen) {
			pthread_mutex_lock(&P.mu);
			while ((g = atomic_load(&P.gen)) == seen)
				pthread_cond_wait(&P.wake, &P.mu);
			pthread_mutex_unlock(&P.mu);
		}
		seen = g;
		pool_job j = P.job;
		if (id < j.parts)
			run_part(&j, id);
		if (atomic_fetch_sub(&P.pending, 1) == 1) {
			pthread_mutex_lock(&P.mu);
			pthread_cond_signal(&P.done_cv);
			pthread_mutex_unlock(&P.mu);
		}
	}
	return NULL;
}

static int clamp_threads(long n) { return n < 1 ? 1 : n > POOL_MAX ? POOL_MAX : (int)n; }

void pool_set_threads(int n)
{
	pthread_mutex_lock(&P.mu);
	if (!P.started) /* once workers exist the count is fixed */
		P.n_threads = clamp_threads(n);
	pthread_mutex_unlock(&P.mu);
}

/* The default count when none was set (pthread_once: threads may ask first
 * at the same time). */
static void default_threads(void)
{
	pthread_mutex_lock(&P.mu);
	if (!P.n_threads)
		P.n_threads = clamp_threads(sysconf(_SC_NPROCESSORS_ONLN));
	pthread_mutex_unlock(&P.mu);
}

int pool_threads(void)
{
	static pthread_once_t once = PTHREAD_ONCE_INIT;
	pthread_once(&once, default_threads);
	pthread_mutex_lock(&P.mu);
	int n = P.n_threads;
	pthread_mutex_unlock(&P.mu);
	return n;
}

/* Starts the workers, once (pthread_once, called with P.mu held). */
static void start(void)
{
	pthread_attr_t a;
	pthread_attr_init(&a);
	pthread_attr_setdetachstate(&a, PTHREAD_CREATE_DETACHED);
	for (int i = 1; i < P.n_threads; i++) {
		pthread_t t;
		if (pthread_create(&t, &a, worker, (void *)(intptr_t)i)) {
			P.n_threads = i; /* run with what we have */
			break;
		}
	}
	pthread_attr_destroy(&a);
	P.started = 1;
}

void pool_for(int64_t n, int64_t min_per_thread, void (*fn)(void *ctx, int64_t begin, int64_t end), void *ctx)
{
	int t = pool_threads();
	if (min_per_thread < 1)
		min_per_thread = 1;
	if (t == 1 || n < 2 * min_per_thread || inside) {
		if (n > 0)
			fn(ctx, 0, n);
		return;
	}
	pthread_mutex_lock(&call_mu);
	inside = 1;
	static pthread_once_t started = PTHREAD_ONCE_INIT;
	pthread_mutex_lock(&P.mu);
	pthread_once(&started, start);
	t = P.n_threads;
	P.job = (pool_job){fn, ctx, n, t};
	atomic_store(&P.pending, t - 1);
	atomic_fetch_add_explicit(&P.gen, 1, memory_order_release);
	pthread_cond_broadcast(&P.wake);
	pthread_mutex_unlock(&P.mu);
	run_part(&P.job, 0);
	int spins = 0;
	while (atomic_load_explicit(&P.pending, memory_order_acquire) > 0 && spins < SPIN_ITERS)
		spins++;
	if (atomic_load(&P.pending) > 0) {
		pthread_mutex_lock(&P.mu);
		while (atomic_load(&P.pending) > 0)
			pthread_cond_wait(&P.done_cv, &P.mu);
		pthread_mutex_unlock(&P.mu);
	}
	inside = 0;
	pthread_mutex_unlock(&call_mu);
}
