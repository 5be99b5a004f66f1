//! The wire layouts of event MESSAGEs and registration calls (private to `events`).
#![allow(missing_docs)]

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
