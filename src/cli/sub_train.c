/* sub_train.c - `residual train`: trains a Llama model on a corpus of
 * `residual corpus build`, with the tokenizer of `residual corpus bpe`. */
#include "config.h"
#include "cli.h"
#include "cliutil.h"
#include "dtype.h"
#include "pool.h"
#include "tokenizer.h"
#include "train.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char usage[] =
	"usage: residual train --data DIR --tokenizer FILE [--out FILE.gguf] [options]\n"
	"       residual train --resume CKPT --data DIR --tokenizer FILE [--out FILE.gguf]\n\n"
	"Trains a Llama-architecture model (RMSNorm, GQA, RoPE, SwiGLU, tied embeddings)\n"
	"from scratch and writes it as a llama GGUF that residual (and llama.cpp) load.\n"
	"Deterministic: the same options, seed and --threads give the same weights.\n\n"
	"data:\n"
	"  --data DIR            corpus of `residual corpus build`: DIR/train.txt, and\n"
	"                        DIR/val.txt for the validation loss. Tokenized once; the\n"
	"                        ids are cached beside them (train.ids, val.ids)\n"
	"  --tokenizer FILE      the tokenizer (GGUF of `residual corpus bpe`); its keys\n"
	"                        are copied into the model\n"
	"  --out FILE.gguf       the model (default model.gguf); the checkpoint goes\n"
	"                        beside it as FILE.ckpt\n"
	"  --rep-frac F          this share of the windows are induction drills: BOS, a\n"
	"                        span of 8-64 random tokens, then the span repeated to the\n"
	"                        end (only the repeats are targets); tokens drawn from the\n"
	"                        merged ones, no bytes or special tokens (default 0;\n"
	"                        with --resume, give it again)\n"
	"  --f16                 store the matrices as F16 (default F32)\n"
	"  --name NAME           general.name (default residual-tiny)\n\n"
	"architecture (ignored with --resume, which takes the checkpoint's):\n"
	"  --layers N            transformer blocks (default 4)\n"
	"  --d-model N           residual stream width (default 256)\n"
	"  --heads N             query heads (default 8); head_dim = d-model / heads\n"
	"  --kv-heads N          key/value heads, dividing --heads (default 2: GQA)\n"
	"  --d-ff N              SwiGLU hidden width (default 688, about 2.7 d-model)\n"
	"  --ctx N               context length: training windows and\n"
	"                        llama.context_length (default 256)\n"
	"  --rope-theta X        RoPE base (default 10000)\n\n"
	"schedule:\n"
	"  --steps N             optimizer steps in all (default 2000)\n"
	"  --batch N             windows of --ctx tokens per step (default 8)\n"
	"  --lr X                peak learning rate (default 2e-3)\n"
	"  --min-lr X            learning rate at the end of the decay (default lr/10)\n"
	"  --decay F             warmup-stable-decay: the peak rate until the last F of\n"
	"                        the steps, then linear to --min-lr (default 0: cosine\n"
	"                        from the end of the warmup to the end)\n"
	"  --time-budget S       with --decay: until the decay starts, re-aim the number of\n"
	"                        steps from the speed so far to end after S seconds (the\n"
	"                        step count then depends on the machine; the log and the\n"
	"                        checkpoint record it, and --steps N repeats it exactly)\n"
	"  --warmup N            linear warmup steps (default 100)\n"
	"  --wd X                AdamW decoupled weight decay, matrices only (default 0.1)\n"
	"  --beta2 X             AdamW beta2 (default 0.95; beta1 is 0.9)\n"
	"  --clip X              clip the global gradient norm to X; 0: off (default 1.0)\n"
	"  --seed N              initialization and batch order (default 1)\n"
	"  --threads N           threads (default 2); results depend on it\n\n"
	"checkpoints and progress:\n"
	"  --resume CKPT         continue from a checkpoint (model, AdamW state, step);\n"
	"                        --steps, if given, moves the end of the schedule\n"
	"  --stop-at N           stop after step N (saving the checkpoint and the model),\n"
	"                        the schedule unchanged: a later --resume goes on as if\n"
	"                        never stopped; --resume CKPT --stop-at STEP with the\n"
	"                        checkpoint's own step writes its GGUF and trains nothing\n"
	"  --checkpoint-every N  write FILE.ckpt and FILE.gguf every N steps (default 250;\n"
	"                        0: only at the end)\n"
	"  --eval-every N        validation loss every N steps (default 250; 0: at the end)\n"
	"  --eval-batches N      validation batches of --batch windows (default 16)\n"
	"  --log-every N         a progress line every N steps (default 10): step, loss,\n"
	"                        learning rate, gradient norm, tokens/s, elapsed, ETA\n";

static int parse_int(const char *opt, const char *s, int lo, int *out)
{
	char *end;
	errno = 0;
	long v = strtol(s, &end, 10);
	if (errno || end == s || *end || v < lo || v > (1L << 30)) {
		fprintf(stderr, "residual train: %s wants an integer >= %d, not '%s'\n", opt, lo, s);
		return -1;
	}
	*out = (int)v;
	return 0;
}

static int parse_float(const char *opt, const char *s, float *out)
{
	char *end;
	errno = 0;
	double v = strtod(s, &end);
	if (errno || end == s || *end || !isfinite(v) || v < 0) {
		fprintf(stderr, "residual train: %s wants a number >= 0, not '%s'\n", opt, s);
		return -1;
	}
	*out = (float)v;
	return 0;
}

/* --out x.gguf -> x.ckpt */
static char *ckpt_path_for(const char *out)
{
	size_t n = strlen(out);
	char *p = rs_xmalloc(n + 6);
	memcpy(p, out, n + 1);
	if (n > 5 && !strcmp(p + n - 5, ".gguf"))
		p[n - 5] = 0;
	strcat(p, ".ckpt");
	return p;
}

int sub_train(int argc, char **argv)
{
	const char *data = NULL, *tok_path = NULL, *out = "model.gguf", *resume = NULL, *name = "residual-tiny";
	int layers = 4, d_model = 256, heads = 8, kv_heads = 2, d_ff = 688, ctx = 256;
	int steps = -1, batch = 8, warmup = 100, threads = 2, ckpt_every = 250, eval_every = 250;
	int eval_batches = 16, log_every = 10, f16 = 0, seed = 1, stop_at = 0;
	float lr = 2e-3f, min_lr = -1, wd = 0.1f, clip = 1.0f, beta2 = 0.95f, theta = 10000.0f, decay = 0;
	float budget = 0, rep_frac = 0;
	for (int i = 1; i < argc; i++) {
		const char *a = argv[i], *v = NULL;
		if (!strcmp(a, "--help") || !strcmp(a, "-h")) {
			fputs(usage, stdout);
			return 0;
		}
		if (!strcmp(a, "--f16")) {
			f16 = 1;
			continue;
		}
		if (a[0] != '-' || a[1] != '-') {
			fprintf(stderr, "residual train: unexpected argument '%s' (see --help)\n", a);
			return 2;
		}
		if (!(v = cli_value(argc, argv, &i, "train")))
			return 2;
		int bad = 0;
		if (!strcmp(a, "--data")) data = v;
		else if (!strcmp(a, "--tokenizer")) tok_path = v;
		else if (!strcmp(a, "--out")) out = v;
		else if (!strcmp(a, "--resume")) resume = v;
		else if (!strcmp(a, "--name")) name = v;
		else if (!strcmp(a, "--layers")) bad = parse_int(a, v, 1, &layers);
		else if (!strcmp(a, "--d-model")) bad = parse_int(a, v, 2, &d_model);
		else if (!strcmp(a, "--heads")) bad = parse_int(a, v, 1, &heads);
		else if (!strcmp(a, "--kv-heads")) bad = parse_int(a, v, 1, &kv_heads);
		else if (!strcmp(a, "--d-ff")) bad = parse_int(a, v, 1, &d_ff);
		else if (!strcmp(a, "--ctx")) bad = parse_int(a, v, 2, &ctx);
		else if (!strcmp(a, "--rope-theta")) bad = parse_float(a, v, &theta);
		else if (!strcmp(a, "--steps")) bad = parse_int(a, v, 1, &steps);
		else if (!strcmp(a, "--batch")) bad = parse_int(a, v, 1, &batch);
		else if (!strcmp(a, "--lr")) bad = parse_float(a, v, &lr);
		else if (!strcmp(a, "--min-lr")) bad = parse_float(a, v, &min_lr);
		else if (!strcmp(a, "--warmup")) bad = parse_int(a, v, 0, &warmup);
		else if (!strcmp(a, "--decay")) bad = parse_float(a, v, &decay);
		else if (!strcmp(a, "--rep-frac")) bad = parse_float(a, v, &rep_frac);
		else if (!strcmp(a, "--time-budget")) bad = parse_float(a, v, &budget);
		else if (!strcmp(a, "--wd")) bad = parse_float(a, v, &wd);
		else if (!strcmp(a, "--beta2")) bad = parse_float(a, v, &beta2);
		else if (!strcmp(a, "--clip")) bad = parse_float(a, v, &clip);
		else if (!strcmp(a, "--seed")) bad = parse_int(a, v, 0, &seed);
		else if (!strcmp(a, "--threads")) bad = parse_int(a, v, 1, &threads);
		else if (!strcmp(a, "--checkpoint-every")) bad = parse_int(a, v, 0, &ckpt_every);
		else if (!strcmp(a, "--eval-every")) bad = parse_int(a, v, 0, &eval_every);
		else if (!strcmp(a, "--eval-batches")) bad = parse_int(a, v, 1, &eval_batches);
		else if (!strcmp(a, "--log-every")) bad = parse_int(a, v, 1, &log_every);
		else if (!strcmp(a, "--stop-at")) bad = parse_int(a, v, 1, &stop_at);
		else {
			fprintf(stderr, "residual train: unknown option '%s' (see --help)\n", a);
			return 2;
		}
		if (bad)
			return 2;
	}
	if (!data || !tok_path) {
		fprintf(stderr, "residual train: --data DIR and --tokenizer FILE are required (see --help)\n");
		return 2;
	}
	if (rep_frac > 1) {
		fprintf(stderr, "residual train: --rep-frac is a share of the windows, at most 1\n");
		return 2;
	}
	if (decay > 1 || (budget > 0 && !(decay > 0))) {
		fprintf(stderr, "residual train: --decay is a fraction of the steps, and --time-budget needs it\n");
		return 2;
	}
	if (d_model % heads || heads % kv_heads || (d_model / heads) % 2) {
		fprintf(stderr, "residual train: --heads must divide --d-model into even head sizes, and --kv-heads "
				"must divide --heads\n");
		return 2;
	}

	rs_err err = {{0}};
	int rc = 1;
	pool_set_threads(threads); /* before anything starts the pool */
	train_set_threads(threads);
	rs_tokenizer *tok = tok_load(tok_path, &err);
	train_model *m = NULL;
	train_data tr = {0}, va = {0};
	char *ckpt = ckpt_path_for(out), path[4096];
	if (!tok)
		goto fail;
	double t0 = cli_now();
	snprintf(path, sizeof path, "%s/train.txt", data);
	if (train_data_load(path, tok, 1, &tr, &err))
		goto fail;
	snprintf(path, sizeof path, "%s/val.txt", data);
	int have_val = train_data_load(path, tok, 1, &va, &err) == 0;
	if (!have_val)
		fprintf(stderr, "residual train: no validation loss (%s)\n", err.msg);
	fprintf(stderr, "corpus: %lld training tokens, %lld validation tokens (%.1fs)\n", (long long)tr.n,
		(long long)va.n, cli_now() - t0);

	train_run_opts o;
	memset(&o, 0, sizeof o);
	if (resume) {
		if (train_ckpt_load(resume, &m, &o.st, &err))
			goto fail;
		if (m->cfg.vocab != tok_n_vocab(tok)) {
			rs_fail(&err, "%s: the checkpoint has a vocabulary of %d, %s of %d", resume, m->cfg.vocab, tok_path,
				tok_n_vocab(tok));
			goto fail;
		}
		if (steps > 0)
			o.st.total_steps = o.st.sched.steps = steps;
		if (o.st.threads != threads)
			fprintf(stderr, "residual train: the checkpoint was made with %d threads, this run has %d: "
					"the result will differ from an uninterrupted run\n", o.st.threads, threads);
		fprintf(stderr, "resuming %s at step %d of %d\n", resume, o.st.step, o.st.total_steps);
	} else {
		rs_config c = train_config_make(layers, d_model, heads, kv_heads, d_ff, tok_n_vocab(tok), ctx);
		c.rope_theta = theta;
		c.bos_id = tok_bos(tok);
		c.eos_id = tok_eos(tok);
		snprintf(c.name, sizeof c.name, "%s", name);
		if (train_config_check(&c, &err))
			goto fail;
		m = train_model_create(&c);
		train_model_init(m, (uint64_t)seed);
		o.st.total_steps = steps > 0 ? steps : 2000;
		o.st.seed = (uint64_t)seed;
		o.st.batch = batch;
		o.st.sched = (train_sched){lr, min_lr >= 0 ? min_lr : lr / 10, warmup, o.st.total_steps, decay};
		o.st.adamw = (adamw_opts){0.9f, beta2, 1e-8f, wd};
		o.st.clip = clip;
	}
	o.st.threads = threads;
	o.T = m->cfg.max_ctx;
	o.ckpt_every = ckpt_every;
	o.eval_every = eval_every;
	o.eval_batches = eval_batches;
	o.log_every = log_every;
	o.time_budget = budget;
	o.stop_at = stop_at;
	o.ckpt_path = ckpt;
	o.out_path = out;
	o.name = name;
	o.out_type = f16 ? RS_F16 : RS_F32;
	o.tok = tok;
	if (rep_frac > 0) {
		/* the merged tokens: after the 256 bytes, before the special tokens */
		tr.rep_frac = rep_frac;
		tr.rep_lo = tok_n_vocab(tok) > 1024 ? 256 : 0;
		tr.rep_hi = tok_n_vocab(tok);
		for (int32_t i = tr.rep_lo; i < tok_n_vocab(tok); i++)
			if (tok_is_special(tok, i)) {
				tr.rep_hi = i;
				break;
			}
	}
	train_data_index(&tr, o.T);
	if (have_val)
		train_data_index(&va, o.T);
	if (train_run(m, &o, &tr, have_val && va.n_starts > 0 ? &va : NULL, &err))
		goto fail;
	fprintf(stderr, "wrote %s and %s: %d steps, %.0f tokens in %.0fs (%.0f tokens/s)\n", out, ckpt, o.st.step,
		o.st.tokens_seen, o.st.seconds, o.st.tokens_seen / (o.st.seconds > 0 ? o.st.seconds : 1));
	rc = 0;
	goto done;
fail:
	fprintf(stderr, "residual train: %s\n", err.msg);
done:
	train_data_free(&tr);
	train_data_free(&va);
	train_model_free(m);
	tok_free(tok);
	free(ckpt);
	return rc;
}
