#!/usr/bin/python3
"""make bench-fanout: redis-server and two chat-server instances with --redis on
free loopback ports, then bench/fanout (100 clients on each instance, one room)
with 1, 4 and 16 senders; prints a table. Published/s: messages through Redis
and back to their sender; deliveries/s: envelopes received by all 200 clients.
Everything runs in its own process group and is killed at the end."""
import argparse
import os
import shutil
import signal
import socket
import subprocess
import sys
import time

TOKEN = "benchtoken"


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    p = s.getsockname()[1]
    s.close()
    return p


def wait_for(pred, timeout, what):
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if pred():
            return
        time.sleep(0.05)
    raise RuntimeError("timed out waiting for " + what)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--bin", required=True)
    ap.add_argument("--work", required=True)
    ap.add_argument("--clients", type=int, default=100, help="per instance")
    ap.add_argument("--senders", default="1,4,16")
    ap.add_argument("--inflight", type=int, default=8)
    ap.add_argument("--size", type=int, default=32, help="text bytes per message")
    ap.add_argument("--duration", type=float, default=5)
    ap.add_argument("--warmup", type=float, default=1)
    args = ap.parse_args()
    # timeout(1) sends SIGTERM: exit through the finally below, which kills
    # redis-server, nginx and the instances, instead of leaving them behind.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit("killed by SIGTERM"))
    work = os.path.abspath(args.work)
    shutil.rmtree(work, ignore_errors=True)
    os.makedirs(work)
    procs = []

    def spawn(argv, log):
        p = subprocess.Popen(argv, stdout=open(os.path.join(work, log), "w"), stderr=subprocess.STDOUT,
                             start_new_session=True)
        procs.append(p)
        return p

    rows = []
    try:
        rport = free_port()
        spawn(["redis-server", "--port", str(rport), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no",
               "--dir", work], "redis.log")
        wait_for(lambda: "Ready to accept" in open(os.path.join(work, "redis.log")).read(), 10, "redis-server")
        ports = []
        for name in ("A", "B"):
            log = "chat-%s.log" % name
            # The per-connection rate limit is the demo's defence, not what is measured.
            spawn([os.path.join(args.bin, "examples", "chat-server"), "--port", "0", "--token", TOKEN,
                   "--redis", "127.0.0.1:%d" % rport, "--instance", name, "--rate", "1000000", "--burst",
                   "1000000", "--max-conns", "4096"], log)
            wait_for(lambda: " up (instance " in open(os.path.join(work, log)).read(), 10, name + " up")
            text = open(os.path.join(work, log)).read()
            ports.append(int(text.split("chat: open http://127.0.0.1:")[1].split("/")[0]))
        for s in args.senders.split(","):
            argv = [os.path.join(args.bin, "bench", "fanout"), "--clients", str(args.clients), "--senders", s,
                    "--inflight", str(args.inflight), "--size", str(args.size), "--duration", str(args.duration),
                    "--warmup", str(args.warmup), "--token", TOKEN, "--room", "bench" + s]
            for p in ports:
                argv += ["--port", str(p)]
            r = subprocess.run(argv, capture_output=True, text=True, timeout=args.duration + args.warmup + 60)
            line = r.stdout.strip()
            if r.returncode or not line.startswith("fanout:"):
                print("fanout failed (%d): %s %s" % (r.returncode, line, r.stderr[-500:]), file=sys.stderr)
                return 1
            rows.append(dict(kv.split("=") for kv in line.split()[1:]))
    finally:
        for p in procs:
            if p.poll() is None:
                os.killpg(p.pid, signal.SIGKILL)
            p.wait()
    load = open("/proc/loadavg").read().split()[0]
    print("chat fan-out through Redis: 2 instances x %d clients, one room, %d B texts, %d in flight per sender;"
          " %.0f s per row (load average before the last row's end: %s, %d CPUs)"
          % (args.clients, args.size, args.inflight, args.duration, load, os.cpu_count()))
    print("%8s %14s %15s %9s %8s %8s" % ("senders", "published/s", "deliveries/s", "fan-out", "p50 ms", "p99 ms"))
    for r in rows:
        print("%8s %14s %15s %9s %8s %8s" % (r["senders"], r["published/s"], r["deliveries/s"], r["fanout"],
                                             r["p50_ms"], r["p99_ms"]))
    return 0


if __name__ == "__main__":
    sys.exit(main())
