#!/usr/bin/env python3
"""What a public server and a long-running client must survive (issue 10 §3),
against build/examples/echo-server and ws-client, over loopback with raw
sockets so that each attack is exactly what it says:

    run.py --bin build/examples [--server echo-server] [--only CASE] [--list]

Prints "ok CASE" / "FAIL CASE: why" and "adapters: N passed, M failed".
Every case has a deadline. --only runs the cases whose function name
contains CASE (e.g. --only idle_cases) and says how long each took."""
import argparse
import base64
import fcntl
import hashlib
import multiprocessing
import os
import pty
import resource
import select
import signal
import shutil
import socket
import ssl
import struct
import subprocess
import sys
import tempfile
import termios
import threading
import time
import zlib

counts = {"ok": 0, "FAIL": 0}
children = []
GUID = b"258EAFA5-E914-47DA-95CA-C5AB0DC85B11"


def check(ok, name, why=""):
    counts["ok" if ok else "FAIL"] += 1
    print(("ok " if ok else "FAIL ") + name + ("" if ok or not why else f": {why}"), flush=True)
    return ok


def spawn(argv, **kw):
    p = subprocess.Popen(argv, start_new_session=True, **kw)
    children.append(p)
    return p


def stop(p, sig=signal.SIGKILL):
    if p.poll() is None:
        try:
            os.killpg(p.pid, sig)
        except OSError:
            pass
    try:
        p.wait(10)
    except subprocess.TimeoutExpired:
        os.killpg(p.pid, signal.SIGKILL)
        p.wait()


def rss_kib(pid):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    return 0


def start_server(bindir, name, *flags, limit=None, env=None):
    def pre():
        if limit:
            resource.setrlimit(resource.RLIMIT_NOFILE, (limit, limit))
    p = spawn([os.path.join(bindir, name), "--port", "0", *flags], stdout=subprocess.PIPE,
              stderr=subprocess.PIPE, preexec_fn=pre, env=env)
    line = p.stdout.readline().decode()
    port = int(line.rsplit(":", 1)[1].strip("/\n"))
    err = bytearray()
    threading.Thread(target=lambda: [err.extend(c) for c in iter(lambda: p.stderr.read1(4096), b"")],
                     daemon=True).start()
    p.err = err
    return p, port


def upgrade(port, extra="", wrap=None, path="/", timeout=5):
    """A raw upgraded connection; returns (socket, bytes after the 101 head).
    wrap: a function that turns the TCP socket into another (TLS); timeout:
    each blocking step's (the connect, the TLS handshake, each read)."""
    s = socket.create_connection(("127.0.0.1", port), timeout=timeout)
    if wrap:
        s = wrap(s)
    k = base64.b64encode(os.urandom(16)).decode()
    s.sendall((f"GET {path} HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
               f"Sec-WebSocket-Key: {k}\r\nSec-WebSocket-Version: 13\r\n{extra}\r\n").encode())
    head = b""
    while b"\r\n\r\n" not in head:
        c = s.recv(4096)
        if not c:
            raise ConnectionError("closed during the handshake")
        head += c
    head, rest = head.split(b"\r\n\r\n", 1)
    if not head.startswith(b"HTTP/1.1 101"):
        raise ConnectionError(head[:40])
    return s, rest


def frame(op, payload, rsv1=False, fin=True, mask=True):
    b0 = (0x80 if fin else 0) | (0x40 if rsv1 else 0) | op
    n = len(payload)
    m = 0x80 if mask else 0
    hdr = bytes([b0, m | n]) if n < 126 else bytes([b0, m | 126]) + struct.pack("!H", n) if n < 65536 \
        else bytes([b0, m | 127]) + struct.pack("!Q", n)
    if not mask:
        return hdr + payload
    key = os.urandom(4)
    k = (key * (n // 4 + 1))[:n]
    return hdr + key + (int.from_bytes(payload, "big") ^ int.from_bytes(k, "big")).to_bytes(n, "big") if n else hdr + key


def read_frames(s, timeout, until_close=False, want=None, want_n=1):
    """Reads until EOF, timeout, a close frame (until_close) or want_n of the
    frame want: (list of (opcode, payload), eof?, seconds taken)."""
    s.settimeout(0.1)
    buf, t0, frames = b"", time.monotonic(), []
    while time.monotonic() - t0 < timeout:
        try:
            c = s.recv(65536)
        except socket.timeout:
            continue
        except ConnectionResetError:
            return frames, True, time.monotonic() - t0
        if not c:
            return frames, True, time.monotonic() - t0
        buf += c
        while len(buf) >= 2:
            n, off = buf[1] & 0x7f, 2
            if n == 126:
                n, off = struct.unpack("!H", buf[2:4])[0], 4
            elif n == 127:
                n, off = struct.unpack("!Q", buf[2:10])[0], 10
            if len(buf) < off + n:
                break
            frames.append((buf[0] & 0x0f, buf[off:off + n]))
            buf = buf[off + n:]
            if (until_close and frames[-1][0] == 8) or (frames[-1] == want and frames.count(want) >= want_n):
                return frames, False, time.monotonic() - t0
    return frames, False, timeout


def eof_within(s, timeout):
    return read_frames(s, timeout)[1]


def stamped(s, timeout, **kw):
    """Reads s in a thread from now on (read_frames with kw) and stamps the
    moment that ended it (a close frame, the FIN, the frames wanted): the
    returned dict gets frames, eof and at (time.monotonic()) once "thread"
    has ended, however late the test looks."""
    r = {}

    def run():
        frames, eof, _ = read_frames(s, timeout, **kw)
        r.update(frames=frames, eof=eof, at=time.monotonic())
    r["thread"] = threading.Thread(target=run, daemon=True)
    r["thread"].start()
    return r


def hangup_stamp(s, timeout):
    """A thread that waits, without reading, for the peer's FIN or RST on s
    (poll: POLLRDHUP, POLLHUP, POLLERR): the returned dict gets at
    (time.monotonic()) when it came, once "thread" has ended."""
    r = {}

    def run():
        po = select.poll()
        po.register(s.fileno(), select.POLLRDHUP)  # POLLHUP and POLLERR come anyway
        if po.poll(timeout * 1000):
            r["at"] = time.monotonic()
    r["thread"] = threading.Thread(target=run, daemon=True)
    r["thread"].start()
    return r


def served_within(port, text, timeout):
    """A new peer is upgraded and its message echoed, retried until timeout
    (the server frees a slot when it has seen a peer leave, which the test
    does not wait for): True once one is."""
    end = time.monotonic() + timeout
    while True:
        try:
            s, _ = upgrade(port)
            s.sendall(frame(1, text))
            ok = (1, text) in read_frames(s, max(0.5, end - time.monotonic()), want=(1, text))[0]
            s.close()
            if ok:
                return True
        except OSError:
            pass
        if time.monotonic() >= end:
            return False
        time.sleep(0.05)


# --- server cases ------------------------------------------------------------

def tls_reads_case(bindir):
    """wss:// with one message in flight takes one recv() per message.
    mbedTLS asks its socket for a record's 5-byte header, then its body: read
    that way, each echo took two recv() calls and a third that said EAGAIN.
    The server runs under an LD_PRELOAD shim that counts them."""
    shim = os.path.join(os.path.dirname(bindir), "test", "count_recv.so")
    d = tempfile.mkdtemp(prefix="libws-adapters-tls-")
    try:
        subprocess.run(["sh", os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "interop",
                                           "tls_certs.sh"), d],
                       check=True, timeout=60, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        counts_file = os.path.join(d, "recv-counts")
        srv, port = start_server(bindir, "echo-server", "--tls-cert", os.path.join(d, "server.pem"),
                                 "--tls-key", os.path.join(d, "server.key"),
                                 env=dict(os.environ, LD_PRELOAD=shim, COUNT_RECV_FILE=counts_file))
        ctx = ssl.create_default_context(cafile=os.path.join(d, "ca.pem"))
        s, _ = upgrade(port, wrap=lambda t: ctx.wrap_socket(t, server_hostname="localhost"))

        def counted():
            with open(counts_file) as f:
                return tuple(int(x) for x in f.read().split())

        n, payload, echoed = 200, os.urandom(1024), 0
        c0, e0 = counted()
        for _ in range(n):
            s.sendall(frame(2, payload))
            frames, eof, _ = read_frames(s, 5, want=(2, payload))
            if not frames or frames[-1] != (2, payload):
                break
            echoed += 1
        c1, e1 = counted()
        s.close()
        # A record mbedTLS takes in silence (a warning alert), then a frame,
        # both in one segment: the frame, read ahead, must not wait for
        # readiness that will not come.
        alert = subprocess.run([os.path.join(os.path.dirname(bindir), "test", "tls-alert"), str(port),
                                os.path.join(d, "ca.pem")], capture_output=True, timeout=20)
        stop(srv)
        check(echoed == n, f"echo-server --tls-cert: {n} binary echoes of 1 KiB, one in flight", f"{echoed} echoed")
        check(c1 - c0 <= n + n // 20 and e1 - e0 <= n // 20,
              f"echo-server --tls-cert: one recv() per message, none that says EAGAIN "
              f"({c1 - c0} calls, {e1 - e0} EAGAIN for {n} messages)",
              f"{c1 - c0} recv() calls, {e1 - e0} EAGAIN for {n} messages")
        check(alert.returncode == 0, "echo-server --tls-cert: a frame after a warning alert in the same segment "
              "is echoed", f"rc {alert.returncode}: {(alert.stdout + alert.stderr).decode(errors='replace').strip()}")
    finally:
        shutil.rmtree(d, ignore_errors=True)


def idle_cases(bindir, name):
    srv, port = start_server(bindir, name, "--idle-timeout", "1", "--ping-interval", "0")
    # Each close is stamped by a reader thread, from a clock started before
    # the connect (the server's starts later): 1 s at least, whenever the
    # test gets around to looking.
    opened = {}
    opened["silent"] = time.monotonic()
    silent, _ = upgrade(port)
    got = {"silent": stamped(silent, 5, until_close=True)}
    # A peer trickling one byte every 0.2 s is not idle (bytes arrive), even
    # though no message completes; 1 s after its last byte it is.
    opened["trickling"] = time.monotonic()
    trickle, _ = upgrade(port)
    got["trickling"] = stamped(trickle, 8, until_close=True)
    last = {}

    def drip():  # ten bytes of a 200-byte text frame, then silence
        for b in frame(1, b"x" * 200)[:10]:
            time.sleep(0.2)
            try:
                trickle.send(bytes([b]))
            except OSError:
                return
            last["at"] = time.monotonic()
    dripper = threading.Thread(target=drip, daemon=True)
    dripper.start()
    for label, r in got.items():
        r["thread"].join(9)
        frames = r.get("frames", [])
        closes = [p for op, p in frames if op == 8]
        if label == "trickling":
            dripper.join(5)
            after = r["at"] - last["at"] if "at" in r and "at" in last else 99
            what = f"{after:.2f} s after its last byte, {last.get('at', 0) - opened[label]:.2f} s of trickle"
        else:
            after = r["at"] - opened[label] if "at" in r else 99
            what = f"{after:.2f} s after connecting"
        check(closes and closes[0][:2] == struct.pack("!H", 1001) and 0.9 <= after <= 3,
              f"{name} --idle-timeout 1: {label} upgraded peer gets close 1001 \"idle timeout\" ({what})",
              f"frames {frames[:3]}")
    # A peer that does talk stays: a message every 0.3 s by the clock (a
    # thread of its own, so that a late echo does not stretch the gaps),
    # every echo back, no close.
    live, _ = upgrade(port)
    sent = []

    def talk():
        t = time.monotonic()
        for _ in range(6):
            t += 0.3
            time.sleep(max(0, t - time.monotonic()))
            live.sendall(frame(1, b"hi"))
            sent.append(time.monotonic())
    talker = threading.Thread(target=talk, daemon=True)
    talker.start()
    frames, eof, _ = read_frames(live, 10, until_close=True, want=(1, b"hi"), want_n=6)
    talker.join(5)
    gaps = [round(b - a, 2) for a, b in zip(sent, sent[1:])]
    check(not eof and frames == [(1, b"hi")] * 6,
          f"{name} --idle-timeout 1: a peer sending a message every 0.3 s stays for 1.8 s",
          f"eof {eof}, frames {frames[:8]}, gaps between sends {gaps} s")
    for s in (silent, trickle, live):
        s.close()
    stop(srv)


def ping_cases(bindir, name):
    srv, port = start_server(bindir, name, "--idle-timeout", "0", "--ping-interval", "0.5")
    # The clock starts before the connect (the server's silence clock starts
    # later), and the test reads at once: read_frames returns at the EOF.
    t0 = time.monotonic()
    mute, _ = upgrade(port)
    frames, eof, _ = read_frames(mute, 4)
    when = time.monotonic() - t0
    check(eof and any(op == 9 for op, _ in frames) and 0.95 <= when <= 2.5,
          f"{name} --ping-interval 0.5: a peer that never pongs is pinged, then dropped after ~1 s "
          f"({when:.2f} s after connecting)", f"frames {frames[:3]}, eof {eof}")
    # One that answers every ping at once stays (only pings and pongs for 2.5 s).
    ponger, _ = upgrade(port)
    end, pings, alive = time.monotonic() + 2.5, 0, True
    while time.monotonic() < end and alive:
        frames, eof, _ = read_frames(ponger, end - time.monotonic(), want=(9, b""))  # returns on a ping
        alive = not eof and all(op != 8 for op, _ in frames)
        for op, p in frames:
            if op == 9:
                pings += 1
                ponger.sendall(frame(10, p))
    ponger.sendall(frame(1, b"still"))
    frames, eof, _ = read_frames(ponger, 5, want=(1, b"still"))
    check(alive and pings >= 2 and (1, b"still") in frames,
          f"{name} --ping-interval 0.5: a peer that pongs stays and echoes", f"{pings} pings, alive {alive}")
    mute.close()
    ponger.close()
    stop(srv)


def write_timeout_case(bindir, name):
    srv, port = start_server(bindir, name, "--write-timeout", "1")
    t0 = time.monotonic()  # before the connect: nothing can stall for 1 s before it
    s, _ = upgrade(port)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    hup = hangup_stamp(s, 10)  # the drop, stamped by a thread that does not read
    msg = frame(2, os.urandom(60000))
    sent = 0
    s.settimeout(0.2)
    dropped = False
    while time.monotonic() - t0 < 8 and "at" not in hup:  # never reads; keeps sending while the server reads
        try:
            s.sendall(msg)
            sent += 1
        except socket.timeout:
            pass
        except OSError:
            dropped = True
            break
        try:
            s.setblocking(False)
            s.recv(0)
        except BlockingIOError:
            pass
        finally:
            s.settimeout(0.2)
    hup["thread"].join(max(0, t0 + 10 - time.monotonic()))
    took = hup["at"] - t0 if "at" in hup else 99
    check(0.95 <= took <= 8, f"{name} --write-timeout 1: a peer that never reads is dropped ({took:.2f} s after connecting)",
          f"hang-up stamped {took:.1f} s after connecting (99: none), error on send {dropped}, {sent} messages sent")
    s.close()
    check(srv.poll() is None and rss_kib(srv.pid) < 40000, f"{name}: server alive and small afterwards",
          f"rss {rss_kib(srv.pid) if srv.poll() is None else 'dead'} KiB")
    stop(srv)


def cap_cases(bindir, name):
    srv, port = start_server(bindir, name, "--max-conns", "5", "--idle-timeout", "0")
    socks = [upgrade(port)[0] for _ in range(5)]
    extra = socket.create_connection(("127.0.0.1", port), timeout=5)
    check(eof_within(extra, 2), f"{name} --max-conns 5: the 6th connection is closed at once")
    extra.close()
    socks[0].sendall(frame(8, struct.pack("!H", 1000)))
    eof_within(socks[0], 6)
    socks[0].close()
    # The server frees the slot once it sees our FIN: within 2 s of it, well
    # before any of its timeouts (5 s) would free it.
    ok = served_within(port, b"again", 2)
    check(ok, f"{name} --max-conns 5: after one closes, a new one is served")
    for s in socks[1:]:
        s.close()
    stop(srv)

    # The default cap stays below the descriptor limit: with 64 descriptors,
    # 60 idle upgraded peers must not stop the server from serving others.
    srv, port = start_server(bindir, name, "--idle-timeout", "2", "--ping-interval", "0", limit=64)
    socks = []
    for _ in range(60):
        try:
            socks.append(upgrade(port)[0])
        except OSError:
            break
    served = len(socks)
    for s in socks[:10]:
        s.close()
    ok = served_within(port, b"room", 2)  # once the server has seen them leave (--idle-timeout 2 is not it)
    check(ok and served < 60, f"{name} under ulimit -n 64: default cap ({served} served) keeps room; "
          "after 10 leave a new peer is served")
    for s in socks[10:]:
        s.close()
    stop(srv)

    # Past the descriptor limit (cap set above it): EMFILE must neither spin
    # nor wedge the listener; once the idle ones time out, service resumes.
    srv, port = start_server(bindir, name, "--max-conns", "1000", "--idle-timeout", "30", "--ping-interval", "0",
                             limit=40)
    socks = []
    refused = 0
    for _ in range(50):
        try:
            socks.append(upgrade(port)[0])
        except (OSError, ConnectionError):
            refused += 1
    t_cpu0, w0 = open(f"/proc/{srv.pid}/stat").read().split()[13:15], time.monotonic()
    time.sleep(1)
    t_cpu1, w1 = open(f"/proc/{srv.pid}/stat").read().split()[13:15], time.monotonic()
    spin = (sum(map(int, t_cpu1)) - sum(map(int, t_cpu0))) / (w1 - w0)  # ticks (1/100 s) per second, over the window as it was
    check(refused > 0 and spin < 20,
          f"{name} at EMFILE: excess connections are accepted and closed, no busy loop",
          f"refused {refused}, {spin:.0f} ticks of CPU per s over {w1 - w0:.1f} s, stderr {bytes(srv.err[-200:])!r}")
    check(name == "echo-server-uv" or b"out of file descriptors" in srv.err,  # libuv handles EMFILE itself
          f"{name} at EMFILE: says so on stderr")
    for s in socks:
        s.close()
    ok = served_within(port, b"back", 2)  # once the server has seen them leave (--idle-timeout 30 is not it)
    check(ok, f"{name} at EMFILE: serves again once descriptors are free")
    stop(srv)


def amplification_case(bindir, name):
    """RFC 7692 with server_max_window_bits=9: data that compresses 200:1 with a
    32 KiB window but not with 512 bytes; 20 peers send 16 MiB each and never read."""
    srv, port = start_server(bindir, name, "--deflate")
    base = rss_kib(srv.pid)
    block = os.urandom(4096)
    co = zlib.compressobj(9, zlib.DEFLATED, -15)
    payload = co.compress(block * 4096) + co.flush(zlib.Z_SYNC_FLUSH)
    payload = payload[:-4]  # RFC 7692 §7.2.1: drop 00 00 ff ff
    data = frame(2, payload, rsv1=True)
    peers = []
    for _ in range(20):
        s, _ = upgrade(port, "Sec-WebSocket-Extensions: permessage-deflate; server_max_window_bits=9\r\n")
        s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 8192)
        s.settimeout(5)
        s.sendall(data)
        peers.append(s)
    tick = os.sysconf("SC_CLK_TCK")

    def cpu():  # the server's CPU time, user and system, in seconds
        with open(f"/proc/{srv.pid}/stat") as f:
            return sum(map(int, f.read().split()[13:15])) / tick
    t0 = time.monotonic()
    peak, lat, work = 0, [], []
    while time.monotonic() - t0 < 3:
        peak = max(peak, rss_kib(srv.pid))
        t1, c1 = time.monotonic(), cpu()
        try:
            s, _ = upgrade(port)
            s.sendall(frame(1, b"ping?"))
            ok = (1, b"ping?") in read_frames(s, 4, want=(1, b"ping?"))[0]
            s.close()
        except OSError:
            ok = False
        lat.append(time.monotonic() - t1 if ok else 99)
        work.append(cpu() - c1)
        time.sleep(0.2)
    check(peak - base < 64 * 1024, f"{name} --deflate: 20 peers x 16 MiB at ~{len(data) // 1024} KiB "
          f"compressed (200:1), never reading: RSS grew {(peak - base) // 1024} MiB (< 64 MiB)",
          f"base {base} KiB, peak {peak} KiB")
    # What the server did for the others before it answered is its CPU time
    # meanwhile: under 1 s however loaded the machine (other processes
    # stretch the wall time, not the server's work; at load 6 on 2 cores a
    # wall time of 0.93 s was seen against 0.2..0.4 s unloaded). The wall
    # time gets the looser bound, 3 s.
    check(max(work) < 1 and max(lat) < 3, f"{name} --deflate: meanwhile another peer's echo takes "
          f"{max(lat) * 1000:.0f} ms at worst, {max(work) * 1000:.0f} ms of the server's CPU (< 1 s of CPU, < 3 s)",
          f"wall {[round(x, 2) for x in lat]} s, server CPU {[round(x, 2) for x in work]} s")
    for s in peers:
        s.close()
    stop(srv)


# --- load and TLS cases (issue 21) -------------------------------------------

HERE = os.path.dirname(os.path.abspath(__file__))
_certs = {}


def certs():
    """The test certificates of test/e2e/interop/tls_certs.sh, made once per run
    (removed at the end of main)."""
    if "dir" not in _certs:
        d = tempfile.mkdtemp(prefix="libws-adapters-certs-")
        subprocess.run(["sh", os.path.join(HERE, "..", "interop", "tls_certs.sh"), d], check=True, timeout=60,
                       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        _certs["dir"] = d
    return _certs["dir"]


def start_tls_server(bindir, name, *flags, **kw):
    d = certs()
    return start_server(bindir, name, "--tls-cert", os.path.join(d, "server.pem"),
                        "--tls-key", os.path.join(d, "server.key"), *flags, **kw)


def client_ctx():
    return ssl.create_default_context(cafile=os.path.join(certs(), "ca.pem"))


def ws_path(name):
    return "/echo" if name == "h2-server" else "/"  # h2-server's WebSocket echo (HTTP/1.1 over TLS too)


def client_hello():
    """The bytes of a real ClientHello (this Python's OpenSSL: TLS 1.2 and
    1.3 offered; the mbedTLS 2.28 servers answer with TLS 1.2)."""
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    out = ssl.MemoryBIO()
    obj = ctx.wrap_bio(ssl.MemoryBIO(), out, server_hostname="localhost")
    try:
        obj.do_handshake()
    except ssl.SSLWantReadError:
        pass
    return out.read()


# mbedTLS 2.28 sends each handshake message in a record of its own: the
# server's first flight ends with this ServerHelloDone (TLS 1.2).
SERVER_HELLO_DONE = b"\x16\x03\x03\x00\x04\x0e\x00\x00\x00"


def _flooder(port, hello, until, pipe):
    """One flooding process: connect, send the ClientHello, read the server's
    first flight (up to its ServerHelloDone, 1 s at most), reset the
    connection (SO_LINGER 0: no TIME_WAIT pile-up), again, until `until`
    (time.monotonic(), the same clock in every process). Sends back (tries,
    replies, CPU seconds it used)."""
    tries = replies = 0
    linger = struct.pack("ii", 1, 0)
    while time.monotonic() < until:
        s = socket.socket()
        s.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, linger)
        s.settimeout(1)
        tries += 1
        try:
            s.connect(("127.0.0.1", port))
            s.sendall(hello)
            got = b""
            while not got.endswith(SERVER_HELLO_DONE):
                c = s.recv(65536)
                if not c:
                    break
                got += c
            replies += got.endswith(SERVER_HELLO_DONE)
        except OSError:
            pass
        s.close()
    t = os.times()
    pipe.send((tries, replies, t.user + t.system))
    pipe.close()


def proc_cpu(pid):
    """A process's CPU time (user + system), in seconds."""
    with open(f"/proc/{pid}/stat") as f:
        return sum(map(int, f.read().rsplit(")", 1)[1].split()[11:13])) / os.sysconf("SC_CLK_TCK")


def tls_flood_case(bindir, name, flooders=4, seconds=10.0, new_at=3.0):
    """Issue 21 #1: a TLS handshake flood must not stall connected clients.
    A wss:// client connected and upgraded before the flood sends an 8-byte
    message every 20 ms from one thread that also reads: each echo's
    latency is stamped when select() says it is there (the thread does
    nothing else). `flooders` processes replay a real ClientHello for
    `seconds`; `new_at` s into the flood a new client (a thread) times its
    TCP connect + TLS handshake + upgrade, from before the connect to the
    101. Nothing is pinned to a core: the server is one thread, the
    flooders mostly wait for it, and their CPU time is reported."""
    srv, port = start_tls_server(bindir, name)
    ctx, path = client_ctx(), ws_path(name)
    conn, _ = upgrade(port, wrap=lambda t: ctx.wrap_socket(t, server_hostname="localhost"), path=path)
    hello = client_hello()
    mp = multiprocessing.get_context("fork")
    cpu0 = proc_cpu(srv.pid)
    start = time.monotonic()
    end = start + seconds
    pipes, procs = [], []
    for _ in range(flooders):
        a, b = mp.Pipe(False)
        p = mp.Process(target=_flooder, args=(port, hello, end, b), daemon=True)
        p.start()
        pipes.append(a)
        procs.append(p)
    newc = {}

    def new_client():
        time.sleep(max(0, start + new_at - time.monotonic()))
        t0 = time.monotonic()
        try:
            s, _ = upgrade(port, wrap=lambda t: ctx.wrap_socket(t, server_hostname="localhost"), path=path,
                           timeout=seconds)
            newc["took"] = time.monotonic() - t0
            s.close()
        except (OSError, ConnectionError) as e:
            newc["failed"] = f"{type(e).__name__}: {e} after {time.monotonic() - t0:.2f} s"
    nt = threading.Thread(target=new_client, daemon=True)
    nt.start()
    conn.setblocking(False)
    sent, lat, buf, seq, blocked = {}, {}, b"", 0, 0
    tick = time.monotonic()
    stop_at = end + 2  # the last echoes may come up to 2 s after the flood
    while time.monotonic() < stop_at and (time.monotonic() < end or len(lat) < len(sent)):
        now = time.monotonic()
        if now >= tick and now < end:
            seq += 1
            try:
                conn.send(frame(1, b"%08d" % seq))
                sent[seq] = now
            except ssl.SSLWantWriteError:  # 14-byte frames: the socket buffer never fills in 10 s
                blocked += 1
            tick += 0.02
        wait = max(0, min(tick, stop_at) - time.monotonic()) if now < end else 0.05
        if not conn.pending() and not select.select([conn], [], [], wait)[0]:
            continue
        try:
            c = conn.recv(65536)
        except ssl.SSLWantReadError:
            continue
        t = time.monotonic()
        if not c:
            break
        buf += c
        while len(buf) >= 2 and len(buf) >= 2 + (buf[1] & 0x7f):
            n = buf[1] & 0x7f
            lat[int(buf[2:2 + n])] = t - sent[int(buf[2:2 + n])]
            buf = buf[2 + n:]
    last = time.monotonic()
    for p in procs:
        p.join(5)
    cpu1 = proc_cpu(srv.pid) if srv.poll() is None else cpu0
    tries = replies = gen_cpu = 0
    for a in pipes:
        if a.poll(1):
            t, r, c = a.recv()
            tries, replies, gen_cpu = tries + t, replies + r, gen_cpu + c
    nt.join(seconds)
    conn.close()
    # An echo that never came counts with the time it waited so far.
    all_lat = sorted([lat.get(k, last - sent[k]) for k in sent])
    p50 = all_lat[len(all_lat) // 2] * 1000 if all_lat else 99999
    p99 = all_lat[min(len(all_lat) - 1, int(len(all_lat) * 0.99))] * 1000 if all_lat else 99999
    rate = replies / seconds
    flood = (f"{flooders} processes replaying a ClientHello for {seconds:.0f} s: {tries} connections, "
             f"{replies} server first flights ({rate:.0f}/s); server CPU {cpu1 - cpu0:.1f} s, flooders' CPU {gen_cpu:.1f} s")
    print(f"  {name}: {flood}", flush=True)
    check(rate >= 20, f"{name} --tls-cert: the flood is one ({rate:.0f} server replies/s >= 20)", flood)
    check(p99 <= 100 and len(lat) == len(sent) and not blocked,
          f"{name} --tls-cert: during a ClientHello flood a connected wss:// client's echoes take "
          f"p50 {p50:.0f} ms, p99 {p99:.0f} ms (p99 <= 100 ms)",
          f"{len(lat)} of {len(sent)} echoed, {blocked} not sent (socket full); {flood}")
    took = f"{newc['took']:.2f} s" if "took" in newc else "no 101"
    check(newc.get("took", 99) <= 1, f"{name} --tls-cert: {new_at:.0f} s into the flood a new wss:// client "
          f"connects and upgrades: {took} (<= 1 s)", newc.get("failed", ""))
    stop(srv)


def deflate_drops_case(bindir, mode, conns=500, messages=24, size=8192, rate=16384):
    """Issue 21 #2: `conns` permessage-deflate clients (build/test/deflate-clients)
    each send `messages` JSON-like text messages of `size` bytes at once and
    read their echoes at `rate` bytes/s with SO_RCVBUF 4096, answering pings,
    then close with 1000. The server runs with --idle-timeout 2
    --ping-interval 1. Each connection gets 51 KiB (--deflate) or 75 KiB
    (--deflate-low-memory) of compressed echoes: 3 to 5 s of reading, which
    starts as soon as the server has compressed them and never pauses for
    more than 10 ms. Those peers are not idle (issue 21: "a peer that is
    reading our output is not idle"), so none may be dropped: no 1001, no
    "no pong", no closing-handshake timeout, before our close was answered
    with 1000. Most of those bytes wait in the kernel (the server's socket
    send buffer grows to MBs on loopback), not in the adapter's queue: a
    server that counts only its own write() calls as movement sees nothing
    move while the client drains them and fails this case too; see
    docs/timing-bounds.md for what prototypes did."""
    tool = os.path.join(os.path.dirname(bindir), "test", "deflate-clients")
    srv, port = start_server(bindir, "echo-server", mode, "--idle-timeout", "2", "--ping-interval", "1")
    t0 = time.monotonic()
    r = subprocess.run([tool, "--port", str(port), "--conns", str(conns), "--messages", str(messages),
                        "--size", str(size), "--read-rate", str(rate), "--rcvbuf", "4096", "--timeout", "90"],
                       capture_output=True, text=True, timeout=120)
    took = time.monotonic() - t0
    stop(srv)
    lines = r.stdout.splitlines()
    summary = next((l for l in lines if l.startswith("summary ")), "")
    f = dict(kv.split("=", 1) for kv in summary.split()[1:])
    drops = [l for l in lines if l.startswith("drop ")]
    hows = {}
    for l in drops:
        how = l.split(" how=")[1].split(" ")[0]
        hows[how] = hows.get(how, 0) + 1
    rx_ago = sorted(int(l.split("rx_ago_ms=")[1].split()[0]) for l in drops)
    receiving = sorted(float(l.split("receiving_s=")[1].split()[0]) for l in drops)
    logged = {}
    for l in bytes(srv.err).decode(errors="replace").splitlines():
        if "dropped connection" in l:
            why = l.split(": ", 2)[-1]
            logged[why] = logged.get(why, 0) + 1
    print(f"  echo-server {mode}: {summary} (case took {took:.1f} s)", flush=True)
    check(r.returncode == 0 and f.get("ok") == str(conns),
          f"echo-server {mode} --idle-timeout 2 --ping-interval 1: {conns} clients echo {messages} x {size // 1024} KiB "
          f"and read it at {rate // 1024} KiB/s: {f.get('dropped', '?')} dropped by the server (0)",
          f"{summary}; drops by kind {hows}; when a drop arrived its client had been receiving echoes for "
          f"{receiving[len(receiving) // 2] if receiving else '-'} s (median; {receiving[0] if receiving else '-'} "
          f"at least), the last bytes {rx_ago[len(rx_ago) // 2] if rx_ago else '-'} ms (median) before; "
          f"server log {logged}; {r.stderr[-200:]!r}")


def fd_count(pid):
    return len(os.listdir(f"/proc/{pid}/fd"))


def silent_rss(bindir, name, n, tls):
    """n TCP connections that never send a byte: the server's RSS once it has
    accepted them all (its descriptors counted in /proc), within its 5 s
    handshake deadline. Returns (bytes per connection, detail)."""
    start = start_tls_server if tls else start_server
    srv, port = start(bindir, name, "--max-conns", str(n + 100))
    time.sleep(0.2)
    fd0, base = fd_count(srv.pid), rss_kib(srv.pid)
    t0 = time.monotonic()
    socks = [socket.create_connection(("127.0.0.1", port), timeout=5) for _ in range(n)]
    while fd_count(srv.pid) < fd0 + n and time.monotonic() - t0 < 4:
        time.sleep(0.01)
    time.sleep(0.1)
    rss = rss_kib(srv.pid)
    at, held = time.monotonic() - t0, fd_count(srv.pid) - fd0  # after the sample: all still there
    for s in socks:
        s.close()
    stop(srv)
    each = (rss - base) * 1024 / n
    detail = (f"{'TLS' if tls else 'plain'}: RSS {base} -> {rss} KiB with {held} of {n} held, "
              f"sampled {at:.2f} s after the first connect")
    return (each if held >= n and at < 4.5 else None), detail


def tls_silent_rss_case(bindir, name, n=2000):
    """Issue 21 #4: a silent TLS connection must cost about what a silent
    plain one does (mbedTLS's record buffers, ~35 KiB, only once a byte has
    arrived). Both measured in this run, same server, same n; bound: TLS
    <= plain + 2 KiB per connection (an mbedtls_ssl_context and the
    transport's state, without the buffers, are well under that)."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft < n + 200:
        resource.setrlimit(resource.RLIMIT_NOFILE, (min(hard, n + 1000), hard))
    plain, d_plain = silent_rss(bindir, name, n, False)
    tls, d_tls = silent_rss(bindir, name, n, True)
    ok = plain is not None and tls is not None and tls <= plain + 2048
    def b(x):
        return "?" if x is None else f"{x:.0f}"
    check(ok, f"{name} --tls-cert: {n} silent connections cost {b(tls)} bytes each in RSS, "
          f"plain ones {b(plain)} (TLS <= plain + 2048)",
          f"{d_plain}; {d_tls} (a sample after 4.5 s, or with connections gone, does not count)")


def tls_records(data):
    """(content type, body) of each whole TLS record in data."""
    out = []
    while len(data) >= 5:
        n = struct.unpack("!H", data[3:5])[0]
        if len(data) < 5 + n:
            break
        out.append((data[0], data[5:5 + n]))
        data = data[5 + n:]
    return out


def _tls_session(port, ctx):
    """A TLS session over a raw socket through memory BIOs, so that the bytes
    the server sends stay visible: (socket, SSLObject, incoming, outgoing)."""
    sock = socket.create_connection(("127.0.0.1", port), timeout=5)
    inc, out = ssl.MemoryBIO(), ssl.MemoryBIO()
    obj = ctx.wrap_bio(inc, out, server_hostname="localhost")
    while True:
        try:
            obj.do_handshake()
            break
        except ssl.SSLWantReadError:
            sock.sendall(out.read())
            c = sock.recv(65536)
            if not c:
                raise ConnectionError("closed during the TLS handshake")
            inc.write(c)
    sock.sendall(out.read())
    return sock, obj, inc, out


def read_to_eof(sock, timeout):
    """Everything until the peer's FIN or reset, `timeout` at most: (bytes, how, seconds)."""
    sock.settimeout(timeout)
    got, t0 = b"", time.monotonic()
    while True:
        try:
            c = sock.recv(65536)
        except socket.timeout:
            return got, "no close", time.monotonic() - t0
        except ConnectionResetError:
            return got, "reset", time.monotonic() - t0
        if not c:
            return got, "eof", time.monotonic() - t0
        got += c


def tls_close_notify_case(bindir, name):
    """Issue 21: after a client's close_notify the server sends its own before
    it closes (RFC 5246 §7.2.1), after the TLS handshake alone and after a
    WebSocket upgrade. Seen as an alert record (type 21) that ssl's unwrap()
    takes as the close_notify it waits for."""
    srv, port = start_tls_server(bindir, name)
    ctx = client_ctx()
    for upgraded in (False, True):
        sock, obj, inc, out = _tls_session(port, ctx)
        if upgraded:
            obj.write(f"GET {ws_path(name)} HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
                      f"Sec-WebSocket-Key: {base64.b64encode(os.urandom(16)).decode()}\r\n"
                      "Sec-WebSocket-Version: 13\r\n\r\n".encode())
            sock.sendall(out.read())
            head = b""
            while b"\r\n\r\n" not in head:
                try:
                    head += obj.read(65536)
                except ssl.SSLWantReadError:
                    inc.write(sock.recv(65536) or b"")
        try:
            obj.unwrap()
        except ssl.SSLWantReadError:
            pass
        sock.sendall(out.read())  # our close_notify
        got, how, _ = read_to_eof(sock, 5)
        types = [t for t, _ in tls_records(got)]
        inc.write(got)
        try:
            obj.unwrap()
            answered = "yes"
        except (ssl.SSLError, OSError) as e:
            answered = f"no ({type(e).__name__})"
        sock.close()
        what = "after an upgrade" if upgraded else "after the TLS handshake"
        check(answered == "yes" and 21 in types,
              f"{name} --tls-cert: {what}, our close_notify is answered with the server's before it closes",
              f"records after ours: types {types}, then {how}; unwrap completed: {answered}")
    stop(srv)


def tls_alert_case(bindir, name):
    """Issue 21: what is not a ClientHello gets a fatal alert (a plaintext
    record of type 21, level 2) before the server closes, within 2 s of the
    send. The last one, a ClientHello without its cipher suites, gets
    decode_error from mbedTLS already: it shows that this check can pass."""
    srv, port = start_tls_server(bindir, name)

    def rec(t, body):
        return bytes([t]) + b"\x03\x01" + struct.pack("!H", len(body)) + body

    def hs(t, body):
        return bytes([t]) + struct.pack("!I", len(body))[1:] + body
    cases = [
        ("an HTTP request", b"GET / HTTP/1.1\r\nHost: localhost\r\nUpgrade: websocket\r\n\r\n"),
        ("64 zero bytes", bytes(64)),
        ("a ClientHello cut after its random (lengths consistent)", rec(22, hs(1, b"\x03\x03" + os.urandom(32)))),
        ("a ServerHello instead of a ClientHello", rec(22, hs(2, b"\x03\x03" + os.urandom(32) + b"\x00\xc0\x2b\x00"))),
        ("a ClientHello without cipher suites", rec(22, hs(1, b"\x03\x03" + os.urandom(32) + b"\x00\x00\x00\x01\x00"))),
    ]
    for label, payload in cases:
        sock = socket.create_connection(("127.0.0.1", port), timeout=5)
        sock.sendall(payload)
        got, how, took = read_to_eof(sock, 3)
        sock.close()
        recs = tls_records(got)
        fatal = [body for t, body in recs if t == 21 and len(body) == 2 and body[0] == 2]
        check(fatal and how in ("eof", "reset") and took < 2,
              f"{name} --tls-cert: {label} gets a fatal alert before the close"
              + (f" (description {fatal[0][1]})" if fatal else ""),
              f"got {got[:16].hex() or 'nothing'}, then {how} after {took:.2f} s")
    stop(srv)


def close_timeout_case(bindir, name):
    """Issue 21: "close timeouts start when our close frame has left the
    queue, not when it was queued". A peer sends 8 MiB to echo and reads
    nothing until the server has stopped reading it: its socket's send
    buffer holds ~4 MiB on loopback, its queue is over the high-water mark
    (seen as our unsent bytes no longer shrinking). Then SIGTERM: the
    server's close 1001 waits in its queue behind the echoes. The peer
    starts reading 6 s after the SIGTERM, 1 s after the 5 s close timeout,
    as fast as it can, and answers the close as soon as it arrives. The
    frame left the queue only then, so the closing handshake must
    complete: the peer's answer gets the server's FIN, the server logs no
    "closing handshake timed out" and exits 0."""
    srv, port = start_server(bindir, name, "--idle-timeout", "0", "--ping-interval", "0")
    s, _ = upgrade(port)
    data = frame(2, os.urandom(8 << 20))
    s.settimeout(20)
    sent = {}

    def send():  # blocks once the server holds off, until we read
        try:
            s.sendall(data)
            sent["done"] = True
        except OSError as e:
            sent["error"] = e
    sender = threading.Thread(target=send, daemon=True)
    sender.start()
    unsent, still, t0 = -1, 0, time.monotonic()
    while still < 5 and time.monotonic() - t0 < 20:  # unchanged for 0.5 s: the server has stopped reading us
        time.sleep(0.1)
        q = struct.unpack("i", fcntl.ioctl(s.fileno(), termios.TIOCOUTQ, b"\0\0\0\0"))[0]
        still = still + 1 if q == unsent and q > 0 else 0
        unsent = q
    os.kill(srv.pid, signal.SIGTERM)
    t_term = time.monotonic()
    time.sleep(6)
    late = time.monotonic() - t_term
    # Everything queued, then the close frame: read with an index, not by slicing 8 MiB per frame.
    buf, off, close, how, n = bytearray(), 0, None, "no close frame", 0
    try:
        while close is None:
            c = s.recv(1 << 20)
            if not c:
                how = "eof before the close frame"
                break
            buf += c
            while len(buf) - off >= 2:
                ln, h = buf[off + 1] & 0x7f, 2
                if ln == 126:
                    ln, h = struct.unpack("!H", buf[off + 2:off + 4])[0] if len(buf) - off >= 4 else (1 << 62), 4
                elif ln == 127:
                    ln, h = struct.unpack("!Q", buf[off + 2:off + 10])[0] if len(buf) - off >= 10 else (1 << 62), 10
                if len(buf) - off < h + ln:
                    break
                n += 1
                if buf[off] & 0x0f == 8:
                    close = bytes(buf[off + h:off + h + ln])
                    break
                off += h + ln
            if off > (1 << 20):
                del buf[:off]
                off = 0
    except OSError as e:
        how = f"{type(e).__name__} while reading"
    sender.join(10)  # the rest of our message goes in as the server reads on: the answer comes after it
    if close is not None and close[:2] == struct.pack("!H", 1001) and "done" not in sent:
        how = f"our message not sent whole ({sent.get('error', 'still sending')})"
    elif close is not None and close[:2] == struct.pack("!H", 1001):
        try:
            s.sendall(frame(8, close[:2]))
            how = "eof" if eof_within(s, 5) else "no FIN within 5 s"
        except OSError as e:
            how = f"{type(e).__name__} on our answer"
    s.close()  # our FIN, which the server's lingering close waits for
    try:
        rc = srv.wait(10)
    except subprocess.TimeoutExpired:
        rc = None
    stop(srv)
    log = bytes(srv.err).decode(errors="replace")
    check(how == "eof" and rc == 0 and "closing handshake timed out" not in log,
          f"{name}: SIGTERM's close 1001 queued behind echoes the peer reads {late:.1f} s later: "
          f"the closing handshake completes (its timeout counts from when the frame left the queue)",
          f"{n} frames read, close {close[:24] if close else None!r}, then {how}; our unsent bytes were "
          f"{unsent} at the SIGTERM; exit {rc}; log {log.strip()[-160:]!r}")


# --- client cases --------------------------------------------------------------

class RawServer:
    """A one-thread WebSocket server for the client cases: each connection is
    upgraded, then handed to behave(sock)."""

    def __init__(self, behave):
        self.ls = socket.socket()
        self.ls.bind(("127.0.0.1", 0))
        self.ls.listen(16)
        self.port = self.ls.getsockname()[1]
        self.behave, self.conns, self.times = behave, 0, []  # times: time.monotonic() of each accept
        threading.Thread(target=self.run, daemon=True).start()

    def run(self):
        while True:
            try:
                s, _ = self.ls.accept()
            except OSError:
                return
            self.times.append(time.monotonic())
            self.conns += 1
            threading.Thread(target=self.serve, args=(s,), daemon=True).start()

    def conns_within(self, seconds, timeout=10):
        """Connections in the first `seconds` after the first one, counted
        once that much time has passed since it (accepts are stamped as they
        come: the window is the client's, not the test's)."""
        end = time.monotonic() + timeout
        while not self.times and time.monotonic() < end:
            time.sleep(0.05)
        if not self.times:
            return 0
        time.sleep(max(0, self.times[0] + seconds - time.monotonic()))
        return sum(1 for t in self.times if t - self.times[0] < seconds)

    def serve(self, s):
        try:
            head = b""
            while b"\r\n\r\n" not in head:
                c = s.recv(4096)
                if not c:
                    return
                head += c
            key = [l.split(b":", 1)[1].strip() for l in head.split(b"\r\n") if l.lower().startswith(b"sec-websocket-key:")][0]
            acc = base64.b64encode(hashlib.sha1(key + GUID).digest())
            s.sendall(b"HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
                      b"Sec-WebSocket-Accept: " + acc + b"\r\n\r\n")
            self.behave(s)
        except OSError:
            pass
        finally:
            s.close()

    def close(self):
        self.ls.close()


def client(bindir, url, *args, stdout=subprocess.PIPE, stdin=subprocess.PIPE):
    return spawn([os.path.join(bindir, "ws-client"), url, *args], stdin=stdin, stdout=stdout,
                 stderr=subprocess.PIPE)


def client_cases(bindir):
    # Backpressure: a server floods pings and never reads.
    def flood(s):
        s.settimeout(0.05)
        ping = frame(9, b"x" * 125, mask=False)
        end = time.monotonic() + 3
        while time.monotonic() < end:
            try:
                s.sendall(ping * 64)
            except socket.timeout:
                pass
    srv = RawServer(flood)
    p = client(bindir, f"ws://127.0.0.1:{srv.port}/")
    peak = 0
    t0 = time.monotonic()
    while time.monotonic() - t0 < 3 and p.poll() is None:
        peak = max(peak, rss_kib(p.pid))
        time.sleep(0.1)
    check(peak and peak < 30000, f"ws-client: a server flooding pings and never reading: RSS peak {peak} KiB (< 30 MB)")
    stop(p)
    srv.close()

    # Backoff: a server that answers 101 then closes 1013 at once.
    def try_later(s):
        s.sendall(frame(8, struct.pack("!H", 1013) + b"try again later", mask=False))
        time.sleep(0.5)
    srv = RawServer(try_later)
    p = client(bindir, f"ws://127.0.0.1:{srv.port}/", "--reconnect")
    n = srv.conns_within(4)
    stop(p)
    err = p.stderr.read().decode()
    check(n <= 2 and "reconnecting in" in err and "server closed" in err,
          f"ws-client --reconnect: 101 then close 1013 -> {n} connections in 4 s (<= 2), says why",
          err[-300:])
    srv.close()

    # Backoff: a server that accepts and drops at once (no close frame).
    srv = RawServer(lambda s: None)
    p = client(bindir, f"ws://127.0.0.1:{srv.port}/", "--reconnect")
    n = srv.conns_within(4)
    stop(p)
    check(2 <= n <= 5, f"ws-client --reconnect: 101 then drop -> {n} connections in 4 s (2..5: "
          "backoff not reset by the handshake)", f"accepted at {[round(t - srv.times[0], 2) for t in srv.times]} s")
    srv.close()

    # A stall of the process must not look like a dead peer.
    def echo(s):
        s.settimeout(None)
        buf = b""
        while True:
            c = s.recv(65536)
            if not c:
                return
            buf += c
            while len(buf) >= 6 and len(buf) >= 6 + (buf[1] & 0x7f):
                n = buf[1] & 0x7f
                key, pl = buf[2:6], bytearray(buf[6:6 + n])
                for i in range(n):
                    pl[i] ^= key[i % 4]
                op = buf[0] & 0x0f
                buf = buf[6 + n:]
                if op == 8:
                    s.sendall(frame(8, bytes(pl), mask=False))
                    return
                s.sendall(frame(10 if op == 9 else op, bytes(pl), mask=False))
    srv = RawServer(echo)
    p = client(bindir, f"ws://127.0.0.1:{srv.port}/", "--ping-interval", "0.3")
    srv.conns_within(0.8)  # connected, and pinging, before the stall
    os.kill(p.pid, signal.SIGSTOP)
    time.sleep(1.5)
    os.kill(p.pid, signal.SIGCONT)
    time.sleep(0.5)
    try:
        p.stdin.write(b"after the stall\n")
        p.stdin.flush()
    except BrokenPipeError:
        pass
    line = b""
    if select.select([p.stdout], [], [], 5)[0]:
        line = p.stdout.readline()
    try:
        p.stdin.close()
        rc = p.wait(5)
    except (BrokenPipeError, subprocess.TimeoutExpired):
        rc = None
    err = p.stderr.read().decode()
    check(line == b"after the stall\n" and rc == 0 and "dead" not in err,
          "ws-client --ping-interval 0.3: stopped for 1.5 s, then alive (no false dead peer)",
          f"line {line!r}, rc {rc}, stderr {err[-200:]!r}")

    # A local error (stdin line over the limit) exits 1 and does not reconnect.
    # Counted before the client starts: on a loaded machine it can connect before this thread runs again.
    conns0 = srv.conns
    p = client(bindir, f"ws://127.0.0.1:{srv.port}/", "--reconnect")

    def feed():
        try:
            chunk = b"a" * (1 << 20)
            for _ in range(70):
                p.stdin.write(chunk)
            p.stdin.flush()
        except (BrokenPipeError, ValueError):
            pass
    threading.Thread(target=feed, daemon=True).start()
    try:
        rc = p.wait(15)
    except subprocess.TimeoutExpired:
        rc = None
    err = p.stderr.read().decode() if rc is not None else ""
    check(rc == 1 and "longer than" in err and "reconnecting" not in err and srv.conns - conns0 == 1,
          "ws-client --reconnect: a stdin line over 64 MiB -> exit 1, no reconnect", f"rc {rc}, {err[-200:]!r}")
    stop(p)

    # stdout closed (| head -1): exit instead of receiving forever.
    def chatter(s):
        s.settimeout(1)
        for i in range(100000):
            s.sendall(frame(1, b"line %d" % i, mask=False))
            time.sleep(0.001)
    srv2 = RawServer(chatter)
    p = client(bindir, f"ws://127.0.0.1:{srv2.port}/")
    first = p.stdout.readline()
    p.stdout.close()
    try:
        rc = p.wait(5)
    except subprocess.TimeoutExpired:
        rc = None
    check(first.startswith(b"line ") and rc == 1, "ws-client | head -1: exits 1 once stdout is gone (EPIPE)",
          f"first {first!r}, rc {rc}")
    stop(p)
    srv2.close()

    # Control characters from the server are filtered on a terminal.
    evil = b"a\x1b[31mb\x07c\xc2\x9bd\x7fe\tf"

    def evil_server(s):
        s.sendall(frame(1, evil, mask=False))
        s.sendall(frame(8, struct.pack("!H", 4000) + b"r\x1b]0;x\x07", mask=False))
        time.sleep(1)
    srv3 = RawServer(evil_server)
    mo, so = pty.openpty()
    me, se = pty.openpty()
    p = spawn([os.path.join(bindir, "ws-client"), f"ws://127.0.0.1:{srv3.port}/"], stdin=subprocess.PIPE,
              stdout=so, stderr=se)
    os.close(so)
    os.close(se)
    out, err = b"", b""
    end = time.monotonic() + 5
    while time.monotonic() < end and (b"\n" not in out or b"closed by server" not in err or b"\n" not in err.split(b"closed by server")[-1]):
        r = select.select([mo, me], [], [], 0.2)[0]
        for fd in r:
            try:
                d = os.read(fd, 4096)
            except OSError:
                d = b""
            if fd == mo:
                out += d
            else:
                err += d
    stop(p)
    os.close(mo)
    os.close(me)
    want = b"a?[31mb?c?d?e\tf"
    check(out.replace(b"\r\n", b"\n") == want + b"\n", "ws-client on a terminal: control characters in messages shown as '?'",
          f"got {out!r}")
    check(b"closed by server: 4000 r?]0;x?" in err, "ws-client on a terminal: control characters in close reasons shown as '?'",
          f"got {err!r}")
    # Not a terminal: bytes pass through unchanged.
    p = client(bindir, f"ws://127.0.0.1:{srv3.port}/")
    line = p.stdout.readline()
    stop(p)
    check(line == evil + b"\n", "ws-client into a pipe: messages pass unchanged", f"got {line!r}")
    srv3.close()
    srv.close()

    # The connect deadline is kept: a listener whose backlog is full never answers the SYN.
    ls = socket.socket()
    ls.bind(("127.0.0.1", 0))
    ls.listen(0)
    port = ls.getsockname()[1]
    fill = []
    for _ in range(4):
        f = socket.socket()
        f.setblocking(False)
        f.connect_ex(("127.0.0.1", port))
        fill.append(f)
    time.sleep(0.2)
    t0 = time.monotonic()
    p = client(bindir, f"ws://127.0.0.1:{port}/", "--connect-timeout", "1")
    try:
        rc = p.wait(8)
    except subprocess.TimeoutExpired:
        rc = None
    took = time.monotonic() - t0  # p.wait returned at the exit; t0 is before the process started
    stop(p)
    check(rc == 1 and 0.95 <= took <= 4, f"ws-client --connect-timeout 1 against a full backlog: exit 1 after {took:.1f} s",
          f"rc {rc}")
    for f in fill:
        f.close()
    ls.close()


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--bin", default="build/examples")
    ap.add_argument("--server", action="append")
    ap.add_argument("--only", action="append", metavar="CASE",
                    help="run only the cases whose function name contains CASE (repeatable; --list names them)")
    ap.add_argument("--list", action="store_true", help="list the cases and exit")
    a = ap.parse_args()
    bindir = os.path.abspath(a.bin)
    servers = a.server or ["echo-server"]
    tls_servers = [n for n in servers if n != "echo-server-uv"]  # the libuv one has no TLS
    cases = []  # (function, what it runs against, call)
    for name in servers:
        for case in (idle_cases, ping_cases, write_timeout_case, cap_cases, amplification_case):
            cases.append((case, name, lambda case=case, name=name: case(bindir, name)))
    cases.append((tls_reads_case, "echo-server", lambda: tls_reads_case(bindir)))
    flood = tls_servers + (["h2-server"] if os.path.exists(os.path.join(bindir, "h2-server")) else [])
    for name in flood:
        cases.append((tls_flood_case, name, lambda name=name: tls_flood_case(bindir, name)))
    for mode in ("--deflate", "--deflate-low-memory"):
        cases.append((deflate_drops_case, f"echo-server {mode}", lambda mode=mode: deflate_drops_case(bindir, mode)))
    for name in tls_servers:
        for case in (tls_silent_rss_case, tls_close_notify_case, tls_alert_case):
            cases.append((case, name, lambda case=case, name=name: case(bindir, name)))
    for name in servers:
        cases.append((close_timeout_case, name, lambda name=name: close_timeout_case(bindir, name)))
    cases.append((client_cases, "ws-client", lambda: client_cases(bindir)))
    if a.list:
        for case, what, _ in cases:
            print(f"{case.__name__} ({what})")
        return
    if a.only:
        cases = [c for c in cases if any(o in c[0].__name__ for o in a.only)]
    t0 = time.monotonic()
    for case, what, call in cases:
        t1 = time.monotonic()
        try:
            call()
        except Exception as e:  # noqa: BLE001
            check(False, f"{what}: {case.__name__}", f"{type(e).__name__}: {e}")
        if a.only:
            print(f"  ({case.__name__} against {what} took {time.monotonic() - t1:.1f} s)", flush=True)
    print(f"(adapters took {time.monotonic() - t0:.0f} s)")


if __name__ == "__main__":
    try:
        main()
    finally:
        for p in children:
            stop(p)
        if "dir" in _certs:
            shutil.rmtree(_certs["dir"], ignore_errors=True)
        print(f"adapters: {counts['ok']} passed, {counts['FAIL']} failed", flush=True)
        sys.exit(1 if counts["FAIL"] else 0)
