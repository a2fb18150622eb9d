/* engine.c - the resumable forward pass: one stop per hook, cache, interventions. */
#include "config.h"
#include "engine.h"
#include "stream.h"
#include "dtype.h"
#include "ops.h"
#include "kernels.h"

#include <cblas.h>
#include <math.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

typedef struct iv_slot {
	rs_intervention iv;
	float *values;     /* owned copy */
	float *mean;       /* MEAN: the means found on the prompt, reused when decoding */
	int64_t n_mean;
} iv_slot;

struct rs_engine {
	const rs_model *m;
	const rs_config *c;
	/* the prompt */
	int32_t *tokens;           /* [n_tok] */
	int n_tok;
	/* the chunk being computed: the prompt, or one decoded token */
	const int32_t *chunk;      /* [n] token ids */
	int n, pos0;               /* rows, position of the first row */
	int stop;                  /* last stop computed, -1 before hook_embed */
	int decoding;
	int32_t decode_tok;
	/* working buffers (rows = n) */
	int cap_rows;
	int64_t cap_att;
	float *resid;              /* [n, d] the residual stream */
	float *xn;                 /* [n, d] normalized input of the current sublayer */
	float *scale;              /* [n] RMSNorm scale */
	float *q;                  /* [n, H*hd] */
	float *k, *v;              /* [n, Hkv*hd] */
	float *att;                /* [H, n, Tk] scores, then pattern */
	float *z;                  /* [n, H*hd] */
	float *attn_out, *mlp_out; /* [n, d] */
	float *gate, *up, *post;   /* [n, ff] */
	float *logits;             /* [n, vocab] (or [1, vocab]) */
	float *row_tmp;            /* [max(H*hd, d)] */
	/* KV cache: [layer][kv_cap][Hkv*hd], keys after RoPE */
	float *kc, *vc;
	int kv_cap, kv_len;
	/* activation cache of the prompt: one slot per stop */
	rs_act *acts;
	int n_stops;
	char *filter;
	/* hooks the filter left out, recomputed when asked (eng_set_lazy) */
	int lazy;
	rs_act *lz;                /* [n_stops], allocated with acts */
	int logits_all, logits_rows;
	int fast;                  /* decode with 8-bit activations (eng_set_fast) */
	iv_slot *ivs;
	int n_iv;
	rs_stream *st;             /* weights from disk under a memory budget (stream.h) */
};

/* ---------------------------------------------------------------- shapes */
/* Every shape follows from the hook table's shape class (hooks.h). */
enum layout { LAY_ROWS, LAY_HEADS, LAY_ATTN };

static enum layout hook_layout(int kind)
{
	return hook_is_attn(kind) ? LAY_ATTN : hook_has_heads(kind) ? LAY_HEADS : LAY_ROWS;
}

rs_act eng_hook_shape(const rs_model *m, rs_hook h, int T, int Tk)
{
	const rs_config *c = &m->cfg;
	rs_act a = {0};
	a.n_dims = 2;
	a.shape[0] = T;
	switch (hook_shape(h.kind)) {
	case HSHAPE_SCALE:
		a.shape[1] = 1;
		break;
	case HSHAPE_Q:
		a.n_dims = 3, a.shape[1] = c->n_heads, a.shape[2] = c->head_dim;
		break;
	case HSHAPE_KV:
		a.n_dims = 3, a.shape[1] = c->n_kv_heads, a.shape[2] = c->head_dim;
		break;
	case HSHAPE_ATTN:
		a.n_dims = 3, a.shape[0] = c->n_heads, a.shape[1] = T, a.shape[2] = Tk;
		break;
	case HSHAPE_FF:
		a.shape[1] = c->d_ff;
		break;
	case HSHAPE_VOCAB:
		a.shape[1] = c->vocab;
		break;
	case HSHAPE_D:
		a.shape[1] = c->d_model;
	}
	a.numel = 1;
	for (int i = 0; i < a.n_dims; i++)
		a.numel *= a.shape[i];
	return a;
}

/* The working buffer that holds a hook's value right after its stop: the
 * table's buffer column (hooks.h); eng_step caches from it, so compute must
 * leave each hook's value there. */
static float **hook_buffer(rs_engine *e, int kind)
{
	static const size_t field[HBUF_N] = {
		[HBUF_RESID] = offsetof(rs_engine, resid), [HBUF_SCALE] = offsetof(rs_engine, scale),
		[HBUF_XN] = offsetof(rs_engine, xn), [HBUF_Q] = offsetof(rs_engine, q),
		[HBUF_K] = offsetof(rs_engine, k), [HBUF_V] = offsetof(rs_engine, v),
		[HBUF_ATT] = offsetof(rs_engine, att), [HBUF_Z] = offsetof(rs_engine, z),
		[HBUF_ATTN_OUT] = offsetof(rs_engine, attn_out), [HBUF_GATE] = offsetof(rs_engine, gate),
		[HBUF_UP] = offsetof(rs_engine, up), [HBUF_POST] = offsetof(rs_engine, post),
		[HBUF_MLP_OUT] = offsetof(rs_engine, mlp_out), [HBUF_LOGITS] = offsetof(rs_engine, logits),
	};
	const rs_hook_info *hi = hook_info(kind);
	return (float **)((char *)e + field[hi ? hi->buf : HBUF_LOGITS]);
}

/* ---------------------------------------------------------------- lifetime */
rs_engine *eng_create(const rs_model *m, rs_err *err)
{
	rs_engine *e = rs_xcalloc(1, sizeof *e);
	e->m = m;
	e->c = &m->cfg;
	e->stop = -1;
	e->logits_all = 1;
	e->n_stops = hook_n_stops(m->cfg.n_layers);
	e->acts = rs_xcalloc((size_t)e->n_stops, sizeof *e->acts);
	e->lz = rs_xcalloc((size_t)e->n_stops, sizeof *e->lz);
	e->filter = rs_xstrdup("*");
	e->st = stream_create(m, 0);
	(void)err;
	return e;
}

static void free_buffers(rs_engine *e)
{
	float **bufs[] = {&e->resid, &e->xn, &e->scale, &e->q, &e->k, &e->v, &e->att, &e->z,
			  &e->attn_out, &e->mlp_out, &e->gate, &e->up, &e->post, &e->logits, &e->row_tmp};
	for (size_t i = 0; i < sizeof bufs / sizeof *bufs; i++) {
		free(*bufs[i]);
		*bufs[i] = NULL;
	}
	e->cap_rows = 0;
	e->cap_att = 0;
}

static void clear_lazy(rs_engine *e, int from)
{
	for (int s = from; s < e->n_stops; s++) {
		free(e->lz[s].data);
		memset(&e->lz[s], 0, sizeof e->lz[s]);
	}
}

void eng_release_scratch(rs_engine *e)
{
	if (!eng_done(e)) /* mid-pass the buffers are the state */
		return;
	free_buffers(e);
	clear_lazy(e, 0);
}

void eng_set_lazy(rs_engine *e, int on) { e->lazy = on; }

static void clear_cache(rs_engine *e)
{
	for (int s = 0; s < e->n_stops; s++) {
		free(e->acts[s].data);
		memset(&e->acts[s], 0, sizeof e->acts[s]);
	}
	clear_lazy(e, 0);
}

void eng_free(rs_engine *e)
{
	if (!e)
		return;
	free_buffers(e);
	clear_cache(e);
	eng_clear_interventions(e);
	free(e->acts);
	free(e->lz);
	free(e->kc);
	free(e->vc);
	free(e->tokens);
	free(e->filter);
	free(e->ivs);
	stream_free(e->st);
	free(e);
}

rs_stream *eng_stream(const rs_engine *e) { return e->st; }
void eng_set_mem_budget(rs_engine *e, uint64_t bytes) { stream_set_budget(e->st, bytes); }

const rs_model *eng_model(const rs_engine *e) { return e->m; }
int eng_n_tokens(const rs_engine *e) { return e->n_tok; }
const int32_t *eng_tokens(const rs_engine *e) { return e->tokens; }
int eng_stop(const rs_engine *e) { return e->stop; }
int eng_done(const rs_engine *e) { return e->stop == e->n_stops - 1; }
int eng_n_past(const rs_engine *e) { return e->kv_len; }

void eng_set_cache_filter(rs_engine *e, const char *globs)
{
	free(e->filter);
	e->filter = rs_xstrdup(globs ? globs : "*");
}

void eng_set_logits_all(rs_engine *e, int all) { e->logits_all = all; }
void eng_set_fast(rs_engine *e, int on) { e->fast = on; }

static float *grow(float *p, int64_t n)
{
	return rs_xrealloc(p, sizeof(float) * (size_t)(n > 0 ? n : 1));
}

static void ensure_rows(rs_engine *e, int n, int Tk)
{
	const rs_config *c = e->c;
	if (n > e->cap_rows) {
		int64_t d = c->d_model, qd = (int64_t)c->n_heads * c->head_dim, kvd = (int64_t)c->n_kv_heads * c->head_dim;
		e->resid = grow(e->resid, n * d);
		e->xn = grow(e->xn, n * d);
		e->scale = grow(e->scale, n);
		e->q = grow(e->q, n * qd);
		e->k = grow(e->k, n * kvd);
		e->v = grow(e->v, n * kvd);
		e->z = grow(e->z, n * qd);
		e->attn_out = grow(e->attn_out, n * d);
		e->mlp_out = grow(e->mlp_out, n * d);
		e->gate = grow(e->gate, n * (int64_t)c->d_ff);
		e->up = grow(e->up, n * (int64_t)c->d_ff);
		e->post = grow(e->post, n * (int64_t)c->d_ff);
		e->logits = grow(e->logits, n * (int64_t)c->vocab);
		e->row_tmp = grow(e->row_tmp, qd > d ? qd : d);
		e->cap_rows = n;
	}
	int64_t att = (int64_t)c->n_heads * n * Tk;
	if (att > e->cap_att) {
		e->att = grow(e->att, att);
		e->cap_att = att;
	}
}

static void ensure_kv(rs_engine *e, int need)
{
	if (need <= e->kv_cap)
		return;
	const rs_config *c = e->c;
	int cap = e->kv_cap ? e->kv_cap : 64;
	while (cap < need)
		cap *= 2;
	size_t kvd = (size_t)c->n_kv_heads * c->head_dim;
	float *kc = rs_xcalloc((size_t)c->n_layers * cap * kvd, sizeof(float));
	float *vc = rs_xcalloc((size_t)c->n_layers * cap * kvd, sizeof(float));
	for (int l = 0; l < c->n_layers && e->kv_len; l++) {
		memcpy(kc + l * cap * kvd, e->kc + l * e->kv_cap * kvd, sizeof(float) * e->kv_len * kvd);
		memcpy(vc + l * cap * kvd, e->vc + l * e->kv_cap * kvd, sizeof(float) * e->kv_len * kvd);
	}
	free(e->kc);
	free(e->vc);
	e->kc = kc;
	e->vc = vc;
	e->kv_cap = cap;
}

int eng_set_prompt(rs_engine *e, const int32_t *ids, int n, rs_err *err)
{
	if (n <= 0)
		return rs_fail(err, "the prompt has no tokens");
	if (n > e->c->max_ctx) /* the caches would grow past what the model was made for */
		return rs_fail(err, "the prompt has %d tokens but the model's context is %d", n, e->c->max_ctx);
	for (int i = 0; i < n; i++)
		if (ids[i] < 0 || ids[i] >= e->c->vocab)
			return rs_fail(err, "token id %d at position %d is out of range (vocabulary of %d)", ids[i], i,
				       e->c->vocab);
	e->tokens = rs_xrealloc(e->tokens, sizeof(int32_t) * (size_t)n);
	memcpy(e->tokens, ids, sizeof(int32_t) * (size_t)n);
	e->n_tok = n;
	clear_cache(e);
	for (int i = 0; i < e->n_iv; i++) { /* means are of the previous prompt */
		free(e->ivs[i].mean);
		e->ivs[i].mean = NULL;
	}
	e->kv_len = 0;
	ensure_kv(e, n);
	ensure_rows(e, n, n);
	e->chunk = e->tokens;
	e->n = n;
	e->pos0 = 0;
	e->decoding = 0;
	e->stop = -1;
	e->logits_rows = e->logits_all ? n : 1;
	stream_pass_start(e->st);
	return 0;
}

/* ---------------------------------------------------------------- interventions */
int eng_add_intervention(rs_engine *e, const rs_intervention *iv, rs_err *err)
{
	const rs_config *c = e->c;
	rs_hook h = iv->hook;
	char name[96];
	if (h.kind < 0 || h.kind >= HOOK_N_KINDS || (hook_is_layer_kind(h.kind) && (h.layer < 0 || h.layer >= c->n_layers)))
		return rs_fail(err, "intervention on a hook that does not exist (kind %d, layer %d)", h.kind, h.layer);
	if (!hook_is_layer_kind(h.kind))
		h.layer = -1;
	hook_name(h, name, sizeof name);
	enum layout lay = hook_layout(h.kind);
	rs_act shape = eng_hook_shape(e->m, h, 1, 1);
	int heads = lay == LAY_ATTN ? shape.shape[0] : lay == LAY_HEADS ? shape.shape[1] : 0;
	int width = lay == LAY_HEADS ? shape.shape[2] : lay == LAY_ROWS ? shape.shape[1] : 0;
	if (iv->head >= 0 && (lay == LAY_ROWS || iv->head >= heads))
		return rs_fail(err, "%s: head %d does not exist (%s)", name, iv->head,
			       lay == LAY_ROWS ? "this hook has no head axis" : "out of range");
	if (iv->index >= 0 && lay != LAY_ATTN && iv->index >= width)
		return rs_fail(err, "%s: index %d is out of range (last axis has %d entries)", name, iv->index, width);
	if (iv->pos < -1)
		return rs_fail(err, "%s: position %d is negative", name, iv->pos);
	if (lay == LAY_ATTN && (iv->kind == IV_MEAN || iv->kind == IV_ADD))
		return rs_fail(err, "%s: mean ablation and adding a vector are not defined for attention patterns", name);
	if (iv->kind == IV_ADD) {
		int64_t want = iv->index >= 0 ? 1 : lay == LAY_HEADS && iv->head < 0 ? (int64_t)heads * width : width;
		if (!iv->values || iv->n_values != want)
			return rs_fail(err, "%s: the vector to add has %lld entries, the hook needs %lld", name,
				       (long long)iv->n_values, (long long)want);
	}
	if (iv->kind == IV_REPLACE && (!iv->values || iv->n_values <= 0))
		return rs_fail(err, "%s: replacing needs the values of a run", name);
	e->ivs = rs_xrealloc(e->ivs, sizeof *e->ivs * (size_t)(e->n_iv + 1));
	iv_slot *s = &e->ivs[e->n_iv];
	memset(s, 0, sizeof *s);
	s->iv = *iv;
	s->iv.hook = h;
	if (iv->values) {
		s->values = rs_xmalloc(sizeof(float) * (size_t)iv->n_values);
		memcpy(s->values, iv->values, sizeof(float) * (size_t)iv->n_values);
		s->iv.values = s->values;
	}
	return e->n_iv++;
}

int eng_n_interventions(const rs_engine *e) { return e->n_iv; }

const rs_intervention *eng_intervention(const rs_engine *e, int i)
{
	return i >= 0 && i < e->n_iv ? &e->ivs[i].iv : NULL;
}

void eng_remove_intervention(rs_engine *e, int i)
{
	if (i < 0 || i >= e->n_iv)
		return;
	free(e->ivs[i].values);
	free(e->ivs[i].mean);
	memmove(&e->ivs[i], &e->ivs[i + 1], sizeof *e->ivs * (size_t)(e->n_iv - i - 1));
	e->n_iv--;
}

void eng_clear_interventions(rs_engine *e)
{
	while (e->n_iv)
		eng_remove_intervention(e, e->n_iv - 1);
}

/* Applies one intervention to a freshly computed tensor of shape sh. Its
 * rows are the last sh.shape[0] of the n positions: all of them, except for
 * logits computed for the last position only (row 0 is position n-1). */
static void apply_iv(rs_engine *e, iv_slot *s, float *x, rs_act sh)
{
	const rs_intervention *iv = &s->iv;
	enum layout lay = hook_layout(iv->hook.kind);
	int n = e->n;
	if (e->decoding && (iv->pos >= 0 || iv->kind == IV_REPLACE))
		return; /* aimed at prompt positions */
	if (iv->pos >= n)
		return; /* the prompt is shorter than the position: inactive */
	if (iv->kind == IV_REPLACE && iv->n_values != sh.numel)
		return; /* values of a prompt of another length: inactive */
	if (lay == LAY_ATTN) {
		int H = sh.shape[0], Tk = sh.shape[2];
		if (iv->index >= Tk)
			return;
		for (int h = 0; h < H; h++) {
			if (iv->head >= 0 && h != iv->head)
				continue;
			for (int t = 0; t < n; t++) {
				if (iv->pos >= 0 && t != iv->pos)
					continue;
				for (int j = 0; j < Tk; j++) {
					if (iv->index >= 0 && j != iv->index)
						continue;
					size_t o = ((size_t)h * n + t) * Tk + j;
					x[o] = iv->kind == IV_ZERO ? 0.0f : iv->values[o];
				}
			}
		}
		return;
	}
	/* rows: [rows, groups, width] with groups = heads (or 1) */
	int rows = sh.shape[0] < n ? sh.shape[0] : n, first = n - rows;
	int groups = lay == LAY_HEADS ? sh.shape[1] : 1;
	int width = lay == LAY_HEADS ? sh.shape[2] : sh.shape[1];
	int64_t row = (int64_t)groups * width;
	if (iv->kind == IV_MEAN && !e->decoding) {
		free(s->mean);
		s->mean = rs_xcalloc((size_t)row, sizeof(float));
		s->n_mean = row;
		for (int r = 0; r < rows; r++)
			for (int64_t i = 0; i < row; i++)
				s->mean[i] += x[r * row + i];
		for (int64_t i = 0; i < row; i++)
			s->mean[i] /= (float)rows;
	}
	if (iv->kind == IV_MEAN && !s->mean)
		return;
	for (int r = 0; r < rows; r++) {
		int t = first + r; /* the position of row r */
		if (iv->pos >= 0 && t != iv->pos)
			continue;
		for (int g = 0; g < groups; g++) {
			if (iv->head >= 0 && g != iv->head)
				continue;
			for (int i = 0; i < width; i++) {
				if (iv->index >= 0 && i != iv->index)
					continue;
				int64_t o = (int64_t)g * width + i;
				float *dst = &x[r * row + o];
				switch (iv->kind) {
				case IV_ZERO: *dst = 0; break;
				case IV_MEAN: *dst = s->mean[o]; break;
				case IV_REPLACE: *dst = iv->values[r * row + o]; break;
				case IV_ADD: {
					int64_t vi = iv->index >= 0 ? 0 : iv->n_values == width ? i : o;
					*dst += iv->scale * iv->values[vi];
					break;
				}
				}
			}
		}
	}
}

/* ---------------------------------------------------------------- the stops */
/* A product with a weight matrix: the exact f32 one, or, decoding with
 * eng_set_fast, the 8-bit one of kernels_q8.c. */
static void matmul(rs_engine *e, float *y, const float *x, const rs_mat *W, int n)
{
	if (e->fast && e->decoding && n == 1)
		kern_matvec_q8(y, x, W);
	else
		op_matmul(y, x, W, n);
}

static void project(rs_engine *e, float *out, const rs_mat *W, int qk_heads)
{
	matmul(e, out, e->xn, W, e->n);
	if (qk_heads && e->m->qk_interleaved) {
		int hd = e->c->head_dim, w = qk_heads * hd;
		for (int t = 0; t < e->n; t++) {
			memcpy(e->row_tmp, out + (size_t)t * w, sizeof(float) * (size_t)w);
			rope_unpermute(out + (size_t)t * w, e->row_tmp, qk_heads, hd);
		}
	}
}

static void attention_scores(rs_engine *e, int layer)
{
	const rs_config *c = e->c;
	int n = e->n, H = c->n_heads, hd = c->head_dim, Tk = e->pos0 + n, rep = c->n_heads / c->n_kv_heads;
	int kvd = c->n_kv_heads * hd;
	const float *K = e->kc + (size_t)layer * e->kv_cap * kvd;
	float sc = 1.0f / sqrtf((float)hd);
	if (n == 1) /* decode: nothing to mask */
		kern_attn_scores1(e->att, e->q, K, H, rep, hd, kvd, Tk, sc);
	for (int h = 0; h < H && n >= 2; h++) {
		const float *Kh = K + (h / rep) * hd;
		float *A = e->att + (size_t)h * n * Tk;
		if (!kern_sgemm(n, Tk, hd, e->q + h * hd, H * hd, Kh, kvd, 0, A, Tk, sc))
			cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, n, Tk, hd, sc, e->q + h * hd, H * hd, Kh,
				    kvd, 0.0f, A, Tk);
		for (int i = 0; i < n; i++) /* causal: query at pos0+i sees keys 0..pos0+i */
			for (int j = e->pos0 + i + 1; j < Tk; j++)
				A[(size_t)i * Tk + j] = -INFINITY;
	}
}

static void attention_z(rs_engine *e, int layer)
{
	const rs_config *c = e->c;
	int n = e->n, H = c->n_heads, hd = c->head_dim, Tk = e->pos0 + n, rep = c->n_heads / c->n_kv_heads;
	int kvd = c->n_kv_heads * hd;
	const float *V = e->vc + (size_t)layer * e->kv_cap * kvd;
	if (n == 1) { /* decode */
		kern_attn_z1(e->z, e->att, V, H, rep, hd, kvd, Tk);
		return;
	}
	for (int h = 0; h < H; h++) {
		const float *Vh = V + (h / rep) * hd;
		const float *P = e->att + (size_t)h * n * Tk;
		if (!kern_sgemm(n, hd, Tk, P, Tk, Vh, kvd, 1, e->z + h * hd, H * hd, 1.0f))
			cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, n, hd, Tk, 1.0f, P, Tk, Vh, kvd, 0.0f,
				    e->z + h * hd, H * hd);
	}
}

static void store_kv(rs_engine *e, float *cache, const float *src, int layer)
{
	size_t kvd = (size_t)e->c->n_kv_heads * e->c->head_dim;
	memcpy(cache + ((size_t)layer * e->kv_cap + e->pos0) * kvd, src, sizeof(float) * kvd * (size_t)e->n);
}

static void add_rows(float *dst, const float *src, int64_t n)
{
	for (int64_t i = 0; i < n; i++)
		dst[i] += src[i];
}

/* ---------------------------------------------------------------- the forward pass
 * One stop per hook, in the order of the hook table (hooks.h). For the n rows
 * x of the chunk (positions pos0 .. pos0+n-1), d = d_model, H query heads and
 * Hkv key/value heads of hd dims, in the maths of llama2.c's run.c:
 *
 *   hook_embed          x = tok_embd[token]                               [n, d]
 *   for each layer L:
 *     hook_resid_pre    x
 *     ln1.hook_scale    s = sqrt(mean(x^2) + eps)                          [n, 1]
 *     ln1.hook_normalized  xn = x / s (TransformerLens's value)             [n, d]
 *     ln1.hook_out      xn = xn * attn_norm (what the projections read)      [n, d]
 *     attn.hook_q/k/v   q = xn Wq^T, k = xn Wk^T, v = xn Wv^T   [n, H|Hkv, hd]
 *                       (GGUF's interleaved Q/K rows are put back in the
 *                       rotate-half order here, after the matmul: project)
 *     attn.hook_rot_q/k q, k rotated by RoPE at their positions; k and v go
 *                       to the KV cache
 *     attn.hook_attn_scores  a[h,i,j] = q_h[i] . k_{h/(H/Hkv)}[j] / sqrt(hd),
 *                       -inf for j > pos0+i (causal)                       [H, n, Tk]
 *     attn.hook_pattern p = softmax over j of a                            [H, n, Tk]
 *     attn.hook_z       z_h[i] = sum_j p[h,i,j] v_{h/(H/Hkv)}[j]           [n, H, hd]
 *     hook_attn_out     o = z Wo^T                                         [n, d]
 *     hook_resid_mid    x = x + o
 *     ln2.hook_scale, ln2.hook_normalized, ln2.hook_out   as ln1, with ffn_norm
 *     mlp.hook_pre      g = xn Wgate^T                                     [n, ff]
 *     mlp.hook_pre_linear  u = xn Wup^T                                    [n, ff]
 *     mlp.hook_post     m = silu(g) * u                                    [n, ff]
 *     hook_mlp_out      f = m Wdown^T                                      [n, d]
 *     hook_resid_post   x = x + f
 *   ln_final.hook_scale, ln_final.hook_normalized, ln_final.hook_out   as ln1,
 *                       with final_norm
 *   logits              xn Wout^T for the last row (every row when asked)  [rows, vocab]
 *
 * compute() does one line of this; eng_step then applies the interventions
 * on that hook and caches the buffer the hook table names for it. */
static void compute(rs_engine *e, rs_hook h)
{
	const rs_model *m = e->m;
	const rs_config *c = e->c;
	int n = e->n, d = c->d_model;
	const rs_layer *L = h.layer >= 0 ? &m->layers[h.layer] : NULL;
	int64_t nd = (int64_t)n * d;
	switch (h.kind) {
	case HOOK_EMBED:
		for (int t = 0; t < n; t++)
			mat_row(&m->tok_embd, e->chunk[t], e->resid + (size_t)t * d);
		return;
	case HOOK_RESID_PRE:
		return;
	case HOOK_LN1_SCALE: case HOOK_LN2_SCALE: case HOOK_LNF_SCALE:
		op_rms_scale(e->scale, e->resid, n, d, c->rms_eps);
		return;
	case HOOK_LN1_NORM: case HOOK_LN2_NORM: case HOOK_LNF_NORM:
		op_rms_normalize(e->xn, e->resid, e->scale, n, d);
		return;
	case HOOK_LN1_OUT:
		op_rms_weight(e->xn, L->attn_norm, n, d);
		return;
	case HOOK_LN2_OUT:
		op_rms_weight(e->xn, L->ffn_norm, n, d);
		return;
	case HOOK_LNF_OUT:
		op_rms_weight(e->xn, m->final_norm, n, d);
		return;
	case HOOK_Q:
		project(e, e->q, &L->wq, c->n_heads);
		return;
	case HOOK_K:
		project(e, e->k, &L->wk, c->n_kv_heads);
		return;
	case HOOK_V:
		project(e, e->v, &L->wv, 0);
		return;
	case HOOK_ROT_Q:
		op_rope(e->q, n, c->n_heads, c->head_dim, m->inv_freq, e->pos0);
		return;
	case HOOK_ROT_K:
		op_rope(e->k, n, c->n_kv_heads, c->head_dim, m->inv_freq, e->pos0);
		return;
	case HOOK_ATTN_SCORES:
		attention_scores(e, h.layer);
		return;
	case HOOK_PATTERN:
		op_softmax_rows(e->att, c->n_heads * n, e->pos0 + n);
		return;
	case HOOK_Z:
		attention_z(e, h.layer);
		return;
	case HOOK_ATTN_OUT:
		matmul(e, e->attn_out, e->z, &L->wo, n);
		return;
	case HOOK_RESID_MID:
		add_rows(e->resid, e->attn_out, nd);
		return;
	case HOOK_MLP_PRE:
		matmul(e, e->gate, e->xn, &L->w_gate, n);
		return;
	case HOOK_MLP_PRE_LINEAR:
		matmul(e, e->up, e->xn, &L->w_up, n);
		return;
	case HOOK_MLP_POST:
		op_swiglu(e->post, e->gate, e->up, (int64_t)n * c->d_ff);
		return;
	case HOOK_MLP_OUT:
		matmul(e, e->mlp_out, e->post, &L->w_down, n);
		return;
	case HOOK_RESID_POST:
		add_rows(e->resid, e->mlp_out, nd);
		return;
	case HOOK_LOGITS: {
		int rows = e->decoding ? 1 : e->logits_rows;
		if (!e->logits) /* the last pass's went to the cache (eng_step) */
			e->logits = grow(NULL, (int64_t)e->cap_rows * c->vocab);
		matmul(e, e->logits, e->xn + (size_t)(n - rows) * d, &m->output, rows);
		return;
	}
	}
}

/* Which weight matrix a hook reads (stream.h order), -1 for none. */
static int weight_of(int kind)
{
	switch (kind) {
	case HOOK_Q: return 0;
	case HOOK_K: return 1;
	case HOOK_V: return 2;
	case HOOK_ATTN_OUT: return 3;
	case HOOK_MLP_PRE: return 4;
	case HOOK_MLP_PRE_LINEAR: return 5;
	case HOOK_MLP_OUT: return 6;
	case HOOK_LOGITS: return 0;
	default: return -1;
	}
}

int eng_step(rs_engine *e)
{
	if (!e->n || e->stop >= e->n_stops - 1)
		return -1;
	int s = e->stop + 1;
	rs_hook h = hook_at(s, e->c->n_layers);
	int Tk = e->pos0 + e->n;
	int mat = weight_of(h.kind);
	if (mat >= 0)
		stream_use(e->st, stream_range(e->st, h.kind == HOOK_LOGITS ? e->c->n_layers : h.layer, mat));
	compute(e, h);
	float *x = *hook_buffer(e, h.kind);
	rs_act sh = eng_hook_shape(e->m, h, e->n, Tk);
	if (h.kind == HOOK_LOGITS && !e->decoding) {
		sh.shape[0] = e->logits_rows;
		sh.numel = (int64_t)e->logits_rows * sh.shape[1];
	}
	for (int i = 0; i < e->n_iv; i++)
		if (e->ivs[i].iv.hook.kind == h.kind && e->ivs[i].iv.hook.layer == h.layer)
			apply_iv(e, &e->ivs[i], x, sh);
	if (h.kind == HOOK_V)
		store_kv(e, e->vc, e->v, h.layer);
	if (h.kind == HOOK_ROT_K)
		store_kv(e, e->kc, e->k, h.layer);
	if (h.kind == HOOK_RESID_POST && h.layer == e->c->n_layers - 1)
		e->kv_len = e->pos0 + e->n;
	if (!e->decoding) {
		char name[96];
		if (hook_glob_match(e->filter, hook_name(h, name, sizeof name))) {
			rs_act *a = &e->acts[s];
			*a = sh;
			if (h.kind == HOOK_LOGITS) {
				/* [rows, vocab] is the biggest tensor of a short prompt (31 MiB at
				 * 64 tokens of a 128K vocabulary): the cache takes the buffer itself
				 * rather than a copy; the next pass allocates another */
				a->data = e->logits;
				e->logits = NULL;
			} else {
				a->data = rs_xmalloc(sizeof(float) * (size_t)sh.numel);
				memcpy(a->data, x, sizeof(float) * (size_t)sh.numel);
			}
		}
	}
	e->stop = s;
	return s;
}

int eng_step_gran(rs_engine *e, rs_gran g)
{
	int s;
	while ((s = eng_step(e)) >= 0)
		if (hook_in_gran(hook_at(s, e->c->n_layers).kind, g))
			return s;
	return -1;
}

int eng_run_to(rs_engine *e, rs_hook h)
{
	int target = hook_stop(h, e->c->n_layers);
	while (e->stop < target && eng_step(e) >= 0)
		;
	return e->stop;
}

int eng_run(rs_engine *e)
{
	while (eng_step(e) >= 0)
		;
	return 0;
}

/* The stop of h if the pass has computed it, else -1. */
static int computed_stop(const rs_engine *e, rs_hook *h)
{
	if (hook_is_layer_kind(h->kind) && (h->layer < 0 || h->layer >= e->c->n_layers))
		return -1;
	if (!hook_is_layer_kind(h->kind))
		h->layer = -1;
	int s = hook_stop(*h, e->c->n_layers);
	return s < 0 || s >= e->n_stops || s > e->stop ? -1 : s;
}

const rs_act *eng_act_kept(const rs_engine *e, rs_hook h)
{
	int s = computed_stop(e, &h);
	return s < 0 ? NULL : e->acts[s].data ? &e->acts[s] : e->lz[s].data ? &e->lz[s] : NULL;
}

/* A hook the filter left out, computed again: a scratch engine resumes this
 * pass at the start of the hook's segment (its layer, or the final norm)
 * from the cached residual stream and keys and values, with the same
 * interventions, and runs to it. The same kernels on the same inputs: the
 * same bits as a pass that kept it. */
static const rs_act *recompute(rs_engine *e, rs_hook h, int s, rs_err *err)
{
	rs_engine *x = eng_create(e->m, err);
	if (!x)
		return NULL;
	char name[96];
	eng_set_mem_budget(x, stream_budget(e->st));
	eng_set_cache_filter(x, hook_name(h, name, sizeof name));
	eng_set_logits_all(x, e->logits_all);
	int ok = 1;
	for (int i = 0; ok && i < e->n_iv; i++)
		ok = eng_add_intervention(x, &e->ivs[i].iv, err) >= 0;
	int seg = hook_is_layer_kind(h.kind) ? hook_stop((rs_hook){HOOK_RESID_PRE, h.layer}, e->c->n_layers)
					     : hook_stop((rs_hook){HOOK_LNF_SCALE, -1}, e->c->n_layers);
	if (ok && !eng_resume(x, e, seg, err)) {
		if (eng_run_to(x, h) >= s && x->acts[s].data) {
			e->lz[s] = x->acts[s];
			x->acts[s].data = NULL; /* taken, not copied */
		} else {
			rs_fail(err, "%s could not be computed", name);
		}
	}
	eng_free(x);
	return e->lz[s].data ? &e->lz[s] : NULL;
}

const rs_act *eng_act(const rs_engine *e, rs_hook h)
{
	const rs_act *a = eng_act_kept(e, h);
	int s = computed_stop(e, &h);
	if (a || s < 0 || !e->lazy || e->decoding)
		return a;
	rs_err err; /* the caller sees NULL, as for a hook not kept */
	return recompute((rs_engine *)e, h, s, &err); /* fills the lazy cache: logically const */
}

const rs_act *eng_compute_act(rs_engine *e, rs_hook h, rs_err *err)
{
	const rs_act *a = eng_act_kept(e, h);
	int s = computed_stop(e, &h);
	if (a)
		return a;
	if (s < 0 || e->decoding) {
		rs_fail(err, "the pass has not computed this hook");
		return NULL;
	}
	return recompute(e, h, s, err);
}

int64_t eng_lazy_bytes(const rs_engine *e)
{
	int64_t b = 0;
	for (int s = 0; s < e->n_stops; s++)
		b += e->lz[s].data ? e->lz[s].numel * (int64_t)sizeof(float) : 0;
	return b;
}

void eng_drop_lazy(rs_engine *e) { clear_lazy(e, 0); }

const float *eng_last_logits(const rs_engine *e)
{
	if (e->stop != e->n_stops - 1)
		return NULL;
	int rows = e->decoding ? 1 : e->logits_rows;
	const float *l = e->logits ? e->logits : e->acts[e->n_stops - 1].data; /* taken by the cache */
	return l ? l + (size_t)(rows - 1) * e->c->vocab : NULL;
}

const float *eng_decode(rs_engine *e, int32_t token, rs_err *err)
{
	if (!e->n_tok) {
		rs_fail(err, "decode before any prompt");
		return NULL;
	}
	if (token < 0 || token >= e->c->vocab) {
		rs_fail(err, "token id %d is out of range (vocabulary of %d)", token, e->c->vocab);
		return NULL;
	}
	if (!e->decoding)
		eng_run(e); /* finish the prompt first */
	if (e->kv_len >= e->c->max_ctx) {
		rs_fail(err, "the model's context of %d tokens is full", e->c->max_ctx);
		return NULL;
	}
	e->decode_tok = token;
	e->decoding = 1;
	e->chunk = &e->decode_tok;
	e->pos0 = e->kv_len;
	e->n = 1;
	ensure_kv(e, e->pos0 + 1);
	ensure_rows(e, 1, e->pos0 + 1);
	e->stop = -1;
	stream_pass_start(e->st);
	eng_run(e);
	e->chunk = NULL;
	return e->logits;
}

/* ---------------------------------------------------------------- resuming */
/* After a stop, its buffer (the hook table's buffer column) holds exactly the
 * cached (post-intervention) value, since eng_step caches from that buffer,
 * and no other buffer changed (compute writes one line of the pass). Every buffer a layer reads it first writes,
 * except the residual stream and the KV cache, so the state before `stop` is
 * the last cached writer of each buffer since the segment (layer, or the final
 * norm) began, the residual stream before it, and the keys and values of the
 * layers already begun. */
int eng_resume(rs_engine *e, const rs_engine *src, int stop, rs_err *err)
{
	const rs_config *c = e->c;
	char name[96];
	if (src->m != e->m)
		return rs_fail(err, "resume: the two engines run different models");
	if (!src->n_tok)
		return rs_fail(err, "resume: the source engine has no prompt");
	if (stop < 0 || stop >= e->n_stops)
		return rs_fail(err, "resume: stop %d is out of range (0..%d)", stop, e->n_stops - 1);
	if (!src->decoding && src->stop < stop - 1)
		return rs_fail(err, "resume: the source has computed stop %d, not %d", src->stop, stop - 1);
	rs_hook at = hook_at(stop, c->n_layers);
	int seg = stop == 0 ? 0
		: hook_is_layer_kind(at.kind) ? hook_stop((rs_hook){HOOK_RESID_PRE, at.layer}, c->n_layers)
		: hook_stop((rs_hook){HOOK_LNF_SCALE, -1}, c->n_layers);
	int first = seg > 0 ? seg - 1 : 0; /* the residual stream before the segment */
	for (int s = first; s < stop; s++) {
		int kind = hook_at(s, c->n_layers).kind;
		int later = 0; /* overwritten before stop by a later writer of the same buffer */
		for (int s2 = s + 1; s2 < stop && !later; s2++)
			later = hook_buffer(e, hook_at(s2, c->n_layers).kind) == hook_buffer(e, kind);
		if (!later && !src->acts[s].data)
			return rs_fail(err, "resume: %s is not in the source's cache",
				       hook_name(hook_at(s, c->n_layers), name, sizeof name));
	}
	for (int l = 0; l < c->n_layers; l++) {
		rs_hook kv[2] = {{HOOK_ROT_K, l}, {HOOK_V, l}};
		for (int i = 0; i < 2; i++) {
			int s = hook_stop(kv[i], c->n_layers);
			if (s < stop && !src->acts[s].data)
				return rs_fail(err, "resume: %s is not in the source's cache", hook_name(kv[i], name, sizeof name));
		}
	}
	int n = src->n_tok;
	if (e != src) {
		e->tokens = rs_xrealloc(e->tokens, sizeof(int32_t) * (size_t)n);
		memcpy(e->tokens, src->tokens, sizeof(int32_t) * (size_t)n);
		e->n_tok = n;
		clear_cache(e);
		for (int i = 0; i < e->n_iv; i++) { /* means are of the previous prompt */
			free(e->ivs[i].mean);
			e->ivs[i].mean = NULL;
		}
		for (int s = 0; s < stop; s++) {
			const rs_act *a = &src->acts[s];
			if (!a->data || !hook_glob_match(e->filter, hook_name(hook_at(s, c->n_layers), name, sizeof name)))
				continue;
			e->acts[s] = *a;
			e->acts[s].data = rs_xmalloc(sizeof(float) * (size_t)a->numel);
			memcpy(e->acts[s].data, a->data, sizeof(float) * (size_t)a->numel);
		}
	} else {
		for (int s = stop; s < e->n_stops; s++) {
			free(e->acts[s].data);
			memset(&e->acts[s], 0, sizeof e->acts[s]);
		}
		clear_lazy(e, stop);
	}
	e->kv_len = 0;
	ensure_kv(e, n);
	ensure_rows(e, n, n);
	e->chunk = e->tokens;
	e->n = n;
	e->pos0 = 0;
	e->decoding = 0;
	e->logits_rows = e->logits_all ? n : 1;
	for (int s = first; s < stop; s++) { /* in order: the last writer of each buffer wins */
		const rs_act *a = &src->acts[s];
		if (a->data)
			memcpy(*hook_buffer(e, hook_at(s, c->n_layers).kind), a->data, sizeof(float) * (size_t)a->numel);
	}
	for (int l = 0; l < c->n_layers; l++) {
		int sk = hook_stop((rs_hook){HOOK_ROT_K, l}, c->n_layers), sv = hook_stop((rs_hook){HOOK_V, l}, c->n_layers);
		if (sk < stop)
			store_kv(e, e->kc, src->acts[sk].data, l);
		if (sv < stop)
			store_kv(e, e->vc, src->acts[sv].data, l);
	}
	if (stop > hook_stop((rs_hook){HOOK_RESID_POST, c->n_layers - 1}, c->n_layers))
		e->kv_len = n;
	e->stop = stop - 1;
	return 0;
}
