/* train_backward.c - the backward pass: from the loss to every parameter. */
#include "config.h"
#include "train.h"

#include <stdlib.h>
#include <string.h>

void train_backward(train_model *m, train_acts *a, const int32_t *tokens, const int32_t *targets)
{
	if (!targets || !a->n_targets)
		return;
	/* loss = mean over targets of lse - logit[target] */
	train_xent_bwd(a->logits, a->lse, targets, a->N, m->cfg.vocab, 1.0f / (float)a->n_targets);
	train_backward_from(m, a, tokens, NULL);
}

/* A weight gradient's slice, or NULL when they are not wanted. */
#define GW(field, off) (g ? g->field + (off) : NULL)

void train_backward_from(train_model *m, train_acts *a, const int32_t *tokens, const train_tap *tap)
{
	const rs_config *c = &m->cfg;
	const train_params *p = &m->p;
	train_params *g = tap && tap->no_weight_grads ? NULL : &m->g;
	int B = a->B, T = a->T, N = a->N, d = c->d_model, H = c->n_heads, Hkv = c->n_kv_heads, hd = c->head_dim;
	int qd = H * hd, kvd = Hkv * hd, ff = c->d_ff, V = c->vocab;
	size_t Nd = (size_t)N * d;
	if (a->d_att_threads < train_threads()) {
		a->d_att_threads = train_threads();
		a->d_att = rs_xrealloc(a->d_att, sizeof(float) * (size_t)a->d_att_threads * T * T);
	}
#define TAP(site, layer, grad) \
	do { \
		if (tap && tap->fn) \
			tap->fn(tap->ctx, (site), (layer), (grad)); \
	} while (0)

	/* logits = xnf · Eᵀ (tied): dxnf = dlogits · E, dE += dlogitsᵀ · xnf */
	train_linear_bwd(a->d_xn, GW(tok_embd, 0), a->logits, a->xnf, p->tok_embd, N, d, V, 0);
	TAP(TRAIN_TAP_LNF_OUT, -1, a->d_xn);
	memset(a->d_resid, 0, sizeof(float) * Nd);
	train_rmsnorm_bwd(a->d_resid, GW(final_norm, 0), a->d_xn, a->resid + (size_t)c->n_layers * Nd, a->rmsf,
			  p->final_norm, N, d);

	for (int l = c->n_layers - 1; l >= 0; l--) {
		const float *x = a->resid + l * Nd;
		const float *xn1 = a->xn1 + l * Nd, *q = a->q + (size_t)l * N * qd, *k = a->k + (size_t)l * N * kvd;
		const float *v = a->v + (size_t)l * N * kvd, *z = a->z + (size_t)l * N * qd;
		const float *mid = a->resid_mid + l * Nd, *xn2 = a->xn2 + l * Nd;
		const float *gate = a->gate + (size_t)l * N * ff, *up = a->up + (size_t)l * N * ff;
		const float *post = a->post + (size_t)l * N * ff;
		const float *att = a->att + (size_t)l * B * H * T * T;

		TAP(TRAIN_TAP_RESID_POST, l, a->d_resid);
		/* resid_post = mid + post · W_downᵀ: d_resid flows on to mid unchanged */
		train_linear_bwd(a->d_post, GW(w_down, (size_t)l * d * ff), a->d_resid, post,
				 p->w_down + (size_t)l * d * ff, N, ff, d, 0);
		train_swiglu_bwd(a->d_gate, a->d_up, a->d_post, gate, up, (int64_t)N * ff);
		train_linear_bwd(a->d_xn, GW(w_gate, (size_t)l * ff * d), a->d_gate, xn2, p->w_gate + (size_t)l * ff * d,
				 N, d, ff, 0);
		train_linear_bwd(a->d_xn, GW(w_up, (size_t)l * ff * d), a->d_up, xn2, p->w_up + (size_t)l * ff * d, N, d,
				 ff, 1);
		train_rmsnorm_bwd(a->d_resid, GW(ffn_norm, (size_t)l * d), a->d_xn, mid, a->rms2 + (size_t)l * N,
				  p->ffn_norm + (size_t)l * d, N, d);
		TAP(TRAIN_TAP_RESID_MID, l, a->d_resid);

		/* mid = x + z · W_oᵀ; d_z lives in d_q, which attention overwrites
		 * with d_q head by head after reading that head's d_z */
		train_linear_bwd(a->d_q, GW(wo, (size_t)l * d * qd), a->d_resid, z, p->wo + (size_t)l * d * qd, N, qd, d,
				 0);
		TAP(TRAIN_TAP_Z, l, a->d_q);
		train_attention_bwd(a->d_q, a->d_k, a->d_v, a->d_att, a->d_q, att, q, k, v, B, T, H, Hkv, hd);
		/* q, k were rotated after the projection: rotate their gradients back */
		train_rope_bwd(a->d_q, B, T, H, hd, m->inv_freq);
		train_rope_bwd(a->d_k, B, T, Hkv, hd, m->inv_freq);
		train_linear_bwd(a->d_xn, GW(wq, (size_t)l * qd * d), a->d_q, xn1, p->wq + (size_t)l * qd * d, N, d, qd,
				 0);
		train_linear_bwd(a->d_xn, GW(wk, (size_t)l * kvd * d), a->d_k, xn1, p->wk + (size_t)l * kvd * d, N, d,
				 kvd, 1);
		train_linear_bwd(a->d_xn, GW(wv, (size_t)l * kvd * d), a->d_v, xn1, p->wv + (size_t)l * kvd * d, N, d,
				 kvd, 1);
		train_rmsnorm_bwd(a->d_resid, GW(attn_norm, (size_t)l * d), a->d_xn, x, a->rms1 + (size_t)l * N,
				  p->attn_norm + (size_t)l * d, N, d);
		TAP(TRAIN_TAP_RESID_PRE, l, a->d_resid);
	}
#undef TAP

	/* hook_embed: rows of E picked by the tokens (in order: repeated tokens add up) */
	for (int t = 0; t < N && g; t++) {
		float *ge = g->tok_embd + (size_t)tokens[t] * d;
		const float *dr = a->d_resid + (size_t)t * d;
		for (int i = 0; i < d; i++)
			ge[i] += dr[i];
	}
}
