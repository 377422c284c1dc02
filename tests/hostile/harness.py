"""What the hostile tests share: their options, a case's checks and work folder, and running the
case named by --case."""
import argparse
import json
import os
import shutil
import tempfile


def parse_args(doc, programs=()):
    """The options every hostile test takes, and --NAME PATH for each test program in programs."""
    ap = argparse.ArgumentParser(description=doc)
    ap.add_argument("--preload", required=True)
    ap.add_argument("--ipcprof", required=True)
    ap.add_argument("--prog", required=True, help="hostile_prog")
    for name in programs:
        ap.add_argument("--" + name, required=True)
    ap.add_argument("--case", required=True)
    a = ap.parse_args()
    for k, v in vars(a).items():
        if k != "case":
            setattr(a, k, os.path.abspath(v))
    return a


class Case:
    """One case's run: the options, a work folder, the environment without ipcprof's settings,
    and the checks that failed."""

    def __init__(self, a, work):
        self.a = a
        self.work = work
        self.fails = []
        self.clean_env = {k: v for k, v in os.environ.items()
                          if not k.startswith("IPCPROF_") and k != "LD_PRELOAD"}

    def check(self, ok, what):
        print(("ok:   " if ok else "FAIL: ") + what)
        if not ok:
            self.fails.append(what)

    def report_json(self, folder):
        with open(os.path.join(folder, "ipcprof-report.json")) as f:
            return json.load(f)


def main(doc, cases, case_class, prefix, programs=()):
    """Runs the case --case names in a fresh work folder (readable by other users, for the cases
    that run programs as nobody); the exit status for meson."""
    a = parse_args(doc, programs)
    work = tempfile.mkdtemp(prefix=prefix)
    os.chmod(work, 0o755)
    try:
        c = case_class(a, work)
        cases[a.case](c)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    if c.fails:
        print("%d checks failed" % len(c.fails))
        return 1
    return 0

