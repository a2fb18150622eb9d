/* cli.h - the residual command-line front end: subcommands and their options. */
#ifndef RS_CLI_H
#define RS_CLI_H

/* Runs the program; returns the process exit status. */
int cli_main(int argc, char **argv);

#endif
