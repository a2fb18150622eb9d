/* test_tokenizer.c - the Llama 3.1 tokenizer against Hugging Face's outputs
 * ($FIXTURES/llama31-tokenizer-golden.json), round trips, and GGUF storage. */
#include "config.h"
#include "tokenizer.h"
#include "gguf.h"
#include "tap.h"

#include <cjson/cJSON.h>
#include <stdint.h>
#include <unistd.h>

static char *slurp(const char *path, size_t *len)
{
	FILE *f = fopen(path, "rb");
	if (!f)
		return NULL;
	fseek(f, 0, SEEK_END);
	long n = ftell(f);
	rewind(f);
	char *buf = malloc((size_t)n + 1);
	if (fread(buf, 1, (size_t)n, f) != (size_t)n) {
		free(buf);
		fclose(f);
		return NULL;
	}
	buf[n] = 0;
	fclose(f);
	*len = (size_t)n;
	return buf;
}

/* A short, one-line form of text for test descriptions. */
static const char *shown(const char *text)
{
	static char buf[48];
	size_t k = 0;
	for (const char *p = text; *p && k < sizeof buf - 4; p++) {
		if (*p == '\n' || *p == '\r' || *p == '\t') {
			buf[k++] = '\\';
			buf[k++] = *p == '\n' ? 'n' : *p == '\r' ? 'r' : 't';
		} else {
			buf[k++] = *p;
		}
	}
	buf[k] = 0;
	return buf;
}

static int ids_equal(const int32_t *ids, int n, const cJSON *want)
{
	if (cJSON_GetArraySize(want) != n)
		return 0;
	for (int i = 0; i < n; i++)
		if ((int32_t)cJSON_GetArrayItem(want, i)->valuedouble != ids[i])
			return 0;
	return 1;
}

static void diag_ids(const int32_t *ids, int n)
{
	char line[1024];
	int k = 0;
	for (int i = 0; i < n && k < (int)sizeof line - 16; i++)
		k += snprintf(line + k, sizeof line - (size_t)k, " %d", (int)ids[i]);
	tap_diag("got:%s", line);
}

/* Every golden `visible` row: ids, pieces, offsets, decoding. */
static void check_visible(const rs_tokenizer *tok, const cJSON *rows)
{
	const cJSON *row;
	int all_ok = 1, k = 0;
	cJSON_ArrayForEach(row, rows) {
		const char *text = cJSON_GetObjectItem(row, "text")->valuestring;
		const cJSON *want = cJSON_GetObjectItem(row, "ids");
		const cJSON *pieces = cJSON_GetObjectItem(row, "pieces");
		size_t len = strlen(text);
		int32_t *ids, *offs;
		int n;
		rs_err err = {{0}};
		tok_encode(tok, text, len, TOK_PARSE_SPECIAL, &ids, &offs, &n, &err);
		int ok = ids_equal(ids, n, want);
		for (int i = 0; ok && i < n; i++)
			ok = !strcmp(tok_piece(tok, ids[i]),
				     cJSON_GetArrayItem(pieces, i)->valuestring);
		if (!tap_ok(ok, "visible %d: \"%s\"", k, shown(text)))
			diag_ids(ids, n);
		/* Offsets: increasing, and each token's bytes are the text there. */
		int offs_ok = 1;
		for (int i = 0; i < n; i++) {
			size_t bl;
			const char *b = tok_token_bytes(tok, ids[i], &bl);
			offs_ok &= offs[i] >= 0 && (size_t)offs[i] + bl <= len &&
				   !memcmp(text + offs[i], b, bl) && (i == 0 || offs[i] > offs[i - 1]);
		}
		char *back;
		size_t back_len;
		tok_decode(tok, ids, n, 0, &back, &back_len, &err);
		all_ok &= offs_ok && back_len == len && !memcmp(back, text, len);
		free(back);
		free(ids);
		free(offs);
		k++;
	}
	tap_ok(all_ok, "visible rows: offsets point at each token's bytes; decode gives the text");
}

static void check_chat(const rs_tokenizer *tok, const cJSON *rows)
{
	const cJSON *row;
	int k = 0;
	cJSON_ArrayForEach(row, rows) {
		const char *kind = cJSON_GetObjectItem(row, "kind")->valuestring;
		const char *user = cJSON_GetObjectItem(row, "user")->valuestring;
		const char *rendered = cJSON_GetObjectItem(row, "rendered")->valuestring;
		int style = !strcmp(kind, "llama3.1_default_system") ? TOK_CHAT_LLAMA31 : TOK_CHAT_LLAMA3;
		tok_chat_msg msg = {"user", user};
		int32_t *ids, *offs;
		int n;
		char *text;
		rs_err err = {{0}};
		int rc = tok_chat_render(tok, style, &msg, 1, 1, NULL, &ids, &offs, &n, &text, &err);
		if (rc) {
			tap_ok(0, "chat %d (%s): %s", k++, kind, err.msg);
			continue;
		}
		int ok = ids_equal(ids, n, cJSON_GetObjectItem(row, "ids"));
		if (!tap_ok(ok, "chat %d (%s): ids", k, kind))
			diag_ids(ids, n);
		tap_ok(!strcmp(text, rendered), "chat %d (%s): rendered text", k, kind);
		/* The same ids come from encoding the rendered text with special parsing. */
		int32_t *ids2;
		int n2;
		tok_encode(tok, rendered, strlen(rendered), TOK_PARSE_SPECIAL, &ids2, NULL, &n2, &err);
		tap_ok(n2 == n && !memcmp(ids, ids2, (size_t)n * sizeof *ids),
		       "chat %d: rendering equals encoding the rendered text", k);
		free(ids2);
		free(ids);
		free(offs);
		free(text);
		k++;
	}
}

/* reference/llama-spec.md section 3.1's worked examples. */
static void check_spec_examples(const rs_tokenizer *tok)
{
	static const struct {
		const char *text;
		int32_t ids[6];
		int n;
	} ex[] = {
		{"Hello, world!", {9906, 11, 1917, 0}, 4}, {"\n", {198}, 1}, {"\n\n", {271}, 1},
		{" ", {220}, 1}, {"user", {882}, 1}, {"assistant", {78191}, 1},
		{"system", {9125}, 1}, {" 12345", {220, 4513, 1774}, 3}, {"it's", {275, 596}, 2},
		{"IT'S", {964, 13575}, 2}, {"a  b", {64, 220, 293}, 3},
	};
	int ok = 1;
	for (size_t i = 0; i < sizeof ex / sizeof *ex; i++) {
		int32_t *ids;
		int n;
		tok_encode(tok, ex[i].text, strlen(ex[i].text), 0, &ids, NULL, &n, NULL);
		int same = n == ex[i].n && !memcmp(ids, ex[i].ids, (size_t)n * sizeof *ids);
		if (!same)
			tap_diag("spec example %zu differs", i);
		ok &= same;
		free(ids);
	}
	tap_ok(ok, "the spec's worked examples");
}

/* Random byte strings, invalid UTF-8 included, come back byte for byte. */
static void check_random_roundtrip(const rs_tokenizer *tok)
{
	uint64_t state = 0x2545F4914F6CDD1Dull;
	char buf[256];
	int bad = 0;
	for (int iter = 0; iter < 10000; iter++) {
		size_t len = 0, want;
		state ^= state << 13, state ^= state >> 7, state ^= state << 17;
		want = state % sizeof buf;
		int mode = (int)(state >> 40) % 4;
		while (len < want) {
			state ^= state << 13, state ^= state >> 7, state ^= state << 17;
			unsigned b = (unsigned)(state >> 24) & 0xFF;
			if (mode == 1) /* mostly text: letters, digits, spaces, newlines */
				b = " \n\tae'1.\r"[b % 9];
			else if (mode == 2 && b < 0xC0) /* UTF-8 lead bytes and continuations */
				b = 0x80 | (b & 0x3F);
			buf[len++] = (char)b;
		}
		int32_t *ids;
		int n;
		int flags = iter % 2 ? TOK_PARSE_SPECIAL : 0;
		if (iter % 100 == 7 && len > 20) /* a special token in the middle */
			memcpy(buf + 5, "<|eot_id|>", 10);
		tok_encode(tok, buf, len, flags, &ids, NULL, &n, NULL);
		char *back;
		size_t back_len;
		tok_decode(tok, ids, n, 0, &back, &back_len, NULL);
		if (back_len != len || memcmp(back, buf, len)) {
			if (bad++ < 3)
				tap_diag("round trip failed at iteration %d (%zu bytes)", iter, len);
		}
		free(back);
		free(ids);
	}
	tap_ok(bad == 0, "10000 random byte strings round-trip (%d failed)", bad);
}

/* The trace reproduces the encoding and its merges end in the piece's tokens. */
static void check_trace(const rs_tokenizer *tok)
{
	const char *text = "Hello mechanistic interpretability<|eot_id|> 12345!";
	tok_trace *t;
	rs_err err = {{0}};
	int32_t *ids;
	int n;
	tok_encode(tok, text, strlen(text), TOK_PARSE_SPECIAL, &ids, NULL, &n, NULL);
	int rc = tok_trace_encode(tok, text, strlen(text), TOK_PARSE_SPECIAL, 0, &t, &err);
	tap_ok(rc == 0 && t->n_ids == n && !memcmp(t->ids, ids, (size_t)n * sizeof *ids),
	       "trace: same ids as tok_encode");
	int ok = t->n_pieces == 8, merged = 0;
	for (int p = 0; ok && p < t->n_pieces; p++) {
		const tok_trace_piece *pc = &t->pieces[p];
		if (pc->kind != TOK_PIECE_MERGED)
			continue;
		merged++;
		const tok_trace_step *last = &t->steps[pc->step0 + pc->n_steps - 1];
		ok &= pc->n_sym0 == (int)pc->len && last->n_syms == pc->n_ids;
		for (int i = 0; ok && i < pc->n_ids; i++)
			ok &= t->syms[last->sym0 + i].id == t->ids[pc->id0 + i];
		for (int s = 0; ok && s < pc->n_steps; s++)
			ok &= s == 0 || t->steps[pc->step0 + s].rank >= 0;
	}
	tap_ok(ok && merged >= 2, "trace: %d pieces, %d merged, merges end in the tokens",
	       t->n_pieces, merged);
	tok_trace_free(t);
	free(ids);

	/* "Ġworld" is a token, so it is whole; with TOK_ALWAYS_MERGE it is built
	 * from bytes by 5 merges, one symbol fewer each time. */
	rc = tok_trace_encode(tok, " world", 6, TOK_ALWAYS_MERGE, 0, &t, &err);
	ok = rc == 0 && t->n_pieces == 1 && t->pieces[0].n_sym0 == 6 && t->n_steps == 5;
	for (int s = 0; ok && s < t->n_steps; s++)
		ok &= t->steps[s].n_syms == 5 - s;
	tap_ok(ok && t->ids[0] == 1917, "trace: \" world\" merged from bytes in 5 steps");
	tok_trace_free(t);
}

/* Written as GGUF keys and read back, the tokenizer encodes the same. */
static void check_gguf_roundtrip(const rs_tokenizer *tok, const cJSON *rows)
{
	char path[] = "/tmp/test_tokenizer_XXXXXX";
	int fd = mkstemp(path);
	close(fd);
	gguf_writer *w = gguf_writer_create();
	rs_err err = {{0}};
	tok_gguf_write(tok, w, &err);
	int rc = gguf_write(w, path, &err);
	gguf_writer_free(w);
	rs_tokenizer *t2 = rc ? NULL : tok_load(path, &err);
	unlink(path);
	if (!tap_ok(t2 != NULL, "GGUF round trip loads: %s", t2 ? "ok" : err.msg))
		return;
	int ok = tok_n_vocab(t2) == tok_n_vocab(tok) && tok_bos(t2) == tok_bos(tok) &&
		 tok_eot(t2) == tok_eot(tok) && tok_n_merges(t2) == tok_n_merges(tok);
	const cJSON *row;
	cJSON_ArrayForEach(row, rows) {
		const char *text = cJSON_GetObjectItem(row, "text")->valuestring;
		int32_t *ids;
		int n;
		tok_encode(t2, text, strlen(text), TOK_PARSE_SPECIAL, &ids, NULL, &n, NULL);
		ok &= ids_equal(ids, n, cJSON_GetObjectItem(row, "ids"));
		free(ids);
	}
	tap_ok(ok, "GGUF round trip encodes every visible row the same");
	tok_free(t2);
}

int main(void)
{
	char path[4096], gpath[4096];
	snprintf(path, sizeof path, "%s/llama31-tokenizer.json", tap_fixtures());
	snprintf(gpath, sizeof gpath, "%s/llama31-tokenizer-golden.json", tap_fixtures());
	if (access(path, R_OK) || access(gpath, R_OK))
		tap_skip_all("Llama 3.1 tokenizer fixtures not found (set FIXTURES)");
	size_t glen = 0;
	char *gbuf = slurp(gpath, &glen);
	cJSON *golden = cJSON_ParseWithLength(gbuf, glen);
	free(gbuf);
	rs_err err = {{0}};
	rs_tokenizer *tok = tok_load(path, &err);
	if (!tap_ok(tok != NULL, "load %s: %s", path, tok ? "ok" : err.msg))
		return tap_done_plan();
	tap_ok(tok_n_vocab(tok) == 128256 && tok_bos(tok) == 128000 && tok_eos(tok) == 128001 &&
	       tok_eot(tok) == 128009 && tok_add_bos(tok) && tok_kind(tok) == TOK_BPE,
	       "vocabulary 128256, bos 128000, eos 128001, eot 128009");
	size_t bl;
	const char *b = tok_token_bytes(tok, 1917, &bl);
	tap_ok(tok_find(tok, "Ġworld") == 1917 && bl == 6 && !memcmp(b, " world", 6) &&
	       tok_find(tok, "<|eot_id|>") == 128009 && tok_is_special(tok, 128009) &&
	       !tok_is_special(tok, 1917), "pieces, bytes and lookup");
	check_visible(tok, cJSON_GetObjectItem(golden, "visible"));
	check_chat(tok, cJSON_GetObjectItem(golden, "chat_rendered"));
	check_spec_examples(tok);
	check_random_roundtrip(tok);
	check_trace(tok);
	check_gguf_roundtrip(tok, cJSON_GetObjectItem(golden, "visible"));
	tok_free(tok);
	cJSON_Delete(golden);
	return tap_done_plan();
}
