//! libvirt's test driver: an in-memory hypervisor with libvirt's default objects and semantics.
//!
//! Who talks to whom: the remote program (in the daemon) opens a [`TestConnection`] for a
//! `test:///default` or `test:///ABSOLUTE/PATH.xml` URI and calls its methods; it never sees
//! sockets. The connection locks one shared state; every state change that libvirt reports as an
//! event is pushed into the state's [`event::EventSink`], to which each client subscribes.

pub mod error;
pub mod event;
pub mod refs;

pub use error::{DriverError, DriverResult};
pub use event::{DriverEvent, EventSink};
pub use refs::*;
