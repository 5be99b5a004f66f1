//! virtlockd's core: leases on files, held by the daemon on behalf of the processes (QEMU) that
//! registered with it, and fenced when their holder goes away.
//!
//! Who talks to whom (bottom up):
//! - [`protocol`]: the wire types of the lock program (0xEA7BEEF v1); no I/O.
//! - [`error`]: [`LockError`], mapped into libvirt's `virError` in one function.
//! - [`lockspace`]: one lockspace (a directory, or the default "direct" space where a resource
//!   name is the file's path): resources, their fcntl locks and owner pids.
//! - [`state`]: [`LockDaemon`], the default lockspace and the directory lockspaces by path.
//! - [`fence`]: killing an owner that disconnected while holding leases (background thread).
//! - [`mod@program`]: the RPC program over a [`LockDaemon`]: per-connection owner
//!   registration, the dispatch rules, and release + fencing when a connection closes.
//! - [`restart`]: the re-exec state (libvirt's JSON layout): lock fds survive `exec` in the
//!   same process, so their fcntl locks are never dropped; per-client private data.
//!
//! The daemon binary (sockets, activation, the exec itself) lives elsewhere and only sees
//! [`program()`], [`LockDaemon`] and the [`restart`] functions.

pub mod error;
pub mod fence;
pub mod lockspace;
pub mod program;
pub mod protocol;
pub mod restart;
pub mod state;

pub use error::LockError;
pub use lockspace::LockSpace;
pub use program::program;
pub use restart::{client_private, restore_client_private};
pub use state::LockDaemon;

#[cfg(test)]
mod testutil;
