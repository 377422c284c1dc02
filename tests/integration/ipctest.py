"""Shared helpers of the integration tests: run a program under libipcprof.so, read its records."""
import json
import os
import shutil
import subprocess
import sys
import tempfile

KIND_CODE = {'pipe': 1, 'fifo': 2, 'unix_stream': 3, 'unix_dgram': 4, 'unix_seqpacket': 5,
             'tcp': 6, 'udp': 7, 'shm_fd': 8, 'plugin': 9, 'semaphore': 10}
CH_FLAGS = {'local': 0x1, 'network': 0x2, 'socketpair': 0x4, 'abstract': 0x8, 'created': 0x10,
            'connected': 0x20, 'accepted': 0x40, 'fds_sent': 0x80, 'fds_received': 0x100}
MAP_KIND = {'posix_shm': 1, 'memfd': 2, 'shared_anon': 3, 'shared_file': 4}
MAP_INHERITED, MAP_UNMAPPED, MAP_CREATOR = 0x1, 0x2, 0x4
ORIGIN_ROOT, ORIGIN_FORK, ORIGIN_EXEC, ORIGIN_SPAWN = 1, 2, 3, 4
END_RUNNING, END_EXIT, END_EXEC, END_SIGNAL = 0, 1, 2, 3
DIRS = ('out', 'in')


class Failure(Exception):
    pass


class Checker:
    """Collects failed expectations so that one run reports all of them."""

    def __init__(self, name):
        self.name = name
        self.failures = []
        self.passed = 0

    verbose = os.environ.get('IPCTEST_VERBOSE') == '1'

    def eq(self, what, got, want):
        if got != want:
            self.failures.append(f'{what}: expected {want!r}, got {got!r}')
        else:
            self.passed += 1
            if self.verbose:
                print(f'ok {what}: {got!r}')
        return got == want

    def true(self, what, cond, detail=''):
        if not cond:
            self.failures.append(f'{what}' + (f' ({detail})' if detail else ''))
        else:
            self.passed += 1
            if self.verbose:
                print(f'ok {what}')
        return cond

    def finish(self):
        for f in self.failures:
            print(f'FAIL {self.name}: {f}')
        print(f'{self.name}: {self.passed} checks passed, {len(self.failures)} failed')
        sys.exit(1 if self.failures else 0)


def parse_args(argv):
    """--preload PATH --recdump PATH [--keep] then the rest (program and its arguments)."""
    opts = {'preload': os.environ.get('IPCTEST_PRELOAD', ''), 'recdump': None, 'keep': False,
            'env': {}}
    rest = []
    it = iter(argv)
    for a in it:
        if a == '--preload':
            opts['preload'] = next(it)
        elif a == '--recdump':
            opts['recdump'] = next(it)
        elif a == '--keep':
            opts['keep'] = True
        elif a == '--env':
            k, _, v = next(it).partition('=')
            opts['env'][k] = v
        elif a == '--compare':
            opts['compare'] = True
        elif a == '--ipcprof':
            opts['ipcprof'] = os.path.abspath(next(it))
        else:
            rest.append(a)
            rest.extend(it)
    for k in ('preload', 'recdump'):
        if opts[k]:
            opts[k] = os.path.abspath(opts[k])
    return opts, rest


class Session:
    """A fresh folder with rec/ (IPCPROF_DIR), work/ (scratch for the program) and the logs."""

    def __init__(self, opts):
        self.opts = opts
        self.root = tempfile.mkdtemp(prefix='ipcprof-it-')
        self.rec = os.path.join(self.root, 'rec')
        self.work = os.path.join(self.root, 'work')
        self.report = os.path.join(self.root, 'report.jsonl')
        os.mkdir(self.rec, 0o700)
        os.mkdir(self.work, 0o700)

    def env(self, preload=True, extra=None):
        env = dict(os.environ)
        for k in list(env):
            if k.startswith('IPCPROF_') or k == 'LD_PRELOAD':
                del env[k]
        env['IPCTEST_REPORT'] = self.report
        if preload:
            env['IPCPROF_DIR'] = self.rec
            env['IPCPROF_REPORT'] = '0'
            env['LD_PRELOAD'] = self.opts['preload']
        if extra:
            env.update(extra)
        return env

    def run_piped(self, cmd, preload=True, extra_env=None, timeout=60):
        """Runs cmd with stdout to a pipe: its own output is then IPC too."""
        p = subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                             stderr=subprocess.PIPE, env=self.env(preload, extra_env),
                             cwd=self.work)
        try:
            out, err = p.communicate(timeout=timeout)
            rc = p.returncode
        except subprocess.TimeoutExpired:
            p.kill()
            out, err = p.communicate()
            rc = 'timeout'
        if err:
            sys.stderr.write('--- piped run stderr:\n' + err.decode(errors='replace'))
        return rc, out, err

    def run(self, cmd, preload=True, extra_env=None, timeout=60, tag='run'):
        """Runs cmd with stdout and stderr to regular files (so they are not IPC)."""
        out_path = os.path.join(self.root, tag + '.stdout')
        err_path = os.path.join(self.root, tag + '.stderr')
        with open(out_path, 'wb') as out, open(err_path, 'wb') as err:
            p = subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=out, stderr=err,
                                 env=self.env(preload, extra_env), cwd=self.work)
            self.pid = p.pid
            try:
                rc = p.wait(timeout)
            except subprocess.TimeoutExpired:
                p.kill()
                p.wait()
                rc = 'timeout'
        with open(out_path, 'rb') as f:
            stdout = f.read()
        with open(err_path, 'rb') as f:
            stderr = f.read()
        if stderr:
            sys.stderr.write(f'--- {tag} stderr:\n' + stderr.decode(errors='replace'))
        return rc, stdout, stderr

    def report_lines(self):
        if not os.path.exists(self.report):
            return []
        with open(self.report) as f:
            return [json.loads(line) for line in f if line.strip()]

    def records(self, timeline=False):
        """Every line recdump prints for rec/; recdump's own failure is a test failure."""
        args = [self.opts['recdump']] + (['--timeline'] if timeline else []) + [self.rec]
        p = subprocess.run(args, capture_output=True, text=True, timeout=60)
        if p.returncode != 0:
            raise Failure('recdump failed: ' + p.stderr.strip())
        return Records([json.loads(line) for line in p.stdout.splitlines() if line.strip()])

    def close(self, ok):
        if self.opts['keep'] or not ok:
            print(f'session kept in {self.root}')
        else:
            shutil.rmtree(self.root, ignore_errors=True)


class Records:
    def __init__(self, lines):
        self.procs = [r for r in lines if r['type'] == 'proc']
        self.channels = [r for r in lines if r['type'] == 'channel']
        self.mappings = [r for r in lines if r['type'] == 'mapping']
        self.fingerprints = [r for r in lines if r['type'] == 'fingerprint']
        self.intervals = [r for r in lines if r['type'] == 'interval']

    def proc(self, pid, seq=None):
        m = [p for p in self.procs if p['pid'] == pid and (seq is None or p['seq'] == seq)]
        return m[-1] if m else None

    def chans(self, pid=None, seq=None):
        return [c for c in self.channels
                if (pid is None or c['pid'] == pid) and (seq is None or c['seq'] == seq)]

    def by_ino(self, ino, pid=None):
        return [c for c in self.chans(pid) if c['ino'] == ino]


def used(ch):
    return ch['out']['calls'] + ch['in']['calls'] > 0


def total(chans, d, field):
    if field == 'max_call_bytes':
        return max([c[d][field] for c in chans] or [0])
    return sum(c[d][field] for c in chans)


def hist_sum(chans, d):
    return sum(sum(c[d]['hist']) for c in chans)


def need_preload(opts):
    """The test depends on the library: its absence is a failure, not a reason to skip."""
    if not opts['preload'] or not os.path.exists(opts['preload']):
        print(f'FAIL: no preload library at {opts["preload"]!r}')
        sys.exit(1)
    if not opts['recdump'] or not os.path.exists(opts['recdump']):
        print(f'FAIL: no recdump at {opts["recdump"]!r}')
        sys.exit(1)
