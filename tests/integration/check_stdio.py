"""Runs ch_stdio under libipcprof.so; checks each end's bytes in the records against what it says.

Usage: check_stdio.py --preload LIB --recdump RECDUMP [--keep] PROGRAM
With IPCTEST_NO_PRELOAD=1 the program's own figures are checked instead: each channel's bytes
written equal its bytes read, and, where strace runs, every end's figures equal what strace saw
the kernel move (which proves the expectations the preloaded run is held to).
"""
import os
import shutil
import subprocess
import sys

sys.dont_write_bytecode = True  # nothing written into the source tree
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import check_py  # noqa: E402
import ipctest as it  # noqa: E402


def check_lines(ck, lines):
    ck.true('the program reported its channel ends', len(lines) >= 6, f'{len(lines)} lines')
    by_label = {}
    for e in lines:
        by_label.setdefault(e['label'], []).append(e)
    for label, ends in sorted(by_label.items()):
        ck.eq(f'{label}: program: bytes written = bytes read, over {len(ends)} ends',
              sum(e['in'] for e in ends), sum(e['out'] for e in ends))


def check_against(ck, lines, chans, source):
    """chans: channels as recdump prints them (or strace_channels builds them)."""
    for e in lines:
        mine = [c for c in chans if c['pid'] == e['pid'] and c['ino'] == e['ino']]
        where = f'{e["label"]} in pid {e["pid"]}: {source}'
        for d in it.DIRS:
            ck.eq(f'{where}: {d} bytes', sum(c[d]['bytes'] for c in mine), e[d])


def strace_run(ck, s, prog):
    if not shutil.which('strace'):
        print('strace is not installed: the figures are checked against themselves only')
        return
    trace = os.path.join(s.root, 'strace.txt')
    cmd = ['strace', '-f', '-y', '-qq', '-e', 'signal=none', '-e',
           'trace=clone,clone3,' + ','.join(check_py.TRACED), '-o', trace, prog]
    rc, _, err = s.run(cmd, preload=False, tag='strace')
    if rc != 0 and b'ptrace' in err:
        print('strace cannot trace here: the figures are checked against themselves only')
        return
    ck.eq('exit status under strace', rc, 0)
    lines = [r for r in s.report_lines() if r['type'] == 'stdio']
    check_lines(ck, lines)
    check_against(ck, lines, check_py.strace_channels(trace), 'strace')


def main():
    opts, rest = it.parse_args(sys.argv[1:])
    prog = os.path.abspath(rest[0])
    ck = it.Checker(os.path.basename(prog))
    s = it.Session(opts)
    if os.environ.get('IPCTEST_NO_PRELOAD') == '1':
        rc, _, _ = s.run([prog], preload=False)
        ck.eq('exit status', rc, 0)
        check_lines(ck, [r for r in s.report_lines() if r['type'] == 'stdio'])
        os.unlink(s.report)
        strace_run(ck, s, prog)
    else:
        it.need_preload(opts)
        rc, _, _ = s.run([prog])
        ck.eq('exit status', rc, 0)
        lines = [r for r in s.report_lines() if r['type'] == 'stdio']
        check_lines(ck, lines)
        try:
            check_against(ck, lines, s.records().channels, 'record')
        except it.Failure as e:
            ck.true(str(e), False)
    s.close(not ck.failures)
    ck.finish()


if __name__ == '__main__':
    main()
