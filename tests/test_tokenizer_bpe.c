/* test_tokenizer_bpe.c - the pre-tokenizer regex, and byte-level BPE on a tiny
 * vocabulary built in memory (no fixtures needed): merge order by rank,
 * leftmost ties, ignore_merges, special tokens, the trace. */
#include "config.h"
#include "tokenizer.h"
#include "tap.h"

#include <stdint.h>

/* ------------------------------------------------------------ pre-tokenizer */

/* Each case: the text, then its pieces, "|"-separated is ambiguous with the
 * text itself, so the pieces are listed as separate strings ending in NULL. */
static const struct {
	const char *text;
	const char *pieces[8];
} pretok_cases[] = {
	{"Hello world", {"Hello", " world"}},
	{"it's IT'S x'll Y'VE", {"it", "'s", " IT", "'S", " x", "'ll", " Y", "'VE"}},
	{"a  b", {"a", " ", " b"}},
	{"12345 1", {"123", "45", " ", "1"}},
	{"tabs\tand", {"tabs", "\tand"}},
	{"a\n\n\nb", {"a", "\n\n\n", "b"}},
	{"x  \n  y", {"x", "  \n", " ", " y"}},
	{"trailing  ", {"trailing", "  "}},
	{"!!!??? !!", {"!!!???", " !!"}},
	{"!\n\nx", {"!\n\n", "x"}},
	{"\r\n end\r\n", {"\r\n", " end", "\r\n"}},
	{"na\xC3\xAFve", {"na\xC3\xAFve"}},                        /* ï is a letter */
	{"a\xCC\x81", {"a", "\xCC\x81"}},                          /* a combining mark is not */
	{"\xE3\x80\x80x", {"\xE3\x80\x80x"}},                      /* U+3000 is \s, then a letter */
	{"x\xE3\x80\x80\xE3\x80\x80y", {"x", "\xE3\x80\x80", "\xE3\x80\x80y"}},
	{"'\xC5\xBF", {"'\xC5\xBF"}},                              /* 'ſ: ſ case-folds to s */
	{"\xFF\xFE" "ab", {"\xFF\xFE", "ab"}},                    /* invalid bytes are "other" */
	{"\xFF" "ab", {"\xFF" "ab"}},
	{"\xD9\xA3\xD9\xA4\xD9\xA5\xD9\xA6", {"\xD9\xA3\xD9\xA4\xD9\xA5", "\xD9\xA6"}}, /* Nd */
	{"_id|>", {"_id", "|>"}},
	{"3.14", {"3", ".", "14"}},
	{"\xF0\x9F\x98\x80 ok", {"\xF0\x9F\x98\x80", " ok"}},
};

static void check_pretok(void)
{
	for (size_t c = 0; c < sizeof pretok_cases / sizeof *pretok_cases; c++) {
		const char *text = pretok_cases[c].text;
		size_t len = strlen(text), pos = 0;
		int k = 0, ok = 1;
		while (pos < len) {
			size_t end = tok_pretok_next(text, len, pos);
			const char *want = k < 8 ? pretok_cases[c].pieces[k] : NULL;
			if (!want || strlen(want) != end - pos || memcmp(want, text + pos, end - pos)) {
				tap_diag("case %zu piece %d: got %zu bytes at %zu", c, k, end - pos, pos);
				ok = 0;
				break;
			}
			pos = end;
			k++;
		}
		ok &= k == 8 || !pretok_cases[c].pieces[k];
		tap_ok(ok, "pre-tokenizer case %zu", c);
	}
}

/* ------------------------------------------------------------ tiny vocabulary */

/* GPT-2's byte-to-unicode mapping, written out independently of the library. */
static void byte_piece(unsigned b, char *out)
{
	unsigned cp;
	if ((b >= 0x21 && b <= 0x7E) || (b >= 0xA1 && b <= 0xAC) || b >= 0xAE) {
		cp = b;
	} else {
		unsigned k = 0;
		for (unsigned x = 0; x < b; x++)
			k += !((x >= 0x21 && x <= 0x7E) || (x >= 0xA1 && x <= 0xAC) || x >= 0xAE);
		cp = 0x100 + k;
	}
	if (cp < 0x80) {
		out[0] = (char)cp, out[1] = 0;
	} else {
		out[0] = (char)(0xC0 | cp >> 6), out[1] = (char)(0x80 | (cp & 0x3F)), out[2] = 0;
	}
}

enum { T_AB = 256, T_AA, T_BC, T_ABC, T_SP_A, T_EOT, T_BOS, T_X, T_XY, N_TOK };

static rs_tokenizer *tiny(void)
{
	static char bytes[256][4];
	const char *pieces[N_TOK];
	int32_t types[N_TOK];
	for (int b = 0; b < 256; b++) {
		byte_piece((unsigned)b, bytes[b]);
		pieces[b] = bytes[b];
		types[b] = TOK_T_NORMAL;
	}
	const char *more[] = {"ab", "aa", "bc", "abc", "\xC4\xA0" "a", "<|eot_id|>",
			      "<|begin_of_text|>", "<x>", "<x><y>"};
	for (int i = 0; i < N_TOK - 256; i++) {
		pieces[256 + i] = more[i];
		types[256 + i] = 256 + i >= T_EOT ? TOK_T_CONTROL : TOK_T_NORMAL;
	}
	/* Rank order differs from id order: bc (rank 0) beats ab (rank 1). No
	 * merge makes abc: only ignore_merges can emit it. */
	const char *merges[] = {"b c", "a b", "a a", "\xC4\xA0 a"};
	rs_err err = {{0}};
	rs_tokenizer *tok = tok_create_bpe(pieces, types, N_TOK, merges, 4, T_BOS, T_EOT, &err);
	if (!tok)
		tap_diag("tok_create_bpe: %s", err.msg);
	return tok;
}

static int enc_is(const rs_tokenizer *tok, const char *text, int flags, const int32_t *want,
		  int n_want)
{
	int32_t *ids;
	int n;
	tok_encode(tok, text, strlen(text), flags, &ids, NULL, &n, NULL);
	int ok = n == n_want && !memcmp(ids, want, (size_t)n * sizeof *ids);
	if (!ok)
		for (int i = 0; i < n; i++)
			tap_diag("  got %d", (int)ids[i]);
	free(ids);
	return ok;
}

static void check_tiny(void)
{
	rs_tokenizer *tok = tiny();
	if (!tap_ok(tok != NULL, "tok_create_bpe builds a 265-token vocabulary"))
		return;
	tap_ok(tok_bos(tok) == T_BOS && tok_eos(tok) == T_EOT && tok_eot(tok) == T_EOT &&
	       tok_add_bos(tok) && tok_n_merges(tok) == 4, "bos, eos, eot, 4 merges");
	int32_t l, r, res;
	tap_ok(tok_merge(tok, 1, &l, &r, &res) == 0 && l == 'a' && r == 'b' && res == T_AB &&
	       tok_merge(tok, 4, &l, &r, &res) == -1, "tok_merge gives rank 1 as a + b = ab");

	int32_t abc[] = {T_ABC};
	tap_ok(enc_is(tok, "abc", 0, abc, 1), "ignore_merges: abc is a token, emitted whole");
	int32_t abc_merged[] = {'a', T_BC};
	tap_ok(enc_is(tok, "abc", TOK_ALWAYS_MERGE, abc_merged, 2),
	       "merging abc: b c (rank 0) before a b (rank 1), though ab has the lower id");
	int32_t aaa[] = {T_AA, 'a'};
	tap_ok(enc_is(tok, "aaa", 0, aaa, 2), "aaa: the leftmost of two equal merges first");
	int32_t abab[] = {T_AB, T_AB};
	tap_ok(enc_is(tok, "abab", 0, abab, 2), "abab: both a b merges");
	int32_t sp_aab[] = {T_SP_A, T_AB};
	tap_ok(enc_is(tok, " aab", 0, sp_aab, 2), "\" aab\": a b, then a a is stale, then Ġ a");
	int32_t eot[] = {T_EOT};
	tap_ok(enc_is(tok, "<|eot_id|>", TOK_PARSE_SPECIAL, eot, 1), "<|eot_id|> parsed as special");
	int32_t eot_text[] = {'<', '|', 'e', 'o', 't', '_', 'i', 'd', '|', '>'};
	tap_ok(enc_is(tok, "<|eot_id|>", 0, eot_text, 10), "and as bytes without TOK_PARSE_SPECIAL");
	int32_t longest[] = {T_XY, T_X, '<', 'z', '>'};
	tap_ok(enc_is(tok, "<x><y><x><z>", TOK_PARSE_SPECIAL, longest, 5),
	       "special tokens: the longest match at a position wins");
	int32_t bos[] = {T_BOS, 'a'};
	tap_ok(enc_is(tok, "a", TOK_ADD_BOS, bos, 2), "TOK_ADD_BOS");

	/* Offsets and the trace of " aab". */
	int32_t *ids, *offs;
	int n;
	tok_encode(tok, "x aab", 5, 0, &ids, &offs, &n, NULL);
	tap_ok(n == 3 && offs[0] == 0 && offs[1] == 1 && offs[2] == 3, "offsets 0 1 3");
	free(ids);
	free(offs);
	tok_trace *t;
	rs_err err = {{0}};
	tok_trace_encode(tok, " aab", 4, TOK_ADD_BOS, 0, &t, &err);
	int ok = t && t->n_pieces == 2 && t->pieces[0].kind == TOK_PIECE_BOS &&
		 t->pieces[1].kind == TOK_PIECE_MERGED && t->pieces[1].n_sym0 == 4 && t->n_steps == 2;
	if (ok) {
		const tok_trace_step *s0 = &t->steps[0], *s1 = &t->steps[1];
		ok = s0->at == 2 && s0->left == 'a' && s0->right == 'b' && s0->result == T_AB &&
		     s0->rank == 1 && s0->n_syms == 3 && s1->at == 0 && s1->left == ' ' &&
		     s1->right == 'a' && s1->result == T_SP_A && s1->rank == 3 && s1->n_syms == 2 &&
		     t->syms[s1->sym0].off == 0 && t->syms[s1->sym0].len == 2 &&
		     t->syms[s1->sym0 + 1].off == 2 && t->syms[s1->sym0 + 1].len == 2 &&
		     t->pieces[1].id0 == 1 && t->pieces[1].n_ids == 2;
	}
	tap_ok(ok, "trace of \" aab\": a+b at 2 (rank 1), then Ġ+a at 0 (rank 3)");
	tok_trace_free(t);
	t = NULL;
	tap_ok(tok_trace_encode(tok, "aaaaaaaa", 8, 0, 10, &t, &err) == -1 && t == NULL &&
	       strstr(err.msg, "trace"), "a trace past max_syms fails: %s", err.msg);

	/* Decoding: ids out of range fail with a message; SKIP_SPECIAL drops specials. */
	int32_t bad[] = {'a', 999};
	char *out;
	size_t len;
	tap_ok(tok_decode(tok, bad, 2, 0, &out, &len, &err) == -1 && strstr(err.msg, "999"),
	       "decode: %s", err.msg);
	int32_t mixed[] = {T_BOS, 'h', 'i', T_EOT};
	tok_decode(tok, mixed, 4, TOK_SKIP_SPECIAL, &out, &len, &err);
	tap_ok(len == 2 && !strcmp(out, "hi"), "decode with TOK_SKIP_SPECIAL");
	free(out);
	tok_decode(tok, mixed, 4, 0, &out, &len, &err);
	tap_ok(!strcmp(out, "<|begin_of_text|>hi<|eot_id|>"), "decode keeps special text by default");
	free(out);

	/* Chat needs the Llama 3 header tokens, which this vocabulary lacks. */
	tok_chat_msg msg = {"user", "hi"};
	tap_ok(tok_chat_render(tok, TOK_CHAT_LLAMA3, &msg, 1, 1, NULL, &ids, NULL, &n, NULL, &err) == -1 &&
	       strstr(err.msg, "<|start_header_id|>"), "chat: %s", err.msg);
	tok_free(tok);
}

int main(void)
{
	check_pretok();
	check_tiny();
	return tap_done_plan();
}
