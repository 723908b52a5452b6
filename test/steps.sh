#!/bin/sh
# Runs make steps, each counted even when it fails: a step that exits nonzero
# adds "STEP: 0 passed, 1 failed" (test/summary.sh adds the lines up).
#   steps.sh [-p] MAKE DIR GROUP...
# A group is one step, or steps joined by commas that run one after the
# other. Without -p the groups run in turn and their output streams; with -p
# they run side by side (each must build in its own directory), their output
# kept in DIR and printed in order once all are done.
par=0
[ "$1" = -p ] && { par=1; shift; }
make=$1 dir=$2
shift 2
mkdir -p "$dir"

group() {
	for s in $(echo "$1" | tr , ' '); do
		echo "== $s"
		$make --no-print-directory "$s" 2>&1 || echo "$s: 0 passed, 1 failed (make $s exited nonzero)"
	done
}

if [ $par -eq 0 ]; then
	for g in "$@"; do group "$g"; done
	exit 0
fi
i=0
for g in "$@"; do
	i=$((i + 1))
	group "$g" >"$dir/$i.log" 2>&1 &
done
wait
i=0
for g in "$@"; do
	i=$((i + 1))
	cat "$dir/$i.log"
done
