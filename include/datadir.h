/* datadir.h - where residual's data lies (the built-in model, the lessons). */
#ifndef RS_DATADIR_H
#define RS_DATADIR_H

#include <stddef.h>

/* The path of a data file or folder: $env_var when set (returned even when
 * missing, so that the error names it), then the installed data
 * (PKGDATADIR/installed), then the source tree's copy (SRC/in_source), only
 * when the program runs from a build tree. The source tree is found at run
 * time, from the executable's folder or the one above it (the build tree's
 * Makefile names abs_top_srcdir): no source path is built into the program,
 * so an installed copy never looks in a build tree. Returns the getenv
 * string, or buf holding the path, or NULL when there is none. */
const char *rs_data_path(const char *env_var, const char *installed, const char *in_source, char *buf, size_t n);

/* The lessons folder: $RESIDUAL_LESSONS, PKGDATADIR/lessons, the source
 * tree's lessons/ (lesson/ reads the lessons, session/ the prompt files
 * beside them); NULL when none. */
const char *rs_lessons_dir(void);

/* The source tree the program runs from (see above), or NULL when installed. */
const char *rs_source_tree(void);

#endif
