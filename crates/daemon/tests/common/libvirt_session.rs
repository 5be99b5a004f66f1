//! Harness: Debian's C libvirtd 9.0 in session mode as the unprivileged user `oxvirt-test`, with
//! the real QEMU driver (TCG) and a tiny bootable guest, whose virtlogd (and, with the lockd lock
//! manager, virtlockd) is a binary the test chooses. Recipe B of reference-daemon.md.
//!
//! How the session C libvirtd finds its helpers (measured with Debian's 9.0, see the tests):
//! - It connects to `$XDG_RUNTIME_DIR/libvirt/virtlogd-sock` (`virtlockd-sock`); only when that
//!   fails with ENOENT/ECONNREFUSED does it spawn the daemon, once, then retries the connect every
//!   10 ms, 500 times (~5 s) before "Failed to connect socket to '...virtlogd-sock'".
//! - `VIRTLOGD_PATH` / `VIRTLOCKD_PATH` name a DIRECTORY: the binary spawned is
//!   `$VIRTLOGD_PATH/virtlogd` (`$VIRTLOCKD_PATH/virtlockd`); unset, `/usr/sbin/virtlogd`.
//! - The spawn: argv `<dir>/virtlogd --timeout=120`, env exactly `LC_ALL=C` plus whichever of
//!   PATH, HOME, USER, LOGNAME, TMPDIR, LD_PRELOAD, LD_LIBRARY_PATH, XDG_CACHE_HOME,
//!   XDG_CONFIG_HOME, XDG_RUNTIME_DIR libvirtd has, stdin/stdout/stderr /dev/null, cwd `/`,
//!   double-forked (its parent is PID 1, not libvirtd) and not waited for.
//!
//! Here `VIRTLOGD_PATH`/`VIRTLOCKD_PATH` point at `<base>/bin`, which holds small `/bin/sh`
//! wrappers: each records its spawn (pid, argv, env) in `<base>/diag/<daemon>.spawns`, sends the
//! daemon's stdout/stderr to `<base>/diag/<daemon>.stderr`, and `exec`s the chosen binary, so the
//! recorded pid is the daemon's and `/proc/<pid>/exe` is the chosen binary.
//!
//! Cleanup (Drop): destroy running guests, SIGTERM libvirtd, then SIGTERM/SIGKILL every process of
//! the test user whose environment or command line names this harness's base dir (that catches
//! the double-forked virtlogd/virtlockd and any QEMU), then remove the dirs. Set
//! `OXVIRT_TEST_KEEP=1` to keep the base dir (logs, diag) for a post-mortem.
#![allow(dead_code)]

use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

pub const LIBVIRTD: &str = "/usr/sbin/libvirtd";
pub const DRIVER_DIR: &str = "/usr/lib/x86_64-linux-gnu/libvirt/connection-driver";
pub const QEMU: &str = "/usr/bin/qemu-system-x86_64";
pub const TEST_USER: &str = "oxvirt-test";
pub const C_VIRTLOGD: &str = "/usr/sbin/virtlogd";
pub const C_VIRTLOCKD: &str = "/usr/sbin/virtlockd";

/// The unprivileged test user, created once and idempotently (as daemon_cli.rs does).
pub fn test_user() -> (u32, u32) {
    if nix::unistd::User::from_name(TEST_USER)
        .ok()
        .flatten()
        .is_none()
    {
        let _ = Command::new("useradd")
            .args([
                "--system",
                "--no-create-home",
                "--shell",
                "/usr/sbin/nologin",
                TEST_USER,
            ])
            .status();
    }
    let u = nix::unistd::User::from_name(TEST_USER)
        .unwrap()
        .expect("test user oxvirt-test (useradd failed?)");
    (u.uid.as_raw(), u.gid.as_raw())
}

/// Panic with an install hint when what these tests drive is missing.
pub fn require_prerequisites() {
    let mut missing = Vec::new();
    for (path, pkg) in [
        (LIBVIRTD, "libvirt-daemon"),
        ("/usr/bin/virsh", "libvirt-clients"),
        (QEMU, "qemu-system-x86"),
        ("/usr/bin/setpriv", "util-linux"),
        ("/usr/sbin/useradd", "passwd"),
    ] {
        if !Path::new(path).exists() {
            missing.push(format!("{path} ({pkg})"));
        }
    }
    if !Path::new(DRIVER_DIR)
        .join("libvirt_driver_qemu.so")
        .exists()
    {
        missing.push(format!(
            "{DRIVER_DIR}/libvirt_driver_qemu.so (libvirt-daemon-driver-qemu)"
        ));
    }
    assert!(
        missing.is_empty(),
        "missing for the session-libvirtd tests: {}",
        missing.join(", ")
    );
    assert!(
        nix::unistd::geteuid().is_root(),
        "the session-libvirtd tests run as root (they create and switch to the user {TEST_USER})"
    );
}

/// Kernel + initrd of the tiny guest (scripts/guest-assets.sh), or nothing (no boot device).
#[derive(Debug, Clone)]
pub struct GuestAssets {
    pub kernel: Option<PathBuf>,
    pub initrd: Option<PathBuf>,
    pub cmdline: String,
}

/// What the guest's /init prints first on its console.
pub const GUEST_UP: &str = "OXVIRT-GUEST-UP";

impl GuestAssets {
    /// Build (first time: `apt-get download`s the kernel and busybox-static) or reuse the cache
    /// `$OXVIRT_GUEST_CACHE` (default /var/cache/oxvirt-guest). If that fails (offline with no
    /// cache) this warns and falls back to [`GuestAssets::no_boot`], unless
    /// `OXVIRT_TEST_REQUIRE_GUEST=1`, which makes it panic instead.
    pub fn ensure() -> GuestAssets {
        let cache = std::env::var_os("OXVIRT_GUEST_CACHE")
            .map(PathBuf::from)
            .unwrap_or_else(|| PathBuf::from("/var/cache/oxvirt-guest"));
        let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../scripts/guest-assets.sh");
        let out = run_bounded(Command::new("bash").arg(&script).arg(&cache), 300);
        let ok = out.status.success()
            && cache.join("vmlinuz").exists()
            && cache.join("initrd.gz").exists();
        if !ok {
            let msg = format!(
                "{} {} failed: {}{}",
                script.display(),
                cache.display(),
                String::from_utf8_lossy(&out.stdout),
                String::from_utf8_lossy(&out.stderr)
            );
            if std::env::var("OXVIRT_TEST_REQUIRE_GUEST").as_deref() == Ok("1") {
                panic!("{msg}");
            }
            eprintln!("WARNING: no bootable guest, falling back to no boot device: {msg}");
            return GuestAssets::no_boot();
        }
        let cmdline = std::fs::read_to_string(cache.join("cmdline"))
            .map(|s| s.trim().to_string())
            .unwrap_or_else(|_| "console=ttyS0 quiet panic=-1".into());
        GuestAssets {
            kernel: Some(cache.join("vmlinuz")),
            initrd: Some(cache.join("initrd.gz")),
            cmdline,
        }
    }

    /// No kernel and no disk: QEMU still runs (SeaBIOS finds nothing to boot and retries); the
    /// logs then hold only libvirt's and QEMU's own lines.
    pub fn no_boot() -> GuestAssets {
        GuestAssets {
            kernel: None,
            initrd: None,
            cmdline: String::new(),
        }
    }

    pub fn bootable(&self) -> bool {
        self.kernel.is_some()
    }
}

/// How to start the session libvirtd.
#[derive(Debug, Clone)]
pub struct Options {
    /// The binary libvirtd spawns as virtlogd.
    pub virtlogd: PathBuf,
    /// The binary libvirtd spawns as virtlockd (the C one when None).
    pub virtlockd: Option<PathBuf>,
    /// `lock_manager = "lockd"` in the session qemu.conf.
    pub lockd: bool,
    /// Extra lines for `$XDG_CONFIG_HOME/libvirt/qemu.conf`.
    pub qemu_conf: String,
    /// Contents of `$XDG_CONFIG_HOME/libvirt/qemu-lockd.conf` (the lockd plugin's config), if any.
    pub qemu_lockd_conf: Option<String>,
    /// Contents of `$XDG_CONFIG_HOME/libvirt/virtlogd.conf` / `virtlockd.conf`, if any.
    pub virtlogd_conf: Option<String>,
    pub virtlockd_conf: Option<String>,
    /// Extra environment for the spawned virtlogd/virtlockd, set by the wrapper (libvirtd passes
    /// on only LC_ALL=C, PATH, HOME, XDG_*: e.g. RUST_LOG or RUST_BACKTRACE go here).
    pub daemon_env: Vec<(String, String)>,
    /// libvirtd's own debug log filters (LIBVIRT_LOG_FILTERS) for `<base>/diag/libvirtd.log`.
    pub libvirtd_log_filters: String,
}

impl Options {
    pub fn new(virtlogd: &Path, virtlockd: Option<&Path>, lockd: bool) -> Options {
        Options {
            virtlogd: virtlogd.to_path_buf(),
            virtlockd: virtlockd.map(Path::to_path_buf),
            lockd,
            qemu_conf: String::new(),
            qemu_lockd_conf: None,
            virtlogd_conf: None,
            virtlockd_conf: None,
            daemon_env: Vec::new(),
            libvirtd_log_filters: "1:rpc.netsocket 1:util.command 1:logging 1:locking 3:*".into(),
        }
    }
}

/// One spawn of virtlogd/virtlockd as recorded by the wrapper.
#[derive(Debug, Clone)]
pub struct Spawn {
    pub pid: u32,
    /// Arguments after argv[0].
    pub args: Vec<String>,
    /// The environment libvirtd gave it (before the wrapper's `daemon_env`).
    pub env: Vec<String>,
}

/// A running session-mode C libvirtd as the test user, in its own temp dir.
pub struct SessionLibvirtd {
    pub base: Option<tempfile::TempDir>,
    base_path: PathBuf,
    pub uid: u32,
    pub gid: u32,
    pub opts: Options,
    child: Option<Child>,
}

impl SessionLibvirtd {
    /// Start libvirtd with `virtlogd` (and `virtlockd`) as the helpers it spawns;
    /// `lockd` selects `lock_manager = "lockd"`.
    pub fn start(virtlogd: &Path, virtlockd: Option<&Path>, lockd: bool) -> SessionLibvirtd {
        Self::start_with(Options::new(virtlogd, virtlockd, lockd))
    }

    pub fn start_with(opts: Options) -> SessionLibvirtd {
        require_prerequisites();
        assert!(
            opts.virtlogd.exists(),
            "virtlogd binary {} does not exist",
            opts.virtlogd.display()
        );
        if let Some(l) = &opts.virtlockd {
            assert!(
                l.exists(),
                "virtlockd binary {} does not exist",
                l.display()
            );
        }
        let (uid, gid) = test_user();
        let base = tempfile::Builder::new()
            .prefix("oxvirt-session-")
            .tempdir()
            .unwrap();
        let b = base.path().to_path_buf();
        chmod(&b, 0o755);
        // Root-owned: driver modules and the spawn wrappers.
        std::fs::create_dir_all(b.join("drv")).unwrap();
        std::fs::create_dir_all(b.join("bin")).unwrap();
        chmod(&b.join("drv"), 0o755);
        chmod(&b.join("bin"), 0o755);
        for m in ["qemu", "storage", "secret", "network"] {
            let so = format!("libvirt_driver_{m}.so");
            std::os::unix::fs::symlink(Path::new(DRIVER_DIR).join(&so), b.join("drv").join(&so))
                .unwrap();
        }
        // User-owned: HOME, XDG_RUNTIME_DIR (0700 as a real one), files (images, XML), diag.
        for (d, mode) in [
            ("home", 0o700),
            ("xdg", 0o700),
            ("files", 0o755),
            ("diag", 0o755),
        ] {
            let p = b.join(d);
            std::fs::create_dir_all(&p).unwrap();
            chown(&p, uid, gid);
            chmod(&p, mode);
        }
        let h = SessionLibvirtd {
            base: Some(base),
            base_path: b.clone(),
            uid,
            gid,
            opts,
            child: None,
        };
        // Config and the domain log dir, as the user (the log dir must exist before the first
        // start when a <serial><log file=...> lives in it: the chardev log is opened first).
        h.mkdir_user(&h.config_dir());
        h.mkdir_user(&h.log_dir());
        let mut qemu_conf = String::new();
        if h.opts.lockd {
            qemu_conf.push_str("lock_manager = \"lockd\"\n");
        }
        qemu_conf.push_str(&h.opts.qemu_conf);
        h.write_user(&h.config_dir().join("qemu.conf"), &qemu_conf);
        for (name, conf) in [
            ("qemu-lockd.conf", &h.opts.qemu_lockd_conf),
            ("virtlogd.conf", &h.opts.virtlogd_conf),
            ("virtlockd.conf", &h.opts.virtlockd_conf),
        ] {
            if let Some(c) = conf {
                h.write_user(&h.config_dir().join(name), c);
            }
        }
        // The wrappers libvirtd spawns as $VIRTLOGD_PATH/virtlogd and $VIRTLOCKD_PATH/virtlockd.
        let lockd_bin = h
            .opts
            .virtlockd
            .clone()
            .unwrap_or_else(|| PathBuf::from(C_VIRTLOCKD));
        h.write_wrapper("virtlogd", &h.opts.virtlogd.clone());
        h.write_wrapper("virtlockd", &lockd_bin);
        for f in [
            "virtlogd.spawns",
            "virtlockd.spawns",
            "virtlogd.stderr",
            "virtlockd.stderr",
        ] {
            h.write_user(&b.join("diag").join(f), "");
        }
        let mut h = h;
        h.launch();
        h
    }

    fn launch(&mut self) {
        let b = self.base_path.clone();
        let mut cmd = self.user_command(LIBVIRTD);
        cmd.env("LIBVIRT_DRIVER_DIR", b.join("drv"))
            .env("VIRTLOGD_PATH", b.join("bin"))
            .env("VIRTLOCKD_PATH", b.join("bin"))
            .env("LIBVIRT_LOG_FILTERS", &self.opts.libvirtd_log_filters)
            .env(
                "LIBVIRT_LOG_OUTPUTS",
                format!("1:file:{}", b.join("diag/libvirtd.log").display()),
            )
            .stdin(Stdio::null())
            .stdout(Stdio::from(
                std::fs::File::create(b.join("diag/libvirtd.stdout")).unwrap(),
            ))
            .stderr(Stdio::from(
                std::fs::File::create(b.join("diag/libvirtd.stderr")).unwrap(),
            ));
        std::os::unix::process::CommandExt::process_group(&mut cmd, 0);
        self.child = Some(cmd.spawn().expect("spawn setpriv libvirtd"));
        let sock = self.sock();
        let t0 = Instant::now();
        loop {
            if std::os::unix::net::UnixStream::connect(&sock).is_ok() {
                break;
            }
            if let Some(st) = self.child.as_mut().unwrap().try_wait().unwrap() {
                panic!("libvirtd exited early ({st}):\n{}", self.diagnostics());
            }
            assert!(
                t0.elapsed() < Duration::from_secs(30),
                "libvirtd did not create {}:\n{}",
                sock.display(),
                self.diagnostics()
            );
            std::thread::sleep(Duration::from_millis(20));
        }
        // The QEMU driver is ready once a qemu:///session call answers.
        let out = self.virsh(&["version"]);
        assert!(
            out.status.success(),
            "virsh version failed: {}\n{}",
            String::from_utf8_lossy(&out.stderr),
            self.diagnostics()
        );
    }

    // ---- paths ---------------------------------------------------------------------------------

    pub fn base(&self) -> &Path {
        &self.base_path
    }
    pub fn home(&self) -> PathBuf {
        self.base_path.join("home")
    }
    pub fn xdg_runtime_dir(&self) -> PathBuf {
        self.base_path.join("xdg")
    }
    /// `$XDG_RUNTIME_DIR/libvirt`: libvirt-sock, virtlogd-sock, virtlockd-sock, pid files.
    pub fn run_dir(&self) -> PathBuf {
        self.xdg_runtime_dir().join("libvirt")
    }
    pub fn config_home(&self) -> PathBuf {
        self.home().join(".config")
    }
    pub fn cache_home(&self) -> PathBuf {
        self.home().join(".cache")
    }
    /// `$XDG_CONFIG_HOME/libvirt`: qemu.conf, qemu-lockd.conf, virtlogd.conf, virtlockd.conf.
    pub fn config_dir(&self) -> PathBuf {
        self.config_home().join("libvirt")
    }
    /// User-owned dir for disk images and domain XML.
    pub fn files_dir(&self) -> PathBuf {
        self.base_path.join("files")
    }
    pub fn diag_dir(&self) -> PathBuf {
        self.base_path.join("diag")
    }
    pub fn sock(&self) -> PathBuf {
        self.run_dir().join("libvirt-sock")
    }
    pub fn virtlogd_sock(&self) -> PathBuf {
        self.run_dir().join("virtlogd-sock")
    }
    pub fn virtlockd_sock(&self) -> PathBuf {
        self.run_dir().join("virtlockd-sock")
    }
    pub fn uri(&self) -> String {
        format!("qemu+unix:///session?socket={}", self.sock().display())
    }
    /// `$XDG_CACHE_HOME/libvirt/qemu/log`.
    pub fn log_dir(&self) -> PathBuf {
        self.cache_home().join("libvirt/qemu/log")
    }
    /// The domain log: libvirt's start-up/shut-down lines and QEMU's stdout/stderr, via virtlogd.
    pub fn log_path(&self, name: &str) -> PathBuf {
        self.log_dir().join(format!("{name}.log"))
    }
    /// The guest's serial console log (`<serial type='pty'><log file=...>`), via virtlogd too.
    pub fn console_log_path(&self, name: &str) -> PathBuf {
        self.log_dir().join(format!("{name}-console.log"))
    }

    // ---- running things as the user --------------------------------------------------------------

    /// `program` as the test user (setpriv) with the session environment and nothing else.
    pub fn user_command(&self, program: &str) -> Command {
        let mut c = Command::new("setpriv");
        c.arg(format!("--reuid={}", self.uid))
            .arg(format!("--regid={}", self.gid))
            .arg("--clear-groups")
            .arg(program)
            .env_clear()
            .env("PATH", "/usr/sbin:/usr/bin:/bin")
            .env("HOME", self.home())
            .env("XDG_RUNTIME_DIR", self.xdg_runtime_dir())
            .env("XDG_CONFIG_HOME", self.config_home())
            .env("XDG_CACHE_HOME", self.cache_home())
            .current_dir(self.base());
        c
    }

    /// `virsh -c <uri> args...` as the user, bounded to 60 s (never autospawns a daemon).
    pub fn virsh(&self, args: &[&str]) -> Output {
        let mut c = self.user_command("virsh");
        c.env("LIBVIRT_AUTOSTART", "0")
            .arg("-c")
            .arg(self.uri())
            .args(args);
        run_bounded(&mut c, 60)
    }

    /// `virsh` that must succeed; returns its stdout.
    pub fn virsh_ok(&self, args: &[&str]) -> String {
        let out = self.virsh(args);
        assert!(
            out.status.success(),
            "virsh {args:?} failed: {}{}\n{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr),
            self.diagnostics()
        );
        String::from_utf8_lossy(&out.stdout).into_owned()
    }

    fn mkdir_user(&self, p: &Path) {
        let out = run_bounded(self.user_command("mkdir").arg("-p").arg(p), 10);
        assert!(out.status.success(), "mkdir -p {} as the user", p.display());
    }

    /// Write a file owned by the user (mode 0644).
    pub fn write_user(&self, p: &Path, contents: &str) {
        std::fs::write(p, contents).unwrap();
        chown(p, self.uid, self.gid);
        chmod(p, 0o644);
    }

    fn write_wrapper(&self, name: &str, target: &Path) {
        let diag = self.diag_dir();
        let mut exports = String::new();
        for (k, v) in &self.opts.daemon_env {
            exports.push_str(&format!("export {k}={}\n", sh_quote(v)));
        }
        let script = format!(
            "#!/bin/sh\n\
             # Spawned by libvirtd as $VIRTxxxD_PATH/{name}: record, then become {target}.\n\
             {{ echo \"=== spawn pid=$$\"; for a in \"$@\"; do echo \"arg: $a\"; done; \
             env | grep -v '^PWD=' | LC_ALL=C sort | sed 's/^/env: /'; }} >> {spawns} 2>/dev/null\n\
             {exports}\
             exec {target} \"$@\" >> {stderr} 2>&1\n",
            target = sh_quote(&target.display().to_string()),
            spawns = sh_quote(&diag.join(format!("{name}.spawns")).display().to_string()),
            stderr = sh_quote(&diag.join(format!("{name}.stderr")).display().to_string()),
        );
        let p = self.base_path.join("bin").join(name);
        std::fs::write(&p, script).unwrap();
        chmod(&p, 0o755);
    }

    // ---- guests ----------------------------------------------------------------------------------

    /// A small file-backed raw disk image in files/, owned by the user.
    pub fn create_disk(&self, name: &str, size: u64) -> PathBuf {
        let p = self.files_dir().join(name);
        let f = std::fs::File::create(&p).unwrap();
        f.set_len(size).unwrap();
        chown(&p, self.uid, self.gid);
        chmod(&p, 0o600);
        p
    }

    /// The domain XML: TCG, 192 MiB, the assets' kernel/initrd (if any), `disk` as a writable
    /// virtio disk (if any), serial console on a pty logged to [`Self::console_log_path`].
    pub fn domain_xml(&self, name: &str, assets: &GuestAssets, disk: Option<&Path>) -> String {
        let mut os = String::from("<type arch='x86_64' machine='pc'>hvm</type>");
        if let (Some(k), Some(i)) = (&assets.kernel, &assets.initrd) {
            os.push_str(&format!(
                "<kernel>{}</kernel><initrd>{}</initrd><cmdline>{}</cmdline>",
                xml_escape(&k.display().to_string()),
                xml_escape(&i.display().to_string()),
                xml_escape(&assets.cmdline)
            ));
        }
        let disk = disk
            .map(|d| {
                format!(
                    "<disk type='file' device='disk'><driver name='qemu' type='raw'/>\
                     <source file='{}'/><target dev='vda' bus='virtio'/></disk>",
                    xml_escape(&d.display().to_string())
                )
            })
            .unwrap_or_default();
        format!(
            "<domain type='qemu'>\n  <name>{name}</name>\n  <memory unit='MiB'>192</memory>\n  \
             <vcpu>1</vcpu>\n  <os>{os}</os>\n  <on_poweroff>destroy</on_poweroff>\n  \
             <on_reboot>destroy</on_reboot>\n  <on_crash>destroy</on_crash>\n  <devices>\n    \
             <emulator>{QEMU}</emulator>\n    {disk}\n    <serial type='pty'><log file='{console}' \
             append='off'/><target port='0'/></serial>\n    <memballoon model='none'/>\n  \
             </devices>\n</domain>\n",
            console = xml_escape(&self.console_log_path(name).display().to_string()),
        )
    }

    /// `virsh define` (must succeed).
    pub fn define_guest(&self, name: &str, assets: &GuestAssets, disk: Option<&Path>) {
        let xml = self.files_dir().join(format!("{name}.xml"));
        self.write_user(&xml, &self.domain_xml(name, assets, disk));
        self.virsh_ok(&["define", &xml.display().to_string()]);
    }

    /// `virsh start NAME` (the caller checks the outcome).
    pub fn start_guest(&self, name: &str) -> Output {
        self.virsh(&["start", name])
    }

    /// Define, then start; returns the start's output (the caller checks it).
    pub fn define_and_start_guest(
        &self,
        name: &str,
        assets: &GuestAssets,
        disk: Option<&Path>,
    ) -> Output {
        self.define_guest(name, assets, disk);
        self.start_guest(name)
    }

    pub fn destroy_guest(&self, name: &str) -> Output {
        self.virsh(&["destroy", name])
    }

    /// QEMU's pid from `$XDG_RUNTIME_DIR/libvirt/qemu/run/<name>.pid` while it runs.
    pub fn qemu_pid(&self, name: &str) -> Option<u32> {
        let p = self.run_dir().join(format!("qemu/run/{name}.pid"));
        let pid = std::fs::read_to_string(p).ok()?.trim().parse().ok()?;
        alive(pid).then_some(pid)
    }

    // ---- the helpers libvirtd spawned --------------------------------------------------------------

    /// Every spawn of `daemon` ("virtlogd" or "virtlockd") the wrapper recorded, oldest first.
    pub fn spawns(&self, daemon: &str) -> Vec<Spawn> {
        let text = std::fs::read_to_string(self.diag_dir().join(format!("{daemon}.spawns")))
            .unwrap_or_default();
        let mut out: Vec<Spawn> = Vec::new();
        for line in text.lines() {
            if let Some(pid) = line.strip_prefix("=== spawn pid=") {
                out.push(Spawn {
                    pid: pid.trim().parse().unwrap_or(0),
                    args: Vec::new(),
                    env: Vec::new(),
                });
            } else if let Some(s) = out.last_mut() {
                if let Some(a) = line.strip_prefix("arg: ") {
                    s.args.push(a.to_string());
                } else if let Some(e) = line.strip_prefix("env: ") {
                    s.env.push(e.to_string());
                }
            }
        }
        out
    }

    /// The pid of the live process libvirtd spawned as `daemon`, if any.
    pub fn daemon_pid(&self, daemon: &str) -> Option<u32> {
        self.spawns(daemon)
            .iter()
            .rev()
            .map(|s| s.pid)
            .find(|&p| alive(p))
    }

    /// Wait (bounded) until libvirtd has spawned `daemon` and it is alive; returns its pid.
    pub fn wait_daemon_pid(&self, daemon: &str, timeout: Duration) -> u32 {
        let t0 = Instant::now();
        loop {
            if let Some(p) = self.daemon_pid(daemon) {
                return p;
            }
            assert!(
                t0.elapsed() < timeout,
                "no live {daemon} spawned by libvirtd after {timeout:?}:\n{}",
                self.diagnostics()
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// Poll `path` (bounded) until it contains `needle`; returns the contents.
    pub fn wait_for_log(&self, path: &Path, needle: &str, timeout: Duration) -> String {
        let t0 = Instant::now();
        loop {
            let s = std::fs::read(path)
                .map(|b| String::from_utf8_lossy(&b).into_owned())
                .unwrap_or_default();
            if s.contains(needle) {
                return s;
            }
            if t0.elapsed() > timeout {
                panic!(
                    "{} does not contain {needle:?} after {timeout:?}; it holds:\n{}\n{}",
                    path.display(),
                    tail(&s, 3000),
                    self.diagnostics()
                );
            }
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    /// libvirtd's stderr, the wrappers' records and the helpers' output, for failure messages.
    pub fn diagnostics(&self) -> String {
        let mut s = String::new();
        let d = self.diag_dir();
        for f in [
            "libvirtd.stderr",
            "virtlogd.spawns",
            "virtlogd.stderr",
            "virtlockd.spawns",
            "virtlockd.stderr",
        ] {
            let t = std::fs::read_to_string(d.join(f)).unwrap_or_default();
            if !t.is_empty() {
                s.push_str(&format!("--- {f}\n{}\n", tail(&t, 2500)));
            }
        }
        s.push_str(&format!(
            "--- (more in {}; OXVIRT_TEST_KEEP=1 keeps it)\n",
            d.display()
        ));
        s
    }

    // ---- teardown ----------------------------------------------------------------------------------

    /// Processes of the test user that belong to this harness (libvirtd, the virtlogd/virtlockd
    /// it spawned, QEMU): their environment or command line names the base dir. Zombies excluded.
    pub fn our_processes(&self) -> Vec<u32> {
        let needle = self.base_path.display().to_string().into_bytes();
        let mut out = Vec::new();
        let Ok(rd) = std::fs::read_dir("/proc") else {
            return out;
        };
        for e in rd.flatten() {
            let Some(pid) = e.file_name().to_str().and_then(|s| s.parse::<u32>().ok()) else {
                continue;
            };
            if !alive(pid) || proc_uid(pid) != Some(self.uid) {
                continue;
            }
            let hit = ["environ", "cmdline"].iter().any(|f| {
                std::fs::read(format!("/proc/{pid}/{f}"))
                    .map(|b| b.windows(needle.len()).any(|w| w == needle.as_slice()))
                    .unwrap_or(false)
            });
            if hit {
                out.push(pid);
            }
        }
        out
    }

    /// Destroy every running guest, stop libvirtd and everything it spawned. Idempotent.
    pub fn shutdown(&mut self) {
        if let Some(child) = self.child.as_mut() {
            if child.try_wait().ok().flatten().is_none() {
                let out = self.virsh(&["list", "--name"]);
                for name in String::from_utf8_lossy(&out.stdout).lines() {
                    let name = name.trim();
                    if !name.is_empty() {
                        let _ = self.virsh(&["destroy", name]);
                    }
                }
            }
        }
        if let Some(mut child) = self.child.take() {
            signal(child.id(), nix::sys::signal::Signal::SIGTERM);
            let t0 = Instant::now();
            while t0.elapsed() < Duration::from_secs(10) {
                if let Ok(Some(_)) = child.try_wait() {
                    break;
                }
                std::thread::sleep(Duration::from_millis(20));
            }
            let _ = child.kill();
            let _ = child.wait();
        }
        for sig in [
            nix::sys::signal::Signal::SIGTERM,
            nix::sys::signal::Signal::SIGKILL,
        ] {
            let pids = self.our_processes();
            if pids.is_empty() {
                return;
            }
            for &p in &pids {
                signal(p, sig);
            }
            let t0 = Instant::now();
            while t0.elapsed() < Duration::from_secs(5) && pids.iter().any(|&p| alive(p)) {
                std::thread::sleep(Duration::from_millis(20));
            }
        }
        let left = self.our_processes();
        assert!(
            left.is_empty() || std::thread::panicking(),
            "processes left: {left:?}"
        );
    }
}

impl Drop for SessionLibvirtd {
    fn drop(&mut self) {
        if std::thread::panicking() {
            eprintln!("session libvirtd diagnostics:\n{}", self.diagnostics());
        }
        self.shutdown();
        if std::env::var("OXVIRT_TEST_KEEP").as_deref() == Ok("1") {
            if let Some(b) = self.base.take() {
                eprintln!("keeping {}", b.keep().display());
            }
        }
    }
}

// ---- small helpers ---------------------------------------------------------------------------------

/// Run a command with a time bound (killed after `secs`); returns its output.
pub fn run_bounded(cmd: &mut Command, secs: u64) -> Output {
    let mut child = cmd
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn");
    // Drain the pipes in threads so a chatty child cannot block on a full pipe.
    let mut so = child.stdout.take().unwrap();
    let mut se = child.stderr.take().unwrap();
    let ho = std::thread::spawn(move || {
        let mut v = Vec::new();
        let _ = std::io::Read::read_to_end(&mut so, &mut v);
        v
    });
    let he = std::thread::spawn(move || {
        let mut v = Vec::new();
        let _ = std::io::Read::read_to_end(&mut se, &mut v);
        v
    });
    let t0 = Instant::now();
    let status = loop {
        if let Ok(Some(st)) = child.try_wait() {
            break st;
        }
        if t0.elapsed() > Duration::from_secs(secs) {
            let _ = child.kill();
            break child.wait().unwrap();
        }
        std::thread::sleep(Duration::from_millis(5));
    };
    Output {
        status,
        stdout: ho.join().unwrap_or_default(),
        stderr: he.join().unwrap_or_default(),
    }
}

/// Alive and not a zombie. (The double-forked helpers are reparented to PID 1, which may reap
/// them late.)
pub fn alive(pid: u32) -> bool {
    match std::fs::read_to_string(format!("/proc/{pid}/stat")) {
        Ok(s) => {
            let state = s
                .rsplit_once(')')
                .and_then(|(_, rest)| rest.split_whitespace().next())
                .unwrap_or("");
            state != "Z" && state != "X"
        }
        Err(_) => false,
    }
}

fn proc_uid(pid: u32) -> Option<u32> {
    let s = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    let line = s.lines().find(|l| l.starts_with("Uid:"))?;
    line.split_whitespace().nth(1)?.parse().ok()
}

/// The binary a process runs (`/proc/<pid>/exe`).
pub fn exe_of(pid: u32) -> Option<PathBuf> {
    std::fs::read_link(format!("/proc/{pid}/exe")).ok()
}

/// The `pipe:[N]`/`socket:[N]` object behind fd `fd` of `pid`.
pub fn fd_target(pid: u32, fd: u32) -> Option<String> {
    std::fs::read_link(format!("/proc/{pid}/fd/{fd}"))
        .ok()
        .map(|p| p.display().to_string())
}

/// Every fd target of `pid`.
pub fn fd_targets(pid: u32) -> Vec<String> {
    std::fs::read_dir(format!("/proc/{pid}/fd"))
        .map(|rd| {
            rd.flatten()
                .filter_map(|e| std::fs::read_link(e.path()).ok())
                .map(|p| p.display().to_string())
                .collect()
        })
        .unwrap_or_default()
}

/// The POSIX (fcntl) locks `pid` holds on inode `ino`, as lines of /proc/locks.
pub fn posix_locks(pid: u32, ino: u64) -> Vec<String> {
    let text = std::fs::read_to_string("/proc/locks").unwrap_or_default();
    text.lines()
        .filter(|l| {
            let f: Vec<&str> = l.split_whitespace().collect();
            // "1: POSIX  ADVISORY  WRITE 1234 08:01:5678 0 0"
            f.len() >= 6
                && f[1] == "POSIX"
                && f[4] == pid.to_string()
                && f[5].rsplit(':').next() == Some(ino.to_string().as_str())
        })
        .map(str::to_string)
        .collect()
}

fn signal(pid: u32, sig: nix::sys::signal::Signal) {
    let _ = nix::sys::signal::kill(nix::unistd::Pid::from_raw(pid as i32), sig);
}

fn chmod(p: &Path, mode: u32) {
    std::fs::set_permissions(p, std::fs::Permissions::from_mode(mode)).unwrap();
}

fn chown(p: &Path, uid: u32, gid: u32) {
    nix::unistd::chown(p, Some(uid.into()), Some(gid.into())).unwrap();
}

fn sh_quote(s: &str) -> String {
    format!("'{}'", s.replace('\'', "'\\''"))
}

fn xml_escape(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('\'', "&apos;")
        .replace('"', "&quot;")
}

fn tail(s: &str, n: usize) -> &str {
    if s.len() <= n {
        return s;
    }
    let mut i = s.len() - n;
    while !s.is_char_boundary(i) {
        i += 1;
    }
    &s[i..]
}
