#!/usr/bin/env bash
# Every figure of BENCHMARKS.md in one command: ours and the reference side by side, a ratio for
# each figure, and BENCHMARKS.md updated. Run as root on an otherwise idle machine.
#
#   bench/all.sh                 default run (~10 minutes on 2 cores)
#   SCALE_CONNS=10000 SCALE_SECONDS=20 bench/all.sh    the full scale test of issue 6 (+2 min)
#   ROUNDS=3 bench/all.sh        fewer alternating rounds per script (default 5)
#
# Each script replaces only its own generated section of BENCHMARKS.md, between
# `<!-- bench:NAME -->` and `<!-- /bench:NAME -->` (run, scale, callgrind, client, support);
# hand-written prose outside the markers is kept. A section missing from the file is appended.
#
# Figures (script → section):
#   bench/run.py       → run:       RPC calls/s and daemon CPU per call (user/kernel split),
#                                   aggregate throughput (16 clients), connect cycles/s, cold start
#                                   under socket activation, RSS idle and per idle connection
#   bench/scale.py     → scale:     N concurrent connections, one call/s each: p50/p99, errors,
#                                   peak RSS. Default here N = 2000 for 10 s (SCALE_CONNS / SCALE_SECONDS)
#   bench/callgrind.sh → callgrind: instructions per dom.info(), ours and the reference
#   bench/client.py    → client:    oxvirt-client against python3-libvirt (C client), same daemon
#   bench/support.py   → support:   virtlogd log throughput and CPU, virtlockd lock operations, RSS
set -euo pipefail
cd "$(dirname "$0")/.."
[ "$(id -u)" = 0 ] || { echo "bench/all.sh: run as root" >&2; exit 1; }
# The scripts look for the binaries in ./target/release.
unset CARGO_TARGET_DIR
rounds="${ROUNDS:-5}"
scale_conns="${SCALE_CONNS:-2000}"
scale_seconds="${SCALE_SECONDS:-10}"
# scale.py (and each daemon) needs one fd per connection; they raise their soft limit to the
# hard one, which is raised here if it is too low and we may.
need=$((scale_conns + 1000))
hard=$(ulimit -Hn)
if [ "$hard" != unlimited ] && [ "$hard" -lt "$need" ]; then
  ulimit -Hn "$need" 2>/dev/null || echo "bench/all.sh: fd hard limit $hard < $need; scale.py may refuse" >&2
fi

step() { echo; echo "=== $* ($(date +%T))"; "$@"; }

step cargo build --release -p oxvirt-daemon --bins
step cargo build --release -p oxvirt-daemon -p oxvirt-client --example bench_client
step bench/run.py --rounds "$rounds" --seconds 2 --write
step bench/scale.py --conns "$scale_conns" --seconds "$scale_seconds" --write
step bench/callgrind.sh --write 10000
step bench/client.py --rounds "$rounds" --seconds 2 --write
step bench/support.py --rounds "$rounds" --write

echo
echo "=== summary: ours / reference for every figure (BENCHMARKS.md updated, $(date +%T))"
for s in run scale callgrind client support; do
  echo
  echo "--- $s"
  bench/mdsection.py --print "$s" | grep '^|'
done
