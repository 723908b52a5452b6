"""What the end-to-end rigs share: counted checks, and children in their own
process groups that die with the rig however it ends."""
import atexit
import os
import signal

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
