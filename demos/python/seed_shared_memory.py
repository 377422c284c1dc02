"""The seed's second example: workers that attach a multiprocessing.shared_memory.SharedMemory."""
import sys
from multiprocessing import Process, Queue, shared_memory

import numpy as np

from demo_common import (framed, make_array, now, parse_args, pickled_size, pickling_so_far,
                         report, report_pickling, time_pickling)


def worker(name, shape, dtype, index, results):
    shm = shared_memory.SharedMemory(name=name)
    arr = np.ndarray(shape, dtype=dtype, buffer=shm.buf)
    results.put((index, sum(arr), pickling_so_far()))
    del arr
    shm.close()


def main():
    args = parse_args(
        "Puts the array once in shared memory; each worker process attaches it by name and sums "
        "it, and sends its result back through a Queue. Prints the wall time, the result, and the "
        "exact bytes written to and read from the workers, and the time each process spent "
        "pickling and unpickling.")
    big_array = make_array(args)
    time_pickling()

    t0 = now()
    shm = shared_memory.SharedMemory(create=True, size=big_array.nbytes)
    shared = np.ndarray(big_array.shape, dtype=big_array.dtype, buffer=shm.buf)
    shared[:] = big_array[:]
    results = Queue()
    procs = [Process(target=worker, args=(shm.name, big_array.shape, big_array.dtype, i, results))
             for i in range(args.workers)]
    for p in procs:
        p.start()
    got = {m[0]: m for m in (results.get() for _ in procs)}
    for p in procs:
        p.join()
    del shared
    shm.close()
    shm.unlink()
    wall = now() - t0

    ordered = [got[i][1] for i in range(args.workers)]
    # Forked workers get their arguments with the parent's memory: nothing is sent to them.
    received = sum(framed(pickled_size(got[i])) for i in range(args.workers))
    if any(p.exitcode != 0 for p in procs):
        sys.exit(f"python-shared-memory: a worker failed: {[p.exitcode for p in procs]}")
    report("python-shared-memory", args, wall, ordered, 0, 0, received, big_array.nbytes)
    report_pickling(args, "python-shared-memory", pickling_so_far(),
                    sorted(got[i][2] for i in range(args.workers)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
