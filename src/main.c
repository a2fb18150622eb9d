/* main.c - residual: subcommand dispatch. */
#include "config.h"

#include <stdio.h>
#include <string.h>

#include "cli.h"

int main(int argc, char **argv)
{
	return cli_main(argc, argv);
}
