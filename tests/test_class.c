/* test_class.c - classroom mode without a terminal: the protocol's parser
 * and its refusals, a teacher and followers in one process over a real
 * Unix-domain socket, each follower's numbers compared bit for bit with the
 * teacher's, snapshots for late joiners and for F, answers and tallies, and
 * the faults (a wrong version, a truncated message, a 10 MB line, a
 * follower that never reads, a teacher that leaves and comes back). */
#include "config.h"

#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "class.h"
#include "commands_model.h"
#include "commands.h"
#include "lesson.h"
#include "tap.h"

static char dir[256], sock[300];
static char last_log[600];
static int fell_behind;

static void keep_log(void *ctx, const char *line)
{
	(void)ctx;
	snprintf(last_log, sizeof last_log, "%s", line);
	fell_behind += strstr(line, "'sleepy' fell behind") != NULL;
}

static double now_s(void)
{
	struct timespec t;
	clock_gettime(CLOCK_MONOTONIC, &t);
	return (double)t.tv_sec + t.tv_nsec / 1e9;
}

/* ------------------------------------------------------------ helpers */
/* Services the teacher and followers until each follower has the teacher's
 * sequence number and nothing waits to be written (or seconds pass). */
static int pump(class_teacher *t, class_follower **f, int nf, double seconds)
{
	double until = now_s() + seconds;
	while (now_s() < until) {
		class_teacher_service(t);
		int done = 1;
		for (int i = 0; i < nf; i++) {
			rs_err err = {{0}};
			class_follower_service(f[i], &err);
			done &= f[i]->seq == t->seq && !f[i]->detached && f[i]->conn.fd >= 0;
		}
		if (done) {
			/* once more: what was just written is read */
			for (int i = 0; i < nf; i++) {
				rs_err err = {{0}};
				class_follower_service(f[i], &err);
			}
			return 1;
		}
		poll(NULL, 0, 2);
	}
	return 0;
}

/* Whether b shows what a shows: the stops, selection and settings, the
 * output, and every tensor up to the stop shown, bit for bit: a's from its
 * cache, b's as its views get them (a follower keeps the residual stream and
 * recomputes the rest from it when shown: session_view_act). */
static int same_state(const rs_session *a, const rs_session *b, char *why, size_t n)
{
	snprintf(why, n, "same");
	if (a->n_ids != b->n_ids || memcmp(a->ids, b->ids, sizeof(int32_t) * (size_t)a->n_ids))
		return snprintf(why, n, "the tokens differ"), 0;
	if (a->view_stop != b->view_stop || eng_stop(a->eng) != eng_stop(b->eng))
		return snprintf(why, n, "stops %d/%d vs %d/%d", a->view_stop, eng_stop(a->eng), b->view_stop,
				eng_stop(b->eng)), 0;
	if (a->sel_layer != b->sel_layer || a->sel_head != b->sel_head || a->sel_pos != b->sel_pos ||
	    a->gran != b->gran || a->panes != b->panes || a->vec_full != b->vec_full || a->topk != b->topk)
		return snprintf(why, n, "the selection or settings differ"), 0;
	if (eng_n_interventions(a->eng) != eng_n_interventions(b->eng))
		return snprintf(why, n, "%d vs %d interventions", eng_n_interventions(a->eng),
				eng_n_interventions(b->eng)), 0;
	int L = a->model->cfg.n_layers;
	for (int st = 0; st <= a->view_stop; st++) {
		rs_hook h = hook_at(st, L);
		const rs_act *x = session_act(a, h), *y = session_view_act(b, h);
		if (!x != !y)
			return snprintf(why, n, "stop %d cached on one side only (%s)", st, x ? "the first" : "the second"), 0;
		if (x && (x->numel != y->numel || memcmp(x->data, y->data, sizeof(float) * (size_t)x->numel)))
			return snprintf(why, n, "stop %d's tensor differs", st), 0;
	}
	return 1;
}

static int raw_connect(void)
{
	rs_err err;
	return class_connect(sock, &err);
}

/* Writes all of buf to a non-blocking socket, servicing the teacher while
 * it is full; returns the bytes written before the teacher closed it. */
static size_t raw_send(class_teacher *t, int fd, const char *buf, size_t n)
{
	size_t o = 0;
	double until = now_s() + 20;
	while (o < n && now_s() < until) {
		ssize_t w = send(fd, buf + o, n - o, MSG_NOSIGNAL | MSG_DONTWAIT);
		if (w > 0)
			o += (size_t)w;
		else if (w < 0 && errno != EAGAIN && errno != EWOULDBLOCK)
			break;
		class_teacher_service(t);
	}
	return o;
}

/* Services the teacher until it has n_peer peers (or a second passes). */
static void settle_peers(class_teacher *t, int n_peer)
{
	double until = now_s() + 2;
	while (now_s() < until) {
		class_teacher_service(t);
		if (t->n_peer == n_peer)
			return;
		poll(NULL, 0, 2);
	}
}

/* The follower's open waits for the teacher's hello: the teacher is
 * serviced meanwhile by a thread (the teacher's session is only read). */
typedef struct opener {
	class_teacher *t;
	volatile int done;
} opener;

static void *serve(void *p)
{
	opener *o = p;
	while (!o->done) {
		class_teacher_service(o->t);
		poll(NULL, 0, 1);
	}
	return NULL;
}

static class_follower *join(class_teacher *t, const char *name, rs_err *err)
{
	opener o = {t, 0};
	pthread_t th;
	pthread_create(&th, NULL, serve, &o);
	class_follower *f = class_follower_open(sock, name, 5000, err);
	o.done = 1;
	pthread_join(th, NULL);
	if (f)
		lesson_startup(f->s, "none", err);
	return f;
}

static int ok_cmd(rs_session *s, const char *line)
{
	rs_err err = {{0}};
	cmd_status st = cmd_exec(s, line, &err);
	if (st != CMD_OK)
		tap_diag("%s: %s", line, err.msg);
	return st == CMD_OK;
}

/* ------------------------------------------------------------ the parser */
static void test_parser(void)
{
	class_msg m;
	rs_err err = {{0}};
	char *line = class_command(7, "layer 1", 1);
	tap_ok(line && !class_parse(line, strlen(line) - 1, &m, &err) && m.type == CLASS_COMMAND && m.seq == 7 &&
		       !strcmp(m.line, "layer 1") && m.quiet,
	       "a command message round-trips");
	class_msg_free(&m);
	free(line);
	line = class_hello_teacher("/srv/m.gguf", 1234, 0xfeedfacecafebeefull);
	tap_ok(line && !class_parse(line, strlen(line) - 1, &m, &err) && m.type == CLASS_HELLO && m.has_model &&
		       m.size == 1234 && m.sum == 0xfeedfacecafebeefull && !strcmp(m.model, "/srv/m.gguf"),
	       "the teacher's hello round-trips (size and checksum)");
	class_msg_free(&m);
	free(line);
	line = class_tally("01#1", 20, 14, 9);
	tap_ok(line && !class_parse(line, strlen(line) - 1, &m, &err) && m.followers == 20 && m.answered == 14 &&
		       m.right == 9,
	       "a tally round-trips");
	class_msg_free(&m);
	free(line);

	const char *v2 = "{\"v\":2,\"type\":\"hello\",\"name\":\"x\"}";
	tap_ok(class_parse(v2, strlen(v2), &m, &err) && strstr(err.msg, "version 2") && strstr(err.msg, "version 1"),
	       "a wrong version is refused: %s", err.msg);
	const char *cut = "{\"v\":1,\"type\":\"command\",\"seq\":3,\"line\":\"ste";
	tap_ok(class_parse(cut, strlen(cut), &m, &err) && strstr(err.msg, "not JSON"), "a truncated message: %s",
	       err.msg);
	const char *bad[] = {
		"[1,2]", "{\"v\":1}", "{\"v\":1,\"type\":\"shout\"}", "{\"v\":1,\"type\":\"command\",\"seq\":-1,\"line\":\"x\"}",
		"{\"v\":1,\"type\":\"command\",\"seq\":1,\"line\":5}", "{\"v\":1.5,\"type\":\"hello\"}",
		"{\"v\":1,\"type\":\"tally\",\"key\":\"k\",\"followers\":2,\"answered\":3,\"right\":0}",
		"{\"v\":1,\"type\":\"hello\",\"model\":\"/m\",\"size\":1,\"sum\":\"xyz\"}",
		"{\"v\":1,\"type\":\"answer\",\"key\":\"k\",\"q\":99,\"text\":\"6\"}",
	};
	int refused = 0;
	for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
		int r = class_parse(bad[i], strlen(bad[i]), &m, &err);
		refused += r != 0 && err.msg[0];
		if (!r) {
			tap_diag("accepted: %s", bad[i]);
			class_msg_free(&m);
		}
	}
	tap_ok(refused == (int)(sizeof bad / sizeof *bad), "%d ill-formed messages refused with a reason", refused);
	size_t big = 10u << 20;
	char *huge = malloc(big);
	memset(huge, 'a', big);
	tap_ok(class_parse(huge, big, &m, &err) && strstr(err.msg, "at most"), "a 10 MB message: %s", err.msg);
	free(huge);
	tap_ok(class_replay_safe("layer 2") && class_replay_safe("ablate 0 1") && !class_replay_safe("load /etc/x") &&
		       !class_replay_safe("export a.json") && !class_replay_safe("quit") && !class_replay_safe("q"),
	       "replay-safe commands: the registry's CMD_REPLAY (not load, export, quit)");
}

/* A teacher that announces a model it names (in a child process); what
 * the follower says. */
static void fake_teacher(const char *model, uint64_t size, uint64_t sum, char *msg, size_t n)
{
	char path[320];
	snprintf(path, sizeof path, "%s/fake", dir);
	rs_err err = {{0}};
	int lfd = class_listen(path, &err);
	pid_t pid = fork();
	if (pid == 0) {
		struct pollfd p = {lfd, POLLIN, 0};
		poll(&p, 1, 5000);
		int fd = accept(lfd, NULL, NULL);
		char *hello = class_hello_teacher(model, size, sum);
		if (fd >= 0 && write(fd, hello, strlen(hello)) > 0)
			poll(NULL, 0, 2000);
		_exit(0);
	}
	close(lfd);
	class_follower *f = class_follower_open(path, "x", 5000, &err);
	snprintf(msg, n, "%s", f ? "followed" : err.msg);
	class_follower_free(f);
	kill(pid, SIGTERM);
	waitpid(pid, NULL, 0);
	unlink(path);
}

/* ------------------------------------------------------------ a class */
int main(void)
{
	snprintf(dir, sizeof dir, "%s/rs-class.XXXXXX", getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp");
	if (!mkdtemp(dir)) {
		perror("mkdtemp");
		return 1;
	}
	setenv("XDG_STATE_HOME", dir, 1); /* lesson progress goes here, not to the user's */
	snprintf(sock, sizeof sock, "%s/room", dir);
	cmd_extend(lesson_cmds, lesson_command);
	if (!session_default_model()) {
		tap_skip_all("the built-in model is not installed");
		return 0;
	}
	test_parser();

	rs_err err = {{0}};
	rs_session *T = session_create(NULL, &err);
	lesson_startup(T, "none", &err);
	class_teacher *t = class_teacher_open(T, sock, 0, &err);
	tap_ok(t != NULL, "the teacher listens: %s", t ? sock : err.msg);
	if (!t)
		return tap_done_plan();
	t->log = keep_log;
	struct stat st;
	int sr = stat(sock, &st);
	tap_ok(!sr && S_ISSOCK(st.st_mode) && (st.st_mode & 0777) == 0660, "the socket is mode 0660 (%o)",
	       (unsigned)(st.st_mode & 0777));
	rs_err e2 = {{0}};
	tap_ok(!class_teacher_open(T, sock, 0, &e2) && strstr(e2.msg, "another teacher"),
	       "a second teacher on the same socket is refused: %s", e2.msg);
	char plain[320];
	snprintf(plain, sizeof plain, "%s/notes.txt", dir);
	FILE *pf = fopen(plain, "w");
	fputs("keep me\n", pf);
	fclose(pf);
	tap_ok(!class_teacher_open(T, plain, 0, &e2) && strstr(e2.msg, "not a socket") && !stat(plain, &st) &&
		       st.st_size == 8,
	       "a path that is not a socket is left alone: %s", e2.msg);

	class_follower *f[2];
	f[0] = join(t, "ana", &err);
	/* the hello names the model by its absolute path (the teacher's may be
	 * relative, as in a VPATH build) */
	char *want = realpath(T->model_path, NULL);
	int same_model = f[0] && f[0]->s && want && !strcmp(f[0]->s->model_path, want);
	free(want);
	tap_ok(same_model && f[0]->s->restricted,
	       "a follower loads the announced model, restricted: %s", f[0] ? f[0]->s->model_path : err.msg);
	if (!f[0])
		return tap_done_plan();
	char why[160];
	ok_cmd(T, "prompt 'When Mary and John went to the store, John gave a drink to'");
	ok_cmd(T, "run all");
	ok_cmd(T, "layer 1");
	cmd_exec_quiet(T, "head 2", &err); /* as a key runs it */
	tap_ok(pump(t, f, 1, 5) && same_state(T, f[0]->s, why, sizeof why), "prompt, run, layer, head: mirrored bit for bit (%s)",
	       why);
	ok_cmd(T, "lens");
	pump(t, f, 1, 5);
	tap_ok(f[0]->s->output && T->output && !strcmp(f[0]->s->output, T->output),
	       "a command's output is the follower's own, equal to the teacher's");
	ok_cmd(T, "ablate 0 1");
	ok_cmd(T, "patch resid_pre 3 from 'When Mary and John went to the store, Mary gave a drink to'");
	tap_ok(pump(t, f, 1, 5) && same_state(T, f[0]->s, why, sizeof why), "interventions replayed: %s", why);

	/* a late joiner: a snapshot, the patch's values included */
	f[1] = join(t, "ben", &err);
	tap_ok(f[1] && f[1]->n_snapshots == 1 && pump(t, f, 2, 5) && same_state(T, f[1]->s, why, sizeof why),
	       "a late joiner gets a snapshot and shows the same numbers: %s", why);
	tap_ok(f[1] && !strcmp(f[1]->s->output, T->output), "the snapshot carries the last output");
	char status[200];
	class_teacher_status(t, status, sizeof status);
	tap_ok(!strcmp(status, "presenting \xc2\xb7 2 following"), "status: %s", status);

	/* exploring alone, then F */
	rs_session *B = f[1]->s;
	cmd_exec_quiet(B, "back 5", &err);
	tap_ok(f[1]->detached && strstr(f[1]->notice, "F follows the teacher again"), "a key that changes state detaches: %s",
	       f[1]->notice);
	ok_cmd(B, "help");
	int b_layer = B->sel_layer;
	ok_cmd(T, b_layer ? "layer 0" : "layer 1");
	pump(t, f, 1, 5);
	for (int i = 0; i < 20; i++) {
		class_teacher_service(t);
		class_follower_service(f[1], &err);
		poll(NULL, 0, 2);
	}
	tap_ok(f[1]->seq == t->seq && B->sel_layer == b_layer && T->sel_layer != b_layer,
	       "a detached follower hears the teacher but is left alone");
	class_follower_resync(f[1]);
	tap_ok(pump(t, f, 2, 5) && same_state(T, B, why, sizeof why), "F: the teacher's state again (%s)", why);
	rs_session *A = f[0]->s;
	ok_cmd(A, "where");
	tap_ok(!f[0]->detached, "a command that only shows (where) does not detach");

	/* answers and the tally */
	ok_cmd(T, "lesson 1");
	ok_cmd(T, "lesson step 1");
	tap_ok(pump(t, f, 2, 5) && t->key[0], "the teacher's step asks a question (%s)", t->key);
	ok_cmd(T, "lesson reveal");
	char right[64] = "";
	sscanf(T->output, "Answer: %63s", right);
	ok_cmd(A, "answer 999");
	char ans[80];
	snprintf(ans, sizeof ans, "answer '%s'", right); /* quoted: graded as the lesson reads it */
	ok_cmd(B, ans);
	pump(t, f, 2, 5);
	for (int i = 0; i < 20; i++) { /* the tally comes after the last command */
		class_teacher_service(t);
		class_follower_service(f[0], &err);
		poll(NULL, 0, 2);
	}
	class_teacher_status(t, status, sizeof status);
	tap_ok(!strcmp(status, "presenting \xc2\xb7 2 following \xc2\xb7 2 of 2 answered \xc2\xb7 1 right"),
	       "the teacher sees counts: %s", status);
	tap_ok(!strstr(last_log, "ana") && !strstr(last_log, "ben"), "no names without --names");
	tap_ok(!strcmp(f[0]->tally, "2 of 2 answered \xc2\xb7 1 right"), "followers see the tally: %s", f[0]->tally);
	tap_ok(!f[0]->detached && !f[1]->detached, "answering does not detach");
	t->names = 1;
	snprintf(ans, sizeof ans, "lesson answer %s", right);
	ok_cmd(A, ans);
	pump(t, f, 2, 5);
	for (int i = 0; i < 20; i++) {
		class_teacher_service(t);
		poll(NULL, 0, 2);
	}
	class_teacher_status(t, status, sizeof status);
	tap_ok(strstr(last_log, "'ana' answered") && strstr(last_log, ": right") &&
		       strstr(status, "2 of 2 answered \xc2\xb7 2 right"),
	       "with --names the teacher sees who: %s; %s", last_log, status);
	t->names = 0;
	ok_cmd(T, "lesson step 4");
	pump(t, f, 2, 5);
	class_teacher_status(t, status, sizeof status);
	tap_ok(!strstr(status, "answered"), "a step without a question: no tally (%s)", status);
	tap_ok(same_state(T, A, why, sizeof why) && same_state(T, B, why, sizeof why), "lesson steps mirrored: %s", why);

	/* faults: each bad connection is closed with a reason; the class goes on */
	int fd = raw_connect();
	const char *v2 = "{\"v\":2,\"type\":\"hello\"}\n";
	raw_send(t, fd, v2, strlen(v2));
	settle_peers(t, 2);
	tap_ok(t->n_peer == 2 && strstr(last_log, "version 2"), "a wrong version closes that connection: %s", last_log);
	close(fd);
	fd = raw_connect();
	raw_send(t, fd, "{\"v\":1,\"type\":\"hel", 18);
	settle_peers(t, 3);
	close(fd);
	settle_peers(t, 2);
	tap_ok(t->n_peer == 2 && strstr(last_log, "middle of a message"), "a truncated message: %s", last_log);
	fd = raw_connect();
	size_t big = 10u << 20;
	char *huge = malloc(big + 1);
	memset(huge, 'x', big);
	huge[big] = '\n';
	size_t sent = raw_send(t, fd, huge, big + 1);
	settle_peers(t, 2);
	tap_ok(t->n_peer == 2 && strstr(last_log, "more than") && sent < big,
	       "a 10 MB line is cut off after %zu bytes: %s", sent, last_log);
	free(huge);
	close(fd);
	fd = raw_connect(); /* says hello, then never reads */
	const char *hello = "{\"v\":1,\"type\":\"hello\",\"name\":\"sleepy\"}\n";
	raw_send(t, fd, hello, strlen(hello));
	settle_peers(t, 3);
	uint64_t seq0 = t->seq;
	double worst = 0;
	char echo[80000];
	memset(echo, 'z', sizeof echo - 1);
	memcpy(echo, "echo ", 5);
	echo[sizeof echo - 1] = 0;
	for (int i = 0; i < 300; i++) {
		double t0 = now_s();
		cmd_exec(T, echo, &err);
		class_teacher_service(t);
		if (now_s() - t0 > worst)
			worst = now_s() - t0;
		if (i % 20 == 0)
			pump(t, f, 2, 0.05);
	}
	class_conn *sleepy = NULL;
	for (int i = 0; i < t->n_peer; i++)
		if (!strcmp(t->peer[i]->name, "sleepy"))
			sleepy = t->peer[i];
	tap_ok(sleepy && sleepy->out.n - sleepy->out_off <= CLASS_QUEUE_MAX && fell_behind >= 1,
	       "a follower that never reads: its queue stays bounded (%zu bytes after %llu commands of 80 kB); "
	       "dropped to a snapshot %d times",
	       sleepy ? sleepy->out.n - sleepy->out_off : 0, (unsigned long long)(t->seq - seq0), fell_behind);
	tap_ok(worst < 0.5, "the teacher never blocks on it (slowest command %.3f s for 24 MB sent)", worst);
	tap_ok(pump(t, f, 2, 10) && same_state(T, A, why, sizeof why), "the others go on: %s", why);
	close(fd);
	settle_peers(t, 2);

	/* one follower quits; the teacher leaves and comes back */
	class_follower_free(f[1]);
	settle_peers(t, 1);
	tap_ok(t->n_peer == 1, "a follower that quits is removed");
	ok_cmd(T, "gran layer");
	tap_ok(pump(t, f, 1, 5) && same_state(T, A, why, sizeof why), "the teacher and the other go on: %s", why);
	class_teacher_free(t);
	for (int i = 0; i < 50 && f[0]->conn.fd >= 0; i++) {
		class_follower_service(f[0], &err);
		poll(NULL, 0, 5);
	}
	tap_ok(f[0]->conn.fd < 0 && strstr(f[0]->notice, "teacher has left") && same_state(T, A, why, sizeof why),
	       "the teacher quits: the follower keeps the last state and says so (%s)", f[0]->notice);
	ok_cmd(T, "layer 1");
	t = class_teacher_open(T, sock, 0, &err); /* the stale socket is gone: a fresh one */
	tap_ok(t != NULL, "the teacher presents again on the same path: %s", t ? "yes" : err.msg);
	if (t) {
		t->log = keep_log;
		ok_cmd(T, "head 0");
		tap_ok(pump(t, f, 1, 10) && same_state(T, A, why, sizeof why), "the follower re-attaches: %s", why);
	}

	/* the teacher loads another model: the follower loads it too */
	char other[320];
	snprintf(other, sizeof other, "%s/other.gguf", dir);
	if (tm_write_tiny_model(other, &err))
		tap_diag("%s", err.msg);
	char load[360];
	snprintf(load, sizeof load, "load '%s'", other);
	ok_cmd(T, load);
	ok_cmd(T, "prompt --ids 1,2,3,4,5");
	ok_cmd(T, "run all");
	int loaded = t && pump(t, f, 1, 10) && !strcmp(A->model_path, other) && same_state(T, A, why, sizeof why);
	tap_ok(loaded, "the teacher's load: the follower loads %s too (%s)", A->model_path, why);
	unlink(other);

	/* a follower that cannot read the model is told which path */
	char msg[600];
	fake_teacher("/nonexistent/teacher.gguf", 1, 2, msg, sizeof msg);
	tap_ok(strstr(msg, "/nonexistent/teacher.gguf") != NULL && strstr(msg, "No such file") != NULL, "an unreadable model: %s", msg);
	char *abs = NULL;
	uint64_t size = 0, sum = 0;
	class_model_id(session_default_model(), &abs, &size, &sum, &err);
	fake_teacher(abs, size, sum ^ 1, msg, sizeof msg);
	tap_ok(strstr(msg, "is not the teacher's model") != NULL, "a model whose header differs: %s", msg);
	free(abs);
	class_follower_free(f[0]);
	class_teacher_free(t);
	session_free(T);
	unlink(plain);
	rmdir(dir);
	return tap_done_plan();
}
