/* keys.c - the screen's key table: each key's action, the registry command
 * it runs, its place on the hint line and its line in the help overlay, in
 * one row, so they cannot drift apart. A key that changes the session runs
 * a command of the registry (quietly: its result shows in the panes), so
 * batch mode and lessons can do whatever a key does; the keys that only
 * move the screen (scrolling, the theme, boxes) act on the screen. */
#include "config.h"
#include "ui_int.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "commands.h"
#include "engine.h"

static int n_layers(const ui *u) { return u->s->model ? u->s->model->cfg.n_layers : 1; }
static int n_heads(const ui *u) { return u->s->model ? u->s->model->cfg.n_heads : 1; }

/* Runs a command for a key; a key that cannot act (no prompt) does nothing. */
static void key_cmd(ui *u, const char *fmt, ...) RS_PRINTF(2, 3);
static void key_cmd(ui *u, const char *fmt, ...)
{
	char line[64];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(line, sizeof line, fmt, ap);
	va_end(ap);
	rs_err err;
	cmd_exec_quiet(u->s, line, &err);
	ui_clamp_selection(u);
}

/* A selection moved by delta and kept in 0..n-1. */
static int moved(int v, int delta, int n)
{
	v += delta;
	return v >= n ? n - 1 : v < 0 ? 0 : v;
}

/* ------------------------------------------------------------ actions */
static void k_step(ui *u, int ch)
{
	rs_session *s = u->s;
	/* only big models take long enough for a step to need saying */
	if (s->eng && s->view_stop >= eng_stop(s->eng) && s->model && config_param_count(&s->model->cfg) > 100000000)
		ui_busy(u, "computing the next stop");
	key_cmd(u, "step");
	ui_follow_view(u);
}

static void k_back(ui *u, int ch)
{
	key_cmd(u, "back");
	ui_follow_view(u);
}

static void k_layer_end(ui *u, int ch)
{
	ui_busy(u, "running to the end of the layer");
	key_cmd(u, "run layer");
	ui_follow_view(u);
}

static void k_end(ui *u, int ch)
{
	ui_busy(u, "running to the end of the pass");
	key_cmd(u, "run all");
	ui_follow_view(u);
}

static void k_start(ui *u, int ch)
{
	key_cmd(u, "back %d", hook_n_stops(n_layers(u)) + 1);
	ui_follow_view(u);
}

static void k_pos(ui *u, int ch)
{
	key_cmd(u, "pos %d", moved(u->s->sel_pos, ch == 'h' || ch == ',' || ch == KEY_SLEFT ? -1 : 1, u->s->n_ids));
	u->vec_scroll = 0;
}

static void k_layer(ui *u, int ch)
{
	key_cmd(u, "layer %d", moved(u->s->sel_layer, ch == 'k' || ch == KEY_UP ? -1 : 1, n_layers(u)));
}

static void k_head(ui *u, int ch)
{
	key_cmd(u, "head %d", moved(u->s->sel_head, ch == '[' ? -1 : 1, n_heads(u)));
}

static void k_gran(ui *u, int ch)
{
	static const char *const names[] = {"hook", "sublayer", "layer"};
	key_cmd(u, "gran %s", names[(u->s->gran + 1) % 3]);
}

static void k_values(ui *u, int ch)
{
	key_cmd(u, "set values %s", u->s->attn_values ? "off" : "on");
}

static void k_full(ui *u, int ch)
{
	key_cmd(u, "set full %s", u->s->vec_full ? "off" : "on");
	u->vec_scroll = 0;
}

static void k_theme(ui *u, int ch)
{
	theme_init(&u->th, (u->th.kind + 1) % 3, u->th.utf8);
	ui_mark_all(u);
}

/* a lesson's text comes first: it is what a learner reads then */
static void k_page(ui *u, int ch)
{
	int dir = ch == KEY_PPAGE ? -1 : 1;
	if (u->s->vec_full)
		u->vec_scroll += 4 * dir;
	else if (!pane_lesson_scroll(u, dir) && (u->out_scroll += 3 * dir) < 0)
		u->out_scroll = 0; /* the pane clamps it from above */
}

static void k_lesson_scroll(ui *u, int ch)
{
	pane_lesson_scroll(u, ch == 'u' ? -1 : 1);
}

static void k_output(ui *u, int ch)
{
	u->out_zoom = 1;
	u->zoom_scroll = 0;
}

/* the interventions in effect, in the output pane (the header counts them) */
static void k_interventions(ui *u, int ch)
{
	ui_run_command(u, "interventions");
}

static void k_command(ui *u, int ch)
{
	cmdline_open(u, NULL);
}

static void k_help(ui *u, int ch)
{
	u->help_open = 1;
	u->help_page = 0;
}

/* Ctrl-L: the terminal is cleared and everything drawn again from the
 * state, whatever the terminal or curses believed was there */
static void k_redraw(ui *u, int ch)
{
	clearok(curscr, TRUE);
	ui_mark_all(u);
}

/* F: a follower follows the teacher again (the teacher's state, at once) */
static void k_follow(ui *u, int ch)
{
	ui_class_follow(u);
}

static void k_quit(ui *u, int ch)
{
	u->quit = 1;
}

/* ------------------------------------------------------------ the table */
#define RIGHT "\xe2\x86\x92"
#define LEFT "\xe2\x86\x90"

/* Rows in the order of the help overlay. A row without keys is a line of
 * the help only (a heading when it does not start with a space); a row
 * whose help is NULL shares the line of a row above. hint_at orders the
 * hint line (-1: not there). */
static const struct ui_keydef {
	int keys[7]; /* 0-terminated */
	void (*act)(ui *u, int ch);
	const char *hint_key, *hint;
	int hint_at;
	const char *help;
} keys[] = {
	{{0}, NULL, NULL, NULL, -1, "Stepping through the forward pass"},
	{{KEY_RIGHT, 'n', ' '}, k_step, RIGHT, "step", 0,
	 "  Right  n  Space   step forward one stop (computes it the first time)"},
	{{KEY_LEFT, 'b', KEY_BACKSPACE, 127, 8}, k_back, LEFT, "back", 1,
	 "  Left   b  Bksp    step back one stop (shows exactly what was shown)"},
	{{'L'}, k_layer_end, "L", "layer end", 2, "  L  /  E  End      run to the end of the layer / of the pass (logits)"},
	{{'E', KEY_END}, k_end, "E", "end", 3, NULL},
	{{0}, NULL, NULL, NULL, -1, "  Esc  Ctrl-C       stop a run, a sweep or generate part way (E goes on)"},
	{{'0', KEY_HOME}, k_start, NULL, NULL, -1, "  0  Home           back to the start"},
	{{'g'}, k_gran, "g", "granularity", 7, "  g                 stops: every hook / every sublayer / every layer"},
	{{0}, NULL, NULL, NULL, -1, "Selecting"},
	{{'h', ',', KEY_SLEFT, 'l', '.', KEY_SRIGHT}, k_pos, "h l", "pos", 4,
	 "  h l  , .          previous / next position (token)"},
	{{'k', KEY_UP, 'j', KEY_DOWN}, k_layer, "j k", "layer", 5,
	 "  k j  Up Down      previous / next layer (attention, lens, norms)"},
	{{'[', ']'}, k_head, "[ ]", "head", 6, "  [ ]               previous / next attention head"},
	{{'v'}, k_values, "v", "values", 8, "  v                 attention values as numbers"},
	{{'f'}, k_full, "f", "full vector", 9, "  f                 the whole vector as numbers (PgUp PgDn scroll)"},
	{{'t'}, k_theme, NULL, NULL, -1, "  t                 theme: dark / light / mono"},
	{{0}, NULL, NULL, NULL, -1, "Commands and reading"},
	{{':'}, k_command, ":", "command", 10, "  :                 commands (Tab completes, Up recalls, Ctrl-R searches)"},
	{{'i'}, k_interventions, NULL, NULL, -1, "  i                 the interventions in effect (the header counts them)"},
	{{'o'}, k_output, NULL, NULL, -1, "  o                 read the whole output of the last command in a box"},
	{{'u', 'd'}, k_lesson_scroll, NULL, NULL, -1, "  u d               scroll the lesson's text a page up / down"},
	{{KEY_PPAGE, KEY_NPAGE}, k_page, NULL, NULL, -1, "  PgUp PgDn         the same in a lesson, else scroll the output"},
	{{'F'}, k_follow, NULL, NULL, -1, "  F                 follow the teacher again (residual --follow)"},
	{{12}, k_redraw, NULL, NULL, -1, "  Ctrl-L  redraw    ?  this help    q  Ctrl-C  quit"},
	{{'?'}, k_help, "?", "help", 11, NULL},
	{{'q', 'Q', 3}, k_quit, "q", "quit", 12, NULL},
};

#define N_KEYS (int)(sizeof keys / sizeof *keys)

void ui_key(ui *u, int ch)
{
	for (int i = 0; i < N_KEYS; i++)
		for (int j = 0; keys[i].keys[j]; j++)
			if (keys[i].keys[j] == ch) {
				keys[i].act(u, ch);
				return;
			}
}

int ui_key_hint(int i, const char **key, const char **what)
{
	for (int r = 0; r < N_KEYS; r++)
		if (keys[r].hint_at == i) {
			*key = keys[r].hint_key;
			*what = keys[r].hint;
			return 1;
		}
	return 0;
}

const char *ui_key_help(int i)
{
	static const char *const trailer[] = {"", "Press any key to close."};
	for (int r = 0; r < N_KEYS; r++)
		if (keys[r].help && i-- == 0)
			return keys[r].help;
	return i >= 0 && i < 2 ? trailer[i] : NULL;
}
