/* hooks.c - hook names, stop order and globs. */
#include "config.h"
#include "hooks.h"

#include <fnmatch.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const rs_hook_info table[HOOK_N_KINDS] = {
#define ROW(kind, name, shorts, shape, buf, gran) [kind] = {name, shorts, shape, buf, gran},
	RS_HOOK_TABLE(ROW)
#undef ROW
};

const rs_hook_info *hook_info(int kind)
{
	return kind >= 0 && kind < HOOK_N_KINDS ? &table[kind] : NULL;
}

int hook_is_layer_kind(int kind)
{
	return kind >= HOOK_FIRST_LAYER_KIND && kind <= HOOK_LAST_LAYER_KIND;
}

const char *hook_kind_name(int kind)
{
	return kind >= 0 && kind < HOOK_N_KINDS ? table[kind].name : "?";
}

int hook_n_stops(int n_layers)
{
	return 1 + n_layers * HOOK_LAYER_KINDS + (HOOK_N_KINDS - HOOK_LNF_SCALE);
}

rs_hook hook_at(int stop, int n_layers)
{
	rs_hook h = {HOOK_EMBED, -1};
	if (stop <= 0)
		return h;
	stop -= 1;
	if (stop < n_layers * HOOK_LAYER_KINDS) {
		h.layer = stop / HOOK_LAYER_KINDS;
		h.kind = HOOK_FIRST_LAYER_KIND + stop % HOOK_LAYER_KINDS;
		return h;
	}
	stop -= n_layers * HOOK_LAYER_KINDS;
	h.kind = HOOK_LNF_SCALE + (stop > HOOK_LOGITS - HOOK_LNF_SCALE ? HOOK_LOGITS - HOOK_LNF_SCALE : stop);
	return h;
}

int hook_stop(rs_hook h, int n_layers)
{
	if (h.kind == HOOK_EMBED)
		return 0;
	if (hook_is_layer_kind(h.kind))
		return 1 + h.layer * HOOK_LAYER_KINDS + (h.kind - HOOK_FIRST_LAYER_KIND);
	return 1 + n_layers * HOOK_LAYER_KINDS + (h.kind - HOOK_LNF_SCALE);
}

char *hook_name(rs_hook h, char *buf, size_t n)
{
	if (hook_is_layer_kind(h.kind))
		snprintf(buf, n, "blocks.%d.%s", h.layer, table[h.kind].name);
	else
		snprintf(buf, n, "%s", hook_kind_name(h.kind));
	return buf;
}

int hook_parse(const char *name, int n_layers, rs_hook *out)
{
	for (int k = 0; k < HOOK_N_KINDS; k++) {
		if (!hook_is_layer_kind(k) && !strcmp(name, table[k].name)) {
			out->kind = k;
			out->layer = -1;
			return 0;
		}
	}
	if (strncmp(name, "blocks.", 7))
		return -1;
	char *end;
	long l = strtol(name + 7, &end, 10);
	if (end == name + 7 || *end != '.' || l < 0 || l >= n_layers)
		return -1;
	for (int k = HOOK_FIRST_LAYER_KIND; k <= HOOK_LAST_LAYER_KIND; k++) {
		if (!strcmp(end + 1, table[k].name)) {
			out->kind = k;
			out->layer = (int)l;
			return 0;
		}
	}
	return -1;
}

int hook_parse_rel(const char *name, int n_layers, rs_hook *out)
{
	char buf[128];
	long l = 0;
	int off = 0;
	if (sscanf(name, "blocks.%ld.%n", &l, &off) == 1 && off > 0 && l < 0 && l >= -n_layers) {
		snprintf(buf, sizeof buf, "blocks.%ld.%s", l + n_layers, name + off);
		name = buf;
	}
	return hook_parse(name, n_layers, out);
}

int hook_parse_loose(const char *str, int n_layers, int default_layer, rs_hook *out, long *bad_layer)
{
	if (hook_parse(str, n_layers, out) == 0)
		return 0;
	const char *rest = str;
	int layer = default_layer, explicit_layer = 0;
	const char *p = !strncmp(str, "blocks.", 7) ? str + 7 : str;
	if (*p >= '0' && *p <= '9') {
		char *end;
		long l = strtol(p, &end, 10);
		if (*end == '.') {
			if (l >= n_layers) {
				if (bad_layer)
					*bad_layer = l;
				return HOOK_ELAYER;
			}
			layer = (int)l;
			explicit_layer = 1;
			rest = end + 1;
		}
	}
	int kind = -1;
	for (int k = 0; k < HOOK_N_KINDS && kind < 0; k++)
		if (!strcmp(rest, table[k].name))
			kind = k;
	if (kind < 0)
		kind = hook_parse_short(rest);
	if (kind < 0)
		return HOOK_EUNKNOWN;
	out->kind = kind;
	if (!hook_is_layer_kind(kind) && explicit_layer)
		return HOOK_ENOTBLOCK;
	out->layer = hook_is_layer_kind(kind) ? layer : -1;
	return 0;
}

int hook_in_gran(int kind, rs_gran g)
{
	if (kind < 0 || kind >= HOOK_N_KINDS)
		return g == GRAN_HOOK;
	return g <= table[kind].gran;
}

/* The short names of the table, one word each (built on first use). */
static struct {
	char w[24];
	int kind;
} shorts[HOOK_N_KINDS * 3];
static int n_shorts;

static void split_shorts(void)
{
	for (int k = 0; k < HOOK_N_KINDS; k++)
		for (const char *p = table[k].shorts; *p;) {
			size_t len = strcspn(p, " ");
			if (len && n_shorts < (int)(sizeof shorts / sizeof *shorts)) {
				snprintf(shorts[n_shorts].w, sizeof shorts[n_shorts].w, "%.*s", (int)len, p);
				shorts[n_shorts++].kind = k;
			}
			p += len + (p[len] == ' ');
		}
}

const char *hook_short(int i, int *kind)
{
	if (!n_shorts) {
		split_shorts();
		n_shorts = n_shorts ? n_shorts : -1;
	}
	if (i < 0 || i >= n_shorts)
		return NULL;
	if (kind)
		*kind = shorts[i].kind;
	return shorts[i].w;
}

int hook_parse_short(const char *word)
{
	int k;
	const char *w;
	for (int i = 0; (w = hook_short(i, &k)); i++)
		if (!strcmp(word, w))
			return k;
	return -1;
}

rs_hook_shape hook_shape(int kind)
{
	return kind >= 0 && kind < HOOK_N_KINDS ? table[kind].shape : HSHAPE_D;
}

int hook_has_heads(int kind)
{
	rs_hook_shape sh = hook_shape(kind);
	return sh == HSHAPE_Q || sh == HSHAPE_KV || sh == HSHAPE_ATTN;
}

int hook_is_attn(int kind)
{
	return hook_shape(kind) == HSHAPE_ATTN;
}

int hook_glob_match(const char *globs, const char *name)
{
	if (!globs || !*globs)
		return 1;
	int matched = 0, any_positive = 0;
	const char *p = globs;
	while (*p) {
		const char *e = strchr(p, ',');
		size_t len = e ? (size_t)(e - p) : strlen(p);
		char pat[256];
		if (len >= sizeof pat)
			len = sizeof pat - 1;
		memcpy(pat, p, len);
		pat[len] = 0;
		if (pat[0] == '!') {
			if (fnmatch(pat + 1, name, 0) == 0)
				return 0;
		} else if (pat[0]) {
			any_positive = 1;
			if (fnmatch(pat, name, 0) == 0)
				matched = 1;
		}
		p += len + (e ? 1 : 0);
		if (!e)
			break;
	}
	return any_positive ? matched : 1;
}
