//! The REMOTE program (0x20008086 v1): libvirt's driver API on the wire.
//!
//! `objects` holds the shared object encodings, `types` the argument and return structs of the
//! procedures oxvirt serves, `procs` the procedure numbers and their access classes;
//! `types_more`, `types_secret` and `types_nwfilter` add the structs of procedures the client
//! library calls beyond those.

pub mod objects;
pub mod procs;
pub mod types;
pub mod types_more;
pub mod types_nwfilter;
pub mod types_secret;

pub use objects::*;
pub use types::*;
pub use types_more::*;
pub use types_nwfilter::*;
pub use types_secret::*;

/// Program number.
pub const PROGRAM: u32 = 0x2000_8086;
/// Program version.
pub const VERSION: u32 = 1;
/// The QEMU program (served beside REMOTE; no procedures implemented yet).
pub const QEMU_PROGRAM: u32 = 0x2000_8087;
/// The LXC program.
pub const LXC_PROGRAM: u32 = 0x0006_8000;

/// `REMOTE_AUTH_NONE`.
pub const AUTH_NONE: i32 = 0;
/// `REMOTE_AUTH_SASL`.
pub const AUTH_SASL: i32 = 1;
/// `REMOTE_AUTH_POLKIT`.
pub const AUTH_POLKIT: i32 = 2;

/// Remote-driver private CONNECT_OPEN flag: read-only.
pub const OPEN_RO: u32 = 1;

/// Array limits of the remote protocol (`REMOTE_*_LIST_MAX`).
pub mod limits {
    pub const DOMAIN_LIST_MAX: usize = 16384;
    pub const NETWORK_LIST_MAX: usize = 16384;
    pub const STORAGE_POOL_LIST_MAX: usize = 16384;
    pub const STORAGE_VOL_LIST_MAX: usize = 16384;
    pub const NODE_DEVICE_LIST_MAX: usize = 65536;
    pub const NODE_DEVICE_CAPS_LIST_MAX: usize = 65536;
    pub const INTERFACE_LIST_MAX: usize = 16384;
    pub const CPUMAPS_MAX: usize = 8_388_608;
    pub const NODE_MAX_CELLS: usize = 1024;
    pub const SECRET_LIST_MAX: usize = 16384;
    pub const SECRET_VALUE_MAX: usize = 65536;
    pub const NWFILTER_LIST_MAX: usize = 16384;
    pub const NWFILTER_BINDING_LIST_MAX: usize = 16384;
}
