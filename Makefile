# libws — plain Makefile. `make` builds the libraries, `make test` runs the
# library's own checks (a few minutes, a C compiler, zlib and mbedTLS), `make
# check` runs every test (real peers, browsers, servers, QEMU), `make run`
# starts the demo. Variables: CC, PREFIX, DESTDIR, WS_DEFLATE.

CC ?= cc
PREFIX ?= /usr/local
LIBDIR ?= $(PREFIX)/lib
INCLUDEDIR ?= $(PREFIX)/include
WS_DEFLATE ?= 1
BUILD ?= build
OPT ?= -O2
SAN ?=

VERSION := $(shell sed -n 's/^\#define WS_VERSION_STRING "\(.*\)"/\1/p' include/ws/version.h)
MAJOR := $(shell sed -n 's/^\#define WS_VERSION_MAJOR \([0-9]*\)/\1/p' include/ws/version.h)
SONAME := libws.so.$(MAJOR)

# Every test talks to its peers on loopback; a proxy set for the machine
# (apt's, a company's) must not carry that, since clients such as ws-client
# follow http_proxy as curl does. make proxy sets its own per case.
comma := ,
LOOPBACK := localhost,127.0.0.1,::1
export no_proxy := $(if $(no_proxy),$(no_proxy)$(comma))$(LOOPBACK)
export NO_PROXY := $(if $(NO_PROXY),$(NO_PROXY)$(comma))$(LOOPBACK)

WARN := -Wall -Wextra -Wpedantic -Werror -Wshadow -Wstrict-prototypes -Wmissing-prototypes
CFLAGS_ALL := -std=c99 $(OPT) -g $(WARN) -Iinclude $(SAN) $(CFLAGS)
LIB_CFLAGS := $(CFLAGS_ALL) -fPIC -fvisibility=hidden
LIBS := -lmbedcrypto
ifeq ($(WS_DEFLATE),1)
LIB_CFLAGS += -DWS_DEFLATE=1
CFLAGS_ALL += -DWS_DEFLATE=1
LIBS += -lz
PC_REQUIRES := zlib
endif

LIB_SRC := $(wildcard libws/*.c)
LIB_OBJ := $(LIB_SRC:libws/%.c=$(BUILD)/obj/%.o)
TEST_SRC := $(wildcard test/test_*.c)
TESTS := $(TEST_SRC:test/%.c=$(BUILD)/test/%)

.PHONY: all lib unit test check sanitize sanitize-gcc sanitize-clang nodeflate install uninstall clean deps deps-lib \
        run bench fuzz symbols install-test examples

all: lib

lib: $(BUILD)/libws.a $(BUILD)/$(SONAME)

$(BUILD)/obj/%.o: libws/%.c $(wildcard libws/*.h) $(wildcard include/ws/*.h)
	@mkdir -p $(@D)
	$(CC) $(LIB_CFLAGS) -c $< -o $@

$(BUILD)/libws.a: $(LIB_OBJ)
	@rm -f $@
	ar rcs $@ $^

$(BUILD)/$(SONAME): $(LIB_OBJ)
	$(CC) -shared -Wl,-soname,$(SONAME) $(SAN) -o $(BUILD)/libws.so.$(VERSION) $^ $(LIBS)
	ln -sf libws.so.$(VERSION) $@
	ln -sf $(SONAME) $(BUILD)/libws.so

$(BUILD)/test/harness.o: test/harness.c test/harness.h test/contract.h $(wildcard include/ws/*.h)
	@mkdir -p $(@D)
	$(CC) $(CFLAGS_ALL) -Ilibws -c $< -o $@

# The ws_conn_recv contract and the zlib oracle, shared with fuzz/ (fuzz/fuzz.mk
# builds its own copies).
TEST_SHARED := $(BUILD)/test/harness.o $(BUILD)/test/contract.o $(BUILD)/test/oracle.o

$(BUILD)/test/contract.o: test/contract.c test/contract.h $(wildcard include/ws/*.h)
	@mkdir -p $(@D)
	$(CC) $(CFLAGS_ALL) -c $< -o $@

$(BUILD)/test/oracle.o: test/oracle.c test/oracle.h test/contract.h $(wildcard include/ws/*.h)
	@mkdir -p $(@D)
	$(CC) $(CFLAGS_ALL) -c $< -o $@

$(BUILD)/test/%: test/%.c $(TEST_SHARED) $(BUILD)/libws.a test/harness.h
	@mkdir -p $(@D)
	$(CC) $(CFLAGS_ALL) -Ilibws -o $@ $< $(TEST_SHARED) $(BUILD)/libws.a $(LIBS)

# Runs every unit test binary; each prints "name: N passed, M failed".
unit: $(TESTS)
	@sh test/run.sh $(TESTS)

# Unit tests under ASan+UBSan, in their own build directory.
sanitize:
	@$(MAKE) --no-print-directory BUILD=$(BUILD)/san-$(notdir $(CC)) OPT=-O1 \
	  SAN="-fsanitize=address,undefined -fno-sanitize-recover=all -fno-omit-frame-pointer" unit

# Unit tests under Valgrind's memcheck: catches reads of uninitialised bytes,
# which ASan does not, so a test cannot pass on what the stack happened to
# hold. test_contract is left out: it reads guard pages on purpose.
memcheck: $(TESTS)
	@T_SPARSE=1 T_WRAP="valgrind -q --error-exitcode=99" sh test/run.sh $(filter-out %/test_contract,$(TESTS))

# Only ws_ names may leave the shared library.
symbols: $(BUILD)/$(SONAME)
	@sh test/check_symbols.sh $(BUILD)/$(SONAME)

install: lib
	install -d $(DESTDIR)$(INCLUDEDIR)/ws $(DESTDIR)$(LIBDIR)/pkgconfig
	install -m 644 include/ws/*.h $(DESTDIR)$(INCLUDEDIR)/ws/
	install -m 644 $(BUILD)/libws.a $(DESTDIR)$(LIBDIR)/
	install -m 755 $(BUILD)/libws.so.$(VERSION) $(DESTDIR)$(LIBDIR)/
	ln -sf libws.so.$(VERSION) $(DESTDIR)$(LIBDIR)/$(SONAME)
	ln -sf $(SONAME) $(DESTDIR)$(LIBDIR)/libws.so
	sed -e 's|@PREFIX@|$(PREFIX)|; s|@LIBDIR@|$(LIBDIR)|; s|@INCLUDEDIR@|$(INCLUDEDIR)|' \
	    -e 's|@VERSION@|$(VERSION)|; s|@REQUIRES@|$(PC_REQUIRES)|; s|@LIBS@|$(LIBS)|' \
	    pkgconfig/libws.pc.in > $(DESTDIR)$(LIBDIR)/pkgconfig/libws.pc

uninstall:
	rm -f $(DESTDIR)$(INCLUDEDIR)/ws/*.h $(DESTDIR)$(LIBDIR)/libws.a \
	      $(DESTDIR)$(LIBDIR)/libws.so* $(DESTDIR)$(LIBDIR)/pkgconfig/libws.pc
	-rmdir $(DESTDIR)$(INCLUDEDIR)/ws

# Installs into a scratch prefix and builds a downstream program through pkg-config.
install-test: lib
	@sh test/install_test.sh "$(MAKE)" $(BUILD)

deps:
	@sh scripts/deps.sh all

deps-lib:
	@sh scripts/deps.sh lib

# The library's own checks (make test): the unit tests four ways (gcc -O2,
# ASan+UBSan with gcc and with clang, without zlib), exported symbols and
# imports, install + pkg-config, the fuzz corpora replayed (fuzz/fuzz.mk).
# Groups run side by side, each in its own build directory; the steps of a
# group (joined by commas) one after the other (test/steps.sh).
TEST_GROUPS := unit,symbols,install-test,lwip sanitize-gcc sanitize-clang nodeflate fuzz-replay
# make check runs them and memcheck, then two lanes side by side, each one
# step after the other: the steps the fragments included below append to
# CHECK_STEPS (interop, adapters, chat, HTTP/2, proxies, bench checks), which
# talk to real peers, and those they append to CHECK_EMU_STEPS (the cross
# builds under qemu-user and Wine, the Windows echo, the CMake consumers, the
# Cortex-M build under QEMU), which build and emulate and time nothing but
# their own limits. CI puts its own steps first (CI_STEPS=fuzz-ci: .ci/run).
# Both end with one summary line, "N passed, M failed".
CI_STEPS ?=
CHECK_STEPS :=
CHECK_EMU_STEPS :=
space := $(subst ,, )
lane = $(subst $(space),$(comma),$(strip $(1)))

# The library and its tests built without zlib (make WS_DEFLATE=0).
nodeflate:
	@$(MAKE) --no-print-directory BUILD=$(BUILD)/nodeflate WS_DEFLATE=0 unit

sanitize-gcc:
	@$(MAKE) --no-print-directory sanitize CC=gcc

sanitize-clang:
	@$(MAKE) --no-print-directory sanitize CC=clang

test: deps-lib
	@mkdir -p $(BUILD)
	@sh test/steps.sh -p "$(MAKE)" $(BUILD)/steps $(TEST_GROUPS) | tee $(BUILD)/test.log
	@sh test/summary.sh $(BUILD)/test.log

check: deps
	@mkdir -p $(BUILD)
	@{ sh test/steps.sh "$(MAKE)" $(BUILD)/steps $(CI_STEPS); \
	   sh test/steps.sh -p "$(MAKE)" $(BUILD)/steps $(TEST_GROUPS) memcheck; \
	   sh test/steps.sh -p "$(MAKE)" $(BUILD)/steps $(call lane,$(CHECK_STEPS)) $(call lane,$(CHECK_EMU_STEPS)); \
	 } | tee $(BUILD)/check.log
	@sh test/summary.sh $(BUILD)/check.log

clean:
	rm -rf $(BUILD)

# Parts kept beside the code they build.
-include $(wildcard bench/*.mk) fuzz/fuzz.mk examples/examples.mk demos/demos.mk test/e2e/e2e.mk test/e2e/windows/windows.mk \
	test/lwip/lwip.mk
-include ports/mcu/mcu.mk ports/cross/cross.mk
