/* savefile.h - the learner's own files (history, lesson progress) written so
 * that a crash, a full disk or a dropped connection never leaves half of one.
 */
#ifndef RS_SAVEFILE_H
#define RS_SAVEFILE_H

#include <stddef.h>

#include "err.h"

/* Creates the directories above path (mkdir -p, mode 0700). 0 or -1 (errno). */
int rs_make_parent_dirs(const char *path);

/* Replaces path with these len bytes atomically: the parent directories are
 * created, the bytes go to a temporary file in the same directory (mode
 * 0600), which is flushed to disk (fsync) and renamed over path. On failure
 * the old file is untouched, the temporary file removed, and -1 returned
 * with a message. */
int rs_save_file(const char *path, const void *data, size_t len, rs_err *err);

#endif
