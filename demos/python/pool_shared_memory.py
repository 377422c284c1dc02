"""Pool.map over shared memory: the same Pool program as the seed's, but tasks name a segment and a range."""
import sys
from multiprocessing import Pool, shared_memory

import numpy as np

from demo_common import (last_per_worker, make_array, now, parse_args, pickled_size,
                         pickling_so_far, pool_map_bytes, report, report_pickling, time_pickling)


def worker(task):
    name, start, stop = task
    shm = shared_memory.SharedMemory(name=name)
    arr = np.ndarray((stop - start,), dtype=np.float64, buffer=shm.buf, offset=start * 8)
    result = sum(arr)
    del arr
    shm.close()
    return result, pickling_so_far()


def main():
    args = parse_args(
        "Puts the array once in shared memory and sends each Pool worker only the segment's name "
        "and the range to sum. Prints the wall time, the result, the pickled payload size and the "
        "exact bytes written to and read from the workers, and the time each process spent "
        "pickling and unpickling.")
    big_array = make_array(args)
    time_pickling()

    t0 = now()
    shm = shared_memory.SharedMemory(create=True, size=big_array.nbytes)
    shared = np.ndarray(big_array.shape, dtype=np.float64, buffer=shm.buf)
    shared[:] = big_array[:]
    tasks = [(shm.name, 0, args.elements)] * args.workers
    pool = Pool(args.workers)
    job = pool.map_async(worker, tasks)
    results = job.get()
    pool.close()
    pool.join()
    del shared
    shm.close()
    shm.unlink()
    wall = now() - t0

    sent, received = pool_map_bytes(job._job, worker, tasks, args.workers, results)
    payload = sum(pickled_size(t) for t in tasks)
    report("python-pool-shared-memory", args, wall, [r[0] for r in results], payload, sent,
           received, big_array.nbytes)
    report_pickling(args, "python-pool-shared-memory", pickling_so_far(),
                    last_per_worker([r[1] for r in results]))
    return 0


if __name__ == "__main__":
    sys.exit(main())
