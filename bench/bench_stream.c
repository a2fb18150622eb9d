/* bench_stream.c - Llama 3.1 405B stepped from disk: a 405B-shaped slice
 * (2 layers at full width: d 16384, 128 heads / 8 KV heads, FFN 53248, vocab
 * 128256, untied, Q8_0; about 11 GB) stepped through every hook over a
 * 32-token prompt with the memory budget at 4 GB, then with it unlimited.
 * Prints peak resident memory, time per layer and what the disk gave, and
 * checks that both runs give bit-identical logits. A benchmark, not a test.
 *
 *   bench_stream [-m MODEL.gguf] [--budget SIZE] [-t TOKENS] [--keep] [--no-drop]
 *
 * Without -m it writes /tmp/residual-bench-405b-2l-q8_0.gguf (deleted at the
 * end unless --keep). Each run is its own process (so its peak RSS is its
 * own), and before each the page cache is dropped (echo 3 >
 * /proc/sys/vm/drop_caches, when run as root; --no-drop keeps it), so the
 * disk is really read; the output says whether it was.
 */
#include "config.h"
#include "convert.h"
#include "dtype.h"
#include "engine.h"
#include "hooks.h"
#include "model.h"
#include "stream.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static double now(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + ts.tv_nsec * 1e-9;
}

static int drop_caches(void)
{
	sync();
	FILE *f = fopen("/proc/sys/vm/drop_caches", "w");
	if (!f)
		return 0;
	int ok = fputs("3\n", f) >= 0;
	return fclose(f) == 0 && ok;
}

/* One run in this (child) process: writes the logits to out, prints figures. */
static int run(const char *path, uint64_t budget, int T, int drop, const char *out)
{
	int dropped = drop && drop_caches();
	rs_err err = {{0}};
	double t0 = now();
	rs_model *m = model_load(path, &err);
	if (!m) {
		fprintf(stderr, "bench_stream: %s\n", err.msg);
		return 1;
	}
	rs_engine *e = eng_create(m, &err);
	eng_set_mem_budget(e, budget);
	int32_t *ids = malloc(sizeof(int32_t) * (size_t)T);
	for (int i = 0; i < T; i++)
		ids[i] = (int32_t)((1000 + 7919 * i) % m->cfg.vocab);
	if (eng_set_prompt(e, ids, T, &err)) {
		fprintf(stderr, "bench_stream: %s\n", err.msg);
		return 1;
	}
	rs_stream *st = eng_stream(e);
	int L = m->cfg.n_layers, cur = -1;
	double *lt = calloc((size_t)L + 2, sizeof *lt), tl = now(), t_load = tl - t0;
	uint64_t *lr = calloc((size_t)L + 2, sizeof *lr), rl = 0;
	rs_stream_stats ss;
	int s;
	while ((s = eng_step(e)) >= 0) {
		rs_hook h = hook_at(s, L);
		int layer = hook_is_layer_kind(h.kind) ? h.layer : h.kind == HOOK_EMBED ? -1 : L;
		if (layer != cur) {
			double t = now();
			stream_stats(st, &ss);
			if (cur >= 0) {
				lt[cur] += t - tl;
				lr[cur] += ss.disk_read - rl;
			}
			tl = t;
			rl = ss.disk_read;
			cur = layer;
		}
	}
	double t_end = now();
	stream_stats(st, &ss);
	lt[cur] += t_end - tl;
	lr[cur] += ss.disk_read - rl;
	char b[32], a[32], r[32];
	printf("  budget %s (%s), page cache %s\n",
	       rs_format_budget(budget, b, sizeof b),
	       ss.active ? "stepped from disk" : "weights fit: plain mmap",
	       dropped ? "dropped before the run" : "NOT dropped (not root, or --no-drop)");
	for (int l = 0; l <= L; l++)
		printf("  %s %d: %.2f s (%s of weights, %s read from disk meanwhile)\n", l < L ? "layer" : "unembedding",
		       l < L ? l : 0, lt[l], rs_format_size((double)model_layer_bytes(m, l), a, sizeof a),
		       rs_format_size((double)lr[l], r, sizeof r));
	double secs = t_end - t0;
	printf("  load %.2f s, pass %.2f s; read from disk %s, %s/s over the pass\n", t_load, t_end - t0 - t_load,
	       rs_format_size((double)ss.disk_read, a, sizeof a),
	       rs_format_size(secs > 0 ? (double)ss.disk_read / secs : 0, r, sizeof r));
	struct stat sb;
	stat(path, &sb);
	double peak = (double)rs_peak_rss_bytes();
	printf("  peak RSS %s = %.1f%% of the file (%s); madvise: %llu ahead, %llu dropped\n",
	       rs_format_size(peak, a, sizeof a), 100.0 * peak / (double)sb.st_size,
	       rs_format_size((double)sb.st_size, b, sizeof b), (unsigned long long)ss.advised_ahead,
	       (unsigned long long)ss.dropped);
	fflush(stdout);
	FILE *f = fopen(out, "wb");
	const rs_act *lg = eng_act(e, (rs_hook){HOOK_LOGITS, -1});
	if (!f || !lg || fwrite(lg->data, sizeof(float), (size_t)lg->numel, f) != (size_t)lg->numel) {
		fprintf(stderr, "bench_stream: could not write %s\n", out);
		return 1;
	}
	fclose(f);
	eng_free(e);
	model_free(m);
	free(ids);
	free(lt);
	free(lr);
	return 0;
}

static int in_child(const char *path, uint64_t budget, int T, int drop, const char *out)
{
	fflush(stdout);
	pid_t p = fork();
	if (p == 0)
		_exit(run(path, budget, T, drop, out));
	int st = 0;
	waitpid(p, &st, 0);
	return WIFEXITED(st) ? WEXITSTATUS(st) : 1;
}

/* The disk's own sequential read speed: 2 GB of the file, page cache dropped. */
static double disk_speed(const char *path, int drop)
{
	if (!drop || !drop_caches())
		return 0;
	FILE *f = fopen(path, "rb");
	if (!f)
		return 0;
	size_t chunk = 8 << 20, total = 0;
	char *buf = malloc(chunk);
	double t = now();
	while (total < ((size_t)2 << 30)) {
		size_t got = fread(buf, 1, chunk, f);
		total += got;
		if (got < chunk)
			break;
	}
	t = now() - t;
	fclose(f);
	free(buf);
	return t > 0 ? (double)total / t : 0;
}

static char *slurp(const char *path, size_t *n)
{
	FILE *f = fopen(path, "rb");
	if (!f)
		return NULL;
	fseek(f, 0, SEEK_END);
	*n = (size_t)ftell(f);
	fseek(f, 0, SEEK_SET);
	char *b = malloc(*n ? *n : 1);
	if (fread(b, 1, *n, f) != *n) {
		free(b);
		b = NULL;
	}
	fclose(f);
	return b;
}

int main(int argc, char **argv)
{
	const char *path = NULL;
	uint64_t budget = (uint64_t)4 << 30;
	int T = 32, keep = 0, drop = 1;
	for (int i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "-m") && i + 1 < argc)
			path = argv[++i];
		else if (!strcmp(argv[i], "--budget") && i + 1 < argc && !rs_parse_size(argv[i + 1], &budget))
			i++;
		else if (!strcmp(argv[i], "-t") && i + 1 < argc)
			T = atoi(argv[++i]);
		else if (!strcmp(argv[i], "--keep"))
			keep = 1;
		else if (!strcmp(argv[i], "--no-drop"))
			drop = 0;
		else {
			fprintf(stderr, "usage: bench_stream [-m MODEL.gguf] [--budget SIZE] [-t TOKENS] [--keep] [--no-drop]\n");
			return 2;
		}
	}
	int wrote = 0;
	static const char def[] = "/tmp/residual-bench-405b-2l-q8_0.gguf";
	if (!path) {
		path = def;
		if (access(path, R_OK) != 0) {
			rs_config c;
			convert_preset("llama3.1-405b", &c);
			c.n_layers = 2;
			snprintf(c.name, sizeof c.name, "random llama3.1-405b, 2 layers");
			printf("writing %s (405B-shaped, 2 layers, Q8_0) ...\n", path);
			fflush(stdout);
			double t = now();
			pid_t p = fork(); /* in a child, so that its memory is not the runs' */
			if (p == 0) {
				rs_err err = {{0}};
				int rc = convert_write_random(&c, path, RS_Q8_0, 0.02f, 1, &err);
				if (rc)
					fprintf(stderr, "bench_stream: %s\n", err.msg);
				_exit(rc ? 1 : 0);
			}
			int st = 0;
			waitpid(p, &st, 0);
			if (!WIFEXITED(st) || WEXITSTATUS(st))
				return 1;
			printf("  written in %.0f s\n", now() - t);
			wrote = 1;
		}
	}
	char a[32];
	struct stat sb;
	if (stat(path, &sb)) {
		perror(path);
		return 1;
	}
	printf("model %s, %s; %d-token prompt, every hook stepped\n", path, rs_format_size((double)sb.st_size, a, sizeof a), T);
	double ds = disk_speed(path, drop);
	if (ds > 0)
		printf("disk: %s/s reading 2 GB of the file sequentially (page cache dropped)\n", rs_format_size(ds, a, sizeof a));
	printf("run 1: memory budget %s\n", rs_format_budget(budget, a, sizeof a));
	int rc = in_child(path, budget, T, drop, "/tmp/bench_stream_logits_budget.bin");
	printf("run 2: memory budget unlimited\n");
	rc = rc || in_child(path, UINT64_MAX, T, drop, "/tmp/bench_stream_logits_unlimited.bin");
	if (!rc) {
		size_t n1 = 0, n2 = 0;
		char *l1 = slurp("/tmp/bench_stream_logits_budget.bin", &n1);
		char *l2 = slurp("/tmp/bench_stream_logits_unlimited.bin", &n2);
		int same = l1 && l2 && n1 == n2 && !memcmp(l1, l2, n1);
		printf("logits (%zu floats): %s\n", n1 / 4, same ? "bit-identical" : "DIFFERENT");
		rc = !same;
		free(l1);
		free(l2);
	}
	unlink("/tmp/bench_stream_logits_budget.bin");
	unlink("/tmp/bench_stream_logits_unlimited.bin");
	if (wrote && !keep) {
		unlink(path);
		printf("deleted %s\n", path);
	}
	return rc;
}
