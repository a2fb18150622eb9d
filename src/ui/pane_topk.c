/* pane_topk.c - the top-k next tokens at the selected position. */
#include "config.h"
#include "ui_int.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

void pane_topk_draw(ui *u, WINDOW *w)
{
	const rs_session *s = u->s;
	int W = getmaxx(w), H = getmaxy(w);
	char title[64];
	snprintf(title, sizeof title, "next token after pos %d", s->sel_pos);
	draw_title(u, w, title, NULL);
	const ui_topk *t = cache_topk(u, s->sel_pos);
	if (!t) {
		draw_dim_text(u, w, 1, "Predictions appear at the logits stop: press E to run to the end.");
		return;
	}
	const ui_glyphs *g = u->th.g;
	for (int i = 0; i < t->k && 1 + i < H; i++) {
		char tok[64], num[16];
		draw_token(u, t->id[i], tok, sizeof tok);
		tok[ui_text_fit(tok, 12)] = 0;
		draw_fmt_num(num, sizeof num, t->prob[i], 5);
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
