/* stream.h - stepping a model larger than memory, from disk.
 *
 * A tutor stops at every hook anyway, so it never needs the whole model in
 * memory: the weights stay memory-mapped, and when they exceed a memory
 * budget the engine tells the kernel what comes next and what is done. Each
 * weight matrix is a range, in the order a pass reads them (per layer: q, k,
 * v, o, gate, up, down; then the unembedding). Before a matrix is used,
 * stream_use advises the kernel ahead (MADV_WILLNEED on the ranges that
 * follow, up to half the budget) and behind (MADV_DONTNEED on the mapping and
 * POSIX_FADV_DONTNEED on the file for the ranges already used), so resident
 * memory stays about the budget's prefetch window plus the activations. The
 * numbers are the same either way: advice never changes what is read.
 *
 * The stream also measures what a pass reads from the disk (/proc/self/io)
 * and how fast, for the progress line and the estimate before a long pass.
 */
#ifndef RS_STREAM_H
#define RS_STREAM_H

#include <stddef.h>
#include <stdint.h>

#include "model.h"

/* "4G", "500M", "1.5GB", "64K", "4096" (bytes; K/M/G/T are powers of 1024),
 * "unlimited" or "off" (UINT64_MAX). 0 on success, -1 when unreadable. */
int rs_parse_size(const char *s, uint64_t *out);
/* "243 GB", "3.4 GB", "512 MB" (powers of 1000, as disks are sold). */
char *rs_format_size(double bytes, char *buf, size_t n);
/* A budget as given (powers of 1024): "4 GiB", "64 KiB", "unlimited". */
char *rs_format_budget(uint64_t b, char *buf, size_t n);
/* "0.4 s", "80 s", "12 min". */
char *rs_format_secs(double t, char *buf, size_t n);
/* Physical memory in bytes (0 when unknown). */
uint64_t rs_phys_mem(void);
/* The default budget: half the physical memory ($RESIDUAL_MEM overrides). */
uint64_t rs_default_mem_budget(void);

/* Bytes of the weight matrices a pass reads (the embedding counts one row a
 * token, so not at all), and of layer l (l == n_layers: the unembedding). */
uint64_t model_pass_bytes(const rs_model *m);
uint64_t model_layer_bytes(const rs_model *m, int l);
/* Bytes of all weight matrices (embedding included). */
uint64_t model_weight_bytes(const rs_model *m);
/* The file a weight pointer lies in, and its offset there (0 when none). */
int model_file_of(const rs_model *m, const void *p, const char **path, uint64_t *offset);

typedef struct rs_stream rs_stream;

/* Ranges of every matrix of the model, in pass order; budget 0: the default. */
rs_stream *stream_create(const rs_model *m, uint64_t budget);
void stream_free(rs_stream *s);
void stream_set_budget(rs_stream *s, uint64_t budget);
uint64_t stream_budget(const rs_stream *s);
/* Whether the weights exceed the budget (then the kernel is advised). */
int stream_active(const rs_stream *s);
/* Range index of matrix j (0..6: q k v o gate up down) of layer l; l ==
 * n_layers, j == 0: the unembedding. */
int stream_range(const rs_stream *s, int l, int j);
/* About to read range r: advise ahead and behind (when active) and count. */
void stream_use(rs_stream *s, int r);
/* A new pass (a prompt or a decoded token) starts: measurements restart. */
void stream_pass_start(rs_stream *s);

typedef struct rs_stream_stats {
	int active;
	uint64_t budget;
	uint64_t pass_bytes;    /* what one pass reads */
	uint64_t disk_read;     /* bytes read from the disk since the pass began (/proc/self/io) */
	uint64_t used;          /* bytes of the ranges used since the pass began */
	double seconds;         /* since the pass began */
	double disk_rate;       /* bytes/s read from the disk while stepping (0: not yet known) */
	int layer;              /* the layer being computed (n_layers: the unembedding; -1: none) */
	uint64_t advised_ahead, dropped; /* madvise calls, for tests */
} rs_stream_stats;
void stream_stats(const rs_stream *s, rs_stream_stats *st);

/* Resident and peak resident memory of this process, bytes (VmRSS, VmHWM). */
uint64_t rs_rss_bytes(void);
uint64_t rs_peak_rss_bytes(void);

#endif
