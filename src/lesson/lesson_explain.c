/* lesson_explain.c - `explain [N] [--vs TOKEN] [--json]`: "how did the model
 * arrive at its answer", as a lesson built on the fly.
 *
 * interp's explain_run generates the answer greedily and measures it (lens,
 * attribution, attention, ablation, copying); this file only chooses what to
 * show and words it. It writes lesson JSON whose text states every number
 * through placeholders ({lens_rank(...)}, {dla(...)}, {ablated(...)}) and
 * whose steps run the ordinary commands (lens, dla, attn, ablate), loads it
 * with the normal loader and opens it with the normal runner: the same panes,
 * highlights and live numbers as the written lessons. The wording is the
 * templates below; where a sentence depends on a measurement (which head,
 * whether attribution and ablation agree), the measurement picked it.
 *
 * The session's prompt becomes the prompt followed by the answer but its
 * last token, so one pass reads every answer token: the i-th is predicted at
 * position n_prompt - 1 + i. */
#include "config.h"
#include "interp.h"
#include "lesson_int.h"

#include <cJSON.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---------------------------------------------------------------- building the lesson */
typedef rs_strbuf sb;

static void add_lines(cJSON *arr, const char *text)
{
	const char *p = text;
	while (*p) {
		const char *e = strchr(p, '\n');
		size_t n = e ? (size_t)(e - p) : strlen(p);
		char *line = rs_xmalloc(n + 1);
		memcpy(line, p, n);
		line[n] = 0;
		cJSON_AddItemToArray(arr, cJSON_CreateString(line));
		free(line);
		p += n + (e ? 1 : 0);
	}
}

static cJSON *add_step(cJSON *steps, const char *title, sb *text, sb *cmds, const char *panes, const char *hl)
{
	cJSON *st = cJSON_CreateObject();
	cJSON_AddStringToObject(st, "title", title);
	add_lines(cJSON_AddArrayToObject(st, "text"), text->p ? text->p : "");
	if (cmds && cmds->p)
		add_lines(cJSON_AddArrayToObject(st, "commands"), cmds->p);
	cJSON *pa = cJSON_AddArrayToObject(st, "panes");
	char buf[128];
	snprintf(buf, sizeof buf, "%s", panes);
	for (char *w = strtok(buf, " "); w; w = strtok(NULL, " "))
		cJSON_AddItemToArray(pa, cJSON_CreateString(w));
	if (hl)
		cJSON_AddStringToObject(st, "highlight", hl);
	cJSON_AddItemToArray(steps, st);
	strbuf_free(text);
	strbuf_free(cmds);
	return st;
}

/* The placeholder language's name of a component ('L3H2', 'L3 mlp'). */
static const char *lx_name(const dla_component *c, char *buf, size_t n)
{
	return dla_component_name(c, buf, n);
}

/* The command that ablates a component, in the command language. */
static void ablate_cmd(sb *b, const dla_component *c, const char *mode)
{
	if (c->kind == DLA_HEAD)
		strbuf_printf(b, "ablate %d %d %s\n", c->layer, c->head, mode);
	else
		strbuf_printf(b, "ablate blocks.%d.hook_mlp_out %s\n", c->layer, mode);
}

/* Where a point of the residual stream stands, in words (from its name only). */
static void site_words(rs_hook h, int n_layers, char *buf, size_t n)
{
	if (h.kind == HOOK_RESID_MID)
		snprintf(buf, n, "after layer %d's attention", h.layer);
	else if (h.kind == HOOK_RESID_PRE && h.layer == 0)
		snprintf(buf, n, "already in the embedding");
	else if (h.kind == HOOK_RESID_PRE)
		snprintf(buf, n, "after layer %d's MLP", h.layer - 1);
	else
		snprintf(buf, n, "only after the last layer (%d)", n_layers - 1);
}

/* Whether ablation disagrees with direct attribution: zeroing a component
 * that adds x should change the difference by about -x. */
static int disagrees(const explain_comp *ec)
{
	float x = ec->c.value, dz = ec->zero_delta;
	return isfinite(dz) && fabsf(dz + x) > fmaxf(0.25f * fabsf(x), 0.1f);
}

/* The ablation sentences of one component (numbers live). */
static void ablation_text(sb *t, const explain_comp *ec, int i, int n_layers)
{
	char nm[32];
	lx_name(&ec->c, nm, sizeof nm);
	const char *mt = "a%d, b%d, p%d";
	char m3[64], m2[64];
	snprintf(m3, sizeof m3, mt, i, i, i);
	snprintf(m2, sizeof m2, "a%d, p%d", i, i);
	strbuf_printf(t, "%s: direct attribution {dla('%s', p%d, a%d, b%d):.3f}.\n", nm, nm, i, i, i);
	strbuf_printf(t, "  zero-ablated: the logit difference changes by {ablated('%s', 'zero', %s) - logit_diff(a%d, b%d, p%d):.3f}, "
		      "p({piece(a%d)}) goes from {prob(a%d, p%d):.4f} to {ablated_prob('%s', 'zero', %s):.4f}\n",
		      nm, m3, i, i, i, i, i, i, nm, m2);
	strbuf_printf(t, "  mean-ablated: the logit difference changes by {ablated('%s', 'mean', %s) - logit_diff(a%d, b%d, p%d):.3f}, "
		      "p({piece(a%d)}) goes to {ablated_prob('%s', 'mean', %s):.4f}\n",
		      nm, m3, i, i, i, i, nm, m2);
	if (!isfinite(ec->zero_delta))
		return;
	if (disagrees(ec)) {
		strbuf_printf(t, "  Here attribution and ablation disagree, by {abs(ablated('%s', 'zero', %s) - logit_diff(a%d, b%d, p%d) + "
			      "dla('%s', p%d, a%d, b%d)):.3f}: removing %s does not just take away what it writes directly. ",
			      nm, m3, i, i, i, nm, i, i, i, nm);
		strbuf_printf(t, "Attribution froze the final norm's scale at {value('ln_final.hook_scale', p%d, 0):.3f}; ablation "
			      "recomputes it%s.\n", i,
			      ec->c.layer < n_layers - 1 ? ", and the later layers, which read its output, recompute too: they can make up for it or build on it" : "");
	} else {
		strbuf_printf(t, "  Here zero ablation agrees with the attribution: the change is within a quarter of minus what %s writes directly.\n", nm);
	}
}

/* Whether answer token i is copied from the prompt, and the head attending to the copy. */
static void copy_text(sb *t, const explain_tok *ti, int i)
{
	char nm[32];
	if (ti->copy_src >= 0) {
		dla_component hc = {DLA_HEAD, ti->ind_layer, ti->ind_head, 0};
		lx_name(&hc, nm, sizeof nm);
		strbuf_printf(t, "\nCopied: {piece(a%d)} stands at position %d after {token(%d)}, the same token as here: the "
			      "model can repeat what followed it before. The head attending most from here to position %d is %s, "
			      "with weight {attn(%d, %d, p%d, %d):.3f}; its induction score on this prompt is "
			      "{head_score('induction', %d, %d):.3f}.",
			      i, ti->copy_src, ti->copy_src - 1, ti->copy_src, nm, ti->ind_layer, ti->ind_head, i,
			      ti->copy_src, ti->ind_layer, ti->ind_head);
	} else {
		strbuf_printf(t, "\nNot a copy: {piece(a%d)} never follows {token(p%d)} earlier in the text.", i, i);
	}
}

static char *build_lesson(const rs_session *s, const explain_result *r, int chat, int vs_given)
{
	const rs_config *c = &s->model->cfg;
	int L = c->n_layers;
	cJSON *root = cJSON_CreateObject();
	cJSON_AddStringToObject(root, "title", "Explain this answer");
	cJSON_AddStringToObject(root, "summary", "How the model arrived at its answer, measured step by step");
	cJSON *vars = cJSON_AddObjectToObject(root, "vars");
	for (int i = 0; i < r->n_answer; i++) {
		char k[16], v[32];
		snprintf(k, sizeof k, "p%d", i);
		snprintf(v, sizeof v, "%d", r->tok[i].pos);
		cJSON_AddStringToObject(vars, k, v);
		snprintf(k, sizeof k, "a%d", i);
		snprintf(v, sizeof v, "%d", r->tok[i].id);
		cJSON_AddStringToObject(vars, k, v);
		snprintf(k, sizeof k, "b%d", i);
		snprintf(v, sizeof v, "%d", r->tok[i].vs);
		cJSON_AddStringToObject(vars, k, v);
	}
	cJSON *steps = cJSON_AddArrayToObject(root, "steps");
	sb t = {0}, k = {0};
	const explain_tok *t0 = &r->tok[0];
	char nm[32], nm2[64];

	/* 1. what the model saw, and what it answered */
	strbuf_printf(&k, "prompt --ids");
	for (int i = 0; i < r->n_ids - 1; i++)
		strbuf_printf(&k, "%s%d", i ? "," : " ", r->ids[i]);
	strbuf_printf(&k, "\nrun all\npos %d\n", t0->pos);
	strbuf_printf(&t, "The model saw %d tokens:\n", r->n_prompt);
	int shown = r->n_prompt <= 48 ? r->n_prompt : 40;
	for (int i = 0; i < shown; i++)
		strbuf_printf(&t, "  %d: {token(%d)}\n", i, i);
	if (shown < r->n_prompt)
		strbuf_printf(&t, "  ... (tokens %d to %d: the tokens pane)\n", shown, r->n_prompt - 1);
	if (chat)
		strbuf_printf(&t, "The chat template wrapped your question: the special tokens (<|...|>) mark who speaks and "
			      "where the answer starts. The model reads them like any other token.\n");
	strbuf_printf(&t, "\nIt answered, one most likely token at a time:");
	for (int i = 0; i < r->n_answer; i++)
		strbuf_printf(&t, " {piece(a%d)}", i);
	strbuf_printf(&t, "%s\n\n", r->ended ? ", then its end token." : " (no end token within the tokens asked for).");
	strbuf_printf(&t, "The session's prompt is now your prompt followed by the answer (but its last token), so one pass "
		      "reads every answer token: the first is predicted at position %d, the next one at %d, and so on. "
		      "A position sees only the tokens up to itself.\n\n:next walks through how the first token came about.",
		      t0->pos, t0->pos + 1);
	add_step(steps, "What the model saw and answered", &t, &k, "tokens topk output", "tokens");

	/* 2. the logit lens of the first token */
	strbuf_printf(&k, "pos %d\nlens %d --target %d\n", t0->pos, t0->pos, t0->id);
	strbuf_printf(&t, "At position %d ({token(p0)}) the model gives {piece(a0)} probability {prob(a0, p0):.4f}; ", t0->pos);
	strbuf_printf(&t, "%s {piece(b0)}, has {prob(b0, p0):.4f}.\n\n", vs_given ? "the token you compare it with," : "the runner-up,");
	strbuf_printf(&t, "The logit lens reads the residual stream at each point through the final norm and the "
		      "unembedding, as if the model stopped there. The rank (from 1) and probability of {piece(a0)}:\n");
	for (int i = 0; i < t0->n_sites; i++) {
		char hn[96];
		hook_name(t0->sites[i], hn, sizeof hn);
		strbuf_printf(&t, "  %-26s rank {lens_rank('%s', a0, p0)}, p {lens_prob('%s', a0, p0):.4f}\n", hn, hn, hn);
	}
	strbuf_printf(&t, "\nIt is first among the top 5 at {lens_first(a0, p0, 5)} and first top-1 at {lens_first(a0, p0)}.");
	strbuf_printf(&t, "\n");
	copy_text(&t, t0, 0);
	add_step(steps, "Token 1: when does the answer appear?", &t, &k, "lens output", "lens");

	/* 3. direct logit attribution */
	strbuf_printf(&k, "dla %d %d --vs %d --top 8\n", t0->pos, t0->id, t0->vs);
	strbuf_printf(&t, "The logit of {piece(a0)} minus that of {piece(b0)} at position %d is {logit_diff(a0, b0, p0):.3f}. "
		      "The final residual is a sum: the embedding, every head's output, every MLP's output. Read each "
		      "along the difference of the two unembedding rows, with the final norm's scale frozen at its value in "
		      "this run ({value('ln_final.hook_scale', p0, 0):.3f}), and they add up to that difference exactly.\n\n",
		      t0->pos);
	strbuf_printf(&t, "  embed: {dla('embed', p0, a0, b0):.3f}\n");
	for (int j = 0; j < t0->n_comp; j++) {
		lx_name(&t0->comp[j].c, nm, sizeof nm);
		strbuf_printf(&t, "  %s: {dla('%s', p0, a0, b0):.3f}\n", nm, nm);
	}
	strbuf_printf(&t, "  everything else together: {logit_diff(a0, b0, p0) - dla('embed', p0, a0, b0)");
	for (int j = 0; j < t0->n_comp; j++)
		strbuf_printf(&t, " - dla('%s', p0, a0, b0)", lx_name(&t0->comp[j].c, nm, sizeof nm));
	strbuf_printf(&t, ":.3f}\n\nThe caveat: the scale is frozen. Attribution says what each part writes directly "
		      "toward the answer, not what would happen without it; the causal check comes after the heads.");
	add_step(steps, "Token 1: who writes the answer? (direct logit attribution)", &t, &k, "topk output", "output");

	/* 4. the top heads: where they look, what they write */
	for (int j = 0; j < t0->n_comp; j++) {
		const explain_comp *ec = &t0->comp[j];
		if (ec->c.kind != DLA_HEAD)
			continue;
		lx_name(&ec->c, nm, sizeof nm);
		strbuf_printf(&k, "layer %d\nhead %d\npos %d\nattn %d %d\n", ec->c.layer, ec->c.head, t0->pos, ec->c.layer,
			      ec->c.head);
		strbuf_printf(&t, "Head %s at position %d puts the most attention on:\n", nm, t0->pos);
		for (int q = 0; q < ec->n_att; q++)
			strbuf_printf(&t, "  position %d {token(%d)}: {attn(%d, %d, p0, %d):.3f}\n", ec->att_pos[q], ec->att_pos[q],
				      ec->c.layer, ec->c.head, ec->att_pos[q]);
		strbuf_printf(&t, "\nWhat it writes: its output alone adds {dla('%s', p0, a0):.3f} to the logit of {piece(a0)} "
			      "(the answer direction, scale frozen) and {dla('%s', p0, a0, b0):.3f} to the difference over "
			      "{piece(b0)}. Read through the unembedding, its output raises most: {head_out(%d, %d, 3, p0)}.",
			      nm, nm, ec->c.layer, ec->c.head);
		snprintf(nm2, sizeof nm2, "Token 1: head %s", nm);
		add_step(steps, nm2, &t, &k, "attn tokens output", "attn");
	}

	/* 5. the causal check */
	strbuf_printf(&k, "pos %d\n", t0->pos);
	/* the first component by hand, so the output pane shows the command (each ablation
	 * reruns the model, and a step shown again replays its commands: one is enough) */
	if (t0->n_comp) {
		ablate_cmd(&k, &t0->comp[0].c, "zero");
		strbuf_printf(&k, "clear all\n");
	}
	strbuf_printf(&t, "Attribution says what a part writes; ablation asks what changes without it. Each part is set "
		      "to zero (or to its mean over the positions), at every position, and everything after it is "
		      "recomputed. The logit difference is {logit_diff(a0, b0, p0):.3f} without ablation. The output pane "
		      "shows the first one done by hand (ablate, then clear all): its effect line is the probability's "
		      "change.\n\n");
	for (int j = 0; j < t0->n_comp; j++)
		ablation_text(&t, &t0->comp[j], 0, L);
	add_step(steps, "Token 1: the causal check (ablation)", &t, &k, "topk output", "output");

	/* 6. the later tokens, shorter */
	for (int i = 1; i < r->n_answer; i++) {
		const explain_tok *ti = &r->tok[i];
		strbuf_printf(&k, "pos %d\nlens %d --target %d\ndla %d %d --vs %d --top 5\n", ti->pos, ti->pos, ti->id, ti->pos,
			      ti->id, ti->vs);
		strbuf_printf(&t, "At position %d ({token(p%d)}) {piece(a%d)} has probability {prob(a%d, p%d):.4f}, the runner-up "
			      "{piece(b%d)} {prob(b%d, p%d):.4f}; the logit difference is {logit_diff(a%d, b%d, p%d):.3f}.\n",
			      ti->pos, i, i, i, i, i, i, i, i, i, i);
		strbuf_printf(&t, "Lens: first among the top 5 at {lens_first(a%d, p%d, 5)}, first top-1 at {lens_first(a%d, p%d)}.\n",
			      i, i, i, i);
		if (ti->n_comp) {
			strbuf_printf(&t, "Largest direct contributions:");
			for (int j = 0; j < ti->n_comp; j++)
				strbuf_printf(&t, "%s %s {dla('%s', p%d, a%d, b%d):.3f}", j ? "," : "",
					      lx_name(&ti->comp[j].c, nm, sizeof nm), nm, i, i, i);
			lx_name(&ti->comp[0].c, nm, sizeof nm);
			strbuf_printf(&t, ". Zero-ablating %s changes the difference by {ablated('%s', 'zero', a%d, b%d, p%d) - "
				      "logit_diff(a%d, b%d, p%d):.3f}.\n", nm, nm, i, i, i, i, i, i);
		}
		copy_text(&t, ti, i);
		char title[64];
		snprintf(title, sizeof title, "Token %d of the answer", i + 1);
		add_step(steps, title, &t, &k, "lens topk output", "lens");
	}

	/* 7. the summary, from the measurements only */
	strbuf_printf(&k, "pos %d\n", t0->pos);
	char where[96];
	strbuf_printf(&t, "{piece(a0)} has probability {prob(a0, p0):.4f} at position %d, {logit_diff(a0, b0, p0):.3f} logits above "
		      "{piece(b0)}.", t0->pos);
	if (t0->first_top1 >= 0) {
		site_words(t0->sites[t0->first_top1], L, where, sizeof where);
		strbuf_printf(&t, " It is top-1 %s ({lens_first(a0, p0)}).", where);
	}
	if (t0->n_comp) {
		const explain_comp *ec = &t0->comp[0];
		lx_name(&ec->c, nm, sizeof nm);
		if (ec->c.kind == DLA_HEAD)
			strbuf_printf(&t, " Head %s", nm);
		else
			strbuf_printf(&t, " The MLP of layer %d (%s)", ec->c.layer, nm);
		strbuf_printf(&t, " adds {dla('%s', p0, a0, b0):.3f} to its logit over {piece(b0)}", nm);
		if (isfinite(ec->zero_delta))
			strbuf_printf(&t, "; ablating it {if(lt(ablated_prob('%s', 'zero', a0, p0), prob(a0, p0)), 'lowers', 'raises')} "
				      "its probability from {prob(a0, p0):.4f} to {ablated_prob('%s', 'zero', a0, p0):.4f}", nm, nm);
		strbuf_printf(&t, ".");
		if (disagrees(ec))
			strbuf_printf(&t, " Its ablation effect ({ablated('%s', 'zero', a0, b0, p0) - logit_diff(a0, b0, p0):.3f}) is not "
				      "minus its attribution: ablation recomputes the final norm's scale%s, which attribution freezes.", nm,
				      ec->c.layer < L - 1 ? " and the later layers" : "");
	}
	if (t0->copy_src >= 0) {
		dla_component hc = {DLA_HEAD, t0->ind_layer, t0->ind_head, 0};
		strbuf_printf(&t, " It is copied from position %d; head %s attends {attn(%d, %d, p0, %d):.3f} to it.", t0->copy_src,
			      lx_name(&hc, nm, sizeof nm), t0->ind_layer, t0->ind_head, t0->copy_src);
	}
	/* the first head among them, when the first was not one */
	for (int j = 1; j < t0->n_comp && t0->comp[0].c.kind != DLA_HEAD; j++) {
		const explain_comp *ec = &t0->comp[j];
		if (ec->c.kind != DLA_HEAD || !ec->n_att)
			continue;
		lx_name(&ec->c, nm, sizeof nm);
		strbuf_printf(&t, " Head %s, attending {attn(%d, %d, p0, %d):.3f} to position %d ({token(%d)}), adds "
			      "{dla('%s', p0, a0, b0):.3f}", nm, ec->c.layer, ec->c.head, ec->att_pos[0], ec->att_pos[0],
			      ec->att_pos[0], nm);
		if (isfinite(ec->zero_delta))
			strbuf_printf(&t, "; ablating it {if(lt(ablated_prob('%s', 'zero', a0, p0), prob(a0, p0)), 'lowers', 'raises')} "
				      "its probability to {ablated_prob('%s', 'zero', a0, p0):.4f}", nm, nm);
		strbuf_printf(&t, ".");
		break;
	}
	for (int i = 1; i < r->n_answer; i++) {
		const explain_tok *ti = &r->tok[i];
		if (ti->copy_src >= 0) {
			dla_component hc = {DLA_HEAD, ti->ind_layer, ti->ind_head, 0};
			strbuf_printf(&t, " {piece(a%d)} (token %d) is copied from position %d; head %s attends {attn(%d, %d, p%d, %d):.3f} to it.",
				      i, i + 1, ti->copy_src, lx_name(&hc, nm, sizeof nm), ti->ind_layer, ti->ind_head, i, ti->copy_src);
		} else if (ti->n_comp) {
			site_words(ti->sites[ti->first_top1 >= 0 ? ti->first_top1 : ti->n_sites - 1], L, where, sizeof where);
			strbuf_printf(&t, " {piece(a%d)} (token %d) is top-1 %s; its largest direct contribution over {piece(b%d)} is %s's, {dla('%s', p%d, a%d, b%d):.3f}.",
				      i, i + 1, where, i, lx_name(&ti->comp[0].c, nm, sizeof nm), nm, i, i, i);
		}
	}
	add_step(steps, "Summary", &t, &k, "tokens lens topk output", "lesson");
	char *json = cJSON_Print(root);
	cJSON_Delete(root);
	return json;
}

/* ---------------------------------------------------------------- walking it */
/* Runs the generated lesson's steps in order with the runner (lesson_run_exec:
 * the same commands and variables a shown step gets), expanding each step's
 * text after its commands, as showing it would: every step's text into all,
 * the last one's into *summary. The lesson shown (r->cur) is put back. */
static int walk(lesson_run *r, rs_session *s, lesson *l, sb *all, char **summary, rs_err *err)
{
	lesson *was = r->cur;
	int rc = 0;
	r->cur = l;
	session_clear_interventions(s); /* the answer and its measurements are the clean model's */
	for (int i = 0; i < l->n_vars && !rc; i++)
		rc = lesson_env_let(r->env, l->var_name[i], l->var_expr[i], err);
	for (int k = 0; k < l->n_steps && !rc; k++) {
		int bad;
		char *text = NULL;
		r->executing++;
		rc = lesson_run_exec(r, s, k, NULL, &bad, err) || lesson_expand(r->env, l->steps[k].text, &text, err);
		r->executing--;
		if (rc) {
			rs_fail_prefix(err, "explain: step %d", k + 1);
		} else {
			strbuf_printf(all, "== %d/%d %s ==\n%s\n\n", k + 1, l->n_steps, l->steps[k].title, text);
			if (k == l->n_steps - 1)
				*summary = rs_xstrdup(text);
		}
		free(text);
	}
	r->cur = was;
	return rc;
}

/* ---------------------------------------------------------------- the command */
typedef struct prog {
	rs_session *s;
	int said;
} prog;

static int stop_cb(void *ctx) { return session_should_stop(ctx); }

/* After the first ablation rerun (timed): how long the rest will take; then
 * how far they are. Said only when the checks take more than a moment. */
static void progress_cb(void *ctx, int done, int total, double est)
{
	prog *p = ctx;
	if (done == 1 && est > 2.0) {
		p->said = 1;
		session_progress(p->s, "explain: one ablation rerun took %.1f s; the %d checks left take about %.0f s (Esc stops)",
				 est / (total - done), total - done, est);
	} else if (p->said) {
		session_progress(p->s, "explain: ablation check %d of %d, about %.0f s left", done, total, est);
	}
}

/* Whether b[0..n) is whole UTF-8 (a token may hold part of a character). */
static int utf8_ok(const unsigned char *b, size_t n)
{
	for (size_t i = 0; i < n;) {
		int k = b[i] < 0x80 ? 0 : (b[i] & 0xE0) == 0xC0 ? 1 : (b[i] & 0xF0) == 0xE0 ? 2 : (b[i] & 0xF8) == 0xF0 ? 3 : -1;
		if (k < 0 || i + (size_t)k >= n)
			return 0;
		for (int j = 1; j <= k; j++)
			if ((b[i + j] & 0xC0) != 0x80)
				return 0;
		i += (size_t)k + 1;
	}
	return 1;
}

/* A token's text for the JSON: its bytes, or \xNN escapes where they are not whole UTF-8. */
static const char *text_of(void *ud, int32_t id)
{
	static char buf[1024];
	const rs_session *s = ud;
	size_t n = 0;
	const char *b = s->tok ? tok_token_bytes(s->tok, id, &n) : NULL;
	if (!b)
		return NULL;
	if (n < sizeof buf && utf8_ok((const unsigned char *)b, n) && !memchr(b, 0, n)) {
		memcpy(buf, b, n);
		buf[n] = 0;
		return buf;
	}
	size_t o = 0;
	for (size_t i = 0; i < n && o + 5 < sizeof buf; i++)
		o += (size_t)snprintf(buf + o, sizeof buf - o, (unsigned char)b[i] >= 0x80 || !b[i] ? "\\x%02x" : "%c",
				      (unsigned char)b[i]);
	buf[o] = 0;
	return buf;
}

cmd_status lesson_explain_command(rs_session *s, int argc, char **argv, rs_err *err)
{
	const char *name = argv[0];
	int miss = 0, as_json = 0, chat = 0, n = 0;
	const char *vs = NULL;
	for (int i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--json"))
			as_json = 1;
		else if (!strcmp(argv[i], "--chat"))
			chat = 1;
		else if (!strcmp(argv[i], "--vs")) {
			if (i + 1 >= argc)
				miss = 1;
			else
				vs = argv[++i];
		} else if (argv[i][0] != '-' && strspn(argv[i], "0123456789") == strlen(argv[i]) && !n) {
			n = atoi(argv[i]);
			if (n < 1 || n > 64) {
				snprintf(err->msg, sizeof err->msg, "%s: N is 1 to 64 answer tokens", name);
				return CMD_ERROR;
			}
		} else {
			snprintf(err->msg, sizeof err->msg, "%s: unknown argument '%.40s' (usage: explain [N] [--vs TOKEN] [--json])",
				 name, argv[i]);
			return CMD_ERROR;
		}
	}
	if (miss) {
		snprintf(err->msg, sizeof err->msg, "%s: --vs needs a token", name);
		return CMD_ERROR;
	}
	if (!s->n_ids) {
		snprintf(err->msg, sizeof err->msg, "%s: there is no prompt yet (prompt TEXT, then explain)", name);
		return CMD_ERROR;
	}
	int n_iv = eng_n_interventions(s->eng);
	lesson_run *r = lesson_run_get_any(s, err);
	if (!r)
		return CMD_ERROR;
	if (chat && s->prompt && s->tok) {
		/* the prompt's text as a user turn of the chat template (ids given directly are taken as rendered) */
		tok_chat_msg msg = {"user", s->prompt};
		int32_t *cids = NULL;
		int cn = 0;
		if (tok_chat_render(s->tok, TOK_CHAT_LLAMA31, &msg, 1, 1, NULL, &cids, NULL, &cn, NULL, err)) {
			rs_fail_prefix(err, "%s --chat", name);
			return CMD_ERROR;
		}
		int bad = session_set_ids(s, cids, cn, err);
		free(cids);
		if (bad)
			return CMD_ERROR;
	}
	explain_opts o = {.n_max = n, .stop1 = s->tok ? tok_eos(s->tok) : s->model->cfg.eos_id,
			  .stop2 = s->tok ? tok_eot(s->tok) : -1, .vs = -1, .stop = stop_cb, .stop_ctx = s};
	if (vs) {
		lx_val v = lx_str(vs);
		int32_t id;
		/* a number is an id, else text that is one token (as the placeholders take them) */
		const char *num = vs[0] == '#' ? vs + 1 : vs;
		if (*num && strspn(num, "0123456789") == strlen(num)) {
			lx_val_free(&v);
			v = lx_num(atof(num));
		}
		int bad = lx_arg_tok(r->env, &v, &id, err);
		lx_val_free(&v);
		if (bad) {
			rs_fail_prefix(err, "%s: --vs", name);
			return CMD_ERROR;
		}
		o.vs = id;
	}
	prog pg = {s, 0};
	o.progress = progress_cb;
	o.progress_ctx = &pg;
	explain_result *res = explain_run(s->model, s->ids, s->n_ids, &o, err);
	if (!res)
		return CMD_ERROR;
	if (res->stopped) {
		snprintf(err->msg, sizeof err->msg, "%s: stopped by a key during the ablation checks", name);
		explain_free(res);
		return CMD_ERROR;
	}
	if (o.vs >= 0 && o.vs == res->tok[0].id) {
		snprintf(err->msg, sizeof err->msg, "%s: --vs names the answer itself", name);
		explain_free(res);
		return CMD_ERROR;
	}
	/* the walk's ablation placeholders read these measurements instead of rerunning them */
	for (int i = 0; i < res->n_answer; i++) {
		const explain_tok *t = &res->tok[i];
		interp_metric mt = {t->pos, t->id, t->vs};
		for (int j = 0; j < t->n_comp; j++) {
			const explain_comp *ec = &t->comp[j];
			for (int mean = 0; mean < 2; mean++) {
				abl_target at = {ec->c.kind == DLA_HEAD ? ABL_HEAD : ABL_MLP, ec->c.layer, ec->c.head, -1, mean};
				float dl = mean ? ec->mean_delta : ec->zero_delta;
				abl_result ar = {t->logit_diff, t->logit_diff + dl, dl, t->p, mean ? ec->p_mean : ec->p_zero};
				lx_abl_memo_put(r->env, s->model, res->ids, res->n_ids - 1, &at, &mt, &ar);
			}
		}
	}
	char *json = build_lesson(s, res, chat, vs != NULL);
	lesson_diags d = {0};
	lesson *l = lesson_load_text("00-explain.json", json, &d);
	free(json);
	if (!l) {
		snprintf(err->msg, sizeof err->msg, "%s: the generated lesson does not load: %s", name, d.n ? d.msg[0] : "?");
		lesson_diags_free(&d);
		explain_free(res);
		return CMD_ERROR;
	}
	lesson_diags_free(&d);
	/* the generated lesson stays with the runner until the next explain */
	int nested = r->executing > 0; /* run by a lesson's step (lesson 14): print, do not open */
	if (!nested && r->cur && r->cur == r->generated)
		lesson_run_leave(r, s);
	if (!nested) {
		lesson_free(r->generated);
		r->generated = l;
	}
	sb all = {0};
	char *summary = NULL;
	int rc = walk(r, s, l, &all, &summary, err);
	if (!rc && !nested && !as_json)
		rc = lesson_run_start(r, s, l, 1, err);
	if (nested)
		lesson_free(l);
	if (rc) {
		free(summary);
		strbuf_free(&all);
		explain_free(res);
		return CMD_ERROR;
	}
	session_clear_output(s);
	if (as_json) {
		cJSON *j = interp_explain_to_json(res, text_of, s);
		cJSON_AddStringToObject(j, "summary", summary ? summary : "");
		char *txt = cJSON_Print(j);
		session_printf(s, "%s\n", txt);
		free(txt);
		cJSON_Delete(j);
	} else if (!s->interrupt || nested) {
		if (n_iv)
			session_printf(s, "(explain cleared the %d intervention%s in effect: it explains the model as it is)\n\n",
				       n_iv, n_iv > 1 ? "s" : "");
		session_printf(s, "%s", all.p ? all.p : "");
	} else {
		session_printf(s, "%s\n\n(the walk is in the lesson pane: :next steps through it)\n", summary ? summary : "");
	}
	free(summary);
	strbuf_free(&all);
	explain_free(res);
	return CMD_OK;
}
