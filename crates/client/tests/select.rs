//! Default-URI choice, alias expansion and libvirt.conf parsing.

use oxvirt_client::conf::ClientConf;
use oxvirt_client::select::{resolve_alias, select_uri};
use oxvirt_client::Env;

fn conf(text: &str) -> ClientConf {
    ClientConf::parse("libvirt.conf", text).unwrap()
}

#[test]
fn precedence_explicit_env_conf_probe() {
    let c = conf("uri_default = \"qemu:///system\"\n");
    let env = Env::from_pairs([("LIBVIRT_DEFAULT_URI", "test:///default")]);
    let pick = |e: Option<&str>, env: &Env, c: &ClientConf| {
        select_uri(e, env, c, false)
            .unwrap()
            .map(|u| u.as_str().to_owned())
    };
    assert_eq!(
        pick(Some("lxc:///system"), &env, &c).as_deref(),
        Some("lxc:///system")
    );
    assert_eq!(pick(None, &env, &c).as_deref(), Some("test:///default"));
    assert_eq!(pick(Some(""), &env, &c).as_deref(), Some("test:///default"));
    assert_eq!(
        pick(None, &Env::default(), &c).as_deref(),
        Some("qemu:///system")
    );
    let empty_env = Env::from_pairs([("LIBVIRT_DEFAULT_URI", "")]);
    assert_eq!(
        pick(None, &empty_env, &c).as_deref(),
        Some("qemu:///system")
    );
    assert_eq!(pick(None, &Env::default(), &ClientConf::default()), None);
}

#[test]
fn aliases() {
    let c = conf(
        "uri_aliases = [\n  \"hail=qemu+ssh://root@hail.cloud.example.com/system\",\n  \
         \"sleet=qemu+ssh://root@sleet.cloud.example.com/system\",\n  \"hail=test:///default\",\n]\n\
         uri_default = \"sleet\"\n",
    );
    let host = |e: Option<&str>, no_aliases| {
        select_uri(e, &Env::default(), &c, no_aliases).map(|u| u.unwrap().host().map(str::to_owned))
    };
    assert_eq!(
        host(Some("hail"), false).unwrap().as_deref(),
        Some("hail.cloud.example.com")
    );
    // Aliases apply to the default URI too.
    assert_eq!(
        host(None, false).unwrap().as_deref(),
        Some("sleet.cloud.example.com")
    );
    // VIR_CONNECT_NO_ALIASES: "hail" is then not a URI.
    assert_eq!(
        host(Some("hail"), true).unwrap_err().to_string(),
        "Unable to parse URI hail"
    );
    let env = Env::from_pairs([("LIBVIRT_DEFAULT_URI", "hail")]);
    let u = select_uri(None, &env, &c, false).unwrap().unwrap();
    assert_eq!(u.host(), Some("hail.cloud.example.com"));
}

#[test]
fn malformed_aliases() {
    let no_eq = vec!["justaname".to_string(), "a=test:///default".to_string()];
    assert_eq!(
        resolve_alias(&no_eq, "a").unwrap_err().to_string(),
        "Malformed 'uri_aliases' config entry 'justaname', expected 'alias=uri://host/path'"
    );
    let bad = vec![
        "a=test:///default".to_string(),
        "b c=qemu:///system".to_string(),
    ];
    // First match returns before the bad entry is seen.
    assert_eq!(resolve_alias(&bad, "a").unwrap(), Some("test:///default"));
    assert_eq!(
        resolve_alias(&bad, "b c").unwrap_err().to_string(),
        "Malformed 'uri_aliases' config entry 'b c=qemu:///system', aliases may only contain 'a-Z, 0-9, _, -'"
    );
    let ok = vec!["my-host_1.lan=qemu+ssh://h/system".to_string()];
    assert_eq!(
        resolve_alias(&ok, "my-host_1.lan").unwrap(),
        Some("qemu+ssh://h/system")
    );
    // A URI value may itself contain '='.
    let eq = vec!["x=qemu:///system?name=a=b".to_string()];
    assert_eq!(
        resolve_alias(&eq, "x").unwrap(),
        Some("qemu:///system?name=a=b")
    );
}

#[test]
fn missing_slash_hint() {
    let e = select_uri(
        Some("qemu://session"),
        &Env::default(),
        &ClientConf::default(),
        false,
    );
    assert_eq!(
        e.unwrap_err().to_string(),
        "invalid URI qemu://session (maybe you want qemu:///session)"
    );
    assert!(select_uri(
        Some("qemu://session/system"),
        &Env::default(),
        &ClientConf::default(),
        false
    )
    .is_ok());
}

#[test]
fn conf_parsing() {
    let c = conf(
        "# client config\nremote_mode = \"direct\"; remote_proxy='native'\nuri_default = \"a\"\nuri_default = \"b\"\n",
    );
    assert_eq!(c.remote_mode.as_deref(), Some("direct"));
    assert_eq!(c.remote_proxy.as_deref(), Some("native"));
    // First occurrence wins.
    assert_eq!(c.uri_default.as_deref(), Some("a"));
    assert!(c.uri_aliases.is_empty());
    assert!(ClientConf::parse("libvirt.conf", "uri_default = 1").is_err());
    assert!(ClientConf::parse("libvirt.conf", "uri_aliases = [1]").is_err());
    assert!(ClientConf::parse("libvirt.conf", "uri_default = \"unterminated").is_err());
    let env = Env::from_pairs([("XDG_CONFIG_HOME", "/cfg"), ("HOME", "/home/u")]);
    assert_eq!(
        ClientConf::path(1000, &env).unwrap().to_str(),
        Some("/cfg/libvirt/libvirt.conf")
    );
    assert!(ClientConf::path(1000, &Env::default()).is_err());
}
