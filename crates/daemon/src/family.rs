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
    /// Which program the main server runs, and so which config file schema applies.
    pub role: Role,
}

/// What a daemon of the family is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Role {
    /// The REMOTE program (libvirtd, virtproxyd, virt${DRIVER}d).
    Remote,
    /// virtlogd: guest log pipes ([`oxvirt_logd`]).
    Logd,
    /// virtlockd: disk-image leases ([`oxvirt_lockd`]).
    Lockd,
}

impl Role {
    /// virtlogd and virtlockd upgrade in place by re-executing themselves on SIGUSR1.
    pub fn re_executes(self) -> bool {
        matches!(self, Role::Logd | Role::Lockd)
    }
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
    role: Role::Remote,
};

/// The log daemon: holds the read end of every guest's stdout/stderr pipe.
pub const VIRTLOGD: DaemonSpec = DaemonSpec {
    name: "virtlogd",
    sock_prefix: "virtlogd",
    has_ip: false,
    has_listen_flag: false,
    session: true,
    drivers: &[],
    role: Role::Logd,
};

/// The lock daemon: holds the fcntl leases on disk images.
pub const VIRTLOCKD: DaemonSpec = DaemonSpec {
    name: "virtlockd",
    sock_prefix: "virtlockd",
    has_ip: false,
    has_listen_flag: false,
    session: true,
    drivers: &[],
    role: Role::Lockd,
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
