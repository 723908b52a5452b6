#!/bin/sh
# The shared library exports only ws_ names, and the library's objects import
# nothing that does I/O, allocates, reads a clock or makes random numbers: the
# core is sans-I/O (zlib's allocation goes through the caller's allocator).
lib=$1
objs=$(dirname "$lib")/obj/*.o
pass=0
fail=0
bad=$(nm -D --defined-only "$lib" | awk '$2 ~ /[TDBRtdbr]/ && $3 !~ /^ws_/ { print $3 }')
n=$(nm -D --defined-only "$lib" | awk '$3 ~ /^ws_/' | wc -l)
if [ -n "$bad" ] || [ "$n" -eq 0 ]; then
	echo "  FAIL exported non-ws_ symbols: $bad"
	fail=$((fail + 1))
else
	pass=$((pass + 1))
fi
forbidden='^(malloc|calloc|realloc|free|aligned_alloc|posix_memalign|read|write|send|recv|sendto|recvfrom|socket|connect|accept|poll|epoll_wait|select|open|fopen|fprintf|printf|puts|fwrite|time|clock_gettime|gettimeofday|getrandom|rand|random|abort|exit)$'
imports=$(nm -u $objs 2>/dev/null | awk '{ print $NF }' | grep -E "$forbidden" | sort -u | tr '\n' ' ')
if [ -n "$imports" ]; then
	echo "  FAIL libws/ imports: $imports"
	fail=$((fail + 1))
else
	pass=$((pass + 1))
fi
echo "symbols: $pass passed, $fail failed ($n ws_ symbols exported)"
[ $fail -eq 0 ]
