"""The seed's first example: Pool(4).map(worker, [big_array] * 4), and its single-process control."""
import sys
from multiprocessing import Pool

from demo_common import (last_per_worker, make_array, now, parse_args, pickled_size,
                         pickling_so_far, pool_map_bytes, report, report_pickling, time_pickling)


def worker(arr):
    # The seed's worker returns sum(arr); this one also says how long its process has spent
    # unpickling so far (its task, the array, above all), which only the worker can time.
    return sum(arr), pickling_so_far()


def main():
    args = parse_args(
        "Sends every worker the whole array through the Pool's pipe (or, with --control, does the "
        "same work in one process). Prints the wall time, the result, the pickled payload size and "
        "the exact bytes written to and read from the workers, and the time each process spent "
        "pickling and unpickling.",
        lambda p: p.add_argument("--control", action="store_true",
                                 help="the control experiment: the same calls in this process"))
    big_array = make_array(args)
    tasks = [big_array] * args.workers

    time_pickling()

    if args.control:
        t0 = now()
        results = list(map(worker, tasks))
        wall = now() - t0
        report("python-control", args, wall, [r[0] for r in results], 0, 0, 0, 0)
        report_pickling(args, "python-control", pickling_so_far(), [])
        return 0

    t0 = now()
    pool = Pool(args.workers)
    # pool.map(f, xs) is pool.map_async(f, xs).get(); the job id is needed to count the bytes.
    job = pool.map_async(worker, tasks)
    results = job.get()
    # close + join (rather than terminate) sends each worker its end-of-work message, so the
    # bytes sent are the same on every run.
    pool.close()
    pool.join()
    wall = now() - t0

    sent, received = pool_map_bytes(job._job, worker, tasks, args.workers, results)
    payload = sum(pickled_size(a) for a in tasks)
    report("python-pool-copy", args, wall, [r[0] for r in results], payload, sent, received, 0)
    report_pickling(args, "python-pool-copy", pickling_so_far(),
                    last_per_worker([r[1] for r in results]))
    return 0


if __name__ == "__main__":
    sys.exit(main())
