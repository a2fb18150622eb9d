/* interp.h - interpretability analyses over the stepping engine.
 *
 * Two kinds of entry points:
 * - queries read an engine that has run a prompt to the end with its cache
 *   (logit lens, direct logit attribution, head scores, attention statistics);
 * - experiments run private engines over a model (repeated random tokens,
 *   ablation, activation patching), so the caller's engine, prompt and
 *   interventions are left alone.
 * Results are plain structs freed by their _free function; interp_*_to_json
 * renders each one for `residual ... --json` (json.c).
 *
 * Conventions follow TransformerLens where it has one: hook names, the final
 * norm's scale frozen at its value in the run for attribution, the normalised
 * patching metric of ARENA's indirect-object exercises. Positions count from
 * 0. A metric's position -1 means the last one; a selection's -1 means all.
 */
#ifndef RS_INTERP_H
#define RS_INTERP_H

#include <stddef.h>
#include <stdint.h>

#include "engine.h"
#include "err.h"
#include "hooks.h"
#include "model.h"
#include "vec.h"

struct cJSON;

/* ---------------------------------------------------------------- common (common.c) */
/* What an experiment measures: a logit, or a logit difference, at one position. */
typedef struct interp_metric {
	int pos;        /* query position; -1: the last */
	int32_t tok;    /* the token whose logit is measured */
	int32_t tok_b;  /* -1: none; else the metric is logit[tok] - logit[tok_b] */
} interp_metric;

/* Checks the tokens against the vocabulary and the position against T. */
int interp_metric_check(const interp_metric *mt, const rs_model *m, int T, rs_err *err);
/* The position the metric reads in a prompt of T tokens. */
int interp_metric_pos(const interp_metric *mt, int T);
/* The metric on logits [rows, vocab] of a T-token prompt; rows is T, or 1
 * when only the last position's logits were computed. */
int interp_metric_eval(const interp_metric *mt, const float *logits, int rows, int T, int vocab, float *out,
		       rs_err *err);
/* The metric on the cached logits of an engine that has run to the end. */
int interp_metric_engine(const rs_engine *e, const interp_metric *mt, float *out, rs_err *err);

/* Rank of entry i of x[n]: how many entries are strictly larger (0 = top). */
int interp_rank(const float *x, int n, int32_t i);
/* A cached tensor, or NULL with a message naming the hook (not run / not cached). */
const rs_act *interp_need(const rs_engine *e, int kind, int layer, rs_err *err);

/* ---------------------------------------------------------------- logit lens (lens.c) */
enum {
	LENS_RESID_PRE = 1 << 0,
	LENS_RESID_MID = 1 << 1,
	LENS_RESID_POST = 1 << 2,
	LENS_ATTN_OUT = 1 << 3, /* a sublayer's own contribution, read through the lens */
	LENS_MLP_OUT = 1 << 4,
};
/* Which token a lens follows at each position (its logit, probability, rank). */
enum {
	LENS_TARGET_FINAL = 0, /* the model's own top token there */
	LENS_TARGET_NEXT,      /* the prompt's next token (the final top token at the last position) */
	LENS_TARGET_TOKEN,     /* lens_opts.token */
};

typedef struct lens_opts {
	unsigned sites;  /* LENS_* bits, per layer in forward order; 0: resid_pre and resid_mid of
			    every layer, then the last resid_post (TransformerLens' accumulated_resid
			    with incl_mid), so each point of the stream appears once */
	int pos;         /* -1: every position; else one */
	int top_k;       /* tokens kept per cell; 0: 5 */
	int target;      /* LENS_TARGET_* (0: the model's own top token) */
	int32_t token;   /* LENS_TARGET_TOKEN: the token followed */
} lens_opts;

/* One cell per (site, position): the site's residual vector through the final
 * RMSNorm with its own scale, then the unembedding. */
typedef struct lens_result {
	int n_sites, n_pos, top_k, vocab;
	rs_hook *sites;        /* [n_sites] */
	int *positions;        /* [n_pos] */
	int32_t *targets;      /* [n_pos] the token followed at each position */
	int32_t *top_ids;      /* [n_sites, n_pos, top_k] */
	float *top_probs;      /* [n_sites, n_pos, top_k] */
	float *top_logits;     /* [n_sites, n_pos, top_k] */
	float *target_logit;   /* [n_sites, n_pos] */
	float *target_prob;    /* [n_sites, n_pos] */
	int *target_rank;      /* [n_sites, n_pos] 1 = the lens' top token (ranks count from 1) */
	float *kl;             /* [n_sites, n_pos] KL(final ‖ lens) in nats */
	float *entropy;        /* [n_sites, n_pos] of the lens distribution, nats */
} lens_result;

lens_result *lens_run(const rs_engine *e, const lens_opts *o, rs_err *err);
void lens_free(lens_result *r);
/* Index of (site, position) cells in the [n_sites, n_pos] arrays. */
static inline int64_t lens_cell(const lens_result *r, int site, int p) { return (int64_t)site * r->n_pos + p; }
/* Logits of n residual vectors x[n, d] read through the lens: out[n, vocab]. */
void lens_apply(const rs_model *m, const float *x, int n, float *out);
/* The top token of the lens and its probability at each of T positions of
 * one site, computed over the vocabulary a slice at a time (an online
 * softmax: running maximum, rescaled sum), so that a screen can do it in
 * short pieces of idle time. lens_top_begin, then lens_top_step with the
 * same x[T, d] until it returns 0; then top[p] and prob[p] hold the result. */
typedef struct lens_top {
	int T;
	int64_t row;        /* the next vocabulary row */
	float *max;         /* [T] running maximum logit */
	double *sum;        /* [T] running sum of exp(logit - max) */
	int32_t *top;       /* [T] running top token */
	float *prob;        /* [T] its probability, once done */
} lens_top;
void lens_top_begin(lens_top *lt, int T);
int lens_top_step(lens_top *lt, const rs_model *m, const float *x, int64_t rows);
void lens_top_free(lens_top *lt);

/* The lens logits out[vocab] of one cached site (a [T, d] hook) at position pos. */
int lens_logits(const rs_engine *e, rs_hook site, int pos, float *out, rs_err *err);

/* ---------------------------------------------------------------- attribution (dla.c) */
typedef enum dla_kind { DLA_EMBED, DLA_HEAD, DLA_MLP } dla_kind;

typedef struct dla_component {
	int kind;      /* dla_kind */
	int layer;     /* -1 for the embedding */
	int head;      /* DLA_HEAD only, else -1 */
	float value;   /* contribution to the metric, in logits */
} dla_component;

/* The final residual at one position as embedding + every head's output +
 * every MLP's output, each read by the metric's unembedding direction with the
 * final norm's scale frozen: value_c = (W_U[tok] ⊙ w_final) · c / scale. */
typedef struct dla_result {
	int pos;
	int32_t tok, tok_b;
	float scale;          /* ln_final.hook_scale at pos */
	float logit;          /* the metric on the run's logits */
	float total;          /* Σ values */
	float remainder;      /* what no component explains (an intervention that edits the
				 residual stream itself), in logits: logit ≈ total + remainder */
	int n;                /* 1 + n_layers * (n_heads + 1) */
	dla_component *comp;  /* [n] in forward order: embed, L0H0.., L0 mlp, L1H0.. */
	int *order;           /* [n] indices into comp, largest value first */
} dla_result;

dla_result *dla_run(const rs_engine *e, const interp_metric *mt, rs_err *err);
void dla_free(dla_result *r);
int dla_n_components(const rs_config *c);
/* "embed", "L3H5", "L3 mlp"; returns buf. */
char *dla_component_name(const dla_component *c, char *buf, size_t n);
/* Each head's output at a layer: out[H, n_pos, d] = z_h · W_O[:, h·hd:(h+1)·hd]ᵀ,
 * for every position (pos -1, n_pos = T) or one (n_pos = 1). Σ_h = hook_attn_out. */
int interp_head_outputs(const rs_engine *e, int layer, int pos, float *out, rs_err *err);
/* The components' vectors at a position, out[dla_n_components, d], same order as comp. */
int dla_decompose(const rs_engine *e, int pos, float *out, rs_err *err);
/* Each MLP neuron's contribution to the metric at a layer: out[d_ff]
 * (its hook_post value times W_down's column read by the direction); Σ = the MLP's value. */
int dla_neurons(const rs_engine *e, const interp_metric *mt, int layer, float *out, rs_err *err);

/* ---------------------------------------------------------------- head scores (heads.c) */
/* Scores of every head from the cached hook_pattern of a prompt. Queries at
 * position 0 can only attend to themselves and are left out of the means. */
typedef struct head_scores {
	int n_layers, n_heads, T;
	float *prev;       /* [L, H] mean over queries of the attention to position - 1 */
	float *dup;        /* [L, H] mean over queries with earlier copies of their token of the
			      attention on those copies; NaN when the prompt repeats no token */
	float *induction;  /* [L, H] the same queries' attention on the tokens right after the copies */
	float *first;      /* [L, H] mean attention to position 0 */
	float *entropy;    /* [L, H] mean entropy of a query's attention, nats */
	float *entropy_q;  /* [L, H, T] entropy per query (0 at position 0) */
	int n_q;           /* the queries prev, first and entropy rest on (T - 1) */
	int n_rep;         /* the queries dup and induction rest on (with an earlier copy) */
} head_scores;

head_scores *heads_score(const rs_engine *e, rs_err *err);
void heads_free(head_scores *s);
/* The same scores from one pattern A[T, T] of a prompt ids[T]; out[5]:
 * prev, dup, induction, first, mean entropy. entropy_q[T] may be NULL. */
void heads_score_pattern(const float *A, const int32_t *ids, int T, float out[5], float *entropy_q);

/* The repeated-random-tokens experiment (ARENA 1.2): BOS (optional) then n
 * random tokens twice. An induction circuit predicts the second half. */
typedef struct rep_opts {
	int n;              /* random tokens per half; 0: 50 */
	int no_bos;         /* 1: leave out the BOS token */
	uint64_t seed;
	int32_t tok_lo;     /* tokens drawn from [tok_lo, tok_hi), never BOS or EOS; */
	int32_t tok_hi;     /* 0, 0: the whole vocabulary */
} rep_opts;

typedef struct rep_result {
	int T, n, bos;
	int32_t *tokens;     /* [T] */
	float *loss;         /* [T-1] loss[t] = -log p(tokens[t+1]) at position t */
	float loss_first;    /* mean loss of predicting the first half's tokens */
	float loss_second;   /* ... and the second half's */
	head_scores *scores; /* of this run (induction is ARENA's induction score) */
} rep_result;

rep_result *rep_run(const rs_model *m, const rep_opts *o, rs_err *err);
void rep_free(rep_result *r);

/* ---------------------------------------------------------------- ablation (ablate.c) */
typedef enum abl_site {
	ABL_HEAD,    /* a head's hook_z (so its output) */
	ABL_NEURON,  /* one entry of mlp.hook_post */
	ABL_ATTN,    /* a layer's hook_attn_out */
	ABL_MLP,     /* a layer's hook_mlp_out */
} abl_site;

typedef struct abl_target {
	int site;    /* abl_site */
	int layer;
	int index;   /* the head or the neuron; ignored for ABL_ATTN / ABL_MLP */
	int pos;     /* -1: every position */
	int mean;    /* 0: set to zero; 1: set to its mean over the prompt's positions */
} abl_target;

typedef struct abl_result {
	float base;     /* the metric without ablation */
	float ablated;  /* with all the targets ablated at once */
	float delta;    /* ablated - base */
	float p_base;   /* the probability of the metric's token at its position, without ablation */
	float p_ablated;/* ... and with the targets ablated */
} abl_result;

int abl_run(const rs_model *m, const int32_t *ids, int n, const abl_target *t, int n_t,
	    const interp_metric *mt, abl_result *out, rs_err *err);

/* One ablation per cell: [layer, head] (ABL_HEAD), [layer, neuron]
 * (ABL_NEURON: n_layers * d_ff reruns), or [layer, 1] (ABL_ATTN, ABL_MLP). */
typedef struct abl_sweep {
	int site, mean;
	int rows, cols;
	float base;
	float *value;   /* [rows, cols] the metric with that one ablated */
	float *delta;   /* [rows, cols] value - base */
	int done;       /* cells computed, in row-major order; the rest are NaN */
	double seconds;
} abl_sweep;

/* stop (may be NULL) is asked between two cells: nonzero ends the sweep
 * there, with the cells computed so far (done < rows * cols). */
abl_sweep *abl_sweep_run(const rs_model *m, const int32_t *ids, int n, int site, int mean,
			 const interp_metric *mt, int (*stop)(void *), void *stop_ctx, rs_err *err);
void abl_sweep_free(abl_sweep *s);

/* Dataset-mean ablation: the mean of hook h over prompts, per position, as a
 * tensor of the hook's shape for one prompt (for an IV_REPLACE intervention).
 * Every prompt runs on the clean model; they must all have the same number of
 * tokens. NULL (and err) when they differ or there are none. */
float *abl_mean_over(const rs_model *m, rs_hook h, int32_t *const *ids, const int *n, int n_prompts, int64_t *numel,
		     rs_err *err);
/* The same over the prompts of a text file, one a line (blank lines and lines
 * starting with # skipped), tokenized with tok_encode's flags; want_n > 0:
 * each must have that many tokens. n_prompts: how many were read. */
struct rs_tokenizer;
float *abl_mean_over_file(const rs_model *m, const struct rs_tokenizer *tok, int flags, const char *path, rs_hook h,
			  int want_n, int *n_prompts, int64_t *numel, rs_err *err);

/* ---------------------------------------------------------------- prompt files and steering (steer.c) */
/* The prompts of a text file, one a line (blank lines and lines starting
 * with # skipped), tokenized with tok_encode's flags; line: each one's line. */
typedef struct interp_prompts {
	int32_t **ids;
	int *len, *line;
	int n;
} interp_prompts;
int interp_read_prompts(const struct rs_tokenizer *tok, int flags, const char *path, interp_prompts *out,
			rs_err *err);
void interp_prompts_free(interp_prompts *p);
/* A steering vector from contrastive prompts: the mean of hook h's activation
 * over the prompts of path_a minus the mean over those of path_b (each run on
 * the clean model). The activation of a prompt is its row at the last position,
 * or with all_pos the mean of its rows at every position but the first (the
 * BOS). Prompts may differ in length. *width gets the vector's length. */
float *steer_from_files(const rs_model *m, const struct rs_tokenizer *tok, int flags, const char *path_a,
			const char *path_b, rs_hook h, int all_pos, int *n_a, int *n_b, int *width, rs_err *err);

/* ---------------------------------------------------------------- patching (patch.c) */
/* A clean and a corrupted prompt of the same length, run once each with their
 * caches; each patch reruns the corrupted prompt from the patched hook on with
 * that hook (a head, a position, or all of it) replaced by the clean run's. */
typedef struct patch_ctx patch_ctx;

patch_ctx *patch_create(const rs_model *m, const int32_t *clean, const int32_t *corrupt, int n,
			const interp_metric *mt, rs_err *err);
void patch_free(patch_ctx *p);
float patch_clean_metric(const patch_ctx *p);
float patch_corrupt_metric(const patch_ctx *p);
const rs_engine *patch_clean_engine(const patch_ctx *p);
const rs_engine *patch_corrupt_engine(const patch_ctx *p);
/* (metric - corrupted) / (clean - corrupted): 0 = as corrupted, 1 = as clean. */
float patch_normalise(const patch_ctx *p, float metric);
/* One patch (h NULL: none, a plain rerun of the corrupted prompt); head -1
 * and pos -1 patch the whole hook. *metric gets the patched run's metric;
 * patch_engine shows its logits and cache until the next patch. */
int patch_one(patch_ctx *p, const rs_hook *h, int head, int pos, float *metric, rs_err *err);
const rs_engine *patch_engine(const patch_ctx *p);

typedef struct patch_sweep {
	int kind;            /* the hook kind patched at every layer */
	int rows, cols;      /* layers × positions, or layers × heads */
	int cols_are_heads;
	int pos;             /* head sweeps: the position patched, -1 all */
	float clean, corrupt;
	float *value;        /* [rows, cols] the patched metric */
	float *norm;         /* [rows, cols] patch_normalise(value) */
	int done;            /* cells computed, in row-major order; the rest are NaN */
	double seconds;
} patch_sweep;

/* Asked between two cells of the sweeps that follow: nonzero ends a sweep
 * there, with the cells computed so far (done < rows * cols). */
void patch_set_stop(patch_ctx *p, int (*stop)(void *), void *ctx);

/* Layer × position over a [T, d] hook (resid_pre/mid/post, attn_out, mlp_out). */
patch_sweep *patch_sweep_pos(patch_ctx *p, int kind, rs_err *err);
/* Layer × head over a hook with a head axis (z, q, k, v, rot_q, rot_k, pattern),
 * at one position or all (pos -1). */
patch_sweep *patch_sweep_heads(patch_ctx *p, int kind, int pos, rs_err *err);
void patch_sweep_free(patch_sweep *s);

/* ---------------------------------------------------------------- explain (explain.c) */
/* "How did the model arrive at its answer": greedy generation, then for each
 * answer token the logit lens trajectory, direct logit attribution against a
 * runner-up, the top components' attention and writes, their zero and mean
 * ablation, and for later tokens whether they are copied from the prompt.
 * Everything composes the analyses above; nothing is worded here. */
#define EXPLAIN_MAX_ATT 3
typedef struct explain_comp {
	dla_component c;        /* kind, layer, head, value: attribution to the logit difference */
	float dla_answer;       /* the answer token's logit alone (heads and MLPs: the answer direction) */
	float zero_delta, mean_delta; /* change of the logit difference, ablated at every position */
	float p_zero, p_mean;   /* the answer's probability when ablated */
	int n_att;              /* heads: the most attended keys of the answer's position */
	int att_pos[EXPLAIN_MAX_ATT];
	float att_w[EXPLAIN_MAX_ATT];
	int n_prom;             /* heads: the tokens its output raises most through the unembedding */
	int32_t prom[EXPLAIN_MAX_ATT];
} explain_comp;

typedef struct explain_tok {
	int pos;                /* the position whose logits predict it */
	int32_t id, vs;         /* the answer token and its runner-up */
	float p, p_vs, logit_diff;
	float embed;            /* the embedding's attribution */
	float rest;             /* what the components not listed add (comp + embed + rest = logit_diff) */
	float scale;            /* the final norm's scale, frozen */
	int n_sites;
	rs_hook *sites;         /* the lens' points (resid_pre, resid_mid of each layer, last resid_post) */
	int *rank;              /* [n_sites] from 1 */
	float *prob;            /* [n_sites] */
	int first_top1, first_top5; /* site index, -1: never */
	int n_comp;
	explain_comp *comp;     /* by |attribution|, largest first */
	int copy_src;           /* an earlier position holding the token after the same token as here, or -1 */
	int ind_layer, ind_head;/* with copy_src: the head attending most from pos to copy_src */
	float ind_attn, ind_score; /* that attention; the head's induction score on this prompt */
} explain_tok;

typedef struct explain_opts {
	int n_max;              /* answer tokens, 0: 16 */
	int32_t stop1, stop2;   /* end tokens (-1: none) */
	int32_t vs;             /* the first token's runner-up, -1: the second most likely */
	int n_comp_first;       /* components examined for the first token; 0: 3 */
	int n_comp_later;       /* for each later one; 0: 2 */
	int (*stop)(void *);    /* asked between reruns: nonzero stops (the result says how far) */
	void *stop_ctx;
	void (*progress)(void *, int done, int total, double est_seconds);
	void *progress_ctx;
} explain_opts;

typedef struct explain_result {
	int n_prompt, n_ids;    /* ids = prompt, then the answer (n_ids = n_prompt + n_answer) */
	int32_t *ids;
	int n_answer;
	int ended;              /* the answer stopped at an end token (not counted in n_answer) */
	explain_tok *tok;       /* [n_answer] */
	double rerun_seconds;   /* one ablation rerun, timed */
	int stopped;            /* interrupted: tokens from n_done on have no ablation numbers */
	int n_done;
} explain_result;

explain_result *explain_run(const rs_model *m, const int32_t *prompt, int n, const explain_opts *o, rs_err *err);
void explain_free(explain_result *r);
/* The k tokens head (layer, head) raises most at pos through the unembedding
 * (its output read with the final norm's weight); returns how many. */
int interp_head_promotes(const rs_engine *e, int layer, int head, int pos, int k, int32_t *ids, rs_err *err);
/* The k tokens whose unembedding rows have the largest dot product with u[d]
 * (a direction already multiplied by the final norm's weight); returns how many. */
int interp_unembed_top(const rs_model *m, const float *u, int k, int32_t *ids);
/* "L3H2", "L3 MLP", "embed" (the names of explain's JSON). */
char *explain_comp_name(const dla_component *c, char *buf, size_t n);

/* ---------------------------------------------------------------- JSON (json.c) */
/* Optional token text for the JSON ("tok": id always, "text" when this gives one). */
typedef const char *(*interp_tok_text)(void *ud, int32_t id);

struct cJSON *interp_metric_to_json(const interp_metric *mt);
/* rows × cols floats as an array of arrays, NaN as null. */
struct cJSON *interp_json_grid(const float *v, int rows, int cols);
struct cJSON *interp_lens_to_json(const lens_result *r, interp_tok_text text, void *ud);
struct cJSON *interp_dla_to_json(const dla_result *r, int top);  /* top 0: every component */
struct cJSON *interp_heads_to_json(const head_scores *s);
struct cJSON *interp_rep_to_json(const rep_result *r, interp_tok_text text, void *ud);
struct cJSON *interp_abl_to_json(const abl_result *r, const abl_target *t, int n_t, const interp_metric *mt);
struct cJSON *interp_abl_sweep_to_json(const abl_sweep *s, const interp_metric *mt);
struct cJSON *interp_patch_sweep_to_json(const patch_sweep *s, const interp_metric *mt);
/* One patch_one result: the hook (NULL: none), head, position and metric. */
struct cJSON *interp_patch_to_json(const patch_ctx *p, const rs_hook *h, int head, int pos, float metric,
				   const interp_metric *mt);
/* explain's shape: prompt_tokens, answer (lens, components...); the caller adds the summary. */
struct cJSON *interp_explain_to_json(const explain_result *r, interp_tok_text text, void *ud);

#endif
