/* h2-server: WebSocket echo over HTTP/2 (RFC 8441) and HTTP/1.1 on one TLS
 * port, on epoll. ALPN picks the protocol: "h2" runs an nghttp2 session
 * (h2_ws.c) whose extended CONNECTs to /echo are WebSockets; "http/1.1" (or
 * no ALPN) runs the adapter core and libws's own upgrade handshake, as
 * echo-server does. Both serve a small page at GET /, so that a browser that
 * loaded it holds an HTTP/2 connection its WebSockets can share.
 *
 * Options: those of echo-server (--port, --tls-cert, --tls-key, --deflate,
 * ...) and --no-connect-protocol (tests: do not send
 * SETTINGS_ENABLE_CONNECT_PROTOCOL). Logs each WebSocket on stderr with its
 * transport: "ws conn=N h2 stream=S ..." or "ws conn=N http/1.1 ...".
 *
 * Build: see demos/demos.mk (the adapter's files and tls.c from examples/,
 * with -Iexamples; libnghttp2, -lmbedtls -lmbedx509). */
#define _GNU_SOURCE
#include "h2_ws.h"
#include "srv_epoll.h" /* and server_common.h */

#define WS_PATH "/echo"
#define TLS_HANDSHAKE_MS 5000

enum { K_TLS, K_H1, K_H2 };

struct conn {
	ad_conn a;       /* http/1.1 (first: on_event gets &a) */
	int kind, fd, id;
	unsigned events;
	ad_transport t;  /* the TLS session (a.t is a copy once K_H1) */
	h2_conn *h2;
	int64_t start;
};

static const char page[] =
	"<!doctype html><meta charset=utf-8><title>libws over HTTP/2</title>\n"
	"<p>WebSocket echo at <code>" WS_PATH "</code>, over HTTP/2 (RFC 8441) or HTTP/1.1.</p>\n";
static const char *const protocols[] = { "echo", "chat", NULL };
static const char *const alpn[] = { "h2", "http/1.1", NULL };
static ws_config h2_cfg;
static h2_opts h2o;
static ad_opts h1o;
static struct conn **byfd;
static int ep, maxfd, nconns, next_id, shutting_down;
static int64_t next_wake = -1;

static int h1_on_event(ad_conn *a, ws_event *ev)
{
	struct conn *c = (struct conn *)a; /* a is its first member */

	if (ev->type == WS_EV_REQUEST) {
		fprintf(stderr, "h2-server: ws conn=%d http/1.1 open path=%.*s\n", c->id, (int)ev->http.target.len,
		        ev->http.target.ptr);
		if (!srv_is(ev->http.target, WS_PATH)) {
			uint8_t *p = ad_reserve(a, 256);
			size_t n = 0;
			int rc = p ? ws_conn_reject(&a->ws, 404, NULL, NULL, 0, p, 256, &n) : WS_E_ALLOC;
			ad_commit(a, n);
			return rc != WS_OK;
		}
	}
	if (ev->type == WS_EV_CLOSE)
		fprintf(stderr, "h2-server: ws conn=%d http/1.1 closed code=%u\n", c->id, ev->code);
	return srv_on_event(a, ev);
}

/* GET / over HTTP/1.1 (a request that asks for no upgrade): the page. */
static int h1_on_http_error(ad_conn *a, int status, ws_event *ev)
{
	char head[160];
	uint8_t *p;
	int n;

	if (status != WS_E_HTTP_UPGRADE || !srv_is(ev->http.target, "/"))
		return 0;
	n = snprintf(head, sizeof head, "HTTP/1.1 200 OK\r\nContent-Type: text/html; charset=utf-8\r\n"
	             "Content-Length: %zu\r\nConnection: close\r\n\r\n", sizeof page - 1);
	if (!(p = ad_reserve(a, (size_t)n + sizeof page)))
		return 0;
	memcpy(p, head, (size_t)n);
	memcpy(p + n, page, sizeof page - 1);
	ad_commit(a, (size_t)n + sizeof page - 1);
	return 1;
}

static void destroy(struct conn *c)
{
	if (c->kind == K_H1 && c->a.err)
		fprintf(stderr, "h2-server: conn=%d: %s\n", c->id, ws_status_str(c->a.err));
	if (c->kind == K_H2)
		h2_free(c->h2);
	if (c->kind == K_H1)
		ad_free(&c->a);
	byfd[c->fd] = NULL;
	srv_transport_free(&c->t);
	close(c->fd);
	free(c);
	nconns--;
}

/* The TLS handshake, then ALPN's choice. 0: go on; 1: finished. */
static int start(struct conn *c)
{
	const char *proto;
	int r;

	if (srv.tls) /* a step costs milliseconds: the wake-up counts them (adapter.h) */
		ad_loop_handshake(&srv.loop);
	r = srv.tls ? tls_handshake(&c->t) : 1;
	if (r == AD_AGAIN)
		return ad_now() >= c->start + TLS_HANDSHAKE_MS;
	if (r != 1) {
		fprintf(stderr, "h2-server: conn=%d: TLS: %s\n", c->id, tls_failure(&c->t) ? tls_failure(&c->t) : "failed");
		return 1;
	}
	proto = srv.tls ? tls_alpn(&c->t) : NULL;
	fprintf(stderr, "h2-server: conn=%d alpn=%s\n", c->id, proto ? proto : "none");
	if (proto && !strcmp(proto, "h2")) {
		if (!(c->h2 = h2_new(&h2o, c->t, c->id)))
			return 1;
		c->kind = K_H2;
		return h2_io(c->h2);
	}
	if (ad_init(&c->a, &srv.loop, &srv.cfg, &h1o, c->t) != WS_OK)
		return 1;
	c->kind = K_H1;
	return ad_io(&c->a);
}

/* When step() must run again at the latest, -1 for never. */
static int64_t conn_deadline(struct conn *c)
{
	if (c->kind == K_TLS)
		return c->start + TLS_HANDSHAKE_MS;
	return c->kind == K_H2 ? h2_deadline(c->h2) : ad_deadline(&c->a);
}

static void step(struct conn *c)
{
	unsigned w;
	int fin = c->kind == K_TLS ? start(c) : c->kind == K_H2 ? h2_io(c->h2) : ad_io(&c->a);

	if (fin) {
		destroy(c);
		return;
	}
	w = c->kind == K_TLS ? (c->t.ops->wants ? c->t.ops->wants(c->t.ctx) : AD_READ)
	  : c->kind == K_H2 ? h2_wants(c->h2) : ad_wants(&c->a);
	srv_epoll_want(ep, c->fd, c, w, &c->events);
	srv_wake_by(&next_wake, conn_deadline(c));
}

static void on_accept(int lfd)
{
	int fd;

	while ((fd = srv_accept(lfd, nconns)) >= 0) {
		struct conn *c = calloc(1, sizeof *c);

		if (!c || srv_transport_open(fd, &c->t)) {
			free(c);
			close(fd);
			continue;
		}
		c->fd = fd;
		c->id = ++next_id;
		c->start = ad_now();
		byfd[fd] = c;
		maxfd = fd > maxfd ? fd : maxfd;
		nconns++;
		srv_epoll_add(ep, fd, c, &c->events);
		step(c);
	}
}

/* SIGTERM: stop accepting, close 1001 on every WebSocket, GOAWAY. */
static void shut_down(void)
{
	int i;

	fprintf(stderr, "h2-server: shutting down (%d connections)\n", nconns);
	shutting_down = 1;
	srv_close_listeners();
	for (i = 0; i <= maxfd; i++) {
		struct conn *c = byfd[i];
		if (!c)
			continue;
		if (c->kind == K_TLS || (c->kind == K_H1 && ws_conn_state(&c->a.ws) == WS_STATE_HANDSHAKE)) {
			destroy(c);
			continue;
		}
		if (c->kind == K_H2)
			h2_shutdown(c->h2);
		else
			ad_close(&c->a, WS_CLOSE_GOING_AWAY, "server shutting down", 20);
		step(c);
	}
}

int main(int argc, char **argv)
{
	struct epoll_event evs[64];
	int sfd, i, n, signals = 0, no_cp = 0;
	int64_t stop_at = -1;

	for (i = n = 0; i < argc; i++) /* our own option; the rest are echo-server's */
		if (strcmp(argv[i], "--no-connect-protocol"))
			argv[n++] = argv[i];
		else
			no_cp = 1;
	argc = n;
	if ((i = srv_setup(argc, argv, "h2-server")) < 0)
		return i == -3 ? 0 : i == -2 ? 2 : 1;
	if (srv.tls && tls_server_alpn(srv.tls, alpn))
		return 1;
	h1o = srv.opts;
	h1o.on_event = h1_on_event;
	h1o.on_http_error = h1_on_http_error;
	h2_cfg = srv.cfg;
	h2_cfg.flags |= WS_CFG_START_OPEN; /* the handshake is HTTP/2's (RFC 8441) */
	/* The numbers h2_ws.h's memory bound is stated with. */
	h2o = (h2_opts){ .ws = &h2_cfg, .scheme = "https", .ws_path = WS_PATH, .protocols = protocols, .page = page,
	                 .max_streams = 32, .window = 64 * 1024, .high_water = 64 * 1024,
	                 .idle_ms = srv.opts.idle_ms, .close_ms = srv.opts.close_ms, .ping_ms = srv.opts.ping_ms,
	                 .write_ms = srv.opts.write_ms, .no_connect_protocol = no_cp };
	byfd = calloc((size_t)srv.fd_limit, sizeof *byfd);
	if (!byfd || (ep = srv_epoll_open(&sfd)) < 0)
		return perror("h2-server"), 1;
	while (!shutting_down || (nconns > 0 && ad_now() < stop_at)) {
		int64_t now = ad_now();
		int got_signal = 0;

		n = epoll_wait(ep, evs, 64, ad_timeout(shutting_down && (next_wake < 0 || stop_at < next_wake)
		                                       ? stop_at : next_wake, now));
		ad_loop_wake(&srv.loop);
		for (i = 0; i < n; i++) {
			struct signalfd_siginfo si;
			if (srv_listener(evs[i].data.ptr) >= 0)
				on_accept(srv_listener(evs[i].data.ptr));
			else if (evs[i].data.ptr == &srv_tag_signal)
				got_signal = read(sfd, &si, sizeof si) > 0;
			else
				step(evs[i].data.ptr);
		}
		if (got_signal && ++signals > 1)
			break;
		/* After the batch, as echo-server does: shut_down() frees
		 * connections (and closes listeners) that evs[] may point at. */
		if (got_signal) {
			shut_down();
			stop_at = ad_now() + 5000;
		}
		if (next_wake < 0 || ad_now() < next_wake)
			continue;
		next_wake = -1;
		now = ad_now();
		for (i = 0; i <= maxfd; i++) { /* due deadlines; the next one */
			struct conn *c = byfd[i];
			int64_t d = c ? conn_deadline(c) : -1;
			if (d >= 0 && d <= now)
				step(c);
			else
				srv_wake_by(&next_wake, d);
		}
		if (next_wake > 0 && next_wake < ad_now() + 10)
			next_wake = ad_now() + 10;
	}
	return 0;
}
