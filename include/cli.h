/* cli.h - the residual command-line front end: subcommands and their options. */
#ifndef RS_CLI_H
#define RS_CLI_H

/* Runs the program; returns the process exit status. */
int cli_main(int argc, char **argv);

/* Subcommands: argv[0] is the subcommand name. Each returns an exit status:
 * 0 success, 1 failure (one line on stderr), 2 usage error. */
int cmd_run(int argc, char **argv);
int cmd_generate(int argc, char **argv);
int cmd_convert(int argc, char **argv);
int cmd_bench(int argc, char **argv);
int cmd_tokenize(int argc, char **argv);
int cmd_corpus(int argc, char **argv);
int cmd_train(int argc, char **argv);
int cmd_eval(int argc, char **argv);
int cmd_lessons(int argc, char **argv);
int cmd_random(int argc, char **argv);

/* The screen (ui/) and batch mode (commands): argv as given to main. */
int ui_main(int argc, char **argv);
int batch_main(int argc, char **argv);

#endif
