/* config.c - Llama configuration from config.json or GGUF metadata, RoPE frequencies. */
#include "config.h"
#include "model.h"
#include "filelimits.h"
#include "gguf.h"
#include "mapfile.h"

#include <cJSON.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int json_int(cJSON *o, const char *k, int dflt, int *out, const char *path, rs_err *err)
{
	cJSON *v = cJSON_GetObjectItemCaseSensitive(o, k);
	if (!v || cJSON_IsNull(v)) {
		if (dflt == INT32_MIN)
			return rs_fail(err, "%s: missing \"%s\"", path, k);
		*out = dflt;
		return 0;
	}
	if (cJSON_IsArray(v)) /* eos_token_id may be a list: take the first */
		v = cJSON_GetArrayItem(v, 0);
	if (!cJSON_IsNumber(v) || v->valuedouble != floor(v->valuedouble) || fabs(v->valuedouble) > 1e9)
		return rs_fail(err, "%s: \"%s\" should be an integer", path, k);
	*out = (int)v->valuedouble;
	return 0;
}

static int json_num(cJSON *o, const char *k, double dflt, float *out, const char *path, rs_err *err)
{
	cJSON *v = cJSON_GetObjectItemCaseSensitive(o, k);
	if (!v || cJSON_IsNull(v)) {
		if (isnan(dflt))
			return rs_fail(err, "%s: missing \"%s\"", path, k);
		*out = (float)dflt;
		return 0;
	}
	if (!cJSON_IsNumber(v))
		return rs_fail(err, "%s: \"%s\" should be a number", path, k);
	*out = (float)v->valuedouble;
	return 0;
}

#define REQ INT32_MIN

static int parse_rope(cJSON *rs, rs_config *c, const char *path, rs_err *err)
{
	cJSON *type = cJSON_GetObjectItemCaseSensitive(rs, "rope_type");
	if (!type)
		type = cJSON_GetObjectItemCaseSensitive(rs, "type"); /* older files */
	const char *t = cJSON_IsString(type) ? type->valuestring : "default";
	if (!strcmp(t, "default")) {
		c->rope_kind = RS_ROPE_NONE;
		return 0;
	}
	if (!strcmp(t, "linear")) {
		c->rope_kind = RS_ROPE_LINEAR;
		return json_num(rs, "factor", NAN, &c->rope_factor, path, err);
	}
	if (strcmp(t, "llama3"))
		return rs_fail(err, "%s: rope type \"%s\" is not supported (default, linear, llama3)", path, rs_esc(t, -1));
	c->rope_kind = RS_ROPE_LLAMA3;
	if (json_num(rs, "factor", NAN, &c->rope_factor, path, err) ||
	    json_num(rs, "low_freq_factor", 1.0, &c->rope_low_freq, path, err) ||
	    json_num(rs, "high_freq_factor", 4.0, &c->rope_high_freq, path, err) ||
	    json_int(rs, "original_max_position_embeddings", 8192, &c->rope_orig_ctx, path, err))
		return -1;
	return 0;
}

int config_from_hf_json(const char *path, rs_config *c, rs_err *err)
{
	memset(c, 0, sizeof *c);
	char *text = rs_read_file_max(path, 1u << 20, NULL, err); /* a config.json is a few hundred bytes */
	if (!text)
		return -1;
	const char *end = NULL;
	cJSON *o = cJSON_ParseWithOpts(text, &end, 0);
	if (!o || !cJSON_IsObject(o)) {
		size_t at = end ? (size_t)(end - text) : 0;
		free(text);
		cJSON_Delete(o);
		return rs_fail(err, "%s: not valid JSON (error near byte %zu)", path, at);
	}
	free(text);
	int rc = -1;
	cJSON *mt = cJSON_GetObjectItemCaseSensitive(o, "model_type");
	if (cJSON_IsString(mt) && strcmp(mt->valuestring, "llama")) {
		rs_fail(err, "%s: model_type \"%s\" is not a Llama model", path, rs_esc(mt->valuestring, -1));
		goto out;
	}
	if (json_int(o, "num_hidden_layers", REQ, &c->n_layers, path, err) ||
	    json_int(o, "hidden_size", REQ, &c->d_model, path, err) ||
	    json_int(o, "num_attention_heads", REQ, &c->n_heads, path, err) ||
	    json_int(o, "num_key_value_heads", c->n_heads, &c->n_kv_heads, path, err) ||
	    json_int(o, "intermediate_size", REQ, &c->d_ff, path, err) ||
	    json_int(o, "vocab_size", REQ, &c->vocab, path, err) ||
	    json_int(o, "max_position_embeddings", 2048, &c->max_ctx, path, err) ||
	    json_num(o, "rms_norm_eps", 1e-6, &c->rms_eps, path, err) ||
	    json_int(o, "bos_token_id", -1, &c->bos_id, path, err) ||
	    json_int(o, "eos_token_id", -1, &c->eos_id, path, err))
		goto out;
	if (c->n_heads <= 0) {
		rs_fail(err, "%s: num_attention_heads must be positive", path);
		goto out;
	}
	if (json_int(o, "head_dim", c->d_model / c->n_heads, &c->head_dim, path, err))
		goto out;
	cJSON *tie = cJSON_GetObjectItemCaseSensitive(o, "tie_word_embeddings");
	c->tied = cJSON_IsTrue(tie);
	/* v4 layout: rope_theta at top level + rope_scaling; v5: rope_parameters holds both */
	cJSON *rp = cJSON_GetObjectItemCaseSensitive(o, "rope_parameters");
	cJSON *rs = cJSON_GetObjectItemCaseSensitive(o, "rope_scaling");
	if (cJSON_IsObject(rp)) {
		if (json_num(rp, "rope_theta", 10000.0, &c->rope_theta, path, err) || parse_rope(rp, c, path, err))
			goto out;
	} else {
		if (json_num(o, "rope_theta", 10000.0, &c->rope_theta, path, err))
			goto out;
		if (cJSON_IsObject(rs) && parse_rope(rs, c, path, err))
			goto out;
	}
	cJSON *nm = cJSON_GetObjectItemCaseSensitive(o, "_name_or_path");
	snprintf(c->name, sizeof c->name, "%s", cJSON_IsString(nm) ? nm->valuestring : "");
	rc = config_validate(c, path, err);
out:
	cJSON_Delete(o);
	return rc;
}

/* An integer key: dflt when absent (GGUF_REQ: an error); an error naming the
 * key when it is not an integer in [lo, hi]. */
#define GGUF_REQ INT64_MIN
static int gguf_int(const gguf_file *g, const char *key, int64_t dflt, int64_t lo, int64_t hi, int *out,
		    rs_err *err)
{
	int64_t v = dflt;
	if ((dflt == GGUF_REQ || gguf_find(g, key)) && gguf_get_i64(g, key, &v, err))
		return -1;
	if (v < lo || v > hi)
		return rs_fail(err, "%s: %s = %lld is out of range (%lld to %lld)", g->path, key, (long long)v,
			       (long long)lo, (long long)hi);
	*out = (int)v;
	return 0;
}

int config_from_gguf(const gguf_file *g, rs_config *c, rs_err *err)
{
	memset(c, 0, sizeof *c);
	gguf_str arch;
	if (gguf_get_str(g, "general.architecture", &arch, err))
		return -1;
	if (!gguf_str_eq(arch, "llama"))
		return rs_fail(err, "%s: general.architecture is \"%s\", not llama", g->path, rs_esc(arch.s, (long)arch.len));
	const gguf_kv *tokens = gguf_find(g, "tokenizer.ggml.tokens");
	const gguf_tensor *emb = gguf_find_tensor(g, "token_embd.weight");
	int64_t vocab = tokens ? (int64_t)tokens->arr_n : emb && emb->n_dims > 1 ? emb->ne[1] : 0;
	int dim_dflt = 0;
	/* each within the limit table, so that no cast below wraps; config_validate
	 * then checks them together (and the products) */
	if (gguf_int(g, "llama.block_count", GGUF_REQ, 1, RS_MAX_LAYERS, &c->n_layers, err) ||
	    gguf_int(g, "llama.embedding_length", GGUF_REQ, 1, RS_MAX_DIM, &c->d_model, err) ||
	    gguf_int(g, "llama.feed_forward_length", GGUF_REQ, 1, RS_MAX_DIM, &c->d_ff, err) ||
	    gguf_int(g, "llama.attention.head_count", GGUF_REQ, 1, RS_MAX_HEADS, &c->n_heads, err) ||
	    gguf_int(g, "llama.attention.head_count_kv", c->n_heads, 1, RS_MAX_HEADS, &c->n_kv_heads, err) ||
	    gguf_int(g, "llama.rope.dimension_count", c->d_model / c->n_heads, 0, RS_MAX_HEAD_DIM, &dim_dflt, err) ||
	    gguf_int(g, "llama.attention.key_length", dim_dflt, 0, RS_MAX_HEAD_DIM, &c->head_dim, err) ||
	    gguf_int(g, "llama.context_length", 2048, 1, RS_MAX_CTX, &c->max_ctx, err) ||
	    gguf_int(g, "llama.vocab_size", vocab, 1, RS_MAX_VOCAB, &c->vocab, err))
		return -1;
	/* token ids: some writers store "none" as 0xFFFFFFFF; anything outside the limits is none */
	int64_t bos = gguf_get_i64_or(g, "tokenizer.ggml.bos_token_id", -1);
	int64_t eos = gguf_get_i64_or(g, "tokenizer.ggml.eos_token_id", -1);
	c->bos_id = bos >= 0 && bos < RS_MAX_VOCAB ? (int)bos : -1;
	c->eos_id = eos >= 0 && eos < RS_MAX_VOCAB ? (int)eos : -1;
	c->rope_theta = gguf_get_f32_or(g, "llama.rope.freq_base", 10000.0f);
	c->rms_eps = gguf_get_f32_or(g, "llama.attention.layer_norm_rms_epsilon", 1e-5f);
	c->tied = gguf_find_tensor(g, "output.weight") == NULL;
	gguf_str st;
	if (gguf_find(g, "llama.rope.scaling.type") && gguf_get_str(g, "llama.rope.scaling.type", &st, NULL) == 0 &&
	    gguf_str_eq(st, "linear")) {
		c->rope_kind = RS_ROPE_LINEAR;
		c->rope_factor = gguf_get_f32_or(g, "llama.rope.scaling.factor", 1.0f);
	}
	/* llama3 scaling travels as the rope_freqs.weight tensor, read by model.c */
	gguf_str name;
	if (gguf_find(g, "general.name") && gguf_get_str(g, "general.name", &name, NULL) == 0)
		snprintf(c->name, sizeof c->name, "%.*s", (int)(name.len < 127 ? name.len : 127), name.s);
	return config_validate(c, g->path, err);
}

int config_validate(const rs_config *c, const char *what, rs_err *err)
{
	if (c->n_layers <= 0 || c->d_model <= 0 || c->n_heads <= 0 || c->n_kv_heads <= 0 ||
	    c->head_dim <= 0 || c->d_ff <= 0 || c->vocab <= 0 || c->max_ctx <= 0)
		return rs_fail(err, "%s: layers, sizes, heads, vocabulary and context must all be positive", what);
	/* the limit table (filelimits.h), and the products the engine computes in int */
	int q_dim, kv_dim;
	if (c->n_layers > RS_MAX_LAYERS || c->d_model > RS_MAX_DIM || c->d_ff > RS_MAX_DIM ||
	    c->n_heads > RS_MAX_HEADS || c->n_kv_heads > RS_MAX_HEADS || c->head_dim > RS_MAX_HEAD_DIM ||
	    c->vocab > RS_MAX_VOCAB || c->max_ctx > RS_MAX_CTX || !RS_MUL_OK(c->n_heads, c->head_dim, &q_dim) ||
	    !RS_MUL_OK(c->n_kv_heads, c->head_dim, &kv_dim) || q_dim > RS_MAX_DIM || kv_dim > RS_MAX_DIM)
		return rs_fail(err, "%s: %d layers, hidden %d, feed-forward %d, %d heads (%d key/value) of %d, "
			       "vocabulary %d, context %d: beyond residual's limits (filelimits.h)", what, c->n_layers,
			       c->d_model, c->d_ff, c->n_heads, c->n_kv_heads, c->head_dim, c->vocab, c->max_ctx);
	if (c->n_heads % c->n_kv_heads)
		return rs_fail(err, "%s: %d attention heads is not a multiple of %d key/value heads", what,
			       c->n_heads, c->n_kv_heads);
	if (c->head_dim % 2)
		return rs_fail(err, "%s: head_dim %d must be even for RoPE", what, c->head_dim);
	if (!(c->rms_eps > 0) || !(c->rope_theta > 1))
		return rs_fail(err, "%s: rms_norm_eps and rope_theta must be positive", what);
	if (c->rope_kind == RS_ROPE_LLAMA3 &&
	    !(c->rope_factor > 0 && c->rope_high_freq > c->rope_low_freq && c->rope_orig_ctx > 0))
		return rs_fail(err, "%s: llama3 rope scaling needs factor > 0 and high_freq_factor > low_freq_factor",
			       what);
	return 0;
}

void config_rope_inv_freq(const rs_config *c, float *inv_freq)
{
	int half = c->head_dim / 2;
	for (int i = 0; i < half; i++) {
		/* in float, as transformers computes it */
		float f = 1.0f / powf(c->rope_theta, (float)(2 * i) / (float)c->head_dim);
		if (c->rope_kind == RS_ROPE_LINEAR) {
			f /= c->rope_factor;
		} else if (c->rope_kind == RS_ROPE_LLAMA3) {
			float lo_wavelen = (float)c->rope_orig_ctx / c->rope_low_freq;
			float hi_wavelen = (float)c->rope_orig_ctx / c->rope_high_freq;
			float wavelen = 2.0f * (float)M_PI / f;
			if (wavelen > lo_wavelen) {
				f = f / c->rope_factor;
			} else if (wavelen >= hi_wavelen) {
				float s = ((float)c->rope_orig_ctx / wavelen - c->rope_low_freq) /
					  (c->rope_high_freq - c->rope_low_freq);
				f = (1 - s) * f / c->rope_factor + s * f;
			}
		}
		inv_freq[i] = f;
	}
}

int64_t config_param_count(const rs_config *c)
{
	int64_t d = c->d_model, kv = (int64_t)c->n_kv_heads * c->head_dim, q = (int64_t)c->n_heads * c->head_dim;
	int64_t per_layer = d * q * 2 + d * kv * 2 + 3 * d * c->d_ff + 2 * d;
	return (int64_t)c->vocab * d * (c->tied ? 1 : 2) + d + c->n_layers * per_layer;
}

void rope_unpermute(float *dst, const float *src, int n_heads, int head_dim)
{
	int half = head_dim / 2;
	for (int h = 0; h < n_heads; h++)
		for (int i = 0; i < half; i++)
			for (int p = 0; p < 2; p++)
				dst[h * head_dim + p * half + i] = src[h * head_dim + 2 * i + p];
}

int64_t rope_gguf_row(int64_t hf_row, int head_dim)
{
	int64_t h = hf_row / head_dim, r = hf_row % head_dim, half = head_dim / 2;
	int64_t p = r / half, i = r % half;
	return h * head_dim + 2 * i + p;
}
