//! The public event types of every family, decoded from the wire.

use super::*;

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
    pub(super) fn deregister_proc(self) -> i32 {
        match self {
            Self::Domain => procs::CONNECT_DOMAIN_EVENT_CALLBACK_DEREGISTER_ANY,
            Self::Network => procs::CONNECT_NETWORK_EVENT_DEREGISTER_ANY,
            Self::StoragePool => procs::CONNECT_STORAGE_POOL_EVENT_DEREGISTER_ANY,
            Self::NodeDevice => procs::CONNECT_NODE_DEVICE_EVENT_DEREGISTER_ANY,
            Self::Secret => procs::CONNECT_SECRET_EVENT_DEREGISTER_ANY,
        }
    }
}
