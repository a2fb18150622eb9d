#!/bin/sh
# screen_features.sh - the features pane in tmux at 80x24 and 140x40 on the
# built-in model and its SAE: turned on with `pane features on`, it lists at
# the selected position the features `features POS --json` lists, strongest
# first, and follows the position.
. "${TOP_SRCDIR:-.}/tests/screen_lib.sh"
need_tmux
PROMPT='When Mary and John went to the store, John gave a drink to'

# the strongest feature at the last position (14) and at 13, from batch mode
top_at() {
	printf 'prompt %s\nfeatures %s --top 1 --json\n' "$PROMPT" "$1" |
		"$RESIDUAL" --batch - 2>/dev/null | sed -n 's/.*"features":\[{"feature":\([0-9]*\),.*/\1/p'
}
F14=$(top_at 14)
F13=$(top_at 13)
[ -n "$F14" ] && [ -n "$F13" ]
ok $? "features --json names the strongest feature at positions 14 ($F14) and 13 ($F13)"

# first_row NAME POS: the feature number on the pane's first row (the line
# under its title, from the title's column on)
first_row() {
	capture "$1" | awk -v t="features at pos $2" '
		found { print substr($0, col); exit }
		(i = index($0, t)) { col = i; found = 1 }' | awk '{ print $1 }'
}

RUN="env TERM=screen-256color XDG_STATE_HOME=$WORK/state $RESIDUAL --no-history --prompt '$PROMPT'"
for size in 80x24 140x40; do
	s=f$size
	start $s "${size%x*}" "${size#*x}" "$RUN"
	wait_for $s 'before hook_embed'
	keys $s : p a n e Space f e a t u r e s Space o n Enter
	wait_for $s 'features at pos 14'
	ok $? "$size: the pane opens at the selected position"
	keys $s E
	wait_for $s " $F14 [0-9]+\.[0-9]" && [ "$(first_row $s 14)" = "$F14" ]
	ok $? "$size: after the pass its first row is feature $F14"
	keys $s h
	wait_for $s 'features at pos 13' && wait_for $s " $F13 [0-9]+\.[0-9]" && [ "$(first_row $s 13)" = "$F13" ]
	ok $? "$size: it follows the position: feature $F13 first at 13"
	keys $s q
done
finish
