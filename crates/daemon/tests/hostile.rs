//! Hostile clients over real sockets. In every case a well-behaved client keeps getting answers
//! within a bound, and the daemon's memory stays bounded.

mod common;
use common::{Daemon, Kind};
use oxvirt_proto::remote::{self as r, procs as p};
use oxvirt_proto::{Header, MsgStatus};
use oxvirt_xdr::Xdr;
use std::io::{Read, Write};
use std::os::unix::net::UnixStream;
use std::time::{Duration, Instant};

fn call<T: Xdr>(proc_: i32, serial: u32, body: &T) -> Vec<u8> {
    oxvirt_rpc::frame::call(r::PROGRAM, r::VERSION, proc_, serial, body)
}

fn read_frame(s: &mut UnixStream) -> Option<(Header, Vec<u8>)> {
    let mut len = [0u8; 4];
    s.read_exact(&mut len).ok()?;
    let mut body = vec![0u8; u32::from_be_bytes(len) as usize - 4];
    s.read_exact(&mut body).ok()?;
    Some((
        oxvirt_xdr::from_bytes::<Header>(&body).unwrap(),
        body[24..].to_vec(),
    ))
}

fn opened(d: &Daemon) -> UnixStream {
    let mut s = UnixStream::connect(d.sock()).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    let args = r::ConnectOpenArgs {
        name: Some("test:///default".into()),
        flags: 0,
    };
    s.write_all(&call(p::CONNECT_OPEN, 0, &args)).unwrap();
    assert_eq!(read_frame(&mut s).unwrap().0.status, MsgStatus::Ok);
    s
}

/// Worst latency of `n` calls by a well-behaved client.
fn worst_latency(d: &Daemon, n: u32) -> Duration {
    let mut s = opened(d);
    let mut worst = Duration::ZERO;
    for serial in 1..=n {
        let t0 = Instant::now();
        s.write_all(&call(p::DOMAIN_LOOKUP_BY_NAME, serial, &"test".to_string()))
            .unwrap();
        let (h, _) = read_frame(&mut s).expect("well-behaved client must be answered");
        assert_eq!((h.serial, h.status), (serial, MsgStatus::Ok));
        worst = worst.max(t0.elapsed());
    }
    worst
}

fn rss_kib(pid: u32) -> u64 {
    let s = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap();
    s.lines()
        .find(|l| l.starts_with("VmRSS:"))
        .and_then(|l| l.split_whitespace().nth(1))
        .unwrap()
        .parse()
        .unwrap()
}

#[test]
fn byte_at_a_time_writer_does_not_hold_up_others() {
    let d = Daemon::start(Kind::Ours, "", &[]);
    let mut slow = opened(&d);
    let frame = call(p::DOMAIN_LOOKUP_BY_NAME, 7, &"test".to_string());
    let writer = std::thread::spawn(move || {
        for b in frame {
            slow.write_all(&[b]).unwrap();
            std::thread::sleep(Duration::from_millis(40));
        }
        let (h, _) = read_frame(&mut slow).expect("the slow client is answered in the end");
        assert_eq!(h.serial, 7);
    });
    let worst = worst_latency(&d, 100);
    assert!(
        worst < Duration::from_millis(500),
        "worst latency {worst:?} while a slow writer dribbles"
    );
    writer.join().unwrap();
}

#[test]
fn client_that_never_reads_is_dropped_and_memory_stays_bounded() {
    let d = Daemon::start(Kind::Ours, "", &[]);
    let before = rss_kib(d.pid());
    let mut greedy = opened(&d);
    greedy
        .set_write_timeout(Some(Duration::from_secs(20)))
        .unwrap();
    let flood = std::thread::spawn(move || {
        let mut batch = Vec::new();
        for serial in 0..1000u32 {
            batch.extend(call(p::CONNECT_GET_CAPABILITIES, serial, &()));
        }
        let t0 = Instant::now();
        // Never read: the daemon must drop us rather than queue replies without bound.
        while t0.elapsed() < Duration::from_secs(30) {
            if greedy.write_all(&batch).is_err() {
                return Some(t0.elapsed());
            }
        }
        None
    });
    let worst = worst_latency(&d, 50);
    let dropped_after = flood.join().unwrap();
    assert!(
        dropped_after.is_some(),
        "a client that never reads must be dropped"
    );
    assert!(
        worst < Duration::from_millis(500),
        "worst latency {worst:?} during the flood"
    );
    let grown = rss_kib(d.pid()).saturating_sub(before);
    assert!(grown < 64 * 1024, "RSS grew by {grown} KiB");
    assert!(worst_latency(&d, 10) < Duration::from_millis(500));
}

#[test]
fn thousands_of_idle_connections() {
    let d = Daemon::start(
        Kind::Ours,
        "max_clients = 5000\nmax_anonymous_clients = 5000",
        &[],
    );
    let before = rss_kib(d.pid());
    let mut idle = Vec::new();
    for _ in 0..2000 {
        idle.push(UnixStream::connect(d.sock()).unwrap());
    }
    std::thread::sleep(Duration::from_millis(300));
    let worst = worst_latency(&d, 50);
    assert!(
        worst < Duration::from_millis(500),
        "worst latency {worst:?} with 2000 idle connections"
    );
    let per_conn = (rss_kib(d.pid()).saturating_sub(before)) * 1024 / 2000;
    assert!(per_conn < 16 * 1024, "{per_conn} bytes per idle connection");
    drop(idle);
}

#[test]
fn max_clients_suspends_accept_without_resetting_anyone() {
    let d = Daemon::start(
        Kind::Ours,
        "max_clients = 3\nmax_anonymous_clients = 3",
        &[],
    );
    let held: Vec<UnixStream> = (0..3).map(|_| opened(&d)).collect();
    // The fourth connects (the kernel queues it) but is not served while three are connected.
    let mut fourth = UnixStream::connect(d.sock()).unwrap();
    fourth
        .set_read_timeout(Some(Duration::from_millis(700)))
        .unwrap();
    fourth.write_all(&call(p::AUTH_LIST, 0, &())).unwrap();
    let mut b = [0u8; 4];
    let r = fourth.read(&mut b);
    assert!(
        matches!(&r, Err(e) if e.kind() == std::io::ErrorKind::WouldBlock || e.kind() == std::io::ErrorKind::TimedOut),
        "the fourth client must wait, not be answered or reset: {r:?}"
    );
    // One leaves: the fourth is accepted and answered; nobody was reset.
    drop(held.into_iter().next());
    fourth
        .set_read_timeout(Some(Duration::from_secs(10)))
        .unwrap();
    let (h, _) = read_frame(&mut fourth).expect("served once a slot frees");
    assert_eq!((h.serial, h.status), (0, MsgStatus::Ok));
}
