#!/usr/bin/python3
"""The reporter's cache of decompressed debug files: a Python session's report made with the cache
(first run: the copies made; second: used as they are; a garbage, a cut-short and a world-writable
copy ignored and made again) is byte for byte the report made without any cache.

usage: test_debug_cache.py IPCPROF   (skips, 77, without a compressed debug file for python3)"""
import glob
import os
import re
import subprocess
import sys
import tempfile

sys.dont_write_bytecode = True  # nothing written into the source tree
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), '..', 'integration'))
from ipctest import Checker  # noqa: E402  (the integration tests' collector of checks)

SKIP = 77
PYTHON = '/usr/bin/python3'
# A worker that sends a few arrays through a Pool's pipes: native frames of the interpreter in
# every call site, CPU samples in libpython's code.
PROGRAM = '''
import multiprocessing as mp
def work(b):
    return sum(b[::4096])
if __name__ == "__main__":
    with mp.Pool(2) as p:
        print(sum(p.map(work, [bytes(4_000_000)] * 8)))
'''


def build_id(path):
    out = subprocess.run(['readelf', '-n', path], capture_output=True, text=True).stdout
    m = re.search(r'Build ID: ([0-9a-f]+)', out)
    return m.group(1) if m else None


def compressed_debug(bid):
    """The system's debug file for build id bid when its sections are compressed, else None."""
    path = f'/usr/lib/debug/.build-id/{bid[:2]}/{bid[2:]}.debug'
    if not os.path.exists(path):
        return None
    out = subprocess.run(['readelf', '-SW', path], capture_output=True, text=True).stdout
    return path if re.search(r'\.debug_info .* [A-Z]*C[A-Z]* ', out) else None


def report(ck, ipcprof, session, out, cache, what):
    env = dict(os.environ, XDG_CACHE_HOME=cache)
    p = subprocess.run([ipcprof, 'report', '-q', '-o', out, session], env=env,
                       capture_output=True, text=True, timeout=300)
    ck.eq(f'{what}: report status', p.returncode, 0)
    with open(os.path.join(out, 'ipcprof-report.json'), 'rb') as f:
        return f.read()


def main():
    ipcprof = sys.argv[1]
    bid = build_id(os.path.realpath(PYTHON))
    if not bid or not compressed_debug(bid):
        print(f'skip: no compressed debug file for {os.path.realpath(PYTHON)} (build id {bid})')
        sys.exit(SKIP)
    ck = Checker('debug_cache')
    with tempfile.TemporaryDirectory() as tmp:
        session = os.path.join(tmp, 's')
        prog = os.path.join(tmp, 'pool.py')
        with open(prog, 'w') as f:
            f.write(PROGRAM)
        with open(os.path.join(tmp, 'out'), 'w') as out:
            subprocess.run([ipcprof, 'record', '-q', '--no-probes', '--no-report', '-o', session,
                            '--', PYTHON, prog], stdout=out, stderr=out, check=True,
                           env=dict(os.environ, XDG_CACHE_HOME=os.path.join(tmp, 'none')))
        # No cache at all: a cache directory that cannot be made.
        want = report(ck, ipcprof, session, os.path.join(tmp, 'r0'), '/proc/none', 'no cache')
        cache = os.path.join(tmp, 'cache')
        got = report(ck, ipcprof, session, os.path.join(tmp, 'r1'), cache, 'first run')
        ck.eq('first run: the report as without the cache', got == want, True)
        copy = os.path.join(cache, 'ipcprof', f'debug-{bid}.debug')
        ck.true('first run: python3\'s debug file copied', os.path.exists(copy),
                str(glob.glob(os.path.join(cache, 'ipcprof', '*'))))
        if not os.path.exists(copy):
            ck.finish()
        ck.eq('the copy\'s mode', oct(os.stat(copy).st_mode & 0o777), oct(0o600))
        out = subprocess.run(['readelf', '-SW', copy], capture_output=True, text=True).stdout
        ck.eq('the copy\'s .debug_info is not compressed',
              bool(re.search(r'\.debug_info .* [A-Z]*C[A-Z]* ', out)), False)
        good = open(copy, 'rb').read()
        st = os.stat(copy)

        got = report(ck, ipcprof, session, os.path.join(tmp, 'r2'), cache, 'second run')
        ck.eq('second run: the report as without the cache', got == want, True)
        st2 = os.stat(copy)
        ck.eq('second run: the copy used, not made again', (st2.st_ino, st2.st_mtime_ns),
              (st.st_ino, st.st_mtime_ns))

        bad = (('garbage', b'\xde\xad\xbe\xef' * 4096, 0o600),
               ('cut short', good[:len(good) // 2], 0o600),
               ('world-writable', good, 0o666))
        for n, (what, data, mode) in enumerate(bad):
            os.unlink(copy)
            with open(copy, 'wb') as f:
                f.write(data)
            os.chmod(copy, mode)
            ino = os.stat(copy).st_ino
            got = report(ck, ipcprof, session, os.path.join(tmp, f'r{3 + n}'), cache, what)
            ck.eq(f'{what}: the report as without the cache', got == want, True)
            st3 = os.stat(copy)
            ck.true(f'{what}: the copy made again', st3.st_ino != ino and
                    open(copy, 'rb').read() == good and (st3.st_mode & 0o777) == 0o600)
    ck.finish()


if __name__ == '__main__':
    main()
