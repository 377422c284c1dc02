"""What the Python demos share: options, the data, and the exact bytes multiprocessing writes."""
import argparse
import itertools
import json
import os
import pickle
import sys
import threading
import time
from multiprocessing.pool import mapstar
from multiprocessing.reduction import ForkingPickler

import numpy as np

DEFAULT_ELEMENTS = 5_000_000
DEFAULT_WORKERS = 4
DEFAULT_SEED = 2024


def parse_args(description, extra=None):
    p = argparse.ArgumentParser(description=description)
    p.add_argument("-n", "--elements", type=positive, default=DEFAULT_ELEMENTS,
                   help="doubles in the array (default %(default)s)")
    p.add_argument("-w", "--workers", type=positive, default=DEFAULT_WORKERS,
                   help="worker processes, and tasks: one array (or range) each "
                        "(default %(default)s)")
    p.add_argument("--seed", type=int, default=DEFAULT_SEED,
                   help="random seed of the array (default %(default)s)")
    p.add_argument("--json", metavar="FILE",
                   help="also write the time each process spent pickling and unpickling, as "
                        "JSON, to FILE")
    if extra:
        extra(p)
    return p.parse_args()


def positive(text):
    try:
        n = int(text)
    except ValueError:
        n = 0
    if n < 1:
        raise argparse.ArgumentTypeError(f"'{text}' is not a whole number of at least 1")
    return n


def make_array(args):
    np.random.seed(args.seed)
    return np.random.rand(args.elements)


def now():
    return time.perf_counter()


class _Counter:
    """A file that only counts what a pickler writes to it."""

    def __init__(self):
        self.n = 0

    def write(self, b):
        n = memoryview(b).nbytes
        self.n += n
        return n


class _SizePickler(ForkingPickler):
    """ForkingPickler, but a numpy array's data is pickled as a short stand-in of zero bytes.

    A pickle's size depends on the data's length alone: a stand-in of STAND_IN bytes (or the
    data's length, when shorter) is pickled and the rest of the length added to the count. Even
    bytes(n) of the full length would cost a memset of n bytes once malloc serves such sizes
    from its heap (it does after the first large free), which the profiler would rightly count
    as pickling that the demo does not measure.
    """

    STAND_IN = 1 << 20  # framed the same way as any larger bytes object, and a 4-byte length

    def __init__(self, *args):
        super().__init__(*args)
        self.extra = 0

    def reducer_override(self, obj):
        # ForkingPickler(file, None) pickles with pickle.DEFAULT_PROTOCOL (4 in Python 3.11);
        # from protocol 5 on ndarray pickles differently, and is left to its own reduce.
        if (pickle.DEFAULT_PROTOCOL < 5 and type(obj) is np.ndarray and obj.flags.c_contiguous
                and not obj.dtype.hasobject and obj.nbytes < 1 << 32):
            # What ndarray.__reduce__ returns: (version, shape, dtype, is_fortran, data).
            func, args, state = np.empty((0,), obj.dtype).__reduce__()
            short = min(obj.nbytes, self.STAND_IN)
            self.extra += obj.nbytes - short
            return func, args, (state[0], obj.shape, state[2], False, bytes(short))
        return NotImplemented


def pickled_size(obj):
    """len(ForkingPickler.dumps(obj)), the message a Connection sends, without making it.

    ForkingPickler.dumps pickles into a file too (a BytesIO), so the bytes counted here are the
    bytes it makes: a pickle into a file frames large objects differently from pickle.dumps.
    """
    f = _Counter()
    p = _SizePickler(f, None)
    p.dump(obj)
    return f.n + p.extra


# --- The time multiprocessing spends pickling ----------------------------------------------------

_FIELDS = ("dumps_s", "dumps_cpu_s", "dumps_calls", "loads_s", "loads_cpu_s", "loads_calls")
_clock = {}
_clock_lock = threading.Lock()


def _clock_reset():
    global _clock_lock
    _clock_lock = threading.Lock()
    _clock.clear()
    _clock.update(dict.fromkeys(_FIELDS, 0))


def _clock_add(what, t0, c0):
    wall, cpu = time.perf_counter() - t0, time.thread_time() - c0
    with _clock_lock:
        _clock[what + "_s"] += wall
        _clock[what + "_cpu_s"] += cpu
        _clock[what + "_calls"] += 1


def time_pickling():
    """Times every ForkingPickler.dumps and .loads in this process and in the children it forks
    from now on (each child starts from zero).

    Connection.send pickles with ForkingPickler.dumps and Connection.recv unpickles with
    ForkingPickler.loads (pickle.loads), as SimpleQueue.put/get and Queue's feeder thread do;
    they look both up on the class at every call, so wrapping them on the class times all of
    multiprocessing's pickling, in whatever thread it runs. Wall time (time.perf_counter) and
    the thread's CPU time (time.thread_time) are both kept.
    """
    if _clock:
        return
    _clock_reset()
    os.register_at_fork(after_in_child=_clock_reset)
    dumps = ForkingPickler.__dict__["dumps"].__func__
    loads = ForkingPickler.__dict__["loads"]

    def timed_dumps(cls, obj, protocol=None):
        t0, c0 = time.perf_counter(), time.thread_time()
        try:
            return dumps(cls, obj, protocol)
        finally:
            _clock_add("dumps", t0, c0)

    def timed_loads(*args, **kwargs):
        t0, c0 = time.perf_counter(), time.thread_time()
        try:
            return loads(*args, **kwargs)
        finally:
            _clock_add("loads", t0, c0)

    ForkingPickler.dumps = classmethod(timed_dumps)
    ForkingPickler.loads = staticmethod(timed_loads)


def pickling_so_far():
    """This process's pid and its pickling times so far: what a worker returns with a result.

    All floats: a pickled float is 9 bytes whatever its value (an int's size depends on it), so
    the results the copy and shared-memory programs send back are the same number of bytes.
    """
    with _clock_lock:
        return (float(os.getpid()),) + tuple(float(_clock.get(k, 0)) for k in _FIELDS)


def report_pickling(args, name, parent, workers):
    """Prints, and with --json writes, the pickling time of the parent and of each worker.

    parent and workers are pickling_so_far() tuples; for a worker, the last one it returned
    (its results are pickled after it is taken, its end-of-work message unpickled after: a few
    microseconds either way).
    """
    procs = [dict(zip(("pid",) + _FIELDS, parent), role="parent")]
    procs += [dict(zip(("pid",) + _FIELDS, w), role="worker") for w in workers]
    for p in procs:
        for k in ("pid", "dumps_calls", "loads_calls"):
            p[k] = int(p[k])
    for p in procs:
        print(f"{p['role']} pid {p['pid']}: pickling {p['dumps_s']:.3f} s "
              f"(CPU {p['dumps_cpu_s']:.3f} s, {p['dumps_calls']} calls), "
              f"unpickling {p['loads_s']:.3f} s "
              f"(CPU {p['loads_cpu_s']:.3f} s, {p['loads_calls']} calls)")
    if args.json:
        with open(args.json, "w") as f:
            json.dump({"demo": name, "measure": "pickling", "processes": procs}, f, indent=1)
            f.write("\n")
    sys.stdout.flush()


def last_per_worker(snapshots):
    """The last pickling_so_far() each worker returned (the one with the most unpickled
    messages), in pid order."""
    last = {}
    for s in snapshots:
        if s[0] not in last or s[6] >= last[s[0]][6]:
            last[s[0]] = s
    return [last[pid] for pid in sorted(last)]


def framed(n):
    """Bytes Connection.send_bytes writes for a message of n bytes: a 4-byte length first, or
    -1 and an 8-byte length above 2 GiB."""
    return n + (4 if n <= 0x7fffffff else 12)


def pool_chunks(items, workers):
    """The batches Pool.map cuts items into, with the chunk size it picks itself."""
    chunksize, extra = divmod(len(items), workers * 4)
    if extra:
        chunksize += 1
    it = iter(items)
    while True:
        chunk = tuple(itertools.islice(it, chunksize))
        if not chunk:
            return
        yield chunk


def pool_map_bytes(job, func, items, workers, results):
    """Exact bytes Pool.map(func, items) moves between the parent and its workers, for a pool
    that is then closed and joined: tasks and one end-of-work sentinel per worker go out,
    results come back. job is the MapResult's _job, results what map returned."""
    sent = received = 0
    done = 0
    for i, chunk in enumerate(pool_chunks(items, workers)):
        sent += framed(pickled_size((job, i, mapstar, ((func, chunk),), {})))
        values = list(results[done:done + len(chunk)])
        done += len(chunk)
        received += framed(pickled_size((job, i, (True, values))))
    sent += workers * framed(pickled_size(None))
    return sent, received


def report(name, args, wall, results, payload, sent, received, shared, extra=""):
    total = 0.0
    for r in results:
        total += float(r)
    first = float(results[0])
    if any(float(r) != first for r in results):
        sys.exit(f"{name}: the workers disagree: {[float(r) for r in results]}")
    print(f"demo={name} elements={args.elements} workers={args.workers} tasks={len(results)}"
          + (" " + extra if extra else ""))
    print(f"wall_s={wall:.3f}")
    print(f"result={total!r}")
    print(f"payload_bytes={payload}")
    print(f"bytes_sent={sent}")
    print(f"bytes_received={received}")
    print(f"bytes_shared={shared}")
    sys.stdout.flush()
