/* pane_output.c - the output of the last command (and its error line), and
 * the box that shows all of it when it is longer than the pane. */
#include "config.h"
#include "ui_int.h"

#include <stdio.h>
#include <string.h>

/* Lines the output pane has for the command's text (after an error line). */
int pane_output_room(ui *u)
{
	const ui_rect *r = &u->lay.pane[PANE_OUTPUT];
	int room = r->h - 1;
	if (u->err_line[0])
		room -= draw_count_wrapped(u->err_line, r->w);
	return room;
}

void pane_output_draw(ui *u, WINDOW *w)
{
	int W = getmaxx(w), H = getmaxy(w);
	const char *out = u->s->output;
	int total = out ? draw_count_wrapped(out, W) : 0, room = pane_output_room(u);
	char info[96] = "";
	if (total > room) {
		if (u->out_scroll > total - room)
			u->out_scroll = total - room;
		/* over a lesson, PgUp and PgDn scroll the lesson's text */
		snprintf(info, sizeof info, "lines %d-%d of %d  (o: read it all%s)", u->out_scroll + 1,
			 u->out_scroll + room, total, u->win[PANE_LESSON] ? "" : ", PgUp PgDn");
	}
	draw_title(u, w, "output", info);
	int y = 1;
	if (u->err_line[0]) {
		theme_set(&u->th, w, ROLE_ERROR);
		y += draw_wrapped(w, y, 0, H - y, W, u->err_line, 0);
		theme_set(&u->th, w, ROLE_NORMAL);
	}
	if (!out || !*out) {
		if (!u->err_line[0]) {
			theme_set(&u->th, w, ROLE_DIM);
			draw_text(w, y, 0, W, "type : to enter a command (help lists them), ? for keys");
			theme_set(&u->th, w, ROLE_NORMAL);
		}
		return;
	}
	draw_wrapped(w, y, 0, H - y, W, out, total > room ? u->out_scroll : 0);
}

/* The whole output in a box over the panes, for text longer than its pane. */
void pane_draw_output_zoom(ui *u)
{
	int h = LINES - 3, W = COLS;
	if (h < 3)
		return;
	WINDOW *win = newwin(h, W, 1, 0);
	if (!win)
		return;
	werase(win);
	theme_set(&u->th, win, ROLE_DIM);
	draw_box(u, win);
	const char *out = u->s->output ? u->s->output : "";
	int total = draw_count_wrapped(out, W - 4), room = h - 2;
	if (u->zoom_scroll > total - room)
		u->zoom_scroll = total - room;
	if (u->zoom_scroll < 0)
		u->zoom_scroll = 0;
	char title[128];
	snprintf(title, sizeof title, " output: lines %d-%d of %d  (Up Down PgUp PgDn scroll, o closes) ",
		 total ? u->zoom_scroll + 1 : 0, u->zoom_scroll + room < total ? u->zoom_scroll + room : total,
		 total);
	theme_set(&u->th, win, ROLE_TITLE);
	draw_text(win, 0, 2, W - 4, title);
	theme_set(&u->th, win, ROLE_NORMAL);
	draw_wrapped(win, 1, 2, room, W - 4, out, u->zoom_scroll);
	wnoutrefresh(win);
	delwin(win);
}
