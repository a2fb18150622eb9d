/* test_robust.c - no file or input can hang, bloat or crash residual
 * (issue 14, part B), the parts that need no terminal:
 *   text from a file reaches a terminal only through rs_visible;
 *   an intervention on logits of the last position only hits that row;
 *   load keeps a prompt the new model cannot take, and says why;
 *   a prompt longer than the context is refused with its length and the limit;
 *   a lesson step that fails makes the step command fail;
 *   lesson expressions and batch lines are bounded;
 *   user files are replaced atomically.
 * With --write-escape-model PATH or --write-1b PATH it writes the models the
 * screen test (screen_robust.sh) uses, and exits. */
#include "config.h"
#include "tap.h"
#include "commands_model.h"

#include <errno.h>
#include <sys/stat.h>
#include <unistd.h>

#include "commands.h"
#include "convert.h"
#include "engine.h"
#include "lesson.h"
#include "mapfile.h"
#include "savefile.h"
#include "session.h"

/* Tokens and a model name a hostile file might hold: a title change, a
 * screen clear, a C1 CSI (U+009B), a right-to-left override. */
static const char *const hostile[] = {"\x1b]0;PWNED\x07", "\x1b[2J", "\xc2\x9b" "31m", "\xe2\x80\xae" "abc"};
#define N_HOSTILE 4
#define HOSTILE_NAME "evil\x1b]2;NAMED\x07model"

static int has_control(const char *s)
{
	for (const unsigned char *p = (const unsigned char *)s; *p; p++)
		if (*p < 0x20 && *p != '\n')
			return 1;
	return strstr(s, "\xc2\x9b") != NULL || strstr(s, "\xe2\x80\xae") != NULL;
}

static void test_visible(void)
{
	char b[64];
	rs_visible("\x1b]0;x\x07", 6, RS_VIS_UTF8, b, sizeof b);
	tap_ok(!strcmp(b, "\xe2\x90\x9b]0;x\\x07"), "UTF-8: ESC as U+241B, BEL as \\x07: %s", b);
	rs_visible("\x1b[2J", 4, 0, b, sizeof b);
	tap_ok(!strcmp(b, "\\e[2J"), "ASCII: ESC as \\e: %s", b);
	rs_visible("\xc2\x9b\x7f\x80", 4, RS_VIS_UTF8, b, sizeof b);
	tap_ok(!strcmp(b, "\\u{9B}\\x7f\\x80"), "C1, DEL and a stray byte escaped: %s", b);
	rs_visible("\xe2\x80\xae" "a", 4, RS_VIS_UTF8, b, sizeof b);
	tap_ok(!strcmp(b, "\\u{202E}a"), "a right-to-left override escaped: %s", b);
	rs_visible("a'b\\c|", 6, RS_VIS_UTF8 | RS_VIS_QUOTE | RS_VIS_BACKSLASH | RS_VIS_BAR, b, sizeof b);
	tap_ok(!strcmp(b, "a\\'b\\\\c\\|"), "quote, backslash and bar escaped on request: %s", b);
	rs_visible("\x1b\x1b\x1b", 3, RS_VIS_UTF8, b, 8);
	tap_ok(!strcmp(b, "\xe2\x90\x9b\xe2\x90\x9b"), "a stand-in is never cut at the end of the buffer");
}

/* A random model of a named shape with fewer layers, another vocabulary
 * and (max_ctx > 0) another context; no tokenizer. */
static int write_random(const char *path, const char *shape, int layers, int vocab, int max_ctx, int type,
			rs_err *err)
{
	rs_config c;
	convert_preset(shape, &c);
	c.n_layers = layers;
	c.vocab = vocab;
	c.bos_id = 1;
	c.eos_id = 2;
	if (max_ctx > 0)
		c.max_ctx = max_ctx;
	return convert_write_random(&c, path, type, 0.05f, 3, err);
}

/* The logits after a fresh pass with only this intervention (NULL: none). */
static const rs_act *logits_with(rs_engine *e, const rs_intervention *iv, const int32_t *ids, int T, rs_hook lh)
{
	rs_err err;
	eng_clear_interventions(e);
	if (iv)
		eng_add_intervention(e, iv, &err);
	eng_set_prompt(e, ids, T, &err);
	eng_run(e);
	return eng_act(e, lh);
}

/* Logits of the last position only: the hook has one row, position n-1. */
static void test_logits_iv(const char *dir)
{
	char path[600];
	snprintf(path, sizeof path, "%s/rand.gguf", dir);
	rs_err err;
	if (!tap_ok(write_random(path, "tiny", 2, 256, 0, RS_F32, &err) == 0, "random model (%s)", err.msg))
		return;
	rs_model *m = model_load(path, &err);
	if (!tap_ok(m != NULL, "random model loads"))
		return;
	int32_t ids[6] = {5, 17, 99, 3, 200, 42};
	int T = 6, V = m->cfg.vocab;
	rs_hook lh = {HOOK_LOGITS, 0};
	tap_ok(hook_parse("logits", m->cfg.n_layers, &lh) == 0, "the logits hook");
	rs_engine *e = eng_create(m, &err);
	eng_set_logits_all(e, 0);
	const rs_act *a = logits_with(e, NULL, ids, T, lh);
	tap_ok(a && a->shape[0] == 1 && a->numel == V, "logits of the last position only: one row");
	float *base = rs_xmalloc(sizeof(float) * (size_t)V);
	memcpy(base, a->data, sizeof(float) * (size_t)V);

	rs_intervention iv = {.hook = lh, .kind = IV_ZERO, .head = -1, .pos = T - 1, .index = -1};
	a = logits_with(e, &iv, ids, T, lh);
	float mx = 0;
	for (int i = 0; i < V; i++)
		mx = fmaxf(mx, fabsf(a->data[i]));
	tap_ok(mx == 0, "zeroing logits at the last position zeroes the one row (max |x| %g)", mx);

	iv.pos = 0;
	a = logits_with(e, &iv, ids, T, lh);
	tap_ok(tap_max_abs_diff(a->data, base, (size_t)V) == 0,
	       "zeroing logits at position 0 leaves the last position's row alone");

	float *vec = rs_xmalloc(sizeof(float) * (size_t)V);
	for (int i = 0; i < V; i++)
		vec[i] = (float)(i % 7) - 3.0f;
	rs_intervention add = {.hook = lh, .kind = IV_ADD, .head = -1, .pos = -1, .index = -1, .values = vec,
			       .n_values = V, .scale = 0.5f};
	a = logits_with(e, &add, ids, T, lh);
	float worst = 0;
	for (int i = 0; i < V; i++)
		worst = fmaxf(worst, fabsf(a->data[i] - (base[i] + 0.5f * vec[i])));
	tap_ok(worst < 1e-6f, "adding a vector to logits at every position adds it to the one row (%.1e)", worst);
	free(vec);
	free(base);
	eng_free(e);
	model_free(m);
	unlink(path);
}

/* The engine itself refuses more tokens than the context, prompt or decoded. */
static void test_engine_context(const char *dir)
{
	char path[600];
	snprintf(path, sizeof path, "%s/ctx4.gguf", dir);
	rs_err err = {{0}};
	write_random(path, "tiny", 1, 256, 4, RS_F32, &err);
	rs_model *m = model_load(path, &err);
	if (!tap_ok(m != NULL, "a model with a context of 4 (%s)", err.msg))
		return;
	rs_engine *e = eng_create(m, &err);
	int32_t ids[5] = {3, 4, 5, 6, 7};
	tap_ok(eng_set_prompt(e, ids, 5, &err) == -1 && strstr(err.msg, "5 tokens but the model's context is 4"),
	       "eng_set_prompt refuses 5 tokens: %s", err.msg);
	tap_ok(eng_set_prompt(e, ids, 3, &err) == 0 && eng_decode(e, 9, &err) != NULL,
	       "3 tokens and one decoded fit");
	tap_ok(eng_decode(e, 9, &err) == NULL && strstr(err.msg, "context of 4 tokens is full"),
	       "a fifth is refused: %s", err.msg);
	eng_free(e);
	model_free(m);
	unlink(path);
}

/* load, prompt length */
static void test_session(const char *dir, const char *tiny)
{
	rs_err err = {{0}};
	rs_session *s = session_create(tiny, &err);
	if (!tap_ok(s != NULL, "session on the tiny model (%s)", err.msg))
		return;
	/* a prompt longer than the context */
	int n = s->model->cfg.max_ctx + 5;
	int32_t *ids = rs_xcalloc((size_t)n, sizeof *ids);
	int rc = session_set_ids(s, ids, n, &err);
	char want[128];
	snprintf(want, sizeof want, "%d tokens but the model's context is %d", n, s->model->cfg.max_ctx);
	tap_ok(rc && strstr(err.msg, want), "a prompt longer than the context is refused: %s", err.msg);
	free(ids);

	tap_ok(session_set_prompt(s, "the cat sat on the mat", &err) == 0, "a text prompt");
	/* a model without a tokenizer: the text cannot be tokenized again */
	char path[600];
	snprintf(path, sizeof path, "%s/notok.gguf", dir);
	write_random(path, "tiny", 1, 512, 0, RS_F32, &err);
	rc = session_load(s, path, &err);
	tap_ok(rc == 1 && strstr(err.msg, "kept") && s->prompt && !strcmp(s->prompt, "the cat sat on the mat") &&
		       s->n_ids == 0,
	       "load of a model without a tokenizer keeps the prompt's text and says why: %s", err.msg);
	/* the command reports it */
	session_load(s, tiny, &err);
	session_set_prompt(s, "the cat sat on the mat", &err);
	char line[700];
	snprintf(line, sizeof line, "load %s", path);
	cmd_status st = cmd_exec(s, line, &err);
	tap_ok(st == CMD_ERROR && strstr(err.msg, "no tokenizer"), "load reports it as an error: %s", err.msg);
	st = cmd_exec(s, "prompt", &err);
	tap_ok(st == CMD_OK && strstr(s->output, "the cat sat on the mat"), "prompt still shows the text: %.*s",
	       (int)strcspn(s->output, "\n"), s->output);
	/* ids past a smaller context are dropped, with the reason */
	snprintf(path, sizeof path, "%s/short.gguf", dir);
	write_random(path, "tiny", 1, 512, 4, RS_F32, &err);
	int32_t six[6] = {1, 2, 3, 4, 5, 6};
	tap_ok(session_set_ids(s, six, 6, &err) == 0, "six token ids");
	rc = session_load(s, path, &err);
	tap_ok(rc == 1 && strstr(err.msg, "6 tokens but the model's context is 4") && s->n_ids == 0,
	       "load of a model with a shorter context says so: %s", err.msg);
	rc = session_load(s, "/nonexistent/model.gguf", &err);
	tap_ok(rc == -1 && s->model, "a model that cannot be read leaves the old one: %s", err.msg);
	session_free(s);
}

/* hostile vocabulary and model name in the output of commands */
static void test_hostile_output(const char *path)
{
	rs_err err = {{0}};
	rs_session *s = session_create(path, &err);
	if (!tap_ok(s != NULL, "session on the hostile model (%s)", err.msg))
		return;
	int V = tok_n_vocab(s->tok);
	char line[128];
	snprintf(line, sizeof line, "prompt --ids %d,%d,%d,%d", V - 6, V - 5, V - 4, V - 3);
	cmd_status st = cmd_exec(s, line, &err);
	tap_ok(st == CMD_OK && !has_control(s->output) && strstr(s->output, "\xe2\x90\x9b]0;PWNED\\x07") &&
		       strstr(s->output, "\\u{9B}31m") && strstr(s->output, "\\u{202E}abc"),
	       "the tokens are shown with visible escapes: %.*s", (int)strcspn(s->output, "\n"), s->output);
	st = cmd_exec(s, "model", &err);
	tap_ok(st == CMD_OK && !has_control(s->output) && strstr(s->output, "evil\xe2\x90\x9b]2;NAMED\\x07model"),
	       "so is the model name: %.*s", (int)strcspn(s->output, "\n"), s->output);
	session_free(s);
}

static void test_lesson_goto(const char *dir, const char *tiny)
{
	char ldir[600], path[700];
	snprintf(ldir, sizeof ldir, "%s/lessons", dir);
	mkdir(ldir, 0700);
	snprintf(path, sizeof path, "%s/01-broken.json", ldir);
	FILE *f = fopen(path, "w");
	fputs("{\"title\": \"Broken\", \"steps\": [{\"title\": \"one\", \"text\": \"fine\", \"commands\": [\"tokens\"]},"
	      " {\"title\": \"two\", \"text\": \"fails\", \"commands\": [\"prompt --ids 99999\"]}]}",
	      f);
	fclose(f);
	setenv("RESIDUAL_LESSONS", ldir, 1);
	rs_err err = {{0}};
	rs_session *s = session_create(tiny, &err);
	session_set_prompt(s, "the cat", &err);
	/* lesson_startup lives with the lesson commands: calling it links them in */
	tap_ok(lesson_startup(s, "none", &err) == 0, "the lesson commands are linked in");
	tap_ok(cmd_exec(s, "lesson 1", &err) == CMD_OK, "a lesson's first step runs (%s)", err.msg);
	cmd_status st = cmd_exec(s, "next", &err);
	tap_ok(st == CMD_ERROR && strstr(err.msg, "step 2") && strstr(err.msg, "could not run"),
	       "a step whose command fails makes next fail: %s", err.msg);
	st = cmd_exec(s, "lesson step 1", &err);
	tap_ok(st == CMD_OK, "a step that runs is no failure (%s)", err.msg);
	session_free(s);
	unsetenv("RESIDUAL_LESSONS");
	unlink(path);
	rmdir(ldir);
}

static void test_expr_bounds(void)
{
	lesson_env *env = lesson_env_create(NULL);
	rs_err err = {{0}};
	char *out = NULL;
	size_t n = 100000;
	char *e = rs_xmalloc(2 * n + 2);
	memset(e, '(', n);
	e[n] = '1';
	memset(e + n + 1, ')', n);
	e[2 * n + 1] = 0;
	int rc = lesson_eval_answer(env, e, &out, &err);
	tap_ok(rc == -1 && strstr(err.msg, "longer than"), "100000 nested parentheses are refused: %s", err.msg);
	memset(e, '(', 2000);
	e[2000] = '1';
	memset(e + 2001, ')', 2000);
	e[4001] = 0;
	rc = lesson_eval_answer(env, e, &out, &err);
	tap_ok(rc == -1 && strstr(err.msg, "nests deeper"), "2000 nested parentheses are refused: %s", err.msg);
	memset(e, '-', 4000);
	e[4000] = '1';
	e[4001] = 0;
	rc = lesson_eval_answer(env, e, &out, &err);
	tap_ok(rc == -1 && strstr(err.msg, "nests deeper"), "4000 minus signs are refused: %s", err.msg);
	rc = lesson_eval_answer(env, "2^2^2^2^2^2^2^2^2^2^2^2^2^2^2^2^2^2^2^2^2^2^2^2^2^2^2^2^2^2^2^2^2^2^2^2^2^2^2^2^2^2^2^2"
				     "^2^2^2^2^2^2^2^2^2^2^2^2^2^2^2^2^2^2^2^2^2^2^2^2^2^2",
				&out, &err);
	tap_ok(rc == -1 && strstr(err.msg, "nests deeper"), "70 powers are refused: %s", err.msg);
	memset(e, '(', 60);
	e[60] = '1';
	memset(e + 61, ')', 60);
	e[121] = 0;
	rc = lesson_eval_answer(env, e, &out, &err);
	tap_ok(rc == 0 && out && !strcmp(out, "1"), "60 levels still evaluate (%s)", rc ? err.msg : out);
	free(out);
	free(e);
	lesson_env_free(env);
}

static void test_save_file(const char *dir)
{
	char path[600], tmpdir[600];
	snprintf(path, sizeof path, "%s/a/b/c/file.txt", dir);
	rs_err err = {{0}};
	tap_ok(rs_save_file(path, "one\n", 4, &err) == 0, "rs_save_file creates the directories (%s)", err.msg);
	tap_ok(rs_save_file(path, "two\n", 4, &err) == 0, "and replaces the file");
	size_t len = 0;
	char *t = rs_read_file(path, &len, &err);
	tap_ok(t && len == 4 && !strcmp(t, "two\n"), "with the new bytes");
	free(t);
	/* a target that cannot be replaced: the old thing stays, no temporary file is left */
	snprintf(tmpdir, sizeof tmpdir, "%s/a/b/c/dir", dir);
	mkdir(tmpdir, 0700);
	char inside[700];
	snprintf(inside, sizeof inside, "%s/keep", tmpdir);
	rs_save_file(inside, "k", 1, &err);
	int rc = rs_save_file(tmpdir, "x", 1, &err);
	struct stat st;
	int left = 0;
	char probe[700];
	snprintf(probe, sizeof probe, "%s.tmp-%ld", tmpdir, (long)getpid());
	left = stat(probe, &st) == 0;
	tap_ok(rc == -1 && stat(inside, &st) == 0 && !left, "a failed replace leaves the old one and no temporary: %s",
	       err.msg);
	char cmd[700];
	snprintf(cmd, sizeof cmd, "rm -rf '%s/a'", dir);
	if (system(cmd))
		tap_diag("could not remove %s/a", dir);
}

static void test_batch_line(const char *dir, const char *tiny)
{
	char path[600];
	snprintf(path, sizeof path, "%s/long.cmd", dir);
	FILE *f = fopen(path, "w");
	fputs("prompt the cat\n", f);
	fputs("prompt ", f);
	for (int i = 0; i < (1 << 20) / 8 + 10; i++)
		fputs("the cat ", f);
	fputs("\ntokens\n", f);
	fclose(f);
	rs_err err = {{0}};
	rs_session *s = session_create(tiny, &err);
	fflush(stdout);
	int saved = dup(1), saved2 = dup(2);
	char out[700];
	snprintf(out, sizeof out, "%s/long.out", dir);
	FILE *o = fopen(out, "w");
	dup2(fileno(o), 1);
	dup2(fileno(o), 2);
	int rc = cmd_batch(s, path, 0);
	fflush(stdout);
	fflush(stderr);
	dup2(saved, 1);
	dup2(saved2, 2);
	close(saved);
	close(saved2);
	fclose(o);
	size_t len = 0;
	char *text = rs_read_file(out, &len, &err);
	const char *refused = text ? strstr(text, "long.cmd:2: the line is too long (at most 1048576 bytes)") : NULL;
	tap_ok(rc != 0 && refused && strstr(refused, "pos     id  token"),
	       "a batch line over 1 MiB is refused with one line, and the next lines run");
	free(text);
	session_free(s);
	unlink(path);
	unlink(out);
}

/* A model with the layers of Llama 3.2 1B (d 2048, d_ff 8192, 32 heads, 8
 * KV heads) but only two of them and a small vocabulary, Q8_0: each stop
 * costs what it costs on the real model, and the file stays small. */
static int write_1b(const char *path)
{
	rs_err err = {{0}};
	if (write_random(path, "llama3.2-1b", 2, 2048, 0, RS_Q8_0, &err)) {
		fprintf(stderr, "test_robust: %s\n", err.msg);
		return 1;
	}
	return 0;
}

int main(int argc, char **argv)
{
	rs_err err = {{0}};
	if (argc == 3 && !strcmp(argv[1], "--write-escape-model")) {
		if (tm_write_model(argv[2], hostile, N_HOSTILE, HOSTILE_NAME, &err)) {
			fprintf(stderr, "test_robust: %s\n", err.msg);
			return 1;
		}
		return 0;
	}
	if (argc == 3 && !strcmp(argv[1], "--write-1b"))
		return write_1b(argv[2]);
	char dir[] = "/tmp/rs-robust-XXXXXX";
	if (!mkdtemp(dir))
		tap_skip_all("no temporary directory");
	setenv("XDG_STATE_HOME", dir, 1);
	char tiny[600], hostile_path[600];
	snprintf(tiny, sizeof tiny, "%s/tiny.gguf", dir);
	snprintf(hostile_path, sizeof hostile_path, "%s/hostile.gguf", dir);
	tap_ok(tm_write_tiny_model(tiny, &err) == 0, "write the tiny model (%s)", err.msg);
	tap_ok(tm_write_model(hostile_path, hostile, N_HOSTILE, HOSTILE_NAME, &err) == 0,
	       "write a model with a hostile vocabulary and name (%s)", err.msg);
	test_visible();
	test_logits_iv(dir);
	test_engine_context(dir);
	test_session(dir, tiny);
	test_hostile_output(hostile_path);
	test_lesson_goto(dir, tiny);
	test_expr_bounds();
	test_save_file(dir);
	test_batch_line(dir, tiny);
	char cmd[700];
	snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
	if (system(cmd))
		tap_diag("could not remove %s", dir);
	return tap_done_plan();
}
