/* pane_tokens.c - the token strip: the prompt, the selected position in view. */
#include "config.h"
#include "ui_int.h"

#include <stdio.h>
#include <string.h>

void pane_tokens_draw(ui *u, WINDOW *w)
{
	const rs_session *s = u->s;
	int W = getmaxx(w);
	char buf[256], info[256];
	if (s->n_ids <= 0) {
		draw_title(u, w, "tokens", "no prompt: type :prompt TEXT");
		return;
	}
	int p = s->sel_pos;
	snprintf(info, sizeof info, "pos %d of %d  id %d  %s", p, s->n_ids, s->ids[p],
		 draw_token(u, s->ids[p], buf, sizeof buf));
	draw_title(u, w, "tokens", info);
	/* the whole prompt when it fits; else a window that keeps pos in view,
	 * with the first token (BOS) kept in front when there is room for it */
	int total = 0;
	for (int i = 0; i < s->n_ids; i++)
		total += ui_text_width(draw_token(u, s->ids[i], buf, sizeof buf)) + 1;
	int first = p, used = 0, pin = 0;
	if (total - 1 <= W) {
		first = 0;
	} else {
		int w0 = ui_text_width(draw_token(u, s->ids[0], buf, sizeof buf)) + 1;
		int half = W / 2;
		if (p > 0 && w0 + 12 < half) {
			pin = 1;
			half -= w0;
		}
		while (first > 0) {
			int cw = ui_text_width(draw_token(u, s->ids[first - 1], buf, sizeof buf)) + 1;
			if (used + cw > half)
				break;
			used += cw;
			first--;
		}
		/* the pinned token is next to the window: no gap to mark */
		if (first == 1 && pin)
			first = 0;
		if (first == 0)
			pin = 0;
	}
	int x = 0;
	const ui_glyphs *g = u->th.g;
	if (pin) {
		theme_set(&u->th, w, ROLE_DIM);
		x += draw_text(w, 1, x, W - x, draw_token(u, s->ids[0], buf, sizeof buf));
		x += draw_text(w, 1, x, W - x, " ");
	}
	if (first > 0) {
		theme_set(&u->th, w, ROLE_DIM);
		x += draw_text(w, 1, x, W - x, g->ellipsis);
	}
	for (int i = first; i < s->n_ids && x < W; i++) {
		draw_token(u, s->ids[i], buf, sizeof buf);
		int cw = ui_text_width(buf);
		if (x + cw > W - 1 && i != p) {
			theme_set(&u->th, w, ROLE_DIM);
			draw_text(w, 1, W - 1, 1, g->ellipsis);
			break;
		}
		theme_set(&u->th, w, i == p ? ROLE_SEL : (i % 2 ? ROLE_NORMAL : ROLE_DIM));
		if (i % 2 && i != p)
			wattron(w, A_UNDERLINE); /* neighbours told apart without colour */
		x += draw_text(w, 1, x, W - x, buf);
		theme_set(&u->th, w, ROLE_NORMAL);
		if (x < W)
			x += draw_text(w, 1, x, W - x, " ");
	}
	theme_set(&u->th, w, ROLE_NORMAL);
}

