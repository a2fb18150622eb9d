/* corpus_src.h - private to the natural-text readers (corpus_text.c,
 * corpus_sources.c, corpus_sword.c). */
#ifndef RS_CORPUS_SRC_H
#define RS_CORPUS_SRC_H

#include "corpus.h"

/* Hard-wrapped book lines (one string per line, "" between paragraphs, as
 * Project Gutenberg texts are) to one document per chapter: front matter
 * before the first chapter heading is dropped, headings start documents,
 * lines are joined into paragraphs, all-capitals lines (titles), editors'
 * notes and _italic_ underscores are removed. Lines may be NULL (NA).
 * Without need_heading, text before any heading is kept. */
void text_book_to_docs(const char *const *lines, size_t n, int need_heading, corpus_docs *out);

/* Cleans one paragraph in place: ASCII folding, white space collapsed to
 * single spaces, trimmed. s needs room for n + 1 bytes. Returns the new length. */
size_t text_clean_para(char *s, size_t n);

/* Whether a paragraph is a chapter heading ("CHAPTER IV", "Chapter 12.",
 * "CHAPTER 1. Loomings.", "BOOK TWO"). */
int text_is_heading(const char *p);

/* Reads a whole (small) text file; NULL with a message on failure. */
char *text_read_file(const char *path, size_t *n, rs_err *err);

/* The SWORD zText reader: one document per chapter of the module in dir
 * (the folder holding ot.bzs/ot.bzv/ot.bzz and nt.*). */
int sword_load(const char *dir, corpus_docs *out, rs_err *err);

#endif
