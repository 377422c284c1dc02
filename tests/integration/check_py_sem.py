"""A multiprocessing.Lock held by a parent while its fork child waits: the wait is IPC time.

Usage: check_py_sem.py --preload LIB --recdump RECDUMP --ipcprof IPCPROF [--keep] PYTHON
multiprocessing.Lock is a POSIX named semaphore (sem_open, then unlinked at once under the fork
start method); acquiring it runs sem_trywait and, when that finds it taken, sem_wait. The parent
takes the lock, starts the child, sees it inside sem_wait (glibc counts waiters in the upper 32
bits of the semaphore), holds on for HOLD seconds and lets go. The records must show one
semaphore channel in each process, the same semaphore, with the calls CPython makes (a
sem_trywait that finds the lock taken is not counted), the child's wait of at least HOLD, and the
report must count that wait as the child's IPC wait time.
"""
import json
import os
import subprocess
import sys

sys.dont_write_bytecode = True  # nothing written into the source tree
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import ipctest as it  # noqa: E402

HOLD = 0.2

SCRIPT = r'''
import ctypes, multiprocessing as mp, sys, time

HOLD = %r


def waiters(lock):
    return ctypes.c_uint64.from_address(lock._semlock.handle).value >> 32


def child(lock):
    with lock:  # the parent holds it: sem_trywait fails, sem_wait waits
        pass


def main():
    ctx = mp.get_context('fork')
    lock = ctx.Lock()
    lock.acquire()
    p = ctx.Process(target=child, args=(lock,))
    p.start()
    t0 = time.monotonic()
    while waiters(lock) == 0:
        if time.monotonic() - t0 > 10:
            sys.exit('the child never waited')
        time.sleep(0.001)
    time.sleep(HOLD)
    lock.release()
    p.join()
    with lock:  # free: sem_trywait takes it
        pass
    print(p.pid, flush=True)
    sys.exit(p.exitcode)


main()
''' % HOLD


def main():
    opts, cmd = it.parse_args(sys.argv[1:])
    ck = it.Checker('py_sem')
    it.need_preload(opts)
    if not opts.get('ipcprof'):
        print('FAIL: no --ipcprof')
        sys.exit(1)
    s = it.Session(opts)
    rc, out, _ = s.run([cmd[0], '-c', SCRIPT], extra_env=opts['env'])
    if not ck.eq('exit status', rc, 0):
        s.close(False)
        ck.finish()
    root, child = s.pid, int(out.split()[0])
    recs = s.records(timeline=True)
    ck.eq('records: the parent and the child', sorted(p['pid'] for p in recs.procs),
          sorted([root, child]))
    sem = {pid: [c for c in recs.chans(pid) if c['kind'] == it.KIND_CODE['semaphore']]
           for pid in (root, child)}
    for pid, who in ((root, 'parent'), (child, 'child')):
        ck.eq(f'{who}: one semaphore channel', len(sem[pid]), 1)
    if not all(len(v) == 1 for v in sem.values()):
        s.close(False)
        ck.finish()
    p, c = sem[root][0], sem[child][0]
    ck.eq('the same semaphore in both (dev, ino)', (p['dev'], p['ino']), (c['dev'], c['ino']))
    ck.true('named as multiprocessing names it', p['name'].startswith('/mp-'), p['name'])
    ck.eq('the same name in both', c['name'], p['name'])
    # parent: acquire (trywait), release (post), then acquire and release again, uncontended
    ck.eq('parent: waits (in calls)', p['in']['calls'], 2)
    ck.eq('parent: posts (out calls)', p['out']['calls'], 2)
    # child: a trywait that fails (not counted), one sem_wait, one release
    ck.eq('child: waits (in calls)', c['in']['calls'], 1)
    ck.eq('child: posts (out calls)', c['out']['calls'], 1)
    for x, who in ((p, 'parent'), (c, 'child')):
        for d in it.DIRS:
            ck.eq(f'{who}: {d} bytes and errors', (x[d]['bytes'], x[d]['errors']), (0, 0))
    ck.true(f'child: its wait took at least {HOLD} s', c['in']['time_ns'] >= HOLD * 1e9,
            str(c['in']['time_ns']))
    ivs = [iv for iv in recs.intervals if iv['pid'] == child and iv['channel'] == c['index']
           and iv['dir'] == 1]
    ck.true(f'child: a timeline interval of its wait, at least {HOLD} s',
            any(iv['end_ns'] - iv['start_ns'] >= HOLD * 1e9 for iv in ivs), str(ivs))

    out_dir = os.path.join(s.root, 'report')
    os.mkdir(out_dir)
    r = subprocess.run([opts['ipcprof'], 'report', '-q', '-o', out_dir, s.rec],
                       capture_output=True, text=True, timeout=120)
    ck.eq('ipcprof report: exit status', r.returncode, 0)
    with open(os.path.join(out_dir, 'ipcprof-report.json')) as f:
        rep = json.load(f)
    procs = {i: q['pid'] for i, q in enumerate(rep['processes'])}
    chans = [x for x in rep['channels'] if x['kind'] == 'semaphore']
    ck.eq('report: one semaphore channel', len(chans), 1)
    if chans:
        ck.eq('report: its ends are the parent and the child',
              sorted(procs[e['process']] for e in chans[0]['endpoints']), sorted([root, child]))
        ck.true('report: between profiled processes', chans[0]['paired'])
        ck.eq('report: calls', chans[0]['calls'], 6)
    t = [q['time'] for q in rep['processes'] if q['pid'] == child][0]
    ck.true(f'report: the child spent at least {HOLD} s in IPC calls', t['ipc_ns'] >= HOLD * 1e9,
            str(t['ipc_ns']))
    # Blocked, not on a CPU: the wait is IPC wait time (less what the report may call idle).
    blocked = t['ipc_wait_ns'] + (t.get('ipc_idle_ns') or 0)
    ck.true(f'report: the child waited at least {0.9 * HOLD} s blocked in IPC calls',
            blocked >= 0.9 * HOLD * 1e9, json.dumps(t))
    s.close(not ck.failures)
    ck.finish()


if __name__ == '__main__':
    main()
