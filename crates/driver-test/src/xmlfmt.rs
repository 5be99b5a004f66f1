//! Small XML helpers shared by the test driver's parsers and formatters: libvirt-style escaping,
//! re-serialising a parsed subtree the way libvirt's formatters indent it, libxml2-like parse
//! error messages, and libvirt's scaled-integer units.

use oxvirt_virerror::{ErrorCode, VirError};

use crate::error::DriverError;

/// libvirt's `VIR_FROM_XML` error domain (not among [`ErrorDomain`]'s named values).
pub const VIR_FROM_XML: i32 = 5;

/// Escape text or an attribute value as libvirt's `virBufferEscapeString` does.
pub fn escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '&' => out.push_str("&amp;"),
            '\'' => out.push_str("&apos;"),
            '"' => out.push_str("&quot;"),
            c => out.push(c),
        }
    }
    out
}

/// The qualified name of an element (with its namespace prefix, if any).
fn qname(node: &roxmltree::Node) -> String {
    let tag = node.tag_name();
    match tag.namespace().and_then(|ns| node.lookup_prefix(ns)) {
        Some(p) if !p.is_empty() => format!("{p}:{}", tag.name()),
        _ => tag.name().to_string(),
    }
}

/// Serialise an element subtree with `indent` leading spaces, two more per level, single-quoted
/// attributes and self-closed empty elements, each element on its own line (libvirt's style).
pub fn format_element(node: &roxmltree::Node, indent: usize, out: &mut String) {
    let pad = " ".repeat(indent);
    let name = qname(node);
    out.push_str(&pad);
    out.push('<');
    out.push_str(&name);
    for ns in node.namespaces() {
        // Only declarations made on this element.
        let inherited = match node.parent_element() {
            Some(p) => p.namespaces().any(|n| n == ns),
            None => false,
        };
        if !inherited && ns.name() != Some("xml") {
            match ns.name() {
                Some(p) => out.push_str(&format!(" xmlns:{p}='{}'", escape(ns.uri()))),
                None => out.push_str(&format!(" xmlns='{}'", escape(ns.uri()))),
            }
        }
    }
    for a in node.attributes() {
        let an = match a.namespace().and_then(|ns| node.lookup_prefix(ns)) {
            Some(p) if !p.is_empty() => format!("{p}:{}", a.name()),
            _ => a.name().to_string(),
        };
        out.push_str(&format!(" {an}='{}'", escape(a.value())));
    }
    let kids: Vec<_> = node.children().filter(|c| c.is_element()).collect();
    let text: String = node
        .children()
        .filter(|c| c.is_text())
        .filter_map(|c| c.text())
        .collect::<String>();
    if kids.is_empty() {
        if text.is_empty() {
            out.push_str("/>\n");
        } else {
            out.push_str(&format!(">{}</{name}>\n", escape(&text)));
        }
        return;
    }
    out.push_str(">\n");
    for k in kids {
        format_element(&k, indent + 2, out);
    }
    out.push_str(&format!("{pad}</{name}>\n"));
}

/// [`format_element`] into a fresh string.
pub fn element_string(node: &roxmltree::Node, indent: usize) -> String {
    let mut s = String::new();
    format_element(node, indent, &mut s);
    s
}

/// Parse `text` as XML, turning failures into libvirt's XML_DETAIL error (code 35) in error
/// domain `domain` with a libxml2-like message naming the document `doc_name` (e.g.
/// "(domain_definition)" for domain XML, the file path for node files).
pub fn parse_doc<'a>(
    text: &'a str,
    doc_name: &str,
    domain: i32,
) -> Result<roxmltree::Document<'a>, DriverError> {
    let opts = roxmltree::ParsingOptions {
        allow_dtd: true,
        ..Default::default()
    };
    roxmltree::Document::parse_with_options(text, opts).map_err(|e| {
        let trimmed = text.trim_start();
        let msg = if trimmed.is_empty() {
            format!("{doc_name}:1: Document is empty\n(null)\n^")
        } else if !trimmed.starts_with('<') {
            let line = trimmed.lines().next().unwrap_or("");
            format!("{doc_name}:1: Start tag expected, '<' not found\n{line}\n^")
        } else {
            let pos = e.pos();
            let line = text
                .lines()
                .nth(pos.row.saturating_sub(1) as usize)
                .unwrap_or("");
            let col = (pos.col as usize).saturating_sub(1).min(line.len());
            let detail = libxml_like(&e);
            format!(
                "{doc_name}:{}: {detail}\n{line}\n{}^",
                pos.row,
                "-".repeat(col)
            )
        };
        xml_detail(domain, msg)
    })
}

fn libxml_like(e: &roxmltree::Error) -> String {
    use roxmltree::Error as E;
    match e {
        E::UnexpectedCloseTag(exp, got, _) => {
            format!("Opening and ending tag mismatch: {exp} and {got}")
        }
        E::UnexpectedEndOfStream => "Premature end of data".to_string(),
        E::DuplicatedAttribute(a, _) => format!("Attribute {a} redefined"),
        E::UnknownEntityReference(n, _) => format!("Entity '{n}' not defined"),
        other => {
            let s = other.to_string();
            // Drop roxmltree's " at L:C" suffix; the position is reported separately.
            match s.rfind(" at ") {
                Some(i) => s[..i].to_string(),
                None => s,
            }
        }
    }
}

/// An XML_DETAIL (35) error in error domain `domain`, message given in full.
pub fn xml_detail(domain: i32, msg: String) -> DriverError {
    DriverError::Vir(VirError {
        code: ErrorCode::XmlDetail as i32,
        domain,
        str1: Some("%s".to_string()),
        str2: Some(msg.clone()),
        message: msg,
        level: 2,
        str3: None,
        int1: -1,
        int2: -1,
    })
}

/// "XML error: DETAIL" (code 27) in the given numeric error domain.
pub fn xml_error(domain: i32, detail: impl Into<String>) -> DriverError {
    let detail = detail.into();
    DriverError::Vir(VirError {
        code: ErrorCode::XmlError as i32,
        domain,
        message: format!("XML error: {detail}"),
        level: 2,
        str1: Some("XML error: %s".to_string()),
        str2: Some(detail),
        str3: None,
        int1: -1,
        int2: -1,
    })
}

/// An error with a raw code and domain and a bare message (template = message).
pub fn raw_error(code: i32, domain: i32, msg: impl Into<String>) -> DriverError {
    let msg = msg.into();
    DriverError::Vir(VirError {
        code,
        domain,
        str1: Some(msg.clone()),
        message: msg,
        level: 2,
        str2: None,
        str3: None,
        int1: -1,
        int2: -1,
    })
}

/// A value with a libvirt unit suffix (`unit='MiB'`), converted to KiB rounding up.
/// `None` for an unknown unit or an unparsable number.
pub fn scaled_to_kib(value: &str, unit: Option<&str>) -> Option<u64> {
    let v: u64 = value.trim().parse().ok()?;
    let unit = unit.unwrap_or("KiB").to_ascii_lowercase();
    let bytes_per: u128 = match unit.as_str() {
        "b" | "bytes" => 1,
        "kb" => 1000,
        "k" | "kib" => 1024,
        "mb" => 1000u128.pow(2),
        "m" | "mib" => 1024u128.pow(2),
        "gb" => 1000u128.pow(3),
        "g" | "gib" => 1024u128.pow(3),
        "tb" => 1000u128.pow(4),
        "t" | "tib" => 1024u128.pow(4),
        "pb" => 1000u128.pow(5),
        "p" | "pib" => 1024u128.pow(5),
        "eb" => 1000u128.pow(6),
        "e" | "eib" => 1024u128.pow(6),
        _ => return None,
    };
    let bytes = (v as u128).checked_mul(bytes_per)?;
    u64::try_from(bytes.div_ceil(1024)).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn units() {
        assert_eq!(scaled_to_kib("131072", None), Some(131072));
        assert_eq!(scaled_to_kib("128", Some("MiB")), Some(131072));
        assert_eq!(scaled_to_kib("1", Some("G")), Some(1048576));
        assert_eq!(scaled_to_kib("1", Some("GiB")), Some(1048576));
        assert_eq!(scaled_to_kib("1025", Some("b")), Some(2));
        assert_eq!(scaled_to_kib("1", Some("KB")), Some(1));
        assert_eq!(scaled_to_kib("1", Some("parsec")), None);
        assert_eq!(scaled_to_kib("x", None), None);
    }

    #[test]
    fn formats_subtrees_like_libvirt() {
        let doc = roxmltree::Document::parse(
            "<disk type=\"file\"><source file='/a&amp;b'/>\n <target dev='vda'>x</target></disk>",
        )
        .unwrap();
        assert_eq!(
            element_string(&doc.root_element(), 4),
            "    <disk type='file'>\n      <source file='/a&amp;b'/>\n      \
             <target dev='vda'>x</target>\n    </disk>\n"
        );
    }

    #[test]
    fn parse_errors_look_like_libxml2() {
        let e = parse_doc("garbage", "(domain_definition)", 20)
            .unwrap_err()
            .to_vir();
        assert_eq!(
            e.message,
            "(domain_definition):1: Start tag expected, '<' not found\ngarbage\n^"
        );
        assert_eq!((e.code, e.domain), (35, 20));
        let e = parse_doc("", "(domain_definition)", 20)
            .unwrap_err()
            .to_vir();
        assert_eq!(
            e.message,
            "(domain_definition):1: Document is empty\n(null)\n^"
        );
        let e = parse_doc("<domain><name>x</name", "(domain_definition)", 20)
            .unwrap_err()
            .to_vir();
        assert!(
            e.message.starts_with("(domain_definition):1: "),
            "{}",
            e.message
        );
    }
}
