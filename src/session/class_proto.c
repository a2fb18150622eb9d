/* class_proto.c - the classroom protocol's messages: parsing and checking a
 * line, encoding each kind, the model's identity, which commands replay.
 * No sockets here (class_net.c), so the parser can be fuzzed alone. */
#include "config.h"
#include "class.h"
#include "commands.h"

#include <cJSON.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define LINE_MAX_BYTES (1u << 20) /* a command line, as the registry takes it */
#define NAME_MAX_BYTES 63

static const char *const type_names[] = {"hello", "snapshot", "command", "tally", "answer"};

/* ---------------------------------------------------------------- parsing */
/* A string field: NULL when absent; -1 when present but not a string or too long. */
static int get_str(const cJSON *o, const char *k, size_t max, const char **out, int need, rs_err *err)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, k);
	*out = NULL;
	if (!v)
		return need ? rs_fail(err, "the message has no \"%s\"", k) : 0;
	if (!cJSON_IsString(v) || !v->valuestring)
		return rs_fail(err, "\"%s\" is not a string", k);
	if (strlen(v->valuestring) > max)
		return rs_fail(err, "\"%s\" is %zu bytes (at most %zu)", k, strlen(v->valuestring), max);
	*out = v->valuestring;
	return 0;
}

/* A number field that must be an integer in [lo, hi]. */
static int get_num(const cJSON *o, const char *k, double lo, double hi, double *out, int need, rs_err *err)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, k);
	if (!v) {
		*out = lo;
		return need ? rs_fail(err, "the message has no \"%s\"", k) : 0;
	}
	if (!cJSON_IsNumber(v) || v->valuedouble != v->valuedouble || v->valuedouble < lo || v->valuedouble > hi ||
	    v->valuedouble != (double)(int64_t)v->valuedouble)
		return rs_fail(err, "\"%s\" is not a whole number from %.0f to %.0f", k, lo, hi);
	*out = v->valuedouble;
	return 0;
}

int class_parse(const char *buf, size_t n, class_msg *m, rs_err *err)
{
	memset(m, 0, sizeof *m);
	if (n > CLASS_MSG_MAX)
		return rs_fail(err, "a message of %zu bytes (at most %u)", n, CLASS_MSG_MAX);
	if (memchr(buf, 0, n))
		return rs_fail(err, "a NUL byte in a message");
	cJSON *root = cJSON_ParseWithLength(buf, n);
	if (!root)
		return rs_fail(err, "a message that is not JSON (%zu bytes)", n);
	m->root = root;
	double v;
	const char *type;
	if (!cJSON_IsObject(root)) {
		rs_fail(err, "a message that is not a JSON object");
		goto bad;
	}
	if (get_num(root, "v", 0, 1e9, &v, 1, err))
		goto bad;
	if (v != CLASS_VERSION) {
		rs_fail(err, "protocol version %.0f; this residual speaks version %d", v, CLASS_VERSION);
		goto bad;
	}
	if (get_str(root, "type", 16, &type, 1, err))
		goto bad;
	int t = -1;
	for (int i = 0; i < (int)(sizeof type_names / sizeof *type_names); i++)
		if (!strcmp(type, type_names[i]))
			t = i;
	if (t < 0) {
		rs_fail(err, "an unknown message type '%s'", rs_esc(type, -1));
		goto bad;
	}
	m->type = (class_type)t;
	double d;
	switch (m->type) {
	case CLASS_HELLO:
		if (get_str(root, "model", PATH_MAX, &m->model, 0, err) || get_str(root, "name", NAME_MAX_BYTES, &m->name, 0, err))
			goto bad;
		if (m->model) {
			m->has_model = 1;
			if (!m->model[0] || get_num(root, "size", 0, 9007199254740992.0, &d, 1, err))
				goto bad_model;
			m->size = (uint64_t)d;
			const char *sum;
			if (get_str(root, "sum", 16, &sum, 1, err))
				goto bad;
			char *end;
			errno = 0;
			m->sum = strtoull(sum, &end, 16);
			if (!*sum || *end || errno) {
				rs_fail(err, "\"sum\" is not a hexadecimal number");
				goto bad;
			}
		}
		if (!m->name)
			m->name = "";
		break;
	case CLASS_SNAPSHOT:
		if (get_num(root, "seq", 0, 9007199254740992.0, &d, 1, err))
			goto bad;
		m->seq = (uint64_t)d;
		break; /* its state is checked as it is applied (class_snap.c) */
	case CLASS_COMMAND: {
		if (get_num(root, "seq", 0, 9007199254740992.0, &d, 1, err) ||
		    get_str(root, "line", LINE_MAX_BYTES, &m->line, 1, err))
			goto bad;
		m->seq = (uint64_t)d;
		const cJSON *q = cJSON_GetObjectItemCaseSensitive(root, "quiet");
		if (q && !cJSON_IsBool(q)) {
			rs_fail(err, "\"quiet\" is not true or false");
			goto bad;
		}
		m->quiet = cJSON_IsTrue(q);
		break;
	}
	case CLASS_TALLY:
		if (get_str(root, "key", CLASS_KEY_MAX - 1, &m->key, 1, err) ||
		    get_num(root, "followers", 0, CLASS_FOLLOWERS_MAX, &d, 1, err))
			goto bad;
		m->followers = (int)d;
		if (get_num(root, "answered", 0, m->followers, &d, 1, err))
			goto bad;
		m->answered = (int)d;
		if (get_num(root, "right", 0, m->answered, &d, 1, err))
			goto bad;
		m->right = (int)d;
		break;
	case CLASS_ANSWER:
		if (get_str(root, "key", CLASS_KEY_MAX - 1, &m->key, 1, err) ||
		    get_str(root, "text", 480, &m->text, 1, err) || get_num(root, "q", 0, 63, &d, 1, err))
			goto bad;
		m->q = (int)d;
		break;
	}
	return 0;
bad_model:
	if (!err || !err->msg[0] || (m->model && !m->model[0]))
		rs_fail(err, "\"model\" is empty");
bad:
	cJSON_Delete(root);
	memset(m, 0, sizeof *m);
	return -1;
}

void class_msg_free(class_msg *m)
{
	if (m && m->root)
		cJSON_Delete(m->root);
	if (m)
		memset(m, 0, sizeof *m);
}

/* ---------------------------------------------------------------- encoding */
static cJSON *msg_new(class_type t)
{
	cJSON *o = cJSON_CreateObject();
	cJSON_AddNumberToObject(o, "v", CLASS_VERSION);
	cJSON_AddStringToObject(o, "type", type_names[t]);
	return o;
}

/* The tree as one line with its newline, freed; NULL past CLASS_MSG_MAX. */
char *class_msg_line(void *tree)
{
	char *js = cJSON_PrintUnformatted(tree);
	cJSON_Delete(tree);
	if (!js)
		return NULL;
	size_t n = strlen(js);
	if (n > CLASS_MSG_MAX) {
		cJSON_free(js);
		return NULL;
	}
	char *line = rs_xmalloc(n + 2);
	memcpy(line, js, n);
	line[n] = '\n';
	line[n + 1] = 0;
	cJSON_free(js);
	return line;
}

char *class_hello_teacher(const char *model, uint64_t size, uint64_t sum)
{
	cJSON *o = msg_new(CLASS_HELLO);
	char hex[17];
	snprintf(hex, sizeof hex, "%016llx", (unsigned long long)sum);
	cJSON_AddStringToObject(o, "model", model);
	cJSON_AddNumberToObject(o, "size", (double)size);
	cJSON_AddStringToObject(o, "sum", hex);
	return class_msg_line(o);
}

char *class_hello_follower(const char *name)
{
	cJSON *o = msg_new(CLASS_HELLO);
	char nm[NAME_MAX_BYTES + 1];
	snprintf(nm, sizeof nm, "%s", name ? name : "");
	cJSON_AddStringToObject(o, "name", nm);
	return class_msg_line(o);
}

char *class_command(uint64_t seq, const char *line, int quiet)
{
	if (strlen(line) > LINE_MAX_BYTES)
		return NULL;
	cJSON *o = msg_new(CLASS_COMMAND);
	cJSON_AddNumberToObject(o, "seq", (double)seq);
	cJSON_AddStringToObject(o, "line", line);
	cJSON_AddBoolToObject(o, "quiet", quiet);
	return class_msg_line(o);
}

char *class_tally(const char *key, int followers, int answered, int right)
{
	cJSON *o = msg_new(CLASS_TALLY);
	cJSON_AddStringToObject(o, "key", key);
	cJSON_AddNumberToObject(o, "followers", followers);
	cJSON_AddNumberToObject(o, "answered", answered);
	cJSON_AddNumberToObject(o, "right", right);
	return class_msg_line(o);
}

char *class_answer(const char *key, int q, const char *text)
{
	char t[481];
	snprintf(t, sizeof t, "%s", text);
	cJSON *o = msg_new(CLASS_ANSWER);
	cJSON_AddStringToObject(o, "key", key);
	cJSON_AddNumberToObject(o, "q", q);
	cJSON_AddStringToObject(o, "text", t);
	return class_msg_line(o);
}

/* ---------------------------------------------------------------- the model */
int class_model_id(const char *path, char **abs_path, uint64_t *size, uint64_t *sum, rs_err *err)
{
	char real[PATH_MAX];
	if (!realpath(path, real))
		return rs_fail(err, "%s: %s", path, strerror(errno));
	struct stat st;
	if (stat(real, &st))
		return rs_fail(err, "%s: %s", real, strerror(errno));
	char file[PATH_MAX + 16];
	snprintf(file, sizeof file, S_ISDIR(st.st_mode) ? "%s/config.json" : "%s", real);
	int fd = open(file, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return rs_fail(err, "%s: %s", file, strerror(errno));
	struct stat fst;
	if (fstat(fd, &fst)) {
		close(fd);
		return rs_fail(err, "%s: %s", file, strerror(errno));
	}
	/* FNV-1a over the first MiB: the header, metadata and tensor table of a
	 * GGUF, enough to tell two models apart without reading the weights */
	uint64_t h = 0xcbf29ce484222325ull;
	unsigned char buf[65536];
	size_t left = 1u << 20;
	while (left) {
		ssize_t r = read(fd, buf, left < sizeof buf ? left : sizeof buf);
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0) {
			int e = errno;
			close(fd);
			return rs_fail(err, "%s: %s", file, strerror(e));
		}
		if (r == 0)
			break;
		for (ssize_t i = 0; i < r; i++)
			h = (h ^ buf[i]) * 0x100000001b3ull;
		left -= (size_t)r;
	}
	close(fd);
	*size = (uint64_t)fst.st_size;
	*sum = h;
	if (abs_path)
		*abs_path = rs_xstrdup(real);
	return 0;
}

/* ---------------------------------------------------------------- replay */
int class_replay_safe(const char *line)
{
	const cmd_def *d = cmd_of_line(line);
	return d && (d->mode & CMD_REPLAY);
}

int class_view_only(const char *line)
{
	const cmd_def *d = cmd_of_line(line);
	return !d || (d->mode & CMD_VIEW);
}
