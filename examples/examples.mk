# Examples and the interop tests, included by the main Makefile (it defines
# BUILD, CFLAGS_ALL, LIBS and CHECK_STEPS).
#   make examples   builds $(BUILD)/examples/echo-server and ws-client
#   make run        starts the echo server on 127.0.0.1:8080 (foreground)
#   make interop    runs both against Node's ws and Python's websockets, with
#                   and without permessage-deflate (about 45 s); ends with
#                   "interop: N passed, M failed"

EXAMPLE_BINS := $(BUILD)/examples/echo-server $(BUILD)/examples/ws-client
# Debian's python3-websockets lives in the system interpreter, which may not
# be the first python3 on PATH (pyenv and the like).
INTEROP_PYTHON ?= $(shell [ -x /usr/bin/python3 ] && echo /usr/bin/python3 || echo python3)

.PHONY: examples run interop

examples: $(EXAMPLE_BINS)

EXAMPLE_DEPS := examples/adapter.c examples/adapter.h examples/server_common.h $(BUILD)/libws.a \
	$(wildcard include/ws/*.h)

$(BUILD)/examples/echo-server: examples/echo_server.c $(EXAMPLE_DEPS)
	@mkdir -p $(@D)
	$(CC) $(CFLAGS_ALL) -o $@ $< examples/adapter.c $(BUILD)/libws.a $(LIBS)

$(BUILD)/examples/ws-client: examples/client.c $(EXAMPLE_DEPS)
	@mkdir -p $(@D)
	$(CC) $(CFLAGS_ALL) -o $@ $< examples/adapter.c $(BUILD)/libws.a $(LIBS)

run: deps examples
	$(BUILD)/examples/echo-server --host 127.0.0.1 --port 8080

# node_modules comes from `npm ci` (CI runs it; here too when it is missing or
# older than the lock file).
node_modules/.package-lock.json: package-lock.json
	npm ci --no-audit --no-fund --loglevel=error

interop: examples node_modules/.package-lock.json
	@$(INTEROP_PYTHON) test/interop/run.py --bin $(BUILD)/examples

CHECK_STEPS += interop
