/* pane_attn.c - the attention pattern of the selected layer and head:
 * query rows, key columns, the causal triangle left blank. As a heatmap
 * (one query row a line, glyph and colour both carrying the weight) or, on
 * request, as numbers. The selected position's row is marked. */
#include "config.h"
#include "ui_int.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

void pane_attn_draw(ui *u, WINDOW *w)
{
	const rs_session *s = u->s;
	int W = getmaxx(w), H = getmaxy(w);
	char title[64], info[320];
	if (!s->model)
		return;
	const rs_config *c = &s->model->cfg;
	int layer = s->sel_layer, head = s->sel_head;
	snprintf(title, sizeof title, "attention L%d H%d", layer, head);
	const rs_act *a = session_view_act(s, (rs_hook){HOOK_PATTERN, layer});
	if (!a) {
		char name[96], msg[256];
		hook_name((rs_hook){HOOK_PATTERN, layer}, name, sizeof name);
		draw_title(u, w, title, NULL);
		snprintf(msg, sizeof msg,
			 "Not computed yet: the pattern of layer %d appears at %s (stop %d). "
			 "Step there, or press L to run to the end of the layer.",
			 layer, name, hook_stop((rs_hook){HOOK_PATTERN, layer}, c->n_layers) + 1);
		theme_set(&u->th, w, ROLE_DIM);
		draw_wrapped(w, 1, 0, H - 1, W, msg, 0);
		theme_set(&u->th, w, ROLE_NORMAL);
		return;
	}
	int T = a->shape[1], Tk;
	head %= act_n_heads(a, HOOK_PATTERN);
	int q = s->sel_pos < T ? s->sel_pos : T - 1;
	const float *row = act_row(a, HOOK_PATTERN, q, head, &Tk);
	int best = 0;
	for (int k = 1; k <= q && k < Tk; k++)
		if (row[k] > row[best])
			best = k;
	char num[16];
	draw_fmt_num(num, sizeof num, row[best], 4);
	const char *wt = num + (num[0] == ' ');
	snprintf(info, sizeof info,
		 "query %d looks most at key %d (weight %s)\nquery %d looks most at key %d (%s)\n"
		 "query %d: most at key %d (%s)\nq%d: most at key %d (%s)\nq%d: key %d %s",
		 q, best, wt, q, best, wt, q, best, wt, q, best, wt, q, best, wt);
	draw_title(u, w, title, info);

	char lab[16];
	int lw = snprintf(lab, sizeof lab, "%d", T - 1) + 1; /* digits, then the marker */
	int avail_w = W - lw, avail_h = H - 2;               /* title, key axis */
	if (avail_w < 2 || avail_h < 1)
		return;
	int values = s->attn_values;
	int cw, gap;
	if (values) {
		cw = lw + Tk * 5 <= W ? 4 : 3;
		gap = 1;
	} else {
		cw = Tk * 2 <= avail_w ? 2 : 1;
		gap = 0;
	}
	int ncols = avail_w / (cw + gap);
	if (ncols > Tk)
		ncols = Tk;
	/* one query row a line, glyph and colour both carrying the weight (two
	 * rows a line in half blocks would be colour alone); a window of rows
	 * that holds the selected query when they do not all fit */
	int nrows = avail_h < T ? avail_h : T;
	int r0 = draw_window_start(q, nrows, T);
	int k0 = q >= ncols ? q - ncols + 1 : 0;

	for (int line = 0; line < nrows && 1 + line < H - 1; line++) {
		int r = r0 + line;
		if (r >= T)
			break;
		int y = 1 + line;
		int sel = r == q;
		theme_set(&u->th, w, sel ? ROLE_SEL : ROLE_DIM);
		draw_textf(w, y, 0, lw, "%*d%s", lw - 1, r, sel ? ">" : " ");
		wmove(w, y, lw);
		for (int j = 0; j < ncols; j++) {
			int k = k0 + j;
			if (k > r) { /* the causal mask: a query never sees later keys */
				wattr_set(w, 0, 0, NULL);
				for (int i = 0; i < cw + gap; i++)
					waddstr(w, u->th.g->masked);
				continue;
			}
			float v = act_at(a, head, r, k);
			if (values) {
				draw_fmt_num(num, sizeof num, v, cw);
				if (u->th.colors) {
					int lv = ui_heat_level(v, 0, 1, u->th.n_seq);
					wattr_set(w, v > 0.5f ? A_BOLD : 0,
						  theme_pair(&u->th, u->th.seq[lv < 2 ? 2 : lv], -1), NULL);
				} else {
					wattr_set(w, v > 0.5f ? A_BOLD : 0, 0, NULL);
				}
				waddstr(w, num);
				wattr_set(w, 0, 0, NULL);
				waddstr(w, " ");
			} else {
				theme_heat(&u->th, w, v, 0, cw);
			}
		}
	}
	/* the axes: which query rows and key columns are shown, and the legend */
	theme_set(&u->th, w, ROLE_DIM);
	const ui_glyphs *g = u->th.g;
	int r1 = r0 + nrows - 1 < T - 1 ? r0 + nrows - 1 : T - 1;
	char rows[64], legend[64], forms[768];
	if (r0 == 0 && r1 == T - 1)
		snprintf(rows, sizeof rows, "all %d queries", T);
	else
		snprintf(rows, sizeof rows, "queries %d..%d", r0, r1);
	snprintf(legend, sizeof legend, "%s low %s%s high  ", g->shade[0], g->shade[g->n_shade / 2],
		 g->shade[g->n_shade - 1]);
	const char *other = values ? "(v: heatmap)" : "(v: values)";
	if (values)
		legend[0] = 0;
	char rows_long[96];
	if (r0 == 0 && r1 == T - 1)
		snprintf(rows_long, sizeof rows_long, "%s", rows);
	else
		snprintf(rows_long, sizeof rows_long, "%s of 0..%d", rows, T - 1);
	snprintf(forms, sizeof forms, "%s, keys %d..%d  %s%s\n%s, keys %d..%d  %s%s\n%s, keys %d..%d  %s\n%s, keys %d..%d",
		 rows_long, k0, k0 + ncols - 1, legend, other, rows, k0, k0 + ncols - 1, legend, other, rows, k0,
		 k0 + ncols - 1, other, rows, k0, k0 + ncols - 1);
	draw_forms(w, H - 1, 0, W, forms);
	theme_set(&u->th, w, ROLE_NORMAL);
}
