# screen_lib.sh - sourced by the screen tests: a private tmux server, key
# sending, polling for what the screen shows (never fixed sleeps), TAP output.
#
# Each test runs the real program in a tmux pane of a fixed size; the pane's
# command ends with "EXIT=<status>" and the terminal modes as stty sees them,
# so a test can check that the program restored the terminal.

: "${RESIDUAL:=$TOP_BUILDDIR/residual}"
: "${FIXTURES:=../shared/fixtures}"
STGET=${TOP_BUILDDIR:-.}/tests/screen_stget
LC_ALL=C.UTF-8
export LC_ALL

screen_n=0
screen_failed=0

ok() { # ok STATUS DESCRIPTION
	screen_n=$((screen_n + 1))
	if [ "$1" -eq 0 ]; then
		echo "ok $screen_n - $2"
	else
		echo "not ok $screen_n - $2"
		screen_failed=1
	fi
}

diag() { sed 's/^/# /'; }

finish() {
	echo "1..$screen_n"
	exit $screen_failed
}

need_tmux() {
	if ! command -v tmux >/dev/null 2>&1; then
		echo "1..0 # SKIP tmux is not installed"
		exit 0
	fi
}

need_model() { # need_model DIR
	if [ ! -e "$1" ]; then
		echo "1..0 # SKIP fixture model $1 is missing"
		exit 0
	fi
}

WORK=$(mktemp -d "${TMPDIR:-/tmp}/rs-screen.XXXXXX")
SOCK="rs-screen-$$"
TM="tmux -L $SOCK -f /dev/null"
screen_cleanup() {
	$TM kill-server >/dev/null 2>&1
	rm -rf "$WORK"
}
trap screen_cleanup EXIT

# start NAME COLS ROWS 'COMMAND': the command runs in a shell in the pane;
# afterwards the pane shows EXIT=status and the stty modes, and waits. A
# keeper session holds the server up, so killing a test's session never
# races a server that is shutting down.
start() {
	_name=$1 _cols=$2 _rows=$3
	shift 3
	if ! $TM has-session -t keeper 2>/dev/null; then
		$TM new-session -d -s keeper -x 20 -y 5 "sleep 3600" || return 1
	fi
	$TM new-session -d -s "$_name" -x "$_cols" -y "$_rows" \
		"$*; echo EXIT=\$?; stty -a | tr ' ;' '\\n\\n' | grep -E '^-?(icanon|echo)\$' | tr '\\n' ' '; echo; sleep 600"
}

keys() { # keys NAME KEY...
	_name=$1
	shift
	$TM send-keys -t "$_name" "$@"
}

capture() { $TM capture-pane -p -t "$1" 2>/dev/null; }
# With the colours; a colour reset after a line's last character is dropped:
# it shows nothing, and tmux adds it or not depending on whether the blank
# cells after it were cleared or overwritten with spaces (ncurses picks either).
capture_e() { $TM capture-pane -p -e -t "$1" 2>/dev/null | sed 's/\(\x1b\[[0-9;]*m\)*$//'; }

# wait_for NAME REGEX [SECONDS]: polls the pane until a line matches and
# the screen has settled (a redraw may reach tmux in several pieces).
wait_for() {
	_name=$1 _re=$2 _t=${3:-30}
	_i=0
	while [ "$_i" -lt $((_t * 20)) ]; do
		if capture "$_name" | grep -q -E -- "$_re"; then
			settle "$_name"
			capture "$_name" | grep -q -E -- "$_re" && return 0
		fi
		$TM has-session -t "$_name" 2>/dev/null || break
		sleep 0.05
		_i=$((_i + 1))
	done
	echo "# timed out waiting for /$_re/ in $_name; the screen:"
	capture "$_name" | diag
	return 1
}

# settle NAME: waits until two captures a moment apart agree.
settle() {
	_prev=
	_j=0
	while [ "$_j" -lt 100 ]; do
		_cur=$(capture_e "$1")
		[ -n "$_prev" ] && [ "$_cur" = "$_prev" ] && return 0
		_prev=$_cur
		sleep 0.1
		_j=$((_j + 1))
	done
	return 1
}

# poll_until SECONDS COMMAND...: runs COMMAND every 50 ms until it succeeds;
# fails after SECONDS.
poll_until() {
	_poll_n=$(($1 * 20))
	shift
	while [ "$_poll_n" -gt 0 ]; do
		"$@" && return 0
		sleep 0.05
		_poll_n=$((_poll_n - 1))
	done
	return 1
}

# hints_on_row NAME ROW: the key hints are on line ROW of the screen.
hints_on_row() { capture "$1" | sed -n "$2p" | grep -q -E 'step .*back'; }

# wait_rows NAME ROWS: waits until the program has drawn its layout for a
# terminal ROWS lines high (the key hints sit on the next-to-last line).
# After a resize the old layout can stay on screen, settled, for a moment
# before the program's redraw reaches tmux; a check must not read it.
wait_rows() {
	poll_until 30 hints_on_row "$1" $(($2 - 1)) && settle "$1" && return 0
	echo "# timed out waiting for the layout of $2 rows in $1; the screen:"
	capture "$1" | diag
	return 1
}

# repeat N KEY: the key N times, for send-keys.
repeat() {
	_k=0
	while [ "$_k" -lt "$1" ]; do
		printf '%s ' "$2"
		_k=$((_k + 1))
	done
}

# attn_row NAME: "QUERY K0 v0 v1 ..." from the attention pane in values mode:
# the row marked '>' and the first key shown (from "queries ..., keys A..B").
attn_row() {
	_scr=$(capture "$1")
	_k0=$(printf '%s\n' "$_scr" | grep -o -E 'queries[ 0-9.of]*, keys [0-9]+' | head -n 1 | sed 's/.*keys //')
	_row=$(printf '%s\n' "$_scr" | grep -o -E '[0-9]+>[ .0-9]*$' | head -n 1)
	echo "$(printf '%s' "$_row" | sed 's/>.*//') $_k0 $(printf '%s' "$_row" | sed 's/^[0-9]*>//')"
}

# check_row NAME HEAD: the '>' row of the attention values on the screen
# against $WORK/dump.safetensors (a dump of the same run), layer 0.
check_row() {
	_row=$(attn_row "$1")
	"$STGET" "$WORK/dump.safetensors" blocks.0.attn.hook_pattern "$2" "${_row%% *}" >"$WORK/want" 2>&1 &&
		compare_row "$_row" "$WORK/want" && return 0
	echo "# the row read: '$_row'; the screen:"
	capture "$1" | diag
	return 1
}

# compare_row "QUERY K0 v..." FILE: each shown value agrees with the dump's
# (FILE: one value per line for every key) to the decimals it shows.
compare_row() {
	printf '%s\n' "$1" | awk -v f="$2" '
	BEGIN { n = 0; while ((getline l < f) > 0) want[n++] = l + 0 }
	{
		k0 = $2; bad = 0; cnt = 0
		for (i = 3; i <= NF; i++) {
			s = $i; k = k0 + i - 3
			dec = index(s, ".") ? length(s) - index(s, ".") : 0
			tol = 0.5 * 10 ^ -dec + 1e-4
			d = s - want[k]; if (d < 0) d = -d
			if (d > tol) { printf "# key %d shows %s, dump has %f\n", k, s, want[k]; bad = 1 }
			cnt++
		}
		if (cnt == 0 || cnt != $1 - k0 + 1) { printf "# %d values for keys %d..%d\n", cnt, k0, $1; bad = 1 }
		exit bad
	}'
}

# ssh_start: an sshd of our own on a free port of 127.0.0.1 with throwaway
# keys ($WORK/id logs in as this user); sets PORT, SSHD_PID and USER_NAME.
# Skips the whole test (exit 0) when sshd or ssh is missing or cannot start.
ssh_start() {
	SSHD=
	for p in /usr/sbin/sshd /usr/local/sbin/sshd /sbin/sshd $(command -v sshd 2>/dev/null); do
		[ -x "$p" ] && SSHD=$p && break
	done
	if [ -z "$SSHD" ] || ! command -v ssh >/dev/null 2>&1 || ! command -v ssh-keygen >/dev/null 2>&1; then
		echo "1..0 # SKIP sshd, ssh or ssh-keygen is not installed (openssh-server, openssh-client)"
		exit 0
	fi
	# sshd wants its privilege-separation directory
	if [ ! -d /run/sshd ]; then
		mkdir -p /run/sshd 2>/dev/null && chmod 755 /run/sshd
		if [ ! -d /run/sshd ]; then
			echo "1..0 # SKIP /run/sshd is missing and cannot be created (not root)"
			exit 0
		fi
	fi

	USER_NAME=$(id -un)
	ssh-keygen -q -t ed25519 -N '' -f "$WORK/host_key" >/dev/null &&
		ssh-keygen -q -t ed25519 -N '' -f "$WORK/id" >/dev/null &&
		cp "$WORK/id.pub" "$WORK/authorized_keys" && chmod 600 "$WORK/authorized_keys"
	if [ $? -ne 0 ]; then
		echo "1..0 # SKIP could not make throwaway keys"
		exit 0
	fi

	# a free port: let sshd try a few, it fails when one is taken
	PORT=
	for try in 1 2 3 4 5 6 7 8; do
		port=$((20000 + ($$ * 7 + try * 1543) % 40000))
		cat >"$WORK/sshd_config" <<-CONF
	Port $port
	ListenAddress 127.0.0.1
	HostKey $WORK/host_key
	PidFile $WORK/sshd.pid
	AuthorizedKeysFile $WORK/authorized_keys
	UsePAM no
	PermitRootLogin prohibit-password
	StrictModes no
	PubkeyAuthentication yes
	PasswordAuthentication no
	KbdInteractiveAuthentication no
	PermitTTY yes
	X11Forwarding no
	PrintMotd no
	PrintLastLog no
	LogLevel ERROR
	CONF
		"$SSHD" -f "$WORK/sshd_config" -D -e -o "Banner none" 2>"$WORK/sshd.log" &
		SSHD_PID=$!
		i=0
		while [ $i -lt 50 ]; do
			if ssh -F /dev/null -p "$port" -i "$WORK/id" -o BatchMode=yes -o StrictHostKeyChecking=no \
				-o UserKnownHostsFile="$WORK/known_hosts" -o ConnectTimeout=5 \
				"$USER_NAME@127.0.0.1" true 2>>"$WORK/ssh.log"; then
				PORT=$port
				break
			fi
			kill -0 $SSHD_PID 2>/dev/null || break
			sleep 0.1
			i=$((i + 1))
		done
		[ -n "$PORT" ] && break
		kill $SSHD_PID 2>/dev/null
		wait $SSHD_PID 2>/dev/null
	done
	if [ -z "$PORT" ]; then
		echo "1..0 # SKIP could not start a test sshd on loopback: $(tail -n 1 "$WORK/sshd.log" "$WORK/ssh.log" 2>/dev/null | tr '\n' ' ')"
		exit 0
	fi
	trap 'kill $SSHD_PID 2>/dev/null; screen_cleanup' EXIT
}
