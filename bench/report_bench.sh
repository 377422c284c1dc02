#!/bin/sh
# Makes 1,000 synthetic records with 10 channels each (20 timeline intervals each), then times the
# report built from them. Usage: report_bench.sh REPORT-SYNTH REPORT-BENCH [PROCESSES]
set -eu
dir=$(mktemp -d /tmp/ipcprof-bench-report.XXXXXX)
trap 'rm -rf "$dir"' EXIT
n=${3:-1000}
"$1" many "$dir" "$n" 20
du -sh --apparent-size "$dir" | sed 's/^/records (apparent size): /'
"$2" "$dir" 3
