#!/bin/sh
# compare-llamacpp.sh: llama.cpp's llama-bench and `residual bench` on the same GGUF files,
# side by side on this machine, in alternating rounds, with the load average beside each run.
#
#   bench/compare-llamacpp.sh [-b LLAMA_BUILD] [-r ROUNDS] [-R REPS] [-t THREADS]
#                             [-p PROMPT] [-n DECODE] [-f] (--make DIR | MODEL.gguf...)
#
# -b   a llama.cpp CMake build folder (llama-bench, llama-quantize in it or its bin/);
#      default $LLAMA_CPP_BUILD. This script downloads and builds nothing; with neither
#      it says so and exits 0. To build one:
#        git clone https://github.com/ggml-org/llama.cpp && cd llama.cpp &&
#        cmake -B build -DCMAKE_BUILD_TYPE=Release -DGGML_NATIVE=ON -DLLAMA_CURL=OFF &&
#        cmake --build build -j --target llama-bench llama-quantize
# -r   rounds (default 3). Each round runs llama-bench once and `residual bench` once,
#      the order swapped every round (llama.cpp first in odd rounds), so on a shared
#      machine both programs see the same disturbance.
# -R   repetitions inside each run (default 2; llama-bench adds its own warm-up run).
# -t   threads for both (default: all CPUs). -p / -n: prompt and decode tokens (128 / 32).
# -f   also residual's opt-in --fast decode (8-bit activations, as llama.cpp; not the
#      exact f32 computation): an extra column and ratio "tg fast".
# --make DIR  writes (or reuses) the issue's three files in DIR and compares them:
#      1b-f16.gguf and 1b-q8_0.gguf by `residual random-model --shape llama3.2-1b`
#      (Llama 3.2 1B shapes, random weights), 1b-q4_k_m.gguf by llama-quantize from the
#      F16 file (llama.cpp's own Q4_K_M), or by bench/kquant when the build has no
#      llama-quantize (same layout, a simpler quantizer; the script says which).
#
# Output: one line per run (tokens/s of every repetition, load average before it), then
# per file the median and the best repetition of each program and residual / llama.cpp
# for both. On a quiet machine the two agree; when they differ, other work was running
# (see the load averages) and the best repetitions are the less disturbed comparison.
#
# RESIDUAL overrides the residual binary (default: ../residual beside this script).
# llama.cpp (at least up to 2025) may refuse a GGUF without tokenizer.ggml.model; if a file
# has none, llama-bench gets a copy in $TMPDIR with two keys added at the front of the
# key/value section: tokenizer.ggml.model = "none" (llama.cpp's "no vocab" type) and
# general.description, whose only job is to make the insertion 96 bytes, a multiple of the
# 32-byte alignment, so the tensor data stays aligned without rewriting the header.
# Set NO_KEY_COPY=1 to give llama-bench the file as it is.

set -u

usage() {
	echo "usage: $0 [-b LLAMA_BUILD] [-r ROUNDS] [-R REPS] [-t THREADS] [-p N] [-n N] [-f] (--make DIR | MODEL.gguf...)" >&2
	exit 2
}

build=${LLAMA_CPP_BUILD:-}
np=128 nn=32 reps=2 rounds=3 make= fast=
threads=$(getconf _NPROCESSORS_ONLN 2>/dev/null || echo 1)
while [ $# -gt 0 ]; do
	case $1 in
	-b | -r | -R | -t | -p | -n | --make)
		[ $# -ge 2 ] || usage
		case $1 in
		-b) build=$2 ;; -r) rounds=$2 ;; -R) reps=$2 ;; -t) threads=$2 ;;
		-p) np=$2 ;; -n) nn=$2 ;; --make) make=$2 ;;
		esac
		shift 2 ;;
	-f) fast=--fast; shift ;;
	-h | --help) sed -n '2,/^$/s/^# \{0,1\}//p' "$0"; exit 0 ;;
	-*) usage ;;
	*) break ;;
	esac
done
for v in "$rounds" "$reps" "$threads" "$np" "$nn"; do
	case $v in '' | *[!0-9]*) echo "error: '$v' is not a whole number" >&2; exit 2 ;; esac
done
[ "$rounds" -ge 1 ] && [ "$reps" -ge 1 ] && [ "$threads" -ge 1 ] || usage
[ -n "$make" ] || [ $# -ge 1 ] || usage

if [ -z "$build" ]; then
	echo "skipped: no llama.cpp build (give -b DIR or set LLAMA_CPP_BUILD)"
	exit 0
fi

tool() {
	for f in "$build/bin/$1" "$build/$1"; do
		if [ -x "$f" ]; then echo "$f"; return 0; fi
	done
	return 1
}
lbench=$(tool llama-bench) || { echo "error: no llama-bench in $build or its bin/" >&2; exit 1; }

here=$(cd "$(dirname "$0")" && pwd)
residual=${RESIDUAL:-$here/../residual}
[ -x "$residual" ] || { echo "error: no residual binary at $residual (make residual)" >&2; exit 1; }

tmpfiles=
cleanup() { [ -z "$tmpfiles" ] || rm -f $tmpfiles; }
trap cleanup EXIT
trap 'exit 130' INT TERM

# --- the three files of the issue ------------------------------------------------------

made_with=
if [ -n "$make" ]; then
	mkdir -p "$make" || exit 1
	for t in f16 q8_0; do
		f=$make/1b-$t.gguf
		[ -s "$f" ] && continue
		echo "writing $f" >&2
		"$residual" random-model --shape llama3.2-1b --type $t -o "$f.part" >&2 && mv "$f.part" "$f" || exit 1
	done
	f=$make/1b-q4_k_m.gguf
	if [ -s "$f" ]; then
		made_with="Q4_K_M: existing $f ($(cat "$f.how" 2>/dev/null || echo "made elsewhere"))"
	elif q=$(tool llama-quantize); then
		echo "writing $f (llama-quantize)" >&2
		"$q" "$make/1b-f16.gguf" "$f.part" Q4_K_M > "$make/quantize.log" 2>&1 && mv "$f.part" "$f" ||
			{ echo "error: llama-quantize failed, see $make/quantize.log" >&2; exit 1; }
		made_with="Q4_K_M: llama-quantize from the F16 file"
		echo "llama-quantize from the F16 file" > "$f.how"
	elif [ -x "$here/kquant" ]; then
		echo "writing $f (bench/kquant: no llama-quantize in $build)" >&2
		"$here/kquant" "$make/1b-f16.gguf" "$f.part" >&2 && mv "$f.part" "$f" || exit 1
		made_with="Q4_K_M: bench/kquant from the F16 file (llama.cpp's layout, a min/max quantizer)"
		echo "bench/kquant from the F16 file" > "$f.how"
	else
		echo "error: neither llama-quantize in $build nor bench/kquant (make bench/kquant)" >&2
		exit 1
	fi
	set -- "$make/1b-f16.gguf" "$make/1b-q8_0.gguf" "$f"
fi

# --- a GGUF llama.cpp will load ---------------------------------------------------------

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

# does the header (first 8 MiB) of $1 name key $2?
has_key() {
	dd if="$1" bs=1048576 count=8 2>/dev/null |
		LC_ALL=C tr -c 'A-Za-z0-9._-' '\n' | grep -qx "$2"
}

# print the file llama-bench should read for $1
llama_file() {
	model=$1
	if [ -n "${NO_KEY_COPY:-}" ] || has_key "$model" 'tokenizer\.ggml\.model'; then
		echo "$model"
		return 0
	fi
	magic=$(dd if="$model" bs=4 count=1 2>/dev/null)
	ver=$(od -An -tu1 -j4 -N1 "$model" | tr -d ' ')
	# shellcheck disable=SC2015
	[ "$magic" = GGUF ] && [ "$ver" -ge 2 ] || { echo "error: $model is not GGUF v2/v3" >&2; return 1; }
	if has_key "$model" 'general\.alignment'; then
		echo "error: $model sets general.alignment; try NO_KEY_COPY=1" >&2
		return 1
	fi
	nkv=0 m=1
	for b in $(od -An -tu1 -j16 -N8 "$model"); do
		nkv=$((nkv + b * m)); m=$((m * 256))
	done
	tmp=$(mktemp "${TMPDIR:-/tmp}/compare-llamacpp.XXXXXX") || return 1
	tmpfiles="$tmpfiles $tmp"
	echo "note: $model has no tokenizer.ggml.model; llama-bench reads a copy with" \
		"tokenizer.ggml.model = \"none\" ($tmp)" >&2
	{
		dd if="$model" bs=16 count=1 2>/dev/null
		le64 $((nkv + 2))
		kv_str tokenizer.ggml.model none             # 44 bytes
		kv_str general.description 'no tokenizer.'   # 52 bytes
		tail -c +25 "$model"
	} > "$tmp" || { echo "error: cannot write $tmp" >&2; return 1; }
	echo "$tmp"
}

# --- runs ---------------------------------------------------------------------------------

load1() { uptime | sed 's/.*load average[s]*: *//; s/,.*//'; }

# awk: a comma-separated list of numbers with one decimal each
tidy='function tidy(s,   a, n, i, o) { n = split(s, a, ","); o = ""
	for (i = 1; i <= n; i++) o = o (i > 1 ? "," : "") sprintf("%.1f", a[i]); return o }
'

# llama-bench -o jsonl on stdin: "pp SAMPLES" and "tg SAMPLES" lines (tokens/s, comma-separated)
lparse() {
	awk "$tidy"'
	function num(key,   s) {
		s = $0
		if (!sub(".*\"" key "\": *", "", s)) return ""
		sub("[,}].*", "", s)
		return s + 0
	}
	function samples(   s) {
		s = $0
		if (!sub(".*\"samples_ts\": *\\[ *", "", s)) return num("avg_ts")
		sub(" *\\].*", "", s)
		gsub(" ", "", s)
		return s
	}
	/"n_prompt"/ { print (num("n_gen") > 0 ? "tg" : "pp"), tidy(samples()) }'
}

# residual bench --json on stdin: the same two lines
rparse() {
	awk "$tidy"'
	/"prefill_samples"|"decode_samples"|"fast_decode_samples"/ {
		key = /fast/ ? "tf" : /prefill/ ? "pp" : "tg"
		s = $0; sub(".*\\[", "", s); sub("\\].*", "", s)
		print key, tidy(s)
	}'
}

results=$(mktemp "${TMPDIR:-/tmp}/compare-llamacpp-res.XXXXXX") || exit 1
info=$results
tmpfiles="$tmpfiles $results $info.llama $info.simd"

cpu=$(sed -n 's/^model name[^:]*: *//p' /proc/cpuinfo 2>/dev/null | head -1)
echo "cpu      ${cpu:-unknown}, $(getconf _NPROCESSORS_ONLN 2>/dev/null) CPUs"
echo "llama.cpp $lbench"
echo "residual $residual${RESIDUAL_SIMD:+ (RESIDUAL_SIMD=$RESIDUAL_SIMD)}${OPENBLAS_CORETYPE:+ (OPENBLAS_CORETYPE=$OPENBLAS_CORETYPE)}"
[ -z "$made_with" ] || echo "files    $made_with"
echo "runs     $threads threads, pp$np and tg$nn, $rounds rounds x $reps repetitions, tokens/s of each repetition;"
echo "         load = 1-minute load average just before the run (more than $threads: other work shares the CPUs)"
echo

run_llama() {
	out=$("$lbench" -m "$2" -t "$threads" -p "$np" -n "$nn" -r "$reps" -o jsonl 2>/dev/null) ||
		{ echo "error: llama-bench failed on $2 (run it by hand to see why)" >&2; return 1; }
	printf '%s\n' "$out" | grep -q '"n_prompt"' ||
		{ echo "error: llama-bench printed no results for $2" >&2; return 1; }
	printf '%s\n' "$out" | head -1 | sed -n 's/.*"build_commit":[[:space:]]*"\([^"]*\)".*/\1/p' > "$info.llama"
	printf '%s\n' "$out" | lparse
}

run_residual() {
	out=$("$residual" bench --model "$1" -p "$np" -n "$nn" -r "$reps" --threads "$threads" --step 0 $fast \
		--no-reference --json 2>/dev/null) || { echo "error: residual bench failed on $1" >&2; return 1; }
	printf '%s\n' "$out" | sed -n 's/.*"simd":[[:space:]]*"\([^"]*\)".*/\1/p' > "$info.simd"
	printf '%s\n' "$out" | rparse
}

printf '%-14s %-9s %5s %5s   %-24s %-24s %s\n' file program round load "pp$np tok/s" "tg$nn tok/s" "${fast:+tg$nn --fast tok/s}"
for model in "$@"; do
	[ -r "$model" ] || { echo "error: cannot read $model" >&2; exit 1; }
	lmodel=$(llama_file "$model") || exit 1
	name=$(basename "$model" .gguf)
	k=1
	while [ "$k" -le "$rounds" ]; do
		if [ $((k % 2)) -eq 1 ]; then order="llama.cpp residual"; else order="residual llama.cpp"; fi
		for prog in $order; do
			l=$(load1)
			if [ "$prog" = llama.cpp ]; then
				lines=$(run_llama "$model" "$lmodel") || exit 1
			else
				lines=$(run_residual "$model") || exit 1
			fi
			pp=$(printf '%s\n' "$lines" | awk '$1 == "pp" { print $2 }')
			tg=$(printf '%s\n' "$lines" | awk '$1 == "tg" { print $2 }')
			tf=$(printf '%s\n' "$lines" | awk '$1 == "tf" { print $2 }')
			printf '%-14s %-9s %5d %5s   %-24s %-24s %s\n' "$name" "$prog" "$k" "$l" "${pp:--}" "${tg:--}" "${tf:-}"
			echo "$name $prog $k $l ${pp:--} ${tg:--} ${tf:--}" >> "$results"
		done
		k=$((k + 1))
	done
done

echo
echo "llama.cpp commit $(cat "$info.llama" 2>/dev/null); residual's SIMD kernels: $(cat "$info.simd" 2>/dev/null)"
echo
# per file: median and best over every repetition of every round, the ratio of each, and the
# range of the load averages
awk -v np="$np" -v nn="$nn" '
	function med(s,   a, n, i, j, t) {
		n = split(s, a, ",")
		for (i = 2; i <= n; i++) for (j = i; j > 1 && a[j-1] + 0 > a[j] + 0; j--) { t = a[j]; a[j] = a[j-1]; a[j-1] = t }
		return n % 2 ? a[(n + 1) / 2] : (a[n / 2] + a[n / 2 + 1]) / 2
	}
	function best(s,   a, n, i, b) {
		n = split(s, a, ","); b = 0
		for (i = 1; i <= n; i++) if (a[i] + 0 > b) b = a[i] + 0
		return b
	}
	function add(k, v) { all[k] = (k in all) ? all[k] "," v : v }
	{
		if (!($1 in seen)) { seen[$1] = 1; order[++nf] = $1 }
		add($1 SUBSEP $2 SUBSEP "pp", $5); add($1 SUBSEP $2 SUBSEP "tg", $6)
		if ($2 == "residual" && $7 != "-") { add($1 SUBSEP "tf", $7); hasf = 1 }
		if (!($1 in lo) || $4 < lo[$1]) lo[$1] = $4
		if (!($1 in hi) || $4 > hi[$1]) hi[$1] = $4
	}
	END {
		printf "| file | llama.cpp pp%d / tg%d | residual pp%d / tg%d | ratio pp / tg | load |%s\n", np, nn, np, nn,
			hasf ? " residual tg --fast | ratio |" : ""
		print "|---|---|---|---|---|" (hasf ? "---|---|" : "")
		for (i = 1; i <= nf; i++) {
			f = order[i]
			for (w = 0; w < 2; w++) {
				lp = w ? best(all[f, "llama.cpp", "pp"]) : med(all[f, "llama.cpp", "pp"])
				lt = w ? best(all[f, "llama.cpp", "tg"]) : med(all[f, "llama.cpp", "tg"])
				rp = w ? best(all[f, "residual", "pp"]) : med(all[f, "residual", "pp"])
				rt = w ? best(all[f, "residual", "tg"]) : med(all[f, "residual", "tg"])
				what = w ? "best" : "median"
				xp = lp > 0 ? rp / lp : 0
				xt = lt > 0 ? rt / lt : 0
				printf "| %s (%s) | %.1f / %.1f | %.1f / %.1f | %.2fx / %.2fx | %s-%s |", f, what, lp, lt, rp, rt, xp, xt, lo[f], hi[f]
				if (hasf) {
					rf = w ? best(all[f, "tf"]) : med(all[f, "tf"])
					printf " %.1f | %.2fx |", rf, (lt > 0 ? rf / lt : 0)
				}
				printf "\n"
			}
		}
	}' "$results"
