#!/bin/sh
# screen_golden.sh - exact screens of the built-in model at 80x24, 100x30 and
# 160x48, in mono and ASCII (--theme mono --ascii: the same on every
# machine), against tests/golden/screens/SIZE-STATE.txt:
#   first    the first screen (the IOI prompt, before hook_embed)
#   end      after E (the logits)
#   values   after E and v (the attention pane with values)
#   lesson   lesson 01's first step with its output
#   help     the help overlay
#   closed   after E, :heads (the output opens in a box) and o (closes it)
# The screen after closing the box must also equal what a repaint from the
# state alone draws (Ctrl-L), and what a second process shows after opening
# and closing the box again and again. At 80x24 no pane header or axis line
# may be dropped or cut (the screen's trace says when one was).
#
# Regenerate after a deliberate change of the screen, and read the diff:
#   tests/screen_golden.sh --update      (from the build tree; TOP_SRCDIR
#                                         names the source tree when apart)
: "${TOP_BUILDDIR:=$(pwd)}"
. "${TOP_SRCDIR:-.}/tests/screen_lib.sh"
need_tmux
GOLD=${TOP_SRCDIR:-.}/tests/golden/screens
UPDATE=0
[ "${1:-}" = "--update" ] && UPDATE=1 && mkdir -p "$GOLD"
PROMPT="When Mary and John went to the store, John gave a drink to"

# run NAME SIZE [OPTIONS]: the program in mono ASCII on the built-in model
run() {
	_n=$1 _size=$2
	shift 2
	rm -rf "$WORK/state-$_n"
	start "$_n" "${_size%x*}" "${_size#*x}" \
		"env TERM=screen-256color XDG_STATE_HOME=$WORK/state-$_n RESIDUAL_UI_TRACE=$WORK/trace-$_n $RESIDUAL --theme mono --ascii --no-history $*"
}

# golden NAME FILE: the screen of NAME is FILE's (or becomes it)
golden() {
	settle "$1"
	capture "$1" > "$WORK/got"
	if [ "$UPDATE" = 1 ]; then
		cp "$WORK/got" "$GOLD/$2.txt"
		return 0
	fi
	diff -u "$GOLD/$2.txt" "$WORK/got" > "$WORK/diff" && return 0
	diag < "$WORK/diff"
	return 1
}

quit() {
	keys "$1" q
	wait_for "$1" '^EXIT=0' 10 >/dev/null
}

for size in 80x24 100x30 160x48; do
	s=g$size
	run $s $size "--prompt '$PROMPT'"
	wait_for $s 'before hook_embed' && golden $s $size-first
	ok $? "$size: the first screen"
	keys $s E
	wait_for $s '1 .Mary +1\.000' && golden $s $size-end
	ok $? "$size: after E"
	keys $s v
	wait_for $s 'keys .*\(v: heatmap\)|[0-9]+>[ .0-9]+$' && golden $s $size-values
	ok $? "$size: the attention pane with values"
	keys $s v '?'
	wait_for $s 'keys and glyphs' && golden $s $size-help
	ok $? "$size: the help overlay"
	keys $s x
	poll_until 10 sh -c "! $TM capture-pane -p -t $s | grep -q 'keys and glyphs'"
	keys $s : heads Enter
	wait_for $s 'output: lines' && keys $s o
	poll_until 10 sh -c "! $TM capture-pane -p -t $s | grep -q 'output: lines 1'" && golden $s $size-closed
	ok $? "$size: after opening and closing the output box"
	cp "$WORK/got" "$WORK/closed"
	keys $s C-l
	settle $s
	capture $s | cmp -s - "$WORK/closed"
	ok $? "$size: Ctrl-L (a repaint from the state) draws the same screen"
	quit $s
	if [ "$size" = 80x24 ]; then
		! grep -E 'dropped' "$WORK/trace-$s" | diag
		! grep -q -E 'dropped' "$WORK/trace-$s"
		ok $? "$size: no pane header, axis line or header field was dropped or cut"
	fi

	# a second process: the box opened and closed again and again
	t=h$size
	run $t $size "--prompt '$PROMPT'"
	wait_for $t 'before hook_embed' >/dev/null && keys $t E && wait_for $t '1 .Mary +1\.000' >/dev/null &&
		keys $t : heads Enter && wait_for $t 'output: lines' >/dev/null && keys $t j j o o PgDn o o o &&
		poll_until 10 sh -c "! $TM capture-pane -p -t $t | grep -q 'output: lines 1'" && settle $t &&
		capture $t | cmp -s - "$WORK/closed"
	ok $? "$size: another process, the box opened and closed three times, shows the same screen"
	quit $t

	l=l$size
	run $l $size "--lesson 01"
	wait_for $l 'lesson' && wait_for $l 'tokens:|[0-9]+ tokens' && golden $l $size-lesson
	ok $? "$size: lesson 01's first step with its output"
	quit $l
	if [ "$size" = 80x24 ]; then
		! grep -q -E 'dropped' "$WORK/trace-$l"
		ok $? "$size: nothing dropped or cut on the lesson's screen either"
	fi
done
# too small: the notice wraps, never cut
run small 40x12 "--prompt '$PROMPT'"
wait_for small 'Terminal too small' && wait_for small 'press q to quit\.'
ok $? "40x12: the too-small notice is whole"
quit small

[ "$UPDATE" = 1 ] && echo "# wrote $GOLD"
finish
