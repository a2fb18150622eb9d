/* fuzz_model.c - fuzz target: model files. The input is written as a GGUF
 * file, or (when FUZZ_MODEL_KIND=st) as the model.safetensors of a folder
 * whose config.json matches the seeds, or (FUZZ_MODEL_KIND=config) as a
 * config.json; then loaded. A load either succeeds, and a short forward pass
 * runs, or fails with one line. */
#include "config.h"
#include "engine.h"
#include "model.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerInitialize(int *argc, char ***argv);

static char dir[64], target[128], load_path[128];

/* A config.json matching tests/fuzz-seeds/model_st (1 layer, d 16). */
static const char seed_config[] =
	"{\"model_type\": \"llama\", \"hidden_size\": 16, \"intermediate_size\": 32, \"num_hidden_layers\": 1,"
	" \"num_attention_heads\": 2, \"num_key_value_heads\": 1, \"head_dim\": 8, \"vocab_size\": 32,"
	" \"rms_norm_eps\": 1e-05, \"rope_theta\": 500000.0, \"tie_word_embeddings\": true,"
	" \"rope_scaling\": {\"rope_type\": \"llama3\", \"factor\": 32.0, \"low_freq_factor\": 1.0,"
	" \"high_freq_factor\": 4.0, \"original_max_position_embeddings\": 8192}}\n";

static void remove_dir(void)
{
	char p[160];
	const char *names[] = {"model.gguf", "model.safetensors", "config.json"};
	for (int i = 0; i < 3; i++) {
		snprintf(p, sizeof p, "%s/%s", dir, names[i]);
		unlink(p);
	}
	rmdir(dir);
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	snprintf(dir, sizeof dir, "/tmp/rs-fuzz-model.XXXXXX");
	if (!mkdtemp(dir))
		abort();
	atexit(remove_dir);
	const char *kind = getenv("FUZZ_MODEL_KIND");
	if (kind && !strcmp(kind, "st")) {
		char p[160];
		snprintf(p, sizeof p, "%s/config.json", dir);
		FILE *f = fopen(p, "w");
		fputs(seed_config, f);
		fclose(f);
		snprintf(target, sizeof target, "%s/model.safetensors", dir);
		snprintf(load_path, sizeof load_path, "%s", dir);
	} else if (kind && !strcmp(kind, "config")) {
		snprintf(target, sizeof target, "%s/config.json", dir);
		snprintf(load_path, sizeof load_path, "%s", target);
	} else {
		snprintf(target, sizeof target, "%s/model.gguf", dir);
		snprintf(load_path, sizeof load_path, "%s", target);
	}
	(void)argc;
	(void)argv;
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	FILE *f = fopen(target, "wb");
	if (!f)
		abort();
	fwrite(data, 1, size, f);
	fclose(f);
	rs_err err = {{0}};
	const char *kind = getenv("FUZZ_MODEL_KIND");
	if (kind && !strcmp(kind, "config")) {
		rs_config c;
		if (config_from_hf_json(load_path, &c, &err) && (!err.msg[0] || strchr(err.msg, '\n')))
			abort();
		return 0;
	}
	rs_model *m = model_load(load_path, &err);
	if (!m) {
		if (!err.msg[0] || strchr(err.msg, '\n'))
			abort(); /* every failure explains itself in one line */
		return 0;
	}
	rs_engine *e = eng_create(m, &err);
	int32_t ids[3] = {0, 1 % m->cfg.vocab, 2 % m->cfg.vocab};
	if (eng_set_prompt(e, ids, 3, &err) == 0) {
		eng_run(e);
		if (!eng_decode(e, 0, &err))
			abort();
	}
	eng_free(e);
	model_free(m);
	return 0;
}
