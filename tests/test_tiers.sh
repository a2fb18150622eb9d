#!/bin/sh
# The kernel and golden tests again in every SIMD tier below the best one this
# CPU has (the best one runs in test_kernels and test_golden.sh themselves):
# RESIDUAL_SIMD lowers the tier, so an AVX-512 machine also checks what an
# AVX2-only or a scalar-only machine would run, and an AMX machine what an
# AVX-512 machine without AMX would.
b="${TOP_BUILDDIR:-.}"
s="${TOP_SRCDIR:-.}"
best=$(RESIDUAL_SIMD=amx "$b/tests/test_kernels" | sed -n 's/.*best on this CPU: \([a-z0-9]*\)).*/\1/p')
case $best in
amx) lower="scalar avx2 avx512" ;;
avx512) lower="scalar avx2" ;;
avx2) lower="scalar" ;;
scalar) lower="" ;;
*) echo "1..1"; echo "not ok 1 - test_kernels did not name the best tier"; exit 0 ;;
esac
echo "1..6"
n=0
tmp=$(mktemp "${TMPDIR:-/tmp}/rs-tiers.XXXXXX")
trap 'rm -f "$tmp"' EXIT
for tier in scalar avx2 avx512; do
	for t in kernels golden; do
		n=$((n + 1))
		case " $lower " in
		*" $tier "*) ;;
		*) echo "ok $n # SKIP $tier is not below this CPU's best tier ($best)"; continue ;;
		esac
		if [ $t = kernels ]; then
			RESIDUAL_SIMD=$tier "$b/tests/test_kernels" >"$tmp" 2>&1
		else
			RESIDUAL_SIMD=$tier sh "$s/tests/test_golden.sh" >"$tmp" 2>&1
		fi
		rc=$?
		if [ $rc = 0 ] && grep -q '^1\.\.0 # SKIP' "$tmp"; then
			echo "ok $n # SKIP $tier: test_$t skipped: $(sed -n 's/^1\.\.0 # SKIP //p' "$tmp")"
		elif [ $rc = 0 ] && ! grep '^not ok' "$tmp" | grep -qv '# TODO' && grep -q "^ok" "$tmp"; then
			echo "ok $n - $tier: test_$t passes ($(grep -c '^ok' "$tmp") checks)"
		else
			echo "not ok $n - $tier: test_$t (exit $rc)"
			grep -E '^not ok|^#' "$tmp" | head -20 | sed 's/^/# /'
		fi
	done
done
