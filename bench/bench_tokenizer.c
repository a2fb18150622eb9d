/* bench_tokenizer.c - tokenizer load time and encode throughput.
 *
 *   bench/bench_tokenizer [--tokenizer PATH] [--text FILE] [--mb N]
 *
 * PATH defaults to $RESIDUAL_TOKENIZER, then $FIXTURES/llama31-tokenizer.json,
 * then ../shared/fixtures/llama31-tokenizer.json. The text is FILE, or else the
 * licences in /usr/share/common-licenses, repeated to N MB (default 4): plain
 * English prose that every Debian system has. One thread, wall-clock time,
 * the median of several runs.
 */
#include "config.h"
#include "tokenizer.h"
#include "gguf.h"

#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

static double now(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return x < y ? -1 : x > y;
}

static double median(double *v, int n)
{
	qsort(v, (size_t)n, sizeof *v, cmp_double);
	return v[n / 2];
}

static void append_file(const char *path, char **buf, size_t *len, size_t *cap)
{
	FILE *f = fopen(path, "rb");
	if (!f)
		return;
	char chunk[65536];
	size_t got;
	while ((got = fread(chunk, 1, sizeof chunk, f)) > 0) {
		if (*len + got > *cap) {
			*cap = (*len + got) * 2;
			*buf = realloc(*buf, *cap);
		}
		memcpy(*buf + *len, chunk, got);
		*len += got;
	}
	fclose(f);
}

/* The text to encode: FILE, or the system's licence texts, repeated to want bytes. */
static char *load_text(const char *file, size_t want, size_t *out_len)
{
	char *buf = NULL;
	size_t len = 0, cap = 0;
	if (file) {
		append_file(file, &buf, &len, &cap);
	} else {
		const char *dir = "/usr/share/common-licenses";
		DIR *d = opendir(dir);
		struct dirent *e;
		while (d && (e = readdir(d))) {
			char p[1024];
			struct stat st;
			snprintf(p, sizeof p, "%s/%s", dir, e->d_name);
			if (lstat(p, &st) == 0 && S_ISREG(st.st_mode))
				append_file(p, &buf, &len, &cap);
		}
		if (d)
			closedir(d);
	}
	if (len == 0) {
		free(buf);
		return NULL;
	}
	size_t base = len;
	while (!file && len < want) {
		size_t n = want - len < base ? want - len : base;
		if (len + n > cap) {
			cap = len + n;
			buf = realloc(buf, cap);
		}
		memcpy(buf + len, buf, n);
		len += n;
	}
	*out_len = len;
	return buf;
}

int main(int argc, char **argv)
{
	const char *path = getenv("RESIDUAL_TOKENIZER"), *text_file = NULL;
	char fpath[4096];
	double mb = 4;
	for (int i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--tokenizer") && i + 1 < argc)
			path = argv[++i];
		else if (!strcmp(argv[i], "--text") && i + 1 < argc)
			text_file = argv[++i];
		else if (!strcmp(argv[i], "--mb") && i + 1 < argc)
			mb = atof(argv[++i]);
		else {
			fprintf(stderr, "usage: bench_tokenizer [--tokenizer PATH] [--text FILE] [--mb N]\n");
			return 2;
		}
	}
	if (!path || !*path) {
		const char *fx = getenv("FIXTURES");
		snprintf(fpath, sizeof fpath, "%s/llama31-tokenizer.json",
			 fx && *fx ? fx : "../shared/fixtures");
		path = fpath;
	}
	rs_err err = {{0}};
	double t_load[5];
	rs_tokenizer *tok = NULL;
	for (int r = 0; r < 5; r++) {
		tok_free(tok);
		double t0 = now();
		tok = tok_load(path, &err);
		t_load[r] = now() - t0;
		if (!tok) {
			fprintf(stderr, "bench_tokenizer: %s\n", err.msg);
			return 1;
		}
	}
	printf("tokenizer      %s\n", path);
	printf("vocabulary     %d tokens, %d merges\n", (int)tok_n_vocab(tok), (int)tok_n_merges(tok));
	printf("load           %.1f ms (median of 5)\n", median(t_load, 5) * 1e3);

	/* The same vocabulary stored as GGUF keys, as in a model file. */
	char gpath[] = "/tmp/bench_tokenizer_XXXXXX";
	int fd = mkstemp(gpath);
	if (fd >= 0) {
		close(fd);
		gguf_writer *w = gguf_writer_create();
		tok_gguf_write(tok, w, &err);
		if (gguf_write(w, gpath, &err) == 0) {
			for (int r = 0; r < 5; r++) {
				double t0 = now();
				rs_tokenizer *t2 = tok_load(gpath, &err);
				t_load[r] = now() - t0;
				tok_free(t2);
			}
			printf("load from GGUF %.1f ms (median of 5)\n", median(t_load, 5) * 1e3);
		}
		gguf_writer_free(w);
		unlink(gpath);
	}

	size_t len = 0;
	char *text = load_text(text_file, (size_t)(mb * 1e6), &len);
	if (!text) {
		fprintf(stderr, "bench_tokenizer: no text (pass --text FILE)\n");
		return 1;
	}
	int32_t *ids;
	int n = 0;
	double t_enc[5];
	for (int r = 0; r < 5; r++) {
		double t0 = now();
		tok_encode(tok, text, len, 0, &ids, NULL, &n, &err);
		t_enc[r] = now() - t0;
		free(ids);
	}
	double t = median(t_enc, 5);
	printf("text           %.2f MB (%s)\n", (double)len / 1e6,
	       text_file ? text_file : "/usr/share/common-licenses, repeated");
	printf("encode         %.1f MB/s, %d tokens, %.2f bytes/token (median of 5)\n",
	       (double)len / 1e6 / t, n, (double)len / n);
	char *back;
	size_t back_len;
	double t0 = now();
	tok_encode(tok, text, len, 0, &ids, NULL, &n, &err);
	t0 = now();
	tok_decode(tok, ids, n, 0, &back, &back_len, &err);
	printf("decode         %.1f MB/s\n", (double)len / 1e6 / (now() - t0));
	free(back);
	free(ids);
	free(text);
	tok_free(tok);
	return 0;
}
