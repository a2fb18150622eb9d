/* model.h - Llama model configuration and weights (Hugging Face folder or GGUF).
 *
 * Weights stay in their file's type (F32, F16, BF16, Q8_0, Q4_0, Q4_K, Q5_K,
 * Q6_K) inside a read-only mmap; only the small norm vectors are converted to
 * f32 copies. Q and K rows
 * are kept in the file's order: GGUF (interleaved RoPE pairs) projections are
 * permuted to the Hugging Face (rotate-half) order right after the matmul, so
 * every hook shows q/k dimensions in one canonical order.
 */
#ifndef RS_MODEL_H
#define RS_MODEL_H

#include <stddef.h>
#include <stdint.h>

#include "err.h"

struct gguf_file;
struct rs_tokenizer;

typedef enum { RS_ROPE_NONE = 0, RS_ROPE_LLAMA3 = 1, RS_ROPE_LINEAR = 2 } rs_rope_kind;

typedef struct rs_config {
	int n_layers;
	int d_model;
	int n_heads;
	int n_kv_heads;
	int head_dim;
	int d_ff;
	int vocab;
	int max_ctx;             /* max_position_embeddings / context_length */
	float rms_eps;
	float rope_theta;
	rs_rope_kind rope_kind;
	float rope_factor;       /* llama3 / linear factor */
	float rope_low_freq;     /* llama3 low_freq_factor */
	float rope_high_freq;    /* llama3 high_freq_factor */
	int rope_orig_ctx;       /* llama3 original_max_position_embeddings */
	int tied;                /* unembedding is the embedding matrix */
	int bos_id, eos_id;
	char name[128];
} rs_config;

/* A matrix [rows, cols], row-major (PyTorch [out, in]); data in the file's type. */
typedef struct rs_mat {
	const void *data;
	int type;                /* rs_dtype */
	int64_t rows, cols;
	size_t row_bytes;
} rs_mat;

typedef struct rs_layer {
	float *attn_norm;        /* [d_model] input_layernorm / attn_norm */
	rs_mat wq;               /* [n_heads*head_dim, d_model] */
	rs_mat wk, wv;           /* [n_kv_heads*head_dim, d_model] */
	rs_mat wo;               /* [d_model, n_heads*head_dim] */
	float *ffn_norm;         /* [d_model] post_attention_layernorm / ffn_norm */
	rs_mat w_gate, w_up;     /* [d_ff, d_model] */
	rs_mat w_down;           /* [d_model, d_ff] */
} rs_layer;

typedef struct rs_model {
	rs_config cfg;
	rs_mat tok_embd;         /* [vocab, d_model] */
	rs_mat output;           /* [vocab, d_model]; the same data as tok_embd when tied */
	float *final_norm;       /* [d_model] */
	rs_layer *layers;        /* [n_layers] */
	float *inv_freq;         /* [head_dim/2] RoPE frequencies after scaling */
	int qk_interleaved;      /* Q/K rows in GGUF order: permute projections to HF order */
	int weight_type;         /* the dominant matrix type, for display */
	char *path;
	char *format;            /* "gguf" or "safetensors" */
	struct rs_tokenizer *tok;/* NULL when the model folder/file has none */
	void *files;             /* owned mappings (private to model.c) */
} rs_model;

/* Loads a .gguf file or a Hugging Face folder (config.json + safetensors). */
rs_model *model_load(const char *path, rs_err *err);
void model_free(rs_model *m);

/* Config from a Hugging Face config.json (both the rope_scaling and the
 * rope_parameters layouts) or from GGUF metadata. */
int config_from_hf_json(const char *path, rs_config *c, rs_err *err);
int config_from_gguf(const struct gguf_file *g, rs_config *c, rs_err *err);
/* Checks that the numbers are consistent and usable. */
int config_validate(const rs_config *c, const char *what, rs_err *err);
/* Fills inv_freq[head_dim/2] with theta^(-2i/hd), then the llama3 scaling. */
void config_rope_inv_freq(const rs_config *c, float *inv_freq);
int64_t config_param_count(const rs_config *c);

/* GGUF row order <-> HF row order within each head of Q or K (see llama-spec 1.4).
 * hf[h*hd + p*hd/2 + i] = gguf[h*hd + 2i + p]. n = heads*hd values (or rows). */
void rope_unpermute(float *dst_hf, const float *src_gguf, int n_heads, int head_dim);
/* Row index in the GGUF order of HF row r. */
int64_t rope_gguf_row(int64_t hf_row, int head_dim);

/* Dequantizes row r of a matrix to f32. */
void mat_row(const rs_mat *m, int64_t r, float *dst);

#endif
