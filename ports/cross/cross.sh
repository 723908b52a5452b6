#!/bin/sh
# make cross: the library and its unit tests cross-built for one target and
# run under emulation (ports/cross/cross.mk).
#   cross.sh TARGET MAKE OUTDIR      TARGET: s390x i686 armhf aarch64 windows
# Linux targets run under qemu-user, statically linked. zlib and mbedTLS come
# from Debian's packages for the target's architecture (zlib1g-dev:s390x,
# libmbedtls-dev:s390x, ...), fetched with apt-get download and unpacked
# under OUTDIR (nothing is installed: the multiarch copies would have to be
# the very version of the host's, which the mirrors do not always carry);
# that needs the architecture added to dpkg (scripts/deps.sh does it). Where
# they cannot be had: WS_DEFLATE=0 and the crypto hook on the test stand-in
# (ports/mcu/crypto_standin.c). The first line says which.
# Windows: mingw-w64, permessage-deflate with libz-mingw-w64-dev, the crypto
# hook on CNG (ports/windows/crypto_cng.c), run under Wine in the prefix
# make windows uses; the CNG hook is also checked against mbedTLS
# (check_cng.c).
# Env: WARN (the Makefile's warning flags), HOSTCC; CROSS_TESTS (the tests to
# run), CROSS_NO_TARGET_LIBS=1 (build as if the target's libraries were missing).
set -u
t=$1 make=$2 top=$3
out=$top/$t
mkdir -p "$out"
out=$(cd "$out" && pwd)
tests="test_frame test_conformance test_utf8 test_handshake test_conn test_simd test_hostile
       test_contract test_deflate test_inflate_oracle"
opt=-O2
case $t in
s390x) cc=s390x-linux-gnu-gcc deb=s390x tri=s390x-linux-gnu run=qemu-s390x ;;
i686) cc=i686-linux-gnu-gcc deb=i386 tri=i386-linux-gnu run=qemu-i386 ;;
armhf) cc=arm-linux-gnueabihf-gcc deb=armhf tri=arm-linux-gnueabihf run=qemu-arm ;;
aarch64) cc=aarch64-linux-gnu-gcc deb=arm64 tri=aarch64-linux-gnu run=qemu-aarch64 ;;
# Debian's wine64 package puts the 64-bit loader here (/usr/bin/wine wants wine32).
windows) cc=x86_64-w64-mingw32-gcc deb= tri= run=$(ls /usr/lib/wine/wine64 2>/dev/null || echo wine64) ;;
*) echo "cross.sh: unknown target $t" >&2; exit 2 ;;
esac
# Emulated, the unit tests run 5 to 50 times slower: T_SPARSE (test/harness.h)
# samples their exhaustive loops and split points, as make memcheck does;
# what each checks is the same. CROSS_TESTS="..." runs a given list.
T_SPARSE=${T_SPARSE-1}
export T_SPARSE
tests=${CROSS_TESTS:-$tests}
for tool in $cc $run; do
	command -v "$tool" >/dev/null || { echo "$t: 0 passed, 1 failed ($tool not installed: scripts/deps.sh all)"; exit 1; }
done

sys=$out/sysroot
cflags= libs= what=
if [ -n "$deb" ]; then
	# The target's zlib and mbedTLS, once.
	if [ ! -f "$sys/.done" ] && dpkg --print-foreign-architectures | grep -qx "$deb"; then
		rm -rf "$out/debs" "$sys" && mkdir -p "$out/debs" &&
		(cd "$out/debs" && apt-get download -q zlib1g-dev:"$deb" libmbedtls-dev:"$deb") >"$out/debs.log" 2>&1 &&
		for d in "$out"/debs/*.deb; do dpkg-deb -x "$d" "$sys" || exit 1; done && touch "$sys/.done"
	fi
	if [ -z "${CROSS_NO_TARGET_LIBS:-}" ] && [ -f "$sys/.done" ] && [ -f "$sys/usr/lib/$tri/libz.a" ] && [ -f "$sys/usr/lib/$tri/libmbedcrypto.a" ]; then
		deflate=1 cfg=libs
		cflags="-I$sys/usr/include"
		libs="-static -L$sys/usr/lib/$tri -lmbedcrypto -lz"
		what="zlib and mbedTLS from Debian $deb ($(ls "$out"/debs | sed -n 's/^zlib1g-dev_\(.*\)_.*/\1/p' | sed 's/%3a/:/'), $(ls "$out"/debs | sed -n 's/^libmbedtls-dev_\(.*\)_.*/\1/p'))"
	else
		deflate=0 cfg=hook
		cflags="-DWS_CRYPTO_HOOK=1"
		$cc -std=c99 $opt $WARN -Iinclude -c ports/mcu/crypto_standin.c -o "$out/crypto_standin.o" || exit 1
		libs="-static $out/crypto_standin.o"
		what="WS_DEFLATE=0 and the crypto hook on ports/mcu/crypto_standin.c (the target's zlib and mbedTLS could not be had: dpkg --add-architecture $deb && apt-get update, or see $out/debs.log)"
		tests=$(echo $tests | sed 's/test_deflate//; s/test_inflate_oracle//')
	fi
	runner="$run"
	how="$($run --version | head -n 1)"
else
	deflate=1 cfg=cng
	# The tests print size_t with %zu: mingw-w64's own printf, not MSVCRT's.
	# GCC takes the harness's format(printf) attribute for MSVCRT's, so format
	# checks are off here (every other compiler makes them).
	cflags="-DWS_CRYPTO_HOOK=1 -D__USE_MINGW_ANSI_STDIO=1 -Wno-format"
	$cc -std=c99 $opt $WARN -Iinclude -c ports/windows/crypto_cng.c -o "$out/crypto_cng.o" || exit 1
	libs="-static $out/crypto_cng.o -lbcrypt -lz"
	what="permessage-deflate on libz-mingw-w64-dev, SHA-1 from CNG (ports/windows/crypto_cng.c)"
	# Wine, headless, no Mono or Gecko, in the prefix make windows uses
	# (CROSS_WINEPREFIX, build/wineprefix), made by wineboot the first time.
	WINEPREFIX=${CROSS_WINEPREFIX:-$out/wineprefix} WINEDEBUG=-all WINEDLLOVERRIDES="mscoree,mshtml="
	DISPLAY= WAYLAND_DISPLAY=
	export WINEPREFIX WINEDEBUG WINEDLLOVERRIDES DISPLAY WAYLAND_DISPLAY
	if [ ! -f "$WINEPREFIX/system.reg" ]; then
		mkdir -p "$WINEPREFIX"
		timeout 300 "$run" wineboot -i >"$out/wineboot.log" 2>&1
	fi
	runner=$run
	# test_contract and test_deflate need POSIX (guard pages with mmap and
	# sigsetjmp; fork). permessage-deflate is still run: test_inflate_oracle
	# (libws against zlib's own inflate) and test_hostile's deflate cases.
	tests=$(echo $tests | sed 's/test_contract//; s/test_deflate//')
	how="$("$run" --version 2>/dev/null)"
fi
echo "$t: $cc $($cc -dumpversion), $how; $what"

# One build directory per choice of libraries: make does not track flags.
b=$out/$cfg
bins=
for x in $tests; do bins="$bins $b/test/$x"; done
# The Makefile's own rules, with the target's compiler and libraries.
if ! $make --no-print-directory BUILD="$b" CC="$cc" OPT="$opt" WS_DEFLATE=$deflate \
	CFLAGS="$cflags" LIBS="$libs" $bins >"$out/build.log" 2>&1; then
	tail -n 30 "$out/build.log" | sed 's/^/  /'
	echo "$t: 0 passed, 1 failed (build)"
	exit 1
fi

ext=
[ "$t" = windows ] && ext=.exe
progs=
mkdir -p "$out/run"
if [ "$t" = windows ]; then
	# The CNG hook against mbedTLS: the table comes from the host.
	${HOSTCC:-cc} -std=c99 -O2 $WARN -o "$out/gen_vectors" ports/windows/gen_vectors.c -lmbedcrypto &&
	"$out/gen_vectors" >"$out/cng_vectors.h" &&
	$cc -std=c99 $opt $WARN $cflags -Iinclude -Itest -I"$out" -o "$b/test/check_cng.exe" ports/windows/check_cng.c \
		"$b/test/harness.o" "$b/test/contract.o" "$out/crypto_cng.o" "$b/libws.a" -static -lbcrypt -lz >>"$out/build.log" 2>&1 ||
		{ tail -n 30 "$out/build.log" | sed 's/^/  /'; echo "$t: 0 passed, 1 failed (check_cng build)"; exit 1; }
	tests="check_cng $tests"
fi
for x in $tests; do
	printf '#!/bin/sh\nexec sh ports/cross/run1.sh "%s" %s "%s"\n' "$t/$x" "$runner" "$b/test/$x$ext" >"$out/run/$x"
	chmod +x "$out/run/$x"
	progs="$progs $out/run/$x"
done
sh test/run.sh $progs
