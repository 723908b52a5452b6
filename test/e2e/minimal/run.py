#!/usr/bin/env python3
"""examples/minimal.c as a newcomer builds it, against a real peer.

    run.py MAKE BUILD

Installs libws into a scratch prefix, copies minimal.c alone into a scratch
directory, builds it there with exactly `cc minimal.c $(pkg-config --cflags
--libs libws)` (PKG_CONFIG_PATH at the prefix), starts it on a free port and
drives it with Python's websockets (Debian's, run with /usr/bin/python3) and
a few raw sockets. Prints "ok CASE" or "FAIL CASE: why" per case, then
"minimal: N passed, M failed"; exits 1 if anything failed.
"""
import asyncio
import os
import re
import shutil
import socket
import struct
import subprocess
import sys
import tempfile
import threading
import time

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))))
counts = {"ok": 0, "FAIL": 0}


def check(ok, name, why=""):
    word = "ok" if ok else "FAIL"
    counts[word] += 1
    print(f"{word} {name}" + ("" if ok or not why else f": {why}"), flush=True)
    return ok


def finish():
    print(f"minimal: {counts['ok']} passed, {counts['FAIL']} failed", flush=True)
    sys.exit(1 if counts["FAIL"] else 0)


def build(make, build_dir, tmp):
    """make install into tmp/usr, then the one-line build in tmp/src. Returns a.out's path or None."""
    r = subprocess.run([make, "--no-print-directory", "-s", "install", f"BUILD={build_dir}", f"PREFIX={tmp}/usr"],
                       cwd=ROOT, capture_output=True, text=True)
    if not check(r.returncode == 0, "make install into a scratch prefix", r.stdout + r.stderr):
        return None
    src = os.path.join(tmp, "src")
    os.mkdir(src)
    shutil.copy(os.path.join(ROOT, "examples", "minimal.c"), src)
    env = dict(os.environ, PKG_CONFIG_PATH=f"{tmp}/usr/lib/pkgconfig")
    cmd = "cc minimal.c $(pkg-config --cflags --libs libws)"
    r = subprocess.run(["sh", "-c", cmd], cwd=src, env=env, capture_output=True, text=True)
    if not check(r.returncode == 0 and os.path.exists(os.path.join(src, "a.out")), f"builds alone: {cmd}",
                 r.stdout + r.stderr):
        return None
    return os.path.join(src, "a.out")


def start(exe, tmp):
    env = dict(os.environ, LD_LIBRARY_PATH=f"{tmp}/usr/lib")
    p = subprocess.Popen([exe, "0"], env=env, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                         stderr=subprocess.PIPE, text=True)
    line = p.stderr.readline()  # the first line, written before the loop starts
    m = re.match(r"listening on ws://127\.0\.0\.1:(\d+)/", line)
    if not check(m is not None, "starts and reports its port", repr(line)):
        p.kill()
        return None, None
    return p, int(m.group(1))


def handshake(port, rcvbuf=None):
    """A raw client socket (with a receive buffer of rcvbuf bytes), upgraded; returns it."""
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    if rcvbuf:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, rcvbuf)
    s.settimeout(10)
    s.connect(("127.0.0.1", port))
    s.sendall(b"GET / HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
              b"Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n")
    head = b""
    while b"\r\n\r\n" not in head:
        b = s.recv(1)
        if not b:
            raise EOFError("no 101")
        head += b
    if not head.startswith(b"HTTP/1.1 101"):
        raise ValueError(head)
    return s


def frame(op, payload, fin=True):
    """A masked client frame."""
    mask = os.urandom(4)
    n = len(payload)
    hdr = bytes([(0x80 if fin else 0) | op])
    if n < 126:
        hdr += bytes([0x80 | n])
    elif n < 65536:
        hdr += bytes([0x80 | 126]) + struct.pack("!H", n)
    else:
        hdr += bytes([0x80 | 127]) + struct.pack("!Q", n)
    m = (mask * (n // 4 + 1))[:n]
    body = (int.from_bytes(payload, "big") ^ int.from_bytes(m, "big")).to_bytes(n, "big")
    return hdr + mask + body


def recv_exact(s, n):
    buf = b""
    while len(buf) < n:
        b = s.recv(n - len(buf))
        if not b:
            raise EOFError(f"EOF after {len(buf)} of {n} bytes")
        buf += b
    return buf


def read_frame(s):
    """(fin, opcode, payload) of one server frame."""
    b0, b1 = recv_exact(s, 2)
    n = b1 & 0x7f
    if n == 126:
        n = struct.unpack("!H", recv_exact(s, 2))[0]
    elif n == 127:
        n = struct.unpack("!Q", recv_exact(s, 8))[0]
    return bool(b0 & 0x80), b0 & 0x0f, recv_exact(s, n)


async def peer_cases(port):
    import websockets
    url = f"ws://127.0.0.1:{port}/"
    async with websockets.connect(url, max_size=None, compression=None) as ws:
        await ws.send("hello, libws ✓")
        got = await asyncio.wait_for(ws.recv(), 10)
        check(got == "hello, libws ✓", "websockets: text echoed", repr(got))

        data = bytes(range(256)) * 4
        await ws.send(data)
        got = await asyncio.wait_for(ws.recv(), 10)
        check(got == data, "websockets: binary echoed", f"{len(got)} bytes")

        big = os.urandom(1 << 20)
        await ws.send(big)
        got = await asyncio.wait_for(ws.recv(), 20)
        check(got == big, "websockets: 1 MiB binary message echoed", f"{len(got)} bytes")

        bigtext = ("0123456789abcdé" * 70000)[: 1 << 20]
        await ws.send(bigtext)
        got = await asyncio.wait_for(ws.recv(), 20)
        check(got == bigtext, "websockets: 1 MiB text message echoed", f"{len(got)} chars")

        waiter = await ws.ping(b"are you there")
        try:
            await asyncio.wait_for(waiter, 10)
            check(True, "websockets: ping answered with its pong")
        except asyncio.TimeoutError:
            check(False, "websockets: ping answered with its pong", "no pong in 10 s")

        parts = ["frag", "mented ", "méssage"]
        await ws.send(parts)  # an iterable: one frame per part
        got = await asyncio.wait_for(ws.recv(), 10)
        check(got == "".join(parts), "websockets: fragmented text message echoed whole", repr(got))

        bparts = [b"\x00\x01", b"", b"\xff" * 70000]
        await ws.send(bparts)
        got = await asyncio.wait_for(ws.recv(), 10)
        check(got == b"".join(bparts), "websockets: fragmented binary message (empty fragment, 64 KiB+) echoed",
              f"{len(got)} bytes")

        await ws.close(1000, "bye")
        check(ws.close_code == 1000, "websockets: close 1000 answered with close 1000", f"{ws.close_code}")


def raw_cases(port, server):
    name = "raw: each fragment echoed as it arrives, before the message ends"
    try:
        s = handshake(port)
        s.sendall(frame(0x1, b"abc", fin=False))
        a = read_frame(s)
        s.sendall(frame(0x0, b"def"))
        b = read_frame(s)
        check(a == (False, 0x1, b"abc") and b == (True, 0x0, b"def"), name, f"{a} {b}")
        s.close()
    except Exception as e:  # noqa: BLE001
        check(False, name, repr(e))

    name = "raw: ping between fragments answered with the same payload"
    try:
        s = handshake(port)
        s.sendall(frame(0x2, b"12", fin=False) + frame(0x9, b"p1ng") + frame(0x0, b"34"))
        got = [read_frame(s) for _ in range(3)]
        check(got == [(False, 0x2, b"12"), (True, 0xA, b"p1ng"), (True, 0x0, b"34")], name, repr(got))
        s.close()
    except Exception as e:  # noqa: BLE001
        check(False, name, repr(e))

    name = "raw: 8 MiB sent while not reading (partial writes, backpressure), all echoed in order"
    try:
        s = handshake(port, rcvbuf=16384)  # else loopback's buffers (up to 32 MiB here) take it all
        chunks = [os.urandom(65536) for _ in range(128)]
        err = []

        def writer():
            try:
                for c in chunks:
                    s.sendall(frame(0x2, c))
            except Exception as e:  # noqa: BLE001
                err.append(e)
        t = threading.Thread(target=writer, daemon=True)
        t.start()
        time.sleep(1)  # the server's socket fills (EAGAIN), then its output buffer, then it stops reading
        got = b""
        while len(got) < 8 << 20:
            fin, op, p = read_frame(s)
            got += p
        t.join(10)
        check(not err and got == b"".join(chunks), name, f"{len(got)} bytes {err}")
        s.close()
    except Exception as e:  # noqa: BLE001
        check(False, name, repr(e))

    name = "raw: a plain HTTP GET gets an HTTP 4xx and the connection closed"
    try:
        s = socket.create_connection(("127.0.0.1", port), timeout=10)
        s.sendall(b"GET / HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
        resp = b""
        while True:
            b = s.recv(4096)
            if not b:
                break
            resp += b
        check(re.match(rb"HTTP/1\.1 4\d\d ", resp) is not None, name, repr(resp[:60]))
        s.close()
    except Exception as e:  # noqa: BLE001
        check(False, name, repr(e))

    name = "raw: a protocol error (unmasked frame) gets close 1002"
    try:
        s = handshake(port)
        s.sendall(b"\x81\x02hi")
        fin, op, p = read_frame(s)
        check(op == 0x8 and p[:2] == struct.pack("!H", 1002), name, f"op {op} {p!r}")
        s.close()
    except Exception as e:  # noqa: BLE001
        check(False, name, repr(e))

    name = "raw: 100 peers that vanish mid-message free their slots (64), then an echo works"
    try:
        for _ in range(100):
            s = handshake(port)
            s.sendall(frame(0x1, b"x" * 100, fin=False)[:50])
            s.close()
        time.sleep(0.2)
        s = handshake(port)
        s.sendall(frame(0x1, b"still here"))
        got = read_frame(s)
        check(got == (True, 0x1, b"still here"), name, repr(got))
        s.close()
    except Exception as e:  # noqa: BLE001
        check(False, name, repr(e))

    check(server.poll() is None, "still running after all of the above", f"exit {server.poll()}")


def main():
    if len(sys.argv) != 3:
        sys.exit(__doc__)
    tmp = tempfile.mkdtemp(prefix="libws-minimal-")
    server = None
    try:
        exe = build(sys.argv[1], sys.argv[2], tmp)
        if exe:
            server, port = start(exe, tmp)
        if server:
            try:
                asyncio.run(asyncio.wait_for(peer_cases(port), 90))
            except Exception as e:  # noqa: BLE001
                check(False, "websockets cases", repr(e))
            raw_cases(port, server)
    finally:
        if server:
            server.kill()
            server.wait()
        shutil.rmtree(tmp, ignore_errors=True)
    finish()


if __name__ == "__main__":
    main()
