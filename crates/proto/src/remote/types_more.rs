//! Argument and return structs of further domain, storage and interface procedures that the
//! client library calls (the daemon may not serve them all), in libvirt's field order.

use super::objects::Domain;
use oxvirt_xdr::xdr_struct;

xdr_struct! {
    /// DOMAIN_GET_MESSAGES reply: `{string<> msgs}`.
    pub struct DomainGetMessagesRet { pub msgs: Vec<String> }
    /// DOMAIN_SET_METADATA arguments.
    pub struct DomainSetMetadataArgs {
        pub dom: Domain, pub type_: i32, pub metadata: Option<String>, pub key: Option<String>,
        pub uri: Option<String>, pub flags: u32,
    }
    /// STORAGE_VOL_LOOKUP_BY_KEY arguments: `{string key}`.
    pub struct VolLookupByKeyArgs { pub key: String }
    /// STORAGE_VOL_LOOKUP_BY_PATH arguments: `{string path}`.
    pub struct VolLookupByPathArgs { pub path: String }
    /// INTERFACE_LOOKUP_BY_MAC_STRING arguments: `{string mac}`.
    pub struct InterfaceLookupByMacArgs { pub mac: String }
}
