#!/bin/sh
# Fuzzes the model loaders for ${FUZZ_SECONDS:-3} seconds each: GGUF files,
# safetensors files (in a folder with a fixed config.json), config.json.
b="${TOP_BUILDDIR:-.}/tests/fuzz_model"
s="${TOP_SRCDIR:-.}/tests/fuzz-seeds"
t=${FUZZ_SECONDS:-3}
echo "1..3"
n=0
for kind in gguf st config; do
	n=$((n + 1))
	if FUZZ_MODEL_KIND=$kind "$b" --seconds "$t" --seed "${FUZZ_SEED:-1}" "$s/model_$kind" >"fuzz_model_$kind.out" 2>&1 &&
		grep -q '^ok' "fuzz_model_$kind.out"; then
		echo "ok $n - $kind loader: $(grep '^ok' "fuzz_model_$kind.out" | sed 's/^ok [0-9]* - //')"
	else
		echo "not ok $n - $kind loader: $(tail -3 "fuzz_model_$kind.out" | tr '\n' ' ')"
	fi
	rm -f "fuzz_model_$kind.out"
done
