/* corpus_build.c - mixes natural and generated text into train.txt and
 * val.txt, and writes the evaluation sets and statistics (see corpus.h).
 *
 * The mix started from reference/corpus.md: 38 % natural prose, 5 % WordNet
 * examples, 30 % generated stories, 8 % IOI, 14 % facts, 5 % induction drills,
 * as shares of the training bytes (facts were 7 % and prose 45 % in templates
 * v1, when the model did not carry facts over to new wordings; v2 took the
 * facts' share from the stories and lost indirect objects). A natural source
 * smaller than its share is repeated (Austen about twice at the default size);
 * a larger one is sampled.
 * About 1 % of each source's budget (whole documents, never in train.txt)
 * goes to val.txt; generated validation text comes from its own RNG stream.
 */
#include "config.h"
#include "corpus.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

/* Shares of the training bytes, in tenths of a percent (the default mix;
 * --mix replaces some of them). */
static const struct {
	const char *name;
	int permille;
} mix[] = {
	{"austen", 140}, {"tidytext", 60}, {"moby", 30}, {"sotu", 75}, {"web", 75},
	{"wordnet", 50}, /* the order of corpus_sources() */
	{"gen_story", 300}, {"gen_ioi", 80}, {"gen_fact", 140}, {"gen_induct", 50},
};
#define N_MIX (sizeof mix / sizeof *mix)
#define N_NATURAL 6

/* The mix of this build: the default with the overrides of o->mix, in per
 * mille of the budget each (rescaled so that they fill it). */
static int parse_mix(const char *spec, int permille[N_MIX], rs_err *err)
{
	for (size_t i = 0; i < N_MIX; i++)
		permille[i] = mix[i].permille;
	for (const char *p = spec; p && *p;) {
		const char *eq = strchr(p, '='), *end = strchr(p, ',');
		if (!end)
			end = p + strlen(p);
		if (!eq || eq > end)
			return rs_fail(err, "--mix: '%.*s' is not NAME=PERMILLE", (int)(end - p), p);
		size_t i = 0;
		while (i < N_MIX && (strlen(mix[i].name) != (size_t)(eq - p) || strncmp(mix[i].name, p, (size_t)(eq - p))))
			i++;
		if (i == N_MIX) {
			char names[256] = "";
			for (size_t k = 0; k < N_MIX; k++)
				snprintf(names + strlen(names), sizeof names - strlen(names), "%s%s", k ? ", " : "",
					 mix[k].name);
			return rs_fail(err, "--mix: no part named '%.*s' (%s)", (int)(eq - p), p, names);
		}
		char *stop;
		long v = strtol(eq + 1, &stop, 10);
		if (stop != end || eq + 1 == end || v < 0 || v > 1000)
			return rs_fail(err, "--mix: '%.*s': the share must be 0 to 1000 per mille", (int)(end - p), p);
		permille[i] = (int)v;
		p = *end ? end + 1 : end;
	}
	int sum = 0;
	for (size_t i = 0; i < N_MIX; i++)
		sum += permille[i];
	if (sum <= 0)
		return rs_fail(err, "--mix: every share is 0");
	/* rescale to 1000, rounding down; the rounding stays within the budget */
	for (size_t i = 0; i < N_MIX; i++)
		permille[i] = (int)((long)permille[i] * 1000 / sum);
	return 0;
}

#define BYTES_PER_TOKEN 4 /* estimate for a 4k byte-level BPE on this text */
#define IOI_EVAL_N 600

typedef struct part_stats {
	size_t docs, bytes, words;
	size_t val_docs, val_bytes;
	size_t pool_bytes; /* natural: the source's size after cleaning */
	int present;
} part_stats;

typedef struct doc_ref {
	const char *text;
	size_t len;
} doc_ref;

typedef struct doc_list {
	doc_ref *d;
	size_t n, cap;
} doc_list;

static void list_add(doc_list *l, const char *text, size_t len)
{
	if (l->n == l->cap) {
		l->cap = l->cap ? l->cap * 2 : 4096;
		l->d = rs_xrealloc(l->d, l->cap * sizeof *l->d);
	}
	l->d[l->n++] = (doc_ref){text, len};
}

static size_t count_words(const char *s, size_t n)
{
	size_t w = 0;
	int in = 0;
	for (size_t i = 0; i < n; i++) {
		int sp = s[i] == ' ' || s[i] == '\n';
		w += !sp && !in;
		in = !sp;
	}
	return w;
}

static int write_docs(const char *dir, const char *name, const doc_list *l, rs_err *err)
{
	char path[4096];
	snprintf(path, sizeof path, "%s/%s", dir, name);
	FILE *f = fopen(path, "wb");
	if (!f)
		return rs_fail(err, "%s: %s", path, strerror(errno));
	for (size_t i = 0; i < l->n; i++) {
		fwrite(l->d[i].text, 1, l->d[i].len, f);
		fputs("\n" CORPUS_DOC_SEP "\n", f);
	}
	if (fclose(f))
		return rs_fail(err, "%s: write failed", path);
	return 0;
}

static void json_str(FILE *f, const char *s)
{
	fputc('"', f);
	for (; *s; s++) {
		unsigned char c = (unsigned char)*s;
		if (c == '"' || c == '\\')
			fprintf(f, "\\%c", c);
		else if (c == '\n')
			fputs("\\n", f);
		else if (c < 0x20)
			fprintf(f, "\\u%04x", c);
		else
			fputc(c, f);
	}
	fputc('"', f);
}

static int ioi_line(const corpus_ioi_item *it, void *ctx)
{
	static const char *const split[] = {"names", "template", "both"};
	FILE *f = ctx;
	fputs("{\"prompt\":", f);
	json_str(f, it->prompt);
	fputs(",\"io\":", f);
	json_str(f, it->io);
	fputs(",\"s\":", f);
	json_str(f, it->s);
	fprintf(f, ",\"template\":%d,\"order\":\"%s\",\"split\":\"%s\"}\n", it->template_id,
		it->abba ? "ABBA" : "BABA", split[it->split]);
	return 0;
}

static int fact_line(const corpus_fact_item *it, void *ctx)
{
	FILE *f = ctx;
	fputs("{\"prompt\":", f);
	json_str(f, it->prompt);
	fputs(",\"answer\":", f);
	json_str(f, it->answer);
	fputs(",\"relation\":", f);
	json_str(f, it->relation);
	fputs(",\"subject\":", f);
	json_str(f, it->subject);
	fprintf(f, ",\"phrasing\":%d}\n", it->phrasing);
	return 0;
}

static int write_evals(const corpus_build_opts *o, rs_err *err)
{
	char path[4096];
	snprintf(path, sizeof path, "%s/ioi_eval.jsonl", o->out);
	FILE *f = fopen(path, "wb");
	if (!f)
		return rs_fail(err, "%s: %s", path, strerror(errno));
	corpus_ioi_eval(o->seed, IOI_EVAL_N, ioi_line, f);
	if (fclose(f))
		return rs_fail(err, "%s: write failed", path);
	snprintf(path, sizeof path, "%s/fact_eval.jsonl", o->out);
	if (!(f = fopen(path, "wb")))
		return rs_fail(err, "%s: %s", path, strerror(errno));
	corpus_fact_eval(o->seed, 0, fact_line, f);
	if (fclose(f))
		return rs_fail(err, "%s: write failed", path);
	return 0;
}

static int write_sources(const corpus_build_opts *o, const part_stats *st, rs_err *err)
{
	char path[4096];
	snprintf(path, sizeof path, "%s/SOURCES.txt", o->out);
	FILE *f = fopen(path, "wb");
	if (!f)
		return rs_fail(err, "%s: %s", path, strerror(errno));
	fprintf(f, "Sources of train.txt and val.txt (residual corpus, templates v%d)\n\n",
		CORPUS_TEMPLATE_VERSION);
	size_t ns;
	const corpus_source_info *src = corpus_sources(&ns);
	for (size_t i = 0; i < ns; i++)
		fprintf(f, "%s%s\n  from: %s\n  license: %s\n\n", src[i].name,
			st[i].present ? "" : " (not used in this build)", src[i].origin,
			src[i].license);
	fprintf(f, "gen_*\n  from: residual's own generator (src/train/gen_*.c), seed %llu\n"
		   "  license: part of residual\n",
		(unsigned long long)o->seed);
	if (fclose(f))
		return rs_fail(err, "%s: write failed", path);
	return 0;
}

static int write_stats(const corpus_build_opts *o, const part_stats *st, const int *permille,
		       size_t budget, rs_err *err)
{
	char path[4096];
	snprintf(path, sizeof path, "%s/stats.txt", o->out);
	FILE *f = fopen(path, "wb");
	if (!f)
		return rs_fail(err, "%s: %s", path, strerror(errno));
	size_t tb = 0, tw = 0, td = 0, vb = 0, vd = 0;
	for (size_t i = 0; i < N_MIX; i++) {
		tb += st[i].bytes, tw += st[i].words, td += st[i].docs;
		vb += st[i].val_bytes, vd += st[i].val_docs;
	}
	fprintf(f, "residual corpus: templates v%d, seed %llu, target %zu bytes "
		   "(about %zu tokens at %d bytes a token)\n\n",
		CORPUS_TEMPLATE_VERSION, (unsigned long long)o->seed, budget,
		budget / BYTES_PER_TOKEN, BYTES_PER_TOKEN);
	fprintf(f, "%-11s %6s %11s %10s %7s %7s %11s %7s %9s %10s\n", "source", "docs", "bytes",
		"words", "share", "target", "pool_bytes", "epochs", "val_docs", "val_bytes");
	for (size_t i = 0; i < N_MIX; i++) {
		double epochs = st[i].pool_bytes ? (double)st[i].bytes / (double)st[i].pool_bytes : 0;
		fprintf(f, "%-11s %6zu %11zu %10zu %6.1f%% %6.1f%% ", mix[i].name, st[i].docs,
			st[i].bytes, st[i].words, tb ? 100.0 * (double)st[i].bytes / (double)tb : 0,
			permille[i] / 10.0);
		if (i < N_NATURAL)
			fprintf(f, "%11zu %7.2f", st[i].pool_bytes, epochs);
		else
			fprintf(f, "%11s %7s", "-", "-");
		fprintf(f, " %9zu %10zu%s\n", st[i].val_docs, st[i].val_bytes,
			st[i].present ? "" : "  (missing)");
	}
	fprintf(f, "%-11s %6zu %11zu %10zu %6.1f%% %7s %11s %7s %9zu %10zu\n", "total", td, tb, tw,
		100.0, "", "", "", vd, vb);
	fprintf(f, "\nDocuments end with a line \"%s\". ioi_eval.jsonl: %d items; "
		   "fact_eval.jsonl: %d items.\n", CORPUS_DOC_SEP, IOI_EVAL_N,
		corpus_fact_eval_count());
	if (fclose(f))
		return rs_fail(err, "%s: write failed", path);
	return 0;
}

static void shuffle(doc_list *l, corpus_rng *r)
{
	for (size_t i = l->n; i > 1; i--) {
		size_t j = corpus_rng_below(r, (uint32_t)i);
		doc_ref t = l->d[i - 1];
		l->d[i - 1] = l->d[j];
		l->d[j] = t;
	}
}

/* No document may contain the separator's "<|": it would read as a special token. */
static void defuse(char *s)
{
	for (char *p = strstr(s, "<|"); p; p = strstr(p, "<|"))
		p[1] = '!';
}

int corpus_build(const corpus_build_opts *o, rs_err *err)
{
	if (mkdir(o->out, 0777) && errno != EEXIST)
		return rs_fail(err, "%s: %s", o->out, strerror(errno));
	size_t budget = (size_t)o->tokens * BYTES_PER_TOKEN;
	int permille[N_MIX];
	if (parse_mix(o->mix, permille, err))
		return -1;
	part_stats st[N_MIX];
	memset(st, 0, sizeof st);
	doc_list train = {0}, val = {0};
	corpus_docs natural[N_NATURAL];
	memset(natural, 0, sizeof natural);
	corpus_docs generated[CORPUS_GEN_COUNT * 2];
	memset(generated, 0, sizeof generated);
	int rc = -1;

	size_t ns;
	const corpus_source_info *src = corpus_sources(&ns);
	for (size_t i = 0; i < N_NATURAL; i++)
		if (i >= ns || strcmp(src[i].name, mix[i].name))
			return rs_fail(err, "corpus: mix table and source table disagree at %zu", i);
	for (size_t i = 0; o->sources && i < N_NATURAL; i++) {
		if (!o->quiet)
			fprintf(stderr, "corpus: reading %s\n", src[i].name);
		if (src[i].load(o->sources, &natural[i], err)) {
			rs_fail_prefix(err, "source %s (run tools/fetch-corpus-sources?)", src[i].name);
			goto out;
		}
		if (!natural[i].n) {
			rs_fail(err, "source %s: no text found under %s", src[i].name, o->sources);
			goto out;
		}
		st[i].present = 1;
		corpus_docs *d = &natural[i];
		for (size_t k = 0; k < d->n; k++)
			defuse(d->doc[k]);
		doc_list pool = {0};
		for (size_t k = 0; k < d->n; k++)
			list_add(&pool, d->doc[k], strlen(d->doc[k]));
		corpus_rng r;
		corpus_rng_seed(&r, o->seed, 100 + i);
		shuffle(&pool, &r);
		size_t target = budget / 1000 * (size_t)permille[i], k = 0;
		/* The first documents of the shuffled source are validation text,
		 * but never so many that training has none. */
		while (k < pool.n / 2 && (k == 0 || st[i].val_bytes < target / 100)) {
			list_add(&val, pool.d[k].text, pool.d[k].len);
			st[i].val_docs++;
			st[i].val_bytes += pool.d[k].len;
			k++;
		}
		size_t first = k;
		for (size_t j = first; j < pool.n; j++)
			st[i].pool_bytes += pool.d[j].len;
		for (size_t j = first; st[i].bytes < target; j = j + 1 < pool.n ? j + 1 : first) {
			list_add(&train, pool.d[j].text, pool.d[j].len);
			st[i].docs++;
			st[i].bytes += pool.d[j].len;
			st[i].words += count_words(pool.d[j].text, pool.d[j].len);
		}
		free(pool.d);
	}

	for (int kind = 0; kind < CORPUS_GEN_COUNT; kind++) {
		size_t i = N_NATURAL + (size_t)kind;
		st[i].present = 1;
		size_t target = budget / 1000 * (size_t)permille[i];
		rs_strbuf b;
		strbuf_init(&b);
		for (int v = 0; v < 2; v++) {
			corpus_rng r;
			corpus_rng_seed(&r, o->seed, (uint64_t)(v ? 50 : 1) + (uint64_t)kind);
			corpus_docs *g = &generated[kind * 2 + v];
			size_t want = v ? target / 100 + 1 : target;
			while (g->bytes < want) {
				b.n = 0;
				corpus_gen_doc(kind, &r, &b);
				corpus_docs_take(g, rs_xstrdup(b.p));
			}
			for (size_t k = 0; k < g->n; k++) {
				size_t len = strlen(g->doc[k]);
				list_add(v ? &val : &train, g->doc[k], len);
				if (v) {
					st[i].val_docs++;
					st[i].val_bytes += len;
				} else {
					st[i].docs++;
					st[i].bytes += len;
					st[i].words += count_words(g->doc[k], len);
				}
			}
		}
		strbuf_free(&b);
	}

	corpus_rng r;
	corpus_rng_seed(&r, o->seed, 999);
	shuffle(&train, &r);
	shuffle(&val, &r);
	if (!o->quiet)
		fprintf(stderr, "corpus: writing %zu training documents to %s\n", train.n, o->out);
	if (write_docs(o->out, "train.txt", &train, err) ||
	    write_docs(o->out, "val.txt", &val, err) || write_evals(o, err) ||
	    write_stats(o, st, permille, budget, err) || write_sources(o, st, err))
		goto out;
	rc = 0;
out:
	for (size_t i = 0; i < N_NATURAL; i++)
		corpus_docs_free(&natural[i]);
	for (size_t i = 0; i < CORPUS_GEN_COUNT * 2; i++)
		corpus_docs_free(&generated[i]);
	free(train.d);
	free(val.d);
	return rc;
}
