/* bench_class.c - a classroom of followers: this process presents (a
 * teacher's session over MODEL on a socket in /tmp), N followers are real
 * `residual --batch --follow` processes. Prints the memory the class takes
 * (the sum of every follower's PSS from /proc/PID/smaps_rollup, and each
 * one's private memory: what it does not share with the others, i.e. its
 * KV cache, activation cache and buffers; the weights are one mmap'd copy
 * in the page cache) after a full pass over a T-token prompt, and how long
 * the last follower takes to mirror a teacher's step. A benchmark, not a
 * test.
 *
 *   bench_class [-m MODEL] [-n FOLLOWERS] [-t TOKENS] [-s STEPS] [--residual PATH]
 *
 * Defaults: the built-in model, 30 followers, 64 tokens, 20 steps,
 * ./residual. For the 1B figure: residual random-model --shape llama3.2-1b
 * --type q8_0 -o /tmp/1b-q8_0.gguf, then bench_class -m /tmp/1b-q8_0.gguf.
 */
#include "config.h"
#include "class.h"
#include "commands.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define MAX_F 256

static double now(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + ts.tv_nsec * 1e-9;
}

typedef struct follower {
	pid_t pid;
	int fd;            /* its standard output */
	char buf[1 << 16];
	size_t len;
	int marks;         /* lines "> step" seen */
	int ready;         /* its snapshot line seen */
} follower;

static follower F[MAX_F];
static int n_f;

/* Reads what followers printed; counts their mirrored steps. */
static void drain(int timeout_ms)
{
	struct pollfd p[MAX_F];
	for (int i = 0; i < n_f; i++)
		p[i] = (struct pollfd){.fd = F[i].fd, .events = POLLIN};
	if (poll(p, (nfds_t)n_f, timeout_ms) <= 0)
		return;
	for (int i = 0; i < n_f; i++) {
		if (!(p[i].revents & (POLLIN | POLLHUP)))
			continue;
		follower *f = &F[i];
		ssize_t r = read(f->fd, f->buf + f->len, sizeof f->buf - 1 - f->len);
		if (r <= 0)
			continue;
		f->len += (size_t)r;
		f->buf[f->len] = 0;
		char *line = f->buf, *nl;
		while ((nl = strchr(line, '\n'))) {
			*nl = 0;
			if (!strcmp(line, "> step"))
				f->marks++;
			if (!strncmp(line, "# snapshot", 10) || !strncmp(line, "> prompt", 8))
				f->ready = 1;
			line = nl + 1;
		}
		f->len = strlen(line);
		memmove(f->buf, line, f->len + 1);
		if (f->len > sizeof f->buf / 2)
			f->len = 0; /* a long output line: only the marks matter */
	}
}

/* kB of a field of /proc/PID/smaps_rollup, -1 when unreadable. */
static long rollup(pid_t pid, const char *field)
{
	char path[64], line[256];
	snprintf(path, sizeof path, "/proc/%d/smaps_rollup", (int)pid);
	FILE *f = fopen(path, "r");
	long v = -1;
	size_t n = strlen(field);
	while (f && fgets(line, sizeof line, f))
		if (!strncmp(line, field, n) && line[n] == ':')
			v = atol(line + n + 1);
	if (f)
		fclose(f);
	return v;
}

static void service(class_teacher *t, double seconds)
{
	double until = now() + seconds;
	do {
		class_teacher_service(t);
		drain(1);
	} while (now() < until);
}

static int cmp_d(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return x < y ? -1 : x > y;
}

int main(int argc, char **argv)
{
	const char *model = NULL, *residual = "./residual";
	int n = 30, T = 64, steps = 20;
	for (int i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "-m") && i + 1 < argc)
			model = argv[++i];
		else if (!strcmp(argv[i], "-n") && i + 1 < argc)
			n = atoi(argv[++i]);
		else if (!strcmp(argv[i], "-t") && i + 1 < argc)
			T = atoi(argv[++i]);
		else if (!strcmp(argv[i], "-s") && i + 1 < argc)
			steps = atoi(argv[++i]);
		else if (!strcmp(argv[i], "--residual") && i + 1 < argc)
			residual = argv[++i];
		else {
			fprintf(stderr, "usage: bench_class [-m MODEL] [-n FOLLOWERS] [-t TOKENS] [-s STEPS] "
					"[--residual PATH]\n");
			return 2;
		}
	}
	if (n < 1 || n > MAX_F || T < 2 || steps < 1) {
		fprintf(stderr, "bench_class: 1 to %d followers, 2 tokens or more, a step or more\n", MAX_F);
		return 2;
	}
	signal(SIGPIPE, SIG_IGN);
	sync(); /* the model's pages clean in the page cache: shared, not private dirty */
	rs_err err = {{0}};
	rs_session *s = session_create(model, &err);
	if (!s) {
		fprintf(stderr, "bench_class: %s\n", err.msg);
		return 1;
	}
	char sock[64];
	snprintf(sock, sizeof sock, "/tmp/bench-class-%d", (int)getpid());
	class_teacher *t = class_teacher_open(s, sock, 0, &err);
	if (!t) {
		fprintf(stderr, "bench_class: %s\n", err.msg);
		return 1;
	}
	printf("model %s (%d layers, d %d), %d followers, %d-token prompt\n", s->model_path, s->model->cfg.n_layers,
	       s->model->cfg.d_model, n, T);
	double t0 = now();
	for (n_f = 0; n_f < n; n_f++) {
		int p[2];
		if (pipe(p))
			return 1;
		pid_t pid = fork();
		if (pid == 0) {
			dup2(p[1], STDOUT_FILENO);
			int null = open("/dev/null", O_RDWR);
			dup2(null, STDIN_FILENO);
			close(p[0]);
			execl(residual, residual, "--batch", "--follow", sock, (char *)NULL);
			_exit(127);
		}
		close(p[1]);
		fcntl(p[0], F_SETFL, O_NONBLOCK);
		F[n_f] = (follower){.pid = pid, .fd = p[0]};
	}
	/* all joined, each with its snapshot */
	int ready = 0;
	while (now() - t0 < 120 && ready < n) {
		service(t, 0.01);
		ready = 0;
		for (int i = 0; i < n; i++)
			ready += F[i].ready;
	}
	printf("%d of %d followers joined in %.2f s\n", ready, n, now() - t0);
	char line[8 * 64 + 32] = "prompt --ids ";
	for (int i = 0; i < T && strlen(line) < sizeof line - 12; i++)
		snprintf(line + strlen(line), sizeof line - strlen(line), "%s%d", i ? "," : "", 100 + i % 1000);
	cmd_exec(s, line, &err);
	cmd_exec(s, "gran hook", &err);
	/* a teacher's step: the time until the last follower printed it */
	double *lat = calloc((size_t)steps, sizeof *lat);
	for (int k = 0; k < steps; k++) {
		double ts = now();
		cmd_exec(s, "step", &err);
		int done = 0;
		while (!done && now() - ts < 60) {
			class_teacher_service(t);
			drain(1);
			done = 1;
			for (int i = 0; i < n; i++)
				done &= F[i].marks >= k + 1;
		}
		lat[k] = now() - ts;
	}
	double first = lat[0];
	qsort(lat, (size_t)steps, sizeof *lat, cmp_d);
	printf("mirror latency of a step (the last of %d followers has it): median %.1f ms, max %.1f ms, first %.1f ms\n",
	       n, 1e3 * lat[steps / 2], 1e3 * lat[steps - 1], 1e3 * first);
	/* the whole pass, then the memory */
	cmd_exec(s, "run all", &err);
	int before = F[0].marks;
	cmd_exec(s, "step", &err); /* a mark after the pass: every follower has computed it */
	double tr = now();
	int done = 0;
	while (!done && now() - tr < 600) {
		class_teacher_service(t);
		drain(5);
		done = 1;
		for (int i = 0; i < n; i++)
			done &= F[i].marks > before;
	}
	printf("the whole pass mirrored by all in %.2f s\n", now() - tr);
	double cache_mb = session_cache_bytes(s, s->n_ids) / (1 << 20);
	s->lean_cache = 1; /* what a follower's policy keeps of it (session.c) */
	double lean_mb = session_cache_bytes(s, s->n_ids) / (1 << 20);
	s->lean_cache = 0;
	long pss = 0, priv_max = 0, priv_sum = 0, anon_sum = 0;
	for (int i = 0; i < n; i++) {
		long p = rollup(F[i].pid, "Pss");
		long pc = rollup(F[i].pid, "Private_Clean"), pd = rollup(F[i].pid, "Private_Dirty");
		long an = rollup(F[i].pid, "Pss_Anon");
		pss += p;
		priv_sum += pc + pd;
		anon_sum += an;
		if (pc + pd > priv_max)
			priv_max = pc + pd;
	}
	printf("sum of the followers' PSS: %.1f MiB\n", pss / 1024.0);
	printf("private memory per follower: mean %.1f MiB, max %.1f MiB (anonymous PSS mean %.1f MiB; "
	       "the teacher's activation cache is %.1f MiB, of which a follower keeps %.1f MiB and "
	       "recomputes the rest when shown)\n",
	       priv_sum / 1024.0 / n, priv_max / 1024.0, anon_sum / 1024.0 / n, cache_mb, lean_mb);
	printf("the teacher (this process): PSS %.1f MiB\n", rollup(getpid(), "Pss") / 1024.0);
	class_teacher_free(t);
	for (int i = 0; i < n; i++) {
		kill(F[i].pid, SIGTERM);
		waitpid(F[i].pid, NULL, 0);
		close(F[i].fd);
	}
	free(lat);
	session_free(s);
	return 0;
}
