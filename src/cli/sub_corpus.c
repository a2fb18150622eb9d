/* sub_corpus.c - `residual corpus build|bpe`: the built-in model's training
 * text and tokenizer (see include/corpus.h and include/bpe_train.h). */
#include "config.h"
#include "bpe_train.h"
#include "cli.h"
#include "corpus.h"
#include "gguf.h"
#include "tokenizer.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void build_usage(FILE *f)
{
	fprintf(f,
		"usage: residual corpus build --sources DIR --out DIR [--seed N] [--tokens N] [--mix LIST]\n"
		"                             [--quiet]\n"
		"       residual corpus build --generated-only --out DIR [...]\n\n"
		"Mixes the natural text that tools/fetch-corpus-sources unpacked in DIR with\n"
		"generated stories, IOI sentences, facts and induction drills (templates v%d).\n"
		"Writes to the output directory:\n"
		"  train.txt, val.txt   documents, each followed by a line \"%s\"\n"
		"  ioi_eval.jsonl       held-out IOI prompts: prompt, io, s, template, order, split\n"
		"  fact_eval.jsonl      held-out phrasings of trained facts: prompt, answer, ...\n"
		"  stats.txt            bytes, words and documents per source, shares of the mix\n"
		"  SOURCES.txt          where each source came from, and its license\n\n"
		"  --seed N     generator and shuffling seed (default %u)\n"
		"  --tokens N   training size in tokens, estimated at 4 bytes a token\n"
		"               (default 8000000)\n"
		"  --mix LIST   shares in per mille that replace the default mix's, as\n"
		"               gen_fact=280,austen=70 (parts: austen tidytext moby sotu web\n"
		"               wordnet gen_story gen_ioi gen_fact gen_induct); all shares\n"
		"               are then scaled to fill --tokens. stats.txt shows the mix.\n"
		"               The natural sources' validation documents depend on the seed,\n"
		"               --tokens and their shares: keep all three to hold out the\n"
		"               same documents as another build\n",
		CORPUS_TEMPLATE_VERSION, CORPUS_DOC_SEP, CORPUS_DEFAULT_SEED);
}

static void bpe_usage(FILE *f)
{
	fprintf(f,
		"usage: residual corpus bpe --in train.txt --out tokenizer.gguf [--vocab N] [--quiet]\n\n"
		"Trains a byte-level BPE (Llama 3 pre-tokenizer, GPT-2 byte characters) on the\n"
		"documents of a corpus file, makes every name, country, capital, element and\n"
		"fact answer of the generator a single token with its leading space, and\n"
		"writes a GGUF with no tensors holding tokenizer.ggml.* keys as in a Llama 3\n"
		"model. Special tokens <|begin_of_text|> ... <|eot_id|> end the vocabulary.\n\n"
		"  --vocab N    vocabulary size, all tokens included (default 4096)\n");
}

static int want_arg(int i, int argc, char **argv)
{
	if (i + 1 < argc)
		return 1;
	fprintf(stderr, "residual corpus: %s needs a value\n", argv[i]);
	return 0;
}

static int parse_u64(const char *s, uint64_t *out)
{
	char *end;
	errno = 0;
	unsigned long long v = strtoull(s, &end, 10);
	if (errno || end == s || *end)
		return -1;
	*out = v;
	return 0;
}

static int bad_number(const char *s)
{
	fprintf(stderr, "residual corpus build: bad number '%s'\n", s);
	return 2;
}

static int cmd_build(int argc, char **argv)
{
	corpus_build_opts o = {NULL, NULL, CORPUS_DEFAULT_SEED, 8000000, 0, NULL};
	int generated_only = 0;
	for (int i = 1; i < argc; i++) {
		const char *a = argv[i];
		if (!strcmp(a, "--help") || !strcmp(a, "-h")) {
			build_usage(stdout);
			return 0;
		} else if (!strcmp(a, "--sources") && want_arg(i, argc, argv)) {
			o.sources = argv[++i];
		} else if (!strcmp(a, "--out") && want_arg(i, argc, argv)) {
			o.out = argv[++i];
		} else if (!strcmp(a, "--seed") && want_arg(i, argc, argv)) {
			if (parse_u64(argv[++i], &o.seed))
				return bad_number(argv[i]);
		} else if (!strcmp(a, "--tokens") && want_arg(i, argc, argv)) {
			if (parse_u64(argv[++i], &o.tokens) || !o.tokens)
				return bad_number(argv[i]);
		} else if (!strcmp(a, "--mix") && want_arg(i, argc, argv)) {
			o.mix = argv[++i];
		} else if (!strcmp(a, "--generated-only")) {
			generated_only = 1;
		} else if (!strcmp(a, "--quiet")) {
			o.quiet = 1;
		} else {
			fprintf(stderr, "residual corpus build: unknown option '%s'\n", a);
			build_usage(stderr);
			return 2;
		}
	}
	if (!o.out || (!o.sources && !generated_only)) {
		build_usage(stderr);
		return 2;
	}
	rs_err err;
	if (corpus_build(&o, &err)) {
		fprintf(stderr, "residual corpus build: %s\n", err.msg);
		return 1;
	}
	if (!o.quiet)
		fprintf(stderr, "corpus: done; see %s/stats.txt\n", o.out);
	return 0;
}

static char *read_all(const char *path, size_t *n)
{
	FILE *f = fopen(path, "rb");
	if (!f) {
		fprintf(stderr, "residual corpus bpe: %s: %s\n", path, strerror(errno));
		return NULL;
	}
	rs_strbuf b;
	strbuf_init(&b);
	char chunk[1 << 16];
	size_t k;
	while ((k = fread(chunk, 1, sizeof chunk, f)) > 0)
		strbuf_add(&b, chunk, k);
	fclose(f);
	if (!b.p)
		strbuf_add(&b, "", 0);
	*n = b.n;
	return b.p;
}

/* Counts the pre-tokens of every document, leaving out the separator lines. */
static void count_docs(bpe_counts *c, const char *text, size_t n, bpe_pretok_fn pretok)
{
	const char *sep = "\n" CORPUS_DOC_SEP "\n";
	size_t sl = strlen(sep);
	for (size_t pos = 0; pos < n;) {
		const char *e = strstr(text + pos, sep);
		size_t end = e ? (size_t)(e - text) : n;
		bpe_counts_add_text(c, text + pos, end - pos, pretok);
		pos = e ? end + sl : n;
	}
}

/* Loads the written file with the project's tokenizer: every forced word
 * must be one token there too. Returns the token count of the documents, or
 * -1 with the failures printed. */
static long long check_with_tokenizer(const char *path, const char *text, size_t n,
				      const char *const *forced, size_t nf)
{
	rs_err err;
	gguf_file *g = gguf_open(path, &err);
	rs_tokenizer *tok = g ? tok_load_gguf(g, &err) : NULL;
	gguf_close(g);
	if (!tok) {
		fprintf(stderr, "residual corpus bpe: reloading %s: %s\n", path, err.msg);
		return -1;
	}
	long long total = 0;
	for (size_t i = 0; i < nf && total >= 0; i++) {
		int32_t *ids = NULL;
		int k = 0;
		if (tok_encode(tok, forced[i], strlen(forced[i]), 0, &ids, NULL, &k, &err) || k != 1) {
			fprintf(stderr, "residual corpus bpe: \"%s\" is %d tokens after reloading\n",
				forced[i], k);
			total = -1;
		}
		free(ids);
	}
	const char *sep = "\n" CORPUS_DOC_SEP "\n";
	for (size_t pos = 0; pos < n && total >= 0;) {
		const char *e = strstr(text + pos, sep);
		size_t end = e ? (size_t)(e - text) : n;
		int32_t *ids = NULL;
		int k = 0;
		if (tok_encode(tok, text + pos, end - pos, 0, &ids, NULL, &k, &err)) {
			fprintf(stderr, "residual corpus bpe: encoding: %s\n", err.msg);
			total = -1;
		}
		total += k;
		free(ids);
		pos = e ? end + strlen(sep) : n;
	}
	tok_free(tok);
	return total;
}

static int cmd_bpe(int argc, char **argv)
{
	const char *in = NULL, *out = NULL;
	uint64_t vocab = 4096;
	int quiet = 0;
	for (int i = 1; i < argc; i++) {
		const char *a = argv[i];
		if (!strcmp(a, "--help") || !strcmp(a, "-h")) {
			bpe_usage(stdout);
			return 0;
		} else if (!strcmp(a, "--in") && want_arg(i, argc, argv)) {
			in = argv[++i];
		} else if (!strcmp(a, "--out") && want_arg(i, argc, argv)) {
			out = argv[++i];
		} else if (!strcmp(a, "--vocab") && want_arg(i, argc, argv)) {
			if (parse_u64(argv[++i], &vocab) || vocab < 300 || vocab > 1 << 20) {
				fprintf(stderr, "residual corpus bpe: bad --vocab '%s'\n", argv[i]);
				return 2;
			}
		} else if (!strcmp(a, "--quiet")) {
			quiet = 1;
		} else {
			fprintf(stderr, "residual corpus bpe: unknown option '%s'\n", a);
			bpe_usage(stderr);
			return 2;
		}
	}
	if (!in || !out) {
		bpe_usage(stderr);
		return 2;
	}
	size_t n;
	char *text = read_all(in, &n);
	if (!text)
		return 1;
	/* The tokenizer's own Llama 3 pre-tokenizer, so that training sees the
	 * pre-tokens that encoding will. */
	bpe_counts *c = bpe_counts_create();
	count_docs(c, text, n, tok_pretok_next);
	size_t nf;
	const char *const *forced = corpus_forced_words(&nf);
	bpe_train_opts o = {(int)vocab, forced, nf, !quiet};
	bpe_vocab *v;
	rs_err err;
	int rc = bpe_train(c, &o, &v, &err);
	bpe_counts_free(c);
	if (rc) {
		fprintf(stderr, "residual corpus bpe: %s\n", err.msg);
		free(text);
		return 1;
	}
	/* Every forced word must now be one token. */
	size_t bad = 0;
	for (size_t i = 0; i < nf; i++) {
		int32_t ids[64];
		if (bpe_vocab_encode_piece(v, forced[i], strlen(forced[i]), ids, 64) != 1) {
			fprintf(stderr, "residual corpus bpe: \"%s\" is not a single token\n", forced[i]);
			bad++;
		}
	}
	if (!bad && bpe_vocab_write_gguf(v, out, &err)) {
		fprintf(stderr, "residual corpus bpe: %s\n", err.msg);
		bad = 1;
	}
	int n_special = 0;
	for (int32_t id = 0; id < v->n_tokens; id++)
		n_special += v->types[id] == 3;
	long long real_tokens = -1;
	if (!bad && (real_tokens = check_with_tokenizer(out, text, n, forced, nf)) < 0)
		bad = 1;
	if (!bad)
		printf("tokenizer: %s\n"
		       "  vocabulary %d tokens (256 bytes, %d merges, %d special), "
		       "%d added to make forced words whole\n"
		       "  forced single tokens (reloaded with tok_load_gguf): %zu of %zu words\n"
		       "  training text: %zu bytes, %llu pre-tokens, %lld tokens "
		       "(%.2f bytes a token; separator lines excluded)\n",
		       out, v->n_tokens, v->n_merges, n_special, v->n_forced_chains, nf, nf, n,
		       (unsigned long long)v->n_pretokens, real_tokens,
		       real_tokens > 0 ? (double)n / (double)real_tokens : 0.0);
	free(text);
	bpe_vocab_free(v);
	return bad ? 1 : 0;
}

int sub_corpus(int argc, char **argv)
{
	if (argc < 2 || !strcmp(argv[1], "--help") || !strcmp(argv[1], "-h")) {
		FILE *f = argc < 2 ? stderr : stdout;
		fprintf(f, "usage: residual corpus build ...   build train/val text and eval sets\n"
			   "       residual corpus bpe ...     train the byte-level BPE tokenizer\n"
			   "Run either with --help for its options.\n");
		return argc < 2 ? 2 : 0;
	}
	if (!strcmp(argv[1], "build"))
		return cmd_build(argc - 1, argv + 1);
	if (!strcmp(argv[1], "bpe"))
		return cmd_bpe(argc - 1, argv + 1);
	fprintf(stderr, "residual corpus: unknown command '%s' (build or bpe)\n", argv[1]);
	return 2;
}
