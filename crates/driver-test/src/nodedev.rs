//! Host node devices of the test driver: libvirt's `computer` and its three fibre-channel SCSI
//! hosts, devices from a `<node>` file, capability queries and the test driver's vHBA
//! create/destroy emulation.
//!
//! Capabilities are kept verbatim (libvirt's formatter prints them in the order its schema
//! gives, which is the order the built-in and usual input XML use).

use std::path::Path;

use oxvirt_virerror::ErrorDomain;

use crate::error::{DriverError, DriverResult};
use crate::network::xmlutil::{self, check_flags, child_text, escape, Elem};
use crate::refs::NodeDeviceRef;

/// Capability names in `virConnectListAllNodeDeviceFlags` bit order (SYSTEM = 1 << 0).
pub const CAP_FLAG_NAMES: &[&str] = &[
    "system",
    "pci",
    "usb_device",
    "usb",
    "net",
    "scsi_host",
    "scsi_target",
    "scsi",
    "storage",
    "fc_host",
    "vports",
    "scsi_generic",
    "drm",
    "mdev_types",
    "mdev",
    "ccw",
    "css",
    "vdpa",
    "ap_card",
    "ap_queue",
    "ap_matrix",
    "vpd",
];

const NODEDEV: i32 = ErrorDomain::Nodedev as i32;

/// libvirt's default devices of `test:///default`, in the order the reference lists them.
pub const DEFAULT_DEVICES_XML: &[&str] = &[
    "<device><name>scsi_host1</name><parent>computer</parent><capability type='scsi_host'><host>1</host><unique_id>0</unique_id><capability type='fc_host'><wwnn>2000000012341234</wwnn><wwpn>1000000012341234</wwpn><fabric_wwn>2000000043214321</fabric_wwn></capability><capability type='vport_ops'><max_vports>0</max_vports><vports>0</vports></capability></capability></device>",
    "<device><name>scsi_host11</name><parent>scsi_host1</parent><capability type='scsi_host'><host>11</host><unique_id>10</unique_id><capability type='fc_host'><wwnn>2000000034563456</wwnn><wwpn>1000000034563456</wwpn><fabric_wwn>2000000043214321</fabric_wwn></capability></capability></device>",
    "<device><name>scsi_host2</name><parent>computer</parent><capability type='scsi_host'><host>2</host><unique_id>1</unique_id><capability type='fc_host'><wwnn>2000000056785678</wwnn><wwpn>1000000056785678</wwpn><fabric_wwn>2000000087658765</fabric_wwn></capability><capability type='vport_ops'><max_vports>0</max_vports><vports>0</vports></capability></capability></device>",
    "<device><name>computer</name><capability type='system'><hardware><vendor>Libvirt</vendor><version>Test driver</version><serial>123456</serial><uuid>11111111-2222-3333-4444-555555555555</uuid></hardware><firmware><vendor>Libvirt</vendor><version>Test Driver</version><release_date>01/22/2007</release_date></firmware></capability></device>",
];

/// The template device the test driver copies for a new vHBA, and the name it gives it.
const VHBA_TEMPLATE: &str = "scsi_host11";
const VHBA_NAME: &str = "scsi_host12";

/// One node device.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NodeDevice {
    /// Device name.
    pub name: String,
    /// Parent device name.
    pub parent: Option<String>,
    /// Other elements between name/parent and the capabilities (`path`, `driver`...).
    pub extra: Vec<Elem>,
    /// `<capability>` elements, verbatim.
    pub caps: Vec<Elem>,
}

impl NodeDevice {
    /// Parse a `<device>` document.
    pub fn parse(xml: &str) -> DriverResult<Self> {
        let doc = xmlutil::parse(xml, "device_definition", NODEDEV)?;
        let root = doc.root_element();
        xmlutil::check_root(&root, "device")?;
        Ok(Self::from_node(&root))
    }

    fn from_node(n: &roxmltree::Node) -> Self {
        let elems = n.children().filter(|c| c.is_element());
        NodeDevice {
            name: child_text(n, "name").unwrap_or_else(|| "new device".to_string()),
            parent: child_text(n, "parent"),
            extra: elems
                .clone()
                .filter(|c| !["name", "parent", "capability"].contains(&c.tag_name().name()))
                .map(|c| Elem::from_node(&c))
                .collect(),
            caps: elems
                .filter(|c| c.has_tag_name("capability"))
                .map(|c| Elem::from_node(&c))
                .collect(),
        }
    }

    /// libvirt's XML for the device.
    pub fn to_xml(&self) -> String {
        let mut s = format!("<device>\n  <name>{}</name>\n", escape(&self.name));
        if let Some(p) = &self.parent {
            s.push_str(&format!("  <parent>{}</parent>\n", escape(p)));
        }
        for e in self.extra.iter().chain(&self.caps) {
            e.format(2, &mut s);
        }
        s.push_str("</device>\n");
        s
    }

    /// Top-level capability names.
    pub fn cap_names(&self) -> Vec<String> {
        self.caps
            .iter()
            .filter_map(|c| c.attr("type").map(str::to_string))
            .collect()
    }

    /// Whether the device has capability `cap`, counting nested ones (`fc_host`, `vports`
    /// for `vport_ops`, `mdev_types`...).
    pub fn has_cap(&self, cap: &str) -> bool {
        let want = if cap == "vports" { "vport_ops" } else { cap };
        self.caps.iter().any(|c| {
            c.attr("type") == Some(cap)
                || c.children
                    .iter()
                    .any(|n| n.name == "capability" && n.attr("type") == Some(want))
        })
    }

    fn to_ref(&self) -> NodeDeviceRef {
        NodeDeviceRef {
            name: self.name.clone(),
        }
    }
}

/// All node devices of one test connection state.
#[derive(Debug, Clone, Default)]
pub struct NodeDeviceList {
    devs: Vec<NodeDevice>,
}

fn internal(msg: String) -> DriverError {
    DriverError::Internal(ErrorDomain::Nodedev, msg)
}

impl NodeDeviceList {
    /// An empty list.
    pub fn new() -> Self {
        Self::default()
    }

    /// `test:///default`'s devices.
    pub fn defaults() -> Self {
        let devs = DEFAULT_DEVICES_XML
            .iter()
            .map(|x| NodeDevice::parse(x).expect("built-in device XML"))
            .collect();
        NodeDeviceList { devs }
    }

    /// The `<device>` children of a test `<node>` element (inline or `file='...'`).
    pub fn from_node(node: &roxmltree::Node, base_dir: &Path) -> DriverResult<Self> {
        let mut list = NodeDeviceList::new();
        for n in node
            .children()
            .filter(|c| c.is_element() && c.has_tag_name("device"))
        {
            let dev = match xmlutil::external_or_inline(&n, base_dir, "device")? {
                Some(t) => NodeDevice::parse(&t)?,
                None => NodeDevice::from_node(&n),
            };
            list.devs.retain(|d| d.name != dev.name);
            list.devs.push(dev);
        }
        Ok(list)
    }

    fn find(&self, name: &str) -> DriverResult<&NodeDevice> {
        self.devs.iter().find(|d| d.name == name).ok_or_else(|| {
            DriverError::NoNodeDevice(format!("no node device with matching name '{name}'"))
        })
    }

    /// Look a device up by name.
    pub fn lookup_by_name(&self, name: &str) -> DriverResult<NodeDeviceRef> {
        Ok(self.find(name)?.to_ref())
    }

    /// `virConnectListAllNodeDevices`: capability filter bits only (the test driver refuses
    /// ACTIVE/INACTIVE, which is why `virsh nodedev-list` fails against it).
    pub fn list_all(&self, flags: u32) -> DriverResult<Vec<NodeDeviceRef>> {
        check_flags(flags, 0x3f_ffff, "testConnectListAllNodeDevices")?;
        Ok(self
            .devs
            .iter()
            .filter(|d| {
                flags == 0
                    || CAP_FLAG_NAMES
                        .iter()
                        .enumerate()
                        .any(|(i, c)| flags & (1 << i) != 0 && d.has_cap(c))
            })
            .map(NodeDevice::to_ref)
            .collect())
    }

    /// `virNodeNumOfDevices`: devices with capability `cap` (all when `None`).
    pub fn num_of_devices(&self, cap: Option<&str>, flags: u32) -> DriverResult<usize> {
        check_flags(flags, 0, "testNodeNumOfDevices")?;
        Ok(self
            .devs
            .iter()
            .filter(|d| cap.is_none_or(|c| d.has_cap(c)))
            .count())
    }

    /// `virNodeListDevices`: names of devices with capability `cap`, at most `max`.
    pub fn list_devices(
        &self,
        cap: Option<&str>,
        max: usize,
        flags: u32,
    ) -> DriverResult<Vec<String>> {
        check_flags(flags, 0, "testNodeListDevices")?;
        Ok(self
            .devs
            .iter()
            .filter(|d| cap.is_none_or(|c| d.has_cap(c)))
            .take(max)
            .map(|d| d.name.clone())
            .collect())
    }

    /// The device's XML (no flags).
    pub fn get_xml_desc(&self, name: &str, flags: u32) -> DriverResult<String> {
        check_flags(flags, 0, "testNodeDeviceGetXMLDesc")?;
        Ok(self.find(name)?.to_xml())
    }

    /// The parent device name, if any.
    pub fn parent(&self, name: &str) -> DriverResult<Option<String>> {
        Ok(self.find(name)?.parent.clone())
    }

    /// Number of top-level capabilities.
    pub fn num_of_caps(&self, name: &str) -> DriverResult<usize> {
        Ok(self.find(name)?.cap_names().len())
    }

    /// Top-level capability names, at most `max`.
    pub fn list_caps(&self, name: &str, max: usize) -> DriverResult<Vec<String>> {
        Ok(self.find(name)?.cap_names().into_iter().take(max).collect())
    }

    /// The test driver's vHBA creation: the new device is a copy of `scsi_host11` named
    /// `scsi_host12` with the requested WWNN/WWPN (replacing an earlier `scsi_host12`).
    pub fn create_xml(&mut self, xml: &str, flags: u32) -> DriverResult<NodeDeviceRef> {
        check_flags(flags, 0, "testNodeDeviceCreateXML")?;
        let req = NodeDevice::parse(xml)?;
        let name = "new device";
        let Some(cap) = req.caps.first() else {
            return Err(internal(format!("no device capabilities for '{name}'")));
        };
        let fc = cap
            .children
            .iter()
            .find(|c| c.name == "capability" && c.attr("type") == Some("fc_host"));
        let wwn =
            fc.and_then(|f| Some((f.child("wwnn")?.text.clone(), f.child("wwpn")?.text.clone())));
        let (Some("scsi_host"), Some((wwnn, wwpn))) = (cap.attr("type"), wwn) else {
            return Err(internal(format!(
                "Device is not a fibre channel HBA for '{name}'"
            )));
        };
        if let Some(p) = &req.parent {
            let pd =
                self.devs.iter().find(|d| &d.name == p).ok_or_else(|| {
                    internal(format!("Could not find parent device for '{name}'"))
                })?;
            if !pd.has_cap("vports") {
                return Err(internal(format!(
                    "Parent device {p} is not capable of vport operations"
                )));
            }
        }
        let mut dev = self
            .find(VHBA_TEMPLATE)
            .map_err(|_| internal(format!("Could not find parent device for '{name}'")))?
            .clone();
        dev.name = VHBA_NAME.to_string();
        for c in dev.caps.iter_mut().flat_map(|c| c.children.iter_mut()) {
            if c.name == "capability" && c.attr("type") == Some("fc_host") {
                if let Some(e) = c.child_mut("wwnn") {
                    e.text = wwnn.clone();
                }
                if let Some(e) = c.child_mut("wwpn") {
                    e.text = wwpn.clone();
                }
            }
        }
        let r = dev.to_ref();
        match self.devs.iter().position(|d| d.name == dev.name) {
            Some(i) => self.devs[i] = dev,
            None => {
                let at = self.devs.len().saturating_sub(1);
                self.devs.insert(at, dev);
            }
        }
        Ok(r)
    }

    /// Destroy a device: fibre-channel hosts are removed, anything else is left alone (both
    /// succeed, as on the reference).
    pub fn destroy(&mut self, name: &str) -> DriverResult<()> {
        if self.find(name)?.has_cap("fc_host") {
            self.devs.retain(|d| d.name != name);
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests;
