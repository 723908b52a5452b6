#!/bin/sh
# The one list of the Debian packages libws needs, by what needs them.
# Installs the missing ones (as root), or prints the command to run.
#   deps.sh lib   make test: a C compiler (gcc, and clang for its sanitizers),
#                 mbedTLS, zlib, pkg-config
#   deps.sh run   make run: that and the chat demo's libraries
#   deps.sh all   make check (the default): that and every peer, server and
#                 tool the tests run against
# .ci/run and the Makefile call this; no other file lists packages.
set -u
lib="build-essential pkg-config binutils libmbedtls-dev zlib1g-dev clang libclang-rt-14-dev"
run="$lib libjansson-dev libhiredis-dev"
# interop and the adapters: Python websockets, Node (below), openssl for the
# test certificates; libwslay and llvm for the bench and the fuzzers; libuv,
# nghttp2, cmake for the examples and downstream builds; Chromium, Redis and
# nginx for the chat and HTTP/2 tests; tinyproxy for ws-client's proxy tests
# (make proxy starts its own, on loopback); the Cortex-M build and QEMU; gcovr
# for make coverage; valgrind for make check's memcheck step; mingw-w64 (with
# its zlib) and Wine for the Windows build and its echo test (make windows)
# and make cross; make cross's compilers for s390x, i686, armhf and aarch64,
# and qemu-user.
cross="gcc-s390x-linux-gnu gcc-i686-linux-gnu gcc-arm-linux-gnueabihf gcc-aarch64-linux-gnu
       libc6-dev-s390x-cross libc6-dev-i386-cross libc6-dev-armhf-cross libc6-dev-arm64-cross qemu-user"
all="$run valgrind python3 python3-websockets openssl libwslay-dev llvm libuv1-dev libnghttp2-dev cmake
     chromium redis-server nginx tinyproxy gcc-arm-none-eabi libnewlib-arm-none-eabi qemu-system-arm gcovr
     mingw-w64 libz-mingw-w64-dev wine64 $cross"
# make cross also takes zlib and mbedTLS built for each target from Debian
# (apt-get download zlib1g-dev:s390x ..., ports/cross/cross.sh), which needs
# the architectures known to dpkg; without them it builds those targets
# without zlib and on a stand-in SHA-1, and says so.
foreign="s390x i386 armhf arm64"
case ${1:-all} in
lib) pkgs=$lib ;;
run) pkgs=$run ;;
all) pkgs=$all ;;
*) echo "usage: deps.sh [lib|run|all]" >&2; exit 2 ;;
esac
missing=""
for p in $pkgs; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing="$missing $p"
done
# Node.js may come from another repository; only its commands matter.
if [ "${1:-all}" = all ] && ! { command -v node && command -v npm; } >/dev/null 2>&1; then
	missing="$missing nodejs npm"
fi
newarch=""
if [ "${1:-all}" = all ]; then
	for a in $foreign; do
		dpkg --print-foreign-architectures | grep -qx "$a" || newarch="$newarch $a"
	done
fi
if [ -n "$newarch" ]; then
	if [ "$(id -u)" -eq 0 ]; then
		echo "adding architectures:$newarch"
		for a in $newarch; do dpkg --add-architecture "$a"; done
		# Not fatal: make cross falls back without the targets' libraries.
		apt-get update -qq || echo "apt-get update failed: make cross may lack zlib and mbedTLS for$newarch"
	else
		echo "for make cross's zlib and mbedTLS, run:"
		for a in $newarch; do echo "  sudo dpkg --add-architecture $a"; done
		echo "  sudo apt-get update"
	fi
fi
[ -z "$missing" ] && exit 0
if [ "$(id -u)" -eq 0 ]; then
	echo "installing:$missing"
	apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $missing >/dev/null || exit 1
else
	echo "missing packages:$missing"
	echo "run: sudo apt-get install -y$missing"
	exit 1
fi
