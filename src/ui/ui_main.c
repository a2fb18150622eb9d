/* ui_main.c - `residual [options]`: the screen's options, windows, main
 * loop and keys.
 *
 * The loop: draw what changed (one doupdate), wait for a key with a
 * timeout (so a signal flag or idle work is noticed), handle it. Keys move
 * the session through session.h; the command line runs the registry's
 * commands. Nothing here computes what the panes show.
 */
#include "config.h"
#include "ui_int.h"

#include <errno.h>
#include <limits.h>
#include <poll.h>
#include <locale.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "commands.h"
#include "engine.h"
#include "lesson.h"
#include "tokenizer.h"


#define DEFAULT_PROMPT "When Mary and John went to the store, John gave a drink to"

static FILE *trace_f;

/* RESIDUAL_UI_TRACE=file: a line per life event, for tests that cannot see
 * the terminal any more (a dropped SSH connection). */
void ui_trace(const char *fmt, ...)
{
	if (!trace_f)
		return;
	va_list ap;
	va_start(ap, fmt);
	vfprintf(trace_f, fmt, ap);
	va_end(ap);
	fputc('\n', trace_f);
	fflush(trace_f);
}

/* ------------------------------------------------------------ windows */

/* Everything is drawn again from the state: every pane, the header and
 * hint lines, and the screen under them (the gap columns between panes
 * belong to no pane; a box drawn over them must not outlive it). */
void ui_mark_all(ui *u)
{
	memset(u->sig, 0, sizeof u->sig);
	u->sig_header = u->sig_hints = 0;
	u->base_dirty = 1;
}

static void free_windows(ui *u)
{
	for (int p = 0; p < PANE_N; p++)
		if (u->win[p])
			delwin(u->win[p]), u->win[p] = NULL;
	WINDOW **lines[] = {&u->header, &u->hints, &u->cmd};
	for (size_t i = 0; i < 3; i++)
		if (*lines[i])
			delwin(*lines[i]), *lines[i] = NULL;
}

static WINDOW *make_win(ui_rect r)
{
	return r.h > 0 && r.w > 0 ? newwin(r.h, r.w, r.y, r.x) : NULL;
}

void ui_layout_windows(ui *u)
{
	free_windows(u);
	/* a lesson step may ask for the output pane tall: its text at the pane's width */
	int out_lines = 0;
	if (u->s->output_view == 1 && u->s->output) {
		ui_layout first;
		layout_compute(LINES, COLS, u->s->panes, &first);
		if (first.pane[PANE_OUTPUT].w > 0)
			out_lines = draw_count_wrapped(u->s->output, first.pane[PANE_OUTPUT].w);
	}
	layout_compute_view(LINES, COLS, u->s->panes, pane_lesson_fit(u), out_lines, &u->lay);
	for (int p = 0; p < PANE_N; p++)
		u->win[p] = make_win(u->lay.pane[p]);
	u->header = make_win(u->lay.header);
	u->hints = make_win(u->lay.hints);
	/* the command line always exists: keys are read through it */
	u->s->out_cols = COLS - 4; /* the output box's width: wider grids print as heatmaps */
	u->cmd = u->lay.too_small ? newwin(1, COLS > 0 ? COLS : 1, LINES > 1 ? LINES - 1 : 0, 0)
				  : make_win(u->lay.cmdline);
	keypad(u->cmd, TRUE);
	werase(stdscr);
	wnoutrefresh(stdscr);
	ui_mark_all(u);
	cmdline_resize(u);
}

/* ------------------------------------------------------------ drawing */

static void draw_too_small(ui *u)
{
	werase(stdscr);
	char msg[256];
	snprintf(msg, sizeof msg,
		 "Terminal too small: %dx%d.\nresidual needs at least %dx%d. Resize, or press q to quit.", COLS,
		 LINES, UI_MIN_COLS, UI_MIN_ROWS);
	/* wrapped at word boundaries, never cut */
	int n = draw_count_wrapped(msg, COLS);
	int y = (LINES - n) / 2;
	draw_wrapped(stdscr, y < 0 ? 0 : y, 0, LINES, COLS, msg, 0);
	wnoutrefresh(stdscr);
	if (u->cmd)
		wnoutrefresh(u->cmd);
	doupdate();
}

void ui_draw(ui *u, int force)
{
	if (force)
		ui_mark_all(u);
	if (u->lay.too_small) {
		draw_too_small(u);
		return;
	}
	if (pane_lesson_sync(u))
		ui_layout_windows(u);
	/* a lesson step asks for its output in the box */
	if (u->s->output_view_gen != u->seen_view_gen) {
		u->seen_view_gen = u->s->output_view_gen;
		if (u->s->output_view == 2 && u->s->output && u->s->output[0]) {
			u->out_zoom = 1;
			u->zoom_scroll = 0;
		}
	}
	/* a box over the panes (output, help, completions) closed since the last
	 * draw: what it covered is drawn again, gaps included */
	int overlay = u->out_zoom || u->help_open || (u->matches && u->cmd_active);
	if (u->overlay_shown && !overlay)
		ui_mark_all(u);
	u->overlay_shown = overlay;
	if (u->base_dirty) {
		werase(stdscr);
		touchwin(stdscr);
		wnoutrefresh(stdscr);
		u->base_dirty = 0;
	}
	for (int p = 0; p < PANE_N; p++) {
		if (!u->win[p])
			continue;
		uint64_t sig = pane_sig(u, p);
		if (sig && sig == u->sig[p])
			continue;
		pane_draw(u, p, u->win[p]);
		u->sig[p] = sig;
		wnoutrefresh(u->win[p]);
	}
	uint64_t hs = sig_mix(sig_mix(pane_sig(u, PANE_PIPELINE), (uint64_t)u->s->sel_layer),
			      (uint64_t)u->s->sel_head << 32 | (uint32_t)u->s->sel_pos);
	hs = sig_mix(sig_mix(hs, (uint64_t)u->s->gran), (uint64_t)u->gen);
	if (u->header && hs != u->sig_header) {
		pane_draw_header(u, u->header);
		u->sig_header = hs;
		wnoutrefresh(u->header);
	}
	uint64_t ns = sig_mix((uint64_t)u->cmd_active + 1, (uint64_t)u->th.kind);
	for (const char *c = u->notice; *c; c++)
		ns = sig_mix(ns, (unsigned char)*c);
	if (u->hints && ns != u->sig_hints) {
		pane_draw_hints(u, u->hints);
		u->sig_hints = ns;
		wnoutrefresh(u->hints);
	}
	if (u->out_zoom)
		pane_draw_output_zoom(u);
	if (u->help_open)
		pane_draw_help(u);
	if (u->matches && u->cmd_active)
		pane_draw_matches(u);
	/* last, so that the terminal's cursor ends up on the command line */
	if (u->cmd) {
		cmdline_redraw(u);
		wnoutrefresh(u->cmd);
	}
	doupdate();
}

/* ------------------------------------------------------------ keys */

static int n_heads(const ui *u) { return u->s->model ? u->s->model->cfg.n_heads : 1; }
static int n_layers(const ui *u) { return u->s->model ? u->s->model->cfg.n_layers : 1; }

void ui_clamp_selection(ui *u)
{
	rs_session *s = u->s;
	if (s->sel_pos >= s->n_ids)
		s->sel_pos = s->n_ids - 1;
	if (s->sel_pos < 0)
		s->sel_pos = 0;
	if (s->sel_layer >= n_layers(u))
		s->sel_layer = n_layers(u) - 1;
	if (s->sel_layer < 0)
		s->sel_layer = 0;
	if (s->sel_head >= n_heads(u))
		s->sel_head = n_heads(u) - 1;
	if (s->sel_head < 0)
		s->sel_head = 0;
}

void ui_follow_view(ui *u)
{
	rs_hook h = session_hook(u->s);
	if (u->s->view_stop >= 0 && h.layer >= 0 && h.layer != u->s->sel_layer) {
		u->s->sel_layer = h.layer;
		u->s->version++;
	}
	u->vec_scroll = 0;
}

/* Says on the hint line that work is under way, before work that may take a
 * while on a big model (a long forward pass), so the screen never looks hung,
 * and that Esc or Ctrl-C stops it (the session asks ui_interrupt). The next
 * ordinary draw puts the hints back. */
void ui_busy(ui *u, const char *what)
{
	if (!u->hints || u->lay.too_small || !u->scr)
		return;
	werase(u->hints);
	theme_set(&u->th, u->hints, ROLE_KEY);
	draw_textf(u->hints, 0, 0, getmaxx(u->hints), "%s %s%s", what, u->th.g->ellipsis,
		   u->s->interrupt ? "  Esc or Ctrl-C stops" : "");
	theme_set(&u->th, u->hints, ROLE_NORMAL);
	wnoutrefresh(u->hints);
	doupdate();
	u->sig_hints = 0;
}

/* The session's progress lines (session_progress) on the hint line. */
static void ui_progress(void *ctx, const char *line)
{
	ui_busy(ctx, line);
}

void ui_run_command(ui *u, const char *line)
{
	rs_err err;
	memset(&err, 0, sizeof err);
	u->err_line[0] = 0;
	int before = u->s->view_stop;
	ui_busy(u, "running the command");
	cmd_status st = cmd_exec(u->s, line, &err);
	ui_command_done(u, before, st, &err, 0);
}

void ui_command_done(ui *u, int before, int st, const rs_err *err, int quiet)
{
	if (quiet) {
		ui_clamp_selection(u);
		if (u->s->view_stop != before)
			ui_follow_view(u);
		return;
	}
	u->err_line[0] = 0;
	if (st == CMD_ERROR)
		snprintf(u->err_line, sizeof u->err_line, "%s", err->msg[0] ? err->msg : "error");
	if (st == CMD_QUIT)
		u->quit = 1;
	/* a command may have changed anything: the prompt, the model, the values */
	u->gen++;
	u->out_scroll = 0;
	ui_clamp_selection(u);
	if (u->s->view_stop != before)
		ui_follow_view(u);
	/* the command may have changed the panes shown */
	ui_layout_windows(u);
	/* text longer than the output pane opens in a box to be read (not over
	 * a lesson's text: the lesson pane is what a learner reads then) */
	u->zoom_scroll = 0;
	u->out_zoom = u->s->output && !u->lay.too_small && u->lay.pane[PANE_OUTPUT].w > 0 &&
		      !(u->s->panes & 1u << PANE_LESSON) &&
		      draw_count_wrapped(u->s->output, u->lay.pane[PANE_OUTPUT].w) > pane_output_room(u);
}

/* ------------------------------------------------------------ options */

static int parse_ids(const char *arg, int32_t **ids, int *n)
{
	if (tok_parse_ids(arg, ids, n, NULL))
		return -1;
	for (int i = 0; i < *n; i++)
		if ((*ids)[i] < 0)
			*n = 0; /* no negative ids here */
	if (!*n)
		free(*ids);
	return *n ? 0 : -1;
}

static void usage(FILE *f)
{
	fprintf(f, "usage: residual [--model PATH] [--tokenizer PATH] [--prompt TEXT | --ids 1,2,3] [--lesson NAME]\n"
		   "                [--theme dark|light|mono] [--ascii] [--no-history] [--run COMMAND]\n"
		   "                [--bench-redraw [ROWSxCOLS]]\n"
		   "       residual --present SOCKET [--names] [options]   teach: followers mirror this screen\n"
		   "       residual --follow SOCKET                          follow a teacher's screen\n");
}

typedef struct ui_opts {
	const char *model, *prompt, *ids, *tokenizer; /* session_opt's */
	const char *lesson;
	const char *run;  /* --run LINE: a command run once the screen is open (residual explain) */
	const char *present, *follow; /* classroom mode: the socket */
	int names;
	int theme, ascii, no_history;
	int bench, bench_rows, bench_cols;
} ui_opts;

static int parse_opts(int argc, char **argv, ui_opts *o)
{
	memset(o, 0, sizeof *o);
	o->theme = -1;
	session_opts so = {0};
	for (int i = 1; i < argc; i++) {
		const char *a = argv[i];
		const char *val = i + 1 < argc ? argv[i + 1] : NULL;
		if (session_opt(&so, argc, argv, &i))
			continue;
		else if (!strcmp(a, "--lesson") && val)
			o->lesson = val, i++;
		else if (!strcmp(a, "--run") && val)
			o->run = val, i++;
		else if (!strcmp(a, "--present") && val)
			o->present = val, i++;
		else if (!strcmp(a, "--follow") && val)
			o->follow = val, i++;
		else if (!strcmp(a, "--names"))
			o->names = 1;
		else if (!strcmp(a, "--theme") && val) {
			if ((o->theme = theme_parse(val)) < 0) {
				fprintf(stderr, "residual: --theme is dark, light or mono, not '%s'\n", val);
				return -1;
			}
			i++;
		} else if (!strcmp(a, "--ascii"))
			o->ascii = 1;
		else if (!strcmp(a, "--no-history"))
			o->no_history = 1;
		else if (!strcmp(a, "--bench-redraw")) {
			o->bench = 1;
			o->bench_rows = 48, o->bench_cols = 160;
			if (val && sscanf(val, "%dx%d", &o->bench_rows, &o->bench_cols) == 2)
				i++;
		} else {
			fprintf(stderr, "residual: unknown or incomplete option '%s'\n", a);
			usage(stderr);
			return -1;
		}
	}
	o->model = so.model, o->tokenizer = so.tokenizer, o->prompt = so.prompt, o->ids = so.ids;
	if (o->follow && (o->present || o->model || o->tokenizer || o->prompt || o->ids || o->lesson || o->run)) {
		fprintf(stderr, "residual: --follow takes the teacher's model, prompt and lesson; give it alone\n");
		return -1;
	}
	return 0;
}

static int set_prompt(rs_session *s, const ui_opts *o, rs_err *err)
{
	if (o->ids) {
		int32_t *ids;
		int n;
		if (parse_ids(o->ids, &ids, &n))
			return rs_fail(err, "--ids: give token ids as 1,2,3");
		int rc = session_set_ids(s, ids, n, err);
		free(ids);
		return rc;
	}
	if (o->prompt || s->tok)
		return session_set_prompt(s, o->prompt ? o->prompt : DEFAULT_PROMPT, err);
	return rs_fail(err, "%s has no tokenizer: give the prompt as --ids 1,2,3",
		       s->model_path ? s->model_path : "the model");
}

/* Keys while the output box is open: scroll keys scroll; o, q and Escape
 * close it; any other key closes it and then does what it does. */
static int zoom_key(ui *u, int ch)
{
	int page = LINES - 6 > 1 ? LINES - 6 : 1;
	switch (ch) {
	case KEY_UP: case 'k': u->zoom_scroll--; break;
	case KEY_DOWN: case 'j': u->zoom_scroll++; break;
	case KEY_PPAGE: u->zoom_scroll -= page; break;
	case KEY_NPAGE: case ' ': u->zoom_scroll += page; break;
	case KEY_HOME: case 'g': u->zoom_scroll = 0; break;
	case KEY_END: case 'G': u->zoom_scroll = 1 << 30; break;
	case 'o': case 'q': case 27:
		u->out_zoom = 0;
		ui_mark_all(u);
		break;
	default:
		u->out_zoom = 0;
		ui_mark_all(u);
		return 0;
	}
	return 1;
}

/* ------------------------------------------------------------ the loop */

/* The session asks between two stops of a run whether to go on: SIGHUP or
 * SIGTERM stops it (the loop then exits cleanly), Esc or
 * Ctrl-C typed meanwhile stops it, and so does q, which then quits. Any
 * other key goes back for the loop, and nothing more is read until the loop
 * has taken it, so typeahead keeps its order (a stop costs one read that
 * finds nothing). */
static int ui_interrupt(void *ctx)
{
	ui *u = ctx;
	if (term_signal())
		return 1;
	if (u->key_put_back)
		return 0;
	nodelay(u->cmd, TRUE);
	int ch = wgetch(u->cmd);
	nodelay(u->cmd, FALSE);
	if (ch == ERR)
		return 0;
	if (ch == 27 || ch == 3)
		return 1;
	ungetch(ch);
	u->key_put_back = 1;
	return ch == 'q' && !u->cmd_active;
}

/* After a run was stopped: where it stands, in the hints line, until the
 * next key (the notice that was there comes back then). */
static void show_interrupted(ui *u)
{
	rs_session *s = u->s;
	char name[96];
	hook_name(session_hook(s), name, sizeof name);
	ui_trace("interrupted at stop %d %s", s->view_stop, name);
	if (!u->interrupt_notice)
		snprintf(u->saved_notice, sizeof u->saved_notice, "%s", u->notice);
	snprintf(u->notice, sizeof u->notice, "stopped at %s (%d/%d): E runs on", name,
		 s->view_stop + 1, session_n_stops(s));
	u->interrupt_notice = 1;
	s->interrupted = 0;
}

static const char *loop(ui *u)
{
	int fast_errs = 0;
	for (;;) {
		if (term_signal())
			break;
		ui_draw(u, 0);
		int idle = u->cache.lens_pending && !u->cmd_active;
		int timeout = idle ? 0 : 200;
		struct timespec t0, t1;
		clock_gettime(CLOCK_MONOTONIC, &t0);
		if (u->teacher || u->follower) {
			/* the class's sockets beside the terminal: whichever comes first */
			struct pollfd pfd[CLASS_FOLLOWERS_MAX + 2];
			pfd[0] = (struct pollfd){.fd = STDIN_FILENO, .events = POLLIN};
			int n = 1 + ui_class_fds(u, pfd + 1, CLASS_FOLLOWERS_MAX + 1, &timeout);
			wtimeout(u->cmd, 0);
			int ch0 = wgetch(u->cmd); /* a key curses holds already */
			if (ch0 == ERR) {
				poll(pfd, (nfds_t)n, timeout);
				ui_class_service(u);
				ui_draw(u, 0);
			} else {
				ungetch(ch0);
			}
			timeout = 0;
		}
		wtimeout(u->cmd, timeout);
		int ch = wgetch(u->cmd);
		u->key_put_back = 0;
		if (term_signal())
			break;
		if (ch == ERR) {
			if (idle) {
				cache_idle(u);
				continue;
			}
			/* A read that fails at once, again and again for two seconds: the
			 * terminal is gone and no SIGHUP came (it normally does, via the
			 * session leader; give it time to arrive first). */
			clock_gettime(CLOCK_MONOTONIC, &t1);
			long ms = (t1.tv_sec - t0.tv_sec) * 1000 + (t1.tv_nsec - t0.tv_nsec) / 1000000;
			if (ms < (u->teacher || u->follower ? 50 : timeout / 4)) {
				fast_errs++;
				napms(20);
			} else {
				fast_errs = 0;
			}
			if (fast_errs > 100)
				return "terminal lost";
			continue;
		}
		fast_errs = 0;
		if (u->interrupt_notice && ch != KEY_RESIZE) {
			snprintf(u->notice, sizeof u->notice, "%s", u->saved_notice);
			u->interrupt_notice = 0;
		}
		if (ch == KEY_RESIZE) {
			ui_layout_windows(u);
			continue;
		}
		if (u->lay.too_small) {
			if (ch == 'q' || ch == 3)
				return "quit";
			continue;
		}
		if (u->out_zoom && zoom_key(u, ch))
			continue;
		if (u->help_open) {
			/* Space turns the page; any other key closes (ui_draw draws what it covered) */
			if ((ch == ' ' || ch == KEY_NPAGE) && u->help_page + 1 < pane_help_pages(u)) {
				u->help_page++;
				u->base_dirty = 1;
				ui_mark_all(u);
			} else {
				u->help_open = 0;
			}
			continue;
		}
		if (u->cmd_active)
			cmdline_key(u, ch);
		else
			ui_key(u, ch);
		if (u->s->interrupted)
			show_interrupted(u);
		if (u->quit)
			return "quit";
	}
	switch (term_signal()) {
	case SIGHUP: return "hangup";
	case SIGTERM: return "terminated";
	case SIGINT: return "interrupted";
	}
	return "signal";
}

int ui_main(int argc, char **argv)
{
	ui_opts o;
	setlocale(LC_ALL, "");
	if (parse_opts(argc, argv, &o))
		return 2;
	const char *tp = getenv("RESIDUAL_UI_TRACE");
	trace_f = tp && *tp ? fopen(tp, "a") : NULL;

	rs_err err;
	memset(&err, 0, sizeof err);
	if (!o.model && !session_default_model()) {
		fprintf(stderr, "residual: the built-in model is not installed; give --model PATH\n");
		return 1;
	}
	/* a follower's session is the teacher's model, opened by the follower */
	class_follower *fol = NULL;
	if (o.follow) {
		const char *user = getenv("USER");
		fol = class_follower_open(o.follow, user ? user : "", 10000, &err);
		if (!fol) {
			fprintf(stderr, "residual: %s\n", err.msg);
			return 1;
		}
	}
	rs_session *s = fol ? fol->s : session_create(o.model, &err);
	if (!s) {
		fprintf(stderr, "residual: %s\n", err.msg);
		return 1;
	}
	if (fol) {
		/* the lesson commands, without resuming a lesson of its own */
		lesson_startup(s, "none", &err);
	} else if ((o.tokenizer && session_set_tokenizer(s, o.tokenizer, &err)) || set_prompt(s, &o, &err)) {
		fprintf(stderr, "residual: %s\n", err.msg);
		session_free(s);
		return 1;
	}
	/* lesson/: --lesson NAME, or (a plain start) resume the lesson in progress */
	if (!o.bench && !fol && (o.lesson || (!o.prompt && !o.ids && !o.model)) &&
	    lesson_startup(s, o.lesson, &err)) {
		fprintf(stderr, "residual: %s\n", err.msg);
		session_free(s);
		return 1;
	}

	ui *u = rs_xcalloc(1, sizeof *u);
	u->s = s;
	u->follower = fol;
	if (!fol && o.present && ui_class_open(u, o.present, NULL, o.names, &err)) {
		fprintf(stderr, "residual: %s\n", err.msg);
		session_free(s);
		free(u);
		return 1;
	}
	u->use_history = !o.no_history && !o.bench;
	int kind = o.theme;
	const char *nc = getenv("NO_COLOR");
	if (kind < 0)
		kind = nc && *nc ? THEME_MONO : THEME_DARK;
	int utf8 = term_utf8(o.ascii);

	term_signals();
	char hint[256];
	if (term_open(u, o.bench ? o.bench_rows : 0, o.bench_cols, hint, sizeof hint)) {
		fprintf(stderr, "residual: cannot open the terminal (TERM=%s); try TERM=xterm\n",
			getenv("TERM") ? getenv("TERM") : "");
		ui_class_close(u);
		if (fol)
			class_follower_free(fol);
		else
			session_free(s);
		free(u);
		return 1;
	}
	snprintf(u->notice, sizeof u->notice, "%s", hint);
	if (fol)
		ui_class_open(u, NULL, o.follow, 0, &err); /* its events drawn on this screen */
	if (!hint[0] && !fol && !o.present)
		session_cache_note(s, u->notice, sizeof u->notice); /* a long prompt: the memory it will take */
	theme_init(&u->th, kind, utf8);
	cmdline_init(u);
	ui_layout_windows(u);
	ui_trace("start pid=%d %dx%d %s %s", (int)getpid(), COLS, LINES, theme_name(u->th.kind),
	      utf8 ? "utf8" : "ascii");

	if (!o.bench) {
		s->interrupt = ui_interrupt;
		s->interrupt_ctx = u;
		s->progress = ui_progress;
	}
	const char *why;
	int rc = 0;
	if (o.bench) {
		rc = ui_bench(u, o.bench_rows, o.bench_cols, 50);
		why = "bench";
	} else {
		if (o.run) {
			ui_draw(u, 1);
			ui_run_command(u, o.run);
		}
		why = loop(u);
	}
	cmdline_free(u);
	free_windows(u);
	term_close(u);
	ui_trace("exit %s, terminal restored", why);
	if (hint[0] && !o.bench)
		fprintf(stderr, "residual: %s\n", hint);
	if (o.bench && u->notice[0] && strcmp(u->notice, hint))
		fprintf(stderr, "residual: %s\n", u->notice);
	cache_free(&u->cache);
	ui_class_close(u);
	free(u);
	if (fol)
		class_follower_free(fol); /* its session with it */
	else
		session_free(s);
	if (trace_f)
		fclose(trace_f);
	if (!strcmp(why, "hangup") || !strcmp(why, "terminated") || !strcmp(why, "interrupted"))
		rc = 0; /* a clean exit on request: the terminal is restored */
	return rc;
}
