//! Host interfaces of the test driver: libvirt's `eth1`, interfaces from a `<node>` file,
//! define/undefine/create/destroy and the change transaction (begin/commit/rollback).
//!
//! Definitions are parsed into start mode, MTU, protocols, link, MAC and the bridge/bond/vlan
//! body, then formatted back in the order libvirt 9.0 prints them (observed on the reference).

use std::path::Path;

use oxvirt_virerror::{ErrorCode, ErrorDomain, VirError};

use crate::error::{DriverError, DriverResult};
use crate::network::xmlutil::{self, check_flags, escape, raw, Elem, FROM_XML};
use crate::refs::InterfaceRef;

/// `virConnectListAllInterfacesFlags`.
pub mod list_flags {
    pub const INACTIVE: u32 = 1;
    pub const ACTIVE: u32 = 2;
}

const IFACE: i32 = ErrorDomain::Interface as i32;

/// libvirt's default interface of `test:///default`.
pub const DEFAULT_INTERFACE_XML: &str = "<interface type='ethernet' name='eth1'>
  <start mode='onboot'/>
  <mtu size='1492'/>
  <protocol family='ipv4'>
    <ip address='192.168.0.5' prefix='24'/>
    <route gateway='192.168.0.1'/>
  </protocol>
  <mac address='aa:bb:cc:dd:ee:ff'/>
</interface>
";

/// One interface definition (also used for bridge/bond members).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InterfaceDef {
    /// `ethernet`, `bridge`, `bond` or `vlan`.
    pub if_type: String,
    /// Interface name.
    pub name: String,
    /// `<start mode=...>`.
    pub start: Option<String>,
    /// `<mtu size=...>`.
    pub mtu: Option<String>,
    /// `<protocol>` elements, verbatim.
    pub protocols: Vec<Elem>,
    /// `<link>` (ethernet only), verbatim.
    pub link: Option<Elem>,
    /// MAC address (ethernet only).
    pub mac: Option<String>,
    /// Body element of a bridge/bond (`<bridge>`/`<bond>` without member interfaces) or vlan.
    pub body: Option<Elem>,
    /// Bridge/bond members.
    pub members: Vec<InterfaceDef>,
}

impl InterfaceDef {
    /// Parse an `<interface>` document.
    pub fn parse(xml: &str) -> DriverResult<Self> {
        let doc = xmlutil::parse(xml, "interface_definition", IFACE)?;
        let root = doc.root_element();
        xmlutil::check_root(&root, "interface")?;
        Self::from_node(&root)
    }

    fn from_node(n: &roxmltree::Node) -> DriverResult<Self> {
        let Some(if_type) = n.attribute("type") else {
            return Err(xmlutil::xml_error(
                FROM_XML,
                "Missing required attribute 'type' in element 'interface'",
            ));
        };
        let Some(name) = n.attribute("name").filter(|s| !s.is_empty()) else {
            return Err(xmlutil::xml_error(IFACE, "interface has no name"));
        };
        let el = |t: &str| n.children().find(|c| c.is_element() && c.has_tag_name(t));
        let attr = |t: &str, a: &str| el(t).and_then(|e| e.attribute(a).map(str::to_string));
        let ethernet = if_type == "ethernet";
        let mut def = InterfaceDef {
            if_type: if_type.to_string(),
            name: name.to_string(),
            start: attr("start", "mode"),
            mtu: attr("mtu", "size"),
            protocols: n
                .children()
                .filter(|c| c.is_element() && c.has_tag_name("protocol"))
                .map(|c| Elem::from_node(&c))
                .collect(),
            link: if ethernet {
                el("link").map(|e| Elem::from_node(&e))
            } else {
                None
            },
            mac: if ethernet {
                attr("mac", "address")
            } else {
                None
            },
            body: None,
            members: vec![],
        };
        if let Some(b) = el(if_type).filter(|_| matches!(if_type, "bridge" | "bond" | "vlan")) {
            let mut body = Elem::from_node(&b);
            if if_type != "vlan" {
                body.children.retain(|c| c.name != "interface");
                for m in b
                    .children()
                    .filter(|c| c.is_element() && c.has_tag_name("interface"))
                {
                    def.members.push(InterfaceDef::from_node(&m)?);
                }
            }
            def.body = Some(body);
        }
        Ok(def)
    }

    /// libvirt's XML for this interface.
    pub fn to_xml(&self) -> String {
        let mut s = String::new();
        self.format(0, true, &mut s);
        s
    }

    fn format(&self, indent: usize, top: bool, out: &mut String) {
        let pad = " ".repeat(indent);
        out.push_str(&format!(
            "{pad}<interface type='{}' name='{}'>\n",
            escape(&self.if_type),
            escape(&self.name)
        ));
        if top {
            if let Some(m) = &self.start {
                out.push_str(&format!("{pad}  <start mode='{}'/>\n", escape(m)));
            }
        }
        if let Some(m) = &self.mtu {
            out.push_str(&format!("{pad}  <mtu size='{}'/>\n", escape(m)));
        }
        if top {
            for p in &self.protocols {
                p.format(indent + 2, out);
            }
        }
        if let Some(l) = &self.link {
            l.format(indent + 2, out);
        }
        if let Some(m) = &self.mac {
            out.push_str(&format!("{pad}  <mac address='{}'/>\n", escape(m)));
        }
        if let Some(b) = &self.body {
            if self.if_type == "vlan" {
                b.format(indent + 2, out);
            } else {
                out.push_str(&format!("{pad}  <{}", b.name));
                for (k, v) in &b.attrs {
                    out.push_str(&format!(" {k}='{}'", escape(v)));
                }
                out.push_str(">\n");
                for c in &b.children {
                    c.format(indent + 4, out);
                }
                for m in &self.members {
                    m.format(indent + 4, false, out);
                }
                out.push_str(&format!("{pad}  </{}>\n", b.name));
            }
        }
        out.push_str(&format!("{pad}</interface>\n"));
    }

    fn to_ref(&self) -> InterfaceRef {
        InterfaceRef {
            name: self.name.clone(),
            mac: self.mac.clone().unwrap_or_default(),
        }
    }
}

#[derive(Debug, Clone)]
struct IfaceObj {
    def: InterfaceDef,
    active: bool,
}

/// All host interfaces of one test connection state.
#[derive(Debug, Clone, Default)]
pub struct InterfaceList {
    ifaces: Vec<IfaceObj>,
    /// Snapshot taken by `change_begin`.
    backup: Option<Vec<IfaceObj>>,
}

fn bare_invalid() -> DriverError {
    DriverError::Vir(VirError::bare(
        ErrorCode::OperationInvalid,
        ErrorDomain::Test,
        "Requested operation is not valid",
    ))
}

impl InterfaceList {
    /// An empty list.
    pub fn new() -> Self {
        Self::default()
    }

    /// `test:///default`'s interfaces: `eth1`, active.
    pub fn defaults() -> Self {
        let def = InterfaceDef::parse(DEFAULT_INTERFACE_XML).expect("built-in interface XML");
        InterfaceList {
            ifaces: vec![IfaceObj { def, active: true }],
            backup: None,
        }
    }

    /// The `<interface>` children of a test `<node>` element (inline or `file='...'`), active.
    pub fn from_node(node: &roxmltree::Node, base_dir: &Path) -> DriverResult<Self> {
        let mut list = InterfaceList::new();
        for n in node
            .children()
            .filter(|c| c.is_element() && c.has_tag_name("interface"))
        {
            let def = match xmlutil::external_or_inline(&n, base_dir, "interface")? {
                Some(t) => InterfaceDef::parse(&t)?,
                None => InterfaceDef::from_node(&n)?,
            };
            list.ifaces.retain(|i| i.def.name != def.name);
            list.ifaces.push(IfaceObj { def, active: true });
        }
        Ok(list)
    }

    fn find(&self, name: &str) -> DriverResult<&IfaceObj> {
        self.ifaces
            .iter()
            .find(|i| i.def.name == name)
            .ok_or_else(|| {
                DriverError::NoInterface(format!("no interface with matching name '{name}'"))
            })
    }

    fn find_mut(&mut self, name: &str) -> DriverResult<&mut IfaceObj> {
        self.ifaces
            .iter_mut()
            .find(|i| i.def.name == name)
            .ok_or_else(|| {
                DriverError::NoInterface(format!("no interface with matching name '{name}'"))
            })
    }

    /// Look an interface up by name.
    pub fn lookup_by_name(&self, name: &str) -> DriverResult<InterfaceRef> {
        Ok(self.find(name)?.def.to_ref())
    }

    /// Look an interface up by MAC (case-insensitive); several matches are an error.
    pub fn lookup_by_mac(&self, mac: &str) -> DriverResult<InterfaceRef> {
        let hits: Vec<_> = self
            .ifaces
            .iter()
            .filter(|i| {
                i.def
                    .mac
                    .as_deref()
                    .is_some_and(|m| m.eq_ignore_ascii_case(mac))
            })
            .collect();
        match hits.as_slice() {
            [one] => Ok(one.def.to_ref()),
            [] => Err(DriverError::NoInterface(format!(
                "no interface with matching mac '{mac}'"
            ))),
            _ => Err(raw(
                59,
                ErrorDomain::Test as i32,
                "multiple matching interfaces found",
            )),
        }
    }

    /// `virConnectListAllInterfaces` (flags ACTIVE / INACTIVE).
    pub fn list_all(&self, flags: u32) -> DriverResult<Vec<InterfaceRef>> {
        check_flags(flags, 3, "testConnectListAllInterfaces")?;
        let ok = |i: &&IfaceObj| {
            xmlutil::pair_match(flags, list_flags::ACTIVE, list_flags::INACTIVE, i.active)
        };
        Ok(self
            .ifaces
            .iter()
            .filter(ok)
            .map(|i| i.def.to_ref())
            .collect())
    }

    /// Number of active interfaces.
    pub fn num_of_active(&self) -> usize {
        self.ifaces.iter().filter(|i| i.active).count()
    }

    /// Names of active interfaces, at most `max`.
    pub fn list_active(&self, max: usize) -> Vec<String> {
        crate::objlist::names(self.ifaces.iter(), max, |x| x.active, |x| &x.def.name)
    }

    /// Number of inactive interfaces.
    pub fn num_of_defined(&self) -> usize {
        self.ifaces.iter().filter(|i| !i.active).count()
    }

    /// Names of inactive interfaces, at most `max`.
    pub fn list_defined(&self, max: usize) -> Vec<String> {
        crate::objlist::names(self.ifaces.iter(), max, |x| !x.active, |x| &x.def.name)
    }

    /// Define (or replace) an interface; a new one is inactive. Flags: VALIDATE (1) accepted.
    pub fn define_xml(&mut self, xml: &str, flags: u32) -> DriverResult<InterfaceRef> {
        check_flags(flags, 1, "testInterfaceDefineXML")?;
        let def = InterfaceDef::parse(xml)?;
        let r = def.to_ref();
        match self.ifaces.iter_mut().find(|i| i.def.name == def.name) {
            Some(o) => o.def = def,
            None => self.ifaces.push(IfaceObj { def, active: false }),
        }
        Ok(r)
    }

    /// Remove an interface (the test driver allows this while it is active).
    pub fn undefine(&mut self, name: &str) -> DriverResult<()> {
        self.find(name)?;
        self.ifaces.retain(|i| i.def.name != name);
        Ok(())
    }

    /// Bring an inactive interface up.
    pub fn create(&mut self, name: &str, flags: u32) -> DriverResult<()> {
        check_flags(flags, 0, "testInterfaceCreate")?;
        let o = self.find_mut(name)?;
        if o.active {
            return Err(bare_invalid());
        }
        o.active = true;
        Ok(())
    }

    /// Bring an active interface down.
    pub fn destroy(&mut self, name: &str, flags: u32) -> DriverResult<()> {
        check_flags(flags, 0, "testInterfaceDestroy")?;
        let o = self.find_mut(name)?;
        if !o.active {
            return Err(bare_invalid());
        }
        o.active = false;
        Ok(())
    }

    /// The interface's XML (no flags supported by the test driver).
    pub fn get_xml_desc(&self, name: &str, flags: u32) -> DriverResult<String> {
        check_flags(flags, 0, "testInterfaceGetXMLDesc")?;
        Ok(self.find(name)?.def.to_xml())
    }

    /// Whether the interface is up.
    pub fn is_active(&self, name: &str) -> DriverResult<bool> {
        Ok(self.find(name)?.active)
    }

    /// Start a change transaction (snapshot of all interfaces).
    pub fn change_begin(&mut self, flags: u32) -> DriverResult<()> {
        check_flags(flags, 0, "testInterfaceChangeBegin")?;
        if self.backup.is_some() {
            return Err(DriverError::OperationInvalid(
                ErrorDomain::Test,
                "there is another transaction running.".into(),
            ));
        }
        self.backup = Some(self.ifaces.clone());
        Ok(())
    }

    /// Keep the changes made since `change_begin`.
    pub fn change_commit(&mut self, flags: u32) -> DriverResult<()> {
        check_flags(flags, 0, "testInterfaceChangeCommit")?;
        if self.backup.take().is_none() {
            return Err(DriverError::OperationInvalid(
                ErrorDomain::Test,
                "no transaction running, nothing to be committed.".into(),
            ));
        }
        Ok(())
    }

    /// Restore the interfaces as they were at `change_begin`.
    pub fn change_rollback(&mut self, flags: u32) -> DriverResult<()> {
        check_flags(flags, 0, "testInterfaceChangeRollback")?;
        match self.backup.take() {
            Some(b) => {
                self.ifaces = b;
                Ok(())
            }
            None => Err(DriverError::OperationInvalid(
                ErrorDomain::Test,
                "no transaction running, nothing to rollback.".into(),
            )),
        }
    }
}

#[cfg(test)]
mod tests;
