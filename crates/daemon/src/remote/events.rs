//! Event callbacks: registration procedures and the task that forwards driver events to the
//! client as MESSAGE frames (serial 1, as libvirtd sends them).
//!
//! The driver raises events into a broadcast channel; each session that registered a callback
//! has one forwarding task (started by its first registration) subscribed to it, which looks the
//! event up in the session's registrations and sends one frame per matching callback. The task
//! holds only a weak reference to the client.

use super::session::Session;
use crate::dispatch::call;
use oxvirt_driver_test::DriverEvent;
use oxvirt_proto::remote::{self as r, procs as p};
use oxvirt_proto::Header;
use oxvirt_rpc::frame::message;
use oxvirt_rpc::program::Reply;
use oxvirt_rpc::Client;
use oxvirt_virerror::{ErrorDomain, VirError};
use oxvirt_xdr::Uuid;
use std::sync::{Arc, Weak};

/// Domain event ids known to libvirt 9.0 (`VIR_DOMAIN_EVENT_ID_LAST`).
pub const DOMAIN_EVENT_ID_LAST: i32 = 27;
/// Network event ids (lifecycle only in 9.0).
pub const NETWORK_EVENT_ID_LAST: i32 = 1;
/// Storage pool event ids (lifecycle, refresh).
pub const POOL_EVENT_ID_LAST: i32 = 2;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Family {
    Domain,
    Network,
    Pool,
}

#[derive(Debug, Clone)]
struct Reg {
    id: i32,
    family: Family,
    event_id: i32,
    object: Option<[u8; 16]>,
    /// The driver's event count when it was registered: earlier events are not for it, even
    /// when the forwarding task reaches them after the registration.
    since: u64,
}

/// One session's registrations.
#[derive(Debug, Default)]
pub struct EventRegs {
    next_id: i32,
    regs: Vec<Reg>,
    /// Legacy (pre-callback-id) domain lifecycle registration count.
    legacy_lifecycle: i32,
    /// Legacy REGISTER_ANY event ids.
    legacy_any: Vec<i32>,
}

impl EventRegs {
    fn add(&mut self, family: Family, event_id: i32, object: Option<[u8; 16]>, since: u64) -> i32 {
        let id = self.next_id;
        self.next_id += 1;
        self.regs.push(Reg {
            id,
            family,
            event_id,
            object,
            since,
        });
        id
    }

    fn remove(&mut self, family: Family, id: i32) -> bool {
        let before = self.regs.len();
        self.regs.retain(|r| !(r.family == family && r.id == id));
        before != self.regs.len()
    }
}

fn unsupported_id(id: i32) -> VirError {
    VirError::internal(ErrorDomain::Rpc, format!("unsupported event ID {id}"))
}

fn not_registered(what: &str, id: i32) -> VirError {
    VirError::internal(
        ErrorDomain::Rpc,
        format!("{what} event callback {id} not registered"),
    )
}

/// Start forwarding the session's driver events to `client`, unless already started.
pub fn start_forwarder(sess: &Arc<Session>, client: &Arc<Client>) {
    if sess.has_forwarder() {
        return;
    }
    let (mut rx, mut seq) = sess.conn.events().subscribe_counted();
    let weak_sess: Weak<Session> = Arc::downgrade(sess);
    let weak_client: Weak<Client> = Arc::downgrade(client);
    let h = tokio::spawn(async move {
        loop {
            let ev = match rx.recv().await {
                Ok(ev) => {
                    seq += 1;
                    ev
                }
                Err(tokio::sync::broadcast::error::RecvError::Lagged(n)) => {
                    tracing::warn!("client lagged; {n} events dropped");
                    seq += n;
                    continue;
                }
                Err(_) => return,
            };
            let (Some(sess), Some(client)) = (weak_sess.upgrade(), weak_client.upgrade()) else {
                return;
            };
            for frame in frames_for(&sess, &ev, seq) {
                client.send(frame);
            }
        }
    });
    sess.set_forwarder(h);
}

fn dom(d: &oxvirt_driver_test::DomainRef) -> r::Domain {
    r::Domain {
        name: d.name.clone(),
        uuid: Uuid(d.uuid),
        id: d.id,
    }
}

fn ev_message<T: oxvirt_xdr::Xdr>(proc_: i32, body: &T) -> Vec<u8> {
    message(r::PROGRAM, r::VERSION, proc_, 1, body)
}

/// The frames one driver event produces for this session's registrations.
/// The frames for event number `seq`: one per callback registered before it was raised.
fn frames_for(sess: &Session, ev: &DriverEvent, seq: u64) -> Vec<Vec<u8>> {
    let regs = sess.regs.lock().unwrap();
    let matching = |family: Family, event_id: i32, uuid: &[u8; 16]| -> Vec<i32> {
        regs.regs
            .iter()
            .filter(|r| {
                r.family == family
                    && r.event_id == event_id
                    && r.object.is_none_or(|o| &o == uuid)
                    && r.since < seq
            })
            .map(|r| r.id)
            .collect()
    };
    let mut out = Vec::new();
    match ev {
        DriverEvent::DomainLifecycle {
            dom: d,
            event,
            detail,
        } => {
            let msg = r::DomainLifecycleMsg {
                dom: dom(d),
                event: *event,
                detail: *detail,
            };
            for id in matching(Family::Domain, 0, &d.uuid) {
                let m = r::DomainCallbackLifecycleMsg {
                    callback_id: id,
                    msg: msg.clone(),
                };
                out.push(ev_message(p::DOMAIN_EVENT_CALLBACK_LIFECYCLE, &m));
            }
            if regs.legacy_lifecycle > 0 || regs.legacy_any.contains(&0) {
                out.push(ev_message(p::DOMAIN_EVENT_LIFECYCLE, &msg));
            }
        }
        DriverEvent::DomainReboot { dom: d } => {
            for id in matching(Family::Domain, 1, &d.uuid) {
                let m = r::DomainCallbackRebootMsg {
                    callback_id: id,
                    msg: r::DomainRebootMsg { dom: dom(d) },
                };
                out.push(ev_message(p::DOMAIN_EVENT_CALLBACK_REBOOT, &m));
            }
            if regs.legacy_any.contains(&1) {
                out.push(ev_message(
                    p::DOMAIN_EVENT_REBOOT,
                    &r::DomainRebootMsg { dom: dom(d) },
                ));
            }
        }
        DriverEvent::NetworkLifecycle { net, event, detail } => {
            for id in matching(Family::Network, 0, &net.uuid) {
                let m = r::NetworkLifecycleMsg {
                    callback_id: id,
                    net: r::Network {
                        name: net.name.clone(),
                        uuid: Uuid(net.uuid),
                    },
                    event: *event,
                    detail: *detail,
                };
                out.push(ev_message(p::NETWORK_EVENT_LIFECYCLE, &m));
            }
        }
        DriverEvent::PoolLifecycle {
            pool,
            event,
            detail,
        } => {
            for id in matching(Family::Pool, 0, &pool.uuid) {
                let m = r::PoolLifecycleMsg {
                    callback_id: id,
                    pool: r::StoragePool {
                        name: pool.name.clone(),
                        uuid: Uuid(pool.uuid),
                    },
                    event: *event,
                    detail: *detail,
                };
                out.push(ev_message(p::STORAGE_POOL_EVENT_LIFECYCLE, &m));
            }
        }
        DriverEvent::PoolRefresh { pool } => {
            for id in matching(Family::Pool, 1, &pool.uuid) {
                let m = r::PoolRefreshMsg {
                    callback_id: id,
                    pool: r::StoragePool {
                        name: pool.name.clone(),
                        uuid: Uuid(pool.uuid),
                    },
                };
                out.push(ev_message(p::STORAGE_POOL_EVENT_REFRESH, &m));
            }
        }
    }
    out
}

/// Registration procedures; None if `h` is not one.
pub fn handle(sess: &Arc<Session>, client: &Arc<Client>, h: &Header, body: &[u8]) -> Option<Reply> {
    let regs = &sess.regs;
    // A callback gets the events raised from its registration on.
    let register = |family: Family, event_id: i32, object: Option<[u8; 16]>| {
        let since = sess.conn.events().emitted();
        let callback_id = regs.lock().unwrap().add(family, event_id, object, since);
        r::CallbackIdRet { callback_id }
    };
    if matches!(
        h.proc_,
        p::CONNECT_DOMAIN_EVENT_CALLBACK_REGISTER_ANY
            | p::CONNECT_DOMAIN_EVENT_REGISTER
            | p::CONNECT_DOMAIN_EVENT_REGISTER_ANY
            | p::CONNECT_NETWORK_EVENT_REGISTER_ANY
            | p::CONNECT_STORAGE_POOL_EVENT_REGISTER_ANY
    ) {
        // Subscribed before the registration is answered: no event after it is missed.
        start_forwarder(sess, client);
    }
    Some(match h.proc_ {
        p::CONNECT_DOMAIN_EVENT_CALLBACK_REGISTER_ANY => {
            call(h, body, |a: r::DomainEventCallbackRegisterAnyArgs| {
                if !(0..DOMAIN_EVENT_ID_LAST).contains(&a.event_id) {
                    return Err(unsupported_id(a.event_id));
                }
                Ok(register(
                    Family::Domain,
                    a.event_id,
                    a.dom.map(|d| d.uuid.0),
                ))
            })
        }
        p::CONNECT_DOMAIN_EVENT_CALLBACK_DEREGISTER_ANY => call(h, body, |a: r::CallbackIdArgs| {
            if regs.lock().unwrap().remove(Family::Domain, a.callback_id) {
                Ok(())
            } else {
                Err(not_registered("domain", a.callback_id))
            }
        }),
        p::CONNECT_DOMAIN_EVENT_REGISTER => call(h, body, |_: ()| {
            regs.lock().unwrap().legacy_lifecycle += 1;
            Ok(r::CbRegisteredRet { cb_registered: 1 })
        }),
        p::CONNECT_DOMAIN_EVENT_DEREGISTER => call(h, body, |_: ()| {
            let mut g = regs.lock().unwrap();
            g.legacy_lifecycle = (g.legacy_lifecycle - 1).max(0);
            Ok(r::CbRegisteredRet { cb_registered: 0 })
        }),
        p::CONNECT_DOMAIN_EVENT_REGISTER_ANY => call(h, body, |a: r::EventIdArgs| {
            if !(0..=15).contains(&a.event_id) {
                return Err(unsupported_id(a.event_id));
            }
            regs.lock().unwrap().legacy_any.push(a.event_id);
            Ok(())
        }),
        p::CONNECT_DOMAIN_EVENT_DEREGISTER_ANY => call(h, body, |a: r::EventIdArgs| {
            let mut g = regs.lock().unwrap();
            match g.legacy_any.iter().position(|&e| e == a.event_id) {
                Some(i) => {
                    g.legacy_any.remove(i);
                    Ok(())
                }
                None => Err(not_registered("domain", a.event_id)),
            }
        }),
        p::CONNECT_NETWORK_EVENT_REGISTER_ANY => {
            call(h, body, |a: r::NetworkEventRegisterAnyArgs| {
                if !(0..NETWORK_EVENT_ID_LAST).contains(&a.event_id) {
                    return Err(unsupported_id(a.event_id));
                }
                Ok(register(
                    Family::Network,
                    a.event_id,
                    a.net.map(|n| n.uuid.0),
                ))
            })
        }
        p::CONNECT_NETWORK_EVENT_DEREGISTER_ANY => call(h, body, |a: r::CallbackIdArgs| {
            if regs.lock().unwrap().remove(Family::Network, a.callback_id) {
                Ok(())
            } else {
                Err(not_registered("network", a.callback_id))
            }
        }),
        p::CONNECT_STORAGE_POOL_EVENT_REGISTER_ANY => {
            call(h, body, |a: r::PoolEventRegisterAnyArgs| {
                if !(0..POOL_EVENT_ID_LAST).contains(&a.event_id) {
                    return Err(unsupported_id(a.event_id));
                }
                Ok(register(Family::Pool, a.event_id, a.pool.map(|p| p.uuid.0)))
            })
        }
        p::CONNECT_STORAGE_POOL_EVENT_DEREGISTER_ANY => call(h, body, |a: r::CallbackIdArgs| {
            if regs.lock().unwrap().remove(Family::Pool, a.callback_id) {
                Ok(())
            } else {
                Err(not_registered("storage pool", a.callback_id))
            }
        }),
        _ => return None,
    })
}
