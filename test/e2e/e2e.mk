# End-to-end tests: the examples and demos against real peers (Node's ws,
# Python's websockets, Chromium, Redis, nginx), included by the main Makefile
# after examples/examples.mk and demos/demos.mk. Each ends with "NAME: N
# passed, M failed"; make check runs them one by one (CHECK_STEPS).
#   make interop    the servers and ws-client against Node's ws and Python's
#                   websockets, with and without permessage-deflate
#   make localhost  clients that name "localhost" with ::1 first and 127.0.0.1 first
#   make adapters   the hardening cases of test/e2e/adapters/run.py (about 3 min)
#   make adapter-threads  one adapter loop per thread under ThreadSanitizer
#   make downstream the adapters built against an installed libws (pkg-config
#                   and CMake), and libws's own CMake build: ctest, install,
#                   find_package / add_subdirectory / FetchContent, mingw-w64
#   make minimal    examples/minimal.c built alone and driven by websockets
#   make chat       the chat server's tests, then the page in Chromium
#   make chat-redis two chat instances scaled out through Redis behind nginx
#   make h2         the HTTP/2 demo against Chromium and Node, then under ASan
#   make proxy      ws-client through HTTP CONNECT proxies (tinyproxy, fakes)

E2E := test/e2e
# Debian's python3-websockets lives in the system interpreter, which may not
# be the first python3 on PATH (pyenv and the like).
INTEROP_PYTHON ?= $(shell [ -x /usr/bin/python3 ] && echo /usr/bin/python3 || echo python3)
CHROMIUM ?= /usr/bin/chromium

.PHONY: interop localhost adapters adapter-threads downstream minimal chat chat-redis h2 proxy

# The Node peers (ws, playwright-core) come from `npm ci` in test/e2e/ (CI
# runs it; here too when they are missing or older than the lock file).
NODE_PEERS := $(E2E)/node_modules/.package-lock.json
$(NODE_PEERS): $(E2E)/package-lock.json
	npm ci --prefix $(E2E) --no-audit --no-fund --loglevel=error

interop: examples $(NODE_PEERS)
	@$(INTEROP_PYTHON) $(E2E)/interop/run.py --bin $(BUILD)/examples

# Each order set in a private mount namespace (localhost.sh); about 10 s.
# Ends with two summary lines.
localhost: examples $(NODE_PEERS)
	@sh $(E2E)/interop/localhost.sh $(BUILD)/examples $(BUILD)/localhost

# What a public server and a long-running client must survive (issue 10 §3):
# timeouts, caps, EMFILE, amplification, backpressure, backoff, EPIPE, ttys;
# TLS handshake floods, paced deflate peers, silent TLS memory, alerts and
# close_notify, close timeouts (issue 21).
adapters: examples $(BUILD)/test/count_recv.so $(BUILD)/test/tls-alert $(BUILD)/test/deflate-clients
	@timeout -k 10 300 $(INTEROP_PYTHON) $(E2E)/adapters/idle_mem.py --bin $(BUILD)/examples -n 2000 --no-tls --check 4
	@timeout -k 10 900 $(INTEROP_PYTHON) $(E2E)/adapters/run.py --bin $(BUILD)/examples --server echo-server \
		--server echo-server-poll --server echo-server-uv

# An LD_PRELOAD shim that counts the server's recv() calls (wss:// reads).
$(BUILD)/test/count_recv.so: $(E2E)/adapters/count_recv.c
	@mkdir -p $(@D)
	$(CC) -std=c99 -O2 $(WARN) -shared -fPIC -o $@ $< -ldl

# A wss:// client that sends a warning alert and a frame in one segment.
$(BUILD)/test/tls-alert: $(E2E)/adapters/tls_alert.c
	@mkdir -p $(@D)
	$(CC) $(CFLAGS_ALL) -o $@ $< -lmbedtls -lmbedx509 -lmbedcrypto

# 500 permessage-deflate clients that read at a set pace and count the
# connections the server dropped before they were done (issue 21 #2).
$(BUILD)/test/deflate-clients: $(E2E)/adapters/deflate_clients.c bench/client_util.h $(BUILD)/libws.a
	@mkdir -p $(@D)
	$(CC) $(CFLAGS_ALL) -o $@ $< $(BUILD)/libws.a $(LIBS) -lz

# One adapter loop per thread under ThreadSanitizer (issue 22): two server
# loops of 100 connections and a loop of their 200 clients, each in its own
# thread, every echo checked (adapters/threads.c); about 20 s. TSan makes the
# program exit nonzero on any data race. Ends with "adapter-threads: N
# passed, M failed".
ADAPTER_TSAN := -fsanitize=thread -fno-omit-frame-pointer
adapter-threads:
	@$(MAKE) --no-print-directory -s BUILD=$(BUILD)/tsan OPT=-O1 SAN="$(ADAPTER_TSAN)" $(BUILD)/tsan/test/adapter-threads
	@TSAN_OPTIONS="halt_on_error=1 second_deadlock_stack=1" timeout -k 10 300 $(BUILD)/tsan/test/adapter-threads

$(BUILD)/test/adapter-threads: $(E2E)/adapters/threads.c $(ADAPTER_DEPS) $(BUILD)/libws.a
	@mkdir -p $(@D)
	$(CC) $(CFLAGS_ALL) -o $@ $< $(ADAPTER) $(BUILD)/libws.a $(LIBS) -lpthread

# The adapters built from an installed copy through pkg-config, and the
# CMake project of examples/cmake (pkg_check_modules IMPORTED_TARGET); then
# libws's CMakeLists.txt: the unit tests through ctest, cmake --install,
# examples/cmake through find_package(libws CONFIG), add_subdirectory and
# FetchContent (a file:// tarball), and the library for Windows through
# cmake/mingw-w64-x86_64.cmake (about 90 s in all).
downstream: lib
	@sh $(E2E)/adapters/downstream.sh "$(MAKE)" $(BUILD)

# examples/minimal.c built as a newcomer does, against an installed libws
# with nothing but `cc minimal.c $(pkg-config --cflags --libs libws)`, and
# driven by Python's websockets and raw sockets (about 10 s).
minimal: lib
	@timeout -k 10 180 $(INTEROP_PYTHON) $(E2E)/minimal/run.py "$(MAKE)" $(BUILD)

CHECK_STEPS += interop localhost adapters adapter-threads minimal
CHECK_EMU_STEPS += downstream

# The server's logic through Python's websockets (about 40 s), then two pages
# in Debian's Chromium through playwright-core (browser_test.js); the
# screenshot lands in $(BUILD)/chat-screenshot.png.
chat: $(CHAT_SERVER) $(NODE_PEERS)
	@timeout 90 $(INTEROP_PYTHON) $(E2E)/chat/server_test.py --bin $(BUILD)/examples --page $(CHAT_PAGE)
	@timeout 100 node $(E2E)/chat/browser_test.js --bin $(BUILD)/examples --page $(CHAT_PAGE) \
		--chromium $(CHROMIUM) --screenshot $(BUILD)/chat-screenshot.png

# Scale-out (docs/scaling.md): redis-server, two chat-server instances with
# --redis and nginx in front (demos/chat/nginx.conf.in), all on loopback
# ports, all Debian packages (redis-server, nginx), and one page in Chromium
# (browser_resume.js); about 40 s.
chat-redis: $(CHAT_SERVER) $(NODE_PEERS)
	@timeout -k 10 180 $(INTEROP_PYTHON) $(E2E)/chat/redis_test.py --bin $(BUILD)/examples \
		--page $(CHAT_PAGE) --work $(BUILD)/chat-redis --chromium $(CHROMIUM)

CHECK_STEPS += chat chat-redis

# Chromium (headless, the test CA's certificate through its SPKI hash) and
# Node's http2 client against h2-server: WebSockets as streams of one HTTP/2
# connection, echoes, permessage-deflate, close and reset, timers, refusals,
# hostile peers, stalled windows, and the HTTP/1.1 upgrade on the same port;
# then the same against the server built with ASan+UBSan (about 90 s in
# all). Ends with "h2: N passed, M failed" and "h2-asan: ...".
H2_SAN := -fsanitize=address,undefined -fno-sanitize-recover=all -fno-omit-frame-pointer
h2: $(H2_SERVER) $(NODE_PEERS)
	@timeout 170 node $(E2E)/h2/run.mjs --bin $(BUILD)/examples --chromium $(CHROMIUM) --certs $(BUILD)/h2-certs
	@$(MAKE) --no-print-directory -s BUILD=$(BUILD)/san-h2 OPT=-O1 SAN="$(H2_SAN)" $(BUILD)/san-h2/examples/h2-server
	@timeout 170 node $(E2E)/h2/run.mjs --bin $(BUILD)/san-h2/examples --chromium $(CHROMIUM) --certs $(BUILD)/h2-certs \
		--name h2-asan

CHECK_STEPS += h2

# ws-client through HTTP CONNECT proxies (demos/client/proxy.c): the parsing
# (proxy URLs, no_proxy, response heads cut at every offset) under
# ASan+UBSan, then proxy/run.py: Debian's tinyproxy (open, and with
# BasicAuth) and hostile fake proxies on loopback in front of echo-server,
# ws:// and wss://, --proxy and the environment; once against the client and
# server built with ASan+UBSan, then as built (55 s from a clean tree at load 6,
# most of it the sanitizer build; 13 s once built). Ends with "proxy-parse: ...", "proxy-asan:
# ..." and "proxy: N passed, M failed".
PROXY_SAN := -fsanitize=address,undefined -fno-sanitize-recover=all -fno-omit-frame-pointer
proxy: $(WS_CLIENT) $(BUILD)/examples/echo-server $(BUILD)/test/proxy-parse
	@rc=0; $(BUILD)/test/proxy-parse || rc=1; \
	$(MAKE) --no-print-directory -s BUILD=$(BUILD)/san-proxy OPT=-O1 SAN="$(PROXY_SAN)" \
		$(BUILD)/san-proxy/examples/ws-client $(BUILD)/san-proxy/examples/echo-server || rc=1; \
	ASAN_OPTIONS=exitcode=86 UBSAN_OPTIONS=exitcode=86:print_stacktrace=1 timeout -k 10 120 $(INTEROP_PYTHON) \
		$(E2E)/proxy/run.py --bin $(BUILD)/san-proxy/examples --work $(BUILD)/proxy-asan --name proxy-asan || rc=1; \
	timeout -k 10 60 $(INTEROP_PYTHON) $(E2E)/proxy/run.py --bin $(BUILD)/examples --work $(BUILD)/proxy || rc=1; \
	exit $$rc

$(BUILD)/test/proxy-parse: $(E2E)/proxy/parse_test.c demos/client/proxy.c demos/client/proxy.h
	@mkdir -p $(@D)
	$(CC) $(CFLAGS_ALL) $(PROXY_SAN) -Idemos/client -o $@ $< demos/client/proxy.c

CHECK_STEPS += proxy
