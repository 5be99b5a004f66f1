//! The log manager RPC program (0x87539319 v1) over a [`LogHandler`].
//!
//! The RPC layer's server calls [`Program::dispatch`] for each CALL; every procedure runs
//! inline (virtlogd's main server has no workers either) and answers at once. Arguments are
//! decoded with [`crate::protocol`], the handler does the work, and [`LogError::to_vir`] turns
//! failures into the errors libvirt's virtlogd sends. OPEN's reply carries one fd: the pipe's
//! write end.

use crate::error::{LogError, READ_MAX};
use crate::handler::LogHandler;
use crate::protocol::{self as p, procs};
use oxvirt_proto::Header;
use oxvirt_rpc::frame::{reply_err, reply_ok, reply_ok_with_fds};
use oxvirt_rpc::program::{Dispatched, Program, Reply};
use oxvirt_rpc::Client;
use oxvirt_virerror::{ErrorCode, ErrorDomain, VirError};
use oxvirt_xdr::Xdr;
use std::os::fd::OwnedFd;
use std::sync::Arc;

/// The program serving `handler`.
pub fn program(handler: Arc<LogHandler>) -> Arc<dyn Program> {
    Arc::new(LogProgram { handler })
}

struct LogProgram {
    handler: Arc<LogHandler>,
}

/// "Unable to decode message payload" (code 39, domain 7): the connection stays open.
fn decode_error() -> VirError {
    VirError::bare(
        ErrorCode::Rpc,
        ErrorDomain::Rpc,
        "Unable to decode message payload",
    )
}

/// "unknown procedure: N".
fn unknown_procedure(proc_: i32) -> VirError {
    VirError::bare(
        ErrorCode::Rpc,
        ErrorDomain::Rpc,
        format!("unknown procedure: {proc_}"),
    )
}

/// Decode `A` from `body`, run `f`, encode its result as the reply to `h`.
fn call<A: Xdr, R: Xdr>(
    h: &Header,
    body: &[u8],
    f: impl FnOnce(A) -> Result<R, LogError>,
) -> Reply {
    Reply::Frame(match oxvirt_xdr::from_bytes::<A>(body) {
        Err(_) => reply_err(h, &decode_error()),
        Ok(a) => match f(a) {
            Ok(r) => reply_ok(h, &r),
            Err(e) => reply_err(h, &e.to_vir()),
        },
    })
}

/// virCheckFlags in the libvirt handler function `function`.
fn check_flags(flags: u32, allowed: u32, function: &'static str) -> Result<(), LogError> {
    if flags & !allowed != 0 {
        return Err(LogError::UnsupportedFlags {
            flags: flags & !allowed,
            function,
        });
    }
    Ok(())
}

impl LogProgram {
    fn open(&self, h: &Header, body: &[u8]) -> Reply {
        let a = match oxvirt_xdr::from_bytes::<p::OpenLogFileArgs>(body) {
            Ok(a) => a,
            Err(_) => return Reply::Frame(reply_err(h, &decode_error())),
        };
        // libvirt looks only at TRUNCATE and ignores other flags here.
        match self
            .handler
            .open_log_file(&a.driver, a.dom.uuid.0, &a.dom.name, &a.path, a.flags)
        {
            Ok((pos, fd)) => {
                let ret = p::OpenLogFileRet { pos };
                let fds: Vec<OwnedFd> = vec![fd];
                Reply::FrameWithFds(reply_ok_with_fds(h, &ret, 1), fds)
            }
            Err(e) => Reply::Frame(reply_err(h, &e.to_vir())),
        }
    }

    fn handle(&self, h: &Header, body: &[u8]) -> Reply {
        let hd = &self.handler;
        match h.proc_ {
            procs::DOMAIN_OPEN_LOG_FILE => self.open(h, body),
            procs::DOMAIN_GET_LOG_FILE_POSITION => call(h, body, |a: p::GetLogFilePositionArgs| {
                check_flags(a.flags, 0, "virLogHandlerDomainGetLogFilePosition")?;
                Ok(p::GetLogFilePositionRet {
                    pos: hd.get_position(&a.path)?,
                })
            }),
            procs::DOMAIN_READ_LOG_FILE => call(h, body, |a: p::ReadLogFileArgs| {
                // The dispatcher checks the length before the handler checks the flags.
                if a.maxlen > READ_MAX {
                    return Err(LogError::ReadTooLong(a.maxlen));
                }
                check_flags(a.flags, 0, "virLogHandlerDomainReadLogFile")?;
                Ok(p::ReadLogFileRet {
                    data: p::ByteString(hd.read_log_file(&a.path, a.pos, a.maxlen)?),
                })
            }),
            procs::DOMAIN_APPEND_LOG_FILE => call(h, body, |a: p::AppendLogFileArgs| {
                check_flags(a.flags, 0, "virLogHandlerDomainAppendLogFile")?;
                hd.append_log_file(&a.driver, a.dom.uuid.0, &a.dom.name, &a.path, &a.message.0)?;
                Ok(p::AppendLogFileRet { ret: 0 })
            }),
            other => Reply::Frame(reply_err(h, &unknown_procedure(other))),
        }
    }
}

impl Program for LogProgram {
    fn number(&self) -> u32 {
        p::PROGRAM
    }

    fn version(&self) -> u32 {
        p::VERSION
    }

    fn dispatch(
        &self,
        _client: &Arc<Client>,
        header: &Header,
        body: &[u8],
        _fds: Vec<OwnedFd>,
    ) -> Dispatched {
        Dispatched::Now(self.handle(header, body))
    }
}

#[cfg(test)]
mod tests;
