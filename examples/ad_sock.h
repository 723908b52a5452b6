/* ad_sock: the few places where Winsock differs from POSIX sockets, for the
 * plain socket transport (ad_socket.c) and the servers built on it. The rest
 * (socket, bind, listen, accept, recv, send, getaddrinfo, setsockopt) has the
 * same names and meaning on both, so the code around it has no #ifdef:
 *   ad_fd               int / SOCKET (ad_transport.h); AD_BADFD, not -1, marks
 *                       a failed call: a SOCKET is unsigned
 *   ad_sock_init()      once per process: ignore SIGPIPE / WSAStartup()
 *   ad_sock_errno()     the last socket call's error as an errno value:
 *                       errno / WSAGetLastError(), translated
 *   ad_sock_close()     close() / closesocket()
 *   ad_sock_nonblock()  fcntl(O_NONBLOCK) / ioctlsocket(FIONBIO)
 *   ad_poll()           poll() / WSAPoll() (sockets only there)
 *   AD_REUSEADDR        the option that lets a restarted server bind its port
 * Include it before other system headers: windows.h must come after
 * winsock2.h. */
#ifndef AD_SOCK_H
#define AD_SOCK_H

#include "ad_transport.h" /* ad_fd */
#include <errno.h>
#include <stddef.h>

#ifdef _WIN32
#include <winsock2.h>
#include <ws2tcpip.h>

#define AD_BADFD INVALID_SOCKET
#define MSG_NOSIGNAL 0 /* Winsock raises no SIGPIPE */
#define SHUT_WR SD_SEND
/* Windows rebinds a port in TIME_WAIT without help, and its SO_REUSEADDR
 * would let another program bind a port we listen on. */
#define AD_REUSEADDR SO_EXCLUSIVEADDRUSE

static inline int ad_sock_init(void)
{
	WSADATA wsa;
	return WSAStartup(MAKEWORD(2, 2), &wsa) ? -1 : 0;
}

/* The errors the adapter and the servers tell apart; the rest as EIO. */
static inline int ad_sock_errno(void)
{
	switch (WSAGetLastError()) {
	case WSAEWOULDBLOCK: return EWOULDBLOCK;
	case WSAEINTR: return EINTR;
	case WSAECONNABORTED: return ECONNABORTED;
	case WSAECONNRESET: return ECONNRESET;
	case WSAEMFILE: return EMFILE;
	case WSAENOBUFS: return ENOBUFS;
	case WSAEADDRINUSE: return EADDRINUSE;
	case WSAEADDRNOTAVAIL: return EADDRNOTAVAIL;
	case WSAEAFNOSUPPORT: return EAFNOSUPPORT;
	default: return EIO;
	}
}

static inline int ad_sock_close(ad_fd s) { return closesocket(s); }

static inline int ad_sock_nonblock(ad_fd s)
{
	u_long on = 1;
	return ioctlsocket(s, FIONBIO, &on) ? -1 : 0;
}

static inline int ad_poll(struct pollfd *p, size_t n, int ms) { return WSAPoll(p, (ULONG)n, ms); }

#else
#include <arpa/inet.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <signal.h>
#include <sys/socket.h>
#include <unistd.h>

#define AD_BADFD (-1)
#define AD_REUSEADDR SO_REUSEADDR

/* A write to a socket the peer closed must fail with EPIPE, not end the
 * process (MSG_NOSIGNAL covers ad_socket.c's own sends, not a TLS library's). */
static inline int ad_sock_init(void) { return signal(SIGPIPE, SIG_IGN) == SIG_ERR ? -1 : 0; }
static inline int ad_sock_errno(void) { return errno; }
static inline int ad_sock_close(ad_fd s) { return close(s); }

/* Also close-on-exec: a program we start must not hold our sockets open. */
static inline int ad_sock_nonblock(ad_fd s)
{
	return fcntl(s, F_SETFL, O_NONBLOCK) || fcntl(s, F_SETFD, FD_CLOEXEC) ? -1 : 0;
}

static inline int ad_poll(struct pollfd *p, size_t n, int ms) { return poll(p, (nfds_t)n, ms); }
#endif

#endif
