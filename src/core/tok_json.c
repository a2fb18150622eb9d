/* tok_json.c - loading a Hugging Face tokenizer.json (byte-level BPE, Llama 3).
 *
 * What is read: model.vocab {piece: id}, model.merges ("a b" strings or
 * ["a", "b"] pairs, in rank order), model.ignore_merges, added_tokens (the
 * special tokens: special -> control, else user-defined), the pre-tokenizer
 * (must be the Llama 3 regex split), and BOS from the TemplateProcessing
 * post-processor. Every problem is reported as "FILE: what is wrong".
 */
#include "config.h"
#include "tok_internal.h"
#include "filelimits.h"
#include "mapfile.h"

#include <cjson/cJSON.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int is_int_id(const cJSON *v)
{
	return cJSON_IsNumber(v) && v->valuedouble >= 0 && v->valuedouble < RS_MAX_VOCAB &&
	       v->valuedouble == (double)(int)v->valuedouble;
}

/* Whether the pre-tokenizer is (or contains) the Llama 3 regex split. */
static int has_llama3_split(const cJSON *pre)
{
	if (!cJSON_IsObject(pre))
		return 0;
	const cJSON *type = cJSON_GetObjectItemCaseSensitive(pre, "type");
	if (cJSON_IsString(type) && !strcmp(type->valuestring, "Split")) {
		const cJSON *pat = cJSON_GetObjectItemCaseSensitive(pre, "pattern");
		const cJSON *re = cJSON_GetObjectItemCaseSensitive(pat, "Regex");
		return cJSON_IsString(re) && !strcmp(re->valuestring, tok_llama3_regex);
	}
	const cJSON *list = cJSON_GetObjectItemCaseSensitive(pre, "pretokenizers");
	const cJSON *it;
	cJSON_ArrayForEach(it, list)
		if (has_llama3_split(it))
			return 1;
	return 0;
}

/* BOS from a TemplateProcessing post-processor whose single template starts
 * with a special token: its id, or -1. */
static int32_t template_bos(const cJSON *post)
{
	if (!cJSON_IsObject(post))
		return -1;
	const cJSON *type = cJSON_GetObjectItemCaseSensitive(post, "type");
	if (cJSON_IsString(type) && !strcmp(type->valuestring, "TemplateProcessing")) {
		const cJSON *single = cJSON_GetObjectItemCaseSensitive(post, "single");
		const cJSON *first = cJSON_GetArrayItem(single, 0);
		const cJSON *st = cJSON_GetObjectItemCaseSensitive(first, "SpecialToken");
		const cJSON *name = cJSON_GetObjectItemCaseSensitive(st, "id");
		if (!cJSON_IsString(name))
			return -1;
		const cJSON *map = cJSON_GetObjectItemCaseSensitive(post, "special_tokens");
		const cJSON *ent = cJSON_GetObjectItemCaseSensitive(map, name->valuestring);
		const cJSON *id = cJSON_GetArrayItem(cJSON_GetObjectItemCaseSensitive(ent, "ids"), 0);
		return is_int_id(id) ? (int32_t)id->valuedouble : -1;
	}
	const cJSON *list = cJSON_GetObjectItemCaseSensitive(post, "processors");
	const cJSON *it;
	cJSON_ArrayForEach(it, list) {
		int32_t id = template_bos(it);
		if (id >= 0)
			return id;
	}
	return -1;
}

/* The first of names that is a control or user-defined token, or -1. */
static int32_t find_named(const tok_str *pieces, const int32_t *types, int32_t n,
			  const char *const *names)
{
	for (; *names; names++)
		for (int32_t i = 0; i < n; i++)
			if (types[i] != TOK_T_NORMAL && pieces[i].len == strlen(*names) &&
			    !memcmp(pieces[i].s, *names, pieces[i].len))
				return i;
	return -1;
}

/* A NUL-terminated string quoted for a message. */
#define Q(buf, s) tok_quote(buf, sizeof buf, s, strlen(s))

/* Fills pieces/types from model.vocab and added_tokens; 0 or -1. */
static int read_vocab(const cJSON *vocab, const cJSON *added, const char *name, tok_str **pieces_out,
		      int32_t **types_out, int32_t *n_out, rs_err *err)
{
	int32_t max_id = -1, count = 0;
	char q1[80], q2[80];
	const cJSON *it;
	cJSON_ArrayForEach(it, vocab) {
		if (!is_int_id(it))
			return rs_fail(err, "%s: model.vocab[\"%s\"] is not a token id (an integer "
				       "from 0 to 2^24)", name, Q(q1, it->string));
		if ((int32_t)it->valuedouble > max_id)
			max_id = (int32_t)it->valuedouble;
		count++;
	}
	int i = 0;
	cJSON_ArrayForEach(it, added) {
		const cJSON *id = cJSON_GetObjectItemCaseSensitive(it, "id");
		const cJSON *content = cJSON_GetObjectItemCaseSensitive(it, "content");
		if (!is_int_id(id) || !cJSON_IsString(content))
			return rs_fail(err, "%s: added_tokens[%d] needs an integer \"id\" and a string "
				       "\"content\"", name, i);
		if ((int32_t)id->valuedouble > max_id)
			max_id = (int32_t)id->valuedouble;
		count++;
		i++;
	}
	if (max_id < 0)
		return rs_fail(err, "%s: model.vocab is empty", name);
	/* Guards the allocation below against a tiny file naming a huge id. */
	if (max_id > 2 * count + 1024)
		return rs_fail(err, "%s: token id %d is far beyond the %d tokens listed", name,
			       (int)max_id, (int)count);
	int32_t n = max_id + 1;
	tok_str *pieces = rs_xcalloc((size_t)n, sizeof *pieces);
	int32_t *types = rs_xmalloc((size_t)n * sizeof *types);
	for (int32_t k = 0; k < n; k++)
		types[k] = TOK_T_UNUSED; /* ids nobody names stay unused, with no text */
	cJSON_ArrayForEach(it, vocab) {
		int32_t id = (int32_t)it->valuedouble;
		if (types[id] != TOK_T_UNUSED) {
			rs_fail(err, "%s: model.vocab gives id %d to both \"%s\" and \"%s\"", name,
				(int)id, Q(q1, pieces[id].s), Q(q2, it->string));
			goto fail;
		}
		pieces[id] = (tok_str){it->string, strlen(it->string)};
		types[id] = TOK_T_NORMAL;
	}
	i = 0;
	cJSON_ArrayForEach(it, added) {
		int32_t id = (int32_t)cJSON_GetObjectItemCaseSensitive(it, "id")->valuedouble;
		const char *content = cJSON_GetObjectItemCaseSensitive(it, "content")->valuestring;
		const cJSON *special = cJSON_GetObjectItemCaseSensitive(it, "special");
		if (types[id] != TOK_T_UNUSED && strcmp(pieces[id].s, content)) {
			rs_fail(err, "%s: added_tokens[%d] gives id %d to \"%s\", already \"%s\"",
				name, i, (int)id, Q(q1, content), Q(q2, pieces[id].s));
			goto fail;
		}
		pieces[id] = (tok_str){content, strlen(content)};
		types[id] = cJSON_IsTrue(special) ? TOK_T_CONTROL : TOK_T_USER_DEFINED;
		i++;
	}
	*pieces_out = pieces;
	*types_out = types;
	*n_out = n;
	return 0;
fail:
	free(pieces);
	free(types);
	return -1;
}

static int read_merges(const cJSON *merges, const char *name, tok_str **out, int32_t *n_out,
		       rs_err *err)
{
	int32_t n = (int32_t)cJSON_GetArraySize(merges), i = 0;
	if (n > RS_MAX_MERGES)
		return rs_fail(err, "%s: model.merges has %d merges (the limit is %d)", name, (int)n, RS_MAX_MERGES);
	tok_str *m = rs_xmalloc((size_t)(n ? n : 1) * 2 * sizeof *m);
	const cJSON *it;
	cJSON_ArrayForEach(it, merges) {
		const cJSON *a = cJSON_GetArrayItem(it, 0), *b = cJSON_GetArrayItem(it, 1);
		if (cJSON_IsString(it)) {
			tok_str s = {it->valuestring, strlen(it->valuestring)};
			if (tok_split_merge(s, &m[2 * i], &m[2 * i + 1]) == 0) {
				i++;
				continue;
			}
		} else if (cJSON_IsArray(it) && cJSON_GetArraySize(it) == 2 && cJSON_IsString(a) &&
			   cJSON_IsString(b)) {
			m[2 * i] = (tok_str){a->valuestring, strlen(a->valuestring)};
			m[2 * i + 1] = (tok_str){b->valuestring, strlen(b->valuestring)};
			i++;
			continue;
		}
		free(m);
		return rs_fail(err, "%s: model.merges[%d] is neither \"a b\" nor [\"a\", \"b\"]", name,
			       (int)i);
	}
	*out = m;
	*n_out = i;
	return 0;
}

/* eos/bos names from tokenizer_config.json next to the tokenizer, if any. */
static void config_token(const cJSON *cfg, const char *key, char *out, size_t cap)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(cfg, key);
	if (cJSON_IsObject(v))
		v = cJSON_GetObjectItemCaseSensitive(v, "content");
	if (cJSON_IsString(v))
		snprintf(out, cap, "%s", v->valuestring);
}

static rs_tokenizer *load(const char *buf, size_t len, const char *name, const char *cfg_eos,
			  rs_err *err)
{
	rs_tokenizer *tok = NULL;
	tok_str *pieces = NULL, *merges = NULL;
	int32_t *types = NULL, n = 0, n_merges = 0;
	cJSON *root = cJSON_ParseWithLength(buf, len);
	if (!root) {
		rs_fail(err, "%s: not valid JSON", name);
		return NULL;
	}
	const cJSON *model = cJSON_GetObjectItemCaseSensitive(root, "model");
	const cJSON *type = cJSON_GetObjectItemCaseSensitive(model, "type");
	const cJSON *vocab = cJSON_GetObjectItemCaseSensitive(model, "vocab");
	const cJSON *mlist = cJSON_GetObjectItemCaseSensitive(model, "merges");
	const cJSON *added = cJSON_GetObjectItemCaseSensitive(root, "added_tokens");
	const cJSON *pre = cJSON_GetObjectItemCaseSensitive(root, "pre_tokenizer");
	if (!cJSON_IsObject(root)) {
		rs_fail(err, "%s: the top level is not a JSON object", name);
	} else if (!cJSON_IsObject(model)) {
		rs_fail(err, "%s: missing \"model\" object", name);
	} else if (type && (!cJSON_IsString(type) || strcmp(type->valuestring, "BPE"))) {
		char q[80];
		if (cJSON_IsString(type))
			rs_fail(err, "%s: model.type is \"%s\"; only \"BPE\" is supported", name,
				Q(q, type->valuestring));
		else
			rs_fail(err, "%s: model.type is not a string", name);
	} else if (cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(model, "byte_fallback"))) {
		rs_fail(err, "%s: a SentencePiece-style (byte_fallback) tokenizer.json is not "
			"supported; use the model's GGUF file", name);
	} else if (!cJSON_IsObject(vocab)) {
		rs_fail(err, "%s: %s", name, vocab ? "model.vocab is not an object"
						   : "missing model.vocab");
	} else if (!cJSON_IsArray(mlist)) {
		rs_fail(err, "%s: %s", name, mlist ? "model.merges is not an array"
						   : "missing model.merges");
	} else if (added && !cJSON_IsNull(added) && !cJSON_IsArray(added)) {
		rs_fail(err, "%s: added_tokens is not an array", name);
	} else if (!has_llama3_split(pre)) {
		rs_fail(err, pre && !cJSON_IsNull(pre)
			? "%s: pre_tokenizer is not the Llama 3 regex Split, the only one implemented"
			: "%s: pre_tokenizer is missing; only the Llama 3 regex Split is implemented", name);
	} else if (!read_vocab(vocab, added, name, &pieces, &types, &n, err) &&
		   !read_merges(mlist, name, &merges, &n_merges, err)) {
		static const char *const eos_names[] = {"<|end_of_text|>", "<|endoftext|>", "</s>",
							"<eos>", NULL};
		static const char *const eot_names[] = {"<|eot_id|>", "<|im_end|>", "<end_of_turn>",
							NULL};
		const char *cfg_names[] = {cfg_eos, NULL};
		int32_t bos = template_bos(cJSON_GetObjectItemCaseSensitive(root, "post_processor"));
		int32_t eos = cfg_eos ? find_named(pieces, types, n, cfg_names) : -1;
		if (eos < 0)
			eos = find_named(pieces, types, n, eos_names);
		int32_t eot = find_named(pieces, types, n, eot_names);
		const cJSON *ign = cJSON_GetObjectItemCaseSensitive(model, "ignore_merges");
		tok_spec spec = {
			.kind = TOK_BPE, .n_tokens = n, .pieces = pieces, .types = types,
			.n_merges = n_merges, .merges = merges, .bos = bos < n ? bos : -1, .eos = eos,
			.eot = eot >= 0 ? eot : eos, .unk = -1, .add_bos = bos >= 0,
			.ignore_merges = cJSON_IsTrue(ign), .name = name,
		};
		tok = tok_create(&spec, err);
	}
	free(pieces);
	free(types);
	free(merges);
	cJSON_Delete(root);
	return tok;
}

rs_tokenizer *tok_load_json_mem(const char *buf, size_t len, const char *name, rs_err *err)
{
	return load(buf, len, name ? name : "tokenizer.json", NULL, err);
}

rs_tokenizer *tok_load_json(const char *path, rs_err *err)
{
	size_t len;
	char *buf = rs_read_file_max(path, RS_MAX_JSON_BYTES, &len, err);
	if (!buf)
		return NULL;
	/* tokenizer_config.json beside it names the eos token (base vs instruct). */
	char eos[256] = "";
	const char *slash = strrchr(path, '/');
	size_t dlen = slash ? (size_t)(slash - path + 1) : 0;
	char *cfg_path = rs_xmalloc(dlen + sizeof "tokenizer_config.json");
	memcpy(cfg_path, path, dlen);
	strcpy(cfg_path + dlen, "tokenizer_config.json");
	size_t cfg_len;
	char *cfg_buf = rs_read_file_max(cfg_path, RS_MAX_JSON_BYTES, &cfg_len, NULL);
	if (cfg_buf) {
		cJSON *cfg = cJSON_ParseWithLength(cfg_buf, cfg_len);
		config_token(cfg, "eos_token", eos, sizeof eos);
		cJSON_Delete(cfg);
		free(cfg_buf);
	}
	free(cfg_path);
	rs_tokenizer *tok = load(buf, len, path, eos[0] ? eos : NULL, err);
	free(buf);
	return tok;
}
