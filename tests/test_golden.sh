#!/bin/sh
# Every hook agrees with Hugging Face, loaded from the Hugging Face folder and
# from the GGUF that `residual convert` writes of it (see test_golden.c).
fix=${FIXTURES:-../shared/fixtures}
if [ ! -d "$fix/hf-golden" ]; then
	echo "1..0 # SKIP Hugging Face fixtures not found (set FIXTURES)"
	exit 0
fi
tmp=$(mktemp -d "${TMPDIR:-/tmp}/rs-golden.XXXXXX")
trap 'rm -rf "$tmp"' EXIT
args=
for dir in "$fix"/hf-golden/*/; do
	case=$(basename "$dir")
	if ! "$RESIDUAL" convert "$dir" "$tmp/$case.gguf" >"$tmp/convert.log" 2>&1; then
		echo "1..1"
		echo "not ok 1 - residual convert $case: $(cat "$tmp/convert.log")"
		exit 1
	fi
	args="$args $case=$tmp/$case.gguf"
done
# shellcheck disable=SC2086
exec "$TOP_BUILDDIR/tests/test_golden" $args
