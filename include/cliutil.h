/* cliutil.h - small helpers shared by the subcommands: options, prompts, JSON. */
#ifndef RS_CLIUTIL_H
#define RS_CLIUTIL_H

#include <stdint.h>

#include "err.h"
#include "model.h"

/* "1,2,3" (commas or spaces) into a malloc'd array; fails naming the bad entry. */
int cli_parse_ids(const char *s, int32_t **ids, int *n, rs_err *err);

/* The prompt's tokens: --ids as given, or --prompt text through the model's
 * tokenizer (BOS prepended when the tokenizer asks for it and bos is set). */
int cli_prompt_ids(const rs_model *m, const char *text, const char *ids_arg, int32_t **ids, int *n,
		   rs_err *err);

/* The option's value (argv[i+1]); prints a usage error and returns NULL when missing. */
const char *cli_value(int argc, char **argv, int *i, const char *cmd);

/* Resident set high-water mark in MB (VmHWM). */
double cli_peak_rss_mb(void);
double cli_now(void);

#endif
