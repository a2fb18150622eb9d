#!/bin/sh
# Runs the fuzz target tests/fuzz_tok_json over its seeds plus ${FUZZ_RUNS:-20000}
# mutations drawn from seed ${FUZZ_SEED:-1}: a fixed set of inputs, so a
# failure reproduces exactly (TAP output from tests/fuzz_main.c).
exec "${TOP_BUILDDIR:-.}/tests/fuzz_tok_json" --runs "${FUZZ_RUNS:-20000}" --seed "${FUZZ_SEED:-1}" \
	"${TOP_SRCDIR:-.}/tests/fuzz-seeds/tok_json"
