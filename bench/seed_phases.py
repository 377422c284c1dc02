"""The seed example at its own size, Pool(4).map(sum, [np.random.rand(20_000_000)] * 4), whose
workers time their own phases: receiving each task's bytes, unpickling it, summing it.

Usage: seed_phases.py [JSON_OUT [ELEMENTS [builtin|numpy]]]. builtin is the seed's own sum (about
100 ns an element, which hides the data movement behind seconds of summing); numpy sums in
milliseconds, which leaves the data movement most of the run."""
import json
import sys
import time
from multiprocessing import Pool, connection, reduction

import numpy as np

_phase = {"recv_s": 0.0, "loads_s": 0.0}


def _timed_recv(recv):
    # Connection.recv_bytes reads a 4-byte length (the wait for work) and then the message:
    # only the message's reads are the receive phase.
    def timed(self, size, *args):
        if size <= 8:
            return recv(self, size, *args)
        t0 = time.perf_counter()
        try:
            return recv(self, size, *args)
        finally:
            _phase["recv_s"] += time.perf_counter() - t0
    return timed


def _timed_loads(loads):
    def timed(*args, **kwargs):
        t0 = time.perf_counter()
        try:
            return loads(*args, **kwargs)
        finally:
            _phase["loads_s"] += time.perf_counter() - t0
    return timed


def _timed(summer, a):
    """summer(a), the seed's worker, and this task's phases as the worker timed them."""
    recv_s, loads_s = _phase["recv_s"], _phase["loads_s"]
    _phase["recv_s"] = _phase["loads_s"] = 0.0
    t0 = time.perf_counter()
    s = summer(a)
    return float(s), recv_s, loads_s, time.perf_counter() - t0


def builtin_sum(a):
    return _timed(sum, a)


def numpy_sum(a):
    return _timed(np.sum, a)


def main():
    out = sys.argv[1] if len(sys.argv) > 1 else None
    n = int(sys.argv[2]) if len(sys.argv) > 2 else 20_000_000
    worker = numpy_sum if len(sys.argv) > 3 and sys.argv[3] == "numpy" else builtin_sum
    connection.Connection._recv = _timed_recv(connection.Connection._recv)
    reduction.ForkingPickler.loads = staticmethod(_timed_loads(reduction.ForkingPickler.loads))
    a = np.random.rand(n)
    with Pool(4) as p:
        res = p.map(worker, [a] * 4)
    print([r[0] for r in res])
    if out:
        with open(out, "w") as f:
            json.dump({k: sum(r[i] for r in res) for i, k in
                       ((1, "receive_s"), (2, "unpickle_s"), (3, "sum_s"))}, f)
    return 0


if __name__ == "__main__":
    sys.exit(main())
