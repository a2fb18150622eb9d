#!/bin/sh
# Runs the command-language fuzz target over its seeds plus ${FUZZ_RUNS:-3000}
# mutations drawn from seed ${FUZZ_SEED:-1}: a fixed set of inputs, so a
# failure reproduces exactly (TAP output from tests/fuzz_main.c, which prints
# how to rerun a failing input). `make fuzz` runs the same target under libFuzzer.
FUZZ_CRASH_DIR=${FUZZ_CRASH_DIR:-$(pwd)}
export FUZZ_CRASH_DIR
exec "${TOP_BUILDDIR:-.}/tests/fuzz_commands" --runs "${FUZZ_RUNS:-3000}" --seed "${FUZZ_SEED:-1}" \
	--max-len 512 "${TOP_SRCDIR:-.}/tests/fuzz-seeds/commands"
