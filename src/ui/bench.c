/* bench.c - `residual --bench-redraw`: how long a redraw takes.
 *
 * Runs the pass to the end first, so that every step measured afterwards
 * needs no new computation; then times ui_draw (pane drawing, wnoutrefresh
 * and doupdate into a screen on /dev/null) after stepping back and forward,
 * after moving the position, and with every pane forced to redraw. Prints
 * figures; it is a benchmark, not a test.
 */
#include "config.h"
#include "ui_int.h"

#include <stdio.h>
#include <stdlib.h>
#include <time.h>

static double now_ms(void)
{
	struct timespec t;
	clock_gettime(CLOCK_MONOTONIC, &t);
	return (double)t.tv_sec * 1e3 + (double)t.tv_nsec / 1e6;
}

static int cmp_d(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return x < y ? -1 : x > y;
}

static void report(const char *what, double *t, int n)
{
	qsort(t, (size_t)n, sizeof *t, cmp_d);
	printf("  %-34s median %7.3f ms   p90 %7.3f ms   max %7.3f ms\n", what, t[n / 2],
	       t[n * 9 / 10], t[n - 1]);
}

/* Times iters rounds of "act, then redraw"; act == NULL forces all panes. */
static void measure(ui *u, const char *what, void (*act)(ui *, int), int iters)
{
	double *t = rs_xmalloc(sizeof *t * (size_t)iters);
	for (int i = 0; i < iters; i++) {
		double t0 = now_ms();
		if (act)
			act(u, i);
		ui_draw(u, act == NULL);
		t[i] = now_ms() - t0;
	}
	report(what, t, iters);
	free(t);
}

static void act_step(ui *u, int i)
{
	if (i % 2)
		session_step(u->s, 1);
	else
		session_back(u->s, 1);
	ui_follow_view(u);
}

static void act_pos(ui *u, int i) { ui_key(u, i % 2 ? 'l' : 'h'); }
static void act_head(ui *u, int i) { ui_key(u, i % 2 ? ']' : '['); }

int ui_bench(ui *u, int rows, int cols, int iters)
{
	rs_session *s = u->s;
	const rs_config *c = &s->model->cfg;
	printf("residual --bench-redraw: %s\n", s->model_path ? s->model_path : "built-in model");
	printf("  model: %d layers, d %d, heads %d/%d, hd %d, ff %d, vocab %d; %d tokens; screen %dx%d, "
	       "%d colours\n",
	       c->n_layers, c->d_model, c->n_heads, c->n_kv_heads, c->head_dim, c->d_ff, c->vocab,
	       s->n_ids, cols, rows, u->th.colors);
	double t0 = now_ms();
	session_run_all(s);
	printf("  forward pass to the end (computed once): %.0f ms\n", now_ms() - t0);
	/* fill the logit lens as the idle loop would, and time it apart */
	ui_draw(u, 1);
	t0 = now_ms();
	int slices = 0;
	double worst = 0;
	for (;;) {
		double s0 = now_ms();
		if (!cache_idle(u))
			break;
		double dt = now_ms() - s0;
		worst = dt > worst ? dt : worst;
		slices++;
	}
	if (slices)
		printf("  logit lens, filled while idle: %.0f ms per layer, in pieces of at most %.0f ms\n",
		       (now_ms() - t0) / c->n_layers, worst);
	/* middle of the pass: the attention pattern of the middle layer */
	session_goto(s, (rs_hook){HOOK_PATTERN, c->n_layers / 2});
	s->sel_pos = s->n_ids / 2;
	ui_follow_view(u);
	ui_draw(u, 1);
	printf("  redraws with no new computation (%d each):\n", iters);
	measure(u, "step back / forward (hook)", act_step, iters);
	measure(u, "move the position", act_pos, iters);
	measure(u, "change the head", act_head, iters);
	s->attn_values = 1;
	measure(u, "step, attention values shown", act_step, iters);
	s->attn_values = 0;
	session_goto(s, (rs_hook){HOOK_LOGITS, -1});
	ui_follow_view(u);
	ui_draw(u, 1);
	measure(u, "step at the logits (vocab vector)", act_step, iters);
	measure(u, "every pane redrawn", NULL, iters);
	return 0;
}
