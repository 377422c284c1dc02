"""Python frames in CPU samples and call sites, checked frame by frame on known call chains.

Usage: check_pyframes.py --preload LIB --recdump RECDUMP --ipcprof IPCPROF [--keep]
Runs py_frames.py under the preload with every CPython 3.11-3.13 found (Debian's /usr/bin/python3,
pyenv's under /root/.pyenv/versions; a version not installed is said and skipped) and reads the
report's JSON. py_frames.py writes, from inside each function that burns CPU, the Python stack it
is called from (traceback.extract_stack) and the thread CPU time it burned (its own clock). Then:
 - every CPU sample on the burning line has exactly the expected Python frames, outermost first:
   file, function and line of each (the callers' lines are their calls, the innermost the loop);
   in the main thread, a thread, a fork child and two Pool workers;
 - each burner's sampled CPU time is within 25% of what it measured itself;
 - the call site of the writes of SEND_BYTES has exactly the Python frames of send_block's
   caller chain, send_block on the line of its os.write, and the repeated-payload finding names
   that line;
 - the folded output names the frames "function (file:line)";
 - a CPython before 3.11 (pyenv's 3.10, when installed) runs as ever, its records say
   unsupported, and one line on stderr says so.
"""
import glob
import json
import os
import re
import subprocess
import sys

sys.dont_write_bytecode = True  # nothing written into the source tree
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import ipctest as it  # noqa: E402

PROGRAM = os.path.join(os.path.dirname(os.path.abspath(__file__)), 'py_frames.py')
SECONDS = 0.6
SEND = 30000
HZ = 500
SHARE = 0.25
BURNERS = ('alpha', 'beta', 'gamma', 'delta')


def markers():
    lines = open(PROGRAM).read().splitlines()
    return {m.group(1): i + 1 for i, line in enumerate(lines)
            for m in [re.search(r'at: (\w+)$', line)] if m}


def interpreters():
    """[(label, path)] of the CPythons to run, and the versions not found."""
    found = [('3.11 (Debian)', '/usr/bin/python3')] if os.path.exists('/usr/bin/python3') else []
    for d in sorted(glob.glob('/root/.pyenv/versions/3.1[1-3].*')):
        v = os.path.basename(d)
        exe = os.path.join(d, 'bin', 'python' + '.'.join(v.split('.')[:2]))
        if os.path.exists(exe):
            found.append((v, exe))
    missing = [v for v in ('3.12', '3.13') if not any(f[0].startswith(v) for f in found)]
    return found, missing


def same_file(full, shown):
    return full == shown or full.endswith('/' + shown)


def same_frame(want, got):
    """want: (file, name, line) from traceback; got: a python frame of the report."""
    return (same_file(want[0], got['file']) and got['function'].split('.')[-1] == want[1]
            and got['line'] == want[2])


def show(frames):
    return ' > '.join(f"{f['function']} ({f['file']}:{f['line']})" for f in frames)


def run_and_report(ck, opts, s, label, cmd, env, timeout):
    """Runs cmd in session s, reports it (JSON and folded): the JSON, and the report's folder."""
    rc, _, err = s.run(cmd, extra_env=env, timeout=timeout)
    ck.eq(f'{label}: the program ran', rc, 0)
    ck.true(f'{label}: nothing on stderr', not err, err[-400:])
    rep = os.path.join(s.root, 'report')
    p = subprocess.run([opts['ipcprof'], 'report', '--quiet', '-f', 'folded', '-o', rep,
                        s.rec], capture_output=True, text=True, timeout=timeout)
    ck.eq(f'{label}: ipcprof report', p.returncode, 0)
    return json.load(open(os.path.join(rep, 'ipcprof-report.json'))), rep


def check_one(ck, opts, label, python, mark):
    s = it.Session(opts)
    ok = False
    try:
        out = os.path.join(s.work, 'out')
        os.mkdir(out)
        r, rep = run_and_report(ck, opts, s, label, [python, PROGRAM, out, str(SECONDS),
                                                     str(SEND)],
                                {'IPCPROF_SAMPLE_HZ': str(HZ), 'IPCPROF_STACK_MIN': '16384',
                                 'IPCPROF_FINGERPRINT_MIN': '16384'}, 120)
        expect = {}
        for f in glob.glob(os.path.join(out, 'expect.*.json')):
            expect[int(f.split('.')[-2])] = json.load(open(f))
        procs = r['processes']
        ck.eq(f'{label}: a record for each process that ran a burner',
              sorted(pid for pid in expect if any(p['pid'] == pid for p in procs)),
              sorted(expect))
        for i, pr in enumerate(procs):
            if pr['pid'] in expect:
                ck.eq(f'{label}: process {pr["pid"]}: Python frames on', pr['python']['state'],
                      'on')
        F = r['profile']['frames']
        # The burners' expected stacks per (pid, tid, burner): callers, then spin's loop.
        want = {}
        measured = {}
        for pid, ex in expect.items():
            for b in BURNERS:
                for e in ex.get(b, []):
                    st = [tuple(x) for x in e['stack']]
                    ck.eq(f'{label}: {b}\'s own frame is on its marked line',
                          st[-1][1:], (b, mark.get(b + '_spin', mark[b])))
                    want.setdefault((pid, e['tid'], b), []).append(
                        st + [(PROGRAM, 'spin', mark['spin'])])
                for e in ex.get(b + '/cpu', []):
                    measured[(pid, b)] = measured.get((pid, b), 0) + e['used'] * 1e9
        sampled, counted, bad = {}, {}, []
        for st in r['profile']['stacks']:
            pid, tid = procs[st['process']]['pid'], st['tid']
            py = [F[k] for k in st['frames'] if F[k]['kind'] == 'python']
            if len(py) < 2 or py[-1]['function'] != 'spin' or py[-1]['line'] != mark['spin']:
                continue
            b = py[-2]['function']
            sampled[(pid, b)] = sampled.get((pid, b), 0) + st['ns']
            counted[(pid, b)] = counted.get((pid, b), 0) + 1
            cands = want.get((pid, tid, b), [])
            if not any(len(c) == len(py) and all(same_frame(w, g) for w, g in zip(c, py))
                       for c in cands):
                bad.append(f'pid {pid} tid {tid}: {show(py)}; expected one of: ' +
                           '; '.join(' > '.join(f'{w[1]} ({os.path.basename(w[0])}:{w[2]})'
                                                for w in c) for c in cands))
        ck.true(f'{label}: every sample on the burning line has exactly the expected Python '
                f'frames ({sum(counted.values())} stacks)', not bad, '\n'.join(bad[:5]))
        for key, ns in sorted(measured.items()):
            got = sampled.get(key, 0)
            ck.true(f'{label}: pid {key[0]} {key[1]}: sampled CPU {got / 1e6:.0f} ms within '
                    f'{SHARE:.0%} of its own clock\'s {ns / 1e6:.0f} ms',
                    abs(got - ns) <= SHARE * ns)
        pools = [pid for pid, ex in expect.items() if 'delta' in ex]
        ck.eq(f'{label}: two Pool workers burned', len(pools), 2)
        ck.true(f'{label}: a thread of the main process burned',
                any(k[0] == procs[0]['pid'] and k[2] == 'beta' and k[1] != procs[0]['pid']
                    for k in want))
        # The call site of send_block's write.
        sends = [e for ex in expect.values() for e in ex.get('send', [])]
        ck.eq(f'{label}: one send', len(sends), 1)
        cw = [tuple(x) for x in sends[0]['stack']]
        cw[-1] = (cw[-1][0], cw[-1][1], mark['send'])
        sites = [c for c in r['call_sites'] if c['bytes'] == 2 * SEND and c['calls'] == 2 and
                 any(f['function'] == 'send_block' for f in c['frames'])]
        ck.eq(f'{label}: one call site of the two {SEND}-byte writes from send_block',
              len(sites), 1)
        if sites:
            py = [f for f in sites[0]['frames'] if f['kind'] == 'python'][::-1]
            ck.true(f'{label}: the write\'s call site has exactly send_block\'s callers',
                    len(py) == len(cw) and all(same_frame(w, g) for w, g in zip(cw, py)),
                    f'got {show(py)}; want ' + ' > '.join(f'{w[1]}:{w[2]}' for w in cw))
            ck.true(f'{label}: no interpreter frame in the call site by default',
                    not any(f['interpreter'] for f in sites[0]['frames']))
        rep_f = [f['title'] for f in r['findings'] if f['kind'] == 'repeated_payload']
        ck.true(f'{label}: the repeated payload finding names send_block\'s line',
                any(t.endswith(f'from py_frames.py:{mark["send"]} (send_block)') for t in rep_f),
                repr(rep_f))
        folded = open(os.path.join(rep, 'ipcprof-folded.txt')).read()
        ck.true(f'{label}: folded names "alpha (py_frames.py:{mark["alpha"]})"',
                f';alpha (py_frames.py:{mark["alpha"]});spin (py_frames.py:{mark["spin"]})'
                in folded.replace('%20', ' '))
        ok = True
    finally:
        s.close(ok and not ck.failures)


# The seed example, line for line, with numpy where there is numpy, else with bytes; but the
# worker's compute is a median rather than a sum: a CPU-time timer expires only at a scheduler
# tick that finds the thread running (4 ms at HZ=250), so a 1 ms sum can go unsampled in all
# four tasks, where an 18 ms median spans several ticks on any machine.
SEED = {
    'numpy': ('import numpy as np', 'return np.median(a)', 'a = np.random.rand(2_000_000)'),
    'bytes': ('import hashlib, os', 'return hashlib.sha256(a).digest()[0]',
              'a = os.urandom(16_000_000)'),
}
SEED_TEXT = """{0}
from multiprocessing import Pool


def worker(a):
    {1}


if __name__ == '__main__':
    {2}
    with Pool(4) as p:
        print(p.map(worker, [a] * 4))
"""


def source_line(path, after, text):
    """The line number of the first line holding text after the first holding after."""
    lines = open(path).read().splitlines()
    start = next(i for i, line in enumerate(lines) if after in line)
    return next(i + 1 for i in range(start, len(lines)) if text in lines[i])


def check_seed(ck, opts, label, python):
    """The seed example: pool.map of one big array to four tasks (its sends are made by the
    Pool's task-handler thread, its unpickling by the workers)."""
    has_numpy = subprocess.run([python, '-c', 'import numpy'], capture_output=True).returncode == 0
    kind = 'numpy' if has_numpy else 'bytes'
    label = f'{label} seed ({kind})'
    s = it.Session(opts)
    ok = False
    try:
        seed = os.path.join(s.work, 'seed.py')
        with open(seed, 'w') as f:
            f.write(SEED_TEXT.format(*SEED[kind]))
        L = {k: source_line(seed, k, k) for k in ('with Pool(4)', 'p.map(', 'def worker')}
        L['worker'] = L['def worker'] + 1
        lib = subprocess.run([python, '-c', 'import multiprocessing, os; '
                              'print(os.path.dirname(multiprocessing.__file__))'],
                             capture_output=True, text=True, check=True).stdout.strip()
        pool_py, queues_py, conn_py = (os.path.join(lib, f) for f in
                                       ('pool.py', 'queues.py', 'connection.py'))
        r, rep = run_and_report(ck, opts, s, label, [python, seed],
                                {'IPCPROF_SAMPLE_HZ': '4000', 'IPCPROF_STACK_MIN': '1048576'},
                                300)
        try:
            import jsonschema
            schema = os.path.join(os.path.dirname(os.path.abspath(__file__)), '..', '..',
                                  'report', 'ipcprof-report.schema.json')
            err = None
            try:
                jsonschema.validate(r, json.load(open(schema)))
            except jsonschema.ValidationError as e:
                err = e.message
            ck.true(f'{label}: the JSON (with a main_thread frame) follows the schema',
                    err is None, err)
        except ImportError:
            print('SKIP the schema check: python3-jsonschema is not installed')
        # The top call site: the task handler's write, and the main thread in pool.map.
        top = max(r['call_sites'], key=lambda c: c['bytes'])
        fr = top['frames']
        py = [(f['kind'], f['file'], f['function'].split('.')[-1], f['line']) for f in fr
              if f['kind'] != 'native']
        mark = [k for k, f in enumerate(py) if f[0] == 'main_thread']
        ck.true(f'{label}: the top call site moved the four tasks\' arrays',
                top['bytes'] >= 4 * 16_000_000 and top['calls'] >= 4, repr(top['bytes']))
        ck.eq(f'{label}: the top call site has one main-thread mark', len(mark), 1)
        if len(mark) == 1:
            own, main = py[:mark[0]], py[mark[0] + 1:]
            ck.eq(f'{label}: the top call site\'s write is connection.py\'s _send',
                  own[0][1:], ('multiprocessing/connection.py', '_send',
                               source_line(conn_py, 'def _send(self', 'write(self._handle')))
            ck.true(f'{label}: the writing thread is the Pool\'s task handler',
                    ('multiprocessing/pool.py', '_handle_tasks') in [f[1:3] for f in own])
            ck.eq(f'{label}: the main thread was in pool.map, called from seed.py\'s line',
                  main[-2:], [('python', 'multiprocessing/pool.py', 'map',
                               source_line(pool_py, 'def map(', '.get()')),
                              ('python', 'seed.py', '<module>', L['p.map('])])
        rep_f = [f['title'] for f in r['findings'] if f['kind'] == 'repeated_payload']
        ck.true(f'{label}: the repeated payload finding names seed.py\'s pool.map line',
                any(f' from seed.py:{L["p.map("]} (<module>, sent by a library thread)' in t
                    for t in rep_f), repr(rep_f))
        # The workers' unpickling: worker's caller chain in multiprocessing/pool.py.
        F, procs = r['profile']['frames'], r['processes']
        main_pid = procs[0]['pid']
        get_line = source_line(pool_py, 'def worker(', 'task = get()')
        loads_line = source_line(queues_py, 'class SimpleQueue', '_ForkingPickler.loads(res)')
        unpickled, bad, worker_seen = 0, [], set()
        for st in r['profile']['stacks']:
            if procs[st['process']]['pid'] == main_pid:
                continue
            chain = [(F[k]['file'], F[k]['function'].split('.')[-1], F[k]['line'])
                     for k in st['frames'] if F[k]['kind'] == 'python']
            if ('seed.py', 'worker', L['worker']) in chain:
                worker_seen.add(st['process'])
            if st['category'] != 'deserialize':
                continue
            unpickled += 1
            want = [('multiprocessing/pool.py', 'worker', get_line),
                    ('multiprocessing/queues.py', 'get', loads_line)]
            if chain[-2:] != want or chain[0] != ('seed.py', '<module>', L['with Pool(4)']):
                bad.append(show([F[k] for k in st['frames'] if F[k]['kind'] == 'python']))
        ck.true(f'{label}: the workers have unpickling samples', unpickled > 0)
        ck.true(f'{label}: every unpickling sample of the workers is in pool.py\'s worker '
                f'({unpickled} stacks)', not bad, '\n'.join(bad[:3]))
        ck.true(f'{label}: worker (seed.py:{L["worker"]}) is in the workers\' samples',
                len(worker_seen) > 0)
        folded = open(os.path.join(rep, 'ipcprof-folded.txt')).read().replace('%20', ' ')
        ck.true(f'{label}: folded (the flame graph\'s stacks) names '
                f'"worker (seed.py:{L["worker"]})"',
                f';worker (seed.py:{L["worker"]})' in folded)
        ok = True
    finally:
        s.close(ok and not ck.failures)


def check_unsupported(ck, opts):
    """A CPython before 3.11 (pyenv's 3.10, when installed): C frames only, said once."""
    old = sorted(glob.glob('/root/.pyenv/versions/3.10.*/bin/python3.10'))
    if not old:
        print('SKIP for CPython 3.10: not installed (/root/.pyenv/versions/3.10.*)')
        return
    s = it.Session(opts)
    ok = False
    try:
        prog = 'import os\nif os.fork() == 0: os._exit(0)\nos.wait()\nprint("done")\n'
        rc, out, err = s.run([old[0], '-c', prog])
        ck.eq('3.10: the program ran as without ipcprof', (rc, out), (0, b'done\n'))
        ck.eq('3.10: one line on stderr says so, in the parent only',
              err.decode().splitlines(),
              [f'ipcprof[{s.pid}]: Python before 3.11 is not supported: its stacks show C '
               'frames only'])
        dump = subprocess.run([opts['recdump'], s.rec], capture_output=True, text=True,
                              check=True).stdout
        py = [r for r in map(json.loads, dump.splitlines()) if r['type'] == 'python']
        ck.eq('3.10: both records say unsupported', [r['state'] for r in py], [2, 2])
        ok = True
    finally:
        s.close(ok and not ck.failures)


def main():
    opts, _ = it.parse_args(sys.argv[1:])
    it.need_preload(opts)
    ck = it.Checker('pyframes')
    mark = markers()
    found, missing = interpreters()
    for v in missing:
        print(f'SKIP for CPython {v}: not installed (/root/.pyenv/versions/{v}.*)')
    if not found:
        print('SKIP: no CPython 3.11-3.13')
        sys.exit(77)
    for label, python in found:
        check_one(ck, opts, label, python, mark)
        check_seed(ck, opts, label, python)
    check_unsupported(ck, opts)
    ck.finish()


if __name__ == '__main__':
    main()
