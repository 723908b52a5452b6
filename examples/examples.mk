# Examples and the interop tests, included by the main Makefile (it defines
# BUILD, CFLAGS_ALL, LIBS and CHECK_STEPS).
#   make examples   builds $(BUILD)/examples/echo-server and ws-client
#   make run        starts the chat demo on http://localhost:8080/ (127.0.0.1
#                   and ::1; foreground; CHAT_TOKEN=... sets the token)
#   make chat       the chat server's tests, then the page in Chromium (test/chat/)
#   make interop    runs both against Node's ws and Python's websockets, with
#                   and without permessage-deflate (about 45 s); ends with
#                   "interop: N passed, M failed"
#   make adapters   the hardening cases of test/adapters/run.py (about 60 s)
#   make adapter-threads  one adapter loop per thread under ThreadSanitizer
#   make downstream the adapters built against an installed libws (pkg-config
#                   and CMake)

EXAMPLE_BINS := $(BUILD)/examples/echo-server $(BUILD)/examples/echo-server-poll \
	$(BUILD)/examples/echo-server-uv $(BUILD)/examples/ws-client
# Debian's python3-websockets lives in the system interpreter, which may not
# be the first python3 on PATH (pyenv and the like).
INTEROP_PYTHON ?= $(shell [ -x /usr/bin/python3 ] && echo /usr/bin/python3 || echo python3)

.PHONY: examples run interop adapters downstream chat

examples: $(EXAMPLE_BINS)

# The adapter: the pump and deadlines (adapter.c), the loop they share
# (ad_loop.c), the policy (ad_policy.c) and the plain socket (ad_socket.c).
ADAPTER := examples/adapter.c examples/ad_loop.c examples/ad_policy.c examples/ad_socket.c
ADAPTER_DEPS := $(ADAPTER) examples/adapter.h examples/ad_loop.h examples/ad_policy.h examples/ad_transport.h
# wss:// through mbedTLS (examples/tls.c): the same package the library uses.
EXAMPLE_DEPS := $(ADAPTER_DEPS) examples/server_common.h examples/tls.c \
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

$(BUILD)/examples/ws-client: examples/client.c $(EXAMPLE_DEPS)
	@mkdir -p $(@D)
	$(CC) $(CFLAGS_ALL) -o $@ $< $(ADAPTER) $(EXAMPLE_TLS) $(EXAMPLE_LIBS)

CHAT_TOKEN ?= devtoken
# Only what the chat needs is installed and built (scripts/deps.sh run).
run: deps-run
	@$(MAKE) --no-print-directory $(BUILD)/examples/chat-server
	@echo "chat demo: open http://localhost:8080/?token=$(CHAT_TOKEN)  (token: $(CHAT_TOKEN); Ctrl-C stops it)"
	$(BUILD)/examples/chat-server --port 8080 --token $(CHAT_TOKEN) --page examples/chat/index.html

.PHONY: deps-run
deps-run:
	@sh scripts/deps.sh run

# node_modules comes from `npm ci` (CI runs it; here too when it is missing or
# older than the lock file).
node_modules/.package-lock.json: package-lock.json
	npm ci --no-audit --no-fund --loglevel=error

interop: examples node_modules/.package-lock.json
	@$(INTEROP_PYTHON) test/interop/run.py --bin $(BUILD)/examples

# What a public server and a long-running client must survive (issue 10 §3):
# timeouts, caps, EMFILE, amplification, backpressure, backoff, EPIPE, ttys;
# TLS handshake floods, paced deflate peers, silent TLS memory, alerts and
# close_notify, close timeouts (issue 21); about 3 min, ends with
# "adapters: N passed, M failed".
adapters: examples $(BUILD)/test/count_recv.so $(BUILD)/test/tls-alert $(BUILD)/test/deflate-clients
	@timeout -k 10 300 $(INTEROP_PYTHON) test/adapters/idle_mem.py --bin $(BUILD)/examples -n 2000 --no-tls --check 4
	@timeout -k 10 900 $(INTEROP_PYTHON) test/adapters/run.py --bin $(BUILD)/examples --server echo-server \
		--server echo-server-poll --server echo-server-uv

# An LD_PRELOAD shim that counts the server's recv() calls (wss:// reads).
$(BUILD)/test/count_recv.so: test/adapters/count_recv.c
	@mkdir -p $(@D)
	$(CC) -std=c99 -O2 $(WARN) -shared -fPIC -o $@ $< -ldl

# A wss:// client that sends a warning alert and a frame in one segment.
$(BUILD)/test/tls-alert: test/adapters/tls_alert.c
	@mkdir -p $(@D)
	$(CC) $(CFLAGS_ALL) -o $@ $< -lmbedtls -lmbedx509 -lmbedcrypto

# 500 permessage-deflate clients that read at a set pace and count the
# connections the server dropped before they were done (issue 21 #2).
$(BUILD)/test/deflate-clients: test/adapters/deflate_clients.c $(BUILD)/libws.a
	@mkdir -p $(@D)
	$(CC) $(CFLAGS_ALL) -o $@ $< $(BUILD)/libws.a $(LIBS) -lz

# One adapter loop per thread under ThreadSanitizer (issue 22): two server
# loops of 100 connections and a loop of their 200 clients, each in its own
# thread, every echo checked (test/adapters/threads.c); about 20 s. TSan
# makes the program exit nonzero on any data race. Ends with
# "adapter-threads: N passed, M failed".
.PHONY: adapter-threads
ADAPTER_TSAN := -fsanitize=thread -fno-omit-frame-pointer
adapter-threads:
	@$(MAKE) --no-print-directory -s BUILD=$(BUILD)/tsan OPT=-O1 SAN="$(ADAPTER_TSAN)" $(BUILD)/tsan/test/adapter-threads
	@TSAN_OPTIONS="halt_on_error=1 second_deadlock_stack=1" timeout -k 10 300 $(BUILD)/tsan/test/adapter-threads

$(BUILD)/test/adapter-threads: test/adapters/threads.c $(ADAPTER_DEPS) $(BUILD)/libws.a
	@mkdir -p $(@D)
	$(CC) $(CFLAGS_ALL) -o $@ $< $(ADAPTER) $(BUILD)/libws.a $(LIBS) -lpthread

# The adapters built from an installed copy through pkg-config, and the
# CMake project of examples/cmake (pkg_check_modules IMPORTED_TARGET).
downstream: lib
	@sh test/adapters/downstream.sh "$(MAKE)" $(BUILD)

# Clients that name "localhost" against every server, once with ::1 first and
# once with 127.0.0.1 first, each order set in a private mount namespace
# (test/interop/localhost.sh); about 10 s. Ends with two summary lines.
.PHONY: localhost
localhost: examples node_modules/.package-lock.json
	@sh test/interop/localhost.sh $(BUILD)/examples $(BUILD)/localhost

CHECK_STEPS += interop localhost adapters adapter-threads downstream

# The chat demo (examples/chat/): rooms, history, token auth, origin checks,
# rate limits, heartbeats; JSON through jansson (Debian libjansson-dev).
CHAT_SERVER := $(BUILD)/examples/chat-server
examples: $(CHAT_SERVER)

# With --redis, instances share rooms through Redis (chat_redis.c, hiredis's
# async API: Debian libhiredis-dev).
$(CHAT_SERVER): examples/chat/chat_server.c examples/chat/chat_redis.c examples/chat/chat_redis.h $(EXAMPLE_DEPS)
	@mkdir -p $(@D)
	$(CC) $(CFLAGS_ALL) -o $@ $< examples/chat/chat_redis.c $(ADAPTER) $(EXAMPLE_TLS) $(EXAMPLE_LIBS) \
		-ljansson -lhiredis

# The server's logic through Python's websockets (about 10 s), then two pages
# in Debian's Chromium through playwright-core (test/chat/browser_test.js);
# the screenshot lands in $(BUILD)/chat-screenshot.png.
CHROMIUM ?= /usr/bin/chromium
chat: $(CHAT_SERVER) node_modules/.package-lock.json
	@timeout 60 $(INTEROP_PYTHON) test/chat/server_test.py --bin $(BUILD)/examples --page examples/chat/index.html
	@timeout 60 node test/chat/browser_test.js --bin $(BUILD)/examples --page examples/chat/index.html \
		--chromium $(CHROMIUM) --screenshot $(BUILD)/chat-screenshot.png

CHECK_STEPS += chat

# Scale-out (README, "Scaling out"): redis-server, two chat-server instances
# with --redis and nginx in front (examples/chat/nginx.conf.in), all on
# loopback ports, all Debian packages (redis-server, nginx); about 25 s.
# Ends with "chat-redis: N passed, M failed".
.PHONY: chat-redis
chat-redis: $(CHAT_SERVER)
	@timeout -k 10 180 $(INTEROP_PYTHON) test/chat/redis_test.py --bin $(BUILD)/examples \
		--page examples/chat/index.html --work $(BUILD)/chat-redis

CHECK_STEPS += chat-redis

# WebSocket over HTTP/2 (RFC 8441): examples/h2/, nghttp2 (Debian
# libnghttp2-dev) beside libws, HTTP/1.1 on the same TLS port (ALPN).
H2_SERVER := $(BUILD)/examples/h2-server
examples: $(H2_SERVER)

$(H2_SERVER): examples/h2/h2_server.c examples/h2/h2_ws.c examples/h2/h2_ws.h $(EXAMPLE_DEPS)
	@mkdir -p $(@D)
	$(CC) $(CFLAGS_ALL) -o $@ $< examples/h2/h2_ws.c $(ADAPTER) $(EXAMPLE_TLS) $(EXAMPLE_LIBS) -lnghttp2

# Chromium (headless, the test CA's certificate through its SPKI hash) and
# Node's http2 client against it: WebSockets as streams of one HTTP/2
# connection, echoes, permessage-deflate, close and reset, timers, refusals,
# hostile peers, and the HTTP/1.1 upgrade on the same port; then the same
# against the server built with ASan+UBSan (about 70 s in all). Ends with
# "h2: N passed, M failed" and "h2-asan: ...".
.PHONY: h2
H2_SAN := -fsanitize=address,undefined -fno-sanitize-recover=all -fno-omit-frame-pointer
h2: $(H2_SERVER) node_modules/.package-lock.json
	@timeout 170 node test/h2/run.mjs --bin $(BUILD)/examples --chromium $(CHROMIUM) --certs $(BUILD)/h2-certs
	@$(MAKE) --no-print-directory -s BUILD=$(BUILD)/san-h2 OPT=-O1 SAN="$(H2_SAN)" $(BUILD)/san-h2/examples/h2-server
	@timeout 170 node test/h2/run.mjs --bin $(BUILD)/san-h2/examples --chromium $(CHROMIUM) --certs $(BUILD)/h2-certs \
		--name h2-asan

CHECK_STEPS += h2
