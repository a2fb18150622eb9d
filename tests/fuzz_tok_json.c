/* fuzz_tok_json.c - fuzz target: the tokenizer.json loader, then encoding
 * with whatever loaded. A load must either succeed or fail with one line. */
#include "config.h"
#include "tokenizer.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	rs_err err = {{0}};
	rs_tokenizer *tok = tok_load_json_mem((const char *)data, size, "fuzz.json", &err);
	if (!tok) {
		if (!err.msg[0] || strchr(err.msg, '\n'))
			abort(); /* every failure explains itself in one line */
		return 0;
	}
	static const char text[] = "Hello world, it's <|eot_id|> 12345 \xC3\xA9\xFF\n\n ab";
	int32_t *ids, *offs;
	int n;
	if (tok_encode(tok, text, sizeof text - 1, TOK_PARSE_SPECIAL | TOK_ADD_BOS, &ids, &offs, &n,
		       &err) == 0) {
		char *back;
		size_t len;
		if (tok_decode(tok, ids, n, 0, &back, &len, &err) == 0)
			free(back);
		for (int i = 0; i < n; i++)
			if (offs[i] < 0 || offs[i] > (int32_t)sizeof text || ids[i] < 0 ||
			    ids[i] >= tok_n_vocab(tok))
				abort();
		free(ids);
		free(offs);
	}
	tok_trace *t;
	if (tok_trace_encode(tok, text, sizeof text - 1, TOK_ALWAYS_MERGE, 0, &t, &err) == 0)
		tok_trace_free(t);
	tok_free(tok);
	return 0;
}
