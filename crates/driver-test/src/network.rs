//! Virtual networks of the test driver: libvirt's `default` NAT network, networks from a
//! `<node>` file, and the define/create/destroy/undefine life cycle with its events.
//!
//! Like libvirt's test driver, objects passed in by clients are resolved by *name*; elements the
//! network schema knows are kept and re-serialised in libvirt's order, unknown ones are dropped.

pub mod xmlutil;

use std::path::Path;

use oxvirt_virerror::ErrorDomain;

use crate::error::{DriverError, DriverResult};
use crate::event::{network_event, DriverEvent, EventSink};
use crate::refs::NetworkRef;
use xmlutil::{check_flags, fmt_uuid, pair_match, raw, Elem};

/// `virConnectListAllNetworksFlags`.
pub mod list_flags {
    pub const INACTIVE: u32 = 1;
    pub const ACTIVE: u32 = 2;
    pub const PERSISTENT: u32 = 4;
    pub const TRANSIENT: u32 = 8;
    pub const AUTOSTART: u32 = 16;
    pub const NO_AUTOSTART: u32 = 32;
}

/// `VIR_NETWORK_DEFINE_VALIDATE` / `VIR_NETWORK_CREATE_VALIDATE` (accepted, not checked).
pub const VALIDATE: u32 = 1;

const NET_DOMAIN: i32 = ErrorDomain::Network as i32;

/// libvirt's default network of `test:///default`.
pub const DEFAULT_NETWORK_XML: &str = "<network>
  <name>default</name>
  <uuid>dd8fe884-6c02-601e-7551-cca97df1c5df</uuid>
  <forward mode='nat'/>
  <bridge name='virbr0'/>
  <ip address='192.168.122.1' netmask='255.255.255.0'>
    <dhcp>
      <range start='192.168.122.2' end='192.168.122.254'/>
    </dhcp>
  </ip>
</network>
";

/// Child elements kept from a network definition, in libvirt's output order.
const KNOWN: &[&str] = &[
    "title",
    "description",
    "metadata",
    "forward",
    "bridge",
    "mtu",
    "mac",
    "domain",
    "dns",
    "bandwidth",
    "vlan",
    "port",
    "ip",
    "route",
    "virtualport",
    "portgroup",
];

/// One network definition.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NetworkDef {
    /// Network name.
    pub name: String,
    /// Network UUID.
    pub uuid: [u8; 16],
    /// Known child elements other than name/uuid, sorted into libvirt's order.
    pub elems: Vec<Elem>,
}

impl NetworkDef {
    /// Parse a `<network>` document.
    pub fn parse(xml: &str) -> DriverResult<Self> {
        let doc = xmlutil::parse(xml, "network_definition", NET_DOMAIN)?;
        let root = doc.root_element();
        xmlutil::check_root(&root, "network")?;
        let name = match xmlutil::child_text(&root, "name") {
            Some(n) if !n.is_empty() => n,
            _ => return Err(raw(21, NET_DOMAIN, "missing name information")),
        };
        if name.contains('/') {
            return Err(xmlutil::xml_error(
                NET_DOMAIN,
                format!("name {name} cannot contain '/'"),
            ));
        }
        let uuid = match xmlutil::child_text(&root, "uuid") {
            Some(u) => xmlutil::parse_uuid(&u).ok_or_else(|| {
                xmlutil::xml_error(
                    NET_DOMAIN,
                    format!("malformed uuid element for network '{name}'"),
                )
            })?,
            None => xmlutil::new_uuid(),
        };
        let mut elems: Vec<Elem> = root
            .children()
            .filter(|c| c.is_element() && KNOWN.contains(&c.tag_name().name()))
            .map(|c| Elem::from_node(&c))
            .collect();
        elems.sort_by_key(rank);
        let mut def = NetworkDef { name, uuid, elems };
        def.apply_bridge_defaults();
        Ok(def)
    }

    /// The forward mode (`None` for an isolated network).
    pub fn forward_mode(&self) -> Option<&str> {
        self.elems
            .iter()
            .find(|e| e.name == "forward")
            .map(|f| f.attr("mode").unwrap_or("nat"))
    }

    /// The bridge device name, if any.
    pub fn bridge(&self) -> Option<&str> {
        self.elems
            .iter()
            .find(|e| e.name == "bridge")
            .and_then(|b| b.attr("name"))
    }

    /// Networks libvirt puts on its own bridge get `stp='on' delay='0'` unless told otherwise.
    fn apply_bridge_defaults(&mut self) {
        if !matches!(
            self.forward_mode(),
            None | Some("nat") | Some("route") | Some("open")
        ) {
            return;
        }
        if !self.elems.iter().any(|e| e.name == "bridge") {
            let b = Elem {
                name: "bridge".into(),
                attrs: vec![],
                text: String::new(),
                children: vec![],
            };
            self.elems.push(b);
            self.elems.sort_by_key(rank);
        }
        let b = self
            .elems
            .iter_mut()
            .find(|e| e.name == "bridge")
            .expect("bridge present");
        let stp = b.attr("stp").unwrap_or("on").to_string();
        let delay = b.attr("delay").unwrap_or("0").to_string();
        b.attrs.retain(|(k, _)| k != "stp" && k != "delay");
        b.attrs.push(("stp".into(), stp));
        b.attrs.push(("delay".into(), delay));
    }

    /// libvirt's XML for this definition.
    pub fn to_xml(&self) -> String {
        let mut s = String::from("<network>\n");
        s.push_str(&format!("  <name>{}</name>\n", xmlutil::escape(&self.name)));
        s.push_str(&format!("  <uuid>{}</uuid>\n", fmt_uuid(&self.uuid)));
        for e in &self.elems {
            e.format(2, &mut s);
        }
        s.push_str("</network>\n");
        s
    }

    fn to_ref(&self) -> NetworkRef {
        NetworkRef {
            name: self.name.clone(),
            uuid: self.uuid,
        }
    }
}

fn rank(e: &Elem) -> usize {
    KNOWN
        .iter()
        .position(|k| *k == e.name)
        .unwrap_or(usize::MAX)
}

#[derive(Debug, Clone)]
struct NetObj {
    def: NetworkDef,
    /// Persistent definition waiting for the next start (define of a running network).
    new_def: Option<NetworkDef>,
    active: bool,
    persistent: bool,
    autostart: bool,
}

/// All networks of one test connection state.
#[derive(Debug, Clone, Default)]
pub struct NetworkList {
    nets: Vec<NetObj>,
}

fn not_found_name(name: &str) -> DriverError {
    DriverError::NoNetwork(format!("no network with matching name '{name}'"))
}

fn invalid(detail: String) -> DriverError {
    DriverError::OperationInvalid(ErrorDomain::Test, detail)
}

impl NetworkList {
    /// An empty list.
    pub fn new() -> Self {
        Self::default()
    }

    /// `test:///default`'s networks: `default`, active and persistent.
    pub fn defaults() -> Self {
        let def = NetworkDef::parse(DEFAULT_NETWORK_XML).expect("built-in network XML");
        let obj = NetObj {
            def,
            new_def: None,
            active: true,
            persistent: true,
            autostart: false,
        };
        NetworkList { nets: vec![obj] }
    }

    /// The `<network>` children of a test `<node>` element (inline or `file='...'`), each active
    /// and persistent.
    pub fn from_node(node: &roxmltree::Node, base_dir: &Path) -> DriverResult<Self> {
        let mut list = NetworkList::new();
        for n in node
            .children()
            .filter(|c| c.is_element() && c.has_tag_name("network"))
        {
            let text = match xmlutil::external_or_inline(&n, base_dir, "network")? {
                Some(t) => t,
                None => xmlutil::node_text(&n),
            };
            let def = NetworkDef::parse(&text)?;
            list.check_dup(&def)?;
            list.nets.push(NetObj {
                def,
                new_def: None,
                active: true,
                persistent: true,
                autostart: false,
            });
        }
        Ok(list)
    }

    fn find(&self, name: &str) -> DriverResult<&NetObj> {
        self.nets
            .iter()
            .find(|n| n.def.name == name)
            .ok_or_else(|| not_found_name(name))
    }

    fn find_mut(&mut self, name: &str) -> DriverResult<&mut NetObj> {
        self.nets
            .iter_mut()
            .find(|n| n.def.name == name)
            .ok_or_else(|| not_found_name(name))
    }

    /// Look a network up by name.
    pub fn lookup_by_name(&self, name: &str) -> DriverResult<NetworkRef> {
        Ok(self.find(name)?.def.to_ref())
    }

    /// Look a network up by UUID.
    pub fn lookup_by_uuid(&self, uuid: &[u8; 16]) -> DriverResult<NetworkRef> {
        self.nets
            .iter()
            .find(|n| &n.def.uuid == uuid)
            .map(|n| n.def.to_ref())
            .ok_or_else(|| {
                DriverError::NoNetwork(format!(
                    "no network with matching uuid '{}'",
                    fmt_uuid(uuid)
                ))
            })
    }

    /// `virConnectListAllNetworks` with libvirt's filter flags.
    pub fn list_all(&self, flags: u32) -> DriverResult<Vec<NetworkRef>> {
        use list_flags::*;
        check_flags(flags, 0x3f, "testConnectListAllNetworks")?;
        Ok(self
            .nets
            .iter()
            .filter(|n| {
                pair_match(flags, ACTIVE, INACTIVE, n.active)
                    && pair_match(flags, PERSISTENT, TRANSIENT, n.persistent)
                    && pair_match(flags, AUTOSTART, NO_AUTOSTART, n.autostart)
            })
            .map(|n| n.def.to_ref())
            .collect())
    }

    /// Number of active networks.
    pub fn num_of_active(&self) -> usize {
        self.nets.iter().filter(|n| n.active).count()
    }

    /// Names of active networks, at most `max`.
    pub fn list_active(&self, max: usize) -> Vec<String> {
        crate::objlist::names(self.nets.iter(), max, |x| x.active, |x| &x.def.name)
    }

    /// Number of inactive (defined) networks.
    pub fn num_of_defined(&self) -> usize {
        self.nets.iter().filter(|n| !n.active).count()
    }

    /// Names of inactive networks, at most `max`.
    pub fn list_defined(&self, max: usize) -> Vec<String> {
        crate::objlist::names(self.nets.iter(), max, |x| !x.active, |x| &x.def.name)
    }

    /// libvirt's duplicate checks: same name with another UUID, or same UUID with another name.
    fn check_dup(&self, def: &NetworkDef) -> DriverResult<Option<usize>> {
        if let Some(i) = self.nets.iter().position(|n| n.def.uuid == def.uuid) {
            let o = &self.nets[i].def;
            if o.name != def.name {
                return Err(DriverError::OperationFailed(
                    ErrorDomain::Network,
                    format!(
                        "network '{}' is already defined with uuid {}",
                        o.name,
                        fmt_uuid(&o.uuid)
                    ),
                ));
            }
            return Ok(Some(i));
        }
        if let Some(o) = self.nets.iter().find(|n| n.def.name == def.name) {
            return Err(DriverError::OperationFailed(
                ErrorDomain::Network,
                format!(
                    "network '{}' already exists with uuid {}",
                    o.def.name,
                    fmt_uuid(&o.def.uuid)
                ),
            ));
        }
        Ok(None)
    }

    fn emit(events: &EventSink, net: NetworkRef, event: i32) {
        events.emit(DriverEvent::NetworkLifecycle {
            net,
            event,
            detail: 0,
        });
    }

    /// Define (or redefine) a persistent network; raises DEFINED.
    pub fn define_xml(
        &mut self,
        xml: &str,
        flags: u32,
        events: &EventSink,
    ) -> DriverResult<NetworkRef> {
        check_flags(flags, VALIDATE, "testNetworkDefineXMLFlags")?;
        let def = NetworkDef::parse(xml)?;
        let r = def.to_ref();
        match self.check_dup(&def)? {
            Some(i) => {
                let o = &mut self.nets[i];
                o.persistent = true;
                if o.active {
                    o.new_def = Some(def);
                } else {
                    o.def = def;
                }
            }
            None => self.nets.push(NetObj {
                def,
                new_def: None,
                active: false,
                persistent: true,
                autostart: false,
            }),
        }
        Self::emit(events, r.clone(), network_event::DEFINED);
        Ok(r)
    }

    /// Create and start a transient network; raises STARTED.
    pub fn create_xml(
        &mut self,
        xml: &str,
        flags: u32,
        events: &EventSink,
    ) -> DriverResult<NetworkRef> {
        check_flags(flags, VALIDATE, "testNetworkCreateXMLFlags")?;
        let def = NetworkDef::parse(xml)?;
        let r = def.to_ref();
        match self.check_dup(&def)? {
            Some(i) => {
                let o = &mut self.nets[i];
                if o.active {
                    return Err(invalid(format!(
                        "network '{}' is already active",
                        o.def.name
                    )));
                }
                o.new_def = Some(std::mem::replace(&mut o.def, def));
                o.active = true;
            }
            None => self.nets.push(NetObj {
                def,
                new_def: None,
                active: true,
                persistent: false,
                autostart: false,
            }),
        }
        Self::emit(events, r.clone(), network_event::STARTED);
        Ok(r)
    }

    /// Start an inactive network; raises STARTED.
    pub fn create(&mut self, name: &str, events: &EventSink) -> DriverResult<()> {
        let o = self.find_mut(name)?;
        if o.active {
            return Err(invalid(format!("Network '{name}' is already running")));
        }
        o.active = true;
        let r = o.def.to_ref();
        Self::emit(events, r, network_event::STARTED);
        Ok(())
    }

    /// Stop a network (the test driver accepts an inactive one too); a transient network
    /// vanishes. Raises STOPPED.
    pub fn destroy(&mut self, name: &str, events: &EventSink) -> DriverResult<()> {
        let o = self.find_mut(name)?;
        o.active = false;
        if let Some(nd) = o.new_def.take() {
            o.def = nd;
        }
        let r = o.def.to_ref();
        if !o.persistent {
            self.nets.retain(|n| n.def.name != name);
        }
        Self::emit(events, r, network_event::STOPPED);
        Ok(())
    }

    /// Remove an inactive network's definition; raises UNDEFINED.
    pub fn undefine(&mut self, name: &str, events: &EventSink) -> DriverResult<()> {
        let o = self.find(name)?;
        if o.active {
            return Err(invalid(format!("Network '{name}' is still running")));
        }
        let r = o.def.to_ref();
        self.nets.retain(|n| n.def.name != name);
        Self::emit(events, r, network_event::UNDEFINED);
        Ok(())
    }

    /// The live XML (the test driver accepts no flags, not even INACTIVE).
    pub fn get_xml_desc(&self, name: &str, flags: u32) -> DriverResult<String> {
        check_flags(flags, 0, "testNetworkGetXMLDesc")?;
        Ok(self.find(name)?.def.to_xml())
    }

    /// The bridge device name.
    pub fn bridge_name(&self, name: &str) -> DriverResult<String> {
        let o = self.find(name)?;
        o.def.bridge().map(str::to_string).ok_or_else(|| {
            DriverError::Internal(
                ErrorDomain::Test,
                format!("network '{name}' does not have a bridge name."),
            )
        })
    }

    /// Autostart flag.
    pub fn get_autostart(&self, name: &str) -> DriverResult<bool> {
        Ok(self.find(name)?.autostart)
    }

    /// Set the autostart flag (no event).
    pub fn set_autostart(&mut self, name: &str, autostart: bool) -> DriverResult<()> {
        self.find_mut(name)?.autostart = autostart;
        Ok(())
    }

    /// Whether the network is running.
    pub fn is_active(&self, name: &str) -> DriverResult<bool> {
        Ok(self.find(name)?.active)
    }

    /// Whether the network has a persistent definition.
    pub fn is_persistent(&self, name: &str) -> DriverResult<bool> {
        Ok(self.find(name)?.persistent)
    }
}

#[cfg(test)]
mod tests;
