/* datadir.c - finding the data: environment, installed, source tree (datadir.h). */
#include "config.h"
#include "datadir.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#ifndef PKGDATADIR
#define PKGDATADIR "/usr/local/share/residual"
#endif

/* abs_top_srcdir of the Makefile in dir, into out; 0 when found. */
static int makefile_srcdir(const char *dir, char *out, size_t n) /* dir: < 4096 bytes */
{
	char path[4200];
	snprintf(path, sizeof path, "%s/Makefile", dir);
	FILE *f = fopen(path, "r");
	if (!f)
		return -1;
	char line[4096];
	int rc = -1;
	while (rc && fgets(line, sizeof line, f)) {
		if (strncmp(line, "abs_top_srcdir = ", 17))
			continue;
		line[strcspn(line, "\r\n")] = 0;
		if (line[17] == '/') {
			snprintf(out, n, "%s", line + 17);
			rc = 0;
		}
	}
	fclose(f);
	return rc;
}

const char *rs_source_tree(void)
{
	static char src[4096];
	static int done;
	if (done)
		return src[0] ? src : NULL;
	done = 1;
	char exe[4096];
	ssize_t len = readlink("/proc/self/exe", exe, sizeof exe - 1);
	if (len <= 0)
		return NULL;
	exe[len] = 0;
	/* the program (residual) or a test or bench program one folder down */
	for (int up = 0; up < 2; up++) {
		char *slash = strrchr(exe, '/');
		if (!slash)
			break;
		*slash = 0;
		if (makefile_srcdir(exe[0] ? exe : "/", src, sizeof src) == 0)
			return src;
	}
	src[0] = 0;
	return NULL;
}

const char *rs_data_path(const char *env_var, const char *installed, const char *in_source, char *buf, size_t n)
{
	const char *env = env_var ? getenv(env_var) : NULL;
	if (env && *env)
		return env;
	snprintf(buf, n, "%s/%s", PKGDATADIR, installed);
	if (access(buf, R_OK) == 0)
		return buf;
	const char *src = rs_source_tree();
	if (src) {
		snprintf(buf, n, "%s/%s", src, in_source);
		if (access(buf, R_OK) == 0)
			return buf;
	}
	return NULL;
}

const char *rs_lessons_dir(void)
{
	static char path[4096];
	return rs_data_path("RESIDUAL_LESSONS", "lessons", "lessons", path, sizeof path);
}
