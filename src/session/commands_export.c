/* commands_export.c - `export FILE [HOOKS]`: the cached activations of the
 * stops shown so far, as safetensors (for Python) or JSON. */
#include "config.h"
#include "commands_internal.h"
#include "dtype.h"
#include "safetensors.h"

#include <cJSON.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int ends_with(const char *s, const char *suffix)
{
	size_t n = strlen(s), k = strlen(suffix);
	return n >= k && !strcmp(s + n - k, suffix);
}

/* The stops to write: computed, shown, kept in the cache, matching globs. */
static int pick_stops(rs_session *s, const char *globs, int *stops)
{
	int n = 0;
	for (int t = 0; t <= s->view_stop; t++) {
		rs_hook h = hook_at(t, s->model->cfg.n_layers);
		char hn[96];
		if (session_act(s, h) && hook_glob_match(globs, hook_name(h, hn, sizeof hn)))
			stops[n++] = t;
	}
	return n;
}

static int write_safetensors(rs_session *s, const char *path, const int *stops, int n, rs_err *err)
{
	st_writer *w = st_writer_create();
	int64_t ids_shape[1] = {s->n_ids};
	st_w_tensor(w, "input_ids", RS_I32, 1, ids_shape, s->ids);
	char (*names)[96] = rs_xmalloc(sizeof *names * (size_t)(n > 0 ? n : 1));
	for (int i = 0; i < n; i++) {
		rs_hook h = hook_at(stops[i], s->model->cfg.n_layers);
		const rs_act *a = session_act(s, h);
		int64_t shape[3];
		for (int d = 0; d < a->n_dims; d++)
			shape[d] = a->shape[d];
		st_w_tensor(w, hook_name(h, names[i], sizeof names[i]), RS_F32, a->n_dims, shape, a->data);
	}
	st_w_meta(w, "model", s->model_path);
	if (s->prompt)
		st_w_meta(w, "prompt", s->prompt);
	st_w_meta(w, "format", "residual activations: hook names as TransformerLens names them");
	int rc = st_write(w, path, err);
	st_writer_free(w);
	free(names);
	return rc;
}

static int write_json(rs_session *s, const char *path, const int *stops, int n, rs_err *err)
{
	cJSON *root = cJSON_CreateObject();
	cJSON_AddStringToObject(root, "model", s->model_path);
	if (s->prompt)
		cJSON_AddStringToObject(root, "prompt", s->prompt);
	cJSON_AddItemToObject(root, "input_ids", cJSON_CreateIntArray((const int *)s->ids, s->n_ids));
	cJSON *tensors = cJSON_AddObjectToObject(root, "tensors");
	for (int i = 0; i < n; i++) {
		rs_hook h = hook_at(stops[i], s->model->cfg.n_layers);
		const rs_act *a = session_act(s, h);
		char hn[96];
		cJSON *t = cJSON_AddObjectToObject(tensors, hook_name(h, hn, sizeof hn));
		cJSON_AddItemToObject(t, "shape", cJSON_CreateIntArray(a->shape, a->n_dims));
		/* shortest decimal that reads back as the same float */
		cJSON *data = cJSON_AddArrayToObject(t, "data");
		for (int64_t k = 0; k < a->numel; k++) {
			char num[32];
			float v = a->data[k];
			snprintf(num, sizeof num, "%.9g", v);
			for (int prec = 6; prec < 9; prec++) {
				char shorter[32];
				snprintf(shorter, sizeof shorter, "%.*g", prec, v);
				if (strtof(shorter, NULL) == v) {
					strcpy(num, shorter);
					break;
				}
			}
			/* JSON has no inf or NaN (masked attention scores are -inf) */
			cJSON_AddItemToArray(data, v != v || v - v != 0 ? cJSON_CreateNull() : cJSON_CreateRaw(num));
		}
	}
	char *text = cJSON_PrintUnformatted(root);
	cJSON_Delete(root);
	if (!text)
		return rs_fail(err, "%s: out of memory while writing JSON", path);
	FILE *f = fopen(path, "w");
	int rc = 0;
	if (!f || fputs(text, f) < 0 || fputc('\n', f) < 0)
		rc = rs_fail(err, "%s: %s", path, strerror(errno));
	if (f && fclose(f) && !rc)
		rc = rs_fail(err, "%s: %s", path, strerror(errno));
	free(text);
	return rc;
}

/* Globs over full hook names; a plain short name ("resid_pre", "1.z") stands
 * for its full name, as everywhere else on the command line. */
static int expand_globs(rs_session *s, const char *in, char *out, size_t n)
{
	size_t o = 0;
	out[0] = 0;
	while (*in) {
		size_t len = strcspn(in, ",");
		char item[256], hn[96];
		snprintf(item, sizeof item, "%.*s", (int)(len < 255 ? len : 255), in);
		const char *neg = item[0] == '!' ? "!" : "";
		const char *name = item + (*neg ? 1 : 0);
		rs_hook h;
		if (!strpbrk(name, "*?[") && cmd_arg_hook(s, name, "export", &h, NULL) == 0)
			name = hook_name(h, hn, sizeof hn);
		int w = snprintf(out + o, n - o, "%s%s%s", o ? "," : "", neg, name);
		if (w < 0 || (size_t)w >= n - o)
			return -1;
		o += (size_t)w;
		in += len + (in[len] == ',');
	}
	return 0;
}

cmd_status cmd_export_run(rs_session *s, int argc, char **argv, rs_err *err)
{
	if (argc < 2 || argc > 3)
		return cmd_usage(err, argv[0], "give a file name and maybe hook globs");
	const char *path = argv[1];
	char globs[1024] = "*";
	if (argc == 3 && expand_globs(s, argv[2], globs, sizeof globs))
		return cmd_usage(err, argv[0], "the hook list is too long");
	int json = ends_with(path, ".json");
	if (!json && !ends_with(path, ".safetensors") && !ends_with(path, ".st"))
		return cmd_usage(err, argv[0], "the file name must end in .safetensors or .json");
	if (cmd_check_path(s, path, argv[0], err) || cmd_need_prompt(s, argv[0], err))
		return CMD_ERROR;
	int *stops = rs_xmalloc(sizeof(int) * (size_t)session_n_stops(s));
	int n = pick_stops(s, globs, stops);
	if (!n) {
		free(stops);
		return cmd_fail(err, argv[0], "no computed hook matches '%.60s' (step forward, or see hooks)", globs);
	}
	rs_err e2;
	int rc = json ? write_json(s, path, stops, n, &e2) : write_safetensors(s, path, stops, n, &e2);
	free(stops);
	if (rc)
		return cmd_fail(err, argv[0], "%s", e2.msg);
	session_printf(s, "wrote %d tensor%s and input_ids to %s\n", n, n == 1 ? "" : "s", path);
	return CMD_OK;
}
