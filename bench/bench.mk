# make bench: throughput against wslay, memcpy and in-place XOR in one run
# (table on stdout, $(BUILD)/bench.json). make bench-check: the bench's
# correctness checks alone, on tiny inputs, in a few seconds.
# Built from the same objects as the library (static, so calls are direct).
BENCH_WSLAY ?= $(shell test -f /usr/include/wslay/wslay.h && echo 1 || echo 0)
BENCH_LIBS := $(LIBS) $(if $(filter 1,$(BENCH_WSLAY)),-lwslay)

$(BUILD)/bench/bench: bench/bench.c $(BUILD)/libws.a $(wildcard libws/*.h include/ws/*.h)
	@mkdir -p $(@D)
	$(CC) $(CFLAGS_ALL) -DBENCH_WSLAY=$(BENCH_WSLAY) -Ilibws -o $@ bench/bench.c $(BUILD)/libws.a $(BENCH_LIBS)

.PHONY: bench bench-check
bench: $(BUILD)/bench/bench
	$(BUILD)/bench/bench --json $(BUILD)/bench.json

bench-check: $(BUILD)/bench/bench
	@$(BUILD)/bench/bench --check

# make check runs the bench's correctness checks (a few seconds at most).
CHECK_STEPS += bench-check
