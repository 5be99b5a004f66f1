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

/// `remote_nonnull_domain` decoded without copying its name (hot procedures' arguments).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DomainRef<'a> {
    pub name: &'a str,
    pub uuid: Uuid,
    pub id: i32,
}

impl<'a> oxvirt_xdr::XdrRef<'a> for DomainRef<'a> {
    fn decode_ref(r: &mut oxvirt_xdr::Reader<'a>) -> Result<Self, oxvirt_xdr::XdrError> {
        use oxvirt_xdr::Xdr;
        Ok(DomainRef {
            name: r.str()?,
            uuid: Uuid::decode(r)?,
            id: i32::decode(r)?,
        })
    }
}

impl DomainRef<'_> {
    /// Encodes as `remote_nonnull_domain` (the same bytes as [`Domain`]).
    pub fn encode(&self, out: &mut Vec<u8>) {
        use oxvirt_xdr::Xdr;
        oxvirt_xdr::encode_str(self.name, out);
        self.uuid.encode(out);
        self.id.encode(out);
    }

    /// Bytes [`DomainRef::encode`] writes.
    pub fn wire_size(&self) -> usize {
        4 + self.name.len() + oxvirt_xdr::pad(self.name.len()) + 16 + 4
    }
}

/// `remote_domain_lookup_by_name_args` (and every `{ remote_nonnull_string name; }`
/// argument), borrowed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct NameArgsRef<'a> {
    pub name: &'a str,
}

impl<'a> oxvirt_xdr::XdrRef<'a> for NameArgsRef<'a> {
    fn decode_ref(r: &mut oxvirt_xdr::Reader<'a>) -> Result<Self, oxvirt_xdr::XdrError> {
        Ok(NameArgsRef { name: r.str()? })
    }
}

/// Arguments with no heap data decode the same on the borrowed path.
macro_rules! owned_as_ref {
    ($($t:ty),*) => {$(
        impl<'a> oxvirt_xdr::XdrRef<'a> for $t {
            fn decode_ref(r: &mut oxvirt_xdr::Reader<'a>) -> Result<Self, oxvirt_xdr::XdrError> {
                <$t as oxvirt_xdr::Xdr>::decode(r)
            }
        }
    )*};
}
owned_as_ref!(
    crate::remote::LookupByIdArgs,
    crate::remote::LookupByUuidArgs
);

/// `remote_domain_get_info_args` and every other `{ remote_nonnull_domain dom; }` argument,
/// borrowed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DomainArgsRef<'a> {
    pub dom: DomainRef<'a>,
}

impl<'a> oxvirt_xdr::XdrRef<'a> for DomainArgsRef<'a> {
    fn decode_ref(r: &mut oxvirt_xdr::Reader<'a>) -> Result<Self, oxvirt_xdr::XdrError> {
        Ok(DomainArgsRef {
            dom: DomainRef::decode_ref(r)?,
        })
    }
}

/// `{ remote_nonnull_domain dom; unsigned int flags; }` arguments, borrowed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DomainFlagsArgsRef<'a> {
    pub dom: DomainRef<'a>,
    pub flags: u32,
}

impl<'a> oxvirt_xdr::XdrRef<'a> for DomainFlagsArgsRef<'a> {
    fn decode_ref(r: &mut oxvirt_xdr::Reader<'a>) -> Result<Self, oxvirt_xdr::XdrError> {
        use oxvirt_xdr::Xdr;
        Ok(DomainFlagsArgsRef {
            dom: DomainRef::decode_ref(r)?,
            flags: u32::decode(r)?,
        })
    }
}

#[cfg(test)]
mod ref_tests {
    use super::*;
    use oxvirt_xdr::{from_bytes, from_bytes_ref, to_bytes};

    #[test]
    fn borrowed_domain_args_decode_like_owned_ones() {
        let owned = crate::remote::DomainFlagsArgs {
            dom: Domain {
                name: "vm-1".into(),
                uuid: Uuid([7; 16]),
                id: 3,
            },
            flags: 5,
        };
        let bytes = to_bytes(&owned);
        let b: DomainFlagsArgsRef<'_> = from_bytes_ref(&bytes).unwrap();
        assert_eq!(
            (b.dom.name, b.dom.uuid, b.dom.id, b.flags),
            ("vm-1", Uuid([7; 16]), 3, 5)
        );
        let a: DomainArgsRef<'_> = from_bytes_ref(&bytes).unwrap();
        let o: crate::remote::DomainArgs = from_bytes(&bytes).unwrap();
        assert_eq!(a.dom.name, o.dom.name);
        for cut in 0..bytes.len() - 4 {
            assert!(from_bytes_ref::<DomainFlagsArgsRef<'_>>(&bytes[..cut]).is_err());
        }
        let mut bad = bytes.clone();
        bad[4] = 0xff;
        assert!(from_bytes_ref::<DomainArgsRef<'_>>(&bad).is_err());
    }

    #[test]
    fn borrowed_domain_encodes_like_an_owned_one() {
        for name in ["", "a", "abcd", "vm-with-a-longer-name"] {
            let owned = Domain {
                name: name.into(),
                uuid: Uuid([9; 16]),
                id: -1,
            };
            let b = DomainRef {
                name,
                uuid: Uuid([9; 16]),
                id: -1,
            };
            let mut out = Vec::new();
            b.encode(&mut out);
            assert_eq!(out, to_bytes(&owned));
            assert_eq!(out.len(), b.wire_size());
        }
        let args = crate::remote::LookupByNameArgs {
            name: "guest".into(),
        };
        let bytes = to_bytes(&args);
        let n: NameArgsRef<'_> = from_bytes_ref(&bytes).unwrap();
        assert_eq!(n.name, "guest");
        assert!(from_bytes_ref::<NameArgsRef<'_>>(&bytes[..bytes.len() - 1]).is_err());
    }
}
