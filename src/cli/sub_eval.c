/* sub_eval.c - `residual eval`: what a model has learned, measured through the
 * stepping engine (the forward pass the tutor shows): validation loss,
 * induction on repeated random tokens, previous-token heads, indirect objects,
 * facts with their logit lens, samples, and the time of a fully cached step. */
#include "config.h"
#include "cli.h"
#include "cliutil.h"
#include "corpus.h"
#include "engine.h"
#include "interp.h"
#include "model.h"
#include "ops.h"
#include "sampler.h"
#include "tokenizer.h"
#include "train.h"

#include <cJSON.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char usage[] =
	"usage: residual eval --model PATH [--data DIR] [--json] [options]\n\n"
	"Measures a model with the engine the tutor uses, each figure beside its target\n"
	"for the built-in model:\n"
	"  val_loss              mean next-token loss on DIR/val.txt (with --data), else on\n"
	"                        documents of the generator drawn with a held-out seed\n"
	"  induction             BOS + 50 random tokens twice (ARENA 1.2), --rep-seqs seeds:\n"
	"                        loss on the second half vs the first (drop >= 2 nats), and\n"
	"                        each head's induction score, the attention from a repeated\n"
	"                        token to the one after its first copy (max >= 0.5)\n"
	"  prev_token            each head's mean attention to the previous position on the\n"
	"                        validation text (max >= 0.5)\n"
	"  ioi                   held-out names and templates of the generator (corpus.h):\n"
	"                        P(logit(io) > logit(s)) (>= 80%%) and the mean logit\n"
	"                        difference (>= 1.0), also per split\n"
	"  facts                 held-out phrasings of trained facts: top-1 accuracy\n"
	"                        (>= 50%%), and the logit lens rank of the answer after each\n"
	"                        layer (it should improve through the later layers)\n"
	"  samples               greedy and sampled continuations of a few prompts\n"
	"  step_ms               a 64-token prompt run through every hook with all of them\n"
	"                        cached, median of 20 (target < 10 ms)\n\n"
	"options:\n"
	"  --model PATH          a GGUF or Hugging Face folder with a tokenizer (required)\n"
	"  --data DIR            corpus of `residual corpus build` (its val.txt)\n"
	"  --json                one JSON object on stdout instead of the report\n"
	"  --json-out FILE       also write the JSON object to FILE\n"
	"  --seed N              seed of the IOI items, random tokens and samples\n"
	"                        (default the corpus seed, %u)\n"
	"  --ioi N               IOI items (default 600, as ioi_eval.jsonl)\n"
	"  --windows N           validation windows of the context length (default 128)\n"
	"  --rep-seqs N          repeated-token sequences (default 20)\n"
	"  --no-samples          skip the continuations\n"
	"  --threads N           threads of the engine (default: all cores)\n";

/* ---------------------------------------------------------------- helpers */

typedef struct eval {
	rs_model *m;
	const rs_tokenizer *tok;
	rs_engine *e;
	rs_err *err;
	int L, H, V;
	/* IOI */
	int ioi_n, ioi_right, ioi_split_n[3], ioi_split_right[3], ioi_skipped;
	double ioi_diff, ioi_split_diff[3];
	/* facts */
	int fact_n, fact_right, fact_skipped;
	int fact_ph_n[CORPUS_FACT_HELDOUT], fact_ph_right[CORPUS_FACT_HELDOUT]; /* by held-out phrasing */
	double *lens_logrank; /* [L] Σ log2(rank) after each layer, ranks from 1 */
	int *lens_top1;       /* [L] */
	float *lens_buf;      /* [V] */
	int failed;
} eval;

/* The id of s when it is exactly one token, else -1. */
static int32_t one_token(const rs_tokenizer *tok, const char *s)
{
	int32_t *ids = NULL;
	int n = 0;
	rs_err e;
	if (tok_encode(tok, s, strlen(s), 0, &ids, NULL, &n, &e))
		return -1;
	int32_t id = n == 1 ? ids[0] : -1;
	free(ids);
	return id;
}

static int run_prompt(eval *ev, const char *text, const char *cache, int *T)
{
	int32_t *ids = NULL;
	int n = 0;
	int flags = tok_bos(ev->tok) >= 0 ? TOK_ADD_BOS : 0;
	if (tok_encode(ev->tok, text, strlen(text), flags, &ids, NULL, &n, ev->err))
		return -1;
	if (n > ev->m->cfg.max_ctx) {
		free(ids);
		return rs_fail(ev->err, "prompt of %d tokens exceeds the context %d", n, ev->m->cfg.max_ctx);
	}
	eng_set_cache_filter(ev->e, cache);
	int rc = eng_set_prompt(ev->e, ids, n, ev->err);
	free(ids);
	if (rc)
		return -1;
	eng_run(ev->e);
	*T = n;
	return 0;
}

/* Logits of the last position of the prompt just run. */
static const float *last_logits(eval *ev)
{
	const rs_act *lg = eng_act(ev->e, (rs_hook){HOOK_LOGITS, -1});
	return lg ? lg->data + (size_t)(lg->shape[0] - 1) * ev->V : NULL;
}

/* ---------------------------------------------------------------- validation and previous-token heads */

typedef struct val_result {
	double loss;
	int windows, T;
	float *prev;     /* [L, H] mean previous-token score */
} val_result;

/* Held-out documents of the generator: a seed no corpus build uses by default. */
static int generated_val(const rs_tokenizer *tok, train_data *d, rs_err *err)
{
	corpus_rng r;
	corpus_rng_seed(&r, CORPUS_DEFAULT_SEED ^ 0x5eedfaceull, 99);
	rs_strbuf b;
	strbuf_init(&b);
	static const int mix[] = {CORPUS_GEN_STORY, CORPUS_GEN_STORY, CORPUS_GEN_STORY, CORPUS_GEN_IOI,
				  CORPUS_GEN_FACT, CORPUS_GEN_INDUCT};
	for (int i = 0; i < 600; i++) {
		corpus_gen_doc(mix[i % 6], &r, &b);
		strbuf_puts(&b, "\n" CORPUS_DOC_SEP "\n");
	}
	char path[] = "/tmp/residual-eval-XXXXXX";
	int fd = mkstemp(path);
	FILE *f = fd >= 0 ? fdopen(fd, "w") : NULL;
	if (!f) {
		strbuf_free(&b);
		return rs_fail(err, "cannot write a temporary file for the generated validation text");
	}
	fwrite(b.p, 1, b.n, f);
	fclose(f);
	strbuf_free(&b);
	int rc = train_data_load(path, tok, 0, d, err);
	remove(path);
	return rc;
}

static int eval_val(eval *ev, const char *data, int max_windows, val_result *out)
{
	train_data d;
	char path[4096];
	int rc;
	if (data) {
		snprintf(path, sizeof path, "%s/val.txt", data);
		rc = train_data_load(path, ev->tok, 1, &d, ev->err);
	} else {
		rc = generated_val(ev->tok, &d, ev->err);
	}
	if (rc)
		return -1;
	int T = ev->m->cfg.max_ctx < 256 ? ev->m->cfg.max_ctx : 256;
	train_data_index(&d, T);
	if (d.n_starts <= 0) {
		train_data_free(&d);
		return rs_fail(ev->err, "validation text: fewer than %d tokens", T + 1);
	}
	int nw = d.n_starts < max_windows ? (int)d.n_starts : max_windows;
	out->prev = rs_xcalloc((size_t)ev->L * ev->H, sizeof(float));
	out->T = T;
	double loss = 0;
	eng_set_cache_filter(ev->e, "*attn.hook_pattern,logits");
	for (int w = 0; w < nw; w++) {
		int64_t s = d.starts ? d.starts[(int64_t)w * d.n_starts / nw] : (int64_t)w * d.n_starts / nw;
		if (eng_set_prompt(ev->e, d.ids + s, T, ev->err))
			break;
		eng_run(ev->e);
		const rs_act *lg = eng_act(ev->e, (rs_hook){HOOK_LOGITS, -1});
		double l = 0;
		for (int t = 0; t < T; t++) { /* position t predicts ids[s + t + 1] */
			const float *row = lg->data + (size_t)t * ev->V;
			l += vec_softmax(row, ev->V, NULL) - row[d.ids[s + t + 1]];
		}
		loss += l / T;
		head_scores *hs = heads_score(ev->e, ev->err);
		if (!hs)
			break;
		for (int i = 0; i < ev->L * ev->H; i++)
			out->prev[i] += hs->prev[i] / nw;
		heads_free(hs);
		out->windows = w + 1;
	}
	train_data_free(&d);
	if (out->windows != nw)
		return -1;
	out->loss = loss / nw;
	return 0;
}

/* ---------------------------------------------------------------- induction */

typedef struct rep_summary {
	double first, second;
	float *induction; /* [L, H] */
	int seqs;
} rep_summary;

static int eval_rep(eval *ev, int seqs, uint64_t seed, rep_summary *out)
{
	/* random tokens among the merged ones: not the raw bytes (rare alone in
	 * text) nor the special tokens at the end of the vocabulary */
	int32_t lo = ev->V > 1024 ? 256 : 0, hi = ev->V;
	for (int32_t i = lo; i < ev->V; i++)
		if (tok_is_special(ev->tok, i)) {
			hi = i;
			break;
		}
	out->induction = rs_xcalloc((size_t)ev->L * ev->H, sizeof(float));
	for (int s = 0; s < seqs; s++) {
		rep_opts o = {.n = 50, .seed = seed + (uint64_t)s * 7919, .tok_lo = lo, .tok_hi = hi};
		rep_result *r = rep_run(ev->m, &o, ev->err);
		if (!r)
			return -1;
		out->first += r->loss_first / seqs;
		out->second += r->loss_second / seqs;
		for (int i = 0; i < ev->L * ev->H; i++)
			out->induction[i] += r->scores->induction[i] / seqs;
		rep_free(r);
	}
	out->seqs = seqs;
	return 0;
}

/* ---------------------------------------------------------------- IOI and facts */

static int ioi_item(const corpus_ioi_item *it, void *ctx)
{
	eval *ev = ctx;
	int32_t io = one_token(ev->tok, it->io), s = one_token(ev->tok, it->s);
	int T;
	if (io < 0 || s < 0) { /* the tokenizer of another corpus: not measurable */
		ev->ioi_skipped++;
		return 0;
	}
	if (run_prompt(ev, it->prompt, "logits", &T)) {
		ev->failed = 1;
		return 1;
	}
	const float *lg = last_logits(ev);
	double diff = (double)lg[io] - lg[s];
	ev->ioi_n++;
	ev->ioi_right += diff > 0;
	ev->ioi_diff += diff;
	if (it->split >= 0 && it->split < 3) {
		ev->ioi_split_n[it->split]++;
		ev->ioi_split_right[it->split] += diff > 0;
		ev->ioi_split_diff[it->split] += diff;
	}
	return 0;
}

static int fact_item(const corpus_fact_item *it, void *ctx)
{
	eval *ev = ctx;
	int32_t ans = one_token(ev->tok, it->answer);
	int T;
	if (ans < 0) {
		ev->fact_skipped++;
		return 0;
	}
	if (run_prompt(ev, it->prompt, "logits,*hook_resid_post", &T)) {
		ev->failed = 1;
		return 1;
	}
	const float *lg = last_logits(ev);
	ev->fact_n++;
	ev->fact_right += interp_rank(lg, ev->V, ans) == 0;
	int ph = it->phrasing - (CORPUS_FACT_PHRASINGS - CORPUS_FACT_HELDOUT);
	if (ph >= 0 && ph < CORPUS_FACT_HELDOUT) {
		ev->fact_ph_n[ph]++;
		ev->fact_ph_right[ph] += interp_rank(lg, ev->V, ans) == 0;
	}
	for (int l = 0; l < ev->L; l++) {
		if (lens_logits(ev->e, (rs_hook){HOOK_RESID_POST, l}, T - 1, ev->lens_buf, ev->err)) {
			ev->failed = 1;
			return 1;
		}
		int rank = interp_rank(ev->lens_buf, ev->V, ans) + 1; /* ranks count from 1 */
		ev->lens_logrank[l] += log2((double)rank);
		ev->lens_top1[l] += rank == 1;
	}
	return 0;
}

/* ---------------------------------------------------------------- samples and timing */

static char *continuation(eval *ev, const char *prompt, int n, float temp, uint64_t seed)
{
	int T;
	if (run_prompt(ev, prompt, "logits", &T))
		return NULL;
	rs_sampler s;
	sampler_init(&s, ev->V, temp, 0.95f, seed);
	int32_t *out = rs_xmalloc(sizeof(int32_t) * (size_t)n);
	int k = 0;
	const float *lg = last_logits(ev);
	while (k < n && T + k < ev->m->cfg.max_ctx) {
		int32_t t = temp > 0 ? sampler_sample(&s, lg) : sampler_argmax(lg, ev->V);
		if (t == tok_eos(ev->tok) || t == tok_eot(ev->tok))
			break;
		out[k++] = t;
		if (!(lg = eng_decode(ev->e, t, ev->err)))
			break;
	}
	sampler_free(&s);
	char *text = NULL;
	size_t len;
	if (tok_decode(ev->tok, out, k, TOK_SKIP_SPECIAL, &text, &len, ev->err))
		text = NULL;
	free(out);
	return text;
}

static double step_ms(eval *ev)
{
	int32_t ids[64];
	uint64_t st = 1;
	for (int i = 0; i < 64; i++) {
		st = st * 6364136223846793005ull + 1442695040888963407ull;
		ids[i] = (int32_t)((st >> 33) % (uint64_t)ev->V);
	}
	if (tok_bos(ev->tok) >= 0)
		ids[0] = tok_bos(ev->tok);
	double t[20];
	eng_set_cache_filter(ev->e, "*");
	for (int r = 0; r < 21; r++) {
		double t0 = cli_now();
		eng_set_prompt(ev->e, ids, 64, NULL);
		eng_run(ev->e);
		if (r) /* the first run warms the buffers up */
			t[r - 1] = (cli_now() - t0) * 1e3;
	}
	for (int i = 0; i < 20; i++) /* insertion sort: 20 numbers */
		for (int j = i; j > 0 && t[j] < t[j - 1]; j--) {
			double x = t[j];
			t[j] = t[j - 1];
			t[j - 1] = x;
		}
	return 0.5 * (t[9] + t[10]);
}

/* ---------------------------------------------------------------- report */

static int argmax_f(const float *x, int n)
{
	int b = 0;
	for (int i = 1; i < n; i++)
		if (x[i] > x[b])
			b = i;
	return b;
}

static const char *const sample_prompts[] = {
	"Once upon a time",
	"When Mary and John went to the store, John gave a drink to",
	"The capital of France is",
	"It is a truth universally acknowledged",
};

int sub_eval(int argc, char **argv)
{
	const char *model = NULL, *data = NULL, *json_out = NULL;
	int json = 0, n_ioi = 600, windows = 128, rep_seqs = 20, samples = 1, threads = 0;
	uint64_t seed = CORPUS_DEFAULT_SEED;
	for (int i = 1; i < argc; i++) {
		const char *a = argv[i], *v;
		if (!strcmp(a, "--help") || !strcmp(a, "-h")) {
			printf(usage, CORPUS_DEFAULT_SEED);
			return 0;
		} else if (!strcmp(a, "--json")) {
			json = 1;
		} else if (!strcmp(a, "--no-samples")) {
			samples = 0;
		} else if (!strcmp(a, "--model") || !strcmp(a, "--data") || !strcmp(a, "--json-out") ||
			   !strcmp(a, "--seed") || !strcmp(a, "--ioi") || !strcmp(a, "--windows") ||
			   !strcmp(a, "--rep-seqs") || !strcmp(a, "--threads")) {
			if (!(v = cli_value(argc, argv, &i, "eval")))
				return 2;
			char *end = NULL;
			long n = strtol(v, &end, 10);
			int num = end != v && !*end && n >= 0;
			if (!strcmp(a, "--model"))
				model = v;
			else if (!strcmp(a, "--json-out"))
				json_out = v;
			else if (!strcmp(a, "--data"))
				data = v;
			else if (!num || (n < 1 && strcmp(a, "--seed")))
				return fprintf(stderr, "residual eval: %s wants a positive integer, not '%s'\n", a, v), 2;
			else if (!strcmp(a, "--seed"))
				seed = (uint64_t)n;
			else if (!strcmp(a, "--ioi"))
				n_ioi = (int)n;
			else if (!strcmp(a, "--windows"))
				windows = (int)n;
			else if (!strcmp(a, "--rep-seqs"))
				rep_seqs = (int)n;
			else
				threads = (int)n;
		} else {
			fprintf(stderr, "residual eval: unknown argument '%s' (see --help)\n", a);
			return 2;
		}
	}
	if (!model) {
		fprintf(stderr, "residual eval: --model PATH is required (see --help)\n");
		return 2;
	}
	if (threads)
		op_set_threads(threads);
	rs_err err = {{0}};
	eval ev = {0};
	ev.err = &err;
	val_result val = {0};
	rep_summary rep = {0};
	cJSON *o = NULL;
	int rc = 1;
	double t0 = cli_now();
	if (!(ev.m = model_load(model, &err)))
		goto fail;
	if (!(ev.tok = ev.m->tok)) {
		rs_fail(&err, "%s has no tokenizer", model);
		goto fail;
	}
	if (!(ev.e = eng_create(ev.m, &err)))
		goto fail;
	ev.L = ev.m->cfg.n_layers, ev.H = ev.m->cfg.n_heads, ev.V = ev.m->cfg.vocab;
	ev.lens_logrank = rs_xcalloc((size_t)ev.L, sizeof(double));
	ev.lens_top1 = rs_xcalloc((size_t)ev.L, sizeof(int));
	ev.lens_buf = rs_xmalloc(sizeof(float) * (size_t)ev.V);

	if (eval_val(&ev, data, windows, &val) || eval_rep(&ev, rep_seqs, seed, &rep))
		goto fail;
	eng_set_logits_all(ev.e, 0);
	corpus_ioi_eval(seed, n_ioi, ioi_item, &ev);
	if (!ev.failed)
		corpus_fact_eval(seed, 0, fact_item, &ev);
	eng_set_logits_all(ev.e, 1);
	if (ev.failed)
		goto fail;
	double ms = step_ms(&ev);

	int LH = ev.L * ev.H;
	int best_prev = argmax_f(val.prev, LH), best_ind = argmax_f(rep.induction, LH);
	double ioi_acc = ev.ioi_n ? (double)ev.ioi_right / ev.ioi_n : NAN;
	double ioi_diff = ev.ioi_n ? ev.ioi_diff / ev.ioi_n : NAN;
	double fact_top1 = ev.fact_n ? (double)ev.fact_right / ev.fact_n : NAN;
	static const char *const split_name[3] = {"heldout_names", "heldout_template", "heldout_both"};

	o = cJSON_CreateObject();
	cJSON_AddStringToObject(o, "model", model);
	cJSON_AddNumberToObject(o, "params", (double)config_param_count(&ev.m->cfg));
	cJSON_AddNumberToObject(o, "val_loss", val.loss);
	cJSON_AddStringToObject(o, "val_source", data ? "val.txt" : "generated");
	cJSON_AddNumberToObject(o, "val_windows", val.windows);
	cJSON_AddNumberToObject(o, "val_window_tokens", val.T);
	cJSON_AddNumberToObject(o, "induction_loss_first", rep.first);
	cJSON_AddNumberToObject(o, "induction_loss_second", rep.second);
	cJSON_AddNumberToObject(o, "induction_loss_drop", rep.first - rep.second);
	cJSON_AddNumberToObject(o, "induction_score_max", rep.induction[best_ind]);
	char head[32];
	snprintf(head, sizeof head, "%d.%d", best_ind / ev.H, best_ind % ev.H);
	cJSON_AddStringToObject(o, "induction_head", head);
	cJSON_AddNumberToObject(o, "prev_token_score_max", val.prev[best_prev]);
	snprintf(head, sizeof head, "%d.%d", best_prev / ev.H, best_prev % ev.H);
	cJSON_AddStringToObject(o, "prev_token_head", head);
	cJSON_AddNumberToObject(o, "ioi_accuracy", ioi_acc);
	cJSON_AddNumberToObject(o, "ioi_logit_diff_mean", ioi_diff);
	cJSON_AddNumberToObject(o, "ioi_n", ev.ioi_n);
	cJSON *splits = cJSON_AddObjectToObject(o, "ioi_splits");
	for (int s = 0; s < 3; s++) {
		cJSON *so = cJSON_AddObjectToObject(splits, split_name[s]);
		int n = ev.ioi_split_n[s];
		cJSON_AddNumberToObject(so, "n", n);
		cJSON_AddNumberToObject(so, "accuracy", n ? (double)ev.ioi_split_right[s] / n : NAN);
		cJSON_AddNumberToObject(so, "logit_diff_mean", n ? ev.ioi_split_diff[s] / n : NAN);
	}
	cJSON_AddNumberToObject(o, "fact_top1", fact_top1);
	cJSON_AddNumberToObject(o, "fact_n", ev.fact_n);
	cJSON *fp = cJSON_AddArrayToObject(o, "fact_top1_by_phrasing"); /* the held-out ones, in order */
	for (int i = 0; i < CORPUS_FACT_HELDOUT; i++)
		cJSON_AddItemToArray(fp, cJSON_CreateNumber(ev.fact_ph_n[i] ? (double)ev.fact_ph_right[i] / ev.fact_ph_n[i]
										: NAN));
	cJSON *lr = cJSON_AddArrayToObject(o, "fact_lens_mean_log2_rank");
	cJSON *lt = cJSON_AddArrayToObject(o, "fact_lens_top1");
	for (int l = 0; l < ev.L; l++) {
		cJSON_AddItemToArray(lr, cJSON_CreateNumber(ev.fact_n ? ev.lens_logrank[l] / ev.fact_n : NAN));
		cJSON_AddItemToArray(lt, cJSON_CreateNumber(ev.fact_n ? (double)ev.lens_top1[l] / ev.fact_n : NAN));
	}
	cJSON_AddNumberToObject(o, "step64_all_hooks_ms", ms);
	cJSON *heads = cJSON_AddObjectToObject(o, "heads");
	cJSON *hp = cJSON_AddArrayToObject(heads, "prev_token"), *hi = cJSON_AddArrayToObject(heads, "induction");
	for (int i = 0; i < LH; i++) {
		cJSON_AddItemToArray(hp, cJSON_CreateNumber(val.prev[i]));
		cJSON_AddItemToArray(hi, cJSON_CreateNumber(rep.induction[i]));
	}
	cJSON *sm = samples ? cJSON_AddArrayToObject(o, "samples") : NULL;
	for (size_t i = 0; samples && i < sizeof sample_prompts / sizeof *sample_prompts; i++) {
		char *g = continuation(&ev, sample_prompts[i], 40, 0, 0);
		char *s = continuation(&ev, sample_prompts[i], 40, 0.8f, seed + i);
		cJSON *so = cJSON_CreateObject();
		cJSON_AddStringToObject(so, "prompt", sample_prompts[i]);
		cJSON_AddStringToObject(so, "greedy", g ? g : "");
		cJSON_AddStringToObject(so, "sampled", s ? s : "");
		cJSON_AddItemToArray(sm, so);
		free(g);
		free(s);
	}
	cJSON_AddNumberToObject(o, "seconds", cli_now() - t0);

	if (json_out) {
		char *s = cJSON_Print(o);
		FILE *f = fopen(json_out, "w");
		int ok = f && fputs(s, f) >= 0 && fputc('\n', f) != EOF;
		ok = (f && fclose(f) == 0) && ok;
		free(s);
		if (!ok) {
			rs_fail(&err, "%s: cannot write the JSON", json_out);
			goto fail;
		}
	}
	if (json) {
		char *s = cJSON_Print(o);
		puts(s);
		free(s);
	} else {
		const rs_config *c = &ev.m->cfg;
#define MARK(ok) ((ok) ? "ok  " : "MISS")
		printf("model %s: %d layers, d %d, %d heads (%d kv), ff %d, vocab %d, %.2fM parameters\n", model,
		       c->n_layers, c->d_model, c->n_heads, c->n_kv_heads, c->d_ff, c->vocab,
		       config_param_count(c) / 1e6);
		printf("     val_loss              %.4f  (%s, %d windows of %d tokens)\n", val.loss,
		       data ? "val.txt" : "generated text", val.windows, val.T);
		printf("%s induction_loss_drop   %.3f  (first half %.3f, second %.3f; target >= 2)\n",
		       MARK(rep.first - rep.second >= 2), rep.first - rep.second, rep.first, rep.second);
		printf("%s induction_score_max   %.3f  (head %d.%d; target >= 0.5)\n", MARK(rep.induction[best_ind] >= 0.5f),
		       rep.induction[best_ind], best_ind / ev.H, best_ind % ev.H);
		printf("%s prev_token_score_max  %.3f  (head %d.%d; target >= 0.5)\n", MARK(val.prev[best_prev] >= 0.5f),
		       val.prev[best_prev], best_prev / ev.H, best_prev % ev.H);
		printf("%s ioi_accuracy          %.3f  (%d items; target >= 0.8)\n", MARK(ioi_acc >= 0.8), ioi_acc,
		       ev.ioi_n);
		printf("%s ioi_logit_diff_mean   %.3f  (target >= 1.0)\n", MARK(ioi_diff >= 1.0), ioi_diff);
		for (int s = 0; s < 3; s++)
			if (ev.ioi_split_n[s])
				printf("       %-17s accuracy %.3f, logit diff %.3f (%d)\n", split_name[s],
				       (double)ev.ioi_split_right[s] / ev.ioi_split_n[s],
				       ev.ioi_split_diff[s] / ev.ioi_split_n[s], ev.ioi_split_n[s]);
		printf("%s fact_top1             %.3f  (%d held-out phrasings; target >= 0.5)\n", MARK(fact_top1 >= 0.5),
		       fact_top1, ev.fact_n);
		printf("       by held-out phrasing:");
		for (int i = 0; i < CORPUS_FACT_HELDOUT; i++)
			printf(" %d: %.3f (%d)", CORPUS_FACT_PHRASINGS - CORPUS_FACT_HELDOUT + i,
			       ev.fact_ph_n[i] ? (double)ev.fact_ph_right[i] / ev.fact_ph_n[i] : NAN, ev.fact_ph_n[i]);
		printf("\n     fact logit lens       after layer:");
		for (int l = 0; l < ev.L; l++)
			printf(" %d", l);
		printf("\n       mean log2(rank)        ");
		for (int l = 0; l < ev.L; l++)
			printf(" %.2f", ev.fact_n ? ev.lens_logrank[l] / ev.fact_n : NAN);
		printf("\n       top-1                  ");
		for (int l = 0; l < ev.L; l++)
			printf(" %.2f", ev.fact_n ? (double)ev.lens_top1[l] / ev.fact_n : NAN);
		printf("\n%s step64_all_hooks_ms   %.2f  (median of 20; target < 10)\n", MARK(ms < 10), ms);
		if (ev.ioi_skipped || ev.fact_skipped)
			printf("     (skipped %d IOI and %d fact items whose answers are not single tokens)\n",
			       ev.ioi_skipped, ev.fact_skipped);
		for (int i = 0; sm && i < cJSON_GetArraySize(sm); i++) {
			cJSON *so = cJSON_GetArrayItem(sm, i);
			printf("sample \"%s\"\n  greedy:  %s\n  sampled: %s\n",
			       cJSON_GetObjectItem(so, "prompt")->valuestring,
			       cJSON_GetObjectItem(so, "greedy")->valuestring,
			       cJSON_GetObjectItem(so, "sampled")->valuestring);
		}
#undef MARK
	}
	rc = 0;
	goto done;
fail:
	fprintf(stderr, "residual eval: %s\n", err.msg);
done:
	cJSON_Delete(o);
	free(val.prev);
	free(rep.induction);
	free(ev.lens_logrank);
	free(ev.lens_top1);
	free(ev.lens_buf);
	eng_free(ev.e);
	model_free(ev.m);
	return rc;
}
