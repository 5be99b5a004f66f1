//! Event delivery: callback registration on the server, decoded event MESSAGEs routed to one
//! channel per registration, and deregistration.
//!
//! Who talks to whom: a `Connection::*_events` call sends the family's `*_REGISTER_ANY`
//! procedure; when its reply arrives, the connection's reader task installs the route (server
//! callback id → channel) *before it reads the next frame* (an `OnOk` hook), so no event that follows
//! the reply is missed. The reader then decodes each event MESSAGE (serial 1, the family's event
//! procedure, payload starting with the callback id) and pushes it, in arrival order, into the
//! registration's bounded channel. The caller reads an [`EventStream`].
//!
//! Deregistration (`*_DEREGISTER_ANY {callback_id}`) happens when the [`EventStream`] (or its
//! [`Registration`]) is dropped, explicitly with [`EventStream::deregister`] /
//! [`Registration::deregister`], or — for a receiver taken out with [`EventStream::detach`] or
//! from [`Connection::domain_lifecycle_events`] — when the next event finds the receiver gone.
//! Every channel closes when the connection dies.
//!
//! ```no_run
//! # async fn demo(conn: oxvirt_client::Connection) -> Result<(), oxvirt_client::ClientError> {
//! use oxvirt_client::events::{DomainEvent, DomainEventId, NetworkEventId};
//! let mut reboots = conn.domain_events(DomainEventId::Reboot, None).await?;
//! let mut nets = conn.network_events(NetworkEventId::Lifecycle, None).await?;
//! tokio::select! {
//!     Some(DomainEvent::Reboot { domain }) = reboots.recv() => println!("{} rebooted", domain.name),
//!     Some(ev) = nets.recv() => println!("{ev:?}"),
//! }
//! nets.deregister().await?; // or just drop it
//! # Ok(()) }
//! ```

use crate::connection::{Connection, Inner, OnOk};
use crate::error::ClientError;
use oxvirt_proto::remote::{self, procs, Domain, Network, NodeDevice, Secret, StoragePool};
use oxvirt_proto::typed_param::TypedParam;
use oxvirt_xdr::Xdr;
use std::collections::HashMap;
use std::sync::{Arc, Weak};
use tokio::sync::mpsc;

/// Capacity of each event channel; events beyond it are dropped with a warning.
pub const EVENT_QUEUE: usize = 1024;

mod routes;
mod types;
mod wire;

pub(crate) use routes::EventRoutes;
use routes::*;
pub use types::*;

// ------------------------------------------------------------------ registration handles

/// A local subscription to a server callback. Dropping it unsubscribes (and, for the last
/// subscriber, deregisters the server callback in the background);
/// [`Registration::deregister`] does it and waits for the server's answer.
#[derive(Debug)]
pub struct Registration {
    inner: Weak<Inner>,
    family: EventFamily,
    callback_id: i32,
    sub: u64,
    active: bool,
}

impl Registration {
    /// The server's callback id (shared by subscriptions with the same event id and filter).
    pub fn callback_id(&self) -> i32 {
        self.callback_id
    }

    /// The object family.
    pub fn family(&self) -> EventFamily {
        self.family
    }

    /// Stops delivery at once (the stream's channel closes) and, if no other subscription
    /// shares the server callback, deregisters it (`*_DEREGISTER_ANY`).
    pub async fn deregister(mut self) -> Result<(), ClientError> {
        self.active = false;
        let Some(inner) = self.inner.upgrade() else {
            return Ok(());
        };
        inner
            .events
            .lock()
            .unwrap()
            .remove_sub(self.family, self.callback_id, self.sub);
        release(&Connection { inner }, self.family, self.callback_id).await
    }
}

impl Drop for Registration {
    fn drop(&mut self) {
        if !self.active {
            return;
        }
        if let Some(inner) = self.inner.upgrade() {
            let unused = {
                let mut routes = inner.events.lock().unwrap();
                routes.remove_sub(self.family, self.callback_id, self.sub);
                routes.unused(self.family, self.callback_id)
            };
            if unused {
                spawn_release(Connection { inner }, self.family, self.callback_id);
            }
        }
    }
}

/// Events of one registration, in the order the server sent them.
#[derive(Debug)]
pub struct EventStream<T> {
    rx: mpsc::Receiver<T>,
    registration: Registration,
}

impl<T> EventStream<T> {
    /// The next event; `None` once deregistered or when the connection is gone.
    pub async fn recv(&mut self) -> Option<T> {
        self.rx.recv().await
    }

    /// An event if one is queued.
    pub fn try_recv(&mut self) -> Result<T, mpsc::error::TryRecvError> {
        self.rx.try_recv()
    }

    /// The registration handle.
    pub fn registration(&self) -> &Registration {
        &self.registration
    }

    /// The server's callback id.
    pub fn callback_id(&self) -> i32 {
        self.registration.callback_id
    }

    /// Unsubscribes and, for the last subscriber, deregisters on the server and waits for
    /// its answer.
    pub async fn deregister(self) -> Result<(), ClientError> {
        self.registration.deregister().await
    }

    /// Splits into the receiver and the handle; dropping the handle unsubscribes (and closes
    /// the receiver).
    pub fn into_parts(self) -> (mpsc::Receiver<T>, Registration) {
        (self.rx, self.registration)
    }

    /// Just the receiver: once it is dropped, the next event for it unsubscribes it (and
    /// deregisters the server callback if it was the last); the connection's end closes it.
    pub fn detach(mut self) -> mpsc::Receiver<T> {
        self.registration.active = false;
        let (rx, _reg) = self.into_parts();
        rx
    }
}

impl Connection {
    /// Subscribes `sink` to the server callback for `key`: joins an existing one, or sends the
    /// `*_REGISTER_ANY` call and installs the route from the reader task, before the frame after
    /// the reply is read (no event following the reply is missed).
    async fn subscribe<A: Xdr, T>(
        &self,
        key: RouteKey,
        proc_: i32,
        args: &A,
        rx: mpsc::Receiver<T>,
        sink: Sink,
    ) -> Result<EventStream<T>, ClientError> {
        let family = key.family;
        let lock = self.inner.events.lock().unwrap().lock.clone();
        let _serial = lock.lock().await;
        let weak = self.weak();
        let stream = |callback_id, sub| EventStream {
            rx,
            registration: Registration {
                inner: weak.clone(),
                family,
                callback_id,
                sub,
                active: true,
            },
        };
        let sub = {
            let mut routes = self.inner.events.lock().unwrap();
            routes.next_sub += 1;
            let sub = routes.next_sub;
            if let Some(&id) = routes.by_key.get(&key) {
                if let Some(r) = routes.routes.get_mut(&(family, id)) {
                    r.subs.push((sub, sink));
                    return Ok(stream(id, sub));
                }
            }
            sub
        };
        let for_routes = weak.clone();
        let on_ok: OnOk = Box::new(move |body: &[u8]| {
            let Ok(r) = oxvirt_xdr::from_bytes::<remote::CallbackIdRet>(body) else {
                return;
            };
            let id = r.callback_id;
            let Some(i) = for_routes.upgrade() else {
                return;
            };
            let mut routes = i.events.lock().unwrap();
            if routes.conn.is_none() {
                routes.conn = Some(for_routes.clone());
            }
            routes.by_key.insert(key.clone(), id);
            routes
                .routes
                .entry((family, id))
                .or_insert(Route {
                    key,
                    subs: Vec::new(),
                })
                .subs
                .push((sub, sink));
        });
        let body = self
            .call_raw(remote::PROGRAM, remote::VERSION, proc_, args, Some(on_ok))
            .await?;
        let r: remote::CallbackIdRet = oxvirt_xdr::from_bytes(&body)?;
        Ok(stream(r.callback_id, sub))
    }

    /// Registers for lifecycle events of all domains (`CONNECT_DOMAIN_EVENT_CALLBACK_REGISTER_ANY`
    /// with event id 0) and returns the channel they arrive on. The channel closes when the
    /// connection dies; the callback is deregistered once the receiver is dropped.
    pub async fn domain_lifecycle_events(
        &self,
    ) -> Result<mpsc::Receiver<LifecycleEvent>, ClientError> {
        let (tx, rx) = mpsc::channel(EVENT_QUEUE);
        let args = remote::DomainEventCallbackRegisterAnyArgs {
            event_id: DomainEventId::Lifecycle as i32,
            dom: None,
        };
        let key = RouteKey {
            family: EventFamily::Domain,
            event_id: args.event_id,
            filter: None,
        };
        let s = self
            .subscribe(
                key,
                procs::CONNECT_DOMAIN_EVENT_CALLBACK_REGISTER_ANY,
                &args,
                rx,
                Sink::Lifecycle(tx),
            )
            .await?;
        Ok(s.detach())
    }

    /// Registers for domain events of type `id`, of one domain or all
    /// (`CONNECT_DOMAIN_EVENT_CALLBACK_REGISTER_ANY`).
    pub async fn domain_events(
        &self,
        id: DomainEventId,
        dom: Option<&Domain>,
    ) -> Result<EventStream<DomainEvent>, ClientError> {
        let (tx, rx) = mpsc::channel(EVENT_QUEUE);
        let key = RouteKey {
            family: EventFamily::Domain,
            event_id: id as i32,
            filter: dom.map(|d| d.uuid.0.to_vec()),
        };
        let args = remote::DomainEventCallbackRegisterAnyArgs {
            event_id: id as i32,
            dom: dom.cloned(),
        };
        self.subscribe(
            key,
            procs::CONNECT_DOMAIN_EVENT_CALLBACK_REGISTER_ANY,
            &args,
            rx,
            Sink::Domain(tx),
        )
        .await
    }

    /// Registers for network events (`CONNECT_NETWORK_EVENT_REGISTER_ANY`).
    pub async fn network_events(
        &self,
        id: NetworkEventId,
        net: Option<&Network>,
    ) -> Result<EventStream<NetworkEvent>, ClientError> {
        let (tx, rx) = mpsc::channel(EVENT_QUEUE);
        let key = RouteKey {
            family: EventFamily::Network,
            event_id: id as i32,
            filter: net.map(|n| n.uuid.0.to_vec()),
        };
        let args = remote::NetworkEventRegisterAnyArgs {
            event_id: id as i32,
            net: net.cloned(),
        };
        self.subscribe(
            key,
            procs::CONNECT_NETWORK_EVENT_REGISTER_ANY,
            &args,
            rx,
            Sink::Network(tx),
        )
        .await
    }

    /// Registers for storage pool events (`CONNECT_STORAGE_POOL_EVENT_REGISTER_ANY`).
    pub async fn storage_pool_events(
        &self,
        id: StoragePoolEventId,
        pool: Option<&StoragePool>,
    ) -> Result<EventStream<StoragePoolEvent>, ClientError> {
        let (tx, rx) = mpsc::channel(EVENT_QUEUE);
        let key = RouteKey {
            family: EventFamily::StoragePool,
            event_id: id as i32,
            filter: pool.map(|p| p.uuid.0.to_vec()),
        };
        let args = remote::PoolEventRegisterAnyArgs {
            event_id: id as i32,
            pool: pool.cloned(),
        };
        self.subscribe(
            key,
            procs::CONNECT_STORAGE_POOL_EVENT_REGISTER_ANY,
            &args,
            rx,
            Sink::Pool(tx),
        )
        .await
    }

    /// Registers for node device events (`CONNECT_NODE_DEVICE_EVENT_REGISTER_ANY`).
    pub async fn node_device_events(
        &self,
        id: NodeDeviceEventId,
        dev: Option<&NodeDevice>,
    ) -> Result<EventStream<NodeDeviceEvent>, ClientError> {
        let (tx, rx) = mpsc::channel(EVENT_QUEUE);
        let key = RouteKey {
            family: EventFamily::NodeDevice,
            event_id: id as i32,
            filter: dev.map(|d| d.name.clone().into_bytes()),
        };
        let args = remote::NodeDeviceEventRegisterAnyArgs {
            event_id: id as i32,
            dev: dev.cloned(),
        };
        self.subscribe(
            key,
            procs::CONNECT_NODE_DEVICE_EVENT_REGISTER_ANY,
            &args,
            rx,
            Sink::NodeDevice(tx),
        )
        .await
    }

    /// Registers for secret events (`CONNECT_SECRET_EVENT_REGISTER_ANY`).
    pub async fn secret_events(
        &self,
        id: SecretEventId,
        secret: Option<&Secret>,
    ) -> Result<EventStream<SecretEvent>, ClientError> {
        let (tx, rx) = mpsc::channel(EVENT_QUEUE);
        let key = RouteKey {
            family: EventFamily::Secret,
            event_id: id as i32,
            filter: secret.map(|s| s.uuid.0.to_vec()),
        };
        let args = wire::SecretRegisterArgs {
            event_id: id as i32,
            secret: secret.cloned(),
        };
        self.subscribe(
            key,
            procs::CONNECT_SECRET_EVENT_REGISTER_ANY,
            &args,
            rx,
            Sink::Secret(tx),
        )
        .await
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use oxvirt_proto::typed_param::TypedValue;
    use oxvirt_xdr::Uuid;

    fn dom() -> Domain {
        Domain {
            name: "vm".into(),
            uuid: Uuid::default(),
            id: 3,
        }
    }

    fn subscribe(r: &mut EventRoutes, family: EventFamily, id: i32, sink: Sink) {
        let key = RouteKey {
            family,
            event_id: 0,
            filter: None,
        };
        r.by_key.insert(key.clone(), id);
        r.next_sub += 1;
        let sub = r.next_sub;
        r.routes
            .entry((family, id))
            .or_insert(Route {
                key,
                subs: Vec::new(),
            })
            .subs
            .push((sub, sink));
    }

    fn routes() -> (EventRoutes, mpsc::Receiver<DomainEvent>) {
        let mut r = EventRoutes::default();
        let (tx, rx) = mpsc::channel(16);
        subscribe(&mut r, EventFamily::Domain, 7, Sink::Domain(tx));
        (r, rx)
    }

    #[test]
    fn every_domain_event_decodes() {
        let (mut r, mut rx) = routes();
        let d = dom();
        let send = |r: &mut EventRoutes, proc_: i32, m: &dyn Fn(&mut Vec<u8>)| {
            let mut b = Vec::new();
            m(&mut b);
            r.dispatch(proc_, &b);
        };
        macro_rules! msg {
            ($r:expr, $proc:expr, $w:expr) => {
                send($r, $proc, &|b: &mut Vec<u8>| $w.encode(b))
            };
        }
        msg!(
            &mut r,
            procs::DOMAIN_EVENT_CALLBACK_REBOOT,
            wire::DomOnly {
                callback_id: 7,
                dom: d.clone()
            }
        );
        msg!(
            &mut r,
            procs::DOMAIN_EVENT_CALLBACK_RTC_CHANGE,
            wire::RtcChange {
                callback_id: 7,
                dom: d.clone(),
                offset: -3600
            }
        );
        msg!(
            &mut r,
            procs::DOMAIN_EVENT_CALLBACK_WATCHDOG,
            wire::Watchdog {
                callback_id: 7,
                dom: d.clone(),
                action: 2
            }
        );
        msg!(
            &mut r,
            procs::DOMAIN_EVENT_CALLBACK_IO_ERROR_REASON,
            wire::IoErrorReason {
                callback_id: 7,
                dom: d.clone(),
                src_path: "/d.img".into(),
                dev_alias: "virtio-disk0".into(),
                action: 1,
                reason: "enospc".into()
            }
        );
        msg!(
            &mut r,
            procs::DOMAIN_EVENT_CALLBACK_GRAPHICS,
            wire::Graphics {
                callback_id: 7,
                dom: d.clone(),
                phase: 1,
                local: wire::GraphicsAddress {
                    family: 0,
                    node: "127.0.0.1".into(),
                    service: "5900".into()
                },
                remote: wire::GraphicsAddress {
                    family: 0,
                    node: "10.0.0.2".into(),
                    service: "41000".into()
                },
                auth_scheme: "vnc".into(),
                subject: vec![wire::GraphicsIdentity {
                    kind: "x509dname".into(),
                    name: "CN=a".into()
                }],
            }
        );
        msg!(
            &mut r,
            procs::DOMAIN_EVENT_CALLBACK_PMSUSPEND,
            wire::Pm {
                callback_id: 7,
                reason: 0,
                dom: d.clone()
            }
        );
        msg!(
            &mut r,
            procs::DOMAIN_EVENT_CALLBACK_TUNABLE,
            wire::Params {
                callback_id: 7,
                dom: d.clone(),
                params: vec![TypedParam::new("cputune.vcpu_quota", TypedValue::LLong(-1))]
            }
        );
        msg!(
            &mut r,
            procs::DOMAIN_EVENT_CALLBACK_METADATA_CHANGE,
            wire::MetadataChange {
                callback_id: 7,
                dom: d.clone(),
                kind: 2,
                nsuri: Some("urn:x".into())
            }
        );
        msg!(
            &mut r,
            procs::DOMAIN_EVENT_BLOCK_JOB_2,
            wire::BlockJob {
                callback_id: 7,
                dom: d.clone(),
                path: "vda".into(),
                kind: 2,
                status: 0
            }
        );
        // Another callback id: not ours, ignored.
        msg!(
            &mut r,
            procs::DOMAIN_EVENT_CALLBACK_CONTROL_ERROR,
            wire::DomOnly {
                callback_id: 8,
                dom: d.clone()
            }
        );
        // An unknown procedure and a truncated payload are ignored.
        r.dispatch(9999, &[0, 0, 0, 7]);
        r.dispatch(procs::DOMAIN_EVENT_CALLBACK_WATCHDOG, &[0, 0, 0, 7]);

        let got: Vec<DomainEvent> = std::iter::from_fn(|| rx.try_recv().ok()).collect();
        assert_eq!(got.len(), 9, "{got:?}");
        assert_eq!(got[0], DomainEvent::Reboot { domain: d.clone() });
        assert_eq!(
            got[1],
            DomainEvent::RtcChange {
                domain: d.clone(),
                offset: -3600
            }
        );
        assert_eq!(
            got[2],
            DomainEvent::Watchdog {
                domain: d.clone(),
                action: 2
            }
        );
        assert!(matches!(&got[3], DomainEvent::IoErrorReason { reason, .. } if reason == "enospc"));
        match &got[4] {
            DomainEvent::Graphics {
                remote, subject, ..
            } => {
                assert_eq!(remote.node, "10.0.0.2");
                assert_eq!(subject[0].kind, "x509dname");
            }
            other => panic!("{other:?}"),
        }
        assert_eq!(
            got[5],
            DomainEvent::PmSuspend {
                domain: d.clone(),
                reason: 0
            }
        );
        assert!(matches!(&got[6], DomainEvent::Tunable { params, .. } if params.len() == 1));
        assert!(
            matches!(&got[7], DomainEvent::MetadataChange { nsuri: Some(u), .. } if u == "urn:x")
        );
        assert!(matches!(
            &got[8],
            DomainEvent::BlockJob { id: DomainEventId::BlockJob2, disk, .. } if disk == "vda"
        ));
        assert!(got.iter().all(|e| e.domain().name == "vm"));
    }

    #[test]
    fn other_families_decode_and_closed_receivers_are_removed() {
        let mut r = EventRoutes::default();
        let (tx, mut rx) = mpsc::channel(4);
        subscribe(&mut r, EventFamily::NodeDevice, 0, Sink::NodeDevice(tx));
        let (stx, srx) = mpsc::channel(4);
        subscribe(&mut r, EventFamily::Secret, 1, Sink::Secret(stx));
        let (stx2, mut srx2) = mpsc::channel(4);
        subscribe(&mut r, EventFamily::Secret, 1, Sink::Secret(stx2));
        let dev = NodeDevice {
            name: "scsi_host12".into(),
        };
        let mut b = Vec::new();
        wire::DevLifecycle {
            callback_id: 0,
            dev: dev.clone(),
            event: 0,
            detail: 0,
        }
        .encode(&mut b);
        r.dispatch(procs::NODE_DEVICE_EVENT_LIFECYCLE, &b);
        let mut b = Vec::new();
        wire::DevUpdate {
            callback_id: 0,
            dev: dev.clone(),
        }
        .encode(&mut b);
        r.dispatch(procs::NODE_DEVICE_EVENT_UPDATE, &b);
        assert_eq!(
            rx.try_recv().unwrap(),
            NodeDeviceEvent::Lifecycle {
                device: dev.clone(),
                kind: NodeDeviceLifecycleKind::Created,
                event: 0,
                detail: 0
            }
        );
        assert_eq!(
            rx.try_recv().unwrap(),
            NodeDeviceEvent::Update { device: dev }
        );
        drop(srx);
        let mut b = Vec::new();
        wire::SecretValue {
            callback_id: 1,
            secret: Secret::default(),
        }
        .encode(&mut b);
        r.dispatch(procs::SECRET_EVENT_VALUE_CHANGED, &b);
        // Fan-out: the live subscriber of the shared callback gets it, the closed one is
        // unsubscribed.
        assert_eq!(
            srx2.try_recv().unwrap(),
            SecretEvent::ValueChanged {
                secret: Secret::default()
            }
        );
        assert_eq!(r.routes[&(EventFamily::Secret, 1)].subs.len(), 1);
        assert!(!r.unused(EventFamily::Secret, 1));
    }
}
