/* class_ui.c - classroom mode on the screen: the teacher's or the
 * follower's connections waited on beside the terminal (ui_main.c's loop
 * polls them), what the hint line says about the class, and a follower's
 * replayed commands drawn as the teacher's were. */
#include "config.h"
#include "ui_int.h"

#include <stdio.h>
#include <string.h>

#include "commands.h"

/* The teacher's log: the hint line and the trace. */
static void teacher_log(void *ctx, const char *line)
{
	ui *u = ctx;
	snprintf(u->class_log, sizeof u->class_log, "%s", line);
	ui_trace("class: %s", line);
}

/* What the hint line says: where the class stands, and the last news. */
static void class_notice(ui *u)
{
	char st[256];
	if (u->teacher) {
		class_teacher_status(u->teacher, st, 120);
		if (u->class_log[0])
			snprintf(u->notice, sizeof u->notice, "%.120s \xc2\xb7 %.120s", st, u->class_log);
		else
			snprintf(u->notice, sizeof u->notice, "%s", st);
	} else if (u->follower) {
		class_follower *f = u->follower;
		if (f->detached || f->conn.fd < 0 || !f->tally[0])
			snprintf(u->notice, sizeof u->notice, "%s", f->notice[0] ? f->notice : "following the teacher");
		else
			snprintf(u->notice, sizeof u->notice, "following the teacher \xc2\xb7 %s", f->tally);
	}
}

/* A follower's event: a replayed command is drawn as the teacher's was. */
static void follower_event(void *ctx, class_event ev)
{
	ui *u = ctx;
	class_follower *f = u->follower;
	switch (ev) {
	case CLASS_EV_COMMAND:
		ui_trace("class: replayed %s", f->ev_line);
		if (f->ev_quiet && u->out_zoom) {
			/* the teacher's key closed its box before it acted (zoom_key) */
			u->out_zoom = 0;
			ui_mark_all(u);
		}
		ui_command_done(u, f->ev_view_before, f->ev_status, &f->ev_err, f->ev_quiet);
		break;
	case CLASS_EV_MODEL:
	case CLASS_EV_SNAPSHOT:
		ui_trace("class: %s", ev == CLASS_EV_MODEL ? "model" : "snapshot");
		u->gen++;
		u->err_line[0] = 0;
		ui_clamp_selection(u);
		ui_layout_windows(u);
		break;
	case CLASS_EV_LOST:
	case CLASS_EV_BACK:
		ui_trace("class: %s", ev == CLASS_EV_LOST ? "teacher lost" : "teacher back");
		break;
	default:
		break;
	}
	class_notice(u);
}

int ui_class_open(ui *u, const char *present, const char *follow, int names, rs_err *err)
{
	if (present) {
		u->teacher = class_teacher_open(u->s, present, names, err);
		if (!u->teacher)
			return -1;
		u->teacher->log = teacher_log;
		u->teacher->log_ctx = u;
	}
	(void)follow; /* the follower is opened before the screen (it makes the session) */
	if (u->follower) {
		u->follower->on_event = follower_event;
		u->follower->ctx = u;
	}
	class_notice(u);
	return 0;
}

void ui_class_close(ui *u)
{
	class_teacher_free(u->teacher);
	u->teacher = NULL;
	if (u->follower)
		u->follower->on_event = NULL;
}

int ui_class_fds(ui *u, struct pollfd *pfd, int max, int *timeout_ms)
{
	if (u->teacher)
		return class_teacher_fds(u->teacher, pfd, max);
	if (!u->follower || max < 1)
		return 0;
	int fd = class_follower_fd(u->follower);
	if (fd >= 0) {
		pfd[0] = (struct pollfd){.fd = fd,
					 .events = (short)(POLLIN | (u->follower->conn.out_off < u->follower->conn.out.n
								     ? POLLOUT : 0))};
		return 1;
	}
	int w = class_follower_wait_ms(u->follower);
	if (w < *timeout_ms)
		*timeout_ms = w;
	return 0;
}

void ui_class_service(ui *u)
{
	if (u->teacher) {
		class_teacher_service(u->teacher);
		class_notice(u);
	} else if (u->follower) {
		rs_err err = {{0}};
		if (class_follower_service(u->follower, &err)) {
			/* the teacher's new model cannot be loaded here: say so, keep the last state */
			snprintf(u->follower->notice, sizeof u->follower->notice, "%.250s", err.msg);
			ui_trace("class: %s", err.msg);
		}
		class_notice(u);
	}
}

void ui_class_follow(ui *u)
{
	if (!u->follower)
		return;
	class_follower_resync(u->follower);
	class_notice(u);
}
