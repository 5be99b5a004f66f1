#!/usr/bin/env bash
# Instructions executed per dom.info() call, counted by callgrind (stable on a noisy machine:
# same binary + same workload = same count), for our libvirtd and Debian's libvirtd 9.0 (all
# threads, user space only), and the share of our REMOTE dispatch. Prints both and the ratio;
# with --write replaces the `callgrind` section of BENCHMARKS.md (prose outside it is kept).
# Usage (root): bench/callgrind.sh [--write] [calls]   (default 10000 calls)
set -euo pipefail
cd "$(dirname "$0")/.."
write=0
if [ "${1:-}" = --write ]; then write=1; shift; fi
calls="${1:-10000}"
command -v valgrind >/dev/null || { apt-get update -q && apt-get install -y -q valgrind; }
cargo build --release -q -p oxvirt-daemon
d=$(mktemp -d)
vg=
trap '[ -n "$vg" ] && kill "$vg" 2>/dev/null; rm -rf "$d"' EXIT
client='import libvirt,sys
c=libvirt.open(sys.argv[1]); d=c.lookupByName("test")
for _ in range(int(sys.argv[2])): d.info()
c.close()'

# measure NAME BINARY: sets $total (instructions per call) and $out (callgrind file).
measure() {
  local name=$1 bin=$2 dir="$d/$1"
  mkdir -p "$dir/run" "$dir/empty"
  printf 'unix_sock_dir = "%s/run"\nmax_workers = 1\nauth_unix_ro = "none"\nauth_unix_rw = "none"\nlog_outputs = "3:file:%s/log"\n' \
    "$dir" "$dir" > "$dir/c.conf"
  LIBVIRT_DRIVER_DIR="$dir/empty" valgrind --tool=callgrind --callgrind-out-file="$dir/cg.out" \
    "$bin" -f "$dir/c.conf" -p "$dir/pid" >"$dir/vg.log" 2>&1 &
  vg=$!
  for _ in $(seq 600); do [ -S "$dir/run/libvirt-sock" ] && break; sleep 0.1; done
  sleep 1
  local uri="test+unix:///default?socket=$dir/run/libvirt-sock"
  /usr/bin/python3 -c "$client" "$uri" 100          # warm up
  callgrind_control -z "$vg" >/dev/null
  /usr/bin/python3 -c "$client" "$uri" "$calls"
  callgrind_control -d "$vg" >/dev/null 2>&1
  sleep 1
  out=$(ls "$dir"/cg.out.* | tail -1)
  total=$(( $(grep '^summary:' "$out" | awk '{print $2}') / calls ))
  kill "$vg" 2>/dev/null || true
  wait "$vg" 2>/dev/null || true
  vg=
}

measure ours target/release/libvirtd
ours=$total
dispatch=$(callgrind_annotate --inclusive=yes "$out" 2>/dev/null | grep 'RemoteProgram as oxvirt_rpc::program::Program>::dispatch' | head -1 | awk '{gsub(",","",$1); print $1}')
dispatch=$(( ${dispatch:-0} / calls ))
measure reference /usr/sbin/libvirtd
ref=$total
ratio=$(python3 -c "print(f'{$ours / $ref:.3f}')")
echo "instructions per dom.info(): ours $ours (REMOTE dispatch: $dispatch), reference $ref, ours / reference $ratio"
if [ "$write" = 1 ]; then
  bench/mdsection.py callgrind <<EOT
\`bench/callgrind.sh --write $calls\`: instructions executed per \`dom.info()\` over $calls sequential calls from
python3-libvirt, counted by callgrind (user space, all threads; stable on a noisy machine, so this is the
regression figure). Date: $(date -u '+%Y-%m-%d %H:%M').

| figure | ours | reference | ours / reference |
| --- | --- | --- | --- |
| instructions per dom.info() | $ours | $ref | $ratio |
| of which our REMOTE dispatch | $dispatch | | |
EOT
fi
