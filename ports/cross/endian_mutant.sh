#!/bin/sh
# Proves that make cross can fail: a copy of the library with an endian bug
# put in on purpose (the masking key read as a little-endian word, which is
# what a native read gives on x86 and ARM but not on s390x) must fail the
# s390x run, and still pass on this little-endian host. The working tree is
# not touched: the copy is under OUTDIR.
#   endian_mutant.sh MAKE OUTDIR
# Prints "cross-endian-mutant: 1 passed, 0 failed" when s390x catches it.
# Env: WARN (the Makefile's warning flags), HOSTCC.
set -u
make=$1 dir=$2
tests="test_frame test_conn test_hostile"
mkdir -p "$dir"
dir=$(cd "$dir" && pwd)
src=$dir/src
rm -rf "$src" && mkdir -p "$src" && cp -R Makefile include libws test "$src"/ || exit 1
# ws__key32(): memcpy (byte i of the key is byte i of the word in memory, on
# any machine) becomes an assembly of the bytes as little-endian.
sed -i 's/^\tmemcpy(&k, key, 4);$/\tk = (uint32_t)key[0] | (uint32_t)key[1] << 8 | (uint32_t)key[2] << 16 | (uint32_t)key[3] << 24; \/* MUTANT *\//' \
	"$src/libws/simd.h"
if ! grep -q MUTANT "$src/libws/simd.h"; then
	echo "cross-endian-mutant: 0 passed, 1 failed (the mutation no longer applies to libws/simd.h)"
	exit 1
fi
echo "mutant: libws/simd.h ws__key32() reads the masking key as a little-endian word:"
grep MUTANT "$src/libws/simd.h" | sed 's/^[[:space:]]*/    /'

# s390x: WS_DEFLATE=0 and the stand-in crypto, so it needs no target libraries.
s390x-linux-gnu-gcc -std=c99 -O2 $WARN -Iinclude -c ports/mcu/crypto_standin.c -o "$dir/standin_s390x.o" &&
${HOSTCC:-cc} -std=c99 -O2 $WARN -Iinclude -c ports/mcu/crypto_standin.c -o "$dir/standin_host.o" || exit 1
sb= hb=
for x in $tests; do sb="$sb $dir/s390x/test/$x" hb="$hb $dir/host/test/$x"; done
if ! (cd "$src" && $make --no-print-directory BUILD="$dir/s390x" CC=s390x-linux-gnu-gcc WS_DEFLATE=0 \
	CFLAGS=-DWS_CRYPTO_HOOK=1 LIBS="-static $dir/standin_s390x.o" $sb &&
	$make --no-print-directory BUILD="$dir/host" CC="${HOSTCC:-cc}" WS_DEFLATE=0 \
	CFLAGS=-DWS_CRYPTO_HOOK=1 LIBS="$dir/standin_host.o" $hb) >"$dir/build.log" 2>&1; then
	tail -n 20 "$dir/build.log" | sed 's/^/  /'
	echo "cross-endian-mutant: 0 passed, 1 failed (build)"
	exit 1
fi

# The runs' summary lines are reworded ("name (N passed, M failed)") so that
# the mutant's failures do not count in make check's sum.
caught=0 host_bad=0
for x in $tests; do
	out=$(sh ports/cross/run1.sh "s390x/$x" qemu-s390x "$dir/s390x/test/$x")
	rc=$?
	line=$(printf '%s\n' "$out" | grep ': [0-9]* passed, [0-9]* failed$' | tail -n 1)
	case "$rc:$line" in
	"0:"*" 0 failed") echo "  s390x mutant $x: not caught (${line#*: })" ;;
	*) caught=$((caught + 1))
	   echo "  s390x mutant $x: CAUGHT (${line#*: }${line:+, }exit $rc)"
	   printf '%s\n' "$out" | grep -v ': [0-9]* passed, [0-9]* failed$' | head -n 6 | sed 's/^/      /' ;;
	esac
	out=$("$dir/host/test/$x" 2>&1)
	rc=$?
	line=$(printf '%s\n' "$out" | grep ': [0-9]* passed, [0-9]* failed$' | tail -n 1)
	case "$rc:$line" in
	"0:"*" 0 failed") echo "  host (little-endian) mutant $x: passes (${line#*: })" ;;
	*) host_bad=1; echo "  host (little-endian) mutant $x: fails (${line#*: }, exit $rc)" ;;
	esac
done
if [ $caught -gt 0 ] && [ $host_bad -eq 0 ]; then
	echo "cross-endian-mutant: 1 passed, 0 failed (caught by $caught of the s390x tests, unseen on the host)"
else
	echo "cross-endian-mutant: 0 passed, 1 failed (caught by $caught s390x tests; host failures: $host_bad)"
	exit 1
fi
