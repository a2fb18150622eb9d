/* stream.c - weights stepped from disk under a memory budget (see stream.h). */
#include "config.h"
#include "stream.h"

#include <ctype.h>
#include <fcntl.h>
#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

/* ---------------------------------------------------------------- sizes */
int rs_parse_size(const char *s, uint64_t *out)
{
	if (!s)
		return -1;
	while (isspace((unsigned char)*s))
		s++;
	if (!strcmp(s, "unlimited") || !strcmp(s, "off") || !strcmp(s, "none")) {
		*out = UINT64_MAX;
		return 0;
	}
	char *end;
	double v = strtod(s, &end);
	if (end == s || !(v >= 0) || v > 1e18)
		return -1;
	while (isspace((unsigned char)*end))
		end++;
	double mul = 1;
	switch (toupper((unsigned char)*end)) {
	case 'K': mul = 1024.0; end++; break;
	case 'M': mul = 1024.0 * 1024; end++; break;
	case 'G': mul = 1024.0 * 1024 * 1024; end++; break;
	case 'T': mul = 1024.0 * 1024 * 1024 * 1024; end++; break;
	default: break;
	}
	if (mul > 1 && toupper((unsigned char)*end) == 'I')
		end++;
	if (toupper((unsigned char)*end) == 'B')
		end++;
	if (*end || v * mul > 1.8e19)
		return -1;
	*out = (uint64_t)(v * mul);
	return 0;
}

char *rs_format_size(double b, char *buf, size_t n)
{
	if (b >= 1e12)
		snprintf(buf, n, "%.2f TB", b / 1e12);
	else if (b >= 100e9)
		snprintf(buf, n, "%.0f GB", b / 1e9);
	else if (b >= 1e9)
		snprintf(buf, n, "%.1f GB", b / 1e9);
	else if (b >= 1e6)
		snprintf(buf, n, "%.0f MB", b / 1e6);
	else
		snprintf(buf, n, "%.0f kB", b / 1e3);
	return buf;
}

char *rs_format_budget(uint64_t b, char *buf, size_t n)
{
	if (b == UINT64_MAX)
		snprintf(buf, n, "unlimited");
	else if (b >= (uint64_t)1 << 30)
		snprintf(buf, n, "%.3g GiB", (double)b / (1 << 30));
	else if (b >= (uint64_t)1 << 20)
		snprintf(buf, n, "%.3g MiB", (double)b / (1 << 20));
	else
		snprintf(buf, n, "%.3g KiB", (double)b / 1024);
	return buf;
}

char *rs_format_secs(double t, char *buf, size_t n)
{
	if (t < 10)
		snprintf(buf, n, "%.1f s", t);
	else if (t < 600)
		snprintf(buf, n, "%.0f s", t);
	else
		snprintf(buf, n, "%.0f min", t / 60);
	return buf;
}

uint64_t rs_phys_mem(void)
{
	long pages = sysconf(_SC_PHYS_PAGES), ps = sysconf(_SC_PAGESIZE);
	return pages > 0 && ps > 0 ? (uint64_t)pages * (uint64_t)ps : 0;
}

uint64_t rs_default_mem_budget(void)
{
	uint64_t b;
	const char *env = getenv("RESIDUAL_MEM");
	if (env && *env && !rs_parse_size(env, &b) && b)
		return b;
	uint64_t p = rs_phys_mem();
	return p ? p / 2 : (uint64_t)8 << 30;
}

static uint64_t proc_field(const char *file, const char *key, uint64_t mul)
{
	FILE *f = fopen(file, "r");
	if (!f)
		return 0;
	char line[256];
	size_t kl = strlen(key);
	uint64_t v = 0;
	while (fgets(line, sizeof line, f))
		if (!strncmp(line, key, kl)) {
			v = strtoull(line + kl, NULL, 10) * mul;
			break;
		}
	fclose(f);
	return v;
}

uint64_t rs_rss_bytes(void) { return proc_field("/proc/self/status", "VmRSS:", 1024); }
uint64_t rs_peak_rss_bytes(void) { return proc_field("/proc/self/status", "VmHWM:", 1024); }
static uint64_t disk_read_bytes(void) { return proc_field("/proc/self/io", "read_bytes:", 1); }

static double now_s(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + ts.tv_nsec * 1e-9;
}

/* ---------------------------------------------------------------- model bytes */
static uint64_t mat_bytes(const rs_mat *w)
{
	return (uint64_t)w->row_bytes * (uint64_t)w->rows;
}

#define N_MATS 7
static const rs_mat *layer_mat(const rs_layer *L, int j)
{
	const rs_mat *ms[N_MATS] = {&L->wq, &L->wk, &L->wv, &L->wo, &L->w_gate, &L->w_up, &L->w_down};
	return ms[j];
}

uint64_t model_layer_bytes(const rs_model *m, int l)
{
	if (l == m->cfg.n_layers)
		return mat_bytes(&m->output);
	uint64_t b = 0;
	for (int j = 0; j < N_MATS; j++)
		b += mat_bytes(layer_mat(&m->layers[l], j));
	return b;
}

uint64_t model_pass_bytes(const rs_model *m)
{
	uint64_t b = 0;
	for (int l = 0; l <= m->cfg.n_layers; l++)
		b += model_layer_bytes(m, l);
	return b;
}

uint64_t model_weight_bytes(const rs_model *m)
{
	return model_pass_bytes(m) + (m->cfg.tied ? 0 : mat_bytes(&m->tok_embd));
}

/* ---------------------------------------------------------------- the stream */
typedef struct range {
	const uint8_t *p;
	uint64_t n;
	int fd;            /* -1: not in a file we could open */
	uint64_t off;      /* in that file */
	int resident;      /* advised or used since last dropped */
} range;

typedef struct sfile {
	const char *path;
	int fd;
} sfile;

struct rs_stream {
	const rs_model *m;
	range *r;
	int n;
	sfile *files;
	int n_files;
	uint64_t budget, total, pass_bytes;
	int last;          /* the last range used, -1 none */
	/* measurements of the current pass */
	double t0, t_first;
	uint64_t io0, io_first, used;
	int layer;
	uint64_t n_ahead, n_dropped;
	double rate;       /* the disk's bytes/s as last measured (0: not yet) */
	/* the prefetcher: MADV_WILLNEED blocks while it submits the reads, so a
	 * thread of its own issues it and the computation goes on meanwhile */
	pthread_t th;
	pthread_mutex_t mu;
	pthread_cond_t cv;
	int th_up, quit;
	int want_lo, want_hi; /* ranges [lo, hi) to advise, in order */
	int *drops;           /* ranges whose page cache to drop (POSIX_FADV_DONTNEED: it waits on
			       * every CPU's LRU lists, so the thread does it, not the computation) */
	int n_drops;
	uint64_t drop_bytes;  /* queued; dropped in batches of a quarter of the budget */
};

static int file_fd(rs_stream *s, const char *path)
{
	for (int i = 0; i < s->n_files; i++)
		if (s->files[i].path == path || !strcmp(s->files[i].path, path))
			return s->files[i].fd;
	s->files = rs_xrealloc(s->files, (size_t)(s->n_files + 1) * sizeof *s->files);
	s->files[s->n_files].path = path;
	s->files[s->n_files].fd = open(path, O_RDONLY);
	return s->files[s->n_files++].fd;
}

rs_stream *stream_create(const rs_model *m, uint64_t budget)
{
	rs_stream *s = rs_xcalloc(1, sizeof *s);
	s->m = m;
	int L = m->cfg.n_layers;
	s->n = L * N_MATS + 1;
	s->r = rs_xcalloc((size_t)s->n, sizeof *s->r);
	for (int i = 0; i < s->n; i++) {
		const rs_mat *w = i < L * N_MATS ? layer_mat(&m->layers[i / N_MATS], i % N_MATS) : &m->output;
		range *r = &s->r[i];
		r->p = w->data;
		r->n = mat_bytes(w);
		r->fd = -1;
		const char *path;
		if (model_file_of(m, w->data, &path, &r->off))
			r->fd = file_fd(s, path);
	}
	s->total = model_weight_bytes(m);
	s->pass_bytes = model_pass_bytes(m);
	s->last = -1;
	s->layer = -1;
	stream_set_budget(s, budget);
	return s;
}

void stream_free(rs_stream *s)
{
	if (!s)
		return;
	if (s->th_up) {
		pthread_mutex_lock(&s->mu);
		s->quit = 1;
		pthread_cond_signal(&s->cv);
		pthread_mutex_unlock(&s->mu);
		pthread_join(s->th, NULL);
		pthread_mutex_destroy(&s->mu);
		pthread_cond_destroy(&s->cv);
	}
	for (int i = 0; i < s->n_files; i++)
		if (s->files[i].fd >= 0)
			close(s->files[i].fd);
	free(s->files);
	free(s->drops);
	free(s->r);
	free(s);
}

void stream_set_budget(rs_stream *s, uint64_t budget)
{
	s->budget = budget ? budget : rs_default_mem_budget();
}

uint64_t stream_budget(const rs_stream *s) { return s->budget; }
int stream_active(const rs_stream *s) { return s->total > s->budget; }

int stream_range(const rs_stream *s, int l, int j)
{
	return l >= s->m->cfg.n_layers ? s->n - 1 : l * N_MATS + j;
}

static void page_span(const range *r, uintptr_t *a, size_t *len)
{
	uintptr_t ps = (uintptr_t)sysconf(_SC_PAGESIZE);
	uintptr_t b = (uintptr_t)r->p & ~(ps - 1), e = ((uintptr_t)r->p + r->n + ps - 1) & ~(ps - 1);
	*a = b;
	*len = (size_t)(e - b);
}

static int by_file_offset(const void *a, const void *b, void *ctx)
{
	const range *r = ctx;
	const range *x = &r[*(const int *)a], *y = &r[*(const int *)b];
	if (x->fd != y->fd)
		return (x->fd > y->fd) - (x->fd < y->fd);
	return (x->off > y->off) - (x->off < y->off);
}

/* Drops the page cache of a batch of ranges: one posix_fadvise per run of
 * ranges that follow each other in a file (less than 1 MiB apart: the norm
 * vectors between matrices), since each call waits on every CPU. */
static void drop_batch(rs_stream *s, int *idx, int n)
{
	qsort_r(idx, (size_t)n, sizeof *idx, by_file_offset, s->r);
	for (int i = 0; i < n;) {
		const range *a = &s->r[idx[i]];
		uint64_t lo = a->off, hi = a->off + a->n;
		int j = i + 1;
		while (j < n && s->r[idx[j]].fd == a->fd && s->r[idx[j]].off <= hi + (1u << 20)) {
			uint64_t e = s->r[idx[j]].off + s->r[idx[j]].n;
			hi = e > hi ? e : hi;
			j++;
		}
		posix_fadvise(a->fd, (off_t)lo, (off_t)(hi - lo), POSIX_FADV_DONTNEED);
		i = j;
	}
}

static void *prefetcher(void *arg)
{
	rs_stream *s = arg;
	int *batch = rs_xmalloc((size_t)s->n * sizeof *batch);
	uint64_t thresh = s->budget / 4;
	pthread_mutex_lock(&s->mu);
	for (;;) {
		while (!s->quit && s->want_lo >= s->want_hi && (!s->n_drops || s->drop_bytes < thresh))
			pthread_cond_wait(&s->cv, &s->mu);
		if (s->quit)
			break;
		if (s->want_lo < s->want_hi) { /* reading ahead comes first */
			const range *r = &s->r[s->want_lo++]; /* p, n, fd, off never change */
			pthread_mutex_unlock(&s->mu);
			uintptr_t a;
			size_t len;
			page_span(r, &a, &len);
			madvise((void *)a, len, MADV_WILLNEED);
		} else {
			int n = s->n_drops;
			memcpy(batch, s->drops, (size_t)n * sizeof *batch);
			s->n_drops = 0;
			s->drop_bytes = 0;
			pthread_mutex_unlock(&s->mu);
			drop_batch(s, batch, n);
		}
		pthread_mutex_lock(&s->mu);
	}
	pthread_mutex_unlock(&s->mu);
	free(batch);
	return NULL;
}

static int ensure_thread(rs_stream *s)
{
	if (s->th_up)
		return 1;
	pthread_mutex_init(&s->mu, NULL);
	pthread_cond_init(&s->cv, NULL);
	s->want_lo = s->want_hi = 0;
	s->n_drops = 0;
	if (!s->drops)
		s->drops = rs_xmalloc((size_t)s->n * sizeof *s->drops);
	if (pthread_create(&s->th, NULL, prefetcher, s) != 0) {
		pthread_mutex_destroy(&s->mu);
		pthread_cond_destroy(&s->cv);
		return 0;
	}
	s->th_up = 1;
	return 1;
}

/* Marks range k resident and has the prefetcher advise it (in order). */
static void advise_ahead(rs_stream *s, int k)
{
	range *r = &s->r[k];
	r->resident = 1;
	s->n_ahead++;
	if (!ensure_thread(s)) { /* no thread: advise here */
		uintptr_t a;
		size_t len;
		page_span(r, &a, &len);
		madvise((void *)a, len, MADV_WILLNEED);
		return;
	}
	pthread_mutex_lock(&s->mu);
	for (int i = 0; i < s->n_drops; i++) /* wanted again: its cache stays */
		if (s->drops[i] == k) {
			s->drop_bytes -= s->r[k].n;
			s->drops[i--] = s->drops[--s->n_drops];
		}
	if (s->want_lo >= s->want_hi || k < s->want_lo || k > s->want_hi) {
		s->want_lo = k; /* a new run of ranges (a new pass, or a jump) */
		s->want_hi = k + 1;
	} else if (k == s->want_hi) {
		s->want_hi = k + 1;
	}
	pthread_cond_signal(&s->cv);
	pthread_mutex_unlock(&s->mu);
}

static void drop(rs_stream *s, range *r)
{
	uintptr_t a;
	size_t len;
	page_span(r, &a, &len);
	madvise((void *)a, len, MADV_DONTNEED); /* out of this process: RSS falls at once */
	r->resident = 0;
	if (r->fd < 0)
		return;
	if (!ensure_thread(s)) {
		posix_fadvise(r->fd, (off_t)r->off, (off_t)r->n, POSIX_FADV_DONTNEED);
	} else {
		pthread_mutex_lock(&s->mu);
		int dup = 0;
		for (int i = 0; i < s->n_drops && !dup; i++)
			dup = &s->r[s->drops[i]] == r;
		if (!dup && s->n_drops < s->n) {
			s->drops[s->n_drops++] = (int)(r - s->r);
			s->drop_bytes += r->n;
		}
		pthread_cond_signal(&s->cv);
		pthread_mutex_unlock(&s->mu);
	}
	s->n_dropped++;
}

void stream_pass_start(rs_stream *s)
{
	s->t0 = now_s();
	s->io0 = disk_read_bytes();
	s->t_first = 0;
	s->used = 0;
	s->layer = -1;
}

void stream_use(rs_stream *s, int i)
{
	if (i < 0 || i >= s->n)
		return;
	int L = s->m->cfg.n_layers;
	s->layer = i == s->n - 1 ? L : i / N_MATS;
	if (!s->t_first) { /* the disk rate is measured from the first matrix on */
		s->t_first = now_s();
		s->io_first = disk_read_bytes();
	}
	s->used += s->r[i].n;
	double t = now_s();
	uint64_t io = disk_read_bytes();
	if (t - s->t_first > 0.5 && io > s->io_first + ((uint64_t)64 << 20))
		s->rate = (double)(io - s->io_first) / (t - s->t_first);
	if (stream_active(s)) {
		/* behind: every range used before this one in pass order, and, when a
		 * new pass starts over, those after it (the end of the last pass) */
		for (int k = 0; k < s->n; k++)
			if (k != i && s->r[k].resident && (k < i || i <= s->last))
				drop(s, &s->r[k]);
		/* ahead: the ranges that follow, up to half the budget */
		uint64_t window = s->budget / 2, sum = 0;
		if (!s->r[i].resident)
			s->r[i].resident = 1; /* read now by the computation itself */
		for (int k = i + 1; k < s->n; k++) {
			sum += s->r[k].n;
			if (sum > window && k > i + 1)
				break;
			if (!s->r[k].resident)
				advise_ahead(s, k);
		}
	}
	s->last = i;
}

void stream_stats(const rs_stream *s, rs_stream_stats *st)
{
	memset(st, 0, sizeof *st);
	st->active = stream_active(s);
	st->budget = s->budget;
	st->pass_bytes = s->pass_bytes;
	uint64_t io = disk_read_bytes();
	st->disk_read = io > s->io0 ? io - s->io0 : 0;
	st->used = s->used;
	double t = now_s();
	st->seconds = s->t0 ? t - s->t0 : 0;
	st->disk_rate = s->rate;
	st->layer = s->layer;
	st->advised_ahead = s->n_ahead;
	st->dropped = s->n_dropped;
}
