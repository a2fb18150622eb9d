/* gen_facts.c - factual statements, induction drills, and the dispatcher
 * that turns a kind of generated document into text (see
 * CORPUS_TEMPLATE_VERSION). */
#include "config.h"
#include "corpus_gen.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

const char *const corpus_gen_kind_name[CORPUS_GEN_COUNT] = {
	"gen_story", "gen_ioi", "gen_fact", "gen_induct",
};

/* ---------------------------------------------------------------- facts */

/* Writes phrasing p of relation rel with subject x: "{X}", "{a X}", "{A X}",
 * and the answer y at "{Y}" (phrasings that go on after their answer; the
 * evaluation prompts never have one, so y is NULL there). */
static void fact_text(rs_strbuf *out, const gen_relation *rel, int p, const char *x, const char *y)
{
	const char *t = rel->phrasing[p];
	while (*t) {
		const char *open = strchr(t, '{');
		if (!open) {
			strbuf_puts(out, t);
			return;
		}
		strbuf_add(out, t, (size_t)(open - t));
		const char *close = strchr(open, '}');
		if (open[1] == 'Y') {
			strbuf_puts(out, y);
		} else {
			if (close - open == 4) { /* "{a X}" or "{A X}" */
				char a[3];
				strcpy(a, gen_article(x));
				if (open[1] == 'A')
					a[0] = (char)toupper((unsigned char)a[0]);
				strbuf_printf(out, "%s ", a);
			}
			strbuf_puts(out, x);
		}
		t = close + 1;
	}
}

static size_t n_facts(void)
{
	size_t n = 0;
	for (size_t r = 0; r < gen_n_relations; r++)
		n += gen_relations[r].n_pairs;
	return n;
}

/* Fact number i over all relations. */
static void fact_at(size_t i, const gen_relation **rel, size_t *pair)
{
	size_t r = 0;
	while (i >= gen_relations[r].n_pairs)
		i -= gen_relations[r++].n_pairs;
	*rel = &gen_relations[r];
	*pair = i;
}

#define N_TRAIN_PHRASINGS (CORPUS_FACT_PHRASINGS - CORPUS_FACT_HELDOUT)

/* One statement in a random training phrasing: the prompt and its answer,
 * or the phrasing with the answer inside it. (Templates v2 also told a third
 * of the facts as school stories; v3 dropped them, since with them the model
 * never learned indirect objects: doc/experiments/retrain-v2.) */
static void fact_statement(rs_strbuf *out, corpus_rng *r, const gen_relation *rel, size_t pair)
{
	int p = (int)corpus_rng_below(r, N_TRAIN_PHRASINGS);
	const char *x = rel->pairs[pair][0], *y = rel->pairs[pair][1];
	fact_text(out, rel, p, x, y);
	if (!strstr(rel->phrasing[p], "{Y}"))
		strbuf_printf(out, " %s.", y);
}

void gen_facts_doc(rs_strbuf *out, corpus_rng *r)
{
	size_t total = n_facts();
	int n = 3 + (int)corpus_rng_below(r, 6);
	/* Every fact is equally likely, whatever the size of its relation, so
	 * that the 7 days get as many repetitions as the 77 capitals each. */
	const gen_relation *rel;
	size_t pair;
	fact_at(corpus_rng_below(r, (uint32_t)total), &rel, &pair);
	int same_subject = corpus_rng_pct(r, 15);
	for (int i = 0; i < n; i++) {
		if (i)
			strbuf_puts(out, corpus_rng_pct(r, 40) ? "\n" : " ");
		if (i && !same_subject)
			fact_at(corpus_rng_below(r, (uint32_t)total), &rel, &pair);
		fact_statement(out, r, rel, pair);
	}
}

int corpus_fact_eval_count(void)
{
	return (int)(n_facts() * CORPUS_FACT_HELDOUT);
}

int corpus_fact_eval(uint64_t seed, int n, corpus_fact_cb cb, void *ctx)
{
	size_t total = (size_t)corpus_fact_eval_count();
	size_t *order = rs_xmalloc(total * sizeof *order);
	for (size_t i = 0; i < total; i++)
		order[i] = i;
	if (n > 0 && (size_t)n < total) {
		/* A seeded partial shuffle picks n items without replacement. */
		corpus_rng r;
		corpus_rng_seed(&r, seed, 0x102);
		for (size_t i = 0; i < (size_t)n; i++) {
			size_t j = i + corpus_rng_below(&r, (uint32_t)(total - i));
			size_t t = order[i];
			order[i] = order[j];
			order[j] = t;
		}
		total = (size_t)n;
	}
	rs_strbuf prompt;
	strbuf_init(&prompt);
	int rc = 0;
	for (size_t k = 0; k < total && !rc; k++) {
		const gen_relation *rel;
		size_t pair;
		fact_at(order[k] / CORPUS_FACT_HELDOUT, &rel, &pair);
		int p = CORPUS_FACT_PHRASINGS - CORPUS_FACT_HELDOUT + (int)(order[k] % CORPUS_FACT_HELDOUT);
		prompt.n = 0;
		fact_text(&prompt, rel, p, rel->pairs[pair][0], NULL);
		char ans[64];
		snprintf(ans, sizeof ans, " %s", rel->pairs[pair][1]);
		corpus_fact_item it = {prompt.p, ans, rel->name, rel->pairs[pair][0], p};
		rc = cb(&it, ctx);
	}
	strbuf_free(&prompt);
	free(order);
	return rc;
}

/* ---------------------------------------------------------------- induction drills */

static void random_span(rs_strbuf *out, corpus_rng *r, int kind, int len, uint64_t *state)
{
	/* The span is drawn from a saved RNG state so that it can be replayed
	 * exactly for the repeat. */
	corpus_rng sr = {*state};
	for (int i = 0; i < len; i++) {
		if (i)
			strbuf_puts(out, kind == 3 ? ", " : " ");
		switch (kind) {
		case 0:
		case 3:
			if (corpus_rng_pct(&sr, 15))
				strbuf_puts(out, gen_names[corpus_rng_below(&sr, (uint32_t)gen_n_names)].name);
			else
				strbuf_puts(out, gen_easy_words[corpus_rng_below(&sr, (uint32_t)gen_n_easy_words)]);
			break;
		case 1: { /* pseudo-words: close to the random-token spans of the eval */
			int wl = 2 + (int)corpus_rng_below(&sr, 3);
			for (int k = 0; k < wl; k++)
				strbuf_putc(out, (char)('a' + corpus_rng_below(&sr, 26)));
			break;
		}
		default:
			strbuf_putc(out, (char)('0' + corpus_rng_below(&sr, 10)));
			break;
		}
	}
	(void)r;
}

void gen_induct_doc(rs_strbuf *out, corpus_rng *r)
{
	static const char *const intros[] = {
		"", "Repeat after me: ", "Here is a list: ", "The code is ", "Remember this: ",
		"Say these words: ",
	};
	static const char *const agains[] = {
		" Again: ", "\n", " Once more: ", " Repeat: ", ". ", " | ",
	};
	int kind = (int)corpus_rng_below(r, 4);
	int len = 4 + (int)corpus_rng_below(r, kind == 1 ? 20 : 12);
	int reps = 2 + (int)corpus_rng_below(r, 2);
	uint64_t state = corpus_rng_next(r);
	const char *again = agains[corpus_rng_below(r, GEN_COUNT(agains))];
	strbuf_puts(out, intros[corpus_rng_below(r, GEN_COUNT(intros))]);
	for (int k = 0; k < reps; k++) {
		if (k)
			strbuf_puts(out, again);
		random_span(out, r, kind, len, &state);
	}
	strbuf_putc(out, '.');
}

/* ---------------------------------------------------------------- dispatch */

void corpus_gen_doc(int kind, corpus_rng *r, rs_strbuf *out)
{
	switch (kind) {
	case CORPUS_GEN_STORY:
		gen_story(out, r, 0);
		break;
	case CORPUS_GEN_IOI:
		/* Half standalone, half inside a story (as corpus.md recommends). */
		if (corpus_rng_pct(r, 50))
			gen_story(out, r, 1);
		else
			gen_ioi_doc(out, r);
		break;
	case CORPUS_GEN_FACT:
		gen_facts_doc(out, r);
		break;
	default:
		gen_induct_doc(out, r);
		break;
	}
}
