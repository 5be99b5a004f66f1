//! Every failure of the lock daemon's core, and its one mapping into libvirt's `virError`
//! ([`LockError::to_vir`]): the codes, domains and texts virtlockd 9.0 sends.
//!
//! Dispatch-level errors are in the RPC domain (virtlockd's dispatcher reports them there);
//! lease errors come from the lockspace module (domain LOCKSPACE); file helpers report in the
//! NONE domain as libvirt's file utilities do; re-exec state errors are the daemon's (LOCKING).

use nix::errno::Errno;
use oxvirt_virerror::{ErrorCode, ErrorDomain, VirError, VIR_ERR_LEVEL_ERROR};

/// A lock daemon failure.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum LockError {
    /// The call's arguments did not decode (including strings over 65536 bytes).
    #[error("Unable to decode message payload")]
    Decode,
    /// A procedure number the lock program does not have.
    #[error("unknown procedure: {0}")]
    UnknownProcedure(i32),
    /// Flags outside those the procedure accepts (virCheckFlags).
    #[error("unsupported flags (0x{flags:x}) in function {function}")]
    UnsupportedFlags { flags: u32, function: &'static str },
    /// The connection was restricted (RESTRICT).
    #[error("lock manager connection has been restricted")]
    Restricted,
    /// No REGISTER yet, or REGISTER with owner id 0.
    #[error("lock owner details have not been registered")]
    NotRegistered,
    /// NEW with an empty path.
    #[error("the default lockspace already exists")]
    DefaultLockspaceExists,
    /// No lockspace was created for this path.
    #[error("Lockspace for path {0} does not exist")]
    NoLockspace(String),
    /// NEW for a path that already has a lockspace.
    #[error("Lockspace for path {0} already exists")]
    LockspaceExists(String),
    /// A lockspace path that exists but is no directory.
    #[error("Lockspace location {0} exists, but is not a directory")]
    NotADirectory(String),
    /// The resource is leased (by us, or another process holds its fcntl lock).
    #[error("Lockspace resource '{0}' is locked")]
    Busy(String),
    /// Release of a resource nobody holds.
    #[error("Lockspace resource '{0}' is not locked")]
    NotLocked(String),
    /// Release by a pid that is not among the resource's owners.
    #[error("owner {0} does not hold the resource lock")]
    NotOwner(u32),
    /// A system call of the lockspace failed: "`context`: `strerror(errno)`".
    #[error("{context}: {}", strerror(*errno))]
    System { context: String, errno: Errno },
    /// A file helper (resource creation) failed: "`context`: `strerror(errno)`".
    #[error("{context}: {}", strerror(*errno))]
    File { context: String, errno: Errno },
    /// The re-exec state is unusable.
    #[error("{0}")]
    BadState(String),
}

/// The C library's text for `errno` (what libvirt's system errors end with).
pub fn strerror(errno: Errno) -> String {
    let code = errno as i32;
    let s = std::io::Error::from_raw_os_error(code).to_string();
    let suffix = format!(" (os error {code})");
    match s.strip_suffix(&suffix) {
        Some(t) => t.to_string(),
        None => s,
    }
}

fn system_error(domain: ErrorDomain, detail: String, errno: Errno) -> VirError {
    VirError {
        code: ErrorCode::SystemError as i32,
        domain: domain as i32,
        message: detail.clone(),
        level: VIR_ERR_LEVEL_ERROR,
        str1: Some("%s".to_string()),
        str2: Some(detail),
        str3: None,
        int1: errno as i32,
        int2: -1,
    }
}

impl LockError {
    /// The error as virtlockd reports it to its client.
    pub fn to_vir(&self) -> VirError {
        let rpc = ErrorDomain::Rpc;
        let space = ErrorDomain::Lockspace;
        let text = self.to_string();
        match self {
            LockError::Decode | LockError::UnknownProcedure(_) => {
                VirError::bare(ErrorCode::Rpc, rpc, text)
            }
            LockError::UnsupportedFlags { flags, function } => {
                VirError::unsupported_flags(rpc, *flags, function)
            }
            LockError::Restricted => {
                VirError::with_detail(ErrorCode::OperationDenied, rpc, "operation forbidden", text)
            }
            LockError::NotRegistered | LockError::DefaultLockspaceExists => VirError::with_detail(
                ErrorCode::OperationInvalid,
                rpc,
                "Requested operation is not valid",
                text,
            ),
            LockError::NoLockspace(_) | LockError::LockspaceExists(_) => {
                VirError::internal(rpc, text)
            }
            LockError::NotADirectory(_) | LockError::NotOwner(_) => VirError::internal(space, text),
            LockError::Busy(_) | LockError::NotLocked(_) => {
                VirError::with_detail(ErrorCode::ResourceBusy, space, "resource busy", text)
            }
            LockError::System { errno, .. } => system_error(space, text, *errno),
            LockError::File { errno, .. } => system_error(ErrorDomain::None, text, *errno),
            LockError::BadState(_) => VirError::internal(ErrorDomain::Locking, text),
        }
    }
}

impl From<LockError> for VirError {
    fn from(e: LockError) -> VirError {
        e.to_vir()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn texts_codes_domains() {
        let e = LockError::Busy("r".into()).to_vir();
        assert_eq!(e.message, "resource busy: Lockspace resource 'r' is locked");
        assert_eq!((e.code, e.domain), (87, 51));
        assert_eq!(e.str1.as_deref(), Some("resource busy: %s"));

        let e = LockError::NotRegistered.to_vir();
        assert_eq!(
            e.message,
            "Requested operation is not valid: lock owner details have not been registered"
        );
        assert_eq!((e.code, e.domain), (55, 7));

        let e = LockError::Restricted.to_vir();
        assert_eq!(
            e.message,
            "operation forbidden: lock manager connection has been restricted"
        );
        assert_eq!((e.code, e.domain), (29, 7));

        let e = LockError::NoLockspace("/x".into()).to_vir();
        assert_eq!(
            e.message,
            "internal error: Lockspace for path /x does not exist"
        );
        assert_eq!((e.code, e.domain), (1, 7));

        let e = LockError::System {
            context: "Unable to open resource /nope".into(),
            errno: Errno::ENOENT,
        }
        .to_vir();
        assert_eq!(
            e.message,
            "Unable to open resource /nope: No such file or directory"
        );
        assert_eq!((e.code, e.domain, e.int1), (38, 51, 2));
        assert_eq!(e.str1.as_deref(), Some("%s"));
        assert_eq!(strerror(Errno::EAGAIN), "Resource temporarily unavailable");

        let e = LockError::UnsupportedFlags {
            flags: 4,
            function: "virLockSpaceProtocolDispatchAcquireResource",
        }
        .to_vir();
        assert_eq!(
            e.message,
            "unsupported flags (0x4) in function virLockSpaceProtocolDispatchAcquireResource"
        );
        assert_eq!((e.code, e.domain), (8, 7));
    }
}
