#!/bin/sh
# Sums every "name: N passed, M failed" line of a check log into one line.
log=$1
awk '/: [0-9]+ passed, [0-9]+ failed/ {
	for (i = 1; i < NF; i++) {
		if ($(i+1) ~ /^passed,?$/) p += $i
		if ($(i+1) ~ /^failed/) f += $i
	}
} END { printf "%d passed, %d failed\n", p, f; exit (f > 0 || p == 0) }' "$log"
