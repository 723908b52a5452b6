# make bench-deflate: permessage-deflate on a JSON workload, client -> server
# in memory, per mode (plain, context takeover, shared compressor at 10 and 9
# bits): compression ratio, compress and inflate MB/s, bytes held per
# connection. make bench-deflate-check: every message arrives intact in
# every mode, nothing leaks (a few seconds at most); part of make check.
# Uses BUILD, CFLAGS_ALL and LIBS from the main Makefile; public API only.

$(BUILD)/bench/bench_deflate: bench/bench_deflate.c $(BUILD)/libws.a $(wildcard include/ws/*.h)
	@mkdir -p $(@D)
	$(CC) $(CFLAGS_ALL) -o $@ bench/bench_deflate.c $(BUILD)/libws.a $(LIBS)

.PHONY: bench-deflate bench-deflate-check
bench-deflate: $(BUILD)/bench/bench_deflate
	$(BUILD)/bench/bench_deflate

bench-deflate-check: $(BUILD)/bench/bench_deflate
	@$(BUILD)/bench/bench_deflate --check

CHECK_STEPS += bench-deflate-check
