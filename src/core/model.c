/* model.c - load Llama weights from a Hugging Face folder or a GGUF file. */
#include "config.h"
#include "model.h"
#include "dtype.h"
#include "filelimits.h"
#include "gguf.h"
#include "mapfile.h"
#include "safetensors.h"
#include "tokenizer.h"

#include <cJSON.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

typedef struct model_files {
	gguf_file *gguf;
	st_file **shards;
	int n_shards;
} model_files;

/* A source of named tensors: one GGUF, or a set of safetensors shards. */
typedef struct tensor_ref {
	const char *name;       /* the name looked up */
	int type;
	int n_dims;
	int64_t shape[4];       /* PyTorch order */
	const void *data;
	size_t nbytes;
	const char *file;
} tensor_ref;

static int find_tensor(const rs_model *m, const char *name, tensor_ref *r, rs_err *err)
{
	model_files *f = m->files;
	memset(r, 0, sizeof *r);
	r->name = name;
	if (f->gguf) {
		const gguf_tensor *t = gguf_find_tensor(f->gguf, name);
		if (!t)
			return rs_fail(err, "%s: missing tensor '%s'", f->gguf->path, name);
		r->type = t->type;
		r->n_dims = t->n_dims;
		for (int i = 0; i < t->n_dims; i++)
			r->shape[i] = t->ne[t->n_dims - 1 - i];
		r->data = t->data;
		r->nbytes = t->nbytes;
		r->file = f->gguf->path;
		return 0;
	}
	for (int s = 0; s < f->n_shards; s++) {
		const st_tensor *t = st_find(f->shards[s], name);
		if (!t)
			continue;
		if (t->dtype != RS_F32 && t->dtype != RS_F16 && t->dtype != RS_BF16)
			return rs_fail(err, "%s: tensor '%s' has dtype %s; residual reads F32, F16 and BF16",
				       f->shards[s]->path, name, t->dtype_name);
		if (t->n_dims < 1 || t->n_dims > 2)
			return rs_fail(err, "%s: tensor '%s' has %d dimensions", f->shards[s]->path, name, t->n_dims);
		r->type = t->dtype;
		r->n_dims = t->n_dims;
		for (int i = 0; i < t->n_dims; i++)
			r->shape[i] = t->shape[i];
		r->data = t->data;
		r->nbytes = t->nbytes;
		r->file = f->shards[s]->path;
		return 0;
	}
	return rs_fail(err, "%s: missing tensor '%s'", m->path, name);
}

static int load_mat(rs_model *m, const char *name, int64_t rows, int64_t cols, rs_mat *out, rs_err *err)
{
	tensor_ref r;
	if (find_tensor(m, name, &r, err))
		return -1;
	if (r.n_dims != 2 || r.shape[0] != rows || r.shape[1] != cols)
		return rs_fail(err, "%s: tensor '%s' has shape [%lld, %lld] but the config needs [%lld, %lld]",
			       r.file, name, (long long)r.shape[0], (long long)(r.n_dims > 1 ? r.shape[1] : 1),
			       (long long)rows, (long long)cols);
	out->data = r.data;
	out->type = r.type;
	out->rows = rows;
	out->cols = cols;
	out->row_bytes = rs_dtype_row_bytes(r.type, cols);
	return 0;
}

static float *load_vec(rs_model *m, const char *name, int64_t n, rs_err *err)
{
	tensor_ref r;
	if (find_tensor(m, name, &r, err))
		return NULL;
	if (r.n_dims != 1 || r.shape[0] != n) {
		rs_fail(err, "%s: tensor '%s' has %d dimensions of which the first is %lld, but the config needs [%lld]",
			r.file, name, r.n_dims, (long long)r.shape[0], (long long)n);
		return NULL;
	}
	if (r.type != RS_F32 && r.type != RS_F16 && r.type != RS_BF16) {
		rs_fail(err, "%s: vector '%s' must be F32, F16 or BF16", r.file, name);
		return NULL;
	}
	float *v = rs_xmalloc((size_t)n * sizeof(float));
	rs_dequant_row(r.type, r.data, v, n);
	return v;
}

void mat_row(const rs_mat *m, int64_t r, float *dst)
{
	rs_dequant_row(m->type, (const uint8_t *)m->data + (size_t)r * m->row_bytes, dst, m->cols);
}

/* ---------------------------------------------------------------- names */
typedef struct names {
	const char *embd, *out, *norm;
	const char *attn_norm, *q, *k, *v, *o, *ffn_norm, *gate, *up, *down; /* with %d */
} names;

static const names hf_names = {
	"model.embed_tokens.weight", "lm_head.weight", "model.norm.weight",
	"model.layers.%d.input_layernorm.weight", "model.layers.%d.self_attn.q_proj.weight",
	"model.layers.%d.self_attn.k_proj.weight", "model.layers.%d.self_attn.v_proj.weight",
	"model.layers.%d.self_attn.o_proj.weight", "model.layers.%d.post_attention_layernorm.weight",
	"model.layers.%d.mlp.gate_proj.weight", "model.layers.%d.mlp.up_proj.weight",
	"model.layers.%d.mlp.down_proj.weight",
};

static const names gguf_names = {
	"token_embd.weight", "output.weight", "output_norm.weight",
	"blk.%d.attn_norm.weight", "blk.%d.attn_q.weight", "blk.%d.attn_k.weight", "blk.%d.attn_v.weight",
	"blk.%d.attn_output.weight", "blk.%d.ffn_norm.weight", "blk.%d.ffn_gate.weight",
	"blk.%d.ffn_up.weight", "blk.%d.ffn_down.weight",
};

static int load_weights(rs_model *m, const names *n, rs_err *err)
{
	const rs_config *c = &m->cfg;
	int64_t d = c->d_model, q = (int64_t)c->n_heads * c->head_dim, kv = (int64_t)c->n_kv_heads * c->head_dim;
	char name[128];
	/* The files must hold the tensors the config promises (9 a layer) before
	 * anything per layer is allocated or looked up. */
	model_files *f = m->files;
	size_t have = f->gguf ? (size_t)f->gguf->n_tensors : 0;
	for (int s = 0; s < f->n_shards; s++)
		have += f->shards[s]->n;
	size_t want = 9 * (size_t)c->n_layers + 2 + !c->tied;
	if (want > have)
		return rs_fail(err, "%s: %d layers need %zu tensors but the model file holds %zu",
			       f->gguf ? f->gguf->path : m->path, c->n_layers, want, have);
	if (load_mat(m, n->embd, c->vocab, d, &m->tok_embd, err))
		return -1;
	if (c->tied) {
		m->output = m->tok_embd;
	} else if (load_mat(m, n->out, c->vocab, d, &m->output, err)) {
		return -1;
	}
	if (!(m->final_norm = load_vec(m, n->norm, d, err)))
		return -1;
	m->layers = rs_xcalloc((size_t)c->n_layers, sizeof *m->layers);
	for (int l = 0; l < c->n_layers; l++) {
		rs_layer *L = &m->layers[l];
#define NAME(fmt) (snprintf(name, sizeof name, fmt, l), name)
		if (!(L->attn_norm = load_vec(m, NAME(n->attn_norm), d, err)) ||
		    load_mat(m, NAME(n->q), q, d, &L->wq, err) || load_mat(m, NAME(n->k), kv, d, &L->wk, err) ||
		    load_mat(m, NAME(n->v), kv, d, &L->wv, err) || load_mat(m, NAME(n->o), d, q, &L->wo, err) ||
		    !(L->ffn_norm = load_vec(m, NAME(n->ffn_norm), d, err)) ||
		    load_mat(m, NAME(n->gate), c->d_ff, d, &L->w_gate, err) ||
		    load_mat(m, NAME(n->up), c->d_ff, d, &L->w_up, err) ||
		    load_mat(m, NAME(n->down), d, c->d_ff, &L->w_down, err))
			return -1;
#undef NAME
	}
	m->weight_type = m->layers[0].wq.type;
	return 0;
}

/* ---------------------------------------------------------------- formats */
static int is_dir(const char *p)
{
	struct stat st;
	return stat(p, &st) == 0 && S_ISDIR(st.st_mode);
}

static int file_exists(const char *p)
{
	struct stat st;
	return stat(p, &st) == 0 && S_ISREG(st.st_mode);
}

static int open_hf_shards(rs_model *m, const char *dir, rs_err *err)
{
	model_files *f = m->files;
	char path[4096];
	snprintf(path, sizeof path, "%s/model.safetensors", dir);
	if (file_exists(path)) {
		f->shards = rs_xcalloc(1, sizeof *f->shards);
		if (!(f->shards[0] = st_open(path, err)))
			return -1;
		f->n_shards = 1;
		return 0;
	}
	snprintf(path, sizeof path, "%s/model.safetensors.index.json", dir);
	if (!file_exists(path))
		return rs_fail(err, "%s: no model.safetensors or model.safetensors.index.json", dir);
	char *text = rs_read_file_max(path, RS_MAX_JSON_BYTES, NULL, err);
	if (!text)
		return -1;
	cJSON *o = cJSON_Parse(text);
	free(text);
	cJSON *map = cJSON_GetObjectItemCaseSensitive(o, "weight_map");
	if (!cJSON_IsObject(map)) {
		cJSON_Delete(o);
		return rs_fail(err, "%s: not valid JSON with a \"weight_map\" object", path);
	}
	/* the distinct shard file names, in first-seen order */
	char **seen = NULL;
	int n = 0, rc = 0;
	for (cJSON *it = map->child; it; it = it->next) {
		if (!cJSON_IsString(it) || strchr(it->valuestring, '/')) {
			rc = rs_fail(err, "%s: weight_map entry '%s' is not a plain file name", path, rs_esc(it->string, -1));
			break;
		}
		int dup = 0;
		for (int i = 0; i < n && !dup; i++)
			dup = !strcmp(seen[i], it->valuestring);
		if (!dup && n == RS_MAX_SHARDS) {
			rc = rs_fail(err, "%s: weight_map names more than %d shard files", path, RS_MAX_SHARDS);
			break;
		}
		if (!dup) {
			seen = rs_xrealloc(seen, (size_t)(n + 1) * sizeof *seen);
			seen[n++] = it->valuestring;
		}
	}
	f->shards = rs_xcalloc((size_t)(n ? n : 1), sizeof *f->shards);
	for (int i = 0; i < n && !rc; i++) {
		snprintf(path, sizeof path, "%s/%s", dir, seen[i]);
		if (!(f->shards[i] = st_open(path, err)))
			rc = -1;
		else
			f->n_shards = i + 1;
	}
	free(seen);
	cJSON_Delete(o);
	return rc;
}

static int load_hf(rs_model *m, const char *dir, rs_err *err)
{
	char path[4096];
	snprintf(path, sizeof path, "%s/config.json", dir);
	if (config_from_hf_json(path, &m->cfg, err) || open_hf_shards(m, dir, err))
		return -1;
	m->format = rs_xstrdup("safetensors");
	if (load_weights(m, &hf_names, err))
		return -1;
	m->inv_freq = rs_xmalloc(sizeof(float) * (size_t)(m->cfg.head_dim / 2));
	config_rope_inv_freq(&m->cfg, m->inv_freq);
	snprintf(path, sizeof path, "%s/tokenizer.json", dir);
	if (file_exists(path) && !(m->tok = tok_load_json(path, err)))
		return -1;
	return 0;
}

static int load_gguf(rs_model *m, const char *path, rs_err *err)
{
	model_files *f = m->files;
	if (!(f->gguf = gguf_open(path, err)) || config_from_gguf(f->gguf, &m->cfg, err))
		return -1;
	m->format = rs_xstrdup("gguf");
	m->qk_interleaved = 1;
	if (load_weights(m, &gguf_names, err))
		return -1;
	int half = m->cfg.head_dim / 2;
	m->inv_freq = rs_xmalloc(sizeof(float) * (size_t)half);
	config_rope_inv_freq(&m->cfg, m->inv_freq);
	const gguf_tensor *rf = gguf_find_tensor(f->gguf, "rope_freqs.weight");
	if (rf) {
		/* llama3 scaling as per-pair divisors of the base frequency */
		if (rf->type != RS_F32 || rf->n_dims != 1 || rf->ne[0] != half)
			return rs_fail(err, "%s: tensor 'rope_freqs.weight' should be F32 [%d]", path, half);
		float div[half];
		memcpy(div, rf->data, sizeof div);
		for (int i = 0; i < half; i++) {
			if (!(div[i] > 0))
				return rs_fail(err, "%s: rope_freqs.weight[%d] = %g is not positive", path, i, div[i]);
			m->inv_freq[i] /= div[i];
		}
		m->cfg.rope_kind = RS_ROPE_LLAMA3;
	}
	if (gguf_find(f->gguf, "tokenizer.ggml.tokens") && !(m->tok = tok_load_gguf(f->gguf, err)))
		return -1;
	return 0;
}

rs_model *model_load(const char *path, rs_err *err)
{
	rs_model *m = rs_xcalloc(1, sizeof *m);
	m->files = rs_xcalloc(1, sizeof(model_files));
	m->path = rs_xstrdup(path);
	int rc;
	if (is_dir(path))
		rc = load_hf(m, path, err);
	else if (file_exists(path))
		rc = load_gguf(m, path, err);
	else
		rc = rs_fail(err, "%s: no such model file or folder", path);
	if (rc) {
		model_free(m);
		return NULL;
	}
	return m;
}

void model_free(rs_model *m)
{
	if (!m)
		return;
	for (int l = 0; m->layers && l < m->cfg.n_layers; l++) {
		free(m->layers[l].attn_norm);
		free(m->layers[l].ffn_norm);
	}
	free(m->layers);
	free(m->final_norm);
	free(m->inv_freq);
	tok_free(m->tok);
	model_files *f = m->files;
	if (f) {
		gguf_close(f->gguf);
		for (int i = 0; i < f->n_shards; i++)
			st_close(f->shards[i]);
		free(f->shards);
		free(f);
	}
	free(m->format);
	free(m->path);
	free(m);
}
