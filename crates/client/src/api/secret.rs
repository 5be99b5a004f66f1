//! Secrets: define, lookup by UUID or usage, XML, get/set value, undefine, list.
//!
//! ```no_run
//! # async fn demo() -> Result<(), oxvirt_client::ClientError> {
//! use oxvirt_client::api::SecretUsageType;
//! let conn = oxvirt_client::Connection::open(Some("qemu:///session"), false).await?;
//! let s = conn
//!     .secret_define_xml(
//!         "<secret ephemeral='no' private='no'><usage type='ceph'><name>pool</name></usage></secret>",
//!         0,
//!     )
//!     .await?;
//! conn.secret_set_value(&s, b"s3cr3t", 0).await?;
//! let again = conn.lookup_secret_by_usage(SecretUsageType::Ceph, "pool").await?;
//! assert_eq!(conn.secret_get_value(&again, 0).await?, b"s3cr3t");
//! conn.secret_undefine(&s).await?;
//! # Ok(()) }
//! ```

use super::{list_all_args, max_names, Uuid};
use crate::connection::Connection;
use crate::error::ClientError;
use oxvirt_proto::remote::{self, limits, procs, Secret};
use oxvirt_xdr::Opaque;

/// `VIR_CONNECT_LIST_SECRETS_EPHEMERAL`.
pub const CONNECT_LIST_SECRETS_EPHEMERAL: u32 = 1 << 0;
/// `VIR_CONNECT_LIST_SECRETS_NO_EPHEMERAL`.
pub const CONNECT_LIST_SECRETS_NO_EPHEMERAL: u32 = 1 << 1;
/// `VIR_CONNECT_LIST_SECRETS_PRIVATE`.
pub const CONNECT_LIST_SECRETS_PRIVATE: u32 = 1 << 2;
/// `VIR_CONNECT_LIST_SECRETS_NO_PRIVATE`.
pub const CONNECT_LIST_SECRETS_NO_PRIVATE: u32 = 1 << 3;
/// `VIR_SECRET_DEFINE_VALIDATE`.
pub const SECRET_DEFINE_VALIDATE: u32 = 1 << 0;

/// `virSecretUsageType`: what a secret is for (the `usage_type` of a [`Secret`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum SecretUsageType {
    /// `VIR_SECRET_USAGE_TYPE_NONE` (0).
    None,
    /// `VIR_SECRET_USAGE_TYPE_VOLUME` (1).
    Volume,
    /// `VIR_SECRET_USAGE_TYPE_CEPH` (2).
    Ceph,
    /// `VIR_SECRET_USAGE_TYPE_ISCSI` (3).
    Iscsi,
    /// `VIR_SECRET_USAGE_TYPE_TLS` (4).
    Tls,
    /// `VIR_SECRET_USAGE_TYPE_VTPM` (5).
    Vtpm,
    /// A number this client does not know.
    Other(i32),
}

impl SecretUsageType {
    /// From libvirt's number.
    pub fn from_raw(v: i32) -> Self {
        match v {
            0 => Self::None,
            1 => Self::Volume,
            2 => Self::Ceph,
            3 => Self::Iscsi,
            4 => Self::Tls,
            5 => Self::Vtpm,
            n => Self::Other(n),
        }
    }

    /// libvirt's number.
    pub fn to_raw(self) -> i32 {
        match self {
            Self::None => 0,
            Self::Volume => 1,
            Self::Ceph => 2,
            Self::Iscsi => 3,
            Self::Tls => 4,
            Self::Vtpm => 5,
            Self::Other(n) => n,
        }
    }
}

fn secret_flags(secret: &Secret, flags: u32) -> remote::SecretFlagsArgs {
    remote::SecretFlagsArgs {
        secret: secret.clone(),
        flags,
    }
}

impl Connection {
    /// `virConnectListAllSecrets` (`flags`: `CONNECT_LIST_SECRETS_*`).
    pub async fn list_all_secrets(&self, flags: u32) -> Result<Vec<Secret>, ClientError> {
        let r: remote::ListAllSecretsRet = self
            .call(procs::CONNECT_LIST_ALL_SECRETS, &list_all_args(flags))
            .await?;
        Ok(r.secrets)
    }

    /// `virConnectNumOfSecrets`.
    pub async fn num_of_secrets(&self) -> Result<i32, ClientError> {
        let r: remote::IntRet = self.call(procs::CONNECT_NUM_OF_SECRETS, &()).await?;
        Ok(r.value)
    }

    /// `virConnectListSecrets`: the UUIDs of the secrets.
    pub async fn list_secrets(&self) -> Result<Vec<Uuid>, ClientError> {
        let r: remote::NamesRet = self
            .call(
                procs::CONNECT_LIST_SECRETS,
                &remote::MaxNamesArgs {
                    maxnames: max_names(limits::SECRET_LIST_MAX),
                },
            )
            .await?;
        r.names
            .iter()
            .map(|s| s.parse().map_err(|_| super::bad_reply("secret UUID")))
            .collect()
    }

    /// `virSecretLookupByUUID`.
    pub async fn lookup_secret_by_uuid(&self, uuid: &Uuid) -> Result<Secret, ClientError> {
        let r: remote::SecretRet = self
            .call(
                procs::SECRET_LOOKUP_BY_UUID,
                &remote::LookupByUuidArgs {
                    uuid: (*uuid).into(),
                },
            )
            .await?;
        Ok(r.secret)
    }

    /// `virSecretLookupByUsage`: by usage type and usage id (volume path, ceph or iSCSI name,
    /// ...).
    pub async fn lookup_secret_by_usage(
        &self,
        usage_type: SecretUsageType,
        usage_id: &str,
    ) -> Result<Secret, ClientError> {
        let r: remote::SecretRet = self
            .call(
                procs::SECRET_LOOKUP_BY_USAGE,
                &remote::SecretLookupByUsageArgs {
                    usage_type: usage_type.to_raw(),
                    usage_id: usage_id.into(),
                },
            )
            .await?;
        Ok(r.secret)
    }

    /// `virSecretDefineXML` (`flags`: [`SECRET_DEFINE_VALIDATE`]).
    pub async fn secret_define_xml(&self, xml: &str, flags: u32) -> Result<Secret, ClientError> {
        let r: remote::SecretRet = self
            .call(
                procs::SECRET_DEFINE_XML,
                &remote::XmlFlagsArgs {
                    xml: xml.into(),
                    flags,
                },
            )
            .await?;
        Ok(r.secret)
    }

    /// `virSecretGetXMLDesc`.
    pub async fn secret_get_xml_desc(
        &self,
        secret: &Secret,
        flags: u32,
    ) -> Result<String, ClientError> {
        let r: remote::StringRet = self
            .call(procs::SECRET_GET_XML_DESC, &secret_flags(secret, flags))
            .await?;
        Ok(r.value)
    }

    /// `virSecretSetValue` (at most 65536 bytes, the protocol's limit).
    pub async fn secret_set_value(
        &self,
        secret: &Secret,
        value: &[u8],
        flags: u32,
    ) -> Result<(), ClientError> {
        if value.len() > limits::SECRET_VALUE_MAX {
            return Err(ClientError::Config(format!(
                "secret value too long: {} > {} bytes",
                value.len(),
                limits::SECRET_VALUE_MAX
            )));
        }
        self.call(
            procs::SECRET_SET_VALUE,
            &remote::SecretSetValueArgs {
                secret: secret.clone(),
                value: Opaque(value.to_vec()),
                flags,
            },
        )
        .await
    }

    /// `virSecretGetValue` (refused by the daemon for private secrets).
    pub async fn secret_get_value(
        &self,
        secret: &Secret,
        flags: u32,
    ) -> Result<Vec<u8>, ClientError> {
        let r: remote::SecretGetValueRet = self
            .call(procs::SECRET_GET_VALUE, &secret_flags(secret, flags))
            .await?;
        Ok(r.value.0)
    }

    /// `virSecretUndefine`.
    pub async fn secret_undefine(&self, secret: &Secret) -> Result<(), ClientError> {
        self.call(
            procs::SECRET_UNDEFINE,
            &remote::SecretArgs {
                secret: secret.clone(),
            },
        )
        .await
    }
}
