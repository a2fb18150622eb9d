/* sub_train_sae.c - `residual train-sae`: a sparse autoencoder of one hook
 * of a model, trained on its activations over a corpus of `residual corpus
 * build`, measured on the held-out text, with the index of each feature's
 * top contexts beside it. */
#include "config.h"
#include "cli.h"
#include "cliutil.h"
#include "corpus.h"
#include "engine.h"
#include "model.h"
#include "ops.h"
#include "sae.h"
#include "sae_train.h"
#include "tokenizer.h"
#include "train.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char usage[] =
	"usage: residual train-sae --model PATH --hook HOOK --data DIR [options]\n\n"
	"Trains a sparse autoencoder of HOOK (a hook of shape [T, width], e.g.\n"
	"blocks.2.hook_resid_post) on the model's activations over windows of\n"
	"DIR/train.txt, run through the stepping engine; measures it on windows of\n"
	"DIR/val.txt (normalised MSE, L0, the next-token loss with the reconstruction\n"
	"in place of HOOK against clean, zero- and mean-ablated); writes OUT and the\n"
	"index of each feature's top contexts in the training windows as\n"
	"OUT-without-.gguf.index.gguf. Deterministic for the same options and --threads.\n\n"
	"options:\n"
	"  --type relu|topk      activation (default topk, Gao et al. 2024)\n"
	"  --k N                 topk: active features per vector (default 32)\n"
	"  --l1 X                relu: L1 coefficient (default 5e-3)\n"
	"  --expansion N         features = N x width (default 8)\n"
	"  --windows N           training windows of --ctx tokens (default 4096)\n"
	"  --ctx N               window length in tokens (default 128; position 0, the\n"
	"                        BOS, is left out)\n"
	"  --steps N             Adam updates (default 2000)\n"
	"  --batch N             vectors an update (default 4096)\n"
	"  --lr X                peak learning rate (default 1e-3; warmup 50 steps,\n"
	"                        linear to 0 over the last 20%%)\n"
	"  --seed N              initialisation, windows and order (default 1)\n"
	"  --eval-windows N      held-out windows of val.txt (default 64)\n"
	"  --top N               contexts kept per feature (default 8)\n"
	"  --threads N           threads (default 2)\n"
	"  --out FILE.gguf       (default sae.gguf)\n";

typedef struct opts {
	const char *model, *hook, *data, *out;
	int type, k, expansion, windows, ctx, batch, eval_windows, top, threads;
	int64_t steps;
	float lr, l1;
	uint64_t seed;
} opts;

static void log_step(void *ctx, int64_t step, double mse, double l0)
{
	double t0 = *(double *)ctx;
	fprintf(stderr, "step %6lld  mse %.5f  L0 %.1f  %.0f s\n", (long long)step, mse, l0, cli_now() - t0);
}

/* Windows of T tokens spread evenly over a corpus file's starts, in a seeded
 * order; the ids stay in *d. */
static int load_windows(const char *dir, const char *file, const rs_tokenizer *tok, int T, int64_t want,
			train_data *d, int64_t **starts, int64_t *n, rs_err *err)
{
	char path[4096];
	snprintf(path, sizeof path, "%s/%s", dir, file);
	if (train_data_load(path, tok, 1, d, err))
		return -1;
	train_data_index(d, T);
	if (d->n_starts < 1) {
		train_data_free(d);
		return rs_fail(err, "%s: fewer than %d tokens", path, T + 1);
	}
	*n = want < d->n_starts ? want : d->n_starts;
	*starts = rs_xmalloc(sizeof(int64_t) * (size_t)*n);
	for (int64_t w = 0; w < *n; w++)
		(*starts)[w] = d->starts[w * d->n_starts / *n];
	return 0;
}

static int parse(int argc, char **argv, opts *o)
{
	*o = (opts){.out = "sae.gguf", .type = SAE_TOPK, .k = 32, .expansion = 8, .windows = 4096, .ctx = 128,
		    .batch = 4096, .eval_windows = 64, .top = 8, .threads = 2, .steps = 2000, .lr = 1e-3f,
		    .l1 = 5e-3f, .seed = 1};
	for (int i = 1; i < argc; i++) {
		const char *a = argv[i], *v;
		if (!strcmp(a, "--help") || !strcmp(a, "-h")) {
			fputs(usage, stdout);
			exit(0);
		}
		if (!(v = cli_value(argc, argv, &i, "train-sae")))
			return -1;
		char *end = NULL;
		double x = strtod(v, &end);
		int num = end != v && !*end;
		int *ip = !strcmp(a, "--k") ? &o->k : !strcmp(a, "--expansion") ? &o->expansion
			: !strcmp(a, "--windows") ? &o->windows : !strcmp(a, "--ctx") ? &o->ctx
			: !strcmp(a, "--batch") ? &o->batch : !strcmp(a, "--eval-windows") ? &o->eval_windows
			: !strcmp(a, "--top") ? &o->top : !strcmp(a, "--threads") ? &o->threads : NULL;
		if (!strcmp(a, "--model"))
			o->model = v;
		else if (!strcmp(a, "--hook"))
			o->hook = v;
		else if (!strcmp(a, "--data"))
			o->data = v;
		else if (!strcmp(a, "--out"))
			o->out = v;
		else if (!strcmp(a, "--type")) {
			if ((o->type = sae_type_parse(v)) < 0)
				return fprintf(stderr, "residual train-sae: --type is relu or topk, not '%s'\n", v), -1;
		} else if (!num || x < 0 || x > 1e9)
			return fprintf(stderr, "residual train-sae: %s wants a number, not '%s'\n", a, v), -1;
		else if (ip) {
			if (x < 1 || x != (int)x)
				return fprintf(stderr, "residual train-sae: %s wants a positive integer, not '%s'\n", a, v),
				       -1;
			*ip = (int)x;
		} else if (!strcmp(a, "--steps") && x >= 1)
			o->steps = (int64_t)x;
		else if (!strcmp(a, "--lr") && x > 0)
			o->lr = (float)x;
		else if (!strcmp(a, "--l1"))
			o->l1 = (float)x;
		else if (!strcmp(a, "--seed"))
			o->seed = (uint64_t)x;
		else
			return fprintf(stderr, "residual train-sae: unknown argument '%s' or bad value '%s' (see --help)\n",
				       a, v), -1;
	}
	if (!o->model || !o->hook || !o->data)
		return fprintf(stderr, "residual train-sae: --model, --hook and --data are required (see --help)\n"), -1;
	if (o->ctx < 2 || o->top > 64)
		return fprintf(stderr, "residual train-sae: --ctx must be at least 2 and --top at most 64\n"), -1;
	return 0;
}

int sub_train_sae(int argc, char **argv)
{
	opts o;
	if (parse(argc, argv, &o))
		return 2;
	op_set_threads(o.threads);
	rs_err err = {{0}};
	rs_model *m = NULL;
	rs_engine *e = NULL;
	rs_sae *s = NULL;
	rs_sae_index *ix = NULL;
	sae_acts acts = {0};
	train_data tr = {0}, va = {0};
	int64_t *tr_starts = NULL, *va_starts = NULL, n_tr = 0, n_va = 0;
	float *mean = NULL;
	int rc = 1;
	rs_hook h;
	double t0 = cli_now();
	if (!(m = model_load(o.model, &err)) || !(e = eng_create(m, &err)))
		goto fail;
	if (!m->tok) {
		rs_fail(&err, "%s has no tokenizer", o.model);
		goto fail;
	}
	if (hook_parse(o.hook, m->cfg.n_layers, &h)) {
		rs_fail(&err, "--hook: '%s' is not a hook of this model (e.g. blocks.2.hook_resid_post)", o.hook);
		goto fail;
	}
	if (o.ctx > m->cfg.max_ctx)
		o.ctx = m->cfg.max_ctx;
	if (load_windows(o.data, "train.txt", m->tok, o.ctx, o.windows, &tr, &tr_starts, &n_tr, &err) ||
	    load_windows(o.data, "val.txt", m->tok, o.ctx, o.eval_windows, &va, &va_starts, &n_va, &err))
		goto fail;
	fprintf(stderr, "train-sae: collecting %s over %lld windows of %d tokens\n", o.hook, (long long)n_tr, o.ctx);
	if (sae_collect(e, h, tr.ids, tr_starts, n_tr, o.ctx, &acts, &err))
		goto fail;
	double t_collect = cli_now() - t0;
	int d = acts.d, n = d * o.expansion;
	if (o.k > n)
		o.k = n;
	fprintf(stderr, "train-sae: %lld vectors of %d (%.0f s); %s SAE of %d features\n", (long long)acts.N, d,
		t_collect, sae_type_name((rs_sae_type)o.type), n);
	s = sae_create(d, n, (rs_sae_type)o.type, o.k, h);
	sae_train_opts to = {.steps = o.steps, .batch = o.batch, .lr = o.lr, .warmup = 50, .l1 = o.l1, .seed = o.seed,
			     .log_every = 100};
	double first, last, t1 = cli_now();
	sae_train(s, acts.x, acts.N, &to, log_step, &t1, &first, &last);
	double t_train = cli_now() - t1;
	/* the data's mean, for the mean-ablation baseline */
	mean = rs_xcalloc((size_t)d, sizeof(float));
	for (int j = 0; j < d; j++) {
		double acc = 0;
		for (int64_t i = 0; i < acts.N; i++)
			acc += acts.x[i * d + j];
		mean[j] = (float)(acc / (double)acts.N);
	}
	const char *base = strrchr(o.model, '/');
	snprintf(s->meta.model, sizeof s->meta.model, "%s", base ? base + 1 : o.model);
	s->meta.seed = o.seed, s->meta.tokens = o.steps * o.batch, s->meta.steps = o.steps, s->meta.batch = o.batch;
	s->meta.lr = o.lr, s->meta.l1 = o.type == SAE_RELU ? o.l1 : 0;
	s->meta.seconds = t_train;
	if (sae_measure(e, s, va.ids, va_starts, n_va, o.ctx, mean, &err))
		goto fail;
	ix = sae_build_index(s, &acts, tr.ids, tr.n, o.top, 16, 12);
	char ipath[4096];
	sae_index_path(o.out, ipath, sizeof ipath);
	if (sae_save(s, o.out, &err) || sae_index_save(ix, ipath, &err))
		goto fail;
	const rs_sae_meta *mt = &s->meta;
	double rec = mt->ce_zero > mt->ce_clean ? (mt->ce_zero - mt->ce_sae) / (mt->ce_zero - mt->ce_clean) : 0;
	double recm = mt->ce_mean > mt->ce_clean ? (mt->ce_mean - mt->ce_sae) / (mt->ce_mean - mt->ce_clean) : 0;
	printf("hook                 %s\n", o.hook);
	printf("type                 %s (k %d), %d features (x%d)\n", sae_type_name(s->type), s->k, n, o.expansion);
	printf("vectors              %lld collected (%lld windows of %d, BOS left out), %.0f s\n", (long long)acts.N,
	       (long long)n_tr, o.ctx, t_collect);
	printf("training             %lld steps of %d, %.0f s; mse %.5f -> %.5f\n", (long long)o.steps, o.batch,
	       t_train, first, last);
	printf("held out             %lld windows of val.txt\n", (long long)n_va);
	printf("normalised MSE       %.4f (variance explained %.4f)\n", mt->nmse, 1 - mt->nmse);
	printf("L0                   %.2f\n", mt->l0);
	printf("dead features        %lld of %d (never active over the %lld training vectors)\n",
	       (long long)mt->dead, n, (long long)acts.N);
	printf("loss clean           %.4f\n", mt->ce_clean);
	printf("loss with the SAE    %.4f\n", mt->ce_sae);
	printf("loss zero-ablated    %.4f\n", mt->ce_zero);
	printf("loss mean-ablated    %.4f\n", mt->ce_mean);
	printf("loss recovered       %.4f (against zero), %.4f (against mean)\n", rec, recm);
	printf("total time           %.0f s\n", cli_now() - t0);
	printf("wrote                %s, %s\n", o.out, ipath);
	rc = 0;
fail:
	if (rc)
		fprintf(stderr, "residual train-sae: %s\n", err.msg);
	free(mean), free(tr_starts), free(va_starts);
	sae_acts_free(&acts);
	sae_index_free(ix);
	sae_free(s);
	train_data_free(&tr), train_data_free(&va);
	eng_free(e);
	model_free(m);
	return rc;
}
