//! Protocol tests over a real socket against our daemon: framing limits, unknown programs and
//! procedures, bad message types, pipelining, keepalive, fd passing, and that the daemon keeps
//! serving other clients through all of it.

mod common;
use common::{Daemon, Kind};
use oxvirt_proto::header::{begin_frame, finish_frame};
use oxvirt_proto::remote::{self as r, procs as p};
use oxvirt_proto::{keepalive as ka, Header, MsgStatus, MsgType, RemoteError};
use oxvirt_xdr::Xdr;
use std::io::{Read, Write};
use std::os::unix::net::UnixStream;
use std::time::{Duration, Instant};

fn frame<T: Xdr>(prog: u32, proc_: i32, kind: MsgType, serial: u32, body: &T) -> Vec<u8> {
    let h = Header {
        prog,
        vers: 1,
        proc_,
        kind,
        serial,
        status: MsgStatus::Ok,
    };
    let mut out = Vec::new();
    begin_frame(&mut out, &h);
    body.encode(&mut out);
    finish_frame(&mut out, 0);
    out
}

fn call<T: Xdr>(proc_: i32, serial: u32, body: &T) -> Vec<u8> {
    frame(r::PROGRAM, proc_, MsgType::Call, serial, body)
}

fn connect(d: &Daemon) -> UnixStream {
    let s = UnixStream::connect(d.sock()).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    s
}

/// Read one frame: header and payload.
fn read_frame(s: &mut UnixStream) -> Option<(Header, Vec<u8>)> {
    let mut len = [0u8; 4];
    s.read_exact(&mut len).ok()?;
    let len = u32::from_be_bytes(len) as usize;
    let mut body = vec![0u8; len - 4];
    s.read_exact(&mut body).ok()?;
    let h = oxvirt_xdr::from_bytes::<Header>(&body).unwrap();
    Some((h, body[24..].to_vec()))
}

fn error_of(body: &[u8]) -> oxvirt_virerror::VirError {
    oxvirt_xdr::from_bytes::<RemoteError>(body).unwrap().0
}

fn open(s: &mut UnixStream) {
    s.write_all(&call(p::AUTH_LIST, 0, &())).unwrap();
    read_frame(s).unwrap();
    let args = r::ConnectOpenArgs {
        name: Some("test:///default".into()),
        flags: 0,
    };
    s.write_all(&call(p::CONNECT_OPEN, 1, &args)).unwrap();
    let (h, _) = read_frame(s).unwrap();
    assert_eq!(h.status, MsgStatus::Ok);
}

/// A healthy client still gets answers.
fn assert_served(d: &Daemon) {
    let mut s = connect(d);
    open(&mut s);
    s.write_all(&call(p::CONNECT_GET_HOSTNAME, 2, &())).unwrap();
    let (h, _) = read_frame(&mut s).expect("daemon must keep serving");
    assert_eq!((h.serial, h.status), (2, MsgStatus::Ok));
}

fn assert_closed(s: &mut UnixStream) {
    let mut b = [0u8; 1];
    assert!(
        matches!(s.read(&mut b), Ok(0) | Err(_)),
        "connection should be closed"
    );
}

#[test]
fn bad_length_words_close_only_that_connection() {
    let d = Daemon::start(Kind::Ours, "", &[]);
    for bad in [3u32, 8, 27, 32 * 1024 * 1024 + 5, u32::MAX] {
        let mut s = connect(&d);
        let mut bytes = bad.to_be_bytes().to_vec();
        bytes.extend_from_slice(&[0u8; 28]);
        // The daemon may close as soon as it has read the length word: a failed write is
        // part of the expected outcome.
        let _ = s.write_all(&bytes);
        assert_closed(&mut s);
    }
    assert_served(&d);
}

#[test]
fn exactly_max_length_is_accepted_and_truncation_is_waited_for() {
    let d = Daemon::start(Kind::Ours, "", &[]);
    let mut s = connect(&d);
    // Announce a maximal frame but send only part of it: the daemon waits, others are served.
    let h = Header {
        prog: r::PROGRAM,
        vers: 1,
        proc_: p::AUTH_LIST,
        kind: MsgType::Call,
        serial: 0,
        status: MsgStatus::Ok,
    };
    s.write_all(&((32 * 1024 * 1024 + 4) as u32).to_be_bytes())
        .unwrap();
    s.write_all(&oxvirt_xdr::to_bytes(&h)).unwrap();
    s.write_all(&vec![0u8; 1 << 20]).unwrap();
    assert_served(&d);
}

#[test]
fn unknown_program_procedure_and_types() {
    let d = Daemon::start(Kind::Ours, "", &[]);
    let mut s = connect(&d);
    s.write_all(&frame(0x1234_5678, 1, MsgType::Call, 7, &()))
        .unwrap();
    let (h, body) = read_frame(&mut s).unwrap();
    assert_eq!(
        (h.prog, h.serial, h.status),
        (0x1234_5678, 7, MsgStatus::Error)
    );
    let e = error_of(&body);
    assert_eq!((e.code, e.domain), (39, 7));
    assert_eq!(e.message, "Cannot find program 305419896 version 1");

    // keepalive as a CALL: unknown program too (as libvirtd)
    s.write_all(&frame(ka::PROGRAM, 1, MsgType::Call, 8, &()))
        .unwrap();
    let (_, body) = read_frame(&mut s).unwrap();
    assert_eq!(
        error_of(&body).message,
        "Cannot find program 1801807216 version 1"
    );

    // a REPLY-typed message from the client, and an unknown type: dropped silently
    s.write_all(&frame(r::PROGRAM, 3, MsgType::Reply, 9, &()))
        .unwrap();
    s.write_all(&frame(r::PROGRAM, 3, MsgType::Other(77), 10, &()))
        .unwrap();
    open(&mut s);
    s.write_all(&call(9999, 11, &())).unwrap();
    let (h, body) = read_frame(&mut s).unwrap();
    assert_eq!(
        h.serial, 11,
        "the dropped messages must not have been answered"
    );
    let e = error_of(&body);
    assert_eq!(
        (e.code, e.domain, e.message.as_str()),
        (39, 7, "unknown procedure: 9999")
    );
    s.write_all(&call(0, 12, &())).unwrap();
    assert_eq!(
        error_of(&read_frame(&mut s).unwrap().1).message,
        "unknown procedure: 0"
    );
}

#[test]
fn gates_before_open_and_undecodable_payloads() {
    let d = Daemon::start(Kind::Ours, "", &[]);
    let mut s = connect(&d);
    s.write_all(&call(p::CONNECT_GET_HOSTNAME, 0, &())).unwrap();
    let e = error_of(&read_frame(&mut s).unwrap().1);
    assert_eq!((e.code, e.domain), (1, 7));
    assert_eq!(e.message, "internal error: hypervisor connection not open");
    // feature 10 is answered before open
    s.write_all(&call(p::CONNECT_SUPPORTS_FEATURE, 1, &10i32))
        .unwrap();
    let (h, body) = read_frame(&mut s).unwrap();
    assert_eq!((h.status, body), (MsgStatus::Ok, vec![0, 0, 0, 1]));
    open(&mut s);
    // DOMAIN_LOOKUP_BY_NAME with a string length that runs past the payload
    s.write_all(&call(p::DOMAIN_LOOKUP_BY_NAME, 5, &0x00ff_ffffu32))
        .unwrap();
    let e = error_of(&read_frame(&mut s).unwrap().1);
    assert_eq!(
        (e.code, e.domain, e.message.as_str()),
        (39, 7, "Unable to decode message payload")
    );
    // the connection stays usable; trailing garbage after valid args is ignored
    let mut args = oxvirt_xdr::to_bytes(&"test".to_string());
    args.extend_from_slice(&[1, 2, 3, 4]);
    let mut f = Vec::new();
    let h = Header {
        prog: r::PROGRAM,
        vers: 1,
        proc_: p::DOMAIN_LOOKUP_BY_NAME,
        kind: MsgType::Call,
        serial: 6,
        status: MsgStatus::Ok,
    };
    begin_frame(&mut f, &h);
    f.extend_from_slice(&args);
    finish_frame(&mut f, 0);
    s.write_all(&f).unwrap();
    let (h, body) = read_frame(&mut s).unwrap();
    assert_eq!(h.status, MsgStatus::Ok);
    let dom = oxvirt_xdr::from_bytes::<r::Domain>(&body).unwrap();
    assert_eq!((dom.name.as_str(), dom.id), ("test", 1));
}

#[test]
fn pipelined_calls_all_answered_with_their_serials() {
    let d = Daemon::start(Kind::Ours, "", &[]);
    let mut s = connect(&d);
    open(&mut s);
    let mut batch = Vec::new();
    for serial in 100..164u32 {
        batch.extend(call(p::DOMAIN_LOOKUP_BY_NAME, serial, &"test".to_string()));
    }
    s.write_all(&batch).unwrap();
    let mut seen: Vec<u32> = (0..64)
        .map(|_| read_frame(&mut s).unwrap().0.serial)
        .collect();
    seen.sort();
    assert_eq!(seen, (100..164).collect::<Vec<_>>());
}

#[test]
fn keepalive_ping_pong_and_dead_peer() {
    let d = Daemon::start(
        Kind::Ours,
        "keepalive_interval = 1\nkeepalive_count = 1",
        &[],
    );
    let mut s = connect(&d);
    // A PING from the client is answered at any time, even first.
    s.write_all(&frame(ka::PROGRAM, ka::PROC_PING, MsgType::Message, 0, &()))
        .unwrap();
    let (h, _) = read_frame(&mut s).unwrap();
    assert_eq!(
        (h.prog, h.proc_, h.kind, h.serial),
        (ka::PROGRAM, ka::PROC_PONG, MsgType::Message, 0)
    );
    // A client that never asked for keepalive is never pinged.
    let mut quiet = connect(&d);
    quiet
        .set_read_timeout(Some(Duration::from_millis(2500)))
        .unwrap();
    // Ask for keepalive, then go silent: PING after ~1 s, closed after ~2 s.
    s.write_all(&call(p::CONNECT_SUPPORTS_FEATURE, 1, &10i32))
        .unwrap();
    read_frame(&mut s).unwrap();
    let t0 = Instant::now();
    let (h, _) = read_frame(&mut s).unwrap();
    assert_eq!((h.prog, h.proc_), (ka::PROGRAM, ka::PROC_PING));
    assert_closed(&mut s);
    let waited = t0.elapsed();
    assert!(
        waited >= Duration::from_millis(1500) && waited < Duration::from_secs(6),
        "{waited:?}"
    );
    let mut b = [0u8; 1];
    let r = quiet.read(&mut b);
    assert!(
        matches!(&r, Err(e) if e.kind() == std::io::ErrorKind::WouldBlock || e.kind() == std::io::ErrorKind::TimedOut),
        "{r:?}"
    );
}

#[test]
fn passed_fds_are_consumed_in_step() {
    use nix::sys::socket::{sendmsg, ControlMessage, MsgFlags};
    use std::os::fd::AsRawFd;
    let d = Daemon::start(Kind::Ours, "", &[]);
    let mut s = connect(&d);
    open(&mut s);
    // DOMAIN_OPEN_GRAPHICS with one fd: unsupported, but the fd and its dummy byte are consumed.
    let mut f = Vec::new();
    let h = Header {
        prog: r::PROGRAM,
        vers: 1,
        proc_: p::DOMAIN_OPEN_GRAPHICS,
        kind: MsgType::CallWithFds,
        serial: 3,
        status: MsgStatus::Ok,
    };
    begin_frame(&mut f, &h);
    1u32.encode(&mut f);
    finish_frame(&mut f, 0);
    s.write_all(&f).unwrap();
    let null = std::fs::File::open("/dev/null").unwrap();
    let fds = [null.as_raw_fd()];
    sendmsg::<()>(
        s.as_raw_fd(),
        &[std::io::IoSlice::new(&[0])],
        &[ControlMessage::ScmRights(&fds)],
        MsgFlags::empty(),
        None,
    )
    .unwrap();
    let (h, _) = read_frame(&mut s).unwrap();
    assert_eq!((h.serial, h.status), (3, MsgStatus::Error));
    s.write_all(&call(p::CONNECT_GET_HOSTNAME, 4, &())).unwrap();
    let (h, _) = read_frame(&mut s).unwrap();
    assert_eq!((h.serial, h.status), (4, MsgStatus::Ok));
}

#[test]
fn connect_close_closes_the_socket() {
    let d = Daemon::start(Kind::Ours, "", &[]);
    let mut s = connect(&d);
    open(&mut s);
    s.write_all(&call(p::CONNECT_CLOSE, 2, &())).unwrap();
    let (h, _) = read_frame(&mut s).unwrap();
    assert_eq!((h.serial, h.status), (2, MsgStatus::Ok));
    assert_closed(&mut s);
}

#[test]
fn max_client_requests_limits_reading_not_keepalive() {
    let d = Daemon::start(Kind::Ours, "max_client_requests = 1", &[]);
    let mut s = connect(&d);
    open(&mut s);
    let mut batch = Vec::new();
    for serial in 10..20u32 {
        batch.extend(call(p::CONNECT_GET_HOSTNAME, serial, &()));
    }
    batch.extend(frame(ka::PROGRAM, ka::PROC_PING, MsgType::Message, 0, &()));
    s.write_all(&batch).unwrap();
    let mut serials = Vec::new();
    let mut pong = false;
    for _ in 0..11 {
        let (h, _) = read_frame(&mut s).unwrap();
        if h.prog == ka::PROGRAM {
            pong = true;
        } else {
            serials.push(h.serial);
        }
    }
    assert!(pong);
    serials.sort();
    assert_eq!(serials, (10..20).collect::<Vec<_>>());
}

#[test]
fn unannounced_fds_close_the_connection() {
    use nix::sys::socket::{sendmsg, ControlMessage, MsgFlags};
    use std::os::fd::AsRawFd;
    let d = Daemon::start(Kind::Ours, "", &[]);
    let mut s = connect(&d);
    open(&mut s);
    // Attach fds to the bytes of ordinary calls that announce none.
    let null = std::fs::File::open("/dev/null").unwrap();
    let fds = [null.as_raw_fd(); 8];
    for serial in 10..20u32 {
        let f = call(p::CONNECT_GET_HOSTNAME, serial, &());
        let _ = sendmsg::<()>(
            s.as_raw_fd(),
            &[std::io::IoSlice::new(&f)],
            &[ControlMessage::ScmRights(&fds)],
            MsgFlags::empty(),
            None,
        );
    }
    // Some replies may come first; then the daemon closes the connection.
    let t0 = Instant::now();
    while read_frame(&mut s).is_some() {
        assert!(t0.elapsed() < Duration::from_secs(10));
    }
    assert_served(&d);
}
