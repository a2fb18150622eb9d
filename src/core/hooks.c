/* hooks.c - hook names, stop order and globs. */
#include "config.h"
#include "hooks.h"

#include <fnmatch.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *const kind_names[HOOK_N_KINDS] = {
	[HOOK_EMBED] = "hook_embed",
	[HOOK_RESID_PRE] = "hook_resid_pre",
	[HOOK_LN1_SCALE] = "ln1.hook_scale",
	[HOOK_LN1_NORM] = "ln1.hook_normalized",
	[HOOK_Q] = "attn.hook_q",
	[HOOK_K] = "attn.hook_k",
	[HOOK_V] = "attn.hook_v",
	[HOOK_ROT_Q] = "attn.hook_rot_q",
	[HOOK_ROT_K] = "attn.hook_rot_k",
	[HOOK_ATTN_SCORES] = "attn.hook_attn_scores",
	[HOOK_PATTERN] = "attn.hook_pattern",
	[HOOK_Z] = "attn.hook_z",
	[HOOK_ATTN_OUT] = "hook_attn_out",
	[HOOK_RESID_MID] = "hook_resid_mid",
	[HOOK_LN2_SCALE] = "ln2.hook_scale",
	[HOOK_LN2_NORM] = "ln2.hook_normalized",
	[HOOK_MLP_PRE] = "mlp.hook_pre",
	[HOOK_MLP_PRE_LINEAR] = "mlp.hook_pre_linear",
	[HOOK_MLP_POST] = "mlp.hook_post",
	[HOOK_MLP_OUT] = "hook_mlp_out",
	[HOOK_RESID_POST] = "hook_resid_post",
	[HOOK_LNF_SCALE] = "ln_final.hook_scale",
	[HOOK_LNF_NORM] = "ln_final.hook_normalized",
	[HOOK_LOGITS] = "logits",
};

int hook_is_layer_kind(int kind)
{
	return kind >= HOOK_FIRST_LAYER_KIND && kind <= HOOK_LAST_LAYER_KIND;
}

const char *hook_kind_name(int kind)
{
	return kind >= 0 && kind < HOOK_N_KINDS ? kind_names[kind] : "?";
}

int hook_n_stops(int n_layers)
{
	return 1 + n_layers * HOOK_LAYER_KINDS + 3;
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
	h.kind = HOOK_LNF_SCALE + (stop > 2 ? 2 : stop);
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
		snprintf(buf, n, "blocks.%d.%s", h.layer, kind_names[h.kind]);
	else
		snprintf(buf, n, "%s", hook_kind_name(h.kind));
	return buf;
}

int hook_parse(const char *name, int n_layers, rs_hook *out)
{
	for (int k = 0; k < HOOK_N_KINDS; k++) {
		if (!hook_is_layer_kind(k) && !strcmp(name, kind_names[k])) {
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
		if (!strcmp(end + 1, kind_names[k])) {
			out->kind = k;
			out->layer = (int)l;
			return 0;
		}
	}
	return -1;
}

int hook_in_gran(int kind, rs_gran g)
{
	switch (g) {
	case GRAN_HOOK:
		return 1;
	case GRAN_SUBLAYER:
		return kind == HOOK_EMBED || kind == HOOK_ATTN_OUT || kind == HOOK_RESID_MID ||
		       kind == HOOK_MLP_OUT || kind == HOOK_RESID_POST || kind == HOOK_LNF_NORM ||
		       kind == HOOK_LOGITS;
	case GRAN_LAYER:
		return kind == HOOK_EMBED || kind == HOOK_RESID_POST || kind == HOOK_LOGITS;
	}
	return 1;
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
