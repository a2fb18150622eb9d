/* pathpatch.c - path patching (Wang et al. 2022): a sender head's change,
 * taken from another prompt's run, reaches only chosen receivers.
 *
 * The sender's output changes by δ[T, d] = W_O,S (z_source − z_base) (its
 * head's columns of W_O). A final run of the base prompt keeps the sender as
 * it was, and at each receiver, in forward order, a probe engine resumed
 * from the final run computes what the receiver would read with δ added:
 *   head, input q: the probe's residual stream gets δ, its rot_k and v are
 *     put back to the final run's, so only q sees δ; the head's hook_z from
 *     the probe then replaces that head's z in the final run (so k and v
 *     shared by a GQA group change for this query head alone);
 *   MLP: the probe's resid_mid gets δ; its hook_mlp_out replaces the final's;
 *   logits: the probe's last resid_post gets δ; the metric is the probe's.
 * Everything else reads the final run's own stream, without δ. */
#include "config.h"
#include "circuits.h"
#include "ops.h"
#include "rerun.h"

#include <cJSON.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct pp_ctx {
	const rs_model *m;
	int T;
	interp_metric mt;
	rs_engine *base, *source;  /* the two runs, every hook cached */
	rs_engine *fin, *probe;    /* the final run and the receivers' probe */
	float base_metric, source_metric;
};

void pp_free(pp_ctx *p)
{
	if (!p)
		return;
	eng_free(p->base);
	eng_free(p->source);
	eng_free(p->fin);
	eng_free(p->probe);
	free(p);
}

pp_ctx *pp_create(const rs_model *m, const int32_t *source, const int32_t *base, int n, const interp_metric *mt,
		  rs_err *err)
{
	pp_ctx *p = rs_xcalloc(1, sizeof *p);
	p->m = m;
	p->T = n;
	p->mt = *mt;
	if (interp_metric_check(mt, m, n, err))
		goto fail;
	if (!(p->base = eng_create(m, err)) || !(p->source = eng_create(m, err)) || !(p->fin = eng_create(m, err)) ||
	    !(p->probe = eng_create(m, err)))
		goto fail;
	if (eng_set_prompt(p->base, base, n, err) || eng_set_prompt(p->source, source, n, err))
		goto fail;
	eng_run(p->base);
	eng_run(p->source);
	if (interp_metric_engine(p->base, mt, &p->base_metric, err) ||
	    interp_metric_engine(p->source, mt, &p->source_metric, err))
		goto fail;
	return p;
fail:
	pp_free(p);
	return NULL;
}

float pp_base_metric(const pp_ctx *p) { return p->base_metric; }
float pp_source_metric(const pp_ctx *p) { return p->source_metric; }

float pp_normalise(const pp_ctx *p, float metric)
{
	float span = p->source_metric - p->base_metric;
	return span != 0 ? (metric - p->base_metric) / span : NAN;
}

char *pp_receiver_name(const pp_receiver *r, char *buf, size_t n)
{
	if (r->kind == PP_LOGITS)
		snprintf(buf, n, "logits");
	else if (r->kind == PP_MLP)
		snprintf(buf, n, "%d.mlp", r->layer);
	else
		snprintf(buf, n, "%d.%d%s%s%s%s", r->layer, r->head, r->inputs == 7 ? "" : ".",
			 r->inputs != 7 && (r->inputs & PP_IN_Q) ? "q" : "", r->inputs != 7 && (r->inputs & PP_IN_K) ? "k" : "",
			 r->inputs != 7 && (r->inputs & PP_IN_V) ? "v" : "");
	return buf;
}

int pp_all_downstream(const rs_config *c, int layer, int mlp_sender, pp_receiver *out)
{
	int n = 0;
	for (int l = layer; l < c->n_layers; l++) {
		for (int h = 0; l > layer && h < c->n_heads; h++, n++)
			if (out)
				out[n] = (pp_receiver){PP_HEAD, l, h, PP_IN_Q | PP_IN_K | PP_IN_V};
		if (mlp_sender && l == layer)
			continue;
		if (out)
			out[n] = (pp_receiver){PP_MLP, l, -1, 0};
		n++;
	}
	if (out)
		out[n] = (pp_receiver){PP_LOGITS, -1, -1, 0};
	return n + 1;
}

int pp_parse_receivers(const rs_config *c, const char *arg, int sender_layer, int mlp_sender, pp_receiver **out,
		       int *n, rs_err *err)
{
	int all = pp_all_downstream(c, 0, 0, NULL), cap = all, k = 0;
	pp_receiver *r = rs_xmalloc(sizeof *r * (size_t)cap);
	char *buf = rs_xstrdup(arg), *save = NULL;
	for (char *w = strtok_r(buf, ",", &save); w; w = strtok_r(NULL, ",", &save)) {
		int L, H, len = 0;
		char in[8] = "";
		if (k + all > cap) {
			cap = (k + all) * 2;
			r = rs_xrealloc(r, sizeof *r * (size_t)cap);
		}
		if (!strcmp(w, "all") && sender_layer < 0) {
			rs_fail(err, "'all' receivers need one sender");
			goto fail;
		} else if (!strcmp(w, "all")) {
			k += pp_all_downstream(c, sender_layer, mlp_sender, r + k);
		} else if (!strcmp(w, "logits")) {
			r[k++] = (pp_receiver){PP_LOGITS, -1, -1, 0};
		} else if (sscanf(w, "%d.mlp%n", &L, &len) == 1 && w[len] == 0) {
			r[k++] = (pp_receiver){PP_MLP, L, -1, 0};
		} else if ((sscanf(w, "%d.%d%n", &L, &H, &len) == 2 && w[len] == 0) ||
			   (sscanf(w, "%d.%d.%7[qkv]%n", &L, &H, in, &len) == 3 && w[len] == 0)) {
			int mask = in[0] ? 0 : PP_IN_Q | PP_IN_K | PP_IN_V;
			for (char *p = in; *p; p++)
				mask |= *p == 'q' ? PP_IN_Q : *p == 'k' ? PP_IN_K : PP_IN_V;
			r[k++] = (pp_receiver){PP_HEAD, L, H, mask};
		} else {
			rs_fail(err, "receiver '%.40s' is not L.H, L.H.q (k, v), L.mlp, logits or all", w);
			goto fail;
		}
	}
	free(buf);
	if (!k) {
		free(r);
		return rs_fail(err, "no receiver");
	}
	*out = r;
	*n = k;
	return 0;
fail:
	free(buf);
	free(r);
	return -1;
}

/* The residual stream stop a receiver reads: resid_pre (heads), resid_mid
 * (MLPs), the last resid_post (logits). */
static rs_hook reads(const rs_config *c, const pp_receiver *r)
{
	if (r->kind == PP_HEAD)
		return (rs_hook){HOOK_RESID_PRE, r->layer};
	if (r->kind == PP_MLP)
		return (rs_hook){HOOK_RESID_MID, r->layer};
	return (rs_hook){HOOK_RESID_POST, c->n_layers - 1};
}

static int check_receiver(const rs_config *c, int layer, int mlp_sender, const pp_receiver *r, rs_err *err)
{
	char nm[48];
	pp_receiver_name(r, nm, sizeof nm);
	if (r->kind == PP_LOGITS)
		return 0;
	if (r->layer < 0 || r->layer >= c->n_layers)
		return rs_fail(err, "path patching: receiver %s: layer %d does not exist", nm, r->layer);
	if (r->kind == PP_MLP)
		return r->layer > layer || (r->layer == layer && !mlp_sender) ? 0
		       : rs_fail(err, "path patching: receiver %s does not read the sender: it must come after it", nm);
	if (r->head < 0 || r->head >= c->n_heads)
		return rs_fail(err, "path patching: receiver %s: head %d does not exist", nm, r->head);
	if (!(r->inputs & 7))
		return rs_fail(err, "path patching: receiver %s reads no input", nm);
	if (r->layer <= layer)
		return rs_fail(err, "path patching: receiver %s does not read the sender: its layer must come after %d",
			       nm, layer);
	return 0;
}

/* values of a hook of e as a full-tensor replacement of `what` in engine dst */
static int replace_from(rs_engine *dst, const rs_engine *src, rs_hook h, int head, rs_err *err)
{
	const rs_act *a = interp_need(src, h.kind, h.layer, err);
	if (!a)
		return -1;
	rs_intervention iv = {.hook = h, .kind = IV_REPLACE, .head = head, .pos = -1, .index = -1,
			      .values = a->data, .n_values = a->numel};
	return eng_add_intervention(dst, &iv, err) < 0 ? -1 : 0;
}

/* The probe: resumed from the final run just before the stop that computes
 * `at`, with at := the final run's value + δ. */
static int probe_start(pp_ctx *p, rs_hook at, const float *delta, rs_err *err)
{
	const rs_config *c = &p->m->cfg;
	const rs_act *s = interp_need(p->fin, at.kind, at.layer, err);
	if (!s)
		return -1;
	float *x = rs_xmalloc(sizeof(float) * (size_t)s->numel);
	for (int64_t i = 0; i < s->numel; i++)
		x[i] = s->data[i] + delta[i];
	eng_clear_interventions(p->probe);
	int rc = eng_resume(p->probe, p->fin, hook_stop(at, c->n_layers), err);
	rs_intervention iv = {.hook = at, .kind = IV_REPLACE, .head = -1, .pos = -1, .index = -1, .values = x,
			      .n_values = s->numel};
	if (!rc && eng_add_intervention(p->probe, &iv, err) < 0)
		rc = -1;
	free(x);
	return rc;
}

/* The head receivers of one layer: a head named twice (3.1.q and 3.1.k)
 * reads δ in both; for each set of inputs that sees δ, one probe. */
static int heads_at(pp_ctx *p, int layer, const pp_receiver *recv, int n, const float *delta, rs_err *err)
{
	int H = p->m->cfg.n_heads;
	int *mask_of = rs_xcalloc((size_t)H, sizeof(int)), rc = -1;
	for (int i = 0; i < n; i++)
		if (recv[i].kind == PP_HEAD && recv[i].layer == layer)
			mask_of[recv[i].head] |= recv[i].inputs;
	for (int mask = 1; mask <= 7; mask++) {
		int any = 0;
		for (int h = 0; h < H; h++)
			any |= mask_of[h] == mask;
		if (!any)
			continue;
		if (probe_start(p, (rs_hook){HOOK_RESID_PRE, layer}, delta, err))
			goto out;
		/* the inputs that do not see δ keep the final run's values */
		if ((!(mask & PP_IN_Q) && replace_from(p->probe, p->fin, (rs_hook){HOOK_ROT_Q, layer}, -1, err)) ||
		    (!(mask & PP_IN_K) && replace_from(p->probe, p->fin, (rs_hook){HOOK_ROT_K, layer}, -1, err)) ||
		    (!(mask & PP_IN_V) && replace_from(p->probe, p->fin, (rs_hook){HOOK_V, layer}, -1, err)))
			goto out;
		eng_run_to(p->probe, (rs_hook){HOOK_Z, layer});
		for (int h = 0; h < H; h++)
			if (mask_of[h] == mask && replace_from(p->fin, p->probe, (rs_hook){HOOK_Z, layer}, h, err))
				goto out;
	}
	rc = 0;
out:
	free(mask_of);
	return rc;
}

int pp_run(pp_ctx *p, int layer, int head, const pp_receiver *recv, int n, float *metric, rs_err *err)
{
	const rs_config *c = &p->m->cfg;
	int T = p->T, d = c->d_model, hd = c->head_dim, H = c->n_heads, L = c->n_layers;
	if (layer < 0 || layer >= L || head < -1 || head >= H)
		return rs_fail(err, "path patching: the sender L%dH%d does not exist", layer, head);
	if (n < 1)
		return rs_fail(err, "path patching: no receiver");
	int first = -1, logits = 0;
	for (int i = 0; i < n; i++) {
		if (check_receiver(c, layer, head < 0, &recv[i], err))
			return -1;
		int s = hook_stop(reads(c, &recv[i]), L);
		first = first < 0 || s < first ? s : first;
		logits |= recv[i].kind == PP_LOGITS;
	}
	float *delta = rs_xmalloc(sizeof(float) * (size_t)T * d);
	if (head < 0) { /* an MLP: δ = mlp_out_source − mlp_out_base */
		const rs_act *ms = interp_need(p->source, HOOK_MLP_OUT, layer, err);
		const rs_act *mb = interp_need(p->base, HOOK_MLP_OUT, layer, err);
		if (!ms || !mb) {
			free(delta);
			return -1;
		}
		for (size_t i = 0; i < (size_t)T * d; i++)
			delta[i] = ms->data[i] - mb->data[i];
	} else { /* δ = W_O (z_source − z_base) over the head's columns, by the engine's matmul */
		const rs_act *zs = interp_need(p->source, HOOK_Z, layer, err);
		const rs_act *zb = interp_need(p->base, HOOK_Z, layer, err);
		if (!zs || !zb) {
			free(delta);
			return -1;
		}
		float *dz = rs_xcalloc((size_t)T * H * hd, sizeof(float));
		for (int t = 0; t < T; t++)
			for (int i = 0; i < hd; i++) {
				size_t at = ((size_t)t * H + head) * hd + i;
				dz[at] = zs->data[at] - zb->data[at];
			}
		op_matmul(delta, dz, &p->m->layers[layer].wo, T);
		free(dz);
	}

	int rc = -1;
	eng_clear_interventions(p->fin);
	if (eng_resume(p->fin, p->base, first, err))
		goto out;
	/* receivers in forward order: heads of a layer, then its MLP; the logits last */
	for (int l = 0; l < L; l++) {
		int heads = 0, mlp = 0;
		for (int i = 0; i < n; i++) {
			heads |= recv[i].kind == PP_HEAD && recv[i].layer == l;
			mlp |= recv[i].kind == PP_MLP && recv[i].layer == l;
		}
		if (heads) {
			eng_run_to(p->fin, (rs_hook){HOOK_PATTERN, l}); /* its own q, k, v are cached */
			if (heads_at(p, l, recv, n, delta, err))
				goto out;
		}
		if (mlp) {
			eng_run_to(p->fin, (rs_hook){HOOK_RESID_MID, l});
			if (probe_start(p, (rs_hook){HOOK_RESID_MID, l}, delta, err))
				goto out;
			eng_run_to(p->probe, (rs_hook){HOOK_MLP_OUT, l});
			if (replace_from(p->fin, p->probe, (rs_hook){HOOK_MLP_OUT, l}, -1, err))
				goto out;
		}
	}
	if (logits) {
		eng_run_to(p->fin, (rs_hook){HOOK_RESID_POST, L - 1});
		if (probe_start(p, (rs_hook){HOOK_RESID_POST, L - 1}, delta, err))
			goto out;
		eng_run(p->probe);
		rc = interp_metric_engine(p->probe, &p->mt, metric, err);
	} else {
		eng_run(p->fin);
		rc = interp_metric_engine(p->fin, &p->mt, metric, err);
	}
out:
	free(delta);
	return rc;
}

void pp_sweep_free(pp_sweep *s)
{
	if (!s)
		return;
	free(s->value);
	free(s->norm);
	free(s);
}

pp_sweep *pp_sweep_senders(pp_ctx *p, const pp_receiver *recv, int n, int (*stop)(void *), void *stop_ctx,
			   rs_err *err)
{
	const rs_config *c = &p->m->cfg;
	int L = c->n_layers, H = c->n_heads;
	/* a sender must come before every receiver: a head's layer before a
	 * receiving head's, not after a receiving MLP's */
	int last = L - 1;
	for (int i = 0; i < n; i++) {
		int lim = recv[i].kind == PP_HEAD ? recv[i].layer - 1 : recv[i].kind == PP_MLP ? recv[i].layer : L - 1;
		last = lim < last ? lim : last;
	}
	if (last < 0) {
		rs_fail(err, "path patching: no head comes before the receivers");
		return NULL;
	}
	double t0 = rerun_clock();
	pp_sweep *s = rs_xcalloc(1, sizeof *s);
	s->rows = L;
	s->cols = H;
	s->base = p->base_metric;
	s->source = p->source_metric;
	s->value = rs_xmalloc(sizeof(float) * (size_t)L * H);
	s->norm = rs_xmalloc(sizeof(float) * (size_t)L * H);
	for (int i = 0; i < L * H; i++)
		s->value[i] = s->norm[i] = NAN;
	for (int l = 0; l <= last; l++)
		for (int h = 0; h < H; h++) {
			if (stop && stop(stop_ctx))
				goto done;
			float v;
			if (pp_run(p, l, h, recv, n, &v, err)) {
				pp_sweep_free(s);
				return NULL;
			}
			s->value[l * H + h] = v;
			s->norm[l * H + h] = pp_normalise(p, v);
			s->done = l * H + h + 1;
		}
	s->done = L * H; /* the heads after `last` cannot send: done, as NaN */
done:
	s->seconds = rerun_clock() - t0;
	return s;
}

cJSON *pp_sweep_to_json(const pp_sweep *s, const interp_metric *mt)
{
	cJSON *o = cJSON_CreateObject();
	cJSON_AddItemToObject(o, "metric", interp_metric_to_json(mt));
	cJSON_AddNumberToObject(o, "base", s->base);
	cJSON_AddNumberToObject(o, "source", s->source);
	cJSON_AddItemToObject(o, "normalised", interp_json_grid(s->norm, s->rows, s->cols));
	cJSON_AddItemToObject(o, "metric_values", interp_json_grid(s->value, s->rows, s->cols));
	cJSON_AddNumberToObject(o, "seconds", s->seconds);
	return o;
}
