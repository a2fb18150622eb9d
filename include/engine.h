/* engine.h - the stepping engine: a resumable Llama forward pass.
 *
 * The forward pass is a state machine over the stops of hooks.h. eng_step
 * computes the next hook for every position of the prompt and returns; the
 * tensors it passes are kept in an activation cache (all of them unless a
 * glob narrows it). Interventions registered on hook names are applied to a
 * hook's value as soon as it is computed, so everything downstream sees them.
 *
 * After the prompt, eng_decode appends one token at a time through the same
 * code, reading the keys and values of earlier positions from the KV cache.
 */
#ifndef RS_ENGINE_H
#define RS_ENGINE_H

#include <stdint.h>

#include "err.h"
#include "hooks.h"
#include "model.h"

typedef struct rs_engine rs_engine;

/* A tensor of the cache: row-major, shape outermost first. */
typedef struct rs_act {
	float *data;
	int n_dims;
	int shape[3];
	int64_t numel;
} rs_act;

/* Reading a cached tensor by its hook's shape class (hooks.h), so that no
 * caller indexes [T, H, hd] or [H, T, Tk] by hand. kind is the hook's kind. */
/* Heads of the tensor (query heads, or key/value heads for k, v, rot_k); 0 without a head axis. */
static inline int act_n_heads(const rs_act *a, int kind)
{
	return hook_is_attn(kind) ? a->shape[0] : hook_has_heads(kind) ? a->shape[1] : 0;
}
/* Attention [H, T, Tk]: the score or weight of query q on key k in head `head`. */
static inline float act_at(const rs_act *a, int head, int q, int k)
{
	return a->data[((int64_t)head * a->shape[1] + q) * a->shape[2] + k];
}
/* The vector at row `row` (a position; for attention, a query) in head
 * `head` (ignored without a head axis); *n gets its length (attention: Tk). */
static inline const float *act_row(const rs_act *a, int kind, int row, int head, int *n)
{
	if (hook_is_attn(kind)) {
		*n = a->shape[2];
		return a->data + ((int64_t)head * a->shape[1] + row) * a->shape[2];
	}
	if (hook_has_heads(kind)) {
		*n = a->shape[2];
		return a->data + ((int64_t)row * a->shape[1] + head) * a->shape[2];
	}
	*n = a->shape[1];
	return a->data + (int64_t)row * a->shape[1];
}

typedef enum rs_iv_kind {
	IV_ZERO,     /* set the selection to 0 */
	IV_MEAN,     /* set the selection to its mean over positions */
	IV_REPLACE,  /* set the selection to the same slice of values (e.g. another run's cache) */
	IV_ADD,      /* add scale·vector to each selected row (vector spans the last axis, or a head) */
} rs_iv_kind;

typedef struct rs_intervention {
	rs_hook hook;
	rs_iv_kind kind;
	int head;           /* -1: all; else the head axis of q/k/v/rot/z/scores/pattern */
	int pos;            /* -1: all positions (query positions for scores/pattern) */
	int index;          /* -1: all; else one entry of the last axis (an MLP neuron, a dimension) */
	const float *values;/* REPLACE: a tensor of the hook's full shape; ADD: the vector */
	int64_t n_values;   /* its length, checked against the hook's shape */
	float scale;        /* ADD only */
} rs_intervention;

rs_engine *eng_create(const rs_model *m, rs_err *err);
void eng_free(rs_engine *e);
const rs_model *eng_model(const rs_engine *e);

/* Starts a new forward pass over these tokens (the KV cache is reset).
 * Fails on token ids outside the vocabulary and on more tokens than the
 * model's context (saying how many, and the limit). Interventions stay
 * registered. */
int eng_set_prompt(rs_engine *e, const int32_t *ids, int n, rs_err *err);
int eng_n_tokens(const rs_engine *e);
const int32_t *eng_tokens(const rs_engine *e);

/* Once the pass is done, frees the working buffers (not the activation or
 * KV cache): an engine that sits showing a finished pass keeps only its
 * caches. The next pass, decode or resume allocates them again; mid-pass it
 * does nothing (the buffers are the state). */
void eng_release_scratch(rs_engine *e);

/* Which hooks the cache keeps: comma-separated globs over hook names, '!' to
 * exclude (default "*": all). Applies to the stops computed from now on. */
void eng_set_cache_filter(rs_engine *e, const char *globs);
/* Whether logits are computed for every position (default) or only the last. */
void eng_set_logits_all(rs_engine *e, int all);
/* Decode steps (eng_decode) with the token's activations quantized to 8 bits
 * before each Q4_K/Q6_K product, as llama.cpp does (off by default):
 * faster, and no longer the f32 computation of the file's weights. Prompts
 * are always exact. */
void eng_set_fast(rs_engine *e, int on);

/* Computes the next stop. Returns its stop index, or -1 when the pass is done. */
int eng_step(rs_engine *e);
/* Steps until a stop of the granularity is reached (or the end). */
int eng_step_gran(rs_engine *e, rs_gran g);
/* Runs until the stop of hook h has been computed (at once if already past it). */
int eng_run_to(rs_engine *e, rs_hook h);
/* Runs to the end; returns 0. */
int eng_run(rs_engine *e);
/* The last stop computed (-1 before hook_embed). */
int eng_stop(const rs_engine *e);
int eng_done(const rs_engine *e);

/* A hook's tensor for the prompt: from the cache, or NULL if it has not been
 * computed yet or was not cached (with eng_set_lazy, computed again instead:
 * see below). Valid until the next eng_set_prompt, eng_resume or
 * eng_release_scratch. */
const rs_act *eng_act(const rs_engine *e, rs_hook h);
/* The same, never computing: what the cache holds now. */
const rs_act *eng_act_kept(const rs_engine *e, rs_hook h);
/* Lazy: eng_act computes a hook the cache filter left out, once the pass is
 * past it (not while decoding), by resuming a scratch engine at the start of
 * the hook's layer (or of the final norm) from the cached residual stream,
 * keys and values: bit for bit what a pass that kept it holds. The filter
 * must keep blocks.*.hook_resid_pre, hook_rot_k, hook_v and the last layer's
 * hook_resid_post. */
void eng_set_lazy(rs_engine *e, int on);
/* That recomputation on request, lazy or not: the hook's tensor (cached, or
 * computed now and kept beside the cache), NULL with a message. */
const rs_act *eng_compute_act(rs_engine *e, rs_hook h, rs_err *err);
/* The bytes the recomputed hooks hold, and dropping them (their tensors go:
 * pointers to them are no longer valid). */
int64_t eng_lazy_bytes(const rs_engine *e);
void eng_drop_lazy(rs_engine *e);

/* Continues a pass from a cached state: e's prompt and state become src's as
 * they were just before stop `stop` (tokens, cache of the earlier stops where
 * e's filter keeps them, residual stream, KV cache), so the next eng_step
 * computes `stop`. A rerun from there gives the same numbers as a full run:
 * activation patching and ablation sweeps start at the layer they change.
 * src may be e itself (rewind); src must have run past stop-1 and cached the
 * tensors the state needs (the default filter keeps them). e's interventions
 * apply from `stop` on; src's are already in the cached values. */
int eng_resume(rs_engine *e, const rs_engine *src, int stop, rs_err *err);

/* Interventions: copied into the engine; returns its id (>= 0) or -1 with a
 * message when the selection does not fit the hook. */
int eng_add_intervention(rs_engine *e, const rs_intervention *iv, rs_err *err);
int eng_n_interventions(const rs_engine *e);
const rs_intervention *eng_intervention(const rs_engine *e, int i);
void eng_remove_intervention(rs_engine *e, int i);
void eng_clear_interventions(rs_engine *e);

/* After the prompt has run: appends one token at the next position and
 * returns its logits [vocab] (valid until the next call). Interventions at
 * all positions apply; those aimed at one prompt position or replacing whole
 * prompt tensors do not. Fails when the model's context is full. */
const float *eng_decode(rs_engine *e, int32_t token, rs_err *err);
/* Logits of the last position processed (prompt end or last decode). */
const float *eng_last_logits(const rs_engine *e);
/* Positions in the KV cache. */
int eng_n_past(const rs_engine *e);

/* Weights stepped from disk (stream.h): every engine has a stream, active
 * when the model's weights exceed the budget (0: the default, half the
 * physical memory; UINT64_MAX: unlimited). The numbers never change. */
struct rs_stream;
struct rs_stream *eng_stream(const rs_engine *e);
void eng_set_mem_budget(rs_engine *e, uint64_t bytes);

/* Shape of hook h for a prompt of T tokens with Tk keys. */
rs_act eng_hook_shape(const rs_model *m, rs_hook h, int T, int Tk);

#endif
