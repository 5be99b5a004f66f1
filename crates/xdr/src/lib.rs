//! XDR encoding as rpcgen/glibc implement it for libvirt's protocol.
//!
//! No I/O: [`Xdr::encode`] appends to a `Vec<u8>`, [`Xdr::decode`] reads from a bounded
//! [`Reader`]. Every length read from the wire is checked against the bytes that remain and
//! against libvirt's limits before anything is allocated, so a hostile peer cannot make the
//! decoder allocate more than the message it already sent.
//!
//! libvirt-specific rules kept here (see the protocol notes §1.8): `char`/`short` scalars and
//! `char` arrays take 4 bytes per element ([`Char32`], [`CharArray`], [`FixedChars`]); optional
//! pointers accept any non-zero discriminant as "present" (go-libvirt sends 0x01000000).

mod primitives;
mod special;

pub use primitives::{check_max, encode_str};
pub use special::{CharArray, FixedChars, Opaque, Uuid};

/// Largest string libvirt accepts (`REMOTE_STRING_MAX`).
pub const STRING_MAX: usize = 4_194_304;

/// Decoding failures. Encoding cannot fail.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum XdrError {
    /// The message ended before the value did.
    #[error("unexpected end of XDR data")]
    Truncated,
    /// A length word exceeds the limit for its field.
    #[error("XDR length {len} exceeds limit {max}")]
    TooLong { len: usize, max: usize },
    /// A string that is not UTF-8.
    #[error("XDR string is not valid UTF-8")]
    BadUtf8,
    /// An enum or boolean value out of range.
    #[error("invalid XDR value {0}")]
    BadValue(i64),
}

/// A cursor over an XDR byte slice.
#[derive(Debug, Clone)]
pub struct Reader<'a> {
    buf: &'a [u8],
    pos: usize,
}

impl<'a> Reader<'a> {
    /// Read from the start of `buf`.
    #[inline]
    pub fn new(buf: &'a [u8]) -> Self {
        Reader { buf, pos: 0 }
    }

    /// Bytes not yet consumed.
    #[inline]
    pub fn remaining(&self) -> usize {
        self.buf.len() - self.pos
    }

    /// Consume `n` bytes.
    #[inline]
    pub fn take(&mut self, n: usize) -> Result<&'a [u8], XdrError> {
        if self.remaining() < n {
            return Err(XdrError::Truncated);
        }
        let s = &self.buf[self.pos..self.pos + n];
        self.pos += n;
        Ok(s)
    }

    /// Consume `n` bytes plus the padding to the next multiple of 4.
    #[inline]
    pub fn take_padded(&mut self, n: usize) -> Result<&'a [u8], XdrError> {
        let s = self.take(n)?;
        self.take(pad(n))?;
        Ok(s)
    }

    /// Read a 4-byte big-endian word.
    #[inline]
    pub fn u32(&mut self) -> Result<u32, XdrError> {
        let b = self.take(4)?;
        Ok(u32::from_be_bytes([b[0], b[1], b[2], b[3]]))
    }

    /// Read a string without copying it: the bytes stay in the message (hot procedures decode
    /// their object names this way, with no allocation). Same checks as `String`'s decoder.
    #[inline]
    pub fn str(&mut self) -> Result<&'a str, XdrError> {
        let n = self.len(STRING_MAX, 1)?;
        let b = self.take_padded(n)?;
        std::str::from_utf8(b).map_err(|_| XdrError::BadUtf8)
    }

    /// Read a length word and check it against `max` and against what remains, assuming each
    /// element takes at least `min_elem` bytes on the wire.
    #[inline]
    pub fn len(&mut self, max: usize, min_elem: usize) -> Result<usize, XdrError> {
        let len = self.u32()? as usize;
        if len > max {
            return Err(XdrError::TooLong { len, max });
        }
        if len.saturating_mul(min_elem) > self.remaining() {
            return Err(XdrError::Truncated);
        }
        Ok(len)
    }
}

/// Padding needed after `n` bytes.
#[inline]
pub fn pad(n: usize) -> usize {
    (4 - n % 4) % 4
}

/// A type with an XDR representation.
pub trait Xdr: Sized {
    /// Append the encoding of `self`.
    fn encode(&self, out: &mut Vec<u8>);
    /// Decode one value.
    fn decode(r: &mut Reader<'_>) -> Result<Self, XdrError>;
    /// Smallest number of bytes one value takes on the wire (bounds array pre-checks).
    const MIN_SIZE: usize = 4;
}

/// Encode a value into a fresh buffer.
pub fn to_bytes<T: Xdr>(v: &T) -> Vec<u8> {
    let mut out = Vec::new();
    v.encode(&mut out);
    out
}

/// A type decoded by borrowing from the message instead of copying out of it (zero-copy
/// variants of hot procedures' arguments).
pub trait XdrRef<'a>: Sized {
    /// Decode one value borrowing from `r`'s buffer.
    fn decode_ref(r: &mut Reader<'a>) -> Result<Self, XdrError>;
}

/// Decode a borrowed value from the start of `buf` (trailing bytes ignored, as [`from_bytes`]).
pub fn from_bytes_ref<'a, T: XdrRef<'a>>(buf: &'a [u8]) -> Result<T, XdrError> {
    T::decode_ref(&mut Reader::new(buf))
}

/// Decode a value from the start of `buf`. Trailing bytes are ignored, as libvirtd ignores them.
pub fn from_bytes<T: Xdr>(buf: &[u8]) -> Result<T, XdrError> {
    T::decode(&mut Reader::new(buf))
}

/// Declare structs whose XDR form is their fields in order.
///
/// ```
/// oxvirt_xdr::xdr_struct! {
///     /// A lookup argument.
///     pub struct LookupByName { pub name: String }
/// }
/// let v = LookupByName { name: "test".into() };
/// assert_eq!(oxvirt_xdr::to_bytes(&v), b"\0\0\0\x04test");
/// ```
#[macro_export]
macro_rules! xdr_struct {
    ($(
        $(#[$m:meta])*
        pub struct $name:ident { $( $(#[$fm:meta])* pub $f:ident : $t:ty ),* $(,)? }
    )*) => {$(
        $(#[$m])*
        #[derive(Debug, Clone, PartialEq, Default)]
        pub struct $name { $( $(#[$fm])* pub $f: $t ),* }

        impl $crate::Xdr for $name {
            #[allow(unused_variables)]
            fn encode(&self, out: &mut Vec<u8>) {
                $( $crate::Xdr::encode(&self.$f, out); )*
            }
            #[allow(unused_variables)]
            fn decode(r: &mut $crate::Reader<'_>) -> Result<Self, $crate::XdrError> {
                Ok($name { $( $f: $crate::Xdr::decode(r)? ),* })
            }
            const MIN_SIZE: usize = 0 $( + <$t as $crate::Xdr>::MIN_SIZE )*;
        }
    )*};
}
