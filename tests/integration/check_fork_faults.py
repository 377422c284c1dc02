"""A forked child's minor page faults under the preload, from fork to _exit, against the same child
without it: the child's path (the fork wrapper, the atfork handlers, the first call on an inherited
channel, _exit) must not write to pages it has no need of, since each written page that the parent
had is copied, one fault, in every child of a program that forks thousands.

Measured on 2026-12-03 (2-core AMD EPYC virtual machine, Debian 12's glibc and kernel), medians of
the children: 16 faults without the preload, 20 with it (4 more) when the child _exits at once,
18 and 24 (6 more) when it first writes one byte to an inherited pipe. The bound, at most 16 more
than without the preload, leaves room for another libc or kernel while failing when the child
writes through one of its tables: the fd table alone (FORK_WIPED in preload/core.c) is
128 pages.

Usage: check_fork_faults.py --preload LIB --recdump RECDUMP T_FORK_FAULTS
"""
import glob
import os
import sys

sys.dont_write_bytecode = True  # nothing written into the source tree
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import ipctest as it  # noqa: E402

CHILDREN = 200
EXTRA_MAX = 16  # more minor faults per child (median) than without the preload


def main():
    opts, cmd = it.parse_args(sys.argv[1:])
    it.need_preload(opts)
    ck = it.Checker('fork_faults')
    s = it.Session(opts)
    prog = os.path.abspath(cmd[0])
    for how in ('exit', 'pipe'):
        rc0, out0, _ = s.run([prog, how, str(CHILDREN)], preload=False, tag=f'plain-{how}')
        rc, out, _ = s.run([prog, how, str(CHILDREN)], tag=f'preload-{how}')
        ck.eq(f'{how}: exit status without and with the preload', (rc0, rc), (0, 0))
        if rc0 != 0 or rc != 0:
            continue
        base, with_preload = int(out0.split()[0]), int(out.split()[0])
        print(f'{how}: median minor faults per child {base} without the preload, '
              f'{with_preload} with it ({with_preload - base:+d}; bound +{EXTRA_MAX})')
        ck.true(f'{how}: a child takes at most {EXTRA_MAX} more minor faults under the preload',
                with_preload - base <= EXTRA_MAX, f'{base} -> {with_preload}')
        # Every child ran under the preload (else the figure says nothing): one record each.
        recs = glob.glob(os.path.join(s.rec, '*.ipcrec'))
        ck.true(f'{how}: a record for every child', len(recs) >= CHILDREN + 1, f'{len(recs)} records')
        for r in recs:
            os.unlink(r)
    s.close(not ck.failures)
    ck.finish()


if __name__ == '__main__':
    main()
