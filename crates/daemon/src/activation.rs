//! Socket activation, detected in `main` before the runtime starts.
//!
//! - systemd's sd_listen_fds protocol: `LISTEN_PID` must be our pid, `LISTEN_FDS` counts the fds
//!   from 3, `LISTEN_FDNAMES` names them (colon-separated; several fds may share a name, e.g. an
//!   IPv4 and an IPv6 socket of one unit). The variables are consumed (removed from the
//!   environment) and every fd gets FD_CLOEXEC.
//! - inetd style, which libvirt lacks: a socket on stdin. A listening socket (`Accept=no`,
//!   `StandardInput=socket`) is served as the read-write socket; a connected one (`Accept=yes`)
//!   is one client, and the daemon exits when it leaves.
//!
//! [`crate::sockets`] turns the result into services by fd name.

use nix::sys::socket::{getsockopt, sockopt};
use nix::sys::stat::{fstat, SFlag};
use std::os::fd::{AsRawFd, BorrowedFd, FromRawFd, OwnedFd, RawFd};

/// First fd passed by systemd.
pub const LISTEN_FDS_START: RawFd = 3;

/// Why activation data could not be used (the daemon exits 6).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ActivationError {
    #[error("Missing LISTEN_FDNAMES env from systemd socket activation")]
    MissingNames,
    #[error("Expecting {0} FD names but got {1}")]
    NameCount(usize, usize),
    #[error("Some activation file descriptors are unclaimed: {0}")]
    Unclaimed(String),
}

/// How the daemon was started.
#[derive(Debug)]
pub enum Activation {
    /// Not activated: bind our own sockets.
    None,
    /// systemd passed named fds.
    Systemd(Vec<(String, OwnedFd)>),
    /// A listening socket on stdin.
    InetdListener(OwnedFd),
    /// A connected client on stdin.
    InetdConnection(OwnedFd),
}

impl Activation {
    /// True if sockets come from outside.
    pub fn is_activated(&self) -> bool {
        !matches!(self, Activation::None)
    }
}

/// The sd_listen_fds variables, as read from the environment.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ListenEnv {
    pub pid: Option<String>,
    pub fds: Option<String>,
    pub names: Option<String>,
}

/// Decide from the variables how many fds are ours and their names (pure; unit tested).
pub fn parse_listen_env(
    env: &ListenEnv,
    my_pid: u32,
) -> Result<Option<Vec<String>>, ActivationError> {
    let Some(pid) = env.pid.as_deref().and_then(|p| p.parse::<u32>().ok()) else {
        return Ok(None);
    };
    if pid != my_pid {
        return Ok(None);
    }
    let Some(n) = env.fds.as_deref().and_then(|n| n.parse::<usize>().ok()) else {
        return Ok(None);
    };
    if n == 0 {
        return Ok(None);
    }
    let names = env.names.as_deref().ok_or(ActivationError::MissingNames)?;
    let names: Vec<String> = names.split(':').map(str::to_string).collect();
    if names.len() != n {
        return Err(ActivationError::NameCount(n, names.len()));
    }
    Ok(Some(names))
}

fn set_cloexec(fd: RawFd) {
    use nix::fcntl::{fcntl, FcntlArg, FdFlag};
    // SAFETY: fd comes from the activation protocol and stays open for the whole process.
    let b = unsafe { BorrowedFd::borrow_raw(fd) };
    if let Ok(flags) = fcntl(b.as_raw_fd(), FcntlArg::F_GETFD) {
        let flags = FdFlag::from_bits_truncate(flags) | FdFlag::FD_CLOEXEC;
        let _ = fcntl(b.as_raw_fd(), FcntlArg::F_SETFD(flags));
    }
}

/// Read and consume the activation state of this process. Call once, before any thread exists.
pub fn detect() -> Result<Activation, ActivationError> {
    let env = ListenEnv {
        pid: std::env::var("LISTEN_PID").ok(),
        fds: std::env::var("LISTEN_FDS").ok(),
        names: std::env::var("LISTEN_FDNAMES").ok(),
    };
    if let Some(names) = parse_listen_env(&env, std::process::id())? {
        // Single-threaded here (called from main before the runtime), so changing the
        // environment cannot race a reader.
        std::env::remove_var("LISTEN_PID");
        std::env::remove_var("LISTEN_FDS");
        let mut fds = Vec::with_capacity(names.len());
        for (i, name) in names.into_iter().enumerate() {
            let raw = LISTEN_FDS_START + i as RawFd;
            set_cloexec(raw);
            // SAFETY: systemd passed fds 3..3+LISTEN_FDS to us and nothing else owns them.
            fds.push((name, unsafe { OwnedFd::from_raw_fd(raw) }));
        }
        return Ok(Activation::Systemd(fds));
    }
    // inetd style: stdin is a socket.
    let Ok(st) = fstat(0) else {
        return Ok(Activation::None);
    };
    if SFlag::from_bits_truncate(st.st_mode) & SFlag::S_IFMT != SFlag::S_IFSOCK {
        return Ok(Activation::None);
    }
    // SAFETY: fd 0 is open (fstat succeeded); it is duplicated so that stdin stays valid.
    let stdin = unsafe { BorrowedFd::borrow_raw(0) };
    let Ok(fd) = stdin.try_clone_to_owned() else {
        return Ok(Activation::None);
    };
    set_cloexec(fd.as_raw_fd());
    let listening = getsockopt(&fd, sockopt::AcceptConn).unwrap_or(false);
    Ok(if listening {
        Activation::InetdListener(fd)
    } else {
        Activation::InetdConnection(fd)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env(pid: &str, fds: &str, names: Option<&str>) -> ListenEnv {
        ListenEnv {
            pid: Some(pid.into()),
            fds: Some(fds.into()),
            names: names.map(Into::into),
        }
    }

    #[test]
    fn listen_env_rules() {
        assert_eq!(parse_listen_env(&ListenEnv::default(), 7), Ok(None));
        assert_eq!(
            parse_listen_env(&env("8", "1", Some("a")), 7),
            Ok(None),
            "another pid's fds"
        );
        assert_eq!(parse_listen_env(&env("x", "1", Some("a")), 7), Ok(None));
        assert_eq!(parse_listen_env(&env("7", "x", Some("a")), 7), Ok(None));
        assert_eq!(
            parse_listen_env(&env("7", "1", None), 7),
            Err(ActivationError::MissingNames)
        );
        assert_eq!(
            parse_listen_env(&env("7", "2", Some("a")), 7),
            Err(ActivationError::NameCount(2, 1))
        );
        assert_eq!(
            parse_listen_env(
                &env(
                    "7",
                    "3",
                    Some("libvirtd.socket:libvirtd-tcp.socket:libvirtd-tcp.socket")
                ),
                7
            ),
            Ok(Some(vec![
                "libvirtd.socket".into(),
                "libvirtd-tcp.socket".into(),
                "libvirtd-tcp.socket".into()
            ]))
        );
    }
}
