"""The seed example with its own control run: Pool(4).map(worker, [a] * 4) over one random array,
and the same four calls in the main process alone, each timed by the program's own clocks.

Usage: seed_control.py JSON_OUT ELEMENTS REPEATS. The seed's worker returns x.sum(), milliseconds
of work: REPEATS sums a task keep the computing well above the clocks' and the sampler's grain."""
import json
import sys
import time
from multiprocessing import Pool

import numpy as np

REPEATS = int(sys.argv[3])


def worker(x):
    s = 0.0
    for _ in range(REPEATS):
        s += float(x.sum())
    return s


if __name__ == "__main__":
    a = np.random.rand(int(sys.argv[2]))
    t0 = time.thread_time()
    control = [worker(a) for _ in range(4)]
    control_cpu = time.thread_time() - t0
    # Everything the main process computed before the Pool: start-up, imports, the array and
    # the control run.
    main_cpu = time.process_time()
    w0 = time.perf_counter()
    with Pool(4) as p:
        parallel = p.map(worker, [a] * 4)
    pool_wall = time.perf_counter() - w0
    assert parallel == control
    with open(sys.argv[1], "w") as f:
        json.dump({"control_cpu_s": control_cpu, "main_before_pool_cpu_s": main_cpu,
                   "pool_wall_s": pool_wall}, f)
