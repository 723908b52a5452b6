/* echo-server-poll: the adapter core (adapter.c) on plain poll(): portable
 * POSIX, no epoll. Same behaviour and options as echo-server; poll() costs
 * O(connections) per wake-up, so this one is for a few thousand at most.
 *
 * Build alone: cc echo_server_poll.c adapter.c ad_loop.c ad_policy.c ad_socket.c $(pkg-config --cflags --libs libws)
 * (with -DWITH_TLS tls.c and -lmbedtls -lmbedx509 for --tls-cert/--tls-key) */
#define _GNU_SOURCE
#include "adapter.h"
#include "server_common.h"
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static ad_conn **conns;      /* conns[i] is polled in pfd[base + i] */
static struct pollfd *pfd;   /* [0] the signal pipe, [1, base) the listeners */
static int n, base, sigpipe[2];

static void on_signal(int sig)
{
	(void)sig;
	(void)!write(sigpipe[1], "", 1); /* the loop sees it as readable data */
}

static void destroy(int i)
{
	ad_conn *a = conns[i];

	if (a->err)
		srv_log("echo-server: fd %d: %s\n", pfd[base + i].fd, ws_status_str(a->err));
	else if (a->why && strcmp(a->why, "connection reset"))
		srv_log("echo-server: dropped connection %d: %s\n", pfd[base + i].fd, a->why);
	srv_transport_free(&a->t);
	close(pfd[base + i].fd);
	ad_free(a);
	free(a);
	conns[i] = conns[--n]; /* the last one takes its place */
	pfd[base + i] = pfd[base + n];
}

int main(int argc, char **argv)
{
	int fd, i, l, stopping = 0;
	struct sigaction sa;

	if ((i = srv_setup(argc, argv, "echo-server")) < 0)
		return i == -3 ? 0 : i == -2 ? 2 : 1;
	base = 1 + srv.nlisten;
	conns = calloc((size_t)srv.max_conns + 1, sizeof *conns);
	pfd = calloc((size_t)srv.max_conns + 1 + (size_t)base, sizeof *pfd);
	if (!conns || !pfd || pipe(sigpipe))
		return perror("echo-server"), 1;
	fcntl(sigpipe[1], F_SETFL, O_NONBLOCK);
	memset(&sa, 0, sizeof sa);
	sa.sa_handler = on_signal;
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	pfd[0] = (struct pollfd){ sigpipe[0], POLLIN, 0 };
	for (l = 1; l < base; l++)
		pfd[l] = (struct pollfd){ srv.lfd[l - 1], POLLIN, 0 };
	while (!stopping || n > 0) {
		int64_t wake = -1, now = ad_now();

		for (i = 0; i < n; i++) { /* interest and the earliest deadline */
			unsigned w = ad_wants(conns[i]);
			int64_t d = ad_deadline(conns[i]);
			pfd[base + i].events = (short)((w & AD_READ ? POLLIN : 0) | (w & AD_WRITE ? POLLOUT : 0));
			if (d >= 0 && (wake < 0 || d < wake))
				wake = d;
		}
		if (poll(pfd, (nfds_t)(base + n), ad_timeout(wake, now)) < 0 && errno != EINTR)
			return perror("echo-server: poll"), 1;
		ad_loop_wake(&srv.loop);
		now = ad_now();
		for (i = n - 1; i >= 0; i--) /* backwards: destroy() moves the last one here */
			if ((pfd[base + i].revents || (ad_deadline(conns[i]) >= 0 && ad_deadline(conns[i]) <= now)) &&
			    ad_io(conns[i]))
				destroy(i);
		for (l = 1; l < base; l++)
			while ((pfd[l].revents & POLLIN) && (fd = srv_accept(pfd[l].fd, n)) >= 0) {
				if (!(conns[n] = calloc(1, sizeof **conns)) || srv_conn_init(conns[n], fd) != WS_OK) {
					free(conns[n]);
					close(fd);
					continue;
				}
				pfd[base + n] = (struct pollfd){ fd, POLLIN, 0 };
				n++;
			}
		if (pfd[0].revents & POLLIN) {
			char c;
			if (stopping++ || read(sigpipe[0], &c, 1) < 0)
				break; /* a second signal: exit now */
			fprintf(stderr, "echo-server: shutting down (%d connections)\n", n);
			srv_close_listeners();
			for (l = 1; l < base; l++) /* poll() passes over negative descriptors */
				pfd[l].fd = -1;
			for (i = n - 1; i >= 0; i--) /* close 1001 to everyone, bounded by close_ms */
				if (ws_conn_state(&conns[i]->ws) == WS_STATE_HANDSHAKE)
					conns[i]->why = "shutdown", destroy(i);
				else
					ad_close(conns[i], WS_CLOSE_GOING_AWAY, "server shutting down", 20);
		}
	}
	return 0;
}
