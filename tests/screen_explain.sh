#!/bin/sh
# screen_explain.sh - explain (issue 19) in the real screen (tmux) at 80x24:
# :explain opens the walk as a lesson, :next goes through its steps to the
# summary; `residual explain PROMPT` on a terminal opens the screen on it.
. "${TOP_SRCDIR:-.}/tests/screen_lib.sh"
need_tmux
MODEL=${RESIDUAL_MODEL:-}
[ -r "$MODEL" ] || MODEL=$TOP_SRCDIR/assets/residual-tiny.gguf
if [ ! -r "$MODEL" ]; then
	echo "1..0 # SKIP the built-in model assets/residual-tiny.gguf is not there"
	exit 0
fi
STATE=$WORK/state
LESSONS=$TOP_SRCDIR/lessons
ENV="env TERM=screen-256color XDG_STATE_HOME=$STATE RESIDUAL_LESSONS=$LESSONS"
RUN="$ENV $RESIDUAL --no-history --model $MODEL"

s=x1
start $s 80 24 "$RUN --prompt 'Everyone in France knows that their capital is'"
wait_for $s 'France' >/dev/null
keys $s : e x p l a i n Space 2 Enter
wait_for $s 'Step 1 of [0-9]+: What the model saw'
ok $? "80x24: :explain 2 opens the walk at its first step"
wait_for $s 'The model saw 10 tokens'
ok $? "the first step lists the tokens the model saw"
keys $s : n e x t Enter
wait_for $s 'Step 2 of [0-9]+: Token 1: when does'
ok $? ":next shows the logit lens step"
wait_for $s '^logit lens' && wait_for $s '^output +lines 1-[0-9]+ of [0-9][0-9]'
ok $? "the step shows the lens pane, and its lens command's output"
keys $s : n e x t Enter
wait_for $s 'Step 3 of [0-9]+: Token 1: who writes'
ok $? ":next shows the attribution step"
keys $s : n e x t Enter
wait_for $s 'Step 4 of [0-9]+: Token 1: head L'
ok $? ":next shows a top head's step"
N=$(capture $s | sed -n 's/^Step 4 of \([0-9]*\):.*/\1/p' | head -1)
k=4
while [ "$k" -lt "${N:-0}" ]; do
	k=$((k + 1))
	keys $s : n e x t Enter
	wait_for $s "Step $k of $N" >/dev/null
done
wait_for $s 'Step [0-9]+ of [0-9]+: Summary'
ok $? ":next reaches the summary"
capture $s | grep -q -E 'Step [0-9]+ of [0-9]+: Summary' && ! capture $s | grep -q '{'
ok $? "no placeholder is left in the summary's text"
keys $s : p r e v Enter
wait_for $s 'Step [0-9]+ of [0-9]+: Token 2 of the answer'
ok $? ":prev goes back to the second token's step"
keys $s q
wait_for $s '^EXIT=0'
ok $? "q quits"
[ ! -e "$STATE/residual/progress.json" ] || ! grep -q explain "$STATE/residual/progress.json"
ok $? "the generated lesson leaves no progress behind"
$TM kill-session -t $s 2>/dev/null

s=x2
start $s 80 24 "$ENV $RESIDUAL explain --model $MODEL -n 2 'Everyone in France knows that their capital is'"
wait_for $s 'Step 1 of [0-9]+: What the model saw'
ok $? "residual explain PROMPT on a terminal opens the screen on the walk"
keys $s q
wait_for $s '^EXIT=0'
ok $? "q quits"
finish
