//! The log manager program's wire types (program 0x87539319 version 1).
//!
//! Only [`mod@crate::program`] decodes and encodes these; libvirt's QEMU driver is the peer. QEMU's
//! output is arbitrary bytes, so READ's `data` and APPEND's `message` are [`ByteString`]s: XDR
//! `string` and variable `opaque` have the same wire form, and non-UTF-8 never fails to decode.

use oxvirt_xdr::{Reader, Uuid, Xdr, XdrError};

/// Program number.
pub const PROGRAM: u32 = 0x8753_9319;
/// Program version.
pub const VERSION: u32 = 1;
/// Longest string the program accepts (`VIR_LOG_MANAGER_PROTOCOL_STRING_MAX`).
pub const STRING_MAX: usize = 4_194_304;

/// OPEN flag: delete the file and its backups before opening.
pub const OPEN_LOG_FILE_TRUNCATE: u32 = 1;

/// Procedure numbers.
pub mod procs {
    /// Open a log file: returns its position and the write end of a pipe.
    pub const DOMAIN_OPEN_LOG_FILE: i32 = 1;
    /// Drain the pipe, then return the write position.
    pub const DOMAIN_GET_LOG_FILE_POSITION: i32 = 2;
    /// Read from a position across rotated files.
    pub const DOMAIN_READ_LOG_FILE: i32 = 3;
    /// Append a message.
    pub const DOMAIN_APPEND_LOG_FILE: i32 = 4;
}

/// A byte string: XDR `string<STRING_MAX>` whose bytes need not be UTF-8.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ByteString(pub Vec<u8>);

impl Xdr for ByteString {
    fn encode(&self, out: &mut Vec<u8>) {
        (self.0.len() as u32).encode(out);
        out.extend_from_slice(&self.0);
        out.extend_from_slice(&[0u8; 3][..oxvirt_xdr::pad(self.0.len())]);
    }
    fn decode(r: &mut Reader<'_>) -> Result<Self, XdrError> {
        let n = r.len(STRING_MAX, 1)?;
        Ok(ByteString(r.take_padded(n)?.to_vec()))
    }
}

impl From<&str> for ByteString {
    fn from(s: &str) -> Self {
        ByteString(s.as_bytes().to_vec())
    }
}

oxvirt_xdr::xdr_struct! {
    /// The domain a log belongs to.
    pub struct Domain {
        pub uuid: Uuid,
        pub name: String,
    }

    /// A position in a rotated log: the inode of the file and the offset in it.
    #[derive(Copy, Eq)]
    pub struct LogFilePosition {
        pub inode: u64,
        pub offset: u64,
    }

    /// DOMAIN_OPEN_LOG_FILE arguments.
    pub struct OpenLogFileArgs {
        pub driver: String,
        pub dom: Domain,
        pub path: String,
        pub flags: u32,
    }

    /// DOMAIN_OPEN_LOG_FILE result (plus one fd: the pipe's write end).
    pub struct OpenLogFileRet {
        pub pos: LogFilePosition,
    }

    /// DOMAIN_GET_LOG_FILE_POSITION arguments.
    pub struct GetLogFilePositionArgs {
        pub path: String,
        pub flags: u32,
    }

    /// DOMAIN_GET_LOG_FILE_POSITION result.
    pub struct GetLogFilePositionRet {
        pub pos: LogFilePosition,
    }

    /// DOMAIN_READ_LOG_FILE arguments.
    pub struct ReadLogFileArgs {
        pub path: String,
        pub pos: LogFilePosition,
        pub maxlen: u64,
        pub flags: u32,
    }

    /// DOMAIN_READ_LOG_FILE result.
    pub struct ReadLogFileRet {
        pub data: ByteString,
    }

    /// DOMAIN_APPEND_LOG_FILE arguments.
    pub struct AppendLogFileArgs {
        pub driver: String,
        pub dom: Domain,
        pub path: String,
        pub message: ByteString,
        pub flags: u32,
    }

    /// DOMAIN_APPEND_LOG_FILE result.
    pub struct AppendLogFileRet {
        pub ret: i32,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use oxvirt_xdr::{from_bytes, to_bytes};

    #[test]
    fn byte_strings_are_xdr_strings() {
        let b = ByteString(vec![0xff, 0, b'a']);
        let enc = to_bytes(&b);
        assert_eq!(enc, [0, 0, 0, 3, 0xff, 0, b'a', 0]);
        assert_eq!(from_bytes::<ByteString>(&enc).unwrap(), b);
        // Same wire form as a string.
        assert_eq!(
            to_bytes(&ByteString::from("vm")),
            to_bytes(&"vm".to_string())
        );
        // Bounded like a string.
        let mut big = Vec::new();
        ((STRING_MAX + 1) as u32).encode(&mut big);
        assert!(matches!(
            from_bytes::<ByteString>(&big),
            Err(XdrError::TooLong { .. })
        ));
    }

    #[test]
    fn open_args_layout() {
        let a = OpenLogFileArgs {
            driver: "qemu".into(),
            dom: Domain {
                uuid: Uuid([1; 16]),
                name: "vm".into(),
            },
            path: "/l".into(),
            flags: OPEN_LOG_FILE_TRUNCATE,
        };
        let b = to_bytes(&a);
        assert_eq!(b.len(), 8 + 16 + 8 + 8 + 4);
        assert_eq!(&b[..8], b"\0\0\0\x04qemu");
        assert_eq!(from_bytes::<OpenLogFileArgs>(&b).unwrap(), a);
        let p = to_bytes(&LogFilePosition {
            inode: 1,
            offset: 2,
        });
        assert_eq!(p, [0, 0, 0, 0, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 2]);
    }
}
