/* fuzz_class.c - fuzz target for the classroom protocol: the input is fed
 * to a follower's line reader (class_conn_read, over a socket pair, in
 * pieces), each line parsed (class_parse) and each snapshot applied to a
 * session over a tiny model (class_snapshot_apply checks every field
 * against the model). Nothing may crash, hang or leak; refusals are
 * expected. Driven by tests/fuzz_main.c under gcc (tests/fuzz_class.sh),
 * or by libFuzzer. */
#include "config.h"
#include "class.h"
#include "commands_model.h"

#include <stdint.h>
#include <sys/socket.h>
#include <unistd.h>

static char dir[] = "/tmp/rs-fuzz-class-XXXXXX";
static char model[sizeof dir + 16];
static rs_session *S;

static void cleanup(void)
{
	session_free(S);
	unlink(model);
	rmdir(dir);
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	rs_err err;
	if (!mkdtemp(dir)) {
		perror("fuzz_class: temporary directory");
		exit(1);
	}
	snprintf(model, sizeof model, "%s/tiny.gguf", dir);
	if (tm_write_tiny_model(model, &err) || !(S = session_create(model, &err))) {
		fprintf(stderr, "fuzz_class: %s\n", err.msg);
		exit(1);
	}
	S->restricted = 1;
	atexit(cleanup);
	return 0;
}

static int on_line(void *ctx, class_conn *c, const char *line, size_t n)
{
	class_msg m;
	rs_err err = {{0}};
	if (class_parse(line, n, &m, &err))
		return err.msg[0] ? 0 : -1; /* a refusal must say why */
	if (m.type == CLASS_SNAPSHOT)
		class_snapshot_apply(S, &m, &err);
	class_msg_free(&m);
	++*(int *)ctx;
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	int sv[2];
	if (socketpair(AF_UNIX, SOCK_STREAM, 0, sv))
		return 0;
	class_conn c = {.fd = sv[1]};
	int lines = 0;
	rs_err err = {{0}};
	/* in pieces, as a socket delivers them */
	size_t o = 0, step = size / 3 + 1;
	int rc = 0;
	while (o < size && !rc) {
		size_t k = size - o < step ? size - o : step;
		if (write(sv[0], data + o, k) != (ssize_t)k)
			break;
		o += k;
		rc = class_conn_read(&c, on_line, &lines, &err);
	}
	close(sv[0]);
	while (!rc)
		rc = class_conn_read(&c, on_line, &lines, &err);
	if (rc < 0 && !err.msg[0])
		abort(); /* a connection closed without a reason */
	class_conn_close(&c);
	return 0;
}
