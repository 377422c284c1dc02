"""Runs t_many (more channels than a record holds) and checks what the record keeps and drops.

Usage: check_many.py --preload LIB --recdump RECDUMP T_MANY
"""
import os
import sys

sys.dont_write_bytecode = True  # nothing written into the source tree
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import ipctest as it  # noqa: E402

MAX_CHANNELS = 512


def main():
    opts, cmd = it.parse_args(sys.argv[1:])
    it.need_preload(opts)
    ck = it.Checker('t_many')
    s = it.Session(opts)
    cmd = [os.path.abspath(cmd[0])]
    rc0, out0, err0 = s.run(cmd, preload=False, tag='plain')
    os.unlink(s.report)
    rc, out, err = s.run(cmd)
    ck.eq('exit status', (rc0, rc), (0, 0))
    ck.eq('stdout identical with and without the preload', out, out0)
    ck.eq('stderr identical with and without the preload', err, err0)
    reps = {r['ino']: r for r in s.report_lines() if r['type'] == 'chan'}
    try:
        recs = s.records()
    except it.Failure as e:
        ck.true(str(e), False)
        s.close(False)
        ck.finish()
    p = recs.proc(s.pid, 0)
    if ck.true('the record exists', p is not None):
        ck.eq('channels_used is the table size', p['channels_used'], MAX_CHANNELS)
        ck.eq('dropped.channels: the ends that did not fit', p['dropped']['channels'],
              len(reps) - MAX_CHANNELS)
    for c in recs.chans(s.pid, 0):
        rep = reps.get(c['ino'])
        if not ck.true(f'recorded ino {c["ino"]} is one of the program\'s sockets', rep is not None):
            continue
        for d in it.DIRS:
            ck.eq(f'ino {c["ino"]} {d}', (c[d]['calls'], c[d]['bytes']),
                  (rep[d]['calls'], rep[d]['bytes']))
    s.close(not ck.failures)
    ck.finish()


if __name__ == '__main__':
    main()
