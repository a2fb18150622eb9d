#!/bin/sh
# Fuzzes the model loaders: GGUF files, safetensors files (in a folder with a
# fixed config.json), config.json; each over its seeds plus ${FUZZ_RUNS:-10000}
# mutations drawn from seed ${FUZZ_SEED:-1}: a fixed set of inputs, so a
# failure reproduces exactly (tests/fuzz_main.c prints how to rerun it).
b="${TOP_BUILDDIR:-.}/tests/fuzz_model"
s="${TOP_SRCDIR:-.}/tests/fuzz-seeds"
FUZZ_CRASH_DIR=${FUZZ_CRASH_DIR:-$(pwd)}
export FUZZ_CRASH_DIR
echo "1..3"
n=0
for kind in gguf st config; do
	n=$((n + 1))
	if FUZZ_MODEL_KIND=$kind "$b" --runs "${FUZZ_RUNS:-10000}" --seed "${FUZZ_SEED:-1}" "$s/model_$kind" \
		>"fuzz_model_$kind.out" 2>&1 && grep -q '^ok' "fuzz_model_$kind.out"; then
		echo "ok $n - $kind loader: $(grep '^ok' "fuzz_model_$kind.out" | sed 's/^ok [0-9]* - //')"
	else
		echo "not ok $n - $kind loader (FUZZ_MODEL_KIND=$kind):"
		sed 's/^/# /' "fuzz_model_$kind.out" | tail -20
	fi
	rm -f "fuzz_model_$kind.out"
done
