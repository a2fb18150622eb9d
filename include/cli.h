/* cli.h - the residual command-line front end: subcommands and their options. */
#ifndef RS_CLI_H
#define RS_CLI_H

/* Runs the program; returns the process exit status. */
int cli_main(int argc, char **argv);

/* Subcommands: argv[0] is the subcommand name. Each returns an exit status:
 * 0 success, 1 failure (one line on stderr), 2 usage error. */
int sub_run(int argc, char **argv);
int sub_generate(int argc, char **argv);
int sub_convert(int argc, char **argv);
int sub_bench(int argc, char **argv);
int sub_tokenize(int argc, char **argv);
int sub_corpus(int argc, char **argv);
int sub_train(int argc, char **argv);
int sub_train_sae(int argc, char **argv);
int sub_eval(int argc, char **argv);
int sub_lessons(int argc, char **argv);
int sub_random(int argc, char **argv);
int sub_explain(int argc, char **argv);

/* Batch mode (the command language without the screen): argv as given to
 * main. The screen is ui_main (ui.h). */
int cli_batch_main(int argc, char **argv);
/* Classroom mode in batch (batch_class.c): follow the teacher at sock,
 * printing what each mirrored command prints (file: the follower's own
 * commands, such as answers); or present the commands of file. */
struct rs_session;
int cli_batch_follow(const char *sock, const char *file, int echo);
int cli_batch_present(struct rs_session *s, const char *sock, const char *file, int echo, int names);

#endif
