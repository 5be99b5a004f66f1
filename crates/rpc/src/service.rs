//! Services: listening sockets that feed a server with clients, each with its own read-only
//! flag, auth policy and peer filter (the admin socket admits only the daemon's own uid).

use crate::client::{self, ClientIdentity};
use crate::server::Server;
use crate::transport::Stream;
use oxvirt_proto::admin::transport;
use std::net::SocketAddr;
use std::os::fd::{AsRawFd, OwnedFd};
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use tokio::net::{TcpListener, UnixListener};
use tokio::task::JoinHandle;

/// A listening socket.
#[derive(Debug)]
pub enum Listener {
    /// A UNIX socket; `path` is removed on drop when we created it.
    Unix {
        listener: UnixListener,
        path: Option<PathBuf>,
    },
    /// A TCP socket.
    Tcp(TcpListener),
}

/// Who may connect.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PeerPolicy {
    /// Anyone the socket's permissions let in.
    Any,
    /// Only peers whose SO_PEERCRED uid is this one.
    Uid(u32),
}

/// A listener with its policy.
#[derive(Debug)]
pub struct Service {
    pub listener: Listener,
    /// Clients of this service may only use read-only procedures.
    pub readonly: bool,
    /// Clients need no authentication step (auth "none").
    pub auth_none: bool,
    /// Peer filter.
    pub peers: PeerPolicy,
}

/// Create a UNIX listening socket at `path` with `mode`, optionally owned by group `gid`.
/// A stale socket file (nobody listening) is replaced; a live one is an error.
pub fn bind_unix(
    path: &Path,
    mode: u32,
    gid: Option<u32>,
    backlog: u32,
) -> std::io::Result<Listener> {
    if path.exists() {
        if std::os::unix::net::UnixStream::connect(path).is_ok() {
            return Err(std::io::Error::new(
                std::io::ErrorKind::AddrInUse,
                format!(
                    "Failed to bind socket to '{}': Address already in use",
                    path.display()
                ),
            ));
        }
        let _ = std::fs::remove_file(path);
    }
    let std_listener = std::os::unix::net::UnixListener::bind(path)?;
    std_listener.set_nonblocking(true)?;
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode))?;
    if let Some(g) = gid {
        nix::unistd::chown(path, None, Some(nix::unistd::Gid::from_raw(g)))
            .map_err(std::io::Error::from)?;
    }
    relisten(&std_listener, backlog);
    let listener = UnixListener::from_std(std_listener)?;
    Ok(Listener::Unix {
        listener,
        path: Some(path.to_path_buf()),
    })
}

/// Re-apply the listen backlog (`max_queued_clients`; 0 means 30 as in libvirt).
pub fn relisten(fd: &impl std::os::fd::AsRawFd, backlog: u32) {
    let backlog = if backlog == 0 {
        30
    } else {
        backlog.min(i32::MAX as u32)
    } as i32;
    // SAFETY: listen(2) on a socket fd we own; it only changes the queue length.
    unsafe {
        libc::listen(fd.as_raw_fd(), backlog);
    }
}

/// Is this socket fd a UNIX socket (else IP)?
fn is_unix_fd(fd: &OwnedFd) -> bool {
    matches!(
        nix::sys::socket::getsockname::<nix::sys::socket::SockaddrStorage>(fd.as_raw_fd()),
        Ok(a) if nix::sys::socket::SockaddrLike::family(&a) == Some(nix::sys::socket::AddressFamily::Unix)
    )
}

/// A listener over an inherited listening socket (socket activation). Its UNIX socket file is
/// never removed by us: it belongs to whoever created it (systemd).
pub fn listener_from_fd(fd: OwnedFd, backlog: u32) -> std::io::Result<Listener> {
    relisten(&fd, backlog);
    if is_unix_fd(&fd) {
        let l = std::os::unix::net::UnixListener::from(fd);
        l.set_nonblocking(true)?;
        Ok(Listener::Unix {
            listener: UnixListener::from_std(l)?,
            path: None,
        })
    } else {
        let l = std::net::TcpListener::from(fd);
        l.set_nonblocking(true)?;
        Ok(Listener::Tcp(TcpListener::from_std(l)?))
    }
}

/// True if `fd` is an IP (TCP) socket.
pub fn is_ip_fd(fd: &OwnedFd) -> bool {
    !is_unix_fd(fd)
}

/// Serve one already connected client (inetd `Accept=yes`) until it leaves.
pub async fn serve_connection(
    server: Arc<Server>,
    fd: OwnedFd,
    readonly: bool,
    auth_none: bool,
) -> std::io::Result<()> {
    if is_unix_fd(&fd) {
        let s = std::os::unix::net::UnixStream::from(fd);
        s.set_nonblocking(true)?;
        let s = tokio::net::UnixStream::from_std(s)?;
        let cred = s.peer_cred().ok();
        let id = ClientIdentity {
            uid: cred.map(|c| c.uid()),
            gid: cred.map(|c| c.gid()),
            pid: cred.and_then(|c| c.pid()),
            sock_addr: None,
        };
        client::serve(
            server,
            Stream::unix(s)?,
            id,
            transport::UNIX,
            readonly,
            auth_none,
        )
        .await;
    } else {
        let s = std::net::TcpStream::from(fd);
        s.set_nonblocking(true)?;
        let s = tokio::net::TcpStream::from_std(s)?;
        let _ = s.set_nodelay(true);
        let id = ClientIdentity {
            sock_addr: s.peer_addr().ok().map(unmap),
            ..Default::default()
        };
        client::serve(
            server,
            Stream::tcp(s)?,
            id,
            transport::TCP,
            readonly,
            auth_none,
        )
        .await;
    }
    Ok(())
}

impl Drop for Listener {
    fn drop(&mut self) {
        if let Listener::Unix { path: Some(p), .. } = self {
            let _ = std::fs::remove_file(p);
        }
    }
}

/// Report IPv4-mapped IPv6 peers as plain IPv4 (libvirt shows the mapped form; we don't).
pub fn unmap(addr: SocketAddr) -> SocketAddr {
    match addr {
        SocketAddr::V6(v6) => match v6.ip().to_ipv4_mapped() {
            Some(v4) => SocketAddr::new(v4.into(), v6.port()),
            None => addr,
        },
        v4 => v4,
    }
}

impl Service {
    /// Accept clients into `server` until the task is aborted.
    pub fn spawn(self, server: Arc<Server>) -> JoinHandle<()> {
        tokio::spawn(async move {
            loop {
                server.wait_for_slot().await;
                let (stream, identity, trans) = match &self.listener {
                    Listener::Unix { listener, .. } => match listener.accept().await {
                        Ok((s, _)) => {
                            let cred = s.peer_cred().ok();
                            let id = ClientIdentity {
                                uid: cred.map(|c| c.uid()),
                                gid: cred.map(|c| c.gid()),
                                pid: cred.and_then(|c| c.pid()),
                                sock_addr: None,
                            };
                            match Stream::unix(s) {
                                Ok(s) => (s, id, transport::UNIX),
                                Err(e) => {
                                    accept_error(&e).await;
                                    continue;
                                }
                            }
                        }
                        Err(e) => {
                            accept_error(&e).await;
                            continue;
                        }
                    },
                    Listener::Tcp(l) => match l.accept().await {
                        Ok((s, peer)) => {
                            let _ = s.set_nodelay(true);
                            let id = ClientIdentity {
                                sock_addr: Some(unmap(peer)),
                                ..Default::default()
                            };
                            match Stream::tcp(s) {
                                Ok(s) => (s, id, transport::TCP),
                                Err(e) => {
                                    accept_error(&e).await;
                                    continue;
                                }
                            }
                        }
                        Err(e) => {
                            accept_error(&e).await;
                            continue;
                        }
                    },
                };
                if let PeerPolicy::Uid(want) = self.peers {
                    if identity.uid != Some(want) {
                        tracing::warn!(
                            "Disallowing client with uid {:?} on server {} (only uid {want} may connect)",
                            identity.uid,
                            server.name
                        );
                        continue;
                    }
                }
                let c = client::register(&server, identity, trans, self.readonly, self.auth_none);
                tokio::spawn(client::run(server.clone(), c, stream));
            }
        })
    }
}

async fn accept_error(e: &std::io::Error) {
    tracing::warn!("accept failed: {e}");
    // EMFILE and friends: back off instead of spinning.
    tokio::time::sleep(std::time::Duration::from_millis(100)).await;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mapped_addresses_are_unmapped() {
        let a: SocketAddr = "[::ffff:127.0.0.1]:4000".parse().unwrap();
        assert_eq!(unmap(a).to_string(), "127.0.0.1:4000");
        let b: SocketAddr = "[::1]:4000".parse().unwrap();
        assert_eq!(unmap(b), b);
    }
}
