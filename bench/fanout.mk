# Fan-out benchmark of the chat demo scaled out through Redis (README,
# "Scaling out"): bench/fanout.py starts redis-server and two chat-server
# instances with --redis (rate limit lifted), then bench/fanout (an epoll
# client on libws through the adapter core) with 100 clients on each
# instance, all in one room, and 1, 4 and 16 senders.
#   make bench-fanout   a table on stdout (about 30 s); FANOUT_FLAGS adds
#                       options (e.g. --duration 10 --clients 200)
# Uses BUILD, CFLAGS_ALL, LIBS, ADAPTER of examples/examples.mk and the chat-server
# rule of demos/demos.mk.
FANOUT_PYTHON ?= $(shell [ -x /usr/bin/python3 ] && echo /usr/bin/python3 || echo python3)
FANOUT_FLAGS ?=

# (examples.mk is read after this file: its ADAPTER only in the recipe.)
$(BUILD)/bench/fanout: bench/fanout.c bench/client_util.h $(wildcard examples/ad*.[ch]) $(BUILD)/libws.a $(wildcard include/ws/*.h)
	@mkdir -p $(@D)
	$(CC) $(CFLAGS_ALL) -o $@ bench/fanout.c $(ADAPTER) $(BUILD)/libws.a $(LIBS)

.PHONY: bench-fanout
bench-fanout: $(BUILD)/bench/fanout $(BUILD)/examples/chat-server
	@$(FANOUT_PYTHON) bench/fanout.py --bin $(BUILD) --work $(BUILD)/bench-fanout $(FANOUT_FLAGS)
