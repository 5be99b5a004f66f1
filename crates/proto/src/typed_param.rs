//! Typed parameters (`remote_typed_param`, `admin_typed_param`): a field name and a tagged value.

use oxvirt_xdr::{Reader, Xdr, XdrError};

/// Longest field name a C client accepts, NUL included.
pub const FIELD_LENGTH: usize = 80;
/// `VIR_TYPED_PARAM_STRING_OKAY`: the caller accepts string parameters.
pub const STRING_OKAY: u32 = 1 << 2;

/// A typed parameter value.
#[derive(Debug, Clone, PartialEq)]
pub enum TypedValue {
    Int(i32),
    UInt(u32),
    LLong(i64),
    ULLong(u64),
    Double(f64),
    Boolean(bool),
    String(String),
}

/// One named parameter.
#[derive(Debug, Clone, PartialEq)]
pub struct TypedParam {
    pub field: String,
    pub value: TypedValue,
}

impl TypedParam {
    /// Shorthand constructor.
    pub fn new(field: &str, value: TypedValue) -> Self {
        TypedParam {
            field: field.to_string(),
            value,
        }
    }
}

impl Xdr for TypedParam {
    fn encode(&self, out: &mut Vec<u8>) {
        self.field.encode(out);
        match &self.value {
            TypedValue::Int(v) => {
                1i32.encode(out);
                v.encode(out)
            }
            TypedValue::UInt(v) => {
                2i32.encode(out);
                v.encode(out)
            }
            TypedValue::LLong(v) => {
                3i32.encode(out);
                v.encode(out)
            }
            TypedValue::ULLong(v) => {
                4i32.encode(out);
                v.encode(out)
            }
            TypedValue::Double(v) => {
                5i32.encode(out);
                v.encode(out)
            }
            TypedValue::Boolean(v) => {
                6i32.encode(out);
                (*v as i32).encode(out)
            }
            TypedValue::String(v) => {
                7i32.encode(out);
                v.encode(out)
            }
        }
    }

    fn decode(r: &mut Reader<'_>) -> Result<Self, XdrError> {
        let field = String::decode(r)?;
        if field.len() >= FIELD_LENGTH {
            return Err(XdrError::TooLong {
                len: field.len(),
                max: FIELD_LENGTH - 1,
            });
        }
        let value = match i32::decode(r)? {
            1 => TypedValue::Int(i32::decode(r)?),
            2 => TypedValue::UInt(u32::decode(r)?),
            3 => TypedValue::LLong(i64::decode(r)?),
            4 => TypedValue::ULLong(u64::decode(r)?),
            5 => TypedValue::Double(f64::decode(r)?),
            6 => TypedValue::Boolean(i32::decode(r)? != 0),
            7 => TypedValue::String(String::decode(r)?),
            t => return Err(XdrError::BadValue(t as i64)),
        };
        Ok(TypedParam { field, value })
    }
    const MIN_SIZE: usize = 12;
}

/// Drop string parameters unless the caller's flags say it accepts them (as libvirtd does).
pub fn filter_for_flags(params: Vec<TypedParam>, flags: u32) -> Vec<TypedParam> {
    if flags & STRING_OKAY != 0 {
        return params;
    }
    params
        .into_iter()
        .filter(|p| !matches!(p.value, TypedValue::String(_)))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn encodes_like_libvirt() {
        let p = TypedParam::new("minWorkers", TypedValue::UInt(5));
        let b = oxvirt_xdr::to_bytes(&p);
        let mut want = vec![0, 0, 0, 10];
        want.extend_from_slice(b"minWorkers\0\0");
        want.extend_from_slice(&[0, 0, 0, 2, 0, 0, 0, 5]);
        assert_eq!(b, want);
        assert_eq!(oxvirt_xdr::from_bytes::<TypedParam>(&b).unwrap(), p);
    }

    #[test]
    fn rejects_unknown_type_and_long_names() {
        let mut b = oxvirt_xdr::to_bytes(&"x".to_string());
        b.extend_from_slice(&[0, 0, 0, 9, 0, 0, 0, 0]);
        assert!(oxvirt_xdr::from_bytes::<TypedParam>(&b).is_err());
        let long = TypedParam::new(&"a".repeat(80), TypedValue::Int(1));
        assert!(oxvirt_xdr::from_bytes::<TypedParam>(&oxvirt_xdr::to_bytes(&long)).is_err());
    }

    #[test]
    fn strings_need_the_flag() {
        let ps = vec![
            TypedParam::new("a", TypedValue::String("x".into())),
            TypedParam::new("b", TypedValue::Int(1)),
        ];
        assert_eq!(filter_for_flags(ps.clone(), 0).len(), 1);
        assert_eq!(filter_for_flags(ps, STRING_OKAY).len(), 2);
    }
}
