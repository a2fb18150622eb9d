/* fuzz_tok_encode.c - fuzz target: encoding arbitrary bytes. Checks that
 * byte-level BPE decodes back to the input exactly, that offsets point at each
 * token's bytes, that the trace agrees with the encoding, and that the
 * pre-tokenizer partitions the input. Tokenizers: a small byte-level BPE and
 * a small SentencePiece vocabulary built here, and the Llama 3.1 tokenizer
 * when $FIXTURES has it. The first input byte picks the flags. */
#include "config.h"
#include "tokenizer.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static rs_tokenizer *toks[3];
static int n_toks;

static void die(const char *what)
{
	fprintf(stderr, "fuzz_tok_encode: %s\n", what);
	abort();
}

/* 256 byte tokens (GPT-2 strings), a few merges, specials. */
static rs_tokenizer *small_bpe(void)
{
	static char bytes[256][4];
	const char *pieces[256 + 8];
	int32_t types[256 + 8];
	for (unsigned b = 0; b < 256; b++) {
		unsigned cp = b, k = 0;
		if (!((b >= 0x21 && b <= 0x7E) || (b >= 0xA1 && b <= 0xAC) || b >= 0xAE)) {
			for (unsigned x = 0; x < b; x++)
				k += !((x >= 0x21 && x <= 0x7E) || (x >= 0xA1 && x <= 0xAC) || x >= 0xAE);
			cp = 0x100 + k;
		}
		if (cp < 0x80)
			bytes[b][0] = (char)cp;
		else
			bytes[b][0] = (char)(0xC0 | cp >> 6), bytes[b][1] = (char)(0x80 | (cp & 0x3F));
		pieces[b] = bytes[b];
		types[b] = TOK_T_NORMAL;
	}
	const char *more[] = {"ab", "aa", "abc", "\xC4\xA0" "a", "\xC4\xA0\xC4\xA0", "<|eot_id|>",
			      "<s>", "<s><s>"};
	for (int i = 0; i < 8; i++)
		pieces[256 + i] = more[i], types[256 + i] = i >= 5 ? TOK_T_CONTROL : TOK_T_NORMAL;
	const char *merges[] = {"a b", "a a", "ab c", "\xC4\xA0 a", "\xC4\xA0 \xC4\xA0"};
	rs_err err;
	rs_tokenizer *t = tok_create_bpe(pieces, types, 264, merges, 5, 262, 261, &err);
	if (!t)
		die(err.msg);
	return t;
}

static rs_tokenizer *small_spm(void)
{
	static char names[256][8];
	tok_str pieces[3 + 256 + 8];
	int32_t types[3 + 256 + 8];
	float scores[3 + 256 + 8];
	const char *fixed[] = {"<unk>", "<s>", "</s>"};
	int n = 0;
	for (int i = 0; i < 3; i++, n++)
		pieces[n] = (tok_str){fixed[i], strlen(fixed[i])}, types[n] = i ? 3 : 2, scores[n] = 0;
	for (int b = 0; b < 256; b++, n++) {
		snprintf(names[b], sizeof names[b], "<0x%02X>", b);
		pieces[n] = (tok_str){names[b], 6}, types[n] = TOK_T_BYTE, scores[n] = 0;
	}
	const char *norm[] = {"\xE2\x96\x81", "a", "b", "ab", "\xE2\x96\x81" "a", "aa", "ba", "<u>"};
	for (int i = 0; i < 8; i++, n++) {
		pieces[n] = (tok_str){norm[i], strlen(norm[i])};
		types[n] = i == 7 ? TOK_T_USER_DEFINED : TOK_T_NORMAL;
		scores[n] = -(float)(i % 4);
	}
	tok_spec spec = {.kind = TOK_SPM, .n_tokens = n, .pieces = pieces, .types = types,
			 .scores = scores, .bos = 1, .eos = 2, .eot = 2, .unk = 0, .add_bos = 1,
			 .add_space_prefix = 1, .name = "small_spm"};
	rs_err err;
	rs_tokenizer *t = tok_create(&spec, &err);
	if (!t)
		die(err.msg);
	return t;
}

static void init(void)
{
	toks[n_toks++] = small_bpe();
	toks[n_toks++] = small_spm();
	const char *fx = getenv("FIXTURES");
	char path[4096];
	snprintf(path, sizeof path, "%s/llama31-tokenizer.json", fx && *fx ? fx : "../shared/fixtures");
	rs_err err;
	if (access(path, R_OK) == 0 && (toks[n_toks] = tok_load(path, &err)))
		n_toks++;
}

static void check(const rs_tokenizer *tok, const char *text, size_t len, int flags)
{
	int32_t *ids, *offs;
	int n;
	rs_err err;
	if (tok_encode(tok, text, len, flags, &ids, &offs, &n, &err))
		die(err.msg);
	char *back;
	size_t blen;
	if (tok_decode(tok, ids, n, 0, &back, &blen, &err))
		die(err.msg);
	int bos = (flags & TOK_ADD_BOS) && tok_bos(tok) >= 0;
	if (tok_kind(tok) == TOK_BPE) {
		size_t bl;
		const char *b = tok_token_bytes(tok, bos ? tok_bos(tok) : 0, &bl);
		size_t skip = bos ? bl : 0;
		if (blen != len + skip || memcmp(back + skip, text, len) || (bos && memcmp(back, b, bl)))
			die("byte-level BPE did not round-trip");
		for (int i = bos; i < n; i++) {
			b = tok_token_bytes(tok, ids[i], &bl);
			if (offs[i] < 0 || (size_t)offs[i] + bl > len || memcmp(text + offs[i], b, bl))
				die("an offset does not point at its token's bytes");
		}
	} else if (!memmem(text, len, "\xE2\x96\x81", 3) && !bos) {
		/* SentencePiece round-trips unless the text itself holds ▁. */
		if (blen != len || memcmp(back, text, len))
			die("SentencePiece did not round-trip");
	}
	for (int i = 1; i < n; i++)
		if (offs[i] < offs[i - 1])
			die("offsets go backwards");
	free(back);
	if (len <= 512) {
		tok_trace *t;
		if (tok_trace_encode(tok, text, len, flags, 0, &t, &err))
			die(err.msg);
		if (t->n_ids != n || memcmp(t->ids, ids, (size_t)n * sizeof *ids))
			die("the trace disagrees with tok_encode");
		tok_trace_free(t);
	}
	free(ids);
	free(offs);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (!n_toks)
		init();
	if (size == 0)
		return 0;
	int flags = data[0] & (TOK_ADD_BOS | TOK_PARSE_SPECIAL | TOK_ALWAYS_MERGE);
	const char *text = (const char *)data + 1;
	size_t len = size - 1;
	for (size_t pos = 0; pos < len;) {
		size_t end = tok_pretok_next(text, len, pos);
		if (end <= pos || end > len)
			die("the pre-tokenizer did not advance within the text");
		pos = end;
	}
	for (int i = 0; i < n_toks; i++)
		check(toks[i], text, len, flags);
	return 0;
}
