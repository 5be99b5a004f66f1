//! libvirt's special XDR shapes: fixed UUIDs, opaque byte arrays and 4-byte-per-element chars.

use crate::primitives::encode_bytes;
use crate::{Reader, Xdr, XdrError};

/// `remote_uuid`: 16 raw bytes, no length word.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct Uuid(pub [u8; 16]);

impl Xdr for Uuid {
    fn encode(&self, out: &mut Vec<u8>) {
        out.extend_from_slice(&self.0)
    }
    fn decode(r: &mut Reader<'_>) -> Result<Self, XdrError> {
        let mut a = [0u8; 16];
        a.copy_from_slice(r.take(16)?);
        Ok(Uuid(a))
    }
    const MIN_SIZE: usize = 16;
}

/// `opaque x<N>`: length word, bytes, padding.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Opaque(pub Vec<u8>);

impl Xdr for Opaque {
    fn encode(&self, out: &mut Vec<u8>) {
        encode_bytes(&self.0, out)
    }
    fn decode(r: &mut Reader<'_>) -> Result<Self, XdrError> {
        let n = r.len(u32::MAX as usize, 1)?;
        Ok(Opaque(r.take_padded(n)?.to_vec()))
    }
}

/// `char x<N>`: a count then one 4-byte word per byte (libvirt's security model, labels, SASL
/// data). The bytes are kept as given, including any terminating NUL.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct CharArray(pub Vec<u8>);

impl CharArray {
    /// The bytes of `s` followed by a NUL, as libvirt sends C strings in char arrays.
    pub fn c_string(s: &str) -> Self {
        let mut v = s.as_bytes().to_vec();
        v.push(0);
        CharArray(v)
    }
}

impl Xdr for CharArray {
    fn encode(&self, out: &mut Vec<u8>) {
        (self.0.len() as u32).encode(out);
        for &b in &self.0 {
            (b as i8 as i32).encode(out);
        }
    }
    fn decode(r: &mut Reader<'_>) -> Result<Self, XdrError> {
        let n = r.len(u32::MAX as usize, 4)?;
        let mut v = Vec::with_capacity(n);
        for _ in 0..n {
            v.push(r.u32()? as u8);
        }
        Ok(CharArray(v))
    }
}

/// `char x[N]`: exactly N words, one per byte; a shorter string is NUL-padded.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct FixedChars<const N: usize>(pub String);

impl<const N: usize> Xdr for FixedChars<N> {
    fn encode(&self, out: &mut Vec<u8>) {
        let b = self.0.as_bytes();
        for i in 0..N {
            let c = if i < b.len() && i < N - 1 { b[i] } else { 0 };
            (c as i8 as i32).encode(out);
        }
    }
    fn decode(r: &mut Reader<'_>) -> Result<Self, XdrError> {
        let mut v = Vec::with_capacity(N);
        for _ in 0..N {
            v.push(r.u32()? as u8);
        }
        let end = v.iter().position(|&c| c == 0).unwrap_or(N);
        Ok(FixedChars(String::from_utf8_lossy(&v[..end]).into_owned()))
    }
    const MIN_SIZE: usize = 4 * N;
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{from_bytes, to_bytes};

    #[test]
    fn fixed_chars_are_words() {
        let b = to_bytes(&FixedChars::<32>("i686".into()));
        assert_eq!(b.len(), 128);
        assert_eq!(&b[..8], &[0, 0, 0, 0x69, 0, 0, 0, 0x36]);
        assert_eq!(from_bytes::<FixedChars<32>>(&b).unwrap().0, "i686");
    }

    #[test]
    fn char_arrays_include_nul() {
        let b = to_bytes(&CharArray::c_string("testSecurity"));
        assert_eq!(&b[..4], &[0, 0, 0, 13]);
        assert_eq!(b.len(), 4 + 13 * 4);
    }

    #[test]
    fn uuid_and_opaque() {
        let u = Uuid([7; 16]);
        assert_eq!(to_bytes(&u).len(), 16);
        let o = Opaque(vec![1, 2, 3]);
        assert_eq!(to_bytes(&o), [0, 0, 0, 3, 1, 2, 3, 0]);
        assert_eq!(from_bytes::<Opaque>(&to_bytes(&o)).unwrap(), o);
    }
}
