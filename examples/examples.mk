# The examples: code meant to be copied (the adapter core, the TLS transport,
# three echo servers), included by the main Makefile (it defines BUILD,
# CFLAGS_ALL, LIBS). The demos (demos/demos.mk) and the end-to-end tests
# (test/e2e/e2e.mk) build on the same files.
#   make examples   builds every example and demo into $(BUILD)/examples/

EXAMPLE_BINS := $(BUILD)/examples/echo-server $(BUILD)/examples/echo-server-poll \
	$(BUILD)/examples/echo-server-uv

.PHONY: examples

examples: $(EXAMPLE_BINS)

# wss:// through mbedTLS (examples/tls.c): the same package the library uses.
EXAMPLE_DEPS := examples/adapter.c examples/adapter.h examples/server_common.h examples/tls.c \
	examples/tls.h $(BUILD)/libws.a $(wildcard include/ws/*.h)
EXAMPLE_TLS := -DWITH_TLS examples/tls.c
EXAMPLE_LIBS := $(BUILD)/libws.a -lmbedtls -lmbedx509 $(LIBS)

$(BUILD)/examples/echo-server: examples/echo_server.c $(EXAMPLE_DEPS)
	@mkdir -p $(@D)
	$(CC) $(CFLAGS_ALL) -o $@ $< examples/adapter.c $(EXAMPLE_TLS) $(EXAMPLE_LIBS)

$(BUILD)/examples/echo-server-poll: examples/echo_server_poll.c $(EXAMPLE_DEPS)
	@mkdir -p $(@D)
	$(CC) $(CFLAGS_ALL) -o $@ $< examples/adapter.c $(EXAMPLE_TLS) $(EXAMPLE_LIBS)

# libuv (Debian libuv1-dev); no TLS there: libuv owns the socket.
$(BUILD)/examples/echo-server-uv: examples/echo_server_uv.c $(EXAMPLE_DEPS)
	@mkdir -p $(@D)
	$(CC) $(CFLAGS_ALL) -o $@ $< examples/adapter.c $(BUILD)/libws.a $(LIBS) -luv

# examples/minimal.c: the library alone, no adapter; `make minimal`
# (test/e2e/e2e.mk) builds it as a newcomer does, from an installed libws.
MINIMAL := $(BUILD)/examples/minimal
examples: $(MINIMAL)

$(MINIMAL): examples/minimal.c $(BUILD)/libws.a $(wildcard include/ws/*.h)
	@mkdir -p $(@D)
	$(CC) $(CFLAGS_ALL) -o $@ $< $(BUILD)/libws.a $(LIBS)
