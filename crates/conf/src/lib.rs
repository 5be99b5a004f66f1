//! libvirt-compatible daemon configuration for oxvirt.
//!
//! - [`grammar`]: the "virconf" file grammar shared by every libvirt `.conf` file;
//! - [`typed`]: typed getters (bool, string, integers, string list) with libvirt's rules;
//! - [`daemon`]: `libvirtd.conf` / `virtproxyd.conf` / `virt<drv>d.conf` as [`DaemonConfig`];
//! - [`logd`]: `virtlogd.conf` ([`LogdConfig`]) and `virtlockd.conf` ([`LockdConfig`]);
//! - [`error`]: [`ConfError`], the single error a daemon reports at startup, and [`Warning`].
//!
//! A daemon that fails to load its config prints [`ConfError::startup_message`] and exits with
//! [`error::CONFIG_EXIT_STATUS`], as libvirt does.

use std::path::Path;

pub mod daemon;
pub mod error;
pub mod grammar;
pub mod logd;
pub mod typed;

pub use daemon::{AuthType, DaemonConfig, DaemonKind, HostUuidSource, NetworkConfig};
pub use error::{ConfError, Warning};
pub use grammar::{ConfFile, Entry, GrammarError, Value};
pub use logd::{LockdConfig, LogdConfig};
pub use typed::ValueError;

/// Reads and parses `path`; `Ok(None)` if it does not exist and `allow_missing` is set.
pub fn read_optional(path: &Path, allow_missing: bool) -> Result<Option<ConfFile>, ConfError> {
    match ConfFile::read(path) {
        Ok(conf) => Ok(Some(conf)),
        Err(GrammarError::Io { source, .. })
            if allow_missing && source.kind() == std::io::ErrorKind::NotFound =>
        {
            Ok(None)
        }
        Err(e) => Err(e.into()),
    }
}
