#!/usr/bin/python3
"""The chat server's logic without a browser: page and 404, auth (401),
origin (403), rooms, presence, history, bad JSON, names, rate limit (1008),
size limit (1009), heartbeats, SIGTERM. Python's websockets (Debian
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


if __name__ == "__main__":
    try:
        asyncio.run(main())
    except Exception as e:  # a hang or a crash is a failure, and says where
        import traceback
        traceback.print_exc()
        results.append(False)
    print("chat-server: %d passed, %d failed" % (results.count(True), results.count(False)))
    sys.exit(0 if results and all(results) else 1)
