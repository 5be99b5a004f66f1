//! The 24-byte message header and the framing constants (protocol notes §1.2-1.4).

use oxvirt_xdr::{Reader, Xdr, XdrError};

/// Size of the length word that starts every frame.
pub const LEN_SIZE: usize = 4;
/// Size of the header after the length word.
pub const HEADER_SIZE: usize = 24;
/// Largest frame body (length word excluded): `VIR_NET_MESSAGE_MAX`.
pub const MESSAGE_MAX: usize = 33_554_432;
/// Largest payload after the header.
pub const PAYLOAD_MAX: usize = MESSAGE_MAX - HEADER_SIZE;
/// At most this many fds per message.
pub const NUM_FDS_MAX: usize = 32;
/// Largest stream data chunk libvirtd sends.
pub const LEGACY_PAYLOAD_MAX: usize = 262_120;

/// Message type (`virNetMessageType`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MsgType {
    Call,
    Reply,
    Message,
    Stream,
    CallWithFds,
    ReplyWithFds,
    StreamHole,
    /// Any other value: kept so that it can be echoed or dropped.
    Other(i32),
}

impl MsgType {
    /// The wire value.
    pub fn to_i32(self) -> i32 {
        match self {
            MsgType::Call => 0,
            MsgType::Reply => 1,
            MsgType::Message => 2,
            MsgType::Stream => 3,
            MsgType::CallWithFds => 4,
            MsgType::ReplyWithFds => 5,
            MsgType::StreamHole => 6,
            MsgType::Other(v) => v,
        }
    }

    /// From the wire value.
    pub fn from_i32(v: i32) -> Self {
        match v {
            0 => MsgType::Call,
            1 => MsgType::Reply,
            2 => MsgType::Message,
            3 => MsgType::Stream,
            4 => MsgType::CallWithFds,
            5 => MsgType::ReplyWithFds,
            6 => MsgType::StreamHole,
            v => MsgType::Other(v),
        }
    }
}

/// Message status (`virNetMessageStatus`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MsgStatus {
    Ok,
    Error,
    Continue,
    Other(i32),
}

impl MsgStatus {
    /// The wire value.
    pub fn to_i32(self) -> i32 {
        match self {
            MsgStatus::Ok => 0,
            MsgStatus::Error => 1,
            MsgStatus::Continue => 2,
            MsgStatus::Other(v) => v,
        }
    }

    /// From the wire value.
    pub fn from_i32(v: i32) -> Self {
        match v {
            0 => MsgStatus::Ok,
            1 => MsgStatus::Error,
            2 => MsgStatus::Continue,
            v => MsgStatus::Other(v),
        }
    }
}

/// `virNetMessageHeader`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Header {
    pub prog: u32,
    pub vers: u32,
    pub proc_: i32,
    pub kind: MsgType,
    pub serial: u32,
    pub status: MsgStatus,
}

impl Header {
    /// The reply header for this call: same prog, vers, proc and serial.
    pub fn reply(&self, status: MsgStatus) -> Header {
        Header {
            kind: MsgType::Reply,
            status,
            ..*self
        }
    }
}

impl Xdr for Header {
    fn encode(&self, out: &mut Vec<u8>) {
        self.prog.encode(out);
        self.vers.encode(out);
        self.proc_.encode(out);
        self.kind.to_i32().encode(out);
        self.serial.encode(out);
        self.status.to_i32().encode(out);
    }
    fn decode(r: &mut Reader<'_>) -> Result<Self, XdrError> {
        Ok(Header {
            prog: u32::decode(r)?,
            vers: u32::decode(r)?,
            proc_: i32::decode(r)?,
            kind: MsgType::from_i32(i32::decode(r)?),
            serial: u32::decode(r)?,
            status: MsgStatus::from_i32(i32::decode(r)?),
        })
    }
    const MIN_SIZE: usize = HEADER_SIZE;
}

/// Start a frame: a placeholder length word then the header. Finish with [`finish_frame`].
pub fn begin_frame(out: &mut Vec<u8>, h: &Header) {
    out.extend_from_slice(&[0; 4]);
    h.encode(out);
}

/// Fill in the length word of the frame that starts at `start`.
pub fn finish_frame(out: &mut [u8], start: usize) {
    let len = (out.len() - start) as u32;
    out[start..start + 4].copy_from_slice(&len.to_be_bytes());
}

/// Check a frame's length word (which counts itself): it must leave room for a header and
/// not exceed the message maximum. Returns the body length to read.
pub fn check_length(len: u32) -> Result<usize, u32> {
    let len = len as usize;
    if len < LEN_SIZE + HEADER_SIZE || len - LEN_SIZE > MESSAGE_MAX {
        return Err(len as u32);
    }
    Ok(len - LEN_SIZE)
}

/// Why a byte stream cannot be framed (the connection is dropped).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FrameError {
    /// Length word below 28 or above 32 MiB + 4.
    BadLength(u32),
    /// More fds announced than libvirt allows ([`NUM_FDS_MAX`]).
    TooManyFds(u32),
}

/// What [`parse`] found at the start of a buffer.
#[derive(Debug, PartialEq, Eq)]
pub enum Parsed {
    /// Not enough bytes yet: read at least this many in total before trying again.
    Need(usize),
    /// A whole frame of `len` bytes (length word included) with this header, announcing
    /// `nfds` passed fds (their dummy bytes follow the frame in the stream).
    Frame {
        len: usize,
        header: Header,
        nfds: usize,
    },
}

/// Look at the start of `buf` for a frame, as both ends of a connection cut them. Validates
/// the length word before anything else. A `*_WITH_FDS` frame too short for its fd count
/// announces none (its payload offset then lies beyond the frame).
pub fn parse(buf: &[u8]) -> Result<Parsed, FrameError> {
    if buf.len() < LEN_SIZE {
        return Ok(Parsed::Need(LEN_SIZE));
    }
    let len = u32::from_be_bytes([buf[0], buf[1], buf[2], buf[3]]);
    let body = check_length(len).map_err(FrameError::BadLength)?;
    let total = body + LEN_SIZE;
    if buf.len() < total {
        return Ok(Parsed::Need(total));
    }
    let mut r = Reader::new(&buf[LEN_SIZE..total]);
    let header = Header::decode(&mut r).expect("length checked above");
    let mut nfds = 0;
    if matches!(header.kind, MsgType::CallWithFds | MsgType::ReplyWithFds) {
        let n = u32::decode(&mut r).unwrap_or(0);
        if n as usize > NUM_FDS_MAX {
            return Err(FrameError::TooManyFds(n));
        }
        nfds = n as usize;
    }
    Ok(Parsed::Frame {
        len: total,
        header,
        nfds,
    })
}

/// Offset of the payload inside a frame of this header (after the fd count of `*_WITH_FDS`).
pub fn payload_offset(header: &Header) -> usize {
    let base = LEN_SIZE + HEADER_SIZE;
    if matches!(header.kind, MsgType::CallWithFds | MsgType::ReplyWithFds) {
        base + 4
    } else {
        base
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn length_limits_match_libvirt() {
        assert!(check_length(27).is_err());
        assert_eq!(check_length(28), Ok(24));
        assert_eq!(check_length((MESSAGE_MAX + 4) as u32), Ok(MESSAGE_MAX));
        assert!(check_length((MESSAGE_MAX + 5) as u32).is_err());
        assert!(check_length(3).is_err());
    }

    #[test]
    fn header_matches_captured_bytes() {
        let h = Header {
            prog: 0x2000_8086,
            vers: 1,
            proc_: 1,
            kind: MsgType::Call,
            serial: 2,
            status: MsgStatus::Ok,
        };
        let mut out = Vec::new();
        begin_frame(&mut out, &h);
        out.extend_from_slice(&[0; 28]);
        finish_frame(&mut out, 0);
        assert_eq!(&out[..8], &[0, 0, 0, 0x38, 0x20, 0, 0x80, 0x86]);
        let back = oxvirt_xdr::from_bytes::<Header>(&out[4..]).unwrap();
        assert_eq!(back, h);
    }
}
