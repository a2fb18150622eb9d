/* rdata.h - a reader for R's serialization format (XDR, versions 2 and 3),
 * enough for data packages: vectors, lists, pairlists, attributes, data
 * frames, factors, and the lazy-load databases (.rdx/.rdb) R installs data in.
 * Closures, environments with contents, byte code and most ALTREP classes are
 * refused with a message naming the offset. */
#ifndef RS_RDATA_H
#define RS_RDATA_H

#include <stddef.h>
#include <stdint.h>

#include "err.h"

enum rdata_type {
	RDATA_NIL = 0, RDATA_SYM = 1, RDATA_LIST = 2, RDATA_CHAR = 9, RDATA_LGL = 10,
	RDATA_INT = 13, RDATA_REAL = 14, RDATA_CPLX = 15, RDATA_STR = 16, RDATA_VEC = 19,
	RDATA_EXPR = 20, RDATA_RAW = 24, RDATA_ENV = 4, RDATA_OTHER = 99,
};

typedef struct rdata_obj rdata_obj;
struct rdata_obj {
	int type;          /* enum rdata_type */
	int64_t n;         /* elements of a vector or list */
	char **str;        /* RDATA_STR: n strings, NULL for NA */
	int32_t *ints;     /* RDATA_INT, RDATA_LGL */
	double *reals;     /* RDATA_REAL (CPLX: 2n) */
	rdata_obj **elt;   /* RDATA_VEC, RDATA_EXPR; RDATA_LIST: the values, flattened */
	char **tags;       /* RDATA_LIST: the tags (NULL where none) */
	char *chars;       /* RDATA_CHAR, RDATA_SYM: the string */
	rdata_obj *attr;   /* attributes as an RDATA_LIST, or NULL */
};

typedef struct rdata rdata; /* owns every object of one parse */

/* Parses serialized data (after decompression): "X\n" then the stream; an
 * "RDX2\n"/"RDX3\n" save-file header before it is skipped. */
rdata *rdata_parse(const unsigned char *buf, size_t n, const char *name, rs_err *err);
const rdata_obj *rdata_root(const rdata *r);
void rdata_free(rdata *r);

/* The attribute called name, or NULL. */
const rdata_obj *rdata_attr(const rdata_obj *o, const char *name);
/* Element called name of a named list (VEC by its "names", LIST by tag), or NULL. */
const rdata_obj *rdata_get(const rdata_obj *o, const char *name);

/* Inflates a zlib or gzip stream (detected by its header) into a malloc'd
 * buffer; hint is the expected size, or 0. */
int rdata_inflate(const unsigned char *in, size_t n, size_t hint, unsigned char **out,
		  size_t *outn, const char *name, rs_err *err);
/* Reads a whole file, inflating it when it is gzip or zlib compressed. */
int rdata_read_file(const char *path, unsigned char **out, size_t *n, rs_err *err);

/* Calls fn for every object of a lazy-load database (base.rdx + base.rdb). */
typedef int (*rdata_var_fn)(const char *name, const rdata_obj *o, void *ctx);
int rdata_lazyload(const char *base, rdata_var_fn fn, void *ctx, rs_err *err);

#endif
