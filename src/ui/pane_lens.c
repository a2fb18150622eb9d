/* pane_lens.c - the logit-lens grid: layer x position, the top token and its
 * probability (cells fill in while the screen waits for a key: cache.c). */
#include "config.h"
#include "ui_int.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

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
	draw_title(u, w, "logit lens",
		   "top token (prob) if the stream were unembedded here\ntop token (prob) if unembedded here\n"
		   "top token (prob) per layer\ntop token (prob)");
	if (!shown_layers) {
		draw_dim_text(u, w, 1, "Each row appears when its layer's hook_resid_post is computed.");
		return;
	}
	int lw = 4, cw = 10;
	int ncols = (W - lw) / cw;
	if (ncols < 1)
		ncols = 1, cw = W - lw;
	if (ncols > T)
		ncols = T;
	int p0 = draw_window_start(s->sel_pos, ncols, T);
	/* position header */
	theme_set(&u->th, w, ROLE_DIM);
	for (int j = 0; j < ncols; j++)
		draw_textf(w, 1, lw + j * cw, cw, "%spos %d", p0 + j == s->sel_pos ? ">" : "", p0 + j);
	int nrows = H - 2 < shown_layers ? H - 2 : shown_layers;
	int r0 = draw_window_start(s->sel_layer, nrows, shown_layers);
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
			draw_fmt_num(num, sizeof num, cell->prob, 3);
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

