/* ui_int.h - what the modules of the screen share (curses inside).
 *
 * One struct ui per screen. Panes are views: each has a signature of the
 * state it draws (ui_pane_sig) and a draw function; the loop redraws a pane
 * only when its signature changed, then wnoutrefresh's the changed windows
 * and calls doupdate once.
 */
#ifndef RS_UI_INT_H
#define RS_UI_INT_H

#include <curses.h>
#include <stdint.h>

#include "class.h"
#include "interp.h"
#include "session.h"
#include "ui.h"

/* ------------------------------------------------------------------ theme */

typedef enum ui_theme_kind { THEME_DARK, THEME_LIGHT, THEME_MONO } ui_theme_kind;

typedef enum ui_role {
	ROLE_NORMAL,
	ROLE_TITLE,     /* a pane's title line */
	ROLE_HEADER,    /* the header line */
	ROLE_DIM,       /* labels, not-yet-computed things */
	ROLE_SEL,       /* the selected position / layer / head */
	ROLE_CURRENT,   /* the stop shown */
	ROLE_DONE,      /* computed stops */
	ROLE_ERROR,
	ROLE_KEY,       /* key names in hints and help */
	ROLE_POS,       /* a positive number */
	ROLE_NEG,       /* a negative number */
	ROLE_N
} ui_role;

/* Glyph tables: UTF-8 or ASCII, chosen once. */
typedef struct ui_glyphs {
	const char *shade[10];  /* sequential ramp, [0] the lowest non-zero level */
	int n_shade;
	const char *pos[4], *neg[4]; /* diverging ramp by magnitude, [0] near zero */
	int n_div;
	const char *masked;     /* a causally masked attention cell */
	const char *none;       /* a value not computed yet */
	const char *bar[9];     /* horizontal bar eighths ([8] full) */
	const char *arrow;      /* between pipeline stages */
	const char *ellipsis;
	const char *mark;       /* under the selected token */
	const char *done, *current, *pending; /* pipeline stages */
	const char *vbar;       /* the separator between fields */
} ui_glyphs;

typedef struct ui_theme {
	int kind;               /* ui_theme_kind */
	int colors;             /* colours in use: 0, 8 or 256 */
	int utf8;
	const ui_glyphs *g;
	attr_t attr[ROLE_N];
	short pair[ROLE_N];
	short seq[12];          /* colour numbers of the sequential ramp */
	int n_seq;
	short div[13];          /* diverging: [0] most negative, [n_div/2] zero */
	int n_div;
} ui_theme;

/* Chooses colours for kind on the running terminal (after start_color). */
void theme_init(ui_theme *t, int kind, int utf8);
void theme_set(const ui_theme *t, WINDOW *w, ui_role r);
/* A colour pair for (fg, bg), allocated once; 0 when colours are off. */
short theme_pair(const ui_theme *t, int fg, int bg);
/* Draws one heat cell of width cw at the cursor: v in [0,1] (sequential) or
 * [-1,1] (diverging); glyph and colour both carry the level. */
void theme_heat(const ui_theme *t, WINDOW *w, float v, int diverging, int cw);
int theme_parse(const char *name);
const char *theme_name(int kind);

/* ------------------------------------------------------------------ caches */

/* Numbers the panes show that take more than a glance to find: the top-k of
 * a position's logits and the norms of the residual stream. Filled lazily,
 * dropped when the data they came from may have changed (ui.gen). */
typedef struct ui_topk {
	int valid;
	int k;
	int32_t id[64];
	float prob[64];
	float logit[64];
} ui_topk;

typedef struct ui_lens_cell {
	int valid;
	int32_t id;
	float prob;
} ui_lens_cell;

typedef struct ui_cache {
	uint64_t key;           /* data identity: gen, engine, tokens */
	int T, n_layers;
	ui_topk *topk;          /* [T] next-token predictions of the logits */
	float *norms;           /* [(n_layers+1) * T], NaN until computed */
	ui_lens_cell *lens;     /* [n_layers * T] */
	int lens_pending;       /* a visible lens layer is not computed yet */
	int lens_busy;          /* the layer being computed, -1 none */
	lens_top lens_top;      /* its top tokens so far (interp.h) */
} ui_cache;

/* ------------------------------------------------------------------ the ui */

typedef struct ui {
	rs_session *s;
	ui_theme th;
	ui_layout lay;
	SCREEN *scr;
	FILE *tty_in, *tty_out; /* newterm streams we opened (bench: /dev/null) */
	WINDOW *win[PANE_N];
	uint64_t sig[PANE_N];
	WINDOW *header, *hints, *cmd;
	uint64_t sig_header, sig_hints;
	int base_dirty;         /* the cells between the panes must be cleared */
	int overlay_shown;      /* a box was drawn over the panes last time */
	uint64_t gen;           /* bumped when a command may have changed any data */
	int vec_scroll;         /* first row of the full-vector view */
	int out_scroll;         /* first line shown of a long output */
	int lesson_scroll;      /* first line shown of the lesson's text */
	int lesson_lines;       /* its lines at the width the layout was made for */
	uint64_t lesson_sig;    /* the text last seen, and the step it shows: */
	uint64_t lesson_head;   /* a new step scrolls back to the top */
	int out_zoom;           /* the whole output in a box over the panes */
	unsigned seen_view_gen; /* the lesson's last request for the box, done */
	int zoom_scroll;
	int help_open;
	int help_page;          /* the help's page shown (Space turns) */
	int cmd_active;
	int quit;
	char err_line[512];     /* the last command's error, shown in the output pane */
	char notice[256];       /* one-line notice in the hints line (TERM fallback...) */
	char saved_notice[256]; /* the notice a stopped run's message covers */
	int interrupt_notice;   /* notice says where a stopped run stands */
	int key_put_back;       /* ui_interrupt pushed a key back for the loop */
	char **matches;         /* completion list on show, NULL-terminated */
	ui_cache cache;
	int use_history;
	char history_path[1024];
	/* classroom mode (class.h, class_ui.c): one of them, or neither */
	class_teacher *teacher;
	class_follower *follower;
	char class_log[256];    /* the teacher's last logged reason (a follower dropped) */
} ui;

/* Mixes v into a running signature. */
static inline uint64_t sig_mix(uint64_t h, uint64_t v)
{
	h ^= v + 0x9e3779b97f4a7c15ull + (h << 6) + (h >> 2);
	return h * 0xff51afd7ed558ccdull;
}

/* Mixes a string (or NULL) into a running signature. */
static inline uint64_t sig_str(uint64_t h, const char *s)
{
	if (!s)
		return sig_mix(h, 0);
	for (; *s; s++)
		h = sig_mix(h, (unsigned char)*s);
	return sig_mix(h, 1);
}

/* ------------------------------------------------------------------ panes */

/* Signature of what pane p draws (0 never matches: always draw). */
uint64_t pane_sig(ui *u, int p);
/* Draws pane p into its window (already sized). */
void pane_draw(ui *u, int p, WINDOW *w);
void pane_draw_header(ui *u, WINDOW *w);
void pane_draw_hints(ui *u, WINDOW *w);
void pane_draw_help(ui *u);
int pane_help_pages(ui *u);
void pane_draw_matches(ui *u);
void pane_draw_output_zoom(ui *u);
int pane_output_room(ui *u);
/* The lines of the lesson's text at the width its pane gets on this
 * screen (0: no lesson pane), for layout_compute_lesson; kept in u. */
int pane_lesson_fit(ui *u);
/* Notices a new lesson text (a new step scrolls to its top); returns 1 when
 * its length changed so that the layout must be made again. */
int pane_lesson_sync(ui *u);
/* Scrolls the lesson text a page up (dir -1) or down (1); 0 when no lesson
 * pane is shown. */
int pane_lesson_scroll(ui *u, int dir);

/* Shared drawing helpers (draw.c). */
/* info: forms from long to short, one a line; the first that fits whole */
void draw_title(ui *u, WINDOW *w, const char *title, const char *info);
/* The first of forms (one a line, long to short) that fits whole in maxw;
 * its width, or -1 (nothing drawn, and the trace says so). */
int draw_forms(WINDOW *w, int y, int x, int maxw, const char *forms);
/* A hook name without "blocks." and "hook_" (the screen's short form). */
char *draw_hook_short(const char *name, char *buf, size_t n);
/* RESIDUAL_UI_TRACE=file: a line per event (ui_main.c). */
void ui_trace(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* Writes s at (y, x) clipped to maxw columns; returns the columns used. */
int draw_text(WINDOW *w, int y, int x, int maxw, const char *s);
int draw_textf(WINDOW *w, int y, int x, int maxw, const char *fmt, ...)
	__attribute__((format(printf, 5, 6)));
/* Printable text of token id (its bytes, or #id without a tokenizer). */
char *draw_token(ui *u, int32_t id, char *buf, size_t n);
/* Lines of s word-wrapped to width w, starting at y; returns lines used. */
int draw_wrapped(WINDOW *w, int y, int x, int h, int width, const char *s, int skip);
int draw_count_wrapped(const char *s, int width);
/* First index of a window of n out of total that keeps sel in view. */
int draw_window_start(int sel, int n, int total);
/* A dim paragraph from row y (a pane with nothing to show yet). */
void draw_dim_text(ui *u, WINDOW *w, int y, const char *msg);
/* A frame around w drawn with characters (the same in every terminal). */
void draw_box(ui *u, WINDOW *w);
/* Formats a float into exactly cw columns (e.g. ".83", "1.0", "-2.1"). */
void draw_fmt_num(char *buf, size_t n, float v, int cw);
/* About four significant digits, for statistics ("12.345", "0.0123"). */
void draw_fmt_sig(char *buf, size_t n, float v);

/* Caches (cache.c). */
void cache_sync(ui *u);
void cache_free(ui_cache *c);
const ui_topk *cache_topk(ui *u, int pos);
float cache_norm(ui *u, int row, int pos); /* row 0: embed, L+1: resid_post L; NaN if not shown */
const ui_lens_cell *cache_lens(ui *u, int layer, int pos); /* NULL: not shown yet */
/* Does one piece of pending work (a lens layer); returns whether more is left. */
int cache_idle(ui *u);

/* The selected layer follows a stepped-to hook; the view of the vector resets. */
void ui_follow_view(ui *u);

/* ------------------------------------------------------------ command line */

int cmdline_init(ui *u);
void cmdline_free(ui *u);
void cmdline_open(ui *u, const char *initial);
void cmdline_key(ui *u, int ch);
void cmdline_redraw(ui *u);
void cmdline_resize(ui *u);
/* The history file of this user ($XDG_STATE_HOME/residual/history). */
int cmdline_history_path(char *buf, size_t n);

/* ------------------------------------------------------------------ terminal */

void term_signals(void);
int term_signal(void);
int term_utf8(int force_ascii);
/* bench_rows > 0: a screen on /dev/null of that size, for timing. */
int term_open(ui *u, int bench_rows, int bench_cols, char *hint, size_t hint_n);
void term_restore(void);
void term_close(ui *u);

/* ------------------------------------------------------------------ screen */

void ui_layout_windows(ui *u);
void ui_mark_all(ui *u);
void ui_draw(ui *u, int force);
void ui_run_command(ui *u, const char *line);
/* What the screen does after a command changed the session (ui_run_command's
 * second half; a follower's replayed commands too): quiet, a key's. */
void ui_command_done(ui *u, int view_before, int status, const rs_err *err, int quiet);

/* Classroom mode (class_ui.c). */
int ui_class_open(ui *u, const char *present, const char *follow, int names, rs_err *err);
void ui_class_close(ui *u);
/* The descriptors to wait on besides the terminal, and how long at most. */
int ui_class_fds(ui *u, struct pollfd *pfd, int max, int *timeout_ms);
/* Reads and writes what is there; the hint line says where the class stands. */
void ui_class_service(ui *u);
/* F: follow the teacher again. */
void ui_class_follow(ui *u);
void ui_busy(ui *u, const char *what);
/* The position, layer and head kept within the prompt and the model. */
void ui_clamp_selection(ui *u);
/* The key table (keys.c): handles one key outside the command line; the
 * i-th entry of the hint line (0 when past the last); the i-th line of the
 * help overlay (NULL past the last). */
void ui_key(ui *u, int ch);
int ui_key_hint(int i, const char **key, const char **what);
const char *ui_key_help(int i);
int ui_bench(ui *u, int rows, int cols, int iters);

#endif
