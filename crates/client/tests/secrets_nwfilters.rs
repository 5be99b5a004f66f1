//! Secrets and network filters against the daemons that serve them: Debian's libvirtd 9.0 in
//! session mode as the unprivileged `oxvirt-test` user with only the secret driver (recipe B,
//! temp XDG dirs), and a root libvirtd 9.0 with only the nwfilter driver in a private mount
//! namespace whose `/etc/libvirt` and `/run/libvirt` are temp dirs (the nwfilter driver is
//! system-only and keeps its files there). Our daemon serves neither: `api_scenarios.rs`
//! checks that it refuses them as "not supported".

mod common;
#[path = "../../daemon/tests/common/libvirt_session.rs"]
mod libvirt_session;

use libvirt_session::{DRIVER_DIR, LIBVIRTD};
use oxvirt_client::api::secret::{CONNECT_LIST_SECRETS_NO_PRIVATE, CONNECT_LIST_SECRETS_PRIVATE};
use oxvirt_client::api::SecretUsageType;
use oxvirt_client::{ClientError, Connection, Uuid};
use oxvirt_virerror::{ErrorCode, ErrorDomain};
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

const BOUND: Duration = Duration::from_secs(60);

fn have(driver: &str) -> bool {
    let ok = Path::new(LIBVIRTD).exists()
        && Path::new(DRIVER_DIR)
            .join(format!("libvirt_driver_{driver}.so"))
            .exists();
    if !ok {
        eprintln!("{LIBVIRTD} or its {driver} driver not installed: skipping");
    }
    ok
}

/// A reference libvirtd started for one test; SIGTERM (then SIGKILL) by pid on drop.
struct Daemon {
    _dir: tempfile::TempDir,
    child: Child,
    sock: PathBuf,
}

impl Daemon {
    fn wait_for_socket(mut self) -> Daemon {
        let t0 = Instant::now();
        while std::os::unix::net::UnixStream::connect(&self.sock).is_err() {
            if let Ok(Some(st)) = self.child.try_wait() {
                panic!("libvirtd exited early: {st}");
            }
            assert!(
                t0.elapsed() < Duration::from_secs(20),
                "{} missing",
                self.sock.display()
            );
            std::thread::sleep(Duration::from_millis(20));
        }
        self
    }

    /// Session libvirtd as `oxvirt-test`, secret driver only.
    fn session_secrets() -> Daemon {
        let (uid, gid) = libvirt_session::test_user();
        let dir = tempfile::Builder::new()
            .prefix("oxvirt-secrets-")
            .tempdir()
            .unwrap();
        let b = dir.path();
        std::fs::set_permissions(b, std::fs::Permissions::from_mode(0o755)).unwrap();
        for sub in ["drv", "home", "xdg"] {
            std::fs::create_dir_all(b.join(sub)).unwrap();
        }
        std::os::unix::fs::symlink(
            Path::new(DRIVER_DIR).join("libvirt_driver_secret.so"),
            b.join("drv/libvirt_driver_secret.so"),
        )
        .unwrap();
        std::fs::set_permissions(b.join("xdg"), std::fs::Permissions::from_mode(0o700)).unwrap();
        for sub in ["home", "xdg"] {
            nix::unistd::chown(
                &b.join(sub),
                Some(nix::unistd::Uid::from_raw(uid)),
                Some(nix::unistd::Gid::from_raw(gid)),
            )
            .unwrap();
        }
        let child = Command::new("setpriv")
            .args([
                &format!("--reuid={uid}"),
                &format!("--regid={gid}"),
                "--clear-groups",
                LIBVIRTD,
            ])
            .env_clear()
            .env("PATH", "/usr/sbin:/usr/bin:/bin")
            .env("HOME", b.join("home"))
            .env("XDG_RUNTIME_DIR", b.join("xdg"))
            .env("XDG_CONFIG_HOME", b.join("home/.config"))
            .env("XDG_CACHE_HOME", b.join("home/.cache"))
            .env("LIBVIRT_DRIVER_DIR", b.join("drv"))
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("setpriv libvirtd");
        let sock = b.join("xdg/libvirt/libvirt-sock");
        Daemon {
            _dir: dir,
            child,
            sock,
        }
        .wait_for_socket()
    }

    /// Root libvirtd, nwfilter driver only, `/etc/libvirt` and `/run/libvirt` bind-mounted
    /// from the temp dir in a private mount namespace.
    fn system_nwfilter() -> Daemon {
        let dir = tempfile::Builder::new()
            .prefix("oxvirt-nwfilter-")
            .tempdir()
            .unwrap();
        let d = dir.path();
        for sub in ["run", "drv", "etc", "runlv"] {
            std::fs::create_dir_all(d.join(sub)).unwrap();
        }
        std::os::unix::fs::symlink(
            Path::new(DRIVER_DIR).join("libvirt_driver_nwfilter.so"),
            d.join("drv/libvirt_driver_nwfilter.so"),
        )
        .unwrap();
        std::fs::write(
            d.join("libvirtd.conf"),
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
        for p in ["/etc/libvirt", "/run/libvirt"] {
            std::fs::create_dir_all(p).unwrap();
        }
        let script = format!(
            "mount --bind {etc} /etc/libvirt && mount --bind {run} /run/libvirt && \
             exec {LIBVIRTD} -f {conf} -p {pid}",
            etc = d.join("etc").display(),
            run = d.join("runlv").display(),
            conf = d.join("libvirtd.conf").display(),
            pid = d.join("libvirtd.pid").display(),
        );
        let child = Command::new("unshare")
            .args(["--mount", "--propagation", "private", "sh", "-c", &script])
            .env("LIBVIRT_DRIVER_DIR", d.join("drv"))
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("unshare libvirtd");
        let sock = d.join("run/libvirt-sock");
        Daemon {
            _dir: dir,
            child,
            sock,
        }
        .wait_for_socket()
    }
}

impl Drop for Daemon {
    fn drop(&mut self) {
        common::stop_child(&mut self.child, Duration::from_secs(10));
    }
}

async fn bounded<F: std::future::Future>(f: F) -> F::Output {
    tokio::time::timeout(BOUND, f)
        .await
        .expect("scenario exceeded its time bound")
}

fn err_of<T: std::fmt::Debug>(r: Result<T, ClientError>) -> ClientError {
    match r {
        Ok(v) => panic!("expected an error, got {v:?}"),
        Err(e) => e,
    }
}

async fn secrets(c: &Connection) {
    assert!(c.list_all_secrets(0).await.unwrap().is_empty());
    assert_eq!(c.num_of_secrets().await.unwrap(), 0);
    let s = c
        .secret_define_xml(
            "<secret ephemeral='no' private='no'><description>oxapi</description>\
             <usage type='ceph'><name>oxapi-pool</name></usage></secret>",
            0,
        )
        .await
        .unwrap();
    assert_eq!(
        SecretUsageType::from_raw(s.usage_type),
        SecretUsageType::Ceph
    );
    assert_eq!(s.usage_id, "oxapi-pool");
    let uuid = Uuid::from(s.uuid);
    assert_eq!(c.lookup_secret_by_uuid(&uuid).await.unwrap(), s);
    assert_eq!(
        c.lookup_secret_by_usage(SecretUsageType::Ceph, "oxapi-pool")
            .await
            .unwrap(),
        s
    );
    let xml = c.secret_get_xml_desc(&s, 0).await.unwrap();
    assert!(
        xml.contains(&uuid.to_string()) && xml.contains("oxapi-pool"),
        "{xml}"
    );
    // Value: absent, set, read back (binary safe).
    let e = err_of(c.secret_get_value(&s, 0).await);
    assert!(e.is(ErrorCode::NoSecret), "{e:?}");
    let value = b"s3cr\0t\xff".to_vec();
    c.secret_set_value(&s, &value, 0).await.unwrap();
    assert_eq!(c.secret_get_value(&s, 0).await.unwrap(), value);
    // A private secret's value never leaves the daemon.
    let p = c
        .secret_define_xml(
            "<secret ephemeral='no' private='yes'><usage type='volume'>\
             <volume>/oxapi/disk.img</volume></usage></secret>",
            0,
        )
        .await
        .unwrap();
    c.secret_set_value(&p, b"hidden", 0).await.unwrap();
    let e = err_of(c.secret_get_value(&p, 0).await);
    assert_eq!(e.code(), 65, "VIR_ERR_INVALID_SECRET: {e:?}");
    assert_eq!(e.error_domain(), Some(ErrorDomain::Secret));
    assert_eq!(e.to_string(), "Invalid secret: secret is private");
    // Lists.
    let all = c.list_all_secrets(0).await.unwrap();
    assert_eq!(all.len(), 2);
    assert_eq!(
        c.list_all_secrets(CONNECT_LIST_SECRETS_PRIVATE)
            .await
            .unwrap(),
        vec![p.clone()]
    );
    assert_eq!(
        c.list_all_secrets(CONNECT_LIST_SECRETS_NO_PRIVATE)
            .await
            .unwrap(),
        vec![s.clone()]
    );
    let mut uuids = c.list_secrets().await.unwrap();
    uuids.sort();
    let mut want = vec![uuid, Uuid::from(p.uuid)];
    want.sort();
    assert_eq!(uuids, want);
    assert_eq!(c.num_of_secrets().await.unwrap(), 2);
    // Undefine; lookups then fail as virsh reports.
    c.secret_undefine(&s).await.unwrap();
    c.secret_undefine(&p).await.unwrap();
    let e = err_of(c.lookup_secret_by_uuid(&uuid).await);
    assert!(e.is(ErrorCode::NoSecret), "{e:?}");
    assert_eq!(
        e.to_string(),
        format!("Secret not found: no secret with matching uuid '{uuid}'")
    );
    let e = err_of(
        c.lookup_secret_by_usage(SecretUsageType::Ceph, "oxapi-pool")
            .await,
    );
    assert!(e.is(ErrorCode::NoSecret), "{e:?}");
    let e = err_of(c.secret_define_xml("<secret", 0).await);
    assert!(
        e.is(ErrorCode::XmlDetail) || e.is(ErrorCode::XmlError),
        "{e:?}"
    );
}

async fn nwfilters(c: &Connection) {
    assert!(c.list_all_nwfilters(0).await.unwrap().is_empty());
    let xml = "<filter name='oxapi' chain='root'>\
               <rule action='drop' direction='in' priority='500'><all/></rule></filter>";
    let f = c.nwfilter_define_xml(xml).await.unwrap();
    assert_eq!(f.name, "oxapi");
    assert_eq!(c.lookup_nwfilter_by_name("oxapi").await.unwrap(), f);
    assert_eq!(c.lookup_nwfilter_by_uuid(&f.uuid.into()).await.unwrap(), f);
    let got = c.nwfilter_get_xml_desc(&f, 0).await.unwrap();
    assert!(
        got.contains("name='oxapi'") && got.contains("action='drop'"),
        "{got}"
    );
    let g = c
        .nwfilter_define_xml_flags(
            "<filter name='oxapi-2' chain='ipv4'><rule action='accept' direction='out'/></filter>",
            oxvirt_client::api::nwfilter::NWFILTER_DEFINE_VALIDATE,
        )
        .await
        .unwrap();
    assert_eq!(c.list_all_nwfilters(0).await.unwrap().len(), 2);
    assert_eq!(c.num_of_nwfilters().await.unwrap(), 2);
    let mut names = c.list_nwfilters().await.unwrap();
    names.sort();
    assert_eq!(names, vec!["oxapi".to_string(), "oxapi-2".to_string()]);
    // No guest, no bindings.
    assert!(c.list_all_nwfilter_bindings(0).await.unwrap().is_empty());
    let e = err_of(c.lookup_nwfilter_binding_by_port_dev("vnet0").await);
    assert_eq!(e.code(), 101, "VIR_ERR_NO_NWFILTER_BINDING: {e:?}");
    c.nwfilter_undefine(&g).await.unwrap();
    c.nwfilter_undefine(&f).await.unwrap();
    let e = err_of(c.lookup_nwfilter_by_name("oxapi").await);
    assert!(e.is(ErrorCode::NoNwfilter), "{e:?}");
    assert_eq!(e.error_domain(), Some(ErrorDomain::Nwfilter));
    assert_eq!(
        e.to_string(),
        "Network filter not found: no nwfilter with matching name 'oxapi'"
    );
}

#[tokio::test]
async fn reference_session_secrets() {
    if !have("secret") {
        return;
    }
    let d = Daemon::session_secrets();
    let uri = format!("secret+unix:///session?socket={}", d.sock.display());
    let c = bounded(Connection::open(Some(&uri), false)).await.unwrap();
    bounded(secrets(&c)).await;
    bounded(c.close()).await.unwrap();
}

#[tokio::test]
async fn reference_system_nwfilters() {
    if !have("nwfilter") {
        return;
    }
    let d = Daemon::system_nwfilter();
    let uri = format!("nwfilter+unix:///system?socket={}", d.sock.display());
    let c = bounded(Connection::open(Some(&uri), false)).await.unwrap();
    bounded(nwfilters(&c)).await;
    bounded(c.close()).await.unwrap();
}
