/* echo-server-poll: the adapter core (adapter.c) on plain poll(): portable
 * POSIX, no epoll, and Windows (WSAPoll; ad_sock.h has the differences).
 * Same behaviour and options as echo-server; poll() costs O(connections) per
 * wake-up, so this one is for a few thousand at most.
 *
 * Build alone: cc echo_server_poll.c adapter.c ad_loop.c ad_policy.c ad_socket.c $(pkg-config --cflags --libs libws)
 * (with -DWITH_TLS tls.c and -lmbedtls -lmbedx509 for --tls-cert/--tls-key)
 * Windows (mingw-w64): the same files, and -lws2_32; see docs/adapters.md. */
#define _GNU_SOURCE
#include "server_common.h" /* first: ad_sock.h's winsock2.h before windows.h */
#include "adapter.h"
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static ad_conn **conns;      /* conns[i] is polled in pfd[base + i] */
static struct pollfd *pfd;   /* [0] the wake-up socket, [1, base) the listeners */
static int n, base;
static ad_fd wake;

static void on_signal(int sig)
{
	(void)sig;
	send(wake, "", 1, 0); /* the loop sees it as readable data */
}

/* Signals reach the loop through a UDP socket connected to itself on
 * loopback: the handler sends it a byte. A pipe would do on POSIX, but
 * WSAPoll waits on sockets only; a connected UDP socket takes datagrams
 * from its own address alone. */
static ad_fd wake_socket(void)
{
	struct sockaddr_in a;
	socklen_t len = sizeof a;
	ad_fd s = socket(AF_INET, SOCK_DGRAM, 0);

	memset(&a, 0, sizeof a);
	a.sin_family = AF_INET;
	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (s != AD_BADFD && (bind(s, (struct sockaddr *)&a, sizeof a) || getsockname(s, (struct sockaddr *)&a, &len) ||
	                      connect(s, (struct sockaddr *)&a, sizeof a) || ad_sock_nonblock(s))) {
		ad_sock_close(s);
		s = AD_BADFD;
	}
	return s;
}

static void destroy(int i)
{
	ad_conn *a = conns[i];

	if (a->err)
		srv_log("echo-server: fd %d: %s\n", (int)pfd[base + i].fd, ws_status_str(a->err));
	else if (a->why && strcmp(a->why, "connection reset"))
		srv_log("echo-server: dropped connection %d: %s\n", (int)pfd[base + i].fd, a->why);
	srv_transport_free(&a->t);
	ad_sock_close(pfd[base + i].fd);
	ad_free(a);
	free(a);
	conns[i] = conns[--n]; /* the last one takes its place */
	pfd[base + i] = pfd[base + n];
}

int main(int argc, char **argv)
{
	int i, l, stopping = 0;
	ad_fd fd;

	if ((i = srv_setup(argc, argv, "echo-server")) < 0)
		return i == -3 ? 0 : i == -2 ? 2 : 1;
	base = 1 + srv.nlisten;
	conns = calloc((size_t)srv.max_conns + 1, sizeof *conns);
	pfd = calloc((size_t)srv.max_conns + 1 + (size_t)base, sizeof *pfd);
	if (!conns || !pfd || (wake = wake_socket()) == AD_BADFD)
		return fprintf(stderr, "echo-server: no memory or no loopback socket\n"), 1;
	signal(SIGINT, on_signal);
	signal(SIGTERM, on_signal);
	pfd[0] = (struct pollfd){ wake, POLLIN, 0 };
	for (l = 1; l < base; l++)
		pfd[l] = (struct pollfd){ srv.lfd[l - 1], POLLIN, 0 };
	while (!stopping || n > 0) {
		int64_t next = -1, now = ad_now();

		for (i = 0; i < n; i++) { /* interest and the earliest deadline */
			unsigned w = ad_wants(conns[i]);
			int64_t d = ad_deadline(conns[i]);
			pfd[base + i].events = (short)((w & AD_READ ? POLLIN : 0) | (w & AD_WRITE ? POLLOUT : 0));
			if (d >= 0 && (next < 0 || d < next))
				next = d;
		}
		if (ad_poll(pfd, (size_t)(base + n), ad_timeout(next, now)) < 0 && ad_sock_errno() != EINTR)
			return fprintf(stderr, "echo-server: poll: %s\n", strerror(ad_sock_errno())), 1;
		ad_loop_wake(&srv.loop);
		now = ad_now();
		for (i = n - 1; i >= 0; i--) /* backwards: destroy() moves the last one here */
			if ((pfd[base + i].revents || (ad_deadline(conns[i]) >= 0 && ad_deadline(conns[i]) <= now)) &&
			    ad_io(conns[i]))
				destroy(i);
		for (l = 1; l < base; l++)
			while ((pfd[l].revents & POLLIN) && (fd = srv_accept(pfd[l].fd, n)) != AD_BADFD) {
				if (!(conns[n] = calloc(1, sizeof **conns)) || srv_conn_init(conns[n], fd) != WS_OK) {
					free(conns[n]);
					ad_sock_close(fd);
					continue;
				}
				pfd[base + n] = (struct pollfd){ fd, POLLIN, 0 };
				n++;
			}
		if (pfd[0].revents & POLLIN) {
			char c;
			if (stopping++ || recv(wake, &c, 1, 0) < 0)
				break; /* a second signal: exit now */
			fprintf(stderr, "echo-server: shutting down (%d connections)\n", n);
			srv_close_listeners();
			memmove(pfd + 1, pfd + base, (size_t)n * sizeof *pfd); /* the listeners leave the set */
			base = 1;
			for (i = n - 1; i >= 0; i--) /* close 1001 to everyone, bounded by close_ms */
				if (ws_conn_state(&conns[i]->ws) == WS_STATE_HANDSHAKE)
					conns[i]->why = "shutdown", destroy(i);
				else
					ad_close(conns[i], WS_CLOSE_GOING_AWAY, "server shutting down", 20);
		}
	}
	return 0;
}
