/* gguf_split.c - opening a model split in parts as llama.cpp's gguf-split
 * writes them (NAME-00001-of-00009.gguf), from any of its parts. */
#include "config.h"
#include "gguf.h"
#include "filelimits.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

int gguf_split_name(const char *path, char *prefix, size_t n, int *no, int *count)
{
	static const char tail[] = "-00001-of-00001.gguf";
	size_t len = strlen(path), tl = sizeof tail - 1;
	if (len <= tl)
		return 0;
	const char *p = path + len - tl;
	int a, b;
	char dot[8];
	if (p[0] != '-' || sscanf(p, "-%5d-of-%5d%6s", &a, &b, dot) != 3 || strcmp(dot, ".gguf") ||
	    strncmp(p + 6, "-of-", 4))
		return 0;
	for (int i = 1; i <= 5; i++)
		if (p[i] < '0' || p[i] > '9' || p[i + 9] < '0' || p[i + 9] > '9')
			return 0;
	if (a < 1 || b < 1 || a > b)
		return 0;
	if (len - tl + 1 > n)
		return 0;
	memcpy(prefix, path, len - tl);
	prefix[len - tl] = 0;
	*no = a;
	*count = b;
	return 1;
}

/* The split keys of one part; has = 0 when it has none. */
typedef struct split_keys {
	int has;
	int64_t no, count, total;
	gguf_str id;
} split_keys;

static int read_keys(const gguf_file *g, split_keys *k, rs_err *err)
{
	memset(k, 0, sizeof *k);
	if (!gguf_find(g, "split.count"))
		return 0;
	k->has = 1;
	if (gguf_get_i64(g, "split.count", &k->count, err) || gguf_get_i64(g, "split.no", &k->no, err) ||
	    gguf_get_i64(g, "split.tensors.count", &k->total, err))
		return -1;
	if (k->count > RS_MAX_SHARDS)
		return rs_fail(err, "%s: split.count %" PRId64 " is more than the %d parts residual accepts", g->path,
			       k->count, RS_MAX_SHARDS);
	if (k->count < 1 || k->no < 0 || k->no >= k->count)
		return rs_fail(err, "%s: split.no %" PRId64 " and split.count %" PRId64 " do not fit together",
			       g->path, k->no, k->count);
	if (k->total < 0 || (uint64_t)k->total > RS_MAX_TENSORS)
		return rs_fail(err, "%s: split.tensors.count %" PRId64 " is out of range", g->path, k->total);
	const gguf_kv *id = gguf_find(g, "residual.split.id");
	if (id && id->type == GGUF_STRING)
		k->id = id->str;
	return 0;
}

static void close_all(gguf_file **p, int n)
{
	for (int i = 0; i < n; i++)
		gguf_close(p[i]);
	free(p);
}

int gguf_open_parts(const char *path, gguf_file ***parts_out, int *n_out, rs_err *err)
{
	*parts_out = NULL;
	*n_out = 0;
	gguf_file *g = gguf_open(path, err);
	if (!g)
		return -1;
	split_keys k;
	if (read_keys(g, &k, err)) {
		gguf_close(g);
		return -1;
	}
	char prefix[4096];
	int no, count;
	int named = gguf_split_name(path, prefix, sizeof prefix, &no, &count);
	if (!k.has) {
		if (named && count > 1) {
			rs_fail(err, "%s: named as part %d of %d but has no split.count key", path, no, count);
			gguf_close(g);
			return -1;
		}
		gguf_file **p = rs_xmalloc(sizeof *p);
		p[0] = g;
		*parts_out = p;
		*n_out = 1;
		return 0;
	}
	if (!named && k.count > 1) {
		rs_fail(err, "%s: part %d of a model split in %d, but not named NAME-%05d-of-%05d.gguf, so "
			"the other parts cannot be found", path, (int)k.no + 1, (int)k.count, (int)k.no + 1, (int)k.count);
		gguf_close(g);
		return -1;
	}
	if (named && (count != k.count || no != k.no + 1)) {
		rs_fail(err, "%s: named part %d of %d, but its split.no and split.count say part %d of %d", path, no,
			count, (int)k.no + 1, (int)k.count);
		gguf_close(g);
		return -1;
	}
	int n = (int)k.count;
	gguf_file **p = rs_xcalloc((size_t)n, sizeof *p);
	p[k.no] = g;
	split_keys k0 = k;
	uint64_t sum = 0;
	for (int i = 0; i < n; i++) {
		char pp[4200];
		if (!p[i]) {
			gguf_split_path(pp, sizeof pp, prefix, i + 1, n);
			if (access(pp, F_OK) != 0) {
				rs_fail(err, "%s: part %d of %d is missing (%s splits the model in %d parts)", pp, i + 1, n,
					path, n);
				close_all(p, n);
				return -1;
			}
			if (!(p[i] = gguf_open(pp, err))) {
				close_all(p, n);
				return -1;
			}
		}
		split_keys ki;
		if (read_keys(p[i], &ki, err)) {
			close_all(p, n);
			return -1;
		}
		const char *bad = NULL;
		char why[160];
		if (!ki.has)
			bad = "has no split.count key";
		else if (ki.count != k0.count)
			bad = (snprintf(why, sizeof why, "says split.count %" PRId64 " but %s says %" PRId64, ki.count,
					path, k0.count), why);
		else if (ki.no != i)
			bad = (snprintf(why, sizeof why, "says split.no %" PRId64 " (part %" PRId64 ") but is named part %d",
					ki.no, ki.no + 1, i + 1), why);
		else if (ki.total != k0.total || (ki.id.len && k0.id.len &&
						 (ki.id.len != k0.id.len || memcmp(ki.id.s, k0.id.s, ki.id.len))))
			bad = "is a part of another model (its split.tensors.count or residual.split.id differs)";
		if (bad) {
			rs_fail(err, "%s: %s", p[i]->path, bad);
			close_all(p, n);
			return -1;
		}
		sum += p[i]->n_tensors;
	}
	if (sum != (uint64_t)k0.total) {
		rs_fail(err, "%s: the %d parts hold %" PRIu64 " tensors but split.tensors.count says %" PRId64
			" (a part of another model?)", p[0]->path, n, sum, k0.total);
		close_all(p, n);
		return -1;
	}
	if (!gguf_find(p[0], "general.architecture")) {
		rs_fail(err, "%s: the first part of a split model holds no model keys (general.architecture)", p[0]->path);
		close_all(p, n);
		return -1;
	}
	*parts_out = p;
	*n_out = n;
	return 0;
}
