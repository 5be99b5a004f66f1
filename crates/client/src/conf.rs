//! The client configuration file `libvirt.conf`: where it lives and the keys the connection
//! logic reads (`uri_default`, `uri_aliases`, `remote_mode`, `remote_proxy`).
//!
//! Parsing uses libvirt's conf grammar from [`oxvirt_conf`]; unknown keys are ignored and the
//! first occurrence of a repeated key wins, as in libvirt.
//!
//! ```
//! use oxvirt_client::conf::ClientConf;
//!
//! let c = ClientConf::parse(
//!     "libvirt.conf",
//!     "uri_aliases = [\n  \"hail=qemu+ssh://root@hail.cloud.example.com/system\",\n]\n\
//!      uri_default = \"qemu:///system\"  # comment\n",
//! )
//! .unwrap();
//! assert_eq!(c.uri_default.as_deref(), Some("qemu:///system"));
//! assert_eq!(c.uri_aliases.len(), 1);
//! ```

use std::path::PathBuf;

use crate::Env;
use oxvirt_conf::grammar::{ConfFile, GrammarError};
use oxvirt_conf::typed::ValueError;

/// Errors reading `libvirt.conf`.
#[derive(Debug, thiserror::Error)]
pub enum ConfError {
    /// The text does not follow the conf grammar.
    #[error(transparent)]
    Syntax(#[from] GrammarError),
    /// A key holds a value of the wrong type (e.g. `uri_aliases` not a list).
    #[error(transparent)]
    Value(#[from] ValueError),
    /// A non-root client has neither `XDG_CONFIG_HOME` nor `HOME`.
    #[error("Cannot determine user config directory: HOME is not set")]
    NoHome,
}

/// The keys of `libvirt.conf` used to pick a connection.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ClientConf {
    /// `uri_default`: the URI used when the caller gives none and `LIBVIRT_DEFAULT_URI` is unset.
    pub uri_default: Option<String>,
    /// `uri_aliases`: entries `alias=uri`, searched in order.
    pub uri_aliases: Vec<String>,
    /// `remote_mode`: `auto`, `legacy` or `direct` (validated when used).
    pub remote_mode: Option<String>,
    /// `remote_proxy`: `auto`, `netcat` or `native` (validated when used).
    pub remote_proxy: Option<String>,
}

impl ClientConf {
    /// Parses the text of a `libvirt.conf`; `path` only appears in messages.
    ///
    /// ```
    /// use oxvirt_client::conf::ClientConf;
    /// assert!(ClientConf::parse("x.conf", "uri_aliases = \"not-a-list\"").is_err());
    /// assert_eq!(ClientConf::parse("x.conf", "").unwrap(), ClientConf::default());
    /// ```
    pub fn parse(path: &str, text: &str) -> Result<Self, ConfError> {
        let file = ConfFile::parse(path, text)?;
        Ok(Self {
            uri_default: file.get_string("uri_default")?,
            uri_aliases: file.get_string_list("uri_aliases")?.unwrap_or_default(),
            remote_mode: file.get_string("remote_mode")?,
            remote_proxy: file.get_string("remote_proxy")?,
        })
    }

    /// Where the client reads its configuration: `/etc/libvirt/libvirt.conf` for root,
    /// else `$XDG_CONFIG_HOME/libvirt/libvirt.conf` (or `$HOME/.config/libvirt/libvirt.conf`).
    /// A missing file simply means "no settings".
    ///
    /// ```
    /// use oxvirt_client::{conf::ClientConf, Env};
    /// let env = Env::from_pairs([("HOME", "/home/u")]);
    /// assert_eq!(
    ///     ClientConf::path(1000, &env).unwrap().to_str(),
    ///     Some("/home/u/.config/libvirt/libvirt.conf")
    /// );
    /// assert_eq!(ClientConf::path(0, &env).unwrap().to_str(), Some("/etc/libvirt/libvirt.conf"));
    /// ```
    pub fn path(euid: u32, env: &Env) -> Result<PathBuf, ConfError> {
        if euid == 0 {
            return Ok(PathBuf::from("/etc/libvirt/libvirt.conf"));
        }
        let base = match env.get("XDG_CONFIG_HOME") {
            Some(x) => PathBuf::from(x),
            None => PathBuf::from(env.get("HOME").ok_or(ConfError::NoHome)?).join(".config"),
        };
        Ok(base.join("libvirt").join("libvirt.conf"))
    }
}
