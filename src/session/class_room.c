/* class_room.c - the teacher's and the follower's side of a classroom.
 *
 * The teacher hears of every command it runs (rs_session.on_command) and
 * sends the replay-safe ones to every follower; a follower that joins, asks
 * again (F) or fell too far behind gets a snapshot. A follower replays what
 * comes unless it went exploring on its own. Neither side ever waits on
 * the other: the screen or batch loop polls the descriptors.
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

/* ================================================================ teacher */
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
	if (t->snapshot && t->snap_version == t->s->version)
		return t->snapshot;
	free(t->snapshot);
	rs_err err = {{0}};
	t->snapshot = class_snapshot_build(t->s, t->seq, &err);
	t->snap_version = t->s->version;
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
				tlog(t, "%s answered '%s': %s", peer_label(c, who, sizeof who), rs_esc(m.text, 120),
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

void class_teacher_list(const class_teacher *t)
{
	rs_session *s = t->s;
	char st[160];
	class_teacher_status(t, st, sizeof st);
	session_printf(s, "%s (socket %s)\n", st, t->path);
	if (!t->names) {
		session_printf(s, "who answered what stays private (--names shows it)\n");
		return;
	}
	for (int i = 0; i < t->n_peer; i++) {
		const class_conn *c = t->peer[i];
		if (!c->said_hello)
			continue;
		session_printf(s, "  %-20s %s\n", c->name[0] ? c->name : "(no name)",
			       !t->key[0] ? "" : !c->answered ? "not answered" : c->right ? "right" : "not right");
	}
}

/* ================================================================ follower */
static void fire(class_follower *f, class_event ev)
{
	if (f->on_event)
		f->on_event(f->ctx, ev);
}

static void fnotice(class_follower *f, const char *fmt, ...) RS_PRINTF(2, 3);
static void fnotice(class_follower *f, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(f->notice, sizeof f->notice, fmt, ap);
	va_end(ap);
}

/* The text of an answer line: what follows "answer" (or "lesson answer"). */
static const char *answer_text(const char *line)
{
	const char *p = line + strspn(line, " \t");
	for (int words = !strncmp(p, "lesson", 6) ? 2 : 1; words > 0; words--) {
		p += strcspn(p, " \t");
		p += strspn(p, " \t");
	}
	return p;
}

/* The follower's own commands: an answer goes to the teacher; anything that
 * changes the state means the learner explores on their own. */
static void follower_on_command(void *ctx, const char *line, int quiet, int status)
{
	class_follower *f = ctx;
	if (f->replaying)
		return;
	const cmd_def *d = cmd_of_line(line);
	const char *p = line + strspn(line, " \t");
	int is_answer = d && (!strcmp(d->name, "answer") || (!strcmp(d->name, "lesson") && strstr(p, "answer")));
	if (status < 0) {
		char key[CLASS_KEY_MAX];
		int q = f->s->upper_question ? f->s->upper_question(f->s, -1, NULL, key, sizeof key) : -1;
		if (is_answer && q >= 0 && f->conn.fd >= 0) {
			char *msg = class_answer(key, q, answer_text(line));
			if (msg)
				class_conn_queue(&f->conn, msg);
			free(msg);
			class_conn_flush(&f->conn);
		}
		return;
	}
	if (!is_answer && !class_view_only(line) && !f->detached) {
		f->detached = 1;
		fnotice(f, "exploring on your own \xe2\x80\x94 F follows the teacher again");
	}
}

static int say_hello(class_follower *f)
{
	char *hello = class_hello_follower(f->name);
	int rc = class_conn_queue(&f->conn, hello);
	free(hello);
	return rc || class_conn_flush(&f->conn);
}

/* The teacher's hello: the model, loaded when it is another one. */
static int take_model(class_follower *f, const class_msg *m, rs_err *err)
{
	if (!m->has_model)
		return rs_fail(err, "the teacher's hello names no model");
	char *abs = NULL;
	uint64_t size, sum;
	if (class_model_id(m->model, &abs, &size, &sum, err))
		return rs_fail_prefix(err, "cannot read the teacher's model");
	int same_file = size == m->size && sum == m->sum;
	if (!same_file) {
		free(abs);
		return rs_fail(err, "%s is not the teacher's model (its size or header differs)", m->model);
	}
	if (f->s && f->s->model_path && !strcmp(f->s->model_path, abs)) {
		free(abs);
		return 0;
	}
	int rc = 0;
	if (!f->s) {
		f->s = session_create(abs, err);
		if (!f->s)
			rc = -1;
		else {
			f->s->restricted = 1;
			f->s->on_command = follower_on_command;
			f->s->on_command_ctx = f;
		}
	} else if (session_load(f->s, abs, err) < 0) {
		rc = -1;
	}
	free(abs);
	if (!rc)
		fire(f, CLASS_EV_MODEL);
	return rc;
}

typedef struct fread_ctx {
	class_follower *f;
	rs_err *err;
	int fatal;
} fread_ctx;

static int on_teacher_line(void *ctx, class_conn *c, const char *line, size_t n)
{
	fread_ctx *rc = ctx;
	class_follower *f = rc->f;
	class_msg m;
	if (class_parse(line, n, &m, rc->err))
		return -1;
	int rv = 0;
	switch (m.type) {
	case CLASS_HELLO:
		if (take_model(f, &m, rc->err))
			rv = -1, rc->fatal = 1;
		break;
	case CLASS_SNAPSHOT:
		if (!f->s) {
			rv = rs_fail(rc->err, "a snapshot before the teacher's hello");
			break;
		}
		if (f->detached)
			break;
		f->replaying = 1;
		rv = class_snapshot_apply(f->s, &m, rc->err);
		f->replaying = 0;
		f->seq = m.seq;
		if (!rv) {
			f->n_snapshots++;
			fire(f, CLASS_EV_SNAPSHOT);
		}
		break;
	case CLASS_COMMAND:
		if (!f->s) {
			rv = rs_fail(rc->err, "a command before the teacher's hello");
			break;
		}
		f->seq = m.seq;
		if (f->detached)
			break;
		if (!class_replay_safe(m.line)) {
			fnotice(f, "not replayed (not safe to replay): %.200s", m.line);
			break;
		}
		f->replaying = 1;
		memset(&f->ev_err, 0, sizeof f->ev_err);
		f->ev_line = m.line;
		f->ev_quiet = m.quiet;
		f->ev_view_before = f->s->view_stop;
		f->ev_status = m.quiet ? cmd_exec_quiet(f->s, m.line, &f->ev_err) : cmd_exec(f->s, m.line, &f->ev_err);
		f->replaying = 0;
		fire(f, CLASS_EV_COMMAND);
		f->ev_line = NULL;
		break;
	case CLASS_TALLY:
		if (m.key[0])
			snprintf(f->tally, sizeof f->tally, "%d of %d answered \xc2\xb7 %d right", m.answered, m.followers,
				 m.right);
		else
			f->tally[0] = 0;
		fire(f, CLASS_EV_TALLY);
		break;
	case CLASS_ANSWER:
		rv = rs_fail(rc->err, "the teacher sent an answer message");
		break;
	}
	class_msg_free(&m);
	return rv;
}

class_follower *class_follower_open(const char *path, const char *name, int timeout_ms, rs_err *err)
{
	int fd = class_connect(path, err);
	if (fd < 0)
		return NULL;
	class_follower *f = rs_xcalloc(1, sizeof *f);
	f->path = rs_xstrdup(path);
	f->conn.fd = fd;
	snprintf(f->name, sizeof f->name, "%s", name ? name : "");
	f->ever_connected = 1;
	if (say_hello(f)) {
		rs_fail(err, "cannot follow %s: the teacher does not take messages", path);
		class_follower_free(f);
		return NULL;
	}
	/* the teacher's hello (the model) comes first; then the state */
	double until = now_s() + timeout_ms / 1000.0;
	while (!f->s) {
		int left = (int)((until - now_s()) * 1000);
		struct pollfd p = {f->conn.fd, POLLIN, 0};
		if (left <= 0 || poll(&p, 1, left) < 0) {
			rs_fail(err, "cannot follow %s: the teacher did not answer", path);
			class_follower_free(f);
			return NULL;
		}
		fread_ctx rc = {f, err, 0};
		int r = class_conn_read(&f->conn, on_teacher_line, &rc, err);
		if (r || rc.fatal) {
			if (r > 0)
				rs_fail(err, "cannot follow %s: the teacher closed the connection", path);
			class_follower_free(f);
			return NULL;
		}
	}
	return f;
}

void class_follower_free(class_follower *f)
{
	if (!f)
		return;
	class_conn_close(&f->conn);
	if (f->s)
		session_free(f->s);
	free(f->path);
	free(f);
}

int class_follower_fd(const class_follower *f)
{
	return f->conn.fd;
}

int class_follower_wait_ms(const class_follower *f)
{
	if (f->conn.fd >= 0)
		return -1;
	int ms = (int)((f->retry_at - now_s()) * 1000);
	return ms < 0 ? 0 : ms;
}

static void lost(class_follower *f, const char *why)
{
	class_conn_close(&f->conn);
	f->retry_at = now_s() + 0.5;
	fnotice(f, "the teacher has left (%.120s); showing the last state until %.80s comes back", why, f->path);
	fire(f, CLASS_EV_LOST);
}

int class_follower_service(class_follower *f, rs_err *err)
{
	if (f->conn.fd < 0) {
		if (now_s() < f->retry_at)
			return 0;
		rs_err e2;
		int fd = class_connect(f->path, &e2);
		if (fd < 0) {
			f->retry_at = now_s() + 0.5;
			return 0;
		}
		f->conn.fd = fd;
		f->detached = 0;
		if (say_hello(f)) {
			lost(f, "it took no hello");
			return 0;
		}
		fnotice(f, "following the teacher again");
		fire(f, CLASS_EV_BACK);
	}
	fread_ctx rc = {f, err, 0};
	int r = class_conn_read(&f->conn, on_teacher_line, &rc, err);
	if (rc.fatal)
		return -1;
	if (r > 0)
		lost(f, "the connection closed");
	else if (r < 0) {
		char why[600];
		snprintf(why, sizeof why, "%s", err->msg);
		err->msg[0] = 0;
		lost(f, why);
	} else if (class_conn_flush(&f->conn)) {
		lost(f, "the connection broke");
	}
	return 0;
}

void class_follower_resync(class_follower *f)
{
	f->detached = 0;
	if (f->conn.fd >= 0 && !say_hello(f))
		fnotice(f, "following the teacher");
}
