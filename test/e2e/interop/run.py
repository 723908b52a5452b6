#!/usr/bin/env python3
"""Interop tests over loopback: our echo-server against the clients of Node's
`ws` and Python's `websockets`, and our ws-client against their servers, plus
a few raw-socket checks of the server's timeouts and shutdown; then the same
peers with permessage-deflate (RFC 7692) both ways: echo-server --deflate and
--deflate-low-memory against their clients' offers, ws-client --deflate
against their servers in several modes, with bytes on the wire counted.

    run.py --bin build/examples

Prints "ok CASE" or "FAIL CASE: why" per case and ends with
"interop: N passed, M failed"; exits 1 if anything failed. Every server binds
port 0 and reports the port it got, so runs never collide; every process has a
timeout and is killed at the end.
"""
import argparse
import asyncio
import base64
import os
import re
import signal
import socket
import struct
import shutil
import subprocess
import sys
import tempfile
import threading
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(os.path.dirname(HERE)))
sys.path.insert(0, os.path.dirname(HERE))
from rig import check, children, counts, kill_children  # noqa: E402


class Proc:
    """A child in its own process group whose output is collected by threads."""

    def __init__(self, argv, stdin=False, env=None):
        self.p = subprocess.Popen(argv, cwd=ROOT, start_new_session=True, env=env,
                                  stdin=subprocess.PIPE if stdin else subprocess.DEVNULL,
                                  stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        children.append(self.p)
        self.out, self.err = bytearray(), bytearray()
        # The readers stamp what arrives: (buffer length after a chunk,
        # time.monotonic()), and closed_at once both pipes are at EOF (the
        # child exited), so that a check times what the child did, not the
        # moment the test looked (arrived()).
        self.out_at, self.err_at, self.eofs, self.closed_at = [], [], 0, None
        self.cond = threading.Condition()
        self.readers = [threading.Thread(target=self._read, args=(f, b, at), daemon=True)
                        for f, b, at in ((self.p.stdout, self.out, self.out_at),
                                         (self.p.stderr, self.err, self.err_at))]
        for t in self.readers:
            t.start()

    def _read(self, f, buf, at):
        while True:
            chunk = f.read1(1 << 20)
            now = time.monotonic()
            with self.cond:
                buf += chunk
                if chunk:
                    at.append((len(buf), now))
                else:
                    self.eofs += 1
                    self.closed_at = now if self.eofs == 2 else None
                self.cond.notify_all()
            if not chunk:
                return

    def arrived(self, pattern, stream="err"):
        """When the first match of pattern (bytes) on stderr (or "out") had
        arrived whole, as the reader stamped it; None if it has not."""
        with self.cond:
            buf, at = (self.out, self.out_at) if stream == "out" else (self.err, self.err_at)
            m = re.search(pattern, bytes(buf))
            return next((t for n, t in at if n >= m.end()), None) if m else None

    def lines(self):
        with self.cond:
            return self.out.decode("utf-8", "replace").splitlines()

    def wait_for(self, pred, timeout):
        """Waits until pred() is true (checked as output arrives) or timeout."""
        end = time.monotonic() + timeout
        with self.cond:
            while not pred():
                left = end - time.monotonic()
                if left <= 0 or (self.p.poll() is not None and not any(t.is_alive() for t in self.readers)):
                    return pred()
                self.cond.wait(min(left, 0.1))
            return True

    def wait_line(self, pattern, timeout, start=0):
        """The first stdout line at index >= start matching pattern, or None."""
        found = []

        def pred():
            for line in self.out.decode("utf-8", "replace").splitlines()[start:]:
                m = re.search(pattern, line)
                if m:
                    found.append(m)
                    return True
            return False
        self.wait_for(pred, timeout)
        return found[0] if found else None

    def wait(self, timeout):
        try:
            return self.p.wait(timeout)
        except subprocess.TimeoutExpired:
            os.killpg(self.p.pid, signal.SIGKILL)
            self.p.wait()
            return None
        finally:
            for t in self.readers:
                t.join(5)

    def stop(self):
        if self.p.poll() is None:
            os.killpg(self.p.pid, signal.SIGTERM)
        if self.wait(5) is None:
            pass


def tail(b, n=300):
    s = b.decode("utf-8", "replace").strip()
    return s[-n:].replace("\n", " | ")


# --- our server, their clients --------------------------------------------

def start_echo_server(bindir, *flags, name="echo-server"):
    srv = Proc([os.path.join(bindir, name), "--port", "0", *flags])
    m = srv.wait_line(r"^listening on wss?://127\.0\.0\.1:(\d+)/$", 10)
    if not m:
        srv.stop()
        return None, None
    return srv, int(m.group(1))


def run_peer_client(label, argv, timeout, env=None):
    """Runs a peer script that prints ok/FAIL lines and "done"."""
    p = Proc(argv, env=env)
    finished = p.wait_for(lambda: b"\ndone\n" in b"\n" + p.out, timeout)
    p.wait(5)
    for line in p.lines():
        if line.startswith("ok "):
            check(True, f"{label}: {line[3:]}")
        elif line.startswith("FAIL "):
            check(False, f"{label}: {line[5:]}")
    if not finished:
        check(False, f"{label}: script did not finish", f"timeout or crash; stderr: {tail(p.err)}")


def guard_cases(bindir, name, node_ok, py_ok):
    """A second instance of NAME with --token and --origin, and the clients'
    cases for them: 401 without the token, 403 from another Origin, and in
    with the token (either way) and the allowed Origin or none."""
    token, origin = "s3cret-T0ken", "https://app.example"
    label = f"{name} --token --origin"
    srv, port = start_echo_server(bindir, "--token", token, "--origin", origin, name=name)
    if not check(srv is not None, f"{label} starts and prints its port"):
        return
    url = f"ws://127.0.0.1:{port}"
    if node_ok:
        run_peer_client(f"node ws client -> {label}",
                        ["node", os.path.join(HERE, "node_client.mjs"), url, str(srv.p.pid), "--guard", token, origin],
                        60)
    if py_ok:
        run_peer_client(f"python websockets client -> {label}",
                        [sys.executable, os.path.join(HERE, "py_client.py"), url, "--guard", token, origin], 60)
    alive = srv.p.poll() is None
    srv.stop()
    check(alive and srv.p.returncode == 0, f"{label} survived every case and exited 0 on SIGTERM",
          f"rc {srv.p.returncode}; stderr {tail(srv.err)}")


# --- our client, their servers ---------------------------------------------

def run_client(bindir, url, args=(), feed=(), want_lines=None, want_err=None, eof=True, timeout=30, procs=None):
    """Runs ws-client, writes feed (bytes are lines, numbers are pauses in
    seconds, a str is a pattern to wait for on stderr), waits for want_lines
    stdout lines (default: one per line fed) or want_err on stderr, then
    closes stdin if eof. Returns (rc, out, err); rc is None if it had to be
    killed. CLIENT_ARGS go first (--ca for wss://). procs: a list that gets
    the Proc (its arrival stamps)."""
    p = Proc([os.path.join(bindir, "ws-client"), url, *CLIENT_ARGS, *args], stdin=True)
    if procs is not None:
        procs.append(p)

    def writer():
        try:
            for item in feed:
                if isinstance(item, (int, float)):
                    time.sleep(item)
                elif isinstance(item, str):
                    p.wait_for(lambda: p.arrived(item.encode()) is not None, timeout)
                else:
                    p.p.stdin.write(item + b"\n")
                    p.p.stdin.flush()
        except (BrokenPipeError, ValueError):
            pass
    w = threading.Thread(target=writer, daemon=True)
    w.start()
    if want_lines is None:
        want_lines = sum(1 for i in feed if isinstance(i, bytes))
    p.wait_for(lambda: p.out.count(b"\n") >= want_lines and
               (want_err is None or re.search(want_err, p.err.decode("utf-8", "replace"))), timeout)
    w.join(timeout)
    if eof:
        try:
            p.p.stdin.close()
        except BrokenPipeError:
            pass
    rc = p.wait(10)
    try:
        p.p.stdin.close()
    except (BrokenPipeError, ValueError):
        pass
    return rc, bytes(p.out), p.err.decode("utf-8", "replace")


CLIENT_ARGS = []


def client_cases(bindir, peer, srv, port, base=None):
    base = base or f"ws://127.0.0.1:{port}"
    name = f"ws-client -> {peer} server"

    def server_logged(pattern, mark):
        return srv.wait_line(pattern, 5, start=mark) is not None

    def lines_equal(label, out, sent, names):
        got = out.split(b"\n")
        for i, n in enumerate(names):
            ok = i < len(got) and got[i] == sent[i]
            check(ok, f"{name}: {label} {n}",
                  f"got {len(got[i]) if i < len(got) else 'no'} bytes, want {len(sent[i])}")

    # Text of several sizes, then stdin EOF: close 1000, exit 0.
    mark = len(srv.lines())
    sent = [b"hello", "héllo wörld ✓ 🎉".encode(), b"", b"a" * 125, b"b" * 126, b"c" * 65535,
            b"d" * 65536, ("é✓🎉x" * 1677722).encode()]
    rc, out, err = run_client(bindir, base + "/text?x=1", feed=sent)
    lines_equal("text", out, sent, ["hello", "utf-8", "empty", "125 bytes", "126 bytes",
                                    "65535 bytes", "65536 bytes", "16 MiB (multibyte UTF-8)"])
    check(rc == 0, f"{name}: stdin EOF -> exit 0", f"rc {rc}; {err.strip()[-200:]}")
    check(server_logged(r"^closed 1000 $", mark), f"{name}: stdin EOF -> server saw close 1000")

    # Binary, printed raw with --print-binary (lines must not contain \n).
    sent = [os.urandom(n).replace(b"\n", b"\x0b") for n in (1000, 0, 125, 126, 65535, 65536, 16 << 20)]
    rc, out, err = run_client(bindir, base, ["--binary", "--print-binary"], feed=sent)
    lines_equal("binary", out, sent, ["1000 bytes", "empty", "125 bytes", "126 bytes", "65535 bytes",
                                      "65536 bytes", "16 MiB"])

    # Binary without --print-binary: stdout stays empty, stderr notes the length.
    rc, out, err = run_client(bindir, base, ["--binary"], feed=[b"z" * 1000], want_lines=0,
                              want_err=r"binary message: 1000 bytes")
    check(out == b"" and "binary message: 1000 bytes" in err and rc == 0,
          f"{name}: binary message noted on stderr only", f"stdout {out[:40]!r}, stderr {err[-200:]!r}")

    # Fragmented messages from the server.
    rc, out, err = run_client(bindir, base, ["--print-binary"], feed=[b"__frag", b"__fragbin"])
    check(out == b"fragmented\n\x00\x01\x02\xfe\xff\x7f\n", f"{name}: fragmented text and binary",
          f"got {out!r}")

    # The server pings, we pong with its payload.
    rc, out, err = run_client(bindir, base, feed=[b"__ping"])
    check(out == b"pong srv\n", f"{name}: server ping -> our pong", f"got {out!r}")

    # Our keepalive pings: the server counts them, we log each matching pong.
    # The 1.1 s count from the connection (not from the start of a process
    # that may take a while to connect); at most one ping per 0.2 s between
    # the connection and the answer, as stamped on arrival.
    procs = []
    rc, out, err = run_client(bindir, base, ["--ping-interval", "0.2", "-v"],
                              feed=["connected to", 1.1, b"__pings"], procs=procs)
    m = re.match(rb"pings (\d+)\n$", out)
    pongs = err.count("ws-client: pong")
    t_conn, t_answer = procs[0].arrived(rb"connected to"), procs[0].arrived(rb"pings \d+\n", "out")
    window = t_answer - t_conn if t_conn and t_answer else 0
    most = window / 0.2 + 3
    check(m is not None and 3 <= int(m.group(1)) <= most and pongs >= 3,
          f"{name}: --ping-interval 0.2 pings answered ({m and int(m.group(1))} in {window:.1f} s)",
          f"stdout {out!r}, {pongs} pongs logged, at most {most:.0f} pings expected")

    # Extra headers and subprotocols.
    rc, out, err = run_client(bindir, base, ["-H", "X-Test: forty two"], feed=[b"__hdr X-Test"])
    check(out == b"hdr forty two\n", f"{name}: -H header reaches the server", f"got {out!r}")
    rc, out, err = run_client(bindir, base, ["-s", "chat"], feed=[b"__proto"])
    check(out == b"proto chat\n" and "(subprotocol chat)" in err, f"{name}: -s chat -> chat",
          f"stdout {out!r}, stderr {err.strip()!r}")
    rc, out, err = run_client(bindir, base, ["-s", "foo", "-s", "chat"], feed=[b"__proto"])
    check(out == b"proto chat\n", f"{name}: -s foo -s chat -> chat", f"got {out!r}")
    rc, out, err = run_client(bindir, base, [], feed=[b"__proto"])
    check(out == b"proto \n" and "subprotocol" not in err, f"{name}: no -s -> no subprotocol",
          f"got {out!r}")

    # Our close code and reason at EOF.
    mark = len(srv.lines())
    rc, out, err = run_client(bindir, base, ["--close", "4002:going away"], feed=[b"x"])
    check(rc == 0 and server_logged(r"^closed 4002 going away$", mark),
          f"{name}: --close 4002:going away -> server saw 4002 \"going away\"",
          f"rc {rc}, server log {srv.lines()[mark:]}")

    # The server closes with 4001 "bye": we print it, echo 4001, exit 1.
    mark = len(srv.lines())
    rc, out, err = run_client(bindir, base, feed=[b"__close 4001 bye"], want_lines=0,
                              want_err=r"closed by server", eof=False)
    check("closed by server: 4001 bye" in err and rc == 1, f"{name}: server close 4001 \"bye\" reported, exit 1",
          f"rc {rc}, stderr {err.strip()!r}")
    check(server_logged(r"^closed 4001 ", mark), f"{name}: server close 4001 -> we echoed 4001",
          f"server log {srv.lines()[mark:]}")

    # Rejected handshake.
    rc, out, err = run_client(bindir, base + "/reject401", feed=[], eof=False)
    check(rc == 1 and "rejected: HTTP 401" in err and out == b"", f"{name}: 401 -> \"rejected: HTTP 401\", exit 1",
          f"rc {rc}, stderr {err.strip()!r}")

    if peer != "node":
        return
    # A server that never answers pings is declared dead: a ping after 0.3 s
    # of silence, dead 0.3 s later (0.6 s after the 101), as stamped when
    # ws-client's lines arrived.
    procs = []
    rc, out, err = run_client(bindir, base + "/nopong", ["--ping-interval", "0.3"], want_lines=0,
                              want_err=r"no pong", eof=False, timeout=10, procs=procs)
    t_conn, t_dead = procs[0].arrived(rb"connected to"), procs[0].arrived(rb"no pong within")
    after = t_dead - t_conn if t_conn and t_dead else -1
    check(rc == 1 and "no pong within" in err and 0.45 <= after <= 3,
          f"{name}: no pong within --ping-interval -> dead, exit 1 ({after:.2f} s after connecting)",
          f"rc {rc}, stderr {err.strip()!r}")

    # --reconnect after the server drops the connection without a close.
    rc, out, err = run_client(bindir, base + "/dropfirst", ["--reconnect"], want_lines=2, timeout=15)
    check(out == b"conn 1\nconn 2\n" and "reconnecting in" in err and rc == 0,
          f"{name}: --reconnect after a dropped connection", f"rc {rc}, stdout {out!r}, stderr {err.strip()!r}")


# --- permessage-deflate -----------------------------------------------------

def ext_params(s):
    """permessage-deflate parameters from "a; b=10; c=True" (either peer's
    form) as (server no takeover, client no takeover, server bits, client bits)."""
    p = {"server_no_context_takeover": False, "client_no_context_takeover": False,
         "server_max_window_bits": 15, "client_max_window_bits": 15}
    for item in s.split(";"):
        k, _, v = item.strip().partition("=")
        if k == "permessage-deflate" or not k:
            continue
        p[k] = True if v in ("", "True") else False if v == "False" else int(v)
    return (p["server_no_context_takeover"], p["client_no_context_takeover"],
            p["server_max_window_bits"], p["client_max_window_bits"])


def json_lines(n, seed):
    """JSON-like records, n bytes of compressible ASCII without newlines."""
    out, size, i = [], 0, seed
    while size < n:
        rec = f'{{"id":{i},"user":"user{i % 97}","active":{str(i % 3 == 0).lower()},"score":{i * 7919 % 1000}}},'
        out.append(rec)
        size += len(rec)
        i += 1
    return "".join(out)[:n].encode()


def deflate_client_cases(bindir, label, url, params, big):
    """ws-client --deflate against a peer server at url that agrees to params
    (a tuple as ext_params gives). big: also the 16 MiB messages."""
    name = f"ws-client --deflate -> {label}"
    NL = b"\n"  # noqa: N806 (no backslashes inside f-strings before Python 3.12)
    snct, cnct, sbits, cbits = params
    up_plain = cbits < 9            # zlib cannot compress with 8 bits: we send plain
    reuse_up = not up_plain and not cnct and cbits >= 11  # a 2000-byte message refers back
    reuse_down = not snct and sbits >= 11

    rc, out, err = run_client(bindir, url, ["--deflate"], feed=[b"__ext"])
    m = re.search(r"connected to \S+ \((permessage-deflate[^)]*)\)", err)
    check(m is not None and ext_params(m.group(1)) == params and out.startswith(b"ext ")
          and ext_params(out[4:].decode().strip()) == params,
          f"{name}: agreed {params} (our view and the server's)", f"stderr {err.strip()!r}, stdout {out!r}")

    sent = [json_lines(n, n) for n in (1, 63, 64, 125, 126, 1000, 65535, 65536, 300000)] + [b""]
    sent.append("héllo wörld ✓ 🎉".encode() * 1000)
    if big:
        sent += [("é✓🎉x" * 1677722).encode(), json_lines(16 << 20, 3)]
    rc, out, err = run_client(bindir, url, ["--deflate"], feed=sent, timeout=60)
    check(out.split(b"\n")[:len(sent)] == sent and rc == 0,
          f"{name}: {len(sent)} text messages, empty to {'16 MiB' if big else '300 KB'}, echoed",
          f"rc {rc}, got lengths {[len(x) for x in out.split(NL)]}")

    sent = [os.urandom(n).replace(b"\n", b"\x0b") for n in (1, 125, 126, 65536, 300000)]
    sent += [json_lines(200000, 9)] + ([os.urandom(16 << 20).replace(b"\n", b"\x0b")] if big else [])
    rc, out, err = run_client(bindir, url, ["--deflate", "--binary", "--print-binary"], feed=sent, timeout=60)
    check(out.split(b"\n")[:len(sent)] == sent and rc == 0,
          f"{name}: {len(sent)} binary messages, random and JSON, to {'16 MiB' if big else '300 KB'}, echoed",
          f"rc {rc}, got lengths {[len(x) for x in out.split(NL)]}")

    rc, out, err = run_client(bindir, url, ["--deflate", "--print-binary"], feed=[b"__frag", b"__fragbin"])
    check(out == b"fragmented\n\x00\x01\x02\xfe\xff\x7f\n", f"{name}: fragmented text and binary from the server",
          f"got {out!r}")

    msg = json_lines(1 << 20, 11)
    rc, out, err = run_client(bindir, url, ["--deflate"], feed=[msg, b"__bytes"])
    lines = out.split(b"\n")
    m = re.match(rb"bytes (\d+) (\d+)$", lines[1]) if len(lines) > 1 else None
    r, w = (int(m.group(1)), int(m.group(2))) if m else (-1, -1)
    ok = lines[0] == msg and m and w < len(msg) / 4 and (r > len(msg) if up_plain else r < len(msg) / 4)
    check(ok, f"{name}: 1 MB of JSON: the server read {r} B"
          + (" (we may not compress: 8-bit window)" if up_plain else "") + f", wrote {w} B",
          f"echo {'ok' if lines[0] == msg else 'differs'}, {out[-80:]!r}")

    # Repeats: our compressor (and theirs) refers back into the previous
    # message only with context takeover and a window over 2000 bytes.
    msg = os.urandom(1000).hex().encode()
    rc, out, err = run_client(bindir, url, ["--deflate"], feed=[msg] * 20 + [b"__bytes"])
    lines = out.split(b"\n")
    m = re.match(rb"bytes (\d+) (\d+)$", lines[20]) if len(lines) > 20 else None
    r, w = (int(m.group(1)) / 20, int(m.group(2)) / 20) if m else (-1, -1)

    def fits(avg, reuse, plain):
        return avg > 2000 if plain else avg < 150 if reuse else 500 < avg < 2000
    check(lines[:20] == [msg] * 20 and m and fits(r, reuse_up, up_plain) and fits(w, reuse_down, False),
          f"{name}: 20 repeats of 2000 B: we sent {r:.0f} B each ("
          + ("plain" if up_plain else "back-references" if reuse_up else "no back-references")
          + f"), the server {w:.0f} B (" + ("back-references" if reuse_down else "no back-references") + ")",
          f"{out[-80:]!r}")


def peer_server(label, argv, env=None):
    srv = Proc(argv, env=env)
    m = srv.wait_line(r"^listening (\d+)$", 15)
    if not m:
        check(False, f"{label} server starts", tail(srv.err))
        srv.stop()
        return None, None
    return srv, int(m.group(1))


# --- raw sockets against our server -----------------------------------------

def request(path="/", key=True):
    k = base64.b64encode(os.urandom(16)).decode()
    return (f"GET {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
            + (f"Sec-WebSocket-Key: {k}\r\n" if key else "") + "Sec-WebSocket-Version: 13\r\n\r\n").encode()


def read_until_eof(s, timeout):
    s.settimeout(timeout)
    data = b""
    try:
        while True:
            chunk = s.recv(65536)
            if not chunk:
                return data, True
            data += chunk
    except (socket.timeout, ConnectionResetError):
        return data, False


def open_raw(port):
    s = socket.create_connection(("127.0.0.1", port), timeout=5)
    s.sendall(request())
    head = b""
    while b"\r\n\r\n" not in head:
        chunk = s.recv(4096)
        if not chunk:
            break
        head += chunk
    return s, head


def raw_cases(port, label):
    s = socket.create_connection(("127.0.0.1", port), timeout=5)
    s.sendall(request(key=False))
    data, eof = read_until_eof(s, 5)
    s.close()
    check(data.startswith(b"HTTP/1.1 400") and eof, f"{label}: request without a key -> HTTP 400, closed",
          f"got {data[:60]!r}, eof {eof}")

    s, head = open_raw(port)
    s.sendall(b"\x81\x02hi")  # unmasked: a protocol error from a client (RFC 6455 §5.1)
    data, eof = read_until_eof(s, 5)
    s.close()
    check(head.startswith(b"HTTP/1.1 101") and data[:1] == b"\x88" and data[2:4] == struct.pack("!H", 1002)
          and eof, f"{label}: unmasked client frame -> close 1002, closed", f"got {data[:30]!r}, eof {eof}")


def stamp_eof(s, t0, timeout=12):
    """A thread that reads s from now on and stamps the server's hang-up:
    result gets data, eof and after (seconds from t0 to the EOF), whenever
    the test gets around to looking; the thread closes s."""
    result = {}

    def wait():
        data, eof = read_until_eof(s, timeout)
        result.update(data=data, eof=eof, after=time.monotonic() - t0)
        s.close()
    t = threading.Thread(target=wait, daemon=True)
    t.start()
    return t, result


def start_handshake_timeout_probe(port):
    """Sends half a request; the server must hang up after its 5 s deadline."""
    s = socket.create_connection(("127.0.0.1", port), timeout=5)
    s.sendall(request()[:30])
    return stamp_eof(s, time.monotonic())


def sigterm_case(bindir, label, name="echo-server"):
    import websockets

    srv, port = start_echo_server(bindir, name=name)
    if not srv:
        return check(False, f"{label}: server starts")

    async def go():
        ws = await websockets.connect(f"ws://127.0.0.1:{port}/", ping_interval=None, close_timeout=10)
        await ws.send("before")
        echoed = await asyncio.wait_for(ws.recv(), 5)
        assert echoed == "before", f"echo before SIGTERM: {echoed!r}"
        mute, head = open_raw(port)  # opened, then never answers the close
        t0 = time.monotonic()
        os.killpg(srv.p.pid, signal.SIGTERM)
        await ws.wait_closed()
        closed = time.monotonic() - t0
        data, eof = await asyncio.get_running_loop().run_in_executor(None, read_until_eof, mute, 10)
        mute.close()
        rc = await asyncio.get_running_loop().run_in_executor(None, srv.wait, 10)
        # The exit as the pipe readers stamped it (both at EOF), not when this got there.
        return ws.close_code, ws.close_reason, data, rc, (srv.closed_at or time.monotonic()) - t0, closed

    try:
        code, reason, data, rc, took, closed = asyncio.run(asyncio.wait_for(go(), 30))
    except Exception as e:  # noqa: BLE001
        srv.stop()
        return check(False, f"{label}: SIGTERM", f"{type(e).__name__}: {e}")
    check(code == 1001 and reason == "server shutting down",
          f"{label}: SIGTERM -> close 1001 to a python client", f"got {code} {reason!r}")
    # The 1001 goes out at once; only the wait for answers is bounded by
    # the close timeout.
    check(closed < 1.0, f"{label}: SIGTERM -> the 1001 arrives at once ({closed:.2f} s)", f"after {closed:.2f} s")
    check(data[:1] == b"\x88" and data[2:4] == struct.pack("!H", 1001),
          f"{label}: SIGTERM -> close 1001 to a silent raw client", f"got {data[:30]!r}")
    check(rc == 0 and 4 <= took <= 8, f"{label}: SIGTERM -> exit 0 after the 5 s close timeout ({took:.1f} s)",
          f"rc {rc}, took {took:.1f} s")


# --- wss:// ---------------------------------------------------------------------

def tls_cases(bindir, node_ok, py_ok):
    """A CA and certificates made now (tls_certs.sh); their clients over wss://
    against echo-server --tls-cert, our client against a Node https + ws server,
    and the certificates our client must refuse, each with its reason."""
    global CLIENT_ARGS
    d = tempfile.mkdtemp(prefix="libws-tls-")
    try:
        subprocess.run(["sh", os.path.join(HERE, "tls_certs.sh"), d], check=True, timeout=60)
    except (subprocess.SubprocessError, OSError) as e:
        return check(False, "wss: test certificates made with openssl", str(e))
    cert = ["--tls-cert", os.path.join(d, "server.pem"), "--tls-key", os.path.join(d, "server.key")]
    ca = os.path.join(d, "ca.pem")
    env = dict(os.environ, NODE_EXTRA_CA_CERTS=ca, SSL_CERT_FILE=ca)  # node's and OpenSSL's trust
    for flags in ((), ("--deflate",)):
        label = "echo-server --tls-cert" + "".join(" " + f for f in flags)
        srv, port = start_echo_server(bindir, *cert, *flags)
        if not check(srv is not None, f"{label} starts and prints wss://"):
            continue
        url = f"wss://localhost:{port}"
        extra = ["--deflate", "takeover"] if flags else []
        if not flags:  # TCP only, no ClientHello: the handshake deadline covers TLS too
            t_silent = time.monotonic()  # before the connect: the server's clock starts later
            silent = stamp_eof(socket.create_connection(("127.0.0.1", port), timeout=5), t_silent)
            plain = socket.create_connection(("127.0.0.1", port), timeout=5)
            plain.sendall(request())  # ws:// to a wss:// port
            t0 = time.monotonic()
            data, eof = read_until_eof(plain, 5)  # eof False: reset (our request was unread) or timeout
            plain.close()
            check(time.monotonic() - t0 < 2 and not data.startswith(b"HTTP/"),
                  f"{label}: a plain ws:// request -> hung up at once, no HTTP answer",
                  f"got {data[:40]!r}, eof {eof} after {time.monotonic() - t0:.1f} s")
        if node_ok:
            run_peer_client(f"node ws client over wss -> {label}",
                            ["node", os.path.join(HERE, "node_client.mjs"), url, str(srv.p.pid), *extra], 120, env)
        if py_ok:
            run_peer_client(f"python websockets client over wss -> {label}",
                            [sys.executable, os.path.join(HERE, "py_client.py"), url, *extra], 120, env)
        if not flags:  # the drop as the reader thread stamped it, however long the clients took
            silent[0].join(15)
            took = silent[1].get("after", -1)
            check(silent[1].get("eof") and 4 <= took <= 8, f"{label}: a TCP connection that never starts TLS "
                  f"is dropped (handshake deadline, {took:.1f} s after it opened)", f"{silent[1]}")
        alive = srv.p.poll() is None
        srv.stop()
        errors = [x for x in srv.err.decode("utf-8", "replace").splitlines() if ": fd " in x]
        check(alive and srv.p.returncode == 0 and not errors, f"{label} survived every case, exited 0",
              f"rc {srv.p.returncode}; stderr {tail(srv.err)}")

    if node_ok:
        psrv, pport = peer_server("node https", ["node", os.path.join(HERE, "node_server.mjs"), "--tls",
                                                 os.path.join(d, "server.pem"), os.path.join(d, "server.key")])
        if psrv:
            CLIENT_ARGS = ["--ca", ca]
            try:
                client_cases(bindir, "node (wss)", psrv, pport, f"wss://localhost:{pport}")
                # SNI carries a host name, never an address (RFC 6066 §3).
                for host, want in (("localhost", b"sni localhost\n"), ("127.0.0.1", b"sni none\n")):
                    rc, out, err = run_client(bindir, f"wss://{host}:{pport}/", feed=[b"__sni"])
                    check(rc == 0 and out == want, f"ws-client wss://{host}/ -> node https: {want.decode().strip()}",
                          f"rc {rc}, out {out!r}, stderr {err.strip()!r}")
                deflate_client_cases(bindir, "node https server (deflate)", f"wss://localhost:{pport}/deflate",
                                     (False, False, 15, 15), False)
            finally:
                CLIENT_ARGS = []
                psrv.stop()

    # Certificates our client must refuse, with the reason, exit 1.
    for name, ca_file, host, want in (("rogue", ca, "localhost", "certificate not trusted"),
                                      ("server", os.path.join(d, "rogue-ca.pem"), "localhost", "certificate not trusted"),
                                      ("otherhost", ca, "localhost", "host name mismatch"),
                                      ("expired", ca, "localhost", "certificate expired")):
        srv, port = start_echo_server(bindir, "--tls-cert", os.path.join(d, name + ".pem"),
                                      "--tls-key", os.path.join(d, name + ".key"))
        if not srv:
            check(False, f"echo-server with {name}.pem starts")
            continue
        rc, out, err = run_client(bindir, f"wss://{host}:{port}/", ["--ca", ca_file], feed=[b"x"], want_lines=0,
                                  want_err="TLS:", timeout=10)
        check(rc == 1 and f"ws-client: TLS: {want}" in err and out == b"",
              f"ws-client wss:// -> {name}.pem (--ca {os.path.basename(ca_file)}): refused, \"{want}\", exit 1",
              f"rc {rc}, stderr {err.strip()!r}")
        srv.stop()
    # An address in the URL matches the certificate's iPAddress entries, and
    # nothing else: not a DNS name spelled like it, not the CN (RFC 6125 §1.7.2).
    for name, cases in (("server", (("127.0.0.1", None), ("[::1]", None))),
                        ("ip4only", (("127.0.0.1", None), ("[::1]", "host name mismatch"),
                                     ("localhost", "host name mismatch"))),
                        ("dnsip", (("127.0.0.1", "host name mismatch"), ("[::1]", "host name mismatch")))):
        srv, port = start_echo_server(bindir, "--tls-cert", os.path.join(d, name + ".pem"),
                                      "--tls-key", os.path.join(d, name + ".key"))
        if not check(srv is not None, f"echo-server with {name}.pem starts"):
            continue
        for host, want in cases:
            rc, out, err = run_client(bindir, f"wss://{host}:{port}/", ["--ca", ca], feed=[b"by address"],
                                      want_lines=0 if want else None, want_err="TLS:" if want else None, timeout=10)
            if want:
                check(rc == 1 and f"ws-client: TLS: {want}" in err and out == b"",
                      f"ws-client wss://{host}/ -> {name}.pem: refused, \"{want}\", exit 1",
                      f"rc {rc}, stderr {err.strip()!r}")
            else:
                check(rc == 0 and out == b"by address\n", f"ws-client wss://{host}/ -> {name}.pem: verified, echoed",
                      f"rc {rc}, out {out!r}, stderr {err.strip()!r}")
        srv.stop()
    # --insecure connects anyway and says it is for tests.
    srv, port = start_echo_server(bindir, "--tls-cert", os.path.join(d, "rogue.pem"),
                                  "--tls-key", os.path.join(d, "rogue.key"))
    if srv:
        rc, out, err = run_client(bindir, f"wss://localhost:{port}/", ["--insecure"], feed=[b"unverified"])
        check(rc == 0 and out == b"unverified\n" and "NOT verified" in err,
              "ws-client --insecure: connects to an untrusted certificate, with a warning",
              f"rc {rc}, out {out!r}, stderr {err.strip()!r}")
        srv.stop()
    shutil.rmtree(d, ignore_errors=True)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--bin", default=os.path.join(ROOT, "build", "examples"))
    bindir = os.path.abspath(ap.parse_args().bin)
    t_start = time.monotonic()
    node_ok = os.path.isdir(os.path.join(HERE, "..", "node_modules", "ws"))
    try:
        import websockets  # noqa: F401
        py_ok = True
    except ImportError:
        py_ok = False
    check(node_ok, "node peers available", "test/e2e/node_modules/ws missing: run `npm ci --prefix test/e2e`")
    check(py_ok, "python peers available", f"{sys.executable} cannot import websockets (apt install python3-websockets)")

    srv, port = start_echo_server(bindir)
    if not check(srv is not None, "echo-server starts and prints its port"):
        return
    probe, probe_result = start_handshake_timeout_probe(port)
    url = f"ws://127.0.0.1:{port}"
    if node_ok:
        run_peer_client("node ws client -> echo-server",
                        ["node", os.path.join(HERE, "node_client.mjs"), url, str(srv.p.pid)], 90)
    if py_ok:
        run_peer_client("python websockets client -> echo-server",
                        [sys.executable, os.path.join(HERE, "py_client.py"), url], 90)
    raw_cases(port, "raw socket -> echo-server")
    probe.join(15)
    check(probe_result.get("eof") and 4 <= probe_result.get("after", 0) <= 8,
          "raw socket -> echo-server: half a request -> closed after the 5 s handshake timeout "
          f"({probe_result.get('after', -1):.1f} s)",
          f"{probe_result}")
    alive = srv.p.poll() is None
    srv.stop()
    check(alive and srv.p.returncode == 0, "echo-server survived every case and exited 0 on SIGTERM",
          f"rc {srv.p.returncode}; stderr {tail(srv.err)}")
    if py_ok:
        sigterm_case(bindir, "echo-server shutdown")
    guard_cases(bindir, "echo-server", node_ok, py_ok)

    for peer, ok, argv in (("node", node_ok, ["node", os.path.join(HERE, "node_server.mjs")]),
                           ("python", py_ok, [sys.executable, os.path.join(HERE, "py_server.py")])):
        if not ok:
            continue
        psrv, pport = peer_server(peer, argv)
        if psrv:
            try:
                client_cases(bindir, peer, psrv, pport)
            finally:
                psrv.stop()

    # permessage-deflate: their clients against echo-server --deflate[-low-memory].
    for mode, flag in (("takeover", "--deflate"), ("low-memory", "--deflate-low-memory")):
        srv, port = start_echo_server(bindir, flag)
        if not check(srv is not None, f"echo-server {flag} starts and prints its port"):
            continue
        url = f"ws://127.0.0.1:{port}"
        if node_ok:
            run_peer_client(f"node ws client -> echo-server {flag}",
                            ["node", os.path.join(HERE, "node_client.mjs"), url, str(srv.p.pid), "--deflate", mode],
                            120)
        if py_ok:
            run_peer_client(f"python websockets client -> echo-server {flag}",
                            [sys.executable, os.path.join(HERE, "py_client.py"), url, "--deflate", mode], 120)
        alive = srv.p.poll() is None
        srv.stop()
        errors = [x for x in srv.err.decode("utf-8", "replace").splitlines() if ": fd " in x]
        check(alive and srv.p.returncode == 0 and not errors,
              f"echo-server {flag} survived every case, reported no protocol error, exited 0 on SIGTERM",
              f"rc {srv.p.returncode}; stderr {tail(srv.err)}")

    # The same clients against the poll() and libuv servers (plain, and
    # permessage-deflate with context takeover).
    for name in ("echo-server-poll", "echo-server-uv"):
        for flags, extra in (((), []), (("--deflate",), ["--deflate", "takeover"])):
            label = name + "".join(" " + f for f in flags)
            srv, port = start_echo_server(bindir, *flags, name=name)
            if not check(srv is not None, f"{label} starts and prints its port"):
                continue
            url = f"ws://127.0.0.1:{port}"
            if node_ok:
                run_peer_client(f"node ws client -> {label}",
                                ["node", os.path.join(HERE, "node_client.mjs"), url, str(srv.p.pid), *extra], 120)
            if py_ok:
                run_peer_client(f"python websockets client -> {label}",
                                [sys.executable, os.path.join(HERE, "py_client.py"), url, *extra], 120)
            if not flags:
                raw_cases(port, f"raw socket -> {name}")
            alive = srv.p.poll() is None
            srv.stop()
            errors = [x for x in srv.err.decode("utf-8", "replace").splitlines() if ": fd " in x]
            check(alive and srv.p.returncode == 0 and (not errors or not flags),
                  f"{label} survived every case, exited 0 on SIGTERM", f"rc {srv.p.returncode}; stderr {tail(srv.err)}")
        if py_ok:
            sigterm_case(bindir, f"{name} shutdown", name)
        guard_cases(bindir, name, node_ok, py_ok)

    # Our ws-client --deflate against their servers, in each of their modes.
    peers = []
    if node_ok:
        node = ["node", os.path.join(HERE, "node_server.mjs")]
        peers.append(("node", node, [("default", "/deflate", (False, False, 15, 15), True),
                                     ("no context takeover", "/deflate-nct", (True, True, 15, 15), False),
                                     ("windows 10/9", "/deflate-bits", (False, False, 10, 9), False),
                                     ("client window 8", "/deflate-c8", (False, False, 15, 8), False)]))
    if py_ok:
        py = [sys.executable, os.path.join(HERE, "py_server.py")]
        peers.append(("python", py, [("default", "/", (False, False, 12, 12), True)]))
        peers.append(("python", py + ["--no-context-takeover"],
                      [("no context takeover", "/", (True, True, 12, 12), False)]))
    for peer, argv, modes in peers:
        psrv, pport = peer_server(peer, argv)
        if not psrv:
            continue
        try:
            for mode, path, params, big in modes:
                deflate_client_cases(bindir, f"{peer} server ({mode})", f"ws://127.0.0.1:{pport}{path}", params, big)
            if peer == "node":  # a server that would agree, and a client that does not offer
                rc, out, err = run_client(bindir, f"ws://127.0.0.1:{pport}/deflate", feed=[b"__ext", b"plain"])
                check(out == b"ext none\nplain\n" and "permessage-deflate" not in err,
                      "ws-client without --deflate -> node server with it: no extension, echo works",
                      f"stdout {out!r}, stderr {err.strip()!r}")
        finally:
            psrv.stop()

    tls_cases(bindir, node_ok, py_ok)
    print(f"(interop took {time.monotonic() - t_start:.0f} s)", flush=True)


if __name__ == "__main__":
    try:
        main()
    finally:
        kill_children()
        print(f"interop: {counts['ok']} passed, {counts['FAIL']} failed", flush=True)
    sys.exit(1 if counts["FAIL"] else 0)
