#!/bin/sh
# test_class_batch.sh - classroom mode without a screen: a batch teacher
# reading commands from a FIFO, two `residual --batch --follow` processes.
# What each follower prints for a mirrored command is what the teacher's
# own run printed (every number computed by the follower's engine); export
# is not replayed; a follower runs restricted; bad sockets get one clear line.
set -u
: "${RESIDUAL:=${TOP_BUILDDIR:-.}/residual}"
case $RESIDUAL in /*) ;; *) RESIDUAL=$(pwd)/$RESIDUAL ;; esac
WORK=$(mktemp -d "${TMPDIR:-/tmp}/rs-class-batch.XXXXXX")
T_PID= F1= F2=
cleanup() {
	for p in $T_PID $F1 $F2; do kill "$p" 2>/dev/null; done
	wait 2>/dev/null
	[ -n "${KEEP:-}" ] || rm -rf "$WORK"
}
trap cleanup EXIT
XDG_STATE_HOME=$WORK/state
export XDG_STATE_HOME
n=0 failed=0
ok() {
	n=$((n + 1))
	if [ "$1" -eq 0 ]; then echo "ok $n - $2"; else echo "not ok $n - $2"; failed=1; fi
}
wait_grep() { # wait_grep FILE REGEX
	i=0
	while [ $i -lt 200 ]; do
		grep -q -E -- "$2" "$1" 2>/dev/null && return 0
		sleep 0.05
		i=$((i + 1))
	done
	echo "# timed out waiting for /$2/ in $1:"
	sed 's/^/#   /' "$1" 2>/dev/null | tail -20
	return 1
}

ROOM=$WORK/room
mkfifo "$WORK/in"
(cd "$WORK" && exec "$RESIDUAL" --batch "$WORK/in" --echo --present "$ROOM") >"$WORK/t.out" 2>"$WORK/t.err" &
T_PID=$!
exec 3>"$WORK/in"
wait_grep "$WORK/t.err" 'presenting · 0 following'
ok $? "a batch teacher presents"
(cd "$WORK" && exec "$RESIDUAL" --batch --follow "$ROOM" </dev/null 3>&-) >"$WORK/f1.out" 2>"$WORK/f1.err" &
F1=$!
mkfifo "$WORK/f2in"
(cd "$WORK" && exec "$RESIDUAL" --batch "$WORK/f2in" --follow "$ROOM" 3>&-) >"$WORK/f2.out" 2>"$WORK/f2.err" &
F2=$!
exec 4>"$WORK/f2in"
wait_grep "$WORK/t.err" 'presenting · 2 following'
ok $? "two batch followers join"
cat >&3 <<'CMDS'
prompt 'When Mary and John went to the store, John gave a drink to'
run all
layer 1
head 2
top
lens
ablate 0 1
patch resid_pre 3 from 'When Mary and John went to the store, Mary gave a drink to'
where
export acts.json
echo done
CMDS
wait_grep "$WORK/f1.out" '^> echo done' && wait_grep "$WORK/f2.out" '^> echo done'
ok $? "both followers mirrored every command"
# the teacher's lines from the prompt on, against each follower's
sed -n '/^> prompt/,$p' "$WORK/t.out" | grep -v -e '^> export' -e '^wrote ' >"$WORK/t.cmp"
for f in f1 f2; do
	sed -n '/^> prompt/,$p' "$WORK/$f.out" | grep -v '^# ' >"$WORK/$f.cmp"
	cmp -s "$WORK/t.cmp" "$WORK/$f.cmp"
	ok $? "$f printed what the teacher printed, computed by its own engine ($(wc -l <"$WORK/$f.cmp") lines)"
	[ $? -eq 0 ] || diff "$WORK/t.cmp" "$WORK/$f.cmp" | head -20 | sed 's/^/# /'
done
[ -f "$WORK/acts.json" ] && ! grep -q '^> export' "$WORK/f1.out"
ok $? "export ran on the teacher only (not replayed)"
grep -q '^Patched\|^#[0-9]' "$WORK/f1.cmp"
ok $? "the interventions' lines are there"

# a follower's own lines: restricted, and an answer
printf 'load /etc/passwd\n' >&4
wait_grep "$WORK/f2.err" 'load: .*below its working directory'
ok $? "a follower runs restricted: $(tail -n 1 "$WORK/f2.err")"

# the teacher leaves: the followers keep their state and say so
exec 3>&-
wait_grep "$WORK/f1.out" '^# the teacher has left'
ok $? "the teacher's input ends: it leaves, the followers say so"
wait "$T_PID"
ok $? "the batch teacher exits with status 0"
T_PID=
[ ! -e "$ROOM" ]
ok $? "its socket is removed"

"$RESIDUAL" --batch --follow "$WORK/nobody" </dev/null >/dev/null 2>"$WORK/err"
rc=$?
[ $rc -eq 2 ] && grep -q "cannot follow $WORK/nobody: No such file" "$WORK/err"
ok $? "following a missing socket: status $rc, $(cat "$WORK/err")"
echo text >"$WORK/plain"
"$RESIDUAL" --batch --present "$WORK/plain" </dev/null >/dev/null 2>"$WORK/err"
rc=$?
[ $rc -eq 2 ] && grep -q "is not a socket" "$WORK/err" && [ "$(cat "$WORK/plain")" = text ]
ok $? "presenting on a file that is not a socket is refused: $(cat "$WORK/err")"
"$RESIDUAL" --batch --follow "$ROOM" --model x.gguf </dev/null >/dev/null 2>"$WORK/err"
[ $? -eq 2 ] && grep -q "give it alone" "$WORK/err"
ok $? "--follow with --model: $(cat "$WORK/err")"
echo "1..$n"
exit $failed
