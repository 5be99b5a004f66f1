//! The error payload of a failed REPLY (`remote_error` / `virNetMessageError`).

use oxvirt_virerror::VirError;
use oxvirt_xdr::{Reader, Xdr, XdrError};

/// Wire form of a libvirt error. The message is never sent as NULL (go-libvirt needs it).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RemoteError(pub VirError);

impl Xdr for RemoteError {
    fn encode(&self, out: &mut Vec<u8>) {
        let e = &self.0;
        e.code.encode(out);
        e.domain.encode(out);
        Some(e.message.clone()).encode(out);
        e.level.encode(out);
        0u32.encode(out); // dom: always NULL
        e.str1.encode(out);
        e.str2.encode(out);
        e.str3.encode(out);
        e.int1.encode(out);
        e.int2.encode(out);
        0u32.encode(out); // net: always NULL
    }

    fn decode(r: &mut Reader<'_>) -> Result<Self, XdrError> {
        let code = i32::decode(r)?;
        let domain = i32::decode(r)?;
        let message = Option::<String>::decode(r)?.unwrap_or_else(|| "Unknown error".into());
        let level = i32::decode(r)?;
        if bool::decode(r)? {
            // remote_nonnull_domain: name, uuid, id
            String::decode(r)?;
            r.take(16)?;
            i32::decode(r)?;
        }
        let str1 = Option::<String>::decode(r)?;
        let str2 = Option::<String>::decode(r)?;
        let str3 = Option::<String>::decode(r)?;
        let int1 = i32::decode(r)?;
        let int2 = i32::decode(r)?;
        if bool::decode(r)? {
            String::decode(r)?;
            r.take(16)?;
        }
        Ok(RemoteError(VirError {
            code,
            domain,
            message,
            level,
            str1,
            str2,
            str3,
            int1,
            int2,
        }))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use oxvirt_virerror::{ErrorCode, ErrorDomain};

    #[test]
    fn matches_captured_lookup_failure() {
        // libvirt 9.0 test driver, LOOKUP_BY_NAME failure (protocol notes §1.6).
        let e = VirError::bare(ErrorCode::NoDomain, ErrorDomain::Test, "Domain not found");
        let b = oxvirt_xdr::to_bytes(&RemoteError(e.clone()));
        let mut want = vec![0, 0, 0, 0x2a, 0, 0, 0, 0x0c, 0, 0, 0, 1, 0, 0, 0, 0x10];
        want.extend_from_slice(b"Domain not found");
        want.extend_from_slice(&[0, 0, 0, 2, 0, 0, 0, 0, 0, 0, 0, 1, 0, 0, 0, 0x10]);
        want.extend_from_slice(b"Domain not found");
        want.extend_from_slice(&[0, 0, 0, 0, 0, 0, 0, 0]);
        want.extend_from_slice(&[0xff; 8]);
        want.extend_from_slice(&[0, 0, 0, 0]);
        assert_eq!(b, want);
        assert_eq!(b.len(), 84);
        assert_eq!(oxvirt_xdr::from_bytes::<RemoteError>(&b).unwrap().0, e);
    }
}
