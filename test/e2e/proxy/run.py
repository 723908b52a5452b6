#!/usr/bin/env python3
"""ws-client through HTTP CONNECT proxies: Debian's tinyproxy (open, and with
BasicAuth) and fake proxies in this script, all on loopback, in front of
echo-server (ws:// and wss://).

    run.py --bin build/examples --work build/proxy [--name proxy]

Prints "ok CASE" or "FAIL CASE: why" per case and ends with
"NAME: N passed, M failed"; exits 1 if anything failed. Every server gets a
port of its own (tinyproxy cannot take port 0: a port is picked free first),
and every process has a timeout and is killed at the end.
"""
import argparse
import atexit
import base64
import hashlib
import os
import re
import signal
import socket
import subprocess
import sys
import threading
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(os.path.dirname(HERE)))
counts = {"ok": 0, "FAIL": 0}
children = []


def check(ok, name, why=""):
    word = "ok" if ok else "FAIL"
    counts[word] += 1
    print(f"{word} {name}" + ("" if ok or not why else f": {why}"), flush=True)
    return ok


@atexit.register
def kill_children():
    for p in children:
        if p.poll() is None:
            try:
                os.killpg(p.pid, signal.SIGKILL)
            except OSError:
                pass
            p.wait()


def start(argv, **kw):
    p = subprocess.Popen(argv, cwd=ROOT, start_new_session=True, stdin=subprocess.DEVNULL, **kw)
    children.append(p)
    return p


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_port(port, timeout=10):
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        try:
            socket.create_connection(("127.0.0.1", port), 0.5).close()
            return True
        except OSError:
            time.sleep(0.05)
    return False


def tail(s, n=300):
    return s.strip()[-n:].replace("\n", " | ")


class Run:
    """One ws-client run: stdin fed whole, then EOF; out, err, rc, seconds."""

    def __init__(self, bindir, url, args=(), stdin="hello proxy\n", env=None, timeout=20):
        e = {k: v for k, v in os.environ.items() if not k.lower().endswith("_proxy")}
        e.update(env or {})
        t0 = time.monotonic()
        try:
            r = subprocess.run([os.path.join(bindir, "ws-client"), url, *args], cwd=ROOT, input=stdin.encode(),
                               capture_output=True, env=e, timeout=timeout)
            self.out, self.err, self.rc = r.stdout.decode(errors="replace"), r.stderr.decode(errors="replace"), r.returncode
        except subprocess.TimeoutExpired as x:
            self.out = (x.stdout or b"").decode(errors="replace")
            self.err = (x.stderr or b"").decode(errors="replace") + " [killed: timeout]"
            self.rc = None
        self.seconds = time.monotonic() - t0
        # Under ASan+UBSan (make proxy's second run) a report fails the run
        # whatever the case expected (the exit status alone could pass as 1).
        if re.search(r"Sanitizer|runtime error:", self.err):
            check(False, f"ws-client {url} {' '.join(args)}: sanitizer report", tail(self.err, 2000))

    def echoed(self, line="hello proxy"):
        return self.rc == 0 and self.out.splitlines() == [line]

    def why(self):
        return f"rc {self.rc}, {self.seconds:.1f} s, stdout {self.out[:100]!r}, stderr {tail(self.err)!r}"


class Tinyproxy:
    """tinyproxy in the foreground on a loopback port, from a generated config."""

    def __init__(self, work, name, connect_ports, auth=None):
        self.port = free_port()
        self.log = os.path.join(work, f"{name}.log")
        conf = os.path.join(work, f"{name}.conf")
        open(self.log, "w").close()
        with open(conf, "w") as f:
            f.write(f"Port {self.port}\nListen 127.0.0.1\nTimeout 30\nLogFile \"{self.log}\"\nLogLevel Info\n"
                    "MaxClients 50\nAllow 127.0.0.1\nDisableViaHeader Yes\n")
            f.writelines(f"ConnectPort {p}\n" for p in connect_ports)
            if auth:
                f.write(f"BasicAuth {auth[0]} {auth[1]}\n")
        self.p = start(["tinyproxy", "-d", "-c", conf], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        self.ok = wait_port(self.port)

    def mark(self):
        return os.path.getsize(self.log)

    def connects_since(self, mark):
        """The CONNECT request lines logged since mark."""
        with open(self.log, errors="replace") as f:
            f.seek(mark)
            return re.findall(r"Request \(file descriptor \d+\): (CONNECT \S+)", f.read())

    def url(self, cred=""):
        return f"http://{cred}127.0.0.1:{self.port}"


class FakeProxy:
    """A "proxy" on a loopback port that answers each connection with
    behave(conn, request_head) in a thread of its own."""

    def __init__(self, behave):
        self.s = socket.socket()
        self.s.bind(("127.0.0.1", 0))
        self.s.listen(8)
        self.port = self.s.getsockname()[1]
        self.behave, self.errors, self.requests = behave, [], []
        threading.Thread(target=self._serve, daemon=True).start()

    def _serve(self):
        while True:
            try:
                c, _ = self.s.accept()
            except OSError:
                return
            threading.Thread(target=self._one, args=(c,), daemon=True).start()

    def _one(self, c):
        try:
            c.settimeout(10)
            self.requests.append(read_head(c))
            self.behave(c, self.requests[-1])
        except Exception as e:  # reported by the case that looks
            self.errors.append(repr(e))
        finally:
            c.close()

    def url(self, cred=""):
        return f"http://{cred}127.0.0.1:{self.port}"

    def close(self):
        self.s.close()


def read_head(c):
    buf = b""
    while b"\r\n\r\n" not in buf:
        d = c.recv(4096)
        if not d:
            break
        buf += d
    return buf


def ws_frame(op, payload):
    return bytes([0x80 | op, len(payload)]) + payload  # server frames are unmasked; payloads < 126 here


def certs(work):
    """tls_certs.sh's set, plus localhost.pem: DNS:localhost and nothing
    else, so that it verifies for the origin's name and never for the
    proxy's address (127.0.0.1)."""
    d = os.path.join(work, "certs")
    if subprocess.run(["sh", os.path.join(ROOT, "test/e2e/interop/tls_certs.sh"), d], cwd=ROOT).returncode:
        return None
    ec = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes"]
    with open(os.path.join(d, "localhost.ext"), "w") as f:
        f.write("subjectAltName=DNS:localhost\nbasicConstraints=CA:FALSE\nextendedKeyUsage=serverAuth\n")
    q = dict(cwd=d, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    if subprocess.run(["openssl", "req", *ec, "-keyout", "localhost.key", "-out", "localhost.csr",
                       "-subj", "/CN=localhost"], **q).returncode or \
       subprocess.run(["openssl", "x509", "-req", "-in", "localhost.csr", "-CA", "ca.pem", "-CAkey", "ca.key",
                       "-CAcreateserial", "-out", "localhost.pem", "-days", "30", "-extfile", "localhost.ext"],
                      **q).returncode:
        return None
    return d


def echo_server(bindir, *flags):
    p = start([os.path.join(bindir, "echo-server"), "--port", "0", *flags],
              stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
    line = p.stdout.readline().decode()
    m = re.search(r":(\d+)/$", line.strip())
    return int(m.group(1)) if m else None


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--bin", required=True)
    ap.add_argument("--work", required=True)
    ap.add_argument("--name", default="proxy")
    a = ap.parse_args()
    a.work = os.path.abspath(a.work)
    os.makedirs(a.work, exist_ok=True)
    started = time.monotonic()
    try:
        cases(a.bin, a.work)
    finally:
        print(f"{a.name}: {counts['ok']} passed, {counts['FAIL']} failed ({time.monotonic() - started:.0f} s)",
              flush=True)
    sys.exit(1 if counts["FAIL"] else 0)


def cases(bindir, work):
    cd = certs(work)
    if not check(cd is not None, "test certificates (tls_certs.sh, openssl)"):
        return
    ca = ["--ca", os.path.join(cd, "ca.pem")]
    ws = echo_server(bindir)
    wss = echo_server(bindir, "--tls-cert", os.path.join(cd, "localhost.pem"),
                      "--tls-key", os.path.join(cd, "localhost.key"))
    # ip4only.pem names 127.0.0.1, the proxy's address, and not localhost.
    wrong = echo_server(bindir, "--tls-cert", os.path.join(cd, "ip4only.pem"),
                        "--tls-key", os.path.join(cd, "ip4only.key"))
    if not check(ws and wss and wrong, "echo-servers (ws://, wss://, wss:// with the wrong name) start"):
        return
    refused = free_port()  # not a ConnectPort: tinyproxy answers 403
    tp = Tinyproxy(work, "tinyproxy", [ws, wss, wrong])
    user, password = "libws", "s3cret.pass-w0rd"  # tinyproxy takes [-a-z0-9._] only
    tpa = Tinyproxy(work, "tinyproxy-auth", [ws, wss], auth=(user, password))
    if not check(tp.ok and tpa.ok, "tinyproxy starts (open, and with BasicAuth)",
                 "tinyproxy missing? (scripts/deps.sh all)"):
        return
    cred = f"{user}:s3cret%2epass%2Dw0rd@"  # percent-encoded in the URL, decoded for Basic

    def via(label, run, proxy, target):
        """run echoed through proxy, which logged one CONNECT to target."""
        check(run.echoed() and proxy.connects_since(m) == [f"CONNECT {target}"], label,
              f"{run.why()}; proxy log: {proxy.connects_since(m)}")

    # --- through tinyproxy ----------------------------------------------
    m = tp.mark()
    via("ws:// through tinyproxy (--proxy): echo, and the proxy logged the CONNECT",
        Run(bindir, f"ws://localhost:{ws}/", ["--proxy", tp.url()]), tp, f"localhost:{ws}")
    m = tp.mark()
    via("ws:// to 127.0.0.1 through the proxy named localhost (::1 refused, then 127.0.0.1)",
        Run(bindir, f"ws://127.0.0.1:{ws}/", ["--proxy", f"http://localhost:{tp.port}/"]), tp, f"127.0.0.1:{ws}")
    m = tp.mark()
    via("wss:// through tinyproxy: TLS to the origin, its certificate verified for localhost",
        Run(bindir, f"wss://localhost:{wss}/", ["--proxy", tp.url(), *ca]), tp, f"localhost:{wss}")
    r = Run(bindir, f"wss://localhost:{wrong}/", ["--proxy", tp.url(), *ca])
    check(r.rc == 1 and "host name mismatch" in r.err and not r.out,
          "wss:// through tinyproxy: a certificate for the proxy's address, not the origin's name, fails",
          r.why())

    # --- credentials ----------------------------------------------------
    m = tpa.mark()
    via("credentials right (percent-encoded in the URL): ws:// through",
        Run(bindir, f"ws://localhost:{ws}/", ["--proxy", tpa.url(cred)]), tpa, f"localhost:{ws}")
    m = tpa.mark()
    via("credentials right: wss:// through",
        Run(bindir, f"wss://localhost:{wss}/", ["--proxy", tpa.url(cred), *ca]), tpa, f"localhost:{wss}")
    r = Run(bindir, f"ws://localhost:{ws}/", ["--proxy", tpa.url()])
    check(r.rc == 1 and re.search(r"wants credentials \(HTTP/1\.\d 407 ", r.err) and not r.out,
          "no credentials: 407 reported, exit 1", r.why())
    # tinyproxy 1.11 answers wrong credentials with 401, not 407 (the fake
    # proxy below sends a 407 to credentials).
    r = Run(bindir, f"ws://localhost:{ws}/", ["--proxy", tpa.url(f"{user}:wrong@")])
    check(r.rc == 1 and re.search(r"rejected the credentials \(HTTP/1\.\d 40[17] ", r.err) and "wrong" not in r.err,
          "wrong credentials: rejected, said so (the password not printed), exit 1", r.why())
    r = Run(bindir, f"ws://localhost:{ws}/", ["--proxy", tpa.url(f"{user}:wrong@"), "--reconnect"])
    check(r.rc == 1 and "reconnecting" not in r.err, "a 407 is final: --reconnect does not retry it", r.why())

    # --- refusals and failures ------------------------------------------
    r = Run(bindir, f"ws://localhost:{refused}/", ["--proxy", tp.url()])
    check(r.rc == 1 and re.search(rf"refused CONNECT localhost:{refused} \(HTTP/1\.\d 403 ", r.err),
          "CONNECT to a port the proxy refuses: its status line, exit 1", r.why())
    down = free_port()
    r = Run(bindir, f"ws://localhost:{ws}/", ["--proxy", f"http://127.0.0.1:{down}", "--connect-timeout", "2"])
    check(r.rc == 1 and f"connect to proxy 127.0.0.1 port {down}: Connection refused" in r.err and r.seconds < 2,
          "proxy down: said so, exit 1, within the connect timeout", r.why())
    r = Run(bindir, f"ws://localhost:{ws}/", ["--proxy", "https://127.0.0.1:1"])
    check(r.rc == 2 and "https:// proxies" in r.err, "https:// proxy URL: a usage error that says why", r.why())
    r = Run(bindir, f"ws://localhost:{ws}/", env={"http_proxy": "http://127.0.0.1:bad"})
    check(r.rc == 2 and "bad proxy URL (http_proxy)" in r.err, "a bad http_proxy: names the variable", r.why())

    # --- the environment ------------------------------------------------
    m = tp.mark()
    via("http_proxy picked up for ws://", Run(bindir, f"ws://localhost:{ws}/", env={"http_proxy": tp.url()}),
        tp, f"localhost:{ws}")
    m = tp.mark()
    via("HTTP_PROXY picked up for ws://", Run(bindir, f"ws://localhost:{ws}/", env={"HTTP_PROXY": tp.url()}),
        tp, f"localhost:{ws}")
    m = tp.mark()
    via("https_proxy picked up for wss://",
        Run(bindir, f"wss://localhost:{wss}/", ca, env={"https_proxy": tp.url()}), tp, f"localhost:{wss}")
    m = tpa.mark()
    via("HTTPS_PROXY with credentials for wss://",
        Run(bindir, f"wss://localhost:{wss}/", ca, env={"HTTPS_PROXY": tpa.url(cred)}), tpa, f"localhost:{wss}")

    def direct(label, run, proxy=tp):
        check(run.echoed() and proxy.connects_since(m) == [], label, f"{run.why()}; log {proxy.connects_since(m)}")

    m = tp.mark()
    direct("https_proxy is not used for ws://", Run(bindir, f"ws://localhost:{ws}/", env={"https_proxy": tp.url()}))
    m = tp.mark()
    direct("http_proxy is not used for wss://",
           Run(bindir, f"wss://localhost:{wss}/", ca, env={"http_proxy": tp.url()}))
    for np in ("localhost", "example.com, .LOCALHOST", f"localhost:{ws}", "*"):
        m = tp.mark()
        direct(f"no_proxy={np!r} bypasses the proxy",
               Run(bindir, f"ws://localhost:{ws}/", env={"http_proxy": tp.url(), "no_proxy": np}))
    m = tp.mark()
    direct("NO_PROXY=127.0.0.1 bypasses it for ws://127.0.0.1",
           Run(bindir, f"ws://127.0.0.1:{ws}/", env={"http_proxy": tp.url(), "NO_PROXY": "127.0.0.1"}))
    for np in ("example.com", "calhost", f"localhost:{ws + 1 if ws < 65535 else ws - 1}", "127.0.0.1"):
        m = tp.mark()
        via(f"no_proxy={np!r} does not match localhost:{ws}: through the proxy",
            Run(bindir, f"ws://localhost:{ws}/", env={"http_proxy": tp.url(), "no_proxy": np}), tp,
            f"localhost:{ws}")
    m = tp.mark()
    direct("--no-proxy overrides http_proxy",
           Run(bindir, f"ws://localhost:{ws}/", ["--no-proxy"], env={"http_proxy": tp.url()}))
    m = tp.mark()
    direct("--proxy '' overrides http_proxy",
           Run(bindir, f"ws://localhost:{ws}/", ["--proxy", ""], env={"http_proxy": tp.url()}))
    m = tp.mark()
    via("--proxy overrides http_proxy",
        Run(bindir, f"ws://localhost:{ws}/", ["--proxy", tp.url()], env={"http_proxy": "http://127.0.0.1:1"}), tp,
        f"localhost:{ws}")

    # --- hostile and odd proxies ----------------------------------------
    def fake_case(label, behave, want_err, args=(), within=5.0, url=None, cred="", at_least=0.0):
        fp = FakeProxy(behave)
        r = Run(bindir, url or f"ws://localhost:{ws}/", ["--proxy", fp.url(cred), *args], timeout=within + 10)
        fp.close()
        check(r.rc == 1 and re.search(want_err, r.err) and at_least <= r.seconds < within and not fp.errors, label,
              f"{r.why()}; fake: {fp.errors}")
        return fp

    def silent(c, req):
        time.sleep(3)

    # The process's lifetime bounds the client's own wait from above and below.
    fake_case("a proxy that never answers: gives up after --connect-timeout 1", silent,
              r"no answer to CONNECT within the connect timeout", ["--connect-timeout", "1"], within=3.0,
              at_least=1.0)

    def oversized(c, req):
        c.sendall(b"HTTP/1.1 200 OK\r\nX-Pad: " + b"a" * 100000)
        time.sleep(1)

    fake_case("an endless response head (100 kB, no end): refused at 8192 bytes", oversized,
              r"response head longer than 8192 bytes")

    def many_fields(c, req):
        c.sendall(b"HTTP/1.1 200 OK\r\n" + b"X-A: b\r\n" * 2000 + b"\r\n")
        time.sleep(1)

    fake_case("a head of 2000 short fields: refused at 8192 bytes", many_fields,
              r"response head longer than 8192 bytes")

    def not_http(c, req):
        c.sendall(b"SSH-2.0-OpenSSH_9.2\r\n")
        time.sleep(1)

    fake_case("not HTTP at all: malformed response, at once", not_http, r"malformed response", within=2.0)

    def bad_field(c, req):
        c.sendall(b"HTTP/1.1 200 OK\r\nthis is no field\r\n\r\n")
        time.sleep(1)

    fake_case("a 200 with a malformed field: malformed response", bad_field, r"malformed response")

    def escape(c, req):
        c.sendall(b"HTTP/1.1 403 caf\xc3\xa9 \xc2\x9b31m\r\n\r\n")

    fp = fake_case("a status line with bytes past ASCII (a C1 CSI): printed as '?'", escape,
                   r"refused CONNECT localhost:\d+ \(HTTP/1\.1 403 caf\?\? \?\?31m\)")

    def ctl(c, req):
        c.sendall(b"HTTP/1.1 403 \x1b[31mred\r\n\r\n")

    fake_case("a status line with an escape character: malformed", ctl, r"malformed response")

    def want_auth(c, req):
        c.sendall(b"HTTP/1.1 407 Proxy Authentication Required\r\nProxy-Authenticate: Basic realm=\"x\"\r\n\r\n")

    fa = fake_case("407 to credentials: rejected, said so", want_auth,
                   r"rejected the credentials \(HTTP/1\.1 407 Proxy Authentication Required\)",
                   url=f"ws://[::1]:{ws}/?q", cred="Al%61ddin:open%20sesame@")
    check(fa.requests == [f"CONNECT [::1]:{ws} HTTP/1.1\r\nHost: [::1]:{ws}\r\n"
                          "Proxy-Authorization: Basic QWxhZGRpbjpvcGVuIHNlc2FtZQ==\r\n\r\n".encode()],
          "the CONNECT request for an IPv6 origin, with Basic credentials (RFC 7617's example)", repr(fa.requests))

    def midclose(c, req):
        c.sendall(b"HTTP/1.1 200 Conn")

    fake_case("the proxy closes mid-head: said so", midclose, r"closed the connection in the middle of its answer")

    def hangup(c, req):
        pass

    fake_case("the proxy closes without a word: said so", hangup, r"closed the connection without answering")

    def gateway(c, req):
        c.sendall(b"HTTP/1.1 502 Bad Gateway\r\nContent-Length: 5\r\n\r\nnope!")

    fake_case("502 from the proxy: its status line", gateway, r"refused CONNECT localhost:\d+ \(HTTP/1\.1 502 Bad Gateway\)")
    r_esc = fp.requests  # those of the escape case's fake
    check(len(r_esc) == 1 and r_esc[0].startswith(f"CONNECT localhost:{ws} HTTP/1.1\r\nHost: localhost:{ws}\r\n".encode())
          and b"Proxy-Authorization" not in r_esc[0], "the CONNECT request as sent (no credentials without a user)",
          repr(r_esc))

    def fake_origin(dribble):
        """The 200 and the origin's first bytes in one segment: the start of
        the 101 comes before the client has sent its request (the origin
        does not need it for those), the rest once it has; then a text
        frame, in the same segment as the end of the 101."""
        def behave(c, req):
            first = b"HTTP/1.1 200 Connection established\r\n\r\nHTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n"
            if dribble:  # the head a byte at a time: the client must wait for its end, and take no more
                for i in range(len(first)):
                    c.sendall(first[i:i + 1])
                    time.sleep(0.003)
            else:
                c.sendall(first)
            h = read_head(c)
            key = re.search(rb"(?i)\r\nsec-websocket-key: *(\S+)", h).group(1)
            acc = base64.b64encode(hashlib.sha1(key + b"258EAFA5-E914-47DA-95CA-C5AB0DC85B11").digest())
            c.sendall(b"Connection: Upgrade\r\nSec-WebSocket-Accept: " + acc + b"\r\n\r\n" +
                      ws_frame(1, b"first bytes kept"))
            buf = b""
            while b"\x88" not in buf:  # the client's close frame (a masked close starts 0x88)
                d = c.recv(4096)
                if not d:
                    return
                buf += d
            c.sendall(ws_frame(8, b"\x03\xe8"))
        return behave

    for dribble in (False, True):
        fp = FakeProxy(fake_origin(dribble))
        r = Run(bindir, f"ws://localhost:{ws}/", ["--proxy", fp.url()], stdin="")
        fp.close()
        check(r.rc == 0 and r.out.splitlines() == ["first bytes kept"] and not fp.errors,
              "200 and the origin's first bytes in one segment: nothing lost" +
              (" (the 200 a byte at a time)" if dribble else ""), f"{r.why()}; fake: {fp.errors}")


if __name__ == "__main__":
    main()
