/* cli.c - subcommand table and dispatch. */
#include "config.h"
#include "cli.h"
#include "stream.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "commands.h"
#include "corpus.h"
#include "lesson.h"
#include "ui.h"

typedef struct subcommand {
	const char *name;
	int (*fn)(int argc, char **argv);
	const char *summary;
} subcommand;

/* Every subcommand is linked in: a missing one is a link error. */
static const subcommand subcommands[] = {
	{"run", sub_run, "run a prompt and dump the cached hooks to safetensors"},
	{"generate", sub_generate, "generate tokens (greedy or sampled)"},
	{"tokenize", sub_tokenize, "show token ids, pieces and byte offsets"},
	{"convert", sub_convert, "convert a Hugging Face folder to GGUF"},
	{"bench", sub_bench, "prefill and decode speed, peak memory"},
	{"random-model", sub_random, "write a GGUF of a named shape with random weights"},
	{"eval", sub_eval, "measure a model: loss, induction, IOI, facts"},
	{"corpus", sub_corpus, "build the training corpus of the built-in model"},
	{"train", sub_train, "train a model (the built-in one)"},
	{"train-sae", sub_train_sae, "train a sparse autoencoder of one hook of a model"},
	{"lessons", sub_lessons, "list, check or export the lessons"},
	{"explain", sub_explain, "how the model arrived at its answer, step by step, measured"},
};

static void usage(FILE *f)
{
	fprintf(f,
		"usage: residual [options]                        open the tutor screen\n"
		"       residual --batch [FILE|-] [options]       run commands without the screen\n"
		"       residual --present SOCKET [options]       teach: followers mirror this session\n"
		"       residual [--batch] --follow SOCKET        follow a teacher's session\n"
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
		"  --names              with --present: who answered what (else counts only)\n"
		"Keys, commands and hooks: man residual (doc/residual.1), or ? and :help in the screen.\n\n"
		"commands:\n");
	for (size_t i = 0; i < sizeof subcommands / sizeof *subcommands; i++)
		fprintf(f, "  %-13s %s\n", subcommands[i].name, subcommands[i].summary);
}

/* The layers meet here, explicitly: what an upper layer adds to a lower one
 * is handed down before anything runs (no weak symbols). */
static void cli_wire(void)
{
	cmd_extend(lesson_cmds, lesson_command); /* session <- lesson: next, prev, answer, `lesson` */
	lesson_set_builtin_words(corpus_forced_words); /* lesson <- train: the built-in vocabulary */
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
	cli_wire();
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
			return subcommands[i].fn(argc - 1, argv + 1);
		}
		fprintf(stderr, "residual: unknown command '%s' (see residual --help)\n", argv[1]);
		return 2;
	}
	for (int i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--batch"))
			return cli_batch_main(argc, argv);
	}
	return ui_main(argc, argv);
}
