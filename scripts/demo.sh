#!/usr/bin/env bash
# Runs the copy and shared-memory demos under ipcprof and prints their reports side by side, and,
# where the reports have CPU samples, each process's pickling, unpickling or memcpy time as the
# demo measures it itself next to ipcprof's.
# Usage: scripts/demo.sh [--build-dir DIR]   (DIR: an existing build to use instead of ./build)
# IPCPROF_SAMPLE_HZ in the environment sets the CPU sampler's rate (ipcprof's default: 100).
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
cd "$top"

build=
if [ "${1:-}" = --build-dir ] && [ -n "${2:-}" ]; then
	build=$2
elif [ $# -gt 0 ]; then
	echo "usage: scripts/demo.sh [--build-dir DIR]" >&2
	exit 2
fi
if [ -z "$build" ]; then
	"$top/scripts/setup.sh"
	"$top/scripts/build.sh"
	build=build
fi

ipcprof=$build/report/ipcprof
out=$build/demo-runs
py=/usr/bin/python3

if ! "$ipcprof" record --help >/dev/null 2>&1; then
	echo "demo: '$ipcprof record' does not work in this build, so there is no report to compare." >&2
	echo "demo: the demos run without it: $build/demos/demo-copy, demo-shm and demo-owner," >&2
	echo "demo: and demos/python/*.py with $py." >&2
	exit 1
fi

# record NAME PROGRAM ARGS...: one profiled run into $out/NAME, the demo's own output in NAME.txt
# and its own measures of its pickling or copying in NAME.json.
record() {
	local name=$1
	shift
	rm -rf "${out:?}/$name" "$out/$name.json"
	echo "demo: running $name under ipcprof: $*" >&2
	if ! "$ipcprof" record -q -o "$out/$name" -- "$@" --json "$out/$name.json" \
		>"$out/$name.txt" 2>"$out/$name.log"; then
		cat "$out/$name.log" >&2
		echo "demo: '$ipcprof record' failed on $name (output in $out/$name.txt)" >&2
		exit 1
	fi
	if [ ! -f "$out/$name/ipcprof-report.json" ]; then
		cat "$out/$name.log" >&2
		echo "demo: no $out/$name/ipcprof-report.json: the report was not written" >&2
		exit 1
	fi
}

mkdir -p "$out"
record c-copy "$build/demos/demo-copy"
record c-shm "$build/demos/demo-shm"
if "$py" -c 'import numpy' 2>/dev/null; then
	record python-pool-copy "$py" demos/python/seed_pool.py
	record python-pool-shm "$py" demos/python/pool_shared_memory.py
	python=yes
else
	echo "demo: $py has no numpy: the Python demos are left out" >&2
	python=no
fi

echo
"$py" demos/compare_reports.py \
	"C, copy through pipes" "$out/c-copy" "$out/c-copy.txt" "$out/c-copy.json" -- \
	"C, shared memory" "$out/c-shm" "$out/c-shm.txt" "$out/c-shm.json"
if [ $python = yes ]; then
	echo
	"$py" demos/compare_reports.py \
		"Python Pool, copy" "$out/python-pool-copy" "$out/python-pool-copy.txt" \
		"$out/python-pool-copy.json" -- \
		"Python Pool, shared memory" "$out/python-pool-shm" "$out/python-pool-shm.txt" \
		"$out/python-pool-shm.json"
fi
