#!/bin/sh
# Runs the fuzz target tests/fuzz_tok_encode over its seeds plus random mutations for
# ${FUZZ_SECONDS:-3} seconds (TAP output from tests/fuzz_main.c).
exec "${TOP_BUILDDIR:-.}/tests/fuzz_tok_encode" --seconds "${FUZZ_SECONDS:-3}" --seed "${FUZZ_SEED:-1}" \
	"${TOP_SRCDIR:-.}/tests/fuzz-seeds/tok_encode"
