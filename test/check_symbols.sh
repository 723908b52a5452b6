#!/bin/sh
# The shared library must export only ws_ names (functions and data).
lib=$1
bad=$(nm -D --defined-only "$lib" | awk '$2 ~ /[TDBRtdbr]/ && $3 !~ /^ws_/ { print $3 }')
n=$(nm -D --defined-only "$lib" | awk '$3 ~ /^ws_/' | wc -l)
if [ -n "$bad" ] || [ "$n" -eq 0 ]; then
	echo "exported non-ws_ symbols: $bad"
	echo "symbols: 0 passed, 1 failed"
	exit 1
fi
echo "symbols: 1 passed, 0 failed ($n ws_ symbols exported)"
