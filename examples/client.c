/* ws-client: a wscat-like command line client on libws.
 *
 *     ws-client URL [-H 'Name: value']... [-s subprotocol]... [--ping-interval S]
 *               [--deflate] [--reconnect] [--binary] [--print-binary]
 *               [--close CODE[:REASON]] [-v]
 *
 * Each stdin line becomes a text message; each text message received is
 * printed as one line on stdout, and nothing else goes there. At stdin EOF it
 * closes with 1000, waits for the close handshake and exits 0. --deflate
 * offers permessage-deflate (RFC 7692); the line "connected to ..." on stderr
 * then names the extension the server agreed to.
 *
 * Build alone: cc client.c $(pkg-config --cflags --libs libws)
 */
#define _GNU_SOURCE
#include <errno.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/random.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>
#include <ws/ws.h>

#define RBUF_SIZE (64 * 1024)
#define OUT_HIGH (256 * 1024)      /* stop reading stdin while more output is unsent */
#define MAX_LINE (64u << 20)       /* longest stdin line (one message) */
#define MAX_MESSAGE (64u << 20)
#define CONNECT_TIMEOUT_MS 10000   /* TCP connect plus opening handshake */
#define CLOSE_TIMEOUT_MS 5000      /* closing handshake, then the server's FIN */
#define BACKOFF_MIN_MS 500
#define BACKOFF_MAX_MS 30000

/* How a session ended. */
enum { END_DONE, END_FAIL, END_LOST, END_SERVER_CLOSED };

static struct {
	char host[256], port[8], hostport[300], target[2048];
	const char *url;
	const char *protocols[17];
	char *headers;
	long ping_ms;
	int reconnect, binary, print_binary, verbose, deflate;
	unsigned close_code;
	const char *close_reason;
} opt = { .close_code = WS_CLOSE_NORMAL, .close_reason = "" };

/* stdin survives reconnections: lines read but not sent wait in lb. */
static char *lb;
static size_t lb_len, lb_cap, lb_scan;
static int stdin_eof;
static unsigned long lineno;

struct session {
	ws_conn ws;
	int fd, opened, close_sent;
	uint8_t *out;
	size_t off, len, cap;
	size_t have, bin_len;
	long long open_deadline, close_deadline, next_ping;
	int awaiting_pong, dead;
	uint8_t ping_payload[8];
	uint64_t pings;
	int result;
	uint8_t in[RBUF_SIZE];
};

/* permessage-deflate: zlib's memory comes from here, and inflated messages
 * land in `inflated`, where events point until the next ws_conn_recv(). */
static uint8_t inflated[64 * 1024];

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

/* The library asks for randomness (mask keys, Sec-WebSocket-Key): a CSPRNG. */
static int rand_bytes(void *ctx, void *buf, size_t len)
{
	uint8_t *p = buf;
	(void)ctx;
	while (len) {
		ssize_t n = getrandom(p, len, 0);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			return -1;
		}
		p += n;
		len -= (size_t)n;
	}
	return 0;
}

static int reserve(struct session *s, size_t n)
{
	size_t cap;
	uint8_t *p;

	if (s->cap - s->len >= n)
		return 0;
	if (s->off) {
		memmove(s->out, s->out + s->off, s->len - s->off);
		s->len -= s->off;
		s->off = 0;
		if (s->cap - s->len >= n)
			return 0;
	}
	for (cap = s->cap ? s->cap : 4096; cap - s->len < n; cap *= 2)
		;
	if (!(p = realloc(s->out, cap)))
		return -1;
	s->out = p;
	s->cap = cap;
	return 0;
}

static int flush(struct session *s)
{
	while (s->off < s->len) {
		ssize_t n = send(s->fd, s->out + s->off, s->len - s->off, MSG_NOSIGNAL);
		if (n >= 0) {
			s->off += (size_t)n;
			break;
		}
		if (errno == EAGAIN || errno == EWOULDBLOCK)
			break;
		if (errno != EINTR)
			return -1;
	}
	if (s->off == s->len) {
		s->off = s->len = 0;
		if (s->cap > 4 * OUT_HIGH) { /* give back what a huge message needed */
			free(s->out);
			s->out = NULL;
			s->cap = 0;
		}
	}
	return 0;
}

static int send_msg(struct session *s, unsigned op, const void *data, size_t len)
{
	size_t n;
	int rc;

	if (reserve(s, WS_SEND_SIZE_COMPRESSED(len))) /* compressing may expand a little */
		return -1;
	rc = ws_conn_send(&s->ws, op, 0, data, len, s->out + s->len, s->cap - s->len, &n);
	if (rc != WS_OK) {
		fprintf(stderr, "ws-client: send: %s\n", ws_status_str(rc));
		return -1;
	}
	s->len += n;
	return 0;
}

/* Sends the complete lines in lb while output is below the bound; at stdin
 * EOF a last line without a newline counts too, and then our close. */
static int send_lines(struct session *s)
{
	size_t start = 0, n;

	while (lb && s->len - s->off <= OUT_HIGH) { /* lb is NULL until stdin gave bytes */
		char *nl = memchr(lb + lb_scan, '\n', lb_len - lb_scan);
		size_t end = nl ? (size_t)(nl - lb) : lb_len;
		uint32_t st = 0;

		if (!nl && !(stdin_eof && end > start)) {
			lb_scan = lb_len; /* a long line is searched once, not per read */
			break;
		}
		lineno++;
		if (!opt.binary && (ws_utf8_validate(&st, lb + start, end - start) != end - start || st))
			fprintf(stderr, "ws-client: line %lu is not UTF-8, not sent (see --binary)\n", lineno);
		else if (send_msg(s, opt.binary ? WS_OP_BINARY : WS_OP_TEXT, lb + start, end - start))
			return -1;
		start = lb_scan = nl ? end + 1 : end;
	}
	if (start) {
		memmove(lb, lb + start, lb_len - start);
		lb_len -= start;
		lb_scan -= start;
	}
	if (stdin_eof && lb_len == 0 && !s->close_sent) {
		int rc;
		if (reserve(s, WS_CONTROL_FRAME_MAX))
			return -1;
		rc = ws_conn_close(&s->ws, opt.close_code, opt.close_reason, strlen(opt.close_reason),
		                   s->out + s->len, s->cap - s->len, &n);
		if (rc != WS_OK && rc != WS_E_STATE) { /* E_STATE: the server closed first */
			fprintf(stderr, "ws-client: close: %s\n", ws_status_str(rc));
			return -1;
		}
		s->len += n;
		s->close_sent = 1;
		s->close_deadline = now_ms() + CLOSE_TIMEOUT_MS;
	}
	return 0;
}

static int read_stdin(struct session *s)
{
	ssize_t n;

	/* stdin is read only when every complete line went out: lb holds part of one line. */
	if (lb_len > MAX_LINE) {
		fprintf(stderr, "ws-client: line %lu longer than %u bytes\n", lineno + 1, MAX_LINE);
		return -1;
	}
	if (lb_cap - lb_len < RBUF_SIZE) {
		size_t cap = lb_cap ? lb_cap * 2 : 2 * RBUF_SIZE;
		char *p = realloc(lb, cap);
		if (!p)
			return -1;
		lb = p;
		lb_cap = cap;
	}
	n = read(0, lb + lb_len, lb_cap - lb_len);
	if (n < 0)
		return errno == EINTR || errno == EAGAIN ? 0 : -1;
	if (n == 0)
		stdin_eof = 1;
	lb_len += (size_t)n;
	return send_lines(s);
}

static void on_close_event(struct session *s, const ws_event *ev)
{
	size_t n;

	if (ev->code == WS_CLOSE_ABNORMAL) { /* the transport ended without a close frame */
		fprintf(stderr, "ws-client: connection lost\n");
		s->result = END_LOST;
		return;
	}
	if (ev->flags & WS_EVF_REPLY) { /* the server closes: echo its code (RFC 6455 §5.5.1) */
		fprintf(stderr, "ws-client: closed by server: %u %.*s\n", ev->code, (int)ev->len,
		        (const char *)ev->data);
		if (!reserve(s, WS_CONTROL_FRAME_MAX) &&
		    ws_conn_reply(&s->ws, ev, s->out + s->len, s->cap - s->len, &n) == WS_OK)
			s->len += n;
		s->result = ev->code == WS_CLOSE_NORMAL || ev->code == WS_CLOSE_NO_STATUS ? END_SERVER_CLOSED
		                                                                        : END_LOST;
		s->close_deadline = now_ms() + CLOSE_TIMEOUT_MS;
	} else {
		if (opt.verbose)
			fprintf(stderr, "ws-client: closed: %u %.*s\n", ev->code, (int)ev->len,
			        (const char *)ev->data);
		s->result = END_DONE;
	}
}

static int handle(struct session *s, const ws_event *ev)
{
	size_t n;

	switch (ev->type) {
	case WS_EV_OPEN: {
		ws_str name, value;
		size_t pos = 0;

		s->opened = 1;
		s->next_ping = opt.ping_ms ? now_ms() + opt.ping_ms : 0;
		fprintf(stderr, "ws-client: connected to %s", opt.url);
		if (ev->http.protocol.len)
			fprintf(stderr, " (subprotocol %.*s)", (int)ev->http.protocol.len, ev->http.protocol.ptr);
		while (ws_header_next(ev->http.head, &pos, &name, &value)) /* validated by the library */
			if (name.len == 24 && !strncasecmp(name.ptr, "Sec-WebSocket-Extensions", 24))
				fprintf(stderr, " (%.*s)", (int)value.len, value.ptr);
		fputc('\n', stderr);
		return send_lines(s); /* lines typed while connecting */
	}
	case WS_EV_REJECTED:
		fprintf(stderr, "rejected: HTTP %u\n", ev->http.status);
		s->result = END_FAIL;
		return -1;
	case WS_EV_TEXT: /* streamed: a huge message needs no memory here */
		fwrite(ev->data, 1, ev->len, stdout);
		if (ev->flags & WS_EVF_MSG_END) {
			putchar('\n');
			fflush(stdout);
		}
		return 0;
	case WS_EV_BINARY:
		s->bin_len = ev->flags & WS_EVF_MSG_BEGIN ? ev->len : s->bin_len + ev->len;
		if (opt.print_binary)
			fwrite(ev->data, 1, ev->len, stdout);
		if (ev->flags & WS_EVF_MSG_END) {
			if (opt.print_binary) {
				putchar('\n');
				fflush(stdout);
			} else {
				fprintf(stderr, "ws-client: binary message: %zu bytes\n", s->bin_len);
			}
		}
		return 0;
	case WS_EV_PING:
		if (reserve(s, WS_CONTROL_FRAME_MAX) ||
		    ws_conn_reply(&s->ws, ev, s->out + s->len, s->cap - s->len, &n))
			return -1;
		s->len += n;
		return 0;
	case WS_EV_PONG: /* only the answer to our latest ping counts (RFC 6455 §5.5.3) */
		if (s->awaiting_pong && ev->len == sizeof s->ping_payload &&
		    !memcmp(ev->data, s->ping_payload, ev->len)) {
			s->awaiting_pong = 0;
			if (opt.verbose)
				fprintf(stderr, "ws-client: pong\n");
		}
		return 0;
	case WS_EV_CLOSE:
		on_close_event(s, ev);
		return 0;
	}
	return 0;
}

static int read_socket(struct session *s)
{
	size_t off = 0, used, n;
	ws_event ev;
	ssize_t r = recv(s->fd, s->in + s->have, RBUF_SIZE - s->have, 0);
	int rc;

	if (r < 0)
		return errno == EINTR || errno == EAGAIN ? 0 : -1;
	if (r == 0) {
		ws_conn_recv_eof(&s->ws, &ev);
		if (ev.type == WS_EV_CLOSE)
			on_close_event(s, &ev);
		return -1; /* the session ends either way */
	}
	s->have += (size_t)r;
	do {
		rc = ws_conn_recv(&s->ws, s->in + off, s->have - off, &used, &ev);
		off += used;
		if (rc < 0) {
			fprintf(stderr, "ws-client: %s\n", ws_status_str(rc));
			if (!reserve(s, 256) && !ws_conn_fail(&s->ws, s->out + s->len, s->cap - s->len, &n))
				s->len += n;
			flush(s);
			s->result = END_LOST;
			return -1;
		}
		if (handle(s, &ev))
			return -1;
	} while (ev.type != WS_EV_NONE);
	memmove(s->in, s->in + off, s->have - off);
	s->have -= off;
	return 0;
}

static void ping_tick(struct session *s)
{
	size_t n;

	if (s->awaiting_pong) {
		fprintf(stderr, "ws-client: no pong within %ld ms: connection dead\n", opt.ping_ms);
		s->result = END_LOST;
		s->dead = 1; /* no close handshake with a dead peer: just hang up */
		return;
	}
	s->pings++;
	memcpy(s->ping_payload, &s->pings, sizeof s->ping_payload);
	if (!s->close_sent && !reserve(s, WS_CONTROL_FRAME_MAX) &&
	    ws_conn_send(&s->ws, WS_OP_PING, 0, s->ping_payload, sizeof s->ping_payload,
	                 s->out + s->len, s->cap - s->len, &n) == WS_OK) {
		s->len += n;
		s->awaiting_pong = 1;
	}
	s->next_ping += opt.ping_ms;
}

static int dial(long long deadline)
{
	struct addrinfo hints, *res, *ai;
	int fd = -1, rc, one = 1;

	memset(&hints, 0, sizeof hints);
	hints.ai_socktype = SOCK_STREAM;
	hints.ai_flags = AI_NUMERICSERV;
	if ((rc = getaddrinfo(opt.host, opt.port, &hints, &res))) {
		fprintf(stderr, "ws-client: %s: %s\n", opt.host, gai_strerror(rc));
		return -1;
	}
	for (ai = res; ai; ai = ai->ai_next) {
		struct pollfd p;
		int err = 0;
		socklen_t len = sizeof err;

		if ((fd = socket(ai->ai_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0)) < 0)
			continue;
		p.fd = fd;
		p.events = POLLOUT;
		if (connect(fd, ai->ai_addr, ai->ai_addrlen) == 0)
			break;
		if (errno != EINPROGRESS)
			err = errno;
		else if (poll(&p, 1, (int)(deadline - now_ms())) != 1)
			err = ETIMEDOUT;
		else if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len))
			err = errno;
		if (!err)
			break;
		fprintf(stderr, "ws-client: connect %s:%s: %s\n", opt.host, opt.port, strerror(err));
		close(fd);
		fd = -1;
	}
	freeaddrinfo(res);
	if (fd >= 0)
		setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
	return fd;
}

/* One connection, from connect to close. Returns END_*; *opened tells
 * whether the handshake succeeded (which resets the backoff). */
static int session(const ws_config *cfg, int *opened)
{
	static struct session s; /* 64 KiB buffer: not on the stack */
	ws_connect_opts copts;
	size_t n;
	int rc;

	free(s.out);
	memset(&s, 0, sizeof s);
	s.result = END_LOST;
	s.open_deadline = now_ms() + CONNECT_TIMEOUT_MS;
	if ((s.fd = dial(s.open_deadline)) < 0)
		return END_LOST;
	memset(&copts, 0, sizeof copts);
	copts.host = opt.hostport;
	copts.target = opt.target;
	copts.protocols = opt.protocols[0] ? opt.protocols : NULL;
	copts.headers = opt.headers;
	if (ws_conn_init(&s.ws, sizeof s.ws, cfg) != WS_OK || reserve(&s, 4096) ||
	    (rc = ws_conn_connect(&s.ws, &copts, s.out, s.cap, &n)) != WS_OK) {
		fprintf(stderr, "ws-client: cannot start the handshake (check -H and -s values)\n");
		close(s.fd);
		return END_FAIL;
	}
	s.len = n;

	for (;;) {
		struct pollfd p[2];
		long long now = now_ms(), due = 0, ping = 0;
		int nfds = 1, err = 0, open = ws_conn_state(&s.ws) == WS_STATE_OPEN;

		if (!s.opened)
			due = s.open_deadline;
		if (s.close_deadline)
			due = s.close_deadline;
		if (s.next_ping && open && !s.close_sent)
			ping = s.next_ping;
		if (ping && ping <= now) {
			ping_tick(&s);
			if (s.dead)
				break;
			continue;
		}
		if (due && due <= now) {
			/* After both close frames the wait was for the server's FIN
			 * (RFC 6455 §7.1.1: the server closes TCP first); not an error. */
			if (!ws_conn_should_close_transport(&s.ws)) {
				fprintf(stderr, "ws-client: %s handshake timed out\n", s.opened ? "closing" : "opening");
				s.result = s.close_sent ? END_FAIL : END_LOST;
			}
			break;
		}
		if (ping && (!due || ping < due))
			due = ping;
		p[0].fd = s.fd;
		p[0].events = POLLIN | (s.off < s.len ? POLLOUT : 0);
		p[1].fd = 0;
		p[1].events = POLLIN;
		/* stdin only while open, and not while output is above the bound or
		 * lines already read still wait for it (backpressure). */
		if (open && !stdin_eof && !s.close_sent && s.len - s.off <= OUT_HIGH && lb_scan == lb_len)
			nfds = 2;
		if (poll(p, (nfds_t)nfds, due ? (int)(due - now) : -1) < 0) {
			if (errno == EINTR)
				continue;
			break;
		}
		if (p[0].revents & (POLLIN | POLLHUP | POLLERR))
			err = read_socket(&s);
		if (!err && nfds == 2 && (p[1].revents & (POLLIN | POLLHUP)))
			err = read_stdin(&s);
		/* One write per batch; then, if that drained enough, more lines. */
		if (!err)
			err = flush(&s);
		if (!err && s.opened && !s.close_sent && lb_scan < lb_len &&
		    ws_conn_state(&s.ws) == WS_STATE_OPEN && s.len - s.off <= OUT_HIGH) {
			err = send_lines(&s);
			if (!err)
				err = flush(&s);
		}
		if (err)
			break;
	}
	close(s.fd);
	ws_conn_release(&s.ws); /* zlib memory, once permessage-deflate is configured */
	*opened = s.opened;
	return s.result;
}

/* ws://host[:port][/path][?query]; wss:// is refused by the caller. */
static int parse_url(const char *url)
{
	const char *p = url + 5, *auth_end, *host_end, *port_s = NULL, *frag;
	size_t hl;

	if (strncasecmp(url, "ws://", 5))
		return -1;
	auth_end = p + strcspn(p, "/?#");
	if (memchr(p, '@', (size_t)(auth_end - p))) {
		fprintf(stderr, "ws-client: credentials in URLs are not supported; use -H 'Authorization: ...'\n");
		return -1;
	}
	if (*p == '[') { /* IPv6 literal */
		const char *rb = memchr(p, ']', (size_t)(auth_end - p));
		if (!rb)
			return -1;
		hl = (size_t)(rb - p - 1);
		if (hl == 0 || hl >= sizeof opt.host)
			return -1;
		memcpy(opt.host, p + 1, hl);
		host_end = rb + 1;
		if (host_end < auth_end && *host_end != ':')
			return -1;
	} else {
		host_end = memchr(p, ':', (size_t)(auth_end - p));
		if (!host_end)
			host_end = auth_end;
		hl = (size_t)(host_end - p);
		if (hl == 0 || hl >= sizeof opt.host)
			return -1;
		memcpy(opt.host, p, hl);
	}
	opt.host[hl] = 0;
	if (host_end < auth_end) {
		char *e;
		long port = strtol(port_s = host_end + 1, &e, 10);
		if (e != auth_end || port < 1 || port > 65535)
			return -1;
	}
	snprintf(opt.port, sizeof opt.port, "%.*s", port_s ? (int)(auth_end - port_s) : 2,
	         port_s ? port_s : "80");
	/* Host: the authority as written (RFC 6455 §4.1 item 4). */
	if ((size_t)(auth_end - p) >= sizeof opt.hostport)
		return -1;
	snprintf(opt.hostport, sizeof opt.hostport, "%.*s", (int)(auth_end - p), p);
	frag = auth_end + strcspn(auth_end, "#"); /* fragments never go on the wire */
	if ((size_t)(frag - auth_end) + 2 > sizeof opt.target)
		return -1;
	snprintf(opt.target, sizeof opt.target, "%s%.*s", *auth_end == '/' ? "" : "/",
	         (int)(frag - auth_end), auth_end);
	return 0;
}

static int usage(int status)
{
	fprintf(status ? stderr : stdout,
	        "usage: ws-client URL [options]\n"
	        "  URL                   ws://host[:port][/path][?query] (wss:// is not supported yet)\n"
	        "  -H 'Name: value'      extra request header (repeatable)\n"
	        "  -s PROTOCOL           offer a subprotocol (repeatable, in order of preference)\n"
	        "  --ping-interval S     ping every S seconds (fractions allowed); no pong by the\n"
	        "                        next ping means the connection is dead\n"
	        "  --reconnect           after an unexpected disconnect (anything but our own close at\n"
	        "                        stdin EOF), reconnect with exponential backoff and jitter (cap 30 s)\n"
	        "  --deflate             offer permessage-deflate (compression, RFC 7692)\n"
	        "  -v, --verbose         report pongs and the close handshake on stderr\n"
	        "test helpers:\n"
	        "  --binary              send stdin lines as binary messages\n"
	        "  --print-binary        print binary messages on stdout as lines, like text\n"
	        "                        (by default only their length is noted on stderr)\n"
	        "  --close CODE[:REASON] close code and reason sent at stdin EOF (default 1000)\n"
	        "Text messages received go to stdout, one per line; everything else to stderr.\n"
	        "Exit status: 0 after a clean close (ours at EOF, or the server's with 1000 or no code),\n"
	        "1 on rejection (\"rejected: HTTP NNN\"), errors, lost connections or other close codes,\n"
	        "2 on usage errors and wss:// URLs.\n");
	return status;
}

int main(int argc, char **argv)
{
	ws_config cfg;
	ws_deflate_config dcfg;
	size_t hlen = 0, nproto = 0;
	int i, attempt = 0;

	for (i = 1; i < argc; i++) {
		const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
		if (!strcmp(a, "-h") || !strcmp(a, "--help"))
			return usage(0);
		if (!strcmp(a, "-H") && v) {
			char *h;
			size_t vl = strlen(v);
			if (!strchr(v, ':') || !(h = realloc(opt.headers, hlen + vl + 3)))
				return usage(2);
			sprintf(h + hlen, "%s\r\n", v);
			opt.headers = h;
			hlen += vl + 2;
			i++;
		} else if (!strcmp(a, "-s") && v && nproto + 1 < sizeof opt.protocols / sizeof *opt.protocols) {
			opt.protocols[nproto++] = v;
			i++;
		} else if (!strcmp(a, "--ping-interval") && v) {
			char *e;
			double sec = strtod(v, &e);
			if (*e || !(sec >= 0.01 && sec <= 86400))
				return usage(2);
			opt.ping_ms = (long)(sec * 1000);
			i++;
		} else if (!strcmp(a, "--close") && v) {
			char *e;
			opt.close_code = (unsigned)strtoul(v, &e, 10);
			if ((*e && *e != ':') || !ws_close_code_valid(opt.close_code))
				return usage(2);
			opt.close_reason = *e ? e + 1 : "";
			i++;
		} else if (!strcmp(a, "--deflate")) {
			opt.deflate = 1;
		} else if (!strcmp(a, "--reconnect")) {
			opt.reconnect = 1;
		} else if (!strcmp(a, "--binary")) {
			opt.binary = 1;
		} else if (!strcmp(a, "--print-binary")) {
			opt.print_binary = 1;
		} else if (!strcmp(a, "-v") || !strcmp(a, "--verbose")) {
			opt.verbose = 1;
		} else if (a[0] != '-' && !opt.url) {
			opt.url = a;
		} else {
			return usage(2);
		}
	}
	if (!opt.url)
		return usage(2);
	if (!strncasecmp(opt.url, "wss://", 6)) {
		fprintf(stderr, "ws-client: wss:// (TLS) is not supported yet; use ws://\n");
		return 2;
	}
	if (parse_url(opt.url)) {
		fprintf(stderr, "ws-client: bad URL '%s' (expected ws://host[:port][/path])\n", opt.url);
		return 2;
	}
	signal(SIGPIPE, SIG_IGN);
	ws_config_init(&cfg, WS_ROLE_CLIENT);
	cfg.rand = rand_bytes;
	cfg.max_message = MAX_MESSAGE;
	cfg.max_frame = MAX_MESSAGE;
	if (opt.deflate) {
		if (!ws_deflate_available()) {
			fprintf(stderr, "ws-client: libws was built without permessage-deflate\n");
			return 2;
		}
		ws_deflate_config_init(&dcfg); /* context takeover, 15-bit windows: what browsers offer */
		dcfg.alloc.alloc = mem_alloc;
		dcfg.alloc.free = mem_free;
		dcfg.inflate_buf = inflated;
		dcfg.inflate_cap = sizeof inflated;
		cfg.deflate = &dcfg;
	}

	for (;;) {
		int opened = 0, r = session(&cfg, &opened);
		uint32_t jitter;
		long delay;

		if (r == END_DONE)
			return 0;
		if (r == END_FAIL || (stdin_eof && lb_len == 0)) /* nothing left to send: do not retry */
			return r == END_SERVER_CLOSED ? 0 : 1;
		if (!opt.reconnect)
			return r == END_SERVER_CLOSED ? 0 : 1;
		if (opened)
			attempt = 0;
		/* Exponential backoff with "equal jitter": half the delay is fixed, half
		 * random, so clients that lost the same server spread out but none
		 * retries at once; capped at BACKOFF_MAX_MS. */
		delay = attempt >= 6 ? BACKOFF_MAX_MS : BACKOFF_MIN_MS << attempt;
		if (delay > BACKOFF_MAX_MS)
			delay = BACKOFF_MAX_MS;
		attempt++;
		if (rand_bytes(NULL, &jitter, sizeof jitter))
			jitter = 0;
		delay = delay / 2 + (long)(jitter % (uint32_t)(delay / 2 + 1));
		fprintf(stderr, "ws-client: reconnecting in %.1f s\n", delay / 1000.0);
		poll(NULL, 0, (int)delay);
	}
}
