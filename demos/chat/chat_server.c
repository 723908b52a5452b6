/* chat-server: chat rooms for browsers, on the adapter core (adapter.c) and
 * epoll, like echo_server.c. One port serves the page (GET /) and the
 * WebSocket endpoint (GET /ws); anything else is 404.
 *
 * The request head is judged by libws: an upgrade request arrives as
 * WS_EV_REQUEST, a plain GET as ws_conn_recv()'s WS_E_HTTP_UPGRADE (through
 * ad_opts.on_http_error); header fields are read with ws_header_next().
 *
 * Messages are JSON envelopes {type, room, user, text, ts} (jansson):
 *   client: {"type":"join","room":R,"user":U[,"since":SEQ]}  {"type":"leave"}
 *           {"type":"message","text":T}
 *   server: {"type":"joined",room,user,ts,count[,resumed]}, then the room's
 *           history as {"type":"message",...,"history":true} or, with
 *           "since", what came after SEQ as {...,"replay":true}, preceded by
 *           {"type":"gap",room,since,from,text} when the history kept does not
 *           reach back to SEQ; {"type":"presence",room,user,text:"joined"|
 *           "left",ts,count[,more]}; {"type":"message",seq,room,user,text,ts};
 *           {"type":"error",text,ts}.
 * Every room message has a "seq" that never goes backwards in its room (see
 * new_room() and chat_redis.c): a page keeps the last one it showed and
 * resumes from it after a reconnect (docs/chat.md, "Resumption").
 * Policy: a token (?token=, percent-decoded, or Authorization: Bearer) or
 * 401; an Origin, when sent, from the allow-list or 403; a token bucket per
 * connection charged at the time a message could have arrived (close 1008;
 * see take_token()); messages over --max-message bytes (close 1009, by
 * libws); a member whose queued output passes --max-queue bytes is closed
 * with 1013 (overflow()); presence changes at most 1000/PRESENCE_MS a second
 * per room (presence()); pings and the idle, close and write timeouts are the
 * adapter's deadlines. SIGTERM: close 1001 to everyone, wait for the answers
 * up to close_ms, exit 0.
 *
 * With --redis HOST:PORT (chat_redis.c), several instances share the rooms:
 * messages, history and presence counts go through Redis, every instance
 * delivers its own clients' messages only once Redis has ordered them, and
 * while Redis is unreachable each instance falls back to the local rooms
 * above. Envelopes then carry "seq" (the room's order in Redis) and "inst"
 * (the instance that took the message). README, "Scaling out", says more.
 *
 * Build: see demos/demos.mk (needs libjansson-dev, libhiredis-dev). */
#define _GNU_SOURCE
#include "adapter.h"
#include "server_common.h"
#include "chat_redis.h"
#include <jansson.h>
#include <signal.h>
#include <sys/epoll.h>
#include <sys/signalfd.h>
#include <time.h>

#define NAME_MAX_LEN 32
#define PRESENCE_MS 250 /* a room's presence changes: at most one envelope this often */
#define TICK_MS 250     /* the loop wakes at least this often ... */
#define STALL_MS 1000   /* ... so a longer gap means the process did not run (stopped, starved) */

struct conn {
	ad_conn a; /* first: callbacks get &a */
	int fd;
	unsigned events;
	int room;            /* index in rooms[], -1 for none */
	int dirty;           /* output queued by someone else's event: step it */
	int pending;         /* joined locally, Redis's answer (count, history) not in yet */
	uint64_t token;      /* that join's token: serial << 24 | fd */
	long long since;     /* that join's "since" (resume after this seq), -1 for none */
	int64_t kill_at;     /* closed for overflowing: cut off at this time if still there */
	char user[NAME_MAX_LEN + 1];
	char *msg;           /* the text message being assembled */
	size_t msg_len;
	double tokens;       /* rate limit: token bucket */
	double credit;       /* tokens for messages that may have come during a stall (take_token()) */
	int64_t tokens_at;
};

/* A slot of rooms[]: in use while name[0]. A room lives while it has members
 * or a presence change to send; then, if it holds history only this instance
 * has (no Redis), for --history-ttl, unless the newest --max-rooms such
 * rooms push it out. So the table holds at most one room per connection plus
 * --max-rooms: a join never finds it full. */
struct room {
	char name[NAME_MAX_LEN + 1];
	int count;
	/* Ring of the last envelopes delivered here, chat.history slots. Without
	 * Redis it is the room's history; with Redis it fills the gap between a
	 * joiner's history and its live stream (seq > the history's last). */
	char **history;
	long long *seq; /* each one's "seq" */
	int hist_next, hist_len;
	long long last;     /* the highest seq given or seen here */
	long long complete; /* the ring holds every message after this seq; -1: not known */
	int64_t empty_at;   /* kept without members since (ad_now()), 0 otherwise */
	/* Presence changes not sent yet: pres_n of them, the last one's user and
	 * what; sent at pres_at (the last send + PRESENCE_MS). */
	int pres_n;
	const char *pres_what;
	char pres_user[NAME_MAX_LEN + 1];
	int64_t pres_at;
};

static struct {
	const char *token;
	const char *origins[14 + SRV_MAX_LISTEN + 1]; /* --allow-origin, then our own */
	int norigins;
	char *page;
	size_t page_len;
	int history;
	double rate, burst;
	unsigned max_message;
	const char *redis;   /* HOST:PORT, or NULL */
	char instance[NAME_MAX_LEN + 1];
	size_t max_queue;    /* a member's queued output beyond this: closed 1013 */
	int max_kept;        /* empty rooms kept for their history */
	double history_ttl;  /* seconds */
} chat = { "devtoken", { NULL }, 0, NULL, 0, 100, 5, 10, 4096, NULL, "", 1 << 20, 256, 3600 };

static struct room *rooms;
static int nrooms, nkept;
/* The last stall of the loop (take_token()): [stall_from, stall_to]. */
static int64_t stall_from, stall_to = -1;
static struct conn **byfd;
static int *dirty, ndirty;
static int ep, maxfd, nconns, shutting_down;
static int64_t next_wake = -1;
static uint64_t join_serial;
/* The epoll batch being handled, entries [batch_next, batch_n) still to come. */
static struct epoll_event *batch;
static int batch_next, batch_n;
static char tag_signal;

static int64_t wall_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static long long wall_us(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	return (long long)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

/* Room and user names: 1 to 32 of [A-Za-z0-9_.-], so that they are safe in
 * logs and need no escaping anywhere. */
static int valid_name(const char *s)
{
	size_t i, n = strlen(s);

	if (n < 1 || n > NAME_MAX_LEN)
		return 0;
	for (i = 0; i < n; i++)
		if (!((s[i] >= 'a' && s[i] <= 'z') || (s[i] >= 'A' && s[i] <= 'Z') ||
		      (s[i] >= '0' && s[i] <= '9') || s[i] == '_' || s[i] == '-' || s[i] == '.'))
			return 0;
	return 1;
}

static void mark_dirty(struct conn *c)
{
	if (!c->dirty) {
		c->dirty = 1;
		dirty[ndirty++] = c->fd;
	}
}

/* The drop strategy: a member whose queued output passed --max-queue gets
 * nothing more; 1013 (try again later) follows what is queued, and a peer
 * that has not taken it all within close_ms is cut off (main loop), which
 * frees its memory. It leaves its room at its next step(), outside the
 * broadcast that found it. The page reconnects and resumes from its seq. */
static void overflow(struct conn *c)
{
	srv_log("chat-server: fd %d: %zu bytes queued (--max-queue %zu): closing 1013\n", c->fd, ad_pending(&c->a),
	        chat.max_queue);
	ad_close(&c->a, WS_CLOSE_TRY_AGAIN_LATER, "too slow: output queue full", 27);
	c->kill_at = ad_now() + srv.opts.close_ms;
	if (next_wake < 0 || c->kill_at < next_wake)
		next_wake = c->kill_at;
}

/* Queues one text to c, if it is open; over --max-queue, overflow(). */
static void queue(struct conn *c, const void *s, size_t len)
{
	if (ws_conn_state(&c->a.ws) != WS_STATE_OPEN)
		return;
	ad_send(&c->a, WS_OP_TEXT, 0, s, len);
	mark_dirty(c);
	if (ad_pending(&c->a) > chat.max_queue)
		overflow(c);
}

static void send_json(struct conn *c, json_t *obj)
{
	char *s = json_dumps(obj, JSON_COMPACT);

	if (s)
		queue(c, s, strlen(s));
	free(s);
}

static void send_error(struct conn *c, const char *text)
{
	json_t *o = json_pack("{s:s, s:s, s:I}", "type", "error", "text", text, "ts", (json_int_t)wall_ms());

	send_json(c, o);
	json_decref(o);
}

static void broadcast(int room, const char *s)
{
	size_t len = strlen(s);
	int i;

	for (i = 0; i <= maxfd; i++)
		if (byfd[i] && byfd[i]->room == room && !byfd[i]->pending)
			queue(byfd[i], s, len);
}

/* A flag spliced in front: envelopes are objects ("{...}"). */
static void send_flagged(struct conn *c, const char *flag, const char *env, size_t len)
{
	size_t fl = strlen(flag);
	char *p;

	if (len < 2 || ws_conn_state(&c->a.ws) != WS_STATE_OPEN)
		return;
	if (!(p = malloc(fl + len - 1)))
		return;
	memcpy(p, flag, fl);
	memcpy(p + fl, env + 1, len - 1);
	queue(c, p, fl + len - 1);
	free(p);
}

static void ring_add(struct room *r, const char *env, long long seq)
{
	char *h;

	if (!r->history) {
		r->history = calloc((size_t)chat.history, sizeof *r->history);
		r->seq = calloc((size_t)chat.history, sizeof *r->seq);
	}
	if (!r->history || !r->seq || !(h = strdup(env)))
		return;
	if (r->history[r->hist_next] && r->complete >= 0 && r->seq[r->hist_next] > r->complete)
		r->complete = r->seq[r->hist_next]; /* pushed out: what is kept starts after it */
	free(r->history[r->hist_next]);
	r->history[r->hist_next] = h;
	r->seq[r->hist_next] = seq;
	r->hist_next = (r->hist_next + 1) % chat.history;
	r->hist_len += r->hist_len < chat.history;
}

/* The i-th oldest entry of the ring. */
static int ring_at(const struct room *r, int i)
{
	return (r->hist_next - r->hist_len + i + chat.history) % chat.history;
}

/* "seq" of an envelope: it comes first ('{"seq":N,...'). */
static long long env_seq(const char *env)
{
	return strncmp(env, "{\"seq\":", 7) ? 0 : strtoll(env + 7, NULL, 10);
}

/* A slot for a new room. A sequence never goes backwards, also when a room
 * is freed and made again, or this process restarts: without --redis it
 * starts at the wall clock in microseconds (above every seq given before,
 * unless a room ever averaged more than a message a microsecond), with
 * nothing missing after that. With --redis the seq is Redis's (see
 * chat_redis.c, and say() for an outage) and this ring only a buffer:
 * "complete" is not known until its first message. */
static int new_room(const char *name)
{
	struct room *r;
	int i;

	for (i = 0; i < nrooms && rooms[i].name[0]; i++)
		;
	if (i == nrooms) {
		int n = nrooms ? nrooms * 2 : 16;
		struct room *m = realloc(rooms, (size_t)n * sizeof *m);
		if (!m)
			return -1;
		memset(m + nrooms, 0, (size_t)(n - nrooms) * sizeof *m);
		rooms = m;
		nrooms = n;
	}
	r = &rooms[i];
	memset(r, 0, sizeof *r);
	snprintf(r->name, sizeof r->name, "%s", name);
	r->last = chat.redis ? 0 : wall_us();
	r->complete = chat.redis ? -1 : r->last;
	return i;
}

static void free_room(int i)
{
	struct room *r = &rooms[i];
	int k;

	for (k = 0; r->history && k < chat.history; k++)
		free(r->history[k]);
	free(r->history);
	free(r->seq);
	nkept -= r->empty_at != 0;
	memset(r, 0, sizeof *r);
}

/* A room without members or presence changes to send goes now, or, when this
 * instance holds its only history (no Redis), is kept: the oldest kept
 * room makes way beyond --max-rooms. */
static void room_idle(int i)
{
	struct room *r = &rooms[i];
	int k, oldest = -1;

	if (r->count > 0 || r->pres_n > 0 || r->empty_at)
		return;
	if (!r->hist_len || cr_up()) {
		free_room(i);
		return;
	}
	r->empty_at = ad_now();
	if (++nkept <= chat.max_kept)
		return;
	for (k = 0; k < nrooms; k++)
		if (rooms[k].empty_at && (oldest < 0 || rooms[k].empty_at < rooms[oldest].empty_at))
			oldest = k;
	free_room(oldest);
}

/* Kept rooms past --history-ttl; with Redis up, none are kept. */
static void sweep_rooms(int64_t now)
{
	int i;

	for (i = 0; i < nrooms; i++)
		if (rooms[i].empty_at && (cr_up() || now - rooms[i].empty_at > (int64_t)(chat.history_ttl * 1000)))
			free_room(i);
}

/* A presence envelope; with count < 0 without "count" (Redis adds it). */
static char *presence_env(int room, const char *user, const char *what, int more, int count)
{
	json_t *o = json_pack("{s:s, s:s, s:s, s:s, s:I}", "type", "presence", "room", rooms[room].name, "user",
	                      user, "text", what, "ts", (json_int_t)wall_ms());
	char *s;

	if (o && more > 0)
		json_object_set_new(o, "more", json_integer(more));
	if (o && count >= 0)
		json_object_set_new(o, "count", json_integer(count));
	if (o && chat.redis)
		json_object_set_new(o, "inst", json_string(chat.instance));
	s = o ? json_dumps(o, JSON_COMPACT) : NULL;
	json_decref(o);
	return s;
}

/* Sends the room's pending presence changes as one envelope: the last
 * change, and "more", how many others it stands for (through Redis: to
 * every instance's members, with the total count). */
static void presence_flush(int room, int64_t now)
{
	struct room *r = &rooms[room];
	char *s = presence_env(room, r->pres_user, r->pres_what, r->pres_n - 1, -1);

	r->pres_n = 0;
	r->pres_at = now + PRESENCE_MS;
	if (!(s && cr_up() && !cr_presence(r->name, r->count, s, 0, 0))) {
		free(s);
		if ((s = presence_env(room, r->pres_user, r->pres_what, 0, r->count)))
			broadcast(room, s);
	}
	free(s);
	room_idle(room);
}

/* Tells the room that user came or went: at once if the room's last
 * presence envelope is PRESENCE_MS old, else folded into the next one, so a
 * join/leave storm costs at most 1000/PRESENCE_MS envelopes a second a room
 * (per instance, with Redis), whatever its size. */
static void presence(int room, const char *user, const char *what)
{
	struct room *r = &rooms[room];
	int64_t now = ad_now();

	r->pres_n++;
	r->pres_what = what;
	snprintf(r->pres_user, sizeof r->pres_user, "%s", user);
	if (now >= r->pres_at)
		presence_flush(room, now);
	else if (next_wake < 0 || r->pres_at < next_wake)
		next_wake = r->pres_at;
}

/* Presence changes that are due; the next due time into *next. */
static void presence_due(int64_t now, int64_t *next)
{
	int i;

	for (i = 0; i < nrooms; i++) {
		if (!rooms[i].name[0] || !rooms[i].pres_n)
			continue;
		if (rooms[i].pres_at <= now)
			presence_flush(i, now);
		else if (*next < 0 || rooms[i].pres_at < *next)
			*next = rooms[i].pres_at;
	}
}

static void leave(struct conn *c)
{
	int r = c->room;

	if (r < 0)
		return;
	c->room = -1;
	c->pending = 0; /* Redis's answer to the join, if still due, is ignored */
	rooms[r].count--;
	presence(r, c->user, "left");
}

/* The room called name; with create, made if missing (NULL: out of memory). */
static int find_room(const char *name, int create)
{
	int i;

	for (i = 0; i < nrooms; i++)
		if (rooms[i].name[0] && !strcmp(rooms[i].name, name))
			return i;
	return create ? new_room(name) : -1;
}

static void send_joined(struct conn *c, long long count, long long complete)
{
	json_t *o = json_pack("{s:s, s:s, s:s, s:I, s:I}", "type", "joined", "room", rooms[c->room].name, "user",
	                      c->user, "ts", (json_int_t)wall_ms(), "count", (json_int_t)count);

	if (o && c->since >= 0)
		json_object_set_new(o, "resumed", json_boolean(complete >= 0 && c->since >= complete));
	send_json(c, o);
	json_decref(o);
}

/* After "joined": without "since" the history; with it, what came after it
 * (complete: the history holds every message after this seq, -1: unknown),
 * preceded by a plain "gap" when the history does not reach back that far. */
static void send_gap(struct conn *c, long long complete)
{
	json_t *o;

	if (c->since < 0 || (complete >= 0 && c->since >= complete))
		return;
	o = json_pack("{s:s, s:s, s:I, s:I, s:s, s:I}", "type", "gap", "room", rooms[c->room].name, "since",
	              (json_int_t)c->since, "from", (json_int_t)complete, "text",
	              "some messages were missed: they are older than the history this server keeps", "ts",
	              (json_int_t)wall_ms());
	send_json(c, o);
	json_decref(o);
}

static void send_old(struct conn *c, const char *env, size_t len)
{
	long long seq = env_seq(env);

	if (c->since < 0)
		send_flagged(c, "{\"history\":true,", env, len);
	else if (seq > c->since)
		send_flagged(c, "{\"replay\":true,", env, len);
}

/* A join without Redis: local count and the local ring as history. */
static void join_local(struct conn *c)
{
	struct room *r = &rooms[c->room];
	int i;

	c->pending = 0;
	send_joined(c, r->count, r->complete);
	send_gap(c, r->complete);
	for (i = 0; i < r->hist_len; i++) { /* the last messages, oldest first */
		const char *h = r->history[ring_at(r, i)];
		send_old(c, h, strlen(h));
	}
}

static void join(struct conn *c, const char *room, const char *user, long long since)
{
	int r;

	if (!valid_name(room) || !valid_name(user))
		{ send_error(c, "room and user: 1 to 32 of A-Z a-z 0-9 _ . -"); return; }
	leave(c);
	if ((r = find_room(room, 1)) < 0)
		{ send_error(c, "out of memory"); return; }
	if (rooms[r].empty_at) /* a kept room in use again */
		rooms[r].empty_at = 0, nkept--;
	snprintf(c->user, sizeof c->user, "%s", user);
	c->room = r;
	c->since = since;
	rooms[r].count++;
	/* With Redis, one atomic script counts us in and reads the history;
	 * cr_on_joined() answers the client. Until then the room's live traffic
	 * for c waits in the ring. */
	c->token = ++join_serial << 24 | (uint64_t)c->fd;
	c->pending = cr_up() && !cr_presence(room, rooms[r].count, NULL, 1, c->token);
	if (!c->pending)
		join_local(c);
	presence(r, user, "joined");
}

void cr_on_joined(uint64_t token, int ok, long long count, long long from, const char *const *hist,
                  const size_t *lens, size_t n)
{
	int fd = (int)(token & 0xffffff), i;
	struct conn *c = fd <= maxfd ? byfd[fd] : NULL;
	struct room *r;
	long long last = 0, seq;
	size_t k;

	if (!c || !c->pending || c->token != token)
		return; /* gone, or left (or joined elsewhere) since */
	if (!ok) { /* Redis went away first: what this instance knows */
		join_local(c);
		return;
	}
	r = &rooms[c->room];
	c->pending = 0;
	send_joined(c, count, from);
	send_gap(c, from);
	for (k = 0; k < n; k++) {
		send_old(c, hist[k], lens[k]);
		if ((seq = env_seq(hist[k])) > last)
			last = seq;
	}
	if (last > r->last)
		r->last = last;
	/* What the room published after the script ran and reached us before
	 * its answer did: live messages this client has not seen. */
	if (c->since > last)
		last = c->since;
	for (i = 0; i < r->hist_len; i++) {
		int j = ring_at(r, i);
		if (r->seq[j] > last)
			queue(c, r->history[j], strlen(r->history[j]));
	}
}

/* A publication from Redis (any instance's, ours too), in the room's order. */
void cr_on_message(const char *room, const char *env, size_t len)
{
	int r = find_room(room, 0);
	long long seq = env_seq(env);

	(void)len;
	if (r < 0 || !rooms[r].count)
		return; /* nobody here is in that room */
	if (seq > rooms[r].last)
		rooms[r].last = seq;
	if (rooms[r].complete < 0 && seq > 0)
		rooms[r].complete = seq - 1; /* from here on the ring sees them all */
	if (seq > 0)
		ring_add(&rooms[r], env, seq);
	broadcast(r, env);
}

/* Back up: count our members in again (Redis may have restarted empty, or
 * dropped our counts when alive:ID expired); rooms kept for their local
 * history go (Redis has the history now). Down: pending joins have been
 * answered locally by then. */
void cr_on_state(int up)
{
	int r;

	if (!up)
		return;
	sweep_rooms(ad_now());
	for (r = 0; r < nrooms; r++)
		if (rooms[r].name[0] && rooms[r].count > 0)
			cr_presence(rooms[r].name, rooms[r].count, NULL, 0, 0);
}

static void say(struct conn *c, const char *text)
{
	struct room *r;
	json_t *o;
	char *s, *env;
	int n;

	if (c->room < 0)
		{ send_error(c, "join a room first"); return; }
	r = &rooms[c->room];
	o = json_pack("{s:s, s:s, s:s, s:s, s:I}", "type", "message", "room", r->name, "user", c->user, "text",
	              text, "ts", (json_int_t)wall_ms());
	if (o && chat.redis)
		json_object_set_new(o, "inst", json_string(chat.instance));
	s = o ? json_dumps(o, JSON_COMPACT) : NULL;
	json_decref(o);
	if (!s)
		return;
	/* With Redis up, the sender sees its message when Redis delivers it,
	 * like everyone else: one order per room on every instance; Redis gives
	 * the seq, above any this instance has seen. A Redis far behind
	 * (CR_MAX_INFLIGHT) refuses rather than growing our memory, and local
	 * delivery then would break that order. While Redis is down the room is
	 * local: the message reaches this instance's members only, with a seq of
	 * this instance's, and stays in this instance's ring, not in Redis. */
	if (cr_up()) {
		if (cr_publish(r->name, s, r->last))
			send_error(c, "busy: message not sent, try again");
	} else if ((env = malloc(strlen(s) + 32))) {
		/* Redis away: above what it gave, and well clear of what it may give
		 * other instances meanwhile (it starts above our seqs once back). */
		if (chat.redis && r->last < wall_us())
			r->last = wall_us();
		if (r->complete < 0)
			r->complete = r->last;
		n = sprintf(env, "{\"seq\":%lld,", ++r->last);
		memcpy(env + n, s + 1, strlen(s));
		broadcast(c->room, env);
		ring_add(r, env, r->last);
		free(env);
	}
	free(s);
}

/* A token bucket: rate per second, burst deep, charged when the message
 * arrived. Normally that is when it is read (the loop wakes as data comes
 * and ad_now() is the wake-up's time). After a stall of the process (SIGSTOP,
 * a host that did not schedule it: the loop was away for more than STALL_MS
 * although it wakes every TICK_MS), what is read may have arrived at any time
 * during the stall: the bucket gets the stall's refill without the burst cap,
 * as credit usable for STALL_MS after it, so a client that kept to its rate
 * while the server was away is never punished for the server's pause. 0 when
 * it is empty. */
static int take_token(struct conn *c)
{
	int64_t now = ad_now(), from;

	if (stall_to >= 0 && c->tokens_at < stall_to) { /* first message read since the stall */
		from = c->tokens_at > stall_from ? c->tokens_at : stall_from;
		c->tokens += (double)(from - c->tokens_at) * chat.rate / 1000.0;
		if (c->tokens > chat.burst)
			c->tokens = chat.burst;
		c->credit = (double)(stall_to - from) * chat.rate / 1000.0;
		c->tokens_at = stall_to;
	}
	if (c->credit > 0 && now > stall_to + STALL_MS)
		c->credit = 0;
	c->tokens += (double)(now - c->tokens_at) * chat.rate / 1000.0;
	c->tokens_at = now;
	if (c->tokens > chat.burst)
		c->tokens = chat.burst;
	if (c->credit >= 1) {
		c->credit -= 1;
		return 1;
	}
	if (c->tokens < 1)
		return 0;
	c->tokens -= 1;
	return 1;
}

static void on_message(struct conn *c, const char *data, size_t len)
{
	json_error_t jerr;
	json_t *o, *type, *room, *user, *text, *since;
	const char *t;

	if (!take_token(c)) { /* RFC 6455 §7.4.1: 1008, a message that violates policy */
		ad_close(&c->a, WS_CLOSE_POLICY_VIOLATION, "rate limit exceeded", 19);
		return;
	}
	if (!(o = json_loadb(data, len, JSON_REJECT_DUPLICATES, &jerr)) || !json_is_object(o)) {
		json_decref(o);
		send_error(c, "bad JSON: expected an object {type, room, user, text}");
		return;
	}
	type = json_object_get(o, "type");
	room = json_object_get(o, "room");
	user = json_object_get(o, "user");
	text = json_object_get(o, "text");
	since = json_object_get(o, "since");
	t = json_is_string(type) ? json_string_value(type) : "";
	if (!strcmp(t, "join") && json_is_string(room) && json_is_string(user))
		join(c, json_string_value(room), json_string_value(user),
		     json_is_integer(since) && json_integer_value(since) >= 0 ? (long long)json_integer_value(since) : -1);
	else if (!strcmp(t, "join"))
		send_error(c, "join needs room and user strings");
	else if (!strcmp(t, "leave"))
		leave(c);
	else if (!strcmp(t, "message") && json_is_string(text) && json_string_length(text) > 0)
		say(c, json_string_value(text));
	else if (!strcmp(t, "message"))
		send_error(c, "message needs a non-empty text string");
	else
		send_error(c, "unknown type");
	json_decref(o);
}

/* Constant time, so that the token cannot be guessed byte by byte. */
static int token_ok(const char *p, size_t n)
{
	size_t i, want = strlen(chat.token);
	unsigned char d = n != want;

	for (i = 0; i < n; i++)
		d |= (unsigned char)(p[i] ^ chat.token[i < want ? i : 0]);
	return !d && want;
}

static int hexval(char h)
{
	return h >= '0' && h <= '9' ? h - '0' : h >= 'a' && h <= 'f' ? h - 'a' + 10 : h >= 'A' && h <= 'F' ? h - 'A' + 10 : -1;
}

/* The query's token, percent-decoded (RFC 3986 §2.1: "%2B" is "+"; a "+"
 * stays "+", tokens are not form data), then compared. */
static int query_token_ok(const char *p, size_t n)
{
	char buf[256];
	size_t i, k = 0;

	for (i = 0; i < n; i++) {
		if (k == sizeof buf)
			return 0;
		if (p[i] == '%' && i + 2 < n && hexval(p[i + 1]) >= 0 && hexval(p[i + 2]) >= 0)
			buf[k++] = (char)(hexval(p[i + 1]) << 4 | hexval(p[i + 2])), i += 2;
		else if (p[i] == '%')
			return 0;
		else
			buf[k++] = p[i];
	}
	return token_ok(buf, k);
}

/* ?token=... in the target, or Authorization: Bearer ... in the head. */
static int authorized(const ws_http *h)
{
	ws_str name, value;
	size_t pos = 0;
	const char *q = memchr(h->target.ptr, '?', h->target.len), *e = h->target.ptr + h->target.len;

	while (q && q < e) {
		const char *amp, *start = q + 1;
		amp = memchr(start, '&', (size_t)(e - start));
		if (!amp)
			amp = e;
		if (amp - start > 6 && !memcmp(start, "token=", 6) && query_token_ok(start + 6, (size_t)(amp - start - 6)))
			return 1;
		q = amp < e ? amp : NULL;
	}
	while (ws_header_next(h->head, &pos, &name, &value))
		if (name.len == 13 && !strncasecmp(name.ptr, "Authorization", 13) && value.len > 7 &&
		    !strncasecmp(value.ptr, "Bearer ", 7) && token_ok(value.ptr + 7, value.len - 7))
			return 1;
	return 0;
}

static size_t path_len(ws_str target)
{
	const char *q = memchr(target.ptr, '?', target.len);
	return q ? (size_t)(q - target.ptr) : target.len;
}

static int on_event(ad_conn *a, ws_event *ev)
{
	struct conn *c = (struct conn *)a;
	uint8_t *p;
	size_t n = 0, pl;
	int rc;

	if (ev->type == WS_EV_REQUEST) {
		pl = path_len(ev->http.target);
		if (!(p = ad_reserve(a, 4096)))
			return -1;
		if (pl != 3 || memcmp(ev->http.target.ptr, "/ws", 3))
			rc = ws_conn_reject(&a->ws, 404, NULL, "not found\n", 10, p, 4096, &n);
		else if (!authorized(&ev->http))
			rc = ws_conn_reject(&a->ws, 401, "WWW-Authenticate: Bearer\r\n", "unauthorized\n", 13, p,
			                    4096, &n);
		else if (ev->http.origin.len && !ws_origin_allowed(&ev->http, chat.origins))
			rc = ws_conn_reject(&a->ws, 403, NULL, "origin not allowed\n", 19, p, 4096, &n);
		else
			rc = ws_conn_accept(&a->ws, NULL, p, 4096, &n);
		ad_commit(a, n);
		return rc != WS_OK;
	}
	if (ev->type == WS_EV_BINARY && (ev->flags & WS_EVF_MSG_END))
		send_error(c, "binary messages are not supported");
	if (ev->type != WS_EV_TEXT || ws_conn_state(&a->ws) != WS_STATE_OPEN)
		return 0; /* after our close frame no data may follow (RFC 6455 §5.5.1) */
	if ((ev->flags & WS_EVF_MSG_BEGIN) && (ev->flags & WS_EVF_MSG_END)) {
		on_message(c, (const char *)ev->data, ev->len); /* the common case: no copy */
		return 0;
	}
	/* A message in pieces; libws caps the total at max_message (1009 beyond). */
	if (!c->msg && !(c->msg = malloc(chat.max_message)))
		return -1;
	if (ev->flags & WS_EVF_MSG_BEGIN)
		c->msg_len = 0;
	if (ev->len > chat.max_message - c->msg_len)
		return -1;
	memcpy(c->msg + c->msg_len, ev->data, ev->len);
	c->msg_len += ev->len;
	if (ev->flags & WS_EVF_MSG_END) {
		on_message(c, c->msg, c->msg_len);
		free(c->msg);
		c->msg = NULL;
	}
	return 0;
}

/* A head libws refused. WS_E_HTTP_UPGRADE is a well-formed GET without
 * Upgrade: a browser asking for a page. */
static int on_http_error(ad_conn *a, int status, ws_event *ev)
{
	static const char nf[] = "HTTP/1.1 404 Not Found\r\nContent-Type: text/plain\r\nContent-Length: 10\r\n"
	                         "Connection: close\r\n\r\nnot found\n";
	char head[512];
	uint8_t *p;
	size_t pl;
	int hl;

	if (status != WS_E_HTTP_UPGRADE || !ev->http.target.len)
		return 0;
	pl = path_len(ev->http.target);
	if (!((pl == 1 && ev->http.target.ptr[0] == '/') ||
	      (pl == 11 && !memcmp(ev->http.target.ptr, "/index.html", 11)))) {
		if (!(p = ad_reserve(a, sizeof nf - 1)))
			return 0;
		memcpy(p, nf, sizeof nf - 1);
		ad_commit(a, sizeof nf - 1);
		return 1;
	}
	hl = snprintf(head, sizeof head,
	              "HTTP/1.1 200 OK\r\nContent-Type: text/html; charset=utf-8\r\nContent-Length: %zu\r\n"
	              "Cache-Control: no-store\r\nX-Content-Type-Options: nosniff\r\n"
	              "Content-Security-Policy: default-src 'none'; script-src 'unsafe-inline'; "
	              "style-src 'unsafe-inline'; connect-src 'self'\r\n"
	              "Connection: close\r\n\r\n",
	              chat.page_len);
	if (!(p = ad_reserve(a, (size_t)hl + chat.page_len)))
		return 0;
	memcpy(p, head, (size_t)hl);
	memcpy(p + hl, chat.page, chat.page_len);
	ad_commit(a, (size_t)hl + chat.page_len);
	return 1;
}

static void destroy(struct conn *c)
{
	int i;

	if (c->a.err)
		srv_log("chat-server: fd %d: %s\n", c->fd, ws_status_str(c->a.err));
	else if (c->a.why && strcmp(c->a.why, "connection reset"))
		srv_log("chat-server: dropped connection %d: %s\n", c->fd, c->a.why);
	byfd[c->fd] = NULL;
	/* A connection can die while another's event is handled (a broadcast's
	 * write finds its peer gone) with its own readiness still due in this
	 * batch: that entry must not reach step() after the free below. */
	for (i = batch_next; i < batch_n; i++)
		if (batch[i].data.ptr == c)
			batch[i].data.ptr = NULL;
	leave(c);
	srv_transport_free(&c->a.t);
	close(c->fd);
	ad_free(&c->a);
	free(c->msg);
	free(c);
	nconns--;
}

static void step(struct conn *c)
{
	unsigned w;
	int64_t d;

	c->dirty = 0;
	if (c->kill_at && c->room >= 0)
		leave(c); /* overflow(): out of its room, outside the broadcast that found it */
	if (ad_io(&c->a)) {
		destroy(c);
		return;
	}
	w = ad_wants(&c->a);
	w = (w & AD_READ ? EPOLLIN : 0) | (w & AD_WRITE ? EPOLLOUT : 0);
	if (w != c->events) {
		struct epoll_event ev = { w, { .ptr = c } };
		epoll_ctl(ep, EPOLL_CTL_MOD, c->fd, &ev);
		c->events = w;
	}
	if ((d = ad_deadline(&c->a)) >= 0 && (next_wake < 0 || d < next_wake))
		next_wake = d;
	if (c->kill_at && (next_wake < 0 || c->kill_at < next_wake))
		next_wake = c->kill_at;
}

/* Connections that got output from another's message: written now, not at
 * their next readiness. Never from inside ad_io(), whose input buffer is
 * shared. */
static void step_dirty(void)
{
	while (ndirty > 0) {
		int fd = dirty[--ndirty];
		if (byfd[fd] && byfd[fd]->dirty)
			step(byfd[fd]);
	}
}

static void on_accept(int lfd)
{
	int fd;

	while ((fd = srv_accept(lfd, nconns)) >= 0) {
		struct epoll_event ev = { EPOLLIN, { 0 } };
		struct conn *c = calloc(1, sizeof *c);

		if (!c || srv_conn_init(&c->a, fd) != WS_OK) {
			free(c);
			close(fd);
			continue;
		}
		c->fd = fd;
		c->room = -1;
		c->since = -1;
		c->tokens = chat.burst;
		c->tokens_at = ad_now();
		c->events = ev.events;
		ev.data.ptr = c;
		byfd[fd] = c;
		maxfd = fd > maxfd ? fd : maxfd;
		nconns++;
		epoll_ctl(ep, EPOLL_CTL_ADD, fd, &ev);
		step(c);
	}
}

static char *read_file(const char *path, size_t *len)
{
	FILE *f = fopen(path, "rb");
	char *buf = NULL;
	long n;

	if (f && !fseek(f, 0, SEEK_END) && (n = ftell(f)) >= 0 && !fseek(f, 0, SEEK_SET) &&
	    (buf = malloc((size_t)n + 1)) && fread(buf, 1, (size_t)n, f) == (size_t)n)
		*len = (size_t)n;
	else
		free(buf), buf = NULL;
	if (f)
		fclose(f);
	return buf;
}

static int usage(void)
{
	fprintf(stderr, "usage: chat-server --port PORT [--token T] [--allow-origin URL]... [--page FILE]\n"
	                "       [--history N] [--history-ttl S] [--max-rooms N] [--rate PER_S] [--burst N]\n"
	                "       [--max-message BYTES] [--max-queue BYTES]\n"
	                "       [--close-timeout S] [--redis HOST:PORT [--instance ID]]\n"
	                "       [echo-server options: --host,\n"
	                "       --idle-timeout, --ping-interval, --write-timeout, --max-conns]\n");
	return 2;
}

int main(int argc, char **argv)
{
	struct epoll_event ev = { EPOLLIN, { 0 } }, evs[64];
	struct sockaddr_storage sa;
	socklen_t sl = sizeof sa;
	char **rest = calloc((size_t)argc + 3, sizeof *rest), host[NI_MAXHOST], port[NI_MAXSERV];
	static char own[SRV_MAX_LISTEN + 1][NI_MAXHOST + NI_MAXSERV + 16];
	const char *page_path = "demos/chat/index.html";
	double close_s = 5, idle = -1;
	char pct_token[3 * 255 + 1];
	int64_t prev_wake;
	size_t k;
	sigset_t sigs;
	int sfd, i, n, nrest = 0, signals = 0;

	if (!rest)
		return 1;
	rest[nrest++] = argv[0];
	for (i = 1; i < argc; i++) {
		const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
		if (!v && !strcmp(a, "--help"))
			return usage(), 0;
		if (!v || strncmp(a, "--", 2)) {
			rest[nrest++] = argv[i];
			continue;
		}
		if (!strcmp(a, "--token"))
			chat.token = v;
		else if (!strcmp(a, "--allow-origin") && chat.norigins < 14)
			chat.origins[chat.norigins++] = v;
		else if (!strcmp(a, "--page"))
			page_path = v;
		else if (!strcmp(a, "--history"))
			chat.history = atoi(v);
		else if (!strcmp(a, "--history-ttl"))
			chat.history_ttl = atof(v);
		else if (!strcmp(a, "--max-rooms"))
			chat.max_kept = atoi(v);
		else if (!strcmp(a, "--max-queue"))
			chat.max_queue = (size_t)atol(v);
		else if (!strcmp(a, "--rate"))
			chat.rate = atof(v);
		else if (!strcmp(a, "--burst"))
			chat.burst = atof(v);
		else if (!strcmp(a, "--max-message"))
			chat.max_message = (unsigned)atol(v);
		else if (!strcmp(a, "--close-timeout"))
			close_s = atof(v);
		else if (!strcmp(a, "--redis"))
			chat.redis = v;
		else if (!strcmp(a, "--instance"))
			snprintf(chat.instance, sizeof chat.instance, "%s", v);
		else if (!strcmp(a, "--idle-timeout"))
			idle = atof(v); /* ours: the chat's default differs from the echo server's */
		else {
			rest[nrest++] = argv[i];
			rest[nrest++] = argv[++i];
			continue;
		}
		i++;
	}
	if (chat.history < 1 || chat.history > 1000 || chat.rate <= 0 || chat.burst < 1 || chat.history_ttl <= 0 ||
	    chat.max_kept < 0 || chat.max_queue < 4096 ||
	    chat.max_message < 64 || !*chat.token || close_s <= 0 || (*chat.instance && !valid_name(chat.instance)))
		return usage();
	if (strlen(chat.token) > 255) /* query_token_ok()'s buffer */
		return usage();
	for (k = 0, n = 0; chat.token[k]; k++) /* the link printed: every byte but unreserved ones as %XX */
		n += sprintf(pct_token + n, strchr("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-._~",
		                                   chat.token[k]) ? "%c" : "%%%02X", (unsigned char)chat.token[k]);
	if (!*chat.instance) /* unique enough to tell instances apart in Redis */
		snprintf(chat.instance, sizeof chat.instance, "%lx-%lx", (unsigned long)getpid(),
		         (unsigned long)(wall_ms() & 0xffffffff));
	if (!(chat.page = read_file(page_path, &chat.page_len))) {
		perror(page_path);
		return 1;
	}
	if ((i = srv_setup(nrest, rest, "chat-server")) < 0)
		return i == -3 ? 0 : i == -2 ? 2 : 1;
	srv.opts.on_event = on_event;
	srv.opts.on_http_error = on_http_error;
	srv.opts.close_ms = (int)(close_s * 1000);
	/* Users read without typing: only pings decide who is gone, by default. */
	srv.opts.idle_ms = idle < 0 ? 0 : (int)(idle * 1000);
	srv.cfg.max_message = srv.cfg.max_frame = chat.max_message;
	/* The page's own origins are always allowed: each address we listen on,
	 * and localhost. The first address is the one to open. */
	for (i = 0; i < srv.nlisten; i++) {
		sl = sizeof sa;
		if (getsockname(srv.lfd[i], (struct sockaddr *)&sa, &sl) ||
		    getnameinfo((struct sockaddr *)&sa, sl, host, sizeof host, port, sizeof port,
		                NI_NUMERICHOST | NI_NUMERICSERV))
			continue;
		snprintf(own[i], sizeof own[i], sa.ss_family == AF_INET6 ? "http://[%s]:%s" : "http://%s:%s", host, port);
		chat.origins[chat.norigins++] = own[i];
		if (!own[SRV_MAX_LISTEN][0]) {
			snprintf(own[SRV_MAX_LISTEN], sizeof own[SRV_MAX_LISTEN], "http://localhost:%s", port);
			chat.origins[chat.norigins++] = own[SRV_MAX_LISTEN];
			printf("chat: open %s/?token=%s\n", own[i], pct_token);
			fflush(stdout);
		}
	}
	byfd = calloc((size_t)srv.fd_limit, sizeof *byfd);
	dirty = calloc((size_t)srv.fd_limit, sizeof *dirty);
	sigemptyset(&sigs);
	sigaddset(&sigs, SIGINT);
	sigaddset(&sigs, SIGTERM);
	sigprocmask(SIG_BLOCK, &sigs, NULL);
	if (!byfd || !dirty || (sfd = signalfd(-1, &sigs, SFD_NONBLOCK | SFD_CLOEXEC)) < 0 ||
	    (ep = epoll_create1(EPOLL_CLOEXEC)) < 0) {
		perror("chat-server");
		return 1;
	}
	for (i = 0; i < srv.nlisten; i++) {
		ev.data.ptr = &srv.lfd[i];
		epoll_ctl(ep, EPOLL_CTL_ADD, srv.lfd[i], &ev);
	}
	ev.data.ptr = &tag_signal;
	epoll_ctl(ep, EPOLL_CTL_ADD, sfd, &ev);
	if (chat.redis && cr_init(chat.redis, chat.instance, ep, chat.history, (long long)(chat.history_ttl * 1000))) {
		fprintf(stderr, "chat-server: --redis wants HOST:PORT\n");
		return 2;
	}
	prev_wake = ad_now();
	while (!shutting_down || nconns > 0) {
		int64_t now = ad_now(), wake = next_wake, rd = chat.redis ? cr_deadline() : -1;
		int got_signal = 0;

		if (rd >= 0 && (wake < 0 || rd < wake))
			wake = rd;
		if (wake < 0 || wake > now + TICK_MS) /* at least every TICK_MS: a stall shows (take_token()) */
			wake = now + TICK_MS;
		n = epoll_wait(ep, evs, 64, ad_timeout(wake, now));
		ad_loop_wake(&srv.loop);
		if (ad_now() - prev_wake > STALL_MS) {
			stall_from = prev_wake;
			stall_to = ad_now();
			srv_log("chat-server: the loop did not run for %lld ms\n", (long long)(stall_to - stall_from));
		}
		prev_wake = ad_now();
		batch = evs;
		batch_n = n;
		for (i = 0; i < n; i++) {
			struct signalfd_siginfo si;
			batch_next = i + 1;
			if (!evs[i].data.ptr)
				continue; /* destroyed earlier in this batch */
			if (srv_listener(evs[i].data.ptr) >= 0)
				on_accept(srv_listener(evs[i].data.ptr));
			else if (evs[i].data.ptr == &tag_signal)
				got_signal = read(sfd, &si, sizeof si) > 0;
			else if (!cr_event(evs[i].data.ptr, evs[i].events))
				step(evs[i].data.ptr);
			step_dirty();
		}
		batch_n = 0;
		if (chat.redis && (rd = cr_deadline()) >= 0 && rd <= ad_now()) {
			cr_tick(ad_now());
			step_dirty();
		}
		if (got_signal && ++signals > 1)
			break;
		if (got_signal) { /* stop accepting; 1001 to everyone, bounded by close_ms */
			fprintf(stderr, "chat-server: shutting down (%d connections)\n", nconns);
			shutting_down = 1;
			srv_close_listeners();
			for (i = 0; i <= maxfd; i++)
				if (byfd[i] && ws_conn_state(&byfd[i]->a.ws) == WS_STATE_OPEN) {
					ad_close(&byfd[i]->a, WS_CLOSE_GOING_AWAY, "server shutting down", 20);
					/* Written now: its deadline is close_ms away, and a
					 * queued close frame alone wakes no one. */
					mark_dirty(byfd[i]);
				} else if (byfd[i] && ws_conn_state(&byfd[i]->a.ws) == WS_STATE_HANDSHAKE)
					byfd[i]->a.why = "shutdown", destroy(byfd[i]);
			step_dirty();
			next_wake = 0;
		}
		if (next_wake < 0 || ad_now() < next_wake)
			continue;
		next_wake = -1;
		now = ad_now();
		sweep_rooms(now);
		presence_due(now, &next_wake);
		for (i = 0; i <= maxfd; i++) {
			int64_t d = byfd[i] ? ad_deadline(&byfd[i]->a) : -1;
			if (byfd[i] && byfd[i]->kill_at && byfd[i]->kill_at <= now) {
				byfd[i]->a.why = "over --max-queue, not read in time";
				destroy(byfd[i]);
				continue;
			}
			if (byfd[i] && byfd[i]->kill_at && (next_wake < 0 || byfd[i]->kill_at < next_wake))
				next_wake = byfd[i]->kill_at;
			if (d >= 0 && d <= now)
				step(byfd[i]);
			else if (d >= 0 && (next_wake < 0 || d < next_wake))
				next_wake = d;
		}
		step_dirty();
		if (next_wake > 0 && next_wake < ad_now() + 10)
			next_wake = ad_now() + 10;
	}
	presence_due(ad_now() + PRESENCE_MS, &next_wake); /* the shutdown's leaves, to the other instances */
	if (chat.redis)
		cr_close(500);
	fprintf(stderr, "chat-server: bye\n");
	free(rest); /* LeakSanitizer reports it at exit otherwise */
	return 0;
}
