/* test_identities.c - identities the forward pass must satisfy, on a random
 * model the test writes itself (and on the fixture when present):
 *   resid_mid = resid_pre + attn_out, resid_post = resid_mid + mlp_out;
 *   decoding token by token with the KV cache = one prefill;
 *   zero-ablating head h at hook_z = zeroing that head's columns of W_O;
 *   interventions change everything downstream, and only downstream. */
#include "config.h"
#include "tap.h"
#include "convert.h"
#include "dtype.h"
#include "engine.h"

#include <unistd.h>

static rs_model *random_model(const char *path, int type)
{
	rs_config c;
	convert_preset("tiny", &c);
	c.n_layers = 3;
	c.vocab = 512;
	rs_err err;
	if (convert_write_random(&c, path, type, 0.08f, 7, &err)) {
		tap_diag("%s", err.msg);
		return NULL;
	}
	rs_model *m = model_load(path, &err);
	if (!m)
		tap_diag("%s", err.msg);
	return m;
}

static const rs_act *act(rs_engine *e, int kind, int layer)
{
	return eng_act(e, (rs_hook){kind, layer});
}

static void check_residual_sums(rs_engine *e, const rs_model *m, const char *label)
{
	float worst = 0;
	for (int l = 0; l < m->cfg.n_layers; l++) {
		const rs_act *pre = act(e, HOOK_RESID_PRE, l), *ao = act(e, HOOK_ATTN_OUT, l);
		const rs_act *mid = act(e, HOOK_RESID_MID, l), *mo = act(e, HOOK_MLP_OUT, l);
		const rs_act *post = act(e, HOOK_RESID_POST, l);
		for (int64_t i = 0; i < pre->numel; i++) {
			float d1 = fabsf(pre->data[i] + ao->data[i] - mid->data[i]);
			float d2 = fabsf(mid->data[i] + mo->data[i] - post->data[i]);
			float d3 = fabsf(pre->data[i] + ao->data[i] + mo->data[i] - post->data[i]);
			worst = fmaxf(worst, fmaxf(d1, fmaxf(d2, d3)));
		}
		if (l + 1 < m->cfg.n_layers) {
			const rs_act *next = act(e, HOOK_RESID_PRE, l + 1);
			worst = fmaxf(worst, tap_max_abs_diff(next->data, post->data, (size_t)post->numel));
		}
	}
	tap_ok(worst < 1e-5f, "%s: resid_pre + attn_out = resid_mid, + mlp_out = resid_post (max diff %.1e)", label,
	       worst);
}

static void check_kv_cache(rs_model *m, const int32_t *ids, int T, const char *label)
{
	rs_err err;
	rs_engine *full = eng_create(m, &err), *inc = eng_create(m, &err);
	eng_set_prompt(full, ids, T, &err);
	eng_run(full);
	const rs_act *lg = act(full, HOOK_LOGITS, -1);
	eng_set_prompt(inc, ids, 1, &err);
	eng_run(inc);
	float worst = tap_max_abs_diff(eng_last_logits(inc), lg->data, (size_t)m->cfg.vocab);
	for (int t = 1; t < T; t++) {
		const float *l = eng_decode(inc, ids[t], &err);
		worst = fmaxf(worst, tap_max_abs_diff(l, lg->data + (size_t)t * m->cfg.vocab, (size_t)m->cfg.vocab));
	}
	tap_ok(worst < 1e-4f && eng_n_past(inc) == T, "%s: decoding %d tokens one by one = one prefill (max diff %.1e)",
	       label, T, worst);
	eng_free(full);
	eng_free(inc);
}

static void check_head_ablation(rs_model *m, const int32_t *ids, int T)
{
	rs_err err;
	int layer = 1, head = 2, hd = m->cfg.head_dim;
	rs_engine *e = eng_create(m, &err);
	rs_intervention iv = {.hook = {HOOK_Z, layer}, .kind = IV_ZERO, .head = head, .pos = -1, .index = -1};
	tap_ok(eng_add_intervention(e, &iv, &err) == 0, "zero ablation of head %d.%d registered", layer, head);
	eng_set_prompt(e, ids, T, &err);
	eng_run(e);
	/* the same model with that head's columns of W_O zeroed */
	rs_mat saved = m->layers[layer].wo;
	int64_t rows = saved.rows, cols = saved.cols;
	float *wo = rs_xmalloc(sizeof(float) * (size_t)(rows * cols));
	for (int64_t r = 0; r < rows; r++) {
		mat_row(&saved, r, wo + r * cols);
		memset(wo + r * cols + head * hd, 0, sizeof(float) * (size_t)hd);
	}
	m->layers[layer].wo = (rs_mat){wo, RS_F32, rows, cols, sizeof(float) * (size_t)cols};
	rs_engine *z = eng_create(m, &err);
	eng_set_prompt(z, ids, T, &err);
	eng_run(z);
	float d = tap_max_abs_diff(act(e, HOOK_LOGITS, -1)->data, act(z, HOOK_LOGITS, -1)->data, (size_t)T * m->cfg.vocab);
	tap_ok(d < 1e-4f, "zero ablation of head %d.%d = zeroing its columns of W_O (max diff %.1e)", layer, head, d);
	/* the ablation changes everything downstream of layer 1 and nothing upstream */
	rs_engine *clean = eng_create(m, &err);
	m->layers[layer].wo = saved;
	eng_set_prompt(clean, ids, T, &err);
	eng_run(clean);
	int64_t n = act(e, HOOK_RESID_MID, 0)->numel;
	float up = tap_max_abs_diff(act(e, HOOK_RESID_POST, 0)->data, act(clean, HOOK_RESID_POST, 0)->data, (size_t)n);
	float same_z = 0, down = tap_max_abs_diff(act(e, HOOK_RESID_PRE, 2)->data, act(clean, HOOK_RESID_PRE, 2)->data,
						 (size_t)n);
	const rs_act *za = act(e, HOOK_Z, layer);
	for (int t = 0; t < T; t++)
		for (int i = 0; i < hd; i++)
			same_z = fmaxf(same_z, fabsf(za->data[(t * m->cfg.n_heads + head) * hd + i]));
	tap_ok(up == 0 && down > 1e-4f && same_z == 0,
	       "ablation leaves layer 0 alone (%.1e), changes layer 2 (%.1e), cache shows the zeroed head", up, down);
	eng_free(e);
	eng_free(z);
	eng_free(clean);
	free(wo);
}

static void check_add_and_replace(rs_model *m, const int32_t *ids, const int32_t *ids2, int T)
{
	rs_err err;
	rs_engine *a = eng_create(m, &err), *b = eng_create(m, &err);
	eng_set_prompt(a, ids, T, &err);
	eng_run(a);
	/* patch the whole residual stream at layer 1 from run a into run b */
	const rs_act *clean = act(a, HOOK_RESID_PRE, 1);
	rs_intervention iv = {.hook = {HOOK_RESID_PRE, 1}, .kind = IV_REPLACE, .head = -1, .pos = -1, .index = -1,
			      .values = clean->data, .n_values = clean->numel};
	eng_add_intervention(b, &iv, &err);
	eng_set_prompt(b, ids2, T, &err);
	eng_run(b);
	float d = tap_max_abs_diff(act(a, HOOK_LOGITS, -1)->data, act(b, HOOK_LOGITS, -1)->data, (size_t)T * m->cfg.vocab);
	tap_ok(d == 0, "patching all of resid_pre 1 from another run reproduces its logits exactly (%.1e)", d);
	/* adding a vector at one position only changes that position and later ones */
	eng_clear_interventions(b);
	float *vec = rs_xcalloc((size_t)m->cfg.d_model, sizeof(float));
	vec[3] = 1.0f;
	rs_intervention add = {.hook = {HOOK_RESID_POST, 0}, .kind = IV_ADD, .head = -1, .pos = 5, .index = -1,
			       .values = vec, .n_values = m->cfg.d_model, .scale = 4.0f};
	tap_ok(eng_add_intervention(b, &add, &err) == 0, "steering vector registered");
	eng_set_prompt(b, ids, T, &err);
	eng_run(b);
	int V = m->cfg.vocab;
	float before = tap_max_abs_diff(act(a, HOOK_LOGITS, -1)->data, act(b, HOOK_LOGITS, -1)->data, (size_t)5 * V);
	float at = tap_max_abs_diff(act(a, HOOK_LOGITS, -1)->data + 5 * V, act(b, HOOK_LOGITS, -1)->data + 5 * V, V);
	float post = act(b, HOOK_RESID_POST, 0)->data[5 * m->cfg.d_model + 3] -
		     act(a, HOOK_RESID_POST, 0)->data[5 * m->cfg.d_model + 3];
	tap_ok(before == 0 && at > 1e-5f && fabsf(post - 4.0f) < 1e-5f,
	       "adding 4·e3 at position 5: earlier logits unchanged, position 5 changed, resid_post moved by %.4f", post);
	rs_intervention bad = add;
	bad.n_values = 3;
	tap_ok(eng_add_intervention(b, &bad, &err) < 0 && strstr(err.msg, "entries"), "wrong vector size refused: %s",
	       err.msg);
	bad = add;
	bad.head = 1;
	tap_ok(eng_add_intervention(b, &bad, &err) < 0, "head on a hook without heads refused: %s", err.msg);
	free(vec);
	eng_free(a);
	eng_free(b);
}

int main(void)
{
	char dir[] = "/tmp/rs-ident.XXXXXX", path[64];
	if (!mkdtemp(dir))
		tap_skip_all("no temporary directory");
	int32_t ids[20], ids2[20];
	for (int i = 0; i < 20; i++) {
		ids[i] = (i * 37 + 11) % 512;
		ids2[i] = (i * 91 + 3) % 512;
	}
	static const int types[] = {RS_F32, RS_F16, RS_Q8_0};
	for (int ti = 0; ti < 3; ti++) {
		snprintf(path, sizeof path, "%s/m%d.gguf", dir, ti);
		rs_model *m = random_model(path, types[ti]);
		if (!tap_ok(m != NULL, "random %s model written and loaded", rs_dtype_name(types[ti])))
			continue;
		rs_err err;
		rs_engine *e = eng_create(m, &err);
		eng_set_prompt(e, ids, 20, &err);
		eng_run(e);
		char label[64];
		snprintf(label, sizeof label, "%s", rs_dtype_name(types[ti]));
		check_residual_sums(e, m, label);
		eng_free(e);
		check_kv_cache(m, ids, 20, label);
		if (ti == 0) {
			check_head_ablation(m, ids, 20);
			check_add_and_replace(m, ids, ids2, 20);
		}
		model_free(m);
		unlink(path);
	}
	rmdir(dir);
	return tap_done_plan();
}
