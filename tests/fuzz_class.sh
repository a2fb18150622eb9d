#!/bin/sh
# Runs the classroom protocol's fuzz target over its seeds plus
# ${FUZZ_RUNS:-3000} mutations drawn from seed ${FUZZ_SEED:-1} (a fixed set
# of inputs: a failure reproduces exactly). `make fuzz` runs the same target
# under libFuzzer.
FUZZ_CRASH_DIR=${FUZZ_CRASH_DIR:-$(pwd)}
export FUZZ_CRASH_DIR
exec "${TOP_BUILDDIR:-.}/tests/fuzz_class" --runs "${FUZZ_RUNS:-3000}" --seed "${FUZZ_SEED:-1}" \
	--max-len 4096 "${TOP_SRCDIR:-.}/tests/fuzz-seeds/class"
