/* commands_complete.c - completion candidates for the command line: command
 * names, options, hook names, layer/head/position numbers, files, words. */
#include "config.h"
#include "commands_internal.h"

#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

typedef struct cands {
	char **v;
	int n, cap;
	const char *prefix;
	size_t plen;
} cands;

static void add(cands *c, const char *word)
{
	if (strncmp(word, c->prefix, c->plen))
		return;
	if (c->n + 3 > c->cap) { /* room for the common prefix and the NULL */
		c->cap = c->cap ? c->cap * 2 : 32;
		c->v = rs_xrealloc(c->v, sizeof(char *) * (size_t)c->cap);
	}
	c->v[c->n++] = rs_xstrdup(word);
}

static void add_words(cands *c, const char *list)
{
	if (!list)
		return;
	char buf[64];
	while (*list) {
		size_t n = strcspn(list, " ");
		if (n && n < sizeof buf) {
			memcpy(buf, list, n);
			buf[n] = 0;
			add(c, buf);
		}
		list += n;
		list += strspn(list, " ");
	}
}

static void add_numbers(cands *c, int n)
{
	char buf[16];
	for (int i = 0; i < n && i < 4096; i++) {
		snprintf(buf, sizeof buf, "%d", i);
		add(c, buf);
	}
}

static void add_hooks(cands *c, const rs_session *s)
{
	char hn[96];
	for (int t = 0; t < session_n_stops(s); t++)
		add(c, hook_name(hook_at(t, s->model->cfg.n_layers), hn, sizeof hn));
	const char *a;
	for (int i = 0; (a = hook_short(i, NULL)); i++)
		add(c, a);
	/* "N.alias" once the layer number is typed */
	if (c->plen && c->prefix[0] >= '0' && c->prefix[0] <= '9') {
		int l = atoi(c->prefix);
		int kind;
		for (int i = 0; l < s->model->cfg.n_layers && (a = hook_short(i, &kind)); i++)
			if (hook_is_layer_kind(kind)) {
				snprintf(hn, sizeof hn, "%d.%s", l, a);
				add(c, hn);
			}
	}
}

static void add_files(cands *c)
{
	const char *slash = strrchr(c->prefix, '/');
	char dir[4096];
	const char *base = slash ? slash + 1 : c->prefix;
	if (slash)
		snprintf(dir, sizeof dir, "%.*s", (int)(slash - c->prefix + 1), c->prefix);
	else
		dir[0] = 0;
	DIR *d = opendir(dir[0] ? dir : ".");
	if (!d)
		return;
	struct dirent *de;
	int shown = 0;
	while ((de = readdir(d)) && shown < 1000) {
		if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, ".."))
			continue;
		if (de->d_name[0] == '.' && base[0] != '.')
			continue;
		char path[8192];
		struct stat st;
		snprintf(path, sizeof path, "%s%s", dir, de->d_name);
		if (stat(path[0] ? path : ".", &st) == 0 && S_ISDIR(st.st_mode))
			strcat(path, "/");
		add(c, path);
		shown++;
	}
	closedir(d);
}

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* The argument kind an option's value completes as. */
static int opt_kind(const char *opt)
{
	if (!strcmp(opt, "--head"))
		return ARG_HEAD;
	if (!strcmp(opt, "--pos"))
		return ARG_POS;
	if (!strcmp(opt, "--vs") || !strcmp(opt, "--target"))
		return ARG_TOKEN;
	if (!strcmp(opt, "--index") || !strcmp(opt, "--top") || !strcmp(opt, "--seed") || !strcmp(opt, "--temp") ||
	    !strcmp(opt, "--kv-head") ||
	    !strcmp(opt, "--top-p"))
		return ARG_NUMBER;
	return -1;
}

char **cmd_complete(rs_session *s, const char *line, int start, int end)
{
	if (!line || start < 0 || end < start || (size_t)end > strlen(line))
		return NULL;
	char prefix[512];
	snprintf(prefix, sizeof prefix, "%.*s", end - start, line + start);
	cands c = {NULL, 0, 0, prefix, strlen(prefix)};
	/* the words before the one completed (plain whitespace split is enough here) */
	char *head = strndup(line, (size_t)start), *save = NULL;
	char *words[64];
	int nw = 0;
	for (char *w = strtok_r(head, " \t", &save); w && nw < 64; w = strtok_r(NULL, " \t", &save))
		words[nw++] = w;
	const cmd_def *d = nw ? cmd_find(words[0]) : NULL;
	if (!nw) {
		for (const cmd_def *r = cmd_registry(); r->name; r++)
			add(&c, r->name);
	} else if (d && prefix[0] == '-') {
		add_words(&c, d->flags);
	} else if (d) {
		int argi = 0, kind = ARG_NONE;
		for (int i = 1; i < nw; i++)
			if (strncmp(words[i], "--", 2) && !(i > 1 && opt_kind(words[i - 1]) >= 0))
				argi++;
		if (nw > 1 && opt_kind(words[nw - 1]) >= 0)
			kind = opt_kind(words[nw - 1]);
		else
			kind = d->argk[argi < 3 ? argi : 3];
		if (argi > 3 && kind != ARG_TEXT && kind != ARG_FILE)
			kind = ARG_NONE;
		switch (kind) {
		case ARG_COMMAND:
			for (const cmd_def *r = cmd_registry(); r->name; r++)
				add(&c, r->name);
			break;
		case ARG_HOOK:
			if (s)
				add_hooks(&c, s);
			break;
		case ARG_LAYER:
			if (s)
				add_numbers(&c, s->model->cfg.n_layers);
			break;
		case ARG_HEAD:
			if (s)
				add_numbers(&c, s->model->cfg.n_heads);
			break;
		case ARG_POS:
			if (s)
				add_numbers(&c, s->n_ids);
			add_words(&c, d->choices);
			break;
		case ARG_FILE:
			add_files(&c);
			break;
		case ARG_WORD:
			add_words(&c, d->choices);
			break;
		default:
			break;
		}
	}
	free(head);
	if (!c.n) {
		free(c.v);
		return NULL;
	}
	qsort(c.v, (size_t)c.n, sizeof *c.v, cmp_str);
	int k = 0;
	for (int i = 0; i < c.n; i++) {
		if (k && !strcmp(c.v[k - 1], c.v[i]))
			free(c.v[i]);
		else
			c.v[k++] = c.v[i];
	}
	c.v[k] = NULL;
	if (k == 1)
		return c.v; /* readline's shape for one match: just the match */
	/* several: readline wants their longest common prefix in front */
	size_t lcd = strlen(c.v[0]);
	for (int i = 1; i < k; i++) {
		size_t j = 0;
		while (j < lcd && c.v[i][j] == c.v[0][j])
			j++;
		lcd = j;
	}
	memmove(c.v + 1, c.v, sizeof(char *) * (size_t)(k + 1));
	c.v[0] = strndup(c.v[1], lcd);
	return c.v;
}
