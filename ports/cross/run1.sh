#!/bin/sh
# Runs one cross-built test program (under qemu-user or Wine, bounded in
# time) and names its summary line after the target: "s390x/test_frame: N
# passed, M failed". Strips Windows line ends.
#   run1.sh LABEL COMMAND...
label=$1
shift
out=$(timeout 900 "$@" 2>&1)
rc=$?
printf '%s\n' "$out" | tr -d '\r' |
	sed "s|^.*: \([0-9]* passed, [0-9]* failed\)\$|$label: \1|"
exit $rc
