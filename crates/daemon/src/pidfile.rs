//! The locked pid file: a second instance finds it locked and exits with code 1.

use std::fs::{File, OpenOptions};
use std::io::Write;
use std::os::fd::AsRawFd;
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};

/// Why the pid file could not be taken.
#[derive(Debug, thiserror::Error)]
pub enum PidFileError {
    #[error("Failed to open pid file '{0}': {1}")]
    Open(PathBuf, std::io::Error),
    #[error("Failed to acquire pid file '{0}': Resource temporarily unavailable")]
    Locked(PathBuf),
    #[error("Failed to write to pid file '{0}': {1}")]
    Write(PathBuf, std::io::Error),
}

/// A held pid file; removed when dropped.
#[derive(Debug)]
pub struct PidFile {
    path: PathBuf,
    _file: File,
}

impl PidFile {
    /// Create (or reuse) `path`, lock it with a POSIX write lock as libvirt does, and write
    /// our pid. Fails at once if another process holds the lock.
    pub fn acquire(path: &Path) -> Result<PidFile, PidFileError> {
        if let Some(dir) = path.parent() {
            let _ = std::fs::create_dir_all(dir);
        }
        let mut file = OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(false)
            .mode(0o644)
            .custom_flags(libc::O_CLOEXEC)
            .open(path)
            .map_err(|e| PidFileError::Open(path.to_path_buf(), e))?;
        // SAFETY: `flock` is a plain C struct; all-zero is a valid value before we set fields.
        let mut fl: libc::flock = unsafe { std::mem::zeroed() };
        fl.l_type = libc::F_WRLCK as _;
        fl.l_whence = libc::SEEK_SET as _;
        fl.l_start = 0;
        fl.l_len = 1;
        // SAFETY: F_SETLK with a valid fd and a pointer to an initialised flock struct.
        let rc = unsafe { libc::fcntl(file.as_raw_fd(), libc::F_SETLK, &fl) };
        if rc != 0 {
            return Err(PidFileError::Locked(path.to_path_buf()));
        }
        file.set_len(0)
            .map_err(|e| PidFileError::Write(path.to_path_buf(), e))?;
        writeln!(file, "{}", std::process::id())
            .map_err(|e| PidFileError::Write(path.to_path_buf(), e))?;
        Ok(PidFile {
            path: path.to_path_buf(),
            _file: file,
        })
    }
}

impl Drop for PidFile {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.path);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn writes_pid_and_removes_on_drop() {
        let d = tempfile::tempdir().unwrap();
        let p = d.path().join("x.pid");
        let f = PidFile::acquire(&p).unwrap();
        let s = std::fs::read_to_string(&p).unwrap();
        assert_eq!(s.trim(), std::process::id().to_string());
        drop(f);
        assert!(!p.exists());
    }

    #[test]
    fn second_process_is_refused() {
        // POSIX locks are per process, so the contender must be another process.
        let d = tempfile::tempdir().unwrap();
        let p = d.path().join("y.pid");
        let _held = PidFile::acquire(&p).unwrap();
        let script = format!(
            "import fcntl,sys\nf=open('{}','r+')\ntry:\n fcntl.lockf(f,fcntl.LOCK_EX|fcntl.LOCK_NB,1,0)\n sys.exit(0)\nexcept OSError:\n sys.exit(3)\n",
            p.display()
        );
        let st = std::process::Command::new("python3")
            .arg("-c")
            .arg(script)
            .status()
            .unwrap();
        assert_eq!(st.code(), Some(3));
    }
}
