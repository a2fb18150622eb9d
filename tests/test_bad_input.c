/* test_bad_input.c - bad model files and arguments give one clear line naming
 * the file and what is wrong, and a non-zero exit; nothing crashes. Runs the
 * real program ($RESIDUAL) on files this test writes and then damages. */
#include "config.h"
#include "tap.h"
#include "convert.h"
#include "dtype.h"
#include "mapfile.h"
#include "safetensors.h"

#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

static char dir[64];
static const char *residual;

/* Runs the command; checks a non-zero exit and exactly one line of output
 * that contains every needle. */
static void expect_error(const char *what, const char *args, const char *n1, const char *n2)
{
	char cmd[2048], out[4096] = "";
	snprintf(cmd, sizeof cmd, "'%s' %s 2>&1", residual, args);
	FILE *p = popen(cmd, "r");
	size_t n = p ? fread(out, 1, sizeof out - 1, p) : 0;
	out[n] = 0;
	int st = p ? pclose(p) : -1;
	int code = WIFEXITED(st) ? WEXITSTATUS(st) : 128 + (WIFSIGNALED(st) ? WTERMSIG(st) : 0);
	int lines = 0;
	for (size_t i = 0; i < n; i++)
		lines += out[i] == '\n';
	if (n && out[n - 1] == '\n')
		out[n - 1] = 0;
	int ok = code == 1 && lines == 1 && (!n1 || strstr(out, n1)) && (!n2 || strstr(out, n2));
	tap_ok(ok, "%s: exit %d, \"%s\"", what, code, out);
}

static void copy_file(const char *from, const char *to, size_t keep)
{
	size_t n;
	rs_err err;
	char *b = rs_read_file(from, &n, &err);
	FILE *f = fopen(to, "wb");
	fwrite(b, 1, keep && keep < n ? keep : n, f);
	fclose(f);
	free(b);
}

/* Replaces the first occurrence of a string (same length) in a file. */
static void patch_file(const char *path, const char *from, const char *to)
{
	size_t n;
	rs_err err;
	char *b = rs_read_file(path, &n, &err);
	char *at = memmem(b, n, from, strlen(from));
	if (at)
		memcpy(at, to, strlen(to));
	FILE *f = fopen(path, "wb");
	fwrite(b, 1, n, f);
	fclose(f);
	free(b);
}

static void write_text(const char *path, const char *text)
{
	FILE *f = fopen(path, "w");
	fputs(text, f);
	fclose(f);
}

/* A Hugging Face folder: config.json + model.safetensors from a random model. */
static void write_hf(const char *hf, const rs_model *m)
{
	mkdir(hf, 0755);
	char path[256], name[128];
	const rs_config *c = &m->cfg;
	snprintf(path, sizeof path, "%s/config.json", hf);
	FILE *f = fopen(path, "w");
	fprintf(f, "{\"model_type\": \"llama\", \"hidden_size\": %d, \"intermediate_size\": %d, "
		"\"num_hidden_layers\": %d, \"num_attention_heads\": %d, \"num_key_value_heads\": %d, "
		"\"head_dim\": %d, \"vocab_size\": %d, \"rms_norm_eps\": 1e-05, \"rope_theta\": 500000.0, "
		"\"tie_word_embeddings\": true}\n", c->d_model, c->d_ff, c->n_layers, c->n_heads, c->n_kv_heads,
		c->head_dim, c->vocab);
	fclose(f);
	st_writer *w = st_writer_create();
	float *bufs[64];
	int nb = 0;
#define MAT(nm, mat) do { \
		const rs_mat *mm = &(mat); \
		float *d = rs_xmalloc(sizeof(float) * (size_t)(mm->rows * mm->cols)); \
		for (int64_t r = 0; r < mm->rows; r++) \
			mat_row(mm, r, d + r * mm->cols); \
		int64_t sh[2] = {mm->rows, mm->cols}; \
		st_w_tensor(w, nm, RS_F32, 2, sh, d); \
		bufs[nb++] = d; \
	} while (0)
#define VEC(nm, v) do { int64_t sh[1] = {c->d_model}; st_w_tensor(w, nm, RS_F32, 1, sh, v); } while (0)
	MAT("model.embed_tokens.weight", m->tok_embd);
	VEC("model.norm.weight", m->final_norm);
	static char names[16][80];
	int k = 0;
	for (int l = 0; l < c->n_layers; l++) {
		const rs_layer *L = &m->layers[l];
		const char *fmt[] = {"model.layers.%d.self_attn.q_proj.weight", "model.layers.%d.self_attn.k_proj.weight",
				     "model.layers.%d.self_attn.v_proj.weight", "model.layers.%d.self_attn.o_proj.weight",
				     "model.layers.%d.mlp.gate_proj.weight", "model.layers.%d.mlp.up_proj.weight",
				     "model.layers.%d.mlp.down_proj.weight"};
		const rs_mat *mats[] = {&L->wq, &L->wk, &L->wv, &L->wo, &L->w_gate, &L->w_up, &L->w_down};
		for (int i = 0; i < 7; i++) {
			snprintf(names[k], sizeof names[k], fmt[i], l);
			MAT(names[k], *mats[i]);
			k++;
		}
		snprintf(names[k], sizeof names[k], "model.layers.%d.input_layernorm.weight", l);
		VEC(names[k], L->attn_norm);
		k++;
		snprintf(names[k], sizeof names[k], "model.layers.%d.post_attention_layernorm.weight", l);
		VEC(names[k], L->ffn_norm);
		k++;
	}
	snprintf(path, sizeof path, "%s/model.safetensors", hf);
	rs_err err;
	st_write(w, path, &err);
	st_writer_free(w);
	for (int i = 0; i < nb; i++)
		free(bufs[i]);
	(void)name;
}

int main(void)
{
	residual = getenv("RESIDUAL");
	if (!residual || access(residual, X_OK))
		tap_skip_all("RESIDUAL (the built program) is not set");
	snprintf(dir, sizeof dir, "/tmp/rs-bad.XXXXXX");
	if (!mkdtemp(dir))
		tap_skip_all("no temporary directory");
	char good[128], bad[128], hf[128], hfbad[128], args[1024], path[256];
	snprintf(good, sizeof good, "%s/good.gguf", dir);
	snprintf(bad, sizeof bad, "%s/bad.gguf", dir);
	rs_config c;
	convert_preset("tiny", &c);
	c.n_layers = 1;
	c.vocab = 256;
	rs_err err;
	convert_write_random(&c, good, RS_F32, 0.05f, 3, &err);
	rs_model *m = model_load(good, &err);
	if (!m)
		tap_skip_all(err.msg);
	snprintf(hf, sizeof hf, "%s/hf", dir);
	write_hf(hf, m);
	model_free(m);
	struct stat st;
	stat(good, &st);

	snprintf(args, sizeof args, "run --model '%s' --ids 1,2,3 --dump %s/o.st", good, dir);
	char cmd[1100];
	snprintf(cmd, sizeof cmd, "'%s' %s >/dev/null 2>&1", residual, args);
	tap_ok(system(cmd) == 0, "the undamaged GGUF runs");
	snprintf(args, sizeof args, "run --model '%s' --ids 1,2,3 --dump %s/o.st", hf, dir);
	snprintf(cmd, sizeof cmd, "'%s' %s >/dev/null 2>&1", residual, args);
	tap_ok(system(cmd) == 0, "the undamaged Hugging Face folder runs");

	/* GGUF damage */
	size_t cuts[] = {2, 20, 200, (size_t)st.st_size / 2, (size_t)st.st_size - 1};
	for (size_t i = 0; i < sizeof cuts / sizeof *cuts; i++) {
		copy_file(good, bad, cuts[i]);
		snprintf(args, sizeof args, "run --model '%s' --ids 1 --dump %s/o.st", bad, dir);
		char what[64];
		snprintf(what, sizeof what, "GGUF truncated to %zu bytes", cuts[i]);
		expect_error(what, args, "bad.gguf", cuts[i] < 8 || cuts[i] > 1000 ? NULL : "truncated");
	}
	copy_file(good, bad, 0);
	patch_file(bad, "GGUF", "GGUX");
	expect_error("GGUF with a wrong magic", args, "bad.gguf", "not a GGUF");
	copy_file(good, bad, 0);
	patch_file(bad, "blk.0.ffn_up.weight", "blk.0.ffn_uq.weight");
	expect_error("GGUF missing a tensor", args, "bad.gguf", "missing tensor 'blk.0.ffn_up.weight'");

	/* Hugging Face damage: each on a fresh copy of the folder */
	snprintf(hfbad, sizeof hfbad, "%s/hfbad", dir);
	mkdir(hfbad, 0755);
	char cfg_good[256], st_good[256], cfg_bad[256], st_bad[256];
	snprintf(cfg_good, sizeof cfg_good, "%s/config.json", hf);
	snprintf(st_good, sizeof st_good, "%s/model.safetensors", hf);
	snprintf(cfg_bad, sizeof cfg_bad, "%s/config.json", hfbad);
	snprintf(st_bad, sizeof st_bad, "%s/model.safetensors", hfbad);
	snprintf(args, sizeof args, "run --model '%s' --ids 1 --dump %s/o.st", hfbad, dir);
#define FRESH() (copy_file(cfg_good, cfg_bad, 0), copy_file(st_good, st_bad, 0))
	FRESH();
	write_text(cfg_bad, "{ \"hidden_size\": 128, not json");
	expect_error("config.json that is not JSON", args, "config.json", "not valid JSON");
	FRESH();
	patch_file(cfg_bad, "\"intermediate_size\": 384", "\"intermediate_size\": 385");
	expect_error("tensor shape contradicting the config", args, "mlp.gate_proj.weight", "[385, 128]");
	FRESH();
	patch_file(st_bad, "\"F32\"", "\"X32\"");
	expect_error("unknown dtype", args, "model.safetensors", "unknown dtype 'X32'");
	FRESH();
	patch_file(st_bad, "\"F32\"", "\"U32\"");
	expect_error("dtype residual cannot compute with", args, "model.safetensors", "dtype U32; residual reads");
	FRESH();
	patch_file(st_bad, "model.norm.weight", "model.norX.weight");
	expect_error("missing tensor", args, "hfbad", "missing tensor 'model.norm.weight'");
	FRESH();
	stat(st_good, &st);
	copy_file(st_good, st_bad, (size_t)st.st_size - 100);
	expect_error("data offsets past the end of the file", args, "model.safetensors", "past the end");
	FRESH();
	copy_file(st_good, st_bad, 5);
	expect_error("safetensors truncated inside its header length", args, "model.safetensors", "truncated");

	/* arguments */
	snprintf(args, sizeof args, "run --model '%s' --ids 1,99999 --dump %s/o.st", good, dir);
	expect_error("token id out of range", args, "99999", "out of range");
	snprintf(args, sizeof args, "run --model '%s' --ids 1,-3 --dump %s/o.st", good, dir);
	expect_error("negative token id", args, "-3", "out of range");
	snprintf(args, sizeof args, "generate --model '%s/nothing.gguf' --ids 1", dir);
	expect_error("model file that does not exist", args, "nothing.gguf", NULL);
	snprintf(args, sizeof args, "generate --model '%s' --ids 1,x", good);
	expect_error("--ids with a word", args, "--ids", "'x'");
	snprintf(args, sizeof args, "run --model '%s' --ids 1 --dump /nonexistent-dir/o.st", good);
	expect_error("dump into a folder that does not exist", args, "/nonexistent-dir/o.st", NULL);

	snprintf(path, sizeof path, "rm -rf '%s'", dir);
	if (system(path))
		tap_diag("could not remove %s", dir);
	return tap_done_plan();
}
