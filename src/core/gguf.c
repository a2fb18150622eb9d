/* gguf.c - GGUF v3 reader over an mmap, with bounds checks on every read. */
#include "config.h"
#include "gguf.h"
#include "filelimits.h"
#include "mapfile.h"

#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#define GGUF_MAGIC 0x46554747u /* "GGUF" little-endian */
#define GGUF_MAX_DIMS 4

typedef struct cursor {
	const uint8_t *base;
	size_t pos, size;
	const char *path;
	rs_err *err;
} cursor;

static int need(cursor *c, size_t n, const char *what)
{
	if (n > c->size || c->pos > c->size - n)
		return rs_fail(c->err, "%s: truncated at offset %zu reading %s (file is %zu bytes)",
			       c->path, c->pos, what, c->size);
	return 0;
}

static int rd(cursor *c, void *out, size_t n, const char *what)
{
	if (need(c, n, what))
		return -1;
	memcpy(out, c->base + c->pos, n);
	c->pos += n;
	return 0;
}

static int rd_str(cursor *c, gguf_str *s, const char *what)
{
	if (rd(c, &s->len, 8, what))
		return -1;
	if (s->len > RS_MAX_STRING)
		return rs_fail(c->err, "%s: %s at offset %zu claims %" PRIu64 " bytes (the limit is %llu)",
			       c->path, what, c->pos - 8, s->len, RS_MAX_STRING);
	if (need(c, s->len, what))
		return -1;
	s->s = (const char *)c->base + c->pos;
	c->pos += s->len;
	return 0;
}

static size_t scalar_size(int type)
{
	switch (type) {
	case GGUF_U8: case GGUF_I8: case GGUF_BOOL: return 1;
	case GGUF_U16: case GGUF_I16: return 2;
	case GGUF_U32: case GGUF_I32: case GGUF_F32: return 4;
	case GGUF_U64: case GGUF_I64: case GGUF_F64: return 8;
	default: return 0;
	}
}

static int read_value(cursor *c, gguf_kv *kv)
{
	size_t sz = scalar_size(kv->type);
	if (sz) {
		if (need(c, sz, "a value"))
			return -1;
		kv->val = c->base + c->pos;
		c->pos += sz;
		return 0;
	}
	if (kv->type == GGUF_STRING)
		return rd_str(c, &kv->str, "a string value");
	if (kv->type != GGUF_ARRAY)
		return rs_fail(c->err, "%s: key '%s' at offset %zu has unknown value type %d",
			       c->path, rs_esc(kv->key.s, (long)kv->key.len), c->pos, kv->type);
	uint32_t at;
	if (rd(c, &at, 4, "an array type") || rd(c, &kv->arr_n, 8, "an array length"))
		return -1;
	kv->arr_type = (int)at;
	kv->val = c->base + c->pos;
	if (kv->arr_n > RS_MAX_ARRAY)
		return rs_fail(c->err, "%s: array '%s' at offset %zu claims %" PRIu64 " elements (the limit is %llu)",
			       c->path, rs_esc(kv->key.s, (long)kv->key.len), c->pos - 8, kv->arr_n, RS_MAX_ARRAY);
	if (at == GGUF_STRING) {
		/* each string needs at least its 8-byte length: reject absurd counts early */
		if (kv->arr_n > (c->size - c->pos) / 8)
			return rs_fail(c->err, "%s: array '%s' claims %" PRIu64 " strings, more than the file holds",
				       c->path, rs_esc(kv->key.s, (long)kv->key.len), kv->arr_n);
		kv->strs = rs_xmalloc(kv->arr_n * sizeof *kv->strs);
		for (uint64_t i = 0; i < kv->arr_n; i++)
			if (rd_str(c, &kv->strs[i], "an array string"))
				return -1;
		return 0;
	}
	size_t esz = scalar_size((int)at);
	if (!esz)
		return rs_fail(c->err, "%s: array '%s' has unsupported element type %u",
			       c->path, rs_esc(kv->key.s, (long)kv->key.len), at);
	if (kv->arr_n > (c->size - c->pos) / esz)
		return rs_fail(c->err, "%s: array '%s' of %" PRIu64 " elements runs past the end of the file",
			       c->path, rs_esc(kv->key.s, (long)kv->key.len), kv->arr_n);
	c->pos += kv->arr_n * esz;
	return 0;
}

int gguf_str_eq(gguf_str s, const char *c)
{
	size_t n = strlen(c);
	return s.len == n && memcmp(s.s, c, n) == 0;
}

static int str_cmp(const char *a, size_t la, const char *b, size_t lb)
{
	int r = memcmp(a, b, la < lb ? la : lb);
	return r ? r : (la > lb) - (la < lb);
}

/* Orders tensor indexes by name, then by index (the first of a repeated name wins). */
static int by_name_cmp(const void *a, const void *b, void *ctx)
{
	const gguf_tensor *t = ctx;
	uint32_t i = *(const uint32_t *)a, j = *(const uint32_t *)b;
	int r = str_cmp(t[i].name.s, (size_t)t[i].name.len, t[j].name.s, (size_t)t[j].name.len);
	return r ? r : (i > j) - (i < j);
}

static int parse(gguf_file *g, rs_err *err)
{
	cursor c = {g->map, 0, g->size, g->path, err};
	uint32_t magic;
	if (rd(&c, &magic, 4, "the magic"))
		return -1;
	if (magic != GGUF_MAGIC)
		return rs_fail(err, "%s: not a GGUF file (magic %02x %02x %02x %02x at offset 0)", g->path,
			       g->map[0], g->map[1], g->map[2], g->map[3]);
	if (rd(&c, &g->version, 4, "the version"))
		return -1;
	if (g->version != 2 && g->version != 3)
		return rs_fail(err, "%s: GGUF version %u is not supported (need 2 or 3)", g->path, g->version);
	if (rd(&c, &g->n_tensors, 8, "the tensor count") || rd(&c, &g->n_kv, 8, "the key count"))
		return -1;
	/* a key takes at least 8+4+1 bytes (name length, type, a u8 value); a
	 * tensor info 8+4+8+4+8 (name length, rank, one dimension, type, offset) */
	if (g->n_kv > RS_MAX_KEYS || g->n_tensors > RS_MAX_TENSORS)
		return rs_fail(err, "%s: header at offset 8 claims %" PRIu64 " tensors and %" PRIu64 " keys, more "
			       "than residual allows (%u, %u)", g->path, g->n_tensors, g->n_kv, RS_MAX_TENSORS,
			       RS_MAX_KEYS);
	if (g->n_kv > g->size / 13 || g->n_tensors > g->size / 32)
		return rs_fail(err, "%s: header at offset 8 claims %" PRIu64 " tensors and %" PRIu64 " keys, more "
			       "than the file holds: truncated or corrupt (%zu bytes)", g->path, g->n_tensors,
			       g->n_kv, g->size);
	g->kv = rs_xcalloc(g->n_kv, sizeof *g->kv);
	for (uint64_t i = 0; i < g->n_kv; i++) {
		gguf_kv *kv = &g->kv[i];
		uint32_t t;
		if (rd_str(&c, &kv->key, "a key name") || rd(&c, &t, 4, "a value type"))
			return -1;
		kv->type = (int)t;
		if (read_value(&c, kv))
			return -1;
	}
	int64_t align = gguf_get_i64_or(g, "general.alignment", 32);
	if (align <= 0 || align > 65536 || (align & (align - 1)))
		return rs_fail(err, "%s: general.alignment %" PRId64 " is not a power of two up to 65536", g->path, align);
	g->alignment = (uint32_t)align;
	g->tensors = rs_xcalloc(g->n_tensors, sizeof *g->tensors);
	for (uint64_t i = 0; i < g->n_tensors; i++) {
		gguf_tensor *t = &g->tensors[i];
		uint32_t nd, type;
		if (rd_str(&c, &t->name, "a tensor name") || rd(&c, &nd, 4, "a tensor rank"))
			return -1;
		if (nd < 1 || nd > GGUF_MAX_DIMS)
			return rs_fail(err, "%s: tensor '%s' has %u dimensions (1 to 4 allowed)", g->path,
				       rs_esc(t->name.s, (long)t->name.len), nd);
		t->n_dims = (int)nd;
		for (int d = 0; d < GGUF_MAX_DIMS; d++)
			t->ne[d] = 1;
		for (uint32_t d = 0; d < nd; d++) {
			uint64_t ne;
			if (rd(&c, &ne, 8, "a tensor dimension"))
				return -1;
			if (ne == 0 || ne > RS_MAX_TENSOR_DIM)
				return rs_fail(err, "%s: tensor '%s' has dimension %u of size %" PRIu64, g->path,
					       rs_esc(t->name.s, (long)t->name.len), d, ne);
			t->ne[d] = (int64_t)ne;
		}
		if (rd(&c, &type, 4, "a tensor type") || rd(&c, &t->offset, 8, "a tensor offset"))
			return -1;
		t->type = (int)type;
	}
	g->data_offset = (c.pos + g->alignment - 1) / g->alignment * g->alignment;
	for (uint64_t i = 0; i < g->n_tensors; i++) {
		gguf_tensor *t = &g->tensors[i];
		if (!rs_dtype_name(t->type))
			return rs_fail(err, "%s: tensor '%s' has type %d, which residual does not support "
				       "(F32, F16, BF16, Q8_0, Q4_0, Q4_K, Q5_K, Q6_K)", g->path, rs_esc(t->name.s, (long)t->name.len), t->type);
		size_t rows, row = rs_dtype_row_bytes(t->type, t->ne[0]);
		if (!row)
			return rs_fail(err, "%s: tensor '%s' row of %" PRId64 " is not a whole number of %s blocks",
				       g->path, rs_esc(t->name.s, (long)t->name.len), t->ne[0], rs_dtype_name(t->type));
		if (!RS_MUL_OK(t->ne[1], t->ne[2], &rows) || !RS_MUL_OK(rows, t->ne[3], &rows) ||
		    !RS_MUL_OK(row, rows, &t->nbytes))
			return rs_fail(err, "%s: tensor '%s' of shape [%" PRId64 ", %" PRId64 ", %" PRId64 ", %" PRId64
				       "] is larger than any file", g->path, rs_esc(t->name.s, (long)t->name.len),
				       t->ne[0], t->ne[1], t->ne[2], t->ne[3]);
		if (t->offset > g->size || g->data_offset > g->size - t->offset ||
		    t->nbytes > g->size - g->data_offset - t->offset)
			return rs_fail(err, "%s: tensor '%s' (%zu bytes at offset %" PRIu64 " of the data section at %zu) "
				       "runs past the end of the file (%zu bytes)", g->path,
				       rs_esc(t->name.s, (long)t->name.len), t->nbytes, t->offset, g->data_offset, g->size);
		t->data = g->map + g->data_offset + t->offset;
	}
	/* a name index, so that a model's hundreds of lookups stay cheap however many tensors */
	g->by_name = rs_xmalloc((g->n_tensors ? g->n_tensors : 1) * sizeof *g->by_name);
	for (uint32_t i = 0; i < g->n_tensors; i++)
		g->by_name[i] = i;
	qsort_r(g->by_name, g->n_tensors, sizeof *g->by_name, by_name_cmp, g->tensors);
	return 0;
}

gguf_file *gguf_open(const char *path, rs_err *err)
{
	rs_map m;
	if (rs_map_open(path, &m, err))
		return NULL;
	gguf_file *g = rs_xcalloc(1, sizeof *g);
	g->path = rs_xstrdup(path);
	g->map = m.data;
	g->size = m.size;
	if (parse(g, err)) {
		gguf_close(g);
		return NULL;
	}
	return g;
}

void gguf_close(gguf_file *g)
{
	if (!g)
		return;
	for (uint64_t i = 0; g->kv && i < g->n_kv; i++)
		free(g->kv[i].strs);
	free(g->kv);
	free(g->tensors);
	free(g->by_name);
	rs_map m = {g->map, g->size};
	rs_map_close(&m);
	free(g->path);
	free(g);
}

const gguf_kv *gguf_find(const gguf_file *g, const char *key)
{
	for (uint64_t i = 0; i < g->n_kv; i++)
		if (gguf_str_eq(g->kv[i].key, key))
			return &g->kv[i];
	return NULL;
}

const gguf_tensor *gguf_find_tensor(const gguf_file *g, const char *name)
{
	size_t n = strlen(name), lo = 0, hi = g->by_name ? g->n_tensors : 0;
	while (lo < hi) { /* the first entry not below name */
		size_t mid = lo + (hi - lo) / 2;
		const gguf_tensor *t = &g->tensors[g->by_name[mid]];
		if (str_cmp(t->name.s, (size_t)t->name.len, name, n) < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	if (lo < g->n_tensors && g->by_name && gguf_str_eq(g->tensors[g->by_name[lo]].name, name))
		return &g->tensors[g->by_name[lo]];
	return NULL;
}

/* Reads a numeric scalar of any type as double (integers up to 2^53 exactly). */
static int scalar_num(int type, const void *p, double *out, int64_t *iout)
{
	union { uint8_t u8; int8_t i8; uint16_t u16; int16_t i16; uint32_t u32; int32_t i32;
		float f32; uint64_t u64; int64_t i64; double f64; } v;
	size_t sz = scalar_size(type);
	if (!sz)
		return -1;
	memcpy(&v, p, sz);
	int64_t i = 0;
	double d = 0;
	switch (type) {
	case GGUF_U8: case GGUF_BOOL: i = v.u8; d = i; break;
	case GGUF_I8: i = v.i8; d = i; break;
	case GGUF_U16: i = v.u16; d = i; break;
	case GGUF_I16: i = v.i16; d = i; break;
	case GGUF_U32: i = v.u32; d = i; break;
	case GGUF_I32: i = v.i32; d = i; break;
	case GGUF_U64: i = (int64_t)v.u64; d = (double)v.u64; break;
	case GGUF_I64: i = v.i64; d = (double)i; break;
	case GGUF_F32: d = v.f32; break;
	case GGUF_F64: d = v.f64; break;
	}
	if ((type == GGUF_F32 || type == GGUF_F64) && d > -9.2e18 && d < 9.2e18)
		i = (int64_t)d; /* out of range or NaN: 0 (the cast would be undefined) */
	if (out)
		*out = d;
	if (iout)
		*iout = i;
	return 0;
}

static int is_int_type(int t)
{
	return t == GGUF_U8 || t == GGUF_I8 || t == GGUF_U16 || t == GGUF_I16 || t == GGUF_U32 ||
	       t == GGUF_I32 || t == GGUF_U64 || t == GGUF_I64 || t == GGUF_BOOL;
}

int gguf_get_i64(const gguf_file *g, const char *key, int64_t *out, rs_err *err)
{
	const gguf_kv *kv = gguf_find(g, key);
	if (!kv)
		return rs_fail(err, "%s: missing key '%s'", g->path, key);
	if (!is_int_type(kv->type))
		return rs_fail(err, "%s: key '%s' should be an integer (it has type %d)", g->path, key, kv->type);
	return scalar_num(kv->type, kv->val, NULL, out);
}

int gguf_get_f32(const gguf_file *g, const char *key, float *out, rs_err *err)
{
	const gguf_kv *kv = gguf_find(g, key);
	double d;
	if (!kv)
		return rs_fail(err, "%s: missing key '%s'", g->path, key);
	if (scalar_num(kv->type, kv->val, &d, NULL) || kv->type == GGUF_BOOL)
		return rs_fail(err, "%s: key '%s' should be a number (it has type %d)", g->path, key, kv->type);
	*out = (float)d;
	return 0;
}

int gguf_get_str(const gguf_file *g, const char *key, gguf_str *out, rs_err *err)
{
	const gguf_kv *kv = gguf_find(g, key);
	if (!kv)
		return rs_fail(err, "%s: missing key '%s'", g->path, key);
	if (kv->type != GGUF_STRING)
		return rs_fail(err, "%s: key '%s' should be a string (it has type %d)", g->path, key, kv->type);
	*out = kv->str;
	return 0;
}

int gguf_get_bool(const gguf_file *g, const char *key, int *out, rs_err *err)
{
	int64_t v;
	if (gguf_get_i64(g, key, &v, err))
		return -1;
	*out = v != 0;
	return 0;
}

int64_t gguf_get_i64_or(const gguf_file *g, const char *key, int64_t dflt)
{
	int64_t v;
	const gguf_kv *kv = gguf_find(g, key);
	if (!kv || !is_int_type(kv->type) || scalar_num(kv->type, kv->val, NULL, &v))
		return dflt;
	return v;
}

float gguf_get_f32_or(const gguf_file *g, const char *key, float dflt)
{
	float v;
	return gguf_find(g, key) && gguf_get_f32(g, key, &v, NULL) == 0 ? v : dflt;
}

int gguf_get_arr(const gguf_file *g, const char *key, int elem_type, const gguf_kv **out, rs_err *err)
{
	const gguf_kv *kv = gguf_find(g, key);
	if (!kv)
		return rs_fail(err, "%s: missing key '%s'", g->path, key);
	if (kv->type != GGUF_ARRAY)
		return rs_fail(err, "%s: key '%s' should be an array (it has type %d)", g->path, key, kv->type);
	int ok = kv->arr_type == elem_type ||
		 (elem_type != GGUF_STRING && scalar_size(elem_type) && scalar_size(kv->arr_type));
	if (!ok)
		return rs_fail(err, "%s: key '%s' should be an array of type %d (it holds type %d)", g->path,
			       key, elem_type, kv->arr_type);
	*out = kv;
	return 0;
}

double gguf_arr_num(const gguf_kv *kv, uint64_t i)
{
	double d = 0;
	size_t sz = scalar_size(kv->arr_type);
	if (sz && i < kv->arr_n)
		scalar_num(kv->arr_type, (const uint8_t *)kv->val + i * sz, &d, NULL);
	return d;
}
