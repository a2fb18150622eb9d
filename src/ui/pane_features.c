/* pane_features.c - the SAE's most active features at the selected position
 * (as `features` lists them): activation, a bar, the tokens each feature's
 * decoder direction promotes. Shown once the pass has computed the SAE's
 * hook; `feature N` tells the rest of a feature. */
#include "config.h"
#include "ui_int.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

#include "feat.h"

#define PANE_FEAT_MAX 32

void pane_features_draw(ui *u, WINDOW *w)
{
	rs_session *s = u->s;
	int W = getmaxx(w), H = getmaxy(w);
	char title[96], hn[96], hs[96];
	rs_err err = {{0}};
	const rs_sae *sae = s->n_ids > 0 ? feat_sae(s, &err) : NULL;
	snprintf(title, sizeof title, "features at pos %d", s->sel_pos);
	char info[160] = "";
	if (sae)
		snprintf(info, sizeof info, "SAE of %s, %d\nSAE of %s", draw_hook_short(hook_name(sae->hook, hn, sizeof hn), hs, sizeof hs),
			 sae->n, hs);
	draw_title(u, w, title, info);
	if (!sae) {
		draw_dim_text(u, w, 1, s->n_ids > 0 ? err.msg : "Features of the prompt's positions appear here.");
		return;
	}
	int ids[PANE_FEAT_MAX];
	float acts[PANE_FEAT_MAX];
	int k = H - 1 < PANE_FEAT_MAX ? H - 1 : PANE_FEAT_MAX;
	int got = k > 0 ? feat_top_shown(s, s->sel_pos, k, ids, acts, &err) : 0;
	if (got < 0) {
		char msg[600];
		snprintf(msg, sizeof msg, "%.500s: step on, or press E to run to the end.", err.msg);
		draw_dim_text(u, w, 1, msg);
		return;
	}
	if (!got) {
		draw_dim_text(u, w, 1, "No feature is active here.");
		return;
	}
	for (int i = 0; i < got; i++) {
		int y = 1 + i;
		char num[16], line[160];
		draw_fmt_num(num, sizeof num, acts[i], 6);
		theme_set(&u->th, w, ROLE_DIM);
		draw_textf(w, y, 0, 6, "%5d", ids[i]);
		theme_set(&u->th, w, ROLE_NORMAL);
		draw_text(w, y, 6, 7, num);
		/* a bar of 6 cells against the strongest where there is room for it
		 * and the promoted tokens, else the tokens alone */
		int bw = W >= 40 ? 6 : 0, tx = 13 + (bw ? bw + 2 : 1);
		int eighths = (int)lroundf(acts[i] / acts[0] * (float)bw * 8);
		wmove(w, y, 14);
		theme_set(&u->th, w, ROLE_DONE);
		for (int c = 0; c < bw && eighths > 0 && 14 + c < W; c++, eighths -= 8)
			waddstr(w, u->th.g->bar[eighths >= 8 ? 8 : eighths]);
		theme_set(&u->th, w, ROLE_NORMAL);
		int32_t pr[3];
		int np = feat_promotes(s, ids[i], 1, 3, pr);
		size_t o = 0;
		line[0] = 0;
		for (int j = 0; j < np && o < sizeof line; j++) {
			char tb[48];
			draw_token(u, pr[j], tb, sizeof tb);
			tb[ui_text_fit(tb, 12)] = 0;
			o += (size_t)snprintf(line + o, sizeof line - o, "%s%s", j ? " " : "", tb);
		}
		if (W > tx)
			draw_text(w, y, tx, W - tx, line);
	}
}
