/* sub_model.c - residual run / generate / convert / random-model. */
#include "config.h"
#include "cli.h"
#include "cliutil.h"
#include "convert.h"
#include "stream.h"
#include "dtype.h"
#include "engine.h"
#include "model.h"
#include "safetensors.h"
#include "sampler.h"
#include "session.h"
#include "tokenizer.h"

#include <cJSON.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static int fail(const char *cmd, const rs_err *err)
{
	fprintf(stderr, "residual %s: %s\n", cmd, err->msg);
	return 1;
}

/* --model, or the built-in model as every other command defaults to. */
static const char *model_or_default(const char *model, const char *cmd)
{
	if (model || (model = session_default_model()))
		return model;
	fprintf(stderr, "residual %s: the built-in model residual-tiny.gguf is not installed (set RESIDUAL_MODEL or give --model PATH)\n", cmd);
	return NULL;
}

/* A model past the memory budget is stepped from disk: say so, and what a pass reads. */
static void stream_notice(rs_engine *e, const char *cmd)
{
	rs_stream *st = eng_stream(e);
	if (!stream_active(st))
		return;
	rs_stream_stats ss;
	stream_stats(st, &ss);
	char a[32], b[32], t[32];
	fprintf(stderr, "residual %s: the weights pass the %s memory budget (--mem): stepped from disk, each pass "
		"(the prompt, then each token) reads %s, about %s at 3 GB/s\n", cmd,
		rs_format_budget(ss.budget, b, sizeof b), rs_format_size((double)ss.pass_bytes, a, sizeof a),
		rs_format_secs((double)ss.pass_bytes / 3e9, t, sizeof t));
}

/* ---------------------------------------------------------------- run */
static const char run_usage[] =
	"usage: residual run [--model PATH] (--prompt TEXT | --ids 1,2,3) --dump OUT.safetensors [--hooks GLOBS]\n"
	"Runs the prompt through every hook and writes the cached hooks (TransformerLens names,\n"
	"float32) to OUT.safetensors, with input_ids (int32) and the Hugging Face fixture aliases\n"
	"blocks.L.attn.{q,k,v}_proj_out_prerope [T, heads*head_dim]. GLOBS: comma-separated\n"
	"patterns over hook names, '!' to exclude (default: all). The model defaults to the\n"
	"built-in one ($RESIDUAL_MODEL, then the installed residual-tiny.gguf).\n";

/* Writes every cached hook; aliases share the data of hook_q/k/v. */
static int dump_cache(const rs_engine *e, const char *path, rs_err *err)
{
	const rs_model *m = eng_model(e);
	int L = m->cfg.n_layers, T = eng_n_tokens(e);
	st_writer *w = st_writer_create();
	int64_t tshape[1] = {T};
	st_w_tensor(w, "input_ids", RS_I32, 1, tshape, eng_tokens(e));
	char names[3 * 64][96];
	int n_alias = 0;
	for (int s = 0; s < hook_n_stops(L); s++) {
		rs_hook h = hook_at(s, L);
		const rs_act *a = eng_act(e, h);
		if (!a)
			continue;
		char name[96];
		int64_t shape[3];
		for (int i = 0; i < a->n_dims; i++)
			shape[i] = a->shape[i];
		st_w_tensor(w, hook_name(h, name, sizeof name), RS_F32, a->n_dims, shape, a->data);
		const char *alias = h.kind == HOOK_Q ? "q" : h.kind == HOOK_K ? "k" : h.kind == HOOK_V ? "v" : NULL;
		if (alias && n_alias < (int)(sizeof names / sizeof *names)) {
			snprintf(names[n_alias], sizeof names[0], "blocks.%d.attn.%s_proj_out_prerope", h.layer, alias);
			int64_t flat[2] = {a->shape[0], (int64_t)a->shape[1] * a->shape[2]};
			st_w_tensor(w, names[n_alias++], RS_F32, 2, flat, a->data);
		}
	}
	st_w_meta(w, "model", m->path);
	st_w_meta(w, "producer", "residual " PACKAGE_VERSION);
	int rc = st_write(w, path, err);
	st_writer_free(w);
	return rc;
}

int sub_run(int argc, char **argv)
{
	const char *model = NULL, *prompt = NULL, *ids_arg = NULL, *dump = NULL, *hooks = NULL;
	for (int i = 1; i < argc; i++) {
		const char *a = argv[i];
		if (!strcmp(a, "--help") || !strcmp(a, "-h")) {
			fputs(run_usage, stdout);
			return 0;
		}
		const char **dst = !strcmp(a, "--model") ? &model : !strcmp(a, "--prompt") ? &prompt
				 : !strcmp(a, "--ids") ? &ids_arg : !strcmp(a, "--dump") ? &dump
				 : !strcmp(a, "--hooks") ? &hooks : NULL;
		if (!dst) {
			fprintf(stderr, "residual run: unknown option '%s'\n%s", a, run_usage);
			return 2;
		}
		if (!(*dst = cli_value(argc, argv, &i, "run")))
			return 2;
	}
	if (!dump || (!prompt && !ids_arg)) {
		fputs(run_usage, stderr);
		return 2;
	}
	if (!(model = model_or_default(model, "run")))
		return 1;
	rs_err err = {{0}};
	rs_model *m = model_load(model, &err);
	if (!m)
		return fail("run", &err);
	int32_t *ids = NULL;
	int n = 0, rc = 1;
	rs_engine *e = NULL;
	if (cli_prompt_ids(m, prompt, ids_arg, &ids, &n, &err))
		goto out;
	e = eng_create(m, &err);
	stream_notice(e, "run");
	eng_set_cache_filter(e, hooks);
	if (eng_set_prompt(e, ids, n, &err))
		goto out;
	eng_run(e);
	if (dump_cache(e, dump, &err))
		goto out;
	printf("ran %d tokens through %d layer%s; hooks written to %s\n", n, m->cfg.n_layers, m->cfg.n_layers == 1 ? "" : "s", dump);
	rc = 0;
out:
	if (rc)
		fail("run", &err);
	eng_free(e);
	free(ids);
	model_free(m);
	return rc;
}

/* ---------------------------------------------------------------- generate */
static const char gen_usage[] =
	"usage: residual generate [--model PATH] (--prompt TEXT | --ids 1,2,3) [-n N] [--temp T]\n"
	"                         [--top-p P] [--seed S] [--ignore-eos] [--fast] [--json]\n"
	"Generates N tokens (default 32) after the prompt: greedy when T is 0 (the default),\n"
	"else sampled at temperature T with nucleus P. Stops at the end-of-text token unless\n"
	"--ignore-eos. --fast: after the prompt, each new token's activations are quantized\n"
	"to 8 bits before the Q4_K and Q6_K products, as llama.cpp does (faster; the logits\n"
	"are then no longer the f32 computation of the file's weights: `bench --fast` shows\n"
	"by how much); without it every token is computed exactly. --json prints\n"
	"{\"prompt_ids\", \"ids\", \"text\"}. The model defaults to the built-in one, as for\n"
	"every other command.\n";

/* Generated text: as it is into a file or a pipe; on a terminal with its
 * control characters made visible, so that a hostile vocabulary cannot
 * reprogram the terminal (newlines and tabs pass). */
static void put_text(const char *t)
{
	if (!isatty(STDOUT_FILENO)) {
		fputs(t, stdout);
		return;
	}
	size_t n = strlen(t), cap = 8 * n + 1;
	char *buf = rs_xmalloc(cap);
	fputs(rs_visible(t, n, RS_VIS_UTF8 | RS_VIS_LINES, buf, cap), stdout);
	free(buf);
}

int sub_generate(int argc, char **argv)
{
	const char *model = NULL, *prompt = NULL, *ids_arg = NULL;
	int n_gen = 32, json = 0, ignore_eos = 0, fast = 0;
	float temp = 0, top_p = 1;
	unsigned long long seed = 1;
	for (int i = 1; i < argc; i++) {
		const char *a = argv[i], *v;
		if (!strcmp(a, "--help") || !strcmp(a, "-h")) {
			fputs(gen_usage, stdout);
			return 0;
		} else if (!strcmp(a, "--json")) {
			json = 1;
		} else if (!strcmp(a, "--ignore-eos")) {
			ignore_eos = 1;
		} else if (!strcmp(a, "--fast")) {
			fast = 1;
		} else if (!strcmp(a, "--model") || !strcmp(a, "--prompt") || !strcmp(a, "--ids") || !strcmp(a, "-n") ||
			   !strcmp(a, "--temp") || !strcmp(a, "--top-p") || !strcmp(a, "--seed")) {
			if (!(v = cli_value(argc, argv, &i, "generate")))
				return 2;
			char *end = NULL;
			if (!strcmp(a, "--model"))
				model = v;
			else if (!strcmp(a, "--prompt"))
				prompt = v;
			else if (!strcmp(a, "--ids"))
				ids_arg = v;
			else if (!strcmp(a, "-n"))
				n_gen = (int)strtol(v, &end, 10);
			else if (!strcmp(a, "--temp"))
				temp = strtof(v, &end);
			else if (!strcmp(a, "--top-p"))
				top_p = strtof(v, &end);
			else
				seed = strtoull(v, &end, 10);
			if (end && (*end || end == v || n_gen < 0 || temp < 0 || top_p <= 0 || top_p > 1)) {
				fprintf(stderr, "residual generate: bad value '%s' for %s\n", v, a);
				return 2;
			}
		} else {
			fprintf(stderr, "residual generate: unknown option '%s'\n%s", a, gen_usage);
			return 2;
		}
	}
	if (!prompt && !ids_arg) {
		fputs(gen_usage, stderr);
		return 2;
	}
	if (!(model = model_or_default(model, "generate")))
		return 1;
	rs_err err = {{0}};
	rs_model *m = model_load(model, &err);
	if (!m)
		return fail("generate", &err);
	int32_t *ids = NULL, *out = rs_xmalloc(sizeof(int32_t) * (size_t)(n_gen + 1));
	int n = 0, k = 0, rc = 1;
	rs_engine *e = NULL;
	rs_sampler smp;
	sampler_init(&smp, m->cfg.vocab, temp, top_p, seed);
	if (cli_prompt_ids(m, prompt, ids_arg, &ids, &n, &err))
		goto out;
	e = eng_create(m, &err);
	stream_notice(e, "generate");
	eng_set_cache_filter(e, "!*");
	eng_set_logits_all(e, 0);
	eng_set_fast(e, fast);
	if (eng_set_prompt(e, ids, n, &err))
		goto out;
	eng_run(e);
	int eos = m->tok ? tok_eos(m->tok) : m->cfg.eos_id, eot = m->tok ? tok_eot(m->tok) : -1;
	const float *lg = eng_last_logits(e);
	for (k = 0; k < n_gen; k++) {
		int t = sampler_sample(&smp, lg);
		out[k] = t;
		if (!ignore_eos && (t == eos || t == eot)) {
			k++;
			break;
		}
		if (k + 1 < n_gen && !(lg = eng_decode(e, t, &err)))
			goto out;
	}
	char *text = NULL;
	if (m->tok && tok_decode(m->tok, out, k, 0, &text, NULL, &err))
		goto out;
	if (json) {
		cJSON *o = cJSON_CreateObject();
		cJSON_AddItemToObject(o, "prompt_ids", cJSON_CreateIntArray(ids, n));
		cJSON_AddItemToObject(o, "ids", cJSON_CreateIntArray(out, k));
		if (text)
			cJSON_AddStringToObject(o, "text", text);
		char *s = cJSON_PrintUnformatted(o);
		puts(s);
		free(s);
		cJSON_Delete(o);
	} else if (text) {
		char *ptext = NULL;
		if (prompt)
			fputs(prompt, stdout);
		else if (!tok_decode(m->tok, ids, n, TOK_SKIP_SPECIAL, &ptext, NULL, &err))
			put_text(ptext);
		free(ptext);
		put_text(text);
		putchar('\n');
	} else {
		for (int i = 0; i < k; i++)
			printf("%s%d", i ? " " : "", out[i]);
		printf("\n");
	}
	free(text);
	rc = 0;
out:
	if (rc)
		fail("generate", &err);
	sampler_free(&smp);
	eng_free(e);
	free(ids);
	free(out);
	model_free(m);
	return rc;
}

/* ---------------------------------------------------------------- convert */
static int parse_type(const char *s)
{
	return !strcmp(s, "f32") ? RS_F32 : !strcmp(s, "f16") ? RS_F16 : !strcmp(s, "bf16") ? RS_BF16
	     : !strcmp(s, "q8_0") ? RS_Q8_0 : -1;
}

int sub_convert(int argc, char **argv)
{
	static const char usage[] =
		"usage: residual convert MODEL OUT.gguf [--type f32|f16|bf16|q8_0] [--split-max-size SIZE]\n"
		"Writes a Hugging Face Llama folder as GGUF that llama.cpp also loads: Q/K rows in\n"
		"GGUF order, llama3 RoPE scaling as rope_freqs.weight, the tokenizer when the folder\n"
		"has tokenizer.json. Default type: f32 when the weights are f32, else f16.\n"
		"MODEL: a Hugging Face folder or a GGUF (a split one too).\n"
		"--split-max-size SIZE (e.g. 2G, 500M) writes llama.cpp's split layout instead:\n"
		"OUT-00001-of-0000N.gguf ..., each part at most SIZE of tensor data.\n";
	const char *in = NULL, *out = NULL;
	int type = -2;
	uint64_t split_max = 0;
	for (int i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h")) {
			fputs(usage, stdout);
			return 0;
		} else if (!strcmp(argv[i], "--type")) {
			const char *v = cli_value(argc, argv, &i, "convert");
			if (!v || (type = parse_type(v)) < 0) {
				fprintf(stderr, "residual convert: --type must be f32, f16, bf16 or q8_0\n");
				return 2;
			}
		} else if (!strcmp(argv[i], "--split-max-size")) {
			const char *v = cli_value(argc, argv, &i, "convert");
			if (!v || rs_parse_size(v, &split_max) || !split_max) {
				fprintf(stderr, "residual convert: --split-max-size takes a size such as 2G or 500M\n");
				return 2;
			}
		} else if (argv[i][0] == '-') {
			fprintf(stderr, "residual convert: unknown option '%s'\n%s", argv[i], usage);
			return 2;
		} else if (!in) {
			in = argv[i];
		} else if (!out) {
			out = argv[i];
		} else {
			fputs(usage, stderr);
			return 2;
		}
	}
	if (!in || !out) {
		fputs(usage, stderr);
		return 2;
	}
	rs_err err = {{0}};
	rs_model *m = model_load(in, &err);
	if (!m)
		return fail("convert", &err);
	if (type == -2)
		type = m->weight_type == RS_F32 ? RS_F32 : RS_F16;
	int rc = convert_write_gguf_split(m, out, type, split_max, &err);
	if (!rc && split_max)
		printf("wrote %s and the parts after it (%s, %d layers, %lld parameters)\n", convert_last_split, rs_dtype_name(type),
		       m->cfg.n_layers, (long long)config_param_count(&m->cfg));
	else if (!rc)
		printf("wrote %s (%s, %d layers, %lld parameters)\n", out, rs_dtype_name(type), m->cfg.n_layers,
		       (long long)config_param_count(&m->cfg));
	model_free(m);
	return rc ? fail("convert", &err) : 0;
}

/* ---------------------------------------------------------------- random-model */
int sub_random(int argc, char **argv)
{
	static const char usage[] =
		"usage: residual random-model --shape SHAPE -o OUT.gguf [--layers N]\n"
		"                             [--type f32|f16|bf16|q8_0] [--seed N] [--std S]\n"
		"                             [--split-max-size SIZE]\n"
		"Writes a GGUF with that architecture and random weights N(0, S) (default 0.02),\n"
		"for benchmarks and tests. SHAPE: llama3.2-1b, llama3.2-3b, llama3.1-8b,\n"
		"llama3.1-70b, llama3.1-405b or tiny. --layers N keeps the full width and\n"
		"vocabulary but only N layers (a 405B-shaped slice that fits a small machine).\n";
	const char *shape = NULL, *out = NULL;
	int type = RS_F16, layers = 0;
	uint64_t split_max = 0;
	unsigned long long seed = 1;
	float std = 0.02f;
	for (int i = 1; i < argc; i++) {
		const char *a = argv[i], *v;
		if (!strcmp(a, "--help") || !strcmp(a, "-h")) {
			fputs(usage, stdout);
			return 0;
		}
		if (!(v = cli_value(argc, argv, &i, "random-model")))
			return 2;
		if (!strcmp(a, "--shape"))
			shape = v;
		else if (!strcmp(a, "-o"))
			out = v;
		else if (!strcmp(a, "--type"))
			type = parse_type(v);
		else if (!strcmp(a, "--seed"))
			seed = strtoull(v, NULL, 10);
		else if (!strcmp(a, "--std"))
			std = strtof(v, NULL);
		else if (!strcmp(a, "--split-max-size")) {
			if (rs_parse_size(v, &split_max) || !split_max) {
				fprintf(stderr, "residual random-model: --split-max-size takes a size such as 2G or 500M\n");
				return 2;
			}
		}
		else if (!strcmp(a, "--layers")) {
			char *end;
			long n = strtol(v, &end, 10);
			if (*end || end == v || n < 1 || n > 1024) {
				fprintf(stderr, "residual random-model: --layers must be a whole number from 1 to 1024, not '%s'\n", v);
				return 2;
			}
			layers = (int)n;
		} else {
			fprintf(stderr, "residual random-model: unknown option '%s'\n%s", a, usage);
			return 2;
		}
	}
	rs_config c;
	if (!shape || !out || type < 0 || convert_preset(shape, &c)) {
		fputs(usage, stderr);
		return 2;
	}
	if (layers) {
		c.n_layers = layers;
		snprintf(c.name, sizeof c.name, "random %s, %d layer%s", shape, layers, layers == 1 ? "" : "s");
	}
	rs_err err = {{0}};
	if (convert_write_random_split(&c, out, type, std, seed, split_max, &err))
		return fail("random-model", &err);
	printf("wrote %s%s (%s, %lld parameters)\n", split_max ? convert_last_split : out,
	       split_max ? " and the parts after it" : "", rs_dtype_name(type), (long long)config_param_count(&c));
	return 0;
}
