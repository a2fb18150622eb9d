/* pane_pipeline.c - the pipeline map: embed, per layer norm / attn / add /
 * norm / mlp / add, final norm, unembed, with the stop shown marked, then
 * the hooks of the current layer. */
#include "config.h"
#include "ui_int.h"

#include <stdio.h>
#include <string.h>


/* Stages of a layer: the hooks are grouped as the pipeline map names them. */
static const char *const stage_name[6] = {"norm", "attn", "add", "norm", "mlp", "add"};

static int stage_of(int kind)
{
	switch (kind) {
	case HOOK_RESID_PRE: case HOOK_LN1_SCALE: case HOOK_LN1_NORM: case HOOK_LN1_OUT:
		return 0;
	case HOOK_RESID_MID:
		return 2;
	case HOOK_LN2_SCALE: case HOOK_LN2_NORM: case HOOK_LN2_OUT:
		return 3;
	case HOOK_MLP_PRE: case HOOK_MLP_PRE_LINEAR: case HOOK_MLP_POST: case HOOK_MLP_OUT:
		return 4;
	case HOOK_RESID_POST:
		return 5;
	default:
		return 1;
	}
}

/* State of the stop range [a, b]: 0 not reached, 2 shown, 3 contains the
 * stop shown. Whether stops ahead were computed already is not shown, so
 * that stepping back shows exactly what was shown before. */
static int range_state(const rs_session *s, int a, int b)
{
	if (s->view_stop >= a && s->view_stop <= b)
		return 3;
	return b <= s->view_stop ? 2 : 0;
}

static int put_state(ui *u, WINDOW *w, int y, int x, int W, int st, const char *label)
{
	const ui_glyphs *g = u->th.g;
	static const ui_role roles[] = {ROLE_DIM, ROLE_DIM, ROLE_DONE, ROLE_CURRENT};
	theme_set(&u->th, w, roles[st]);
	int n = 0;
	if (label)
		n += draw_text(w, y, x, W - x, label);
	else
		n += draw_text(w, y, x, W - x,
			       st == 3 ? g->current : st == 2 ? g->done : g->pending);
	theme_set(&u->th, w, ROLE_NORMAL);
	return n;
}

void pane_pipeline_draw(ui *u, WINDOW *w)
{
	const rs_session *s = u->s;
	int W = getmaxx(w), H = getmaxy(w);
	if (!s->model)
		return;
	int L = s->model->cfg.n_layers, n_stops = hook_n_stops(L);
	rs_hook cur = session_hook(s);
	char name[96], info[160];
	int y = 0;
	static const char *gname[] = {"hook", "sublayer", "layer"};
	if (s->view_stop < 0)
		snprintf(name, sizeof name, "(before hook_embed)");
	else
		hook_name(cur, name, sizeof name);
	snprintf(info, sizeof info, "stop %d/%d %s  steps: %s", s->view_stop + 1, n_stops, name,
		 gname[s->gran % 3]);
	if (H >= 3) {
		draw_title(u, w, "pipeline", info);
		y = 1;
	}
	/* overview: embed, one glyph per layer (the current one expanded), final norm, unembed */
	int x = 0;
	/* the layer shown expanded: the current one, or layer 0 before the first */
	int cl = cur.layer >= 0 ? cur.layer : (cur.kind == HOOK_EMBED || s->view_stop < 0 ? 0 : -1);
	x += put_state(u, w, y, x, W, range_state(s, 0, 0), "embed");
	x += draw_text(w, y, x, W - x, " ");
	/* collapse layers far from the current one when the line is short */
	int expanded_w = 4 + 6 * 5, per = 1;
	int room = W - x - 26 - expanded_w;
	int lo = 0, hi = L - 1;
	if (room < (L - 1) * per) {
		lo = (cl >= 0 ? cl : L - 1) - room / 2;
		if (lo < 0)
			lo = 0;
		hi = lo + room - 1;
		if (hi > L - 1)
			hi = L - 1, lo = hi - room + 1 < 0 ? 0 : hi - room + 1;
	}
	for (int l = 0; l < L && x < W; l++) {
		int a = hook_stop((rs_hook){HOOK_RESID_PRE, l}, L), b = a + HOOK_LAYER_KINDS - 1;
		if (l != cl) {
			if (l < lo || l > hi) {
				if (l == lo - 1 || l == hi + 1)
					x += put_state(u, w, y, x, W, 0, u->th.g->ellipsis);
				continue;
			}
			x += put_state(u, w, y, x, W, range_state(s, a, b), NULL);
			continue;
		}
		char lab[16];
		snprintf(lab, sizeof lab, " L%d[", l);
		x += draw_text(w, y, x, W - x, lab);
		for (int st = 0; st < 6; st++) {
			int sa = -1, sb = -1;
			for (int k = HOOK_FIRST_LAYER_KIND; k <= HOOK_LAST_LAYER_KIND; k++)
				if (stage_of(k) == st) {
					int stp = hook_stop((rs_hook){k, l}, L);
					if (sa < 0)
						sa = stp;
					sb = stp;
				}
			if (st)
				x += draw_text(w, y, x, W - x, " ");
			x += put_state(u, w, y, x, W, range_state(s, sa, sb), stage_name[st]);
		}
		x += draw_text(w, y, x, W - x, "] ");
	}
	x += draw_text(w, y, x, W - x, " ");
	int f = hook_stop((rs_hook){HOOK_LNF_SCALE, -1}, L), lg = hook_stop((rs_hook){HOOK_LOGITS, -1}, L);
	x += put_state(u, w, y, x, W, range_state(s, f, lg - 1), "final norm");
	x += draw_text(w, y, x, W - x, " ");
	put_state(u, w, y, x, W, range_state(s, lg, lg), "unembed");
	if (y + 1 >= H)
		return;
	/* detail: the hooks of the current layer (or the global ones) */
	y++;
	x = 0;
	int a, b;
	if (cur.layer >= 0) {
		a = hook_stop((rs_hook){HOOK_RESID_PRE, cur.layer}, L);
		b = a + HOOK_LAYER_KINDS - 1;
		x += draw_textf(w, y, x, W - x, "blocks.%d: ", cur.layer);
	} else {
		a = cur.kind == HOOK_EMBED || s->view_stop < 0 ? 0 : f;
		b = a == 0 ? 0 : lg;
	}
	/* start far enough left that the current hook is in view */
	int start = a;
	for (;;) {
		int need = 0;
		for (int t = start; t <= s->view_stop && t <= b; t++) {
			rs_hook hk = hook_at(t, L);
			char kn[64];
			draw_hook_short(hook_kind_name(hk.kind), kn, sizeof kn);
			need += ui_text_width(kn) + 2;
		}
		if (need < W - x - 10 || start >= s->view_stop || start >= b)
			break;
		start++;
	}
	if (start > a)
		x += draw_text(w, y, x, W - x, u->th.g->ellipsis);
	/* each hook whole or not at all; "*" marks the stops of the step size */
	int marks = s->gran != GRAN_HOOK;
	const char *legend = "(* = a stop)";
	for (int t = start; t <= b && x < W; t++) {
		rs_hook hk = hook_at(t, L);
		int st = range_state(s, t, t);
		char kn[64];
		draw_hook_short(hook_kind_name(hk.kind), kn, sizeof kn);
		int star = hook_in_gran(hk.kind, s->gran) && marks;
		int need = ui_text_width(kn) + star + (t < b ? 2 : 0);
		if (x + need > W - (t < b ? 0 : 0)) {
			put_state(u, w, y, x < W ? x : W - 1, W, 0, u->th.g->ellipsis);
			x = W;
			break;
		}
		x += put_state(u, w, y, x, W, st, kn);
		if (star)
			x += draw_text(w, y, x, W - x, "*");
		x += draw_text(w, y, x, W - x, " ");
	}
	if (marks && x + ui_text_width(legend) + 1 <= W) {
		theme_set(&u->th, w, ROLE_DIM);
		draw_text(w, y, x + 1, W - x - 1, legend);
		theme_set(&u->th, w, ROLE_NORMAL);
	}
}
