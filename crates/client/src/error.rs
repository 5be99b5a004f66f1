//! Errors of the client connection.

use oxvirt_virerror::{ErrorCode, ErrorDomain, VirError};

/// Why a connection stopped working.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Disconnect {
    /// The peer closed the socket.
    #[error("End of file while reading data: Input/output error")]
    Eof,
    /// The peer closed the socket and a transport command (ssh, ext) said why on its stderr:
    /// the text is `"<stderr>: Input/output error"`, as libvirt reports it.
    #[error("End of file while reading data: {0}")]
    EofWith(String),
    /// The peer sent nothing for interval × (count + 1).
    #[error("connection closed due to keepalive timeout")]
    KeepaliveTimeout,
    /// `close()` was called.
    #[error("client socket is closed")]
    Closed,
    /// A read failed.
    #[error("Cannot recv data: {0}")]
    Io(String),
    /// A write failed (the peer had closed its side, or the socket broke).
    #[error("Cannot write data: {0}")]
    Write(String),
    /// The peer broke the protocol; the connection was dropped as the C client does.
    #[error("{0}")]
    Protocol(String),
}

/// Everything a client call can fail with.
///
/// `Display` gives the text virsh prints after `error: ` (the libvirt error's message).
#[derive(Debug, Clone, thiserror::Error)]
pub enum ClientError {
    /// The server reported a libvirt error.
    #[error("{0}")]
    Libvirt(VirError),
    /// The server does not know the procedure ("unknown procedure: N", mapped to
    /// `VIR_ERR_NO_SUPPORT` as the C client does), or the driver lacks the API.
    #[error("{0}")]
    NotSupported(VirError),
    /// The connection is gone (peer EOF, keepalive timeout, I/O error, `close()`).
    #[error("{0}")]
    Disconnected(Disconnect),
    /// Connecting failed.
    #[error("Failed to connect socket to '{target}': {reason}")]
    Connect {
        /// Socket path or host:port.
        target: String,
        /// The OS error text.
        reason: String,
    },
    /// The server wants an authentication method this client does not implement.
    #[error("authentication failed: unsupported authentication type {0}")]
    AuthUnsupported(i32),
    /// The URI or the client configuration could not be used.
    #[error("{0}")]
    Config(String),
    /// A reply did not match what was asked, or its payload could not be decoded.
    #[error("{0}")]
    Protocol(String),
}

impl ClientError {
    /// The libvirt error, if the server sent one.
    pub fn vir_error(&self) -> Option<&VirError> {
        match self {
            ClientError::Libvirt(e) | ClientError::NotSupported(e) => Some(e),
            _ => None,
        }
    }

    /// The libvirt error number (`virErrorNumber`); client-side failures report the numbers
    /// libvirt's C client would (RPC 39, NO_SUPPORT 3, AUTH_FAILED 45, SYSTEM_ERROR 38).
    pub fn code(&self) -> i32 {
        match self {
            ClientError::Libvirt(e) | ClientError::NotSupported(e) => e.code,
            ClientError::Connect { .. } => ErrorCode::SystemError as i32,
            ClientError::AuthUnsupported(_) => ErrorCode::AuthFailed as i32,
            ClientError::Disconnected(
                Disconnect::Eof | Disconnect::Io(_) | Disconnect::Write(_),
            ) => ErrorCode::SystemError as i32,
            ClientError::Config(_) => ErrorCode::ConfigUnsupported as i32,
            _ => ErrorCode::Rpc as i32,
        }
    }

    /// The error domain (`virErrorDomain`: which module raised it); client-side failures are
    /// in the RPC domain (7), as the C client reports them.
    pub fn domain(&self) -> i32 {
        match self {
            ClientError::Libvirt(e) | ClientError::NotSupported(e) => e.domain,
            ClientError::Config(_) => ErrorDomain::Remote as i32,
            _ => ErrorDomain::Rpc as i32,
        }
    }

    /// The human message: what virsh prints after `error: ` (same as `Display`).
    pub fn message(&self) -> String {
        match self.vir_error() {
            Some(e) => e.message.clone(),
            None => self.to_string(),
        }
    }

    /// [`Self::code`] as a typed [`ErrorCode`], when it is one of the numbers named there.
    pub fn error_code(&self) -> Option<ErrorCode> {
        error_code_of(self.code())
    }

    /// [`Self::domain`] as a typed [`ErrorDomain`], when it is one of the numbers named there.
    pub fn error_domain(&self) -> Option<ErrorDomain> {
        error_domain_of(self.domain())
    }

    /// Whether the error has libvirt's error number `code`.
    ///
    /// ```
    /// use oxvirt_client::ClientError;
    /// use oxvirt_virerror::{ErrorCode, ErrorDomain, VirError};
    /// let e = ClientError::from_remote(VirError::with_detail(
    ///     ErrorCode::NoDomain,
    ///     ErrorDomain::Test,
    ///     "Domain not found",
    ///     "no domain with matching name 'x'",
    /// ));
    /// assert!(e.is(ErrorCode::NoDomain));
    /// assert_eq!((e.code(), e.domain()), (42, 12));
    /// assert_eq!(e.error_domain(), Some(ErrorDomain::Test));
    /// assert_eq!(e.to_string(), "Domain not found: no domain with matching name 'x'");
    /// ```
    pub fn is(&self, code: ErrorCode) -> bool {
        self.code() == code as i32
    }

    /// Turns a decoded error reply into the typed error, as the C client does
    /// (`virNetClientProgramDispatchError`): "unknown procedure" becomes `VIR_ERR_NO_SUPPORT`,
    /// and the legacy numbers old servers sent for secret errors are corrected.
    pub fn from_remote(mut e: VirError) -> Self {
        if e.code == ErrorCode::Rpc as i32 && e.message.starts_with("unknown procedure") {
            e.code = ErrorCode::NoSupport as i32;
            return ClientError::NotSupported(e);
        }
        // Interop with 0.7.x servers, exactly as the C client rewrites these numbers:
        // INVALID_NWFILTER/NO_NWFILTER/BUILD_FIREWALL outside the nwfilter domain were
        // INVALID_SECRET/NO_SECRET/CONFIG_UNSUPPORTED; WAR_NO_SECRET from QEMU was
        // OPERATION_TIMEOUT; INVALID_SECRET from XEN was MIGRATE_PERSIST_FAILED.
        match e.code {
            61..=63 if e.domain != ErrorDomain::Nwfilter as i32 => e.code += 4,
            64 if e.domain == ErrorDomain::Qemu as i32 => e.code = 68,
            65 if e.domain == 1 => e.code = 69,
            _ => {}
        }
        if e.code == ErrorCode::NoSupport as i32 {
            return ClientError::NotSupported(e);
        }
        ClientError::Libvirt(e)
    }
}

fn error_code_of(n: i32) -> Option<ErrorCode> {
    use ErrorCode::*;
    [
        InternalError,
        NoConnect,
        NoSupport,
        InvalidArg,
        OperationFailed,
        XmlError,
        OperationDenied,
        XmlDetail,
        SystemError,
        Rpc,
        NoDomain,
        NoNetwork,
        AuthFailed,
        NoStoragePool,
        NoStorageVol,
        NoNodeDevice,
        OperationInvalid,
        NoInterface,
        NoNwfilter,
        NoSecret,
        ConfigUnsupported,
        ArgumentUnsupported,
        OperationUnsupported,
        ResourceBusy,
        AccessDenied,
        NoServer,
        NoClient,
    ]
    .into_iter()
    .find(|c| *c as i32 == n)
}

fn error_domain_of(n: i32) -> Option<ErrorDomain> {
    use ErrorDomain::*;
    [
        None, Rpc, Qemu, Test, Remote, Lxc, Storage, Network, Domain, Nodedev, Interface, Secret,
        Nwfilter, Streams, Locking, Lockspace, Access, Admin, Logging,
    ]
    .into_iter()
    .find(|d| *d as i32 == n)
}

impl From<oxvirt_xdr::XdrError> for ClientError {
    fn from(e: oxvirt_xdr::XdrError) -> Self {
        ClientError::Protocol(format!("Unable to decode message payload: {e}"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unknown_procedure_is_not_supported() {
        let e = VirError::bare(ErrorCode::Rpc, ErrorDomain::Rpc, "unknown procedure: 9999");
        let c = ClientError::from_remote(e);
        assert!(matches!(c, ClientError::NotSupported(_)));
        assert_eq!(c.code(), 3);
        assert_eq!(c.to_string(), "unknown procedure: 9999");
    }

    #[test]
    fn other_rpc_errors_stay_libvirt_errors() {
        let e = VirError::bare(ErrorCode::Rpc, ErrorDomain::Rpc, "authentication required");
        let c = ClientError::from_remote(e);
        assert!(matches!(c, ClientError::Libvirt(_)));
        assert_eq!(c.code(), 39);
    }

    #[test]
    fn display_is_the_libvirt_message() {
        let e = VirError::read_only(ErrorDomain::Domain, "virDomainDestroy");
        let c = ClientError::from_remote(e);
        assert_eq!(
            c.to_string(),
            "operation forbidden: read only access prevents virDomainDestroy"
        );
        assert_eq!(c.vir_error().unwrap().domain, 20);
        let c = ClientError::from_remote(VirError::no_support("virDomainQemuMonitorCommand"));
        assert!(matches!(c, ClientError::NotSupported(_)));
    }

    #[test]
    fn typed_code_and_domain() {
        let c =
            ClientError::from_remote(VirError::read_only(ErrorDomain::Domain, "virDomainDestroy"));
        assert_eq!(c.error_code(), Some(ErrorCode::OperationDenied));
        assert_eq!(c.error_domain(), Some(ErrorDomain::Domain));
        assert_eq!(c.message(), c.to_string());
        let d = ClientError::Disconnected(Disconnect::KeepaliveTimeout);
        assert_eq!((d.code(), d.domain()), (39, 7));
        assert_eq!(d.error_code(), Some(ErrorCode::Rpc));
    }

    #[test]
    fn legacy_secret_numbers_are_rewritten_as_the_c_client_does() {
        let mut e = VirError::bare(
            ErrorCode::NoNwfilter,
            ErrorDomain::Secret,
            "Secret not found",
        );
        assert_eq!(ClientError::from_remote(e.clone()).code(), 66);
        e.domain = ErrorDomain::Nwfilter as i32;
        assert_eq!(ClientError::from_remote(e).code(), 62);
    }

    #[test]
    fn disconnects_read_like_the_c_client() {
        let c = ClientError::Disconnected(Disconnect::KeepaliveTimeout);
        assert_eq!(c.to_string(), "connection closed due to keepalive timeout");
        assert_eq!(
            ClientError::Disconnected(Disconnect::Eof).to_string(),
            "End of file while reading data: Input/output error"
        );
    }
}
