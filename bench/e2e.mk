# End-to-end benchmark over loopback: bench/loadgen (an epoll client written
# against libws) drives our echo server (examples/echo_server.c) and Node's
# `ws` (bench/echo_node.mjs) in turn, server on CPU 0, load generator on
# CPU 1, 16 B / 1 KiB / 64 KiB messages over 1 and 64 connections (64 x 1 KiB
# at depth 1, 8 and 16); then the same over wss:// (mbedTLS in ours and in
# loadgen, OpenSSL in Node), with a test CA made by test/e2e/interop/tls_certs.sh.
# Reports msgs/s, server CPU and system calls per message, round trips, and
# the issue-13 targets (64 x 1 KiB, depth 1 and 8).
#   make bench-e2e        table on stdout, $(BUILD)/bench-e2e.json (~3 min)
#   make bench-e2e E2E_FLAGS='--no-tls --only 64x1024 --repeat 5 --base OLD/build'
#                         medians of 5 turns, and a before/after table against
#                         the echo-server of another build (OLD/build)
#   make bench-e2e-check  2 connections, a few hundred messages of 0..200000
#                         bytes against our echo server, every echo compared
#                         byte for byte (~1 s); part of make check
# Uses BUILD, CFLAGS_ALL, LIBS and CHECK_STEPS from the main Makefile, and
# the echo-server rule of examples/examples.mk and the Node peers of
# test/e2e/e2e.mk.
E2E_PYTHON ?= $(shell [ -x /usr/bin/python3 ] && echo /usr/bin/python3 || echo python3)
E2E_FLAGS ?=

$(BUILD)/bench/loadgen: bench/loadgen.c bench/client_util.h examples/tls.c examples/tls.h $(wildcard examples/ad*.h) examples/ad_socket.c \
		$(BUILD)/libws.a $(wildcard include/ws/*.h)
	@mkdir -p $(@D)
	$(CC) $(CFLAGS_ALL) -o $@ bench/loadgen.c examples/ad_socket.c -DWITH_TLS examples/tls.c $(BUILD)/libws.a \
		-lmbedtls -lmbedx509 $(LIBS)

.PHONY: bench-e2e bench-e2e-check
bench-e2e: $(BUILD)/examples/echo-server $(BUILD)/bench/loadgen test/e2e/node_modules/.package-lock.json
	@$(E2E_PYTHON) bench/e2e.py --bin $(BUILD) --json $(BUILD)/bench-e2e.json $(E2E_FLAGS)

bench-e2e-check: $(BUILD)/examples/echo-server $(BUILD)/bench/loadgen
	@$(E2E_PYTHON) bench/e2e.py --bin $(BUILD) --check

CHECK_STEPS += bench-e2e-check
