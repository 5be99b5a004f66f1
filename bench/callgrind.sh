#!/usr/bin/env bash
# Instructions executed by our libvirtd per dom.info() call, counted by callgrind (stable on a
# noisy machine: same binary + same workload = same count). Prints the total per call and the
# share of the REMOTE dispatch. Usage (root): bench/callgrind.sh [calls]
set -euo pipefail
cd "$(dirname "$0")/.."
calls="${1:-10000}"
command -v valgrind >/dev/null || { apt-get update -q && apt-get install -y -q valgrind; }
cargo build --release -q -p oxvirt-daemon
d=$(mktemp -d)
trap 'kill "$vg" 2>/dev/null || true; rm -rf "$d"' EXIT
printf 'unix_sock_dir = "%s/run"\nmax_workers = 1\n' "$d" > "$d/c.conf"
valgrind --tool=callgrind --callgrind-out-file="$d/cg.out" target/release/libvirtd -f "$d/c.conf" -p "$d/pid" >"$d/vg.log" 2>&1 &
vg=$!
for _ in $(seq 300); do [ -S "$d/run/libvirt-sock" ] && break; sleep 0.1; done
uri="test+unix:///default?socket=$d/run/libvirt-sock"
client='import libvirt,sys
c=libvirt.open(sys.argv[1]); d=c.lookupByName("test")
for _ in range(int(sys.argv[2])): d.info()
c.close()'
/usr/bin/python3 -c "$client" "$uri" 100          # warm up
callgrind_control -z "$vg" >/dev/null
/usr/bin/python3 -c "$client" "$uri" "$calls"
callgrind_control -d "$vg" >/dev/null 2>&1
sleep 1
out=$(ls "$d"/cg.out.* | tail -1)
total=$(grep '^summary:' "$out" | awk '{print $2}')
dispatch=$(callgrind_annotate --inclusive=yes "$out" 2>/dev/null | grep 'RemoteProgram as oxvirt_rpc::program::Program>::dispatch' | head -1 | awk '{gsub(",","",$1); print $1}')
echo "instructions per dom.info(): $((total / calls)) (REMOTE dispatch: $((dispatch / calls)))"
