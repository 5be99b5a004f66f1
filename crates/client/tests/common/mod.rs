//! Shared harnesses (our in-process daemon, Debian's reference libvirtd) and the scenarios run
//! against both.
#![allow(dead_code)]

use oxvirt_client::{ClientError, Connection, LifecycleKind};
use std::path::{Path, PathBuf};
use std::process::{Child, Command};
use std::time::{Duration, Instant};

/// Every scenario must finish within this.
pub const BOUND: Duration = Duration::from_secs(30);

/// A daemon to test against: the URIs to open read-write and read-only.
pub trait Target {
    fn rw_uri(&self) -> String;
    fn ro_uri(&self) -> String;
}

/// Our daemon, served in-process on a temp socket.
pub struct Ours {
    _dir: tempfile::TempDir,
    rw: PathBuf,
    ro: PathBuf,
    tasks: Vec<oxvirt_rpc::ServiceHandle>,
}

impl Ours {
    /// Must be called inside a tokio runtime.
    pub fn start() -> Ours {
        let dir = tempfile::tempdir().unwrap();
        let server = oxvirt_rpc::Server::new(
            "libvirtd",
            Default::default(),
            oxvirt_daemon::remote::programs(&oxvirt_daemon::family::LIBVIRTD),
        );
        let rw = dir.path().join("libvirt-sock");
        let ro = dir.path().join("libvirt-sock-ro");
        let mut tasks = Vec::new();
        for (path, readonly) in [(&rw, false), (&ro, true)] {
            let listener = oxvirt_rpc::service::bind_unix(path, 0o700, None, 16).unwrap();
            let svc = oxvirt_rpc::Service {
                listener,
                readonly,
                auth_none: true,
                peers: oxvirt_rpc::service::PeerPolicy::Any,
            };
            tasks.push(svc.spawn(server.clone()));
        }
        Ours {
            _dir: dir,
            rw,
            ro,
            tasks,
        }
    }
}

impl Drop for Ours {
    fn drop(&mut self) {
        for t in &self.tasks {
            t.abort();
        }
    }
}

impl Target for Ours {
    fn rw_uri(&self) -> String {
        format!("test+unix:///default?socket={}", self.rw.display())
    }
    fn ro_uri(&self) -> String {
        format!("test+unix:///default?socket={}", self.ro.display())
    }
}

/// Debian's libvirtd 9.0 with only the built-in test driver (recipe A).
pub struct Reference {
    dir: tempfile::TempDir,
    child: Child,
}

pub const LIBVIRTD: &str = "/usr/sbin/libvirtd";

impl Reference {
    /// `None` (test skipped with a note) when the binary is not installed.
    pub fn start() -> Option<Reference> {
        if !Path::new(LIBVIRTD).exists() {
            eprintln!("{LIBVIRTD} not installed: skipping the reference run");
            return None;
        }
        let dir = tempfile::tempdir().unwrap();
        let d = dir.path();
        std::fs::create_dir_all(d.join("run")).unwrap();
        std::fs::create_dir_all(d.join("empty")).unwrap();
        let conf = d.join("libvirtd.conf");
        std::fs::write(
            &conf,
            format!(
                "unix_sock_dir = \"{run}\"\nunix_sock_ro_perms = \"0777\"\n\
                 unix_sock_rw_perms = \"0700\"\nunix_sock_admin_perms = \"0700\"\n\
                 auth_unix_ro = \"none\"\nauth_unix_rw = \"none\"\n\
                 log_outputs = \"3:file:{log}\"\n",
                run = d.join("run").display(),
                log = d.join("libvirtd.log").display()
            ),
        )
        .unwrap();
        let child = Command::new(LIBVIRTD)
            .arg("-f")
            .arg(&conf)
            .arg("-p")
            .arg(d.join("libvirtd.pid"))
            .env("LIBVIRT_DRIVER_DIR", d.join("empty"))
            .stdin(std::process::Stdio::null())
            .spawn()
            .unwrap();
        let r = Reference { dir, child };
        // Every socket the tests use must accept: libvirtd binds and listens on them one
        // after another, so the read-write one accepting says nothing about the others.
        let t0 = Instant::now();
        for name in ["libvirt-sock", "libvirt-sock-ro", "libvirt-admin-sock"] {
            let sock = r.dir.path().join("run").join(name);
            while std::os::unix::net::UnixStream::connect(&sock).is_err() {
                assert!(
                    t0.elapsed() < Duration::from_secs(15),
                    "libvirtd did not open {name}"
                );
                std::thread::sleep(Duration::from_millis(20));
            }
        }
        Some(r)
    }
}

impl Reference {
    /// The daemon's pid (to kill or stop it).
    pub fn pid(&self) -> i32 {
        self.child.id() as i32
    }
}

impl Drop for Reference {
    fn drop(&mut self) {
        stop_child(&mut self.child, Duration::from_secs(5));
    }
}

/// SIGTERM, then SIGKILL if `child` has not exited within `bound`; always reaped.
pub fn stop_child(child: &mut Child, bound: Duration) {
    let _ = nix::sys::signal::kill(
        nix::unistd::Pid::from_raw(child.id() as i32),
        nix::sys::signal::Signal::SIGTERM,
    );
    let t0 = Instant::now();
    while t0.elapsed() < bound {
        if let Ok(Some(_)) = child.try_wait() {
            return;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    let _ = child.kill();
    let _ = child.wait();
}

impl Target for Reference {
    fn rw_uri(&self) -> String {
        format!(
            "test+unix:///default?socket={}",
            self.dir.path().join("run/libvirt-sock").display()
        )
    }
    fn ro_uri(&self) -> String {
        format!(
            "test+unix:///default?socket={}",
            self.dir.path().join("run/libvirt-sock-ro").display()
        )
    }
}

pub async fn bounded<F: std::future::Future>(f: F) -> F::Output {
    tokio::time::timeout(BOUND, f)
        .await
        .expect("scenario exceeded its time bound")
}

pub fn domain_xml(name: &str) -> String {
    format!(
        "<domain type='test'><name>{name}</name><memory>8192</memory><vcpu>1</vcpu>\
         <os><type>hvm</type></os></domain>"
    )
}

// ---------------------------------------------------------------- scenarios

pub async fn open_close(t: &dyn Target) {
    let c = Connection::open(Some(&t.rw_uri()), false).await.unwrap();
    assert_eq!(c.uri().as_deref(), Some("test:///default"));
    let f = c.features();
    assert!(f.keepalive && f.event_callback && f.close_callback, "{f:?}");
    assert!(!c.get_hostname().await.unwrap().is_empty());
    assert!(c.get_lib_version().await.unwrap() >= 9_000_000);
    c.close().await.unwrap();
    assert!(!c.is_alive());
    let e = c.get_hostname().await.unwrap_err();
    assert!(matches!(e, ClientError::Disconnected(_)), "{e:?}");
}

pub async fn list_lookup_info(t: &dyn Target) {
    let c = Connection::open(Some(&t.rw_uri()), false).await.unwrap();
    let doms = c.list_all_domains(0).await.unwrap();
    assert!(doms.iter().any(|d| d.name == "test"), "{doms:?}");
    let d = c.lookup_domain_by_name("test").await.unwrap();
    assert_eq!(d.name, "test");
    assert!(d.id > 0);
    assert_eq!(doms.iter().find(|x| x.name == "test").unwrap().uuid, d.uuid);
    let info = c.domain_get_info(&d).await.unwrap();
    assert_eq!(info.state, 1, "running");
    assert_eq!(info.nr_virt_cpu, 2);
    assert!(info.max_mem >= info.memory && info.memory > 0);
    let e = c.lookup_domain_by_name("nosuch").await.unwrap_err();
    assert_eq!(e.code(), 42, "{e:?}");
    assert!(matches!(e, ClientError::Libvirt(_)));
    assert!(e.to_string().starts_with("Domain not found"), "{e}");
    c.close().await.unwrap();
}

pub async fn lifecycle(t: &dyn Target) {
    let watcher = Connection::open(Some(&t.rw_uri()), false).await.unwrap();
    let mut events = watcher.domain_lifecycle_events().await.unwrap();
    let actor = Connection::open(Some(&t.rw_uri()), false).await.unwrap();
    let d = actor
        .domain_define_xml(&domain_xml("oxc-life"))
        .await
        .unwrap();
    assert_eq!(d.name, "oxc-life");
    assert_eq!(d.id, -1);
    actor.domain_create(&d).await.unwrap();
    let running = actor.lookup_domain_by_name("oxc-life").await.unwrap();
    assert!(running.id > 0);
    assert_eq!(actor.domain_get_info(&running).await.unwrap().state, 1);
    actor.domain_destroy(&running).await.unwrap();
    assert_eq!(
        actor.domain_get_info(&d).await.unwrap().state,
        5,
        "shut off"
    );
    let e = actor.domain_destroy(&d).await.unwrap_err();
    assert_eq!(e.code(), 55, "{e:?}");
    actor.domain_undefine(&d).await.unwrap();
    assert_eq!(
        actor
            .lookup_domain_by_name("oxc-life")
            .await
            .unwrap_err()
            .code(),
        42
    );
    let mut got = Vec::new();
    while got.len() < 4 {
        let ev = tokio::time::timeout(Duration::from_secs(10), events.recv())
            .await
            .expect("lifecycle event did not arrive")
            .expect("event channel closed");
        if ev.domain.name == "oxc-life" {
            got.push((ev.kind, ev.detail));
        }
    }
    assert_eq!(
        got,
        vec![
            (LifecycleKind::Defined, 0),
            (LifecycleKind::Started, 0),
            (LifecycleKind::Stopped, 1),
            (LifecycleKind::Undefined, 0),
        ]
    );
    actor.close().await.unwrap();
    watcher.close().await.unwrap();
    // The channel closes with the connection.
    assert!(events.recv().await.is_none());
}

pub async fn read_only_refused(t: &dyn Target) {
    for uri in [t.ro_uri(), t.rw_uri()] {
        let c = Connection::open(Some(&uri), true).await.unwrap();
        assert!(c.is_read_only());
        let d = c.lookup_domain_by_name("test").await.unwrap();
        let e = c.domain_destroy(&d).await.unwrap_err();
        assert_eq!(e.code(), 29, "{uri}: {e:?}");
        assert_eq!(
            e.to_string(),
            "operation forbidden: read only access prevents virDomainDestroy"
        );
        // Still running: nothing happened.
        assert_eq!(c.domain_get_info(&d).await.unwrap().state, 1);
        c.close().await.unwrap();
    }
}

pub async fn concurrent(t: &dyn Target) {
    let c = Connection::open(Some(&t.rw_uri()), false).await.unwrap();
    let d = c.lookup_domain_by_name("test").await.unwrap();
    let mut set = tokio::task::JoinSet::new();
    for i in 0..64 {
        let c = c.clone();
        let d = d.clone();
        set.spawn(async move {
            for j in 0..25 {
                if (i + j) % 3 == 0 {
                    assert!(!c.get_hostname().await.unwrap().is_empty());
                } else if (i + j) % 3 == 1 {
                    assert_eq!(c.domain_get_info(&d).await.unwrap().nr_virt_cpu, 2);
                } else {
                    let e = c.lookup_domain_by_name(&format!("no-{i}-{j}")).await;
                    assert_eq!(e.unwrap_err().code(), 42);
                }
            }
        });
    }
    while let Some(r) = set.join_next().await {
        r.unwrap();
    }
    c.close().await.unwrap();
}

pub async fn unknown_procedure(t: &dyn Target) {
    let c = Connection::open(Some(&t.rw_uri()), false).await.unwrap();
    let e = c.call::<(), ()>(9999, &()).await.unwrap_err();
    assert!(matches!(e, ClientError::NotSupported(_)), "{e:?}");
    assert_eq!(e.code(), 3);
    assert_eq!(e.to_string(), "unknown procedure: 9999");
    // The connection survives.
    assert!(!c.get_hostname().await.unwrap().is_empty());
    c.close().await.unwrap();
}

pub async fn keepalive_healthy(t: &dyn Target) {
    let c = Connection::open(Some(&t.rw_uri()), false).await.unwrap();
    c.set_keepalive(Duration::from_millis(200), 3).unwrap();
    // Idle well beyond interval × (count + 1) = 800 ms: the server answers our PINGs.
    tokio::time::sleep(Duration::from_millis(2000)).await;
    assert!(c.is_alive());
    assert!(!c.get_hostname().await.unwrap().is_empty());
    c.close().await.unwrap();
}
