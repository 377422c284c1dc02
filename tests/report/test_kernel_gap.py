#!/usr/bin/python3
"""Where the probes counted bytes (`--probes syscalls`) and the kernel's differ from the
preload's, the report shows it (the default sched mode counts no byte: no gap to show).

Usage: test_kernel_gap.py IPCPROF SCHEMA GAP_RAW KRNDUMP
gap_raw writes 500 bytes to a pipe past the preload: its process's kernel.gaps must say so
exactly, a kernel_gap finding come first, the terminal summary give it on one line and the HTML
carry it; the reader and the root, whose figures agree, have no gap. Then `seq 100000 | head -5`,
whose seq is killed by SIGPIPE inside a stdio call: each run's gaps must be exactly the
difference between the kernel's bytes (kernel.ipckrn, by krndump) and the preload's (the
report's channel ends), none where they agree. Skips (77) where the probes cannot run.
"""
import json
import os
import shutil
import subprocess
import sys
import tempfile

import jsonschema

IPCPROF, SCHEMA, GAP_RAW, KRNDUMP = sys.argv[1:5]
SKIP = 77
failures = []


def eq(got, want, what):
    if got != want:
        failures.append(what)
        print(f"FAIL: {what}: got {got!r}, want {want!r}")
    else:
        print(f"ok: {what}")


def record(work, argv):
    sess = os.path.join(work, "s")
    env = {k: v for k, v in os.environ.items() if not k.startswith("IPCPROF_")
           and k != "LD_PRELOAD"}
    with open(os.path.join(work, "out"), "w+") as out:
        # The kernel counts bytes in its cross-check mode; the default (sched) counts none.
        p = subprocess.run([IPCPROF, "record", "--probes", "syscalls", "-o", sess, "--"] + argv,
                           env=env, stdout=out, stderr=subprocess.PIPE, text=True, timeout=120)
    with open(os.path.join(sess, "ipcprof-report.json")) as f:
        rep = json.load(f)
    with open(SCHEMA) as f:
        jsonschema.validate(rep, json.load(f))
    return p, rep, sess


def preload_bytes(rep, index):
    got = {}
    for c in rep["channels"]:
        for e in c["endpoints"]:
            if e["process"] == index:
                for d in ("out", "in"):
                    if e[d]["bytes"]:
                        got[(c["kind"], d)] = got.get((c["kind"], d), 0) + e[d]["bytes"]
    return got


def gap_lines(text):
    return [line for line in text.splitlines() if "kernel's bytes differ" in line]


def check_raw(work):
    p, rep, sess = record(work, [GAP_RAW])
    if p.returncode == SKIP:
        print("SKIP: gap_raw has no raw syscall here")
        sys.exit(SKIP)
    eq(p.returncode, 0, "gap_raw's exit status under ipcprof record")
    if not rep["kernel"]:
        print("SKIP: the probes did not run (not root, or they cannot load here)")
        sys.exit(SKIP)
    procs = rep["processes"]
    writer = [p_ for p_ in procs if p_["origin"] == "fork"]
    eq(len(writer), 1, "one forked writer")
    for pr in procs:
        want = []
        if pr in writer:
            want = [{"kind": "pipe", "direction": "out", "kernel_bytes": 1500,
                     "preload_bytes": 1000, "difference": 500}]
        eq(pr["kernel"]["gaps"], want, f"gaps of PID {pr['pid']} ({pr['role']})")
    eq(rep["findings"][0]["kind"] if rep["findings"] else None, "kernel_gap",
       "the first finding is the gap")
    lines = gap_lines(p.stderr)
    eq(len(lines), 1, "one line of the terminal summary gives the gap")
    if lines:
        eq("pipe sent: 500 B more in the kernel" in lines[0], True,
           f"the line names the kind, direction and bytes: {lines[0].strip()}")
    with open(os.path.join(sess, "ipcprof-report.html")) as f:
        html = f.read()
    eq("Gap (kernel vs preload)" in html and '"difference":500' in html.replace(" ", ""), True,
       "the HTML has the gap column and the gap")


def kernel_bytes(sess, pid):
    """{(kind, dir): bytes} of the kernel's images of pid that have a pipe or socket call."""
    d = json.loads(subprocess.run([KRNDUMP, os.path.join(sess, "kernel.ipckrn")],
                                  capture_output=True, text=True, check=True).stdout)
    got = {}
    for img in d["images"]:
        if img["pid"] != pid or img["comm"] != "seq":
            continue
        for io in img["total"]["io"]:
            if io["kind"] != "other" and io["bytes"]:
                key = (io["kind"], io["dir"])
                got[key] = got.get(key, 0) + io["bytes"]
    return got


def check_seq(work, runs):
    seen = 0
    for i in range(runs):
        w = os.path.join(work, f"seq{i}")
        os.mkdir(w)
        p, rep, sess = record(w, ["bash", "-c", "seq 100000 | head -5 >/dev/null"])
        eq(p.returncode, 0, f"seq | head: exit status, run {i}")
        seqs = [(k, pr) for k, pr in enumerate(rep["processes"]) if pr["argv"][0] == "seq"]
        eq(len(seqs), 1, f"seq | head: one seq image, run {i}")
        if not seqs:
            continue
        k, pr = seqs[0]
        kb, pb = kernel_bytes(sess, pr["pid"]), preload_bytes(rep, k)
        want = [{"kind": kind, "direction": d, "kernel_bytes": kb.get((kind, d), 0),
                 "preload_bytes": pb.get((kind, d), 0),
                 "difference": kb.get((kind, d), 0) - pb.get((kind, d), 0)}
                for kind in ("pipe", "fifo", "unix_stream", "unix_dgram", "unix_seqpacket",
                             "tcp", "udp") for d in ("out", "in")
                if kb.get((kind, d), 0) != pb.get((kind, d), 0)]
        eq(pr["kernel"]["gaps"], want, f"seq | head, run {i}: seq's gaps "
           f"(kernel {kb}, preload {pb})")
        eq(len(gap_lines(p.stderr)), 1 if want else 0,
           f"seq | head, run {i}: a terminal line when there is a gap")
        seen += bool(want)
    print(f"seq | head -5: the kernel counted more than the preload in {seen} of {runs} runs")


def main():
    if os.geteuid() != 0:
        print("SKIP: the probes need root")
        return SKIP
    work = tempfile.mkdtemp(prefix="ipcprof-gap-")
    try:
        check_raw(work)
        check_seq(work, 5)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    print(f"{len(failures)} failures")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
