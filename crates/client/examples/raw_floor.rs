//! The floor for bench/client.py: the least a client can do per sequential call, with no library
//! at all. A blocking UNIX socket, one `write` of a hand-encoded CALL frame and blocking `read`s
//! of the reply (no runtime, no epoll, no serial matching). Whatever this reaches, no client
//! can beat by much on the same daemon and machine: the round trip (the daemon's work plus the
//! wake-ups of both sides) is the limit, not client overhead.
//!
//! `raw_floor SOCKET SECONDS` opens `test:///default`, looks up the domain `test`, calls
//! DOMAIN_GET_INFO for SECONDS and prints JSON: calls/s and this process's CPU µs per call.

use std::io::{Read, Write};
use std::os::unix::net::UnixStream;
use std::time::{Duration, Instant};

const REMOTE: u32 = 0x2000_8086;
const CONNECT_OPEN: u32 = 1;
const DOMAIN_LOOKUP_BY_NAME: u32 = 23;
const DOMAIN_GET_INFO: u32 = 16;

fn xdr_string(b: &mut Vec<u8>, s: &str) {
    b.extend((s.len() as u32).to_be_bytes());
    b.extend(s.as_bytes());
    while b.len() % 4 != 0 {
        b.push(0);
    }
}

/// One CALL and its REPLY; returns the reply's payload (after the 24-byte header).
fn call(s: &mut UnixStream, serial: u32, proc_: u32, payload: &[u8]) -> Vec<u8> {
    let mut f = Vec::with_capacity(28 + payload.len());
    f.extend(((28 + payload.len()) as u32).to_be_bytes());
    for v in [REMOTE, 1, proc_, 0, serial, 0] {
        f.extend(v.to_be_bytes());
    }
    f.extend(payload);
    s.write_all(&f).expect("write");
    let mut len = [0u8; 4];
    s.read_exact(&mut len).expect("read length");
    let n = (u32::from_be_bytes(len) as usize)
        .checked_sub(4)
        .expect("length");
    let mut body = vec![0u8; n];
    s.read_exact(&mut body).expect("read body");
    assert!(body.len() >= 24, "short reply");
    assert_eq!(&body[20..24], &[0, 0, 0, 0], "the call failed");
    body.split_off(24)
}

fn cpu_seconds() -> f64 {
    let u = nix::sys::resource::getrusage(nix::sys::resource::UsageWho::RUSAGE_SELF).unwrap();
    let tv = |t: nix::sys::time::TimeVal| t.tv_sec() as f64 + t.tv_usec() as f64 / 1e6;
    tv(u.user_time()) + tv(u.system_time())
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let path = args.get(1).expect("SOCKET");
    let secs: f64 = args.get(2).map_or(2.0, |s| s.parse().expect("SECONDS"));
    let mut s = UnixStream::connect(path).expect("connect");
    let mut p = Vec::new();
    p.extend(1u32.to_be_bytes());
    xdr_string(&mut p, "test:///default");
    p.extend(0u32.to_be_bytes());
    call(&mut s, 0, CONNECT_OPEN, &p);
    let mut p = Vec::new();
    xdr_string(&mut p, "test");
    let dom = call(&mut s, 1, DOMAIN_LOOKUP_BY_NAME, &p);
    let (c0, t0) = (cpu_seconds(), Instant::now());
    let mut n = 0u32;
    while t0.elapsed() < Duration::from_secs_f64(secs) {
        call(&mut s, 2 + n, DOMAIN_GET_INFO, &dom);
        n += 1;
    }
    let el = t0.elapsed().as_secs_f64();
    println!(
        "{{\"floor_seq_calls_per_s\": {:.1}, \"floor_seq_cpu_us_per_call\": {:.2}}}",
        n as f64 / el,
        (cpu_seconds() - c0) / n as f64 * 1e6
    );
}
