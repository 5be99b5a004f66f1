//! A small owned XML element tree used to normalise domain XML pieces before formatting them in
//! libvirt's style (attribute and child order, implicit children).

use crate::xmlfmt::escape;

/// An element with its attributes in output order, element children and text.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct El {
    pub name: String,
    pub attrs: Vec<(String, String)>,
    pub children: Vec<El>,
    pub text: String,
}

impl El {
    /// An empty element named `name`.
    pub fn new(name: &str) -> El {
        El {
            name: name.to_string(),
            ..Default::default()
        }
    }

    /// Builder: add an attribute.
    pub fn with(mut self, name: &str, value: &str) -> El {
        self.set(name, value);
        self
    }

    /// Copy a parsed element subtree (qualified names keep their prefix; namespace declarations
    /// are not carried, devices use none).
    pub fn from_node(node: &roxmltree::Node) -> El {
        let prefixed = |ns: Option<&str>, local: &str| match ns.and_then(|n| node.lookup_prefix(n))
        {
            Some(p) if !p.is_empty() => format!("{p}:{local}"),
            _ => local.to_string(),
        };
        let tag = node.tag_name();
        El {
            name: prefixed(tag.namespace(), tag.name()),
            attrs: node
                .attributes()
                .map(|a| (prefixed(a.namespace(), a.name()), a.value().to_string()))
                .collect(),
            children: node
                .children()
                .filter(|c| c.is_element())
                .map(|c| El::from_node(&c))
                .collect(),
            text: node
                .children()
                .filter(|c| c.is_text())
                .filter_map(|c| c.text())
                .collect(),
        }
    }

    pub fn attr(&self, name: &str) -> Option<&str> {
        self.attrs
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    }

    /// Set (replace in place or append) an attribute.
    pub fn set(&mut self, name: &str, value: &str) {
        match self.attrs.iter_mut().find(|(n, _)| n == name) {
            Some(a) => a.1 = value.to_string(),
            None => self.attrs.push((name.to_string(), value.to_string())),
        }
    }

    pub fn remove(&mut self, name: &str) {
        self.attrs.retain(|(n, _)| n != name);
    }

    pub fn child(&self, name: &str) -> Option<&El> {
        self.children.iter().find(|c| c.name == name)
    }

    pub fn child_mut(&mut self, name: &str) -> Option<&mut El> {
        self.children.iter_mut().find(|c| c.name == name)
    }

    /// Order attributes as `order` lists them; others follow in their original order.
    pub fn order_attrs(&mut self, order: &[&str]) {
        let rank = |n: &str| order.iter().position(|o| *o == n).unwrap_or(order.len());
        self.attrs.sort_by_key(|(n, _)| rank(n));
    }

    /// Order children as `order` lists them (stable); others follow in their original order.
    pub fn order_children(&mut self, order: &[&str]) {
        let rank = |n: &str| order.iter().position(|o| *o == n).unwrap_or(order.len());
        self.children.sort_by_key(|c| rank(&c.name));
    }

    /// Insert `c` before the first child whose name ranks after it in `order`.
    pub fn insert_ordered(&mut self, c: El, order: &[&str]) {
        let rank = |n: &str| order.iter().position(|o| *o == n).unwrap_or(order.len());
        let r = rank(&c.name);
        let pos = self
            .children
            .iter()
            .position(|k| rank(&k.name) > r)
            .unwrap_or(self.children.len());
        self.children.insert(pos, c);
    }

    /// Serialise at `indent` spaces in libvirt's style.
    pub fn format(&self, indent: usize, out: &mut String) {
        let pad = " ".repeat(indent);
        out.push_str(&pad);
        out.push('<');
        out.push_str(&self.name);
        for (n, v) in &self.attrs {
            out.push_str(&format!(" {n}='{}'", escape(v)));
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

    /// [`El::format`] into a fresh string.
    pub fn to_string_at(&self, indent: usize) -> String {
        let mut s = String::new();
        self.format(indent, &mut s);
        s
    }
}
