//! The daemon's lock state: the default lockspace and the directory lockspaces by path, behind
//! one mutex (every operation is short and never waits on a lock: F_SETLK only).
//!
//! [`mod@crate::program`] calls it for each procedure and when a connection closes;
//! [`crate::restart`] serialises it for exec and rebuilds it afterwards.

use crate::error::LockError;
use crate::lockspace::LockSpace;
use std::collections::BTreeMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};

/// All lockspaces of the daemon.
#[derive(Debug, Default)]
pub(crate) struct Spaces {
    /// The default (direct) lockspace, addressed by the empty path.
    pub default: LockSpace,
    /// Directory lockspaces by the path they were created with.
    pub dirs: BTreeMap<String, LockSpace>,
}

impl Spaces {
    /// The lockspace for `path` ("" is the default one).
    pub fn find(&mut self, path: &str) -> Option<&mut LockSpace> {
        if path.is_empty() {
            Some(&mut self.default)
        } else {
            self.dirs.get_mut(path)
        }
    }

    fn all(&mut self) -> impl Iterator<Item = &mut LockSpace> {
        std::iter::once(&mut self.default).chain(self.dirs.values_mut())
    }
}

/// virtlockd's state.
#[derive(Debug)]
pub struct LockDaemon {
    spaces: Mutex<Spaces>,
    fencing: AtomicBool,
}

impl LockDaemon {
    /// A daemon with only the default lockspace.
    pub fn new() -> Arc<LockDaemon> {
        Self::from_spaces(Spaces::default())
    }

    pub(crate) fn from_spaces(spaces: Spaces) -> Arc<LockDaemon> {
        Arc::new(LockDaemon {
            spaces: Mutex::new(spaces),
            fencing: AtomicBool::new(true),
        })
    }

    /// The lockspaces. A panic elsewhere must not wedge every later call, so poisoning is
    /// ignored (each lockspace operation leaves the table consistent at every step).
    pub(crate) fn spaces(&self) -> MutexGuard<'_, Spaces> {
        self.spaces.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Whether owners that disconnect while holding leases are killed (on by default; in-process
    /// drivers such as fuzzers turn it off so that made-up pids are never signalled).
    pub fn set_fencing(&self, on: bool) {
        self.fencing.store(on, Ordering::Relaxed)
    }

    /// See [`LockDaemon::set_fencing`].
    pub fn fencing(&self) -> bool {
        self.fencing.load(Ordering::Relaxed)
    }

    /// CREATE_LOCKSPACE: make sure a lockspace exists for `path` (its directory is created
    /// 0700); one that exists already, and the default one (""), are fine.
    pub fn create_lockspace(&self, path: &str) -> Result<(), LockError> {
        let mut s = self.spaces();
        if s.find(path).is_some() {
            tracing::debug!("Lockspace for path {path} already exists");
            return Ok(());
        }
        let ls = LockSpace::new(path)?;
        s.dirs.insert(path.to_string(), ls);
        Ok(())
    }

    /// NEW: create a lockspace for `path`, which must not exist yet.
    pub fn new_lockspace(&self, path: &str) -> Result<(), LockError> {
        if path.is_empty() {
            return Err(LockError::DefaultLockspaceExists);
        }
        let mut s = self.spaces();
        if s.find(path).is_some() {
            return Err(LockError::LockspaceExists(path.to_string()));
        }
        let ls = LockSpace::new(path)?;
        s.dirs.insert(path.to_string(), ls);
        Ok(())
    }

    /// True if a lockspace exists for `path`.
    pub fn has_lockspace(&self, path: &str) -> bool {
        self.spaces().find(path).is_some()
    }

    /// Run `f` on the lockspace of `path` ("Lockspace for path ... does not exist" if none).
    pub fn with_lockspace<R>(
        &self,
        path: &str,
        f: impl FnOnce(&mut LockSpace) -> Result<R, LockError>,
    ) -> Result<R, LockError> {
        let mut s = self.spaces();
        let ls = s
            .find(path)
            .ok_or_else(|| LockError::NoLockspace(path.to_string()))?;
        f(ls)
    }

    /// Drop every lease of `owner` in every lockspace; the number of resources it held.
    pub fn release_owner(&self, owner: u32) -> usize {
        self.spaces().all().map(|ls| ls.release_owner(owner)).sum()
    }

    /// Number of resources held, over all lockspaces.
    pub fn held_count(&self) -> usize {
        let s = self.spaces();
        s.default.len() + s.dirs.values().map(LockSpace::len).sum::<usize>()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::protocol::ACQUIRE_AUTOCREATE;

    #[test]
    fn lockspaces_by_path() {
        let t = tempfile::tempdir().unwrap();
        let dir = t.path().join("a/b");
        let dir = dir.to_str().unwrap();
        let d = LockDaemon::new();
        assert!(d.has_lockspace(""));
        assert!(!d.has_lockspace(dir));
        assert_eq!(
            d.with_lockspace(dir, |_| Ok(())).unwrap_err(),
            LockError::NoLockspace(dir.into())
        );
        d.create_lockspace(dir).unwrap();
        d.create_lockspace(dir).unwrap();
        d.create_lockspace("").unwrap();
        assert_eq!(
            d.new_lockspace(dir).unwrap_err(),
            LockError::LockspaceExists(dir.into())
        );
        assert_eq!(
            d.new_lockspace("").unwrap_err(),
            LockError::DefaultLockspaceExists
        );
        d.with_lockspace(dir, |ls| ls.acquire("r", 5, ACQUIRE_AUTOCREATE))
            .unwrap();
        let other = t.path().join("c");
        d.new_lockspace(other.to_str().unwrap()).unwrap();
        d.with_lockspace(other.to_str().unwrap(), |ls| {
            ls.acquire("r", 5, ACQUIRE_AUTOCREATE)
        })
        .unwrap();
        assert_eq!(d.held_count(), 2);
        assert_eq!(d.release_owner(5), 2);
        assert_eq!(d.held_count(), 0);
    }
}
