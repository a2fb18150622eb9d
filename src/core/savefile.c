/* savefile.c - atomic replacement of small user files (savefile.h). */
#include "config.h"
#include "savefile.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

int rs_make_parent_dirs(const char *path)
{
	size_t n = strlen(path);
	char *d = rs_xmalloc(n + 1);
	memcpy(d, path, n + 1);
	char *slash = strrchr(d, '/');
	int rc = 0;
	if (slash && slash != d) {
		*slash = 0;
		for (char *p = d + 1; *p && !rc; p++) {
			if (*p != '/')
				continue;
			*p = 0;
			rc = mkdir(d, 0700) && errno != EEXIST ? -1 : 0;
			*p = '/';
		}
		if (!rc)
			rc = mkdir(d, 0700) && errno != EEXIST ? -1 : 0;
	}
	int e = errno;
	free(d);
	errno = e;
	return rc;
}

static int write_all(int fd, const char *p, size_t n)
{
	while (n > 0) {
		ssize_t w = write(fd, p, n);
		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0) {
			if (w == 0)
				errno = EIO;
			return -1;
		}
		p += w;
		n -= (size_t)w;
	}
	return 0;
}

/* fsync of the directory holding path, so that the rename itself is on disk. */
static void sync_dir(const char *path)
{
	const char *slash = strrchr(path, '/');
	char dir[4096];
	if (!slash)
		snprintf(dir, sizeof dir, ".");
	else if ((size_t)(slash - path) < sizeof dir)
		snprintf(dir, sizeof dir, "%.*s", slash == path ? 1 : (int)(slash - path), path);
	else
		return;
	int fd = open(dir, O_RDONLY | O_DIRECTORY);
	if (fd >= 0) {
		fsync(fd); /* best effort: some file systems refuse it */
		close(fd);
	}
}

int rs_save_file(const char *path, const void *data, size_t len, rs_err *err)
{
	if (rs_make_parent_dirs(path))
		return rs_fail(err, "cannot create the directory of %s: %s", path, strerror(errno));
	size_t n = strlen(path);
	char *tmp = rs_xmalloc(n + 32);
	snprintf(tmp, n + 32, "%s.tmp-%ld", path, (long)getpid());
	int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	if (fd < 0) {
		rs_fail(err, "cannot write %s: %s", tmp, strerror(errno));
		free(tmp);
		return -1;
	}
	int bad = write_all(fd, data, len) || fsync(fd);
	int e = errno;
	if (close(fd) && !bad) {
		bad = 1;
		e = errno;
	}
	if (bad) {
		unlink(tmp);
		rs_fail(err, "cannot write %s: %s", tmp, strerror(e));
		free(tmp);
		return -1;
	}
	if (rename(tmp, path)) {
		e = errno;
		unlink(tmp);
		free(tmp);
		return rs_fail(err, "cannot replace %s: %s", path, strerror(e));
	}
	free(tmp);
	sync_dir(path);
	return 0;
}
