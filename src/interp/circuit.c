/* circuit.c - circuits read from the weights (Elhage et al. 2021): a head's
 * QK and OV circuits over a set of tokens, the OV circuit's eigenvalues over
 * the whole vocabulary, and Q/K/V-composition scores between heads. The
 * conventions (RMSNorm folded, RoPE, GQA, tied embeddings) are in circuits.h. */
#include "config.h"
#include "circuits.h"
#include "corpus.h"
#include "ops.h"

#include <cJSON.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

/* ---------------------------------------------------------------- one head */
void circ_head_free(circ_head *h)
{
	if (!h)
		return;
	free(h->q);
	free(h->k);
	free(h->v);
	free(h->o);
	memset(h, 0, sizeof *h);
}

/* Row r (HF order) of a Q or K matrix, whatever order the file keeps. */
static void qk_row(const rs_model *m, const rs_mat *W, int64_t r, float *dst)
{
	mat_row(W, m->qk_interleaved ? rope_gguf_row(r, m->cfg.head_dim) : r, dst);
}

int circ_head_load(const rs_model *m, int layer, int head, circ_head *h, rs_err *err)
{
	const rs_config *c = &m->cfg;
	memset(h, 0, sizeof *h);
	if (layer < 0 || layer >= c->n_layers)
		return rs_fail(err, "layer %d does not exist (0 to %d)", layer, c->n_layers - 1);
	if (head < 0 || head >= c->n_heads)
		return rs_fail(err, "head %d does not exist (0 to %d)", head, c->n_heads - 1);
	int d = c->d_model, hd = c->head_dim, H = c->n_heads;
	const rs_layer *L = &m->layers[layer];
	h->layer = layer;
	h->head = head;
	h->kv_head = head / (c->n_heads / c->n_kv_heads);
	h->hd = hd;
	h->d = d;
	h->q = rs_xmalloc(sizeof(float) * (size_t)hd * d);
	h->k = rs_xmalloc(sizeof(float) * (size_t)hd * d);
	h->v = rs_xmalloc(sizeof(float) * (size_t)hd * d);
	h->o = rs_xmalloc(sizeof(float) * (size_t)d * hd);
	for (int i = 0; i < hd; i++) {
		float *q = h->q + (size_t)i * d, *k = h->k + (size_t)i * d, *v = h->v + (size_t)i * d;
		qk_row(m, &L->wq, (int64_t)head * hd + i, q);
		qk_row(m, &L->wk, (int64_t)h->kv_head * hd + i, k);
		mat_row(&L->wv, (int64_t)h->kv_head * hd + i, v);
		for (int j = 0; j < d; j++) { /* fold ln1's weight: W · diag(w) */
			q[j] *= L->attn_norm[j];
			k[j] *= L->attn_norm[j];
			v[j] *= L->attn_norm[j];
		}
	}
	float *row = rs_xmalloc(sizeof(float) * (size_t)H * hd);
	for (int j = 0; j < d; j++) {
		mat_row(&L->wo, j, row);
		memcpy(h->o + (size_t)j * hd, row + (size_t)head * hd, sizeof(float) * (size_t)hd);
	}
	free(row);
	return 0;
}

/* y[rows] = W[rows, cols] · x[cols], in double. */
static void matvec(double *y, const float *W, const float *x, int rows, int cols)
{
	for (int r = 0; r < rows; r++) {
		double s = 0;
		for (int c = 0; c < cols; c++)
			s += (double)W[(size_t)r * cols + c] * x[c];
		y[r] = s;
	}
}

/* A token's embedding as the norm normalises it: x / sqrt(mean(x²) + eps). */
static void embed_normalised(const rs_model *m, int32_t t, float *out)
{
	float sc;
	mat_row(&m->tok_embd, t, out);
	op_rms_scale(&sc, out, 1, m->cfg.d_model, m->cfg.rms_eps);
	op_rms_normalize(out, out, &sc, 1, m->cfg.d_model);
}

/* ---------------------------------------------------------------- eigenvalues */
#ifdef HAVE_DGEEV_
void dgeev_(const char *jobvl, const char *jobvr, const int *n, double *a, const int *lda, double *wr, double *wi,
	    double *vl, const int *ldvl, double *vr, const int *ldvr, double *work, const int *lwork, int *info);
#endif

int circ_eigen(const double *a, int n, double *re, double *im, rs_err *err)
{
#ifdef HAVE_DGEEV_
	/* LAPACK is column-major: it sees aᵀ, which has the same eigenvalues */
	double *cp = rs_xmalloc(sizeof(double) * (size_t)n * n), dummy = 0;
	memcpy(cp, a, sizeof(double) * (size_t)n * n);
	int lwork = 8 * n + 64, info = 0, one = 1;
	double *work = rs_xmalloc(sizeof(double) * (size_t)lwork);
	dgeev_("N", "N", &n, cp, &n, re, im, &dummy, &one, &dummy, &one, work, &lwork, &info);
	free(work);
	free(cp);
	if (info != 0)
		return rs_fail(err, "eigenvalues: LAPACK's dgeev failed (info %d)", info);
	return 0;
#else
	(void)a, (void)n, (void)re, (void)im;
	return rs_fail(err, "eigenvalues need LAPACK (dgeev), which this build's BLAS does not have");
#endif
}

void circ_copy_scores(const double *re, const double *im, int n, double *score, double *pos_share)
{
	double sum = 0, abs_sum = 0;
	int pos = 0;
	for (int i = 0; i < n; i++) {
		sum += re[i]; /* complex eigenvalues come in conjugate pairs: Σλ is real */
		abs_sum += hypot(re[i], im[i]);
		pos += re[i] > 0;
	}
	*score = abs_sum > 0 ? sum / abs_sum : NAN;
	*pos_share = n ? (double)pos / n : NAN;
}

/* The OV circuit's hd × hd core Σ_t (W_V ñ_t)(W_Oᵀ u_t)ᵀ over the vocabulary. */
#define CIRC_EIG_MAX_FLOPS 2e9
static int ov_eigen(const rs_model *m, const circ_head *h, circ_result *r, rs_err *err)
{
	const rs_config *c = &m->cfg;
	int d = c->d_model, hd = h->hd;
	if ((double)c->vocab * d * hd * 2 > CIRC_EIG_MAX_FLOPS) {
		r->eig_note = "the vocabulary is too large for the full OV product here; the diagonal test is over the tokens";
		return 0;
	}
	double *core = rs_xcalloc((size_t)hd * hd, sizeof(double));
	double *a = rs_xmalloc(sizeof(double) * (size_t)hd), *b = rs_xmalloc(sizeof(double) * (size_t)hd);
	float *x = rs_xmalloc(sizeof(float) * (size_t)d), *u = rs_xmalloc(sizeof(float) * (size_t)d);
	if (!core)
			rs_xmalloc((size_t)-1); /* never returns */
	for (int32_t t = 0; t < c->vocab; t++) {
		embed_normalised(m, t, x);
		matvec(a, h->v, x, hd, d);
		mat_row(&m->output, t, u);
		for (int j = 0; j < d; j++)
			u[j] *= m->final_norm[j];
		for (int i = 0; i < hd; i++) { /* b = W_Oᵀ u */
			double s = 0;
			for (int j = 0; j < d; j++)
				s += (double)h->o[(size_t)j * hd + i] * u[j];
			b[i] = s;
		}
		for (int i = 0; i < hd; i++)
			for (int j = 0; j < hd; j++)
				core[(size_t)i * hd + j] += a[i] * b[j];
	}
	r->eig_re = rs_xmalloc(sizeof(double) * (size_t)hd);
	r->eig_im = rs_xmalloc(sizeof(double) * (size_t)hd);
	rs_err e2;
	if (circ_eigen(core, hd, r->eig_re, r->eig_im, &e2) == 0) {
		r->have_eig = 1;
		r->n_eig = hd;
		circ_copy_scores(r->eig_re, r->eig_im, hd, &r->copy_score, &r->pos_share);
	} else {
		r->eig_note = "this build has no LAPACK (dgeev) for the eigenvalues";
	}
	free(core);
	free(a);
	free(b);
	free(x);
	free(u);
	(void)err;
	return 0;
}

/* ---------------------------------------------------------------- QK and OV */
void circ_free(circ_result *r)
{
	if (!r)
		return;
	free(r->tokens);
	free(r->m);
	free(r->eig_re);
	free(r->eig_im);
	free(r);
}

#define CIRC_MAX_TOKENS 512
circ_result *circ_run(const rs_model *m, int kind, int layer, int head, const int32_t *tokens, int n, rs_err *err)
{
	const rs_config *c = &m->cfg;
	if (n < 1 || n > CIRC_MAX_TOKENS) {
		rs_fail(err, "circuit: %d tokens; give 1 to %d", n, CIRC_MAX_TOKENS);
		return NULL;
	}
	for (int i = 0; i < n; i++)
		if (tokens[i] < 0 || tokens[i] >= c->vocab) {
			rs_fail(err, "circuit: token %d is outside the vocabulary (%d)", tokens[i], c->vocab);
			return NULL;
		}
	circ_head h;
	if (circ_head_load(m, layer, head, &h, err))
		return NULL;
	int d = c->d_model, hd = h.hd;
	circ_result *r = rs_xcalloc(1, sizeof *r);
	r->kind = kind;
	r->layer = layer;
	r->head = head;
	r->kv_head = h.kv_head;
	r->n = n;
	r->tokens = rs_xmalloc(sizeof(int32_t) * (size_t)n);
	memcpy(r->tokens, tokens, sizeof(int32_t) * (size_t)n);
	r->m = rs_xmalloc(sizeof(float) * (size_t)n * n);
	/* left[a]: the query (QK) or the head's output (OV) of token a; right[b]:
	 * the key (QK) or the unembedding row with w_final (OV) of token b */
	int wl = kind == CIRC_QK ? hd : d;
	double *left = rs_xmalloc(sizeof(double) * (size_t)n * wl), *right = rs_xmalloc(sizeof(double) * (size_t)n * wl);
	double *vz = rs_xmalloc(sizeof(double) * (size_t)hd);
	float *x = rs_xmalloc(sizeof(float) * (size_t)d);
	for (int a = 0; a < n; a++) {
		embed_normalised(m, tokens[a], x);
		if (kind == CIRC_QK) {
			matvec(left + (size_t)a * hd, h.q, x, hd, d);
			matvec(right + (size_t)a * hd, h.k, x, hd, d);
			continue;
		}
		matvec(vz, h.v, x, hd, d);
		for (int j = 0; j < d; j++) { /* W_O · (W_V ñ_a) */
			double s = 0;
			for (int i = 0; i < hd; i++)
				s += (double)h.o[(size_t)j * hd + i] * vz[i];
			left[(size_t)a * d + j] = s;
		}
		mat_row(&m->output, tokens[a], x);
		for (int j = 0; j < d; j++)
			right[(size_t)a * d + j] = (double)x[j] * m->final_norm[j];
	}
	double sc = kind == CIRC_QK ? 1.0 / sqrt((double)hd) : 1.0;
	int diag_top = 0;
	for (int a = 0; a < n; a++) {
		float best = -INFINITY;
		for (int b = 0; b < n; b++) {
			double s = 0;
			for (int j = 0; j < wl; j++)
				s += left[(size_t)a * wl + j] * right[(size_t)b * wl + j];
			r->m[(size_t)a * n + b] = (float)(s * sc);
			if (b != a && r->m[(size_t)a * n + b] > best)
				best = r->m[(size_t)a * n + b];
		}
		diag_top += r->m[(size_t)a * n + a] >= best;
	}
	r->diag_share = (float)diag_top / n;
	free(left);
	free(right);
	free(vz);
	free(x);
	if (kind == CIRC_OV)
		ov_eigen(m, &h, r, err);
	else
		r->eig_note = "eigenvalues are for the OV circuit";
	circ_head_free(&h);
	return r;
}

/* ---------------------------------------------------------------- composition */
/* g[r, r] = X Xᵀ of X [r, cols] (rows), or Xᵀ X of X [rows, r] (cols). */
static void gram_rows(double *g, const float *X, int r, int cols)
{
	for (int i = 0; i < r; i++)
		for (int j = 0; j <= i; j++) {
			double s = 0;
			for (int c = 0; c < cols; c++)
				s += (double)X[(size_t)i * cols + c] * X[(size_t)j * cols + c];
			g[(size_t)i * r + j] = g[(size_t)j * r + i] = s;
		}
}

static void gram_cols(double *g, const float *X, int rows, int r)
{
	memset(g, 0, sizeof(double) * (size_t)r * r);
	for (int k = 0; k < rows; k++)
		for (int i = 0; i < r; i++)
			for (int j = 0; j < r; j++)
				g[(size_t)i * r + j] += (double)X[(size_t)k * r + i] * X[(size_t)k * r + j];
}

/* mm[r, r] = X [r, d] · Y [d, r] */
static void cross(double *mm, const float *X, const float *Y, int r, int d)
{
	for (int i = 0; i < r; i++)
		for (int j = 0; j < r; j++) {
			double s = 0;
			for (int c = 0; c < d; c++)
				s += (double)X[(size_t)i * d + c] * Y[(size_t)c * r + j];
			mm[(size_t)i * r + j] = s;
		}
}

double comp_frob(const double *ga, const double *mm, const double *gb, int r)
{
	/* ‖A M B‖² = tr(AᵀA · M · B Bᵀ · Mᵀ) */
	double *t1 = rs_xmalloc(sizeof(double) * (size_t)r * r), *t2 = rs_xmalloc(sizeof(double) * (size_t)r * r);
	for (int i = 0; i < r; i++) /* t1 = ga · mm */
		for (int j = 0; j < r; j++) {
			double s = 0;
			for (int k = 0; k < r; k++)
				s += ga[(size_t)i * r + k] * (mm ? mm[(size_t)k * r + j] : k == j);
			t1[(size_t)i * r + j] = s;
		}
	for (int i = 0; i < r; i++) /* t2 = t1 · gb */
		for (int j = 0; j < r; j++) {
			double s = 0;
			for (int k = 0; k < r; k++)
				s += t1[(size_t)i * r + k] * gb[(size_t)k * r + j];
			t2[(size_t)i * r + j] = s;
		}
	double tr = 0; /* tr(t2 · mmᵀ) = Σ t2[i,k] mm[i,k] */
	for (int i = 0; i < r; i++)
		for (int k = 0; k < r; k++)
			tr += t2[(size_t)i * r + k] * (mm ? mm[(size_t)i * r + k] : i == k);
	free(t1);
	free(t2);
	return sqrt(tr > 0 ? tr : 0);
}

/* Gram matrices of a head's factors. */
typedef struct head_grams {
	double *gq, *gk, *gv, *go; /* Q Qᵀ, K Kᵀ, V Vᵀ, Oᵀ O: [hd, hd] */
	double n_qk, n_ov;         /* ‖W_QK‖, ‖W_OV‖ */
} head_grams;

static void grams_make(const circ_head *h, head_grams *g)
{
	int r = h->hd;
	size_t sz = sizeof(double) * (size_t)r * r;
	g->gq = rs_xmalloc(sz);
	g->gk = rs_xmalloc(sz);
	g->gv = rs_xmalloc(sz);
	g->go = rs_xmalloc(sz);
	gram_rows(g->gq, h->q, r, h->d);
	gram_rows(g->gk, h->k, r, h->d);
	gram_rows(g->gv, h->v, r, h->d);
	gram_cols(g->go, h->o, h->d, r);
	g->n_qk = comp_frob(g->gq, NULL, g->gk, r); /* ‖Qᵀ K‖ */
	g->n_ov = comp_frob(g->go, NULL, g->gv, r); /* ‖O V‖ */
}

static void grams_free(head_grams *g)
{
	free(g->gq);
	free(g->gk);
	free(g->gv);
	free(g->go);
}

static double score_grams(const circ_head *recv, const head_grams *gr, const circ_head *send,
			  const head_grams *gs, int kind)
{
	int r = recv->hd;
	double *mm = rs_xmalloc(sizeof(double) * (size_t)r * r), num, den;
	if (kind == COMP_Q) { /* ‖Kᵀ (Q O_s) V_s‖ / ‖W_QK‖‖W_OV,s‖ */
		cross(mm, recv->q, send->o, r, recv->d);
		num = comp_frob(gr->gk, mm, gs->gv, r);
		den = gr->n_qk * gs->n_ov;
	} else if (kind == COMP_K) { /* ‖Qᵀ (K O_s) V_s‖ */
		cross(mm, recv->k, send->o, r, recv->d);
		num = comp_frob(gr->gq, mm, gs->gv, r);
		den = gr->n_qk * gs->n_ov;
	} else { /* ‖O (V O_s) V_s‖ */
		cross(mm, recv->v, send->o, r, recv->d);
		num = comp_frob(gr->go, mm, gs->gv, r);
		den = gr->n_ov * gs->n_ov;
	}
	free(mm);
	return den > 0 ? num / den : NAN;
}

double comp_score(const circ_head *recv, const circ_head *send, int kind)
{
	head_grams gr, gs;
	grams_make(recv, &gr);
	grams_make(send, &gs);
	double s = score_grams(recv, &gr, send, &gs, kind);
	grams_free(&gr);
	grams_free(&gs);
	return s;
}

/* A standard normal from the splitmix stream (Box-Muller). */
static float gauss(corpus_rng *g)
{
	double u1 = ((corpus_rng_next(g) >> 11) + 1.0) / 9007199254740993.0;
	double u2 = (corpus_rng_next(g) >> 11) / 9007199254740992.0;
	return (float)(sqrt(-2 * log(u1)) * cos(6.283185307179586 * u2));
}

/* The mean score of heads with random Gaussian factors of the model's shapes:
 * what "composes" means against chance (ARENA's baseline). */
static double random_baseline(int d, int hd, int kind, int samples)
{
	corpus_rng g;
	corpus_rng_seed(&g, 22, (uint64_t)kind);
	double sum = 0;
	for (int s = 0; s < samples; s++) {
		circ_head h[2];
		for (int k = 0; k < 2; k++) {
			h[k].hd = hd;
			h[k].d = d;
			float **f[4] = {&h[k].q, &h[k].k, &h[k].v, &h[k].o};
			for (int i = 0; i < 4; i++) {
				*f[i] = rs_xmalloc(sizeof(float) * (size_t)hd * d);
				for (size_t j = 0; j < (size_t)hd * d; j++)
					(*f[i])[j] = gauss(&g);
			}
		}
		sum += comp_score(&h[0], &h[1], kind);
		circ_head_free(&h[0]);
		circ_head_free(&h[1]);
	}
	return sum / samples;
}

void comp_free(comp_result *r)
{
	if (!r)
		return;
	free(r->score);
	free(r);
}

#define COMP_MAX_FLOPS 3e10
comp_result *comp_run(const rs_model *m, int kind, rs_err *err)
{
	const rs_config *c = &m->cfg;
	int L = c->n_layers, H = c->n_heads, NH = L * H, d = c->d_model, hd = c->head_dim;
	if (kind < COMP_Q || kind > COMP_V) {
		rs_fail(err, "composition: the kind is q, k or v");
		return NULL;
	}
	double pairs = (double)NH * NH / 2, flops = pairs * ((double)d * hd * hd + 4.0 * hd * hd * hd);
	if (flops > COMP_MAX_FLOPS) {
		rs_fail(err, "composition: %d heads of d_head %d are too many to compare here (about %.0e operations)", NH,
			hd, flops);
		return NULL;
	}
	circ_head *h = rs_xcalloc((size_t)NH, sizeof *h);
	head_grams *g = rs_xcalloc((size_t)NH, sizeof *g);
	comp_result *r = NULL;
	for (int i = 0; i < NH; i++) {
		if (circ_head_load(m, i / H, i % H, &h[i], err))
			goto out;
		grams_make(&h[i], &g[i]);
	}
	r = rs_xcalloc(1, sizeof *r);
	r->kind = kind;
	r->n_layers = L;
	r->n_heads = H;
	r->score = rs_xmalloc(sizeof(float) * (size_t)NH * NH);
	for (int i = 0; i < NH; i++)
		for (int j = 0; j < NH; j++)
			r->score[(size_t)i * NH + j] =
				j / H < i / H ? (float)score_grams(&h[i], &g[i], &h[j], &g[j], kind) : NAN;
	r->baseline = random_baseline(d, hd, kind, d * hd > 1 << 20 ? 2 : 16);
out:
	for (int i = 0; i < NH; i++) {
		if (g[i].gq)
			grams_free(&g[i]);
		circ_head_free(&h[i]);
	}
	free(g);
	free(h);
	return r;
}

/* ---------------------------------------------------------------- JSON */
static cJSON *num(double v)
{
	return isfinite(v) ? cJSON_CreateNumber(v) : cJSON_CreateNull();
}

cJSON *circ_to_json(const circ_result *r, circ_tok_text text, void *ud)
{
	cJSON *o = cJSON_CreateObject();
	cJSON_AddStringToObject(o, "circuit", r->kind == CIRC_QK ? "qk" : "ov");
	cJSON_AddNumberToObject(o, "layer", r->layer);
	cJSON_AddNumberToObject(o, "head", r->head);
	cJSON_AddNumberToObject(o, "kv_head", r->kv_head);
	cJSON *toks = cJSON_AddArrayToObject(o, "tokens");
	for (int i = 0; i < r->n; i++) {
		cJSON *t = cJSON_CreateObject();
		cJSON_AddNumberToObject(t, "tok", r->tokens[i]);
		const char *s = text ? text(ud, r->tokens[i]) : NULL;
		if (s)
			cJSON_AddStringToObject(t, "text", s);
		cJSON_AddItemToArray(toks, t);
	}
	cJSON *rows = cJSON_AddArrayToObject(o, "matrix");
	for (int a = 0; a < r->n; a++) {
		cJSON *row = cJSON_CreateArray();
		for (int b = 0; b < r->n; b++)
			cJSON_AddItemToArray(row, num(r->m[(size_t)a * r->n + b]));
		cJSON_AddItemToArray(rows, row);
	}
	cJSON_AddItemToObject(o, "diag_share", num(r->diag_share));
	if (r->have_eig) {
		cJSON_AddItemToObject(o, "copy_score", num(r->copy_score));
		cJSON_AddItemToObject(o, "positive_eigenvalue_share", num(r->pos_share));
		cJSON *ev = cJSON_AddArrayToObject(o, "eigenvalues");
		for (int i = 0; i < r->n_eig; i++) {
			cJSON *p = cJSON_CreateArray();
			cJSON_AddItemToArray(p, num(r->eig_re[i]));
			cJSON_AddItemToArray(p, num(r->eig_im[i]));
			cJSON_AddItemToArray(ev, p);
		}
	}
	return o;
}

cJSON *comp_to_json(const comp_result *r)
{
	static const char *const kinds[] = {"q", "k", "v"};
	cJSON *o = cJSON_CreateObject();
	int NH = r->n_layers * r->n_heads;
	cJSON_AddStringToObject(o, "composition", kinds[r->kind]);
	cJSON_AddItemToObject(o, "random_baseline", num(r->baseline));
	cJSON *rows = cJSON_AddArrayToObject(o, "scores"); /* [receiver layer][head][sender layer][head] */
	for (int i = 0; i < NH; i++) {
		cJSON *row = cJSON_CreateObject();
		cJSON_AddNumberToObject(row, "layer", i / r->n_heads);
		cJSON_AddNumberToObject(row, "head", i % r->n_heads);
		cJSON *g = cJSON_AddArrayToObject(row, "senders");
		for (int l = 0; l < r->n_layers; l++) {
			cJSON *lr = cJSON_CreateArray();
			for (int h = 0; h < r->n_heads; h++)
				cJSON_AddItemToArray(lr, num(r->score[(size_t)i * NH + l * r->n_heads + h]));
			cJSON_AddItemToArray(g, lr);
		}
		cJSON_AddItemToArray(rows, row);
	}
	return o;
}
