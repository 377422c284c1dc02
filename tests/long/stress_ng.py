#!/usr/bin/python3
"""stress-ng's pipe, sockpair and shm stressors (programs we did not write) end the same way with and
without the preload, and the bytes ipcprof reports agree with the figures stress-ng prints
(its bogo-op counts, exactly; never its rounded rates times its rounded times)."""
import argparse
import json
import os
import re
import resource
import shutil
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "common"))
from captured import run_to_files  # noqa: E402

MB = 1024 * 1024  # stress-ng's MB


def parse_args():
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--ipcprof", required=True, help="the ipcprof command")
    ap.add_argument("--preload", required=True, help="libipcprof.so")
    ap.add_argument("--stressor", required=True, choices=["pipe", "sockpair", "shm"])
    return ap.parse_args()


ARGS = {
    # 20,000 writes of 512 bytes; stress-ng counts one bogo op per message read
    "pipe": ["--pipe", "1", "--pipe-ops", "20000", "--pipe-data-size", "512"],
    # socketpairs until the fd limit (about 10,000), each written to: more channels than a record holds
    "sockpair": ["--sockpair", "1", "--sockpair-ops", "2000"],
    # shm objects created, touched, named to the parent over a pipe and unlinked
    "shm": ["--shm", "1", "--shm-ops", "5", "--shm-bytes", "1m", "--shm-objs", "4"],
}


def fd_limit():
    # stress-ng's sockpair stressor opens socketpairs up to the fd limit: the same limit for both runs
    # (and under meson as by hand), high enough for more channels than one record holds.
    try:
        resource.setrlimit(resource.RLIMIT_NOFILE, (20000, 20000))
    except (ValueError, OSError):
        pass


def run(argv, env):
    p = run_to_files(argv, env=env, text=True, timeout=600,
                     preexec_fn=fd_limit)
    return p.returncode, p.stdout + p.stderr


def metrics(out, name):
    """(bogo ops, real time, {miscellaneous metric: value}) from stress-ng's --metrics lines."""
    ops = real = None
    misc = {}
    for line in out.splitlines():
        m = re.match(r"stress-ng: metrc: \[\d+\] %s\s+(\d+)\s+([\d.]+)\s" % name, line)
        if m:
            ops, real = int(m.group(1)), float(m.group(2))
            continue
        m = re.match(r"stress-ng: metrc: \[\d+\] %s\s+([\d.]+) (.+?) \(" % name, line)
        if m:
            misc[m.group(2)] = float(m.group(1))
    return ops, real, misc


def main():
    a = parse_args()
    if not shutil.which("stress-ng"):
        print("SKIP: stress-ng is not installed (Debian package stress-ng)")
        return 77
    work = tempfile.mkdtemp(prefix="ipcprof-stress-ng.")
    session = os.path.join(work, "session")
    argv = ["stress-ng"] + ARGS[a.stressor] + ["--metrics", "--temp-path", work]
    env = {k: v for k, v in os.environ.items() if not k.startswith("IPCPROF_") and k != "LD_PRELOAD"}
    rc0, out0 = run(argv, env)
    rc1, out1 = run(argv, dict(env, LD_PRELOAD=a.preload, IPCPROF_DIR=session,
                               IPCPROF_REPORT="0"))
    fails = []
    ops0, real0, _ = metrics(out0, a.stressor)
    ops1, real1, misc1 = metrics(out1, a.stressor)
    print("without the preload: exit %d, %s bogo ops in %s s" % (rc0, ops0, real0))
    print("with the preload:    exit %d, %s bogo ops in %s s %s" % (rc1, ops1, real1, misc1))
    if rc0 != 0:
        print(out0[-2000:])
        sys.exit("stress_ng: stress-ng fails without the preload: nothing to compare")
    if rc1 != rc0:
        fails.append("exit status %d under the preload, %d without" % (rc1, rc0))
    if ("successful run completed" in out0) != ("successful run completed" in out1):
        fails.append("stress-ng's verdict differs:\n" + out1[-2000:])
    if ops1 is None or ops1 != ops0:
        fails.append("bogo ops %s under the preload, %s without" % (ops1, ops0))
    rep = subprocess.run([a.ipcprof, "report", "-q", session], capture_output=True, text=True)
    if rep.returncode != 0:
        fails.append("ipcprof report exit %d: %s" % (rep.returncode, rep.stderr.strip()))
    path = os.path.join(session, "ipcprof-report.json")
    if not os.path.exists(path):
        fails.append("no report")
    else:
        with open(path) as f:
            d = json.load(f)
        kinds = {k["kind"]: k for k in d["run"]["bytes_by_kind"]}
        print("ipcprof: %s" % ", ".join("%s %d B sent, %d B received in %d calls" %
                                        (k, v["sent"], v["received"], v["calls"])
                                        for k, v in kinds.items()))
        if a.stressor == "pipe":
            # The reader stops after --pipe-ops messages; the writer may have one more in the pipe.
            size = 512
            pipe = kinds.get("pipe", {"sent": 0, "received": 0})
            # stress-ng counts the writer's messages (and writes one more to stop the reader);
            # the reader is killed at the end with what is left in the pipe unread.
            if pipe["sent"] not in (ops1 * size, (ops1 + 1) * size):
                fails.append("pipe bytes sent %d, stress-ng wrote %d messages of %d B = %d "
                             "(and may write one more)" % (pipe["sent"], ops1, size, ops1 * size))
            if pipe["received"] > pipe["sent"] or pipe["received"] % size:
                fails.append("pipe bytes received %d: more than sent or not whole messages" %
                             pipe["received"])
            # No check on stress-ng's write rate: it and its run time are rounded to 0.01 and
            # the run lasts a few hundredths of a second, so rate x time is not the bytes; its
            # bogo-op count times the message size, above, is.
        elif a.stressor == "sockpair":
            unix = kinds.get("unix_stream", {"sent": 0, "received": 0})
            rate = misc1.get("MB written per sec")
            if not unix["sent"]:
                fails.append("no bytes over unix sockets in the report")
            elif rate:
                # stress-ng divides the bytes it wrote by its write loops' time, a part of its run
                # (the rest is making and closing socketpairs): only an upper bound can be checked.
                # Both figures are printed rounded to 0.01: the bound takes the rate at its
                # lowest and the run at its longest before rounding.
                implied = unix["sent"] / ((rate - 0.005) * MB)
                print("bytes / stress-ng's write rate = %.2f s of its %.2f s run" % (implied, real1))
                if not 0 < implied <= 1.05 * (real1 + 0.005):
                    fails.append("stress-ng wrote %.2f MB/s; ipcprof's %d bytes would take %.2f s, "
                                 "not within its %.2f s run" % (rate, unix["sent"], implied, real1))
            if unix["received"] > unix["sent"]:
                fails.append("more bytes received (%d) than sent (%d)" % (unix["received"],
                                                                          unix["sent"]))
        else:
            # stress-ng maps its shm objects MAP_PRIVATE|MAP_ANONYMOUS: nothing is shared through
            # them. The object names go to the parent over a pipe: what was read was written.
            # stress-ng SIGKILLs the writer at the end: a write the kernel finished just before the
            # kill reaches the reader but never returns to the writer's preload (one message).
            pipe = kinds.get("pipe", {"sent": 0, "received": 0})
            writers = [e for c in d["channels"] if c["kind"] == "pipe" for e in c["endpoints"]
                       if e["out"]["calls"]]
            killed = [e for e in writers if d["processes"][e["process"]]["signal"] == 9]
            diff = pipe["received"] - pipe["sent"]
            one = killed[0]["out"]["max_call_bytes"] if len(killed) == 1 else -1
            if diff == one:
                print("the SIGKILLed writer's last %d-byte message was read but not counted by "
                      "its preload (the kernel finished it as the kill came)" % one)
            elif not pipe["received"] or diff != 0:
                fails.append("shm names over the pipe: %d B sent, %d B received" %
                             (pipe["sent"], pipe["received"]))
    for f in fails:
        print("FAIL: " + f)
    if fails:
        print("records kept in " + session)
        return 1
    shutil.rmtree(work, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
