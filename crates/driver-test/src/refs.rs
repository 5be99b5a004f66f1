//! Object references: what the RPC layer sends on the wire to name an object
//! (`remote_nonnull_domain` and friends). Drivers hand these out; the remote program encodes them.

/// A domain as clients see it: name, UUID and id (-1 while inactive).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DomainRef {
    pub name: String,
    pub uuid: [u8; 16],
    pub id: i32,
}

impl DomainRef {
    /// The key a call names this domain by.
    pub fn key(&self) -> DomainKey<'_> {
        DomainKey {
            name: &self.name,
            uuid: self.uuid,
        }
    }
}

/// How a call names a domain: resolved by UUID, the name only for the "no domain with matching
/// uuid" error. Borrowed (from the decoded message), so resolving a domain copies nothing.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DomainKey<'a> {
    pub name: &'a str,
    pub uuid: [u8; 16],
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
