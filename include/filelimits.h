/* filelimits.h - the file boundary: the largest count or size residual accepts
 * from any file it reads (GGUF, safetensors, config.json, tokenizer.json,
 * lesson files), in one table.
 *
 * Every count or size read from a file is checked against this table AND
 * against the file's own size (each item takes at least a few bytes) before
 * anything is allocated or looped over; every product of such values goes
 * through RS_MUL_OK. The limits sit far above every published Llama (the
 * largest, Llama 3.1 405B, is in the third column), so no real file meets
 * them, and far below what would overflow an int or exhaust memory.
 *
 *   limit                 value     Llama 3.1 405B   what it bounds
 *   RS_MAX_LAYERS         4096      126              block_count / num_hidden_layers
 *   RS_MAX_HEADS          4096      128              attention heads, key/value heads
 *   RS_MAX_HEAD_DIM       4096      128              head_dim, key_length
 *   RS_MAX_DIM            1<<20     53248            hidden size, feed-forward size,
 *                                                    heads*head_dim (fits an int with
 *                                                    room for a product with RS_MAX_HEADS)
 *   RS_MAX_VOCAB          1<<24     128256           vocabulary (config, tokenizers)
 *   RS_MAX_CTX            1<<24     131072           context_length, max_position_embeddings
 *   RS_MAX_TENSORS        1<<20     1138             tensors in one file
 *   RS_MAX_SHARDS         4096      191              safetensors shards of one model
 *   RS_MAX_KEYS           1<<16     ~40              GGUF metadata keys
 *   RS_MAX_STRING         1<<24     ~10 KB           one string (key, value, token, name)
 *   RS_MAX_ARRAY          1<<26     280147           elements of one GGUF array
 *   RS_MAX_MERGES         1<<24     280147           BPE merges
 *   RS_MAX_TENSOR_DIM     1<<40     128256           one tensor dimension
 *   RS_MAX_JSON_BYTES     1<<30     9 MB             config.json, tokenizer.json,
 *                                                    a safetensors JSON header
 *   RS_MAX_LESSON_BYTES   1<<22     ~40 KB           one lesson file
 *   RS_MAX_LESSON_ITEMS   4096      ~40              steps, questions, commands,
 *                                                    choices in one lesson
 */
#ifndef RS_FILELIMITS_H
#define RS_FILELIMITS_H

#define RS_MAX_LAYERS 4096
#define RS_MAX_HEADS 4096
#define RS_MAX_HEAD_DIM 4096
#define RS_MAX_DIM (1 << 20)
#define RS_MAX_VOCAB (1 << 24)
#define RS_MAX_CTX (1 << 24)
#define RS_MAX_TENSORS (1u << 20)
#define RS_MAX_SHARDS 4096
#define RS_MAX_KEYS (1u << 16)
#define RS_MAX_STRING (1ull << 24)
#define RS_MAX_ARRAY (1ull << 26)
#define RS_MAX_MERGES (1 << 24)
#define RS_MAX_TENSOR_DIM (1ull << 40)
#define RS_MAX_JSON_BYTES (1ull << 30)
#define RS_MAX_LESSON_BYTES (1u << 22)
#define RS_MAX_LESSON_ITEMS 4096

/* *out = a * b, true when the product fits *out's type (any integer types:
 * the product is computed exactly, then checked). The one overflow check for
 * products of values read from files. */
#define RS_MUL_OK(a, b, out) (!__builtin_mul_overflow((a), (b), (out)))

/* Marks a function whose unsigned arithmetic wraps on purpose (hashes,
 * random numbers), so that make fuzz's -fsanitize=integer (clang) leaves it
 * alone; nothing under gcc. Keep it to such small functions. */
#if defined(__clang__)
#define RS_WRAPS __attribute__((no_sanitize("integer")))
#else
#define RS_WRAPS
#endif

#endif
