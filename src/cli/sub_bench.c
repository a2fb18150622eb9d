/* sub_bench.c - residual bench: prefill and decode speed and peak memory, beside
 * the machine's own limits measured in the same run (read bandwidth, the f32
 * product by OpenBLAS and by residual's kernel). */
#include "config.h"
#include "cli.h"
#include "cliutil.h"
#include "dtype.h"
#include "engine.h"
#include "kernels.h"
#include "model.h"
#include "ops.h"
#include "pool.h"
#include "sampler.h"

#include <cblas.h>
#include <cJSON.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char usage[] =
	"usage: residual bench --model PATH [-p PROMPT_TOKENS] [-n DECODE_TOKENS] [-r REPS]\n"
	"                      [--threads N] [--step N] [--fast] [--no-reference] [--json]\n"
	"Prefill of PROMPT_TOKENS random tokens (default 128; logits of the last one only, as\n"
	"llama-bench), then DECODE_TOKENS greedy decode steps (default 32), REPS times (default 3;\n"
	"medians reported), and peak RSS. Beside them, the same run measures this machine's read\n"
	"bandwidth and the speed of the f32 product at the model's shape (OpenBLAS sgemm and\n"
	"residual's own), and reports each figure as a share of that limit (the faster product).\n"
	"--step N: also the time of an N-token prompt through every hook with all of them\n"
	"cached and the logits of every position, as the tutor runs it (median of REPS; 0: skip;\n"
	"default 64).\n"
	"--fast: also decode as `generate --fast` does (activations quantized to 8 bits for the\n"
	"Q4_K/Q6_K products), and print the largest difference of its logits from the\n"
	"exact path's over the same DECODE_TOKENS tokens, and at how many steps the top token\n"
	"is the same.\n";

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return x < y ? -1 : x > y;
}

static double median(double *v, int n)
{
	qsort(v, (size_t)n, sizeof *v, cmp_double);
	return n % 2 ? v[n / 2] : 0.5 * (v[n / 2 - 1] + v[n / 2]);
}

/* Bytes of weights read per decoded token: every matrix once (the embedding
 * row is negligible unless tied, where the output matrix is the embedding). */
static double weight_bytes(const rs_model *m, double *elems)
{
	double b = (double)m->output.rows * m->output.row_bytes;
	*elems = (double)m->output.rows * m->output.cols;
	for (int l = 0; l < m->cfg.n_layers; l++) {
		const rs_layer *L = &m->layers[l];
		const rs_mat *mats[] = {&L->wq, &L->wk, &L->wv, &L->wo, &L->w_gate, &L->w_up, &L->w_down};
		for (int i = 0; i < 7; i++) {
			b += (double)mats[i]->rows * mats[i]->row_bytes;
			*elems += (double)mats[i]->rows * mats[i]->cols;
		}
	}
	return b;
}

typedef struct bw_job {
	const float *a;
	double part[64];
	int64_t chunk;
} bw_job;

static void bw_part(void *ctx, int64_t b, int64_t e)
{
	bw_job *j = ctx;
	for (int64_t c = b; c < e; c++) /* a·a reads each element once, with the same SIMD loads as decode */
		j->part[c % 64] += kern_dot_f32(j->a + c * j->chunk, j->a + c * j->chunk, (int)j->chunk);
}

/* Read bandwidth: the dot product of 1 GiB with itself on all threads, best of 5 (GB/s). */
static double measure_bandwidth(void)
{
	size_t n = (size_t)1 << 28; /* floats */
	float *a = malloc(n * sizeof *a);
	if (!a)
		return 0;
	for (size_t i = 0; i < n; i++)
		a[i] = (float)(i & 7);
	bw_job j = {.a = a, .chunk = 1 << 16};
	double best = 0;
	for (int rep = 0; rep < 5; rep++) {
		double t0 = cli_now();
		pool_for((int64_t)(n / (size_t)j.chunk), 1, bw_part, &j);
		double gbs = n * sizeof *a / (cli_now() - t0) / 1e9;
		best = gbs > best ? gbs : best;
	}
	free(a);
	return best;
}

/* The f32 product at the model's shape, M = prompt tokens (GFLOP/s, best of 3):
 * OpenBLAS's sgemm on all threads (own = 0), or residual's kern_matmul (own = 1;
 * 0 where the tier has none). */
static double measure_sgemm(int M, int N, int K, int threads, int own)
{
	float *a = calloc((size_t)M * K, 4), *b = calloc((size_t)N * K, 4), *c = calloc((size_t)M * N, 4);
	double best = 0;
	rs_mat w = {b, RS_F32, N, K, sizeof(float) * (size_t)K};
	if (!own)
		openblas_set_num_threads(threads); /* op_matmul leaves it 1 once kern_matmul runs */
	for (int rep = 0; a && b && c && rep < 3; rep++) {
		double t0 = cli_now();
		if (!own)
			cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, M, N, K, 1, a, K, b, K, 0, c, N);
		else if (!kern_matmul(c, a, &w, M))
			break;
		double g = 2.0 * M * N * K / (cli_now() - t0) / 1e9;
		best = g > best ? g : best;
	}
	free(a);
	free(b);
	free(c);
	return best;
}

/* The fast decode (eng_set_fast): reps timed runs of the prompt and n_gen
 * greedy steps (tokens/s into tf), then the exact and the fast path decode the
 * exact path's greedy tokens and their logits are compared: the largest
 * difference into *diff, the steps where both have the same top token into *same. */
static int fast_decode(rs_engine *e, const int32_t *ids, int n_prompt, int n_gen, int reps, double *tf,
		       double *diff, int *same, rs_err *err)
{
	int vocab = eng_model(e)->cfg.vocab;
	const float *lg;
	eng_set_fast(e, 1);
	for (int r = 0; r < reps; r++) {
		if (eng_set_prompt(e, ids, n_prompt, err))
			return -1;
		eng_run(e);
		lg = eng_last_logits(e);
		double t0 = cli_now();
		for (int k = 0; k < n_gen; k++)
			if (!(lg = eng_decode(e, sampler_argmax(lg, vocab), err)))
				return -1;
		tf[r] = n_gen / (cli_now() - t0);
	}
	float *ref = rs_xmalloc(sizeof(float) * (size_t)vocab * (size_t)n_gen);
	int32_t *tok = rs_xmalloc(sizeof(int32_t) * (size_t)n_gen);
	int rc = -1;
	*diff = 0, *same = 0;
	for (int pass = 0; pass < 2; pass++) {
		eng_set_fast(e, pass);
		if (eng_set_prompt(e, ids, n_prompt, err))
			goto out;
		eng_run(e);
		lg = eng_last_logits(e);
		for (int k = 0; k < n_gen; k++) {
			if (!pass)
				tok[k] = sampler_argmax(lg, vocab);
			if (!(lg = eng_decode(e, tok[k], err)))
				goto out;
			float *rk = ref + (size_t)k * vocab;
			if (!pass) {
				memcpy(rk, lg, sizeof(float) * (size_t)vocab);
				continue;
			}
			for (int v = 0; v < vocab; v++)
				*diff = fmax(*diff, fabs((double)lg[v] - rk[v]));
			*same += sampler_argmax(lg, vocab) == sampler_argmax(rk, vocab);
		}
	}
	rc = 0;
out:
	eng_set_fast(e, 0);
	free(ref);
	free(tok);
	return rc;
}

int sub_bench(int argc, char **argv)
{
	const char *model = NULL;
	int n_prompt = 128, n_gen = 32, reps = 3, threads = 0, json = 0, reference = 1, n_step = 64, fast = 0;
	for (int i = 1; i < argc; i++) {
		const char *a = argv[i], *v;
		if (!strcmp(a, "--help") || !strcmp(a, "-h")) {
			fputs(usage, stdout);
			return 0;
		} else if (!strcmp(a, "--json")) {
			json = 1;
		} else if (!strcmp(a, "--no-reference")) {
			reference = 0;
		} else if (!strcmp(a, "--fast")) {
			fast = 1;
		} else if (!strcmp(a, "--model") || !strcmp(a, "-p") || !strcmp(a, "-n") || !strcmp(a, "-r") ||
			   !strcmp(a, "--threads") || !strcmp(a, "--step")) {
			if (!(v = cli_value(argc, argv, &i, "bench")))
				return 2;
			if (!strcmp(a, "--model")) {
				model = v;
				continue;
			}
			int x = atoi(v);
			if (x < 1 && strcmp(a, "-n") && strcmp(a, "--step")) {
				fprintf(stderr, "residual bench: %s must be at least 1\n", a);
				return 2;
			}
			if (x < 0) {
				fprintf(stderr, "residual bench: %s must not be negative\n", a);
				return 2;
			}
			*(!strcmp(a, "-p") ? &n_prompt : !strcmp(a, "-n") ? &n_gen : !strcmp(a, "-r") ? &reps :
			  !strcmp(a, "--step") ? &n_step : &threads) = x;
		} else {
			fprintf(stderr, "residual bench: unknown option '%s'\n%s", a, usage);
			return 2;
		}
	}
	if (!model) {
		fputs(usage, stderr);
		return 2;
	}
	if (threads)
		op_set_threads(threads);
	threads = op_threads();
	rs_err err = {{0}};
	double t0 = cli_now();
	rs_model *m = model_load(model, &err);
	if (!m) {
		fprintf(stderr, "residual bench: %s\n", err.msg);
		return 1;
	}
	double load_s = cli_now() - t0;
	const rs_config *c = &m->cfg;
	rs_engine *e = eng_create(m, &err);
	eng_set_cache_filter(e, "!*");
	eng_set_logits_all(e, 0);
	int32_t *ids = rs_xmalloc(sizeof(int32_t) * (size_t)n_prompt);
	uint64_t rng = 12345;
	for (int i = 0; i < n_prompt; i++) {
		rng = rng * 6364136223846793005ull + 1442695040888963407ull;
		ids[i] = (int32_t)((rng >> 33) % (uint64_t)c->vocab);
	}
	double *pp = rs_xmalloc(sizeof(double) * (size_t)reps), *tg = rs_xmalloc(sizeof(double) * (size_t)reps);
	int ok = 1;
	for (int r = 0; r < reps && ok; r++) {
		t0 = cli_now();
		ok = eng_set_prompt(e, ids, n_prompt, &err) == 0;
		eng_run(e);
		pp[r] = n_prompt / (cli_now() - t0);
		const float *lg = eng_last_logits(e);
		t0 = cli_now();
		for (int k = 0; k < n_gen && ok; k++)
			ok = (lg = eng_decode(e, sampler_argmax(lg, c->vocab), &err)) != NULL;
		tg[r] = n_gen ? n_gen / (cli_now() - t0) : 0;
	}
	/* --fast: its speed, and its logits against the exact path's on the same tokens */
	double *tf = rs_xmalloc(sizeof(double) * (size_t)reps), tf_med = 0, fast_diff = 0;
	int fast_same = 0;
	if (ok && fast && n_gen > 0)
		ok = fast_decode(e, ids, n_prompt, n_gen, reps, tf, &fast_diff, &fast_same, &err) == 0;
	double *tf_runs = rs_xmalloc(sizeof(double) * (size_t)reps);
	memcpy(tf_runs, tf, sizeof(double) * (size_t)reps);
	if (ok && fast && n_gen > 0)
		tf_med = median(tf, reps);
	/* the tutor's run: every hook cached, the logits of every position */
	double *st = rs_xmalloc(sizeof(double) * (size_t)reps), st_med = 0;
	if (ok && n_step > 0) {
		int32_t *sid = rs_xmalloc(sizeof(int32_t) * (size_t)n_step);
		for (int i = 0; i < n_step; i++)
			sid[i] = ids[i % n_prompt];
		eng_set_cache_filter(e, "*");
		eng_set_logits_all(e, 1);
		for (int r = 0; r < reps && ok; r++) {
			t0 = cli_now();
			ok = eng_set_prompt(e, sid, n_step, &err) == 0;
			eng_run(e);
			st[r] = (cli_now() - t0) * 1e3;
		}
		st_med = median(st, reps);
		free(sid);
	}
	if (!ok) {
		fprintf(stderr, "residual bench: %s\n", err.msg);
		return 1;
	}
	/* the samples in run order for --json, before median() sorts them */
	double *pp_runs = rs_xmalloc(sizeof(double) * (size_t)reps), *tg_runs = rs_xmalloc(sizeof(double) * (size_t)reps);
	memcpy(pp_runs, pp, sizeof(double) * (size_t)reps);
	memcpy(tg_runs, tg, sizeof(double) * (size_t)reps);
	double pp_med = median(pp, reps), tg_med = median(tg, reps), rss = cli_peak_rss_mb();
	double welems, wbytes = weight_bytes(m, &welems);
	/* 2 flops per weight per token, but only the last token goes through the unembedding */
	double flops_per_tok = 2.0 * (welems - (double)c->vocab * c->d_model);
	double bw = reference ? measure_bandwidth() : 0;
	double gemm = reference ? measure_sgemm(n_prompt, c->d_ff, c->d_model, threads, 0) : 0;
	double own = reference ? measure_sgemm(n_prompt, c->d_ff, c->d_model, threads, 1) : 0;
	double best_gemm = own > gemm ? own : gemm;
	double dec_gbs = tg_med * wbytes / 1e9, pre_gflops = pp_med * flops_per_tok / 1e9;
	if (json) {
		cJSON *o = cJSON_CreateObject();
		cJSON_AddStringToObject(o, "model", model);
		cJSON_AddStringToObject(o, "weights", rs_dtype_name(m->weight_type));
		cJSON_AddNumberToObject(o, "params", (double)config_param_count(c));
		cJSON_AddNumberToObject(o, "threads", threads);
		cJSON_AddStringToObject(o, "simd", kern_tier_name(kern_tier_in_use()));
		cJSON_AddNumberToObject(o, "load_s", load_s);
		cJSON_AddNumberToObject(o, "prefill_tokens", n_prompt);
		cJSON_AddNumberToObject(o, "prefill_tok_s", pp_med);
		cJSON_AddNumberToObject(o, "decode_tokens", n_gen);
		cJSON_AddNumberToObject(o, "decode_tok_s", tg_med);
		cJSON_AddItemToObject(o, "prefill_samples", cJSON_CreateDoubleArray(pp_runs, reps));
		cJSON_AddItemToObject(o, "decode_samples", cJSON_CreateDoubleArray(tg_runs, reps));
		if (fast && n_gen > 0) {
			cJSON_AddNumberToObject(o, "fast_decode_tok_s", tf_med);
			cJSON_AddItemToObject(o, "fast_decode_samples", cJSON_CreateDoubleArray(tf_runs, reps));
			cJSON_AddNumberToObject(o, "fast_max_logit_diff", fast_diff);
			cJSON_AddNumberToObject(o, "fast_same_top1", fast_same);
		}
		cJSON_AddNumberToObject(o, "peak_rss_mb", rss);
		if (n_step > 0) {
			cJSON_AddNumberToObject(o, "step_tokens", n_step);
			cJSON_AddNumberToObject(o, "step_ms", st_med);
		}
		cJSON_AddNumberToObject(o, "decode_gb_s", dec_gbs);
		cJSON_AddNumberToObject(o, "prefill_gflop_s", pre_gflops);
		cJSON_AddNumberToObject(o, "ref_read_gb_s", bw);
		cJSON_AddNumberToObject(o, "ref_sgemm_gflop_s", gemm);
		cJSON_AddStringToObject(o, "openblas_core", openblas_get_corename());
		cJSON_AddNumberToObject(o, "ref_own_gemm_gflop_s", own);
		char *s = cJSON_Print(o);
		puts(s);
		free(s);
		cJSON_Delete(o);
	} else {
		printf("model      %s (%s, %.1f M parameters, %.0f MB of matrices)\n", model,
		       rs_dtype_name(m->weight_type), config_param_count(c) / 1e6, wbytes / 1e6);
		printf("threads    %d (SIMD kernels: %s%s%s), load %.3f s\n", threads, kern_tier_name(kern_tier_in_use()),
		       *kern_tier_note() ? "; " : "", kern_tier_note(), load_s);
		printf("prefill    %d tokens: %.1f tokens/s (%.1f GFLOP/s", n_prompt, pp_med, pre_gflops);
		if (gemm > 0) {
			printf(";\n           f32 product at this shape: OpenBLAS sgemm (%s) %.1f GFLOP/s", openblas_get_corename(),
			       gemm);
			if (own > 0)
				printf(", residual's %.1f GFLOP/s", own);
			printf("; ratio to the faster %.2f", pre_gflops / best_gemm);
		}
		printf(")\n");
		printf("decode     %d tokens: %.2f tokens/s (%.2f GB/s of weights", n_gen, tg_med, dec_gbs);
		if (bw > 0)
			printf("; read bandwidth %.1f GB/s, ratio %.2f", bw, dec_gbs / bw);
		printf(")\n");
		if (fast && n_gen > 0)
			printf("decode     --fast (8-bit activations): %.2f tokens/s (%.2f GB/s); logits differ from the\n"
			       "           exact path's by at most %.4g; the same top token at %d of %d steps\n",
			       tf_med, tf_med * wbytes / 1e9, fast_diff, fast_same, n_gen);
		if (n_step > 0)
			printf("step       %d tokens through every hook, all cached, logits of every position: %.1f ms\n",
			       n_step, st_med);
		printf("peak RSS   %.0f MB\n", rss);
	}
	free(pp);
	free(tg);
	free(pp_runs);
	free(tg_runs);
	free(tf);
	free(tf_runs);
	free(st);
	free(ids);
	eng_free(e);
	model_free(m);
	return 0;
}
