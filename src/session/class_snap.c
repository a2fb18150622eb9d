/* class_snap.c - a session's state as a classroom snapshot, and back.
 *
 * A snapshot is what a follower needs to show what the teacher shows
 * without the history: the prompt (text and ids), the interventions (their
 * values included: a patch's values came from a run the follower never
 * saw), how far the engine has computed and the stop shown, the selection,
 * the settings and panes, the lesson's state (as the lesson layer's
 * commands, rs_session.upper_state) and the last command's output. The
 * follower's engine then computes every stop itself.
 */
#include "config.h"
#include "class.h"
#include "commands.h"

#include <cJSON.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define OUTPUT_MAX (256u << 10) /* the teacher's last output, cut there */

/* ---------------------------------------------------------------- base64 */
static const char b64[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

static char *b64_encode(const unsigned char *p, size_t n)
{
	char *o = rs_xmalloc(4 * ((n + 2) / 3) + 1), *q = o;
	for (size_t i = 0; i < n; i += 3) {
		uint32_t v = (uint32_t)p[i] << 16 | (i + 1 < n ? (uint32_t)p[i + 1] << 8 : 0) | (i + 2 < n ? p[i + 2] : 0);
		*q++ = b64[v >> 18 & 63];
		*q++ = b64[v >> 12 & 63];
		*q++ = i + 1 < n ? b64[v >> 6 & 63] : '=';
		*q++ = i + 2 < n ? b64[v & 63] : '=';
	}
	*q = 0;
	return o;
}

/* Decodes into out (n bytes expected exactly); -1 on anything else. */
static int b64_decode(const char *s, unsigned char *out, size_t n)
{
	size_t len = strlen(s), o = 0;
	if (len % 4 || len / 4 * 3 < n || len / 4 * 3 > n + 2)
		return -1;
	for (size_t i = 0; i < len; i += 4) {
		uint32_t v = 0;
		int pad = 0;
		for (int k = 0; k < 4; k++) {
			char c = s[i + k];
			const char *at = c ? strchr(b64, c) : NULL;
			if (c == '=' && i + 4 == len && k >= 2)
				pad++, at = b64;
			else if (!at || pad)
				return -1;
			v = v << 6 | (uint32_t)(at - b64);
		}
		unsigned char b[3] = {(unsigned char)(v >> 16), (unsigned char)(v >> 8), (unsigned char)v};
		for (int k = 0; k < 3 - pad; k++) {
			if (o >= n)
				return -1;
			out[o++] = b[k];
		}
	}
	return o == n ? 0 : -1;
}

/* ---------------------------------------------------------------- build */
static cJSON *ivs_json(const rs_session *s)
{
	cJSON *a = cJSON_CreateArray();
	for (int i = 0; i < eng_n_interventions(s->eng); i++) {
		const rs_intervention *iv = eng_intervention(s->eng, i);
		cJSON *o = cJSON_CreateObject();
		char hn[96];
		cJSON_AddStringToObject(o, "hook", hook_name(iv->hook, hn, sizeof hn));
		cJSON_AddNumberToObject(o, "kind", iv->kind);
		cJSON_AddNumberToObject(o, "head", iv->head);
		cJSON_AddNumberToObject(o, "pos", iv->pos);
		cJSON_AddNumberToObject(o, "index", iv->index);
		/* the float's bits, so that the follower's is the same number */
		uint32_t bits;
		memcpy(&bits, &iv->scale, 4);
		cJSON_AddNumberToObject(o, "scale_bits", bits);
		if (iv->values && iv->n_values > 0) {
			char *enc = b64_encode((const unsigned char *)iv->values, (size_t)iv->n_values * sizeof(float));
			cJSON_AddStringToObject(o, "values", enc);
			free(enc);
			cJSON_AddNumberToObject(o, "n_values", (double)iv->n_values);
		}
		cJSON_AddStringToObject(o, "note", session_iv_note(s, i));
		cJSON_AddItemToArray(a, o);
	}
	return a;
}

char *class_snapshot_build(const rs_session *s, uint64_t seq, rs_err *err)
{
	cJSON *o = cJSON_CreateObject();
	cJSON_AddNumberToObject(o, "v", CLASS_VERSION);
	cJSON_AddStringToObject(o, "type", "snapshot");
	cJSON_AddNumberToObject(o, "seq", (double)seq);
	if (s->prompt)
		cJSON_AddStringToObject(o, "prompt", s->prompt);
	cJSON *ids = cJSON_AddArrayToObject(o, "ids");
	for (int i = 0; i < s->n_ids; i++)
		cJSON_AddItemToArray(ids, cJSON_CreateNumber(s->ids[i]));
	cJSON_AddNumberToObject(o, "generated", s->generated);
	cJSON_AddBoolToObject(o, "bos", s->add_bos);
	cJSON_AddStringToObject(o, "cache", s->cache_filter);
	cJSON_AddItemToObject(o, "ivs", ivs_json(s));
	cJSON_AddNumberToObject(o, "computed", s->eng && s->n_ids ? eng_stop(s->eng) : -1);
	cJSON_AddNumberToObject(o, "shown", s->view_stop);
	cJSON_AddNumberToObject(o, "gran", s->gran);
	cJSON_AddNumberToObject(o, "pos", s->sel_pos);
	cJSON_AddNumberToObject(o, "layer", s->sel_layer);
	cJSON_AddNumberToObject(o, "head", s->sel_head);
	cJSON_AddNumberToObject(o, "panes", s->panes);
	cJSON_AddBoolToObject(o, "full", s->vec_full);
	cJSON_AddBoolToObject(o, "values", s->attn_values);
	cJSON_AddNumberToObject(o, "topk", s->topk);
	cJSON_AddStringToObject(o, "highlight", s->highlight);
	cJSON_AddNumberToObject(o, "output_view", s->output_view);
	rs_strbuf up;
	strbuf_init(&up);
	if (s->upper_state)
		s->upper_state(s, &up);
	cJSON_AddStringToObject(o, "upper", up.p ? up.p : "");
	strbuf_free(&up);
	if (s->output && s->output_len > OUTPUT_MAX) {
		/* cut at a character's start, and say so */
		size_t n = OUTPUT_MAX;
		while (n > 0 && ((unsigned char)s->output[n] & 0xc0) == 0x80)
			n--;
		char *cut = rs_xmalloc(n + 64);
		memcpy(cut, s->output, n);
		snprintf(cut + n, 64, "\n(the rest is on the teacher's screen)\n");
		cJSON_AddStringToObject(o, "output", cut);
		free(cut);
	} else {
		cJSON_AddStringToObject(o, "output", s->output ? s->output : "");
	}
	char *line = class_msg_line(o);
	if (!line)
		rs_fail(err, "the state is larger than a message may be (%u MiB): followers keep the last one",
			CLASS_MSG_MAX >> 20);
	return line;
}

/* ---------------------------------------------------------------- apply */
static int num(const cJSON *o, const char *k, double lo, double hi, int *out, rs_err *err)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, k);
	if (!cJSON_IsNumber(v) || v->valuedouble != v->valuedouble || v->valuedouble < lo || v->valuedouble > hi ||
	    v->valuedouble != (double)(int64_t)v->valuedouble)
		return rs_fail(err, "snapshot: \"%s\" is not a whole number from %.0f to %.0f", k, lo, hi);
	*out = (int)v->valuedouble;
	return 0;
}

static const char *str(const cJSON *o, const char *k)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, k);
	return cJSON_IsString(v) ? v->valuestring : NULL;
}

static int flag(const cJSON *o, const char *k)
{
	return cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(o, k));
}

/* Registers the snapshot's interventions, each checked against the model. */
static int apply_ivs(rs_session *s, const cJSON *a, rs_err *err)
{
	if (!cJSON_IsArray(a))
		return rs_fail(err, "snapshot: \"ivs\" is not a list");
	int L = s->model->cfg.n_layers, i = 0;
	const cJSON *o;
	cJSON_ArrayForEach(o, a) {
		rs_intervention iv = {0};
		const char *hn = str(o, "hook"), *note = str(o, "note"), *vals = str(o, "values");
		int kind, bits_i = 0;
		if (!hn || hook_parse(hn, L, &iv.hook))
			return rs_fail(err, "snapshot: intervention %d names no hook of this model", i);
		if (num(o, "kind", IV_ZERO, IV_ADD, &kind, err) || num(o, "head", -1, 1 << 20, &iv.head, err) ||
		    num(o, "pos", -1, 1 << 24, &iv.pos, err) || num(o, "index", -1, 1 << 30, &iv.index, err))
			return -1;
		iv.kind = (rs_iv_kind)kind;
		const cJSON *sb = cJSON_GetObjectItemCaseSensitive(o, "scale_bits");
		if (!cJSON_IsNumber(sb) || sb->valuedouble < 0 || sb->valuedouble > 4294967295.0)
			return rs_fail(err, "snapshot: intervention %d has no scale", i);
		uint32_t bits = (uint32_t)sb->valuedouble;
		memcpy(&iv.scale, &bits, 4);
		(void)bits_i;
		float *values = NULL;
		if (vals) {
			int nv;
			if (num(o, "n_values", 1, CLASS_MSG_MAX / 4, &nv, err))
				return -1;
			values = rs_xmalloc((size_t)nv * sizeof(float));
			if (b64_decode(vals, (unsigned char *)values, (size_t)nv * sizeof(float))) {
				free(values);
				return rs_fail(err, "snapshot: intervention %d's values are not %d floats in base64", i, nv);
			}
			iv.values = values;
			iv.n_values = nv;
		}
		rs_err e2 = {{0}};
		int id = session_add_intervention(s, &iv, note ? note : "", &e2);
		free(values); /* the engine keeps its own copy */
		if (id < 0)
			return rs_fail(err, "snapshot: intervention %d: %s", i, e2.msg);
		i++;
	}
	return 0;
}

/* Runs the upper layer's lines (the lesson and its step), one a line. */
static void apply_upper(rs_session *s, const char *text)
{
	char *copy = rs_xstrdup(text), *save = NULL;
	for (char *ln = strtok_r(copy, "\n", &save); ln; ln = strtok_r(NULL, "\n", &save))
		if (class_replay_safe(ln)) {
			rs_err e2;
			cmd_exec_quiet(s, ln, &e2);
		}
	free(copy);
}

int class_snapshot_apply(rs_session *s, const class_msg *m, rs_err *err)
{
	const cJSON *o = m->root;
	if (!o || m->type != CLASS_SNAPSHOT)
		return rs_fail(err, "not a snapshot");
	int L = s->model->cfg.n_layers, n_stops = session_n_stops(s);
	const char *upper = str(o, "upper"), *cache = str(o, "cache"), *prompt = str(o, "prompt");
	const char *hl = str(o, "highlight"), *out = str(o, "output");
	const cJSON *ids_j = cJSON_GetObjectItemCaseSensitive(o, "ids");
	if (!upper || !cache || !hl || !out || !cJSON_IsArray(ids_j))
		return rs_fail(err, "snapshot: a field is missing (upper, cache, highlight, output or ids)");
	int n_ids = cJSON_GetArraySize(ids_j);
	if (n_ids > s->model->cfg.max_ctx)
		return rs_fail(err, "snapshot: %d tokens, past this model's context (%d)", n_ids, s->model->cfg.max_ctx);
	int32_t *ids = rs_xmalloc(sizeof(int32_t) * (size_t)(n_ids + 1));
	int i = 0;
	const cJSON *e;
	cJSON_ArrayForEach(e, ids_j) {
		if (!cJSON_IsNumber(e) || e->valuedouble < 0 || e->valuedouble >= s->model->cfg.vocab ||
		    e->valuedouble != (double)(int32_t)e->valuedouble) {
			free(ids);
			return rs_fail(err, "snapshot: token %d is not an id of this model", i);
		}
		ids[i++] = (int32_t)e->valuedouble;
	}
	int computed, shown, gran, pos, layer, head, panes, topk, oview, generated;
	if (num(o, "computed", -1, n_stops - 1, &computed, err) || num(o, "shown", -1, computed, &shown, err) ||
	    num(o, "gran", 0, GRAN_LAYER, &gran, err) || num(o, "pos", 0, n_ids > 0 ? n_ids - 1 : 0, &pos, err) ||
	    num(o, "layer", 0, L - 1, &layer, err) || num(o, "head", 0, s->model->cfg.n_heads - 1, &head, err) ||
	    num(o, "panes", 0, (1 << PANE_N) - 1, &panes, err) || num(o, "topk", 1, 64, &topk, err) ||
	    num(o, "output_view", 0, 2, &oview, err) || num(o, "generated", 0, n_ids, &generated, err) ||
	    strlen(hl) >= sizeof s->highlight || strlen(cache) >= sizeof s->cache_filter) {
		free(ids);
		if (!err || !err->msg[0])
			rs_fail(err, "snapshot: the highlight or the cache globs are too long");
		return -1;
	}
	/* the lesson first: its step's commands set a state the rest then replaces */
	session_clear_interventions(s);
	apply_upper(s, upper);
	session_clear_interventions(s);
	s->add_bos = flag(o, "bos");
	int rc = 0;
	if (strcmp(s->cache_filter, cache))
		rc = session_set_cache_filter(s, cache, err);
	if (!rc && n_ids)
		rc = session_set_ids(s, ids, n_ids, err);
	free(ids);
	if (rc)
		return -1;
	if (prompt) { /* a snapshot without ids leaves the old prompt in place: replace it */
		free(s->prompt);
		s->prompt = rs_xstrdup(prompt);
	}
	s->generated = generated;
	if (apply_ivs(s, cJSON_GetObjectItemCaseSensitive(o, "ivs"), err))
		return -1;
	if (n_ids && computed >= 0) {
		session_goto(s, hook_at(computed, L));
		session_goto(s, hook_at(shown, L));
		if (shown < 0)
			session_back(s, n_stops + 1);
	}
	s->gran = (rs_gran)gran;
	s->sel_pos = pos, s->sel_layer = layer, s->sel_head = head;
	s->panes = (unsigned)panes;
	s->vec_full = flag(o, "full");
	s->attn_values = flag(o, "values");
	s->topk = topk;
	snprintf(s->highlight, sizeof s->highlight, "%s", hl);
	if (oview != s->output_view || oview == 2)
		s->output_view_gen++;
	s->output_view = oview;
	session_clear_output(s);
	session_printf(s, "%s", out);
	s->version++;
	return 0;
}
