//! XML helpers shared by the network, storage, interface and node-device modules: an owned
//! element tree that re-serialises the way libvirt's formatters indent, libvirt-style escaping,
//! error constructors for parse failures, UUIDs, scaled sizes and matching of list filters.

use std::path::Path;

use oxvirt_virerror::{ErrorCode, ErrorDomain};

use crate::error::{DriverError, DriverResult};

/// libvirt's `VIR_FROM_XML` error domain number.
pub(crate) const FROM_XML: i32 = crate::xmlfmt::VIR_FROM_XML;

pub use crate::xmlfmt::escape;

/// An owned XML element (attributes in document order, trimmed text, child elements).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Elem {
    /// Tag name.
    pub name: String,
    /// Attributes in document order.
    pub attrs: Vec<(String, String)>,
    /// Concatenated text content, trimmed (empty when the element has element children).
    pub text: String,
    /// Child elements.
    pub children: Vec<Elem>,
}

impl Elem {
    /// Copy a parsed element.
    pub fn from_node(node: &roxmltree::Node) -> Elem {
        let children: Vec<Elem> = node
            .children()
            .filter(|c| c.is_element())
            .map(|c| Elem::from_node(&c))
            .collect();
        let text = if children.is_empty() {
            node.children()
                .filter_map(|c| c.text())
                .collect::<String>()
                .trim()
                .to_string()
        } else {
            String::new()
        };
        Elem {
            name: node.tag_name().name().to_string(),
            attrs: node
                .attributes()
                .map(|a| (a.name().to_string(), a.value().to_string()))
                .collect(),
            text,
            children,
        }
    }

    /// An attribute's value.
    pub fn attr(&self, name: &str) -> Option<&str> {
        self.attrs
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }

    /// The first child element with this name.
    pub fn child(&self, name: &str) -> Option<&Elem> {
        self.children.iter().find(|c| c.name == name)
    }

    /// Mutable access to the first child element with this name.
    pub fn child_mut(&mut self, name: &str) -> Option<&mut Elem> {
        self.children.iter_mut().find(|c| c.name == name)
    }

    /// Serialise with `indent` leading spaces, two more per level, libvirt style.
    pub fn format(&self, indent: usize, out: &mut String) {
        let pad = " ".repeat(indent);
        out.push_str(&pad);
        out.push('<');
        out.push_str(&self.name);
        for (k, v) in &self.attrs {
            out.push_str(&format!(" {k}='{}'", escape(v)));
        }
        if self.children.is_empty() {
            if self.text.is_empty() {
                out.push_str("/>\n");
            } else {
                out.push_str(&format!(">{}</{}>\n", escape(&self.text), self.name));
            }
            return;
        }
        out.push_str(">\n");
        for c in &self.children {
            c.format(indent + 2, out);
        }
        out.push_str(&format!("{pad}</{}>\n", self.name));
    }
}

/// A libvirt error with explicit numbers and a bare message.
pub(crate) use crate::xmlfmt::raw_error as raw;
/// "XML error: DETAIL" (code 27) in the given domain.
pub(crate) use crate::xmlfmt::xml_error;

/// Parse a document; failures are XML_DETAIL (35) errors in `domain` prefixed with `(label)`.
pub(crate) fn parse<'a>(
    text: &'a str,
    label: &str,
    domain: i32,
) -> DriverResult<roxmltree::Document<'a>> {
    roxmltree::Document::parse(text).map_err(|e| {
        let pos = e.pos();
        raw(
            ErrorCode::XmlDetail as i32,
            domain,
            format!("({label}):{}: {e}", pos.row),
        )
    })
}

/// Check the root element's name as libvirt does ("expecting root element of ...").
pub(crate) fn check_root(node: &roxmltree::Node, want: &str) -> DriverResult<()> {
    let got = node.tag_name().name();
    if got == want {
        Ok(())
    } else {
        Err(xml_error(
            FROM_XML,
            format!("expecting root element of '{want}', not '{got}'"),
        ))
    }
}

/// Text of the first child element `name` (trimmed), if present.
pub(crate) fn child_text(node: &roxmltree::Node, name: &str) -> Option<String> {
    node.children()
        .find(|c| c.is_element() && c.has_tag_name(name))
        .map(|c| c.text().unwrap_or("").trim().to_string())
}

pub use crate::domain_xml::format_uuid as fmt_uuid;
pub(crate) use crate::domain_xml::parse_uuid;

/// A fresh random UUID.
pub(crate) fn new_uuid() -> [u8; 16] {
    *uuid::Uuid::new_v4().as_bytes()
}

/// A value with an optional libvirt unit suffix, in bytes (`virScaleInteger` semantics).
pub(crate) fn scale_bytes(value: &str, unit: Option<&str>, what: &str) -> DriverResult<u64> {
    let v: u64 = value.trim().parse().map_err(|_| {
        xml_error(
            ErrorDomain::Storage as i32,
            format!("malformed {what} element"),
        )
    })?;
    let u = unit.unwrap_or("").to_ascii_lowercase();
    let (base, pow): (u64, u32) = match u.as_str() {
        "" | "b" | "byte" | "bytes" => (1, 0),
        _ => {
            let mut cs = u.chars();
            let first = cs.next().unwrap_or(' ');
            let pow = match "kmgtpe".find(first) {
                Some(i) => i as u32 + 1,
                None => return Err(bad_suffix(unit.unwrap_or(""))),
            };
            match cs.as_str() {
                "" | "ib" => (1024, pow),
                "b" => (1000, pow),
                _ => return Err(bad_suffix(unit.unwrap_or(""))),
            }
        }
    };
    v.checked_mul(base.pow(pow))
        .ok_or_else(|| DriverError::InvalidArg(ErrorDomain::None, "value too large".into()))
}

fn bad_suffix(unit: &str) -> DriverError {
    DriverError::InvalidArg(ErrorDomain::None, format!("unknown suffix '{unit}'"))
}

pub(crate) use crate::error::check_flags;
pub(crate) use crate::objlist::pair_match;

/// The XML text of a list element: inline, or read from its `file='...'` attribute relative to
/// `base_dir` (libvirt's test driver allows both in `<node>` files).
pub(crate) fn external_or_inline(
    node: &roxmltree::Node,
    base_dir: &Path,
    what: &str,
) -> DriverResult<Option<String>> {
    let Some(file) = node.attribute("file") else {
        return Ok(None);
    };
    let path = if Path::new(file).is_absolute() {
        file.into()
    } else {
        base_dir.join(file)
    };
    std::fs::read_to_string(&path).map(Some).map_err(|e| {
        DriverError::Internal(
            ErrorDomain::Test,
            format!(
                "failed to load external {what} definition '{}': {e}",
                path.display()
            ),
        )
    })
}

/// The text of one top-level element as a standalone document (libvirt re-parses node-file
/// elements on their own).
pub(crate) fn node_text(node: &roxmltree::Node) -> String {
    let mut s = String::new();
    Elem::from_node(node).format(0, &mut s);
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scale_units() {
        assert_eq!(scale_bytes("10", Some("M"), "capacity").unwrap(), 10 << 20);
        assert_eq!(scale_bytes("4", Some("KiB"), "capacity").unwrap(), 4096);
        assert_eq!(scale_bytes("1", Some("KB"), "capacity").unwrap(), 1000);
        assert_eq!(scale_bytes("7", None, "capacity").unwrap(), 7);
        assert_eq!(scale_bytes("7", Some("bytes"), "capacity").unwrap(), 7);
        let e = scale_bytes("1", Some("Q"), "capacity")
            .unwrap_err()
            .to_vir();
        assert_eq!((e.code, e.domain), (8, 0));
        assert_eq!(e.message, "invalid argument: unknown suffix 'Q'");
    }

    #[test]
    fn elem_roundtrip_and_escape() {
        let doc = roxmltree::Document::parse("<a x=\"1&apos;\"><b>t&amp;</b><c/></a>").unwrap();
        let mut s = String::new();
        Elem::from_node(&doc.root_element()).format(2, &mut s);
        assert_eq!(
            s,
            "  <a x='1&apos;'>\n    <b>t&amp;</b>\n    <c/>\n  </a>\n"
        );
    }

    #[test]
    fn errors() {
        let e = parse("<network>", "network_definition", 19)
            .unwrap_err()
            .to_vir();
        assert_eq!((e.code, e.domain), (35, 19));
        assert!(e.message.starts_with("(network_definition):1: "));
        let doc = roxmltree::Document::parse("<foo/>").unwrap();
        let e = check_root(&doc.root_element(), "network")
            .unwrap_err()
            .to_vir();
        assert_eq!((e.code, e.domain), (27, 5));
        assert_eq!(
            e.message,
            "XML error: expecting root element of 'network', not 'foo'"
        );
        assert!(check_flags(1, 1, "f").is_ok());
        assert_eq!(
            check_flags(3, 1, "f").unwrap_err().to_vir().message,
            "unsupported flags (0x2) in function f"
        );
    }
}
