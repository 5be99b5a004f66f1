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

// ------------------------------------------------------------------ wire layouts (private)

mod wire {
    use oxvirt_proto::remote::{Domain, Network, NodeDevice, Secret, StoragePool};
    use oxvirt_proto::typed_param::TypedParam;

    oxvirt_xdr::xdr_struct! {
        pub struct DomOnly { pub callback_id: i32, pub dom: Domain }
        pub struct Lifecycle { pub callback_id: i32, pub dom: Domain, pub event: i32, pub detail: i32 }
        pub struct RtcChange { pub callback_id: i32, pub dom: Domain, pub offset: i64 }
        pub struct Watchdog { pub callback_id: i32, pub dom: Domain, pub action: i32 }
        pub struct IoError {
            pub callback_id: i32, pub dom: Domain, pub src_path: String, pub dev_alias: String,
            pub action: i32,
        }
        pub struct IoErrorReason {
            pub callback_id: i32, pub dom: Domain, pub src_path: String, pub dev_alias: String,
            pub action: i32, pub reason: String,
        }
        pub struct GraphicsAddress { pub family: i32, pub node: String, pub service: String }
        pub struct GraphicsIdentity { pub kind: String, pub name: String }
        pub struct Graphics {
            pub callback_id: i32, pub dom: Domain, pub phase: i32, pub local: GraphicsAddress,
            pub remote: GraphicsAddress, pub auth_scheme: String,
            pub subject: Vec<GraphicsIdentity>,
        }
        pub struct BlockJob {
            pub callback_id: i32, pub dom: Domain, pub path: String, pub kind: i32, pub status: i32,
        }
        pub struct DiskChange {
            pub callback_id: i32, pub dom: Domain, pub old_src_path: Option<String>,
            pub new_src_path: Option<String>, pub dev_alias: String, pub reason: i32,
        }
        pub struct TrayChange { pub callback_id: i32, pub dom: Domain, pub dev_alias: String, pub reason: i32 }
        pub struct Pm { pub callback_id: i32, pub reason: i32, pub dom: Domain }
        pub struct BalloonChange { pub callback_id: i32, pub dom: Domain, pub actual: u64 }
        pub struct DevAlias { pub callback_id: i32, pub dom: Domain, pub dev_alias: String }
        pub struct Params { pub callback_id: i32, pub dom: Domain, pub params: Vec<TypedParam> }
        pub struct AgentLifecycle { pub callback_id: i32, pub dom: Domain, pub state: i32, pub reason: i32 }
        pub struct MigrationIteration { pub callback_id: i32, pub dom: Domain, pub iteration: i32 }
        pub struct MetadataChange { pub callback_id: i32, pub dom: Domain, pub kind: i32, pub nsuri: Option<String> }
        pub struct BlockThreshold {
            pub callback_id: i32, pub dom: Domain, pub dev: String, pub path: Option<String>,
            pub threshold: u64, pub excess: u64,
        }
        pub struct MemoryFailure {
            pub callback_id: i32, pub dom: Domain, pub recipient: i32, pub action: i32, pub flags: u32,
        }
        pub struct MemoryDeviceSizeChange { pub callback_id: i32, pub dom: Domain, pub alias: String, pub size: u64 }
        pub struct NetLifecycle { pub callback_id: i32, pub net: Network, pub event: i32, pub detail: i32 }
        pub struct PoolLifecycle { pub callback_id: i32, pub pool: StoragePool, pub event: i32, pub detail: i32 }
        pub struct PoolRefresh { pub callback_id: i32, pub pool: StoragePool }
        pub struct DevLifecycle { pub callback_id: i32, pub dev: NodeDevice, pub event: i32, pub detail: i32 }
        pub struct DevUpdate { pub callback_id: i32, pub dev: NodeDevice }
        pub struct SecretLifecycle { pub callback_id: i32, pub secret: Secret, pub event: i32, pub detail: i32 }
        pub struct SecretValue { pub callback_id: i32, pub secret: Secret }
        pub struct SecretRegisterArgs { pub event_id: i32, pub secret: Option<Secret> }
    }
}

// ------------------------------------------------------------------ public event types

/// A domain lifecycle event type (`virDomainEventType`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LifecycleKind {
    /// The domain was defined or updated (`VIR_DOMAIN_EVENT_DEFINED`).
    Defined,
    /// The domain was undefined (`VIR_DOMAIN_EVENT_UNDEFINED`).
    Undefined,
    /// The domain was started (`VIR_DOMAIN_EVENT_STARTED`).
    Started,
    /// The domain was paused (`VIR_DOMAIN_EVENT_SUSPENDED`).
    Suspended,
    /// The domain was unpaused (`VIR_DOMAIN_EVENT_RESUMED`).
    Resumed,
    /// The domain was stopped: destroyed, shut down, crashed, migrated, saved, failed (`VIR_DOMAIN_EVENT_STOPPED`).
    Stopped,
    /// Guest shutdown in progress (`VIR_DOMAIN_EVENT_SHUTDOWN`).
    Shutdown,
    /// The domain was suspended by guest power management (`VIR_DOMAIN_EVENT_PMSUSPENDED`).
    PmSuspended,
    /// The guest crashed (`VIR_DOMAIN_EVENT_CRASHED`).
    Crashed,
    /// A value this client does not name.
    Other(i32),
}

impl LifecycleKind {
    /// From the wire value.
    pub fn from_i32(v: i32) -> Self {
        match v {
            0 => Self::Defined,
            1 => Self::Undefined,
            2 => Self::Started,
            3 => Self::Suspended,
            4 => Self::Resumed,
            5 => Self::Stopped,
            6 => Self::Shutdown,
            7 => Self::PmSuspended,
            8 => Self::Crashed,
            v => Self::Other(v),
        }
    }
}

/// One `VIR_DOMAIN_EVENT_ID_LIFECYCLE` event.
#[derive(Debug, Clone, PartialEq)]
pub struct LifecycleEvent {
    /// The domain it is about.
    pub domain: Domain,
    /// What happened.
    pub kind: LifecycleKind,
    /// The event's raw type number.
    pub event: i32,
    /// The type-specific detail number (e.g. STOPPED/DESTROYED = 1).
    pub detail: i32,
}

/// The domain event ids (`virDomainEventID`) of libvirt 9.0.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[repr(i32)]
#[allow(missing_docs)]
pub enum DomainEventId {
    Lifecycle = 0,
    Reboot = 1,
    RtcChange = 2,
    Watchdog = 3,
    IoError = 4,
    Graphics = 5,
    IoErrorReason = 6,
    ControlError = 7,
    BlockJob = 8,
    DiskChange = 9,
    TrayChange = 10,
    PmWakeup = 11,
    PmSuspend = 12,
    BalloonChange = 13,
    PmSuspendDisk = 14,
    DeviceRemoved = 15,
    BlockJob2 = 16,
    Tunable = 17,
    AgentLifecycle = 18,
    DeviceAdded = 19,
    MigrationIteration = 20,
    JobCompleted = 21,
    DeviceRemovalFailed = 22,
    MetadataChange = 23,
    BlockThreshold = 24,
    MemoryFailure = 25,
    MemoryDeviceSizeChange = 26,
}

/// A graphics client address (`virDomainEventGraphicsAddress`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GraphicsAddress {
    /// 0 IPv4, 1 IPv6, 2 UNIX.
    pub family: i32,
    /// Address.
    pub node: String,
    /// Port or path.
    pub service: String,
}

/// One graphics authentication identity (`virDomainEventGraphicsSubjectIdentity`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GraphicsIdentity {
    /// e.g. `x509dname`, `saslUsername`.
    pub kind: String,
    /// The identity.
    pub name: String,
}

/// A domain event, one variant per [`DomainEventId`]. Numbers are libvirt's enums
/// (`virDomainEventWatchdogAction`, `virDomainEventIOErrorAction`, …).
#[derive(Debug, Clone, PartialEq)]
#[allow(missing_docs)]
pub enum DomainEvent {
    Lifecycle(LifecycleEvent),
    Reboot {
        domain: Domain,
    },
    RtcChange {
        domain: Domain,
        offset: i64,
    },
    Watchdog {
        domain: Domain,
        action: i32,
    },
    IoError {
        domain: Domain,
        src_path: String,
        dev_alias: String,
        action: i32,
    },
    IoErrorReason {
        domain: Domain,
        src_path: String,
        dev_alias: String,
        action: i32,
        reason: String,
    },
    Graphics {
        domain: Domain,
        phase: i32,
        local: GraphicsAddress,
        remote: GraphicsAddress,
        auth_scheme: String,
        subject: Vec<GraphicsIdentity>,
    },
    ControlError {
        domain: Domain,
    },
    /// `BLOCK_JOB` (by path) and `BLOCK_JOB_2` (by target name) share this shape.
    BlockJob {
        domain: Domain,
        id: DomainEventId,
        disk: String,
        kind: i32,
        status: i32,
    },
    DiskChange {
        domain: Domain,
        old_src_path: Option<String>,
        new_src_path: Option<String>,
        dev_alias: String,
        reason: i32,
    },
    TrayChange {
        domain: Domain,
        dev_alias: String,
        reason: i32,
    },
    PmWakeup {
        domain: Domain,
        reason: i32,
    },
    PmSuspend {
        domain: Domain,
        reason: i32,
    },
    PmSuspendDisk {
        domain: Domain,
        reason: i32,
    },
    BalloonChange {
        domain: Domain,
        actual: u64,
    },
    DeviceRemoved {
        domain: Domain,
        dev_alias: String,
    },
    DeviceAdded {
        domain: Domain,
        dev_alias: String,
    },
    DeviceRemovalFailed {
        domain: Domain,
        dev_alias: String,
    },
    Tunable {
        domain: Domain,
        params: Vec<TypedParam>,
    },
    AgentLifecycle {
        domain: Domain,
        state: i32,
        reason: i32,
    },
    MigrationIteration {
        domain: Domain,
        iteration: i32,
    },
    JobCompleted {
        domain: Domain,
        params: Vec<TypedParam>,
    },
    MetadataChange {
        domain: Domain,
        kind: i32,
        nsuri: Option<String>,
    },
    BlockThreshold {
        domain: Domain,
        dev: String,
        path: Option<String>,
        threshold: u64,
        excess: u64,
    },
    MemoryFailure {
        domain: Domain,
        recipient: i32,
        action: i32,
        flags: u32,
    },
    MemoryDeviceSizeChange {
        domain: Domain,
        alias: String,
        size: u64,
    },
}

impl DomainEvent {
    /// The domain the event is about.
    pub fn domain(&self) -> &Domain {
        use DomainEvent::*;
        match self {
            Lifecycle(l) => &l.domain,
            Reboot { domain }
            | RtcChange { domain, .. }
            | Watchdog { domain, .. }
            | IoError { domain, .. }
            | IoErrorReason { domain, .. }
            | Graphics { domain, .. }
            | ControlError { domain }
            | BlockJob { domain, .. }
            | DiskChange { domain, .. }
            | TrayChange { domain, .. }
            | PmWakeup { domain, .. }
            | PmSuspend { domain, .. }
            | PmSuspendDisk { domain, .. }
            | BalloonChange { domain, .. }
            | DeviceRemoved { domain, .. }
            | DeviceAdded { domain, .. }
            | DeviceRemovalFailed { domain, .. }
            | Tunable { domain, .. }
            | AgentLifecycle { domain, .. }
            | MigrationIteration { domain, .. }
            | JobCompleted { domain, .. }
            | MetadataChange { domain, .. }
            | BlockThreshold { domain, .. }
            | MemoryFailure { domain, .. }
            | MemoryDeviceSizeChange { domain, .. } => domain,
        }
    }
}

macro_rules! lifecycle_kind {
    ($(#[$m:meta])* $name:ident { $($v:ident = $n:literal),* $(,)? }) => {
        $(#[$m])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq)]
        #[allow(missing_docs)]
        pub enum $name {
            $($v,)*
            /// A value this client does not name.
            Other(i32),
        }
        impl $name {
            /// From the wire value.
            pub fn from_i32(v: i32) -> Self {
                match v { $($n => Self::$v,)* v => Self::Other(v) }
            }
        }
    };
}

lifecycle_kind!(
    /// `virNetworkEventLifecycleType`.
    NetworkLifecycleKind { Defined = 0, Undefined = 1, Started = 2, Stopped = 3 }
);
lifecycle_kind!(
    /// `virStoragePoolEventLifecycleType`.
    StoragePoolLifecycleKind {
        Defined = 0, Undefined = 1, Started = 2, Stopped = 3, Created = 4, Deleted = 5,
    }
);
lifecycle_kind!(
    /// `virNodeDeviceEventLifecycleType`.
    NodeDeviceLifecycleKind { Created = 0, Deleted = 1, Defined = 2, Undefined = 3 }
);
lifecycle_kind!(
    /// `virSecretEventLifecycleType`.
    SecretLifecycleKind { Defined = 0, Undefined = 1 }
);

/// Network event ids (`virNetworkEventID`; 9.0 has only lifecycle).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[repr(i32)]
#[allow(missing_docs)]
pub enum NetworkEventId {
    Lifecycle = 0,
}

/// A network event.
#[derive(Debug, Clone, PartialEq)]
#[allow(missing_docs)]
pub enum NetworkEvent {
    Lifecycle {
        network: Network,
        kind: NetworkLifecycleKind,
        event: i32,
        detail: i32,
    },
}

/// Storage pool event ids (`virStoragePoolEventID`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[repr(i32)]
#[allow(missing_docs)]
pub enum StoragePoolEventId {
    Lifecycle = 0,
    Refresh = 1,
}

/// A storage pool event.
#[derive(Debug, Clone, PartialEq)]
#[allow(missing_docs)]
pub enum StoragePoolEvent {
    Lifecycle {
        pool: StoragePool,
        kind: StoragePoolLifecycleKind,
        event: i32,
        detail: i32,
    },
    Refresh {
        pool: StoragePool,
    },
}

/// Node device event ids (`virNodeDeviceEventID`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[repr(i32)]
#[allow(missing_docs)]
pub enum NodeDeviceEventId {
    Lifecycle = 0,
    Update = 1,
}

/// A node device event.
#[derive(Debug, Clone, PartialEq)]
#[allow(missing_docs)]
pub enum NodeDeviceEvent {
    Lifecycle {
        device: NodeDevice,
        kind: NodeDeviceLifecycleKind,
        event: i32,
        detail: i32,
    },
    Update {
        device: NodeDevice,
    },
}

/// Secret event ids (`virSecretEventID`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[repr(i32)]
#[allow(missing_docs)]
pub enum SecretEventId {
    Lifecycle = 0,
    ValueChanged = 1,
}

/// A secret event.
#[derive(Debug, Clone, PartialEq)]
#[allow(missing_docs)]
pub enum SecretEvent {
    Lifecycle {
        secret: Secret,
        kind: SecretLifecycleKind,
        event: i32,
        detail: i32,
    },
    ValueChanged {
        secret: Secret,
    },
}

/// The object family a callback id belongs to (callback ids are per family on the server).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum EventFamily {
    /// Domains (`CONNECT_DOMAIN_EVENT_CALLBACK_*`).
    Domain,
    /// Networks.
    Network,
    /// Storage pools.
    StoragePool,
    /// Node devices.
    NodeDevice,
    /// Secrets.
    Secret,
}

impl EventFamily {
    fn deregister_proc(self) -> i32 {
        match self {
            Self::Domain => procs::CONNECT_DOMAIN_EVENT_CALLBACK_DEREGISTER_ANY,
            Self::Network => procs::CONNECT_NETWORK_EVENT_DEREGISTER_ANY,
            Self::StoragePool => procs::CONNECT_STORAGE_POOL_EVENT_DEREGISTER_ANY,
            Self::NodeDevice => procs::CONNECT_NODE_DEVICE_EVENT_DEREGISTER_ANY,
            Self::Secret => procs::CONNECT_SECRET_EVENT_DEREGISTER_ANY,
        }
    }
}

// ------------------------------------------------------------------ routing

/// A decoded event of any family.
#[derive(Debug, Clone)]
enum Event {
    Domain(DomainEvent),
    Network(NetworkEvent),
    Pool(StoragePoolEvent),
    NodeDevice(NodeDeviceEvent),
    Secret(SecretEvent),
}

/// Where one local subscriber wants its events.
enum Sink {
    Domain(mpsc::Sender<DomainEvent>),
    Lifecycle(mpsc::Sender<LifecycleEvent>),
    Network(mpsc::Sender<NetworkEvent>),
    Pool(mpsc::Sender<StoragePoolEvent>),
    NodeDevice(mpsc::Sender<NodeDeviceEvent>),
    Secret(mpsc::Sender<SecretEvent>),
}

/// Sends a copy of `ev`; `false` when the receiver is gone.
fn offer<T>(tx: &mpsc::Sender<T>, ev: T) -> bool {
    match tx.try_send(ev) {
        Ok(()) => true,
        Err(mpsc::error::TrySendError::Full(_)) => {
            tracing::warn!("event receiver full: event dropped");
            true
        }
        Err(mpsc::error::TrySendError::Closed(_)) => false,
    }
}

impl Sink {
    fn offer(&self, ev: &Event) -> bool {
        match (self, ev) {
            (Sink::Domain(tx), Event::Domain(e)) => offer(tx, e.clone()),
            (Sink::Lifecycle(tx), Event::Domain(DomainEvent::Lifecycle(l))) => offer(tx, l.clone()),
            (Sink::Network(tx), Event::Network(e)) => offer(tx, e.clone()),
            (Sink::Pool(tx), Event::Pool(e)) => offer(tx, e.clone()),
            (Sink::NodeDevice(tx), Event::NodeDevice(e)) => offer(tx, e.clone()),
            (Sink::Secret(tx), Event::Secret(e)) => offer(tx, e.clone()),
            _ => true,
        }
    }
}

/// What a server registration is for. libvirtd refuses a second registration with the same
/// event id and object filter on one connection ("event callback already tracked"), so, as the
/// C client does, one server callback serves every local subscriber with the same key.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
struct RouteKey {
    family: EventFamily,
    event_id: i32,
    /// The object filter: UUID bytes (node devices: the name).
    filter: Option<Vec<u8>>,
}

/// One server callback and its local subscribers.
struct Route {
    key: RouteKey,
    subs: Vec<(u64, Sink)>,
}

/// Server callbacks by (family, server-chosen callback id), with their local subscribers.
#[derive(Default)]
pub(crate) struct EventRoutes {
    routes: HashMap<(EventFamily, i32), Route>,
    by_key: HashMap<RouteKey, i32>,
    next_sub: u64,
    /// The connection, to deregister callbacks whose last receiver is gone.
    conn: Option<Weak<Inner>>,
    /// Serialises registration and deregistration round trips of this connection, so that a
    /// key is never registered twice nor joined while its deregistration is in flight.
    lock: Arc<tokio::sync::Mutex<()>>,
}

fn decode<T: Xdr>(payload: &[u8]) -> Option<T> {
    match oxvirt_xdr::from_bytes(payload) {
        Ok(m) => Some(m),
        Err(e) => {
            tracing::warn!(%e, "undecodable event");
            None
        }
    }
}

impl EventRoutes {
    pub(crate) fn clear(&mut self) {
        self.routes.clear();
        self.by_key.clear();
    }

    /// No receiver is left on this server callback.
    fn unused(&self, family: EventFamily, id: i32) -> bool {
        self.routes
            .get(&(family, id))
            .map_or(true, |r| r.subs.is_empty())
    }

    fn remove_sub(&mut self, family: EventFamily, id: i32, sub: u64) {
        if let Some(r) = self.routes.get_mut(&(family, id)) {
            r.subs.retain(|(s, _)| *s != sub);
        }
    }

    fn drop_route(&mut self, family: EventFamily, id: i32) {
        if let Some(r) = self.routes.remove(&(family, id)) {
            self.by_key.remove(&r.key);
        }
    }

    /// Delivers one decoded event to every subscriber of its callback, in arrival order.
    fn deliver(&mut self, family: EventFamily, id: i32, ev: Event) {
        let mut closed = false;
        if let Some(route) = self.routes.get_mut(&(family, id)) {
            let before = route.subs.len();
            route.subs.retain(|(_, s)| s.offer(&ev));
            closed |= route.subs.len() != before;
        }
        if closed && self.unused(family, id) {
            // The receivers were dropped: deregister the callback on the server.
            if let Some(inner) = self.conn.as_ref().and_then(Weak::upgrade) {
                spawn_release(Connection { inner }, family, id);
            }
        }
    }

    /// Routes one event MESSAGE of the REMOTE program. Unknown procedures are logged and
    /// ignored, as the C client does.
    pub(crate) fn dispatch(&mut self, proc_: i32, payload: &[u8]) {
        use EventFamily as F;
        let decoded: Option<(F, i32, Event)> = match proc_ {
            procs::DOMAIN_EVENT_CALLBACK_LIFECYCLE => decode::<wire::Lifecycle>(payload).map(|m| {
                let ev = DomainEvent::Lifecycle(LifecycleEvent {
                    domain: m.dom,
                    kind: LifecycleKind::from_i32(m.event),
                    event: m.event,
                    detail: m.detail,
                });
                (F::Domain, m.callback_id, Event::Domain(ev))
            }),
            procs::NETWORK_EVENT_LIFECYCLE => decode::<wire::NetLifecycle>(payload).map(|m| {
                let ev = NetworkEvent::Lifecycle {
                    network: m.net,
                    kind: NetworkLifecycleKind::from_i32(m.event),
                    event: m.event,
                    detail: m.detail,
                };
                (F::Network, m.callback_id, Event::Network(ev))
            }),
            procs::STORAGE_POOL_EVENT_LIFECYCLE => {
                decode::<wire::PoolLifecycle>(payload).map(|m| {
                    let ev = StoragePoolEvent::Lifecycle {
                        pool: m.pool,
                        kind: StoragePoolLifecycleKind::from_i32(m.event),
                        event: m.event,
                        detail: m.detail,
                    };
                    (F::StoragePool, m.callback_id, Event::Pool(ev))
                })
            }
            procs::STORAGE_POOL_EVENT_REFRESH => decode::<wire::PoolRefresh>(payload).map(|m| {
                let ev = StoragePoolEvent::Refresh { pool: m.pool };
                (F::StoragePool, m.callback_id, Event::Pool(ev))
            }),
            procs::NODE_DEVICE_EVENT_LIFECYCLE => decode::<wire::DevLifecycle>(payload).map(|m| {
                let ev = NodeDeviceEvent::Lifecycle {
                    device: m.dev,
                    kind: NodeDeviceLifecycleKind::from_i32(m.event),
                    event: m.event,
                    detail: m.detail,
                };
                (F::NodeDevice, m.callback_id, Event::NodeDevice(ev))
            }),
            procs::NODE_DEVICE_EVENT_UPDATE => decode::<wire::DevUpdate>(payload).map(|m| {
                let ev = NodeDeviceEvent::Update { device: m.dev };
                (F::NodeDevice, m.callback_id, Event::NodeDevice(ev))
            }),
            procs::SECRET_EVENT_LIFECYCLE => decode::<wire::SecretLifecycle>(payload).map(|m| {
                let ev = SecretEvent::Lifecycle {
                    secret: m.secret,
                    kind: SecretLifecycleKind::from_i32(m.event),
                    event: m.event,
                    detail: m.detail,
                };
                (F::Secret, m.callback_id, Event::Secret(ev))
            }),
            procs::SECRET_EVENT_VALUE_CHANGED => decode::<wire::SecretValue>(payload).map(|m| {
                let ev = SecretEvent::ValueChanged { secret: m.secret };
                (F::Secret, m.callback_id, Event::Secret(ev))
            }),
            other => match decode_domain(other, payload) {
                Some(d) => d.map(|(id, ev)| (F::Domain, id, Event::Domain(ev))),
                None => {
                    tracing::debug!(proc_ = other, "No event expected with procedure");
                    None
                }
            },
        };
        if let Some((family, id, ev)) = decoded {
            self.deliver(family, id, ev);
        }
    }
}

/// Decodes the domain callback events other than lifecycle: `None` if `proc_` is not one,
/// `Some(None)` if its payload does not decode.
fn decode_domain(proc_: i32, p: &[u8]) -> Option<Option<(i32, DomainEvent)>> {
    use DomainEvent as D;
    fn dec<T: Xdr>(
        p: &[u8],
        f: impl FnOnce(T) -> (i32, DomainEvent),
    ) -> Option<(i32, DomainEvent)> {
        decode::<T>(p).map(f)
    }
    let pm = |p: &[u8], id: DomainEventId| {
        dec(p, |m: wire::Pm| {
            let (domain, reason) = (m.dom, m.reason);
            let ev = match id {
                DomainEventId::PmWakeup => D::PmWakeup { domain, reason },
                DomainEventId::PmSuspend => D::PmSuspend { domain, reason },
                _ => D::PmSuspendDisk { domain, reason },
            };
            (m.callback_id, ev)
        })
    };
    let block_job = |p: &[u8], id: DomainEventId| {
        dec(p, |m: wire::BlockJob| {
            let ev = D::BlockJob {
                domain: m.dom,
                id,
                disk: m.path,
                kind: m.kind,
                status: m.status,
            };
            (m.callback_id, ev)
        })
    };
    Some(match proc_ {
        procs::DOMAIN_EVENT_CALLBACK_REBOOT => dec(p, |m: wire::DomOnly| {
            (m.callback_id, D::Reboot { domain: m.dom })
        }),
        procs::DOMAIN_EVENT_CALLBACK_RTC_CHANGE => dec(p, |m: wire::RtcChange| {
            let ev = D::RtcChange {
                domain: m.dom,
                offset: m.offset,
            };
            (m.callback_id, ev)
        }),
        procs::DOMAIN_EVENT_CALLBACK_WATCHDOG => dec(p, |m: wire::Watchdog| {
            let ev = D::Watchdog {
                domain: m.dom,
                action: m.action,
            };
            (m.callback_id, ev)
        }),
        procs::DOMAIN_EVENT_CALLBACK_IO_ERROR => dec(p, |m: wire::IoError| {
            let ev = D::IoError {
                domain: m.dom,
                src_path: m.src_path,
                dev_alias: m.dev_alias,
                action: m.action,
            };
            (m.callback_id, ev)
        }),
        procs::DOMAIN_EVENT_CALLBACK_IO_ERROR_REASON => dec(p, |m: wire::IoErrorReason| {
            let ev = D::IoErrorReason {
                domain: m.dom,
                src_path: m.src_path,
                dev_alias: m.dev_alias,
                action: m.action,
                reason: m.reason,
            };
            (m.callback_id, ev)
        }),
        procs::DOMAIN_EVENT_CALLBACK_GRAPHICS => dec(p, |m: wire::Graphics| {
            let addr = |a: wire::GraphicsAddress| GraphicsAddress {
                family: a.family,
                node: a.node,
                service: a.service,
            };
            let ev = D::Graphics {
                domain: m.dom,
                phase: m.phase,
                local: addr(m.local),
                remote: addr(m.remote),
                auth_scheme: m.auth_scheme,
                subject: m
                    .subject
                    .into_iter()
                    .map(|s| GraphicsIdentity {
                        kind: s.kind,
                        name: s.name,
                    })
                    .collect(),
            };
            (m.callback_id, ev)
        }),
        procs::DOMAIN_EVENT_CALLBACK_CONTROL_ERROR => dec(p, |m: wire::DomOnly| {
            (m.callback_id, D::ControlError { domain: m.dom })
        }),
        procs::DOMAIN_EVENT_CALLBACK_BLOCK_JOB => block_job(p, DomainEventId::BlockJob),
        procs::DOMAIN_EVENT_BLOCK_JOB_2 => block_job(p, DomainEventId::BlockJob2),
        procs::DOMAIN_EVENT_CALLBACK_DISK_CHANGE => dec(p, |m: wire::DiskChange| {
            let ev = D::DiskChange {
                domain: m.dom,
                old_src_path: m.old_src_path,
                new_src_path: m.new_src_path,
                dev_alias: m.dev_alias,
                reason: m.reason,
            };
            (m.callback_id, ev)
        }),
        procs::DOMAIN_EVENT_CALLBACK_TRAY_CHANGE => dec(p, |m: wire::TrayChange| {
            let ev = D::TrayChange {
                domain: m.dom,
                dev_alias: m.dev_alias,
                reason: m.reason,
            };
            (m.callback_id, ev)
        }),
        procs::DOMAIN_EVENT_CALLBACK_PMWAKEUP => pm(p, DomainEventId::PmWakeup),
        procs::DOMAIN_EVENT_CALLBACK_PMSUSPEND => pm(p, DomainEventId::PmSuspend),
        procs::DOMAIN_EVENT_CALLBACK_PMSUSPEND_DISK => pm(p, DomainEventId::PmSuspendDisk),
        procs::DOMAIN_EVENT_CALLBACK_BALLOON_CHANGE => dec(p, |m: wire::BalloonChange| {
            let ev = D::BalloonChange {
                domain: m.dom,
                actual: m.actual,
            };
            (m.callback_id, ev)
        }),
        procs::DOMAIN_EVENT_CALLBACK_DEVICE_REMOVED => dec(p, |m: wire::DevAlias| {
            let ev = D::DeviceRemoved {
                domain: m.dom,
                dev_alias: m.dev_alias,
            };
            (m.callback_id, ev)
        }),
        procs::DOMAIN_EVENT_CALLBACK_DEVICE_ADDED => dec(p, |m: wire::DevAlias| {
            let ev = D::DeviceAdded {
                domain: m.dom,
                dev_alias: m.dev_alias,
            };
            (m.callback_id, ev)
        }),
        procs::DOMAIN_EVENT_CALLBACK_DEVICE_REMOVAL_FAILED => dec(p, |m: wire::DevAlias| {
            let ev = D::DeviceRemovalFailed {
                domain: m.dom,
                dev_alias: m.dev_alias,
            };
            (m.callback_id, ev)
        }),
        procs::DOMAIN_EVENT_CALLBACK_TUNABLE => dec(p, |m: wire::Params| {
            let ev = D::Tunable {
                domain: m.dom,
                params: m.params,
            };
            (m.callback_id, ev)
        }),
        procs::DOMAIN_EVENT_CALLBACK_JOB_COMPLETED => dec(p, |m: wire::Params| {
            let ev = D::JobCompleted {
                domain: m.dom,
                params: m.params,
            };
            (m.callback_id, ev)
        }),
        procs::DOMAIN_EVENT_CALLBACK_AGENT_LIFECYCLE => dec(p, |m: wire::AgentLifecycle| {
            let ev = D::AgentLifecycle {
                domain: m.dom,
                state: m.state,
                reason: m.reason,
            };
            (m.callback_id, ev)
        }),
        procs::DOMAIN_EVENT_CALLBACK_MIGRATION_ITERATION => {
            dec(p, |m: wire::MigrationIteration| {
                let ev = D::MigrationIteration {
                    domain: m.dom,
                    iteration: m.iteration,
                };
                (m.callback_id, ev)
            })
        }
        procs::DOMAIN_EVENT_CALLBACK_METADATA_CHANGE => dec(p, |m: wire::MetadataChange| {
            let ev = D::MetadataChange {
                domain: m.dom,
                kind: m.kind,
                nsuri: m.nsuri,
            };
            (m.callback_id, ev)
        }),
        procs::DOMAIN_EVENT_BLOCK_THRESHOLD => dec(p, |m: wire::BlockThreshold| {
            let ev = D::BlockThreshold {
                domain: m.dom,
                dev: m.dev,
                path: m.path,
                threshold: m.threshold,
                excess: m.excess,
            };
            (m.callback_id, ev)
        }),
        procs::DOMAIN_EVENT_MEMORY_FAILURE => dec(p, |m: wire::MemoryFailure| {
            let ev = D::MemoryFailure {
                domain: m.dom,
                recipient: m.recipient,
                action: m.action,
                flags: m.flags,
            };
            (m.callback_id, ev)
        }),
        procs::DOMAIN_EVENT_MEMORY_DEVICE_SIZE_CHANGE => {
            dec(p, |m: wire::MemoryDeviceSizeChange| {
                let ev = D::MemoryDeviceSizeChange {
                    domain: m.dom,
                    alias: m.alias,
                    size: m.size,
                };
                (m.callback_id, ev)
            })
        }
        _ => return None,
    })
}

/// Drops the server callback `id` if no receiver uses it any more (in the background).
fn spawn_release(conn: Connection, family: EventFamily, id: i32) {
    if !conn.is_alive() {
        return;
    }
    let Ok(rt) = tokio::runtime::Handle::try_current() else {
        tracing::debug!(callback_id = id, "no runtime: callback left registered");
        return;
    };
    rt.spawn(async move {
        if let Err(e) = release(&conn, family, id).await {
            tracing::debug!(%e, callback_id = id, "event callback deregistration failed");
        }
    });
}

/// Deregisters the server callback `id` (`*_DEREGISTER_ANY`) if no receiver uses it.
async fn release(conn: &Connection, family: EventFamily, id: i32) -> Result<(), ClientError> {
    let lock = conn.inner.events.lock().unwrap().lock.clone();
    let _serial = lock.lock().await;
    {
        let mut routes = conn.inner.events.lock().unwrap();
        if !routes.unused(family, id) || !routes.routes.contains_key(&(family, id)) {
            return Ok(());
        }
        routes.drop_route(family, id);
    }
    let args = remote::CallbackIdArgs { callback_id: id };
    conn.call::<_, ()>(family.deregister_proc(), &args).await
}

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
