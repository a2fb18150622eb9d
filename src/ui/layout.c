/* layout.c - where each pane goes, as a pure function of the terminal size.
 *
 * No curses here, so tests/test_layout.c checks every size and pane mask.
 *
 *   header                                        (1 line)
 *   token strip                                   (2 lines)
 *   pipeline map                                  (2-3 lines)
 *   vector inspector | attention heatmap          (upper band)   | lesson
 *   norms | logit lens | top-k                    (lower band)   | (wide
 *   output of the last command                    (3-6 lines)    |  screens)
 *   lesson text                                   (narrow screens only)
 *   key hints / completion list                   (1 line)
 *   command line                                  (1 line)
 *
 * Side-by-side panes are separated by one blank column; a pane's own first
 * line is its title, which separates it from the pane above.
 *
 * On a narrow screen the lesson is what a learner reads, so it comes before
 * the bands: it takes the rows its text needs, up to half of what the bands
 * and it share (the bands keep enough rows to show something), and all the
 * free rows when the step shows no band at all. It scrolls for the rest.
 * Without bands the output pane takes the rows they would have had.
 */
#include "config.h"
#include "ui.h"

#include <string.h>

static int has(unsigned m, int p) { return (m >> p) & 1u; }

static ui_rect rect(int y, int x, int h, int w)
{
	ui_rect r = {y, x, h, w};
	if (h <= 0 || w <= 0)
		r.h = r.w = 0;
	return r;
}

/* Splits width w at x0 among the shown panes of ids[] by weights; a hidden
 * pane's share goes to the others. One gap column between neighbours. */
static void split_row(ui_layout *L, unsigned m, const int *ids, const int *weights, int n, int y,
		      int h, int x0, int w)
{
	int shown = 0, wsum = 0;
	for (int i = 0; i < n; i++)
		if (has(m, ids[i]))
			shown++, wsum += weights[i];
	if (!shown || h <= 0)
		return;
	int avail = w - (shown - 1); /* gaps */
	int x = x0, done = 0, left = avail;
	for (int i = 0; i < n; i++) {
		if (!has(m, ids[i]))
			continue;
		done++;
		int pw = done == shown ? left : avail * weights[i] / wsum;
		L->pane[ids[i]] = rect(y, x, h, pw);
		x += pw + 1;
		left -= pw;
	}
}

unsigned layout_default_panes(int with_lesson)
{
	return SESSION_PANES_DEFAULT | (with_lesson ? 1u << PANE_LESSON : 0);
}

/* Rows of the lesson pane below the bands on a narrow screen. avail is what
 * the lesson and the bands share, out_h the output pane's rows (which get
 * what a short lesson leaves when no band is shown). */
static int lesson_rows(int rows, unsigned panes, int avail, int lesson_lines, int *out_h)
{
	int base = rows >= 40 ? 8 : 4;
	int want = lesson_lines > 0 ? lesson_lines + 1 : 0; /* + its title */
	int up = has(panes, PANE_VECTOR) || has(panes, PANE_ATTN) || has(panes, PANE_FEATURES);
	int lo = has(panes, PANE_NORMS) || has(panes, PANE_LENS) || has(panes, PANE_TOPK);
	if (!up && !lo) {
		/* nothing else competes: a long or unknown text takes every free row;
		 * a short one leaves the rest to the output */
		if (!has(panes, PANE_OUTPUT) || !want || want >= avail)
			return avail;
		int lh = want > base ? want : base;
		lh = lh < avail ? lh : avail;
		*out_h += avail - lh;
		return lh;
	}
	/* a band needs its title and a few rows to be worth showing */
	int min_bands = (up ? 4 : 0) + (lo ? 3 : 0);
	int keep = avail / 2 > min_bands ? avail / 2 : min_bands;
	int most = avail - keep;
	int lh = want < most ? want : most;
	lh = lh > base ? lh : base;
	return lh < avail - min_bands ? lh : avail - min_bands;
}

void layout_compute(int rows, int cols, unsigned panes, ui_layout *out)
{
	layout_compute_lesson(rows, cols, panes, 0, out);
}

void layout_compute_lesson(int rows, int cols, unsigned panes, int lesson_lines, ui_layout *out)
{
	layout_compute_view(rows, cols, panes, lesson_lines, 0, out);
}

void layout_compute_view(int rows, int cols, unsigned panes, int lesson_lines, int out_lines, ui_layout *out)
{
	ui_layout *L = out;
	memset(L, 0, sizeof *L);
	L->rows = rows;
	L->cols = cols;
	if (rows < UI_MIN_ROWS || cols < UI_MIN_COLS) {
		L->too_small = 1;
		return;
	}
	L->header = rect(0, 0, 1, cols);
	L->cmdline = rect(rows - 1, 0, 1, cols);
	L->hints = rect(rows - 2, 0, 1, cols);
	int top = 1, bottom = rows - 2; /* free rows: [top, bottom) */

	/* A lesson gets a column on the right when there is room for one. */
	int main_w = cols;
	int lesson_side = has(panes, PANE_LESSON) && cols >= 120;
	if (lesson_side) {
		int lw = cols / 3 > 64 ? 64 : cols / 3;
		main_w = cols - lw - 1;
		L->pane[PANE_LESSON] = rect(top, main_w + 1, bottom - top, lw);
	}

	if (has(panes, PANE_TOKENS)) {
		L->pane[PANE_TOKENS] = rect(top, 0, 2, main_w);
		top += 2;
	}
	if (has(panes, PANE_PIPELINE)) {
		int ph = rows >= 40 ? 3 : 2;
		L->pane[PANE_PIPELINE] = rect(top, 0, ph, main_w);
		top += ph;
	}
	static const int up_ids[] = {PANE_VECTOR, PANE_ATTN, PANE_FEATURES}, up_w[] = {45, 55, 40};
	static const int lo_ids[] = {PANE_NORMS, PANE_LENS, PANE_TOPK}, lo_w[] = {28, 44, 28};
	int up = has(panes, PANE_VECTOR) || has(panes, PANE_ATTN) || has(panes, PANE_FEATURES);
	int lo = has(panes, PANE_NORMS) || has(panes, PANE_LENS) || has(panes, PANE_TOPK);
	int oh = !has(panes, PANE_OUTPUT) ? 0 : rows >= 48 ? 6 : rows >= 36 ? 5 : rows >= 30 ? 4 : 3;
	if (oh && out_lines + 1 > oh) {
		/* a tall output: its text whole, leaving the lesson (which scrolls)
		 * and each band shown the few rows that make them usable */
		int up0 = has(panes, PANE_VECTOR) || has(panes, PANE_ATTN) || has(panes, PANE_FEATURES);
		int lo0 = has(panes, PANE_NORMS) || has(panes, PANE_LENS) || has(panes, PANE_TOPK);
		int most = bottom - top - (has(panes, PANE_LESSON) && !lesson_side ? 5 : 0) - (up0 ? 4 : 0) - (lo0 ? 3 : 0);
		oh = out_lines + 1 < most ? out_lines + 1 : most > oh ? most : oh;
	}
	if (has(panes, PANE_LESSON) && !lesson_side) {
		int lh = lesson_rows(rows, panes, bottom - top - oh, lesson_lines, &oh);
		bottom -= lh;
		L->pane[PANE_LESSON] = rect(bottom, 0, lh, main_w);
	}
	/* without bands the output is what there is to read: it takes their rows */
	if (oh && !up && !lo)
		oh = bottom - top;
	if (oh) {
		bottom -= oh;
		L->pane[PANE_OUTPUT] = rect(bottom, 0, oh, main_w);
	}

	int mid = bottom - top;
	int up_h = up && lo ? mid * 55 / 100 : up ? mid : 0;
	if (up && lo && up_h < 4 && mid >= 7)
		up_h = 4; /* a title and three rows: enough to see a pattern */
	int lo_h = mid - up_h;
	split_row(L, panes, up_ids, up_w, 3, top, up_h, 0, main_w);
	split_row(L, panes, lo_ids, lo_w, 3, top + up_h, lo_h, 0, main_w);
}
