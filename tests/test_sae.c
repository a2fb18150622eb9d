/* test_sae.c - the sparse autoencoder (sae.h) and its trainer (sae_train.h):
 * the encoder and decoder against loops written here, the file and the
 * index read back, and the trainer on a synthetic sparse set: the loss falls,
 * the run repeats bit for bit, and it finds the directions the data was
 * made of. */
#include "config.h"
#include "corpus.h"
#include "dtype.h"
#include "gguf.h"
#include "pool.h"
#include "sae.h"
#include "sae_train.h"
#include "tap.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static float urand(corpus_rng *r)
{
	return (float)((double)(corpus_rng_next(r) >> 11) / 9007199254740992.0) * 2 - 1;
}

static rs_sae *random_sae(int d, int n, rs_sae_type type, int k, uint64_t seed)
{
	corpus_rng r;
	corpus_rng_seed(&r, seed, 7);
	rs_sae *s = sae_create(d, n, type, k, (rs_hook){HOOK_RESID_POST, 1});
	for (int64_t i = 0; i < (int64_t)n * d; i++)
		s->w_enc[i] = urand(&r), s->w_dec[i] = urand(&r);
	for (int i = 0; i < n; i++)
		s->b_enc[i] = urand(&r) * 0.5f;
	for (int j = 0; j < d; j++)
		s->b_dec[j] = urand(&r);
	return s;
}

/* The encoder by the definition: pre_i = Σ_j W_enc[i,j](x_j − b_dec_j) + b_enc_i;
 * relu keeps the positive ones; topk the k largest (lower index on ties), then
 * the positive ones among them. */
static void ref_encode(const rs_sae *s, const float *x, double *f)
{
	double pre[512];
	int chosen[512] = {0};
	for (int i = 0; i < s->n; i++) {
		double acc = s->b_enc[i];
		for (int j = 0; j < s->d; j++)
			acc += (double)s->w_enc[i * s->d + j] * (x[j] - s->b_dec[j]);
		pre[i] = acc;
	}
	int keep = s->type == SAE_TOPK ? s->k : s->n;
	for (int t = 0; t < keep; t++) {
		int best = -1;
		for (int i = 0; i < s->n; i++)
			if (!chosen[i] && (best < 0 || pre[i] > pre[best]))
				best = i;
		chosen[best] = 1;
	}
	for (int i = 0; i < s->n; i++)
		f[i] = chosen[i] && pre[i] > 0 ? pre[i] : 0;
}

static void test_codec(rs_sae_type type, int k)
{
	int d = 12, n = 40, rows = 5;
	rs_sae *s = random_sae(d, n, type, k, 3 + (uint64_t)type);
	corpus_rng r;
	corpus_rng_seed(&r, 11, 1);
	float x[5 * 12], f[5 * 40], xhat[5 * 12];
	for (int i = 0; i < rows * d; i++)
		x[i] = urand(&r) * 2;
	sae_encode(s, x, f, rows);
	sae_decode(s, f, xhat, rows);
	double ef = 0, ex = 0;
	int l0_ok = 1;
	for (int row = 0; row < rows; row++) {
		double fr[512];
		ref_encode(s, x + row * d, fr);
		int active = 0;
		for (int i = 0; i < n; i++) {
			ef = fmax(ef, fabs(fr[i] - f[row * n + i]));
			active += f[row * n + i] > 0;
		}
		if (type == SAE_TOPK && active > k)
			l0_ok = 0;
		for (int j = 0; j < d; j++) {
			double acc = s->b_dec[j];
			for (int i = 0; i < n; i++)
				acc += fr[i] * s->w_dec[i * d + j];
			ex = fmax(ex, fabs(acc - xhat[row * d + j]));
		}
	}
	/* sums of 12 (encoder) and 40 (decoder) products of numbers below 4 in
	 * float: a few ulps of the terms' size, far below 1e-4 */
	tap_ok(ef < 1e-4, "%s encoder = the definition (max diff %.2g)", sae_type_name(type), ef);
	tap_ok(ex < 1e-4, "%s decoder = the definition (max diff %.2g)", sae_type_name(type), ex);
	if (type == SAE_TOPK)
		tap_ok(l0_ok, "topk: at most k = %d features active", k);
	sae_free(s);
}

static void test_file(void)
{
	rs_sae *s = random_sae(6, 20, SAE_TOPK, 4, 5);
	s->meta.nmse = 0.125, s->meta.l0 = 3.5, s->meta.dead = 7, s->meta.seed = 42;
	snprintf(s->meta.model, sizeof s->meta.model, "tiny.gguf");
	char path[] = "/tmp/test_sae_XXXXXX";
	int fd = mkstemp(path);
	close(fd);
	rs_err err = {{0}};
	int rc = sae_save(s, path, &err);
	rs_sae *t = rc ? NULL : sae_load(path, &err);
	tap_ok(t != NULL, "an SAE reads back (%s)", t ? "ok" : err.msg);
	if (t) {
		int same = t->d == 6 && t->n == 20 && t->k == 4 && t->type == SAE_TOPK && t->hook.kind == HOOK_RESID_POST &&
			   t->hook.layer == 1 && !memcmp(t->w_enc, s->w_enc, sizeof(float) * 120) &&
			   !memcmp(t->w_dec, s->w_dec, sizeof(float) * 120) && !memcmp(t->b_enc, s->b_enc, 80) &&
			   !memcmp(t->b_dec, s->b_dec, 24);
		tap_ok(same, "its shape, hook, type, k and every weight are the same bits");
		tap_ok(t->meta.nmse == 0.125 && t->meta.l0 == 3.5 && t->meta.dead == 7 && t->meta.seed == 42 &&
			       !strcmp(t->meta.model, "tiny.gguf"),
		       "its measured facts read back");
	}
	sae_free(t);
	/* a file that is not an SAE: one line naming it */
	FILE *fp = fopen(path, "wb");
	fputs("not a gguf", fp);
	fclose(fp);
	t = sae_load(path, &err);
	tap_ok(!t && strstr(err.msg, path), "a bad file fails with its name (%s)", err.msg);
	sae_free(t);
	/* keys that promise a huge SAE over small tensors: refused before any allocation */
	gguf_writer *w = gguf_writer_create();
	gguf_w_str(w, "residual.sae.hook", "blocks.1.hook_resid_post");
	gguf_w_str(w, "residual.sae.type", "topk");
	gguf_w_u32(w, "residual.sae.k", 4);
	gguf_w_u32(w, "residual.sae.d_in", 65536);
	gguf_w_u32(w, "residual.sae.n_features", 1u << 20);
	int64_t nd[2] = {20, 6};
	gguf_w_tensor(w, "sae.w_enc", RS_F32, 2, nd, s->w_enc, sizeof(float) * 120, GGUF_W_REF);
	rc = gguf_write(w, path, &err);
	gguf_writer_free(w);
	t = rc ? NULL : sae_load(path, &err);
	tap_ok(!rc && !t && strstr(err.msg, "sae.w_enc"), "keys that do not match the tensors: %s", err.msg);
	sae_free(t);
	remove(path);
	sae_free(s);
}

static void test_index(void)
{
	rs_sae_index *x = sae_index_create(2, 3, 4, 1);
	int32_t c[4] = {1, 2, 3, 4};
	float offers[][2] = {{0.5f, 0}, {2.0f, 1}, {1.0f, 2}, {3.0f, 1}, {0.7f, 3}, {0.1f, 4}};
	for (int i = 0; i < 6; i++) {
		c[0] = i;
		sae_index_offer(x, 0, offers[i][0], c, (int64_t)offers[i][1]);
	}
	/* window 1 keeps its better (3.0), then 1.0 (window 2), 0.7 (window 3) */
	tap_ok(x->act[0] == 3.0f && x->act[1] == 1.0f && x->act[2] == 0.7f && x->tokens[0] == 3 && x->tokens[4] == 2 &&
		       x->tokens[8] == 4,
	       "index: the best three, one per window, best first (%g %g %g)", x->act[0], x->act[1], x->act[2]);
	tap_ok(x->act[3] == 0 && x->tokens[12] == -1, "index: a feature never offered has no contexts");
	x->fired[0] = 6, x->vectors = 10;
	char path[] = "/tmp/test_sae_ix_XXXXXX";
	close(mkstemp(path));
	rs_err err = {{0}};
	rs_sae_index *y = sae_index_save(x, path, &err) ? NULL : sae_index_load(path, &err);
	if (!y)
		tap_diag("%s", err.msg);
	tap_ok(y && y->n == 2 && y->top == 3 && y->ctx == 4 && y->at == 1 && y->fired[0] == 6 && y->vectors == 10 &&
		       !memcmp(y->tokens, x->tokens, sizeof(int32_t) * 24) && !memcmp(y->act, x->act, sizeof(float) * 6),
	       "the index reads back");
	sae_index_free(y);
	remove(path);
	sae_index_free(x);
}

/* Synthetic data: each vector the sum of 3 of 32 random unit directions with
 * magnitudes in [1, 3], plus an offset. */
static float *synthetic(int N, int d, int m, float *dirs, uint64_t seed)
{
	corpus_rng r;
	corpus_rng_seed(&r, seed, 3);
	for (int i = 0; i < m; i++) {
		double ss = 0;
		for (int j = 0; j < d; j++)
			dirs[i * d + j] = urand(&r), ss += dirs[i * d + j] * dirs[i * d + j];
		for (int j = 0; j < d; j++)
			dirs[i * d + j] /= (float)sqrt(ss);
	}
	float *x = calloc((size_t)N * d, sizeof(float));
	for (int v = 0; v < N; v++) {
		for (int j = 0; j < d; j++)
			x[v * d + j] = 0.5f;
		for (int a = 0; a < 3; a++) {
			int i = (int)corpus_rng_below(&r, (uint32_t)m);
			float mag = 2 + urand(&r);
			for (int j = 0; j < d; j++)
				x[v * d + j] += mag * dirs[i * d + j];
		}
	}
	return x;
}

static void test_train(void)
{
	int N = 4096, d = 16, m = 24, n = 64;
	float dirs[24 * 16];
	float *x = synthetic(N, d, m, dirs, 9);
	sae_train_opts o = {.steps = 1000, .batch = 256, .lr = 3e-3f, .warmup = 20, .seed = 5, .log_every = 100};
	rs_sae *a = sae_create(d, n, SAE_TOPK, 4, (rs_hook){HOOK_RESID_POST, 0});
	rs_sae *b = sae_create(d, n, SAE_TOPK, 4, (rs_hook){HOOK_RESID_POST, 0});
	double first, last, f2, l2;
	sae_train(a, x, N, &o, NULL, NULL, &first, &last);
	sae_train(b, x, N, &o, NULL, NULL, &f2, &l2);
	tap_ok(last < 0.25 * first, "trainer: the loss falls (mse %.4f over the first 100 steps, %.4f over the last)",
	       first, last);
	tap_ok(!memcmp(a->w_enc, b->w_enc, sizeof(float) * (size_t)n * d) &&
		       !memcmp(a->w_dec, b->w_dec, sizeof(float) * (size_t)n * d) && first == f2 && last == l2,
	       "trainer: the same seed gives the same bits");
	double norm_err = 0;
	for (int i = 0; i < n; i++) {
		double ss = 0;
		for (int j = 0; j < d; j++)
			ss += (double)a->w_dec[i * d + j] * a->w_dec[i * d + j];
		norm_err = fmax(norm_err, fabs(sqrt(ss) - 1));
	}
	tap_ok(norm_err < 1e-5, "trainer: decoder rows have unit norm (max |norm-1| %.2g)", norm_err);
	/* each true direction has a decoder row close to it */
	int found = 0;
	for (int t = 0; t < m; t++) {
		double best = -1;
		for (int i = 0; i < n; i++) {
			double dot = 0;
			for (int j = 0; j < d; j++)
				dot += (double)dirs[t * d + j] * a->w_dec[i * d + j];
			best = fmax(best, dot);
		}
		found += best > 0.9;
	}
	tap_ok(found >= m * 3 / 4, "trainer: %d of the %d true directions have a decoder row at cosine > 0.9", found,
	       m);
	/* another seed: other bits */
	o.seed = 6;
	sae_train(b, x, N, &o, NULL, NULL, &f2, &l2);
	tap_ok(memcmp(a->w_dec, b->w_dec, sizeof(float) * (size_t)n * d) != 0, "trainer: another seed, other weights");
	sae_free(a), sae_free(b);
	/* relu with an L1 penalty: the loss falls too, and the penalty makes it
	 * sparse (the mean L0 of the trained encoder on the data, far below n) */
	rs_sae *r = sae_create(d, n, SAE_RELU, 0, (rs_hook){HOOK_RESID_POST, 0});
	sae_train_opts ro = {.steps = 1000, .batch = 256, .lr = 3e-3f, .warmup = 20, .seed = 5,
			     .log_every = 100};
	float *f = malloc(sizeof(float) * (size_t)N * n);
	double l0[2] = {0, 0}, f0 = 0, l0ss = 0;
	for (int pass = 0; pass < 2; pass++) { /* without the penalty, then with it */
		ro.l1 = pass ? 1.0f : 0;
		sae_train(r, x, N, &ro, NULL, NULL, &first, &last);
		if (!pass)
			f0 = first, l0ss = last;
		sae_encode(r, x, f, N);
		for (int64_t i = 0; i < (int64_t)N * n; i++)
			l0[pass] += f[i] > 0;
		l0[pass] /= N;
	}
	tap_ok(last < 0.5 * first && l0ss < 0.5 * f0 && l0[1] < 0.5 * l0[0],
	       "trainer, relu: the loss falls (%.4f -> %.4f) and the L1 penalty cuts the active features from %.1f to "
	       "%.1f of %d",
	       first, last, l0[0], l0[1], n);
	free(f);
	sae_free(r);
	free(x);
}

int main(void)
{
	pool_set_threads(2);
	test_codec(SAE_RELU, 0);
	test_codec(SAE_TOPK, 5);
	test_file();
	test_index();
	test_train();
	return tap_done_plan();
}
