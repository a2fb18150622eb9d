/* test_bpe.c - the byte-level BPE trainer: hand-checked merges, the
 * pre-tokenizer, GPT-2 characters, forced single tokens, the GGUF file. */
#include "config.h"
#include "bpe_train.h"
#include "corpus.h"
#include "gguf.h"
#include "tap.h"
#include "tokenizer.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* The pre-tokens of s joined with '|'. */
static void pretoks(const char *s, bpe_pretok_fn f, char *out, size_t cap)
{
	size_t len = strlen(s), o = 0;
	for (size_t pos = 0; pos < len;) {
		size_t e = f(s, len, pos);
		if (o + (e - pos) + 2 >= cap)
			break;
		if (o)
			out[o++] = '|';
		memcpy(out + o, s + pos, e - pos);
		o += e - pos;
		pos = e;
	}
	out[o] = 0;
}

static void test_pretok(void)
{
	static const char *const cases[][2] = {
		{"Hello world", "Hello| world"},
		{"I'm here, they're not", "I|'m| here|,| they|'re| not"},
		{"  hi", " | hi"},
		{"a\n\nb", "a|\n\n|b"},
		{"12345 apples", "123|45| apples"},
		{"x... y", "x|...| y"},
		{"end.\n", "end|.\n"},
		{"hi  ", "hi|  "},
		{"(Applause)", "(Applause|)"},
		{"don'T", "don|'T"},
		{"A: Paris.", "A|:| Paris|."},
	};
	int ok = 1;
	for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
		char got[256];
		pretoks(cases[i][0], bpe_pretok_ascii, got, sizeof got);
		if (strcmp(got, cases[i][1])) {
			tap_diag("pre-tokens of \"%s\": got \"%s\", want \"%s\"", cases[i][0], got,
				 cases[i][1]);
			ok = 0;
		}
	}
	tap_ok(ok, "ASCII pre-tokenizer follows the Llama 3 regex on hand cases");

	/* The tokenizer's own pre-tokenizer must agree on ASCII text, since the
	 * trainer may use either. */
	corpus_buf t;
	corpus_buf_init(&t);
	corpus_rng r;
	corpus_rng_seed(&r, 3, 0);
	for (int k = 0; k < 200; k++)
		corpus_gen_doc(k % CORPUS_GEN_COUNT, &r, &t);
	corpus_buf_puts(&t, " tabs\there  and\r\n\n  spaces   x 1234567 'll 'LL ''' \"q\" -- __ a\n");
	int same = 1;
	size_t at = 0;
	for (size_t pos = 0; pos < t.n && same;) {
		size_t a = bpe_pretok_ascii(t.p, t.n, pos), b = tok_pretok_next(t.p, t.n, pos);
		same = a == b;
		at = pos;
		pos = a;
	}
	tap_ok(same, "agrees with tok_pretok_next on %zu bytes of corpus text%s", t.n,
	       same ? "" : " (differs)");
	if (!same)
		tap_diag("first difference at offset %zu: \"%.20s\"", at, t.p + at);
	corpus_buf_free(&t);
}

static void test_byte_chars(void)
{
	char c[3];
	int ok = 1;
	bpe_byte_char(' ', c);
	ok &= !strcmp(c, "\xc4\xa0"); /* U+0120 Ġ */
	bpe_byte_char('\n', c);
	ok &= !strcmp(c, "\xc4\x8a"); /* U+010A Ċ */
	bpe_byte_char('A', c);
	ok &= !strcmp(c, "A");
	bpe_byte_char(0, c);
	ok &= !strcmp(c, "\xc4\x80"); /* U+0100 */
	bpe_byte_char(0xad, c);
	ok &= !strcmp(c, "\xc5\x83"); /* U+0143, the 68th moved byte */
	bpe_byte_char(0xe9, c);
	ok &= !strcmp(c, "\xc3\xa9"); /* printable Latin-1 stays */
	tap_ok(ok, "GPT-2 byte-to-unicode characters");
}

/* Sennrich's example, worked by hand. Pre-tokens: "low" x1, " low" x4,
 * " lower" x2, " newest" x6, " widest" x3. Initial pair counts: e s 9, s t 9,
 * w e 8, l o 7, o w 7, Ġ l 6, Ġ n 6, n e 6, e w 6, ... Ties go to the
 * smaller pair of ids (bytes are their own ids; merged tokens count from 256):
 *   1. e s (9; beats s t 9)        2. es t (9)
 *   3. l o (7; beats o w 7)        4. lo w (7)
 *   5. Ġ n (6: Ġ=32,n=110 beats Ġ low=(32,259), e w, w est, n e)
 *   6. Ġ low (6)                   7. e w (6; now beats Ġn e=(260,101))
 *   8. Ġn ew (6; beats ew est)                                              */
static void test_hand_merges(void)
{
	const char *txt = "low low low low low lower lower newest newest newest newest newest "
			  "newest widest widest widest";
	bpe_counts *c = bpe_counts_create();
	bpe_counts_add_text(c, txt, strlen(txt), NULL);
	bpe_train_opts o = {256 + 8 + 11, NULL, 0, 0};
	bpe_vocab *v = NULL;
	rs_err e;
	int rc = bpe_train(c, &o, &v, &e);
	static const char *const want[] = {
		"e s", "es t", "l o", "lo w", "\xc4\xa0 n", "\xc4\xa0 low", "e w", "\xc4\xa0n ew",
	};
	int ok = !rc && v->n_merges == 8;
	for (int k = 0; ok && k < 8; k++)
		if (strcmp(v->merges[k], want[k])) {
			tap_diag("merge %d: got \"%s\", want \"%s\"", k, v->merges[k], want[k]);
			ok = 0;
		}
	tap_ok(ok, "hand-checked merges of a small text");
	tap_ok(!rc && v->n_tokens == 275 && !strcmp(v->tokens[263], "\xc4\xa0new") &&
		       !strcmp(v->tokens[264], "<|begin_of_text|>"),
	       "vocabulary: 256 bytes, 8 merged tokens, then specials");
	tap_ok(!rc && !strcmp(v->tokens[v->bos], "<|begin_of_text|>") &&
		       !strcmp(v->tokens[v->eos], "<|end_of_text|>") &&
		       !strcmp(v->tokens[v->eot], "<|eot_id|>") && v->types[v->bos] == 3 &&
		       v->types[0] == 1 && v->types[263] == 1 &&
		       !strcmp(v->tokens[v->n_tokens - 5], "<|start_header_id|>"),
	       "special tokens at the end with Llama 3 names, type 3 (control)");
	/* " lowest" was never seen: forcing it adds exactly one chain merge. */
	const char *forced[] = {" widest", " lowest"};
	bpe_train_opts o2 = {256 + 16 + 11, forced, 2, 0};
	bpe_vocab *v2 = NULL;
	rc = bpe_train(c, &o2, &v2, &e);
	int32_t ids[16];
	tap_ok(!rc && v2->n_forced_chains == 1 &&
		       !strcmp(v2->merges[v2->n_merges - 1], "\xc4\xa0low est") &&
		       bpe_vocab_encode_piece(v2, forced[0], 7, ids, 16) == 1 &&
		       bpe_vocab_encode_piece(v2, forced[1], 7, ids, 16) == 1 &&
		       v2->n_tokens == 283,
	       "forced words become single tokens; training stops short to make room");
	bpe_train_opts o3 = {256 + 1 + 11, forced, 2, 0};
	bpe_vocab *v3 = NULL;
	tap_ok(bpe_train(c, &o3, &v3, &e) == -1 && strstr(e.msg, "forced"),
	       "a vocabulary too small for the forced words fails: %s", e.msg);
	bpe_vocab_free(v);
	bpe_vocab_free(v2);
	bpe_counts_free(c);
}

static void test_forced_corpus(void)
{
	/* A small generated corpus, the real forced list, a 2048 vocabulary. */
	corpus_buf t;
	corpus_buf_init(&t);
	corpus_rng r;
	corpus_rng_seed(&r, 9, 0);
	while (t.n < 300000) {
		corpus_gen_doc((int)corpus_rng_below(&r, CORPUS_GEN_COUNT), &r, &t);
		corpus_buf_putc(&t, '\n');
	}
	bpe_counts *c = bpe_counts_create();
	bpe_counts_add_text(c, t.p, t.n, NULL);
	size_t nf;
	const char *const *forced = corpus_forced_words(&nf);
	bpe_train_opts o = {2048, forced, nf, 0};
	bpe_vocab *v = NULL;
	rs_err e;
	int rc = bpe_train(c, &o, &v, &e);
	tap_ok(!rc && v->n_tokens == 2048, "trains a 2048-token vocabulary with %zu forced words%s%s",
	       nf, rc ? ": " : "", rc ? e.msg : "");
	if (rc) {
		bpe_counts_free(c);
		corpus_buf_free(&t);
		return;
	}
	size_t single = 0;
	for (size_t i = 0; i < nf; i++) {
		int32_t ids[64];
		if (bpe_vocab_encode_piece(v, forced[i], strlen(forced[i]), ids, 64) == 1)
			single++;
		else
			tap_diag("\"%s\" is not one token", forced[i]);
	}
	tap_ok(single == nf, "all %zu forced words are single tokens (own encoder)", nf);

	/* Written as a tokenizer-only GGUF, read back by the project's reader
	 * and tokenizer. */
	char path[] = "test_bpe.XXXXXX";
	int fd = mkstemp(path);
	if (fd >= 0)
		close(fd);
	rc = bpe_vocab_write_gguf(v, path, &e);
	gguf_file *g = rc ? NULL : gguf_open(path, &e);
	const gguf_kv *toks = NULL, *merges = NULL, *types = NULL;
	gguf_str model = {0, NULL}, pre = {0, NULL};
	int ok = g && !gguf_get_arr(g, "tokenizer.ggml.tokens", GGUF_STRING, &toks, &e) &&
		 !gguf_get_arr(g, "tokenizer.ggml.merges", GGUF_STRING, &merges, &e) &&
		 !gguf_get_arr(g, "tokenizer.ggml.token_type", GGUF_I32, &types, &e) &&
		 !gguf_get_str(g, "tokenizer.ggml.model", &model, &e) &&
		 !gguf_get_str(g, "tokenizer.ggml.pre", &pre, &e) && g->n_tensors == 0;
	ok = ok && gguf_str_eq(model, "gpt2") && gguf_str_eq(pre, "llama-bpe") &&
	     toks->arr_n == 2048 && merges->arr_n == (uint64_t)v->n_merges &&
	     gguf_str_eq(toks->strs[v->eot], "<|eot_id|>") &&
	     gguf_str_eq(merges->strs[0], v->merges[0]) && gguf_arr_num(types, v->bos) == 3 &&
	     gguf_get_i64_or(g, "tokenizer.ggml.bos_token_id", -1) == v->bos;
	tap_ok(ok, "tokenizer GGUF: no tensors, Llama 3 tokenizer.ggml.* keys%s%s", ok ? "" : ": ",
	       ok ? "" : e.msg);
	rs_tokenizer *tok = g ? tok_load_gguf(g, &e) : NULL;
	gguf_close(g);
	size_t single2 = 0;
	for (size_t i = 0; tok && i < nf; i++) {
		int32_t *ids = NULL;
		int n = 0;
		if (!tok_encode(tok, forced[i], strlen(forced[i]), 0, &ids, NULL, &n, &e) && n == 1)
			single2++;
		free(ids);
	}
	tap_ok(tok && single2 == nf, "tok_load_gguf reads it; every forced word encodes to one token");
	/* The trainer's token count equals what the tokenizer produces. */
	int32_t *ids = NULL;
	int n = 0;
	uint64_t want = v->n_encoded;
	int enc = tok ? tok_encode(tok, t.p, t.n, 0, &ids, NULL, &n, &e) : -1;
	tap_ok(!enc && (uint64_t)n == want, "the trainer's count of tokens (%llu) matches tok_encode (%d)",
	       (unsigned long long)want, n);
	free(ids);
	tok_free(tok);
	unlink(path);
	bpe_vocab_free(v);
	bpe_counts_free(c);
	corpus_buf_free(&t);
}

int main(void)
{
	test_pretok();
	test_byte_chars();
	test_hand_merges();
	test_forced_corpus();
	return tap_done_plan();
}
