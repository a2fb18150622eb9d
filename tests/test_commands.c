/* test_commands.c - the command language on a tiny model with a tokenizer:
 * word splitting, every command's error path, navigation, identities that
 * interventions must satisfy, export round trips, completion.
 *
 *   test_commands                 runs the tests (TAP)
 *   test_commands --write-model F writes the tiny model (for test_batch.sh)
 */
#include "config.h"
#include "tap.h"
#include "commands.h"
#include "mapfile.h"
#include "safetensors.h"
#include "commands_model.h"
#include "cmd_run.h"

#include <cJSON.h>
#include <fcntl.h>
#include <unistd.h>

static int has(const char *needle) { return strstr(S->output, needle) != NULL; }

static const float *act(int kind, int layer)
{
	const rs_act *a = session_act(S, (rs_hook){kind, layer});
	return a ? a->data : NULL;
}

/* The matches of a completion in readline's shape: m[0] alone, or m[1..]
 * after the common prefix m[0]. */
static int has_match(char **m, const char *w)
{
	for (int i = m && m[0] && m[1] ? 1 : 0; m && m[i]; i++)
		if (!strcmp(m[i], w))
			return 1;
	return 0;
}

static void free_matches(char **m)
{
	for (int i = 0; m && m[i]; i++)
		free(m[i]);
	free(m);
}

static int complete_has(const char *line, const char *want)
{
	int len = (int)strlen(line), start = len;
	while (start > 0 && line[start - 1] != ' ')
		start--;
	char **m = cmd_complete(S, line, start, len);
	int r = has_match(m, want);
	if (!r)
		tap_diag("completing '%s': no '%s' (first: %s)", line, want, m && m[0] ? m[0] : "none");
	free_matches(m);
	return r;
}

static void test_words(void)
{
	tap_ok(ok_run("echo 'a  b'") && !strcmp(S->output, "a  b\n"), "single quotes keep spaces");
	tap_ok(ok_run("echo \"say \\\"hi\\\"\"") && !strcmp(S->output, "say \"hi\"\n"), "double quotes with escapes");
	tap_ok(ok_run("echo one   two") && !strcmp(S->output, "one   two\n"), "text arguments as typed");
	tap_ok(ok_run("   # a comment") && S->output_len == 0, "comment lines do nothing");
	tap_ok(ok_run("") && ok_run("   \t "), "empty lines do nothing");
	tap_ok(run("echo 'open") == CMD_ERROR && strstr(E.msg, "unterminated"), "unterminated quote: %s", E.msg);
	tap_ok(run("frobnicate 1 2") == CMD_ERROR && strstr(E.msg, "unknown command 'frobnicate'"), "unknown command");
	tap_ok(run("exit") == CMD_QUIT && run("q") == CMD_QUIT, "quit and its aliases end the session");
}

/* Every command, with no arguments and with garbage, fails cleanly or succeeds. */
static void test_all_commands(void)
{
	const char *garbage[] = {"", " x", " -1", " 99999999999999999999", " --bogus", " 'a b' c d e f g", " 1 2 3 4 5"};
	int bad = 0, n = 0;
	for (const cmd_def *d = cmd_registry(); d->name; d++) {
		if (!strcmp(d->name, "quit"))
			continue;
		for (size_t g = 0; g < sizeof garbage / sizeof *garbage; g++) {
			char line[256];
			snprintf(line, sizeof line, "%s%s", d->name, garbage[g]);
			cmd_status st = run(line);
			n++;
			if (st == CMD_ERROR && (!E.msg[0] || strchr(E.msg, '\n'))) {
				tap_diag("'%s': error without a one-line message", line);
				bad++;
			}
			if (st == CMD_QUIT) {
				tap_diag("'%s' quit", line);
				bad++;
			}
		}
		char h[64];
		snprintf(h, sizeof h, "help %s", d->name);
		if (run(h) != CMD_OK || !strstr(S->output, d->summary))
			bad++;
	}
	tap_ok(!bad, "%d command lines: every error is one line, help for each command", n);
	tap_ok(run("layer 9") == CMD_ERROR && strstr(E.msg, "usage: layer"), "a bad argument shows the usage: %s", E.msg);
}

static void test_navigation(void)
{
	tap_ok(ok_run("prompt the cat sat on the mat") && S->n_ids > 1 && S->ids[0] == tok_bos(S->tok),
	       "text prompt with BOS (%d tokens)", S->n_ids);
	tap_ok(ok_run("tokens") && has("' the'") && has("' cat'"), "tokens shows the pieces as text");
	int with_bos = S->n_ids;
	tap_ok(ok_run("set bos off") && S->n_ids == with_bos - 1 && ok_run("set bos on") && S->n_ids == with_bos,
	       "set bos re-tokenizes the prompt");
	tap_ok(S->view_stop == -1 && run("show") == CMD_ERROR, "nothing to show before stepping");
	tap_ok(ok_run("step") && S->view_stop == 0 && has("hook_embed"), "step shows hook_embed");
	tap_ok(ok_run("back") && S->view_stop == -1 && ok_run("back") && has("start"), "back to before the pass");
	tap_ok(ok_run("layer 0") && ok_run("run-to resid_mid") && S->view_stop == hook_stop((rs_hook){HOOK_RESID_MID, 0}, TM_LAYERS),
	       "run-to a short name in the selected layer");
	tap_ok(act(HOOK_RESID_MID, 0) && !act(HOOK_MLP_OUT, 0), "the view hides what is not shown yet");
	tap_ok(run("show 0.mlp_out") == CMD_ERROR && strstr(E.msg, "not computed"), "show a later hook: %s", E.msg);
	ok_run("show resid_mid 2 --full");
	char *first = rs_xstrdup(S->output);
	ok_run("step 4");
	ok_run("back 4");
	ok_run("show resid_mid 2 --full");
	tap_ok(!strcmp(first, S->output), "stepping back shows exactly what was shown");
	free(first);
	tap_ok(ok_run("gran layer") && ok_run("step") &&
		       session_hook(S).kind == HOOK_RESID_POST && session_hook(S).layer == 0,
	       "gran layer steps to the end of the layer");
	tap_ok(ok_run("gran sublayer") && ok_run("step") && session_hook(S).kind == HOOK_ATTN_OUT,
	       "gran sublayer steps to the attention output");
	ok_run("gran hook");
	tap_ok(ok_run("run") && eng_done(S->eng) && has("logits"), "run to the end");
	tap_ok(ok_run("pos -1") && S->sel_pos == S->n_ids - 1 && ok_run("head 3") && S->sel_head == 3 &&
		       run("head 4") == CMD_ERROR,
	       "selection with negative and bad indices");
	tap_ok(ok_run("step 1000000") && has("at the end"), "step past the end stays at the end");
}

/* A front end's interrupt: says stop on its n-th question. */
static int asked, stop_at;
static int interrupt_after(void *ctx)
{
	(void)ctx;
	return ++asked == stop_at;
}

/* A run stopped part way shows the last stop computed; going on from there
 * gives the same numbers as a run never stopped. */
static void test_interrupt(void)
{
	ok_run("prompt the cat sat on the mat");
	int last = session_n_stops(S) - 1;
	S->interrupt = interrupt_after;
	asked = 0, stop_at = 5;
	int ran = ok_run("run");
	tap_ok(ran && S->interrupted && S->view_stop == 4 && eng_stop(S->eng) == 4 && asked == 5,
	       "a run asked to stop after its 5th stop shows stop 4 (shown %d, asked %d times)", S->view_stop,
	       asked);
	asked = 0, stop_at = 1;
	int now = session_step(S, 1);
	tap_ok(now == 5 && !S->interrupted && asked == 0, "a single step is not asked: nothing comes after it (%d, %d)",
	       now, asked);
	asked = 0, stop_at = 3;
	ran = ok_run("run");
	tap_ok(ran && S->interrupted && S->view_stop == 8, "the next run goes on from there (stop %d)", S->view_stop);
	asked = 0, stop_at = -1;
	ran = ok_run("run");
	tap_ok(ran && !S->interrupted && S->view_stop == last && asked == last - 9,
	       "and reaches the end when not stopped (stop %d of %d, asked %d times)", S->view_stop, last, asked);
	const rs_act *a = session_act(S, (rs_hook){HOOK_LOGITS, -1});
	float *resumed = a ? rs_xmalloc(sizeof(float) * (size_t)a->numel) : NULL;
	if (a)
		memcpy(resumed, a->data, sizeof(float) * (size_t)a->numel);
	S->interrupt = NULL;
	ok_run("prompt the cat sat on the mat");
	ok_run("run");
	a = session_act(S, (rs_hook){HOOK_LOGITS, -1});
	tap_ok(resumed && a && !memcmp(resumed, a->data, sizeof(float) * (size_t)a->numel),
	       "its logits are bit for bit those of a run never stopped");
	free(resumed);
	/* generation asks between tokens, sweeps between cells */
	S->interrupt = interrupt_after;
	asked = 0, stop_at = 3;
	ran = ok_run("generate 10 --no-stop");
	tap_ok(ran && has("generated 3 tokens (greedy, stopped by a key)"), "generate stopped after 3 tokens says so");
	asked = 0, stop_at = 2;
	ran = ok_run("sweep ablate heads");
	tap_ok(ran && has("stopped after 2 of ") && has("- "), "a sweep stopped after 2 cells says so and marks the rest");
	S->interrupt = NULL;
	ran = ok_run("sweep ablate heads");
	tap_ok(ran && !has("stopped") && S->interrupted == 0, "without an interrupt the sweep is whole");
}

static void test_identities(void)
{
	ok_run("prompt the dog ran at the cat");
	ok_run("run");
	int T = S->n_ids, d = TM_D;
	const float *pre = act(HOOK_RESID_PRE, 1), *ao = act(HOOK_ATTN_OUT, 1), *mid = act(HOOK_RESID_MID, 1);
	float worst = 0;
	for (int i = 0; i < T * d; i++)
		worst = fmaxf(worst, fabsf(pre[i] + ao[i] - mid[i]));
	tap_ok(worst == 0, "resid_pre + attn_out = resid_mid (max diff %g)", worst);

	/* ablation zeroes the head's z and nothing else of z */
	tap_ok(ok_run("ablate 1 2"), "ablate 1 2");
	const rs_act *z = session_act(S, (rs_hook){HOOK_Z, 1});
	int zero = 1, other = 0;
	for (int t = 0; t < T; t++)
		for (int h = 0; h < TM_HEADS; h++)
			for (int i = 0; i < TM_HD; i++) {
				float v = z->data[((size_t)t * TM_HEADS + h) * TM_HD + i];
				if (h == 2 && v != 0)
					zero = 0;
				if (h != 2 && v != 0)
					other = 1;
			}
	tap_ok(zero && other, "zero ablation empties head 2 only");
	tap_ok(ok_run("interventions") && has("#0 zero-ablate blocks.1.attn.hook_z head 2"), "listed");
	tap_ok(ok_run("ablate 0.post --index 5 --pos 1 mean") && eng_n_interventions(S->eng) == 2, "neuron ablation");
	tap_ok(ok_run("clear") && eng_n_interventions(S->eng) == 0, "clear removes them");

	/* dataset-mean ablation over a file holding this prompt (twice, with a
	 * comment and a blank line): the mean is the prompt's own z, so nothing changes */
	{
		char path[64], other[64];
		snprintf(path, sizeof path, "/tmp/test_commands_over_%d.txt", (int)getpid());
		snprintf(other, sizeof other, "/tmp/test_commands_over2_%d.txt", (int)getpid());
		FILE *f = fopen(path, "w");
		fputs("# the prompt twice\nthe dog ran at the cat\n\nthe dog ran at the cat\n", f);
		fclose(f);
		f = fopen(other, "w");
		fputs("the dog ran at the cat\nthe dog ran\n", f);
		fclose(f);
		size_t nl = sizeof(float) * (size_t)T * S->model->cfg.vocab;
		float *clean = rs_xmalloc(nl);
		memcpy(clean, act(HOOK_LOGITS, -1), nl);
		char line[160];
		snprintf(line, sizeof line, "ablate 1 2 mean --over %s", path);
		tap_ok(ok_run(line) && has("mean of 2 prompts") && !memcmp(clean, act(HOOK_LOGITS, -1), nl),
		       "ablate L H mean --over a file of the prompt itself changes no logit");
		ok_run("clear");
		snprintf(line, sizeof line, "ablate 1 2 mean --over %s", other);
		tap_ok(run(line) == CMD_ERROR && strstr(E.msg, "one length") && eng_n_interventions(S->eng) == 0,
		       "--over with prompts of another length: %s", E.msg);
		snprintf(line, sizeof line, "ablate 1 2 --over %s", path);
		tap_ok(run(line) == CMD_ERROR && strstr(E.msg, "goes with mean"), "--over without mean: %s", E.msg);
		tap_ok(run("ablate 1 2 mean --over /nonexistent/prompts.txt") == CMD_ERROR && strstr(E.msg, "prompts.txt"),
		       "--over a missing file: %s", E.msg);
		free(clean);
		unlink(path);
		unlink(other);
	}

	/* patching the embedding from another prompt reproduces that prompt's run */
	float *logits_self = rs_xmalloc(sizeof(float) * (size_t)T * S->model->cfg.vocab);
	memcpy(logits_self, act(HOOK_LOGITS, -1), sizeof(float) * (size_t)T * S->model->cfg.vocab);
	tap_ok(ok_run("patch embed from the dog ran at the cat"), "patch from the same prompt");
	tap_ok(!memcmp(logits_self, act(HOOK_LOGITS, -1), sizeof(float) * (size_t)T * S->model->cfg.vocab),
	       "patching from the same prompt changes nothing");
	ok_run("clear");
	ok_run("prompt the cat ran at the dog");
	tap_ok(S->n_ids == T, "a prompt of the same length");
	ok_run("run");
	float *logits_other = rs_xmalloc(sizeof(float) * (size_t)T * S->model->cfg.vocab);
	memcpy(logits_other, act(HOOK_LOGITS, -1), sizeof(float) * (size_t)T * S->model->cfg.vocab);
	ok_run("prompt the dog ran at the cat");
	ok_run("run");
	tap_ok(ok_run("patch embed from \"the cat ran at the dog\"") &&
		       !memcmp(logits_other, act(HOOK_LOGITS, -1), sizeof(float) * (size_t)T * S->model->cfg.vocab),
	       "patching the whole embedding gives the other prompt's logits");
	tap_ok(run("patch embed from the cat") == CMD_ERROR && strstr(E.msg, "same length"), "lengths must match");
	ok_run("clear");

	/* steering adds exactly scale x vector */
	float before = act(HOOK_RESID_MID, 0)[2 * d + 3];
	tap_ok(ok_run("steer 0.resid_mid dim:3 2.5"), "steer dim:3");
	float after = act(HOOK_RESID_MID, 0)[2 * d + 3];
	tap_ok(fabsf(after - before - 2.5f) < 1e-5f, "steering added 2.5 (%g -> %g)", before, after);
	tap_ok(ok_run("steer 1.resid_pre \"diff: the cat| the dog\" 1") && ok_run("steer 1.resid_pre embed:' cat' -1") &&
		       ok_run("steer 1.resid_pre unembed:#3 0.5"),
	       "steering vectors: diff, embed, unembed");
	tap_ok(run("steer 1.resid_pre bogus:1 1") == CMD_ERROR && run("steer 0.z dim:99 1") == CMD_ERROR,
	       "bad steering vectors fail: %s", E.msg);
	ok_run("clear");
	free(logits_self);
	free(logits_other);
}

static void test_generate_export(const char *dir)
{
	ok_run("prompt the cat");
	ok_run("run");
	/* greedy generation equals repeated argmax through the engine */
	rs_engine *e = eng_create(S->model, &E);
	eng_set_prompt(e, S->ids, S->n_ids, &E);
	eng_run(e);
	const float *lg = eng_last_logits(e);
	char want[256] = "ids:";
	for (int k = 0; k < 5; k++) {
		int best = 0;
		for (int v = 1; v < S->model->cfg.vocab; v++)
			if (lg[v] > lg[best])
				best = v;
		snprintf(want + strlen(want), sizeof want - strlen(want), " %d", best);
		lg = eng_decode(e, best, &E);
	}
	eng_free(e);
	tap_ok(ok_run("generate 5 --no-stop") && has(want), "greedy generation (%s)", want);
	int n0 = S->n_ids;
	tap_ok(ok_run("generate 3 --no-stop --append") && S->n_ids == n0 + 3 && S->view_stop == -1, "--append extends");
	tap_ok(ok_run("generate 4 --temp 0.8 --seed 7") && has("sampled"), "sampling");

	ok_run("prompt the cat sat");
	ok_run("run-to 1.resid_mid");
	char path[512], line[600];
	snprintf(path, sizeof path, "%s/acts.safetensors", dir);
	snprintf(line, sizeof line, "export %s blocks.1.*,hook_embed", path);
	tap_ok(ok_run(line), "export safetensors: %s", S->output);
	st_file *f = st_open(path, &E);
	const st_tensor *t = f ? st_find(f, "blocks.1.hook_resid_mid") : NULL;
	const rs_act *a = session_act(S, (rs_hook){HOOK_RESID_MID, 1});
	tap_ok(t && a && st_numel(t) == a->numel && !memcmp(t->data, a->data, sizeof(float) * (size_t)a->numel) &&
		       st_find(f, "input_ids") && st_find(f, "hook_embed") && !st_find(f, "blocks.0.hook_resid_mid") &&
		       !st_find(f, "blocks.1.hook_mlp_out"),
	       "safetensors holds what was shown, as computed");
	st_close(f);
	snprintf(path, sizeof path, "%s/acts.json", dir);
	snprintf(line, sizeof line, "export %s 1.pattern,1.resid_mid", path);
	tap_ok(ok_run(line), "export json");
	char *text = rs_read_file(path, NULL, &E);
	cJSON *o = text ? cJSON_Parse(text) : NULL;
	cJSON *r = cJSON_GetObjectItem(cJSON_GetObjectItem(cJSON_GetObjectItem(o, "tensors"), "blocks.1.hook_resid_mid"), "data");
	int same = cJSON_GetArraySize(r) == a->numel;
	for (int i = 0; same && i < a->numel; i++)
		same = (float)cJSON_GetArrayItem(r, i)->valuedouble == a->data[i];
	tap_ok(same && cJSON_GetObjectItem(cJSON_GetObjectItem(o, "tensors"), "blocks.1.attn.hook_pattern"),
	       "json holds the same floats");
	cJSON_Delete(o);
	free(text);
	tap_ok(run("export out.txt") == CMD_ERROR && run("export /nonexistent/dir/x.json") == CMD_ERROR,
	       "export errors: %s", E.msg);
	S->restricted = 1;
	tap_ok(run("export /tmp/x.json") == CMD_ERROR && strstr(E.msg, "working directory") &&
		       run("load ../x") == CMD_ERROR,
	       "restricted sessions keep to the working directory");
	S->restricted = 0;
}

static void test_analyses(void)
{
	ok_run("prompt the cat sat on the mat the cat sat");
	ok_run("step 3");
	int view = S->view_stop;
	tap_ok(ok_run("lens") && has("KL 0.0000") && S->view_stop == view, "lens: the last site is the model (view kept)");
	tap_ok(ok_run("lens --all") && ok_run("lens 2 --target ' cat'"), "lens --all and --target");
	tap_ok(ok_run("dla") && has("remainder 0.0000"), "dla: components explain the logit");
	tap_ok(ok_run("dla -1 ' mat' --vs ' cat' --top 3"), "dla with a logit difference");
	tap_ok(ok_run("heads") && ok_run("heads induction --top 2") && has("induction"), "heads");
	tap_ok(ok_run("repeat 8 --seed 3 --use") && S->n_ids == 17, "repeat --use sets the prompt");
	tap_ok(ok_run("compare 'the cat' 'the dog sat'") && has("total variation"), "compare");
	tap_ok(ok_run("run") && ok_run("norms") && ok_run("attn 1 3") && ok_run("attn --values") && ok_run("top 3"), "views");
	tap_ok(ok_run("model") && has("parameters") && has("byte-level BPE"), "model");
	/* patching resid_pre of layer 0 where two prompts differ restores all of the clean run */
	ok_run("prompt the dog ran at the cat");
	char row0[256] = "\n0     ";
	for (int i = 0; i < S->n_ids; i++)
		strcat(row0, i == S->n_ids - 1 ? "   1.0000\n" : "   0.0000");
	tap_ok(ok_run("sweep patch resid_pre from the dog ran at the dog") && has(row0),
	       "sweep patch: layer 0 is 1 at the one position that differs");
	tap_ok(ok_run("sweep patch z --heads --pos -1 from the dog ran at the dog --metric ' dog' --vs ' cat'") &&
		       ok_run("sweep ablate heads mean --at 2") && ok_run("sweep ablate mlp"),
	       "sweep by head, ablation sweeps");
	tap_ok(ok_run("set cache blocks.0.*,!*pattern*") && ok_run("run") &&
		       act(HOOK_RESID_MID, 0) && !act(HOOK_PATTERN, 0) && !act(HOOK_RESID_MID, 1) &&
		       run("show 1.resid_mid") == CMD_ERROR && strstr(E.msg, "cache"),
	       "set cache narrows what is kept: %s", E.msg);
	setenv("RESIDUAL_CACHE_MB", "1", 1);
	int n_before = S->n_ids;
	tap_ok(ok_run("set cache all") && run("repeat 200 --use") == CMD_ERROR && strstr(E.msg, "MiB") &&
		       S->n_ids == n_before,
	       "a prompt whose cache would pass RESIDUAL_CACHE_MB is refused: %s", E.msg);
	unsetenv("RESIDUAL_CACHE_MB");
}

static void test_completion(const char *dir)
{
	tap_ok(complete_has("st", "step") && complete_has("st", "steer"), "command names");
	tap_ok(complete_has("show blocks.1.hook_re", "blocks.1.hook_resid_mid") && complete_has("run-to pat", "pattern") &&
		       complete_has("run-to 1.att", "1.attn_out"),
	       "hook names, short names, layer prefixes");
	tap_ok(complete_has("attn ", "1") && complete_has("attn 1 ", "3") && complete_has("gran ", "sublayer"),
	       "layers, heads, words");
	tap_ok(complete_has("show --f", "--full") && complete_has("show resid_pre --head ", "2"), "options and their values");
	tap_ok(complete_has("help ab", "ablate"), "help completes commands");
	char line[600], want[600];
	snprintf(line, sizeof line, "export %s/acts.s", dir);
	snprintf(want, sizeof want, "%s/acts.safetensors", dir);
	tap_ok(complete_has(line, want), "file names");
	char **m = cmd_complete(S, "ste", 0, 3); /* step, steer, steer-from */
	tap_ok(m && !strcmp(m[0], "ste") && m[1] && m[2] && m[3] && !m[4], "several matches: the common prefix first");
	free_matches(m);
	m = cmd_complete(S, "gran subl", 5, 9);
	tap_ok(m && !strcmp(m[0], "sublayer") && !m[1], "one match: the match alone");
	free_matches(m);
	m = cmd_complete(S, "zzz ", 4, 4);
	tap_ok(!m && !cmd_complete(S, "step", 9, 2) && !cmd_complete(NULL, "x", 0, 1), "no candidates, bad ranges");
}

static void test_load_batch(const char *model, const char *dir)
{
	int failed = run("load /nonexistent/model.gguf") == CMD_ERROR;
	tap_diag("%s", E.msg);
	tap_ok(failed && S->model && ok_run("tokens"), "a failed load keeps the old model");
	char line[700];
	snprintf(line, sizeof line, "load %s", model);
	tap_ok(ok_run(line) && S->n_ids > 0 && ok_run("run") && ok_run("top 2"), "load again keeps the prompt");

	char script[512];
	snprintf(script, sizeof script, "%s/script.cmd", dir);
	FILE *f = fopen(script, "w");
	fprintf(f, "prompt the cat\nstep 2\nbogus\nwhere\n");
	fclose(f);
	/* batch output goes to stdout: keep it out of the TAP stream */
	fflush(stdout);
	int saved = dup(1), saved2 = dup(2), devnull = open("/dev/null", O_WRONLY);
	dup2(devnull, 1);
	dup2(devnull, 2);
	int rc1 = cmd_batch(S, script, 1);
	f = fopen(script, "w");
	fprintf(f, "prompt the cat\nstep 2\nquit\nbogus\n");
	fclose(f);
	int rc2 = cmd_batch(S, script, 0);
	int rc3 = cmd_batch(S, "/nonexistent/script", 0);
	fflush(stdout);
	dup2(saved, 1);
	dup2(saved2, 2);
	close(devnull);
	close(saved);
	close(saved2);
	tap_ok(rc1 == 1 && rc2 == 0 && rc3 == 2, "batch exit statuses (%d %d %d)", rc1, rc2, rc3);
}

/* A Llama-3-style tokenizer that fits the tiny model's vocabulary: the 256
 * bytes, five merges, and the special tokens of the chat format. */
static int write_chat_tokenizer(const char *path)
{
	static const char *const merges[] = {"h i", "Ċ Ċ", "u s", "e r", "us er"};
	static const char *const specials[] = {"<|begin_of_text|>", "<|end_of_text|>", "<|start_header_id|>",
					       "<|end_header_id|>", "<|eot_id|>"};
	enum { NM = 5, NV = 256 + NM + 5 };
	char *pieces[NV];
	int32_t types[NV];
	char buf[8];
	for (int i = 0; i < NV; i++) {
		types[i] = i < 256 + NM ? TOK_T_NORMAL : TOK_T_CONTROL;
		if (i < 256)
			tm_byte_piece(i, buf);
		pieces[i] = rs_xstrdup(i < 256 ? buf : i < 256 + NM ? "" : specials[i - 256 - NM]);
	}
	static const char *const joined[] = {"hi", "ĊĊ", "us", "er", "user"};
	for (int i = 0; i < NM; i++) {
		free(pieces[256 + i]);
		pieces[256 + i] = rs_xstrdup(joined[i]);
	}
	rs_tokenizer *tok = tok_create_bpe((const char *const *)pieces, types, NV, merges, NM, 256 + NM,
					   256 + NM + 1, &E);
	for (int i = 0; i < NV; i++)
		free(pieces[i]);
	if (!tok)
		return -1;
	gguf_writer *w = gguf_writer_create();
	int rc = tok_gguf_write(tok, w, &E);
	if (!rc)
		rc = gguf_write(w, path, &E);
	gguf_writer_free(w);
	tok_free(tok);
	return rc;
}

/* `tokenize`: the numbers are checked by hand against commands_model.h's
 * merges (tests/batch/tokenize.cmd has the whole output). */
static void test_tokenize(const char *model, const char *dir)
{
	ok_run("prompt the cat");
	int n_ids = S->n_ids, stop = S->view_stop;
	tap_ok(ok_run("tokenize the cats") && has("  2     261       3  Ġcat   ' cat'") &&
		       has("  3     115       7  s      's'") && has("4 tokens, 8 bytes"),
	       "tokenize: ids, offsets, pieces and text");
	tap_ok(S->n_ids == n_ids && S->view_stop == stop && ok_run("prompt") && has("\"the cat\""),
	       "tokenize leaves the prompt and the pass alone");
	tap_ok(ok_run("tokenize the  cat") && has("      32       3  Ġ ") && has("4 tokens, 8 bytes"),
	       "tokenize takes the text as typed (two spaces)");
	tap_ok(ok_run("tokenize --trace the cats") && has("2 pre-tokens: 'the' '·cats'\n") &&
		       has("'·cats': ·|c|a|t|s\n  a + t -> at (rank 3): ·|c|at|s\n  · + c -> ·c (rank 4): ·c|at|s\n"
			   "  ·c + at -> ·cat (rank 5): ·cat|s\n"),
	       "tokenize --trace: pre-tokens, then each merge with its rank and the symbols left");
	tap_ok(ok_run("tokenize --trace onon") && has("o + n -> on (rank 8): on|o|n\n  o + n -> on (rank 8): on|on"),
	       "tokenize --trace: of two equal pairs the leftmost merges first");
	tap_ok(ok_run("tokenize --trace ' on'") && has("'·on': already a token, taken whole (265)") &&
		       ok_run("tokenize --trace --all-merges ' on'") && has("  · + on -> ·on (rank 9): ·on\n"),
	       "a pre-token that is a token is taken whole, unless --all-merges");
	tap_ok(ok_run("tokenize --trace <|begin_of_text|>x") &&
		       has("'<|begin_of_text|>': a special token (275)"),
	       "tokenize --trace: special tokens written in the text");
	tap_ok(ok_run("tokenize -- --trace") && has("7 tokens, 7 bytes"), "-- ends the options");
	tap_ok(run("tokenize --chat hi") == CMD_ERROR && strstr(E.msg, "<|start_header_id|>"),
	       "--chat needs the Llama 3 special tokens: %s", E.msg);
	tap_ok(run("tokenize --chat-style llama2 --chat hi") == CMD_ERROR && strstr(E.msg, "usage: tokenize"),
	       "a bad chat style: %s", E.msg);
	char big[400] = "tokenize --trace ";
	memset(big + strlen(big), 'a', 300);
	tap_ok(run(big) == CMD_ERROR && strstr(E.msg, "at most 256 bytes"), "--trace takes short texts: %s", E.msg);
	struct rs_tokenizer *t = S->tok;
	S->tok = NULL;
	tap_ok(run("tokenize x") == CMD_ERROR && strstr(E.msg, "no tokenizer"), "no tokenizer: %s", E.msg);
	S->tok = t;

	/* the chat format, on a session with a Llama-3-style tokenizer */
	char path[600];
	snprintf(path, sizeof path, "%s/chat-tok.gguf", dir);
	rs_session *keep = S;
	S = session_create(model, &E);
	if (!tap_ok(S && !write_chat_tokenizer(path) && !session_set_tokenizer(S, path, &E),
		    "a session with a chat tokenizer (%s)", E.msg)) {
		if (S)
			session_free(S);
		S = keep;
		return;
	}
	/* <|begin_of_text|> <|start_header_id|> user <|end_header_id|> ĊĊ hi <|eot_id|>
	 * <|start_header_id|> a s s i s t a n t <|end_header_id|> ĊĊ: 19 tokens; "hi"
	 * starts at 17 + 19 + 4 + 17 + 2 = 59 of 118 bytes */
	tap_ok(ok_run("tokenize --chat --chat-style llama3 hi") && has("19 tokens, 118 bytes") &&
		       has("  5     256      59  hi ") && has("  2     260      36  user "),
	       "tokenize --chat --chat-style llama3: the turn and the assistant's header");
	/* 17 + 19 + "system" + 17 + 2 + "Cutting Knowledge Date: December 2023\nToday Date: 26 Jul
	 * 2024\n\n" (63) + 10 = 134 bytes before the same user turn: 235 bytes, 71 tokens more
	 * (the system turn's bytes, but "er" and the two newlines merge) */
	tap_ok(ok_run("tokenize --chat hi") && has("Llama 3.1") && has("90 tokens, 235 bytes") &&
		       has(" 76     256     176  hi ") && has(" 71     265     124  <|eot_id|> "),
	       "tokenize --chat: Llama 3.1 puts the system block first");
	session_free(S);
	S = keep;
}

/* Every command is documented in the manual page. */
static void test_manual(void)
{
	char path[4096];
	snprintf(path, sizeof path, "%s/doc/residual.1", getenv("TOP_SRCDIR") ? getenv("TOP_SRCDIR") : SRCDIR);
	char *man = rs_read_file(path, NULL, &E);
	if (!man) {
		tap_ok(1, "manual page not found (%s) # SKIP", path);
		return;
	}
	/* roff writes '-' as "\\-" */
	char *o = man;
	for (const char *p = man; *p; p++) {
		if (p[0] == '\\' && p[1] == '-')
			p++;
		*o++ = *p;
	}
	*o = 0;
	const char *cmds = strstr(man, ".SH COMMANDS");
	int missing = 0;
	for (const cmd_def *d = cmd_registry(); cmds && d->name; d++) {
		size_t n = strlen(d->name);
		int found = 0;
		for (const char *p = strstr(cmds, d->name); p && !found; p = strstr(p + 1, d->name))
			found = strchr(" \"\n", p[-1]) && strchr(" \"\n", p[n]);
		if (!found) {
			tap_diag("%s is not in doc/residual.1", d->name);
			missing++;
		}
	}
	tap_ok(cmds && !missing, "every command is in the manual page");
	free(man);
}

int main(int argc, char **argv)
{
	if (argc == 3 && !strcmp(argv[1], "--write-model")) {
		if (tm_write_tiny_model(argv[2], &E)) {
			fprintf(stderr, "test_commands: %s\n", E.msg);
			return 1;
		}
		return 0;
	}
	char dir[] = "/tmp/rs-commands-XXXXXX";
	if (!mkdtemp(dir))
		tap_skip_all("no temporary directory");
	char model[600];
	snprintf(model, sizeof model, "%s/tiny.gguf", dir);
	if (!tap_ok(tm_write_tiny_model(model, &E) == 0, "write the tiny model (%s)", E.msg))
		return tap_done_plan();
	S = session_create(model, &E);
	if (!tap_ok(S != NULL, "session on the tiny model (%s)", E.msg))
		return tap_done_plan();
	test_words();
	test_all_commands();
	test_navigation();
	test_interrupt();
	test_identities();
	test_generate_export(dir);
	test_analyses();
	test_completion(dir);
	test_tokenize(model, dir);
	test_load_batch(model, dir);
	test_manual();
	session_free(S);
	char cmd[700];
	snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
	if (system(cmd) != 0)
		tap_diag("could not remove %s", dir);
	return tap_done_plan();
}
