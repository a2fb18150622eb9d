/* fuzz_main.c - a small driver for libFuzzer-style targets, for gcc builds.
 *
 * Link it with any file that defines
 *     int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
 * (and optionally LLVMFuzzerInitialize) to get a program that
 *
 *     fuzz_x [--runs N] [--seed S] [--seconds T] [--max-len N] [FILE|DIR ...]
 *
 * runs the target on every seed file (a directory stands for the files in
 * it, in name order), then on N (default 1000) random mutations of the seeds
 * drawn from seed S (default 1). No coverage feedback: mutants are kept at
 * random in a small pool so that mutations can stack. The inputs depend on
 * N, S and the seed files only, never on the clock or the machine, so a run
 * reproduces exactly: `make check` passes or fails the same everywhere.
 * --seconds T stops early after T seconds (for exploring by hand; such a
 * run is not reproducible). Output is TAP (one test), so a wrapper script can
 * put a target into `make check`.
 *
 * A crash (signal, sanitizer abort) or an input taking over 10 s writes the
 * input to fuzz-crash-NAME-PID (in $FUZZ_CRASH_DIR, else the current
 * directory) and prints which input it was (seed file, or mutant K of seed S)
 * and the command line that reruns exactly up to it; run the program on the
 * written file alone to reproduce it directly. The same sources build under
 * clang's libFuzzer (`make fuzz`), which brings its own main.
 */
#include "config.h"

#include <dirent.h>
#include <fcntl.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerInitialize(int *argc, char ***argv) __attribute__((weak));

typedef struct input {
	uint8_t *data;
	size_t len;
} input;

/* The input being run, for the crash handler (async-signal-safe access only). */
static const uint8_t *volatile cur_data;
static volatile size_t cur_len;
static char crash_path[4096];
/* What is running, for the crash message: a seed file's name, or mutant
 * cur_iter (0-based) of the run with seed cur_seed. */
static const char *volatile cur_file;
static volatile unsigned long long cur_iter, cur_seed;
static char rerun_cmd[1024];

/* write(2) of a string or a number, for the signal handler */
static void say(const char *s)
{
	if (write(2, s, strlen(s)) < 0)
		_exit(3);
}

static void say_num(unsigned long long v)
{
	char b[24];
	int i = sizeof b;
	b[--i] = 0;
	do
		b[--i] = (char)('0' + v % 10);
	while ((v /= 10) && i > 0);
	say(b + i);
}

static void on_crash(int sig)
{
	int fd = open(crash_path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
	if (fd >= 0) {
		size_t off = 0;
		while (off < cur_len) {
			ssize_t w = write(fd, (const char *)cur_data + off, cur_len - off);
			if (w <= 0)
				break;
			off += (size_t)w;
		}
		close(fd);
	}
	say(sig == SIGALRM ? "fuzz: input ran over 10 seconds; written to " : "fuzz: crashing input written to ");
	say(crash_path);
	if (cur_file) {
		say("\nfuzz: it is the seed file ");
		say(cur_file);
	} else {
		say("\nfuzz: it is mutant ");
		say_num(cur_iter);
		say(" (0-based) of --seed ");
		say_num(cur_seed);
		say("; to rerun up to it: ");
		say(rerun_cmd);
		say(" --runs ");
		say_num(cur_iter + 1);
	}
	say("\n");
	signal(sig == SIGALRM ? SIGABRT : sig, SIG_DFL);
	raise(sig == SIGALRM ? SIGABRT : sig);
}

static uint64_t rng_state;

static uint64_t rnd(void)
{
	rng_state ^= rng_state >> 12;
	rng_state ^= rng_state << 25;
	rng_state ^= rng_state >> 27;
	return rng_state * 0x2545F4914F6CDD1Dull;
}

static size_t below(size_t n)
{
	return n ? (size_t)(rnd() % n) : 0;
}

static double now(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static void add_file(input **v, size_t *n, size_t *cap, const char *path)
{
	FILE *f = fopen(path, "rb");
	if (!f) {
		fprintf(stderr, "fuzz: cannot read %s\n", path);
		exit(2);
	}
	input in = {NULL, 0};
	size_t cap_b = 0, got;
	uint8_t chunk[65536];
	while ((got = fread(chunk, 1, sizeof chunk, f)) > 0) {
		if (in.len + got > cap_b) {
			cap_b = (in.len + got) * 2;
			in.data = realloc(in.data, cap_b);
		}
		memcpy(in.data + in.len, chunk, got);
		in.len += got;
	}
	fclose(f);
	if (*n == *cap) {
		*cap = *cap ? *cap * 2 : 16;
		*v = realloc(*v, *cap * sizeof **v);
	}
	(*v)[(*n)++] = in;
}

static int by_name(const struct dirent **a, const struct dirent **b)
{
	return strcmp((*a)->d_name, (*b)->d_name);
}

/* Adds a file, or a directory's files in name order (readdir's order varies
 * between file systems, and the order decides the mutants). */
static void add_path(input **v, size_t *n, size_t *cap, char ***names, const char *path)
{
	struct stat st;
	if (stat(path, &st) == 0 && S_ISDIR(st.st_mode)) {
		struct dirent **e;
		int k = scandir(path, &e, NULL, by_name);
		for (int i = 0; i < k; i++) {
			char p[4096];
			snprintf(p, sizeof p, "%s/%s", path, e[i]->d_name);
			if (e[i]->d_name[0] != '.' && stat(p, &st) == 0 && S_ISREG(st.st_mode))
				add_path(v, n, cap, names, p);
			free(e[i]);
		}
		if (k >= 0)
			free(e);
		return;
	}
	add_file(v, n, cap, path);
	*names = realloc(*names, *n * sizeof **names);
	(*names)[*n - 1] = strdup(path);
}

static double now(void);

/* The slowest input so far: its time, and which it was (for the report). */
static double slowest;
static char slowest_what[300];

/* Runs the target on a private copy, so that reads past the end are caught. */
static void run_one(const uint8_t *data, size_t len)
{
	double t0 = now();
	uint8_t *copy = malloc(len ? len : 1);
	memcpy(copy, data, len);
	cur_data = copy;
	cur_len = len;
	alarm(10);
	LLVMFuzzerTestOneInput(copy, len);
	alarm(0);
	double t = now() - t0;
	if (t > slowest) {
		slowest = t;
		if (cur_file)
			snprintf(slowest_what, sizeof slowest_what, "%s", cur_file);
		else
			snprintf(slowest_what, sizeof slowest_what, "mutant %llu", cur_iter);
	}
	cur_data = NULL;
	cur_len = 0;
	free(copy);
}

/* One random edit of buf (len bytes, room for cap) using the pool for splices. */
static size_t mutate(uint8_t *buf, size_t len, size_t cap, const input *pool, size_t n_pool)
{
	static const uint8_t interesting[] = {0, 1, 0x7F, 0x80, 0xFF, '"', '\\', '[', ']', '{',
					      '}', ',', ':', ' ', '\n', '0', '9', '-'};
	switch (below(9)) {
	case 0: /* flip a bit */
		if (len)
			buf[below(len)] ^= (uint8_t)(1u << below(8));
		break;
	case 1: /* set a byte, random or interesting */
		if (len)
			buf[below(len)] = below(2) ? (uint8_t)rnd()
					 : interesting[below(sizeof interesting)];
		break;
	case 2: { /* insert a few bytes */
		size_t k = 1 + below(4), at = below(len + 1);
		if (len + k > cap)
			break;
		memmove(buf + at + k, buf + at, len - at);
		for (size_t i = 0; i < k; i++)
			buf[at + i] = below(2) ? (uint8_t)rnd() : interesting[below(sizeof interesting)];
		len += k;
		break;
	}
	case 3: { /* delete a range */
		if (!len)
			break;
		size_t at = below(len), k = 1 + below(len - at < 16 ? len - at : 16);
		memmove(buf + at, buf + at + k, len - at - k);
		len -= k;
		break;
	}
	case 4: { /* duplicate a range */
		if (!len)
			break;
		size_t at = below(len), k = 1 + below(len - at < 64 ? len - at : 64);
		size_t to = below(len + 1);
		if (len + k > cap)
			break;
		uint8_t tmp[64];
		memcpy(tmp, buf + at, k);
		memmove(buf + to + k, buf + to, len - to);
		memcpy(buf + to, tmp, k);
		len += k;
		break;
	}
	case 5: { /* splice in a piece of another input */
		const input *o = &pool[below(n_pool)];
		if (!o->len)
			break;
		size_t at = below(o->len), k = 1 + below(o->len - at < 128 ? o->len - at : 128);
		size_t to = below(len + 1);
		if (len + k > cap)
			break;
		memmove(buf + to + k, buf + to, len - to);
		memcpy(buf + to, o->data + at, k);
		len += k;
		break;
	}
	case 6: /* truncate, now and then */
		if (below(4) == 0)
			len = below(len + 1);
		break;
	default: /* nudge a digit or a byte value */
		if (len) {
			size_t at = below(len);
			buf[at] = (uint8_t)(buf[at] + (below(2) ? 1 : -1));
		}
		break;
	}
	return len;
}

int main(int argc, char **argv)
{
	double seconds = 0;
	unsigned long long seed = 1, runs = 1000;
	char **names = NULL;
	size_t max_len = 1 << 16;
	input *pool = NULL;
	size_t n_pool = 0, cap_pool = 0;
	const char *name = strrchr(argv[0], '/') ? strrchr(argv[0], '/') + 1 : argv[0];
	if (LLVMFuzzerInitialize)
		LLVMFuzzerInitialize(&argc, &argv);
	for (int i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--seconds") && i + 1 < argc)
			seconds = atof(argv[++i]);
		else if (!strcmp(argv[i], "--seed") && i + 1 < argc)
			seed = strtoull(argv[++i], NULL, 0);
		else if (!strcmp(argv[i], "--runs") && i + 1 < argc)
			runs = strtoull(argv[++i], NULL, 0);
		else if (!strcmp(argv[i], "--max-len") && i + 1 < argc)
			max_len = strtoull(argv[++i], NULL, 0);
		else if (argv[i][0] == '-' && argv[i][1] == '-') {
			fprintf(stderr, "usage: %s [--runs N] [--seed S] [--seconds T] [--max-len N] "
				"[FILE|DIR ...]\n", name);
			return 2;
		} else
			add_path(&pool, &n_pool, &cap_pool, &names, argv[i]);
	}
	/* the command line that reruns this, less --runs (the handler adds it) */
	size_t at = (size_t)snprintf(rerun_cmd, sizeof rerun_cmd, "%s --seed %llu --max-len %zu", argv[0],
				     seed, max_len);
	for (int i = 1; i < argc && at < sizeof rerun_cmd; i++)
		if (argv[i][0] != '-' && !(i > 1 && argv[i - 1][0] == '-' && argv[i - 1][1] == '-'))
			at += (size_t)snprintf(rerun_cmd + at, sizeof rerun_cmd - at, " %s", argv[i]);
	cur_seed = seed;
	const char *dir = getenv("FUZZ_CRASH_DIR");
	snprintf(crash_path, sizeof crash_path, "%s/fuzz-crash-%s-%ld", dir && *dir ? dir : ".",
		 name, (long)getpid());
	int sigs[] = {SIGSEGV, SIGABRT, SIGBUS, SIGFPE, SIGILL, SIGALRM};
	for (size_t i = 0; i < sizeof sigs / sizeof *sigs; i++)
		signal(sigs[i], on_crash);
	rng_state = seed * 0x9E3779B97F4A7C15ull + 1;
	printf("1..1\n");
	fflush(stdout);

	double t0 = now();
	size_t n_seeds = n_pool;
	for (size_t i = 0; i < n_seeds; i++) {
		cur_file = names[i];
		run_one(pool[i].data, pool[i].len);
	}
	cur_file = NULL;
	if (n_pool == 0) { /* no seeds: start from nothing */
		add_file(&pool, &n_pool, &cap_pool, "/dev/null");
	}
	uint8_t *buf = malloc(max_len + 1);
	unsigned long long n_runs = 0;
	while (n_runs < runs && (seconds <= 0 || now() - t0 < seconds)) {
		cur_iter = n_runs;
		/* Half the time start again from a seed, so that the pool's junk does
		 * not crowd out well-formed inputs. */
		const input *base = &pool[below(2) && n_seeds ? below(n_seeds) : below(n_pool)];
		size_t len = base->len < max_len ? base->len : max_len;
		memcpy(buf, base->data, len);
		for (size_t k = below(4) ? 1 : 2 + below(3); k > 0; k--)
			len = mutate(buf, len, max_len, pool, n_pool);
		run_one(buf, len);
		n_runs++;
		/* Keep some mutants (up to 64 beyond the seeds) so that edits stack. */
		if (below(8) == 0) {
			input in = {malloc(len ? len : 1), len};
			memcpy(in.data, buf, len);
			if (n_pool < n_seeds + 64) {
				if (n_pool == cap_pool) {
					cap_pool = cap_pool ? cap_pool * 2 : 16;
					pool = realloc(pool, cap_pool * sizeof *pool);
				}
				pool[n_pool++] = in;
			} else {
				size_t at = n_seeds + below(64);
				free(pool[at].data);
				pool[at] = in;
			}
		}
	}
	struct rusage ru;
	getrusage(RUSAGE_SELF, &ru);
	printf("ok 1 - %s: %zu seeds and %llu mutants in %.1f s (seed %llu); slowest input %.1f ms (%s); "
	       "peak RSS %ld MB\n", name, n_seeds, n_runs, now() - t0, seed, slowest * 1e3, slowest_what,
	       ru.ru_maxrss / 1024);
	for (size_t i = 0; i < n_pool; i++)
		free(pool[i].data);
	for (size_t i = 0; i < n_seeds; i++)
		free(names[i]);
	free(names);
	free(pool);
	free(buf);
	return 0;
}
