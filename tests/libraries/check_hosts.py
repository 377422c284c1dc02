"""One Dask job on three hosts, each recorded on its own, merged by one `ipcprof report`.

Usage: check_hosts.py --ipcprof CMD --progs lib_progs.py

Three network namespaces joined by a bridge (in a fourth) stand for three machines: each runs
its part under `unshare --uts` with a hostname of its own and under an `ipcprof record -o` of
its own: h-sched the scheduler and the client (lib_progs.py dask-hosts), h-work1 and h-work2 a
worker each. `ipcprof report` of the three session folders must hold the three hostnames, pair
every TCP connection across the hosts (each end found in the session of its own host) with the
bytes one end sent equal to what the other received, and show the host-to-host bytes.
Needs root, `ip netns` and unshare; skips (77) without them.
"""
import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import check_libraries as cl  # noqa: E402

cp = cl.cp
HOSTS = ["h-sched", "h-work1", "h-work2"]
NET = "10.199.0."
PORT = 8786
SCHED = f"tcp://{NET}1:{PORT}"
# How long the whole job may take: the start of four Python processes importing Dask, three
# recorders and the report, on a loaded machine (RUN_LIMIT_S of check_libraries.py is one
# cluster's); a hang still fails.
LIMIT_S = 600
# What the client prints: the sum of 0..999999 (on h-work2), of 1,000,000 ones (on h-work1).
EXPECT = "499999500000.0\n1000000.0\n"
# The arrays' bytes: 1,000,000 float64 each. Dask adds its framing and other messages share
# the connections, so these are lower bounds of what crossed.
ARRAY = 8000000


def sh(*argv):
    subprocess.run(argv, check=True, capture_output=True, timeout=60)


class Net:
    """The namespaces, named by this test's pid; close() removes them and ends what is left
    of the processes this test started in them."""

    def __init__(self):
        tag = f"ipcp{os.getpid()}"
        self.sw = f"{tag}-sw"
        self.ns = [f"{tag}-{i}" for i in range(len(HOSTS))]
        self.made = []

    def open(self):
        sh("ip", "netns", "add", self.sw)
        self.made.append(self.sw)
        sh("ip", "-n", self.sw, "link", "add", "br0", "type", "bridge")
        sh("ip", "-n", self.sw, "link", "set", "br0", "up")
        for i, ns in enumerate(self.ns):
            sh("ip", "netns", "add", ns)
            self.made.append(ns)
            sh("ip", "link", "add", "eth0", "netns", ns, "type", "veth", "peer", "name",
               f"p{i}", "netns", self.sw)
            sh("ip", "-n", self.sw, "link", "set", f"p{i}", "master", "br0", "up")
            sh("ip", "-n", ns, "addr", "add", f"{NET}{i + 1}/24", "dev", "eth0")
            sh("ip", "-n", ns, "link", "set", "eth0", "up")
            sh("ip", "-n", ns, "link", "set", "lo", "up")

    def close(self, procs):
        for p in procs:
            if p.poll() is None:
                os.killpg(p.pid, 9)
                p.wait()
        for ns in reversed(self.made):
            subprocess.run(["ip", "netns", "del", ns], capture_output=True)


def host_cmd(a, net, i, sess, prog):
    """PROGRAM on host i: its namespace, its hostname, its own recorder. The eBPF probes stay
    off: the preload counts every byte held here, and three recorders' probes on one kernel
    would see the others' hosts too."""
    return ["ip", "netns", "exec", net.ns[i], "unshare", "--uts", "sh", "-c",
            'hostname "$0" && exec "$@"', HOSTS[i], a.ipcprof, "record", "-q", "--no-probes",
            "-o", sess, "--"] + prog


def listening(net):
    p = subprocess.run(["ip", "netns", "exec", net.ns[0], "ss", "-Htln", f"sport = :{PORT}"],
                       capture_output=True, text=True, timeout=60)
    return bool(p.stdout.strip())


def run_job(a, net, work, fail):
    """Starts the scheduler's host, then (once the scheduler listens) the workers'; returns
    the session folders and the client's output."""
    sess = [os.path.join(work, h) for h in HOSTS]
    env = cp.clean_env()
    procs, outs = [], []

    def start(i, prog):
        out = open(os.path.join(work, HOSTS[i] + ".out"), "w+")
        err = open(os.path.join(work, HOSTS[i] + ".err"), "w+")
        outs.append((out, err))
        procs.append(subprocess.Popen(host_cmd(a, net, i, sess[i], prog), env=env, stdout=out,
                                      stderr=err, stdin=subprocess.DEVNULL,
                                      start_new_session=True))

    sched = (f"{cp.PY} -m distributed.cli.dask_scheduler --host {NET}1 --port {PORT} "
             f"--no-dashboard & {cp.PY} {a.progs} dask-hosts {SCHED}; rc=$?; wait; exit $rc")
    deadline = time.monotonic() + LIMIT_S
    try:
        start(0, ["sh", "-c", sched])
        while not listening(net):
            if procs[0].poll() is not None or time.monotonic() > deadline:
                fail(f"the scheduler did not listen on {SCHED}")
                return None, ""
            time.sleep(0.2)
        # No nanny: the worker is the process that talks to the others (a nanny would only
        # add a parent that restarts it), and it ends when the scheduler closes it.
        for i in (1, 2):
            start(i, [cp.PY, "-m", "distributed.cli.dask_worker", SCHED, "--nworkers", "1",
                      "--nthreads", "1", "--no-nanny", "--no-dashboard", "--host",
                      f"{NET}{i + 1}", "--death-timeout", str(LIMIT_S)])
        for i, p in enumerate(procs):
            try:
                rc = p.wait(timeout=max(1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                fail(f"{HOSTS[i]} did not end in {LIMIT_S} s")
                return None, ""
            if rc:
                outs[i][1].seek(0)
                fail(f"{HOSTS[i]}: exit {rc}: {outs[i][1].read()[-600:]}")
        outs[0][0].seek(0)
        return sess, outs[0][0].read()
    finally:
        net.close(procs)
        for o in outs:
            for f in o:
                f.close()


def check_report(rep, fail):
    procs = rep["processes"]
    names = {p["hostname"] for p in procs}
    if names != set(HOSTS):
        fail(f"the processes' hostnames: {sorted(names)}")
    for p in procs:
        if p["hostname"] != HOSTS[p["session"]]:
            fail(f"process {p['index']} ({p['command'][:60]}) of session {p['session']} on "
                 f"{p['hostname']}")
    host = [p["hostname"] for p in procs]
    crossed = {}
    for c in rep["channels"]:
        if c["kind"] != "tcp":
            continue
        # When the client shuts the cluster down, the scheduler closes its connection to a
        # worker as the worker sends its last message (144 bytes, in 1 run of 2 to 1 of 10
        # here): the scheduler never reads it.
        sides = cl.tcp_sides(c, "merged report", fail, last_send_unread=True)
        if not sides:
            continue
        if not c["paired"]:
            fail(f"{c['label']} not paired: {cl.ends(c)}")
        on = {s: {host[e["process"]] for e in c["endpoints"] if e["side"] == s} for s in sides}
        hs = [h for s in sorted(on) for h in on[s]]
        if len(hs) != 2:
            fail(f"{c['label']}: each side on one host: {on}")
            continue
        if hs[0] != hs[1]:
            for e in c["endpoints"]:
                out = e["out"]["bytes"]
                to = hs[1] if host[e["process"]] == hs[0] else hs[0]
                key = (host[e["process"]], to)
                crossed[key] = crossed.get(key, 0) + out
    print("bytes between the hosts over TCP (both ends recorded):")
    for (f, t), n in sorted(crossed.items()):
        print(f"  {f} -> {t}: {n}")
    # The client's array to each worker, and each worker's fetch of the other's.
    for f, t in (("h-sched", "h-work1"), ("h-sched", "h-work2"), ("h-work1", "h-work2"),
                 ("h-work2", "h-work1")):
        if crossed.get((f, t), 0) < ARRAY:
            fail(f"{f} -> {t}: at least the {ARRAY}-byte array crossed: {crossed.get((f, t))}")
    check_host_view(rep, fail)


def check_host_view(rep, fail):
    """The report's hosts and host-to-host matrix: the process matrix summed by host."""
    hosts = rep.get("hosts", [])
    names = [h["name"] for h in hosts]
    if sorted(names) != sorted(HOSTS):
        fail(f"the report's hosts: {names}")
        return
    host = {p["index"]: p["host"] for p in rep["processes"]}
    for h, x in enumerate(hosts):
        mine = sorted(i for i, n in host.items() if n == h)
        if x["processes"] != mine:
            fail(f"host {x['name']}: processes {x['processes']}, not {mine}")
    want = {}
    for c in rep["matrix"]:
        k = (host[c["from"]], host[c["to"]])
        want[k] = want.get(k, 0) + c["bytes"]
    got = {(c["from"], c["to"]): c["bytes"] for c in rep["host_matrix"]}
    if got != want:
        fail(f"host_matrix {got}, the process matrix by host {want}")
    print("host matrix:", {f"{names[f]} -> {names[t]}": n for (f, t), n in sorted(got.items())})


def check_summary(text, fail):
    """The summary's hosts table: a row per host, a line per pair of hosts that talked."""
    rows = [ln.split() for ln in text.splitlines()]
    table = [" ".join(r) for r in rows if r[:1] == ["HOST"] or r[:1] and r[0] in HOSTS]
    for h in HOSTS:
        if not any(r[:1] == [h] and len(r) == 6 for r in rows):
            fail(f"the summary has a row for host {h}: {table}")
    for f, t in (("h-sched", "h-work1"), ("h-sched", "h-work2"), ("h-work1", "h-work2"),
                 ("h-work2", "h-work1")):
        if not any(r[:3] == [f, "->", t] for r in rows):
            fail(f"the summary has the bytes {f} -> {t}: {table}")


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--ipcprof", required=True)
    ap.add_argument("--progs", required=True)
    ap.add_argument("--keep", action="store_true")
    a = ap.parse_args()
    if os.geteuid() != 0:
        print("SKIP: network namespaces and hostnames need root")
        return 77
    for tool in ("ip", "unshare", "ss"):
        if not shutil.which(tool):
            print(f"SKIP: {tool} is not installed")
            return 77
    for mod in cl.NEEDS["dask"]:
        if subprocess.run([cp.PY, "-c", f"import {mod}"], capture_output=True).returncode:
            print(f"SKIP: {cp.PY} has no {mod} (scripts/packages.txt names its package)")
            return 77
    net = Net()
    try:
        net.open()
    except subprocess.CalledProcessError as e:
        net.close([])
        print(f"SKIP: no network namespaces here: {' '.join(e.cmd)}: "
              f"{e.stderr.decode(errors='replace').strip()}")
        return 77
    problems = []
    work = tempfile.mkdtemp(prefix="ipcprof-hosts-")
    t = time.monotonic()
    sess, out = run_job(a, net, work, problems.append)
    print(f"the job: {time.monotonic() - t:.1f} s")
    if sess and out != EXPECT:
        problems.append(f"the client printed {out!r}, not {EXPECT!r}")
    if sess and not problems:
        rdir = os.path.join(work, "report")
        os.makedirs(rdir)
        p = subprocess.run([a.ipcprof, "report", "-o", rdir] + sess, env=cp.clean_env(),
                           capture_output=True, text=True, timeout=LIMIT_S)
        if p.returncode:
            problems.append(f"ipcprof report: exit {p.returncode}: {p.stderr.strip()}")
        else:
            with open(os.path.join(rdir, "ipcprof-report.json")) as f:
                check_report(json.load(f), problems.append)
            check_summary(p.stderr, problems.append)
    # A failed run's folders are what there is to look at.
    return cl.finish(problems, work, a.keep or bool(problems))


if __name__ == "__main__":
    sys.exit(main())
