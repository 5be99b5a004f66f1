#!/usr/bin/python3
"""Scale: N concurrent connections (default 10,000), each making one call per second, against
our libvirtd and the reference in one run. Reports p50/p99 latency, errors and daemon RSS.

Raw protocol client (asyncio, UNIX sockets): AUTH_LIST, CONNECT_OPEN test:///default, then one
DOMAIN_LOOKUP_BY_NAME("test") per second per connection. Bounded: connect phase, then --seconds
of load; every call has a 10 s timeout. Usage (root, after cargo build --release):

    bench/scale.py [--conns 10000] [--seconds 20] [--write]

--write replaces the `scale` section of BENCHMARKS.md (prose outside it is kept).
"""
import argparse, asyncio, importlib.util, os, random, resource, statistics, struct, sys, time

spec = importlib.util.spec_from_file_location("runbench", os.path.join(os.path.dirname(__file__), "run.py"))
rb = importlib.util.module_from_spec(spec); spec.loader.exec_module(rb)

REMOTE = 0x20008086
AUTH_LIST, CONNECT_OPEN, LOOKUP_BY_NAME = 66, 1, 23


def frame(proc, serial, payload=b""):
    return struct.pack(">IIIiiIi", 28 + len(payload), REMOTE, 1, proc, 0, serial, 0) + payload


def xdr_string(s):
    b = s.encode()
    return struct.pack(">I", len(b)) + b + b"\0" * ((4 - len(b) % 4) % 4)


async def read_frame(reader):
    (n,) = struct.unpack(">I", await reader.readexactly(4))
    body = await reader.readexactly(n - 4)
    return struct.unpack(">IIiiIi", body[:24])


class Stats:
    def __init__(self):
        self.lat, self.errors, self.connected = [], 0, 0


async def connection(path, st, start_at, stop_at):
    try:
        reader, writer = await asyncio.wait_for(asyncio.open_unix_connection(path), 30)
        writer.write(frame(AUTH_LIST, 0))
        await asyncio.wait_for(read_frame(reader), 30)
        writer.write(frame(CONNECT_OPEN, 1, struct.pack(">I", 1) + xdr_string("test:///default") + struct.pack(">I", 0)))
        h = await asyncio.wait_for(read_frame(reader), 30)
        if h[5] != 0:
            st.errors += 1
            return
        st.connected += 1
    except Exception:
        st.errors += 1
        return
    serial = 2
    await asyncio.sleep(max(0.0, start_at - time.monotonic()) + random.random())
    while time.monotonic() < stop_at:
        t0 = time.monotonic()
        try:
            writer.write(frame(LOOKUP_BY_NAME, serial, xdr_string("test")))
            h = await asyncio.wait_for(read_frame(reader), 10)
            if h[5] != 0 or h[4] != serial:
                st.errors += 1
            else:
                st.lat.append(time.monotonic() - t0)
        except Exception:
            st.errors += 1
            break
        serial += 1
        await asyncio.sleep(max(0.0, 1.0 - (time.monotonic() - t0)))
    writer.close()


async def load(path, conns, seconds, rss):
    st = Stats()
    t0 = time.monotonic()
    start_at = t0 + 5 + conns / 2000
    stop_at = start_at + seconds
    tasks = []
    for i in range(conns):
        tasks.append(asyncio.create_task(connection(path, st, start_at, stop_at)))
        if i % 200 == 199:
            await asyncio.sleep(0.01)
    peak = 0
    while time.monotonic() < stop_at:
        await asyncio.sleep(1)
        peak = max(peak, rss())
    await asyncio.wait(tasks, timeout=30)
    return st, peak


def run_one(d, conns, seconds):
    st, peak = asyncio.run(load(f"{d.dir}/run/libvirt-sock", conns, seconds, d.rss_kib))
    lat = sorted(st.lat)
    q = lambda p: lat[min(len(lat) - 1, int(p * len(lat)))] * 1000 if lat else float("nan")
    return {"connected": st.connected, "calls": len(lat), "errors": st.errors,
            "p50_ms": q(0.50), "p99_ms": q(0.99), "peak_rss_kib": peak}


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--conns", type=int, default=10000)
    ap.add_argument("--seconds", type=float, default=20)
    ap.add_argument("--write", action="store_true")
    a = ap.parse_args()
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    if hard < a.conns + 100:
        sys.exit(f"RLIMIT_NOFILE hard limit {hard} is below {a.conns} connections")
    rb.subprocess.run(["cargo", "build", "--release", "-q", "-p", "oxvirt-daemon"], cwd=rb.ROOT, check=True)
    res = {}
    for name, binary in (("ours", rb.OURS), ("reference", rb.REFERENCE)):
        d = rb.Daemon(name, binary, extra="max_clients = 20000\nmax_anonymous_clients = 20000\nmax_queued_clients = 4096\n")
        try:
            res[name] = run_one(d, a.conns, a.seconds)
        finally:
            d.stop()
        print(name, res[name], file=sys.stderr)
    keys = ["connected", "calls", "errors", "p50_ms", "p99_ms", "peak_rss_kib"]
    lines = ["| figure | ours | reference | ours / reference |", "| --- | --- | --- | --- |"]
    for k in keys:
        o, r = res["ours"][k], res["reference"][k]
        ratio = o / r if r else float("nan")
        lines.append(f"| {k} | {o:,.1f} | {r:,.1f} | {ratio:.2f} |")
    table = "\n".join(lines)
    print(table)
    if a.write:
        sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
        import mdsection
        mdsection.replace_section("scale",
            f"`bench/scale.py --conns {a.conns} --seconds {a.seconds:g} --write`: {a.conns} connections, one "
            "call per second each (raw-protocol asyncio client, DOMAIN_LOOKUP_BY_NAME; latencies from send to "
            f"reply; peak RSS sampled each second). Date: {time.strftime('%Y-%m-%d %H:%M')}.\n\n{table}")


if __name__ == "__main__":
    main()
