//! The recursive-descent parser behind [`ConfFile::parse_bytes`](super::ConfFile::parse_bytes).
//!
//! It works on raw bytes, counts lines for error messages and never panics on any input
//! (list nesting is bounded so the recursion cannot exhaust the stack).

use super::{Entry, GrammarError, Value};

/// Recursive-descent parser state over the raw bytes.
pub(super) struct Parser<'a> {
    path: &'a str,
    src: &'a [u8],
    pos: usize,
    line: usize,
    depth: usize,
}

/// Deepest list nesting accepted; guards the recursive parser's stack.
const MAX_LIST_DEPTH: usize = 64;

impl<'a> Parser<'a> {
    pub(super) fn new(path: &'a str, src: &'a [u8]) -> Self {
        Self {
            path,
            src,
            pos: 0,
            line: 1,
            depth: 0,
        }
    }

    fn err<T>(&self, message: &'static str) -> Result<T, GrammarError> {
        Err(GrammarError::Syntax {
            path: self.path.to_owned(),
            line: self.line,
            message,
        })
    }

    fn peek(&self) -> Option<u8> {
        self.src.get(self.pos).copied()
    }

    fn peek_at(&self, off: usize) -> Option<u8> {
        self.src.get(self.pos + off).copied()
    }

    /// Consumes one byte, counting lines.
    fn bump(&mut self) {
        if self.peek() == Some(b'\n') {
            self.line += 1;
        }
        self.pos += 1;
    }

    /// Skips spaces and tabs (not line ends).
    fn skip_blanks(&mut self) {
        while matches!(self.peek(), Some(b' ' | b'\t')) {
            self.bump();
        }
    }

    /// Skips a `#` comment up to (not including) the line end.
    fn skip_comment(&mut self) {
        while !matches!(self.peek(), None | Some(b'\n' | b'\r')) {
            self.bump();
        }
    }

    /// Skips blanks, line ends and comments.
    fn skip_space_and_comments(&mut self) {
        loop {
            match self.peek() {
                Some(b' ' | b'\t' | b'\n' | b'\r') => self.bump(),
                Some(b'#') => self.skip_comment(),
                _ => return,
            }
        }
    }

    pub(super) fn parse_all(&mut self) -> Result<Vec<Entry>, GrammarError> {
        let mut entries = Vec::new();
        loop {
            self.skip_space_and_comments();
            if self.peek().is_none() {
                return Ok(entries);
            }
            entries.push(self.parse_statement()?);
        }
    }

    fn parse_statement(&mut self) -> Result<Entry, GrammarError> {
        let line = self.line;
        let name = self.parse_name()?;
        self.skip_blanks();
        if self.peek() != Some(b'=') {
            return self.err("expecting an assignment");
        }
        self.bump();
        self.skip_blanks();
        let value = self.parse_value()?;
        self.parse_separator()?;
        Ok(Entry { name, value, line })
    }

    fn parse_name(&mut self) -> Result<String, GrammarError> {
        let start = self.pos;
        if !self.peek().is_some_and(|c| c.is_ascii_alphabetic()) {
            return self.err("expecting a name");
        }
        while self
            .peek()
            .is_some_and(|c| c.is_ascii_alphanumeric() || c == b'_')
        {
            self.bump();
        }
        // Only ASCII bytes were consumed, so this cannot fail.
        Ok(String::from_utf8_lossy(&self.src[start..self.pos]).into_owned())
    }

    /// After a value: blanks, an optional trailing comment, then `;`, a line end or EOF.
    fn parse_separator(&mut self) -> Result<(), GrammarError> {
        self.skip_blanks();
        match self.peek() {
            None => Ok(()),
            Some(b';' | b'\n' | b'\r') => {
                self.bump();
                Ok(())
            }
            Some(b'#') => {
                self.skip_comment();
                Ok(())
            }
            Some(_) => self.err("expecting a separator"),
        }
    }

    fn parse_value(&mut self) -> Result<Value, GrammarError> {
        match self.peek() {
            Some(b'"') if self.peek_at(1) == Some(b'"') && self.peek_at(2) == Some(b'"') => {
                self.parse_triple_string()
            }
            Some(q @ (b'"' | b'\'')) => self.parse_simple_string(q),
            Some(b'[') => self.parse_list(),
            Some(b'0'..=b'9' | b'+' | b'-') => self.parse_number(),
            _ => self.err("expecting a value"),
        }
    }

    fn make_string(&self, start: usize, end: usize) -> Result<Value, GrammarError> {
        match std::str::from_utf8(&self.src[start..end]) {
            Ok(s) => Ok(Value::String(s.to_owned())),
            Err(_) => self.err("string is not valid UTF-8"),
        }
    }

    fn parse_simple_string(&mut self, quote: u8) -> Result<Value, GrammarError> {
        self.bump();
        let start = self.pos;
        loop {
            match self.peek() {
                None | Some(b'\n' | b'\r') => return self.err("unterminated string"),
                Some(c) if c == quote => break,
                Some(_) => self.bump(),
            }
        }
        let value = self.make_string(start, self.pos)?;
        self.bump();
        Ok(value)
    }

    fn parse_triple_string(&mut self) -> Result<Value, GrammarError> {
        for _ in 0..3 {
            self.bump();
        }
        let start = self.pos;
        loop {
            match self.peek() {
                None => return self.err("unterminated string"),
                Some(b'"') if self.peek_at(1) == Some(b'"') && self.peek_at(2) == Some(b'"') => {
                    break
                }
                Some(_) => self.bump(),
            }
        }
        let value = self.make_string(start, self.pos)?;
        for _ in 0..3 {
            self.bump();
        }
        Ok(value)
    }

    fn parse_number(&mut self) -> Result<Value, GrammarError> {
        let negative = match self.peek() {
            Some(b'-') => {
                self.bump();
                true
            }
            Some(b'+') => {
                self.bump();
                false
            }
            _ => false,
        };
        if !self.peek().is_some_and(|c| c.is_ascii_digit()) {
            return self.err("unterminated number");
        }
        let mut magnitude: u64 = 0;
        while let Some(c @ b'0'..=b'9') = self.peek() {
            magnitude = match magnitude
                .checked_mul(10)
                .and_then(|m| m.checked_add(u64::from(c - b'0')))
            {
                Some(m) => m,
                None => return self.err("number too big"),
            };
            self.bump();
        }
        if !negative {
            return Ok(Value::Unsigned(magnitude));
        }
        // i64::MIN has a magnitude one larger than i64::MAX.
        match 0i64.checked_sub_unsigned(magnitude) {
            Some(n) => Ok(Value::Signed(n)),
            None => self.err("number too big"),
        }
    }

    fn parse_list(&mut self) -> Result<Value, GrammarError> {
        if self.depth >= MAX_LIST_DEPTH {
            return self.err("lists nested too deeply");
        }
        self.depth += 1;
        let result = self.parse_list_items();
        self.depth -= 1;
        result
    }

    fn parse_list_items(&mut self) -> Result<Value, GrammarError> {
        self.bump();
        let mut items = Vec::new();
        self.skip_space_and_comments();
        if self.peek() == Some(b']') {
            self.bump();
            return Ok(Value::List(items));
        }
        loop {
            if self.peek().is_none() {
                return self.err("list is not closed with ]");
            }
            items.push(self.parse_value()?);
            self.skip_space_and_comments();
            match self.peek() {
                Some(b',') => {
                    self.bump();
                    self.skip_space_and_comments();
                    if self.peek() == Some(b']') {
                        self.bump();
                        return Ok(Value::List(items));
                    }
                }
                Some(b']') => {
                    self.bump();
                    return Ok(Value::List(items));
                }
                None => return self.err("list is not closed with ]"),
                Some(_) => return self.err("expecting a separator in list"),
            }
        }
    }
}
