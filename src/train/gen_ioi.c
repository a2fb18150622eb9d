/* gen_ioi.c - indirect-object identification sentences (template version 1).
 *
 * "When Mary and John went to the park, John gave a ball to" -> " Mary".
 * {X} and {Y} introduce the two names, {S} is the subject who repeats, and
 * the sentence ends where the indirect object (the name that did not repeat)
 * comes next. ABBA order introduces the IO first; BABA the subject first.
 * Frames are balanced: every template is used in both orders equally often.
 * No template starts with a name, so that every name in a prompt is the
 * single token " Name" that the answer is.
 */
#include "config.h"
#include "corpus_gen.h"

#include <stdio.h>
#include <string.h>

static const char *const templates[] = {
	"When {X} and {Y} went to the {place}, {S} gave {a obj} to",
	"After {X} and {Y} arrived at the {place}, {S} handed {a obj} to",
	"Then, {X} and {Y} had a long day at the {place}. {S} gave {a obj} to",
	"While {X} and {Y} were working at the {place}, {S} passed {a obj} to",
	"Today {X} and {Y} went to the {place}. {S} gave {a obj} to",
	"When {X} and {Y} got {a obj} at the {place}, {S} decided to give it to",
	"The friends {X} and {Y} found {a obj} at the {place}. {S} gave it to",
	"The {place} was quiet when {X} and {Y} came in. {S} brought {a obj} to",
	"Once {X} and {Y} met at the {place}, {S} showed {a obj} to",
	"Later, {X} and {Y} were playing at the {place}, and {S} threw {a obj} to",
	"Yesterday, {X} and {Y} walked to the {place} together. There, {S} sent {a obj} to",
	"On Monday, {X} and {Y} cleaned the {place}. Afterwards, {S} gave {a obj} to",
	"As {X} and {Y} sat in the {place}, {S} offered {a obj} to",
	"When {X} and {Y} visited the {place}, {S} lent {a obj} to",
	"After lunch, {X} and {Y} went to the {place}. {S} sold {a obj} to",
	/* held out of training: their wording appears nowhere else */
	"It was a cold day when {X} and {Y} reached the {place}. {S} handed {a obj} to",
	"That week {X} and {Y} spent the morning at the {place}, and then {S} carried {a obj} to",
	"Because {X} and {Y} were at the {place}, {S} mailed {a obj} to",
};
#define N_TEMPLATES ((int)GEN_COUNT(templates))
#define N_HELDOUT 3
#define N_TRAIN (N_TEMPLATES - N_HELDOUT)

int corpus_ioi_n_templates(void)
{
	return N_TEMPLATES;
}

int corpus_ioi_template_heldout(int t)
{
	return t >= N_TRAIN && t < N_TEMPLATES;
}

const char *corpus_ioi_template_text(int t)
{
	return t >= 0 && t < N_TEMPLATES ? templates[t] : NULL;
}

/* Fills a template; io and s are the two names, abba picks the order. */
static void ioi_fill(rs_strbuf *out, int t, const gen_name *io, const gen_name *s, int abba,
		     const char *place, const char *obj)
{
	const char *p = templates[t];
	while (*p) {
		const char *open = strchr(p, '{');
		if (!open) {
			strbuf_puts(out, p);
			return;
		}
		strbuf_add(out, p, (size_t)(open - p));
		const char *close = strchr(open, '}');
		size_t kn = (size_t)(close - open - 1);
		if (kn == 1 && open[1] == 'X')
			strbuf_puts(out, (abba ? io : s)->name);
		else if (kn == 1 && open[1] == 'Y')
			strbuf_puts(out, (abba ? s : io)->name);
		else if (kn == 1 && open[1] == 'S')
			strbuf_puts(out, s->name);
		else if (kn == 5 && !memcmp(open + 1, "place", 5))
			strbuf_puts(out, place);
		else if (kn == 5 && !memcmp(open + 1, "a obj", 5))
			strbuf_printf(out, "%s %s", gen_article(obj), obj);
		p = close + 1;
	}
}

/* What may follow the answer in training text, so the model sees the IO
 * name in mid-text and not only at the end of a document. */
static const char *const follow_ups[] = {
	"",
	" {A.He} said thank you.",
	" {A} was very happy.",
	" {B} smiled.",
	" Then they went home.",
	" {A.He} put it in {A.his} bag.",
	" It was a good day for {A} and {B}.",
};

void gen_ioi_sentence(rs_strbuf *out, corpus_rng *r, const gen_name *a, const gen_name *b)
{
	/* a and b come from the story; which one is the IO is drawn here. */
	int t = (int)corpus_rng_below(r, N_TRAIN);
	int abba = corpus_rng_pct(r, 50);
	int a_is_io = corpus_rng_pct(r, 50);
	const gen_name *io = a_is_io ? a : b, *s = a_is_io ? b : a;
	gen_ctx c;
	memset(&c, 0, sizeof c);
	gen_fill_ctx(&c, r);
	ioi_fill(out, t, io, s, abba, c.place, c.obj);
	strbuf_printf(out, " %s.", io->name);
	c.who[0] = io;
	c.who[1] = s;
	gen_expand(out, follow_ups[corpus_rng_below(r, GEN_COUNT(follow_ups))], &c);
}

void gen_ioi_doc(rs_strbuf *out, corpus_rng *r)
{
	int n = 2 + (int)corpus_rng_below(r, 4);
	for (int i = 0; i < n; i++) {
		const gen_name *a = gen_pick_name(r, 0, NULL, 0);
		const gen_name *b = gen_pick_name(r, 0, &a, 1);
		if (i)
			strbuf_puts(out, corpus_rng_pct(r, 50) ? "\n" : " ");
		gen_ioi_sentence(out, r, a, b);
	}
}

/* ---------------------------------------------------------------- evaluation */

int corpus_ioi_eval(uint64_t seed, int n, corpus_ioi_cb cb, void *ctx)
{
	corpus_rng r;
	corpus_rng_seed(&r, seed, 0x101);
	rs_strbuf prompt;
	strbuf_init(&prompt);
	int rc = 0;
	for (int i = 0; i < n && !rc; i++) {
		/* Cycle the splits and orders so that any prefix of the set is balanced. */
		int split = i % 3;
		int abba = (i / 3) % 2 == 0;
		int held_names = split != CORPUS_IOI_HELDOUT_TEMPLATE;
		int t = split == CORPUS_IOI_HELDOUT_NAMES
				? (int)corpus_rng_below(&r, N_TRAIN)
				: N_TRAIN + (int)corpus_rng_below(&r, N_HELDOUT);
		const gen_name *io = gen_pick_name(&r, held_names, NULL, 0);
		const gen_name *s = gen_pick_name(&r, held_names, &io, 1);
		gen_ctx c;
		gen_fill_ctx(&c, &r);
		prompt.n = 0;
		ioi_fill(&prompt, t, io, s, abba, c.place, c.obj);
		char io_tok[40], s_tok[40];
		snprintf(io_tok, sizeof io_tok, " %s", io->name);
		snprintf(s_tok, sizeof s_tok, " %s", s->name);
		corpus_ioi_item it = {prompt.p, io_tok, s_tok, t, abba, split};
		rc = cb(&it, ctx);
	}
	strbuf_free(&prompt);
	return rc;
}
