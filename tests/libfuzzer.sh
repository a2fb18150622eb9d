#!/bin/sh
# make fuzz: coverage-guided fuzzing of the file boundary and the command line
# with clang's libFuzzer under AddressSanitizer + UndefinedBehaviorSanitizer
# (+ -fsanitize=integer where the compiler has it). The targets are the same
# sources as the make-check fuzzers (tests/fuzz_*.c, one
# LLVMFuzzerTestOneInput each); libFuzzer brings its own main.
#
#   make fuzz [FUZZ_SECONDS=60] [FUZZ_TARGETS="gguf st ..."] [FUZZ_SEED=1] [FUZZ_JOBS=N]
#
# Builds the library with clang in build-fuzz/ (in the configured build
# directory, from the sources and flags its Makefile lists),
# then runs each target for FUZZ_SECONDS from its seeds (tests/fuzz-seeds/*),
# keeping what it learns in build-fuzz/corpus/TARGET. A finding (crash,
# sanitizer report, input over 5 s, a single allocation over 256 MB) is
# written to build-fuzz/findings/ and fails the run; add it to the seeds and
# to a regression test once fixed. Prints executions per target.
set -eu
src=$(cd "${TOP_SRCDIR:-$(dirname "$0")/..}" && pwd)
top=$(pwd)
build=${FUZZ_BUILD:-$top/build-fuzz}
secs=${FUZZ_SECONDS:-60}
targets=${FUZZ_TARGETS:-gguf st config tok_json tok_encode lesson commands class}
cc=${FUZZ_CC:-clang}
command -v "$cc" >/dev/null || { echo "make fuzz needs clang (apt-get install clang)"; exit 1; }

san="-fsanitize=address,undefined -fno-sanitize-recover=all -fno-omit-frame-pointer"
# -fsanitize=integer: unsigned wraps and implicit conversions too (clang only);
# the few intended wraps (hashes, random numbers) carry
# __attribute__((no_sanitize("integer"))) where they are.
if echo 'int main(void){return 0;}' | "$cc" -fsanitize=integer -x c - -o /dev/null 2>/dev/null; then
	san="$san -fsanitize=integer"
fi
# FUZZ_SURVEY=1: integer reports print and fuzzing goes on (to list them all)
[ "${FUZZ_SURVEY:-0}" = 1 ] && san="$san -fsanitize-recover=integer"
cflags="-O1 -g $san"

mkdir -p "$build/findings"
# The library's sources and flags as the configured build has them (run from
# its build directory); compiled again with clang and the sanitizers.
mkvar() { printf 'p:\n\t@echo $(%s)\n' "$1" | make -s -f Makefile -f - p; }
# (the layers below the screen: core, interp, train, session, lesson; one archive here)
sources="$(mkvar libcore_a_SOURCES) $(mkvar libinterp_a_SOURCES) $(mkvar libtrain_a_SOURCES) $(mkvar libsession_a_SOURCES) $(mkvar liblesson_a_SOURCES)"
mkdir -p "$build/obj"
# the compiler's flags, in a response file (clang reads @FILE) to keep the quoting simple
rsp="$build/cflags.rsp"
{
	printf '%s\n' $cflags $(mkvar OPENMP_CFLAGS) $(mkvar DEFS) -fsanitize=fuzzer-no-link -w
	printf '%s\n' "-I$top" "-I$src/include" "-I$src/tests"
	printf -- '-DPKGDATADIR=\\"%s\\"\n-DSRCDIR=\\"%s\\"\n' "$(mkvar pkgdatadir)" "$src"
	printf '%s\n' $(mkvar BLAS_CFLAGS) $(mkvar CJSON_CFLAGS) $(mkvar CURSES_CFLAGS) $(mkvar READLINE_CFLAGS)
	# clang 14 lacks __builtin_cpu_supports("f16c"): the fuzz build takes the
	# kernels' portable path (the loaders are what is fuzzed)
	printf '%s\n' '-D__builtin_cpu_supports(x)=0'
} >"$rsp.new"
cmp -s "$rsp.new" "$rsp" && rm "$rsp.new" || mv "$rsp.new" "$rsp" # new flags: everything again
libs="$(mkvar OPENMP_CFLAGS) $(mkvar LIBS) $(mkvar READLINE_LIBS) $(mkvar CURSES_LIBS) $(mkvar BLAS_LIBS) $(mkvar CJSON_LIBS) -lm"
echo "== building the library with $cc ($san)"
objs=""
todo=""
for f in $sources; do
	case $f in *.c) ;; *) continue ;; esac
	o="$build/obj/$(echo "${f%.c}" | tr / _).o"
	objs="$objs $o"
	if [ ! -f "$o" ] || [ -n "$(find "$src/$f" "$src/include" "$top/config.h" "$rsp" -newer "$o" \( -name '*.[ch]' -o -name '*.rsp' \) 2>/dev/null | head -1)" ]; then
		todo="$todo $src/$f:$o"
	fi
done
# shellcheck disable=SC2086
printf '%s\n' $todo | xargs -r -n1 -P "${FUZZ_JOBS:-$(nproc)}" sh -c 'exec "$0" @"$1" -c "${2%%:*}" -o "${2#*:}"' "$cc" "$rsp"
if [ -n "$todo" ] || [ ! -f "$build/libresidual.a" ]; then
	rm -f "$build/libresidual.a"
	# shellcheck disable=SC2086
	ar cr "$build/libresidual.a" $objs
fi

bin() { # target name -> program
	case $1 in gguf | st | config) echo model ;; *) echo "$1" ;; esac
}
seeds() {
	case $1 in gguf | st | config) echo "$src/tests/fuzz-seeds/model_$1" ;; *) echo "$src/tests/fuzz-seeds/$1" ;; esac
}

fail=0
summary=""
for t in $targets; do
	b=$(bin "$t")
	if [ ! -x "$build/fuzz_$b" ] || [ "$src/tests/fuzz_$b.c" -nt "$build/fuzz_$b" ] ||
		[ "$build/libresidual.a" -nt "$build/fuzz_$b" ] || [ "$src/tests/fuzz_main.c" -nt "$build/fuzz_$b" ]; then
		# shellcheck disable=SC2086
		"$cc" @"$rsp" -fsanitize=fuzzer "$src/tests/fuzz_$b.c" -o "$build/fuzz_$b" "$build/libresidual.a" $libs
	fi
	corpus="$build/corpus/$t"
	mkdir -p "$corpus"
	max_len=65536
	[ "$t" = commands ] && max_len=512
	echo "== $t: $secs s"
	log="$build/fuzz-$t.log"
	if (cd "$build" && FUZZ_MODEL_KIND=$t FIXTURES="${FIXTURES:-$src/../shared/fixtures}" \
		ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=$((1 - ${FUZZ_SURVEY:-0})) \
		"$build/fuzz_$b" -max_total_time="$secs" -seed="${FUZZ_SEED:-1}" -timeout=5 -malloc_limit_mb=256 -rss_limit_mb=2048 \
		-max_len=$max_len -print_final_stats=1 -artifact_prefix="$build/findings/$t-" \
		"$corpus" "$(seeds "$t")") >"$log" 2>&1; then
		status=ok
	else
		status=FINDING
		fail=1
		grep -E 'ERROR|runtime error|Test unit written|SUMMARY' "$log" | head -8
	fi
	[ "${FUZZ_SURVEY:-0}" = 1 ] && grep 'runtime error' "$log" | sort -u | head -20
	execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -1)
	summary="$summary$(printf '%-11s %10s executions  %s' "$t" "${execs:-?}" "$status")
"
done
echo "== libFuzzer, $secs s a target (logs in $build/fuzz-*.log)"
printf '%s' "$summary"
exit $fail
