//! virtlogd's core: everything the log daemon does between the RPC layer and the disk.
//!
//! ```text
//! virtqemud ──RPC──> program ──> handler ──> rotating::RotatingWriter ──> base, base.0, ...
//!                       │           │  ▲
//!                       │           │  └── pipe read ends, drained by tokio tasks
//!   QEMU stdout/stderr ─┼───────────┼──┘   (the write end goes back in the OPEN reply)
//!                       │           └────> rotating::RotatingReader (READ)
//!                       └── protocol (wire types)        cleaner ──> log_root (max_age_days)
//! ```
//!
//! - [`protocol`]: the log manager program's wire types and numbers.
//! - [`rotating`]: size-rotated files (libvirt's rotating file semantics), writer and reader.
//! - [`handler`]: the open log files, their pipes and draining tasks; re-exec state.
//! - [`cleaner`]: deletes whole rotated chains older than `max_age_days`.
//! - [`mod@program`]: the RPC program over a handler.
//! - [`error`]: [`LogError`] and its one mapping to libvirt's error value.
//!
//! The daemon binary (sockets, activation, process re-exec) lives elsewhere and uses
//! [`program()`], [`LogHandler`] and [`spawn_cleaner`].

pub mod cleaner;
pub mod error;
pub mod handler;
pub mod program;
pub mod protocol;
pub mod rotating;

pub use cleaner::spawn_cleaner;
pub use error::LogError;
pub use handler::{LogHandler, LogSettings};
pub use program::program;
