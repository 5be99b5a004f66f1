//! Mode (auto/legacy/direct) × system/session rules, with temp dirs standing for `/var/run`,
//! `/run`, `/usr/sbin` and `$XDG_RUNTIME_DIR`.

use std::fs;
use std::path::{Path, PathBuf};

use oxvirt_client::conf::ClientConf;
use oxvirt_client::sockets::{self, Context, Endpoint, Paths, OPEN_AUTOSTART, OPEN_RO, OPEN_USER};
use oxvirt_client::uri::{Mode, Proxy, RemoteUri, Transport};
use oxvirt_client::Env;

struct Fixture {
    _dir: tempfile::TempDir,
    var_run: PathBuf,
    xdg: PathBuf,
    paths: Paths,
}

impl Fixture {
    /// Creates the given files (relative to "var_run/libvirt" for `sys:`, "xdg/libvirt" for `usr:`).
    fn new(files: &[&str]) -> Self {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path().to_path_buf();
        let var_run = root.join("var-run");
        let xdg = root.join("xdg");
        for d in [
            var_run.join("libvirt"),
            xdg.join("libvirt"),
            root.join("sbin"),
            root.join("run/libvirt"),
        ] {
            fs::create_dir_all(d).unwrap();
        }
        for f in files {
            let p = match f.split_once(':').unwrap() {
                ("sys", n) => var_run.join("libvirt").join(n),
                ("usr", n) => xdg.join("libvirt").join(n),
                ("run", n) => root.join("run/libvirt").join(n),
                ("bin", n) => root.join("sbin").join(n),
                _ => unreachable!(),
            };
            fs::write(p, b"").unwrap();
        }
        let paths = Paths {
            local_run_dir: var_run.clone(),
            run_dir: root.join("run"),
            sbindir: root.join("sbin"),
        };
        Self {
            _dir: dir,
            var_run,
            xdg,
            paths,
        }
    }

    fn env(&self, extra: &[(&str, &str)]) -> Env {
        let mut env = Env::from_pairs([
            ("XDG_RUNTIME_DIR", self.xdg.to_str().unwrap()),
            ("HOME", "/home/u"),
        ]);
        for (k, v) in extra {
            env.set(*k, *v);
        }
        env
    }

    fn sys(&self, name: &str) -> PathBuf {
        self.var_run.join("libvirt").join(name)
    }

    fn usr(&self, name: &str) -> PathBuf {
        self.xdg.join("libvirt").join(name)
    }
}

fn exists(p: &Path) -> bool {
    p.exists()
}

struct Case {
    uri: Option<&'static str>,
    euid: u32,
    ro: bool,
    remote_mode: Option<&'static str>,
    files: &'static [&'static str],
    /// `sys:<name>` or `usr:<name>` or a literal absolute path.
    socket: &'static str,
    mode: Option<Mode>,
    /// Expected spawned binary basename.
    spawn: Option<&'static str>,
    flags: u32,
}

const CASES: &[Case] = &[
    // auto: modular socket present → direct
    Case {
        uri: Some("qemu:///system"),
        euid: 0,
        ro: false,
        remote_mode: None,
        files: &["sys:virtqemud-sock", "sys:libvirt-sock"],
        socket: "sys:virtqemud-sock",
        mode: Some(Mode::Direct),
        spawn: None,
        flags: 0,
    },
    // auto: only legacy → legacy
    Case {
        uri: Some("qemu:///system"),
        euid: 0,
        ro: false,
        remote_mode: None,
        files: &["sys:libvirt-sock"],
        socket: "sys:libvirt-sock",
        mode: Some(Mode::Legacy),
        spawn: None,
        flags: 0,
    },
    // auto: nothing → build default (legacy)
    Case {
        uri: Some("qemu:///system"),
        euid: 1000,
        ro: false,
        remote_mode: None,
        files: &[],
        socket: "sys:libvirt-sock",
        mode: Some(Mode::Legacy),
        spawn: None,
        flags: 0,
    },
    // read-only uses -sock-ro
    Case {
        uri: Some("qemu:///system"),
        euid: 1000,
        ro: true,
        remote_mode: None,
        files: &["sys:virtqemud-sock-ro"],
        socket: "sys:virtqemud-sock-ro",
        mode: Some(Mode::Direct),
        spawn: None,
        flags: OPEN_RO,
    },
    Case {
        uri: Some("network:///system"),
        euid: 0,
        ro: false,
        remote_mode: Some("direct"),
        files: &[],
        socket: "sys:virtnetworkd-sock",
        mode: Some(Mode::Direct),
        spawn: None,
        flags: 0,
    },
    Case {
        uri: Some("qemu:///system?mode=legacy"),
        euid: 0,
        ro: false,
        remote_mode: Some("direct"),
        files: &["sys:virtqemud-sock"],
        socket: "sys:libvirt-sock",
        mode: Some(Mode::Legacy),
        spawn: None,
        flags: 0,
    },
    // session, non-root: autospawn
    Case {
        uri: Some("qemu:///session"),
        euid: 1000,
        ro: false,
        remote_mode: None,
        files: &[],
        socket: "usr:libvirt-sock",
        mode: Some(Mode::Legacy),
        spawn: Some("libvirtd"),
        flags: OPEN_USER | OPEN_AUTOSTART,
    },
    Case {
        uri: Some("qemu:///session"),
        euid: 1000,
        ro: false,
        remote_mode: None,
        files: &["usr:virtqemud-sock"],
        socket: "usr:virtqemud-sock",
        mode: Some(Mode::Direct),
        spawn: Some("virtqemud"),
        flags: OPEN_USER | OPEN_AUTOSTART,
    },
    Case {
        uri: Some("qemu:///session?mode=direct"),
        euid: 1000,
        ro: true,
        remote_mode: None,
        files: &[],
        socket: "usr:virtqemud-sock",
        mode: Some(Mode::Direct),
        spawn: Some("virtqemud"),
        flags: OPEN_RO | OPEN_USER | OPEN_AUTOSTART,
    },
    // root asking for session gets system sockets and no USER flag
    Case {
        uri: Some("qemu:///session"),
        euid: 0,
        ro: false,
        remote_mode: None,
        files: &[],
        socket: "sys:libvirt-sock",
        mode: Some(Mode::Legacy),
        spawn: None,
        flags: 0,
    },
    // test+ scheme is session for non-root
    Case {
        uri: Some("test+unix:///default"),
        euid: 1000,
        ro: false,
        remote_mode: None,
        files: &[],
        socket: "usr:libvirt-sock",
        mode: Some(Mode::Legacy),
        spawn: Some("libvirtd"),
        flags: OPEN_USER | OPEN_AUTOSTART,
    },
    // explicit socket wins, flags unchanged (EXP: 6)
    Case {
        uri: Some("test+unix:///default?socket=/explicit/sock"),
        euid: 1000,
        ro: false,
        remote_mode: Some("direct"),
        files: &[],
        socket: "/explicit/sock",
        mode: None,
        spawn: None,
        flags: OPEN_USER | OPEN_AUTOSTART,
    },
    Case {
        uri: Some("qemu+unix:///system?socket=/x"),
        euid: 0,
        ro: true,
        remote_mode: None,
        files: &[],
        socket: "/x",
        mode: None,
        spawn: None,
        flags: OPEN_RO,
    },
    // NULL URI: non-root session probe → legacy socket, autospawn libvirtd
    Case {
        uri: None,
        euid: 1000,
        ro: false,
        remote_mode: None,
        files: &[],
        socket: "usr:libvirt-sock",
        mode: Some(Mode::Legacy),
        spawn: Some("libvirtd"),
        flags: OPEN_USER | OPEN_AUTOSTART,
    },
    Case {
        uri: None,
        euid: 0,
        ro: false,
        remote_mode: None,
        files: &[],
        socket: "sys:libvirt-sock",
        mode: Some(Mode::Legacy),
        spawn: None,
        flags: 0,
    },
    // NULL URI + direct: probing
    Case {
        uri: None,
        euid: 0,
        ro: false,
        remote_mode: Some("direct"),
        files: &["run:virtlxcd-sock", "run:virtvzd-sock"],
        socket: "sys:virtlxcd-sock",
        mode: Some(Mode::Direct),
        spawn: None,
        flags: 0,
    },
    Case {
        uri: None,
        euid: 1000,
        ro: false,
        remote_mode: Some("direct"),
        files: &["usr:virtvboxd-sock"],
        socket: "usr:virtvboxd-sock",
        mode: Some(Mode::Direct),
        spawn: Some("virtvboxd"),
        flags: OPEN_USER | OPEN_AUTOSTART,
    },
    Case {
        uri: None,
        euid: 1000,
        ro: false,
        remote_mode: Some("direct"),
        files: &["bin:virtqemud"],
        socket: "usr:virtqemud-sock",
        mode: Some(Mode::Direct),
        spawn: Some("virtqemud"),
        flags: OPEN_USER | OPEN_AUTOSTART,
    },
];

fn expected_path(fx: &Fixture, spec: &str) -> PathBuf {
    match spec.split_once(':') {
        Some(("sys", n)) => fx.sys(n),
        Some(("usr", n)) => fx.usr(n),
        _ => PathBuf::from(spec),
    }
}

#[test]
fn mode_and_session_table() {
    for (i, c) in CASES.iter().enumerate() {
        let fx = Fixture::new(c.files);
        let env = fx.env(&[]);
        let conf = ClientConf {
            remote_mode: c.remote_mode.map(str::to_owned),
            ..ClientConf::default()
        };
        let ctx = Context::new(c.euid, &env, &conf)
            .with_paths(fx.paths.clone())
            .with_exists(&exists);
        let uri = c.uri.map(|u| RemoteUri::parse(u).unwrap());
        let plan =
            sockets::plan(uri.as_ref(), c.ro, &ctx).unwrap_or_else(|e| panic!("case {i}: {e}"));
        assert_eq!(plan.open_flags, c.flags, "case {i}");
        assert_eq!(plan.query_uri_after_open, c.uri.is_none(), "case {i}");
        let unix = plan
            .endpoint
            .unix()
            .unwrap_or_else(|| panic!("case {i}: not unix"));
        assert_eq!(unix.path, expected_path(&fx, c.socket), "case {i}");
        assert_eq!(unix.mode, c.mode, "case {i}");
        match (c.spawn, &unix.spawn) {
            (None, None) => {}
            (Some(bin), Some(s)) => {
                assert_eq!(s.binary, fx.paths.sbindir.join(bin), "case {i}");
                assert_eq!(s.args, ["--timeout=120"], "case {i}");
                assert_eq!(s.lock_file, fx.usr(&format!("{bin}.lock")), "case {i}");
            }
            (want, got) => panic!("case {i}: spawn want {want:?} got {got:?}"),
        }
    }
}

#[test]
fn probed_uri_and_open_name() {
    let fx = Fixture::new(&["run:virtqemud-sock-ro"]);
    let env = fx.env(&[]);
    let conf = ClientConf {
        remote_mode: Some("direct".into()),
        ..ClientConf::default()
    };
    let ctx = Context::new(0, &env, &conf)
        .with_paths(fx.paths.clone())
        .with_exists(&exists);
    let plan = sockets::plan(None, true, &ctx).unwrap();
    assert_eq!(plan.open_name, "");
    let unix = plan.endpoint.unix().unwrap();
    assert_eq!(unix.probed_uri.as_deref(), Some("qemu:///system"));
    assert_eq!(unix.path, fx.sys("virtqemud-sock-ro"));
    // Nothing to probe → error.
    let fx = Fixture::new(&[]);
    let ctx = Context::new(0, &env, &conf)
        .with_paths(fx.paths.clone())
        .with_exists(&exists);
    assert_eq!(
        sockets::plan(None, false, &ctx).unwrap_err().to_string(),
        "Cannot use direct socket mode if no URI is set"
    );
}

#[test]
fn autostart_env_and_binary_overrides() {
    let fx = Fixture::new(&[]);
    let conf = ClientConf::default();
    let uri = RemoteUri::parse("qemu:///session").unwrap();

    let env = fx.env(&[("LIBVIRT_AUTOSTART", "0")]);
    let ctx = Context::new(1000, &env, &conf)
        .with_paths(fx.paths.clone())
        .with_exists(&exists);
    let plan = sockets::plan(Some(&uri), false, &ctx).unwrap();
    assert_eq!(plan.open_flags, OPEN_USER);
    assert!(plan.endpoint.unix().unwrap().spawn.is_none());

    let env = fx.env(&[
        ("VIRTD_PATH", "/opt/bin/mydaemon"),
        ("LIBVIRTD_PATH", "/opt/bin/other"),
    ]);
    let ctx = Context::new(1000, &env, &conf)
        .with_paths(fx.paths.clone())
        .with_exists(&exists);
    let spawn = sockets::plan(Some(&uri), false, &ctx)
        .unwrap()
        .endpoint
        .unix()
        .unwrap()
        .spawn
        .clone()
        .unwrap();
    assert_eq!(spawn.binary, PathBuf::from("/opt/bin/mydaemon"));
    assert_eq!(spawn.lock_file, fx.usr("mydaemon.lock"));

    let env = fx.env(&[("LIBVIRTD_PATH", "/opt/bin/other")]);
    let ctx = Context::new(1000, &env, &conf)
        .with_paths(fx.paths.clone())
        .with_exists(&exists);
    let spawn = sockets::plan(Some(&uri), false, &ctx)
        .unwrap()
        .endpoint
        .unix()
        .unwrap()
        .spawn
        .clone()
        .unwrap();
    assert_eq!(spawn.binary, PathBuf::from("/opt/bin/other"));

    // No XDG_RUNTIME_DIR: falls back to $HOME/.cache.
    let env = Env::from_pairs([("HOME", "/home/u")]);
    let ctx = Context::new(1000, &env, &conf)
        .with_paths(fx.paths.clone())
        .with_exists(&exists);
    let unix = sockets::plan(Some(&uri), false, &ctx).unwrap().endpoint;
    assert_eq!(
        unix.unix().unwrap().path,
        PathBuf::from("/home/u/.cache/libvirt/libvirt-sock")
    );
    let env = Env::default();
    let ctx = Context::new(1000, &env, &conf)
        .with_paths(fx.paths.clone())
        .with_exists(&exists);
    assert!(sockets::plan(Some(&uri), false, &ctx).is_err());
}

#[test]
fn network_transports() {
    let env = Env::default();
    let conf = ClientConf::default();
    let never = |_: &Path| false;
    let ctx = Context::new(1000, &env, &conf).with_exists(&never);
    let plan = |s: &str| sockets::plan(Some(&RemoteUri::parse(s).unwrap()), false, &ctx);

    assert_eq!(
        plan("qemu+tcp://h/system").unwrap().endpoint,
        Endpoint::Tcp {
            host: "h".into(),
            port: 16509
        }
    );
    assert_eq!(
        plan("qemu://[fe80::1]:9999/system").unwrap().endpoint,
        Endpoint::Tls {
            host: "fe80::1".into(),
            port: 9999
        }
    );
    assert_eq!(
        plan("qemu+tls:///system").unwrap().endpoint,
        Endpoint::Tls {
            host: "localhost".into(),
            port: 16514
        }
    );
    // Session over TCP still sets USER (no AUTOSTART: host given).
    assert_eq!(plan("qemu+tcp://h/session").unwrap().open_flags, OPEN_USER);
    assert_eq!(
        plan("qemu+ext:///system?command=/bin/proxy")
            .unwrap()
            .endpoint,
        Endpoint::Ext {
            command: "/bin/proxy".into()
        }
    );
    assert_eq!(
        plan("qemu+ext:///system").unwrap_err().to_string(),
        "remote_open: for 'ext' transport, command is required"
    );

    match plan("qemu+ssh://root@h:2222/system").unwrap().endpoint {
        Endpoint::Ssh {
            transport,
            host,
            port,
            user,
            proxy,
            netcat_socket,
            helper_uri,
            binary,
            keyfile,
            netcat,
            no_tty,
            no_verify,
            read_only,
        } => {
            assert_eq!(binary, "ssh");
            assert_eq!(
                (keyfile, netcat, no_tty, no_verify, read_only),
                (None, None, false, false, false)
            );
            assert_eq!(transport, Transport::Ssh);
            assert_eq!(
                (host.as_str(), port, user.as_deref()),
                ("h", Some(2222), Some("root"))
            );
            assert_eq!(proxy, Proxy::Auto);
            assert_eq!(
                netcat_socket,
                Some(PathBuf::from("/var/run/libvirt/libvirt-sock"))
            );
            assert_eq!(helper_uri, "qemu:///system");
        }
        other => panic!("{other:?}"),
    }
    let ssh = |s: &str| match plan(s).unwrap().endpoint {
        Endpoint::Ssh {
            proxy,
            netcat_socket,
            ..
        } => (proxy, netcat_socket),
        other => panic!("{other:?}"),
    };
    assert_eq!(ssh("qemu+ssh://h/session"), (Proxy::Native, None));
    assert_eq!(
        ssh("qemu+ssh://h/system?socket=/s"),
        (Proxy::Netcat, Some(PathBuf::from("/s")))
    );
    assert_eq!(
        ssh("qemu+ssh://h/system?netcat=/bin/nc"),
        (
            Proxy::Netcat,
            Some(PathBuf::from("/var/run/libvirt/libvirt-sock"))
        )
    );
    assert_eq!(
        plan("qemu+ssh://h/system?proxy=native&netcat=nc")
            .unwrap_err()
            .to_string(),
        "netcat path not valid with native proxy mode"
    );
    // remote_mode=direct breaks qemu+ssh:// (as in libvirt).
    assert_eq!(
        plan("qemu+ssh://h/system?mode=direct")
            .unwrap_err()
            .to_string(),
        "Cannot use direct socket mode for ssh transport"
    );
    // libvirt 9.0 points the remote nc at the local session socket path (no error).
    let xdg = Env::from_pairs([("XDG_RUNTIME_DIR", "/run/user/1000")]);
    let ctx_xdg = Context::new(1000, &xdg, &conf).with_exists(&never);
    let uri = RemoteUri::parse("qemu+libssh2://h/session?proxy=netcat").unwrap();
    match sockets::plan(Some(&uri), false, &ctx_xdg).unwrap().endpoint {
        Endpoint::Ssh { netcat_socket, .. } => assert_eq!(
            netcat_socket,
            Some(PathBuf::from("/run/user/1000/libvirt/libvirt-sock"))
        ),
        other => panic!("{other:?}"),
    }
    // The helper gets the CONNECT_OPEN name: libvirt 9.0 drops mode= and socket= for it.
    match plan("qemu+ssh://h/system?mode=legacy&foo=1")
        .unwrap()
        .endpoint
    {
        Endpoint::Ssh { helper_uri, .. } => assert_eq!(helper_uri, "qemu:///system?foo=1"),
        other => panic!("{other:?}"),
    }
}

#[test]
fn bad_remote_mode_in_conf() {
    let env = Env::default();
    let conf = ClientConf {
        remote_mode: Some("modular".into()),
        ..ClientConf::default()
    };
    let ctx = Context::new(0, &env, &conf);
    let uri = RemoteUri::parse("qemu:///system").unwrap();
    assert_eq!(
        sockets::plan(Some(&uri), false, &ctx)
            .unwrap_err()
            .to_string(),
        "Unknown remote mode 'modular'"
    );
}
