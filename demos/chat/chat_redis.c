/* chat_redis: see chat_redis.h. Written against hiredis 0.14 (Debian 12's
 * libhiredis-dev) and later: only redisAsyncConnect, the ev.* hooks,
 * redisAsyncHandleRead/Write and redisAsyncCommand are used. */
#define _GNU_SOURCE
#include "chat_redis.h"
#include "adapter.h"
#include <hiredis/async.h>
#include <hiredis/hiredis.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <unistd.h>

/* One hiredis connection and what epoll waits for on its descriptor. */
struct link {
	redisAsyncContext *ac; /* NULL once hiredis has freed it (ev.cleanup) */
	uint32_t events;       /* registered with epoll; 0: not registered */
	int fd;
	int connected;
	const char *name;
};

enum { DOWN, CONNECTING, UP };

static struct link sub = { NULL, 0, -1, 0, "subscriber" }, cmd = { NULL, 0, -1, 0, "commands" };
static struct {
	char host[256], id[33];
	char sha_publish[41], sha_presence[41]; /* SCRIPT LOAD's answers */
	int port, ep, history, state, subscribed, scripts, backoff_ms;
	long inflight;          /* commands sent on cmd and not answered yet */
	long long ttl_ms;       /* a room's keys outlive its last message this long */
	int64_t retry_at, connect_by, refresh_at, progress_at;
	unsigned rnd;
} cr;

/* The envelope gets its fields from Redis by splicing: '{' + '"seq":N,' +
 * the rest. The server only ever sends objects (they start with '{'), and
 * splicing keeps the script free of a JSON encoder that would reorder keys. */
/* KEYS: seq:ROOM, hist:ROOM, from:ROOM. ARGV: envelope, history length,
 * channel, floor (the highest seq the calling instance has seen in the room),
 * TTL in ms. The sequence never goes backwards: a missing counter (a new room,
 * a Redis restarted empty, keys expired) starts at Redis's clock in
 * microseconds, above any seq given before, and never below the caller's
 * floor. from:ROOM is the seq after which the list holds every message: the
 * newest one trimmed, or where the counter (re)started or jumped to a floor
 * (messages an instance delivered locally while Redis was away are not here).
 * string.format('%d') because Lua's tostring keeps only 14 digits. */
static const char publish_lua[] =
	"local seq = tonumber(redis.call('GET', KEYS[1]) or '0') "
	"if seq == 0 then "
	"  local t = redis.call('TIME') "
	"  seq = tonumber(t[1]) * 1000000 + tonumber(t[2]) "
	"  redis.call('DEL', KEYS[2]) "
	"  redis.call('SET', KEYS[3], string.format('%d', seq)) "
	"end "
	"local floor = tonumber(ARGV[4]) "
	"if floor > seq then seq = floor redis.call('SET', KEYS[3], string.format('%d', seq)) end "
	"seq = seq + 1 "
	"local s = string.format('%d', seq) "
	"redis.call('SET', KEYS[1], s, 'PX', ARGV[5]) "
	"local env = '{\"seq\":' .. s .. ',' .. string.sub(ARGV[1], 2) "
	"local n = redis.call('RPUSH', KEYS[2], env) "
	"if n > tonumber(ARGV[2]) then "
	"  local gone = redis.call('LINDEX', KEYS[2], -tonumber(ARGV[2]) - 1) "
	"  redis.call('SET', KEYS[3], string.match(gone, '^{\"seq\":(%d+)')) "
	"  redis.call('LTRIM', KEYS[2], -tonumber(ARGV[2]), -1) "
	"end "
	"redis.call('PEXPIRE', KEYS[2], ARGV[5]) "
	"redis.call('PEXPIRE', KEYS[3], ARGV[5]) "
	"redis.call('PUBLISH', ARGV[3], env) "
	"return seq";
/* KEYS[1] pres:ROOM, KEYS[2] hist:ROOM, KEYS[3] from:ROOM. ARGV: id, local
 * count, envelope or "", channel, alive key prefix, history wanted (0/1).
 * Dead instances (alive key expired) are dropped from the hash as they are
 * met. Returns {total, from (-1: unknown), history...}: the history read in
 * the same atomic step as the presence change, so the joiner's live stream
 * starts right after it. */
static const char presence_lua[] =
	"if tonumber(ARGV[2]) > 0 then redis.call('HSET', KEYS[1], ARGV[1], ARGV[2]) "
	"else redis.call('HDEL', KEYS[1], ARGV[1]) end "
	"local total, h = 0, redis.call('HGETALL', KEYS[1]) "
	"for i = 1, #h, 2 do "
	"  if redis.call('EXISTS', ARGV[5] .. h[i]) == 1 then total = total + tonumber(h[i + 1]) "
	"  else redis.call('HDEL', KEYS[1], h[i]) end "
	"end "
	"if ARGV[3] ~= '' then "
	"  redis.call('PUBLISH', ARGV[4], '{\"count\":' .. total .. ',' .. string.sub(ARGV[3], 2)) end "
	"local out = { total, tonumber(redis.call('GET', KEYS[3]) or '-1') } "
	"if ARGV[6] == '1' then for _, e in ipairs(redis.call('LRANGE', KEYS[2], 0, -1)) do out[#out + 1] = e end end "
	"return out";

static void drop(const char *why);

/* The event-library hooks hiredis calls (privdata: the link). */
static void ev_set(struct link *l, uint32_t want)
{
	struct epoll_event e = { want, { .ptr = l } };

	if (want == l->events)
		return;
	if (!l->events)
		epoll_ctl(cr.ep, EPOLL_CTL_ADD, l->fd, &e);
	else if (!want)
		epoll_ctl(cr.ep, EPOLL_CTL_DEL, l->fd, &e);
	else
		epoll_ctl(cr.ep, EPOLL_CTL_MOD, l->fd, &e);
	l->events = want;
}
static void ev_add_read(void *p) { struct link *l = p; ev_set(l, l->events | EPOLLIN); }
static void ev_del_read(void *p) { struct link *l = p; ev_set(l, l->events & ~(uint32_t)EPOLLIN); }
static void ev_add_write(void *p) { struct link *l = p; ev_set(l, l->events | EPOLLOUT); }
static void ev_del_write(void *p) { struct link *l = p; ev_set(l, l->events & ~(uint32_t)EPOLLOUT); }
/* hiredis frees the context right after this: forget it. */
static void ev_cleanup(void *p)
{
	struct link *l = p;

	ev_set(l, 0);
	l->ac = NULL;
	l->connected = 0;
	l->fd = -1;
}

int cr_event(void *ptr, uint32_t events)
{
	struct link *l = ptr;

	if (l != &sub && l != &cmd)
		return 0;
	/* Errors and hang-ups are found by the read (EOF or the socket error). */
	if (l->ac && (events & (EPOLLIN | EPOLLERR | EPOLLHUP)))
		redisAsyncHandleRead(l->ac);
	if (l->ac && (events & EPOLLOUT)) /* the read may have freed it */
		redisAsyncHandleWrite(l->ac);
	return 1;
}

int cr_up(void)
{
	return cr.state == UP;
}

static void check_up(void)
{
	if (cr.state != CONNECTING || !cmd.connected || !sub.connected || !cr.subscribed || cr.scripts < 2)
		return;
	cr.state = UP;
	cr.backoff_ms = 100;
	fprintf(stderr, "chat-server: redis %s:%d up (instance %s)\n", cr.host, cr.port, cr.id);
	cr_on_state(1);
}

/* Every reply on cmd lands here first: a reply (even an error) is progress. */
static int answered(redisReply *r)
{
	cr.inflight--;
	if (r)
		cr.progress_at = ad_now();
	if (r && r->type == REDIS_REPLY_ERROR) {
		fprintf(stderr, "chat-server: redis: %s\n", r->str);
		/* SCRIPT FLUSH: reconnecting loads them again. */
		if (!strncmp(r->str, "NOSCRIPT", 8))
			drop("scripts flushed");
		return 0;
	}
	return r != NULL;
}

static void on_plain_reply(redisAsyncContext *ac, void *reply, void *priv)
{
	(void)ac, (void)priv;
	answered(reply);
}

/* Sends on cmd, counting what is unanswered so a stall is seen. */
static int command(redisCallbackFn *fn, void *priv, const char *fmt, ...)
{
	va_list ap;
	int rc;

	if (!cmd.ac || !cmd.connected)
		return -1;
	va_start(ap, fmt);
	rc = redisvAsyncCommand(cmd.ac, fn, priv, fmt, ap);
	va_end(ap);
	if (rc != REDIS_OK)
		return -1;
	if (!cr.inflight++)
		cr.progress_at = ad_now(); /* the stall clock starts with the first one */
	return 0;
}

/* EVALSHA sends 40 bytes where EVAL would send the script each time. */
static void on_script(redisAsyncContext *ac, void *reply, void *priv)
{
	redisReply *r = reply;
	char *sha = priv;

	(void)ac;
	if (!answered(r) || r->type != REDIS_REPLY_STRING || r->len != 40) {
		drop("SCRIPT LOAD failed");
		return;
	}
	memcpy(sha, r->str, 41);
	cr.scripts++;
	check_up();
}

static void refresh_alive(void)
{
	command(on_plain_reply, NULL, "SET chat:alive:%s 1 PX %d", cr.id, CR_ALIVE_MS);
	cr.refresh_at = ad_now() + CR_REFRESH_MS;
}

/* PSUBSCRIBE's callback: its confirmation, then every publication. */
static void on_pubsub(redisAsyncContext *ac, void *reply, void *priv)
{
	redisReply *r = reply;
	const char *chan;

	(void)ac, (void)priv;
	if (!r || r->type != REDIS_REPLY_ARRAY || r->elements < 3 || r->element[0]->type != REDIS_REPLY_STRING)
		return; /* NULL: the context is going away; the disconnect says so */
	if (!strcmp(r->element[0]->str, "psubscribe")) {
		cr.subscribed = 1;
		check_up();
	} else if (!strcmp(r->element[0]->str, "pmessage") && r->elements == 4 &&
	           r->element[2]->type == REDIS_REPLY_STRING && r->element[3]->type == REDIS_REPLY_STRING &&
	           !strncmp(chan = r->element[2]->str, "chat:room:", 10) && cr.state == UP) {
		cr_on_message(chan + 10, r->element[3]->str, r->element[3]->len);
	}
}

static void on_connect(const redisAsyncContext *ac, int status)
{
	struct link *l = ac->ev.data;

	if (status != REDIS_OK) {
		/* hiredis frees the context after this callback returns. */
		fprintf(stderr, "chat-server: redis %s: %s\n", l->name, ac->errstr);
		l->ac = NULL;
		drop("connect failed");
		return;
	}
	l->connected = 1;
	if (l == &cmd) {
		refresh_alive(); /* first, so that our own presence counts */
		if (command(on_script, cr.sha_publish, "SCRIPT LOAD %s", publish_lua) ||
		    command(on_script, cr.sha_presence, "SCRIPT LOAD %s", presence_lua))
			drop("SCRIPT LOAD failed");
	} else if (redisAsyncCommand(sub.ac, on_pubsub, NULL, "PSUBSCRIBE chat:room:*") != REDIS_OK)
		drop("psubscribe failed");
	check_up();
}

/* Runs after ev_cleanup, inside hiredis's free of this context. */
static void on_disconnect(const redisAsyncContext *ac, int status)
{
	struct link *l = ac->ev.data;

	(void)status;
	l->ac = NULL; /* being freed by hiredis */
	l->connected = 0;
	drop("connection lost");
}

static void schedule_retry(void)
{
	int half = cr.backoff_ms / 2;

	/* Jitter: instances that lost Redis together do not come back in step. */
	cr.rnd = cr.rnd * 1103515245u + 12345u;
	cr.retry_at = ad_now() + half + (int)((cr.rnd >> 8) % (unsigned)(half + 1));
	cr.backoff_ms = cr.backoff_ms * 2 > 5000 ? 5000 : cr.backoff_ms * 2;
}

/* Drops both connections (pending callbacks run with NULL replies, which
 * complete pending joins locally) and schedules the next attempt. */
static void drop(const char *why)
{
	redisAsyncContext *a;
	int was_up = cr.state == UP;

	if (cr.state == DOWN)
		return;
	cr.state = DOWN;
	cr.subscribed = 0;
	fprintf(stderr, "chat-server: redis %s:%d: %s; local delivery, retrying\n", cr.host, cr.port, why);
	if ((a = sub.ac)) /* freed at once, or after the running callback */
		sub.connected = 0, redisAsyncFree(a);
	if ((a = cmd.ac))
		cmd.connected = 0, redisAsyncFree(a);
	schedule_retry();
	if (was_up)
		cr_on_state(0);
}

static int open_link(struct link *l)
{
	redisAsyncContext *ac = redisAsyncConnect(cr.host, cr.port);

	if (!ac)
		return -1;
	if (ac->err) {
		fprintf(stderr, "chat-server: redis %s: %s\n", l->name, ac->errstr);
		redisAsyncFree(ac);
		return -1;
	}
	l->ac = ac;
	l->fd = ac->c.fd;
	l->events = 0;
	ac->ev.data = l;
	ac->ev.addRead = ev_add_read;
	ac->ev.delRead = ev_del_read;
	ac->ev.addWrite = ev_add_write;
	ac->ev.delWrite = ev_del_write;
	ac->ev.cleanup = ev_cleanup;
	/* Registers the write interest that reports the connection (hooks first). */
	redisAsyncSetConnectCallback(ac, on_connect);
	redisAsyncSetDisconnectCallback(ac, on_disconnect);
	return 0;
}

static void start_connect(void)
{
	if (sub.ac || cmd.ac) { /* a context still being freed: next tick */
		cr.retry_at = ad_now() + 10;
		return;
	}
	cr.state = CONNECTING;
	cr.inflight = 0;
	cr.scripts = 0;
	cr.connect_by = ad_now() + 2000;
	if (open_link(&sub) || open_link(&cmd))
		drop("connect failed");
}

int cr_init(const char *hostport, const char *id, int epfd, int history, long long ttl_ms)
{
	const char *colon = strrchr(hostport, ':');
	char *end;
	long port;

	if (!colon || colon == hostport || (size_t)(colon - hostport) >= sizeof cr.host)
		return -1;
	port = strtol(colon + 1, &end, 10);
	if (*end || port < 1 || port > 65535)
		return -1;
	memcpy(cr.host, hostport, (size_t)(colon - hostport));
	cr.host[colon - hostport] = 0;
	cr.port = (int)port;
	snprintf(cr.id, sizeof cr.id, "%s", id);
	cr.ep = epfd;
	cr.history = history;
	cr.ttl_ms = ttl_ms;
	cr.backoff_ms = 100;
	cr.rnd = (unsigned)getpid() ^ (unsigned)ad_now();
	start_connect();
	return 0;
}

int64_t cr_deadline(void)
{
	int64_t d = -1;

	if (cr.state == DOWN)
		return cr.retry_at;
	if (cr.state == CONNECTING)
		return cr.connect_by;
	d = cr.refresh_at;
	if (cr.inflight > 0 && cr.progress_at + CR_STALL_MS < d)
		d = cr.progress_at + CR_STALL_MS;
	return d;
}

void cr_tick(int64_t now)
{
	if (cr.state == DOWN && now >= cr.retry_at)
		start_connect();
	else if (cr.state == CONNECTING && now >= cr.connect_by)
		drop("connect timed out");
	else if (cr.state == UP && cr.inflight > 0 && now >= cr.progress_at + CR_STALL_MS)
		drop("no answer (stalled)");
	else if (cr.state == UP && now >= cr.refresh_at)
		refresh_alive();
}

/* Up, and not so far behind that queueing more would only grow memory. */
static int can_send(void)
{
	return cr.state == UP && cr.inflight < CR_MAX_INFLIGHT;
}

int cr_publish(const char *room, const char *env, long long floor)
{
	if (!can_send())
		return -1;
	return command(on_plain_reply, NULL, "EVALSHA %s 3 chat:seq:%s chat:hist:%s chat:from:%s %s %d chat:room:%s %lld %lld",
	               cr.sha_publish, room, room, room, env, cr.history, room, floor, cr.ttl_ms);
}

static void on_presence(redisAsyncContext *ac, void *reply, void *priv)
{
	redisReply *r = reply;
	uint64_t token;
	const char **hist = NULL;
	size_t *lens = NULL, i, n = 0;
	int ok;

	(void)ac;
	ok = answered(r);
	if (!priv)
		return;
	token = *(uint64_t *)priv;
	free(priv);
	ok = ok && r->type == REDIS_REPLY_ARRAY && r->elements >= 2 && r->element[0]->type == REDIS_REPLY_INTEGER &&
	     r->element[1]->type == REDIS_REPLY_INTEGER;
	if (ok && r->elements > 2) {
		n = r->elements - 2;
		hist = malloc(n * sizeof *hist);
		lens = malloc(n * sizeof *lens);
		if (!hist || !lens)
			n = 0;
		for (i = 0; i < n; i++)
			hist[i] = r->element[i + 2]->str, lens[i] = r->element[i + 2]->len;
	}
	cr_on_joined(token, ok, ok ? r->element[0]->integer : 0, ok ? r->element[1]->integer : -1, hist, lens, n);
	free(hist);
	free(lens);
}

int cr_presence(const char *room, int local_count, const char *env, int want_history, uint64_t token)
{
	uint64_t *priv = NULL;

	if (!can_send())
		return -1;
	if (want_history && !(priv = malloc(sizeof *priv)))
		return -1;
	if (priv)
		*priv = token;
	if (command(on_presence, priv, "EVALSHA %s 3 chat:pres:%s chat:hist:%s chat:from:%s %s %d %s chat:room:%s chat:alive: %s",
	            cr.sha_presence, room, room, room, cr.id, local_count, env ? env : "", room,
	            want_history ? "1" : "0")) {
		free(priv);
		return -1;
	}
	return 0;
}

void cr_close(int ms)
{
	int64_t end = ad_now() + ms;
	struct epoll_event evs[4];
	int i, n;

	if (cr.state != UP)
		return;
	command(on_plain_reply, NULL, "DEL chat:alive:%s", cr.id);
	/* Only our two descriptors matter now; the clients are gone. */
	while (cr.state == UP && cr.inflight > 0 && ad_now() < end) {
		n = epoll_wait(cr.ep, evs, 4, ad_timeout(end, ad_now()));
		for (i = 0; i < n; i++)
			cr_event(evs[i].data.ptr, evs[i].events);
	}
}
