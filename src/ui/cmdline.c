/* cmdline.c - GNU readline in callback mode inside the curses screen.
 *
 * ncurses owns the terminal; readline never touches it. Keys read by the
 * main loop are queued here and handed to readline through rl_getc_function
 * (rl_input_available_hook tells it whether more are queued, so an escape
 * sequence is never waited for). readline's own output goes to /dev/null;
 * its line is drawn by rl_redisplay_function into the command-line window,
 * with the cursor placed by display width. Completion asks the command
 * registry and lists the candidates in the output pane.
 */
#include "config.h"
#include "ui_int.h"

#include <errno.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <wchar.h>

#include <readline/history.h>
#include <readline/readline.h>

#include "commands.h"
#include "mapfile.h"
#include "savefile.h"

#define HISTORY_MAX 1000
#define LINE_MAX_BYTES 4096 /* a typed or pasted command line; longer is refused key by key */
/* A history file larger than its lines can make is not ours to read whole
 * (nor to rewrite): the session goes without history and says so. */
#define HISTORY_MAX_BYTES ((off_t)HISTORY_MAX * (LINE_MAX_BYTES + 1))

static ui *g_ui;                 /* readline's callbacks carry no context */
static unsigned char queue[256]; /* keys waiting for readline */
static int q_head, q_len;
static FILE *null_in, *null_out;
static int installed;
static char *pending_line;       /* the line accepted during this key */
static int line_ready, line_eof;

static int rl_getc_queue(FILE *f)
{
	(void)f;
	if (!q_len)
		return EOF; /* not reached: readline is only called with keys queued */
	int c = queue[q_head];
	q_head = (q_head + 1) % (int)sizeof queue;
	q_len--;
	return c;
}

static int rl_avail_queue(void) { return q_len > 0; }

static void push(int c)
{
	if (q_len == (int)sizeof queue)
		return;
	queue[(q_head + q_len) % (int)sizeof queue] = (unsigned char)c;
	q_len++;
}

static void push_str(const char *s)
{
	while (*s)
		push((unsigned char)*s++);
}

static void no_prep(int meta) { (void)meta; }
static void no_deprep(void) {}

static void redisplay(void)
{
	if (g_ui)
		cmdline_redraw(g_ui);
}

/* Readline hands us the line; we keep it until rl_callback_read_char
 * returns, so the handler is never removed from inside readline. */
static void on_line(char *line)
{
	if (!line) {
		line_eof = 1;
		return;
	}
	free(pending_line);
	pending_line = line;
	line_ready = 1;
}

static char **complete(const char *text, int start, int end)
{
	(void)text;
	rl_attempted_completion_over = 1; /* never fall back to file names of cwd */
	return cmd_complete(g_ui->s, rl_line_buffer, start, end);
}

/* Drops the completion list; the panes under its box are drawn again. */
static void free_matches(ui *u)
{
	if (!u->matches)
		return;
	ui_mark_all(u);
	for (char **m = u->matches; *m; m++)
		free(*m);
	free(u->matches);
	u->matches = NULL;
}

/* Called instead of readline printing the list on stdout. */
static void show_matches(char **matches, int num, int max_len)
{
	(void)max_len;
	ui *u = g_ui;
	free_matches(u);
	ui_mark_all(u);
	u->matches = rs_xcalloc((size_t)num + 1, sizeof *u->matches);
	for (int i = 0; i < num; i++)
		u->matches[i] = rs_xstrdup(matches[i + 1]);
}

int cmdline_history_path(char *buf, size_t n)
{
	const char *state = getenv("XDG_STATE_HOME");
	if (state && state[0] == '/')
		return snprintf(buf, n, "%s/residual/history", state) < (int)n ? 0 : -1;
	const char *home = getenv("HOME");
	if (!home || home[0] != '/') {
		struct passwd *pw = getpwuid(getuid());
		home = pw ? pw->pw_dir : NULL;
	}
	if (!home)
		return -1;
	return snprintf(buf, n, "%s/.local/state/residual/history", home) < (int)n ? 0 : -1;
}

int cmdline_init(ui *u)
{
	g_ui = u;
	null_in = fopen("/dev/null", "r");
	null_out = fopen("/dev/null", "w");
	rl_readline_name = "residual";
	rl_instream = null_in;
	rl_outstream = null_out;
	rl_catch_signals = 0;
	rl_catch_sigwinch = 0;
	rl_change_environment = 0; /* else readline exports LINES/COLUMNS and resizes stop */
	rl_prep_term_function = no_prep;
	rl_deprep_term_function = no_deprep;
	rl_getc_function = rl_getc_queue;
	rl_input_available_hook = rl_avail_queue;
	rl_redisplay_function = redisplay;
	rl_attempted_completion_function = complete;
	rl_completion_display_matches_hook = show_matches;
	rl_completion_query_items = -1;
	rl_initialize();
	rl_variable_bind("page-completions", "off");
	rl_variable_bind("show-all-if-ambiguous", "on");
	rl_variable_bind("bell-style", "none");
	rl_variable_bind("enable-bracketed-paste", "off");
	rl_set_screen_size(LINES > 0 ? LINES : 24, COLS > 0 ? COLS : 80);
	using_history();
	stifle_history(HISTORY_MAX);
	struct stat st;
	if (u->use_history && cmdline_history_path(u->history_path, sizeof u->history_path) == 0) {
		if (stat(u->history_path, &st) == 0 && st.st_size > HISTORY_MAX_BYTES) {
			snprintf(u->notice, sizeof u->notice, "history off: %.160s is %lld MiB (at most %lld)", u->history_path,
				 (long long)(st.st_size >> 20), (long long)(HISTORY_MAX_BYTES >> 20));
			u->history_path[0] = 0;
		} else if (read_history(u->history_path) && errno != ENOENT) {
			snprintf(u->notice, sizeof u->notice, "history not read: %s", strerror(errno));
		}
	} else {
		u->history_path[0] = 0;
	}
	return 0;
}

void cmdline_free(ui *u)
{
	if (installed)
		rl_callback_handler_remove();
	installed = 0;
	free_matches(u);
	free(pending_line);
	pending_line = NULL;
	clear_history();
	if (null_in)
		fclose(null_in);
	if (null_out)
		fclose(null_out);
	null_in = null_out = NULL;
	g_ui = NULL;
}

/* Adds the line to the history file at once, so that a dropped SSH
 * connection loses nothing: the file as it is now on disk (lines other
 * residuals added meanwhile included), plus this line, the last HISTORY_MAX
 * lines kept, replaced atomically (rs_save_file) so that it is never left
 * half-written. */
static void remember(ui *u, const char *line)
{
	if (!*line)
		return;
	HIST_ENTRY *last = history_length > 0 ? history_get(history_base + history_length - 1) : NULL;
	if (last && !strcmp(last->line, line))
		return;
	add_history(line);
	if (!u->history_path[0])
		return;
	size_t n = 0, ln = strlen(line);
	struct stat st;
	if (stat(u->history_path, &st) == 0 && st.st_size > HISTORY_MAX_BYTES)
		return; /* grown meanwhile past what its lines can make: leave it alone */
	char *old = rs_read_file(u->history_path, &n, NULL);
	if (!old && errno != ENOENT)
		return; /* unreadable: leave it as it is */
	char *buf = rs_xmalloc(n + ln + 2);
	if (n)
		memcpy(buf, old, n);
	free(old);
	if (n && buf[n - 1] != '\n')
		buf[n++] = '\n';
	memcpy(buf + n, line, ln);
	n += ln;
	buf[n++] = '\n';
	/* the start of the last HISTORY_MAX lines */
	size_t start = n - 1;
	int lines = 0;
	while (start > 0 && lines < HISTORY_MAX)
		if (buf[--start] == '\n' && ++lines == HISTORY_MAX)
			start++;
	rs_err err;
	if (rs_save_file(u->history_path, buf + start, n - start, &err))
		snprintf(u->notice, sizeof u->notice, "history not saved: %.200s", err.msg);
	free(buf);
}

static void close_line(ui *u)
{
	if (installed)
		rl_callback_handler_remove();
	installed = 0;
	u->cmd_active = 0;
	free_matches(u);
	curs_set(0);
	werase(u->cmd);
	u->sig_hints = 0;
}

void cmdline_open(ui *u, const char *initial)
{
	u->cmd_active = 1;
	u->sig_hints = 0;
	q_len = 0;
	installed = 1;
	rl_callback_handler_install(":", on_line);
	if (initial && *initial) {
		rl_insert_text(initial);
		rl_redisplay();
	}
	curs_set(1);
}

void cmdline_resize(ui *u)
{
	rl_set_screen_size(LINES, COLS);
	if (u->cmd_active)
		cmdline_redraw(u);
}

void cmdline_key(ui *u, int ch)
{
	if (ch != '\t' && u->matches)
		free_matches(u);
	switch (ch) {
	case 3: /* Ctrl-C: cancel the line */
	case 7:
		rl_replace_line("", 0);
		close_line(u);
		return;
	case 27: {
		/* a lone Escape cancels; Escape then a key is Meta-key for readline */
		nodelay(u->cmd, TRUE);
		int next = wgetch(u->cmd);
		nodelay(u->cmd, FALSE);
		if (next == ERR) {
			rl_replace_line("", 0);
			close_line(u);
			return;
		}
		push(27);
		if (next >= 0 && next < 256)
			push(next);
		break;
	}
	case KEY_UP: push_str("\033[A"); break;
	case KEY_DOWN: push_str("\033[B"); break;
	case KEY_RIGHT: push_str("\033[C"); break;
	case KEY_LEFT: push_str("\033[D"); break;
	case KEY_HOME: push_str("\001"); break;
	case KEY_END: push_str("\005"); break;
	case KEY_DC: push_str("\033[3~"); break;
	case KEY_BACKSPACE: push(127); break;
	case KEY_ENTER: push('\r'); break;
	default:
		if (ch < 0 || ch >= 256)
			return; /* other function keys mean nothing to the line */
		if (ch >= 0x20 && ch != 127 && rl_end >= LINE_MAX_BYTES) {
			snprintf(u->notice, sizeof u->notice, "the command line is full (at most %d bytes)",
				 LINE_MAX_BYTES);
			return;
		}
		push(ch);
	}
	line_ready = line_eof = 0;
	while (q_len > 0 && !line_ready && !line_eof)
		rl_callback_read_char();
	if (line_eof) {
		close_line(u);
		return;
	}
	if (line_ready) {
		char *line = pending_line;
		pending_line = NULL;
		close_line(u);
		remember(u, line);
		ui_run_command(u, line);
		free(line);
	}
}

/* Columns of the first n bytes of s. */
static int cols_of(const char *s, size_t n)
{
	char buf[4096];
	if (n >= sizeof buf)
		n = sizeof buf - 1;
	memcpy(buf, s, n);
	buf[n] = 0;
	return ui_text_width(buf);
}

void cmdline_redraw(ui *u)
{
	WINDOW *w = u->cmd;
	if (!w)
		return;
	werase(w);
	if (!u->cmd_active)
		return;
	int W = getmaxx(w);
	const char *prompt = rl_display_prompt ? rl_display_prompt : ":";
	const char *line = rl_line_buffer ? rl_line_buffer : "";
	size_t plen = strlen(prompt), llen = strlen(line);
	char *full = rs_xmalloc(plen + llen + 1);
	memcpy(full, prompt, plen);
	memcpy(full + plen, line, llen + 1);
	size_t point = plen + (size_t)(rl_point < 0 ? 0 : (size_t)rl_point > llen ? llen : (size_t)rl_point);
	int cur = cols_of(full, point);
	/* scroll sideways, a character at a time, until the cursor fits */
	size_t start = 0;
	mbstate_t st;
	memset(&st, 0, sizeof st);
	while (cur - cols_of(full, start) > W - 2 && start < point) {
		size_t k = mbrtowc(NULL, full + start, plen + llen - start, &st);
		if (k == (size_t)-1 || k == (size_t)-2 || k == 0) {
			memset(&st, 0, sizeof st);
			k = 1;
		}
		start += k;
	}
	int skipped = cols_of(full, start);
	theme_set(&u->th, w, ROLE_KEY);
	if (start < plen) {
		char p[256];
		snprintf(p, sizeof p, "%.*s", (int)(plen - start), prompt + start);
		int x = draw_text(w, 0, 0, W, p);
		theme_set(&u->th, w, ROLE_NORMAL);
		draw_text(w, 0, x, W - x, line);
	} else {
		theme_set(&u->th, w, ROLE_NORMAL);
		draw_text(w, 0, 0, W, full + start);
	}
	theme_set(&u->th, w, ROLE_NORMAL);
	wmove(w, 0, cur - skipped < W ? cur - skipped : W - 1);
	free(full);
}
