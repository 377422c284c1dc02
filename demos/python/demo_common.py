"""What the Python demos share: options, the data, and the exact bytes multiprocessing writes."""
import argparse
import itertools
import sys
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


def pickled_size(obj):
    """len(ForkingPickler.dumps(obj)), the message a Connection sends, without keeping its bytes.

    ForkingPickler.dumps pickles into a file too (a BytesIO), so the bytes counted here are the
    bytes it makes: a pickle into a file frames large objects differently from pickle.dumps.
    """
    f = _Counter()
    ForkingPickler(f, None).dump(obj)
    return f.n


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
