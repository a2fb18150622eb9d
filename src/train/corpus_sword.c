/* corpus_sword.c - reads a SWORD zText Bible module (OSIS markup) into one
 * plain-text document per chapter.
 *
 * Files per testament: X.bzs holds little-endian (offset, size, unpacked
 * size) triples locating zlib blocks in X.bzz; X.bzv holds (block, offset,
 * size) entries locating each verse inside its unpacked block. Footnotes and
 * headings are removed with a space left in their place, so that the words
 * either side do not run together; Strong's word tags are dropped.
 */
#include "config.h"
#include "corpus_src.h"
#include "rdata.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static uint32_t le32(const unsigned char *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

/* Appends verse text without markup; returns 1 when a chapter starts in it. */
static int strip_osis(const char *s, size_t n, rs_strbuf *out)
{
	int chapter = 0;
	for (size_t i = 0; i < n;) {
		if (s[i] == '&') {
			static const struct { const char *ent, *ch; } ents[] = {
				{"&amp;", "&"}, {"&lt;", "<"}, {"&gt;", ">"}, {"&quot;", "\""},
				{"&apos;", "'"},
			};
			size_t k;
			for (k = 0; k < sizeof ents / sizeof *ents; k++) {
				size_t l = strlen(ents[k].ent);
				if (i + l <= n && !memcmp(s + i, ents[k].ent, l)) {
					strbuf_puts(out, ents[k].ch);
					i += l;
					break;
				}
			}
			if (k == sizeof ents / sizeof *ents)
				strbuf_putc(out, s[i++]);
			continue;
		}
		if (s[i] != '<') {
			strbuf_putc(out, s[i++]);
			continue;
		}
		const char *end = memchr(s + i, '>', n - i);
		if (!end)
			break;
		size_t tl = (size_t)(end - (s + i)) + 1;
		char tag[512];
		size_t cl = tl < sizeof tag ? tl : sizeof tag - 1;
		memcpy(tag, s + i, cl);
		tag[cl] = 0;
		i += tl;
		int selfclose = tl >= 2 && s[i - 2] == '/';
		const char *skip_to = NULL;
		if (!strncmp(tag, "<note", 5) && !selfclose)
			skip_to = "</note>";
		else if (!strncmp(tag, "<title", 6) && !selfclose)
			skip_to = "</title>";
		if (skip_to) {
			size_t sl = strlen(skip_to);
			while (i + sl <= n && memcmp(s + i, skip_to, sl))
				i++;
			i = i + sl <= n ? i + sl : n;
			strbuf_putc(out, ' ');
		} else if (!strncmp(tag, "<chapter", 8) && strstr(tag, "sID=")) {
			chapter = 1;
			out->n = 0; /* what came before the marker is book titles */
		} else if (!strncmp(tag, "<div", 4) && strstr(tag, "sID=") &&
			   strstr(tag, "type=\"x-p\"")) {
			strbuf_puts(out, "\n\n");
		} else if (!strncmp(tag, "<l ", 3) || !strncmp(tag, "<lb", 3)) {
			strbuf_putc(out, ' ');
		}
	}
	return chapter;
}

/* Cleans a chapter's raw text paragraph by paragraph into a document. */
static void add_chapter(rs_strbuf *raw, corpus_docs *out)
{
	rs_strbuf doc;
	strbuf_init(&doc);
	char *p = raw->p;
	while (p && *p) {
		char *brk = strstr(p, "\n\n");
		size_t len = brk ? (size_t)(brk - p) : strlen(p);
		char save = p[len];
		p[len] = 0;
		size_t cl = text_clean_para(p, len);
		if (cl) {
			if (doc.n)
				strbuf_puts(&doc, "\n\n");
			strbuf_add(&doc, p, cl);
		}
		p[len] = save;
		p = brk ? brk + 2 : p + len;
	}
	if (doc.n >= 200)
		corpus_docs_take(out, rs_xstrdup(doc.p));
	strbuf_free(&doc);
	raw->n = 0;
	if (raw->p)
		raw->p[0] = 0;
}

static int load_testament(const char *dir, const char *t, corpus_docs *out, rs_err *err)
{
	char path[4096];
	size_t nbzs, nbzv, nbzz;
	snprintf(path, sizeof path, "%s/%s.bzs", dir, t);
	char *bzs = text_read_file(path, &nbzs, err);
	snprintf(path, sizeof path, "%s/%s.bzv", dir, t);
	char *bzv = bzs ? text_read_file(path, &nbzv, err) : NULL;
	snprintf(path, sizeof path, "%s/%s.bzz", dir, t);
	char *bzz = bzv ? text_read_file(path, &nbzz, err) : NULL;
	int rc = bzz ? 0 : -1;
	unsigned char *block = NULL;
	size_t block_n = 0;
	uint32_t cur = UINT32_MAX;
	rs_strbuf raw, verse;
	strbuf_init(&raw);
	strbuf_init(&verse);
	for (size_t e = 0; !rc && e + 10 <= nbzv; e += 10) {
		const unsigned char *v = (const unsigned char *)bzv + e;
		uint32_t b = le32(v), off = le32(v + 4), size = (uint32_t)v[8] | (uint32_t)v[9] << 8;
		if (!size)
			continue;
		if (b != cur) {
			if ((size_t)b * 12 + 12 > nbzs) {
				rc = rs_fail(err, "%s/%s.bzv: entry %zu names block %u past the index",
					     dir, t, e / 10, b);
				break;
			}
			const unsigned char *bi = (const unsigned char *)bzs + (size_t)b * 12;
			uint32_t boff = le32(bi), bsize = le32(bi + 4), ulen = le32(bi + 8);
			if ((size_t)boff + bsize > nbzz) {
				rc = rs_fail(err, "%s/%s.bzz: block %u at offset %u runs past the end",
					     dir, t, b, boff);
				break;
			}
			free(block);
			block = NULL;
			snprintf(path, sizeof path, "%s/%s.bzz", dir, t);
			if (rdata_inflate((const unsigned char *)bzz + boff, bsize, ulen, &block,
					  &block_n, path, err)) {
				rc = -1;
				break;
			}
			cur = b;
		}
		if ((size_t)off + size > block_n) {
			rc = rs_fail(err, "%s/%s.bzv: verse %zu runs past its block", dir, t, e / 10);
			break;
		}
		verse.n = 0;
		if (strip_osis((const char *)block + off, size, &verse))
			add_chapter(&raw, out);
		if (verse.n) {
			strbuf_add(&raw, verse.p, verse.n);
			strbuf_putc(&raw, ' ');
		}
	}
	if (!rc)
		add_chapter(&raw, out);
	strbuf_free(&raw);
	strbuf_free(&verse);
	free(block);
	free(bzs);
	free(bzv);
	free(bzz);
	return rc;
}

int sword_load(const char *dir, corpus_docs *out, rs_err *err)
{
	if (load_testament(dir, "ot", out, err) || load_testament(dir, "nt", out, err))
		return -1;
	return 0;
}
