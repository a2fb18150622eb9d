/* sub_tokenize.c - `residual tokenize`: token ids, pieces and byte offsets of
 * a text, as a table or as JSON. */
#include "config.h"
#include "cli.h"
#include "session.h"
#include "tokenizer.h"

#include <cjson/cJSON.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>


static const char usage_text[] =
	"usage: residual tokenize [--model PATH | --tokenizer PATH] [options] [TEXT...]\n"
	"Shows the tokens of TEXT (the arguments joined by spaces; standard input\n"
	"when there are none or TEXT is -): id, byte offset, stored piece, bytes.\n\n"
	"  --tokenizer PATH  a tokenizer.json or a .gguf file\n"
	"  --model PATH      a .gguf model (its tokenizer keys) or a Hugging Face folder\n"
	"                    (its tokenizer.json); default: $RESIDUAL_TOKENIZER, then the\n"
	"                    built-in model ($RESIDUAL_MODEL, assets/residual-tiny.gguf)\n"
	"  --chat            render TEXT as a user message in the Llama 3.1 chat format\n"
	"                    (Hugging Face template: with its default system block)\n"
	"  --chat-style S    llama3.1 (default) or llama3 (no system block unless --system)\n"
	"  --system TEXT     a system message for --chat\n"
	"  --bos             prepend the BOS token (--chat always starts with it)\n"
	"  --no-special      read special tokens written in TEXT (<|eot_id|>) as plain text\n"
	"  --json            print {\"ids\": [...], \"pieces\": [...], \"offsets\": [...]}\n";

/* Standard input, whole, as bytes. */
static char *read_stdin(size_t *len)
{
	size_t cap = 65536, n = 0, got;
	char *buf = malloc(cap);
	while (buf && (got = fread(buf + n, 1, cap - n, stdin)) > 0) {
		n += got;
		if (n == cap)
			buf = realloc(buf, cap *= 2);
	}
	*len = n;
	return buf;
}

static char *join_args(int argc, char **argv, size_t *len)
{
	size_t n = 0;
	for (int i = 0; i < argc; i++)
		n += strlen(argv[i]) + 1;
	char *s = malloc(n + 1), *p = s;
	for (int i = 0; i < argc; i++) {
		size_t l = strlen(argv[i]);
		memcpy(p, argv[i], l);
		p += l;
		if (i + 1 < argc)
			*p++ = ' ';
	}
	*p = 0;
	*len = (size_t)(p - s);
	return s;
}

/* Prints bytes as a C-style quoted string: printable UTF-8 as is, the rest
 * escaped (rs_visible). */
static void print_quoted(const char *s, size_t n)
{
	size_t cap = 8 * n + 1; /* the longest stand-in per byte */
	char *buf = rs_xmalloc(cap);
	printf("\"%s\"", rs_visible(s, n, RS_VIS_UTF8 | RS_VIS_BACKSLASH | RS_VIS_DQUOTE, buf, cap));
	free(buf);
}

/* Display width of a piece, counting one column per UTF-8 character. */
static int columns(const char *s)
{
	int w = 0;
	for (; *s; s++)
		w += ((unsigned char)*s & 0xC0) != 0x80;
	return w;
}

static void print_table(const rs_tokenizer *tok, const int32_t *ids, const int32_t *offs, int n,
			size_t text_len)
{
	printf("%5s  %7s  %7s  %-18s %s\n", "pos", "id", "offset", "piece", "bytes");
	for (int i = 0; i < n; i++) {
		char piece[256]; /* the stored piece comes from the file: shown, never obeyed */
		const char *raw = tok_piece(tok, ids[i]);
		rs_visible(raw, strlen(raw), RS_VIS_UTF8, piece, sizeof piece);
		size_t bl;
		const char *b = tok_token_bytes(tok, ids[i], &bl);
		printf("%5d  %7d  %7d  %s%*s ", i, (int)ids[i], (int)offs[i], piece,
		       columns(piece) < 18 ? 18 - columns(piece) : 0, "");
		print_quoted(b, bl);
		putchar('\n');
	}
	printf("%d tokens, %zu bytes\n", n, text_len);
}

static int print_json(const rs_tokenizer *tok, const int32_t *ids, const int32_t *offs, int n,
		      const char *text)
{
	cJSON *o = cJSON_CreateObject(), *a_ids = cJSON_CreateArray(), *a_pieces = cJSON_CreateArray();
	cJSON *a_offs = cJSON_CreateArray();
	for (int i = 0; i < n; i++) {
		cJSON_AddItemToArray(a_ids, cJSON_CreateNumber(ids[i]));
		cJSON_AddItemToArray(a_pieces, cJSON_CreateString(tok_piece(tok, ids[i])));
		cJSON_AddItemToArray(a_offs, cJSON_CreateNumber(offs[i]));
	}
	cJSON_AddItemToObject(o, "ids", a_ids);
	cJSON_AddItemToObject(o, "pieces", a_pieces);
	cJSON_AddItemToObject(o, "offsets", a_offs);
	if (text) /* --chat: the rendered text the offsets refer to */
		cJSON_AddStringToObject(o, "text", text);
	char *s = cJSON_PrintUnformatted(o);
	int rc = s ? 0 : 1;
	if (s)
		puts(s);
	free(s);
	cJSON_Delete(o);
	return rc;
}

/* The tokenizer the options name, or the default one. */
static rs_tokenizer *open_tokenizer(const char *tok_path, const char *model_path, rs_err *err)
{
	const char *path = tok_path ? tok_path : model_path;
	const char *env = getenv("RESIDUAL_TOKENIZER");
	if (!path && env && *env)
		path = env;
	if (!path && !(path = session_default_model())) {
		rs_fail(err, "no tokenizer: give --tokenizer PATH or --model PATH, or set "
			"RESIDUAL_TOKENIZER (the built-in model assets/residual-tiny.gguf is not "
			"installed yet)");
		return NULL;
	}
	return tok_load(path, err);
}

int sub_tokenize(int argc, char **argv)
{
	const char *tok_path = NULL, *model_path = NULL, *system = NULL;
	int chat = 0, style = TOK_CHAT_LLAMA31, bos = 0, special = 1, json = 0, i;
	for (i = 1; i < argc; i++) {
		const char *a = argv[i];
		int has_val = i + 1 < argc;
		if (!strcmp(a, "--help") || !strcmp(a, "-h")) {
			fputs(usage_text, stdout);
			return 0;
		} else if (!strcmp(a, "--tokenizer") && has_val) {
			tok_path = argv[++i];
		} else if (!strcmp(a, "--model") && has_val) {
			model_path = argv[++i];
		} else if (!strcmp(a, "--system") && has_val) {
			system = argv[++i];
		} else if (!strcmp(a, "--chat-style") && has_val) {
			const char *s = argv[++i];
			if (strcmp(s, "llama3.1") && strcmp(s, "llama3")) {
				fprintf(stderr, "residual tokenize: --chat-style is llama3.1 or llama3, "
					"not '%s'\n", s);
				return 2;
			}
			style = !strcmp(s, "llama3") ? TOK_CHAT_LLAMA3 : TOK_CHAT_LLAMA31;
		} else if (!strcmp(a, "--chat")) {
			chat = 1;
		} else if (!strcmp(a, "--bos")) {
			bos = 1;
		} else if (!strcmp(a, "--no-special")) {
			special = 0;
		} else if (!strcmp(a, "--json")) {
			json = 1;
		} else if (!strcmp(a, "--")) {
			i++;
			break;
		} else if (a[0] == '-' && a[1]) {
			fprintf(stderr, "residual tokenize: unknown option or missing value: %s\n%s", a,
				usage_text);
			return 2;
		} else {
			break;
		}
	}
	if (tok_path && model_path) {
		fprintf(stderr, "residual tokenize: give --model or --tokenizer, not both\n");
		return 2;
	}
	size_t len;
	char *text = i == argc || (i + 1 == argc && !strcmp(argv[i], "-")) ? read_stdin(&len)
									   : join_args(argc - i, argv + i, &len);
	rs_err err = {{0}};
	rs_tokenizer *tok = open_tokenizer(tok_path, model_path, &err);
	if (!tok) {
		fprintf(stderr, "residual tokenize: %s\n", err.msg);
		free(text);
		return 1;
	}
	int32_t *ids = NULL, *offs = NULL;
	int n = 0, rc;
	char *rendered = NULL;
	if (chat) {
		tok_chat_msg msgs[2] = {{"system", system}, {"user", text}};
		int has_sys = system != NULL;
		rc = tok_chat_render(tok, style, msgs + !has_sys, 1 + has_sys, 1, NULL, &ids, &offs, &n,
				     &rendered, &err);
	} else {
		int flags = (bos ? TOK_ADD_BOS : 0) | (special ? TOK_PARSE_SPECIAL : 0);
		rc = tok_encode(tok, text, len, flags, &ids, &offs, &n, &err);
	}
	if (rc) {
		fprintf(stderr, "residual tokenize: %s\n", err.msg);
	} else if (json) {
		rc = print_json(tok, ids, offs, n, rendered);
	} else {
		print_table(tok, ids, offs, n, rendered ? strlen(rendered) : len);
	}
	free(ids);
	free(offs);
	free(rendered);
	free(text);
	tok_free(tok);
	return rc ? 1 : 0;
}
