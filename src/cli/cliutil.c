/* cliutil.c - option values, prompts as token ids, peak memory, clocks. */
#include "config.h"
#include "cliutil.h"
#include "tokenizer.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

int cli_parse_ids(const char *s, int32_t **ids, int *n, rs_err *err)
{
	const char *bad = NULL;
	if (tok_parse_ids(s, ids, n, &bad))
		return rs_fail(err, "--ids: '%.20s' is not a token id (entry %d)", bad, *n + 1);
	if (!*n)
		return rs_fail(err, "--ids: no token ids given");
	return 0;
}

int cli_prompt_ids(const rs_model *m, const char *text, const char *ids_arg, int32_t **ids, int *n, rs_err *err)
{
	if (ids_arg)
		return cli_parse_ids(ids_arg, ids, n, err);
	if (!text)
		return rs_fail(err, "give a prompt with --prompt TEXT or --ids 1,2,3");
	if (!m->tok)
		return rs_fail(err, "%s has no tokenizer: give the prompt as --ids 1,2,3", m->path);
	int flags = TOK_PARSE_SPECIAL | (tok_add_bos(m->tok) ? TOK_ADD_BOS : 0);
	return tok_encode(m->tok, text, strlen(text), flags, ids, NULL, n, err);
}

const char *cli_value(int argc, char **argv, int *i, const char *cmd)
{
	if (*i + 1 >= argc) {
		fprintf(stderr, "residual %s: option %s needs a value\n", cmd, argv[*i]);
		return NULL;
	}
	return argv[++*i];
}

double cli_peak_rss_mb(void)
{
	FILE *f = fopen("/proc/self/status", "r");
	char line[256];
	double kb = 0;
	while (f && fgets(line, sizeof line, f))
		if (!strncmp(line, "VmHWM:", 6))
			kb = strtod(line + 6, NULL);
	if (f)
		fclose(f);
	return kb / 1024.0;
}

double cli_now(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + ts.tv_nsec * 1e-9;
}
