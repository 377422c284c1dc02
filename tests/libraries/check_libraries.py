"""Runs one library's program (lib_progs.py) three ways and holds ipcprof to what it moved.

Usage: check_libraries.py --ipcprof CMD --preload LIB --progs lib_progs.py CASE

The program runs without ipcprof, under `ipcprof record` and under strace -f with the preload
(the harness of tests/programs): its exit status and output must be the same all three ways, the
bytes each process sent and received per channel kind in the preload run must equal what strace
saw its calls return, and what the case knows about its library must hold in both reports (every
channel between profiled processes paired, shared memory one object per inode with every process
that reached it, the processes' roles).
"""
import argparse
import os
import shutil
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))),
                                "programs"))
import check_programs as cp  # noqa: E402

# The kinds strace names: the bytes of these are held to its figures exactly.
STRACE_KINDS = {k for _, k in cp.KIND}
NEEDS = {"ppe-manager": [], "joblib-array": ["joblib", "numpy"], "joblib-list": ["joblib"],
         "torch-loader": ["torch"], "dask": ["distributed", "numpy"]}

# How long one run may take. Slowness, not a hang: 30 runs of the Dask case under
# `ipcprof record`, three and four at once beside stress-ng --cpu 2 on two cores (load 10-15),
# all ended, in 9 to 54 s (3.5 s alone); a start-up of five Python processes that import Dask
# and talk over TCP stretches with the load. A hang (a deadlock) still fails, later.
RUN_LIMIT_S = 400


def main_index(rep):
    """The program's main process: what the root (bash -c) exec'd itself into last."""
    root = rep["processes"][0]["pid"]
    return max(p["index"] for p in rep["processes"] if p["pid"] == root)


def ends(c):
    return [(e["process"], e["side"], e["out"]["bytes"], e["in"]["bytes"]) for e in c["endpoints"]]


def check_paired(rep, what, fail):
    """Every channel that moved data between two processes is paired: its bytes reached a
    process that is not the writer."""
    for c in rep["channels"]:
        if c["kind"] not in STRACE_KINDS:
            continue
        procs = {e["process"] for e in c["endpoints"]}
        # A message its peer never read (sent as the peer closed) moved nothing between them.
        if len(procs) > 1 and c["bytes_received"] and not c["paired"]:
            fail(f"{what}: {c['label']} joins processes {sorted(procs)} but is not paired: "
                 f"{ends(c)}")


def finding_kinds(rep):
    return {f["kind"] for f in rep["findings"]}


def case_ppe_manager(rep, what, fail):
    roles = [p["role"] for p in rep["processes"]]
    servers = [p["index"] for p in rep["processes"] if p["role"] == "manager server"]
    if len(servers) != 1:
        fail(f"{what}: one manager server among the processes: {roles}")
        return
    s, main = servers[0], main_index(rep)
    cells = {(c["from"], c["to"]) for c in rep["matrix"]}
    if (main, s) not in cells or (s, main) not in cells:
        fail(f"{what}: the matrix has main ({main}) <-> manager server ({s}): {sorted(cells)}")
    socks = [c for c in rep["channels"] if c["kind"] == "unix_stream"
             and {e["process"] for e in c["endpoints"]} == {main, s}]
    # What the server sent after the main process had stopped reading (its last replies at
    # shutdown) was never received: each way, no more received than sent.
    if not socks or not all(c["paired"] and len(c["endpoints"]) == 2 and all(
            x[3] <= y[2] for x, y in ((e1, e2), (e2, e1))) for c in socks
            for e1, e2 in [ends(c)]):
        fail(f"{what}: the proxies' unix connections paired, each way no more received than "
             f"sent: {[(c['label'], ends(c)) for c in socks]}")


def case_joblib_array(rep, what, fail):
    objs = [s for s in rep["shared_memory"] if "/joblib_memmapping_folder_" in s["name"]]
    if len(objs) != 1:
        fail(f"{what}: one joblib memmapped object: {[s['name'] for s in rep['shared_memory']]}")
        return
    o = objs[0]
    workers = {p["index"] for p in rep["processes"] if p["role"].startswith("exec python3")
               and "loky.backend.popen_loky_posix" in p["command"]}
    if len(workers) != 2:
        fail(f"{what}: two loky workers: {[(p['index'], p['role'], p['command'][:60]) for p in rep['processes']]}")
    if not (o["size"] >= 20000000 and o["size"] < 20000000 + 4096):
        fail(f"{what}: the object holds the 20,000,000-byte array: size {o['size']}")
    main = main_index(rep)
    # Which workers ran a task (and so mapped the array) is the pool's choice.
    if main not in o["processes"] or not set(o["processes"]) - {main} or \
            not set(o["processes"]) - {main} <= workers:
        fail(f"{what}: the main process ({main}) and workers of {sorted(workers)} the object's "
             f"processes: {o['processes']}")
    if o.get("writers") != [main] or o.get("written_bytes") != o["size"]:
        fail(f"{what}: the main process wrote the object, all of it: writers {o.get('writers')}, "
             f"{o.get('written_bytes')} bytes of {o['size']}")
    kinds = finding_kinds(rep)
    if "shared_memory" not in kinds or "copied_data" in kinds:
        fail(f"{what}: the advice is the shared array's (shared_memory, not copied_data): "
             f"{sorted(kinds)}")
    if rep["processes"][main]["bytes_sent"] >= 1000000:
        fail(f"{what}: the main process's write into shared memory is no byte sent: "
             f"{rep['processes'][main]['bytes_sent']} bytes sent")


def case_joblib_list(rep, what, fail):
    if any("/joblib_memmapping_folder_" in s["name"] for s in rep["shared_memory"]):
        fail(f"{what}: small objects memmapped: {rep['shared_memory']}")
    kinds = finding_kinds(rep)
    if "copied_data" not in kinds or "shared_memory" in kinds:
        fail(f"{what}: the advice is the copied objects' (copied_data, not shared_memory): "
             f"{sorted(kinds)}")
    pipes = sum(k["sent"] for k in rep["run"]["bytes_by_kind"] if k["kind"] in STRACE_KINDS)
    # 2000 lists of ten strings of 0..99 bytes, pickled once each (every string once per list)
    if pipes < 2000 * 50:
        fail(f"{what}: the items went through pipes or sockets: {pipes} bytes")


def case_torch_loader(rep, what, fail):
    objs = [s for s in rep["shared_memory"] if s["name"].startswith("/torch_")]
    names = [s["name"] for s in objs]
    pids = {p["pid"]: p["index"] for p in rep["processes"]}
    main = main_index(rep)
    # 8 batches, each a data and a label tensor: 16 objects
    if len(objs) != 16 or len(set(names)) != 16 or any("(deleted)" in n for n in names):
        fail(f"{what}: 16 objects, each once by its name: {names}")
    for s in objs:
        maker = pids.get(int(s["name"].split("_")[1]))
        if maker is None or sorted(s["processes"]) != sorted({main, maker}):
            fail(f"{what}: {s['name']} mapped by the worker that made it ({maker}) and the "
                 f"main process ({main}): {s['processes']}")
    data = sorted(s["size"] for s in objs)
    if data != [64] * 8 + [64000] * 8:
        fail(f"{what}: 8 batches of 8x1000 doubles and 8 of 8 labels: sizes {data}")
    # Each object's fd went from its worker to the main process with SCM_RIGHTS, through
    # multiprocessing's resource sharer: counted on both ends of each connection.
    workers = {pids[int(s["name"].split("_")[1])] for s in objs
               if int(s["name"].split("_")[1]) in pids}
    sent, got = {}, {}
    for c in rep["channels"]:
        out = sum(e["fds_passed"] for e in c["endpoints"] if "fds_sent" in e["flags"])
        into = sum(e["fds_passed"] for e in c["endpoints"] if "fds_received" in e["flags"])
        if (out or into) and (out != into or not c["paired"]):
            fail(f"{what}: {c['label']}: fds sent {out}, received {into}, paired {c['paired']}")
        for e in c["endpoints"]:
            for flag, tally in (("fds_sent", sent), ("fds_received", got)):
                if flag in e["flags"]:
                    tally[e["process"]] = tally.get(e["process"], 0) + e["fds_passed"]
    if got != {main: 16} or sum(sent.values()) != 16 or not set(sent) <= workers:
        fail(f"{what}: 16 fds from the workers {sorted(workers)} to the main process {main}: "
             f"sent {sent}, received {got}")
    # The resource sharer accepts on a /tmp/pymp-*/listener-* socket as a Manager's server
    # does: a worker is still a worker.
    roles = {p["index"]: p["role"] for p in rep["processes"]}
    if any(roles.get(w) != "forked worker" for w in workers):
        fail(f"{what}: the workers' roles: {[roles.get(w) for w in sorted(workers)]}")


def tcp_sides(c, what, fail, last_send_unread=False):
    """A Dask TCP connection's {side: (bytes out, bytes in)}, held to have both sides and each
    side's bytes received equal to what the other sent; None when it has not both sides.
    last_send_unread: the bytes of one send call (at most the sender's largest) may be missing
    from the end of what the other side read."""
    sides, big = {}, {}
    for e in c["endpoints"]:
        o, i = sides.get(e["side"], (0, 0))
        sides[e["side"]] = (o + e["out"]["bytes"], i + e["in"]["bytes"])
        big[e["side"]] = max(big.get(e["side"], 0), e["out"]["max_call_bytes"])
    if len(sides) != 2:
        fail(f"{what}: {c['label']} has both ends: {ends(c)}")
        return None
    (s1, (o1, i1)), (s2, (o2, i2)) = sides.items()
    # A side reads what the other sent, or (Dask's last message as a peer shuts down, which
    # strace shows unread too: the per-process figures above equal strace's) none of it.
    for sent, got, last in ((o1, i2, big[s1]), (o2, i1, big[s2])):
        if got != sent and got != 0 and not (last_send_unread and sent - last <= got < sent):
            fail(f"{what}: {c['label']}: bytes equal on both ends: {ends(c)}")
    return sides


def case_dask(rep, what, fail):
    tcp = [c for c in rep["channels"] if c["kind"] == "tcp"]
    if len(tcp) < 4:
        fail(f"{what}: the cluster's TCP connections: {len(tcp)}")
    for c in tcp:
        sides = tcp_sides(c, what, fail)
        if not sides:
            continue
        (o1, i1), (o2, i2) = sides.values()
        procs = {e["process"] for e in c["endpoints"]}
        if len(procs) > 1 and (i1 or i2) and not c["paired"]:
            fail(f"{what}: {c['label']} not paired: {ends(c)}")


CASES = {"ppe-manager": case_ppe_manager, "joblib-array": case_joblib_array,
         "joblib-list": case_joblib_list, "torch-loader": case_torch_loader, "dask": case_dask}


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--ipcprof", required=True)
    ap.add_argument("--preload", required=True)
    ap.add_argument("--progs", required=True)
    ap.add_argument("--keep", action="store_true")
    ap.add_argument("case", choices=sorted(CASES))
    a = ap.parse_args()
    for mod in NEEDS[a.case]:
        if subprocess.run([cp.PY, "-c", f"import {mod}"], capture_output=True).returncode:
            print(f"SKIP: {cp.PY} has no {mod} (scripts/packages.txt names its package)")
            return 77
    if not shutil.which("strace"):
        print("SKIP: strace is not installed")
        return 77
    problems = []
    work = tempfile.mkdtemp(prefix="ipcprof-libraries-")
    cmd = f"{cp.PY} {a.progs} {a.case}"
    try:
        rc0, outs, run_problems, times, sess, sess2, trdir = cp.run_program(a, a.case, cmd,
                                                                            work, RUN_LIMIT_S)
    except subprocess.TimeoutExpired as e:
        print(f"FAIL: {a.case}: a run did not end in {e.timeout:.0f} s: {e.cmd}")
        print(f"kept {work}")
        return 1
    problems += run_problems
    if not (outs[0] == outs[1] == outs[2]) or not outs[0]:
        problems.append(f"output differs: {outs[0][-200:]!r} without, {outs[1][-200:]!r} "
                        f"record, {outs[2][-200:]!r} strace with the preload")
    env = cp.clean_env()
    notes = []
    rep_record = cp.report(a, sess, env, notes)
    rep_preload = cp.report(a, sess2, env, notes)
    st = cp.strace_bytes(trdir)
    ip = {k: n for k, n in cp.report_bytes(rep_preload).items() if k[1] in STRACE_KINDS}
    print(f"{a.case}: {times[0]:.2f} s without, {times[1]:.2f} s record, {times[2]:.2f} s "
          "strace with the preload")
    print(f"{'pid':>8} {'kind':<15} {'dir':<3} {'strace':>10} {'ipcprof':>10}")
    for k in sorted(set(st) | set(ip)):
        mark = "" if st.get(k, 0) == ip.get(k, 0) else "  differs"
        print(f"{k[0]:>8} {k[1]:<15} {k[2]:<3} {st.get(k, 0):>10} {ip.get(k, 0):>10}{mark}")
        if mark:
            problems.append(f"process {k[0]} {k[1]} {k[2]}: strace {st.get(k, 0)}, ipcprof "
                            f"{ip.get(k, 0)}")
    for rep, what in ((rep_record, "ipcprof record"), (rep_preload, "the preload")):
        check_paired(rep, what, problems.append)
        CASES[a.case](rep, what, problems.append)
    for n in notes:
        print(f"note: {n}")
    return finish(problems, work, a.keep)


def finish(problems, work, keep):
    """Says each problem, keeps the work folder or removes it; the exit status."""
    for p in problems:
        print(f"FAIL: {p}")
    if keep:
        print(f"kept {work}")
    else:
        shutil.rmtree(work, ignore_errors=True)
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
