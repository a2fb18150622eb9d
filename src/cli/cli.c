/* cli.c - subcommand table and dispatch. */
#include "config.h"
#include "cli.h"

#include <stdio.h>
#include <string.h>

static void usage(FILE *f)
{
	fprintf(f,
		"usage: residual [--model PATH] [--prompt TEXT]   open the tutor screen\n"
		"       residual COMMAND [options]\n");
}

int cli_main(int argc, char **argv)
{
	if (argc > 1 && (!strcmp(argv[1], "--help") || !strcmp(argv[1], "-h"))) {
		usage(stdout);
		return 0;
	}
	if (argc > 1 && !strcmp(argv[1], "--version")) {
		printf("residual %s\n", PACKAGE_VERSION);
		return 0;
	}
	usage(stderr);
	return 2;
}
