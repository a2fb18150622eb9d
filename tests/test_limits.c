/* test_limits.c - the file boundary (include/filelimits.h): small hand-made
 * files whose headers promise absurd sizes, or sizes whose products
 * overflow, are refused fast (under 50 ms, before anything big is allocated)
 * with one line naming the file and the key, tensor or offset at fault.
 * The first is the fuzzer's 7 KB GGUF with llama.block_count = 16777217
 * (it took 24 s to refuse); also run through the real program ($RESIDUAL). */
#include "config.h"
#include "tap.h"
#include "filelimits.h"
#include "gguf.h"
#include "lesson.h"
#include "model.h"
#include "safetensors.h"
#include "tokenizer.h"

#include <stdint.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static char dir[64];

static double now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec * 1e-6;
}

/* ---------------------------------------------------------------- a GGUF by hand */
typedef struct gbuf {
	uint8_t *p;
	size_t n, cap;
} gbuf;

static void put(gbuf *b, const void *v, size_t n)
{
	if (b->n + n > b->cap)
		b->p = realloc(b->p, b->cap = (b->n + n) * 2 + 64);
	memcpy(b->p + b->n, v, n);
	b->n += n;
}

static void put_u32(gbuf *b, uint32_t v) { put(b, &v, 4); }
static void put_u64(gbuf *b, uint64_t v) { put(b, &v, 8); }

static void put_str(gbuf *b, const char *s)
{
	put_u64(b, strlen(s));
	put(b, s, strlen(s));
}

static void kv_u32(gbuf *b, const char *k, uint32_t v)
{
	put_str(b, k);
	put_u32(b, GGUF_U32);
	put_u32(b, v);
}

static void kv_u64(gbuf *b, const char *k, uint64_t v)
{
	put_str(b, k);
	put_u32(b, GGUF_U64);
	put_u64(b, v);
}

static void kv_f32(gbuf *b, const char *k, float v)
{
	put_str(b, k);
	put_u32(b, GGUF_F32);
	put(b, &v, 4);
}

static void kv_str(gbuf *b, const char *k, const char *v)
{
	put_str(b, k);
	put_u32(b, GGUF_STRING);
	put_str(b, v);
}

typedef struct gtensor {
	char name[64];
	int nd;
	uint64_t ne[4];
	uint64_t offset; /* 0: the next free place */
} gtensor;

/* A Llama GGUF with d_model 8, d_ff 16, 2 heads (1 key/value) of 4,
 * vocabulary 128, F32, and layer 0's tensors only, whatever block_count says;
 * extra keys (already encoded, n_extra of them) go before the usual ones (the
 * first of a repeated key is the one read), and extra tensors after layer
 * 0's. About 7 KB. */
static void write_gguf(const char *path, uint64_t block_count, const gbuf *extra_kv, int n_extra_kv,
		       const gtensor *extra_t, int n_extra_t)
{
	gtensor t[32] = {
		{"token_embd.weight", 2, {8, 128}, 0}, {"output_norm.weight", 1, {8}, 0},
		{"blk.0.attn_norm.weight", 1, {8}, 0}, {"blk.0.attn_q.weight", 2, {8, 8}, 0},
		{"blk.0.attn_k.weight", 2, {8, 4}, 0}, {"blk.0.attn_v.weight", 2, {8, 4}, 0},
		{"blk.0.attn_output.weight", 2, {8, 8}, 0}, {"blk.0.ffn_norm.weight", 1, {8}, 0},
		{"blk.0.ffn_gate.weight", 2, {8, 16}, 0}, {"blk.0.ffn_up.weight", 2, {8, 16}, 0},
		{"blk.0.ffn_down.weight", 2, {16, 8}, 0},
	};
	int nt = 11;
	for (int i = 0; i < n_extra_t; i++)
		t[nt++] = extra_t[i];
	gbuf b = {0};
	put(&b, "GGUF", 4);
	put_u32(&b, 3);
	put_u64(&b, (uint64_t)nt);
	put_u64(&b, 7 + (uint64_t)n_extra_kv);
	if (extra_kv)
		put(&b, extra_kv->p, extra_kv->n);
	kv_str(&b, "general.architecture", "llama");
	kv_u64(&b, "llama.block_count", block_count);
	kv_u32(&b, "llama.embedding_length", 8);
	kv_u32(&b, "llama.feed_forward_length", 16);
	kv_u32(&b, "llama.attention.head_count", 2);
	kv_u32(&b, "llama.attention.head_count_kv", 1);
	kv_u32(&b, "llama.vocab_size", 128);
	uint64_t off = 0;
	for (int i = 0; i < nt; i++) {
		put_str(&b, t[i].name);
		put_u32(&b, (uint32_t)t[i].nd);
		uint64_t n = 4;
		int absurd = 0; /* the tests' oversized tensors: no data, offset 0 */
		for (int d = 0; d < t[i].nd; d++) {
			put_u64(&b, t[i].ne[d]);
			absurd |= !RS_MUL_OK(n, t[i].ne[d], &n) || n > (1 << 20);
		}
		put_u32(&b, RS_F32);
		put_u64(&b, t[i].offset ? t[i].offset : absurd ? 0 : off);
		if (!absurd)
			off += (n + 31) / 32 * 32;
	}
	while (b.n % 32)
		put(&b, "", 1);
	size_t data = b.n;
	for (uint64_t i = 0; i < off / 4; i++) {
		float v = 0.01f * (float)(i % 7) + 0.5f;
		put(&b, &v, 4);
	}
	(void)data;
	FILE *f = fopen(path, "wb");
	fwrite(b.p, 1, b.n, f);
	fclose(f);
	free(b.p);
}

/* A valid Llama GGUF of n_layers tiny layers (d_model 2, one head of 2, d_ff 2,
 * vocabulary 4): about 850 bytes a layer, so 1200 layers make a 1 MB file
 * of over 10000 tensors. */
static void write_many_layers(const char *path, int n_layers)
{
	static const char *const fmt[] = {"blk.%d.attn_norm.weight", "blk.%d.ffn_norm.weight", "blk.%d.attn_q.weight",
					  "blk.%d.attn_k.weight", "blk.%d.attn_v.weight", "blk.%d.attn_output.weight",
					  "blk.%d.ffn_gate.weight", "blk.%d.ffn_up.weight", "blk.%d.ffn_down.weight"};
	int nt = 2 + 9 * n_layers;
	gbuf b = {0};
	put(&b, "GGUF", 4);
	put_u32(&b, 3);
	put_u64(&b, (uint64_t)nt);
	put_u64(&b, 7);
	kv_str(&b, "general.architecture", "llama");
	kv_u32(&b, "llama.block_count", (uint32_t)n_layers);
	kv_u32(&b, "llama.embedding_length", 2);
	kv_u32(&b, "llama.feed_forward_length", 2);
	kv_u32(&b, "llama.attention.head_count", 1);
	kv_u32(&b, "llama.attention.head_count_kv", 1);
	kv_u32(&b, "llama.vocab_size", 4);
	uint64_t off = 0;
	for (int i = 0; i < nt; i++) { /* every tensor's data: 32 bytes (room for 2x4 floats) */
		char name[64];
		int nd = 2;
		uint64_t ne[2] = {2, 2};
		if (i == 0)
			snprintf(name, sizeof name, "token_embd.weight"), ne[1] = 4;
		else if (i == 1)
			snprintf(name, sizeof name, "output_norm.weight"), nd = 1;
		else
			snprintf(name, sizeof name, fmt[(i - 2) % 9], (i - 2) / 9), nd = (i - 2) % 9 < 2 ? 1 : 2;
		put_str(&b, name);
		put_u32(&b, (uint32_t)nd);
		for (int d = 0; d < nd; d++)
			put_u64(&b, ne[d]);
		put_u32(&b, RS_F32);
		put_u64(&b, off);
		off += 32;
	}
	while (b.n % 32)
		put(&b, "", 1);
	for (uint64_t i = 0; i < off / 4; i++) {
		float v = 0.5f + 0.01f * (float)(i % 5);
		put(&b, &v, 4);
	}
	FILE *f = fopen(path, "wb");
	fwrite(b.p, 1, b.n, f);
	fclose(f);
	free(b.p);
}

/* One refusal: the message names the file and every needle, is one line,
 * and came in under 50 ms. */
static void refused(const char *what, int failed, double ms, const rs_err *err, const char *file,
		    const char *n1, const char *n2)
{
	int ok = failed && strstr(err->msg, file) && (!n1 || strstr(err->msg, n1)) &&
		 (!n2 || strstr(err->msg, n2)) && !strchr(err->msg, '\n') && ms < 50;
	tap_ok(ok, "%s: refused in %.2f ms: \"%s\"", what, ms, err->msg);
}

static void gguf_refused(const char *what, const char *path, const char *n1, const char *n2)
{
	rs_err err = {{0}};
	double t0 = now_ms();
	rs_model *m = model_load(path, &err);
	double ms = now_ms() - t0;
	refused(what, m == NULL, ms, &err, strrchr(path, '/') + 1, n1, n2);
	model_free(m);
}

/* Runs the real program on a model; checks exit 1 and one line with needle. */
static void cli_refused(const char *what, const char *model, const char *needle)
{
	const char *residual = getenv("RESIDUAL");
	if (!residual || access(residual, X_OK)) {
		tap_ok(1, "%s # SKIP RESIDUAL is not set", what);
		return;
	}
	char cmd[1024], out[4096] = "";
	snprintf(cmd, sizeof cmd, "'%s' run --model '%s' --ids 1 --dump '%s/o.st' 2>&1", residual, model, dir);
	double t0 = now_ms();
	FILE *p = popen(cmd, "r");
	size_t n = p ? fread(out, 1, sizeof out - 1, p) : 0;
	int st = p ? pclose(p) : -1;
	double ms = now_ms() - t0;
	out[n] = 0;
	int lines = 0;
	for (size_t i = 0; i < n; i++)
		lines += out[i] == '\n';
	if (n && out[n - 1] == '\n')
		out[n - 1] = 0;
	/* the whole process, sanitizers and all: a generous bound (it was 24 s) */
	tap_ok(WIFEXITED(st) && WEXITSTATUS(st) == 1 && lines == 1 && strstr(out, needle) && ms < 2000,
	       "%s: exit %d in %.0f ms, \"%s\"", what, WIFEXITED(st) ? WEXITSTATUS(st) : -1, ms, out);
}

static void write_text(const char *path, const char *text)
{
	FILE *f = fopen(path, "w");
	fputs(text, f);
	fclose(f);
}

static void write_st(const char *path, const char *header)
{
	FILE *f = fopen(path, "wb");
	uint64_t n = strlen(header);
	fwrite(&n, 8, 1, f);
	fputs(header, f);
	fwrite("\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0", 1, 16, f);
	fclose(f);
}

int main(void)
{
	snprintf(dir, sizeof dir, "/tmp/rs-limits.XXXXXX");
	if (!mkdtemp(dir))
		tap_skip_all("no temporary directory");
	char path[256], hf[256], p2[300];
	rs_err err = {{0}};
	double t0, ms;

	/* ---- GGUF: the fuzzer's file, and what a header can promise */
	snprintf(path, sizeof path, "%s/good.gguf", dir);
	write_gguf(path, 1, NULL, 0, NULL, 0);
	rs_model *m = model_load(path, &err);
	tap_ok(m != NULL, "the hand-made GGUF (1 layer) loads%s%s", m ? "" : ": ", m ? "" : err.msg);
	model_free(m);

	snprintf(path, sizeof path, "%s/blocks.gguf", dir);
	write_gguf(path, 16777217, NULL, 0, NULL, 0);
	struct stat st;
	stat(path, &st);
	tap_diag("blocks.gguf is %lld bytes", (long long)st.st_size);
	gguf_refused("llama.block_count = 16777217 in a 7 KB GGUF", path, "llama.block_count", "16777217");
	cli_refused("residual run on that file", path, "llama.block_count");
	snprintf(path, sizeof path, "%s/blocks4000.gguf", dir);
	write_gguf(path, 4000, NULL, 0, NULL, 0);
	gguf_refused("block_count 4000 (within the limit) with 1 layer's tensors", path, "4000 layers need 36002 tensors",
		     "holds 11");
	cli_refused("residual run on that file", path, "4000 layers need");

	/* the most tensors a 1 MB file can hold that a model really uses: found
	 * through the name index (a scan per lookup made this quadratic) */
	snprintf(path, sizeof path, "%s/many.gguf", dir);
	write_many_layers(path, 1200);
	stat(path, &st);
	t0 = now_ms();
	m = model_load(path, &err);
	ms = now_ms() - t0;
	tap_ok(m && m->cfg.n_layers == 1200 && st.st_size < (1 << 20) && ms < 50,
	       "a %lld-byte GGUF of 1200 layers (10802 tensors) loads in %.1f ms%s%s", (long long)st.st_size, ms,
	       m ? "" : ": ", m ? "" : err.msg);
	model_free(m);

	/* a tensor whose byte size wraps size_t to exactly 0 (2^42 bytes a row x 2^22 rows):
	 * it passed the bounds check */
	gtensor wrap0 = {"wrap.weight", 2, {1ull << 40, 1ull << 22}, 0};
	snprintf(path, sizeof path, "%s/wrap0.gguf", dir);
	write_gguf(path, 1, NULL, 0, &wrap0, 1);
	gguf_refused("tensor of 2^40 x 2^22 F32 (size wraps to 0)", path, "'wrap.weight'", "larger than any file");
	/* rows = ne1*ne2*ne3 overflowed int64 (signed: undefined behaviour) */
	gtensor wrap_rows = {"rows.weight", 4, {32, 1ull << 40, 1ull << 40, 1ull << 40}, 0};
	snprintf(path, sizeof path, "%s/rows.gguf", dir);
	write_gguf(path, 1, NULL, 0, &wrap_rows, 1);
	gguf_refused("tensor of 32 x 2^40 x 2^40 x 2^40 (signed row count overflow)", path, "'rows.weight'",
		     "larger than any file");

	/* libFuzzer's second GGUF finding: the message for a tensor offset near 2^64
	 * added it to the data section's offset (a wrap, and a wrong number) */
	gtensor far = {"far.weight", 1, {8}, UINT64_MAX};
	snprintf(path, sizeof path, "%s/far.gguf", dir);
	write_gguf(path, 1, NULL, 0, &far, 1);
	gguf_refused("tensor at data offset 2^64-1", path, "'far.weight' (32 bytes at offset 18446744073709551615",
		     "past the end");

	/* products of header values: heads x head_dim past int, counts past the table */
	gbuf kv = {0};
	kv_u32(&kv, "llama.attention.head_count", 4096);
	kv_u32(&kv, "llama.attention.head_count_kv", 4096);
	kv_u32(&kv, "llama.attention.key_length", 4096);
	snprintf(path, sizeof path, "%s/headdim.gguf", dir);
	write_gguf(path, 1, &kv, 3, NULL, 0);
	gguf_refused("4096 heads of key_length 4096 (2^24 > the limit on heads x head_dim)", path, "headdim.gguf",
		     "4096 heads (4096 key/value) of 4096");
	free(kv.p);
	kv = (gbuf){0};
	kv_u32(&kv, "llama.context_length", 0xFFFFFFFFu);
	snprintf(path, sizeof path, "%s/ctx.gguf", dir);
	write_gguf(path, 1, &kv, 1, NULL, 0);
	gguf_refused("llama.context_length = 2^32-1", path, "llama.context_length", "out of range");
	free(kv.p);
	kv = (gbuf){0};
	kv_u64(&kv, "llama.attention.head_count_kv", 1ull << 33);
	snprintf(path, sizeof path, "%s/kvheads.gguf", dir);
	write_gguf(path, 1, &kv, 1, NULL, 0);
	gguf_refused("llama.attention.head_count_kv = 2^33 (was cast to int unchecked)", path,
		     "llama.attention.head_count_kv", "8589934592");
	free(kv.p);

	/* libFuzzer's first GGUF finding: a float key too large for int64 was cast to
	 * int64 anyway (undefined behaviour) whenever it was read as a number */
	kv = (gbuf){0};
	kv_f32(&kv, "llama.rope.freq_base", 3.4e36f);
	kv_f32(&kv, "general.alignment", 1e30f);
	snprintf(path, sizeof path, "%s/floatkey.gguf", dir);
	write_gguf(path, 1, &kv, 2, NULL, 0);
	free(kv.p);
	t0 = now_ms();
	m = model_load(path, &err);
	ms = now_ms() - t0;
	tap_ok(m && m->cfg.rope_theta > 1e36f && ms < 50, "rope freq_base 3.4e36 as F32 loads (no cast overflow) in "
	       "%.2f ms%s%s", ms, m ? "" : ": ", m ? "" : err.msg);
	model_free(m);

	/* raw header fields: tensor count, key count, string length, array length */
	struct {
		const char *what, *file, *n1, *n2;
		uint64_t n_tensors, n_kv, str_len, arr_len;
	} hdr[] = {
		{"tensor count 2^60", "ntensors.gguf", "2^60", NULL, 1ull << 60, 1, 5, 0},
		{"key count 2^40", "nkv.gguf", "keys", NULL, 0, 1ull << 40, 5, 0},
		{"key name of 2^63 bytes", "strlen.gguf", "offset 24", "9223372036854775808", 0, 1, 1ull << 63, 0},
		{"array of 2^62 u8", "arrlen.gguf", "'a'", "4611686018427387904", 0, 1, 1, 1ull << 62},
	};
	for (size_t i = 0; i < sizeof hdr / sizeof *hdr; i++) {
		gbuf b = {0};
		put(&b, "GGUF", 4);
		put_u32(&b, 3);
		put_u64(&b, hdr[i].n_tensors);
		put_u64(&b, hdr[i].n_kv);
		put_u64(&b, hdr[i].str_len);
		put(&b, "a", 1);
		put_u32(&b, hdr[i].arr_len ? GGUF_ARRAY : GGUF_U32);
		if (hdr[i].arr_len) {
			put_u32(&b, GGUF_U8);
			put_u64(&b, hdr[i].arr_len);
		}
		for (int k = 0; k < 64; k++)
			put(&b, "\0\0\0\0\0\0\0\0", 8);
		snprintf(path, sizeof path, "%s/%s", dir, hdr[i].file);
		FILE *f = fopen(path, "wb");
		fwrite(b.p, 1, b.n, f);
		fclose(f);
		free(b.p);
		double t0 = now_ms();
		gguf_file *g = gguf_open(path, &err);
		double ms = now_ms() - t0;
		char n1[64];
		snprintf(n1, sizeof n1, "%s", hdr[i].n1);
		if (!strcmp(n1, "2^60"))
			snprintf(n1, sizeof n1, "%llu tensors", 1ull << 60);
		refused(hdr[i].what, g == NULL, ms, &err, hdr[i].file, n1, hdr[i].n2);
		gguf_close(g);
	}

	/* ---- safetensors: an element count that wraps to 0 matched 0 bytes of data */
	snprintf(hf, sizeof hf, "%s/st.safetensors", dir);
	write_st(hf, "{\"w\": {\"dtype\": \"F32\", \"shape\": [4294967296, 4294967296, 16], \"data_offsets\": [0, 0]}}");
	t0 = now_ms();
	st_file *sf = st_open(hf, &err);
	refused("safetensors shape 2^32 x 2^32 x 16 (element count wraps to 0)", sf == NULL, now_ms() - t0, &err,
		"st.safetensors", "'w'", "more elements");
	st_close(sf);
	write_st(hf, "{\"w\": {\"dtype\": \"F32\", \"shape\": [4], \"data_offsets\": [0, 1e300]}}");
	t0 = now_ms();
	sf = st_open(hf, &err);
	refused("safetensors data_offsets end 1e300 (no cast overflow)", sf == NULL, now_ms() - t0, &err,
		"st.safetensors", "'w'", "past the end");
	st_close(sf);

	/* ---- config.json: products the engine computes in int, layer counts */
	snprintf(hf, sizeof hf, "%s/hf", dir);
	mkdir(hf, 0755);
	snprintf(p2, sizeof p2, "%s/config.json", hf);
	struct {
		const char *what, *json, *needle;
	} cfg[] = {
		{"heads x head_dim = 2^32 (int overflow in the engine)",
		 "{\"hidden_size\": 8, \"intermediate_size\": 16, \"num_hidden_layers\": 1, \"num_attention_heads\": 65536,"
		 " \"num_key_value_heads\": 65536, \"head_dim\": 65536, \"vocab_size\": 32}", "65536 heads"},
		{"num_hidden_layers 1e9",
		 "{\"hidden_size\": 8, \"intermediate_size\": 16, \"num_hidden_layers\": 1000000000, \"num_attention_heads\": 2,"
		 " \"vocab_size\": 32}", "1000000000 layers"},
		{"num_key_value_heads x head_dim past the limit",
		 "{\"hidden_size\": 8, \"intermediate_size\": 16, \"num_hidden_layers\": 1, \"num_attention_heads\": 4096,"
		 " \"num_key_value_heads\": 4096, \"head_dim\": 4096, \"vocab_size\": 32}", "beyond residual's limits"},
		{"max_position_embeddings -5",
		 "{\"hidden_size\": 8, \"intermediate_size\": 16, \"num_hidden_layers\": 1, \"num_attention_heads\": 2,"
		 " \"vocab_size\": 32, \"max_position_embeddings\": -5}", "context"},
	};
	for (size_t i = 0; i < sizeof cfg / sizeof *cfg; i++) {
		write_text(p2, cfg[i].json);
		t0 = now_ms();
		rs_config c;
		int rc = config_from_hf_json(p2, &c, &err);
		refused(cfg[i].what, rc != 0, now_ms() - t0, &err, "config.json", cfg[i].needle, NULL);
	}
	/* a folder whose config promises 4000 layers over one layer's tensors */
	write_text(p2, "{\"hidden_size\": 8, \"intermediate_size\": 16, \"num_hidden_layers\": 4000,"
		       " \"num_attention_heads\": 2, \"num_key_value_heads\": 1, \"vocab_size\": 32,"
		       " \"tie_word_embeddings\": true}");
	snprintf(p2, sizeof p2, "%s/model.safetensors", hf);
	write_st(p2, "{\"model.embed_tokens.weight\": {\"dtype\": \"F32\", \"shape\": [32, 8], \"data_offsets\": [0, 1024]}}");
	FILE *f = fopen(p2, "ab");
	for (int i = 0; i < 1024; i++)
		fputc(0, f);
	fclose(f);
	t0 = now_ms();
	m = model_load(hf, &err);
	refused("config.json with 4000 layers over 1 tensor", m == NULL, now_ms() - t0, &err, "hf", "4000 layers need",
		"holds 1");
	model_free(m);

	/* ---- tokenizers: a GGUF merges array promising more strings than the file holds */
	kv = (gbuf){0};
	kv_str(&kv, "tokenizer.ggml.model", "gpt2");
	put_str(&kv, "tokenizer.ggml.tokens");
	put_u32(&kv, GGUF_ARRAY);
	put_u32(&kv, GGUF_STRING);
	put_u64(&kv, 1ull << 40);
	snprintf(path, sizeof path, "%s/tok.gguf", dir);
	write_gguf(path, 1, &kv, 2, NULL, 0);
	free(kv.p);
	t0 = now_ms();
	rs_tokenizer *tok = tok_load(path, &err);
	refused("tokenizer.ggml.tokens claiming 2^40 strings", tok == NULL, now_ms() - t0, &err, "tok.gguf",
		"tokenizer.ggml.tokens", "1099511627776");
	tok_free(tok);

	/* ---- lessons: the fuzzer's multi-line placeholder gives one-line diagnostics */
	snprintf(path, sizeof path, "%s/01-multi.json", dir);
	write_text(path, "{\"title\": \"t\", \"steps\": [{\"text\": [\"a {x(\", \"b ''\", \"c}\"]}]}");
	lesson_diags d = {0};
	t0 = now_ms();
	lesson *l = lesson_load(path, &d);
	ms = now_ms() - t0;
	int one_line = d.n > 0;
	for (int i = 0; i < d.n; i++)
		one_line &= !strchr(d.msg[i], '\n') && strstr(d.msg[i], "01-multi.json") != NULL;
	tap_ok(!l && one_line && ms < 50, "lesson with a placeholder over three lines: %d one-line diagnostics "
	       "in %.1f ms (\"%s\")", d.n, ms, d.n ? d.msg[0] : "");
	lesson_free(l);
	lesson_diags_free(&d);
	/* and the second: a variable name with a newline in it, quoted in the JSON path */
	write_text(path, "{\"title\": \"t\", \"vars\": {\"x\\ny\": \"(\"}, \"steps\": [{\"title\": \"s\", \"text\": \"a\"}]}");
	d = (lesson_diags){0};
	t0 = now_ms();
	l = lesson_load(path, &d);
	ms = now_ms() - t0;
	one_line = d.n > 0;
	for (int i = 0; i < d.n; i++)
		one_line &= !strchr(d.msg[i], '\n') && strstr(d.msg[i], "01-multi.json") != NULL;
	tap_ok(!l && one_line && ms < 50, "lesson with a newline in a variable's name: %d one-line diagnostics "
	       "in %.1f ms (\"%s\")", d.n, ms, d.n ? d.msg[d.n - 1] : "");
	lesson_free(l);
	lesson_diags_free(&d);

	snprintf(path, sizeof path, "rm -rf '%s'", dir);
	if (system(path))
		tap_diag("could not remove %s", dir);
	return tap_done_plan();
}
