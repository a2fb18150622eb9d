/* commands_tokens.c - `tokenize`: how the session's tokenizer cuts a text,
 * without touching the prompt: ids, stored pieces and byte offsets, and on
 * request every step of byte-pair encoding (pre-tokens, then each merge with
 * its rank and the symbols it leaves) or the Llama 3 chat format. */
#include "config.h"
#include "commands_internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tokenizer.h"

/* A trace records the whole symbol list at every merge: keep it to a line
 * or two of text, which is what a learner reads anyway. */
#define TRACE_MAX_BYTES 256

/* ---------------------------------------------------------------- text */
enum { SHOW_SPACE = 1, ESC_BAR = 2, ESC_QUOTE = 4 };

/* Appends bytes to buf (NUL-terminated, at most n-1 bytes) so that they print
 * on one line, through rs_visible: valid UTF-8 as is, control characters and
 * stray bytes as escapes, the backslash escaped; with SHOW_SPACE a space as a
 * middle dot, with ESC_BAR '|' escaped (symbol lists are joined with '|'),
 * with ESC_QUOTE a single quote. Returns the new length. */
static size_t put_bytes(char *buf, size_t o, size_t n, const char *b, size_t len, int how)
{
	if (o + 1 >= n)
		return o;
	int f = RS_VIS_UTF8 | RS_VIS_BACKSLASH | (how & SHOW_SPACE ? RS_VIS_SPACE : 0) |
		(how & ESC_BAR ? RS_VIS_BAR : 0) | (how & ESC_QUOTE ? RS_VIS_QUOTE : 0);
	rs_visible(b, len, f, buf + o, n - o);
	return o + strlen(buf + o);
}

/* Display columns of UTF-8 text: "Ġ" is two bytes and one column. */
static int cols_of(const char *s)
{
	int c = 0;
	for (; *s; s++)
		c += ((unsigned char)*s & 0xc0) != 0x80;
	return c;
}

/* A token's stored piece ("Ġcat", "<|eot_id|>"), printable. */
static char *piece_text(const rs_tokenizer *tok, int32_t id, char *buf, size_t n)
{
	const char *p = tok_piece(tok, id);
	put_bytes(buf, 0, n, p, strlen(p), 0);
	return buf;
}

/* A run of symbols as "t|h|e" (their bytes of text, spaces as dots). */
static char *syms_text(const tok_trace *tr, int sym0, int n_syms, const char *text, char *buf, size_t n)
{
	size_t o = 0;
	buf[0] = 0;
	for (int i = 0; i < n_syms && o + 8 < n; i++) {
		const tok_sym *y = &tr->syms[sym0 + i];
		if (i)
			buf[o++] = '|';
		o = put_bytes(buf, o, n, text + y->off, y->len, SHOW_SPACE | ESC_BAR);
	}
	return buf;
}

/* A pre-token in single quotes, spaces as dots: '·cat'. */
static char *quoted(const char *text, uint32_t off, uint32_t len, char *buf, size_t n)
{
	buf[0] = '\'';
	size_t o = put_bytes(buf, 1, n - 1, text + off, len, SHOW_SPACE | ESC_QUOTE);
	snprintf(buf + o, n - o, "'");
	return buf;
}

/* One symbol of a trace: the bytes of text it covers (a SentencePiece
 * character with no token has no id, but it has its text). */
static char *sym_text(const tok_trace *tr, int i, const char *text, char *buf, size_t n)
{
	put_bytes(buf, 0, n, text + tr->syms[i].off, tr->syms[i].len, SHOW_SPACE | ESC_BAR);
	return buf;
}

/* ---------------------------------------------------------------- output */
static void print_table(rs_session *s, const int32_t *ids, const int32_t *offs, int n, size_t text_len)
{
	const rs_tokenizer *tok = s->tok;
	char pb[256], tb[256];
	int pw = 5; /* the piece column: as wide as its widest entry, within reason */
	for (int i = 0; i < n; i++) {
		int w = cols_of(piece_text(tok, ids[i], pb, sizeof pb));
		pw = w > pw ? (w < 24 ? w : 24) : pw;
	}
	session_printf(s, "pos      id  offset  %-*s  text\n", pw, "piece");
	for (int i = 0; i < n; i++) {
		int cols = cols_of(piece_text(tok, ids[i], pb, sizeof pb));
		session_printf(s, "%3d  %6d  %6d  %s%*s  %s\n", i, (int)ids[i], (int)offs[i], pb,
			       cols < pw ? pw - cols : 0, "", cmd_fmt_token(s, ids[i], tb, sizeof tb));
	}
	session_printf(s, "%d token%s, %zu bytes\n", n, n == 1 ? "" : "s", text_len);
}

static const char *const kind_name[] = {
	[TOK_PIECE_SPECIAL] = "a special token", [TOK_PIECE_WHOLE] = "already a token, taken whole",
	[TOK_PIECE_MERGED] = "", [TOK_PIECE_BOS] = "BOS, added",
};

/* Pre-tokens on one line, then each piece with its merges, one a line:
 *   'the': t|h|e
 *     h + e -> he (rank 1): t|he
 *   '·cat': already a token, taken whole (261)                            */
static void print_trace(rs_session *s, const tok_trace *tr, const char *text)
{
	const rs_tokenizer *tok = s->tok;
	/* a symbol list of TRACE_MAX_BYTES bytes, each escaped, fits */
	char a[8 * TRACE_MAX_BYTES], m[8 * TRACE_MAX_BYTES], l[8 * TRACE_MAX_BYTES], r[8 * TRACE_MAX_BYTES];
	int spm = tok_kind(tok) == TOK_SPM;
	session_printf(s, "%d pre-token%s:", tr->n_pieces, tr->n_pieces == 1 ? "" : "s");
	for (int p = 0; p < tr->n_pieces; p++)
		if (tr->pieces[p].kind != TOK_PIECE_BOS)
			session_printf(s, " %s", quoted(text, tr->pieces[p].off, tr->pieces[p].len, a, sizeof a));
	session_printf(s, "\n");
	for (int p = 0; p < tr->n_pieces; p++) {
		const tok_trace_piece *pc = &tr->pieces[p];
		quoted(text, pc->off, pc->len, a, sizeof a);
		if (pc->kind != TOK_PIECE_MERGED) {
			int32_t id = pc->n_ids ? tr->ids[pc->id0] : -1;
			session_printf(s, "%s: %s (%d)\n", pc->kind == TOK_PIECE_BOS ? piece_text(tok, id, l, sizeof l) : a,
				       kind_name[pc->kind], (int)id);
			continue;
		}
		session_printf(s, "%s: %s\n", a, syms_text(tr, pc->sym0, pc->n_sym0, text, m, sizeof m));
		for (int k = 0; k < pc->n_steps; k++) {
			const tok_trace_step *st = &tr->steps[pc->step0 + k];
			/* the pair is at st->at in the list before this merge */
			int before = k ? tr->steps[pc->step0 + k - 1].sym0 : pc->sym0;
			char how[48], res[8 * TRACE_MAX_BYTES];
			if (spm)
				snprintf(how, sizeof how, "score %.2f", st->score);
			else
				snprintf(how, sizeof how, "rank %d", (int)st->rank);
			session_printf(s, "  %s + %s -> %s (%s): %s\n", sym_text(tr, before + st->at, text, l, sizeof l),
				       sym_text(tr, before + st->at + 1, text, r, sizeof r),
				       sym_text(tr, st->sym0 + st->at, text, res, sizeof res), how,
				       syms_text(tr, st->sym0, st->n_syms, text, a, sizeof a));
		}
		if (!pc->n_steps)
			session_printf(s, "  (no known pair: the symbols are the tokens)\n");
	}
}

/* ---------------------------------------------------------------- command */
static cmd_status c_tokenize(rs_session *s, int argc, char **argv, rs_err *err)
{
	int trace = 0, all = 0, chat = 0, i = 1;
	const char *style_name = NULL;
	/* only leading options: the text itself may hold anything, "--" too */
	for (; i < argc && !strncmp(argv[i], "--", 2); i++) {
		if (!strcmp(argv[i], "--")) {
			i++;
			break;
		} else if (!strcmp(argv[i], "--trace")) {
			trace = 1;
		} else if (!strcmp(argv[i], "--all-merges")) {
			trace = all = 1;
		} else if (!strcmp(argv[i], "--chat")) {
			chat = 1;
		} else if (!strcmp(argv[i], "--chat-style") || !strncmp(argv[i], "--chat-style=", 13)) {
			style_name = argv[i][12] == '=' ? argv[i] + 13 : i + 1 < argc ? argv[++i] : "";
			if (strcmp(style_name, "llama3.1") && strcmp(style_name, "llama3"))
				return cmd_usage(err, argv[0], "--chat-style is llama3.1 or llama3, not '%.40s'",
						 style_name);
		} else {
			return cmd_usage(err, argv[0], "unknown option '%.40s'", argv[i]);
		}
	}
	if (style_name && !chat)
		return cmd_usage(err, argv[0], "--chat-style goes with --chat");
	if (chat && trace)
		return cmd_usage(err, argv[0], "--trace follows plain text, not the chat format");
	if (i >= argc)
		return cmd_usage(err, argv[0], "give the text to tokenize");
	if (!s->tok)
		return cmd_fail(err, argv[0], "this model has no tokenizer (start with --tokenizer PATH)");
	const char *text = cmd_text(argc, argv, i);
	size_t len = strlen(text);
	if (trace && len > TRACE_MAX_BYTES)
		return cmd_usage(err, argv[0], "--trace takes at most %d bytes of text (this is %zu): every merge is a line",
				 TRACE_MAX_BYTES, len);

	int32_t *ids = NULL, *offs = NULL;
	int n = 0;
	if (chat) {
		int style = style_name && !strcmp(style_name, "llama3") ? TOK_CHAT_LLAMA3 : TOK_CHAT_LLAMA31;
		tok_chat_msg m = {"user", text};
		char *rendered = NULL;
		if (tok_chat_render(s->tok, style, &m, 1, 1, NULL, &ids, &offs, &n, &rendered, err))
			return cmd_fail(err, argv[0], "%s", err->msg);
		session_printf(s, "the text as a user message in the %s chat format, then the assistant's "
				  "header; offsets are in the rendered text\n",
			       style == TOK_CHAT_LLAMA3 ? "Llama 3" : "Llama 3.1 (Hugging Face)");
		print_table(s, ids, offs, n, strlen(rendered));
		free(rendered);
	} else if (trace) {
		tok_trace *tr = NULL;
		if (tok_trace_encode(s->tok, text, len, TOK_PARSE_SPECIAL | (all ? TOK_ALWAYS_MERGE : 0), 0, &tr, err))
			return cmd_fail(err, argv[0], "%s", err->msg);
		print_trace(s, tr, text);
		print_table(s, tr->ids, tr->offsets, tr->n_ids, len);
		tok_trace_free(tr);
	} else {
		/* as the prompt reads text (special tokens written out become tokens), without BOS */
		if (tok_encode(s->tok, text, len, TOK_PARSE_SPECIAL, &ids, &offs, &n, err))
			return cmd_fail(err, argv[0], "%s", err->msg);
		print_table(s, ids, offs, n, len);
	}
	free(ids);
	free(offs);
	return CMD_OK;
}

/* ---------------------------------------------------------------- table */
#define A(...) {__VA_ARGS__}

const cmd_def cmds_tokens[] = {
	{"tokenize", "[--trace [--all-merges]] [--chat [--chat-style llama3.1|llama3]] TEXT",
	 "how the tokenizer cuts TEXT: ids, pieces, byte offsets",
	 "Tokenizes TEXT with the session's tokenizer, as the prompt would but without BOS, and leaves the prompt "
	 "alone: for each token its position, id, byte offset in TEXT, stored piece (Ġ marks a space in "
	 "byte-level BPE) and text. --trace first shows how byte-pair encoding got there: the pre-tokens the "
	 "regular expression cut, then for each one its bytes and every merge, the pair, its rank (lower merges "
	 "first) and the symbols left (· is a space). Llama 3 takes a pre-token that is already a token whole; "
	 "--all-merges merges it anyway, to show how it is built (the ids can then differ). --chat renders TEXT "
	 "as a user message in the chat format, with the assistant's header after it (--chat-style llama3.1, the "
	 "default, adds the Hugging Face system block; llama3 does not); it needs the Llama 3 special tokens. "
	 "--trace takes at most 256 bytes.",
	 A(ARG_TEXT), NULL, c_tokenize, "--trace --all-merges --chat --chat-style", NULL, CMD_REPLAY | CMD_VIEW},
	{0},
};
