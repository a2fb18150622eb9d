/* safetensors.h - Hugging Face safetensors: mmap reader and a writer for dumps. */
#ifndef RS_SAFETENSORS_H
#define RS_SAFETENSORS_H

#include <stddef.h>
#include <stdint.h>

#include "err.h"

typedef struct st_tensor {
	char *name;
	int dtype;          /* rs_dtype (F32, F16, BF16, I32...), -1 when we cannot compute with it */
	char dtype_name[16];
	int n_dims;
	int64_t shape[8];   /* PyTorch order */
	size_t nbytes;
	const void *data;   /* into the mapping */
} st_tensor;

typedef struct st_file {
	char *path;
	const uint8_t *map;
	size_t size;
	size_t n;
	st_tensor *tensors;
	uint32_t *by_name; /* tensor indexes sorted by name, for st_find */
} st_file;

st_file *st_open(const char *path, rs_err *err);
void st_close(st_file *f);
const st_tensor *st_find(const st_file *f, const char *name);
int64_t st_numel(const st_tensor *t);

/* Writer: tensors are referenced, not copied, until st_write returns. */
typedef struct st_writer st_writer;
st_writer *st_writer_create(void);
void st_writer_free(st_writer *w);
/* dtype is RS_F32 or RS_I32; shape in PyTorch order. */
void st_w_tensor(st_writer *w, const char *name, int dtype, int n_dims, const int64_t *shape,
		 const void *data);
void st_w_meta(st_writer *w, const char *key, const char *value);
int st_write(st_writer *w, const char *path, rs_err *err);

#endif
