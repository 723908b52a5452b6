/* chat-server: chat rooms for browsers, on the adapter core (adapter.c) and
 * epoll, like echo_server.c. One port serves the page (GET /) and the
 * WebSocket endpoint (GET /ws); anything else is 404.
 *
 * The request head is judged by libws: an upgrade request arrives as
 * WS_EV_REQUEST, a plain GET as ws_conn_recv()'s WS_E_HTTP_UPGRADE (through
 * ad_opts.on_http_error); header fields are read with ws_header_next().
 *
 * Messages are JSON envelopes {type, room, user, text, ts} (jansson):
 *   client: {"type":"join","room":R,"user":U}  {"type":"leave"}
 *           {"type":"message","text":T}
 *   server: {"type":"joined",room,user,ts,count}  then the room's history as
 *           {"type":"message",...,"history":true}; {"type":"presence",room,
 *           user,text:"joined"|"left",ts,count}; {"type":"message",room,user,
 *           text,ts}; {"type":"error",text,ts}.
 * Policy: a token (?token= or Authorization: Bearer) or 401; an Origin, when
 * sent, from the allow-list or 403; a token bucket per connection (close
 * 1008); messages over --max-message bytes (close 1009, by libws); pings and
 * the idle, close and write timeouts are the adapter's deadlines. SIGTERM:
 * close 1001 to everyone, wait for the answers up to close_ms, exit 0.
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
#define MAX_ROOMS 256

struct conn {
	ad_conn a; /* first: callbacks get &a */
	int fd;
	unsigned events;
	int room;            /* index in rooms[], -1 for none */
	int dirty;           /* output queued by someone else's event: step it */
	int pending;         /* joined locally, Redis's answer (count, history) not in yet */
	uint64_t token;      /* that join's token: serial << 24 | fd */
	char user[NAME_MAX_LEN + 1];
	char *msg;           /* the text message being assembled */
	size_t msg_len;
	double tokens;       /* rate limit: token bucket */
	int64_t tokens_at;
};

struct room {
	char name[NAME_MAX_LEN + 1];
	int count;
	/* Ring of the last envelopes delivered here, chat.history slots. Without
	 * Redis it is the room's history; with Redis it fills the gap between a
	 * joiner's history and its live stream (seq > the history's last). */
	char **history;
	long long *seq; /* each one's "seq", 0 for none (local, or before Redis restarted) */
	int hist_next, hist_len;
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
} chat = { "devtoken", { NULL }, 0, NULL, 0, 20, 5, 10, 4096, NULL, "" };

static struct room rooms[MAX_ROOMS];
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

/* Queues one JSON text to c, if it is open. */
static void send_json(struct conn *c, json_t *obj)
{
	char *s = json_dumps(obj, JSON_COMPACT);

	if (s && ws_conn_state(&c->a.ws) == WS_STATE_OPEN)
		ad_send(&c->a, WS_OP_TEXT, 0, s, strlen(s));
	free(s);
	mark_dirty(c);
}

static void send_error(struct conn *c, const char *text)
{
	json_t *o = json_pack("{s:s, s:s, s:I}", "type", "error", "text", text, "ts", (json_int_t)wall_ms());

	send_json(c, o);
	json_decref(o);
}

static void broadcast(int room, const char *s)
{
	int i;

	for (i = 0; i <= maxfd; i++)
		if (byfd[i] && byfd[i]->room == room && !byfd[i]->pending &&
		    ws_conn_state(&byfd[i]->a.ws) == WS_STATE_OPEN) {
			ad_send(&byfd[i]->a, WS_OP_TEXT, 0, s, strlen(s));
			mark_dirty(byfd[i]);
		}
}

/* The history flag is spliced in front: envelopes are objects ("{...}"). */
static void send_history(struct conn *c, const char *env, size_t len)
{
	static const char flag[] = "{\"history\":true,";
	uint8_t *p;

	if (len < 2 || ws_conn_state(&c->a.ws) != WS_STATE_OPEN)
		return;
	if (!(p = malloc(sizeof flag - 1 + len - 1)))
		return;
	memcpy(p, flag, sizeof flag - 1);
	memcpy(p + sizeof flag - 1, env + 1, len - 1);
	ad_send(&c->a, WS_OP_TEXT, 0, p, sizeof flag - 1 + len - 1);
	free(p);
	mark_dirty(c);
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

/* "seq" of an envelope from Redis: it comes first ('{"seq":N,...'). */
static long long env_seq(const char *env)
{
	return strncmp(env, "{\"seq\":", 7) ? 0 : strtoll(env + 7, NULL, 10);
}

/* A presence envelope; with count < 0 without "count" (Redis adds it). */
static char *presence_env(int room, const char *user, const char *what, int count)
{
	json_t *o = json_pack("{s:s, s:s, s:s, s:s, s:I}", "type", "presence", "room", rooms[room].name, "user",
	                      user, "text", what, "ts", (json_int_t)wall_ms());
	char *s;

	if (o && count >= 0)
		json_object_set_new(o, "count", json_integer(count));
	if (o && chat.redis)
		json_object_set_new(o, "inst", json_string(chat.instance));
	s = o ? json_dumps(o, JSON_COMPACT) : NULL;
	json_decref(o);
	return s;
}

/* Tells the room (through Redis: every instance's members) that user came
 * or went; locally with the local count when Redis cannot take it. */
static void presence(int room, const char *user, const char *what)
{
	char *s = presence_env(room, user, what, -1);

	if (s && cr_up() && !cr_presence(rooms[room].name, rooms[room].count, s, 0, 0)) {
		free(s);
		return;
	}
	free(s);
	if ((s = presence_env(room, user, what, rooms[room].count)))
		broadcast(room, s);
	free(s);
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

static int find_room(const char *name, int create)
{
	int i, free_slot = -1;

	for (i = 0; i < MAX_ROOMS; i++) {
		if (rooms[i].name[0] && !strcmp(rooms[i].name, name))
			return i;
		if (free_slot < 0 && !rooms[i].name[0])
			free_slot = i;
		else if (free_slot < 0 && !rooms[i].count && !rooms[i].hist_len)
			free_slot = i; /* an empty room without history may be reused */
	}
	if (!create || free_slot < 0)
		return -1;
	snprintf(rooms[free_slot].name, sizeof rooms[free_slot].name, "%s", name);
	rooms[free_slot].count = 0;
	return free_slot;
}

static void send_joined(struct conn *c, long long count)
{
	json_t *o = json_pack("{s:s, s:s, s:s, s:I, s:I}", "type", "joined", "room", rooms[c->room].name, "user",
	                      c->user, "ts", (json_int_t)wall_ms(), "count", (json_int_t)count);

	send_json(c, o);
	json_decref(o);
}

/* A join without Redis: local count and the local ring as history. */
static void join_local(struct conn *c)
{
	struct room *r = &rooms[c->room];
	int i;

	c->pending = 0;
	send_joined(c, r->count);
	for (i = 0; i < r->hist_len; i++) { /* the last messages, oldest first */
		const char *h = r->history[ring_at(r, i)];
		send_history(c, h, strlen(h));
	}
}

static void join(struct conn *c, const char *room, const char *user)
{
	char *env;
	int r;

	if (!valid_name(room) || !valid_name(user))
		{ send_error(c, "room and user: 1 to 32 of A-Z a-z 0-9 _ . -"); return; }
	leave(c);
	if ((r = find_room(room, 1)) < 0)
		{ send_error(c, "too many rooms"); return; }
	snprintf(c->user, sizeof c->user, "%s", user);
	c->room = r;
	rooms[r].count++;
	/* With Redis, one atomic script counts us in, publishes our arrival and
	 * reads the history; cr_on_joined() answers the client. Until then the
	 * room's live traffic for c waits in the ring. */
	c->token = ++join_serial << 24 | (uint64_t)c->fd;
	if (cr_up() && (env = presence_env(r, user, "joined", -1))) {
		c->pending = !cr_presence(room, rooms[r].count, env, 1, c->token);
		free(env);
		if (c->pending)
			return;
	}
	join_local(c);
	presence(r, user, "joined");
}

void cr_on_joined(uint64_t token, int ok, long long count, const char *const *hist, const size_t *lens, size_t n)
{
	int fd = (int)(token & 0xffffff), i;
	struct conn *c = fd <= maxfd ? byfd[fd] : NULL;
	struct room *r;
	long long last = 0;
	size_t k;

	if (!c || !c->pending || c->token != token)
		return; /* gone, or left (or joined elsewhere) since */
	if (!ok) { /* Redis went away first: what this instance knows */
		join_local(c);
		presence(c->room, c->user, "joined");
		return;
	}
	r = &rooms[c->room];
	c->pending = 0;
	send_joined(c, count);
	for (k = 0; k < n; k++) {
		send_history(c, hist[k], lens[k]);
		last = env_seq(hist[k]);
	}
	/* What the room published after the script ran and reached us before
	 * its answer did: live messages this client has not seen. */
	for (i = 0; i < r->hist_len; i++) {
		int j = ring_at(r, i);
		if (r->seq[j] > last && ws_conn_state(&c->a.ws) == WS_STATE_OPEN) {
			ad_send(&c->a, WS_OP_TEXT, 0, r->history[j], strlen(r->history[j]));
			mark_dirty(c);
		}
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
	if (seq > 0)
		ring_add(&rooms[r], env, seq);
	broadcast(r, env);
}

/* Back up: count our members in again (Redis may have restarted empty, or
 * dropped our counts when alive:ID expired). Down: pending joins have been
 * answered locally by then. Ring "seq"s belong to the old Redis: forget them. */
void cr_on_state(int up)
{
	int r, i;

	for (r = 0; up && r < MAX_ROOMS; r++) {
		for (i = 0; rooms[r].seq && i < chat.history; i++)
			rooms[r].seq[i] = 0;
		if (rooms[r].name[0] && rooms[r].count > 0)
			cr_presence(rooms[r].name, rooms[r].count, NULL, 0, 0);
	}
}

static void say(struct conn *c, const char *text)
{
	struct room *r;
	json_t *o;
	char *s;

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
	 * like everyone else: one order per room on every instance. A Redis far
	 * behind (CR_MAX_INFLIGHT) refuses rather than growing our memory, and
	 * local delivery then would break that order. While Redis is down the
	 * room is local: the message reaches this instance's members only, and
	 * stays in this instance's ring, not in Redis's history. */
	if (cr_up()) {
		if (cr_publish(r->name, s))
			send_error(c, "busy: message not sent, try again");
	} else {
		broadcast(c->room, s);
		ring_add(r, s, 0);
	}
	free(s);
}

/* A token bucket: rate per second, burst deep. 0 when it is empty. */
static int take_token(struct conn *c)
{
	int64_t now = ad_now();

	c->tokens += (double)(now - c->tokens_at) * chat.rate / 1000.0;
	c->tokens_at = now;
	if (c->tokens > chat.burst)
		c->tokens = chat.burst;
	if (c->tokens < 1)
		return 0;
	c->tokens -= 1;
	return 1;
}

static void on_message(struct conn *c, const char *data, size_t len)
{
	json_error_t jerr;
	json_t *o, *type, *room, *user, *text;
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
	t = json_is_string(type) ? json_string_value(type) : "";
	if (!strcmp(t, "join") && json_is_string(room) && json_is_string(user))
		join(c, json_string_value(room), json_string_value(user));
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
		if (amp - start > 6 && !memcmp(start, "token=", 6) && token_ok(start + 6, (size_t)(amp - start - 6)))
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
	                "       [--history N] [--rate PER_S] [--burst N] [--max-message BYTES]\n"
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
	if (chat.history < 1 || chat.history > 1000 || chat.rate <= 0 || chat.burst < 1 ||
	    chat.max_message < 64 || !*chat.token || close_s <= 0 || (*chat.instance && !valid_name(chat.instance)))
		return usage();
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
			printf("chat: open %s/?token=%s\n", own[i], chat.token);
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
	if (chat.redis && cr_init(chat.redis, chat.instance, ep, chat.history)) {
		fprintf(stderr, "chat-server: --redis wants HOST:PORT\n");
		return 2;
	}
	while (!shutting_down || nconns > 0) {
		int64_t now = ad_now(), wake = next_wake, rd = chat.redis ? cr_deadline() : -1;
		int got_signal = 0;

		if (rd >= 0 && (wake < 0 || rd < wake))
			wake = rd;
		n = epoll_wait(ep, evs, 64, ad_timeout(wake, now));
		ad_loop_wake(&srv.loop);
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
		for (i = 0; i <= maxfd; i++) {
			int64_t d = byfd[i] ? ad_deadline(&byfd[i]->a) : -1;
			if (d >= 0 && d <= now)
				step(byfd[i]);
			else if (d >= 0 && (next_wake < 0 || d < next_wake))
				next_wake = d;
		}
		step_dirty();
		if (next_wake > 0 && next_wake < ad_now() + 10)
			next_wake = ad_now() + 10;
	}
	if (chat.redis)
		cr_close(500);
	fprintf(stderr, "chat-server: bye\n");
	free(rest); /* LeakSanitizer reports it at exit otherwise */
	return 0;
}
