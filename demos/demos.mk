# The demos: programs built on the examples, not meant to be copied whole.
# Included by the main Makefile after examples/examples.mk; they build into
# $(BUILD)/examples/ beside the examples (`make examples` builds them too).
#   make run        starts the chat demo on http://localhost:8080/ (127.0.0.1
#                   and ::1; foreground; CHAT_TOKEN=... sets the token)

DEMO_CFLAGS := $(CFLAGS_ALL) -Iexamples

# ws-client: a wscat-like command line client (demos/client/).
WS_CLIENT := $(BUILD)/examples/ws-client
examples: $(WS_CLIENT)

$(WS_CLIENT): demos/client/client.c demos/client/proxy.c demos/client/proxy.h $(EXAMPLE_DEPS)
	@mkdir -p $(@D)
	$(CC) $(DEMO_CFLAGS) -o $@ $< demos/client/proxy.c $(ADAPTER) $(EXAMPLE_TLS) $(EXAMPLE_LIBS)

# The chat demo (demos/chat/): rooms, history, token auth, origin checks,
# rate limits, heartbeats; JSON through jansson (Debian libjansson-dev). With
# --redis, instances share rooms through Redis (chat_redis.c, hiredis's async
# API: Debian libhiredis-dev).
CHAT_SERVER := $(BUILD)/examples/chat-server
CHAT_PAGE := demos/chat/index.html
examples: $(CHAT_SERVER)

$(CHAT_SERVER): demos/chat/chat_server.c demos/chat/chat_redis.c demos/chat/chat_redis.h $(EXAMPLE_DEPS)
	@mkdir -p $(@D)
	$(CC) $(DEMO_CFLAGS) -o $@ $< demos/chat/chat_redis.c $(ADAPTER) $(EXAMPLE_TLS) $(EXAMPLE_LIBS) \
		-ljansson -lhiredis

CHAT_TOKEN ?= devtoken
# Only what the chat needs is installed and built (scripts/deps.sh run).
.PHONY: run deps-run
run: deps-run
	@$(MAKE) --no-print-directory $(CHAT_SERVER)
	@echo "chat demo: open http://localhost:8080/?token=$(CHAT_TOKEN)  (token: $(CHAT_TOKEN); Ctrl-C stops it)"
	$(CHAT_SERVER) --port 8080 --token $(CHAT_TOKEN) --page $(CHAT_PAGE)

deps-run:
	@sh scripts/deps.sh run

# WebSocket over HTTP/2 (RFC 8441): demos/h2/, nghttp2 (Debian
# libnghttp2-dev) beside libws, HTTP/1.1 on the same TLS port (ALPN).
H2_SERVER := $(BUILD)/examples/h2-server
examples: $(H2_SERVER)

$(H2_SERVER): demos/h2/h2_server.c demos/h2/h2_ws.c demos/h2/h2_ws.h $(EXAMPLE_DEPS)
	@mkdir -p $(@D)
	$(CC) $(DEMO_CFLAGS) -o $@ $< demos/h2/h2_ws.c $(ADAPTER) $(EXAMPLE_TLS) $(EXAMPLE_LIBS) -lnghttp2
