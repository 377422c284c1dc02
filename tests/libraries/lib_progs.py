"""The libraries Python users run, one program each: lib_progs.py MODE prints a result that does
not depend on timing (compared with and without ipcprof) and, on stderr, nothing of its own."""
import multiprocessing as mp
import os
import sys


def square(x):
    return x * x


def ppe_manager():
    """concurrent.futures over a fork context, then a Manager's dict proxy (its server process
    serves the proxies over AF_UNIX)."""
    from concurrent.futures import ProcessPoolExecutor
    with ProcessPoolExecutor(2, mp_context=mp.get_context("fork")) as ex:
        print(sum(ex.map(square, range(500), chunksize=20)))
    with mp.get_context("fork").Manager() as m:
        d = m.dict()
        for i in range(200):
            d[i] = "v" * (i % 50)
        print(len(d), sum(len(v) for v in d.values()))


def column_sum(a, k):
    return float(a[:, k].sum())


def total(xs):
    return sum(len(x) for x in xs)


ARRAY_BYTES = 20 * 1000 * 1000


def joblib_array():
    """joblib memmaps an argument larger than max_nbytes to a file in /dev/shm once; the workers
    map it and read their columns from it."""
    import numpy as np
    from joblib import Parallel, delayed
    a = np.arange(ARRAY_BYTES // 8, dtype=np.float64).reshape(-1, 10)
    got = Parallel(n_jobs=2, backend="loky", max_nbytes="1M")(
        delayed(column_sum)(a, k) for k in range(10))
    print(sum(got) == float(a.sum()), len(got))


def joblib_list():
    """Small objects are pickled to the workers through their pipes and sockets."""
    from joblib import Parallel, delayed
    items = [["x" * (i % 100)] * 10 for i in range(2000)]
    got = Parallel(n_jobs=2, backend="loky", batch_size=50)(
        delayed(total)(items[i:i + 50]) for i in range(0, len(items), 50))
    print(sum(got))


def torch_loader():
    """A DataLoader's workers put each batch in shared memory and pass its fd to the main
    process over a unix socket; the queue's pipe carries the pickled metadata."""
    import torch
    from torch.utils.data import DataLoader, TensorDataset
    torch.manual_seed(0)
    x = torch.arange(64 * 1000, dtype=torch.float64).reshape(64, 1000)
    y = torch.arange(64)
    loader = DataLoader(TensorDataset(x, y), batch_size=8, num_workers=2,
                        multiprocessing_context="fork")
    s, n = 0.0, 0
    for bx, by in loader:
        s += float(bx.sum())
        n += int(by.numel())
    print(s == float(x.sum()), n)


def dask_cluster():
    """A LocalCluster with two worker processes: scheduler, nanny, workers and client talk
    TCP over loopback."""
    import numpy as np
    from dask.distributed import Client, LocalCluster
    import logging
    logging.getLogger("distributed").setLevel(logging.ERROR)
    with LocalCluster(n_workers=2, threads_per_worker=1, processes=True, host="127.0.0.1",
                      dashboard_address=None, silence_logs=logging.ERROR) as cluster, \
            Client(cluster) as client:
        futures = client.map(lambda k: float(np.full(100000, k, dtype=np.float64).sum()),
                             range(8))
        print(sum(client.gather(futures)))


def dask_hosts():
    """A client of the cluster at argv[2] (a scheduler and two workers, each on its own host):
    an 8,000,000-byte array put on each worker and summed on the other (which fetches it from
    the first), then the cluster shut down, so that every process of it ends."""
    import numpy as np
    from dask.distributed import Client
    import logging
    logging.getLogger("distributed").setLevel(logging.ERROR)
    # A loaded machine stretches the start of three hosts' Python processes: wait, not fail.
    client = Client(sys.argv[2], timeout=300)
    client.wait_for_workers(2, timeout=300)
    w1, w2 = sorted(client.scheduler_info()["workers"])
    x = client.scatter(np.arange(1000000, dtype=np.float64), workers=[w1])
    y = client.scatter(np.ones(1000000, dtype=np.float64), workers=[w2])
    print(client.submit(np.sum, x, workers=[w2], allow_other_workers=False).result())
    print(client.submit(np.sum, y, workers=[w1], allow_other_workers=False).result())
    client.shutdown()


MODES = {"ppe-manager": ppe_manager, "joblib-array": joblib_array, "joblib-list": joblib_list,
         "torch-loader": torch_loader, "dask": dask_cluster,
         "dask-hosts": dask_hosts}

if __name__ == "__main__":
    MODES[sys.argv[1]]()
