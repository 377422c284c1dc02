"""Python multiprocessing programs for the programs harness: py_progs.py MODE prints a result
that does not depend on timing (so its output can be compared with and without ipcprof)."""
import multiprocessing as mp
import sys
import threading
import os


def square(x):
    return x * x


def fill(q, n):
    for i in range(n):
        q.put(b"x" * (i % 500))
    q.put(None)


def pool(method):
    ctx = mp.get_context(method)
    with ctx.Pool(2) as p:
        print(sum(p.map(square, range(2000), chunksize=50)))


def ppe():
    from concurrent.futures import ProcessPoolExecutor
    with ProcessPoolExecutor(2, mp_context=mp.get_context("fork")) as ex:
        print(sum(ex.map(square, range(500), chunksize=20)))


def manager():
    with mp.get_context("fork").Manager() as m:
        d = m.dict()
        for i in range(200):
            d[i] = "v" * (i % 50)
        print(len(d), sum(len(v) for v in d.values()))


def queue():
    ctx = mp.get_context("fork")
    q = ctx.Queue()
    p = ctx.Process(target=fill, args=(q, 1000))
    p.start()
    total = 0
    while (x := q.get()) is not None:
        total += len(x)
    p.join()
    print(total, p.exitcode)


def shm_child(name, n):
    from multiprocessing import shared_memory
    s = shared_memory.SharedMemory(name=name)
    s.buf[:n] = bytes(range(256)) * (n // 256)
    s.close()


def shm():
    from multiprocessing import shared_memory
    n = 1 << 20
    s = shared_memory.SharedMemory(create=True, size=n)
    try:
        p = mp.get_context("fork").Process(target=shm_child, args=(s.name, n))
        p.start()
        p.join()
        print(sum(s.buf[:n]) , p.exitcode)
    finally:
        s.close()
        s.unlink()


def threads_pipe():
    """Threads moving data through pipes (an allocator's per-thread arenas get used)."""
    def run(k, out):
        r, w = os.pipe()
        def writer():
            for i in range(300):
                os.write(w, b"y" * (100 + i))
            os.close(w)
        t = threading.Thread(target=writer)
        t.start()
        got = 0
        while (b := os.read(r, 65536)):
            got += len(b)
        t.join()
        os.close(r)
        out[k] = got
    out = {}
    ts = [threading.Thread(target=run, args=(k, out)) for k in range(4)]
    for t in ts:
        t.start()
    for t in ts:
        t.join()
    print(sorted(out.items()))


MODES = {"pool-fork": lambda: pool("fork"), "pool-spawn": lambda: pool("spawn"),
         "pool-forkserver": lambda: pool("forkserver"), "ppe": ppe, "manager": manager,
         "queue": queue, "shm": shm, "threads-pipe": threads_pipe}

if __name__ == "__main__":
    MODES[sys.argv[1]]()
