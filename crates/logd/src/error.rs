//! The log daemon's one error type and its mapping to libvirt's error value.
//!
//! Every module of this crate reports [`LogError`]; [`LogError::to_vir`] is the only place that
//! knows the codes, domains and texts libvirt's virtlogd uses, so the RPC program sends exactly
//! what a libvirt client expects.

use nix::errno::Errno;
use oxvirt_virerror::{ErrorCode, ErrorDomain, VirError, VIR_ERR_LEVEL_ERROR};

/// Largest `maxlen` a READ may ask for (`VIR_LOG_MANAGER_PROTOCOL_STRING_MAX`).
pub const READ_MAX: u64 = 4_194_304;

/// Largest number of backups a rotating file keeps.
pub const MAX_BACKUPS: u32 = 32;

/// What went wrong in the log daemon.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum LogError {
    /// OPEN of a path that already has an open pipe (libvirt: EBUSY system error).
    #[error("Cannot open log file: '{0}': {err}", err = strerror(Errno::EBUSY))]
    AlreadyOpen(String),
    /// GET_LOG_FILE_POSITION of a path that is not open.
    #[error("internal error: No open log file {0}")]
    NotOpen(String),
    /// READ with `maxlen` above [`READ_MAX`].
    #[error("internal error: Requested data len {0} is larger than maximum {READ_MAX}")]
    ReadTooLong(u64),
    /// Flags the procedure does not know (virCheckFlags in the handler function `function`).
    #[error("unsupported flags (0x{flags:x}) in function {function}")]
    UnsupportedFlags { flags: u32, function: &'static str },
    /// More backups than the rotating file supports.
    #[error(
        "unsupported configuration: Max backup {0} must be less than or equal to {MAX_BACKUPS}"
    )]
    TooManyBackups(u32),
    /// A system call on a log file or pipe failed; `what` is libvirt's text for the step
    /// (e.g. "Unable to open file: /var/log/x.log"), `domain` the module libvirt reports it from.
    #[error("{what}: {err}", err = strerror(*errno))]
    System {
        what: String,
        errno: Errno,
        domain: ErrorDomain,
    },
    /// Re-exec state that cannot be restored (missing or malformed JSON fields).
    #[error("internal error: {0}")]
    BadState(String),
}

impl LogError {
    /// A failed system call on the rotating files (libvirt reports these without a module).
    pub fn file(what: impl Into<String>, err: std::io::Error) -> Self {
        LogError::System {
            what: what.into(),
            errno: io_errno(&err),
            domain: ErrorDomain::None,
        }
    }

    /// A failed system call in the log handler itself.
    pub fn handler(what: impl Into<String>, errno: Errno) -> Self {
        LogError::System {
            what: what.into(),
            errno,
            domain: ErrorDomain::Logging,
        }
    }

    /// The error as libvirt's virtlogd reports it on the wire.
    pub fn to_vir(&self) -> VirError {
        let logging = ErrorDomain::Logging;
        match self {
            LogError::AlreadyOpen(path) => system(
                logging,
                &format!("Cannot open log file: '{path}'"),
                Errno::EBUSY,
            ),
            LogError::NotOpen(path) => {
                VirError::internal(logging, format!("No open log file {path}"))
            }
            // Raised by the dispatcher, whose module is the RPC layer.
            LogError::ReadTooLong(n) => VirError::internal(
                ErrorDomain::Rpc,
                format!("Requested data len {n} is larger than maximum {READ_MAX}"),
            ),
            LogError::UnsupportedFlags { flags, function } => {
                VirError::unsupported_flags(logging, *flags, function)
            }
            LogError::TooManyBackups(n) => VirError::with_detail(
                ErrorCode::ConfigUnsupported,
                ErrorDomain::None,
                "unsupported configuration",
                format!("Max backup {n} must be less than or equal to {MAX_BACKUPS}"),
            ),
            LogError::System {
                what,
                errno,
                domain,
            } => system(*domain, what, *errno),
            LogError::BadState(detail) => VirError::internal(logging, detail.clone()),
        }
    }
}

/// The C library's text for `errno` ("Device or resource busy").
pub fn strerror(errno: Errno) -> String {
    let s = std::io::Error::from_raw_os_error(errno as i32).to_string();
    // std appends " (os error N)" to strerror_r's text.
    match s.rfind(" (os error ") {
        Some(i) => s[..i].to_string(),
        None => s,
    }
}

/// The errno of an I/O error (EIO if it has none).
pub fn io_errno(err: &std::io::Error) -> Errno {
    Errno::from_raw(err.raw_os_error().unwrap_or(Errno::EIO as i32))
}

/// virReportSystemError: "<what>: <strerror>", template "%s", the errno in int1.
fn system(domain: ErrorDomain, what: &str, errno: Errno) -> VirError {
    let message = format!("{what}: {}", strerror(errno));
    VirError {
        code: ErrorCode::SystemError as i32,
        domain: domain as i32,
        level: VIR_ERR_LEVEL_ERROR,
        str1: Some("%s".to_string()),
        str2: Some(message.clone()),
        message,
        str3: None,
        int1: errno as i32,
        int2: -1,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn busy_is_a_logging_system_error() {
        let e = LogError::AlreadyOpen("/var/log/libvirt/qemu/vm.log".into()).to_vir();
        assert_eq!(
            e.message,
            "Cannot open log file: '/var/log/libvirt/qemu/vm.log': Device or resource busy"
        );
        assert_eq!((e.code, e.domain, e.int1, e.int2), (38, 63, 16, -1));
        assert_eq!(e.str1.as_deref(), Some("%s"));
        assert_eq!(e.str2.as_deref(), Some(e.message.as_str()));
        assert_eq!(
            e.message,
            LogError::AlreadyOpen("/var/log/libvirt/qemu/vm.log".into()).to_string()
        );
    }

    #[test]
    fn texts_match_libvirt() {
        let e = LogError::NotOpen("/x.log".into()).to_vir();
        assert_eq!(e.message, "internal error: No open log file /x.log");
        assert_eq!((e.code, e.domain), (1, 63));
        let e = LogError::ReadTooLong(4_194_305).to_vir();
        assert_eq!(
            e.message,
            "internal error: Requested data len 4194305 is larger than maximum 4194304"
        );
        assert_eq!((e.code, e.domain), (1, 7));
        let e = LogError::UnsupportedFlags {
            flags: 2,
            function: "virLogHandlerDomainReadLogFile",
        }
        .to_vir();
        assert_eq!(
            e.message,
            "unsupported flags (0x2) in function virLogHandlerDomainReadLogFile"
        );
        assert_eq!((e.code, e.domain), (8, 63));
        let e = LogError::file(
            "Unable to open file: /nope/x",
            std::io::Error::from_raw_os_error(2),
        );
        assert_eq!(
            e.to_vir().message,
            "Unable to open file: /nope/x: No such file or directory"
        );
        assert_eq!(e.to_vir().domain, 0);
        assert_eq!(e.to_string(), e.to_vir().message);
    }
}
