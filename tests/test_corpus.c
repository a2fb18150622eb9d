/* test_corpus.c - the corpus generator and mixer: determinism, held-out
 * splits, evaluation items right by construction, text cleaning, R data. */
#include "config.h"
#include "corpus.h"
#include "../src/train/corpus_src.h"
#include "../src/train/rdata.h"
#include "tap.h"

#include <ctype.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static uint64_t fnv(uint64_t h, const char *s, size_t n)
{
	for (size_t i = 0; i < n; i++)
		h = (h ^ (unsigned char)s[i]) * 0x100000001b3ull;
	return h;
}

/* Training text of every generated kind, docs_per_kind documents each. */
static void generate(uint64_t seed, int docs_per_kind, corpus_buf *out)
{
	for (int kind = 0; kind < CORPUS_GEN_COUNT; kind++) {
		corpus_rng r;
		corpus_rng_seed(&r, seed, (uint64_t)kind + 1);
		for (int i = 0; i < docs_per_kind; i++) {
			corpus_gen_doc(kind, &r, out);
			corpus_buf_puts(out, "\n" CORPUS_DOC_SEP "\n");
		}
	}
}

/* The longest fixed stretch of a template between its {slots}. */
static void longest_literal(const char *t, char *out, size_t cap)
{
	out[0] = 0;
	while (*t) {
		const char *open = strchr(t, '{');
		size_t n = open ? (size_t)(open - t) : strlen(t);
		if (n > strlen(out) && n < cap) {
			memcpy(out, t, n);
			out[n] = 0;
		}
		if (!open)
			break;
		t = strchr(open, '}') + 1;
	}
}

/* The words of a phrasing, lowercased, each slot ("{X}", "{a X}") one word. */
static int phrasing_words(const char *t, char w[][24], int cap)
{
	int n = 0;
	while (*t && n < cap) {
		if (*t == '{') {
			const char *close = strchr(t, '}');
			snprintf(w[n++], 24, "{%c}", close[-1]);
			t = close + 1;
		} else if (isalnum((unsigned char)*t) || *t == '\'') {
			int k = 0;
			while ((isalnum((unsigned char)*t) || *t == '\'') && k < 23)
				w[n][k++] = (char)tolower((unsigned char)*t++);
			w[n++][k] = 0;
		} else {
			t++;
		}
	}
	return n;
}

/* Whether a and b have four words in a row in common. */
static int share_four(const char *a, const char *b)
{
	char wa[40][24], wb[40][24];
	int na = phrasing_words(a, wa, 40), nb = phrasing_words(b, wb, 40);
	for (int i = 0; i + 4 <= na; i++)
		for (int j = 0; j + 4 <= nb; j++) {
			int k = 0;
			while (k < 4 && !strcmp(wa[i + k], wb[j + k]))
				k++;
			if (k == 4)
				return 1;
		}
	return 0;
}

/* The held-out phrasings test new wordings, so the training phrasings added
 * since templates v2 stay clear of them; the first V1_PHRASINGS are those of
 * v1, kept as they were ("A baby {X} is called a" shares "a baby {X} is" with
 * a held-out one). */
#define V1_PHRASINGS 8
static int phrasings_apart(void)
{
	int ok = 1;
	const int first_held = CORPUS_FACT_PHRASINGS - CORPUS_FACT_HELDOUT;
	for (int r = 0; r < corpus_fact_n_relations(); r++)
		for (int p = 0; p < CORPUS_FACT_PHRASINGS; p++) {
			const char *t = corpus_fact_phrasing(r, p);
			if (!t || !strstr(t, "X}") || (p >= first_held && strstr(t, "{Y}"))) {
				tap_diag("phrasing %d.%d: \"%s\"", r, p, t ? t : "(missing)");
				ok = 0;
				continue;
			}
			for (int h = first_held; p >= V1_PHRASINGS && p < first_held && h < CORPUS_FACT_PHRASINGS; h++)
				if (share_four(t, corpus_fact_phrasing(r, h))) {
					tap_diag("phrasing %d.%d \"%s\" is close to held-out %d.%d", r, p, t, r, h);
					ok = 0;
				}
		}
	return ok;
}

static void test_determinism(void)
{
	corpus_buf a, b, c;
	corpus_buf_init(&a);
	corpus_buf_init(&b);
	corpus_buf_init(&c);
	generate(CORPUS_DEFAULT_SEED, 200, &a);
	generate(CORPUS_DEFAULT_SEED, 200, &b);
	generate(CORPUS_DEFAULT_SEED + 1, 200, &c);
	uint64_t ha = fnv(0xcbf29ce484222325ull, a.p, a.n), hb = fnv(0xcbf29ce484222325ull, b.p, b.n);
	uint64_t hc = fnv(0xcbf29ce484222325ull, c.p, c.n);
	tap_ok(ha == hb && a.n == b.n, "same seed, same bytes (%zu bytes, checksum %016llx)", a.n,
	       (unsigned long long)ha);
	tap_ok(ha != hc, "another seed, other bytes");
	/* Lessons cite the templates: a change must come with a version bump. */
	const uint64_t golden = 0xe038b1e61c8fbc96ull;
	if (!tap_ok(CORPUS_TEMPLATE_VERSION != 4 || ha == golden,
		    "template v4 text unchanged (checksum %016llx)", (unsigned long long)ha))
		tap_diag("the generator's output changed: bump CORPUS_TEMPLATE_VERSION and update "
			 "the golden checksum here");
	int ascii = 1;
	for (size_t i = 0; i < a.n; i++)
		ascii &= (unsigned char)a.p[i] < 0x80;
	tap_ok(ascii, "generated text is ASCII");
	corpus_buf_free(&a);
	corpus_buf_free(&b);
	corpus_buf_free(&c);
}

static const char *find_word(const char *hay, const char *w);

/* Occurrences of pat not followed by a letter (" to Ada" is not " to Adam"). */
static size_t count_after(const char *hay, const char *pat)
{
	size_t k = 0, l = strlen(pat);
	for (const char *p = strstr(hay, pat); p; p = strstr(p + 1, pat))
		k += !isalpha((unsigned char)p[l]);
	return k;
}

static void test_heldout(void)
{
	corpus_buf t;
	corpus_buf_init(&t);
	generate(7, 3000, &t);
	char lit[160];
	int ok_held = 1, ok_train = 1;
	for (int k = 0; k < corpus_ioi_n_templates(); k++) {
		longest_literal(corpus_ioi_template_text(k), lit, sizeof lit);
		int seen = strstr(t.p, lit) != NULL;
		if (corpus_ioi_template_heldout(k) && seen) {
			tap_diag("held-out IOI template %d appears: \"%s\"", k, lit);
			ok_held = 0;
		}
		if (!corpus_ioi_template_heldout(k) && !seen) {
			tap_diag("training IOI template %d never appears: \"%s\"", k, lit);
			ok_train = 0;
		}
	}
	tap_ok(ok_held, "held-out IOI templates never appear in training text");
	int no_lead = 1;
	for (int k = 0; k < corpus_ioi_n_templates(); k++)
		no_lead &= corpus_ioi_template_text(k)[0] != '{';
	tap_ok(no_lead && corpus_ioi_n_templates() >= 15,
	       "%d IOI templates, none starting with a name (names keep their space)",
	       corpus_ioi_n_templates());
	tap_ok(ok_train, "every training IOI template appears");

	ok_held = ok_train = 1;
	for (int r = 0; r < corpus_fact_n_relations(); r++)
		for (int p = 0; p < CORPUS_FACT_PHRASINGS; p++) {
			longest_literal(corpus_fact_phrasing(r, p), lit, sizeof lit);
			int seen = strstr(t.p, lit) != NULL;
			int held = p >= CORPUS_FACT_PHRASINGS - CORPUS_FACT_HELDOUT;
			if (held && seen) {
				tap_diag("held-out phrasing %d.%d appears: \"%s\"", r, p, lit);
				ok_held = 0;
			}
			if (!held && !seen) {
				tap_diag("trained phrasing %d.%d never appears: \"%s\"", r, p, lit);
				ok_train = 0;
			}
		}
	tap_ok(ok_held, "held-out fact phrasings never appear in training text");
	tap_ok(phrasings_apart(), "fact phrasings: every one has its subject, the held-out ones end "
				  "at the answer, and the ones added since v2 share no four words in a row "
				  "with a held-out one");
	tap_ok(ok_train, "every trained fact phrasing appears");

	/* Held-out names: in stories, so the model knows them, but never as the
	 * object of "to" (where every IOI answer stands) nor in an IOI frame. */
	size_t nh;
	const char *const *held = corpus_heldout_names(&nh);
	int as_io = 0, in_stories = 1;
	for (size_t i = 0; i < nh; i++) {
		char pat[64];
		snprintf(pat, sizeof pat, " to %s", held[i]);
		as_io += find_word(t.p, pat + 4) && count_after(t.p, pat) > 0;
		snprintf(pat, sizeof pat, " %s ", held[i]);
		in_stories &= strstr(t.p, pat) != NULL;
	}
	tap_ok(nh >= 20, "%zu held-out names", nh);
	tap_ok(!as_io, "held-out names never follow \"to\" in training text");
	tap_ok(in_stories, "every held-out name appears in training stories");
	corpus_buf_free(&t);
}

typedef struct ioi_check {
	int n, bad, abba, split[3];
	char why[256];
} ioi_check;

static int in_list(const char *w, const char *const *l, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (!strcmp(w, l[i]))
			return 1;
	return 0;
}

/* Occurrences of a whole word: "Sara" is not counted inside "Sarah". */
static size_t count(const char *hay, const char *w)
{
	size_t k = 0, l = strlen(w);
	for (const char *p = strstr(hay, w); p; p = strstr(p + 1, w))
		k += (p == hay || p[-1] == ' ') && !isalpha((unsigned char)p[l]);
	return k;
}

static const char *find_word(const char *hay, const char *w)
{
	size_t l = strlen(w);
	for (const char *p = strstr(hay, w); p; p = strstr(p + 1, w))
		if ((p == hay || p[-1] == ' ') && !isalpha((unsigned char)p[l]))
			return p;
	return NULL;
}

static int ioi_cb(const corpus_ioi_item *it, void *ctx)
{
	ioi_check *c = ctx;
	c->n++;
	c->abba += it->abba;
	c->split[it->split]++;
	const char *io = it->io + 1, *s = it->s + 1; /* without the space */
	size_t nf, nh;
	const char *const *forced = corpus_forced_words(&nf);
	const char *const *held = corpus_heldout_names(&nh);
	const char *pio = find_word(it->prompt, io), *ps = find_word(it->prompt, s);
	const char *why = NULL;
	if (it->io[0] != ' ' || it->s[0] != ' ' || !strcmp(io, s))
		why = "names not distinct or without their space";
	else if (count(it->prompt, io) != 1 || count(it->prompt, s) != 2)
		why = "the IO must appear once and the subject twice";
	else if ((pio < ps) != !!it->abba)
		why = "order does not match ABBA/BABA";
	else if (strcmp(it->prompt + strlen(it->prompt) - 3, " to"))
		why = "prompt must end at \" to\"";
	else if (!in_list(it->io, forced, nf) || !in_list(it->s, forced, nf))
		why = "a name is not a forced single token";
	else if ((it->split != CORPUS_IOI_HELDOUT_TEMPLATE) !=
		 (in_list(io, held, nh) && in_list(s, held, nh)))
		why = "names do not match the split";
	else if ((it->split != CORPUS_IOI_HELDOUT_NAMES) !=
		 !!corpus_ioi_template_heldout(it->template_id))
		why = "template does not match the split";
	else {
		/* The subject's second mention is the last name before the end. */
		const char *last = find_word(ps + 1, s);
		if (!last || find_word(last + 1, io))
			why = "the subject is not the one who gives";
	}
	if (why && !c->bad++)
		snprintf(c->why, sizeof c->why, "%s: %s", why, it->prompt);
	return 0;
}

typedef struct fact_check {
	int n, bad;
	char why[256];
} fact_check;

static int fact_cb(const corpus_fact_item *it, void *ctx)
{
	fact_check *c = ctx;
	c->n++;
	size_t nf;
	const char *const *forced = corpus_forced_words(&nf);
	const char *why = NULL;
	if (it->phrasing < CORPUS_FACT_PHRASINGS - CORPUS_FACT_HELDOUT)
		why = "a trained phrasing in the eval set";
	else if (!strstr(it->prompt, it->subject))
		why = "prompt lacks its subject";
	else if (it->answer[0] != ' ' || !in_list(it->answer, forced, nf))
		why = "answer is not a forced single token";
	else if (it->prompt[strlen(it->prompt) - 1] == ' ')
		why = "prompt ends in a space";
	if (why && !c->bad++)
		snprintf(c->why, sizeof c->why, "%s: %s", why, it->prompt);
	return 0;
}

static int collect(const corpus_ioi_item *it, void *ctx)
{
	corpus_buf_printf(ctx, "%s|%s|%s\n", it->prompt, it->io, it->s);
	return 0;
}

static void test_eval_sets(void)
{
	ioi_check c;
	memset(&c, 0, sizeof c);
	corpus_ioi_eval(11, 600, ioi_cb, &c);
	tap_ok(c.n == 600 && !c.bad, "600 IOI eval items right by construction%s%s",
	       c.bad ? "; first bad: " : "", c.why);
	tap_ok(c.abba == 300 && c.split[0] == 200 && c.split[1] == 200 && c.split[2] == 200,
	       "ABBA/BABA and the three splits balanced (%d ABBA; %d/%d/%d)", c.abba, c.split[0],
	       c.split[1], c.split[2]);
	corpus_buf x, y;
	corpus_buf_init(&x);
	corpus_buf_init(&y);
	corpus_ioi_eval(11, 50, collect, &x);
	corpus_ioi_eval(11, 50, collect, &y);
	tap_ok(x.n && x.n == y.n && !memcmp(x.p, y.p, x.n), "IOI eval set is a function of the seed");
	corpus_buf_free(&x);
	corpus_buf_free(&y);

	fact_check f;
	memset(&f, 0, sizeof f);
	corpus_fact_eval(11, 0, fact_cb, &f);
	tap_ok(f.n == corpus_fact_eval_count() && f.n >= 400 && !f.bad,
	       "%d fact eval items: held-out phrasings, single-token answers%s%s", f.n,
	       f.bad ? "; first bad: " : "", f.why);
	memset(&f, 0, sizeof f);
	corpus_fact_eval(11, 25, fact_cb, &f);
	tap_ok(f.n == 25 && !f.bad, "a drawn subset of 25 fact items");
}

static void test_forced_words(void)
{
	size_t n;
	const char *const *w = corpus_forced_words(&n);
	int ok = n > 300;
	for (size_t i = 0; i < n; i++) {
		ok &= w[i][0] == ' ' && w[i][1] && !strchr(w[i] + 1, ' ');
		for (size_t j = 0; j < i; j++)
			ok &= strcmp(w[i], w[j]) != 0;
	}
	tap_ok(ok, "%zu forced words, each one word with its space, no repeats", n);
	tap_ok(in_list(" Mary", w, n) && in_list(" Paris", w, n) && in_list(" Fe", w, n) &&
		       in_list(" Nora", w, n),
	       "forced words include names, capitals, symbols and held-out names");
}

/* ---------------------------------------------------------------- the mixer */

static char *slurp(const char *path, size_t *n)
{
	rs_err e;
	return text_read_file(path, n, &e);
}

static const char *const build_files[] = {"train.txt", "val.txt", "ioi_eval.jsonl",
					  "fact_eval.jsonl", "stats.txt", "SOURCES.txt"};
#define N_BUILD_FILES (sizeof build_files / sizeof *build_files)

/* Removes what corpus_build wrote to dir, and dir. */
static void remove_build(const char *dir)
{
	for (size_t i = 0; i < N_BUILD_FILES; i++) {
		char p[64];
		snprintf(p, sizeof p, "%s/%s", dir, build_files[i]);
		unlink(p);
	}
	rmdir(dir);
}

static void test_build(void)
{
	char d1[] = "test_corpus.XXXXXX", d2[] = "test_corpus.XXXXXX";
	if (!mkdtemp(d1) || !mkdtemp(d2)) {
		tap_ok(0, "temporary directories");
		return;
	}
	corpus_build_opts o = {NULL, d1, 5, 40000, 1, NULL};
	rs_err e;
	int r1 = corpus_build(&o, &e);
	o.out = d2;
	int r2 = corpus_build(&o, &e);
	tap_ok(!r1 && !r2, "generated-only build runs twice");
	int same = 1;
	size_t train_n = 0;
	for (size_t i = 0; i < N_BUILD_FILES; i++) {
		char p1[64], p2[64];
		snprintf(p1, sizeof p1, "%s/%s", d1, build_files[i]);
		snprintf(p2, sizeof p2, "%s/%s", d2, build_files[i]);
		size_t n1 = 0, n2 = 0;
		char *a = slurp(p1, &n1), *b = slurp(p2, &n2);
		same &= a && b && n1 == n2 && !memcmp(a, b, n1);
		if (i == 0 && a) {
			train_n = n1;
			/* Every document ends with the separator line. */
			tap_ok(n1 > 50000 && !strcmp(a + n1 - strlen(CORPUS_DOC_SEP) - 2,
						     "\n" CORPUS_DOC_SEP "\n"),
			       "train.txt ends with the separator (%zu bytes)", n1);
		}
		free(a);
		free(b);
	}
	tap_ok(same && train_n, "same seed: identical output files");

	/* --mix with every share given (so that the default mix does not matter):
	 * they sum to 1300 and rescale by 1000/1300, rounding down: facts 200 ->
	 * 153 per mille, stories 100 -> 76 */
	o.out = d1;
	o.mix = "austen=100,tidytext=100,moby=100,sotu=100,web=100,wordnet=100,gen_story=100,gen_ioi=100,"
		"gen_fact=200,gen_induct=300";
	int r3 = corpus_build(&o, &e);
	char sp[64];
	snprintf(sp, sizeof sp, "%s/stats.txt", d1);
	size_t sn = 0;
	char *stats = r3 ? NULL : slurp(sp, &sn);
	const char *fact = stats ? strstr(stats, "\ngen_fact ") : NULL, *story = stats ? strstr(stats, "\ngen_story ") : NULL;
	size_t fact_bytes = 0, story_bytes = 0;
	double fact_target = 0, story_target = 0;
	int ok = fact && story && sscanf(fact, " gen_fact %*u %zu %*u %*f%% %lf%%", &fact_bytes, &fact_target) == 2 &&
		 sscanf(story, " gen_story %*u %zu %*u %*f%% %lf%%", &story_bytes, &story_target) == 2;
	size_t budget = 40000 * 4;
	tap_ok(ok && fact_target == 15.3 && story_target == 7.6 && fact_bytes >= budget * 153 / 1000 &&
		       fact_bytes < budget * 153 / 1000 + 2000 && story_bytes >= budget * 76 / 1000 &&
		       story_bytes < budget * 76 / 1000 + 2000,
	       "--mix: targets 15.3%% / 7.6%% after rescaling, bytes %zu / %zu of %zu", fact_bytes, story_bytes,
	       budget);
	free(stats);
	static const char *const bad[][2] = {
		{"gen_fact", "is not NAME=PERMILLE"}, {"facts=3", "no part named 'facts'"},
		{"gen_fact=2000", "0 to 1000"}, {"gen_fact=1x", "0 to 1000"},
		{"austen=0,tidytext=0,moby=0,sotu=0,web=0,wordnet=0,gen_story=0,gen_ioi=0,gen_fact=0,gen_induct=0",
		 "every share is 0"},
	};
	for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
		o.mix = bad[i][0];
		int r = corpus_build(&o, &e);
		tap_ok(r && strstr(e.msg, bad[i][1]), "--mix %s: one-line error (%s)", bad[i][0], r ? e.msg : "accepted");
	}
	remove_build(d1);
	remove_build(d2);
}

/* ---------------------------------------------------------------- cleaning */

static void test_text(void)
{
	char s[] = "\xe2\x80\x98quoted\xe2\x80\x99 \xe2\x80\x94 \xe2\x80\x9c" "double\xe2\x80\x9d "
		   "caf\xc3\xa9\xe2\x80\xa6 \xce\xb1\tx\r";
	size_t n = corpus_ascii_fold(s, strlen(s));
	tap_ok(n == strlen("'quoted' -- \"double\" cafe...  x") &&
		       !memcmp(s, "'quoted' -- \"double\" cafe...  x", n),
	       "UTF-8 folds to ASCII: [%.*s]", (int)n, s);

	const char *book[] = {
		"A TITLE", "", "by Someone", "", "CHAPTER I", "", "THE FIRST DAY", "",
		"It was a  _fine_ day, and the", "sun was out.", "", "\"Yes,\" said she.",
		"", "Chapter 2", "", "The second chapter is here, and it is long enough to be",
		"kept as a document of its own, which needs two hundred bytes of text, so",
		"here are a few more words to make it so, and then some more words after it.",
	};
	corpus_docs d = {0};
	text_book_to_docs(book, sizeof book / sizeof *book, 1, &d);
	tap_ok(d.n == 1 && !strncmp(d.doc[0], "The second chapter is here, and it is long", 42),
	       "books split at chapters; front matter, titles and short chapters dropped");
	corpus_docs_free(&d);
	const char *book2[] = {
		"CHAPTER 1", "", "It was a  _fine_ day, and the", "sun was out. It was a day like",
		"no other day, and everyone in the town came out to see it, the old and the",
		"young, and they stood in the street and looked at the sky until the evening.",
		"", "  \"Yes,\" said she.",
	};
	text_book_to_docs(book2, sizeof book2 / sizeof *book2, 1, &d);
	tap_ok(d.n == 1 && !strncmp(d.doc[0], "It was a fine day, and the sun was out.", 39) &&
		       strstr(d.doc[0], "evening.\n\n\"Yes,\" said she."),
	       "wrapped lines join into paragraphs; underscores and double spaces go");
	corpus_docs_free(&d);
}

/* A hand-assembled R serialization: list(s = c("abc", NA), i = 7L). */
static const unsigned char rblob[] = {
	'X', '\n', 0, 0, 0, 2, 0, 4, 2, 1, 0, 2, 3, 0,
	0, 0, 2, 19, 0, 0, 0, 2,                          /* VECSXP, has attr; 2 elements */
	0, 0, 0, 16, 0, 0, 0, 2,                          /* STRSXP of 2 */
	0, 0, 0, 9, 0, 0, 0, 3, 'a', 'b', 'c',            /* CHARSXP "abc" */
	0, 0, 0, 9, 0xff, 0xff, 0xff, 0xff,               /* NA_STRING */
	0, 0, 0, 13, 0, 0, 0, 1, 0, 0, 0, 7,              /* INTSXP 7 */
	0, 0, 4, 2,                                       /* LISTSXP with tag */
	0, 0, 0, 1, 0, 0, 0, 9, 0, 0, 0, 5, 'n', 'a', 'm', 'e', 's',
	0, 0, 0, 16, 0, 0, 0, 2,
	0, 0, 0, 9, 0, 0, 0, 1, 's',
	0, 0, 0, 9, 0, 0, 0, 1, 'i',
	0, 0, 0, 254,                                     /* end of the pairlist */
};

static void test_rdata(void)
{
	rs_err e;
	rdata *r = rdata_parse(rblob, sizeof rblob, "blob", &e);
	const rdata_obj *root = r ? rdata_root(r) : NULL;
	const rdata_obj *s = rdata_get(root, "s"), *i = rdata_get(root, "i");
	tap_ok(s && s->type == RDATA_STR && s->n == 2 && !strcmp(s->str[0], "abc") && !s->str[1] &&
		       i && i->type == RDATA_INT && i->n == 1 && i->ints[0] == 7,
	       "R serialization: named list of a string vector (with NA) and an integer");
	rdata_free(r);
	int clean = 1;
	for (size_t n = 0; n < sizeof rblob; n++) {
		rdata *t = rdata_parse(rblob, n, "blob", &e);
		clean &= t == NULL && strstr(e.msg, "blob") != NULL;
		rdata_free(t);
	}
	tap_ok(clean, "every truncation fails with a message naming the input");
}

int main(void)
{
	test_determinism();
	test_heldout();
	test_eval_sets();
	test_forced_words();
	test_build();
	test_text();
	test_rdata();
	return tap_done_plan();
}
