/* test_interp_models.c - writing the tests' small models as GGUF. */
#include "config.h"
#include "interp_models.h"
#include "dtype.h"
#include "gguf.h"
#include "model.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static uint64_t sm64(uint64_t *s)
{
	uint64_t z = (*s += 0x9e3779b97f4a7c15ull);
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
	return z ^ (z >> 31);
}

float tm_normal(uint64_t *s)
{
	double u1 = ((sm64(s) >> 11) + 1.0) / 9007199254740993.0, u2 = (sm64(s) >> 11) / 9007199254740992.0;
	return (float)(sqrt(-2.0 * log(u1)) * cos(2.0 * M_PI * u2));
}

static float *zeros(int64_t n) { return rs_xcalloc((size_t)n, sizeof(float)); }

static float *ones(int64_t n)
{
	float *v = zeros(n);
	for (int64_t i = 0; i < n; i++)
		v[i] = 1;
	return v;
}

void tm_alloc(tm_model *m)
{
	int64_t d = m->d, q = (int64_t)m->n_heads * m->head_dim, kv = (int64_t)m->n_kv_heads * m->head_dim;
	m->embd = zeros((int64_t)m->vocab * d);
	m->out = zeros((int64_t)m->vocab * d);
	m->final_norm = ones(d);
	m->layers = rs_xcalloc((size_t)m->n_layers, sizeof *m->layers);
	for (int l = 0; l < m->n_layers; l++) {
		tm_layer *L = &m->layers[l];
		L->attn_norm = ones(d);
		L->ffn_norm = ones(d);
		L->wq = zeros(q * d);
		L->wk = zeros(kv * d);
		L->wv = zeros(kv * d);
		L->wo = zeros(d * q);
		L->gate = zeros((int64_t)m->d_ff * d);
		L->up = zeros((int64_t)m->d_ff * d);
		L->down = zeros(d * m->d_ff);
	}
}

static void fill(float *v, int64_t n, float mean, float std, uint64_t *s)
{
	for (int64_t i = 0; i < n; i++)
		v[i] = mean + std * tm_normal(s);
}

void tm_randomize(tm_model *m, float std, uint64_t seed)
{
	int64_t d = m->d, q = (int64_t)m->n_heads * m->head_dim, kv = (int64_t)m->n_kv_heads * m->head_dim;
	uint64_t s = seed;
	fill(m->embd, m->vocab * d, 0, 1, &s);
	fill(m->out, m->vocab * d, 0, std, &s);
	fill(m->final_norm, d, 1, 0.1f, &s);
	for (int l = 0; l < m->n_layers; l++) {
		tm_layer *L = &m->layers[l];
		fill(L->attn_norm, d, 1, 0.1f, &s);
		fill(L->ffn_norm, d, 1, 0.1f, &s);
		fill(L->wq, q * d, 0, std, &s);
		fill(L->wk, kv * d, 0, std, &s);
		fill(L->wv, kv * d, 0, std, &s);
		fill(L->wo, d * q, 0, std, &s);
		fill(L->gate, m->d_ff * d, 0, std, &s);
		fill(L->up, m->d_ff * d, 0, std, &s);
		fill(L->down, d * m->d_ff, 0, std, &s);
	}
}

void tm_free(tm_model *m)
{
	for (int l = 0; m->layers && l < m->n_layers; l++) {
		tm_layer *L = &m->layers[l];
		float *p[] = {L->attn_norm, L->ffn_norm, L->wq, L->wk, L->wv, L->wo, L->gate, L->up, L->down};
		for (size_t i = 0; i < sizeof p / sizeof *p; i++)
			free(p[i]);
	}
	free(m->layers);
	free(m->embd);
	free(m->out);
	free(m->final_norm);
	free(m->rope_freqs);
	m->layers = NULL;
	m->embd = m->out = m->final_norm = m->rope_freqs = NULL;
}

/* Adds a [rows, cols] matrix converted to type; qk_hd > 0 reorders the rows
 * of each head from rotate-half to GGUF's interleaved pairs. */
static void put_mat(gguf_writer *w, const char *name, const float *v, int64_t rows, int64_t cols, int type,
		    int qk_hd)
{
	size_t rb = rs_dtype_row_bytes(type, cols);
	uint8_t *buf = rs_xmalloc(rb * (size_t)rows);
	for (int64_t r = 0; r < rows; r++) {
		int64_t dst = qk_hd ? rope_gguf_row(r, qk_hd) : r;
		rs_quant_row(type, v + r * cols, buf + (size_t)dst * rb, cols);
	}
	int64_t shape[2] = {rows, cols};
	gguf_w_tensor(w, name, type, 2, shape, buf, rb * (size_t)rows, 1);
	free(buf);
}

static void put_vec(gguf_writer *w, const char *name, const float *v, int64_t n)
{
	gguf_w_tensor(w, name, RS_F32, 1, &n, v, sizeof(float) * (size_t)n, 1);
}

int tm_write_gguf(const tm_model *m, const char *path, int type, rs_err *err)
{
	int64_t d = m->d, q = (int64_t)m->n_heads * m->head_dim, kv = (int64_t)m->n_kv_heads * m->head_dim;
	int hd = m->head_dim;
	char name[96];
	gguf_writer *w = gguf_writer_create();
	gguf_w_str(w, "general.architecture", "llama");
	gguf_w_str(w, "general.name", "interp-test");
	gguf_w_u32(w, "llama.block_count", (uint32_t)m->n_layers);
	gguf_w_u32(w, "llama.embedding_length", (uint32_t)d);
	gguf_w_u32(w, "llama.feed_forward_length", (uint32_t)m->d_ff);
	gguf_w_u32(w, "llama.attention.head_count", (uint32_t)m->n_heads);
	gguf_w_u32(w, "llama.attention.head_count_kv", (uint32_t)m->n_kv_heads);
	gguf_w_u32(w, "llama.attention.key_length", (uint32_t)hd);
	gguf_w_u32(w, "llama.rope.dimension_count", (uint32_t)hd);
	gguf_w_u32(w, "llama.context_length", 2048);
	gguf_w_u32(w, "llama.vocab_size", (uint32_t)m->vocab);
	gguf_w_f32(w, "llama.rope.freq_base", m->rope_theta > 1 ? m->rope_theta : 10000.0f);
	gguf_w_f32(w, "llama.attention.layer_norm_rms_epsilon", m->rms_eps > 0 ? m->rms_eps : 1e-5f);
	if (m->bos >= 0)
		gguf_w_u32(w, "tokenizer.ggml.bos_token_id", (uint32_t)m->bos);
	put_mat(w, "token_embd.weight", m->embd, m->vocab, d, type, 0);
	if (!m->tied)
		put_mat(w, "output.weight", m->out, m->vocab, d, type, 0);
	put_vec(w, "output_norm.weight", m->final_norm, d);
	if (m->rope_freqs)
		put_vec(w, "rope_freqs.weight", m->rope_freqs, hd / 2);
	for (int l = 0; l < m->n_layers; l++) {
		const tm_layer *L = &m->layers[l];
#define N(s) (snprintf(name, sizeof name, "blk.%d." s, l), name)
		put_vec(w, N("attn_norm.weight"), L->attn_norm, d);
		put_mat(w, N("attn_q.weight"), L->wq, q, d, type, hd);
		put_mat(w, N("attn_k.weight"), L->wk, kv, d, type, hd);
		put_mat(w, N("attn_v.weight"), L->wv, kv, d, type, 0);
		put_mat(w, N("attn_output.weight"), L->wo, d, q, type, 0);
		put_vec(w, N("ffn_norm.weight"), L->ffn_norm, d);
		put_mat(w, N("ffn_gate.weight"), L->gate, m->d_ff, d, type, 0);
		put_mat(w, N("ffn_up.weight"), L->up, m->d_ff, d, type, 0);
		put_mat(w, N("ffn_down.weight"), L->down, d, m->d_ff, type, 0);
#undef N
	}
	int rc = gguf_write(w, path, err);
	gguf_writer_free(w);
	return rc;
}
