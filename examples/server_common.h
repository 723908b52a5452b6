/* What the echo servers (epoll, poll, libuv) share: the command line, the
 * libws configuration, the listening socket and the echo itself. Header-only
 * (static functions; inline where a server may not use them), so that each server still builds from its own .c file
 * and the adapter's (adapter.c, ad_loop.c, ad_policy.c, ad_socket.c). */
#ifndef SERVER_COMMON_H
#define SERVER_COMMON_H

#include "ad_sock.h" /* POSIX sockets or Winsock; first, for windows.h */
#include "ad_policy.h" /* and adapter.h */
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#ifndef _WIN32
#include <sys/resource.h>
#endif
#ifdef WITH_TLS
#include "tls.h"
#endif

#define MAX_MESSAGE (64u << 20) /* 16 MiB messages must pass, with room to spare */
#define SRV_MAX_LISTEN 16       /* listening sockets: one per address of --host */

static struct {
	ad_loop loop; /* the one thread's: its read buffer and each wake-up's allowance */
	ws_config cfg;
	ws_deflate_config dcfg;
	ad_opts opts;
	int max_conns, fd_limit, spare, refusing;
	ad_fd lfd[SRV_MAX_LISTEN];        /* one per address, all on one port */
	int nlisten;
	double log_tokens;                /* srv_log(): lines it may write now */
	int64_t log_at;
	unsigned long log_dropped;
#ifdef WITH_TLS
	tls_server *tls;
#endif
} srv;
/* Inflated data lands here; events point into it until the next ws_conn_recv()
 * of any connection, and the echo copies (compresses) it before that. */
static uint8_t srv_inflated[64 * 1024];

static void *srv_alloc(void *ctx, size_t n) { (void)ctx; return malloc(n); }
static void srv_free(void *ctx, void *p) { (void)ctx; free(p); }

static inline int srv_is(ws_str s, const char *lit) { return s.len == strlen(lit) && !memcmp(s.ptr, lit, s.len); }

/* A line about one connection on stderr, at most 20 at once and 10 a second
 * after that: a flood of failing connections must not become a flood of log
 * writes. What was left out is counted in the next line written. */
#if defined(__GNUC__)
__attribute__((format(printf, 1, 2)))
#endif
static void srv_log(const char *fmt, ...)
{
	int64_t now = ad_now();
	va_list ap;

	srv.log_tokens += (double)(now - srv.log_at) / 100;
	srv.log_tokens = srv.log_tokens > 20 || !srv.log_at ? 20 : srv.log_tokens;
	srv.log_at = now;
	if (srv.log_tokens < 1) {
		srv.log_dropped++;
		return;
	}
	srv.log_tokens -= 1;
	if (srv.log_dropped)
		fprintf(stderr, "(%lu lines about connections not logged)\n", srv.log_dropped);
	srv.log_dropped = 0;
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
}

/* --token and --origin (NULL without them): who may connect. */
static const char *srv_token, *srv_origin;

/* 1 if s[0..n) is the --token; constant time, so it cannot be guessed byte by byte. */
static int srv_token_is(const char *s, size_t n)
{
	size_t i, want = strlen(srv_token);
	unsigned char d = n != want;

	for (i = 0; i < n; i++)
		d |= (unsigned char)(s[i] ^ srv_token[i < want ? i : 0]);
	return !d;
}

/* 1 if the request has the token: "Authorization: Bearer TOKEN", or ?token=TOKEN
 * in its target for browsers (which cannot set headers on a WebSocket). */
static int srv_authorized(const ws_http *h)
{
	ws_str name, value, t = h->target;
	const char *q = memchr(t.ptr, '?', t.len);
	size_t pos = 0, i, j;

	for (i = q ? (size_t)(q - t.ptr) + 1 : t.len; i < t.len; i = j + 1) { /* NAME=VALUE&... */
		for (j = i; j < t.len && t.ptr[j] != '&'; j++)
			;
		if (j - i > 6 && !memcmp(t.ptr + i, "token=", 6) && srv_token_is(t.ptr + i + 6, j - i - 6))
			return 1;
	}
	while (ws_header_next(h->head, &pos, &name, &value))
		if (name.len == 13 && !strncasecmp(name.ptr, "Authorization", 13) && value.len > 7 &&
		    !strncasecmp(value.ptr, "Bearer ", 7) && srv_token_is(value.ptr + 7, value.len - 7))
			return 1;
	return 0;
}

/* Answers the request (401 without the --token; 403 for an Origin other than
 * --origin: browsers send Origin, so another site's page cannot connect with
 * its visitor's cookies, RFC 6455 §10.2), then echoes each chunk as it comes:
 * the first with the message's opcode, the rest as continuations,
 * WS_SEND_MORE on all but the last. */
static int srv_on_event(ad_conn *a, ws_event *ev)
{
	static const char *const protocols[] = { "echo", "chat", NULL }; /* our preference */
	uint8_t *p;
	size_t n = 0;
	int rc;

	if (ev->type == WS_EV_REQUEST) {
		ws_accept_opts opts = { .protocol = ws_select_protocol(&ev->http, protocols) };
		if (!(p = ad_reserve(a, 4096)))
			return -1;
		if (srv_token && !srv_authorized(&ev->http))
			rc = ws_conn_reject(&a->ws, 401, "WWW-Authenticate: Bearer\r\n", "unauthorized\n", 13, p, 4096, &n);
		else if (srv_origin && ev->http.origin.len &&
		         !ws_origin_allowed(&ev->http, (const char *const[]){ srv_origin, NULL }))
			rc = ws_conn_reject(&a->ws, 403, NULL, "origin not allowed\n", 19, p, 4096, &n);
		else
			rc = ws_conn_accept(&a->ws, &opts, p, 4096, &n);
		ad_commit(a, n);
		return rc != WS_OK;
	}
	if ((ev->type != WS_EV_TEXT && ev->type != WS_EV_BINARY) || ws_conn_state(&a->ws) != WS_STATE_OPEN)
		return 0; /* after our close frame no data may follow (RFC 6455 §5.5.1) */
	return ad_send(a, !(ev->flags & WS_EVF_MSG_BEGIN) ? WS_OP_CONTINUATION
	                  : ev->type == WS_EV_TEXT ? WS_OP_TEXT : WS_OP_BINARY,
	               ev->flags & WS_EVF_MSG_END ? 0 : WS_SEND_MORE, ev->data, ev->len) != WS_OK;
}

/* The transport of an accepted socket: TLS over it with --tls-cert, else
 * the socket itself. Returns 0, or -1 if TLS cannot be set up. */
static inline int srv_transport_open(ad_fd fd, ad_transport *t)
{
	int one = 1;

	/* small echoes go out now; (const void *): Winsock's optval is a char * */
	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, (const void *)&one, sizeof one);
	*t = ad_socket(fd);
#ifdef WITH_TLS
	if (srv.tls && tls_accept(srv.tls, fd, t))
		return -1;
#endif
	return 0;
}

static inline int srv_conn_init(ad_conn *a, ad_fd fd)
{
	ad_transport t;

	if (srv_transport_open(fd, &t))
		return WS_E_ALLOC;
	return ad_init(a, &srv.loop, &srv.cfg, &srv.opts, t);
}

static inline void srv_transport_free(ad_transport *t)
{
#ifdef WITH_TLS
	if (srv.tls)
		tls_free(t);
#else
	(void)t;
#endif
}

#ifndef _WIN32
/* The descriptor limit, and a spare descriptor that makes room for one
 * accept when it is reached (srv_accept). */
static int srv_fd_limit(void)
{
	struct rlimit rl;

	getrlimit(RLIMIT_NOFILE, &rl);
	return rl.rlim_cur == RLIM_INFINITY || rl.rlim_cur > (1 << 20) ? 1 << 20 : (int)rl.rlim_cur;
}
static int srv_spare_open(void) { return open("/dev/null", O_RDONLY | O_CLOEXEC); }
static void srv_spare_close(int fd) { close(fd); }
#else
/* Windows has no descriptor table for sockets to run out of (memory runs out
 * first, WSAENOBUFS): no spare, and a cap of our own. */
static int srv_fd_limit(void) { return 1 << 16; }
static int srv_spare_open(void) { return -1; }
static void srv_spare_close(int fd) { (void)fd; }
#endif

/* Accepts a connection: its socket, or AD_BADFD once the queue is empty or
 * this wake-up has accepted its share (AD_WAKE_ACCEPTS: the rest wait in the
 * queue while connected peers are served; the listener stays readable and
 * brings us back). At the cap, or out of descriptors, it takes the
 * connection off the queue and closes it: the listener is level-triggered
 * and would wake us forever. */
static inline ad_fd srv_accept(ad_fd lfd, int nconns)
{
	for (;;) {
		ad_fd fd;
		int e;

		if (!ad_loop_accept(&srv.loop))
			return AD_BADFD;
		fd = accept(lfd, NULL, NULL);
		e = fd == AD_BADFD ? ad_sock_errno() : 0;
		if ((e == EMFILE || e == ENFILE) && srv.spare >= 0) {
			srv_spare_close(srv.spare); /* the spare descriptor makes room for one accept */
			fd = accept(lfd, NULL, NULL);
			srv.spare = srv_spare_open();
			if (fd == AD_BADFD)
				return AD_BADFD; /* Linux says EMFILE before it looks at the queue */
			srv_log("echo-server: out of file descriptors, refusing a connection\n");
			ad_sock_close(fd);
			continue;
		}
		if (e == EINTR || e == ECONNABORTED)
			continue;
		if (fd == AD_BADFD)
			return AD_BADFD;
		if (nconns < srv.max_conns && ad_sock_nonblock(fd) == 0)
			return srv.refusing = 0, fd;
		if (!srv.refusing++) /* the cap keeps descriptors for the rest */
			fprintf(stderr, "echo-server: %d connections: refusing more\n", nconns);
		ad_sock_close(fd);
	}
}

/* Where a socket address keeps its port. */
static uint16_t *srv_port_of(struct sockaddr *sa)
{
	return sa->sa_family == AF_INET6 ? &((struct sockaddr_in6 *)(void *)sa)->sin6_port
	                                 : &((struct sockaddr_in *)(void *)sa)->sin_port;
}

/* A listening socket on AI's address. An IPv6 socket takes IPv6 only, but
 * for "::" when DUAL: that one takes IPv4 too (dual stack). Returns the
 * socket, or AD_BADFD with errno set. */
static ad_fd srv_bind(const struct addrinfo *ai, int dual)
{
	int one = 1, v6only, e;
	ad_fd fd = socket(ai->ai_family, SOCK_STREAM, 0);

	if (fd == AD_BADFD)
		return errno = ad_sock_errno(), AD_BADFD;
	setsockopt(fd, SOL_SOCKET, AD_REUSEADDR, (const void *)&one, sizeof one); /* restart without waiting */
	if (ad_sock_nonblock(fd))
		goto fail;
	if (ai->ai_family == AF_INET6) {
		v6only = !(dual && IN6_IS_ADDR_UNSPECIFIED(&((struct sockaddr_in6 *)(void *)ai->ai_addr)->sin6_addr));
		if (setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, (const void *)&v6only, sizeof v6only))
			goto fail;
	}
	if (!bind(fd, ai->ai_addr, (socklen_t)ai->ai_addrlen) && !listen(fd, SOMAXCONN))
		return fd;
fail:
	e = ad_sock_errno();
	ad_sock_close(fd);
	errno = e;
	return AD_BADFD;
}

static void srv_close_listeners(void)
{
	while (srv.nlisten > 0)
		ad_sock_close(srv.lfd[--srv.nlisten]);
}

/* The listening socket behind an epoll tag (&srv.lfd[i]), or AD_BADFD. */
static inline ad_fd srv_listener(const void *tag)
{
	const ad_fd *p = tag;
	return p >= srv.lfd && p < srv.lfd + srv.nlisten ? *p : AD_BADFD;
}

/* Listens on every address HOST resolves to, all on one port; HOST NULL
 * means the loopback of both families (127.0.0.1 and ::1), so that a client
 * finds us whichever of them "localhost" gives it first. With port 0 the
 * first address picks the port and the others take the same one (tried
 * again if it is taken there). An address this machine cannot have (no
 * IPv6, say) is skipped with a note; any other failure fails. IPv4 comes
 * first, then one "listening on SCHEME://ADDR:PORT/" line per socket.
 * Returns 0, or -1 with the reason on stderr. */
static int srv_listen(const char *host, const char *port, const char *scheme, const char *name)
{
	struct addrinfo hints, *res, *ai, *b;
	char h[NI_MAXHOST], p[NI_MAXSERV];
	int i, rc, pass, tries, any4 = 0, skipped = 0;
	ad_fd fd;
	uint16_t want;

	memset(&hints, 0, sizeof hints);
	hints.ai_socktype = SOCK_STREAM;
	hints.ai_flags = AI_NUMERICSERV | (host ? AI_PASSIVE : 0); /* NULL without AI_PASSIVE: loopback */
	if ((rc = getaddrinfo(host, port, &hints, &res)))
		return fprintf(stderr, "%s: %s:%s: %s\n", name, host ? host : "loopback", port, gai_strerror(rc)), -1;
	for (ai = res; ai; ai = ai->ai_next) {
		for (b = res; b != ai; b = b->ai_next) /* a name may list an address twice */
			if (b->ai_addrlen == ai->ai_addrlen && !memcmp(b->ai_addr, ai->ai_addr, ai->ai_addrlen))
				ai->ai_family = AF_UNSPEC; /* skipped below */
		any4 |= ai->ai_family == AF_INET &&
		        ((struct sockaddr_in *)(void *)ai->ai_addr)->sin_addr.s_addr == htonl(INADDR_ANY);
	}
	want = *srv_port_of(res->ai_addr); /* 0: the first bind picks the port */
	for (tries = 0; tries < 8; tries++) {
		uint16_t chosen = want;
		int retry = 0;

		for (pass = 0; pass < 2 && !retry; pass++)
			for (ai = res; ai && !retry; ai = ai->ai_next) {
				if ((ai->ai_family != AF_INET && ai->ai_family != AF_INET6) ||
				    (ai->ai_family == AF_INET) != !pass)
					continue;
				*srv_port_of(ai->ai_addr) = chosen;
				if (srv.nlisten == SRV_MAX_LISTEN) {
					skipped = 1;
					continue;
				}
				if ((fd = srv_bind(ai, !any4)) != AD_BADFD) {
					struct sockaddr_storage sa;
					socklen_t sl = sizeof sa;
					srv.lfd[srv.nlisten++] = fd;
					if (!chosen && !getsockname(fd, (struct sockaddr *)&sa, &sl))
						chosen = *srv_port_of((struct sockaddr *)&sa);
					continue;
				}
				rc = errno;
				getnameinfo(ai->ai_addr, ai->ai_addrlen, h, sizeof h, p, sizeof p, NI_NUMERICHOST | NI_NUMERICSERV);
				if (rc == EAFNOSUPPORT || rc == EADDRNOTAVAIL) { /* not on this machine */
					fprintf(stderr, "%s: not listening on %s: %s\n", name, h, strerror(rc));
					continue;
				}
				if (rc == EADDRINUSE && srv.nlisten && !want)
					retry = 1; /* the port we picked is taken on this address */
				else {
					fprintf(stderr, "%s: %s port %s: %s\n", name, h, p, strerror(rc));
					srv_close_listeners();
					freeaddrinfo(res);
					return -1;
				}
			}
		if (!retry)
			break;
		srv_close_listeners();
	}
	freeaddrinfo(res);
	if (skipped)
		fprintf(stderr, "%s: listening on the first %d addresses only\n", name, SRV_MAX_LISTEN);
	if (!srv.nlisten)
		return fprintf(stderr, "%s: no address to listen on\n", name), -1;
	for (i = 0; i < srv.nlisten; i++) { /* the addresses bound, so that --port 0 tells its port */
		struct sockaddr_storage sa;
		socklen_t sl = sizeof sa;
		if (!getsockname(srv.lfd[i], (struct sockaddr *)&sa, &sl) &&
		    !getnameinfo((struct sockaddr *)&sa, sl, h, sizeof h, p, sizeof p, NI_NUMERICHOST | NI_NUMERICSERV))
			printf(sa.ss_family == AF_INET6 ? "listening on %s://[%s]:%s/\n" : "listening on %s://%s:%s/\n",
			       scheme, h, p);
	}
	fflush(stdout);
	return 0;
}

static int srv_usage(const char *name, int status)
{
	fprintf(status ? stderr : stdout,
	        "usage: %s --port PORT [options]\n"
	        "  --port PORT           TCP port (0 picks a free one, printed on stdout)\n"
	        "  --host NAME           listen on every address NAME resolves to (localhost:\n"
	        "                        127.0.0.1 and ::1 where it names both); default: the\n"
	        "                        loopback of both families, 127.0.0.1 and ::1; :: for\n"
	        "                        every address of both families, 0.0.0.0 for IPv4 only\n"
	        "  --deflate             agree to permessage-deflate, with context takeover\n"
	        "  --deflate-low-memory  the same without context takeover, 9-bit windows,\n"
	        "                        memLevel 2 and one shared compressor\n"
	        "  --idle-timeout S      close (1001) after S s with no byte moving either way\n"
	        "                        (default 60; 0: never)\n"
	        "  --ping-interval S     ping after S s with no byte moving either way; drop after\n"
	        "                        S s more without an answer or our output moving (default 30;\n"
	        "                        0: never)\n"
	        "  --write-timeout S     drop a peer that reads none of its output for S s (default 30)\n"
	        "  --max-conns N         refuse connections beyond N (default: the fd limit minus 32)\n"
	        "  --token SECRET        accept only requests with Authorization: Bearer SECRET or\n"
	        "                        ?token=SECRET in the URL; 401 for the others\n"
	        "  --origin URL          refuse (403) a request whose Origin header is present and\n"
	        "                        not URL (e.g. https://example.com), so that another site's\n"
	        "                        page cannot connect through its visitors' browsers\n"
#ifdef WITH_TLS
	        "  --tls-cert FILE       serve wss:// with this PEM certificate chain\n"
	        "  --tls-key FILE        and this PEM key\n"
#endif
	        , name);
	return status;
}

/* Parses the command line, sets srv up, listens (srv.lfd) and prints the
 * addresses. Returns 0, -1 on errors, -2 on usage errors (-3 after --help). */
static int srv_setup(int argc, char **argv, const char *name)
{
	const char *host = NULL, *port = NULL, *cert = NULL, *key = NULL;
	int i, deflate = 0;
	double idle = 60, ping = 30, wr = 30;

	srv.max_conns = -1;
	for (i = 1; i < argc; i++) {
		const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
		char *e = "";
		if (!strcmp(a, "--deflate") || !strcmp(a, "--deflate-low-memory"))
			deflate = a[9] ? 2 : 1;
		else if (!strcmp(a, "--help") || !strcmp(a, "-h"))
			return srv_usage(name, 0), -3;
		else if (!v)
			return srv_usage(name, 2), -2;
		else if (i++, !strcmp(a, "--port"))
			port = v;
		else if (!strcmp(a, "--host"))
			host = v;
		else if (!strcmp(a, "--tls-cert"))
			cert = v;
		else if (!strcmp(a, "--tls-key"))
			key = v;
		else if (!strcmp(a, "--idle-timeout"))
			idle = strtod(v, &e);
		else if (!strcmp(a, "--ping-interval"))
			ping = strtod(v, &e);
		else if (!strcmp(a, "--write-timeout"))
			wr = strtod(v, &e);
		else if (!strcmp(a, "--max-conns"))
			srv.max_conns = (int)strtol(v, &e, 10);
		else if (!strcmp(a, "--token"))
			srv_token = v, e = *v ? "" : "x";
		else if (!strcmp(a, "--origin"))
			srv_origin = v, e = *v ? "" : "x";
		else
			e = "x";
		if (*e || idle < 0 || ping < 0 || wr < 0)
			return srv_usage(name, 2), -2;
	}
	if (!port || !cert != !key)
		return srv_usage(name, 2), -2;
	if (ad_sock_init())
		return fprintf(stderr, "%s: cannot set up sockets\n", name), -1;
	ad_loop_init(&srv.loop);
	srv.spare = srv_spare_open();
	srv.fd_limit = srv_fd_limit();
	if (srv.max_conns < 0) /* an explicit --max-conns is taken as it is (EMFILE is handled too) */
		srv.max_conns = srv.fd_limit > 64 ? srv.fd_limit - 32 : srv.fd_limit / 2;
	srv.opts = (ad_opts){ srv_on_event, 256 * 1024, 5000, (int)(idle * 1000), (int)(ping * 1000),
	                      (int)(ping * 1000), 5000, (int)(wr * 1000), NULL };
	ws_config_init(&srv.cfg, WS_ROLE_SERVER);
	srv.cfg.max_message = srv.cfg.max_frame = MAX_MESSAGE;
	if (deflate && !ws_deflate_available())
		return fprintf(stderr, "%s: libws was built without permessage-deflate\n", name), -1;
	if (deflate) {
		ws_deflate_config_init(&srv.dcfg);
		srv.dcfg.alloc.alloc = srv_alloc; /* zlib's memory: the only allocation libws makes */
		srv.dcfg.alloc.free = srv_free;
		srv.dcfg.inflate_buf = srv_inflated;
		srv.dcfg.inflate_cap = sizeof srv_inflated;
		if (deflate == 2) { /* idle connections then hold no zlib memory (see deflate.h) */
			srv.dcfg.server_no_context_takeover = srv.dcfg.client_no_context_takeover = 1;
			srv.dcfg.server_max_window_bits = srv.dcfg.client_max_window_bits = 9;
			srv.dcfg.mem_level = 2;
			if (ws_deflate_shared_new(&srv.dcfg, &srv.dcfg.shared) != WS_OK)
				return fprintf(stderr, "%s: no memory for the shared compressor\n", name), -1;
		}
		srv.cfg.deflate = &srv.dcfg;
	}
#ifdef WITH_TLS
	if (cert && !(srv.tls = tls_server_new(cert, key, name)))
		return -1;
#else
	if (cert)
		return fprintf(stderr, "%s: built without TLS (-DWITH_TLS)\n", name), -1;
#endif
	return srv_listen(host, port, cert ? "wss" : "ws", name);
}

#endif
