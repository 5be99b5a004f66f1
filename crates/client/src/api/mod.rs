//! The typed REMOTE API: one `impl Connection` block per object family, each method one
//! libvirt public API call (named after it) over one REMOTE procedure.
//!
//! Who talks to whom: a method encodes its arguments with the wire structs of `oxvirt-proto`,
//! sends them with [`Connection::call`](crate::Connection::call) and turns the reply into ergonomic Rust values
//! (`bool` for `is_*` calls, enums such as [`DomainState`], [`Uuid`] with its text form). Object
//! handles are the wire's own `remote_nonnull_*` structs ([`Domain`], [`Network`],
//! [`StoragePool`], [`StorageVol`], [`Interface`], [`NodeDevice`], [`Secret`], [`NwFilter`]);
//! they are plain data, cheap to clone and valid on any connection to the same daemon.
//!
//! | family | module | examples |
//! | --- | --- | --- |
//! | connection and host | [`connect`] | [`Connection::get_hostname`](crate::Connection::get_hostname), [`Connection::node_get_info`](crate::Connection::node_get_info) |
//! | domains | [`domain`] | [`Connection::domain_define_xml`](crate::Connection::domain_define_xml), [`Connection::domain_get_state`](crate::Connection::domain_get_state) |
//! | networks | [`network`] | [`Connection::lookup_network_by_name`](crate::Connection::lookup_network_by_name) |
//! | storage pools and volumes | [`storage`] | [`Connection::storage_vol_create_xml`](crate::Connection::storage_vol_create_xml) |
//! | host interfaces | [`interface`] | [`Connection::list_all_interfaces`](crate::Connection::list_all_interfaces) |
//! | node devices | [`nodedev`] | [`Connection::node_device_get_xml_desc`](crate::Connection::node_device_get_xml_desc) |
//! | secrets | [`secret`] | [`Connection::secret_set_value`](crate::Connection::secret_set_value) |
//! | network filters | [`nwfilter`] | [`Connection::nwfilter_define_xml`](crate::Connection::nwfilter_define_xml) |
//!
//! Flags are `u32` constants named as libvirt names them without the `VIR_` prefix (e.g.
//! [`domain::CONNECT_LIST_DOMAINS_ACTIVE`] is `VIR_CONNECT_LIST_DOMAINS_ACTIVE`).
//!
//! ```no_run
//! # async fn demo() -> Result<(), oxvirt_client::ClientError> {
//! use oxvirt_client::{Connection, DomainState};
//! let conn = Connection::open(Some("test:///default"), false).await?;
//! let dom = conn.lookup_domain_by_name("test").await?;
//! let (state, _reason) = conn.domain_get_state(&dom, 0).await?;
//! if state == DomainState::Running {
//!     conn.domain_suspend(&dom).await?;
//! }
//! println!("{} is {}", oxvirt_client::Uuid::from(dom.uuid), state);
//! conn.close().await
//! # }
//! ```

pub mod connect;
pub mod domain;
pub mod interface;
pub mod network;
pub mod nodedev;
pub mod nwfilter;
pub mod secret;
pub mod storage;

pub use connect::{NodeInfo, SecurityModel};
pub use domain::{DomainInfo, DomainState, SecurityLabel};
pub use nwfilter::NwFilterBinding;
pub use oxvirt_proto::remote::{
    Domain, Interface, Network, NodeDevice, NwFilter, Secret, StoragePool, StorageVol,
};
pub use secret::SecretUsageType;
pub use storage::{StoragePoolInfo, StoragePoolState, StorageVolInfo, StorageVolType};

use crate::error::ClientError;
use std::fmt;
use std::str::FromStr;

/// A libvirt UUID (16 bytes) with its canonical text form
/// (`xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx`, lower case).
///
/// ```
/// use oxvirt_client::Uuid;
/// let u: Uuid = "6695eb01-f6a4-8304-79aa-97f2502e193f".parse().unwrap();
/// assert_eq!(u.to_string(), "6695eb01-f6a4-8304-79aa-97f2502e193f");
/// // libvirt also accepts the form without dashes, and surrounding blanks.
/// assert_eq!(" 6695eb01f6a4830479aa97f2502e193f ".parse::<Uuid>().unwrap(), u);
/// assert!("6695eb01".parse::<Uuid>().is_err());
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, PartialOrd, Ord)]
pub struct Uuid(pub [u8; 16]);

impl Uuid {
    /// The 16 raw bytes.
    pub fn as_bytes(&self) -> &[u8; 16] {
        &self.0
    }
}

impl From<oxvirt_xdr::Uuid> for Uuid {
    fn from(u: oxvirt_xdr::Uuid) -> Self {
        Uuid(u.0)
    }
}

impl From<Uuid> for oxvirt_xdr::Uuid {
    fn from(u: Uuid) -> Self {
        oxvirt_xdr::Uuid(u.0)
    }
}

impl From<[u8; 16]> for Uuid {
    fn from(b: [u8; 16]) -> Self {
        Uuid(b)
    }
}

impl fmt::Display for Uuid {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, b) in self.0.iter().enumerate() {
            if matches!(i, 4 | 6 | 8 | 10) {
                f.write_str("-")?;
            }
            write!(f, "{b:02x}")?;
        }
        Ok(())
    }
}

/// A text that is not a UUID.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("malformed UUID '{0}'")]
pub struct UuidParseError(pub String);

impl FromStr for Uuid {
    type Err = UuidParseError;

    /// Parses as libvirt's `virUUIDParse`: 32 hex digits, optionally separated by dashes,
    /// leading and trailing blanks ignored.
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let bad = || UuidParseError(s.to_string());
        let mut out = [0u8; 16];
        let mut n = 0usize;
        let mut hi: Option<u8> = None;
        for c in s.trim().chars() {
            if c == '-' {
                continue;
            }
            let v = c.to_digit(16).ok_or_else(bad)? as u8;
            match hi.take() {
                None => hi = Some(v),
                Some(h) => {
                    if n == 16 {
                        return Err(bad());
                    }
                    out[n] = (h << 4) | v;
                    n += 1;
                }
            }
        }
        if n != 16 || hi.is_some() {
            return Err(bad());
        }
        Ok(Uuid(out))
    }
}

/// Turns a `need_results = 1` LIST_ALL reply into its objects.
pub(crate) fn list_all_args(flags: u32) -> oxvirt_proto::remote::ListAllArgs {
    oxvirt_proto::remote::ListAllArgs {
        need_results: 1,
        flags,
    }
}

/// `int` results of `is_*` calls: 1 true, 0 false (a negative value never arrives: errors
/// travel as error replies).
pub(crate) fn truth(v: i32) -> bool {
    v != 0
}

/// The `maxnames` argument of the legacy name-list calls: as many as the protocol allows.
pub(crate) fn max_names(limit: usize) -> i32 {
    i32::try_from(limit).unwrap_or(i32::MAX)
}

/// An error for a reply whose value the client cannot represent.
pub(crate) fn bad_reply(what: &str) -> ClientError {
    ClientError::Protocol(format!("malformed reply: {what}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn uuid_text_round_trip() {
        let u = Uuid([
            0x66, 0x95, 0xeb, 0x01, 0xf6, 0xa4, 0x83, 0x04, 0x79, 0xaa, 0x97, 0xf2, 0x50, 0x2e,
            0x19, 0x3f,
        ]);
        let s = u.to_string();
        assert_eq!(s, "6695eb01-f6a4-8304-79aa-97f2502e193f");
        assert_eq!(s.parse::<Uuid>().unwrap(), u);
        assert_eq!(s.to_uppercase().parse::<Uuid>().unwrap(), u);
        for bad in [
            "",
            "xyz",
            "6695eb01-f6a4-8304-79aa-97f2502e193",
            "6695eb01-f6a4-8304-79aa-97f2502e193f0",
        ] {
            assert!(bad.parse::<Uuid>().is_err(), "{bad}");
        }
        assert_eq!(oxvirt_xdr::Uuid::from(u).0, u.0);
    }
}
