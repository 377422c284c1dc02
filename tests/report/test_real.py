#!/usr/bin/python3
"""The reporter on real records: a pipe and a socketpair between a process and its fork, written by
the preload; the report must pair their ends and hold the exact bytes."""
import json
import os
import subprocess
import sys
import tempfile

IPCPROF, PRELOAD = sys.argv[1:3]
failures = []


def eq(got, want, what):
    if got != want:
        failures.append(what)
        print(f"FAIL: {what}: got {got!r}, want {want!r}")


WORKLOAD = r"""
import os, socket
r, w = os.pipe()
a, b = socket.socketpair()
pid = os.fork()
if pid == 0:
    os.close(w)
    a.close()
    n = 0
    while True:
        chunk = os.read(r, 65536)
        if not chunk:
            break
        n += len(chunk)
    b.sendall(b"y" * 500000)
    b.close()
    os._exit(0 if n == 3000000 else 1)
os.close(r)
b.close()
for _ in range(3):
    os.write(w, b"x" * 1000000)
os.close(w)
got = 0
while True:
    chunk = a.recv(65536)
    if not chunk:
        break
    got += len(chunk)
_, status = os.waitpid(pid, 0)
raise SystemExit(0 if got == 500000 and status == 0 else 1)
"""

with tempfile.TemporaryDirectory() as tmp:
    session = os.path.join(tmp, "s")
    os.mkdir(session, 0o700)
    env = dict(os.environ, IPCPROF_DIR=session, IPCPROF_REPORT="0", LD_PRELOAD=PRELOAD)
    subprocess.run(["/usr/bin/python3", "-c", WORKLOAD], env=env, check=True)
    p = subprocess.run([IPCPROF, "report", "-q", session], capture_output=True, text=True)
    eq(p.returncode, 0, "report status: " + p.stderr)
    with open(os.path.join(session, "ipcprof-report.json")) as f:
        rep = json.load(f)
    procs = rep["processes"]
    eq(len(procs), 2, "two processes")
    parent = next(p for p in procs if p["parent"] is None)
    child = next(p for p in procs if p["parent"] == parent["index"])
    eq((parent["role"], child["role"], child["origin"]), ("main", "forked child", "fork"), "lineage")
    cells = {(c["from"], c["to"]): c for c in rep["matrix"]}
    down = cells.get((parent["index"], child["index"]))
    up = cells.get((child["index"], parent["index"]))
    eq(down and (down["bytes"], down["estimated"]), (3000000, False), "pipe bytes parent -> child")
    eq(up and (up["bytes"], up["estimated"]), (500000, False), "socketpair bytes child -> parent")
    kinds = {c["kind"]: c for c in rep["channels"] if c["paired"]}
    eq(kinds.get("pipe", {}).get("bytes_sent"), 3000000, "pipe paired")
    eq(kinds.get("unix_stream", {}).get("bytes_received"), 500000, "socketpair paired by inode")
    eq(kinds.get("pipe", {}).get("hist", [0] * 40)[20], 3, "three writes of 1 MB in bucket [2^19, 2^20)")

    # ipcprof record --sample-hz: the preload's rate, or no sampling; a bad rate is refused.
    busy = "sum(i * i for i in range(3_000_000))"
    for hz, state in (("0", "off"), ("500", "on")):
        out = os.path.join(tmp, "hz" + hz)
        p = subprocess.run([IPCPROF, "record", "-q", "--sample-hz", hz, "-o", out, "--",
                            "/usr/bin/python3", "-c", busy], capture_output=True, text=True)
        eq(p.returncode, 0, f"record --sample-hz {hz}: " + p.stderr)
        with open(os.path.join(out, "ipcprof-report.json")) as f:
            cpu = json.load(f)["processes"][0]["cpu"]
        eq((cpu["state"], cpu["hz"]), (state, int(hz)), f"--sample-hz {hz} reaches the preload")
        if hz != "0":
            eq(cpu["samples"] > 0, True, "a busy second at 500 Hz has samples")
    for bad in ("fast", "-1", "100001", ""):
        p = subprocess.run([IPCPROF, "record", "--sample-hz", bad, "--", "/bin/true"],
                           capture_output=True, text=True)
        eq((p.returncode, "--sample-hz wants a number" in p.stderr), (2, True),
           f"--sample-hz {bad!r} refused: {p.stderr.strip()}")

if failures:
    sys.exit(1)
print("ok")
