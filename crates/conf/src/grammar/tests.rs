use super::*;

fn parse(text: &str) -> ConfFile {
    ConfFile::parse("/test.conf", text).expect("parse")
}

/// Parses expecting a syntax error; returns (line, message).
fn syntax_err(text: &str) -> (usize, &'static str) {
    match ConfFile::parse("/test.conf", text) {
        Err(GrammarError::Syntax { line, message, .. }) => (line, message),
        other => panic!("expected a syntax error for {text:?}, got {other:?}"),
    }
}

fn s(v: &str) -> Value {
    Value::String(v.to_owned())
}

#[test]
fn empty_blank_and_comment_only_files() {
    assert!(parse("").entries.is_empty());
    assert!(parse("\n\n   \t\n").entries.is_empty());
    assert!(parse("# just a comment\n  # indented comment\n#")
        .entries
        .is_empty());
}

#[test]
fn simple_statements_and_line_numbers() {
    let c = parse("# header\n\na = 1\nb = \"two\"\n\nc='three'\n");
    let got: Vec<_> = c
        .entries
        .iter()
        .map(|e| (e.name.as_str(), e.line))
        .collect();
    assert_eq!(got, [("a", 3), ("b", 4), ("c", 6)]);
    assert_eq!(c.get("a"), Some(&Value::Unsigned(1)));
    assert_eq!(c.get("b"), Some(&s("two")));
    assert_eq!(c.get("c"), Some(&s("three")));
    assert_eq!(c.get("d"), None);
    assert_eq!(c.path, "/test.conf");
}

#[test]
fn semicolon_separator_and_no_trailing_newline() {
    let c = parse("a = 1; b = 2 ;c=3");
    assert_eq!(c.entries.len(), 3);
    assert_eq!(c.get("c"), Some(&Value::Unsigned(3)));
    assert!(c.entries.iter().all(|e| e.line == 1));
}

#[test]
fn trailing_comments_and_crlf() {
    let c = parse("a = 1 # one\r\nb = \"x # not a comment\"# c\r\n");
    assert_eq!(c.get("a"), Some(&Value::Unsigned(1)));
    assert_eq!(c.get("b"), Some(&s("x # not a comment")));
}

#[test]
fn names_letters_digits_underscore() {
    let c = parse("abc_DEF_123 = 1\nx9=2");
    assert_eq!(c.get("abc_DEF_123"), Some(&Value::Unsigned(1)));
    assert_eq!(c.get("x9"), Some(&Value::Unsigned(2)));
}

#[test]
fn name_errors() {
    assert_eq!(syntax_err("a = 1\n_x = 1"), (2, "expecting a name"));
    assert_eq!(syntax_err("9x = 1"), (1, "expecting a name"));
    assert_eq!(syntax_err("\n\n= 1"), (3, "expecting a name"));
    assert_eq!(syntax_err("a.b = 1"), (1, "expecting an assignment"));
    assert_eq!(syntax_err("a-b = 1"), (1, "expecting an assignment"));
    assert_eq!(syntax_err("a 1"), (1, "expecting an assignment"));
    assert_eq!(syntax_err("a"), (1, "expecting an assignment"));
}

#[test]
fn strings() {
    let c = parse("a = \"\"\nb = ''\nc = 'it\"s'\nd = \"it's\"\ne = \"back\\slash\"");
    assert_eq!(c.get("a"), Some(&s("")));
    assert_eq!(c.get("b"), Some(&s("")));
    assert_eq!(c.get("c"), Some(&s("it\"s")));
    assert_eq!(c.get("d"), Some(&s("it's")));
    assert_eq!(c.get("e"), Some(&s("back\\slash")), "no escape processing");
    assert_eq!(parse("u = \"ünï\"").get("u"), Some(&s("ünï")));
}

#[test]
fn triple_quoted_strings_span_lines() {
    let c = parse("a = \"\"\"line one\n\"quoted\" line two\n\"\"\"\nb = 1\n");
    assert_eq!(c.get("a"), Some(&s("line one\n\"quoted\" line two\n")));
    assert_eq!(c.get_entry("b").map(|e| e.line), Some(4));
    assert_eq!(parse("a = \"\"\"\"\"\"").get("a"), Some(&s("")));
}

#[test]
fn string_errors() {
    assert_eq!(syntax_err("a = \"abc\nb = 1"), (1, "unterminated string"));
    assert_eq!(syntax_err("x = 1\na = 'abc"), (2, "unterminated string"));
    assert_eq!(syntax_err("a = \"\"\"abc\n\n"), (3, "unterminated string"));
    assert_eq!(syntax_err("a = \"abc\" x"), (1, "expecting a separator"));
    assert_eq!(
        ConfFile::parse_bytes("/t", b"a = \"\xff\"")
            .unwrap_err()
            .to_string(),
        "configuration file syntax error: /t:1: string is not valid UTF-8"
    );
}

#[test]
fn integers_signed_and_unsigned() {
    let c = parse(
        "a = 0\nb = 42\nc = +7\nd = -3\ne = -0\nf = 18446744073709551615\ng = -9223372036854775808",
    );
    assert_eq!(c.get("a"), Some(&Value::Unsigned(0)));
    assert_eq!(c.get("b"), Some(&Value::Unsigned(42)));
    assert_eq!(c.get("c"), Some(&Value::Unsigned(7)));
    assert_eq!(c.get("d"), Some(&Value::Signed(-3)));
    assert_eq!(c.get("e"), Some(&Value::Signed(0)));
    assert_eq!(c.get("f"), Some(&Value::Unsigned(u64::MAX)));
    assert_eq!(c.get("g"), Some(&Value::Signed(i64::MIN)));
}

#[test]
fn integer_errors() {
    assert_eq!(syntax_err("a = -"), (1, "unterminated number"));
    assert_eq!(syntax_err("a = +x"), (1, "unterminated number"));
    assert_eq!(
        syntax_err("a = 18446744073709551616"),
        (1, "number too big")
    );
    assert_eq!(
        syntax_err("a = -9223372036854775809"),
        (1, "number too big")
    );
    assert_eq!(syntax_err("a = 0x10"), (1, "expecting a separator"));
    assert_eq!(syntax_err("a = 12abc"), (1, "expecting a separator"));
    assert_eq!(syntax_err("a = 1.5"), (1, "expecting a separator"));
}

#[test]
fn value_errors() {
    assert_eq!(syntax_err("a = yes"), (1, "expecting a value"));
    assert_eq!(syntax_err("a ="), (1, "expecting a value"));
    assert_eq!(syntax_err("a =\n1"), (1, "expecting a value"));
    assert_eq!(syntax_err("x=1\ny=2\na = b"), (3, "expecting a value"));
    assert_eq!(syntax_err("a = 1 2"), (1, "expecting a separator"));
}

#[test]
fn lists() {
    let c = parse(
        "a = []\nb = [ \"x\" ]\nc = [\"x\", 'y',]\nd = [\n  \"one\",  # first\n  # whole-line comment\n  \"two\",\n\n]\ne = [1, -2, [\"n\"]]\nf = 1\n",
    );
    assert_eq!(c.get("a"), Some(&Value::List(vec![])));
    assert_eq!(c.get("b"), Some(&Value::List(vec![s("x")])));
    assert_eq!(c.get("c"), Some(&Value::List(vec![s("x"), s("y")])));
    assert_eq!(c.get("d"), Some(&Value::List(vec![s("one"), s("two")])));
    assert_eq!(
        c.get("e"),
        Some(&Value::List(vec![
            Value::Unsigned(1),
            Value::Signed(-2),
            Value::List(vec![s("n")])
        ]))
    );
    assert_eq!(c.get_entry("f").map(|e| e.line), Some(11));
}

#[test]
fn list_errors() {
    assert_eq!(syntax_err("a = [\"x\"\n"), (2, "list is not closed with ]"));
    assert_eq!(syntax_err("a = [\"x\","), (1, "list is not closed with ]"));
    assert_eq!(syntax_err("a = ["), (1, "list is not closed with ]"));
    assert_eq!(
        syntax_err("a = [\"x\" \"y\"]"),
        (1, "expecting a separator in list")
    );
    assert_eq!(syntax_err("a = [,]"), (1, "expecting a value"));
    assert_eq!(syntax_err("a = [\"x\",,]"), (1, "expecting a value"));
    assert_eq!(syntax_err("\na = [\"x\"] y"), (2, "expecting a separator"));
    let deep = format!("a = {}", "[".repeat(100));
    assert_eq!(syntax_err(&deep), (1, "lists nested too deeply"));
}

#[test]
fn first_occurrence_wins() {
    let c = parse("a = 1\nb = \"x\"\na = 2\na = \"three\"\n");
    assert_eq!(c.get("a"), Some(&Value::Unsigned(1)));
    assert_eq!(c.get_entry("a").map(|e| e.line), Some(1));
    assert_eq!(c.entries.len(), 4, "duplicates are kept in entries");
}

#[test]
fn error_display_is_libvirt_style() {
    let err = ConfFile::parse("/etc/libvirt/libvirtd.conf", "a = 1\nb = ?\n").unwrap_err();
    assert_eq!(
        err.to_string(),
        "configuration file syntax error: /etc/libvirt/libvirtd.conf:2: expecting a value"
    );
    assert_eq!(err.path(), "/etc/libvirt/libvirtd.conf");
}

#[test]
fn size_limit() {
    let ok = vec![b'#'; MAX_CONFIG_FILE_SIZE];
    assert!(ConfFile::parse_bytes("/t", &ok).is_ok());
    let big = vec![b'#'; MAX_CONFIG_FILE_SIZE + 1];
    assert!(matches!(
        ConfFile::parse_bytes("/t", &big),
        Err(GrammarError::TooLarge { .. })
    ));
}

#[test]
fn read_from_disk_and_missing_file() {
    let dir = std::env::temp_dir().join(format!("oxvirt-conf-grammar-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let file = dir.join("x.conf");
    std::fs::write(&file, "a = [\"b\"]\n").unwrap();
    let c = ConfFile::read(&file).unwrap();
    assert_eq!(c.get("a"), Some(&Value::List(vec![s("b")])));
    assert_eq!(c.path, file.display().to_string());
    let missing = ConfFile::read(&dir.join("nope.conf")).unwrap_err();
    assert!(matches!(missing, GrammarError::Io { .. }));
    assert!(missing.to_string().starts_with("Failed to open file '"));
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn display_round_trips() {
    let text = "a = \"x\"\nb = -1\nc = 2\nd = [\"p\", 3, []]\ne = \"\"\"q\"r\nz\"\"\"\n";
    let c = parse(text);
    let rendered: String = c
        .entries
        .iter()
        .map(|e| format!("{} = {}\n", e.name, e.value))
        .collect();
    assert_eq!(parse(&rendered), c);
}

/// xorshift64*: tiny deterministic PRNG for the fuzz loop.
fn next(state: &mut u64) -> u64 {
    *state ^= *state >> 12;
    *state ^= *state << 25;
    *state ^= *state >> 27;
    state.wrapping_mul(0x2545_F491_4F6C_DD1D)
}

#[test]
fn random_bytes_never_panic() {
    const ALPHABET: &[u8] = b"ab_9=;#\"'[],+- \t\n\r\x00\xff01";
    let mut st = 0x9E37_79B9_7F4A_7C15u64;
    for i in 0..4000 {
        let len = (next(&mut st) % 64) as usize;
        let bytes: Vec<u8> = (0..len)
            .map(|_| {
                let r = next(&mut st);
                // Half the inputs are fully random bytes, half draw from grammar characters.
                if i % 2 == 0 {
                    r as u8
                } else {
                    ALPHABET[(r % ALPHABET.len() as u64) as usize]
                }
            })
            .collect();
        let _ = ConfFile::parse_bytes("/fuzz", &bytes);
    }
}

#[test]
fn mutated_valid_files_never_panic() {
    let base = b"a = 1\nb = \"x\" # c\nl = [\n \"p\", 'q', # z\n]\nt = \"\"\"m\nn\"\"\"\n";
    let mut st = 42u64;
    for _ in 0..3000 {
        let mut bytes = base.to_vec();
        for _ in 0..(next(&mut st) % 4 + 1) {
            let pos = (next(&mut st) % bytes.len() as u64) as usize;
            match next(&mut st) % 3 {
                0 => bytes[pos] = next(&mut st) as u8,
                1 => {
                    bytes.remove(pos);
                }
                _ => bytes.insert(pos, next(&mut st) as u8),
            }
        }
        let _ = ConfFile::parse_bytes("/fuzz", &bytes);
    }
}
