"""CPython multiprocessing scenarios that say exactly what their pipes and sockets must carry.

Usage: py_mp.py START_METHOD SCENARIO   (run by check_py.py, under the preload or strace)

Every figure is computed here from the objects sent, with the Connection framing of CPython 3.11:
a payload of n <= 16384 bytes is one write of 4 + n bytes; a larger one is a write of the 4-byte
length and then ONE write of exactly n bytes. Expectations go to $IPCTEST_REPORT as JSON lines.
"""
import json
import multiprocessing as mp
import os
import signal
import sys
import time
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures import process as cf_process
from multiprocessing import pool as mp_pool
from multiprocessing import shared_memory
from multiprocessing.reduction import ForkingPickler

SMALL_MAX = 16384


def emit(obj):
    with open(os.environ['IPCTEST_REPORT'], 'a') as f:
        f.write(json.dumps(obj) + '\n')


def bucket(n):
    return min(n.bit_length(), 39)


class Flow:
    """The messages that one side writes to one channel."""

    def __init__(self):
        self.bytes = 0
        self.calls = 0
        self.msgs = 0
        self.hist = {}
        self.big = {}  # size -> [times sent, distinct payloads]
        self._seen = set()

    def _write(self, n):
        self.bytes += n
        self.calls += 1
        self.hist[bucket(n)] = self.hist.get(bucket(n), 0) + 1

    def message(self, payload):
        """payload: the bytes send_bytes gets (the pickle, for send/put)."""
        n = len(payload)
        self.msgs += 1
        if n <= SMALL_MAX:
            self._write(4 + n)
        else:
            self._write(4)
            self._write(n)
            b = self.big.setdefault(n, [0, 0])
            b[0] += 1
            if bytes(payload) not in self._seen:
                self._seen.add(bytes(payload))
                b[1] += 1

    def obj(self, o):
        self.message(ForkingPickler.dumps(o))


def ident(fd):
    st = os.fstat(fd)
    return st.st_dev, st.st_ino


def expect(label, kind, fd, out=None, into=None, in_fd=None):
    """out: (writer pids, Flow) that the writers' records, summed, must show exactly;
    into: (reader pids, bytes, messages) that the readers' records, summed, must show. The
    readers' end is in_fd if given (the other end of a socketpair has its own inode)."""
    dev, ino = fd if isinstance(fd, tuple) else ident(fd)
    in_dev, in_ino = (dev, ino) if in_fd is None else ident(in_fd)
    e = {'type': 'expect', 'label': label, 'kind': kind, 'out': None, 'in': None}
    if out:
        pids, f = out
        e['out'] = {'pids': sorted(pids), 'dev': dev, 'ino': ino, 'bytes': f.bytes,
                    'calls': f.calls, 'hist': f.hist, 'big': f.big}
    if into:
        pids, n, msgs = into
        e['in'] = {'pids': sorted(pids), 'dev': in_dev, 'ino': in_ino, 'bytes': n,
                   'min_calls': 2 * msgs}
    emit(e)


def flow_both(label, kind, fd, writers, readers, f, in_fd=None):
    expect(label, kind, fd, (writers, f), (readers, f.bytes, f.msgs), in_fd)


def payloads(seed, sizes):
    return [bytes([(seed + i) % 256]) * n for i, n in enumerate(sizes)]


# --- Pool.map -------------------------------------------------------------------------------

def pool_map(ctx):
    data = payloads(1, [100, 20000, 150000, 300000])
    pool = ctx.Pool(2)
    workers = [p.pid for p in pool._pool]
    inq_fd = ident(pool._inqueue._writer.fileno())
    outq_fd = ident(pool._outqueue._reader.fileno())
    res = pool.map_async(len, data, chunksize=1)
    got = res.get(60)
    pool.close()
    pool.join()
    assert got == [len(d) for d in data], got
    tasks, results = Flow(), Flow()
    for i, d in enumerate(data):
        # What _guarded_task_generation yields for chunksize 1, and what worker() puts back.
        tasks.obj((res._job, i, mp_pool.mapstar, ((len, (d,)),), {}))
        results.obj((res._job, i, (True, [len(d)])))
    for _ in workers:
        tasks.obj(None)  # the task handler's sentinel to each worker
    flow_both('pool_tasks', 'pipe', inq_fd, [os.getpid()], workers, tasks)
    # The parent also writes None to the outqueue: once from the task handler, which its result
    # handler reads, and once from the pool's finalizer at exit, which nobody reads.
    sentinels = Flow()
    sentinels.obj(None)
    sentinels.obj(None)
    expect('pool_results', 'pipe', outq_fd, out=(workers, results),
           into=([os.getpid()], results.bytes + sentinels.bytes // 2, results.msgs + 1))
    expect('pool_result_sentinels', 'pipe', outq_fd, out=([os.getpid()], sentinels))
    print('pool', got)


# --- Queue ----------------------------------------------------------------------------------

def queue_consumer(q, sizes):
    for n in sizes:
        item = q.get(timeout=60)
        if len(item) != n:
            sys.exit(3)


def queue(ctx):
    big = payloads(2, [200000])[0]
    items = payloads(3, [10, 20000]) + [big, big, big]
    q = ctx.Queue()
    p = ctx.Process(target=queue_consumer, args=(q, [len(x) for x in items]))
    p.start()
    for x in items:
        q.put(x)
    p.join(60)
    assert p.exitcode == 0, p.exitcode
    flow = Flow()
    for x in items:
        flow.obj(x)
    flow_both('queue', 'pipe', q._writer.fileno(), [os.getpid()], [p.pid], flow)
    print('queue', [len(x) for x in items])


# --- Pipe(duplex=True) ----------------------------------------------------------------------

def duplex_child(conn):
    msg = conn.recv()
    raw = conn.recv_bytes()
    conn.send({'echo': len(msg['blob']), 'raw': len(raw), 'reply': b'r' * 50000})
    conn.send_bytes(b'small reply')
    conn.close()


def duplex(ctx):
    a, b = ctx.Pipe(duplex=True)
    p = ctx.Process(target=duplex_child, args=(b,))
    p.start()
    msg = {'blob': b'x' * 123456, 'n': 7}
    raw = b'y' * 1000
    a.send(msg)
    a.send_bytes(raw)
    reply = a.recv()
    small = a.recv_bytes()
    p.join(60)
    assert p.exitcode == 0 and reply['echo'] == 123456 and small == b'small reply'
    down, up = Flow(), Flow()
    down.obj(msg)
    down.message(raw)
    up.obj({'echo': 123456, 'raw': 1000, 'reply': b'r' * 50000})
    up.message(b'small reply')
    flow_both('duplex_down', 'unix_stream', a.fileno(), [os.getpid()], [p.pid], down, b.fileno())
    flow_both('duplex_up', 'unix_stream', b.fileno(), [p.pid], [os.getpid()], up, a.fileno())
    a_ino, b_ino = ident(a.fileno())[1], ident(b.fileno())[1]
    emit({'type': 'pair', 'label': 'duplex', 'kind': 'unix_stream', 'a': [os.getpid(), a_ino],
          'b': [p.pid, b_ino]})
    print('duplex', reply['echo'], reply['raw'])


# --- ProcessPoolExecutor --------------------------------------------------------------------

def executor(ctx):
    data = payloads(4, [64, 30000, 250000, 17000])
    ex = ProcessPoolExecutor(max_workers=2, mp_context=ctx)
    got = list(ex.map(len, data))
    workers = list(ex._processes)
    call_fd = ident(ex._call_queue._writer.fileno())
    res_fd = ident(ex._result_queue._reader.fileno())
    ex.shutdown(wait=True)
    assert got == [len(d) for d in data], got
    calls, results = Flow(), Flow()
    fn = cf_process.partial(cf_process._process_chunk, len)
    for work_id, d in enumerate(data):
        calls.obj(cf_process._CallItem(work_id, fn, (((d,),),), {}))
        results.obj(cf_process._ResultItem(work_id, result=[len(d)], exception=None,
                                           exit_pid=None))
    read_back = results.bytes
    for pid in workers:
        calls.obj(None)
        # A worker's last message is its pid; the manager thread, already shutting down,
        # no longer reads them.
        results.obj(pid)
    flow_both('executor_calls', 'pipe', call_fd, [os.getpid()], workers, calls)
    expect('executor_results', 'pipe', res_fd, out=(workers, results),
           into=([os.getpid()], read_back, len(data)))
    print('executor', got)


# --- shared_memory.SharedMemory -------------------------------------------------------------

SHM_SIZE = 4 << 20


def shm_child(name):
    shm = shared_memory.SharedMemory(name=name)
    shm.buf[:SHM_SIZE] = b'z' * SHM_SIZE
    shm.close()


def shm(ctx):
    s = shared_memory.SharedMemory(create=True, size=SHM_SIZE)
    ino = os.stat('/dev/shm/' + s.name).st_ino
    p = ctx.Process(target=shm_child, args=(s.name,))
    p.start()
    p.join(60)
    assert p.exitcode == 0 and bytes(s.buf[SHM_SIZE - 3:SHM_SIZE]) == b'zzz'
    for pid in (os.getpid(), p.pid):
        emit({'type': 'expect_map', 'pid': pid, 'kind': 'posix_shm', 'name': '/' + s.name,
              'ino': ino, 'length': SHM_SIZE, 'creator': pid == os.getpid()})
    emit({'type': 'nocopy', 'min_bytes': SHM_SIZE // 2})
    s.close()
    s.unlink()
    print('shm', SHM_SIZE)


# --- a worker killed, the rest terminated ---------------------------------------------------

def hold(n):
    # A regular file (not IPC) tells the parent which task this worker holds.
    marks = os.environ['IPCTEST_MARKS']
    tmp = os.path.join(marks, f'.{os.getpid()}')
    with open(tmp, 'w') as f:
        f.write(str(n))
    os.rename(tmp, os.path.join(marks, str(os.getpid())))  # whole, or not there yet
    time.sleep(60)
    return n


def pool_kill(ctx):
    marks = os.environ['IPCTEST_MARKS']
    data = payloads(5, [40000, 50000, 60000, 70000])
    pool = ctx.Pool(2)
    workers = [p.pid for p in pool._pool]
    inq = ident(pool._inqueue._writer.fileno())
    res = pool.map_async(hold, [len(d) for d in data], chunksize=1)
    deadline = time.monotonic() + 30
    def done():
        return [m for m in os.listdir(marks) if not m.startswith('.')]

    while len(done()) < 2 and time.monotonic() < deadline:
        time.sleep(0.02)
    held = {}
    for name in done():
        with open(os.path.join(marks, name)) as f:
            held[int(name)] = int(f.read())
    assert sorted(held) == sorted(workers), (held, workers)
    killed = workers[0]
    os.kill(killed, signal.SIGKILL)
    time.sleep(0.2)
    pool.terminate()
    sizes = [len(d) for d in data]
    for pid in workers:
        f = Flow()
        i = sizes.index(held[pid])
        f.obj((res._job, i, mp_pool.mapstar, ((hold, (held[pid],)),), {}))
        emit({'type': 'expect_end', 'pid': pid, 'signal': 9 if pid == killed else 15,
              'method': ctx.get_start_method(), 'root': os.getpid(),
              'dev': inq[0], 'ino': inq[1], 'in_bytes': f.bytes})
    print('pool_kill', len(workers))


# --- the seed example: one big array sent to every task --------------------------------------

def seed(ctx):
    import numpy as np
    a = np.arange(200_000, dtype=np.float64)
    pool = ctx.Pool(2)
    workers = [p.pid for p in pool._pool]
    inq = ident(pool._inqueue._writer.fileno())
    res = pool.map_async(np.sum, [a] * 4, chunksize=1)
    got = res.get(60)
    pool.close()
    pool.join()
    assert got == [a.sum()] * 4, got
    tasks = Flow()
    for i in range(4):
        tasks.obj((res._job, i, mp_pool.mapstar, ((np.sum, (a,)),), {}))
    size = max(tasks.big)
    for _ in workers:
        tasks.obj(None)
    flow_both('seed_tasks', 'pipe', inq, [os.getpid()], workers, tasks)
    # The four task pickles differ only in the task index near their start: the sampled
    # fingerprint must see one payload sent four times, the seed's mistake.
    emit({'type': 'expect_repeat', 'pid': os.getpid(), 'dev': inq[0], 'ino': inq[1],
          'size': size, 'count': 4})
    print('seed', [float(x) for x in got])


SCENARIOS = {'pool': pool_map, 'queue': queue, 'duplex': duplex, 'executor': executor,
             'shm': shm, 'pool_kill': pool_kill, 'seed': seed}


def main():
    method, scenario = sys.argv[1], sys.argv[2]
    mp.set_start_method(method)
    emit({'type': 'root', 'pid': os.getpid(), 'method': method, 'scenario': scenario})
    SCENARIOS[scenario](mp.get_context(method))


if __name__ == '__main__':
    main()
