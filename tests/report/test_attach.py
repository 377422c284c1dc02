#!/usr/bin/python3
"""ipcprof record --pid: the probes attach to a Python multiprocessing job that runs already.

Usage: test_attach.py IPCPROF SCHEMA JOB
JOB (attach_job.py) starts a Pool(2) and waits for a go file; ipcprof attaches to it, then the
go is given and the job moves a known number of payload bytes through the Pool's pipes, half
through a second Pool started after the attach. The report must show the bytes moved between the
processes after the attach within 1% of the job's own count (the pickled tasks' framing is the
rest), the first Pool's workers and the later ones as processes, the job's command line and the
attach; the job's output and exit status must be those of a run without ipcprof. Then --duration
and SIGINT end a recording while the job runs on, unharmed. The command line's refusals are
checked too. Exits 77 (skip) when not root or the probes cannot load here.
"""
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "common"))
from checks import check, eq, finish  # noqa: E402

IPCPROF, SCHEMA, JOB = sys.argv[1:4]
SKIP = 77
PY = "/usr/bin/python3"
ROUNDS, ITEMS, ITEM_BYTES, STATUS, SHM_PAGES = 6, 16, 256 * 1024, 5, 1000


def start_job(work, tag):
    ready, go = os.path.join(work, tag + ".ready"), os.path.join(work, tag + ".go")
    job = subprocess.Popen([PY, JOB, ready, go, str(ROUNDS), str(ITEMS), str(ITEM_BYTES),
                            str(STATUS), str(SHM_PAGES)], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                           text=True)
    deadline = time.monotonic() + 30
    while not os.path.exists(ready):
        if job.poll() is not None or time.monotonic() > deadline:
            raise RuntimeError(f"the job did not start: {job.communicate()}")
        time.sleep(0.01)
    with open(ready) as f:
        return job, go, json.load(f)


def finish_job(job, go):
    open(go, "w").close()
    out, err = job.communicate(timeout=120)
    late = json.loads(err.strip().splitlines()[-1])["late_workers"]
    return out, job.returncode, late


def attach(session, *args):
    """Starts ipcprof record --pid ...; returns it once it says it is attached (or has ended)."""
    rec = subprocess.Popen([IPCPROF, "record", "-o", session, *args], stdout=subprocess.PIPE,
                           stderr=subprocess.PIPE, text=True)
    first = rec.stderr.readline()
    return rec, first


def skip_if_no_probes(rec, first):
    if rec.poll() is None or "attached to PID" in first:
        return
    out, err = rec.communicate()
    if rec.returncode == 125 and "needs the eBPF probes" in first + err:
        print("SKIP: the eBPF probes cannot load here:")
        print((first + err).strip())
        sys.exit(SKIP)


def usage_errors(work, job_pid):
    """job_pid: any running process (the refusals come before any attach)."""
    cases = [
        (["--pid", str(job_pid), "--", "true"], "give it no PROGRAM"),
        (["--pid", "999999999"], "no such process"),
        (["--pid", "0"], "--pid wants a process id"),
        (["--pid", str(job_pid), "--duration", "0"], "--duration wants a number of seconds"),
        (["--pid", str(job_pid), "--duration", "-1"], "--duration wants a number of seconds"),
        (["--pid", str(job_pid), "--duration", "nan"], "--duration wants a number of seconds"),
        (["--duration", "2", "--", "true"], "--duration is for --pid"),
        (["--pid", str(job_pid), "--no-probes"], "--pid needs the eBPF probes"),
        (["--pid", str(job_pid), "--probes", "sched"], "--probes sched needs the preload"),
        (["--pid", str(job_pid), "--sample-hz", "50"], "--sample-hz is the preload's"),
        (["--pid", str(job_pid), "--pid", "x"], "--pid wants a process id"),
    ]
    for args, want in cases:
        r = subprocess.run([IPCPROF, "record", "-o", os.path.join(work, "never"), *args],
                           capture_output=True, text=True, timeout=30)
        eq(r.returncode, 2, f"record {' '.join(args)}: exit status")
        check(want in r.stderr, f"record {' '.join(args)}: says {want!r} ({r.stderr.strip()!r})")
    check(not os.path.exists(os.path.join(work, "never")), "no session folder for a usage error")
    # Without the capabilities the probes cannot load: the refusal says why attach needs them.
    setpriv = shutil.which("setpriv")
    if setpriv:
        out = os.path.join(work, "unpriv")
        os.mkdir(out)
        os.chown(out, 65534, 65534)
        r = subprocess.run([setpriv, "--reuid=65534", "--regid=65534", "--clear-groups",
                            IPCPROF, "record", "-o", os.path.join(out, "s"), "--pid",
                            str(job_pid)], capture_output=True, text=True, timeout=30)
        eq(r.returncode, 125, "record --pid without root: exit status")
        check("--pid needs the eBPF probes" in r.stderr and "CAP_BPF" in r.stderr,
              f"record --pid without root says why ({r.stderr.strip()!r})")


def main(work):
    if os.geteuid() != 0:
        print("SKIP: ipcprof record --pid needs root (the eBPF probes)")
        sys.exit(SKIP)

    # The job without ipcprof: its output and exit status to hold the attached run against.
    job, go, _ = start_job(work, "plain")
    plain_out, plain_status, _ = finish_job(job, go)
    eq(plain_status, STATUS, "the job's own exit status")
    moved = int(plain_out.split("moved ")[1].split()[0])
    eq(moved, ROUNDS * ITEMS * ITEM_BYTES, "the job's payload count")

    # Attached before the go, to the end of the job.
    job, go, ready = start_job(work, "attached")
    session = os.path.join(work, "session")
    rec, first = attach(session, "--pid", str(job.pid), "--duration", "120")
    skip_if_no_probes(rec, first)
    if not check("attached to PID %d" % job.pid in first, f"ipcprof says it attached: {first!r}"):
        job.kill()
        return
    check("4 processes" in first,
          f"the job, its 2 workers and the resource tracker are followed: {first!r}")
    out, status, late = finish_job(job, go)
    rec_out, rec_err = rec.communicate(timeout=120)
    eq(rec.returncode, 0, f"ipcprof record --pid (stderr: {rec_err[-2000:]})")
    check("every followed process exited" in rec_err, "it stopped when the job ended")
    eq(out, plain_out, "the job's output is the same under ipcprof")
    eq(status, STATUS, "the job's exit status is the same under ipcprof")
    sys.stdout.write(first + rec_err)

    with open(os.path.join(session, "ipcprof-report.json")) as f:
        rep = json.load(f)
    import jsonschema
    with open(SCHEMA) as f:
        jsonschema.validate(rep, json.load(f))
    check(True, "the report is valid against the schema")
    procs = rep["processes"]
    by_pid = {p["pid"]: p for p in procs}
    root = by_pid.get(job.pid)
    if not check(root is not None, "the job's process is reported"):
        return
    eq(rep.get("attached", {}).get("pid"), job.pid, "attached.pid")
    eq(procs[rep["attached"]["process"]]["pid"], job.pid, "attached.process")
    eq(root["argv"], [PY, JOB, *[os.path.join(work, "attached." + x) for x in ("ready", "go")],
                      str(ROUNDS), str(ITEMS), str(ITEM_BYTES), str(STATUS), str(SHM_PAGES)],
       "the root's argv is the job's command line")
    eq((root["origin"], root["parent"]), ("root", None), "the job is the root")
    eq((root["end"], root["exit_status"]), ("exit", STATUS), "the root's exit status")
    check(rep["run"]["verdict"].startswith("eBPF probes alone, attached to running PID %d: "
                                           % job.pid), f"the verdict: {rep['run']['verdict']!r}")
    att = [f for f in rep["findings"] if f["title"].startswith("Attached to PID %d" % job.pid)]
    check(len(att) == 1 and "only the" in att[0]["title"] and
          " ".join(root["argv"]) in att[0]["detail"], f"the attach's finding: {att!r}")
    check("attached to running PID" in rec_err, "the terminal summary says so")
    # The first Pool's workers ran before the attach; the second's were forked after it.
    for w in ready["workers"] + late:
        p = by_pid.get(w)
        if check(p is not None, f"worker {w} is reported"):
            eq((p["origin"], p["parent_pid"], p["end"], p["exit_status"]),
               ("fork", job.pid, "exit", 0), f"worker {w}: forked by the job, exited 0")
    eq(len(late), 2, "the second Pool had 2 workers")
    # Times count from the run's start, which is the attach: the processes there already start
    # at 0, the later ones after.
    for w in [job.pid] + ready["workers"]:
        p = by_pid.get(w)
        check(p and p["start_ns"] == 0, f"PID {w}: its span starts at the attach")
    for w in late:
        p = by_pid.get(w)
        check(p and p["start_ns"] > 0, f"late worker {w}: starts after the attach")
    # The bytes between the processes after the attach: what the workers received and what
    # the job sent, each the payload and its framing.
    # (The resource tracker's few bytes, the block's unregistering, are not the payload's.)
    received = sum(by_pid[w]["bytes_received"] for w in ready["workers"] + late if w in by_pid)
    sent = root["bytes_sent"]
    for what, got in (("the workers received", received), ("the job sent", sent)):
        print(f"{what} {got} bytes; the job handed them {moved} bytes of payload "
              f"({100.0 * (got - moved) / moved:+.3f}%)")
        check(moved <= got <= moved * 1.01, f"{what} {got} bytes, within 1% of {moved}")
    # The block was mapped before the attach: its faults are shared memory's all the same. The
    # Pools' semaphores (sem_open maps a page of /dev/shm each) add a few more (5 here; 1 when
    # the mappings from before the attach are not known).
    faults = root["kernel"]["shm_faults"]
    check(SHM_PAGES <= faults <= SHM_PAGES + 16,
          f"the job's shared-memory faults: {faults}, the {SHM_PAGES} pages of the block it "
          "mapped before the attach and a few of the semaphores'")
    eq(root["kernel"]["shm_fault_bytes"], faults * os.sysconf("SC_PAGE_SIZE"),
       "shared-memory fault bytes: one page each")
    # Started (fork and exec) before the attach; the kernel keeps no argv, so its role is not
    # told apart from a worker's.
    check(ready["tracker"] in by_pid, "the resource tracker, started before the attach, is reported")
    pipe = next((b for b in rep["run"]["bytes_by_kind"] if b["kind"] == "pipe"), None)
    check(pipe is not None and moved <= pipe["received"] <= moved * 1.01,
          f"bytes_by_kind pipe received within 1% of {moved}: {pipe}")

    # --duration ends the recording; the job runs on, and ends as it would have.
    job, go, ready = start_job(work, "duration")
    session2 = os.path.join(work, "session-duration")
    t0 = time.monotonic()
    rec, first = attach(session2, "--pid", str(job.pid), "--duration", "0.5", "-q")
    skip_if_no_probes(rec, first)
    rec_out, rec_err = rec.communicate(timeout=60)
    took = time.monotonic() - t0
    eq(rec.returncode, 0, f"record --duration 0.5 (stderr: {rec_err[-2000:]})")
    check(took >= 0.5, f"it followed for 0.5 s at least ({took:.2f} s)")
    check(job.poll() is None, "the job runs on after ipcprof stopped")
    with open(os.path.join(session2, "ipcprof-report.json")) as f:
        rep2 = json.load(f)
    pids2 = sorted(p["pid"] for p in rep2["processes"])
    eq(pids2, sorted([job.pid, ready["tracker"]] + ready["workers"]),
       "the job, its workers and the resource tracker, still running")
    eq([p["end"] for p in rep2["processes"]], ["unseen"] * len(pids2),
       "no end seen while followed (they ran on)")
    out, status, _ = finish_job(job, go)
    eq((out, status), (plain_out, STATUS), "the job's output and status after a --duration")

    # SIGINT to ipcprof ends the recording in the same way.
    job, go, ready = start_job(work, "sigint")
    session3 = os.path.join(work, "session-sigint")
    rec, first = attach(session3, "--pid", str(job.pid))
    skip_if_no_probes(rec, first)
    check("attached to PID" in first, f"attached: {first!r}")
    rec.send_signal(signal.SIGINT)
    rec_out, rec_err = rec.communicate(timeout=60)
    eq(rec.returncode, 0, f"record --pid, then SIGINT (stderr: {rec_err[-2000:]})")
    check("Interrupt" in rec_err, "it says SIGINT stopped it")
    check(os.path.exists(os.path.join(session3, "ipcprof-report.json")), "the report is written")
    check(job.poll() is None, "the job runs on after SIGINT to ipcprof")
    out, status, _ = finish_job(job, go)
    eq((out, status), (plain_out, STATUS), "the job's output and status after a SIGINT")

    usage_errors(work, os.getpid())


if __name__ == "__main__":
    work = tempfile.mkdtemp(prefix="ipcprof-attach-")
    os.chmod(work, 0o755)
    try:
        main(work)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    finish(counts=True)
