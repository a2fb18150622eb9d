/* circuits.h - what researchers do after the basics (issue 22, parts 1 and 2):
 * circuits read from the weights, path patching, attribution patching.
 *
 * Llama specifics, said once here and in lesson 15:
 * - RMSNorm: a head reads x / rms(x) ⊙ w. The weight w of the head's layer is
 *   folded into W_Q, W_K and W_V (TransformerLens' fold_ln); the scale 1/rms
 *   is a positive number per position and is left out, except where a
 *   circuit starts from a token's embedding: that row is normalised as the
 *   norm would (x / rms(x)), so the QK entry is the score the engine computes
 *   when the embedding alone is the stream (layer 0).
 * - RoPE: q and k of one position are rotated by the same angle, which keeps
 *   their dot product, so the QK circuit without rotation is the score at
 *   relative offset 0 (the content term). How a score changes with distance
 *   is separate and not in these matrices.
 * - GQA: the K and V weights of query head h are those of key/value head
 *   h / (n_heads / n_kv_heads), shared by the heads of its group.
 * - Tied embeddings (the built-in model): W_U = W_Eᵀ. The OV circuit reads its
 *   output through the unembedding with the final norm's weight folded in.
 * Matrices are read in the file's type (dequantised a row at a time) and
 * nothing of size vocab × vocab is ever made.
 */
#ifndef RS_CIRCUITS_H
#define RS_CIRCUITS_H

#include <stdint.h>

#include "err.h"
#include "interp.h"
#include "model.h"

struct cJSON;

/* ---------------------------------------------------------------- one head's weights (circuit.c) */
/* The factors of one head, f32, the layer's ln1 weight folded into q, k, v. */
typedef struct circ_head {
	int layer, head, kv_head, hd, d;
	float *q;  /* [hd, d] W_Q rows of the head ⊙ w_ln1 */
	float *k;  /* [hd, d] W_K rows of its key/value head ⊙ w_ln1 */
	float *v;  /* [hd, d] W_V rows of its key/value head ⊙ w_ln1 */
	float *o;  /* [d, hd] the head's columns of W_O */
} circ_head;

int circ_head_load(const rs_model *m, int layer, int head, circ_head *h, rs_err *err);
void circ_head_free(circ_head *h);

/* ---------------------------------------------------------------- QK and OV circuits (circuit.c) */
enum { CIRC_QK = 0, CIRC_OV = 1 };

/* The full circuit restricted to n tokens:
 *   QK[a, b] = (W_Q ñ_a) · (W_K ñ_b) / √hd     query token a, key token b
 *   OV[a, b] = (W_U[b] ⊙ w_final) · W_O W_V ñ_a   source (attended) token a, output token b
 * with ñ_t the embedding of t normalised (x / rms(x)). */
typedef struct circ_result {
	int kind, layer, head, kv_head;
	int n;
	int32_t *tokens;   /* [n] */
	float *m;          /* [n, n] */
	float diag_share;  /* share of rows whose diagonal entry is the row's largest (ARENA's test) */
	/* OV over the whole vocabulary, where feasible (vocab·d·hd small enough): the
	 * eigenvalues of W_U W_O W_V W_E are those of the hd × hd matrix
	 * (W_E W_Vᵀ)ᵀ (W_U W_O) (AB and BA share their nonzero eigenvalues). */
	int have_eig;
	int n_eig;
	double *eig_re, *eig_im;  /* [n_eig] */
	double copy_score;        /* Σλ / Σ|λ| (Elhage et al.): 1 = a pure copier */
	double pos_share;         /* share of eigenvalues with a positive real part */
	const char *eig_note;     /* why the eigenvalues are missing (have_eig 0) */
} circ_result;

circ_result *circ_run(const rs_model *m, int kind, int layer, int head, const int32_t *tokens, int n, rs_err *err);
void circ_free(circ_result *r);

/* Eigenvalues of a real n × n matrix (row-major, double); 0, or -1 when LAPACK
 * is missing or fails. re, im [n]. */
int circ_eigen(const double *a, int n, double *re, double *im, rs_err *err);
/* Σλ/Σ|λ| and the share with a positive real part. */
void circ_copy_scores(const double *re, const double *im, int n, double *score, double *pos_share);

/* ---------------------------------------------------------------- composition (circuit.c) */
enum { COMP_Q = 0, COMP_K = 1, COMP_V = 2 };

/* Composition of a later head (receiver) with an earlier head (sender),
 * with W_QK = W_Qᵀ W_K and W_OV = W_O W_V (d × d, acting on column vectors):
 *   Q: ‖W_QKᵀ W_OV‖   K: ‖W_QK W_OV‖   V: ‖W_OV,recv W_OV,send‖
 * each over ‖·‖‖·‖ of the two, Frobenius norms, computed from hd × hd Gram
 * matrices of the factors (never d × d for a big model). */
typedef struct comp_result {
	int kind, n_layers, n_heads;
	float *score;   /* [L·H (receiver), L·H (sender)]; NaN where the sender's layer is not earlier */
	double baseline;/* the mean score of random Gaussian factors of the same shapes (seeded) */
} comp_result;

comp_result *comp_run(const rs_model *m, int kind, rs_err *err);
void comp_free(comp_result *r);
/* One score from two heads' factors. */
double comp_score(const circ_head *recv, const circ_head *send, int kind);
/* ‖A M B‖_F for A [d, r] given by its Gram AᵀA [r, r], M [r, r], B [r, d] by B Bᵀ [r, r]. */
double comp_frob(const double *ga, const double *mm, const double *gb, int r);

/* ---------------------------------------------------------------- path patching (pathpatch.c) */
/* A receiver of the sender's direct path: the q, k and/or v input of a head,
 * an MLP's input, or the logits (the final norm's input). */
enum { PP_IN_Q = 1, PP_IN_K = 2, PP_IN_V = 4 };
enum { PP_HEAD = 0, PP_MLP = 1, PP_LOGITS = 2 };
typedef struct pp_receiver {
	int kind;     /* PP_HEAD, PP_MLP, PP_LOGITS */
	int layer;
	int head;     /* PP_HEAD: a query head */
	int inputs;   /* PP_HEAD: PP_IN_* bits */
} pp_receiver;

/* The base run (the session's prompt: "corrupted" in patch's words) and the
 * source run (from PROMPT: "clean"), each with its cache. Path patching
 * (Wang et al. 2022) of sender S (a head, or an MLP) into receivers R: its output
 * changes by δ = W_O,S (z_S,source − z_S,base) at every position; a rerun of
 * the base prompt in which every receiver reads its input with δ added (the
 * q, k or v of one head alone, an MLP's input, the final norm's input) and
 * nothing else sees δ. A single receiver, or receivers of one layer, read
 * exactly what Wang's freeze-and-patch gives them; receivers in different
 * layers also see what earlier receivers changed, so with every downstream
 * component as a receiver the result is activation patching of the sender. */
typedef struct pp_ctx pp_ctx;
pp_ctx *pp_create(const rs_model *m, const int32_t *source, const int32_t *base, int n, const interp_metric *mt,
		  rs_err *err);
void pp_free(pp_ctx *p);
float pp_base_metric(const pp_ctx *p);
float pp_source_metric(const pp_ctx *p);
/* (metric - base) / (source - base): 0 = as the base run, 1 = as the source. */
float pp_normalise(const pp_ctx *p, float metric);
/* Sender (layer, head) into n receivers; *metric the rerun's metric. head -1:
 * the layer's MLP is the sender (δ = its hook_mlp_out's change). */
int pp_run(pp_ctx *p, int layer, int head, const pp_receiver *recv, int n, float *metric, rs_err *err);
/* Every component downstream of a sender: each later head's q, k and v, each
 * MLP from the sender's layer on (after it, for an MLP sender), the logits.
 * Returns how many (out may be NULL to count). */
int pp_all_downstream(const rs_config *c, int layer, int mlp_sender, pp_receiver *out);
/* Receivers as the command line and lessons write them, comma-separated:
 * L.H (q, k and v), L.H.q, L.H.k, L.H.v, L.H.qk..., L.mlp, logits, all (every
 * component downstream of the sender; sender_layer -1: none, 'all' refused).
 * *out is malloc'd. */
int pp_parse_receivers(const rs_config *c, const char *arg, int sender_layer, int mlp_sender, pp_receiver **out,
		       int *n, rs_err *err);
/* Every sender head of a layer before the first receiver's: a [L, H] grid of
 * normalised results (NaN for heads that cannot send to the receivers). */
typedef struct pp_sweep {
	int rows, cols, done;
	float base, source;
	float *value, *norm;  /* [rows, cols] */
	double seconds;
} pp_sweep;
pp_sweep *pp_sweep_senders(pp_ctx *p, const pp_receiver *recv, int n, int (*stop)(void *), void *stop_ctx,
			   rs_err *err);
void pp_sweep_free(pp_sweep *s);
/* "3.1.q", "2.mlp", "logits" */
char *pp_receiver_name(const pp_receiver *r, char *buf, size_t n);

/* ---------------------------------------------------------------- attribution patching (attrib.c) */
/* Attribution patching (Nanda 2023): for every hook, position and head, the
 * first-order estimate of patching the source (clean) value into the base
 * (corrupted) run, (a_source − a_base) · ∂metric/∂a at the base run, from one
 * forward and one backward pass. The backward pass is the trainer's
 * (train_backward_from, src/train), over an f32 copy of the engine's weights
 * with GGUF's Q/K rows put back in the rotate-half order the engine uses and
 * the engine's RoPE frequencies; it needs tied embeddings (the trainer's
 * unembedding is the embedding) and a model small enough to copy. */
typedef enum attrib_site {
	ATTRIB_RESID_PRE, ATTRIB_RESID_MID, ATTRIB_RESID_POST, ATTRIB_ATTN_OUT, ATTRIB_MLP_OUT,
	ATTRIB_Z,      /* per head */
	ATTRIB_LNF_OUT /* ln_final.hook_out: the metric is linear in it */
} attrib_site;

typedef struct attrib_result {
	int site, rows, cols;   /* layers × positions, or layers × heads (ATTRIB_Z with heads) */
	int heads, pos;         /* heads: summed over positions (pos -1) or at one position */
	float base, source;     /* the metric on the two runs (the engine's) */
	float *est;             /* [rows, cols] the estimated change of the metric */
	float *norm;            /* [rows, cols] est / (source - base) */
	float max_logit_diff;   /* the trainer's logits against the engine's, max |Δ| (a check) */
} attrib_result;

/* kind is a hook kind: resid_pre/mid/post, attn_out, mlp_out, z (heads), or
 * ln_final.hook_out (one row). heads: for z, a layer × head grid at pos (-1:
 * summed over positions); else z is layer × position summed over heads. */
attrib_result *attrib_run(const rs_model *m, const int32_t *source, const int32_t *base, int n,
			  const interp_metric *mt, int kind, int heads, int pos, rs_err *err);
void attrib_free(attrib_result *r);
/* The gradient of the metric at one hook of the base run, for tests:
 * out has the hook's shape ([T, d], or [T, H, hd] for z). */
int attrib_grad(const rs_model *m, const int32_t *ids, int n, const interp_metric *mt, rs_hook h, float *out,
		float *max_logit_diff, rs_err *err);
/* Pearson correlation of two arrays (NaN entries skipped). */
double attrib_corr(const float *a, const float *b, int n);

/* ---------------------------------------------------------------- JSON (circuit.c, pathpatch.c, attrib.c) */
typedef const char *(*circ_tok_text)(void *ud, int32_t id);
struct cJSON *circ_to_json(const circ_result *r, circ_tok_text text, void *ud);
struct cJSON *comp_to_json(const comp_result *r);
struct cJSON *pp_sweep_to_json(const pp_sweep *s, const interp_metric *mt);
struct cJSON *attrib_to_json(const attrib_result *r, const interp_metric *mt);

#endif
