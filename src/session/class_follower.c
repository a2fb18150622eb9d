/* class_follower.c - a follower's side of a classroom: the teacher's hello
 * loads the model it names (checked by size and header checksum), a
 * snapshot replaces the state, each command is replayed on the follower's
 * own engine unless it went exploring on its own (any command of its own
 * that changes state); its answers go to the teacher; when the teacher
 * leaves it keeps the last state and connects again when the socket is back.
 */
#include "config.h"
#include "class.h"
#include "commands.h"

#include <errno.h>
#ifdef __GLIBC__
#include <malloc.h>
#endif
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/socket.h>

static double now_s(void)
{
	struct timespec t;
	clock_gettime(CLOCK_MONOTONIC, &t);
	return (double)t.tv_sec + t.tv_nsec / 1e9;
}

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

/* The follower's own commands: an answer goes to the teacher; anything that
 * changes the state means the learner explores on their own. */
static void follower_on_command(void *ctx, const char *line, int quiet, int status)
{
	class_follower *f = ctx;
	if (f->replaying)
		return;
	const cmd_def *d = cmd_of_line(line);
	char *sub = d && !strcmp(d->name, "lesson") ? cmd_words_from(line, 1) : NULL;
	int is_answer = d && (!strcmp(d->name, "answer") || (sub && !strncmp(sub, "answer ", 7)));
	free(sub);
	if (status < 0) {
		char key[CLASS_KEY_MAX];
		int q = f->s->upper_question ? f->s->upper_question(f->s, -1, NULL, key, sizeof key) : -1;
		/* the words the lesson grades: after "answer" or "lesson answer" */
		char *text = is_answer ? cmd_words_from(line, strcmp(d->name, "lesson") ? 1 : 2) : NULL;
		if (text && q >= 0 && f->conn.fd >= 0) {
			char *msg = class_answer(key, q, text);
			if (msg)
				class_conn_queue(&f->conn, msg);
			free(msg);
			class_conn_flush(&f->conn);
		}
		free(text);
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
			f->s->lean_cache = 1;
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


/* Between commands a follower keeps its caches only: the engine's working
 * buffers go, and the heap they came from goes back to the system (thirty
 * followers multiply what each keeps). */
static void release_scratch(class_follower *f)
{
	eng_release_scratch(f->s->eng);
#ifdef __GLIBC__
	malloc_trim(0);
#endif
}

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
		release_scratch(f);
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
		release_scratch(f);
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
