//! Object encodings shared by many procedures (`remote_nonnull_*`).

use oxvirt_xdr::{xdr_struct, Uuid};

xdr_struct! {
    /// `remote_nonnull_domain`: name, UUID, id (-1 when inactive).
    pub struct Domain { pub name: String, pub uuid: Uuid, pub id: i32 }
    /// `remote_nonnull_network`.
    pub struct Network { pub name: String, pub uuid: Uuid }
    /// `remote_nonnull_storage_pool`.
    pub struct StoragePool { pub name: String, pub uuid: Uuid }
    /// `remote_nonnull_storage_vol`.
    pub struct StorageVol { pub pool: String, pub name: String, pub key: String }
    /// `remote_nonnull_interface`.
    pub struct Interface { pub name: String, pub mac: String }
    /// `remote_nonnull_node_device`.
    pub struct NodeDevice { pub name: String }
    /// `remote_nonnull_secret`.
    pub struct Secret { pub uuid: Uuid, pub usage_type: i32, pub usage_id: String }
    /// `remote_nonnull_nwfilter`.
    pub struct NwFilter { pub name: String, pub uuid: Uuid }
}
