/* cmd_run.h - the session the command tests drive, and running one command
 * line in it: run() returns the status with the message in E, ok_run() also
 * says in the TAP output which line failed. Static: each test program that
 * includes it has its own. */
#ifndef RS_CMD_RUN_H
#define RS_CMD_RUN_H

#include "commands.h"
#include "tap.h"

#include <string.h>

static rs_session *S;
static rs_err E;

static cmd_status run(const char *line)
{
	memset(&E, 0, sizeof E);
	return cmd_exec(S, line, &E);
}

static int ok_run(const char *line)
{
	cmd_status st = run(line);
	if (st != CMD_OK)
		tap_diag("'%s' failed: %s", line, E.msg);
	return st == CMD_OK;
}

#endif
