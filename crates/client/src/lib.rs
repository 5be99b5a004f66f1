//! oxvirt-client: a pure-Rust libvirt client, wire-compatible with libvirt 9.0.
//!
//! The I/O-free core decides *where* to connect, exactly as
//! libvirt's C client (the remote driver) does:
//!
//! - [`uri`]: parse a connection URI into driver, transport, host, port, path and parameters,
//!   and build the name sent in `CONNECT_OPEN`;
//! - [`conf`]: the client's `libvirt.conf` keys (`uri_default`, `uri_aliases`, `remote_mode`,
//!   `remote_proxy`);
//! - [`select`]: which URI to open (explicit, `LIBVIRT_DEFAULT_URI`, `uri_default`, probing)
//!   and `uri_aliases` expansion;
//! - [`sockets`]: the endpoint (UNIX socket path and modular/monolithic daemon choice, TCP/TLS
//!   address, SSH proxy), session-daemon autospawn, and the `CONNECT_OPEN` flags;
//! - [`transport`]: the `ssh` and `ext` transports (a spawned command on a socketpair);
//! - [`connection`]: the async client on tokio: [`Connection::open`], the open handshake,
//!   many calls in flight over one socket, fd passing, keepalive, close reasons; [`api`] has
//!   the typed REMOTE calls (connection, host, domains, networks, storage, interfaces, node
//!   devices, secrets, network filters), [`events`] the event streams and [`stream`] data
//!   streams (console, volume upload and download);
//! - [`blocking`]: the same connection for synchronous code, each call run on the caller's
//!   thread;
//! - [`admin`]: [`AdminConnection`], the client of a daemon's admin socket (what `virt-admin`
//!   does: servers, clients, limits, logging);
//! - [`error`]: [`ClientError`], libvirt's error (code, domain, message) whose `Display` is
//!   what virsh prints after `error: `.
//!
//! The planning modules touch neither the network nor the file system except through the `exists`
//! predicate a caller hands to [`sockets::Context`], so every rule is testable with temp dirs.
//!
//! ```
//! use oxvirt_client::{conf::ClientConf, select, sockets, Env};
//!
//! let env = Env::from_pairs([("XDG_RUNTIME_DIR", "/run/user/1000")]);
//! let conf = ClientConf::default();
//! let uri = select::select_uri(Some("qemu:///session"), &env, &conf, false)
//!     .unwrap()
//!     .unwrap();
//! let no_files = |_: &std::path::Path| false;
//! let ctx = sockets::Context::new(1000, &env, &conf).with_exists(&no_files);
//! let plan = sockets::plan(Some(&uri), false, &ctx).unwrap();
//! assert_eq!(plan.open_name, "qemu:///session");
//! assert_eq!(plan.open_flags, sockets::OPEN_USER | sockets::OPEN_AUTOSTART);
//! let unix = plan.endpoint.unix().unwrap();
//! assert_eq!(unix.path.to_str(), Some("/run/user/1000/libvirt/libvirt-sock"));
//! assert_eq!(unix.spawn.as_ref().unwrap().binary.to_str(), Some("/usr/sbin/libvirtd"));
//! ```
#![warn(missing_docs)]

use std::collections::BTreeMap;

pub mod admin;
pub mod api;
pub mod autostart;
pub mod blocking;
pub mod conf;
pub mod connection;
pub mod error;
pub mod events;
mod io;
pub mod select;
pub mod sockets;
pub mod stream;
pub mod transport;
pub mod uri;

pub use admin::AdminConnection;
pub use api::{
    DomainInfo, DomainState, Interface, Network, NodeDevice, NwFilter, Secret, StoragePool,
    StorageVol, Uuid,
};
pub use conf::ClientConf;
pub use connection::{CloseReason, Connection, Features};
pub use error::{ClientError, Disconnect};
pub use events::{
    DomainEvent, DomainEventId, EventStream, LifecycleEvent, LifecycleKind, Registration,
};
pub use oxvirt_proto::remote::Domain;
pub use sockets::{plan, ConnectPlan, Context, Endpoint};
pub use uri::{Mode, Proxy, RemoteUri, Transport};

/// A snapshot of the environment variables the connection logic reads.
///
/// Empty values count as unset, as libvirt treats them for every variable used here.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Env {
    vars: BTreeMap<String, String>,
}

impl Env {
    /// An environment holding exactly `pairs`.
    ///
    /// ```
    /// use oxvirt_client::Env;
    /// let env = Env::from_pairs([("HOME", "/home/u"), ("LIBVIRT_AUTOSTART", "")]);
    /// assert_eq!(env.get("HOME"), Some("/home/u"));
    /// assert_eq!(env.get("LIBVIRT_AUTOSTART"), None);
    /// ```
    pub fn from_pairs<K: Into<String>, V: Into<String>>(
        pairs: impl IntoIterator<Item = (K, V)>,
    ) -> Self {
        Self {
            vars: pairs
                .into_iter()
                .map(|(k, v)| (k.into(), v.into()))
                .collect(),
        }
    }

    /// The variables of the current process (non-UTF-8 entries are skipped).
    pub fn from_process() -> Self {
        Self::from_pairs(std::env::vars())
    }

    /// The value of `name`, or `None` when unset or empty.
    pub fn get(&self, name: &str) -> Option<&str> {
        self.vars
            .get(name)
            .map(String::as_str)
            .filter(|v| !v.is_empty())
    }

    /// Sets (or replaces) a variable.
    pub fn set(&mut self, name: impl Into<String>, value: impl Into<String>) {
        self.vars.insert(name.into(), value.into());
    }
}
