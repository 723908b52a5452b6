#!/bin/sh
# The flash and RAM the core takes in a firmware: the parts of libws that a
# server, a client, or both link, each a relocatable link of the target
# library with unreferenced sections dropped (--gc-sections, with the public
# calls of that role as roots). Not counted: memcpy/memset/memcmp and the
# crypto hook, which the firmware has anyway. .text includes constants.
# Then checks the goal of issue 14, a server core under 12 KiB of flash, and
# that a server links none of the client's handshake (and a client none of
# the server's answers), printing "mcu_size: N passed, M failed".
# Usage: size.sh LD SIZE NM LIBWS.A OUTDIR
ld=$1 size=$2 nm=$3 lib=$4 out=$5
mkdir -p "$out"
common="ws_config_init ws_conn_init ws_conn_recv ws_conn_recv_eof ws_conn_send ws_conn_reply
        ws_conn_close ws_conn_fail ws_conn_state ws_conn_should_close_transport"
server="ws_conn_accept ws_conn_reject"
client="ws_conn_connect"
echo "  | libws, Cortex-M3, -Os | .text | .data | .bss |"
echo "  |---|---:|---:|---:|"
for role in server client both; do
	case $role in
	server) syms="$common $server" ;;
	client) syms="$common $client" ;;
	both) syms="$common $server $client" ;;
	esac
	u=""
	for s in $syms; do u="$u -u $s"; done
	$ld -r --gc-sections $u -e ws_conn_recv -o "$out/$role.o" "$lib" || exit 1
	$size "$out/$role.o" | awk -v r="$role" 'NR == 2 {printf "  | %s | %d | %d | %d |\n", r, $1, $2, $3}'
done

pass=0 fail=0
check() { # check DESCRIPTION TEST...
	what=$1
	shift
	if "$@"; then
		pass=$((pass + 1))
	else
		echo "  FAIL: $what"
		fail=$((fail + 1))
	fi
}
text=$($size "$out/server.o" | awk 'NR == 2 {print $1}')
check "server .text $text bytes, not under 12 KiB" test "$text" -lt 12288
has() { # has ROLE SYMBOL: the role's link defines SYMBOL
	$nm --defined-only "$out/$1.o" | awk '{print $NF}' | grep -qx "$2"
}
check "the server links the client's response parser" eval '! has server ws__client_head'
check "the server links ws_conn_connect" eval '! has server ws_conn_connect'
check "the client links ws_conn_accept" eval '! has client ws_conn_accept'
check "the server lacks its request parser" has server ws__server_head
echo "mcu_size: $pass passed, $fail failed"
[ $fail -eq 0 ]
