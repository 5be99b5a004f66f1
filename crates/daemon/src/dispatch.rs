//! Glue shared by the daemon's programs: decode the arguments, run a handler, encode the reply.

use oxvirt_proto::Header;
use oxvirt_rpc::frame::{reply_err, reply_ok};
use oxvirt_rpc::Reply;
use oxvirt_virerror::{ErrorCode, ErrorDomain, VirError};
use oxvirt_xdr::Xdr;

/// "Unable to decode message payload" (code 39, domain 7): the connection stays open.
pub fn decode_error() -> VirError {
    VirError::bare(
        ErrorCode::Rpc,
        ErrorDomain::Rpc,
        "Unable to decode message payload",
    )
}

/// "unknown procedure: N": clients turn it into "not supported" and fall back.
pub fn unknown_procedure(proc_: i32) -> VirError {
    VirError::bare(
        ErrorCode::Rpc,
        ErrorDomain::Rpc,
        format!("unknown procedure: {proc_}"),
    )
}

/// Decode `A` from `body`, run `f`, and encode its result as the reply to `h`.
pub fn call<A: Xdr, R: Xdr>(
    h: &Header,
    body: &[u8],
    f: impl FnOnce(A) -> Result<R, VirError>,
) -> Reply {
    let frame = match oxvirt_xdr::from_bytes::<A>(body) {
        Err(_) => reply_err(h, &decode_error()),
        Ok(a) => match f(a) {
            Ok(r) => reply_ok(h, &r),
            Err(e) => reply_err(h, &e),
        },
    };
    Reply::Frame(frame)
}

/// [`call`] for arguments decoded borrowing from the message ([`oxvirt_xdr::XdrRef`]): the
/// hot procedures' path, where decoding allocates nothing.
pub fn call_ref<'a, A: oxvirt_xdr::XdrRef<'a>, R: Xdr>(
    h: &Header,
    body: &'a [u8],
    f: impl FnOnce(A) -> Result<R, VirError>,
) -> Reply {
    let frame = match oxvirt_xdr::from_bytes_ref::<A>(body) {
        Err(_) => reply_err(h, &decode_error()),
        Ok(a) => match f(a) {
            Ok(r) => reply_ok(h, &r),
            Err(e) => reply_err(h, &e),
        },
    };
    Reply::Frame(frame)
}

/// [`call_ref`] for handlers that build their reply frame themselves (with
/// [`oxvirt_rpc::frame::reply_ok_with`], encoding straight from the driver's data while its
/// lock is held): a lookup's reply is then the only allocation of the call.
pub fn call_ref_frame<'a, A: oxvirt_xdr::XdrRef<'a>>(
    h: &Header,
    body: &'a [u8],
    f: impl FnOnce(A) -> Result<Vec<u8>, VirError>,
) -> Reply {
    Reply::Frame(match oxvirt_xdr::from_bytes_ref::<A>(body) {
        Err(_) => reply_err(h, &decode_error()),
        Ok(a) => f(a).unwrap_or_else(|e| reply_err(h, &e)),
    })
}

/// Reject flags outside `allowed` as virCheckFlags does.
pub fn check_flags(
    flags: u32,
    allowed: u32,
    domain: ErrorDomain,
    function: &str,
) -> Result<(), VirError> {
    if flags & !allowed != 0 {
        return Err(VirError::unsupported_flags(
            domain,
            flags & !allowed,
            function,
        ));
    }
    Ok(())
}
