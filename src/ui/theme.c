/* theme.c - colour roles, heat ramps and glyph tables.
 *
 * Three colour depths (256, 8, none) times three themes (dark, light, mono).
 * Heat cells always carry their level twice, as a glyph and as a colour, so
 * a heatmap stays readable on a monochrome projector or in an ASCII locale.
 * Backgrounds stay the terminal's own (-1) so light schemes survive.
 */
#include "config.h"
#include "ui_int.h"

#include <math.h>
#include <string.h>
#include <strings.h>

static const ui_glyphs glyphs_utf8 = {
	.shade = {"\xc2\xb7", "\xe2\x96\x91", "\xe2\x96\x92", "\xe2\x96\x93", "\xe2\x96\x88"},
	.n_shade = 5, /* · ░ ▒ ▓ █ */
	.pos = {"\xc2\xb7", "+", "\xe2\x96\x92", "\xe2\x96\x88"}, /* · + ▒ █ */
	.neg = {"\xc2\xb7", "-", "=", "\xe2\x89\xa1"},            /* · - = ≡ */
	.n_div = 4,
	.masked = " ",
	.none = " ",
	.bar = {" ", "\xe2\x96\x8f", "\xe2\x96\x8e", "\xe2\x96\x8d", "\xe2\x96\x8c", "\xe2\x96\x8b",
		"\xe2\x96\x8a", "\xe2\x96\x89", "\xe2\x96\x88"},
	.arrow = "\xe2\x86\x92",
	.ellipsis = "\xe2\x80\xa6",
	.mark = "\xe2\x96\xb2",
	.done = "\xe2\x97\x8f", .current = "\xe2\x97\x86", .pending = "\xe2\x97\x8b",
	.vbar = "\xe2\x94\x82",
};

static const ui_glyphs glyphs_ascii = {
	.shade = {".", ":", "-", "=", "+", "*", "#", "%", "@"},
	.n_shade = 9,
	.pos = {".", "+", "*", "#"},
	.neg = {".", "-", "=", "~"},
	.n_div = 4,
	.masked = " ",
	.none = " ",
	.bar = {" ", "|", "|", "|", "#", "#", "#", "#", "#"},
	.arrow = ">",
	.ellipsis = "~",
	.mark = "^",
	.done = "*", .current = "@", .pending = ".",
	.vbar = "|",
};

/* 256 colours: a dark-blue to yellow ramp for dark screens, light to dark
 * blue for light ones; diverging blue - grey - red. */
static const short seq_dark[] = {17, 18, 25, 31, 37, 43, 78, 114, 150, 186, 222, 229};
static const short seq_light[] = {254, 253, 189, 153, 117, 111, 75, 69, 63, 27, 21, 19};
static const short div_dark[] = {21, 27, 33, 39, 74, 110, 242, 174, 210, 209, 203, 197, 196};
static const short div_light[] = {19, 21, 27, 33, 69, 111, 250, 217, 210, 203, 197, 160, 124};
/* 8 colours */
static const short seq_8[] = {COLOR_BLUE, COLOR_CYAN, COLOR_GREEN, COLOR_YELLOW, COLOR_RED};
static const short div_8[] = {COLOR_BLUE, COLOR_BLUE, COLOR_CYAN, -1, COLOR_YELLOW, COLOR_RED,
			      COLOR_RED};

int theme_parse(const char *name)
{
	if (!strcasecmp(name, "dark"))
		return THEME_DARK;
	if (!strcasecmp(name, "light"))
		return THEME_LIGHT;
	if (!strcasecmp(name, "mono") || !strcasecmp(name, "none"))
		return THEME_MONO;
	return -1;
}

const char *theme_name(int kind)
{
	return kind == THEME_LIGHT ? "light" : kind == THEME_MONO ? "mono" : "dark";
}

short theme_pair(const ui_theme *t, int fg, int bg)
{
	if (!t->colors)
		return 0;
	int p = alloc_pair(fg, bg);
	return p < 0 || p > 32767 ? 0 : (short)p;
}

static void role(ui_theme *t, ui_role r, attr_t a, int fg, int bg)
{
	t->attr[r] = a;
	t->pair[r] = (fg == -1 && bg == -1) ? 0 : theme_pair(t, fg, bg);
}

void theme_init(ui_theme *t, int kind, int utf8)
{
	memset(t, 0, sizeof *t);
	t->kind = kind;
	t->utf8 = utf8;
	t->g = utf8 ? &glyphs_utf8 : &glyphs_ascii;
	t->colors = 0;
	if (kind != THEME_MONO && has_colors())
		t->colors = COLORS >= 256 ? 256 : COLORS >= 8 ? 8 : 0;
	if (!t->colors)
		t->kind = kind = THEME_MONO;

	/* attributes that read on every terminal, colour added on top */
	t->attr[ROLE_TITLE] = A_BOLD | A_UNDERLINE;
	t->attr[ROLE_HEADER] = A_REVERSE;
	t->attr[ROLE_DIM] = A_DIM;
	t->attr[ROLE_SEL] = A_REVERSE;
	t->attr[ROLE_CURRENT] = A_BOLD | A_REVERSE;
	t->attr[ROLE_DONE] = A_BOLD;
	t->attr[ROLE_ERROR] = A_BOLD;
	t->attr[ROLE_KEY] = A_BOLD;
	if (!t->colors)
		return;

	int light = kind == THEME_LIGHT;
	if (t->colors == 256) {
		role(t, ROLE_TITLE, A_BOLD, light ? 25 : 111, -1);
		role(t, ROLE_HEADER, A_BOLD, light ? 231 : 231, light ? 25 : 24);
		role(t, ROLE_DIM, 0, light ? 246 : 243, -1);
		role(t, ROLE_SEL, A_BOLD, light ? 16 : 16, light ? 222 : 220);
		role(t, ROLE_CURRENT, A_BOLD, 16, light ? 117 : 81);
		role(t, ROLE_DONE, 0, light ? 28 : 114, -1);
		role(t, ROLE_ERROR, A_BOLD, light ? 160 : 203, -1);
		role(t, ROLE_KEY, A_BOLD, light ? 130 : 215, -1);
		role(t, ROLE_POS, 0, light ? 124 : 210, -1);
		role(t, ROLE_NEG, 0, light ? 19 : 75, -1);
		memcpy(t->seq, light ? seq_light : seq_dark, sizeof seq_dark);
		t->n_seq = 12;
		memcpy(t->div, light ? div_light : div_dark, sizeof div_dark);
		t->n_div = 13;
	} else {
		role(t, ROLE_TITLE, A_BOLD, COLOR_CYAN, -1);
		role(t, ROLE_HEADER, A_BOLD, COLOR_WHITE, COLOR_BLUE);
		role(t, ROLE_DIM, A_DIM, -1, -1);
		role(t, ROLE_SEL, A_BOLD, COLOR_BLACK, COLOR_YELLOW);
		role(t, ROLE_CURRENT, A_BOLD, COLOR_BLACK, COLOR_CYAN);
		role(t, ROLE_DONE, 0, COLOR_GREEN, -1);
		role(t, ROLE_ERROR, A_BOLD, COLOR_RED, -1);
		role(t, ROLE_KEY, A_BOLD, COLOR_YELLOW, -1);
		role(t, ROLE_POS, 0, COLOR_RED, -1);
		role(t, ROLE_NEG, 0, COLOR_BLUE, -1);
		if (light) {
			t->pair[ROLE_TITLE] = theme_pair(t, COLOR_BLUE, -1);
			t->pair[ROLE_KEY] = theme_pair(t, COLOR_MAGENTA, -1);
		}
		memcpy(t->seq, seq_8, sizeof seq_8);
		t->n_seq = 5;
		memcpy(t->div, div_8, sizeof div_8);
		t->n_div = 7;
	}
}

void theme_set(const ui_theme *t, WINDOW *w, ui_role r)
{
	wattr_set(w, t->attr[r], t->pair[r], NULL);
}


static void put_n(WINDOW *w, const char *s, int n)
{
	for (int i = 0; i < n; i++)
		waddstr(w, s);
}

/* Colour index of a sequential value, or -1 for NaN / off. */
static int seq_colour(const ui_theme *t, float v)
{
	if (!t->colors || isnan(v))
		return -1;
	return t->seq[ui_heat_level(v, 0, 1, t->n_seq)];
}

void theme_heat(const ui_theme *t, WINDOW *w, float v, int diverging, int cw)
{
	const ui_glyphs *g = t->g;
	if (isnan(v)) {
		wattr_set(w, A_DIM, 0, NULL);
		put_n(w, g->none, cw);
		return;
	}
	if (!diverging) {
		/* the lowest glyph level is never blank, so every computed cell shows */
		int lv = ui_heat_level(v, 0, 1, g->n_shade);
		attr_t a = 0;
		short pair = 0;
		if (t->colors) {
			pair = theme_pair(t, seq_colour(t, v), -1);
			if (t->colors == 8 && v > 0.6f)
				a = A_BOLD;
		} else if (v > 0.8f) {
			a = A_BOLD;
		}
		wattr_set(w, a, pair, NULL);
		put_n(w, g->shade[lv], cw);
		return;
	}
	float m = fabsf(v);
	int lv = ui_heat_level(m, 0, 1, g->n_div);
	short pair = 0;
	attr_t a = 0;
	if (t->colors) {
		int half = t->n_div / 2;
		int k = ui_heat_level(m, 0, 1, half + 1);
		int c = t->div[v < 0 ? half - k : half + k];
		pair = theme_pair(t, c, -1);
		if (t->colors == 8 && k == half)
			a = A_BOLD;
	}
	wattr_set(w, a, pair, NULL);
	put_n(w, v < 0 ? g->neg[lv] : g->pos[lv], cw);
}
