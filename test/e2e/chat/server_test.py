#!/usr/bin/python3
"""The chat server's logic without a browser: page and 404, auth (401),
origin (403), rooms, presence, history, bad JSON, names, rate limit (1008),
size limit (1009), heartbeats, SIGTERM; tokens with + / =, resumption
("since", and a gap older than the history), rooms that cannot be used up,
non-reading members (1013, bounded RSS), a stopped server (no 1008) and a
join/leave storm (presence coalesced). Python's websockets (Debian
python3-websockets) as the peer. Prints "chat-server: N passed, M failed"."""
import argparse
import asyncio
import json
import os
import re
import signal
import socket
import subprocess
import sys
import time

import websockets

TOKEN = "t0ken"
results = []


def check(name, ok, detail=""):
    ok = bool(ok)  # "a and b" may be None: still a failure, and counted
    results.append(ok)
    print(("ok   " if ok else "FAIL ") + name + ("" if ok else ": " + str(detail)), flush=True)


class Server:
    def __init__(self, binary, page, *args):
        self.p = subprocess.Popen([binary, "--port", "0", "--token", TOKEN, "--page", page, *args],
                                  stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        line = self.p.stdout.readline()
        m = re.search(r":(\d+)/", line)
        if not m:
            raise RuntimeError("no port: " + line + self.p.stderr.read())
        self.port = int(m.group(1))
        self.p.stdout.readline()  # "chat: open http://..."

    def url(self, path="/ws", token=TOKEN):
        return "ws://127.0.0.1:%d%s" % (self.port, path + ("?token=" + token if token is not None else ""))

    def stop(self):
        if self.p.poll() is None:
            self.p.kill()
        self.p.wait()


def http_get(port, path, extra=b""):
    s = socket.create_connection(("127.0.0.1", port), timeout=5)
    s.sendall(b"GET " + path.encode() + b" HTTP/1.1\r\nHost: 127.0.0.1\r\n" + extra + b"\r\n")
    data = b""
    while True:
        b = s.recv(65536)
        if not b:
            break
        data += b
    s.close()
    return data


async def recv_json(ws, timeout=3):
    return json.loads(await asyncio.wait_for(ws.recv(), timeout))


async def recv_until(ws, pred, timeout=3):
    end = time.monotonic() + timeout
    while True:
        m = await recv_json(ws, max(0.05, end - time.monotonic()))
        if pred(m):
            return m


async def status_of(url, **kw):
    try:
        async with websockets.connect(url, open_timeout=3, **kw):
            return 101
    except websockets.exceptions.InvalidStatusCode as e:
        return e.status_code


async def joined(url, room, user, **kw):
    ws = await websockets.connect(url, open_timeout=3, **kw)
    await ws.send(json.dumps({"type": "join", "room": room, "user": user}))
    m = await recv_until(ws, lambda m: m["type"] == "joined")
    return ws, m


async def close_code(ws, timeout=3):
    try:
        await asyncio.wait_for(ws.wait_closed(), timeout)
    except asyncio.TimeoutError:
        return None
    return ws.close_code


async def functional(srv):
    u = srv.url()
    # The page and 404s over plain HTTP, parsed by libws's head scanner.
    r = http_get(srv.port, "/")
    check("GET / serves the page", r.startswith(b"HTTP/1.1 200 ") and b"<!doctype html>" in r, r[:80])
    r = http_get(srv.port, "/index.html?x=1")
    check("GET /index.html serves the page", r.startswith(b"HTTP/1.1 200 "), r[:80])
    r = http_get(srv.port, "/secret")
    check("GET /secret is 404", r.startswith(b"HTTP/1.1 404 "), r[:80])
    r = http_get(srv.port, "/", b"Host: twice\r\n")
    check("two Host fields are 400 (libws)", r.startswith(b"HTTP/1.1 400 "), r[:80])
    check("upgrade on /chat is 404", await status_of(srv.url("/chat")) == 404)
    # Auth.
    check("no token is 401", await status_of(srv.url(token=None)) == 401)
    check("wrong token is 401", await status_of(srv.url(token="nope")) == 401)
    check("token prefix is 401", await status_of(srv.url(token=TOKEN[:-1])) == 401)
    check("token in the query is 101", await status_of(u) == 101)
    check("Authorization: Bearer is 101",
          await status_of(srv.url(token=None), extra_headers={"Authorization": "Bearer " + TOKEN}) == 101)
    check("wrong Bearer is 401",
          await status_of(srv.url(token=None), extra_headers={"Authorization": "Bearer x" + TOKEN}) == 401)
    # Origin.
    check("foreign Origin is 403", await status_of(u, origin="http://evil.example") == 403)
    check("own Origin is 101", await status_of(u, origin="http://127.0.0.1:%d" % srv.port) == 101)
    check("--allow-origin is 101", await status_of(u, origin="https://chat.example") == 101)

    # Rooms, presence, broadcast.
    a, ja = await joined(u, "r1", "alice")
    check("join answers joined with count 1", ja["room"] == "r1" and ja["user"] == "alice" and ja["count"] == 1, ja)
    b, jb = await joined(u, "r1", "bob")
    check("second member: count 2", jb["count"] == 2, jb)
    p = await recv_until(a, lambda m: m["type"] == "presence" and m["user"] == "bob")
    check("presence reaches the room", p["user"] == "bob" and p["text"] == "joined" and p["count"] == 2, p)
    c, _ = await joined(u, "r2", "carol")
    await b.send(json.dumps({"type": "message", "text": "hi <b>all</b> & \u00e9"}))
    ma = await recv_until(a, lambda m: m["type"] == "message")
    mb = await recv_until(b, lambda m: m["type"] == "message")
    ok = all(m["text"] == "hi <b>all</b> & \u00e9" and m["user"] == "bob" and m["room"] == "r1"
             and isinstance(m["ts"], int) for m in (ma, mb))
    check("message broadcast to the room, sender included, text unchanged", ok, (ma, mb))
    # Not a wait of so long: c's own message, broadcast after bob's, must
    # be the first message c gets (bob's would have been queued before it).
    await c.send(json.dumps({"type": "message", "text": "only r2"}))
    m = await recv_until(c, lambda m: m["type"] == "message")
    check("other rooms do not see it", m["text"] == "only r2" and m["user"] == "carol", m)
    await b.send(json.dumps({"type": "leave"}))
    p = await recv_until(a, lambda m: m["type"] == "presence")
    check("leave: presence left, count 1", p["text"] == "left" and p["count"] == 1, p)
    await b.close()
    await c.close()

    # History: the last 5 (--history 5), oldest first, marked as history.
    for i in range(7):
        await a.send(json.dumps({"type": "message", "text": "h%d" % i}))
    for i in range(7):
        await recv_until(a, lambda m: m["type"] == "message")
    d = await websockets.connect(u, open_timeout=3)
    await d.send(json.dumps({"type": "join", "room": "r1", "user": "dave"}))
    got = []
    await recv_until(d, lambda m: m["type"] == "joined")
    for i in range(5):
        got.append(await recv_json(d))
    check("history: last 5 in order", [m.get("text") for m in got] == ["h2", "h3", "h4", "h5", "h6"]
          and all(m.get("history") is True for m in got), got)
    await d.close()

    # Bad input gets an error message, and the connection stays.
    for bad, name in ((b"{nope", "bad JSON"), ("[1,2]", "not an object"), ('{"type":"fly"}', "unknown type"),
                      ('{"type":"message"}', "message without text"),
                      ('{"type":"join","room":"a b","user":"x"}', "room with a space"),
                      ('{"type":"join","room":"r","user":"<script>"}', "user with markup"),
                      ('{"type":"join","room":"' + "r" * 33 + '","user":"x"}', "room of 33"),
                      ('{"type":"join","room":"r","user":"x","type":"join"}', "duplicate key")):
        if isinstance(bad, bytes):
            bad = bad.decode()
        await a.send(bad)
        m = await recv_until(a, lambda m: m["type"] in ("error", "joined"))
        check("error message for " + name, m["type"] == "error" and m["text"], m)
    await a.send(json.dumps({"type": "message", "text": "still here"}))
    m = await recv_until(a, lambda m: m["type"] == "message")
    check("connection survives bad input", m["text"] == "still here", m)
    n = await websockets.connect(u, open_timeout=3)
    await n.send(json.dumps({"type": "message", "text": "x"}))
    m = await recv_json(n)
    check("message before join is an error", m["type"] == "error", m)
    await n.send(b"\x00\x01")
    m = await recv_json(n)
    check("binary is an error message", m["type"] == "error", m)
    await n.close()

    # Size limit: --max-message 4096; libws closes with 1009.
    s = await websockets.connect(u, open_timeout=3, max_size=None)
    await s.send(json.dumps({"type": "message", "text": "x" * 5000}))
    code = await close_code(s)
    check("message over the limit: close 1009", code == 1009, code)
    s = await websockets.connect(u, open_timeout=3)
    await s.send(json.dumps({"type": "message", "text": "x" * 3000}))
    m = await recv_json(s)
    check("message under the limit: answered", m["type"] == "error", m)
    await s.close()
    await a.close()


async def rate_limited(srv):
    # --rate 5 --burst 10: 30 messages at once must end in 1008.
    ws, _ = await joined(srv.url(), "fast", "flood")
    try:
        for i in range(30):
            await ws.send(json.dumps({"type": "message", "text": str(i)}))
    except websockets.exceptions.ConnectionClosed:
        pass
    code = await close_code(ws)
    check("rate limit exceeded: close 1008", code == 1008, code)
    # A paced sender is never limited.
    ws, _ = await joined(srv.url(), "slow", "pacer")
    for i in range(12):
        await ws.send(json.dumps({"type": "message", "text": str(i)}))
        await recv_until(ws, lambda m: m["type"] == "message")
        await asyncio.sleep(0.25)
    check("paced sender stays open", ws.close_code is None)
    await ws.close()
    # --idle-timeout 2: a peer that answers pings but says nothing is closed
    # with 1001, 2 s after its last message (the join: the clock starts
    # before it is sent, so at least 2 s; close_code returns at the close).
    ws = await websockets.connect(srv.url(), open_timeout=3)
    t0 = time.monotonic()
    await ws.send(json.dumps({"type": "join", "room": "quiet", "user": "lurker"}))
    await recv_until(ws, lambda m: m["type"] == "joined")
    code = await close_code(ws, 6)
    dt = time.monotonic() - t0
    check("idle peer closed with 1001 after --idle-timeout (%.2f s after its join)" % dt, code == 1001 and 1.9 <= dt <= 4,
          "%s after %.2f s" % (code, dt))


def raw_upgrade(port):
    s = socket.create_connection(("127.0.0.1", port), timeout=5)
    s.sendall(("GET /ws?token=%s HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
               "Sec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\r\n" % TOKEN).encode())
    head = b""
    while b"\r\n\r\n" not in head:
        head += s.recv(1)
    return s, head


def heartbeat(srv):
    # --ping-interval 1: a ping after 1 s of silence; no pong for 1 s more:
    # dropped, 2 s after the request at the earliest (the clock starts before
    # it is sent; the test reads at once, so the EOF is stamped as it comes).
    t0 = time.monotonic()
    s, head = raw_upgrade(srv.port)
    check("raw upgrade is 101", head.startswith(b"HTTP/1.1 101"), head[:40])
    s.settimeout(3)
    first = s.recv(2)
    check("server pings a silent peer", first[:1] == b"\x89", first)
    s.settimeout(4)
    rest = b""
    try:
        while True:
            b = s.recv(100)
            if not b:
                break
            rest += b
    except (ConnectionResetError, socket.timeout):
        pass
    dt = time.monotonic() - t0
    check("peer without pong dropped after ping + pong timeout (%.2f s after the request)" % dt, 1.9 <= dt <= 3.5,
          "%.2f s" % dt)
    s.close()


async def reset_in_batch(srv):
    # One epoll batch where a message is broadcast to members whose peers
    # have already reset, and whose own readiness comes later in the same
    # batch: the broadcast's write finds them dead and frees them, and the
    # batch must not step them again. The server is stopped while the batch
    # piles up, so the order is deterministic; MALLOC_PERTURB_ (set by main)
    # makes a use after free crash instead of passing unnoticed.
    a, _ = await joined(srv.url(), "batch", "a")
    xs = [(await joined(srv.url(), "batch", "x%d" % i))[0] for i in range(20)]
    await recv_until(a, lambda m: m["type"] == "presence" and m["user"] == "x19")
    srv.p.send_signal(signal.SIGSTOP)
    try:
        await a.send(json.dumps({"type": "message", "text": "to the dead"}))
        await asyncio.sleep(0.2)
        for x in xs:  # RST: linger 0, then close
            x.transport.get_extra_info("socket").setsockopt(socket.SOL_SOCKET, socket.SO_LINGER,
                                                            b"\x01\x00\x00\x00\x00\x00\x00\x00")
            x.transport.abort()
        await asyncio.sleep(0.2)
    finally:
        srv.p.send_signal(signal.SIGCONT)
    m = await recv_until(a, lambda m: m["type"] == "message")
    check("members reset within a broadcast's batch: the sender still served", m["text"] == "to the dead", m)
    try:
        b, jb = await joined(srv.url(), "batch", "b")
    except Exception as e:  # refused, reset, or a handshake cut short: the server died
        b, jb = None, {"count": None, "error": repr(e)}
    check("members reset within a broadcast's batch: the server lives on, count 2",
          srv.p.poll() is None and jb["count"] == 2, (srv.p.poll(), jb))
    await a.close()
    if b:
        await b.close()


async def shutdown(binary, page):
    srv = Server(binary, page, "--close-timeout", "1.5")
    a, _ = await joined(srv.url(), "bye", "a")
    b, _ = await joined(srv.url(), "bye", "b")
    mute, _ = raw_upgrade(srv.port)  # never answers the close frame
    t0 = time.monotonic()
    srv.p.send_signal(signal.SIGTERM)
    ca, cb = await close_code(a), await close_code(b)
    dt = time.monotonic() - t0
    check("SIGTERM: 1001 to every peer", ca == 1001 and cb == 1001, (ca, cb))
    check("SIGTERM: the close frames go out at once, not at the close timeout", dt < 0.5, "%.2f s" % dt)
    try:
        rc = srv.p.wait(timeout=5)
    except subprocess.TimeoutExpired:
        rc = None
    dt = time.monotonic() - t0
    check("SIGTERM: exit 0 once the closes are done or 1.5 s ran out", rc == 0 and 1.2 < dt < 3.5,
          "rc %s after %.2f s" % (rc, dt))
    mute.close()
    srv.stop()


# --- Resumption, drop strategy, rooms, stalls, presence storms (issue 23) ---

def rss_kb(pid, field="VmRSS"):
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            if line.startswith(field + ":"):
                return int(line.split()[1])
    return 0


def frame(text, opcode=1):
    """One masked client frame (RFC 6455 §5.2), mask 0 for simplicity of the test."""
    data = text.encode() if isinstance(text, str) else text
    n = len(data)
    head = bytes([0x80 | opcode])
    if n < 126:
        head += bytes([0x80 | n])
    elif n < 65536:
        head += bytes([0x80 | 126]) + n.to_bytes(2, "big")
    else:
        head += bytes([0x80 | 127]) + n.to_bytes(8, "big")
    return head + b"\x00\x00\x00\x00" + data


def read_frames(s, deadline):
    """Server frames from a raw socket until a close frame, EOF or the
    deadline: (list of text payloads, close code or None)."""
    buf, texts = b"", []
    while time.monotonic() < deadline:
        s.settimeout(max(0.05, deadline - time.monotonic()))
        try:
            b = s.recv(1 << 20)
        except socket.timeout:
            break
        except ConnectionResetError:
            return texts, None
        if not b:
            return texts, None
        buf += b
        while len(buf) >= 2:
            op, n, off = buf[0] & 15, buf[1] & 127, 2
            if n == 126:
                if len(buf) < 4:
                    break
                n, off = int.from_bytes(buf[2:4], "big"), 4
            elif n == 127:
                if len(buf) < 10:
                    break
                n, off = int.from_bytes(buf[2:10], "big"), 10
            if len(buf) < off + n:
                break
            payload, buf = buf[off:off + n], buf[off + n:]
            if op == 1:
                texts.append(payload)
            elif op == 8:
                return texts, int.from_bytes(payload[:2], "big") if len(payload) >= 2 else 1005
    return texts, None


def raw_member(port, room, user, rcvbuf=None):
    """A member on a raw socket that reads nothing until told (a non-reader)."""
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    if rcvbuf:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, rcvbuf)
    s.settimeout(5)
    s.connect(("127.0.0.1", port))
    s.sendall(("GET /ws?token=%s HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
               "Sec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\r\n" % TOKEN).encode())
    head = b""
    while b"\r\n\r\n" not in head:
        head += s.recv(1)
    s.sendall(frame(json.dumps({"type": "join", "room": room, "user": user})))
    return s


async def resume(srv, history):
    """Resumption without Redis: a member goes away, 50 messages are sent,
    it comes back with "since" and gets exactly those 50, in order; one
    that was away for more than the history kept is told so."""
    u = srv.url()
    a, _ = await joined(u, "resume", "stay")
    b, _ = await joined(u, "resume", "away")
    await a.send(json.dumps({"type": "message", "text": "before"}))
    last = (await recv_until(b, lambda m: m["type"] == "message"))["seq"]
    await recv_until(a, lambda m: m["type"] == "message")
    await b.close()
    n = min(50, history)
    for i in range(n):
        await a.send(json.dumps({"type": "message", "text": "n-%d" % i}))
    got = [await recv_until(a, lambda m: m["type"] == "message") for _ in range(n)]
    seqs = [m["seq"] for m in got]
    check("seq rises by one a message in a room", seqs == list(range(last + 1, last + 1 + n)), seqs[:3])
    b = await websockets.connect(u, open_timeout=3)
    await b.send(json.dumps({"type": "join", "room": "resume", "user": "away", "since": last}))
    j = await recv_until(b, lambda m: m["type"] == "joined")
    rep = []
    while len(rep) < n:
        m = await recv_json(b)
        if m["type"] in ("message", "gap"):
            rep.append(m)
    extra = None
    await a.send(json.dumps({"type": "message", "text": "live"}))
    extra = await recv_until(b, lambda m: m["type"] == "message")
    texts = [m.get("text") for m in rep]
    check("resume: joined says resumed, %d missed messages replayed once, in order, then live" % n,
          j.get("resumed") is True and texts == ["n-%d" % i for i in range(n)] and
          all(m.get("replay") is True for m in rep) and extra["text"] == "live" and not extra.get("replay"),
          (j, texts[:3], extra))
    # Away longer than the history kept: a plain "gap" first, then what is kept.
    await b.close()
    for i in range(history + 3):
        await a.send(json.dumps({"type": "message", "text": "g-%d" % i}))
    for i in range(history + 3):
        await recv_until(a, lambda m: m["type"] == "message")
    b = await websockets.connect(u, open_timeout=3)
    await b.send(json.dumps({"type": "join", "room": "resume", "user": "away", "since": extra["seq"]}))
    j = await recv_until(b, lambda m: m["type"] == "joined")
    g = await recv_json(b)
    kept = [(await recv_json(b))["text"] for _ in range(history)]
    check("resume past the history: resumed false, a gap message, then the %d kept" % history,
          j.get("resumed") is False and g["type"] == "gap" and g["since"] == extra["seq"] and
          "missed" in g["text"] and kept == ["g-%d" % i for i in range(3, history + 3)], (j, g, kept[:2]))
    await a.close()
    await b.close()


async def rooms_exhaust(srv):
    """40 connections make 320 rooms, each with a message and then empty:
    a new room can still be joined (empty rooms are reclaimed)."""
    u = srv.url()

    async def maker(k):
        ws = await websockets.connect(u, open_timeout=3)
        for i in range(8):
            await ws.send(json.dumps({"type": "join", "room": "x%d-%d" % (k, i), "user": "m%d" % k}))
            m = await recv_until(ws, lambda m: m["type"] in ("joined", "error"))
            if m["type"] == "error":
                await ws.close()
                return 1
            await ws.send(json.dumps({"type": "message", "text": "mine"}))
            await recv_until(ws, lambda m: m["type"] == "message")
        await ws.close()
        return 0

    refused = sum(await asyncio.gather(*(maker(k) for k in range(40))))
    ws = await websockets.connect(u, open_timeout=3)
    await ws.send(json.dumps({"type": "join", "room": "brand-new", "user": "late"}))
    m = await recv_until(ws, lambda m: m["type"] in ("joined", "error"))
    check("40 connections made 320 rooms (%d joins refused); a new room can still be joined" % refused,
          refused == 0 and m["type"] == "joined", m)
    await ws.close()


async def slow_readers(srv, max_queue):
    """10 members that read nothing and 4 that send (90 messages of 3 kB a
    second each, under --rate 100) and read: the non-readers are closed with
    1013 soon after their queue passed --max-queue, the server's peak RSS
    stays bounded, the readers get everything."""
    nonreaders = [raw_member(srv.port, "slow", "nr%d" % i, rcvbuf=4096) for i in range(10)]
    base = rss_kb(srv.p.pid)
    text = "x" * 3000
    per = 450
    result = {}

    if True:
        rs = [(await joined(srv.url(), "slow", "r%d" % i))[0] for i in range(4)]
        t0 = time.time()

        async def sender(ws, k):
            for i in range(per):
                await ws.send(json.dumps({"type": "message", "text": "%d-%d-%s" % (k, i, text)}))
                if i % 9 == 8:
                    await asyncio.sleep(0.1)

        async def reader(ws):
            seqs = []
            while len(seqs) < 4 * per:
                m = json.loads(await asyncio.wait_for(ws.recv(), 15))
                if m["type"] == "message":
                    seqs.append((m.get("seq"), m["text"][:m["text"].index("-x")]))
            return seqs

        res = await asyncio.gather(*(sender(ws, k) for k, ws in enumerate(rs)), *(reader(ws) for ws in rs))
        result["t0"] = t0
        result["seqs"] = res[4:]
        for ws in rs:
            await ws.close()

    peak = rss_kb(srv.p.pid, "VmHWM")
    codes, after = [], []
    deadline = time.monotonic() + 8

    def read_all():
        for s in nonreaders:
            texts, code = read_frames(s, deadline)
            codes.append(code)
            ts = [json.loads(t).get("ts", 0) for t in texts if t.startswith(b"{")]
            after.append((max(ts) / 1000.0 - result["t0"]) if ts else 0)
            s.close()

    await asyncio.get_running_loop().run_in_executor(None, read_all)
    seqs = result["seqs"]
    first = [q for q, _ in seqs[0]]
    ok = all(s == seqs[0] for s in seqs) and None not in first and first == list(range(first[0], first[0] + 4 * per)) and \
        all([t for _, t in seqs[0] if t.startswith("%d-" % k)] == ["%d-%d" % (k, i) for i in range(per)]
            for k in range(4))
    check("10 non-readers, 4 senders of %d x 3 kB at 90/s: the readers get all %d, in one order" % (per, 4 * per), ok,
          [s[:2] for s in seqs])
    check("non-readers closed with 1013 (codes %s), the last message they were sent %.2f s after the start"
          % (sorted(set(codes), key=str), max(after)), codes == [1013] * 10 and max(after) < 5, (codes, after))
    check("server peak RSS %d kB (%d kB before) under 16 MB with --max-queue %d" % (peak, base, max_queue),
          peak < 16 * 1024, peak)


async def stalled(srv):
    """The server is stopped for 5 s while a client sends 4 messages a second
    under --rate 5 --burst 10: no 1008, every message delivered."""
    ws, _ = await joined(srv.url(), "stall", "steady")
    sent, got = 0, []

    async def reader():
        while True:
            m = json.loads(await ws.recv())
            if m["type"] == "message":
                got.append(m["text"])

    rt = asyncio.ensure_future(reader())
    t0 = time.monotonic()
    stopped = False
    try:
        while time.monotonic() - t0 < 7.5:
            if not stopped and time.monotonic() - t0 > 1:
                srv.p.send_signal(signal.SIGSTOP)
                stopped, t_stop = True, time.monotonic()
            if stopped and t_stop and time.monotonic() - t_stop > 5:
                srv.p.send_signal(signal.SIGCONT)
                t_stop = None
            await ws.send(json.dumps({"type": "message", "text": "s%d" % sent}))
            sent += 1
            await asyncio.sleep(0.25)
    except websockets.exceptions.ConnectionClosed:
        pass
    finally:
        if stopped and t_stop:
            srv.p.send_signal(signal.SIGCONT)
    end = time.monotonic() + 3
    while len(got) < sent and time.monotonic() < end and ws.close_code is None:
        await asyncio.sleep(0.05)
    rt.cancel()
    check("SIGSTOP 5 s under a client at 4 msg/s (--rate 5 --burst 10): not closed, %d/%d delivered in order"
          % (len(got), sent), ws.close_code is None and got == ["s%d" % i for i in range(sent)],
          (ws.close_code, len(got), sent))
    await ws.close()


async def presence_storm(srv):
    """100 members join and leave one room over and over, each under its
    limit: an observer gets at most a few presence envelopes a second, and
    a normal client's join + message round trip stays short."""
    u = srv.url()
    obs, _ = await joined(u, "storm", "observer")
    churn = [await websockets.connect(u, open_timeout=3) for _ in range(100)]
    stop = asyncio.Event()
    counts = {"presence": 0}

    async def churner(k, ws):
        try:
            while not stop.is_set():
                await ws.send(json.dumps({"type": "join", "room": "storm", "user": "c%d" % k}))
                await asyncio.sleep(0.1)
                await ws.send(json.dumps({"type": "leave"}))
                await asyncio.sleep(0.1)
        except websockets.exceptions.ConnectionClosed:
            pass

    async def drain(ws):  # the churners read what they are sent, as a page does
        try:
            while True:
                await ws.recv()
        except (websockets.exceptions.ConnectionClosed, asyncio.CancelledError):
            pass

    async def observe():
        while True:
            m = json.loads(await obs.recv())
            if m["type"] == "presence":
                counts["presence"] += 1

    tasks = [asyncio.ensure_future(churner(k, ws)) for k, ws in enumerate(churn)]
    tasks += [asyncio.ensure_future(drain(ws)) for ws in churn] + [asyncio.ensure_future(observe())]
    await asyncio.sleep(0.5)
    n0, t0 = counts["presence"], time.monotonic()
    rtts = []
    for i in range(5):
        t = time.monotonic()
        ws, _ = await joined(u, "storm", "normal%d" % i)
        await ws.send(json.dumps({"type": "message", "text": "rt%d" % i}))
        await recv_until(ws, lambda m: m["type"] == "message" and m["text"] == "rt%d" % i, 5)
        rtts.append(time.monotonic() - t)
        await ws.close()
        await asyncio.sleep(0.3)
    await asyncio.sleep(max(0, 3 - (time.monotonic() - t0)))
    rate = (counts["presence"] - n0) / (time.monotonic() - t0)
    stop.set()
    for t in tasks:
        t.cancel()
    for ws in churn:
        await ws.close()
    await obs.close()
    check("join/leave storm of 100 members: %.1f presence envelopes a second reach a member (at most 4 + 1)"
          % rate, rate <= 5, rate)
    check("join/leave storm: a normal client's join + message round trip %.0f ms at most (under 500 ms)"
          % (max(rtts) * 1000), max(rtts) < 0.5, rtts)


async def odd_token(binary, page):
    srv = Server(binary, page, "--token", "a+b/c=")
    try:
        base = "ws://127.0.0.1:%d/ws?token=" % srv.port
        check("token with + / =: sent as is, 101", await status_of(base + "a+b/c=") == 101)
        check("token with + / =: percent-encoded, 101", await status_of(base + "a%2Bb%2Fc%3D") == 101)
        check("token with + / =: '+' is not a space, 401", await status_of(base + "a%20b/c=") == 401)
        check("token with + / =: a bad escape, 401", await status_of(base + "a%2") == 401)
    finally:
        srv.stop()


async def main():
    os.environ["MALLOC_PERTURB_"] = "165"  # freed memory is garbage: a use after free shows
    ap = argparse.ArgumentParser()
    ap.add_argument("--bin", required=True)
    ap.add_argument("--page", required=True)
    args = ap.parse_args()
    binary = os.path.join(args.bin, "chat-server")
    srv = Server(binary, args.page, "--history", "5", "--rate", "100", "--burst", "50",
                 "--allow-origin", "https://chat.example", "--ping-interval", "1")
    try:
        await asyncio.wait_for(functional(srv), 30)
        await asyncio.wait_for(reset_in_batch(srv), 15)
        await asyncio.get_running_loop().run_in_executor(None, heartbeat, srv)
    finally:
        srv.stop()
    srv = Server(binary, args.page, "--rate", "5", "--burst", "10", "--idle-timeout", "2")
    try:
        await asyncio.wait_for(rate_limited(srv), 15)
    finally:
        srv.stop()
    await asyncio.wait_for(shutdown(binary, args.page), 15)
    await asyncio.wait_for(odd_token(binary, args.page), 15)
    srv = Server(binary, args.page, "--history", "60", "--rate", "1000", "--burst", "1000")
    try:
        await asyncio.wait_for(resume(srv, 60), 20)
        await asyncio.wait_for(rooms_exhaust(srv), 20)
        await asyncio.wait_for(presence_storm(srv), 30)
    finally:
        srv.stop()
    srv = Server(binary, args.page, "--rate", "100", "--burst", "20", "--max-queue", "262144",
                 "--close-timeout", "10")
    try:
        await asyncio.wait_for(slow_readers(srv, 262144), 40)
    finally:
        srv.stop()
    srv = Server(binary, args.page, "--rate", "5", "--burst", "10")
    try:
        await asyncio.wait_for(stalled(srv), 20)
    finally:
        srv.stop()


if __name__ == "__main__":
    try:
        asyncio.run(main())
    except Exception as e:  # a hang or a crash is a failure, and says where
        import traceback
        traceback.print_exc()
        results.append(False)
    print("chat-server: %d passed, %d failed" % (results.count(True), results.count(False)))
    sys.exit(0 if results and all(results) else 1)
