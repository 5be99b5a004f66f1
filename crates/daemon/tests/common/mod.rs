//! Black-box test harness: start our libvirtd or the reference (Debian's libvirt 9.0) the same
//! way in a temp dir (recipe A of reference-daemon.md: root, sockets in the temp dir, test driver
//! only), and drive them with the real virsh, virt-admin and python3-libvirt.
#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

/// Which daemon.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Ours,
    Reference,
}

/// A running daemon in its own temp dir; killed (SIGTERM, then SIGKILL) on drop.
pub struct Daemon {
    pub kind: Kind,
    pub dir: tempfile::TempDir,
    pub child: Option<Child>,
}

pub const REFERENCE: &str = "/usr/sbin/libvirtd";

pub fn ours_bin() -> PathBuf {
    PathBuf::from(env!("CARGO_BIN_EXE_libvirtd"))
}

impl Daemon {
    /// Start with recipe A's config plus `extra` config lines and extra args.
    pub fn start(kind: Kind, extra_conf: &str, args: &[&str]) -> Daemon {
        let dir = tempfile::Builder::new()
            .prefix("oxvirt-test-")
            .tempdir()
            .unwrap();
        let d = dir.path();
        std::fs::create_dir_all(d.join("run")).unwrap();
        std::fs::create_dir_all(d.join("empty")).unwrap();
        let conf = format!(
            "unix_sock_dir = \"{run}\"\nunix_sock_ro_perms = \"0777\"\nunix_sock_rw_perms = \"0700\"\nunix_sock_admin_perms = \"0700\"\nauth_unix_ro = \"none\"\nauth_unix_rw = \"none\"\nlog_outputs = \"3:file:{log}\"\n{extra_conf}\n",
            run = d.join("run").display(),
            log = d.join("daemon.log").display(),
        );
        std::fs::write(d.join("libvirtd.conf"), conf).unwrap();
        let bin = match kind {
            Kind::Ours => ours_bin(),
            Kind::Reference => PathBuf::from(REFERENCE),
        };
        let mut cmd = Command::new(bin);
        cmd.arg("-f")
            .arg(d.join("libvirtd.conf"))
            .arg("-p")
            .arg(d.join("libvirtd.pid"));
        cmd.args(args);
        cmd.env("LIBVIRT_DRIVER_DIR", d.join("empty"))
            .env("HOME", d)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::from(
                std::fs::File::create(d.join("stderr")).unwrap(),
            ));
        let child = cmd.spawn().expect("start daemon");
        let daemon = Daemon {
            kind,
            dir,
            child: Some(child),
        };
        daemon.wait_for_socket(&daemon.sock());
        daemon.wait_for_socket(&daemon.admin_sock());
        daemon
    }

    pub fn run_dir(&self) -> PathBuf {
        self.dir.path().join("run")
    }
    pub fn sock(&self) -> PathBuf {
        self.run_dir().join("libvirt-sock")
    }
    pub fn sock_ro(&self) -> PathBuf {
        self.run_dir().join("libvirt-sock-ro")
    }
    pub fn admin_sock(&self) -> PathBuf {
        self.run_dir().join("libvirt-admin-sock")
    }

    /// `test+unix:///default?socket=...` for the read-write socket.
    pub fn uri(&self) -> String {
        format!("test+unix:///default?socket={}", self.sock().display())
    }
    pub fn uri_ro(&self) -> String {
        format!("test+unix:///default?socket={}", self.sock_ro().display())
    }
    pub fn admin_uri(&self) -> String {
        format!("libvirtd:///system?socket={}", self.admin_sock().display())
    }

    fn wait_for_socket(&self, p: &Path) {
        let t0 = Instant::now();
        while t0.elapsed() < Duration::from_secs(20) {
            if std::os::unix::net::UnixStream::connect(p).is_ok() {
                return;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        panic!(
            "{:?} daemon did not create {} (stderr: {})",
            self.kind,
            p.display(),
            std::fs::read_to_string(self.dir.path().join("stderr")).unwrap_or_default()
        );
    }

    pub fn pid(&self) -> u32 {
        self.child.as_ref().unwrap().id()
    }

    /// SIGTERM and wait (bounded); returns the exit status code.
    pub fn stop(&mut self) -> Option<i32> {
        let mut child = self.child.take()?;
        let _ = nix::sys::signal::kill(
            nix::unistd::Pid::from_raw(child.id() as i32),
            nix::sys::signal::Signal::SIGTERM,
        );
        let t0 = Instant::now();
        while t0.elapsed() < Duration::from_secs(10) {
            if let Ok(Some(st)) = child.try_wait() {
                return st.code();
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        let _ = child.kill();
        child.wait().ok().and_then(|s| s.code())
    }
}

impl Drop for Daemon {
    fn drop(&mut self) {
        self.stop();
    }
}

/// Run a command with a time bound; returns (status, stdout, stderr).
pub fn run_bounded(cmd: &mut Command, secs: u64) -> (i32, String, String) {
    let mut child = cmd
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn");
    let t0 = Instant::now();
    loop {
        if let Ok(Some(_)) = child.try_wait() {
            break;
        }
        if t0.elapsed() > Duration::from_secs(secs) {
            let _ = child.kill();
            break;
        }
        std::thread::sleep(Duration::from_millis(5));
    }
    let Output {
        status,
        stdout,
        stderr,
    } = child.wait_with_output().unwrap();
    (
        status.code().unwrap_or(-1),
        String::from_utf8_lossy(&stdout).into_owned(),
        String::from_utf8_lossy(&stderr).into_owned(),
    )
}

/// `virsh -c URI args...` (bounded to 30 s).
pub fn virsh(uri: &str, args: &[&str]) -> (i32, String, String) {
    run_bounded(Command::new("virsh").arg("-c").arg(uri).args(args), 30)
}

/// `virt-admin -c URI args...`.
pub fn virt_admin(uri: &str, args: &[&str]) -> (i32, String, String) {
    run_bounded(Command::new("virt-admin").arg("-c").arg(uri).args(args), 30)
}

/// Run a python3-libvirt script (with /usr/bin/python3) given as text; argv[1] is the URI.
pub fn python(script: &str, uri: &str) -> (i32, String, String) {
    run_bounded(
        Command::new("/usr/bin/python3")
            .arg("-c")
            .arg(script)
            .arg(uri),
        60,
    )
}
