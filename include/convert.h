/* convert.h - writing models as GGUF (what llama.cpp would also load). */
#ifndef RS_CONVERT_H
#define RS_CONVERT_H

#include <stdint.h>

#include "err.h"
#include "model.h"

/* Writes a loaded model as GGUF with matrices of the given type (RS_F32,
 * RS_F16, RS_BF16 or RS_Q8_0): llama.* keys, Q/K rows in GGUF order, the
 * llama3 RoPE scaling as rope_freqs.weight, and the tokenizer when the model
 * has one. Norms stay F32. */
int convert_write_gguf(const rs_model *m, const char *path, int type, rs_err *err);

/* The general.* and llama.* keys of a model of this configuration whose
 * matrices have the given type (what llama.cpp reads), for every GGUF writer. */
struct gguf_writer;
void convert_write_llama_keys(struct gguf_writer *w, const rs_config *c, int type);

/* Writes a model of the given configuration with random weights drawn from
 * N(0, std) (norm weights 1), for benchmarks and tests. */
int convert_write_random(const rs_config *c, const char *path, int type, float std, uint64_t seed,
			 rs_err *err);

/* Named shapes with the published configurations (reference/llama-spec.md §2):
 * "llama3.2-1b", "llama3.2-3b", "llama3.1-8b", "llama3.1-70b", "llama3.1-405b",
 * and "tiny" (4 layers, d 128) for tests. Returns -1 for an unknown name. */
int convert_preset(const char *name, rs_config *c);

/* The same, written as a split model (llama.cpp's gguf-split layout, see
 * gguf.h) in parts of at most split_max bytes of tensor data: PATH without
 * ".gguf", then -00001-of-0000N.gguf. split_max 0: one file. */
int convert_write_gguf_split(const rs_model *m, const char *path, int type, uint64_t split_max, rs_err *err);
int convert_write_random_split(const rs_config *c, const char *path, int type, float std, uint64_t seed,
			       uint64_t split_max, rs_err *err);
/* The first part the last split write made (PATH-00001-of-0000N.gguf). */
extern char convert_last_split[4200];

#endif
