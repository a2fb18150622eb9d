/* pane_grid.c - the panes that span layers and positions: norms of the
 * residual stream, the logit-lens grid, and the top-k next tokens. */
#include "config.h"
#include "ui_int.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

static int win_start(int sel, int n, int total)
{
	if (total <= n)
		return 0;
	int s = sel - n / 2;
	if (s < 0)
		s = 0;
	return s > total - n ? total - n : s;
}

static void dim_text(ui *u, WINDOW *w, int y, const char *msg)
{
	theme_set(&u->th, w, ROLE_DIM);
	draw_wrapped(w, y, 0, getmaxy(w) - y, getmaxx(w), msg, 0);
	theme_set(&u->th, w, ROLE_NORMAL);
}

/* ------------------------------------------------------------ norms */

void pane_norms_draw(ui *u, WINDOW *w)
{
	const rs_session *s = u->s;
	int W = getmaxx(w), H = getmaxy(w);
	if (!s->model || s->n_ids <= 0) {
		draw_title(u, w, "norms", NULL);
		return;
	}
	int L = s->model->cfg.n_layers, T = s->n_ids, R = L + 1;
	float mx = 0;
	int any = 0;
	for (int r = 0; r < R; r++)
		for (int p = 0; p < T; p++) {
			float v = cache_norm(u, r, p);
			if (!isnan(v)) {
				any = 1;
				if (v > mx)
					mx = v;
			}
		}
	int sr = s->sel_layer + 1; /* the row after the selected layer */
	float sv = cache_norm(u, sr, s->sel_pos);
	char info[128], num[16];
	fmt_num(num, sizeof num, sv, 6);
	if (!isnan(sv))
		snprintf(info, sizeof info, "|resid_post L%d, pos %d| =%s", s->sel_layer, s->sel_pos, num);
	else
		snprintf(info, sizeof info, "rows: embed, resid_post of each layer");
	draw_title(u, w, "norms", info);
	if (!any) {
		dim_text(u, w, 1, "Norms of the residual stream appear as the pass computes it.");
		return;
	}
	int lw = 4, avail = W - lw;
	int numbers = lw + T * 6 <= W, cw = numbers ? 5 : avail >= T * 2 ? 2 : 1, gap = numbers;
	int ncols = avail / (cw + gap);
	if (ncols > T)
		ncols = T;
	int p0 = win_start(s->sel_pos, ncols, T);
	int nrows = H - 2 < R ? H - 2 : R;
	int r0 = win_start(sr, nrows, R);
	for (int i = 0; i < nrows; i++) {
		int r = r0 + i, y = 1 + i;
		theme_set(&u->th, w, r == sr ? ROLE_SEL : ROLE_DIM);
		if (r == 0)
			draw_text(w, y, 0, lw, "emb ");
		else
			draw_textf(w, y, 0, lw, "L%-3d", r - 1);
		wmove(w, y, lw);
		for (int j = 0; j < ncols; j++) {
			int p = p0 + j;
			float v = cache_norm(u, r, p);
			if (numbers) {
				if (isnan(v)) {
					wattr_set(w, A_DIM, 0, NULL);
					wprintw(w, "%*s ", cw, "");
					continue;
				}
				fmt_num(num, sizeof num, v, cw);
				int lv = ui_heat_level(v / mx, 0, 1, u->th.n_seq ? u->th.n_seq : 1);
				short pair = u->th.colors ? theme_pair(&u->th, u->th.seq[lv < 2 ? 2 : lv], -1) : 0;
				wattr_set(w, (r == sr && p == s->sel_pos) ? A_REVERSE : 0, pair, NULL);
				waddstr(w, num);
				wattr_set(w, 0, 0, NULL);
				waddstr(w, " ");
			} else {
				theme_heat(&u->th, w, isnan(v) ? NAN : v / mx, 0, cw);
			}
		}
	}
	theme_set(&u->th, w, ROLE_DIM);
	fmt_num(num, sizeof num, mx, 6);
	draw_textf(w, H - 1, 0, W, "pos %d..%d  max%s", p0, p0 + ncols - 1, num);
	theme_set(&u->th, w, ROLE_NORMAL);
}

/* ------------------------------------------------------------ logit lens */

void pane_lens_draw(ui *u, WINDOW *w)
{
	const rs_session *s = u->s;
	int W = getmaxx(w), H = getmaxy(w);
	if (!s->model || s->n_ids <= 0) {
		draw_title(u, w, "logit lens", NULL);
		return;
	}
	int L = s->model->cfg.n_layers, T = s->n_ids;
	int shown_layers = 0;
	for (int l = 0; l < L; l++)
		shown_layers += session_act(s, (rs_hook){HOOK_RESID_POST, l}) != NULL;
	draw_title(u, w, "logit lens", "top token (prob) if the stream were unembedded here");
	if (!shown_layers) {
		dim_text(u, w, 1, "Each row appears when its layer's hook_resid_post is computed.");
		return;
	}
	int lw = 4, cw = 10;
	int ncols = (W - lw) / cw;
	if (ncols < 1)
		ncols = 1, cw = W - lw;
	if (ncols > T)
		ncols = T;
	int p0 = win_start(s->sel_pos, ncols, T);
	/* position header */
	theme_set(&u->th, w, ROLE_DIM);
	for (int j = 0; j < ncols; j++)
		draw_textf(w, 1, lw + j * cw, cw, "%spos %d", p0 + j == s->sel_pos ? ">" : "", p0 + j);
	int nrows = H - 2 < shown_layers ? H - 2 : shown_layers;
	int r0 = win_start(s->sel_layer, nrows, shown_layers);
	for (int i = 0; i < nrows; i++) {
		int l = r0 + i, y = 2 + i;
		theme_set(&u->th, w, l == s->sel_layer ? ROLE_SEL : ROLE_DIM);
		draw_textf(w, y, 0, lw, "L%-3d", l);
		for (int j = 0; j < ncols; j++) {
			const ui_lens_cell *cell = cache_lens(u, l, p0 + j);
			int x = lw + j * cw;
			if (!cell || !cell->valid) {
				theme_set(&u->th, w, ROLE_DIM);
				draw_text(w, y, x, cw, cell ? u->th.g->ellipsis : u->th.g->none);
				continue;
			}
			char tok[64], num[16], txt[96];
			draw_token(u, cell->id, tok, sizeof tok);
			fmt_num(num, sizeof num, cell->prob, 3);
			size_t fit = ui_text_fit(tok, cw - 5);
			tok[fit] = 0;
			snprintf(txt, sizeof txt, "%s %s", tok, num + (num[0] == ' '));
			short pair = 0;
			if (u->th.colors) {
				int lv = ui_heat_level(cell->prob, 0, 1, u->th.n_seq);
				pair = theme_pair(&u->th, u->th.seq[lv < 2 ? 2 : lv], -1);
			}
			wattr_set(w, cell->prob >= 0.5f ? A_BOLD : 0, pair, NULL);
			draw_text(w, y, x, cw - 1, txt);
		}
	}
	theme_set(&u->th, w, ROLE_NORMAL);
}

/* ------------------------------------------------------------ top-k */

void pane_topk_draw(ui *u, WINDOW *w)
{
	const rs_session *s = u->s;
	int W = getmaxx(w), H = getmaxy(w);
	char title[64];
	snprintf(title, sizeof title, "next token after pos %d", s->sel_pos);
	draw_title(u, w, title, NULL);
	const ui_topk *t = cache_topk(u, s->sel_pos);
	if (!t) {
		dim_text(u, w, 1, "Predictions appear at the logits stop: press E to run to the end.");
		return;
	}
	const ui_glyphs *g = u->th.g;
	for (int i = 0; i < t->k && 1 + i < H; i++) {
		char tok[64], num[16];
		draw_token(u, t->id[i], tok, sizeof tok);
		tok[ui_text_fit(tok, 12)] = 0;
		fmt_num(num, sizeof num, t->prob[i], 5);
		int y = 1 + i;
		theme_set(&u->th, w, ROLE_DIM);
		draw_textf(w, y, 0, 3, "%2d", i + 1);
		theme_set(&u->th, w, ROLE_NORMAL);
		draw_text(w, y, 3, 13, tok);
		draw_text(w, y, 16, 6, num);
		/* a bar in eighths of a cell */
		int bw = W - 23;
		if (bw <= 0)
			continue;
		int eighths = (int)lroundf(t->prob[i] * (float)bw * 8);
		wmove(w, y, 23);
		theme_set(&u->th, w, ROLE_DONE);
		for (int c = 0; c < bw && eighths > 0; c++, eighths -= 8)
			waddstr(w, g->bar[eighths >= 8 ? 8 : eighths]);
	}
	theme_set(&u->th, w, ROLE_NORMAL);
}
