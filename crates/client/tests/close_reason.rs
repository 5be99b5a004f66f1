//! Why a connection closed (libvirt's close reasons), each provoked for real: the daemon killed
//! (EOF), the daemon stopped with client keepalive on (KEEPALIVE), `close()` and dropping every
//! handle (CLIENT), a peer breaking the framing (ERROR).

mod common;
use common::*;
use nix::sys::signal::{kill, Signal};
use nix::unistd::Pid;
use oxvirt_client::{ClientError, CloseReason, Connection, Disconnect};
use std::time::Duration;

#[tokio::test]
async fn eof_when_the_daemon_dies() {
    let Some(t) = Reference::start() else { return };
    let c = Connection::open(Some(&t.rw_uri()), false).await.unwrap();
    let closed = tokio::spawn(c.closed());
    assert_eq!(c.close_reason(), None);
    kill(Pid::from_raw(t.pid()), Signal::SIGKILL).unwrap();
    assert_eq!(bounded(closed).await.unwrap(), CloseReason::Eof);
    assert_eq!(CloseReason::Eof.to_i32(), 1);
    assert!(!c.is_alive());
    assert_eq!(c.close_reason(), Some(CloseReason::Eof));
    let e = c.get_hostname().await.unwrap_err();
    assert!(
        matches!(e, ClientError::Disconnected(Disconnect::Eof)),
        "{e:?}"
    );
    // Asked after the fact, it answers at once.
    assert_eq!(bounded(c.closed()).await, CloseReason::Eof);
}

/// Sends SIGCONT on drop, so a failed assertion never leaves the daemon stopped.
struct Cont(i32);
impl Drop for Cont {
    fn drop(&mut self) {
        let _ = kill(Pid::from_raw(self.0), Signal::SIGCONT);
    }
}

#[tokio::test]
async fn keepalive_when_the_daemon_stops_answering() {
    let Some(t) = Reference::start() else { return };
    let c = Connection::open(Some(&t.rw_uri()), false).await.unwrap();
    c.set_keepalive(Duration::from_millis(200), 2).unwrap();
    let closed = c.closed();
    kill(Pid::from_raw(t.pid()), Signal::SIGSTOP).unwrap();
    let _cont = Cont(t.pid());
    // A call made now waits for the daemon; the keepalive timeout fails it.
    let pending = tokio::spawn({
        let c = c.clone();
        async move { c.get_hostname().await }
    });
    assert_eq!(bounded(closed).await, CloseReason::Keepalive);
    let e = bounded(pending).await.unwrap().unwrap_err();
    assert_eq!(e.to_string(), "connection closed due to keepalive timeout");
    assert_eq!(c.close_reason(), Some(CloseReason::Keepalive));
}

#[tokio::test]
async fn client_on_close_and_on_drop() {
    let t = Ours::start();
    let c = Connection::open(Some(&t.rw_uri()), false).await.unwrap();
    let closed = tokio::spawn(c.closed());
    bounded(c.close()).await.unwrap();
    assert_eq!(bounded(closed).await.unwrap(), CloseReason::Client);
    assert_eq!(c.close_reason(), Some(CloseReason::Client));

    let c = Connection::open(Some(&t.rw_uri()), false).await.unwrap();
    let closed = c.closed();
    drop(c);
    assert_eq!(bounded(closed).await, CloseReason::Client);
}

#[tokio::test]
async fn error_when_the_peer_breaks_the_framing() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("bad-sock");
    let l = tokio::net::UnixListener::bind(&path).unwrap();
    let server = tokio::spawn(async move {
        use tokio::io::{AsyncReadExt, AsyncWriteExt};
        let (mut s, _) = l.accept().await.unwrap();
        let mut call = [0u8; 28];
        s.read_exact(&mut call).await.unwrap();
        // A length word beyond libvirt's 32 MiB maximum.
        s.write_all(&0xffff_fff0u32.to_be_bytes()).await.unwrap();
        tokio::time::sleep(Duration::from_secs(5)).await;
    });
    let c = Connection::connect_unix_raw(&path).await.unwrap();
    let closed = c.closed();
    let e = bounded(c.call_program::<(), ()>(0x1234, 1, 1, &()))
        .await
        .unwrap_err();
    assert!(
        matches!(&e, ClientError::Disconnected(Disconnect::Protocol(m)) if m.contains("too large")),
        "{e:?}"
    );
    assert_eq!(bounded(closed).await, CloseReason::Error);
    server.abort();
}
