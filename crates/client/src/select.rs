//! Which URI a connection opens: the caller's name, else `LIBVIRT_DEFAULT_URI`, else
//! `uri_default` from `libvirt.conf`, else none (the client probes and asks the server with
//! `CONNECT_GET_URI`). Names are expanded through `uri_aliases` unless the caller passed
//! `VIR_CONNECT_NO_ALIASES`.
//!
//! ```
//! use oxvirt_client::{conf::ClientConf, select::select_uri, Env};
//!
//! let conf = ClientConf {
//!     uri_aliases: vec!["hail=qemu+ssh://root@hail.cloud.example.com/system".into()],
//!     ..ClientConf::default()
//! };
//! let uri = select_uri(Some("hail"), &Env::default(), &conf, false).unwrap().unwrap();
//! assert_eq!(uri.host(), Some("hail.cloud.example.com"));
//! assert!(select_uri(None, &Env::default(), &conf, false).unwrap().is_none());
//! ```

use crate::conf::ClientConf;
use crate::uri::{RemoteUri, UriError};
use crate::Env;

/// Errors choosing or expanding the URI.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SelectError {
    /// An alias entry has no `=`.
    #[error("Malformed 'uri_aliases' config entry '{0}', expected 'alias=uri://host/path'")]
    AliasNoEquals(String),
    /// An alias name uses characters outside `[a-zA-Z0-9_\-.]`.
    #[error(
        "Malformed 'uri_aliases' config entry '{0}', aliases may only contain 'a-Z, 0-9, _, -'"
    )]
    AliasBadName(String),
    /// The chosen URI does not parse.
    #[error(transparent)]
    Uri(#[from] UriError),
    /// `qemu://system`: the path was written as a host name.
    #[error("invalid URI {uri} (maybe you want {scheme}:///{host})")]
    MissingSlash {
        /// The URI as given.
        uri: String,
        /// Its scheme.
        scheme: String,
        /// `system` or `session`.
        host: String,
    },
}

/// Expands `name` through `uri_aliases` entries (`alias=uri`); the first entry whose alias
/// equals `name` wins. Malformed entries met before a match are errors.
///
/// ```
/// use oxvirt_client::select::resolve_alias;
/// let aliases = ["a=test:///default".to_string(), "b=qemu:///system".to_string()];
/// assert_eq!(resolve_alias(&aliases, "b").unwrap(), Some("qemu:///system"));
/// assert_eq!(resolve_alias(&aliases, "c").unwrap(), None);
/// ```
pub fn resolve_alias<'a>(
    aliases: &'a [String],
    name: &str,
) -> Result<Option<&'a str>, SelectError> {
    for entry in aliases {
        let (alias, target) = entry
            .split_once('=')
            .ok_or_else(|| SelectError::AliasNoEquals(entry.clone()))?;
        if !alias
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"_-.".contains(&b))
        {
            return Err(SelectError::AliasBadName(entry.clone()));
        }
        if alias == name {
            return Ok(Some(target));
        }
    }
    Ok(None)
}

/// The URI text before alias expansion: `explicit` (an empty string counts as none), else
/// `LIBVIRT_DEFAULT_URI`, else `uri_default`; `None` means "probe".
///
/// ```
/// use oxvirt_client::{conf::ClientConf, select::default_uri_text, Env};
/// let env = Env::from_pairs([("LIBVIRT_DEFAULT_URI", "test:///default")]);
/// assert_eq!(default_uri_text(None, &env, &ClientConf::default()), Some("test:///default"));
/// assert_eq!(default_uri_text(Some("qemu:///system"), &env, &ClientConf::default()),
///            Some("qemu:///system"));
/// ```
pub fn default_uri_text<'a>(
    explicit: Option<&'a str>,
    env: &'a Env,
    conf: &'a ClientConf,
) -> Option<&'a str> {
    explicit
        .filter(|s| !s.is_empty())
        .or_else(|| env.get("LIBVIRT_DEFAULT_URI"))
        .or(conf.uri_default.as_deref().filter(|s| !s.is_empty()))
}

/// Chooses, expands and parses the URI to open; `Ok(None)` means no URI (probe).
/// `no_aliases` mirrors `VIR_CONNECT_NO_ALIASES`.
///
/// ```
/// use oxvirt_client::{conf::ClientConf, select::select_uri, Env};
/// let err = select_uri(Some("qemu://system"), &Env::default(), &ClientConf::default(), false);
/// assert_eq!(
///     err.unwrap_err().to_string(),
///     "invalid URI qemu://system (maybe you want qemu:///system)"
/// );
/// ```
pub fn select_uri(
    explicit: Option<&str>,
    env: &Env,
    conf: &ClientConf,
    no_aliases: bool,
) -> Result<Option<RemoteUri>, SelectError> {
    let Some(text) = default_uri_text(explicit, env, conf) else {
        return Ok(None);
    };
    let text = if no_aliases {
        text
    } else {
        resolve_alias(&conf.uri_aliases, text)?.unwrap_or(text)
    };
    let uri = RemoteUri::parse(text)?;
    if let Some(host) = uri.host() {
        if uri.path().is_empty() && (host == "system" || host == "session") {
            return Err(SelectError::MissingSlash {
                uri: text.to_owned(),
                scheme: uri.scheme().to_owned(),
                host: host.to_owned(),
            });
        }
    }
    Ok(Some(uri))
}
