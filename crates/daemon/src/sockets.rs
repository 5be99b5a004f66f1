//! The daemon's listening sockets: UNIX sockets of the mode (sock, sock-ro, admin-sock) with
//! the configured group and permissions, and TCP when asked for (libvirtd: `--listen` and
//! `listen_tcp`). A wildcard TCP listener is one `[::]` socket with IPV6_V6ONLY off, so IPv4
//! peers arrive as `::ffff:a.b.c.d` (reported unmapped); without IPv6 it falls back to 0.0.0.0.

use crate::activation::{Activation, ActivationError};
use crate::cli::Cli;
use crate::family::DaemonSpec;
use crate::paths::Paths;
use oxvirt_conf::{AuthType, DaemonConfig};
use oxvirt_rpc::service::{bind_unix, is_ip_fd, listener_from_fd, relisten, PeerPolicy};
use oxvirt_rpc::{Listener, Server, Service, ServiceHandle};
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr, ToSocketAddrs};
use std::os::unix::fs::{DirBuilderExt, PermissionsExt};
use std::sync::Arc;

/// Why the sockets could not be set up (exit code 6).
#[derive(Debug, thiserror::Error)]
pub enum SocketError {
    #[error("Failed to create socket '{0}': {1}")]
    Unix(String, std::io::Error),
    #[error("Unable to bind to {0}: {1}")]
    Tcp(String, std::io::Error),
    #[error("Unable to look up '{0}': {1}")]
    Resolve(String, std::io::Error),
    #[error("unknown group '{0}' in unix_sock_group")]
    Group(String),
    #[error("{0}")]
    Activation(#[from] ActivationError),
    #[error("Unable to use activation socket '{0}': {1}")]
    Inherited(String, std::io::Error),
}

/// Create the run dir: 0755 in system mode, 0700 (umask 077) in session mode.
pub fn make_run_dir(paths: &Paths) -> std::io::Result<()> {
    let mode = if paths.system { 0o755 } else { 0o700 };
    std::fs::DirBuilder::new()
        .recursive(true)
        .mode(mode)
        .create(&paths.run_dir)?;
    if !paths.system {
        std::fs::set_permissions(&paths.run_dir, std::fs::Permissions::from_mode(0o700))?;
    }
    Ok(())
}

fn auth_none(a: AuthType, what: &str) -> bool {
    match a {
        AuthType::None => true,
        other => {
            tracing::error!(
                "{what} = \"{}\" is not supported yet; clients of that socket must authenticate and cannot",
                other.as_str()
            );
            false
        }
    }
}

/// Open every socket of the daemon (or take them from activation) and start accepting. The
/// returned tasks own the listeners; abort and await them to close the sockets (socket files
/// we created are removed then; activated ones never are).
pub fn open(
    spec: &DaemonSpec,
    cli: &Cli,
    config: &DaemonConfig,
    paths: &Paths,
    main: &Arc<Server>,
    admin: &Arc<Server>,
    activation: Activation,
) -> Result<Vec<ServiceHandle>, SocketError> {
    match activation {
        Activation::None => open_own(spec, cli, config, paths, main, admin),
        Activation::Systemd(fds) => {
            warn_overridden(spec, cli, config);
            open_activated(spec, config, paths, main, admin, fds)
        }
        Activation::InetdListener(fd) => {
            warn_overridden(spec, cli, config);
            let ip = is_ip_fd(&fd);
            let listener = listener_from_fd(fd, config.max_queued_clients)
                .map_err(|e| SocketError::Inherited("stdin".into(), e))?;
            let auth = if ip {
                auth_none(
                    config
                        .network
                        .as_ref()
                        .map_or(AuthType::Sasl, |n| n.auth_tcp),
                    "auth_tcp",
                )
            } else {
                auth_none(config.auth_unix_rw, "auth_unix_rw")
            };
            let peers = if ip || paths.system {
                PeerPolicy::Any
            } else {
                PeerPolicy::Uid(nix::unistd::geteuid().as_raw())
            };
            tracing::info!(
                "serving the listening socket on stdin (inetd style) as the read-write socket"
            );
            Ok(vec![Service {
                listener,
                readonly: false,
                auth_none: auth,
                peers,
            }
            .spawn(main.clone())])
        }
        Activation::InetdConnection(_) => {
            unreachable!("a single connection is served by run::serve")
        }
    }
}

/// Config keys that activation overrides: libvirt ignores them silently, we say so.
fn warn_overridden(spec: &DaemonSpec, cli: &Cli, config: &DaemonConfig) {
    let d = DaemonConfig::defaults(spec.conf_kind());
    let mut ignored: Vec<&str> = Vec::new();
    if let (Some(n), Some(dn)) = (&config.network, &d.network) {
        for (key, differs) in [
            ("listen_tcp", n.listen_tcp != dn.listen_tcp),
            ("listen_tls", n.listen_tls != dn.listen_tls),
            ("tcp_port", n.tcp_port != dn.tcp_port),
            ("tls_port", n.tls_port != dn.tls_port),
            ("listen_addr", n.listen_addr != dn.listen_addr),
        ] {
            if differs {
                ignored.push(key);
            }
        }
    }
    for (key, differs) in [
        (
            "unix_sock_group",
            config.unix_sock_group != d.unix_sock_group,
        ),
        (
            "unix_sock_ro_perms",
            config.unix_sock_ro_perms != d.unix_sock_ro_perms,
        ),
        (
            "unix_sock_rw_perms",
            config.unix_sock_rw_perms != d.unix_sock_rw_perms,
        ),
        (
            "unix_sock_admin_perms",
            config.unix_sock_admin_perms != d.unix_sock_admin_perms,
        ),
        ("unix_sock_dir", config.unix_sock_dir != d.unix_sock_dir),
    ] {
        if differs {
            ignored.push(key);
        }
    }
    for key in ignored {
        tracing::warn!("'{key}' is set in the config but ignored: the sockets come from socket activation (set it in the .socket unit instead)");
    }
    if cli.listen {
        tracing::warn!("--listen is ignored under socket activation: serving the activated sockets (libvirt would exit here)");
    }
}

/// Services from systemd's named fds: `<name>.socket` (rw), `-ro.socket`, `-admin.socket`,
/// `-tcp.socket`, `-tls.socket`. A role without fds is not served; an unknown name is an error.
fn open_activated(
    spec: &DaemonSpec,
    config: &DaemonConfig,
    paths: &Paths,
    main: &Arc<Server>,
    admin: &Arc<Server>,
    fds: Vec<(String, std::os::fd::OwnedFd)>,
) -> Result<Vec<ServiceHandle>, SocketError> {
    let n = spec.name;
    let (rw, ro, adm, tcp, tls) = (
        format!("{n}.socket"),
        format!("{n}-ro.socket"),
        format!("{n}-admin.socket"),
        format!("{n}-tcp.socket"),
        format!("{n}-tls.socket"),
    );
    let unclaimed: Vec<&str> = fds
        .iter()
        .map(|(name, _)| name.as_str())
        .filter(|name| {
            ![&rw, &ro, &adm, &tcp, &tls].contains(&&name.to_string())
                || (!spec.has_ip && (*name == tcp || *name == tls))
        })
        .collect();
    if !unclaimed.is_empty() {
        let mut u = unclaimed.clone();
        u.dedup();
        return Err(ActivationError::Unclaimed(u.join(", ")).into());
    }
    let euid = nix::unistd::geteuid().as_raw();
    let main_peers = if paths.system {
        PeerPolicy::Any
    } else {
        PeerPolicy::Uid(euid)
    };
    let mut tasks = Vec::new();
    for (name, fd) in fds {
        let backlog = if name == adm {
            config.admin_max_queued_clients
        } else {
            config.max_queued_clients
        };
        if name == tls {
            tracing::error!("{name}: TLS is not supported yet; this socket is not served, every other socket is");
            continue;
        }
        let listener =
            listener_from_fd(fd, backlog).map_err(|e| SocketError::Inherited(name.clone(), e))?;
        let (server, service) = if name == rw {
            (
                main,
                Service {
                    listener,
                    readonly: false,
                    auth_none: auth_none(config.auth_unix_rw, "auth_unix_rw"),
                    peers: main_peers,
                },
            )
        } else if name == ro {
            (
                main,
                Service {
                    listener,
                    readonly: true,
                    auth_none: auth_none(config.auth_unix_ro, "auth_unix_ro"),
                    peers: PeerPolicy::Any,
                },
            )
        } else if name == adm {
            (
                admin,
                Service {
                    listener,
                    readonly: false,
                    auth_none: true,
                    peers: PeerPolicy::Uid(euid),
                },
            )
        } else {
            let auth = config
                .network
                .as_ref()
                .map_or(AuthType::Sasl, |n| n.auth_tcp);
            (
                main,
                Service {
                    listener,
                    readonly: false,
                    auth_none: auth_none(auth, "auth_tcp"),
                    peers: PeerPolicy::Any,
                },
            )
        };
        tracing::debug!("serving activated socket {name}");
        tasks.push(service.spawn(server.clone()));
    }
    Ok(tasks)
}

fn open_own(
    spec: &DaemonSpec,
    cli: &Cli,
    config: &DaemonConfig,
    paths: &Paths,
    main: &Arc<Server>,
    admin: &Arc<Server>,
) -> Result<Vec<ServiceHandle>, SocketError> {
    let gid = match &config.unix_sock_group {
        Some(g) if paths.system => Some(
            nix::unistd::Group::from_name(g)
                .ok()
                .flatten()
                .ok_or_else(|| SocketError::Group(g.clone()))?
                .gid
                .as_raw(),
        ),
        _ => None,
    };
    let backlog = config.max_queued_clients;
    let euid = nix::unistd::geteuid().as_raw();
    // Session sockets admit only our own uid (libvirt relies on file permissions; we check).
    let main_peers = if paths.system {
        PeerPolicy::Any
    } else {
        PeerPolicy::Uid(euid)
    };
    let unix = |p: &std::path::Path, mode: u32, gid: Option<u32>, backlog: u32| {
        bind_unix(p, mode, gid, backlog).map_err(|e| SocketError::Unix(p.display().to_string(), e))
    };
    let mut services = Vec::new();
    services.push(Service {
        listener: unix(&paths.sock, config.unix_sock_rw_perms, gid, backlog)?,
        readonly: false,
        auth_none: auth_none(config.auth_unix_rw, "auth_unix_rw"),
        peers: main_peers,
    });
    if let Some(ro) = &paths.sock_ro {
        services.push(Service {
            listener: unix(ro, config.unix_sock_ro_perms, gid, backlog)?,
            readonly: true,
            auth_none: auth_none(config.auth_unix_ro, "auth_unix_ro"),
            peers: PeerPolicy::Any,
        });
    }
    let admin_service = Service {
        listener: unix(
            &paths.admin_sock,
            config.unix_sock_admin_perms,
            gid,
            config.admin_max_queued_clients,
        )?,
        readonly: false,
        auth_none: true,
        peers: PeerPolicy::Uid(euid),
    };

    if let (Some(net), true) = (
        &config.network,
        spec.has_ip && (cli.listen || !spec.has_listen_flag),
    ) {
        if net.listen_tls {
            tracing::error!("listen_tls is set but TLS is not supported yet: the TLS socket is not served; every other socket is");
        }
        if net.listen_tcp {
            let auth = auth_none(net.auth_tcp, "auth_tcp");
            for l in bind_tcp(net.listen_addr.as_deref(), &net.tcp_port, backlog)? {
                services.push(Service {
                    listener: l,
                    readonly: false,
                    auth_none: auth,
                    peers: PeerPolicy::Any,
                });
            }
        }
    }

    let mut tasks: Vec<ServiceHandle> = services
        .into_iter()
        .map(|s| s.spawn(main.clone()))
        .collect();
    tasks.push(admin_service.spawn(admin.clone()));
    Ok(tasks)
}

/// Whether a client connected on stdin needs no authentication step: TCP clients follow
/// `auth_tcp`, UNIX clients `auth_unix_rw`.
pub fn connection_auth_none(config: &DaemonConfig, ip: bool) -> bool {
    if ip {
        auth_none(
            config
                .network
                .as_ref()
                .map_or(AuthType::Sasl, |n| n.auth_tcp),
            "auth_tcp",
        )
    } else {
        auth_none(config.auth_unix_rw, "auth_unix_rw")
    }
}

fn tcp_listener(addr: SocketAddr, backlog: u32) -> std::io::Result<Listener> {
    let sock = match addr {
        SocketAddr::V4(_) => tokio::net::TcpSocket::new_v4()?,
        SocketAddr::V6(_) => {
            let s = tokio::net::TcpSocket::new_v6()?;
            nix::sys::socket::setsockopt(&s, nix::sys::socket::sockopt::Ipv6V6Only, &false)
                .map_err(std::io::Error::from)?;
            s
        }
    };
    sock.set_reuseaddr(true)?;
    sock.bind(addr)?;
    let l = sock.listen(1024)?;
    relisten(&l, backlog);
    Ok(Listener::Tcp(l))
}

/// Bind the TCP listeners for `listen_addr` (unset: the dual-stack wildcard) and `port`.
pub fn bind_tcp(
    listen_addr: Option<&str>,
    port: &str,
    backlog: u32,
) -> Result<Vec<Listener>, SocketError> {
    let port: u16 = match port.parse() {
        Ok(p) => p,
        Err(_) => service_port(port).ok_or_else(|| {
            SocketError::Resolve(port.into(), std::io::Error::other("unknown service"))
        })?,
    };
    match listen_addr {
        None => {
            let v6 = SocketAddr::new(IpAddr::V6(Ipv6Addr::UNSPECIFIED), port);
            match tcp_listener(v6, backlog) {
                Ok(l) => Ok(vec![l]),
                Err(e) if e.raw_os_error() == Some(libc::EAFNOSUPPORT) => {
                    let v4 = SocketAddr::new(IpAddr::V4(Ipv4Addr::UNSPECIFIED), port);
                    Ok(vec![tcp_listener(v4, backlog)
                        .map_err(|e| SocketError::Tcp(v4.to_string(), e))?])
                }
                Err(e) => Err(SocketError::Tcp(v6.to_string(), e)),
            }
        }
        Some(host) => {
            let addrs: Vec<SocketAddr> = (host.trim_matches(|c| c == '[' || c == ']'), port)
                .to_socket_addrs()
                .map_err(|e| SocketError::Resolve(host.into(), e))?
                .collect();
            let mut out = Vec::new();
            for a in addrs {
                out.push(tcp_listener(a, backlog).map_err(|e| SocketError::Tcp(a.to_string(), e))?);
            }
            Ok(out)
        }
    }
}

/// Look a service name up in /etc/services (tcp).
fn service_port(name: &str) -> Option<u16> {
    let text = std::fs::read_to_string("/etc/services").ok()?;
    text.lines().find_map(|l| {
        let mut it = l.split_whitespace();
        let n = it.next()?;
        let pp = it.next()?;
        let (p, proto) = pp.split_once('/')?;
        let names: Vec<&str> = std::iter::once(n)
            .chain(it.take_while(|w| !w.starts_with('#')))
            .collect();
        (proto == "tcp" && names.contains(&name))
            .then(|| p.parse().ok())
            .flatten()
    })
}
