//! Typed wrappers over a few REMOTE procedures.

use crate::connection::Connection;
use crate::error::ClientError;
use oxvirt_proto::remote::{self, procs, Domain};

/// `virDomainInfo`.
pub type DomainInfo = remote::DomainGetInfoRet;

impl Connection {
    /// `virConnectGetHostname`.
    pub async fn get_hostname(&self) -> Result<String, ClientError> {
        let r: remote::StringRet = self.call(procs::CONNECT_GET_HOSTNAME, &()).await?;
        Ok(r.value)
    }

    /// `virConnectGetLibVersion` (major × 1,000,000 + minor × 1,000 + release).
    pub async fn get_lib_version(&self) -> Result<u64, ClientError> {
        let r: remote::UHyperRet = self.call(procs::CONNECT_GET_LIB_VERSION, &()).await?;
        Ok(r.value)
    }

    /// `virConnectListAllDomains`.
    pub async fn list_all_domains(&self, flags: u32) -> Result<Vec<Domain>, ClientError> {
        let r: remote::ListAllDomainsRet = self
            .call(
                procs::CONNECT_LIST_ALL_DOMAINS,
                &remote::ListAllArgs {
                    need_results: 1,
                    flags,
                },
            )
            .await?;
        Ok(r.domains)
    }

    /// `virDomainLookupByName`.
    pub async fn lookup_domain_by_name(&self, name: &str) -> Result<Domain, ClientError> {
        let r: remote::DomainRet = self
            .call(
                procs::DOMAIN_LOOKUP_BY_NAME,
                &remote::LookupByNameArgs { name: name.into() },
            )
            .await?;
        Ok(r.dom)
    }

    /// `virDomainGetInfo`.
    pub async fn domain_get_info(&self, dom: &Domain) -> Result<DomainInfo, ClientError> {
        self.call(procs::DOMAIN_GET_INFO, &dom_args(dom)).await
    }

    /// `virDomainDefineXML`.
    pub async fn domain_define_xml(&self, xml: &str) -> Result<Domain, ClientError> {
        let r: remote::DomainRet = self
            .call(
                procs::DOMAIN_DEFINE_XML,
                &remote::XmlArgs { xml: xml.into() },
            )
            .await?;
        Ok(r.dom)
    }

    /// `virDomainUndefine`.
    pub async fn domain_undefine(&self, dom: &Domain) -> Result<(), ClientError> {
        self.call(procs::DOMAIN_UNDEFINE, &dom_args(dom)).await
    }

    /// `virDomainCreate` (starts a defined domain).
    pub async fn domain_create(&self, dom: &Domain) -> Result<(), ClientError> {
        self.call(procs::DOMAIN_CREATE, &dom_args(dom)).await
    }

    /// `virDomainDestroy`.
    pub async fn domain_destroy(&self, dom: &Domain) -> Result<(), ClientError> {
        self.call(procs::DOMAIN_DESTROY, &dom_args(dom)).await
    }
}

fn dom_args(dom: &Domain) -> remote::DomainArgs {
    remote::DomainArgs { dom: dom.clone() }
}
