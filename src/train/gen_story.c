/* gen_story.c - simple stories with recurring names (template version 1).
 *
 * Short past-tense sentences in easy vocabulary, two or three named
 * characters who come back sentence after sentence (natural induction
 * targets), a little dialogue and causality. Stories never end a clause in
 * "to NAME": that shape belongs to the IOI sentences, whose held-out names and
 * templates must stay out of training.
 */
#include "config.h"
#include "corpus_gen.h"

#include <ctype.h>
#include <string.h>

const char *gen_article(const char *w)
{
	return strchr("aeiouAEIOU", w[0]) && w[0] ? "an" : "a";
}

const gen_name *gen_pick_name(corpus_rng *r, int heldout, const gen_name *const *avoid,
			      int n_avoid)
{
	for (;;) {
		const gen_name *n = &gen_names[corpus_rng_below(r, (uint32_t)gen_n_names)];
		if (heldout >= 0 && n->heldout != heldout)
			continue;
		int clash = 0;
		for (int i = 0; i < n_avoid; i++)
			clash |= avoid[i] == n;
		if (!clash)
			return n;
	}
}

#define PICK(r, list) gen_##list[corpus_rng_below(r, (uint32_t)gen_n_##list)]

void gen_fill_ctx(gen_ctx *c, corpus_rng *r)
{
	c->place = PICK(r, places);
	c->obj = PICK(r, objects);
	do
		c->obj2 = PICK(r, objects);
	while (c->obj2 == c->obj);
	c->animal = PICK(r, animals);
	c->adj = PICK(r, adjectives);
	c->feel = PICK(r, feelings);
	c->food = PICK(r, foods);
}

static const char *pronoun(const gen_name *n, const char *which)
{
	static const char *const table[][2] = {
		{"he", "she"}, {"He", "She"}, {"his", "her"}, {"His", "Her"}, {"him", "her"},
		{"boy", "girl"},
	};
	static const char *const keys[] = {"he", "He", "his", "His", "him", "kid"};
	for (size_t i = 0; i < GEN_COUNT(keys); i++)
		if (!strcmp(which, keys[i]))
			return table[i][n->female];
	return "?";
}

static const char *slot_word(const char *key, const gen_ctx *c)
{
	static const struct {
		const char *key;
		size_t off;
	} nouns[] = {
		{"place", offsetof(gen_ctx, place)}, {"obj", offsetof(gen_ctx, obj)},
		{"obj2", offsetof(gen_ctx, obj2)}, {"animal", offsetof(gen_ctx, animal)},
		{"adj", offsetof(gen_ctx, adj)}, {"feel", offsetof(gen_ctx, feel)},
		{"food", offsetof(gen_ctx, food)},
	};
	for (size_t i = 0; i < GEN_COUNT(nouns); i++)
		if (!strcmp(key, nouns[i].key))
			return *(const char *const *)((const char *)c + nouns[i].off);
	if (key[0] >= 'A' && key[0] <= 'C' && c->who[key[0] - 'A']) {
		const gen_name *n = c->who[key[0] - 'A'];
		return key[1] == '.' ? pronoun(n, key + 2) : n->name;
	}
	return "?";
}

void gen_expand(rs_strbuf *out, const char *t, const gen_ctx *c)
{
	while (*t) {
		const char *open = strchr(t, '{');
		if (!open) {
			strbuf_puts(out, t);
			return;
		}
		strbuf_add(out, t, (size_t)(open - t));
		const char *close = strchr(open, '}');
		char key[32];
		size_t kn = (size_t)(close - open - 1);
		if (kn >= sizeof key)
			kn = sizeof key - 1;
		memcpy(key, open + 1, kn);
		key[kn] = 0;
		int art = 0; /* 1: "a word", 2: "A word" */
		char *k = key;
		if ((k[0] == 'a' || k[0] == 'A') && k[1] == ' ') {
			art = k[0] == 'a' ? 1 : 2;
			k += 2;
		}
		const char *w = slot_word(k, c);
		if (art) {
			char a[3];
			strcpy(a, gen_article(w));
			if (art == 2)
				a[0] = (char)toupper((unsigned char)a[0]);
			strbuf_printf(out, "%s ", a);
		}
		strbuf_puts(out, w);
		t = close + 1;
	}
}

/* ---------------------------------------------------------------- templates */

static const char *const openings[] = {
	"Once upon a time, there was a {adj} {A.kid} named {A}.",
	"{A} was a little {A.kid} who loved to play at the {place}.",
	"One day, {A} and {B} went to the {place}.",
	"There once was a {A.kid} called {A}. {A.He} lived near the {place} with {A.his} {animal}.",
	"{A} woke up early. The sun was bright, and {A.he} wanted to go to the {place}.",
	"It was a sunny morning. {A} and {A.his} friend {B} wanted to play.",
	"Last summer, {A} found {a obj} at the {place}.",
	"{A} had a pet {animal}. Every day, {A} and the {animal} went to the {place}.",
	"{A} and {B} lived in a small house near the {place}.",
	"In a little village, there lived a {A.kid} named {A} and {A.his} best friend {B}.",
};

static const char *const events[] = {
	"{A} saw {a adj} {obj} near the door.",
	"{B} said, \"That is a very {adj} {obj}!\"",
	"{A} and {B} played with the {obj} all day.",
	"Then the {animal} ran away with the {obj}.",
	"{A} felt {feel}.",
	"{B} helped {A} look for the {obj}.",
	"They looked under the bed and behind the big tree.",
	"At last, {B} found the {obj} in the grass.",
	"{A} smiled at {B}.",
	"\"Thank you, {B},\" said {A}.",
	"{A} asked {B}, \"Do you want to play with me?\"",
	"{B} said, \"Yes, I would like that.\"",
	"It started to rain, so they ran home.",
	"{A.His} mom made {food} for lunch.",
	"{A} ate the {food} and felt {feel}.",
	"The {animal} was {adj} and {feel}.",
	"{B} was sad because {B.he} lost {B.his} {obj2}.",
	"{A} told {B} not to be {feel}.",
	"They shared the {obj}, and everyone was happy.",
	"{A} climbed the tree to see the whole {place}.",
	"{C} came to the {place} too.",
	"{C} had {a obj2} and a bag of {food}.",
	"{A}, {B} and {C} sat down to eat {food}.",
	"{B} laughed and said, \"You are funny, {A}!\"",
	"{A} drew a picture of the {animal}.",
	"The {obj} was too heavy for {A}, so {B} helped {A.him}.",
	"{A} put the {obj} in {A.his} bag.",
	"Then {A} and {B} walked to the {place}.",
	"At the {place}, they met {C}.",
	"{A} gave {B} a big hug.",
	"The {animal} jumped into the water, and {A} laughed.",
	"{B} was afraid of the {animal}, but {A} was brave.",
	"{A} said, \"Do not be scared, {B}. It is just a little {animal}.\"",
	"Soon the sun went down, and the sky was dark.",
	"{A} and {B} made {a adj} house out of boxes.",
	"{A} lost the {obj} and started to cry.",
	"{B} gave {A} {B.his} {obj2}.",
	"{C} asked, \"Where did you get that {obj}, {A}?\"",
	"\"I found it at the {place},\" said {A}.",
	"{A} wanted to keep the {obj}, but {A.he} knew it belonged to someone else.",
	"{B} and {C} ran to see what {A} had found.",
	"{A.His} dad said, \"Be careful with the {obj}, {A}.\"",
	"{A} was very {feel} when {A.he} saw the {animal}.",
	"The {animal} liked {food} very much.",
	"{B} did not like {food}, but {A} did.",
	"After that, {A} and {B} took a nap.",
};

static const char *const endings[] = {
	"At the end of the day, {A} and {B} went home. They were very happy.",
	"From that day on, {A} and {B} were best friends.",
	"{A} went to bed and dreamed about the {obj}.",
	"The next day, {A} went back to the {place} with {B}.",
	"{A} learned to be kind, and {A.he} was happy.",
	"And that is how {A} found the {adj} {obj}.",
	"{A} hugged {B} and said, \"This was the best day ever.\"",
	"When they got home, {A.his} mom gave them warm {food}.",
};

/* Events that name a third character are skipped in two-character stories. */
static int uses_c(const char *t)
{
	return strstr(t, "{C") != NULL;
}

void gen_story(rs_strbuf *out, corpus_rng *r, int with_ioi)
{
	gen_ctx c;
	gen_fill_ctx(&c, r);
	/* An IOI sentence inside a story must use training names; elsewhere
	 * held-out names appear as often as any, so the model knows them. */
	int heldout = with_ioi ? 0 : -1;
	c.who[0] = gen_pick_name(r, heldout, NULL, 0);
	c.who[1] = gen_pick_name(r, heldout, c.who, 1);
	int three = corpus_rng_pct(r, 40);
	c.who[2] = three ? gen_pick_name(r, heldout, c.who, 2) : NULL;

	gen_expand(out, openings[corpus_rng_below(r, GEN_COUNT(openings))], &c);
	int n_events = 3 + (int)corpus_rng_below(r, 6);
	int ioi_at = with_ioi ? (int)corpus_rng_below(r, (uint32_t)n_events + 1) : -1;
	unsigned char used[GEN_COUNT(events)] = {0};
	for (int i = 0; i <= n_events; i++) {
		if (i == ioi_at) {
			strbuf_putc(out, ' ');
			gen_ioi_sentence(out, r, c.who[0], c.who[1]);
		}
		if (i == n_events)
			break;
		uint32_t e;
		do
			e = corpus_rng_below(r, GEN_COUNT(events));
		while (used[e] || (!three && uses_c(events[e])));
		used[e] = 1;
		/* A new paragraph now and then, as in real stories. */
		strbuf_puts(out, corpus_rng_pct(r, 20) ? "\n\n" : " ");
		if (corpus_rng_pct(r, 15))
			gen_fill_ctx(&c, r); /* the story moves on to new things */
		gen_expand(out, events[e], &c);
	}
	strbuf_putc(out, ' ');
	gen_expand(out, endings[corpus_rng_below(r, GEN_COUNT(endings))], &c);
}
