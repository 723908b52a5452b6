# make coverage: line and branch coverage of libws/ from the unit tests and
# the fuzz corpora, measured with gcc --coverage and reported by gcovr
# (a text summary, the per-file table in $(BUILD)/coverage/coverage.txt and an
# HTML report in $(BUILD)/coverage/index.html). Included by fuzz/fuzz.mk.
# Targets: >= 95% of lines and >= 90% of branches; `make coverage
# COV_STRICT=1` fails below them. COV_RUN_CORPUS=1 also replays the corpora
# that `make fuzz-run` grew under $(BUILD)/fuzz/run (not committed).

COV_CC ?= gcc
COV_DIR := $(BUILD)/coverage
COV_CFLAGS := $(CFLAGS_ALL) -O0 --coverage
COV_LIB_OBJ := $(LIB_SRC:libws/%.c=$(COV_DIR)/obj/%.o)
COV_TEST_SRC := $(wildcard test/test_*.c)
COV_TESTS := $(COV_TEST_SRC:test/%.c=$(COV_DIR)/test/%)
COV_REPLAYS := $(FUZZ_TARGETS:%=$(COV_DIR)/replay/%)
COV_LINES ?= 95
COV_BRANCHES ?= 90

$(COV_DIR)/obj/%.o: libws/%.c $(FUZZ_HDRS)
	@mkdir -p $(@D)
	$(COV_CC) $(COV_CFLAGS) -c $< -o $@

$(COV_DIR)/test/harness.o: test/harness.c test/harness.h $(wildcard include/ws/*.h)
	@mkdir -p $(@D)
	$(COV_CC) $(COV_CFLAGS) -Ilibws -c $< -o $@

$(COV_DIR)/test/%: test/%.c $(COV_DIR)/test/harness.o $(COV_LIB_OBJ) test/harness.h test/contract.c test/oracle.c
	@mkdir -p $(@D)
	$(COV_CC) $(COV_CFLAGS) -Ilibws -o $@ $< $(COV_DIR)/test/harness.o test/contract.c test/oracle.c \
	  $(COV_LIB_OBJ) $(LIBS)

$(COV_DIR)/replay/%: fuzz/%.c fuzz/replay.c fuzz/fuzz_common.c $(COV_LIB_OBJ) $(FUZZ_HDRS)
	@mkdir -p $(@D)
	$(COV_CC) $(COV_CFLAGS) -Ifuzz -Itest -Ilibws -o $@ $< fuzz/replay.c fuzz/fuzz_common.c test/contract.c \
	  test/oracle.c $(COV_LIB_OBJ) $(LIBS)

.SECONDARY: $(COV_LIB_OBJ) $(COV_DIR)/test/harness.o

coverage: $(COV_TESTS) $(COV_REPLAYS)
	@find $(COV_DIR) -name '*.gcda' -delete
	@for t in $(COV_TESTS); do $$t > $(COV_DIR)/$$(basename $$t).log 2>&1 || \
	  echo "coverage: $$(basename $$t) failed (see $(COV_DIR)/$$(basename $$t).log)"; done
	@for t in $(FUZZ_TARGETS); do \
	  extra=; [ -n "$(COV_RUN_CORPUS)" ] && [ -d $(FUZZ_DIR)/run/$$t/corpus ] && extra=$(FUZZ_DIR)/run/$$t/corpus; \
	  $(COV_DIR)/replay/$$t fuzz/corpus/$$t $$extra > $(COV_DIR)/$$t.log 2>&1 || \
	  echo "coverage: replay of $$t failed (see $(COV_DIR)/$$t.log)"; done
	@gcovr -r . --filter 'libws/' --exclude-unreachable-branches \
	  --txt $(COV_DIR)/coverage.txt --html-details $(COV_DIR)/index.html \
	  --print-summary $(COV_DIR) | tail -n 3 | sed 's/^/coverage: /'
	@echo "coverage: per file in $(COV_DIR)/coverage.txt, HTML in $(COV_DIR)/index.html"
	@if [ -n "$(COV_STRICT)" ]; then gcovr -r . --filter 'libws/' --exclude-unreachable-branches \
	  --fail-under-line $(COV_LINES) --fail-under-branch $(COV_BRANCHES) $(COV_DIR) > /dev/null; fi
