//! Errors of the client connection.

use oxvirt_virerror::{ErrorCode, VirError};

/// Why a connection stopped working.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Disconnect {
    /// The peer closed the socket.
    #[error("End of file while reading data: Input/output error")]
    Eof,
    /// The peer sent nothing for interval × (count + 1).
    #[error("connection closed due to keepalive timeout")]
    KeepaliveTimeout,
    /// `close()` was called.
    #[error("client socket is closed")]
    Closed,
    /// A read or write failed.
    #[error("Cannot recv data: {0}")]
    Io(String),
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
            ClientError::Disconnected(Disconnect::Eof | Disconnect::Io(_)) => {
                ErrorCode::SystemError as i32
            }
            _ => ErrorCode::Rpc as i32,
        }
    }

    /// Turns a decoded error reply into the typed error, as the C client does
    /// (`virNetClientProgramDispatchError`).
    pub fn from_remote(mut e: VirError) -> Self {
        if e.code == ErrorCode::Rpc as i32 && e.message.starts_with("unknown procedure") {
            e.code = ErrorCode::NoSupport as i32;
            return ClientError::NotSupported(e);
        }
        if e.code == ErrorCode::NoSupport as i32 {
            return ClientError::NotSupported(e);
        }
        ClientError::Libvirt(e)
    }
}

impl From<oxvirt_xdr::XdrError> for ClientError {
    fn from(e: oxvirt_xdr::XdrError) -> Self {
        ClientError::Protocol(format!("Unable to decode message payload: {e}"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use oxvirt_virerror::ErrorDomain;

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
    fn disconnects_read_like_the_c_client() {
        let c = ClientError::Disconnected(Disconnect::KeepaliveTimeout);
        assert_eq!(c.to_string(), "connection closed due to keepalive timeout");
        assert_eq!(
            ClientError::Disconnected(Disconnect::Eof).to_string(),
            "End of file while reading data: Input/output error"
        );
    }
}
