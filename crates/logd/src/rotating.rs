//! Size-rotated log files with libvirt's rotating file semantics.
//!
//! A log is `base` plus up to `max_backups` older copies `base.0` (newest) ..
//! `base.(max_backups-1)` (oldest). [`RotatingWriter`] appends to `base` and rolls the files
//! over when `max_size` would be exceeded; [`RotatingReader`] reads from a position (inode,
//! offset) forward across the set, older files first. The handler owns writers; READ and the
//! handler's transient APPEND create their own. Nothing here knows about pipes or RPC.

use crate::error::{LogError, MAX_BACKUPS};
use std::fs::{File, OpenOptions};
use std::io::{ErrorKind, Read, Seek, SeekFrom, Write};
use std::os::unix::fs::{MetadataExt, OpenOptionsExt};
use std::path::{Path, PathBuf};

/// Mode of created log files.
pub const FILE_MODE: u32 = 0o600;

/// When a write must be split at `max_size`, a newline within this many bytes before the cut
/// moves the cut to just after it, so that lines stay whole.
const NEWLINE_WINDOW: usize = 80;

/// `base.N`.
pub fn backup_path(base: &Path, n: u32) -> PathBuf {
    let mut s = base.as_os_str().to_owned();
    s.push(format!(".{n}"));
    PathBuf::from(s)
}

fn check_backups(max_backups: u32) -> Result<(), LogError> {
    if max_backups > MAX_BACKUPS {
        return Err(LogError::TooManyBackups(max_backups));
    }
    Ok(())
}

/// Remove `path`; a missing file is fine.
fn remove_if_exists(path: &Path, what: &str) -> Result<(), LogError> {
    match std::fs::remove_file(path) {
        Err(e) if e.kind() != ErrorKind::NotFound => {
            Err(LogError::file(format!("{what} {}", path.display()), e))
        }
        _ => Ok(()),
    }
}

/// Appends to `base`, rolling it over into backups at `max_size`.
#[derive(Debug)]
pub struct RotatingWriter {
    base: PathBuf,
    max_size: u64,
    max_backups: u32,
    file: File,
    inode: u64,
    pos: u64,
}

impl RotatingWriter {
    /// Open `base` for appending (created 0600 if missing). With `truncate`, `base` and all its
    /// backups are deleted first. `max_size` 0 never rotates; `max_backups` 0 keeps no backups.
    pub fn open(
        base: &Path,
        max_size: u64,
        max_backups: u32,
        truncate: bool,
    ) -> Result<Self, LogError> {
        check_backups(max_backups)?;
        if truncate {
            remove_if_exists(base, "Unable to delete file")?;
            for n in 0..max_backups {
                remove_if_exists(&backup_path(base, n), "Unable to delete file")?;
            }
        }
        let (file, inode, pos) = Self::open_base(base)?;
        Ok(RotatingWriter {
            base: base.to_path_buf(),
            max_size,
            max_backups,
            file,
            inode,
            pos,
        })
    }

    fn open_base(base: &Path) -> Result<(File, u64, u64), LogError> {
        let mut file = OpenOptions::new()
            .append(true)
            .create(true)
            .mode(FILE_MODE)
            .open(base)
            .map_err(|e| LogError::file(format!("Unable to open file: {}", base.display()), e))?;
        let pos = file.seek(SeekFrom::End(0)).map_err(|e| {
            LogError::file(
                format!(
                    "Unable to determine current file offset: {}",
                    base.display()
                ),
                e,
            )
        })?;
        let inode = file
            .metadata()
            .map_err(|e| {
                LogError::file(
                    format!("Unable to determine current file inode: {}", base.display()),
                    e,
                )
            })?
            .ino();
        Ok((file, inode, pos))
    }

    /// The base path.
    pub fn path(&self) -> &Path {
        &self.base
    }

    /// Inode of the file currently written (`base`).
    pub fn inode(&self) -> u64 {
        self.inode
    }

    /// Offset at which the next byte is written in the current file.
    pub fn position(&self) -> u64 {
        self.pos
    }

    /// Append all of `buf`, rolling over as needed. On error some of `buf` may be written.
    pub fn append(&mut self, buf: &[u8]) -> Result<(), LogError> {
        let mut rest = buf;
        // A fresh base after a rollover is always written to, even if it is somehow already at
        // `max_size` (someone else wrote it): that keeps this loop finite.
        let mut fresh = false;
        while !rest.is_empty() {
            if self.max_size == 0 {
                return self.write(rest);
            }
            if self.pos >= self.max_size && !fresh {
                // An existing file already at or over the limit is rolled before writing.
                self.rollover()?;
                fresh = true;
                continue;
            }
            // (After a rollover the new base is treated as empty even if it is not.)
            let room = match self.max_size.checked_sub(self.pos) {
                Some(r) if r > 0 => r,
                _ => self.max_size,
            };
            if rest.len() as u64 <= room {
                return self.write(rest);
            }
            let mut cut = room as usize;
            let window = cut.saturating_sub(NEWLINE_WINDOW);
            if let Some(nl) = rest[window..cut].iter().rposition(|&b| b == b'\n') {
                cut = window + nl + 1;
            }
            self.write(&rest[..cut])?;
            rest = &rest[cut..];
            self.rollover()?;
            fresh = true;
        }
        Ok(())
    }

    fn write(&mut self, data: &[u8]) -> Result<(), LogError> {
        self.file.write_all(data).map_err(|e| {
            LogError::file(
                format!("Unable to write to file {}", self.base.display()),
                e,
            )
        })?;
        self.pos += data.len() as u64;
        Ok(())
    }

    /// Shift the backups up by one (the oldest is overwritten), move `base` to `base.0` (or
    /// delete it without backups) and open a new `base`.
    fn rollover(&mut self) -> Result<(), LogError> {
        tracing::debug!(path = %self.base.display(), "rolling over log file");
        if self.max_backups == 0 {
            remove_if_exists(&self.base, "Unable to remove")?;
        } else {
            for n in (0..self.max_backups).rev() {
                let from = if n == 0 {
                    self.base.clone()
                } else {
                    backup_path(&self.base, n - 1)
                };
                let to = backup_path(&self.base, n);
                match std::fs::rename(&from, &to) {
                    Err(e) if e.kind() != ErrorKind::NotFound => {
                        return Err(LogError::file(
                            format!("Unable to rename {} to {}", from.display(), to.display()),
                            e,
                        ))
                    }
                    _ => {}
                }
            }
        }
        let (file, inode, pos) = Self::open_base(&self.base)?;
        self.file = file;
        self.inode = inode;
        self.pos = pos;
        Ok(())
    }
}

#[derive(Debug)]
struct ReaderEntry {
    path: PathBuf,
    /// None if the file did not exist when the reader was opened.
    file: Option<File>,
    inode: u64,
}

/// Reads a rotated log from a position forward, across files from older to newer.
#[derive(Debug)]
pub struct RotatingReader {
    /// Oldest first: `base.(max_backups-1)`, ..., `base.0`, `base`.
    entries: Vec<ReaderEntry>,
    current: usize,
}

impl RotatingReader {
    /// Open whichever of `base` and its `max_backups` backups exist. Reading starts at the
    /// oldest file until [`RotatingReader::seek`] says otherwise.
    pub fn open(base: &Path, max_backups: u32) -> Result<Self, LogError> {
        check_backups(max_backups)?;
        let mut entries = Vec::with_capacity(max_backups as usize + 1);
        let paths = (0..max_backups)
            .rev()
            .map(|n| backup_path(base, n))
            .chain(std::iter::once(base.to_path_buf()));
        for path in paths {
            let (file, inode) = match File::open(&path) {
                Ok(f) => {
                    let ino = f
                        .metadata()
                        .map_err(|e| {
                            LogError::file(
                                format!(
                                    "Unable to determine current file inode: {}",
                                    path.display()
                                ),
                                e,
                            )
                        })?
                        .ino();
                    (Some(f), ino)
                }
                Err(e) if e.kind() == ErrorKind::NotFound => (None, 0),
                Err(e) => {
                    return Err(LogError::file(
                        format!("Unable to open file: {}", path.display()),
                        e,
                    ))
                }
            };
            entries.push(ReaderEntry { path, file, inode });
        }
        let current = entries
            .iter()
            .position(|e| e.file.is_some())
            .unwrap_or(entries.len());
        Ok(RotatingReader { entries, current })
    }

    /// Position at `offset` in the file whose inode is `inode`. If no such file exists any
    /// more (it was rotated away), start at the beginning of the oldest existing file.
    pub fn seek(&mut self, inode: u64, offset: u64) -> Result<(), LogError> {
        let found = self
            .entries
            .iter()
            .position(|e| e.file.is_some() && e.inode == inode);
        let (idx, offset) = match found {
            Some(i) => (i, offset),
            None => match self.entries.iter().position(|e| e.file.is_some()) {
                Some(i) => (i, 0),
                // No file at all: libvirt fails the seek on its closed slot (EBADF); so do we,
                // with its words, so clients show the same error.
                None => {
                    self.current = self.entries.len();
                    return Err(LogError::file(
                        format!("Unable to seek to inode {inode} offset {offset}"),
                        std::io::Error::from_raw_os_error(nix::errno::Errno::EBADF as i32),
                    ));
                }
            },
        };
        let entry = &mut self.entries[idx];
        if let Some(f) = entry.file.as_mut() {
            f.seek(SeekFrom::Start(offset)).map_err(|e| {
                LogError::file(
                    format!("Unable to seek to inode {inode} offset {offset}"),
                    e,
                )
            })?;
        }
        self.current = idx;
        Ok(())
    }

    /// Read up to `maxlen` bytes, continuing into newer files at the end of each one.
    pub fn read(&mut self, maxlen: usize) -> Result<Vec<u8>, LogError> {
        let mut out = Vec::new();
        while out.len() < maxlen && self.current < self.entries.len() {
            let entry = &mut self.entries[self.current];
            let Some(f) = entry.file.as_mut() else {
                self.current += 1;
                continue;
            };
            let want = (maxlen - out.len()) as u64;
            let got = f.take(want).read_to_end(&mut out).map_err(|e| {
                LogError::file(
                    format!("Unable to read from file {}", entry.path.display()),
                    e,
                )
            })?;
            if (got as u64) < want {
                // End of this file: continue with the next newer one.
                self.current += 1;
            }
        }
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::BTreeMap;

    /// Every file in `dir`: name -> contents.
    fn files(dir: &Path) -> BTreeMap<String, String> {
        std::fs::read_dir(dir)
            .unwrap()
            .map(|e| {
                let e = e.unwrap();
                (
                    e.file_name().into_string().unwrap(),
                    String::from_utf8(std::fs::read(e.path()).unwrap()).unwrap(),
                )
            })
            .collect()
    }

    fn map(v: &[(&str, &str)]) -> BTreeMap<String, String> {
        v.iter()
            .map(|(a, b)| (a.to_string(), b.to_string()))
            .collect()
    }

    #[test]
    fn rotates_through_backups_oldest_dropped() {
        let d = tempfile::tempdir().unwrap();
        let base = d.path().join("vm.log");
        let mut w = RotatingWriter::open(&base, 10, 2, false).unwrap();
        w.append(b"aaaaaaaaaa").unwrap(); // exactly full: no rollover yet
        assert_eq!(files(d.path()), map(&[("vm.log", "aaaaaaaaaa")]));
        w.append(b"bbbbbbbbbbcccccccccc").unwrap();
        assert_eq!(
            files(d.path()),
            map(&[
                ("vm.log", "cccccccccc"),
                ("vm.log.0", "bbbbbbbbbb"),
                ("vm.log.1", "aaaaaaaaaa"),
            ])
        );
        w.append(b"dd").unwrap();
        assert_eq!(
            files(d.path()),
            map(&[
                ("vm.log", "dd"),
                ("vm.log.0", "cccccccccc"),
                ("vm.log.1", "bbbbbbbbbb"),
            ])
        );
        assert_eq!(w.position(), 2);
        let meta = std::fs::metadata(&base).unwrap();
        assert_eq!(w.inode(), meta.ino());
        assert_eq!(meta.mode() & 0o777, 0o600);
    }

    #[test]
    fn split_at_newline_in_last_80_bytes() {
        let d = tempfile::tempdir().unwrap();
        let base = d.path().join("l");
        let mut w = RotatingWriter::open(&base, 100, 3, false).unwrap();
        // 150 bytes: a newline at index 10 (outside the last 80 of the first 100) and at 60.
        let mut msg = vec![b'x'; 150];
        msg[10] = b'\n';
        msg[60] = b'\n';
        w.append(&msg).unwrap();
        assert_eq!(std::fs::read(backup_path(&base, 0)).unwrap(), &msg[..61]);
        assert_eq!(std::fs::read(&base).unwrap(), &msg[61..]);
        assert_eq!(w.position(), 89);

        // A newline just outside the 80-byte window does not move the cut.
        let d = tempfile::tempdir().unwrap();
        let base = d.path().join("l");
        let mut w = RotatingWriter::open(&base, 100, 3, false).unwrap();
        let mut msg = vec![b'y'; 150];
        msg[19] = b'\n'; // the window is bytes 20..100
        w.append(&msg).unwrap();
        assert_eq!(std::fs::read(backup_path(&base, 0)).unwrap(), &msg[..100]);
        assert_eq!(std::fs::read(&base).unwrap(), &msg[100..]);

        // A newline as the last byte that fits: cut there.
        let d = tempfile::tempdir().unwrap();
        let base = d.path().join("l");
        let mut w = RotatingWriter::open(&base, 10, 1, false).unwrap();
        w.append(b"123456789\nabc").unwrap();
        assert_eq!(
            files(d.path()),
            map(&[("l", "abc"), ("l.0", "123456789\n")])
        );
    }

    #[test]
    fn no_backups_recreates_base() {
        let d = tempfile::tempdir().unwrap();
        let base = d.path().join("l");
        let mut w = RotatingWriter::open(&base, 4, 0, false).unwrap();
        w.append(b"abcdefghij").unwrap();
        assert_eq!(files(d.path()), map(&[("l", "ij")]));
    }

    #[test]
    fn zero_size_never_rotates() {
        let d = tempfile::tempdir().unwrap();
        let base = d.path().join("l");
        let mut w = RotatingWriter::open(&base, 0, 3, false).unwrap();
        for _ in 0..100 {
            w.append(b"0123456789\n").unwrap();
        }
        assert_eq!(files(d.path()).len(), 1);
        assert_eq!(w.position(), 1100);
    }

    #[test]
    fn oversize_existing_file_is_rolled_first() {
        let d = tempfile::tempdir().unwrap();
        let base = d.path().join("l");
        std::fs::write(&base, "0123456789012").unwrap();
        let mut w = RotatingWriter::open(&base, 10, 3, false).unwrap();
        assert_eq!(w.position(), 13);
        let old_inode = w.inode();
        w.append(b"new").unwrap();
        assert_eq!(
            files(d.path()),
            map(&[("l", "new"), ("l.0", "0123456789012")])
        );
        assert_ne!(w.inode(), old_inode);
        assert_eq!(w.position(), 3);
        // Appending to an existing file keeps its content and starts at its end.
        let mut w2 = RotatingWriter::open(&base, 10, 3, false).unwrap();
        assert_eq!(w2.position(), 3);
        w2.append(b"++").unwrap();
        assert_eq!(std::fs::read(&base).unwrap(), b"new++");
    }

    #[test]
    fn truncate_removes_base_and_backups() {
        let d = tempfile::tempdir().unwrap();
        let base = d.path().join("l");
        for n in ["l", "l.0", "l.1", "l.2", "other"] {
            std::fs::write(d.path().join(n), "old").unwrap();
        }
        let mut w = RotatingWriter::open(&base, 10, 2, true).unwrap();
        assert_eq!(w.position(), 0);
        w.append(b"fresh").unwrap();
        // l.2 is beyond max_backups 2 and is left alone, as libvirt does.
        assert_eq!(
            files(d.path()),
            map(&[("l", "fresh"), ("l.2", "old"), ("other", "old")])
        );
    }

    #[test]
    fn too_many_backups() {
        let d = tempfile::tempdir().unwrap();
        assert_eq!(
            RotatingWriter::open(&d.path().join("l"), 1, 33, false).unwrap_err(),
            LogError::TooManyBackups(33)
        );
        assert!(RotatingReader::open(&d.path().join("l"), 33).is_err());
    }

    #[test]
    fn open_failure_is_a_system_error() {
        let e = RotatingWriter::open(Path::new("/nonexistent-dir/x/l"), 1, 1, false).unwrap_err();
        assert_eq!(
            e.to_string(),
            "Unable to open file: /nonexistent-dir/x/l: No such file or directory"
        );
    }

    #[test]
    fn reader_follows_inode_across_rotations() {
        let d = tempfile::tempdir().unwrap();
        let base = d.path().join("l");
        let mut w = RotatingWriter::open(&base, 10, 3, false).unwrap();
        w.append(b"0123456789").unwrap();
        let (ino, off) = (w.inode(), 4);
        w.append(b"abcdefghij").unwrap(); // base -> l.0
        w.append(b"KLMNO").unwrap(); // l.0 -> l.1, base = "KLMNO"
        assert_eq!(
            files(d.path()),
            map(&[("l", "KLMNO"), ("l.0", "abcdefghij"), ("l.1", "0123456789")])
        );

        let mut r = RotatingReader::open(&base, 3).unwrap();
        r.seek(ino, off).unwrap();
        assert_eq!(r.read(1000).unwrap(), b"456789abcdefghijKLMNO");

        // Bounded by maxlen, and a later read continues.
        let mut r = RotatingReader::open(&base, 3).unwrap();
        r.seek(ino, off).unwrap();
        assert_eq!(r.read(8).unwrap(), b"456789ab");
        assert_eq!(r.read(3).unwrap(), b"cde");

        // The current file.
        let mut r = RotatingReader::open(&base, 3).unwrap();
        r.seek(w.inode(), 2).unwrap();
        assert_eq!(r.read(100).unwrap(), b"MNO");

        // Rotate the original file out of existence: reading starts at the oldest file.
        for _ in 0..4 {
            w.append(b"zzzzzzzzzz").unwrap();
        }
        w.append(b"0").unwrap();
        assert!(!files(d.path()).values().any(|v| v == "0123456789"));
        let mut r = RotatingReader::open(&base, 3).unwrap();
        r.seek(ino, off).unwrap();
        let all = r.read(1000).unwrap();
        let oldest = std::fs::read(backup_path(&base, 2)).unwrap();
        assert!(all.starts_with(&oldest), "{all:?}");
        assert!(all.ends_with(b"0"));

        // Fewer backups read fewer files.
        let mut r = RotatingReader::open(&base, 0).unwrap();
        r.seek(ino, 0).unwrap();
        assert_eq!(r.read(1000).unwrap(), std::fs::read(&base).unwrap());
    }

    #[test]
    fn reader_without_files_fails_like_libvirt() {
        let d = tempfile::tempdir().unwrap();
        let mut r = RotatingReader::open(&d.path().join("none"), 3).unwrap();
        let e = r.seek(12345, 7).unwrap_err().to_vir();
        assert_eq!(
            e.message,
            "Unable to seek to inode 12345 offset 7: Bad file descriptor"
        );
        assert!(r.read(100).unwrap().is_empty());
    }
}
