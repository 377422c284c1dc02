"""Runs t_many (600 socket ends) and checks that the record keeps them all, and, in a record
cut to 512 channel entries (IPCPROF_CHANNELS), what it keeps and drops.

Usage: check_many.py --preload LIB --recdump RECDUMP T_MANY
"""
import os
import sys

sys.dont_write_bytecode = True  # nothing written into the source tree
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import ipctest as it  # noqa: E402

CUT = 512  # channel entries of the cut record


def main():
    opts, cmd = it.parse_args(sys.argv[1:])
    it.need_preload(opts)
    ck = it.Checker('t_many')
    s = it.Session(opts)
    cmd = [os.path.abspath(cmd[0])]
    rc0, out0, err0 = s.run(cmd, preload=False, tag='plain')
    os.unlink(s.report)
    for cap in (None, CUT):
        what = f'IPCPROF_CHANNELS={cap}: ' if cap else 'default table: '
        rc, out, err = s.run(cmd, extra_env={'IPCPROF_CHANNELS': str(cap)} if cap else None,
                             tag=f'run{cap}')
        ck.eq(what + 'exit status', (rc0, rc), (0, 0))
        ck.eq(what + 'stdout identical with and without the preload', out, out0)
        ck.eq(what + 'stderr identical with and without the preload', err, err0)
        reps = {r['ino']: r for r in s.report_lines() if r['type'] == 'chan'}
        os.unlink(s.report)
        try:
            recs = s.records()
        except it.Failure as e:
            ck.true(str(e), False)
            s.close(False)
            ck.finish()
        p = recs.proc(s.pid, 0)
        keep = min(cap or len(reps), len(reps))
        if ck.true(what + 'the record exists', p is not None):
            ck.eq(what + 'channels_used', p['channels_used'], keep)
            ck.eq(what + 'dropped.channels: the ends that did not fit', p['dropped']['channels'],
                  len(reps) - keep)
        for c in recs.chans(s.pid, 0):
            rep = reps.get(c['ino'])
            if not ck.true(f'{what}recorded ino {c["ino"]} is one of the program\'s sockets',
                           rep is not None):
                continue
            for d in it.DIRS:
                ck.eq(f'{what}ino {c["ino"]} {d}', (c[d]['calls'], c[d]['bytes']),
                      (rep[d]['calls'], rep[d]['bytes']))
        for f in os.listdir(s.rec):
            os.unlink(os.path.join(s.rec, f))
    s.close(not ck.failures)
    ck.finish()


if __name__ == '__main__':
    main()
