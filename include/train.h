/* train.h - training a Llama model in C: parameters, a batched forward pass
 * that keeps what the backward pass needs, the backward pass, AdamW with
 * warmup + cosine schedule and gradient clipping, checkpoints, GGUF export.
 *
 * The model is the core's architecture (model.h) with tied embeddings and
 * plain RoPE: RMSNorm, GQA attention with rotate-half RoPE (the Hugging Face
 * Q/K row order, as op_rope), SwiGLU MLP, no biases. Export permutes the Q/K
 * rows to the GGUF order so that model_load() reads the file back as any
 * llama.cpp GGUF, and the engine's forward agrees with train_forward.
 *
 * Threads: our loops run on core's pool (train_parallel) and every BLAS call
 * is single-threaded inside them (train_set_threads), each thread owning a
 * fixed slice of the output. So for a fixed thread count every run from the
 * same seed computes the same bits; results are not promised to match across
 * thread counts.
 */
#ifndef RS_TRAIN_H
#define RS_TRAIN_H

#include <stddef.h>
#include <stdint.h>

#include "err.h"
#include "model.h"

struct rs_tokenizer;

/* ---------------------------------------------------------------- parameters */

/* The tensors of the model, each a pointer into one block (llm.c style). */
typedef struct train_params {
	float *tok_embd;   /* (vocab, d) also the unembedding (tied) */
	float *attn_norm;  /* (layer, d) */
	float *wq;         /* (layer, H*hd, d) rows in HF (rotate-half) order */
	float *wk;         /* (layer, Hkv*hd, d) rows in HF order */
	float *wv;         /* (layer, Hkv*hd, d) */
	float *wo;         /* (layer, d, H*hd) */
	float *ffn_norm;   /* (layer, d) */
	float *w_gate;     /* (layer, ff, d) */
	float *w_up;       /* (layer, ff, d) */
	float *w_down;     /* (layer, d, ff) */
	float *final_norm; /* (d) */
} train_params;

#define TRAIN_N_TENSORS 11

typedef struct train_tensor {
	const char *name;  /* "wq" */
	int64_t numel;     /* all layers together */
	int per_layer;     /* one slice per layer */
	int decay;         /* weight decay applies (matrices, not norms) */
} train_tensor;

typedef struct train_model {
	rs_config cfg;     /* tied = 1, rope_kind = RS_ROPE_NONE */
	int64_t n_params;
	float *params;     /* (n_params) every tensor, in train_params order */
	float *grads;      /* (n_params) same layout */
	float *adam_m;     /* (n_params) AdamW first moment */
	float *adam_v;     /* (n_params) AdamW second moment */
	train_params p, g; /* views into params and grads */
	train_tensor tensors[TRAIN_N_TENSORS];
	float *inv_freq;   /* (hd/2) RoPE frequencies */
} train_model;

/* Checks that a config can be trained here (tied, no RoPE scaling...). */
int train_config_check(const rs_config *c, rs_err *err);
/* Zeroed parameters, gradients and moments. The config must pass the check. */
train_model *train_model_create(const rs_config *c);
void train_model_free(train_model *m);
/* Normal(0, 0.02) matrices, the residual outputs (wo, w_down) scaled by
 * 1/sqrt(2·layers), norms 1; a pure function of the seed. */
void train_model_init(train_model *m, uint64_t seed);
/* Tensor i of params (or of grads when grads is set) and its description. */
float *train_tensor_data(train_model *m, int i, int grads);
void train_zero_grads(train_model *m);

/* A small config for tests and quick runs (tied, theta 10000, eps 1e-5). */
rs_config train_config_make(int layers, int d_model, int heads, int kv_heads, int d_ff, int vocab,
			    int ctx);

/* ---------------------------------------------------------------- forward and backward */

/* Activations of one batch [B, T], kept for the backward pass. */
typedef struct train_acts {
	int B, T, N;       /* N = B*T rows */
	float *resid;      /* (layer+1, N, d) residual stream entering each layer; [layers] = final */
	float *rms1;       /* (layer, N) RMSNorm scale sqrt(mean(x²)+eps) before attention */
	float *xn1;        /* (layer, N, d) normalized attention input */
	float *q;          /* (layer, N, H*hd) after RoPE */
	float *k;          /* (layer, N, Hkv*hd) after RoPE */
	float *v;          /* (layer, N, Hkv*hd) */
	float *att;        /* (layer, B, H, T, T) softmax rows; 0 above the diagonal */
	float *z;          /* (layer, N, H*hd) attention output per head, before Wo */
	float *resid_mid;  /* (layer, N, d) after the attention sublayer */
	float *rms2;       /* (layer, N) */
	float *xn2;        /* (layer, N, d) normalized MLP input */
	float *gate;       /* (layer, N, ff) */
	float *up;         /* (layer, N, ff) */
	float *post;       /* (layer, N, ff) silu(gate)·up */
	float *rmsf;       /* (N) final norm scale */
	float *xnf;        /* (N, d) */
	float *logits;     /* (N, vocab); the backward pass turns it into dlogits */
	float *lse;        /* (N) log-sum-exp of each logits row */
	float *losses;     /* (N) -log p(target), 0 where the target is ignored */
	int n_targets;     /* targets counted in the mean loss */
	/* backward scratch */
	float *d_resid;    /* (N, d) gradient of the residual stream */
	float *d_xn;       /* (N, d) */
	float *d_q;        /* (N, H*hd) also d_z */
	float *d_k, *d_v;  /* (N, Hkv*hd) */
	float *d_gate;     /* (N, ff) */
	float *d_up;       /* (N, ff) */
	float *d_post;     /* (N, ff) */
	float *d_att;      /* (threads, T, T) per-thread dP / dS */
	int d_att_threads;
} train_acts;

train_acts *train_acts_create(const rs_config *c, int B, int T);
void train_acts_free(train_acts *a);

/* Forward pass over tokens [B, T] (positions 0..T-1 in each row). With
 * targets [B, T] (-1: not counted) it returns the mean cross-entropy loss;
 * without, 0. Logits stay in a->logits until train_backward. */
float train_forward(train_model *m, train_acts *a, const int32_t *tokens, const int32_t *targets);
/* Adds the gradient of the mean loss of the last train_forward to m->grads
 * (call train_zero_grads first for a fresh step). */
void train_backward(train_model *m, train_acts *a, const int32_t *tokens, const int32_t *targets);

/* The backward pass from gradients of the logits instead of the loss: a->logits
 * holds dlogits (N, V) on entry (overwritten). tap, when given, is shown the
 * gradient at each point of the stream the engine has a hook for, as the pass
 * reaches it (interp's attribution patching reads them there):
 *   TRAIN_TAP_LNF_OUT     ln_final.hook_out (N, d)
 *   TRAIN_TAP_RESID_POST  blocks.L.hook_resid_post, also hook_mlp_out (N, d)
 *   TRAIN_TAP_RESID_MID   blocks.L.hook_resid_mid, also hook_attn_out (N, d)
 *   TRAIN_TAP_Z           blocks.L.attn.hook_z (N, H*hd)
 *   TRAIN_TAP_RESID_PRE   blocks.L.hook_resid_pre (N, d)
 * With tap->no_weight_grads the weight gradients are not computed. */
enum { TRAIN_TAP_LNF_OUT, TRAIN_TAP_RESID_POST, TRAIN_TAP_RESID_MID, TRAIN_TAP_Z, TRAIN_TAP_RESID_PRE };
typedef struct train_tap {
	void (*fn)(void *ctx, int site, int layer, const float *grad);
	void *ctx;
	int no_weight_grads;
} train_tap;
void train_backward_from(train_model *m, train_acts *a, const int32_t *tokens, const train_tap *tap);

/* Threads of the trainer's loops, at most the pool's (pool_set_threads);
 * BLAS is set to one thread (see the top of this file). */
void train_set_threads(int n);
int train_threads(void);
/* Runs fn(ctx, id, nt) for id = 0..nt-1 (nt = train_threads()), one id on
 * each of the pool's threads, and returns when all are done. */
void train_parallel(void (*fn)(void *ctx, int id, int nt), void *ctx);

/* ---------------------------------------------------------------- layer kernels
 * The pieces of the passes, exposed for the gradient checks. All arrays are
 * row-major f32; backward functions add into weight gradients and write (or,
 * where said, add into) input gradients. */

/* y[n, out] = x[n, in] · W[out, in]ᵀ */
void train_linear_fwd(float *y, const float *x, const float *W, int n, int in, int out);
/* dx[n, in] = dy · W (accumulate: dx += ...); dW[out, in] += dyᵀ · x */
void train_linear_bwd(float *dx, float *dW, const float *dy, const float *x, const float *W, int n, int in,
		      int out, int accumulate);
/* y = x / scale · w, scale[t] = sqrt(mean(x[t]²) + eps); x, y (n, d) */
void train_rmsnorm_fwd(float *y, float *scale, const float *x, const float *w, int n, int d, float eps);
/* dx (n, d) += ...; dw (d) += ...; scale from the forward */
void train_rmsnorm_bwd(float *dx, float *dw, const float *dy, const float *x, const float *scale, const float *w,
		       int n, int d);
/* RoPE over rows [B, T] of n_heads heads (positions 0..T-1 each); in place.
 * The backward rotates back by the same angles (the transpose). */
void train_rope_fwd(float *x, int B, int T, int n_heads, int hd, const float *inv_freq);
void train_rope_bwd(float *dx, int B, int T, int n_heads, int hd, const float *inv_freq);
/* Causal attention with GQA: q (B*T, H*hd), k/v (B*T, Hkv*hd) -> att (B, H, T, T), z (B*T, H*hd). */
void train_attention_fwd(float *z, float *att, const float *q, const float *k, const float *v, int B, int T, int H,
			 int Hkv, int hd);
/* dq (B*T, H*hd) = ..., dk/dv (B*T, Hkv*hd) = ... (overwritten); scratch (threads, T, T).
 * dq may be dz itself: each head reads its dz before writing its dq. */
void train_attention_bwd(float *dq, float *dk, float *dv, float *scratch, const float *dz, const float *att,
			 const float *q, const float *k, const float *v, int B, int T, int H, int Hkv, int hd);
/* post = silu(gate)·up; dgate, dup (n) = ... from dpost (n). */
void train_swiglu_fwd(float *post, const float *gate, const float *up, int64_t n);
void train_swiglu_bwd(float *dgate, float *dup, const float *dpost, const float *gate, const float *up, int64_t n);
/* Cross-entropy of each row of logits (n, V): lse (n), losses (n) (0 for an
 * ignored target, -1). Returns how many targets count. */
int train_xent_fwd(float *losses, float *lse, const float *logits, const int32_t *targets, int n, int V);
/* logits (n, V) becomes dlogits = (softmax - onehot)·scale, 0 for ignored rows. */
void train_xent_bwd(float *logits, const float *lse, const int32_t *targets, int n, int V, float scale);

/* ---------------------------------------------------------------- optimizer */

typedef struct train_sched {
	float lr;          /* peak learning rate */
	float min_lr;      /* at the end of the decay */
	int warmup;        /* linear warmup steps from lr/warmup */
	int steps;         /* total steps */
	float decay_frac;  /* 0: cosine from the warmup to the end; else warmup-stable-decay:
			      the peak until the last decay_frac·steps steps, then linear to min_lr */
} train_sched;

/* Learning rate of step (0-based). */
float train_lr(const train_sched *s, int step);

typedef struct adamw_opts {
	float beta1, beta2, eps;
	float wd;          /* decoupled weight decay, matrices only */
} adamw_opts;

/* The L2 norm of all gradients. */
double train_grad_norm(const train_model *m);
/* One AdamW update with the gradients multiplied by grad_scale (clipping);
 * t is the 1-based update count for bias correction. */
void adamw_step(train_model *m, const adamw_opts *o, float lr, int t, float grad_scale);

/* ---------------------------------------------------------------- checkpoints and export */

/* What a checkpoint carries besides the model and the optimizer moments. */
typedef struct train_state {
	int step;          /* updates done */
	int total_steps;
	uint64_t seed;
	int batch;         /* B */
	int threads;
	train_sched sched;
	adamw_opts adamw;
	float clip;
	double tokens_seen;
	double seconds;    /* training time so far */
} train_state;

int train_ckpt_save(const train_model *m, const train_state *st, const char *path, rs_err *err);
/* Creates *m from the file. */
int train_ckpt_load(const char *path, train_model **m, train_state *st, rs_err *err);

/* Writes a llama GGUF (F32 or F16 matrices; norms F32) with Q/K rows in the
 * GGUF order, tied (no output.weight), and the tokenizer's keys when tok is
 * given. name goes into general.name. */
int train_export_gguf(const train_model *m, const struct rs_tokenizer *tok, const char *name, int type,
		      const char *path, rs_err *err);

/* ---------------------------------------------------------------- the training loop */

/* Token ids of a corpus: documents as BOS doc EOS, concatenated. */
typedef struct train_data {
	const int32_t *ids;  /* (n) */
	int64_t n;
	int32_t bos;         /* windows start at a BOS when bos >= 0 */
	/* Induction drills at the token level: this share of the training windows
	 * is BOS, then a span of random tokens from [rep_lo, rep_hi) repeated to
	 * the end of the window; only the repeats are targets. The corpus's own
	 * drills repeat random letters; these repeat any token, as the tests of
	 * induction heads do. 0: none. */
	float rep_frac;
	int32_t rep_lo, rep_hi;
	int64_t *starts;     /* (n_starts) window starts: BOS positions that leave T+1 tokens */
	int64_t n_starts;
} train_data;

/* A corpus file of `residual corpus build` (documents ending in a line
 * "<|end_of_text|>") as ids, each document BOS doc EOS. With use_cache the ids
 * are kept in NAME.ids beside it and reused while the text and the tokenizer
 * are the same. bos is the tokenizer's. */
int train_data_load(const char *path, const struct rs_tokenizer *tok, int use_cache, train_data *out,
		    rs_err *err);
/* Frees what train_data_load and train_data_index made. */
void train_data_free(train_data *d);
/* Finds the window starts for a context of T (frees any earlier ones). */
void train_data_index(train_data *d, int T);
void train_data_free_index(train_data *d);
/* Batch of step: B windows of T+1 tokens (or drills), a pure function of (seed, step). */
void train_data_batch(const train_data *d, uint64_t seed, int64_t step, int B, int T, int32_t *tokens,
		      int32_t *targets);

typedef struct train_run_opts {
	train_state st;          /* schedule, optimizer, seed, batch, threads, total steps */
	int T;                   /* context of the training windows */
	int ckpt_every;          /* 0: only at the end */
	int eval_every;          /* 0: only at the end */
	int eval_batches;        /* validation batches of B windows */
	int log_every;
	int stop_at;             /* > 0: stop (and save) after this step, the schedule unchanged */
	double time_budget;      /* > 0 with a warmup-stable-decay schedule: until the decay
				    starts, the total steps are re-estimated from the speed so far
				    to end after this many seconds of training */
	const char *ckpt_path;   /* NULL: no checkpoints */
	const char *out_path;    /* GGUF written at the end (and with each checkpoint) */
	const char *name;        /* general.name */
	int out_type;            /* RS_F32 or RS_F16 */
	const struct rs_tokenizer *tok;
} train_run_opts;

/* Trains m from o->st.step to o->st.total_steps; progress on stderr. */
int train_run(train_model *m, train_run_opts *o, const train_data *train, const train_data *val, rs_err *err);
/* Mean loss over n_batches fixed batches (seed-independent). */
float train_eval_loss(train_model *m, train_acts *a, const train_data *d, int n_batches);

#endif
