#!/bin/sh
# test_layers.sh - dependencies point one way (doc/ARCHITECTURE.md) (TAP).
#
# Every #include "..." in src/ and include/ is checked against the layer
# order  core < interp < session < lesson < ui < cli,  with train/ beside
# them: train uses core only; cli uses train, and interp does for the
# trainer's backward pass (attribution patching, interp/attrib.c). A header of include/
# belongs to the layer named in the table below (a new header must be added
# to it); a header beside the source file belongs to that file's layer.
# Also: curses and readline only in ui/, and no weak symbols anywhere.
set -u
SRC=${TOP_SRCDIR:-.}
cd "$SRC" || exit 1

# include/NAME.h -> layer
header_layer() {
	case $1 in
	err | dtype | mapfile | gguf | safetensors | model | ops | kernels | hooks | engine | pool | \
		sampler | convert | tokenizer | vec | datadir | strbuf | savefile | filelimits | stream | sae) echo core ;;
	interp | circuits) echo interp ;;
	session | commands | feat | class) echo session ;;
	lesson) echo lesson ;;
	ui) echo ui ;;
	cli | cliutil) echo cli ;;
	corpus | bpe_train | train | sae_train) echo train ;;
	*) echo unknown ;;
	esac
}

# may a file of layer $1 include a header of layer $2?
allowed() {
	[ "$1" = "$2" ] && return 0
	case $2 in train) [ "$1" = cli ] || [ "$1" = interp ]; return ;; esac
	[ "$1" = train ] && { [ "$2" = core ]; return; }
	rank() {
		case $1 in core) echo 0 ;; interp) echo 1 ;; session) echo 2 ;; lesson) echo 3 ;;
		ui) echo 4 ;; cli) echo 5 ;; *) echo 9 ;; esac
	}
	[ "$(rank "$2")" -le "$(rank "$1")" ]
}

file_layer() {
	case $1 in
	include/*) header_layer "$(basename "$1" .h)" ;;
	src/main.c) echo cli ;;
	src/*/*) d=${1#src/}; echo "${d%%/*}" ;;
	*) echo unknown ;;
	esac
}

n=0
bad=0
ok() { n=$((n + 1)); echo "ok $n - $1"; }
notok() { n=$((n + 1)); bad=$((bad + 1)); echo "not ok $n - $1"; }

files=$(ls src/main.c src/*/*.c src/*/*.h include/*.h)
for f in $files; do
	L=$(file_layer "$f")
	if [ "$L" = unknown ]; then
		notok "$f: no layer (add it to header_layer in tests/test_layers.sh)"
		continue
	fi
	errs=""
	for h in $(sed -n 's/^[ \t]*#[ \t]*include[ \t]*"\([^"]*\)".*/\1/p' "$f"); do
		[ "$h" = config.h ] && continue
		if [ -f "$(dirname "$f")/$h" ]; then
			HL=$L
		elif [ -f "include/$h" ]; then
			HL=$(header_layer "$(basename "$h" .h)")
		else
			HL=unknown
		fi
		allowed "$L" "$HL" || errs="$errs $h($HL)"
	done
	if [ -n "$errs" ]; then
		notok "$f ($L) includes upward:$errs"
	else
		ok "$f ($L)"
	fi
done

curses=$(grep -ln '^[ \t]*#[ \t]*include[ \t]*<\(n\?curses\|ncursesw/\|readline/\|term\.h\)' $files | grep -v '^src/ui/')
if [ -z "$curses" ]; then ok "curses and readline only in src/ui"; else notok "curses or readline outside ui/: $curses"; fi

weak=$(grep -ln '__attribute__[ \t]*((weak' $files)
if [ -z "$weak" ]; then ok "no weak symbols"; else notok "weak symbols in: $weak"; fi

echo "1..$n"
[ $bad -eq 0 ]
