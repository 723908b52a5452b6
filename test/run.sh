#!/bin/sh
# Runs each test binary; each prints its own "name: N passed, M failed" line.
# A binary that crashes or prints no such line counts as one failure, and so
# does one that exits nonzero after a clean line (T_WRAP, e.g. valgrind, ran it
# and found errors).
status=0
for t in "$@"; do
	out=$(${T_WRAP:-} "$t" 2>&1)
	rc=$?
	printf '%s\n' "$out" | grep -v ': [0-9]* passed, [0-9]* failed$' | sed 's/^/  /' | head -n 60
	line=$(printf '%s\n' "$out" | grep ': [0-9]* passed, [0-9]* failed$' | tail -n 1)
	if [ -z "$line" ]; then
		echo "$(basename "$t"): 0 passed, 1 failed (exit $rc, no summary)"
		status=1
	else
		echo "$line"
		if [ $rc -ne 0 ]; then
			status=1
			case $line in
			*" 0 failed") echo "$(basename "$t"): 0 passed, 1 failed (exit $rc)" ;;
			esac
		fi
	fi
done
exit $status
