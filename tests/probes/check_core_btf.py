"""Checks the probes' cache of the cut-down kernel BTF: made by the first run, used by the next, and
a corrupt file ignored (the probes still load and count every byte) and replaced.

Usage: check_core_btf.py CHECK_PROBES_ARGS...  (a check_probes.py command line, run four times with
a fresh XDG_CACHE_HOME and IPCPROF_VERBOSE=1; each run must pass on its own). Exits 77 (skip) when
the probes cannot be loaded here.
"""
import glob
import os
import shutil
import subprocess
import sys
import tempfile

sys.dont_write_bytecode = True  # nothing written into the source tree
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), '..', 'integration'))
from ipctest import Checker  # noqa: E402  (the integration tests' collector of checks)

SKIP = 77
CHECK_PROBES = os.path.join(os.path.dirname(os.path.abspath(__file__)), 'check_probes.py')
USED = 'relocation against the cache'
MADE = 'for next time'


def run(ck, cache, what):
    env = dict(os.environ, XDG_CACHE_HOME=cache, IPCPROF_VERBOSE='1')
    p = subprocess.run([sys.executable, CHECK_PROBES] + sys.argv[1:], env=env,
                       stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                       text=True, timeout=300)
    if p.returncode == SKIP:
        print(p.stdout)
        sys.exit(SKIP)
    print(f'--- {what}:\n' + '\n'.join(x for x in p.stdout.splitlines() if 'probes' in x))
    ck.eq(f'{what}: the probes\' checks (bytes counted exactly)', p.returncode, 0)
    return p.stdout


def main():
    ck = Checker("core_btf_cache")
    cache = tempfile.mkdtemp(prefix='ipcprof-cache-')
    try:
        out = run(ck, cache, 'first run')
        files = glob.glob(os.path.join(cache, 'ipcprof', 'core-*.btf'))
        ck.eq('first run: one cache file made', len(files), 1)
        ck.eq('first run: the cache not used', USED in out, False)
        ck.eq('first run: the file made after the run', MADE in out, True)
        if len(files) != 1:
            ck.finish()
        ck.eq('cache directory mode', oct(os.stat(os.path.join(cache, 'ipcprof')).st_mode & 0o777),
              oct(0o700))
        path = files[0]
        good = open(path, 'rb').read()

        out = run(ck, cache, 'second run')
        ck.eq('second run: the cache used', USED in out, True)
        ck.eq('second run: nothing made', MADE in out, False)

        for what, data in (('garbage', b'\xde\xad\xbe\xef' * 64), ('truncated', good[:len(good) // 2])):
            with open(path, 'wb') as f:
                f.write(data)
            out = run(ck, cache, f'{what} cache file')
            ck.eq(f'{what}: the file ignored', USED in out, False)
            ck.eq(f'{what}: said why', f'{path} is not BTF' in out, True)
            ck.eq(f'{what}: the file made again', open(path, 'rb').read(), good)
        ck.eq('no temporary file left', sorted(os.listdir(os.path.join(cache, 'ipcprof'))),
              [os.path.basename(path)])
    finally:
        shutil.rmtree(cache, ignore_errors=True)
    ck.finish()


if __name__ == '__main__':
    main()
