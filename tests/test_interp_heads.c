/* test_interp_heads.c - head scores, repeated tokens, attribution, ablation and
 * patching on a model whose circuit is built by hand, so the right answers are
 * known before anything runs.
 *
 * Vocabulary of 16 (0 = BOS), d_model 64 split into subspaces:
 *   E [0,16)  the current token, one-hot (the embedding, with C)
 *   C 16      a constant 1 in every embedding, so layer 0 can make
 *             token-independent queries and keys
 *   P [17,33) the previous token, one-hot, written by the previous-token head
 *   O [33,49) the predicted next token, written by the induction head, read
 *             by the unembedding.
 * Every token's embedding has the same norm, so RMSNorm scales all positions
 * alike and the weights can undo it exactly (s0, s1 below).
 *
 * Layer 0 head 0, previous-token: its query and key come from C only and use
 * the one RoPE pair with a real frequency θ (rope_freqs sets θ = 0.18 for
 * pair 0 and ~0 for the others). With q = (a, 0) and k = b(cos θ, sin θ)
 * before rotation, q·k after RoPE at positions t, s is ab·cos((s + 1 - t)θ),
 * largest at s = t - 1 and, for t - s < π/θ + 1, falling away on both sides;
 * ab is large enough that the neighbours get e^-24 of the weight. Its value
 * copies E, its output writes it into P.
 * Layer 0 head 1, duplicate-token-like: query and key both E (through the
 * zero-frequency pairs), so a token attends equally to itself and its earlier
 * copies; value 0, so it writes nothing.
 * Layer 1 head 0, induction: query E, key P, so position t attends to s
 * when tokens[s-1] = tokens[t], the token after an earlier copy; its value
 * copies E into O, so the model predicts that token.
 * Layer 1 head 1 and both MLPs: all zero (a zero head attends uniformly).
 */
#include "config.h"
#include "tap.h"
#include "interp.h"
#include "dtype.h"
#include "interp_models.h"

#include <cJSON.h>
#include <unistd.h>

enum { V = 16, D = 64, HD = 18, E0 = 0, C0 = 16, P0 = 17, O0 = 33 };

/* head dimension carrying token i in the zero-frequency pairs (not 0 or 9) */
static int content_dim(int i) { return i < 8 ? 1 + i : 10 + (i - 8); }

static void build(tm_model *m)
{
	*m = (tm_model){.n_layers = 2, .d = D, .n_heads = 2, .n_kv_heads = 2, .head_dim = HD, .d_ff = 32,
			.vocab = V, .tied = 0, .bos = 0, .rope_theta = 10000, .rms_eps = 1e-6f};
	tm_alloc(m);
	float theta = 0.18f;
	m->rope_freqs = rs_xmalloc(sizeof(float) * HD / 2);
	m->rope_freqs[0] = 1.0f / theta; /* base frequency of pair 0 is 1 */
	for (int i = 1; i < HD / 2; i++)
		m->rope_freqs[i] = 1e12f;
	for (int v = 0; v < V; v++) {
		m->embd[v * D + E0 + v] = 1;
		m->embd[v * D + C0] = 1;
		m->out[v * D + O0 + v] = 8;
	}
	/* 1/RMSNorm scale of the residual in each layer: 2 and 3 unit entries */
	float s0 = 1.0f / sqrtf(2.0f / D + m->rms_eps), s1 = 1.0f / sqrtf(3.0f / D + m->rms_eps);
	float ab = sqrtf(1500.0f * sqrtf((float)HD)), beta = 30.0f * sqrtf((float)HD);
	tm_layer *L0 = &m->layers[0], *L1 = &m->layers[1];
	/* L0H0: previous token */
	L0->wq[0 * D + C0] = ab / s0;
	L0->wk[0 * D + C0] = ab * cosf(theta) / s0;
	L0->wk[9 * D + C0] = ab * sinf(theta) / s0;
	for (int i = 0; i < V; i++) {
		L0->wv[i * D + E0 + i] = 1 / s0;
		L0->wo[(P0 + i) * 2 * HD + i] = 1;
	}
	/* L0H1: same token (itself and earlier copies), writes nothing */
	for (int i = 0; i < V; i++) {
		L0->wq[(HD + content_dim(i)) * D + E0 + i] = beta / s0;
		L0->wk[(HD + content_dim(i)) * D + E0 + i] = 1 / s0;
	}
	/* L1H0: induction */
	for (int i = 0; i < V; i++) {
		L1->wq[content_dim(i) * D + E0 + i] = beta / s1;
		L1->wk[content_dim(i) * D + P0 + i] = 1 / s1;
		L1->wv[i * D + E0 + i] = 1 / s1;
		L1->wo[(O0 + i) * 2 * HD + i] = 1;
	}
}

static const int32_t seq[17] = {0, 3, 7, 1, 12, 5, 9, 14, 2, 3, 7, 1, 12, 5, 9, 14, 2};
#define NT 17

static void check_scores(const rs_model *m)
{
	rs_err err = {{0}};
	rs_engine *e = eng_create(m, &err);
	eng_set_prompt(e, seq, NT, &err);
	eng_run(e);
	head_scores *s = heads_score(e, &err);
	if (!tap_ok(s != NULL, "head scores (%s)", s ? "ok" : err.msg))
		return;
	for (int l = 0; l < 2; l++)
		tap_diag("layer %d: prev %.4f %.4f  dup %.4f %.4f  induction %.4f %.4f  first %.4f %.4f", l,
			 s->prev[l * 2], s->prev[l * 2 + 1], s->dup[l * 2], s->dup[l * 2 + 1], s->induction[l * 2],
			 s->induction[l * 2 + 1], s->first[l * 2], s->first[l * 2 + 1]);
	tap_ok(s->prev[0] > 0.99f, "L0H0 is a previous-token head: score %.5f", s->prev[0]);
	tap_ok(s->induction[2] > 0.99f, "L1H0 is an induction head: score %.5f", s->induction[2]);
	tap_ok(fabsf(s->dup[1] - 0.5f) < 0.01f, "L0H1 splits its attention between a token and its copy: dup %.5f",
	       s->dup[1]);
	int low = 1;
	for (int h = 0; h < 4; h++) {
		if (h != 0)
			low &= s->prev[h] < 0.2f;
		if (h != 2)
			low &= s->induction[h] < 0.2f;
	}
	tap_ok(low, "the other heads score low on previous-token and induction");
	/* the zero head attends uniformly: 1/(t+1) everywhere, entropy log(t+1) */
	double prev = 0, ent_err = 0;
	for (int t = 1; t < NT; t++) {
		prev += 1.0 / (t + 1);
		ent_err = fmax(ent_err, fabs(s->entropy_q[(size_t)3 * NT + t] - log(t + 1.0)));
	}
	prev /= NT - 1;
	tap_ok(fabs(s->prev[3] - prev) < 1e-5 && fabs(s->first[3] - prev) < 1e-5 && ent_err < 1e-5,
	       "L1H1 (zero weights) is uniform: prev = first = %.5f, entropy per query log(t+1) (%.1e)", prev, ent_err);
	heads_free(s);

	/* attribution: at a second-half position the induction head makes the logit */
	interp_metric mt = {12, seq[13], -1};
	dla_result *r = dla_run(e, &mt, &err);
	char name[32];
	if (tap_ok(r != NULL, "DLA on the built model (%s)", r ? "ok" : err.msg)) {
		tap_ok(r->comp[r->order[0]].kind == DLA_HEAD && r->comp[r->order[0]].layer == 1 &&
		       r->comp[r->order[0]].head == 0 && r->comp[r->order[0]].value > 0.9f * r->logit &&
		       fabsf(r->total - r->logit) < 1e-4f,
		       "the logit of the copied token (%.3f) comes from %s (%.3f)", r->logit,
		       dla_component_name(&r->comp[r->order[0]], name, sizeof name), r->comp[r->order[0]].value);
		dla_free(r);
	}
	/* the lens sees the prediction only after layer 1's attention: before,
	 * nothing in the residual stream is read by the unembedding (uniform) */
	lens_opts lo = {LENS_RESID_MID | LENS_RESID_POST, 12, 3, LENS_TARGET_TOKEN, seq[13]};
	lens_result *lr = lens_run(e, &lo, &err);
	tap_ok(lr && lr->n_sites == 4 && fabsf(lr->target_prob[lens_cell(lr, 1, 0)] - 1.0f / V) < 1e-6f &&
	       lr->target_rank[lens_cell(lr, 2, 0)] == 1 && lr->target_prob[lens_cell(lr, 2, 0)] > 0.99f,
	       "logit lens: the copied token at p 1/16 after layer 0, p %.4f after layer 1's attention",
	       lr ? lr->target_prob[lens_cell(lr, 2, 0)] : 0);
	lens_free(lr);
	eng_free(e);
}

static void check_rep(const rs_model *m)
{
	rs_err err = {{0}};
	rep_opts o = {.n = 7, .seed = 42};
	rep_result *r = rep_run(m, &o, &err);
	if (!tap_ok(r != NULL, "repeated random tokens (%s)", r ? "ok" : err.msg))
		return;
	int ok = r->T == 15 && r->bos && r->tokens[0] == 0;
	for (int i = 0; i < 7; i++)
		ok &= r->tokens[1 + i] == r->tokens[8 + i] && r->tokens[1 + i] > 0 && r->tokens[1 + i] < V;
	tap_ok(ok, "BOS + 7 random tokens twice");
	char toks[64] = "";
	for (int i = 0; i < r->T; i++)
		snprintf(toks + strlen(toks), sizeof toks - strlen(toks), " %d", r->tokens[i]);
	tap_diag("tokens%s", toks);
	tap_ok(r->loss_first > r->loss_second + 1.5f && r->loss_second < 0.5f * r->loss_first,
	       "loss falls in the second half: %.3f -> %.3f nats", r->loss_first, r->loss_second);
	tap_ok(r->scores->induction[2] > 0.95f, "ARENA's induction score of L1H0 on it: %.4f", r->scores->induction[2]);
	cJSON *j = interp_rep_to_json(r, NULL, NULL);
	tap_ok(j && cJSON_GetArraySize(cJSON_GetObjectItem(j, "loss")) == r->T - 1 && cJSON_GetObjectItem(j, "scores"),
	       "repeated tokens JSON");
	cJSON_Delete(j);
	rep_free(r);
	rep_opts bad = {.n = 4, .tok_lo = 10, .tok_hi = 11};
	tap_ok(!rep_run(m, &bad, &err) && strstr(err.msg, "range"), "a token range too small: %s", err.msg);
}

static void check_interventions(const rs_model *m)
{
	rs_err err = {{0}};
	interp_metric mt = {12, seq[13], -1};
	abl_result r;
	abl_target t = {ABL_HEAD, 0, 0, -1, 0};
	int ok = abl_run(m, seq, NT, &t, 1, &mt, &r, &err) == 0;
	tap_ok(ok && r.delta < -10, "zeroing the previous-token head breaks the induction: %.3f -> %.3f", r.base,
	       r.ablated);
	t = (abl_target){ABL_HEAD, 1, 1, -1, 0};
	ok = abl_run(m, seq, NT, &t, 1, &mt, &r, &err) == 0;
	tap_ok(ok && r.delta == 0, "zeroing the head that writes nothing changes nothing (%g)", r.delta);

	/* corrupt the token the induction head copies (position 5); the metric
	 * compares the clean answer with the corrupted one */
	int32_t cor[NT];
	memcpy(cor, seq, sizeof cor);
	cor[5] = 11;
	mt = (interp_metric){12, seq[13], 11};
	patch_ctx *p = patch_create(m, seq, cor, NT, &mt, &err);
	if (!tap_ok(p != NULL, "patching on the built model (%s)", p ? "ok" : err.msg))
		return;
	tap_ok(patch_clean_metric(p) > 20 && patch_corrupt_metric(p) < -20, "clean %.2f, corrupted %.2f",
	       patch_clean_metric(p), patch_corrupt_metric(p));
	patch_sweep *sp = patch_sweep_pos(p, HOOK_RESID_PRE, &err);
	ok = sp != NULL;
	for (int t2 = 0; ok && t2 < NT; t2++)
		ok &= t2 == 5 ? sp->norm[t2] > 0.95f : fabsf(sp->norm[t2]) < 0.05f;
	tap_ok(ok, "resid_pre at layer 0: only position 5 matters (%.3f)", sp ? sp->norm[5] : 0);
	patch_sweep *sh = patch_sweep_heads(p, HOOK_Z, -1, &err);
	ok = sh != NULL;
	for (int h = 0; ok && h < 4; h++)
		ok &= h == 2 ? sh->norm[h] > 0.95f : fabsf(sh->norm[h]) < 0.05f;
	tap_ok(ok, "layer × head patching of hook_z finds the induction head alone (%.3f)", sh ? sh->norm[2] : 0);
	patch_sweep *sq = patch_sweep_heads(p, HOOK_Z, 12, &err);
	tap_ok(sq && sq->norm[2] > 0.95f && fabsf(sq->norm[0]) < 0.05f, "... at the query position alone (%.3f)",
	       sq ? sq->norm[2] : 0);
	patch_sweep_free(sp);
	patch_sweep_free(sh);
	patch_sweep_free(sq);
	patch_free(p);
}

int main(void)
{
	rs_err err = {{0}};
	tm_model tm;
	build(&tm);
	char path[256];
	snprintf(path, sizeof path, "/tmp/test_interp_heads_%d.gguf", (int)getpid());
	int ok = tm_write_gguf(&tm, path, RS_F32, &err) == 0;
	tm_free(&tm);
	rs_model *m = ok ? model_load(path, &err) : NULL;
	unlink(path);
	if (!tap_ok(m != NULL, "the hand-built model is written and loads (%s)", m ? "ok" : err.msg))
		return tap_done_plan();
	check_scores(m);
	check_rep(m);
	check_interventions(m);
	model_free(m);
	return tap_done_plan();
}
