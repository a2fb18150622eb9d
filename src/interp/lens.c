/* lens.c - the logit lens: any point of the residual stream read as if it were
 * the last, through the final RMSNorm (with that vector's own scale, as the
 * logit lens does) and the unembedding. */
#include "config.h"
#include "interp.h"
#include "ops.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

void lens_apply(const rs_model *m, const float *x, int n, float *out)
{
	const rs_config *c = &m->cfg;
	int d = c->d_model;
	float *xn = rs_xmalloc(sizeof(float) * (size_t)n * d); /* [n, d] */
	for (int t = 0; t < n; t++) {
		/* the same arithmetic as the engine's ln_final, so the last layer's
		 * residual gives the model's logits to the bit */
		const float *row = x + (size_t)t * d;
		double ss = 0;
		for (int i = 0; i < d; i++)
			ss += (double)row[i] * row[i];
		float inv = 1.0f / sqrtf((float)(ss / d) + c->rms_eps);
		for (int i = 0; i < d; i++)
			xn[(size_t)t * d + i] = row[i] * inv * m->final_norm[i];
	}
	op_matmul(out, xn, &m->output, n);
	free(xn);
}

/* Whether a hook holds d_model-wide rows that the lens can read. */
static int lens_site_ok(const rs_model *m, rs_hook h)
{
	rs_act sh = eng_hook_shape(m, h, 1, 1);
	return h.kind != HOOK_LOGITS && sh.n_dims == 2 && sh.shape[1] == m->cfg.d_model;
}

int lens_logits(const rs_engine *e, rs_hook site, int pos, float *out, rs_err *err)
{
	const rs_model *m = eng_model(e);
	char name[96];
	if (!lens_site_ok(m, site))
		return rs_fail(err, "logit lens: %s is not a residual-stream vector", hook_name(site, name, sizeof name));
	const rs_act *a = interp_need(e, site.kind, site.layer, err);
	if (!a)
		return -1;
	if (pos < 0 || pos >= a->shape[0])
		return rs_fail(err, "logit lens: position %d is outside the prompt (%d tokens)", pos, a->shape[0]);
	lens_apply(m, a->data + (size_t)pos * m->cfg.d_model, 1, out);
	return 0;
}

/* The sites in forward order for a mask of LENS_* bits. */
static int lens_sites(int n_layers, unsigned mask, rs_hook *out)
{
	int n = 0;
	if (!mask) {
		for (int l = 0; l < n_layers; l++) {
			out[n++] = (rs_hook){HOOK_RESID_PRE, l};
			out[n++] = (rs_hook){HOOK_RESID_MID, l};
		}
		out[n++] = (rs_hook){HOOK_RESID_POST, n_layers - 1};
		return n;
	}
	static const struct { unsigned bit; int kind; } order[] = {
		{LENS_RESID_PRE, HOOK_RESID_PRE}, {LENS_ATTN_OUT, HOOK_ATTN_OUT}, {LENS_RESID_MID, HOOK_RESID_MID},
		{LENS_MLP_OUT, HOOK_MLP_OUT}, {LENS_RESID_POST, HOOK_RESID_POST},
	};
	for (int l = 0; l < n_layers; l++)
		for (size_t i = 0; i < sizeof order / sizeof *order; i++)
			if (mask & order[i].bit)
				out[n++] = (rs_hook){order[i].kind, l};
	return n;
}

void lens_free(lens_result *r)
{
	if (!r)
		return;
	free(r->sites);
	free(r->positions);
	free(r->targets);
	free(r->top_ids);
	free(r->top_probs);
	free(r->top_logits);
	free(r->target_logit);
	free(r->target_prob);
	free(r->target_rank);
	free(r->kl);
	free(r->entropy);
	free(r);
}

/* The final log-probabilities at the chosen positions, logp[n_pos, V]: the
 * run's logits where they were kept, else the lens at the last layer (the
 * same numbers unless an intervention edits ln_final or the logits). */
static int final_logp(const rs_engine *e, const int *positions, int n_pos, float *logp, rs_err *err)
{
	const rs_model *m = eng_model(e);
	int V = m->cfg.vocab, d = m->cfg.d_model, T = eng_n_tokens(e);
	const rs_act *lg = eng_act(e, (rs_hook){HOOK_LOGITS, -1});
	const rs_act *post = NULL;
	for (int i = 0; i < n_pos; i++) {
		float *row = logp + (size_t)i * V;
		int p = positions[i];
		if (lg && (lg->shape[0] == T || p == T - 1)) {
			memcpy(row, lg->data + (size_t)(lg->shape[0] == T ? p : 0) * V, sizeof(float) * (size_t)V);
		} else {
			if (!post && !(post = interp_need(e, HOOK_RESID_POST, m->cfg.n_layers - 1, err)))
				return -1;
			lens_apply(m, post->data + (size_t)p * d, 1, row);
		}
		double lse = vec_softmax(row, V, NULL);
		for (int v = 0; v < V; v++)
			row[v] = (float)(row[v] - lse);
	}
	return 0;
}

lens_result *lens_run(const rs_engine *e, const lens_opts *o, rs_err *err)
{
	const rs_model *m = eng_model(e);
	const rs_config *c = &m->cfg;
	lens_opts def = {0, -1, 5, LENS_TARGET_FINAL, 0};
	if (!o)
		o = &def;
	int T = eng_n_tokens(e), V = c->vocab, d = c->d_model, k = o->top_k > 0 ? o->top_k : 5;
	if (!T) {
		rs_fail(err, "logit lens: no prompt has been run");
		return NULL;
	}
	if (o->pos < -1 || o->pos >= T) {
		rs_fail(err, "logit lens: position %d is outside the prompt (%d tokens)", o->pos, T);
		return NULL;
	}
	if (o->target < LENS_TARGET_FINAL || o->target > LENS_TARGET_TOKEN) {
		rs_fail(err, "logit lens: unknown target kind %d", o->target);
		return NULL;
	}
	if (o->target == LENS_TARGET_TOKEN && (o->token < 0 || o->token >= V)) {
		rs_fail(err, "logit lens: token %d is outside the vocabulary (%d)", o->token, V);
		return NULL;
	}
	if (k > V)
		k = V;
	lens_result *r = rs_xcalloc(1, sizeof *r);
	r->sites = rs_xmalloc(sizeof(rs_hook) * (size_t)(c->n_layers * 5 + 1));
	r->n_sites = lens_sites(c->n_layers, o->sites, r->sites);
	r->n_pos = o->pos < 0 ? T : 1;
	r->top_k = k;
	r->vocab = V;
	r->positions = rs_xmalloc(sizeof(int) * (size_t)r->n_pos);
	for (int i = 0; i < r->n_pos; i++)
		r->positions[i] = o->pos < 0 ? i : o->pos;
	int64_t cells = (int64_t)r->n_sites * r->n_pos;
	r->targets = rs_xmalloc(sizeof(int32_t) * (size_t)r->n_pos);
	r->top_ids = rs_xmalloc(sizeof(int32_t) * (size_t)(cells * k));
	r->top_probs = rs_xmalloc(sizeof(float) * (size_t)(cells * k));
	r->top_logits = rs_xmalloc(sizeof(float) * (size_t)(cells * k));
	r->target_logit = rs_xmalloc(sizeof(float) * (size_t)cells);
	r->target_prob = rs_xmalloc(sizeof(float) * (size_t)cells);
	r->target_rank = rs_xmalloc(sizeof(int) * (size_t)cells);
	r->kl = rs_xmalloc(sizeof(float) * (size_t)cells);
	r->entropy = rs_xmalloc(sizeof(float) * (size_t)cells);

	float *flp = rs_xmalloc(sizeof(float) * (size_t)r->n_pos * V);   /* [n_pos, V] final log-probs */
	float *fp = rs_xmalloc(sizeof(float) * (size_t)r->n_pos * V);    /* [n_pos, V] final probs */
	float *x = rs_xmalloc(sizeof(float) * (size_t)r->n_pos * d);     /* [n_pos, d] */
	float *lg = rs_xmalloc(sizeof(float) * (size_t)r->n_pos * V);    /* [n_pos, V] lens logits */
	const int32_t *ids = eng_tokens(e);
	if (final_logp(e, r->positions, r->n_pos, flp, err))
		goto fail;
	for (int64_t i = 0; i < (int64_t)r->n_pos * V; i++)
		fp[i] = expf(flp[i]);
	for (int i = 0; i < r->n_pos; i++) {
		int p = r->positions[i];
		int32_t best;
		vec_topk(flp + (size_t)i * V, V, 1, 0, &best);
		r->targets[i] = o->target == LENS_TARGET_TOKEN ? o->token
			: o->target == LENS_TARGET_NEXT && p + 1 < T ? ids[p + 1] : best;
	}
	for (int s = 0; s < r->n_sites; s++) {
		const rs_act *a = interp_need(e, r->sites[s].kind, r->sites[s].layer, err);
		if (!a)
			goto fail;
		for (int i = 0; i < r->n_pos; i++)
			memcpy(x + (size_t)i * d, a->data + (size_t)r->positions[i] * d, sizeof(float) * (size_t)d);
		lens_apply(m, x, r->n_pos, lg);
		for (int i = 0; i < r->n_pos; i++) {
			const float *l = lg + (size_t)i * V, *f = flp + (size_t)i * V, *pf = fp + (size_t)i * V;
			int64_t cell = lens_cell(r, s, i);
			double lse = vec_softmax(l, V, NULL), kl = 0, ent = 0;
			for (int v = 0; v < V; v++) {
				double lp = l[v] - lse, pl = exp(lp);
				kl += pf[v] > 0 ? pf[v] * (f[v] - lp) : 0;
				ent -= pl > 0 ? pl * lp : 0;
			}
			r->kl[cell] = (float)kl;
			r->entropy[cell] = (float)ent;
			int32_t *top = r->top_ids + cell * k;
			vec_topk(l, V, k, 0, top);
			for (int j = 0; j < k; j++) {
				r->top_logits[cell * k + j] = l[top[j]];
				r->top_probs[cell * k + j] = (float)exp(l[top[j]] - lse);
			}
			int32_t tg = r->targets[i];
			r->target_logit[cell] = l[tg];
			r->target_prob[cell] = (float)exp(l[tg] - lse);
			r->target_rank[cell] = interp_rank(l, V, tg) + 1; /* ranks count from 1 */
		}
	}
	free(flp);
	free(fp);
	free(x);
	free(lg);
	return r;
fail:
	free(flp);
	free(fp);
	free(x);
	free(lg);
	lens_free(r);
	return NULL;
}

/* ---------------------------------------------------------------- a slice at a time */
#define LENS_TOP_POS 256 /* positions per lens_apply */

void lens_top_begin(lens_top *lt, int T)
{
	if (lt->T != T || !lt->max) {
		lens_top_free(lt);
		lt->T = T;
		lt->max = rs_xmalloc(sizeof *lt->max * (size_t)T);
		lt->sum = rs_xmalloc(sizeof *lt->sum * (size_t)T);
		lt->top = rs_xmalloc(sizeof *lt->top * (size_t)T);
		lt->prob = rs_xmalloc(sizeof *lt->prob * (size_t)T);
	}
	for (int p = 0; p < T; p++) {
		lt->max[p] = -INFINITY;
		lt->sum[p] = 0;
		lt->top[p] = 0;
	}
	lt->row = 0;
}

int lens_top_step(lens_top *lt, const rs_model *m, const float *x, int64_t rows)
{
	int T = lt->T, d = m->cfg.d_model;
	int64_t r0 = lt->row, V = m->output.rows;
	int64_t nr = V - r0 < rows ? V - r0 : rows;
	/* the same model with its unembedding cut to rows [r0, r0+nr) */
	rs_model part = *m;
	part.output.data = (const char *)m->output.data + (size_t)r0 * m->output.row_bytes;
	part.output.rows = nr;
	int np = T < LENS_TOP_POS ? T : LENS_TOP_POS;
	float *y = rs_xmalloc(sizeof(float) * (size_t)np * (size_t)nr);
	for (int p0 = 0; p0 < T; p0 += np) {
		int n = T - p0 < np ? T - p0 : np;
		lens_apply(&part, x + (int64_t)p0 * d, n, y);
		for (int t = 0; t < n; t++) {
			const float *row = y + (int64_t)t * nr;
			int p = p0 + t;
			float mx = lt->max[p];
			int32_t arg = lt->top[p];
			for (int64_t i = 0; i < nr; i++)
				if (row[i] > mx)
					mx = row[i], arg = (int32_t)(r0 + i);
			double sum = lt->sum[p] * exp((double)lt->max[p] - mx);
			for (int64_t i = 0; i < nr; i++)
				sum += exp((double)(row[i] - mx));
			lt->max[p] = mx;
			lt->sum[p] = sum;
			lt->top[p] = arg;
		}
	}
	free(y);
	lt->row = r0 + nr;
	if (lt->row < V)
		return 1;
	for (int p = 0; p < T; p++)
		lt->prob[p] = (float)(1.0 / lt->sum[p]); /* exp(max - max) / sum */
	return 0;
}

void lens_top_free(lens_top *lt)
{
	free(lt->max);
	free(lt->sum);
	free(lt->top);
	free(lt->prob);
	memset(lt, 0, sizeof *lt);
}
