/* test_config.c - configurations: both config.json layouts, GGUF metadata,
 * the llama3 RoPE scaling against the reference divisors, parameter counts
 * against the published model sizes. */
#include "config.h"
#include "tap.h"
#include "convert.h"
#include "gguf.h"
#include "model.h"

#include <unistd.h>

static void check_divisors(const char *preset, int hd, const float *want, int n_want, int first_mid)
{
	rs_config c, base;
	convert_preset(preset, &c);
	c.head_dim = hd;
	base = c;
	base.rope_kind = RS_ROPE_NONE;
	float f[hd / 2], f0[hd / 2];
	config_rope_inv_freq(&c, f);
	config_rope_inv_freq(&base, f0);
	float worst = 0;
	for (int i = 0; i < hd / 2; i++) {
		float div = f0[i] / f[i], exp;
		if (i < first_mid)
			exp = 1.0f;
		else if (i < first_mid + n_want)
			exp = want[i - first_mid];
		else
			exp = c.rope_factor;
		worst = fmaxf(worst, fabsf(div - exp) / exp);
	}
	tap_ok(worst < 2e-4f, "%s head_dim %d: llama3 divisors match the reference (worst relative %.1e)", preset, hd,
	       worst);
}

int main(void)
{
	/* reference divisors from reference/llama-spec.md 1.5 */
	const float f8[] = {1.2075f, 1.5534f, 2.0263f, 2.6945f, 3.6843f, 5.2573f};
	const float f32_128[] = {1.2349f, 1.6513f, 2.2767f, 3.2923f, 5.1716f, 9.6667f};
	const float f32_64[] = {1.6513f, 3.2923f, 9.6667f};
	check_divisors("llama3.1-8b", 128, f8, 6, 29);
	check_divisors("llama3.2-3b", 128, f32_128, 6, 29);
	check_divisors("llama3.2-1b", 64, f32_64, 3, 15);

	static const struct { const char *name; long long params; } sizes[] = {
		{"llama3.2-1b", 1235814400LL}, {"llama3.2-3b", 3212749824LL}, {"llama3.1-8b", 8030261248LL},
		{"llama3.1-70b", 70553706496LL}, {"llama3.1-405b", 405853388800LL},
	};
	for (size_t i = 0; i < sizeof sizes / sizeof *sizes; i++) {
		rs_config c;
		convert_preset(sizes[i].name, &c);
		tap_ok(config_param_count(&c) == sizes[i].params, "%s has %lld parameters (published %lld)", sizes[i].name,
		       (long long)config_param_count(&c), sizes[i].params);
	}
	rs_config c;
	tap_ok(convert_preset("llama9", &c) == -1, "unknown preset refused");

	/* both Hugging Face layouts, when the fixtures are here */
	char path[1024];
	rs_err err;
	snprintf(path, sizeof path, "%s/hf-golden/v1_llama3_gqa/config.json", tap_fixtures());
	if (access(path, R_OK) == 0) {
		tap_ok(config_from_hf_json(path, &c, &err) == 0 && c.rope_kind == RS_ROPE_LLAMA3 && c.rope_factor == 8 &&
			       c.rope_theta == 500000 && c.n_kv_heads == 2 && !c.tied && c.rms_eps == 1e-5f,
		       "rope_theta + rope_scaling layout (v1)");
		snprintf(path, sizeof path, "%s/hf-golden/v2_llama32_tied/config.json", tap_fixtures());
		tap_ok(config_from_hf_json(path, &c, &err) == 0 && c.rope_kind == RS_ROPE_LLAMA3 && c.rope_factor == 32 &&
			       c.rope_theta == 500000 && c.tied && c.d_model == 96,
		       "rope_parameters layout (v2)");
		snprintf(path, sizeof path, "%s/hf-golden/v3_llama2_mha/config.json", tap_fixtures());
		tap_ok(config_from_hf_json(path, &c, &err) == 0 && c.rope_kind == RS_ROPE_NONE && c.rope_theta == 10000 &&
			       c.rms_eps == 1e-6f && c.n_kv_heads == c.n_heads,
		       "Llama 2 layout without scaling (v3)");
	}
	/* GGUF metadata round trip through the writer */
	char tmp[] = "/tmp/rs-cfg.XXXXXX";
	int fd = mkstemp(tmp);
	close(fd);
	rs_config want;
	convert_preset("tiny", &want);
	want.n_layers = 1;
	want.vocab = 64;
	want.head_dim = 16; /* head_dim * heads != d_model: the key_length key must carry it */
	tap_ok(convert_write_random(&want, tmp, 0, 0.02f, 1, &err) == 0, "random model written");
	gguf_file *g = gguf_open(tmp, &err);
	rs_config got;
	int ok = g && config_from_gguf(g, &got, &err) == 0;
	tap_ok(ok && got.n_layers == 1 && got.d_model == 128 && got.head_dim == 16 && got.n_heads == 4 &&
		       got.n_kv_heads == 2 && got.d_ff == 384 && got.vocab == 64 && got.tied && got.rope_theta == 500000,
	       "GGUF metadata gives back the configuration");
	gguf_close(g);
	rs_model *m = model_load(tmp, &err);
	float f[8];
	config_rope_inv_freq(&want, f);
	tap_ok(m && m->cfg.rope_kind == RS_ROPE_LLAMA3 && tap_max_abs_diff(m->inv_freq, f, 8) < 1e-9f,
	       "rope_freqs.weight restores the llama3 frequencies");
	model_free(m);
	unlink(tmp);
	return tap_done_plan();
}
