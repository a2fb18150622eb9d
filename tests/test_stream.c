/* test_stream.c - weights stepped from disk under a tiny memory budget give
 * bit-identical numbers (every cached hook, logits, decoded tokens) to an
 * unlimited budget, on a small model; split models load as the single file
 * does; sizes and split names parse. */
#include "config.h"
#include "tap.h"
#include "convert.h"
#include "engine.h"
#include "gguf.h"
#include "hooks.h"
#include "model.h"
#include "stream.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* Runs the prompt, then decodes two tokens; 1 when everything matches. */
static int same_run(rs_model *a, uint64_t ba, rs_model *b, uint64_t bb, int *streamed, uint64_t *dropped)
{
	rs_err err = {{0}};
	rs_engine *ea = eng_create(a, &err), *eb = eng_create(b, &err);
	eng_set_mem_budget(ea, ba);
	eng_set_mem_budget(eb, bb);
	int32_t ids[7] = {1, 17, 300, 42, 999, 5, 64};
	for (int i = 0; i < 7; i++)
		ids[i] %= a->cfg.vocab;
	int ok = !eng_set_prompt(ea, ids, 7, &err) && !eng_set_prompt(eb, ids, 7, &err);
	eng_run(ea);
	eng_run(eb);
	int L = a->cfg.n_layers;
	for (int s = 0; ok && s < hook_n_stops(L); s++) {
		const rs_act *x = eng_act(ea, hook_at(s, L)), *y = eng_act(eb, hook_at(s, L));
		ok = x && y && x->numel == y->numel && !memcmp(x->data, y->data, sizeof(float) * (size_t)x->numel);
	}
	for (int t = 0; ok && t < 2; t++) {
		int32_t next = (100 + t) % a->cfg.vocab;
		const float *la = eng_decode(ea, next, &err), *lb = eng_decode(eb, next, &err);
		ok = la && lb && !memcmp(la, lb, sizeof(float) * (size_t)a->cfg.vocab);
	}
	rs_stream_stats st;
	stream_stats(eng_stream(eb), &st);
	*streamed = st.active;
	*dropped = st.dropped;
	eng_free(ea);
	eng_free(eb);
	return ok;
}

int main(void)
{
	uint64_t v = 0;
	tap_ok(!rs_parse_size("4G", &v) && v == (uint64_t)4 << 30, "4G is 4 GiB");
	tap_ok(!rs_parse_size("500M", &v) && v == (uint64_t)500 << 20, "500M");
	tap_ok(!rs_parse_size("1.5GB", &v) && v == (uint64_t)3 << 29, "1.5GB");
	tap_ok(!rs_parse_size("64k", &v) && v == 65536, "64k");
	tap_ok(!rs_parse_size("unlimited", &v) && v == UINT64_MAX, "unlimited");
	tap_ok(rs_parse_size("4X", &v) && rs_parse_size("", &v) && rs_parse_size("-1G", &v), "bad sizes refused");

	char pre[256];
	int no = 0, count = 0;
	int named = gguf_split_name("/x/m-00002-of-00009.gguf", pre, sizeof pre, &no, &count);
	tap_ok(named && no == 2 && count == 9 && !strcmp(pre, "/x/m"), "split name parsed (%s, %d of %d)", pre, no,
	       count);
	tap_ok(!gguf_split_name("m.gguf", pre, sizeof pre, &no, &count) &&
	       !gguf_split_name("m-0002-of-00009.gguf", pre, sizeof pre, &no, &count) &&
	       !gguf_split_name("m-00010-of-00009.gguf", pre, sizeof pre, &no, &count),
	       "plain and malformed names are not parts");

	char dir[] = "/tmp/test_stream.XXXXXX";
	if (!mkdtemp(dir))
		return 1;
	char one[512], parts[512], first[600];
	snprintf(one, sizeof one, "%s/one.gguf", dir);
	snprintf(parts, sizeof parts, "%s/split.gguf", dir);
	rs_config c;
	convert_preset("tiny", &c);
	rs_err err = {{0}};
	int rc = convert_write_random(&c, one, RS_F32, 0.05f, 3, &err);
	rc = rc || convert_write_random_split(&c, parts, RS_F32, 0.05f, 3, 200000, &err);
	tap_ok(!rc, "tiny model written as one file and as parts of 200 kB (%s)", rc ? err.msg : "ok");
	snprintf(first, sizeof first, "%s/split-00003-of-%05d.gguf", dir, 0);
	/* how many parts: find the first one */
	int n_parts = 0;
	for (int n = 2; n < 100 && !n_parts; n++) {
		snprintf(first, sizeof first, "%s/split-00001-of-%05d.gguf", dir, n);
		if (access(first, R_OK) == 0)
			n_parts = n;
	}
	tap_ok(n_parts > 2, "split in %d parts", n_parts);
	rs_model *a = model_load(one, &err);
	char any[600];
	snprintf(any, sizeof any, "%s/split-%05d-of-%05d.gguf", dir, n_parts, n_parts);
	rs_model *b = a ? model_load(any, &err) : NULL;
	tap_ok(a && b, "the split model loads from its last part (%s)", b ? "ok" : err.msg);
	int streamed = 0;
	uint64_t dropped = 0;
	if (a && b) {
		tap_ok(same_run(a, UINT64_MAX, b, UINT64_MAX, &streamed, &dropped),
		       "split parts: every hook, logits and decoded tokens bit-identical to the single file");
		int same = same_run(a, UINT64_MAX, a, 64 << 10, &streamed, &dropped);
		tap_ok(same && streamed && dropped > 0,
		       "budget 64 KiB (stepped from disk, %llu ranges dropped): bit-identical to unlimited",
		       (unsigned long long)dropped);
		tap_ok(same_run(a, UINT64_MAX, b, 64 << 10, &streamed, &dropped) && streamed,
		       "split parts stepped from disk: bit-identical too");
		tap_ok(model_pass_bytes(a) < model_weight_bytes(a) + 1 && model_layer_bytes(a, 0) > 0,
		       "pass bytes %llu, layer bytes %llu", (unsigned long long)model_pass_bytes(a),
		       (unsigned long long)model_layer_bytes(a, 0));
	}
	model_free(a);
	model_free(b);
	/* split keys beyond the limit table, and a part that is not named as one */
	char big[600], plain[600];
	snprintf(big, sizeof big, "%s/x-00001-of-05000.gguf", dir);
	snprintf(plain, sizeof plain, "%s/plain.gguf", dir);
	for (int k = 0; k < 2; k++) {
		gguf_writer *w = gguf_writer_create();
		gguf_w_str(w, "general.architecture", "llama");
		gguf_w_u16(w, "split.no", 0);
		gguf_w_u16(w, "split.count", k ? 3 : 5000);
		gguf_w_i32(w, "split.tensors.count", 0);
		gguf_write(w, k ? plain : big, &err);
		gguf_writer_free(w);
	}
	gguf_file **gp = NULL;
	int gn = 0;
	rs_err e1 = {{0}}, e2 = {{0}};
	tap_ok(gguf_open_parts(big, &gp, &gn, &e1) && strstr(e1.msg, "4096"), "split.count past the limit table: %s",
	       e1.msg);
	tap_ok(gguf_open_parts(plain, &gp, &gn, &e2) && strstr(e2.msg, "plain.gguf: part 1 of a model split in 3"),
	       "a part not named as one: %s", e2.msg);
	/* a Hugging Face folder (safetensors) is stepped from disk the same way */
	char hf[1024];
	snprintf(hf, sizeof hf, "%s/hf-golden/v1_llama3_gqa", tap_fixtures());
	rs_model *h = access(hf, R_OK) == 0 ? model_load(hf, &err) : NULL;
	if (h) {
		int same = same_run(h, UINT64_MAX, h, 4096, &streamed, &dropped);
		tap_ok(same && streamed && dropped > 0, "safetensors stepped from disk: bit-identical (%llu ranges dropped)",
		       (unsigned long long)dropped);
		model_free(h);
	} else {
		tap_diag("no fixture at %s: the safetensors case is not run", hf);
	}
	char cmd[700];
	snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
	if (system(cmd))
		tap_diag("could not remove %s", dir);
	return tap_done_plan();
}
