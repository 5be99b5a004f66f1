//! libvirt's test driver: an in-memory hypervisor with libvirt's default objects and semantics.
//!
//! Who talks to whom: the remote program (in the daemon) opens a [`TestConnection`] for a
//! `test:///default` or `test:///ABSOLUTE/PATH.xml` URI and calls its methods; it never sees
//! sockets. The connection locks one shared state; every state change that libvirt reports as an
//! event is pushed into the state's [`event::EventSink`], to which each client subscribes.

pub mod connection;
pub mod domain;
pub mod domain_ops;
pub mod domain_res;
pub mod domain_xml;
pub mod domain_xml_chr;
pub mod domain_xml_devices;
pub mod domain_xml_el;
pub mod domain_xml_top;
pub mod error;
pub mod event;
pub mod interface;
pub mod network;
pub mod node;
pub mod node_file;
pub mod nodedev;
mod objlist;
pub mod refs;
pub mod state;
pub mod storage;
pub mod xmlfmt;

pub use connection::TestConnection;
pub use domain::{Domain, DomainList};
pub use domain_ops::DomainInfo;
pub use domain_xml::DomainDef;
pub use error::{DriverError, DriverResult};
pub use event::{DriverEvent, EventSink};
pub use node::NodeInfo;
pub use refs::*;
pub use state::TestState;

/// Helpers shared by the unit tests of every object family.
#[cfg(test)]
pub(crate) mod test_util {
    /// A golden file captured from the reference daemon.
    pub fn golden(name: &str) -> String {
        let p = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("tests/golden")
            .join(name);
        std::fs::read_to_string(p).unwrap()
    }

    /// (code, domain, message) of a driver error, as clients see it.
    pub fn vir(e: crate::DriverError) -> (i32, i32, String) {
        let v = e.to_vir();
        (v.code, v.domain, v.message)
    }
}
