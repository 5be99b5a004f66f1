//! Session-daemon autostart, end to end: the plan names the binary from `VIRTD_PATH`; a stub
//! there records how it was started and execs our real libvirtd; several clients connecting at
//! once start it exactly once (the spawn lock) and all get through the open handshake.

use oxvirt_client::conf::ClientConf;
use oxvirt_client::sockets::{self, Context};
use oxvirt_client::uri::RemoteUri;
use oxvirt_client::{Connection, Env};
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

/// Our libvirtd, built by `cargo build --workspace` beside this test binary.
fn libvirtd() -> PathBuf {
    let exe = std::env::current_exe().unwrap();
    let p = exe.parent().unwrap().parent().unwrap().join("libvirtd");
    assert!(
        p.exists(),
        "{} missing: run `cargo build --workspace` first",
        p.display()
    );
    p
}

struct Setup {
    dir: tempfile::TempDir,
}

impl Setup {
    fn new() -> Setup {
        let dir = tempfile::tempdir().unwrap();
        let d = dir.path();
        std::fs::create_dir_all(d.join("xdg/libvirt")).unwrap();
        std::fs::create_dir_all(d.join("empty")).unwrap();
        std::fs::write(
            d.join("libvirtd.conf"),
            format!(
                "unix_sock_dir = \"{}\"\nauth_unix_rw = \"none\"\nauth_unix_ro = \"none\"\n",
                d.join("xdg/libvirt").display()
            ),
        )
        .unwrap();
        let stub = d.join("stub-libvirtd");
        std::fs::write(
            &stub,
            format!(
                "#!/bin/sh\necho \"$$ $*\" >> {rec}\nLIBVIRT_DRIVER_DIR={empty} exec {bin} -f {conf} -p {pid} \"$@\"\n",
                rec = d.join("spawns").display(),
                empty = d.join("empty").display(),
                bin = libvirtd().display(),
                conf = d.join("libvirtd.conf").display(),
                pid = d.join("libvirtd.pid").display(),
            ),
        )
        .unwrap();
        std::fs::set_permissions(&stub, std::fs::Permissions::from_mode(0o755)).unwrap();
        Setup { dir }
    }

    fn env(&self, extra: &[(&str, &str)]) -> Env {
        let d = self.dir.path();
        let mut v: Vec<(String, String)> = vec![
            ("HOME".into(), d.display().to_string()),
            (
                "XDG_RUNTIME_DIR".into(),
                d.join("xdg").display().to_string(),
            ),
            (
                "VIRTD_PATH".into(),
                d.join("stub-libvirtd").display().to_string(),
            ),
        ];
        for (k, val) in extra {
            v.retain(|(key, _)| key != k);
            v.push((k.to_string(), val.to_string()));
        }
        Env::from_pairs(v)
    }

    fn plan(&self, env: &Env) -> sockets::ConnectPlan {
        let conf = ClientConf::default();
        // A non-root user's URI (the tests run as root; the plan is what the uid decides).
        let ctx = Context::new(1000, env, &conf);
        let uri = RemoteUri::parse("test+unix:///default").unwrap();
        sockets::plan(Some(&uri), false, &ctx).unwrap()
    }

    fn spawns(&self) -> Vec<String> {
        std::fs::read_to_string(self.dir.path().join("spawns"))
            .unwrap_or_default()
            .lines()
            .map(str::to_string)
            .collect()
    }

    fn lock_file(&self) -> PathBuf {
        self.dir.path().join("xdg/libvirt/stub-libvirtd.lock")
    }
}

impl Drop for Setup {
    fn drop(&mut self) {
        let pid_file = self.dir.path().join("libvirtd.pid");
        if let Ok(p) = std::fs::read_to_string(&pid_file) {
            if let Ok(pid) = p.trim().parse::<i32>() {
                let _ = nix::sys::signal::kill(
                    nix::unistd::Pid::from_raw(pid),
                    nix::sys::signal::Signal::SIGTERM,
                );
                let t0 = Instant::now();
                while pid_file.exists() && t0.elapsed() < Duration::from_secs(5) {
                    std::thread::sleep(Duration::from_millis(20));
                }
            }
        }
    }
}

async fn bounded<T>(f: impl std::future::Future<Output = T>) -> T {
    tokio::time::timeout(Duration::from_secs(30), f)
        .await
        .expect("bounded")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn missing_session_daemon_is_started_once_for_many_clients() {
    let s = Setup::new();
    let env = s.env(&[]);
    let plan = s.plan(&env);
    let unix = plan.endpoint.unix().unwrap().clone();
    let spawn = unix.spawn.clone().expect("autostart recipe");
    assert_eq!(spawn.binary, s.dir.path().join("stub-libvirtd"));
    assert_eq!(spawn.args, ["--timeout=120"]);
    assert_eq!(spawn.lock_file, s.lock_file());
    assert_eq!(unix.path, s.dir.path().join("xdg/libvirt/libvirt-sock"));

    let mut tasks = Vec::new();
    for _ in 0..4 {
        let plan = plan.clone();
        tasks.push(tokio::spawn(async move {
            let c = Connection::open_plan(&plan, false).await?;
            let host = c.get_hostname().await?;
            c.close().await?;
            Ok::<_, oxvirt_client::ClientError>(host)
        }));
    }
    for t in tasks {
        let host = bounded(t)
            .await
            .unwrap()
            .expect("connected through autostart");
        assert!(!host.is_empty());
    }
    let spawns = s.spawns();
    assert_eq!(spawns.len(), 1, "spawned more than once: {spawns:?}");
    assert!(spawns[0].ends_with(" --timeout=120"), "{spawns:?}");
    assert!(!s.lock_file().exists(), "spawn lock left behind");

    // Running now: the next client connects without spawning.
    let c = bounded(Connection::open_plan(&plan, false)).await.unwrap();
    c.close().await.unwrap();
    assert_eq!(s.spawns().len(), 1);
}

#[tokio::test]
async fn autostart_off_or_failing_reports_libvirts_error() {
    let s = Setup::new();
    // LIBVIRT_AUTOSTART=0: no recipe, the connect error stands at once.
    let env = s.env(&[("LIBVIRT_AUTOSTART", "0")]);
    let plan = s.plan(&env);
    assert!(plan.endpoint.unix().unwrap().spawn.is_none());
    let t0 = Instant::now();
    let e = bounded(Connection::open_plan(&plan, false))
        .await
        .err()
        .unwrap();
    assert!(
        e.to_string().starts_with("Failed to connect socket to '")
            && e.to_string().contains("No such file or directory"),
        "{e}"
    );
    assert!(t0.elapsed() < Duration::from_secs(1));
    assert!(s.spawns().is_empty());

    // A binary that does not exist: a clear error, no lock left behind.
    let env = s.env(&[("VIRTD_PATH", "/nonexistent/oxvirt-daemon")]);
    let plan = s.plan(&env);
    let e = bounded(Connection::open_plan(&plan, false))
        .await
        .err()
        .unwrap();
    assert!(
        e.to_string()
            .contains("Unable to start /nonexistent/oxvirt-daemon"),
        "{e}"
    );
    assert!(!Path::new(
        &plan
            .endpoint
            .unix()
            .unwrap()
            .spawn
            .as_ref()
            .unwrap()
            .lock_file
    )
    .exists());

    // A binary that starts but never listens: bounded retries (~5 s), then the connect error.
    let never = s.dir.path().join("never");
    std::fs::write(&never, "#!/bin/sh\nexit 0\n").unwrap();
    std::fs::set_permissions(&never, std::fs::Permissions::from_mode(0o755)).unwrap();
    let env = s.env(&[("VIRTD_PATH", never.to_str().unwrap())]);
    let plan = s.plan(&env);
    let t0 = Instant::now();
    let e = bounded(Connection::open_plan(&plan, false))
        .await
        .err()
        .unwrap();
    assert!(e.to_string().contains("No such file or directory"), "{e}");
    assert!(t0.elapsed() >= Duration::from_secs(4), "{:?}", t0.elapsed());
}
