"""Known Python call chains for check_pyframes.py: CPU in three functions, a send of known size.

Usage: py_frames.py OUT_DIR SECONDS SEND_BYTES
Lines marked "# at: NAME" are where the checker expects the frames to be. Each burner first
writes, into OUT_DIR/expect.<pid>.json, the Python stack it is called from
(traceback.extract_stack: file, function, line of every caller), then spins on its marked line
for its share of SECONDS of its thread's CPU time, which it also writes (its own clock). The main
thread runs gamma -> beta -> alpha, a thread runs beta -> alpha, a fork child runs alpha after
reading what send_block sent it (SEND_BYTES twice, the same bytes, which fit in a pipe's buffer),
and a Pool's two workers run delta.
"""
import json
import multiprocessing
import os
import sys
import threading
import time
import traceback

OUT = sys.argv[1]
SECONDS = float(sys.argv[2])
SEND = int(sys.argv[3])
lock = threading.Lock()


def note(label, skip=1, **more):
    """Adds to this process's expectations: label's callers, innermost last, and more."""
    stack = [(f.filename, f.name, f.lineno) for f in traceback.extract_stack()[:-skip]]
    path = os.path.join(OUT, f'expect.{os.getpid()}.json')
    with lock:
        data = json.load(open(path)) if os.path.exists(path) else {}
        data.setdefault(label, []).append(dict(stack=stack, tid=threading.get_native_id(),
                                               **more))
        with open(path, 'w') as f:
            json.dump(data, f)


def spin(label, seconds):
    note(label, skip=2)
    t0 = time.thread_time()
    n = 0
    while time.thread_time() - t0 < seconds: n += 1  # noqa: E701  at: spin
    used = time.thread_time() - t0
    note(label + '/cpu', used=used)
    return used


def alpha(seconds):
    return spin('alpha', seconds)  # at: alpha


def beta(seconds):
    used = alpha(seconds / 2)  # at: beta
    return used + spin('beta', seconds / 2)  # at: beta_spin


def gamma(seconds):
    used = beta(seconds * 2 / 3)  # at: gamma
    return used + spin('gamma', seconds / 3)  # at: gamma_spin


def delta(seconds):
    return spin('delta', seconds)  # at: delta


def send_block(fd, data):
    note('send', skip=1)
    for _ in range(2): os.write(fd, data)  # noqa: E701  at: send


def child(r):
    got = b''
    while len(got) < 2 * SEND:
        got += os.read(r, 2 * SEND - len(got))
    alpha(SECONDS / 3)  # at: child
    os._exit(0)


def main():
    r, w = os.pipe()
    pid = os.fork()
    if pid == 0:
        os.close(w)
        child(r)
    os.close(r)
    send_block(w, b'x' * SEND)  # at: main_send
    os.close(w)
    t = threading.Thread(target=beta, args=(SECONDS / 2,))
    t.start()
    gamma(SECONDS)  # at: main_gamma
    t.join()
    os.waitpid(pid, 0)
    with multiprocessing.get_context('fork').Pool(2) as pool:
        pool.map(delta, [SECONDS / 3] * 2, chunksize=1)  # at: main_pool


if __name__ == '__main__':
    main()  # at: module
