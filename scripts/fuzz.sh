#!/usr/bin/env bash
# Fuzz every decoder an unauthenticated peer reaches (targets in fuzz/fuzz_targets).
#
#   scripts/fuzz.sh ci          deterministic bounded run (fixed seed and run count), as .ci/run does
#   scripts/fuzz.sh 3600        each target for 3600 s with a random seed (long runs by hand)
#   scripts/fuzz.sh 600 xml     one target
#
# cargo-fuzz needs sanitizer flags that only nightly rustc accepts; RUSTC_BOOTSTRAP=1 lets the
# machine's stable toolchain accept them (no other toolchain can be installed here).
# A crash leaves its input in fuzz/artifacts/<target>/: add it as a regression test.
set -euo pipefail
cd "$(dirname "$0")/.."
mode="${1:-ci}"
shift || true
targets=("$@")
[ ${#targets[@]} -gt 0 ] || targets=(frames typed_params conf xml log_settings remote_calls admin_calls support_calls)

command -v cargo-fuzz >/dev/null || cargo install cargo-fuzz --locked --version 0.13.2
export RUSTC_BOOTSTRAP=1
cd fuzz
cargo fuzz build -O
failed=()
for t in "${targets[@]}"; do
  mkdir -p "corpus/$t"
  if [ "$mode" = ci ]; then
    case "$t" in remote_calls) runs=15000 ;; support_calls|admin_calls) runs=30000 ;; xml) runs=100000 ;; *) runs=300000 ;; esac
    args=(-seed=1 -runs="$runs")
  else
    args=(-max_total_time="$mode")
  fi
  echo "fuzzing $t (${args[*]})"
  mkdir -p "artifacts/$t"
  marker="$(mktemp)"
  set +e
  cargo fuzz run -O "$t" "corpus/$t" -- "${args[@]}" -rss_limit_mb=2048 -print_final_stats=1 2>&1 \
    | grep -E '^(Done|stat::number_of_executed_units|==[0-9]+==ERROR|SUMMARY)|panicked'
  rc=${PIPESTATUS[0]}
  set -e
  # A failing input is written as crash-*, leak-*, oom-* or timeout-*; the run also exits non-zero.
  found="$(find "artifacts/$t" -maxdepth 1 -type f -newer "$marker" \
    \( -name 'crash-*' -o -name 'leak-*' -o -name 'oom-*' -o -name 'timeout-*' \) | head -n 1)"
  rm -f "$marker"
  if [ "$rc" -ne 0 ] || [ -n "$found" ]; then
    echo "fuzz target $t failed (exit $rc): see fuzz/artifacts/$t/ ${found:+($found)}"
    failed+=("$t")
  fi
done
if [ ${#failed[@]} -gt 0 ]; then
  echo "fuzzing: failing targets: ${failed[*]}"
  exit 1
fi
echo "fuzzing: ${#targets[@]} targets, no crash"
