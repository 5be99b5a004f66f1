//! Lifecycle events the driver raises. The driver pushes them into an [`EventSink`]; the remote
//! program subscribes (one receiver per client connection) and turns them into MESSAGE frames
//! for the clients that registered a callback.

use crate::refs::{DomainRef, NetworkRef, PoolRef};

/// libvirt's domain lifecycle event types (`virDomainEventType`).
pub mod domain_event {
    pub const DEFINED: i32 = 0;
    pub const UNDEFINED: i32 = 1;
    pub const STARTED: i32 = 2;
    pub const SUSPENDED: i32 = 3;
    pub const RESUMED: i32 = 4;
    pub const STOPPED: i32 = 5;
    pub const SHUTDOWN: i32 = 6;
    pub const PMSUSPENDED: i32 = 7;
    pub const CRASHED: i32 = 8;
}

/// libvirt's network lifecycle event types (`virNetworkEventLifecycleType`).
pub mod network_event {
    pub const DEFINED: i32 = 0;
    pub const UNDEFINED: i32 = 1;
    pub const STARTED: i32 = 2;
    pub const STOPPED: i32 = 3;
}

/// libvirt's storage pool lifecycle event types (`virStoragePoolEventLifecycleType`).
pub mod pool_event {
    pub const DEFINED: i32 = 0;
    pub const UNDEFINED: i32 = 1;
    pub const STARTED: i32 = 2;
    pub const STOPPED: i32 = 3;
    pub const CREATED: i32 = 4;
    pub const DELETED: i32 = 5;
}

/// One event raised by the driver.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DriverEvent {
    /// Domain lifecycle (event id 0): event type and detail as libvirt numbers them.
    DomainLifecycle {
        dom: DomainRef,
        event: i32,
        detail: i32,
    },
    /// Domain reboot (event id 1).
    DomainReboot { dom: DomainRef },
    /// Network lifecycle.
    NetworkLifecycle {
        net: NetworkRef,
        event: i32,
        detail: i32,
    },
    /// Storage pool lifecycle.
    PoolLifecycle {
        pool: PoolRef,
        event: i32,
        detail: i32,
    },
    /// Storage pool refreshed.
    PoolRefresh { pool: PoolRef },
}

/// Where driver code sends events. Cloning is cheap; sending with no subscriber is not an error.
#[derive(Debug, Clone)]
pub struct EventSink {
    tx: tokio::sync::broadcast::Sender<DriverEvent>,
    /// How many events were raised; an event's sequence number is the count after it.
    emitted: std::sync::Arc<std::sync::Mutex<u64>>,
}

impl Default for EventSink {
    fn default() -> Self {
        Self::new()
    }
}

impl EventSink {
    /// A sink with room for 1024 undelivered events per slow subscriber.
    pub fn new() -> Self {
        let (tx, _) = tokio::sync::broadcast::channel(1024);
        EventSink {
            tx,
            emitted: Default::default(),
        }
    }

    /// Raise an event.
    pub fn emit(&self, ev: DriverEvent) {
        let mut n = self.emitted.lock().unwrap_or_else(|e| e.into_inner());
        *n += 1;
        let _ = self.tx.send(ev);
    }

    /// How many events have been raised so far: a registration made now wants only the events
    /// whose sequence number is above it.
    pub fn emitted(&self) -> u64 {
        *self.emitted.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// A new receiver, and the sequence number of the last event it will not see (the first
    /// event it receives is number `n + 1`, the next `n + 2`, ...).
    pub fn subscribe_counted(&self) -> (tokio::sync::broadcast::Receiver<DriverEvent>, u64) {
        let n = self.emitted.lock().unwrap_or_else(|e| e.into_inner());
        (self.tx.subscribe(), *n)
    }

    /// A new receiver that sees every event raised from now on.
    pub fn subscribe(&self) -> tokio::sync::broadcast::Receiver<DriverEvent> {
        self.tx.subscribe()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn refresh(name: &str) -> DriverEvent {
        DriverEvent::PoolRefresh {
            pool: PoolRef {
                name: name.into(),
                uuid: [0; 16],
            },
        }
    }

    #[test]
    fn events_are_numbered_so_late_registrations_skip_earlier_ones() {
        let s = EventSink::new();
        s.emit(refresh("before"));
        let (mut rx, base) = s.subscribe_counted();
        assert_eq!(base, 1);
        s.emit(refresh("after"));
        assert_eq!(s.emitted(), 2);
        // The receiver's first event is number base + 1 = 2, the one raised after it subscribed.
        match rx.try_recv().unwrap() {
            DriverEvent::PoolRefresh { pool } => assert_eq!(pool.name, "after"),
            other => panic!("{other:?}"),
        }
        assert!(rx.try_recv().is_err());
        // Clones share the count.
        s.clone().emit(refresh("clone"));
        assert_eq!(s.emitted(), 3);
    }
}
