/* convert.c - GGUF writing: a loaded model, or random weights of a given shape. */
#include "config.h"
#include "convert.h"
#include "dtype.h"
#include "filelimits.h"
#include "gguf.h"
#include "tokenizer.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Produces row r of a matrix as f32. */
typedef void (*row_fn)(void *ctx, int64_t r, float *dst);

static uint32_t file_type_of(int type)
{
	switch (type) {
	case RS_F16: return 1;
	case RS_Q8_0: return 7;
	case RS_BF16: return 32;
	default: return 0;
	}
}

void convert_write_llama_keys(gguf_writer *w, const rs_config *c, int type)
{
	gguf_w_str(w, "general.architecture", "llama");
	gguf_w_str(w, "general.name", c->name[0] ? c->name : "residual model");
	gguf_w_u32(w, "general.file_type", file_type_of(type));
	if (type == RS_Q8_0)
		gguf_w_u32(w, "general.quantization_version", 2);
	gguf_w_u32(w, "llama.block_count", (uint32_t)c->n_layers);
	gguf_w_u32(w, "llama.context_length", (uint32_t)c->max_ctx);
	gguf_w_u32(w, "llama.embedding_length", (uint32_t)c->d_model);
	gguf_w_u32(w, "llama.feed_forward_length", (uint32_t)c->d_ff);
	gguf_w_u32(w, "llama.attention.head_count", (uint32_t)c->n_heads);
	gguf_w_u32(w, "llama.attention.head_count_kv", (uint32_t)c->n_kv_heads);
	gguf_w_f32(w, "llama.rope.freq_base", c->rope_theta);
	gguf_w_f32(w, "llama.attention.layer_norm_rms_epsilon", c->rms_eps);
	gguf_w_u32(w, "llama.rope.dimension_count", (uint32_t)c->head_dim);
	gguf_w_u32(w, "llama.vocab_size", (uint32_t)c->vocab);
	if (c->head_dim * c->n_heads != c->d_model) {
		gguf_w_u32(w, "llama.attention.key_length", (uint32_t)c->head_dim);
		gguf_w_u32(w, "llama.attention.value_length", (uint32_t)c->head_dim);
	}
	if (c->rope_kind == RS_ROPE_LINEAR) {
		gguf_w_str(w, "llama.rope.scaling.type", "linear");
		gguf_w_f32(w, "llama.rope.scaling.factor", c->rope_factor);
	}
}

/* A matrix [rows, cols] of the given type, rows produced by fn. When
 * qk_heads > 0, rows are reordered from HF order to GGUF order. */
static int add_matrix(gguf_writer *w, const char *name, int type, int64_t rows, int64_t cols, row_fn fn,
		      void *ctx, int qk_heads, int head_dim, rs_err *err)
{
	size_t rb = rs_dtype_row_bytes(type, cols);
	if (!rb)
		return rs_fail(err, "%s: %lld columns is not a whole number of %s blocks", name, (long long)cols,
			       rs_dtype_name(type));
	uint8_t *data = malloc(rb * (size_t)rows);
	float *row = malloc(sizeof(float) * (size_t)cols);
	if (!data || !row) {
		free(data);
		free(row);
		return rs_fail(err, "%s: out of memory (%zu bytes)", name, rb * (size_t)rows);
	}
	for (int64_t r = 0; r < rows; r++) {
		fn(ctx, r, row);
		int64_t dst = qk_heads ? rope_gguf_row(r, head_dim) : r;
		rs_quant_row(type, row, data + (size_t)dst * rb, cols);
	}
	int64_t shape[2] = {rows, cols};
	gguf_w_tensor(w, name, type, 2, shape, data, rb * (size_t)rows, GGUF_W_TAKE);
	free(row);
	return 0;
}

static void add_vector(gguf_writer *w, const char *name, const float *v, int64_t n)
{
	gguf_w_tensor(w, name, RS_F32, 1, &n, v, sizeof(float) * (size_t)n, GGUF_W_COPY);
}

/* The llama3 scaling as per-pair divisors of the unscaled frequencies. */
static void add_rope_freqs(gguf_writer *w, const rs_config *c, const float *inv_freq)
{
	int half = c->head_dim / 2;
	rs_config base = *c;
	base.rope_kind = RS_ROPE_NONE;
	float f0[half], div[half];
	config_rope_inv_freq(&base, f0);
	for (int i = 0; i < half; i++)
		div[i] = f0[i] / inv_freq[i];
	add_vector(w, "rope_freqs.weight", div, half);
}

/* ---------------------------------------------------------------- from a model */
static void model_row(void *ctx, int64_t r, float *dst)
{
	mat_row(ctx, r, dst);
}

int convert_write_gguf(const rs_model *m, const char *path, int type, rs_err *err)
{
	const rs_config *c = &m->cfg;
	if (type != RS_F32 && type != RS_F16 && type != RS_BF16 && type != RS_Q8_0)
		return rs_fail(err, "%s: residual writes F32, F16, BF16 or Q8_0, not type %d", path, type);
	gguf_writer *w = gguf_writer_create();
	convert_write_llama_keys(w, c, type);
	int rc = 0;
	if (m->tok)
		rc = tok_gguf_write(m->tok, w, err);
	else
		gguf_w_str(w, "tokenizer.ggml.model", "none"); /* llama.cpp needs the key; "none": ids only */
	char name[96];
	int hd = c->head_dim;
	/* a GGUF source is already in GGUF row order: its projections are permuted at run time */
	int perm = !m->qk_interleaved;
	rc = rc || add_matrix(w, "token_embd.weight", type, c->vocab, c->d_model, model_row, (void *)&m->tok_embd, 0, hd, err);
	if (!rc && !c->tied)
		rc = add_matrix(w, "output.weight", type, c->vocab, c->d_model, model_row, (void *)&m->output, 0, hd, err);
	if (!rc)
		add_vector(w, "output_norm.weight", m->final_norm, c->d_model);
	if (!rc && c->rope_kind == RS_ROPE_LLAMA3)
		add_rope_freqs(w, c, m->inv_freq);
	for (int l = 0; l < c->n_layers && !rc; l++) {
		const rs_layer *L = &m->layers[l];
#define MAT(fmt, mat, qk) \
	(snprintf(name, sizeof name, fmt, l), \
	 add_matrix(w, name, type, (mat).rows, (mat).cols, model_row, (void *)&(mat), (qk), hd, err))
		snprintf(name, sizeof name, "blk.%d.attn_norm.weight", l);
		add_vector(w, name, L->attn_norm, c->d_model);
		rc = MAT("blk.%d.attn_q.weight", L->wq, perm ? c->n_heads : 0) ||
		     MAT("blk.%d.attn_k.weight", L->wk, perm ? c->n_kv_heads : 0) ||
		     MAT("blk.%d.attn_v.weight", L->wv, 0) || MAT("blk.%d.attn_output.weight", L->wo, 0);
		snprintf(name, sizeof name, "blk.%d.ffn_norm.weight", l);
		add_vector(w, name, L->ffn_norm, c->d_model);
		rc = rc || MAT("blk.%d.ffn_gate.weight", L->w_gate, 0) || MAT("blk.%d.ffn_up.weight", L->w_up, 0) ||
		     MAT("blk.%d.ffn_down.weight", L->w_down, 0);
#undef MAT
	}
	if (!rc)
		rc = gguf_write(w, path, err);
	gguf_writer_free(w);
	return rc;
}

/* ---------------------------------------------------------------- random */
typedef struct rand_ctx {
	uint64_t state;
	float std;
	int64_t cols;
} rand_ctx;

RS_WRAPS static double uniform01(uint64_t *s)
{
	*s += 0x9e3779b97f4a7c15ull; /* splitmix64 */
	uint64_t z = *s;
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
	z ^= z >> 31;
	return ((double)(z >> 11) + 0.5) / 9007199254740992.0;
}

static void random_row(void *ctx, int64_t r, float *dst)
{
	rand_ctx *rc = ctx;
	for (int64_t i = 0; i < rc->cols; i += 2) { /* Box-Muller pairs */
		double u1 = uniform01(&rc->state), u2 = uniform01(&rc->state);
		double rad = sqrt(-2.0 * log(u1));
		dst[i] = (float)(rc->std * rad * cos(2 * M_PI * u2));
		if (i + 1 < rc->cols)
			dst[i + 1] = (float)(rc->std * rad * sin(2 * M_PI * u2));
	}
	(void)r;
}

int convert_write_random(const rs_config *c, const char *path, int type, float std, uint64_t seed, rs_err *err)
{
	if (config_validate(c, "random model", err))
		return -1;
	gguf_writer *w = gguf_writer_create();
	convert_write_llama_keys(w, c, type);
	gguf_w_str(w, "tokenizer.ggml.model", "none"); /* llama.cpp needs the key; "none": ids only */
	rand_ctx rc = {seed * 2654435761u + 1, std, 0};
	float *ones = rs_xmalloc(sizeof(float) * (size_t)c->d_model);
	for (int i = 0; i < c->d_model; i++)
		ones[i] = 1.0f;
	int64_t d = c->d_model, q = (int64_t)c->n_heads * c->head_dim, kv = (int64_t)c->n_kv_heads * c->head_dim;
	int hd = c->head_dim, e = 0;
	char name[96];
#define RMAT(nm, nr, nc) (rc.cols = (nc), add_matrix(w, nm, type, nr, nc, random_row, &rc, 0, hd, err))
	e = RMAT("token_embd.weight", c->vocab, d);
	if (!e && !c->tied)
		e = RMAT("output.weight", c->vocab, d);
	add_vector(w, "output_norm.weight", ones, d);
	if (c->rope_kind == RS_ROPE_LLAMA3) {
		float f[hd / 2];
		config_rope_inv_freq(c, f);
		add_rope_freqs(w, c, f);
	}
	for (int l = 0; l < c->n_layers && !e; l++) {
#define LNAME(fmt) (snprintf(name, sizeof name, fmt, l), name)
		add_vector(w, LNAME("blk.%d.attn_norm.weight"), ones, d);
		add_vector(w, LNAME("blk.%d.ffn_norm.weight"), ones, d);
		e = RMAT(LNAME("blk.%d.attn_q.weight"), q, d) || RMAT(LNAME("blk.%d.attn_k.weight"), kv, d) ||
		    RMAT(LNAME("blk.%d.attn_v.weight"), kv, d) || RMAT(LNAME("blk.%d.attn_output.weight"), d, q) ||
		    RMAT(LNAME("blk.%d.ffn_gate.weight"), c->d_ff, d) || RMAT(LNAME("blk.%d.ffn_up.weight"), c->d_ff, d) ||
		    RMAT(LNAME("blk.%d.ffn_down.weight"), d, c->d_ff);
#undef LNAME
	}
#undef RMAT
	if (!e)
		e = gguf_write(w, path, err);
	gguf_writer_free(w);
	free(ones);
	return e;
}

int convert_preset(const char *name, rs_config *c)
{
	memset(c, 0, sizeof *c);
	c->rms_eps = 1e-5f;
	c->rope_theta = 500000.0f;
	c->rope_kind = RS_ROPE_LLAMA3;
	c->rope_low_freq = 1.0f;
	c->rope_high_freq = 4.0f;
	c->rope_orig_ctx = 8192;
	c->max_ctx = 131072;
	c->vocab = 128256;
	c->bos_id = 128000;
	c->eos_id = 128001;
	if (!strcmp(name, "llama3.2-1b")) {
		c->n_layers = 16, c->d_model = 2048, c->d_ff = 8192, c->n_heads = 32, c->n_kv_heads = 8;
		c->head_dim = 64, c->tied = 1, c->rope_factor = 32;
	} else if (!strcmp(name, "llama3.2-3b")) {
		c->n_layers = 28, c->d_model = 3072, c->d_ff = 8192, c->n_heads = 24, c->n_kv_heads = 8;
		c->head_dim = 128, c->tied = 1, c->rope_factor = 32;
	} else if (!strcmp(name, "llama3.1-8b")) {
		c->n_layers = 32, c->d_model = 4096, c->d_ff = 14336, c->n_heads = 32, c->n_kv_heads = 8;
		c->head_dim = 128, c->tied = 0, c->rope_factor = 8;
	} else if (!strcmp(name, "llama3.1-70b")) {
		c->n_layers = 80, c->d_model = 8192, c->d_ff = 28672, c->n_heads = 64, c->n_kv_heads = 8;
		c->head_dim = 128, c->tied = 0, c->rope_factor = 8;
	} else if (!strcmp(name, "llama3.1-405b")) {
		c->n_layers = 126, c->d_model = 16384, c->d_ff = 53248, c->n_heads = 128, c->n_kv_heads = 8;
		c->head_dim = 128, c->tied = 0, c->rope_factor = 8;
	} else if (!strcmp(name, "tiny")) {
		c->n_layers = 4, c->d_model = 128, c->d_ff = 384, c->n_heads = 4, c->n_kv_heads = 2;
		c->head_dim = 32, c->tied = 1, c->rope_factor = 32, c->vocab = 2048, c->bos_id = 1, c->eos_id = 2;
	} else {
		return -1;
	}
	snprintf(c->name, sizeof c->name, "random %s", name);
	return 0;
}
