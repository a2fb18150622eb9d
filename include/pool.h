/* pool.h - a small thread pool for the kernels' parallel loops.
 *
 * Why not OpenMP: OpenBLAS keeps its own threads, and OpenMP workers that
 * spin while waiting take the cores OpenBLAS needs between our kernels
 * (prefill alternates the two); these workers spin only briefly, then sleep. */
#ifndef RS_POOL_H
#define RS_POOL_H

#include <stdint.h>

/* Runs fn over [0, n) split into one contiguous range per thread (the caller
 * runs the first); returns when all are done. Serial when n < min_per_thread*2. */
void pool_for(int64_t n, int64_t min_per_thread, void (*fn)(void *ctx, int64_t begin, int64_t end), void *ctx);
/* Number of threads (caller included); set before the first pool_for. */
void pool_set_threads(int n);
int pool_threads(void);

#endif
