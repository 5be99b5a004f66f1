//! Host network interfaces: list, lookup by name or MAC, XML, define/undefine, start/stop.
//!
//! ```no_run
//! # async fn demo() -> Result<(), oxvirt_client::ClientError> {
//! let conn = oxvirt_client::Connection::open(Some("test:///default"), true).await?;
//! for iface in conn.list_all_interfaces(0).await? {
//!     println!("{} {} active={}", iface.name, iface.mac, conn.interface_is_active(&iface).await?);
//! }
//! # Ok(()) }
//! ```

use super::{list_all_args, max_names, truth};
use crate::connection::Connection;
use crate::error::ClientError;
use oxvirt_proto::remote::{self, limits, procs, Interface};

/// `VIR_CONNECT_LIST_INTERFACES_INACTIVE`.
pub const CONNECT_LIST_INTERFACES_INACTIVE: u32 = 1 << 0;
/// `VIR_CONNECT_LIST_INTERFACES_ACTIVE`.
pub const CONNECT_LIST_INTERFACES_ACTIVE: u32 = 1 << 1;
/// `VIR_INTERFACE_XML_INACTIVE`.
pub const INTERFACE_XML_INACTIVE: u32 = 1 << 0;
/// `VIR_INTERFACE_DEFINE_VALIDATE`.
pub const INTERFACE_DEFINE_VALIDATE: u32 = 1 << 0;

fn iface_flags(iface: &Interface, flags: u32) -> remote::InterfaceFlagsArgs {
    remote::InterfaceFlagsArgs {
        iface: iface.clone(),
        flags,
    }
}

impl Connection {
    /// `virConnectListAllInterfaces` (`flags`: `CONNECT_LIST_INTERFACES_*`).
    pub async fn list_all_interfaces(&self, flags: u32) -> Result<Vec<Interface>, ClientError> {
        let r: remote::ListAllInterfacesRet = self
            .call(procs::CONNECT_LIST_ALL_INTERFACES, &list_all_args(flags))
            .await?;
        Ok(r.ifaces)
    }

    /// `virConnectNumOfInterfaces`: active interfaces.
    pub async fn num_of_interfaces(&self) -> Result<i32, ClientError> {
        let r: remote::IntRet = self.call(procs::CONNECT_NUM_OF_INTERFACES, &()).await?;
        Ok(r.value)
    }

    /// `virConnectListInterfaces`: names of the active interfaces.
    pub async fn list_interfaces(&self) -> Result<Vec<String>, ClientError> {
        let r: remote::NamesRet = self
            .call(
                procs::CONNECT_LIST_INTERFACES,
                &remote::MaxNamesArgs {
                    maxnames: max_names(limits::INTERFACE_LIST_MAX),
                },
            )
            .await?;
        Ok(r.names)
    }

    /// `virConnectNumOfDefinedInterfaces`: inactive interfaces.
    pub async fn num_of_defined_interfaces(&self) -> Result<i32, ClientError> {
        let r: remote::IntRet = self
            .call(procs::CONNECT_NUM_OF_DEFINED_INTERFACES, &())
            .await?;
        Ok(r.value)
    }

    /// `virConnectListDefinedInterfaces`: names of the inactive interfaces.
    pub async fn list_defined_interfaces(&self) -> Result<Vec<String>, ClientError> {
        let r: remote::NamesRet = self
            .call(
                procs::CONNECT_LIST_DEFINED_INTERFACES,
                &remote::MaxNamesArgs {
                    maxnames: max_names(limits::INTERFACE_LIST_MAX),
                },
            )
            .await?;
        Ok(r.names)
    }

    /// `virInterfaceLookupByName`.
    pub async fn lookup_interface_by_name(&self, name: &str) -> Result<Interface, ClientError> {
        let r: remote::InterfaceRet = self
            .call(
                procs::INTERFACE_LOOKUP_BY_NAME,
                &remote::LookupByNameArgs { name: name.into() },
            )
            .await?;
        Ok(r.iface)
    }

    /// `virInterfaceLookupByMACString`.
    pub async fn lookup_interface_by_mac_string(
        &self,
        mac: &str,
    ) -> Result<Interface, ClientError> {
        let r: remote::InterfaceRet = self
            .call(
                procs::INTERFACE_LOOKUP_BY_MAC_STRING,
                &remote::InterfaceLookupByMacArgs { mac: mac.into() },
            )
            .await?;
        Ok(r.iface)
    }

    /// `virInterfaceGetXMLDesc` (`flags`: [`INTERFACE_XML_INACTIVE`]).
    pub async fn interface_get_xml_desc(
        &self,
        iface: &Interface,
        flags: u32,
    ) -> Result<String, ClientError> {
        let r: remote::StringRet = self
            .call(procs::INTERFACE_GET_XML_DESC, &iface_flags(iface, flags))
            .await?;
        Ok(r.value)
    }

    /// `virInterfaceIsActive`.
    pub async fn interface_is_active(&self, iface: &Interface) -> Result<bool, ClientError> {
        let r: remote::IntRet = self
            .call(
                procs::INTERFACE_IS_ACTIVE,
                &remote::InterfaceArgs {
                    iface: iface.clone(),
                },
            )
            .await?;
        Ok(truth(r.value))
    }

    /// `virInterfaceDefineXML` (`flags`: [`INTERFACE_DEFINE_VALIDATE`]).
    pub async fn interface_define_xml(
        &self,
        xml: &str,
        flags: u32,
    ) -> Result<Interface, ClientError> {
        let r: remote::InterfaceRet = self
            .call(
                procs::INTERFACE_DEFINE_XML,
                &remote::XmlFlagsArgs {
                    xml: xml.into(),
                    flags,
                },
            )
            .await?;
        Ok(r.iface)
    }

    /// `virInterfaceUndefine`.
    pub async fn interface_undefine(&self, iface: &Interface) -> Result<(), ClientError> {
        self.call(
            procs::INTERFACE_UNDEFINE,
            &remote::InterfaceArgs {
                iface: iface.clone(),
            },
        )
        .await
    }

    /// `virInterfaceCreate`: brings the interface up.
    pub async fn interface_create(&self, iface: &Interface, flags: u32) -> Result<(), ClientError> {
        self.call(procs::INTERFACE_CREATE, &iface_flags(iface, flags))
            .await
    }

    /// `virInterfaceDestroy`: brings the interface down.
    pub async fn interface_destroy(
        &self,
        iface: &Interface,
        flags: u32,
    ) -> Result<(), ClientError> {
        self.call(procs::INTERFACE_DESTROY, &iface_flags(iface, flags))
            .await
    }
}
