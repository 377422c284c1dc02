"""What a program that Python runs writes through stdio into its pipe: counted at both ends, paired.

Usage: check_py_subprocess.py IPCPROF PYTHON
platform.processor() runs `uname -p` (vfork and exec in _posixsubprocess) and reads its output
from a pipe; uname writes it with stdio, inside the C library. Dask's workers and its main
process each call it (distributed's system information), which left three reads of 8 bytes
("unknown\\n") with no write in the report while stdio was not counted. The program runs under
`ipcprof record`; the pipe from uname must carry exactly what uname prints unprofiled, as counted
at both ends, and every pipe of the run must have been written as much as it was read.
"""
import json
import os
import subprocess
import sys
import tempfile

sys.dont_write_bytecode = True  # nothing written into the source tree
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), '..', 'common'))
from captured import run_to_files  # noqa: E402

PROGRAM = r"""
import platform
import sys
with open(sys.argv[1], 'w') as f:
    f.write(platform.processor())
"""

failures = []


def check(ok, what):
    print(('ok   ' if ok else 'FAIL ') + what)
    if not ok:
        failures.append(what)


def main():
    ipcprof, python = sys.argv[1:3]
    want = len(subprocess.run(['uname', '-p'], capture_output=True, check=True).stdout)
    with tempfile.TemporaryDirectory() as tmp:
        answer = os.path.join(tmp, 'processor')
        session = os.path.join(tmp, 's')
        p = run_to_files([ipcprof, 'record', '-q', '--no-probes', '-o', session, '--',
                          python, '-c', PROGRAM, answer], text=True)
        check(p.returncode == 0, f'ipcprof record: exit status {p.returncode} {p.stderr}')
        with open(answer) as f:
            got = f.read()
        subprocess.run([python, '-c', PROGRAM, answer], check=True)
        with open(answer) as f:
            plain = f.read()
        check(got == plain, f'the program found {got!r}, and {plain!r} unprofiled')
        with open(os.path.join(session, 'ipcprof-report.json')) as f:
            rep = json.load(f)
    procs = rep['processes']
    uname = {i for i, q in enumerate(procs) if q['command'].split(' ')[0].endswith('uname')}
    check(len(uname) == 1, f'report: one uname process ({len(uname)})')
    pipes = [c for c in rep['channels'] if c['kind'] == 'pipe']
    from_uname = [c for c in pipes if uname & {e['process'] for e in c['endpoints']}]
    check(len(from_uname) == 1, f'report: one pipe from uname ({len(from_uname)})')
    for c in from_uname:
        check(c['paired'], f'report: {c["label"]} paired')
        check(c['bytes_sent'] == c['bytes_received'] == want,
              f'report: {c["label"]}: sent {c["bytes_sent"]}, received {c["bytes_received"]}, '
              f'uname printed {want}')
        writers = [e for e in c['endpoints'] if e['out']['bytes']]
        check([e['process'] for e in writers] == sorted(uname),
              'report: uname is the writer of its pipe')
    for c in pipes:
        check(c['bytes_sent'] == c['bytes_received'],
              f'report: {c["label"]}: sent {c["bytes_sent"]} = received {c["bytes_received"]}')
    print(f'{len(failures)} failed')
    sys.exit(1 if failures else 0)


if __name__ == '__main__':
    main()
