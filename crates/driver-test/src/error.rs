//! The test driver's errors and their one mapping onto libvirt's (code, domain, message).
//!
//! Messages follow libvirt's test driver as observed on libvirt 9.0 (verify new ones against the
//! reference daemon with python3-libvirt: `e.get_error_code(), e.get_error_domain(), str(e)`).

use oxvirt_virerror::{ErrorCode, ErrorDomain, VirError};

/// Everything the test driver can refuse.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DriverError {
    /// No domain matched; the detail is libvirt's text after "Domain not found: " (may be empty,
    /// the test driver then says just "Domain not found").
    #[error("Domain not found")]
    NoDomain(Option<String>),
    #[error("Network not found: {0}")]
    NoNetwork(String),
    #[error("Storage pool not found: {0}")]
    NoStoragePool(String),
    #[error("Storage volume not found: {0}")]
    NoStorageVol(String),
    #[error("Interface not found: {0}")]
    NoInterface(String),
    #[error("Node device not found: {0}")]
    NoNodeDevice(String),
    /// "Requested operation is not valid: <detail>" (code 55) in the given error domain.
    #[error("Requested operation is not valid: {1}")]
    OperationInvalid(ErrorDomain, String),
    /// "operation failed: <detail>" (code 9) in the given error domain.
    #[error("operation failed: {1}")]
    OperationFailed(ErrorDomain, String),
    /// "internal error: <detail>" (code 1).
    #[error("internal error: {1}")]
    Internal(ErrorDomain, String),
    /// "invalid argument: <detail>" (code 8).
    #[error("invalid argument: {1}")]
    InvalidArg(ErrorDomain, String),
    /// virCheckFlags failure: flags and the libvirt function name.
    #[error("unsupported flags (0x{0:x}) in function {1}")]
    UnsupportedFlags(u32, String),
    /// XML that does not parse (code 35 XML_DETAIL) or does not describe a valid object
    /// (code 27 XML_ERROR / 67 CONFIG_UNSUPPORTED); the full message is given.
    #[error("{2}")]
    Xml(ErrorCode, ErrorDomain, String),
    /// Any other error, already in libvirt's form.
    #[error("{0}")]
    Vir(VirError),
}

impl DriverError {
    /// The one mapping from driver errors to libvirt errors.
    pub fn to_vir(&self) -> VirError {
        use ErrorCode as C;
        use ErrorDomain as D;
        match self {
            DriverError::NoDomain(None) => VirError::bare(C::NoDomain, D::Test, "Domain not found"),
            DriverError::NoDomain(Some(d)) => {
                VirError::with_detail(C::NoDomain, D::Test, "Domain not found", d.clone())
            }
            DriverError::NoNetwork(d) => {
                VirError::with_detail(C::NoNetwork, D::Test, "Network not found", d.clone())
            }
            DriverError::NoStoragePool(d) => VirError::with_detail(
                C::NoStoragePool,
                D::Test,
                "Storage pool not found",
                d.clone(),
            ),
            DriverError::NoStorageVol(d) => VirError::with_detail(
                C::NoStorageVol,
                D::Test,
                "Storage volume not found",
                d.clone(),
            ),
            DriverError::NoInterface(d) => {
                VirError::with_detail(C::NoInterface, D::Test, "Interface not found", d.clone())
            }
            DriverError::NoNodeDevice(d) => {
                VirError::with_detail(C::NoNodeDevice, D::Test, "Node device not found", d.clone())
            }
            DriverError::OperationInvalid(dom, d) => VirError::with_detail(
                C::OperationInvalid,
                *dom,
                "Requested operation is not valid",
                d.clone(),
            ),
            DriverError::OperationFailed(dom, d) => {
                VirError::with_detail(C::OperationFailed, *dom, "operation failed", d.clone())
            }
            DriverError::Internal(dom, d) => VirError::internal(*dom, d.clone()),
            DriverError::InvalidArg(dom, d) => {
                VirError::with_detail(C::InvalidArg, *dom, "invalid argument", d.clone())
            }
            DriverError::UnsupportedFlags(flags, func) => {
                VirError::unsupported_flags(D::Test, *flags, func)
            }
            DriverError::Xml(code, dom, msg) => VirError::bare(*code, *dom, msg.clone()),
            DriverError::Vir(v) => v.clone(),
        }
    }
}

/// virCheckFlags: refuse bits outside `allowed`, naming the libvirt function.
pub fn check_flags(flags: u32, allowed: u32, func: &str) -> DriverResult<()> {
    if flags & !allowed != 0 {
        return Err(DriverError::UnsupportedFlags(
            flags & !allowed,
            func.to_string(),
        ));
    }
    Ok(())
}

/// Result alias for driver calls.
pub type DriverResult<T> = Result<T, DriverError>;
