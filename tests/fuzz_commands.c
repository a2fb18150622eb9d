/* fuzz_commands.c - fuzz target for the command language: every line of the
 * input is run as a command on a fresh session over a tiny model with a
 * tokenizer, and completed as the command line would complete it. Nothing
 * may crash, hang or leak; errors are expected.
 *
 * The session is restricted (load/export keep to the working directory) and
 * runs in a temporary directory that is emptied after each input (the model
 * itself stays). Driven by
 * tests/fuzz_main.c under gcc (tests/fuzz_commands.sh), or by libFuzzer. */
#include "config.h"
#include "commands.h"
#include "commands_model.h"

#include <dirent.h>
#include <fcntl.h>
#include <stdint.h>
#include <unistd.h>

static char dir[] = "/tmp/rs-fuzz-commands-XXXXXX";
static char model[sizeof dir + 16];

static void cleanup(void)
{
	DIR *d = opendir(dir);
	struct dirent *de;
	while (d && (de = readdir(d))) {
		char p[sizeof dir + 300];
		if (strcmp(de->d_name, ".") && strcmp(de->d_name, "..")) {
			snprintf(p, sizeof p, "%s/%s", dir, de->d_name);
			unlink(p);
		}
	}
	if (d)
		closedir(d);
	rmdir(dir);
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	rs_err err;
	if (!mkdtemp(dir)) {
		perror("fuzz_commands: temporary directory");
		exit(1);
	}
	atexit(cleanup);
	snprintf(model, sizeof model, "%s/tiny.gguf", dir);
	if (tm_write_tiny_model(model, &err)) {
		fprintf(stderr, "fuzz_commands: %s\n", err.msg);
		exit(1);
	}
	return 0;
}

/* Removes what exports left behind, keeping the model. */
static void tidy(void)
{
	DIR *d = opendir(".");
	struct dirent *de;
	while (d && (de = readdir(d)))
		if (strcmp(de->d_name, ".") && strcmp(de->d_name, "..") && strcmp(de->d_name, "tiny.gguf"))
			unlink(de->d_name);
	if (d)
		closedir(d);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	rs_err err;
	/* commands run inside the temporary directory (the driver's seeds and
	 * crash files are relative to where it started) */
	int here = open(".", O_RDONLY);
	if (here < 0 || chdir(dir))
		abort();
	rs_session *s = session_create(model, &err);
	if (!s)
		abort();
	s->restricted = 1;
	char *buf = malloc(size + 1);
	memcpy(buf, data, size);
	buf[size] = 0;
	char *save = NULL;
	int lines = 0;
	for (char *line = strtok_r(buf, "\n", &save); line && lines < 64; line = strtok_r(NULL, "\n", &save), lines++) {
		cmd_status st = cmd_exec(s, line, &err);
		if (st == CMD_ERROR && (!err.msg[0] || strchr(err.msg, '\n')))
			abort(); /* an error must be one line */
		if (s->output_len != strlen(s->output))
			abort();
		int len = (int)strlen(line), start = len;
		while (start > 0 && line[start - 1] != ' ')
			start--;
		char **m = cmd_complete(s, line, start, len);
		for (int i = 0; m && m[i]; i++)
			free(m[i]);
		free(m);
		if (st == CMD_QUIT)
			break;
	}
	free(buf);
	session_free(s);
	tidy();
	if (fchdir(here))
		abort();
	close(here);
	return 0;
}
