#!/usr/bin/env bash
# Every figure of BENCHMARKS.md in one command (root; the machine should be otherwise idle).
# Order matters: bench/run.py --write rewrites BENCHMARKS.md from scratch (hand-written prose
# in it is lost; the previous file is kept as BENCHMARKS.prev.md), then each later script
# appends its section. bench/callgrind.sh only prints
# its figure (instructions per dom.info()); it does not write BENCHMARKS.md.
# Takes roughly 10 minutes on 2 cores (run.py ~2-3, scale.py ~2, callgrind ~1-2, client.py
# ~1, support.py ~2). Usage: bench/all.sh
set -euo pipefail
cd "$(dirname "$0")/.."
[ "$(id -u)" = 0 ] || { echo "bench/all.sh: run as root" >&2; exit 1; }
# The scripts look for the binaries in ./target/release.
unset CARGO_TARGET_DIR
# scale.py needs one fd per connection (10,000) and raises its soft limit to the hard one.
hard=$(ulimit -Hn)
if [ "$hard" != unlimited ] && [ "$hard" -lt 20000 ]; then ulimit -Hn 20000; fi

step() { echo; echo "=== $* ($(date +%T))"; "$@"; }

# The previous file (with its hand-written readings of the figures) is kept beside it.
[ -e BENCHMARKS.md ] && cp BENCHMARKS.md BENCHMARKS.prev.md
step cargo build --release -p oxvirt-daemon --bins
step cargo build --release -p oxvirt-daemon -p oxvirt-client --example bench_client
step bench/run.py --rounds 5 --seconds 2 --write
step bench/scale.py --conns 10000 --seconds 20 --write
step bench/callgrind.sh 10000
step bench/client.py --rounds 5 --seconds 2 --write
step bench/support.py --rounds 5 --write
echo; echo "=== done ($(date +%T)); BENCHMARKS.md rewritten"
