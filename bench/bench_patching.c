/* bench_patching.c - how long a full layer × head activation-patching sweep
 * (hook_z, every position) takes, on the built-in model and on a random model
 * of Llama-3.2-1B's shapes, at 32 tokens by default.
 *
 * Each patch reruns the corrupted prompt from the patched layer on (the
 * engine resumes from the corrupted run's cache); "full est" is the same
 * sweep with every patch run from the start, from the time of four such runs
 * (two before the sweep, two after). Resuming at layer l runs L - l layers,
 * so the best it can do is about 2L/(L+1) times faster.
 *
 *   bench_patching [-t TOKENS] [-b BIG.gguf] [--f16] [--no-big] [MODEL.gguf...]
 *
 * The 1B-shaped model (16 layers, d 2048, 32 heads / 8 KV heads, head_dim 64,
 * ff 8192, vocab 128256, tied; weights N(0, 0.02)) is written once to
 * /tmp/residual-bench-1b-q8_0.gguf (1.3 GB) or -f16.gguf (2.5 GB).
 */
#include "config.h"
#include "datadir.h"
#include "dtype.h"
#include "gguf.h"
#include "interp.h"
#include "ops.h"
#include "pool.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static double now(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + ts.tv_nsec * 1e-9;
}

static uint64_t mix(uint64_t z)
{
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
	return z ^ (z >> 31);
}

/* N(0, std²) row of n, from a generator keyed by (tensor, row) so rows can be
 * made in parallel and the file is the same every time */
static void normal_row(float *v, int64_t n, float std, uint64_t key)
{
	uint64_t s = mix(key);
	for (int64_t i = 0; i < n; i += 2) {
		s += 0x9e3779b97f4a7c15ull;
		uint64_t a = mix(s);
		s += 0x9e3779b97f4a7c15ull;
		uint64_t b = mix(s);
		double u1 = ((a >> 11) + 1.0) / 9007199254740993.0, u2 = (b >> 11) / 9007199254740992.0;
		double r = sqrt(-2.0 * log(u1)) * std;
		v[i] = (float)(r * cos(2 * M_PI * u2));
		if (i + 1 < n)
			v[i + 1] = (float)(r * sin(2 * M_PI * u2));
	}
}

typedef struct big_buf { void **bufs; int n; } big_buf;

typedef struct random_job {
	uint8_t *buf;
	size_t rb;
	int64_t cols;
	int type;
	uint64_t key;
} random_job;

static void random_rows(void *ctx, int64_t r0, int64_t r1)
{
	const random_job *j = ctx;
	float *row = rs_xmalloc(sizeof(float) * (size_t)j->cols);
	for (int64_t r = r0; r < r1; r++) {
		normal_row(row, j->cols, 0.02f, j->key * 1000003ull + (uint64_t)r);
		rs_quant_row(j->type, row, j->buf + (size_t)r * j->rb, j->cols);
	}
	free(row);
}

static void add_random(gguf_writer *w, big_buf *keep, const char *name, int64_t rows, int64_t cols, int type,
		       uint64_t key)
{
	size_t rb = rs_dtype_row_bytes(type, cols);
	uint8_t *buf = rs_xmalloc(rb * (size_t)rows);
	random_job j = {buf, rb, cols, type, key};
	pool_for(rows, 1, random_rows, &j); /* each row from its own seed: any split */
	int64_t shape[2] = {rows, cols};
	gguf_w_tensor(w, name, type, 2, shape, buf, rb * (size_t)rows, 0);
	keep->bufs = rs_xrealloc(keep->bufs, sizeof(void *) * (size_t)(keep->n + 1));
	keep->bufs[keep->n++] = buf;
}

static int write_big(const char *path, int type, rs_err *err)
{
	const int L = 16, d = 2048, H = 32, Hkv = 8, hd = 64, ff = 8192, V = 128256;
	char name[96];
	big_buf keep = {0};
	float *ones = rs_xmalloc(sizeof(float) * d);
	for (int i = 0; i < d; i++)
		ones[i] = 1;
	gguf_writer *w = gguf_writer_create();
	gguf_w_str(w, "general.architecture", "llama");
	gguf_w_str(w, "general.name", "random Llama-3.2-1B shapes");
	gguf_w_u32(w, "llama.block_count", L);
	gguf_w_u32(w, "llama.embedding_length", d);
	gguf_w_u32(w, "llama.feed_forward_length", ff);
	gguf_w_u32(w, "llama.attention.head_count", H);
	gguf_w_u32(w, "llama.attention.head_count_kv", Hkv);
	gguf_w_u32(w, "llama.attention.key_length", hd);
	gguf_w_u32(w, "llama.rope.dimension_count", hd);
	gguf_w_u32(w, "llama.context_length", 131072);
	gguf_w_u32(w, "llama.vocab_size", V);
	gguf_w_f32(w, "llama.rope.freq_base", 500000.0f);
	gguf_w_f32(w, "llama.attention.layer_norm_rms_epsilon", 1e-5f);
	gguf_w_u32(w, "tokenizer.ggml.bos_token_id", 128000);
	uint64_t key = 1;
	int64_t nd = d;
	add_random(w, &keep, "token_embd.weight", V, d, type, key++);
	gguf_w_tensor(w, "output_norm.weight", RS_F32, 1, &nd, ones, sizeof(float) * d, 0);
	for (int l = 0; l < L; l++) {
#define N(s) (snprintf(name, sizeof name, "blk.%d." s, l), name)
		gguf_w_tensor(w, N("attn_norm.weight"), RS_F32, 1, &nd, ones, sizeof(float) * d, 0);
		gguf_w_tensor(w, N("ffn_norm.weight"), RS_F32, 1, &nd, ones, sizeof(float) * d, 0);
		add_random(w, &keep, N("attn_q.weight"), H * hd, d, type, key++);
		add_random(w, &keep, N("attn_k.weight"), Hkv * hd, d, type, key++);
		add_random(w, &keep, N("attn_v.weight"), Hkv * hd, d, type, key++);
		add_random(w, &keep, N("attn_output.weight"), d, H * hd, type, key++);
		add_random(w, &keep, N("ffn_gate.weight"), ff, d, type, key++);
		add_random(w, &keep, N("ffn_up.weight"), ff, d, type, key++);
		add_random(w, &keep, N("ffn_down.weight"), d, ff, type, key++);
#undef N
	}
	char tmp[1100];
	snprintf(tmp, sizeof tmp, "%s.part", path);
	int rc = gguf_write(w, tmp, err);
	if (rc == 0 && rename(tmp, path))
		rc = rs_fail(err, "%s: cannot rename", tmp);
	gguf_writer_free(w);
	for (int i = 0; i < keep.n; i++)
		free(keep.bufs[i]);
	free(keep.bufs);
	free(ones);
	return rc;
}

/* One model: the sweep, and the full-rerun estimate. */
static void bench_model(const char *path, const char *label, int T)
{
	rs_err err = {{0}};
	double t0 = now();
	rs_model *m = model_load(path, &err);
	if (!m) {
		printf("%-28s load failed: %s\n", label, err.msg);
		return;
	}
	const rs_config *c = &m->cfg;
	double t_load = now() - t0;
	if (T > c->max_ctx)
		T = c->max_ctx;
	/* random clean prompt; the corrupted one differs at one position */
	int32_t *clean = rs_xmalloc(sizeof(int32_t) * (size_t)T), *cor = rs_xmalloc(sizeof(int32_t) * (size_t)T);
	uint64_t s = 12345;
	for (int i = 0; i < T; i++)
		clean[i] = cor[i] = (int32_t)(mix(s += 0x9e3779b97f4a7c15ull) % (uint64_t)c->vocab);
	if (c->bos_id >= 0 && c->bos_id < c->vocab)
		clean[0] = cor[0] = c->bos_id;
	cor[T / 2] = (clean[T / 2] + 1) % c->vocab;
	interp_metric mt = {-1, clean[1], clean[2] != clean[1] ? clean[2] : (clean[1] + 1) % c->vocab};
	t0 = now();
	patch_ctx *p = patch_create(m, clean, cor, T, &mt, &err);
	double t_setup = now() - t0;
	if (!p) {
		printf("%-28s patching failed: %s\n", label, err.msg);
		goto out;
	}
	/* full reruns with one head patched, the way a sweep without resuming
	 * would do every cell (last-position logits only, as the sweep), timed
	 * before and after the sweep so a busy machine shows in both */
	rs_engine *full = eng_create(m, &err);
	eng_set_cache_filter(full, "logits");
	eng_set_logits_all(full, 0);
	const rs_act *z = eng_act(patch_clean_engine(p), (rs_hook){HOOK_Z, 0});
	rs_intervention iv = {.hook = {HOOK_Z, 0}, .kind = IV_REPLACE, .head = 0, .pos = -1, .index = -1,
			      .values = z->data, .n_values = z->numel};
	eng_add_intervention(full, &iv, &err);
	double t_full = 0;
	for (int i = 0; i < 2; i++) {
		t0 = now();
		eng_set_prompt(full, cor, T, &err);
		eng_run(full);
		t_full += now() - t0;
	}
	patch_sweep *sw = patch_sweep_heads(p, HOOK_Z, -1, &err);
	for (int i = 0; i < 2; i++) {
		t0 = now();
		eng_set_prompt(full, cor, T, &err);
		eng_run(full);
		t_full += now() - t0;
	}
	t_full /= 4;
	eng_free(full);
	if (!sw) {
		printf("%-28s sweep failed: %s\n", label, err.msg);
		patch_free(p);
		goto out;
	}
	int runs = sw->rows * sw->cols;
	float best = -INFINITY;
	int bl = 0, bh = 0;
	for (int i = 0; i < runs; i++)
		if (sw->norm[i] > best)
			best = sw->norm[i], bl = i / sw->cols, bh = i % sw->cols;
	printf("%-28s %6d %5d %5d %7.2f %7.2f %8.2f %9.1f %10.1f %6.1fx   (load %.2f s; top L%dH%d %.3f)\n", label,
	       c->n_layers, c->n_heads, runs, t_setup, sw->seconds, 1e3 * sw->seconds / runs, 1e3 * t_full,
	       t_full * runs, t_full * runs / sw->seconds, t_load, bl, bh, best);
	fflush(stdout);
	patch_sweep_free(sw);
	patch_free(p);
out:
	free(clean);
	free(cor);
	model_free(m);
}

int main(int argc, char **argv)
{
	int T = 32, big = 1, type = RS_Q8_0;
	const char *big_path = NULL;
	const char *extra[16];
	int n_extra = 0;
	for (int i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "-t") && i + 1 < argc)
			T = atoi(argv[++i]);
		else if (!strcmp(argv[i], "-b") && i + 1 < argc)
			big_path = argv[++i];
		else if (!strcmp(argv[i], "--f16"))
			type = RS_F16;
		else if (!strcmp(argv[i], "--no-big"))
			big = 0;
		else if (argv[i][0] != '-' && n_extra < 16)
			extra[n_extra++] = argv[i];
		else {
			fprintf(stderr, "usage: %s [-t TOKENS] [-b BIG.gguf] [--f16] [--no-big] [MODEL.gguf...]\n", argv[0]);
			return 2;
		}
	}
	if (T < 2)
		T = 2;
	char def_big[256];
	snprintf(def_big, sizeof def_big, "/tmp/residual-bench-1b-%s.gguf", type == RS_F16 ? "f16" : "q8_0");
	if (!big_path)
		big_path = def_big;
	printf("bench_patching: layer x head activation patching of hook_z (all positions), %d tokens, %d threads\n", T,
	       op_threads());
	printf("%-28s %6s %5s %5s %7s %7s %8s %9s %10s %7s\n", "model", "layers", "heads", "runs", "setup", "sweep",
	       "ms/run", "full ms", "full est s", "speedup");
	char tiny_buf[4096];
	const char *tiny = rs_data_path(NULL, "residual-tiny.gguf", "assets/residual-tiny.gguf", tiny_buf, sizeof tiny_buf);
	if (!tiny)
		printf("%-28s skipped: assets/residual-tiny.gguf does not exist yet\n", "residual-tiny (built-in)");
	else
		bench_model(tiny, "residual-tiny (built-in)", T);
	for (int i = 0; i < n_extra; i++)
		bench_model(extra[i], extra[i], T);
	if (!big)
		return 0;
	if (access(big_path, R_OK)) {
		rs_err err = {{0}};
		printf("writing %s (random weights, once)...\n", big_path);
		fflush(stdout);
		double t0 = now();
		if (write_big(big_path, type, &err)) {
			printf("%-28s could not write: %s\n", "1B-shaped random", err.msg);
			return 1;
		}
		printf("written in %.1f s\n", now() - t0);
	}
	bench_model(big_path, type == RS_F16 ? "1B-shaped random F16" : "1B-shaped random Q8_0", T);
	return 0;
}
