//! One lockspace: the leases (resources) the daemon holds in it, each an fcntl lock on byte 0
//! (length 1) of a file, taken without blocking (F_SETLK), shared (F_RDLCK) or exclusive
//! (F_WRLCK).
//!
//! A directory lockspace keeps its resource files under its directory (`<dir>/<name>`); the
//! default ("direct") lockspace has no directory and a resource name is the file's own path.
//! fcntl locks belong to the process and any `close` of the file drops them all, so a resource
//! keeps exactly one fd however many owners share it, and a second request for a held name
//! is answered from the table, never by opening the file again.
//!
//! Used by [`crate::state`] (which holds the lockspaces behind its mutex) and by
//! [`crate::restart`] (which moves resources in and out across `exec`).

use crate::error::LockError;
use crate::protocol::{ACQUIRE_AUTOCREATE, ACQUIRE_SHARED};
use nix::errno::Errno;
use nix::fcntl::{fcntl, FcntlArg, FdFlag};
use std::collections::BTreeMap;
use std::ffi::OsString;
use std::fs::{DirBuilder, OpenOptions};
use std::os::fd::{AsRawFd, IntoRawFd, OwnedFd, RawFd};
use std::os::unix::fs::{DirBuilderExt, MetadataExt, OpenOptionsExt};
use std::path::{Path, PathBuf};

/// Attempts at locking an autocreated file that keeps being replaced under us before the
/// acquire is reported busy (libvirt retries forever).
const AUTOCREATE_ATTEMPTS: usize = 64;

/// A set of leases.
#[derive(Debug, Default)]
pub struct LockSpace {
    /// `None`: the default lockspace, where a resource name is the file's path.
    dir: Option<PathBuf>,
    resources: BTreeMap<String, Resource>,
}

/// One held lease.
#[derive(Debug)]
struct Resource {
    path: PathBuf,
    /// The locked file; `None` only once the fd was handed over for exec.
    fd: Option<OwnedFd>,
    lock_held: bool,
    /// [`ACQUIRE_SHARED`] | [`ACQUIRE_AUTOCREATE`].
    flags: u32,
    /// Owner pids, one entry per acquire (a shared resource may list a pid more than once).
    owners: Vec<u32>,
}

/// A resource as it crosses `exec`: the raw fd stays open (and locked) in the process.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct SavedResource {
    pub name: String,
    pub path: String,
    pub fd: RawFd,
    pub lock_held: bool,
    pub flags: u32,
    pub owners: Vec<u32>,
}

/// Lock byte 0 of `fd`, shared or exclusive, without waiting.
fn set_lock(fd: RawFd, shared: bool) -> Result<(), Errno> {
    let fl = libc::flock {
        l_type: if shared { libc::F_RDLCK } else { libc::F_WRLCK } as libc::c_short,
        l_whence: libc::SEEK_SET as libc::c_short,
        l_start: 0,
        l_len: 1,
        l_pid: 0,
    };
    fcntl(fd, FcntlArg::F_SETLK(&fl)).map(|_| ())
}

fn errno_of(e: &std::io::Error) -> Errno {
    Errno::from_raw(e.raw_os_error().unwrap_or(libc::EIO))
}

fn system(context: String, e: &std::io::Error) -> LockError {
    LockError::System {
        context,
        errno: errno_of(e),
    }
}

/// Lock an opened resource file, mapping "someone else holds it" to the busy error.
fn lock_resource(fd: RawFd, shared: bool, name: &str, path: &Path) -> Result<(), LockError> {
    set_lock(fd, shared).map_err(|errno| match errno {
        Errno::EACCES | Errno::EAGAIN => LockError::Busy(name.to_string()),
        errno => LockError::System {
            context: format!("Unable to acquire lock on '{}'", path.display()),
            errno,
        },
    })
}

/// Open (creating it 0600 if needed) and lock an autocreated resource file, making sure the
/// file we locked is still the one at `path` (someone deleting and re-creating it between our
/// open and our lock would leave us holding a lock on a ghost). `after_lock` runs after each
/// successful lock with the attempt number (tests use it to replace the file).
fn open_autocreate(
    path: &Path,
    name: &str,
    shared: bool,
    after_lock: &mut dyn FnMut(usize),
) -> Result<OwnedFd, LockError> {
    for attempt in 0..AUTOCREATE_ATTEMPTS {
        let file = OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(false)
            .mode(0o600)
            .open(path)
            .map_err(|e| {
                system(
                    format!("Unable to open/create resource {}", path.display()),
                    &e,
                )
            })?;
        let opened = file.metadata().map_err(|e| {
            system(
                format!("Unable to check status of pid file '{}'", path.display()),
                &e,
            )
        })?;
        lock_resource(file.as_raw_fd(), shared, name, path)?;
        after_lock(attempt);
        match std::fs::metadata(path) {
            Ok(now) if now.ino() == opened.ino() && now.dev() == opened.dev() => {
                return Ok(file.into());
            }
            Ok(_) => tracing::debug!(path = %path.display(), "resource was recreated; retrying"),
            Err(e) => {
                tracing::debug!(path = %path.display(), "resource disappeared ({e}); retrying")
            }
        }
        // Dropping `file` closes it and with it the lock on the replaced file.
    }
    Err(LockError::Busy(name.to_string()))
}

/// Open and lock a resource file that must already exist.
fn open_existing(path: &Path, name: &str, shared: bool) -> Result<OwnedFd, LockError> {
    let file = OpenOptions::new()
        .read(true)
        .write(true)
        .open(path)
        .map_err(|e| system(format!("Unable to open resource {}", path.display()), &e))?;
    lock_resource(file.as_raw_fd(), shared, name, path)?;
    Ok(file.into())
}

fn unlink_resource(path: &Path) {
    if let Err(e) = std::fs::remove_file(path) {
        if e.kind() != std::io::ErrorKind::NotFound {
            tracing::warn!("Failed to unlink resource {}: {e}", path.display());
        }
    }
}

impl Drop for Resource {
    /// Give the lease up: an autocreated file is deleted first (a shared one only if no other
    /// process still holds it, i.e. if our lock can be upgraded to exclusive), then the fd is
    /// closed, which drops the lock.
    fn drop(&mut self) {
        let Some(fd) = self.fd.take() else { return };
        if self.lock_held && self.flags & ACQUIRE_AUTOCREATE != 0 {
            if self.flags & ACQUIRE_SHARED != 0 {
                match set_lock(fd.as_raw_fd(), false) {
                    Ok(()) => unlink_resource(&self.path),
                    Err(_) => tracing::debug!(
                        path = %self.path.display(),
                        "could not upgrade shared lease to exclusive, not deleting"
                    ),
                }
            } else {
                unlink_resource(&self.path);
            }
        }
        drop(fd);
    }
}

impl LockSpace {
    /// The default lockspace: resource names are file paths, nothing is created.
    pub fn direct() -> Self {
        LockSpace::default()
    }

    /// A lockspace over `dir`, created (with missing parents) mode 0700 if it does not exist.
    pub fn new(dir: &str) -> Result<Self, LockError> {
        match std::fs::metadata(dir) {
            Ok(m) if !m.is_dir() => return Err(LockError::NotADirectory(dir.to_string())),
            Ok(_) => {}
            Err(_) => DirBuilder::new()
                .recursive(true)
                .mode(0o700)
                .create(dir)
                .map_err(|e| system(format!("Unable to create lockspace {dir}"), &e))?,
        }
        Ok(LockSpace {
            dir: Some(PathBuf::from(dir)),
            resources: BTreeMap::new(),
        })
    }

    /// The directory (`None` for the default lockspace).
    pub fn dir(&self) -> Option<&Path> {
        self.dir.as_deref()
    }

    /// Where the file of resource `name` is: `<dir>/<name>`, or `name` itself.
    pub fn resource_path(&self, name: &str) -> PathBuf {
        match &self.dir {
            Some(dir) => {
                let mut p = OsString::from(dir.as_os_str());
                p.push("/");
                p.push(name);
                PathBuf::from(p)
            }
            None => PathBuf::from(name),
        }
    }

    /// Number of held resources.
    pub fn len(&self) -> usize {
        self.resources.len()
    }

    /// True if nothing is held.
    pub fn is_empty(&self) -> bool {
        self.resources.is_empty()
    }

    /// The owner pids of a held resource.
    pub fn owners(&self, name: &str) -> Option<&[u32]> {
        self.resources.get(name).map(|r| r.owners.as_slice())
    }

    /// Create the (empty) file of resource `name`, mode 0600; busy if it is held.
    pub fn create_resource(&mut self, name: &str) -> Result<(), LockError> {
        if self.resources.contains_key(name) {
            return Err(LockError::Busy(name.to_string()));
        }
        let path = self.resource_path(name);
        OpenOptions::new()
            .write(true)
            .create(true)
            .truncate(false)
            .mode(0o600)
            .open(&path)
            .map(drop)
            .map_err(|e| LockError::File {
                context: format!("cannot create file '{}'", path.display()),
                errno: errno_of(&e),
            })
    }

    /// Delete the file of resource `name` (a missing file is fine); busy if it is held.
    pub fn delete_resource(&mut self, name: &str) -> Result<(), LockError> {
        if self.resources.contains_key(name) {
            return Err(LockError::Busy(name.to_string()));
        }
        let path = self.resource_path(name);
        match std::fs::remove_file(&path) {
            Err(e) if e.kind() != std::io::ErrorKind::NotFound => Err(system(
                format!("Unable to delete lockspace resource {}", path.display()),
                &e,
            )),
            _ => Ok(()),
        }
    }

    /// Take a lease on `name` for `owner` ([`ACQUIRE_SHARED`], [`ACQUIRE_AUTOCREATE`]).
    ///
    /// A held shared resource takes more shared owners (the same pid again too, as libvirt
    /// does); anything else against a held resource is busy, as is a file another process
    /// has locked.
    pub fn acquire(&mut self, name: &str, owner: u32, flags: u32) -> Result<(), LockError> {
        self.acquire_with(name, owner, flags, &mut |_| {})
    }

    fn acquire_with(
        &mut self,
        name: &str,
        owner: u32,
        flags: u32,
        after_lock: &mut dyn FnMut(usize),
    ) -> Result<(), LockError> {
        let unknown = flags & !(ACQUIRE_SHARED | ACQUIRE_AUTOCREATE);
        if unknown != 0 {
            return Err(LockError::UnsupportedFlags {
                flags: unknown,
                function: "virLockSpaceAcquireResource",
            });
        }
        let shared = flags & ACQUIRE_SHARED != 0;
        if let Some(res) = self.resources.get_mut(name) {
            if shared && res.flags & ACQUIRE_SHARED != 0 {
                res.owners.push(owner);
                return Ok(());
            }
            return Err(LockError::Busy(name.to_string()));
        }
        let path = self.resource_path(name);
        let fd = if flags & ACQUIRE_AUTOCREATE != 0 {
            open_autocreate(&path, name, shared, after_lock)?
        } else {
            open_existing(&path, name, shared)?
        };
        self.resources.insert(
            name.to_string(),
            Resource {
                path,
                fd: Some(fd),
                lock_held: true,
                flags,
                owners: vec![owner],
            },
        );
        Ok(())
    }

    /// Give back one lease of `owner` on `name`; the last owner out unlocks it (and deletes an
    /// autocreated file).
    pub fn release(&mut self, name: &str, owner: u32) -> Result<(), LockError> {
        let res = self
            .resources
            .get_mut(name)
            .ok_or_else(|| LockError::NotLocked(name.to_string()))?;
        let i = res
            .owners
            .iter()
            .position(|&o| o == owner)
            .ok_or(LockError::NotOwner(owner))?;
        res.owners.remove(i);
        if res.owners.is_empty() {
            self.resources.remove(name);
        }
        Ok(())
    }

    /// Drop every lease `owner` has here (all its entries: libvirt drops one per resource,
    /// which would leak a shared lease acquired twice). Returns how many resources it held.
    pub fn release_owner(&mut self, owner: u32) -> usize {
        let mut count = 0;
        self.resources.retain(|_, res| {
            let before = res.owners.len();
            res.owners.retain(|&o| o != owner);
            if res.owners.len() != before {
                count += 1;
            }
            !res.owners.is_empty()
        });
        count
    }

    /// Hand every resource over for exec: its fd loses FD_CLOEXEC and is released from our
    /// ownership (never closed, so the lock stays with the process). The lockspace is empty
    /// afterwards.
    pub(crate) fn take_for_exec(&mut self) -> Vec<SavedResource> {
        let mut out = Vec::with_capacity(self.resources.len());
        for (name, mut res) in std::mem::take(&mut self.resources) {
            let Some(fd) = res.fd.take() else { continue };
            if let Err(e) = fcntl(fd.as_raw_fd(), FcntlArg::F_SETFD(FdFlag::empty())) {
                tracing::warn!(
                    "Cannot disable close-on-exec flag on {}: {e}",
                    res.path.display()
                );
            }
            out.push(SavedResource {
                name,
                path: res.path.to_string_lossy().into_owned(),
                fd: fd.into_raw_fd(),
                lock_held: res.lock_held,
                flags: res.flags,
                owners: std::mem::take(&mut res.owners),
            });
        }
        out
    }

    /// Rebuild a lockspace from resources whose fds were adopted back after exec.
    pub(crate) fn from_saved(dir: Option<PathBuf>, saved: Vec<(SavedResource, OwnedFd)>) -> Self {
        let resources = saved
            .into_iter()
            .map(|(s, fd)| {
                (
                    s.name,
                    Resource {
                        path: PathBuf::from(s.path),
                        fd: Some(fd),
                        lock_held: s.lock_held,
                        flags: s.flags,
                        owners: s.owners,
                    },
                )
            })
            .collect();
        LockSpace { dir, resources }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testutil::probe;
    use std::os::unix::fs::PermissionsExt;

    const SHARED: u32 = ACQUIRE_SHARED;
    const AUTO: u32 = ACQUIRE_AUTOCREATE;

    fn me() -> i32 {
        std::process::id() as i32
    }

    fn space() -> (tempfile::TempDir, LockSpace) {
        let t = tempfile::tempdir().unwrap();
        let ls = LockSpace::new(t.path().join("space").to_str().unwrap()).unwrap();
        (t, ls)
    }

    #[test]
    fn directory_is_created_0700() {
        let (t, ls) = space();
        let m = std::fs::metadata(t.path().join("space")).unwrap();
        assert!(m.is_dir());
        assert_eq!(m.permissions().mode() & 0o777, 0o700);
        assert_eq!(ls.dir(), Some(t.path().join("space").as_path()));
        let f = t.path().join("file");
        std::fs::write(&f, b"").unwrap();
        assert_eq!(
            LockSpace::new(f.to_str().unwrap()).unwrap_err(),
            LockError::NotADirectory(f.to_str().unwrap().to_string())
        );
    }

    #[test]
    fn exclusive_twice_is_busy() {
        let (_t, mut ls) = space();
        ls.acquire("r", 10, AUTO).unwrap();
        let e = ls.acquire("r", 11, AUTO).unwrap_err();
        assert_eq!(e, LockError::Busy("r".into()));
        assert_eq!(
            e.to_vir().message,
            "resource busy: Lockspace resource 'r' is locked"
        );
        // The same owner again is busy too.
        assert_eq!(
            ls.acquire("r", 10, AUTO).unwrap_err(),
            LockError::Busy("r".into())
        );
        assert_eq!(ls.owners("r"), Some(&[10][..]));
    }

    #[test]
    fn shared_leases_share_and_exclusive_is_refused() {
        let (_t, mut ls) = space();
        ls.acquire("r", 10, SHARED | AUTO).unwrap();
        ls.acquire("r", 11, SHARED | AUTO).unwrap();
        ls.acquire("r", 11, SHARED).unwrap();
        assert_eq!(ls.owners("r"), Some(&[10, 11, 11][..]));
        assert_eq!(
            ls.acquire("r", 12, AUTO).unwrap_err(),
            LockError::Busy("r".into())
        );
        let path = ls.resource_path("r");
        assert_eq!(probe(&path), Some((libc::F_RDLCK as i16, me())));
        ls.release("r", 11).unwrap();
        ls.release("r", 10).unwrap();
        assert!(path.exists());
        ls.release("r", 11).unwrap();
        assert!(ls.is_empty());
        assert!(
            !path.exists(),
            "autocreated shared file removed by the last owner"
        );
        assert_eq!(probe(&path), None);
    }

    #[test]
    fn exclusive_then_shared_is_refused() {
        let (_t, mut ls) = space();
        ls.acquire("r", 10, AUTO).unwrap();
        assert_eq!(
            ls.acquire("r", 11, SHARED | AUTO).unwrap_err(),
            LockError::Busy("r".into())
        );
    }

    #[test]
    fn another_process_sees_our_lock_until_release() {
        let (_t, mut ls) = space();
        ls.acquire("disk", 10, AUTO).unwrap();
        let path = ls.resource_path("disk");
        assert_eq!(probe(&path), Some((libc::F_WRLCK as i16, me())));
        assert_eq!(
            std::fs::metadata(&path).unwrap().permissions().mode() & 0o777,
            0o600
        );
        assert_eq!(ls.release("disk", 11).unwrap_err(), LockError::NotOwner(11));
        ls.release("disk", 10).unwrap();
        assert!(!path.exists(), "autocreated file removed on release");
        assert_eq!(
            ls.release("disk", 10).unwrap_err(),
            LockError::NotLocked("disk".into())
        );
    }

    #[test]
    fn direct_resources_must_exist_and_are_kept() {
        let t = tempfile::tempdir().unwrap();
        let mut ls = LockSpace::direct();
        let img = t.path().join("disk.img");
        let name = img.to_str().unwrap();
        let e = ls.acquire(name, 10, 0).unwrap_err();
        assert_eq!(
            e.to_vir().message,
            format!("Unable to open resource {name}: No such file or directory")
        );
        std::fs::write(&img, b"data").unwrap();
        ls.acquire(name, 10, 0).unwrap();
        assert_eq!(probe(&img), Some((libc::F_WRLCK as i16, me())));
        ls.release(name, 10).unwrap();
        assert_eq!(probe(&img), None);
        assert_eq!(std::fs::read(&img).unwrap(), b"data");
    }

    #[test]
    fn a_file_locked_elsewhere_is_busy() {
        let (_t, mut ls) = space();
        let path = ls.resource_path("r");
        std::fs::write(&path, b"").unwrap();
        let mut holder = crate::testutil::hold_lock(&path);
        let e = ls.acquire("r", 10, AUTO).unwrap_err();
        assert_eq!(e, LockError::Busy("r".into()));
        assert!(ls.is_empty());
        holder.kill().unwrap();
        holder.wait().unwrap();
        ls.acquire("r", 10, AUTO).unwrap();
    }

    #[test]
    fn replaced_file_is_relocked() {
        let (_t, mut ls) = space();
        let path = ls.resource_path("r");
        let mut attempts = 0;
        ls.acquire_with("r", 10, AUTO, &mut |attempt| {
            attempts = attempt + 1;
            if attempt == 0 {
                // Someone deletes and re-creates the file between our open and our check.
                std::fs::remove_file(&path).unwrap();
                std::fs::write(&path, b"new").unwrap();
            }
        })
        .unwrap();
        assert_eq!(attempts, 2);
        // fstat on the held fd itself: closing any other fd of the file would drop our lock.
        let held = ls.resources["r"].fd.as_ref().unwrap();
        let fd_ino = nix::sys::stat::fstat(held.as_raw_fd()).unwrap().st_ino;
        assert_eq!(fd_ino, std::fs::metadata(&path).unwrap().ino());
        assert_eq!(probe(&path), Some((libc::F_WRLCK as i16, me())));

        // A file removed after our lock is re-created on the next attempt.
        let mut n = 0;
        ls.acquire_with("gone", 10, AUTO, &mut |attempt| {
            n = attempt + 1;
            if attempt == 0 {
                std::fs::remove_file(ls_path(&path, "gone")).unwrap();
            }
        })
        .unwrap();
        assert_eq!(n, 2);
        assert!(ls_path(&path, "gone").exists());

        // One that is replaced every time is eventually busy, not an endless loop.
        let mut tries = 0;
        let e = ls
            .acquire_with("flappy", 10, AUTO, &mut |_| {
                tries += 1;
                let p = ls_path(&path, "flappy");
                std::fs::remove_file(&p).unwrap();
                std::fs::write(&p, b"").unwrap();
            })
            .unwrap_err();
        assert_eq!(e, LockError::Busy("flappy".into()));
        assert_eq!(tries, AUTOCREATE_ATTEMPTS);
    }

    fn ls_path(sibling: &Path, name: &str) -> PathBuf {
        sibling.parent().unwrap().join(name)
    }

    #[test]
    fn create_and_delete_resources() {
        let (_t, mut ls) = space();
        ls.create_resource("r").unwrap();
        let path = ls.resource_path("r");
        assert_eq!(
            std::fs::metadata(&path).unwrap().permissions().mode() & 0o777,
            0o600
        );
        ls.acquire("r", 10, 0).unwrap();
        assert_eq!(
            ls.create_resource("r").unwrap_err(),
            LockError::Busy("r".into())
        );
        assert_eq!(
            ls.delete_resource("r").unwrap_err(),
            LockError::Busy("r".into())
        );
        ls.release("r", 10).unwrap();
        assert!(path.exists(), "not autocreated: kept on release");
        ls.delete_resource("r").unwrap();
        assert!(!path.exists());
        ls.delete_resource("r").unwrap();
    }

    #[test]
    fn release_owner_counts_and_keeps_other_owners() {
        let (_t, mut ls) = space();
        ls.acquire("a", 10, AUTO).unwrap();
        ls.acquire("b", 10, SHARED | AUTO).unwrap();
        ls.acquire("b", 10, SHARED | AUTO).unwrap();
        ls.acquire("b", 11, SHARED | AUTO).unwrap();
        ls.acquire("c", 12, AUTO).unwrap();
        assert_eq!(ls.release_owner(10), 2);
        assert_eq!(ls.len(), 2);
        assert_eq!(ls.owners("b"), Some(&[11][..]));
        assert_eq!(ls.release_owner(10), 0);
    }
}
