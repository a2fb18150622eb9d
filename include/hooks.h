/* hooks.h - hook points of the forward pass, named as TransformerLens names them.
 *
 * The stops of one forward pass, in order:
 *   hook_embed,
 *   for each layer L: blocks.L.hook_resid_pre ... blocks.L.hook_resid_post (20 stops),
 *   ln_final.hook_scale, ln_final.hook_normalized, logits.
 * Each stop has an index (0 .. hook_n_stops-1) and a hook (kind, layer).
 */
#ifndef RS_HOOKS_H
#define RS_HOOKS_H

#include <stddef.h>
#include <stdint.h>

/* Stop granularity for stepping, finest first. */
typedef enum rs_gran { GRAN_HOOK, GRAN_SUBLAYER, GRAN_LAYER } rs_gran;

/* The shape class of a hook: its layout, and the sizes it is made of. */
typedef enum rs_hook_shape {
	HSHAPE_D,      /* [T, d_model]            a row per position */
	HSHAPE_SCALE,  /* [T, 1]                  RMSNorm's 1/rms per position */
	HSHAPE_Q,      /* [T, n_heads, head_dim]  a row per position and query head */
	HSHAPE_KV,     /* [T, n_kv_heads, head_dim] a row per position and key/value head */
	HSHAPE_ATTN,   /* [n_heads, T, Tk]        a query row over the keys per head */
	HSHAPE_FF,     /* [T, d_ff] */
	HSHAPE_VOCAB,  /* [T, vocab] */
} rs_hook_shape;

/* The engine's working buffers (engine.c): where a hook's value lies right
 * after its stop. */
typedef enum rs_hook_buf {
	HBUF_RESID, HBUF_SCALE, HBUF_XN, HBUF_Q, HBUF_K, HBUF_V, HBUF_ATT, HBUF_Z,
	HBUF_ATTN_OUT, HBUF_GATE, HBUF_UP, HBUF_POST, HBUF_MLP_OUT, HBUF_LOGITS, HBUF_N
} rs_hook_buf;

/* The hook table: every fact about a kind of hook, one row each, in the
 * order of the pass (the rows from HOOK_RESID_PRE to HOOK_RESID_POST repeat
 * per layer as blocks.L.NAME).
 *   kind   name (TransformerLens)      short names (command line) shape      buffer         stops at
 */
#define RS_HOOK_TABLE(X) \
	X(HOOK_EMBED,          "hook_embed",               "embed",            HSHAPE_D,     HBUF_RESID,    GRAN_LAYER) \
	X(HOOK_RESID_PRE,      "hook_resid_pre",           "resid_pre",        HSHAPE_D,     HBUF_RESID,    GRAN_HOOK) \
	X(HOOK_LN1_SCALE,      "ln1.hook_scale",           "ln1_scale",        HSHAPE_SCALE, HBUF_SCALE,    GRAN_HOOK) \
	X(HOOK_LN1_NORM,       "ln1.hook_normalized",      "ln1",              HSHAPE_D,     HBUF_XN,       GRAN_HOOK) \
	X(HOOK_LN1_OUT,        "ln1.hook_out",             "ln1_out",          HSHAPE_D,     HBUF_XN,       GRAN_HOOK) \
	X(HOOK_Q,              "attn.hook_q",              "q",                HSHAPE_Q,     HBUF_Q,        GRAN_HOOK) \
	X(HOOK_K,              "attn.hook_k",              "k",                HSHAPE_KV,    HBUF_K,        GRAN_HOOK) \
	X(HOOK_V,              "attn.hook_v",              "v",                HSHAPE_KV,    HBUF_V,        GRAN_HOOK) \
	X(HOOK_ROT_Q,          "attn.hook_rot_q",          "rot_q",            HSHAPE_Q,     HBUF_Q,        GRAN_HOOK) \
	X(HOOK_ROT_K,          "attn.hook_rot_k",          "rot_k",            HSHAPE_KV,    HBUF_K,        GRAN_HOOK) \
	X(HOOK_ATTN_SCORES,    "attn.hook_attn_scores",    "scores attn_scores", HSHAPE_ATTN, HBUF_ATT,     GRAN_HOOK) \
	X(HOOK_PATTERN,        "attn.hook_pattern",        "pattern",          HSHAPE_ATTN,  HBUF_ATT,      GRAN_HOOK) \
	X(HOOK_Z,              "attn.hook_z",              "z",                HSHAPE_Q,     HBUF_Z,        GRAN_HOOK) \
	X(HOOK_ATTN_OUT,       "hook_attn_out",            "attn_out",         HSHAPE_D,     HBUF_ATTN_OUT, GRAN_SUBLAYER) \
	X(HOOK_RESID_MID,      "hook_resid_mid",           "resid_mid",        HSHAPE_D,     HBUF_RESID,    GRAN_SUBLAYER) \
	X(HOOK_LN2_SCALE,      "ln2.hook_scale",           "ln2_scale",        HSHAPE_SCALE, HBUF_SCALE,    GRAN_HOOK) \
	X(HOOK_LN2_NORM,       "ln2.hook_normalized",      "ln2",              HSHAPE_D,     HBUF_XN,       GRAN_HOOK) \
	X(HOOK_LN2_OUT,        "ln2.hook_out",             "ln2_out",          HSHAPE_D,     HBUF_XN,       GRAN_HOOK) \
	X(HOOK_MLP_PRE,        "mlp.hook_pre",             "mlp_pre gate pre", HSHAPE_FF,    HBUF_GATE,     GRAN_HOOK) \
	X(HOOK_MLP_PRE_LINEAR, "mlp.hook_pre_linear",      "pre_linear up",    HSHAPE_FF,    HBUF_UP,       GRAN_HOOK) \
	X(HOOK_MLP_POST,       "mlp.hook_post",            "mlp_post post",    HSHAPE_FF,    HBUF_POST,     GRAN_HOOK) \
	X(HOOK_MLP_OUT,        "hook_mlp_out",             "mlp_out",          HSHAPE_D,     HBUF_MLP_OUT,  GRAN_SUBLAYER) \
	X(HOOK_RESID_POST,     "hook_resid_post",          "resid_post",       HSHAPE_D,     HBUF_RESID,    GRAN_LAYER) \
	X(HOOK_LNF_SCALE,      "ln_final.hook_scale",      "lnf_scale",        HSHAPE_SCALE, HBUF_SCALE,    GRAN_HOOK) \
	X(HOOK_LNF_NORM,       "ln_final.hook_normalized", "ln_final lnf",     HSHAPE_D,     HBUF_XN,       GRAN_HOOK) \
	X(HOOK_LNF_OUT,        "ln_final.hook_out",        "lnf_out",          HSHAPE_D,     HBUF_XN,       GRAN_SUBLAYER) \
	X(HOOK_LOGITS,         "logits",                   "logits",           HSHAPE_VOCAB, HBUF_LOGITS,   GRAN_LAYER)

typedef enum rs_hook_kind {
#define RS_HOOK_ENUM(kind, name, shorts, shape, buf, gran) kind,
	RS_HOOK_TABLE(RS_HOOK_ENUM)
#undef RS_HOOK_ENUM
	HOOK_N_KINDS
} rs_hook_kind;

/* A row of the table. */
typedef struct rs_hook_info {
	const char *name;    /* "attn.hook_pattern" */
	const char *shorts;  /* "pattern": the command line's names, space-separated */
	rs_hook_shape shape;
	rs_hook_buf buf;     /* the working buffer holding the value right after the stop */
	rs_gran gran;        /* the coarsest granularity that stops here */
} rs_hook_info;

/* The row of a kind (NULL when out of range). */
const rs_hook_info *hook_info(int kind);

#define HOOK_FIRST_LAYER_KIND HOOK_RESID_PRE
#define HOOK_LAST_LAYER_KIND HOOK_RESID_POST
#define HOOK_LAYER_KINDS (HOOK_RESID_POST - HOOK_RESID_PRE + 1)

typedef struct rs_hook {
	int kind;   /* rs_hook_kind */
	int layer;  /* -1 for the global hooks */
} rs_hook;

int hook_n_stops(int n_layers);
rs_hook hook_at(int stop, int n_layers);
int hook_stop(rs_hook h, int n_layers);
int hook_is_layer_kind(int kind);
/* Writes the full name ("blocks.3.attn.hook_pattern") into buf; returns buf. */
char *hook_name(rs_hook h, char *buf, size_t n);
/* The name without the block prefix ("attn.hook_pattern", "hook_embed"). */
const char *hook_kind_name(int kind);
/* Parses a full name; accepts "blocks.L.x" and TransformerLens' short forms
 * ("resid_pre 3" is the command line's business, not this). -1 if unknown. */
int hook_parse(const char *name, int n_layers, rs_hook *out);
/* The same, where a negative layer counts from the end ("blocks.-1.hook_resid_post"). */
int hook_parse_rel(const char *name, int n_layers, rs_hook *out);
/* Whether a stop is a pause point at the given granularity. */
int hook_in_gran(int kind, rs_gran g);
/* The command line's forms as well: a full name, or "[blocks.]L.NAME" or a
 * bare NAME, where NAME is a kind's name ("attn.hook_pattern") or short name
 * ("pattern"); a bare NAME inside a block is in layer default_layer.
 * Returns 0, or HOOK_EUNKNOWN, HOOK_ELAYER (*bad_layer out of range) or
 * HOOK_ENOTBLOCK (a layer given to a hook outside the blocks; out->kind says
 * which). */
enum { HOOK_EUNKNOWN = -1, HOOK_ELAYER = -2, HOOK_ENOTBLOCK = -3 };
int hook_parse_loose(const char *s, int n_layers, int default_layer, rs_hook *out, long *bad_layer);
/* The kind a short name means ("pattern", "gate", "lnf"), or -1. */
int hook_parse_short(const char *word);
/* The i-th short name of the table (i from 0; NULL past the last), and its kind. */
const char *hook_short(int i, int *kind);
/* Shape classes: whether a hook has a head axis (q, k, v, rot_q, rot_k, z,
 * attn_scores, pattern), and whether it is attention-shaped [H, T, Tk]. */
rs_hook_shape hook_shape(int kind);
int hook_has_heads(int kind);
int hook_is_attn(int kind);
/* Whether a name matches a comma-separated list of globs ('*' '?' '[..]'),
 * where a leading '!' excludes. An empty or NULL list matches everything. */
int hook_glob_match(const char *globs, const char *name);

#endif
