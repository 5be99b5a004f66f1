//! Host (node) devices: list, lookup, XML, parent and capabilities.
//!
//! ```no_run
//! # async fn demo() -> Result<(), oxvirt_client::ClientError> {
//! let conn = oxvirt_client::Connection::open(Some("test:///default"), true).await?;
//! for dev in conn.list_all_node_devices(0).await? {
//!     let parent = conn.node_device_get_parent(&dev.name).await?;
//!     let caps = conn.node_device_list_caps(&dev.name).await?;
//!     println!("{} (parent {parent:?}): {caps:?}", dev.name);
//! }
//! # Ok(()) }
//! ```

use super::{list_all_args, max_names};
use crate::connection::Connection;
use crate::error::ClientError;
use oxvirt_proto::remote::{self, limits, procs, NodeDevice};

/// `VIR_CONNECT_LIST_NODE_DEVICES_CAP_SYSTEM`.
pub const CONNECT_LIST_NODE_DEVICES_CAP_SYSTEM: u32 = 1 << 0;
/// `VIR_CONNECT_LIST_NODE_DEVICES_CAP_PCI_DEV`.
pub const CONNECT_LIST_NODE_DEVICES_CAP_PCI_DEV: u32 = 1 << 1;
/// `VIR_CONNECT_LIST_NODE_DEVICES_CAP_USB_DEV`.
pub const CONNECT_LIST_NODE_DEVICES_CAP_USB_DEV: u32 = 1 << 2;
/// `VIR_CONNECT_LIST_NODE_DEVICES_CAP_USB_INTERFACE`.
pub const CONNECT_LIST_NODE_DEVICES_CAP_USB_INTERFACE: u32 = 1 << 3;
/// `VIR_CONNECT_LIST_NODE_DEVICES_CAP_NET`.
pub const CONNECT_LIST_NODE_DEVICES_CAP_NET: u32 = 1 << 4;
/// `VIR_CONNECT_LIST_NODE_DEVICES_CAP_SCSI_HOST`.
pub const CONNECT_LIST_NODE_DEVICES_CAP_SCSI_HOST: u32 = 1 << 5;
/// `VIR_CONNECT_LIST_NODE_DEVICES_CAP_SCSI_TARGET`.
pub const CONNECT_LIST_NODE_DEVICES_CAP_SCSI_TARGET: u32 = 1 << 6;
/// `VIR_CONNECT_LIST_NODE_DEVICES_CAP_SCSI`.
pub const CONNECT_LIST_NODE_DEVICES_CAP_SCSI: u32 = 1 << 7;
/// `VIR_CONNECT_LIST_NODE_DEVICES_CAP_STORAGE`.
pub const CONNECT_LIST_NODE_DEVICES_CAP_STORAGE: u32 = 1 << 8;
/// `VIR_CONNECT_LIST_NODE_DEVICES_INACTIVE`.
pub const CONNECT_LIST_NODE_DEVICES_INACTIVE: u32 = 1 << 30;
/// `VIR_CONNECT_LIST_NODE_DEVICES_ACTIVE`.
pub const CONNECT_LIST_NODE_DEVICES_ACTIVE: u32 = 1 << 31;

impl Connection {
    /// `virConnectListAllNodeDevices` (`flags`: `CONNECT_LIST_NODE_DEVICES_*`).
    pub async fn list_all_node_devices(&self, flags: u32) -> Result<Vec<NodeDevice>, ClientError> {
        let r: remote::ListAllNodeDevicesRet = self
            .call(procs::CONNECT_LIST_ALL_NODE_DEVICES, &list_all_args(flags))
            .await?;
        Ok(r.devices)
    }

    /// `virNodeNumOfDevices`: devices with capability `cap` (`None`: all).
    pub async fn node_num_of_devices(
        &self,
        cap: Option<&str>,
        flags: u32,
    ) -> Result<i32, ClientError> {
        let r: remote::IntRet = self
            .call(
                procs::NODE_NUM_OF_DEVICES,
                &remote::NodeNumOfDevicesArgs {
                    cap: cap.map(Into::into),
                    flags,
                },
            )
            .await?;
        Ok(r.value)
    }

    /// `virNodeListDevices`: names of the devices with capability `cap` (`None`: all).
    pub async fn node_list_devices(
        &self,
        cap: Option<&str>,
        flags: u32,
    ) -> Result<Vec<String>, ClientError> {
        let r: remote::NamesRet = self
            .call(
                procs::NODE_LIST_DEVICES,
                &remote::NodeListDevicesArgs {
                    cap: cap.map(Into::into),
                    maxnames: max_names(limits::NODE_DEVICE_LIST_MAX),
                    flags,
                },
            )
            .await?;
        Ok(r.names)
    }

    /// `virNodeDeviceLookupByName`.
    pub async fn lookup_node_device_by_name(&self, name: &str) -> Result<NodeDevice, ClientError> {
        let r: remote::NodeDeviceRet = self
            .call(
                procs::NODE_DEVICE_LOOKUP_BY_NAME,
                &remote::LookupByNameArgs { name: name.into() },
            )
            .await?;
        Ok(r.dev)
    }

    /// `virNodeDeviceGetXMLDesc` of the device named `name`.
    pub async fn node_device_get_xml_desc(
        &self,
        name: &str,
        flags: u32,
    ) -> Result<String, ClientError> {
        let r: remote::StringRet = self
            .call(
                procs::NODE_DEVICE_GET_XML_DESC,
                &remote::NodeDeviceNameFlagsArgs {
                    name: name.into(),
                    flags,
                },
            )
            .await?;
        Ok(r.value)
    }

    /// `virNodeDeviceGetParent`: the parent's name (`None` for the root device).
    pub async fn node_device_get_parent(&self, name: &str) -> Result<Option<String>, ClientError> {
        let r: remote::OptStringRet = self
            .call(
                procs::NODE_DEVICE_GET_PARENT,
                &remote::NodeDeviceNameArgs { name: name.into() },
            )
            .await?;
        Ok(r.value)
    }

    /// `virNodeDeviceNumOfCaps`.
    pub async fn node_device_num_of_caps(&self, name: &str) -> Result<i32, ClientError> {
        let r: remote::IntRet = self
            .call(
                procs::NODE_DEVICE_NUM_OF_CAPS,
                &remote::NodeDeviceNameArgs { name: name.into() },
            )
            .await?;
        Ok(r.value)
    }

    /// `virNodeDeviceListCaps`: the capability names (`system`, `pci`, `net`, ...).
    pub async fn node_device_list_caps(&self, name: &str) -> Result<Vec<String>, ClientError> {
        let r: remote::NamesRet = self
            .call(
                procs::NODE_DEVICE_LIST_CAPS,
                &remote::NodeDeviceListCapsArgs {
                    name: name.into(),
                    maxnames: max_names(limits::NODE_DEVICE_CAPS_LIST_MAX),
                },
            )
            .await?;
        Ok(r.names)
    }
}
