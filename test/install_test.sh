#!/bin/sh
# Installs libws into a scratch prefix, builds test/downstream.c against it
# through pkg-config (shared and static), runs both, then checks DESTDIR
# staging and uninstall. Prints "install: N passed, M failed".
make=$1
build=$2
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
pass=0
fail=0
ok() { pass=$((pass + 1)); }
bad() { fail=$((fail + 1)); echo "  FAIL install: $*"; }
cc=${CC:-cc}

if $make --no-print-directory -s install BUILD="$build" PREFIX="$tmp/usr" >"$tmp/log" 2>&1; then ok; else bad "make install"; cat "$tmp/log"; fi
export PKG_CONFIG_PATH="$tmp/usr/lib/pkgconfig"
if pkg-config --exists libws; then ok; else bad "pkg-config does not find libws"; fi

# Shared.
if $cc test/downstream.c -o "$tmp/dyn" $(pkg-config --cflags --libs libws) 2>"$tmp/log" &&
   LD_LIBRARY_PATH="$tmp/usr/lib" "$tmp/dyn" >/dev/null &&
   LD_LIBRARY_PATH="$tmp/usr/lib" ldd "$tmp/dyn" | grep -q 'libws.so'; then ok; else bad "shared downstream build/run"; cat "$tmp/log"; fi

# Static: libws.a plus the private libraries pkg-config lists.
libdir=$(pkg-config --variable=libdir libws)
if $cc test/downstream.c -o "$tmp/static" $(pkg-config --cflags libws) "$libdir/libws.a" \
       $(pkg-config --static --libs libws | sed 's/-lws\b//') 2>"$tmp/log" &&
   "$tmp/static" >/dev/null && ! ldd "$tmp/static" | grep -q 'libws.so'; then ok; else bad "static downstream build/run"; cat "$tmp/log"; fi

# SONAME.
soname=$(objdump -p "$tmp/usr/lib/libws.so" | awk '/SONAME/ { print $2 }')
major=$(sed -n 's/^#define WS_VERSION_MAJOR \([0-9]*\)/\1/p' include/ws/version.h)
if [ "$soname" = "libws.so.$major" ]; then ok; else bad "SONAME is '$soname'"; fi

# DESTDIR staging, then uninstall removes everything it installed.
if $make --no-print-directory -s install BUILD="$build" DESTDIR="$tmp/stage" PREFIX=/opt/ws >/dev/null 2>&1 &&
   [ -f "$tmp/stage/opt/ws/include/ws/ws.h" ] && grep -q '^prefix=/opt/ws' "$tmp/stage/opt/ws/lib/pkgconfig/libws.pc"; then ok; else bad "DESTDIR install"; fi
$make --no-print-directory -s uninstall DESTDIR="$tmp/stage" PREFIX=/opt/ws >/dev/null 2>&1
left=$(find "$tmp/stage" -type f -o -type l | wc -l)
if [ "$left" -eq 0 ]; then ok; else bad "uninstall left $left files"; fi

echo "install: $pass passed, $fail failed"
[ $fail -eq 0 ]
