/* sub_lessons.c - `residual lessons`: list the lessons, check them headless,
 * or write their Python snippets as runnable files. */
#include "config.h"
#include "cli.h"
#include "lesson.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* lesson_cmd.c's list (declared in src/lesson/lesson_int.h, which stays private). */
char *lesson_list_text(const lesson_set *set, struct lesson_env *env);

static const char usage_text[] =
	"usage: residual lessons [--list] [--dir DIR]\n"
	"       residual lessons --check [--model PATH] [--only NAME] [--verbose] [--no-model] [--dir DIR]\n"
	"       residual lessons --python OUTDIR [--dir DIR]\n"
	"--list (the default) shows the lessons and your progress. --check validates every\n"
	"lesson file and runs every lesson headless on the model (default: the built-in\n"
	"one): every command must succeed, every placeholder resolve and every question's\n"
	"answer compute; it exits 1 on any mistake. --no-model only validates the files.\n"
	"--python writes each lesson's Python (Hugging Face transformers) as one runnable\n"
	"file per lesson. Lessons come from --dir, $RESIDUAL_LESSONS or the installed ones.\n";

int sub_lessons(int argc, char **argv)
{
	lesson_check_opts o = {0};
	int check = 0;
	const char *python = NULL;
	for (int i = 1; i < argc; i++) {
		const char *a = argv[i], *val = i + 1 < argc ? argv[i + 1] : NULL;
		if (!strcmp(a, "--help") || !strcmp(a, "-h")) {
			fputs(usage_text, stdout);
			return 0;
		} else if (!strcmp(a, "--list")) {
		} else if (!strcmp(a, "--check")) {
			check = 1;
		} else if (!strcmp(a, "--verbose") || !strcmp(a, "-v")) {
			o.verbose = 1;
		} else if (!strcmp(a, "--no-model")) {
			o.validate_only = 1;
		} else if ((!strcmp(a, "--model") || !strcmp(a, "--only") || !strcmp(a, "--dir") ||
			    !strcmp(a, "--python")) && val) {
			if (!strcmp(a, "--model"))
				o.model = val;
			else if (!strcmp(a, "--only"))
				o.only = val;
			else if (!strcmp(a, "--dir"))
				o.dir = val;
			else
				python = val;
			i++;
		} else {
			fprintf(stderr, "residual lessons: unknown or incomplete option '%s'\n%s", a, usage_text);
			return 2;
		}
	}
	if (check) {
		if (!o.validate_only && !o.model && !session_default_model()) {
			fprintf(stderr, "residual lessons: the built-in model is not installed: give --model PATH "
					"(or --no-model to only validate the files)\n");
			return 1;
		}
		return lesson_check(&o, stdout) ? 1 : 0;
	}
	lesson_diags d = {0};
	rs_err err = {{0}};
	lesson_set *set = lesson_set_load(o.dir, &d, &err);
	if (!set) {
		fprintf(stderr, "residual lessons: %s\n", err.msg);
		return 1;
	}
	for (int i = 0; i < d.n; i++)
		fprintf(stderr, "%s\n", d.msg[i]);
	int rc = d.n ? 1 : 0;
	lesson_diags_free(&d);
	if (python) {
		if (lesson_export_python(set, python, &err)) {
			fprintf(stderr, "residual lessons: %s\n", err.msg);
			rc = 1;
		}
	} else {
		char *list = lesson_list_text(set, NULL);
		fputs(list, stdout);
		free(list);
	}
	lesson_set_free(set);
	return rc;
}
