/* pane_vector.c - the vector inspector: the hook shown, at the selected
 * position (and head, for per-head hooks), as a heat bar of its dimensions
 * with its norm, mean, extremes and largest dimensions; or every number. */
#include "config.h"
#include "ui_int.h"
#include "vec.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

typedef struct vec_view {
	const float *x;
	int n;
	int is_logits;
	int is_scalar;
	int is_keys;            /* entries are key positions (scores, pattern) */
	char what[96];
	char brief[64];         /* the same, shorter */
} vec_view;

/* The slice of the hook shown that belongs to the selection. */
static int vec_select(const rs_session *s, vec_view *v)
{
	memset(v, 0, sizeof *v);
	if (s->view_stop < 0 || !s->model)
		return -1;
	rs_hook h = session_hook(s);
	const rs_act *a = session_view_act(s, h);
	if (!a)
		return -1;
	const rs_config *c = &s->model->cfg;
	int pos = s->sel_pos;
	switch (h.kind) {
	case HOOK_LN1_SCALE: case HOOK_LN2_SCALE: case HOOK_LNF_SCALE:
		v->x = a->data + pos;
		v->n = 1;
		v->is_scalar = 1;
		snprintf(v->what, sizeof v->what, "pos %d: the RMS of the stream", pos);
		snprintf(v->brief, sizeof v->brief, "pos %d", pos);
		return 0;
	case HOOK_Q: case HOOK_ROT_Q: case HOOK_Z: case HOOK_K: case HOOK_V: case HOOK_ROT_K: {
		int nh = act_n_heads(a, h.kind), hd;
		int head = s->sel_head % c->n_heads;
		if (nh != c->n_heads) /* key/value heads are shared by groups of query heads */
			head = head * nh / c->n_heads;
		v->x = act_row(a, h.kind, pos, head, &hd);
		v->n = hd;
		snprintf(v->what, sizeof v->what, "pos %d %s %d, %d dims", pos,
			 nh != c->n_heads ? "kv head" : "head", head, hd);
		snprintf(v->brief, sizeof v->brief, "pos %d %s %d", pos, nh != c->n_heads ? "kv head" : "head",
			 head);
		return 0;
	}
	case HOOK_ATTN_SCORES: case HOOK_PATTERN: {
		int Tk;
		int head = s->sel_head % act_n_heads(a, h.kind);
		v->x = act_row(a, h.kind, pos, head, &Tk);
		v->n = pos + 1 < Tk ? pos + 1 : Tk; /* later keys are masked */
		v->is_keys = 1;
		snprintf(v->what, sizeof v->what, "query %d head %d, keys 0..%d", pos, head, v->n - 1);
		snprintf(v->brief, sizeof v->brief, "q %d head %d", pos, head);
		return 0;
	}
	default:
		v->x = act_row(a, h.kind, pos, 0, &v->n);
		v->is_logits = h.kind == HOOK_LOGITS;
		snprintf(v->what, sizeof v->what, "pos %d, %d %s", pos, v->n,
			 v->is_logits ? "logits" : "dims");
		snprintf(v->brief, sizeof v->brief, "pos %d", pos);
		return 0;
	}
}

/* The k largest |x[i]| into idx, -1 past the last (vec_topk). */
static void top_dims(const float *x, int n, int k, int *idx)
{
	for (int j = vec_topk(x, n, k, 1, idx); j < k; j++)
		idx[j] = -1;
}

static void draw_full(ui *u, WINDOW *w, const vec_view *v, int y0, int H)
{
	int W = getmaxx(w);
	char lab[16];
	int lw = snprintf(lab, sizeof lab, "%d", v->n - 1) + 2;
	int per = (W - lw) / 8;
	if (per < 1)
		per = 1;
	int rows = (v->n + per - 1) / per;
	int maxscroll = rows - (H - y0) > 0 ? rows - (H - y0) : 0;
	if (u->vec_scroll > maxscroll)
		u->vec_scroll = maxscroll;
	if (u->vec_scroll < 0)
		u->vec_scroll = 0;
	for (int r = 0; y0 + r < H && u->vec_scroll + r < rows; r++) {
		int i0 = (u->vec_scroll + r) * per;
		theme_set(&u->th, w, ROLE_DIM);
		draw_textf(w, y0 + r, 0, lw, "%*d:", lw - 1, i0);
		for (int j = 0; j < per && i0 + j < v->n; j++) {
			float x = v->x[i0 + j];
			theme_set(&u->th, w, x < 0 ? ROLE_NEG : ROLE_POS);
			char num[24];
			if (fabsf(x) < 9.99995f)
				snprintf(num, sizeof num, "%7.4f", x);
			else
				draw_fmt_num(num, sizeof num, x, 7);
			draw_text(w, y0 + r, lw + j * 8, 8, num);
		}
	}
	theme_set(&u->th, w, ROLE_NORMAL);
}

static void draw_bar(ui *u, WINDOW *w, const vec_view *v, float maxabs, int y0, int rows)
{
	int W = getmaxx(w);
	char lab[16];
	int lw = snprintf(lab, sizeof lab, "%d", v->n - 1) + 1;
	int cols = W - lw;
	if (cols < 1 || rows < 1)
		return;
	/* dims per cell, so that the vector fills the rows given; a short
	 * vector gets wider cells instead */
	int cells = cols * rows;
	int per = (v->n + cells - 1) / cells;
	int cw = per == 1 && v->n * 2 <= cols ? (v->n * 3 <= cols ? 3 : 2) : 1;
	int ncell = (v->n + per - 1) / per;
	int per_row = ncell * cw < cols ? ncell : cols / cw;
	for (int c = 0; c < ncell; c++) {
		int r = c / per_row, col = c % per_row;
		if (r >= rows)
			break;
		if (col == 0) {
			theme_set(&u->th, w, ROLE_DIM);
			draw_textf(w, y0 + r, 0, lw, "%*d", lw - 1, c * per);
			wmove(w, y0 + r, lw);
		}
		/* the bucket shows its largest-magnitude entry, sign kept */
		float best = 0;
		for (int i = c * per; i < (c + 1) * per && i < v->n; i++)
			if (fabsf(v->x[i]) > fabsf(best))
				best = v->x[i];
		theme_heat(&u->th, w, maxabs > 0 ? best / maxabs : 0, 1, cw);
	}
	theme_set(&u->th, w, ROLE_NORMAL);
}

void pane_vector_draw(ui *u, WINDOW *w)
{
	const rs_session *s = u->s;
	int W = getmaxx(w), H = getmaxy(w);
	vec_view v;
	char name[96], info[1024];
	if (vec_select(s, &v)) {
		draw_title(u, w, "vector", NULL);
		theme_set(&u->th, w, ROLE_DIM);
		draw_wrapped(w, 1, 0, H - 1, W,
			     s->view_stop >= 0 ? "This hook was not kept in the activation cache."
			     : u->th.utf8 ? "The pass has not started: press \xe2\x86\x92 (or n) to compute "
					   "the token embeddings."
					 : "The pass has not started: press n to compute the token embeddings.",
			     0);
		theme_set(&u->th, w, ROLE_NORMAL);
		return;
	}
	char sh[96];
	hook_name(session_hook(s), name, sizeof name);
	draw_hook_short(name, sh, sizeof sh);
	snprintf(info, sizeof info, "%s  %s\n%s  %s\n%s  %s\n%s", name, v.what, sh, v.what, sh, v.brief, sh);
	draw_title(u, w, "vector", info);
	if (v.is_scalar) {
		draw_textf(w, 1, 0, W, "scale = %.6g", v.x[0]);
		theme_set(&u->th, w, ROLE_DIM);
		draw_wrapped(w, 2, 0, H - 2, W,
			     "RMSNorm divides the stream by this and multiplies by the norm weight.", 0);
		theme_set(&u->th, w, ROLE_NORMAL);
		return;
	}
	/* statistics over the finite entries */
	double ss = 0, sum = 0;
	float mn = INFINITY, mx = -INFINITY, maxabs = 0;
	int nf = 0;
	for (int i = 0; i < v.n; i++) {
		float x = v.x[i];
		if (!isfinite(x))
			continue;
		nf++;
		ss += (double)x * x;
		sum += x;
		if (x < mn)
			mn = x;
		if (x > mx)
			mx = x;
		if (fabsf(x) > maxabs)
			maxabs = fabsf(x);
	}
	char a[24], b[24], c[24], d[24];
	draw_fmt_sig(a, sizeof a, (float)sqrt(ss));
	draw_fmt_sig(b, sizeof b, nf ? (float)(sum / nf) : 0);
	draw_fmt_sig(c, sizeof c, mn);
	draw_fmt_sig(d, sizeof d, mx);
	/* the four numbers whole: on one line when they fit, else on two */
	char l1[128], l2[64];
	snprintf(l1, sizeof l1, "norm %s  mean %s  min %s  max %s", a, b, c, d);
	int stat_rows = 1;
	if (ui_text_width(l1) > W) {
		snprintf(l1, sizeof l1, "norm %s  mean %s", a, b);
		snprintf(l2, sizeof l2, "min %s  max %s", c, d);
		stat_rows = 2;
		draw_text(w, 2, 0, W, l2);
	}
	int x = draw_text(w, 1, 0, W, l1);
	theme_set(&u->th, w, ROLE_DIM);
	if (stat_rows == 1 && x + 24 < W)
		draw_text(w, 1, x + 2, W - x - 2, s->vec_full ? "(f: heat bar)" : "(f: numbers)");
	theme_set(&u->th, w, ROLE_NORMAL);

	int idx[8];
	int k = W >= 60 ? 8 : 4;
	top_dims(v.x, v.n, k, idx);
	int top_rows = H >= 8 ? 2 : H >= 5 ? 1 : 0;
	int y0 = 1 + stat_rows, body = H - y0 - top_rows;
	/* the scale's legend, when the bar keeps a few rows without it */
	if (!s->vec_full && body >= 6) {
		const ui_glyphs *g = u->th.g;
		char leg[160];
		snprintf(leg, sizeof leg, "%s %s %s negative  %s 0  %s %s %s positive  (by |x| / max|x|)", g->neg[3], g->neg[2],
			 g->neg[1], g->pos[0], g->pos[1], g->pos[2], g->pos[3]);
		body--;
		theme_set(&u->th, w, ROLE_DIM);
		draw_forms(w, y0 + body, 0, W, leg);
		theme_set(&u->th, w, ROLE_NORMAL);
	}
	if (s->vec_full)
		draw_full(u, w, &v, y0, y0 + body);
	else
		draw_bar(u, w, &v, maxabs, y0, body);
	if (!top_rows)
		return;
	/* the largest dimensions, by magnitude (for logits: the tokens) */
	int y = H - top_rows, xx = 0;
	theme_set(&u->th, w, ROLE_DIM);
	xx += draw_text(w, y, 0, W, v.is_logits ? "top: " : v.is_keys ? "top keys: " : "top |x|: ");
	for (int j = 0; j < k && idx[j] >= 0; j++) {
		char item[128], tok[64], num[24];
		draw_fmt_sig(num, sizeof num, v.x[idx[j]]);
		if (v.is_logits)
			snprintf(item, sizeof item, "%s %s", draw_token(u, idx[j], tok, sizeof tok), num);
		else if (v.is_keys)
			snprintf(item, sizeof item, "key %d %s", idx[j], num);
		else
			snprintf(item, sizeof item, "d%d %s", idx[j], num);
		int iw = ui_text_width(item) + 2;
		if (xx + iw > W) {
			if (++y >= H)
				break;
			xx = 0;
		}
		theme_set(&u->th, w, v.x[idx[j]] < 0 ? ROLE_NEG : ROLE_POS);
		xx += draw_text(w, y, xx, W - xx, item);
		xx += draw_text(w, y, xx, W - xx, "  ");
	}
	theme_set(&u->th, w, ROLE_NORMAL);
}
