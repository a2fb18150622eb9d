/* lesson_progress.c - where each learner stands, in the XDG state directory.
 *
 * progress.json: {"version": 1, "current": NAME|null,
 *                 "lessons": {NAME: {"step": N, "steps": N, "finished": bool, "answered": N}}}
 * Writes go through rs_save_file (a temporary file in the same directory,
 * flushed to disk and renamed over the old file), so a crash leaves the old
 * or the new progress, never half of one. A file that does not parse is renamed aside,
 * never overwritten: the learner's history is kept for them to look at.
 */
#include "config.h"
#include "lesson.h"
#include "savefile.h"

#include <cjson/cJSON.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

const char *lesson_progress_path(char *buf, size_t n)
{
	const char *x = getenv("XDG_STATE_HOME"), *home = getenv("HOME");
	if (x && x[0] == '/')
		snprintf(buf, n, "%s/residual/progress.json", x);
	else if (home && *home)
		snprintf(buf, n, "%s/.local/state/residual/progress.json", home);
	else
		return NULL;
	return buf;
}

lesson_progress_entry *lesson_progress_get(lesson_progress *p, const char *name, int create)
{
	for (int i = 0; i < p->n; i++)
		if (!strcmp(p->e[i].name, name))
			return &p->e[i];
	if (!create)
		return NULL;
	p->e = rs_xrealloc(p->e, sizeof *p->e * (size_t)(p->n + 1));
	lesson_progress_entry *e = &p->e[p->n++];
	memset(e, 0, sizeof *e);
	e->name = rs_xstrdup(name);
	return e;
}

/* Reads the entries of a parsed file into p; -1 when its shape is wrong. */
static int from_json(lesson_progress *p, const cJSON *root)
{
	if (!cJSON_IsObject(root))
		return -1;
	const cJSON *cur = cJSON_GetObjectItemCaseSensitive(root, "current");
	const cJSON *ls = cJSON_GetObjectItemCaseSensitive(root, "lessons");
	if ((cur && !cJSON_IsString(cur) && !cJSON_IsNull(cur)) || (ls && !cJSON_IsObject(ls)))
		return -1;
	free(p->current);
	p->current = cJSON_IsString(cur) ? rs_xstrdup(cur->valuestring) : NULL;
	const cJSON *it;
	cJSON_ArrayForEach(it, ls) {
		if (!cJSON_IsObject(it))
			return -1;
		lesson_progress_entry *e = lesson_progress_get(p, it->string, 1);
		const cJSON *step = cJSON_GetObjectItemCaseSensitive(it, "step");
		const cJSON *steps = cJSON_GetObjectItemCaseSensitive(it, "steps");
		const cJSON *fin = cJSON_GetObjectItemCaseSensitive(it, "finished");
		const cJSON *ans = cJSON_GetObjectItemCaseSensitive(it, "answered");
		e->step = cJSON_IsNumber(step) && step->valuedouble >= 0 ? (int)step->valuedouble : 0;
		e->n_steps = cJSON_IsNumber(steps) ? (int)steps->valuedouble : 0;
		e->finished = cJSON_IsTrue(fin);
		e->answered = cJSON_IsNumber(ans) && ans->valuedouble >= 0 ? (unsigned long)ans->valuedouble : 0;
	}
	return 0;
}

/* Reads path into a fresh progress; 1 when missing, -1 when unreadable or not progress. */
static int read_into(lesson_progress *p, const char *path)
{
	FILE *f = fopen(path, "rb");
	if (!f)
		return errno == ENOENT ? 1 : -1;
	char *buf = NULL;
	size_t cap = 0, n = 0, got;
	do {
		if (n + 4096 > cap)
			buf = rs_xrealloc(buf, cap = cap ? 2 * cap : 8192);
		got = fread(buf + n, 1, cap - n - 1, f);
		n += got;
	} while (got > 0 && n < (4u << 20));
	fclose(f);
	buf[n] = 0;
	cJSON *root = cJSON_ParseWithLength(buf, n);
	free(buf);
	int rc = root ? from_json(p, root) : -1;
	cJSON_Delete(root);
	return rc;
}

lesson_progress *lesson_progress_load(char *note, size_t note_n)
{
	lesson_progress *p = rs_xcalloc(1, sizeof *p);
	char path[4096];
	if (note_n)
		note[0] = 0;
	if (!lesson_progress_path(path, sizeof path)) {
		if (note_n)
			snprintf(note, note_n, "progress is not saved: neither XDG_STATE_HOME nor HOME is set");
		return p;
	}
	p->path = rs_xstrdup(path);
	if (read_into(p, path) >= 0)
		return p;
	/* keep the unreadable file aside and start afresh */
	lesson_progress_free(p);
	p = rs_xcalloc(1, sizeof *p);
	p->path = rs_xstrdup(path);
	char aside[4200];
	snprintf(aside, sizeof aside, "%s.corrupt-%ld", path, (long)time(NULL));
	if (rename(path, aside) == 0) {
		if (note_n)
			snprintf(note, note_n, "the progress file could not be read; it was kept as %s and progress "
					       "starts afresh", aside);
	} else {
		if (note_n)
			snprintf(note, note_n, "the progress file %s could not be read nor moved aside (%s); progress "
					       "will not be saved", path, strerror(errno));
		free(p->path);
		p->path = NULL;
	}
	return p;
}

void lesson_progress_free(lesson_progress *p)
{
	if (!p)
		return;
	for (int i = 0; i < p->n; i++)
		free(p->e[i].name);
	free(p->e);
	free(p->current);
	free(p->path);
	free(p);
}

static cJSON *to_json(const lesson_progress *p)
{
	cJSON *root = cJSON_CreateObject();
	cJSON_AddNumberToObject(root, "version", 1);
	if (p->current)
		cJSON_AddStringToObject(root, "current", p->current);
	else
		cJSON_AddNullToObject(root, "current");
	cJSON *ls = cJSON_AddObjectToObject(root, "lessons");
	for (int i = 0; i < p->n; i++) {
		cJSON *o = cJSON_AddObjectToObject(ls, p->e[i].name);
		cJSON_AddNumberToObject(o, "step", p->e[i].step);
		cJSON_AddNumberToObject(o, "steps", p->e[i].n_steps);
		cJSON_AddBoolToObject(o, "finished", p->e[i].finished);
		cJSON_AddNumberToObject(o, "answered", (double)p->e[i].answered);
	}
	return root;
}

int lesson_progress_save(lesson_progress *p, rs_err *err)
{
	if (!p->path)
		return rs_fail(err, "progress is not saved (no state directory)");
	/* Entries another residual wrote meanwhile survive: read the file again
	 * and keep what it has for lessons this process did not touch. */
	lesson_progress *disk = rs_xcalloc(1, sizeof *disk);
	if (read_into(disk, p->path) == 0)
		for (int i = 0; i < disk->n; i++)
			if (!lesson_progress_get(p, disk->e[i].name, 0)) {
				lesson_progress_entry *e = lesson_progress_get(p, disk->e[i].name, 1);
				e->step = disk->e[i].step;
				e->n_steps = disk->e[i].n_steps;
				e->finished = disk->e[i].finished;
				e->answered = disk->e[i].answered;
			}
	lesson_progress_free(disk);
	cJSON *root = to_json(p);
	char *text = cJSON_Print(root);
	cJSON_Delete(root);
	size_t n = strlen(text);
	text = rs_xrealloc(text, n + 2);
	memcpy(text + n, "\n", 2);
	int rc = rs_save_file(p->path, text, n + 1, err);
	free(text);
	return rc;
}
