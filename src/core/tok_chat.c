/* tok_chat.c - Llama 3 chat rendering straight to token ids.
 *
 * A conversation is laid out as segments: special tokens (emitted by id) and
 * spans of text (encoded without special-token parsing). The rendered text is
 * built alongside, so token offsets refer to it, and it equals what the
 * Jinja templates print:
 *   <|begin_of_text|> then per message
 *   <|start_header_id|>ROLE<|end_header_id|>\n\nCONTENT<|eot_id|>
 * The Hugging Face 3.1 template always opens with a system message whose text
 * starts "Cutting Knowledge Date: December 2023\nToday Date: 26 Jul 2024\n\n".
 */
#include "config.h"
#include "tok_internal.h"
#include "unicode_tables.h"

#include <stdlib.h>
#include <string.h>

typedef struct seg {
	int32_t id;        /* special token, or -1 for text */
	uint32_t off, len; /* in the rendered text */
} seg;

typedef struct render {
	char *text;
	size_t len, cap;
	seg *segs;
	int n, cap_segs;
} render;

static void put_text(render *r, const char *s, size_t n, int new_seg)
{
	if (r->len + n + 1 > r->cap) {
		while (r->len + n + 1 > r->cap)
			r->cap = r->cap ? r->cap * 2 : 256;
		r->text = rs_xrealloc(r->text, r->cap);
	}
	if (new_seg || r->n == 0 || r->segs[r->n - 1].id >= 0) {
		if (r->n == r->cap_segs) {
			r->cap_segs = r->cap_segs ? r->cap_segs * 2 : 32;
			r->segs = rs_xrealloc(r->segs, (size_t)r->cap_segs * sizeof *r->segs);
		}
		r->segs[r->n++] = (seg){-1, (uint32_t)r->len, 0};
	}
	memcpy(r->text + r->len, s, n);
	r->len += n;
	r->text[r->len] = 0;
	r->segs[r->n - 1].len += (uint32_t)n;
}

static void put_cstr(render *r, const char *s, int new_seg)
{
	put_text(r, s, strlen(s), new_seg);
}

static void put_special(render *r, const rs_tokenizer *tok, int32_t id)
{
	put_text(r, tok->arena + tok->bytes_off[id], tok->bytes_len[id], 1);
	r->segs[r->n - 1].id = id;
}

static int is_trim_space(uint32_t cp)
{
	/* Jinja's trim is Python's str.strip(): White_Space plus U+001C..U+001F. */
	return (cp >= 0x1C && cp <= 0x1F) || (cp != UINT32_MAX && uc_class_of(cp) == UC_WS);
}

/* Appends s without leading and trailing white space. */
static void put_trimmed(render *r, const char *s)
{
	size_t n = strlen(s), i = 0, start = n, end = 0;
	while (i < n) {
		uint32_t cp;
		int cl = tok_utf8_next((const unsigned char *)s + i, n - i, &cp);
		if (!is_trim_space(cp)) {
			if (start == n)
				start = i;
			end = i + (size_t)cl;
		}
		i += (size_t)cl;
	}
	if (start < end)
		put_text(r, s + start, end - start, 0);
}

int tok_chat_render(const rs_tokenizer *tok, int style, const tok_chat_msg *msgs, int n_msgs,
		    int add_prompt, const char *date, int32_t **ids, int32_t **offsets, int *n,
		    char **text, rs_err *err)
{
	static const char *const names[] = {"<|begin_of_text|>", "<|start_header_id|>",
					    "<|end_header_id|>", "<|eot_id|>"};
	int32_t sp[4];
	for (int i = 0; i < 4; i++) {
		sp[i] = tok_find(tok, names[i]);
		if (sp[i] < 0 || tok->types[sp[i]] != TOK_T_CONTROL)
			return rs_fail(err, "chat: the vocabulary has no %s control token (not a "
				       "Llama 3 tokenizer)", names[i]);
	}
	if (style != TOK_CHAT_LLAMA31 && style != TOK_CHAT_LLAMA3)
		return rs_fail(err, "chat: unknown style %d", style);
	for (int i = 0; i < n_msgs; i++)
		if (!msgs[i].role || !msgs[i].role[0])
			return rs_fail(err, "chat: message %d has no role", i);
	int32_t bos = tok->bos >= 0 ? tok->bos : sp[0], hdr = sp[1], hdr_end = sp[2], eot = sp[3];
	render r = {0};
	put_special(&r, tok, bos);
	int first = 0;
	if (style == TOK_CHAT_LLAMA31) {
		const char *sys = n_msgs > 0 && !strcmp(msgs[0].role, "system") ? msgs[0].content : "";
		first = n_msgs > 0 && !strcmp(msgs[0].role, "system");
		put_special(&r, tok, hdr);
		put_cstr(&r, "system", 1);
		put_special(&r, tok, hdr_end);
		put_cstr(&r, "\n\nCutting Knowledge Date: December 2023\nToday Date: ", 1);
		date = date ? date : "26 Jul 2024";
		put_cstr(&r, date, 0);
		put_cstr(&r, "\n\n", 0);
		put_trimmed(&r, sys ? sys : "");
		put_special(&r, tok, eot);
	}
	for (int i = first; i < n_msgs; i++) {
		put_special(&r, tok, hdr);
		put_cstr(&r, msgs[i].role, 1);
		put_special(&r, tok, hdr_end);
		put_cstr(&r, "\n\n", 1);
		put_trimmed(&r, msgs[i].content ? msgs[i].content : "");
		put_special(&r, tok, eot);
	}
	if (add_prompt) {
		put_special(&r, tok, hdr);
		put_cstr(&r, "assistant", 1);
		put_special(&r, tok, hdr_end);
		put_cstr(&r, "\n\n", 1);
	}
	tok_out out;
	tok_out_init(&out);
	tok_scratch sc = {0};
	for (int i = 0; i < r.n; i++) {
		if (r.segs[i].id >= 0)
			tok_out_push(&out, r.segs[i].id, r.segs[i].off);
		else
			tok_encode_span(tok, &sc, r.text, r.segs[i].off, r.segs[i].len, 0, 1, &out, NULL);
	}
	tok_scratch_free(&sc);
	free(r.segs);
	if (ids)
		*ids = out.ids;
	else
		free(out.ids);
	if (offsets)
		*offsets = out.offs;
	else
		free(out.offs);
	*n = out.n;
	if (text)
		*text = r.text;
	else
		free(r.text);
	return 0;
}
