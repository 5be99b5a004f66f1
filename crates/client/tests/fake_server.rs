//! The client against a scripted fake server: handshake bytes, dead peers, keepalive.

use oxvirt_client::{ClientError, Connection, Disconnect};
use oxvirt_proto::remote::{self, procs};
use oxvirt_proto::{keepalive, Header, MsgStatus, MsgType};
use oxvirt_rpc::frame::{parse, reply_ok, Parsed};
use std::path::Path;
use std::time::{Duration, Instant};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{UnixListener, UnixStream};
use tokio::sync::mpsc;

/// What the fake does once the five handshake calls are answered.
#[derive(Clone, Copy, PartialEq)]
enum After {
    /// Reads on, answers nothing (not even PINGs).
    Silent,
    /// Closes the socket when the first post-handshake call arrives.
    CloseOnCall,
    /// Sends a PING, then answers nothing.
    PingThenSilent,
    /// Holds post-handshake calls and answers each pair in reverse order (hostname = serial).
    Reversed,
    /// Answers the first post-handshake call with a serial nobody waits for.
    WrongSerial,
}

/// Seen by the fake: (header, payload) of every frame.
type Seen = mpsc::UnboundedSender<(Header, Vec<u8>)>;

async fn read_frame(s: &mut UnixStream, buf: &mut Vec<u8>) -> Option<(Header, Vec<u8>)> {
    loop {
        match parse(buf).unwrap() {
            Parsed::Frame { len, header, .. } => {
                let f: Vec<u8> = buf.drain(..len).collect();
                return Some((header, f[28..].to_vec()));
            }
            Parsed::Need(_) => {
                let mut tmp = [0u8; 4096];
                let n = s.read(&mut tmp).await.ok()?;
                if n == 0 {
                    return None;
                }
                buf.extend_from_slice(&tmp[..n]);
            }
        }
    }
}

fn spawn_fake(path: &Path, after: After, auth: Vec<i32>, seen: Seen) {
    let l = UnixListener::bind(path).unwrap();
    tokio::spawn(async move {
        let (mut s, _) = l.accept().await.unwrap();
        let mut buf = Vec::new();
        let mut answered = 0;
        let mut held = Vec::new();
        while let Some((h, body)) = read_frame(&mut s, &mut buf).await {
            let _ = seen.send((h, body));
            if h.kind != MsgType::Call {
                continue;
            }
            if answered == 5 {
                match after {
                    After::CloseOnCall => return,
                    After::Silent | After::PingThenSilent => continue,
                    After::Reversed => {
                        held.push(h);
                        if held.len() == 2 {
                            for h in held.drain(..).rev() {
                                let r = remote::StringRet {
                                    value: format!("serial-{}", h.serial),
                                };
                                s.write_all(&reply_ok(&h, &r)).await.unwrap();
                            }
                        }
                        continue;
                    }
                    After::WrongSerial => {
                        let mut h = h;
                        h.serial += 1000;
                        let r = remote::StringRet { value: "x".into() };
                        s.write_all(&reply_ok(&h, &r)).await.unwrap();
                        continue;
                    }
                }
            }
            let reply = match h.proc_ {
                procs::AUTH_LIST => reply_ok(
                    &h,
                    &remote::AuthListRet {
                        types: auth.clone(),
                    },
                ),
                procs::CONNECT_SUPPORTS_FEATURE => {
                    reply_ok(&h, &remote::SupportsFeatureRet { supported: 1 })
                }
                _ => reply_ok(&h, &()),
            };
            s.write_all(&reply).await.unwrap();
            answered += 1;
            if answered == 5 && after == After::PingThenSilent {
                let ping = oxvirt_rpc::frame::message(
                    keepalive::PROGRAM,
                    keepalive::VERSION,
                    keepalive::PROC_PING,
                    0,
                    &(),
                );
                s.write_all(&ping).await.unwrap();
            }
        }
    });
}

fn uri(path: &Path) -> String {
    format!("test+unix:///default?socket={}", path.display())
}

#[tokio::test]
async fn handshake_is_the_c_clients() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("s");
    let (tx, mut rx) = mpsc::unbounded_channel();
    spawn_fake(&path, After::Silent, vec![remote::AUTH_NONE], tx);
    let c = Connection::open(Some(&uri(&path)), true).await.unwrap();
    let mut got = Vec::new();
    for _ in 0..5 {
        let (h, body) = rx.recv().await.unwrap();
        assert_eq!(
            (h.prog, h.vers, h.kind, h.status),
            (remote::PROGRAM, 1, MsgType::Call, MsgStatus::Ok)
        );
        got.push((h.serial, h.proc_, body));
    }
    let open = oxvirt_xdr::to_bytes(&remote::ConnectOpenArgs {
        name: Some("test:///default".into()),
        flags: remote::OPEN_RO,
    });
    let feat = |f: i32| oxvirt_xdr::to_bytes(&remote::SupportsFeatureArgs { feature: f });
    assert_eq!(
        got,
        vec![
            (0, procs::AUTH_LIST, vec![]),
            (1, procs::CONNECT_SUPPORTS_FEATURE, feat(10)),
            (2, procs::CONNECT_OPEN, open),
            (3, procs::CONNECT_SUPPORTS_FEATURE, feat(14)),
            (4, procs::CONNECT_SUPPORTS_FEATURE, feat(15)),
        ]
    );
    assert!(c.is_read_only());
}

#[tokio::test]
async fn auth_other_than_none_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("s");
    let (tx, _rx) = mpsc::unbounded_channel();
    spawn_fake(&path, After::Silent, vec![remote::AUTH_SASL], tx);
    let e = Connection::open(Some(&uri(&path)), false)
        .await
        .unwrap_err();
    assert!(matches!(e, ClientError::AuthUnsupported(1)), "{e:?}");
}

#[tokio::test]
async fn connect_failure_names_the_socket() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("nobody-here");
    let e = Connection::open(Some(&uri(&path)), false)
        .await
        .unwrap_err();
    assert!(matches!(e, ClientError::Connect { .. }), "{e:?}");
    assert!(e.to_string().contains("nobody-here"), "{e}");
}

#[tokio::test]
async fn eof_fails_every_pending_call() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("s");
    let (tx, _rx) = mpsc::unbounded_channel();
    spawn_fake(&path, After::CloseOnCall, vec![], tx);
    let c = Connection::open(Some(&uri(&path)), false).await.unwrap();
    let mut set = tokio::task::JoinSet::new();
    for _ in 0..8 {
        let c = c.clone();
        set.spawn(async move { c.get_hostname().await });
    }
    let r = tokio::time::timeout(Duration::from_secs(10), async {
        let mut errs = Vec::new();
        while let Some(r) = set.join_next().await {
            errs.push(r.unwrap().unwrap_err());
        }
        errs
    })
    .await
    .expect("pending calls were not failed");
    assert_eq!(r.len(), 8);
    for e in r {
        assert!(
            matches!(e, ClientError::Disconnected(Disconnect::Eof)),
            "{e:?}"
        );
    }
    assert!(!c.is_alive());
    let e = c.get_hostname().await.unwrap_err();
    assert!(
        matches!(e, ClientError::Disconnected(Disconnect::Eof)),
        "{e:?}"
    );
}

#[tokio::test]
async fn keepalive_detects_a_silent_peer() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("s");
    let (tx, mut rx) = mpsc::unbounded_channel();
    spawn_fake(&path, After::Silent, vec![remote::AUTH_NONE], tx);
    let c = Connection::open(Some(&uri(&path)), false).await.unwrap();
    let t0 = Instant::now();
    c.set_keepalive(Duration::from_millis(100), 2).unwrap();
    let pending = tokio::spawn({
        let c = c.clone();
        async move { c.get_hostname().await }
    });
    let e = tokio::time::timeout(Duration::from_secs(10), pending)
        .await
        .expect("keepalive never fired")
        .unwrap()
        .unwrap_err();
    let took = t0.elapsed();
    assert!(
        matches!(e, ClientError::Disconnected(Disconnect::KeepaliveTimeout)),
        "{e:?}"
    );
    assert!(took >= Duration::from_millis(300), "{took:?}");
    assert!(took < Duration::from_secs(3), "{took:?}");
    assert!(!c.is_alive());
    // The client PINGed the silent peer meanwhile (keepalive program, MESSAGE, serial 0).
    let mut pings = 0;
    while let Ok((h, body)) = rx.try_recv() {
        if h.prog == keepalive::PROGRAM {
            assert_eq!(
                (h.proc_, h.kind, h.serial),
                (keepalive::PROC_PING, MsgType::Message, 0)
            );
            assert!(body.is_empty());
            pings += 1;
        }
    }
    assert!(pings >= 1);
}

#[tokio::test]
async fn server_ping_is_answered_with_pong() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("s");
    let (tx, mut rx) = mpsc::unbounded_channel();
    spawn_fake(&path, After::PingThenSilent, vec![remote::AUTH_NONE], tx);
    let _c = Connection::open(Some(&uri(&path)), false).await.unwrap();
    let pong = tokio::time::timeout(Duration::from_secs(5), async {
        loop {
            let (h, _) = rx.recv().await.unwrap();
            if h.prog == keepalive::PROGRAM {
                return h;
            }
        }
    })
    .await
    .expect("no PONG");
    assert_eq!(
        (pong.proc_, pong.kind, pong.serial),
        (keepalive::PROC_PONG, MsgType::Message, 0)
    );
}

#[tokio::test]
async fn keepalive_zero_interval_is_off() {
    // A zero interval leaves keepalive off: a silent peer is not declared dead.
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("s");
    let (tx, _rx) = mpsc::unbounded_channel();
    spawn_fake(&path, After::Silent, vec![remote::AUTH_NONE], tx);
    let c = Connection::open(Some(&uri(&path)), false).await.unwrap();
    c.set_keepalive(Duration::ZERO, 5).unwrap();
    tokio::time::sleep(Duration::from_millis(200)).await;
    assert!(c.is_alive());
}

#[tokio::test]
async fn replies_are_matched_by_serial_not_order() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("s");
    let (tx, _rx) = mpsc::unbounded_channel();
    spawn_fake(&path, After::Reversed, vec![remote::AUTH_NONE], tx);
    let c = Connection::open(Some(&uri(&path)), false).await.unwrap();
    let mut set = tokio::task::JoinSet::new();
    for _ in 0..10 {
        let c = c.clone();
        set.spawn(async move { c.get_hostname().await.unwrap() });
    }
    let mut got = Vec::new();
    while let Some(r) = tokio::time::timeout(Duration::from_secs(10), set.join_next())
        .await
        .unwrap()
    {
        got.push(r.unwrap());
    }
    got.sort();
    let mut want: Vec<String> = (5..15).map(|s| format!("serial-{s}")).collect();
    want.sort();
    assert_eq!(got, want);
}

#[tokio::test]
async fn reply_for_no_waiting_call_drops_the_connection() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("s");
    let (tx, _rx) = mpsc::unbounded_channel();
    spawn_fake(&path, After::WrongSerial, vec![remote::AUTH_NONE], tx);
    let c = Connection::open(Some(&uri(&path)), false).await.unwrap();
    let e = tokio::time::timeout(Duration::from_secs(10), c.get_hostname())
        .await
        .unwrap()
        .unwrap_err();
    match e {
        ClientError::Disconnected(Disconnect::Protocol(m)) => {
            assert_eq!(
                m,
                format!(
                    "no call waiting for reply with prog {} vers 1 serial 1005",
                    remote::PROGRAM
                )
            )
        }
        e => panic!("{e:?}"),
    }
    assert!(!c.is_alive());
}

#[tokio::test]
async fn keepalive_can_be_replaced_and_turned_off() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("s");
    let (tx, _rx) = mpsc::unbounded_channel();
    spawn_fake(&path, After::Silent, vec![remote::AUTH_NONE], tx);
    let c = Connection::open(Some(&uri(&path)), false).await.unwrap();
    c.set_keepalive(Duration::from_millis(50), 0).unwrap();
    c.set_keepalive(Duration::ZERO, 0).unwrap();
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert!(c.is_alive(), "the replaced keepalive must not fire");
}
