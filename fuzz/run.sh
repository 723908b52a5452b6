#!/bin/sh
# Runs one libFuzzer target for a while: run.sh TARGET FUZZ_DIR SECONDS.
# The committed corpus (fuzz/corpus/TARGET) is copied to a scratch directory
# under FUZZ_DIR/run so the repository stays clean; new inputs, crashes and
# the log land there. FUZZ_TABLE (from fuzz.mk) gives "target:dict:max_len"
# entries. Runs under `nice -n 19`, one target at a time (shared machines).
# Prints "TARGET: E execs, C inputs in the corpus (B bytes), K crashes"; exit 1
# on a crash, a timeout or a leak.
t=$1 dir=$2 secs=$3
bin=$dir/bin/$t
run=$dir/run/$t
dict= maxlen=
for e in $FUZZ_TABLE; do
	case $e in
	"$t":*) dict=$(echo "$e" | cut -d: -f2); maxlen=$(echo "$e" | cut -d: -f3) ;;
	esac
done
mkdir -p "$run/corpus" "$run/artifacts"
[ -d "fuzz/corpus/$t" ] && cp -n fuzz/corpus/"$t"/* "$run/corpus/" 2>/dev/null
set -- -max_total_time="$secs" -timeout=10 -print_final_stats=1 \
	-artifact_prefix="$run/artifacts/" -close_fd_mask=1
[ -n "$dict" ] && set -- "$@" -dict="$dict"
[ -n "$maxlen" ] && set -- "$@" -max_len="$maxlen"
before=$(ls "$run/artifacts" | wc -l)
nice -n 19 "$bin" "$@" "$run/corpus" > "$run/log" 2>&1
rc=$?
execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$run/log" | tail -n 1)
files=$(ls "$run/corpus" | wc -l)
bytes=$(cat "$run/corpus"/* 2>/dev/null | wc -c)
after=$(ls "$run/artifacts" | wc -l)
crashes=$((after - before))
echo "$t: ${execs:-0} execs, $files inputs in the corpus ($bytes bytes), $crashes crashes (rc $rc)"
if [ $rc -ne 0 ] || [ $crashes -ne 0 ]; then
	grep -m 5 -E 'ERROR|SUMMARY|contract violated|runtime error' "$run/log" | sed 's/^/  /'
	ls "$run/artifacts" | sed "s|^|  artifact: $run/artifacts/|" | tail -n 5
	echo "  log: $run/log"
	exit 1
fi
exit 0
