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
pub mod error;
pub mod event;
pub mod interface;
pub mod network;
pub mod node;
pub mod node_file;
pub mod nodedev;
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
