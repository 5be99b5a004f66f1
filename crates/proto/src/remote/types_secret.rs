//! Argument and return structs of the secret procedures (`REMOTE_PROC_SECRET_*`,
//! `CONNECT_LIST_ALL_SECRETS`), in libvirt's field order.

use super::objects::Secret;
use oxvirt_xdr::{xdr_struct, Opaque};

xdr_struct! {
    /// `{secret secret}`: SECRET_UNDEFINE.
    pub struct SecretArgs { pub secret: Secret }
    /// `{secret secret, uint flags}`: SECRET_GET_XML_DESC, SECRET_GET_VALUE.
    pub struct SecretFlagsArgs { pub secret: Secret, pub flags: u32 }
    /// `{secret secret}`: the reply of lookups and SECRET_DEFINE_XML.
    pub struct SecretRet { pub secret: Secret }
    /// CONNECT_LIST_ALL_SECRETS reply.
    pub struct ListAllSecretsRet { pub secrets: Vec<Secret>, pub ret: u32 }
    /// SECRET_LOOKUP_BY_USAGE arguments (`usage_type` is a `VIR_SECRET_USAGE_TYPE_*`).
    pub struct SecretLookupByUsageArgs { pub usage_type: i32, pub usage_id: String }
    /// SECRET_SET_VALUE arguments.
    pub struct SecretSetValueArgs { pub secret: Secret, pub value: Opaque, pub flags: u32 }
    /// SECRET_GET_VALUE reply.
    pub struct SecretGetValueRet { pub value: Opaque }
}
