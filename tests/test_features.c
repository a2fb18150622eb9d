/* test_features.c - an SAE against the engine, on the tiny model of the
 * command tests with a random SAE of its last layer's residual stream:
 *
 *  - the held-out measurements of train-sae (sae_measure): the loss with the
 *    SAE's reconstruction spliced into the pass, zero- and mean-ablated and
 *    clean, NMSE and L0, each recomputed here with the encoder, decoder and
 *    cross-entropy written out in double;
 *  - `features POS --json`: every activation shown equals the encoder
 *    applied to the hook's activation (W_enc·(x − b_dec) + b_enc, TopK,
 *    ReLU), and they are the strongest ones;
 *  - `steer HOOK feature:N SCALE` at the last resid_post: the final norm's
 *    input moves by exactly SCALE·dec_N, and the logits are the unembedding of
 *    RMSNorm of the moved vector. Logits are not linear in the residual
 *    stream (RMSNorm divides by its norm): the identity tested is
 *    logits'[v] = Σ_j W_U[v,j]·g_j·x'_j / sqrt(mean_j(x'_j²) + eps) with
 *    x' = x + SCALE·dec_N;
 *  - `steer-from A B HOOK SCALE`: the vector is the mean over A's prompts of
 *    the hook's last-position activation minus the same over B's (or the
 *    means over positions after the BOS with --all-positions), computed here
 *    prompt by prompt; the pass moves by SCALE times it.
 */
#include "config.h"
#include "tap.h"
#include "commands.h"
#include "commands_model.h"
#include "cmd_run.h"
#include "engine.h"
#include "feat.h"
#include "sae.h"
#include "sae_train.h"

#include <cJSON.h>
#include <math.h>
#include <unistd.h>

static const double U = 5.96e-8; /* float's unit roundoff */

static float frand(uint64_t *s)
{
	*s = *s * 6364136223846793005ull + 1442695040888963407ull;
	return ((float)((*s >> 40) & 0xffffff) / 16777216.0f - 0.5f) * 2.0f;
}

static rs_sae *make_sae(int d, int n, int k, rs_hook h, uint64_t seed)
{
	rs_sae *s = sae_create(d, n, SAE_TOPK, k, h);
	for (int64_t i = 0; i < (int64_t)n * d; i++)
		s->w_enc[i] = frand(&seed) * 0.5f, s->w_dec[i] = frand(&seed);
	for (int i = 0; i < n; i++) { /* unit decoder rows, as the trainer keeps them */
		double ss = 0;
		for (int j = 0; j < d; j++)
			ss += (double)s->w_dec[i * d + j] * s->w_dec[i * d + j];
		for (int j = 0; j < d; j++)
			s->w_dec[i * d + j] /= (float)sqrt(ss);
		s->b_enc[i] = frand(&seed) * 0.1f;
	}
	for (int j = 0; j < d; j++)
		s->b_dec[j] = frand(&seed) * 0.1f;
	return s;
}

/* The encoder by its definition, in double: pre, then the k largest (lower
 * index first on ties), then the positive ones. bound[i]: Σ_j |terms| of
 * pre_i, for the rounding bound of the float computation. */
static void ref_features(const rs_sae *s, const float *x, double *f, double *bound)
{
	int n = s->n, d = s->d;
	double *pre = malloc(sizeof(double) * (size_t)n);
	char *chosen = calloc((size_t)n, 1);
	for (int i = 0; i < n; i++) {
		double acc = s->b_enc[i], b = fabs(s->b_enc[i]);
		for (int j = 0; j < d; j++) {
			double t = (double)s->w_enc[i * d + j] * ((double)x[j] - s->b_dec[j]);
			acc += t, b += fabs(t) + fabs(s->w_enc[i * d + j] * s->b_dec[j]);
		}
		pre[i] = acc;
		if (bound)
			bound[i] = b;
	}
	for (int t = 0; t < s->k; t++) {
		int best = -1;
		for (int i = 0; i < n; i++)
			if (!chosen[i] && (best < 0 || pre[i] > pre[best]))
				best = i;
		chosen[best] = 1;
	}
	for (int i = 0; i < n; i++)
		f[i] = chosen[i] && pre[i] > 0 ? pre[i] : 0;
	free(pre);
	free(chosen);
}

static void ref_decode(const rs_sae *s, const double *f, double *xhat)
{
	for (int j = 0; j < s->d; j++) {
		double acc = s->b_dec[j];
		for (int i = 0; i < s->n; i++)
			acc += f[i] * s->w_dec[i * s->d + j];
		xhat[j] = acc;
	}
}

/* Mean next-token loss of positions 1..T-1 (targets ids[t+1]) from logits, in double. */
static double ref_loss(const float *logits, const int32_t *ids, int T, int V)
{
	double l = 0;
	for (int t = 1; t < T; t++) {
		const float *r = logits + (size_t)t * V;
		double mx = r[0], se = 0;
		for (int v = 1; v < V; v++)
			mx = fmax(mx, r[v]);
		for (int v = 0; v < V; v++)
			se += exp((double)r[v] - mx);
		l += mx + log(se) - r[ids[t + 1]];
	}
	return l / (T - 1);
}

/* Runs ids (T) with rows 1.. of hook h replaced by repl (T, d) (NULL: clean); its loss. */
static double run_loss(rs_engine *e, rs_hook h, const int32_t *ids, int T, const float *repl, int d, int V)
{
	eng_clear_interventions(e);
	if (repl) {
		rs_intervention iv = {.hook = h, .kind = IV_REPLACE, .head = -1, .pos = -1, .index = -1, .values = repl,
				      .n_values = (int64_t)T * d};
		eng_add_intervention(e, &iv, NULL);
	}
	eng_set_prompt(e, ids, T, NULL);
	eng_run(e);
	double l = ref_loss(eng_act(e, (rs_hook){HOOK_LOGITS, -1})->data, ids, T, V);
	eng_clear_interventions(e);
	return l;
}

/* sae_measure against the same measurements written out here. */
static void test_measure(rs_sae *sae)
{
	const rs_model *m = S->model;
	int d = sae->d, V = m->cfg.vocab, T = 10, nw = 4;
	int32_t ids[64];
	uint64_t seed = 99;
	for (int i = 0; i < 64; i++)
		ids[i] = (int32_t)((frand(&seed) + 1) * 0.5f * (float)(V - 3));
	int64_t starts[4] = {0, 13, 27, 40};
	float mean[TM_D];
	for (int j = 0; j < d; j++)
		mean[j] = 0.3f * frand(&seed);
	rs_engine *e = eng_create(m, &E);
	rs_err err = {{0}};
	int rc = sae_measure(e, sae, ids, starts, nw, T, mean, &err);
	tap_ok(rc == 0, "sae_measure runs (%s)", err.msg);
	double ce[4] = {0}, sse = 0, sx2 = 0, sx[TM_D] = {0}, active = 0;
	int64_t vecs = 0;
	float *x = malloc(sizeof(float) * (size_t)T * d), *rep = malloc(sizeof(float) * (size_t)T * d);
	double *f = malloc(sizeof(double) * (size_t)sae->n), xh[TM_D];
	for (int w = 0; w < nw; w++) {
		const int32_t *wi = ids + starts[w];
		eng_set_prompt(e, wi, T, NULL);
		eng_run(e);
		memcpy(x, eng_act(e, sae->hook)->data, sizeof(float) * (size_t)T * d);
		ce[0] += run_loss(e, sae->hook, wi, T, NULL, d, V);
		memcpy(rep, x, sizeof(float) * (size_t)d);
		for (int t = 1; t < T; t++) {
			ref_features(sae, x + t * d, f, NULL);
			ref_decode(sae, f, xh);
			for (int i = 0; i < sae->n; i++)
				active += f[i] > 0;
			for (int j = 0; j < d; j++) {
				rep[t * d + j] = (float)xh[j];
				sse += (x[t * d + j] - xh[j]) * (x[t * d + j] - xh[j]);
				sx2 += (double)x[t * d + j] * x[t * d + j];
				sx[j] += x[t * d + j];
			}
			vecs++;
		}
		ce[1] += run_loss(e, sae->hook, wi, T, rep, d, V);
		for (int i = d; i < T * d; i++)
			rep[i] = 0;
		ce[2] += run_loss(e, sae->hook, wi, T, rep, d, V);
		for (int i = d; i < T * d; i++)
			rep[i] = mean[i % d];
		ce[3] += run_loss(e, sae->hook, wi, T, rep, d, V);
	}
	double var = sx2;
	for (int j = 0; j < d; j++)
		var -= sx[j] * sx[j] / (double)vecs;
	const rs_sae_meta *mt = &sae->meta;
	/* the spliced reconstructions differ from ours by float rounding (about
	 * 1e-6 of each entry), which moves a loss of a few nats by far less than
	 * 1e-4; the clean, zero and mean runs are the same computation */
	tap_ok(fabs(mt->ce_sae - ce[1] / nw) < 1e-4,
	       "loss with the SAE's reconstruction spliced in = the engine rerun with ours (%.6f vs %.6f)", mt->ce_sae,
	       ce[1] / nw);
	tap_ok(fabs(mt->ce_clean - ce[0] / nw) < 1e-5 && fabs(mt->ce_zero - ce[2] / nw) < 1e-5 &&
		       fabs(mt->ce_mean - ce[3] / nw) < 1e-5,
	       "clean %.5f, zero-ablated %.5f, mean-ablated %.5f losses as recomputed", mt->ce_clean, mt->ce_zero,
	       mt->ce_mean);
	tap_ok(fabs(mt->nmse - sse / var) < 1e-4 * (sse / var) + 1e-6 && fabs(mt->l0 - active / (double)vecs) < 1e-9,
	       "NMSE %.6f (ours %.6f) and L0 %.3f (ours %.3f)", mt->nmse, sse / var, mt->l0, active / (double)vecs);
	tap_ok(mt->ce_sae != mt->ce_clean && mt->ce_zero != mt->ce_clean,
	       "the splices change the pass (a test that could not fail would not)");
	free(x), free(rep), free(f);
	eng_free(e);
}

/* `features POS --json` against the encoder applied to the hook's activation. */
static void test_features_shown(const rs_sae *sae)
{
	int pos = 3;
	char line[64];
	snprintf(line, sizeof line, "features %d --top 6 --json", pos);
	if (!tap_ok(ok_run(line), "features --json runs"))
		return;
	cJSON *o = cJSON_Parse(S->output);
	cJSON *arr = cJSON_GetObjectItem(o, "features");
	const rs_act *a = session_act(S, sae->hook);
	int T = a ? a->shape[0] : 0;
	if (!tap_ok(o && cJSON_IsArray(arr) && a && T == S->n_ids, "the JSON has the features, the pass the hook"))
		return;
	double *f = malloc(sizeof(double) * (size_t)sae->n), *bound = malloc(sizeof(double) * (size_t)sae->n);
	ref_features(sae, a->data + (size_t)pos * sae->d, f, bound);
	int bad = 0, n = cJSON_GetArraySize(arr), want_active = 0;
	double worst = 0;
	for (int i = 0; i < sae->n; i++)
		want_active += f[i] > 0;
	double kth = 0; /* the 6th largest of ours */
	for (int r = 0; r < 6 && r < want_active; r++) {
		double best = -1;
		for (int i = 0; i < sae->n; i++)
			if (f[i] > best && (r == 0 || f[i] < kth))
				best = f[i];
		kth = best;
	}
	for (int r = 0; r < n; r++) {
		cJSON *it = cJSON_GetArrayItem(arr, r);
		int id = cJSON_GetObjectItem(it, "feature")->valueint;
		double act = cJSON_GetObjectItem(it, "act")->valuedouble;
		/* float sums of d + 1 terms: at most (d + 2)·u·Σ|terms| away */
		double tol = (sae->d + 2) * U * bound[id] * 2;
		worst = fmax(worst, fabs(act - f[id]) / (tol > 0 ? tol : 1));
		if (fabs(act - f[id]) > tol || f[id] < kth - tol)
			bad++;
	}
	tap_ok(n == (want_active < 6 ? want_active : 6) && !bad,
	       "%d features shown, each activation = encoder(x) at pos %d and among the 6 strongest (worst %.2g of its "
	       "bound)",
	       n, pos, worst);
	tap_ok(cJSON_GetObjectItem(o, "active")->valueint == want_active, "%d features active, as the encoder says",
	       want_active);
	int ids[8];
	float acts[8];
	rs_err err;
	int got = feat_top_shown(S, pos, 6, ids, acts, &err), same = got == n;
	for (int r = 0; same && r < n; r++) {
		cJSON *it = cJSON_GetArrayItem(arr, r);
		same = cJSON_GetObjectItem(it, "feature")->valueint == ids[r] &&
		       (float)cJSON_GetObjectItem(it, "act")->valuedouble == acts[r];
	}
	tap_ok(same, "the pane's list (feat_top_shown) is the same features and activations (%d)", got);
	cJSON_Delete(o);
	free(f), free(bound);
	tap_ok(ok_run("features 3") && strstr(S->output, "active") && ok_run("feature 5") &&
		       strstr(S->output, "promotes") && ok_run("feature 5 --json"),
	       "features and feature print tables and JSON");
}

/* steer at the last resid_post by a decoder direction: the identity above. */
static void test_steer_feature(const rs_sae *sae)
{
	const rs_model *m = S->model;
	int d = sae->d, V = m->cfg.vocab, N = 5;
	float alpha = 3.5f;
	run("clear");
	if (!ok_run("run all"))
		return;
	const rs_act *a = session_act(S, sae->hook);
	int T = a->shape[0];
	float *x = malloc(sizeof(float) * (size_t)T * d);
	memcpy(x, a->data, sizeof(float) * (size_t)T * d);
	char line[96];
	snprintf(line, sizeof line, "steer blocks.%d.hook_resid_post feature:%d %g", sae->hook.layer, N, alpha);
	if (!tap_ok(ok_run(line) && ok_run("run all"), "%s", line))
		return;
	const float *xs = session_act(S, sae->hook)->data;
	const float *lg = session_act(S, (rs_hook){HOOK_LOGITS, -1})->data;
	const float *dec = sae->w_dec + (size_t)N * d;
	double worst_x = 0, worst_l = 0, lin_gap = 0;
	float *row = malloc(sizeof(float) * (size_t)d);
	for (int t = 0; t < T; t++) {
		double ss = 0;
		for (int j = 0; j < d; j++) {
			double want = (double)x[t * d + j] + (double)alpha * dec[j];
			/* one float addition of x and alpha·dec_j: within u of the sum, plus the product's rounding */
			double tol = U * (fabs(want) + fabs(alpha * dec[j])) * 2;
			worst_x = fmax(worst_x, fabs(xs[t * d + j] - want) / tol);
			ss += (double)xs[t * d + j] * xs[t * d + j];
		}
		double inv = 1 / sqrt(ss / d + m->cfg.rms_eps), inv0 = 0;
		double ss0 = 0;
		for (int j = 0; j < d; j++)
			ss0 += (double)x[t * d + j] * x[t * d + j];
		inv0 = 1 / sqrt(ss0 / d + m->cfg.rms_eps);
		for (int v = 0; v < V; v++) {
			mat_row(&m->output, v, row);
			double l = 0, b = 0, lin = 0;
			for (int j = 0; j < d; j++) {
				double term = (double)row[j] * m->final_norm[j] * xs[t * d + j] * inv;
				l += term, b += fabs(term);
				lin += (double)row[j] * m->final_norm[j] * alpha * dec[j] * inv0; /* the linear guess */
			}
			/* the engine's norm and product in float: a few (d + 4)·u of Σ|terms| */
			double tol = (d + 4) * U * b * 4 + 1e-6;
			worst_l = fmax(worst_l, fabs(lg[(size_t)t * V + v] - l) / tol);
			/* what a linear logit change from the unsteered run would predict */
			double clean = 0;
			for (int j = 0; j < d; j++)
				clean += (double)row[j] * m->final_norm[j] * x[t * d + j] * inv0;
			lin_gap = fmax(lin_gap, fabs(clean + lin - l));
		}
	}
	tap_ok(worst_x <= 1, "the final norm's input moved by exactly %g x dec_%d (worst %.2g of the rounding bound)",
	       alpha, N, worst_x);
	tap_ok(worst_l <= 1, "logits = W_U (g * x' / rms(x')) of the moved vector (worst %.2g of the bound)", worst_l);
	tap_ok(lin_gap > 1e-3, "and not the linear guess W_U (g * (x + a dec) / rms(x)): off by up to %.3g", lin_gap);
	run("clear");
	free(x), free(row);
}

/* steer-from against the mean difference computed prompt by prompt. */
static void test_steer_from(const char *dir)
{
	const rs_model *m = S->model;
	const char *A[] = {"the cat sat", "the dog ran on the mat", "a cat"};
	const char *B[] = {"the mat", "on the dog sat a cat ran"};
	char pa[700], pb[700];
	snprintf(pa, sizeof pa, "%s/a.txt", dir);
	snprintf(pb, sizeof pb, "%s/b.txt", dir);
	FILE *fa = fopen(pa, "w"), *fb = fopen(pb, "w");
	fprintf(fa, "# positive\n%s\n\n%s\n%s\n", A[0], A[1], A[2]);
	fprintf(fb, "%s\n%s\n", B[0], B[1]);
	fclose(fa), fclose(fb);
	rs_hook h = {HOOK_RESID_POST, 0};
	int d = m->cfg.d_model;
	for (int all = 0; all < 2; all++) {
		double want[TM_D] = {0};
		rs_engine *e = eng_create(m, &E);
		for (int side = 0; side < 2; side++) {
			const char **P = side ? B : A;
			int np = side ? 2 : 3;
			for (int i = 0; i < np; i++) {
				int32_t *ids;
				int n;
				tok_encode(S->tok, P[i], strlen(P[i]), TOK_ADD_BOS, &ids, NULL, &n, &E);
				eng_set_prompt(e, ids, n, &E);
				eng_run_to(e, h);
				const float *x = eng_act(e, h)->data;
				int from = all ? 1 : n - 1;
				for (int t = from; t < n; t++)
					for (int j = 0; j < d; j++)
						want[j] += (side ? -1.0 : 1.0) * x[t * d + j] / (n - from) / np;
				free(ids);
			}
		}
		eng_free(e);
		char line[1600];
		snprintf(line, sizeof line, "steer-from %s %s blocks.0.hook_resid_post 2 %s", pa, pb,
			 all ? "--all-positions" : "");
		run("clear");
		if (!tap_ok(ok_run(line) && eng_n_interventions(S->eng) == 1, "%s", all ? "steer-from --all-positions" : "steer-from"))
			continue;
		const rs_intervention *iv = eng_intervention(S->eng, 0);
		double worst = 0, scale = 0;
		for (int j = 0; j < d; j++) {
			worst = fmax(worst, fabs(iv->values[j] - want[j]));
			scale = fmax(scale, fabs(want[j]));
		}
		/* both sum the same floats in double; the float result rounds once */
		tap_ok(iv->n_values == d && iv->scale == 2.0f && iv->kind == IV_ADD && worst <= 4 * U * scale + 1e-12,
		       "the vector is the mean difference of %s (max diff %.2g)",
		       all ? "the means over positions after the BOS" : "last-position activations", worst);
	}
	run("clear");
	tap_ok(run("steer-from /nonexistent/a.txt b.txt 0.resid_post 1") == CMD_ERROR && strstr(E.msg, "/nonexistent/a.txt"),
	       "a missing file: one line naming it (%s)", E.msg);
	FILE *fe = fopen(pa, "w");
	fprintf(fe, "# nothing but comments\n\n");
	fclose(fe);
	tap_ok(run(strcat(strcat(strcpy((char[2000]){0}, "steer-from "), pa), " b.txt 0.resid_post 1")) == CMD_ERROR &&
		       strstr(E.msg, "no prompts"),
	       "a file without prompts is refused (%s)", E.msg);
}

static void test_errors(const char *dir, rs_sae *sae)
{
	tap_ok(run("features") == CMD_ERROR && strstr(E.msg, "no SAE"), "without an SAE: %s", E.msg);
	tap_ok(run("sae /nonexistent.gguf") == CMD_ERROR && strstr(E.msg, "/nonexistent.gguf"), "a missing SAE: %s",
	       E.msg);
	char p[700];
	snprintf(p, sizeof p, "%s/narrow.gguf", dir);
	rs_sae *narrow = make_sae(16, 20, 4, (rs_hook){HOOK_RESID_POST, 0}, 3);
	sae_save(narrow, p, &E);
	sae_free(narrow);
	char line[800];
	snprintf(line, sizeof line, "sae %s", p);
	tap_ok(run(line) == CMD_ERROR && strstr(E.msg, "16 wide"), "an SAE of another width: %s", E.msg);
	snprintf(p, sizeof p, "%s/deep.gguf", dir);
	rs_sae *deep = make_sae(TM_D, 20, 4, (rs_hook){HOOK_RESID_POST, 7}, 3);
	sae_save(deep, p, &E);
	sae_free(deep);
	snprintf(line, sizeof line, "sae %s", p);
	tap_ok(run(line) == CMD_ERROR && strstr(E.msg, "layers"), "an SAE of a layer the model lacks: %s", E.msg);
	(void)sae;
}

int main(void)
{
	char dir[] = "/tmp/rs-features-XXXXXX";
	if (!mkdtemp(dir))
		tap_skip_all("no temporary directory");
	char model[600], sp[600];
	snprintf(model, sizeof model, "%s/tiny.gguf", dir);
	snprintf(sp, sizeof sp, "%s/sae.gguf", dir);
	if (!tap_ok(tm_write_tiny_model(model, &E) == 0, "write the tiny model (%s)", E.msg))
		return tap_done_plan();
	S = session_create(model, &E);
	if (!tap_ok(S != NULL, "session on the tiny model (%s)", E.msg))
		return tap_done_plan();
	rs_sae *sae = make_sae(TM_D, 96, 8, (rs_hook){HOOK_RESID_POST, TM_LAYERS - 1}, 7);
	test_errors(dir, sae);
	tap_ok(sae_save(sae, sp, &E) == 0, "write a random SAE of the last resid_post");
	char line[700];
	snprintf(line, sizeof line, "sae %s", sp);
	tap_ok(ok_run(line) && strstr(S->output, "no index"), "sae FILE loads it (no index beside it)");
	tap_ok(ok_run("prompt the cat sat on the mat and the dog ran") && ok_run("run all"), "a prompt, run");
	test_features_shown(sae);
	test_steer_feature(sae);
	test_measure(sae);
	test_steer_from(dir);
	sae_free(sae);
	session_free(S);
	char cmd[700];
	snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
	if (system(cmd))
		tap_diag("could not remove %s", dir);
	return tap_done_plan();
}
