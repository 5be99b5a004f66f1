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

/// A running service: its accept task, and how to stop it.
#[derive(Debug)]
pub struct ServiceHandle {
    task: JoinHandle<Service>,
    stop: Arc<tokio::sync::Notify>,
}

impl ServiceHandle {
    /// Stop accepting without waiting (for drop paths); the socket closes when the task ends.
    pub fn abort(&self) {
        self.task.abort();
    }

    /// Stop accepting and close the socket (a socket file we created is removed).
    pub async fn close(self) {
        self.task.abort();
        let _ = self.task.await;
    }

    /// Stop accepting and hand the service back, socket still open (exec-restart).
    pub async fn stop(self) -> Option<Service> {
        self.stop.notify_one();
        self.task.await.ok()
    }
}

impl Listener {
    /// The listening socket as a new fd (FD_CLOEXEC set), and whether the socket file is ours
    /// to remove. Dropping `self` afterwards neither closes the socket nor removes the file.
    pub fn keep(mut self) -> std::io::Result<(OwnedFd, bool)> {
        let (fd, ours) = match &mut self {
            Listener::Unix { listener, path } => {
                let fd = std::os::fd::AsFd::as_fd(listener).try_clone_to_owned()?;
                (fd, path.take().is_some())
            }
            Listener::Tcp(l) => (std::os::fd::AsFd::as_fd(l).try_clone_to_owned()?, false),
        };
        Ok((fd, ours))
    }

    /// Adopt a listening socket kept across an exec-restart; `unlink` makes the socket file
    /// ours again (removed on shutdown).
    pub fn adopt(fd: OwnedFd, unlink: bool) -> std::io::Result<Listener> {
        let mut l = listener_from_fd_keep_backlog(fd)?;
        if unlink {
            if let Listener::Unix { listener, path } = &mut l {
                *path = listener
                    .local_addr()
                    .ok()
                    .and_then(|a| a.as_pathname().map(Path::to_path_buf));
            }
        }
        Ok(l)
    }

    /// The raw fd of the listening socket.
    pub fn raw_fd(&self) -> std::os::fd::RawFd {
        match self {
            Listener::Unix { listener, .. } => listener.as_raw_fd(),
            Listener::Tcp(l) => l.as_raw_fd(),
        }
    }
}

fn listener_from_fd_keep_backlog(fd: OwnedFd) -> std::io::Result<Listener> {
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

impl Service {
    /// Accept clients into `server` until the service is stopped or closed.
    pub fn spawn(self, server: Arc<Server>) -> ServiceHandle {
        let stop = Arc::new(tokio::sync::Notify::new());
        let stop2 = stop.clone();
        let task = tokio::spawn(async move {
            loop {
                let accepted = tokio::select! {
                    _ = stop2.notified() => return self,
                    a = self.accept_one(&server) => a,
                };
                let Some((stream, identity, trans)) = accepted else {
                    continue;
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
        });
        ServiceHandle { task, stop }
    }

    /// Wait for a free slot and accept one connection (cancel-safe).
    async fn accept_one(&self, server: &Server) -> Option<(Stream, ClientIdentity, u32)> {
        server.wait_for_slot().await;
        match &self.listener {
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
                        Ok(s) => Some((s, id, transport::UNIX)),
                        Err(e) => {
                            accept_error(&e).await;
                            None
                        }
                    }
                }
                Err(e) => {
                    accept_error(&e).await;
                    None
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
                        Ok(s) => Some((s, id, transport::TCP)),
                        Err(e) => {
                            accept_error(&e).await;
                            None
                        }
                    }
                }
                Err(e) => {
                    accept_error(&e).await;
                    None
                }
            },
        }
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
