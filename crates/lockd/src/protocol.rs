//! The lock program's wire types (virtlockd, program 0xEA7BEEF version 1; protocol notes §9.2).
//!
//! No I/O: [`mod@crate::program`] decodes these from call payloads. Every procedure returns void.
//! Strings are bounded by the lock protocol's own maximum ([`STRING_MAX`], 65536 bytes), far
//! below the REMOTE program's: a longer string is a decode error.

use oxvirt_xdr::{Reader, Uuid, Xdr, XdrError};
use std::fmt;
use std::ops::Deref;

/// Program number.
pub const PROGRAM: u32 = 0xEA7_BEEF;
/// Program version.
pub const VERSION: u32 = 1;
/// Longest string the lock protocol accepts.
pub const STRING_MAX: usize = 65_536;

/// ACQUIRE_RESOURCE flag: a shared (read) lease.
pub const ACQUIRE_SHARED: u32 = 1;
/// ACQUIRE_RESOURCE flag: create the resource file if needed (and delete it on release).
pub const ACQUIRE_AUTOCREATE: u32 = 2;

/// Procedure numbers.
pub mod procs {
    /// Register the connection's owner (the process the leases are for).
    pub const REGISTER: i32 = 1;
    /// Refuse every further call on this connection.
    pub const RESTRICT: i32 = 2;
    /// Create a lockspace (fails if it exists).
    pub const NEW: i32 = 3;
    /// Create a resource file in a lockspace.
    pub const CREATE_RESOURCE: i32 = 4;
    /// Delete a resource file from a lockspace.
    pub const DELETE_RESOURCE: i32 = 5;
    /// Take a lease on a resource.
    pub const ACQUIRE_RESOURCE: i32 = 6;
    /// Give a lease back.
    pub const RELEASE_RESOURCE: i32 = 7;
    /// Create a lockspace if it does not exist yet.
    pub const CREATE_LOCKSPACE: i32 = 8;
}

/// A string of at most [`STRING_MAX`] bytes (`virLockSpaceProtocolNonNullString`).
#[derive(Debug, Clone, PartialEq, Eq, Default, Hash)]
pub struct LockString(pub String);

impl Xdr for LockString {
    fn encode(&self, out: &mut Vec<u8>) {
        self.0.encode(out)
    }
    fn decode(r: &mut Reader<'_>) -> Result<Self, XdrError> {
        let n = r.len(STRING_MAX, 1)?;
        let b = r.take_padded(n)?;
        String::from_utf8(b.to_vec())
            .map(LockString)
            .map_err(|_| XdrError::BadUtf8)
    }
}

impl Deref for LockString {
    type Target = str;
    fn deref(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for LockString {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl From<&str> for LockString {
    fn from(s: &str) -> Self {
        LockString(s.to_string())
    }
}

impl From<String> for LockString {
    fn from(s: String) -> Self {
        LockString(s)
    }
}

oxvirt_xdr::xdr_struct! {
    /// The process the leases of a connection are taken for (the domain's QEMU).
    pub struct Owner { pub uuid: Uuid, pub name: LockString, pub id: u32, pub pid: u32 }
    /// REGISTER.
    pub struct RegisterArgs { pub owner: Owner, pub flags: u32 }
    /// RESTRICT.
    pub struct RestrictArgs { pub flags: u32 }
    /// NEW.
    pub struct NewArgs { pub path: LockString, pub flags: u32 }
    /// CREATE_RESOURCE.
    pub struct CreateResourceArgs { pub path: LockString, pub name: LockString, pub flags: u32 }
    /// DELETE_RESOURCE.
    pub struct DeleteResourceArgs { pub path: LockString, pub name: LockString, pub flags: u32 }
    /// ACQUIRE_RESOURCE (flags: [`ACQUIRE_SHARED`], [`ACQUIRE_AUTOCREATE`]).
    pub struct AcquireResourceArgs { pub path: LockString, pub name: LockString, pub flags: u32 }
    /// RELEASE_RESOURCE.
    pub struct ReleaseResourceArgs { pub path: LockString, pub name: LockString, pub flags: u32 }
    /// CREATE_LOCKSPACE.
    pub struct CreateLockSpaceArgs { pub path: LockString }
}

#[cfg(test)]
mod tests {
    use super::*;
    use oxvirt_xdr::{from_bytes, to_bytes};

    #[test]
    fn owner_layout() {
        let o = Owner {
            uuid: Uuid([0xab; 16]),
            name: "vm".into(),
            id: 3,
            pid: 0x1234,
        };
        let b = to_bytes(&o);
        assert_eq!(b.len(), 16 + 8 + 4 + 4);
        assert_eq!(&b[16..24], &[0, 0, 0, 2, b'v', b'm', 0, 0]);
        assert_eq!(&b[24..], &[0, 0, 0, 3, 0, 0, 0x12, 0x34]);
        assert_eq!(from_bytes::<Owner>(&b).unwrap(), o);
    }

    #[test]
    fn strings_are_bounded_by_the_lock_protocol() {
        let ok = CreateLockSpaceArgs {
            path: LockString("a".repeat(STRING_MAX)),
        };
        assert_eq!(
            from_bytes::<CreateLockSpaceArgs>(&to_bytes(&ok)).unwrap(),
            ok
        );
        let long = CreateLockSpaceArgs {
            path: LockString("a".repeat(STRING_MAX + 1)),
        };
        assert_eq!(
            from_bytes::<CreateLockSpaceArgs>(&to_bytes(&long)),
            Err(XdrError::TooLong {
                len: STRING_MAX + 1,
                max: STRING_MAX
            })
        );
    }

    #[test]
    fn acquire_args_layout() {
        let a = AcquireResourceArgs {
            path: "".into(),
            name: "/x".into(),
            flags: ACQUIRE_SHARED | ACQUIRE_AUTOCREATE,
        };
        assert_eq!(
            to_bytes(&a),
            [0, 0, 0, 0, 0, 0, 0, 2, b'/', b'x', 0, 0, 0, 0, 0, 3]
        );
    }
}
