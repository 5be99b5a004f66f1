//! Socket activation with the real `systemd-socket-activate`: systemd's named fds (recipe C of
//! reference-daemon.md), libvirt's exit 6 for unclaimed names, our departures from libvirt
//! (`--listen` accepted, inetd-style stdin sockets), and TCP dual-stack from an activated socket.

mod common;
use common::{ours_bin, run_bounded, virsh, virt_admin, REFERENCE};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

struct Activated {
    dir: tempfile::TempDir,
    child: Child,
}

impl Activated {
    fn run(&self) -> PathBuf {
        self.dir.path().join("run")
    }
    fn uri(&self, sock: &str) -> String {
        format!(
            "test+unix:///default?socket={}",
            self.run().join(sock).display()
        )
    }
    fn log(&self) -> String {
        std::fs::read_to_string(self.dir.path().join("log")).unwrap_or_default()
    }
    /// Wait (bounded) for the activated program to exit; returns its status code.
    fn wait(&mut self, secs: u64) -> Option<i32> {
        let t0 = Instant::now();
        while t0.elapsed() < Duration::from_secs(secs) {
            if let Ok(Some(st)) = self.child.try_wait() {
                return st.code();
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        None
    }
}

impl Drop for Activated {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// systemd-socket-activate listening on `listen` (paths relative to the run dir, or ports)
/// with these fd names, running `bin` with our test config plus `extra`.
fn activate(
    bin: &Path,
    listen: &[&str],
    names: &str,
    extra_conf: &str,
    args: &[&str],
    tool_flags: &[&str],
) -> Activated {
    let dir = tempfile::Builder::new()
        .prefix("oxvirt-act-")
        .tempdir()
        .unwrap();
    let d = dir.path();
    std::fs::create_dir_all(d.join("run")).unwrap();
    std::fs::create_dir_all(d.join("empty")).unwrap();
    std::fs::write(
        d.join("libvirtd.conf"),
        format!(
            "auth_unix_ro = \"none\"\nauth_unix_rw = \"none\"\nlog_outputs = \"3:file:{}\"\n{extra_conf}\n",
            d.join("log").display()
        ),
    )
    .unwrap();
    let mut cmd = Command::new("systemd-socket-activate");
    for l in listen {
        let l = if l.starts_with("libvirt") {
            d.join("run").join(l).display().to_string()
        } else {
            l.to_string()
        };
        cmd.arg("-l").arg(l);
    }
    if !names.is_empty() {
        cmd.arg(format!("--fdname={names}"));
    }
    cmd.args(tool_flags);
    cmd.arg("-E")
        .arg(format!("LIBVIRT_DRIVER_DIR={}", d.join("empty").display()));
    cmd.arg(bin)
        .arg("-f")
        .arg(d.join("libvirtd.conf"))
        .arg("-p")
        .arg(d.join("pid"))
        .args(args);
    let child = cmd
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::from(
            std::fs::File::create(d.join("stderr")).unwrap(),
        ))
        .spawn()
        .unwrap();
    let a = Activated { dir, child };
    // The activator binds before it forks; wait for the first socket to appear.
    let first = listen[0];
    let t0 = Instant::now();
    while t0.elapsed() < Duration::from_secs(10) {
        if !first.starts_with("libvirt") || a.run().join(first).exists() {
            break;
        }
        std::thread::sleep(Duration::from_millis(10));
    }
    std::thread::sleep(Duration::from_millis(100));
    a
}

const UNIX3: [&str; 3] = ["libvirt-sock", "libvirt-sock-ro", "libvirt-admin-sock"];
const NAMES3: &str = "libvirtd.socket:libvirtd-ro.socket:libvirtd-admin.socket";

#[test]
fn named_fds_are_served_and_kept_after_idle_exit() {
    let mut a = activate(
        &ours_bin(),
        &UNIX3,
        NAMES3,
        "unix_sock_dir = \"/nonexistent\"",
        &["--timeout", "2"],
        &[],
    );
    let (rc, out, err) = virsh(&a.uri("libvirt-sock"), &["domstate", "test"]);
    assert_eq!((rc, out.trim()), (0, "running"), "{err}\n{}", a.log());
    // The read-only socket is read-only.
    let (rc, _, err) = virsh(&a.uri("libvirt-sock-ro"), &["destroy", "test"]);
    assert_ne!(rc, 0);
    assert!(err.contains("read only access"), "{err}");
    let admin = format!(
        "libvirtd:///system?socket={}",
        a.run().join("libvirt-admin-sock").display()
    );
    let (rc, out, _) = virt_admin(&admin, &["srv-list"]);
    assert!(rc == 0 && out.contains("libvirtd"), "{out}");
    // Idle timeout: exit 0; the activated socket files stay (they belong to systemd).
    assert_eq!(a.wait(15), Some(0), "{}", a.log());
    for s in UNIX3 {
        assert!(a.run().join(s).exists(), "{s} must not be unlinked");
    }
    assert!(
        a.log()
            .contains("'unix_sock_dir' is set in the config but ignored"),
        "{}",
        a.log()
    );
}

#[test]
fn unclaimed_fd_name_exits_6_like_libvirt() {
    for bin in [ours_bin(), PathBuf::from(REFERENCE)] {
        let mut a = activate(
            &bin,
            &["libvirt-sock", "libvirt-bogus"],
            "libvirtd.socket:bogus.socket",
            "",
            &[],
            &[],
        );
        let _ = std::os::unix::net::UnixStream::connect(a.run().join("libvirt-sock"));
        let code = a.wait(15);
        assert_eq!(code, Some(6), "{}: {}", bin.display(), a.log());
        if bin == ours_bin() {
            let log = a.log();
            assert!(
                log.contains("unclaimed") && log.contains("bogus.socket"),
                "{log}"
            );
        }
    }
}

#[test]
fn listen_under_activation_warns_instead_of_exiting() {
    // libvirt: exit 6. Us: serve the activated sockets and say why --listen is ignored.
    let mut r = activate(Path::new(REFERENCE), &UNIX3, NAMES3, "", &["--listen"], &[]);
    let _ = std::os::unix::net::UnixStream::connect(r.run().join("libvirt-sock"));
    assert_eq!(r.wait(15), Some(6));
    let a = activate(&ours_bin(), &UNIX3, NAMES3, "", &["--listen"], &[]);
    let (rc, out, err) = virsh(&a.uri("libvirt-sock"), &["domstate", "test"]);
    assert_eq!((rc, out.trim()), (0, "running"), "{err}");
    assert!(
        a.log()
            .contains("--listen is ignored under socket activation"),
        "{}",
        a.log()
    );
}

#[test]
fn missing_roles_are_not_served_and_tls_is_skipped() {
    // Only the rw socket and a TLS socket: ro/admin are absent, TLS is logged, rw works.
    let port = 21000 + (std::process::id() % 20000) as u16;
    let a = activate(
        &ours_bin(),
        &["libvirt-sock", &port.to_string()],
        "libvirtd.socket:libvirtd-tls.socket",
        "",
        &[],
        &[],
    );
    let (rc, out, err) = virsh(&a.uri("libvirt-sock"), &["domstate", "test"]);
    assert_eq!((rc, out.trim()), (0, "running"), "{err}");
    assert!(!a.run().join("libvirt-sock-ro").exists());
    assert!(
        a.log()
            .contains("libvirtd-tls.socket: TLS is not supported yet"),
        "{}",
        a.log()
    );
}

#[test]
fn activated_tcp_is_dual_stack_and_reports_ipv4_unmapped() {
    let port = 41000 + (std::process::id() % 20000) as u16;
    let listen = ["libvirt-sock", "libvirt-admin-sock", &port.to_string()];
    let a = activate(
        &ours_bin(),
        &listen,
        "libvirtd.socket:libvirtd-admin.socket:libvirtd-tcp.socket",
        "auth_tcp = \"none\"",
        &[],
        &[],
    );
    let (rc, out, err) = virsh(
        &format!("test+tcp://127.0.0.1:{port}/default"),
        &["domstate", "test"],
    );
    assert_eq!((rc, out.trim()), (0, "running"), "{err}\n{}", a.log());
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
        .stdout(Stdio::null())
        .spawn()
        .unwrap();
    std::thread::sleep(Duration::from_millis(800));
    let admin = format!(
        "libvirtd:///system?socket={}",
        a.run().join("libvirt-admin-sock").display()
    );
    let (_, list, _) = virt_admin(&admin, &["srv-clients-list", "libvirtd"]);
    let id = list
        .lines()
        .find(|l| l.contains("tcp"))
        .and_then(|l| l.split_whitespace().next())
        .map(String::from);
    let info = id.map(|id| virt_admin(&admin, &["client-info", "libvirtd", &id]).1);
    let _ = holder.kill();
    let _ = holder.wait();
    let info = info.unwrap_or_else(|| panic!("no tcp client listed: {list}"));
    assert!(
        info.lines()
            .any(|l| l.contains("sock_addr") && l.contains(": 127.0.0.1:")),
        "{info}"
    );
}

#[test]
fn inetd_listening_socket_on_stdin_is_the_rw_socket() {
    let a = activate(&ours_bin(), &["libvirt-sock"], "", "", &[], &["--inetd"]);
    let (rc, out, err) = virsh(&a.uri("libvirt-sock"), &["domstate", "test"]);
    assert_eq!((rc, out.trim()), (0, "running"), "{err}\n{}", a.log());
    let (rc, out, _) = virsh(&a.uri("libvirt-sock"), &["list", "--name"]);
    assert_eq!((rc, out.trim()), (0, "test"));
}

#[test]
fn inetd_accept_serves_one_client_per_process() {
    let a = activate(
        &ours_bin(),
        &["libvirt-sock"],
        "",
        "",
        &[],
        &["--inetd", "--accept"],
    );
    // Each connection is its own daemon: state does not carry over between them.
    let (rc, _, err) = virsh(&a.uri("libvirt-sock"), &["destroy", "test"]);
    assert_eq!(rc, 0, "{err}\n{}", a.log());
    let (rc, out, err) = virsh(&a.uri("libvirt-sock"), &["domstate", "test"]);
    assert_eq!((rc, out.trim()), (0, "running"), "{err}");
    // And every per-connection daemon has exited once its client left.
    let t0 = Instant::now();
    loop {
        let (_, ps, _) = run_bounded(
            Command::new("pgrep").arg("-f").arg(format!(
                "{} -f {}",
                ours_bin().display(),
                a.dir.path().display()
            )),
            5,
        );
        // The activator's own command line names the daemon too: leave it out.
        let activator = a.child.id().to_string();
        let ps: Vec<&str> = ps.lines().filter(|p| p.trim() != activator).collect();
        if ps.is_empty() {
            break;
        }
        assert!(
            t0.elapsed() < Duration::from_secs(10),
            "per-connection daemons still running: {ps:?}"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
}
