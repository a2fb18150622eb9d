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

typedef enum rs_hook_kind {
	HOOK_EMBED,          /* hook_embed                   [T, d] */
	HOOK_RESID_PRE,      /* blocks.L.hook_resid_pre      [T, d] */
	HOOK_LN1_SCALE,      /* blocks.L.ln1.hook_scale      [T, 1] */
	HOOK_LN1_NORM,       /* blocks.L.ln1.hook_normalized [T, d] (weight applied) */
	HOOK_Q,              /* blocks.L.attn.hook_q         [T, H, hd] before RoPE */
	HOOK_K,              /* blocks.L.attn.hook_k         [T, Hkv, hd] */
	HOOK_V,              /* blocks.L.attn.hook_v         [T, Hkv, hd] */
	HOOK_ROT_Q,          /* blocks.L.attn.hook_rot_q     [T, H, hd] after RoPE */
	HOOK_ROT_K,          /* blocks.L.attn.hook_rot_k     [T, Hkv, hd] */
	HOOK_ATTN_SCORES,    /* blocks.L.attn.hook_attn_scores [H, T, Tk] scaled, masked -inf */
	HOOK_PATTERN,        /* blocks.L.attn.hook_pattern   [H, T, Tk] softmax rows */
	HOOK_Z,              /* blocks.L.attn.hook_z         [T, H, hd] */
	HOOK_ATTN_OUT,       /* blocks.L.hook_attn_out       [T, d] */
	HOOK_RESID_MID,      /* blocks.L.hook_resid_mid      [T, d] */
	HOOK_LN2_SCALE,      /* blocks.L.ln2.hook_scale      [T, 1] */
	HOOK_LN2_NORM,       /* blocks.L.ln2.hook_normalized [T, d] */
	HOOK_MLP_PRE,        /* blocks.L.mlp.hook_pre        [T, ff] gate projection */
	HOOK_MLP_PRE_LINEAR, /* blocks.L.mlp.hook_pre_linear [T, ff] up projection */
	HOOK_MLP_POST,       /* blocks.L.mlp.hook_post       [T, ff] silu(gate)·up */
	HOOK_MLP_OUT,        /* blocks.L.hook_mlp_out        [T, d] */
	HOOK_RESID_POST,     /* blocks.L.hook_resid_post     [T, d] */
	HOOK_LNF_SCALE,      /* ln_final.hook_scale          [T, 1] */
	HOOK_LNF_NORM,       /* ln_final.hook_normalized     [T, d] */
	HOOK_LOGITS,         /* logits                       [T, vocab] */
	HOOK_N_KINDS
} rs_hook_kind;

#define HOOK_FIRST_LAYER_KIND HOOK_RESID_PRE
#define HOOK_LAST_LAYER_KIND HOOK_RESID_POST
#define HOOK_LAYER_KINDS (HOOK_RESID_POST - HOOK_RESID_PRE + 1)

typedef struct rs_hook {
	int kind;   /* rs_hook_kind */
	int layer;  /* -1 for the global hooks */
} rs_hook;

/* Stop granularity for stepping. */
typedef enum rs_gran { GRAN_HOOK, GRAN_SUBLAYER, GRAN_LAYER } rs_gran;

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
/* Whether a stop is a pause point at the given granularity. */
int hook_in_gran(int kind, rs_gran g);
/* Whether a name matches a comma-separated list of globs ('*' '?' '[..]'),
 * where a leading '!' excludes. An empty or NULL list matches everything. */
int hook_glob_match(const char *globs, const char *name);

#endif
