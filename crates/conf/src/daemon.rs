//! `libvirtd.conf`, `virtproxyd.conf` and the modular `virt<drv>d.conf` files.
//!
//! One [`DaemonConfig`] type serves all of them; [`DaemonKind`] says whether the daemon has the
//! network (TCP/TLS) keys and which daemon it is. Defaults are libvirt's *code* defaults, which
//! differ from the commented values in the shipped conf files in a few places (`admin_*` limits).
//!
//! Build-dependent defaults, as chosen for oxvirt (no SASL or polkit support yet):
//! - `auth_unix_ro` / `auth_unix_rw` default to `none` (libvirt uses `polkit` for root when built
//!   with polkit);
//! - `auth_tcp` defaults to `sasl` exactly as a SASL-enabled libvirt build does, so a default
//!   config never silently opens an unauthenticated TCP socket.
//!
//! Unknown keys are not errors (libvirt ignores them silently); [`DaemonConfig::load`] returns a
//! [`Warning`] for each so the daemon can log typos.

use std::path::Path;

use crate::error::{unknown_keys, ConfError, Warning};
use crate::grammar::ConfFile;

mod load;
#[cfg(test)]
mod sample_tests;
#[cfg(test)]
mod tests;

pub use load::{parse_host_uuid, parse_mode};

/// Which daemon a config is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DaemonKind<'a> {
    /// Whether the daemon has TCP/TLS listeners (libvirtd, virtproxyd) and thus the network keys.
    pub has_ip: bool,
    /// Daemon name, e.g. `libvirtd`, `virtproxyd`, `virtqemud`.
    pub name: &'a str,
}

impl DaemonKind<'static> {
    /// The monolithic libvirtd.
    pub const LIBVIRTD: Self = Self {
        has_ip: true,
        name: "libvirtd",
    };
    /// virtproxyd.
    pub const VIRTPROXYD: Self = Self {
        has_ip: true,
        name: "virtproxyd",
    };
}

impl<'a> DaemonKind<'a> {
    /// A modular driver daemon (`virtqemud`, `virtnetworkd`, ...): no network keys.
    pub const fn modular(name: &'a str) -> Self {
        Self {
            has_ip: false,
            name,
        }
    }
}

/// How clients on a socket are authenticated.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AuthType {
    /// No authentication.
    None,
    /// SASL authentication.
    Sasl,
    /// polkit authorization (UNIX sockets).
    Polkit,
}

impl AuthType {
    /// Parses `none`, `sasl` or `polkit` (exact, case-sensitive).
    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "none" => Some(Self::None),
            "sasl" => Some(Self::Sasl),
            "polkit" => Some(Self::Polkit),
            _ => None,
        }
    }

    /// The config-file spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::None => "none",
            Self::Sasl => "sasl",
            Self::Polkit => "polkit",
        }
    }
}

/// Where the host UUID comes from when `host_uuid` is unset.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum HostUuidSource {
    /// SMBIOS system UUID (`"smbios"`, the default).
    Smbios,
    /// `/etc/machine-id` (`"machine-id"`).
    MachineId,
}

/// The TCP/TLS keys, present only for daemons with [`DaemonKind::has_ip`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NetworkConfig {
    /// `listen_tls`: libvirtd 1 (honoured only with `--listen`), virtproxyd 0.
    pub listen_tls: bool,
    /// `listen_tcp`: default 0.
    pub listen_tcp: bool,
    /// `tls_port`: port number or service name, default `"16514"`.
    pub tls_port: String,
    /// `tcp_port`: port number or service name, default `"16509"`.
    pub tcp_port: String,
    /// `listen_addr`: unset means the wildcard address of every family.
    pub listen_addr: Option<String>,
    /// `auth_tcp`: default `sasl`.
    pub auth_tcp: AuthType,
    /// `auth_tls`: default `none` (the client certificate check is the primary auth).
    pub auth_tls: AuthType,
    /// `tcp_min_ssf`: default 56; explicit values below [`MIN_EXPLICIT_SSF`] are rejected.
    pub tcp_min_ssf: u32,
    /// `key_file`: unset means the built-in path (root/non-root dependent).
    pub key_file: Option<String>,
    /// `cert_file`: unset means the built-in path.
    pub cert_file: Option<String>,
    /// `ca_file`: unset means the built-in path.
    pub ca_file: Option<String>,
    /// `crl_file`: unset means no CRL.
    pub crl_file: Option<String>,
    /// `tls_no_sanity_certificate`: default 0.
    pub tls_no_sanity_certificate: bool,
    /// `tls_no_verify_certificate`: default 0.
    pub tls_no_verify_certificate: bool,
    /// `tls_allowed_dn_list`: unset means no DN check; an empty list admits nobody.
    pub tls_allowed_dn_list: Option<Vec<String>>,
    /// `tls_priority`: unset means the TLS library's build default (usually `"NORMAL"`).
    pub tls_priority: Option<String>,
}

/// Every key of a libvirtd-family config file, with libvirt's code defaults.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DaemonConfig {
    /// Network keys; `None` for modular daemons, which do not have them.
    pub network: Option<NetworkConfig>,
    /// `unix_sock_group`: unset keeps the socket's group as root.
    pub unix_sock_group: Option<String>,
    /// `unix_sock_ro_perms`, parsed octal; default `0777`.
    pub unix_sock_ro_perms: u32,
    /// `unix_sock_rw_perms`, parsed octal; default `0700`, or `0777` when `auth_unix_rw` is polkit.
    pub unix_sock_rw_perms: u32,
    /// `unix_sock_admin_perms`, parsed octal; default `0700`.
    pub unix_sock_admin_perms: u32,
    /// `unix_sock_dir`: unset means `/run/libvirt` (root) or `$XDG_RUNTIME_DIR/libvirt`.
    pub unix_sock_dir: Option<String>,
    /// `auth_unix_ro`: default `none` in oxvirt (see module docs).
    pub auth_unix_ro: AuthType,
    /// `auth_unix_rw`: default `none` in oxvirt (see module docs).
    pub auth_unix_rw: AuthType,
    /// `access_drivers`: unset means `["none"]` (no access control).
    pub access_drivers: Option<Vec<String>>,
    /// `sasl_allowed_username_list`: unset means no check; an empty list admits nobody.
    pub sasl_allowed_username_list: Option<Vec<String>>,
    /// `max_clients`: default 5000.
    pub max_clients: u32,
    /// `max_queued_clients` (listen backlog): default 1000.
    pub max_queued_clients: u32,
    /// `max_anonymous_clients`: default 20; 0 disables; must not exceed `max_clients`.
    pub max_anonymous_clients: u32,
    /// `min_workers`: default 5.
    pub min_workers: u32,
    /// `max_workers`: default 20; must be at least 1.
    pub max_workers: u32,
    /// `prio_workers`: default 5.
    pub prio_workers: u32,
    /// `max_client_requests`: default 5.
    pub max_client_requests: u32,
    /// `admin_min_workers`: default 5 (the conf comment's 1 is wrong).
    pub admin_min_workers: u32,
    /// `admin_max_workers`: default 20 (the conf comment's 5 is wrong).
    pub admin_max_workers: u32,
    /// `admin_max_clients`: default 5000 (the conf comment's 5 is wrong).
    pub admin_max_clients: u32,
    /// `admin_max_queued_clients`: default 20.
    pub admin_max_queued_clients: u32,
    /// `admin_max_client_requests`: default 5.
    pub admin_max_client_requests: u32,
    /// `log_level`: default 0 (keep the built-in priority).
    pub log_level: u32,
    /// `log_filters`: unset by default.
    pub log_filters: Option<String>,
    /// `log_outputs`: unset means the default output.
    pub log_outputs: Option<String>,
    /// `audit_level`: default 1.
    pub audit_level: u32,
    /// `audit_logging`: default 0.
    pub audit_logging: bool,
    /// `host_uuid`, validated and normalised to lowercase `8-4-4-4-12` form.
    pub host_uuid: Option<String>,
    /// `host_uuid_source`: default `smbios`.
    pub host_uuid_source: HostUuidSource,
    /// `keepalive_interval`: default 5; -1 means never ping.
    pub keepalive_interval: i32,
    /// `keepalive_count`: default 5.
    pub keepalive_count: u32,
    /// `admin_keepalive_interval`: default 5.
    pub admin_keepalive_interval: i32,
    /// `admin_keepalive_count`: default 5.
    pub admin_keepalive_count: u32,
    /// `ovs_timeout` (seconds for `ovs-vsctl`): default 5.
    pub ovs_timeout: u32,
}

/// Explicit `tcp_min_ssf` values below this are rejected (libvirt's `SSF_WARNING_LEVEL`).
pub const MIN_EXPLICIT_SSF: u32 = 112;

/// Network keys, in libvirt's load order.
pub const IP_KEYS: &[&str] = &[
    "listen_tcp",
    "listen_tls",
    "tls_port",
    "tcp_port",
    "listen_addr",
    "auth_tcp",
    "auth_tls",
    "tls_no_sanity_certificate",
    "tls_no_verify_certificate",
    "key_file",
    "cert_file",
    "ca_file",
    "crl_file",
    "tls_allowed_dn_list",
    "tls_priority",
    "tcp_min_ssf",
];

/// Keys every libvirtd-family daemon knows, including the obsolete, ignored ones.
pub const COMMON_KEYS: &[&str] = &[
    "auth_unix_rw",
    "auth_unix_ro",
    "access_drivers",
    "unix_sock_group",
    "unix_sock_admin_perms",
    "unix_sock_ro_perms",
    "unix_sock_rw_perms",
    "unix_sock_dir",
    "sasl_allowed_username_list",
    "min_workers",
    "max_workers",
    "max_clients",
    "max_queued_clients",
    "max_anonymous_clients",
    "prio_workers",
    "max_client_requests",
    "admin_min_workers",
    "admin_max_workers",
    "admin_max_clients",
    "admin_max_queued_clients",
    "admin_max_client_requests",
    "audit_level",
    "audit_logging",
    "host_uuid",
    "host_uuid_source",
    "log_level",
    "log_filters",
    "log_outputs",
    "keepalive_interval",
    "keepalive_count",
    "admin_keepalive_interval",
    "admin_keepalive_count",
    "ovs_timeout",
    "keepalive_required",
    "admin_keepalive_required",
];

impl NetworkConfig {
    /// Defaults for a daemon with network keys.
    pub fn defaults(kind: DaemonKind<'_>) -> Self {
        Self {
            listen_tls: kind.name == "libvirtd",
            listen_tcp: false,
            tls_port: "16514".to_owned(),
            tcp_port: "16509".to_owned(),
            listen_addr: None,
            auth_tcp: AuthType::Sasl,
            auth_tls: AuthType::None,
            tcp_min_ssf: 56,
            key_file: None,
            cert_file: None,
            ca_file: None,
            crl_file: None,
            tls_no_sanity_certificate: false,
            tls_no_verify_certificate: false,
            tls_allowed_dn_list: None,
            tls_priority: None,
        }
    }
}

impl DaemonConfig {
    /// libvirt's code defaults for `kind` (with oxvirt's auth choices, see module docs).
    pub fn defaults(kind: DaemonKind<'_>) -> Self {
        Self {
            network: kind.has_ip.then(|| NetworkConfig::defaults(kind)),
            unix_sock_group: None,
            unix_sock_ro_perms: 0o777,
            unix_sock_rw_perms: 0o700,
            unix_sock_admin_perms: 0o700,
            unix_sock_dir: None,
            auth_unix_ro: AuthType::None,
            auth_unix_rw: AuthType::None,
            access_drivers: None,
            sasl_allowed_username_list: None,
            max_clients: 5000,
            max_queued_clients: 1000,
            max_anonymous_clients: 20,
            min_workers: 5,
            max_workers: 20,
            prio_workers: 5,
            max_client_requests: 5,
            admin_min_workers: 5,
            admin_max_workers: 20,
            admin_max_clients: 5000,
            admin_max_queued_clients: 20,
            admin_max_client_requests: 5,
            log_level: 0,
            log_filters: None,
            log_outputs: None,
            audit_level: 1,
            audit_logging: false,
            host_uuid: None,
            host_uuid_source: HostUuidSource::Smbios,
            keepalive_interval: 5,
            keepalive_count: 5,
            admin_keepalive_interval: 5,
            admin_keepalive_count: 5,
            ovs_timeout: 5,
        }
    }

    /// Parses `text` (from `path`, used in messages) and applies it over the defaults.
    pub fn load(
        path: &str,
        text: &str,
        kind: DaemonKind<'_>,
    ) -> Result<(Self, Vec<Warning>), ConfError> {
        Self::from_conf(&ConfFile::parse(path, text)?, kind)
    }

    /// Reads `path` and loads it. A missing file yields the defaults when `allow_missing` is set
    /// (the implicit default config file); an explicit `--config` file must exist.
    pub fn load_file(
        path: &Path,
        kind: DaemonKind<'_>,
        allow_missing: bool,
    ) -> Result<(Self, Vec<Warning>), ConfError> {
        match crate::read_optional(path, allow_missing)? {
            Some(conf) => Self::from_conf(&conf, kind),
            None => Ok((Self::defaults(kind), Vec::new())),
        }
    }

    /// Applies an already parsed file over the defaults and validates the result.
    pub fn from_conf(
        conf: &ConfFile,
        kind: DaemonKind<'_>,
    ) -> Result<(Self, Vec<Warning>), ConfError> {
        let mut cfg = Self::defaults(kind);
        if let Some(net) = cfg.network.as_mut() {
            load::load_network(conf, net)?;
        }
        load::load_common(conf, &mut cfg)?;
        let mut known: Vec<&str> = COMMON_KEYS.to_vec();
        if kind.has_ip {
            known.extend_from_slice(IP_KEYS);
        }
        Ok((cfg, unknown_keys(conf, &known)))
    }
}

/// Overwrites `slot` when the key was present.
pub(crate) fn set<T>(slot: &mut T, value: Option<T>) {
    if let Some(v) = value {
        *slot = v;
    }
}

/// Overwrites an optional `slot` when the key was present.
pub(crate) fn set_opt<T>(slot: &mut Option<T>, value: Option<T>) {
    if value.is_some() {
        *slot = value;
    }
}
