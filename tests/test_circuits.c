/* test_circuits.c - circuits from the weights, path patching and attribution
 * patching (issue 22), each against a route that does not share its code:
 * - the QK circuit of layer 0 is the engine's score of two one-token prompts
 *   (position 0: RoPE turns nothing), its OV circuit the engine's head output
 *   read by the unembedding; Q/K rows come from a GGUF in the interleaved order;
 * - the copying score of constructed matrices, and the trace of the OV core
 *   is the sum of the full OV circuit's diagonal over the whole vocabulary;
 * - composition scores from Gram matrices equal the explicit d × d products;
 * - path patching into every downstream component is activation patching of
 *   the sender; into one head's q (k, v) it is Wang's freeze-then-patch done
 *   with plain engine interventions;
 * - the trainer's forward matches the engine; attribution patching of
 *   ln_final.hook_out (the metric is linear in it) is the exact patch; the
 *   gradient at resid_pre matches a central difference through the engine;
 * - on the built-in model: the correlation with real patching on the IOI
 *   prompt of lesson 12 (reported, and asserted positive).
 * Random models are written by interp_models.c. */
#include "config.h"
#include "tap.h"
#include "circuits.h"
#include "dtype.h"
#include "interp_models.h"
#include "ops.h"
#include "tokenizer.h"

#include <cJSON.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define U32 5.96e-8 /* the unit roundoff of f32 */

static void random_ids(int32_t *ids, int n, int vocab, uint64_t seed)
{
	for (int i = 0; i < n; i++)
		ids[i] = (int32_t)((uint64_t)(tm_normal(&seed) * 1e6 + 1e9) % (uint64_t)vocab);
}

static double dot_d(const float *a, const float *b, int n)
{
	double s = 0;
	for (int i = 0; i < n; i++)
		s += (double)a[i] * b[i];
	return s;
}

static double norm_d(const float *a, int n) { return sqrt(dot_d(a, a, n)); }

/* ---------------------------------------------------------------- QK and OV against the engine */
static void check_qk_ov(const rs_model *m, const char *label)
{
	rs_err err = {{0}};
	const rs_config *c = &m->cfg;
	int hd = c->head_dim, d = c->d_model, H = c->n_heads, rep = c->n_heads / c->n_kv_heads;
	int32_t toks[5] = {3, 17, 42, 5, 60};
	for (int head = 0; head < H; head += H - 1) {
		circ_result *qk = circ_run(m, CIRC_QK, 0, head, toks, 5, &err);
		circ_result *ov = circ_run(m, CIRC_OV, 0, head, toks, 5, &err);
		if (!tap_ok(qk && ov, "%s: circuits of L0H%d (%s)", label, head, qk && ov ? "" : err.msg)) {
			circ_free(qk);
			circ_free(ov);
			return;
		}
		/* the engine on each token alone: q, k at position 0 (no rotation), the head's output */
		float *q = rs_xmalloc(sizeof(float) * 5 * hd), *k = rs_xmalloc(sizeof(float) * 5 * hd);
		float *out = rs_xmalloc(sizeof(float) * 5 * (size_t)H * d);
		rs_engine *e = eng_create(m, &err);
		for (int i = 0; i < 5; i++) {
			eng_set_prompt(e, &toks[i], 1, &err);
			eng_run(e);
			const rs_act *rq = eng_act(e, (rs_hook){HOOK_ROT_Q, 0}), *rk = eng_act(e, (rs_hook){HOOK_ROT_K, 0});
			memcpy(q + i * hd, rq->data + head * hd, sizeof(float) * hd);
			memcpy(k + i * hd, rk->data + (head / rep) * hd, sizeof(float) * hd);
			interp_head_outputs(e, 0, 0, out + (size_t)i * H * d, &err);
		}
		eng_free(e);
		double worst_qk = 0, worst_ov = 0, tol_qk = 0, tol_ov = 0;
		float *u = rs_xmalloc(sizeof(float) * d);
		for (int a = 0; a < 5; a++)
			for (int b = 0; b < 5; b++) {
				double ref = dot_d(q + a * hd, k + b * hd, hd) / sqrt((double)hd);
				worst_qk = fmax(worst_qk, fabs(ref - qk->m[a * 5 + b]));
				/* each side is a d-term f32 dot product per entry: relative error ≲ 2 d u */
				tol_qk = fmax(tol_qk, 4.0 * d * U32 * norm_d(q + a * hd, hd) * norm_d(k + b * hd, hd) / sqrt(hd));
				mat_row(&m->output, toks[b], u);
				for (int j = 0; j < d; j++)
					u[j] *= m->final_norm[j];
				const float *o = out + ((size_t)a * H + head) * d;
				double ref_ov = dot_d(u, o, d);
				worst_ov = fmax(worst_ov, fabs(ref_ov - ov->m[a * 5 + b]));
				tol_ov = fmax(tol_ov, 4.0 * (d + hd) * U32 * norm_d(u, d) * norm_d(o, d) + 1e-6);
			}
		tap_ok(worst_qk <= tol_qk, "%s: QK circuit of L0H%d = the engine's rot_q . rot_k / sqrt(hd) at position 0 "
			   "(max diff %.2g, tolerance %.2g)", label, head, worst_qk, tol_qk);
		tap_ok(worst_ov <= tol_ov, "%s: OV circuit of L0H%d = the engine's head output read by W_U with w_final "
			   "(max diff %.2g, tolerance %.2g)", label, head, worst_ov, tol_ov);
		free(u);
		free(q);
		free(k);
		free(out);
		circ_free(qk);
		circ_free(ov);
	}
}

/* ---------------------------------------------------------------- eigenvalues */
static void check_copy_scores(void)
{
	rs_err err = {{0}};
	double re[3], im[3], sc, pos;
	double diag[9] = {1, 0, 0, 0, 2, 0, 0, 0, 3};
	double rot[4] = {0, -1, 1, 0};
	double mixed[4] = {2, 0, 0, -1};
	double upper[9] = {1, 5, 7, 0, 2, 9, 0, 0, -0.5}; /* triangular: eigenvalues on the diagonal */
	if (!tap_ok(circ_eigen(diag, 3, re, im, &err) == 0, "eigenvalues of diag(1, 2, 3) (%s)", err.msg))
		return;
	circ_copy_scores(re, im, 3, &sc, &pos);
	tap_ok(fabs(sc - 1) < 1e-12 && pos == 1, "copying score of diag(1, 2, 3): 1, all positive (%g, %g)", sc, pos);
	circ_eigen(rot, 2, re, im, &err);
	circ_copy_scores(re, im, 2, &sc, &pos);
	tap_ok(fabs(sc) < 1e-12 && pos == 0 && fabs(fabs(im[0]) - 1) < 1e-12,
	       "a rotation by 90 degrees: eigenvalues +-i, copying score 0 (%g)", sc);
	circ_eigen(mixed, 2, re, im, &err);
	circ_copy_scores(re, im, 2, &sc, &pos);
	tap_ok(fabs(sc - 1.0 / 3) < 1e-12 && pos == 0.5, "diag(2, -1): (2 - 1) / 3 and half positive (%g, %g)", sc, pos);
	circ_eigen(upper, 3, re, im, &err);
	circ_copy_scores(re, im, 3, &sc, &pos);
	tap_ok(fabs(sc - 2.5 / 3.5) < 1e-12, "triangular with diagonal 1, 2, -0.5: 2.5 / 3.5 (%g)", sc);
}

/* Σ of the OV core's eigenvalues is its trace = Σ_t OV[t, t] over the vocabulary. */
static void check_ov_trace(const rs_model *m, const char *label)
{
	rs_err err = {{0}};
	int V = m->cfg.vocab;
	int32_t *all = rs_xmalloc(sizeof(int32_t) * V);
	for (int i = 0; i < V; i++)
		all[i] = i;
	circ_result *r = circ_run(m, CIRC_OV, m->cfg.n_layers - 1, 1, all, V, &err);
	if (!tap_ok(r && r->have_eig, "%s: OV eigenvalues of the last layer's head 1 (%s)", label,
		    r ? (r->eig_note ? r->eig_note : "") : err.msg)) {
		circ_free(r);
		free(all);
		return;
	}
	double tr = 0, diag = 0, mag = 0;
	for (int i = 0; i < r->n_eig; i++)
		tr += r->eig_re[i];
	for (int t = 0; t < V; t++) {
		diag += r->m[(size_t)t * V + t];
		mag += fabs(r->m[(size_t)t * V + t]);
	}
	/* the diagonal entries are f32 (d-term sums, each with relative error ≲ 2 d u) */
	double tol = 4.0 * m->cfg.d_model * U32 * mag + 1e-9;
	tap_ok(fabs(tr - diag) <= tol, "%s: sum of the OV core's eigenvalues %.6f = the full OV circuit's trace over the "
		   "vocabulary %.6f (tolerance %.2g)", label, tr, diag, tol);
	circ_free(r);
	free(all);
}

/* ---------------------------------------------------------------- composition */
/* x [d, d] = A [d, r] · B [r, d] (double) */
static void prod(double *x, const double *a, const double *b, int d, int r, int cols)
{
	for (int i = 0; i < d; i++)
		for (int j = 0; j < cols; j++) {
			double s = 0;
			for (int k = 0; k < r; k++)
				s += a[(size_t)i * r + k] * b[(size_t)k * cols + j];
			x[(size_t)i * cols + j] = s;
		}
}

static double frob(const double *x, int n)
{
	double s = 0;
	for (int i = 0; i < n; i++)
		s += x[i] * x[i];
	return sqrt(s);
}

static void check_composition(const rs_model *m, const char *label)
{
	rs_err err = {{0}};
	int d = m->cfg.d_model, hd = m->cfg.head_dim;
	circ_head recv, send;
	if (!tap_ok(circ_head_load(m, 1, 2, &recv, &err) == 0 && circ_head_load(m, 0, 1, &send, &err) == 0,
		    "%s: head factors (%s)", label, err.msg))
		return;
	/* explicit d × d matrices: W_QK = Qᵀ K, W_OV = O V */
	size_t dd = (size_t)d * d;
	double *qt = rs_xmalloc(sizeof(double) * d * hd), *kk = rs_xmalloc(sizeof(double) * d * hd);
	double *o_r = rs_xmalloc(sizeof(double) * d * hd), *v_r = rs_xmalloc(sizeof(double) * d * hd);
	double *o_s = rs_xmalloc(sizeof(double) * d * hd), *v_s = rs_xmalloc(sizeof(double) * d * hd);
	for (int i = 0; i < hd; i++)
		for (int j = 0; j < d; j++) {
			qt[(size_t)j * hd + i] = recv.q[(size_t)i * d + j];
			kk[(size_t)i * d + j] = recv.k[(size_t)i * d + j];
			v_r[(size_t)i * d + j] = recv.v[(size_t)i * d + j];
			v_s[(size_t)i * d + j] = send.v[(size_t)i * d + j];
			o_r[(size_t)j * hd + i] = recv.o[(size_t)j * hd + i];
			o_s[(size_t)j * hd + i] = send.o[(size_t)j * hd + i];
		}
	double *qk = rs_xmalloc(sizeof(double) * dd), *ovr = rs_xmalloc(sizeof(double) * dd);
	double *ovs = rs_xmalloc(sizeof(double) * dd), *x = rs_xmalloc(sizeof(double) * dd);
	double *qkt = rs_xmalloc(sizeof(double) * dd);
	prod(qk, qt, kk, d, hd, d);
	prod(ovr, o_r, v_r, d, hd, d);
	prod(ovs, o_s, v_s, d, hd, d);
	for (int i = 0; i < d; i++)
		for (int j = 0; j < d; j++)
			qkt[(size_t)i * d + j] = qk[(size_t)j * d + i];
	double want[3];
	prod(x, qkt, ovs, d, d, d); /* Q: W_QKᵀ W_OV */
	want[COMP_Q] = frob(x, d * d) / (frob(qk, d * d) * frob(ovs, d * d));
	prod(x, qk, ovs, d, d, d); /* K: W_QK W_OV */
	want[COMP_K] = frob(x, d * d) / (frob(qk, d * d) * frob(ovs, d * d));
	prod(x, ovr, ovs, d, d, d); /* V */
	want[COMP_V] = frob(x, d * d) / (frob(ovr, d * d) * frob(ovs, d * d));
	static const char *const kn[] = {"Q", "K", "V"};
	comp_result *all = comp_run(m, COMP_K, &err);
	for (int kind = 0; kind < 3; kind++) {
		double got = comp_score(&recv, &send, kind);
		tap_ok(fabs(got - want[kind]) <= 1e-9 * want[kind] && got <= 1.0,
		       "%s: %s-composition of L1H2 with L0H1 from Gram matrices %.9f = the explicit d x d product %.9f",
		       label, kn[kind], got, want[kind]);
	}
	int H = m->cfg.n_heads, NH = m->cfg.n_layers * H;
	tap_ok(all && fabsf(all->score[(size_t)(1 * H + 2) * NH + 1] - (float)want[COMP_K]) <= 1e-6f * want[COMP_K] &&
		       isnan(all->score[(size_t)(1 * H + 2) * NH + H + 1]),
	       "%s: the grid holds that K score, and NaN for a sender of the receiver's own layer", label);
	/* ‖A M B‖ with every Gram the identity and M = I is ‖I_r‖ = √r */
	double *id = rs_xcalloc((size_t)hd * hd, sizeof(double));
	for (int i = 0; i < hd; i++)
		id[(size_t)i * hd + i] = 1;
	tap_ok(fabs(comp_frob(id, id, id, hd) - sqrt(hd)) < 1e-12, "comp_frob of identities is sqrt(r)");
	comp_free(all);
	free(id);
	free(qt), free(kk), free(o_r), free(v_r), free(o_s), free(v_s), free(qk), free(ovr), free(ovs), free(x), free(qkt);
	circ_head_free(&recv);
	circ_head_free(&send);
}

/* ---------------------------------------------------------------- path patching */
/* Wang et al.'s freeze-then-patch with plain interventions: run the base
 * prompt with the sender's z from the source run and every other head (z) and
 * MLP between frozen at the base run; take the receiver's input (rot_q,
 * rot_k or v) there; rerun the base prompt with just that input replaced. */
static float wang_path(const rs_model *m, const rs_engine *base, const rs_engine *src, int SL, int SH, int RL, int RH,
		       int input, const interp_metric *mt)
{
	rs_err err = {{0}};
	const rs_config *c = &m->cfg;
	int n = eng_n_tokens(base);
	rs_engine *a = eng_create(m, &err), *b = eng_create(m, &err);
	eng_set_prompt(a, eng_tokens(base), n, &err);
	const rs_act *zs = eng_act(src, (rs_hook){HOOK_Z, SL});
	rs_intervention iv = {.hook = {HOOK_Z, SL}, .kind = IV_REPLACE, .head = SH, .pos = -1, .index = -1,
			      .values = zs->data, .n_values = zs->numel};
	eng_add_intervention(a, &iv, &err);
	for (int l = SL; l < RL; l++) {
		const rs_act *mo = eng_act(base, (rs_hook){HOOK_MLP_OUT, l});
		rs_intervention f = {.hook = {HOOK_MLP_OUT, l}, .kind = IV_REPLACE, .head = -1, .pos = -1, .index = -1,
				     .values = mo->data, .n_values = mo->numel};
		eng_add_intervention(a, &f, &err);
		if (l == SL)
			continue;
		const rs_act *z = eng_act(base, (rs_hook){HOOK_Z, l});
		rs_intervention fz = {.hook = {HOOK_Z, l}, .kind = IV_REPLACE, .head = -1, .pos = -1, .index = -1,
				      .values = z->data, .n_values = z->numel};
		eng_add_intervention(a, &fz, &err);
	}
	eng_run(a);
	int kind = input == PP_IN_Q ? HOOK_ROT_Q : input == PP_IN_K ? HOOK_ROT_K : HOOK_V;
	int head = input == PP_IN_Q ? RH : RH / (c->n_heads / c->n_kv_heads);
	const rs_act *in = eng_act(a, (rs_hook){kind, RL});
	eng_set_prompt(b, eng_tokens(base), n, &err);
	rs_intervention p = {.hook = {kind, RL}, .kind = IV_REPLACE, .head = head, .pos = -1, .index = -1,
			     .values = in->data, .n_values = in->numel};
	eng_add_intervention(b, &p, &err);
	eng_run(b);
	float v = NAN;
	interp_metric_engine(b, mt, &v, &err);
	eng_free(a);
	eng_free(b);
	return v;
}

static void check_path_patching(const rs_model *m, const char *label, int mha)
{
	rs_err err = {{0}};
	const rs_config *c = &m->cfg;
	int T = 9, L = c->n_layers;
	int32_t base[9], src[9];
	random_ids(base, T, c->vocab, 5);
	memcpy(src, base, sizeof base);
	src[3] = (base[3] + 7) % c->vocab; /* the prompts differ at two positions */
	src[6] = (base[6] + 11) % c->vocab;
	interp_metric mt = {-1, 4, 9};
	pp_ctx *p = pp_create(m, src, base, T, &mt, &err);
	patch_ctx *pc = patch_create(m, src, base, T, &mt, &err);
	if (!tap_ok(p && pc, "%s: path patching context (%s)", label, err.msg)) {
		pp_free(p);
		patch_free(pc);
		return;
	}
	float span = fabsf(pp_source_metric(p) - pp_base_metric(p)) + fabsf(pp_base_metric(p));
	pp_receiver *all = rs_xmalloc(sizeof *all * (size_t)pp_all_downstream(c, 0, 0, NULL));
	for (int SL = 0; SL < L; SL++) {
		int SH = (SL + 1) % c->n_heads, n = pp_all_downstream(c, SL, 0, all);
		float pv = NAN, av = NAN;
		rs_hook z = {HOOK_Z, SL};
		int ok = pp_run(p, SL, SH, all, n, &pv, &err) == 0 && patch_one(pc, &z, SH, -1, &av, &err) == 0;
		/* the two differ only in the order of one sum: W_O z at the sender's
		 * layer is one matmul there, base plus W_O Δz here; that relative
		 * rounding (≲ H·hd·u) grows through the layers after it, bounded
		 * here by 1e-4 of the metric's scale */
		float tol = 1e-4f * (1 + span);
		tap_ok(ok && fabsf(pv - av) <= tol, "%s: path patching L%dH%d into all %d downstream receivers %.6f = "
			   "activation patching of its z %.6f (tolerance %.2g) %s", label, SL, SH, n, pv, av, tol,
		       ok ? "" : err.msg);
	}
	for (int SL = 0; SL < L; SL += L - 1) { /* an MLP as the sender */
		int n = pp_all_downstream(c, SL, 1, all);
		float pv = NAN, av = NAN, tol = 1e-4f * (1 + span);
		rs_hook mo = {HOOK_MLP_OUT, SL};
		int ok = pp_run(p, SL, -1, all, n, &pv, &err) == 0 && patch_one(pc, &mo, -1, -1, &av, &err) == 0;
		tap_ok(ok && fabsf(pv - av) <= tol, "%s: path patching the L%d MLP into all %d downstream receivers %.6f = "
			   "activation patching of its mlp_out %.6f (tolerance %.2g)", label, SL, n, pv, av, tol);
	}
	/* one receiver: Wang's freeze-then-patch */
	const rs_engine *be = patch_corrupt_engine(pc), *se = patch_clean_engine(pc);
	int inputs[3] = {PP_IN_Q, PP_IN_K, PP_IN_V};
	for (int i = 0; i < (mha ? 3 : 1); i++) {
		pp_receiver r = {PP_HEAD, L - 1, 1, inputs[i]};
		float pv = NAN, wv = wang_path(m, be, se, 0, 2, L - 1, 1, inputs[i], &mt);
		int ok = pp_run(p, 0, 2, &r, 1, &pv, &err) == 0;
		float tol = 1e-4f * (1 + span);
		tap_ok(ok && fabsf(pv - wv) <= tol, "%s: L0H2 into L%dH1.%c only %.6f = freeze-then-patch with "
			   "interventions %.6f (tolerance %.2g)", label, L - 1, "qkv"[i], pv, wv, tol);
	}
	/* no path: a receiver the sender cannot reach changes nothing */
	pp_receiver bad = {PP_HEAD, 0, 0, 7};
	float v;
	tap_ok(pp_run(p, 1, 0, &bad, 1, &v, &err) != 0 && strstr(err.msg, "after"),
	       "%s: a receiver before the sender is refused (%s)", label, err.msg);
	free(all);
	pp_free(p);
	patch_free(pc);
}

/* ---------------------------------------------------------------- attribution patching */
static void check_attrib(const rs_model *m, const char *label)
{
	rs_err err = {{0}};
	const rs_config *c = &m->cfg;
	int T = 8, d = c->d_model;
	int32_t base[8], src[8];
	random_ids(base, T, c->vocab, 9);
	memcpy(src, base, sizeof base);
	src[2] = (base[2] + 5) % c->vocab;
	src[5] = (base[5] + 3) % c->vocab;
	interp_metric mt = {-1, 7, 12};
	/* ln_final.hook_out: the logits are W_U times it, so the metric is
	 * linear in it and the first-order estimate is exact */
	attrib_result *r = attrib_run(m, src, base, T, &mt, HOOK_LNF_OUT, 0, -1, &err);
	patch_ctx *pc = patch_create(m, src, base, T, &mt, &err);
	if (!tap_ok(r && pc, "%s: attribution of ln_final.hook_out (%s)", label, err.msg)) {
		attrib_free(r);
		patch_free(pc);
		return;
	}
	float mx = 0;
	const rs_act *lg = eng_act(patch_corrupt_engine(pc), (rs_hook){HOOK_LOGITS, -1});
	for (int64_t i = 0; i < lg->numel; i++)
		mx = fmaxf(mx, fabsf(lg->data[i]));
	/* the same function in a different order of sums: f32 rounding, relative ≲ (d + ff) u per layer */
	float tol_logit = 1e-4f * (1 + mx);
	tap_ok(r->max_logit_diff <= tol_logit, "%s: the trainer's forward on the copied weights = the engine's logits "
		   "(max diff %.2g, tolerance %.2g)", label, r->max_logit_diff, tol_logit);
	double worst = 0, scale = 0;
	for (int t = 0; t < T; t++) {
		rs_hook h = {HOOK_LNF_OUT, -1};
		float v;
		patch_one(pc, &h, -1, t, &v, &err);
		float exact = v - patch_corrupt_metric(pc);
		worst = fmax(worst, fabs(exact - r->est[t]));
		scale = fmax(scale, fabs(exact));
	}
	double tol = 1e-5 * (1 + scale) + 2.0 * d * U32 * mx;
	tap_ok(worst <= tol, "%s: attribution patching of ln_final.hook_out = the exact patch at every position "
		   "(max diff %.2g, tolerance %.2g)", label, worst, tol);
	attrib_free(r);

	/* the gradient at blocks.1.hook_resid_pre against a central difference
	 * through the engine, along a random direction at position 3 */
	float *g = rs_xmalloc(sizeof(float) * (size_t)T * d), *u = rs_xmalloc(sizeof(float) * d), md;
	uint64_t seed = 77;
	for (int i = 0; i < d; i++)
		u[i] = tm_normal(&seed);
	rs_hook at = {HOOK_RESID_PRE, 1};
	if (attrib_grad(m, base, T, &mt, at, g, &md, &err)) {
		tap_ok(0, "%s: gradient (%s)", label, err.msg);
	} else {
		double analytic = dot_d(g + 3 * d, u, d), fx[2];
		const rs_act *x = eng_act(patch_corrupt_engine(pc), at);
		double eps = 1e-2 * norm_d(x->data + 3 * d, d) / norm_d(u, d);
		for (int sgn = 0; sgn < 2; sgn++) {
			rs_engine *e = eng_create(m, &err);
			eng_set_prompt(e, base, T, &err);
			rs_intervention iv = {.hook = at, .kind = IV_ADD, .head = -1, .pos = 3, .index = -1, .values = u,
					      .n_values = d, .scale = (float)(sgn ? -eps : eps)};
			eng_add_intervention(e, &iv, &err);
			eng_run(e);
			float f;
			interp_metric_engine(e, &mt, &f, &err);
			fx[sgn] = f;
			eng_free(e);
		}
		double numeric = (fx[0] - fx[1]) / (2 * eps);
		/* central difference: O(eps²) truncation plus f32 noise of the
		 * metric (≈ 1e-4 of the logits' scale here) over 2 eps */
		double tolg = 2e-2 * fabs(numeric) + 1e-4 * (1 + mx) / eps;
		tap_ok(fabs(analytic - numeric) <= tolg, "%s: d metric / d resid_pre[1] along a direction %.5f = the "
			   "engine's central difference %.5f (tolerance %.2g)", label, analytic, numeric, tolg);
	}
	free(g);
	free(u);
	patch_free(pc);
}

/* ---------------------------------------------------------------- the built-in model */
static void check_builtin(void)
{
	rs_err err = {{0}};
	char path[512];
	const char *top = getenv("TOP_SRCDIR");
	snprintf(path, sizeof path, "%s/assets/residual-tiny.gguf", top ? top : SRCDIR);
	rs_model *m = model_load(path, &err);
	if (!m || !m->tok) {
		tap_diag("no built-in model at %s: skipped", path);
		model_free(m);
		return;
	}
	const char *clean_s = "When Nora and Hugo went to the park, Hugo gave a ball to";
	const char *corr_s = "When Nora and Hugo went to the park, Felix gave a ball to";
	int32_t *clean, *corr, nora, hugo, *one;
	int n1, n2, k;
	tok_encode(m->tok, clean_s, strlen(clean_s), TOK_ADD_BOS, &clean, NULL, &n1, &err);
	tok_encode(m->tok, corr_s, strlen(corr_s), TOK_ADD_BOS, &corr, NULL, &n2, &err);
	tok_encode(m->tok, " Nora", 5, 0, &one, NULL, &k, &err);
	nora = one[0];
	free(one);
	tok_encode(m->tok, " Hugo", 5, 0, &one, NULL, &k, &err);
	hugo = one[0];
	free(one);
	interp_metric mt = {-1, nora, hugo};
	int kinds[] = {HOOK_RESID_PRE, HOOK_ATTN_OUT, HOOK_MLP_OUT, HOOK_Z};
	patch_ctx *pc = patch_create(m, clean, corr, n1, &mt, &err);
	for (int i = 0; pc && i < 4; i++) {
		int heads = kinds[i] == HOOK_Z;
		attrib_result *r = attrib_run(m, clean, corr, n1, &mt, kinds[i], heads, -1, &err);
		patch_sweep *sw = heads ? patch_sweep_heads(pc, kinds[i], -1, &err) : patch_sweep_pos(pc, kinds[i], &err);
		double corr_v = r && sw ? attrib_corr(r->norm, sw->norm, sw->rows * sw->cols) : NAN;
		tap_ok(corr_v > 0, "built-in model, lesson 12's IOI prompts: attribution vs activation patching of %s%s: "
			   "correlation %.4f", hook_kind_name(kinds[i]), heads ? " by head" : " by layer and position", corr_v);
		attrib_free(r);
		patch_sweep_free(sw);
	}
	/* the JSON of each result parses back with its numbers */
	attrib_result *ar = attrib_run(m, clean, corr, n1, &mt, HOOK_Z, 1, -1, &err);
	comp_result *cr = comp_run(m, COMP_K, &err);
	circ_result *qr = circ_run(m, CIRC_OV, 0, 4, &nora, 1, &err);
	cJSON *ja = ar ? attrib_to_json(ar, &mt) : NULL, *jc = cr ? comp_to_json(cr) : NULL;
	cJSON *jq = qr ? circ_to_json(qr, NULL, NULL) : NULL;
	char *txt = ja ? cJSON_PrintUnformatted(ja) : NULL;
	cJSON *back = txt ? cJSON_Parse(txt) : NULL;
	cJSON *est = back ? cJSON_GetObjectItem(back, "estimate") : NULL;
	cJSON *row3 = est ? cJSON_GetArrayItem(est, 3) : NULL;
	tap_ok(row3 && fabs(cJSON_GetArrayItem(row3, 1)->valuedouble - ar->est[3 * ar->cols + 1]) < 1e-6,
	       "attrib's JSON reads back: estimate[3][1] = %g", ar ? ar->est[3 * ar->cols + 1] : NAN);
	cJSON *sc = jc ? cJSON_GetObjectItem(jc, "scores") : NULL;
	cJSON *r33 = sc ? cJSON_GetArrayItem(sc, 3 * m->cfg.n_heads + 3) : NULL;
	cJSON *snd = r33 ? cJSON_GetArrayItem(cJSON_GetObjectItem(r33, "senders"), 2) : NULL;
	int NH = m->cfg.n_layers * m->cfg.n_heads;
	tap_ok(snd && fabs(cJSON_GetArrayItem(snd, 4)->valuedouble - cr->score[(size_t)(3 * m->cfg.n_heads + 3) * NH +
									      2 * m->cfg.n_heads + 4]) < 1e-6 &&
		       cJSON_IsNull(cJSON_GetArrayItem(cJSON_GetArrayItem(cJSON_GetObjectItem(r33, "senders"), 3), 0)),
	       "composition's JSON: scores[L3H3].senders[2][4] is the score, a same-layer sender null");
	tap_ok(jq && cJSON_GetObjectItem(jq, "copy_score") &&
		       fabs(cJSON_GetObjectItem(jq, "copy_score")->valuedouble - qr->copy_score) < 1e-9,
	       "circuit's JSON has the copying score");
	free(txt);
	cJSON_Delete(back);
	cJSON_Delete(ja);
	cJSON_Delete(jc);
	cJSON_Delete(jq);
	attrib_free(ar);
	comp_free(cr);
	circ_free(qr);
	patch_free(pc);
	free(clean);
	free(corr);
	model_free(m);
}

int main(void)
{
	rs_err err = {{0}};
	check_copy_scores();
	struct { const char *label; int type, tied, kv; } kinds[] = {
		{"random F32 GQA tied", RS_F32, 1, 2},
		{"random F16 MHA tied", RS_F16, 1, 4},
		{"random F32 GQA untied", RS_F32, 0, 2},
	};
	char path[256];
	for (size_t k = 0; k < sizeof kinds / sizeof *kinds; k++) {
		tm_model tm = {.n_layers = 3, .d = 48, .n_heads = 4, .n_kv_heads = kinds[k].kv, .head_dim = 12,
			       .d_ff = 64, .vocab = 80, .tied = kinds[k].tied, .bos = 1, .rope_theta = 10000,
			       .rms_eps = 1e-5f};
		tm_alloc(&tm);
		tm_randomize(&tm, 0.3f, 31 + k);
		snprintf(path, sizeof path, "/tmp/test_circuits_%d_%zu.gguf", (int)getpid(), k);
		int ok = tm_write_gguf(&tm, path, kinds[k].type, &err) == 0;
		tm_free(&tm);
		rs_model *m = ok ? model_load(path, &err) : NULL;
		unlink(path);
		if (!tap_ok(m != NULL, "%s: written and loaded (%s)", kinds[k].label, m ? "" : err.msg))
			continue;
		check_qk_ov(m, kinds[k].label);
		check_ov_trace(m, kinds[k].label);
		check_composition(m, kinds[k].label);
		check_path_patching(m, kinds[k].label, kinds[k].kv == 4);
		if (kinds[k].tied) {
			check_attrib(m, kinds[k].label);
		} else {
			attrib_result *r = attrib_run(m, (int32_t[]){1, 2, 3}, (int32_t[]){1, 2, 4}, 3,
						      &(interp_metric){-1, 5, 6}, HOOK_RESID_PRE, 0, -1, &err);
			tap_ok(!r && strstr(err.msg, "tied"), "%s: attribution patching says it needs tied embeddings (%s)",
			       kinds[k].label, err.msg);
			attrib_free(r);
		}
		model_free(m);
	}
	check_builtin();
	return tap_done_plan();
}
