/* echo-server: a non-blocking epoll adapter for libws.
 *
 *     echo-server --port PORT [--host ADDR] [--deflate | --deflate-low-memory]
 *
 * Echoes every message unchanged (text as text, binary as binary) without
 * reassembling it: each chunk the library hands over goes straight back as a
 * fragment, so a message of any size costs one 64 KiB receive buffer. With
 * --deflate it agrees to permessage-deflate (RFC 7692) with context takeover;
 * --deflate-low-memory resets the compression context after every message
 * both ways, with 512-byte windows and one compressor shared by all
 * connections for whole messages. Answers
 * pings, echoes close frames (code and reason), drops handshakes and close
 * handshakes that take longer than 5 s, and on SIGTERM/SIGINT sends close 1001
 * to every client, then exits once they answered or the 5 s ran out.
 *
 * Port 0 picks a free port; the line "listening on ws://ADDR:PORT/" on stdout
 * tells which. Test paths: /reject401 and /reject403 refuse the handshake.
 *
 * Build alone: cc echo_server.c $(pkg-config --cflags --libs libws)
 */
#define _GNU_SOURCE
#include <errno.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>
#include <ws/ws.h>

#define RBUF_SIZE (64 * 1024)    /* per connection; payload streams through it */
#define OUT_HIGH (256 * 1024)    /* stop reading a connection with more unsent output */
#define TIMEOUT_MS 5000          /* for the opening and the closing handshake */
#define MAX_MESSAGE (64u << 20)  /* 16 MiB messages must pass, with room to spare */

struct conn {
	ws_conn ws;
	int fd;
	unsigned events;             /* what epoll watches for now */
	int rd_closed, wr_closed;    /* the peer's FIN arrived; we shut down our side */
	long long deadline;          /* monotonic ms, 0 when no timer runs */
	struct conn *tprev, *tnext;  /* timer list */
	struct conn *prev, *next;    /* every connection, for shutdown */
	uint8_t *out;                /* output not yet written: out[off..len) */
	size_t off, len, cap;
	size_t have;                 /* bytes in in[] */
	uint8_t in[RBUF_SIZE];
};

static ws_config cfg;
static ws_deflate_config dcfg;
static ws_deflate_shared *shared; /* --deflate-low-memory: the thread's compressor */
/* Inflated data lands here and events point into it until the next
 * ws_conn_recv() of any connection: echo_chunk() copies (compresses) each
 * chunk into that connection's output before the loop receives again. */
static uint8_t inflated[64 * 1024];
static int ep, lfd = -1;
static struct conn *conns, *thead, *ttail;
static int nconns, accept_paused, shutting_down;
static char tag_listen, tag_signal; /* epoll data for the two non-connection fds */

static void *mem_alloc(void *ctx, size_t n)
{
	(void)ctx;
	return malloc(n);
}

static void mem_free(void *ctx, void *p)
{
	(void)ctx;
	free(p);
}

static long long now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000LL + ts.tv_nsec / 1000000;
}

/* Every deadline is now + TIMEOUT_MS on a monotonic clock, so appending keeps
 * the list sorted and the next deadline is always the head: no heap needed.
 * A running timer is never extended, so a peer cannot stall a close forever. */
static void timer_start(struct conn *c)
{
	if (c->deadline)
		return;
	c->deadline = now_ms() + TIMEOUT_MS;
	c->tprev = ttail;
	c->tnext = NULL;
	if (ttail)
		ttail->tnext = c;
	else
		thead = c;
	ttail = c;
}

static void timer_stop(struct conn *c)
{
	if (!c->deadline)
		return;
	if (c->tprev)
		c->tprev->tnext = c->tnext;
	else
		thead = c->tnext;
	if (c->tnext)
		c->tnext->tprev = c->tprev;
	else
		ttail = c->tprev;
	c->tprev = c->tnext = NULL;
	c->deadline = 0;
}

static void destroy(struct conn *c)
{
	timer_stop(c);
	if (c->prev)
		c->prev->next = c->next;
	else
		conns = c->next;
	if (c->next)
		c->next->prev = c->prev;
	close(c->fd); /* also leaves the epoll set */
	ws_conn_release(&c->ws); /* zlib memory, once permessage-deflate is configured */
	free(c->out);
	free(c);
	nconns--;
	if (accept_paused && lfd >= 0) { /* a descriptor is free again (see on_accept) */
		struct epoll_event ev = { EPOLLIN, { .ptr = &tag_listen } };
		epoll_ctl(ep, EPOLL_CTL_MOD, lfd, &ev);
		accept_paused = 0;
	}
}

/* Makes room for n more output bytes. Output stays one contiguous span, so a
 * whole read batch goes out with a single send(). */
static int reserve(struct conn *c, size_t n)
{
	size_t cap;
	uint8_t *p;

	if (c->cap - c->len >= n)
		return 0;
	if (c->off) {
		memmove(c->out, c->out + c->off, c->len - c->off);
		c->len -= c->off;
		c->off = 0;
		if (c->cap - c->len >= n)
			return 0;
	}
	for (cap = c->cap ? c->cap : 4096; cap - c->len < n; cap *= 2)
		;
	if (!(p = realloc(c->out, cap)))
		return -1;
	c->out = p;
	c->cap = cap;
	return 0;
}

/* One send per batch; what the socket does not take waits for EPOLLOUT. */
static int flush(struct conn *c)
{
	while (c->off < c->len) {
		ssize_t n = send(c->fd, c->out + c->off, c->len - c->off, MSG_NOSIGNAL);
		if (n >= 0) {
			c->off += (size_t)n;
			break;
		}
		if (errno == EAGAIN || errno == EWOULDBLOCK)
			break;
		if (errno != EINTR)
			return -1;
	}
	if (c->off == c->len)
		c->off = c->len = 0;
	return 0;
}

/* Decides what the connection waits for next; returns -1 when it is done. */
static int settle(struct conn *c)
{
	size_t pending = c->len - c->off;
	unsigned want = 0;

	if (!pending && c->rd_closed)
		return -1;
	if (!pending && !c->wr_closed && ws_conn_should_close_transport(&c->ws)) {
		/* Lingering close: send our FIN but keep reading until the peer's, so
		 * unread input cannot turn our close into a reset that destroys the
		 * last frames in flight. The timer bounds the wait. */
		shutdown(c->fd, SHUT_WR);
		c->wr_closed = 1;
		timer_start(c);
	}
	if (!c->rd_closed && pending <= OUT_HIGH)
		want |= EPOLLIN; /* backpressure: a peer that does not read is not read */
	if (pending)
		want |= EPOLLOUT;
	if (want != c->events) {
		struct epoll_event ev = { want, { .ptr = c } };
		if (epoll_ctl(ep, EPOLL_CTL_MOD, c->fd, &ev))
			return -1;
		c->events = want;
	}
	return 0;
}

static int str_is(ws_str s, const char *lit)
{
	return s.len == strlen(lit) && !memcmp(s.ptr, lit, s.len);
}

static int answer_request(struct conn *c, const ws_event *ev)
{
	static const char *const protocols[] = { "echo", "chat", NULL }; /* our preference */
	size_t n;
	int rc;

	if (reserve(c, 4096))
		return -1;
	if (str_is(ev->http.target, "/reject401")) {
		rc = ws_conn_reject(&c->ws, 401, "WWW-Authenticate: Bearer\r\n", "unauthorized\n", 13,
		                    c->out + c->len, c->cap - c->len, &n);
	} else if (str_is(ev->http.target, "/reject403")) {
		rc = ws_conn_reject(&c->ws, 403, NULL, "forbidden\n", 10, c->out + c->len,
		                    c->cap - c->len, &n);
	} else {
		ws_accept_opts opts = { NULL, NULL };
		opts.protocol = ws_select_protocol(&ev->http, protocols);
		rc = ws_conn_accept(&c->ws, &opts, c->out + c->len, c->cap - c->len, &n);
		if (rc == WS_OK)
			timer_stop(c); /* the handshake deadline is met */
	}
	if (rc != WS_OK) {
		fprintf(stderr, "echo-server: answering a request: %s\n", ws_status_str(rc));
		return -1;
	}
	c->len += n;
	return 0;
}

/* Streams a chunk back: the first with the message's opcode, the rest as
 * continuations, WS_SEND_MORE on all but the last. */
static int echo_chunk(struct conn *c, const ws_event *ev)
{
	unsigned op = WS_OP_CONTINUATION, flags = ev->flags & WS_EVF_MSG_END ? 0 : WS_SEND_MORE;
	size_t n;

	if (ws_conn_state(&c->ws) != WS_STATE_OPEN)
		return 0; /* our close frame is out: no data may follow it (RFC 6455 §5.5.1) */
	if (ev->flags & WS_EVF_MSG_BEGIN)
		op = ev->type == WS_EV_TEXT ? WS_OP_TEXT : WS_OP_BINARY;
	if (reserve(c, WS_SEND_SIZE_COMPRESSED(ev->len)) || /* compressing may expand a little */
	    ws_conn_send(&c->ws, op, flags, ev->data, ev->len, c->out + c->len, c->cap - c->len, &n))
		return -1;
	c->len += n;
	return 0;
}

static int handle(struct conn *c, const ws_event *ev)
{
	size_t n = 0;
	int rc = WS_OK;

	switch (ev->type) {
	case WS_EV_REQUEST:
		return answer_request(c, ev);
	case WS_EV_TEXT:
	case WS_EV_BINARY:
		return echo_chunk(c, ev);
	case WS_EV_PING: /* the pong, while the ping's payload is still in in[] */
		if (reserve(c, WS_CONTROL_FRAME_MAX))
			return -1;
		rc = ws_conn_reply(&c->ws, ev, c->out + c->len, c->cap - c->len, &n);
		break;
	case WS_EV_CLOSE:
		if (!(ev->flags & WS_EVF_REPLY))
			return 0; /* the answer to our close, or the transport's end */
		if (reserve(c, WS_CONTROL_FRAME_MAX))
			return -1;
		/* Echo code and reason; ws_conn_reply() would echo the code alone. */
		if (ev->code == WS_CLOSE_NO_STATUS)
			rc = ws_conn_close(&c->ws, 0, NULL, 0, c->out + c->len, c->cap - c->len, &n);
		else
			rc = ws_conn_close(&c->ws, ev->code, ev->data, ev->len, c->out + c->len,
			                   c->cap - c->len, &n);
		timer_start(c);
		break;
	}
	if (rc != WS_OK)
		return -1;
	c->len += n;
	return 0;
}

/* The read loop of conn.h: events until none, then keep the unconsumed tail. */
static int process(struct conn *c)
{
	size_t off = 0, used, n;
	ws_event ev;
	int rc;

	do {
		rc = ws_conn_recv(&c->ws, c->in + off, c->have - off, &used, &ev);
		off += used;
		if (rc < 0) {
			/* Say why (a close frame, or an HTTP error during the handshake), then hang up. */
			fprintf(stderr, "echo-server: fd %d: %s\n", c->fd, ws_status_str(rc));
			if (reserve(c, 256) || ws_conn_fail(&c->ws, c->out + c->len, c->cap - c->len, &n))
				return -1;
			c->len += n;
			timer_start(c);
			break;
		}
		if (handle(c, &ev))
			return -1;
	} while (ev.type != WS_EV_NONE && !ws_conn_should_close_transport(&c->ws));
	memmove(c->in, c->in + off, c->have - off);
	c->have -= off;
	/* Cannot happen while heads are capped (8 KiB) and control frames are 127
	 * bytes: anything else streams. Guard against a stuck buffer anyway. */
	return c->have == RBUF_SIZE ? -1 : 0;
}

static void on_readable(struct conn *c)
{
	ssize_t n;

	if (c->wr_closed) { /* lingering: discard until the peer's FIN */
		uint8_t sink[4096];
		n = recv(c->fd, sink, sizeof sink, 0);
		if (n == 0 || (n < 0 && errno != EAGAIN && errno != EINTR))
			destroy(c);
		return;
	}
	n = recv(c->fd, c->in + c->have, RBUF_SIZE - c->have, 0);
	if (n < 0) {
		if (errno != EAGAIN && errno != EINTR)
			destroy(c);
		return;
	}
	if (n == 0) {
		ws_event ev;
		ws_conn_recv_eof(&c->ws, &ev); /* CLOSE 1006 unless a close frame came first */
		c->rd_closed = 1;
		timer_start(c); /* output still pending gets 5 s to drain */
	} else {
		c->have += (size_t)n;
		if (process(c)) {
			destroy(c);
			return;
		}
	}
	if (flush(c) || settle(c))
		destroy(c);
}

static void on_writable(struct conn *c)
{
	if (flush(c) || settle(c))
		destroy(c);
}

static void on_accept(void)
{
	for (;;) {
		int one = 1, fd = accept4(lfd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
		struct epoll_event ev;
		struct conn *c;

		if (fd < 0) {
			if (errno == EINTR || errno == ECONNABORTED)
				continue;
			if (errno == EMFILE || errno == ENFILE || errno == ENOBUFS || errno == ENOMEM) {
				/* Level-triggered, the pending connection would wake us forever:
				 * stop listening until a connection closes (see destroy). */
				struct epoll_event off = { 0, { .ptr = &tag_listen } };
				epoll_ctl(ep, EPOLL_CTL_MOD, lfd, &off);
				accept_paused = 1;
				perror("echo-server: accept");
			}
			return;
		}
		setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one); /* small echoes go out now */
		if (!(c = calloc(1, sizeof *c)) || ws_conn_init(&c->ws, sizeof c->ws, &cfg) != WS_OK) {
			free(c);
			close(fd);
			continue;
		}
		c->fd = fd;
		c->events = EPOLLIN;
		ev.events = EPOLLIN;
		ev.data.ptr = c;
		if (epoll_ctl(ep, EPOLL_CTL_ADD, fd, &ev)) {
			free(c);
			close(fd);
			continue;
		}
		c->next = conns;
		if (conns)
			conns->prev = c;
		conns = c;
		nconns++;
		timer_start(c); /* the request must be complete within TIMEOUT_MS */
	}
}

/* SIGTERM/SIGINT: stop accepting, say 1001 to everyone, let the close
 * handshakes finish (bounded by their timers). */
static void begin_shutdown(void)
{
	struct conn *c, *next;

	shutting_down = 1;
	close(lfd);
	lfd = -1;
	for (c = conns; c; c = next) {
		static const char why[] = "server shutting down";
		size_t n;
		int st = ws_conn_state(&c->ws);

		next = c->next;
		if (st == WS_STATE_HANDSHAKE) {
			destroy(c); /* nothing was promised yet */
			continue;
		}
		if ((st == WS_STATE_OPEN || st == WS_STATE_CLOSE_RECEIVED) && !reserve(c, WS_CONTROL_FRAME_MAX) &&
		    ws_conn_close(&c->ws, WS_CLOSE_GOING_AWAY, why, sizeof why - 1, c->out + c->len,
		                  c->cap - c->len, &n) == WS_OK)
			c->len += n;
		timer_start(c);
		if (flush(c) || settle(c))
			destroy(c);
	}
}

static int listen_on(const char *host, const char *port)
{
	struct addrinfo hints, *res, *ai;
	int fd = -1, one = 1, rc;

	memset(&hints, 0, sizeof hints);
	hints.ai_socktype = SOCK_STREAM;
	hints.ai_flags = AI_PASSIVE | AI_NUMERICSERV;
	if ((rc = getaddrinfo(host, port, &hints, &res))) {
		fprintf(stderr, "echo-server: %s:%s: %s\n", host, port, gai_strerror(rc));
		return -1;
	}
	for (ai = res; ai; ai = ai->ai_next) {
		fd = socket(ai->ai_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
		if (fd < 0)
			continue;
		setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one); /* restart without waiting */
		if (!bind(fd, ai->ai_addr, ai->ai_addrlen) && !listen(fd, SOMAXCONN))
			break;
		close(fd);
		fd = -1;
	}
	freeaddrinfo(res);
	if (fd < 0)
		perror("echo-server: bind");
	return fd;
}

/* Prints the address actually bound, so that --port 0 tells its port. */
static void print_listening(int fd)
{
	struct sockaddr_storage sa;
	socklen_t len = sizeof sa;
	char host[NI_MAXHOST], port[NI_MAXSERV];

	if (getsockname(fd, (struct sockaddr *)&sa, &len) ||
	    getnameinfo((struct sockaddr *)&sa, len, host, sizeof host, port, sizeof port,
	                NI_NUMERICHOST | NI_NUMERICSERV))
		return;
	printf(sa.ss_family == AF_INET6 ? "listening on ws://[%s]:%s/\n" : "listening on ws://%s:%s/\n",
	       host, port);
	fflush(stdout);
}

static int usage(int status)
{
	fprintf(status ? stderr : stdout,
	        "usage: echo-server --port PORT [--host ADDR] [--deflate | --deflate-low-memory]\n"
	        "  --port PORT           TCP port (0 picks a free one, printed on stdout)\n"
	        "  --host ADDR           address to bind (default 127.0.0.1; 0.0.0.0 or :: for all)\n"
	        "  --deflate             agree to permessage-deflate, with context takeover\n"
	        "  --deflate-low-memory  the same without context takeover, 9-bit windows,\n"
	        "                        memLevel 2 and one shared compressor\n");
	return status;
}

int main(int argc, char **argv)
{
	const char *host = "127.0.0.1", *port = NULL;
	struct epoll_event ev, evs[64];
	sigset_t sigs;
	int sfd, i, signals = 0, deflate = 0;

	for (i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--port") && i + 1 < argc)
			port = argv[++i];
		else if (!strcmp(argv[i], "--host") && i + 1 < argc)
			host = argv[++i];
		else if (!strcmp(argv[i], "--deflate"))
			deflate = 1;
		else if (!strcmp(argv[i], "--deflate-low-memory"))
			deflate = 2;
		else if (!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h"))
			return usage(0);
		else
			return usage(2);
	}
	if (!port)
		return usage(2);

	ws_config_init(&cfg, WS_ROLE_SERVER);
	cfg.max_message = MAX_MESSAGE;
	cfg.max_frame = MAX_MESSAGE;
	if (deflate && !ws_deflate_available()) {
		fprintf(stderr, "echo-server: libws was built without permessage-deflate\n");
		return 1;
	}
	if (deflate) {
		ws_deflate_config_init(&dcfg);
		dcfg.alloc.alloc = mem_alloc; /* zlib's memory: the only allocation libws makes */
		dcfg.alloc.free = mem_free;
		dcfg.inflate_buf = inflated;
		dcfg.inflate_cap = sizeof inflated;
		if (deflate == 2) { /* idle connections then hold no zlib memory (see deflate.h) */
			dcfg.server_no_context_takeover = dcfg.client_no_context_takeover = 1;
			dcfg.server_max_window_bits = dcfg.client_max_window_bits = 9;
			dcfg.mem_level = 2;
			if (ws_deflate_shared_new(&dcfg, &shared) != WS_OK) {
				fprintf(stderr, "echo-server: no memory for the shared compressor\n");
				return 1;
			}
			dcfg.shared = shared;
		}
		cfg.deflate = &dcfg;
	}

	/* Signals arrive as readable data on a descriptor, so shutdown happens in
	 * the loop, between events, and never inside a handler. */
	sigemptyset(&sigs);
	sigaddset(&sigs, SIGINT);
	sigaddset(&sigs, SIGTERM);
	sigprocmask(SIG_BLOCK, &sigs, NULL);
	signal(SIGPIPE, SIG_IGN);
	if ((sfd = signalfd(-1, &sigs, SFD_NONBLOCK | SFD_CLOEXEC)) < 0 ||
	    (ep = epoll_create1(EPOLL_CLOEXEC)) < 0) {
		perror("echo-server");
		return 1;
	}
	if ((lfd = listen_on(host, port)) < 0)
		return 1;
	ev.events = EPOLLIN;
	ev.data.ptr = &tag_listen;
	epoll_ctl(ep, EPOLL_CTL_ADD, lfd, &ev);
	ev.data.ptr = &tag_signal;
	epoll_ctl(ep, EPOLL_CTL_ADD, sfd, &ev);
	print_listening(lfd);

	while (!shutting_down || nconns > 0) {
		int n, timeout = -1, got_signal = 0;
		long long now;

		if (thead) {
			long long left = thead->deadline - now_ms();
			timeout = left < 0 ? 0 : (int)left;
		}
		n = epoll_wait(ep, evs, 64, timeout);
		if (n < 0 && errno != EINTR) {
			perror("echo-server: epoll_wait");
			return 1;
		}
		for (i = 0; i < n; i++) {
			void *p = evs[i].data.ptr;
			struct conn *c = p;

			if (p == &tag_listen) {
				on_accept();
			} else if (p == &tag_signal) {
				struct signalfd_siginfo si;
				while (read(sfd, &si, sizeof si) == (ssize_t)sizeof si)
					got_signal = 1;
			} else if (evs[i].events & EPOLLERR) {
				destroy(c);
			} else if (evs[i].events & (EPOLLIN | EPOLLHUP)) {
				on_readable(c); /* EPOLLHUP: the read sees the end */
			} else if (evs[i].events & EPOLLOUT) {
				on_writable(c);
			}
		}
		/* After the batch, so no event above refers to a connection freed here. */
		if (got_signal && ++signals == 1) {
			fprintf(stderr, "echo-server: shutting down (%d connections)\n", nconns);
			begin_shutdown();
		} else if (got_signal) {
			fprintf(stderr, "echo-server: second signal, exiting now\n");
			break;
		}
		for (now = now_ms(); thead && thead->deadline <= now;)
			destroy(thead); /* handshake or close handshake took too long */
	}
	ws_deflate_shared_free(shared); /* no connection sends any more */
	return 0;
}
