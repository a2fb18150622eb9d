/* safetensors.c - reader (8-byte header length, JSON header, data) and writer. */
#include "config.h"
#include "safetensors.h"
#include "dtype.h"
#include "filelimits.h"
#include "mapfile.h"

#include <cJSON.h>
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define ST_MAX_HEADER 100000000u /* as the reference reader */

static int dtype_from_name(const char *s, size_t *elsize)
{
	static const struct { const char *name; int dtype; size_t size; } tab[] = {
		{"F32", RS_F32, 4}, {"F16", RS_F16, 2}, {"BF16", RS_BF16, 2}, {"I32", RS_I32, 4},
		{"I8", RS_I8, 1}, {"I16", RS_I16, 2}, {"U8", -1, 1}, {"BOOL", -1, 1}, {"U16", -1, 2},
		{"U32", -1, 4}, {"I64", -1, 8}, {"U64", -1, 8}, {"F64", -1, 8}, {"F8_E4M3", -1, 1},
		{"F8_E5M2", -1, 1},
	};
	for (size_t i = 0; i < sizeof tab / sizeof *tab; i++)
		if (!strcmp(s, tab[i].name)) {
			*elsize = tab[i].size;
			return tab[i].dtype;
		}
	*elsize = 0;
	return -2;
}

int64_t st_numel(const st_tensor *t)
{
	int64_t n = 1;
	for (int i = 0; i < t->n_dims; i++)
		n *= t->shape[i];
	return n;
}

static int parse_tensor(st_file *f, cJSON *it, st_tensor *t, size_t data_len, rs_err *err)
{
	cJSON *dt = cJSON_GetObjectItemCaseSensitive(it, "dtype");
	cJSON *shape = cJSON_GetObjectItemCaseSensitive(it, "shape");
	cJSON *offs = cJSON_GetObjectItemCaseSensitive(it, "data_offsets");
	t->name = rs_xstrdup(it->string);
	if (!cJSON_IsString(dt) || !cJSON_IsArray(shape) || !cJSON_IsArray(offs) ||
	    cJSON_GetArraySize(offs) != 2)
		return rs_fail(err, "%s: tensor '%s' header entry needs dtype, shape and data_offsets", f->path,
			       rs_esc(t->name, -1));
	size_t elsize;
	t->dtype = dtype_from_name(dt->valuestring, &elsize);
	snprintf(t->dtype_name, sizeof t->dtype_name, "%s", dt->valuestring);
	if (t->dtype == -2)
		return rs_fail(err, "%s: tensor '%s' has unknown dtype '%s'", f->path, rs_esc(t->name, -1),
			       rs_esc(dt->valuestring, -1));
	t->n_dims = cJSON_GetArraySize(shape);
	if (t->n_dims > 8)
		return rs_fail(err, "%s: tensor '%s' has %d dimensions", f->path, rs_esc(t->name, -1), t->n_dims);
	uint64_t numel = 1, bytes;
	for (int i = 0; i < t->n_dims; i++) {
		cJSON *d = cJSON_GetArrayItem(shape, i);
		if (!cJSON_IsNumber(d) || !(d->valuedouble >= 0 && d->valuedouble <= (double)RS_MAX_TENSOR_DIM) ||
		    d->valuedouble != (double)(int64_t)d->valuedouble)
			return rs_fail(err, "%s: tensor '%s' has a bad shape entry", f->path, rs_esc(t->name, -1));
		t->shape[i] = (int64_t)d->valuedouble;
		if (!RS_MUL_OK(numel, (uint64_t)t->shape[i], &numel))
			return rs_fail(err, "%s: tensor '%s' has more elements than any file holds", f->path,
				       rs_esc(t->name, -1));
	}
	cJSON *b = cJSON_GetArrayItem(offs, 0), *e = cJSON_GetArrayItem(offs, 1);
	if (!cJSON_IsNumber(b) || !cJSON_IsNumber(e) || !(b->valuedouble >= 0) || !(e->valuedouble >= b->valuedouble))
		return rs_fail(err, "%s: tensor '%s' has bad data_offsets", f->path, rs_esc(t->name, -1));
	if (e->valuedouble > (double)data_len)
		return rs_fail(err, "%s: tensor '%s' data [%.6g, %.6g) runs past the end of the file "
			       "(data section is %zu bytes)", f->path, rs_esc(t->name, -1), b->valuedouble,
			       e->valuedouble, data_len);
	uint64_t begin = (uint64_t)b->valuedouble, end = (uint64_t)e->valuedouble;
	if (!RS_MUL_OK(numel, (uint64_t)elsize, &bytes) || end - begin != bytes)
		return rs_fail(err, "%s: tensor '%s' has %" PRIu64 " bytes but its shape and dtype %s need %" PRIu64
			       " x %zu", f->path, rs_esc(t->name, -1), end - begin, rs_esc(t->dtype_name, -1), numel,
			       elsize);
	t->nbytes = end - begin;
	t->data = f->map + 8 + (f->size - 8 - data_len) + begin;
	return 0;
}

/* Orders tensor indexes by name, then by index (the first of a repeated name wins). */
static int by_name_cmp(const void *a, const void *b, void *ctx)
{
	const st_tensor *t = ctx;
	uint32_t i = *(const uint32_t *)a, j = *(const uint32_t *)b;
	int r = strcmp(t[i].name, t[j].name);
	return r ? r : (i > j) - (i < j);
}

static int parse(st_file *f, rs_err *err)
{
	uint64_t hlen;
	if (f->size < 8)
		return rs_fail(err, "%s: truncated: %zu bytes, too short for a safetensors header", f->path, f->size);
	memcpy(&hlen, f->map, 8);
	if (hlen > ST_MAX_HEADER || hlen > f->size - 8)
		return rs_fail(err, "%s: header length %" PRIu64 " at offset 0 is larger than the file (%zu bytes): "
			       "truncated or not safetensors", f->path, hlen, f->size);
	if (hlen < 2 || f->map[8] != '{')
		return rs_fail(err, "%s: not a safetensors file (no JSON header at offset 8)", f->path);
	cJSON *root = cJSON_ParseWithLength((const char *)f->map + 8, (size_t)hlen);
	if (!root || !cJSON_IsObject(root)) {
		cJSON_Delete(root);
		return rs_fail(err, "%s: the JSON header is not valid JSON", f->path);
	}
	size_t data_len = f->size - 8 - (size_t)hlen;
	size_t n = 0;
	for (cJSON *it = root->child; it; it = it->next)
		n += strcmp(it->string, "__metadata__") != 0;
	if (n > RS_MAX_TENSORS) {
		cJSON_Delete(root);
		return rs_fail(err, "%s: the header lists %zu tensors (the limit is %u)", f->path, n, RS_MAX_TENSORS);
	}
	f->tensors = rs_xcalloc((size_t)n, sizeof *f->tensors);
	int rc = 0;
	for (cJSON *it = root->child; it && !rc; it = it->next) {
		if (!strcmp(it->string, "__metadata__"))
			continue;
		rc = parse_tensor(f, it, &f->tensors[f->n++], data_len, err);
	}
	cJSON_Delete(root);
	if (rc)
		return rc;
	/* a name index, so that a model's hundreds of lookups stay cheap however many tensors */
	f->by_name = rs_xmalloc((f->n ? f->n : 1) * sizeof *f->by_name);
	for (size_t i = 0; i < f->n; i++)
		f->by_name[i] = (uint32_t)i;
	qsort_r(f->by_name, f->n, sizeof *f->by_name, by_name_cmp, f->tensors);
	return 0;
}

st_file *st_open(const char *path, rs_err *err)
{
	rs_map m;
	if (rs_map_open(path, &m, err))
		return NULL;
	st_file *f = rs_xcalloc(1, sizeof *f);
	f->path = rs_xstrdup(path);
	f->map = m.data;
	f->size = m.size;
	if (parse(f, err)) {
		st_close(f);
		return NULL;
	}
	return f;
}

void st_close(st_file *f)
{
	if (!f)
		return;
	for (size_t i = 0; i < f->n; i++)
		free(f->tensors[i].name);
	free(f->tensors);
	free(f->by_name);
	rs_map m = {f->map, f->size};
	rs_map_close(&m);
	free(f->path);
	free(f);
}

const st_tensor *st_find(const st_file *f, const char *name)
{
	size_t lo = 0, hi = f->by_name ? f->n : 0;
	while (lo < hi) { /* the first entry not below name */
		size_t mid = lo + (hi - lo) / 2;
		if (strcmp(f->tensors[f->by_name[mid]].name, name) < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	if (lo < f->n && f->by_name && !strcmp(f->tensors[f->by_name[lo]].name, name))
		return &f->tensors[f->by_name[lo]];
	return NULL;
}

/* ---------------------------------------------------------------- writer */
typedef struct wt {
	char *name;
	int dtype, n_dims;
	int64_t shape[8];
	const void *data;
	size_t nbytes;
} wt;

struct st_writer {
	wt *t;
	size_t n, cap;
	cJSON *meta;
};

st_writer *st_writer_create(void)
{
	st_writer *w = rs_xcalloc(1, sizeof *w);
	w->meta = cJSON_CreateObject();
	return w;
}

void st_writer_free(st_writer *w)
{
	if (!w)
		return;
	for (size_t i = 0; i < w->n; i++)
		free(w->t[i].name);
	free(w->t);
	cJSON_Delete(w->meta);
	free(w);
}

void st_w_tensor(st_writer *w, const char *name, int dtype, int n_dims, const int64_t *shape,
		 const void *data)
{
	if (w->n == w->cap)
		w->t = rs_xrealloc(w->t, (w->cap = w->cap * 2 + 32) * sizeof *w->t);
	wt *t = &w->t[w->n++];
	t->name = rs_xstrdup(name);
	t->dtype = dtype;
	t->n_dims = n_dims;
	size_t numel = 1;
	for (int i = 0; i < n_dims; i++) {
		t->shape[i] = shape[i];
		numel *= (size_t)shape[i];
	}
	t->data = data;
	t->nbytes = numel * 4;
}

void st_w_meta(st_writer *w, const char *key, const char *value)
{
	cJSON_AddStringToObject(w->meta, key, value);
}

int st_write(st_writer *w, const char *path, rs_err *err)
{
	cJSON *root = cJSON_CreateObject();
	if (w->meta->child)
		cJSON_AddItemReferenceToObject(root, "__metadata__", w->meta);
	size_t off = 0;
	for (size_t i = 0; i < w->n; i++) {
		wt *t = &w->t[i];
		cJSON *e = cJSON_CreateObject();
		cJSON_AddStringToObject(e, "dtype", t->dtype == RS_I32 ? "I32" : "F32");
		cJSON *sh = cJSON_AddArrayToObject(e, "shape");
		for (int d = 0; d < t->n_dims; d++)
			cJSON_AddItemToArray(sh, cJSON_CreateNumber((double)t->shape[d]));
		cJSON *o = cJSON_AddArrayToObject(e, "data_offsets");
		cJSON_AddItemToArray(o, cJSON_CreateNumber((double)off));
		cJSON_AddItemToArray(o, cJSON_CreateNumber((double)(off + t->nbytes)));
		off += t->nbytes;
		cJSON_AddItemToObject(root, t->name, e);
	}
	char *json = cJSON_PrintUnformatted(root);
	cJSON_Delete(root);
	size_t hlen = strlen(json), padded = (hlen + 7) / 8 * 8; /* keep the data 8-aligned */
	FILE *f = fopen(path, "wb");
	if (!f) {
		free(json);
		return rs_fail(err, "%s: %s", path, strerror(errno));
	}
	uint64_t n64 = padded;
	fwrite(&n64, 8, 1, f);
	fwrite(json, 1, hlen, f);
	for (size_t i = hlen; i < padded; i++)
		fputc(' ', f);
	free(json);
	for (size_t i = 0; i < w->n; i++)
		fwrite(w->t[i].data, 1, w->t[i].nbytes, f);
	int bad = ferror(f);
	if (fclose(f) || bad)
		return rs_fail(err, "%s: write failed: %s", path, strerror(errno));
	return 0;
}
