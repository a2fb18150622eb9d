/* tok_gguf.c - tokenizers stored as GGUF tokenizer.ggml.* keys (read and
 * write), and tok_load, which picks the loader for a path. */
#include "config.h"
#include "tok_internal.h"
#include "filelimits.h"
#include "gguf.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define KEY(k) "tokenizer.ggml." k

/* An optional token-id key: dflt when absent, an error when of the wrong type. */
static int get_id(const gguf_file *g, const char *key, int32_t dflt, int32_t *out, rs_err *err)
{
	int64_t v;
	if (!gguf_find(g, key)) {
		*out = dflt;
		return 0;
	}
	if (gguf_get_i64(g, key, &v, err))
		return -1;
	if (v < -1 || v > INT32_MAX)
		return rs_fail(err, "%s: %s is %" PRId64 ", not a token id", g->path, key, v);
	*out = (int32_t)v;
	return 0;
}

static int get_flag(const gguf_file *g, const char *key, int dflt, int *out, rs_err *err)
{
	if (!gguf_find(g, key)) {
		*out = dflt;
		return 0;
	}
	return gguf_get_bool(g, key, out, err);
}

/* An optional numeric array of n entries; NULL in *kv when absent. */
static int get_num_arr(const gguf_file *g, const char *key, int type, uint64_t n, int required,
		       const gguf_kv **kv, rs_err *err)
{
	*kv = NULL;
	if (!required && !gguf_find(g, key))
		return 0;
	if (gguf_get_arr(g, key, type, kv, err))
		return -1;
	if ((*kv)->arr_n != n)
		return rs_fail(err, "%s: %s has %" PRIu64 " entries for %" PRIu64 " tokens", g->path,
			       key, (*kv)->arr_n, n);
	return 0;
}

rs_tokenizer *tok_load_gguf(const gguf_file *g, rs_err *err)
{
	gguf_str model, pre = {0, NULL};
	const gguf_kv *tokens, *types_kv, *scores_kv, *merges_kv = NULL;
	if (gguf_get_str(g, KEY("model"), &model, err))
		return NULL;
	int kind = gguf_str_eq(model, "gpt2") ? TOK_BPE : gguf_str_eq(model, "llama") ? TOK_SPM : 0;
	if (!kind) {
		char q[80];
		rs_fail(err, "%s: tokenizer.ggml.model is \"%s\"; supported are \"gpt2\" (Llama 3 "
			"BPE) and \"llama\" (SentencePiece)", g->path,
			tok_quote(q, sizeof q, model.s, model.len));
		return NULL;
	}
	/* Only the Llama 3 regex is implemented; files from before the key existed
	 * (spring 2024) lack it and are taken to be Llama 3. */
	if (kind == TOK_BPE && gguf_find(g, KEY("pre"))) {
		if (gguf_get_str(g, KEY("pre"), &pre, err))
			return NULL;
		if (!gguf_str_eq(pre, "llama-bpe") && !gguf_str_eq(pre, "llama3") &&
		    !gguf_str_eq(pre, "llama-v3")) {
			char q[80];
			rs_fail(err, "%s: tokenizer.ggml.pre is \"%s\"; only the Llama 3 pre-tokenizer "
				"(\"llama-bpe\") is implemented", g->path, tok_quote(q, sizeof q, pre.s, pre.len));
			return NULL;
		}
	}
	if (gguf_get_arr(g, KEY("tokens"), GGUF_STRING, &tokens, err))
		return NULL;
	uint64_t n = tokens->arr_n;
	if (n == 0 || n > RS_MAX_VOCAB) {
		rs_fail(err, "%s: tokenizer.ggml.tokens has %" PRIu64 " tokens (1 to %d allowed)", g->path, n,
			RS_MAX_VOCAB);
		return NULL;
	}
	if (get_num_arr(g, KEY("token_type"), GGUF_I32, n, 0, &types_kv, err) ||
	    get_num_arr(g, KEY("scores"), GGUF_F32, n, kind == TOK_SPM, &scores_kv, err))
		return NULL;
	if (kind == TOK_BPE && gguf_get_arr(g, KEY("merges"), GGUF_STRING, &merges_kv, err))
		return NULL;
	if (merges_kv && merges_kv->arr_n > RS_MAX_MERGES) {
		rs_fail(err, "%s: tokenizer.ggml.merges has %" PRIu64 " merges (the limit is %d)", g->path,
			merges_kv->arr_n, RS_MAX_MERGES);
		return NULL;
	}

	rs_tokenizer *tok = NULL;
	tok_str *pieces = rs_xmalloc(n * sizeof *pieces);
	int32_t *types = types_kv ? rs_xmalloc(n * sizeof *types) : NULL;
	float *scores = scores_kv ? rs_xmalloc(n * sizeof *scores) : NULL;
	uint64_t n_merges = merges_kv ? merges_kv->arr_n : 0;
	tok_str *merges = rs_xmalloc((n_merges ? n_merges : 1) * 2 * sizeof *merges);
	int32_t eot_named = -1;
	for (uint64_t i = 0; i < n; i++) {
		pieces[i] = (tok_str){tokens->strs[i].s, tokens->strs[i].len};
		if (types) { /* any numeric type; out-of-range values fail in tok_create */
			double t = gguf_arr_num(types_kv, i);
			types[i] = t >= -1 && t <= 1000 ? (int32_t)t : 1000;
		}
		if (scores)
			scores[i] = (float)gguf_arr_num(scores_kv, i);
		if (eot_named < 0 && types && types[i] == TOK_T_CONTROL && pieces[i].len == 10 &&
		    !memcmp(pieces[i].s, "<|eot_id|>", 10))
			eot_named = (int32_t)i;
	}
	for (uint64_t i = 0; i < n_merges; i++) {
		tok_str m = {merges_kv->strs[i].s, merges_kv->strs[i].len};
		if (tok_split_merge(m, &merges[2 * i], &merges[2 * i + 1])) {
			char q[80];
			rs_fail(err, "%s: tokenizer.ggml.merges[%" PRIu64 "] (\"%s\") is not \"left "
				"right\"", g->path, i, tok_quote(q, sizeof q, m.s, m.len));
			goto out;
		}
	}
	int spm = kind == TOK_SPM;
	/* llama.cpp's defaults for SentencePiece files without the keys. */
	int32_t dbos = spm && n > 1 ? 1 : -1, deos = spm && n > 2 ? 2 : -1, dunk = spm ? 0 : -1;
	tok_spec spec = {
		.kind = kind, .n_tokens = (int32_t)n, .pieces = pieces, .types = types,
		.scores = scores, .n_merges = (int32_t)n_merges, .merges = merges,
		.ignore_merges = 1, .name = g->path,
	};
	if (get_id(g, KEY("bos_token_id"), dbos, &spec.bos, err) ||
	    get_id(g, KEY("eos_token_id"), deos, &spec.eos, err) ||
	    get_id(g, KEY("unknown_token_id"), dunk, &spec.unk, err) ||
	    get_id(g, KEY("eot_token_id"), eot_named >= 0 ? eot_named : spec.eos, &spec.eot, err) ||
	    get_flag(g, KEY("add_bos_token"), 1, &spec.add_bos, err) ||
	    get_flag(g, KEY("add_space_prefix"), 1, &spec.add_space_prefix, err))
		goto out;
	if (!spm)
		spec.unk = -1;
	tok = tok_create(&spec, err);
out:
	free(pieces);
	free(types);
	free(scores);
	free(merges);
	return tok;
}

int tok_gguf_write(const rs_tokenizer *tok, gguf_writer *w, rs_err *err)
{
	int32_t n = tok->n_vocab;
	const char **pieces = rs_xmalloc((size_t)n * sizeof *pieces);
	int32_t *types = rs_xmalloc((size_t)n * sizeof *types);
	for (int32_t i = 0; i < n; i++) {
		pieces[i] = tok->arena + tok->piece_off[i];
		types[i] = tok->types[i];
	}
	int spm = tok->kind == TOK_SPM;
	gguf_w_str(w, KEY("model"), spm ? "llama" : "gpt2");
	gguf_w_str(w, KEY("pre"), spm ? "default" : "llama-bpe");
	gguf_w_arr_str(w, KEY("tokens"), pieces, (size_t)n);
	gguf_w_arr_i32(w, KEY("token_type"), types, (size_t)n);
	if (spm) {
		gguf_w_arr_f32(w, KEY("scores"), tok->scores, (size_t)n);
	} else {
		char **m = rs_xmalloc((size_t)(tok->n_merges ? tok->n_merges : 1) * sizeof *m);
		for (int32_t r = 0; r < tok->n_merges; r++) {
			const char *a = pieces[tok->merges[3 * r]], *b = pieces[tok->merges[3 * r + 1]];
			size_t la = strlen(a), lb = strlen(b);
			m[r] = rs_xmalloc(la + lb + 2);
			memcpy(m[r], a, la);
			m[r][la] = ' ';
			memcpy(m[r] + la + 1, b, lb + 1);
		}
		gguf_w_arr_str(w, KEY("merges"), (const char *const *)m, (size_t)tok->n_merges);
		for (int32_t r = 0; r < tok->n_merges; r++)
			free(m[r]);
		free(m);
	}
	if (tok->bos >= 0)
		gguf_w_u32(w, KEY("bos_token_id"), (uint32_t)tok->bos);
	if (tok->eos >= 0)
		gguf_w_u32(w, KEY("eos_token_id"), (uint32_t)tok->eos);
	if (tok->eot >= 0)
		gguf_w_u32(w, KEY("eot_token_id"), (uint32_t)tok->eot);
	if (spm && tok->unk >= 0)
		gguf_w_u32(w, KEY("unknown_token_id"), (uint32_t)tok->unk);
	gguf_w_bool(w, KEY("add_bos_token"), tok->add_bos);
	if (spm)
		gguf_w_bool(w, KEY("add_space_prefix"), tok->add_space_prefix);
	free(pieces);
	free(types);
	(void)err;
	return 0;
}

rs_tokenizer *tok_load(const char *path, rs_err *err)
{
	struct stat st;
	if (stat(path, &st) != 0) {
		rs_fail(err, "%s: %s", path, strerror(errno));
		return NULL;
	}
	if (S_ISDIR(st.st_mode)) { /* a Hugging Face model folder */
		size_t n = strlen(path);
		char *p = rs_xmalloc(n + sizeof "/tokenizer.json");
		memcpy(p, path, n);
		strcpy(p + n, "/tokenizer.json");
		rs_tokenizer *tok = NULL;
		if (access(p, R_OK) != 0)
			rs_fail(err, "%s: no tokenizer.json in this folder", path);
		else
			tok = tok_load_json(p, err);
		free(p);
		return tok;
	}
	FILE *f = fopen(path, "rb");
	char magic[4] = {0};
	if (!f) {
		rs_fail(err, "%s: %s", path, strerror(errno));
		return NULL;
	}
	size_t got = fread(magic, 1, 4, f);
	fclose(f);
	if (got == 4 && !memcmp(magic, "GGUF", 4)) {
		gguf_file *g = gguf_open(path, err);
		if (!g)
			return NULL;
		rs_tokenizer *tok = tok_load_gguf(g, err);
		gguf_close(g);
		return tok;
	}
	return tok_load_json(path, err);
}
