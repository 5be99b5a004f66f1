use super::*;

const PATH: &str = "/etc/libvirt/test.conf";

fn conf(text: &str) -> ConfFile {
    ConfFile::parse(PATH, text).expect("parse")
}

#[test]
fn missing_keys_are_none() {
    let c = conf("other = 1");
    assert_eq!(c.get_bool("k"), Ok(None));
    assert_eq!(c.get_string("k"), Ok(None));
    assert_eq!(c.get_uint("k"), Ok(None));
    assert_eq!(c.get_int("k"), Ok(None));
    assert_eq!(c.get_u64("k"), Ok(None));
    assert_eq!(c.get_string_list("k"), Ok(None));
}

#[test]
fn bool_accepts_only_0_and_1() {
    let c = conf("t = 1\nf = 0\ntwo = 2\nneg = -1\nstr = \"1\"\nlist = [1]");
    assert_eq!(c.get_bool("t"), Ok(Some(true)));
    assert_eq!(c.get_bool("f"), Ok(Some(false)));
    for key in ["two", "neg", "str", "list"] {
        let err = c.get_bool(key).unwrap_err();
        assert_eq!(
            err.to_string(),
            format!("{PATH}: value for '{key}' parameter must be 0 or 1")
        );
        assert_eq!(err.key(), key);
        assert_eq!(err.path(), PATH);
    }
}

#[test]
fn string_rejects_numbers_and_lists() {
    let c = conf("s = \"v\"\nn = 5\nl = [\"v\"]");
    assert_eq!(c.get_string("s"), Ok(Some("v".to_owned())));
    assert_eq!(
        c.get_string("n").unwrap_err().to_string(),
        format!("{PATH}: expected a string for 'n' parameter")
    );
    assert!(matches!(
        c.get_string("l"),
        Err(ValueError::NotString { .. })
    ));
}

#[test]
fn uint_rules() {
    let c = conf("a = 7\nmax = 4294967295\nbig = 4294967296\nneg = -1\nnegzero = -0\ns = \"7\"");
    assert_eq!(c.get_uint("a"), Ok(Some(7)));
    assert_eq!(c.get_uint("max"), Ok(Some(u32::MAX)));
    assert_eq!(c.get_uint("negzero"), Ok(Some(0)));
    assert_eq!(
        c.get_uint("neg").unwrap_err().to_string(),
        format!("{PATH}: value for 'neg' parameter must not be negative")
    );
    assert_eq!(
        c.get_uint("big").unwrap_err().to_string(),
        format!("{PATH}: value for 'big' parameter must be in range 0:4294967295")
    );
    assert_eq!(
        c.get_uint("s").unwrap_err().to_string(),
        format!("{PATH}: expected an unsigned integer for 's' parameter")
    );
}

#[test]
fn int_rules() {
    let c = conf("a = -1\nb = 5\nlo = -2147483649\nhi = 2147483648\nmin = -2147483648\ns = 'x'");
    assert_eq!(c.get_int("a"), Ok(Some(-1)));
    assert_eq!(c.get_int("b"), Ok(Some(5)));
    assert_eq!(c.get_int("min"), Ok(Some(i32::MIN)));
    for key in ["lo", "hi"] {
        assert!(matches!(
            c.get_int(key),
            Err(ValueError::OutOfRange { min, max, .. })
                if min == i128::from(i32::MIN) && max == i128::from(i32::MAX)
        ));
    }
    assert_eq!(
        c.get_int("s").unwrap_err().to_string(),
        format!("{PATH}: expected a signed integer for 's' parameter")
    );
}

#[test]
fn u64_rules() {
    let c = conf("a = 18446744073709551615\nneg = -5\nl = []");
    assert_eq!(c.get_u64("a"), Ok(Some(u64::MAX)));
    assert!(matches!(c.get_u64("neg"), Err(ValueError::Negative { .. })));
    assert!(matches!(c.get_u64("l"), Err(ValueError::NotInteger { .. })));
}

#[test]
fn string_list_rules() {
    let c =
        conf("l = [\"a\", 'b']\ne = []\ns = \"a\"\nn = 1\nmixed = [\"a\", 1]\nnested = [[\"a\"]]");
    assert_eq!(
        c.get_string_list("l"),
        Ok(Some(vec!["a".to_owned(), "b".to_owned()]))
    );
    assert_eq!(c.get_string_list("e"), Ok(Some(vec![])));
    assert_eq!(
        c.get_string_list("s").unwrap_err().to_string(),
        format!("{PATH}: expected a list for 's' parameter")
    );
    assert!(matches!(
        c.get_string_list("n"),
        Err(ValueError::NotList { .. })
    ));
    for key in ["mixed", "nested"] {
        assert_eq!(
            c.get_string_list(key).unwrap_err().to_string(),
            format!("{PATH}: expected a string list for '{key}' parameter")
        );
    }
}

#[test]
fn getters_use_first_occurrence() {
    let c = conf("k = 1\nk = \"bad\"\nk = 2");
    assert_eq!(c.get_bool("k"), Ok(Some(true)));
    assert_eq!(c.get_uint("k"), Ok(Some(1)));
    let c = conf("k = \"bad\"\nk = 1");
    assert!(
        c.get_bool("k").is_err(),
        "a later valid value does not rescue the first"
    );
}
