#!/usr/bin/python3
"""Side-by-side benchmark: our libvirtd against Debian's libvirtd 9.0, same client, same run.

Starts both daemons as recipe A of reference-daemon.md (root, test driver only, sockets in temp
dirs), runs each workload against both, alternating, several rounds, and prints medians and
ratios. With --write it replaces its generated section of BENCHMARKS.md
(`<!-- bench:run -->` ... `<!-- /bench:run -->`; prose outside the markers is kept). Usage (as root, after `cargo build --release`):

    bench/run.py [--rounds 5] [--seconds 2] [--write]

Workloads (python3-libvirt, i.e. libvirt's C client):
  seq_info     sequential dom.info() on one connection: calls/s
  cpu_per_call daemon utime+stime delta over the seq_info calls, in microseconds per call
  cpu_user     the utime part of it, cpu_sys the stime part
  seq_info_pinned / cpu_per_call_pinned
               the same with the daemon (all threads) and the client on one CPU (taskset):
               no cross-CPU wake-up per call, which on this VM (an idle vCPU is woken through
               the hypervisor) costs more kernel time than the call itself; both daemons alike
  par16        16 processes, one connection each, dom.info() in a loop: aggregate calls/s
  cycles       open + lookupByName + info + close: cycles/s
  cold_start   first call through systemd-socket-activate (connect, daemon exec and start-up,
               open + getHostname), milliseconds
  rss_idle     RSS of a freshly started daemon with no client (KiB)
  rss_per_conn RSS growth per idle connection, 800 connections opened on a fresh daemon (bytes);
               measured on fresh daemons because after other workloads the figure mostly
               reflects how much freed heap each allocator can reuse
"""
import argparse, contextlib, multiprocessing as mp, os, shutil, signal, statistics, subprocess, sys, tempfile, time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
OURS = os.path.join(ROOT, "target", "release", "libvirtd")
REFERENCE = "/usr/sbin/libvirtd"
TICK = os.sysconf("SC_CLK_TCK")


class Daemon:
    def __init__(self, name, binary, extra=""):
        self.name, self.dir = name, tempfile.mkdtemp(prefix=f"oxvirt-bench-{name}-")
        os.makedirs(f"{self.dir}/run"); os.makedirs(f"{self.dir}/empty")
        with open(f"{self.dir}/libvirtd.conf", "w") as f:
            # libvirt's conf grammar keeps the first occurrence of a key: extra settings go first.
            f.write(extra + f'unix_sock_dir = "{self.dir}/run"\nauth_unix_ro = "none"\nauth_unix_rw = "none"\n'
                    f'unix_sock_rw_perms = "0700"\nlog_outputs = "3:file:{self.dir}/log"\n'
                    'max_clients = 5000\nmax_anonymous_clients = 5000\n')
        env = dict(os.environ, LIBVIRT_DRIVER_DIR=f"{self.dir}/empty")
        def limits():
            import resource
            _, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
            resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
        self.proc = subprocess.Popen([binary, "-f", f"{self.dir}/libvirtd.conf", "-p", f"{self.dir}/pid"],
                                     env=env, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                                     stderr=subprocess.DEVNULL, start_new_session=True, preexec_fn=limits)
        self.uri = f"test+unix:///default?socket={self.dir}/run/libvirt-sock"
        sock = f"{self.dir}/run/libvirt-sock"
        for _ in range(1000):
            if os.path.exists(sock):
                break
            time.sleep(0.01)
        time.sleep(0.3)

    def cpu(self):
        """(user, system) CPU seconds of the daemon."""
        with open(f"/proc/{self.proc.pid}/stat") as f:
            fields = f.read().rsplit(")", 1)[1].split()
        return int(fields[11]) / TICK, int(fields[12]) / TICK

    def rss_kib(self):
        with open(f"/proc/{self.proc.pid}/status") as f:
            for line in f:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1])
        return 0

    def stop(self):
        self.proc.send_signal(signal.SIGTERM)
        try:
            self.proc.wait(10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
        shutil.rmtree(self.dir, ignore_errors=True)


def seq_info(uri, seconds):
    import libvirt
    c = libvirt.open(uri); d = c.lookupByName("test")
    n, t0 = 0, time.perf_counter()
    while time.perf_counter() - t0 < seconds:
        for _ in range(100):
            d.info()
        n += 100
    el = time.perf_counter() - t0
    c.close()
    return n, el


def _worker(uri, seconds, q):
    n, el = seq_info(uri, seconds)
    q.put(n / el)


def par16(uri, seconds):
    q = mp.Queue()
    ps = [mp.Process(target=_worker, args=(uri, seconds, q)) for _ in range(16)]
    for p in ps: p.start()
    rates = [q.get(timeout=seconds + 60) for _ in ps]
    for p in ps: p.join(30)
    return sum(rates)


def cycles(uri, seconds):
    import libvirt
    n, t0 = 0, time.perf_counter()
    while time.perf_counter() - t0 < seconds:
        c = libvirt.open(uri); c.lookupByName("test").info(); c.close()
        n += 1
    return n / (time.perf_counter() - t0)


def memory(name, binary, count=800):
    """Fresh daemon: idle RSS, then RSS growth per idle connection."""
    import libvirt, resource
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (min(hard, max(soft, count + 256)), hard))
    d = Daemon(name, binary)
    try:
        c0 = libvirt.open(d.uri); c0.close()
        time.sleep(0.5); idle = d.rss_kib()
        conns = [libvirt.open(d.uri) for _ in range(count)]
        time.sleep(0.5); grown = d.rss_kib()
        for c in conns: c.close()
        return {"rss_idle": idle, "rss_per_conn": (grown - idle) * 1024 / count}
    finally:
        d.stop()


def cold_start(binary, tries=5):
    """Median ms from connect to the first answer, with the daemon started by the activator."""
    import libvirt
    times = []
    for _ in range(tries):
        d = tempfile.mkdtemp(prefix="oxvirt-bench-act-")
        os.makedirs(f"{d}/run"); os.makedirs(f"{d}/empty")
        with open(f"{d}/libvirtd.conf", "w") as f:
            f.write('auth_unix_ro = "none"\nauth_unix_rw = "none"\n'
                    f'log_outputs = "3:file:{d}/log"\n')
        socks = [f"{d}/run/libvirt-sock", f"{d}/run/libvirt-sock-ro", f"{d}/run/libvirt-admin-sock"]
        cmd = ["systemd-socket-activate"] + sum((["-l", s] for s in socks), []) + [
            "--fdname=libvirtd.socket:libvirtd-ro.socket:libvirtd-admin.socket",
            "-E", f"LIBVIRT_DRIVER_DIR={d}/empty", binary, "-f", f"{d}/libvirtd.conf", "-p", f"{d}/pid"]
        p = subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                             stderr=subprocess.DEVNULL, start_new_session=True)
        for _ in range(500):
            if all(os.path.exists(s) for s in socks):
                break
            time.sleep(0.01)
        time.sleep(0.1)
        t0 = time.perf_counter()
        c = libvirt.open(f"test+unix:///default?socket={socks[0]}")
        c.getHostname()
        times.append((time.perf_counter() - t0) * 1000)
        c.close()
        p.send_signal(signal.SIGTERM)
        try:
            p.wait(10)
        except subprocess.TimeoutExpired:
            p.kill()
        shutil.rmtree(d, ignore_errors=True)
    return statistics.median(times)


@contextlib.contextmanager
def pinned_to_cpu0(d):
    """The daemon (all its threads) and this process (and the children it starts) on CPU 0; the
    previous affinities are restored on exit."""
    allcpus = os.sched_getaffinity(0)
    subprocess.run(["taskset", "-a", "-p", "-c", "0", str(d.proc.pid)], capture_output=True, check=True)
    os.sched_setaffinity(0, {0})
    try:
        yield
    finally:
        os.sched_setaffinity(0, allcpus)
        cpus = ",".join(str(x) for x in sorted(allcpus))
        subprocess.run(["taskset", "-a", "-p", "-c", cpus, str(d.proc.pid)], capture_output=True)


def measure(d, seconds):
    r = {}
    u0, s0 = d.cpu()
    n, el = seq_info(d.uri, seconds)
    u1, s1 = d.cpu()
    r["cpu_per_call"] = (u1 - u0 + s1 - s0) / n * 1e6
    r["cpu_user"] = (u1 - u0) / n * 1e6
    r["cpu_sys"] = (s1 - s0) / n * 1e6
    r["seq_info"] = n / el
    with pinned_to_cpu0(d):
        u0, s0 = d.cpu()
        n, el = seq_info(d.uri, seconds)
        u1, s1 = d.cpu()
    r["cpu_per_call_pinned"] = (u1 - u0 + s1 - s0) / n * 1e6
    r["seq_info_pinned"] = n / el
    r["par16"] = par16(d.uri, seconds)
    r["cycles"] = cycles(d.uri, seconds)
    return r


UNITS = {"seq_info": "calls/s", "cpu_per_call": "µs/call", "seq_info_pinned": "calls/s", "cpu_per_call_pinned": "µs/call", "cpu_user": "µs/call", "cpu_sys": "µs/call", "par16": "calls/s", "cycles": "cycles/s",
         "cold_start": "ms", "rss_idle": "KiB", "rss_per_conn": "B/conn"}
HIGHER_BETTER = {"seq_info", "seq_info_pinned", "par16", "cycles"}
TARGETS = {"cpu_user": "(part of cpu_per_call)", "cpu_sys": "(part of cpu_per_call)", "cold_start": "≤ 0.33", "cpu_per_call": "≤ 0.25", "cpu_per_call_pinned": "≤ 15 µs", "seq_info_pinned": "≥ 1", "rss_idle": "≤ 0.5", "rss_per_conn": "≤ 1", "seq_info": "≥ 1",
           "par16": "≥ 1", "cycles": "≥ 1"}


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--rounds", type=int, default=5)
    ap.add_argument("--seconds", type=float, default=2.0)
    ap.add_argument("--write", action="store_true")
    a = ap.parse_args()
    # Always measure the current code: an up-to-date build is a no-op.
    subprocess.run(["cargo", "build", "--release", "-q", "-p", "oxvirt-daemon"], cwd=ROOT, check=True)
    ours, ref = Daemon("ours", OURS), Daemon("reference", REFERENCE)
    res = {"ours": [], "reference": []}
    try:
        for i in range(a.rounds):
            for d in ((ours, ref) if i % 2 == 0 else (ref, ours)):
                r = measure(d, a.seconds)
                r.update(memory(d.name, OURS if d is ours else REFERENCE))
                r["cold_start"] = cold_start(OURS if d is ours else REFERENCE)
                res[d.name].append(r)
            print(f"round {i + 1}/{a.rounds} done", file=sys.stderr)
    finally:
        ours.stop(); ref.stop()
    rows = []
    for k in UNITS:
        o = statistics.median(r[k] for r in res["ours"])
        f = statistics.median(r[k] for r in res["reference"])
        ratio = o / f if f else float("nan")
        rows.append((k, o, f, ratio))
    lines = ["| figure | ours (median) | reference (median) | ours / reference | target |",
             "| --- | --- | --- | --- | --- |"]
    for k, o, f, ratio in rows:
        lines.append(f"| {k} ({UNITS[k]}) | {o:,.1f} | {f:,.1f} | {ratio:.2f} | {TARGETS[k]} |")
    table = "\n".join(lines)
    print(table)
    if a.write:
        sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
        import mdsection
        mdsection.replace_section("run",
            f"`bench/run.py --rounds {a.rounds} --seconds {a.seconds:g} --write` (python3-libvirt client, test "
            f"driver, {a.rounds} alternating rounds of {a.seconds:g} s per workload, both daemons started the "
            "same way in one run; medians). Ratios are ours / reference; for calls/s and cycles/s higher is "
            "better, for CPU and memory lower is better. "
            f"Machine: {os.cpu_count()} cores. Date: {time.strftime('%Y-%m-%d %H:%M')}.\n\n{table}")


if __name__ == "__main__":
    main()
