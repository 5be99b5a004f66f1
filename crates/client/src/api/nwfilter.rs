//! Network filters and their bindings: define, lookup, XML, undefine, list.
//!
//! ```no_run
//! # async fn demo() -> Result<(), oxvirt_client::ClientError> {
//! let conn = oxvirt_client::Connection::open(Some("nwfilter:///system"), false).await?;
//! let f = conn
//!     .nwfilter_define_xml("<filter name='demo' chain='root'><rule action='drop' direction='in'>\
//!                           <all/></rule></filter>")
//!     .await?;
//! println!("{}", conn.nwfilter_get_xml_desc(&f, 0).await?);
//! conn.nwfilter_undefine(&f).await?;
//! # Ok(()) }
//! ```

use super::{list_all_args, max_names, Uuid};
use crate::connection::Connection;
use crate::error::ClientError;
use oxvirt_proto::remote::{self, limits, procs, NwFilter};

pub use oxvirt_proto::remote::NwFilterBinding;

/// `VIR_NWFILTER_DEFINE_VALIDATE`.
pub const NWFILTER_DEFINE_VALIDATE: u32 = 1 << 0;
/// `VIR_NWFILTER_BINDING_CREATE_VALIDATE`.
pub const NWFILTER_BINDING_CREATE_VALIDATE: u32 = 1 << 0;

impl Connection {
    /// `virConnectListAllNWFilters` (`flags` must be 0).
    pub async fn list_all_nwfilters(&self, flags: u32) -> Result<Vec<NwFilter>, ClientError> {
        let r: remote::ListAllNwFiltersRet = self
            .call(procs::CONNECT_LIST_ALL_NWFILTERS, &list_all_args(flags))
            .await?;
        Ok(r.filters)
    }

    /// `virConnectNumOfNWFilters`.
    pub async fn num_of_nwfilters(&self) -> Result<i32, ClientError> {
        let r: remote::IntRet = self.call(procs::CONNECT_NUM_OF_NWFILTERS, &()).await?;
        Ok(r.value)
    }

    /// `virConnectListNWFilters`: filter names.
    pub async fn list_nwfilters(&self) -> Result<Vec<String>, ClientError> {
        let r: remote::NamesRet = self
            .call(
                procs::CONNECT_LIST_NWFILTERS,
                &remote::MaxNamesArgs {
                    maxnames: max_names(limits::NWFILTER_LIST_MAX),
                },
            )
            .await?;
        Ok(r.names)
    }

    /// `virNWFilterLookupByName`.
    pub async fn lookup_nwfilter_by_name(&self, name: &str) -> Result<NwFilter, ClientError> {
        let r: remote::NwFilterRet = self
            .call(
                procs::NWFILTER_LOOKUP_BY_NAME,
                &remote::LookupByNameArgs { name: name.into() },
            )
            .await?;
        Ok(r.nwfilter)
    }

    /// `virNWFilterLookupByUUID`.
    pub async fn lookup_nwfilter_by_uuid(&self, uuid: &Uuid) -> Result<NwFilter, ClientError> {
        let r: remote::NwFilterRet = self
            .call(
                procs::NWFILTER_LOOKUP_BY_UUID,
                &remote::LookupByUuidArgs {
                    uuid: (*uuid).into(),
                },
            )
            .await?;
        Ok(r.nwfilter)
    }

    /// `virNWFilterDefineXML`.
    pub async fn nwfilter_define_xml(&self, xml: &str) -> Result<NwFilter, ClientError> {
        let r: remote::NwFilterRet = self
            .call(
                procs::NWFILTER_DEFINE_XML,
                &remote::XmlArgs { xml: xml.into() },
            )
            .await?;
        Ok(r.nwfilter)
    }

    /// `virNWFilterDefineXMLFlags` (`flags`: [`NWFILTER_DEFINE_VALIDATE`]).
    pub async fn nwfilter_define_xml_flags(
        &self,
        xml: &str,
        flags: u32,
    ) -> Result<NwFilter, ClientError> {
        let r: remote::NwFilterRet = self
            .call(
                procs::NWFILTER_DEFINE_XML_FLAGS,
                &remote::XmlFlagsArgs {
                    xml: xml.into(),
                    flags,
                },
            )
            .await?;
        Ok(r.nwfilter)
    }

    /// `virNWFilterGetXMLDesc`.
    pub async fn nwfilter_get_xml_desc(
        &self,
        filter: &NwFilter,
        flags: u32,
    ) -> Result<String, ClientError> {
        let r: remote::StringRet = self
            .call(
                procs::NWFILTER_GET_XML_DESC,
                &remote::NwFilterFlagsArgs {
                    nwfilter: filter.clone(),
                    flags,
                },
            )
            .await?;
        Ok(r.value)
    }

    /// `virNWFilterUndefine`.
    pub async fn nwfilter_undefine(&self, filter: &NwFilter) -> Result<(), ClientError> {
        self.call(
            procs::NWFILTER_UNDEFINE,
            &remote::NwFilterArgs {
                nwfilter: filter.clone(),
            },
        )
        .await
    }

    /// `virConnectListAllNWFilterBindings` (`flags` must be 0).
    pub async fn list_all_nwfilter_bindings(
        &self,
        flags: u32,
    ) -> Result<Vec<NwFilterBinding>, ClientError> {
        let r: remote::ListAllNwFilterBindingsRet = self
            .call(
                procs::CONNECT_LIST_ALL_NWFILTER_BINDINGS,
                &list_all_args(flags),
            )
            .await?;
        Ok(r.bindings)
    }

    /// `virNWFilterBindingLookupByPortDev`: the binding of a guest's port device.
    pub async fn lookup_nwfilter_binding_by_port_dev(
        &self,
        portdev: &str,
    ) -> Result<NwFilterBinding, ClientError> {
        let r: remote::NwFilterBindingArgs = self
            .call(
                procs::NWFILTER_BINDING_LOOKUP_BY_PORT_DEV,
                &remote::LookupByNameArgs {
                    name: portdev.into(),
                },
            )
            .await?;
        Ok(r.nwfilter)
    }

    /// `virNWFilterBindingGetXMLDesc`.
    pub async fn nwfilter_binding_get_xml_desc(
        &self,
        binding: &NwFilterBinding,
        flags: u32,
    ) -> Result<String, ClientError> {
        let r: remote::StringRet = self
            .call(
                procs::NWFILTER_BINDING_GET_XML_DESC,
                &remote::NwFilterBindingFlagsArgs {
                    nwfilter: binding.clone(),
                    flags,
                },
            )
            .await?;
        Ok(r.value)
    }

    /// `virNWFilterBindingCreateXML` (`flags`: [`NWFILTER_BINDING_CREATE_VALIDATE`]).
    pub async fn nwfilter_binding_create_xml(
        &self,
        xml: &str,
        flags: u32,
    ) -> Result<NwFilterBinding, ClientError> {
        let r: remote::NwFilterBindingArgs = self
            .call(
                procs::NWFILTER_BINDING_CREATE_XML,
                &remote::XmlFlagsArgs {
                    xml: xml.into(),
                    flags,
                },
            )
            .await?;
        Ok(r.nwfilter)
    }

    /// `virNWFilterBindingDelete`.
    pub async fn nwfilter_binding_delete(
        &self,
        binding: &NwFilterBinding,
    ) -> Result<(), ClientError> {
        self.call(
            procs::NWFILTER_BINDING_DELETE,
            &remote::NwFilterBindingArgs {
                nwfilter: binding.clone(),
            },
        )
        .await
    }
}
