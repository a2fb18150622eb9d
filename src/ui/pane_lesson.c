/* pane_lesson.c - the lesson's text (from lesson/), its scrolling, and
 * keeping the learner's place when a step is re-rendered. */
#include "config.h"
#include "ui_int.h"

#include <stdio.h>
#include <string.h>

#include "lesson.h"

/* The lesson module's text (NULL: nothing to show); the pane is redrawn when it changes. */
static const char *lesson_text(ui *u)
{
	return lesson_pane_text(u->s);
}

int pane_lesson_fit(ui *u)
{
	ui_layout L;
	layout_compute(LINES, COLS, u->s->panes, &L);
	int w = L.pane[PANE_LESSON].w;
	u->lesson_lines = w > 0 ? draw_count_wrapped(lesson_text(u), w) : 0;
	return u->lesson_lines;
}

/* What identifies the step a lesson text shows: the text up to its "Step k
 * of n" line. Answering a question re-renders the step below that line, and
 * the learner, who scrolled down to the question, keeps their place. */
static uint64_t step_sig(const char *t)
{
	uint64_t h = 1;
	for (const char *p = t; p && *p; p++) {
		h = sig_mix(h, (unsigned char)*p);
		if (*p == '\n' && !strncmp(p + 1, "Step ", 5)) {
			const char *nl = strchr(p + 1, '\n');
			for (p++; *p && p != nl; p++)
				h = sig_mix(h, (unsigned char)*p);
			break;
		}
	}
	return h;
}

int pane_lesson_sync(ui *u)
{
	const char *t = lesson_text(u);
	uint64_t sig = sig_str(1, t);
	if (sig == u->lesson_sig)
		return 0;
	u->lesson_sig = sig;
	uint64_t head = step_sig(t);
	if (head != u->lesson_head) {
		u->lesson_head = head;
		u->lesson_scroll = 0;
	}
	const ui_rect *r = &u->lay.pane[PANE_LESSON];
	return r->w > 0 && draw_count_wrapped(t, r->w) != u->lesson_lines;
}

/* Keeps the scroll within the text: the last line stays at the bottom. */
static int lesson_clamp(ui *u, int total, int room)
{
	if (u->lesson_scroll > total - room)
		u->lesson_scroll = total - room;
	if (u->lesson_scroll < 0)
		u->lesson_scroll = 0;
	return u->lesson_scroll;
}

int pane_lesson_scroll(ui *u, int dir)
{
	const ui_rect *r = &u->lay.pane[PANE_LESSON];
	if (!u->win[PANE_LESSON])
		return 0;
	if (r->h < 2)
		return 1;
	int room = r->h - 1;
	/* a page less one line, so the line read last stays in sight */
	u->lesson_scroll += dir * (room > 2 ? room - 1 : 1);
	lesson_clamp(u, draw_count_wrapped(lesson_text(u), r->w), room);
	return 1;
}

void pane_lesson_draw(ui *u, WINDOW *w)
{
	const char *t = lesson_text(u);
	int W = getmaxx(w), room = getmaxy(w) - 1;
	int total = t ? draw_count_wrapped(t, W) : 0;
	int skip = lesson_clamp(u, total, room);
	char info[96] = "";
	if (total > room)
		snprintf(info, sizeof info, "lines %d-%d of %d  (PgUp PgDn, u d)", skip + 1,
			 skip + room, total);
	draw_title(u, w, "lesson", info);
	if (t)
		draw_wrapped(w, 1, 0, room, W, t, skip);
}
