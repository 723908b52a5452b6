# examples/lwip_echo.c (the WebSocket echo server on lwIP's raw API) tested
# against a stand-in for lwIP (test/lwip/lwip/*.h, fake_lwip.c; lwIP is not
# packaged in Debian) by test/lwip/test_lwip.c. Included by the main Makefile.
#   make lwip   the example compiled alone and the test, with gcc, with clang,
#               and under ASan+UBSan; each run ends "lwip: N passed, M failed"

LWIP_SRC := test/lwip/test_lwip.c test/lwip/fake_lwip.c
LWIP_DEPS := $(LWIP_SRC) test/lwip/fake_lwip.h test/lwip/lwip.mk $(wildcard test/lwip/lwip/*.h) \
	examples/lwip_echo.c $(wildcard include/ws/*.h)
LWIP_SAN := -fsanitize=address,undefined -fno-sanitize-recover=all -fno-omit-frame-pointer

.PHONY: lwip lwip-one

lwip:
	@$(MAKE) --no-print-directory lwip-one
	@$(MAKE) --no-print-directory BUILD=$(BUILD)/lwip-clang CC=clang lwip-one
	@$(MAKE) --no-print-directory BUILD=$(BUILD)/lwip-san OPT=-O1 SAN="$(LWIP_SAN)" lwip-one

lwip-one: $(BUILD)/lwip/test_lwip
	@sh test/run.sh $<

# The example alone, as an lwIP project compiles it, then the test (which
# includes it, to look into its peers).
$(BUILD)/lwip/test_lwip: $(LWIP_DEPS) $(BUILD)/libws.a
	@mkdir -p $(@D)
	$(CC) $(CFLAGS_ALL) -Itest/lwip -c examples/lwip_echo.c -o $(BUILD)/lwip/lwip_echo.o
	$(CC) $(CFLAGS_ALL) -Itest/lwip -o $@ $(LWIP_SRC) $(BUILD)/libws.a $(LIBS)
