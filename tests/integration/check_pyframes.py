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


def check_one(ck, opts, label, python, mark):
    s = it.Session(opts)
    ok = False
    try:
        out = os.path.join(s.work, 'out')
        os.mkdir(out)
        rc, _, err = s.run([python, PROGRAM, out, str(SECONDS), str(SEND)],
                           extra_env={'IPCPROF_SAMPLE_HZ': str(HZ), 'IPCPROF_STACK_MIN': '16384',
                                      'IPCPROF_FINGERPRINT_MIN': '16384'},
                           timeout=120)
        ck.eq(f'{label}: the program ran', rc, 0)
        ck.true(f'{label}: nothing on stderr', not err, err[-400:])
        rep = os.path.join(s.root, 'report')
        p = subprocess.run([opts['ipcprof'], 'report', '--quiet', '-f', 'folded', '-o', rep,
                            s.rec], capture_output=True, text=True, timeout=120)
        ck.eq(f'{label}: ipcprof report', p.returncode, 0)
        r = json.load(open(os.path.join(rep, 'ipcprof-report.json')))
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
    check_unsupported(ck, opts)
    ck.finish()


if __name__ == '__main__':
    main()
