/* commands_attrib.c - `attrib HOOK from PROMPT`: attribution patching
 * (interp/attrib.c), with --compare the real patching sweep beside it and
 * the correlation of the two. Runs on the clean model. */
#include "config.h"
#include "circuits.h"
#include "commands_internal.h"

#include <cJSON.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* The real patching grid of the same shape as r (normalised), or NULL. */
static float *real_patching(const rs_model *m, const int32_t *clean, const int32_t *corrupt, int n,
			    const interp_metric *mt, const attrib_result *r, rs_session *s, rs_err *err)
{
	patch_ctx *p = patch_create(m, clean, corrupt, n, mt, err);
	if (!p)
		return NULL;
	patch_set_stop(p, s->interrupt, s->interrupt_ctx);
	float *out = NULL;
	if (r->site == HOOK_LNF_OUT) { /* one row: each position of ln_final.hook_out */
		out = rs_xmalloc(sizeof(float) * (size_t)n);
		rs_hook h = {HOOK_LNF_OUT, -1};
		for (int t = 0; t < n; t++) {
			float v;
			if (patch_one(p, &h, -1, t, &v, err)) {
				free(out);
				out = NULL;
				break;
			}
			out[t] = patch_normalise(p, v);
		}
	} else {
		patch_sweep *sw = r->heads ? patch_sweep_heads(p, r->site, r->pos, err) : patch_sweep_pos(p, r->site, err);
		if (sw) {
			out = rs_xmalloc(sizeof(float) * (size_t)sw->rows * sw->cols);
			memcpy(out, sw->norm, sizeof(float) * (size_t)sw->rows * sw->cols);
		}
		patch_sweep_free(sw);
	}
	patch_free(p);
	return out;
}

cmd_status cmd_attrib_run(rs_session *s, int argc, char **argv, rs_err *err)
{
	/* attrib HOOK from PROMPT */
	int m, json = cmd_take_flag(&argc, argv, "--json"), values = cmd_take_flag(&argc, argv, "--values");
	int heads = cmd_take_flag(&argc, argv, "--heads"), compare = cmd_take_flag(&argc, argv, "--compare");
	const char *ps = cmd_take_opt(&argc, argv, "--pos", &m);
	interp_metric mt;
	if (m)
		return cmd_usage(err, argv[0], "--pos needs a position");
	if (cmd_need_prompt(s, argv[0], err) || cmd_take_metric(s, &argc, argv, &mt, err))
		return CMD_ERROR;
	if (argc < 4 || strcmp(argv[2], "from"))
		return cmd_usage(err, argv[0], "give a hook kind, then from PROMPT");
	rs_hook h;
	int pos = -1;
	if (cmd_arg_hook(s, argv[1], argv[0], &h, err))
		return CMD_ERROR;
	if (ps && (!heads || cmd_arg_index(ps, s->n_ids, argv[0], "position", &pos, err)))
		return heads ? CMD_ERROR : cmd_usage(err, argv[0], "--pos goes with --heads");
	int as_ids = !strcmp(argv[3], "--ids");
	if (3 + as_ids >= argc)
		return cmd_usage(err, argv[0], "the clean prompt is missing");
	int32_t *clean;
	int n;
	if (cmd_arg_prompt(s, cmd_text(argc, argv, 3 + as_ids), as_ids, argv[0], &clean, &n, err))
		return CMD_ERROR;
	cmd_status st = CMD_ERROR;
	float *real = NULL;
	attrib_result *r = NULL;
	if (cmd_default_metric(s, clean, n, &mt, argv[0], err))
		goto out;
	rs_err e2;
	if (!(r = attrib_run(s->model, clean, s->ids, n, &mt, h.kind, heads, pos, &e2))) {
		cmd_usage(err, argv[0], "%s", e2.msg);
		goto out;
	}
	int cells = r->rows * r->cols;
	if (compare && !(real = real_patching(s->model, clean, s->ids, n, &mt, r, s, &e2))) {
		cmd_fail(err, argv[0], "%s", e2.msg);
		goto out;
	}
	double corr = real ? attrib_corr(r->norm, real, cells) : NAN;
	if (json) {
		cJSON *o = attrib_to_json(r, &mt);
		if (real) {
			cJSON_AddItemToObject(o, "patching_normalised", interp_json_grid(real, r->rows, r->cols));
			if (isfinite(corr))
				cJSON_AddNumberToObject(o, "correlation", corr);
		}
		char *txt = cJSON_Print(o);
		session_printf(s, "%s\n", txt);
		free(txt);
		cJSON_Delete(o);
		st = CMD_OK;
		goto out;
	}
	cmd_print_metric(s, &mt);
	session_printf(s, "clean %.4f, corrupted (this prompt) %.4f; attribution patching of %s: (clean - corrupted) . "
			  "gradient at this run, normalised as sweep patch (0 = corrupted, 1 = clean), from one "
			  "backward pass\n",
		       r->source, r->base, hook_kind_name(h.kind));
	/* the trainer's forward is the engine's function in another order of
	 * sums: its logits agree to f32 rounding (the JSON has the number) */
	if (r->max_logit_diff <= 1e-3f)
		session_printf(s, "the trainer's logits agree with the engine's within 1e-3\n");
	else
		session_printf(s, "warning: the trainer's logits differ from the engine's by up to %.2g; the gradient "
				  "is not the engine's\n", r->max_logit_diff);
	const char *col = r->heads ? "h" : "p";
	session_printf(s, "rows: %s; columns: %s\n", r->site == HOOK_LNF_OUT ? "ln_final" : "layers",
		       r->heads ? (r->pos >= 0 ? "query heads (h), at one position" : "query heads (h), all positions")
				: "positions (p)");
	cmd_print_grid(s, r->norm, r->rows, r->cols, r->site == HOOK_LNF_OUT ? "lnf" : "layer", col, values);
	if (real) {
		session_printf(s, "activation patching (sweep patch), the same grid:\n");
		cmd_print_grid(s, real, r->rows, r->cols, r->site == HOOK_LNF_OUT ? "lnf" : "layer", col, values);
		session_printf(s, "correlation of the estimate with real patching over %d cells: %.4f\n", cells, corr);
	}
	st = CMD_OK;
out:
	attrib_free(r);
	free(real);
	free(clean);
	return st;
}
