#!/usr/bin/env bash
# `npm run bench`: every benchmark in scripts/bench/, one after another (run together they would
# disturb each other's timings). A benchmark is any scripts/bench/*.ts whose first line does not
# start with "// bench-helper" (helpers such as l2-client.ts are started by a benchmark).
# Each prints one JSON object on stdout (progress on stderr); this script prints a header per
# benchmark and exits non-zero if any of them failed.
#
#   npm run bench                          # all of them
#   BENCH="l2-responder ipam-decide" npm run bench    # a subset, by file name without .ts
#
# Benchmarks that need root (network namespaces) or a control plane set those up themselves
# (see each file's header); results and the exact commands live in BENCHMARKS.md.
set -uo pipefail
cd "$(dirname "$0")/../.."

only=${BENCH:-}
status=0
ran=0
for f in scripts/bench/*.ts; do
  head -n 1 "$f" | grep -q '^// bench-helper' && continue
  name=$(basename "$f" .ts)
  if [ -n "$only" ] && [[ ! " $only " =~ " $name " ]]; then continue; fi
  echo "=== bench: $name ($(date -u +%FT%TZ), load average $(cut -d' ' -f1-3 /proc/loadavg))"
  if ! npx tsx "$f"; then
    echo "=== bench $name FAILED" >&2
    status=1
  fi
  ran=$((ran + 1))
done
if [ "$ran" = 0 ]; then
  echo "no benchmark matched BENCH=\"$only\"" >&2
  exit 1
fi
exit $status
