#!/bin/sh
# The adapters as a user builds them: libws installed into a scratch prefix,
# the example files (and the ws-client demo that drives them) copied out of
# the tree, each program compiled with
# `cc prog.c $ad $(pkg-config --cflags --libs libws)` (+ its loop or
# TLS libraries), then the CMake project of examples/cmake
# (pkg_check_modules(... IMPORTED_TARGET libws)). Then libws's own CMake
# build (CMakeLists.txt): the unit tests through ctest, install, and
# examples/cmake again three ways: find_package(libws CONFIG) of that
# install, add_subdirectory of the tree, FetchContent of a file:// tarball;
# and the library cross-built for Windows (cmake/mingw-w64-x86_64.cmake).
# Each echo server answers ws-client once. Prints "downstream: N passed, M
# failed".
make=$1
build=$2
tmp=$(mktemp -d)
pids=""
trap 'for p in $pids; do kill $p 2>/dev/null; done; rm -rf "$tmp"' EXIT
pass=0
fail=0
ok() { pass=$((pass + 1)); }
bad() { fail=$((fail + 1)); echo "  FAIL downstream: $*"; }
cc=${CC:-cc}
top=$(pwd)

if ! $make --no-print-directory -s install BUILD="$build" PREFIX="$tmp/usr" >"$tmp/log" 2>&1; then
	cat "$tmp/log"
	echo "downstream: 0 passed, 1 failed"
	exit 1
fi
export PKG_CONFIG_PATH="$tmp/usr/lib/pkgconfig"
export LD_LIBRARY_PATH="$tmp/usr/lib"
mkdir "$tmp/src" "$tmp/bin"
cp examples/*.c examples/*.h demos/client/client.c demos/client/proxy.c demos/client/proxy.h "$tmp/src/"
cp -r examples/cmake "$tmp/src/cmake"
cd "$tmp/src"
ws=$(pkg-config --cflags --libs libws)
tls="-DWITH_TLS tls.c -lmbedtls -lmbedx509 -lmbedcrypto"
ad="adapter.c ad_loop.c ad_policy.c ad_socket.c" # the adapter's files
build_one() { # name command...
	name=$1
	shift
	if "$@" >"$tmp/log" 2>&1; then ok; else bad "$name: $*"; cat "$tmp/log"; fi
}
build_one echo-server $cc -o "$tmp/bin/echo-server" echo_server.c $ad $ws
build_one echo-server-poll $cc -o "$tmp/bin/echo-server-poll" echo_server_poll.c $ad $ws
build_one echo-server-uv $cc -o "$tmp/bin/echo-server-uv" echo_server_uv.c $ad $(pkg-config --cflags --libs libws libuv)
build_one ws-client $cc -o "$tmp/bin/ws-client" client.c proxy.c $ad $ws
build_one "echo-server with TLS" $cc -o "$tmp/bin/echo-server-tls" echo_server.c $ad $ws $tls
build_one "ws-client with TLS" $cc -o "$tmp/bin/ws-client-tls" client.c proxy.c $ad $ws $tls
if command -v cmake >/dev/null; then
	build_one "cmake configure" cmake -S cmake -B "$tmp/cmake-build" -DCMAKE_BUILD_TYPE=Release
	build_one "cmake build" cmake --build "$tmp/cmake-build"
	cp "$tmp/cmake-build/echo-server" "$tmp/bin/echo-server-cmake" 2>/dev/null
else
	bad "cmake not installed (apt-get install cmake)"
fi

# libws's own CMake build: shared and static, SONAME, the unit tests, install.
lib="$tmp/cm-lib" usr="$tmp/cm-usr"
build_one "libws cmake configure" cmake -S "$top" -B "$lib" -DCMAKE_BUILD_TYPE=RelWithDebInfo
build_one "libws cmake build" cmake --build "$lib" -j 2
if (cd "$lib" && ctest -j 2 --output-on-failure >"$tmp/ctest.log" 2>&1); then ok; else bad "ctest"; cat "$tmp/ctest.log"; fi
grep 'tests passed' "$tmp/ctest.log" | sed 's/^/  ctest: /'
build_one "libws cmake install" cmake --install "$lib" --prefix "$usr"
soname=$(objdump -p "$usr/lib/libws.so" 2>/dev/null | awk '/SONAME/ { print $2 }')
major=$(sed -n 's/^#define WS_VERSION_MAJOR \([0-9]*\)/\1/p' "$top/include/ws/version.h")
if [ "$soname" = "libws.so.$major" ] && [ -f "$usr/lib/libws.a" ] && [ -f "$usr/include/ws/ws.h" ] &&
   [ -f "$usr/lib/cmake/libws/libwsConfig.cmake" ] && [ -f "$usr/lib/cmake/libws/libwsConfigVersion.cmake" ] &&
   grep -q "^prefix=$usr\$" "$usr/lib/pkgconfig/libws.pc"; then ok; else bad "cmake install: SONAME '$soname', files"; ls -R "$usr"; fi
bad_exports=$(nm -D --defined-only "$usr/lib/libws.so" | awk '$2 ~ /[TDBR]/ && $3 !~ /^ws_/ { print $3 }')
if [ -z "$bad_exports" ]; then ok; else bad "cmake libws.so exports $bad_exports"; fi

# examples/cmake three more ways; each server is run below.
tar -czf "$tmp/libws.tar.gz" -C "$top" --transform 's|^|libws/|' CMakeLists.txt cmake include libws pkgconfig
for how in package subdirectory fetch; do
	case $how in
	package) arg="-DCMAKE_PREFIX_PATH=$usr" ;;
	subdirectory) arg="-DLIBWS_SOURCE=$top" ;;
	fetch) arg="-DLIBWS_SOURCE=file://$tmp/libws.tar.gz" ;;
	esac
	build_one "cmake $how configure" cmake -S cmake -B "$tmp/cm-$how" -DCMAKE_BUILD_TYPE=Release -DLIBWS_FROM=$how "$arg"
	build_one "cmake $how build" cmake --build "$tmp/cm-$how" -j 2
	cp "$tmp/cm-$how/echo-server" "$tmp/bin/echo-server-cmake-$how" 2>/dev/null
done
# find_package's echo server runs on the shared library that cmake --install
# put there (its RUNPATH; LD_LIBRARY_PATH, set for the others, would win).
if env -u LD_LIBRARY_PATH ldd "$tmp/bin/echo-server-cmake-package" 2>/dev/null | grep -q "$usr/lib/libws.so"; then ok
else bad "cmake package: not linked to $usr/lib/libws.so"; env -u LD_LIBRARY_PATH ldd "$tmp/bin/echo-server-cmake-package"; fi

# The library for Windows through the toolchain file: DLL, import and static
# libraries; SHA-1 from CNG through the crypto hook (no mbedTLS for mingw in Debian).
win="$tmp/cm-win"
build_one "cmake mingw-w64 configure" cmake -S "$top" -B "$win" -DCMAKE_TOOLCHAIN_FILE="$top/cmake/mingw-w64-x86_64.cmake" \
	-DWS_CRYPTO_HOOK=ON -DWS_CRYPTO_SOURCES="$top/ports/windows/crypto_cng.c" -DWS_CRYPTO_LIBS=bcrypt \
	-DWS_BUILD_TESTS=OFF -DWS_INSTALL=ON
build_one "cmake mingw-w64 build" cmake --build "$win" -j 2
build_one "cmake mingw-w64 install" cmake --install "$win" --prefix "$tmp/win-usr"
if x86_64-w64-mingw32-objdump -p "$tmp/win-usr/bin/libws.dll" 2>/dev/null | grep -q 'ws_conn_recv' &&
   [ -f "$tmp/win-usr/lib/libws.dll.a" ] && [ -f "$tmp/win-usr/lib/libws.a" ]; then ok
else bad "cmake mingw-w64: libws.dll exporting ws_conn_recv, libws.dll.a, libws.a"; ls -R "$tmp/win-usr"; fi

# Each server, once: start on port 0, one echo through ws-client.
for s in echo-server echo-server-poll echo-server-uv echo-server-tls echo-server-cmake \
	echo-server-cmake-package echo-server-cmake-subdirectory echo-server-cmake-fetch; do
	[ -x "$tmp/bin/$s" ] || continue
	: >"$tmp/$s.out"
	case $s in
	*-package) env -u LD_LIBRARY_PATH "$tmp/bin/$s" --port 0 >"$tmp/$s.out" 2>&1 & ;;
	*) "$tmp/bin/$s" --port 0 >"$tmp/$s.out" 2>&1 & ;;
	esac
	pids="$pids $!"
	# Up to 10 s for the port line (a loaded machine starts processes slowly);
	# on time, it is there in the first 0.2 s.
	i=0; while [ $i -lt 50 ] && ! grep -q listening "$tmp/$s.out"; do sleep 0.2; i=$((i + 1)); done
	port=$(sed -n 's|^listening on ws://127.0.0.1:\([0-9]*\)/$|\1|p' "$tmp/$s.out")
	got=$(echo "downstream $s" | timeout 10 "$tmp/bin/ws-client" "ws://127.0.0.1:$port/" 2>/dev/null)
	if [ "$got" = "downstream $s" ]; then ok; else bad "$s echo: got '$got'"; fi
done
echo "downstream: $pass passed, $fail failed"
[ $fail -eq 0 ]
