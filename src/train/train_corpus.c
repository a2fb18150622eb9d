/* train_corpus.c - a corpus file as token ids, tokenized once and cached.
 *
 * The text is the format of `residual corpus build`: documents, each followed
 * by a line "<|end_of_text|>". Each becomes BOS doc EOS (BOS when the tokenizer
 * has one). The ids are cached next to the text in NAME.ids, stamped with the
 * text's size and mtime and a fingerprint of the tokenizer, and rebuilt when
 * any of them changes.
 */
#include "config.h"
#include "train.h"
#include "corpus.h"
#include "mapfile.h"
#include "pool.h"
#include "tokenizer.h"

#include <errno.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#define IDS_MAGIC "RSIDS001"

typedef struct ids_header {
	char magic[8];
	uint64_t text_size;
	int64_t text_mtime;
	uint64_t tok_fp;
	uint64_t n;
} ids_header;

/* FNV-1a over every token's bytes and every merge: two tokenizers that
 * encode differently differ here. */
static uint64_t tok_fingerprint(const rs_tokenizer *tok)
{
	uint64_t h = 0xcbf29ce484222325ull;
#define FNV(byte) (h = (h ^ (uint8_t)(byte)) * 0x100000001b3ull)
	int32_t n = tok_n_vocab(tok);
	for (int32_t i = 0; i < n; i++) {
		const char *p = tok_piece(tok, i);
		for (; *p; p++)
			FNV(*p);
		FNV(0);
		FNV(tok_type(tok, i));
	}
	for (int32_t r = 0; r < tok_n_merges(tok); r++) {
		int32_t a, b, c;
		tok_merge(tok, r, &a, &b, &c);
		for (int k = 0; k < 4; k++)
			FNV(a >> 8 * k), FNV(b >> 8 * k);
	}
	FNV(tok_bos(tok));
	FNV(tok_eos(tok));
#undef FNV
	return h;
}

static int read_cache(const char *path, const ids_header *want, train_data *out)
{
	FILE *f = fopen(path, "rb");
	if (!f)
		return -1;
	ids_header h;
	int ok = fread(&h, sizeof h, 1, f) == 1 && !memcmp(h.magic, IDS_MAGIC, 8) &&
		 h.text_size == want->text_size && h.text_mtime == want->text_mtime && h.tok_fp == want->tok_fp;
	int32_t *ids = NULL;
	if (ok) {
		ids = rs_xmalloc(sizeof(int32_t) * (size_t)(h.n ? h.n : 1));
		ok = fread(ids, sizeof(int32_t), (size_t)h.n, f) == h.n;
	}
	fclose(f);
	if (!ok) {
		free(ids);
		return -1;
	}
	out->ids = ids;
	out->n = (int64_t)h.n;
	return 0;
}

/* Cuts text at the separator lines; returns the number of documents. */
static size_t split_docs(char *text, size_t len, char ***docs, size_t **lens)
{
	size_t cap = 1024, n = 0;
	*docs = rs_xmalloc(sizeof **docs * cap);
	*lens = rs_xmalloc(sizeof **lens * cap);
	const size_t seplen = strlen(CORPUS_DOC_SEP);
	char *p = text, *end = text + len, *doc = text;
	while (p < end) {
		char *nl = memchr(p, '\n', (size_t)(end - p));
		char *le = nl ? nl : end;
		if ((size_t)(le - p) == seplen && !memcmp(p, CORPUS_DOC_SEP, seplen)) {
			size_t dl = (size_t)(p - doc);
			if (dl && doc[dl - 1] == '\n') /* the newline before the separator line */
				dl--;
			if (n == cap) {
				cap *= 2;
				*docs = rs_xrealloc(*docs, sizeof **docs * cap);
				*lens = rs_xrealloc(*lens, sizeof **lens * cap);
			}
			(*docs)[n] = doc;
			(*lens)[n++] = dl;
			doc = nl ? nl + 1 : end;
		}
		p = nl ? nl + 1 : end;
	}
	return n;
}

typedef struct encode_job {
	const rs_tokenizer *tok;
	char **docs;
	const size_t *lens;
	int flags;
	int32_t **ids;
	int *counts;
	atomic_int failed;
} encode_job;

static void encode_part(void *ctx, int64_t begin, int64_t end)
{
	encode_job *j = ctx;
	for (int64_t i = begin; i < end; i++) {
		rs_err e;
		if (tok_encode(j->tok, j->docs[i], j->lens[i], j->flags, &j->ids[i], NULL, &j->counts[i], &e))
			atomic_store(&j->failed, 1);
	}
}

static int tokenize(const char *path, const rs_tokenizer *tok, train_data *out, rs_err *err)
{
	size_t len;
	char *text = rs_read_file(path, &len, err);
	if (!text)
		return -1;
	char **docs;
	size_t *lens;
	size_t n = split_docs(text, len, &docs, &lens);
	if (!n) {
		free(text), free(docs), free(lens);
		return rs_fail(err, "%s: no documents (each ends with a line \"%s\")", path, CORPUS_DOC_SEP);
	}
	int32_t **ids = rs_xcalloc(n, sizeof *ids);
	int *counts = rs_xcalloc(n, sizeof *counts);
	int flags = tok_bos(tok) >= 0 ? TOK_ADD_BOS : 0;
	/* documents in parallel, joined in order: the same ids on any thread count */
	encode_job job = {tok, docs, lens, flags, ids, counts, 0};
	pool_for((int64_t)n, 16, encode_part, &job);
	int failed = atomic_load(&job.failed);
	int rc = 0;
	if (failed) {
		rc = rs_fail(err, "%s: a document could not be tokenized", path);
	} else {
		int32_t eos = tok_eos(tok);
		int64_t total = 0;
		for (size_t i = 0; i < n; i++)
			total += counts[i] + (eos >= 0);
		int32_t *all = rs_xmalloc(sizeof(int32_t) * (size_t)total);
		int64_t k = 0;
		for (size_t i = 0; i < n; i++) {
			memcpy(all + k, ids[i], sizeof(int32_t) * (size_t)counts[i]);
			k += counts[i];
			if (eos >= 0)
				all[k++] = eos;
		}
		out->ids = all;
		out->n = total;
	}
	for (size_t i = 0; i < n; i++)
		free(ids[i]);
	free(ids), free(counts), free(docs), free(lens), free(text);
	return rc;
}

int train_data_load(const char *path, const rs_tokenizer *tok, int use_cache, train_data *out, rs_err *err)
{
	memset(out, 0, sizeof *out);
	out->bos = tok_bos(tok);
	struct stat st;
	if (stat(path, &st))
		return rs_fail(err, "%s: %s", path, strerror(errno));
	ids_header h;
	memset(&h, 0, sizeof h);
	memcpy(h.magic, IDS_MAGIC, 8);
	h.text_size = (uint64_t)st.st_size;
	h.text_mtime = (int64_t)st.st_mtime;
	h.tok_fp = tok_fingerprint(tok);
	size_t plen = strlen(path);
	char *cache = rs_xmalloc(plen + 8);
	memcpy(cache, path, plen + 1);
	char *dot = strrchr(cache, '.'), *slash = strrchr(cache, '/');
	if (dot && (!slash || dot > slash))
		*dot = 0;
	strcat(cache, ".ids");
	if (use_cache && read_cache(cache, &h, out) == 0) {
		free(cache);
		return 0;
	}
	if (tokenize(path, tok, out, err)) {
		free(cache);
		return -1;
	}
	/* best effort: a read-only corpus folder just means tokenizing again next time */
	h.n = (uint64_t)out->n;
	FILE *f = use_cache ? fopen(cache, "wb") : NULL;
	if (f) {
		int ok = fwrite(&h, sizeof h, 1, f) == 1 &&
			 fwrite(out->ids, sizeof(int32_t), (size_t)out->n, f) == (size_t)out->n;
		if ((fclose(f) != 0 || !ok))
			remove(cache);
	}
	free(cache);
	return 0;
}

void train_data_free(train_data *d)
{
	train_data_free_index(d);
	free((void *)d->ids);
	d->ids = NULL;
	d->n = 0;
}
