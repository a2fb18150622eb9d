/* json.c - every interp result as cJSON, for `residual ... --json` and lessons.
 * Grids are arrays of rows ([layer][head] or [layer][position]); numbers that
 * are undefined (NaN: no repeated token, no logit difference) become null. */
#include "config.h"
#include "interp.h"

#include <cJSON.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

static void add_num(cJSON *o, const char *key, double v)
{
	if (isfinite(v))
		cJSON_AddNumberToObject(o, key, v);
	else
		cJSON_AddNullToObject(o, key);
}

static cJSON *num(double v)
{
	return isfinite(v) ? cJSON_CreateNumber(v) : cJSON_CreateNull();
}

/* rows × cols floats as an array of arrays */
cJSON *interp_json_grid(const float *v, int rows, int cols)
{
	cJSON *a = cJSON_CreateArray();
	for (int r = 0; r < rows; r++) {
		cJSON *row = cJSON_CreateArray();
		for (int c = 0; c < cols; c++)
			cJSON_AddItemToArray(row, num(v[(size_t)r * cols + c]));
		cJSON_AddItemToArray(a, row);
	}
	return a;
}

/* {"tok": id, "text": "..."} (text only when the callback gives one) */
static cJSON *token(int32_t id, interp_tok_text text, void *ud)
{
	cJSON *o = cJSON_CreateObject();
	cJSON_AddNumberToObject(o, "tok", id);
	const char *s = text ? text(ud, id) : NULL;
	if (s)
		cJSON_AddStringToObject(o, "text", s);
	return o;
}

cJSON *interp_metric_to_json(const interp_metric *mt)
{
	cJSON *o = cJSON_CreateObject();
	cJSON_AddStringToObject(o, "kind", mt->tok_b >= 0 ? "logit_diff" : "logit");
	cJSON_AddNumberToObject(o, "pos", mt->pos);
	cJSON_AddNumberToObject(o, "tok", mt->tok);
	if (mt->tok_b >= 0)
		cJSON_AddNumberToObject(o, "tok_b", mt->tok_b);
	return o;
}

cJSON *interp_lens_to_json(const lens_result *r, interp_tok_text text, void *ud)
{
	char name[96];
	cJSON *o = cJSON_CreateObject();
	cJSON *sites = cJSON_AddArrayToObject(o, "sites");
	for (int s = 0; s < r->n_sites; s++)
		cJSON_AddItemToArray(sites, cJSON_CreateString(hook_name(r->sites[s], name, sizeof name)));
	cJSON *pos = cJSON_AddArrayToObject(o, "positions");
	cJSON *tg = cJSON_AddArrayToObject(o, "targets");
	for (int i = 0; i < r->n_pos; i++) {
		cJSON_AddItemToArray(pos, cJSON_CreateNumber(r->positions[i]));
		cJSON_AddItemToArray(tg, token(r->targets[i], text, ud));
	}
	cJSON_AddNumberToObject(o, "top_k", r->top_k);
	cJSON *cells = cJSON_AddArrayToObject(o, "cells"); /* [site][position] */
	for (int s = 0; s < r->n_sites; s++) {
		cJSON *row = cJSON_CreateArray();
		for (int i = 0; i < r->n_pos; i++) {
			int64_t c = lens_cell(r, s, i);
			cJSON *cell = cJSON_CreateObject();
			cJSON *top = cJSON_AddArrayToObject(cell, "top");
			for (int j = 0; j < r->top_k; j++) {
				cJSON *t = token(r->top_ids[c * r->top_k + j], text, ud);
				add_num(t, "prob", r->top_probs[c * r->top_k + j]);
				add_num(t, "logit", r->top_logits[c * r->top_k + j]);
				cJSON_AddItemToArray(top, t);
			}
			cJSON *t = cJSON_AddObjectToObject(cell, "target");
			add_num(t, "logit", r->target_logit[c]);
			add_num(t, "prob", r->target_prob[c]);
			cJSON_AddNumberToObject(t, "rank", r->target_rank[c]);
			add_num(cell, "kl", r->kl[c]);
			add_num(cell, "entropy", r->entropy[c]);
			cJSON_AddItemToArray(row, cell);
		}
		cJSON_AddItemToArray(cells, row);
	}
	return o;
}

cJSON *interp_dla_to_json(const dla_result *r, int top)
{
	char name[32];
	cJSON *o = cJSON_CreateObject();
	cJSON_AddNumberToObject(o, "pos", r->pos);
	cJSON_AddNumberToObject(o, "tok", r->tok);
	if (r->tok_b >= 0)
		cJSON_AddNumberToObject(o, "tok_b", r->tok_b);
	add_num(o, "scale", r->scale);
	add_num(o, "logit", r->logit);
	add_num(o, "total", r->total);
	add_num(o, "remainder", r->remainder);
	/* largest value first; with top, the `top` largest in size, still in that order */
	float cut = -1;
	if (top > 0 && top < r->n) {
		float *mag = rs_xmalloc(sizeof(float) * (size_t)r->n);
		int32_t *idx = rs_xmalloc(sizeof(int32_t) * (size_t)top);
		for (int i = 0; i < r->n; i++)
			mag[i] = fabsf(r->comp[i].value);
		vec_topk(mag, r->n, top, 0, idx);
		cut = mag[idx[top - 1]];
		free(mag);
		free(idx);
	}
	cJSON *a = cJSON_AddArrayToObject(o, "components");
	int shown = 0;
	for (int i = 0; i < r->n && (top <= 0 || shown < top); i++) {
		const dla_component *c = &r->comp[r->order[i]];
		if (fabsf(c->value) < cut)
			continue;
		cJSON *x = cJSON_CreateObject();
		cJSON_AddStringToObject(x, "name", dla_component_name(c, name, sizeof name));
		cJSON_AddStringToObject(x, "kind", c->kind == DLA_EMBED ? "embed" : c->kind == DLA_HEAD ? "head" : "mlp");
		cJSON_AddNumberToObject(x, "layer", c->layer);
		if (c->kind == DLA_HEAD)
			cJSON_AddNumberToObject(x, "head", c->head);
		add_num(x, "value", c->value);
		cJSON_AddItemToArray(a, x);
		shown++;
	}
	return o;
}

cJSON *interp_heads_to_json(const head_scores *s)
{
	cJSON *o = cJSON_CreateObject();
	cJSON_AddNumberToObject(o, "n_layers", s->n_layers);
	cJSON_AddNumberToObject(o, "n_heads", s->n_heads);
	cJSON_AddNumberToObject(o, "tokens", s->T);
	cJSON_AddItemToObject(o, "prev", interp_json_grid(s->prev, s->n_layers, s->n_heads));
	cJSON_AddItemToObject(o, "dup", interp_json_grid(s->dup, s->n_layers, s->n_heads));
	cJSON_AddItemToObject(o, "induction", interp_json_grid(s->induction, s->n_layers, s->n_heads));
	cJSON_AddItemToObject(o, "first", interp_json_grid(s->first, s->n_layers, s->n_heads));
	cJSON_AddItemToObject(o, "entropy", interp_json_grid(s->entropy, s->n_layers, s->n_heads));
	return o;
}

cJSON *interp_rep_to_json(const rep_result *r, interp_tok_text text, void *ud)
{
	cJSON *o = cJSON_CreateObject();
	cJSON_AddNumberToObject(o, "n", r->n);
	cJSON_AddBoolToObject(o, "bos", r->bos);
	cJSON *t = cJSON_AddArrayToObject(o, "tokens");
	for (int i = 0; i < r->T; i++)
		cJSON_AddItemToArray(t, token(r->tokens[i], text, ud));
	cJSON *loss = cJSON_AddArrayToObject(o, "loss"); /* [T-1]: predicting token t+1 at t */
	for (int i = 0; i + 1 < r->T; i++)
		cJSON_AddItemToArray(loss, num(r->loss[i]));
	add_num(o, "loss_first", r->loss_first);
	add_num(o, "loss_second", r->loss_second);
	cJSON_AddItemToObject(o, "scores", interp_heads_to_json(r->scores));
	return o;
}

static const char *site_name(int site)
{
	static const char *const names[] = {[ABL_HEAD] = "head", [ABL_NEURON] = "neuron", [ABL_ATTN] = "attn",
					    [ABL_MLP] = "mlp"};
	return site >= ABL_HEAD && site <= ABL_MLP ? names[site] : "?";
}

cJSON *interp_abl_to_json(const abl_result *r, const abl_target *t, int n_t, const interp_metric *mt)
{
	cJSON *o = cJSON_CreateObject();
	cJSON_AddItemToObject(o, "metric", interp_metric_to_json(mt));
	cJSON *a = cJSON_AddArrayToObject(o, "targets");
	for (int i = 0; i < n_t; i++) {
		cJSON *x = cJSON_CreateObject();
		cJSON_AddStringToObject(x, "site", site_name(t[i].site));
		cJSON_AddNumberToObject(x, "layer", t[i].layer);
		if (t[i].site == ABL_HEAD || t[i].site == ABL_NEURON)
			cJSON_AddNumberToObject(x, "index", t[i].index);
		cJSON_AddNumberToObject(x, "pos", t[i].pos);
		cJSON_AddStringToObject(x, "ablation", t[i].mean ? "mean" : "zero");
		cJSON_AddItemToArray(a, x);
	}
	add_num(o, "base", r->base);
	add_num(o, "ablated", r->ablated);
	add_num(o, "delta", r->delta);
	return o;
}

cJSON *interp_abl_sweep_to_json(const abl_sweep *s, const interp_metric *mt)
{
	cJSON *o = cJSON_CreateObject();
	cJSON_AddItemToObject(o, "metric", interp_metric_to_json(mt));
	cJSON_AddStringToObject(o, "site", site_name(s->site));
	cJSON_AddStringToObject(o, "ablation", s->mean ? "mean" : "zero");
	cJSON_AddNumberToObject(o, "rows", s->rows);
	cJSON_AddNumberToObject(o, "cols", s->cols);
	add_num(o, "base", s->base);
	cJSON_AddItemToObject(o, "value", interp_json_grid(s->value, s->rows, s->cols));
	cJSON_AddItemToObject(o, "delta", interp_json_grid(s->delta, s->rows, s->cols));
	add_num(o, "seconds", s->seconds);
	return o;
}

cJSON *interp_patch_sweep_to_json(const patch_sweep *s, const interp_metric *mt)
{
	cJSON *o = cJSON_CreateObject();
	cJSON_AddItemToObject(o, "metric", interp_metric_to_json(mt));
	cJSON_AddStringToObject(o, "hook", hook_kind_name(s->kind));
	cJSON_AddStringToObject(o, "by", s->cols_are_heads ? "head" : "position");
	if (s->cols_are_heads)
		cJSON_AddNumberToObject(o, "pos", s->pos);
	cJSON_AddNumberToObject(o, "rows", s->rows);
	cJSON_AddNumberToObject(o, "cols", s->cols);
	add_num(o, "clean", s->clean);
	add_num(o, "corrupt", s->corrupt);
	cJSON_AddItemToObject(o, "value", interp_json_grid(s->value, s->rows, s->cols));
	cJSON_AddItemToObject(o, "normalised", interp_json_grid(s->norm, s->rows, s->cols));
	add_num(o, "seconds", s->seconds);
	return o;
}

cJSON *interp_patch_to_json(const patch_ctx *p, const rs_hook *h, int head, int pos, float metric,
			    const interp_metric *mt)
{
	char name[96];
	cJSON *o = cJSON_CreateObject();
	cJSON_AddItemToObject(o, "metric", interp_metric_to_json(mt));
	if (h)
		cJSON_AddStringToObject(o, "hook", hook_name(*h, name, sizeof name));
	else
		cJSON_AddNullToObject(o, "hook");
	cJSON_AddNumberToObject(o, "head", head);
	cJSON_AddNumberToObject(o, "pos", pos);
	add_num(o, "clean", patch_clean_metric(p));
	add_num(o, "corrupt", patch_corrupt_metric(p));
	add_num(o, "value", metric);
	add_num(o, "normalised", patch_normalise(p, metric));
	return o;
}

/* {"id": id, "text": "..."} (explain's form) */
static cJSON *id_text(int32_t id, interp_tok_text text, void *ud)
{
	cJSON *o = cJSON_CreateObject();
	cJSON_AddNumberToObject(o, "id", id);
	const char *s = text ? text(ud, id) : NULL;
	cJSON_AddStringToObject(o, "text", s ? s : "");
	return o;
}

static cJSON *hook_or_null(const explain_tok *t, int site)
{
	char name[96];
	return site < 0 ? cJSON_CreateNull() : cJSON_CreateString(hook_name(t->sites[site], name, sizeof name));
}

cJSON *interp_explain_to_json(const explain_result *r, interp_tok_text text, void *ud)
{
	cJSON *o = cJSON_CreateObject(), *pt = cJSON_AddArrayToObject(o, "prompt_tokens");
	for (int i = 0; i < r->n_prompt; i++)
		cJSON_AddItemToArray(pt, id_text(r->ids[i], text, ud));
	cJSON *ans = cJSON_AddArrayToObject(o, "answer");
	for (int i = 0; i < r->n_answer; i++) {
		const explain_tok *t = &r->tok[i];
		cJSON *a = id_text(t->id, text, ud);
		cJSON_AddNumberToObject(a, "pos", t->pos);
		add_num(a, "p", t->p);
		cJSON *vs = id_text(t->vs, text, ud);
		add_num(vs, "p", t->p_vs);
		cJSON_AddItemToObject(a, "vs", vs);
		add_num(a, "logit_diff", t->logit_diff);
		cJSON *lens = cJSON_AddArrayToObject(a, "lens");
		for (int k = 0; k < t->n_sites; k++) {
			char name[96];
			cJSON *c = cJSON_CreateObject();
			cJSON_AddStringToObject(c, "hook", hook_name(t->sites[k], name, sizeof name));
			cJSON_AddNumberToObject(c, "rank", t->rank[k]);
			add_num(c, "p", t->prob[k]);
			cJSON_AddItemToArray(lens, c);
		}
		cJSON_AddItemToObject(a, "first_top1", hook_or_null(t, t->first_top1));
		cJSON_AddItemToObject(a, "first_top5", hook_or_null(t, t->first_top5));
		add_num(a, "embed", t->embed);
		add_num(a, "dla_rest", t->rest);
		add_num(a, "scale", t->scale);
		cJSON *comps = cJSON_AddArrayToObject(a, "components");
		for (int k = 0; k < t->n_comp; k++) {
			const explain_comp *ec = &t->comp[k];
			char name[32];
			cJSON *c = cJSON_CreateObject();
			cJSON_AddStringToObject(c, "name", explain_comp_name(&ec->c, name, sizeof name));
			add_num(c, "dla", ec->c.value);
			add_num(c, "dla_answer", ec->dla_answer);
			add_num(c, "ablate_zero_delta", ec->zero_delta);
			add_num(c, "ablate_mean_delta", ec->mean_delta);
			add_num(c, "p_zero", ec->p_zero);
			add_num(c, "p_mean", ec->p_mean);
			cJSON *at = cJSON_AddArrayToObject(c, "attends");
			for (int j = 0; j < ec->n_att; j++) {
				cJSON *w = cJSON_CreateObject();
				cJSON_AddNumberToObject(w, "pos", ec->att_pos[j]);
				add_num(w, "w", ec->att_w[j]);
				cJSON_AddItemToArray(at, w);
			}
			cJSON *pr = cJSON_AddArrayToObject(c, "promotes");
			for (int j = 0; j < ec->n_prom; j++)
				cJSON_AddItemToArray(pr, id_text(ec->prom[j], text, ud));
			cJSON_AddItemToArray(comps, c);
		}
		/* the embedding last: with the components and dla_rest it makes up logit_diff */
		cJSON *e = cJSON_CreateObject();
		cJSON_AddStringToObject(e, "name", "embed");
		add_num(e, "dla", t->embed);
		cJSON_AddNullToObject(e, "ablate_zero_delta");
		cJSON_AddNullToObject(e, "ablate_mean_delta");
		cJSON_AddArrayToObject(e, "attends");
		cJSON_AddItemToArray(comps, e);
		if (t->copy_src >= 0) {
			cJSON *cp = cJSON_AddObjectToObject(a, "copied");
			cJSON_AddNumberToObject(cp, "from_pos", t->copy_src);
			char name[32];
			dla_component hc = {DLA_HEAD, t->ind_layer, t->ind_head, 0};
			cJSON_AddStringToObject(cp, "head", explain_comp_name(&hc, name, sizeof name));
			add_num(cp, "attn", t->ind_attn);
			add_num(cp, "induction", t->ind_score);
		} else {
			cJSON_AddNullToObject(a, "copied");
		}
		cJSON_AddItemToArray(ans, a);
	}
	cJSON_AddBoolToObject(o, "ended", r->ended);
	cJSON_AddBoolToObject(o, "stopped", r->stopped);
	return o;
}
