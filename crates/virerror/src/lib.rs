//! libvirt's error model, shared by every layer of oxvirt.
//!
//! libvirt reports every failure as a `virError`: an error number (what went wrong), an error
//! domain (which module noticed), a level and a human message, plus a few auxiliary fields that
//! travel on the wire (`str1` is the message template, `str2` the substituted detail). Drivers and
//! the RPC layer keep their own error enums; each maps into [`VirError`] in exactly one function,
//! and the RPC layer encodes [`VirError`] as the wire's `remote_error`.
//!
//! Numbers are facts of libvirt's public API (`virterror.h`); the names are ours.

use std::fmt;

/// A libvirt error number (`virErrorNumber`). Only the values oxvirt produces are named.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[repr(i32)]
pub enum ErrorCode {
    /// internal error
    InternalError = 1,
    /// no connection driver available
    NoConnect = 5,
    /// this function is not supported by the connection driver
    NoSupport = 3,
    /// invalid argument
    InvalidArg = 8,
    /// operation failed
    OperationFailed = 9,
    /// XML description is invalid or not well formed
    XmlError = 27,
    /// operation forbidden (read-only connection)
    OperationDenied = 29,
    /// XML document failed to parse
    XmlDetail = 35,
    /// system call failed
    SystemError = 38,
    /// RPC protocol error
    Rpc = 39,
    /// domain not found
    NoDomain = 42,
    /// network not found
    NoNetwork = 43,
    /// authentication failed
    AuthFailed = 45,
    /// storage pool not found
    NoStoragePool = 49,
    /// storage volume not found
    NoStorageVol = 50,
    /// node device not found
    NoNodeDevice = 53,
    /// requested operation is not valid for the object's state
    OperationInvalid = 55,
    /// interface not found
    NoInterface = 57,
    /// network filter not found
    NoNwfilter = 62,
    /// secret not found
    NoSecret = 66,
    /// configuration not supported
    ConfigUnsupported = 67,
    /// argument unsupported
    ArgumentUnsupported = 74,
    /// operation is not supported
    OperationUnsupported = 84,
    /// resource is already in use
    ResourceBusy = 87,
    /// access denied by the access driver
    AccessDenied = 88,
    /// admin: server not found
    NoServer = 95,
    /// admin: client not found
    NoClient = 96,
}

/// `VIR_ERR_ERROR`, the level of every error oxvirt reports.
pub const VIR_ERR_LEVEL_ERROR: i32 = 2;

/// The module that raised an error (`virErrorDomain`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[repr(i32)]
pub enum ErrorDomain {
    /// no particular module
    None = 0,
    /// the RPC layer
    Rpc = 7,
    /// the QEMU driver
    Qemu = 10,
    /// the test driver
    Test = 12,
    /// the remote driver
    Remote = 13,
    /// the LXC driver
    Lxc = 17,
    /// the storage driver
    Storage = 18,
    /// the network driver
    Network = 19,
    /// the domain configuration / public domain API
    Domain = 20,
    /// node devices
    Nodedev = 22,
    /// host interfaces
    Interface = 26,
    /// secrets
    Secret = 30,
    /// network filters
    Nwfilter = 33,
    /// domain snapshots
    DomainSnapshot = 35,
    /// streams
    Streams = 38,
    /// the lock manager daemon and its plugin
    Locking = 42,
    /// lockspaces (virtlockd's leases)
    Lockspace = 51,
    /// access control
    Access = 55,
    /// the admin interface
    Admin = 62,
    /// the log manager (virtlogd)
    Logging = 63,
    /// domain checkpoints
    DomainCheckpoint = 69,
}

/// One libvirt error, as it travels on the wire and as clients print it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VirError {
    /// error number
    pub code: i32,
    /// error domain
    pub domain: i32,
    /// the full human message, e.g. "Domain not found: no domain with matching name 'x'"
    pub message: String,
    /// 2 = error, 1 = warning
    pub level: i32,
    /// the message template, e.g. "Domain not found: %s"
    pub str1: Option<String>,
    /// the substituted detail
    pub str2: Option<String>,
    /// unused by most errors
    pub str3: Option<String>,
    /// auxiliary integer (-1 unless the error says otherwise)
    pub int1: i32,
    /// auxiliary integer (-1 unless the error says otherwise)
    pub int2: i32,
}

impl VirError {
    /// An error whose message is `prefix` alone (libvirt's template "%s"-less form).
    pub fn bare(code: ErrorCode, domain: ErrorDomain, message: impl Into<String>) -> Self {
        let message = message.into();
        VirError {
            code: code as i32,
            domain: domain as i32,
            str1: Some(message.clone()),
            message,
            level: VIR_ERR_LEVEL_ERROR,
            str2: None,
            str3: None,
            int1: -1,
            int2: -1,
        }
    }

    /// An error built as libvirt builds most: `"<prefix>: <detail>"`, with template
    /// `"<prefix>: %s"` in `str1` and the detail in `str2`.
    pub fn with_detail(
        code: ErrorCode,
        domain: ErrorDomain,
        prefix: &str,
        detail: impl Into<String>,
    ) -> Self {
        let detail = detail.into();
        VirError {
            code: code as i32,
            domain: domain as i32,
            message: format!("{prefix}: {detail}"),
            level: VIR_ERR_LEVEL_ERROR,
            str1: Some(format!("{prefix}: %s")),
            str2: Some(detail),
            str3: None,
            int1: -1,
            int2: -1,
        }
    }

    /// "internal error: <detail>" as libvirt's virReportError(VIR_ERR_INTERNAL_ERROR, ...).
    pub fn internal(domain: ErrorDomain, detail: impl Into<String>) -> Self {
        Self::with_detail(ErrorCode::InternalError, domain, "internal error", detail)
    }

    /// "unsupported flags (0x..) in function NAME", as virCheckFlags reports it.
    pub fn unsupported_flags(domain: ErrorDomain, flags: u32, function: &str) -> Self {
        VirError {
            code: ErrorCode::InvalidArg as i32,
            domain: domain as i32,
            message: format!("unsupported flags (0x{flags:x}) in function {function}"),
            level: VIR_ERR_LEVEL_ERROR,
            str1: Some(function.to_string()),
            str2: Some("flags".to_string()),
            str3: None,
            int1: 0,
            int2: 0,
        }
    }

    /// "this function is not supported by the connection driver: FUNC".
    pub fn no_support(function: &str) -> Self {
        Self::with_detail(
            ErrorCode::NoSupport,
            ErrorDomain::None,
            "this function is not supported by the connection driver",
            function,
        )
    }

    /// "operation forbidden: read only access prevents FUNC", in the API module's domain.
    pub fn read_only(domain: ErrorDomain, function: &str) -> Self {
        Self::with_detail(
            ErrorCode::OperationDenied,
            domain,
            "operation forbidden",
            format!("read only access prevents {function}"),
        )
    }
}

impl VirError {
    /// Replace the human message, keeping code, domain and auxiliary fields.
    pub fn with_message(mut self, message: impl Into<String>) -> Self {
        self.message = message.into();
        self
    }
}

impl fmt::Display for VirError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for VirError {}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn detail_errors_carry_template_and_detail() {
        let e = VirError::with_detail(
            ErrorCode::NoNetwork,
            ErrorDomain::Test,
            "Network not found",
            "no network with matching name 'x'",
        );
        assert_eq!(
            e.message,
            "Network not found: no network with matching name 'x'"
        );
        assert_eq!(e.str1.as_deref(), Some("Network not found: %s"));
        assert_eq!(e.code, 43);
        assert_eq!(e.domain, 12);
        assert_eq!((e.int1, e.int2, e.level), (-1, -1, 2));
    }

    #[test]
    fn unsupported_flags_matches_libvirt() {
        let e = VirError::unsupported_flags(ErrorDomain::Test, 0x8000_0000, "testDomainGetXMLDesc");
        assert_eq!(
            e.message,
            "unsupported flags (0x80000000) in function testDomainGetXMLDesc"
        );
        assert_eq!((e.code, e.int1, e.int2), (8, 0, 0));
    }

    #[test]
    fn read_only_text() {
        let e = VirError::read_only(ErrorDomain::Domain, "virDomainDestroy");
        assert_eq!(
            e.message,
            "operation forbidden: read only access prevents virDomainDestroy"
        );
        assert_eq!((e.code, e.domain), (29, 20));
    }
}
