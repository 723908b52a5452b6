# The examples: code meant to be copied (the adapter core, the TLS transport,
# three echo servers), included by the main Makefile (it defines BUILD,
# CFLAGS_ALL, LIBS). The demos (demos/demos.mk) and the end-to-end tests
# (test/e2e/e2e.mk) build on the same files.
#   make examples   builds every example and demo into $(BUILD)/examples/

EXAMPLE_BINS := $(BUILD)/examples/echo-server $(BUILD)/examples/echo-server-poll \
	$(BUILD)/examples/echo-server-uv

.PHONY: examples

examples: $(EXAMPLE_BINS)

# The adapter: the pump and deadlines (adapter.c), the loop they share
# (ad_loop.c), the policy (ad_policy.c) and the plain socket (ad_socket.c).
ADAPTER := examples/adapter.c examples/ad_loop.c examples/ad_policy.c examples/ad_socket.c
ADAPTER_DEPS := $(ADAPTER) examples/adapter.h examples/ad_loop.h examples/ad_policy.h examples/ad_transport.h
# wss:// through mbedTLS (examples/tls.c): the same package the library uses.
EXAMPLE_DEPS := $(ADAPTER_DEPS) examples/server_common.h examples/srv_epoll.h examples/tls.c \
	examples/tls.h $(BUILD)/libws.a $(wildcard include/ws/*.h)
EXAMPLE_TLS := -DWITH_TLS examples/tls.c
EXAMPLE_LIBS := $(BUILD)/libws.a -lmbedtls -lmbedx509 $(LIBS)

$(BUILD)/examples/echo-server: examples/echo_server.c $(EXAMPLE_DEPS)
	@mkdir -p $(@D)
	$(CC) $(CFLAGS_ALL) -o $@ $< $(ADAPTER) $(EXAMPLE_TLS) $(EXAMPLE_LIBS)

$(BUILD)/examples/echo-server-poll: examples/echo_server_poll.c $(EXAMPLE_DEPS)
	@mkdir -p $(@D)
	$(CC) $(CFLAGS_ALL) -o $@ $< $(ADAPTER) $(EXAMPLE_TLS) $(EXAMPLE_LIBS)

# libuv (Debian libuv1-dev); no TLS there: libuv owns the socket.
$(BUILD)/examples/echo-server-uv: examples/echo_server_uv.c $(EXAMPLE_DEPS)
	@mkdir -p $(@D)
	$(CC) $(CFLAGS_ALL) -o $@ $< $(ADAPTER) $(BUILD)/libws.a $(LIBS) -luv

# examples/minimal.c: the library alone, no adapter; `make minimal`
# (test/e2e/e2e.mk) builds it as a newcomer does, from an installed libws.
MINIMAL := $(BUILD)/examples/minimal
examples: $(MINIMAL)

$(MINIMAL): examples/minimal.c $(BUILD)/libws.a $(wildcard include/ws/*.h)
	@mkdir -p $(@D)
	$(CC) $(CFLAGS_ALL) -o $@ $< $(BUILD)/libws.a $(LIBS)
