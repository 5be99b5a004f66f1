//! The age-based cleaner (`max_age_days`, `log_root` of virtlogd.conf).
//!
//! Started by the daemon with [`spawn_cleaner`] when `max_age_days` > 0: at start and then
//! every 24 hours it looks at the log files in `log_root` and in its direct subdirectories
//! (e.g. `/var/log/libvirt/qemu`). Files named `<prefix>.log` and `<prefix>.log.<N>` form a
//! rotated chain; a chain whose newest file was modified more than `max_age_days` ago is deleted
//! whole, unless the [`LogHandler`] has its base file open. A rotated file whose index is above
//! `max_backups` is deleted at once, as libvirt does. [`clean_once`] is one pass, with the
//! current time given, so it can be tested.

use crate::handler::LogHandler;
use std::collections::BTreeMap;
use std::os::unix::ffi::OsStrExt;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Weak};
use std::time::{Duration, SystemTime};
use tokio::task::JoinHandle;

/// Time between passes.
pub const INTERVAL: Duration = Duration::from_secs(24 * 3600);

/// How many directory levels below `log_root` are scanned.
const DEPTH: u32 = 1;

/// A rotated chain: `<prefix>.log`, `<prefix>.log.0`, ...
#[derive(Debug)]
struct Chain {
    max_index: u32,
    newest: SystemTime,
    open: bool,
}

/// Split a file name into the chain prefix and the rotation index (0 for the base file):
/// `vm.log` -> (`vm`, 0), `vm.log.2` -> (`vm`, 2); other names are not logs.
fn parse_name(name: &[u8]) -> Option<(&[u8], u32)> {
    if let Some(prefix) = name.strip_suffix(b".log") {
        return Some((prefix, 0));
    }
    let dot = name.iter().rposition(|&b| b == b'.')?;
    let digits = &name[dot + 1..];
    if digits.is_empty() || !digits.iter().all(u8::is_ascii_digit) {
        return None;
    }
    let prefix = name[..dot].strip_suffix(b".log")?;
    let index = std::str::from_utf8(digits).ok()?.parse().ok()?;
    Some((prefix, index))
}

/// The chain key of a file: its canonical directory joined with the chain prefix.
fn chain_key(dir: &Path, prefix: &[u8]) -> PathBuf {
    dir.join(std::ffi::OsStr::from_bytes(prefix))
}

fn delete(path: &Path, deleted: &mut Vec<PathBuf>) {
    match std::fs::remove_file(path) {
        Ok(()) => {
            tracing::info!(path = %path.display(), "deleted old log file");
            deleted.push(path.to_path_buf());
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
        Err(e) => tracing::warn!("Unable to delete {}: {e}", path.display()),
    }
}

struct Pass<'a> {
    max_backups: u32,
    chains: BTreeMap<PathBuf, Chain>,
    deleted: &'a mut Vec<PathBuf>,
}

impl Pass<'_> {
    fn scan(&mut self, dir: &Path, depth_left: u32) {
        let entries = match std::fs::read_dir(dir) {
            Ok(e) => e,
            Err(e) => {
                if e.kind() != std::io::ErrorKind::NotFound {
                    tracing::warn!("Unable to open directory {}: {e}", dir.display());
                }
                return;
            }
        };
        for entry in entries.flatten() {
            let path = entry.path();
            // Follows symlinks, as libvirt's stat() does.
            let meta = match std::fs::metadata(&path) {
                Ok(m) => m,
                Err(e) => {
                    tracing::warn!("Unable to stat {}: {e}", path.display());
                    continue;
                }
            };
            if meta.is_dir() {
                if depth_left > 0 {
                    let sub = std::fs::canonicalize(&path).unwrap_or(path);
                    self.scan(&sub, depth_left - 1);
                }
                continue;
            }
            if !meta.is_file() {
                continue;
            }
            let name = entry.file_name();
            let Some((prefix, index)) = parse_name(name.as_bytes()) else {
                continue;
            };
            if index > self.max_backups {
                delete(&path, self.deleted);
                continue;
            }
            let mtime = meta.modified().unwrap_or(SystemTime::UNIX_EPOCH);
            let chain = self.chains.entry(chain_key(dir, prefix)).or_insert(Chain {
                max_index: 0,
                newest: SystemTime::UNIX_EPOCH,
                open: false,
            });
            chain.max_index = chain.max_index.max(index);
            chain.newest = chain.newest.max(mtime);
        }
    }
}

/// One pass over `log_root` at time `now`: delete the chains older than `max_age_days` whose
/// base is not among `open` (the handler's open paths). Returns the deleted files.
pub fn clean_once(
    log_root: &Path,
    max_age_days: u32,
    max_backups: u32,
    open: &[PathBuf],
    now: SystemTime,
) -> Vec<PathBuf> {
    let mut deleted = Vec::new();
    let Ok(root) = std::fs::canonicalize(log_root) else {
        return deleted;
    };
    let mut pass = Pass {
        max_backups,
        chains: BTreeMap::new(),
        deleted: &mut deleted,
    };
    for path in open {
        let (Some(dir), Some(name)) = (path.parent(), path.file_name()) else {
            continue;
        };
        if let Some((prefix, _)) = parse_name(name.as_bytes()) {
            let dir = std::fs::canonicalize(dir).unwrap_or_else(|_| dir.to_path_buf());
            pass.chains.insert(
                chain_key(&dir, prefix),
                Chain {
                    max_index: 0,
                    newest: SystemTime::UNIX_EPOCH,
                    open: true,
                },
            );
        }
    }
    pass.scan(&root, DEPTH);
    let age = Duration::from_secs(u64::from(max_age_days) * 24 * 3600);
    let Some(oldest_to_keep) = now.checked_sub(age) else {
        return deleted;
    };
    for (key, chain) in &pass.chains {
        if chain.open || chain.newest > oldest_to_keep {
            continue;
        }
        let mut base = key.as_os_str().to_owned();
        base.push(".log");
        let base = PathBuf::from(base);
        delete(&base, pass.deleted);
        for n in 0..=chain.max_index {
            delete(&crate::rotating::backup_path(&base, n), pass.deleted);
        }
    }
    deleted
}

/// Run [`clean_once`] now and every [`INTERVAL`] for `handler`'s files, until the handler is
/// dropped or the task aborted. With `max_age_days` 0 (disabled) the task ends at once. Call
/// inside a tokio runtime; the passes run on the blocking pool.
pub fn spawn_cleaner(
    log_root: PathBuf,
    max_age_days: u32,
    handler: Arc<LogHandler>,
) -> JoinHandle<()> {
    let handler: Weak<LogHandler> = Arc::downgrade(&handler);
    tokio::spawn(async move {
        if max_age_days == 0 {
            return;
        }
        let mut tick = tokio::time::interval(INTERVAL);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tick.tick().await;
            let Some(h) = handler.upgrade() else { break };
            let open = h.open_paths();
            let max_backups = h.settings().max_backups;
            drop(h);
            let root = log_root.clone();
            let pass = tokio::task::spawn_blocking(move || {
                clean_once(&root, max_age_days, max_backups, &open, SystemTime::now())
            });
            if let Err(e) = pass.await {
                tracing::warn!("log cleaner pass failed: {e}");
            }
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::handler::LogSettings;
    use std::fs::File;

    const DAY: Duration = Duration::from_secs(24 * 3600);

    fn touch(path: &Path, mtime: SystemTime) {
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        let f = File::create(path).unwrap();
        f.set_modified(mtime).unwrap();
    }

    #[test]
    fn names() {
        assert_eq!(parse_name(b"vm.log"), Some((&b"vm"[..], 0)));
        assert_eq!(parse_name(b"vm.log.12"), Some((&b"vm"[..], 12)));
        assert_eq!(parse_name(b"a.log.log"), Some((&b"a.log"[..], 0)));
        assert_eq!(parse_name(b".log"), Some((&b""[..], 0)));
        assert_eq!(parse_name(b"vm.log."), None);
        assert_eq!(parse_name(b"vm.log.x"), None);
        assert_eq!(parse_name(b"vm.txt"), None);
        assert_eq!(parse_name(b"vm.log.99999999999"), None);
    }

    #[test]
    fn one_pass() {
        let d = tempfile::tempdir().unwrap();
        let r = d.path();
        let now = SystemTime::now();
        let old = now - 10 * DAY;
        let new = now - DAY;
        let files = [
            ("a.log", old),
            ("a.log.0", old),
            ("a.log.1", old),
            ("b.log", new),
            ("b.log.0", old),
            ("qemu/c.log", old),
            ("qemu/c.log.0", old),
            ("qemu/open.log", old),
            ("qemu/open.log.0", old),
            ("qemu/deep/d.log", old),
            ("notes.txt", old),
            ("e.log.3", old),
            ("e.log.7", new),
            ("f.log.2", old),
        ];
        for (name, t) in files {
            touch(&r.join(name), t);
        }
        let open = vec![r.join("qemu/open.log")];
        let mut deleted = clean_once(r, 5, 3, &open, now);
        deleted.sort();
        let root = std::fs::canonicalize(r).unwrap();
        let mut want: Vec<PathBuf> = [
            "a.log",
            "a.log.0",
            "a.log.1",
            "qemu/c.log",
            "qemu/c.log.0",
            "e.log.7",
            "e.log.3",
            "f.log.2",
        ]
        .iter()
        .map(|n| root.join(n))
        .collect();
        want.sort();
        assert_eq!(deleted, want);
        for n in [
            "b.log",
            "b.log.0",
            "qemu/open.log",
            "qemu/open.log.0",
            "qemu/deep/d.log",
            "notes.txt",
        ] {
            assert!(r.join(n).exists(), "{n} was deleted");
        }
        // Nothing is old enough with a longer age, and a missing root is no error.
        assert!(clean_once(r, 30, 3, &[], now).is_empty());
        assert!(clean_once(&r.join("missing"), 1, 3, &[], now).is_empty());
    }

    #[tokio::test]
    async fn spawned_cleaner_runs_at_start() {
        let d = tempfile::tempdir().unwrap();
        let old = d.path().join("old.log");
        touch(&old, SystemTime::now() - 3 * DAY);
        let h = LogHandler::new(LogSettings::default());
        let disabled = spawn_cleaner(d.path().to_path_buf(), 0, h.clone());
        tokio::time::timeout(Duration::from_secs(10), disabled)
            .await
            .unwrap()
            .unwrap();
        assert!(old.exists());
        let task = spawn_cleaner(d.path().to_path_buf(), 2, h.clone());
        for _ in 0..500 {
            if !old.exists() {
                break;
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        assert!(!old.exists());
        // Dropping the handler ends the task at its next pass; abort it here.
        task.abort();
    }
}
