//! The daemon family as data: each daemon is a small declarative description, and one shared
//! framework ([`crate::run`]) turns a description into a running process.

/// What distinguishes one daemon of the family from another.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DaemonSpec {
    /// Process and server name, and the config file's base name (`<name>.conf`).
    pub name: &'static str,
    /// Prefix of the UNIX socket files (`<prefix>-sock`, `-sock-ro`, `-admin-sock`).
    pub sock_prefix: &'static str,
    /// Has TCP/TLS listeners and the network config keys.
    pub has_ip: bool,
    /// Accepts `-l/--listen` (libvirtd only).
    pub has_listen_flag: bool,
    /// May run unprivileged (session mode).
    pub session: bool,
    /// Hypervisor drivers served, by URI scheme.
    pub drivers: &'static [&'static str],
}

/// The monolithic daemon. Today it serves the test driver; each further driver joins this list
/// when it exists (never as an empty shell).
pub const LIBVIRTD: DaemonSpec = DaemonSpec {
    name: "libvirtd",
    sock_prefix: "libvirt",
    has_ip: true,
    has_listen_flag: true,
    session: true,
    drivers: &["test"],
};

impl DaemonSpec {
    /// The config-crate view of this daemon.
    pub fn conf_kind(&self) -> oxvirt_conf::DaemonKind<'static> {
        oxvirt_conf::DaemonKind {
            has_ip: self.has_ip,
            name: self.name,
        }
    }
}
