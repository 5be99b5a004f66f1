//! Where a parsed URI leads: the endpoint (UNIX socket of `libvirtd` or of a modular
//! `virt<driver>d`, TCP/TLS address, SSH proxy, ext command), whether a session daemon is
//! autospawned and how, and the private flags sent in `CONNECT_OPEN`.
//!
//! Rules (libvirt's remote driver):
//! - *session* when euid ≠ 0 and the path is `/session` or the scheme starts with `test+`
//!   (or no URI at all); *autostart* additionally needs no host, the unix transport and
//!   `LIBVIRT_AUTOSTART` ≠ `"0"`;
//! - system sockets live in `/var/run/libvirt/<prefix>-sock` (`-sock-ro` read-only), session
//!   ones in `$XDG_RUNTIME_DIR/libvirt/<prefix>-sock`; `<prefix>` is `libvirt` (legacy) or
//!   `virt<driver>d` (direct); `mode=auto` picks the modular socket if it exists, else
//!   `libvirt-sock` if it exists, else the build default; `socket=` always wins.
//!
//! ```
//! use oxvirt_client::{conf::ClientConf, sockets, uri::RemoteUri, Env};
//!
//! let env = Env::default();
//! let conf = ClientConf::default();
//! let exists = |p: &std::path::Path| p.ends_with("virtqemud-sock-ro");
//! let ctx = sockets::Context::new(1000, &env, &conf).with_exists(&exists);
//! let uri = RemoteUri::parse("qemu:///system").unwrap();
//! let plan = sockets::plan(Some(&uri), true, &ctx).unwrap();
//! assert_eq!(plan.open_flags, sockets::OPEN_RO);
//! let unix = plan.endpoint.unix().unwrap();
//! assert_eq!(unix.path.to_str(), Some("/var/run/libvirt/virtqemud-sock-ro"));
//! assert!(unix.spawn.is_none());
//! ```

use std::path::{Path, PathBuf};

use crate::conf::ClientConf;
use crate::uri::{Mode, Proxy, RemoteUri, Transport, UriError};
use crate::Env;

/// `CONNECT_OPEN` flag: read-only connection.
pub const OPEN_RO: u32 = 1;
/// `CONNECT_OPEN` flag: the client wants the per-user (session) daemon.
pub const OPEN_USER: u32 = 2;
/// `CONNECT_OPEN` flag: the client may autospawn the session daemon.
pub const OPEN_AUTOSTART: u32 = 4;

/// Idle timeout passed to an autospawned daemon.
pub const AUTOSPAWN_ARGS: &[&str] = &["--timeout=120"];

/// Errors deciding the endpoint.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SocketError {
    /// `mode=direct` (or `remote_mode = "direct"`) with a transport other than unix.
    #[error("Cannot use direct socket mode for {0} transport")]
    DirectNotUnix(Transport),
    /// `mode=direct` without a URI and no modular daemon found by probing.
    #[error("Cannot use direct socket mode if no URI is set")]
    DirectNoUri,
    /// The ext transport without `command=`.
    #[error("remote_open: for 'ext' transport, command is required")]
    ExtNoCommand,
    /// `netcat=` together with `proxy=native`.
    #[error("netcat path not valid with native proxy mode")]
    NetcatWithNative,
    /// Neither `XDG_RUNTIME_DIR`, `XDG_CACHE_HOME` nor `HOME` is set for a session socket.
    #[error("Cannot determine user runtime directory: HOME is not set")]
    NoRuntimeDir,
    /// A `mode`/`proxy` value from the URI or `libvirt.conf` is invalid.
    #[error(transparent)]
    Uri(#[from] UriError),
}

/// Installation directories; tests point them at temp dirs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Paths {
    /// `$LOCALSTATEDIR/run` (`/var/run`): base of the system sockets the client connects to.
    pub local_run_dir: PathBuf,
    /// `$RUNSTATEDIR` (`/run`): where direct-mode probing looks for system sockets.
    pub run_dir: PathBuf,
    /// `$SBINDIR` (`/usr/sbin`): where daemons to autospawn are found.
    pub sbindir: PathBuf,
}

impl Default for Paths {
    fn default() -> Self {
        Self {
            local_run_dir: PathBuf::from("/var/run"),
            run_dir: PathBuf::from("/run"),
            sbindir: PathBuf::from("/usr/sbin"),
        }
    }
}

fn fs_exists(path: &Path) -> bool {
    path.exists()
}

/// Everything outside the URI that the decision depends on.
pub struct Context<'a> {
    /// Effective uid of the client.
    pub euid: u32,
    /// Environment (`XDG_RUNTIME_DIR`, `HOME`, `LIBVIRT_AUTOSTART`, `VIRTD_PATH`, …).
    pub env: &'a Env,
    /// `libvirt.conf` settings (`remote_mode`, `remote_proxy`).
    pub conf: &'a ClientConf,
    /// Installation directories.
    pub paths: Paths,
    /// Mode used by `auto` when neither socket exists (libvirt's meson `remote_default_mode`,
    /// upstream `legacy`).
    pub build_default_mode: Mode,
    /// Whether a path exists (sockets and daemon binaries).
    pub exists: &'a dyn Fn(&Path) -> bool,
}

impl<'a> Context<'a> {
    /// A context with default [`Paths`], legacy build default and the real file system.
    pub fn new(euid: u32, env: &'a Env, conf: &'a ClientConf) -> Self {
        Self {
            euid,
            env,
            conf,
            paths: Paths::default(),
            build_default_mode: Mode::Legacy,
            exists: &fs_exists,
        }
    }

    /// Replaces the existence predicate.
    pub fn with_exists(mut self, exists: &'a dyn Fn(&Path) -> bool) -> Self {
        self.exists = exists;
        self
    }

    /// Replaces the installation directories.
    pub fn with_paths(mut self, paths: Paths) -> Self {
        self.paths = paths;
        self
    }

    /// The per-user runtime directory: `$XDG_RUNTIME_DIR/libvirt`, else
    /// `$XDG_CACHE_HOME/libvirt`, else `$HOME/.cache/libvirt`.
    ///
    /// ```
    /// use oxvirt_client::{conf::ClientConf, sockets::Context, Env};
    /// let env = Env::from_pairs([("HOME", "/home/u")]);
    /// let conf = ClientConf::default();
    /// let ctx = Context::new(1000, &env, &conf);
    /// assert_eq!(ctx.user_runtime_dir().unwrap().to_str(), Some("/home/u/.cache/libvirt"));
    /// ```
    pub fn user_runtime_dir(&self) -> Result<PathBuf, SocketError> {
        let base = match (
            self.env.get("XDG_RUNTIME_DIR"),
            self.env.get("XDG_CACHE_HOME"),
        ) {
            (Some(r), _) => PathBuf::from(r),
            (None, Some(c)) => PathBuf::from(c),
            (None, None) => {
                PathBuf::from(self.env.get("HOME").ok_or(SocketError::NoRuntimeDir)?).join(".cache")
            }
        };
        Ok(base.join("libvirt"))
    }

    fn exists(&self, p: &Path) -> bool {
        (self.exists)(p)
    }
}

/// Session / autostart decision for a URI (`None` = no URI, probing).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DaemonInfo {
    /// The per-user daemon is wanted (sets [`OPEN_USER`]).
    pub session: bool,
    /// The client may spawn it (sets [`OPEN_AUTOSTART`]).
    pub autostart: bool,
}

/// Decides session and autostart like libvirt's `remoteGetURIDaemonInfo`.
///
/// ```
/// use oxvirt_client::{sockets::daemon_info, uri::RemoteUri, Env};
/// let u = RemoteUri::parse("qemu:///session").unwrap();
/// let i = daemon_info(Some(&u), 1000, &Env::default());
/// assert!(i.session && i.autostart);
/// assert!(!daemon_info(Some(&u), 0, &Env::default()).session);
/// ```
pub fn daemon_info(uri: Option<&RemoteUri>, euid: u32, env: &Env) -> DaemonInfo {
    let autostart_allowed = env.get("LIBVIRT_AUTOSTART") != Some("0");
    match uri {
        None => DaemonInfo {
            session: euid != 0,
            autostart: euid != 0 && autostart_allowed,
        },
        Some(u) => {
            let session = euid != 0
                && (u.path() == "/session" || u.scheme().to_ascii_lowercase().starts_with("test+"));
            let autostart = session
                && u.host().is_none()
                && u.transport() == Transport::Unix
                && autostart_allowed;
            DaemonInfo { session, autostart }
        }
    }
}

/// The `CONNECT_OPEN` flags: [`OPEN_RO`] if read-only, [`OPEN_USER`] if session,
/// [`OPEN_AUTOSTART`] if autostart.
///
/// ```
/// use oxvirt_client::sockets::{open_flags, DaemonInfo};
/// assert_eq!(open_flags(false, DaemonInfo { session: true, autostart: true }), 6);
/// assert_eq!(open_flags(true, DaemonInfo { session: true, autostart: true }), 7);
/// ```
pub fn open_flags(read_only: bool, info: DaemonInfo) -> u32 {
    (if read_only { OPEN_RO } else { 0 })
        | (if info.session { OPEN_USER } else { 0 })
        | (if info.autostart { OPEN_AUTOSTART } else { 0 })
}

/// How to start a missing session daemon.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Spawn {
    /// The daemon binary (`VIRTD_PATH`, else `LIBVIRTD_PATH`, else `$SBINDIR/<name>`).
    pub binary: PathBuf,
    /// Its arguments (`--timeout=120`).
    pub args: Vec<String>,
    /// Lock serialising concurrent spawners: `<runtime dir>/<binary basename>.lock`.
    pub lock_file: PathBuf,
}

/// A UNIX socket endpoint.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UnixTarget {
    /// Socket path.
    pub path: PathBuf,
    /// Resolved mode; `None` when `socket=` gave the path.
    pub mode: Option<Mode>,
    /// The driver found by direct-mode probing (no URI), e.g. `qemu:///session`.
    pub probed_uri: Option<String>,
    /// Autospawn recipe when autostart applies.
    pub spawn: Option<Spawn>,
}

/// Where to connect.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Endpoint {
    /// A local UNIX socket.
    Unix(UnixTarget),
    /// Plain TCP.
    Tcp {
        /// Host (`localhost` when the URI has none).
        host: String,
        /// Port.
        port: u16,
    },
    /// TLS over TCP.
    Tls {
        /// Host (`localhost` when the URI has none).
        host: String,
        /// Port.
        port: u16,
    },
    /// One of the SSH transports.
    Ssh {
        /// `ssh`, `libssh` or `libssh2`.
        transport: Transport,
        /// Remote host (`localhost` when the URI has none).
        host: String,
        /// Explicit port; `None` lets ssh use its default (22).
        port: Option<u16>,
        /// Remote user.
        user: Option<String>,
        /// What runs remotely.
        proxy: Proxy,
        /// Remote socket for the `nc` fallback (`None` with the native proxy).
        netcat_socket: Option<PathBuf>,
        /// URI handed to `virt-ssh-helper`: the name sent in `CONNECT_OPEN` (libvirt 9.0
        /// does not keep `mode` and `socket` for the helper).
        helper_uri: String,
        /// The local ssh binary (`command=`, else `ssh`).
        binary: String,
        /// `keyfile=`: passed as `-i`.
        keyfile: Option<String>,
        /// `netcat=`: the remote `nc` binary (`None`: `nc`).
        netcat: Option<String>,
        /// `no_tty=1`: `-o BatchMode=yes`.
        no_tty: bool,
        /// `no_verify=1`: `-o StrictHostKeyChecking=no`.
        no_verify: bool,
        /// Read-only open: `virt-ssh-helper -r` and the `-sock-ro` socket.
        read_only: bool,
    },
    /// An external command.
    Ext {
        /// The `command=` value.
        command: String,
    },
}

impl Endpoint {
    /// The UNIX target, if this is one.
    pub fn unix(&self) -> Option<&UnixTarget> {
        match self {
            Self::Unix(u) => Some(u),
            _ => None,
        }
    }
}

/// The full decision for one connection.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConnectPlan {
    /// Where to connect.
    pub endpoint: Endpoint,
    /// The name sent in `CONNECT_OPEN`.
    pub open_name: String,
    /// The flags sent in `CONNECT_OPEN`.
    pub open_flags: u32,
    /// No URI was given: ask the server `CONNECT_GET_URI` after opening.
    pub query_uri_after_open: bool,
}

/// Decides the endpoint, autospawn and `CONNECT_OPEN` arguments for `uri` (`None` = probe).
pub fn plan(
    uri: Option<&RemoteUri>,
    read_only: bool,
    ctx: &Context<'_>,
) -> Result<ConnectPlan, SocketError> {
    let info = daemon_info(uri, ctx.euid, ctx.env);
    let flags = open_flags(read_only, info);
    let transport = uri.map_or(Transport::Unix, RemoteUri::transport);
    let mode = requested_mode(uri, ctx)?;
    let driver = uri.map(RemoteUri::driver);
    let host = || {
        uri.and_then(RemoteUri::host)
            .unwrap_or("localhost")
            .to_owned()
    };
    let socket_param = uri.and_then(|u| u.remote().socket.as_deref());

    let endpoint = match transport {
        Transport::Unix => {
            if let Some(s) = socket_param {
                Endpoint::Unix(UnixTarget {
                    path: PathBuf::from(s),
                    mode: None,
                    probed_uri: None,
                    spawn: None,
                })
            } else {
                let choice = choose_socket(transport, mode, driver, flags, ctx)?;
                let spawn = if info.autostart {
                    Some(spawn_for(&choice, ctx)?)
                } else {
                    None
                };
                Endpoint::Unix(UnixTarget {
                    path: choice.path,
                    mode: Some(choice.mode),
                    probed_uri: choice.probed_uri,
                    spawn,
                })
            }
        }
        Transport::Tcp => Endpoint::Tcp {
            host: host(),
            port: uri.map_or(16509, RemoteUri::port),
        },
        Transport::Tls => Endpoint::Tls {
            host: host(),
            port: uri.map_or(16514, RemoteUri::port),
        },
        Transport::Ext => Endpoint::Ext {
            command: uri
                .and_then(|u| u.remote().command.clone())
                .ok_or(SocketError::ExtNoCommand)?,
        },
        Transport::Ssh | Transport::Libssh | Transport::Libssh2 => {
            let proxy = ssh_proxy(uri, flags, ctx)?;
            let netcat_socket = match (proxy, socket_param) {
                (Proxy::Native, _) => None,
                (_, Some(s)) => Some(PathBuf::from(s)),
                (_, None) => Some(choose_socket(transport, mode, driver, flags, ctx)?.path),
            };
            let remote = uri.map(RemoteUri::remote);
            Endpoint::Ssh {
                transport,
                host: host(),
                port: uri.and_then(RemoteUri::explicit_port),
                user: uri.and_then(|u| u.user().map(str::to_owned)),
                proxy,
                netcat_socket,
                helper_uri: uri.map(RemoteUri::name_for_open).unwrap_or_default(),
                binary: remote
                    .and_then(|r| r.command.clone())
                    .unwrap_or_else(|| "ssh".into()),
                keyfile: remote.and_then(|r| r.keyfile.clone()),
                netcat: remote.and_then(|r| r.netcat.clone()),
                no_tty: remote.is_some_and(|r| r.no_tty),
                no_verify: remote.is_some_and(|r| r.no_verify),
                read_only: flags & OPEN_RO != 0,
            }
        }
    };
    Ok(ConnectPlan {
        endpoint,
        open_name: uri.map(RemoteUri::name_for_open).unwrap_or_default(),
        open_flags: flags,
        query_uri_after_open: uri.is_none(),
    })
}

/// `mode=` from the URI, else `remote_mode` from `libvirt.conf`, else auto.
fn requested_mode(uri: Option<&RemoteUri>, ctx: &Context<'_>) -> Result<Mode, SocketError> {
    if let Some(m) = uri.and_then(|u| u.remote().mode) {
        return Ok(m);
    }
    match &ctx.conf.remote_mode {
        Some(s) => Ok(Mode::parse(s)?),
        None => Ok(Mode::Auto),
    }
}

/// `proxy=` from the URI, else `remote_proxy`, else netcat with `socket=`, native for session,
/// auto otherwise; `netcat=` turns auto into netcat.
fn ssh_proxy(uri: Option<&RemoteUri>, flags: u32, ctx: &Context<'_>) -> Result<Proxy, SocketError> {
    let remote = uri.map(RemoteUri::remote);
    let configured = match (remote.and_then(|r| r.proxy), &ctx.conf.remote_proxy) {
        (Some(p), _) => Some(p),
        (None, Some(s)) => Some(Proxy::parse(s)?),
        (None, None) => None,
    };
    let proxy = configured.unwrap_or(if remote.is_some_and(|r| r.socket.is_some()) {
        Proxy::Netcat
    } else if flags & OPEN_USER != 0 {
        Proxy::Native
    } else {
        Proxy::Auto
    });
    let netcat = remote.is_some_and(|r| r.netcat.is_some());
    match proxy {
        Proxy::Native if netcat => Err(SocketError::NetcatWithNative),
        Proxy::Auto if netcat => Ok(Proxy::Netcat),
        p => Ok(p),
    }
}

struct SocketChoice {
    path: PathBuf,
    mode: Mode,
    daemon: String,
    probed_uri: Option<String>,
}

/// The socket for `<prefix>` in system or session mode.
fn socket_path(prefix: &str, flags: u32, ctx: &Context<'_>) -> Result<PathBuf, SocketError> {
    // libvirt 9.0 builds the session path from the local runtime directory even for the
    // SSH transports (the remote `nc` is pointed at it).
    if flags & OPEN_USER != 0 {
        return Ok(ctx.user_runtime_dir()?.join(format!("{prefix}-sock")));
    }
    let suffix = if flags & OPEN_RO != 0 {
        "sock-ro"
    } else {
        "sock"
    };
    Ok(ctx
        .paths
        .local_run_dir
        .join("libvirt")
        .join(format!("{prefix}-{suffix}")))
}

fn choose_socket(
    transport: Transport,
    mode: Mode,
    driver: Option<&str>,
    flags: u32,
    ctx: &Context<'_>,
) -> Result<SocketChoice, SocketError> {
    if mode == Mode::Direct && transport != Transport::Unix {
        return Err(SocketError::DirectNotUnix(transport));
    }
    let mut probed_uri = None;
    let driver: Option<String> = match driver {
        Some(d) => Some(d.to_owned()),
        None if mode == Mode::Direct => {
            let d = probe_driver(flags, ctx)?.ok_or(SocketError::DirectNoUri)?;
            let kind = if flags & OPEN_USER != 0 {
                "session"
            } else {
                "system"
            };
            probed_uri = Some(format!("{d}:///{kind}"));
            Some(d.to_owned())
        }
        None => None,
    };
    let direct_daemon = driver.map(|d| format!("virt{d}d"));
    let direct = match &direct_daemon {
        Some(name) => Some(socket_path(name, flags, ctx)?),
        None => None,
    };
    let legacy = socket_path("libvirt", flags, ctx)?;
    let mode = match mode {
        Mode::Auto if transport == Transport::Unix => {
            if direct.as_deref().is_some_and(|p| ctx.exists(p)) {
                Mode::Direct
            } else if ctx.exists(&legacy) || direct.is_none() {
                Mode::Legacy
            } else {
                ctx.build_default_mode
            }
        }
        Mode::Auto => Mode::Legacy,
        m => m,
    };
    Ok(match (mode, direct, direct_daemon) {
        (Mode::Direct, Some(path), Some(daemon)) => SocketChoice {
            path,
            mode,
            daemon,
            probed_uri,
        },
        _ => SocketChoice {
            path: legacy,
            mode: Mode::Legacy,
            daemon: "libvirtd".into(),
            probed_uri,
        },
    })
}

/// Direct mode without a URI: find a modular daemon by its socket (or, for session, binary).
fn probe_driver(flags: u32, ctx: &Context<'_>) -> Result<Option<&'static str>, SocketError> {
    if flags & OPEN_USER != 0 {
        const SESSION: [&str; 2] = ["qemu", "vbox"];
        let dir = ctx.user_runtime_dir()?;
        let by_socket = SESSION
            .into_iter()
            .find(|d| ctx.exists(&dir.join(format!("virt{d}d-sock"))));
        let by_binary = || {
            SESSION
                .into_iter()
                .find(|d| ctx.exists(&ctx.paths.sbindir.join(format!("virt{d}d"))))
        };
        return Ok(by_socket.or_else(by_binary));
    }
    const SYSTEM: [&str; 6] = ["xen", "qemu", "lxc", "vbox", "bhyve", "vz"];
    let suffix = if flags & OPEN_RO != 0 {
        "sock-ro"
    } else {
        "sock"
    };
    let dir = ctx.paths.run_dir.join("libvirt");
    Ok(SYSTEM
        .into_iter()
        .find(|d| ctx.exists(&dir.join(format!("virt{d}d-{suffix}")))))
}

fn spawn_for(choice: &SocketChoice, ctx: &Context<'_>) -> Result<Spawn, SocketError> {
    let binary = ctx
        .env
        .get("VIRTD_PATH")
        .or_else(|| ctx.env.get("LIBVIRTD_PATH"))
        .map_or_else(|| ctx.paths.sbindir.join(&choice.daemon), PathBuf::from);
    let base = binary
        .file_name()
        .map_or_else(|| choice.daemon.clone().into(), |b| b.to_owned());
    let mut lock = base;
    lock.push(".lock");
    Ok(Spawn {
        lock_file: ctx.user_runtime_dir()?.join(lock),
        binary,
        args: AUTOSPAWN_ARGS.iter().map(|s| (*s).to_owned()).collect(),
    })
}
