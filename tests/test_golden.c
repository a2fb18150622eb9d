/* test_golden.c - every hook agrees with Hugging Face transformers (fixtures
 * in ../shared/fixtures/hf-golden), and greedy decoding with the KV cache
 * reproduces greedy_continuation. Run on the Hugging Face folder, and on any
 * extra model paths given as "CASE=PATH" arguments (the converted GGUFs). */
#include "config.h"
#include "tap.h"
#include "engine.h"
#include "mapfile.h"
#include "model.h"
#include "safetensors.h"

#include <cJSON.h>
#include <unistd.h>

#define TOL 1e-4f

static const char *cases[] = {"v1_llama3_gqa", "v2_llama32_tied", "v3_llama2_mha"};

/* The dump name of a golden tensor -> our hook; q/k/v_proj_out_prerope are
 * hook_q/k/v flattened to [T, heads*head_dim]. The fixtures' ln_final.hook_normalized
 * is Hugging Face's norm output, after the weight: our ln_final.hook_out (our
 * hook_normalized is TransformerLens's, x / scale before the weight). */
static int golden_hook(const char *name, int n_layers, rs_hook *h)
{
	char buf[128];
	if (!strcmp(name, "ln_final.hook_normalized"))
		name = "ln_final.hook_out";
	const char *alias[][2] = {{"q_proj_out_prerope", "hook_q"}, {"k_proj_out_prerope", "hook_k"},
				  {"v_proj_out_prerope", "hook_v"}};
	snprintf(buf, sizeof buf, "%s", name);
	for (int i = 0; i < 3; i++) {
		char *p = strstr(buf, alias[i][0]);
		if (p)
			strcpy(p, alias[i][1]);
	}
	return hook_parse(buf, n_layers, h);
}

static int32_t *read_ids(cJSON *arr, int *n)
{
	*n = cJSON_GetArraySize(arr);
	int32_t *ids = rs_xmalloc(sizeof(int32_t) * (size_t)(*n ? *n : 1));
	for (int i = 0; i < *n; i++)
		ids[i] = (int32_t)cJSON_GetArrayItem(arr, i)->valuedouble;
	return ids;
}

/* The norms' hooks hold TransformerLens's values: hook_normalized · hook_scale
 * gives back the norm's input (resid_pre for ln1, resid_mid for ln2, the last
 * resid_post for ln_final) to 1e-6 relative (x · (1/s) · s is two roundings
 * from x), and hook_out is hook_normalized times the weight, bit for bit. */
static void check_norm_hooks(rs_engine *e, const rs_model *m, const char *cname, const char *label)
{
	int L = m->cfg.n_layers, d = m->cfg.d_model;
	double worst = 0;
	int same = 1;
	for (int i = 0; i <= 2 * L; i++) {
		int l = i < 2 * L ? i / 2 : -1, second = i < 2 * L && i % 2;
		int kin = l < 0 ? HOOK_RESID_POST : second ? HOOK_RESID_MID : HOOK_RESID_PRE;
		int ks = l < 0 ? HOOK_LNF_SCALE : second ? HOOK_LN2_SCALE : HOOK_LN1_SCALE;
		const rs_act *x = eng_act(e, (rs_hook){kin, l < 0 ? L - 1 : l}), *sc = eng_act(e, (rs_hook){ks, l});
		const rs_act *nz = eng_act(e, (rs_hook){ks + 1, l}), *out = eng_act(e, (rs_hook){ks + 2, l});
		const float *w = l < 0 ? m->final_norm : second ? m->layers[l].ffn_norm : m->layers[l].attn_norm;
		if (!x || !sc || !nz || !out) {
			same = 0;
			continue;
		}
		for (int64_t t = 0; t < x->numel / d; t++)
			for (int j = 0; j < d; j++) {
				double xv = x->data[t * d + j], back = (double)nz->data[t * d + j] * sc->data[t];
				if (xv != 0)
					worst = fmax(worst, fabs(back - xv) / fabs(xv));
				same &= out->data[t * d + j] == nz->data[t * d + j] * w[j];
			}
	}
	tap_ok(worst <= 1e-6, "%s %s: hook_normalized * hook_scale = the norm's input (worst relative %.1e)", cname, label,
	       worst);
	tap_ok(same, "%s %s: hook_out = hook_normalized * the norm's weight, bit for bit", cname, label);
}

static void check_case(const char *fix, const char *cname, const char *model_path, const char *label)
{
	char path[1024];
	rs_err err = {{0}};
	snprintf(path, sizeof path, "%s/hf-golden/%s/case.json", fix, cname);
	char *text = rs_read_file(path, NULL, &err);
	cJSON *cj = text ? cJSON_Parse(text) : NULL;
	free(text);
	snprintf(path, sizeof path, "%s/hf-golden/%s/golden.safetensors", fix, cname);
	st_file *gold = st_open(path, &err);
	rs_model *m = model_load(model_path, &err);
	if (!tap_ok(cj && gold && m, "%s %s: load (%s)", cname, label, m ? "ok" : err.msg))
		goto out;
	int T, ng;
	int32_t *ids = read_ids(cJSON_GetObjectItem(cj, "input_ids"), &T);
	int32_t *greedy = read_ids(cJSON_GetObjectItem(cj, "greedy_continuation"), &ng);
	rs_engine *e = eng_create(m, &err);
	tap_ok(eng_set_prompt(e, ids, T, &err) == 0, "%s %s: prompt of %d tokens", cname, label, T);
	eng_run(e);
	int checked = 0, failed = 0;
	float worst = 0;
	char worst_name[128] = "";
	for (size_t i = 0; i < gold->n; i++) {
		const st_tensor *g = &gold->tensors[i];
		rs_hook h;
		if (!strcmp(g->name, "input_ids"))
			continue;
		if (golden_hook(g->name, m->cfg.n_layers, &h)) {
			tap_diag("no hook for golden tensor %s", g->name);
			failed++;
			continue;
		}
		const rs_act *a = eng_act(e, h);
		if (!a || a->numel != st_numel(g)) {
			tap_diag("%s: missing or wrong size", g->name);
			failed++;
			continue;
		}
		float d = tap_max_abs_diff(a->data, g->data, (size_t)a->numel);
		checked++;
		if (d > worst) {
			worst = d;
			snprintf(worst_name, sizeof worst_name, "%s", g->name);
		}
		if (!(d <= TOL)) {
			tap_diag("%s: max |diff| %g", g->name, d);
			failed++;
		}
	}
	tap_ok(failed == 0 && checked > 10, "%s %s: %d golden tensors within %g (worst %.2e at %s)", cname, label,
	       checked, TOL, worst, worst_name);
	check_norm_hooks(e, m, cname, label);
	/* the case's summary numbers, computed from our own logits */
	const rs_act *lg_all = eng_act(e, (rs_hook){HOOK_LOGITS, -1});
	int V = m->cfg.vocab, nt;
	int32_t *top5 = read_ids(cJSON_GetObjectItem(cj, "last_logits_top5"), &nt);
	const float *last = lg_all->data + (size_t)(T - 1) * V;
	int rank_ok = 1;
	for (int r = 0; r < nt; r++) { /* top5[r] must have exactly r logits above it */
		int above = 0;
		for (int v = 0; v < V; v++)
			above += last[v] > last[top5[r]];
		rank_ok &= above == r;
	}
	tap_ok(rank_ok, "%s %s: last position's top-5 tokens in order", cname, label);
	double lp = 0;
	for (int t = 0; t + 1 < T; t++) {
		const float *row = lg_all->data + (size_t)t * V;
		double mx = row[0], s = 0;
		for (int v = 1; v < V; v++)
			mx = row[v] > mx ? row[v] : mx;
		for (int v = 0; v < V; v++)
			s += exp(row[v] - mx);
		lp += row[ids[t + 1]] - mx - log(s);
	}
	lp /= T - 1;
	double want = cJSON_GetObjectItem(cj, "mean_next_token_logprob_of_inputs")->valuedouble;
	tap_ok(fabs(lp - want) < 1e-4, "%s %s: mean next-token log-prob %.6f (HF %.6f)", cname, label, lp, want);
	/* greedy decoding with the KV cache */
	int32_t *got = rs_xmalloc(sizeof(int32_t) * (size_t)ng);
	const float *lg = eng_last_logits(e);
	int ok = 1, i;
	for (i = 0; i < ng && ok; i++) {
		int best = 0;
		for (int v = 1; v < V; v++)
			if (lg[v] > lg[best])
				best = v;
		got[i] = best;
		ok = best == greedy[i];
		if (i + 1 < ng && !(lg = eng_decode(e, best, &err)))
			ok = 0;
	}
	if (greedy[0] != top5[0]) {
		/* The fixture contradicts itself: generate's first token is not the
		 * argmax of its own last logits. Our first token is checked against
		 * the logits above; report the rest without failing. */
		tap_ok(ok, "%s %s: greedy continuation # TODO fixture's greedy_continuation starts with %d "
		       "but its last_logits_top5 ranks %d first; ours starts with %d", cname, label, greedy[0],
		       top5[0], got[0]);
	} else {
		tap_ok(ok, "%s %s: greedy continuation of %d tokens matches (first mismatch at %d)", cname, label,
		       ng, ok ? -1 : i - 1);
	}
	free(top5);
	free(got);
	eng_free(e);
	free(ids);
	free(greedy);
out:
	model_free(m);
	st_close(gold);
	cJSON_Delete(cj);
}

int main(int argc, char **argv)
{
	const char *fix = tap_fixtures();
	char path[1024];
	snprintf(path, sizeof path, "%s/hf-golden/%s/case.json", fix, cases[0]);
	if (access(path, R_OK))
		tap_skip_all("Hugging Face fixtures not found (set FIXTURES)");
	for (int c = 0; c < 3; c++) {
		snprintf(path, sizeof path, "%s/hf-golden/%s", fix, cases[c]);
		check_case(fix, cases[c], path, "safetensors");
	}
	for (int i = 1; i < argc; i++) { /* CASE=MODEL */
		char *eq = strchr(argv[i], '=');
		if (!eq)
			continue;
		*eq = 0;
		check_case(fix, argv[i], eq + 1, "gguf");
	}
	return tap_done_plan();
}
