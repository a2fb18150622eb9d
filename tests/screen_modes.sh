#!/bin/sh
# screen_modes.sh - the heatmap stays legible without colour and without
# UTF-8: monochrome + ASCII, the POSIX locale, 8 colours, NO_COLOR, and an
# unknown TERM (the screen falls back to a known one and says so).
. "${TOP_SRCDIR:-.}/tests/screen_lib.sh"
need_tmux
MODEL=$FIXTURES/hf-golden/v1_llama3_gqa
need_model "$MODEL"
IDS=451,340,497,361,133,474,136,339,360,191,48,365,85,316,433,115,458,155,108,269,393,61,143,349
"$RESIDUAL" run --model "$MODEL" --ids "$IDS" --dump "$WORK/dump.safetensors" >/dev/null &&
	"$STGET" "$WORK/dump.safetensors" blocks.0.attn.hook_pattern 0 23 >"$WORK/row23" &&
	"$STGET" "$WORK/dump.safetensors" blocks.0.attn.hook_pattern 0 19 >"$WORK/row19"
ok $? "dump of the run for the expected glyphs"

# The shade ramps, lowest level first, as the screen draws them; levels are
# turned into the letters a, b, c... so that any awk can compare them.
ASCII_N=9
UTF8_N=5
ascii_levels() { sed 's/\./a/g; s/:/b/g; s/-/c/g; s/=/d/g; s/+/e/g; s/\*/f/g; s/#/g/g; s/%/h/g; s/@/i/g'; }
utf8_levels() { sed 's/·/a/g; s/░/b/g; s/▒/c/g; s/▓/d/g; s/█/e/g'; }

# glyph_row NAME Q ascii|utf8: the heatmap cells of query row Q as level
# letters: the line whose label is Q followed only by ramp glyphs
glyph_row() {
	capture "$1" | ${3}_levels | grep -E " $2[> ][a-i ]*\$" | head -n 1 | sed "s/.* $2[> ]//"
}

# check_glyphs LETTERS DUMPFILE N Q: cell k shows level floor(v * N) of the
# dump's value v; keys after Q are blank (the causal mask).
check_glyphs() {
	printf '%s\n' "$1" | awk -v f="$2" -v nr="$3" -v q="$4" '
	BEGIN { n = 0; while ((getline l < f) > 0) want[n++] = l + 0; letters = "abcdefghi" }
	{
		bad = 0
		for (k = 0; k < n; k++) {
			ch = substr($0, k + 1, 1); if (ch == "") ch = " "
			if (k > q) {
				if (ch != " ") { printf "# masked key %d shows [%s]\n", k, ch; bad = 1 }
				continue
			}
			lo = int((want[k] - 1e-4) * nr); hi = int((want[k] + 1e-4) * nr)
			if (lo < 0) lo = 0
			if (hi >= nr) hi = nr - 1
			good = 0
			for (l = lo; l <= hi; l++) if (ch == substr(letters, l + 1, 1)) good = 1
			if (!good) { printf "# key %d (%.4f) shows level [%s]\n", k, want[k], ch; bad = 1 }
		}
		if (NR == 0 || length($0) == 0) bad = 1
		exit bad
	}'
}

non_ascii() { LC_ALL=C tr -d '\000-\177' | wc -c; }

# run_mode NAME 'ENV' 'OPTIONS'
run_mode() {
	start "$1" 80 24 "env $2 XDG_STATE_HOME=$WORK/state $RESIDUAL --model $MODEL --ids $IDS --no-history $3"
	wait_for "$1" 'before hook_embed' >/dev/null && keys "$1" $(repeat 30 l) $(repeat 12 n) &&
		wait_for "$1" 'blocks\.0\.attn\.hook_pattern '
}

# monochrome and ASCII, asked for
run_mode mono "TERM=screen-256color" "--theme mono --ascii"
ok $? "--theme mono --ascii: stepped to the pattern"
check_glyphs "$(glyph_row mono 23 ascii)" "$WORK/row23" $ASCII_N 23
ok $? "mono ASCII: each cell of query 23 shows the shade glyph of its probability"
check_glyphs "$(glyph_row mono 19 ascii)" "$WORK/row19" $ASCII_N 19
ok $? "mono ASCII: query 19's row is blank after key 19 (the causal triangle)"
[ "$(capture mono | non_ascii)" -eq 0 ]
ok $? "mono ASCII: the screen is pure ASCII"
! capture_e mono | grep -q -E '\[(3[0-7]|4[0-7]|38;5;[0-9]+|48;5;[0-9]+)m'
ok $? "mono: no colour is drawn"
keys mono q
wait_for mono '^EXIT=0' >/dev/null
ok $? "mono: quits cleanly"

# the POSIX locale: ASCII without being asked
run_mode posix "TERM=screen-256color LC_ALL=C" ""
ok $? "LC_ALL=C: stepped to the pattern"
[ "$(capture posix | non_ascii)" -eq 0 ]
ok $? "LC_ALL=C: the screen falls back to ASCII"
keys posix q

# 8 colours in UTF-8: glyphs and colours together, no half blocks
run_mode eight "TERM=screen" ""
ok $? "TERM=screen (8 colours): stepped to the pattern"
check_glyphs "$(glyph_row eight 23 utf8)" "$WORK/row23" $UTF8_N 23
ok $? "8 colours: cells carry the UTF-8 shade glyph of their probability"
capture_e eight | grep -q -E '\[3[0-7]m' && ! capture_e eight | grep -q '38;5;'
ok $? "8 colours: drawn with the 8 basic colours only"
keys eight q

# NO_COLOR
run_mode nocolor "TERM=screen-256color NO_COLOR=1" ""
ok $? "NO_COLOR=1: stepped to the pattern"
! capture_e nocolor | grep -q -E '\[(3[0-7]|38;5;[0-9]+|48;5;[0-9]+)m'
ok $? "NO_COLOR=1: no colour is drawn"
check_glyphs "$(glyph_row nocolor 23 utf8)" "$WORK/row23" $UTF8_N 23
ok $? "NO_COLOR=1: the heatmap reads by its glyphs"
keys nocolor q

# 256 colours: the light theme draws too
run_mode light "TERM=screen-256color" "--theme light"
ok $? "--theme light: stepped to the pattern"
capture_e light | grep -q '38;5;'
ok $? "--theme light: 256-colour heat ramp in use"
keys light q

# an unknown TERM: fall back and say so
start unknown 80 24 "env TERM=no-such-terminal-xyz XDG_STATE_HOME=$WORK/state $RESIDUAL --model $MODEL --ids $IDS --no-history 2>$WORK/unknown.err"
wait_for unknown "TERM 'no-such-terminal-xyz' is unknown"
ok $? "unknown TERM: the screen opens with a hint"
keys unknown q
wait_for unknown '^EXIT=0' >/dev/null && grep -q 'is unknown here' "$WORK/unknown.err"
ok $? "unknown TERM: the hint is repeated on stderr after exit"
# SIGTERM and SIGINT from outside: the terminal is restored and the exit clean
for sig in TERM INT; do
	s=sig$sig
	start $s 80 24 "env TERM=screen-256color RESIDUAL_UI_TRACE=$WORK/trace.$sig XDG_STATE_HOME=$WORK/state $RESIDUAL --model $MODEL --ids $IDS --no-history"
	wait_for $s 'before hook_embed' >/dev/null && keys $s n n && wait_for $s 'hook_resid_pre' >/dev/null
	pid=$(sed -n 's/^start pid=\([0-9]*\).*/\1/p' "$WORK/trace.$sig" | head -n 1)
	[ -n "$pid" ] && kill -$sig "$pid"
	wait_for $s '^EXIT=0' && wait_for $s '^icanon echo' 10
	ok $? "SIG$sig: residual exits with status 0 and the terminal is back in canonical mode"
	grep -q '^exit .*terminal restored' "$WORK/trace.$sig"
	ok $? "SIG$sig: left through the cleanup"
done
finish
