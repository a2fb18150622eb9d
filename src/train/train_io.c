/* train_io.c - checkpoints (model + AdamW state) and GGUF export. */
#include "config.h"
#include "train.h"
#include "dtype.h"
#include "convert.h"
#include "gguf.h"
#include "tokenizer.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

/* ---------------------------------------------------------------- checkpoints
 * A little-endian file of our own: an 8-byte magic, a fixed header of the
 * config and the training state, then params, adam_m and adam_v as f32. It is
 * written to PATH.tmp and renamed, so a crash never leaves half a checkpoint. */

#define CKPT_MAGIC "RSTRAIN1"
#define CKPT_VERSION 1

typedef struct ckpt_header {
	char magic[8];
	uint32_t version;
	/* config */
	int32_t n_layers, d_model, n_heads, n_kv_heads, head_dim, d_ff, vocab, max_ctx, bos_id, eos_id;
	float rms_eps, rope_theta;
	/* state */
	int32_t step, total_steps, batch, threads, warmup, sched_steps;
	uint64_t seed;
	float lr, min_lr, decay_frac, beta1, beta2, eps, wd, clip;
	double tokens_seen, seconds;
	uint64_t n_params;
} ckpt_header;

int train_ckpt_save(const train_model *m, const train_state *st, const char *path, rs_err *err)
{
	const rs_config *c = &m->cfg;
	ckpt_header h;
	memset(&h, 0, sizeof h);
	memcpy(h.magic, CKPT_MAGIC, 8);
	h.version = CKPT_VERSION;
	h.n_layers = c->n_layers, h.d_model = c->d_model, h.n_heads = c->n_heads, h.n_kv_heads = c->n_kv_heads;
	h.head_dim = c->head_dim, h.d_ff = c->d_ff, h.vocab = c->vocab, h.max_ctx = c->max_ctx;
	h.bos_id = c->bos_id, h.eos_id = c->eos_id, h.rms_eps = c->rms_eps, h.rope_theta = c->rope_theta;
	h.step = st->step, h.total_steps = st->total_steps, h.batch = st->batch, h.threads = st->threads;
	h.warmup = st->sched.warmup, h.sched_steps = st->sched.steps, h.seed = st->seed;
	h.lr = st->sched.lr, h.min_lr = st->sched.min_lr, h.decay_frac = st->sched.decay_frac;
	h.beta1 = st->adamw.beta1, h.beta2 = st->adamw.beta2, h.eps = st->adamw.eps, h.wd = st->adamw.wd;
	h.clip = st->clip, h.tokens_seen = st->tokens_seen, h.seconds = st->seconds;
	h.n_params = (uint64_t)m->n_params;

	size_t plen = strlen(path);
	char *tmp = rs_xmalloc(plen + 5);
	memcpy(tmp, path, plen);
	memcpy(tmp + plen, ".tmp", 5);
	FILE *f = fopen(tmp, "wb");
	if (!f) {
		rs_fail(err, "%s: %s", tmp, strerror(errno));
		free(tmp);
		return -1;
	}
	size_t n = (size_t)m->n_params;
	int ok = fwrite(&h, sizeof h, 1, f) == 1 && fwrite(m->params, sizeof(float), n, f) == n &&
		 fwrite(m->adam_m, sizeof(float), n, f) == n && fwrite(m->adam_v, sizeof(float), n, f) == n;
	ok = (fclose(f) == 0) && ok;
	if (!ok || rename(tmp, path)) {
		rs_fail(err, "%s: writing the checkpoint failed: %s", path, strerror(errno));
		remove(tmp);
		free(tmp);
		return -1;
	}
	free(tmp);
	return 0;
}

int train_ckpt_load(const char *path, train_model **out, train_state *st, rs_err *err)
{
	*out = NULL;
	FILE *f = fopen(path, "rb");
	if (!f)
		return rs_fail(err, "%s: %s", path, strerror(errno));
	ckpt_header h;
	if (fread(&h, sizeof h, 1, f) != 1 || memcmp(h.magic, CKPT_MAGIC, 8)) {
		fclose(f);
		return rs_fail(err, "%s: not a residual training checkpoint", path);
	}
	if (h.version != CKPT_VERSION) {
		fclose(f);
		return rs_fail(err, "%s: checkpoint version %u, this residual reads %d", path, h.version, CKPT_VERSION);
	}
	rs_config c = train_config_make(h.n_layers, h.d_model, h.n_heads, h.n_kv_heads, h.d_ff, h.vocab, h.max_ctx);
	c.head_dim = h.head_dim, c.bos_id = h.bos_id, c.eos_id = h.eos_id;
	c.rms_eps = h.rms_eps, c.rope_theta = h.rope_theta;
	if (train_config_check(&c, err)) {
		fclose(f);
		return rs_fail_prefix(err, "%s", path);
	}
	/* the header's config and parameter count must agree with each other and
	 * with the file's size before the model (three copies of it) is allocated */
	struct stat sb;
	uint64_t want = (uint64_t)config_param_count(&c), room;
	if (fstat(fileno(f), &sb) || sb.st_size < (off_t)sizeof h ||
	    (room = ((uint64_t)sb.st_size - sizeof h) / (3 * sizeof(float))) < want || h.n_params != want) {
		fclose(f);
		return rs_fail(err, "%s: the header promises %llu parameters (its config: %llu) but the file holds at most %llu",
			       path, (unsigned long long)h.n_params, (unsigned long long)want,
			       (unsigned long long)(sb.st_size > (off_t)sizeof h ? ((uint64_t)sb.st_size - sizeof h) / 12 : 0));
	}
	train_model *m = train_model_create(&c);
	size_t n = (size_t)m->n_params;
	if (h.n_params != (uint64_t)n || fread(m->params, sizeof(float), n, f) != n ||
	    fread(m->adam_m, sizeof(float), n, f) != n || fread(m->adam_v, sizeof(float), n, f) != n) {
		fclose(f);
		train_model_free(m);
		return rs_fail(err, "%s: truncated or inconsistent checkpoint", path);
	}
	fclose(f);
	memset(st, 0, sizeof *st);
	st->step = h.step, st->total_steps = h.total_steps, st->batch = h.batch, st->threads = h.threads;
	st->seed = h.seed, st->sched.lr = h.lr, st->sched.min_lr = h.min_lr, st->sched.warmup = h.warmup;
	st->sched.decay_frac = h.decay_frac;
	st->sched.steps = h.sched_steps, st->adamw.beta1 = h.beta1, st->adamw.beta2 = h.beta2;
	st->adamw.eps = h.eps, st->adamw.wd = h.wd, st->clip = h.clip, st->tokens_seen = h.tokens_seen;
	st->seconds = h.seconds;
	*out = m;
	return 0;
}

/* ---------------------------------------------------------------- GGUF export */

/* A matrix [rows, cols] as a GGUF tensor of the given type (the writer takes it). */
static void put_mat(gguf_writer *w, const char *name, const float *src, int64_t rows, int64_t cols, int type)
{
	int64_t shape[2] = {rows, cols};
	size_t row_bytes = rs_dtype_row_bytes(type, cols);
	uint8_t *buf = rs_xmalloc(row_bytes * (size_t)rows);
	for (int64_t r = 0; r < rows; r++)
		rs_quant_row(type, src + (size_t)r * cols, buf + (size_t)r * row_bytes, cols);
	gguf_w_tensor(w, name, type, 2, shape, buf, row_bytes * (size_t)rows, GGUF_W_TAKE);
}

/* Q or K in the GGUF row order: HF row r goes to rope_gguf_row(r) (llama-spec 1.4). */
static void put_qk(gguf_writer *w, const char *name, const float *src, int heads, int hd, int64_t cols, int type)
{
	int64_t rows = (int64_t)heads * hd;
	float *perm = rs_xmalloc(sizeof(float) * (size_t)(rows * cols));
	for (int64_t r = 0; r < rows; r++)
		memcpy(perm + (size_t)rope_gguf_row(r, hd) * cols, src + (size_t)r * cols, sizeof(float) * (size_t)cols);
	put_mat(w, name, perm, rows, cols, type);
	free(perm);
}

static void put_vec(gguf_writer *w, const char *name, const float *src, int64_t n)
{
	gguf_w_tensor(w, name, RS_F32, 1, &n, src, sizeof(float) * (size_t)n, GGUF_W_COPY);
}

int train_export_gguf(const train_model *m, const struct rs_tokenizer *tok, const char *name, int type,
		      const char *path, rs_err *err)
{
	const rs_config *c = &m->cfg;
	const train_params *p = &m->p;
	if (type != RS_F32 && type != RS_F16)
		return rs_fail(err, "%s: the trainer exports F32 or F16", path);
	int64_t d = c->d_model, qd = (int64_t)c->n_heads * c->head_dim, kvd = (int64_t)c->n_kv_heads * c->head_dim;
	int64_t ff = c->d_ff;
	gguf_writer *w = gguf_writer_create();
	rs_config named = *c;
	if (name)
		snprintf(named.name, sizeof named.name, "%s", name);
	convert_write_llama_keys(w, &named, type);
	if (tok && tok_gguf_write(tok, w, err)) {
		gguf_writer_free(w);
		return rs_fail_prefix(err, "%s", path);
	}
	put_mat(w, "token_embd.weight", p->tok_embd, c->vocab, d, type);
	char nm[64];
	for (int l = 0; l < c->n_layers; l++) {
#define NAME(s) (snprintf(nm, sizeof nm, "blk.%d.%s.weight", l, s), nm)
		put_vec(w, NAME("attn_norm"), p->attn_norm + l * d, d);
		put_qk(w, NAME("attn_q"), p->wq + l * qd * d, c->n_heads, c->head_dim, d, type);
		put_qk(w, NAME("attn_k"), p->wk + l * kvd * d, c->n_kv_heads, c->head_dim, d, type);
		put_mat(w, NAME("attn_v"), p->wv + l * kvd * d, kvd, d, type);
		put_mat(w, NAME("attn_output"), p->wo + l * d * qd, d, qd, type);
		put_vec(w, NAME("ffn_norm"), p->ffn_norm + l * d, d);
		put_mat(w, NAME("ffn_gate"), p->w_gate + l * ff * d, ff, d, type);
		put_mat(w, NAME("ffn_up"), p->w_up + l * ff * d, ff, d, type);
		put_mat(w, NAME("ffn_down"), p->w_down + l * d * ff, d, ff, type);
#undef NAME
	}
	put_vec(w, "output_norm.weight", p->final_norm, d);
	int rc = gguf_write(w, path, err);
	gguf_writer_free(w);
	return rc;
}
