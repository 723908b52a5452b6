# Windows: the Winsock adapter (examples/ad_sock.h) and echo-server-poll
# cross-built with mingw-w64 (Debian gcc-mingw-w64, with zlib from
# libz-mingw-w64-dev), run under Wine in a prefix of its own, answered by a
# Linux peer over loopback (run.py). Included by the main Makefile after
# test/e2e/e2e.mk.
#   make windows   about 60 s (20 of them wineboot, the first time); ends with
#                  "windows: N passed, M failed"
# Plain ws:// only: examples/tls.c is not built for Windows. SHA-1 comes from
# Windows' CNG through the crypto hook (ports/windows/crypto_cng.c; -DWS_CRYPTO_HOOK=1).

MINGW_CC ?= x86_64-w64-mingw32-gcc
MINGW_AR ?= x86_64-w64-mingw32-ar
# Debian's wine64 package puts the 64-bit loader here (/usr/bin/wine asks for wine32 too).
WINE ?= $(or $(wildcard /usr/lib/wine/wine64),wine64)
WIN_B := $(BUILD)/windows
WIN_CFLAGS := -std=c99 -O2 $(WARN) -Iinclude -DWS_DEFLATE=1 -DWS_CRYPTO_HOOK=1
WIN_LIB_OBJ := $(LIB_SRC:libws/%.c=$(WIN_B)/obj/%.o)

.PHONY: windows

$(WIN_B)/obj/%.o: libws/%.c $(wildcard libws/*.h) $(wildcard include/ws/*.h)
	@mkdir -p $(@D)
	$(MINGW_CC) $(WIN_CFLAGS) -fvisibility=hidden -c $< -o $@

$(WIN_B)/libws.a: $(WIN_LIB_OBJ)
	@rm -f $@
	$(MINGW_AR) rcs $@ $^

# -static: the program needs no DLL beyond Windows' own (zlib, libgcc inside).
$(WIN_B)/echo-server-poll.exe: examples/echo_server_poll.c examples/ad_sock.h examples/server_common.h $(ADAPTER_DEPS) \
                               ports/windows/crypto_cng.c $(WIN_B)/libws.a
	$(MINGW_CC) $(WIN_CFLAGS) -o $@ $< $(ADAPTER) ports/windows/crypto_cng.c $(WIN_B)/libws.a \
		-static -lz -lbcrypt -lws2_32

windows: $(WIN_B)/echo-server-poll.exe
	@timeout -k 10 300 $(INTEROP_PYTHON) $(E2E)/windows/run.py --exe $(WIN_B)/echo-server-poll.exe \
		--wine $(WINE) --prefix $(BUILD)/wineprefix

CHECK_EMU_STEPS += windows
