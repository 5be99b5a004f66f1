//! Table test over libvirt's documented URI examples (docs/uri.rst, docs/remote.rst).

use oxvirt_client::uri::{Mode, Proxy, RemoteUri, Transport};

struct Case {
    uri: &'static str,
    driver: &'static str,
    transport: Transport,
    user: Option<&'static str>,
    host: Option<&'static str>,
    port: u16,
    path: &'static str,
    open_name: &'static str,
}

const CASES: &[Case] = &[
    Case {
        uri: "qemu:///system",
        driver: "qemu",
        transport: Transport::Unix,
        user: None,
        host: None,
        port: 0,
        path: "/system",
        open_name: "qemu:///system",
    },
    Case {
        uri: "qemu:///session",
        driver: "qemu",
        transport: Transport::Unix,
        user: None,
        host: None,
        port: 0,
        path: "/session",
        open_name: "qemu:///session",
    },
    Case {
        uri: "qemu+ssh://root@host/system",
        driver: "qemu",
        transport: Transport::Ssh,
        user: Some("root"),
        host: Some("host"),
        port: 22,
        path: "/system",
        open_name: "qemu:///system",
    },
    Case {
        uri: "qemu+tcp://host:16509/system",
        driver: "qemu",
        transport: Transport::Tcp,
        user: None,
        host: Some("host"),
        port: 16509,
        path: "/system",
        open_name: "qemu:///system",
    },
    Case {
        uri: "qemu+tcp://host/system",
        driver: "qemu",
        transport: Transport::Tcp,
        user: None,
        host: Some("host"),
        port: 16509,
        path: "/system",
        open_name: "qemu:///system",
    },
    Case {
        uri: "qemu://host/system",
        driver: "qemu",
        transport: Transport::Tls,
        user: None,
        host: Some("host"),
        port: 16514,
        path: "/system",
        open_name: "qemu:///system",
    },
    Case {
        uri: "qemu+tls://host:1234/system",
        driver: "qemu",
        transport: Transport::Tls,
        user: None,
        host: Some("host"),
        port: 1234,
        path: "/system",
        open_name: "qemu:///system",
    },
    Case {
        uri: "test:///default",
        driver: "test",
        transport: Transport::Unix,
        user: None,
        host: None,
        port: 0,
        path: "/default",
        open_name: "test:///default",
    },
    Case {
        uri: "test+unix:///default?socket=/path",
        driver: "test",
        transport: Transport::Unix,
        user: None,
        host: None,
        port: 0,
        path: "/default",
        open_name: "test:///default",
    },
    Case {
        uri: "xen+ssh://user@host:2222/",
        driver: "xen",
        transport: Transport::Ssh,
        user: Some("user"),
        host: Some("host"),
        port: 2222,
        path: "/",
        open_name: "xen:///",
    },
    Case {
        uri: "xen:///",
        driver: "xen",
        transport: Transport::Unix,
        user: None,
        host: None,
        port: 0,
        path: "/",
        open_name: "xen:///",
    },
    Case {
        uri: "remote+unix:///?socket=/tmp/s",
        driver: "remote",
        transport: Transport::Unix,
        user: None,
        host: None,
        port: 0,
        path: "/",
        open_name: "",
    },
    Case {
        uri: "remote://host/",
        driver: "remote",
        transport: Transport::Tls,
        user: None,
        host: Some("host"),
        port: 16514,
        path: "/",
        open_name: "",
    },
    Case {
        uri: "libvirtd:///system",
        driver: "libvirtd",
        transport: Transport::Unix,
        user: None,
        host: None,
        port: 0,
        path: "/system",
        open_name: "libvirtd:///system",
    },
    Case {
        uri: "virtqemud:///session",
        driver: "virtqemud",
        transport: Transport::Unix,
        user: None,
        host: None,
        port: 0,
        path: "/session",
        open_name: "virtqemud:///session",
    },
    Case {
        uri: "qemu+libssh2://user@host/system?known_hosts=/home/user/.ssh/known_hosts",
        driver: "qemu",
        transport: Transport::Libssh2,
        user: Some("user"),
        host: Some("host"),
        port: 22,
        path: "/system",
        open_name: "qemu:///system",
    },
    Case {
        uri: "qemu+libssh://user@host/system?known_hosts_verify=ignore&sshauth=privkey,agent",
        driver: "qemu",
        transport: Transport::Libssh,
        user: Some("user"),
        host: Some("host"),
        port: 22,
        path: "/system",
        open_name: "qemu:///system",
    },
    Case {
        uri: "qemu+ext:///system?command=/opt/openvpn/bin/myproxy",
        driver: "qemu",
        transport: Transport::Ext,
        user: None,
        host: None,
        port: 0,
        path: "/system",
        open_name: "qemu:///system",
    },
    Case {
        uri: "qemu+ssh://user@[2001:db8::1]:2022/system?no_tty=1&no_verify=1",
        driver: "qemu",
        transport: Transport::Ssh,
        user: Some("user"),
        host: Some("2001:db8::1"),
        port: 2022,
        path: "/system",
        open_name: "qemu:///system",
    },
    Case {
        uri: "qemu+tcp://[::1]/system",
        driver: "qemu",
        transport: Transport::Tcp,
        user: None,
        host: Some("::1"),
        port: 16509,
        path: "/system",
        open_name: "qemu:///system",
    },
    Case {
        uri: "QEMU+SSH://h/system",
        driver: "QEMU",
        transport: Transport::Ssh,
        user: None,
        host: Some("h"),
        port: 22,
        path: "/system",
        open_name: "QEMU:///system",
    },
    Case {
        uri: "qemu:///system?mode=direct&proxy=native",
        driver: "qemu",
        transport: Transport::Unix,
        user: None,
        host: None,
        port: 0,
        path: "/system",
        open_name: "qemu:///system",
    },
    Case {
        uri: "qemu://host/system?pkipath=/tmp/pki&tls_priority=NORMAL&no_sanity=1&no_verify=0",
        driver: "qemu",
        transport: Transport::Tls,
        user: None,
        host: Some("host"),
        port: 16514,
        path: "/system",
        open_name: "qemu:///system",
    },
    Case {
        uri: "qemu+ssh://h/system?netcat=/opt/nc&command=/opt/ssh&keyfile=/k&auth=sasl&authfile=/a",
        driver: "qemu",
        transport: Transport::Ssh,
        user: None,
        host: Some("h"),
        port: 22,
        path: "/system",
        open_name: "qemu:///system",
    },
    Case {
        uri: "xen://h/?foo=a%20b&name=xen:///custom",
        driver: "xen",
        transport: Transport::Tls,
        user: None,
        host: Some("h"),
        port: 16514,
        path: "/",
        open_name: "xen:///custom",
    },
    Case {
        uri: "test:///default?foo=a%20b&bar",
        driver: "test",
        transport: Transport::Unix,
        user: None,
        host: None,
        port: 0,
        path: "/default",
        open_name: "test:///default?foo=a%20b&bar=",
    },
    Case {
        uri: "test:///default#frag",
        driver: "test",
        transport: Transport::Unix,
        user: None,
        host: None,
        port: 0,
        path: "/default",
        open_name: "test:///default#frag",
    },
    Case {
        uri: "qemu+ssh://h/session",
        driver: "qemu",
        transport: Transport::Ssh,
        user: None,
        host: Some("h"),
        port: 22,
        path: "/session",
        open_name: "qemu:///session",
    },
    Case {
        uri: "lxc://",
        driver: "lxc",
        transport: Transport::Unix,
        user: None,
        host: None,
        port: 0,
        path: "",
        open_name: "lxc://",
    },
];

#[test]
fn documented_examples() {
    for c in CASES {
        let u = RemoteUri::parse(c.uri).unwrap_or_else(|e| panic!("{}: {e}", c.uri));
        assert_eq!(u.driver(), c.driver, "{}", c.uri);
        assert_eq!(u.transport(), c.transport, "{}", c.uri);
        assert_eq!(u.user(), c.user, "{}", c.uri);
        assert_eq!(u.host(), c.host, "{}", c.uri);
        assert_eq!(u.port(), c.port, "{}", c.uri);
        assert_eq!(u.path(), c.path, "{}", c.uri);
        assert_eq!(u.name_for_open(), c.open_name, "{}", c.uri);
    }
}

#[test]
fn remote_params_are_typed() {
    let u = RemoteUri::parse(
        "qemu+ssh://h/system?mode=direct&proxy=netcat&no_tty=1&no_verify=7&no_sanity=0&socket=%2Frun%2Fs&SOCKET=/run/t",
    )
    .unwrap();
    let r = u.remote();
    assert_eq!(r.mode, Some(Mode::Direct));
    assert_eq!(r.proxy, Some(Proxy::Netcat));
    assert!(r.no_tty && r.no_verify && !r.no_sanity);
    // Names compare case-insensitively and the last occurrence wins.
    assert_eq!(r.socket.as_deref(), Some("/run/t"));
    assert_eq!(u.passthrough_params().count(), 0);
    assert_eq!(
        u.name_for_ssh_helper(),
        "qemu:///system?mode=direct&socket=%2Frun%2Fs&SOCKET=%2Frun%2Ft"
    );
}

#[test]
fn error_cases() {
    let err = |s: &str| RemoteUri::parse(s).unwrap_err().to_string();
    assert_eq!(
        err("qemu+udp:///system"),
        "transport in URL not recognised (should be tls|unix|ssh|ext|tcp|libssh2|libssh)"
    );
    assert_eq!(
        err("qemu+tcp://host:abc/system"),
        "Unable to parse URI qemu+tcp://host:abc/system"
    );
    assert_eq!(
        err("qemu+tcp://host:70000/system"),
        "Unable to parse URI qemu+tcp://host:70000/system"
    );
    assert_eq!(
        err("qemu+ssh://[::1/system"),
        "Unable to parse URI qemu+ssh://[::1/system"
    );
    assert_eq!(
        err("qemu+ssh://[::1]x/system"),
        "Unable to parse URI qemu+ssh://[::1]x/system"
    );
    assert_eq!(err("/no/scheme"), "Unable to parse URI /no/scheme");
    assert_eq!(
        err("1qemu:///system"),
        "Unable to parse URI 1qemu:///system"
    );
    assert_eq!(
        err("qemu:///sys tem"),
        "Unable to parse URI qemu:///sys tem"
    );
    assert_eq!(
        err("qemu:///system?x=%zz"),
        "Unable to parse URI qemu:///system?x=%zz"
    );
    assert_eq!(
        err("qemu+unix://host/system"),
        "using unix socket and remote server 'host' is not supported."
    );
    assert_eq!(
        err("qemu:///system?no_tty=yes"),
        "Failed to parse value of URI component no_tty"
    );
    assert_eq!(
        err("qemu:///system?mode=modular"),
        "Unknown remote mode 'modular'"
    );
    assert_eq!(
        err("qemu+ssh://h/system?proxy=socat"),
        "Unknown proxy type 'socat'"
    );
    assert_eq!(
        err("qemu+libssh://h/system?known_hosts_verify=maybe"),
        "Unknown known_hosts_verify value 'maybe'"
    );
}

#[test]
fn port_zero_means_default() {
    let u = RemoteUri::parse("qemu+tcp://h:0/system").unwrap();
    assert_eq!((u.explicit_port(), u.port()), (None, 16509));
    let u = RemoteUri::parse("qemu+tcp://h:/system").unwrap();
    assert_eq!(u.explicit_port(), None);
}
