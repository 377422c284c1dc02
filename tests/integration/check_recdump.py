"""recdump reads what the preload writes, and rejects damaged records with a clear error.

Usage: check_recdump.py --preload LIB --recdump RECDUMP
Also checks the identity fields of a one-process session: exe, argv, exit status, origin.
"""
import os
import shutil
import struct
import subprocess
import sys

sys.dont_write_bytecode = True  # nothing written into the source tree
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import ipctest as it  # noqa: E402


def recdump(opts, *paths):
    p = subprocess.run([opts['recdump'], *paths], capture_output=True, text=True, timeout=60)
    return p.returncode, p.stdout, p.stderr


def main():
    opts, _ = it.parse_args(sys.argv[1:])
    it.need_preload(opts)
    ck = it.Checker('recdump')
    s = it.Session(opts)
    rc, _, _ = s.run(['/bin/sh', '-c', 'exit 3'])
    ck.eq('sh exit status', rc, 3)
    recs = s.records()
    ck.eq('one record', len(recs.procs), 1)
    if recs.procs:
        p = recs.procs[0]
        ck.eq('pid', p['pid'], s.pid)
        ck.eq('seq', p['seq'], 0)
        ck.eq('origin', p['origin'], it.ORIGIN_ROOT)
        ck.eq('end_how', p['end_how'], it.END_EXIT)
        ck.eq('exit_status', p['exit_status'], 3)
        ck.eq('exe', p['exe'], os.path.realpath('/bin/sh'))
        ck.eq('argv', p['argv'], ['/bin/sh', '-c', 'exit 3'])
        ck.eq('argc', p['argc'], 3)
        ck.eq('no channels', p['channels_used'], 0)
    files = [f for f in os.listdir(s.rec) if f.endswith('.ipcrec')]
    ck.eq('file name', files, [f'{s.pid}.0.ipcrec'])
    if not files:
        s.close(False)
        ck.finish()
    good = os.path.join(s.rec, files[0])
    ck.eq('record file mode', oct(os.stat(good).st_mode & 0o777), oct(0o600))
    with open(good, 'rb') as f:
        data = f.read()

    bad = os.path.join(s.root, 'bad')
    os.mkdir(bad)
    cases = {
        'magic': b'XXXXXXX\0' + data[8:],
        'version': data[:8] + struct.pack('<I', 99) + data[12:],
        'short': data[:100],
        'truncated': data[:-1],
        'record_size': data[:12] + struct.pack('<I', 12345) + data[16:],
    }
    want = {'magic': 'bad magic', 'version': 'unknown version', 'short': 'shorter than',
            'truncated': "file_size differs from the file's size", 'record_size': 'record_size'}
    for name, content in cases.items():
        path = os.path.join(bad, name + '.ipcrec')
        with open(path, 'wb') as f:
            f.write(content)
        rc, out, err = recdump(opts, path)
        ck.eq(f'{name}: exit status', rc, 1)
        ck.eq(f'{name}: nothing printed', out, '')
        ck.true(f'{name}: error names the file and the fault',
                path in err and want[name] in err, err)

    # A damaged file among good ones loses nothing else.
    shutil.copy(good, os.path.join(bad, 'zz-good.ipcrec'))
    rc, out, err = recdump(opts, bad)
    ck.eq('folder with damaged files: exit status', rc, 1)
    ck.eq('folder with damaged files: the good record is still printed',
          sum(1 for line in out.splitlines() if '"type":"proc"' in line), 1)
    ck.eq('folder with damaged files: one error per damaged file', len(err.strip().splitlines()),
          len(cases))
    rc, out, err = recdump(opts, os.path.join(s.root, 'missing'))
    ck.true('missing path: exit status 1 and an error', rc == 1 and 'missing' in err, err)
    s.close(not ck.failures)
    ck.finish()


if __name__ == '__main__':
    main()
