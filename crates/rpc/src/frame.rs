//! Frames: cutting validated messages out of the receive buffer, and building outgoing ones.

use oxvirt_proto::header::{self, begin_frame, finish_frame};
use oxvirt_proto::{Header, MsgStatus, MsgType, RemoteError};
use oxvirt_virerror::VirError;
use oxvirt_xdr::Xdr;
use std::os::fd::OwnedFd;

/// A decoded incoming message: header, payload (after the nfds word, if any) and passed fds.
#[derive(Debug)]
pub struct Call {
    pub header: Header,
    pub body: Vec<u8>,
    pub fds: Vec<OwnedFd>,
}

/// Why the peer's byte stream cannot be framed; the connection is closed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum FrameError {
    /// Length word below 28 or above 32 MiB + 4.
    #[error("packet {0} bytes received from client is invalid")]
    BadLength(u32),
    /// More fds announced than libvirt allows.
    #[error("too many file descriptors ({0}) in message")]
    TooManyFds(u32),
}

pub use oxvirt_proto::header::{payload_offset, Parsed};

impl From<oxvirt_proto::header::FrameError> for FrameError {
    fn from(e: oxvirt_proto::header::FrameError) -> Self {
        match e {
            oxvirt_proto::header::FrameError::BadLength(n) => FrameError::BadLength(n),
            oxvirt_proto::header::FrameError::TooManyFds(n) => FrameError::TooManyFds(n),
        }
    }
}

/// Look at the start of `buf` for a frame ([`oxvirt_proto::header::parse`]); errors in the
/// daemon's words.
pub fn parse(buf: &[u8]) -> Result<Parsed, FrameError> {
    oxvirt_proto::header::parse(buf).map_err(FrameError::from)
}

/// A successful REPLY to `call` whose body `body` encodes (`size`: the bytes it writes, so the
/// frame is allocated once), for replies encoded straight from borrowed data.
pub fn reply_ok_with(call: &Header, size: usize, body: impl FnOnce(&mut Vec<u8>)) -> Vec<u8> {
    let mut out = Vec::with_capacity(header::LEN_SIZE + header::HEADER_SIZE + size);
    begin_frame(&mut out, &call.reply(MsgStatus::Ok));
    body(&mut out);
    finish_frame(&mut out, 0);
    out
}

/// A successful REPLY to `call` carrying `ret`.
pub fn reply_ok<T: Xdr>(call: &Header, ret: &T) -> Vec<u8> {
    let mut out = Vec::with_capacity(64);
    begin_frame(&mut out, &call.reply(MsgStatus::Ok));
    ret.encode(&mut out);
    finish_frame(&mut out, 0);
    out
}

/// A successful REPLY_WITH_FDS to `call` announcing `nfds` fds.
pub fn reply_ok_with_fds<T: Xdr>(call: &Header, ret: &T, nfds: u32) -> Vec<u8> {
    let mut out = Vec::with_capacity(64);
    let mut h = call.reply(MsgStatus::Ok);
    h.kind = MsgType::ReplyWithFds;
    begin_frame(&mut out, &h);
    nfds.encode(&mut out);
    ret.encode(&mut out);
    finish_frame(&mut out, 0);
    out
}

/// A failed REPLY to `call` (always a plain REPLY, even for calls with fds).
pub fn reply_err(call: &Header, err: &VirError) -> Vec<u8> {
    let mut out = Vec::with_capacity(128);
    begin_frame(&mut out, &call.reply(MsgStatus::Error));
    RemoteError(err.clone()).encode(&mut out);
    finish_frame(&mut out, 0);
    out
}

/// An asynchronous MESSAGE (events use serial 1 as libvirtd does).
pub fn message<T: Xdr>(prog: u32, vers: u32, proc_: i32, serial: u32, body: &T) -> Vec<u8> {
    request(prog, vers, proc_, MsgType::Message, serial, body)
}

/// A CALL frame (what a client sends), for tools and tests that speak raw frames.
pub fn call<T: Xdr>(prog: u32, vers: u32, proc_: i32, serial: u32, body: &T) -> Vec<u8> {
    request(prog, vers, proc_, MsgType::Call, serial, body)
}

fn request<T: Xdr>(
    prog: u32,
    vers: u32,
    proc_: i32,
    kind: MsgType,
    serial: u32,
    body: &T,
) -> Vec<u8> {
    let h = Header {
        prog,
        vers,
        proc_,
        kind,
        serial,
        status: MsgStatus::Ok,
    };
    let mut out = Vec::with_capacity(96);
    begin_frame(&mut out, &h);
    body.encode(&mut out);
    finish_frame(&mut out, 0);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn frame(kind: i32, extra: &[u8]) -> Vec<u8> {
        let h = Header {
            prog: 1,
            vers: 1,
            proc_: 2,
            kind: MsgType::from_i32(kind),
            serial: 0,
            status: MsgStatus::Ok,
        };
        let mut out = Vec::new();
        begin_frame(&mut out, &h);
        out.extend_from_slice(extra);
        finish_frame(&mut out, 0);
        out
    }

    #[test]
    fn incremental_parse() {
        let f = frame(0, &[1, 2, 3, 4]);
        assert_eq!(parse(&f[..2]), Ok(Parsed::Need(4)));
        assert_eq!(parse(&f[..10]), Ok(Parsed::Need(32)));
        match parse(&f).unwrap() {
            Parsed::Frame { len, nfds, .. } => assert_eq!((len, nfds), (32, 0)),
            p => panic!("{p:?}"),
        }
    }

    #[test]
    fn bad_lengths_rejected_before_body() {
        assert_eq!(parse(&[0, 0, 0, 3]), Err(FrameError::BadLength(3)));
        assert_eq!(parse(&[0, 0, 0, 27, 0]), Err(FrameError::BadLength(27)));
        assert_eq!(
            parse(&[2, 0, 0, 5]),
            Err(FrameError::BadLength(0x0200_0005))
        );
        assert!(matches!(
            parse(&[2, 0, 0, 4]),
            Ok(Parsed::Need(0x0200_0004))
        ));
    }

    #[test]
    fn fd_counts() {
        let f = frame(4, &[0, 0, 0, 2]);
        assert!(matches!(parse(&f), Ok(Parsed::Frame { nfds: 2, .. })));
        let f = frame(4, &[0, 0, 0, 33]);
        assert_eq!(parse(&f), Err(FrameError::TooManyFds(33)));
    }
}
