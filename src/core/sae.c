/* sae.c - a sparse autoencoder's encoder, decoder, file and context index
 * (sae.h has the maths). */
#include "config.h"
#include "sae.h"
#include "gguf.h"
#include "dtype.h"

#include <cblas.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

rs_sae *sae_create(int d, int n, rs_sae_type type, int k, rs_hook hook)
{
	rs_sae *s = rs_xcalloc(1, sizeof *s);
	s->d = d, s->n = n, s->type = type, s->k = k, s->hook = hook;
	s->w_enc = rs_xcalloc((size_t)n * d, sizeof(float));
	s->b_enc = rs_xcalloc((size_t)n, sizeof(float));
	s->w_dec = rs_xcalloc((size_t)n * d, sizeof(float));
	s->b_dec = rs_xcalloc((size_t)d, sizeof(float));
	return s;
}

void sae_free(rs_sae *s)
{
	if (!s)
		return;
	free(s->w_enc), free(s->b_enc), free(s->w_dec), free(s->b_dec);
	free(s);
}

static const char *const type_names[] = {"relu", "topk"};

const char *sae_type_name(rs_sae_type t)
{
	return (unsigned)t < 2 ? type_names[t] : "?";
}

int sae_type_parse(const char *s)
{
	for (int i = 0; i < 2; i++)
		if (!strcmp(s, type_names[i]))
			return i;
	return -1;
}

void sae_pre(const rs_sae *s, const float *x, float *pre, int64_t rows)
{
	int d = s->d, n = s->n;
	float *xc = rs_xmalloc(sizeof(float) * (size_t)rows * d);
	for (int64_t r = 0; r < rows; r++)
		for (int j = 0; j < d; j++)
			xc[r * d + j] = x[r * d + j] - s->b_dec[j];
	for (int64_t r = 0; r < rows; r++)
		memcpy(pre + r * n, s->b_enc, sizeof(float) * (size_t)n);
	/* pre (rows, n) += xc (rows, d) · W_encᵀ */
	cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, (int)rows, n, d, 1.0f, xc, d, s->w_enc, d, 1.0f, pre, n);
	free(xc);
}

/* Keeps the k largest of v (n) and ReLU of them; the rest become 0. A min-heap
 * of the k best indexes; ties go to the lower index, so the result does not
 * depend on anything but v. */
static int heap_less(const float *v, int a, int b)
{
	return v[a] < v[b] || (v[a] == v[b] && a > b);
}

static void topk_row(float *v, int n, int k, int *heap, float *kept)
{
	if (k >= n) {
		for (int i = 0; i < n; i++)
			v[i] = v[i] > 0 ? v[i] : 0;
		return;
	}
	int m = 0;
	for (int i = 0; i < n; i++) {
		if (m == k && !heap_less(v, heap[0], i))
			continue;
		int c;
		if (m < k) { /* sift up */
			c = m++;
			while (c > 0 && heap_less(v, i, heap[(c - 1) / 2])) {
				heap[c] = heap[(c - 1) / 2];
				c = (c - 1) / 2;
			}
		} else { /* replace the root, sift down */
			c = 0;
			for (;;) {
				int l = 2 * c + 1, r = l + 1, s = c;
				int sv = i; /* the value being placed */
				if (l < m && heap_less(v, heap[l], sv))
					s = l, sv = heap[l];
				if (r < m && heap_less(v, heap[r], sv))
					s = r;
				if (s == c)
					break;
				heap[c] = heap[s];
				c = s;
			}
		}
		heap[c] = i;
	}
	/* copy the kept ones out, zero the row, put them back */
	for (int j = 0; j < m; j++)
		kept[j] = v[heap[j]];
	memset(v, 0, sizeof(float) * (size_t)n);
	for (int j = 0; j < m; j++)
		v[heap[j]] = kept[j] > 0 ? kept[j] : 0;
}

void sae_activate(const rs_sae *s, float *f, int64_t rows)
{
	int n = s->n;
	if (s->type == SAE_RELU) {
		for (int64_t i = 0; i < rows * n; i++)
			f[i] = f[i] > 0 ? f[i] : 0;
		return;
	}
	int *heap = rs_xmalloc(sizeof(int) * (size_t)(s->k > 0 ? s->k : 1));
	float *kept = rs_xmalloc(sizeof(float) * (size_t)(s->k > 0 ? s->k : 1));
	for (int64_t r = 0; r < rows; r++)
		topk_row(f + r * n, n, s->k, heap, kept);
	free(heap);
	free(kept);
}

void sae_encode(const rs_sae *s, const float *x, float *f, int64_t rows)
{
	sae_pre(s, x, f, rows);
	sae_activate(s, f, rows);
}

void sae_decode(const rs_sae *s, const float *f, float *xhat, int64_t rows)
{
	int d = s->d, n = s->n;
	for (int64_t r = 0; r < rows; r++)
		memcpy(xhat + r * d, s->b_dec, sizeof(float) * (size_t)d);
	/* xhat (rows, d) += f (rows, n) · W_dec (n, d) */
	cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, (int)rows, d, n, 1.0f, f, n, s->w_dec, d, 1.0f, xhat,
		    d);
}

/* ---------------------------------------------------------------- file */

#define KEY "residual.sae."

int sae_save(const rs_sae *s, const char *path, rs_err *err)
{
	gguf_writer *w = gguf_writer_create();
	char hn[96];
	gguf_w_str(w, "general.architecture", "residual-sae");
	gguf_w_str(w, KEY "hook", hook_name(s->hook, hn, sizeof hn));
	gguf_w_str(w, KEY "type", sae_type_name(s->type));
	gguf_w_u32(w, KEY "k", (uint32_t)s->k);
	gguf_w_u32(w, KEY "d_in", (uint32_t)s->d);
	gguf_w_u32(w, KEY "n_features", (uint32_t)s->n);
	const rs_sae_meta *m = &s->meta;
	gguf_w_str(w, KEY "model", m->model);
	gguf_w_u32(w, KEY "train.seed", (uint32_t)m->seed);
	gguf_w_u32(w, KEY "train.tokens", (uint32_t)m->tokens);
	gguf_w_u32(w, KEY "train.steps", (uint32_t)m->steps);
	gguf_w_u32(w, KEY "train.batch", (uint32_t)m->batch);
	gguf_w_f32(w, KEY "train.lr", m->lr);
	gguf_w_f32(w, KEY "train.l1", m->l1);
	gguf_w_f32(w, KEY "train.seconds", (float)m->seconds);
	gguf_w_f32(w, KEY "eval.nmse", (float)m->nmse);
	gguf_w_f32(w, KEY "eval.l0", (float)m->l0);
	gguf_w_u32(w, KEY "eval.dead", (uint32_t)m->dead);
	gguf_w_f32(w, KEY "eval.ce_clean", (float)m->ce_clean);
	gguf_w_f32(w, KEY "eval.ce_sae", (float)m->ce_sae);
	gguf_w_f32(w, KEY "eval.ce_zero", (float)m->ce_zero);
	gguf_w_f32(w, KEY "eval.ce_mean", (float)m->ce_mean);
	int64_t nd[2] = {s->n, s->d}, n1[1] = {s->n}, d1[1] = {s->d};
	gguf_w_tensor(w, "sae.w_enc", RS_F32, 2, nd, s->w_enc, sizeof(float) * (size_t)s->n * s->d, GGUF_W_REF);
	gguf_w_tensor(w, "sae.b_enc", RS_F32, 1, n1, s->b_enc, sizeof(float) * (size_t)s->n, GGUF_W_REF);
	gguf_w_tensor(w, "sae.w_dec", RS_F32, 2, nd, s->w_dec, sizeof(float) * (size_t)s->n * s->d, GGUF_W_REF);
	gguf_w_tensor(w, "sae.b_dec", RS_F32, 1, d1, s->b_dec, sizeof(float) * (size_t)s->d, GGUF_W_REF);
	int rc = gguf_write(w, path, err);
	gguf_writer_free(w);
	return rc;
}

/* Copies an F32 tensor of exactly ne0 x ne1 (ne1 = 1 for a vector) into dst
 * (NULL: only checks that it is there with that shape). */
static int take_f32(const gguf_file *g, const char *name, int64_t ne0, int64_t ne1, float *dst, rs_err *err)
{
	const gguf_tensor *t = gguf_find_tensor(g, name);
	if (!t)
		return rs_fail(err, "%s: no tensor %s", g->path, name);
	int64_t ne1_t = t->n_dims > 1 ? t->ne[1] : 1;
	if (t->type != RS_F32 || t->ne[0] != ne0 || ne1_t != ne1 || t->n_dims > 2)
		return rs_fail(err, "%s: %s is not F32 of %lld x %lld", g->path, name, (long long)ne1, (long long)ne0);
	if (dst) /* NULL: only check */
		memcpy(dst, t->data, sizeof(float) * (size_t)(ne0 * ne1));
	return 0;
}

static void meta_f(const gguf_file *g, const char *key, double *out)
{
	*out = gguf_get_f32_or(g, key, 0);
}

rs_sae *sae_load(const char *path, rs_err *err)
{
	gguf_file *g = gguf_open(path, err);
	if (!g)
		return NULL;
	rs_sae *s = NULL;
	gguf_str hs, ts, ms = {0, ""};
	int64_t k, d, n;
	rs_hook h;
	char buf[128];
	if (gguf_get_str(g, KEY "hook", &hs, err) || gguf_get_str(g, KEY "type", &ts, err) ||
	    gguf_get_i64(g, KEY "k", &k, err) || gguf_get_i64(g, KEY "d_in", &d, err) ||
	    gguf_get_i64(g, KEY "n_features", &n, err))
		goto out;
	snprintf(buf, sizeof buf, "%.*s", (int)(hs.len < 100 ? hs.len : 100), hs.s);
	/* the layer bound is the model's; any layer parses here, the user checks it */
	if (hook_parse(buf, 1 << 16, &h)) {
		rs_fail(err, "%s: %s is not a hook name", path, buf);
		goto out;
	}
	snprintf(buf, sizeof buf, "%.*s", (int)(ts.len < 100 ? ts.len : 100), ts.s);
	int type = sae_type_parse(buf);
	if (type < 0 || d < 1 || d > 1 << 16 || n < 1 || n > 1 << 20 || k < 0 || k > n) {
		rs_fail(err, "%s: not an SAE of residual (type %s, d_in %lld, n_features %lld, k %lld)", path, buf,
			(long long)d, (long long)n, (long long)k);
		goto out;
	}
	/* every tensor's shape is checked before anything is allocated: the
	 * sizes then come from data the file holds */
	static const char *const names[4] = {"sae.w_enc", "sae.b_enc", "sae.w_dec", "sae.b_dec"};
	const int64_t ne0[4] = {d, n, d, d}, ne1[4] = {n, 1, n, 1};
	for (int i = 0; i < 4; i++)
		if (take_f32(g, names[i], ne0[i], ne1[i], NULL, err))
			goto out;
	s = sae_create((int)d, (int)n, (rs_sae_type)type, (int)k, h);
	if (take_f32(g, "sae.w_enc", d, n, s->w_enc, err) || take_f32(g, "sae.b_enc", n, 1, s->b_enc, err) ||
	    take_f32(g, "sae.w_dec", d, n, s->w_dec, err) || take_f32(g, "sae.b_dec", d, 1, s->b_dec, err)) {
		sae_free(s);
		s = NULL;
		goto out;
	}
	rs_sae_meta *m = &s->meta;
	if (!gguf_get_str(g, KEY "model", &ms, NULL))
		snprintf(m->model, sizeof m->model, "%.*s", (int)(ms.len < 120 ? ms.len : 120), ms.s);
	m->seed = (uint64_t)gguf_get_i64_or(g, KEY "train.seed", 0);
	m->tokens = gguf_get_i64_or(g, KEY "train.tokens", 0);
	m->steps = gguf_get_i64_or(g, KEY "train.steps", 0);
	m->batch = gguf_get_i64_or(g, KEY "train.batch", 0);
	m->lr = gguf_get_f32_or(g, KEY "train.lr", 0);
	m->l1 = gguf_get_f32_or(g, KEY "train.l1", 0);
	m->dead = gguf_get_i64_or(g, KEY "eval.dead", 0);
	meta_f(g, KEY "train.seconds", &m->seconds);
	meta_f(g, KEY "eval.nmse", &m->nmse);
	meta_f(g, KEY "eval.l0", &m->l0);
	meta_f(g, KEY "eval.ce_clean", &m->ce_clean);
	meta_f(g, KEY "eval.ce_sae", &m->ce_sae);
	meta_f(g, KEY "eval.ce_zero", &m->ce_zero);
	meta_f(g, KEY "eval.ce_mean", &m->ce_mean);
out:
	gguf_close(g);
	return s;
}

/* ---------------------------------------------------------------- index */

rs_sae_index *sae_index_create(int n, int top, int ctx, int at)
{
	rs_sae_index *x = rs_xcalloc(1, sizeof *x);
	x->n = n, x->top = top, x->ctx = ctx, x->at = at;
	x->tokens = rs_xmalloc(sizeof(int32_t) * (size_t)n * top * ctx);
	for (int64_t i = 0; i < (int64_t)n * top * ctx; i++)
		x->tokens[i] = -1;
	x->act = rs_xcalloc((size_t)n * top, sizeof(float));
	x->fired = rs_xcalloc((size_t)n, sizeof(int64_t));
	x->win = rs_xmalloc(sizeof(int64_t) * (size_t)n * top);
	for (int64_t i = 0; i < (int64_t)n * top; i++)
		x->win[i] = -1;
	return x;
}

void sae_index_free(rs_sae_index *x)
{
	if (!x)
		return;
	free(x->tokens), free(x->act), free(x->fired), free(x->win);
	free(x);
}

/* A sorted list of x->top, best first: a window already there keeps the
 * better of its two; otherwise a new one goes in if it beats the last. */
void sae_index_offer(rs_sae_index *x, int i, float a, const int32_t *ctx, int64_t w)
{
	float *act = x->act + (size_t)i * x->top;
	int64_t *win = x->win + (size_t)i * x->top;
	int32_t *tok = x->tokens + (size_t)i * x->top * x->ctx;
	int slot = x->top - 1;
	for (int j = 0; j < x->top; j++)
		if (win[j] == w) {
			if (act[j] >= a)
				return;
			slot = j;
			break;
		}
	if (!(a > act[slot]))
		return;
	int j = slot;
	for (; j > 0 && act[j - 1] < a; j--) {
		act[j] = act[j - 1], win[j] = win[j - 1];
		memcpy(tok + (size_t)j * x->ctx, tok + (size_t)(j - 1) * x->ctx, sizeof(int32_t) * (size_t)x->ctx);
	}
	act[j] = a, win[j] = w;
	memcpy(tok + (size_t)j * x->ctx, ctx, sizeof(int32_t) * (size_t)x->ctx);
}

int sae_index_save(const rs_sae_index *x, const char *path, rs_err *err)
{
	gguf_writer *w = gguf_writer_create();
	gguf_w_str(w, "general.architecture", "residual-sae-index");
	gguf_w_u32(w, KEY "index.at", (uint32_t)x->at);
	gguf_w_u32(w, KEY "index.vectors", (uint32_t)x->vectors);
	int64_t s3[3] = {x->n, x->top, x->ctx}, s2[2] = {x->n, x->top}, s1[1] = {x->n};
	float *fired = rs_xmalloc(sizeof(float) * (size_t)x->n); /* counts as F32: exact below 2^24 */
	for (int i = 0; i < x->n; i++)
		fired[i] = (float)x->fired[i];
	/* token ids as F32 (exact below 2^24): the reader takes float tensors only */
	int64_t nt = (int64_t)x->n * x->top * x->ctx;
	float *tok = rs_xmalloc(sizeof(float) * (size_t)nt);
	for (int64_t i = 0; i < nt; i++)
		tok[i] = (float)x->tokens[i];
	gguf_w_tensor(w, "index.tokens", RS_F32, 3, s3, tok, sizeof(float) * (size_t)nt, GGUF_W_TAKE);
	gguf_w_tensor(w, "index.act", RS_F32, 2, s2, x->act, sizeof(float) * (size_t)x->n * x->top, GGUF_W_REF);
	gguf_w_tensor(w, "index.fired", RS_F32, 1, s1, fired, sizeof(float) * (size_t)x->n, GGUF_W_TAKE);
	int rc = gguf_write(w, path, err);
	gguf_writer_free(w);
	return rc;
}

rs_sae_index *sae_index_load(const char *path, rs_err *err)
{
	gguf_file *g = gguf_open(path, err);
	if (!g)
		return NULL;
	rs_sae_index *x = NULL;
	const gguf_tensor *t = gguf_find_tensor(g, "index.tokens");
	int64_t at = gguf_get_i64_or(g, KEY "index.at", -1);
	if (!t || t->type != RS_F32 || t->n_dims != 3 || t->ne[0] < 1 || t->ne[0] > 1024 || t->ne[1] < 1 ||
	    t->ne[1] > 1024 || t->ne[2] < 1 || t->ne[2] > 1 << 20 || at < 0 || at >= t->ne[0]) {
		rs_fail(err, "%s: not an SAE index (no F32 tensor index.tokens of 3 axes, or no %sindex.at)", path,
			KEY);
		goto out;
	}
	int ctx = (int)t->ne[0], top = (int)t->ne[1], n = (int)t->ne[2];
	x = sae_index_create(n, top, ctx, (int)at);
	const float *tf = t->data;
	for (int64_t i = 0; i < (int64_t)n * top * ctx; i++) /* -1 pads; anything else is checked where used */
		x->tokens[i] = tf[i] >= -1 && tf[i] < 16777216 ? (int32_t)tf[i] : -1;
	float *fired = rs_xmalloc(sizeof(float) * (size_t)n);
	if (take_f32(g, "index.act", top, n, x->act, err) || take_f32(g, "index.fired", n, 1, fired, err)) {
		free(fired);
		sae_index_free(x);
		x = NULL;
		goto out;
	}
	for (int i = 0; i < n; i++)
		x->fired[i] = (int64_t)fired[i];
	free(fired);
	x->vectors = gguf_get_i64_or(g, KEY "index.vectors", 0);
out:
	gguf_close(g);
	return x;
}

void sae_index_path(const char *sae_path, char *buf, size_t n)
{
	size_t len = strlen(sae_path);
	if (len > 5 && !strcmp(sae_path + len - 5, ".gguf"))
		len -= 5;
	snprintf(buf, n, "%.*s.index.gguf", (int)len, sae_path);
}
