/* lesson_python.c - `residual lessons --python DIR`: the Python side of each
 * lesson as one runnable file.
 *
 * Each file opens with a common preamble (model and tokenizer loading with
 * Hugging Face transformers, small helpers), then the lesson's own setup,
 * then one section per step that has Python, in order, so the sections share
 * their variables as the steps share the session. The model comes from the
 * command line or $RESIDUAL_HF_MODEL, so the same file runs on a small test
 * model or on meta-llama/Llama-3.1-405B.
 */
#include "config.h"
#include "lesson.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

static const char preamble[] =
	"import os\n"
	"import sys\n"
	"\n"
	"import torch\n"
	"\n"
	"if int(torch.__version__.split(\".\")[0]) < 2:\n"
	"    sys.exit(f\"this file needs torch 2.0 or newer (register_forward_pre_hook with_kwargs); this is {torch.__version__}\")\n"
	"\n"
	"import transformers\n"
	"from transformers import AutoModelForCausalLM, AutoTokenizer\n"
	"\n"
	"MODEL_ID = sys.argv[1] if len(sys.argv) > 1 else os.environ.get(\"RESIDUAL_HF_MODEL\", \"meta-llama/Llama-3.1-8B\")\n"
	"TOKENIZER_ID = os.environ.get(\"RESIDUAL_HF_TOKENIZER\", MODEL_ID)\n"
	"DEVICE = \"cuda\" if torch.cuda.is_available() else \"cpu\"\n"
	"# float32 on a CPU, as residual computes; bfloat16 on a GPU unless $RESIDUAL_HF_DTYPE says otherwise\n"
	"DTYPE = getattr(torch, os.environ.get(\"RESIDUAL_HF_DTYPE\", \"bfloat16\" if DEVICE == \"cuda\" else \"float32\"))\n"
	"\n"
	"\n"
	"def load_args(name):\n"
	"    \"\"\"from_pretrained's arguments: a .gguf file loads through gguf_file (pip install gguf).\"\"\"\n"
	"    if name.endswith(\".gguf\"):\n"
	"        return [os.path.dirname(os.path.abspath(name))], {\"gguf_file\": os.path.basename(name)}\n"
	"    return [name], {}\n"
	"\n"
	"\n"
	"torch.set_grad_enabled(False)\n"
	"args, kw = load_args(MODEL_ID)\n"
	"# the dtype argument is torch_dtype in transformers 4.x and dtype in 5.x (5.x defaults to \"auto\")\n"
	"kw[\"dtype\" if int(transformers.__version__.split(\".\")[0]) >= 5 else \"torch_dtype\"] = DTYPE\n"
	"# eager attention, so that output_attentions returns the patterns\n"
	"model = AutoModelForCausalLM.from_pretrained(*args, attn_implementation=\"eager\", **kw).to(DEVICE)\n"
	"model.eval()\n"
	"cfg = model.config\n"
	"\n"
	"try:\n"
	"    args, kw = load_args(TOKENIZER_ID)\n"
	"    tokenizer = AutoTokenizer.from_pretrained(*args, **kw)\n"
	"except (OSError, ValueError):\n"
	"    # a folder with weights only (a test model): bytes stand in for text\n"
	"    tokenizer = None\n"
	"    print(\"# no tokenizer: bytes stand in for text, and token_id refuses to run\")\n"
	"\n"
	"\n"
	"def encode(text):\n"
	"    \"\"\"The ids of text as a [1, T] tensor, BOS first as Llama expects.\"\"\"\n"
	"    if tokenizer is not None:\n"
	"        return tokenizer(text, return_tensors=\"pt\").input_ids.to(model.device)\n"
	"    bos = cfg.bos_token_id if isinstance(cfg.bos_token_id, int) else 0\n"
	"    ids = [bos] + [3 + b % (cfg.vocab_size - 3) for b in text.encode()]\n"
	"    return torch.tensor([ids], device=model.device)\n"
	"\n"
	"\n"
	"def token_id(text):\n"
	"    \"\"\"The id of a text that is one token. Without a tokenizer there is no such id: a\n"
	"    stand-in would give different names the same id, and every metric built on it is void.\"\"\"\n"
	"    if tokenizer is None:\n"
	"        sys.exit(f\"token_id({text!r}) needs a tokenizer: give a model folder with one, or $RESIDUAL_HF_TOKENIZER\")\n"
	"    ids = tokenizer(text, add_special_tokens=False).input_ids\n"
	"    if len(ids) != 1:\n"
	"        print(f\"# {text!r} is {len(ids)} tokens for this tokenizer: its first one stands for it\")\n"
	"    return ids[0]\n"
	"\n"
	"\n"
	"def show(token):\n"
	"    \"\"\"A token id as readable text.\"\"\"\n"
	"    if tokenizer is not None:\n"
	"        return repr(tokenizer.decode([int(token)]))\n"
	"    return f\"#{int(token)}\"\n"
	"\n"
	"\n"
	"def value(name, x):\n"
	"    \"\"\"A number the lesson's step shows, as a line `value NAME NUMBER` (make check-python\n"
	"    compares these with residual's own values).\"\"\"\n"
	"    print(f\"value {name} {float(x):.9g}\")\n"
	"\n"
	"\n"
	"def first(output):\n"
	"    \"\"\"A module's output tensor (older transformers return tuples from decoder layers).\"\"\"\n"
	"    return output[0] if isinstance(output, tuple) else output\n"
	"\n"
	"\n"
	"def layer_input_hook(layer, fn):\n"
	"    \"\"\"A pre-hook on a decoder layer: fn sees its input hidden states (resid_pre) and may\n"
	"    return new ones, whether transformers passes them by position or by name (torch >= 2.0).\"\"\"\n"
	"    def pre(module, args, kwargs):\n"
	"        x = args[0] if args else kwargs[\"hidden_states\"]\n"
	"        new = fn(x)\n"
	"        if new is None:\n"
	"            return None\n"
	"        if args:\n"
	"            return (new,) + tuple(args[1:]), kwargs\n"
	"        return args, dict(kwargs, hidden_states=new)\n"
	"    return layer.register_forward_pre_hook(pre, with_kwargs=True)\n"
	"\n"
	"\n"
	"def rope_theta():\n"
	"    \"\"\"RoPE base: a top-level field in transformers 4, inside rope_parameters in 5.\"\"\"\n"
	"    theta = getattr(cfg, \"rope_theta\", None)\n"
	"    if theta is None:\n"
	"        theta = cfg.rope_parameters[\"rope_theta\"]\n"
	"    return theta\n";

/* A Python identifier from the lesson's name: lesson01_what_a_model_computes. */
static void file_name(const lesson *l, char *buf, size_t n)
{
	const char *slug = strchr(l->name, '-');
	slug = slug ? slug + 1 : l->name;
	int o = snprintf(buf, n, "lesson%02d_", l->number);
	for (const char *p = slug; *p && (size_t)o + 4 < n; p++)
		buf[o++] = (*p >= 'a' && *p <= 'z') || (*p >= '0' && *p <= '9') ? *p : '_';
	snprintf(buf + o, n - (size_t)o, ".py");
}

/* The text as '# ' comment lines, wrapped where it had line breaks. */
static void comment(FILE *f, const char *text)
{
	const char *p = text;
	while (*p) {
		const char *nl = strchr(p, '\n');
		size_t n = nl ? (size_t)(nl - p) : strlen(p);
		fprintf(f, n ? "# %.*s\n" : "#\n", (int)n, p);
		p += n + (nl ? 1 : 0);
	}
}

static int write_one(const lesson *l, const char *dir, rs_err *err)
{
	char name[256], path[4096];
	file_name(l, name, sizeof name);
	snprintf(path, sizeof path, "%s/%s", dir, name);
	FILE *f = fopen(path, "w");
	if (!f)
		return rs_fail(err, "%s: %s", path, strerror(errno));
	fprintf(f, "#!/usr/bin/env python3\n");
	fprintf(f, "# Lesson %d: %s\n#\n", l->number, l->title);
	fprintf(f, "# What residual's lesson '%s' shows on its engine, done with Hugging Face\n"
		   "# transformers on a Llama model; each section is one step of the lesson.\n"
		   "# Generated by `residual lessons --python` from lessons/%s.json: change the\n"
		   "# lesson, not this file.\n#\n",
		l->name, l->name);
	fprintf(f, "# Needs Python 3, torch 2.0 or newer and transformers 4.40 or newer (5.x works).\n"
		   "# Run: python3 %s [MODEL]\n"
		   "# MODEL (or $RESIDUAL_HF_MODEL) is a Hugging Face id, a local folder or a .gguf file\n"
		   "# (through transformers' GGUF loader, which needs the gguf package); the\n"
		   "# default is meta-llama/Llama-3.1-8B, and meta-llama/Llama-3.1-405B runs the\n"
		   "# same code given the memory. $RESIDUAL_HF_TOKENIZER names a tokenizer when the\n"
		   "# model folder has none. The model runs on the GPU when there is one, in\n"
		   "# $RESIDUAL_HF_DTYPE (default float32 on a CPU, bfloat16 on a GPU).\n",
		name);
	if (l->summary) {
		fprintf(f, "#\n");
		comment(f, l->summary);
	}
	fprintf(f, "\n%s", preamble);
	if (l->python_setup)
		fprintf(f, "\n\n# ---------------------------------------------------------------- setup\n%s\n",
			l->python_setup);
	for (int k = 0; k < l->n_steps; k++) {
		if (!l->steps[k].python)
			continue;
		fprintf(f, "\n\n# ---------------------------------------------------------------- step %d: %s\n", k + 1,
			l->steps[k].title);
		fprintf(f, "print(\"\\n== step %d: ", k + 1);
		for (const char *p = l->steps[k].title; *p; p++)
			fprintf(f, *p == '"' || *p == '\\' ? "\\%c" : "%c", *p);
		fprintf(f, "\")\n");
		fprintf(f, "%s\n", l->steps[k].python);
	}
	if (fclose(f))
		return rs_fail(err, "%s: %s", path, strerror(errno));
	return 0;
}

int lesson_export_python(const lesson_set *set, const char *dir, rs_err *err)
{
	if (mkdir(dir, 0755) && errno != EEXIST)
		return rs_fail(err, "%s: %s", dir, strerror(errno));
	for (int i = 0; i < set->n; i++) {
		int any = set->l[i]->python_setup != NULL;
		for (int k = 0; k < set->l[i]->n_steps; k++)
			any |= set->l[i]->steps[k].python != NULL;
		if (any && write_one(set->l[i], dir, err))
			return -1;
	}
	return 0;
}
