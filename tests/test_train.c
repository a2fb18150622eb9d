/* test_train.c - the trainer: finite-difference gradient checks of every layer
 * type and of a whole small model, AdamW on a hand-computed case, the
 * schedule, determinism, checkpoint resume, and the export round trip
 * (training forward == engine forward on the exported GGUF). */
#include "config.h"
#include "tap.h"
#include "dtype.h"
#include "engine.h"
#include "model.h"
#include "ops.h"
#include "train.h"

#include <math.h>
#include <stdint.h>
#include <unistd.h>

/* ---------------------------------------------------------------- helpers */

static uint64_t rng_state = 12345;

static double urand(void)
{
	uint64_t z = (rng_state += 0x9e3779b97f4a7c15ull);
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
	z ^= z >> 31;
	return ((double)(z >> 11) + 0.5) / 9007199254740992.0;
}

static double nrand(void)
{
	return sqrt(-2 * log(urand())) * cos(2 * M_PI * urand());
}

static float *randv(int64_t n, double std)
{
	float *x = rs_xmalloc(sizeof(float) * (size_t)n);
	for (int64_t i = 0; i < n; i++)
		x[i] = (float)(nrand() * std);
	return x;
}

static float *zerov(int64_t n) { return rs_xcalloc((size_t)n, sizeof(float)); }

static double dotv(const float *a, const float *b, int64_t n)
{
	double s = 0;
	for (int64_t i = 0; i < n; i++)
		s += (double)a[i] * b[i];
	return s;
}

/* A differentiable function of some input arrays: objective() runs the forward
 * and returns a scalar; the analytic gradients are in grad[]. */
typedef struct gcase {
	int n_in;
	float *in[6];
	float *grad[6];
	int64_t n[6];
	const char *names[6];
	void *ctx;
	double (*objective)(struct gcase *);
	/* Optional: the same objective computed in double from the float inputs.
	 * With it the numeric side of a check has no float rounding, so the check
	 * means the same on every CPU: what is left is the analytic (float)
	 * gradient's rounding and the central difference's truncation, and
	 * exact_check_tol bounds both. */
	double (*objective_ref)(struct gcase *);
	int acc_depth; /* the most float terms summed into one gradient entry */
} gcase;

/* The tolerance of a check whose numeric side is exact (objective_ref):
 * - truncation: the central difference with step h is off by h^2 f'''/6 + O(h^4),
 *   the one with step 2h by four times that, so |fd(2h) - fd(h)|/3 estimates
 *   it (Richardson); twice that estimate is allowed;
 * - the analytic gradient's float rounding: a sum of acc_depth float terms is
 *   within gamma(acc_depth) = acc_depth*u/(1 - acc_depth*u) of exact, relative
 *   to the sum of its terms' magnitudes (Higham, section 3.1); the caller
 *   passes that magnitude, bounded from the gradients themselves.
 * Nothing here depends on the CPU: the same inputs give the same bound. */
static double exact_check_tol(const gcase *gc, double fd_h, double fd_2h, double magnitude)
{
	const double u = 0x1p-24, k = gc->acc_depth > 0 ? gc->acc_depth : 1;
	return 2 * fabs(fd_2h - fd_h) / 3 + k * u / (1 - k * u) * magnitude;
}

/* Central difference of objective_ref along u (n entries from input i's entry
 * at), step h: x +- h*u, rounded to float as the inputs are; the actual steps
 * taken are used. */
static double central_diff_ref(gcase *gc, int i, int64_t at, int64_t n, const float *u, double h)
{
	float *x = gc->in[i] + at, *orig = rs_xmalloc(sizeof(float) * (size_t)n);
	memcpy(orig, x, sizeof(float) * (size_t)n);
	for (int64_t j = 0; j < n; j++)
		x[j] = orig[j] + (float)h * u[j];
	double fp = gc->objective_ref(gc);
	for (int64_t j = 0; j < n; j++)
		x[j] = orig[j] - (float)h * u[j];
	double fm = gc->objective_ref(gc);
	memcpy(x, orig, sizeof(float) * (size_t)n);
	free(orig);
	return (fp - fm) / (2 * h);
}

/* Central difference along a random direction of each input, against g·u. */
static void check_directional(const char *what, gcase *gc, double h, double tol, double floor)
{
	for (int i = 0; i < gc->n_in; i++) {
		int64_t n = gc->n[i];
		float *u = randv(n, 1.0);
		if (gc->objective_ref) {
			double fd = central_diff_ref(gc, i, 0, n, u, h), fd2 = central_diff_ref(gc, i, 0, n, u, 2 * h);
			double an = dotv(gc->grad[i], u, n), mag = 0;
			for (int64_t j = 0; j < n; j++)
				mag += fabs(u[j]);
			/* g.u's float part is the entries' own rounding, each within gamma(k)
			 * of its terms' magnitudes; that magnitude is taken as the largest
			 * entry (the single-entry checks below allow k times it) */
			double t = exact_check_tol(gc, fd, fd2, mag * tap_max_abs(gc->grad[i], (size_t)n));
			tap_ok(fabs(fd - an) <= t,
			       "%s: d/d%s along a random direction: analytic %.6g, numeric in double %.6g (diff %.1e, bound %.1e)",
			       what, gc->names[i], an, fd, fabs(fd - an), t);
			free(u);
			continue;
		}
		float *orig = rs_xmalloc(sizeof(float) * (size_t)n);
		memcpy(orig, gc->in[i], sizeof(float) * (size_t)n);
		for (int64_t j = 0; j < n; j++)
			gc->in[i][j] = orig[j] + (float)h * u[j];
		double fp = gc->objective(gc);
		for (int64_t j = 0; j < n; j++)
			gc->in[i][j] = orig[j] - (float)h * u[j];
		double fm = gc->objective(gc);
		memcpy(gc->in[i], orig, sizeof(float) * (size_t)n);
		double fd = (fp - fm) / (2 * h), an = dotv(gc->grad[i], u, n);
		double den = fabs(fd) > fabs(an) ? fabs(fd) : fabs(an);
		double e = fabs(fd - an) / (den > floor ? den : floor);
		tap_ok(e < tol, "%s: d/d%s along a random direction: analytic %.6g, numeric %.6g (rel err %.2e)", what,
		       gc->names[i], an, fd, e);
		free(orig);
		free(u);
	}
}

/* Central differences of single entries (the largest gradients of each input). */
static void check_entries(const char *what, gcase *gc, double h, double tol, int per_input)
{
	for (int i = 0; i < gc->n_in; i++) {
		double worst = 0, worst_diff = 0, worst_bound = 0;
		int64_t n = gc->n[i];
		double gmax = tap_max_abs(gc->grad[i], (size_t)n);
		for (int k = 0; k < per_input; k++) {
			int64_t j = (int64_t)(urand() * n);
			if (k == 0) /* and always the largest one */
				for (int64_t t = 0; t < n; t++)
					if (fabsf(gc->grad[i][t]) > fabsf(gc->grad[i][j]))
						j = t;
			if (gc->objective_ref) {
				const float one = 1;
				double fd = central_diff_ref(gc, i, j, 1, &one, h), fd2 = central_diff_ref(gc, i, j, 1, &one, 2 * h);
				/* entry j's float sum: at most acc_depth terms, each no larger than
				 * the largest gradient entry of this input */
				double d = fabs(fd - gc->grad[i][j]), t = exact_check_tol(gc, fd, fd2, gmax * gc->acc_depth);
				if (d / t >= worst)
					worst = d / t, worst_diff = d, worst_bound = t;
				continue;
			}
			float o = gc->in[i][j];
			gc->in[i][j] = o + (float)h;
			double hp = (double)gc->in[i][j] - o, fp = gc->objective(gc);
			gc->in[i][j] = o - (float)h;
			double hm = o - (double)gc->in[i][j], fm = gc->objective(gc);
			gc->in[i][j] = o;
			double fd = (fp - fm) / (hp + hm), an = gc->grad[i][j];
			double e = fabs(fd - an) / (fabs(fd) + fabs(an) + 1e-3);
			worst = e > worst ? e : worst;
		}
		if (gc->objective_ref)
			tap_ok(worst <= 1, "%s: %d single entries of d/d%s, numeric in double (worst diff %.1e, bound %.1e)",
			       what, per_input, gc->names[i], worst_diff, worst_bound);
		else
			tap_ok(worst < tol, "%s: %d single entries of d/d%s (worst rel err %.2e)", what, per_input,
			       gc->names[i], worst);
	}
}

/* ---------------------------------------------------------------- layer checks */

typedef struct layer_ctx {
	int n, in, out, d, B, T, H, Hkv, hd, V;
	float *r;      /* random projection of the output */
	float *y;      /* output buffer */
	float *extra;  /* scratch */
	const float *inv_freq;
	const int32_t *targets;
} layer_ctx;

static double obj_linear(gcase *gc)
{
	layer_ctx *c = gc->ctx;
	train_linear_fwd(c->y, gc->in[0], gc->in[1], c->n, c->in, c->out);
	return dotv(c->y, c->r, (int64_t)c->n * c->out);
}

static double obj_linear_ref(gcase *gc)
{
	layer_ctx *c = gc->ctx;
	double s = 0;
	for (int t = 0; t < c->n; t++)
		for (int o = 0; o < c->out; o++)
			s += dotv(gc->in[0] + t * c->in, gc->in[1] + o * c->in, c->in) * c->r[t * c->out + o];
	return s;
}

static void test_linear(void)
{
	layer_ctx c = {.n = 13, .in = 11, .out = 7};
	/* dW sums over the 13 rows, dx over the 7 outputs */
	gcase gc = {.n_in = 2, .ctx = &c, .objective = obj_linear, .objective_ref = obj_linear_ref, .acc_depth = 13,
		    .names = {"x", "W"}};
	gc.n[0] = c.n * c.in, gc.n[1] = c.out * c.in;
	gc.in[0] = randv(gc.n[0], 1), gc.in[1] = randv(gc.n[1], 0.5);
	gc.grad[0] = zerov(gc.n[0]), gc.grad[1] = zerov(gc.n[1]);
	c.r = randv(c.n * c.out, 1), c.y = zerov(c.n * c.out);
	train_linear_bwd(gc.grad[0], gc.grad[1], c.r, gc.in[0], gc.in[1], c.n, c.in, c.out, 0);
	check_directional("linear", &gc, 1e-2, 1e-3, 1e-6);
	check_entries("linear", &gc, 1e-2, 1e-3, 8);
	for (int i = 0; i < 2; i++)
		free(gc.in[i]), free(gc.grad[i]);
	free(c.r), free(c.y);
}

static double obj_rmsnorm(gcase *gc)
{
	layer_ctx *c = gc->ctx;
	train_rmsnorm_fwd(c->y, c->extra, gc->in[0], gc->in[1], c->n, c->d, 1e-5f);
	return dotv(c->y, c->r, (int64_t)c->n * c->d);
}

static double obj_rmsnorm_ref(gcase *gc)
{
	layer_ctx *c = gc->ctx;
	double s = 0;
	for (int t = 0; t < c->n; t++) {
		const float *x = gc->in[0] + t * c->d;
		double inv = 1 / sqrt(dotv(x, x, c->d) / c->d + (double)1e-5f);
		for (int i = 0; i < c->d; i++)
			s += x[i] * inv * gc->in[1][i] * c->r[t * c->d + i];
	}
	return s;
}

static void test_rmsnorm(void)
{
	layer_ctx c = {.n = 9, .d = 24};
	/* dx: the direct term plus a sum over the row's 24 entries; dw: over 9 rows */
	gcase gc = {.n_in = 2, .ctx = &c, .objective = obj_rmsnorm, .objective_ref = obj_rmsnorm_ref, .acc_depth = 2 * 24,
		    .names = {"x", "w"}};
	gc.n[0] = c.n * c.d, gc.n[1] = c.d;
	gc.in[0] = randv(gc.n[0], 1), gc.in[1] = randv(gc.n[1], 0.3);
	for (int i = 0; i < c.d; i++)
		gc.in[1][i] += 1.0f;
	gc.grad[0] = zerov(gc.n[0]), gc.grad[1] = zerov(gc.n[1]);
	c.r = randv(gc.n[0], 1), c.y = zerov(gc.n[0]), c.extra = zerov(c.n);
	obj_rmsnorm(&gc);
	train_rmsnorm_bwd(gc.grad[0], gc.grad[1], c.r, gc.in[0], c.extra, gc.in[1], c.n, c.d);
	check_directional("rmsnorm", &gc, 1e-2, 2e-3, 1e-6);
	check_entries("rmsnorm", &gc, 1e-2, 2e-3, 8);
	for (int i = 0; i < 2; i++)
		free(gc.in[i]), free(gc.grad[i]);
	free(c.r), free(c.y), free(c.extra);
}

static double obj_rope(gcase *gc)
{
	layer_ctx *c = gc->ctx;
	int64_t n = (int64_t)c->B * c->T * c->H * c->hd;
	memcpy(c->y, gc->in[0], sizeof(float) * (size_t)n);
	train_rope_fwd(c->y, c->B, c->T, c->H, c->hd, c->inv_freq);
	return dotv(c->y, c->r, n);
}

static void test_rope(void)
{
	layer_ctx c = {.B = 2, .T = 7, .H = 3, .hd = 8};
	rs_config cfg = train_config_make(1, c.H * c.hd, c.H, c.H, 8, 8, 16);
	float inv_freq[4];
	config_rope_inv_freq(&cfg, inv_freq);
	c.inv_freq = inv_freq;
	int64_t n = (int64_t)c.B * c.T * c.H * c.hd;
	gcase gc = {.n_in = 1, .ctx = &c, .objective = obj_rope, .names = {"x"}};
	gc.n[0] = n, gc.in[0] = randv(n, 1), gc.grad[0] = zerov(n);
	c.r = randv(n, 1), c.y = zerov(n);
	memcpy(gc.grad[0], c.r, sizeof(float) * (size_t)n);
	train_rope_bwd(gc.grad[0], c.B, c.T, c.H, c.hd, inv_freq);
	check_directional("rope", &gc, 1e-2, 1e-3, 1e-6);
	check_entries("rope", &gc, 1e-2, 1e-3, 8);
	/* the core's op_rope is the forward: position t of row b rotates like
	 * position t of a lone sequence */
	float *a = randv(c.T * c.H * c.hd, 1), *b2 = zerov(2 * c.T * c.H * c.hd);
	memcpy(b2 + c.T * c.H * c.hd, a, sizeof(float) * (size_t)(c.T * c.H * c.hd));
	train_rope_fwd(b2, 2, c.T, c.H, c.hd, inv_freq);
	op_rope(a, c.T, c.H, c.hd, inv_freq, 0);
	tap_ok(!memcmp(a, b2 + c.T * c.H * c.hd, sizeof(float) * (size_t)(c.T * c.H * c.hd)),
	       "rope: each batch row starts at position 0, as op_rope");
	free(a), free(b2), free(gc.in[0]), free(gc.grad[0]), free(c.r), free(c.y);
}

static double obj_attention(gcase *gc)
{
	layer_ctx *c = gc->ctx;
	train_attention_fwd(c->y, c->extra, gc->in[0], gc->in[1], gc->in[2], c->B, c->T, c->H, c->Hkv, c->hd);
	return dotv(c->y, c->r, (int64_t)c->B * c->T * c->H * c->hd);
}

/* The same attention written plainly, in double: the reference forward. */
static void attention_ref(double *z, const float *q, const float *k, const float *v, int B, int T, int H, int Hkv,
			  int hd)
{
	int rep = H / Hkv;
	for (int b = 0; b < B; b++)
		for (int h = 0; h < H; h++)
			for (int i = 0; i < T; i++) {
				double s[256], mx = -1e300, sum = 0;
				for (int j = 0; j <= i; j++) {
					s[j] = 0;
					for (int e = 0; e < hd; e++)
						s[j] += (double)q[((size_t)b * T + i) * H * hd + h * hd + e] *
							k[((size_t)b * T + j) * Hkv * hd + (h / rep) * hd + e];
					s[j] /= sqrt(hd);
					mx = s[j] > mx ? s[j] : mx;
				}
				for (int j = 0; j <= i; j++)
					sum += (s[j] = exp(s[j] - mx));
				for (int e = 0; e < hd; e++) {
					double acc = 0;
					for (int j = 0; j <= i; j++)
						acc += s[j] / sum * v[((size_t)b * T + j) * Hkv * hd + (h / rep) * hd + e];
					z[((size_t)b * T + i) * H * hd + h * hd + e] = acc;
				}
			}
}

/* The attention objective in double: the plain reference forward, dotted with r. */
static double obj_attention_ref(gcase *gc)
{
	layer_ctx *c = gc->ctx;
	int64_t nq = (int64_t)c->B * c->T * c->H * c->hd;
	double *z = rs_xmalloc(sizeof(double) * (size_t)nq), s = 0;
	attention_ref(z, gc->in[0], gc->in[1], gc->in[2], c->B, c->T, c->H, c->Hkv, c->hd);
	for (int64_t i = 0; i < nq; i++)
		s += z[i] * c->r[i];
	free(z);
	return s;
}

static void test_attention(int H, int Hkv, int B, int T)
{
	char what[64];
	snprintf(what, sizeof what, "attention H=%d Hkv=%d T=%d", H, Hkv, T);
	layer_ctx c = {.B = B, .T = T, .H = H, .Hkv = Hkv, .hd = 4};
	int64_t nq = (int64_t)c.B * c.T * H * c.hd, nkv = (int64_t)c.B * c.T * Hkv * c.hd;
	/* the longest float sum behind one gradient entry: a key's gradient adds
	 * over the H/Hkv query heads sharing it and the T queries after it, each
	 * term a head_dim dot product */
	gcase gc = {.n_in = 3, .ctx = &c, .objective = obj_attention, .objective_ref = obj_attention_ref,
		    .acc_depth = (H / Hkv) * T + c.hd, .names = {"q", "k", "v"}};
	gc.n[0] = nq, gc.n[1] = gc.n[2] = nkv;
	for (int i = 0; i < 3; i++)
		gc.in[i] = randv(gc.n[i], 1), gc.grad[i] = zerov(gc.n[i]);
	c.r = randv(nq, 1), c.y = zerov(nq), c.extra = zerov((int64_t)c.B * H * c.T * c.T);
	obj_attention(&gc);
	/* forward against the plain reference */
	double *zr = rs_xmalloc(sizeof(double) * (size_t)nq);
	attention_ref(zr, gc.in[0], gc.in[1], gc.in[2], c.B, c.T, H, Hkv, c.hd);
	double md = 0;
	for (int64_t i = 0; i < nq; i++)
		md = fabs(zr[i] - c.y[i]) > md ? fabs(zr[i] - c.y[i]) : md;
	tap_ok(md < 1e-5, "%s: forward matches a plain double-precision reference (max diff %.2e)", what, md);
	free(zr);
	/* causal: the last position's k and v do not reach earlier outputs */
	float *z0 = rs_xmalloc(sizeof(float) * (size_t)nq);
	memcpy(z0, c.y, sizeof(float) * (size_t)nq);
	for (int b = 0; b < c.B; b++)
		for (int e = 0; e < Hkv * c.hd; e++) {
			gc.in[1][((size_t)b * c.T + c.T - 1) * Hkv * c.hd + e] += 3.0f;
			gc.in[2][((size_t)b * c.T + c.T - 1) * Hkv * c.hd + e] -= 2.0f;
		}
	obj_attention(&gc);
	int same = 1, changed = 0;
	for (int b = 0; b < c.B; b++)
		for (int t = 0; t < c.T; t++)
			for (int e = 0; e < H * c.hd; e++) {
				size_t o = ((size_t)b * c.T + t) * H * c.hd + e;
				if (t < c.T - 1)
					same &= z0[o] == c.y[o];
				else
					changed |= z0[o] != c.y[o];
			}
	tap_ok(same && changed, "%s: causal mask (a change at the last key moves only the last query)", what);
	free(z0);
	float *scratch = zerov((int64_t)train_threads() * c.T * c.T);
	obj_attention(&gc);
	float *dz = rs_xmalloc(sizeof(float) * (size_t)nq);
	memcpy(dz, c.r, sizeof(float) * (size_t)nq);
	/* dq written over dz, as the backward pass does */
	train_attention_bwd(dz, gc.grad[1], gc.grad[2], scratch, dz, c.extra, gc.in[0], gc.in[1], gc.in[2], c.B,
			    c.T, H, Hkv, c.hd);
	memcpy(gc.grad[0], dz, sizeof(float) * (size_t)nq);
	/* the long sequence's loss curves more along a direction over all keys */
	check_directional(what, &gc, T > 64 ? 4e-3 : 1e-2, 2e-3, 1e-6);
	check_entries(what, &gc, 1e-2, 5e-3, 8);
	for (int i = 0; i < 3; i++)
		free(gc.in[i]), free(gc.grad[i]);
	free(dz), free(scratch), free(c.r), free(c.y), free(c.extra);
}

static double obj_swiglu(gcase *gc)
{
	layer_ctx *c = gc->ctx;
	train_swiglu_fwd(c->y, gc->in[0], gc->in[1], c->n);
	return dotv(c->y, c->r, c->n);
}

static double obj_swiglu_ref(gcase *gc)
{
	layer_ctx *c = gc->ctx;
	double s = 0;
	for (int64_t i = 0; i < c->n; i++) {
		double g = gc->in[0][i];
		s += g / (1 + exp(-g)) * gc->in[1][i] * c->r[i];
	}
	return s;
}

static void test_swiglu(void)
{
	layer_ctx c = {.n = 3000}; /* more than one block of the parallel split */
	/* elementwise: a few roundings per entry (the exp, the quotient, two products) */
	gcase gc = {.n_in = 2, .ctx = &c, .objective = obj_swiglu, .objective_ref = obj_swiglu_ref, .acc_depth = 6,
		    .names = {"gate", "up"}};
	gc.n[0] = gc.n[1] = c.n;
	for (int i = 0; i < 2; i++)
		gc.in[i] = randv(c.n, 2), gc.grad[i] = zerov(c.n);
	c.r = randv(c.n, 1), c.y = zerov(c.n);
	train_swiglu_bwd(gc.grad[0], gc.grad[1], c.r, gc.in[0], gc.in[1], c.n);
	check_directional("swiglu", &gc, 1e-2, 1e-3, 1e-6);
	check_entries("swiglu", &gc, 1e-2, 1e-3, 8);
	for (int i = 0; i < 2; i++)
		free(gc.in[i]), free(gc.grad[i]);
	free(c.r), free(c.y);
}

/* logits = x Eᵀ, mean cross-entropy over the counted targets */
static double obj_xent(gcase *gc)
{
	layer_ctx *c = gc->ctx;
	float *lse = c->extra, *losses = c->extra + c->n;
	train_linear_fwd(c->y, gc->in[0], gc->in[1], c->n, c->d, c->V);
	int cnt = train_xent_fwd(losses, lse, c->y, c->targets, c->n, c->V);
	double s = 0;
	for (int t = 0; t < c->n; t++)
		s += losses[t];
	return s / cnt;
}

static void test_xent(void)
{
	layer_ctx c = {.n = 10, .d = 12, .V = 17};
	int32_t targets[10];
	for (int t = 0; t < c.n; t++)
		targets[t] = t == 3 ? -1 : (int32_t)(urand() * c.V);
	c.targets = targets;
	gcase gc = {.n_in = 2, .ctx = &c, .objective = obj_xent, .names = {"x", "E (unembedding)"}};
	gc.n[0] = c.n * c.d, gc.n[1] = c.V * c.d;
	gc.in[0] = randv(gc.n[0], 1), gc.in[1] = randv(gc.n[1], 0.5);
	gc.grad[0] = zerov(gc.n[0]), gc.grad[1] = zerov(gc.n[1]);
	c.y = zerov(c.n * c.V), c.extra = zerov(2 * c.n);
	double loss = obj_xent(&gc);
	/* the loss by hand, in double */
	double ref = 0;
	for (int t = 0; t < c.n; t++) {
		if (targets[t] < 0)
			continue;
		double mx = -1e300, s = 0, zt = 0;
		for (int j = 0; j < c.V; j++) {
			double z = dotv(gc.in[0] + t * c.d, gc.in[1] + j * c.d, c.d);
			mx = z > mx ? z : mx;
		}
		for (int j = 0; j < c.V; j++) {
			double z = dotv(gc.in[0] + t * c.d, gc.in[1] + j * c.d, c.d);
			s += exp(z - mx);
			if (j == targets[t])
				zt = z;
		}
		ref += mx + log(s) - zt;
	}
	ref /= c.n - 1;
	tap_ok(fabs(ref - loss) < 1e-5, "xent: mean loss %.6f, by hand %.6f (the ignored target left out)", loss, ref);
	train_xent_bwd(c.y, c.extra, targets, c.n, c.V, 1.0f / (c.n - 1));
	train_linear_bwd(gc.grad[0], gc.grad[1], c.y, gc.in[0], gc.in[1], c.n, c.d, c.V, 0);
	check_directional("xent+unembedding", &gc, 1e-2, 1e-3, 1e-6);
	check_entries("xent+unembedding", &gc, 1e-2, 2e-3, 8);
	for (int i = 0; i < 2; i++)
		free(gc.in[i]), free(gc.grad[i]);
	free(c.y), free(c.extra);
}

/* ---------------------------------------------------------------- whole model */

static void tiny_tokens(int32_t *tok, int32_t *tgt, int n, int V)
{
	for (int i = 0; i < n; i++) {
		tok[i] = (int32_t)(urand() * V);
		tgt[i] = (int32_t)(urand() * V);
	}
}

/* Larger weights than the training init, so that attention and the norms
 * are far from uniform and every path carries gradient. */
static train_model *tiny_model(const rs_config *c, uint64_t seed)
{
	train_model *m = train_model_create(c);
	train_model_init(m, seed);
	for (int i = 0; i < TRAIN_N_TENSORS; i++) {
		float *p = train_tensor_data(m, i, 0);
		for (int64_t j = 0; j < m->tensors[i].numel; j++)
			p[j] = m->tensors[i].decay ? p[j] * 12.0f : 1.0f + (float)(nrand() * 0.2);
	}
	return m;
}

typedef struct model_ctx {
	train_model *m;
	train_acts *a;
	int32_t *tok, *tgt;
} model_ctx;

static double obj_model(gcase *gc)
{
	model_ctx *c = gc->ctx;
	train_forward(c->m, c->a, c->tok, c->tgt);
	double s = 0;
	for (int t = 0; t < c->a->N; t++)
		s += c->a->losses[t];
	return s / c->a->n_targets;
}

static void test_model_grad(void)
{
	rs_config cfg = train_config_make(2, 16, 4, 2, 24, 32, 16);
	train_model *m = tiny_model(&cfg, 7);
	int B = 2, T = 8;
	train_acts *a = train_acts_create(&cfg, B, T);
	int32_t tok[16], tgt[16];
	tiny_tokens(tok, tgt, B * T, cfg.vocab);
	tgt[5] = -1;
	model_ctx mc = {m, a, tok, tgt};
	float loss = train_forward(m, a, tok, tgt);
	train_zero_grads(m);
	train_backward(m, a, tok, tgt);
	tap_ok(isfinite(loss) && loss > 0, "model: loss %.4f (uniform would be %.4f)", loss, log(cfg.vocab));
	gcase gc = {.n_in = 6, .ctx = &mc, .objective = obj_model};
	/* six inputs a case; two cases cover the eleven tensors */
	for (int part = 0; part < 2; part++) {
		int n = 0;
		for (int i = part * 6; i < TRAIN_N_TENSORS && i < part * 6 + 6; i++, n++) {
			gc.in[n] = train_tensor_data(m, i, 0);
			gc.grad[n] = train_tensor_data(m, i, 1);
			gc.n[n] = m->tensors[i].numel;
			gc.names[n] = m->tensors[i].name;
		}
		gc.n_in = n;
		/* small steps: the loss is far from linear at this weight scale; the
		 * floor is about the f32 rounding of the loss over 2h */
		check_directional("model (2 layers, d 16, GQA 4/2)", &gc, 1e-3, 5e-3, 2e-2);
		check_entries("model (2 layers, d 16, GQA 4/2)", &gc, 1e-2, 2e-2, 6);
	}
	train_acts_free(a);
	train_model_free(m);
}

/* ---------------------------------------------------------------- AdamW and schedule */

static void test_adamw(void)
{
	rs_config cfg = train_config_make(1, 4, 1, 1, 4, 4, 4);
	train_model *m = train_model_create(&cfg);
	for (int64_t i = 0; i < m->n_params; i++)
		m->params[i] = 1.0f, m->grads[i] = 0.5f;
	adamw_opts o = {0.9f, 0.999f, 1e-8f, 0.1f};
	/* step 1: m = 0.05, v = 0.00025, m̂ = 0.5, v̂ = 0.25: the step is lr·1 = 0.1;
	 * decay lr·wd·p = 0.01 on matrices only: 0.89, norms 0.9 */
	adamw_step(m, &o, 0.1f, 1, 1.0f);
	float emb = m->p.tok_embd[0], norm = m->p.attn_norm[0];
	/* step 2, same gradient: m̂ and v̂ are again 0.5 and 0.25: 0.89 - 0.1 - 0.0089 */
	adamw_step(m, &o, 0.1f, 2, 1.0f);
	tap_ok(fabsf(emb - 0.89f) < 1e-6f && fabsf(norm - 0.9f) < 1e-6f,
	       "adamw step 1: matrix 1 -> %.6f (0.89), norm 1 -> %.6f (0.9, no decay)", emb, norm);
	tap_ok(fabsf(m->p.tok_embd[0] - 0.7811f) < 1e-6f && fabsf(m->p.final_norm[0] - 0.8f) < 1e-6f,
	       "adamw step 2: matrix %.6f (0.7811), norm %.6f (0.8)", m->p.tok_embd[0], m->p.final_norm[0]);
	/* clipping scales the gradient before the moments: a first step's size
	 * does not depend on the scale, the first moment does */
	adamw_step(m, &o, 0.0f, 3, 0.25f);
	float m_expect = 0.9f * (0.9f * 0.05f + 0.05f) + 0.1f * 0.125f;
	tap_ok(fabsf(m->adam_m[0] - m_expect) < 1e-7f, "adamw: grad_scale applies to the moments (m %.6f, %.6f)",
	       m->adam_m[0], m_expect);
	m->grads[0] = 3, m->grads[1] = 4;
	for (int64_t i = 2; i < m->n_params; i++)
		m->grads[i] = 0;
	tap_ok(fabs(train_grad_norm(m) - 5.0) < 1e-12, "global gradient norm of (3, 4, 0...) is 5");
	train_model_free(m);

	train_sched w = {1e-3f, 1e-4f, 10, 100, 0.2f};
	tap_ok(train_lr(&w, 50) == 1e-3f && train_lr(&w, 79) == 1e-3f && fabsf(train_lr(&w, 89) - 5.5e-4f) < 1e-8f &&
		       fabsf(train_lr(&w, 99) - 1e-4f) < 1e-9f,
	       "schedule warmup-stable-decay: %.2e until step 80, %.3e at 89, %.2e at the end", train_lr(&w, 79),
	       train_lr(&w, 89), train_lr(&w, 99));
	train_sched s = {1e-3f, 1e-4f, 10, 110, 0};
	tap_ok(fabsf(train_lr(&s, 0) - 1e-4f) < 1e-9f && fabsf(train_lr(&s, 9) - 1e-3f) < 1e-9f &&
		       fabsf(train_lr(&s, 60) - 5.5e-4f) < 1e-8f && fabsf(train_lr(&s, 110) - 1e-4f) < 1e-9f,
	       "schedule: warmup %.2e..%.2e, cosine midpoint %.3e, end %.2e", train_lr(&s, 0), train_lr(&s, 9),
	       train_lr(&s, 60), train_lr(&s, 110));
}

/* ---------------------------------------------------------------- loop, determinism, resume */

static int32_t *synthetic_corpus(int64_t n, int V)
{
	/* BOS doc EOS documents that walk a fixed cycle x -> 7x+3 (mod V-2)
	 * from a random first token: learnable from bigrams */
	int32_t *ids = rs_xmalloc(sizeof(int32_t) * (size_t)n);
	int64_t i = 0;
	while (i < n) {
		int len = 4 + (int)(urand() * 20), x = (int)(urand() * (V - 2));
		ids[i++] = 0;
		for (int j = 0; j < len && i < n; j++, x = (7 * x + 3) % (V - 2))
			ids[i++] = 2 + x;
		if (i < n)
			ids[i++] = 1;
	}
	return ids;
}

static train_run_opts run_opts(int steps)
{
	train_run_opts o;
	memset(&o, 0, sizeof o);
	o.st.total_steps = steps;
	o.st.seed = 99;
	o.st.batch = 3;
	o.st.threads = train_threads();
	o.st.sched = (train_sched){3e-3f, 3e-4f, 2, steps, 0};
	o.st.adamw = (adamw_opts){0.9f, 0.95f, 1e-8f, 0.1f};
	o.st.clip = 1.0f;
	o.T = 16;
	o.log_every = 1000;
	o.out_type = RS_F32;
	return o;
}

static void test_loop(const char *tmpdir)
{
	rs_config cfg = train_config_make(2, 16, 4, 2, 24, 24, 16);
	train_data d = {.n = 4000, .bos = 0};
	int32_t *ids = synthetic_corpus(d.n, cfg.vocab);
	d.ids = ids;
	train_data_index(&d, 16);
	rs_err err = {{0}};

	train_model *m1 = train_model_create(&cfg), *m2 = train_model_create(&cfg);
	train_model_init(m1, 5);
	train_model_init(m2, 5);
	train_run_opts o1 = run_opts(3), o2 = run_opts(3);
	int rc1 = train_run(m1, &o1, &d, NULL, &err), rc2 = train_run(m2, &o2, &d, NULL, &err);
	tap_ok(!rc1 && !rc2 && !memcmp(m1->params, m2->params, sizeof(float) * (size_t)m1->n_params) &&
		       !memcmp(m1->adam_v, m2->adam_v, sizeof(float) * (size_t)m1->n_params),
	       "determinism: two 3-step runs from one seed give identical weights and moments");

	/* 2 steps, checkpoint, load, 1 more == 3 steps straight */
	char ckpt[1024];
	snprintf(ckpt, sizeof ckpt, "%s/t.ckpt", tmpdir);
	train_model *m3 = train_model_create(&cfg), *m4 = NULL;
	train_model_init(m3, 5);
	train_run_opts o3 = run_opts(3);
	o3.st.total_steps = 2; /* the schedule still spans 3 */
	o3.ckpt_path = ckpt;
	int rc = train_run(m3, &o3, &d, NULL, &err);
	train_state st;
	rc = rc || train_ckpt_load(ckpt, &m4, &st, &err);
	if (!tap_ok(!rc && st.step == 2, "checkpoint after 2 steps loads (%s)", rc ? err.msg : "ok"))
		goto out;
	train_run_opts o4 = run_opts(3);
	o4.st = st;
	o4.st.total_steps = 3;
	rc = train_run(m4, &o4, &d, NULL, &err);
	tap_ok(!rc && !memcmp(m1->params, m4->params, sizeof(float) * (size_t)m1->n_params),
	       "resume: 2 steps + checkpoint + 1 step == 3 steps");

	/* a header that promises more than the file holds is refused before the
	 * model is allocated: the file cut after 200 bytes, and a whole file
	 * whose header claims 200 layers (n_layers sits after the magic and version) */
	{
		char bad[1100];
		snprintf(bad, sizeof bad, "%s/bad.ckpt", tmpdir);
		FILE *in = fopen(ckpt, "rb"), *o = fopen(bad, "wb");
		char buf[200];
		size_t got = in ? fread(buf, 1, sizeof buf, in) : 0;
		if (o)
			fwrite(buf, 1, got, o), fclose(o);
		train_model *mb = NULL;
		train_state sb;
		rs_err eb = {{0}};
		int r1 = train_ckpt_load(bad, &mb, &sb, &eb);
		tap_ok(r1 && !mb && strstr(eb.msg, "promises") && strstr(eb.msg, bad), "a cut checkpoint: %s", eb.msg);
		o = fopen(bad, "wb");
		rewind(in);
		int32_t layers = 200;
		for (long at = 0; o && (got = fread(buf, 1, sizeof buf, in)) > 0; at += (long)got) {
			if (at == 0)
				memcpy(buf + 12, &layers, 4);
			fwrite(buf, 1, got, o);
		}
		if (o)
			fclose(o);
		if (in)
			fclose(in);
		int r2 = train_ckpt_load(bad, &mb, &sb, &eb);
		tap_ok(r2 && !mb && strstr(eb.msg, "promises"), "a checkpoint claiming 200 layers: %s", eb.msg);
		remove(bad);
	}

	/* a run with no steps left still writes its checkpoint: an export */
	char ckpt2[1024];
	snprintf(ckpt2, sizeof ckpt2, "%s/t2.ckpt", tmpdir);
	train_run_opts o6 = run_opts(3);
	o6.st = o4.st;
	o6.st.total_steps = 3;
	o6.stop_at = 2;
	o6.ckpt_path = ckpt2;
	train_model *m6 = NULL;
	train_state st6;
	rc = train_run(m4, &o6, &d, NULL, &err) || train_ckpt_load(ckpt2, &m6, &st6, &err);
	tap_ok(!rc && st6.step == 3 && !memcmp(m1->params, m6->params, sizeof(float) * (size_t)m1->n_params),
	       "a run with nothing left to do writes the model as it is (%s)", rc ? err.msg : "ok");
	remove(ckpt2);
	train_model_free(m6);

	/* induction drills: BOS, a random span, its repeats; the first copy is no target */
	train_data dr = d;
	dr.starts = NULL; /* not freed through this copy */
	dr.rep_frac = 1.0f, dr.rep_lo = 2, dr.rep_hi = 24;
	int32_t dt[3 * 16], dg[3 * 16];
	train_data_batch(&dr, 7, 0, 3, 16, dt, dg);
	int drill_ok = 1;
	for (int b = 0; b < 3; b++) {
		int32_t *tk = dt + b * 16, *tg = dg + b * 16;
		int first = 1; /* targets start where the span begins to repeat */
		drill_ok &= tk[0] == 0;
		for (int t = 0; t < 16; t++) {
			if (tg[t] >= 0)
				first = 0;
			drill_ok &= first ? tg[t] == -1 : tg[t] >= 2 && tg[t] < 24 && (t + 1 >= 16 || tk[t + 1] == tg[t]);
		}
	}
	tap_ok(drill_ok, "induction drills: BOS, random span in range, targets only on the repeats");

	/* learning works: a longer run brings the loss down */
	train_model *m5 = train_model_create(&cfg);
	train_model_init(m5, 1);
	train_acts *a = train_acts_create(&cfg, 3, 16);
	float before = train_eval_loss(m5, a, &d, 4);
	train_run_opts o5 = run_opts(100);
	rc = train_run(m5, &o5, &d, NULL, &err);
	float after = train_eval_loss(m5, a, &d, 4);
	tap_ok(!rc && after < before - 1.0f, "100 steps on a bigram language: loss %.3f -> %.3f", before, after);
	train_acts_free(a);
	train_model_free(m5);
out:
	remove(ckpt);
	train_model_free(m1);
	train_model_free(m2);
	train_model_free(m3);
	train_model_free(m4);
	train_data_free_index(&d);
	free(ids);
}

/* ---------------------------------------------------------------- export round trip */

static void test_export(const char *tmpdir, int type)
{
	rs_config cfg = train_config_make(2, 32, 4, 2, 40, 50, 64);
	train_model *m = train_model_create(&cfg);
	train_model_init(m, 3);
	for (int i = 0; i < TRAIN_N_TENSORS; i++) { /* away from the near-uniform init */
		float *p = train_tensor_data(m, i, 0);
		for (int64_t j = 0; j < m->tensors[i].numel; j++)
			p[j] = m->tensors[i].decay ? p[j] * 8.0f : 1.0f + (float)(nrand() * 0.2);
	}
	int T = 20;
	int32_t tok[20], tgt[20];
	tiny_tokens(tok, tgt, T, cfg.vocab);
	train_acts *a = train_acts_create(&cfg, 1, T);
	train_forward(m, a, tok, NULL);

	char path[1024];
	snprintf(path, sizeof path, "%s/t.gguf", tmpdir);
	rs_err err = {{0}};
	const char *tn = type == RS_F32 ? "F32" : "F16";
	int rc = train_export_gguf(m, NULL, "test", type, path, &err);
	rs_model *rm = rc ? NULL : model_load(path, &err);
	if (tap_ok(rm != NULL, "export %s: model_load reads the GGUF back (%s)", tn, rm ? "ok" : err.msg)) {
		const rs_config *c = &rm->cfg;
		tap_ok(c->n_layers == 2 && c->d_model == 32 && c->n_heads == 4 && c->n_kv_heads == 2 &&
			       c->head_dim == 8 && c->d_ff == 40 && c->vocab == 50 && c->max_ctx == 64 && c->tied &&
			       rm->qk_interleaved,
		       "export %s: config round trip (tied, GGUF Q/K order)", tn);
		rs_engine *e = eng_create(rm, &err);
		eng_set_prompt(e, tok, T, &err);
		eng_run(e);
		const rs_act *lg = eng_act(e, (rs_hook){HOOK_LOGITS, -1});
		float tol = type == RS_F32 ? 1e-4f : 5e-2f;
		float md = lg ? tap_max_abs_diff(lg->data, a->logits, (size_t)T * cfg.vocab) : INFINITY;
		tap_ok(md < tol, "export %s: engine logits == training logits (max diff %.2e < %.0e)", tn, md, tol);
		/* rotated q of the engine is the training q (HF order) */
		const rs_act *rq = eng_act(e, (rs_hook){HOOK_ROT_Q, 1});
		float mq = rq ? tap_max_abs_diff(rq->data, a->q + (size_t)T * 32, (size_t)T * 32) : INFINITY;
		tap_ok(mq < tol, "export %s: blocks.1.attn.hook_rot_q == training q after RoPE (max diff %.2e)", tn, mq);
		eng_free(e);
		model_free(rm);
	}
	/* the engine set its own thread counts: ours again */
	train_set_threads(2);
	remove(path);
	train_acts_free(a);
	train_model_free(m);
}

int main(void)
{
	char tmpdir[] = "/tmp/test_train.XXXXXX";
	if (!mkdtemp(tmpdir))
		tap_skip_all("no temporary directory");
	op_threads();
	train_set_threads(2);
	test_linear();
	test_rmsnorm();
	test_rope();
	test_attention(4, 2, 2, 6);
	test_attention(3, 3, 2, 6);
	test_attention(4, 1, 2, 6);
	test_attention(2, 1, 1, 150); /* query blocks of 64: two whole, one partial */
	test_swiglu();
	test_xent();
	test_model_grad();
	test_adamw();
	test_loop(tmpdir);
	test_export(tmpdir, RS_F32);
	test_export(tmpdir, RS_F16);
	rmdir(tmpdir);
	return tap_done_plan();
}
