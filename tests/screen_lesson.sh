#!/bin/sh
# screen_lesson.sh - lesson 1 in the real screen (tmux): the welcome list on
# a first start, starting the lesson, answering, stepping to its end, and
# resuming at the same step after a restart; progress in the XDG state dir.
# Then a long step at 80x24: the lesson pane takes the free rows and scrolls
# to the step's last line.
. "${TOP_SRCDIR:-.}/tests/screen_lib.sh"
need_tmux
# the built-in model, else a trial checkpoint of it (local builds while it trains)
MODEL=${RESIDUAL_MODEL:-}
[ -r "$MODEL" ] || MODEL=$TOP_SRCDIR/assets/residual-tiny.gguf
[ -r "$MODEL" ] || MODEL=$(ls -t "$TOP_SRCDIR"/work/*.gguf 2>/dev/null | grep -v tokenizer | head -1)
if [ ! -r "$MODEL" ]; then
	echo "1..0 # SKIP the built-in model assets/residual-tiny.gguf is not there yet"
	exit 0
fi
STATE=$WORK/state
LESSONS=$TOP_SRCDIR/lessons
# no --model: a plain start, as a learner types it, finds lessons in progress
RUN="env TERM=screen-256color XDG_STATE_HOME=$STATE RESIDUAL_MODEL=$MODEL RESIDUAL_LESSONS=$LESSONS $RESIDUAL --no-history"
# the answer to step 1's question, computed the way the lesson computes it
ANSWER=$(printf 'lesson 1\nlesson reveal\n' | XDG_STATE_HOME=$WORK/other RESIDUAL_LESSONS=$LESSONS \
	"$RESIDUAL" --batch --model "$MODEL" 2>/dev/null | sed -n 's/^Answer: //p')

s=l1
start $s 160 48 "$RUN"
wait_for $s 'Start with :lesson 1'
ok $? "a first start shows the list of lessons"
capture $s | grep -q 'What a language model computes'
ok $? "the list names lesson 1"

keys $s : l e s s o n Space 1 Enter
wait_for $s 'Step 1 of 5: Text becomes tokens'
ok $? ":lesson 1 starts the lesson in its pane"
capture $s | grep -q "^> tokens" || capture $s | grep -q "> tokens"
ok $? "the step's commands ran: their output is in the output pane"

keys $s : a n s w e r Space $ANSWER Enter
wait_for $s "answered: $ANSWER"
ok $? "the question takes the computed answer ($ANSWER)"

keys $s : n e x t Enter
wait_for $s 'Step 2 of 5'
ok $? ":next shows step 2"
keys $s : n e x t Enter
wait_for $s 'Step 3 of 5'
keys $s : p r e v Enter
wait_for $s 'Step 2 of 5'
ok $? ":prev goes back a step"
keys $s : n e x t Enter
wait_for $s 'Step 3 of 5'
ok $? "step 3 is shown before quitting"
keys $s q
wait_for $s '^EXIT=0'
ok $? "q quits"
grep -q '"current":	"01-what-a-model-computes"' "$STATE/residual/progress.json" &&
	grep -q '"step":	2' "$STATE/residual/progress.json"
ok $? "progress.json records lesson 1 at step 3"
$TM kill-session -t $s 2>/dev/null

s=l2
start $s 160 48 "$RUN"
wait_for $s 'Step 3 of 5'
ok $? "after a restart the lesson resumes at step 3"
capture $s | grep -q 'Resumed lesson 1 at step 3'
ok $? "the lesson pane says it resumed"
keys $s : n e x t Enter
wait_for $s 'Step 4 of 5'
keys $s : n e x t Enter
wait_for $s 'Step 5 of 5'
keys $s : n e x t Enter
wait_for $s 'reached the end of this lesson'
ok $? "lesson 1 walked to its end"
capture $s | grep -q 'Next: lesson 2'
ok $? "the end page points to lesson 2"
keys $s q
wait_for $s '^EXIT=0'
grep -q '"finished":	true' "$STATE/residual/progress.json" && grep -q '"current":	null' "$STATE/residual/progress.json"
ok $? "progress.json marks lesson 1 finished"
$TM kill-session -t $s 2>/dev/null

s=l3
start $s 160 48 "$RUN"
wait_for $s 'When .Mary .and .John'
! capture $s | grep -q 'Start with :lesson 1'
ok $? "once lesson 1 is done, a plain start opens the free screen"
keys $s q
wait_for $s '^EXIT=0' >/dev/null
$TM kill-session -t $s 2>/dev/null

s=l4
start $s 160 48 "$RUN --lesson 1"
wait_for $s 'Step 1 of 5'
ok $? "--lesson 1 starts a finished lesson from its beginning"
keys $s q
wait_for $s '^EXIT=0' >/dev/null
$TM kill-session -t $s 2>/dev/null

# lesson 13 step 1 (a table of configurations) at 80x24: longer than the
# screen, so it scrolls; the step shows only the output beside the lesson
FOOT=':lesson text \(all of it\)'
s=l5
start $s 80 24 "$RUN --lesson 13"
wait_for $s 'Step 1 of [0-9]+: Side by side'
ok $? "80x24: lesson 13 starts"
capture $s | grep -q -E '^lesson +lines 1-1[5-9] of [0-9]+'
ok $? "80x24: the lesson pane takes the free rows and says there is more"
! capture $s | grep -q -E -- "$FOOT"
ok $? "80x24: the step's last line is below the pane at first"
keys $s NPage
wait_for $s "$FOOT"
ok $? "PgDn scrolls the lesson to its last line"
capture $s | grep -q -E '^lesson +lines [0-9]+-([0-9]+) of \1 '
ok $? "the title counts the lines down to the last one"
keys $s PPage
wait_for $s '^lesson +lines 1-'
ok $? "PgUp scrolls back to the top"
keys $s d d
wait_for $s "$FOOT"
ok $? "d scrolls down as well"
keys $s : a n s w e r Space 1 2 6 Enter
wait_for $s 'answered: 126' && capture $s | grep -q -E -- "$FOOT"
ok $? "answering keeps the place in the text"
keys $s : n e x t Enter
wait_for $s '^lesson +lines 1-|^Step 2 of'
ok $? "the next step starts at its top"
keys $s '?'
wait_for $s 'scroll the lesson'
ok $? "the help lists the lesson's scroll keys"
capture $s | grep -q 'stop a run, a sweep or generate part way (E goes on)'
ok $? "80x24: the help's line on Esc is whole in its box"
keys $s Escape
keys $s q
wait_for $s '^EXIT=0' >/dev/null
finish
