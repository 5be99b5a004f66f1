//! The systemd units in `systemd/` and `scripts/install.sh`, black-box:
//! - `systemd-analyze verify` accepts every unit as installed (ExecStart path included);
//! - the install script produces exactly the expected tree, with modes, idempotently, and
//!   rewrites ExecStart for another PREFIX;
//! - the socket units give the fd names and addresses the daemon expects (libvirt's: the fd
//!   name is the unit name, so no `FileDescriptorName=` override);
//! - the sample libvirtd.conf only uses keys and values our config loader accepts.

mod common;

use std::collections::BTreeMap;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::Command;

use common::run_bounded;

const UNITS: [&str; 12] = [
    "libvirtd.service",
    "libvirtd.socket",
    "libvirtd-ro.socket",
    "libvirtd-admin.socket",
    "libvirtd-tcp.socket",
    "libvirtd-tls.socket",
    "virtlogd.service",
    "virtlogd.socket",
    "virtlogd-admin.socket",
    "virtlockd.service",
    "virtlockd.socket",
    "virtlockd-admin.socket",
];

/// The daemons install.sh installs, with the test-built binary of each.
const DAEMONS: [(&str, &str); 3] = [
    ("libvirtd", env!("CARGO_BIN_EXE_libvirtd")),
    ("virtlogd", env!("CARGO_BIN_EXE_virtlogd")),
    ("virtlockd", env!("CARGO_BIN_EXE_virtlockd")),
];

fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../..")
        .canonicalize()
        .unwrap()
}

fn tempdir() -> tempfile::TempDir {
    tempfile::Builder::new()
        .prefix("oxvirt-units-")
        .tempdir()
        .unwrap()
}

/// Run scripts/install.sh with DESTDIR and PREFIX, installing the test-built binary (so no
/// release build is needed). Returns stdout+stderr; panics unless it exits 0.
fn install(destdir: &Path, prefix: &str) -> String {
    let (code, out, err) = run_bounded(
        Command::new(repo_root().join("scripts/install.sh"))
            .env("DESTDIR", destdir)
            .env("PREFIX", prefix)
            .env("LIBVIRTD_BIN", env!("CARGO_BIN_EXE_libvirtd"))
            .env("VIRTLOGD_BIN", env!("CARGO_BIN_EXE_virtlogd"))
            .env("VIRTLOCKD_BIN", env!("CARGO_BIN_EXE_virtlockd")),
        120,
    );
    assert_eq!(code, 0, "install.sh failed:\n{out}\n{err}");
    format!("{out}{err}")
}

/// Every path under `root` (relative, root itself excluded) with its permission bits.
fn tree(root: &Path) -> BTreeMap<String, u32> {
    fn walk(root: &Path, dir: &Path, out: &mut BTreeMap<String, u32>) {
        for e in std::fs::read_dir(dir).unwrap() {
            let p = e.unwrap().path();
            let md = std::fs::symlink_metadata(&p).unwrap();
            let rel = p.strip_prefix(root).unwrap().display().to_string();
            out.insert(rel, md.permissions().mode() & 0o7777);
            if md.is_dir() {
                walk(root, &p, out);
            }
        }
    }
    let mut out = BTreeMap::new();
    walk(root, root, &mut out);
    out
}

/// Contents of every regular file of the tree.
fn contents(root: &Path) -> BTreeMap<String, Vec<u8>> {
    tree(root)
        .into_keys()
        .filter(|rel| root.join(rel).is_file())
        .map(|rel| {
            let data = std::fs::read(root.join(&rel)).unwrap();
            (rel, data)
        })
        .collect()
}

/// `Key=value` lines of one section of a unit file, in order (comments skipped).
fn section(text: &str, name: &str) -> Vec<(String, String)> {
    let mut cur = String::new();
    let mut out = Vec::new();
    for line in text.lines().map(str::trim) {
        if line.is_empty() || line.starts_with('#') || line.starts_with(';') {
            continue;
        }
        if line.starts_with('[') {
            cur = line.trim_matches(['[', ']']).to_owned();
        } else if cur == name {
            let (k, v) = line.split_once('=').expect("key=value");
            out.push((k.trim().to_owned(), v.trim().to_owned()));
        }
    }
    out
}

fn values(sec: &[(String, String)], key: &str) -> Vec<String> {
    sec.iter()
        .filter(|(k, _)| k == key)
        .map(|(_, v)| v.clone())
        .collect()
}

fn unit_text(name: &str) -> String {
    std::fs::read_to_string(repo_root().join("systemd").join(name)).unwrap()
}

fn verify(units: &[PathBuf]) -> (i32, String) {
    let (code, out, err) = run_bounded(
        Command::new("systemd-analyze")
            .arg("verify")
            .arg("--man=no")
            .args(units),
        60,
    );
    (code, format!("{out}{err}"))
}

/// `systemd-analyze verify` checks that every Exec*= command exists on the real filesystem,
/// and loads the units' dependencies from the directories of the files given. So install
/// with DESTDIR=<tmp>/stage and PREFIX=<tmp>/prefix, then make <tmp>/prefix a symlink to the
/// staged prefix: ExecStart=<tmp>/prefix/sbin/libvirtd then names the installed binary.
/// (`--root=` does not work for this: it needs a whole systemd tree, e.g. sysinit.target,
/// and /bin/kill, inside the root.)
#[test]
fn systemd_analyze_verify_accepts_every_unit() {
    let tmp = tempdir();
    let stage = tmp.path().join("stage");
    let prefix = tmp.path().join("prefix");
    install(&stage, prefix.to_str().unwrap());
    let staged_prefix = stage.join(prefix.strip_prefix("/").unwrap());
    std::os::unix::fs::symlink(&staged_prefix, &prefix).unwrap();
    let unitdir = prefix.join("lib/systemd/system");
    let service = std::fs::read_to_string(unitdir.join("libvirtd.service")).unwrap();
    assert_eq!(
        values(&section(&service, "Service"), "ExecStart"),
        [format!("{}/sbin/libvirtd $LIBVIRTD_ARGS", prefix.display())]
    );

    // Each unit alone, then all together.
    let all: Vec<PathBuf> = UNITS.iter().map(|u| unitdir.join(u)).collect();
    for unit in all.iter().map(std::slice::from_ref).chain([&all[..]]) {
        let (code, out) = verify(unit);
        assert_eq!(code, 0, "systemd-analyze verify {unit:?}:\n{out}");
        let ours: Vec<&str> = out
            .lines()
            .filter(|l| DAEMONS.iter().any(|(d, _)| l.contains(d)))
            .collect();
        assert!(ours.is_empty(), "systemd-analyze verify {unit:?}:\n{out}");
    }

    // Control: verify does notice a missing ExecStart binary and unknown keys, so the
    // checks above are meaningful.
    let neg = tempdir();
    install(neg.path(), "/nonexistent-oxvirt");
    let (code, out) = verify(&[neg
        .path()
        .join("nonexistent-oxvirt/lib/systemd/system/libvirtd.service")]);
    assert_ne!(code, 0, "{out}");
    assert!(
        out.contains("/nonexistent-oxvirt/sbin/libvirtd is not executable"),
        "{out}"
    );
    let bad = tmp.path().join("bad");
    std::fs::create_dir(&bad).unwrap();
    for u in UNITS {
        std::fs::copy(unitdir.join(u), bad.join(u)).unwrap();
    }
    std::fs::write(
        bad.join("libvirtd-ro.socket"),
        unit_text("libvirtd-ro.socket").replace("RemoveOnStop=", "RemoveOnStopTypo="),
    )
    .unwrap();
    let (_, out) = verify(&[bad.join("libvirtd.service")]);
    assert!(
        out.contains("libvirtd-ro.socket") && out.contains("RemoveOnStopTypo"),
        "dependencies are loaded from the units' own directory: {out}"
    );
}

#[test]
fn install_produces_the_expected_tree_idempotently() {
    let tmp = tempdir();
    let d = tmp.path();
    install(d, "/usr");
    let mut expected: BTreeMap<String, u32> = [
        ("etc", 0o755),
        ("etc/default", 0o755),
        ("etc/libvirt", 0o755),
        ("etc/libvirt/libvirtd.conf", 0o644),
        ("etc/libvirt/virtlogd.conf", 0o644),
        ("etc/libvirt/virtlockd.conf", 0o644),
        ("usr", 0o755),
        ("usr/lib", 0o755),
        ("usr/lib/systemd", 0o755),
        ("usr/lib/systemd/system", 0o755),
        ("usr/sbin", 0o755),
    ]
    .into_iter()
    .map(|(p, m)| (p.to_owned(), m))
    .collect();
    for u in UNITS {
        expected.insert(format!("usr/lib/systemd/system/{u}"), 0o644);
    }
    for (daemon, _) in DAEMONS {
        expected.insert(format!("usr/sbin/{daemon}"), 0o755);
        expected.insert(format!("etc/default/{daemon}"), 0o644);
    }
    assert_eq!(tree(d), expected);

    // Contents: the binaries, the units unchanged for PREFIX=/usr, the default files verbatim.
    for (daemon, bin) in DAEMONS {
        assert_eq!(
            std::fs::read(d.join("usr/sbin").join(daemon)).unwrap(),
            std::fs::read(bin).unwrap(),
            "{daemon}"
        );
        assert_eq!(
            std::fs::read_to_string(d.join("etc/default").join(daemon)).unwrap(),
            unit_text(&format!("{daemon}.default"))
        );
    }
    let logd_conf = std::fs::read_to_string(d.join("etc/libvirt/virtlogd.conf")).unwrap();
    assert!(logd_conf.contains("#max_size = 2097152"), "{logd_conf}");
    // The installed samples parse as what they say: every key commented, so the defaults.
    let (c, w) = oxvirt_conf::LogdConfig::load("virtlogd.conf", &logd_conf).expect("sample parses");
    assert_eq!(c, oxvirt_conf::LogdConfig::default());
    assert!(w.is_empty());
    for u in UNITS {
        assert_eq!(
            std::fs::read_to_string(d.join("usr/lib/systemd/system").join(u)).unwrap(),
            unit_text(u),
            "{u}"
        );
    }
    assert_eq!(
        std::fs::read_to_string(d.join("etc/default/libvirtd")).unwrap(),
        unit_text("libvirtd.default")
    );

    // Idempotent: a second run changes nothing.
    let before = contents(d);
    let out = install(d, "/usr");
    assert_eq!(tree(d), expected);
    assert_eq!(contents(d), before);
    assert!(out.contains("keeping existing"), "{out}");

    // Administrator's edits to /etc files survive a re-install.
    std::fs::write(d.join("etc/libvirt/libvirtd.conf"), "max_clients = 7\n").unwrap();
    std::fs::write(d.join("etc/default/libvirtd"), "LIBVIRTD_ARGS=\n").unwrap();
    install(d, "/usr");
    assert_eq!(
        std::fs::read_to_string(d.join("etc/libvirt/libvirtd.conf")).unwrap(),
        "max_clients = 7\n"
    );
    assert_eq!(
        std::fs::read_to_string(d.join("etc/default/libvirtd")).unwrap(),
        "LIBVIRTD_ARGS=\n"
    );
}

#[test]
fn install_with_another_prefix_rewrites_exec_start_only() {
    let tmp = tempdir();
    let d = tmp.path();
    install(d, "/opt/oxvirt/");
    let t = tree(d);
    assert_eq!(t.get("opt/oxvirt/sbin/libvirtd"), Some(&0o755));
    assert_eq!(t.get("etc/default/libvirtd"), Some(&0o644), "{t:?}");
    assert_eq!(t.get("etc/libvirt/libvirtd.conf"), Some(&0o644), "{t:?}");
    assert!(!t.contains_key("usr"), "{t:?}");
    assert!(!t.contains_key("opt/oxvirt/etc"), "{t:?}");
    let unitdir = d.join("opt/oxvirt/lib/systemd/system");
    for u in UNITS {
        let got = std::fs::read_to_string(unitdir.join(u)).unwrap();
        let mut want = unit_text(u);
        for (daemon, _) in DAEMONS {
            want = want.replace(
                &format!("ExecStart=/usr/sbin/{daemon} "),
                &format!("ExecStart=/opt/oxvirt/sbin/{daemon} "),
            );
        }
        assert_eq!(got, want, "{u}");
    }
    let service = std::fs::read_to_string(unitdir.join("libvirtd.service")).unwrap();
    assert_eq!(
        values(&section(&service, "Service"), "ExecStart"),
        ["/opt/oxvirt/sbin/libvirtd $LIBVIRTD_ARGS"]
    );
    let service = std::fs::read_to_string(unitdir.join("virtlogd.service")).unwrap();
    assert_eq!(
        values(&section(&service, "Service"), "ExecStart"),
        ["/opt/oxvirt/sbin/virtlogd $VIRTLOGD_ARGS"]
    );
}

/// The fd names systemd passes are the socket unit names (we never set FileDescriptorName=),
/// which are the names libvirt's libvirtd, and so ours, look for; paths and ports are libvirt's.
#[test]
fn socket_units_give_libvirts_fd_names_and_addresses() {
    let mut socket_units: Vec<String> = std::fs::read_dir(repo_root().join("systemd"))
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .filter(|n| n.ends_with(".socket") && n.starts_with("libvirtd"))
        .collect();
    socket_units.sort();
    assert_eq!(
        socket_units,
        [
            "libvirtd-admin.socket",
            "libvirtd-ro.socket",
            "libvirtd-tcp.socket",
            "libvirtd-tls.socket",
            "libvirtd.socket",
        ]
    );
    // unit (= fd name), ListenStream, SocketMode, RemoveOnStop, BindsTo; "" = not set.
    // The read-write socket is root-only: oxvirt has no polkit (libvirt uses 0666 only with it).
    let main_sock = "libvirtd.socket";
    let want = [
        (
            "libvirtd.socket",
            "/run/libvirt/libvirt-sock",
            "0600",
            "yes",
            "",
        ),
        (
            "libvirtd-ro.socket",
            "/run/libvirt/libvirt-sock-ro",
            "0666",
            "yes",
            main_sock,
        ),
        (
            "libvirtd-admin.socket",
            "/run/libvirt/libvirt-admin-sock",
            "0600",
            "yes",
            main_sock,
        ),
        ("libvirtd-tcp.socket", "16509", "", "", main_sock),
        ("libvirtd-tls.socket", "16514", "", "", main_sock),
    ];
    let set = |v: &str| -> Vec<String> {
        Some(v.to_owned())
            .filter(|v| !v.is_empty())
            .into_iter()
            .collect()
    };
    for (unit, listen, mode, remove, binds) in want {
        let text = unit_text(unit);
        let sock = section(&text, "Socket");
        let u = section(&text, "Unit");
        assert!(values(&sock, "FileDescriptorName").is_empty(), "{unit}");
        assert_eq!(values(&sock, "ListenStream"), [listen], "{unit}");
        assert_eq!(values(&sock, "Service"), ["libvirtd.service"], "{unit}");
        assert_eq!(values(&sock, "SocketMode"), set(mode), "{unit}");
        assert_eq!(values(&sock, "RemoveOnStop"), set(remove), "{unit}");
        assert_eq!(values(&u, "BindsTo"), set(binds), "{unit}");
        // Inetd style is not what the daemon expects from these units.
        assert!(values(&sock, "Accept").is_empty(), "{unit}");
        assert_eq!(
            values(&section(&text, "Install"), "WantedBy"),
            ["sockets.target"],
            "{unit}"
        );
    }
}

#[test]
fn service_unit_is_libvirts_shape() {
    let text = unit_text("libvirtd.service");
    let unit = section(&text, "Unit");
    let svc = section(&text, "Service");
    let inst = section(&text, "Install");
    let one = |sec: &[(String, String)], k: &str| {
        let v = values(sec, k);
        assert_eq!(v.len(), 1, "{k}: {v:?}");
        v[0].clone()
    };
    assert_eq!(
        values(&unit, "Wants"),
        [
            "libvirtd.socket",
            "libvirtd-ro.socket",
            "libvirtd-admin.socket",
            "virtlockd.socket"
        ]
    );
    assert_eq!(values(&unit, "Requires"), ["virtlogd.socket"]);
    assert!(
        values(&unit, "BindsTo").is_empty(),
        "Wants=, so sockets can be disabled"
    );
    assert_eq!(one(&svc, "Type"), "notify");
    assert_eq!(one(&svc, "Environment"), "LIBVIRTD_ARGS=\"--timeout 120\"");
    assert_eq!(one(&svc, "EnvironmentFile"), "-/etc/default/libvirtd");
    assert_eq!(one(&svc, "ExecStart"), "/usr/sbin/libvirtd $LIBVIRTD_ARGS");
    assert_eq!(one(&svc, "ExecReload"), "/bin/kill -HUP $MAINPID");
    assert_eq!(one(&svc, "KillMode"), "process");
    assert_eq!(one(&svc, "Restart"), "on-failure");
    assert_eq!(one(&inst, "WantedBy"), "multi-user.target");
    assert_eq!(
        values(&inst, "Also"),
        [
            "libvirtd.socket",
            "libvirtd-ro.socket",
            "libvirtd-admin.socket",
            "virtlogd.socket",
            "virtlockd.socket"
        ]
    );
    // The default file only has comments: the unit's Environment= stays in force.
    let default = unit_text("libvirtd.default");
    assert!(default
        .lines()
        .all(|l| l.trim().is_empty() || l.starts_with('#')));
    assert!(default.contains("#LIBVIRTD_ARGS=\"--listen\""));
}

/// virtlogd and virtlockd units are libvirt's shape: reload re-executes (SIGUSR1), the
/// service is bound to its main socket, sockets are 0600 at libvirt's paths, no idle timeout.
#[test]
fn support_daemon_units_are_libvirts_shape() {
    for d in ["virtlogd", "virtlockd"] {
        let text = unit_text(&format!("{d}.service"));
        let unit = section(&text, "Unit");
        let svc = section(&text, "Service");
        assert_eq!(values(&unit, "BindsTo"), [format!("{d}.socket")]);
        assert_eq!(values(&svc, "Type"), ["notify"]);
        assert_eq!(values(&svc, "ExecReload"), ["/bin/kill -USR1 $MAINPID"]);
        let upper = d.to_uppercase();
        assert_eq!(values(&svc, "Environment"), [format!("{upper}_ARGS=")]);
        assert_eq!(
            values(&svc, "ExecStart"),
            [format!("/usr/sbin/{d} ${upper}_ARGS")]
        );
        for (sock, path) in [
            (format!("{d}.socket"), format!("/run/libvirt/{d}-sock")),
            (
                format!("{d}-admin.socket"),
                format!("/run/libvirt/{d}-admin-sock"),
            ),
        ] {
            let t = unit_text(&sock);
            let s = section(&t, "Socket");
            assert_eq!(values(&s, "ListenStream"), [path], "{sock}");
            assert_eq!(values(&s, "SocketMode"), ["0600"], "{sock}");
            assert_eq!(values(&s, "Service"), [format!("{d}.service")], "{sock}");
            assert!(values(&s, "FileDescriptorName").is_empty(), "{sock}");
        }
    }
}

/// The sample libvirtd.conf, with its lines uncommented, loads without warnings: every key is
/// known and every value valid.
#[test]
fn sample_conf_uses_known_keys_and_valid_values() {
    let tmp = tempdir();
    install(tmp.path(), "/usr");
    let text = std::fs::read_to_string(tmp.path().join("etc/libvirt/libvirtd.conf")).unwrap();
    // As installed, nothing is set.
    let (cfg, warnings) =
        oxvirt_conf::DaemonConfig::load("libvirtd.conf", &text, oxvirt_conf::DaemonKind::LIBVIRTD)
            .unwrap();
    assert!(warnings.is_empty(), "{warnings:?}");
    assert_eq!(
        cfg,
        oxvirt_conf::DaemonConfig::defaults(oxvirt_conf::DaemonKind::LIBVIRTD)
    );
    let settings: Vec<&str> = text
        .lines()
        .filter_map(|l| l.strip_prefix('#'))
        .filter(|l| {
            l.split_once(" = ")
                .is_some_and(|(k, _)| k.chars().all(|c| c.is_ascii_lowercase() || c == '_'))
        })
        .collect();
    assert!(settings.len() > 20, "{settings:?}");
    let uncommented = settings.join("\n");
    let (_, warnings) = oxvirt_conf::DaemonConfig::load(
        "libvirtd.conf",
        &uncommented,
        oxvirt_conf::DaemonKind::LIBVIRTD,
    )
    .unwrap_or_else(|e| panic!("{e}\n{uncommented}"));
    assert!(warnings.is_empty(), "{warnings:?}");
}
