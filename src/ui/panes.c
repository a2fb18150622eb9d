/* panes.c - the pane table (what each pane depends on, and its drawer in
 * its own pane_NAME.c), the header and hint lines, and the boxes drawn over
 * the panes: help and completions. */
#include "config.h"
#include "ui_int.h"

#include <stdio.h>
#include <string.h>

#include "engine.h"
#include "lesson.h"

/* Drawers in the other pane modules. */
void pane_tokens_draw(ui *u, WINDOW *w);
void pane_pipeline_draw(ui *u, WINDOW *w);
void pane_vector_draw(ui *u, WINDOW *w);
void pane_attn_draw(ui *u, WINDOW *w);
void pane_norms_draw(ui *u, WINDOW *w);
void pane_lens_draw(ui *u, WINDOW *w);
void pane_topk_draw(ui *u, WINDOW *w);
void pane_output_draw(ui *u, WINDOW *w);
void pane_lesson_draw(ui *u, WINDOW *w);
void pane_features_draw(ui *u, WINDOW *w);


/* The number of stops <= view_stop of one kind in one layer (0 or 1): what a
 * pane showing that hook depends on, so stepping elsewhere leaves it alone. */
static int shown(const rs_session *s, int kind, int layer)
{
	return session_can_show(s, (rs_hook){kind, layer});
}

/* What each pane depends on: a signature of it, so a pane is redrawn only
 * when it changed. h already holds what every pane depends on. */
static uint64_t sig_tokens(ui *u, int p, uint64_t h)
{
	const rs_session *s = u->s;
	h = sig_mix(h, (uint64_t)s->sel_pos);
	h = sig_mix(h, (uint64_t)s->n_ids);
	for (int i = 0; i < s->n_ids; i++)
		h = sig_mix(h, (uint32_t)s->ids[i]);
	return h;
}

static uint64_t sig_pipeline(ui *u, int p, uint64_t h)
{
	h = sig_mix(h, (uint64_t)u->s->view_stop);
	return sig_mix(h, (uint64_t)u->s->gran);
}

static uint64_t sig_vector(ui *u, int p, uint64_t h)
{
	const rs_session *s = u->s;
	h = sig_mix(h, (uint64_t)s->view_stop);
	h = sig_mix(h, (uint64_t)s->sel_pos << 20 | (uint64_t)s->sel_head);
	return sig_mix(h, (uint64_t)s->vec_full << 32 | (uint32_t)u->vec_scroll);
}

static uint64_t sig_attn(ui *u, int p, uint64_t h)
{
	const rs_session *s = u->s;
	h = sig_mix(h, (uint64_t)s->sel_layer << 20 | (uint64_t)s->sel_head);
	h = sig_mix(h, (uint64_t)s->sel_pos << 1 | (uint64_t)(s->attn_values != 0));
	return sig_mix(h, (uint64_t)(shown(s, HOOK_PATTERN, s->sel_layer) | shown(s, HOOK_ATTN_SCORES, s->sel_layer) << 1));
}

/* norms and lens: the residual stream after each layer */
static uint64_t sig_layers(ui *u, int p, uint64_t h)
{
	const rs_session *s = u->s;
	int L = s->model ? s->model->cfg.n_layers : 0;
	int n = shown(s, HOOK_EMBED, -1);
	for (int l = 0; l < L; l++)
		n += shown(s, HOOK_RESID_POST, l);
	h = sig_mix(h, (uint64_t)n);
	h = sig_mix(h, (uint64_t)s->sel_pos << 20 | (uint64_t)s->sel_layer);
	if (p == PANE_LENS && u->cache.lens && L > 0) {
		/* lens cells fill in while idle */
		int filled = 0;
		for (int l = 0; l < L; l++)
			filled += u->cache.lens[(size_t)l * u->cache.T].valid;
		h = sig_mix(h, (uint64_t)filled);
	}
	return h;
}

static uint64_t sig_topk(ui *u, int p, uint64_t h)
{
	h = sig_mix(h, (uint64_t)shown(u->s, HOOK_LOGITS, -1));
	return sig_mix(h, (uint64_t)u->s->sel_pos << 20 | (uint64_t)u->s->topk);
}

/* features: the SAE's hook at the selected position, and whether it is computed */
static uint64_t sig_features(ui *u, int p, uint64_t h)
{
	const rs_session *s = u->s;
	h = sig_mix(h, (uint64_t)s->view_stop << 20 | (uint64_t)s->sel_pos);
	h = sig_mix(h, (uint64_t)(uintptr_t)s->sae);
	return sig_mix(h, s->version);
}

static uint64_t sig_output(ui *u, int p, uint64_t h)
{
	h = sig_str(h, u->s->output);
	h = sig_str(h, u->err_line);
	return sig_mix(h, (uint64_t)u->out_scroll);
}

static uint64_t sig_lesson(ui *u, int p, uint64_t h)
{
	h = sig_mix(h, (uint64_t)u->lesson_scroll);
	return sig_str(h, lesson_pane_text(u->s));
}

/* The pane table: what each pane depends on and how it is drawn (its name
 * is the session's, session_pane_name). */
static const struct {
	uint64_t (*sig)(ui *u, int p, uint64_t h);
	void (*draw)(ui *u, WINDOW *w);
} pane_table[PANE_N] = {
	[PANE_TOKENS] = {sig_tokens, pane_tokens_draw},
	[PANE_PIPELINE] = {sig_pipeline, pane_pipeline_draw},
	[PANE_VECTOR] = {sig_vector, pane_vector_draw},
	[PANE_ATTN] = {sig_attn, pane_attn_draw},
	[PANE_NORMS] = {sig_layers, pane_norms_draw},
	[PANE_LENS] = {sig_layers, pane_lens_draw},
	[PANE_TOPK] = {sig_topk, pane_topk_draw},
	[PANE_LESSON] = {sig_lesson, pane_lesson_draw},
	[PANE_OUTPUT] = {sig_output, pane_output_draw},
	[PANE_FEATURES] = {sig_features, pane_features_draw},
};

uint64_t pane_sig(ui *u, int p)
{
	const rs_session *s = u->s;
	const ui_rect *r = &u->lay.pane[p];
	uint64_t h = sig_mix(u->gen, (uint64_t)p);
	h = sig_mix(h, (uint64_t)r->h << 32 | (uint32_t)r->w);
	h = sig_mix(h, (uint64_t)u->th.kind << 8 | (uint64_t)u->th.colors);
	h = sig_str(h, s->highlight);
	return p >= 0 && p < PANE_N ? pane_table[p].sig(u, p, h) : 0;
}

void pane_draw(ui *u, int p, WINDOW *w)
{
	werase(w);
	theme_set(&u->th, w, ROLE_NORMAL);
	if (p >= 0 && p < PANE_N)
		pane_table[p].draw(u, w);
	const char *hl = u->s->highlight;
	if (hl[0] && session_pane_parse(hl, 1) == p) /* a lesson points at a pane by name */
		mvwchgat(w, 0, 0, -1, u->th.attr[ROLE_SEL], u->th.pair[ROLE_SEL], NULL);
}

/* ------------------------------------------------------------ header, hints */

void pane_draw_header(ui *u, WINDOW *w)
{
	const rs_session *s = u->s;
	int W = getmaxx(w);
	werase(w);
	theme_set(&u->th, w, ROLE_HEADER);
	for (int x = 0; x < W; x++)
		mvwaddch(w, 0, x, ' ');
	const char *name = s->model ? (s->model->cfg.name[0] ? s->model->cfg.name : s->model->path) : "";
	const char *slash = strrchr(name, '/');
	if (slash && slash[1])
		name = slash + 1;
	char vis[200]; /* the name comes from the file: shown, never obeyed */
	name = rs_visible(name, strlen(name), u->th.utf8 ? RS_VIS_UTF8 : 0, vis, sizeof vis);
	char stop[96] = "before hook_embed", full[96];
	if (s->view_stop >= 0)
		hook_name(session_hook(s), full, sizeof full);
	static const char *gname[] = {"hook", "sublayer", "layer"};
	const char *bar = u->th.g->vbar;
	/* fields by importance, each whole or not at all: what is shown, the
	 * selection, the interventions in effect, the step size, the model */
	char f[5][256];
	int nf = 0;
	snprintf(f[nf++], sizeof f[0], " %s ", s->view_stop >= 0 ? full : stop);
	snprintf(f[nf++], sizeof f[0], " layer %d head %d pos %d ", s->sel_layer, s->sel_head, s->sel_pos);
	int niv = s->eng ? eng_n_interventions(s->eng) : 0;
	if (niv) {
		/* "2 interventions: zero 3.attn.z h2, patch 1.resid_pre": each in
		 * short, as many as fit in half the line, then "..." */
		int o = snprintf(f[nf], sizeof f[0], " %d intervention%s:", niv, niv > 1 ? "s" : "");
		/* what the stop and the selection leave */
		int budget = W - ui_text_width(f[0]) - ui_text_width(f[1]) - 2 * ui_text_width(bar);
		for (int i = 0; i < niv; i++) {
			const rs_intervention *iv = eng_intervention(s->eng, i);
			const char *note = session_iv_note(s, i);
			const char *kind = iv->kind == IV_ZERO ? "zero" : iv->kind == IV_MEAN ? "mean" : iv->kind == IV_ADD ? "steer"
					   : note && !strncmp(note, "mean", 4) ? "mean" : "patch";
			char hn[96], sh[96], item[160];
			draw_hook_short(hook_name(iv->hook, hn, sizeof hn), sh, sizeof sh);
			int n;
			if (iv->hook.kind == HOOK_Z && iv->head >= 0) /* a head's output: L3H2 */
				n = snprintf(item, sizeof item, "%s L%dH%d %s", i ? "," : "", iv->hook.layer, iv->head, kind);
			else
				n = snprintf(item, sizeof item, "%s %s %s", i ? "," : "", kind, sh);
			if (iv->head >= 0 && iv->hook.kind != HOOK_Z)
				n += snprintf(item + n, sizeof item - (size_t)n, " %s%d",
					      hook_shape(iv->hook.kind) == HSHAPE_KV ? "kv" : "h", iv->head);
			if (iv->pos >= 0)
				snprintf(item + n, sizeof item - (size_t)n, " p%d", iv->pos);
			if (o + ui_text_width(item) + (i + 1 < niv ? 10 : 5) > budget) {
				snprintf(f[nf] + o, sizeof f[0] - (size_t)o, "%s ...", i ? "," : "");
				break;
			}
			o += snprintf(f[nf] + o, sizeof f[0] - (size_t)o, "%s", item);
		}
		snprintf(f[nf] + strlen(f[nf]), sizeof f[0] - strlen(f[nf]), " (i) ");
		nf++;
	}
	snprintf(f[nf++], sizeof f[0], " steps: %s ", gname[s->gran % 3]);
	snprintf(f[nf++], sizeof f[0], " %s ", name);
	/* the hook's full name when it and the selection fit, else its short form */
	if (s->view_stop >= 0 && ui_text_width(f[0]) + ui_text_width(f[1]) + ui_text_width(f[nf - 2]) + 2 > W)
		snprintf(f[0], sizeof f[0], " %s ", draw_hook_short(full, stop, sizeof stop));
	int x = 0;
	for (int i = 0; i < nf; i++) {
		int need = ui_text_width(f[i]) + (i ? ui_text_width(bar) : 0);
		if (x + need > W) {
			if (i < 2)
				ui_trace("header field dropped: %s", f[i]);
			continue;
		}
		if (i)
			x += draw_text(w, 0, x, W - x, bar);
		x += draw_text(w, 0, x, W - x, f[i]);
	}
}

void pane_draw_hints(ui *u, WINDOW *w)
{
	int W = getmaxx(w);
	werase(w);
	/* while typing a command the keys are readline's; else the key table's */
	static const char *const cmd[][2] = {
		{"Enter", "run"}, {"Tab", "complete"}, {"\xe2\x86\x91", "history"},
		{"C-r", "search"}, {"Esc", "cancel"},
	};
	int x = 0;
	int notice_w = u->notice[0] ? ui_text_width(u->notice) + 1 : 0;
	const char *key, *what;
	for (int i = 0; u->cmd_active ? i < (int)(sizeof cmd / sizeof *cmd) : ui_key_hint(i, &key, &what); i++) {
		if (u->cmd_active)
			key = cmd[i][0], what = cmd[i][1];
		if (!u->th.utf8 && (unsigned char)key[0] >= 0x80)
			key = !strcmp(key, "\xe2\x86\x92") ? "n" : !strcmp(key, "\xe2\x86\x90") ? "b" : "Up";
		int need = ui_text_width(key) + 1 + ui_text_width(what) + 2;
		if (x + need > W - notice_w)
			break;
		theme_set(&u->th, w, ROLE_KEY);
		x += draw_text(w, 0, x, W - x, key);
		theme_set(&u->th, w, ROLE_DIM);
		x += draw_textf(w, 0, x, W - x, " %s  ", what);
	}
	if (u->notice[0]) {
		theme_set(&u->th, w, ROLE_ERROR);
		draw_text(w, 0, W - notice_w + 1 > x ? W - notice_w + 1 : x, W, u->notice);
	}
	theme_set(&u->th, w, ROLE_NORMAL);
}

/* ------------------------------------------------------------ help overlay: the key table's help lines (keys.c) */

/* The completion candidates, in columns, in a box above the hint line. */
void pane_draw_matches(ui *u)
{
	int n = 0, maxw = 1;
	for (char **m = u->matches; *m; m++, n++)
		if (ui_text_width(*m) > maxw)
			maxw = ui_text_width(*m);
	int W = COLS, cw = maxw + 2;
	int ncol = (W - 2) / cw > 0 ? (W - 2) / cw : 1;
	int rows = (n + ncol - 1) / ncol, maxrows = LINES / 2 - 2;
	int shown_rows = rows < maxrows ? rows : maxrows;
	int h = shown_rows + 2;
	WINDOW *win = newwin(h, W, LINES - 2 - h, 0);
	if (!win)
		return;
	werase(win);
	theme_set(&u->th, win, ROLE_DIM);
	draw_box(u, win);
	char title[64];
	snprintf(title, sizeof title, " %d completions%s ", n, rows > shown_rows ? " (type more to narrow)" : "");
	theme_set(&u->th, win, ROLE_TITLE);
	draw_text(win, 0, 2, W - 4, title);
	theme_set(&u->th, win, ROLE_NORMAL);
	/* column-major, like a shell's listing; when cut, the first ones in order */
	for (int i = 0; i < n; i++) {
		int col = i / shown_rows, row = i % shown_rows;
		if (col >= ncol)
			break;
		draw_text(win, 1 + row, 1 + col * cw, cw - 1, u->matches[i]);
	}
	wnoutrefresh(win);
	delwin(win);
}

/* The help's lines: the key table's (keys.c), then what the screen's
 * glyphs and names mean, in the glyphs of this terminal. */
static int help_lines(ui *u, char lines[][160], int max)
{
	int n = 0;
	for (const char *l; n < max && (l = ui_key_help(n)) && strcmp(l, "Press any key to close."); n++)
		snprintf(lines[n], 160, "%s", l);
	if (n && !lines[n - 1][0])
		n--;
	const ui_glyphs *g = u->th.g;
	char seq[64] = "", neg[48] = "", pos[48] = "";
	for (int i = 0; i < g->n_shade; i++)
		strcat(seq, g->shade[i]);
	for (int i = g->n_div - 1; i >= 1; i--)
		strcat(neg, g->neg[i]), strcat(neg, " ");
	for (int i = 1; i < g->n_div; i++)
		strcat(pos, " "), strcat(pos, g->pos[i]);
	const char *extra[] = {
		"",
		"Reading the screen",
		NULL, NULL,
		"  hook row: * marks the stops of the step size (g); the rest are passed over",
		"  names: blocks. and hook_ are left out where room is short:",
		"         0.ln1.normalized is blocks.0.ln1.hook_normalized",
		"  heads: --head is a query head; k, v and rot_k show kv heads (--kv-head)",
	};
	char l1[160], l2[160];
	snprintf(l1, sizeof l1, "  %s  low to high: attention weights, norms (lowest %s, highest %s)", seq, g->shade[0],
		 g->shade[g->n_shade - 1]);
	snprintf(l2, sizeof l2, "  %s%s%s  negative to positive: the vector's entries by size", neg, g->pos[0], pos);
	extra[2] = l1;
	extra[3] = l2;
	for (size_t i = 0; i < sizeof extra / sizeof *extra && n < max; i++)
		snprintf(lines[n++], 160, "%s", extra[i]);
	return n;
}

/* Pages of the help that fit above the command line; Space shows the next. */
int pane_help_pages(ui *u)
{
	char lines[64][160];
	int n = help_lines(u, lines, 64), rows = LINES - 1 - 2 - 1; /* borders, the last line's hint */
	return rows > 0 ? (n + rows - 1) / rows : 1;
}

void pane_draw_help(ui *u)
{
	char lines[64][160];
	int n = help_lines(u, lines, 64);
	int rows = LINES - 1 - 2 - 1, pages = rows > 0 ? (n + rows - 1) / rows : 1;
	if (rows < 1)
		return;
	if (u->help_page >= pages)
		u->help_page = pages - 1;
	int first = u->help_page * rows, shown = n - first < rows ? n - first : rows;
	int h = shown + 3, w = 80; /* the command line stays below the box */
	if (w > COLS)
		w = COLS;
	WINDOW *win = newwin(h, w, (LINES - 1 - h) / 2, (COLS - w) / 2);
	if (!win)
		return;
	werase(win);
	theme_set(&u->th, win, ROLE_NORMAL);
	draw_box(u, win);
	char title[64];
	snprintf(title, sizeof title, pages > 1 ? " keys and glyphs (%d/%d) " : " keys and glyphs ", u->help_page + 1,
		 pages);
	theme_set(&u->th, win, ROLE_TITLE);
	draw_text(win, 0, 2, w - 4, title);
	for (int i = 0; i < shown; i++) {
		const char *l = lines[first + i];
		theme_set(&u->th, win, l[0] != ' ' && l[0] ? ROLE_TITLE : ROLE_NORMAL);
		draw_text(win, i + 1, 2, w - 4, l);
	}
	theme_set(&u->th, win, ROLE_DIM);
	draw_text(win, h - 2, 2, w - 4,
		  u->help_page + 1 < pages ? "Space: the next page; any other key closes." : "Press any key to close.");
	theme_set(&u->th, win, ROLE_NORMAL);
	wnoutrefresh(win);
	delwin(win);
}
