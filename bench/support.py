#!/usr/bin/python3
"""Side-by-side benchmark: our virtlogd and virtlockd against Debian's C ones (libvirt 9.0), same
client (tools/virtrpc.py), same run, alternating rounds, medians and ours/reference ratios.

Every daemon runs in session mode as the unprivileged user oxvirt-test (created if missing, as
crates/daemon/tests/support_daemons.rs does), each in its own temp dirs ($XDG_RUNTIME_DIR, $HOME,
config with warnings-only logging). Only that uid may connect, so when started as root the script
builds the release binaries, then re-runs itself as the user (setpriv) for the measurements and
formats / writes the results as root. Each round starts a fresh daemon per implementation and
program, one at a time (ours first in rounds 1, 3, ..., C first in rounds 2, 4, ...). Log files
go to a temp dir on /dev/shm (tmpfs) so the disk does not dominate. Every run is bounded (bytes,
seconds); daemons, temp dirs and files are removed on exit, Ctrl-C or error. With the defaults
it takes about 100 s on 2 cores (plus the build). Usage (root):

    bench/support.py [--rounds 5] [--log-mb 512] [--pipes 64] [--pipe-mb 8] [--lock-seconds 2] [--write]

Figures (MB = 10^6 bytes; CPU is the daemon's utime+stime from /proc/PID/stat, all threads):
  log_mbps_1pipe     one pipe from DOMAIN_OPEN_LOG_FILE, one writer thread writes --log-mb MiB of
                     80-byte log lines in 64 KiB writes, max_size 2 MiB, max_backups 3: MB/s from
                     the first write until the daemon has closed the file (after the writer
                     closes its end, GET_LOG_FILE_POSITION is polled every ms until it answers
                     "No open log file", i.e. the daemon read EOF, so every byte is in the files)
  log_cpu_1pipe      daemon CPU over that run per MB (ms/MB); _user / _sys: the split
  log_mbps_64pipes   --pipes pipes (one log file each) written at once by as many writer threads,
                     --pipe-mb MiB each; aggregate MB/s, same start and end rule (all closed)
  log_cpu_64pipes    daemon CPU per MB over that run (ms/MB)
  logd_rss_idle      virtlogd RSS (KiB) freshly started, after one client appended a line and left
  logd_rss_64pipes   peak virtlogd RSS (KiB) sampled every 20 ms during the 64-pipe run
  lock_pairs_per_s   one registered connection, acquire + release of one exclusive resource in
                     the direct lockspace (an existing file) in a loop, --lock-seconds: pairs/s
  lock_cpu_per_pair  daemon CPU per pair (µs); lock_cpu_user / _sys: the split
  lockd_rss_idle     virtlockd RSS (KiB) freshly started, after one client registered and left
After each log run the rotated files (.2 .1 .0 base) are checked to be exactly the tail of the
byte stream written; a mismatch is reported as an error.
"""
import argparse, json, os, pwd, shutil, signal, statistics, subprocess, sys, tempfile, threading, time

sys.dont_write_bytecode = True
ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
BINARIES = {
    "ours": {"virtlogd": os.path.join(ROOT, "target", "release", "virtlogd"),
             "virtlockd": os.path.join(ROOT, "target", "release", "virtlockd")},
    "reference": {"virtlogd": "/usr/sbin/virtlogd", "virtlockd": "/usr/sbin/virtlockd"},
}
USER = "oxvirt-test"
TICK = os.sysconf("SC_CLK_TCK")
MAX_SIZE = 2 * 1024 * 1024
MAX_BACKUPS = 3
CHUNK = 64 * 1024
RUN_TIMEOUT = 120.0       # seconds, any one log run
START_TIMEOUT = 20.0      # seconds, a daemon's socket to answer
FAKE_OWNER_PID = 4000001  # lock owner: a pid that is not ours, so a fence could never kill us

_live = []  # daemons and dirs to clean up, whatever happens


def cleanup():
    # A second Ctrl-C (or the driver's forwarded signal) must not cut the clean-up short.
    if threading.current_thread() is threading.main_thread():
        for sig in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
            signal.signal(sig, signal.SIG_IGN)
    while _live:
        x = _live.pop()
        if isinstance(x, str):
            shutil.rmtree(x, ignore_errors=True)
        else:
            x.stop()


def _die_with_parent():
    """In a daemon's child before exec: SIGTERM when the benchmark process dies, however."""
    import ctypes
    ctypes.CDLL(None, use_errno=True).prctl(1, signal.SIGTERM, 0, 0, 0)  # PR_SET_PDEATHSIG


def _on_signal(signum, _frame):
    raise KeyboardInterrupt(f"signal {signum}")


# ---------------------------------------------------------------------------------------------
# Measurement side (runs as the session user)

def text_block():
    """~4 MB of realistic, numbered 80-byte log lines (QEMU-log-like); cycled by the writers."""
    lines = []
    for i in range(49999):  # 3,999,920 bytes: not a multiple of 64 KiB or 2 MiB
        l = (f"2026-11-22 08:{i // 60 % 60:02d}:{i % 60:02d}.{i * 7919 % 1000000:06d}+0000: 4242: "
             f"info : qemuMonitorIOProcess:{i:09d} : event")
        lines.append(l[:79].ljust(79, ".") + "\n")
    return "".join(lines).encode()


TEXT = None
BASE = None  # temp dir for the daemons' dirs (created and removed by the driver)


class Daemon:
    """One session-mode daemon (virtlogd or virtlockd) of the current user, in its own dirs."""

    def __init__(self, impl, prog, conf=""):
        self.impl, self.prog = impl, prog
        self.dir = tempfile.mkdtemp(prefix=f"{prog}-{impl}-", dir=BASE)
        self.xdg, self.home = f"{self.dir}/xdg", f"{self.dir}/home"
        for d in (self.xdg, self.home):
            os.makedirs(d, mode=0o700)
        conf_path = f"{self.dir}/{prog}.conf"
        with open(conf_path, "w") as f:
            f.write(f'log_outputs = "3:file:{self.dir}/daemon.log"\n{conf}')
        env = {"PATH": "/usr/sbin:/usr/bin:/bin", "HOME": self.home, "XDG_RUNTIME_DIR": self.xdg,
               "XDG_CONFIG_HOME": f"{self.home}/.config", "XDG_CACHE_HOME": f"{self.home}/.cache"}
        self.sock = f"{self.xdg}/libvirt/{prog}-sock"
        self.stderr = open(f"{self.dir}/stderr", "w")
        self.proc = subprocess.Popen([BINARIES[impl][prog], "-f", conf_path], env=env,
                                     stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                                     stderr=self.stderr, start_new_session=True, preexec_fn=_die_with_parent)
        _live.append(self)
        import socket
        t0 = time.monotonic()
        while True:
            if self.proc.poll() is not None:
                raise RuntimeError(f"{impl} {prog} exited with {self.proc.returncode}: {self.log()}")
            try:
                s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
                s.connect(self.sock)
                s.close()
                break
            except OSError:
                s.close()
            if time.monotonic() - t0 > START_TIMEOUT:
                raise RuntimeError(f"{impl} {prog} did not start: {self.log()}")
            time.sleep(0.01)

    def log(self):
        out = ""
        for name in ("daemon.log", "stderr"):
            try:
                out += open(f"{self.dir}/{name}", errors="replace").read()
            except OSError:
                pass
        return out

    def cpu(self):
        """(user, system) CPU seconds of the daemon, all threads."""
        with open(f"/proc/{self.proc.pid}/stat") as f:
            fields = f.read().rsplit(")", 1)[1].split()
        return int(fields[11]) / TICK, int(fields[12]) / TICK

    def rss_kib(self):
        with open(f"/proc/{self.proc.pid}/status") as f:
            for line in f:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1])
        return 0

    def alive(self):
        return self.proc.poll() is None

    def stop(self):
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(10)
        self.stderr.close()
        if self in _live:
            _live.remove(self)
        shutil.rmtree(self.dir, ignore_errors=True)


def write_stream(fd, total, deadline, barrier, errors):
    """Write `total` bytes of TEXT (cycled) to the pipe in 64 KiB writes, then close it."""
    try:
        mv, n, pos = memoryview(TEXT + TEXT), len(TEXT), 0
        barrier.wait(timeout=60)
        while pos < total:
            off = pos % n
            pos += os.write(fd, mv[off:off + min(CHUNK, total - pos)])
            if time.monotonic() > deadline:
                raise TimeoutError(f"writer not done at {pos} of {total} bytes")
    except Exception as e:  # reported by the main thread
        errors.append(repr(e))
    finally:
        os.close(fd)


def check_files(path, total):
    """The rotated files, oldest first, must be exactly the tail of the stream written."""
    names = [f"{path}.{k}" for k in range(MAX_BACKUPS - 1, -1, -1)] + [path]
    data = b"".join(open(p, "rb").read() for p in names if os.path.exists(p))
    n = len(data)
    if n == 0 or n > total or (total > (MAX_BACKUPS + 1) * MAX_SIZE and n < MAX_BACKUPS * MAX_SIZE):
        return f"{path}: {n} bytes kept of {total} written"
    start, i = (total - n) % len(TEXT), 0
    while i < n:
        m = min(len(TEXT) - start, n - i)
        if data[i:i + m] != TEXT[start:start + m]:
            return f"{path}: content differs from the stream within bytes {total - n + i}..{total - n + i + m}"
        i, start = i + m, 0
    return None


def log_run(d, shm, npipes, per_pipe):
    """npipes pipes, per_pipe bytes each: elapsed s, bytes, CPU (user, sys) s, peak RSS, errors."""
    import virtrpc
    logdir = tempfile.mkdtemp(prefix="logs-", dir=shm)
    _live.append(logdir)
    c = virtrpc.LogClient(d.sock)
    paths, fds, errors = [], [], []
    try:
        for i in range(npipes):
            p = f"{logdir}/guest{i}.log"
            _, fd = c.open_log(p, uuid=bytes([i % 256]) * 16, name=f"guest{i}")
            paths.append(p); fds.append(fd)
        deadline = time.monotonic() + RUN_TIMEOUT
        barrier = threading.Barrier(npipes + 1)
        threads = [threading.Thread(target=write_stream, args=(fd, per_pipe, deadline, barrier, errors),
                                    daemon=True) for fd in fds]
        fds = []
        for t in threads:
            t.start()
        peak = d.rss_kib()
        u0, s0 = d.cpu()
        barrier.wait(timeout=60)
        t0 = time.perf_counter()
        while True:
            alive = [t for t in threads if t.is_alive()]
            if not alive:
                break
            alive[0].join(0.02)
            peak = max(peak, d.rss_kib())
            if time.monotonic() > deadline + 5 or not d.alive():
                raise RuntimeError(f"{d.impl} {d.prog}: writers not done (daemon alive: {d.alive()})")
        open_paths = set(paths)
        while open_paths:
            for p in list(open_paths):
                try:
                    c.position(p)
                except virtrpc.RpcError as e:
                    if "No open log file" not in (e.message or ""):
                        raise
                    open_paths.discard(p)
            if open_paths:
                peak = max(peak, d.rss_kib())
                if time.monotonic() > deadline:
                    raise RuntimeError(f"{d.impl} {d.prog}: {len(open_paths)} files still open")
                time.sleep(0.001)
        el = time.perf_counter() - t0
        u1, s1 = d.cpu()
        for p in paths:
            bad = check_files(p, per_pipe)
            if bad:
                errors.append(bad)
        return el, npipes * per_pipe, (u1 - u0, s1 - s0), peak, errors
    finally:
        for fd in fds:
            os.close(fd)
        c.close()
        shutil.rmtree(logdir, ignore_errors=True)
        _live.remove(logdir)


def lock_run(d, seconds, max_pairs=10_000_000):
    import virtrpc
    disk = f"{d.home}/disk.img"
    open(disk, "w").close()
    c = virtrpc.LockClient(d.sock)
    try:
        c.register(name="bench", owner_id=1, pid=FAKE_OWNER_PID)
        for _ in range(200):  # warm up
            c.acquire("", disk); c.release("", disk)
        u0, s0 = d.cpu()
        n, t0 = 0, time.perf_counter()
        while time.perf_counter() - t0 < seconds and n < max_pairs:
            for _ in range(100):
                c.acquire("", disk)
                c.release("", disk)
            n += 100
        el = time.perf_counter() - t0
        u1, s1 = d.cpu()
        return n, el, (u1 - u0, s1 - s0)
    finally:
        c.close()


def idle_rss(d):
    import virtrpc
    if d.prog == "virtlogd":
        c = virtrpc.LogClient(d.sock)
        c.append(f"{d.home}/idle.log", "hello\n")
    else:
        c = virtrpc.LockClient(d.sock)
        c.register(name="idle", owner_id=2, pid=FAKE_OWNER_PID)
    c.close()
    time.sleep(0.5)
    return d.rss_kib()


def odd_lines(log, keep=5):
    """Daemon log lines worth reporting (the config keeps warnings and errors; libvirt adds its
    version and hostname at info level to every log output): not the expected answer to the
    final GET_LOG_FILE_POSITION of each run, should a daemon log the errors it returns."""
    odd = [l for l in log.splitlines()
           if l.strip() and "No open log file" not in l and " info : " not in l]
    return odd[:keep] + ([f"... {len(odd) - keep} more lines"] if len(odd) > keep else [])


def one_round(impl, a, shm):
    r, errors = {}, []
    mb = 1e6
    d = Daemon(impl, "virtlogd", f"max_size = {MAX_SIZE}\nmax_backups = {MAX_BACKUPS}\n")
    try:
        r["logd_rss_idle"] = idle_rss(d)
        el, total, (u, s), _, err = log_run(d, shm, 1, a.log_mb * 1024 * 1024)
        errors += err
        r["log_mbps_1pipe"] = total / mb / el
        r["log_cpu_1pipe"] = (u + s) * 1000 / (total / mb)
        r["log_cpu_1pipe_user"] = u * 1000 / (total / mb)
        r["log_cpu_1pipe_sys"] = s * 1000 / (total / mb)
        el, total, (u, s), peak, err = log_run(d, shm, a.pipes, a.pipe_mb * 1024 * 1024)
        errors += err
        r["log_mbps_64pipes"] = total / mb / el
        r["log_cpu_64pipes"] = (u + s) * 1000 / (total / mb)
        r["logd_rss_64pipes"] = peak
    finally:
        log = d.log()
        d.stop()
    errors += [f"{impl} virtlogd log: {l}" for l in odd_lines(log)]
    d = Daemon(impl, "virtlockd")
    try:
        r["lockd_rss_idle"] = idle_rss(d)
        n, el, (u, s) = lock_run(d, a.lock_seconds)
        r["lock_pairs_per_s"] = n / el
        r["lock_cpu_per_pair"] = (u + s) / n * 1e6
        r["lock_cpu_user"] = u / n * 1e6
        r["lock_cpu_sys"] = s / n * 1e6
    finally:
        log = d.log()
        d.stop()
    errors += [f"{impl} virtlockd log: {l}" for l in odd_lines(log)]
    return r, errors


def log_parent():
    """Where the log files go, and what it is: /dev/shm if it is a tmpfs, else /tmp."""
    fstype = {}
    with open("/proc/mounts") as f:
        for line in f:
            parts = line.split()
            fstype[parts[1]] = parts[2]
    if os.path.isdir("/dev/shm") and fstype.get("/dev/shm") == "tmpfs":
        return "/dev/shm", "tmpfs (/dev/shm)"
    return "/tmp", f"/tmp (a {fstype.get('/tmp', 'disk')} file system, not tmpfs: disk speed may matter)"


def worker(a):
    global TEXT, BASE
    sys.path.insert(0, os.path.join(ROOT, "tools"))
    TEXT = text_block()
    BASE, shm = a.base, a.shm
    where = log_parent()[1]
    res = {"ours": [], "reference": []}
    errors = []
    t_start = time.monotonic()
    for i in range(a.rounds):
        for impl in (("ours", "reference") if i % 2 == 0 else ("reference", "ours")):
            r, err = one_round(impl, a, shm)
            res[impl].append(r)
            errors += [f"round {i + 1} {impl}: {e}" for e in err]
            print(f"round {i + 1} {impl}: " + ", ".join(f"{k}={v:,.1f}" for k, v in r.items()), file=sys.stderr, flush=True)
        print(f"round {i + 1}/{a.rounds} done ({time.monotonic() - t_start:.0f} s)", file=sys.stderr, flush=True)
    return {"results": res, "errors": errors, "log_dir": where,
            "seconds": time.monotonic() - t_start}


# ---------------------------------------------------------------------------------------------
# Driver side (root: build, re-run as the user, format, write)

UNITS = {"log_mbps_1pipe": "MB/s", "log_cpu_1pipe": "ms/MB", "log_cpu_1pipe_user": "ms/MB",
         "log_cpu_1pipe_sys": "ms/MB", "log_mbps_64pipes": "MB/s", "log_cpu_64pipes": "ms/MB",
         "logd_rss_idle": "KiB", "logd_rss_64pipes": "KiB", "lock_pairs_per_s": "pairs/s",
         "lock_cpu_per_pair": "µs/pair", "lock_cpu_user": "µs/pair", "lock_cpu_sys": "µs/pair",
         "lockd_rss_idle": "KiB"}
TARGETS = {"log_mbps_1pipe": "≥ 2", "log_cpu_1pipe": "≤ 0.5", "log_cpu_1pipe_user": "(part of log_cpu_1pipe)",
           "log_cpu_1pipe_sys": "(part of log_cpu_1pipe)", "log_mbps_64pipes": "≥ 2", "log_cpu_64pipes": "≤ 0.5",
           "logd_rss_idle": "(reported)", "logd_rss_64pipes": "(reported)", "lock_pairs_per_s": "(reported)",
           "lock_cpu_per_pair": "(reported)", "lock_cpu_user": "(part of lock_cpu_per_pair)",
           "lock_cpu_sys": "(part of lock_cpu_per_pair)", "lockd_rss_idle": "(reported)"}


def explain(a):
    return [
        f"- `log_mbps_1pipe`: one pipe from DOMAIN_OPEN_LOG_FILE, one writer writes {a.log_mb} MiB of 80-byte "
        "log lines in 64 KiB writes (max_size 2 MiB, max_backups 3, so a rotation every 2 MiB); MB/s (10^6 B) "
        "from the first write until the daemon has closed the file (after the writer closes its end, "
        "GET_LOG_FILE_POSITION is polled every ms until it answers \"No open log file\": EOF read, every byte in the files).",
        f"- `log_cpu_1pipe`: daemon utime+stime (`/proc/PID/stat`, all threads, {1000 // TICK} ms ticks) over that run "
        "per MB; `_user` and `_sys` are the split.",
        f"- `log_mbps_64pipes`: {a.pipes} pipes (one log file each) written at once by {a.pipes} writer threads, "
        f"{a.pipe_mb} MiB each; aggregate MB/s, same start and end rule (all files closed).",
        "- `log_cpu_64pipes`: daemon CPU over that run per MB.",
        "- `logd_rss_idle` / `lockd_rss_idle`: RSS of a freshly started daemon after one client connected "
        "(virtlogd: one DOMAIN_APPEND_LOG_FILE; virtlockd: REGISTER) and left.",
        f"- `logd_rss_64pipes`: peak virtlogd RSS sampled every 20 ms during the {a.pipes}-pipe run.",
        f"- `lock_pairs_per_s`: one registered connection, acquire + release of one exclusive resource in "
        f"the direct lockspace (an existing file), sequentially for {a.lock_seconds:g} s: pairs per second.",
        "- `lock_cpu_per_pair`: daemon CPU per acquire+release pair; `lock_cpu_user` and `lock_cpu_sys` are the split.",
    ]


def session_user():
    subprocess.run(["useradd", "--system", "--no-create-home", "--shell", "/usr/sbin/nologin", USER],
                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    pw = pwd.getpwnam(USER)
    return pw.pw_uid, pw.pw_gid


def run_as_user(a, base, shm):
    """Re-run this script as the session user in worker mode; returns its JSON result."""
    uid, gid = session_user()
    for d in (base, shm):
        os.chown(d, uid, gid)
    args = ["setpriv", f"--reuid={uid}", f"--regid={gid}", "--clear-groups", sys.executable,
            os.path.abspath(__file__), "--worker", "--base", base, "--shm", shm, "--rounds", str(a.rounds),
            "--log-mb", str(a.log_mb), "--pipes", str(a.pipes), "--pipe-mb", str(a.pipe_mb),
            "--lock-seconds", str(a.lock_seconds)]
    env = {"PATH": "/usr/sbin:/usr/bin:/bin", "HOME": base, "PYTHONDONTWRITEBYTECODE": "1", "TMPDIR": base}
    p = subprocess.Popen(args, env=env, stdout=subprocess.PIPE, text=True, cwd=base)
    try:
        out, _ = p.communicate(timeout=a.rounds * 2 * 3 * RUN_TIMEOUT + 120)
    except BaseException:
        # Ctrl-C reached the worker too; a signal to the driver alone is passed on. The worker
        # stops its daemons (which also get SIGTERM when the worker dies) and their dirs.
        if p.poll() is None:
            p.send_signal(signal.SIGTERM)
        try:
            p.wait(30)
        except subprocess.TimeoutExpired:
            p.kill()
            p.wait(10)
        raise
    if p.returncode != 0:
        sys.exit(f"benchmark worker failed with {p.returncode}")
    return json.loads(out)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--rounds", type=int, default=5)
    ap.add_argument("--log-mb", type=int, default=512, help="MiB through the single pipe")
    ap.add_argument("--pipes", type=int, default=64)
    ap.add_argument("--pipe-mb", type=int, default=8, help="MiB through each of the --pipes pipes")
    ap.add_argument("--lock-seconds", type=float, default=2.0)
    ap.add_argument("--write", action="store_true", help="replace the `support` section of BENCHMARKS.md")
    ap.add_argument("--no-build", action="store_true")
    ap.add_argument("--worker", action="store_true", help=argparse.SUPPRESS)
    ap.add_argument("--base", help=argparse.SUPPRESS)
    ap.add_argument("--shm", help=argparse.SUPPRESS)
    a = ap.parse_args()
    if a.rounds < 1 or a.log_mb < 1 or a.pipes < 1 or a.pipe_mb < 1 or a.lock_seconds <= 0:
        sys.exit("bad arguments")
    # Explicit handlers: a shell starting us in the background leaves SIGINT ignored.
    signal.signal(signal.SIGINT, _on_signal)
    signal.signal(signal.SIGTERM, _on_signal)
    signal.signal(signal.SIGHUP, _on_signal)
    if a.worker:
        try:
            json.dump(worker(a), sys.stdout)
        finally:
            cleanup()
        return
    if not a.no_build:
        subprocess.run(["cargo", "build", "--release", "-q", "-p", "oxvirt-daemon", "--bins"], cwd=ROOT, check=True)
    t0 = time.monotonic()
    # Every file of the run lives under these two dirs, removed whatever happens.
    base = tempfile.mkdtemp(prefix="oxvirt-bench-support-", dir="/tmp")
    shm = tempfile.mkdtemp(prefix="oxvirt-bench-support-", dir=log_parent()[0])
    try:
        if os.geteuid() == 0:
            out = run_as_user(a, base, shm)
        else:
            a.base, a.shm = base, shm
            try:
                out = worker(a)
            finally:
                cleanup()
    finally:
        shutil.rmtree(base, ignore_errors=True)
        shutil.rmtree(shm, ignore_errors=True)
    res = out["results"]
    lines = ["| figure | ours (median) | reference (median) | ours / reference | target |",
             "| --- | --- | --- | --- | --- |"]
    for k in UNITS:
        o = statistics.median(r[k] for r in res["ours"])
        f = statistics.median(r[k] for r in res["reference"])
        ratio = o / f if f else float("nan")
        fmt = lambda v: f"{v:,.2f}" if abs(v) < 10 else f"{v:,.1f}"
        lines.append(f"| {k} ({UNITS[k]}) | {fmt(o)} | {fmt(f)} | {ratio:.2f} | {TARGETS[k]} |")
    table = "\n".join(lines)
    print(f"log files on {out['log_dir']}; {a.rounds} alternating rounds; took {time.monotonic() - t0:.0f} s")
    print(table)
    for e in out["errors"]:
        print("ERROR:", e)
    if a.write:
        sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
        import mdsection
        mdsection.replace_section("support",
                    f"`bench/support.py --rounds {a.rounds} --log-mb {a.log_mb} --pipes {a.pipes} "
                    f"--pipe-mb {a.pipe_mb} --lock-seconds {a.lock_seconds:g} --write`: our virtlogd/virtlockd "
                    "against Debian's C ones (libvirt 9.0), same client (`tools/virtrpc.py`, run as the "
                    f"session user {USER}), session mode, a fresh daemon per round and program, one at a time, "
                    f"{a.rounds} alternating rounds, medians. Log files on {out['log_dir']}. Ratios are "
                    "ours / reference; for MB/s and pairs/s higher is better, for CPU and RSS lower is better. "
                    f"Machine: {os.cpu_count()} cores. Date: {time.strftime('%Y-%m-%d %H:%M')}.\n\n"
                    + table + "\n\n" + "\n".join(explain(a)) + "\n"
                    + ("".join(f"\nData check errors: {e}\n" for e in out["errors"]) if out["errors"] else
                       "\nEvery log run's rotated files were checked to be exactly the tail of the stream written.\n"))


if __name__ == "__main__":
    try:
        main()
    except KeyboardInterrupt:
        cleanup()
        sys.exit(130)
