//! A full, realistic libvirtd.conf exercised end to end.

use super::*;

fn net(cfg: &DaemonConfig) -> &NetworkConfig {
    cfg.network.as_ref().expect("network keys")
}

fn load_ok(text: &str) -> DaemonConfig {
    let (cfg, warnings) =
        DaemonConfig::load("/etc/libvirt/libvirtd.conf", text, DaemonKind::LIBVIRTD).expect("load");
    assert!(warnings.is_empty(), "unexpected warnings {warnings:?}");
    cfg
}

const SAMPLE: &str = r#"# libvirtd.conf for a hypervisor host
#################################################################
# Network connectivity controls

listen_tls = 1
listen_tcp = 0        # plain TCP stays off
tls_port = "16514"
tcp_port = 'libvirt-tcp'
listen_addr = "192.0.2.10"

#################################################################
# UNIX socket access controls
unix_sock_group = "libvirt"
unix_sock_ro_perms = "0777"
unix_sock_rw_perms = "0770"
unix_sock_admin_perms = "0700"
unix_sock_dir = "/run/libvirt"

auth_unix_ro = "none"
auth_unix_rw = "polkit"
auth_tcp = "sasl"
auth_tls = "none"
tcp_min_ssf = 112

access_drivers = [ "polkit" ]

key_file = "/etc/pki/libvirt/private/serverkey.pem"
cert_file = "/etc/pki/libvirt/servercert.pem"
ca_file = "/etc/pki/CA/cacert.pem"
crl_file = "/etc/pki/CA/crl.pem"
tls_no_sanity_certificate = 0
tls_no_verify_certificate = 0
tls_allowed_dn_list = [
    "C=GB,ST=London,L=London,O=Example,CN=admin*",   # operators
    # "C=GB,CN=disabled",
    "DN=*.cluster.example",
]
tls_priority = "@LIBVIRT,SYSTEM"
sasl_allowed_username_list = ["admin@EXAMPLE.COM", "fred@EXAMPLE.COM",]

# Processing controls
max_clients = 2000; max_queued_clients = 500
max_anonymous_clients = 40
min_workers = 4
max_workers = 32
prio_workers = 8
max_client_requests = 10
admin_min_workers = 1
admin_max_workers = 5
admin_max_clients = 5
admin_max_queued_clients = 5
admin_max_client_requests = 5

# Logging
log_level = 3
log_filters = "1:qemu 1:libvirt 4:object 4:json 4:event 1:util"
log_outputs = """3:syslog:libvirtd
 1:file:/var/log/libvirt/libvirtd.log"""
audit_level = 2
audit_logging = 1
host_uuid = "8510b1a1a1f2b2c3d4e5f60718293a4b"
host_uuid_source = "smbios"
keepalive_interval = -1
keepalive_count = 0
keepalive_required = 1
admin_keepalive_interval = 10
admin_keepalive_count = 3
ovs_timeout = 15
max_clients = 1   # duplicate: first occurrence wins
"#;

#[test]
fn realistic_sample() {
    let cfg = load_ok(SAMPLE);
    let n = net(&cfg);
    assert!(n.listen_tls && !n.listen_tcp);
    assert_eq!(n.tcp_port, "libvirt-tcp");
    assert_eq!(n.listen_addr.as_deref(), Some("192.0.2.10"));
    assert_eq!(n.tcp_min_ssf, 112);
    assert_eq!(n.ca_file.as_deref(), Some("/etc/pki/CA/cacert.pem"));
    assert_eq!(
        n.tls_allowed_dn_list.as_deref(),
        Some(
            &[
                "C=GB,ST=London,L=London,O=Example,CN=admin*".to_owned(),
                "DN=*.cluster.example".to_owned()
            ][..]
        )
    );
    assert_eq!(n.tls_priority.as_deref(), Some("@LIBVIRT,SYSTEM"));
    assert_eq!(cfg.unix_sock_group.as_deref(), Some("libvirt"));
    assert_eq!(cfg.unix_sock_rw_perms, 0o770);
    assert_eq!(cfg.auth_unix_rw, AuthType::Polkit);
    assert_eq!(cfg.access_drivers, Some(vec!["polkit".to_owned()]));
    assert_eq!(
        cfg.sasl_allowed_username_list.as_ref().map(Vec::len),
        Some(2)
    );
    assert_eq!(
        (
            cfg.max_clients,
            cfg.max_queued_clients,
            cfg.max_anonymous_clients
        ),
        (2000, 500, 40)
    );
    assert_eq!(
        (
            cfg.min_workers,
            cfg.max_workers,
            cfg.prio_workers,
            cfg.max_client_requests
        ),
        (4, 32, 8, 10)
    );
    assert_eq!(
        (
            cfg.admin_min_workers,
            cfg.admin_max_workers,
            cfg.admin_max_clients
        ),
        (1, 5, 5)
    );
    assert_eq!(cfg.log_level, 3);
    assert_eq!(
        cfg.log_outputs.as_deref(),
        Some("3:syslog:libvirtd\n 1:file:/var/log/libvirt/libvirtd.log")
    );
    assert_eq!((cfg.audit_level, cfg.audit_logging), (2, true));
    assert_eq!(
        cfg.host_uuid.as_deref(),
        Some("8510b1a1-a1f2-b2c3-d4e5-f60718293a4b")
    );
    assert_eq!((cfg.keepalive_interval, cfg.keepalive_count), (-1, 0));
    assert_eq!(
        (cfg.admin_keepalive_interval, cfg.admin_keepalive_count),
        (10, 3)
    );
    assert_eq!(cfg.ovs_timeout, 15);

    let (proxy, _) = DaemonConfig::load(
        "/etc/libvirt/virtproxyd.conf",
        SAMPLE,
        DaemonKind::VIRTPROXYD,
    )
    .unwrap();
    assert!(net(&proxy).listen_tls, "explicit listen_tls = 1");
    let (_, w) = DaemonConfig::load(
        "/etc/libvirt/virtqemud.conf",
        SAMPLE,
        DaemonKind::modular("virtqemud"),
    )
    .unwrap();
    assert_eq!(
        w.len(),
        IP_KEYS.len(),
        "every network key warns for a modular daemon"
    );
}
