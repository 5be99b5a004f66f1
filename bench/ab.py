#!/usr/bin/python3
"""A/B: daemon CPU per sequential dom.info() of an older libvirtd binary, the current build
(target/release/libvirtd) and the reference, all three alternating in one run, so a code change
is judged under the same machine state. Prints medians (and ranges) of CPU per call, its
user/kernel split and calls/s. Usage (root, after cargo build --release):

    cp target/release/libvirtd /tmp/libvirtd.before   # before the change
    bench/ab.py /tmp/libvirtd.before [--rounds 5] [--seconds 3]
"""
import argparse, importlib.util, os, statistics, sys

spec = importlib.util.spec_from_file_location("runbench", os.path.join(os.path.dirname(__file__), "run.py"))
rb = importlib.util.module_from_spec(spec); spec.loader.exec_module(rb)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("before")
    ap.add_argument("--rounds", type=int, default=5)
    ap.add_argument("--seconds", type=float, default=3.0)
    a = ap.parse_args()
    bins = {"before": a.before, "after": rb.OURS, "reference": rb.REFERENCE}
    res = {k: [] for k in bins}
    ds = {}
    try:
        for k, b in bins.items():
            ds[k] = rb.Daemon(k, b)
        for i in range(a.rounds):
            for k in (list(bins) if i % 2 == 0 else list(reversed(bins))):
                d = ds[k]
                u0, s0 = d.cpu()
                n, el = rb.seq_info(d.uri, a.seconds)
                u1, s1 = d.cpu()
                res[k].append(((u1 - u0 + s1 - s0) / n * 1e6, (u1 - u0) / n * 1e6, (s1 - s0) / n * 1e6, n / el))
            print(f"round {i + 1}: " + ", ".join(f"{k} {res[k][-1][0]:.1f} µs" for k in bins), file=sys.stderr)
    finally:
        for d in ds.values():
            d.stop()
    for k in bins:
        cpu, user, sys_, rate = zip(*res[k])
        print(f"{k}: CPU/call median {statistics.median(cpu):.1f} µs (range {min(cpu):.1f}–{max(cpu):.1f}), "
              f"user {statistics.median(user):.1f}, kernel {statistics.median(sys_):.1f}, "
              f"{statistics.median(rate):,.0f} calls/s")


if __name__ == "__main__":
    main()
