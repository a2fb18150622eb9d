/* kquant - rewrites an F32/F16/BF16 GGUF with its matrices in Q4_K and Q6_K,
 * laid out as llama.cpp's Q4_K_M: Q6_K for the token embedding (tied to the
 * output here) or output, and for attn_v and ffn_down in the layers llama.cpp
 * gives more bits (the first and last eighth, and every third between); Q4_K
 * for every other matrix. For benchmarks on machines without llama-quantize:
 * the quantizer is a plain min/max one, not llama.cpp's error-minimizing
 * search, so the speed is llama.cpp's Q4_K_M's but the accuracy is a bit lower.
 *
 *   bench/kquant IN.gguf OUT.gguf */
#include "config.h"
#include "dtype.h"
#include "gguf.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void put_half(uint8_t *p, float f)
{
	uint16_t h = rs_f32_to_f16(f);
	memcpy(p, &h, 2);
}

static float get_half(const uint8_t *p)
{
	uint16_t h;
	memcpy(&h, p, 2);
	return rs_f16_to_f32(h);
}

/* One Q4_K super-block: per 32, scale = (max - min) / 15 and min = -min (x >= min). */
static void q4_k_block(const float *x, uint8_t *p)
{
	float scale[8], mins[8], smax = 0, mmax = 0;
	for (int j = 0; j < 8; j++) {
		float lo = 0, hi = -INFINITY;
		for (int l = 0; l < 32; l++) {
			lo = fminf(lo, x[32 * j + l]);
			hi = fmaxf(hi, x[32 * j + l]);
		}
		scale[j] = (hi - lo) / 15;
		mins[j] = -lo;
		smax = fmaxf(smax, scale[j]);
		mmax = fmaxf(mmax, mins[j]);
	}
	put_half(p, smax / 63);
	put_half(p + 2, mmax / 63);
	float d = get_half(p), dmin = get_half(p + 2);
	int sc[8], m[8];
	for (int j = 0; j < 8; j++) {
		sc[j] = d > 0 ? (int)fminf(63, nearbyintf(scale[j] / d)) : 0;
		m[j] = dmin > 0 ? (int)fminf(63, nearbyintf(mins[j] / dmin)) : 0;
	}
	uint8_t *b = p + 4;
	for (int j = 0; j < 4; j++) {
		b[j] = (uint8_t)(sc[j] | (sc[j + 4] >> 4) << 6);
		b[j + 4] = (uint8_t)(m[j] | (m[j + 4] >> 4) << 6);
		b[j + 8] = (uint8_t)((sc[j + 4] & 15) | (m[j + 4] & 15) << 4);
	}
	uint8_t *qs = p + 16;
	memset(qs, 0, 128);
	for (int j = 0; j < 8; j++) {
		float ds = d * sc[j], dm = dmin * m[j];
		for (int l = 0; l < 32; l++) {
			int q = ds > 0 ? (int)nearbyintf((x[32 * j + l] + dm) / ds) : 0;
			q = q < 0 ? 0 : q > 15 ? 15 : q;
			qs[32 * (j / 2) + l] |= (uint8_t)(q << (4 * (j & 1)));
		}
	}
}

/* One Q6_K super-block: per 16, a signed scale of max|x| / 32. */
static void q6_k_block(const float *x, uint8_t *p)
{
	float scale[16], smax = 0;
	for (int g = 0; g < 16; g++) {
		float a = 0;
		for (int l = 0; l < 16; l++)
			a = fmaxf(a, fabsf(x[16 * g + l]));
		scale[g] = a / 32;
		smax = fmaxf(smax, scale[g]);
	}
	put_half(p + 208, smax / 127);
	float d = get_half(p + 208);
	memset(p, 0, 208);
	for (int g = 0; g < 16; g++) {
		int sc = d > 0 ? (int)fminf(127, nearbyintf(scale[g] / d)) : 0;
		((int8_t *)(p + 192))[g] = (int8_t)sc;
		for (int l = 0; l < 16; l++) {
			int e = 16 * g + l, nn = e / 128, k = (e % 128) / 32, L = e % 32;
			int q = sc ? (int)nearbyintf(x[e] / (d * sc)) + 32 : 32;
			q = q < 0 ? 0 : q > 63 ? 63 : q;
			p[64 * nn + 32 * (k & 1) + L] |= (uint8_t)((q & 15) << (k < 2 ? 0 : 4));
			p[128 + 32 * nn + L] |= (uint8_t)((q >> 4) << (2 * k));
		}
	}
}

static int more_bits(int layer, int n)
{
	return layer < n / 8 || layer >= 7 * n / 8 || (layer - n / 8) % 3 == 2;
}

int main(int argc, char **argv)
{
	if (argc != 3) {
		fputs("usage: bench/kquant IN.gguf OUT.gguf\n", stderr);
		return 2;
	}
	rs_err err = {{0}};
	gguf_file *g = gguf_open(argv[1], &err);
	if (!g) {
		fprintf(stderr, "kquant: %s\n", err.msg);
		return 1;
	}
	int n_layers = (int)gguf_get_i64_or(g, "llama.block_count", 0);
	gguf_writer *w = gguf_writer_create();
	for (uint64_t i = 0; i < g->n_kv; i++) {
		const gguf_kv *kv = &g->kv[i];
		char key[256];
		snprintf(key, sizeof key, "%.*s", (int)kv->key.len, kv->key.s);
		if (!strcmp(key, "general.file_type")) {
			gguf_w_u32(w, key, 15); /* MOSTLY_Q4_K_M */
			continue;
		}
		switch (kv->type) {
		case GGUF_U32: { uint32_t v; memcpy(&v, kv->val, 4); gguf_w_u32(w, key, v); break; }
		case GGUF_I32: { int32_t v; memcpy(&v, kv->val, 4); gguf_w_i32(w, key, v); break; }
		case GGUF_F32: { float v; memcpy(&v, kv->val, 4); gguf_w_f32(w, key, v); break; }
		case GGUF_BOOL: gguf_w_bool(w, key, *(const uint8_t *)kv->val); break;
		case GGUF_STRING: {
			char *v = strndup(kv->str.s, kv->str.len);
			gguf_w_str(w, key, v);
			free(v);
			break;
		}
		case GGUF_ARRAY:
			if (kv->arr_type == GGUF_STRING) {
				const char **v = malloc(sizeof(char *) * kv->arr_n);
				for (uint64_t k = 0; k < kv->arr_n; k++)
					v[k] = strndup(kv->strs[k].s, kv->strs[k].len);
				gguf_w_arr_str(w, key, v, kv->arr_n);
				for (uint64_t k = 0; k < kv->arr_n; k++)
					free((char *)v[k]);
				free(v);
			} else if (kv->arr_type == GGUF_I32 || kv->arr_type == GGUF_F32) {
				size_t n = kv->arr_n;
				void *v = malloc(4 * n + 1);
				memcpy(v, kv->val, 4 * n);
				if (kv->arr_type == GGUF_I32)
					gguf_w_arr_i32(w, key, v, n);
				else
					gguf_w_arr_f32(w, key, v, n);
				free(v);
			} else {
				fprintf(stderr, "kquant: key %s: array type %d not copied\n", key, kv->arr_type);
			}
			break;
		default:
			fprintf(stderr, "kquant: key %s: type %d not copied\n", key, kv->type);
		}
	}
	size_t total = 0;
	for (uint64_t i = 0; i < g->n_tensors; i++) {
		const gguf_tensor *t = &g->tensors[i];
		char name[256];
		snprintf(name, sizeof name, "%.*s", (int)t->name.len, t->name.s);
		int64_t shape[4];
		for (int k = 0; k < t->n_dims; k++)
			shape[k] = t->ne[t->n_dims - 1 - k];
		if (t->n_dims != 2 || t->ne[0] % 256) {
			gguf_w_tensor(w, name, t->type, t->n_dims, shape, t->data, t->nbytes, GGUF_W_REF);
			total += t->nbytes;
			continue;
		}
		int layer = -1;
		sscanf(name, "blk.%d.", &layer);
		int six = !strcmp(name, "token_embd.weight") || !strcmp(name, "output.weight") ||
			  (layer >= 0 && (strstr(name, "attn_v") || strstr(name, "ffn_down")) && more_bits(layer, n_layers));
		int type = six ? RS_Q6_K : RS_Q4_K;
		int64_t cols = t->ne[0], rows = t->ne[1];
		size_t rb = rs_dtype_row_bytes(type, cols), in_rb = rs_dtype_row_bytes(t->type, cols);
		uint8_t *out = malloc(rb * (size_t)rows);
		float *row = malloc(sizeof(float) * (size_t)cols);
		for (int64_t r = 0; r < rows; r++) {
			rs_dequant_row(t->type, (const uint8_t *)t->data + (size_t)r * in_rb, row, cols);
			for (int64_t b = 0; b < cols / 256; b++)
				(six ? q6_k_block : q4_k_block)(row + 256 * b, out + (size_t)r * rb + (size_t)b * (six ? 210 : 144));
		}
		free(row);
		gguf_w_tensor(w, name, type, 2, shape, out, rb * (size_t)rows, GGUF_W_TAKE);
		total += rb * (size_t)rows;
	}
	int rc = gguf_write(w, argv[2], &err);
	gguf_writer_free(w);
	gguf_close(g);
	if (rc) {
		fprintf(stderr, "kquant: %s\n", err.msg);
		return 1;
	}
	printf("wrote %s (%.0f MB of tensors)\n", argv[2], total / 1e6);
	return 0;
}
