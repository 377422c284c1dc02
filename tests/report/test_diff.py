#!/usr/bin/python3
"""ipcprof diff on real sessions: a demo's copy and shared-memory variants recorded with `ipcprof record`,
compared as text, JSON (validated against ipcprof-diff.schema.json) and HTML (parsed, well formed);
the bytes per channel kind must be each session's own figures exactly, the changes must go the
way the variants differ, and bad input must get a clear error and its exit status.

Usage: test_diff.py IPCPROF DIFF_SCHEMA c DEMO_COPY DEMO_SHM
       test_diff.py IPCPROF DIFF_SCHEMA python PYTHON_DEMO_DIR
"""
import html.parser
import json
import os
import shutil
import subprocess
import sys
import tempfile

IPCPROF, DIFF_SCHEMA, CASE = sys.argv[1:4]
PROGRAMS = sys.argv[4:]
PY = "/usr/bin/python3"
failures = []


def check(ok, what):
    if not ok:
        failures.append(what)
        print("FAIL:", what)
    return ok


def eq(got, want, what):
    return check(got == want, f"{what}: got {got!r}, want {want!r}")


def run(*args, **kw):
    return subprocess.run([IPCPROF, *args], capture_output=True, text=True, **kw)


def record(tmp, name, argv):
    """One profiled run into tmp/name; its own printout (key=value lines) as a dict."""
    out = os.path.join(tmp, name)
    with open(out + ".txt", "w") as so, open(out + ".log", "w") as se:
        p = subprocess.run([IPCPROF, "record", "-q", "-o", out, "--", *argv], stdout=so, stderr=se)
    if not eq(p.returncode, 0, f"record {name}"):
        print(open(out + ".log").read())
        sys.exit(1)
    figures = {}
    for line in open(out + ".txt"):
        for tok in line.split():
            k, sep, v = tok.partition("=")
            if sep:
                figures[k] = v
    return out, figures


def report_of(session):
    with open(os.path.join(session, "ipcprof-report.json")) as f:
        return json.load(f)


def report_now(tmp, session):
    """The report of a session's records as they are now (the one `ipcprof record` wrote can
    predate the end of a process that outlived the program, such as Python's resource tracker)."""
    out = os.path.join(tmp, "now-" + os.path.basename(session))
    p = run("report", "-q", "-o", out, session)
    eq(p.returncode, 0, f"report {session}: {p.stderr}")
    return report_of(out)


def diff_json(before, after):
    p = run("diff", "-f", "json", before, after)
    eq((p.returncode, p.stderr), (0, ""), f"diff -f json {before} {after}")
    return json.loads(p.stdout)


def validate(d, what):
    try:
        import jsonschema
    except ImportError:
        print("python3-jsonschema is missing: the schema is not checked")
        return
    with open(DIFF_SCHEMA) as f:
        schema = json.load(f)
    try:
        jsonschema.validate(d, schema)
    except jsonschema.ValidationError as e:
        check(False, f"{what} against ipcprof-diff.schema.json: {e.message} at {list(e.path)}")


def kinds_of(rep):
    return {k["kind"]: k for k in rep["run"]["bytes_by_kind"]}


def check_kinds(d, rb, ra, what):
    """Every kind's figures are each report's own, exactly; a kind a report lacks is 0 there."""
    kb, ka = kinds_of(rb), kinds_of(ra)
    rows = {r["kind"]: r for r in d["bytes_by_kind"]}
    eq(sorted(rows), sorted(set(kb) | set(ka)), f"{what}: the kinds of both runs")
    for kind, r in rows.items():
        for fig in ("sent", "received", "calls", "channels"):
            b = kb.get(kind, {}).get(fig, 0)
            a = ka.get(kind, {}).get(fig, 0)
            eq((r[fig]["before"], r[fig]["after"], r[fig]["change"]), (b, a, a - b),
               f"{what}: {kind} {fig}")
    for fig in ("sent", "received"):
        b = sum(k[fig] for k in kb.values())
        a = sum(k[fig] for k in ka.values())
        eq((d["bytes_total"][fig]["before"], d["bytes_total"][fig]["after"]), (b, a),
           f"{what}: total {fig}")


def check_processes(d, rb, ra, what):
    """Each row's figures are its processes' own; every process appears once; roles agree."""
    pb, pa = rb["processes"], ra["processes"]
    seen_b, seen_a = [], []
    for r in d["processes"]:
        for side, procs, seen in (("before", pb, seen_b), ("after", pa, seen_a)):
            if r[side] is None:
                eq(r["bytes_sent"][side], None, f"{what}: a row without {side} has no {side}")
                continue
            p = procs[r[side]["index"]]
            seen.append(p["index"])
            eq((r[side]["pid"], r["role"]), (p["pid"], p["role"]), f"{what}: row of {side} pid")
            eq((r["bytes_sent"][side], r["bytes_received"][side], r["wall_ns"][side]),
               (p["bytes_sent"], p["bytes_received"], p["wall_ns"]),
               f"{what}: {side} figures of pid {p['pid']}")
        if r["before"] and r["after"]:
            check(r["match"] in ("command", "order"), f"{what}: a matched row says how")
            eq(r["wall_ns"]["change"], r["wall_ns"]["after"] - r["wall_ns"]["before"],
               f"{what}: wall change")
    eq(sorted(seen_b), list(range(len(pb))), f"{what}: every process of before once")
    eq(sorted(seen_a), list(range(len(pa))), f"{what}: every process of after once")


class Page(html.parser.HTMLParser):
    """Checks that every element is closed in order, and keeps the page's text and data block."""
    VOID = {"meta", "br", "img", "link", "input", "hr", "col", "wbr"}

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.stack, self.errors, self.text, self.scripts, self.urls = [], [], [], [], []
        self.in_script = None

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        for k in ("src", "href"):
            if k in a:
                self.urls.append(a[k])
        if tag == "script":
            self.in_script = a.get("type")
            self.scripts.append([a.get("type"), ""])
        if tag not in self.VOID:
            self.stack.append(tag)

    def handle_endtag(self, tag):
        if not self.stack or self.stack[-1] != tag:
            self.errors.append(f"</{tag}> closes {self.stack[-1:] or 'nothing'}")
            return
        self.stack.pop()
        if tag == "script":
            self.in_script = None

    def handle_data(self, data):
        if self.in_script is not None:
            self.scripts[-1][1] += data
        else:
            self.text.append(data)


def check_html(path, want, what):
    with open(path, encoding="utf-8") as f:
        page = f.read()
    eq(page.startswith("<!DOCTYPE html>"), True, f"{what}: a doctype first")
    parser = Page()
    parser.feed(page)
    parser.close()
    eq(parser.errors, [], f"{what}: elements closed in order")
    eq(parser.stack, [], f"{what}: every element closed")
    eq(parser.urls, [], f"{what}: nothing loaded from elsewhere (self-contained)")
    eq([t for t, _ in parser.scripts], ["application/json"], f"{what}: one data block, no script")
    if parser.scripts:
        eq(json.loads(parser.scripts[0][1]), want, f"{what}: the data block is the JSON output")
    return " ".join(parser.text)


def check_self(session, rep, what):
    """A run against itself: no change at all, every process matched by its command line."""
    d = diff_json(session, session)
    validate(d, what)
    for k, v in d["run"].items():
        eq(v["change"] in (0, None), True, f"{what}: run.{k} unchanged")
    for r in d["processes"]:
        eq(r["match"], "command", f"{what}: pid {r['before']['pid']} matched by its command line")
        eq(r["before"]["pid"], r["after"]["pid"], f"{what}: matched to itself")
    eq({f["status"] for f in d["findings"]} <= {"both"}, True, f"{what}: findings all in both")
    eq(len(d["findings"]), min(len(rep["findings"]), 5), f"{what}: the top 5 findings")


def check_pair(tmp, copy, shm, demo_copy, demo_shm, times):
    rc, rs = report_now(tmp, copy), report_now(tmp, shm)
    d = diff_json(copy, shm)
    validate(d, "diff copy shm")
    check_kinds(d, rc, rs, "copy -> shm")
    check_processes(d, rc, rs, "copy -> shm")
    eq((d["before"]["source"], d["after"]["source"], d["before"]["input"]), (copy, shm, "session"),
       "the sides named")
    eq((d["before"]["verdict"], d["after"]["verdict"]), (rc["run"]["verdict"], rs["run"]["verdict"]),
       "the verdicts")

    # The direction of change: the shared-memory variant moves its array through memory, and
    # almost nothing through pipes.
    pipe = next(r for r in d["bytes_by_kind"] if r["kind"] == "pipe")
    check(pipe["sent"]["change"] < 0 and pipe["sent"]["after"] * 1000 < pipe["sent"]["before"],
          f"far fewer bytes through pipes with shared memory: {pipe['sent']}")
    check(pipe["sent"]["change_pct"] < -99, f"pipe bytes fall by more than 99%: {pipe['sent']}")
    eq(d["run"]["shared_memory_bytes"]["before"], 0, "the copy variant shares no memory")
    check(d["run"]["shared_memory_bytes"]["after"] >= int(demo_shm["bytes_shared"]),
          f"the shm variant's shared memory holds its array: {d['run']['shared_memory_bytes']}")
    eq(d["run"]["shared_memory_bytes"]["change_pct"], None, "no percentage from nothing")
    if times:
        # The C copy variant's workers spend most of their time receiving (tens of ms at this
        # size), the shm variant's microseconds: a margin no machine's speed closes. The Python
        # Pool's small arrays move in a few ms, which a loaded machine's waits can outweigh.
        move = next(p for p in d["time"]["parts"] if p["part"] == "data_movement")
        check(move["ns"]["after"] * 20 < move["ns"]["before"],
              f"far less time moving data with shared memory: {move['ns']}")
        eq(d["run"]["data_movement_share"]["change"] < 0, True, "a smaller data-movement share")

    # The processes: the main process and each worker matched, none left over.
    roles = [(r["role"], r["match"]) for r in d["processes"]]
    eq(roles[0], ("main", "order"), "the main processes matched (other programs: not by command)")
    eq(all(r["before"] and r["after"] for r in d["processes"] if r["role"] != "resource tracker"),
       True, f"every worker matched: {roles}")
    workers = [r for r in d["processes"] if r["role"].endswith("worker")]
    eq(len(workers), 4, "four workers in the rows")
    # Pool hands tasks to whichever worker asks first, so one worker may take two tasks and
    # another none: a worker that received no array before can receive a few more small
    # messages after. What shared memory changes is that no worker receives an array.
    got = {side: [r["bytes_received"][side] or 0 for r in workers] for side in ("before", "after")}
    check(sum(got["after"]) * 100 < sum(got["before"]),
          f"the workers receive under 1% of the bytes with shared memory: {got}")
    check(max(got["after"]) * 100 < max(got["before"]),
          f"no worker receives an array with shared memory: {got}")

    # The findings: the copy variant sends its array again and again, the shm variant never;
    # where that is among the copy run's top findings (they rank by time), it is gone.
    kinds = {(f["kind"], f["status"]) for f in d["findings"]}
    check(any(f["kind"] == "repeated_payload" for f in rc["findings"]), "copy repeats its payload")
    check(all(f["kind"] != "repeated_payload" for f in rs["findings"]), "shm repeats none")
    if any(f["kind"] == "repeated_payload" for f in rc["findings"][:5]):
        check(("repeated_payload", "gone") in kinds, f"the repeated payload gone: {kinds}")
    tops = [f["before"]["title"] for f in d["findings"] if f["before"]]
    eq(tops, [f["title"] for f in rc["findings"][:5]], "before's top findings, in order")

    # The other way round, every change turns.
    r = diff_json(shm, copy)
    validate(r, "diff shm copy")
    pr = next(x for x in r["bytes_by_kind"] if x["kind"] == "pipe")
    eq((pr["sent"]["before"], pr["sent"]["after"], pr["sent"]["change"]),
       (pipe["sent"]["after"], pipe["sent"]["before"], -pipe["sent"]["change"]), "reversed")
    if ("repeated_payload", "gone") in kinds:
        check(("repeated_payload", "new") in {(f["kind"], f["status"]) for f in r["findings"]},
              "the repeated payload new the other way round")

    # Reports' JSON files compare as their folders do: the figures are the files' own.
    jc, js = (os.path.join(s, "ipcprof-report.json") for s in (copy, shm))
    dj = diff_json(jc, js)
    validate(dj, "diff of report files")
    eq((dj["before"]["input"], dj["after"]["input"]), ("report", "report"), "JSON files are reports")
    check_kinds(dj, report_of(copy), report_of(shm), "report files")
    check_processes(dj, report_of(copy), report_of(shm), "report files")
    eq(dj["bytes_by_kind"], d["bytes_by_kind"], "the report files' bytes are the folders'")

    # Text: the figures in a terminal's columns.
    p = run("diff", copy, shm)
    eq((p.returncode, p.stderr), (0, ""), "diff as text")
    lines = p.stdout.splitlines()
    line = next((l for l in lines if l.split()[:1] == ["pipe"]), "")
    cols = line.split()
    eq(cols[1:4], [f"{pipe['sent']['before']:,}", f"{pipe['sent']['after']:,}",
                   f"{pipe['sent']['change']:,}"], "the pipe row of the text")
    check(rc["run"]["verdict"] in p.stdout and rs["run"]["verdict"] in p.stdout, "the verdicts shown")
    check(any(l.split()[:1] == ["main"] for l in lines), "the main process's row shown")

    # HTML: one well-formed page, the same figures.
    page = os.path.join(tmp, "out", "diff.html")
    p = run("diff", "-f", "html", "-o", page, copy, shm)
    eq((p.returncode, p.stderr, p.stdout), (0, "", ""), "diff -f html -o FILE")
    eq(os.stat(page).st_mode & 0o777, 0o600, "the page is made 0600")
    text = check_html(page, d, "diff.html")
    check(f"{pipe['sent']['before']:,}" in text, "the page shows the pipe bytes")
    p = run("diff", "-f", "json", "-o", os.path.join(tmp, "out", "diff.json"), copy, shm)
    eq(p.returncode, 0, "diff -f json -o FILE")
    with open(os.path.join(tmp, "out", "diff.json")) as f:
        eq(json.load(f), d, "-o FILE holds what stdout does")

    check_self(copy, rc, "copy against itself")
    check_self(shm, rs, "shm against itself")
    return d


def check_errors(tmp, session):
    """Bad input: a clear error, the exit status documented in --help, nothing on stdout."""
    p = run("diff", "--help")
    eq(p.returncode, 0, "diff --help")
    check("Usage: ipcprof diff" in p.stdout and "Exit status" in p.stdout, "--help says usage and exit status")
    p = run("--help")
    check(" diff " in p.stdout, "ipcprof --help lists diff")
    missing = os.path.join(tmp, "no-such-session")
    empty = os.path.join(tmp, "empty")
    os.mkdir(empty)
    junk = os.path.join(tmp, "junk.json")
    with open(junk, "w") as f:
        f.write('{"format": "ipcprof-report", "version": 1, "run": {')
    other = os.path.join(tmp, "other.json")
    with open(other, "w") as f:
        json.dump({"format": "something-else"}, f)
    partial = os.path.join(tmp, "partial.json")
    rep = report_of(session)
    del rep["run"]["bytes_by_kind"]
    with open(partial, "w") as f:
        json.dump(rep, f)
    cases = [
        (["diff"], "wants two runs"),
        (["diff", session], "wants two runs"),
        (["diff", session, session, session], "compares two runs, not more"),
        (["diff", "-f", "pdf", session, session], "unknown format 'pdf'"),
        (["diff", "--no-such-option", session, session], "(try 'ipcprof diff --help')"),
        (["diff", missing, session], f"cannot read {missing}: No such file or directory"),
        (["diff", session, empty], f"not a session folder"),
        (["diff", session, junk], f"{junk} is neither a session folder nor a report's JSON"),
        (["diff", other, session], "not an ipcprof report"),
        (["diff", session, partial], "run.bytes_by_kind is missing"),
        (["diff", "-o", os.path.join(tmp, "no", "such", "dir", "d.txt"), session, session],
         "ipcprof: cannot create"),
    ]
    for args, msg in cases:
        p = run(*args)
        eq(p.returncode, 2, f"{' '.join(args[1:])}: exit status 2 ({p.stderr.strip()})")
        check(msg in p.stderr, f"{' '.join(args[1:])}: says {msg!r}: {p.stderr.strip()}")
        eq(p.stdout, "", f"{' '.join(args[1:])}: nothing on stdout")

    # A damaged record: named, left out, the comparison written, exit status 1.
    hurt = os.path.join(tmp, "hurt")
    shutil.copytree(session, hurt)
    rec = sorted(n for n in os.listdir(hurt) if n.endswith(".ipcrec"))[-1]
    with open(os.path.join(hurt, rec), "r+b") as f:
        f.truncate(100)
    p = run("diff", "-f", "json", session, hurt)
    eq(p.returncode, 1, f"a damaged record: exit status 1 ({p.stderr.strip()})")
    check(rec in p.stderr and "damaged record" in p.stderr, f"the damaged record named: {p.stderr}")
    if p.stdout:
        d = json.loads(p.stdout)
        eq(d["after"]["damaged_records"], 1, "the damaged record counted")
        eq(d["after"]["processes"], d["before"]["processes"] - 1, "the damaged record left out")
        eq(sum(r["match"] == "before_only" for r in d["processes"]), 1, "its process in before only")


with tempfile.TemporaryDirectory() as tmp:
    if CASE == "c":
        demo_copy, demo_shm = PROGRAMS
        size = ["-n", "200000", "-r", "2"]
        copy, fc = record(tmp, "copy", [demo_copy, *size])
        shm, fs = record(tmp, "shm", [demo_shm, *size])
        d = check_pair(tmp, copy, shm, fc, fs, times=True)
        # The C demos count their payload themselves: the pipes carried exactly that.
        pipe = next(r for r in d["bytes_by_kind"] if r["kind"] == "pipe")
        for side, own in (("before", fc), ("after", fs)):
            eq(pipe["sent"][side], int(own["bytes_sent"]) + int(own["bytes_received"]),
               f"{side}: the pipes' bytes are the demo's own count")
        check_errors(tmp, copy)
    elif CASE == "python":
        (demo_dir,) = PROGRAMS
        size = ["-n", "300000"]
        copy, fc = record(tmp, "pool-copy", [PY, os.path.join(demo_dir, "seed_pool.py"), *size])
        shm, fs = record(tmp, "pool-shm", [PY, os.path.join(demo_dir, "pool_shared_memory.py"), *size])
        d = check_pair(tmp, copy, shm, fc, fs, times=False)
        # The shared-memory Pool has Python's resource tracker, the copy one none.
        tracker = [r for r in d["processes"] if r["role"] == "resource tracker"]
        eq([r["match"] for r in tracker], ["after_only"], "the resource tracker in after only")
        for side, own in (("before", fc), ("after", fs)):
            check(d["bytes_total"]["sent"][side] >= int(own["bytes_sent"]) + int(own["bytes_received"]),
                  f"{side}: the pipes carried at least the demo's own count")
    else:
        sys.exit(f"unknown case {CASE}")

if failures:
    print(f"{len(failures)} failures")
    sys.exit(1)
print("ok")
