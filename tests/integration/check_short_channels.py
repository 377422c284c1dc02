"""Many short channels over a process's life: every one counted, paired and summed exactly.

Usage: check_short_channels.py --preload LIB --recdump RECDUMP --ipcprof IPCPROF [--keep] PYTHON
A parent makes PIPES pipes one after another, hands each one's read end to its fork child
through a unix socketpair (SCM_RIGHTS, one byte each), writes PIPE_BYTES into it and closes it;
the child reads them and closes its end. Then the parent opens CONNS loopback TCP connections to
the child's listener (port 0), one after another: REQ bytes there, REP bytes back, both ends
closed. Far more channels than a fixed table would hold: the report must pair every pipe and
connection between the two processes, with its bytes, and sum each kind exactly.
"""
import json
import os
import subprocess
import sys

sys.dont_write_bytecode = True  # nothing written into the source tree
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import ipctest as it  # noqa: E402

PIPES, CONNS = 10000, 2000
PIPE_BYTES, REQ, REP = 1000, 300, 700

SCRIPT = r'''
import os, socket, sys

PIPES, CONNS, PIPE_BYTES, REQ, REP = %d, %d, %d, %d, %d


def read_all(read, n):
    got = 0
    while got < n:
        d = read(n - got)
        if not d:
            sys.exit('short read')
        got += len(d)


def child(sock, lsock):
    for _ in range(PIPES):
        _, fds, _, _ = socket.recv_fds(sock, 1, 1)
        read_all(lambda n: os.read(fds[0], n), PIPE_BYTES)
        os.close(fds[0])
    for _ in range(CONNS):
        c, _ = lsock.accept()
        read_all(c.recv, REQ)
        c.sendall(b'r' * REP)
        c.close()


def main():
    psock, csock = socket.socketpair()
    lsock = socket.socket()
    lsock.bind(('127.0.0.1', 0))
    lsock.listen(16)
    port = lsock.getsockname()[1]
    pid = os.fork()
    if pid == 0:
        psock.close()
        child(csock, lsock)
        os._exit(0)
    csock.close()
    lsock.close()
    for _ in range(PIPES):
        r, w = os.pipe()
        socket.send_fds(psock, [b'p'], [r])
        os.close(r)
        os.write(w, b'x' * PIPE_BYTES)
        os.close(w)
    for _ in range(CONNS):
        s = socket.create_connection(('127.0.0.1', port))
        s.sendall(b'q' * REQ)
        read_all(s.recv, REP)
        s.close()
    _, st = os.waitpid(pid, 0)
    print(PIPES, 'pipes', CONNS, 'connections', flush=True)
    sys.exit(os.waitstatus_to_exitcode(st))


main()
''' % (PIPES, CONNS, PIPE_BYTES, REQ, REP)


def main():
    opts, cmd = it.parse_args(sys.argv[1:])
    ipcprof = opts['ipcprof']
    it.need_preload(opts)
    ck = it.Checker('short_channels')
    s = it.Session(opts)
    prog = os.path.join(s.work, 'short.py')
    with open(prog, 'w') as f:
        f.write(SCRIPT)
    run = [cmd[0], prog]
    rc0, out0, _ = s.run(run, preload=False, tag='plain', timeout=300)
    rc, out, _ = s.run(run, extra_env={'IPCPROF_SAMPLE_HZ': '0'}, timeout=300)
    ck.eq('exit status', (rc0, rc), (0, 0))
    ck.eq('stdout identical with and without the preload', out, out0)
    p = subprocess.run([ipcprof, 'report', s.rec], capture_output=True, text=True, timeout=300)
    ck.eq('ipcprof report exit status', p.returncode, 0)
    with open(os.path.join(s.rec, 'ipcprof-report.json')) as f:
        d = json.load(f)
    kinds = {k['kind']: (k['sent'], k['received']) for k in d['run']['bytes_by_kind']}
    ck.eq('pipe bytes sent and received', kinds.get('pipe'),
          (PIPES * PIPE_BYTES, PIPES * PIPE_BYTES))
    ck.eq('tcp bytes sent and received', kinds.get('tcp'),
          (CONNS * (REQ + REP), CONNS * (REQ + REP)))
    ck.eq('unix_stream bytes (one per fd passed)', kinds.get('unix_stream'), (PIPES, PIPES))
    for kind, n, each in (('pipe', PIPES, PIPE_BYTES), ('tcp', CONNS, REQ + REP)):
        chans = [c for c in d['channels'] if c['kind'] == kind]
        ck.eq(f'{kind}: channels', len(chans), n)
        good = [c for c in chans if c['paired'] and c['bytes_sent'] == each and
                c['bytes_received'] == each and
                len({e['process'] for e in c['endpoints']}) == 2]
        ck.eq(f'{kind}: channels paired between the two processes with {each} bytes each way',
              len(good), n)
    ck.eq('no finding of incomplete figures',
          [f['title'] for f in d['findings'] if f['kind'] == 'incomplete'], [])
    for proc in s.records().procs:
        ck.eq(f'pid {proc["pid"]}: dropped channels', proc['dropped']['channels'], 0)
    s.close(not ck.failures)
    ck.finish()


if __name__ == '__main__':
    main()
