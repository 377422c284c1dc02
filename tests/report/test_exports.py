#!/usr/bin/python3
"""The exports of a real session (the seed's Pool demo under `ipcprof record`): the Chrome trace
against the Trace Event Format's rules, and the folded stacks' weights against the profile's time.

usage: test_exports.py IPCPROF DEMO.py   (or --check SESSION to check a session's exports alone)"""
import json
import os
import subprocess
import sys
import tempfile
from collections import defaultdict

failures = []


def fail(what):
    failures.append(what)
    print("FAIL: " + what)


def us_to_ns(x):
    # the trace writes microseconds with three decimals: integer nanoseconds compare exactly
    return round(x * 1000)


def check_trace(path):
    with open(path) as f:
        trace = json.load(f)
    events = trace.get("traceEvents")
    if not isinstance(events, list) or not events:
        return fail("traceEvents: not a non-empty list")
    names = {}  # (kind, pid, tid) -> name from M events
    used = set()  # (pid, tid) of every non-metadata event
    slices = defaultdict(list)
    flows = defaultdict(list)
    counters = defaultdict(list)
    for n, e in enumerate(events):
        where = f"event {n} {json.dumps(e)[:160]}"
        if not isinstance(e, dict):
            fail(f"{where}: not an object")
            continue
        ph = e.get("ph")
        if not isinstance(ph, str) or ph not in "XMsfC" or len(ph) != 1:
            fail(f"{where}: ph {ph!r} not one the exporter writes")
            continue
        if not isinstance(e.get("name"), str) or not e["name"]:
            fail(f"{where}: no name")
        for key in ("pid", "tid"):
            if not isinstance(e.get(key), int) or isinstance(e.get(key), bool):
                fail(f"{where}: {key} not an integer")
        key = (e.get("pid"), e.get("tid"))
        if ph != "M" and (not isinstance(e.get("ts"), (int, float)) or isinstance(e.get("ts"), bool)):
            fail(f"{where}: ts not a number")
            continue
        if ph == "M":
            if e["name"] in ("process_name", "thread_name"):
                name = e.get("args", {}).get("name")
                if not isinstance(name, str) or not name:
                    fail(f"{where}: metadata without a name")
                names[(e["name"], e["pid"], e["tid"] if e["name"] == "thread_name" else None)] = name
            continue
        used.add(key)
        if ph == "X":
            if not isinstance(e.get("dur"), (int, float)) or e["dur"] < 0:
                fail(f"{where}: dur missing or negative")
                continue
            start = us_to_ns(e["ts"])
            slices[key].append((start, start + us_to_ns(e["dur"]), e["name"]))
        elif ph in "sf":
            if not isinstance(e.get("id"), (int, str)):
                fail(f"{where}: flow without an id")
                continue
            if ph == "f" and e.get("bp") != "e":
                fail(f"{where}: flow finish without bp 'e' (binds to the next slice)")
            flows[(e.get("cat"), e["name"], e["id"])].append((ph, key, us_to_ns(e["ts"])))
        elif ph == "C":
            args = e.get("args")
            if not isinstance(args, dict) or not args or \
                    not all(isinstance(v, (int, float)) for v in args.values()):
                fail(f"{where}: counter without numeric args")
                continue
            counters[(e["pid"], e["name"], e.get("id"))].append((us_to_ns(e["ts"]), args))

    # metadata for every process and thread an event is on; a name that is not an argv
    for pid, tid in sorted(used):
        pname = names.get(("process_name", pid, None))
        if pname is None:
            fail(f"pid {pid}: no process_name")
        elif len(pname) > 80 or " -" in pname or "/" in pname:
            fail(f"pid {pid}: process_name {pname!r} carries a command line")
        if ("thread_name", pid, tid) not in names:
            fail(f"pid {pid} tid {tid}: no thread_name")

    # complete events of one thread nest: each lies within the one open around it, or after it
    nx = 0
    for key, evs in slices.items():
        evs.sort(key=lambda s: (s[0], -s[1]))
        stack = []
        for start, end, name in evs:
            nx += 1
            while stack and start >= stack[-1][1]:
                stack.pop()
            if stack and end > stack[-1][1]:
                fail(f"pid {key[0]} tid {key[1]}: {name!r} [{start}, {end}] ns overlaps "
                     f"{stack[-1][2]!r} [{stack[-1][0]}, {stack[-1][1]}] without nesting")
                break
            stack.append((start, end, name))

    # every flow starts once, finishes once, later or in a slice, both inside a slice of their thread
    def inside(key, ts):
        return any(s <= ts <= e for s, e, _ in slices.get(key, ()))

    for fid, evs in flows.items():
        phs = sorted(ph for ph, _, _ in evs)
        if phs != ["f", "s"]:
            fail(f"flow {fid}: phases {phs}, want one s and one f")
            continue
        for ph, key, ts in evs:
            if not inside(key, ts):
                fail(f"flow {fid}: its {ph} at {ts} ns is inside no slice of pid/tid {key}")

    # counters: bytes so far, so every series only grows
    for key, evs in counters.items():
        evs.sort(key=lambda c: c[0])
        for (_, a), (ts, b) in zip(evs, evs[1:]):
            for series in b:
                if b[series] < a.get(series, 0):
                    fail(f"counter {key} {series}: falls from {a.get(series)} to {b[series]} at {ts} ns")
                    break
    print(f"trace: {len(events)} events, {nx} complete, {len(flows)} flows, "
          f"{len(counters)} counter series, {len(used)} threads")
    return len(flows), len(counters)


def check_folded(session):
    with open(os.path.join(session, "ipcprof-report.json")) as f:
        rep = json.load(f)
    stacks = rep["profile"]["stacks"]
    want_us = sum(s["ns"] for s in stacks) / 1000
    got_us, lines = 0, 0
    with open(os.path.join(session, "ipcprof-folded.txt")) as f:
        for line in f:
            stack, _, weight = line.rstrip("\n").rpartition(" ")
            if not stack or not weight.isdigit():
                fail(f"folded: line {line!r} is not 'stack integer'")
                continue
            got_us += int(weight)
            lines += 1
    # each line's weight is rounded to a microsecond once
    print(f"folded: {lines} lines, {got_us} us; the profile's stacks: {want_us:.0f} us")
    if abs(got_us - want_us) > lines / 2 + 1:
        fail(f"folded weights sum to {got_us} us, the profile's sampled time is {want_us:.0f} us")
    if want_us == 0:
        fail("the session has no CPU sample: nothing checked")


def main():
    if sys.argv[1] == "--check":
        check_trace(os.path.join(sys.argv[2], "ipcprof-trace.json"))
        check_folded(sys.argv[2])
    else:
        ipcprof, demo = sys.argv[1:3]
        with tempfile.TemporaryDirectory() as tmp:
            session = os.path.join(tmp, "s")
            with open(os.path.join(tmp, "out"), "w") as out:
                subprocess.run([ipcprof, "record", "-q", "-o", session, "--", "/usr/bin/python3",
                                demo, "-n", "300000"], stdout=out, stderr=out, check=True)
            p = subprocess.run([ipcprof, "report", "-q", "-f", "perfetto,folded", session],
                               capture_output=True, text=True)
            if p.returncode != 0:
                fail(f"report -f perfetto,folded: status {p.returncode}: {p.stderr}")
            else:
                nflow, ncounter = check_trace(os.path.join(session, "ipcprof-trace.json"))
                # the Pool sends each worker its array through one pipe: large sends, one writer
                if nflow == 0:
                    fail("no flow from a send to its receive")
                if ncounter == 0:
                    fail("no byte counter")
                check_folded(session)
    if failures:
        print(f"{len(failures)} failures")
        sys.exit(1)
    print("ok")


main()
