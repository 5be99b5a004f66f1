#!/usr/bin/python3
"""Client benchmark (issue 5): our Rust client against python3-libvirt (libvirt's C client) on
the same daemon (ours), in one run. Figures: sequential dom.info() calls/s, client CPU per call
(user+system of the client process), and calls/s of many tasks (Rust: 64 tokio tasks; C: 64
threads) sharing one connection; the Rust side also runs the sequential loop through its blocking facade.
Usage (root): bench/client.py [--rounds 3] [--seconds 2] [--write]
"""
import argparse, importlib.util, json, os, resource, statistics, subprocess, sys, threading, time

spec = importlib.util.spec_from_file_location("runbench", os.path.join(os.path.dirname(__file__), "run.py"))
rb = importlib.util.module_from_spec(spec); spec.loader.exec_module(rb)
EXAMPLE = os.path.join(rb.ROOT, "target", "release", "examples", "bench_client")
FLOOR = os.path.join(rb.ROOT, "target", "release", "examples", "raw_floor")


def seq_calls(d, seconds):
    """Sequential d.info() in batches of 100 for `seconds`: (calls/s, this process's CPU µs per call)."""
    r0 = resource.getrusage(resource.RUSAGE_SELF); t0 = time.perf_counter(); n = 0
    while time.perf_counter() - t0 < seconds:
        for _ in range(100):
            d.info()
        n += 100
    el = time.perf_counter() - t0
    r1 = resource.getrusage(resource.RUSAGE_SELF)
    return n / el, (r1.ru_utime - r0.ru_utime + r1.ru_stime - r0.ru_stime) / n * 1e6


def python_client(uri, seconds, threads=64):
    import libvirt
    libvirt.virEventRegisterDefaultImpl()
    c = libvirt.open(uri); d = c.lookupByName("test")
    rate, cpu = seq_calls(d, seconds)
    counts = [0] * threads
    stop = time.perf_counter() + seconds
    def work(i):
        while time.perf_counter() < stop:
            d.info(); counts[i] += 1
    ts = [threading.Thread(target=work, args=(i,)) for i in range(threads)]
    t1 = time.perf_counter()
    for t in ts: t.start()
    for t in ts: t.join()
    par = sum(counts) / (time.perf_counter() - t1)
    c.close()
    return {"seq_calls_per_s": rate, "seq_cpu_us_per_call": cpu, "shared_conn_calls_per_s": par}


def python_seq(uri, seconds):
    import libvirt
    c = libvirt.open(uri); d = c.lookupByName("test")
    rate, cpu = seq_calls(d, seconds)
    c.close()
    return {"pinned_seq_calls_per_s": rate, "pinned_seq_cpu_us_per_call": cpu}


def pinned_round(d, seconds):
    """Daemon and client on one CPU (CPU 0): no cross-CPU wake-up per call, which on this VM costs
    more than either client's own work (an idle vCPU is woken by an IPI through the hypervisor), so
    this isolates the client's own cost. Both clients get the same treatment."""
    with rb.pinned_to_cpu0(d):
        out = subprocess.run([EXAMPLE, d.uri, str(seconds), "64", "seq"],
                             capture_output=True, text=True, check=True)
        r = json.loads(out.stdout)
        rust = {"pinned_seq_calls_per_s": r["seq_calls_per_s"], "pinned_seq_cpu_us_per_call": r["seq_cpu_us_per_call"]}
        c = python_seq(d.uri, seconds)
    return rust, c


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--seconds", type=float, default=2.0)
    ap.add_argument("--write", action="store_true")
    a = ap.parse_args()
    subprocess.run(["cargo", "build", "--release", "-q", "-p", "oxvirt-daemon", "--bin", "libvirtd"],
                   cwd=rb.ROOT, check=True)
    subprocess.run(["cargo", "build", "--release", "-q", "-p", "oxvirt-client", "--example", "bench_client", "--example", "raw_floor"],
                   cwd=rb.ROOT, check=True)
    d = rb.Daemon("ours", rb.OURS)
    res = {"rust": [], "c": []}
    try:
        for i in range(a.rounds):
            out = subprocess.run([EXAMPLE, d.uri, str(a.seconds), "64"], capture_output=True, text=True, check=True)
            res["rust"].append(json.loads(out.stdout))
            res["c"].append(python_client(d.uri, a.seconds))
            sock = d.uri.split("socket=", 1)[1]
            fl = subprocess.run([FLOOR, sock, str(a.seconds)], capture_output=True, text=True, check=True)
            res["rust"][-1].update(json.loads(fl.stdout))
            pr, pc = pinned_round(d, a.seconds)
            res["rust"][-1].update(pr)
            res["c"][-1].update(pc)
            print(f"round {i + 1}/{a.rounds} done", file=sys.stderr)
    finally:
        d.stop()
    lines = ["| figure | oxvirt-client (Rust) | python3-libvirt (C client) | Rust / C | target |", "| --- | --- | --- | --- | --- |"]
    targets = {"seq_calls_per_s": "≥ 2", "seq_cpu_us_per_call": "≤ 0.5", "shared_conn_calls_per_s": "(reported)",
               "blocking_seq_calls_per_s": "(reported)", "blocking_seq_cpu_us_per_call": "(reported)",
               "pinned_seq_calls_per_s": "≥ 2", "pinned_seq_cpu_us_per_call": "≤ 0.5",
               "floor_seq_calls_per_s": "(control)", "floor_seq_cpu_us_per_call": "(control)"}
    # The blocking facade's sequential figures are compared with the same C client figures.
    same_c = {"blocking_seq_calls_per_s": "seq_calls_per_s", "blocking_seq_cpu_us_per_call": "seq_cpu_us_per_call",
              "floor_seq_calls_per_s": "seq_calls_per_s", "floor_seq_cpu_us_per_call": "seq_cpu_us_per_call"}
    for k in targets:
        r = statistics.median(x[k] for x in res["rust"]); c = statistics.median(x[same_c.get(k, k)] for x in res["c"])
        lines.append(f"| {k} | {r:,.2f} | {c:,.2f} | {r / c:.2f} | {targets[k]} |")
    table = "\n".join(lines)
    print(table)
    if a.write:
        sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
        import mdsection
        mdsection.replace_section("client",
            f"`bench/client.py --rounds {a.rounds} --seconds {a.seconds:g} --write`: the same daemon (ours), "
            "`dom.info()` on one connection; client CPU is the client process's user+system time; "
            "`blocking_*` is the blocking facade (`oxvirt_client::blocking`), compared with the same C client figures; "
            "`pinned_*`: the same sequential run with the daemon and the client on one CPU (taskset), both clients alike; "
            "`floor_*` (control, in the Rust column): `examples/raw_floor.rs`, a minimal blocking client with no library "
            "(one write, blocking reads), unpinned: the round-trip limit no client can beat by much. "
            "Note the Python interpreter's own cost is part of the C client's figures (python3-libvirt is how "
            f"libvirt's C client is driven here). Date: {time.strftime('%Y-%m-%d %H:%M')}.\n\n" + table)


if __name__ == "__main__":
    main()
