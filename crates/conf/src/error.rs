//! The error a daemon gets when its config file cannot be loaded, and non-fatal warnings.
//!
//! libvirt daemons print `Can't load config file: <msg>: <path>` and exit with status 1 on any
//! config error; [`ConfError::startup_message`] builds exactly that line. Every variant carries
//! the file path, and [`ConfError`]'s `Display` gives `<msg>` (which names the key and the file).

use std::fmt;

use crate::grammar::GrammarError;
use crate::typed::ValueError;

/// Exit status libvirt uses for config load failures (`EXIT_FAILURE`).
pub const CONFIG_EXIT_STATUS: i32 = 1;

/// Why a daemon config could not be loaded.
#[derive(Debug, thiserror::Error)]
pub enum ConfError {
    /// The file could not be read or parsed.
    #[error(transparent)]
    Grammar(#[from] GrammarError),
    /// A key held a value of the wrong type or range.
    #[error(transparent)]
    Value(#[from] ValueError),
    /// An auth key was not "none", "sasl" or "polkit".
    #[error("{path}: {key}: unsupported auth {value}")]
    UnsupportedAuth {
        /// Config file.
        path: String,
        /// The auth key.
        key: String,
        /// The rejected value.
        value: String,
    },
    /// A socket permission string was not an octal mode.
    #[error("{path}: Failed to parse mode '{value}' for '{key}' parameter")]
    InvalidMode {
        /// Config file.
        path: String,
        /// The perms key.
        key: String,
        /// The rejected value.
        value: String,
    },
    /// A key's value was of the right type but not acceptable; `message` says why.
    #[error("{path}: {message}")]
    Invalid {
        /// Config file.
        path: String,
        /// The offending key.
        key: String,
        /// libvirt-style explanation.
        message: String,
    },
}

impl ConfError {
    /// Builds an [`ConfError::Invalid`].
    pub(crate) fn invalid(path: &str, key: &str, message: impl Into<String>) -> Self {
        Self::Invalid {
            path: path.to_owned(),
            key: key.to_owned(),
            message: message.into(),
        }
    }

    /// The config file the error is about.
    pub fn path(&self) -> &str {
        match self {
            Self::Grammar(e) => e.path(),
            Self::Value(e) => e.path(),
            Self::UnsupportedAuth { path, .. }
            | Self::InvalidMode { path, .. }
            | Self::Invalid { path, .. } => path,
        }
    }

    /// The key the error is about, when there is one (syntax errors have none).
    pub fn key(&self) -> Option<&str> {
        match self {
            Self::Grammar(_) => None,
            Self::Value(e) => Some(e.key()),
            Self::UnsupportedAuth { key, .. }
            | Self::InvalidMode { key, .. }
            | Self::Invalid { key, .. } => Some(key),
        }
    }

    /// The line a daemon prints before exiting with [`CONFIG_EXIT_STATUS`]:
    /// `Can't load config file: <msg>: <path>`.
    pub fn startup_message(&self) -> String {
        format!("Can't load config file: {self}: {}", self.path())
    }
}

/// A non-fatal finding while loading a config.
///
/// libvirt silently ignores keys it does not know, so typos go unnoticed; oxvirt accepts the
/// file just the same but reports each unknown key so the daemon can log it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Warning {
    /// Config file.
    pub path: String,
    /// The unknown key.
    pub key: String,
    /// 1-based line of the key.
    pub line: usize,
}

impl fmt::Display for Warning {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "unknown key '{}' in {}, ignored", self.key, self.path)
    }
}

/// One warning per statement whose key is not in `known` (each occurrence of a duplicate too).
pub(crate) fn unknown_keys(conf: &crate::grammar::ConfFile, known: &[&str]) -> Vec<Warning> {
    conf.entries
        .iter()
        .filter(|e| !known.contains(&e.name.as_str()))
        .map(|e| Warning {
            path: conf.path.clone(),
            key: e.name.clone(),
            line: e.line,
        })
        .collect()
}
