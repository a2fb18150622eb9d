/* cli.c - subcommand table and dispatch. */
#include "config.h"
#include "cli.h"
#include "stream.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct subcommand {
	const char *name;
	int (*fn)(int argc, char **argv);
	const char *summary;
} subcommand;

/* Weak so that each subcommand can land on its own; a missing one reports itself. */
#define WEAK __attribute__((weak))
WEAK int cmd_run(int, char **);
WEAK int cmd_generate(int, char **);
WEAK int cmd_convert(int, char **);
WEAK int cmd_bench(int, char **);
WEAK int cmd_tokenize(int, char **);
WEAK int cmd_corpus(int, char **);
WEAK int cmd_train(int, char **);
WEAK int cmd_eval(int, char **);
WEAK int cmd_lessons(int, char **);
WEAK int cmd_random(int, char **);
/* residual [options]: the screen; residual --batch: commands without curses */
WEAK int ui_main(int, char **);
WEAK int batch_main(int, char **);

static const subcommand subcommands[] = {
	{"run", cmd_run, "run a prompt and dump the cached hooks to safetensors"},
	{"generate", cmd_generate, "generate tokens (greedy or sampled)"},
	{"tokenize", cmd_tokenize, "show token ids, pieces and byte offsets"},
	{"convert", cmd_convert, "convert a Hugging Face folder to GGUF"},
	{"bench", cmd_bench, "prefill and decode speed, peak memory"},
	{"random-model", cmd_random, "write a GGUF of a named shape with random weights"},
	{"eval", cmd_eval, "measure a model: loss, induction, IOI, facts"},
	{"corpus", cmd_corpus, "build the training corpus of the built-in model"},
	{"train", cmd_train, "train a model (the built-in one)"},
	{"lessons", cmd_lessons, "list, check or export the lessons"},
};

static void usage(FILE *f)
{
	fprintf(f,
		"usage: residual [options]                        open the tutor screen\n"
		"       residual --batch [FILE|-] [options]       run commands without the screen\n"
		"       residual COMMAND [options]                run COMMAND --help for its options\n\n"
		"options:\n"
		"  --model PATH         a GGUF file or Hugging Face folder (default: the built-in model)\n"
		"  --tokenizer PATH     another tokenizer (tokenizer.json, GGUF or model folder)\n"
		"  --prompt TEXT        start with this prompt\n"
		"  --ids N,N,...        start with these token ids\n"
		"  --lesson NAME        start in a lesson\n"
		"  --mem SIZE           memory budget for the weights (e.g. 4G; default half the RAM):\n"
		"                       a bigger model is stepped from disk (every command takes it)\n"
		"  --theme dark|light|mono, --ascii, --no-history   screen appearance and history\n"
		"  --echo, --restricted batch mode: echo commands; relative paths only for load/export\n"
		"Keys, commands and hooks: man residual (doc/residual.1), or ? and :help in the screen.\n\n"
		"commands:\n");
	for (size_t i = 0; i < sizeof subcommands / sizeof *subcommands; i++)
		if (subcommands[i].fn)
			fprintf(f, "  %-13s %s\n", subcommands[i].name, subcommands[i].summary);
}

/* --mem SIZE, for the screen, batch mode and every command: taken out of
 * argv and handed to every engine through $RESIDUAL_MEM (stream.h). */
static int take_mem(int *argc, char **argv)
{
	for (int i = 1; i < *argc; i++) {
		if (strcmp(argv[i], "--mem"))
			continue;
		uint64_t b;
		if (i + 1 >= *argc || rs_parse_size(argv[i + 1], &b) || !b) {
			fprintf(stderr, "residual: --mem takes a size such as 4G, 500M or unlimited\n");
			return -1;
		}
		setenv("RESIDUAL_MEM", argv[i + 1], 1);
		for (int j = i; j + 2 <= *argc; j++)
			argv[j] = argv[j + 2];
		*argc -= 2;
		i--;
	}
	return 0;
}

int cli_main(int argc, char **argv)
{
	if (take_mem(&argc, argv))
		return 2;
	if (argc > 1 && (!strcmp(argv[1], "--help") || !strcmp(argv[1], "-h"))) {
		usage(stdout);
		return 0;
	}
	if (argc > 1 && !strcmp(argv[1], "--version")) {
		printf("residual %s\n", PACKAGE_VERSION);
		return 0;
	}
	if (argc > 1 && argv[1][0] != '-') {
		for (size_t i = 0; i < sizeof subcommands / sizeof *subcommands; i++) {
			if (strcmp(argv[1], subcommands[i].name))
				continue;
			if (!subcommands[i].fn) {
				fprintf(stderr, "residual: command '%s' is not built in\n", argv[1]);
				return 2;
			}
			return subcommands[i].fn(argc - 1, argv + 1);
		}
		fprintf(stderr, "residual: unknown command '%s' (see residual --help)\n", argv[1]);
		return 2;
	}
	for (int i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--batch")) {
			if (!batch_main) {
				fprintf(stderr, "residual: batch mode is not built in\n");
				return 2;
			}
			return batch_main(argc, argv);
		}
	}
	if (!ui_main) {
		usage(stderr);
		return 2;
	}
	return ui_main(argc, argv);
}
