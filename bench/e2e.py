#!/usr/bin/python3
"""End-to-end echo benchmark: libws's epoll echo server against Node's `ws`,
over ws:// and then wss:// (ours on mbedTLS, Node on OpenSSL; --no-tls skips).

    e2e.py --bin BUILD [--json FILE] [--duration S] [--warmup S] [--only CASES]
           [--repeat N] [--base OLDBUILD] [--no-tls]
    e2e.py --bin BUILD --check

For each case (payload size x connections, K messages in flight per
connection) it starts each server in turn on 127.0.0.1 pinned to CPU 0, runs
BUILD/bench/loadgen pinned to CPU 1 against it, stops the server, and prints
a table: msgs/s, server CPU per message (utime+stime of the server process
over the measured window), the server's system calls per message (counted
by the load generator over the second half of the warm-up, under the same
load, through the raw_syscalls tracepoint; "?" where perf_event_open is not
allowed), p50/p99 round trip, and our/Node ratios. Results go to --json
(default build/bench-e2e.json).

--repeat N runs every case N times, the servers taking turns, and prints
medians, then the spread (min..max) of msgs/s and CPU per message: the
machine's other load moves single runs by tens of per cent. --base OLDBUILD
runs OLDBUILD/examples/echo-server as a third server in the same turns (the
same load generator), for before/after tables from one run. --only takes
cases as CONNSxSIZE (every depth) or CONNSxSIZEkK, comma-separated.

--check is the correctness run of `make bench-e2e-check`: our echo server
only, 2 connections, 400 messages of 0..200000 bytes, each echo compared byte
for byte; prints "bench-e2e: N passed, M failed".

Every process started here is stopped by its PID on the way out (normal end,
error, SIGINT/SIGTERM/SIGHUP), and every wait is bounded.
"""
import argparse
import json
import os
import re
import selectors
import shutil
import signal
import subprocess
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
HOST = '127.0.0.1'
# (payload bytes, connections, messages in flight per connection)
CASES = [(16, 1, 16), (16, 64, 16), (1024, 1, 16), (1024, 64, 1), (1024, 64, 8), (1024, 64, 16),
         (65536, 1, 4), (65536, 64, 4)]
# Issue 13 §5: 64 connections x 1 KiB at depth 1 and 8, ws://: our msgs/s at
# least MSGS_TARGET x Node's, our server CPU per message at most CPU_TARGET x.
TARGET_CASES = [(1024, 64, 1), (1024, 64, 8)]
MSGS_TARGET, CPU_TARGET = 2.5, 0.35
METRICS = ('msgs_per_s', 'server_cpu_us_per_msg', 'server_syscalls_per_msg', 'server_sys_share', 'p50_us',
           'p99_us')
started = []  # Popen objects still to stop


class Interrupted(Exception):
    pass


def on_signal(signum, frame):
    raise Interrupted(signal.Signals(signum).name)


def stop(p):
    """SIGTERM, up to 5 s for a graceful exit, then SIGKILL; by PID only."""
    if p.poll() is None:
        try:
            p.send_signal(signal.SIGTERM)
            p.wait(timeout=5)
        except subprocess.TimeoutExpired:
            p.kill()
            p.wait(timeout=5)
    if p in started:
        started.remove(p)


def pin(cpu, cmd, pinned):
    return ['taskset', '-c', str(cpu)] + cmd if pinned else cmd


def start_server(name, args, pinned, logf, tls=None):
    """tls: the directory of tls_certs.sh's files, for wss://."""
    if name in ('ours', 'base'):
        cmd = [os.path.join(args.bin if name == 'ours' else args.base, 'examples', 'echo-server'),
               '--host', HOST, '--port', '0',
               '--idle-timeout', '0', '--ping-interval', '0']
        if tls:
            cmd += ['--tls-cert', os.path.join(tls, 'server.pem'), '--tls-key', os.path.join(tls, 'server.key')]
        pat = re.compile(r'listening on wss?://127\.0\.0\.1:(\d+)/')
    else:
        cmd = ['node', os.path.join(ROOT, 'bench', 'echo_node.mjs')]
        if tls:
            cmd += ['--tls', os.path.join(tls, 'server.pem'), os.path.join(tls, 'server.key')]
        pat = re.compile(r'listening (\d+)')
    p = subprocess.Popen(pin(0, cmd, pinned), stdout=subprocess.PIPE, stderr=logf, cwd=ROOT)
    started.append(p)  # taskset execs the server: p.pid is the server's PID
    sel = selectors.DefaultSelector()
    sel.register(p.stdout, selectors.EVENT_READ)
    deadline = time.monotonic() + 10
    line = b''
    while time.monotonic() < deadline and p.poll() is None:
        if sel.select(timeout=0.2):
            line = p.stdout.readline()
            m = pat.search(line.decode(errors='replace'))
            if m:
                sel.close()
                return p, int(m.group(1))
            if not line:
                break
    sel.close()
    stop(p)
    raise RuntimeError(f'{name} server did not start (last output {line!r})')


def run_loadgen(args, port, pid, label, size, conns, k, pinned, jsonl, tls=None):
    cmd = [os.path.join(args.bin, 'bench', 'loadgen'), '--host', HOST, '--port', str(port),
           '--conns', str(conns), '--inflight', str(k), '--size', str(size),
           '--duration', str(args.duration), '--warmup', str(args.warmup),
           '--server-pid', str(pid), '--label', label, '--json', jsonl]
    if tls:
        cmd += ['--tls-ca', os.path.join(tls, 'ca.pem')]
    p = subprocess.Popen(pin(1, cmd, pinned), cwd=ROOT)
    started.append(p)
    try:
        p.wait(timeout=args.warmup + args.duration + 30)
    except subprocess.TimeoutExpired:
        print(f'{label}: load generator timed out', file=sys.stderr)
    stop(p)
    return p.returncode


def check(args):
    logf = tempfile.TemporaryFile()
    try:
        srv, port = start_server('ours', args, False, logf)
    except RuntimeError as e:
        print(e, file=sys.stderr)
        print('bench-e2e: 0 passed, 1 failed')
        return 1
    cmd = [os.path.join(args.bin, 'bench', 'loadgen'), '--host', HOST, '--port', str(port),
           '--conns', '2', '--inflight', '8', '--messages', '400', '--check', '--timeout', '20']
    try:
        out = subprocess.run(cmd, stdout=subprocess.PIPE, timeout=30, cwd=ROOT).stdout.decode()
    except subprocess.TimeoutExpired:
        out = ''
    stop(srv)
    m = re.search(r'bench-e2e: (\d+) passed, (\d+) failed', out)
    if not m:
        print('bench-e2e: 0 passed, 1 failed (no result from the load generator)')
        return 1
    print(m.group(0))
    return 0 if m.group(2) == '0' and m.group(1) != '0' else 1


def fmt_rate(x):
    return f'{x / 1e3:.1f}k' if x < 1e6 else f'{x / 1e6:.2f}M'


def ratio(a, b):
    return a / b if a and b and a > 0 and b > 0 else float('nan')


def median(xs):
    xs = sorted(x for x in xs if x is not None and x >= 0)
    if not xs:
        return None
    m = len(xs) // 2
    return xs[m] if len(xs) % 2 else (xs[m - 1] + xs[m]) / 2


def summary(runs):
    """Medians of each metric over the runs that worked, and their spread."""
    ok = [r for r in runs if r]
    if not ok:
        return None
    out = {k: median([r.get(k) for r in ok]) for k in METRICS}
    out['runs'] = len(ok)
    for k in ('msgs_per_s', 'server_cpu_us_per_msg'):
        vals = [r[k] for r in ok if r.get(k) is not None and r[k] >= 0]
        out[k + '_min'], out[k + '_max'] = (min(vals), max(vals)) if vals else (None, None)
    return out


def fmt_sc(x):
    return f'{x:.2f}' if x is not None else '?'


def wanted(case, only):
    size, conns, k = case
    return not only or any(o in (f'{conns}x{size}', f'{conns}x{size}k{k}') for o in only.split(','))


def bench(args):
    try:
        cpus = os.sched_getaffinity(0)
    except AttributeError:
        cpus = set()
    pinned = {0, 1} <= cpus and subprocess.run(['which', 'taskset'], stdout=subprocess.DEVNULL).returncode == 0
    if not pinned:
        print('note: not pinning (needs taskset and CPUs 0 and 1)', file=sys.stderr)
    cases = [c for c in CASES if wanted(c, args.only)]
    servers = ('ours', 'node') + (('base',) if args.base else ())
    jsonl = tempfile.NamedTemporaryFile(suffix='.jsonl', delete=False).name
    logf = tempfile.TemporaryFile()
    results, failed = [], 0
    tls = None
    if not args.no_tls:  # a test CA and a localhost certificate, made now
        tls = tempfile.mkdtemp(prefix='libws-e2e-')
        subprocess.run(['sh', os.path.join(ROOT, 'test', 'e2e', 'interop', 'tls_certs.sh'), tls], check=True, timeout=60)
    try:
        for scheme, size, conns, k in [('ws', *c) for c in cases] + ([('wss', *c) for c in cases] if tls else []):
            row = {'case': f'{"wss " if scheme == "wss" else ""}{conns}x{size}', 'size': size, 'conns': conns,
                   'inflight': k, 'tls': scheme == 'wss'}
            t = tls if scheme == 'wss' else None
            runs = {name: [] for name in servers}
            for rep in range(args.repeat):
                for name in servers:  # the servers take turns, so drifting load hits each alike
                    srv, port = start_server(name, args, pinned, logf, t)
                    rc = run_loadgen(args, port, srv.pid, f'{name}', size, conns, k, pinned, jsonl, t)
                    stop(srv)
                    with open(jsonl) as f:
                        lines = f.read().splitlines()
                    runs[name].append(json.loads(lines[-1]) if lines and rc == 0 else None)
                    if rc != 0:
                        failed += 1
                        print(f'{row["case"]} k{k} {name}: load generator failed ({rc})', file=sys.stderr)
                        open(jsonl, 'w').close()
            for name in servers:
                row[name] = summary(runs[name])
                row[name + '_runs'] = runs[name]
            results.append(row)
    finally:
        os.unlink(jsonl)
        if tls:
            shutil.rmtree(tls, ignore_errors=True)

    med = ' (medians of %d runs)' % args.repeat if args.repeat > 1 else ''
    hdr = (f'{"case":>13} {"K":>3} | {"ours msg/s":>10} {"node msg/s":>10} {"ratio":>6} | '
           f'{"ours us/msg":>11} {"node us/msg":>11} {"ratio":>6} | {"syscalls/msg":>12} | '
           f'{"ours p50/p99 us":>17} {"node p50/p99 us":>17}')
    print()
    print(hdr)
    print('-' * len(hdr))
    for r in results:
        o, n = r.get('ours'), r.get('node')
        if not o or not n:
            print(f'{r["case"]:>13} {r["inflight"]:>3} | failed')
            continue
        r['msgs_ratio'] = ratio(o['msgs_per_s'], n['msgs_per_s'])
        r['cpu_ratio'] = ratio(o['server_cpu_us_per_msg'], n['server_cpu_us_per_msg'])
        sc = f'{fmt_sc(o["server_syscalls_per_msg"])}/{fmt_sc(n["server_syscalls_per_msg"])}'
        print(f'{r["case"]:>13} {r["inflight"]:>3} | {fmt_rate(o["msgs_per_s"]):>10} {fmt_rate(n["msgs_per_s"]):>10} '
              f'{r["msgs_ratio"]:>5.2f}x | {o["server_cpu_us_per_msg"]:>11.2f} {n["server_cpu_us_per_msg"]:>11.2f} '
              f'{r["cpu_ratio"]:>5.2f}x | {sc:>12} | '
              f'{o["p50_us"]:>8.0f}/{o["p99_us"]:<8.0f} {n["p50_us"]:>8.0f}/{n["p99_us"]:<8.0f}')
    print('(msg/s: echoes completed per second; us/msg: server CPU (user+sys) per echoed message;'
          ' syscalls/msg: ours/node; ratios are ours/node)' + med)
    if args.repeat > 1:
        print()
        print(f'spread (min..max of {args.repeat} runs):')
        for r in results:
            cells = []
            for name in servers:
                x = r.get(name)
                if x:
                    cells.append(f'{name} {fmt_rate(x["msgs_per_s_min"])}..{fmt_rate(x["msgs_per_s_max"])} msg/s '
                                 f'{x["server_cpu_us_per_msg_min"]:.2f}..{x["server_cpu_us_per_msg_max"]:.2f} us/msg')
            print(f'{r["case"]:>13} {r["inflight"]:>3} | ' + ' | '.join(cells))
    if args.base:
        print()
        bh = (f'{"case":>13} {"K":>3} | {"base msg/s":>10} {"ours msg/s":>10} {"ratio":>6} | '
              f'{"base us/msg":>11} {"ours us/msg":>11} {"ratio":>6} | {"base sc/msg":>11} {"ours sc/msg":>11}')
        print(f'before ({args.base}) and after ({args.bin}), same load generator, same turns' + med)
        print(bh)
        print('-' * len(bh))
        for r in results:
            o, b = r.get('ours'), r.get('base')
            if not o or not b:
                print(f'{r["case"]:>13} {r["inflight"]:>3} | failed')
                continue
            print(f'{r["case"]:>13} {r["inflight"]:>3} | {fmt_rate(b["msgs_per_s"]):>10} '
                  f'{fmt_rate(o["msgs_per_s"]):>10} {ratio(o["msgs_per_s"], b["msgs_per_s"]):>5.2f}x | '
                  f'{b["server_cpu_us_per_msg"]:>11.2f} {o["server_cpu_us_per_msg"]:>11.2f} '
                  f'{ratio(o["server_cpu_us_per_msg"], b["server_cpu_us_per_msg"]):>5.2f}x | '
                  f'{fmt_sc(b["server_syscalls_per_msg"]):>11} {fmt_sc(o["server_syscalls_per_msg"]):>11}')
    target = []
    for r in results:
        if (r['size'], r['conns'], r['inflight']) in TARGET_CASES and not r['tls'] and r.get('msgs_ratio') is not None:
            t = {'case': f'{r["case"]} k{r["inflight"]}', 'msgs_ratio': r['msgs_ratio'], 'cpu_ratio': r['cpu_ratio'],
                 'msgs_target': MSGS_TARGET, 'cpu_target': CPU_TARGET,
                 'syscalls_per_msg': r['ours']['server_syscalls_per_msg'],
                 'met': r['msgs_ratio'] >= MSGS_TARGET and r['cpu_ratio'] <= CPU_TARGET}
            target.append(t)
            sys_share = r['ours'].get('server_sys_share')
            print(f'target {t["case"]}: msgs/s {r["msgs_ratio"]:.2f}x (>= {MSGS_TARGET}x: '
                  f'{"met" if r["msgs_ratio"] >= MSGS_TARGET else "NOT met"}), server CPU/msg {r["cpu_ratio"]:.2f}x '
                  f'(<= {CPU_TARGET}x: {"met" if r["cpu_ratio"] <= CPU_TARGET else "NOT met"}), '
                  f'{fmt_sc(t["syscalls_per_msg"])} syscalls/msg, '
                  f'{"?" if sys_share is None else f"{sys_share * 100:.0f}%"} of the server CPU in the kernel')
            if not t['met'] and r['inflight'] == 1 and t['syscalls_per_msg'] is not None \
                    and t['syscalls_per_msg'] < 2.1:
                print('  why: one recv() and one send() per message is the floor at one message in flight '
                      '(each wake-up has one message per connection); the kernel share above is the cost '
                      'libws cannot remove (README, "Performance")')
    doc = {'host': HOST, 'pinned': pinned, 'server_cpu': 0 if pinned else None,
           'loadgen_cpu': 1 if pinned else None, 'duration_s': args.duration, 'warmup_s': args.warmup,
           'repeat': args.repeat, 'base': args.base, 'cases': results, 'target': target}
    os.makedirs(os.path.dirname(os.path.abspath(args.json)), exist_ok=True)
    with open(args.json, 'w') as f:
        json.dump(doc, f, indent=1)
        f.write('\n')
    print(f'wrote {args.json}')
    return 1 if failed else 0


def main():
    ap = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    ap.add_argument('--bin', default='build', help='build directory (examples/echo-server, bench/loadgen)')
    ap.add_argument('--json', default='build/bench-e2e.json')
    ap.add_argument('--duration', type=float, default=3.0, help='measured seconds per run')
    ap.add_argument('--warmup', type=float, default=1.0, help='warm-up seconds per run')
    ap.add_argument('--only', help='comma-separated cases to run, e.g. 64x1024 or 64x1024k8')
    ap.add_argument('--repeat', type=int, default=1, help='runs per case and server; medians are printed')
    ap.add_argument('--base', help='a baseline build directory whose echo-server runs as a third server')
    ap.add_argument('--check', action='store_true')
    ap.add_argument('--no-tls', action='store_true', help='skip the wss:// rows')
    args = ap.parse_args()
    for s in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP):
        signal.signal(s, on_signal)
    try:
        return check(args) if args.check else bench(args)
    except (Interrupted, RuntimeError) as e:
        print(f'e2e: {e}', file=sys.stderr)
        return 1
    finally:
        for p in list(started):
            stop(p)


if __name__ == '__main__':
    sys.exit(main())
