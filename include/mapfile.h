/* mapfile.h - read-only memory maps of model files, shared between processes. */
#ifndef RS_MAPFILE_H
#define RS_MAPFILE_H

#include <stddef.h>

#include "err.h"

typedef struct rs_map {
	const void *data;
	size_t size;
} rs_map;

/* Maps the whole file read-only (MAP_SHARED, so several sessions share pages). */
int rs_map_open(const char *path, rs_map *m, rs_err *err);
void rs_map_close(rs_map *m);

/* Reads a whole (small) file into a NUL-terminated buffer; the caller frees. */
char *rs_read_file(const char *path, size_t *len, rs_err *err);
/* The same, refusing (before reading) a file of more than max bytes. */
char *rs_read_file_max(const char *path, size_t max, size_t *len, rs_err *err);

#endif
