"""The CPU sampler on t_sample: where known CPU time lands, and that SIGPROF stays the program's.

Usage: check_sample.py --preload LIB --recdump RECDUMP T_SAMPLE
"""
import os
import signal
import subprocess
import sys

sys.dont_write_bytecode = True  # nothing written into the source tree
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import ipctest as it  # noqa: E402

BURN_MS = 300
HZ = 1000
PROF_OFF, PROF_ON, PROF_YIELDED = 0, 1, 3


def symbols(prog):
    """{name: (start, end)} of the program's functions, from nm."""
    out = subprocess.run(['nm', '-S', '--defined-only', prog], capture_output=True, text=True,
                         check=True).stdout
    syms = {}
    for line in out.splitlines():
        f = line.split()
        if len(f) == 4 and f[2] in 'tT':
            syms[f[3]] = (int(f[0], 16), int(f[0], 16) + int(f[1], 16))
    return syms


def in_fn(frame, prog, rng):
    return frame[0] == prog and rng[0] <= frame[1] < rng[1]


def samples(lines, pid, seq=0):
    return [r for r in lines if r['type'] == 'sample' and r['pid'] == pid and r['seq'] == seq]


def prof(lines, pid, seq=0):
    m = [r for r in lines if r['type'] == 'prof' and r['pid'] == pid and r['seq'] == seq]
    return m[0] if m else None


def check_ticks(ck, lines, pid, what):
    """Each stored sample has a tick saying when: per entry the ticks' weights add up to its
    weight exactly, each thread's ticks are its own, in time order, within the process's life."""
    ss = {x['entry']: x for x in samples(lines, pid)}
    ticks = [r for r in lines if r['type'] == 'tick' and r['pid'] == pid and r['seq'] == 0]
    per = {}
    for t in ticks:
        per[t['entry']] = per.get(t['entry'], 0) + t['weight']
    ck.eq(f'{what}: tick weights per stack entry equal its weight',
          per, {e: x['weight'] for e, x in ss.items()})
    ck.true(f'{what}: each tick on its entry\'s thread',
            all(t['entry'] in ss and ss[t['entry']]['tid'] == t['tid'] for t in ticks))
    proc = [r for r in lines if r['type'] == 'proc' and r['pid'] == pid and r['seq'] == 0][0]
    for tid in {t['tid'] for t in ticks}:
        ts = [t['t_ns'] for t in ticks if t['tid'] == tid]
        ck.true(f'{what}: thread {tid}\'s ticks in time order within the process\'s life',
                ts == sorted(ts) and proc['start_ns'] <= ts[0] and
                (not proc['end_ns'] or ts[-1] <= proc['end_ns']), f'{ts[:3]}...')


def run_mode(ck, opts, prog, args, env, check_stderr=True):
    """Runs the mode with and without the preload; same status and output. Returns the lines."""
    s = it.Session(opts)
    rc0, out0, err0 = s.run([prog] + args, preload=False, tag='plain')
    rc, out, err = s.run([prog] + args, extra_env=env)
    name = ' '.join(args)
    ck.eq(f'{name}: exit status with and without the preload', rc, rc0)
    ck.eq(f'{name}: stdout identical with and without the preload', out, out0)
    if check_stderr:
        ck.eq(f'{name}: stderr identical with and without the preload', err, err0)
    p = subprocess.run([opts['recdump'], s.rec], capture_output=True, text=True, timeout=120)
    ck.eq(f'{name}: recdump reads every record', (p.returncode, p.stderr), (0, ''))
    import json
    lines = [json.loads(x) for x in p.stdout.splitlines() if x.strip()]
    s.close(not ck.failures)
    return s.pid, rc, lines


def main():
    opts, cmd = it.parse_args(sys.argv[1:])
    it.need_preload(opts)
    ck = it.Checker('t_sample')
    prog = os.path.abspath(cmd[0])
    syms = symbols(prog)
    env = {'IPCPROF_SAMPLE_HZ': str(HZ)}

    # Known CPU in three places: each lands in its own function, on its own thread or process.
    pid, rc, lines = run_mode(ck, opts, prog, ['burn', str(BURN_MS)], env)
    pr = prof(lines, pid)
    if ck.true('burn: the main record has a sampler header', pr is not None):
        ck.eq('burn: sampling on', pr['state'], PROF_ON)
        ck.eq('burn: rate and period', (pr['hz'], pr['period_ns']), (HZ, 10**9 // HZ))
        ck.eq('burn: two threads had a timer', (pr['threads'], pr['timer_errors']), (2, 0))
        ck.eq('burn: nothing dropped', pr['dropped'], 0)
        cpu = pr['user_ns'] + pr['sys_ns']
        sampled = pr['weight'] * pr['period_ns']
        ck.true('burn: sampled CPU time within 15% of the process CPU time (rusage)',
                abs(sampled - cpu) <= 0.15 * cpu, f'{sampled} vs {cpu} ns')
        ck.true('burn: every expiration stored', sum(x['weight'] for x in samples(lines, pid))
                == pr['weight'], f'{pr["weight"]} expirations')
    procline = [r for r in lines if r['type'] == 'proc' and r['pid'] == pid]
    if procline and procline[0]['end_ns']:
        wall = procline[0]['end_ns'] - procline[0]['start_ns']
        for tid in {x['tid'] for x in samples(lines, pid)}:
            t = sum(x['weight'] * 10**9 // HZ + x['wait_ns'] for x in samples(lines, pid)
                    if x['tid'] == tid)
            ck.true(f'burn: thread {tid} CPU and CPU wait fit in the wall time', t <= 1.1 * wall,
                    f'{t} > {wall} ns')
    tids = {x['tid'] for x in samples(lines, pid)}
    ck.eq('burn: samples of two threads', len(tids), 2)
    check_ticks(ck, lines, pid, 'burn')
    for fn, want_tid in (('burn_main', pid), ('burn_thread', None)):
        hit = [x for x in samples(lines, pid) if any(in_fn(f, prog, syms[fn]) for f in x['frames'])]
        ns = sum(x['weight'] for x in hit) * 10**9 // HZ
        ck.true(f'burn: {fn} sampled for {BURN_MS} ms +- 25%',
                0.75 * BURN_MS * 1e6 <= ns <= 1.25 * BURN_MS * 1e6, f'{ns / 1e6:.1f} ms')
        hit_tids = {x['tid'] for x in hit}
        ck.eq(f'burn: {fn} on one thread', len(hit_tids), 1)
        if want_tid:
            ck.eq(f'burn: {fn} on the main thread', hit_tids, {want_tid})
        else:
            ck.true(f'burn: {fn} not on the main thread', pid not in hit_tids)
        ck.true(f'burn: {fn} stacks reach main',
                all(any(in_fn(f, prog, syms['main']) or in_fn(f, prog, syms['thread_main'])
                        for f in x['frames']) for x in hit if x['weight'] > 2))
    children = [r for r in lines if r['type'] == 'prof' and r['pid'] != pid]
    if ck.eq('burn: one fork child record', len(children), 1):
        c = children[0]['pid']
        ck.eq('burn: the child samples its own thread', prof(lines, c)['threads'], 1)
        hit = [x for x in samples(lines, c)
               if any(in_fn(f, prog, syms['burn_child']) for f in x['frames'])]
        ns = sum(x['weight'] for x in hit) * 10**9 // HZ
        ck.true(f'burn: burn_child sampled for {BURN_MS} ms +- 25% in the child',
                0.75 * BURN_MS * 1e6 <= ns <= 1.25 * BURN_MS * 1e6, f'{ns / 1e6:.1f} ms')
        ck.eq('burn: samples in the child are the child\'s', {x['tid'] for x in hit}, {c})
        check_ticks(ck, lines, c, 'burn child')

    # Off: no area, no samples.
    pid, rc, lines = run_mode(ck, opts, prog, ['burn', '50'], {'IPCPROF_SAMPLE_HZ': '0'})
    pr = prof(lines, pid)
    if pr:
        ck.eq('off: state, area and samples', (pr['state'], pr['area_cap'], pr['samples']),
              (PROF_OFF, 0, 0))

    # The program's own SIGPROF: it gets every signal, the sampler steps aside, silently.
    pid, rc, lines = run_mode(ck, opts, prog, ['own'], env)
    pr = prof(lines, pid)
    if pr:
        ck.eq('own: the sampler stepped aside', pr['state'], PROF_YIELDED)
    pid, rc, lines = run_mode(ck, opts, prog, ['sysv'], env)
    pr = prof(lines, pid)
    if pr:
        ck.eq('sysv: the sampler stepped aside', pr['state'], PROF_YIELDED)
    pid, rc, lines = run_mode(ck, opts, prog, ['query'], env)
    pid, rc, lines = run_mode(ck, opts, prog, ['foreign'], env)
    ck.eq('foreign: a SIGPROF not of ipcprof ends the program as by default', rc, -signal.SIGPROF)
    # exec right after CPU work: a signal pending at exec would kill the next image.
    pid, rc, lines = run_mode(ck, opts, prog, ['exec', '30', '/bin/true'], env)
    ck.eq('exec: every image ended well', rc, 0)
    ck.finish()


if __name__ == '__main__':
    main()
