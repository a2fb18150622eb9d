/* gguf.h - GGUF v3 reader (mmap) and writer.
 *
 * The reader maps the whole file read-only and indexes keys and tensor infos;
 * every string and tensor pointer returned points into the mapping and stays
 * valid until gguf_close. Integer getters accept any integer value type
 * (writers disagree on u32 vs u64), and fail with a message naming the key.
 */
#ifndef RS_GGUF_H
#define RS_GGUF_H

#include <stddef.h>
#include <stdint.h>

#include "err.h"
#include "dtype.h"

enum gguf_vtype {
	GGUF_U8 = 0, GGUF_I8 = 1, GGUF_U16 = 2, GGUF_I16 = 3, GGUF_U32 = 4, GGUF_I32 = 5,
	GGUF_F32 = 6, GGUF_BOOL = 7, GGUF_STRING = 8, GGUF_ARRAY = 9, GGUF_U64 = 10,
	GGUF_I64 = 11, GGUF_F64 = 12,
};

typedef struct gguf_str {
	uint64_t len;
	const char *s; /* not NUL-terminated */
} gguf_str;

typedef struct gguf_kv {
	gguf_str key;
	int type;          /* enum gguf_vtype */
	int arr_type;      /* element type when type == GGUF_ARRAY */
	uint64_t arr_n;    /* element count when type == GGUF_ARRAY */
	const void *val;   /* scalar value, or first array element (unaligned) */
	gguf_str str;      /* when type == GGUF_STRING */
	gguf_str *strs;    /* when an array of strings: arr_n entries */
} gguf_kv;

typedef struct gguf_tensor {
	gguf_str name;
	int n_dims;
	int64_t ne[4];     /* ne[0] fastest-varying, as in the file */
	int type;          /* rs_dtype (ggml type id) */
	uint64_t offset;   /* relative to the data section */
	size_t nbytes;
	const void *data;  /* into the mapping */
} gguf_tensor;

typedef struct gguf_file {
	char *path;
	const uint8_t *map;
	size_t size;
	uint32_t version;
	uint32_t alignment;
	uint64_t n_kv, n_tensors;
	gguf_kv *kv;
	gguf_tensor *tensors;
	size_t data_offset;
	uint32_t *by_name; /* tensor indexes sorted by name, for gguf_find_tensor */
} gguf_file;

gguf_file *gguf_open(const char *path, rs_err *err);
void gguf_close(gguf_file *g);

const gguf_kv *gguf_find(const gguf_file *g, const char *key);
const gguf_tensor *gguf_find_tensor(const gguf_file *g, const char *name);

/* Getters: 0 on success; -1 with a message naming the key when it is
 * missing or of the wrong type. gguf_get_*_or return dflt when missing. */
int gguf_get_i64(const gguf_file *g, const char *key, int64_t *out, rs_err *err);
int gguf_get_f32(const gguf_file *g, const char *key, float *out, rs_err *err);
int gguf_get_str(const gguf_file *g, const char *key, gguf_str *out, rs_err *err);
int gguf_get_bool(const gguf_file *g, const char *key, int *out, rs_err *err);
int64_t gguf_get_i64_or(const gguf_file *g, const char *key, int64_t dflt);
float gguf_get_f32_or(const gguf_file *g, const char *key, float dflt);
/* An array key of the given element type (GGUF_STRING for string arrays). */
int gguf_get_arr(const gguf_file *g, const char *key, int elem_type, const gguf_kv **out,
		 rs_err *err);
/* Element i of an integer or float array as a double (any numeric element type). */
double gguf_arr_num(const gguf_kv *kv, uint64_t i);
/* Compares a gguf_str with a C string. */
int gguf_str_eq(gguf_str s, const char *c);

/* ---------------------------------------------------------------- writer */
typedef struct gguf_writer gguf_writer;

gguf_writer *gguf_writer_create(void);
void gguf_writer_free(gguf_writer *w);
void gguf_w_u32(gguf_writer *w, const char *key, uint32_t v);
void gguf_w_i32(gguf_writer *w, const char *key, int32_t v);
void gguf_w_f32(gguf_writer *w, const char *key, float v);
void gguf_w_bool(gguf_writer *w, const char *key, int v);
void gguf_w_str(gguf_writer *w, const char *key, const char *v);
void gguf_w_arr_str(gguf_writer *w, const char *key, const char *const *v, size_t n);
void gguf_w_arr_i32(gguf_writer *w, const char *key, const int32_t *v, size_t n);
void gguf_w_arr_f32(gguf_writer *w, const char *key, const float *v, size_t n);
/* Adds a tensor; shape is in PyTorch order (outermost first), reversed on disk.
 * own: GGUF_W_REF (data must stay valid until gguf_write), GGUF_W_COPY, or
 * GGUF_W_TAKE (data was malloc'd; the writer frees it). */
enum { GGUF_W_REF = 0, GGUF_W_COPY = 1, GGUF_W_TAKE = 2 };
void gguf_w_tensor(gguf_writer *w, const char *name, int type, int n_dims,
		   const int64_t *shape, const void *data, size_t nbytes, int own);
int gguf_write(gguf_writer *w, const char *path, rs_err *err);

#endif
