/* ui.h - the tutor's screen: the parts that need no curses.
 *
 * The screen (src/ui/) draws an rs_session: it never computes what a learner
 * sees beyond formatting (statistics of one shown vector, a softmax of shown
 * logits). What is declared here is pure, so tests can check it without a
 * terminal: the layout is a function of the terminal size and the panes
 * shown; token text is made printable for UTF-8 or ASCII terminals; values
 * map to heat levels.
 */
#ifndef RS_UI_H
#define RS_UI_H

#include <stddef.h>
#include <stdint.h>

#include "session.h"

/* The smallest terminal the screen draws in; below it shows a notice. */
enum { UI_MIN_ROWS = 24, UI_MIN_COLS = 80 };

typedef struct ui_rect {
	int y, x, h, w; /* h == 0 or w == 0: not shown */
} ui_rect;

typedef struct ui_layout {
	int rows, cols;
	int too_small;           /* below UI_MIN_ROWS x UI_MIN_COLS: only a notice */
	ui_rect header;          /* one line: model, stop, selection */
	ui_rect hints;           /* one line: keys, or the completion list */
	ui_rect cmdline;         /* one line: the readline command line */
	ui_rect pane[PANE_N];    /* indexed by rs_pane */
} ui_layout;

/* Places the panes of the mask on a rows x cols terminal. Every shown rect
 * lies inside the terminal, no two overlap, and panes not in the mask (or
 * everything but the notice when too small) get empty rects. */
void layout_compute(int rows, int cols, unsigned panes, ui_layout *out);

/* The same, knowing how long the lesson's text is: lesson_lines is the
 * number of lines it takes wrapped to the lesson pane's width (0: unknown).
 * On screens narrower than 120 columns the lesson then takes the rows it
 * needs before the bands of panes do, within limits that keep them usable,
 * and every free row when the mask shows no band. The pane's width does not
 * depend on lesson_lines, so a caller lays out once with 0, counts the lines
 * at that width, and lays out again. */
void layout_compute_lesson(int rows, int cols, unsigned panes, int lesson_lines, ui_layout *out);

/* The same, with the output pane tall when a lesson step asks for it:
 * out_lines > 0 is the number of lines of its text at the output pane's
 * width; the pane grows to show them (and its title), up to all the free
 * rows, leaving the lesson 5 and each band its few rows. */
void layout_compute_view(int rows, int cols, unsigned panes, int lesson_lines, int out_lines, ui_layout *out);

/* The ready-made masks: default panes, plus the lesson pane. */
unsigned layout_default_panes(int with_lesson);

/* Makes len bytes of token text printable in dst (NUL-terminated, at most
 * n-1 bytes): spaces become a visible mark, newlines and tabs arrows (or
 * escapes in ASCII), other control bytes and invalid UTF-8 \xNN escapes, and
 * in ASCII mode every non-ASCII character a \u{..} escape. Returns dst. */
char *ui_token_text(const char *bytes, size_t len, int utf8, char *dst, size_t n);

/* Display columns of a NUL-terminated string (UTF-8 when the locale is);
 * a byte that does not decode counts one column. */
int ui_text_width(const char *s);
/* Bytes of s that fit in cols columns without splitting a character. */
size_t ui_text_fit(const char *s, int cols);

/* Heat level 0..n-1 of v in [lo, hi] (clamped); NaN gives 0. */
int ui_heat_level(float v, float lo, float hi, int n);

/* The screen. argv as given to main (ui_main skips argv[0]). */
int ui_main(int argc, char **argv);

#endif
