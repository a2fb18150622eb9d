/* screen_stget.c - prints one row of a tensor in a safetensors file, for the
 * screen tests to compare what the screen shows with a dump of the same run.
 *
 *   screen_stget FILE TENSOR [I [J ...]]
 *
 * The indices select along the leading axes; the values along the remaining
 * ones are printed, one per line, with 6 decimals. */
#include "config.h"
#include "safetensors.h"
#include "dtype.h"

#include <stdio.h>
#include <stdlib.h>

int main(int argc, char **argv)
{
	if (argc < 3) {
		fprintf(stderr, "usage: screen_stget FILE TENSOR [I [J ...]]\n");
		return 2;
	}
	rs_err err;
	st_file *f = st_open(argv[1], &err);
	if (!f) {
		fprintf(stderr, "screen_stget: %s\n", err.msg);
		return 1;
	}
	const st_tensor *t = st_find(f, argv[2]);
	if (!t || t->dtype != RS_F32) {
		fprintf(stderr, "screen_stget: no f32 tensor '%s' in %s\n", argv[2], argv[1]);
		st_close(f);
		return 1;
	}
	int n_idx = argc - 3;
	if (n_idx >= t->n_dims) {
		fprintf(stderr, "screen_stget: %s has %d dimensions\n", argv[2], t->n_dims);
		st_close(f);
		return 1;
	}
	int64_t off = 0, count = 1;
	for (int d = 0; d < t->n_dims; d++) {
		if (d < n_idx) {
			long i = strtol(argv[3 + d], NULL, 10);
			if (i < 0 || i >= t->shape[d]) {
				fprintf(stderr, "screen_stget: index %ld out of range\n", i);
				st_close(f);
				return 1;
			}
			off = off * t->shape[d] + i;
		} else {
			off *= t->shape[d];
			count *= t->shape[d];
		}
	}
	const float *x = (const float *)t->data + off;
	for (int64_t i = 0; i < count; i++)
		printf("%.6f\n", x[i]);
	st_close(f);
	return 0;
}
