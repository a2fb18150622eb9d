/* gguf_write.c - GGUF v3 writer: keys first, then tensor infos, then aligned data. */
#include "config.h"
#include "gguf.h"
#include "filelimits.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define ALIGN 32

typedef struct wkv {
	char *key;
	int type, arr_type;
	size_t n;         /* array count */
	void *val;        /* owned bytes: scalar, string, or array elements */
	size_t val_len;
	char **strs;      /* owned strings for string arrays */
} wkv;

typedef struct wtensor {
	char *name;
	int type, n_dims;
	int64_t shape[4]; /* PyTorch order */
	const void *data;
	void *owned;
	size_t nbytes;
} wtensor;

struct gguf_writer {
	wkv *kv;
	size_t n_kv, cap_kv;
	wtensor *t;
	size_t n_t, cap_t;
};

gguf_writer *gguf_writer_create(void)
{
	return rs_xcalloc(1, sizeof(gguf_writer));
}

void gguf_writer_free(gguf_writer *w)
{
	if (!w)
		return;
	for (size_t i = 0; i < w->n_kv; i++) {
		free(w->kv[i].key);
		free(w->kv[i].val);
		for (size_t j = 0; w->kv[i].strs && j < w->kv[i].n; j++)
			free(w->kv[i].strs[j]);
		free(w->kv[i].strs);
	}
	for (size_t i = 0; i < w->n_t; i++) {
		free(w->t[i].name);
		free(w->t[i].owned);
	}
	free(w->kv);
	free(w->t);
	free(w);
}

static wkv *add_kv(gguf_writer *w, const char *key, int type, const void *val, size_t len)
{
	if (w->n_kv == w->cap_kv)
		w->kv = rs_xrealloc(w->kv, (w->cap_kv = w->cap_kv * 2 + 16) * sizeof *w->kv);
	wkv *kv = &w->kv[w->n_kv++];
	memset(kv, 0, sizeof *kv);
	kv->key = rs_xstrdup(key);
	kv->type = type;
	kv->val = rs_xmalloc(len);
	if (len)
		memcpy(kv->val, val, len);
	kv->val_len = len;
	return kv;
}

void gguf_w_u16(gguf_writer *w, const char *key, uint16_t v) { add_kv(w, key, GGUF_U16, &v, 2); }
void gguf_w_u32(gguf_writer *w, const char *key, uint32_t v) { add_kv(w, key, GGUF_U32, &v, 4); }
void gguf_w_i32(gguf_writer *w, const char *key, int32_t v) { add_kv(w, key, GGUF_I32, &v, 4); }
void gguf_w_f32(gguf_writer *w, const char *key, float v) { add_kv(w, key, GGUF_F32, &v, 4); }

void gguf_w_bool(gguf_writer *w, const char *key, int v)
{
	uint8_t b = v != 0;
	add_kv(w, key, GGUF_BOOL, &b, 1);
}

void gguf_w_str(gguf_writer *w, const char *key, const char *v)
{
	add_kv(w, key, GGUF_STRING, v, strlen(v));
}

void gguf_w_arr_str(gguf_writer *w, const char *key, const char *const *v, size_t n)
{
	wkv *kv = add_kv(w, key, GGUF_ARRAY, NULL, 0);
	kv->arr_type = GGUF_STRING;
	kv->n = n;
	kv->strs = rs_xmalloc(n * sizeof *kv->strs);
	for (size_t i = 0; i < n; i++)
		kv->strs[i] = rs_xstrdup(v[i]);
}

void gguf_w_arr_i32(gguf_writer *w, const char *key, const int32_t *v, size_t n)
{
	wkv *kv = add_kv(w, key, GGUF_ARRAY, v, n * 4);
	kv->arr_type = GGUF_I32;
	kv->n = n;
}

void gguf_w_arr_f32(gguf_writer *w, const char *key, const float *v, size_t n)
{
	wkv *kv = add_kv(w, key, GGUF_ARRAY, v, n * 4);
	kv->arr_type = GGUF_F32;
	kv->n = n;
}

void gguf_w_tensor(gguf_writer *w, const char *name, int type, int n_dims, const int64_t *shape,
		   const void *data, size_t nbytes, int own)
{
	if (w->n_t == w->cap_t)
		w->t = rs_xrealloc(w->t, (w->cap_t = w->cap_t * 2 + 16) * sizeof *w->t);
	wtensor *t = &w->t[w->n_t++];
	memset(t, 0, sizeof *t);
	t->name = rs_xstrdup(name);
	t->type = type;
	t->n_dims = n_dims;
	for (int i = 0; i < n_dims && i < 4; i++)
		t->shape[i] = shape[i];
	t->nbytes = nbytes;
	if (own == GGUF_W_COPY) {
		t->owned = rs_xmalloc(nbytes);
		memcpy(t->owned, data, nbytes);
		t->data = t->owned;
	} else if (own == GGUF_W_TAKE) {
		t->owned = (void *)data;
		t->data = data;
	} else {
		t->data = data;
	}
}

static void put(FILE *f, const void *p, size_t n) { fwrite(p, 1, n, f); }
static void put_u32(FILE *f, uint32_t v) { put(f, &v, 4); }
static void put_u64(FILE *f, uint64_t v) { put(f, &v, 8); }

static void put_str(FILE *f, const char *s, size_t n)
{
	put_u64(f, n);
	put(f, s, n);
}

static void pad(FILE *f, long pos)
{
	static const char zeros[ALIGN];
	long rem = pos % ALIGN;
	if (rem)
		put(f, zeros, (size_t)(ALIGN - rem));
}

static void put_kv(FILE *f, const wkv *kv)
{
	put_str(f, kv->key, strlen(kv->key));
	put_u32(f, (uint32_t)kv->type);
	if (kv->type == GGUF_STRING) {
		put_str(f, kv->val, kv->val_len);
	} else if (kv->type == GGUF_ARRAY) {
		put_u32(f, (uint32_t)kv->arr_type);
		put_u64(f, kv->n);
		if (kv->arr_type == GGUF_STRING)
			for (size_t j = 0; j < kv->n; j++)
				put_str(f, kv->strs[j], strlen(kv->strs[j]));
		else
			put(f, kv->val, kv->val_len);
	} else {
		put(f, kv->val, kv->val_len);
	}
}

/* One GGUF file: keys kv0 (n0 of them) then extra (ne), tensors [t0, t1). */
static int write_file(const gguf_writer *w, const char *path, const wkv *kv0, size_t n0, const wkv *extra,
		      size_t ne, size_t t0, size_t t1, rs_err *err)
{
	FILE *f = fopen(path, "wb");
	if (!f)
		return rs_fail(err, "%s: %s", path, strerror(errno));
	put_u32(f, 0x46554747u);
	put_u32(f, 3);
	put_u64(f, t1 - t0);
	put_u64(f, n0 + ne);
	for (size_t i = 0; i < n0; i++)
		put_kv(f, &kv0[i]);
	for (size_t i = 0; i < ne; i++)
		put_kv(f, &extra[i]);
	uint64_t off = 0;
	for (size_t i = t0; i < t1; i++) {
		wtensor *t = &w->t[i];
		put_str(f, t->name, strlen(t->name));
		put_u32(f, (uint32_t)t->n_dims);
		for (int d = t->n_dims - 1; d >= 0; d--) /* ne[0] is the innermost axis */
			put_u64(f, (uint64_t)t->shape[d]);
		put_u32(f, (uint32_t)t->type);
		put_u64(f, off);
		off += (t->nbytes + ALIGN - 1) / ALIGN * ALIGN;
	}
	pad(f, ftell(f));
	for (size_t i = t0; i < t1; i++) {
		put(f, w->t[i].data, w->t[i].nbytes);
		pad(f, (long)w->t[i].nbytes);
	}
	int bad = ferror(f);
	if (fclose(f) || bad)
		return rs_fail(err, "%s: write failed: %s", path, strerror(errno));
	return 0;
}

int gguf_write(gguf_writer *w, const char *path, rs_err *err)
{
	return write_file(w, path, w->kv, w->n_kv, NULL, 0, 0, w->n_t, err);
}

void gguf_split_path(char *buf, size_t n, const char *prefix, int no, int count)
{
	snprintf(buf, n, "%s-%05d-of-%05d.gguf", prefix, no, count);
}

/* A 64-bit FNV-1a over the keys and tensor infos: the same in every part, so
 * that a part of another model is told apart even when its shapes match. */
RS_WRAPS static uint64_t fnv(uint64_t h, const void *p, size_t n)
{
	const uint8_t *b = p;
	for (size_t i = 0; i < n; i++)
		h = (h ^ b[i]) * 0x100000001b3ull;
	return h;
}

static uint64_t writer_id(const gguf_writer *w)
{
	uint64_t h = 0xcbf29ce484222325ull;
	for (size_t i = 0; i < w->n_kv; i++) {
		h = fnv(h, w->kv[i].key, strlen(w->kv[i].key));
		h = fnv(h, w->kv[i].val, w->kv[i].val_len);
	}
	for (size_t i = 0; i < w->n_t; i++) {
		h = fnv(h, w->t[i].name, strlen(w->t[i].name));
		h = fnv(h, w->t[i].shape, sizeof w->t[i].shape);
		/* a little of the data too: two random models of one shape differ here */
		h = fnv(h, w->t[i].data, w->t[i].nbytes < 64 ? w->t[i].nbytes : 64);
	}
	return h;
}

int gguf_write_split(gguf_writer *w, const char *prefix, uint64_t max_bytes, int *n_parts, rs_err *err)
{
	/* parts: a new one starts when the next tensor would pass max_bytes */
	size_t *first = rs_xmalloc((w->n_t + 2) * sizeof *first);
	int n = 0;
	uint64_t cur = 0;
	first[n++] = 0;
	for (size_t i = 0; i < w->n_t; i++) {
		uint64_t sz = (w->t[i].nbytes + ALIGN - 1) / ALIGN * ALIGN;
		if (cur && cur + sz > max_bytes) {
			first[n++] = i;
			cur = 0;
		}
		cur += sz;
	}
	first[n] = w->n_t;
	if (n > 65535) {
		free(first);
		return rs_fail(err, "%s: %d parts is more than split.count (u16) can hold; give a larger size", prefix, n);
	}
	char id[32];
	snprintf(id, sizeof id, "%016llx", (unsigned long long)writer_id(w));
	uint16_t count = (uint16_t)n;
	int32_t total = (int32_t)w->n_t;
	int rc = 0;
	for (int p = 0; p < n && !rc; p++) {
		uint16_t no = (uint16_t)p;
		wkv extra[4] = {
			{(char *)"split.no", GGUF_U16, 0, 0, &no, 2, NULL},
			{(char *)"split.count", GGUF_U16, 0, 0, &count, 2, NULL},
			{(char *)"split.tensors.count", GGUF_I32, 0, 0, &total, 4, NULL},
			{(char *)"residual.split.id", GGUF_STRING, 0, 0, id, strlen(id), NULL},
		};
		char path[4096];
		gguf_split_path(path, sizeof path, prefix, p + 1, n);
		rc = write_file(w, path, w->kv, p == 0 ? w->n_kv : 0, extra, 4, first[p], first[p + 1], err);
	}
	free(first);
	if (n_parts)
		*n_parts = n;
	return rc;
}
