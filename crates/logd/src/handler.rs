//! The open log files: one pipe per file, drained into a [`RotatingWriter`].
//!
//! [`mod@crate::program`] calls [`LogHandler`] for every procedure; the daemon creates the handler,
//! watches [`LogHandler::open_count`] (session mode: open files inhibit the idle timeout) and
//! calls [`LogHandler::save_for_exec`] / [`LogHandler::restore`] around a re-exec; the
//! [`crate::cleaner`] asks which paths are open.
//!
//! OPEN creates a pipe, keeps the nonblocking read end and hands the write end back to the
//! caller (which passes it to QEMU as stdout/stderr). One tokio task per pipe waits for the read
//! end to become readable and appends what it reads into the file. All reads from a pipe and the
//! append of what was read happen under the file's lock, so the task and GET_LOG_FILE_POSITION
//! (which drains synchronously before answering) can never reorder data. When every write end
//! is closed the task sees EOF, closes the file and removes it from the handler.

use crate::error::{LogError, READ_MAX};
use crate::protocol::{LogFilePosition, OPEN_LOG_FILE_TRUNCATE};
use crate::rotating::{RotatingReader, RotatingWriter};
use nix::errno::Errno;
use nix::fcntl::{fcntl, FcntlArg, FdFlag, OFlag};
use serde_json::{json, Value};
use std::collections::{BTreeMap, HashSet};
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd, RawFd};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, Weak};
use tokio::io::unix::AsyncFd;
use tokio::io::Interest;
use tokio::sync::watch;
use tokio::task::AbortHandle;

#[cfg(test)]
mod tests;

/// Bytes read from a pipe per system call.
const READ_CHUNK: usize = 64 * 1024;
/// Reads a draining task does before yielding to other tasks.
const TASK_READS_PER_TURN: usize = 16;
/// Upper bound on the reads of a synchronous drain (GET_LOG_FILE_POSITION, save for exec):
/// far more than a pipe can hold, so "everything pending" is always read, yet a writer that
/// never stops cannot keep the caller here forever.
const SYNC_DRAIN_READS: usize = 64;

/// Rotation settings every log file gets (`max_size`, `max_backups` of virtlogd.conf).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LogSettings {
    /// Bytes before a file rolls over; 0 never rolls.
    pub max_size: u64,
    /// Backups kept (at most 32).
    pub max_backups: u32,
}

impl Default for LogSettings {
    fn default() -> Self {
        LogSettings {
            max_size: 2 * 1024 * 1024,
            max_backups: 3,
        }
    }
}

/// The open log files of the daemon.
#[derive(Debug)]
pub struct LogHandler {
    settings: LogSettings,
    rt: tokio::runtime::Handle,
    files: Mutex<BTreeMap<String, Arc<OpenLog>>>,
    count: watch::Sender<usize>,
    me: Weak<LogHandler>,
}

/// One open log file: who it belongs to, its writer and its pipe.
#[derive(Debug)]
struct OpenLog {
    path: String,
    driver: String,
    domname: String,
    domuuid: [u8; 16],
    state: Mutex<LogState>,
    task: Mutex<Option<AbortHandle>>,
}

#[derive(Debug)]
struct LogState {
    writer: RotatingWriter,
    /// The pipe's read end; None once draining stopped (EOF, error, saved for exec).
    pipe: Option<Arc<AsyncFd<OwnedFd>>>,
}

/// What a drain pass found.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Drained {
    /// The pipe is empty (EAGAIN).
    Empty,
    /// The read budget ran out with data possibly left.
    More,
    /// Every write end is closed and the pipe is empty.
    Eof,
    /// Reading the pipe or writing the file failed: the file is closed, as libvirt does.
    Failed,
    /// Draining was stopped (the pipe was taken away).
    Stopped,
}

impl LogState {
    /// Read what the pipe holds into the file, at most `max_reads` reads.
    fn drain(&mut self, path: &str, max_reads: usize) -> Drained {
        let Some(pipe) = &self.pipe else {
            return Drained::Stopped;
        };
        let fd = pipe.get_ref().as_raw_fd();
        let mut buf = [0u8; READ_CHUNK];
        let mut reads = 0;
        while reads < max_reads {
            match nix::unistd::read(fd, &mut buf) {
                Ok(0) => return Drained::Eof,
                Ok(n) => {
                    reads += 1;
                    if let Err(e) = self.writer.append(&buf[..n]) {
                        tracing::warn!(path, "{e}");
                        return Drained::Failed;
                    }
                }
                Err(Errno::EINTR) => {}
                Err(Errno::EAGAIN) => return Drained::Empty,
                Err(e) => {
                    tracing::warn!(path, "Unable to read from log pipe: {e}");
                    return Drained::Failed;
                }
            }
        }
        Drained::More
    }

    fn position(&self) -> LogFilePosition {
        LogFilePosition {
            inode: self.writer.inode(),
            offset: self.writer.position(),
        }
    }
}

impl OpenLog {
    fn drain(&self, max_reads: usize) -> Drained {
        self.state.lock().unwrap().drain(&self.path, max_reads)
    }

    fn abort_task(&self) {
        if let Some(t) = self.task.lock().unwrap().take() {
            t.abort();
        }
    }
}

/// Wait for the pipe to become readable and drain it, until EOF, an error or a stop.
async fn drain_task(log: Arc<OpenLog>, pipe: Arc<AsyncFd<OwnedFd>>, handler: Weak<LogHandler>) {
    loop {
        let mut guard = match pipe.readable().await {
            Ok(g) => g,
            Err(e) => {
                tracing::warn!(path = %log.path, "cannot watch log pipe: {e}");
                break;
            }
        };
        match log.drain(TASK_READS_PER_TURN) {
            // Only an observed EAGAIN clears readiness (and only readiness seen before the
            // guard was taken, so data that arrived meanwhile wakes us again).
            Drained::Empty => guard.clear_ready(),
            Drained::More => {
                drop(guard);
                tokio::task::yield_now().await;
            }
            Drained::Eof | Drained::Failed => break,
            Drained::Stopped => return,
        }
    }
    tracing::debug!(path = %log.path, "log pipe closed");
    log.state.lock().unwrap().pipe = None;
    if let Some(h) = handler.upgrade() {
        h.remove(&log);
    }
}

fn set_nonblocking(fd: RawFd) -> Result<(), Errno> {
    let fl = OFlag::from_bits_retain(fcntl(fd, FcntlArg::F_GETFL)?);
    fcntl(fd, FcntlArg::F_SETFL(fl | OFlag::O_NONBLOCK))?;
    Ok(())
}

fn set_cloexec(fd: RawFd, on: bool) -> Result<(), Errno> {
    let mut fl = FdFlag::from_bits_retain(fcntl(fd, FcntlArg::F_GETFD)?);
    fl.set(FdFlag::FD_CLOEXEC, on);
    fcntl(fd, FcntlArg::F_SETFD(fl))?;
    Ok(())
}

/// A UUID as libvirt writes it: 8-4-4-4-12 lowercase hex digits.
pub fn format_uuid(u: &[u8; 16]) -> String {
    let mut s = String::with_capacity(36);
    for (i, b) in u.iter().enumerate() {
        if matches!(i, 4 | 6 | 8 | 10) {
            s.push('-');
        }
        s.push_str(&format!("{b:02x}"));
    }
    s
}

/// Parse a UUID as libvirt does: 32 hex digits, dashes anywhere between byte pairs ignored,
/// surrounding spaces allowed.
pub fn parse_uuid(s: &str) -> Option<[u8; 16]> {
    let digits: Vec<u8> = s
        .trim()
        .bytes()
        .filter(|&c| c != b'-')
        .map(|c| (c as char).to_digit(16).map(|d| d as u8))
        .collect::<Option<_>>()?;
    if digits.len() != 32 {
        return None;
    }
    let mut u = [0u8; 16];
    for (i, pair) in digits.chunks(2).enumerate() {
        u[i] = pair[0] << 4 | pair[1];
    }
    Some(u)
}

/// One entry of the saved handler state.
struct SavedFile<'a> {
    path: &'a str,
    driver: &'a str,
    domname: &'a str,
    domuuid: [u8; 16],
    pipefd: RawFd,
}

fn parse_saved(v: &Value) -> Result<SavedFile<'_>, LogError> {
    let field = |name: &str, missing: &str| {
        v.get(name)
            .and_then(Value::as_str)
            .ok_or_else(|| LogError::BadState(missing.to_string()))
    };
    let path = field("path", "Missing 'path' field in JSON document")?;
    let driver = field("driver", "Missing 'driver' in JSON document")?;
    let domname = field("domname", "Missing 'domname' in JSON document")?;
    let domuuid = parse_uuid(field("domuuid", "Missing 'domuuid' in JSON document")?)
        .ok_or_else(|| LogError::BadState("Malformed 'domuuid' in JSON document".into()))?;
    let pipefd = v
        .get("pipefd")
        .and_then(Value::as_i64)
        .and_then(|n| RawFd::try_from(n).ok())
        .filter(|&n| n >= 0)
        .ok_or_else(|| LogError::BadState("Missing 'pipefd' in JSON document".into()))?;
    Ok(SavedFile {
        path,
        driver,
        domname,
        domuuid,
        pipefd,
    })
}

impl LogHandler {
    /// A handler with no open files. Must be called inside a tokio runtime: draining tasks
    /// are spawned on it (the other methods may then be called from any thread).
    pub fn new(settings: LogSettings) -> Arc<LogHandler> {
        let rt = tokio::runtime::Handle::current();
        Arc::new_cyclic(|me| LogHandler {
            settings,
            rt,
            files: Mutex::new(BTreeMap::new()),
            count: watch::channel(0).0,
            me: me.clone(),
        })
    }

    /// The rotation settings.
    pub fn settings(&self) -> LogSettings {
        self.settings
    }

    /// Number of open log files, updated as files open and close.
    pub fn open_count(&self) -> watch::Receiver<usize> {
        self.count.subscribe()
    }

    /// The paths of the open log files.
    pub fn open_paths(&self) -> Vec<PathBuf> {
        self.files
            .lock()
            .unwrap()
            .keys()
            .map(PathBuf::from)
            .collect()
    }

    fn lookup(&self, path: &str) -> Option<Arc<OpenLog>> {
        self.files.lock().unwrap().get(path).cloned()
    }

    /// Forget `log` if it is still the open file for its path (it hit EOF or an error).
    fn remove(&self, log: &Arc<OpenLog>) {
        let mut files = self.files.lock().unwrap();
        if files
            .get(&log.path)
            .is_some_and(|cur| Arc::ptr_eq(cur, log))
        {
            files.remove(&log.path);
            self.count.send_replace(files.len());
        }
    }

    /// Start draining `pipe` (nonblocking) into `writer` and register the file.
    fn adopt(
        &self,
        files: &mut BTreeMap<String, Arc<OpenLog>>,
        meta: (&str, &str, &str, [u8; 16]),
        writer: RotatingWriter,
        pipe: OwnedFd,
    ) -> Result<(), LogError> {
        let (path, driver, domname, domuuid) = meta;
        let pipe = {
            let _rt = self.rt.enter();
            // SAFETY: an OwnedFd always reports the fd it owns, and that fd stays open (and the
            // same file description) until the OwnedFd is dropped together with the AsyncFd.
            unsafe { AsyncFd::register_with_interest(pipe, Interest::READABLE) }.map_err(|e| {
                LogError::handler(
                    "Unable to watch log pipe",
                    crate::error::io_errno(&e.into_parts().1),
                )
            })?
        };
        let pipe = Arc::new(pipe);
        let log = Arc::new(OpenLog {
            path: path.to_string(),
            driver: driver.to_string(),
            domname: domname.to_string(),
            domuuid,
            state: Mutex::new(LogState {
                writer,
                pipe: Some(pipe.clone()),
            }),
            task: Mutex::new(None),
        });
        let task = self
            .rt
            .spawn(drain_task(log.clone(), pipe, self.me.clone()));
        *log.task.lock().unwrap() = Some(task.abort_handle());
        files.insert(path.to_string(), log);
        self.count.send_replace(files.len());
        Ok(())
    }

    /// DOMAIN_OPEN_LOG_FILE: open `path` (deleting it and its backups first with the TRUNCATE
    /// flag; other flags are ignored, as libvirt ignores them), create a pipe and drain it
    /// into the file. Returns the position at which the pipe's data will start and the pipe's
    /// write end. A path that is already open is refused.
    pub fn open_log_file(
        &self,
        driver: &str,
        uuid: [u8; 16],
        name: &str,
        path: &str,
        flags: u32,
    ) -> Result<(LogFilePosition, OwnedFd), LogError> {
        let mut files = self.files.lock().unwrap();
        if files.contains_key(path) {
            return Err(LogError::AlreadyOpen(path.to_string()));
        }
        let (rd, wr) = nix::unistd::pipe2(OFlag::O_CLOEXEC).map_err(|e| LogError::System {
            what: "Unable to create pipes".into(),
            errno: e,
            domain: oxvirt_virerror::ErrorDomain::None,
        })?;
        set_nonblocking(rd.as_raw_fd())
            .map_err(|e| LogError::handler("Unable to set pipe non-blocking", e))?;
        let writer = RotatingWriter::open(
            Path::new(path),
            self.settings.max_size,
            self.settings.max_backups,
            flags & OPEN_LOG_FILE_TRUNCATE != 0,
        )?;
        let pos = LogFilePosition {
            inode: writer.inode(),
            offset: writer.position(),
        };
        self.adopt(&mut files, (path, driver, name, uuid), writer, rd)?;
        tracing::debug!(path, driver, name, "opened log file");
        Ok((pos, wr))
    }

    /// DOMAIN_GET_LOG_FILE_POSITION: read whatever the pipe holds into the file, then return
    /// the write position. A path that is not open is an error, as in libvirt.
    pub fn get_position(&self, path: &str) -> Result<LogFilePosition, LogError> {
        let log = self
            .lookup(path)
            .ok_or_else(|| LogError::NotOpen(path.to_string()))?;
        let mut st = log.state.lock().unwrap();
        // EOF and failures are left to the draining task, which closes the file.
        st.drain(&log.path, SYNC_DRAIN_READS);
        Ok(st.position())
    }

    /// DOMAIN_READ_LOG_FILE: up to `maxlen` bytes from `pos`, across rotated files.
    pub fn read_log_file(
        &self,
        path: &str,
        pos: LogFilePosition,
        maxlen: u64,
    ) -> Result<Vec<u8>, LogError> {
        if maxlen > READ_MAX {
            return Err(LogError::ReadTooLong(maxlen));
        }
        let mut r = RotatingReader::open(Path::new(path), self.settings.max_backups)?;
        r.seek(pos.inode, pos.offset)?;
        r.read(maxlen as usize)
    }

    /// DOMAIN_APPEND_LOG_FILE: append `message` to `path`, through its writer if it is open,
    /// else through a writer opened for this call.
    pub fn append_log_file(
        &self,
        driver: &str,
        uuid: [u8; 16],
        name: &str,
        path: &str,
        message: &[u8],
    ) -> Result<(), LogError> {
        tracing::debug!(path, driver, name, uuid = %format_uuid(&uuid), "appending to log");
        if let Some(log) = self.lookup(path) {
            return log.state.lock().unwrap().writer.append(message);
        }
        let mut w = RotatingWriter::open(
            Path::new(path),
            self.settings.max_size,
            self.settings.max_backups,
            false,
        )?;
        w.append(message)
    }

    /// Prepare for a re-exec: stop draining every pipe (after a last nonblocking drain into
    /// its file), and hand the pipes' read ends over as inheritable fds described in libvirt's
    /// layout `{"files":[{"pipefd","path","driver","domname","domuuid"}]}`. The handler is
    /// left without files. Data written meanwhile waits in the pipes; [`LogHandler::restore`]
    /// (in the new process, or in this one if the exec fails) picks it up.
    pub fn save_for_exec(&self) -> Value {
        let logs: Vec<Arc<OpenLog>> = {
            let mut files = self.files.lock().unwrap();
            let logs = std::mem::take(&mut *files).into_values().collect();
            self.count.send_replace(0);
            logs
        };
        let mut saved = Vec::with_capacity(logs.len());
        for log in logs {
            let pipe = {
                let mut st = log.state.lock().unwrap();
                let last = st.drain(&log.path, SYNC_DRAIN_READS);
                let pipe = st.pipe.take();
                if matches!(last, Drained::Eof | Drained::Failed) {
                    // Nothing more can arrive (or the file is broken): let it close.
                    None
                } else {
                    pipe
                }
            };
            log.abort_task();
            let Some(pipe) = pipe else { continue };
            // The registered fd stays with the (stopped) task and closes with it, or at exec
            // (it is close-on-exec); the copy handed over is inheritable.
            let fd = match nix::unistd::dup(pipe.get_ref().as_raw_fd()) {
                Ok(fd) => fd,
                Err(e) => {
                    tracing::error!(path = %log.path, "cannot keep log pipe across exec: {e}");
                    continue;
                }
            };
            if let Err(e) = set_cloexec(fd, false) {
                tracing::error!(path = %log.path, "Cannot disable close-on-exec flag: {e}");
                let _ = nix::unistd::close(fd);
                continue;
            }
            saved.push(json!({
                "pipefd": fd,
                "path": log.path,
                "driver": log.driver,
                "domname": log.domname,
                "domuuid": format_uuid(&log.domuuid),
            }));
        }
        json!({ "files": saved })
    }

    /// Rebuild a handler from [`LogHandler::save_for_exec`]'s document (ours or libvirt's):
    /// adopt each pipe read end (close-on-exec and nonblocking again), reopen its file by path
    /// in append mode, and resume draining. Call inside a tokio runtime. A malformed document
    /// is an error; a file that cannot be reopened is skipped with an error logged (its pipe
    /// is closed) so that the other files keep their logs.
    pub fn restore(settings: LogSettings, state: &Value) -> Result<Arc<LogHandler>, LogError> {
        let handler = LogHandler::new(settings);
        let entries = state
            .get("files")
            .ok_or_else(|| LogError::BadState("Missing files data from JSON file".into()))?
            .as_array()
            .ok_or_else(|| LogError::BadState("Malformed files array".into()))?;
        let mut seen = HashSet::new();
        for v in entries {
            let f = parse_saved(v)?;
            if !seen.insert(f.pipefd) {
                return Err(LogError::BadState(format!(
                    "Duplicate 'pipefd' {} in JSON document",
                    f.pipefd
                )));
            }
            // Only a pipe is adopted: never take ownership of an fd that is something else. (A
            // closed fd fails here with EBADF, reported as libvirt reports it.)
            let st = nix::sys::stat::fstat(f.pipefd)
                .map_err(|e| LogError::handler("Cannot enable close-on-exec flag", e))?;
            if st.st_mode & nix::libc::S_IFMT != nix::libc::S_IFIFO {
                return Err(LogError::BadState(format!(
                    "'pipefd' {} in JSON document is not a pipe",
                    f.pipefd
                )));
            }
            // SAFETY: the fd is open (fstat succeeded) and is a pipe the previous process image
            // handed over for this entry; nothing else in this process owns it, and the
            // duplicate check above ensures it is adopted only once.
            let pipe = unsafe { OwnedFd::from_raw_fd(f.pipefd) };
            set_cloexec(pipe.as_raw_fd(), true)
                .map_err(|e| LogError::handler("Cannot enable close-on-exec flag", e))?;
            set_nonblocking(pipe.as_raw_fd())
                .map_err(|e| LogError::handler("Unable to set pipe non-blocking", e))?;
            let writer = match RotatingWriter::open(
                Path::new(f.path),
                settings.max_size,
                settings.max_backups,
                false,
            ) {
                Ok(w) => w,
                Err(e) => {
                    tracing::error!(path = f.path, "cannot reopen log file after exec: {e}");
                    continue;
                }
            };
            let mut files = handler.files.lock().unwrap();
            if files.contains_key(f.path) {
                return Err(LogError::BadState(format!(
                    "Duplicate path '{}' in JSON document",
                    f.path
                )));
            }
            handler.adopt(
                &mut files,
                (f.path, f.driver, f.domname, f.domuuid),
                writer,
                pipe,
            )?;
        }
        Ok(handler)
    }
}

impl Drop for LogHandler {
    fn drop(&mut self) {
        for log in self.files.get_mut().unwrap().values() {
            log.abort_task();
        }
    }
}
