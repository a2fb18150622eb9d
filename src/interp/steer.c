/* steer.c - steering vectors from contrastive prompts: the mean of a hook's
 * activation over the prompts of one file minus that over another (activation
 * addition, Turner et al. 2023, takes the difference of two prompts;
 * llama.cpp's control vectors with --method mean average the differences of
 * paired prompts position by position), and the reader of prompt files that
 * dataset-mean ablation shares. */
#include "config.h"
#include "interp.h"
#include "mapfile.h"
#include "tokenizer.h"

#include <stdlib.h>
#include <string.h>

void interp_prompts_free(interp_prompts *p)
{
	for (int i = 0; i < p->n; i++)
		free(p->ids[i]);
	free(p->ids);
	free(p->len);
	free(p->line);
	memset(p, 0, sizeof *p);
}

int interp_read_prompts(const rs_tokenizer *tok, int flags, const char *path, interp_prompts *out, rs_err *err)
{
	memset(out, 0, sizeof *out);
	size_t size = 0;
	char *text = rs_read_file(path, &size, err);
	if (!text)
		return -1;
	int cap = 16, line = 0, rc = 0;
	out->ids = rs_xmalloc(sizeof *out->ids * (size_t)cap);
	out->len = rs_xmalloc(sizeof *out->len * (size_t)cap);
	out->line = rs_xmalloc(sizeof *out->line * (size_t)cap);
	for (char *p = text, *nl; p && *p; p = nl ? nl + 1 : NULL) {
		nl = strchr(p, '\n');
		if (nl)
			*nl = 0;
		line++;
		size_t l = strlen(p);
		if (l && p[l - 1] == '\r')
			p[--l] = 0;
		if (!l || p[0] == '#') /* blank lines and comments */
			continue;
		if (out->n == cap) {
			cap *= 2;
			out->ids = rs_xrealloc(out->ids, sizeof *out->ids * (size_t)cap);
			out->len = rs_xrealloc(out->len, sizeof *out->len * (size_t)cap);
			out->line = rs_xrealloc(out->line, sizeof *out->line * (size_t)cap);
		}
		rs_err e2;
		if (tok_encode(tok, p, l, flags, &out->ids[out->n], NULL, &out->len[out->n], &e2)) {
			rc = rs_fail(err, "%s:%d: %s", path, line, e2.msg);
			break;
		}
		out->line[out->n++] = line;
	}
	free(text);
	if (!rc && !out->n)
		rc = rs_fail(err, "%s: no prompts (one a line; blank lines and lines starting with # are skipped)", path);
	if (rc)
		interp_prompts_free(out);
	return rc;
}

/* Σ over the prompts of hook h's row at the last position (or the mean of
 * rows 1..T-1: every position but the BOS) into sum (width). */
static int sum_over(rs_engine *e, rs_hook h, const interp_prompts *p, const char *path, int all_pos, double **sum,
		    int *width, rs_err *err)
{
	for (int i = 0; i < p->n; i++) {
		if (eng_set_prompt(e, p->ids[i], p->len[i], err))
			return rs_fail_prefix(err, "%s:%d: ", path, p->line[i]);
		eng_run_to(e, h);
		const rs_act *a = eng_act(e, h);
		if (!a || a->n_dims != 2)
			return rs_fail(err, "steering from prompts needs a hook of shape [T, width]");
		int T = a->shape[0], w = a->shape[1];
		if (!*sum) {
			*width = w;
			*sum = rs_xcalloc((size_t)w, sizeof **sum);
		}
		int from = all_pos ? (T > 1 ? 1 : 0) : T - 1;
		for (int t = from; t < T; t++)
			for (int j = 0; j < w; j++)
				(*sum)[j] += (double)a->data[(size_t)t * w + j] / (T - from);
	}
	return 0;
}

float *steer_from_files(const rs_model *m, const rs_tokenizer *tok, int flags, const char *path_a, const char *path_b,
			rs_hook h, int all_pos, int *n_a, int *n_b, int *width, rs_err *err)
{
	interp_prompts pa = {0}, pb = {0};
	double *sa = NULL, *sb = NULL;
	float *v = NULL;
	rs_engine *e = NULL;
	char name[96];
	if (interp_read_prompts(tok, flags, path_a, &pa, err) || interp_read_prompts(tok, flags, path_b, &pb, err) ||
	    !(e = eng_create(m, err)))
		goto done;
	eng_set_cache_filter(e, hook_name(h, name, sizeof name));
	int wa = 0, wb = 0;
	if (sum_over(e, h, &pa, path_a, all_pos, &sa, &wa, err) || sum_over(e, h, &pb, path_b, all_pos, &sb, &wb, err))
		goto done;
	v = rs_xmalloc(sizeof *v * (size_t)wa);
	for (int j = 0; j < wa; j++)
		v[j] = (float)(sa[j] / pa.n - sb[j] / pb.n);
	*n_a = pa.n, *n_b = pb.n, *width = wa;
done:
	eng_free(e);
	free(sa), free(sb);
	interp_prompts_free(&pa), interp_prompts_free(&pb);
	return v;
}
