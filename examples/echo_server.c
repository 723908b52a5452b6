/* echo-server: the adapter core (adapter.c) on epoll. Echoes every message
 * chunk by chunk (text as text, binary as binary), answers pings, echoes close
 * frames. --token SECRET refuses requests without it (401); --origin URL
 * refuses those whose Origin is present and another (403). Prints
 * "listening on ws://ADDR:PORT/" (port 0 picks one). SIGTERM/SIGINT: close
 * 1001 to everyone, exit once they answered or close_ms ran out.
 *
 * Build alone: cc echo_server.c adapter.c ad_loop.c ad_policy.c ad_socket.c $(pkg-config --cflags --libs libws)
 * (with -DWITH_TLS tls.c and -lmbedtls -lmbedx509 for --tls-cert/--tls-key) */
#define _GNU_SOURCE
#include "adapter.h"
#include "srv_epoll.h" /* and server_common.h */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

struct conn {
	ad_conn a; /* first: on_event gets &a */
	int fd;
	unsigned events;
};

static struct conn **byfd; /* connections by descriptor */
static int ep, maxfd, nconns, shutting_down;
static int64_t next_wake = -1;

static void destroy(struct conn *c)
{
	if (c->a.err) /* a protocol error: its close frame (or HTTP status) went out */
		srv_log("echo-server: fd %d: %s\n", c->fd, ws_status_str(c->a.err));
	else if (c->a.why && strcmp(c->a.why, "connection reset"))
		srv_log("echo-server: dropped connection %d: %s\n", c->fd, c->a.why);
	byfd[c->fd] = NULL;
	srv_transport_free(&c->a.t);
	close(c->fd);
	ad_free(&c->a);
	free(c);
	nconns--;
}

/* Runs the connection and re-arms epoll and the wake-up time after it. */
static void step(struct conn *c)
{
	if (ad_io(&c->a)) {
		destroy(c);
		return;
	}
	srv_epoll_want(ep, c->fd, c, ad_wants(&c->a), &c->events);
	srv_wake_by(&next_wake, ad_deadline(&c->a));
}

static void on_accept(int lfd)
{
	int fd;

	while ((fd = srv_accept(lfd, nconns)) >= 0) {
		struct conn *c = calloc(1, sizeof *c);

		if (!c || srv_conn_init(&c->a, fd) != WS_OK) {
			free(c);
			close(fd);
			continue;
		}
		c->fd = fd;
		byfd[fd] = c;
		maxfd = fd > maxfd ? fd : maxfd;
		nconns++;
		srv_epoll_add(ep, fd, c, &c->events);
		step(c); /* sets the handshake deadline */
	}
}

int main(int argc, char **argv)
{
	struct epoll_event evs[64];
	int sfd, i, n, signals = 0;

	if ((i = srv_setup(argc, argv, "echo-server")) < 0)
		return i == -3 ? 0 : i == -2 ? 2 : 1;
	byfd = calloc((size_t)srv.fd_limit, sizeof *byfd);
	if (!byfd || (ep = srv_epoll_open(&sfd)) < 0) {
		perror("echo-server");
		return 1;
	}
	while (!shutting_down || nconns > 0) {
		int64_t now = ad_now();
		int got_signal = 0;

		n = epoll_wait(ep, evs, 64, ad_timeout(next_wake, now));
		ad_loop_wake(&srv.loop);
		for (i = 0; i < n; i++) {
			struct signalfd_siginfo si;
			int lfd = srv_listener(evs[i].data.ptr);
			if (lfd >= 0)
				on_accept(lfd);
			else if (evs[i].data.ptr == &srv_tag_signal)
				got_signal = read(sfd, &si, sizeof si) > 0;
			else
				step(evs[i].data.ptr);
		}
		if (got_signal && ++signals > 1)
			break;
		if (got_signal) { /* stop accepting; close 1001 to everyone, bounded by close_ms */
			fprintf(stderr, "echo-server: shutting down (%d connections)\n", nconns);
			shutting_down = 1;
			srv_close_listeners();
			for (i = 0; i <= maxfd; i++)
				if (byfd[i] && ws_conn_state(&byfd[i]->a.ws) == WS_STATE_HANDSHAKE)
					byfd[i]->a.why = "shutdown", destroy(byfd[i]);
				else if (byfd[i]) /* written now: a queued frame alone wakes no one */
					ad_close(&byfd[i]->a, WS_CLOSE_GOING_AWAY, "server shutting down", 20),
					step(byfd[i]);
			next_wake = 0;
		}
		if (next_wake < 0 || ad_now() < next_wake)
			continue;
		/* A deadline is due: run the connections whose time has come, and
		 * find the next one. Not more than every 10 ms, so that 100k
		 * connections do not cost a scan each. */
		next_wake = -1;
		now = ad_now();
		for (i = 0; i <= maxfd; i++) {
			int64_t d = byfd[i] ? ad_deadline(&byfd[i]->a) : -1;
			if (d >= 0 && d <= now)
				step(byfd[i]);
			else
				srv_wake_by(&next_wake, d);
		}
		if (next_wake > 0 && next_wake < ad_now() + 10)
			next_wake = ad_now() + 10;
	}
	return 0;
}
