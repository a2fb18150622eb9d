/* test_layout.c - the screen's layout and text helpers, without a terminal. */
#include "config.h"
#include "ui.h"

#include <locale.h>
#include <string.h>

#include "tap.h"

static int inside(ui_rect r, int rows, int cols)
{
	return r.h == 0 || (r.y >= 0 && r.x >= 0 && r.y + r.h <= rows && r.x + r.w <= cols);
}

static int overlap(ui_rect a, ui_rect b)
{
	if (!a.h || !b.h)
		return 0;
	return a.x < b.x + b.w && b.x < a.x + a.w && a.y < b.y + b.h && b.y < a.y + a.h;
}

/* Every rect of a layout, the fixed lines first. */
static int rects(const ui_layout *L, ui_rect *out)
{
	int n = 0;
	out[n++] = L->header;
	out[n++] = L->hints;
	out[n++] = L->cmdline;
	for (int p = 0; p < PANE_N; p++)
		out[n++] = L->pane[p];
	return n;
}

/* Whether a layout of the mask at this size (with a lesson text of
 * lesson_lines lines) is sound; fills why. */
static int sound_lesson(int rows, int cols, unsigned mask, int lesson_lines, char *why, size_t n)
{
	ui_layout L;
	layout_compute_lesson(rows, cols, mask, lesson_lines, &L);
	ui_rect r[3 + PANE_N];
	int k = rects(&L, r);
	if (rows < UI_MIN_ROWS || cols < UI_MIN_COLS) {
		for (int i = 0; i < k; i++)
			if (r[i].h) {
				snprintf(why, n, "%dx%d is too small but rect %d is shown", cols, rows, i);
				return 0;
			}
		return L.too_small;
	}
	if (L.too_small) {
		snprintf(why, n, "%dx%d marked too small", cols, rows);
		return 0;
	}
	for (int i = 0; i < k; i++) {
		if (!inside(r[i], rows, cols)) {
			snprintf(why, n, "%dx%d mask %x: rect %d outside", cols, rows, mask, i);
			return 0;
		}
		for (int j = i + 1; j < k; j++)
			if (overlap(r[i], r[j])) {
				snprintf(why, n, "%dx%d mask %x: rects %d and %d overlap", cols, rows, mask, i, j);
				return 0;
			}
	}
	for (int p = 0; p < PANE_N; p++) {
		int on = (mask >> p) & 1u;
		ui_rect q = L.pane[p];
		if (!on && q.h) {
			snprintf(why, n, "%dx%d mask %x: hidden pane %d shown", cols, rows, mask, p);
			return 0;
		}
		/* a shown pane has its title line and at least one more, and room for text */
		if (on && (q.h < 2 || q.w < 20)) {
			snprintf(why, n, "%dx%d mask %x lesson %d: pane %d is %dx%d", cols, rows, mask,
				 lesson_lines, p, q.w, q.h);
			return 0;
		}
	}
	return 1;
}

static int sound(int rows, int cols, unsigned mask, char *why, size_t n)
{
	return sound_lesson(rows, cols, mask, 0, why, n);
}

/* Rows of the panes above and below the lesson that share its column. */
static int band_rows(const ui_layout *L, int up)
{
	int ids[] = {PANE_VECTOR, PANE_ATTN, PANE_NORMS, PANE_LENS, PANE_TOPK};
	int h = 0;
	for (int i = up ? 0 : 2; i < (up ? 2 : 5); i++)
		if (L->pane[ids[i]].h > h)
			h = L->pane[ids[i]].h;
	return h;
}

#define LESSON (1u << PANE_LESSON)
#define P(x) (1u << PANE_##x)

/* Layouts with a lesson at the three sizes learners use most. */
static void lesson_layouts(void)
{
	char why[256] = "";
	int bad = 0;
	static const int sizes[][2] = {{24, 80}, {30, 100}, {48, 160}, {24, 119}, {40, 100}, {60, 200}};
	static const int lines[] = {1, 3, 7, 12, 30, 500};
	for (size_t i = 0; i < sizeof sizes / sizeof *sizes && !bad; i++)
		for (unsigned mask = LESSON; mask < (1u << PANE_N) && !bad; mask = (mask + 1) | LESSON)
			for (size_t k = 0; k < sizeof lines / sizeof *lines && !bad; k++)
				if (!sound_lesson(sizes[i][0], sizes[i][1], mask, lines[k], why, sizeof why))
					bad = 1;
	tap_ok(!bad, "layouts with a lesson of any length are sound %s", why);

	ui_layout L, M;
	unsigned all = layout_default_panes(1);
	/* 80x24, every pane: a long step takes rows from the bands, which keep a
	 * title and a few rows each */
	layout_compute_lesson(24, 80, all, 40, &L);
	tap_ok(L.pane[PANE_LESSON].h == 7 && L.pane[PANE_LESSON].w == 80,
	       "80x24 all panes, long step: the lesson is 80x%d (was 80x4)", L.pane[PANE_LESSON].h);
	tap_ok(band_rows(&L, 1) >= 4 && band_rows(&L, 0) >= 3 && L.pane[PANE_OUTPUT].h == 3,
	       "80x24 all panes: the bands keep %d and %d rows, the output 3", band_rows(&L, 1),
	       band_rows(&L, 0));
	layout_compute_lesson(24, 80, all, 2, &L);
	layout_compute(24, 80, all, &M);
	tap_ok(L.pane[PANE_LESSON].h == 4 && !memcmp(&L, &M, sizeof L),
	       "80x24 all panes, short step: the lesson keeps 4 rows, the bands the rest");
	/* 80x24, a step that asks for its output tall (lesson 01 step 1: 11 lines) */
	unsigned tall = LESSON | P(TOKENS) | P(PIPELINE) | P(OUTPUT);
	layout_compute_view(24, 80, tall, 17, 11, &L);
	tap_ok(L.pane[PANE_OUTPUT].h == 12 && L.pane[PANE_LESSON].h >= 5,
	       "80x24 a tall output: all 11 lines and its title (%d rows), the lesson keeps %d",
	       L.pane[PANE_OUTPUT].h, L.pane[PANE_LESSON].h);
	layout_compute_view(24, 80, all, 17, 40, &L);
	tap_ok(L.pane[PANE_LESSON].h >= 5 && band_rows(&L, 1) >= 4 && band_rows(&L, 0) >= 3,
	       "80x24 every pane, a tall output longer than the screen: the lesson and the bands keep their rows");
	/* 80x24, a step that shows only the output (lesson 13 step 1) */
	unsigned few = LESSON | P(OUTPUT);
	layout_compute_lesson(24, 80, few, 40, &L);
	tap_ok(L.pane[PANE_LESSON].h == 18 && L.pane[PANE_OUTPUT].h == 3 &&
		       L.pane[PANE_LESSON].y + L.pane[PANE_LESSON].h == 22,
	       "80x24 lesson and output, long step: the lesson takes every free row (%d)",
	       L.pane[PANE_LESSON].h);
	layout_compute_lesson(24, 80, few, 6, &L);
	tap_ok(L.pane[PANE_LESSON].h == 7 && L.pane[PANE_OUTPUT].h == 14,
	       "80x24 lesson and output, short step: the output gets what the lesson leaves (%d, %d)",
	       L.pane[PANE_LESSON].h, L.pane[PANE_OUTPUT].h);
	layout_compute(24, 80, few, &L);
	tap_ok(L.pane[PANE_LESSON].h == 18, "80x24 lesson and output, length unknown: every free row");
	layout_compute_lesson(24, 80, LESSON | P(TOKENS) | P(OUTPUT), 40, &L);
	tap_ok(L.pane[PANE_LESSON].h == 16 && L.pane[PANE_TOKENS].h == 2,
	       "80x24 tokens, lesson and output: the lesson takes %d rows", L.pane[PANE_LESSON].h);

	/* 100x30 */
	layout_compute_lesson(30, 100, all, 40, &L);
	tap_ok(L.pane[PANE_LESSON].h == 10 && band_rows(&L, 1) >= 4 && band_rows(&L, 0) >= 4,
	       "100x30 all panes, long step: lesson %d rows, bands %d and %d", L.pane[PANE_LESSON].h,
	       band_rows(&L, 1), band_rows(&L, 0));
	layout_compute_lesson(30, 100, all, 8, &L);
	tap_ok(L.pane[PANE_LESSON].h == 9, "100x30 all panes: a 8-line step gets 9 rows, its title included");
	layout_compute_lesson(30, 100, LESSON | P(TOKENS) | P(OUTPUT), 40, &L);
	tap_ok(L.pane[PANE_LESSON].h == 21 && L.pane[PANE_OUTPUT].h == 4,
	       "100x30 tokens, lesson and output: the lesson takes %d rows", L.pane[PANE_LESSON].h);

	/* 160x48: a column on the right, whatever the text's length */
	layout_compute_lesson(48, 160, all, 500, &L);
	layout_compute(48, 160, all, &M);
	tap_ok(!memcmp(&L, &M, sizeof L) && L.pane[PANE_LESSON].h == 45 && L.pane[PANE_LESSON].x > 100,
	       "160x48: the lesson is a full-height column, its length changes nothing");
	layout_compute_lesson(48, 160, few, 3, &L);
	tap_ok(L.pane[PANE_LESSON].h == 45 && L.pane[PANE_OUTPUT].w == 160 - 53 - 1 &&
		       L.pane[PANE_OUTPUT].h == 45,
	       "160x48 lesson and output: the lesson column, the output beside it (%dx%d)",
	       L.pane[PANE_OUTPUT].w, L.pane[PANE_OUTPUT].h);
	layout_compute_lesson(48, 160, few | P(TOKENS), 3, &L);
	tap_ok(L.pane[PANE_OUTPUT].h == 43 && L.pane[PANE_OUTPUT].y == 3,
	       "160x48 tokens, lesson and output: the output takes the rows below the tokens");
	layout_compute(24, 80, P(TOKENS) | P(OUTPUT), &L);
	tap_ok(L.pane[PANE_OUTPUT].h == 19, "80x24 tokens and output, no lesson: the output takes the free rows");

	layout_compute_lesson(30, 100, all, 17, &L);
	layout_compute_lesson(30, 100, all, 17, &M);
	tap_ok(!memcmp(&L, &M, sizeof L), "lesson layouts are a pure function of size and state");
}

int main(void)
{
	setlocale(LC_ALL, "C.UTF-8");
	char why[256] = "";
	int bad = 0, checked = 0;
	static const int sizes[][2] = {{24, 80}, {25, 80}, {24, 81}, {30, 100}, {40, 120}, {48, 160},
				       {60, 200}, {100, 300}, {24, 119}, {24, 120}, {39, 121}};
	for (size_t i = 0; i < sizeof sizes / sizeof *sizes && !bad; i++)
		for (unsigned mask = 0; mask < (1u << PANE_N) && !bad; mask++, checked++)
			if (!sound(sizes[i][0], sizes[i][1], mask, why, sizeof why))
				bad = 1;
	tap_ok(!bad, "layouts are inside the screen, disjoint, and show exactly the mask (%d) %s",
	       checked, why);

	bad = 0;
	for (int rows = 1; rows < 70 && !bad; rows++)
		for (int cols = 1; cols < 240 && !bad; cols += 3)
			if (!sound(rows, cols, layout_default_panes(rows % 2), why, sizeof why))
				bad = 1;
	tap_ok(!bad, "every size from 1x1 to 240x70 gets a sound layout or the notice %s", why);

	ui_layout L;
	layout_compute(23, 80, SESSION_PANES_DEFAULT, &L);
	tap_ok(L.too_small, "80x23 is too small");
	layout_compute(24, 79, SESSION_PANES_DEFAULT, &L);
	tap_ok(L.too_small, "79x24 is too small");

	/* 80x24: the panes a learner steps through all fit, with room to read */
	layout_compute(24, 80, SESSION_PANES_DEFAULT, &L);
	tap_ok(L.pane[PANE_ATTN].h >= 7 && L.pane[PANE_ATTN].w >= 36,
	       "80x24: attention pane is %dx%d", L.pane[PANE_ATTN].w, L.pane[PANE_ATTN].h);
	tap_ok(L.pane[PANE_VECTOR].h >= 7 && L.pane[PANE_VECTOR].w >= 30,
	       "80x24: vector pane is %dx%d", L.pane[PANE_VECTOR].w, L.pane[PANE_VECTOR].h);
	tap_ok(L.pane[PANE_TOPK].h >= 4 && L.pane[PANE_LENS].h >= 4 && L.pane[PANE_NORMS].h >= 4,
	       "80x24: lower band panes have at least 4 lines");
	tap_ok(L.cmdline.y == 23 && L.hints.y == 22 && L.header.y == 0, "80x24: fixed lines in place");

	/* the layout depends on the size only: the same call gives the same answer */
	ui_layout A, B;
	layout_compute(48, 160, layout_default_panes(1), &A);
	layout_compute(48, 160, layout_default_panes(1), &B);
	tap_ok(!memcmp(&A, &B, sizeof A), "layout is a pure function");
	tap_ok(A.pane[PANE_LESSON].w > 0 && A.pane[PANE_LESSON].x > A.pane[PANE_ATTN].x,
	       "160x48: the lesson is a column on the right");
	layout_compute(48, 160, SESSION_PANES_DEFAULT, &A);
	tap_ok(A.pane[PANE_ATTN].x + A.pane[PANE_ATTN].w == 160, "160x48: without a lesson the panes use the width");

	lesson_layouts();

	/* token text */
	char buf[128];
	tap_ok(!strcmp(ui_token_text(" world", 6, 1, buf, sizeof buf), "\xc2\xb7world"),
	       "space shown as a middle dot: %s", buf);
	tap_ok(!strcmp(ui_token_text(" world", 6, 0, buf, sizeof buf), "_world"), "ASCII: %s", buf);
	tap_ok(!strcmp(ui_token_text("a\nb", 3, 0, buf, sizeof buf), "a\\nb"), "newline escaped: %s", buf);
	tap_ok(!strcmp(ui_token_text("\xe4\xb8\xad", 3, 1, buf, sizeof buf), "\xe4\xb8\xad"),
	       "UTF-8 kept in UTF-8 mode");
	tap_ok(!strcmp(ui_token_text("\xe4\xb8\xad", 3, 0, buf, sizeof buf), "\\u{4E2D}"),
	       "UTF-8 escaped in ASCII mode: %s", buf);
	tap_ok(!strcmp(ui_token_text("\xe4\xb8", 2, 1, buf, sizeof buf), "\\xe4\\xb8"),
	       "a cut UTF-8 sequence shows its bytes: %s", buf);
	tap_ok(!strcmp(ui_token_text("\x1b[", 2, 1, buf, sizeof buf), "\xe2\x90\x9b["),
	       "escape bytes never reach the terminal (ESC as a symbol): %s", buf);
	tap_ok(!strcmp(ui_token_text("\x1b]0;x\x07", 6, 0, buf, sizeof buf), "\\e]0;x\\x07"),
	       "ASCII: ESC as \\e, BEL as \\x07: %s", buf);
	tap_ok(!strcmp(ui_token_text("\xc2\x9b" "2J\x7f", 5, 1, buf, sizeof buf), "\\u{9B}2J\\x7f"),
	       "a C1 control (CSI) and DEL escaped in UTF-8 mode: %s", buf);
	ui_token_text("abcdefgh", 8, 1, buf, 5);
	tap_ok(!strcmp(buf, "abcd"), "truncated to the buffer");

	/* display widths */
	tap_ok(ui_text_width("abc") == 3, "ASCII width");
	tap_ok(ui_text_width("\xe4\xb8\xad\xe6\x96\x87") == 4, "CJK is two columns each");
	tap_ok(ui_text_width("\xc2\xb7x") == 2, "middle dot is one column");
	tap_ok(ui_text_fit("\xe4\xb8\xad\xe6\x96\x87", 3) == 3, "fit never splits a wide character");
	tap_ok(ui_text_fit("abc", 10) == 3, "fit of a short string");

	/* heat levels */
	tap_ok(ui_heat_level(0, 0, 1, 10) == 0 && ui_heat_level(1, 0, 1, 10) == 9 &&
		       ui_heat_level(0.55f, 0, 1, 10) == 5 && ui_heat_level(NAN, 0, 1, 10) == 0 &&
		       ui_heat_level(2, 0, 1, 10) == 9 && ui_heat_level(-1, 0, 1, 10) == 0,
	       "heat levels clamp and bucket");
	return tap_done_plan();
}
