/* The epoll glue the Linux servers share (echo-server, and the chat and
 * HTTP/2 demos): one epoll set holding the listeners, a signalfd and the
 * connections, each connection's interest following what it wants. Header
 * only, like server_common.h, which it builds on. */
#ifndef SRV_EPOLL_H
#define SRV_EPOLL_H
#include "server_common.h"
#include <signal.h>
#include <sys/epoll.h>
#include <sys/signalfd.h>

/* epoll data of the signal descriptor; a listener's is &srv.lfd[i]. */
static char srv_tag_signal;

/* Blocks SIGINT and SIGTERM, which then arrive as data on *sfd, so that
 * shutdown happens in the loop; makes the epoll set with the listeners and
 * *sfd in it. Returns the epoll descriptor, -1 on failure (errno set). */
static inline int srv_epoll_open(int *sfd)
{
	struct epoll_event ev = { EPOLLIN, { 0 } };
	sigset_t sigs;
	int ep, i;

	sigemptyset(&sigs);
	sigaddset(&sigs, SIGINT);
	sigaddset(&sigs, SIGTERM);
	sigprocmask(SIG_BLOCK, &sigs, NULL);
	if ((*sfd = signalfd(-1, &sigs, SFD_NONBLOCK | SFD_CLOEXEC)) < 0 ||
	    (ep = epoll_create1(EPOLL_CLOEXEC)) < 0)
		return -1;
	for (i = 0; i < srv.nlisten; i++) {
		ev.data.ptr = &srv.lfd[i];
		epoll_ctl(ep, EPOLL_CTL_ADD, srv.lfd[i], &ev);
	}
	ev.data.ptr = &srv_tag_signal;
	epoll_ctl(ep, EPOLL_CTL_ADD, *sfd, &ev);
	return ep;
}

/* Adds a new connection's fd, readable first; *events remembers the mask. */
static inline void srv_epoll_add(int ep, int fd, void *conn, unsigned *events)
{
	struct epoll_event ev = { EPOLLIN, { .ptr = conn } };

	*events = ev.events;
	epoll_ctl(ep, EPOLL_CTL_ADD, fd, &ev);
}

/* Points fd's interest at wants (AD_READ, AD_WRITE); no system call when
 * it is unchanged. */
static inline void srv_epoll_want(int ep, int fd, void *conn, unsigned wants, unsigned *events)
{
	unsigned w = (wants & AD_READ ? EPOLLIN : 0) | (wants & AD_WRITE ? EPOLLOUT : 0);

	if (w != *events) {
		struct epoll_event ev = { w, { .ptr = conn } };
		epoll_ctl(ep, EPOLL_CTL_MOD, fd, &ev);
		*events = w;
	}
}

/* Brings *next_wake forward to deadline d (-1: none). */
static inline void srv_wake_by(int64_t *next_wake, int64_t d)
{
	if (d >= 0 && (*next_wake < 0 || d < *next_wake))
		*next_wake = d;
}
#endif
