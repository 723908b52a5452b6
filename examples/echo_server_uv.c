/* echo-server-uv: the adapter core (adapter.c) on libuv. libuv's alloc and
 * read callbacks hand the bytes to the adapter (the transport's read returns
 * them); writes go out with uv_try_write, and what the socket does not take
 * at once becomes one uv_write request at a time (the adapter's queue waits
 * meanwhile: above its high-water mark reading stops). Same behaviour and
 * options as echo-server, without TLS (libuv owns the socket).
 *
 * Build alone: cc echo_server_uv.c adapter.c ad_loop.c ad_policy.c ad_socket.c $(pkg-config --cflags --libs libws libuv) */
#define _GNU_SOURCE
#include "adapter.h"
#include "server_common.h"
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <uv.h>

struct uconn {
	ad_conn a;
	uv_tcp_t tcp;
	uv_timer_t timer;
	uv_write_t wr;
	uv_shutdown_t sh;
	char *wbuf;               /* the bytes of the uv_write in flight, or NULL */
	const char *rx;           /* read but not yet taken by the adapter */
	size_t rx_len;
	char *keep;               /* rx copied out of the shared buffer, when it had to wait */
	int eof, reading, closing, handles;
	struct uconn *prev, *next;
};

static uv_loop_t *loop;
static uv_tcp_t listeners[SRV_MAX_LISTEN]; /* one per srv.lfd[i] */
static uv_signal_t sigint, sigterm;
static uv_prepare_t wake; /* each turn of libuv's loop is a wake-up of the adapter's */
static struct uconn *conns;
static int nconns, stopping;
static char rbuf[AD_RBUF]; /* libuv reads every connection's bytes here */

static long t_read(void *ctx, void *buf, size_t len)
{
	struct uconn *u = ctx;
	size_t n = u->rx_len < len ? u->rx_len : len;

	if (!n)
		return u->eof ? 0 : AD_AGAIN;
	memcpy(buf, u->rx, n);
	u->rx += n;
	u->rx_len -= n;
	return (long)n;
}

static void run(struct uconn *u);

static void on_written(uv_write_t *req, int status)
{
	struct uconn *u = req->data;
	free(u->wbuf);
	u->wbuf = NULL;
	if (status < 0)
		u->eof = 1; /* the next read reports the end */
	if (!u->closing)
		run(u);
}

static long t_write(void *ctx, const void *buf, size_t len)
{
	struct uconn *u = ctx;
	uv_buf_t b = uv_buf_init((char *)buf, (unsigned)len);
	int n;

	if (u->wbuf)
		return AD_AGAIN; /* one request in flight at a time */
	if ((n = uv_try_write((uv_stream_t *)&u->tcp, &b, 1)) == (int)len)
		return n;
	if (n < 0 && n != UV_EAGAIN)
		return AD_ERROR;
	n = n < 0 ? 0 : n;
	if (!(u->wbuf = malloc(len - (size_t)n)))
		return AD_ERROR;
	memcpy(u->wbuf, (const char *)buf + n, len - (size_t)n);
	b = uv_buf_init(u->wbuf, (unsigned)(len - (size_t)n));
	u->wr.data = u;
	return uv_write(&u->wr, (uv_stream_t *)&u->tcp, &b, 1, on_written) ? AD_ERROR : (long)len;
}

static unsigned t_wants(void *ctx) { return ((struct uconn *)ctx)->wbuf ? AD_WRITE : 0; }
static void on_shut(uv_shutdown_t *req, int status) { (void)req, (void)status; }
static void t_shutdown(void *ctx)
{
	struct uconn *u = ctx;
	uv_shutdown(&u->sh, (uv_stream_t *)&u->tcp, on_shut);
}

static void on_closed(uv_handle_t *h)
{
	struct uconn *u = h->data;

	if (--u->handles)
		return;
	free(u->keep);
	free(u);
	if (!--nconns && stopping) /* the last one: let the loop end */
		uv_close((uv_handle_t *)&sigint, NULL), uv_close((uv_handle_t *)&sigterm, NULL);
}

static void finish(struct uconn *u)
{
	uv_os_fd_t fd = -1;

	uv_fileno((uv_handle_t *)&u->tcp, &fd);
	if (u->a.err)
		srv_log("echo-server: fd %d: %s\n", (int)fd, ws_status_str(u->a.err));
	else if (u->a.why && strcmp(u->a.why, "connection reset"))
		srv_log("echo-server: dropped a connection: %s\n", u->a.why);
	u->closing = 1;
	ad_free(&u->a);
	*(u->prev ? &u->prev->next : &conns) = u->next;
	if (u->next)
		u->next->prev = u->prev;
	u->handles = 2;
	uv_close((uv_handle_t *)&u->tcp, on_closed);
	uv_close((uv_handle_t *)&u->timer, on_closed);
}

static void alloc_cb(uv_handle_t *h, size_t hint, uv_buf_t *b)
{
	(void)h, (void)hint;
	*b = uv_buf_init(rbuf, sizeof rbuf);
}

static void on_read(uv_stream_t *s, ssize_t n, const uv_buf_t *b)
{
	struct uconn *u = s->data;
	if (n > 0)
		u->rx = b->base, u->rx_len = (size_t)n;
	else if (n < 0) /* UV_EOF, or an error: the end either way */
		u->eof = 1;
	run(u);
}

static void on_timer(uv_timer_t *t) { run(t->data); }

/* The adapter's turn; then reading on or off, and the timer. */
static void run(struct uconn *u)
{
	unsigned w;
	int64_t d;

	if (ad_io(&u->a)) {
		finish(u);
		return;
	}
	if (u->rx_len && u->rx >= rbuf && u->rx < rbuf + sizeof rbuf) { /* rbuf is reused: copy what waits */
		char *k = malloc(u->rx_len);
		if (!k) {
			finish(u);
			return;
		}
		memcpy(k, u->rx, u->rx_len);
		free(u->keep);
		u->rx = u->keep = k;
	} else if (!u->rx_len && u->keep) {
		free(u->keep);
		u->keep = NULL;
	}
	w = ad_wants(&u->a);
	if ((w & AD_READ) && !u->rx_len && !u->eof && !u->reading)
		u->reading = !uv_read_start((uv_stream_t *)&u->tcp, alloc_cb, on_read);
	else if (u->reading && (!(w & AD_READ) || u->rx_len || u->eof))
		u->reading = 0, uv_read_stop((uv_stream_t *)&u->tcp);
	d = ad_deadline(&u->a);
	if (d < 0)
		uv_timer_stop(&u->timer);
	else
		uv_timer_start(&u->timer, on_timer, (uint64_t)ad_timeout(d, ad_now()), 0);
}

static void on_wake(uv_prepare_t *p)
{
	(void)p;
	ad_loop_wake(&srv.loop);
}

/* libuv accepts every pending connection itself; without TLS an accept and
 * an upgrade are cheap, so the per-wake-up accept bound is not needed here. */
static long t_unsent(void *ctx)
{
	uv_os_fd_t fd;
	return uv_fileno((uv_handle_t *)&((struct uconn *)ctx)->tcp, &fd) ? -1 : ad_unsent(fd);
}

static const ad_transport_ops uv_ops = { t_read, t_write, t_wants, t_shutdown, t_unsent, 0 };

static void on_connection(uv_stream_t *l, int status)
{
	struct uconn *u = calloc(1, sizeof *u);
	ad_transport t = { &uv_ops, u };

	if (status < 0 || !u) {
		free(u);
		return;
	}
	uv_tcp_init(loop, &u->tcp);
	uv_timer_init(loop, &u->timer);
	u->tcp.data = u->timer.data = u;
	nconns++;
	if ((u->next = conns))
		conns->prev = u;
	conns = u;
	if (uv_accept(l, (uv_stream_t *)&u->tcp) || nconns > srv.max_conns ||
	    ad_init(&u->a, &srv.loop, &srv.cfg, &srv.opts, t) != WS_OK) {
		u->a.why = nconns > srv.max_conns ? "at the connection cap" : NULL;
		finish(u);
		return;
	}
	uv_tcp_nodelay(&u->tcp, 1); /* small echoes go out now */
	run(u);
}

static void on_signal(uv_signal_t *s, int sig)
{
	struct uconn *u, *next;
	int i;

	(void)s, (void)sig;
	if (stopping++) /* a second signal: exit now */
		exit(0);
	fprintf(stderr, "echo-server: shutting down (%d connections)\n", nconns);
	for (i = 0; i < srv.nlisten; i++)
		uv_close((uv_handle_t *)&listeners[i], NULL); /* and the descriptor with it */
	if (!nconns)
		uv_close((uv_handle_t *)&sigint, NULL), uv_close((uv_handle_t *)&sigterm, NULL);
	for (u = conns; u; u = next) { /* close 1001 to everyone, bounded by close_ms */
		next = u->next;
		if (ws_conn_state(&u->a.ws) == WS_STATE_HANDSHAKE)
			u->a.why = "shutdown", finish(u);
		else
			ad_close(&u->a, WS_CLOSE_GOING_AWAY, "server shutting down", 20), run(u);
	}
}

int main(int argc, char **argv)
{
	int i = srv_setup(argc, argv, "echo-server");

	if (i < 0)
		return i == -3 ? 0 : i == -2 ? 2 : 1;
	loop = uv_default_loop();
	for (i = 0; i < srv.nlisten; i++)
		if (uv_tcp_init(loop, &listeners[i]) || uv_tcp_open(&listeners[i], srv.lfd[i]) ||
		    uv_listen((uv_stream_t *)&listeners[i], SOMAXCONN, on_connection))
			return fprintf(stderr, "echo-server: libuv setup failed\n"), 1;
	uv_prepare_init(loop, &wake);
	uv_prepare_start(&wake, on_wake);
	uv_unref((uv_handle_t *)&wake); /* the loop ends when the connections and signals do */
	uv_signal_init(loop, &sigint);
	uv_signal_init(loop, &sigterm);
	if (uv_signal_start(&sigint, on_signal, SIGINT) || uv_signal_start(&sigterm, on_signal, SIGTERM))
		return fprintf(stderr, "echo-server: libuv setup failed\n"), 1;
	return uv_run(loop, UV_RUN_DEFAULT);
}
