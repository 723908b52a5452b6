# Fuzzing and coverage, included by the main Makefile (it defines BUILD,
# LIB_SRC, LIBS, CFLAGS_ALL and CHECK_STEPS).
#
#   make fuzz                  libFuzzer targets (clang, ASan+UBSan), in $(BUILD)/fuzz/bin
#   make fuzz-run SECONDS=N    runs each target N seconds (default 60), one at a time, niced,
#                              on a scratch copy of its corpus; reports execs and corpus size
#   make fuzz-ci               fuzz-run for 60 s each and one "fuzz: N passed, M failed" line
#   make fuzz-replay           every corpus file through the same entry points, built with gcc
#                              and ASan+UBSan (fuzz/replay.c); part of `make check`
#   make coverage              unit tests + corpus replay built with gcc --coverage; line and
#                              branch coverage of libws/ by gcovr, in $(BUILD)/coverage
#   make fuzz-seeds            regenerates the generated seeds (fuzz/gen_seeds.c)
#
# Reproduce a crash: $(BUILD)/fuzz/bin/fuzz_X crash-file, or the gcc build:
# $(BUILD)/fuzz/replay/bin/fuzz_X crash-file.

FUZZ_DIR := $(BUILD)/fuzz
FUZZ_TARGETS := fuzz_server fuzz_client fuzz_frame_header fuzz_utf8 fuzz_roundtrip fuzz_http
# permessage-deflate (RFC 7692), when built in (WS_DEFLATE=1, the default).
ifeq ($(WS_DEFLATE),1)
FUZZ_TARGETS += fuzz_inflate fuzz_deflate_oracle
endif

FUZZ_CC ?= clang
FUZZ_SAN := -fsanitize=address,undefined -fno-sanitize-recover=all -fno-omit-frame-pointer
FUZZ_CFLAGS := $(CFLAGS_ALL) -Ifuzz -Itest -Ilibws
FUZZ_HDRS := fuzz/fuzz_common.h test/contract.h test/oracle.h $(wildcard libws/*.h) $(wildcard include/ws/*.h)
FUZZ_LIB_OBJ := $(LIB_SRC:libws/%.c=$(FUZZ_DIR)/obj/%.o)
# The per-call contract checker and the zlib oracle, shared with test/.
FUZZ_SHARED := fuzz_common contract oracle
FUZZ_BINS := $(FUZZ_TARGETS:%=$(FUZZ_DIR)/bin/%)

# Dictionaries and input sizes per target.
fuzz_dict_fuzz_server := $(FUZZ_DIR)/ws.dict
fuzz_dict_fuzz_client := $(FUZZ_DIR)/ws.dict
fuzz_dict_fuzz_http := fuzz/http.dict
fuzz_dict_fuzz_frame_header := fuzz/frame.dict
fuzz_dict_fuzz_roundtrip := fuzz/frame.dict
fuzz_dict_fuzz_utf8 := fuzz/utf8.dict
fuzz_dict_fuzz_inflate := fuzz/frame.dict
fuzz_dict_fuzz_deflate_oracle :=
fuzz_max_len_fuzz_server := 16384
fuzz_max_len_fuzz_client := 16384
fuzz_max_len_fuzz_http := 12288
fuzz_max_len_fuzz_frame_header := 512
fuzz_max_len_fuzz_roundtrip := 4096
fuzz_max_len_fuzz_utf8 := 4096
fuzz_max_len_fuzz_inflate := 8192
fuzz_max_len_fuzz_deflate_oracle := 512

.PHONY: fuzz fuzz-run fuzz-ci fuzz-replay fuzz-seeds coverage

fuzz: $(FUZZ_BINS) $(FUZZ_DIR)/ws.dict

$(FUZZ_DIR)/obj/%.o: libws/%.c $(FUZZ_HDRS)
	@mkdir -p $(@D)
	$(FUZZ_CC) $(FUZZ_CFLAGS) $(FUZZ_SAN) -fsanitize=fuzzer-no-link -c $< -o $@

$(FUZZ_DIR)/shared/%.o: fuzz/%.c $(FUZZ_HDRS)
	@mkdir -p $(@D)
	$(FUZZ_CC) $(FUZZ_CFLAGS) $(FUZZ_SAN) -fsanitize=fuzzer-no-link -c $< -o $@

$(FUZZ_DIR)/shared/%.o: test/%.c $(FUZZ_HDRS)
	@mkdir -p $(@D)
	$(FUZZ_CC) $(FUZZ_CFLAGS) $(FUZZ_SAN) -fsanitize=fuzzer-no-link -c $< -o $@

FUZZ_SHARED_OBJ := $(FUZZ_SHARED:%=$(FUZZ_DIR)/shared/%.o)

$(FUZZ_DIR)/bin/%: fuzz/%.c $(FUZZ_SHARED_OBJ) $(FUZZ_LIB_OBJ) $(FUZZ_HDRS)
	@mkdir -p $(@D)
	$(FUZZ_CC) $(FUZZ_CFLAGS) $(FUZZ_SAN) -fsanitize=fuzzer -o $@ $< \
	  $(FUZZ_SHARED_OBJ) $(FUZZ_LIB_OBJ) $(LIBS)

# The connection targets see a handshake, then frames: both dictionaries.
$(FUZZ_DIR)/ws.dict: fuzz/http.dict fuzz/frame.dict
	@mkdir -p $(@D)
	cat fuzz/http.dict fuzz/frame.dict > $@

# run.sh finds each target's dictionary and -max_len in this table.
fuzz-run fuzz-ci: export FUZZ_TABLE = $(foreach t,$(FUZZ_TARGETS),$(t):$(fuzz_dict_$(t)):$(fuzz_max_len_$(t)))

SECONDS ?= 60
fuzz-run: fuzz
	@for t in $(FUZZ_TARGETS); do sh fuzz/run.sh $$t $(FUZZ_DIR) $(SECONDS) || true; done

# CI: 60 s per target (9 targets: about 10 minutes with the build), one
# summary line counting targets.
FUZZ_CI_SECONDS ?= 60
fuzz-ci: fuzz
	@pass=0; fail=0; for t in $(FUZZ_TARGETS); do \
	  if sh fuzz/run.sh $$t $(FUZZ_DIR) $(FUZZ_CI_SECONDS); then pass=$$((pass+1)); else fail=$$((fail+1)); fi; \
	done; echo "fuzz: $$pass passed, $$fail failed"; [ $$fail -eq 0 ]

# ---- replay under gcc (make check) ----

REPLAY_CC ?= gcc
REPLAY_SAN := -fsanitize=address,undefined -fno-sanitize-recover=all -fno-omit-frame-pointer
REPLAY_DIR := $(FUZZ_DIR)/replay
REPLAY_LIB_OBJ := $(LIB_SRC:libws/%.c=$(REPLAY_DIR)/obj/%.o)
REPLAY_BINS := $(FUZZ_TARGETS:%=$(REPLAY_DIR)/bin/%)

$(REPLAY_DIR)/obj/%.o: libws/%.c $(FUZZ_HDRS)
	@mkdir -p $(@D)
	$(REPLAY_CC) $(FUZZ_CFLAGS) $(REPLAY_SAN) -c $< -o $@

$(REPLAY_DIR)/obj/fuzz_%.o: fuzz/fuzz_%.c $(FUZZ_HDRS)
	@mkdir -p $(@D)
	$(REPLAY_CC) $(FUZZ_CFLAGS) $(REPLAY_SAN) -c $< -o $@

$(REPLAY_DIR)/obj/replay.o: fuzz/replay.c $(FUZZ_HDRS)
	@mkdir -p $(@D)
	$(REPLAY_CC) $(FUZZ_CFLAGS) $(REPLAY_SAN) -c $< -o $@

$(REPLAY_DIR)/obj/contract.o $(REPLAY_DIR)/obj/oracle.o: $(REPLAY_DIR)/obj/%.o: test/%.c $(FUZZ_HDRS)
	@mkdir -p $(@D)
	$(REPLAY_CC) $(FUZZ_CFLAGS) $(REPLAY_SAN) -c $< -o $@

REPLAY_SHARED_OBJ := $(FUZZ_SHARED:%=$(REPLAY_DIR)/obj/%.o)

$(REPLAY_DIR)/bin/%: $(REPLAY_DIR)/obj/%.o $(REPLAY_DIR)/obj/replay.o $(REPLAY_SHARED_OBJ) \
                 $(REPLAY_LIB_OBJ)
	@mkdir -p $(@D)
	$(REPLAY_CC) $(REPLAY_SAN) -o $@ $^ $(LIBS)

# Prints each target's tally, then "fuzz-replay: N passed, M failed" counting files.
fuzz-replay: $(REPLAY_BINS)
	@pass=0; fail=0; for t in $(FUZZ_TARGETS); do \
	  out=$$(ASAN_OPTIONS=detect_leaks=1:abort_on_error=0 $(REPLAY_DIR)/bin/$$t fuzz/corpus/$$t 2>&1); \
	  printf '%s\n' "$$out" | grep -v '^=\|^ \{4\}' | sed 's/^/  /' | head -n 40; \
	  n=$$(printf '%s\n' "$$out" | sed -n "s/^$$t: \([0-9]*\) files, \([0-9]*\) failed$$/\1 \2/p"); \
	  if [ -z "$$n" ]; then fail=$$((fail+1)); echo "  $$t: no summary"; continue; fi; \
	  set -- $$n; pass=$$((pass+$$1-$$2)); fail=$$((fail+$$2)); \
	done; echo "fuzz-replay: $$pass passed, $$fail failed"; [ $$fail -eq 0 ]


# Keep the objects make would otherwise delete as intermediates.
.SECONDARY: $(FUZZ_LIB_OBJ) $(FUZZ_SHARED_OBJ) $(REPLAY_LIB_OBJ) \
            $(FUZZ_TARGETS:%=$(REPLAY_DIR)/obj/%.o) $(REPLAY_SHARED_OBJ) $(REPLAY_DIR)/obj/replay.o

# ---- seeds ----

# Seeds that need the library to compute (Sec-WebSocket-Accept for the fixed
# client key, masked frames) come from fuzz/gen_seeds.c; the files are small
# and committed, so this is only needed when the vectors change.
$(FUZZ_DIR)/gen_seeds: fuzz/gen_seeds.c fuzz/fuzz_common.c test/contract.c $(FUZZ_HDRS) $(BUILD)/libws.a
	@mkdir -p $(@D)
	$(CC) $(FUZZ_CFLAGS) -o $@ fuzz/gen_seeds.c fuzz/fuzz_common.c test/contract.c $(BUILD)/libws.a $(LIBS)

fuzz-seeds: $(FUZZ_DIR)/gen_seeds
	$(FUZZ_DIR)/gen_seeds fuzz/corpus

-include fuzz/coverage.mk
