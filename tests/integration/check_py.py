"""Runs a py_mp.py scenario under libipcprof.so (or strace) and checks the figures it expects.

Usage: check_py.py [--preload LIB --recdump RECDUMP | --strace] PYTHON py_mp.py METHOD SCENARIO
With --strace the same expectations are checked against strace's view of every read and write,
without the preload: that proves the expectations themselves (exit 77 if strace is missing).
"""
import os
import re
import shutil
import subprocess
import sys

sys.dont_write_bytecode = True  # nothing written into the source tree
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import ipctest as it  # noqa: E402

TRACED = {'write': 'out', 'writev': 'out', 'sendto': 'out', 'sendmsg': 'out',
          'read': 'in', 'readv': 'in', 'recvfrom': 'in', 'recvmsg': 'in'}
LINE = re.compile(r'^(\d+)\s+(?:<\.\.\. (\w+) resumed>|(\w+)\((\d+)<([^>]*)>).*?= (-?\d+)')
START = re.compile(r'^(\d+)\s+(\w+)\((\d+)<([^>]*)>.*<unfinished \.\.\.>$')
CLONE = re.compile(r'^(\d+)\s+(?:<\.\.\. )?clone3?[ (].*= (\d+)$')
CLONE_START = re.compile(r'^(\d+)\s+clone3?\(.*<unfinished \.\.\.>$')
INODE = re.compile(r'^(?:pipe|socket):\[(\d+)\]$')


def empty_dir():
    return {'calls': 0, 'bytes': 0, 'errors': 0, 'eagain': 0, 'max_call_bytes': 0,
            'hist': [0] * 40}


def strace_channels(path):
    """Channels as recdump would print them, built from strace -f -y output."""
    chans = {}
    pending = {}
    tgid = {}  # strace -f names threads by tid; records are per process
    thread_clones = set()
    with open(path) as f:
        for line in f:
            line = line.rstrip('\n')
            m = CLONE_START.match(line)
            if m:
                if 'CLONE_THREAD' in line:
                    thread_clones.add(m.group(1))
                continue
            m = CLONE.match(line)
            if m and ('CLONE_THREAD' in line or
                      ('resumed>' in line and m.group(1) in thread_clones)):
                thread_clones.discard(m.group(1))
                tgid[m.group(2)] = tgid.get(m.group(1), m.group(1))
            m = START.match(line)
            if m:
                pending[(m.group(1), m.group(2))] = (m.group(3), m.group(4))
                continue
            m = LINE.match(line)
            if not m:
                continue
            pid, resumed, call, fd, target, ret = m.groups()
            if resumed:
                call = resumed
                if (pid, call) not in pending:
                    continue
                fd, target = pending.pop((pid, call))
            if call not in TRACED:
                continue
            ino = INODE.match(target)
            if not ino:
                continue
            key = (int(tgid.get(pid, pid)), int(ino.group(1)))
            ch = chans.setdefault(key, {'pid': key[0], 'seq': 0, 'index': len(chans),
                                        'ino': key[1], 'dev': None,
                                        'kind_name': target.split(':')[0],
                                        'out': empty_dir(), 'in': empty_dir()})
            d = ch[TRACED[call]]
            n = int(ret)
            d['calls'] += 1
            if n < 0:
                d['errors'] += 1
            else:
                d['bytes'] += n
                d['max_call_bytes'] = max(d['max_call_bytes'], n)
                d['hist'][min(n.bit_length(), 39)] += 1
    return list(chans.values())


def chans_of(recs_chans, side):
    return [c for c in recs_chans if c['pid'] in side['pids'] and c['ino'] == side['ino']
            and (c['dev'] is None or c['dev'] == side['dev'])]


def check_expect(ck, recs, exp, strace):
    label = exp['label']
    out, into = exp['out'], exp['in']
    if out:
        found = chans_of(recs.channels, out)
        ck.true(f'{label}: channel in the records of the writers {out["pids"]}', bool(found))
        ck.eq(f'{label}: bytes written', it.total(found, 'out', 'bytes'), out['bytes'])
        ck.eq(f'{label}: write calls', it.total(found, 'out', 'calls'), out['calls'])
        hist = [0] * 40
        for c in found:
            for i, v in enumerate(c['out']['hist']):
                hist[i] += v
        ck.eq(f'{label}: write size histogram', {str(i): v for i, v in enumerate(hist) if v},
              out['hist'])
        big = {int(k): v for k, v in out['big'].items()}
        if big:
            ck.eq(f'{label}: largest write', it.total(found, 'out', 'max_call_bytes'), max(big))
        if not strace and found:
            check_fingerprints(ck, recs, label, found, big)
        if not strace:
            for c in found:
                ck.eq(f'{label}: kind in {c["pid"]}', c['kind_name'], exp['kind'])
    if into:
        found = chans_of(recs.channels, into)
        ck.true(f'{label}: channel in the records of the readers {into["pids"]}', bool(found))
        ck.eq(f'{label}: bytes read', it.total(found, 'in', 'bytes'), into['bytes'])
        ck.true(f'{label}: at least {into["min_calls"]} read calls',
                it.total(found, 'in', 'calls') >= into['min_calls'],
                f'got {it.total(found, "in", "calls")}')


def check_fingerprints(ck, recs, label, found, big):
    """A payload sent k times as one large write leaves one fingerprint counted k times."""
    for pid in {c['pid'] for c in found}:
        proc = recs.proc(pid)
        fmin = proc['fingerprint_min_bytes'] if proc else 0
        idx = {c['index'] for c in found if c['pid'] == pid}
        for size, (times, distinct) in big.items():
            if not fmin or size < fmin:
                continue
            fps = [f for f in recs.fingerprints
                   if f['pid'] == pid and f['size'] == size and f['channel'] in idx]
            if not fps:
                continue
            ck.eq(f'{label}: fingerprint count of the {size}-byte payload in {pid}',
                  sum(f['count'] for f in fps), times)
            # Sampled: payloads that differ only where no sample falls share a fingerprint.
            ck.true(f'{label}: distinct fingerprints of the {size}-byte payload in {pid}',
                    1 <= len({f['hash'] for f in fps}) <= distinct,
                    f'{len({f["hash"] for f in fps})} fingerprints, {distinct} distinct payloads')
    for size, (times, _) in big.items():
        pids = {c['pid'] for c in found}
        idx = {(c['pid'], c['index']) for c in found}
        fmins = {recs.proc(p)['fingerprint_min_bytes'] for p in pids if recs.proc(p)}
        if any(f and size >= f for f in fmins):
            ck.true(f'{label}: a fingerprint of the {size}-byte payload',
                    any(f['size'] == size and (f['pid'], f['channel']) in idx
                        for f in recs.fingerprints))


def check_pair(ck, recs, pair):
    (pa, ia), (pb, ib) = pair['a'], pair['b']
    a = [c for c in recs.chans(pa) if c['ino'] == ia]
    b = [c for c in recs.chans(pb) if c['ino'] == ib]
    if ck.true(f'{pair["label"]}: both ends in the records', bool(a) and bool(b)):
        ck.eq(f'{pair["label"]}: peer_ino of {pa} is the ino of {pb}', a[0]['peer_ino'], ib)
        ck.eq(f'{pair["label"]}: peer_ino of {pb} is the ino of {pa}', b[0]['peer_ino'], ia)
        ck.true(f'{pair["label"]}: socketpair flag', all(c['flags'] & it.CH_FLAGS['socketpair']
                                                         for c in a + b))


def check_map(ck, recs, exp):
    where = f'mapping {exp["name"]} in {exp["pid"]}'
    mine = [m for m in recs.mappings if m['pid'] == exp['pid']]
    maps = [m for m in mine if m['kind'] == it.MAP_KIND[exp['kind']] and m['ino'] == exp['ino']]
    if ck.true(f'{where}: in the record', bool(maps),
               f'record has {[(m["kind"], m["name"], m["length"]) for m in mine]}'):
        ck.true(f'{where}: name', any(m['name'] == exp['name'] for m in maps),
                f'got {[m["name"] for m in maps]}')
        ck.true(f'{where}: length {exp["length"]}', any(m['length'] == exp['length'] for m in maps),
                f'got {[m["length"] for m in maps]}')
        ck.true(f'{where}: object_size {exp["length"]}',
                any(m['object_size'] == exp['length'] for m in maps))
        if exp['creator']:
            ck.true(f'{where}: creator flag', any(m['flags'] & it.MAP_CREATOR for m in maps))


def check_end(ck, recs, exp, strace):
    pid = exp['pid']
    found = [c for c in recs.chans(pid) if c['ino'] == exp['ino']]
    ck.eq(f'worker {pid}: bytes of the one task it read before it ended',
          it.total(found, 'in', 'bytes'), exp['in_bytes'])
    if strace:
        return
    p = recs.proc(pid)
    if ck.true(f'worker {pid} (ended by signal {exp["signal"]}): has a record', p is not None):
        # Its parent (the pool's process, or the forkserver) waits for it: the end is known.
        ck.eq(f'worker {pid}: end_how', p['end_how'], it.END_SIGNAL)
        ck.eq(f'worker {pid}: term_signal', p['term_signal'], exp['signal'])
        check_worker_origin(ck, recs, pid, p, exp)


def check_worker_origin(ck, recs, pid, p, exp):
    """fork: forked by the root; spawn: spawned by the root; forkserver: forked by the
    forkserver, which the root spawned."""
    root = exp['root']
    if exp['method'] == 'fork':
        ck.eq(f'worker {pid}: origin', p['origin'], it.ORIGIN_FORK)
        ck.eq(f'worker {pid}: parent_pid', p['parent_pid'], root)
    elif exp['method'] == 'spawn':
        ck.eq(f'worker {pid}: origin', p['origin'], it.ORIGIN_SPAWN)
        ck.eq(f'worker {pid}: parent_pid', p['parent_pid'], root)
    else:
        ck.eq(f'worker {pid}: origin', p['origin'], it.ORIGIN_FORK)
        server = recs.proc(p['parent_pid'])
        if ck.true(f'worker {pid}: its forkserver {p["parent_pid"]} has a record',
                   server is not None):
            ck.eq(f'forkserver {p["parent_pid"]}: origin', server['origin'], it.ORIGIN_SPAWN)
            ck.eq(f'forkserver {p["parent_pid"]}: parent_pid', server['parent_pid'], root)


def main():
    argv = sys.argv[1:]
    strace = '--strace' in argv
    if strace:
        argv.remove('--strace')
    opts, cmd = it.parse_args(argv)
    ck = it.Checker('check_py ' + ' '.join(cmd[-2:]))
    if strace and not shutil.which('strace'):
        print('SKIP: strace is not installed')
        sys.exit(77)
    if strace:
        probe = subprocess.run(['strace', '-f', '-o', os.devnull, '/bin/true'],
                               capture_output=True, text=True, timeout=60)
        if probe.returncode != 0:
            print('SKIP: strace cannot trace here: ' + probe.stderr.strip())
            sys.exit(77)
    if not strace:
        it.need_preload(opts)
    s = it.Session(opts)
    marks = os.path.join(s.root, 'marks')
    os.mkdir(marks)
    cmd = [os.path.abspath(c) if c.endswith('.py') else c for c in cmd]
    extra = {'IPCTEST_MARKS': marks}
    if strace:
        trace = os.path.join(s.root, 'strace.txt')
        cmd = ['strace', '-f', '-y', '-qq', '-e', 'signal=none', '-e',
               'trace=clone,clone3,' + ','.join(TRACED), '-o', trace] + cmd
    if not strace:
        # The scenario's own output must not depend on the preload.
        os.mkdir(marks + '.plain')
        rc0, out0, err0 = s.run(cmd, preload=False, extra_env={'IPCTEST_MARKS': marks + '.plain'},
                                timeout=120, tag='plain')
        ck.eq('exit status without the preload', rc0, 0)
        os.unlink(s.report)
    rc, out, err = s.run(cmd, preload=not strace, extra_env=extra, timeout=120)
    ck.eq('exit status', rc, 0)
    if not strace:
        ck.eq('stdout identical with and without the preload', out, out0)
        ck.eq('stderr identical with and without the preload', err, err0)
    lines = s.report_lines()
    exps = [line for line in lines if line['type'] != 'root']
    ck.true('the scenario said what to expect', bool(exps))
    try:
        if strace:
            recs = it.Records([])
            recs.channels = strace_channels(trace)
        else:
            recs = s.records()
    except (it.Failure, OSError) as e:
        ck.true(str(e), False)
        s.close(False)
        ck.finish()
    root = [line['pid'] for line in lines if line['type'] == 'root']
    if not strace and root:
        p = recs.proc(root[0])
        if ck.true('the root process has a record', p is not None):
            ck.eq('root: origin', p['origin'], it.ORIGIN_ROOT)
            ck.eq('root: end_how', p['end_how'], it.END_EXIT)
            ck.eq('root: exit_status', p['exit_status'], 0)
    for exp in exps:
        if exp['type'] == 'expect':
            check_expect(ck, recs, exp, strace)
        elif exp['type'] == 'pair' and not strace:
            check_pair(ck, recs, exp)
        elif exp['type'] == 'expect_map' and not strace:
            check_map(ck, recs, exp)
        elif exp['type'] == 'nocopy':
            big = [c for c in recs.channels
                   if max(c['out']['max_call_bytes'], c['in']['max_call_bytes']) >= exp['min_bytes']]
            ck.true(f'no call moved {exp["min_bytes"]} bytes or more (shared, not copied)', not big,
                    str([(c['pid'], c['kind_name'], c['ino']) for c in big]))
        elif exp['type'] == 'expect_repeat' and not strace:
            idx = {c['index'] for c in recs.chans(exp['pid']) if c['ino'] == exp['ino']}
            fps = [f for f in recs.fingerprints if f['pid'] == exp['pid'] and f['channel'] in idx
                   and f['size'] == exp['size']]
            ck.eq(f'one fingerprint of the {exp["size"]}-byte payload, '
                  f'counted {exp["count"]} times',
                  [f['count'] for f in fps], [exp['count']])
        elif exp['type'] == 'expect_end':
            check_end(ck, recs, exp, strace)
    s.close(not ck.failures)
    ck.finish()


if __name__ == '__main__':
    main()
