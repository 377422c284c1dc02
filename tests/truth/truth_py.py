"""Oracle programs in Python: a Pool-like task queue (a pipe behind a shared lock, as
multiprocessing's SimpleQueue), every process timing its pickling, unpickling, lock waits, reads
and computing, written as JSON (truth_py.py SCENARIO OUTDIR) in truth_c.c's span format."""
import json
import multiprocessing as mp
import os
import pickle
import sys
import time

now = time.monotonic_ns


def process_start_ns():
    """This process's start on the monotonic clock: /proc's start time (clock ticks since boot)
    less the time since boot the monotonic clock does not count (suspends)."""
    with open("/proc/self/stat") as f:
        ticks = int(f.read().rsplit(")", 1)[1].split()[19])
    boot_gap = time.clock_gettime_ns(time.CLOCK_BOOTTIME) - now()
    return ticks * 1_000_000_000 // os.sysconf("SC_CLK_TCK") - boot_gap


class Clock:
    def __init__(self, role, start):
        self.role, self.start, self.spans = role, start, []

    def span(self, a, kind, peers="", chan=""):
        self.spans.append([a, now(), kind, peers, chan])

    def compute(self, ms):
        a = now()
        end = a + ms * 1_000_000
        x = 1.0
        while now() < end:
            for _ in range(200):
                x = x * 1.0000001 + 1e-9
        self.span(a, "c")
        return x

    def write(self, outdir):
        with open(os.path.join(outdir, f"{os.getpid()}.json"), "w") as f:
            json.dump({"pid": os.getpid(), "role": self.role, "start_ns": self.start,
                       "end_ns": now(), "spans": self.spans}, f)


W = 4
ROUNDS = 2
ITEMS = 300_000  # a task: a list this long, some tens of milliseconds to pickle and unpickle


def worker(me, rd, lock, wr, outdir):
    clk = Clock(f"w{me}", now())
    others = ",".join(f"w{i}" for i in range(W) if i != me)
    for _ in range(ROUNDS):
        a = now()
        lock.acquire()
        clk.span(a, "l", others, "lock")
        held = now()
        a = now()
        data = rd.recv_bytes()
        clk.span(a, "b", "parent", "task")
        clk.span(held, "h", "", "lock")
        lock.release()
        a = now()
        task = pickle.loads(data)
        clk.span(a, "m")
        clk.compute(100)
        a = now()
        out = pickle.dumps(len(task))
        wr.send_bytes(out)
        clk.span(a, "m")
    clk.write(outdir)


def pool(outdir):
    clk = Clock("parent", process_start_ns())
    clk.span(clk.start, "c")  # the interpreter's start: imports and setup, on the CPU
    rd, wr = mp.Pipe(duplex=False)
    rrd, rwr = mp.Pipe(duplex=False)
    lock = mp.Lock()
    procs = [mp.Process(target=worker, args=(i, rd, lock, rwr, outdir)) for i in range(W)]
    for p in procs:
        p.start()
    everyone = ",".join(f"w{i}" for i in range(W))
    for r in range(ROUNDS):
        clk.compute(150)
        for i in range(W):
            a = now()
            task = list(range(r * i, r * i + ITEMS))
            clk.span(a, "c")  # making the task is computing; pickling it is moving data
            a = now()
            data = pickle.dumps(task)
            clk.span(a, "m")
            a = now()
            del task  # freeing the list (its 300,000 ints, an munmap) is not pickling it
            clk.span(a, "c")
            a = now()
            wr.send_bytes(data)
            clk.span(a, "b", everyone, "task")
        for i in range(W):
            a = now()
            rrd.recv_bytes()
            clk.span(a, "b", everyone, "result")
    for p in procs:
        p.join()
        if p.exitcode:
            sys.exit(f"truth_py: a worker ended with {p.exitcode}")
    clk.write(outdir)


def main():
    if len(sys.argv) != 3 or sys.argv[1] != "py-pool":
        sys.exit("usage: truth_py.py py-pool OUTDIR")
    mp.set_start_method("fork")
    pool(sys.argv[2])


if __name__ == "__main__":
    main()
