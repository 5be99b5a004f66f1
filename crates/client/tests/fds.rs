//! fd passing: CALL_WITH_FDS out and REPLY_WITH_FDS back over a real socket.
//!
//! - Our RPC server (in process) with a program that hands the fds it got back: several fds
//!   both ways, the same open files come back.
//! - virtlogd, ours and Debian's, in session mode as the test user, over a raw connection (the
//!   log program has no open handshake): DOMAIN_OPEN_LOG_FILE returns the write end of a pipe;
//!   what the client writes into it lands in the log file.

mod common;
#[path = "../../daemon/tests/common/libvirt_session.rs"]
mod libvirt_session;
mod userthread;

use oxvirt_client::{ClientError, Connection};
use oxvirt_proto::Header;
use oxvirt_rpc::program::{Dispatched, Program, Reply};
use oxvirt_xdr::{xdr_struct, Uuid};
use std::io::{Read, Write};
use std::os::fd::{AsFd, AsRawFd, OwnedFd};
use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

const ECHO_PROGRAM: u32 = 0x0a0b_0c0d;

/// Replies to any call with the number of fds it got, those fds, then both ends of a new pipe.
struct EchoFds;

impl Program for EchoFds {
    fn number(&self) -> u32 {
        ECHO_PROGRAM
    }
    fn version(&self) -> u32 {
        1
    }
    fn dispatch(
        &self,
        _client: &Arc<oxvirt_rpc::Client>,
        h: &Header,
        _body: &[u8],
        fds: Vec<OwnedFd>,
    ) -> Dispatched {
        let n = fds.len() as u32;
        let mut fds = fds;
        let (rd, wr) = nix::unistd::pipe().unwrap();
        fds.extend([rd, wr]);
        let frame = oxvirt_rpc::frame::reply_ok_with_fds(h, &n, n + 2);
        Dispatched::Now(Reply::FrameWithFds(frame, fds))
    }
}

fn same_file(a: &impl AsFd, b: &impl AsFd) -> bool {
    let sa = nix::sys::stat::fstat(a.as_fd().as_raw_fd()).unwrap();
    let sb = nix::sys::stat::fstat(b.as_fd().as_raw_fd()).unwrap();
    (sa.st_dev, sa.st_ino) == (sb.st_dev, sb.st_ino)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn fds_go_out_and_come_back_through_our_rpc_server() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("echo-sock");
    let server = oxvirt_rpc::Server::new("echo", Default::default(), vec![Arc::new(EchoFds)]);
    let listener = oxvirt_rpc::service::bind_unix(&path, 0o700, None, 16).unwrap();
    let svc = oxvirt_rpc::Service {
        listener,
        readonly: false,
        auth_none: true,
        peers: oxvirt_rpc::service::PeerPolicy::Any,
    }
    .spawn(server);
    let c = tokio::time::timeout(Duration::from_secs(10), async {
        let c = Connection::connect_unix_raw(&path).await.unwrap();
        // 1, 2 and 3 fds per call: each travels in its own message after the frame (as the C
        // client sends them), so the server must keep reading past each fd-carrying message.
        for round in 0..3u32 {
            let k = round as usize + 1;
            // Distinct files, so the order of the fds that come back is checked too.
            let files: Vec<std::fs::File> = (0..k)
                .map(|i| std::fs::File::create(dir.path().join(format!("f{round}-{i}"))).unwrap())
                .collect();
            let keep: Vec<std::fs::File> = files.iter().map(|f| f.try_clone().unwrap()).collect();
            let (n, back): (u32, Vec<OwnedFd>) = c
                .call_with_fds(
                    ECHO_PROGRAM,
                    1,
                    round as i32,
                    &(),
                    files.into_iter().map(OwnedFd::from).collect(),
                )
                .await
                .unwrap();
            assert_eq!(n as usize, k);
            assert_eq!(back.len(), k + 2);
            for (b, f) in back.iter().zip(&keep) {
                assert!(same_file(b, f), "the fds sent came back in order");
            }
            // The server's new pipe: bytes written into its write end come out of its read end.
            let mut it = back.into_iter().skip(k);
            let mut rd = std::fs::File::from(it.next().unwrap());
            let mut wr = std::fs::File::from(it.next().unwrap());
            wr.write_all(b"through the server").unwrap();
            let mut got = [0u8; 18];
            rd.read_exact(&mut got).unwrap();
            assert_eq!(&got, b"through the server");
        }
        // No fds: a plain CALL; the reply announces zero.
        let (n, back): (u32, Vec<OwnedFd>) = c
            .call_with_fds(ECHO_PROGRAM, 1, 9, &(), Vec::new())
            .await
            .unwrap();
        assert_eq!((n, back.len()), (0, 2));
        // More than libvirt's 32 per message is refused before anything is sent.
        let many: Vec<OwnedFd> = (0..33)
            .map(|_| std::fs::File::open("/dev/null").unwrap().into())
            .collect();
        let e = c
            .call_with_fds::<(), u32>(ECHO_PROGRAM, 1, 1, &(), many)
            .await
            .unwrap_err();
        assert!(matches!(e, ClientError::Protocol(_)), "{e:?}");
        assert!(c.is_alive());
        c
    })
    .await
    .expect("bounded");
    c.shutdown();
    svc.abort();
}

// ------------------------------------------------------------------ virtlogd, ours and C

const LOG_PROGRAM: u32 = 0x8753_9319;
const DOMAIN_OPEN_LOG_FILE: i32 = 1;
const DOMAIN_GET_LOG_FILE_POSITION: i32 = 2;

xdr_struct! {
    pub struct LogDomain { pub uuid: Uuid, pub name: String }
    pub struct LogPos { pub inode: u64, pub offset: u64 }
    pub struct OpenArgs { pub driver: String, pub dom: LogDomain, pub path: String, pub flags: u32 }
    pub struct OpenRet { pub pos: LogPos }
    pub struct PosArgs { pub path: String, pub flags: u32 }
    pub struct PosRet { pub pos: LogPos }
}

/// Our virtlogd binary (built on demand when this test runs alone).
fn our_virtlogd() -> PathBuf {
    let exe = std::env::current_exe().unwrap();
    let bin = exe.parent().unwrap().parent().unwrap().join("virtlogd");
    if !bin.exists() {
        let st = Command::new(env!("CARGO"))
            .args(["build", "-q", "-p", "oxvirt-daemon", "--bin", "virtlogd"])
            .current_dir(env!("CARGO_MANIFEST_DIR"))
            .status()
            .unwrap();
        assert!(st.success(), "building our virtlogd failed");
    }
    bin
}

/// A session-mode virtlogd of the test user in temp dirs.
struct Virtlogd {
    base: tempfile::TempDir,
    child: Child,
    uid: u32,
    gid: u32,
}

impl Virtlogd {
    fn start(bin: &Path) -> Virtlogd {
        let (uid, gid) = libvirt_session::test_user();
        let base = tempfile::Builder::new()
            .prefix("oxvirt-client-logd-")
            .tempdir()
            .unwrap();
        std::fs::set_permissions(base.path(), std::fs::Permissions::from_mode(0o755)).unwrap();
        for d in ["xdg", "home", "home/logs"] {
            let p = base.path().join(d);
            std::fs::create_dir_all(&p).unwrap();
            nix::unistd::chown(&p, Some(uid.into()), Some(gid.into())).unwrap();
            std::fs::set_permissions(&p, std::fs::Permissions::from_mode(0o700)).unwrap();
        }
        let conf = base.path().join("virtlogd.conf");
        std::fs::write(&conf, "log_level = 3\n").unwrap();
        let child = Command::new("setpriv")
            .arg(format!("--reuid={uid}"))
            .arg(format!("--regid={gid}"))
            .arg("--clear-groups")
            .arg(bin)
            .arg("-f")
            .arg(&conf)
            .env_clear()
            .env("PATH", "/usr/sbin:/usr/bin:/bin")
            .env("HOME", base.path().join("home"))
            .env("XDG_RUNTIME_DIR", base.path().join("xdg"))
            .env("XDG_CONFIG_HOME", base.path().join("home/.config"))
            .env("XDG_CACHE_HOME", base.path().join("home/.cache"))
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let v = Virtlogd {
            base,
            child,
            uid,
            gid,
        };
        let t0 = Instant::now();
        while std::os::unix::net::UnixStream::connect(v.sock()).is_err() {
            assert!(
                t0.elapsed() < Duration::from_secs(15),
                "{} did not start",
                bin.display()
            );
            std::thread::sleep(Duration::from_millis(20));
        }
        v
    }
    fn sock(&self) -> PathBuf {
        self.base.path().join("xdg/libvirt/virtlogd-sock")
    }
    fn log(&self) -> PathBuf {
        self.base.path().join("home/logs/guest.log")
    }
}

impl Drop for Virtlogd {
    fn drop(&mut self) {
        common::stop_child(&mut self.child, Duration::from_secs(5));
    }
}

fn open_log_file_pipe_lands_in_the_log(bin: &Path) {
    let d = Virtlogd::start(bin);
    let (sock, log) = (d.sock(), d.log());
    userthread::run_as(d.uid, d.gid, move || async move {
        // Connects as the user (virtlogd accepts only its own uid), no handshake.
        let c = Connection::connect_unix_raw(&sock).await.unwrap();
        let args = OpenArgs {
            driver: "qemu".into(),
            dom: LogDomain {
                uuid: Uuid([7; 16]),
                name: "guest".into(),
            },
            path: log.display().to_string(),
            flags: 0,
        };
        let (ret, fds): (OpenRet, Vec<OwnedFd>) = c
            .call_with_fds(LOG_PROGRAM, 1, DOMAIN_OPEN_LOG_FILE, &args, Vec::new())
            .await
            .unwrap();
        assert_eq!(fds.len(), 1, "one fd: the pipe's write end");
        assert_eq!(ret.pos.offset, 0);
        let ino = std::fs::metadata(&log).unwrap().ino();
        assert_eq!(ret.pos.inode, ino);
        let mut w = std::fs::File::from(fds.into_iter().next().unwrap());
        let text = "written by oxvirt-client into the fd virtlogd passed\n";
        w.write_all(text.as_bytes()).unwrap();
        // virtlogd drains the pipe before answering a position query.
        let p: PosRet = c
            .call_program(
                LOG_PROGRAM,
                1,
                DOMAIN_GET_LOG_FILE_POSITION,
                &PosArgs {
                    path: log.display().to_string(),
                    flags: 0,
                },
            )
            .await
            .unwrap();
        assert_eq!(p.pos.offset, text.len() as u64);
        drop(w);
        let t0 = Instant::now();
        loop {
            let got = std::fs::read_to_string(&log).unwrap_or_default();
            if got.contains(text) {
                break;
            }
            assert!(
                t0.elapsed() < Duration::from_secs(10),
                "log file holds {got:?}"
            );
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        c.shutdown();
    });
}

#[test]
fn ours_virtlogd_open_log_file_passes_a_pipe() {
    open_log_file_pipe_lands_in_the_log(&our_virtlogd());
}

#[test]
fn c_virtlogd_open_log_file_passes_a_pipe() {
    let c = Path::new("/usr/sbin/virtlogd");
    if !c.exists() {
        eprintln!("/usr/sbin/virtlogd not installed: skipped");
        return;
    }
    open_log_file_pipe_lands_in_the_log(c);
}
