"""Runs a program under the eBPF probes and checks kernel.ipckrn against what the program says it did.

Usage: check_probes.py --run PROBE_RUN --dump KRNDUMP [--preload LIB --recdump RECDUMP]
                       [--mode sched|syscalls] [--check NAME]... PROGRAM [ARGS...]
A literal argument "dir" is replaced by a scratch folder. Exits 77 (skip) when the probes cannot
be loaded here, with the reason printed.

Always checked, for every process that reported: the kernel's calls, bytes, errors and EAGAINs per
channel kind and direction equal the program's own counts exactly (summed over the process's
images and syscall families), and kinds it did not report are untouched. With --preload, the
program also runs under libipcprof.so and the records' calls and bytes per process, channel kind
and direction must equal the kernel's. --mode sched runs the probes without their syscall
tracepoints: the kernel then counts no call and no byte (checked: none), only the stretches off
CPU inside the calls. --check adds:
  flow      the slow consumer's producer waits inside write(); the copy producer's writes are on-CPU
            (sched mode: against the producer's own clock of its writes)
  shm       shared-memory page faults: one per page for the writer, no more than the pages for the
            reader, and not a byte through pipes or sockets (sched mode: no fault counted at all)
  threads   one thread entry per thread, which add up to the image's total
  tree      one image per process, root exec'd once, every image ended by exit with status 0
"""
import json
import os
import shutil
import subprocess
import sys
import tempfile

sys.dont_write_bytecode = True  # nothing written into the source tree
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), '..', 'integration'))
from ipctest import Checker  # noqa: E402  (the integration tests' collector of checks)

IPC_KINDS = ('pipe', 'fifo', 'unix_stream', 'unix_dgram', 'unix_seqpacket', 'tcp', 'udp')
DIRS = ('out', 'in')
FIELDS = ('calls', 'bytes', 'errors', 'eagain')
SKIP = 77


def parse(argv):
    opts = {'checks': []}
    rest = list(argv)
    while rest and rest[0].startswith('--'):
        a = rest.pop(0)
        if a == '--run':
            opts['run'] = rest.pop(0)
        elif a == '--dump':
            opts['dump'] = rest.pop(0)
        elif a == '--preload':
            opts['preload'] = rest.pop(0)
        elif a == '--recdump':
            opts['recdump'] = rest.pop(0)
        elif a == '--mode':
            opts['mode'] = rest.pop(0)
        elif a == '--check':
            opts['checks'].append(rest.pop(0))
        else:
            sys.exit(f'check_probes.py: unknown option {a}')
    if not rest or 'run' not in opts or 'dump' not in opts:
        sys.exit(__doc__)
    return opts, rest


def io_sum(stats, kind, d, field, family=None):
    return sum(c[field] for c in stats['io']
               if c['kind'] == kind and c['dir'] == d and (family is None or c['family'] == family))


def pid_images(krn, pid):
    return [im for im in krn['images'] if im['pid'] == pid]


def check_exact(ck, krn, chans):
    """Per process, kind and direction: the kernel's figures are the program's, exactly."""
    want = {}
    for r in chans:
        if r['kind'] not in IPC_KINDS:
            continue
        for d in DIRS:
            for f in FIELDS:
                key = (r['pid'], r['kind'], d, f)
                want[key] = want.get(key, 0) + r[d][f]
    pids = sorted({r['pid'] for r in chans})
    for pid in pids:
        ims = pid_images(krn, pid)
        if not ck.true(f'{pid}: the probes followed it', bool(ims)):
            continue
        for kind in IPC_KINDS:
            for d in DIRS:
                for f in FIELDS:
                    got = sum(io_sum(im['total'], kind, d, f) for im in ims)
                    ck.eq(f'{pid}: {kind} {d} {f}', got, want.get((pid, kind, d, f), 0))
    # Processes that reported nothing moved nothing over channels either.
    for im in krn['images']:
        if not pids or im['pid'] in pids:
            continue
        moved = sum(io_sum(im['total'], k, d, 'bytes') for k in IPC_KINDS for d in DIRS)
        ck.eq(f'{im["pid"]}.{im["seq"]} ({im["comm"]}, reported nothing): channel bytes', moved, 0)
    return pids


def oncpu(c):
    return c['time_ns'] - c['blocked_ns'] - c['runq_ns']


def check_flow_sched(ck, krn, lines):
    """Sched mode: the stretches off CPU inside the producer's writes, against its own clock of
    them (the on-CPU rest is the call's time less those)."""
    for r in (x for x in lines if x['type'] == 'flow' and x['role'] == 'producer'):
        ims = pid_images(krn, r['pid'])
        w = {k: sum(io_sum(im['total'], 'pipe', 'out', k) for im in ims)
             for k in ('time_ns', 'blocked_ns', 'runq_ns', 'blocks')}
        own = r['write_ns']
        off = w['blocked_ns'] + w['runq_ns']
        detail = (f'writes {own} ns by the producer\'s clock: off CPU {off} '
                  f'(blocked {w["blocked_ns"]} in {w["blocks"]} sleeps, runq {w["runq_ns"]})')
        print(f'{r["mode"]} producer (sched mode) {detail}')
        ck.eq('sched mode: the kernel timed no call itself', w['time_ns'], 0)
        # Switches are stamped inside the calls the clock readings enclose.
        ck.true('sched mode: no more time off CPU than inside the writes', off <= own, detail)
        if r['mode'] == 'slow':
            ck.true('sched mode, slow consumer: the producer mostly waits inside write()',
                    w['blocked_ns'] > 0.8 * own and w['blocks'] > 0, detail)
        else:
            ck.true('sched mode, copy: the producer is mostly on-CPU inside write()',
                    own - off > 4 * w['blocked_ns'], detail)


def check_flow(ck, krn, lines):
    if krn['mode'] == 'sched':
        return check_flow_sched(ck, krn, lines)
    for r in (x for x in lines if x['type'] == 'flow' and x['role'] == 'producer'):
        ims = pid_images(krn, r['pid'])
        w = {k: sum(io_sum(im['total'], 'pipe', 'out', k) for im in ims)
             for k in ('time_ns', 'blocked_ns', 'runq_ns', 'calls')}
        w['on'] = w['time_ns'] - w['blocked_ns'] - w['runq_ns']
        detail = (f'write: {w["calls"]} calls, {w["time_ns"]} ns: on-CPU {w["on"]}, '
                  f'blocked {w["blocked_ns"]}, runq {w["runq_ns"]}')
        print(f'{r["mode"]} producer {detail}')
        ck.true('producer: write time counted', w['time_ns'] > 0, detail)
        ck.true('producer: the parts add up', w['on'] >= 0, detail)
        if r['mode'] == 'slow':
            ck.true('slow consumer: the producer mostly waits inside write()',
                    w['blocked_ns'] > 0.8 * w['time_ns'], detail)
        else:
            ck.true('copy: the producer is mostly on-CPU inside write()',
                    w['on'] > 4 * w['blocked_ns'], detail)


def check_shm(ck, krn, lines):
    if krn['mode'] == 'sched':
        # Beside the preload the probes load no fault program: its records hold the pages.
        n = sum(f['faults'] for im in krn['images'] for f in im['total']['faults'].values())
        ck.eq('sched mode: no page fault counted', n, 0)
        return
    for r in (x for x in lines if x['type'] == 'shm'):
        ims = pid_images(krn, r['pid'])
        faults = sum(im['total']['faults']['shmem']['faults'] for im in ims)
        writes = sum(im['total']['faults']['shmem']['write_faults'] for im in ims)
        nbytes = sum(im['total']['faults']['shmem']['bytes'] for im in ims)
        pages = r['pages']
        print(f'{r["pid"]} {r["access"]}: {pages} pages, {faults} shmem faults '
              f'({writes} on writes, {nbytes} bytes)')
        ck.eq(f'{r["pid"]}: fault bytes are pages', nbytes, faults * krn['page_size'])
        if 'private_pages' in r:
            # Written where a shared mapping was before it went or moved: not shared memory.
            other = sum(im['total']['faults']['other']['faults'] for im in ims)
            ck.true(f'{r["pid"]}: private pages are other faults', other >= r['private_pages'],
                    f'{other} other faults for {r["private_pages"]} private pages')
        if r['access'] == 'write':
            # Every page is new: one write fault each, give or take the odd retried fault.
            ck.true(f'{r["pid"]}: writer faults about size/4096', pages <= faults <= pages + 8,
                    f'{faults} faults for {pages} pages')
            ck.true(f'{r["pid"]}: writer faults are writes', writes >= pages,
                    f'{writes} write faults')
        else:
            # Reads map neighbours already in memory too (fault-around): at most one per page.
            ck.true(f'{r["pid"]}: reader faults at most once per page', 1 <= faults <= pages + 8,
                    f'{faults} faults for {pages} pages')
    ck.eq('every fault looked up', krn['dropped']['fault_lookups'], 0)
    for im in krn['images']:
        moved = sum(io_sum(im['total'], k, d, 'bytes') for k in IPC_KINDS for d in DIRS)
        ck.eq(f'{im["pid"]}.{im["seq"]}: no payload through pipes or sockets', moved, 0)


def check_threads(ck, krn, lines):
    for r in (x for x in lines if x['type'] == 'threads'):
        ims = [im for im in pid_images(krn, r['pid']) if im['seq'] == 1]
        if not ck.true(f'{r["pid"]}: image seq 1 exists', len(ims) == 1):
            continue
        im = ims[0]
        ck.eq(f'{r["pid"]}: threads seen', im['threads'], r['count'])
        ck.eq(f'{r["pid"]}: thread entries', len(im['thread_entries']), r['count'])
        ck.eq(f'{r["pid"]}: distinct tids', len({t['tid'] for t in im['thread_entries']}),
              r['count'])
        for kind in IPC_KINDS:
            for d in DIRS:
                total = io_sum(im['total'], kind, d, 'bytes')
                parts = sum(io_sum(t['stats'], kind, d, 'bytes') for t in im['thread_entries'])
                ck.eq(f'{r["pid"]}: {kind} {d} bytes: threads add up to the total', parts, total)


def check_hackbench(ck, krn, cmd):
    """rt-tests' hackbench: each of its groups*fds*2 workers writes one byte to a ready fd, the
    controller one byte to a wakeup fd that the workers only poll (pipes with -p, unix socketpairs
    without), and each sender writes loops messages to each receiver of its group."""
    a = {'-g': 10, '-f': 20, '-l': 100, '-s': 100}
    it = iter(cmd[1:])
    for x in it:
        if x in a:
            a[x] = int(next(it))
    kind = 'pipe' if '-p' in cmd else 'unix_stream'
    payload = a['-g'] * a['-f'] * a['-f'] * a['-l'] * a['-s']
    workers = a['-g'] * a['-f'] * 2
    out, inn = io_sum_all(krn, kind, 'out'), io_sum_all(krn, kind, 'in')
    print(f'hackbench: payload {payload}, {workers} workers: kernel saw {out} out, {inn} in')
    ck.eq(f'hackbench: bytes written to {kind}', out, payload + workers + 1)
    ck.eq(f'hackbench: bytes read from {kind}', inn, payload + workers)
    other = [k for k in IPC_KINDS if k != kind]
    ck.eq('hackbench: no other channel', sum(io_sum_all(krn, k, d) for k in other for d in DIRS), 0)
    procs = {im['pid'] for im in krn['images']}
    ck.eq('hackbench: processes followed', len(procs), 1 if '-T' in cmd else 1 + workers)


def io_sum_all(krn, kind, d):
    return sum(io_sum(im['total'], kind, d, 'bytes') for im in krn['images'])


PRELOAD_KIND = {1: 'pipe', 2: 'fifo', 3: 'unix_stream', 4: 'unix_dgram', 5: 'unix_seqpacket',
                6: 'tcp', 7: 'udp'}


def check_preload(ck, krn, recdump, rec):
    """The preload's records and the kernel saw the same calls and bytes."""
    p = subprocess.run([recdump, rec], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    if not ck.eq('recdump exit status', p.returncode, 0):
        print(p.stderr)
        return
    lines = [json.loads(x) for x in p.stdout.splitlines() if x.strip()]
    chans = [x for x in lines if x['type'] == 'channel']
    ck.true('the preload left records', any(x['type'] == 'proc' for x in lines))
    pre = {}
    for c in chans:
        kind = PRELOAD_KIND.get(c['kind'])
        if kind:
            for d in DIRS:
                for f in ('calls', 'bytes'):
                    key = (c['pid'], kind, d, f)
                    pre[key] = pre.get(key, 0) + c[d][f]
    pids = sorted({im['pid'] for im in krn['images']} | {k[0] for k in pre})
    for pid in pids:
        ims = pid_images(krn, pid)
        for kind in IPC_KINDS:
            for d in DIRS:
                for f in ('calls', 'bytes'):
                    ck.eq(f'{pid}: {kind} {d} {f}: kernel = preload',
                          sum(io_sum(im['total'], kind, d, f) for im in ims),
                          pre.get((pid, kind, d, f), 0))
    moved = sum(v for k, v in pre.items() if k[3] == 'bytes')
    print(f'preload and kernel: {moved} channel bytes over {len(pids)} processes')


def check_tree(ck, krn, pids, root):
    for pid in pids:
        ims = pid_images(krn, pid)
        seqs = sorted(im['seq'] for im in ims)
        ck.eq(f'{pid}: images', seqs, [0, 1] if pid == root else [0])
        for im in ims:
            last = im['seq'] == max(seqs)
            ck.eq(f'{pid}.{im["seq"]}: end', im['end_how'], 1 if last else 2)
            if last:
                ck.eq(f'{pid}.{im["seq"]}: exit code', im['exit_code'], 0)
            ck.true(f'{pid}.{im["seq"]}: start before end', 0 < im['start_ns'] <= im['end_ns'])
            if pid != root:
                ck.eq(f'{pid}: parent', im['parent_pid'], root)


def main():
    opts, cmd = parse(sys.argv[1:])
    name = os.path.basename(cmd[0]) + ('-' + '-'.join(cmd[1:2]) if len(cmd) > 1 else '')
    ck = Checker(name)
    if not os.path.exists(cmd[0]) and shutil.which(cmd[0]):
        cmd[0] = shutil.which(cmd[0])
    if not os.path.exists(cmd[0]):
        print(f'SKIP: {cmd[0]} is not installed')
        sys.exit(SKIP)
    work = tempfile.mkdtemp(prefix='ipcprof-probes-')
    keep = False
    try:
        report = os.path.join(work, 'report.jsonl')
        cmd = [os.path.abspath(cmd[0])] + [work if a == 'dir' else a for a in cmd[1:]]
        env = dict(os.environ, IPCTEST_REPORT=report)
        # Regular files: what the program prints must not be channel traffic.
        out_path, err_path = os.path.join(work, 'stdout'), os.path.join(work, 'stderr')
        run = [opts['run']] + (['-m', opts['mode']] if opts.get('mode') else [])
        rec = os.path.join(work, 'rec')
        if opts.get('preload'):
            os.mkdir(rec, 0o700)
            run += ['-e', 'LD_PRELOAD=' + opts['preload'], '-e', 'IPCPROF_DIR=' + rec,
                    '-e', 'IPCPROF_REPORT=0']
        with open(out_path, 'wb') as out, open(err_path, 'wb') as err:
            p = subprocess.run(run + [work] + cmd, env=env, stdin=subprocess.DEVNULL,
                               stdout=out, stderr=err, timeout=240)
        with open(out_path, 'rb') as out, open(err_path, 'rb') as err:
            sys.stdout.write(out.read().decode(errors='replace'))
            sys.stdout.write(err.read().decode(errors='replace'))
        if p.returncode == SKIP:
            sys.exit(SKIP)
        if not ck.eq('probe_run exit status', p.returncode, 0):
            ck.finish()
        d = subprocess.run([opts['dump'], os.path.join(work, 'kernel.ipckrn')],
                           stdout=subprocess.PIPE, check=True)
        krn = json.loads(d.stdout)
        lines = []
        if os.path.exists(report):
            with open(report) as f:
                lines = [json.loads(x) for x in f if x.strip()]
        chans = [x for x in lines if x['type'] == 'chan']
        # A fault's mapping lookup can be refused when the mmap lock is busy: only the fault
        # figures suffer, which the shm check looks at.
        ck.eq('dropped', {k: v for k, v in krn['dropped'].items() if k != 'fault_lookups'},
              {k: 0 for k in krn['dropped'] if k != 'fault_lookups'})
        root = krn['root_pid']
        ck.eq('the probes\' mode', krn['mode'], opts.get('mode', 'syscalls'))
        if krn['mode'] == 'sched':
            # No syscall tracepoint: the programs' calls are not the kernel's to count.
            chans = [dict(r, out=dict.fromkeys(FIELDS, 0), **{'in': dict.fromkeys(FIELDS, 0)})
                     for r in chans]
        pids = check_exact(ck, krn, chans)
        for r in chans:
            if r['kind'] in IPC_KINDS:
                print(f'{r["pid"]} {r["label"]}: {r["kind"]} out {r["out"]["bytes"]} in {r["in"]["bytes"]}')
        checks = {'flow': lambda: check_flow(ck, krn, lines),
                  'hackbench': lambda: check_hackbench(ck, krn, cmd),
                  'shm': lambda: check_shm(ck, krn, lines),
                  'threads': lambda: check_threads(ck, krn, lines),
                  'tree': lambda: check_tree(ck, krn, sorted({x['pid'] for x in lines} | {root}),
                                             root)}
        for c in opts['checks']:
            checks[c]()
        if opts.get('preload'):
            check_preload(ck, krn, opts['recdump'], rec)
        keep = bool(ck.failures) and os.environ.get('IPCTEST_KEEP') == '1'
    finally:
        if keep:
            print(f'kept {work}')
        else:
            shutil.rmtree(work, ignore_errors=True)
    ck.finish()


if __name__ == '__main__':
    main()
