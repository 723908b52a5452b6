#!/bin/sh
# The flash and RAM the core takes in a firmware: the parts of libws that a
# server, a client, or both link, each a relocatable link of the target
# library with unreferenced sections dropped (--gc-sections, with the public
# calls of that role as roots). Not counted: memcpy/memset/memcmp and the
# crypto hook, which the firmware has anyway. .text includes constants.
# Usage: size.sh LD SIZE LIBWS.A OUTDIR
ld=$1 size=$2 lib=$3 out=$4
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
