/* test_gguf.c - GGUF writer/reader round trip, and bad files rejected with one line. */
#include "config.h"
#include "tap.h"
#include "gguf.h"
#include "mapfile.h"

#include <stdint.h>
#include <unistd.h>

static char tmpdir[256];

static void path_of(char *buf, size_t n, const char *name)
{
	snprintf(buf, n, "%s/%s", tmpdir, name);
}

static void write_bytes(const char *path, const void *p, size_t n)
{
	FILE *f = fopen(path, "wb");
	fwrite(p, 1, n, f);
	fclose(f);
}

int main(void)
{
	snprintf(tmpdir, sizeof tmpdir, "/tmp/rs-test-gguf.XXXXXX");
	if (!mkdtemp(tmpdir))
		tap_skip_all("no temporary directory");
	char good[300];
	path_of(good, sizeof good, "good.gguf");

	gguf_writer *w = gguf_writer_create();
	gguf_w_str(w, "general.architecture", "llama");
	gguf_w_u32(w, "llama.block_count", 3);
	gguf_w_f32(w, "llama.rope.freq_base", 500000.0f);
	gguf_w_bool(w, "tokenizer.ggml.add_bos_token", 1);
	const char *toks[] = {"a", "Ġb", "<|begin_of_text|>"};
	gguf_w_arr_str(w, "tokenizer.ggml.tokens", toks, 3);
	int32_t types[] = {1, 1, 3};
	gguf_w_arr_i32(w, "tokenizer.ggml.token_type", types, 3);
	float m[2 * 64];
	for (int i = 0; i < 128; i++)
		m[i] = (float)i * 0.25f - 3.0f;
	int64_t shape[2] = {2, 64};
	gguf_w_tensor(w, "w.f32", RS_F32, 2, shape, m, sizeof m, 1);
	uint8_t q[2 * 2 * 34];
	for (int r = 0; r < 2; r++)
		rs_quant_row(RS_Q8_0, m + r * 64, q + r * 68, 64);
	gguf_w_tensor(w, "w.q8", RS_Q8_0, 2, shape, q, sizeof q, 0);
	rs_err err = {{0}};
	tap_ok(gguf_write(w, good, &err) == 0, "writer writes a file");
	gguf_writer_free(w);

	gguf_file *g = gguf_open(good, &err);
	tap_ok(g != NULL, "reader opens it (%s)", g ? "ok" : err.msg);
	if (!g)
		return tap_done_plan();
	int64_t bc = 0;
	gguf_str arch = {0};
	float fb = 0;
	int bos = 0;
	tap_ok(gguf_get_i64(g, "llama.block_count", &bc, &err) == 0 && bc == 3, "u32 key read as integer");
	tap_ok(gguf_get_str(g, "general.architecture", &arch, &err) == 0 && gguf_str_eq(arch, "llama"),
	       "string key");
	tap_ok(gguf_get_f32(g, "llama.rope.freq_base", &fb, &err) == 0 && fb == 500000.0f, "f32 key");
	tap_ok(gguf_get_bool(g, "tokenizer.ggml.add_bos_token", &bos, &err) == 0 && bos == 1, "bool key");
	const gguf_kv *kv = NULL;
	tap_ok(gguf_get_arr(g, "tokenizer.ggml.tokens", GGUF_STRING, &kv, &err) == 0 && kv->arr_n == 3 &&
		       gguf_str_eq(kv->strs[1], "Ġb") && gguf_str_eq(kv->strs[2], "<|begin_of_text|>"),
	       "string array");
	tap_ok(gguf_get_arr(g, "tokenizer.ggml.token_type", GGUF_I32, &kv, &err) == 0 &&
		       gguf_arr_num(kv, 2) == 3.0, "int array");
	tap_ok(gguf_get_i64(g, "general.architecture", &bc, &err) == -1 && strstr(err.msg, "integer"),
	       "wrong key type is reported: %s", err.msg);
	tap_ok(gguf_get_i64(g, "missing.key", &bc, &err) == -1 && strstr(err.msg, "missing.key"),
	       "missing key named: %s", err.msg);
	const gguf_tensor *t = gguf_find_tensor(g, "w.f32");
	tap_ok(t && t->n_dims == 2 && t->ne[0] == 64 && t->ne[1] == 2 && t->type == RS_F32 &&
		       ((uintptr_t)t->data % 32) == 0 && memcmp(t->data, m, sizeof m) == 0,
	       "f32 tensor: dims reversed on disk, aligned, bytes intact");
	t = gguf_find_tensor(g, "w.q8");
	float back[128];
	if (t)
		rs_dequant_row(RS_Q8_0, t->data, back, 128);
	tap_ok(t && t->nbytes == sizeof q && tap_max_abs_diff(back, m, 128) <= 29.0f / 127 / 2 + 29.0f / 1024,
	       "q8_0 tensor round trip within half a step plus the f16 scale rounding");
	size_t size = g->size;
	gguf_close(g);

	/* bad files: each must fail with a message naming the file */
	size_t len;
	char *bytes = rs_read_file(good, &len, &err);
	char bad[300];
	path_of(bad, sizeof bad, "bad.gguf");
	for (size_t cut = 3; cut < size; cut += size / 7) {
		write_bytes(bad, bytes, cut);
		g = gguf_open(bad, &err);
		tap_ok(!g && strstr(err.msg, "bad.gguf") &&
			       (strstr(err.msg, "truncated") || strstr(err.msg, "past the end")),
		       "truncated at %zu: %s", cut, err.msg);
		gguf_close(g);
	}
	char *copy = rs_xmalloc(len);
	memcpy(copy, bytes, len);
	copy[0] = 'X';
	write_bytes(bad, copy, len);
	g = gguf_open(bad, &err);
	tap_ok(!g && strstr(err.msg, "not a GGUF"), "wrong magic: %s", err.msg);
	/* a tensor offset past the end: patch the q8 tensor's offset (last 8 bytes of infos) */
	memcpy(copy, bytes, len);
	g = gguf_open(good, &err);
	size_t infos_end = g->data_offset;
	gguf_close(g);
	/* find the offset field: scan back from the data start over padding to the last u64 */
	for (size_t p = infos_end - 8; p > 24; p--) {
		uint64_t v;
		memcpy(&v, copy + p, 8);
		if (v == 512) { /* the second tensor's offset: 512 bytes of f32 before it */
			v = 1ull << 40;
			memcpy(copy + p, &v, 8);
			break;
		}
	}
	write_bytes(bad, copy, len);
	g = gguf_open(bad, &err);
	tap_ok(!g && strstr(err.msg, "w.q8") && strstr(err.msg, "past the end"), "offset past end: %s",
	       err.msg);
	/* unknown tensor type */
	memcpy(copy, bytes, len);
	for (size_t p = infos_end - 12; p > 24; p--) {
		uint32_t ty;
		uint64_t v;
		memcpy(&ty, copy + p, 4);
		memcpy(&v, copy + p + 4, 8);
		if (ty == RS_Q8_0 && v == 512) {
			ty = 77;
			memcpy(copy + p, &ty, 4);
			break;
		}
	}
	write_bytes(bad, copy, len);
	g = gguf_open(bad, &err);
	tap_ok(!g && strstr(err.msg, "type 77"), "unknown dtype: %s", err.msg);
	free(copy);
	free(bytes);
	unlink(bad);
	unlink(good);
	rmdir(tmpdir);
	return tap_done_plan();
}
