//! Object references: what the RPC layer sends on the wire to name an object
//! (`remote_nonnull_domain` and friends). Drivers hand these out; the remote program encodes them.

/// A domain as clients see it: name, UUID and id (-1 while inactive).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DomainRef {
    pub name: String,
    pub uuid: [u8; 16],
    pub id: i32,
}

/// A virtual network.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NetworkRef {
    pub name: String,
    pub uuid: [u8; 16],
}

/// A storage pool.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PoolRef {
    pub name: String,
    pub uuid: [u8; 16],
}

/// A storage volume: its pool's name, its own name and its key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VolRef {
    pub pool: String,
    pub name: String,
    pub key: String,
}

/// A host interface: name and MAC string.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InterfaceRef {
    pub name: String,
    pub mac: String,
}

/// A node device, named by its device name.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NodeDeviceRef {
    pub name: String,
}
