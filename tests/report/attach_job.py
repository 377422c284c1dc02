#!/usr/bin/python3
"""A multiprocessing job for `ipcprof record --pid`: it starts a Pool, waits, then moves known bytes.

Usage: attach_job.py READY_FILE GO_FILE ROUNDS ITEMS ITEM_BYTES EXIT_STATUS
Starts Pool(2), writes its own pid and the workers' to READY_FILE (JSON), and waits until GO_FILE
exists (a file, not a pipe or a signal: the wait moves no bytes). Then ROUNDS rounds of
Pool.map over ITEMS distinct bytes objects of ITEM_BYTES bytes each (chunksize 1: one task
message per item), half of the rounds on that first Pool, half on a second Pool(2) started after
the go (so children forked after an attach have their share), and prints the results, the bytes
of payload it handed to the workers after the go, and the second Pool's workers (to stderr,
since their pids differ from run to run); exits with EXIT_STATUS.
"""
import json
import multiprocessing
import os
import sys
import time


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
    n, items, item_bytes, status = (int(x) for x in sys.argv[3:7])
    with multiprocessing.Pool(2) as first:
        workers = [p.pid for p in multiprocessing.active_children()]
        with open(ready + ".tmp", "w") as f:
            json.dump({"pid": os.getpid(), "workers": workers}, f)
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
    print(json.dumps({"late_workers": late}), file=sys.stderr, flush=True)
    return status


if __name__ == "__main__":
    sys.exit(main())
