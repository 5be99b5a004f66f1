//! Connection URIs: `driver[+transport]://[user@][host][:port]/path[?params][#fragment]`.
//!
//! This module parses a libvirt connection URI, splits the scheme into driver and transport
//! the way libvirt's remote driver does, separates the query parameters the remote driver
//! consumes (`socket`, `mode`, `proxy`, `command`, …) from those it passes through, and
//! rebuilds the name the client sends in `CONNECT_OPEN` ([`RemoteUri::name_for_open`]).
//!
//! ```
//! use oxvirt_client::uri::{RemoteUri, Transport};
//!
//! let uri = RemoteUri::parse("qemu+ssh://root@example.com/system?keyfile=/k").unwrap();
//! assert_eq!(uri.driver(), "qemu");
//! assert_eq!(uri.transport(), Transport::Ssh);
//! assert_eq!(uri.user(), Some("root"));
//! assert_eq!(uri.remote().keyfile.as_deref(), Some("/k"));
//! assert_eq!(uri.name_for_open(), "qemu:///system");
//! ```

use std::fmt;

/// Errors raised while parsing a URI or its remote-driver parameters.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum UriError {
    /// The text is not a URI (no scheme, bad port, unterminated `[`, …).
    #[error("Unable to parse URI {0}")]
    Unparsable(String),
    /// The `+transport` suffix of the scheme is unknown.
    #[error("transport in URL not recognised (should be tls|unix|ssh|ext|tcp|libssh2|libssh)")]
    UnknownTransport,
    /// `driver+unix://host/…`: a UNIX socket cannot reach another machine.
    #[error("using unix socket and remote server '{0}' is not supported.")]
    UnixWithServer(String),
    /// A boolean parameter (`no_verify`, `no_tty`, `no_sanity`) is not an integer.
    #[error("Failed to parse value of URI component {0}")]
    BadBoolean(String),
    /// `mode=` is not `auto`, `legacy` or `direct`.
    #[error("Unknown remote mode '{0}'")]
    UnknownMode(String),
    /// `proxy=` is not `auto`, `netcat` or `native`.
    #[error("Unknown proxy type '{0}'")]
    UnknownProxy(String),
    /// `known_hosts_verify=` is not `normal`, `auto` or `ignore`.
    #[error("Unknown known_hosts_verify value '{0}'")]
    UnknownKnownHostsVerify(String),
}

/// How the client reaches the daemon, from the `+transport` part of the scheme.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Transport {
    /// Local UNIX socket (default when the URI has no host).
    Unix,
    /// Plain TCP (port 16509).
    Tcp,
    /// TLS over TCP (port 16514; default when the URI has a host).
    Tls,
    /// The `ssh` binary, running `nc` or `virt-ssh-helper` remotely.
    Ssh,
    /// libssh2 library transport.
    Libssh2,
    /// libssh library transport.
    Libssh,
    /// An external command (`command=`) whose stdin/stdout carry the protocol.
    Ext,
}

impl Transport {
    /// Parses a transport name, case-insensitively, as libvirt does.
    ///
    /// ```
    /// use oxvirt_client::uri::Transport;
    /// assert_eq!(Transport::parse("SSH"), Some(Transport::Ssh));
    /// assert_eq!(Transport::parse("udp"), None);
    /// ```
    pub fn parse(s: &str) -> Option<Self> {
        Some(match s.to_ascii_lowercase().as_str() {
            "unix" => Self::Unix,
            "tcp" => Self::Tcp,
            "tls" => Self::Tls,
            "ssh" => Self::Ssh,
            "libssh2" => Self::Libssh2,
            "libssh" => Self::Libssh,
            "ext" => Self::Ext,
            _ => return None,
        })
    }

    /// The lowercase name used in URIs and messages.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Unix => "unix",
            Self::Tcp => "tcp",
            Self::Tls => "tls",
            Self::Ssh => "ssh",
            Self::Libssh2 => "libssh2",
            Self::Libssh => "libssh",
            Self::Ext => "ext",
        }
    }

    /// True for the three SSH flavours.
    pub fn is_ssh(self) -> bool {
        matches!(self, Self::Ssh | Self::Libssh2 | Self::Libssh)
    }

    /// The port used when the URI gives none: 16509 for TCP, 16514 for TLS, 22 for the SSH
    /// flavours, `None` for UNIX and ext.
    ///
    /// ```
    /// use oxvirt_client::uri::Transport;
    /// assert_eq!(Transport::Tls.default_port(), Some(16514));
    /// ```
    pub fn default_port(self) -> Option<u16> {
        match self {
            Self::Tcp => Some(16509),
            Self::Tls => Some(16514),
            Self::Ssh | Self::Libssh2 | Self::Libssh => Some(22),
            Self::Unix | Self::Ext => None,
        }
    }
}

impl fmt::Display for Transport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Which daemon a local socket should lead to (`mode=` / `remote_mode`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Mode {
    /// Modular daemon socket if it exists, else libvirtd's, else the build default.
    Auto,
    /// Monolithic `libvirtd` (`libvirt-sock`).
    Legacy,
    /// Modular `virt<driver>d` (`virt<driver>d-sock`).
    Direct,
}

impl Mode {
    /// Parses `auto`, `legacy` or `direct` (exact, lowercase).
    ///
    /// ```
    /// use oxvirt_client::uri::Mode;
    /// assert_eq!(Mode::parse("direct").unwrap(), Mode::Direct);
    /// assert!(Mode::parse("modular").is_err());
    /// ```
    pub fn parse(s: &str) -> Result<Self, UriError> {
        match s {
            "auto" => Ok(Self::Auto),
            "legacy" => Ok(Self::Legacy),
            "direct" => Ok(Self::Direct),
            _ => Err(UriError::UnknownMode(s.to_owned())),
        }
    }

    /// The lowercase name.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Auto => "auto",
            Self::Legacy => "legacy",
            Self::Direct => "direct",
        }
    }
}

/// What runs on the far side of an SSH transport (`proxy=` / `remote_proxy`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Proxy {
    /// `virt-ssh-helper` if installed remotely, else `nc`.
    Auto,
    /// Always `nc -U <socket>`.
    Netcat,
    /// Always `virt-ssh-helper`.
    Native,
}

impl Proxy {
    /// Parses `auto`, `netcat` or `native`.
    ///
    /// ```
    /// use oxvirt_client::uri::Proxy;
    /// assert_eq!(Proxy::parse("native").unwrap(), Proxy::Native);
    /// ```
    pub fn parse(s: &str) -> Result<Self, UriError> {
        match s {
            "auto" => Ok(Self::Auto),
            "netcat" => Ok(Self::Netcat),
            "native" => Ok(Self::Native),
            _ => Err(UriError::UnknownProxy(s.to_owned())),
        }
    }
}

/// Host-key policy for the libssh/libssh2 transports (`known_hosts_verify=`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum KnownHostsVerify {
    /// Fail on unknown or changed keys.
    Normal,
    /// Add unknown keys, fail on changed ones.
    Auto,
    /// Do not check.
    Ignore,
}

/// One `name=value` query parameter, percent-decoded.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Param {
    /// Decoded name.
    pub name: String,
    /// Decoded value (`""` when the parameter had no `=`).
    pub value: String,
}

/// Names of the parameters the remote driver consumes and strips (compared case-insensitively).
pub const REMOTE_PARAMS: &[&str] = &[
    "name",
    "command",
    "socket",
    "auth",
    "sshauth",
    "netcat",
    "keyfile",
    "pkipath",
    "known_hosts",
    "known_hosts_verify",
    "tls_priority",
    "mode",
    "proxy",
    "no_sanity",
    "no_verify",
    "no_tty",
    "authfile",
];

/// The remote-driver parameters of a URI, typed.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct RemoteParams {
    /// `name=`: overrides the name sent in `CONNECT_OPEN`.
    pub name: Option<String>,
    /// `command=`: ext command, or the ssh binary for the ssh transport.
    pub command: Option<String>,
    /// `socket=`: explicit UNIX socket path (used verbatim).
    pub socket: Option<String>,
    /// `auth=`: preferred authentication type.
    pub auth: Option<String>,
    /// `sshauth=`: ordered list of libssh/libssh2 authentication methods.
    pub sshauth: Option<String>,
    /// `netcat=`: the `nc` binary on the remote host.
    pub netcat: Option<String>,
    /// `keyfile=`: SSH private key.
    pub keyfile: Option<String>,
    /// `pkipath=`: directory with TLS certificates.
    pub pkipath: Option<String>,
    /// `known_hosts=`: known-hosts file for libssh/libssh2.
    pub known_hosts: Option<String>,
    /// `known_hosts_verify=`.
    pub known_hosts_verify: Option<KnownHostsVerify>,
    /// `tls_priority=`: GnuTLS priority string.
    pub tls_priority: Option<String>,
    /// `mode=`.
    pub mode: Option<Mode>,
    /// `proxy=`.
    pub proxy: Option<Proxy>,
    /// `no_sanity=`: skip the client-side TLS certificate sanity checks.
    pub no_sanity: bool,
    /// `no_verify=`: skip server certificate verification / host-key checking.
    pub no_verify: bool,
    /// `no_tty=`: never prompt on a TTY (ssh `BatchMode=yes`).
    pub no_tty: bool,
    /// `authfile=`: auth credentials file (consumed by the auth layer, stripped here).
    pub authfile: Option<String>,
}

/// A parsed connection URI.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RemoteUri {
    original: String,
    scheme: String,
    driver: String,
    explicit_transport: Option<Transport>,
    transport: Transport,
    user: Option<String>,
    host: Option<String>,
    port: Option<u16>,
    path: String,
    fragment: Option<String>,
    params: Vec<Param>,
    remote: RemoteParams,
}

impl RemoteUri {
    /// Parses `text` and interprets its scheme and remote-driver parameters.
    ///
    /// ```
    /// use oxvirt_client::uri::{RemoteUri, Transport};
    ///
    /// let u = RemoteUri::parse("qemu+tcp://[::1]:1234/system").unwrap();
    /// assert_eq!(u.host(), Some("::1"));
    /// assert_eq!(u.port(), 1234);
    /// assert_eq!(u.transport(), Transport::Tcp);
    ///
    /// let u = RemoteUri::parse("qemu://host/system").unwrap();
    /// assert_eq!((u.transport(), u.port()), (Transport::Tls, 16514));
    ///
    /// assert!(RemoteUri::parse("qemu+udp:///system").is_err());
    /// ```
    pub fn parse(text: &str) -> Result<Self, UriError> {
        let raw = RawUri::parse(text)?;
        let (driver, explicit_transport) = match raw.scheme.split_once('+') {
            Some((d, t)) => (
                d.to_owned(),
                Some(Transport::parse(t).ok_or(UriError::UnknownTransport)?),
            ),
            None => (raw.scheme.clone(), None),
        };
        let transport = match explicit_transport {
            Some(t) => t,
            None if raw.host.is_some() => Transport::Tls,
            None => Transport::Unix,
        };
        if transport == Transport::Unix {
            if let Some(h) = &raw.host {
                return Err(UriError::UnixWithServer(h.clone()));
            }
        }
        let remote = RemoteParams::extract(&raw.params)?;
        Ok(Self {
            original: text.to_owned(),
            scheme: raw.scheme,
            driver,
            explicit_transport,
            transport,
            user: raw.user,
            host: raw.host,
            port: raw.port,
            path: raw.path,
            fragment: raw.fragment,
            params: raw.params,
            remote,
        })
    }

    /// The text this URI was parsed from.
    pub fn as_str(&self) -> &str {
        &self.original
    }

    /// The full scheme, e.g. `qemu+ssh`.
    pub fn scheme(&self) -> &str {
        &self.scheme
    }

    /// The driver part of the scheme, e.g. `qemu`, `test`, `remote`.
    pub fn driver(&self) -> &str {
        &self.driver
    }

    /// The transport, explicit or defaulted (unix without host, tls with one).
    pub fn transport(&self) -> Transport {
        self.transport
    }

    /// The transport only if the scheme named one (`qemu+unix`).
    pub fn explicit_transport(&self) -> Option<Transport> {
        self.explicit_transport
    }

    /// The percent-decoded user name, if any.
    pub fn user(&self) -> Option<&str> {
        self.user.as_deref()
    }

    /// The host, without IPv6 brackets; `None` when empty or absent.
    pub fn host(&self) -> Option<&str> {
        self.host.as_deref()
    }

    /// The port given in the URI (`None` when absent or 0).
    pub fn explicit_port(&self) -> Option<u16> {
        self.port
    }

    /// The effective port: explicit, else the transport default, else 0.
    pub fn port(&self) -> u16 {
        self.port.or(self.transport.default_port()).unwrap_or(0)
    }

    /// The path, e.g. `/system`; empty when absent.
    pub fn path(&self) -> &str {
        &self.path
    }

    /// The fragment after `#`, if any.
    pub fn fragment(&self) -> Option<&str> {
        self.fragment.as_deref()
    }

    /// Every query parameter, in order, percent-decoded.
    pub fn params(&self) -> &[Param] {
        &self.params
    }

    /// The parameters the remote driver does not consume, in order.
    ///
    /// ```
    /// use oxvirt_client::uri::RemoteUri;
    /// let u = RemoteUri::parse("xen:///?socket=/s&foo=bar").unwrap();
    /// let rest: Vec<_> = u.passthrough_params().map(|p| p.name.as_str()).collect();
    /// assert_eq!(rest, ["foo"]);
    /// ```
    pub fn passthrough_params(&self) -> impl Iterator<Item = &Param> {
        self.params.iter().filter(|p| !is_remote_param(&p.name))
    }

    /// The typed remote-driver parameters.
    pub fn remote(&self) -> &RemoteParams {
        &self.remote
    }

    /// True for `remote://…` / `remote+x://…`: the server picks its default driver.
    pub fn is_remote_scheme(&self) -> bool {
        self.driver.eq_ignore_ascii_case("remote")
    }

    /// The name sent in `CONNECT_OPEN`: the `name=` parameter if given; `""` for the `remote`
    /// scheme; otherwise the URI rebuilt with the bare driver as scheme, without user, host,
    /// port and the consumed parameters.
    ///
    /// ```
    /// use oxvirt_client::uri::RemoteUri;
    /// let n = |s| RemoteUri::parse(s).unwrap().name_for_open();
    /// assert_eq!(n("test+unix:///default?socket=/tmp/s"), "test:///default");
    /// assert_eq!(n("qemu+ssh://root@h:2222/system?foo=1"), "qemu:///system?foo=1");
    /// assert_eq!(n("remote+unix:///?socket=/tmp/s"), "");
    /// assert_eq!(n("qemu://h/system?name=qemu:///session"), "qemu:///session");
    /// ```
    pub fn name_for_open(&self) -> String {
        self.server_name(false)
    }

    /// The URI given to `virt-ssh-helper` on the remote host: like [`Self::name_for_open`]
    /// but keeping `mode=` and `socket=` so the helper can honour them.
    ///
    /// ```
    /// use oxvirt_client::uri::RemoteUri;
    /// let u = RemoteUri::parse("qemu+ssh://h/system?mode=direct&keyfile=/k").unwrap();
    /// assert_eq!(u.name_for_ssh_helper(), "qemu:///system?mode=direct");
    /// ```
    pub fn name_for_ssh_helper(&self) -> String {
        self.server_name(true)
    }

    fn server_name(&self, keep_mode_socket: bool) -> String {
        if let Some(name) = &self.remote.name {
            return name.clone();
        }
        if self.is_remote_scheme() {
            return String::new();
        }
        let mut out = format!("{}://{}", self.driver, self.path);
        let kept: Vec<&Param> = self
            .params
            .iter()
            .filter(|p| {
                !is_remote_param(&p.name)
                    || (keep_mode_socket
                        && (p.name.eq_ignore_ascii_case("mode")
                            || p.name.eq_ignore_ascii_case("socket")))
            })
            .collect();
        if !kept.is_empty() {
            out.push('?');
            for (i, p) in kept.iter().enumerate() {
                if i > 0 {
                    out.push('&');
                }
                percent_encode_into(&mut out, &p.name);
                out.push('=');
                percent_encode_into(&mut out, &p.value);
            }
        }
        if let Some(f) = &self.fragment {
            out.push('#');
            out.push_str(f);
        }
        out
    }
}

impl fmt::Display for RemoteUri {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.original)
    }
}

impl std::str::FromStr for RemoteUri {
    type Err = UriError;
    fn from_str(s: &str) -> Result<Self, UriError> {
        Self::parse(s)
    }
}

fn is_remote_param(name: &str) -> bool {
    REMOTE_PARAMS.iter().any(|r| r.eq_ignore_ascii_case(name))
}

impl RemoteParams {
    /// Extracts the consumed parameters; when one is repeated the last occurrence wins.
    pub fn extract(params: &[Param]) -> Result<Self, UriError> {
        let mut r = Self::default();
        for p in params {
            let v = || Some(p.value.clone());
            let boolean = || -> Result<bool, UriError> {
                p.value
                    .trim_start()
                    .parse::<i32>()
                    .map(|n| n != 0)
                    .map_err(|_| UriError::BadBoolean(p.name.clone()))
            };
            match p.name.to_ascii_lowercase().as_str() {
                "name" => r.name = v(),
                "command" => r.command = v(),
                "socket" => r.socket = v(),
                "auth" => r.auth = v(),
                "sshauth" => r.sshauth = v(),
                "netcat" => r.netcat = v(),
                "keyfile" => r.keyfile = v(),
                "pkipath" => r.pkipath = v(),
                "known_hosts" => r.known_hosts = v(),
                "known_hosts_verify" => {
                    r.known_hosts_verify = Some(match p.value.as_str() {
                        "normal" => KnownHostsVerify::Normal,
                        "auto" => KnownHostsVerify::Auto,
                        "ignore" => KnownHostsVerify::Ignore,
                        other => return Err(UriError::UnknownKnownHostsVerify(other.to_owned())),
                    })
                }
                "tls_priority" => r.tls_priority = v(),
                "mode" => r.mode = Some(Mode::parse(&p.value)?),
                "proxy" => r.proxy = Some(Proxy::parse(&p.value)?),
                "no_sanity" => r.no_sanity = boolean()?,
                "no_verify" => r.no_verify = boolean()?,
                "no_tty" => r.no_tty = boolean()?,
                "authfile" => r.authfile = v(),
                _ => {}
            }
        }
        Ok(r)
    }
}

/// The generic URI pieces, before any libvirt interpretation.
struct RawUri {
    scheme: String,
    user: Option<String>,
    host: Option<String>,
    port: Option<u16>,
    path: String,
    fragment: Option<String>,
    params: Vec<Param>,
}

impl RawUri {
    fn parse(text: &str) -> Result<Self, UriError> {
        let bad = || UriError::Unparsable(text.to_owned());
        let (scheme, rest) = text.split_once(':').ok_or_else(bad)?;
        let valid_scheme = scheme
            .chars()
            .next()
            .is_some_and(|c| c.is_ascii_alphabetic())
            && scheme
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || "+-.".contains(c));
        if !valid_scheme || text.chars().any(|c| c.is_whitespace() || c.is_control()) {
            return Err(bad());
        }
        let (rest, fragment) = match rest.split_once('#') {
            Some((r, f)) => (r, Some(percent_decode(f).ok_or_else(bad)?)),
            None => (rest, None),
        };
        let (rest, query) = match rest.split_once('?') {
            Some((r, q)) => (r, Some(q)),
            None => (rest, None),
        };
        let (mut user, mut host, mut port) = (None, None, None);
        let path_raw = if let Some(after) = rest.strip_prefix("//") {
            let end = after.find('/').unwrap_or(after.len());
            let authority = &after[..end];
            let hostport = match authority.rsplit_once('@') {
                Some((u, hp)) => {
                    user = Some(percent_decode(u).ok_or_else(bad)?);
                    hp
                }
                None => authority,
            };
            let (h, p) = if let Some(v6) = hostport.strip_prefix('[') {
                let close = v6.find(']').ok_or_else(bad)?;
                let tail = &v6[close + 1..];
                let p = match tail {
                    "" => None,
                    t => Some(t.strip_prefix(':').ok_or_else(bad)?),
                };
                (&v6[..close], p)
            } else {
                match hostport.split_once(':') {
                    Some((h, p)) => (h, Some(p)),
                    None => (hostport, None),
                }
            };
            if h.contains([']', '[']) {
                return Err(bad());
            }
            if !h.is_empty() {
                host = Some(percent_decode(h).ok_or_else(bad)?);
            }
            if let Some(p) = p.filter(|p| !p.is_empty()) {
                if !p.bytes().all(|b| b.is_ascii_digit()) {
                    return Err(bad());
                }
                let n: u16 = p.parse().map_err(|_| bad())?;
                port = (n != 0).then_some(n);
            }
            &after[end..]
        } else {
            rest
        };
        let path = percent_decode(path_raw).ok_or_else(bad)?;
        let params = match query {
            Some(q) => parse_query(q).ok_or_else(bad)?,
            None => Vec::new(),
        };
        Ok(Self {
            scheme: scheme.to_owned(),
            user,
            host,
            port,
            path,
            fragment,
            params,
        })
    }
}

/// Splits a query on `&` and `;`, decoding names and values; empty items are skipped.
fn parse_query(q: &str) -> Option<Vec<Param>> {
    q.split(['&', ';'])
        .filter(|item| !item.is_empty())
        .map(|item| {
            let (n, v) = item.split_once('=').unwrap_or((item, ""));
            Some(Param {
                name: percent_decode(n)?,
                value: percent_decode(v)?,
            })
        })
        .collect()
}

/// Decodes `%XX` escapes; `None` on a malformed escape or invalid UTF-8.
fn percent_decode(s: &str) -> Option<String> {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' {
            let hex = s.get(i + 1..i + 3)?;
            out.push(u8::from_str_radix(hex, 16).ok()?);
            i += 3;
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    String::from_utf8(out).ok()
}

/// Escapes everything but RFC 3986 unreserved characters, as libvirt formats query values.
fn percent_encode_into(out: &mut String, s: &str) {
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || b"-_.~".contains(&b) {
            out.push(char::from(b));
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decode_and_encode_roundtrip() {
        assert_eq!(percent_decode("a%20b%2Fc").as_deref(), Some("a b/c"));
        assert_eq!(percent_decode("%zz"), None);
        assert_eq!(percent_decode("%4"), None);
        let mut s = String::new();
        percent_encode_into(&mut s, "a b/c");
        assert_eq!(s, "a%20b%2Fc");
    }
}
