#!/bin/sh
# screen_ssh.sh - the screen through a real SSH session on loopback: an sshd
# of our own on a free port with throwaway keys. Checks the screen (the
# layer-0 attention values against a dump), a clean quit that leaves the
# remote terminal in canonical mode, then drops the connection (the ssh
# client is killed) and checks that residual got SIGHUP, restored the
# terminal and exited.
. "${TOP_SRCDIR:-.}/tests/screen_lib.sh"
need_tmux
MODEL=$FIXTURES/hf-golden/v1_llama3_gqa
need_model "$MODEL"
IDS=451,340,497,361,133,474,136,339,360,191,48,365,85,316,433,115,458,155,108,269,393,61,143,349

ssh_start
ok 0 "sshd of our own listens on 127.0.0.1:$PORT"

"$RESIDUAL" run --model "$MODEL" --ids "$IDS" --dump "$WORK/dump.safetensors" >/dev/null
ok $? "residual run dumps the same prompt"

# The remote side is this machine: scripts in $WORK serve both ends, which
# keeps the quoting simple.
cat >"$WORK/remote.sh" <<REMOTE
cd '$PWD' || exit 1
env TERM=xterm-256color LC_ALL=C.UTF-8 RESIDUAL_UI_TRACE='$WORK/trace' XDG_STATE_HOME='$WORK/state' \\
	'$RESIDUAL' --model '$MODEL' --ids $IDS --no-history
echo REMOTE_EXIT=\$?
stty -a | tr ' ;' '\\n\\n' | grep -E '^-?(icanon|echo)\$' | tr '\\n' ' '
echo
REMOTE
cat >"$WORK/connect.sh" <<CONNECT
echo \$\$ >'$WORK/ssh.pid'
exec ssh -F /dev/null -p $PORT -i '$WORK/id' -o BatchMode=yes -o StrictHostKeyChecking=no \\
	-o UserKnownHostsFile='$WORK/known_hosts' -t -t '$USER_NAME@127.0.0.1' sh '$WORK/remote.sh'
CONNECT

# 1. look at the screen through ssh, then quit
s=ssh1
start $s 80 24 "sh $WORK/connect.sh"
wait_for $s 'before hook_embed'
ok $? "the screen opens through ssh"
keys $s $(repeat 30 l) $(repeat 12 n) v
wait_for $s 'blocks\.0\.attn\.hook_pattern ' && wait_for $s 'keys .*\(v: heatmap\)' && check_row $s 0
ok $? "through ssh, the layer-0 attention values agree with the dump"
keys $s q
wait_for $s '^REMOTE_EXIT=0'
ok $? "q quits with status 0 on the remote side"
wait_for $s '^icanon echo'
ok $? "the remote terminal is back in canonical mode with echo"
grep -q 'exit quit, terminal restored' "$WORK/trace"
ok $? "residual recorded a clean quit"

# 2. drop the connection while the screen is up
rm -f "$WORK/trace"
s=ssh2
start $s 80 24 "sh $WORK/connect.sh"
wait_for $s 'before hook_embed' && keys $s n n n && wait_for $s 'ln1\.hook_scale '
ok $? "second session: stepping through ssh"
pid=$(sed -n 's/^start pid=\([0-9]*\).*/\1/p' "$WORK/trace" | head -n 1)
[ -n "$pid" ] && kill -0 "$pid" 2>/dev/null
ok $? "residual runs as process $pid"
kill -9 "$(cat "$WORK/ssh.pid")"
i=0
while [ $i -lt 200 ] && kill -0 "$pid" 2>/dev/null; do
	sleep 0.05
	i=$((i + 1))
done
! kill -0 "$pid" 2>/dev/null
ok $? "after the ssh client is killed, residual exits"
i=0
while [ $i -lt 100 ] && ! grep -q '^exit' "$WORK/trace" 2>/dev/null; do
	sleep 0.05
	i=$((i + 1))
done
grep -q '^exit hangup, terminal restored' "$WORK/trace"
ok $? "it left through the SIGHUP path and restored the terminal"
sed 's/^/# trace: /' "$WORK/trace"
finish
