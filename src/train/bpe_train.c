/* bpe_train.c - byte-level BPE training: merges in order of pair frequency,
 * then merge chains that make each forced word a single token. */
#include "config.h"
#include "bpe_train.h"
#include "bpe_train_int.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Llama 3.1's first eleven special tokens, in its order. */
static const char *const specials[] = {
	"<|begin_of_text|>", "<|end_of_text|>", "<|reserved_special_token_0|>",
	"<|reserved_special_token_1|>", "<|finetune_right_pad_id|>",
	"<|reserved_special_token_2|>", "<|start_header_id|>", "<|end_header_id|>",
	"<|eom_id|>", "<|eot_id|>", "<|python_tag|>",
};
#define N_SPECIALS ((int)(sizeof specials / sizeof *specials))

/* ---------------------------------------------------------------- token table */

/* Raw bytes of every token, and a map back from bytes to id. */
typedef struct toktab {
	char **bytes;
	uint32_t *len;
	int32_t n, cap;
	bpe_strmap ids;
} toktab;

static int32_t toktab_add(toktab *t, const char *s, size_t len)
{
	int64_t *id = strmap_get(&t->ids, s, len, -1);
	if (*id >= 0)
		return (int32_t)*id;
	if (t->n == t->cap) {
		t->cap = t->cap ? t->cap * 2 : 512;
		t->bytes = rs_xrealloc(t->bytes, (size_t)t->cap * sizeof *t->bytes);
		t->len = rs_xrealloc(t->len, (size_t)t->cap * sizeof *t->len);
	}
	t->bytes[t->n] = rs_xmalloc(len + 1);
	memcpy(t->bytes[t->n], s, len);
	t->bytes[t->n][len] = 0;
	t->len[t->n] = (uint32_t)len;
	*id = t->n;
	return t->n++;
}

static int32_t toktab_concat(toktab *t, int32_t a, int32_t b)
{
	size_t la = t->len[a], lb = t->len[b];
	char *s = rs_xmalloc(la + lb);
	memcpy(s, t->bytes[a], la);
	memcpy(s + la, t->bytes[b], lb);
	int32_t id = toktab_add(t, s, la + lb);
	free(s);
	return id;
}

/* ---------------------------------------------------------------- training state */

typedef struct pair_ent {
	int32_t a, b;
	int64_t count;
	int32_t *words; /* words that contained the pair at some point (may be stale) */
	uint32_t nw, capw;
} pair_ent;

typedef struct trainer {
	int32_t n_words;
	int64_t *cnt;     /* [n_words] occurrences */
	int32_t **sym;    /* [n_words] symbol ids, shrinking as merges apply */
	int32_t *len;
	pair_ent *pairs;  /* dense; index by pair_idx */
	size_t n_pairs, cap_pairs;
	bpe_pairmap pair_idx;
	int32_t *seen;    /* [n_words] last merge step a word was visited */
} trainer;

static pair_ent *pair_of(trainer *t, int32_t a, int32_t b)
{
	int64_t *ix = pairmap_get(&t->pair_idx, pair_key(a, b), -1);
	if (*ix < 0) {
		if (t->n_pairs == t->cap_pairs) {
			t->cap_pairs = t->cap_pairs ? t->cap_pairs * 2 : 4096;
			t->pairs = rs_xrealloc(t->pairs, t->cap_pairs * sizeof *t->pairs);
		}
		t->pairs[t->n_pairs] = (pair_ent){a, b, 0, NULL, 0, 0};
		*ix = (int64_t)t->n_pairs++;
	}
	return &t->pairs[*ix];
}

static void pair_note_word(pair_ent *p, int32_t w)
{
	if (p->nw && p->words[p->nw - 1] == w)
		return;
	if (p->nw == p->capw) {
		p->capw = p->capw ? p->capw * 2 : 4;
		p->words = rs_xrealloc(p->words, p->capw * sizeof *p->words);
	}
	p->words[p->nw++] = w;
}

/* Adds sign * count of word w to each of its adjacent pairs. */
static void word_pairs(trainer *t, int32_t w, int sign, int32_t note_sym)
{
	for (int32_t i = 0; i + 1 < t->len[w]; i++) {
		pair_ent *p = pair_of(t, t->sym[w][i], t->sym[w][i + 1]);
		p->count += sign * t->cnt[w];
		if (sign > 0 && (note_sym < 0 || t->sym[w][i] == note_sym ||
				 t->sym[w][i + 1] == note_sym))
			pair_note_word(p, w);
	}
}

static void trainer_free(trainer *t)
{
	for (int32_t w = 0; w < t->n_words; w++)
		free(t->sym[w]);
	for (size_t i = 0; i < t->n_pairs; i++)
		free(t->pairs[i].words);
	free(t->sym);
	free(t->cnt);
	free(t->len);
	free(t->pairs);
	free(t->seen);
	pairmap_free(&t->pair_idx);
}

/* The pair to merge next: highest count; ties go to the smaller (a, b), so the
 * result does not depend on hash order. */
static pair_ent *best_pair(trainer *t)
{
	pair_ent *best = NULL;
	for (size_t i = 0; i < t->n_pairs; i++) {
		pair_ent *p = &t->pairs[i];
		if (p->count <= 0)
			continue;
		if (!best || p->count > best->count ||
		    (p->count == best->count &&
		     pair_key(p->a, p->b) < pair_key(best->a, best->b)))
			best = p;
	}
	return best;
}

static void apply_merge(trainer *t, pair_ent *p, int32_t c, int32_t step)
{
	int32_t a = p->a, b = p->b;
	/* Take the word list: merging changes counts and may grow t->pairs. */
	int32_t *words = p->words;
	uint32_t nw = p->nw;
	p->words = NULL;
	p->nw = p->capw = 0;
	for (uint32_t k = 0; k < nw; k++) {
		int32_t w = words[k];
		if (t->seen[w] == step)
			continue;
		t->seen[w] = step;
		int32_t *s = t->sym[w], n = t->len[w], found = 0;
		for (int32_t i = 0; i + 1 < n && !found; i++)
			found = s[i] == a && s[i + 1] == b;
		if (!found)
			continue;
		word_pairs(t, w, -1, -1);
		int32_t o = 0;
		for (int32_t i = 0; i < n; i++) {
			if (i + 1 < n && s[i] == a && s[i + 1] == b) {
				s[o++] = c;
				i++;
			} else {
				s[o++] = s[i];
			}
		}
		t->len[w] = o;
		word_pairs(t, w, +1, c);
	}
	free(words);
}

/* ---------------------------------------------------------------- encoding by rank */

/* Merges symbols s[0..n) by lowest rank below max_rank (leftmost first on
 * ties); returns the new count. ranks maps a pair to its rank. */
static int merge_by_rank(const bpe_pairmap *ranks, const int32_t *result, int32_t max_rank,
			 int32_t *s, int n)
{
	for (;;) {
		int64_t best = INT64_MAX;
		int at = -1;
		for (int i = 0; i + 1 < n; i++) {
			int64_t r = pairmap_find(ranks, pair_key(s[i], s[i + 1]), INT64_MAX);
			if (r < best && r < max_rank) {
				best = r;
				at = i;
			}
		}
		if (at < 0)
			return n;
		s[at] = result[best];
		memmove(s + at + 1, s + at + 2, (size_t)(n - at - 2) * sizeof *s);
		n--;
	}
}

/* ---------------------------------------------------------------- forced words */

typedef struct merge_list {
	int32_t *l, *r, *res;
	int32_t n, cap;
} merge_list;

static void merge_push(merge_list *m, int32_t l, int32_t r, int32_t res)
{
	if (m->n == m->cap) {
		m->cap = m->cap ? m->cap * 2 : 1024;
		m->l = rs_xrealloc(m->l, (size_t)m->cap * sizeof *m->l);
		m->r = rs_xrealloc(m->r, (size_t)m->cap * sizeof *m->r);
		m->res = rs_xrealloc(m->res, (size_t)m->cap * sizeof *m->res);
	}
	m->l[m->n] = l;
	m->r[m->n] = r;
	m->res[m->n++] = res;
}

/* With the first n_keep merges (whose tokens are ids below tok_limit), the
 * tokens the forced words' chains would add. When apply is set the chains
 * are appended to ml (cut to n_keep first) and their tokens to tt. */
static int32_t forced_chains(const bpe_train_opts *o, merge_list *ml, toktab *tt,
			     const bpe_pairmap *ranks, int32_t n_keep, int32_t tok_limit, int apply)
{
	bpe_strmap newtok;  /* bytes of tokens the chains create -> id */
	bpe_pairmap newpair; /* chain merges already planned */
	strmap_init(&newtok);
	pairmap_init(&newpair);
	int32_t added = 0;
	if (apply)
		ml->n = n_keep;
	for (size_t f = 0; f < o->n_forced; f++) {
		const char *w = o->forced[f];
		size_t wl = strlen(w);
		int32_t *s = rs_xmalloc((wl + 1) * sizeof *s);
		for (size_t i = 0; i < wl; i++)
			s[i] = (unsigned char)w[i];
		int n = merge_by_rank(ranks, ml->res, n_keep, s, (int)wl);
		int32_t cur = s[0];
		size_t end = tt->len[s[0]]; /* cur stands for w[0..end) */
		for (int j = 1; j < n; j++) {
			size_t cat_len = end + tt->len[s[j]];
			end = cat_len;
			/* A chain token can be an older token that a kept merge
			 * extends: use that merge rather than a duplicate. */
			int64_t r = pairmap_find(ranks, pair_key(cur, s[j]), -1);
			if (r >= 0 && r < n_keep) {
				cur = ml->res[r];
				continue;
			}
			/* cur + s[j] is w[0..cat_len): an existing token, one an
			 * earlier chain made, or a new one. */
			const char *cat = w;
			int64_t id = strmap_find(&tt->ids, cat, cat_len, -1);
			if (id >= tok_limit)
				id = -1;
			if (id < 0)
				id = strmap_find(&newtok, cat, cat_len, -1);
			if (id < 0) {
				id = apply ? toktab_add(tt, cat, cat_len) : tok_limit + added;
				*strmap_get(&newtok, cat, cat_len, id) = id;
				added++;
			}
			int64_t *pm = pairmap_get(&newpair, pair_key(cur, s[j]), -1);
			if (*pm < 0) {
				*pm = id;
				if (apply)
					merge_push(ml, cur, s[j], (int32_t)id);
			}
			cur = (int32_t)id;
		}
		free(s);
	}
	strmap_free(&newtok);
	pairmap_free(&newpair);
	return added;
}

/* ---------------------------------------------------------------- the trainer */

int bpe_train(const bpe_counts *c, const bpe_train_opts *o, bpe_vocab **out, rs_err *err)
{
	int32_t target = o->vocab_size - N_SPECIALS; /* bytes + merged tokens */
	if (target < 256 + 1)
		return rs_fail(err, "bpe: vocabulary size %d leaves no room for merges", o->vocab_size);
	toktab tt = {0};
	strmap_init(&tt.ids);
	for (int b = 0; b < 256; b++) {
		char ch = (char)b;
		toktab_add(&tt, &ch, 1);
	}

	trainer t = {0};
	pairmap_init(&t.pair_idx);
	t.n_words = (int32_t)c->words.n;
	t.cnt = rs_xmalloc(((size_t)t.n_words + 1) * sizeof *t.cnt);
	t.sym = rs_xmalloc(((size_t)t.n_words + 1) * sizeof *t.sym);
	t.len = rs_xmalloc(((size_t)t.n_words + 1) * sizeof *t.len);
	t.seen = rs_xmalloc(((size_t)t.n_words + 1) * sizeof *t.seen);
	/* Words in slot order: the same counts give the same order, and ties
	 * between pairs are broken by id anyway. */
	size_t *slots = rs_xmalloc(((size_t)t.n_words + 1) * sizeof *slots);
	int32_t w = 0;
	for (size_t i = 0; i < c->words.cap; i++) {
		if (c->words.slot[i].off == SIZE_MAX)
			continue;
		const char *s = strmap_key(&c->words, i);
		size_t len = c->words.slot[i].len;
		slots[w] = i;
		t.cnt[w] = c->words.slot[i].val;
		t.sym[w] = rs_xmalloc((len + 1) * sizeof **t.sym);
		for (size_t k = 0; k < len; k++)
			t.sym[w][k] = (unsigned char)s[k];
		t.len[w] = (int32_t)len;
		t.seen[w] = -1;
		word_pairs(&t, w, +1, -1);
		w++;
	}
	t.n_words = w;

	merge_list ml = {0};
	bpe_pairmap ranks;
	pairmap_init(&ranks);
	int32_t step = 0;
	while (tt.n < target) {
		pair_ent *p = best_pair(&t);
		if (!p)
			break; /* the text has fewer distinct pairs than the vocabulary wants */
		int32_t a = p->a, b = p->b;
		int32_t cid = toktab_concat(&tt, a, b);
		*pairmap_get(&ranks, pair_key(a, b), 0) = ml.n;
		merge_push(&ml, a, b, cid);
		apply_merge(&t, p, cid, step++);
		if (o->verbose && step % 500 == 0)
			fprintf(stderr, "bpe: %d merges, %d tokens\n", step, tt.n);
	}
	int64_t *pre_cnt = t.cnt;
	t.cnt = NULL;

	/* Shorten the trained merges until they and the forced chains fit. */
	int32_t n_keep = ml.n;
	int32_t *tokens_upto = rs_xmalloc(((size_t)ml.n + 1) * sizeof *tokens_upto);
	tokens_upto[0] = 256; /* token count after the first k merges */
	for (int32_t k = 0; k < ml.n; k++)
		tokens_upto[k + 1] = ml.res[k] + 1 > tokens_upto[k] ? ml.res[k] + 1 : tokens_upto[k];
	int32_t need = 0;
	for (;;) {
		need = forced_chains(o, &ml, &tt, &ranks, n_keep, tokens_upto[n_keep], 0);
		int32_t excess = tokens_upto[n_keep] + need - target;
		if (excess <= 0)
			break;
		if (n_keep == 0) {
			rs_fail(err, "bpe: the %zu forced words need %d tokens, more than a "
				"vocabulary of %d has", o->n_forced, need, o->vocab_size);
			for (int32_t id = 0; id < tt.n; id++)
				free(tt.bytes[id]);
			free(tt.bytes);
			free(tt.len);
			strmap_free(&tt.ids);
			free(ml.l);
			free(ml.r);
			free(ml.res);
			free(tokens_upto);
			free(pre_cnt);
			free(slots);
			trainer_free(&t);
			pairmap_free(&ranks);
			return -1;
		}
		n_keep = n_keep > excess ? n_keep - excess : 0;
	}
	/* Drop the tokens of the merges cut, then add the chains. */
	for (int32_t id = tokens_upto[n_keep]; id < tt.n; id++) {
		int64_t *slot = strmap_get(&tt.ids, tt.bytes[id], tt.len[id], -1);
		*slot = -1; /* forget it; the arena keeps the key */
		free(tt.bytes[id]);
	}
	tt.n = tokens_upto[n_keep];
	free(tokens_upto);
	forced_chains(o, &ml, &tt, &ranks, n_keep, tt.n, 1);
	/* toktab_add treats val -1 as absent, so a dropped token re-added by a
	 * chain gets a fresh id; rebuild the rank map for the final merges. */
	pairmap_free(&ranks);
	pairmap_init(&ranks);
	for (int32_t k = 0; k < ml.n; k++) {
		int64_t *r = pairmap_get(&ranks, pair_key(ml.l[k], ml.r[k]), -1);
		if (*r < 0)
			*r = k;
	}

	bpe_vocab *v = rs_xcalloc(1, sizeof *v);
	v->n_tokens = tt.n + N_SPECIALS;
	v->n_merges = ml.n;
	v->n_forced_chains = need;
	v->tokens = rs_xmalloc((size_t)v->n_tokens * sizeof *v->tokens);
	v->types = rs_xmalloc((size_t)v->n_tokens * sizeof *v->types);
	v->tok_bytes = rs_xmalloc((size_t)v->n_tokens * sizeof *v->tok_bytes);
	v->tok_len = rs_xmalloc((size_t)v->n_tokens * sizeof *v->tok_len);
	for (int32_t id = 0; id < v->n_tokens; id++) {
		const char *raw = id < tt.n ? tt.bytes[id] : specials[id - tt.n];
		size_t rl = id < tt.n ? tt.len[id] : strlen(raw);
		char *s = rs_xmalloc(rl * 2 + 1);
		size_t n = 0;
		for (size_t i = 0; i < rl; i++) {
			char ch[3];
			if (id < tt.n)
				bpe_byte_char((unsigned char)raw[i], ch);
			else
				ch[0] = raw[i], ch[1] = 0; /* special tokens are stored as written */
			n += (size_t)sprintf(s + n, "%s", ch);
		}
		v->tokens[id] = s;
		v->types[id] = id < tt.n ? 1 : 3;
		v->tok_bytes[id] = rs_xmalloc(rl + 1);
		memcpy(v->tok_bytes[id], raw, rl);
		v->tok_bytes[id][rl] = 0;
		v->tok_len[id] = (uint32_t)rl;
	}
	v->merges = rs_xmalloc(((size_t)ml.n + 1) * sizeof *v->merges);
	for (int32_t k = 0; k < ml.n; k++) {
		size_t la = strlen(v->tokens[ml.l[k]]), lr = strlen(v->tokens[ml.r[k]]);
		v->merges[k] = rs_xmalloc(la + lr + 2);
		sprintf(v->merges[k], "%s %s", v->tokens[ml.l[k]], v->tokens[ml.r[k]]);
	}
	v->bos = tt.n + 0;
	v->eos = tt.n + 1;
	v->eot = tt.n + 9;
	v->m_left = ml.l;
	v->m_right = ml.r;
	v->m_result = ml.res;
	v->pairs = rs_xmalloc(sizeof *v->pairs);
	*v->pairs = ranks;

	/* What the counted text costs in tokens now. */
	int32_t buf[256];
	for (int32_t wi = 0; wi < t.n_words; wi++) {
		const struct strmap_slot *sl = &c->words.slot[slots[wi]];
		int k = bpe_vocab_encode_piece(v, c->words.arena + sl->off, sl->len, buf, 256);
		v->n_encoded += (uint64_t)pre_cnt[wi] * (uint64_t)k;
		v->n_pretokens += (uint64_t)pre_cnt[wi];
	}
	free(pre_cnt);
	free(slots);
	for (int32_t id = 0; id < tt.n; id++)
		free(tt.bytes[id]);
	free(tt.bytes);
	free(tt.len);
	strmap_free(&tt.ids);
	trainer_free(&t);
	*out = v;
	return 0;
}

void bpe_vocab_free(bpe_vocab *v)
{
	if (!v)
		return;
	for (int32_t i = 0; i < v->n_tokens; i++) {
		free(v->tokens[i]);
		free(v->tok_bytes[i]);
	}
	for (int32_t k = 0; k < v->n_merges; k++)
		free(v->merges[k]);
	free(v->tokens);
	free(v->tok_bytes);
	free(v->tok_len);
	free(v->types);
	free(v->merges);
	free(v->m_left);
	free(v->m_right);
	free(v->m_result);
	if (v->pairs)
		pairmap_free(v->pairs);
	free(v->pairs);
	free(v);
}

int32_t bpe_vocab_find(const bpe_vocab *v, const char *s, size_t len)
{
	/* Linear: used for checks and tests, not in a hot loop. */
	for (int32_t id = 0; id < v->n_tokens; id++)
		if (v->types[id] == 1 && v->tok_len[id] == len && !memcmp(v->tok_bytes[id], s, len))
			return id;
	return -1;
}

int bpe_vocab_encode_piece(const bpe_vocab *v, const char *piece, size_t len, int32_t *ids,
			   int max)
{
	if (!len)
		return 0;
	int32_t small[64], *s = len <= 64 ? small : rs_xmalloc(len * sizeof *s);
	for (size_t i = 0; i < len; i++)
		s[i] = (unsigned char)piece[i];
	int n = merge_by_rank(v->pairs, v->m_result, v->n_merges, s, (int)len);
	for (int i = 0; i < n && i < max; i++)
		ids[i] = s[i];
	if (s != small)
		free(s);
	return n;
}
