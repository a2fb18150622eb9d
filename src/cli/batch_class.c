/* batch_class.c - classroom mode without a screen: `residual --batch
 * --follow SOCKET` prints what each mirrored command prints (for scripts,
 * tests and a class on terminals without curses), and `residual --batch
 * FILE --present SOCKET` presents the commands of FILE as they come. */
#include "config.h"
#include "cli.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "class.h"
#include "commands.h"
#include "lesson.h"

#define LINE_MAX_BYTES (1u << 20)

static volatile sig_atomic_t stop_sig;
static void on_signal(int sig) { stop_sig = sig; }

static void catch_signals(void)
{
	struct sigaction sa;
	memset(&sa, 0, sizeof sa);
	sa.sa_handler = on_signal;
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGHUP, &sa, NULL);
	signal(SIGPIPE, SIG_IGN);
}

static void print_output(rs_session *s)
{
	if (s->output_len) {
		fputs(s->output, stdout);
		if (s->output[s->output_len - 1] != '\n')
			putchar('\n');
	}
}

/* Lines typed (or piped) into a batch teacher or follower, read as they come. */
typedef struct line_in {
	int fd;                 /* -1 at end of file */
	char *buf;
	size_t len, cap;
	int lineno;
} line_in;

/* Reads what is there; calls fn for each whole line. A line past
 * LINE_MAX_BYTES is dropped with a message. Returns 1 at end of file. */
static int read_lines(line_in *in, void (*fn)(void *ctx, char *line, int lineno), void *ctx)
{
	if (in->cap - in->len < 4096)
		in->buf = rs_xrealloc(in->buf, in->cap = in->cap ? in->cap * 2 : 8192);
	ssize_t r = read(in->fd, in->buf + in->len, in->cap - in->len - 1);
	if (r < 0 && (errno == EINTR || errno == EAGAIN))
		return 0;
	int eof = r <= 0;
	if (r > 0)
		in->len += (size_t)r;
	if (eof && in->len && in->buf[in->len - 1] != '\n')
		in->buf[in->len++] = '\n';
	size_t start = 0;
	for (size_t i = 0; i < in->len; i++) {
		if (in->buf[i] != '\n')
			continue;
		in->buf[i] = 0;
		in->lineno++;
		if (i > start && in->buf[i - 1] == '\r')
			in->buf[i - 1] = 0;
		fn(ctx, in->buf + start, in->lineno);
		start = i + 1;
	}
	memmove(in->buf, in->buf + start, in->len - start);
	in->len -= start;
	if (in->len > LINE_MAX_BYTES) {
		fprintf(stderr, "error: line %d is too long (at most %u bytes); skipped\n", in->lineno + 1,
			LINE_MAX_BYTES);
		in->len = 0;
	}
	return eof;
}

/* ---------------------------------------------------------------- follower */
typedef struct bfollow {
	class_follower *f;
	int echo, failed;
} bfollow;

static void follow_event(void *ctx, class_event ev)
{
	bfollow *b = ctx;
	class_follower *f = b->f;
	switch (ev) {
	case CLASS_EV_COMMAND:
		printf("> %s\n", f->ev_line);
		if (!f->ev_quiet)
			print_output(f->s);
		if (f->ev_status == CMD_ERROR) {
			fflush(stdout);
			fprintf(stderr, "error: %s\n", f->ev_err.msg);
		}
		break;
	case CLASS_EV_MODEL:
		printf("# model %s\n", f->s->model_path);
		break;
	case CLASS_EV_SNAPSHOT: {
		char hn[96] = "before the pass";
		if (f->s->view_stop >= 0)
			hook_name(session_hook(f->s), hn, sizeof hn);
		printf("# snapshot %llu: %d tokens, at %s, layer %d head %d pos %d, %d interventions\n",
		       (unsigned long long)f->seq, f->s->n_ids, hn, f->s->sel_layer, f->s->sel_head, f->s->sel_pos,
		       eng_n_interventions(f->s->eng));
		break;
	}
	case CLASS_EV_TALLY:
		printf("# tally %s\n", f->tally[0] ? f->tally : "(no question)");
		break;
	case CLASS_EV_LOST:
	case CLASS_EV_BACK:
		printf("# %s\n", f->notice);
		break;
	default:
		break;
	}
	fflush(stdout);
}

/* A line of the follower's own: run in its session (an answer goes to the teacher). */
static void follow_line(void *ctx, char *line, int lineno)
{
	bfollow *b = ctx;
	if (b->echo && line[strspn(line, " \t")] && line[strspn(line, " \t")] != '#')
		printf("$ %s\n", line);
	rs_err err = {{0}};
	cmd_status st = cmd_exec(b->f->s, line, &err);
	print_output(b->f->s);
	if (st == CMD_ERROR) {
		b->failed = 1;
		fflush(stdout);
		fprintf(stderr, "error: line %d: %s\n", lineno, err.msg);
	}
	fflush(stdout);
}

int cli_batch_follow(const char *sock, const char *file, int echo)
{
	catch_signals();
	rs_err err = {{0}};
	const char *user = getenv("USER");
	bfollow b = {0};
	b.echo = echo;
	b.f = class_follower_open(sock, user ? user : "", 10000, &err);
	if (!b.f) {
		fprintf(stderr, "residual: %s\n", err.msg);
		return 2;
	}
	lesson_startup(b.f->s, "none", &err); /* the lesson commands, no lesson of its own */
	b.f->on_event = follow_event;
	b.f->ctx = &b;
	printf("# following %s (model %s)\n", sock, b.f->s->model_path);
	if (b.f->n_snapshots) /* it came with the hello */
		follow_event(&b, CLASS_EV_SNAPSHOT);
	fflush(stdout);
	line_in in = {.fd = strcmp(file, "-") ? -2 : STDIN_FILENO};
	if (in.fd == -2 && (in.fd = open(file, 0)) < 0) {
		fprintf(stderr, "residual: %s: %s\n", file, strerror(errno));
		class_follower_free(b.f);
		return 2;
	}
	int rc = 0;
	while (!stop_sig) {
		struct pollfd p[2];
		int n = 0, timeout = 1000;
		int fd = class_follower_fd(b.f);
		if (fd >= 0)
			p[n++] = (struct pollfd){.fd = fd, .events = POLLIN};
		else
			timeout = class_follower_wait_ms(b.f);
		int in_at = in.fd >= 0 ? n : -1;
		if (in.fd >= 0)
			p[n++] = (struct pollfd){.fd = in.fd, .events = POLLIN};
		if (poll(p, (nfds_t)n, timeout) < 0 && errno != EINTR)
			break;
		if (class_follower_service(b.f, &err)) {
			fprintf(stderr, "residual: %s\n", err.msg);
			rc = 2;
			break;
		}
		if (in_at >= 0 && p[in_at].revents && read_lines(&in, follow_line, &b)) {
			if (in.fd != STDIN_FILENO)
				close(in.fd);
			in.fd = -1; /* its own lines are done; it goes on following */
		}
	}
	free(in.buf);
	class_follower_free(b.f);
	return rc ? rc : b.failed;
}

/* ---------------------------------------------------------------- teacher */
typedef struct bteach {
	rs_session *s;
	int echo, failed, quit;
} bteach;

static void teach_line(void *ctx, char *line, int lineno)
{
	bteach *b = ctx;
	if (b->quit)
		return;
	if (b->echo && line[strspn(line, " \t")] && line[strspn(line, " \t")] != '#')
		printf("> %s\n", line);
	rs_err err = {{0}};
	cmd_status st = cmd_exec(b->s, line, &err);
	print_output(b->s);
	if (st == CMD_ERROR) {
		b->failed = 1;
		fflush(stdout);
		fprintf(stderr, "error: line %d: %s\n", lineno, err.msg);
	}
	if (st == CMD_QUIT)
		b->quit = 1;
	fflush(stdout);
}

int cli_batch_present(rs_session *s, const char *sock, const char *file, int echo, int names)
{
	catch_signals();
	rs_err err = {{0}};
	class_teacher *t = class_teacher_open(s, sock, names, &err);
	if (!t) {
		fprintf(stderr, "residual: %s\n", err.msg);
		return 2;
	}
	bteach b = {s, echo, 0, 0};
	line_in in = {.fd = strcmp(file, "-") ? -2 : STDIN_FILENO};
	if (in.fd == -2 && (in.fd = open(file, 0)) < 0) {
		fprintf(stderr, "residual: %s: %s\n", file, strerror(errno));
		class_teacher_free(t);
		return 2;
	}
	char last[200] = "";
	while (!stop_sig && !b.quit) {
		struct pollfd p[CLASS_FOLLOWERS_MAX + 2];
		int n = class_teacher_fds(t, p, CLASS_FOLLOWERS_MAX + 1);
		int in_at = in.fd >= 0 ? n : -1;
		if (in.fd >= 0)
			p[n++] = (struct pollfd){.fd = in.fd, .events = POLLIN};
		if (in.fd < 0)
			break;
		if (poll(p, (nfds_t)n, 1000) < 0 && errno != EINTR)
			break;
		class_teacher_service(t);
		char st[200];
		class_teacher_status(t, st, sizeof st);
		if (strcmp(st, last)) { /* the class on standard error, as it changes */
			fprintf(stderr, "# %s\n", st);
			snprintf(last, sizeof last, "%s", st);
		}
		if (in_at >= 0 && p[in_at].revents && read_lines(&in, teach_line, &b)) {
			if (in.fd != STDIN_FILENO)
				close(in.fd);
			in.fd = -1;
		}
	}
	/* the input is done: what is queued still goes out (a few seconds at most) */
	for (int k = 0; k < 100 && !stop_sig; k++) {
		class_teacher_service(t);
		int pending = 0;
		for (int i = 0; i < t->n_peer; i++)
			pending |= t->peer[i]->out_off < t->peer[i]->out.n;
		if (!pending)
			break;
		poll(NULL, 0, 30);
	}
	free(in.buf);
	class_teacher_free(t);
	return b.failed;
}
