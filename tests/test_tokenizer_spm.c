/* test_tokenizer_spm.c - SentencePiece-style BPE on a small Llama-2-shaped GGUF
 * vocabulary the test writes itself; the expected ids were worked out by hand
 * (the merge order is spelled out next to each case). */
#include "config.h"
#include "tokenizer.h"
#include "gguf.h"
#include "tap.h"

#include <stdint.h>
#include <unistd.h>

#define SP "\xE2\x96\x81" /* ▁ */
#define BYTE(b) (3 + (b)) /* <0xNN> ids follow <unk>, <s>, </s> as in Llama 2 */

/* ids 259.. : normal pieces and their scores. */
static const struct {
	const char *piece;
	float score;
} normal[] = {
	{SP, -10}, {"h", -10}, {"e", -10}, {"l", -10}, {"o", -10}, {"w", -10}, {"r", -10},
	{SP "h", -3}, {"he", -2}, {"ll", -1}, {"llo", -1.5f}, {SP "he", -2.5f}, {"hello", -0.5f},
	{SP "hello", -6}, {"wo", -4}, {"or", -2}, {"wor", -2.2f},
};
enum {
	T_SP = 259, T_H, T_E, T_L, T_O, T_W, T_R, T_SP_H, T_HE, T_LL, T_LLO, T_SP_HE, T_HELLO,
	T_SP_HELLO, T_WO, T_OR, T_WOR, T_USER, N_TOKENS
};

static int write_vocab(const char *path, int add_space_prefix)
{
	static char names[256][8];
	const char *tokens[N_TOKENS];
	int32_t types[N_TOKENS];
	float scores[N_TOKENS];
	tokens[0] = "<unk>", types[0] = TOK_T_UNKNOWN, scores[0] = 0;
	tokens[1] = "<s>", types[1] = TOK_T_CONTROL, scores[1] = 0;
	tokens[2] = "</s>", types[2] = TOK_T_CONTROL, scores[2] = 0;
	for (int b = 0; b < 256; b++) {
		snprintf(names[b], sizeof names[b], "<0x%02X>", b);
		tokens[BYTE(b)] = names[b], types[BYTE(b)] = TOK_T_BYTE, scores[BYTE(b)] = 0;
	}
	for (size_t i = 0; i < sizeof normal / sizeof *normal; i++) {
		tokens[T_SP + i] = normal[i].piece;
		types[T_SP + i] = TOK_T_NORMAL;
		scores[T_SP + i] = normal[i].score;
	}
	tokens[T_USER] = "<|u|>", types[T_USER] = TOK_T_USER_DEFINED, scores[T_USER] = 0;
	gguf_writer *w = gguf_writer_create();
	gguf_w_str(w, "general.architecture", "llama");
	gguf_w_str(w, "tokenizer.ggml.model", "llama");
	gguf_w_arr_str(w, "tokenizer.ggml.tokens", tokens, N_TOKENS);
	gguf_w_arr_f32(w, "tokenizer.ggml.scores", scores, N_TOKENS);
	gguf_w_arr_i32(w, "tokenizer.ggml.token_type", types, N_TOKENS);
	gguf_w_u32(w, "tokenizer.ggml.bos_token_id", 1);
	gguf_w_u32(w, "tokenizer.ggml.eos_token_id", 2);
	gguf_w_u32(w, "tokenizer.ggml.unknown_token_id", 0);
	gguf_w_bool(w, "tokenizer.ggml.add_space_prefix", add_space_prefix);
	rs_err err;
	int rc = gguf_write(w, path, &err);
	gguf_writer_free(w);
	return rc;
}

static rs_tokenizer *load(int add_space_prefix)
{
	char path[] = "/tmp/test_tokenizer_spm_XXXXXX";
	int fd = mkstemp(path);
	close(fd);
	rs_err err = {{0}};
	rs_tokenizer *tok = NULL;
	if (write_vocab(path, add_space_prefix) == 0)
		tok = tok_load(path, &err);
	unlink(path);
	if (!tok)
		tap_diag("load: %s", err.msg);
	return tok;
}

static int check(const rs_tokenizer *tok, const char *text, int flags, const int32_t *want,
		 int n_want, const int32_t *want_offs, const char *what)
{
	int32_t *ids, *offs;
	int n;
	tok_encode(tok, text, strlen(text), flags, &ids, &offs, &n, NULL);
	int ok = n == n_want && !memcmp(ids, want, (size_t)n * sizeof *ids);
	if (ok && want_offs)
		ok = !memcmp(offs, want_offs, (size_t)n * sizeof *offs);
	if (!tap_ok(ok, "%s", what)) {
		for (int i = 0; i < n; i++)
			tap_diag("  %d: id %d offset %d", i, (int)ids[i], (int)offs[i]);
	}
	free(ids);
	free(offs);
	return ok;
}

static void check_roundtrip(const rs_tokenizer *tok, const char *text, int flags, const char *what)
{
	int32_t *ids;
	int n;
	char *back;
	size_t len;
	tok_encode(tok, text, strlen(text), flags, &ids, NULL, &n, NULL);
	tok_decode(tok, ids, n, 0, &back, &len, NULL);
	tap_ok(len == strlen(text) && !memcmp(back, text, len), "decode gives back %s", what);
	free(back);
	free(ids);
}

int main(void)
{
	rs_tokenizer *tok = load(1);
	if (!tap_ok(tok != NULL, "load the written GGUF"))
		return tap_done_plan();
	tap_ok(tok_kind(tok) == TOK_SPM && tok_n_vocab(tok) == N_TOKENS && tok_bos(tok) == 1 &&
	       tok_eos(tok) == 2 && tok_add_bos(tok), "SentencePiece, %d tokens, bos 1, eos 2", N_TOKENS);
	size_t bl;
	const char *b = tok_token_bytes(tok, T_SP_HELLO, &bl);
	tap_ok(bl == 6 && !memcmp(b, " hello", 6) && tok_token_bytes(tok, BYTE(0x0A), &bl)[0] == '\n' &&
	       bl == 1 && tok_find(tok, SP "hello") == T_SP_HELLO, "token bytes: ▁ is a space, <0x0A> a newline");

	/* "▁hello▁world" merges: ll (-1), llo (-1.5), he (-2, left of the tied or),
	 * hello (-0.5), or (-2), wor (-2.2), ▁hello (-6); stale: ▁he, ▁h, ▁w, wo.
	 * d has no piece: byte fallback <0x64>. */
	int32_t hw[] = {T_SP_HELLO, T_SP, T_WOR, T_L, BYTE('d')};
	int32_t hw_offs[] = {0, 5, 6, 9, 10};
	check(tok, "hello world", 0, hw, 5, hw_offs, "\"hello world\": highest score first, byte fallback");
	int32_t hw_bos[] = {1, T_SP_HELLO, T_SP, T_WOR, T_L, BYTE('d')};
	check(tok, "hello world", TOK_ADD_BOS, hw_bos, 6, NULL, "TOK_ADD_BOS prepends <s>");
	int32_t e_acute[] = {T_SP, BYTE(0xC3), BYTE(0xA9)};
	check(tok, "\xC3\xA9", 0, e_acute, 3, NULL, "é falls back to its two UTF-8 bytes");
	/* After a special token the next span gets its own space prefix: ▁he. */
	int32_t special[] = {T_SP_HELLO, 1, T_SP_HE};
	check(tok, "hello<s>he", TOK_PARSE_SPECIAL, special, 3, NULL,
	      "<s> parsed as a control token; the span after it is prefixed");
	/* Unparsed, <s> is text: <, s and > as bytes; the two he tie at -2 and the
	 * left one goes first, so hello forms before the right he. */
	int32_t literal[] = {T_SP_HELLO, BYTE('<'), BYTE('s'), BYTE('>'), T_HE};
	check(tok, "hello<s>he", 0, literal, 5, NULL, "<s> stays text without TOK_PARSE_SPECIAL");
	int32_t user[] = {T_SP_HE, T_USER, T_SP_HE};
	check(tok, "he<|u|>he", 0, user, 3, NULL, "a user-defined token is always recognised");
	/* "▁▁he": he (-2) first, then ▁he (-2.5); ▁▁ is no piece. */
	int32_t spaces[] = {T_SP, T_SP_HE};
	check(tok, " he", 0, spaces, 2, NULL, "a leading space: ▁ ▁he");

	check_roundtrip(tok, "hello world", 0, "\"hello world\"");
	check_roundtrip(tok, " hello  world ", 0, "\" hello  world \"");
	check_roundtrip(tok, "hello<s>he</s>", TOK_PARSE_SPECIAL, "\"hello<s>he</s>\"");
	check_roundtrip(tok, "<s> he", TOK_PARSE_SPECIAL, "\"<s> he\"");
	check_roundtrip(tok, "h\xC3\xA9\xFF\n", 0, "h, e acute, an invalid byte, newline");

	/* Random strings over an alphabet that exercises merges, fallback and specials. */
	static const char *const parts[] = {"h", "e", "l", "o", " ", "w", "r", "d", "\n", "\xC3\xA9",
					    "<s>", "</s>", "<|u|>", "\xFF", "x"};
	uint64_t state = 88172645463325252ull;
	int bad = 0;
	for (int iter = 0; iter < 2000; iter++) {
		char text[256];
		size_t len = 0;
		state ^= state << 13, state ^= state >> 7, state ^= state << 17;
		int k = (int)(state % 40);
		for (int i = 0; i < k; i++) {
			state ^= state << 13, state ^= state >> 7, state ^= state << 17;
			const char *p = parts[state % (sizeof parts / sizeof *parts)];
			memcpy(text + len, p, strlen(p));
			len += strlen(p);
		}
		text[len] = 0;
		int32_t *ids;
		int n;
		char *back;
		size_t blen;
		tok_encode(tok, text, len, iter % 2 ? TOK_PARSE_SPECIAL : 0, &ids, NULL, &n, NULL);
		tok_decode(tok, ids, n, 0, &back, &blen, NULL);
		if (blen != len || memcmp(back, text, len))
			if (bad++ < 3)
				tap_diag("round trip failed: \"%s\" -> \"%s\"", text, back);
		free(back);
		free(ids);
	}
	tap_ok(bad == 0, "2000 random strings round-trip (%d failed)", bad);

	/* The trace shows the same merges in the same order. */
	tok_trace *t;
	rs_err err = {{0}};
	tok_trace_encode(tok, "hello world", 11, 0, 0, &t, &err);
	static const int32_t order[] = {T_LL, T_LLO, T_HE, T_HELLO, T_OR, T_WOR, T_SP_HELLO};
	int ok = t && t->n_pieces == 1 && t->n_steps == 7 && t->pieces[0].n_sym0 == 12;
	for (int s = 0; ok && s < 7; s++)
		ok = t->steps[s].result == order[s] && t->steps[s].n_syms == 11 - s;
	ok = ok && t->steps[2].at == 1 && t->steps[2].left == T_H && t->steps[2].right == T_E &&
	     t->steps[2].score == -2.0f;
	tap_ok(ok, "trace: 7 merges in score order, 12 symbols down to 5");
	tok_trace_free(t);

	/* Without add_space_prefix there is no ▁ to start with. */
	rs_tokenizer *t2 = load(0);
	int32_t plain[] = {T_HELLO};
	if (t2)
		check(t2, "hello", 0, plain, 1, NULL, "add_space_prefix false: \"hello\" is one token");
	tok_free(t2);

	/* Stored again through tok_gguf_write, it is the same tokenizer. */
	char path[] = "/tmp/test_tokenizer_spm_XXXXXX";
	close(mkstemp(path));
	gguf_writer *w = gguf_writer_create();
	tok_gguf_write(tok, w, &err);
	gguf_write(w, path, &err);
	gguf_writer_free(w);
	t2 = tok_load(path, &err);
	unlink(path);
	if (tap_ok(t2 != NULL, "tok_gguf_write output loads"))
		check(t2, "hello world", 0, hw, 5, hw_offs, "and encodes \"hello world\" the same");
	tok_free(t2);
	tok_free(tok);
	return tap_done_plan();
}
