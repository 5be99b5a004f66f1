//! `test:///ABS/PATH.xml` node files: a `<node>` root with `<cpu>`, `<memory>` and the objects
//! of the host (`<domain>`, `<network>`, `<pool>`, `<interface>`, `<device>`), each inline or
//! given as `file='relative.xml'` resolved against the node file's directory.

use std::path::{Path, PathBuf};

use oxvirt_virerror::ErrorDomain;

use crate::domain::{reason, state};
use crate::domain_xml::DomainDef;
use crate::error::DriverResult;
use crate::state::TestState;
use crate::xmlfmt::{self, xml_error, VIR_FROM_XML};

/// XML namespace of the test driver's per-domain extras (`<test:runstate>`).
pub const TEST_DOMAIN_NS: &str = "http://libvirt.org/schemas/domain/test/1.0";

fn read_doc_text(path: &Path) -> DriverResult<String> {
    std::fs::read_to_string(path).map_err(|_| {
        xml_error(
            ErrorDomain::Test as i32,
            format!("failed to parse xml document '{}'", path.display()),
        )
    })
}

/// Resolve a `file=` reference against the node file's directory.
pub fn resolve(base_dir: &Path, file: &str) -> PathBuf {
    if file.starts_with('/') {
        PathBuf::from(file)
    } else {
        base_dir.join(file)
    }
}

fn uint_child(cpu: &roxmltree::Node, name: &str) -> Option<u32> {
    cpu.children()
        .find(|c| c.is_element() && c.tag_name().name() == name)
        .and_then(|c| c.text())
        .and_then(|t| t.trim().parse().ok())
}

impl TestState {
    /// Parse a node file into a fresh state (domains come up running with ids from 1, except
    /// those whose `<test:runstate>` says shut off).
    pub fn from_node_file(path: &Path) -> DriverResult<TestState> {
        let text = read_doc_text(path)?;
        let doc = xmlfmt::parse_doc(&text, &path.display().to_string(), ErrorDomain::Test as i32)?;
        let root = doc.root_element();
        if root.tag_name().name() != "node" {
            return Err(xml_error(
                VIR_FROM_XML,
                format!(
                    "expecting root element of 'node', not '{}'",
                    root.tag_name().name()
                ),
            ));
        }
        let base_dir = path.parent().unwrap_or(Path::new("/")).to_path_buf();
        let mut st = TestState::empty();
        if let Some(cpu) = root
            .children()
            .find(|c| c.is_element() && c.has_tag_name("cpu"))
        {
            let n = &mut st.node;
            n.nodes = uint_child(&cpu, "nodes").unwrap_or(n.nodes);
            n.sockets = uint_child(&cpu, "sockets").unwrap_or(n.sockets);
            n.cores = uint_child(&cpu, "cores").unwrap_or(n.cores);
            n.threads = uint_child(&cpu, "threads").unwrap_or(n.threads);
            n.cpus = n.nodes * n.sockets * n.cores * n.threads;
            if let Some(active) = uint_child(&cpu, "active") {
                n.cpus = n.cpus.min(active);
            }
            n.mhz = uint_child(&cpu, "mhz").unwrap_or(n.mhz);
            if let Some(m) = cpu
                .children()
                .find(|c| c.is_element() && c.has_tag_name("model"))
                .and_then(|c| c.text())
            {
                n.model = m.trim().to_string();
            }
        }
        if let Some(m) = root
            .children()
            .find(|c| c.is_element() && c.has_tag_name("memory"))
            .and_then(|c| c.text())
            .and_then(|t| t.trim().parse().ok())
        {
            st.node.memory_kib = m;
        }
        for d in root
            .children()
            .filter(|c| c.is_element() && c.has_tag_name("domain"))
        {
            st.add_node_domain(&d, &base_dir)?;
        }
        st.networks = crate::network::NetworkList::from_node(&root, &base_dir)?;
        st.pools = crate::storage::PoolList::from_node(&root, &base_dir)?;
        st.ifaces = crate::interface::InterfaceList::from_node(&root, &base_dir)?;
        st.nodedevs = crate::nodedev::NodeDeviceList::from_node(&root, &base_dir)?;
        Ok(st)
    }

    fn add_node_domain(&mut self, d: &roxmltree::Node, base_dir: &Path) -> DriverResult<()> {
        let (def, runstate) = match d.attribute("file") {
            Some(f) => {
                let p = resolve(base_dir, f);
                let text = read_doc_text(&p)?;
                let doc =
                    xmlfmt::parse_doc(&text, &p.display().to_string(), ErrorDomain::Test as i32)?;
                let root = doc.root_element();
                (DomainDef::from_node(&root)?, runstate_of(&root))
            }
            None => (DomainDef::from_node(d)?, runstate_of(d)),
        };
        if self.domains.by_name(&def.name).is_some() || self.domains.by_uuid(&def.uuid).is_some() {
            return Err(crate::error::DriverError::OperationFailed(
                ErrorDomain::Domain,
                format!("domain '{}' already exists", def.name),
            ));
        }
        match runstate {
            Some(state::SHUTOFF) => {
                self.domains
                    .push(crate::domain::Domain::new_inactive(def, true));
            }
            Some(s) => {
                self.add_running_domain(def, reason::RUNNING_UNKNOWN);
                if s == state::PAUSED {
                    let uuid = self
                        .domains
                        .iter()
                        .last()
                        .map(|d| d.def.uuid)
                        .unwrap_or_default();
                    if let Some(dom) = self.domains.by_uuid_mut(&uuid) {
                        dom.state = state::PAUSED;
                        dom.reason = 0;
                    }
                }
            }
            None => self.add_running_domain(def, reason::RUNNING_UNKNOWN),
        }
        Ok(())
    }
}

/// `<test:runstate>N</test:runstate>` inside a domain, if present.
fn runstate_of(d: &roxmltree::Node) -> Option<i32> {
    d.descendants()
        .find(|c| {
            c.is_element()
                && c.tag_name().name() == "runstate"
                && c.tag_name().namespace() == Some(TEST_DOMAIN_NS)
        })
        .and_then(|c| c.text())
        .and_then(|t| t.trim().parse().ok())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tmpdir(tag: &str) -> PathBuf {
        let d = std::env::temp_dir().join(format!("oxvirt-dt-{tag}-{}", std::process::id()));
        std::fs::create_dir_all(&d).unwrap();
        d
    }

    #[test]
    fn parses_node_file_like_reference() {
        let dir = tmpdir("node");
        std::fs::write(
            dir.join("node.xml"),
            include_str!("../tests/golden/node1.xml"),
        )
        .unwrap();
        std::fs::write(
            dir.join("dom2.xml"),
            include_str!("../tests/golden/dom2.xml"),
        )
        .unwrap();
        let st = TestState::from_node_file(&dir.join("node.xml")).unwrap();
        let n = st.node_info();
        assert_eq!(
            (
                n.model.as_str(),
                n.memory_kib,
                n.cpus,
                n.mhz,
                n.nodes,
                n.sockets,
                n.cores,
                n.threads
            ),
            ("i986", 8192000, 50, 6000, 4, 4, 4, 2)
        );
        assert_eq!(st.free_memory(), 0);
        assert!(st.cells_free_memory(0, 10).is_err());
        let names: Vec<_> = st
            .domains
            .iter()
            .map(|d| (d.def.name.clone(), d.id, d.state, d.reason))
            .collect();
        assert_eq!(
            names,
            [("fv0".to_string(), 1, 1, 0), ("fc4".to_string(), 2, 1, 0)]
        );
        let fc4 = st.domains.lookup_by_name("fc4").unwrap();
        assert_eq!(
            st.get_xml_desc(fc4.key(), 0).unwrap(),
            include_str!("../tests/golden/node1_fc4_xmldesc.xml")
        );
        assert!(st
            .capabilities()
            .contains("<cells num='0'>\n      </cells>\n"));
        std::fs::remove_dir_all(dir).unwrap();
    }

    #[test]
    fn node_file_errors() {
        let dir = tmpdir("nodeerr");
        std::fs::write(
            dir.join("dom.xml"),
            include_str!("../tests/golden/dom2.xml"),
        )
        .unwrap();
        let e = TestState::from_node_file(&dir.join("dom.xml"))
            .unwrap_err()
            .to_vir();
        assert_eq!(
            (e.code, e.domain, e.message.as_str()),
            (
                27,
                5,
                "XML error: expecting root element of 'node', not 'domain'"
            )
        );
        std::fs::write(dir.join("empty.xml"), "").unwrap();
        let e = TestState::from_node_file(&dir.join("empty.xml"))
            .unwrap_err()
            .to_vir();
        assert_eq!((e.code, e.domain), (35, 12));
        assert!(e.message.ends_with(":1: Document is empty\n(null)\n^"));
        std::fs::remove_dir_all(dir).unwrap();
    }
}
