#!/bin/sh
# Installs the Debian packages the build, the tests and the demo need, when
# missing. Without root, prints the command to run instead.
pkgs="build-essential clang libclang-rt-14-dev libmbedtls-dev zlib1g-dev pkg-config binutils libnghttp2-dev
      libwslay-dev python3 python3-websockets libuv1-dev openssl cmake libjansson-dev chromium
      libhiredis-dev redis-server nginx
      gcc-arm-none-eabi libnewlib-arm-none-eabi qemu-system-arm"
missing=""
for p in $pkgs; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing="$missing $p"
done
# Node.js may come from another repository; only its commands matter.
command -v node >/dev/null 2>&1 && command -v npm >/dev/null 2>&1 || missing="$missing nodejs npm"
[ -z "$missing" ] && exit 0
if [ "$(id -u)" -eq 0 ]; then
	echo "installing:$missing"
	apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $missing >/dev/null || exit 1
else
	echo "missing packages:$missing"
	echo "run: sudo apt-get install -y$missing"
	exit 1
fi
