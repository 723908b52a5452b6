#!/bin/sh
# Runs localhost.mjs twice, each in a private mount namespace whose resolver
# files put one family first for "localhost":
#   ::1 first        /etc/hosts names both, gai.conf empty (RFC 6724's
#                    default order, as on a standard Debian machine)
#   127.0.0.1 first  the same hosts, gai.conf preferring IPv4 (RFC 6724 §10.3)
# so that neither the servers nor the clients can depend on the machine's own
# order. As root, or through a user namespace otherwise.
#   usage: localhost.sh BINDIR WORKDIR       (from the top of the tree)
# Each run ends with "localhost (ADDR first): N passed, M failed".
set -u
bin=$1 work=$2
mkdir -p "$work"
if ! sh test/e2e/interop/tls_certs.sh "$work/certs"; then
	echo "localhost: 0 passed, 1 failed (test certificates: tls_certs.sh failed)"
	exit 1
fi
printf '::1\tlocalhost\n127.0.0.1\tlocalhost\n' >"$work/hosts"
: >"$work/gai-default.conf"
printf 'precedence ::ffff:0:0/96 100\n' >"$work/gai-ipv4.conf"
ns="unshare --mount"
[ "$(id -u)" -eq 0 ] || ns="unshare --user --map-root-user --mount"
status=0
for first in ::1 127.0.0.1; do
	gai=$work/gai-default.conf
	[ "$first" = ::1 ] || gai=$work/gai-ipv4.conf
	# shellcheck disable=SC2016 # expanded by the inner shell
	$ns sh -c 'mount --bind "$1" /etc/hosts && mount --bind "$2" /etc/gai.conf &&
		exec timeout -k 5 150 node test/e2e/interop/localhost.mjs --bin "$3" --certs "$4" --first "$5"' \
		sh "$work/hosts" "$gai" "$bin" "$work/certs" "$first" >"$work/out" 2>&1
	rc=$?
	cat "$work/out"
	if ! grep -q '^localhost (.*): [0-9]* passed, [0-9]* failed$' "$work/out"; then
		echo "localhost ($first first): 0 passed, 1 failed (no summary, exit $rc: needs root or user namespaces" \
			"for $ns, and /etc/gai.conf)"
		status=1
	fi
	[ "$rc" -eq 0 ] || status=1
done
exit $status
