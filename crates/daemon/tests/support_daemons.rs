//! virtlogd and virtlockd, black-box: our binaries and Debian's C ones started the same way
//! (session mode as the unprivileged user `oxvirt-test`, sockets in a temp
//! `$XDG_RUNTIME_DIR`), driven over their real sockets by tools/virtrpc.py run as that user.
//! Differential where libvirt's behaviour is observable (replies, errors, rotated files);
//! ours alone for the live re-exec (SIGUSR1) guarantees: no byte lost, no client reconnecting,
//! no lock dropped.

mod common;

use common::run_bounded;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

const C_VIRTLOGD: &str = "/usr/sbin/virtlogd";
const C_VIRTLOCKD: &str = "/usr/sbin/virtlockd";

fn ours(name: &str) -> PathBuf {
    match name {
        "virtlogd" => PathBuf::from(env!("CARGO_BIN_EXE_virtlogd")),
        _ => PathBuf::from(env!("CARGO_BIN_EXE_virtlockd")),
    }
}

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

/// A session-mode daemon (virtlogd or virtlockd) of the test user, in its own temp dirs.
struct Session {
    base: tempfile::TempDir,
    uid: u32,
    gid: u32,
    name: &'static str,
    child: Option<Child>,
}

impl Session {
    /// Start `bin` as daemon `name` with `conf` as its config file.
    fn start(bin: &Path, name: &'static str, conf: &str, args: &[&str]) -> Session {
        let (uid, gid) = session_user();
        let base = tempfile::Builder::new()
            .prefix("oxvirt-support-")
            .tempdir()
            .unwrap();
        std::fs::set_permissions(base.path(), std::fs::Permissions::from_mode(0o755)).unwrap();
        let s = Session {
            base,
            uid,
            gid,
            name,
            child: None,
        };
        for d in [
            s.xdg(),
            s.home(),
            s.home().join("logs"),
            s.home().join("locks"),
        ] {
            std::fs::create_dir_all(&d).unwrap();
            nix::unistd::chown(&d, Some(uid.into()), Some(gid.into())).unwrap();
            std::fs::set_permissions(&d, std::fs::Permissions::from_mode(0o700)).unwrap();
        }
        std::fs::copy(
            Path::new(env!("CARGO_MANIFEST_DIR")).join("../../tools/virtrpc.py"),
            s.base.path().join("virtrpc.py"),
        )
        .unwrap();
        std::fs::set_permissions(
            s.base.path().join("virtrpc.py"),
            std::fs::Permissions::from_mode(0o644),
        )
        .unwrap();
        let conf_path = s.base.path().join(format!("{name}.conf"));
        std::fs::write(
            &conf_path,
            format!(
                "log_level = 2\nlog_outputs = \"2:file:{}\"\n{conf}\n",
                s.base.path().join("daemon.log").display()
            ),
        )
        .unwrap();
        std::fs::write(s.base.path().join("daemon.log"), "").unwrap();
        nix::unistd::chown(
            &s.base.path().join("daemon.log"),
            Some(uid.into()),
            Some(gid.into()),
        )
        .unwrap();
        let mut cmd = s.as_user(bin);
        cmd.arg("-f").arg(&conf_path).args(args);
        let mut s = s;
        s.child = Some(
            cmd.stdin(Stdio::null())
                .stdout(Stdio::null())
                .stderr(Stdio::from(
                    std::fs::File::create(s.base.path().join("stderr")).unwrap(),
                ))
                .spawn()
                .expect("start daemon"),
        );
        s.wait_ready();
        s
    }

    fn xdg(&self) -> PathBuf {
        self.base.path().join("xdg")
    }
    fn home(&self) -> PathBuf {
        self.base.path().join("home")
    }
    fn sock(&self) -> PathBuf {
        self.xdg().join(format!("libvirt/{}-sock", self.name))
    }
    fn admin_sock(&self) -> PathBuf {
        self.xdg().join(format!("libvirt/{}-admin-sock", self.name))
    }
    fn state_file(&self) -> PathBuf {
        self.xdg()
            .join(format!("libvirt/{}-restart-exec.json", self.name))
    }
    fn log(&self) -> String {
        std::fs::read_to_string(self.base.path().join("daemon.log")).unwrap_or_default()
            + &std::fs::read_to_string(self.base.path().join("stderr")).unwrap_or_default()
    }
    fn pid(&self) -> i32 {
        self.child.as_ref().unwrap().id() as i32
    }

    /// A command run as the test user with the session environment.
    fn as_user(&self, program: &Path) -> Command {
        let mut c = Command::new("setpriv");
        c.arg(format!("--reuid={}", self.uid))
            .arg(format!("--regid={}", self.gid))
            .arg("--clear-groups")
            .arg(program)
            .env_clear()
            .env("PATH", "/usr/sbin:/usr/bin:/bin")
            .env("HOME", self.home())
            .env("XDG_RUNTIME_DIR", self.xdg())
            .env("XDG_CONFIG_HOME", self.home().join(".config"))
            .env("XDG_CACHE_HOME", self.home().join(".cache"))
            .env("PYTHONPATH", self.base.path())
            .env("PYTHONDONTWRITEBYTECODE", "1");
        c
    }

    /// Run a python script (text) as the user; argv[1] = socket, argv[2] = home, then `args`.
    fn python(&self, script: &str, args: &[&str]) -> (i32, String, String) {
        let mut c = self.as_user(Path::new("/usr/bin/python3"));
        c.arg("-c")
            .arg(script)
            .arg(self.sock())
            .arg(self.home())
            .args(args);
        run_bounded(&mut c, 60)
    }

    /// Wait until the main socket answers (bounded).
    fn wait_ready(&self) {
        let t0 = Instant::now();
        while t0.elapsed() < Duration::from_secs(20) {
            if std::os::unix::net::UnixStream::connect(self.sock()).is_ok() {
                return;
            }
            std::thread::sleep(Duration::from_millis(10));
        }
        panic!("{} did not start: {}", self.name, self.log());
    }

    /// SIGUSR1, then wait until the re-executed process logs that it is serving again.
    fn reexec(&self, nth: usize) {
        nix::sys::signal::kill(
            nix::unistd::Pid::from_raw(self.pid()),
            nix::sys::signal::Signal::SIGUSR1,
        )
        .unwrap();
        let t0 = Instant::now();
        while t0.elapsed() < Duration::from_secs(20) {
            if self.log().matches("restarted in place").count() >= nth {
                return;
            }
            std::thread::sleep(Duration::from_millis(10));
        }
        panic!("re-exec #{nth} did not complete: {}", self.log());
    }

    fn stop(&mut self) -> Option<i32> {
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

impl Drop for Session {
    fn drop(&mut self) {
        self.stop();
    }
}

/// Replace every inode number (which differs between runs) by a placeholder.
fn normalize(out: &str, home: &Path) -> String {
    out.replace(&home.display().to_string(), "HOME")
        .lines()
        .map(|l| match l.split_once("inode=") {
            Some((a, rest)) => {
                let tail = rest.trim_start_matches(|c: char| c.is_ascii_digit());
                format!("{a}inode=N{tail}")
            }
            None => l.to_string(),
        })
        .collect::<Vec<_>>()
        .join("\n")
}

const LOG_PROTOCOL: &str = r#"
import os, sys, time, stat
from virtrpc import LogClient, RpcError
sock, home = sys.argv[1], sys.argv[2]
log = home + "/logs/guest.log"
c = LogClient(sock)
def show(what, f):
    try:
        print(what, repr(f()))
    except RpcError as e:
        print(what, "error", e.code, e.domain, e.message)
pos, fd = c.open_log(log)
print("open", pos[1], "inode=%d" % pos[0], "fdtype", stat.S_ISFIFO(os.fstat(fd).st_mode))
os.write(fd, b"line one\nline two\n")
p = c.position(log)
print("position", p[1], "inode=%d" % p[0])
show("read", lambda: c.read(log, (p[0], 0), 100))
show("read-5", lambda: c.read(log, (p[0], 5), 6))
show("append", lambda: c.append(log, "appended\n"))
show("append-other", lambda: c.append(home + "/logs/other.log", "x\n"))
show("position-after-append", lambda: c.position(log)[1])
show("second-open", lambda: c.open_log(log)[0][1])
show("read-too-much", lambda: c.read(log, (p[0], 0), 4194305))
show("position-unknown", lambda: c.position(home + "/logs/none.log")[1])
show("read-unknown", lambda: c.read(home + "/logs/none.log", (0, 0), 10))
show("bad-flags", lambda: c.call(2, b"\0\0\0\0" + b"\0\0\0\x08"))
os.close(fd)
for _ in range(200):
    try:
        c.open_log(log, flags=1)  # TRUNCATE, once the first pipe is closed
        break
    except RpcError:
        time.sleep(0.01)
print("after-truncate", c.position(log)[1])
print("mode", oct(os.stat(log).st_mode & 0o777))
print("files", sorted(os.listdir(home + "/logs")))
"#;

#[test]
fn virtlogd_protocol_matches_the_reference() {
    let mut outs = Vec::new();
    for bin in [ours("virtlogd"), PathBuf::from(C_VIRTLOGD)] {
        let s = Session::start(&bin, "virtlogd", "", &[]);
        let (rc, out, err) = s.python(LOG_PROTOCOL, &[]);
        assert_eq!(rc, 0, "{bin:?}: {out}\n{err}\n{}", s.log());
        outs.push(normalize(&out, &s.home()));
    }
    assert_eq!(outs[0], outs[1], "ours (left) vs C virtlogd (right)");
    assert!(outs[0].contains("'line one\\nline two\\n'"), "{}", outs[0]);
}

const LOG_ROTATION: &str = r#"
import os, sys
from virtrpc import LogClient
sock, home = sys.argv[1], sys.argv[2]
log = home + "/logs/rot.log"
c = LogClient(sock)
pos, fd = c.open_log(log)
lines = [("%03d " % i + "x" * (i * 7 % 61) + "\n").encode() for i in range(120)]
for i, l in enumerate(lines):
    if i % 3 == 0:
        c.append(log, l.decode())
    else:
        os.write(fd, l)
        c.position(log)  # drains the pipe: one write per line, as appends are
big = b"B" * 700 + b"\n" + b"C" * 400  # crosses max_size with a newline near the cut
os.write(fd, big)
c.position(log)
os.close(fd)
for name in sorted(os.listdir(home + "/logs")):
    data = open(home + "/logs/" + name, "rb").read()
    print(name, len(data), data[:12], data[-12:])
"#;

#[test]
fn virtlogd_rotation_matches_the_reference() {
    let conf = "max_size = 1000\nmax_backups = 3\n";
    let mut outs = Vec::new();
    for bin in [ours("virtlogd"), PathBuf::from(C_VIRTLOGD)] {
        let s = Session::start(&bin, "virtlogd", conf, &[]);
        let (rc, out, err) = s.python(LOG_ROTATION, &[]);
        assert_eq!(rc, 0, "{bin:?}: {out}\n{err}\n{}", s.log());
        outs.push(out);
    }
    assert_eq!(outs[0], outs[1], "ours (left) vs C virtlogd (right)");
    assert_eq!(outs[0].lines().count(), 4, "base + 3 backups: {}", outs[0]);
}

const LOG_FLOOD: &str = r#"
import os, sys, time, errno
from virtrpc import LogClient
sock, home, started, stop = sys.argv[1], sys.argv[2], sys.argv[3], sys.argv[4]
log = home + "/logs/flood.log"
c = LogClient(sock)
pos, fd = c.open_log(log)
open(started, "w").close()
n, epipe, t0 = 0, 0, time.time()
batch = 2000
while time.time() - t0 < 30:
    buf = b"".join(b"%09d\n" % i for i in range(n, n + batch))
    try:
        os.write(fd, buf)  # blocking: a full pipe waits, it never fails while the daemon lives
    except OSError as e:
        if e.errno == errno.EPIPE:
            epipe += 1
        raise
    n += batch
    time.sleep(0.005)  # ~4 MB/s: the restarts happen while data flows
    if os.path.exists(stop) and n >= 400000:
        break
# The same connection, opened before every restart, still answers.
p = c.position(log)
os.close(fd)
print("lines", n, "epipe", epipe, "offset", p[1])
"#;

/// A writer floods a pipe from DOMAIN_OPEN_LOG_FILE while virtlogd re-executes itself five
/// times: every byte arrives, in order, across rotations; the writer never sees EPIPE; the
/// client's connection is the same one throughout.
#[test]
fn virtlogd_reexec_loses_no_byte() {
    let s = Session::start(
        &ours("virtlogd"),
        "virtlogd",
        "max_size = 524288\nmax_backups = 32\n",
        &[],
    );
    let pid = s.pid();
    let started = s.home().join("started");
    let stop = s.home().join("stop");
    let mut py = s.as_user(Path::new("/usr/bin/python3"));
    py.arg("-c")
        .arg(LOG_FLOOD)
        .arg(s.sock())
        .arg(s.home())
        .arg(&started)
        .arg(&stop)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let writer = py.spawn().unwrap();
    let t0 = Instant::now();
    while !started.exists() && t0.elapsed() < Duration::from_secs(20) {
        std::thread::sleep(Duration::from_millis(5));
    }
    assert!(started.exists(), "writer did not start: {}", s.log());
    for i in 1..=5 {
        std::thread::sleep(Duration::from_millis(150));
        s.reexec(i);
    }
    std::fs::write(&stop, "").unwrap();
    let out = writer.wait_with_output().unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{stdout}\n{}\n{}",
        String::from_utf8_lossy(&out.stderr),
        s.log()
    );
    assert_eq!(s.pid(), pid);
    assert!(!s.state_file().exists());
    let words: Vec<&str> = stdout.split_whitespace().collect();
    let n: usize = words[1].parse().unwrap();
    assert_eq!(words[3], "0", "EPIPE seen: {stdout}");

    // Concatenate oldest backup .. base and check the sequence.
    let logs = s.home().join("logs");
    let mut files: Vec<(u32, PathBuf)> = std::fs::read_dir(&logs)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter_map(|p| {
            let name = p.file_name()?.to_str()?.to_string();
            if name == "flood.log" {
                Some((u32::MAX, p))
            } else {
                name.strip_prefix("flood.log.")?
                    .parse::<u32>()
                    .ok()
                    .map(|k| (k, p))
            }
        })
        .collect();
    assert!(files.len() > 3, "rotated: {files:?}");
    // .N is older than .N-1; base is newest.
    files.sort_by_key(|(k, _)| std::cmp::Reverse(if *k == u32::MAX { 0 } else { *k + 1 }));
    let mut all = Vec::new();
    for (_, p) in &files {
        all.extend(std::fs::read(p).unwrap());
        let mode = std::fs::metadata(p).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o600, "{p:?}");
    }
    assert_eq!(all.len(), n * 10, "bytes in the log files");
    for (i, line) in all.chunks(10).enumerate() {
        assert_eq!(
            line,
            format!("{i:09}\n").as_bytes(),
            "line {i} out of order or lost"
        );
    }
    assert_eq!(s.log().matches("restarted in place").count(), 5);
}

/// A state file left by a crash (its magic is another pid) is ignored with a warning and
/// removed; the daemon starts normally.
#[test]
fn stale_restart_state_is_ignored() {
    let (uid, gid) = session_user();
    // Start once to learn the layout, then plant a stale file and start again.
    let mut s = Session::start(&ours("virtlogd"), "virtlogd", "", &[]);
    s.stop();
    let state = s.state_file();
    std::fs::write(
        &state,
        r#"{"magic": "1", "daemon": {"servers": {}}, "handler": {"files": []}}"#,
    )
    .unwrap();
    nix::unistd::chown(&state, Some(uid.into()), Some(gid.into())).unwrap();
    let conf_path = s.base.path().join("virtlogd.conf");
    let mut cmd = s.as_user(&ours("virtlogd"));
    cmd.arg("-f").arg(&conf_path);
    s.child = Some(
        cmd.stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap(),
    );
    s.wait_ready();
    assert!(!state.exists(), "stale state file removed");
    assert!(s.log().contains("stale restart state"), "{}", s.log());
    let (rc, out, err) = s.python(LOG_PROTOCOL, &[]);
    assert_eq!(rc, 0, "{out}\n{err}");
}

const LOCK_SEMANTICS: &str = r#"
import os, sys
from virtrpc import LockClient, RpcError
sock, home = sys.argv[1], sys.argv[2]
disk, disk2 = home + "/locks/disk.img", home + "/locks/shared.img"
for p in (disk, disk2):
    open(p, "w").close()
def show(what, f):
    try:
        f()
        print(what, "ok")
    except RpcError as e:
        print(what, "error", e.code, e.domain, e.message.replace(home, "HOME"))
a, b, c = LockClient(sock), LockClient(sock), LockClient(sock)
show("unregistered-acquire", lambda: a.acquire("", disk))
show("register-id0", lambda: a.register(owner_id=0))
# Owner pids that are not this process: its connections closing at exit must not fence it.
show("register-a", lambda: a.register(name="a", owner_id=1, pid=4000001))
show("register-b", lambda: b.register(name="b", uuid=b"\x33" * 16, owner_id=2, pid=4000002))
show("register-c", lambda: c.register(name="c", uuid=b"\x44" * 16, owner_id=3, pid=4000003))
show("a-excl", lambda: a.acquire("", disk))
show("b-excl-busy", lambda: b.acquire("", disk))
show("b-shared-busy", lambda: b.acquire("", disk, 1))
show("a-shared", lambda: a.acquire("", disk2, 1))
show("b-shared", lambda: b.acquire("", disk2, 1))
show("c-excl-on-shared", lambda: c.acquire("", disk2))
show("missing-file", lambda: c.acquire("", home + "/locks/none.img"))
show("unknown-lockspace", lambda: c.acquire(home + "/nolockspace", "x"))
show("create-lockspace", lambda: c.create_lockspace(home + "/lockspace"))
show("create-lockspace-again", lambda: c.create_lockspace(home + "/lockspace"))
show("c-autocreate", lambda: c.acquire(home + "/lockspace", "abc123", 2))
print("autocreated", os.path.exists(home + "/lockspace/abc123"))
show("c-release", lambda: c.release(home + "/lockspace", "abc123"))
print("removed", not os.path.exists(home + "/lockspace/abc123"))
show("release-not-held", lambda: c.release("", disk))
show("a-release", lambda: a.release("", disk))
show("b-excl-now", lambda: b.acquire("", disk))
show("restrict", lambda: b.restrict())
show("after-restrict", lambda: b.release("", disk))
"#;

#[test]
fn virtlockd_semantics_match_the_reference() {
    let mut outs = Vec::new();
    for bin in [ours("virtlockd"), PathBuf::from(C_VIRTLOCKD)] {
        let s = Session::start(&bin, "virtlockd", "", &[]);
        let (rc, out, err) = s.python(LOCK_SEMANTICS, &[]);
        assert_eq!(rc, 0, "{bin:?}: {out}\n{err}\n{}", s.log());
        outs.push(out);
    }
    assert_eq!(outs[0], outs[1], "ours (left) vs C virtlockd (right)");
    assert!(outs[0].contains("b-excl-busy error 87 51"), "{}", outs[0]);
}

const LOCK_HOLD: &str = r#"
import os, sys, time, fcntl, struct
from virtrpc import LockClient
sock, home, ready, done = sys.argv[1], sys.argv[2], sys.argv[3], sys.argv[4]
disk = home + "/locks/held.img"
open(disk, "w").close()
a = LockClient(sock)
a.register(name="holder", owner_id=7)
a.acquire("", disk)
open(ready, "w").close()
t0 = time.time()
while not os.path.exists(done) and time.time() - t0 < 30:
    time.sleep(0.01)
# Same connection after the restarts: release and re-acquire work.
a.release("", disk)
a.acquire("", disk)
print("still-connected")
"#;

const GETLK: &str = r#"
import fcntl, struct, sys, os
fd = os.open(sys.argv[3], os.O_RDWR)
# struct flock: short type, short whence, off_t start, off_t len, pid_t pid
lk = struct.pack("hhqqi", fcntl.F_WRLCK, 0, 0, 1, 0)
res = fcntl.fcntl(fd, fcntl.F_GETLK, lk)
typ, _, start, ln, pid = struct.unpack("hhqqi", res)
print(typ == fcntl.F_UNLCK and "unlocked" or "locked", pid)
"#;

/// A lease survives SIGUSR1: a third process still sees the fcntl lock held by the daemon's
/// pid, and the owner's connection keeps working.
#[test]
fn virtlockd_reexec_keeps_locks_and_clients() {
    let s = Session::start(&ours("virtlockd"), "virtlockd", "", &[]);
    let pid = s.pid();
    let (ready, done) = (s.home().join("ready"), s.home().join("done"));
    let mut py = s.as_user(Path::new("/usr/bin/python3"));
    py.arg("-c")
        .arg(LOCK_HOLD)
        .arg(s.sock())
        .arg(s.home())
        .arg(&ready)
        .arg(&done)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let holder = py.spawn().unwrap();
    let t0 = Instant::now();
    while !ready.exists() && t0.elapsed() < Duration::from_secs(20) {
        std::thread::sleep(Duration::from_millis(5));
    }
    let disk = s.home().join("locks/held.img");
    let check = |s: &Session| {
        let (rc, out, err) = s.python(GETLK, &[disk.to_str().unwrap()]);
        assert_eq!(rc, 0, "{err}");
        out.trim().to_string()
    };
    assert_eq!(check(&s), format!("locked {pid}"));
    for i in 1..=3 {
        s.reexec(i);
        assert_eq!(check(&s), format!("locked {pid}"), "after re-exec {i}");
    }
    std::fs::write(&done, "").unwrap();
    let out = holder.wait_with_output().unwrap();
    assert!(
        String::from_utf8_lossy(&out.stdout).contains("still-connected"),
        "{}\n{}",
        String::from_utf8_lossy(&out.stderr),
        s.log()
    );
    assert_eq!(s.pid(), pid);
}

const LOCK_FENCE: &str = r#"
import os, sys, time, socket
from virtrpc import LockClient
sock, home = sys.argv[1], sys.argv[2]
disk = home + "/locks/fenced.img"
open(disk, "w").close()
a = LockClient(sock)
a.register(name="victim", owner_id=9)
a.acquire("", disk)
a.sock.shutdown(socket.SHUT_RDWR)
a.close()
time.sleep(20)
print("survived")
"#;

/// An owner whose connection goes away while it holds a lease is fenced (killed), as libvirt
/// does, by ours and by the C daemon alike.
#[test]
fn virtlockd_fences_an_owner_that_drops_its_connection() {
    for bin in [ours("virtlockd"), PathBuf::from(C_VIRTLOCKD)] {
        let s = Session::start(&bin, "virtlockd", "", &[]);
        let t0 = Instant::now();
        let (rc, out, _err) = s.python(LOCK_FENCE, &[]);
        assert!(!out.contains("survived"), "{bin:?}: {out}");
        assert_eq!(rc, -1, "{bin:?}: killed by a signal");
        assert!(t0.elapsed() < Duration::from_secs(15), "{bin:?}");
        // The lease is free again.
        let (rc, out, err) = s.python(
            GETLK,
            &[s.home().join("locks/fenced.img").to_str().unwrap()],
        );
        assert_eq!((rc, out.trim()), (0, "unlocked 0"), "{bin:?}: {err}");
    }
}

/// virt-admin sees the servers libvirt's virtlogd/virtlockd have.
#[test]
fn admin_servers_match_the_reference() {
    for (name, c_bin) in [("virtlogd", C_VIRTLOGD), ("virtlockd", C_VIRTLOCKD)] {
        let mut outs = Vec::new();
        for bin in [ours(name), PathBuf::from(c_bin)] {
            let s = Session::start(
                &bin,
                if name == "virtlogd" {
                    "virtlogd"
                } else {
                    "virtlockd"
                },
                "",
                &[],
            );
            let uri = format!("{name}:///session?socket={}", s.admin_sock().display());
            let mut c = s.as_user(Path::new("/usr/bin/virt-admin"));
            c.args(["-c", &uri, "srv-list"]);
            let (rc, out, err) = run_bounded(&mut c, 30);
            assert_eq!(rc, 0, "{bin:?}: {err}");
            let mut lines: Vec<String> = out
                .lines()
                .map(|l| l.split_whitespace().skip(1).collect::<Vec<_>>().join(" "))
                .collect();
            lines.sort();
            let mut c = s.as_user(Path::new("/usr/bin/virt-admin"));
            c.args(["-c", &uri, "srv-clients-info", name]);
            let (rc, info, err) = run_bounded(&mut c, 30);
            assert_eq!(rc, 0, "{bin:?}: {err}");
            lines.push(info);
            outs.push(lines);
        }
        assert_eq!(outs[0], outs[1], "{name}: ours (left) vs C (right)");
    }
}

/// Socket activation: fds named virtlogd.socket / virtlogd-admin.socket are served; an
/// unknown name makes the daemon exit 6 (as libvirt's).
#[test]
fn virtlogd_socket_activation() {
    let d = tempfile::tempdir().unwrap();
    let (sock, admin) = (
        d.path().join("virtlogd-sock"),
        d.path().join("virtlogd-admin-sock"),
    );
    let mut act = Command::new("systemd-socket-activate");
    act.arg("-l")
        .arg(&sock)
        .arg("-l")
        .arg(&admin)
        .arg("--fdname=virtlogd.socket:virtlogd-admin.socket")
        .arg(ours("virtlogd"))
        .arg("-p")
        .arg(d.path().join("virtlogd.pid"))
        .arg("-f")
        .arg(d.path().join("none.conf"))
        .stdout(Stdio::null())
        .stderr(Stdio::null());
    std::fs::write(d.path().join("none.conf"), "").unwrap();
    let mut child = act.spawn().unwrap();
    let t0 = Instant::now();
    while !sock.exists() && t0.elapsed() < Duration::from_secs(10) {
        std::thread::sleep(Duration::from_millis(10));
    }
    let script = format!(
        "import sys; sys.path.insert(0, '{}')\nfrom virtrpc import LogClient\nc = LogClient('{}')\nprint(c.append('{}/x.log', 'hello'))",
        Path::new(env!("CARGO_MANIFEST_DIR")).join("../../tools").display(),
        sock.display(),
        d.path().display()
    );
    let (rc, out, err) = run_bounded(Command::new("/usr/bin/python3").arg("-c").arg(&script), 30);
    let uri = format!("virtlogd:///system?socket={}", admin.display());
    let (arc, aout, aerr) = common::virt_admin(&uri, &["srv-list"]);
    let _ = nix::sys::signal::kill(
        nix::unistd::Pid::from_raw(child.id() as i32),
        nix::sys::signal::Signal::SIGTERM,
    );
    let _ = child.wait();
    assert_eq!((rc, out.trim()), (0, "0"), "{err}");
    assert_eq!(arc, 0, "{aerr}");
    assert!(
        aout.contains("virtlogd") && aout.contains("admin"),
        "{aout}"
    );

    // An fd of an unknown name: exit 6 for ours and for the C daemon.
    for bin in [ours("virtlogd"), PathBuf::from(C_VIRTLOGD)] {
        let d = tempfile::tempdir().unwrap();
        let sock = d.path().join("s");
        let mut act = Command::new("systemd-socket-activate");
        act.arg("-l")
            .arg(&sock)
            .arg("--fdname=bogus.socket")
            .arg(&bin)
            .arg("-p")
            .arg(d.path().join("p.pid"))
            .stdout(Stdio::null())
            .stderr(Stdio::null());
        let mut child = act.spawn().unwrap();
        let t0 = Instant::now();
        while !sock.exists() && t0.elapsed() < Duration::from_secs(10) {
            std::thread::sleep(Duration::from_millis(10));
        }
        let _ = std::os::unix::net::UnixStream::connect(&sock);
        let t0 = Instant::now();
        let code = loop {
            if let Ok(Some(st)) = child.try_wait() {
                break st.code();
            }
            if t0.elapsed() > Duration::from_secs(10) {
                let _ = child.kill();
                break None;
            }
            std::thread::sleep(Duration::from_millis(10));
        };
        assert_eq!(code, Some(6), "{bin:?}");
    }
}

/// `--help` prints libvirt's text with this mode's paths.
#[test]
fn help_matches_the_reference() {
    for (name, c_bin) in [("virtlogd", C_VIRTLOGD), ("virtlockd", C_VIRTLOCKD)] {
        let (_, _, ours_help) = run_bounded(Command::new(ours(name)).arg("--help"), 10);
        let (_, _, c_help) = run_bounded(Command::new(c_bin).arg("--help"), 10);
        let c_help = c_help.replace(c_bin, &ours(name).display().to_string());
        assert_eq!(ours_help, c_help, "{name}");
    }
}

const HANDOVER_LOG: &str = r#"
import os, sys, time
from virtrpc import LogClient
sock, home, ready, go = sys.argv[1], sys.argv[2], sys.argv[3], sys.argv[4]
log = home + "/logs/handover.log"
c = LogClient(sock)
pos, fd = c.open_log(log)
os.write(fd, b"written to the C daemon\n")
c.position(log)
open(ready, "w").close()
t0 = time.time()
while not os.path.exists(go) and time.time() - t0 < 30:
    time.sleep(0.01)
os.write(fd, b"written to ours\n")
print("position", c.position(log)[1])
"#;

const HANDOVER_LOCK: &str = r#"
import os, sys, time
from virtrpc import LockClient
sock, home, ready, go = sys.argv[1], sys.argv[2], sys.argv[3], sys.argv[4]
disk = home + "/locks/handover.img"
open(disk, "w").close()
a = LockClient(sock)
a.register(name="handover", owner_id=5)
a.acquire("", disk)
open(ready, "w").close()
t0 = time.time()
while not os.path.exists(go) and time.time() - t0 < 30:
    time.sleep(0.01)
a.release("", disk)
a.acquire("", disk)
a.release("", disk)  # leaving with a lease held would get this process fenced
print("still-registered")
"#;

/// A running C virtlogd/virtlockd hands over to ours: started through a symlink that is then
/// pointed at our binary, SIGUSR1 makes the C daemon save its state in libvirt's layout and
/// exec the link; ours restores it. The client's connection, the guest pipe and the lease
/// carry on in the same process.
#[test]
fn c_daemons_hand_over_to_ours_live() {
    for (name, c_bin, script) in [
        ("virtlogd", C_VIRTLOGD, HANDOVER_LOG),
        ("virtlockd", C_VIRTLOCKD, HANDOVER_LOCK),
    ] {
        let links = tempfile::tempdir().unwrap();
        std::fs::set_permissions(links.path(), std::fs::Permissions::from_mode(0o755)).unwrap();
        let link = links.path().join(name);
        std::os::unix::fs::symlink(c_bin, &link).unwrap();
        let s = Session::start(
            &link,
            if name == "virtlogd" {
                "virtlogd"
            } else {
                "virtlockd"
            },
            "",
            &[],
        );
        let pid = s.pid();
        let (ready, go) = (s.home().join("ready"), s.home().join("go"));
        let mut py = s.as_user(Path::new("/usr/bin/python3"));
        py.arg("-c")
            .arg(script)
            .arg(s.sock())
            .arg(s.home())
            .arg(&ready)
            .arg(&go)
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        let client = py.spawn().unwrap();
        let t0 = Instant::now();
        while !ready.exists() && t0.elapsed() < Duration::from_secs(20) {
            std::thread::sleep(Duration::from_millis(5));
        }
        assert!(ready.exists(), "{name}: client did not start: {}", s.log());
        std::fs::remove_file(&link).unwrap();
        std::os::unix::fs::symlink(ours(name), &link).unwrap();
        s.reexec(1);
        assert_eq!(
            std::fs::read_link(format!("/proc/{pid}/exe")).unwrap(),
            std::fs::canonicalize(ours(name)).unwrap(),
            "{name}: same pid, now our binary"
        );
        if name == "virtlockd" {
            let (rc, out, err) = s.python(
                GETLK,
                &[s.home().join("locks/handover.img").to_str().unwrap()],
            );
            assert_eq!(
                (rc, out.trim()),
                (0, format!("locked {pid}").as_str()),
                "{err}"
            );
        }
        std::fs::write(&go, "").unwrap();
        let out = client.wait_with_output().unwrap();
        let stdout = String::from_utf8_lossy(&out.stdout);
        assert!(
            out.status.success(),
            "{name}: {stdout}\n{}\n{}",
            String::from_utf8_lossy(&out.stderr),
            s.log()
        );
        if name == "virtlogd" {
            assert_eq!(stdout.trim(), "position 40");
            assert_eq!(
                std::fs::read_to_string(s.home().join("logs/handover.log")).unwrap(),
                "written to the C daemon\nwritten to ours\n"
            );
        } else {
            assert_eq!(stdout.trim(), "still-registered");
        }
    }
}

const HOLD_PIPE: &str = r#"
import os, sys, time
from virtrpc import LogClient
sock, home, hold = sys.argv[1], sys.argv[2], float(sys.argv[3])
c = LogClient(sock)
pos, fd = c.open_log(home + "/logs/idle.log")
c.close()  # no client left: only the open log keeps the daemon up
time.sleep(hold)
os.write(fd, b"still here\n")
os.close(fd)
print("ok")
"#;

/// `--timeout`: an open guest log holds virtlogd up with no client connected; once the guest's
/// pipe closes, the idle timeout runs out and the daemon exits 0.
#[test]
fn virtlogd_idle_timeout_waits_for_open_logs() {
    let mut s = Session::start(&ours("virtlogd"), "virtlogd", "", &["--timeout", "1"]);
    let (rc, out, err) = s.python(HOLD_PIPE, &["3"]);
    assert_eq!((rc, out.trim()), (0, "ok"), "{err}\n{}", s.log());
    assert!(
        s.child.as_mut().unwrap().try_wait().unwrap().is_none(),
        "virtlogd quit with a guest log open: {}",
        s.log()
    );
    let t0 = Instant::now();
    let code = loop {
        if let Some(st) = s.child.as_mut().unwrap().try_wait().unwrap() {
            break st.code();
        }
        assert!(
            t0.elapsed() < Duration::from_secs(10),
            "no idle exit: {}",
            s.log()
        );
        std::thread::sleep(Duration::from_millis(20));
    };
    s.child = None;
    assert_eq!(code, Some(0));
    assert_eq!(
        std::fs::read_to_string(s.home().join("logs/idle.log")).unwrap(),
        "still here\n"
    );
}
