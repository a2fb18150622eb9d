/* pane_norms.c - norms of the residual stream per layer and position. */
#include "config.h"
#include "ui_int.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

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
	char info[256], num[16], sig[24];
	draw_fmt_num(num, sizeof num, sv, 6);
	draw_fmt_sig(sig, sizeof sig, sv);
	if (!isnan(sv))
		snprintf(info, sizeof info, "|resid_post L%d, pos %d| = %s\n|L%d pos %d| = %s\nL%d pos %d: %s\nL%d p%d %s",
			 s->sel_layer, s->sel_pos, sig, s->sel_layer, s->sel_pos, sig, s->sel_layer,
			 s->sel_pos, sig, s->sel_layer, s->sel_pos, sig);
	else
		snprintf(info, sizeof info, "rows: embed, resid_post of each layer\nrows: embed, each layer\n"
			 "embed, layers");
	draw_title(u, w, "norms", info);
	if (!any) {
		draw_dim_text(u, w, 1, "Norms of the residual stream appear as the pass computes it.");
		return;
	}
	int lw = 4, avail = W - lw;
	int numbers = lw + T * 6 <= W, cw = numbers ? 5 : avail >= T * 2 ? 2 : 1, gap = numbers;
	int ncols = avail / (cw + gap);
	if (ncols > T)
		ncols = T;
	int p0 = draw_window_start(s->sel_pos, ncols, T);
	int nrows = H - 2 < R ? H - 2 : R;
	int r0 = draw_window_start(sr, nrows, R);
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
				draw_fmt_num(num, sizeof num, v, cw);
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
	draw_fmt_num(num, sizeof num, mx, 6);
	char forms[384];
	const ui_glyphs *g = u->th.g;
	snprintf(forms, sizeof forms, "pos %d..%d  %s 0 .. %s max %s\npos %d..%d  max %s\npos %d..%d max %s\np%d..%d max %s",
		 p0, p0 + ncols - 1, g->shade[0], g->shade[g->n_shade - 1], num + strspn(num, " "), p0,
		 p0 + ncols - 1, num + strspn(num, " "), p0, p0 + ncols - 1, num + strspn(num, " "), p0,
		 p0 + ncols - 1, num + strspn(num, " "));
	draw_forms(w, H - 1, 0, W, forms);
	theme_set(&u->th, w, ROLE_NORMAL);
}

