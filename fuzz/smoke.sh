#!/bin/sh
# Builds a libFuzzer harness with clang (ASan + UBSan), replays its corpus (every crash found so far
# is a file there) and fuzzes for a short while. Exit 77 (skip) when clang's fuzzer runtime is missing.
# Usage: fuzz/smoke.sh SOURCE_DIR BUILD_DIR HARNESS(record|options) SECONDS SOURCE...
# SOURCE...: the reporter's library sources, as meson lists them (fuzz/meson.build passes them).
set -eu
src=$1 build=$2 name=$3 secs=$4
shift 4
[ $# -gt 0 ] || { echo "usage: fuzz/smoke.sh SOURCE_DIR BUILD_DIR HARNESS SECONDS SOURCE..." >&2; exit 2; }
mkdir -p "$build/fuzz"
# absolute: the options harness works in a folder of its own
out=$(cd "$build/fuzz" && pwd)
if ! command -v clang >/dev/null 2>&1; then
	echo "SKIP: clang is not installed (Debian package clang)"
	exit 77
fi
work=$(mktemp -d /dev/shm/ipcprof-fuzz.XXXXXX 2>/dev/null || mktemp -d)
trap 'rm -rf "$work"' EXIT
printf '#include <stddef.h>\n#include <stdint.h>\nint LLVMFuzzerTestOneInput(const uint8_t *d, size_t n);\nint LLVMFuzzerTestOneInput(const uint8_t *d, size_t n) { (void)d; (void)n; return 0; }\n' >"$work/probe.c"
if ! clang -fsanitize=fuzzer "$work/probe.c" -o "$work/probe" 2>"$work/probe.log"; then
	echo "SKIP: clang cannot link -fsanitize=fuzzer (Debian package libclang-rt-14-dev):"
	cat "$work/probe.log"
	exit 77
fi
r="$src/report"
extra=
[ "$name" = options ] && extra="$r/cmd_report.c"
# The reporter's sources are compiled again with the fuzzer's coverage instrumentation.
# shellcheck disable=SC2086
clang -g -O1 -std=gnu11 -D_GNU_SOURCE -DIPCPROF_HAVE_LIBDW=0 \
	-fsanitize=fuzzer,address,undefined -fno-sanitize-recover=undefined \
	-I"$src/include" -I"$build" -I"$r" -I"$src/preload" \
	"$src/fuzz/fuzz_$name.c" $extra "$@" "$build/report/default_rules.c" \
	"$build/report/html_template.c" $(pkg-config --cflags --libs jansson) \
	-o "$out/fuzz_$name"
# libFuzzer adds what it finds to the first corpus folder: fuzz a copy, replay the original.
cp -r "$src/fuzz/corpus/$name" "$work/corpus"
export IPCPROF_FUZZ_BASE="$src/fuzz/base" IPCPROF_FUZZ_WORK="$work"
dict=
[ -f "$src/fuzz/$name.dict" ] && dict="-dict=$src/fuzz/$name.dict"
set -- -max_total_time="$secs" -max_len=4096 -close_fd_mask=3 -print_final_stats=1
rc=0
# shellcheck disable=SC2086
"$out/fuzz_$name" "$@" $dict -artifact_prefix="$out/$name-" "$work/corpus" >"$work/log" 2>&1 || rc=$?
tail -n 40 "$work/log"
if [ "$rc" -ne 0 ]; then
	echo "FAIL: fuzz_$name found a crash (exit $rc); the input is in $out/$name-*:"
	echo "add it to fuzz/corpus/$name/ so that every run replays it"
fi
exit "$rc"
