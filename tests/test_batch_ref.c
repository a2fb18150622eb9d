/* test_batch_ref.c - prints reference numbers for tests/test_batch.sh, computed
 * from the Hugging Face dumps (golden.safetensors, case.json) or from a
 * model's own files, never from the engine:
 *
 *   test_batch_ref GOLDEN ids                  input_ids, comma-separated
 *   test_batch_ref GOLDEN vec NAME POS         row POS of a [T, d] tensor, one value a line
 *   test_batch_ref GOLDEN stats NAME POS       the statistics `show` prints for that row
 *   test_batch_ref GOLDEN top K                top K of the last logits: id, probability, logit
 *   test_batch_ref GOLDEN logit POS ID         one logit
 *   test_batch_ref GOLDEN pattern L H          the pattern of layer L head H, one query a line
 *   test_batch_ref GOLDEN shape NAME           a tensor's shape, space-separated
 *   test_batch_ref CASE.json greedy            greedy_continuation, space-separated
 *   test_batch_ref MODEL.safetensors params    total number of elements of the tensors
 */
#include "config.h"
#include "err.h"
#include "mapfile.h"
#include "safetensors.h"

#include <cJSON.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const st_tensor *need(const st_file *f, const char *name)
{
	const st_tensor *t = st_find(f, name);
	if (!t) {
		fprintf(stderr, "test_batch_ref: no tensor %s\n", name);
		exit(1);
	}
	return t;
}

static const float *row_of(const st_tensor *t, long pos, int64_t *n)
{
	if (t->dtype != 0 || t->n_dims != 2 || pos < 0 || pos >= t->shape[0]) {
		fprintf(stderr, "test_batch_ref: %s is not an F32 [T, d] tensor with row %ld\n", t->name, pos);
		exit(1);
	}
	*n = t->shape[1];
	return (const float *)t->data + pos * t->shape[1];
}

static int greedy(const char *path)
{
	rs_err err;
	char *text = rs_read_file(path, NULL, &err);
	cJSON *o = text ? cJSON_Parse(text) : NULL;
	cJSON *g = cJSON_GetObjectItem(o, "greedy_continuation");
	if (!cJSON_IsArray(g)) {
		fprintf(stderr, "test_batch_ref: %s: no greedy_continuation\n", path);
		return 1;
	}
	for (int i = 0; i < cJSON_GetArraySize(g); i++)
		printf("%s%d", i ? " " : "", cJSON_GetArrayItem(g, i)->valueint);
	printf("\n");
	cJSON_Delete(o);
	free(text);
	return 0;
}

int main(int argc, char **argv)
{
	if (argc < 3) {
		fprintf(stderr, "usage: test_batch_ref FILE WHAT [ARGS]\n");
		return 2;
	}
	const char *what = argv[2];
	if (!strcmp(what, "greedy"))
		return greedy(argv[1]);
	rs_err err;
	st_file *f = st_open(argv[1], &err);
	if (!f) {
		fprintf(stderr, "test_batch_ref: %s\n", err.msg);
		return 1;
	}
	if (!strcmp(what, "ids")) {
		const st_tensor *t = need(f, "input_ids");
		for (int64_t i = 0; i < st_numel(t); i++)
			printf("%s%d", i ? "," : "", ((const int32_t *)t->data)[i]);
		printf("\n");
	} else if (!strcmp(what, "params")) {
		int64_t n = 0;
		for (size_t i = 0; i < f->n; i++)
			n += st_numel(&f->tensors[i]);
		printf("%lld\n", (long long)n);
	} else if (!strcmp(what, "shape") && argc == 4) {
		const st_tensor *t = need(f, argv[3]);
		for (int i = 0; i < t->n_dims; i++)
			printf("%s%lld", i ? " " : "", (long long)t->shape[i]);
		printf("\n");
	} else if ((!strcmp(what, "vec") || !strcmp(what, "stats")) && argc == 5) {
		int64_t n;
		const float *x = row_of(need(f, argv[3]), atol(argv[4]), &n);
		if (what[0] == 'v') {
			for (int64_t i = 0; i < n; i++)
				printf("%.6f\n", x[i]);
		} else {
			double sum = 0, ss = 0, mn = INFINITY, mx = -INFINITY;
			int64_t am = 0;
			for (int64_t i = 0; i < n; i++) {
				sum += x[i];
				ss += (double)x[i] * x[i];
				mn = x[i] < mn ? x[i] : mn;
				mx = x[i] > mx ? x[i] : mx;
				if (fabs(x[i]) > fabs(x[am]))
					am = i;
			}
			double mean = sum / n;
			printf("norm %.4f mean %.4f std %.4f min %.4f max %.4f max|x| %.4f at %lld\n", sqrt(ss), mean,
			       sqrt(ss / n - mean * mean), mn, mx, fabs(x[am]), (long long)am);
		}
	} else if (!strcmp(what, "top") && argc == 4) {
		const st_tensor *t = need(f, "logits");
		int64_t V;
		const float *lg = row_of(t, t->shape[0] - 1, &V);
		double mx = -INFINITY, z = 0;
		for (int64_t i = 0; i < V; i++)
			mx = lg[i] > mx ? lg[i] : mx;
		for (int64_t i = 0; i < V; i++)
			z += exp(lg[i] - mx);
		int k = atoi(argv[3]);
		char *used = calloc((size_t)V, 1);
		for (int r = 0; r < k && r < V; r++) {
			int64_t best = -1;
			for (int64_t i = 0; i < V; i++)
				if (!used[i] && (best < 0 || lg[i] > lg[best]))
					best = i;
			used[best] = 1;
			printf("%lld %.4f %.4f\n", (long long)best, exp(lg[best] - mx) / z, lg[best]);
		}
		free(used);
	} else if (!strcmp(what, "logit") && argc == 5) {
		int64_t V;
		const float *lg = row_of(need(f, "logits"), atol(argv[3]), &V);
		long id = atol(argv[4]);
		if (id < 0 || id >= V)
			return 1;
		printf("%.4f\n", lg[id]);
	} else if (!strcmp(what, "pattern") && argc == 5) {
		char name[96];
		snprintf(name, sizeof name, "blocks.%s.attn.hook_pattern", argv[3]);
		const st_tensor *t = need(f, name);
		long h = atol(argv[4]);
		int64_t T = t->shape[1], Tk = t->shape[2];
		if (h < 0 || h >= t->shape[0])
			return 1;
		const float *p = (const float *)t->data + h * T * Tk;
		for (int64_t q = 0; q < T; q++) {
			for (int64_t k = 0; k < Tk; k++)
				printf("%s%.4f", k ? " " : "", p[q * Tk + k]);
			printf("\n");
		}
	} else {
		fprintf(stderr, "test_batch_ref: bad arguments\n");
		st_close(f);
		return 2;
	}
	st_close(f);
	return 0;
}
