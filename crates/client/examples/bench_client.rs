//! Client-side benchmark used by bench/client.py: sequential dom.info() calls for a given time
//! on one connection (async API on a current-thread runtime, then the blocking facade), then
//! `tasks` tasks sharing one connection. Prints JSON with calls/s and this process's CPU
//! (user+system) per call.
//!
//! `cargo run --release -p oxvirt-client --example bench_client -- URI SECONDS TASKS [seq|blocking]`

use oxvirt_client::Connection;
use std::time::{Duration, Instant};

fn cpu_seconds() -> f64 {
    let u = nix::sys::resource::getrusage(nix::sys::resource::UsageWho::RUSAGE_SELF).unwrap();
    let tv = |t: nix::sys::time::TimeVal| t.tv_sec() as f64 + t.tv_usec() as f64 / 1e6;
    tv(u.user_time()) + tv(u.system_time())
}

/// Runs `call` in batches of 100 for `secs`: (calls/s, CPU µs per call).
fn measure_seq(secs: f64, mut call: impl FnMut()) -> (f64, f64) {
    let (c0, t0) = (cpu_seconds(), Instant::now());
    let mut n = 0u64;
    while t0.elapsed() < Duration::from_secs_f64(secs) {
        for _ in 0..100 {
            call();
        }
        n += 100;
    }
    let el = t0.elapsed().as_secs_f64();
    (n as f64 / el, (cpu_seconds() - c0) / n as f64 * 1e6)
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let uri = args.get(1).expect("URI").clone();
    let secs: f64 = args.get(2).map_or(2.0, |s| s.parse().unwrap());
    let tasks: usize = args.get(3).map_or(64, |s| s.parse().unwrap());
    // Optional: only one phase ("seq" or "blocking"), to look at it with strace/perf.
    let only = args.get(4).cloned();
    if only.as_deref() == Some("blocking") {
        let b = oxvirt_client::blocking::Connection::open(Some(&uri), false).expect("open");
        let bdom = b.lookup_domain_by_name("test").expect("lookup");
        let (rate, cpu) = measure_seq(secs, || {
            b.domain_get_info(&bdom).expect("info");
        });
        println!("{{\"blocking_seq_calls_per_s\": {rate:.1}, \"blocking_seq_cpu_us_per_call\": {cpu:.2}}}");
        return;
    }

    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let conn = rt
        .block_on(Connection::open(Some(&uri), false))
        .expect("open");
    let dom = rt
        .block_on(conn.lookup_domain_by_name("test"))
        .expect("lookup");
    // Sequential calls of the async API, all inside one block_on.
    let (seq_rate, seq_cpu_us) = rt.block_on(async {
        let (c0, t0) = (cpu_seconds(), Instant::now());
        let mut n = 0u64;
        while t0.elapsed() < Duration::from_secs_f64(secs) {
            for _ in 0..100 {
                conn.domain_get_info(&dom).await.expect("info");
            }
            n += 100;
        }
        (
            n as f64 / t0.elapsed().as_secs_f64(),
            (cpu_seconds() - c0) / n as f64 * 1e6,
        )
    });

    if only.as_deref() == Some("seq") {
        println!(
            "{{\"seq_calls_per_s\": {seq_rate:.1}, \"seq_cpu_us_per_call\": {seq_cpu_us:.2}}}"
        );
        return;
    }
    let par_rate = rt.block_on(async {
        let t1 = Instant::now();
        let deadline = t1 + Duration::from_secs_f64(secs);
        let mut handles = Vec::new();
        for _ in 0..tasks {
            let (conn, dom) = (conn.clone(), dom.clone());
            handles.push(tokio::spawn(async move {
                let mut k = 0u64;
                while Instant::now() < deadline {
                    conn.domain_get_info(&dom).await.expect("info");
                    k += 1;
                }
                k
            }));
        }
        let mut total = 0;
        for h in handles {
            total += h.await.unwrap();
        }
        total as f64 / t1.elapsed().as_secs_f64()
    });
    rt.block_on(conn.close()).ok();

    let b = oxvirt_client::blocking::Connection::open(Some(&uri), false).expect("open");
    let bdom = b.lookup_domain_by_name("test").expect("lookup");
    let (blk_rate, blk_cpu_us) = measure_seq(secs, || {
        b.domain_get_info(&bdom).expect("info");
    });
    b.close().ok();
    println!(
        "{{\"seq_calls_per_s\": {seq_rate:.1}, \"seq_cpu_us_per_call\": {seq_cpu_us:.2}, \
         \"shared_conn_calls_per_s\": {par_rate:.1}, \"blocking_seq_calls_per_s\": {blk_rate:.1}, \
         \"blocking_seq_cpu_us_per_call\": {blk_cpu_us:.2}}}"
    );
}
