# libws — plain Makefile. `make` builds the libraries, `make check` runs every
# test, `make run` starts the demo. Variables: CC, PREFIX, DESTDIR, WS_DEFLATE.

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

.PHONY: all lib test check sanitize sanitize-gcc sanitize-clang nodeflate install uninstall clean deps run bench fuzz symbols \
        install-test examples

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
test: $(TESTS)
	@sh test/run.sh $(TESTS)

# Unit tests under ASan+UBSan, in their own build directory.
sanitize:
	@$(MAKE) --no-print-directory BUILD=$(BUILD)/san-$(notdir $(CC)) OPT=-O1 \
	  SAN="-fsanitize=address,undefined -fno-sanitize-recover=all -fno-omit-frame-pointer" test

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
	@sh scripts/deps.sh

# Everything: unit tests (gcc), the same under ASan+UBSan with gcc and clang,
# exported symbols and imports, install + pkg-config; the fragments included
# below append their own steps (bench correctness, fuzz corpus replay,
# interop). Ends with one summary line, "N passed, M failed".
CHECK_STEPS := test sanitize-gcc sanitize-clang nodeflate symbols install-test

# The library and its tests built without zlib (make WS_DEFLATE=0).
nodeflate:
	@$(MAKE) --no-print-directory BUILD=$(BUILD)/nodeflate WS_DEFLATE=0 test

sanitize-gcc:
	@$(MAKE) --no-print-directory sanitize CC=gcc

sanitize-clang:
	@$(MAKE) --no-print-directory sanitize CC=clang

check: deps
	@mkdir -p $(BUILD)
	@for s in $(CHECK_STEPS); do \
	  echo "== $$s"; \
	  $(MAKE) --no-print-directory $$s 2>&1 || echo "$$s: 0 passed, 1 failed (make $$s exited nonzero)"; \
	done | tee $(BUILD)/check.log
	@sh test/summary.sh $(BUILD)/check.log

clean:
	rm -rf $(BUILD)

# Parts kept beside the code they build.
-include $(wildcard bench/*.mk) fuzz/fuzz.mk examples/examples.mk
-include mcu/mcu.mk
