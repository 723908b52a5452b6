/* ws-client: a wscat-like command line client on the adapter core (adapter.c)
 * and poll(). Each stdin line becomes a text message; each text message
 * received is printed as one line on stdout, and nothing else goes there. At
 * stdin EOF it closes with 1000, waits for the close handshake and exits 0.
 *
 * Build alone, from the top of the tree: cc -Iexamples demos/client/client.c
 * examples/adapter.c examples/ad_loop.c examples/ad_policy.c examples/ad_socket.c
 * demos/client/proxy.c $(pkg-config --cflags --libs libws) (with -DWITH_TLS
 * examples/tls.c and -lmbedtls -lmbedx509 for wss://) */
#define _GNU_SOURCE
#include "ad_policy.h" /* and adapter.h */
#include "proxy.h"
#include <errno.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/random.h>
#include <sys/socket.h>
#include <unistd.h>
#ifdef WITH_TLS
#include "tls.h"
#endif

#define HIGH_WATER (256 * 1024)  /* stop reading stdin (and the socket) while more output waits */
#define MAX_LINE (64u << 20)     /* longest stdin line (one message) */
#define STABLE_MS 10000          /* a connection that lived this long resets the backoff */
#define BACKOFF_MIN_MS 500
#define BACKOFF_MAX_MS 30000

enum { END_DONE, END_FAIL, END_LOST, END_SERVER_CLOSED }; /* how a session ended */

static struct {
	char host[256], port[8], hostport[300], target[2048];
	const char *url, *protocols[17], *close_reason, *ca;
	const char *proxy, *proxy_from; /* the proxy URL (NULL: none) and where it came from */
	char *headers;
	long ping_ms, connect_ms;
	int reconnect, binary, print_binary, verbose, deflate, tls, insecure, proxy_set;
	proxy_url px;                   /* proxy parsed */
	unsigned close_code;
} opt = { .close_code = WS_CLOSE_NORMAL, .close_reason = "", .connect_ms = 10000 };

static char *lb;                 /* stdin bytes not sent yet; they survive reconnections */
static size_t lb_len, lb_cap, lb_scan;
static int stdin_eof, result, close_sent, tty_out, tty_err;
static unsigned long lineno;
static size_t bin_len;
static unsigned last_code;       /* the server's last close code, for the backoff */
static uint8_t inflated[64 * 1024];
static ad_loop loop;              /* the read buffer and each wake-up's allowance */

static void *mem_alloc(void *ctx, size_t n) { (void)ctx; return malloc(n); }
static void mem_free(void *ctx, void *p) { (void)ctx; free(p); }

static int rand_bytes(void *ctx, void *buf, size_t len) /* a CSPRNG for masks and keys */
{
	(void)ctx;
	for (uint8_t *p = buf; len;) {
		ssize_t n = getrandom(p, len, 0);
		if (n < 0 && errno != EINTR)
			return -1;
		p += n > 0 ? n : 0;
		len -= n > 0 ? (size_t)n : 0;
	}
	return 0;
}

/* Prints what the server sent. On a terminal, control characters (C0, DEL,
 * and C1 as UTF-8, e.g. U+009B, a CSI) become '?': a server must not drive
 * the terminal. Returns -1 when stdout is gone (EPIPE: `| head -1`). */
static int print(FILE *f, int tty, const uint8_t *p, size_t n)
{
	size_t i, from = 0;

	for (i = 0; tty && i < n; i++) {
		int c1 = p[i] == 0xc2 && i + 1 < n && p[i + 1] >= 0x80 && p[i + 1] < 0xa0;
		if (c1 || (p[i] < 0x20 && p[i] != '\t') || p[i] == 0x7f) {
			fwrite(p + from, 1, i - from, f);
			fputc('?', f);
			from = i + 1 + c1;
			i += c1;
		}
	}
	return fwrite(p + from, 1, n - from, f) == n - from ? 0 : -1;
}

/* Sends the complete lines in lb while output is below the bound; at stdin
 * EOF a last line without a newline counts too, and then our close. */
static int send_lines(ad_conn *a)
{
	size_t start = 0;

	while (lb && ad_pending(a) <= HIGH_WATER) {
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
		else if (ad_send(a, opt.binary ? WS_OP_BINARY : WS_OP_TEXT, 0, lb + start, end - start))
			return -1;
		start = lb_scan = nl ? end + 1 : end;
	}
	if (start) { /* lb is NULL until stdin gave bytes */
		memmove(lb, lb + start, lb_len - start);
		lb_len -= start;
		lb_scan -= start;
	}
	if (stdin_eof && !lb_len && !close_sent && ws_conn_state(&a->ws) == WS_STATE_OPEN) {
		close_sent = 1;
		return ad_close(a, opt.close_code, opt.close_reason, strlen(opt.close_reason)) != WS_OK;
	}
	return 0;
}

static int read_stdin(ad_conn *a)
{
	ssize_t n;

	if (lb_len > MAX_LINE) /* a local error: reconnecting would not help */
		return fprintf(stderr, "ws-client: line %lu longer than %u bytes\n", lineno + 1, MAX_LINE), -1;
	if (lb_cap - lb_len < AD_RBUF) {
		char *p = realloc(lb, lb_cap ? lb_cap * 2 : 2 * AD_RBUF);
		if (!p)
			return -1;
		lb = p;
		lb_cap = lb_cap ? lb_cap * 2 : 2 * AD_RBUF;
	}
	if ((n = read(0, lb + lb_len, lb_cap - lb_len)) < 0)
		return errno == EINTR || errno == EAGAIN ? 0 : -1;
	stdin_eof = n == 0;
	lb_len += (size_t)n;
	return send_lines(a);
}

static int on_event(ad_conn *a, ws_event *ev)
{
	ws_str name, value;
	size_t pos = 0;
	int end = ev->flags & WS_EVF_MSG_END;

	switch (ev->type) {
	case WS_EV_OPEN:
		fprintf(stderr, "ws-client: connected to %s", opt.url);
		if (ev->http.protocol.len)
			fprintf(stderr, " (subprotocol %.*s)", (int)ev->http.protocol.len, ev->http.protocol.ptr);
		while (ws_header_next(ev->http.head, &pos, &name, &value)) /* validated by the library */
			if (name.len == 24 && !strncasecmp(name.ptr, "Sec-WebSocket-Extensions", 24))
				fprintf(stderr, " (%.*s)", (int)value.len, value.ptr);
		fputc('\n', stderr);
		return send_lines(a); /* lines typed while connecting */
	case WS_EV_REJECTED:
		fprintf(stderr, "rejected: HTTP %u\n", ev->http.status);
		result = END_FAIL;
		return -1;
	case WS_EV_BINARY:
		bin_len = ev->flags & WS_EVF_MSG_BEGIN ? ev->len : bin_len + ev->len;
		if (!opt.print_binary)
			return end ? fprintf(stderr, "ws-client: binary message: %zu bytes\n", bin_len) < 0 : 0;
		/* fall through */
	case WS_EV_TEXT: /* streamed: a huge message needs no memory here */
		if (print(stdout, tty_out, ev->data, ev->len) || (end && (putchar('\n') == EOF || fflush(stdout))))
			return fprintf(stderr, "ws-client: stdout: %s\n", strerror(errno)), result = END_FAIL, -1;
		return 0;
	case WS_EV_PONG:
		return opt.verbose && fprintf(stderr, "ws-client: pong\n") < 0;
	case WS_EV_CLOSE:
		if (ev->code == WS_CLOSE_ABNORMAL) { /* the transport ended without a close frame */
			fprintf(stderr, "ws-client: connection lost\n");
			return result = END_LOST, 0;
		}
		if (ev->flags & WS_EVF_REPLY || opt.verbose) {
			fprintf(stderr, ev->flags & WS_EVF_REPLY ? "ws-client: closed by server: %u " : "ws-client: closed: %u ", ev->code);
			print(stderr, tty_err, ev->data, ev->len);
			fputc('\n', stderr);
		}
		last_code = ev->flags & WS_EVF_REPLY ? ev->code : 0;
		result = !(ev->flags & WS_EVF_REPLY) ? END_DONE
		         : ev->code == WS_CLOSE_NORMAL || ev->code == WS_CLOSE_NO_STATUS ? END_SERVER_CLOSED : END_LOST;
		return 0;
	}
	return 0;
}

/* Connects to each address of the host in turn (::1 and 127.0.0.1 for
 * localhost, say), all within one deadline. The failures are told only when
 * every address failed: a refused ::1 before a working 127.0.0.1 is normal.
 * what is "" for the server, "proxy " for a proxy. */
static int dial(const char *host, const char *port, const char *what, int64_t deadline)
{
	struct addrinfo hints = { 0 }, *res, *ai;
	char why[4][NI_MAXHOST + 64];
	int fd = -1, rc, one = 1, nwhy = 0, i;

	hints.ai_socktype = SOCK_STREAM;
	hints.ai_flags = AI_NUMERICSERV;
	if ((rc = getaddrinfo(host, port, &hints, &res)))
		return fprintf(stderr, "ws-client: %s%s: %s\n", what, host, gai_strerror(rc)), -1;
	for (ai = res; ai && fd < 0; ai = ai->ai_next) {
		struct pollfd p = { .events = POLLOUT };
		char h[NI_MAXHOST] = "?";
		int err = 0;
		socklen_t len = sizeof err;

		if ((fd = p.fd = socket(ai->ai_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0)) < 0)
			err = errno;
		else if (connect(fd, ai->ai_addr, ai->ai_addrlen) && errno != EINPROGRESS)
			err = errno;
		/* Never a negative timeout: past the deadline, poll just looks. */
		else if (poll(&p, 1, ad_timeout(deadline, ad_now())) != 1)
			err = ETIMEDOUT;
		else if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len))
			err = errno;
		if (!err)
			break;
		getnameinfo(ai->ai_addr, ai->ai_addrlen, h, sizeof h, NULL, 0, NI_NUMERICHOST);
		if (nwhy < 4)
			snprintf(why[nwhy++], sizeof why[0], "%s port %s: %s", h, port, strerror(err));
		if (fd >= 0)
			close(fd);
		fd = -1;
	}
	freeaddrinfo(res);
	if (fd < 0)
		for (i = 0; i < nwhy; i++)
			fprintf(stderr, "ws-client: connect to %s%s\n", what, why[i]);
	else
		setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
	return fd;
}

/* One connection, from connect to close. Returns END_*; *lived is how long it stayed open. */
static int session(const ws_config *cfg, int64_t *lived)
{
	static ad_opts o = { on_event, HIGH_WATER, 0, 0, 0, 0, 5000, 30000, NULL };
	ws_connect_opts copts = { opt.hostport, opt.target, NULL, NULL, NULL };
	int64_t opened = 0, deadline;
	ad_conn a;
	uint8_t *p;
	size_t n;
	int fd, status;
	char why[512];

	copts.protocols = opt.protocols[0] ? opt.protocols : NULL;
	copts.headers = opt.headers;
	o.ping_ms = o.pong_ms = (int)opt.ping_ms;
	o.handshake_ms = (int)opt.connect_ms;
	result = END_LOST;
	close_sent = 0;
	deadline = ad_now() + opt.connect_ms; /* through a proxy: its connect and its answer to CONNECT */
	fd = opt.proxy ? dial(opt.px.host, opt.px.port, "proxy ", deadline) : dial(opt.host, opt.port, "", deadline);
	if (fd < 0)
		return END_LOST;
	/* The tunnel: everything below runs through it as if connected to the server. */
	if (opt.proxy && proxy_connect(fd, &opt.px, opt.host, opt.port, ad_timeout(deadline, ad_now()), &status, why,
	                               sizeof why)) {
		fprintf(stderr, "ws-client: %s\n", why);
		close(fd);
		/* The proxy's refusals (407, 403) are a verdict, like a rejected
		 * handshake; timeouts and its 5xx (origin down) are worth a retry. */
		return status >= 400 && status < 500 ? END_FAIL : END_LOST;
	}
	if (ad_init(&a, &loop, cfg, &o, ad_socket(fd)) != WS_OK)
		return close(fd), END_FAIL;
#ifdef WITH_TLS
	if (opt.tls && tls_connect(fd, opt.host, opt.ca, opt.insecure, &a.t))
		return close(fd), END_FAIL;
#endif
	if (!(p = ad_reserve(&a, 4096)) || ws_conn_connect(&a.ws, &copts, p, 4096, &n) != WS_OK) {
		fprintf(stderr, "ws-client: cannot start the handshake (check -H and -s values)\n");
		return close(fd), END_FAIL;
	}
	ad_commit(&a, n);
	for (;;) {
		int open = ws_conn_state(&a.ws) == WS_STATE_OPEN, nfds = 1;
		unsigned w = ad_wants(&a);
		struct pollfd pf[2] = { { fd, (short)((w & AD_READ ? POLLIN : 0) | (w & AD_WRITE ? POLLOUT : 0)), 0 },
		                        { 0, POLLIN, 0 } };

		if (open && !opened)
			opened = ad_now();
		if (open && lb_scan < lb_len && ad_pending(&a) <= HIGH_WATER && send_lines(&a))
			break; /* lines read earlier, now that output drained */
		/* stdin only while open and below the bound (backpressure) */
		if (open && !stdin_eof && !close_sent && ad_pending(&a) <= HIGH_WATER && lb_scan == lb_len)
			nfds = 2;
		if (poll(pf, (nfds_t)nfds, ad_timeout(ad_deadline(&a), ad_now())) < 0 && errno != EINTR)
			break;
		ad_loop_wake(&loop);
		if (nfds == 2 && (pf[1].revents & (POLLIN | POLLHUP)) && read_stdin(&a)) {
			result = END_FAIL;
			break;
		}
		if (ad_io(&a))
			break;
	}
#ifdef WITH_TLS
	if (opt.tls && tls_failure(&a.t)) { /* a verification failure says which */
		fprintf(stderr, "ws-client: TLS: %s\n", tls_failure(&a.t));
		result = END_FAIL;
		a.why = "local error";
	}
	if (opt.tls)
		tls_free(&a.t);
#endif
	if (a.err)
		fprintf(stderr, "ws-client: %s\n", ws_status_str(a.err));
	else if (a.why && !strcmp(a.why, "no pong: connection dead"))
		fprintf(stderr, "ws-client: no pong within %ld ms: connection dead\n", opt.ping_ms);
	else if (a.why && strcmp(a.why, "local error"))
		fprintf(stderr, "ws-client: %s\n", a.why);
	if (a.why && result == END_DONE)
		result = END_LOST; /* e.g. our close was never answered */
	ad_free(&a);
	close(fd);
	*lived = opened ? ad_now() - opened : 0;
	return a.err || (a.why && strcmp(a.why, "local error")) ? (result == END_FAIL ? END_FAIL : END_LOST) : result;
}

/* The proxy for this URL: --proxy, or the environment as curl and most
 * tools read it (lower case first); none when no_proxy lists the host. 0, or
 * -1 after telling why the proxy URL is bad. */
static int choose_proxy(void)
{
	const char *names[2] = { opt.tls ? "https_proxy" : "http_proxy", opt.tls ? "HTTPS_PROXY" : "HTTP_PROXY" };
	const char *why, *np = getenv("no_proxy");
	int i;

	for (i = 0; !opt.proxy_set && !opt.proxy && i < 2; i++) {
		const char *v = getenv(names[i]);
		/* A CGI program gets the request's "Proxy:" header as HTTP_PROXY
		 * ("httpoxy"): under CGI, only http_proxy is trusted. */
		if (v && *v && !(!strcmp(names[i], "HTTP_PROXY") && getenv("REQUEST_METHOD")))
			opt.proxy = v, opt.proxy_from = names[i];
	}
	if (!opt.proxy || !*opt.proxy)
		return opt.proxy = NULL, 0;
	if (proxy_bypass(np ? np : getenv("NO_PROXY"), opt.host, opt.port)) {
		if (opt.verbose)
			fprintf(stderr, "ws-client: %s lists %s: not using the proxy\n", np ? "no_proxy" : "NO_PROXY", opt.host);
		return opt.proxy = NULL, 0;
	}
	if (proxy_parse_url(opt.proxy, &opt.px, &why))
		return fprintf(stderr, "ws-client: bad proxy URL (%s): %s\n", opt.proxy_from, why), -1;
	if (opt.verbose)
		fprintf(stderr, "ws-client: through proxy %s%s%s:%s (%s)\n", strchr(opt.px.host, ':') ? "[" : "", opt.px.host,
		        strchr(opt.px.host, ':') ? "]" : "", opt.px.port, opt.proxy_from);
	return 0;
}

/* ws://host[:port][/path][?query] or wss://... */
static int parse_url(const char *url)
{
	const char *p, *auth_end, *host_end, *port_s = NULL, *frag;
	size_t hl;

	opt.tls = !strncasecmp(url, "wss://", 6);
	if (strncasecmp(url, "ws://", 5) && !opt.tls)
		return -1;
	p = url + 5 + opt.tls;
	auth_end = p + strcspn(p, "/?#");
	if (memchr(p, '@', (size_t)(auth_end - p)))
		return fprintf(stderr, "ws-client: credentials in URLs are not supported; use -H 'Authorization: ...'\n"), -1;
	if (*p == '[') { /* IPv6 literal */
		const char *rb = memchr(p, ']', (size_t)(auth_end - p));
		if (!rb || (rb + 1 < auth_end && rb[1] != ':'))
			return -1;
		hl = (size_t)(rb - p - 1);
		host_end = rb + 1;
		p++;
	} else {
		host_end = memchr(p, ':', (size_t)(auth_end - p));
		host_end = host_end ? host_end : auth_end;
		hl = (size_t)(host_end - p);
	}
	if (hl == 0 || hl >= sizeof opt.host)
		return -1;
	memcpy(opt.host, p, hl);
	opt.host[hl] = 0;
	p = url + 5 + opt.tls;
	if (host_end < auth_end) {
		char *e;
		long port = strtol(port_s = host_end + 1, &e, 10);
		if (e != auth_end || port < 1 || port > 65535)
			return -1;
	}
	snprintf(opt.port, sizeof opt.port, "%.*s", port_s ? (int)(auth_end - port_s) : 3,
	         port_s ? port_s : opt.tls ? "443" : "80");
	if ((size_t)(auth_end - p) >= sizeof opt.hostport) /* Host: the authority as written (RFC 6455 §4.1) */
		return -1;
	snprintf(opt.hostport, sizeof opt.hostport, "%.*s", (int)(auth_end - p), p);
	frag = auth_end + strcspn(auth_end, "#"); /* fragments never go on the wire */
	if ((size_t)(frag - auth_end) + 2 > sizeof opt.target)
		return -1;
	snprintf(opt.target, sizeof opt.target, "%s%.*s", *auth_end == '/' ? "" : "/", (int)(frag - auth_end), auth_end);
	return 0;
}

static int usage(int status)
{
	fprintf(status ? stderr : stdout,
	        "usage: ws-client URL [options]\n"
	        "  URL                   ws://host[:port][/path][?query] or wss://...\n"
	        "  -H 'Name: value'      extra request header (repeatable)\n"
	        "  -s PROTOCOL           offer a subprotocol (repeatable, in order of preference)\n"
	        "  --ping-interval S     ping after S seconds with no byte moving either way (fractions\n"
	        "                        allowed); no answer and none of our output moving within S\n"
	        "                        seconds more means the connection is dead\n"
	        "  --reconnect           after an unexpected disconnect, reconnect with exponential backoff\n"
	        "                        and jitter (0.5 s doubling to 30 s; at least 5 s after close 1012/1013;\n"
	        "                        reset once a connection lived 10 s)\n"
	        "  --connect-timeout S   for the TCP connect (all addresses), then again for the\n"
	        "                        opening handshake (default 10)\n"
	        "  --deflate             offer permessage-deflate (compression, RFC 7692)\n"
	        "  --ca FILE             wss://: trust these PEM certificates instead of the system store\n"
	        "  --proxy URL           tunnel through an HTTP proxy: http://[user:pass@]host[:port]\n"
	        "                        (port 80 by default; user and pass percent-encoded; sent as\n"
	        "                        Proxy-Authorization: Basic). Default: $https_proxy (or\n"
	        "                        $HTTPS_PROXY) for wss://, $http_proxy (or $HTTP_PROXY) for ws://\n"
	        "  --no-proxy, --proxy ''  connect directly, whatever the environment says\n"
	        "  -v, --verbose         report pongs, the close handshake and the proxy used on stderr\n"
	        "test helpers:\n"
	        "  --insecure            wss://: skip certificate verification (FOR TESTS ONLY)\n"
	        "  --binary              send stdin lines as binary messages\n"
	        "  --print-binary        print binary messages on stdout as lines, like text\n"
	        "  --close CODE[:REASON] close code and reason sent at stdin EOF (default 1000)\n"
	        "Proxies: CONNECT host:port, then TLS (wss://: the server's name is verified, not the\n"
	        "proxy's) and the handshake through the tunnel. $no_proxy (or $NO_PROXY) lists hosts\n"
	        "that go direct, comma-separated: '*' (all), a name (itself and its subdomains;\n"
	        "'.example.com' too), an IPv4/IPv6 address (no ranges), each with an optional :port\n"
	        "([::1]:8080). It applies to --proxy too. The proxy's connect and its answer share the\n"
	        "first --connect-timeout. A 407 means the proxy wants (other) credentials; any other\n"
	        "refusal prints the proxy's status line. https:// (TLS to the proxy) and SOCKS proxies\n"
	        "are not supported.\n"
	        "Text messages received go to stdout, one per line; everything else to stderr. On a\n"
	        "terminal, control characters from the server are shown as '?'.\n"
	        "Exit status: 0 after a clean close (ours at EOF, or the server's with 1000 or no code),\n"
	        "1 on rejection (\"rejected: HTTP NNN\", or by the proxy), errors, lost connections or\n"
	        "other close codes, 2 on usage errors.\n");
	return status;
}

int main(int argc, char **argv)
{
	ws_config cfg;
	ws_deflate_config dcfg;
	size_t hlen = 0, nproto = 0;
	int i, attempt = 0;

	ad_loop_init(&loop);
	for (i = 1; i < argc; i++) {
		const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
		char *e = "";
		if (!strcmp(a, "-h") || !strcmp(a, "--help"))
			return usage(0);
		if (!strcmp(a, "-H") && v) {
			size_t vl = strlen(v);
			char *h = strchr(v, ':') ? realloc(opt.headers, hlen + vl + 3) : NULL;
			if (!h)
				return usage(2);
			sprintf(h + hlen, "%s\r\n", v);
			opt.headers = h;
			hlen += vl + 2;
			i++;
		} else if (!strcmp(a, "-s") && v && nproto + 1 < sizeof opt.protocols / sizeof *opt.protocols) {
			opt.protocols[nproto++] = argv[++i];
		} else if (!strcmp(a, "--ping-interval") && v) {
			double sec = strtod(argv[++i], &e);
			if (*e || !(sec >= 0.01 && sec <= 86400))
				return usage(2);
			opt.ping_ms = (long)(sec * 1000);
		} else if (!strcmp(a, "--connect-timeout") && v) {
			double sec = strtod(argv[++i], &e);
			if (*e || !(sec >= 0.01 && sec <= 86400))
				return usage(2);
			opt.connect_ms = (long)(sec * 1000);
		} else if (!strcmp(a, "--close") && v) {
			opt.close_code = (unsigned)strtoul(argv[++i], &e, 10);
			if ((*e && *e != ':') || !ws_close_code_valid(opt.close_code))
				return usage(2);
			opt.close_reason = *e ? e + 1 : "";
		} else if (!strcmp(a, "--ca") && v) {
			opt.ca = argv[++i];
		} else if (!strcmp(a, "--proxy") && v) {
			opt.proxy = argv[++i];
			opt.proxy_set = 1;
			opt.proxy_from = "--proxy";
		} else if (!strcmp(a, "--no-proxy")) {
			opt.proxy = "";
			opt.proxy_set = 1;
		} else if (!strcmp(a, "--insecure")) {
			opt.insecure = 1;
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
	if (parse_url(opt.url))
		return fprintf(stderr, "ws-client: bad URL '%s' (expected ws[s]://host[:port][/path])\n", opt.url), 2;
#ifndef WITH_TLS
	if (opt.tls)
		return fprintf(stderr, "ws-client: wss:// is not supported by this build (-DWITH_TLS)\n"), 2;
#endif
	if (opt.tls && opt.insecure)
		fprintf(stderr, "ws-client: --insecure: the server's certificate is NOT verified (for tests only)\n");
	if (choose_proxy())
		return 2;
	signal(SIGPIPE, SIG_IGN); /* EPIPE comes back as an error instead */
	tty_out = isatty(1);
	tty_err = isatty(2);
	ws_config_init(&cfg, WS_ROLE_CLIENT);
	cfg.rand = rand_bytes;
	cfg.max_message = cfg.max_frame = 64u << 20;
	if (opt.deflate && !ws_deflate_available())
		return fprintf(stderr, "ws-client: libws was built without permessage-deflate\n"), 2;
	if (opt.deflate) {
		ws_deflate_config_init(&dcfg); /* context takeover, 15-bit windows: what browsers offer */
		dcfg.alloc.alloc = mem_alloc;
		dcfg.alloc.free = mem_free;
		dcfg.inflate_buf = inflated;
		dcfg.inflate_cap = sizeof inflated;
		cfg.deflate = &dcfg;
	}
	for (;;) {
		int64_t lived = 0;
		int r = session(&cfg, &lived);
		uint32_t jitter = 0;
		long delay;

		if (r == END_DONE || r == END_FAIL || (stdin_eof && lb_len == 0) || !opt.reconnect)
			return r == END_DONE || r == END_SERVER_CLOSED ? 0 : 1; /* nothing to retry for */
		if (lived >= STABLE_MS) /* not after every handshake: a server may accept, then close at once */
			attempt = 0;
		/* Exponential backoff with "equal jitter": half the delay fixed, half
		 * random, so that clients that lost the same server spread out. */
		delay = attempt >= 6 ? BACKOFF_MAX_MS : BACKOFF_MIN_MS << attempt;
		delay = delay > BACKOFF_MAX_MS ? BACKOFF_MAX_MS : delay;
		/* 1012 (restarting) and 1013 (try again later): give it time. */
		if ((last_code == 1012 || last_code == 1013) && delay < 10000)
			delay = 10000;
		attempt++;
		rand_bytes(NULL, &jitter, sizeof jitter);
		delay = delay / 2 + (long)(jitter % (uint32_t)(delay / 2 + 1));
		fprintf(stderr, "ws-client: reconnecting in %.1f s (attempt %d, %s)\n", delay / 1000.0, attempt,
		        last_code ? "server closed the connection" : lived ? "connection lost" : "could not connect");
		last_code = 0;
		poll(NULL, 0, (int)delay);
	}
}
