//! The blocking facade against our daemon (served in process on a runtime of its own) and
//! Debian's libvirtd: calls on the caller's thread, several threads sharing one connection,
//! events and keepalive answered while the caller is idle, close reasons.

mod common;
use common::*;
use oxvirt_client::blocking::Connection;
use oxvirt_client::{ClientError, CloseReason, LifecycleKind};
use std::time::{Duration, Instant};

/// Our daemon on a multi-thread runtime the test keeps (the blocking client must not run
/// inside a runtime).
fn ours() -> (tokio::runtime::Runtime, Ours) {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .unwrap();
    let t = rt.block_on(async { Ours::start() });
    (rt, t)
}

fn scenario(t: &dyn Target) {
    let c = Connection::open(Some(&t.rw_uri()), false).unwrap();
    let d = c.lookup_domain_by_name("test").unwrap();
    for _ in 0..200 {
        assert_eq!(c.domain_get_info(&d).unwrap().nr_virt_cpu, 2);
    }
    let e = c.lookup_domain_by_name("nosuch").unwrap_err();
    assert_eq!(e.code(), 42);
    // Any async API through block_on.
    let doms = c.block_on(c.as_async().list_all_domains(0)).unwrap();
    assert!(doms.iter().any(|x| x.name == "test"));

    // Four threads share the connection.
    std::thread::scope(|s| {
        for i in 0..4 {
            let (c, d) = (c.clone(), d.clone());
            s.spawn(move || {
                for j in 0..50 {
                    if (i + j) % 2 == 0 {
                        assert_eq!(c.domain_get_info(&d).unwrap().state, 1);
                    } else {
                        assert!(!c.get_hostname().unwrap().is_empty());
                    }
                }
            });
        }
    });

    // Events arrive while this thread does nothing but wait on the channel.
    let mut events = c.block_on(c.as_async().domain_lifecycle_events()).unwrap();
    let actor = Connection::open(Some(&t.rw_uri()), false).unwrap();
    let name = format!("oxc-blk-{}", std::process::id());
    let nd = actor
        .block_on(actor.as_async().domain_define_xml(&domain_xml(&name)))
        .unwrap();
    let t0 = Instant::now();
    let ev = loop {
        assert!(t0.elapsed() < Duration::from_secs(10), "no event");
        match events.try_recv() {
            Ok(ev) if ev.domain.name == name => break ev,
            Ok(_) => {}
            Err(_) => std::thread::sleep(Duration::from_millis(20)),
        }
    };
    assert_eq!(ev.kind, LifecycleKind::Defined);
    actor
        .block_on(actor.as_async().domain_undefine(&nd))
        .unwrap();
    actor.close().unwrap();

    // Keepalive runs while idle: the server answers our PINGs, nothing times out.
    c.set_keepalive(Duration::from_millis(100), 2).unwrap();
    std::thread::sleep(Duration::from_millis(1000));
    assert!(c.is_alive());
    assert!(!c.get_hostname().unwrap().is_empty());

    c.close().unwrap();
    assert_eq!(c.closed(), CloseReason::Client);
    assert!(matches!(
        c.get_hostname().unwrap_err(),
        ClientError::Disconnected(_)
    ));
}

#[test]
fn blocking_against_ours() {
    let (_rt, t) = ours();
    scenario(&t);
}

#[test]
fn blocking_against_the_reference() {
    let Some(t) = Reference::start() else { return };
    scenario(&t);
}

#[test]
fn blocking_keepalive_timeout_while_idle() {
    let Some(t) = Reference::start() else { return };
    let c = Connection::open(Some(&t.rw_uri()), false).unwrap();
    c.set_keepalive(Duration::from_millis(200), 2).unwrap();
    let pid = nix::unistd::Pid::from_raw(t.pid());
    nix::sys::signal::kill(pid, nix::sys::signal::Signal::SIGSTOP).unwrap();
    // Nobody calls: the idle driver runs the keepalive timer.
    let t0 = Instant::now();
    while c.close_reason().is_none() && t0.elapsed() < Duration::from_secs(10) {
        std::thread::sleep(Duration::from_millis(20));
    }
    nix::sys::signal::kill(pid, nix::sys::signal::Signal::SIGCONT).unwrap();
    assert_eq!(c.close_reason(), Some(CloseReason::Keepalive));
}
