//! Conversions between driver object references and their wire encodings, and the list
//! helpers shared by every object family.

use oxvirt_driver_test::{DomainRef, InterfaceRef, NetworkRef, NodeDeviceRef, PoolRef, VolRef};
use oxvirt_proto::remote as r;
use oxvirt_virerror::{ErrorCode, ErrorDomain, VirError};
use oxvirt_xdr::Uuid;

pub fn dom(d: DomainRef) -> r::Domain {
    r::Domain {
        name: d.name,
        uuid: Uuid(d.uuid),
        id: d.id,
    }
}
pub fn net(n: NetworkRef) -> r::Network {
    r::Network {
        name: n.name,
        uuid: Uuid(n.uuid),
    }
}
pub fn pool(p: PoolRef) -> r::StoragePool {
    r::StoragePool {
        name: p.name,
        uuid: Uuid(p.uuid),
    }
}
pub fn vol(v: VolRef) -> r::StorageVol {
    r::StorageVol {
        pool: v.pool,
        name: v.name,
        key: v.key,
    }
}
pub fn vol_ref(v: &r::StorageVol) -> VolRef {
    VolRef {
        pool: v.pool.clone(),
        name: v.name.clone(),
        key: v.key.clone(),
    }
}
pub fn iface(i: InterfaceRef) -> r::Interface {
    r::Interface {
        name: i.name,
        mac: i.mac,
    }
}
pub fn nodedev(d: NodeDeviceRef) -> r::NodeDevice {
    r::NodeDevice { name: d.name }
}

/// LIST_ALL semantics: with need_results 0 only the count is returned.
pub fn list_all<T>(need_results: i32, items: Vec<T>) -> (Vec<T>, u32) {
    let n = items.len() as u32;
    if need_results != 0 {
        (items, n)
    } else {
        (Vec::new(), n)
    }
}

/// Check a legacy `maxnames` argument against the protocol limit.
pub fn max_names(maxnames: i32, limit: usize, what: &str) -> Result<usize, VirError> {
    if maxnames < 0 || maxnames as usize > limit {
        return Err(VirError::bare(
            ErrorCode::Rpc,
            ErrorDomain::Rpc,
            format!("maxnames > {what}"),
        ));
    }
    Ok(maxnames as usize)
}
