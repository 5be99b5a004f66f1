//! virtlockd's core on the support-daemon framework: the lockspaces ([`oxvirt_lockd`]) and
//! their program. Leases live only as long as their owner's connection (a closed connection
//! releases them), so connected clients are what keeps virtlockd from idling out.

use crate::support::Core;
use oxvirt_lockd::LockDaemon;
use oxvirt_rpc::Program;
use serde_json::{Map, Value};
use std::sync::Arc;
use tokio::sync::watch;

struct LockdCore {
    state: Arc<LockDaemon>,
    busy: watch::Sender<usize>,
}

/// Build the core, restoring `defaultLockspace` and `lockspaces` of `saved` when given.
pub(crate) fn make(saved: Option<&Value>) -> Result<Arc<dyn Core>, String> {
    let state = match saved {
        Some(s) if s.get("defaultLockspace").is_some() => {
            LockDaemon::restore(s).map_err(|e| e.to_string())?
        }
        _ => LockDaemon::new(),
    };
    Ok(Arc::new(LockdCore {
        state,
        busy: watch::channel(0).0,
    }))
}

impl Core for LockdCore {
    fn program(&self) -> Arc<dyn Program> {
        oxvirt_lockd::program(self.state.clone())
    }

    fn busy(&self) -> watch::Receiver<usize> {
        self.busy.subscribe()
    }

    fn save_for_exec(&self) -> Map<String, Value> {
        match self.state.save_for_exec() {
            Value::Object(m) => m,
            _ => Map::new(),
        }
    }
}
