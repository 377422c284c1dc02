#!/bin/sh
# One command for ipcprof's overhead against strace, perf trace and ltrace on the same workloads.
# Usage: bench/peers.sh BUILD_DIR [bench/peers.py options: -n ROUNDS, --only KEYS, --markdown FILE]
# Needs root (the probes), hackbench (rt-tests), strace, perf (linux-perf) and ltrace.
set -eu
if [ $# -lt 1 ] || [ ! -f "$1/build.ninja" ]; then
	echo "usage: bench/peers.sh BUILD_DIR [options of bench/peers.py]" >&2
	exit 2
fi
src=$(cd "$(dirname "$0")/.." && pwd)
build=$(cd "$1" && pwd)
shift
ninja -C "$build" preload/libipcprof.so report/ipcprof demos/demo-copy >/dev/null
mkdir -p "$build/bench"
# The ping-pong driver is built here, with the project's warnings, so that it needs no meson target.
cc -O2 -Wall -Wextra -Werror -o "$build/bench/peers_pingpong" "$src/bench/peers_pingpong.c"
exec /usr/bin/python3 "$src/bench/peers.py" --build "$build" --source "$src" \
	--pingpong "$build/bench/peers_pingpong" "$@"
