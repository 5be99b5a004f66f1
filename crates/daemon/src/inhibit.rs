//! Auto-shutdown inhibition: while anything holds an [`InhibitGuard`] (a driver with running
//! domains, a start-up still initialising drivers), the idle timeout does not stop the daemon.
//!
//! Drivers take a guard through [`Inhibitor::inhibit`]; the run loop asks [`Inhibitor::held`]
//! when the idle timer fires and waits on [`Inhibitor::changed`] to re-evaluate.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use tokio::sync::Notify;

/// Counts what keeps the daemon alive besides connected clients.
#[derive(Debug, Default, Clone)]
pub struct Inhibitor {
    inner: Arc<Inner>,
}

#[derive(Debug, Default)]
struct Inner {
    count: AtomicUsize,
    changed: Notify,
}

/// Holds the daemon alive until dropped.
#[derive(Debug)]
pub struct InhibitGuard {
    inner: Arc<Inner>,
}

impl Inhibitor {
    /// Take an inhibition (e.g. a domain started).
    pub fn inhibit(&self) -> InhibitGuard {
        self.inner.count.fetch_add(1, Ordering::SeqCst);
        self.inner.changed.notify_waiters();
        InhibitGuard {
            inner: self.inner.clone(),
        }
    }

    /// How many inhibitions are held.
    pub fn held(&self) -> usize {
        self.inner.count.load(Ordering::SeqCst)
    }

    /// Resolves when an inhibition is taken or released.
    pub async fn changed(&self) {
        self.inner.changed.notified().await
    }
}

impl Drop for InhibitGuard {
    fn drop(&mut self) {
        self.inner.count.fetch_sub(1, Ordering::SeqCst);
        self.inner.changed.notify_waiters();
    }
}

/// The idle-timeout decision (pure): stop only with a timeout set, no client on any server,
/// and no inhibition held.
pub fn may_stop(timeout: u32, clients: usize, inhibitions: usize) -> bool {
    timeout > 0 && clients == 0 && inhibitions == 0
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn guards_count_and_release() {
        let i = Inhibitor::default();
        assert_eq!(i.held(), 0);
        let a = i.inhibit();
        let b = i.clone().inhibit();
        assert_eq!(i.held(), 2);
        drop(a);
        assert_eq!(i.held(), 1);
        drop(b);
        assert_eq!(i.held(), 0);
    }

    #[test]
    fn stop_decision() {
        assert!(may_stop(120, 0, 0));
        assert!(!may_stop(0, 0, 0), "no timeout");
        assert!(
            !may_stop(120, 1, 0),
            "a client (admin included) is connected"
        );
        assert!(!may_stop(120, 0, 1), "a driver holds an inhibition");
    }

    #[tokio::test]
    async fn release_wakes_the_run_loop() {
        let i = Inhibitor::default();
        let g = i.inhibit();
        let waiter = {
            let i = i.clone();
            tokio::spawn(async move { i.changed().await })
        };
        tokio::task::yield_now().await;
        drop(g);
        tokio::time::timeout(std::time::Duration::from_secs(5), waiter)
            .await
            .unwrap()
            .unwrap();
    }
}
