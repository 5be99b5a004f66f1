//! XDR for Rust's primitive types, strings, options and variable arrays.

use crate::{pad, Reader, Xdr, XdrError, STRING_MAX};

macro_rules! word {
    ($t:ty) => {
        impl Xdr for $t {
            #[inline]
            fn encode(&self, out: &mut Vec<u8>) {
                out.extend_from_slice(&(*self as u32).to_be_bytes());
            }
            #[inline]
            fn decode(r: &mut Reader<'_>) -> Result<Self, XdrError> {
                Ok(r.u32()? as $t)
            }
        }
    };
}
word!(u32);
word!(i32);

macro_rules! hyper {
    ($t:ty) => {
        impl Xdr for $t {
            #[inline]
            fn encode(&self, out: &mut Vec<u8>) {
                out.extend_from_slice(&(*self as u64).to_be_bytes());
            }
            #[inline]
            fn decode(r: &mut Reader<'_>) -> Result<Self, XdrError> {
                let b = r.take(8)?;
                let mut a = [0u8; 8];
                a.copy_from_slice(b);
                Ok(u64::from_be_bytes(a) as $t)
            }
            const MIN_SIZE: usize = 8;
        }
    };
}
hyper!(u64);
hyper!(i64);

impl Xdr for f64 {
    #[inline]
    fn encode(&self, out: &mut Vec<u8>) {
        out.extend_from_slice(&self.to_bits().to_be_bytes());
    }
    #[inline]
    fn decode(r: &mut Reader<'_>) -> Result<Self, XdrError> {
        Ok(f64::from_bits(u64::decode(r)?))
    }
    const MIN_SIZE: usize = 8;
}

/// XDR bool: 4 bytes; like glibc, any non-zero value decodes as true.
impl Xdr for bool {
    #[inline]
    fn encode(&self, out: &mut Vec<u8>) {
        (*self as u32).encode(out)
    }
    #[inline]
    fn decode(r: &mut Reader<'_>) -> Result<Self, XdrError> {
        Ok(r.u32()? != 0)
    }
}

/// The void type: no bytes.
impl Xdr for () {
    #[inline]
    fn encode(&self, _out: &mut Vec<u8>) {}
    #[inline]
    fn decode(_r: &mut Reader<'_>) -> Result<Self, XdrError> {
        Ok(())
    }
    const MIN_SIZE: usize = 0;
}

impl Xdr for String {
    fn encode(&self, out: &mut Vec<u8>) {
        encode_bytes(self.as_bytes(), out)
    }
    fn decode(r: &mut Reader<'_>) -> Result<Self, XdrError> {
        let n = r.len(STRING_MAX, 1)?;
        let b = r.take_padded(n)?;
        String::from_utf8(b.to_vec()).map_err(|_| XdrError::BadUtf8)
    }
}

/// Encodes a borrowed string as XDR `string` (what `String::encode` writes), for replies
/// encoded straight from a driver's data without an owned copy.
pub fn encode_str(s: &str, out: &mut Vec<u8>) {
    encode_bytes(s.as_bytes(), out)
}

/// Length-prefixed bytes with padding (XDR `string` and `opaque<>`).
pub(crate) fn encode_bytes(b: &[u8], out: &mut Vec<u8>) {
    (b.len() as u32).encode(out);
    out.extend_from_slice(b);
    out.extend_from_slice(&[0u8; 3][..pad(b.len())]);
}

/// Optional data (`T *x`): discriminant then the value.
impl<T: Xdr> Xdr for Option<T> {
    fn encode(&self, out: &mut Vec<u8>) {
        match self {
            None => 0u32.encode(out),
            Some(v) => {
                1u32.encode(out);
                v.encode(out)
            }
        }
    }
    fn decode(r: &mut Reader<'_>) -> Result<Self, XdrError> {
        if bool::decode(r)? {
            Ok(Some(T::decode(r)?))
        } else {
            Ok(None)
        }
    }
}

/// Variable-length arrays (`T x<N>`). The count is bounded by the bytes left; callers with a
/// protocol maximum check it on the decoded value ([`check_max`]).
impl<T: Xdr> Xdr for Vec<T> {
    fn encode(&self, out: &mut Vec<u8>) {
        (self.len() as u32).encode(out);
        for v in self {
            v.encode(out);
        }
    }
    fn decode(r: &mut Reader<'_>) -> Result<Self, XdrError> {
        let n = r.len(u32::MAX as usize, T::MIN_SIZE.max(1))?;
        let mut v = Vec::with_capacity(n.min(4096));
        for _ in 0..n {
            v.push(T::decode(r)?);
        }
        Ok(v)
    }
}

/// Check a decoded array against its protocol maximum.
pub fn check_max<T>(v: &[T], max: usize) -> Result<(), XdrError> {
    if v.len() > max {
        return Err(XdrError::TooLong { len: v.len(), max });
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use crate::{from_bytes, to_bytes, Reader, Xdr, XdrError};

    #[test]
    fn words_and_hypers_are_big_endian() {
        assert_eq!(to_bytes(&-1i32), [0xff; 4]);
        assert_eq!(to_bytes(&0x0102_0304u32), [1, 2, 3, 4]);
        assert_eq!(to_bytes(&9_000_000u64), [0, 0, 0, 0, 0, 0x89, 0x54, 0x40]);
        assert_eq!(from_bytes::<i64>(&[0xff; 8]).unwrap(), -1);
    }

    #[test]
    fn strings_are_padded() {
        assert_eq!(to_bytes(&"vm".to_string()), [0, 0, 0, 2, b'v', b'm', 0, 0]);
        assert_eq!(to_bytes(&String::new()), [0, 0, 0, 0]);
        let b = to_bytes(&"test".to_string());
        assert_eq!(b.len(), 8);
        assert_eq!(from_bytes::<String>(&b).unwrap(), "test");
    }

    #[test]
    fn options_accept_any_nonzero_discriminant() {
        let mut b = vec![1, 0, 0, 0];
        b.extend(to_bytes(&"x".to_string()));
        assert_eq!(
            from_bytes::<Option<String>>(&b).unwrap().as_deref(),
            Some("x")
        );
        assert_eq!(from_bytes::<Option<String>>(&[0, 0, 0, 0]).unwrap(), None);
    }

    #[test]
    fn hostile_lengths_fail_without_allocating() {
        assert_eq!(
            from_bytes::<String>(&[0xff, 0xff, 0xff, 0xff]),
            Err(XdrError::TooLong {
                len: 0xffff_ffff,
                max: crate::STRING_MAX
            })
        );
        assert_eq!(
            from_bytes::<String>(&[0, 0, 0, 9, b'a']),
            Err(XdrError::Truncated)
        );
        assert_eq!(
            from_bytes::<Vec<u64>>(&[0, 0x10, 0, 0]),
            Err(XdrError::Truncated)
        );
        assert_eq!(from_bytes::<u32>(&[1, 2]), Err(XdrError::Truncated));
    }

    #[test]
    fn arrays_round_trip() {
        let v = vec!["a".to_string(), "bcdef".to_string()];
        let b = to_bytes(&v);
        assert_eq!(Vec::<String>::decode(&mut Reader::new(&b)).unwrap(), v);
    }
}
