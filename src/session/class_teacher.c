/* class_teacher.c - the teacher's side of a classroom: a listening socket,
 * its followers (each a connection with a bounded queue), the replay-safe
 * commands the teacher runs sent to all (rs_session.on_command), a snapshot
 * for each that joins, asks again (F) or fell too far behind, answers
 * graded by the teacher's own lesson runner and counted. Never waits: the
 * screen or batch loop polls the descriptors.
 */
#include "config.h"
#include "class.h"
#include "commands.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/socket.h>

#define STALL_S 60.0 /* a follower that takes nothing for this long is dropped */

static double now_s(void)
{
	struct timespec t;
	clock_gettime(CLOCK_MONOTONIC, &t);
	return (double)t.tv_sec + t.tv_nsec / 1e9;
}

typedef struct peer_ext {
	class_conn c;
	double stalled_since; /* 0: writing goes */
} peer_ext;

static void tlog(class_teacher *t, const char *fmt, ...) RS_PRINTF(2, 3);
static void tlog(class_teacher *t, const char *fmt, ...)
{
	char line[600];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(line, sizeof line, fmt, ap);
	va_end(ap);
	if (t->log)
		t->log(t->log_ctx, line);
	else
		fprintf(stderr, "residual: %s\n", line);
}

static const char *peer_label(const class_conn *c, char *buf, size_t n)
{
	snprintf(buf, n, "%s%s%s", c->name[0] ? "follower '" : "a follower", c->name[0] ? c->name : "",
		 c->name[0] ? "'" : "");
	return buf;
}

static void drop_peer(class_teacher *t, int i, const char *why)
{
	char who[96];
	if (why)
		tlog(t, "%s left: %s", peer_label(t->peer[i], who, sizeof who), why);
	class_conn_close(t->peer[i]);
	free(t->peer[i]);
	t->peer[i] = t->peer[--t->n_peer];
}

static const char *teacher_snapshot(class_teacher *t)
{
	/* made again after any command (seq) or change of the session (version) */
	if (t->snapshot && t->snap_version == t->s->version && t->snap_seq == t->seq)
		return t->snapshot;
	free(t->snapshot);
	rs_err err = {{0}};
	t->snapshot = class_snapshot_build(t->s, t->seq, &err);
	t->snap_version = t->s->version;
	t->snap_seq = t->seq;
	if (!t->snapshot)
		tlog(t, "%s", err.msg);
	return t->snapshot;
}

/* Queues line for one follower; past its bound, what waits is cut after the
 * message being written and a snapshot will replace the rest. */
static void send_peer(class_teacher *t, class_conn *c, const char *line)
{
	if (c->want_snapshot || !line)
		return;
	if (!class_conn_queue(c, line))
		return;
	char *nl = c->out_off < c->out.n ? memchr(c->out.p + c->out_off, '\n', c->out.n - c->out_off) : NULL;
	c->out.n = nl ? (size_t)(nl + 1 - c->out.p) : c->out_off;
	c->want_snapshot = 1;
	char who[96];
	tlog(t, "%s fell behind; it gets a snapshot when it catches up", peer_label(c, who, sizeof who));
}

static void broadcast(class_teacher *t, const char *line)
{
	for (int i = 0; line && i < t->n_peer; i++)
		if (t->peer[i]->said_hello)
			send_peer(t, t->peer[i], line);
}

static int n_answered(const class_teacher *t, int *right)
{
	int a = 0;
	*right = 0;
	for (int i = 0; i < t->n_peer; i++)
		if (t->peer[i]->said_hello && t->peer[i]->answered) {
			a++;
			*right += t->peer[i]->right;
		}
	return a;
}

static int n_following(const class_teacher *t)
{
	int n = 0;
	for (int i = 0; i < t->n_peer; i++)
		n += t->peer[i]->said_hello;
	return n;
}

static void send_tally(class_teacher *t, class_conn *only)
{
	int right, answered = n_answered(t, &right);
	char *line = class_tally(t->key, n_following(t), answered, right);
	if (only)
		send_peer(t, only, line);
	else
		broadcast(t, line);
	free(line);
}

static char *model_hello(class_teacher *t)
{
	char *abs = NULL;
	uint64_t size, sum;
	rs_err err = {{0}};
	if (class_model_id(t->s->model_path, &abs, &size, &sum, &err)) {
		tlog(t, "%s", err.msg);
		return NULL;
	}
	char *line = class_hello_teacher(abs, size, sum);
	free(abs);
	return line;
}

/* The question the step shown asks, and whether it changed (answers reset). */
static int question_changed(class_teacher *t)
{
	char key[CLASS_KEY_MAX] = "";
	if (!t->s->upper_question || t->s->upper_question(t->s, -1, NULL, key, sizeof key) < 0)
		key[0] = 0;
	if (!strcmp(key, t->key))
		return 0;
	snprintf(t->key, sizeof t->key, "%s", key);
	for (int i = 0; i < t->n_peer; i++)
		t->peer[i]->answered = t->peer[i]->right = 0;
	return 1;
}

static void teacher_on_command(void *ctx, const char *line, int quiet, int status)
{
	class_teacher *t = ctx;
	if (status < 0)
		return;
	char *src = t->model_src;
	if (!src || strcmp(src, t->s->model_path)) {
		/* `load`: every follower loads the new model, then takes the state */
		free(t->model_src);
		t->model_src = rs_xstrdup(t->s->model_path);
		free(t->model);
		t->model = model_hello(t);
		broadcast(t, t->model);
		t->seq++;
		broadcast(t, teacher_snapshot(t));
	} else if (class_replay_safe(line)) {
		char *msg = class_command(++t->seq, line, quiet);
		broadcast(t, msg);
		free(msg);
	}
	if (question_changed(t))
		send_tally(t, NULL);
}

class_teacher *class_teacher_open(rs_session *s, const char *path, int names, rs_err *err)
{
	int fd = class_listen(path, err);
	if (fd < 0)
		return NULL;
	class_teacher *t = rs_xcalloc(1, sizeof *t);
	t->s = s;
	t->path = rs_xstrdup(path);
	t->lfd = fd;
	t->names = names;
	t->model_src = rs_xstrdup(s->model_path);
	t->model = model_hello(t);
	if (!t->model) {
		rs_fail(err, "the model %s cannot be announced (see above)", s->model_path);
		class_teacher_free(t);
		return NULL;
	}
	s->on_command = teacher_on_command;
	s->on_command_ctx = t;
	question_changed(t);
	return t;
}

void class_teacher_free(class_teacher *t)
{
	if (!t)
		return;
	while (t->n_peer)
		drop_peer(t, t->n_peer - 1, NULL);
	if (t->lfd >= 0) {
		close(t->lfd);
		unlink(t->path); /* followers keep their state and wait for it to come back */
	}
	if (t->s && t->s->on_command_ctx == t)
		t->s->on_command = NULL, t->s->on_command_ctx = NULL;
	free(t->path);
	free(t->model);
	free(t->model_src);
	free(t->snapshot);
	free(t);
}

int class_teacher_fds(const class_teacher *t, struct pollfd *pfd, int max)
{
	int n = 0;
	if (n < max)
		pfd[n++] = (struct pollfd){.fd = t->lfd, .events = POLLIN};
	for (int i = 0; i < t->n_peer && n < max; i++)
		pfd[n++] = (struct pollfd){.fd = t->peer[i]->fd,
					   .events = (short)(POLLIN | (t->peer[i]->out_off < t->peer[i]->out.n ? POLLOUT : 0))};
	return n;
}

typedef struct read_ctx {
	class_teacher *t;
	int changed;
	char why[600];
} read_ctx;

/* One message from a follower: hello or answer; anything else ends it. */
static int on_peer_line(void *ctx, class_conn *c, const char *line, size_t n)
{
	read_ctx *rc = ctx;
	class_teacher *t = rc->t;
	class_msg m;
	rs_err err = {{0}};
	if (class_parse(line, n, &m, &err)) {
		snprintf(rc->why, sizeof rc->why, "%s", err.msg);
		return -1;
	}
	int bad = 0;
	if (m.type == CLASS_HELLO) {
		snprintf(c->name, sizeof c->name, "%s", m.name);
		if (!c->said_hello)
			rc->changed = 1;
		c->said_hello = 1;
		/* the model, then the state (a hello again: "send me the state") */
		c->want_snapshot = 0;
		send_peer(t, c, t->model);
		send_peer(t, c, teacher_snapshot(t));
		if (t->key[0])
			send_tally(t, NULL);
	} else if (m.type == CLASS_ANSWER) {
		if (c->said_hello && t->key[0] && !strcmp(m.key, t->key) && t->s->upper_question) {
			char key[CLASS_KEY_MAX];
			int right = t->s->upper_question(t->s, m.q, m.text, key, sizeof key) == 1;
			c->answered = 1;
			c->right = right;
			if (t->names) {
				char who[96];
				tlog(t, "%s answered '%s': %s", peer_label(c, who, sizeof who), rs_esc(m.text, -1),
				     right ? "right" : "not right");
			}
			send_tally(t, NULL);
			rc->changed = 1;
		}
	} else {
		snprintf(rc->why, sizeof rc->why, "a follower may not send a '%s' message",
			 m.type == CLASS_SNAPSHOT ? "snapshot" : m.type == CLASS_COMMAND ? "command" : "tally");
		bad = 1;
	}
	class_msg_free(&m);
	return bad ? -1 : 0;
}

int class_teacher_service(class_teacher *t)
{
	int changed = 0;
	for (int k = 0; k < 16; k++) { /* take those waiting, a few a call */
		int fd = accept4(t->lfd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
		if (fd < 0)
			break;
		if (t->n_peer == CLASS_FOLLOWERS_MAX) {
			close(fd);
			tlog(t, "a follower was turned away: %d are following", CLASS_FOLLOWERS_MAX);
			continue;
		}
		peer_ext *p = rs_xcalloc(1, sizeof *p);
		p->c.fd = fd;
		t->peer[t->n_peer++] = &p->c;
	}
	double now = now_s();
	for (int i = 0; i < t->n_peer; i++) {
		class_conn *c = t->peer[i];
		peer_ext *p = (peer_ext *)c;
		read_ctx rc = {t, 0, ""};
		rs_err err = {{0}};
		int r = class_conn_read(c, on_peer_line, &rc, &err);
		changed |= rc.changed;
		if (r) {
			drop_peer(t, i--, r > 0 ? "it closed the connection" : rc.why[0] ? rc.why : err.msg);
			changed = 1;
			if (t->key[0])
				send_tally(t, NULL);
			continue;
		}
		if (c->want_snapshot && c->out.n - c->out_off < CLASS_QUEUE_MAX / 2) {
			c->want_snapshot = 0;
			send_peer(t, c, teacher_snapshot(t));
		}
		size_t before = c->out_off;
		int pending = c->out_off < c->out.n;
		if (class_conn_flush(c)) {
			drop_peer(t, i--, "the connection broke");
			changed = 1;
			continue;
		}
		if (pending && c->out_off == before && c->out_off < c->out.n) {
			if (!p->stalled_since)
				p->stalled_since = now;
			else if (now - p->stalled_since > STALL_S) {
				drop_peer(t, i--, "it took nothing for a minute");
				changed = 1;
			}
		} else {
			p->stalled_since = 0;
		}
	}
	return changed;
}

void class_teacher_status(const class_teacher *t, char *buf, size_t n)
{
	int right, answered = n_answered(t, &right), f = n_following(t);
	int o = snprintf(buf, n, "presenting \xc2\xb7 %d following", f);
	if (t->key[0] && o >= 0 && (size_t)o < n)
		snprintf(buf + o, n - (size_t)o, " \xc2\xb7 %d of %d answered \xc2\xb7 %d right", answered, f, right);
}
