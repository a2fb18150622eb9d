#!/bin/sh
# Runs the fuzz target tests/fuzz_lesson over its seeds plus ${FUZZ_RUNS:-3000}
# mutations drawn from seed ${FUZZ_SEED:-1}: a fixed set of inputs, so a
# failure reproduces exactly (TAP output from tests/fuzz_main.c).
FUZZ_CRASH_DIR=${FUZZ_CRASH_DIR:-$(pwd)}
export FUZZ_CRASH_DIR
exec "${TOP_BUILDDIR:-.}/tests/fuzz_lesson" --runs "${FUZZ_RUNS:-3000}" --seed "${FUZZ_SEED:-1}" \
	"${TOP_SRCDIR:-.}/tests/fuzz-seeds/lesson"
