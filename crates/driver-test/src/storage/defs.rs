//! Pool and volume definitions: parsing libvirt's `<pool>` / `<volume>` XML and formatting it
//! back the way the test driver reports it.

use oxvirt_virerror::ErrorDomain;

use crate::error::DriverResult;
use crate::network::xmlutil::{
    self, check_root, child_text, escape, fmt_uuid, raw, Elem, FROM_XML,
};

const STORAGE: i32 = ErrorDomain::Storage as i32;

/// Pool types libvirt knows, in `virConnectListAllStoragePoolsFlags` bit order (DIR = 1 << 6).
pub const POOL_TYPES: &[&str] = &[
    "dir",
    "fs",
    "netfs",
    "logical",
    "disk",
    "iscsi",
    "scsi",
    "mpath",
    "rbd",
    "sheepdog",
    "gluster",
    "zfs",
    "vstorage",
    "iscsi-direct",
];

/// A storage pool definition.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PoolDef {
    /// Pool type (`dir`, `logical`, ...).
    pub pool_type: String,
    /// Pool name.
    pub name: String,
    /// Pool UUID.
    pub uuid: [u8; 16],
    /// Children of `<source>`, kept verbatim.
    pub source: Vec<Elem>,
    /// Target path, sanitised (no duplicate or trailing slashes).
    pub target_path: Option<String>,
    /// Other children of `<target>` (permissions...), kept verbatim.
    pub target_extra: Vec<Elem>,
}

/// Collapse repeated slashes and drop a trailing one, as libvirt sanitises paths.
fn sanitize_path(p: &str) -> String {
    let mut out = String::new();
    for c in p.trim().chars() {
        if c == '/' && out.ends_with('/') {
            continue;
        }
        out.push(c);
    }
    if out.len() > 1 && out.ends_with('/') {
        out.pop();
    }
    out
}

impl PoolDef {
    /// Parse a `<pool>` document.
    pub fn parse(xml: &str) -> DriverResult<Self> {
        let doc = xmlutil::parse(xml, "storage_pool_definition", STORAGE)?;
        Self::from_root(&doc.root_element())
    }

    fn from_root(root: &roxmltree::Node) -> DriverResult<Self> {
        check_root(root, "pool")?;
        let pool_type = match root.attribute("type") {
            None => {
                return Err(xmlutil::xml_error(
                    FROM_XML,
                    "Missing required attribute 'type' in element 'pool'",
                ))
            }
            Some(t) if !POOL_TYPES.contains(&t) => {
                return Err(xmlutil::xml_error(
                    FROM_XML,
                    format!("Invalid value for attribute 'type' in element 'pool': '{t}'."),
                ))
            }
            Some(t) => t.to_string(),
        };
        let name = match child_text(root, "name") {
            Some(n) if !n.is_empty() => n,
            _ => {
                return Err(xmlutil::xml_error(
                    STORAGE,
                    "missing pool source name element",
                ))
            }
        };
        let uuid = match child_text(root, "uuid") {
            Some(u) => xmlutil::parse_uuid(&u)
                .ok_or_else(|| xmlutil::xml_error(STORAGE, "malformed uuid element"))?,
            None => xmlutil::new_uuid(),
        };
        let elem = |n: &str| {
            root.children()
                .find(|c| c.is_element() && c.has_tag_name(n))
        };
        let source = elem("source")
            .map(|s| {
                s.children()
                    .filter(|c| c.is_element())
                    .map(|c| Elem::from_node(&c))
                    .collect()
            })
            .unwrap_or_default();
        let target = elem("target");
        let target_path = target
            .as_ref()
            .and_then(|t| child_text(t, "path"))
            .filter(|p| !p.is_empty());
        let needs_target = !matches!(
            pool_type.as_str(),
            "rbd" | "sheepdog" | "gluster" | "iscsi-direct"
        );
        if needs_target && target_path.is_none() {
            return Err(xmlutil::xml_error(
                STORAGE,
                "missing storage pool target path",
            ));
        }
        let target_extra = target
            .map(|t| {
                t.children()
                    .filter(|c| c.is_element() && !c.has_tag_name("path"))
                    .map(|c| Elem::from_node(&c))
                    .collect()
            })
            .unwrap_or_default();
        Ok(PoolDef {
            pool_type,
            name,
            uuid,
            source,
            target_path: target_path.map(|p| sanitize_path(&p)),
            target_extra,
        })
    }

    /// libvirt's XML, with the figures the driver keeps for the pool.
    pub fn to_xml(&self, capacity: u64, allocation: u64, available: u64) -> String {
        let mut s = format!("<pool type='{}'>\n", escape(&self.pool_type));
        s.push_str(&format!("  <name>{}</name>\n", escape(&self.name)));
        s.push_str(&format!("  <uuid>{}</uuid>\n", fmt_uuid(&self.uuid)));
        s.push_str(&format!("  <capacity unit='bytes'>{capacity}</capacity>\n"));
        s.push_str(&format!(
            "  <allocation unit='bytes'>{allocation}</allocation>\n"
        ));
        s.push_str(&format!(
            "  <available unit='bytes'>{available}</available>\n"
        ));
        s.push_str("  <source>\n");
        for e in &self.source {
            e.format(4, &mut s);
        }
        s.push_str("  </source>\n");
        if let Some(p) = &self.target_path {
            s.push_str("  <target>\n");
            s.push_str(&format!("    <path>{}</path>\n", escape(p)));
            for e in &self.target_extra {
                e.format(4, &mut s);
            }
            s.push_str("  </target>\n");
        }
        s.push_str("</pool>\n");
        s
    }
}

/// A storage volume as the test driver keeps it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Volume {
    /// Volume name.
    pub name: String,
    /// Key (the test driver uses the path).
    pub key: String,
    /// Path: pool target path + "/" + name.
    pub path: String,
    /// Volume type (`file` unless given).
    pub vol_type: String,
    /// Capacity in bytes.
    pub capacity: u64,
    /// Allocation in bytes (defaults to the capacity).
    pub allocation: u64,
    /// Target format (`raw` unless given).
    pub format: String,
    /// Other target children (permissions...), verbatim.
    pub target_extra: Vec<Elem>,
}

/// libvirt's `virStorageVolType` numbers.
pub fn vol_type_number(t: &str) -> i32 {
    match t {
        "block" => 1,
        "dir" => 2,
        "network" => 3,
        "netdir" => 4,
        "ploop" => 5,
        _ => 0,
    }
}

impl Volume {
    /// Parse a `<volume>` document for a pool whose target path is `pool_path`.
    pub fn parse(xml: &str, pool_path: &str) -> DriverResult<Self> {
        let doc = xmlutil::parse(xml, "storage_volume_definition", STORAGE)?;
        Self::from_root(&doc.root_element(), pool_path)
    }

    pub(crate) fn from_root(root: &roxmltree::Node, pool_path: &str) -> DriverResult<Self> {
        check_root(root, "volume")?;
        let name = match child_text(root, "name") {
            Some(n) if !n.is_empty() => n,
            _ => return Err(xmlutil::xml_error(STORAGE, "missing volume name element")),
        };
        let size = |n: &str| -> DriverResult<Option<u64>> {
            match root
                .children()
                .find(|c| c.is_element() && c.has_tag_name(n))
            {
                None => Ok(None),
                Some(e) => {
                    xmlutil::scale_bytes(e.text().unwrap_or(""), e.attribute("unit"), n).map(Some)
                }
            }
        };
        let capacity = size("capacity")?
            .ok_or_else(|| xmlutil::xml_error(STORAGE, "missing capacity element"))?;
        let allocation = size("allocation")?.unwrap_or(capacity);
        let target = root
            .children()
            .find(|c| c.is_element() && c.has_tag_name("target"));
        let format = target
            .as_ref()
            .and_then(|t| {
                t.children()
                    .find(|c| c.is_element() && c.has_tag_name("format"))
            })
            .and_then(|f| f.attribute("type").map(str::to_string))
            .unwrap_or_else(|| "raw".to_string());
        let target_extra = target
            .map(|t| {
                t.children()
                    .filter(|c| {
                        c.is_element() && !c.has_tag_name("path") && !c.has_tag_name("format")
                    })
                    .map(|c| Elem::from_node(&c))
                    .collect()
            })
            .unwrap_or_default();
        let path = format!("{pool_path}/{name}");
        if name.contains('/') {
            return Err(raw(
                1,
                STORAGE,
                format!("internal error: volume name '{name}' cannot contain '/'"),
            ));
        }
        Ok(Volume {
            key: path.clone(),
            path,
            name,
            vol_type: root.attribute("type").unwrap_or("file").to_string(),
            capacity,
            allocation,
            format,
            target_extra,
        })
    }

    /// libvirt's XML for the volume.
    pub fn to_xml(&self) -> String {
        let mut s = format!("<volume type='{}'>\n", escape(&self.vol_type));
        s.push_str(&format!("  <name>{}</name>\n", escape(&self.name)));
        s.push_str(&format!("  <key>{}</key>\n", escape(&self.key)));
        s.push_str(&format!(
            "  <capacity unit='bytes'>{}</capacity>\n",
            self.capacity
        ));
        s.push_str(&format!(
            "  <allocation unit='bytes'>{}</allocation>\n",
            self.allocation
        ));
        s.push_str("  <target>\n");
        s.push_str(&format!("    <path>{}</path>\n", escape(&self.path)));
        s.push_str(&format!("    <format type='{}'/>\n", escape(&self.format)));
        for e in &self.target_extra {
            e.format(4, &mut s);
        }
        s.push_str("  </target>\n");
        s.push_str("</volume>\n");
        s
    }
}

/// Parse a `<pool>` element of a node file (volumes are handled by the caller).
pub(crate) fn pool_from_node(node: &roxmltree::Node) -> DriverResult<PoolDef> {
    PoolDef::from_root(node)
}
