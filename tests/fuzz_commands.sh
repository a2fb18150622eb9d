#!/bin/sh
# Runs the command-language fuzz target over its seeds plus random mutations
# for ${FUZZ_SECONDS:-3} seconds (TAP output from tests/fuzz_main.c).
FUZZ_CRASH_DIR=${FUZZ_CRASH_DIR:-$(pwd)}
export FUZZ_CRASH_DIR
exec "${TOP_BUILDDIR:-.}/tests/fuzz_commands" --seconds "${FUZZ_SECONDS:-3}" --seed "${FUZZ_SEED:-1}" \
	--max-len 512 "${TOP_SRCDIR:-.}/tests/fuzz-seeds/commands"
