/* corpus.h - the training corpus of the built-in model: procedural generator,
 * natural-text sources, the mixer, and the evaluation sets.
 *
 * Everything generated is a pure function of a 64-bit seed and of
 * CORPUS_TEMPLATE_VERSION, so `residual eval` can regenerate the evaluation
 * sets without files, and lessons can cite template numbers.
 *
 * Files written by `residual corpus build --out DIR` (all ASCII):
 *   train.txt, val.txt   documents, each followed by the separator line
 *                        "<|end_of_text|>" (CORPUS_DOC_SEP). A reader splits on
 *                        lines equal to it; no document contains "<|".
 *   ioi_eval.jsonl       one JSON object a line:
 *                        {"prompt":..., "io":" Mary", "s":" John", "template":N,
 *                         "order":"ABBA"|"BABA", "split":"names"|"template"|"both"}
 *                        io is the right next token, s the wrong (subject) one.
 *   fact_eval.jsonl      {"prompt":..., "answer":" Paris", "relation":"capital",
 *                         "subject":"France", "phrasing":N}
 *   stats.txt            bytes, words and documents per source; shares of the mix
 *   SOURCES.txt          where each natural source came from, and its license
 * The prompts end without a trailing space; io, s and answer start with one,
 * and each is a single token of the tokenizer `residual corpus bpe` builds.
 */
#ifndef RS_CORPUS_H
#define RS_CORPUS_H

#include <stddef.h>
#include <stdint.h>

#include "err.h"
#include "strbuf.h"

/* Bump when any template, word list or phrasing changes: lessons refer to them. */
#define CORPUS_TEMPLATE_VERSION 4
#define CORPUS_DEFAULT_SEED 20240607u
#define CORPUS_DOC_SEP "<|end_of_text|>"

/* ---------------------------------------------------------------- small utilities */

/* The corpus's byte buffer is core's string builder (strbuf.h); these
 * names stay for the corpus's tests. */
typedef rs_strbuf corpus_buf;
#define corpus_buf_init strbuf_init
#define corpus_buf_free strbuf_free
#define corpus_buf_add strbuf_add
#define corpus_buf_puts strbuf_puts
#define corpus_buf_printf strbuf_printf
#define corpus_buf_putc strbuf_putc

/* splitmix64: tiny, and identical on every platform (no floating point). */
typedef struct corpus_rng {
	uint64_t s;
} corpus_rng;

void corpus_rng_seed(corpus_rng *r, uint64_t seed, uint64_t stream);
uint64_t corpus_rng_next(corpus_rng *r);
/* Uniform in [0, n); n > 0. */
uint32_t corpus_rng_below(corpus_rng *r, uint32_t n);
/* True with probability pct/100. */
int corpus_rng_pct(corpus_rng *r, uint32_t pct);

/* ---------------------------------------------------------------- generator */

/* Kinds of generated document, also the names used in stats.txt. */
enum corpus_gen_kind {
	CORPUS_GEN_STORY,  /* simple stories with recurring names */
	CORPUS_GEN_IOI,    /* indirect-object sentences; half inside stories */
	CORPUS_GEN_FACT,   /* factual statements in the training phrasings */
	CORPUS_GEN_INDUCT, /* repeated random spans */
	CORPUS_GEN_COUNT
};

extern const char *const corpus_gen_kind_name[CORPUS_GEN_COUNT];

/* Appends one document of the given kind (no separator) to out. Training
 * output uses only training names, IOI templates and fact phrasings. */
void corpus_gen_doc(int kind, corpus_rng *r, corpus_buf *out);

/* ---------------------------------------------------------------- word lists */

/* Every word the generator may put where a lesson expects a single token
 * (names, countries, capitals, elements, symbols, fact answers), each with its
 * leading space (" Mary"). The BPE trainer makes each one token. */
const char *const *corpus_forced_words(size_t *n);

/* Names that never appear in a training IOI sentence (they do appear in
 * stories, so the model knows them as names). */
const char *const *corpus_heldout_names(size_t *n);
/* Number of IOI templates, and whether template t is held out of training. */
int corpus_ioi_n_templates(void);
int corpus_ioi_template_heldout(int t);
/* The template's fixed text up to its first slot (for tests and lessons). */
const char *corpus_ioi_template_text(int t);
/* Fact phrasings: each relation has CORPUS_FACT_PHRASINGS; the last
 * CORPUS_FACT_HELDOUT of them are held out of training. */
#define CORPUS_FACT_PHRASINGS 42
#define CORPUS_FACT_HELDOUT 2
int corpus_fact_n_relations(void);
const char *corpus_fact_phrasing(int relation, int phrasing); /* "{X}" marks the subject */

/* ---------------------------------------------------------------- evaluation sets */

enum corpus_ioi_split {
	CORPUS_IOI_HELDOUT_NAMES,    /* training template, held-out names */
	CORPUS_IOI_HELDOUT_TEMPLATE, /* held-out template, training names */
	CORPUS_IOI_HELDOUT_BOTH,
};

typedef struct corpus_ioi_item {
	const char *prompt; /* "When Mary and John went to the park, John gave a ball to" */
	const char *io;     /* " Mary": the right answer */
	const char *s;      /* " John": the subject, the wrong answer */
	int template_id;
	int abba;           /* 1: names first appear as IO, S; 0: as S, IO (BABA) */
	int split;          /* enum corpus_ioi_split */
} corpus_ioi_item;

typedef struct corpus_fact_item {
	const char *prompt;   /* "The government of France meets in" */
	const char *answer;   /* " Paris" */
	const char *relation; /* "capital" */
	const char *subject;  /* "France" */
	int phrasing;         /* index into the relation's phrasings (held-out ones) */
} corpus_fact_item;

/* The callback returns 0 to go on, nonzero to stop (returned by the caller).
 * Strings are valid only during the call. */
typedef int (*corpus_ioi_cb)(const corpus_ioi_item *it, void *ctx);
typedef int (*corpus_fact_cb)(const corpus_fact_item *it, void *ctx);

/* n items, a pure function of (seed, n), splits and ABBA/BABA balanced. */
int corpus_ioi_eval(uint64_t seed, int n, corpus_ioi_cb cb, void *ctx);
/* Every trained fact in every held-out phrasing (n <= 0), or n of them drawn
 * without replacement by seed. */
int corpus_fact_eval(uint64_t seed, int n, corpus_fact_cb cb, void *ctx);
int corpus_fact_eval_count(void);

/* ---------------------------------------------------------------- natural sources */

/* A list of documents (owned strings). */
typedef struct corpus_docs {
	char **doc;
	size_t n, cap;
	size_t bytes;
} corpus_docs;

void corpus_docs_free(corpus_docs *d);
void corpus_docs_take(corpus_docs *d, char *text); /* takes ownership */

typedef struct corpus_source_info {
	const char *name;    /* "austen" */
	const char *origin;  /* "Debian r-cran-janeaustenr: R lazy-load database" */
	const char *license; /* as the package states it */
	int (*load)(const char *dir, corpus_docs *out, rs_err *err);
} corpus_source_info;

const corpus_source_info *corpus_sources(size_t *n);

/* Folds UTF-8 text to ASCII (quotes, dashes, accented letters; drops the
 * rest), in place; returns the new length. */
size_t corpus_ascii_fold(char *s, size_t n);

/* ---------------------------------------------------------------- the mixer */

typedef struct corpus_build_opts {
	const char *sources; /* cache directory from tools/fetch-corpus-sources; NULL: generated only */
	const char *out;     /* output directory (created) */
	uint64_t seed;
	uint64_t tokens;     /* target training tokens, estimated at 4 bytes a token */
	int quiet;
	const char *mix;     /* "gen_fact=280,austen=70": shares (per mille) that replace
				the default mix's; all shares are then scaled to fill
				the tokens. NULL: the default mix */
} corpus_build_opts;

int corpus_build(const corpus_build_opts *o, rs_err *err);

#endif
