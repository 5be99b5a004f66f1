//! Connecting to a local session daemon, starting it when it is not running, as libvirt's
//! client does (`virNetSocketNewConnectUNIX` with spawn):
//!
//! 1. connect; success, or an error other than "no such file" / "connection refused", ends it;
//! 2. without a [`Spawn`] recipe (system mode, `LIBVIRT_AUTOSTART=0`, a `socket=` path) the
//!    error stands;
//! 3. otherwise take the spawn lock (`<runtime dir>/<daemon>.lock`, an exclusive fcntl lock on
//!    byte 0, waited for), so that of many clients starting at once only one spawns (fcntl
//!    locks do not exclude threads of one process, so tasks of this process also queue on a
//!    mutex first: libvirt's client would spawn once per connection there);
//! 4. retry up to 500 times, 10 ms apart; on the first failure (and only then) start
//!    `<binary> --timeout=120` detached from us (own session, stdio on /dev/null), so it
//!    outlives this process and quits when idle;
//! 5. release and remove the lock.
//!
//! [`crate::Connection::open`] uses it for every UNIX endpoint; the plan ([`crate::sockets`])
//! decides whether a recipe exists.

use crate::error::ClientError;
use crate::sockets::{Spawn, UnixTarget};
use std::io::ErrorKind;
use std::os::fd::AsRawFd;
use std::os::unix::fs::OpenOptionsExt;
use std::os::unix::process::CommandExt;
use std::time::Duration;
use tokio::net::UnixStream;

/// Connection attempts after the daemon was started (libvirt: 500 × 10 ms).
pub const ATTEMPTS: u32 = 500;
/// Pause between attempts.
pub const PAUSE: Duration = Duration::from_millis(10);

fn retryable(e: &std::io::Error) -> bool {
    matches!(e.kind(), ErrorKind::NotFound | ErrorKind::ConnectionRefused)
}

fn connect_error(target: &UnixTarget, e: &std::io::Error) -> ClientError {
    ClientError::Connect {
        target: target.path.display().to_string(),
        reason: e.to_string(),
    }
}

/// Connect to `target`, starting its daemon first if it is missing and a recipe allows.
pub async fn connect(target: &UnixTarget) -> Result<UnixStream, ClientError> {
    let first = match UnixStream::connect(&target.path).await {
        Ok(s) => return Ok(s),
        Err(e) => e,
    };
    let Some(spawn) = target.spawn.as_ref().filter(|_| retryable(&first)) else {
        return Err(connect_error(target, &first));
    };
    // fcntl locks exclude other processes only: tasks of this process queue here first.
    static IN_PROCESS: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());
    let _turn = IN_PROCESS.lock().await;
    let lock = take_lock(spawn).await?;
    let mut spawned = false;
    let mut last = first;
    for _ in 0..ATTEMPTS {
        match UnixStream::connect(&target.path).await {
            Ok(s) => {
                drop_lock(spawn, lock);
                return Ok(s);
            }
            Err(e) if retryable(&e) => last = e,
            Err(e) => {
                drop_lock(spawn, lock);
                return Err(connect_error(target, &e));
            }
        }
        if !spawned {
            spawned = true;
            if let Err(e) = start(spawn) {
                drop_lock(spawn, lock);
                return Err(ClientError::Connect {
                    target: target.path.display().to_string(),
                    reason: format!("Unable to start {}: {e}", spawn.binary.display()),
                });
            }
        }
        tokio::time::sleep(PAUSE).await;
    }
    drop_lock(spawn, lock);
    Err(connect_error(target, &last))
}

/// Wait for the spawn lock (a blocking F_SETLKW, off the async threads).
async fn take_lock(spawn: &Spawn) -> Result<std::fs::File, ClientError> {
    let path = spawn.lock_file.clone();
    let what = path.display().to_string();
    let res = tokio::task::spawn_blocking(move || -> std::io::Result<std::fs::File> {
        if let Some(dir) = path.parent() {
            std::fs::create_dir_all(dir)?;
        }
        let f = std::fs::OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(false)
            .mode(0o600)
            .open(&path)?;
        let fl = libc::flock {
            l_type: libc::F_WRLCK as _,
            l_whence: libc::SEEK_SET as _,
            l_start: 0,
            l_len: 1,
            l_pid: 0,
        };
        loop {
            // SAFETY: F_SETLKW on an fd we own with a fully initialised flock struct.
            let rc = unsafe { libc::fcntl(f.as_raw_fd(), libc::F_SETLKW, &fl) };
            if rc == 0 {
                return Ok(f);
            }
            let e = std::io::Error::last_os_error();
            if e.kind() != ErrorKind::Interrupted {
                return Err(e);
            }
        }
    })
    .await;
    match res {
        Ok(Ok(f)) => Ok(f),
        Ok(Err(e)) => Err(ClientError::Connect {
            target: what,
            reason: format!("Unable to take the daemon spawn lock: {e}"),
        }),
        Err(e) => Err(ClientError::Connect {
            target: what,
            reason: e.to_string(),
        }),
    }
}

/// Remove the lock file, then release the lock (closing the fd), as libvirt does.
fn drop_lock(spawn: &Spawn, lock: std::fs::File) {
    let _ = std::fs::remove_file(&spawn.lock_file);
    drop(lock);
}

/// Start the daemon detached: its own session, stdio on /dev/null, reaped by a thread so it
/// never lingers as our zombie.
fn start(spawn: &Spawn) -> std::io::Result<()> {
    let mut cmd = std::process::Command::new(&spawn.binary);
    cmd.args(&spawn.args)
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .current_dir("/")
        .process_group(0);
    let mut child = cmd.spawn()?;
    std::thread::Builder::new()
        .name("virtd-reaper".into())
        .spawn(move || {
            let _ = child.wait();
        })?;
    Ok(())
}
