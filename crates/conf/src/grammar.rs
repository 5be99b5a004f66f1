//! The "virconf" grammar every libvirt daemon config file is written in.
//!
//! A file is a sequence of `name = value` statements separated by newlines or `;`. Blank lines
//! and `#` comments (whole-line or trailing) are ignored. Names start with an ASCII letter,
//! followed by letters, digits or `_`. A value is one of:
//!
//! - a string: `"..."` or `'...'` on one line with no escapes, or a triple-quoted `"""..."""`
//!   that may span lines;
//! - an integer: decimal digits with an optional sign; a leading `-` makes it signed, anything
//!   else unsigned (there is no hex or octal form);
//! - a list: `[ v, v, ... ]`, which may span lines, contain comments and end with a trailing comma.
//!
//! When a key occurs more than once the **first** occurrence wins, as in libvirt. Files larger
//! than [`MAX_CONFIG_FILE_SIZE`] are refused.

use std::fmt;
use std::path::Path;

mod parser;
#[cfg(test)]
mod tests;

use parser::Parser;

/// Largest config file accepted, in bytes (10 MiB, as libvirt).
pub const MAX_CONFIG_FILE_SIZE: usize = 10 * 1024 * 1024;

/// Failure to read or parse a config file.
#[derive(Debug, thiserror::Error)]
pub enum GrammarError {
    /// The text does not follow the grammar; `line` is 1-based.
    #[error("configuration file syntax error: {path}:{line}: {message}")]
    Syntax {
        /// File the text came from (as given by the caller).
        path: String,
        /// 1-based line where the problem was noticed.
        line: usize,
        /// libvirt-style description, e.g. "expecting a value".
        message: &'static str,
    },
    /// The file exceeds [`MAX_CONFIG_FILE_SIZE`].
    #[error("failed to read configuration file {path}: file is larger than {max} bytes")]
    TooLarge {
        /// File that was too large.
        path: String,
        /// The limit that was exceeded.
        max: usize,
    },
    /// The file could not be read.
    #[error("Failed to open file '{path}': {source}")]
    Io {
        /// File that could not be read.
        path: String,
        /// Underlying I/O error.
        #[source]
        source: std::io::Error,
    },
}

impl GrammarError {
    /// The file this error is about.
    pub fn path(&self) -> &str {
        match self {
            Self::Syntax { path, .. } | Self::TooLarge { path, .. } | Self::Io { path, .. } => path,
        }
    }
}

/// A parsed value.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Value {
    /// A quoted string (single, double or triple quoted).
    String(String),
    /// An integer written with a leading `-`.
    Signed(i64),
    /// An integer written without a leading `-` (optionally with `+`).
    Unsigned(u64),
    /// A bracketed list of values.
    List(Vec<Value>),
}

impl fmt::Display for Value {
    /// Renders the value back in config syntax (strings with `"` quotes, or triple quotes when
    /// they contain `"` or a newline).
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::String(s) if s.contains('"') || s.contains('\n') => write!(f, "\"\"\"{s}\"\"\""),
            Self::String(s) => write!(f, "\"{s}\""),
            Self::Signed(n) => write!(f, "{n}"),
            Self::Unsigned(n) => write!(f, "{n}"),
            Self::List(items) => {
                f.write_str("[")?;
                for (i, item) in items.iter().enumerate() {
                    if i > 0 {
                        f.write_str(", ")?;
                    }
                    write!(f, "{item}")?;
                }
                f.write_str("]")
            }
        }
    }
}

/// One `name = value` statement.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Entry {
    /// The key.
    pub name: String,
    /// The value.
    pub value: Value,
    /// 1-based line on which the key starts.
    pub line: usize,
}

/// A parsed config file: every statement in file order, duplicates included.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ConfFile {
    /// File name used in error messages.
    pub path: String,
    /// Statements in file order.
    pub entries: Vec<Entry>,
}

impl ConfFile {
    /// Parses `text`; `path` is only used for messages.
    pub fn parse(path: &str, text: &str) -> Result<Self, GrammarError> {
        Self::parse_bytes(path, text.as_bytes())
    }

    /// Parses raw bytes (strings inside must be UTF-8); `path` is only used for messages.
    pub fn parse_bytes(path: &str, bytes: &[u8]) -> Result<Self, GrammarError> {
        if bytes.len() > MAX_CONFIG_FILE_SIZE {
            return Err(GrammarError::TooLarge {
                path: path.to_owned(),
                max: MAX_CONFIG_FILE_SIZE,
            });
        }
        let entries = Parser::new(path, bytes).parse_all()?;
        Ok(Self {
            path: path.to_owned(),
            entries,
        })
    }

    /// Reads and parses a file, refusing files over [`MAX_CONFIG_FILE_SIZE`].
    pub fn read(path: &Path) -> Result<Self, GrammarError> {
        let shown = path.display().to_string();
        let bytes = read_limited(path)?;
        Self::parse_bytes(&shown, &bytes)
    }

    /// The value of the first statement named `name`.
    pub fn get(&self, name: &str) -> Option<&Value> {
        self.get_entry(name).map(|e| &e.value)
    }

    /// The first statement named `name`.
    pub fn get_entry(&self, name: &str) -> Option<&Entry> {
        self.entries.iter().find(|e| e.name == name)
    }
}

/// Reads a file's bytes, failing with [`GrammarError::TooLarge`] above the size limit.
pub fn read_limited(path: &Path) -> Result<Vec<u8>, GrammarError> {
    use std::io::Read;
    let shown = || path.display().to_string();
    let io = |source| GrammarError::Io {
        path: shown(),
        source,
    };
    let file = std::fs::File::open(path).map_err(io)?;
    let mut bytes = Vec::new();
    file.take(MAX_CONFIG_FILE_SIZE as u64 + 1)
        .read_to_end(&mut bytes)
        .map_err(io)?;
    if bytes.len() > MAX_CONFIG_FILE_SIZE {
        return Err(GrammarError::TooLarge {
            path: shown(),
            max: MAX_CONFIG_FILE_SIZE,
        });
    }
    Ok(bytes)
}
