/* corpus_gen.h - private to the generator (gen_*.c): word lists and the
 * small template expander they share. */
#ifndef RS_CORPUS_GEN_H
#define RS_CORPUS_GEN_H

#include <stddef.h>

#include "corpus.h"

#define GEN_COUNT(a) (sizeof(a) / sizeof *(a))

typedef struct gen_name {
	const char *name;
	int female;
	int heldout; /* never in a training IOI sentence */
} gen_name;

extern const gen_name gen_names[];
extern const size_t gen_n_names;

/* Simple nouns; each list has its own count. */
extern const char *const gen_places[];
extern const size_t gen_n_places;
extern const char *const gen_objects[];
extern const size_t gen_n_objects;
extern const char *const gen_animals[];
extern const size_t gen_n_animals;
extern const char *const gen_adjectives[];
extern const size_t gen_n_adjectives;
extern const char *const gen_feelings[];
extern const size_t gen_n_feelings;
extern const char *const gen_foods[];
extern const size_t gen_n_foods;
extern const char *const gen_easy_words[]; /* for induction drills */
extern const size_t gen_n_easy_words;

typedef struct gen_relation {
	const char *name;                           /* "capital" */
	const char *phrasing[CORPUS_FACT_PHRASINGS]; /* "{X}" is the subject */
	const char *const (*pairs)[2];              /* subject, answer (no leading space) */
	size_t n_pairs;
} gen_relation;

extern const gen_relation gen_relations[];
extern const size_t gen_n_relations;

/* Story characters and nouns that fill a template. */
typedef struct gen_ctx {
	const gen_name *who[3];
	const char *place, *obj, *obj2, *animal, *adj, *feel, *food;
} gen_ctx;

/* Appends template t with its slots filled:
 *   {A} {B} {C}            names of the characters
 *   {A.he} {A.He} {A.his} {A.His} {A.him}   pronouns (also for B and C)
 *   {place} {obj} {obj2} {animal} {adj} {feel} {food}
 *   {a obj} {a animal} ... the same with "a"/"an" before it; {A obj} capitalized
 */
void gen_expand(rs_strbuf *out, const char *t, const gen_ctx *c);
/* "a" or "an" for a word. */
const char *gen_article(const char *word);
/* Picks a distinct name; heldout < 0: any, 0: training only, 1: held-out only. */
const gen_name *gen_pick_name(corpus_rng *r, int heldout, const gen_name *const *avoid,
			      int n_avoid);
void gen_fill_ctx(gen_ctx *c, corpus_rng *r);

/* One complete training IOI sentence (template, names, nouns from r) with its
 * answer; used standalone and inside stories. */
void gen_ioi_sentence(rs_strbuf *out, corpus_rng *r, const gen_name *a, const gen_name *b);
void gen_story(rs_strbuf *out, corpus_rng *r, int with_ioi);
void gen_facts_doc(rs_strbuf *out, corpus_rng *r);
void gen_induct_doc(rs_strbuf *out, corpus_rng *r);
void gen_ioi_doc(rs_strbuf *out, corpus_rng *r);

#endif
