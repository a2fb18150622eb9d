/* test_tokenizer_errors.c - bad tokenizer files fail with one line naming the
 * file and what is wrong: tokenizer.json variants in memory, GGUF files
 * written by the test. */
#include "config.h"
#include "tokenizer.h"
#include "gguf.h"
#include "tap.h"

#include <stdint.h>
#include <unistd.h>

/* The Llama 3 pre-tokenizer pattern, JSON-escaped. */
#define PRE \
	"\"pre_tokenizer\": {\"type\": \"Sequence\", \"pretokenizers\": [{\"type\": \"Split\", " \
	"\"pattern\": {\"Regex\": \"(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\\\\r\\\\n\\\\p{L}\\\\p{N}]?" \
	"\\\\p{L}+|\\\\p{N}{1,3}| ?[^\\\\s\\\\p{L}\\\\p{N}]+[\\\\r\\\\n]*|\\\\s*[\\\\r\\\\n]+|" \
	"\\\\s+(?!\\\\S)|\\\\s+\"}}, {\"type\": \"ByteLevel\"}]}"

/* Checks that loading fails, with one line that names the file and says want. */
static void expect_fail(rs_tokenizer *tok, const rs_err *err, const char *name, const char *want,
			const char *what)
{
	int ok = tok == NULL && strstr(err->msg, name) && strstr(err->msg, want) &&
		 !strchr(err->msg, '\n');
	tap_ok(ok, "%s: %s", what, tok ? "loaded" : err->msg);
	tok_free(tok);
}

static void json_case(const char *json, const char *want, const char *what)
{
	rs_err err = {{0}};
	rs_tokenizer *tok = tok_load_json_mem(json, strlen(json), "bad.json", &err);
	expect_fail(tok, &err, "bad.json", want, what);
}

static void check_json(void)
{
	/* The valid base: a b ab, one merge. */
	const char *good = "{\"model\": {\"type\": \"BPE\", \"vocab\": {\"a\": 0, \"b\": 1, \"ab\": 2},"
			   " \"merges\": [\"a b\"]}, " PRE "}";
	rs_err err = {{0}};
	rs_tokenizer *tok = tok_load_json_mem(good, strlen(good), "good.json", &err);
	tap_ok(tok != NULL && tok_n_vocab(tok) == 3, "the base case loads: %s", tok ? "ok" : err.msg);
	tok_free(tok);
	const char *pairs = "{\"model\": {\"vocab\": {\"a\": 0, \"b\": 1, \"ab\": 2},"
			    " \"merges\": [[\"a\", \"b\"]]}, " PRE "}";
	tok = tok_load_json_mem(pairs, strlen(pairs), "pairs.json", &err);
	int32_t *ids;
	int n = 0;
	if (tok)
		tok_encode(tok, "ab", 2, 0, &ids, NULL, &n, NULL);
	tap_ok(tok && n == 1 && ids[0] == 2, "merges as [\"a\", \"b\"] pairs");
	if (tok)
		free(ids);
	tok_free(tok);

	json_case("{\"model\": ", "not valid JSON", "truncated JSON");
	json_case("[1, 2]", "not a JSON object", "top level an array");
	json_case("{\"version\": \"1.0\"}", "missing \"model\"", "no model");
	json_case("{\"model\": {\"type\": \"Unigram\", \"vocab\": [], \"merges\": []}, " PRE "}",
		  "model.type is \"Unigram\"", "a Unigram model");
	json_case("{\"model\": {\"merges\": []}, " PRE "}", "missing model.vocab", "no vocab");
	json_case("{\"model\": {\"vocab\": [\"a\"], \"merges\": []}, " PRE "}",
		  "model.vocab is not an object", "vocab an array");
	json_case("{\"model\": {\"vocab\": {\"a\": \"zero\"}, \"merges\": []}, " PRE "}",
		  "model.vocab[\"a\"] is not a token id", "an id that is a string");
	json_case("{\"model\": {\"vocab\": {\"a\": -1}, \"merges\": []}, " PRE "}",
		  "model.vocab[\"a\"] is not a token id", "a negative id");
	json_case("{\"model\": {\"vocab\": {\"a\": 0, \"b\": 0}, \"merges\": []}, " PRE "}",
		  "gives id 0 to both", "two pieces with one id");
	json_case("{\"model\": {\"vocab\": {\"a\": 0, \"b\": 9000000}, \"merges\": []}, " PRE "}",
		  "far beyond", "a huge id");
	json_case("{\"model\": {\"vocab\": {\"a\": 0}}, " PRE "}", "missing model.merges", "no merges");
	json_case("{\"model\": {\"vocab\": {\"a\": 0}, \"merges\": \"a b\"}, " PRE "}",
		  "model.merges is not an array", "merges a string");
	json_case("{\"model\": {\"vocab\": {\"a\": 0}, \"merges\": [7]}, " PRE "}",
		  "model.merges[0] is neither", "a merge that is a number");
	json_case("{\"model\": {\"vocab\": {\"a\": 0}, \"merges\": [\"ab\"]}, " PRE "}",
		  "model.merges[0] is neither", "a merge with no space");
	json_case("{\"model\": {\"vocab\": {\"a\": 0, \"b\": 1, \"ab\": 2}, \"merges\": [\"a b\", \"a z\"]}, "
		  PRE "}", "merge 1 (\"a z\"): its right piece is not in the vocabulary",
		  "a merge naming an unknown token");
	json_case("{\"model\": {\"vocab\": {\"a\": 0, \"b\": 1}, \"merges\": [\"a b\"]}, " PRE "}",
		  "merge 0 (\"a b\"): the merged piece is not in the vocabulary",
		  "a merge whose result is unknown");
	json_case("{\"model\": {\"vocab\": {\"a\": 0}, \"merges\": []}}", "pre_tokenizer is missing",
		  "no pre-tokenizer");
	json_case("{\"model\": {\"vocab\": {\"a\": 0}, \"merges\": []}, \"pre_tokenizer\": "
		  "{\"type\": \"ByteLevel\", \"use_regex\": true}}", "not the Llama 3 regex Split",
		  "the GPT-2 pre-tokenizer");
	json_case("{\"model\": {\"vocab\": {\"a\": 0}, \"merges\": []}, \"added_tokens\": [{\"id\": "
		  "\"x\"}], " PRE "}", "added_tokens[0] needs", "an added token without an id");
	json_case("{\"model\": {\"vocab\": {\"a\": 0}, \"merges\": []}, \"added_tokens\": 5, " PRE "}",
		  "added_tokens is not an array", "added_tokens a number");
	json_case("{\"model\": {\"vocab\": {\"a\": 0}, \"merges\": [], \"byte_fallback\": true}, " PRE "}",
		  "byte_fallback", "a SentencePiece-style tokenizer.json");

	rs_err e2 = {{0}};
	tok = tok_load("/nonexistent/tokenizer.json", &e2);
	expect_fail(tok, &e2, "/nonexistent/tokenizer.json", "No such file", "a missing file");
}

/* ------------------------------------------------------------------- GGUF */

enum { OMIT_MODEL = 1, MODEL_INT = 2, OMIT_TOKENS = 4, TOKENS_INT = 8, SHORT_TYPES = 16,
       OMIT_MERGES = 32, BAD_MERGE = 64, BOS_RANGE = 128, BOS_STRING = 256, PRE_QWEN = 512,
       MERGE_NO_SPACE = 1024, BAD_TYPE = 2048 };

/* A three-token BPE vocabulary (a b ab) with one defect, written to path. */
static void write_bpe(const char *path, const char *model, int defect)
{
	const char *tokens[] = {"a", "b", "ab"};
	int32_t types[] = {1, 1, defect & BAD_TYPE ? 9 : 1};
	const char *merges[] = {defect & BAD_MERGE ? "a q" : defect & MERGE_NO_SPACE ? "ab" : "a b"};
	gguf_writer *w = gguf_writer_create();
	if (defect & MODEL_INT)
		gguf_w_u32(w, "tokenizer.ggml.model", 2);
	else if (!(defect & OMIT_MODEL))
		gguf_w_str(w, "tokenizer.ggml.model", model);
	gguf_w_str(w, "tokenizer.ggml.pre", defect & PRE_QWEN ? "qwen2" : "llama-bpe");
	if (defect & TOKENS_INT)
		gguf_w_arr_i32(w, "tokenizer.ggml.tokens", types, 3);
	else if (!(defect & OMIT_TOKENS))
		gguf_w_arr_str(w, "tokenizer.ggml.tokens", tokens, 3);
	gguf_w_arr_i32(w, "tokenizer.ggml.token_type", types, defect & SHORT_TYPES ? 2 : 3);
	if (!(defect & OMIT_MERGES))
		gguf_w_arr_str(w, "tokenizer.ggml.merges", merges, 1);
	if (defect & BOS_STRING)
		gguf_w_str(w, "tokenizer.ggml.bos_token_id", "1");
	else
		gguf_w_u32(w, "tokenizer.ggml.bos_token_id", defect & BOS_RANGE ? 99 : 0);
	rs_err err;
	gguf_write(w, path, &err);
	gguf_writer_free(w);
}

static void gguf_case(const char *model, int defect, const char *want, const char *what)
{
	char path[] = "/tmp/test_tokenizer_errors_XXXXXX";
	close(mkstemp(path));
	write_bpe(path, model, defect);
	rs_err err = {{0}};
	rs_tokenizer *tok = tok_load(path, &err);
	expect_fail(tok, &err, path, want, what);
	unlink(path);
}

static void check_gguf(void)
{
	char path[] = "/tmp/test_tokenizer_errors_XXXXXX";
	close(mkstemp(path));
	write_bpe(path, "gpt2", 0);
	rs_err err = {{0}};
	rs_tokenizer *tok = tok_load(path, &err);
	tap_ok(tok && tok_n_vocab(tok) == 3 && tok_bos(tok) == 0, "the base GGUF loads: %s",
	       tok ? "ok" : err.msg);
	tok_free(tok);
	/* A truncated copy fails in the GGUF reader, with the path. */
	FILE *f = fopen(path, "r+b");
	fseek(f, 0, SEEK_END);
	long size = ftell(f);
	fclose(f);
	if (truncate(path, size / 2) == 0) {
		tok = tok_load(path, &err);
		expect_fail(tok, &err, path, ":", "a truncated GGUF");
	}
	unlink(path);

	gguf_case("gpt2", OMIT_MODEL, "missing key 'tokenizer.ggml.model'", "no model key");
	gguf_case("gpt2", MODEL_INT, "'tokenizer.ggml.model' should be a string", "model an integer");
	gguf_case("bert", 0, "tokenizer.ggml.model is \"bert\"", "an unknown model");
	gguf_case("gpt2", PRE_QWEN, "tokenizer.ggml.pre is \"qwen2\"", "another pre-tokenizer");
	gguf_case("gpt2", OMIT_TOKENS, "missing key 'tokenizer.ggml.tokens'", "no tokens");
	gguf_case("gpt2", TOKENS_INT, "'tokenizer.ggml.tokens' should be an array of type 8",
		  "tokens as integers");
	gguf_case("gpt2", SHORT_TYPES, "token_type has 2 entries for 3 tokens", "types too short");
	gguf_case("gpt2", BAD_TYPE, "token 2 has type 9", "a token type out of range");
	gguf_case("gpt2", OMIT_MERGES, "missing key 'tokenizer.ggml.merges'", "no merges");
	gguf_case("gpt2", BAD_MERGE, "merge 0 (\"a q\"): its right piece is not in the vocabulary",
		  "a merge naming an unknown token");
	gguf_case("gpt2", MERGE_NO_SPACE, "merges[0] (\"ab\") is not \"left right\"",
		  "a merge with no space");
	gguf_case("gpt2", BOS_RANGE, "bos id 99 is out of range", "bos out of range");
	gguf_case("gpt2", BOS_STRING, "'tokenizer.ggml.bos_token_id' should be an integer",
		  "bos a string");
	gguf_case("llama", 0, "missing key 'tokenizer.ggml.scores'", "SentencePiece without scores");
}

int main(void)
{
	check_json();
	check_gguf();
	return tap_done_plan();
}
