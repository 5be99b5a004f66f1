//! One test-driver state: the host, its domains (and networks, pools, interfaces, node devices),
//! the event sink and the id counter for running domains.

use crate::domain::{reason, state, Domain, DomainList};
use crate::domain_xml::{DomainDef, DEFAULT_DOMAIN_XML};
use crate::event::EventSink;
use crate::interface::InterfaceList;
use crate::network::NetworkList;
use crate::node::{default_cells, Cell, NodeInfo};
use crate::nodedev::NodeDeviceList;
use crate::storage::PoolList;

/// Everything one `test:///` connection (or all `test:///default` connections) sees.
#[derive(Debug)]
pub struct TestState {
    /// `virNodeGetInfo` values.
    pub node: NodeInfo,
    /// NUMA cells (two on the default host, none for node files).
    pub cells: Vec<Cell>,
    /// The domains.
    pub domains: DomainList,
    /// Virtual networks.
    pub networks: NetworkList,
    /// Storage pools with their volumes.
    pub pools: PoolList,
    /// Host interfaces.
    pub ifaces: InterfaceList,
    /// Host node devices.
    pub nodedevs: NodeDeviceList,
    /// Where lifecycle events go.
    pub events: EventSink,
    /// The id the next started domain gets.
    pub next_dom_id: i32,
}

impl TestState {
    /// An empty host with the default node info and no objects (node files start here).
    pub fn empty() -> TestState {
        TestState {
            node: NodeInfo::default(),
            cells: Vec::new(),
            domains: DomainList::new(),
            networks: NetworkList::new(),
            pools: PoolList::new(),
            ifaces: InterfaceList::new(),
            nodedevs: NodeDeviceList::new(),
            events: EventSink::new(),
            next_dom_id: 1,
        }
    }

    /// The state of `test:///default`: the running domain `test` (id 1) and libvirt's default
    /// network, pool, interface and node devices.
    pub fn default_state() -> TestState {
        let mut st = TestState::empty();
        st.cells = default_cells();
        st.networks = NetworkList::defaults();
        st.pools = PoolList::defaults();
        st.ifaces = InterfaceList::defaults();
        st.nodedevs = NodeDeviceList::defaults();
        let def = DomainDef::parse(DEFAULT_DOMAIN_XML).expect("the default domain parses");
        st.add_running_domain(def, reason::RUNNING_UNKNOWN);
        st
    }

    /// Add a persistent domain that is already running (how the default and node-file domains
    /// come up), with the next id.
    pub fn add_running_domain(&mut self, def: DomainDef, why: i32) {
        let mut d = Domain::new_inactive(def, true);
        d.id = self.take_id();
        d.state = state::RUNNING;
        d.reason = why;
        d.new_def = Some(d.def.clone());
        self.domains.push(d);
    }

    /// Allocate the next domain id.
    pub fn take_id(&mut self) -> i32 {
        let id = self.next_dom_id;
        self.next_dom_id += 1;
        id
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn default_state_has_running_test_domain() {
        let st = TestState::default_state();
        let t = st.domains.by_name("test").unwrap();
        assert_eq!((t.id, t.state, t.reason, t.persistent), (1, 1, 0, true));
        assert_eq!(st.next_dom_id, 2);
        assert!(st.networks.lookup_by_name("default").is_ok());
        assert!(st.pools.lookup_by_name("default-pool").is_ok());
        assert_eq!(
            st.ifaces.lookup_by_name("eth1").unwrap().mac,
            "aa:bb:cc:dd:ee:ff"
        );
        assert_eq!(st.node.cpus, 16);
        assert_eq!(st.free_memory(), 3145728);
        assert_eq!(st.cells_free_memory(0, 3).unwrap(), [2097152, 4194304]);
        assert_eq!(st.cells_free_memory(1, 5).unwrap(), [4194304]);
        assert_eq!(
            st.cells_free_memory(2, 1).unwrap_err().to_vir().message,
            "invalid argument: Range exceeds available cells"
        );
    }
}
