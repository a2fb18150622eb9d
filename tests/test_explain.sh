#!/bin/sh
# test_explain.sh - `explain` (issue 19), TAP: its JSON against the individual
# commands (lens, dla, ablate, attn) in one session, on the built-in model and
# the Hugging Face fixtures (tests/explain_check.py); the command in batch
# mode; lesson 14 headless.
set -u
RESIDUAL=${RESIDUAL:-./residual}
FIXTURES=${FIXTURES:-../shared/fixtures}
SRC=${TOP_SRCDIR:-.}
if [ ! -x "$RESIDUAL" ]; then
	echo "1..0 # SKIP $RESIDUAL is not built"
	exit 0
fi
if ! command -v python3 >/dev/null 2>&1; then
	echo "1..0 # SKIP no python3"
	exit 0
fi
TMP=$(mktemp -d "${TMPDIR:-/tmp}/rs-explain-XXXXXX") || exit 1
trap 'rm -rf "$TMP"' EXIT INT TERM

set -- builtin-capital -n 4 "Everyone in France knows that their capital is" \
	:: builtin-ioi -n 3 --vs ' John' "When Mary and John went to the store, John gave a drink to" \
	:: builtin-copy -n 4 "The cat sat on the mat. The cat sat on" \
	:: builtin-chat --chat -n 2 "What is the capital of France?"
H=$FIXTURES/hf-golden
if [ -d "$H" ]; then
	for c in v1_llama3_gqa v2_llama32_tied v3_llama2_mha; do
		set -- "$@" :: "$c" --model "$H/$c" -n 3 --ids 1,5,9,13,5,9
	done
fi
python3 "$SRC/tests/explain_check.py" "$RESIDUAL" "$@" >"$TMP/py.tap" 2>"$TMP/py.err"
py_rc=$?
n=0
failed=0
while IFS= read -r line; do
	case $line in
	"ok "*|"not ok "*)
		n=$((n + 1))
		case $line in "not ok "*) failed=$((failed + 1)) ;; esac
		echo "$line" ;;
	esac
done <"$TMP/py.tap"
result() { # result STATUS DESCRIPTION
	n=$((n + 1))
	if [ "$1" -eq 0 ]; then echo "ok $n - $2"; else echo "not ok $n - $2"; failed=$((failed + 1)); fi
}
[ -s "$TMP/py.err" ] && sed 's/^/# /' "$TMP/py.err"
result $(( py_rc != 0 && failed == 0 )) "explain_check.py ended cleanly"

# --chat: the chat template's special tokens are what the model saw
"$RESIDUAL" explain --print --chat -n 1 "What is the capital of France?" >"$TMP/c.out" 2>&1
grep -q "<|start_header_id|>" "$TMP/c.out" && grep -q "The chat template wrapped your question" "$TMP/c.out"
result $? "--chat: the walk lists the template's special tokens and says so"

# the command in batch mode: every step's text, then the summary
printf 'prompt Everyone in France knows that their capital is\nexplain 2\nlesson text\n' >"$TMP/b.cmd"
"$RESIDUAL" --batch "$TMP/b.cmd" >"$TMP/b.out" 2>"$TMP/b.err"
rc=$?
result $rc "explain in batch mode runs"
grep -q '^== 1/.* What the model saw and answered ==$' "$TMP/b.out" && grep -q '^== .* Summary ==$' "$TMP/b.out" &&
	grep -q "is top-1 after layer 3's attention" "$TMP/b.out"
result $? "batch mode prints the walk and its summary"
grep -q '{' "$TMP/b.out"
result $(( $? == 0 )) "no placeholder is left unexpanded"
# the lesson stays open on its first step
grep -q 'The model saw 10 tokens' "$TMP/b.out"
result $? "the generated lesson is open (lesson text shows its first step)"

# without lessons installed explain still opens its walk
printf 'prompt Everyone in France knows that their capital is\nexplain 1\nlesson step 7\nnext\nlesson text\n' |
	RESIDUAL_LESSONS=$TMP/none "$RESIDUAL" --batch - >"$TMP/n.out" 2>"$TMP/n.err"
rc=$?
[ $rc -eq 0 ] && grep -q 'end of the walk' "$TMP/n.out"
result $? "without lessons installed explain walks to its end page"

# mistakes are refused with a message
printf 'explain\n' | "$RESIDUAL" --batch - >/dev/null 2>"$TMP/e1"
grep -q 'no prompt yet' "$TMP/e1"
result $? "explain without a prompt says so"
printf 'prompt Everyone in France knows that their capital is\nexplain 2 --vs " Paris"\n' | "$RESIDUAL" --batch - >/dev/null 2>"$TMP/e2"
grep -q 'the answer itself' "$TMP/e2"
result $? "--vs naming the answer is refused"
"$RESIDUAL" explain -n 0 x >/dev/null 2>&1
result $(( $? != 2 )) "residual explain -n 0 is a usage error"

# lesson 14 runs headless (explain inside a lesson prints, and its numbers resolve)
"$RESIDUAL" lessons --check --only 14 >"$TMP/l.out" 2>&1
rc=$?
[ $rc -ne 0 ] && sed 's/^/# /' "$TMP/l.out"
result $rc "lesson 14 passes lessons --check"

echo "1..$n"
[ $failed -eq 0 ]
