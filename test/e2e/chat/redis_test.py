#!/usr/bin/python3
"""Scale-out of the chat demo (README, "Scaling out"): a real redis-server on
a free loopback port, two chat-server instances with --redis, and a real nginx
in front of them (demos/chat/nginx.conf.in). Clients through nginx and
directly on each instance: messages cross instances in one order per room and
none is lost, history and presence counts agree, nginx spreads clients over
both instances; a stopped Redis blocks nothing; a killed Redis leaves local
rooms working, and after a restart on the same port fan-out resumes, seq
still rising, and a page resuming from before the restart is told of the
gap; a page in Chromium and a client whose instance is killed -9 resume on
the other through nginx; with --redis, rooms cannot be used up and a
stopped instance closes nobody with 1008. The
single-instance suite of server_test.py runs once more against a third
instance with --redis. Everything runs in its own process group and is killed
at the end, even on failure. Prints "chat-redis: N passed, M failed"."""
import argparse
import asyncio
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time

import websockets

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import server_test as st  # noqa: E402  (check(), results, functional())

TOKEN = st.TOKEN
check = st.check
procs = []


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    p = s.getsockname()[1]
    s.close()
    return p


def spawn(argv, log):
    p = subprocess.Popen(argv, stdout=open(log, "w"), stderr=subprocess.STDOUT, start_new_session=True)
    procs.append(p)
    return p


def stop(p, sig=signal.SIGKILL):
    if p.poll() is None:
        try:
            os.killpg(p.pid, sig)
        except ProcessLookupError:
            pass
    try:
        p.wait(5)
    except subprocess.TimeoutExpired:
        os.killpg(p.pid, signal.SIGKILL)
        p.wait()


def wait_for(pred, timeout, what):
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if pred():
            return True
        time.sleep(0.05)
    raise RuntimeError("timed out waiting for " + what)


def port_open(port):
    try:
        socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
        return True
    except OSError:
        return False


class Redis:
    def __init__(self, work):
        self.port, self.dir = free_port(), os.path.join(work, "redis")
        os.makedirs(self.dir, exist_ok=True)
        self.p = None

    def start(self):
        self.p = spawn(["redis-server", "--port", str(self.port), "--bind", "127.0.0.1", "--save", "",
                        "--appendonly", "no", "--dir", self.dir, "--daemonize", "no"],
                       os.path.join(self.dir, "redis.log"))
        wait_for(lambda: port_open(self.port), 10, "redis-server")

    def cmd(self, *args):
        return subprocess.run(["redis-cli", "-p", str(self.port), *args], capture_output=True, text=True,
                              timeout=5).stdout.strip()


class Chat:
    """A chat-server with --redis; its log is a file, so it never blocks on a full pipe."""

    def __init__(self, binary, page, work, name, redis_port, *args):
        self.name, self.log = name, os.path.join(work, "chat-%s.log" % name)
        self.p = spawn([binary, "--port", "0", "--token", TOKEN, "--page", page, "--redis",
                        "127.0.0.1:%d" % redis_port, "--instance", name, *args], self.log)
        wait_for(lambda: "chat: open http://" in self.text(), 10, name + "'s port")
        self.port = int(self.text().split("chat: open http://127.0.0.1:")[1].split("/")[0])

    def text(self):
        with open(self.log) as f:
            return f.read()

    def ups(self):
        return self.text().count(" up (instance ")

    def downs(self):
        return self.text().count("local delivery, retrying")

    def url(self, path="/ws", token=TOKEN):
        return "ws://127.0.0.1:%d%s" % (self.port, path + ("?token=" + token if token is not None else ""))


def nginx_start(work, port, a, b):
    prefix = os.path.join(work, "nginx")
    for d in ("body", "proxy", "fastcgi", "uwsgi", "scgi"):
        os.makedirs(os.path.join(prefix, "tmp", d), exist_ok=True)
    here = os.path.dirname(os.path.abspath(__file__))
    with open(os.path.join(here, "..", "..", "..", "demos", "chat", "nginx.conf.in")) as f:
        conf = f.read()
    # As root (CI), workers become nobody; they only use descriptors the
    # master opened, so the build directory's permissions do not matter.
    user = "user nobody nogroup;" if os.geteuid() == 0 else "# (not root: no user switch)"
    for k, v in (("@USER@", user), ("@PREFIX@", prefix), ("@PORT@", str(port)),
                 ("@UPSTREAM_A@", "127.0.0.1:%d" % a), ("@UPSTREAM_B@", "127.0.0.1:%d" % b)):
        conf = conf.replace(k, v)
    with open(os.path.join(prefix, "nginx.conf"), "w") as f:
        f.write(conf)
    # Debian puts nginx in /usr/sbin, which a user's PATH may lack.
    binary = shutil.which("nginx") or "/usr/sbin/nginx"
    p = spawn([binary, "-p", prefix, "-e", os.path.join(prefix, "error.log"), "-c",
               os.path.join(prefix, "nginx.conf"), "-g", "daemon off;"], os.path.join(prefix, "stdout.log"))
    wait_for(lambda: port_open(port) or p.poll() is not None, 10, "nginx")
    if p.poll() is not None:
        raise RuntimeError("nginx exited: " + open(os.path.join(prefix, "error.log")).read())
    return p


async def join(url, room, user):
    ws, m = await st.joined(url, room, user)
    return ws, m


async def join_since(url, room, user, since):
    ws = await websockets.connect(url, open_timeout=3)
    await ws.send(json.dumps({"type": "join", "room": room, "user": user, "since": since}))
    m = await st.recv_until(ws, lambda m: m["type"] == "joined")
    return ws, m


async def instance_killed(A, B, ng, redis, chromium):
    """A page in Chromium, through nginx, and a client on the same instance;
    that instance is killed (-9) while another member sends 50 messages;
    both come back through nginx, on the other instance, and resume: all 50,
    once, in order."""
    nurl = "ws://127.0.0.1:%d/ws?token=%s" % (ng, TOKEN)
    page = subprocess.Popen(["node", os.path.join(os.path.dirname(os.path.abspath(__file__)), "browser_resume.js"),
                             "--url", "http://127.0.0.1:%d/?token=%s&user=page&room=nine" % (ng, TOKEN),
                             "--chromium", chromium], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    procs.append(page)
    line = await asyncio.get_running_loop().run_in_executor(None, page.stdout.readline)
    if line.strip() != "joined":
        raise RuntimeError("the page did not join: " + line)
    victim, other = (A, B) if redis.cmd("HGET", "chat:pres:nine", "A") == "1" else (B, A)
    p, _ = await join(victim.url(), "nine", "client")
    await p.send(json.dumps({"type": "message", "text": "hello"}))
    m = await st.recv_until(p, lambda m: m["type"] == "message")
    last = m["seq"]
    s, _ = await join(other.url(), "nine", "bob")
    stop(victim.p)
    code = await st.close_code(p, 5)
    for i in range(50):
        await s.send(json.dumps({"type": "message", "text": "n-%d" % i}))
    await collect(s, 50)
    page.stdin.write("sent 50\n")
    page.stdin.flush()
    q, jq = await join_since(nurl, "nine", "client", last)
    rep = await collect(q, 50, kind="message")  # replayed ones carry "replay", not "history"
    await s.send(json.dumps({"type": "message", "text": "live"}))
    live = await st.recv_until(q, lambda m: m["type"] == "message")
    await q.send(json.dumps({"type": "message", "text": "where"}))
    where = await st.recv_until(q, lambda m: m["type"] == "message" and m["text"] == "where")
    check("instance %s killed -9 (page closed %s): back through nginx on %s, resumed: %d replayed"
          % (victim.name, code, where["inst"], len(rep)),
          jq.get("resumed") is True and where["inst"] == other.name and
          [m["text"] for m in rep] == ["n-%d" % i for i in range(50)] and all(m.get("replay") for m in rep) and
          [m["seq"] for m in rep] == list(range(last + 1, last + 51)) and live["text"] == "live",
          (jq, [m["text"] for m in rep][:3], live))
    line = await asyncio.get_running_loop().run_in_executor(None, page.stdout.readline)
    r = json.loads(line or "{}")
    check("Chromium through nginx, instance %s killed -9: the page came back (%s opens), resumed, shows the 50 "
          "once, in order (%d shown)" % (victim.name, r.get("opens"), len(r.get("numbers", []))),
          r.get("opens") == 2 and r.get("resumed") and r.get("gaps") == 0 and r.get("numbers") == list(range(50)), r)
    page.wait(10)
    for ws in (s, q):
        await ws.close()


async def collect(ws, n, kind="message", timeout=10):
    got, end = [], time.monotonic() + timeout
    while len(got) < n:
        m = await st.recv_json(ws, max(0.05, end - time.monotonic()))
        if m["type"] == kind and not m.get("history"):
            got.append(m)
    return got


async def silent(ws, kind="message", timeout=0.5):
    try:
        m = await st.recv_until(ws, lambda m: m["type"] == kind, timeout)
        return m
    except asyncio.TimeoutError:
        return None


async def scale_out(A, B, ng, redis):
    nurl = "ws://127.0.0.1:%d/ws?token=%s" % (ng, TOKEN)
    # The page through nginx.
    r = st.http_get(ng, "/", b"Connection: close\r\n")  # else nginx keeps it open
    check("nginx: GET / serves the page", r.startswith(b"HTTP/1.1 200 ") and b"<!doctype html>" in r, r[:80])

    # One room, members on A, on B and through nginx; senders on A and on B
    # at once: everyone sees the same order, each sender's messages in its
    # order, and none lost (seq runs without gaps).
    a1, ja = await join(A.url(), "order", "a1")
    b1, jb = await join(B.url(), "order", "b1")
    n1, _ = await join(nurl, "order", "n1")
    n2, _ = await join(nurl, "order", "n2")
    check("presence: the second member (other instance) counts 2", ja["count"] == 1 and jb["count"] == 2,
          (ja, jb))
    N = 200

    async def send(ws, tag):
        for i in range(N):
            await ws.send(json.dumps({"type": "message", "text": "%s%d" % (tag, i)}))

    await asyncio.gather(send(a1, "A"), send(b1, "B"))
    seqs = {}
    for name, ws in (("a1", a1), ("b1", b1), ("n1", n1), ("n2", n2)):
        got = await collect(ws, 2 * N)
        seqs[name] = [(m.get("seq"), m["text"]) for m in got]
    ref = seqs["a1"]
    check("400 messages from two instances: one order on every client", all(v == ref for v in seqs.values()),
          {k: v[:3] for k, v in seqs.items()})
    s = [q for q, _ in ref]
    check("no message lost: seq without gaps", None not in s and s == list(range(s[0], s[0] + 2 * N)), s[:5])
    texts = [t for _, t in ref]
    check("each sender's messages in its order",
          [t for t in texts if t[0] == "A"] == ["A%d" % i for i in range(N)] and
          [t for t in texts if t[0] == "B"] == ["B%d" % i for i in range(N)], texts[:5])

    # nginx spreads clients over both instances (round robin, no stickiness):
    # "inst" says which instance took each message.
    await n1.send(json.dumps({"type": "message", "text": "from n1"}))
    await n2.send(json.dumps({"type": "message", "text": "from n2"}))
    got = await collect(a1, 2)
    check("nginx: the two clients landed on different instances", {m["inst"] for m in got} == {"A", "B"}, got)

    # History from Redis: the same last 100 (--history 100) on both instances.
    hist = {}
    for name, url in (("A", A.url()), ("B", B.url())):
        ws = await websockets.connect(url, open_timeout=3)
        await ws.send(json.dumps({"type": "join", "room": "order", "user": "late" + name}))
        await st.recv_until(ws, lambda m: m["type"] == "joined")
        hist[name] = [(await st.recv_json(ws)) for _ in range(100)]
        await ws.close()
    check("history: the same 100 on both instances",
          [m.get("text") for m in hist["A"]] == [m.get("text") for m in hist["B"]] and
          all(m.get("history") for m in hist["A"]) and  # n1 and n2 raced on two instances:
          {m.get("text") for m in hist["A"][-2:]} == {"from n1", "from n2"},
          [m.get("text") for m in hist["A"]][-3:])

    # Presence: counts agree whichever instance tells them.
    p1, j1 = await join(A.url(), "pres", "p1")
    p2, j2 = await join(B.url(), "pres", "p2")
    m = await st.recv_until(p1, lambda m: m["type"] == "presence" and m["user"] == "p2")
    check("presence: B's join reaches A with count 2", j1["count"] == 1 and j2["count"] == 2 and m["count"] == 2,
          (j1, j2, m))
    p3, j3 = await join(nurl, "pres", "p3")
    m1 = await st.recv_until(p1, lambda m: m["type"] == "presence" and m["user"] == "p3")
    m2 = await st.recv_until(p2, lambda m: m["type"] == "presence" and m["user"] == "p3")
    check("presence: a third through nginx, 3 on both", j3["count"] == m1["count"] == m2["count"] == 3,
          (j3, m1, m2))
    await p2.close()
    m1 = await st.recv_until(p1, lambda m: m["type"] == "presence" and m["user"] == "p2")
    m3 = await st.recv_until(p3, lambda m: m["type"] == "presence" and m["user"] == "p2")
    check("presence: a hang-up on B counts 2 everywhere", m1["text"] == "left" and m1["count"] == m3["count"] == 2,
          (m1, m3))
    check("presence in Redis: one field per instance", redis.cmd("HGET", "chat:pres:pres", "A") == "1", "")
    for ws in (a1, b1, n1, n2, p1, p3):
        await ws.close()


async def redis_outage(A, B, redis):
    a1, _ = await join(A.url(), "down", "a1")
    a2, _ = await join(A.url(), "down", "a2")
    b1, _ = await join(B.url(), "down", "b1")
    v1, _ = await join(A.url(), "void", "v1")
    await a1.send(json.dumps({"type": "message", "text": "before"}))
    seq_before = (await st.recv_until(b1, lambda m: m["type"] == "message"))["seq"]
    for ws in (a1, a2):
        await st.recv_until(ws, lambda m: m["type"] == "message")

    # A stopped Redis: the event loop goes on (the page still answers at
    # once), and after CR_STALL_MS the instances give up on it.
    t_stop = time.monotonic()
    os.kill(redis.p.pid, signal.SIGSTOP)
    try:
        t = time.monotonic()
        r = await asyncio.get_running_loop().run_in_executor(None, st.http_get, A.port, "/")
        check("Redis stopped: the server still answers at once", r.startswith(b"HTTP/1.1 200 ") and
              time.monotonic() - t < 1, time.monotonic() - t)
        downs = A.downs()
        # Its own room: Redis may still run it once continued, for B's members.
        await v1.send(json.dumps({"type": "message", "text": "into the void"}))
        # Polled from before it can happen, every 0.1 s: the log line is
        # stamped within that of its writing. The stall clock starts with a
        # command Redis did not answer, none before the SIGSTOP: 5 s after
        # it at the earliest, give or take Redis's last answer.
        end = t_stop + 10
        while A.downs() == downs and time.monotonic() < end:
            await asyncio.sleep(0.1)
        after = time.monotonic() - t_stop
        check("Redis stopped: the instance notices (no answer in 5 s) and goes local (%.1f s after the stop)"
              % after, A.downs() > downs and after >= 4, A.text()[-300:])
    finally:
        os.kill(redis.p.pid, signal.SIGCONT)
    await asyncio.sleep(0.3)
    end = time.monotonic() + 10
    while (A.ups() < 2 or B.ups() < 1) and time.monotonic() < end:
        await asyncio.sleep(0.1)

    # A killed Redis: both instances deliver locally.
    downs_a, downs_b = A.downs(), B.downs()
    stop(redis.p)
    end = time.monotonic() + 5
    while (A.downs() == downs_a or B.downs() == downs_b) and time.monotonic() < end:
        await asyncio.sleep(0.05)
    check("Redis killed: both instances notice", A.downs() > downs_a and B.downs() > downs_b)
    for i in range(5):
        await a1.send(json.dumps({"type": "message", "text": "local%d" % i}))
    got = await collect(a2, 5, timeout=5)
    check("Redis down: the room still works on one instance, in order",
          [m["text"] for m in got] == ["local%d" % i for i in range(5)], got)
    seq_local = max(m.get("seq", 0) for m in got)  # 0: none
    await collect(a1, 5, timeout=5)  # the sender's own copies
    m = await silent(b1, timeout=0.5)
    check("Redis down: the other instance's members do not get it (local only)", m is None, m)
    b2, jb2 = await join(B.url(), "down", "b2")
    check("Redis down: joins still work (local count)", jb2["count"] == 2, jb2)

    # Back on the same port: both reconnect (backoff up to 5 s), register
    # their members again, and fan-out resumes.
    ups_a, ups_b = A.ups(), B.ups()
    redis.start()
    end = time.monotonic() + 15
    while (A.ups() == ups_a or B.ups() == ups_b) and time.monotonic() < end:
        await asyncio.sleep(0.05)
    check("Redis back: both instances reconnect", A.ups() > ups_a and B.ups() > ups_b, B.text()[-300:])
    for i in range(50):
        await a1.send(json.dumps({"type": "message", "text": "again%d" % i}))
    ok, seqs = True, []
    for ws in (a1, a2, b1, b2):
        got = await collect(ws, 50, timeout=10)
        ok = ok and [m["text"] for m in got] == ["again%d" % i for i in range(50)]
        seqs = [m["seq"] for m in got]
    check("Redis back: fan-out across instances resumes, in order, nothing lost", ok)
    check("Redis restarted empty: seq never goes backwards (%d before, %d during the outage, %d after)"
          % (seq_before, seq_local, seqs[0]), seq_before < seq_local < seqs[0] and
          seqs == list(range(seqs[0], seqs[0] + 50)), (seq_before, seq_local, seqs[:3]))
    r, jr = await join_since(B.url(), "down", "returning", seq_before)
    g = await st.recv_json(r)
    check("Redis restarted empty: resuming from before it, a gap is reported (resumed false)",
          jr.get("resumed") is False and g["type"] == "gap" and g["since"] == seq_before, (jr, g))
    await r.close()
    n, jn = await join(B.url(), "down", "newcomer")
    check("Redis back: presence re-registered (2 on A + 2 on B + 1)", jn["count"] == 5, jn)
    check("Redis back: Redis holds both instances' counts",
          redis.cmd("HGET", "chat:pres:down", "A") == "2" and redis.cmd("HGET", "chat:pres:down", "B") == "3", "")
    # SCRIPT FLUSH (an operator, or a Redis failover): the first EVALSHA
    # fails with NOSCRIPT, the instance reconnects and loads them again.
    redis.cmd("SCRIPT", "FLUSH")
    ups_a = A.ups()
    await a1.send(json.dumps({"type": "message", "text": "lost to NOSCRIPT"}))
    end = time.monotonic() + 10
    while A.ups() == ups_a and time.monotonic() < end:
        await asyncio.sleep(0.05)
    await a1.send(json.dumps({"type": "message", "text": "after the flush"}))
    m = await st.recv_until(b1, lambda m: m["type"] == "message" and m["text"] == "after the flush", 10)
    check("SCRIPT FLUSH: the instance loads its scripts again and fan-out goes on",
          A.ups() > ups_a and m["inst"] == "A", A.text()[-300:])
    for ws in (a1, a2, b1, b2, n, v1):
        await ws.close()


async def main(args, work):
    os.environ["MALLOC_PERTURB_"] = "165"  # freed memory is garbage: a use after free shows
    binary = os.path.join(args.bin, "chat-server")
    redis = Redis(work)
    redis.start()
    ng = free_port()  # the page comes from nginx's origin
    fast = ("--history", "100", "--rate", "1000", "--burst", "1000", "--allow-origin", "http://127.0.0.1:%d" % ng)
    A = Chat(binary, args.page, work, "A", redis.port, *fast)
    B = Chat(binary, args.page, work, "B", redis.port, *fast)
    wait_for(lambda: A.ups() and B.ups(), 10, "both instances up")
    nginx_start(work, ng, A.port, B.port)
    await asyncio.wait_for(scale_out(A, B, ng, redis), 60)
    # server_test.py's whole single-instance suite, now with Redis behind it.
    C = Chat(binary, args.page, work, "C", redis.port, "--history", "5", "--rate", "100", "--burst", "50",
             "--allow-origin", "https://chat.example", "--ping-interval", "1")
    wait_for(lambda: C.ups(), 10, "instance C up")
    n = len(st.results)
    await asyncio.wait_for(st.functional(C), 30)
    await asyncio.wait_for(st.reset_in_batch(C), 15)
    await asyncio.wait_for(st.resume(C, 5), 15)
    await asyncio.wait_for(st.rooms_exhaust(C), 20)
    check("server_test.py's suite with --redis (%d checks above)" % (len(st.results) - n),
          all(st.results[n:]))
    stop(C.p, signal.SIGTERM)
    # A stopped instance: its clients are not closed 1008 at SIGCONT, and
    # their messages go through Redis in order.
    E = Chat(binary, args.page, work, "E", redis.port, "--rate", "5", "--burst", "10")
    wait_for(lambda: E.ups(), 10, "instance E up")
    await asyncio.wait_for(st.stalled(E), 20)
    stop(E.p)

    # An instance that exits on SIGTERM tells the others its members left
    # (the queued presence changes are flushed to Redis before it exits).
    e1, _ = await join(A.url(), "exit", "e1")
    D = Chat(binary, args.page, work, "D", redis.port)
    wait_for(lambda: D.ups(), 10, "instance D up")
    d1, jd = await join(D.url(), "exit", "d1")
    D.p.send_signal(signal.SIGTERM)
    try:
        m = await st.recv_until(e1, lambda m: m["type"] == "presence" and m["user"] == "d1" and
                                m["text"] == "left", 3)
    except asyncio.TimeoutError:
        m = None
    check("SIGTERM on one instance: the other's members see its members leave",
          jd["count"] == 2 and m and m["count"] == 1, (jd, m))
    await e1.close()
    stop(D.p)
    await asyncio.wait_for(redis_outage(A, B, redis), 60)
    for name, c in (("A", A), ("B", B)):
        check("instance %s still running" % name, c.p.poll() is None, c.text()[-300:])
    await asyncio.wait_for(instance_killed(A, B, ng, redis, args.chromium), 45)


if __name__ == "__main__":
    ap = argparse.ArgumentParser()
    ap.add_argument("--bin", required=True)
    ap.add_argument("--page", required=True)
    ap.add_argument("--work", required=True, help="scratch directory (logs, Redis, nginx)")
    ap.add_argument("--chromium", default="/usr/bin/chromium")
    args = ap.parse_args()
    # timeout(1) sends SIGTERM: exit through the finally below, which kills
    # redis-server, nginx and the instances, instead of leaving them behind.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit("killed by SIGTERM"))
    work = os.path.abspath(args.work)
    shutil.rmtree(work, ignore_errors=True)
    os.makedirs(work)
    try:
        asyncio.run(main(args, work))
    except Exception:  # a hang or a crash is a failure, and says where
        import traceback
        traceback.print_exc()
        st.results.append(False)
        for f in sorted(os.listdir(work)):
            if f.endswith(".log"):
                print("--- " + f + ":\n" + open(os.path.join(work, f)).read()[-1500:])
    finally:
        for p in procs:
            stop(p)
    print("chat-redis: %d passed, %d failed" % (st.results.count(True), st.results.count(False)))
    sys.exit(0 if st.results and all(st.results) else 1)
