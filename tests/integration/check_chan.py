"""Runs a channel test program under libipcprof.so; checks the records against what it says it moved.

Usage: check_chan.py --preload LIB --recdump RECDUMP [--compare] [--env K=V] [--ipcprof IPCPROF]
                     [--keep] PROGRAM [dir]
A literal argument "dir" is replaced by a scratch folder. --compare also runs the program without
the preload (stdout a file, then a pipe) and wants the same output and open fds; --env sets a
variable for the profiled run; --ipcprof also runs `ipcprof report` on the session and wants each
channel that several processes used to be one channel of the report; --keep keeps the session
folder. With IPCTEST_NO_PRELOAD=1 only the program's own report is checked (that both ends of each
channel agree), which tests the test.
IPCTEST_VERBOSE=1 prints every check that passed.
"""
import json
import os
import subprocess
import sys

sys.dont_write_bytecode = True  # nothing written into the source tree
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import ipctest as it  # noqa: E402

KIND_NAME = {v: k for k, v in it.KIND_CODE.items()}


def key_match(rep, ch):
    kind = rep['kind']
    if kind == 'plugin':
        return ch['kind'] == it.KIND_CODE['plugin'] and ch['ino'] == rep['ino']
    if kind in ('pipe', 'fifo', 'shm_fd', 'semaphore'):
        return ch['dev'] == rep['dev'] and ch['ino'] == rep['ino']
    if kind.startswith('unix_'):
        return ch['ino'] == rep['ino']
    if kind in ('tcp', 'udp'):
        return (ch['local_port'] == rep['local_port'] and ch['peer_port'] == rep['peer_port']
                and ch['local_addr'] == rep['local_addr'] and ch['peer_addr'] == rep['peer_addr'])
    raise it.Failure('unknown kind ' + kind)


def check_self(ck, chans):
    """The program's own report: what its processes wrote into a channel, they read from it."""
    by_label = {}
    for r in chans:
        by_label.setdefault(r['label'], []).append(r)
    for label, ends in by_label.items():
        # An eventfd adds up what is written: its bytes are not conserved.
        if len({(e['pid'], e.get('seq', 0)) for e in ends}) < 2 or ends[0]['kind'] == 'plugin':
            continue
        ck.eq(f'{label}: program: bytes written = bytes read, over {len(ends)} ends',
              sum(e['in']['bytes'] for e in ends), sum(e['out']['bytes'] for e in ends))
    return by_label


ORIGINS = {'root': it.ORIGIN_ROOT, 'fork': it.ORIGIN_FORK, 'exec': it.ORIGIN_EXEC,
           'spawn': it.ORIGIN_SPAWN}
ENDS = {'exit': it.END_EXIT, 'exec': it.END_EXEC}


def check_procs(ck, recs, images, root, said):
    """images: the (pid, seq) that reported; said: their own 'proc' lines, if they wrote any.
    Without one, the root is the first process and every other one a fork of it."""
    for pid, seq in sorted(images):
        p = recs.proc(pid, seq)
        where = f'{pid}.{seq}'
        if not ck.true(f'record {where}.ipcrec exists', p is not None):
            continue
        line = said.get((pid, seq))
        if line is None:
            line = {'origin': 'root' if pid == root else 'fork', 'end': 'exit',
                    'parent': 0 if pid == root else root}
        ck.eq(f'{where}: origin', p['origin'], ORIGINS[line['origin']])
        how, _, num = line['end'].partition(':')
        if how == 'signal':
            ck.eq(f'{where}: end_how (killed, and waited for)', p['end_how'], it.END_SIGNAL)
            ck.eq(f'{where}: term_signal', p['term_signal'], int(num))
        else:
            ck.eq(f'{where}: end_how', p['end_how'], ENDS[how])
        if how == 'exit':
            ck.eq(f'{where}: exit_status', p['exit_status'], int(num or 0))
        if line['parent'] >= 0:
            ck.eq(f'{where}: parent_pid', p['parent_pid'], line['parent'])
        if line['origin'] in ('fork', 'spawn'):
            ck.eq(f'{where}: ppid', p['ppid'], line['parent'])
        ck.eq(f'{where}: seq field', p['seq'], seq)
        ck.eq(f'{where}: pid field', p['pid'], pid)
        ck.eq(f'{where}: dropped', p['dropped'], {k: 0 for k in p['dropped']})


def check_others(ck, recs, images, others, matched):
    """Programs we did not write (a shell, dd) wrote into a channel: their records, together,
    show the bytes; each of their images ended well."""
    rest = [p for p in recs.procs if (p['pid'], p['seq']) not in images]
    ck.true('records of the programs it ran', bool(rest))
    for p in rest:
        where = f'{p["pid"]}.{p["seq"]} ({p["exe"]})'
        ck.true(f'{where}: ended by exit 0 or exec',
                (p['end_how'], p['exit_status']) in ((it.END_EXIT, 0), (it.END_EXEC, 0)) or
                p['end_how'] == it.END_EXEC, f'end_how {p["end_how"]} status {p["exit_status"]}')
        ck.true(f'{where}: origin spawn, fork or exec',
                p['origin'] in (it.ORIGIN_SPAWN, it.ORIGIN_FORK, it.ORIGIN_EXEC))
    pids = {(p['pid'], p['seq']) for p in rest}
    for o in others:
        chans = [c for c in recs.channels if (c['pid'], c['seq']) in pids
                 and (c['dev'], c['ino']) == (o['dev'], o['ino'])]
        for c in chans:
            matched.add((c['pid'], c['seq'], c['index']))
        ck.eq(f'{o["label"]}: bytes the other programs wrote', it.total(chans, 'out', 'bytes'),
              o['bytes'])
        ck.eq(f'{o["label"]}: and read', it.total(chans, 'in', 'bytes'), 0)


def check_channel(ck, recs, rep, matched):
    where = f'{rep["label"]} in {rep["pid"]}.{rep.get("seq", 0)}'
    found = [c for c in recs.chans(rep['pid'], rep.get('seq', 0)) if key_match(rep, c)]
    if not ck.true(f'{where}: channel in the record', bool(found),
                   f'kind {rep["kind"]} ino {rep["ino"]} '
                   f'ports {rep["local_port"]}/{rep["peer_port"]}'):
        return []
    for c in found:
        matched.add((c['pid'], c['seq'], c['index']))
        ck.eq(f'{where}: kind', KIND_NAME.get(c['kind']), rep['kind'])
        for flag in filter(None, rep['flags'].split(',')):
            ck.true(f'{where}: flag {flag} set', c['flags'] & it.CH_FLAGS[flag],
                    f'flags {c["flags"]:#x}')
        if rep['name']:
            ck.eq(f'{where}: name', c['name'], rep['name'])
    # fds passed with SCM_RIGHTS: the direction as flags, the number as one count an end.
    if 'fds_out' in rep:
        for flag, n in (('fds_sent', rep['fds_out']), ('fds_received', rep['fds_in'])):
            ck.eq(f'{where}: flag {flag}', any(c['flags'] & it.CH_FLAGS[flag] for c in found),
                  n > 0)
        ck.eq(f'{where}: fds passed', sum(c['fds_passed'] for c in found),
              rep['fds_out'] + rep['fds_in'])
    for d in it.DIRS:
        for field, rfield in (('calls', 'calls'), ('bytes', 'bytes'), ('errors', 'errors'),
                              ('eagain', 'eagain'), ('max_call_bytes', 'max')):
            ck.eq(f'{where}: {d} {field}', it.total(found, d, field), rep[d][rfield])
        # Failed calls are counted in calls and errors, not in the size histogram.
        hist = [0] * 40
        for c in found:
            for i, v in enumerate(c[d]['hist']):
                hist[i] += v
        ck.eq(f'{where}: {d} size histogram', {str(i): v for i, v in enumerate(hist) if v},
              rep[d]['hist'])
        if rep[d]['min_ns']:
            ck.true(f'{where}: {d} time_ns covers a known wait of {rep[d]["min_ns"]} ns',
                    it.total(found, d, 'time_ns') >= rep[d]['min_ns'],
                    f'got {it.total(found, d, "time_ns")}')
    return found


def same_connection(a, b):
    """One end made by connect(), the other by accept() of that client's connection, to one
    listener (as far as the records can tell: the report pairs the k-th of each in order)."""
    flags = it.CH_FLAGS
    c, s = (a, b) if a['flags'] & flags['connected'] else (b, a)
    return (c['flags'] & flags['connected'] and s['flags'] & flags['accepted']
            and c['name'] == s['name'] and c['name'] != ''
            and c['conn_pid'] == s['conn_pid'] == c['pid']
            and c['listen_pid'] == s['listen_pid'] != 0
            and c['conn_ns'] <= s['conn_ns'])


def check_pairs(ck, by_label, found):
    for label, ends in by_label.items():
        if label.startswith('unpaired') or len({(e['pid'], e.get('seq', 0)) for e in ends}) < 2:
            continue
        chans = [found.get((e['pid'], e.get('seq', 0), label), []) for e in ends]
        if not all(chans) or ends[0]['kind'] == 'plugin':
            continue
        ck.eq(f'{label}: records: bytes written = bytes read, over {len(ends)} ends',
              sum(it.total(c, 'in', 'bytes') for c in chans),
              sum(it.total(c, 'out', 'bytes') for c in chans))
        if len(ends) != 2:
            continue
        kind = ends[0]['kind']
        ca, cb = chans[0][0], chans[1][0]
        if kind in ('pipe', 'fifo', 'semaphore'):
            ck.eq(f'{label}: both ends share dev/ino', (ca['dev'], ca['ino']),
                  (cb['dev'], cb['ino']))
        elif kind.startswith('unix_'):
            # One side knowing its peer pairs them. A client that writes before the server
            # accepts and reads after the server closed may never see its peer's inode, so a
            # side may say 0 (unknown); a side that names a peer must name the right one. When
            # neither does (the client closed before the accept), both ends must say who
            # connected to which listener: the report pairs them by that (--ipcprof checks it).
            ck.true(f'{label}: paired: a peer_ino names the other end, or both the connection',
                    ca['peer_ino'] == cb['ino'] or cb['peer_ino'] == ca['ino']
                    or same_connection(ca, cb),
                    f'{ca["pid"]}: ino {ca["ino"]} peer {ca["peer_ino"]}; '
                    f'{cb["pid"]}: ino {cb["ino"]} peer {cb["peer_ino"]}')
            for x, y in ((ca, cb), (cb, ca)):
                ck.true(f'{label}: peer_ino of {x["pid"]} is 0 or the ino of {y["pid"]}',
                        x['peer_ino'] in (0, y['ino']), f'{x["peer_ino"]} vs {y["ino"]}')
        elif kind in ('tcp', 'udp'):
            ck.eq(f'{label}: 4-tuples mirrored',
                  (ca['local_addr'], ca['local_port'], ca['peer_addr'], ca['peer_port']),
                  (cb['peer_addr'], cb['peer_port'], cb['local_addr'], cb['local_port']))


def check_report(ck, s, by_label):
    """ipcprof report over the session: the ends of each channel the program used in several
    processes are one channel of the report, between profiled processes."""
    out = os.path.join(s.root, 'report')
    os.mkdir(out)
    p = subprocess.run([s.opts['ipcprof'], 'report', '-q', '-o', out, s.rec],
                       capture_output=True, text=True, timeout=120)
    if not ck.eq('ipcprof report: exit status', p.returncode, 0):
        print(p.stderr)
        return
    with open(os.path.join(out, 'ipcprof-report.json')) as f:
        rep = json.load(f)
    procs = [(q['pid'], q.get('seq', 0)) for q in rep['processes']]
    for label, ends in by_label.items():
        want = {(e['pid'], e.get('seq', 0)) for e in ends}
        if len(want) < 2 or label.startswith('unpaired'):
            continue
        # The bytes too: several connections between the same processes to one listener
        # are told apart by what they carried.
        chans = [c for c in rep['channels'] if c['kind'] == ends[0]['kind']
                 and want == {procs[e['process']] for e in c['endpoints']}
                 and all(e['name'] == ends[0]['name'] for e in c['endpoints'])
                 and c['bytes_sent'] == sum(e['out']['bytes'] for e in ends)
                 and c['bytes_received'] == sum(e['in']['bytes'] for e in ends)]
        if not ck.eq(f'{label}: report: one channel holds the ends of {sorted(want)}',
                     len(chans), 1):
            continue
        c = chans[0]
        ck.eq(f'{label}: report: kind', c['kind'], ends[0]['kind'])
        ck.true(f'{label}: report: between profiled processes', c['paired'])
        ck.eq(f'{label}: report: calls', c['calls'],
              sum(e[d]['calls'] for e in ends for d in it.DIRS))
        ck.true(f'{label}: report: time covers the known waits',
                c['time_ns'] >= sum(e[d]['min_ns'] for e in ends for d in it.DIRS))


def check_timeline(ck, recs):
    """A process's timeline intervals add up to the bytes and calls of its channels (when none
    were dropped). Each interval should hold one channel and direction (record.h); the preload
    also merges neighbours across channels, so only the per-process totals are exact."""
    for p in recs.procs:
        if (not p['timeline_cap'] or p['dropped']['intervals']
                or p['intervals_used'] > p['timeline_cap']):
            continue
        key = (p['pid'], p['seq'])
        ivs = [iv for iv in recs.intervals if (iv['pid'], iv['seq']) == key]
        chans = recs.chans(*key)
        where = f'timeline of {key[0]}.{key[1]}'
        ck.eq(f'{where}: bytes of all intervals = bytes of all channels',
              sum(iv['bytes'] for iv in ivs),
              sum(c[d]['bytes'] for c in chans for d in it.DIRS))
        calls = sum(iv['calls'] for iv in ivs)
        ok_calls = sum(c[d]['calls'] - c[d]['errors'] for c in chans for d in it.DIRS)
        all_calls = sum(c[d]['calls'] for c in chans for d in it.DIRS)
        ck.true(f'{where}: calls of all intervals', ok_calls <= calls <= all_calls,
                f'{calls} in intervals; channels: {all_calls} calls, {all_calls - ok_calls} failed')
        for iv in ivs:
            if iv['reserved0']:
                continue
            c = [c for c in chans if c['index'] == iv['channel']]
            ck.true(f'{where}: interval names a channel in use', bool(c) and iv['dir'] in (0, 1),
                    str(iv))


def check_fingerprints(ck, recs, rep, found):
    """The largest write of a channel, if big enough, left a fingerprint of its size."""
    proc = recs.proc(rep['pid'], rep.get('seq', 0))
    size = rep['out']['max']
    fmin = proc['fingerprint_min_bytes'] if proc else 0
    if not found or not fmin or size < fmin:
        return
    idx = {c['index'] for c in found}
    fps = [f for f in recs.fingerprints if f['pid'] == rep['pid'] and f['seq'] == rep.get('seq', 0)
           and f['channel'] in idx and f['size'] == size]
    ck.true(f'{rep["label"]} in {rep["pid"]}: fingerprint of the {size}-byte write', bool(fps))


def check_mapping(ck, recs, rep):
    where = f'mapping {rep["label"]} in {rep["pid"]}'
    mine = [m for m in recs.mappings if m['pid'] == rep['pid']]
    maps = [m for m in mine if m['kind'] == it.MAP_KIND[rep['kind']] and m['length'] == rep['length']]
    if rep['kind'] != 'shared_anon':
        maps = [m for m in maps if m['ino'] == rep['ino']]
    if not ck.true(f'{where}: in the record (kind {rep["kind"]}, {rep["length"]} bytes)', bool(maps),
                   f'record has {[(m["kind"], m["name"], m["length"]) for m in mine]}'):
        return
    if rep['name']:
        ck.true(f'{where}: name {rep["name"]}', any(m['name'] == rep['name'] for m in maps),
                f'got {[m["name"] for m in maps]}')
    if rep['kind'] != 'shared_anon':
        ck.true(f'{where}: object_size {rep["length"]}',
                any(m['object_size'] == rep['length'] for m in maps),
                f'got {[m["object_size"] for m in maps]}')
    if rep.get('unmapped'):
        ck.true(f'{where}: unmapped flag and time', any(m['flags'] & it.MAP_UNMAPPED and m['unmap_ns']
                                                         for m in maps))
    if rep['creator'] and rep['kind'] == 'shared_anon':
        ck.true(f'{where}: not inherited', any(not m['flags'] & it.MAP_INHERITED for m in maps))
    elif rep['creator']:
        ck.true(f'{where}: creator flag', any(m['flags'] & it.MAP_CREATOR for m in maps))
    elif rep['kind'] != 'posix_shm':
        ck.true(f'{where}: inherited flag', any(m['flags'] & it.MAP_INHERITED for m in maps))


def main():
    opts, cmd = it.parse_args(sys.argv[1:])
    name = os.path.basename(cmd[0])
    ck = it.Checker(name)
    no_preload = os.environ.get('IPCTEST_NO_PRELOAD') == '1'
    if not no_preload:
        it.need_preload(opts)
    s = it.Session(opts)
    cmd = [os.path.abspath(cmd[0])] + [s.work if a == 'dir' else a for a in cmd[1:]]
    compare = opts.pop('compare', False)
    if compare:
        # The program's own output must not depend on the preload, whether stdout is a
        # regular file or a pipe (then its own output is IPC too).
        rc0, out0, err0 = s.run(cmd, preload=False, tag='plain')
        ck.eq('exit status without the preload', rc0, 0)
        fds0 = sorted((r['who'], r['fds']) for r in s.report_lines() if r['type'] == 'fds')
        if os.path.exists(s.report):
            os.unlink(s.report)
    rc, out, err = s.run(cmd, preload=not no_preload, extra_env=opts['env'])
    ck.eq('exit status', rc, 0)
    if compare:
        fds = sorted((r['who'], r['fds']) for r in s.report_lines() if r['type'] == 'fds')
        ck.eq('open fds of every process the same with and without the preload', fds, fds0)
        ck.true('stdout identical with and without the preload', out == out0,
                f'without:\n{out0.decode(errors="replace")}\nwith:\n{out.decode(errors="replace")}')
        ck.eq('stderr identical with and without the preload', err, err0)
        if not no_preload:
            p = it.Session(opts)
            rc3, out3, _ = p.run_piped(cmd, preload=False)
            rc2, out2, _ = p.run_piped(cmd)
            p.close(True)
            ck.eq('exit status with stdout a pipe', (rc3, rc2), (0, 0))
            ck.true('stdout identical with and without the preload, stdout a pipe', out2 == out3,
                    f'without:\n{out3.decode(errors="replace")}\n'
                    f'with:\n{out2.decode(errors="replace")}')
    lines = s.report_lines()
    chans = [r for r in lines if r['type'] == 'chan']
    maps = [r for r in lines if r['type'] == 'mapping']
    ck.true('the program reported its channels', bool(chans) or bool(maps))
    by_label = check_self(ck, chans)
    if not no_preload and rc == 0:
        try:
            recs = s.records(timeline=True)
        except it.Failure as e:
            ck.true(str(e), False)
            s.close(False)
            ck.finish()
        images = {(r['pid'], r.get('seq', 0)) for r in lines if 'pid' in r}
        matched, found = set(), {}
        said = {(r['pid'], r['seq']): r for r in lines if r['type'] == 'proc'}
        check_procs(ck, recs, images, s.pid, said)
        others = [r for r in lines if r['type'] == 'others_out']
        if others:
            check_others(ck, recs, images, others, matched)
        else:
            ck.eq('records: one per process image',
                  sorted((p['pid'], p['seq']) for p in recs.procs), sorted(images))
        for rep in chans:
            f = check_channel(ck, recs, rep, matched)
            found[(rep['pid'], rep.get('seq', 0), rep['label'])] = f
            check_fingerprints(ck, recs, rep, f)
        check_pairs(ck, by_label, found)
        if opts.get('ipcprof'):
            check_report(ck, s, by_label)
        check_timeline(ck, recs)
        for rep in maps:
            check_mapping(ck, recs, rep)
        extra = [c for c in recs.channels
                 if it.used(c) and (c['pid'], c['seq'], c['index']) not in matched]
        ck.true('no channel counted that the program did not use', not extra,
                '; '.join(f'{c["pid"]}: {c["kind_name"]} ino {c["ino"]} fd {c["first_fd"]} '
                          f'out {c["out"]["calls"]}/{c["out"]["bytes"]} '
                          f'in {c["in"]["calls"]}/{c["in"]["bytes"]}'
                          for c in extra))
    s.close(not ck.failures)
    ck.finish()


if __name__ == '__main__':
    main()
