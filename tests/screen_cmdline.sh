#!/bin/sh
# screen_cmdline.sh - the readline command line inside the screen: Tab
# completion (listed inside the screen), history recall with Up, Ctrl-R,
# the per-user history file, and --no-history.
. "${TOP_SRCDIR:-.}/tests/screen_lib.sh"
need_tmux
MODEL=$FIXTURES/hf-golden/v1_llama3_gqa
need_model "$MODEL"
IDS=451,340,497,361,133,474,136,339,360,191,48,365,85,316,433,115,458,155,108,269,393,61,143,349
STATE=$WORK/state
RUN="env TERM=screen-256color XDG_STATE_HOME=$STATE $RESIDUAL --model $MODEL --ids $IDS"

s=cmd
start $s 80 24 "$RUN"
wait_for $s 'before hook_embed'
ok $? "the screen opens"

keys $s : l a y Tab
wait_for $s '^:layer ?$'
ok $? "Tab completes 'lay' to the command 'layer'"
keys $s 2 Enter
wait_for $s 'layer 2 head 0'
ok $? "the completed command runs: layer 2 is selected"

keys $s : s h o w Space b l o c k s . 0 . a t t n . h o o k _ r Tab
wait_for $s 'completions' && capture $s | grep -q 'blocks\.0\.attn\.hook_rot_k' &&
	capture $s | grep -q 'blocks\.0\.attn\.hook_rot_q'
ok $? "an ambiguous hook name lists its completions inside the screen"
wait_for $s '^:show blocks\.0\.attn\.hook_rot_$'
ok $? "Tab inserted the common prefix"
keys $s q Tab
wait_for $s '^:show blocks\.0\.attn\.hook_rot_q ?$'
ok $? "typing on narrows to one hook"
keys $s C-c
wait_for $s 'step .*back'
ok $? "Ctrl-C cancels the line"

keys $s : Up
wait_for $s '^:layer 2$'
ok $? "Up recalls the last command"
keys $s BSpace 1 Enter
wait_for $s 'layer 1 head 0'
ok $? "the recalled line edits and runs: layer 1"

keys $s : h e a d Space 3 Enter
wait_for $s 'layer 1 head 3'
keys $s : l a y e r Space 0 Enter
wait_for $s 'layer 0 head 3'
keys $s : C-r l a y
wait_for $s "reverse-i-search.*lay.*layer 0"
ok $? "Ctrl-R finds the last 'layer' command"
keys $s C-r
wait_for $s "reverse-i-search.*lay.*layer 1"
ok $? "Ctrl-R again finds the one before it"
keys $s Enter
wait_for $s 'layer 1 head 3'
ok $? "the found line runs"

keys $s : n o - s u c h - c o m m a n d Enter
wait_for $s 'no-such-command'
capture $s | grep -q -i 'unknown'
ok $? "an unknown command shows one line in the output pane"

keys $s : h e l p Enter
wait_for $s 'output: lines 1-[0-9]+ of [0-9]+'
ok $? "help's long text opens in a box to be read"
keys $s PageDown
wait_for $s 'output: lines [1-9][0-9]+-'
ok $? "PgDn scrolls it"
keys $s o
wait_for $s 'attention L1 H3' && ! capture $s | grep -q 'output: lines'
ok $? "o closes it and the panes return"

# UTF-8 input: the cursor goes by display columns (CJK is two wide)
cursor_x() { $TM display -p -t "$1" '#{cursor_x}'; }
cursor_at() { [ "$(cursor_x "$1")" -eq "$2" ]; }
# wait_cursor NAME X: polls until the cursor is in column X (3 s at most)
wait_cursor() {
	poll_until 3 cursor_at "$1" "$2" && return 0
	echo "# the cursor is in column $(cursor_x "$1"), not $2"
	return 1
}
keys $s : e c h o Space '日本語'
wait_for $s '^:echo 日本語$' && [ "$(cursor_x $s)" -eq 12 ]
ok $? "after ':echo 日本語' the cursor is at column 12"
keys $s Left
wait_cursor $s 10
ok $? "Left moves back over one wide character (column 10)"
keys $s BSpace
wait_for $s '^:echo 日語$' && [ "$(cursor_x $s)" -eq 8 ]
ok $? "Backspace deletes the whole character before the cursor"
keys $s Enter
wait_for $s '^日語$'
ok $? "the edited line runs"
# a line longer than the screen scrolls sideways and keeps the cursor in view
keys $s : e c h o Space $(repeat 90 x)
wait_for $s 'xxxxxxxxxx$' && [ "$(cursor_x $s)" -le 79 ] && ! capture $s | grep -q '^:echo'
ok $? "a long line scrolls sideways with the cursor in view"
keys $s C-a
wait_for $s '^:echo x'
ok $? "Ctrl-A goes back to its start"
keys $s C-c

keys $s : p o s Space 1 2 Enter
wait_for $s 'pos 12'
ok $? "pos 12 selects the position"
keys $s q
wait_for $s '^EXIT=0'
ok $? "quits cleanly"
grep -q '^layer 2$' "$STATE/residual/history" && grep -q '^pos 12$' "$STATE/residual/history"
ok $? "commands were saved in \$XDG_STATE_HOME/residual/history"

# a second session recalls the first one's commands
s=again
start $s 80 24 "$RUN"
wait_for $s 'before hook_embed' >/dev/null
keys $s : Up
wait_for $s '^:pos 12$'
ok $? "a new session recalls the saved history"
keys $s Escape
keys $s q
wait_for $s '^EXIT=0' >/dev/null

# --no-history: nothing is read or written
s=nohist
rm -rf "$STATE"
start $s 80 24 "$RUN --no-history"
wait_for $s 'before hook_embed' >/dev/null
keys $s : l a y e r Space 1 Enter
wait_for $s 'layer 1 head 0' >/dev/null
keys $s q
wait_for $s '^EXIT=0' >/dev/null
[ ! -e "$STATE/residual/history" ]
ok $? "--no-history writes no history file"
finish
