//! Typed getters on a parsed [`ConfFile`], with libvirt's conversion rules.
//!
//! Every getter looks up the **first** statement with the key and returns `Ok(None)` when the
//! key is absent, so callers keep their default. Rules:
//!
//! - bool: only the integers `0` and `1` (strings such as `"yes"` are rejected);
//! - string: must be a quoted string (a number is rejected);
//! - unsigned getters reject negative numbers; all integer getters range-check;
//! - string list: must be a list whose elements are all strings (a bare string is rejected).
//!
//! Error messages name the key and the file, e.g.
//! `/etc/libvirt/libvirtd.conf: value for 'listen_tls' parameter must be 0 or 1`.

use crate::grammar::{ConfFile, Value};

#[cfg(test)]
mod tests;

/// A value of the wrong type or out of range.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ValueError {
    /// A bool key held something other than integer 0 or 1.
    #[error("{path}: value for '{key}' parameter must be 0 or 1")]
    NotBool {
        /// File the value came from.
        path: String,
        /// The key.
        key: String,
    },
    /// A string key held a number or list.
    #[error("{path}: expected a string for '{key}' parameter")]
    NotString {
        /// File the value came from.
        path: String,
        /// The key.
        key: String,
    },
    /// An integer key held a string or list.
    #[error("{path}: expected {what} integer for '{key}' parameter")]
    NotInteger {
        /// File the value came from.
        path: String,
        /// The key.
        key: String,
        /// "a signed" or "an unsigned".
        what: &'static str,
    },
    /// An unsigned key held a negative number.
    #[error("{path}: value for '{key}' parameter must not be negative")]
    Negative {
        /// File the value came from.
        path: String,
        /// The key.
        key: String,
    },
    /// An integer outside the target type's range.
    #[error("{path}: value for '{key}' parameter must be in range {min}:{max}")]
    OutOfRange {
        /// File the value came from.
        path: String,
        /// The key.
        key: String,
        /// Smallest accepted value.
        min: i128,
        /// Largest accepted value.
        max: i128,
    },
    /// A string-list key held a scalar.
    #[error("{path}: expected a list for '{key}' parameter")]
    NotList {
        /// File the value came from.
        path: String,
        /// The key.
        key: String,
    },
    /// A string-list key held a list with a non-string element.
    #[error("{path}: expected a string list for '{key}' parameter")]
    NotStringList {
        /// File the value came from.
        path: String,
        /// The key.
        key: String,
    },
}

impl ValueError {
    /// The file this error is about.
    pub fn path(&self) -> &str {
        match self {
            Self::NotBool { path, .. }
            | Self::NotString { path, .. }
            | Self::NotInteger { path, .. }
            | Self::Negative { path, .. }
            | Self::OutOfRange { path, .. }
            | Self::NotList { path, .. }
            | Self::NotStringList { path, .. } => path,
        }
    }

    /// The key this error is about.
    pub fn key(&self) -> &str {
        match self {
            Self::NotBool { key, .. }
            | Self::NotString { key, .. }
            | Self::NotInteger { key, .. }
            | Self::Negative { key, .. }
            | Self::OutOfRange { key, .. }
            | Self::NotList { key, .. }
            | Self::NotStringList { key, .. } => key,
        }
    }
}

impl ConfFile {
    fn ids(&self, key: &str) -> (String, String) {
        (self.path.clone(), key.to_owned())
    }

    /// Integer value as i128 (covers both signed and unsigned forms), or a type error.
    fn integer(&self, key: &str, what: &'static str) -> Result<Option<i128>, ValueError> {
        match self.get(key) {
            None => Ok(None),
            Some(Value::Signed(n)) => Ok(Some(i128::from(*n))),
            Some(Value::Unsigned(n)) => Ok(Some(i128::from(*n))),
            Some(_) => {
                let (path, key) = self.ids(key);
                Err(ValueError::NotInteger { path, key, what })
            }
        }
    }

    /// Integer value checked against `[min, max]`; negatives on unsigned keys get their own error.
    fn ranged(&self, key: &str, min: i128, max: i128) -> Result<Option<i128>, ValueError> {
        let what = if min < 0 { "a signed" } else { "an unsigned" };
        let Some(n) = self.integer(key, what)? else {
            return Ok(None);
        };
        let (path, key) = self.ids(key);
        if min == 0 && n < 0 {
            return Err(ValueError::Negative { path, key });
        }
        if n < min || n > max {
            return Err(ValueError::OutOfRange {
                path,
                key,
                min,
                max,
            });
        }
        Ok(Some(n))
    }

    /// A bool: integer 0 or 1 only.
    pub fn get_bool(&self, key: &str) -> Result<Option<bool>, ValueError> {
        match self.get(key) {
            None => Ok(None),
            Some(Value::Unsigned(0)) => Ok(Some(false)),
            Some(Value::Unsigned(1)) => Ok(Some(true)),
            Some(_) => {
                let (path, key) = self.ids(key);
                Err(ValueError::NotBool { path, key })
            }
        }
    }

    /// A string; numbers and lists are rejected.
    pub fn get_string(&self, key: &str) -> Result<Option<String>, ValueError> {
        match self.get(key) {
            None => Ok(None),
            Some(Value::String(s)) => Ok(Some(s.clone())),
            Some(_) => {
                let (path, key) = self.ids(key);
                Err(ValueError::NotString { path, key })
            }
        }
    }

    /// A C `unsigned int` (u32); negatives and values above `u32::MAX` are rejected.
    pub fn get_uint(&self, key: &str) -> Result<Option<u32>, ValueError> {
        let n = self.ranged(key, 0, i128::from(u32::MAX))?;
        Ok(n.and_then(|n| u32::try_from(n).ok()))
    }

    /// A C `int` (i32), range-checked.
    pub fn get_int(&self, key: &str) -> Result<Option<i32>, ValueError> {
        let n = self.ranged(key, i128::from(i32::MIN), i128::from(i32::MAX))?;
        Ok(n.and_then(|n| i32::try_from(n).ok()))
    }

    /// A u64 (`unsigned long long` / `size_t`); negatives are rejected.
    pub fn get_u64(&self, key: &str) -> Result<Option<u64>, ValueError> {
        let n = self.ranged(key, 0, i128::from(u64::MAX))?;
        Ok(n.and_then(|n| u64::try_from(n).ok()))
    }

    /// A list of strings; a scalar (even a string) or a non-string element is rejected.
    pub fn get_string_list(&self, key: &str) -> Result<Option<Vec<String>>, ValueError> {
        let items = match self.get(key) {
            None => return Ok(None),
            Some(Value::List(items)) => items,
            Some(_) => {
                let (path, key) = self.ids(key);
                return Err(ValueError::NotList { path, key });
            }
        };
        let mut out = Vec::with_capacity(items.len());
        for item in items {
            match item {
                Value::String(s) => out.push(s.clone()),
                _ => {
                    let (path, key) = self.ids(key);
                    return Err(ValueError::NotStringList { path, key });
                }
            }
        }
        Ok(Some(out))
    }
}
