"""A test's checks that go on after a failure: each one failed is printed and counted."""
import sys

failures = []
passed = [0]  # in a list: finish reads the count the checks made


def check(ok, what):
    """Counts ok, or prints and keeps what failed; returns ok, for checks that depend on it."""
    if ok:
        passed[0] += 1
    else:
        failures.append(what)
        print(f"FAIL: {what}")
    return ok


def eq(got, want, what):
    return check(got == want, f"{what}: got {got!r}, want {want!r}")


def finish(counts=False):
    """Exits 1 when a check failed, else prints ok; with counts, says how many passed first."""
    if counts:
        print(f"{passed[0]} checks passed, {len(failures)} failed")
    if failures:
        print(f"{len(failures)} failures")
        sys.exit(1)
    print("ok")
