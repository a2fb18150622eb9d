/* fuzz_lesson.c - fuzz target: the lesson loader. The input is written as a
 * lesson file (01-fuzz.json in a temporary folder) and loaded: it either
 * loads, or fails with diagnostics that each are one line naming the file.
 * Driven by tests/fuzz_main.c under gcc (tests/fuzz_lesson.sh), or by
 * libFuzzer (make fuzz). */
#include "config.h"
#include "lesson.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerInitialize(int *argc, char ***argv);

static char dir[] = "/tmp/rs-fuzz-lesson.XXXXXX";
static char path[sizeof dir + 16];

static void remove_dir(void)
{
	unlink(path);
	rmdir(dir);
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	if (!mkdtemp(dir))
		abort();
	snprintf(path, sizeof path, "%s/01-fuzz.json", dir);
	atexit(remove_dir);
	(void)argc;
	(void)argv;
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	FILE *f = fopen(path, "wb");
	if (!f)
		abort();
	fwrite(data, 1, size, f);
	fclose(f);
	lesson_diags d = {0};
	lesson *l = lesson_load(path, &d);
	if (!l && d.n == 0)
		abort(); /* a refusal says why */
	for (int i = 0; i < d.n; i++)
		if (strncmp(d.msg[i], path, strlen(path)) || strchr(d.msg[i], '\n'))
			abort(); /* each diagnostic is one line naming the file */
	lesson_free(l);
	lesson_diags_free(&d);
	return 0;
}
