#!/bin/sh
# compare-llamacpp.sh: llama.cpp's llama-bench and `residual bench` on the same GGUF,
# side by side, on this machine.
#
#   LLAMA_CPP_BUILD=/path/to/llama.cpp/build bench/compare-llamacpp.sh MODEL.gguf \
#       [-p PROMPT] [-n DECODE] [-r REPS] [-t THREADS] [-k ROUNDS]
#
# LLAMA_CPP_BUILD is a llama.cpp CMake build folder (llama-bench in it or in its bin/).
# This script downloads and builds nothing; without LLAMA_CPP_BUILD it says so and exits 0.
# RESIDUAL overrides the residual binary (default: ../residual beside this script).
# The two benches run alternately ROUNDS times (default 1), each with the load average
# beside it. llama.cpp figures are the medians of its per-repetition samples, as residual's.
#
# llama.cpp (at least up to 2025) refuses a GGUF without the key tokenizer.ggml.model.
# If MODEL has none, llama-bench gets a copy in $TMPDIR with two keys added at the front of
# the key/value section: tokenizer.ggml.model = "none" (llama.cpp's "no vocab" type, which
# takes n_vocab from llama.vocab_size) and general.description, whose only job is to make
# the insertion 96 bytes, a multiple of the 32-byte alignment, so the tensor data stays aligned
# without rewriting the header. LLAMA_MODEL=FILE gives llama-bench a file of your own instead.

set -u

usage() {
	echo "usage: LLAMA_CPP_BUILD=DIR $0 MODEL.gguf [-p N] [-n N] [-r N] [-t N] [-k ROUNDS]" >&2
	exit 2
}

if [ -z "${LLAMA_CPP_BUILD:-}" ]; then
	echo "skipped: LLAMA_CPP_BUILD not set"
	exit 0
fi

[ $# -ge 1 ] || usage
model=$1
shift
np=128 nn=32 reps=3 rounds=1
threads=$(getconf _NPROCESSORS_ONLN 2>/dev/null || echo 1)
while [ $# -gt 0 ]; do
	[ $# -ge 2 ] || usage
	case $1 in
	-p) np=$2 ;;
	-n) nn=$2 ;;
	-r) reps=$2 ;;
	-t) threads=$2 ;;
	-k) rounds=$2 ;;
	*) usage ;;
	esac
	shift 2
done

[ -r "$model" ] || { echo "error: cannot read $model" >&2; exit 1; }

lbench=
for f in "$LLAMA_CPP_BUILD/bin/llama-bench" "$LLAMA_CPP_BUILD/llama-bench"; do
	if [ -x "$f" ]; then lbench=$f; break; fi
done
[ -n "$lbench" ] || { echo "error: no llama-bench in $LLAMA_CPP_BUILD or its bin/" >&2; exit 1; }

here=$(cd "$(dirname "$0")" && pwd)
residual=${RESIDUAL:-$here/../residual}
[ -x "$residual" ] || { echo "error: no residual binary at $residual (make residual)" >&2; exit 1; }

# --- a GGUF llama.cpp will load ------------------------------------------------------

# u64 little-endian as 8 printf octal escapes
le64() {
	v=$1 i=0 s=
	while [ $i -lt 8 ]; do
		s="$s\\$(printf %o $((v % 256)))"
		v=$((v / 256))
		i=$((i + 1))
	done
	# shellcheck disable=SC2059 # $s holds only octal escapes
	printf "$s"
}

# key/value: string key, string value
kv_str() {
	le64 ${#1}; printf %s "$1"
	printf '\010\000\000\000'
	le64 ${#2}; printf %s "$2"
}

# does the header (first 8 MiB) name this key?
has_key() {
	dd if="$model" bs=1048576 count=8 2>/dev/null |
		LC_ALL=C tr -c 'A-Za-z0-9._-' '\n' | grep -qx "$1"
}

tmp=
cleanup() { [ -n "$tmp" ] && rm -f "$tmp"; }
trap cleanup EXIT
trap 'exit 130' INT TERM

lmodel=${LLAMA_MODEL:-}
if [ -z "$lmodel" ]; then
	if has_key 'tokenizer\.ggml\.model'; then
		lmodel=$model
	else
		magic=$(dd if="$model" bs=4 count=1 2>/dev/null)
		ver=$(od -An -tu1 -j4 -N1 "$model" | tr -d ' ')
		# shellcheck disable=SC2015
		[ "$magic" = GGUF ] && [ "$ver" -ge 2 ] ||
			{ echo "error: $model is not GGUF v2/v3" >&2; exit 1; }
		if has_key 'general\.alignment'; then
			echo "error: $model sets general.alignment; give llama-bench a file via LLAMA_MODEL" >&2
			exit 1
		fi
		nkv=0 m=1
		for b in $(od -An -tu1 -j16 -N8 "$model"); do
			nkv=$((nkv + b * m)); m=$((m * 256))
		done
		tmp=$(mktemp "${TMPDIR:-/tmp}/compare-llamacpp.XXXXXX") || exit 1
		echo "note: $model has no tokenizer.ggml.model; llama-bench reads a copy with" \
			"tokenizer.ggml.model = \"none\" ($tmp)" >&2
		{
			dd if="$model" bs=16 count=1 2>/dev/null
			le64 $((nkv + 2))
			kv_str tokenizer.ggml.model none             # 44 bytes
			kv_str general.description 'no tokenizer.'   # 52 bytes
			tail -c +25 "$model"
		} > "$tmp" || { echo "error: cannot write $tmp" >&2; exit 1; }
		lmodel=$tmp
	fi
fi

# --- runs --------------------------------------------------------------------------

load() { uptime | sed 's/.*load average[s]*: *//'; }

# llama-bench -o jsonl: print "PP TG MEDIAN_TS" per test line
lparse() {
	awk '
	function num(key,   s) {
		s = $0
		if (!sub(".*\"" key "\": *", "", s)) return ""
		sub("[,}].*", "", s)
		return s + 0
	}
	function median(   s, n, a, i, j, t) {
		s = $0
		if (!sub(".*\"samples_ts\": *\\[", "", s)) return num("avg_ts")
		sub("\\].*", "", s)
		n = split(s, a, ",")
		for (i = 1; i <= n; i++) a[i] += 0
		for (i = 2; i <= n; i++) for (j = i; j > 1 && a[j-1] > a[j]; j--) { t = a[j]; a[j] = a[j-1]; a[j-1] = t }
		return n % 2 ? a[(n + 1) / 2] : (a[n / 2] + a[n / 2 + 1]) / 2
	}
	/"n_prompt"/ { printf "%d %d %.2f\n", num("n_prompt"), num("n_gen"), median() }'
}

# residual bench --json: print "PREFILL_TS DECODE_TS"
rparse() {
	awk '
	function val(s) { sub("^[^:]*: *", "", s); sub(",.*", "", s); return s + 0 }
	/"prefill_tok_s"/ { p = val($0) }
	/"decode_tok_s"/ { d = val($0) }
	END { printf "%.2f %.2f\n", p, d }'
}

rows=
k=1
while [ $k -le "$rounds" ]; do
	l0=$(load)
	out=$("$lbench" -m "$lmodel" -t "$threads" -p "$np" -n "$nn" -r "$reps" -o jsonl 2>/dev/null) ||
		{ echo "error: llama-bench failed on $lmodel (run it by hand to see why)" >&2; exit 1; }
	lpp=$(printf '%s\n' "$out" | lparse | awk '$1 > 0 && $2 == 0 { print $3 }')
	ltg=$(printf '%s\n' "$out" | lparse | awk '$1 == 0 && $2 > 0 { print $3 }')
	rows="$rows$(printf '%-10s %5d %12s %12s   %s' llama.cpp "$k" "${lpp:--}" "${ltg:--}" "$l0")
"
	l0=$(load)
	out=$("$residual" bench --model "$model" -p "$np" -n "$nn" -r "$reps" --threads "$threads" \
		--no-reference --json 2>/dev/null) ||
		{ echo "error: residual bench failed on $model" >&2; exit 1; }
	# shellcheck disable=SC2046 # two numbers, split on purpose
	set -- $(printf '%s\n' "$out" | rparse)
	rows="$rows$(printf '%-10s %5d %12s %12s   %s' residual "$k" "$1" "$2" "$l0")
"
	k=$((k + 1))
done

echo "model    $model"
echo "threads  $threads, prefill $np tokens, decode $nn tokens, $reps repetitions (medians, tokens/s)"
printf '%-10s %5s %12s %12s   %s\n' engine round "pp$np t/s" "tg$nn t/s" "load avg (1, 5, 15 min) before"
printf '%s' "$rows"
printf '%s' "$rows" | awk -v np="$np" -v nn="$nn" '
	$1 == "llama.cpp" && $3 != "-" { lp[++nl] = $3; lt[nl] = $4 }
	$1 == "residual" { rp[++nr] = $3; rt[nr] = $4 }
	END {
		if (!nl || !nr) exit
		for (i = 1; i <= nl; i++) { a += lp[i]; b += lt[i] }
		for (i = 1; i <= nr; i++) { c += rp[i]; d += rt[i] }
		a /= nl; b /= nl; c /= nr; d /= nr
		if (a > 0 && b > 0)
			printf "residual / llama.cpp (mean over rounds): pp%d %.2fx, tg%d %.2fx\n", np, c / a, nn, d / b
	}'
