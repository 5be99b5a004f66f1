use super::*;

const PATH: &str = "/etc/libvirt/libvirtd.conf";

fn load(text: &str) -> Result<(DaemonConfig, Vec<Warning>), ConfError> {
    DaemonConfig::load(PATH, text, DaemonKind::LIBVIRTD)
}

fn load_ok(text: &str) -> DaemonConfig {
    let (cfg, warnings) = load(text).expect("load");
    assert!(warnings.is_empty(), "unexpected warnings {warnings:?}");
    cfg
}

fn net(cfg: &DaemonConfig) -> &NetworkConfig {
    cfg.network.as_ref().expect("network keys")
}

/// Loads expecting an error; returns (key, Display text).
fn load_err(text: &str) -> (Option<String>, String) {
    let err = load(text).expect_err("should fail");
    assert_eq!(err.path(), PATH);
    (err.key().map(str::to_owned), err.to_string())
}

#[test]
fn libvirtd_defaults() {
    let cfg = DaemonConfig::defaults(DaemonKind::LIBVIRTD);
    let n = net(&cfg);
    assert!(n.listen_tls);
    assert!(!n.listen_tcp);
    assert_eq!(n.tls_port, "16514");
    assert_eq!(n.tcp_port, "16509");
    assert_eq!(n.listen_addr, None);
    assert_eq!(n.auth_tcp, AuthType::Sasl);
    assert_eq!(n.auth_tls, AuthType::None);
    assert_eq!(n.tcp_min_ssf, 56);
    assert_eq!(
        (&n.key_file, &n.cert_file, &n.ca_file, &n.crl_file),
        (&None, &None, &None, &None)
    );
    assert!(!n.tls_no_sanity_certificate && !n.tls_no_verify_certificate);
    assert_eq!(n.tls_allowed_dn_list, None);
    assert_eq!(n.tls_priority, None);

    assert_eq!(cfg.unix_sock_group, None);
    assert_eq!(cfg.unix_sock_ro_perms, 0o777);
    assert_eq!(cfg.unix_sock_rw_perms, 0o700);
    assert_eq!(cfg.unix_sock_admin_perms, 0o700);
    assert_eq!(cfg.unix_sock_dir, None);
    assert_eq!(
        (cfg.auth_unix_ro, cfg.auth_unix_rw),
        (AuthType::None, AuthType::None)
    );
    assert_eq!(cfg.access_drivers, None);
    assert_eq!(cfg.sasl_allowed_username_list, None);
    assert_eq!(cfg.max_clients, 5000);
    assert_eq!(cfg.max_queued_clients, 1000);
    assert_eq!(cfg.max_anonymous_clients, 20);
    assert_eq!(
        (cfg.min_workers, cfg.max_workers, cfg.prio_workers),
        (5, 20, 5)
    );
    assert_eq!(cfg.max_client_requests, 5);
    assert_eq!((cfg.admin_min_workers, cfg.admin_max_workers), (5, 20));
    assert_eq!(cfg.admin_max_clients, 5000);
    assert_eq!(cfg.admin_max_queued_clients, 20);
    assert_eq!(cfg.admin_max_client_requests, 5);
    assert_eq!(cfg.log_level, 0);
    assert_eq!((&cfg.log_filters, &cfg.log_outputs), (&None, &None));
    assert_eq!(cfg.audit_level, 1);
    assert!(!cfg.audit_logging);
    assert_eq!(cfg.host_uuid, None);
    assert_eq!(cfg.host_uuid_source, HostUuidSource::Smbios);
    assert_eq!((cfg.keepalive_interval, cfg.keepalive_count), (5, 5));
    assert_eq!(
        (cfg.admin_keepalive_interval, cfg.admin_keepalive_count),
        (5, 5)
    );
    assert_eq!(cfg.ovs_timeout, 5);

    assert_eq!(load_ok(""), cfg, "an empty file gives the defaults");
}

#[test]
fn virtproxyd_and_modular_defaults() {
    let proxy = DaemonConfig::defaults(DaemonKind::VIRTPROXYD);
    assert!(!net(&proxy).listen_tls);
    let qemu = DaemonConfig::defaults(DaemonKind::modular("virtqemud"));
    assert!(qemu.network.is_none());
    assert_eq!(qemu.max_clients, 5000);
}

#[test]
fn modular_daemon_warns_on_network_keys() {
    let (cfg, warnings) = DaemonConfig::load(
        "/etc/libvirt/virtqemud.conf",
        "listen_tcp = 1\nmax_clients = 90\n",
        DaemonKind::modular("virtqemud"),
    )
    .unwrap();
    assert!(cfg.network.is_none());
    assert_eq!(cfg.max_clients, 90);
    assert_eq!(warnings.len(), 1);
    assert_eq!(
        warnings[0].to_string(),
        "unknown key 'listen_tcp' in /etc/libvirt/virtqemud.conf, ignored"
    );
    assert_eq!(warnings[0].line, 1);
}

#[test]
fn unknown_and_obsolete_keys() {
    let (cfg, warnings) = load(
        "keepalive_required = 1\nadmin_keepalive_required = 1\nmax_clientz = 3\nmdns_adv = 1\n",
    )
    .unwrap();
    assert_eq!(cfg, DaemonConfig::defaults(DaemonKind::LIBVIRTD));
    let keys: Vec<_> = warnings.iter().map(|w| (w.key.as_str(), w.line)).collect();
    assert_eq!(keys, [("max_clientz", 3), ("mdns_adv", 4)]);
    assert_eq!(
        warnings[0].to_string(),
        format!("unknown key 'max_clientz' in {PATH}, ignored")
    );
}

#[test]
fn auth_parsing() {
    let cfg = load_ok("auth_unix_ro = \"polkit\"\nauth_tcp = \"none\"\nauth_tls = \"sasl\"");
    assert_eq!(cfg.auth_unix_ro, AuthType::Polkit);
    assert_eq!(net(&cfg).auth_tcp, AuthType::None);
    assert_eq!(net(&cfg).auth_tls, AuthType::Sasl);
    let (key, msg) = load_err("auth_tcp = \"kerberos\"");
    assert_eq!(key.as_deref(), Some("auth_tcp"));
    assert_eq!(msg, format!("{PATH}: auth_tcp: unsupported auth kerberos"));
    assert!(load_err("auth_unix_rw = \"Polkit\"")
        .1
        .contains("unsupported auth Polkit"));
    assert!(load_err("auth_unix_rw = 1")
        .1
        .contains("expected a string for 'auth_unix_rw'"));
    for a in [AuthType::None, AuthType::Sasl, AuthType::Polkit] {
        assert_eq!(AuthType::parse(a.as_str()), Some(a));
    }
}

#[test]
fn polkit_opens_rw_socket_unless_explicit() {
    assert_eq!(
        load_ok("auth_unix_rw = \"polkit\"").unix_sock_rw_perms,
        0o777
    );
    let explicit = load_ok("unix_sock_rw_perms = \"0770\"\nauth_unix_rw = \"polkit\"");
    assert_eq!(
        explicit.unix_sock_rw_perms, 0o770,
        "explicit perms win regardless of order"
    );
    assert_eq!(load_ok("auth_unix_rw = \"none\"").unix_sock_rw_perms, 0o700);
}

#[test]
fn socket_modes() {
    let cfg = load_ok("unix_sock_ro_perms = \"0755\"\nunix_sock_admin_perms = \"600\"\nunix_sock_rw_perms = \"0\"");
    assert_eq!(
        (
            cfg.unix_sock_ro_perms,
            cfg.unix_sock_admin_perms,
            cfg.unix_sock_rw_perms
        ),
        (0o755, 0o600, 0)
    );
    for bad in ["\"0778\"", "\"rw\"", "\"\"", "\"-700\"", "\"077777\""] {
        let (key, msg) = load_err(&format!("unix_sock_ro_perms = {bad}"));
        assert_eq!(key.as_deref(), Some("unix_sock_ro_perms"), "{bad}");
        assert!(msg.contains("Failed to parse mode"), "{msg}");
    }
    assert!(load_err("unix_sock_ro_perms = 777")
        .1
        .contains("expected a string"));
    assert_eq!(parse_mode("/p", "k", "04755").unwrap(), 0o4755);
}

#[test]
fn worker_and_client_validation() {
    let (key, msg) = load_err("max_workers = 0");
    assert_eq!(key.as_deref(), Some("max_workers"));
    assert_eq!(msg, format!("{PATH}: 'max_workers' must be greater than 0"));
    assert_eq!(load_ok("max_workers = 1").max_workers, 1);
    assert!(load_err("min_workers = -1")
        .1
        .contains("must not be negative"));

    let (key, _) = load_err("max_clients = 10\nmax_anonymous_clients = 11");
    assert_eq!(key.as_deref(), Some("max_anonymous_clients"));
    assert!(
        load_err("max_clients = 19").0.is_some(),
        "default 20 anonymous > 19"
    );
    let cfg = load_ok("max_clients = 10\nmax_anonymous_clients = 10");
    assert_eq!((cfg.max_clients, cfg.max_anonymous_clients), (10, 10));
    assert_eq!(
        load_ok("max_clients = 1\nmax_anonymous_clients = 0").max_anonymous_clients,
        0
    );
}

#[test]
fn tcp_min_ssf_validation() {
    let (key, msg) = load_err("tcp_min_ssf = 56");
    assert_eq!(key.as_deref(), Some("tcp_min_ssf"));
    assert_eq!(
        msg,
        format!("{PATH}: minimum SSF levels lower than 112 are not supported")
    );
    assert!(load_err("tcp_min_ssf = 111").0.is_some());
    assert_eq!(net(&load_ok("tcp_min_ssf = 112")).tcp_min_ssf, 112);
    assert_eq!(net(&load_ok("tcp_min_ssf = 256")).tcp_min_ssf, 256);
}

#[test]
fn tls_files_all_or_none() {
    let all = load_ok("key_file = \"/k\"\ncert_file = \"/c\"\nca_file = \"/a\"\ncrl_file = \"/r\"");
    let n = net(&all);
    assert_eq!(n.key_file.as_deref(), Some("/k"));
    assert_eq!(n.crl_file.as_deref(), Some("/r"));
    assert_eq!(
        load_err("key_file = \"/k\"\ncert_file = \"/c\"")
            .0
            .as_deref(),
        Some("ca_file")
    );
    let (key, msg) = load_err("key_file = \"/k\"\nca_file = \"/a\"");
    assert_eq!(key.as_deref(), Some("cert_file"));
    assert!(msg.ends_with("No server certificate path set to match server key"));
    assert_eq!(
        load_err("cert_file = \"/c\"\nca_file = \"/a\"")
            .0
            .as_deref(),
        Some("key_file")
    );
    assert!(
        load_ok("crl_file = \"/r\"").network.is_some(),
        "crl alone is fine"
    );
}

#[test]
fn host_uuid_and_source() {
    let cfg = load_ok(
        "host_uuid = \"00112233-4455-6677-8899-AABBCCDDEEFF\"\nhost_uuid_source = \"machine-id\"",
    );
    assert_eq!(
        cfg.host_uuid.as_deref(),
        Some("00112233-4455-6677-8899-aabbccddeeff")
    );
    assert_eq!(cfg.host_uuid_source, HostUuidSource::MachineId);
    assert_eq!(
        parse_host_uuid("00112233445566778899aabbccddeeff").as_deref(),
        Some("00112233-4455-6677-8899-aabbccddeeff")
    );
    for bad in [
        "",
        "xyz",
        "0011223344556677889900aabbccddee11",
        "0-0112233445566778899aabbccddeeff",
        "00112233445566778899aabbccddeef-",
    ] {
        assert_eq!(parse_host_uuid(bad), None, "{bad}");
    }
    let (key, msg) = load_err("host_uuid = \"not-a-uuid\"");
    assert_eq!(key.as_deref(), Some("host_uuid"));
    assert_eq!(msg, format!("{PATH}: invalid host UUID"));
    let (key, msg) = load_err("host_uuid_source = \"dmi\"");
    assert_eq!(key.as_deref(), Some("host_uuid_source"));
    assert!(msg.contains("unknown host_uuid_source parameter 'dmi'"));
}

#[test]
fn typed_errors_surface_with_key_and_file() {
    let err = load("listen_tls = 2").unwrap_err();
    assert_eq!(err.key(), Some("listen_tls"));
    assert_eq!(
        err.startup_message(),
        format!("Can't load config file: {PATH}: value for 'listen_tls' parameter must be 0 or 1: {PATH}")
    );
    assert!(load_err("access_drivers = \"polkit\"")
        .1
        .contains("expected a list for 'access_drivers'"));
    assert!(load_err("keepalive_interval = 2147483648")
        .1
        .contains("must be in range"));
    assert!(load_err("keepalive_count = -1")
        .1
        .contains("must not be negative"));
    let syntax = load("listen_tls = yes").unwrap_err();
    assert_eq!(syntax.key(), None);
    assert_eq!(
        syntax.startup_message(),
        format!("Can't load config file: configuration file syntax error: {PATH}:1: expecting a value: {PATH}")
    );
}

#[test]
fn load_file_missing_and_present() {
    let dir = std::env::temp_dir().join(format!("oxvirt-conf-daemon-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let missing = dir.join("missing.conf");
    let (cfg, w) = DaemonConfig::load_file(&missing, DaemonKind::LIBVIRTD, true).unwrap();
    assert_eq!(cfg, DaemonConfig::defaults(DaemonKind::LIBVIRTD));
    assert!(w.is_empty());
    let err = DaemonConfig::load_file(&missing, DaemonKind::LIBVIRTD, false).unwrap_err();
    assert!(matches!(
        err,
        ConfError::Grammar(crate::GrammarError::Io { .. })
    ));
    let file = dir.join("libvirtd.conf");
    std::fs::write(&file, "max_clients = 70\n").unwrap();
    let (cfg, _) = DaemonConfig::load_file(&file, DaemonKind::LIBVIRTD, false).unwrap();
    assert_eq!(cfg.max_clients, 70);
    std::fs::remove_dir_all(&dir).unwrap();
}
