/* mapfile.c - mmap of model files and whole-file reads. */
#include "config.h"
#include "mapfile.h"

#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

int rs_map_open(const char *path, rs_map *m, rs_err *err)
{
	m->data = NULL;
	m->size = 0;
	int fd = open(path, O_RDONLY);
	if (fd < 0)
		return rs_fail(err, "%s: %s", path, strerror(errno));
	struct stat st;
	if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode)) {
		close(fd);
		return rs_fail(err, "%s: not a regular file", path);
	}
	if (st.st_size == 0) {
		close(fd);
		return rs_fail(err, "%s: file is empty", path);
	}
	void *p = mmap(NULL, (size_t)st.st_size, PROT_READ, MAP_SHARED, fd, 0);
	close(fd);
	if (p == MAP_FAILED)
		return rs_fail(err, "%s: mmap: %s", path, strerror(errno));
	m->data = p;
	m->size = (size_t)st.st_size;
	return 0;
}

void rs_map_close(rs_map *m)
{
	if (m->data)
		munmap((void *)m->data, m->size);
	m->data = NULL;
	m->size = 0;
}

char *rs_read_file(const char *path, size_t *len, rs_err *err)
{
	return rs_read_file_max(path, SIZE_MAX, len, err);
}

char *rs_read_file_max(const char *path, size_t max, size_t *len, rs_err *err)
{
	FILE *f = fopen(path, "rb");
	if (!f) {
		rs_fail(err, "%s: %s", path, strerror(errno));
		return NULL;
	}
	struct stat st;
	if (fstat(fileno(f), &st) == 0 && (uint64_t)st.st_size > max) {
		fclose(f);
		rs_fail(err, "%s: %lld bytes, more than the %zu residual reads of such a file", path,
			(long long)st.st_size, max);
		return NULL;
	}
	size_t cap = 1 << 16, n = 0;
	char *buf = rs_xmalloc(cap);
	for (;;) {
		if (n + 1 >= cap)
			buf = rs_xrealloc(buf, cap *= 2);
		size_t r = fread(buf + n, 1, cap - n - 1, f);
		n += r;
		if (r == 0)
			break;
		if (n > max) { /* grew while reading, or not a regular file */
			fclose(f);
			free(buf);
			rs_fail(err, "%s: more than the %zu bytes residual reads of such a file", path, max);
			return NULL;
		}
	}
	int bad = ferror(f);
	fclose(f);
	if (bad) {
		free(buf);
		rs_fail(err, "%s: read error", path);
		return NULL;
	}
	buf[n] = 0;
	if (len)
		*len = n;
	return buf;
}
