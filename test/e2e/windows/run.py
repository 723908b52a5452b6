#!/usr/bin/env python3
"""echo-server-poll built for Windows (mingw-w64, Winsock) running under Wine,
answered by Python's websockets and raw sockets on the Linux side over
loopback: text, binary, 1 MiB, ping, close with a code, a fragmented
message, permessage-deflate, several peers at once, and an invalid frame
(close 1002). Prints "windows: N passed, M failed".

  run.py --exe build/windows/echo-server-poll.exe --wine /usr/lib/wine/wine64 --prefix build/wineprefix
"""
import argparse
import asyncio
import base64
import os
import re
import socket
import struct
import subprocess
import sys
import time

import websockets

passed = failed = 0


def check(ok, what, detail=""):
    global passed, failed
    if ok:
        passed += 1
        print(f"ok {what}")
    else:
        failed += 1
        print(f"  FAIL windows: {what}{': ' + detail if detail else ''}")


def wine_env(prefix):
    env = dict(os.environ)
    # A private prefix under build/, no display, no Mono/Gecko install dialogs.
    env.update(WINEPREFIX=os.path.abspath(prefix), WINEDEBUG="-all", WINEDLLOVERRIDES="mscoree,mshtml=",
               DISPLAY="", WAYLAND_DISPLAY="")
    return env


def start(args, env, log):
    """The server on a free loopback port: (process, port) once it prints its address."""
    p = subprocess.Popen([args.wine, args.exe, "--port", "0", "--host", "127.0.0.1", "--deflate"],
                         stdout=subprocess.PIPE, stderr=log, env=env)
    deadline = time.monotonic() + args.start_timeout
    port = None
    os.set_blocking(p.stdout.fileno(), False)
    buf = b""
    while time.monotonic() < deadline and p.poll() is None and port is None:
        time.sleep(0.1)
        buf += p.stdout.read() or b""
        m = re.search(rb"listening on ws://127\.0\.0\.1:(\d+)/", buf)
        port = int(m.group(1)) if m else None
    return p, port


def raw_upgrade(port):
    """A raw socket after a completed opening handshake (no extensions)."""
    s = socket.create_connection(("127.0.0.1", port), timeout=10)
    key = base64.b64encode(os.urandom(16)).decode()
    s.sendall((f"GET / HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
               f"Sec-WebSocket-Key: {key}\r\nSec-WebSocket-Version: 13\r\n\r\n").encode())
    head = b""
    while b"\r\n\r\n" not in head:
        chunk = s.recv(4096)
        if not chunk:
            break
        head += chunk
    return s, head


def read_frame(s):
    def exact(n):
        b = b""
        while len(b) < n:
            c = s.recv(n - len(b))
            if not c:
                raise EOFError
            b += c
        return b
    h = exact(2)
    n = h[1] & 0x7F
    if n == 126:
        n = struct.unpack("!H", exact(2))[0]
    elif n == 127:
        n = struct.unpack("!Q", exact(8))[0]
    return h[0] & 0x0F, exact(n)


def masked(opcode, payload, fin=True, rsv=0):
    mask = os.urandom(4)
    n = len(payload)
    head = bytes([(0x80 if fin else 0) | rsv | opcode])
    head += bytes([0x80 | n]) if n < 126 else bytes([0x80 | 126]) + struct.pack("!H", n)
    return head + mask + bytes(b ^ mask[i % 4] for i, b in enumerate(payload))


async def cases(port):
    url = f"ws://127.0.0.1:{port}/"
    async with websockets.connect(url, compression=None, max_size=None) as ws:
        await ws.send("héllo, Windows")
        check(await ws.recv() == "héllo, Windows", "text echoed")
        data = bytes(range(256)) * 4
        await ws.send(data)
        check(await ws.recv() == data, "binary echoed")
        big = os.urandom(1 << 20)
        await ws.send(big)
        got = await asyncio.wait_for(ws.recv(), 30)
        check(got == big, "1 MiB binary echoed", f"got {len(got)} bytes")
        await ws.send(["frag", "mented ", "message"])  # one message in three frames
        check(await ws.recv() == "fragmented message", "fragmented message echoed whole")
        pong = await ws.ping(b"are you there")
        await asyncio.wait_for(pong, 10)
        check(True, "ping answered with a pong")
        await ws.close(4000, "bye")
        check(ws.close_code == 4000, "close handshake: our code 4000 echoed", f"code {ws.close_code}")
    async with websockets.connect(url, compression="deflate", max_size=None) as ws:
        ext = ws.response.headers.get("Sec-WebSocket-Extensions", "") if hasattr(ws, "response") \
            else ws.response_headers.get("Sec-WebSocket-Extensions", "")
        text = "permessage-deflate under Winsock " * 2000
        await ws.send(text)
        check("permessage-deflate" in ext and await ws.recv() == text,
              "permessage-deflate agreed, 66 KB text echoed", f"extensions {ext!r}")

    async def peer(i):
        async with websockets.connect(url, compression=None) as ws:
            for j in range(20):
                await ws.send(f"peer {i} message {j}")
                if await ws.recv() != f"peer {i} message {j}":
                    return False
            return True
    results = await asyncio.gather(*(peer(i) for i in range(20)))
    check(all(results), "20 peers at once, 20 echoes each", f"{results.count(True)} of 20")


def invalid_frame(port):
    s, head = raw_upgrade(port)
    check(head.startswith(b"HTTP/1.1 101"), "raw handshake: 101", repr(head[:40]))
    s.sendall(masked(0x3, b"reserved opcode"))  # opcodes 3-7 are reserved: a protocol error
    try:
        op, payload = read_frame(s)
        code = struct.unpack("!H", payload[:2])[0] if op == 8 and len(payload) >= 2 else None
    except (EOFError, OSError) as e:
        op, code = None, repr(e)
    check(code == 1002, "invalid frame (reserved opcode): close 1002", f"opcode {op}, code {code}")
    s.close()


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--exe", required=True)
    ap.add_argument("--wine", required=True)
    ap.add_argument("--prefix", required=True)
    ap.add_argument("--start-timeout", type=float, default=60)
    args = ap.parse_args()
    env = wine_env(args.prefix)
    wineserver = os.path.join(os.path.dirname(args.wine), "wineserver")
    if not os.path.exists(wineserver):
        wineserver = "wineserver"
    # A fresh prefix is made by wineboot (about 20 s); later runs reuse it.
    if not os.path.exists(os.path.join(args.prefix, "system.reg")):
        t0 = time.monotonic()
        r = subprocess.run([args.wine, "wineboot", "-i"], env=env, stdout=subprocess.DEVNULL,
                           stderr=subprocess.DEVNULL, timeout=180)
        check(r.returncode == 0, f"Wine prefix made by wineboot ({time.monotonic() - t0:.0f} s)", f"exit {r.returncode}")
    else:
        check(True, "Wine prefix reused")
    log_path = os.path.join(args.prefix, "echo-server.log")
    with open(log_path, "w") as log:
        p, port = start(args, env, log)
        try:
            check(port is not None, "echo-server-poll.exe listens under Wine", f"exit {p.poll()}")
            if port:
                asyncio.run(asyncio.wait_for(cases(port), 90))
                invalid_frame(port)
                check(p.poll() is None, "still running after all of the above")
        except Exception as e:  # a case that hangs or raises counts as one failure
            check(False, "the cases ran to the end", repr(e))
        finally:
            p.terminate()
            try:
                p.wait(10)
            except subprocess.TimeoutExpired:
                p.kill()
            try:  # the prefix's wineserver saves the registry and exits a few seconds after
                subprocess.run([wineserver, "-w"], env=env, timeout=30)
            except subprocess.TimeoutExpired:
                subprocess.run([wineserver, "-k"], env=env, timeout=30)
    if failed:
        sys.stdout.write(open(log_path).read()[-2000:])
    print(f"windows: {passed} passed, {failed} failed")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
