#!/bin/sh
# screen_class.sh - classroom mode on real screens: a teacher and two
# followers in tmux, one of them through a real SSH session on loopback
# (an sshd of our own, as screen_ssh.sh). Each follower's panes must match
# the teacher's after the teacher sets a prompt, runs to the end and
# changes layer and head; a follower that explores shows so, F brings it
# back; answers are counted on the teacher's status bar; a follower that
# quits leaves the others going; a teacher that quits and comes back on the
# same socket is followed again.
. "${TOP_SRCDIR:-.}/tests/screen_lib.sh"
need_tmux
ssh_start
ok 0 "sshd of our own listens on 127.0.0.1:$PORT"

COLS=100 ROWS=30
ROOM=$WORK/class/room
mkdir -p "$WORK/class" "$WORK/state"
ENVS="TERM=xterm-256color LC_ALL=C.UTF-8 XDG_STATE_HOME='$WORK/state'"
PROMPT='When Mary and John went to the store, John gave a drink to'
teacher() { # teacher NAME: presents on $ROOM
	start "$1" $COLS $ROWS "cd '$WORK' && env $ENVS RESIDUAL_UI_TRACE='$WORK/trace.$1' '$RESIDUAL' --present '$ROOM' --prompt '$PROMPT' --no-history"
}
teacher t1
wait_for t1 'presenting · 0 following'
ok $? "the teacher presents (status bar: presenting · 0 following)"
[ -S "$ROOM" ] && [ "$(stat -c %a "$ROOM")" = 660 ]
ok $? "the socket is there, mode 660"

start f1 $COLS $ROWS "cd '$WORK' && env $ENVS '$RESIDUAL' --follow '$ROOM' --no-history"
cat >"$WORK/remote.sh" <<REMOTE
cd '$WORK' || exit 1
env $ENVS '$RESIDUAL' --follow '$ROOM' --no-history
echo REMOTE_EXIT=\$?
REMOTE
start f2 $COLS $ROWS "ssh -F /dev/null -p $PORT -i '$WORK/id' -o BatchMode=yes -o StrictHostKeyChecking=no -o UserKnownHostsFile='$WORK/known_hosts' -t -t '$USER_NAME@127.0.0.1' sh '$WORK/remote.sh'"
wait_for t1 'presenting · 2 following'
ok $? "two followers, one through ssh: the teacher's status bar counts them"

# panes NAME: the screen without its last two lines (the hints, with the
# class's status, and the command line)
panes() { capture "$1" | head -n $((ROWS - 2)); }
same() { [ "$(panes "$1")" = "$(panes "$2")" ]; }
match() { # match A B WHAT
	if poll_until 20 same "$1" "$2"; then
		settle "$2"
		same "$1" "$2" && return 0
	fi
	echo "# $2 does not show what $1 shows ($3):"
	panes "$1" >"$WORK/a"
	panes "$2" >"$WORK/b"
	diff "$WORK/a" "$WORK/b" | diag
	return 1
}

keys t1 : 'prompt The cat sat on the mat' Enter
wait_for t1 "before hook_embed" && keys t1 E && wait_for t1 'logits'
keys t1 j j ']' ']'
wait_for t1 'layer 2' >/dev/null
settle t1
match t1 f1 "prompt, end, layer, head"
ok $? "follower 1's panes match the teacher's after prompt, E, j j, ] ]"
match t1 f2 "prompt, end, layer, head"
ok $? "follower 2 (through ssh) matches too"

keys f1 k
wait_for f1 'exploring on your own'
ok $? "a key that changes state detaches: 'exploring on your own — F follows the teacher again'"
keys t1 ']'
settle t1
! same t1 f1
ok $? "the exploring follower is left alone"
keys f1 '?'
wait_for f1 'Stepping through' >/dev/null
keys f1 Escape
keys f1 F
match t1 f1 "after F"
ok $? "F: follower 1 matches the teacher again"
match t1 f2 "the other went on"
ok $? "follower 2 followed meanwhile"

# a question: the lesson's first step asks how many tokens the model reads
RIGHT=$(printf 'lesson 1\nlesson reveal\n' | env XDG_STATE_HOME="$WORK/state2" "$RESIDUAL" --batch - 2>/dev/null |
	sed -n 's/^Answer: //p')
keys t1 : 'lesson 1' Enter
wait_for t1 'presenting · 2 following · 0 of 2 answered · 0 right'
ok $? "the teacher's step asks a question: the tally starts at 0 of 2"
wait_for f1 'Step 1 of 5' >/dev/null && keys f1 : 'answer 999' Enter
wait_for f2 'Step 1 of 5' >/dev/null && keys f2 : "answer $RIGHT" Enter
wait_for t1 'presenting · 2 following · 2 of 2 answered · 1 right'
ok $? "the teacher sees '2 of 2 answered · 1 right' (answer $RIGHT is right)"
wait_for f2 '2 of 2 answered · 1 right'
ok $? "the followers see the tally"
keys t1 : 'lesson quit' Enter
keys t1 : "prompt $PROMPT" Enter
wait_for t1 'before hook_embed' >/dev/null

# follower 1 quits; the teacher and follower 2 go on
keys f1 q
wait_for f1 '^EXIT=0'
ok $? "follower 1 quits with status 0"
wait_for t1 'presenting · 1 following'
ok $? "the teacher counts one follower"
keys t1 n n n n n l
settle t1
match t1 f2 "after follower 1 left"
ok $? "follower 2 goes on with the teacher"

# the teacher quits and comes back on the same socket
keys t1 q
wait_for t1 '^EXIT=0'
ok $? "the teacher quits"
wait_for f2 'the teacher has left'
ok $? "follower 2 keeps its last state and says the teacher has left"
$TM kill-session -t t1
teacher t2
wait_for t2 'presenting · 1 following'
ok $? "a new teacher on the same socket: follower 2 re-attaches"
keys t2 L j
settle t2
match t2 f2 "after the teacher came back"
ok $? "follower 2 mirrors the teacher again"
keys f2 q
wait_for f2 '^REMOTE_EXIT=0'
ok $? "the follower over ssh quits with status 0"
keys t2 q
wait_for t2 '^EXIT=0'
ok $? "the teacher quits with status 0"
[ ! -e "$ROOM" ]
ok $? "the teacher removed its socket"
finish
