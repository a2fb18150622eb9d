#!/bin/sh
# screen_attn.sh - the screen in tmux at 80x24 and 160x48: step to the
# layer-0 attention pattern and compare the values shown with a dump of the
# same run; step forward and back and compare screens; resize during a step.
. "${TOP_SRCDIR:-.}/tests/screen_lib.sh"
need_tmux
MODEL=$FIXTURES/hf-golden/v1_llama3_gqa
need_model "$MODEL"
IDS=451,340,497,361,133,474,136,339,360,191,48,365,85,316,433,115,458,155,108,269,393,61,143,349

"$RESIDUAL" run --model "$MODEL" --ids "$IDS" --dump "$WORK/dump.safetensors" >/dev/null
ok $? "residual run dumps the same prompt"

RUN="env TERM=screen-256color XDG_STATE_HOME=$WORK/state $RESIDUAL --model $MODEL --ids $IDS --no-history"
for size in 80x24 160x48; do
	s=s$size
	cols=${size%x*} rows=${size#*x}
	start $s "$cols" "$rows" "$RUN"
	wait_for $s 'before hook_embed'
	ok $? "$size: the screen opens before the first stop"

	# stops: hook_embed, resid_pre, ln1 scale/normalized/out, q, k, v, rot_q, rot_k, scores, pattern
	keys $s $(repeat 30 l) $(repeat 12 n)
	wait_for $s 'blocks\.0\.attn\.hook_pattern . layer 0 head 0'
	ok $? "$size: twelve steps reach blocks.0.attn.hook_pattern"
	capture $s | grep -q 'attention L0 H0'
	ok $? "$size: the attention pane shows layer 0 head 0"

	keys $s v
	wait_for $s 'keys .*\(v: heatmap\)' && check_row $s 0
	ok $? "$size: values of the last query's row agree with the dump"
	keys $s $(repeat 7 h)
	wait_for $s 'pos 16 ' && check_row $s 0
	ok $? "$size: values of query 16 agree with the dump"
	keys $s ']'
	wait_for $s 'attention L0 H1' && check_row $s 1
	ok $? "$size: values of head 1 agree with the dump"
	keys $s '[' v
	wait_for $s 'attention L0 H0' && wait_for $s 'keys .*\(v: values\)'

	# forward three stops (computed now), back three, forward again (cached);
	# the attention pane stays, the vector and pipeline panes change
	settle $s
	before=$(capture_e $s)
	keys $s n n n
	wait_for $s 'blocks\.0\.hook_resid_mid '
	settle $s
	ahead=$(capture_e $s)
	keys $s b b b
	wait_for $s 'blocks\.0\.attn\.hook_pattern '
	settle $s
	back=$(capture_e $s)
	[ "$before" = "$back" ]
	ok $? "$size: stepping back shows exactly the screen shown before (colours included)"
	keys $s n n n
	wait_for $s 'blocks\.0\.hook_resid_mid '
	settle $s
	[ "$ahead" = "$(capture_e $s)" ]
	ok $? "$size: stepping forward over computed stops shows the same screen"
	keys $s q
	wait_for $s '^EXIT=0'
	ok $? "$size: q quits with status 0"
	wait_for $s '^icanon echo' 10
	ok $? "$size: the terminal is back in canonical mode with echo"
	$TM kill-session -t $s
done

# resize at any moment: during a step, too small, and back
s=resize
start $s 80 24 "$RUN"
wait_for $s 'before hook_embed'
keys $s $(repeat 30 l) $(repeat 12 n)
$TM resize-window -t $s -x 100 -y 30
keys $s v
$TM resize-window -t $s -x 120 -y 40
wait_rows $s 40 && wait_for $s 'blocks\.0\.attn\.hook_pattern ' && wait_for $s 'keys .*\(v: heatmap\)' && check_row $s 0
ok $? "resized twice while stepping: the screen follows and the values agree"
$TM resize-window -t $s -x 70 -y 20
wait_for $s 'Terminal too small: 70x20'
ok $? "70x20 shows the too-small notice"
keys $s n
$TM resize-window -t $s -x 80 -y 24
wait_rows $s 24 && wait_for $s 'blocks\.0\.attn\.hook_pattern ' && check_row $s 0
ok $? "back at 80x24 the screen returns as it was (keys were ignored meanwhile)"
keys $s q
wait_for $s '^EXIT=0'
ok $? "quits after resizing"

# a run stopped part way: Esc or Ctrl-C typed with L or E stops it after a
# stop before the end (tmux writes both keys at once, so the key is there at
# the first question: test_commands checks the exact stop), and E goes on
LONG=$(awk 'BEGIN { for (i = 0; i < 600; i++) printf "%s%d", i ? "," : "", (i * 37 + 11) % 500 }')
# stop_notice_after NAME K0: the notice "stopped at HOOK (K/N)" is on the
# screen with K0 < K < N; sets K
stop_notice_after() {
	set -- "$1" "$2" $(capture "$1" | sed -n 's/.*stopped at [^ ]* (\([0-9]*\)\/\([0-9]*\)).*/\1 \2/p' | head -n 1)
	[ $# -eq 4 ] && [ "$3" -gt "$2" ] && [ "$3" -lt "$4" ] && K=$3
}
# stopped_after NAME K0: waits (10 s at most) for such a notice
stopped_after() {
	poll_until 10 stop_notice_after "$1" "$2" && return 0
	echo "# no notice 'stopped at HOOK (K/N)' with $2 < K < N; the screen:"
	capture "$1" | diag
	return 1
}
s=stop
start $s 80 24 "env TERM=screen-256color XDG_STATE_HOME=$WORK/state $RESIDUAL --model $MODEL --ids $LONG --no-history"
wait_for $s 'before hook_embed'
keys $s L Escape
stopped_after $s 0
ok $? "Esc during L stops the run part way and says where"
keys $s E C-c
stopped_after $s "$K"
ok $? "Ctrl-C during E stops it again, further on (Ctrl-C does not quit then)"
keys $s E
wait_for $s '^ logits │' && ! capture $s | grep -q 'stopped at'
ok $? "E then runs to the end, and the notice is gone"
keys $s C-c
wait_for $s '^EXIT=0'
ok $? "Ctrl-C at rest quits"
# q during a run stops it and quits
s=stopq
start $s 80 24 "env TERM=screen-256color RESIDUAL_UI_TRACE=$WORK/trace.q XDG_STATE_HOME=$WORK/state $RESIDUAL --model $MODEL --ids $LONG --no-history"
wait_for $s 'before hook_embed'
keys $s E q
wait_for $s '^EXIT=0' && grep -q '^interrupted at stop [0-9]' "$WORK/trace.q" && grep -q '^exit quit' "$WORK/trace.q"
ok $? "q during E stops the run and quits"
finish
