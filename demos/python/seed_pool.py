"""The seed's first example: Pool(4).map(worker, [big_array] * 4), and its single-process control."""
import sys
from multiprocessing import Pool

from demo_common import make_array, now, parse_args, pickled_size, pool_map_bytes, report


def worker(arr):
    return sum(arr)


def main():
    args = parse_args(
        "Sends every worker the whole array through the Pool's pipe (or, with --control, does the "
        "same work in one process). Prints the wall time, the result, the pickled payload size and "
        "the exact bytes written to and read from the workers.",
        lambda p: p.add_argument("--control", action="store_true",
                                 help="the control experiment: the same calls in this process"))
    big_array = make_array(args)
    tasks = [big_array] * args.workers

    if args.control:
        t0 = now()
        results = list(map(worker, tasks))
        wall = now() - t0
        report("python-control", args, wall, results, 0, 0, 0, 0)
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
    report("python-pool-copy", args, wall, results, payload, sent, received, 0)
    return 0


if __name__ == "__main__":
    sys.exit(main())
