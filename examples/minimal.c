/* minimal: a WebSocket echo server on libws alone, plain sockets and poll().
 *   cc minimal.c $(pkg-config --cflags --libs libws) && ./a.out 9001
 * Listens on 127.0.0.1:argv[1] (9001 if absent; 0 picks a free port), echoes
 * text and binary messages chunk by chunk as they arrive, answers pings and the
 * close handshake. A real server adds what echo_server_poll.c (with adapter.c)
 * has: deadlines for idle, slow and half-open peers, limits on connections and
 * memory, TLS, permessage-deflate, checks of Origin or a token, logs, shutdown. */
#define _POSIX_C_SOURCE 200809L
#include <ws/ws.h>
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define MAXC 64      /* connections at once */
#define IN 16384     /* input bytes per connection */
#define OUT (2 * IN) /* output bytes per connection */

struct conn {
	int fd; /* -1: a free slot */
	ws_conn ws;
	size_t in_len, out_len;
	uint8_t in[IN], out[OUT];
};

/* Turns input into output, one event at a time, while the output has room for the
 * most an event can need; keeps what ws_conn_recv() did not consume. 0 or -1. */
static int handle(struct conn *c)
{
	size_t off = 0, used, n, cap;
	ws_event ev;
	int rc;

	while (off < c->in_len && (cap = OUT - c->out_len) >= c->in_len - off + 512) {
		uint8_t *out = c->out + c->out_len;
		rc = ws_conn_recv(&c->ws, c->in + off, c->in_len - off, &used, &ev);
		off += used, n = 0;
		if (rc < 0) /* the peer broke a rule: a close frame or HTTP error says which */
			rc = ws_conn_fail(&c->ws, out, cap, &n), off = c->in_len;
		else if (ev.type == WS_EV_REQUEST) /* look at ev.http (target, origin) here */
			rc = ws_conn_accept(&c->ws, NULL, out, cap, &n);
		else if (ev.type == WS_EV_TEXT || ev.type == WS_EV_BINARY)
			rc = ws_conn_send(&c->ws, !(ev.flags & WS_EVF_MSG_BEGIN) ? WS_OP_CONTINUATION :
			                  ev.type == WS_EV_TEXT ? WS_OP_TEXT : WS_OP_BINARY,
			                  ev.flags & WS_EVF_MSG_END ? 0 : WS_SEND_MORE, ev.data, ev.len, out, cap, &n);
		else if (ev.flags & WS_EVF_REPLY) /* the pong to a ping, the echo of a close */
			rc = ws_conn_reply(&c->ws, &ev, out, cap, &n);
		else if (ev.type == WS_EV_NONE && used == 0)
			break; /* an incomplete frame or head: wait for more bytes */
		if (rc < 0)
			return -1;
		c->out_len += n;
	}
	memmove(c->in, c->in + off, c->in_len - off);
	c->in_len -= off;
	return 0;
}

/* Reads, handles and writes what poll() allows; returns 1 to hang up. */
static int step(struct conn *c, short revents)
{
	ssize_t r;

	if ((revents & (POLLIN | POLLHUP | POLLERR)) && c->in_len < IN) {
		if ((r = recv(c->fd, c->in + c->in_len, IN - c->in_len, 0)) <= 0)
			return r == 0 || (errno != EAGAIN && errno != EINTR); /* end of stream, error */
		c->in_len += (size_t)r;
	}
	for (;;) { /* until the input is used up or the socket is full */
		if (handle(c))
			return 1;
		if (c->out_len == 0)
			return ws_conn_should_close_transport(&c->ws);
		if ((r = send(c->fd, c->out, c->out_len, MSG_NOSIGNAL)) < 0)
			return errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR;
		memmove(c->out, c->out + r, c->out_len - (size_t)r);
		c->out_len -= (size_t)r;
	}
}

int main(int argc, char **argv)
{
	struct sockaddr_in sa = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK),
	                          .sin_port = htons((uint16_t)atoi(argc > 1 ? argv[1] : "9001")) };
	socklen_t sl = sizeof sa;
	struct pollfd pfd[MAXC + 1];
	struct conn *cs = calloc(MAXC, sizeof *cs);
	ws_config cfg; /* shared by every connection; a server needs no random numbers */
	int lfd = socket(AF_INET, SOCK_STREAM, 0), one = 1, fd, i, f;

	setsockopt(lfd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
	if (!cs || lfd < 0 || bind(lfd, (struct sockaddr *)&sa, sizeof sa) || listen(lfd, 64) ||
	    getsockname(lfd, (struct sockaddr *)&sa, &sl))
		return perror("minimal"), 1;
	fprintf(stderr, "listening on ws://127.0.0.1:%d/\n", ntohs(sa.sin_port));
	ws_config_init(&cfg, WS_ROLE_SERVER);
	for (i = 0; i < MAXC; i++)
		cs[i].fd = -1;
	for (;;) {
		for (f = 0; f < MAXC && cs[f].fd >= 0; f++)
			; /* a free slot; with none, new connections wait in the listen backlog */
		pfd[0] = (struct pollfd){ lfd, f < MAXC ? POLLIN : 0, 0 };
		for (i = 0; i < MAXC; i++) /* poll() passes over the free slots' -1 */
			pfd[i + 1] = (struct pollfd){ cs[i].fd, (short)((cs[i].in_len < IN ? POLLIN : 0) |
			                                                (cs[i].out_len ? POLLOUT : 0)), 0 };
		poll(pfd, MAXC + 1, -1); /* on EINTR every revents stays 0 */
		if ((pfd[0].revents & POLLIN) && (fd = accept(lfd, NULL, NULL)) >= 0) {
			fcntl(fd, F_SETFL, O_NONBLOCK);
			ws_conn_init(&cs[f].ws, sizeof cs[f].ws, &cfg); /* WS_OK: cfg is valid */
			cs[f].fd = fd, cs[f].in_len = cs[f].out_len = 0;
		}
		for (i = 0; i < MAXC; i++)
			if (cs[i].fd >= 0 && pfd[i + 1].revents && step(&cs[i], pfd[i + 1].revents))
				close(cs[i].fd), ws_conn_release(&cs[i].ws), cs[i].fd = -1; /* hang up */
	}
}
