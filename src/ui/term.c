/* term.c - the terminal: opening it (with a fallback for an unknown TERM),
 * restoring it on every way out, and signals.
 *
 * Signals only set a flag; the main loop notices it within one input
 * timeout, and a long run at its next stop (ui_interrupt asks term_signal),
 * and leaves through the ordinary cleanup. SIGHUP is what a dropped SSH
 * connection delivers. An out-of-memory exit restores the terminal through
 * rs_set_fatal_cleanup. A crash (SIGSEGV, SIGBUS, SIGABRT, SIGFPE) restores
 * it from the handler with async-signal-safe calls only (the reset sequence
 * taken from terminfo when the screen opened, written with write(2), and the
 * terminal modes saved then, set with tcsetattr), then dies of the signal as
 * it would have. SIGHUP and SIGTERM also arm a watchdog (on_signal) in case
 * the run in progress does not reach its next stop soon. While the screen is
 * up, file descriptors 1 and 2 point at /dev/null so that no stray message
 * can scribble over it; curses writes to its own duplicate of the terminal.
 */
#include "config.h"
#include "ui_int.h"

#include <fcntl.h>
#include <langinfo.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>
#include <termios.h>
#include <unistd.h>
#include <term.h>

static volatile sig_atomic_t got_signal;
static int active;                     /* curses is up and owns the terminal */
static int saved_out = -1, saved_err = -1;

/* For the crash handler: the terminal's fd, its modes before curses, and
 * what endwin would send (leave the alternate screen, cursor and attributes
 * back to normal, keypad off). */
static volatile sig_atomic_t crash_fd = -1;
static struct termios crash_tio;
static int crash_tio_ok;
static char crash_seq[256];
static size_t crash_len;

/* The terminal as it was, from a signal handler (async-signal-safe calls only). */
static void restore_from_handler(void)
{
	int fd = crash_fd;
	if (fd >= 0) {
		if (crash_len && write(fd, crash_seq, crash_len) < 0) {
			/* nothing more can be done */
		}
		if (crash_tio_ok)
			tcsetattr(fd, TCSANOW, &crash_tio);
	}
	if (saved_err >= 0)
		dup2(saved_err, STDERR_FILENO);
}

/* SIGHUP or SIGTERM: the loop or the run in progress notices the flag at its
 * next stop and exits through the ordinary cleanup. Should one stop take
 * longer than WATCHDOG_MS (a huge model), the watchdog restores the terminal
 * and exits from here; the user's files are safe, as they are only ever
 * replaced whole (rs_save_file). */
#define WATCHDOG_MS 500

static void on_watchdog(int sig)
{
	(void)sig;
	if (crash_fd < 0)
		return; /* the ordinary cleanup got there first */
	restore_from_handler();
	_exit(0);
}

static void on_signal(int sig)
{
	got_signal = sig;
	if ((sig == SIGHUP || sig == SIGTERM) && crash_fd >= 0) {
		struct itimerval it = {{0, 0}, {0, WATCHDOG_MS * 1000}};
		setitimer(ITIMER_REAL, &it, NULL);
	}
}

static void on_crash(int sig)
{
	restore_from_handler(); /* and the shell's "Segmentation fault" goes where it should */
	signal(sig, SIG_DFL);
	raise(sig); /* delivered when the handler returns: the default action, core dump included */
}

static void crash_add(const char *capname)
{
	const char *v = tigetstr((char *)capname);
	if (!v || v == (char *)-1)
		return;
	size_t n = strlen(v);
	if (crash_len + n < sizeof crash_seq) {
		memcpy(crash_seq + crash_len, v, n);
		crash_len += n;
	}
}

/* Readies the crash handler for the terminal on fd, once terminfo is set
 * up (its modes were saved before curses opened it). */
static void crash_prepare(int fd)
{
	crash_len = 0;
	static const char *const caps[] = {"sgr0", "cnorm", "rmkx", "rmcup"};
	for (size_t i = 0; i < sizeof caps / sizeof *caps; i++)
		crash_add(caps[i]);
	if (crash_len + 2 < sizeof crash_seq) {
		memcpy(crash_seq + crash_len, "\r\n", 2);
		crash_len += 2;
	}
	crash_fd = fd;
}

int term_signal(void) { return got_signal; }

void term_signals(void)
{
	struct sigaction sa;
	memset(&sa, 0, sizeof sa);
	sa.sa_handler = on_signal;
	sigemptyset(&sa.sa_mask);
	sa.sa_flags = 0; /* no SA_RESTART: a blocked read returns and the loop looks */
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGHUP, &sa, NULL);
	sa.sa_handler = on_watchdog;
	sigaction(SIGALRM, &sa, NULL);
	sa.sa_handler = SIG_IGN;
	sigaction(SIGPIPE, &sa, NULL);
	sa.sa_handler = on_crash;
	sa.sa_flags = SA_RESETHAND; /* a crash inside the handler dies at once */
	static const int crash[] = {SIGSEGV, SIGBUS, SIGABRT, SIGFPE};
	for (size_t i = 0; i < sizeof crash / sizeof *crash; i++)
		sigaction(crash[i], &sa, NULL);
}

static void restore_fds(void)
{
	if (saved_out >= 0) {
		dup2(saved_out, STDOUT_FILENO);
		close(saved_out);
		saved_out = -1;
	}
	if (saved_err >= 0) {
		dup2(saved_err, STDERR_FILENO);
		close(saved_err);
		saved_err = -1;
	}
}

/* Safe to call any number of times, from exit paths too. */
void term_restore(void)
{
	crash_fd = -1;
	struct itimerval off = {{0, 0}, {0, 0}};
	setitimer(ITIMER_REAL, &off, NULL); /* no watchdog: the ordinary cleanup is done */
	if (active) {
		curs_set(1);
		endwin();
		active = 0;
	}
	restore_fds();
}

static void fatal_cleanup(void) { term_restore(); }

int term_utf8(int force_ascii)
{
	if (force_ascii)
		return 0;
	const char *cs = nl_langinfo(CODESET);
	return cs && (!strcmp(cs, "UTF-8") || !strcmp(cs, "utf8"));
}

/* Whether terminfo describes this terminal type. */
static int term_known(const char *name, int fd)
{
	TERMINAL *saved = cur_term;
	int err = 0;
	if (setupterm(name, fd, &err) != OK)
		return 0;
	del_curterm(cur_term);
	set_curterm(saved);
	return 1;
}

/* Opens the screen on the terminal (bench: on /dev/null with a fixed size).
 * Returns 0, or -1 with a message when no terminal type works. */
int term_open(ui *u, int bench_rows, int bench_cols, char *hint, size_t hint_n)
{
	hint[0] = 0;
	if (bench_rows > 0) {
		u->tty_out = fopen("/dev/null", "w");
		u->tty_in = fopen("/dev/null", "r");
		u->scr = newterm("xterm-256color", u->tty_out, u->tty_in);
		if (!u->scr)
			return -1;
		resize_term(bench_rows, bench_cols);
	} else {
		int fd = dup(STDOUT_FILENO);
		crash_tio_ok = fd >= 0 && tcgetattr(fd, &crash_tio) == 0;
		u->tty_out = fd >= 0 ? fdopen(fd, "w") : NULL;
		if (!u->tty_out)
			return -1;
		/* school servers often lack newer terminals' entries: fall back to
		 * common ones. Asked of terminfo first, because a newterm that fails
		 * leaks its half-made screen. */
		const char *term = getenv("TERM");
		static const char *const fallback[] = {"xterm-256color", "xterm", "vt100"};
		const char *use = term && *term && term_known(term, fd) ? term : NULL;
		for (size_t i = 0; !use && i < sizeof fallback / sizeof *fallback; i++) {
			if (!term_known(fallback[i], fd))
				continue;
			use = fallback[i];
			snprintf(hint, hint_n,
				 "TERM '%s' is unknown here; drawing as %s (install its terminfo "
				 "or set TERM)", term ? term : "", use);
		}
		if (!use)
			return -1;
		u->scr = newterm(use, u->tty_out, stdin);
		if (!u->scr)
			return -1;
	}
	set_term(u->scr);
	if (bench_rows <= 0)
		crash_prepare(fileno(u->tty_out));
	active = 1;
	rs_set_fatal_cleanup(fatal_cleanup);
	if (bench_rows <= 0) {
		int null = open("/dev/null", O_WRONLY);
		if (null >= 0) {
			fflush(stdout);
			fflush(stderr);
			saved_out = dup(STDOUT_FILENO);
			saved_err = dup(STDERR_FILENO);
			dup2(null, STDOUT_FILENO);
			dup2(null, STDERR_FILENO);
			close(null);
		}
	}
	raw(); /* Ctrl-C arrives as a key: it cancels a line or quits, cleanly */
	noecho();
	nonl();
	set_escdelay(50);
	curs_set(0);
	if (has_colors()) {
		start_color();
		use_default_colors();
	}
	return 0;
}

void term_close(ui *u)
{
	term_restore();
	rs_set_fatal_cleanup(NULL);
	if (u->scr)
		delscreen(u->scr);
	u->scr = NULL;
	if (u->tty_out)
		fclose(u->tty_out);
	if (u->tty_in)
		fclose(u->tty_in);
	u->tty_out = u->tty_in = NULL;
}
