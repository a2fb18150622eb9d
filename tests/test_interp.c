/* test_interp.c - the analyses' identities on random models written here (F32,
 * F16, Q8_0; GQA, MHA; tied and untied) and on the Hugging Face fixtures:
 * - the logit lens at the last layer is the model's logits;
 * - direct logit attribution adds up to the logit, heads add up to attn_out;
 * - patching the whole residual stream from the clean run gives the clean
 *   logits exactly, patching nothing the corrupted ones;
 * - resuming the engine from a cached state gives a full run's numbers;
 * - ablating a last-layer component is the lens of the residual without it.
 */
#include "config.h"
#include "tap.h"
#include "interp.h"
#include "dtype.h"
#include "interp_models.h"

#include <cJSON.h>
#include <unistd.h>


static void random_ids(int32_t *ids, int n, int vocab, uint64_t seed)
{
	for (int i = 0; i < n; i++)
		ids[i] = (int32_t)((uint64_t)(tm_normal(&seed) * 1e6 + 1e9) % (uint64_t)vocab);
}

/* ---------------------------------------------------------------- engine resume */
static void check_resume(const rs_model *m, const char *label, const int32_t *ids, int T)
{
	rs_err err = {{0}};
	const rs_config *c = &m->cfg;
	int V = c->vocab, L = c->n_layers;
	rs_engine *a = eng_create(m, &err), *b = eng_create(m, &err);
	eng_set_prompt(a, ids, T, &err);
	eng_run(a);
	float *ref = rs_xmalloc(sizeof(float) * (size_t)T * V);
	memcpy(ref, eng_act(a, (rs_hook){HOOK_LOGITS, -1})->data, sizeof(float) * (size_t)T * V);
	int stops[] = {0, 1, hook_stop((rs_hook){HOOK_Z, L / 2}, L), hook_stop((rs_hook){HOOK_MLP_POST, L - 1}, L),
		       hook_stop((rs_hook){HOOK_RESID_PRE, L - 1}, L), hook_stop((rs_hook){HOOK_LNF_NORM, -1}, L),
		       hook_stop((rs_hook){HOOK_LNF_OUT, -1}, L), hook_stop((rs_hook){HOOK_LN1_OUT, L - 1}, L),
		       hook_n_stops(L) - 1};
	int same = 1, ok = 1;
	for (size_t i = 0; i < sizeof stops / sizeof *stops; i++) {
		ok &= eng_resume(b, a, stops[i], &err) == 0;
		eng_run(b);
		const rs_act *lg = eng_act(b, (rs_hook){HOOK_LOGITS, -1});
		same &= lg && !memcmp(lg->data, ref, sizeof(float) * (size_t)T * V);
		/* the earlier stops came along in the cache */
		same &= stops[i] == 0 || eng_act(b, hook_at(stops[i] - 1, L)) != NULL;
	}
	tap_ok(ok && same, "%s: resuming at 7 stops reproduces the full run's logits bit for bit", label);
	/* decoding after a resume reads the restored KV cache */
	eng_resume(b, a, hook_stop((rs_hook){HOOK_ATTN_OUT, L - 1}, L), &err);
	eng_run(b);
	const float *da = eng_decode(a, ids[0], &err), *db = eng_decode(b, ids[0], &err);
	tap_ok(da && db && tap_max_abs_diff(da, db, (size_t)V) == 0, "%s: decoding after a resume matches", label);
	/* rewinding an engine onto its own cache */
	eng_set_prompt(a, ids, T, &err);
	eng_run(a);
	ok = eng_resume(a, a, hook_stop((rs_hook){HOOK_ROT_Q, 0}, L), &err) == 0;
	ok &= eng_act(a, (rs_hook){HOOK_LOGITS, -1}) == NULL && eng_act(a, (rs_hook){HOOK_Q, 0}) != NULL;
	eng_run(a);
	const rs_act *lg = eng_act(a, (rs_hook){HOOK_LOGITS, -1});
	tap_ok(ok && lg && !memcmp(lg->data, ref, sizeof(float) * (size_t)T * V), "%s: rewinding onto its own cache", label);
	/* a cache that lacks what the state needs is refused with a message */
	eng_set_cache_filter(b, "logits");
	eng_set_prompt(b, ids, T, &err);
	eng_run(b);
	rs_engine *c2 = eng_create(m, &err);
	int rc = eng_resume(c2, b, hook_stop((rs_hook){HOOK_Z, 0}, L), &err);
	tap_ok(rc == -1 && strstr(err.msg, "not in the source's cache"), "%s: resume without the cache: %s", label,
	       err.msg);
	eng_free(c2);
	free(ref);
	eng_free(a);
	eng_free(b);
}

/* A lazy engine that keeps only the residual stream, keys and values
 * recomputes every other hook bit for bit as a full cache holds it, with an
 * intervention in place; the logits the cache took are eng_last_logits; the
 * working buffers released after the pass come back for a decode. */
static void check_lazy(const rs_model *m, const char *label, const int32_t *ids, int T)
{
	rs_err err = {{0}};
	const rs_config *c = &m->cfg;
	int L = c->n_layers, V = c->vocab;
	rs_engine *a = eng_create(m, &err), *b = eng_create(m, &err);
	rs_intervention iv = {.hook = {HOOK_Z, L / 2}, .kind = IV_ZERO, .head = 1, .pos = -1, .index = -1};
	eng_add_intervention(a, &iv, &err);
	eng_add_intervention(b, &iv, &err);
	eng_set_prompt(a, ids, T, &err);
	eng_run(a);
	eng_set_cache_filter(b, "hook_embed,blocks.*.hook_resid_pre,blocks.*.hook_resid_post,blocks.*.attn.hook_rot_k,"
				"blocks.*.attn.hook_v");
	eng_set_lazy(b, 1);
	eng_set_prompt(b, ids, T, &err);
	eng_run(b);
	int same = 1, kept = 0, lazy = 0;
	for (int st = 0; st < hook_n_stops(L); st++) {
		rs_hook h = hook_at(st, L);
		kept += eng_act_kept(b, h) != NULL;
		const rs_act *x = eng_act(a, h), *y = eng_act(b, h);
		lazy += y != NULL;
		same &= x && y && x->numel == y->numel && !memcmp(x->data, y->data, sizeof(float) * (size_t)x->numel);
	}
	tap_ok(same && kept == 4 * L + 1 && lazy == hook_n_stops(L), "%s: a lazy engine keeping %d of %d stops gives all "
	       "%d bit for bit, the zero-ablation included", label, kept, hook_n_stops(L), lazy);
	const float *la = eng_last_logits(a), *lb = eng_last_logits(b);
	const rs_act *lg = eng_act_kept(a, (rs_hook){HOOK_LOGITS, -1});
	tap_ok(la && lb && lg && !memcmp(la, lg->data + (size_t)(T - 1) * V, sizeof(float) * (size_t)V) &&
	       !memcmp(la, lb, sizeof(float) * (size_t)V), "%s: the last logits are the cached logits' last row", label);
	eng_release_scratch(a);
	eng_release_scratch(b);
	tap_ok(eng_act_kept(b, (rs_hook){HOOK_Z, 0}) == NULL && eng_act(a, (rs_hook){HOOK_Z, 0}) != NULL,
	       "%s: releasing the working buffers drops the recomputed hooks, not the cache", label);
	const float *da = eng_decode(a, ids[1], &err);
	float *keep = da ? rs_xmalloc(sizeof(float) * (size_t)V) : NULL;
	if (keep)
		memcpy(keep, da, sizeof(float) * (size_t)V);
	const float *db = eng_decode(b, ids[1], &err);
	tap_ok(keep && db && !memcmp(keep, db, sizeof(float) * (size_t)V), "%s: decoding after the release", label);
	free(keep);
	eng_free(a);
	eng_free(b);
}

/* ---------------------------------------------------------------- queries */
static void check_queries(const rs_model *m, const char *label, const int32_t *ids, int T)
{
	rs_err err = {{0}};
	const rs_config *c = &m->cfg;
	int V = c->vocab, L = c->n_layers, d = c->d_model, H = c->n_heads;
	rs_engine *e = eng_create(m, &err);
	lens_result *none = lens_run(e, NULL, &err);
	tap_ok(!none && strstr(err.msg, "no prompt"), "%s: lens before a prompt: %s", label, err.msg);
	eng_set_prompt(e, ids, T, &err);
	eng_run(e);
	const float *logits = eng_act(e, (rs_hook){HOOK_LOGITS, -1})->data; /* [T, V] */
	float scale = tap_max_abs(logits, (size_t)T * V);

	/* logit lens at the last layer = the logits */
	float *row = rs_xmalloc(sizeof(float) * (size_t)V), worst = 0;
	for (int t = 0; t < T; t++) {
		lens_logits(e, (rs_hook){HOOK_RESID_POST, L - 1}, t, row, &err);
		float dd = tap_max_abs_diff(row, logits + (size_t)t * V, (size_t)V);
		worst = dd > worst ? dd : worst;
	}
	tap_ok(worst <= 1e-5f * (1 + scale), "%s: logit lens at the last resid_post = logits (max |diff| %.2e)", label,
	       worst);
	lens_result *lr = lens_run(e, NULL, &err);
	int ok = lr && lr->n_sites == 2 * L + 1 && lr->n_pos == T;
	float kl_last = 0;
	for (int t = 0; ok && t < T; t++) {
		int64_t cell = lens_cell(lr, lr->n_sites - 1, t);
		kl_last = fabsf(lr->kl[cell]) > kl_last ? fabsf(lr->kl[cell]) : kl_last;
		ok &= lr->target_rank[cell] == 1 && lr->top_ids[cell * lr->top_k] == lr->targets[t];
		for (int s = 0; s < lr->n_sites; s++)
			ok &= lr->kl[lens_cell(lr, s, t)] >= -1e-5f && lr->target_rank[lens_cell(lr, s, t)] >= 1;
	}
	tap_ok(ok && kl_last < 1e-5f, "%s: lens grid %d sites × %d positions; last site KL %.1e, rank 0", label,
	       lr ? lr->n_sites : 0, T, kl_last);
	lens_opts lo = {LENS_RESID_PRE | LENS_ATTN_OUT | LENS_RESID_MID | LENS_MLP_OUT | LENS_RESID_POST, T - 2, 3,
			LENS_TARGET_NEXT, 0};
	lens_result *lr2 = lens_run(e, &lo, &err);
	ok = lr2 && lr2->n_sites == 5 * L && lr2->n_pos == 1 && lr2->targets[0] == ids[T - 1];
	/* the same cell of both grids: resid_mid of layer 0 at position T-2 */
	if (ok && lr) {
		int64_t c1 = lens_cell(lr, 1, T - 2), c2 = lens_cell(lr2, 2, 0);
		ok &= lr->top_ids[c1 * lr->top_k] == lr2->top_ids[c2 * 3] && fabsf(lr->kl[c1] - lr2->kl[c2]) < 1e-5f;
	}
	tap_ok(ok, "%s: lens with every site at one position, next-token target", label);
	cJSON *j = lr2 ? interp_lens_to_json(lr2, NULL, NULL) : NULL;
	char *txt = j ? cJSON_PrintUnformatted(j) : NULL;
	tap_ok(txt && strstr(txt, "\"blocks.0.hook_attn_out\"") && strstr(txt, "\"kl\""), "%s: lens JSON", label);
	free(txt);
	cJSON_Delete(j);
	lens_free(lr);
	lens_free(lr2);

	/* per-head outputs add up to hook_attn_out */
	float *ho = rs_xmalloc(sizeof(float) * (size_t)H * T * d), *sum = rs_xmalloc(sizeof(float) * (size_t)T * d);
	worst = 0;
	float big = 0;
	for (int l = 0; l < L; l++) {
		interp_head_outputs(e, l, -1, ho, &err);
		memset(sum, 0, sizeof(float) * (size_t)T * d);
		for (int h = 0; h < H; h++)
			for (int64_t i = 0; i < (int64_t)T * d; i++)
				sum[i] += ho[(size_t)h * T * d + i];
		const rs_act *ao = eng_act(e, (rs_hook){HOOK_ATTN_OUT, l});
		float dd = tap_max_abs_diff(sum, ao->data, (size_t)T * d), mx = tap_max_abs(ao->data, (size_t)ao->numel);
		worst = dd > worst ? dd : worst;
		big = mx > big ? mx : big;
	}
	tap_ok(worst <= 1e-5f * (1 + big), "%s: Σ per-head outputs = hook_attn_out at every layer (max |diff| %.2e, |attn_out| ≤ %.2g)",
	       label, worst, big);

	/* direct logit attribution adds up to the logit and the logit difference */
	int n_comp = dla_n_components(c);
	float dla_worst = 0, rem_worst = 0, dec_worst = 0, neu_worst = 0;
	ok = 1;
	float *vec = rs_xmalloc(sizeof(float) * (size_t)n_comp * d);
	for (int k = 0; k < 4; k++) {
		interp_metric mt = {k == 0 ? -1 : k, ids[k], k % 2 ? ids[k + 1] : -1};
		dla_result *r = dla_run(e, &mt, &err);
		if (!r) {
			ok = 0;
			tap_diag("dla: %s", err.msg);
			continue;
		}
		float dd = fabsf(r->total - r->logit);
		dla_worst = dd > dla_worst ? dd : dla_worst;
		rem_worst = fabsf(r->remainder) > rem_worst ? fabsf(r->remainder) : rem_worst;
		for (int i = 1; i < r->n; i++)
			ok &= r->comp[r->order[i - 1]].value >= r->comp[r->order[i]].value;
		ok &= r->n == n_comp;
		/* neurons add up to their MLP's share */
		float *nv = rs_xmalloc(sizeof(float) * (size_t)c->d_ff);
		for (int l = 0; l < L; l++) {
			dla_neurons(e, &mt, l, nv, &err);
			double s = 0;
			for (int i = 0; i < c->d_ff; i++)
				s += nv[i];
			float dn = fabsf((float)s - r->comp[(l + 1) * (H + 1)].value);
			neu_worst = dn > neu_worst ? dn : neu_worst;
		}
		free(nv);
		/* the component vectors add up to the final residual */
		int p = interp_metric_pos(&mt, T);
		dla_decompose(e, p, vec, &err);
		const float *fin = eng_act(e, (rs_hook){HOOK_RESID_POST, L - 1})->data + (size_t)p * d;
		for (int i = 0; i < d; i++) {
			double s = 0;
			for (int q = 0; q < n_comp; q++)
				s += vec[(size_t)q * d + i];
			float dv = fabsf((float)s - fin[i]);
			dec_worst = dv > dec_worst ? dv : dec_worst;
		}
		if (k == 3) {
			cJSON *jd = interp_dla_to_json(r, 5);
			cJSON *comps = cJSON_GetObjectItem(jd, "components");
			ok &= cJSON_GetArraySize(comps) == 5 && cJSON_GetObjectItem(jd, "tok_b") != NULL;
			cJSON_Delete(jd);
		}
		dla_free(r);
	}
	tap_ok(ok && dla_worst <= 1e-4f, "%s: Σ direct-attribution components = the logit (diff) (max |diff| %.2e, remainder %.1e)",
	       label, dla_worst, rem_worst);
	tap_ok(neu_worst <= 1e-4f && dec_worst <= 1e-4f, "%s: Σ neurons = MLP share (%.1e); Σ component vectors = final resid (%.1e)",
	       label, neu_worst, dec_worst);
	interp_metric bad = {T, 0, -1};
	tap_ok(!dla_run(e, &bad, &err) && strstr(err.msg, "position"), "%s: DLA at a bad position: %s", label, err.msg);

	/* head scores stay in range */
	head_scores *hs = heads_score(e, &err);
	ok = hs != NULL;
	for (int i = 0; ok && i < L * H; i++) {
		ok &= hs->prev[i] >= 0 && hs->prev[i] <= 1 + 1e-5f && hs->first[i] >= 0 && hs->first[i] <= 1 + 1e-5f;
		ok &= hs->entropy[i] >= 0 && hs->entropy[i] <= logf((float)T) + 1e-4f;
		for (int t = 0; t < T; t++)
			ok &= hs->entropy_q[(size_t)i * T + t] <= logf((float)(t + 1)) + 1e-4f;
	}
	j = hs ? interp_heads_to_json(hs) : NULL;
	ok &= j && cJSON_GetArraySize(cJSON_GetObjectItem(j, "induction")) == L;
	tap_ok(ok, "%s: head scores within their ranges, JSON grid [%d][%d]", label, L, H);
	cJSON_Delete(j);
	heads_free(hs);
	free(vec);
	free(ho);
	free(sum);
	free(row);
	eng_free(e);
}

/* ---------------------------------------------------------------- patching */
/* A sweep's stop callback: says stop on its ctx-th question. */
static int stop_after(void *ctx)
{
	return --*(int *)ctx == 0;
}

/* got[0..k) == want[0..k) bit for bit, got[k..n) NaN, and done == k. */
static int same_then_nan(const float *got, const float *want, int done, int k, int n)
{
	if (done != k)
		return 0;
	for (int i = 0; i < n; i++)
		if (i < k ? got[i] != want[i] : !isnan(got[i]))
			return 0;
	return 1;
}

static void check_patching(const rs_model *m, const char *label, const int32_t *clean, const int32_t *corrupt, int T)
{
	rs_err err = {{0}};
	const rs_config *c = &m->cfg;
	int V = c->vocab, L = c->n_layers;
	interp_metric mt = {-1, clean[2], (clean[2] + 1) % V};
	patch_ctx *p = patch_create(m, clean, corrupt, T, &mt, &err);
	if (!tap_ok(p != NULL, "%s: patching set up (%s)", label, p ? "ok" : err.msg))
		return;
	const float *cl = eng_act(patch_clean_engine(p), (rs_hook){HOOK_LOGITS, -1})->data;
	const float *co = eng_act(patch_corrupt_engine(p), (rs_hook){HOOK_LOGITS, -1})->data;
	size_t n = (size_t)T * V;
	float met;
	int ok = patch_one(p, NULL, -1, -1, &met, &err) == 0;
	const rs_act *lg = eng_act(patch_engine(p), (rs_hook){HOOK_LOGITS, -1});
	tap_ok(ok && lg && !memcmp(lg->data, co, n * sizeof(float)) && met == patch_corrupt_metric(p),
	       "%s: patching nothing reproduces the corrupted logits exactly", label);
	int kinds[] = {HOOK_RESID_PRE, HOOK_RESID_MID, HOOK_RESID_POST};
	int exact = 1, norm1 = 1;
	for (int l = 0; l < L; l++)
		for (int k = 0; k < 3; k++) {
			rs_hook h = {kinds[k], l};
			exact &= patch_one(p, &h, -1, -1, &met, &err) == 0;
			lg = eng_act(patch_engine(p), (rs_hook){HOOK_LOGITS, -1});
			exact &= lg && !memcmp(lg->data, cl, n * sizeof(float));
			norm1 &= fabsf(patch_normalise(p, met) - 1) < 1e-6f;
		}
	tap_ok(exact && norm1, "%s: patching the whole residual stream at any layer gives the clean logits exactly", label);
	/* a resumed patch equals a full rerun with the same intervention */
	rs_engine *full = eng_create(m, &err);
	rs_intervention iv = {.hook = {HOOK_Z, L - 1}, .kind = IV_REPLACE, .head = 1, .pos = T - 1, .index = -1};
	const rs_act *zc = eng_act(patch_clean_engine(p), iv.hook);
	iv.values = zc->data;
	iv.n_values = zc->numel;
	eng_add_intervention(full, &iv, &err);
	eng_set_prompt(full, corrupt, T, &err);
	eng_run(full);
	patch_one(p, &iv.hook, 1, T - 1, &met, &err);
	lg = eng_act(patch_engine(p), (rs_hook){HOOK_LOGITS, -1});
	cJSON *jp = interp_patch_to_json(p, &iv.hook, 1, T - 1, met, &mt);
	char *tp = cJSON_PrintUnformatted(jp);
	tap_ok(lg && !memcmp(lg->data, eng_act(full, (rs_hook){HOOK_LOGITS, -1})->data, n * sizeof(float)) &&
	       strstr(tp, "attn.hook_z\"") && strstr(tp, "\"normalised\""),
	       "%s: a patch rerun from its layer = a full run with the intervention; JSON", label);
	free(tp);
	cJSON_Delete(jp);
	eng_free(full);
	/* sweeps: each cell agrees with a single patch */
	patch_sweep *sp = patch_sweep_pos(p, HOOK_RESID_PRE, &err);
	patch_sweep *sh = patch_sweep_heads(p, HOOK_Z, -1, &err);
	ok = sp && sh && sp->rows == L && sp->cols == T && sh->cols == c->n_heads && !sp->cols_are_heads;
	float dmax = 0;
	for (int l = 0; ok && l < L; l++) {
		rs_hook h = {HOOK_Z, l};
		for (int hh = 0; hh < c->n_heads; hh++) {
			patch_one(p, &h, hh, -1, &met, &err);
			float dd = fabsf(met - sh->value[l * sh->cols + hh]);
			dmax = dd > dmax ? dd : dmax;
		}
		h.kind = HOOK_RESID_PRE;
		for (int t = 0; t < T; t++) {
			patch_one(p, &h, -1, t, &met, &err);
			float dd = fabsf(met - sp->value[l * sp->cols + t]);
			dmax = dd > dmax ? dd : dmax;
		}
	}
	/* where the prompts agree, resid_pre at layer 0 is the same: patching it changes nothing */
	for (int t = 0; ok && t < T; t++)
		if (clean[t] == corrupt[t])
			ok &= fabsf(sp->norm[t]) < 1e-4f;
	tap_ok(ok && dmax < 1e-4f, "%s: layer × position and layer × head sweeps agree with single patches (%.1e)", label,
	       dmax);
	cJSON *j = sh ? interp_patch_sweep_to_json(sh, &mt) : NULL;
	char *txt = j ? cJSON_PrintUnformatted(j) : NULL;
	tap_ok(txt && strstr(txt, "\"by\":\"head\"") && strstr(txt, "\"normalised\""), "%s: patch sweep JSON", label);
	free(txt);
	cJSON_Delete(j);
	/* stopped part way: the cells before the stop as in the whole sweep, NaN after */
	int left = 5;
	patch_set_stop(p, stop_after, &left);
	patch_sweep *ss = patch_sweep_pos(p, HOOK_RESID_PRE, &err);
	patch_set_stop(p, NULL, NULL);
	tap_ok(ss && sp && same_then_nan(ss->value, sp->value, ss->done, 5, L * T) &&
		       same_then_nan(ss->norm, sp->norm, ss->done, 5, L * T),
	       "%s: a patch sweep stopped before its 6th cell keeps 5 (%d)", label, ss ? ss->done : -1);
	patch_sweep_free(ss);
	patch_sweep_free(sp);
	patch_sweep_free(sh);
	tap_ok(!patch_sweep_pos(p, HOOK_Z, &err) && !patch_sweep_heads(p, HOOK_RESID_PRE, 0, &err),
	       "%s: sweeps refuse hooks of the wrong shape", label);
	patch_free(p);
}

/* ---------------------------------------------------------------- ablation */
static void check_ablation(const rs_model *m, const char *label, const int32_t *ids, int T)
{
	rs_err err = {{0}};
	const rs_config *c = &m->cfg;
	int V = c->vocab, L = c->n_layers, d = c->d_model, H = c->n_heads;
	interp_metric mt = {-1, ids[2], ids[3]};
	rs_engine *e = eng_create(m, &err);
	eng_set_prompt(e, ids, T, &err);
	eng_run(e);
	float *x = rs_xmalloc(sizeof(float) * (size_t)d), *lg = rs_xmalloc(sizeof(float) * (size_t)V);
	const float *fin = eng_act(e, (rs_hook){HOOK_RESID_POST, L - 1})->data + (size_t)(T - 1) * d;
	/* zeroing every head of a layer through hook_z = zeroing its hook_attn_out */
	abl_target all[16];
	abl_result r, r2;
	for (int h = 0; h < H; h++)
		all[h] = (abl_target){ABL_HEAD, L / 2, h, -1, 0};
	int ok = abl_run(m, ids, T, all, H, &mt, &r, &err) == 0;
	abl_target t = {ABL_ATTN, L / 2, 0, -1, 0};
	ok &= abl_run(m, ids, T, &t, 1, &mt, &r2, &err) == 0;
	cJSON *ja = interp_abl_to_json(&r, all, H, &mt);
	char *ta = cJSON_PrintUnformatted(ja);
	ok &= strstr(ta, "\"site\":\"head\"") && strstr(ta, "\"kind\":\"logit_diff\"") && strstr(ta, "\"ablated\"");
	free(ta);
	cJSON_Delete(ja);
	tap_ok(ok && r.ablated == r2.ablated && r.base == r2.base && r.delta == r.ablated - r.base,
	       "%s: zeroing all %d heads of layer %d = zeroing its attn_out (%.5f, base %.5f)", label, H, L / 2, r.ablated,
	       r.base);
	/* zeroing the last MLP: the final residual loses exactly its output */
	const rs_act *mo = eng_act(e, (rs_hook){HOOK_MLP_OUT, L - 1});
	for (int i = 0; i < d; i++)
		x[i] = fin[i] - mo->data[(size_t)(T - 1) * d + i];
	lens_apply(m, x, 1, lg);
	float want = lg[mt.tok] - lg[mt.tok_b];
	t = (abl_target){ABL_MLP, L - 1, 0, -1, 0};
	ok = abl_run(m, ids, T, &t, 1, &mt, &r, &err) == 0;
	tap_ok(ok && fabsf(r.ablated - want) < 1e-4f, "%s: zero-ablating the last MLP = the lens without it (%.5f vs %.5f)",
	       label, r.ablated, want);
	/* mean-ablating the last MLP: its output replaced by its mean over positions */
	for (int i = 0; i < d; i++) {
		double mean = 0;
		for (int q = 0; q < T; q++)
			mean += mo->data[(size_t)q * d + i];
		x[i] = fin[i] - mo->data[(size_t)(T - 1) * d + i] + (float)(mean / T);
	}
	lens_apply(m, x, 1, lg);
	want = lg[mt.tok] - lg[mt.tok_b];
	t = (abl_target){ABL_MLP, L - 1, 0, -1, 1};
	ok = abl_run(m, ids, T, &t, 1, &mt, &r, &err) == 0;
	tap_ok(ok && fabsf(r.ablated - want) < 1e-4f, "%s: mean-ablating the last MLP = the lens with its mean (%.5f vs %.5f)",
	       label, r.ablated, want);
	/* a neuron: zero its hook_post entry = remove its column of W_down */
	float *col = rs_xmalloc(sizeof(float) * (size_t)c->d_ff);
	const float *post = eng_act(e, (rs_hook){HOOK_MLP_POST, L - 1})->data + (size_t)(T - 1) * c->d_ff;
	for (int i = 0; i < d; i++) {
		mat_row(&m->layers[L - 1].w_down, i, col);
		x[i] = fin[i] - post[3] * col[3];
	}
	lens_apply(m, x, 1, lg);
	want = lg[mt.tok] - lg[mt.tok_b];
	t = (abl_target){ABL_NEURON, L - 1, 3, T - 1, 0};
	ok = abl_run(m, ids, T, &t, 1, &mt, &r, &err) == 0;
	tap_ok(ok && fabsf(r.ablated - want) < 1e-4f, "%s: zero-ablating neuron L%d.3 at the last position (%.5f vs %.5f)",
	       label, L - 1, r.ablated, want);
	free(col);
	/* the sweep agrees with single ablations */
	abl_sweep *s = abl_sweep_run(m, ids, T, ABL_HEAD, 0, &mt, NULL, NULL, &err);
	ok = s && s->rows == L && s->cols == H;
	float dmax = 0;
	for (int l = 0; ok && l < L; l++)
		for (int h = 0; h < H; h++) {
			t = (abl_target){ABL_HEAD, l, h, -1, 0};
			abl_run(m, ids, T, &t, 1, &mt, &r, &err);
			float dd = fabsf(r.ablated - s->value[l * H + h]);
			dmax = dd > dmax ? dd : dmax;
			ok &= s->base == r.base;
		}
	tap_ok(ok && dmax < 1e-4f, "%s: layer × head ablation sweep agrees with single ablations (%.1e)", label, dmax);
	cJSON *j = s ? interp_abl_sweep_to_json(s, &mt) : NULL;
	tap_ok(j && cJSON_GetArraySize(cJSON_GetObjectItem(j, "delta")) == L, "%s: ablation sweep JSON", label);
	cJSON_Delete(j);
	int left = 1;
	abl_sweep *ss = abl_sweep_run(m, ids, T, ABL_HEAD, 0, &mt, stop_after, &left, &err);
	tap_ok(ss && s && same_then_nan(ss->value, s->value, ss->done, 1, L * H) &&
		       same_then_nan(ss->delta, s->delta, ss->done, 1, L * H),
	       "%s: an ablation sweep stopped before its 2nd cell keeps 1 (%d)", label, ss ? ss->done : -1);
	abl_sweep_free(ss);
	abl_sweep_free(s);
	abl_sweep *sm = abl_sweep_run(m, ids, T, ABL_MLP, 1, &mt, NULL, NULL, &err);
	tap_ok(sm && sm->cols == 1 && sm->rows == L, "%s: mean-ablation sweep over MLP sublayers", label);
	abl_sweep_free(sm);
	t = (abl_target){ABL_HEAD, L, 0, -1, 0};
	tap_ok(abl_run(m, ids, T, &t, 1, &mt, &r, &err) == -1 && strstr(err.msg, "layer"), "%s: bad target: %s", label,
	       err.msg);
	free(x);
	free(lg);
	eng_free(e);
}

/* ---------------------------------------------------------------- dataset-mean ablation */
/* abl_mean_over: the mean over one prompt is that prompt's own activation
 * (so replacing with it changes nothing, bit for bit); over a prompt and a
 * second one it is their average, entry by entry; over the same prompt twice
 * it is the prompt again; the mean-ablated run's hook_z holds the mean. */
static void check_dataset_mean(const rs_model *m, const char *label, const int32_t *ids, const int32_t *cor, int T)
{
	rs_err err = {{0}};
	const rs_config *c = &m->cfg;
	int L = c->n_layers, H = c->n_heads, hd = c->head_dim;
	rs_hook hz = {HOOK_Z, L - 1};
	rs_engine *e = eng_create(m, &err);
	eng_set_prompt(e, ids, T, &err);
	eng_run(e);
	int64_t numel = 0, n2 = 0;
	int32_t *one[1] = {(int32_t *)ids};
	int lens[3] = {T, T, T};
	float *mean1 = abl_mean_over(m, hz, one, lens, 1, &numel, &err);
	const rs_act *z = eng_act(e, hz);
	tap_ok(mean1 && z && numel == z->numel && !memcmp(mean1, z->data, sizeof(float) * (size_t)numel),
	       "%s: the mean over one prompt is its activation", label);
	/* ablating with it: the logits are the clean ones, bit for bit */
	rs_intervention iv = {hz, IV_REPLACE, H - 1, -1, -1, mean1, numel, 0};
	rs_engine *e1 = eng_create(m, &err);
	int ok = mean1 && eng_add_intervention(e1, &iv, &err) >= 0 && eng_set_prompt(e1, ids, T, &err) == 0;
	eng_run(e1);
	const rs_act *lg0 = eng_act(e, (rs_hook){HOOK_LOGITS, -1}), *lg1 = eng_act(e1, (rs_hook){HOOK_LOGITS, -1});
	tap_ok(ok && lg0 && lg1 && lg0->numel == lg1->numel &&
		       !memcmp(lg0->data, lg1->data, sizeof(float) * (size_t)lg0->numel),
	       "%s: replacing a head with a one-prompt mean changes no logit", label);
	eng_free(e1);
	/* two prompts: the average, entry by entry, against the two runs' caches */
	rs_engine *e2 = eng_create(m, &err);
	eng_set_prompt(e2, cor, T, &err);
	eng_run(e2);
	const rs_act *z2 = eng_act(e2, hz);
	int32_t *two[2] = {(int32_t *)ids, (int32_t *)cor};
	float *mean2 = abl_mean_over(m, hz, two, lens, 2, &n2, &err);
	double worst = 0;
	for (int64_t k = 0; mean2 && z2 && k < n2; k++)
		worst = fmax(worst, fabs(mean2[k] - ((double)z->data[k] + z2->data[k]) / 2));
	tap_ok(mean2 && n2 == numel && worst < 1e-6, "%s: the mean of two prompts is their average (max diff %g)", label,
	       worst);
	int32_t *same[2] = {(int32_t *)ids, (int32_t *)ids};
	float *mean_same = abl_mean_over(m, hz, same, lens, 2, &n2, &err);
	tap_ok(mean_same && !memcmp(mean_same, z->data, sizeof(float) * (size_t)numel),
	       "%s: the mean of a prompt and itself is the prompt", label);
	/* the ablated run holds the mean in that head, the clean values elsewhere */
	rs_intervention ivm = {hz, IV_REPLACE, 1, -1, -1, mean2, n2, 0};
	rs_engine *e3 = eng_create(m, &err);
	ok = mean2 && eng_add_intervention(e3, &ivm, &err) >= 0 && eng_set_prompt(e3, ids, T, &err) == 0;
	eng_run(e3);
	const rs_act *z3 = eng_act(e3, hz);
	int t = T - 1, i = hd / 2;
	size_t o_h1 = ((size_t)t * H + 1) * hd + i, o_h0 = ((size_t)t * H + 0) * hd + i;
	tap_ok(ok && z3 && z3->data[o_h1] == mean2[o_h1] && z3->data[o_h0] == z->data[o_h0] &&
		       fabs(z3->data[o_h1] - (z->data[o_h1] + z2->data[o_h1]) / 2) < 1e-6,
	       "%s: the ablated head holds the mean (%g = (%g + %g) / 2), the others their own values", label,
	       z3 ? (double)z3->data[o_h1] : NAN, (double)z->data[o_h1], z2 ? (double)z2->data[o_h1] : NAN);
	/* errors */
	int bad[2] = {T, T - 1};
	tap_ok(!abl_mean_over(m, hz, two, bad, 2, &n2, &err) && strstr(err.msg, "one length"),
	       "%s: prompts of two lengths: %s", label, err.msg);
	tap_ok(!abl_mean_over(m, hz, two, lens, 0, &n2, &err) && strstr(err.msg, "no prompts"), "%s: no prompts: %s",
	       label, err.msg);
	free(mean1);
	free(mean2);
	free(mean_same);
	eng_free(e3);
	eng_free(e2);
	eng_free(e);
}

static void check_model(const char *path, const char *label)
{
	rs_err err = {{0}};
	rs_model *m = model_load(path, &err);
	if (!tap_ok(m != NULL, "%s: load (%s)", label, m ? "ok" : err.msg))
		return;
	int T = 12, V = m->cfg.vocab;
	int32_t ids[12], cor[12];
	random_ids(ids, T, V, 7);
	memcpy(cor, ids, sizeof ids);
	cor[4] = (ids[4] + 1) % V; /* a corrupted prompt differing at two positions */
	cor[7] = (ids[7] + 5) % V;
	check_resume(m, label, ids, T);
	check_lazy(m, label, ids, T);
	check_queries(m, label, ids, T);
	check_patching(m, label, ids, cor, T);
	check_ablation(m, label, ids, T);
	check_dataset_mean(m, label, ids, cor, T);
	model_free(m);
}

int main(void)
{
	rs_err err = {{0}};
	struct { const char *label; int type, tied, kv; } kinds[] = {
		{"random F32 GQA untied", RS_F32, 0, 2},
		{"random Q8_0 GQA tied", RS_Q8_0, 1, 2},
		{"random F16 MHA untied", RS_F16, 0, 4},
	};
	char path[256];
	for (size_t k = 0; k < sizeof kinds / sizeof *kinds; k++) {
		tm_model tm = {.n_layers = 3, .d = 64, .n_heads = 4, .n_kv_heads = kinds[k].kv, .head_dim = 16, .d_ff = 96,
			       .vocab = 80, .tied = kinds[k].tied, .bos = 1, .rope_theta = 10000, .rms_eps = 1e-5f};
		tm_alloc(&tm);
		tm_randomize(&tm, 0.3f, 11 + k);
		snprintf(path, sizeof path, "/tmp/test_interp_%d_%zu.gguf", (int)getpid(), k);
		int ok = tm_write_gguf(&tm, path, kinds[k].type, &err) == 0;
		tm_free(&tm);
		if (tap_ok(ok, "%s: written (%s)", kinds[k].label, ok ? path : err.msg))
			check_model(path, kinds[k].label);
		unlink(path);
	}
	const char *fix = tap_fixtures();
	const char *cases[] = {"v1_llama3_gqa", "v2_llama32_tied", "v3_llama2_mha"};
	for (int i = 0; i < 3; i++) {
		snprintf(path, sizeof path, "%s/hf-golden/%s/config.json", fix, cases[i]);
		if (access(path, R_OK)) {
			tap_diag("no Hugging Face fixture %s: skipped (set FIXTURES)", cases[i]);
			continue;
		}
		snprintf(path, sizeof path, "%s/hf-golden/%s", fix, cases[i]);
		check_model(path, cases[i]);
	}
	return tap_done_plan();
}
