/* commands.h - the one command language of residual.
 *
 * Every command a learner can type is one entry of a registry (name,
 * arguments, help, completion, handler). The same registry serves the command
 * line inside the screen (readline), `residual --batch` (no curses), and the
 * steps of lessons, so everything is scriptable and testable without a
 * terminal. Handlers change the session and write their text output with
 * session_printf; they never touch curses.
 */
#ifndef RS_COMMANDS_H
#define RS_COMMANDS_H

#include "err.h"
#include "session.h"

typedef enum cmd_status {
	CMD_OK = 0,
	CMD_ERROR = 1,   /* bad argument or failed action: err holds one line with the usage */
	CMD_QUIT = 2,    /* the command asked to end the session */
} cmd_status;

/* What a completer completes at an argument position. */
typedef enum cmd_arg_kind {
	ARG_NONE, ARG_COMMAND, ARG_HOOK, ARG_LAYER, ARG_HEAD, ARG_POS, ARG_TOKEN, ARG_FILE,
	ARG_WORD, /* one of the words listed in the command's choices */
	ARG_TEXT, /* free text to the end of the line */
	ARG_NUMBER,
} cmd_arg_kind;

typedef struct cmd_def {
	const char *name;
	const char *args;     /* usage of the arguments, e.g. "L H [zero|mean]" */
	const char *summary;  /* one line */
	const char *help;     /* a paragraph, shown by `help NAME` */
	cmd_arg_kind argk[4]; /* what each argument position completes (the last repeats) */
	const char *choices;  /* for ARG_WORD: space-separated words */
	cmd_status (*run)(rs_session *s, int argc, char **argv, rs_err *err);
	const char *flags;    /* options it takes, space-separated ("--full --head"), for completion */
	const char *group;    /* set on the first command of a group: its heading in `help` */
	unsigned mode;        /* CMD_REPLAY | CMD_VIEW (classroom mode, class.h) */
} cmd_def;

/* cmd_def.mode: CMD_REPLAY, a follower may replay it (it reads no file the
 * teacher names and writes none: not load, export, quit or answer);
 * CMD_VIEW, it only shows (a follower running it keeps following). */
#define CMD_REPLAY 1u
#define CMD_VIEW 2u

/* Parses and runs one line. Words are shell-like (quotes, backslash escapes;
 * '#' at the start of a word begins a comment); empty and comment lines do
 * nothing. The session's output is cleared first and then holds what the
 * command printed; on CMD_ERROR err holds one line (the command's name, what
 * is wrong and its usage). Nothing typed can end the process: a failed
 * command leaves the session as it was or in a consistent state. */
cmd_status cmd_exec(rs_session *s, const char *line, rs_err *err);
/* The command a line runs (its first word, aliases followed), or NULL. */
const cmd_def *cmd_of_line(const char *line);
/* The words of line from the first-th on, as the command sees them (quotes
 * removed), joined by single spaces; malloc'd, NULL when the line does not
 * split (an open quote). */
char *cmd_words_from(const char *line, int first);

/* As cmd_exec, but what the command prints is dropped: the session's output
 * stays what it was. The screen's keys run commands this way, since what a
 * key does shows in the panes, not as text. */
cmd_status cmd_exec_quiet(rs_session *s, const char *line, rs_err *err);

/* The registry, NULL-terminated by a zero entry. */
const cmd_def *cmd_registry(void);
const cmd_def *cmd_find(const char *name);

/* Completion for the word that spans [start, end) of line, given the session
 * (commands, options, hook names, layer and head numbers, token positions,
 * file names, words; s may be NULL). Returns what readline's
 * rl_attempted_completion_function returns (rl_completion_matches' shape):
 * NULL when nothing matches; {match, NULL} for one match; else {longest
 * common prefix, match1, match2, ..., NULL}, matches sorted and unique, each
 * a whole replacement for the word. All malloc'd; directories end in '/'. */
char **cmd_complete(rs_session *s, const char *line, int start, int end);

/* Runs commands from a file ("-" for stdin) without curses, printing each
 * command's output to stdout and errors to stderr; returns the exit status
 * (0 when every command succeeded). */
int cmd_batch(rs_session *s, const char *path, int echo);

/* An upper layer's part of the language, handed down by the program
 * (cli_main): commands appended to the registry (lesson/: next, prev,
 * answer) and the handler of `lesson`. Without it the registry holds the
 * session's commands only and `lesson` says no lessons are installed. */
typedef cmd_status (*cmd_handler)(rs_session *s, int argc, char **argv, rs_err *err);
void cmd_extend(const cmd_def *cmds, cmd_handler lesson);

#endif
