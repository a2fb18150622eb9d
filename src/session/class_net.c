/* class_net.c - the classroom's connections: a non-blocking Unix-domain
 * socket with a bounded line reader and a bounded write queue, and opening
 * the teacher's listening socket and a follower's connection. Nothing here
 * ever waits: the owner polls the descriptors. */
#include "config.h"
#include "class.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

int class_conn_queue(class_conn *c, const char *line)
{
	size_t n = strlen(line);
	if (c->out.n - c->out_off + n > CLASS_QUEUE_MAX)
		return -1;
	if (c->out_off && c->out_off == c->out.n) {
		c->out.n = c->out_off = 0; /* all written: start the buffer over */
		if (c->out.p)
			c->out.p[0] = 0;
	}
	strbuf_add(&c->out, line, n);
	return 0;
}

int class_conn_flush(class_conn *c)
{
	while (c->fd >= 0 && c->out_off < c->out.n) {
		/* MSG_NOSIGNAL: a follower gone is a return value, not SIGPIPE */
		ssize_t w = send(c->fd, c->out.p + c->out_off, c->out.n - c->out_off, MSG_NOSIGNAL | MSG_DONTWAIT);
		if (w < 0 && errno == EINTR)
			continue;
		if (w < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
			return 0;
		if (w <= 0)
			return -1;
		c->out_off += (size_t)w;
	}
	if (c->out_off == c->out.n && c->out_off > (1u << 16)) {
		c->out.n = c->out_off = 0;
		c->out.p[0] = 0;
	}
	return 0;
}

int class_conn_read(class_conn *c, int (*fn)(void *ctx, class_conn *c, const char *line, size_t n), void *ctx,
		    rs_err *err)
{
	for (;;) {
		if (c->in_cap - c->in_len < 65536) {
			/* grows with what was sent, never past one message and a read */
			size_t cap = c->in_cap ? c->in_cap * 2 : 65536;
			if (cap > CLASS_MSG_MAX + 65536 + 1)
				cap = CLASS_MSG_MAX + 65536 + 1;
			if (cap > c->in_cap) {
				c->in = rs_xrealloc(c->in, cap);
				c->in_cap = cap;
			}
		}
		ssize_t r = recv(c->fd, c->in + c->in_len, c->in_cap - c->in_len, MSG_DONTWAIT);
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
			return 0;
		if (r < 0)
			return rs_fail(err, "the connection broke: %s", strerror(errno));
		if (r == 0) {
			if (c->in_len)
				return rs_fail(err, "the connection closed in the middle of a message (%zu bytes)", c->in_len);
			return 1;
		}
		size_t scan = c->in_len;
		c->in_len += (size_t)r;
		size_t start = 0;
		for (size_t i = scan; i < c->in_len; i++) {
			if (c->in[i] != '\n')
				continue;
			if (i - start > CLASS_MSG_MAX)
				return rs_fail(err, "a message of %zu bytes (at most %u)", i - start, CLASS_MSG_MAX);
			if (fn(ctx, c, c->in + start, i - start))
				return -1;
			if (c->fd < 0)
				return 1; /* fn closed it */
			start = i + 1;
		}
		memmove(c->in, c->in + start, c->in_len - start);
		c->in_len -= start;
		if (c->in_len > CLASS_MSG_MAX)
			return rs_fail(err, "a message of more than %u bytes", CLASS_MSG_MAX);
	}
}

void class_conn_close(class_conn *c)
{
	if (c->fd >= 0)
		close(c->fd);
	c->fd = -1;
	free(c->in);
	c->in = NULL;
	c->in_len = c->in_cap = 0;
	strbuf_free(&c->out);
	c->out_off = 0;
}

/* ---------------------------------------------------------------- sockets */
static int fill_addr(struct sockaddr_un *a, const char *path, rs_err *err)
{
	memset(a, 0, sizeof *a);
	a->sun_family = AF_UNIX;
	if (strlen(path) >= sizeof a->sun_path)
		return rs_fail(err, "%s: the socket's path is too long (at most %zu bytes)", path, sizeof a->sun_path - 1);
	memcpy(a->sun_path, path, strlen(path) + 1);
	return 0;
}

int class_connect(const char *path, rs_err *err)
{
	struct sockaddr_un a;
	if (fill_addr(&a, path, err))
		return -1;
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return rs_fail(err, "socket: %s", strerror(errno));
	if (connect(fd, (struct sockaddr *)&a, sizeof a)) {
		int e = errno;
		close(fd);
		errno = e;
		return rs_fail(err, "cannot follow %s: %s", path,
			       e == ECONNREFUSED ? "nobody is presenting there (a stale socket)" : strerror(e));
	}
	fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK);
	return fd;
}

int class_listen(const char *path, rs_err *err)
{
	struct sockaddr_un a;
	if (fill_addr(&a, path, err))
		return -1;
	struct stat st;
	if (lstat(path, &st) == 0) {
		if (!S_ISSOCK(st.st_mode))
			return rs_fail(err, "%s exists and is not a socket; residual will not replace it", path);
		rs_err e2;
		int probe = class_connect(path, &e2);
		if (probe >= 0) {
			close(probe);
			return rs_fail(err, "%s: another teacher is presenting there", path);
		}
		if (errno != ECONNREFUSED)
			return rs_fail(err, "%s: %s", path, strerror(errno));
		if (unlink(path)) /* a stale socket, left by a teacher that is gone */
			return rs_fail(err, "%s: cannot replace the stale socket: %s", path, strerror(errno));
	}
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return rs_fail(err, "socket: %s", strerror(errno));
	/* created 0660 at once: the directory's group decides who may follow */
	mode_t old = umask(0117);
	int rc = bind(fd, (struct sockaddr *)&a, sizeof a);
	int e = errno;
	umask(old);
	if (rc || chmod(path, 0660) || listen(fd, 64)) {
		e = rc ? e : errno;
		close(fd);
		if (!rc)
			unlink(path);
		return rs_fail(err, "%s: %s", path, strerror(e));
	}
	return fd;
}
