/* commands_model.h - a tiny Llama GGUF with a byte-level BPE tokenizer,
 * written by the command tests and the command fuzzer so that text prompts
 * work without the built-in model. Random weights: only the plumbing and
 * identities are tested with it, never what it predicts. */
#ifndef RS_COMMANDS_MODEL_H
#define RS_COMMANDS_MODEL_H

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dtype.h"
#include "err.h"
#include "filelimits.h"
#include "gguf.h"
#include "tokenizer.h"

#define TM_LAYERS 2
#define TM_D 32
#define TM_HEADS 4
#define TM_KV 2
#define TM_HD 8
#define TM_FF 48

/* GPT-2's printable stand-in for byte b, as UTF-8. */
static void tm_byte_piece(int b, char *out)
{
	int cp;
	if ((b >= 33 && b <= 126) || (b >= 161 && b <= 172) || (b >= 174 && b <= 255)) {
		cp = b;
	} else {
		int k = 0; /* the k-th byte without a printable form maps to 256 + k */
		for (int i = 0; i < b; i++)
			if (!((i >= 33 && i <= 126) || (i >= 161 && i <= 172) || (i >= 174 && i <= 255)))
				k++;
		cp = 256 + k;
	}
	if (cp < 0x80) {
		out[0] = (char)cp;
		out[1] = 0;
	} else {
		out[0] = (char)(0xc0 | (cp >> 6));
		out[1] = (char)(0x80 | (cp & 0x3f));
		out[2] = 0;
	}
}

RS_WRAPS static float tm_rand(uint64_t *s)
{
	*s = *s * 6364136223846793005ull + 1442695040888963407ull;
	return ((float)((*s >> 40) & 0xffffff) / 16777216.0f - 0.5f) * 2.0f;
}

static void tm_put(gguf_writer *w, const char *name, int64_t rows, int64_t cols, float scale, float base,
		   uint64_t *seed)
{
	int64_t n = rows * cols;
	float *v = rs_xmalloc(sizeof(float) * (size_t)n);
	for (int64_t i = 0; i < n; i++)
		v[i] = base + scale * tm_rand(seed);
	int64_t shape[2] = {rows, cols};
	gguf_w_tensor(w, name, RS_F32, cols ? 2 : 1, cols ? shape : &shape[0], v, sizeof(float) * (size_t)n, 1);
	free(v);
}

/* Writes the model to path; returns 0 or -1 with a message. n_extra more
 * tokens (after the merges, before the two special ones) stand for the
 * given NUL-terminated byte strings, and name (NULL: the usual one) is
 * general.name: the robustness tests hand it hostile text. */
static int tm_write_model(const char *path, const char *const *extra, int n_extra, const char *model_name,
			  rs_err *err)
{
	/* merges spell a few words so prompts have multi-byte tokens */
	static const char *const merges[] = {
		"Ġ t", "h e", "Ġt he", "a t", "Ġ c", "Ġc at", "Ġ s", "Ġs at", "o n", "Ġ on", "Ġ m", "Ġm at",
		"Ġ d", "o g", "Ġd og", "Ġ a", "Ġ r", "a n", "Ġr an",
	};
	enum { NM = sizeof merges / sizeof *merges };
	const int NV = 256 + NM + n_extra + 2;
	char *pieces[NV];
	int32_t types[NV];
	char buf[8];
	for (int b = 0; b < 256; b++) {
		tm_byte_piece(b, buf);
		pieces[b] = rs_xstrdup(buf);
		types[b] = TOK_T_NORMAL;
	}
	for (int i = 0; i < NM; i++) { /* the merged piece is the two sides joined */
		char tmp[32];
		const char *sp = strchr(merges[i], ' ');
		snprintf(tmp, sizeof tmp, "%.*s%s", (int)(sp - merges[i]), merges[i], sp + 1);
		pieces[256 + i] = rs_xstrdup(tmp);
		types[256 + i] = TOK_T_NORMAL;
	}
	for (int i = 0; i < n_extra; i++) { /* each byte by its printable stand-in */
		char *piece = rs_xmalloc(2 * strlen(extra[i]) + 1);
		piece[0] = 0;
		for (const unsigned char *b = (const unsigned char *)extra[i]; *b; b++) {
			tm_byte_piece(*b, buf);
			strcat(piece, buf);
		}
		pieces[256 + NM + i] = piece;
		types[256 + NM + i] = TOK_T_NORMAL;
	}
	pieces[NV - 2] = rs_xstrdup("<|begin_of_text|>");
	pieces[NV - 1] = rs_xstrdup("<|end_of_text|>");
	types[NV - 2] = types[NV - 1] = TOK_T_CONTROL;
	rs_tokenizer *tok = tok_create_bpe((const char *const *)pieces, types, NV, merges, NM, NV - 2, NV - 1, err);
	for (int i = 0; i < NV; i++)
		free(pieces[i]);
	if (!tok)
		return -1;
	gguf_writer *w = gguf_writer_create();
	gguf_w_str(w, "general.architecture", "llama");
	gguf_w_str(w, "general.name", model_name ? model_name : "commands-test-tiny");
	gguf_w_u32(w, "llama.block_count", TM_LAYERS);
	gguf_w_u32(w, "llama.embedding_length", TM_D);
	gguf_w_u32(w, "llama.feed_forward_length", TM_FF);
	gguf_w_u32(w, "llama.attention.head_count", TM_HEADS);
	gguf_w_u32(w, "llama.attention.head_count_kv", TM_KV);
	gguf_w_u32(w, "llama.context_length", 512);
	gguf_w_f32(w, "llama.rope.freq_base", 10000.0f);
	gguf_w_f32(w, "llama.attention.layer_norm_rms_epsilon", 1e-5f);
	int rc = tok_gguf_write(tok, w, err);
	tok_free(tok);
	uint64_t seed = 12345;
	char name[64];
	tm_put(w, "token_embd.weight", NV, TM_D, 1.0f, 0, &seed);
	tm_put(w, "output.weight", NV, TM_D, 0.5f, 0, &seed);
	tm_put(w, "output_norm.weight", TM_D, 0, 0.2f, 1.0f, &seed);
	for (int l = 0; l < TM_LAYERS; l++) {
		float s = 0.3f;
		snprintf(name, sizeof name, "blk.%d.attn_norm.weight", l);
		tm_put(w, name, TM_D, 0, 0.2f, 1.0f, &seed);
		snprintf(name, sizeof name, "blk.%d.attn_q.weight", l);
		tm_put(w, name, TM_HEADS * TM_HD, TM_D, s, 0, &seed);
		snprintf(name, sizeof name, "blk.%d.attn_k.weight", l);
		tm_put(w, name, TM_KV * TM_HD, TM_D, s, 0, &seed);
		snprintf(name, sizeof name, "blk.%d.attn_v.weight", l);
		tm_put(w, name, TM_KV * TM_HD, TM_D, s, 0, &seed);
		snprintf(name, sizeof name, "blk.%d.attn_output.weight", l);
		tm_put(w, name, TM_D, TM_HEADS * TM_HD, s, 0, &seed);
		snprintf(name, sizeof name, "blk.%d.ffn_norm.weight", l);
		tm_put(w, name, TM_D, 0, 0.2f, 1.0f, &seed);
		snprintf(name, sizeof name, "blk.%d.ffn_gate.weight", l);
		tm_put(w, name, TM_FF, TM_D, s, 0, &seed);
		snprintf(name, sizeof name, "blk.%d.ffn_up.weight", l);
		tm_put(w, name, TM_FF, TM_D, s, 0, &seed);
		snprintf(name, sizeof name, "blk.%d.ffn_down.weight", l);
		tm_put(w, name, TM_D, TM_FF, s, 0, &seed);
	}
	if (!rc)
		rc = gguf_write(w, path, err);
	gguf_writer_free(w);
	return rc;
}

static int tm_write_tiny_model(const char *path, rs_err *err)
{
	return tm_write_model(path, NULL, 0, NULL, err);
}

#endif
