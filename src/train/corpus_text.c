/* corpus_text.c - cleaning natural text: UTF-8 to ASCII, paragraphs, and
 * hard-wrapped books to chapter documents. */
#include "config.h"
#include "corpus_src.h"

#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---------------------------------------------------------------- ASCII folding */

/* Latin-1 letters U+00C0..U+00FF with their accents removed ("" drops). */
static const char *const latin1_fold[64] = {
	"A", "A", "A", "A", "A", "A", "AE", "C", "E", "E", "E", "E", "I", "I", "I", "I",
	"D", "N", "O", "O", "O", "O", "O", "x", "O", "U", "U", "U", "U", "Y", "Th", "ss",
	"a", "a", "a", "a", "a", "a", "ae", "c", "e", "e", "e", "e", "i", "i", "i", "i",
	"d", "n", "o", "o", "o", "o", "o", "", "o", "u", "u", "u", "u", "y", "th", "y",
};

static const char *fold_cp(unsigned cp)
{
	if (cp >= 0xc0 && cp <= 0xff)
		return latin1_fold[cp - 0xc0];
	switch (cp) {
	case 0xa0: case 0x2002: case 0x2003: case 0x2009: case 0x200a: case 0x202f:
		return " ";
	case 0x2018: case 0x2019: case 0x201a: case 0x201b: case 0x2032: case 0xb4:
		return "'";
	case 0x201c: case 0x201d: case 0x201e: case 0x2033:
		return "\"";
	case 0x2010: case 0x2011: case 0x2013: case 0xad:
		return "-";
	case 0x2012: case 0x2014: case 0x2015:
		return "--";
	case 0x2026:
		return "...";
	case 0x152:
		return "OE";
	case 0x153:
		return "oe";
	case 0x2022: case 0xb7:
		return "*";
	}
	return ""; /* anything else (Greek, Hebrew, symbols) is dropped */
}

size_t corpus_ascii_fold(char *str, size_t n)
{
	/* Every replacement is no longer than the UTF-8 it replaces, so the
	 * text can be rewritten in place. */
	unsigned char *s = (unsigned char *)str;
	size_t o = 0;
	for (size_t i = 0; i < n;) {
		unsigned c = s[i];
		if (c < 0x80) {
			if (c == '\t')
				s[o++] = ' ';
			else if (c == '\n' || c >= 0x20)
				s[o++] = (unsigned char)c;
			i++; /* other control characters, \r included, go */
			continue;
		}
		unsigned cp = 0;
		size_t len = c >= 0xf0 ? 4 : c >= 0xe0 ? 3 : c >= 0xc0 ? 2 : 1;
		if (len == 1 || i + len > n) {
			i++; /* a stray byte */
			continue;
		}
		cp = c & (0x7f >> len);
		for (size_t k = 1; k < len; k++)
			cp = cp << 6 | (s[i + k] & 0x3f);
		const char *rep = fold_cp(cp);
		size_t rl = strlen(rep);
		if (rl > len)
			rl = len; /* never grow */
		memcpy(s + o, rep, rl);
		o += rl;
		i += len;
	}
	if (o < n)
		s[o] = 0;
	return o;
}

/* ---------------------------------------------------------------- paragraphs */

size_t text_clean_para(char *s, size_t n)
{
	n = corpus_ascii_fold(s, n);
	size_t o = 0;
	int space = 0;
	for (size_t i = 0; i < n; i++) {
		char c = s[i];
		if (c == '_')
			continue; /* _emphasis_ marks */
		if (c == ' ' || c == '\n') {
			space = o > 0;
			continue;
		}
		if (space)
			s[o++] = ' ';
		space = 0;
		s[o++] = c;
	}
	s[o] = 0;
	return o;
}

static int has_lower(const char *p)
{
	for (; *p; p++)
		if (islower((unsigned char)*p))
			return 1;
	return 0;
}

int text_is_heading(const char *p)
{
	static const char *const words[] = {"CHAPTER", "Chapter", "BOOK", "VOLUME", "Volume",
					    "PART", "STAVE"};
	for (size_t i = 0; i < sizeof words / sizeof *words; i++) {
		size_t l = strlen(words[i]);
		if (!strncmp(p, words[i], l) && (p[l] == ' ' || p[l] == 0) && strlen(p) < 60)
			return 1;
	}
	return 0;
}

static void flush_doc(rs_strbuf *doc, corpus_docs *out)
{
	if (doc->n >= 200) /* a chapter with only a line or two is a table of contents */
		corpus_docs_take(out, rs_xstrdup(doc->p));
	doc->n = 0;
	if (doc->p)
		doc->p[0] = 0;
}

void text_book_to_docs(const char *const *lines, size_t n, int need_heading, corpus_docs *out)
{
	rs_strbuf para, doc;
	strbuf_init(&para);
	strbuf_init(&doc);
	int started = !need_heading;
	for (size_t i = 0; i <= n; i++) {
		const char *l = i < n && lines[i] ? lines[i] : "";
		size_t k = strspn(l, " \t");
		if (i < n && l[k]) {
			if (para.n)
				strbuf_putc(&para, ' ');
			strbuf_puts(&para, l + k);
			continue;
		}
		if (!para.n)
			continue;
		para.n = text_clean_para(para.p, para.n);
		const char *p = para.p;
		if (text_is_heading(p)) {
			started = 1;
			flush_doc(&doc, out);
		} else if (started && has_lower(p) && p[0] != '[' && !strstr(p, "Gutenberg") &&
			   !strstr(p, "etext")) {
			if (doc.n)
				strbuf_puts(&doc, "\n\n");
			strbuf_puts(&doc, p);
		}
		para.n = 0;
	}
	flush_doc(&doc, out);
	strbuf_free(&para);
	strbuf_free(&doc);
}

char *text_read_file(const char *path, size_t *n, rs_err *err)
{
	FILE *f = fopen(path, "rb");
	if (!f) {
		rs_fail(err, "%s: %s", path, strerror(errno));
		return NULL;
	}
	rs_strbuf b;
	strbuf_init(&b);
	char chunk[65536];
	size_t k;
	while ((k = fread(chunk, 1, sizeof chunk, f)) > 0)
		strbuf_add(&b, chunk, k);
	int bad = ferror(f);
	fclose(f);
	if (bad) {
		strbuf_free(&b);
		rs_fail(err, "%s: read error", path);
		return NULL;
	}
	if (!b.p)
		strbuf_add(&b, "", 0);
	*n = b.n;
	return b.p;
}
