//! `virtlogd.conf` ([`LogdConfig`]) and `virtlockd.conf` ([`LockdConfig`]).
//!
//! Both use the same grammar and typed getters as the libvirtd family, with libvirt's code
//! defaults (the shipped conf comments claim `admin_max_clients = 5`; the code uses 5000).
//! Unknown keys produce a [`Warning`] each instead of being silently ignored.

use std::path::Path;

use crate::daemon::{set, set_opt};
use crate::error::{unknown_keys, ConfError, Warning};
use crate::grammar::ConfFile;

#[cfg(test)]
mod tests;

/// Largest accepted `max_backups`.
pub const MAX_BACKUPS_LIMIT: u32 = 32;

/// Keys of `virtlockd.conf`.
pub const LOCKD_KEYS: &[&str] = &[
    "log_level",
    "log_filters",
    "log_outputs",
    "max_clients",
    "admin_max_clients",
];

/// Keys of `virtlogd.conf`.
pub const LOGD_KEYS: &[&str] = &[
    "log_level",
    "log_filters",
    "log_outputs",
    "max_clients",
    "admin_max_clients",
    "max_size",
    "max_backups",
    "max_age_days",
    "log_root",
];

/// Settings from `virtlogd.conf`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LogdConfig {
    /// `log_level`: default 0 (keep the built-in priority).
    pub log_level: u32,
    /// `log_filters`: unset by default.
    pub log_filters: Option<String>,
    /// `log_outputs`: unset means the default output.
    pub log_outputs: Option<String>,
    /// `max_clients` on the main socket: default 1024.
    pub max_clients: u32,
    /// `admin_max_clients`: default 5000.
    pub admin_max_clients: u32,
    /// `max_size` in bytes before a log file rolls over: default 2 MiB; 0 never rolls.
    pub max_size: u64,
    /// `max_backups`: rotated copies kept, default 3, at most [`MAX_BACKUPS_LIMIT`].
    pub max_backups: u32,
    /// `max_age_days`: delete rotated chains older than this; default 0 (disabled).
    pub max_age_days: u32,
    /// `log_root`: directory the age-based cleaner scans, default `/var/log/libvirt/`.
    pub log_root: String,
}

/// Settings from `virtlockd.conf`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LockdConfig {
    /// `log_level`: default 0 (keep the built-in priority).
    pub log_level: u32,
    /// `log_filters`: unset by default.
    pub log_filters: Option<String>,
    /// `log_outputs`: unset means the default output.
    pub log_outputs: Option<String>,
    /// `max_clients`: default 1024 (each running VM needs one connection).
    pub max_clients: u32,
    /// `admin_max_clients`: default 5000.
    pub admin_max_clients: u32,
}

impl Default for LogdConfig {
    fn default() -> Self {
        Self {
            log_level: 0,
            log_filters: None,
            log_outputs: None,
            max_clients: 1024,
            admin_max_clients: 5000,
            max_size: 2 * 1024 * 1024,
            max_backups: 3,
            max_age_days: 0,
            log_root: "/var/log/libvirt/".to_owned(),
        }
    }
}

impl Default for LockdConfig {
    fn default() -> Self {
        Self {
            log_level: 0,
            log_filters: None,
            log_outputs: None,
            max_clients: 1024,
            admin_max_clients: 5000,
        }
    }
}

impl LogdConfig {
    /// Parses `text` (from `path`, used in messages) and applies it over the defaults.
    pub fn load(path: &str, text: &str) -> Result<(Self, Vec<Warning>), ConfError> {
        Self::from_conf(&ConfFile::parse(path, text)?)
    }

    /// Reads `path`; a missing file gives the defaults when `allow_missing` is set.
    pub fn load_file(path: &Path, allow_missing: bool) -> Result<(Self, Vec<Warning>), ConfError> {
        match crate::read_optional(path, allow_missing)? {
            Some(conf) => Self::from_conf(&conf),
            None => Ok((Self::default(), Vec::new())),
        }
    }

    /// Applies an already parsed file over the defaults and validates the result.
    pub fn from_conf(conf: &ConfFile) -> Result<(Self, Vec<Warning>), ConfError> {
        let mut cfg = Self::default();
        set(&mut cfg.log_level, conf.get_uint("log_level")?);
        set_opt(&mut cfg.log_filters, conf.get_string("log_filters")?);
        set_opt(&mut cfg.log_outputs, conf.get_string("log_outputs")?);
        set(&mut cfg.max_clients, conf.get_uint("max_clients")?);
        set(
            &mut cfg.admin_max_clients,
            conf.get_uint("admin_max_clients")?,
        );
        set(&mut cfg.max_size, conf.get_u64("max_size")?);
        set(&mut cfg.max_backups, conf.get_uint("max_backups")?);
        if cfg.max_backups > MAX_BACKUPS_LIMIT {
            return Err(ConfError::invalid(
                &conf.path,
                "max_backups",
                format!(
                    "max_backups {} is greater than the maximum allowed {MAX_BACKUPS_LIMIT}",
                    cfg.max_backups
                ),
            ));
        }
        set(&mut cfg.max_age_days, conf.get_uint("max_age_days")?);
        set(&mut cfg.log_root, conf.get_string("log_root")?);
        Ok((cfg, unknown_keys(conf, LOGD_KEYS)))
    }
}

impl LockdConfig {
    /// Parses `text` (from `path`, used in messages) and applies it over the defaults.
    pub fn load(path: &str, text: &str) -> Result<(Self, Vec<Warning>), ConfError> {
        Self::from_conf(&ConfFile::parse(path, text)?)
    }

    /// Reads `path`; a missing file gives the defaults when `allow_missing` is set.
    pub fn load_file(path: &Path, allow_missing: bool) -> Result<(Self, Vec<Warning>), ConfError> {
        match crate::read_optional(path, allow_missing)? {
            Some(conf) => Self::from_conf(&conf),
            None => Ok((Self::default(), Vec::new())),
        }
    }

    /// Applies an already parsed file over the defaults.
    pub fn from_conf(conf: &ConfFile) -> Result<(Self, Vec<Warning>), ConfError> {
        let mut cfg = Self::default();
        set(&mut cfg.log_level, conf.get_uint("log_level")?);
        set_opt(&mut cfg.log_filters, conf.get_string("log_filters")?);
        set_opt(&mut cfg.log_outputs, conf.get_string("log_outputs")?);
        set(&mut cfg.max_clients, conf.get_uint("max_clients")?);
        set(
            &mut cfg.admin_max_clients,
            conf.get_uint("admin_max_clients")?,
        );
        Ok((cfg, unknown_keys(conf, LOCKD_KEYS)))
    }
}
