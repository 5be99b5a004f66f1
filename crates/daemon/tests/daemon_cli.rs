//! The daemon as an administrator meets it: libvirt's command line and exit codes, the pid
//! file, config errors, clean shutdown, session mode as an unprivileged user, idle timeout.

mod common;
use common::{ours_bin, run_bounded, virsh, Daemon, Kind};
use std::os::unix::fs::PermissionsExt;
use std::process::Command;
use std::time::{Duration, Instant};

#[test]
fn version_help_and_bad_options() {
    let (rc, out, _) = run_bounded(Command::new(ours_bin()).arg("--version"), 10);
    assert_eq!(rc, 0);
    assert!(out.contains("(libvirt) 9.0.0"), "{out}");
    let (rc, _, err) = run_bounded(Command::new(ours_bin()).arg("-h"), 10);
    assert_eq!(rc, 0);
    assert!(
        err.contains("--pid-file") && err.contains("libvirt-sock"),
        "{err}"
    );
    let (rc, _, _) = run_bounded(Command::new(ours_bin()).arg("--bogus"), 10);
    assert_eq!(rc, 1);
    let (rc, _, _) = run_bounded(Command::new(ours_bin()).arg("stray"), 10);
    assert_eq!(rc, 1);
    let (rc, _, err) = run_bounded(Command::new(ours_bin()).args(["-t", "-5"]), 10);
    assert_eq!(rc, 1);
    assert!(err.contains("Invalid value for timeout"), "{err}");
}

#[test]
fn config_errors_exit_1_naming_key_and_file() {
    let d = tempfile::tempdir().unwrap();
    let conf = d.path().join("bad.conf");
    std::fs::write(&conf, "max_workers = \"lots\"\n").unwrap();
    let (rc, _, err) = run_bounded(Command::new(ours_bin()).arg("-f").arg(&conf), 10);
    assert_eq!(rc, 1);
    assert!(
        err.contains("Can't load config file")
            && err.contains("max_workers")
            && err.contains("bad.conf"),
        "{err}"
    );
    let (rc, _, err) = run_bounded(
        Command::new(ours_bin())
            .arg("-f")
            .arg(d.path().join("missing.conf")),
        10,
    );
    assert_eq!(rc, 1, "{err}");
    std::fs::write(&conf, "listen_tcp = [\n").unwrap();
    let (rc, _, err) = run_bounded(Command::new(ours_bin()).arg("-f").arg(&conf), 10);
    assert_eq!(rc, 1, "{err}");
}

#[test]
fn unknown_keys_warn_and_pidfile_excludes_second_instance() {
    let mut d = Daemon::start(Kind::Ours, "no_such_key = 1", &[]);
    let pid_path = d.dir.path().join("libvirtd.pid");
    let pid = std::fs::read_to_string(&pid_path).unwrap();
    assert_eq!(pid.trim(), d.pid().to_string());
    // Same pid file: refused with exit 1.
    let (rc, _, err) = run_bounded(
        Command::new(ours_bin())
            .arg("-f")
            .arg(d.dir.path().join("libvirtd.conf"))
            .arg("-p")
            .arg(&pid_path),
        10,
    );
    assert_eq!(rc, 1, "{err}");
    assert!(err.contains("pid file"), "{err}");
    let log = std::fs::read_to_string(d.dir.path().join("daemon.log")).unwrap();
    assert!(log.contains("unknown key 'no_such_key'"), "{log}");
    // SIGTERM: exit 0, sockets and pid file removed.
    assert_eq!(d.stop(), Some(0));
    assert!(!d.sock().exists() && !d.sock_ro().exists() && !d.admin_sock().exists());
    assert!(!pid_path.exists());
}

#[test]
fn idle_timeout_exits_when_no_client_is_connected() {
    let mut d = Daemon::start(Kind::Ours, "", &["--timeout", "2"]);
    // A client connected for longer than the timeout keeps it alive...
    let held = Instant::now();
    let (_, _, err) = run_bounded(
        Command::new("virsh").args(["-c", &d.uri(), "event", "--all", "--loop", "--timeout", "3"]),
        20,
    );
    assert!(
        held.elapsed() >= Duration::from_millis(2900) && !err.contains("failed to connect"),
        "{err}"
    );
    assert!(
        d.child.as_mut().unwrap().try_wait().unwrap().is_none(),
        "exited while a client was connected"
    );
    // ...and the full countdown starts when it leaves.
    let t0 = Instant::now();
    let child = d.child.as_mut().unwrap();
    let status = loop {
        if let Some(st) = child.try_wait().unwrap() {
            break st;
        }
        assert!(
            t0.elapsed() < Duration::from_secs(15),
            "daemon did not time out"
        );
        std::thread::sleep(Duration::from_millis(50));
    };
    assert_eq!(status.code(), Some(0));
    assert!(t0.elapsed() >= Duration::from_millis(1500));
    d.child = None;
}

/// An unprivileged user for session-mode tests (created once, idempotently).
fn session_user() -> (u32, u32) {
    let name = "oxvirt-test";
    let _ = Command::new("useradd")
        .args([
            "--system",
            "--no-create-home",
            "--shell",
            "/usr/sbin/nologin",
            name,
        ])
        .status();
    let u = nix::unistd::User::from_name(name)
        .unwrap()
        .expect("test user");
    (u.uid.as_raw(), u.gid.as_raw())
}

#[test]
fn session_mode_paths_and_same_uid_rule() {
    let (uid, gid) = session_user();
    let base = tempfile::tempdir().unwrap();
    std::fs::set_permissions(base.path(), std::fs::Permissions::from_mode(0o755)).unwrap();
    let xdg = base.path().join("xdg");
    let home = base.path().join("home");
    std::fs::create_dir_all(&xdg).unwrap();
    std::fs::create_dir_all(&home).unwrap();
    for p in [&xdg, &home] {
        nix::unistd::chown(p.as_path(), Some(uid.into()), Some(gid.into())).unwrap();
        std::fs::set_permissions(p, std::fs::Permissions::from_mode(0o700)).unwrap();
    }
    let env = |c: &mut Command| {
        c.env_clear()
            .env("PATH", "/usr/sbin:/usr/bin:/bin")
            .env("HOME", &home)
            .env("XDG_RUNTIME_DIR", &xdg)
            .env("XDG_CONFIG_HOME", home.join(".config"))
            .env("XDG_CACHE_HOME", home.join(".cache"));
    };
    let setpriv = |c: &mut Command| {
        c.arg(format!("--reuid={uid}"))
            .arg(format!("--regid={gid}"))
            .arg("--clear-groups");
    };
    let mut cmd = Command::new("setpriv");
    setpriv(&mut cmd);
    cmd.arg(ours_bin()).args(["--timeout", "30"]);
    env(&mut cmd);
    let mut child = cmd.stdin(std::process::Stdio::null()).spawn().unwrap();
    let sock = xdg.join("libvirt/libvirt-sock");
    let t0 = Instant::now();
    while !sock.exists() && t0.elapsed() < Duration::from_secs(10) {
        std::thread::sleep(Duration::from_millis(20));
    }
    let run_dir_mode =
        std::fs::metadata(xdg.join("libvirt")).map(|m| m.permissions().mode() & 0o777);
    let has_ro = xdg.join("libvirt/libvirt-sock-ro").exists();
    let has_admin = xdg.join("libvirt/libvirt-admin-sock").exists();
    let has_pid = xdg.join("libvirt/libvirtd.pid").exists();
    // The same user is served.
    let mut v = Command::new("setpriv");
    setpriv(&mut v);
    v.args([
        "virsh",
        "-c",
        &format!("test+unix:///default?socket={}", sock.display()),
        "domstate",
        "test",
    ]);
    env(&mut v);
    let (rc_user, out_user, err_user) = run_bounded(&mut v, 20);
    // root is another uid: refused.
    let (rc_root, _, err_root) = virsh(
        &format!("test+unix:///default?socket={}", sock.display()),
        &["domstate", "test"],
    );
    let _ = nix::sys::signal::kill(
        nix::unistd::Pid::from_raw(child.id() as i32),
        nix::sys::signal::Signal::SIGTERM,
    );
    let st = child.wait().unwrap();
    assert!(sock.exists() || st.success(), "daemon exited: {st:?}");
    assert_eq!(run_dir_mode.unwrap(), 0o700);
    assert!(!has_ro, "session mode has no read-only socket");
    assert!(has_admin && has_pid);
    assert_eq!((rc_user, out_user.trim()), (0, "running"), "{err_user}");
    assert_ne!(rc_root, 0, "a different uid must be refused: {err_root}");
    assert_eq!(st.code(), Some(0));
    assert!(!sock.exists());
}

/// TCP with --listen: one dual-stack wildcard socket serves IPv4 and IPv6 clients, and
/// virt-admin reports the IPv4 peer unmapped (a.b.c.d:port).
#[test]
fn tcp_listener_serves_ipv4_and_ipv6() {
    let port = 20000 + (std::process::id() % 20000) as u16;
    let d = Daemon::start(
        Kind::Ours,
        &format!("listen_tcp = 1\nlisten_tls = 0\nauth_tcp = \"none\"\ntcp_port = \"{port}\""),
        &["--listen"],
    );
    let (rc, out, err) = virsh(
        &format!("test+tcp://127.0.0.1:{port}/default"),
        &["domstate", "test"],
    );
    assert_eq!((rc, out.trim()), (0, "running"), "{err}");
    let (rc, out, err) = virsh(
        &format!("test+tcp://[::1]:{port}/default"),
        &["domstate", "test"],
    );
    assert_eq!((rc, out.trim()), (0, "running"), "{err}");
    let mut holder = Command::new("virsh")
        .args([
            "-c",
            &format!("test+tcp://127.0.0.1:{port}/default"),
            "event",
            "--all",
            "--loop",
            "--timeout",
            "10",
        ])
        .stdout(std::process::Stdio::null())
        .spawn()
        .unwrap();
    std::thread::sleep(Duration::from_millis(800));
    let (_, list, _) = common::virt_admin(&d.admin_uri(), &["srv-clients-list", "libvirtd"]);
    let id = list
        .lines()
        .find(|l| l.contains("tcp"))
        .and_then(|l| l.split_whitespace().next())
        .map(String::from);
    let info = id.map(|id| common::virt_admin(&d.admin_uri(), &["client-info", "libvirtd", &id]).1);
    let _ = holder.kill();
    let _ = holder.wait();
    let info = info.expect("a tcp client is listed");
    assert!(
        info.lines()
            .any(|l| l.contains("sock_addr") && l.contains("127.0.0.1:")),
        "{info}"
    );
    assert!(!info.contains("::ffff:"), "{info}");
}

#[test]
fn daemon_flag_forks_and_reports_start_up() {
    let dir = tempfile::tempdir().unwrap();
    let conf = dir.path().join("c.conf");
    std::fs::write(
        &conf,
        format!("unix_sock_dir = \"{}/run\"\n", dir.path().display()),
    )
    .unwrap();
    let pid = dir.path().join("d.pid");
    // The foreground process returns once the daemon is serving.
    let (rc, _, err) = run_bounded(
        Command::new(ours_bin())
            .arg("-d")
            .arg("-f")
            .arg(&conf)
            .arg("-p")
            .arg(&pid),
        20,
    );
    assert_eq!(rc, 0, "{err}");
    let sock = dir.path().join("run/libvirt-sock");
    assert!(sock.exists());
    let daemon_pid: i32 = std::fs::read_to_string(&pid)
        .unwrap()
        .trim()
        .parse()
        .unwrap();
    let (rc, out, _) = virsh(
        &format!("test+unix:///default?socket={}", sock.display()),
        &["domstate", "test"],
    );
    assert_eq!((rc, out.trim()), (0, "running"));
    // A failure after the fork (the pid file is held) reaches the foreground process.
    let conf2 = dir.path().join("c2.conf");
    std::fs::write(
        &conf2,
        format!("unix_sock_dir = \"{}/run2\"\n", dir.path().display()),
    )
    .unwrap();
    let (rc, _, err) = run_bounded(
        Command::new(ours_bin())
            .arg("-d")
            .arg("-f")
            .arg(&conf2)
            .arg("-p")
            .arg(&pid),
        20,
    );
    assert_eq!(rc, 1, "{err}");
    assert!(err.contains("Failed to start daemon"), "{err}");
    nix::sys::signal::kill(
        nix::unistd::Pid::from_raw(daemon_pid),
        nix::sys::signal::Signal::SIGTERM,
    )
    .unwrap();
    let t0 = Instant::now();
    while pid.exists() && t0.elapsed() < Duration::from_secs(10) {
        std::thread::sleep(Duration::from_millis(20));
    }
    assert!(!pid.exists() && !sock.exists());
}
