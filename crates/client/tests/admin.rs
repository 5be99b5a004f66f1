//! `AdminConnection` against our libvirtd's admin socket and Debian's libvirtd 9.0's, both
//! started the same way in temp dirs (recipe A): the same scenario passes on both, and what
//! both report (servers, errors, logging filters) is compared.

use oxvirt_client::admin::{
    self, AdminConnection, ClientTransport, SERVER_CLIENTS_MAX, SERVER_CLIENTS_UNAUTH_MAX,
    THREADPOOL_WORKERS_MAX, THREADPOOL_WORKERS_MIN,
};
use oxvirt_client::{ClientError, Connection, Env};
use oxvirt_proto::typed_param::{TypedParam, TypedValue};
use oxvirt_virerror::ErrorCode;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

const REFERENCE: &str = "/usr/sbin/libvirtd";
const BOUND: Duration = Duration::from_secs(60);

/// Our libvirtd, built by `cargo build --workspace` beside this test binary.
fn ours_bin() -> PathBuf {
    let exe = std::env::current_exe().unwrap();
    let p = exe.parent().unwrap().parent().unwrap().join("libvirtd");
    assert!(
        p.exists(),
        "{} missing: run `cargo build -p oxvirt-daemon --bin libvirtd` first",
        p.display()
    );
    p
}

struct Daemon {
    dir: tempfile::TempDir,
    child: Option<Child>,
}

impl Daemon {
    fn start(bin: &Path) -> Daemon {
        let dir = tempfile::Builder::new()
            .prefix("oxvirt-admin-")
            .tempdir()
            .unwrap();
        let d = dir.path();
        std::fs::create_dir_all(d.join("run")).unwrap();
        std::fs::create_dir_all(d.join("empty")).unwrap();
        std::fs::write(
            d.join("libvirtd.conf"),
            format!(
                "unix_sock_dir = \"{run}\"\nunix_sock_ro_perms = \"0777\"\n\
                 unix_sock_rw_perms = \"0700\"\nunix_sock_admin_perms = \"0700\"\n\
                 auth_unix_ro = \"none\"\nauth_unix_rw = \"none\"\n\
                 log_outputs = \"3:file:{log}\"\n",
                run = d.join("run").display(),
                log = d.join("daemon.log").display()
            ),
        )
        .unwrap();
        let child = Command::new(bin)
            .arg("-f")
            .arg(d.join("libvirtd.conf"))
            .arg("-p")
            .arg(d.join("libvirtd.pid"))
            .env("LIBVIRT_DRIVER_DIR", d.join("empty"))
            .env("HOME", d)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("start daemon");
        let daemon = Daemon {
            dir,
            child: Some(child),
        };
        for p in [daemon.sock(), daemon.admin_sock()] {
            let t0 = Instant::now();
            while std::os::unix::net::UnixStream::connect(&p).is_err() {
                assert!(
                    t0.elapsed() < Duration::from_secs(20),
                    "{} missing",
                    p.display()
                );
                std::thread::sleep(Duration::from_millis(20));
            }
        }
        daemon
    }

    fn sock(&self) -> PathBuf {
        self.dir.path().join("run/libvirt-sock")
    }
    fn admin_sock(&self) -> PathBuf {
        self.dir.path().join("run/libvirt-admin-sock")
    }
    fn uri(&self) -> String {
        format!("test+unix:///default?socket={}", self.sock().display())
    }
    fn admin_uri(&self) -> String {
        format!("libvirtd:///system?socket={}", self.admin_sock().display())
    }

    /// Waits (bounded) for the daemon to exit by itself; true if it did.
    fn wait_exit(&mut self, limit: Duration) -> bool {
        let Some(child) = self.child.as_mut() else {
            return true;
        };
        let t0 = Instant::now();
        while t0.elapsed() < limit {
            if let Ok(Some(_)) = child.try_wait() {
                self.child = None;
                return true;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        false
    }
}

impl Drop for Daemon {
    fn drop(&mut self) {
        let Some(mut child) = self.child.take() else {
            return;
        };
        let _ = nix::sys::signal::kill(
            nix::unistd::Pid::from_raw(child.id() as i32),
            nix::sys::signal::Signal::SIGTERM,
        );
        let t0 = Instant::now();
        while t0.elapsed() < Duration::from_secs(10) {
            if let Ok(Some(_)) = child.try_wait() {
                return;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        let _ = child.kill();
        let _ = child.wait();
    }
}

async fn bounded<F: std::future::Future>(f: F) -> F::Output {
    tokio::time::timeout(BOUND, f)
        .await
        .expect("scenario exceeded its time bound")
}

fn uint(name: &str, v: u32) -> TypedParam {
    TypedParam::new(name, TypedValue::UInt(v))
}

/// What a daemon reported, for comparing ours with the reference.
#[derive(Debug, PartialEq)]
struct Report {
    servers: Vec<String>,
    errors: Vec<String>,
    filters: Vec<String>,
    threadpool_after_set: (u32, u32),
    limits_after_set: (u32, u32),
}

fn describe(e: &ClientError) -> String {
    format!("{}/{} {}", e.code(), e.domain(), e)
}

async fn scenario(d: &Daemon) -> Report {
    let adm = AdminConnection::open(Some(&d.admin_uri())).await.unwrap();
    assert_eq!(adm.uri(), d.admin_uri());
    assert!(adm.get_lib_version().await.unwrap() >= 9_000_000);
    let mut errors = Vec::new();

    // Servers.
    // Compared as a set: libvirtd 9.0 lists "libvirtd" then "admin" (creation order), ours
    // sorts by name.
    let mut servers: Vec<String> = adm
        .list_servers()
        .await
        .unwrap()
        .into_iter()
        .map(|s| s.name)
        .collect();
    servers.sort();
    let srv = adm.lookup_server("libvirtd", 0).await.unwrap();
    assert_eq!(srv.name, "libvirtd");
    let e = adm.lookup_server("nosuch", 0).await.unwrap_err();
    assert!(e.is(ErrorCode::NoServer), "{e:?}");
    errors.push(describe(&e));

    // Thread pool: set and read back.
    let tp = adm.server_get_threadpool_parameters(&srv, 0).await.unwrap();
    assert!(
        tp.max_workers >= tp.min_workers && tp.max_workers > 0,
        "{tp:?}"
    );
    adm.server_set_threadpool_parameters(
        &srv,
        &[
            uint(THREADPOOL_WORKERS_MIN, 3),
            uint(THREADPOOL_WORKERS_MAX, 21),
        ],
        0,
    )
    .await
    .unwrap();
    let tp2 = adm.server_get_threadpool_parameters(&srv, 0).await.unwrap();
    let e = adm
        .server_set_threadpool_parameters(&srv, &[uint("bogus", 1)], 0)
        .await
        .unwrap_err();
    assert!(e.is(ErrorCode::ArgumentUnsupported), "{e:?}");
    errors.push(describe(&e));

    // Client limits: set and read back.
    adm.server_set_client_limits(
        &srv,
        &[
            uint(SERVER_CLIENTS_MAX, 100),
            uint(SERVER_CLIENTS_UNAUTH_MAX, 10),
        ],
        0,
    )
    .await
    .unwrap();
    let lim = adm.server_get_client_limits(&srv, 0).await.unwrap();

    // Clients: a REMOTE connection shows up, is inspected and disconnected.
    let remote = Connection::open(Some(&d.uri()), false).await.unwrap();
    let clients = adm.server_list_clients(&srv, 0).await.unwrap();
    assert!(!clients.is_empty());
    let now = adm.server_get_client_limits(&srv, 0).await.unwrap();
    assert_eq!(now.nclients as usize, clients.len(), "{now:?}");
    let newest = clients.iter().max_by_key(|c| c.id).unwrap().clone();
    assert_eq!(ClientTransport::of(&newest), ClientTransport::Unix);
    assert!(newest.timestamp > 0);
    assert_eq!(
        adm.server_lookup_client(&srv, newest.id, 0).await.unwrap(),
        newest
    );
    let info = adm.client_get_info(&newest, 0).await.unwrap();
    assert_eq!(info.readonly, Some(false), "{info:?}");
    assert_eq!(info.unix_user_id, Some(0));
    assert_eq!(info.unix_user_name.as_deref(), Some("root"));
    assert_eq!(info.unix_process_id, Some(std::process::id() as i32));
    assert!(!info.params.is_empty());
    adm.client_close(&newest, 0).await.unwrap();
    let t0 = Instant::now();
    while remote.is_alive() && t0.elapsed() < Duration::from_secs(10) {
        let _ = remote.get_hostname().await;
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert!(!remote.is_alive(), "the closed client's connection ends");
    let e = adm
        .server_lookup_client(&srv, 999_999, 0)
        .await
        .unwrap_err();
    assert!(e.is(ErrorCode::NoClient), "{e:?}");
    errors.push(describe(&e));

    // Logging.
    let outputs = adm.get_logging_outputs(0).await.unwrap();
    assert!(outputs.contains(":file:"), "{outputs}");
    // libvirtd 9.0 reports filters as it stores them ("3:*util* 1:*rpc* "), ours as given
    // ("3:util 1:rpc"): compared without the globs and blanks.
    let norm = |f: String| f.replace('*', "").trim().to_string();
    let mut filters = vec![norm(adm.get_logging_filters(0).await.unwrap())];
    adm.set_logging_filters(Some("3:util 1:rpc"), 0)
        .await
        .unwrap();
    filters.push(norm(adm.get_logging_filters(0).await.unwrap()));
    adm.set_logging_filters(Some(""), 0).await.unwrap();
    filters.push(norm(adm.get_logging_filters(0).await.unwrap()));
    let e = adm.get_logging_outputs(1).await.unwrap_err();
    errors.push(describe(&e));

    adm.close().await.unwrap();
    let t0 = Instant::now();
    while adm.is_alive() && t0.elapsed() < Duration::from_secs(10) {
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    assert!(
        !adm.is_alive(),
        "the daemon closes the socket after CONNECT_CLOSE"
    );
    Report {
        servers,
        errors,
        filters,
        threadpool_after_set: (tp2.min_workers, tp2.max_workers),
        limits_after_set: (lim.nclients_max, lim.nclients_unauth_max),
    }
}

fn expected() -> Report {
    Report {
        servers: vec!["admin".into(), "libvirtd".into()],
        errors: vec![
            "95/7 Server not found: No server named 'nosuch'".into(),
            "74/0 argument unsupported: parameter 'bogus' not supported".into(),
            "96/7 Client not found: No client with matching ID '999999'".into(),
            "8/62 unsupported flags (0x1) in function adminConnectGetLoggingOutputs".into(),
        ],
        filters: vec!["".into(), "3:util 1:rpc".into(), "".into()],
        threadpool_after_set: (3, 21),
        limits_after_set: (100, 10),
    }
}

#[tokio::test]
async fn ours_admin_scenario() {
    let d = Daemon::start(&ours_bin());
    assert_eq!(bounded(scenario(&d)).await, expected());
}

#[tokio::test]
async fn reference_admin_scenario() {
    if !Path::new(REFERENCE).exists() {
        eprintln!("{REFERENCE} not installed: skipping");
        return;
    }
    let d = Daemon::start(Path::new(REFERENCE));
    assert_eq!(bounded(scenario(&d)).await, expected());
}

/// `CONNECT_DAEMON_SHUTDOWN` came after libvirt 9.0: the reference refuses it as "not
/// supported"; ours shuts down.
#[tokio::test]
async fn daemon_shutdown() {
    let mut ours = Daemon::start(&ours_bin());
    let adm = AdminConnection::open(Some(&ours.admin_uri()))
        .await
        .unwrap();
    // Ours replies first, then shuts down.
    bounded(adm.daemon_shutdown(0)).await.unwrap();
    assert!(ours.wait_exit(Duration::from_secs(20)), "ours did not exit");
    if Path::new(REFERENCE).exists() {
        let r = Daemon::start(Path::new(REFERENCE));
        let adm = AdminConnection::open(Some(&r.admin_uri())).await.unwrap();
        let e = bounded(adm.daemon_shutdown(0)).await.unwrap_err();
        assert!(matches!(e, ClientError::NotSupported(_)), "{e:?}");
        assert_eq!(e.to_string(), "unknown procedure: 20");
        // Still serving.
        assert!(bounded(adm.get_lib_version()).await.unwrap() >= 9_000_000);
    }
}

/// Opening by socket path directly, and the failures of an unusable URI or socket.
#[tokio::test]
async fn open_socket_and_errors() {
    let d = Daemon::start(&ours_bin());
    let adm = AdminConnection::open_socket(&d.admin_sock(), "libvirtd:///system")
        .await
        .unwrap();
    assert_eq!(adm.uri(), "libvirtd:///system");
    assert_eq!(adm.list_servers().await.unwrap().len(), 2);
    let e = AdminConnection::open(Some("libvirtd:///system?socket=/nonexistent/x"))
        .await
        .unwrap_err();
    assert!(matches!(e, ClientError::Connect { .. }), "{e:?}");
    // What virt-admin prints after "error: " for the same socket.
    assert_eq!(
        e.to_string(),
        "Failed to connect socket to '/nonexistent/x': No such file or directory"
    );
    assert_eq!(e.code(), 38, "VIR_ERR_SYSTEM_ERROR");
    let e = AdminConnection::open(Some("libvirtd:///system?mode=legacy"))
        .await
        .unwrap_err();
    assert_eq!(e.to_string(), "Unknown URI parameter 'mode'");
    let e = AdminConnection::open(Some("libvirtd:///default"))
        .await
        .unwrap_err();
    assert_eq!(e.to_string(), "Invalid URI path '/default', try '/system'");
}

/// Socket choice as virt-admin makes it.
#[test]
fn socket_paths() {
    let env = Env::from_pairs([("XDG_RUNTIME_DIR", "/run/user/1000"), ("HOME", "/home/u")]);
    let no_xdg = Env::from_pairs([("HOME", "/home/u")]);
    for (uri, euid, env, want) in [
        (
            "libvirtd:///system",
            0,
            &env,
            "/run/libvirt/libvirt-admin-sock",
        ),
        (
            "libvirtd:///session",
            1000,
            &env,
            "/run/user/1000/libvirt/libvirt-admin-sock",
        ),
        (
            "libvirtd:///session",
            1000,
            &no_xdg,
            "/home/u/.cache/libvirt/libvirt-admin-sock",
        ),
        (
            "virtqemud:///system",
            0,
            &env,
            "/run/libvirt/virtqemud-admin-sock",
        ),
        (
            "virtqemud:///session",
            1000,
            &env,
            "/run/user/1000/libvirt/virtqemud-admin-sock",
        ),
        (
            "virtlogd:///system",
            0,
            &env,
            "/run/libvirt/virtlogd-admin-sock",
        ),
        (
            "virtlockd:///system",
            0,
            &env,
            "/run/libvirt/virtlockd-admin-sock",
        ),
        (
            "virtproxyd:///system",
            0,
            &env,
            "/run/libvirt/virtproxyd-admin-sock",
        ),
        ("libvirtd:///system?socket=/tmp/s", 0, &env, "/tmp/s"),
    ] {
        assert_eq!(
            admin::socket_path(uri, euid, env).unwrap(),
            PathBuf::from(want),
            "{uri}"
        );
    }
    assert!(admin::socket_path("libvirtd://remote/system", 0, &env).is_err());
    assert_eq!(admin::default_uri(0, &env), "libvirtd:///system");
    assert_eq!(admin::default_uri(1000, &env), "libvirtd:///session");
}
