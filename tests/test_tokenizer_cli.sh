#!/bin/sh
# test_tokenizer_cli.sh - `residual tokenize` end to end (TAP).
RESIDUAL=${RESIDUAL:-./residual}
FIXTURES=${FIXTURES:-../shared/fixtures}
TJ=$FIXTURES/llama31-tokenizer.json
tmp=${TMPDIR:-/tmp}/test_tokenizer_cli.$$
mkdir -p "$tmp" || exit 1
trap 'rm -rf "$tmp"' EXIT
n=0
fail=0
ok() { n=$((n + 1)); if [ "$1" = 0 ]; then echo "ok $n - $2"; else echo "not ok $n - $2"; fail=1; fi; }

# No tokenizer anywhere: one line, exit status 1.
RESIDUAL_TOKENIZER= RESIDUAL_MODEL=/nonexistent/model.gguf "$RESIDUAL" tokenize hi >"$tmp/out" 2>"$tmp/err"
st=$?
[ $st = 1 ] && [ "$(wc -l <"$tmp/err")" = 1 ] && grep -q "residual tokenize:" "$tmp/err"
ok $? "a missing tokenizer fails with one line ($(cat "$tmp/err"))"

printf '{"model": {"vocab": {"a": 0}, "merges": ["a z"]}}' >"$tmp/bad.json"
"$RESIDUAL" tokenize --tokenizer "$tmp/bad.json" hi >"$tmp/out" 2>"$tmp/err"
st=$?
[ $st = 1 ] && [ "$(wc -l <"$tmp/err")" = 1 ] && grep -q "bad.json: " "$tmp/err"
ok $? "a bad tokenizer.json fails with one line naming it ($(cat "$tmp/err"))"

"$RESIDUAL" tokenize --bogus >/dev/null 2>&1
ok $([ $? = 2 ] && echo 0 || echo 1) "an unknown option is a usage error"

if [ ! -r "$TJ" ]; then
	echo "1..$n"
	echo "# Llama 3.1 tokenizer fixture not found: skipped the rest"
	exit $fail
fi

out=$("$RESIDUAL" tokenize --tokenizer "$TJ" --json "Hello world")
[ "$out" = '{"ids":[9906,1917],"pieces":["Hello","Ġworld"],"offsets":[0,5]}' ]
ok $? "--json: $out"

out=$(printf 'Hello world' | RESIDUAL_TOKENIZER=$TJ "$RESIDUAL" tokenize --json --bos)
[ "$out" = '{"ids":[128000,9906,1917],"pieces":["<|begin_of_text|>","Hello","Ġworld"],"offsets":[0,0,5]}' ]
ok $? "standard input, RESIDUAL_TOKENIZER, --bos: $out"

out=$("$RESIDUAL" tokenize --tokenizer "$TJ" --json "<|eot_id|>")
[ "$out" = '{"ids":[128009],"pieces":["<|eot_id|>"],"offsets":[0]}' ]
ok $? "special tokens are recognised in the text"

out=$("$RESIDUAL" tokenize --tokenizer "$TJ" --json --no-special "<|eot_id|>" | cut -c1-30)
[ "$out" = '{"ids":[27,91,68,354,851,91,29' ]
ok $? "--no-special: $out"

ids=$("$RESIDUAL" tokenize --tokenizer "$TJ" --chat --json "What is the capital of France?" |
	sed 's/.*"ids":\[\([0-9,]*\)\].*/\1/')
want=128000,128006,9125,128007,271,38766,1303,33025,2696,25,6790,220,2366,18,198,15724,2696,25,220,1627,10263,220,2366,19,271,128009,128006,882,128007,271,3923,374,279,6864,315,9822,30,128009,128006,78191,128007,271
[ "$ids" = "$want" ]
ok $? "--chat renders the Llama 3.1 template"

ids=$("$RESIDUAL" tokenize --tokenizer "$TJ" --chat --chat-style llama3 --json "What is the capital of France?" |
	sed 's/.*"ids":\[\([0-9,]*\)\].*/\1/')
[ "$ids" = 128000,128006,882,128007,271,3923,374,279,6864,315,9822,30,128009,128006,78191,128007,271 ]
ok $? "--chat-style llama3 has no system block"

"$RESIDUAL" tokenize --tokenizer "$TJ" "Hello world" >"$tmp/table"
grep -q '^    1     1917        5  Ġworld  *" world"$' "$tmp/table" && grep -q '^2 tokens, 11 bytes$' "$tmp/table"
ok $? "the table shows position, id, offset, piece and bytes"

echo "1..$n"
exit $fail
