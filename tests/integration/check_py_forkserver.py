"""A forkserver Pool's unix connections in the report: every one paired, bytes exact against strace.

Usage: check_py_forkserver.py IPCPROF PYTHON
The main process connects to the forkserver once per worker, sends one byte with the worker's fds
(SCM_RIGHTS) and closes, mostly before the forkserver accepts: the kernel then names neither end's
peer, and the report must still pair the two ends. strace, without the profiler, says how many
connections there are and what they carried (exit 77 if strace is missing).
"""
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile

sys.dont_write_bytecode = True  # nothing written into the source tree
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), '..', 'common'))
from captured import run_to_files  # noqa: E402

PROGRAM = r"""
import multiprocessing as mp

def square(x):
    return x * x

if __name__ == '__main__':
    mp.set_start_method('forkserver')
    with mp.Pool(2) as pool:
        assert pool.map(square, range(10)) == [x * x for x in range(10)]
"""
OUT = {'write', 'send', 'sendto', 'sendmsg', 'writev'}
IN = {'read', 'recv', 'recvfrom', 'recvmsg', 'readv'}
# strace -ff: one file per process, so no call is split into "unfinished" and "resumed".
CALL = re.compile(r'^(\w+)\(\d+<UNIX-STREAM:.*= (-?\d+)$')
CONNECT = re.compile(r'^connect\(\d+<UNIX-STREAM:.*sun_path="[^"]+".*\) = 0$')

failures = []


def check(ok, what):
    print(('ok   ' if ok else 'FAIL ') + what)
    if not ok:
        failures.append(what)


def strace_truth(python, tmp, script):
    """(connections made to the forkserver, bytes sent and received on unix stream sockets)."""
    log = os.path.join(tmp, 'strace')
    p = run_to_files(['strace', '-f', '-ff', '-qq', '-yy', '-o', log, '-e',
                      'trace=connect,' + ','.join(sorted(OUT | IN)), python, script])
    if p.returncode != 0:
        sys.exit(f'the program failed under strace: {p.stderr!r}')
    connects, sent, received = 0, 0, 0
    for name in os.listdir(tmp):
        if not name.startswith('strace.'):
            continue
        with open(os.path.join(tmp, name)) as f:
            for line in f:
                line = line.rstrip('\n')
                if CONNECT.match(line):
                    connects += 1
                    continue
                m = CALL.match(line)
                if not m or int(m.group(2)) <= 0:
                    continue
                if m.group(1) in OUT:
                    sent += int(m.group(2))
                elif m.group(1) in IN:
                    received += int(m.group(2))
    return connects, sent, received


def main():
    ipcprof, python = sys.argv[1:3]
    if not shutil.which('strace'):
        print('strace is missing')
        sys.exit(77)
    with tempfile.TemporaryDirectory() as tmp:
        script = os.path.join(tmp, 'pool.py')
        with open(script, 'w') as f:
            f.write(PROGRAM)
        connects, sent, received = strace_truth(python, tmp, script)
        check(connects == 2, f'strace: one connection to the forkserver per worker ({connects})')
        check(sent == received == connects,
              f'strace: one byte each way per connection (sent {sent}, received {received})')
        session = os.path.join(tmp, 's')
        p = run_to_files([ipcprof, 'record', '-q', '--no-probes', '-o', session, '--',
                          python, script],
                         text=True)
        check(p.returncode == 0, f'ipcprof record: exit status {p.returncode} {p.stderr}')
        with open(os.path.join(session, 'ipcprof-report.json')) as f:
            rep = json.load(f)
        unix = [c for c in rep['channels'] if c['kind'] == 'unix_stream']
        check(len(unix) == connects,
              f'report: {len(unix)} unix_stream channels, strace saw {connects} connections')
        for c in unix:
            check(c['paired'] and len({e['process'] for e in c['endpoints']}) == 2,
                  f'report: {c["label"]} (#{c["index"]}) paired between two processes')
            check(c['bytes_sent'] == c['bytes_received'] == 1,
                  f'report: #{c["index"]} sent {c["bytes_sent"]}, received '
                  f'{c["bytes_received"]}: 1 each')
        check(sum(c['bytes_sent'] for c in unix) == sent,
              f'report: unix bytes sent = strace\'s {sent}')
        check(sum(c['bytes_received'] for c in unix) == received,
              f'report: unix bytes received = strace\'s {received}')
    print(f'{len(failures)} failed')
    sys.exit(1 if failures else 0)


if __name__ == '__main__':
    main()
