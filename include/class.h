/* class.h - classroom mode: a teacher's session mirrored by followers, each
 * on its own engine (plain C, no curses; the screen and batch mode drive it).
 *
 * The teacher (`residual --present SOCKET`) listens on a Unix-domain socket;
 * followers (`residual --follow SOCKET`) connect, load the model the teacher
 * announces and replay the registry command lines the teacher runs, so every
 * number a follower shows comes from its own engine. A follower that joins
 * late, falls behind or comes back (F) gets a snapshot of the state instead
 * of the history.
 *
 * The protocol: one JSON object a line (cJSON), at most CLASS_MSG_MAX bytes,
 * each with "v" (CLASS_VERSION) and "type":
 *   teacher -> follower  hello    {model, size, sum}   the model to load
 *                        snapshot {seq, prompt, ids, ivs, stops, selection, ...}
 *                        command  {seq, line, quiet}   a replay-safe command
 *                        tally    {key, followers, answered, right}
 *   follower -> teacher  hello    {name}               also: "send me a snapshot"
 *                        answer   {key, q, text}       an answer to the step's question
 * Anything else, a wrong version, a message too long or not JSON closes that
 * connection with a logged reason.
 */
#ifndef RS_CLASS_H
#define RS_CLASS_H

#include <poll.h>
#include <stddef.h>
#include <stdint.h>

#include "err.h"
#include "session.h"
#include "strbuf.h"

#define CLASS_VERSION 1
#define CLASS_MSG_MAX (4u << 20)    /* bytes of one message, the newline excluded */
#define CLASS_QUEUE_MAX (8u << 20)  /* bytes waiting for one follower before it is dropped to a snapshot */
#define CLASS_FOLLOWERS_MAX 256
#define CLASS_KEY_MAX 160           /* a question's key: "lesson#step" */

/* ------------------------------------------------------------ messages */

typedef enum class_type { CLASS_HELLO, CLASS_SNAPSHOT, CLASS_COMMAND, CLASS_TALLY, CLASS_ANSWER } class_type;

/* A parsed message; the strings point into the parsed tree (freed by class_msg_free). */
typedef struct class_msg {
	class_type type;
	void *root;                 /* the cJSON tree */
	/* hello: the teacher's model, or the follower's name ("" when not given) */
	const char *model, *name;
	uint64_t size, sum;
	int has_model;
	/* command and snapshot */
	uint64_t seq;
	const char *line;
	int quiet;
	/* tally */
	const char *key;
	int followers, answered, right;
	/* answer (key above) */
	int q;
	const char *text;
} class_msg;

/* Parses one line (without its newline). Returns 0, or -1 with a reason:
 * not JSON, not an object, a wrong version, an unknown type, a missing or
 * ill-typed field, a string too long. */
int class_parse(const char *buf, size_t n, class_msg *m, rs_err *err);
void class_msg_free(class_msg *m);

/* Encoders: a line of JSON ending in '\n' (malloc'd), or NULL when it would
 * pass CLASS_MSG_MAX. */
char *class_hello_teacher(const char *model, uint64_t size, uint64_t sum);
char *class_hello_follower(const char *name);
char *class_command(uint64_t seq, const char *line, int quiet);
char *class_tally(const char *key, int followers, int answered, int right);
char *class_answer(const char *key, int q, const char *text);

/* The model's identity: its absolute path, size and a checksum (FNV-1a) of
 * its first MiB (the GGUF header and metadata; a folder: its config.json).
 * -1 with a message naming the path when it cannot be read. */
int class_model_id(const char *path, char **abs_path, uint64_t *size, uint64_t *sum, rs_err *err);

/* Whether the command of line may be replayed by a follower (CMD_REPLAY in
 * the registry), and whether it only shows (CMD_VIEW: a follower running it
 * stays with the teacher). */
int class_replay_safe(const char *line);
int class_view_only(const char *line);

/* ------------------------------------------------------------ snapshots */

/* The session's state as a snapshot message line (malloc'd), or NULL with a
 * message when it passes CLASS_MSG_MAX. */
char *class_snapshot_build(const rs_session *s, uint64_t seq, rs_err *err);
/* Brings s to a snapshot's state (the model is the hello's business). */
int class_snapshot_apply(rs_session *s, const class_msg *m, rs_err *err);

/* ------------------------------------------------------------ connections */

/* One end of a connection: a non-blocking socket, what was read of the
 * next line, and what waits to be written. */
typedef struct class_conn {
	int fd;
	char *in;
	size_t in_len, in_cap;
	rs_strbuf out;
	size_t out_off;
	int want_snapshot;          /* its queue overflowed: a snapshot replaces it */
	int said_hello;
	char name[64];
	/* its answer to the current question */
	int answered, right;
} class_conn;

/* Sends line (queued; written as the socket takes it). Returns -1 when the
 * queue would pass CLASS_QUEUE_MAX (nothing queued). */
int class_conn_queue(class_conn *c, const char *line);
/* Writes what the socket takes now. -1: the connection is broken. */
int class_conn_flush(class_conn *c);
/* Reads what is there and calls fn for each whole line. Returns 0, 1 at
 * end of file, -1 (err says why) on a broken connection or a line over
 * CLASS_MSG_MAX; fn returning nonzero stops and returns -1 too. */
int class_conn_read(class_conn *c, int (*fn)(void *ctx, class_conn *c, const char *line, size_t n), void *ctx,
		    rs_err *err);
void class_conn_close(class_conn *c);
/* A connection to a teacher's socket (non-blocking), or -1 with a message
 * naming the path (errno kept: ECONNREFUSED for a stale socket). */
int class_connect(const char *path, rs_err *err);
/* The teacher's listening socket at path, mode 0660; see class_teacher_open. */
int class_listen(const char *path, rs_err *err);
/* A JSON tree (cJSON) as one message line, the tree freed; NULL past CLASS_MSG_MAX. */
char *class_msg_line(void *tree);

/* ------------------------------------------------------------ the teacher */

typedef struct class_teacher {
	rs_session *s;
	char *path;                 /* the socket */
	int lfd;
	class_conn *peer[CLASS_FOLLOWERS_MAX];
	int n_peer;
	int names;                  /* --names: the teacher may see who answered what */
	uint64_t seq;
	char key[CLASS_KEY_MAX];    /* the question the tally counts ("" none) */
	char *model, *snapshot;     /* the hello and the snapshot last made */
	char *model_src;            /* the session's model_path the hello was made from */
	uint64_t snap_version, snap_seq;
	/* where a logged reason goes (a dropped follower); NULL: stderr */
	void (*log)(void *ctx, const char *line);
	void *log_ctx;
} class_teacher;

/* Listens on path (mode 0660). A path that exists and is not a socket, or a
 * socket another teacher answers on, is refused; a stale socket is replaced.
 * Hooks itself into s (rs_session.on_command). */
class_teacher *class_teacher_open(rs_session *s, const char *path, int names, rs_err *err);
void class_teacher_free(class_teacher *t);
/* The descriptors to wait on (at most CLASS_FOLLOWERS_MAX + 1). */
int class_teacher_fds(const class_teacher *t, struct pollfd *pfd, int max);
/* Accepts, reads answers, writes what is queued; never blocks. Returns
 * nonzero when something shown changed (a follower came or went, a tally). */
int class_teacher_service(class_teacher *t);
/* "presenting · 3 following · 2 of 3 answered · 1 right" */
void class_teacher_status(const class_teacher *t, char *buf, size_t n);

/* ------------------------------------------------------------ the follower */

typedef enum class_event {
	CLASS_EV_NONE,
	CLASS_EV_MODEL,     /* a hello: the model was (re)loaded */
	CLASS_EV_SNAPSHOT,  /* the state was replaced */
	CLASS_EV_COMMAND,   /* a command was replayed: its line in ev_line, its output in the session */
	CLASS_EV_TALLY,
	CLASS_EV_LOST,      /* the teacher went away (notice says so) */
	CLASS_EV_BACK,      /* connected again */
} class_event;

typedef struct class_follower {
	rs_session *s;
	char *path;
	class_conn conn;            /* fd -1 while not connected */
	char name[64];
	int detached;               /* exploring on its own: commands are not replayed */
	int replaying;              /* inside a replayed command (its own commands detach) */
	uint64_t seq;
	int n_snapshots;            /* snapshots taken (the first may come with the hello) */
	char notice[256];           /* the last thing to say ("the teacher has left...") */
	char tally[160];            /* "14 of 20 answered · 9 right", "" none */
	double retry_at;            /* when to try connecting again (monotonic seconds) */
	int ever_connected;
	/* what the last event was about */
	const char *ev_line;
	int ev_quiet, ev_status;
	int ev_view_before;         /* the stop shown before it ran */
	rs_err ev_err;
	/* the front end's, called for every event (the batch follower prints) */
	void (*on_event)(void *ctx, class_event ev);
	void *ctx;
} class_follower;

/* Connects to path and waits (at most timeout_ms) for the teacher's hello,
 * loading its model into a new session (restricted). -1 with a message
 * naming the path when it cannot be followed. */
class_follower *class_follower_open(const char *path, const char *name, int timeout_ms, rs_err *err);
void class_follower_free(class_follower *f);
/* The descriptor to wait on, or -1 (then wake within class_follower_wait_ms). */
int class_follower_fd(const class_follower *f);
int class_follower_wait_ms(const class_follower *f);
/* Reads and applies what the teacher sent; reconnects when due. Calls
 * on_event for each event. Returns 0, or -1 on a fatal error (a model that
 * cannot be loaded) with err set. */
int class_follower_service(class_follower *f, rs_err *err);
/* F: follow the teacher again (asks for a snapshot). */
void class_follower_resync(class_follower *f);

#endif
