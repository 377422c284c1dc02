#!/usr/bin/python3
"""A multiprocessing job for `ipcprof record --pid`: it starts a Pool, waits, then moves known bytes.

Usage: attach_job.py READY_FILE GO_FILE ROUNDS ITEMS ITEM_BYTES EXIT_STATUS SHM_PAGES
Makes a shared-memory block of SHM_PAGES pages (Python's resource tracker starts for it), starts
Pool(2), writes its own pid and the workers' to READY_FILE (JSON), and waits until GO_FILE
exists (a file, not a pipe or a signal: the wait moves no bytes). Then ROUNDS rounds of
Pool.map over ITEMS distinct bytes objects of ITEM_BYTES bytes each (chunksize 1: one task
message per item), half of the rounds on that first Pool, half on a second Pool(2) started after
the go (so children forked after an attach have their share), and prints the results, the bytes
of payload it handed to the workers after the go, and the second Pool's workers (to stderr,
since their pids differ from run to run); then writes one byte into each page of the block
(one shared-memory fault each: the pages were never touched) and exits with EXIT_STATUS.
"""
import json
import multiprocessing
import os
import sys
import time
from multiprocessing import shared_memory


def size(b):
    return len(b)


def rounds(pool, n, items, item_bytes, tag):
    moved = 0
    for r in range(n):
        # Distinct objects: pickle would send one repeated object only once.
        data = [bytes([(r * items + i) % 251]) * item_bytes for i in range(items)]
        got = pool.map(size, data, chunksize=1)
        moved += sum(len(b) for b in data)
        print(f"{tag} round {r}: {len(got)} results, {sum(got)} bytes", flush=True)
    return moved


def main():
    ready, go = sys.argv[1], sys.argv[2]
    n, items, item_bytes, status, pages = (int(x) for x in sys.argv[3:8])
    page = os.sysconf("SC_PAGE_SIZE")
    block = shared_memory.SharedMemory(create=True, size=pages * page)
    with multiprocessing.Pool(2) as first:
        workers = [p.pid for p in multiprocessing.active_children()]
        tracker = multiprocessing.resource_tracker._resource_tracker._pid
        with open(ready + ".tmp", "w") as f:
            json.dump({"pid": os.getpid(), "workers": workers, "tracker": tracker}, f)
        os.rename(ready + ".tmp", ready)
        while not os.path.exists(go):
            time.sleep(0.01)
        moved = rounds(first, n // 2, items, item_bytes, "first pool")
        # Workers that exit by themselves (the with block alone would SIGTERM them).
        first.close()
        first.join()
    with multiprocessing.Pool(2) as second:
        late = [p.pid for p in multiprocessing.active_children() if p.pid not in workers]
        moved += rounds(second, n - n // 2, items, item_bytes, "second pool")
        second.close()
        second.join()
    print(f"moved {moved} bytes", flush=True)
    for off in range(0, pages * page, page):
        block.buf[off] = 1
    print(f"touched {pages} shared pages", flush=True)
    block.close()
    block.unlink()
    print(json.dumps({"late_workers": late}), file=sys.stderr, flush=True)
    return status


if __name__ == "__main__":
    sys.exit(main())
