//! Races between our writes and the peer closing, driven over a real socket pair with the
//! peer on a plain thread, so that the order of events is fixed by the test.

use super::*;
use oxvirt_rpc::frame::{parse, reply_ok, Parsed};
use std::io::{Read, Write};

/// Reads one frame from a blocking socket: its header.
fn read_call(s: &mut std::os::unix::net::UnixStream) -> Header {
    let mut buf = Vec::new();
    let mut tmp = [0u8; 4096];
    loop {
        if let Parsed::Frame { header, .. } = parse(&buf).unwrap() {
            return header;
        }
        let n = s.read(&mut tmp).unwrap();
        assert!(n > 0, "peer of the fake closed");
        buf.extend_from_slice(&tmp[..n]);
    }
}

/// Polls a future once: `Some` if it finished.
async fn poll_once<F: Future + Unpin>(f: &mut F) -> Option<F::Output> {
    std::future::poll_fn(|cx| {
        Poll::Ready(match Pin::new(&mut *f).poll(cx) {
            Poll::Ready(v) => Some(v),
            Poll::Pending => None,
        })
    })
    .await
}

/// The server answers a call and closes (as a daemon does after CONNECT_CLOSE) while we still
/// have something to write: that write fails (EPIPE), and the reply already in our receive
/// buffer must still reach its caller. Before, the failed write killed the connection at once
/// and the answered call failed with "client socket is closed": `close()` racing a background
/// event deregistration made `ours_domain_events` fail now and then.
#[tokio::test(flavor = "current_thread")]
async fn a_failed_write_still_delivers_what_the_peer_sent_before_closing() {
    let (ours, mut peer) = std::os::unix::net::UnixStream::pair().unwrap();
    ours.set_nonblocking(true).unwrap();
    let c = Connection::raw_from_stream(tokio::net::UnixStream::from_std(ours).unwrap()).unwrap();
    let mut a = Box::pin(c.call_program::<(), String>(0x1234, 1, 7, &()));
    // Our call is written; nothing has come back yet.
    assert!(poll_once(&mut a).await.is_none());
    // The peer answers and closes. This runtime does not run meanwhile, so our reader has not
    // seen the reply when the next write fails.
    let h = read_call(&mut peer);
    peer.write_all(&reply_ok(&h, &"answer".to_string()))
        .unwrap();
    drop(peer);
    let e = c
        .inner
        .send(&ping_frame(keepalive::PROC_PING), Vec::new(), None);
    match e {
        Err(ClientError::Disconnected(Disconnect::Write(m))) => assert!(m.contains("Broken pipe")),
        e => panic!("{e:?}"),
    }
    let a = tokio::time::timeout(Duration::from_secs(10), a)
        .await
        .expect("the answered call hung");
    assert_eq!(a.unwrap(), "answer");
    // Then the reader reaches the peer's EOF and the connection is dead.
    let why = tokio::time::timeout(Duration::from_secs(10), c.closed())
        .await
        .expect("the connection stayed up");
    assert_eq!(why, CloseReason::Eof);
    // New calls fail at once with the write error.
    let e = c
        .call_program::<(), String>(0x1234, 1, 7, &())
        .await
        .unwrap_err();
    assert!(matches!(e, ClientError::Disconnected(_)), "{e:?}");
}

/// A write error with nobody left to read: the connection is killed after the grace period,
/// not left half-alive. (Here the peer only shuts down its read side, so our reader never
/// sees EOF.)
#[tokio::test(flavor = "current_thread")]
async fn a_failed_write_without_eof_kills_after_the_grace_period() {
    let (ours, peer) = std::os::unix::net::UnixStream::pair().unwrap();
    ours.set_nonblocking(true).unwrap();
    let c = Connection::raw_from_stream(tokio::net::UnixStream::from_std(ours).unwrap()).unwrap();
    peer.shutdown(std::net::Shutdown::Read).unwrap();
    let e = c
        .inner
        .send(&ping_frame(keepalive::PROC_PING), Vec::new(), None);
    assert!(
        matches!(e, Err(ClientError::Disconnected(Disconnect::Write(_)))),
        "{e:?}"
    );
    assert!(c.is_alive());
    let why = tokio::time::timeout(WRITE_FAILED_GRACE * 2, c.closed())
        .await
        .expect("the connection stayed up");
    assert_eq!(why, CloseReason::Error);
    drop(peer);
}

/// A peer that closes instead of answering CONNECT_CLOSE (virt-ssh-helper 9.0 can drop the
/// reply): the connection is closed as asked, so `close()` succeeds, as `virConnectClose`
/// does; an error the server sends back is still returned.
#[tokio::test(flavor = "current_thread")]
async fn close_succeeds_when_the_peer_closes_first() {
    let (ours, mut peer) = std::os::unix::net::UnixStream::pair().unwrap();
    ours.set_nonblocking(true).unwrap();
    let c = Connection::raw_from_stream(tokio::net::UnixStream::from_std(ours).unwrap()).unwrap();
    let t = std::thread::spawn(move || {
        let h = read_call(&mut peer);
        assert_eq!(h.proc_, procs::CONNECT_CLOSE);
    });
    tokio::time::timeout(Duration::from_secs(10), c.close())
        .await
        .expect("close hung")
        .unwrap();
    t.join().unwrap();
    assert!(!c.is_alive());
    assert_eq!(c.close_reason(), Some(CloseReason::Client));

    let (ours, mut peer) = std::os::unix::net::UnixStream::pair().unwrap();
    ours.set_nonblocking(true).unwrap();
    let c = Connection::raw_from_stream(tokio::net::UnixStream::from_std(ours).unwrap()).unwrap();
    let t = std::thread::spawn(move || {
        let h = read_call(&mut peer);
        let e =
            oxvirt_virerror::VirError::internal(oxvirt_virerror::ErrorDomain::Remote, "refused");
        peer.write_all(&oxvirt_rpc::frame::reply_err(&h, &e))
            .unwrap();
    });
    let e = tokio::time::timeout(Duration::from_secs(10), c.close())
        .await
        .expect("close hung")
        .unwrap_err();
    assert_eq!(e.to_string(), "internal error: refused");
    t.join().unwrap();
}
