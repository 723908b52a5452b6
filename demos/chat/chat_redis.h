/* chat_redis: the chat server's link to Redis (hiredis async API), for
 * running several chat-server processes behind a load balancer.
 *
 * Two connections, both driven from the server's own epoll loop (no threads):
 * "sub" holds PSUBSCRIBE chat:room:* and brings every room's traffic in;
 * "cmd" runs the Lua scripts that append to history, keep presence counts and
 * PUBLISH. A script runs atomically, so the order in which Redis runs the
 * scripts of one room is the one order every instance delivers in, and a
 * joiner's history ends exactly where its live stream begins (the per-room
 * sequence number "seq" tells the two apart).
 *
 * Keys (all under "chat:"): seq:ROOM (counter; never goes backwards, see
 * publish_lua), hist:ROOM (list of the last N envelopes), from:ROOM (the seq
 * after which hist:ROOM is complete: a resuming client older than it missed
 * messages; these three expire --history-ttl after the room's last message), pres:ROOM (hash instance id -> that instance's local count),
 * alive:ID (set with a TTL, refreshed by a timer: the counts of an instance
 * that died without saying goodbye stop counting once it expires).
 * Channels: room:ROOM.
 *
 * Redis is "up" once both connections are established, the subscription is
 * confirmed and the scripts are loaded (then sent as EVALSHA). Whenever either breaks (or a command makes no progress for
 * CR_STALL_MS), both are dropped: the server goes back to local delivery and
 * cr_* retries with exponential backoff and jitter. */
#ifndef CHAT_REDIS_H
#define CHAT_REDIS_H

#include <stddef.h>
#include <stdint.h>

#define CR_STALL_MS 5000    /* a command unanswered this long: Redis is gone */
#define CR_ALIVE_MS 10000   /* alive:ID's TTL ... */
#define CR_REFRESH_MS 3000  /* ... refreshed this often */
#define CR_MAX_INFLIGHT 20000 /* commands queued or unanswered; beyond: refuse */

/* Parses HOST:PORT (HOST numeric, or a name: resolved at each connect, and
 * that resolution blocks) and
 * starts connecting. id: this instance's id (1 to 32 of [A-Za-z0-9_.-]).
 * history: how many envelopes each room keeps; ttl_ms: how long a room's
 * keys outlive its last message. 0 or -1 on a bad address. */
int cr_init(const char *hostport, const char *id, int epfd, int history, long long ttl_ms);
/* 1 while Redis carries the rooms (see above). */
int cr_up(void);
/* If ptr is one of ours (epoll data.ptr), handles the readiness and returns 1. */
int cr_event(void *ptr, uint32_t events);
/* When cr_tick() must run next (ad_now() time), -1 for never; cr_tick() runs
 * what is due: reconnects, the alive refresh, the stall check. */
int64_t cr_deadline(void);
void cr_tick(int64_t now);

/* A room message: env is a JSON object text; Redis adds "seq" (above floor,
 * the highest seq this instance has seen or given in the room) and the list
 * entry, and every instance (this one included) gets it through on_message.
 * -1 when Redis is down or too far behind (the caller decides). */
int cr_publish(const char *room, const char *env, long long floor);
/* Sets this instance's member count for room. With env (a presence envelope
 * without "count"), publishes it with the total count filled in. With
 * want_history, the reply brings the total and the room's history: when it
 * comes (or Redis goes away first: ok = 0) cr_on_joined(token, ...) runs.
 * -1 when Redis is down or too far behind. */
int cr_presence(const char *room, int local_count, const char *env, int want_history, uint64_t token);

/* At exit: deletes alive:ID (our counts stop counting at the next presence
 * change instead of when the TTL runs out) and waits up to ms for what is
 * queued, such as the presence changes of a shutdown, to be answered. */
void cr_close(int ms);

/* Implemented by the server. */
/* A publication of room, as Redis delivers it (env: NUL-terminated). */
void cr_on_message(const char *room, const char *env, size_t len);
/* A join's answer: total count, from (the history holds every message after
 * this seq; -1: unknown, nothing kept) and n history envelopes, oldest first.
 * ok = 0 when Redis went away before answering (the rest is then unset). */
void cr_on_joined(uint64_t token, int ok, long long count, long long from, const char *const *hist,
                  const size_t *lens, size_t n);
/* Redis came up (the server re-registers its presence) or went down. */
void cr_on_state(int up);

#endif
