//! Virtual networks: list, lookup, define/create/destroy/undefine, XML, autostart, bridge.
//!
//! ```no_run
//! # async fn demo() -> Result<(), oxvirt_client::ClientError> {
//! let conn = oxvirt_client::Connection::open(Some("test:///default"), false).await?;
//! let net = conn.lookup_network_by_name("default").await?;
//! if !conn.network_is_active(&net).await? {
//!     conn.network_create(&net).await?;
//! }
//! println!("bridge {}", conn.network_get_bridge_name(&net).await?);
//! # Ok(()) }
//! ```

use super::{list_all_args, max_names, truth, Uuid};
use crate::connection::Connection;
use crate::error::ClientError;
use oxvirt_proto::remote::{self, limits, procs, Network};

/// `VIR_CONNECT_LIST_NETWORKS_INACTIVE`.
pub const CONNECT_LIST_NETWORKS_INACTIVE: u32 = 1 << 0;
/// `VIR_CONNECT_LIST_NETWORKS_ACTIVE`.
pub const CONNECT_LIST_NETWORKS_ACTIVE: u32 = 1 << 1;
/// `VIR_CONNECT_LIST_NETWORKS_PERSISTENT`.
pub const CONNECT_LIST_NETWORKS_PERSISTENT: u32 = 1 << 2;
/// `VIR_CONNECT_LIST_NETWORKS_TRANSIENT`.
pub const CONNECT_LIST_NETWORKS_TRANSIENT: u32 = 1 << 3;
/// `VIR_CONNECT_LIST_NETWORKS_AUTOSTART`.
pub const CONNECT_LIST_NETWORKS_AUTOSTART: u32 = 1 << 4;
/// `VIR_CONNECT_LIST_NETWORKS_NO_AUTOSTART`.
pub const CONNECT_LIST_NETWORKS_NO_AUTOSTART: u32 = 1 << 5;
/// `VIR_NETWORK_XML_INACTIVE`.
pub const NETWORK_XML_INACTIVE: u32 = 1 << 0;
/// `VIR_NETWORK_DEFINE_VALIDATE`.
pub const NETWORK_DEFINE_VALIDATE: u32 = 1 << 0;

fn net_args(net: &Network) -> remote::NetworkArgs {
    remote::NetworkArgs { net: net.clone() }
}

impl Connection {
    /// `virConnectListAllNetworks` (`flags`: `CONNECT_LIST_NETWORKS_*`).
    pub async fn list_all_networks(&self, flags: u32) -> Result<Vec<Network>, ClientError> {
        let r: remote::ListAllNetworksRet = self
            .call(procs::CONNECT_LIST_ALL_NETWORKS, &list_all_args(flags))
            .await?;
        Ok(r.nets)
    }

    /// `virConnectNumOfNetworks`: active networks.
    pub async fn num_of_networks(&self) -> Result<i32, ClientError> {
        let r: remote::IntRet = self.call(procs::CONNECT_NUM_OF_NETWORKS, &()).await?;
        Ok(r.value)
    }

    /// `virConnectListNetworks`: names of the active networks.
    pub async fn list_networks(&self) -> Result<Vec<String>, ClientError> {
        let r: remote::NamesRet = self
            .call(
                procs::CONNECT_LIST_NETWORKS,
                &remote::MaxNamesArgs {
                    maxnames: max_names(limits::NETWORK_LIST_MAX),
                },
            )
            .await?;
        Ok(r.names)
    }

    /// `virConnectNumOfDefinedNetworks`: inactive persistent networks.
    pub async fn num_of_defined_networks(&self) -> Result<i32, ClientError> {
        let r: remote::IntRet = self
            .call(procs::CONNECT_NUM_OF_DEFINED_NETWORKS, &())
            .await?;
        Ok(r.value)
    }

    /// `virConnectListDefinedNetworks`: names of the inactive persistent networks.
    pub async fn list_defined_networks(&self) -> Result<Vec<String>, ClientError> {
        let r: remote::NamesRet = self
            .call(
                procs::CONNECT_LIST_DEFINED_NETWORKS,
                &remote::MaxNamesArgs {
                    maxnames: max_names(limits::NETWORK_LIST_MAX),
                },
            )
            .await?;
        Ok(r.names)
    }

    /// `virNetworkLookupByName`.
    pub async fn lookup_network_by_name(&self, name: &str) -> Result<Network, ClientError> {
        let r: remote::NetworkRet = self
            .call(
                procs::NETWORK_LOOKUP_BY_NAME,
                &remote::LookupByNameArgs { name: name.into() },
            )
            .await?;
        Ok(r.net)
    }

    /// `virNetworkLookupByUUID`.
    pub async fn lookup_network_by_uuid(&self, uuid: &Uuid) -> Result<Network, ClientError> {
        let r: remote::NetworkRet = self
            .call(
                procs::NETWORK_LOOKUP_BY_UUID,
                &remote::LookupByUuidArgs {
                    uuid: (*uuid).into(),
                },
            )
            .await?;
        Ok(r.net)
    }

    /// `virNetworkDefineXML`.
    pub async fn network_define_xml(&self, xml: &str) -> Result<Network, ClientError> {
        let r: remote::NetworkRet = self
            .call(
                procs::NETWORK_DEFINE_XML,
                &remote::XmlArgs { xml: xml.into() },
            )
            .await?;
        Ok(r.net)
    }

    /// `virNetworkDefineXMLFlags` (`flags`: [`NETWORK_DEFINE_VALIDATE`]).
    pub async fn network_define_xml_flags(
        &self,
        xml: &str,
        flags: u32,
    ) -> Result<Network, ClientError> {
        let r: remote::NetworkRet = self
            .call(
                procs::NETWORK_DEFINE_XML_FLAGS,
                &remote::XmlFlagsArgs {
                    xml: xml.into(),
                    flags,
                },
            )
            .await?;
        Ok(r.net)
    }

    /// `virNetworkCreateXML`: starts a transient network.
    pub async fn network_create_xml(&self, xml: &str) -> Result<Network, ClientError> {
        let r: remote::NetworkRet = self
            .call(
                procs::NETWORK_CREATE_XML,
                &remote::XmlArgs { xml: xml.into() },
            )
            .await?;
        Ok(r.net)
    }

    /// `virNetworkCreate`: starts a defined network.
    pub async fn network_create(&self, net: &Network) -> Result<(), ClientError> {
        self.call(procs::NETWORK_CREATE, &net_args(net)).await
    }

    /// `virNetworkDestroy`.
    pub async fn network_destroy(&self, net: &Network) -> Result<(), ClientError> {
        self.call(procs::NETWORK_DESTROY, &net_args(net)).await
    }

    /// `virNetworkUndefine`.
    pub async fn network_undefine(&self, net: &Network) -> Result<(), ClientError> {
        self.call(procs::NETWORK_UNDEFINE, &net_args(net)).await
    }

    /// `virNetworkGetXMLDesc` (`flags`: [`NETWORK_XML_INACTIVE`]).
    pub async fn network_get_xml_desc(
        &self,
        net: &Network,
        flags: u32,
    ) -> Result<String, ClientError> {
        let r: remote::StringRet = self
            .call(
                procs::NETWORK_GET_XML_DESC,
                &remote::NetworkFlagsArgs {
                    net: net.clone(),
                    flags,
                },
            )
            .await?;
        Ok(r.value)
    }

    /// `virNetworkGetAutostart`.
    pub async fn network_get_autostart(&self, net: &Network) -> Result<bool, ClientError> {
        let r: remote::IntRet = self
            .call(procs::NETWORK_GET_AUTOSTART, &net_args(net))
            .await?;
        Ok(truth(r.value))
    }

    /// `virNetworkSetAutostart`.
    pub async fn network_set_autostart(
        &self,
        net: &Network,
        autostart: bool,
    ) -> Result<(), ClientError> {
        self.call(
            procs::NETWORK_SET_AUTOSTART,
            &remote::NetworkSetAutostartArgs {
                net: net.clone(),
                autostart: autostart.into(),
            },
        )
        .await
    }

    /// `virNetworkIsActive`.
    pub async fn network_is_active(&self, net: &Network) -> Result<bool, ClientError> {
        let r: remote::IntRet = self.call(procs::NETWORK_IS_ACTIVE, &net_args(net)).await?;
        Ok(truth(r.value))
    }

    /// `virNetworkIsPersistent`.
    pub async fn network_is_persistent(&self, net: &Network) -> Result<bool, ClientError> {
        let r: remote::IntRet = self
            .call(procs::NETWORK_IS_PERSISTENT, &net_args(net))
            .await?;
        Ok(truth(r.value))
    }

    /// `virNetworkGetBridgeName`.
    pub async fn network_get_bridge_name(&self, net: &Network) -> Result<String, ClientError> {
        let r: remote::StringRet = self
            .call(procs::NETWORK_GET_BRIDGE_NAME, &net_args(net))
            .await?;
        Ok(r.value)
    }
}
