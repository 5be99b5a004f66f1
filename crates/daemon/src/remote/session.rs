//! A client's open hypervisor connection (after CONNECT_OPEN): the driver connection, the URI
//! it was opened with, and its event registrations.

use super::events::EventRegs;
use oxvirt_driver_test::TestConnection;
use std::sync::{Arc, Mutex};
use tokio::task::JoinHandle;

/// Per-client state of the REMOTE program.
#[derive(Default)]
pub struct RemoteClient {
    session: Mutex<Option<Arc<Session>>>,
}

impl RemoteClient {
    /// The open session, if any.
    pub fn session(&self) -> Option<Arc<Session>> {
        self.session.lock().unwrap().clone()
    }

    /// Install a freshly opened session.
    pub fn set(&self, s: Arc<Session>) {
        *self.session.lock().unwrap() = Some(s);
    }

    /// Drop the session (CONNECT_CLOSE, disconnect, or a second CONNECT_OPEN).
    pub fn close(&self) {
        if let Some(s) = self.session.lock().unwrap().take() {
            s.stop_events();
        }
    }
}

/// An open hypervisor connection.
pub struct Session {
    /// The driver connection.
    pub conn: TestConnection,
    /// The canonical URI (CONNECT_GET_URI).
    pub uri: String,
    /// Event callbacks registered by the client.
    pub regs: Mutex<EventRegs>,
    /// Whether the client asked for CONNECT_EVENT_CONNECTION_CLOSED.
    pub close_callback: Mutex<bool>,
    forwarder: Mutex<Option<JoinHandle<()>>>,
}

impl Session {
    /// A session over `conn`.
    pub fn new(conn: TestConnection, uri: String) -> Arc<Session> {
        Arc::new(Session {
            conn,
            uri,
            regs: Mutex::new(EventRegs::default()),
            close_callback: Mutex::new(false),
            forwarder: Mutex::new(None),
        })
    }

    /// True once an event forwarding task runs for this session.
    pub fn has_forwarder(&self) -> bool {
        self.forwarder.lock().unwrap().is_some()
    }

    /// Remember the event forwarding task so it stops with the session.
    pub fn set_forwarder(&self, h: JoinHandle<()>) {
        *self.forwarder.lock().unwrap() = Some(h);
    }

    fn stop_events(&self) {
        if let Some(h) = self.forwarder.lock().unwrap().take() {
            h.abort();
        }
    }
}

impl Drop for Session {
    fn drop(&mut self) {
        self.stop_events();
    }
}
