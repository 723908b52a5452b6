#!/bin/sh
# The adapters as a user builds them: libws installed into a scratch prefix,
# the example files (and the ws-client demo that drives them) copied out of
# the tree, each program compiled with
# `cc prog.c $ad $(pkg-config --cflags --libs libws)` (+ its loop or
# TLS libraries), then the CMake project of examples/cmake
# (pkg_check_modules(... IMPORTED_TARGET libws)); each echo server answers
# ws-client once. Prints "downstream: N passed, M failed".
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

# Each server, once: start on port 0, one echo through ws-client.
for s in echo-server echo-server-poll echo-server-uv echo-server-tls echo-server-cmake; do
	[ -x "$tmp/bin/$s" ] || continue
	: >"$tmp/$s.out"
	"$tmp/bin/$s" --port 0 >"$tmp/$s.out" 2>&1 &
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
