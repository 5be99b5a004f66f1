//! Opening `test:///` URIs. `test:///default` is one state shared by every open connection and
//! reset to defaults when the last of them closes; `test:///ABS/PATH.xml` parses the node file
//! into a private state on each open.

use std::sync::{Arc, Mutex, MutexGuard};

use oxvirt_virerror::ErrorDomain;
use tokio::sync::broadcast;

use crate::error::{DriverError, DriverResult};
use crate::event::{DriverEvent, EventSink};
use crate::state::TestState;

/// The shared `test:///default` state and how many connections hold it.
static DEFAULT: Mutex<Option<(Arc<Mutex<TestState>>, usize)>> = Mutex::new(None);

fn lock_ignoring_poison<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

/// One open test-driver connection.
#[derive(Debug)]
pub struct TestConnection {
    state: Arc<Mutex<TestState>>,
    shared: bool,
}

impl TestConnection {
    /// Open `test://` + `uri_path`: "/default" or an absolute node-file path.
    pub fn open(uri_path: &str) -> DriverResult<TestConnection> {
        if uri_path == "/default" {
            let mut g = lock_ignoring_poison(&DEFAULT);
            let entry =
                g.get_or_insert_with(|| (Arc::new(Mutex::new(TestState::default_state())), 0));
            entry.1 += 1;
            return Ok(TestConnection {
                state: entry.0.clone(),
                shared: true,
            });
        }
        if !uri_path.starts_with('/') {
            return Err(DriverError::InvalidArg(
                ErrorDomain::Test,
                "testOpen: supply a path or use test:///default".into(),
            ));
        }
        let st = TestState::from_node_file(std::path::Path::new(uri_path))?;
        Ok(TestConnection {
            state: Arc::new(Mutex::new(st)),
            shared: false,
        })
    }

    /// Whether this is the shared `test:///default` state.
    pub fn is_default(&self) -> bool {
        self.shared
    }

    /// Lock the state for a call. Do not hold the guard across an await.
    pub fn lock(&self) -> MutexGuard<'_, TestState> {
        lock_ignoring_poison(&self.state)
    }

    /// The state's event sink.
    pub fn events(&self) -> EventSink {
        self.lock().events.clone()
    }

    /// A receiver for every event raised in this state from now on.
    pub fn subscribe(&self) -> broadcast::Receiver<DriverEvent> {
        self.lock().events.subscribe()
    }
}

impl Drop for TestConnection {
    fn drop(&mut self) {
        if !self.shared {
            return;
        }
        let mut g = lock_ignoring_poison(&DEFAULT);
        if let Some(entry) = g.as_mut() {
            if Arc::ptr_eq(&entry.0, &self.state) {
                entry.1 -= 1;
                if entry.1 == 0 {
                    *g = None;
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Tests touching the process-wide default state run one at a time.
    pub(crate) static SERIAL: Mutex<()> = Mutex::new(());

    #[test]
    fn default_state_is_shared_and_reset_after_last_close() {
        let _s = lock_ignoring_poison(&SERIAL);
        let a = TestConnection::open("/default").unwrap();
        let b = TestConnection::open("/default").unwrap();
        assert!(a.is_default());
        let t = a.lock().domains.lookup_by_name("test").unwrap();
        a.lock().destroy(t.key(), 0).unwrap();
        assert_eq!(b.lock().get_state(t.key(), 0).unwrap(), (5, 2));
        drop(a);
        assert_eq!(
            b.lock().get_state(t.key(), 0).unwrap(),
            (5, 2),
            "still shared while b is open"
        );
        drop(b);
        let c = TestConnection::open("/default").unwrap();
        assert_eq!(c.lock().get_state(t.key(), 0).unwrap(), (1, 0));
        assert_eq!(c.lock().domains.lookup_by_name("test").unwrap().id, 1);
    }

    #[test]
    fn events_reach_subscribers() {
        let _s = lock_ignoring_poison(&SERIAL);
        let c = TestConnection::open("/default").unwrap();
        let mut rx = c.subscribe();
        let t = c.lock().domains.lookup_by_name("test").unwrap();
        c.lock().suspend(t.key()).unwrap();
        match rx.try_recv().unwrap() {
            DriverEvent::DomainLifecycle { dom, event, detail } => {
                assert_eq!(
                    (dom.name.as_str(), dom.id, event, detail),
                    ("test", 1, 3, 0)
                );
            }
            other => panic!("{other:?}"),
        }
        let _ = c.events();
    }

    #[test]
    fn bad_paths() {
        let e = TestConnection::open("relative.xml").unwrap_err().to_vir();
        assert_eq!((e.code, e.domain), (8, 12));
        let e = TestConnection::open("/nosuch.xml").unwrap_err().to_vir();
        assert_eq!(
            (e.code, e.domain, e.message.as_str()),
            (
                27,
                12,
                "XML error: failed to parse xml document '/nosuch.xml'"
            )
        );
    }
}
