#!/usr/bin/env python3
"""Memory per idle upgraded connection: opens N WebSocket connections to an
echo server (plain, then TLS), each echoing one message so that buffers were
used once, then reads the server's RSS.

    idle_mem.py --bin build/examples [-n 10000] [--server echo-server] [--check KIB]

Prints one line per mode: "idle memory (plain|tls): N connections, RSS X MiB
(base B MiB), Y bytes each". With --check KIB, fails (exit 1) when a plain
connection costs more than KIB KiB."""
import argparse
import base64
import os
import resource
import select
import shutil
import socket
import ssl
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))


def rss_kib(pid):
    with open(f"/proc/{pid}/status") as f:
        return int(next(l for l in f if l.startswith("VmRSS:")).split()[1])


def start(argv):
    p = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, start_new_session=True)
    port = int(p.stdout.readline().decode().rsplit(":", 1)[1].strip("/\n"))
    return p, port


def upgrade_all(port, n, ctx):
    """Opens n connections and upgrades them, many handshakes in flight at once."""
    req = ("GET / HTTP/1.1\r\nHost: localhost\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
           "Sec-WebSocket-Key: {}\r\nSec-WebSocket-Version: 13\r\n\r\n")
    socks = []
    for i in range(n):
        s = socket.create_connection(("127.0.0.1", port))
        if ctx:
            s = ctx.wrap_socket(s, server_hostname="localhost")
        s.sendall(req.format(base64.b64encode(os.urandom(16)).decode()).encode())
        socks.append(s)
        if len(socks) % 200 == 0 or i == n - 1:  # collect the answers in batches
            for t in socks[-200:]:
                head = b""
                while b"\r\n\r\n" not in head:
                    head += t.recv(4096)
                assert head.startswith(b"HTTP/1.1 101"), head[:40]
                # one masked 1000-byte binary echo: the buffers are used once
                t.sendall(b"\x82\xfe\x03\xe8" + b"\0\0\0\0" + b"x" * 1000)
                got = b""
                while len(got) < 1004:
                    got += t.recv(65536)
    return socks


def measure(bindir, server, n, tls_dir):
    argv = [os.path.join(bindir, server), "--port", "0", "--idle-timeout", "0", "--ping-interval", "0",
            "--max-conns", str(n + 10)]
    ctx = None
    if tls_dir:
        argv += ["--tls-cert", os.path.join(tls_dir, "server.pem"), "--tls-key", os.path.join(tls_dir, "server.key")]
        ctx = ssl.create_default_context(cafile=os.path.join(tls_dir, "ca.pem"))
    p, port = start(argv)
    try:
        time.sleep(0.2)
        base = rss_kib(p.pid)
        t0 = time.monotonic()
        socks = upgrade_all(port, n, ctx)
        time.sleep(0.5)
        rss = rss_kib(p.pid)
        took = time.monotonic() - t0
        for s in socks:
            s.close()
        return base, rss, took
    finally:
        p.kill()
        p.wait()


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--bin", default="build/examples")
    ap.add_argument("-n", type=int, default=10000)
    ap.add_argument("--server", default="echo-server")
    ap.add_argument("--check", type=float, help="fail if a plain idle connection costs more KiB")
    ap.add_argument("--no-tls", action="store_true")
    a = ap.parse_args()
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    n = min(a.n, hard - 100)
    bindir = os.path.abspath(a.bin)
    failed = False
    d = None
    if not a.no_tls:
        d = tempfile.mkdtemp(prefix="libws-idle-")
        subprocess.run(["sh", os.path.join(HERE, "..", "interop", "tls_certs.sh"), d], check=True)
    for mode, tls_dir in (("plain", None), ("tls", d)):
        if mode == "tls" and not d:
            continue
        base, rss, took = measure(bindir, a.server, n, tls_dir)
        each = (rss - base) * 1024 / n
        print(f"idle memory ({mode}, {a.server}): {n} connections, RSS {rss / 1024:.1f} MiB "
              f"(base {base / 1024:.1f} MiB), {each:.0f} bytes each (set up in {took:.1f} s)", flush=True)
        if mode == "plain" and a.check and each > a.check * 1024:
            failed = True
    if d:
        shutil.rmtree(d, ignore_errors=True)
    print(f"idle-memory: {0 if failed else 1} passed, {1 if failed else 0} failed" if a.check else "", flush=True)
    sys.exit(1 if failed else 0)


if __name__ == "__main__":
    main()
