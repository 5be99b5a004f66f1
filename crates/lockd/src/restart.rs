//! Re-exec state (SIGUSR1 live upgrade) in libvirt's JSON layout, so that state written by
//! libvirt's virtlockd can be read back and the other way round.
//!
//! fcntl locks belong to the process; `exec` keeps the pid, so an fd that survives `exec`
//! keeps its lock. [`LockDaemon::save_for_exec`] therefore hands every lock fd over as a raw
//! fd number without FD_CLOEXEC (it is never closed), and [`LockDaemon::restore`] adopts those
//! numbers again (FD_CLOEXEC set back). The daemon binary writes the document (with its
//! `daemon` and `magic` keys) and performs the exec; per-client data ([`client_private`],
//! [`restore_client_private`]) travels inside its server/client records.
//!
//! Layout: `{"defaultLockspace": LS, "lockspaces": [LS, ...]}` with
//! LS = `{"directory"?: str, "resources": [{"name", "path", "fd", "lockHeld", "flags",
//! "owners": [pid, ...]}]}`; client data = `{"restricted", "ownerPid", "ownerId",
//! "ownerName", "ownerUUID"}`.

use crate::error::LockError;
use crate::lockspace::{LockSpace, SavedResource};
use crate::program::{ClientPriv, ClientState};
use crate::state::{LockDaemon, Spaces};
use nix::fcntl::{fcntl, FcntlArg, FdFlag};
use oxvirt_rpc::Client;
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};
use std::collections::{BTreeMap, HashSet};
use std::os::fd::{FromRawFd, OwnedFd};
use std::path::PathBuf;
use std::sync::Arc;

#[derive(Debug, Serialize, Deserialize)]
struct SavedSpace {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    directory: Option<String>,
    resources: Vec<SavedRes>,
}

#[derive(Debug, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
struct SavedRes {
    name: String,
    path: String,
    fd: i32,
    lock_held: bool,
    flags: u32,
    owners: Vec<u64>,
}

#[derive(Debug, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
struct SavedDaemon {
    default_lockspace: SavedSpace,
    lockspaces: Vec<SavedSpace>,
}

fn save_space(ls: &mut LockSpace) -> SavedSpace {
    SavedSpace {
        directory: ls.dir().map(|d| d.to_string_lossy().into_owned()),
        resources: ls
            .take_for_exec()
            .into_iter()
            .map(|r| SavedRes {
                name: r.name,
                path: r.path,
                fd: r.fd,
                lock_held: r.lock_held,
                flags: r.flags,
                owners: r.owners.into_iter().map(u64::from).collect(),
            })
            .collect(),
    }
}

fn bad(msg: impl Into<String>) -> LockError {
    LockError::BadState(msg.into())
}

/// A saved lockspace, checked but with its fds not adopted yet.
struct Checked {
    dir: Option<PathBuf>,
    resources: Vec<SavedResource>,
}

/// Check one lockspace; every fd must be open and not claimed twice in the document.
fn check_space(s: SavedSpace, seen: &mut HashSet<i32>) -> Result<Checked, LockError> {
    let mut names = HashSet::new();
    let mut resources = Vec::with_capacity(s.resources.len());
    for r in s.resources {
        if !names.insert(r.name.clone()) {
            return Err(bad(format!(
                "Duplicate resource {} in JSON document",
                r.name
            )));
        }
        if r.fd < 0 || !seen.insert(r.fd) {
            return Err(bad(format!(
                "Malformed resource fd {} in JSON document",
                r.fd
            )));
        }
        if fcntl(r.fd, FcntlArg::F_GETFD).is_err() {
            return Err(bad(format!(
                "Resource fd {} of {} is not open",
                r.fd, r.path
            )));
        }
        let owners = r
            .owners
            .iter()
            .map(|&o| u32::try_from(o).map_err(|_| bad("Malformed owner value in JSON document")))
            .collect::<Result<Vec<u32>, _>>()?;
        resources.push(SavedResource {
            name: r.name,
            path: r.path,
            fd: r.fd,
            lock_held: r.lock_held,
            flags: r.flags,
            owners,
        });
    }
    Ok(Checked {
        dir: s.directory.map(PathBuf::from),
        resources,
    })
}

/// Take ownership of checked fds again (FD_CLOEXEC back on).
fn adopt(c: Checked) -> LockSpace {
    let saved = c
        .resources
        .into_iter()
        .map(|r| {
            if let Err(e) = fcntl(r.fd, FcntlArg::F_SETFD(FdFlag::FD_CLOEXEC)) {
                tracing::warn!("Cannot enable close-on-exec flag on fd {}: {e}", r.fd);
            }
            // SAFETY: `check_space` verified that this fd is open and that no other resource
            // of the document names it; it is the lock fd our previous image released with
            // `into_raw_fd` before exec (the state file is ours: written 0700 by this daemon
            // and checked by its magic), so nothing else in the process owns it.
            let fd = unsafe { OwnedFd::from_raw_fd(r.fd) };
            (r, fd)
        })
        .collect();
    LockSpace::from_saved(c.dir, saved)
}

impl LockDaemon {
    /// Hand the whole lock state over for exec, in libvirt's layout (`defaultLockspace`,
    /// `lockspaces`). Every lock fd loses FD_CLOEXEC and is released from our ownership
    /// without being closed, so its lock stays held by this process across `exec`.
    /// Afterwards the daemon holds nothing (only an empty default lockspace); if the exec
    /// fails, [`LockDaemon::restore`] on the same document takes everything back.
    pub fn save_for_exec(&self) -> Value {
        let mut s = self.spaces();
        let default_lockspace = save_space(&mut s.default);
        let lockspaces = std::mem::take(&mut s.dirs)
            .into_values()
            .map(|mut ls| save_space(&mut ls))
            .collect();
        serde_json::to_value(SavedDaemon {
            default_lockspace,
            lockspaces,
        })
        .expect("plain data serialises")
    }

    /// Rebuild the daemon from a [`LockDaemon::save_for_exec`] document (other keys, such as
    /// the daemon binary's `daemon` and `magic`, are ignored), adopting its lock fds. The
    /// whole document is checked (every fd open and named once, lockspaces distinct) before
    /// any fd is adopted, so a bad document leaves every fd and lock as it was.
    pub fn restore(v: &Value) -> Result<Arc<LockDaemon>, LockError> {
        let saved = SavedDaemon::deserialize(v)
            .map_err(|e| bad(format!("Malformed lock daemon state: {e}")))?;
        let mut seen = HashSet::new();
        let default = check_space(saved.default_lockspace, &mut seen)?;
        let mut dirs = Vec::with_capacity(saved.lockspaces.len());
        let mut paths = HashSet::new();
        for s in saved.lockspaces {
            let Some(dir) = s.directory.clone() else {
                return Err(bad("Missing lockspace directory in JSON document"));
            };
            if dir.is_empty() || !paths.insert(dir.clone()) {
                return Err(bad(format!("Malformed lockspace directory '{dir}'")));
            }
            dirs.push((dir, check_space(s, &mut seen)?));
        }
        let spaces = Spaces {
            default: adopt(default),
            dirs: dirs
                .into_iter()
                .map(|(dir, c)| (dir, adopt(c)))
                .collect::<BTreeMap<_, _>>(),
        };
        Ok(LockDaemon::from_spaces(spaces))
    }
}

fn format_uuid(u: &[u8; 16]) -> String {
    let h: String = u.iter().map(|b| format!("{b:02x}")).collect();
    format!(
        "{}-{}-{}-{}-{}",
        &h[..8],
        &h[8..12],
        &h[12..16],
        &h[16..20],
        &h[20..]
    )
}

/// Parse a UUID as libvirt does: 32 hex digits, dashes and spaces between them ignored.
fn parse_uuid(s: &str) -> Option<[u8; 16]> {
    let digits: Vec<u8> = s
        .trim()
        .chars()
        .filter(|c| *c != '-' && *c != ' ')
        .map(|c| c.to_digit(16).map(|d| d as u8))
        .collect::<Option<_>>()?;
    if digits.len() != 32 {
        return None;
    }
    let mut out = [0u8; 16];
    for (i, pair) in digits.chunks(2).enumerate() {
        out[i] = pair[0] << 4 | pair[1];
    }
    Some(out)
}

/// A client's lock data for the exec state: `{"restricted", "ownerPid", "ownerId",
/// "ownerName", "ownerUUID"}` (an unregistered client has id and pid 0 and an empty name).
pub fn client_private(client: &Client) -> Value {
    let c = ClientState::of(client).lock().clone();
    json!({
        "restricted": c.restricted,
        "ownerPid": c.owner_pid,
        "ownerId": c.owner_id,
        "ownerName": c.owner_name,
        "ownerUUID": format_uuid(&c.owner_uuid),
    })
}

/// Give a re-created client the lock data [`client_private`] saved (all five keys needed).
pub fn restore_client_private(client: &Client, v: &Value) -> Result<(), LockError> {
    let missing = |key: &str| bad(format!("Missing {key} data in JSON document"));
    let uint = |key: &str| {
        v.get(key)
            .and_then(Value::as_u64)
            .and_then(|n| u32::try_from(n).ok())
            .ok_or_else(|| missing(key))
    };
    let restricted = v
        .get("restricted")
        .and_then(Value::as_bool)
        .ok_or_else(|| missing("restricted"))?;
    let owner_pid = uint("ownerPid")?;
    let owner_id = uint("ownerId")?;
    let owner_name = v
        .get("ownerName")
        .and_then(Value::as_str)
        .ok_or_else(|| missing("ownerName"))?
        .to_string();
    let owner_uuid = v
        .get("ownerUUID")
        .and_then(Value::as_str)
        .and_then(parse_uuid)
        .ok_or_else(|| missing("ownerUUID"))?;
    *ClientState::of(client).lock() = ClientPriv {
        restricted,
        owner_id,
        owner_pid,
        owner_name,
        owner_uuid,
    };
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::program::tests::{acquire_args, call, register};
    use crate::protocol::{procs as p, ACQUIRE_AUTOCREATE as AUTO, ACQUIRE_SHARED as SHARED};
    use crate::testutil::probe;

    fn cloexec(fd: i32) -> bool {
        FdFlag::from_bits_truncate(fcntl(fd, FcntlArg::F_GETFD).unwrap())
            .contains(FdFlag::FD_CLOEXEC)
    }

    fn fds(v: &Value) -> Vec<i32> {
        let mut out = Vec::new();
        let spaces = std::iter::once(&v["defaultLockspace"])
            .chain(v["lockspaces"].as_array().unwrap().iter());
        for s in spaces {
            for r in s["resources"].as_array().unwrap() {
                out.push(r["fd"].as_i64().unwrap() as i32);
            }
        }
        out
    }

    #[test]
    fn save_and_restore_keep_the_locks() {
        let t = tempfile::tempdir().unwrap();
        let dir = t.path().join("leases");
        let dir_s = dir.to_str().unwrap();
        let img = t.path().join("disk.img");
        std::fs::write(&img, b"").unwrap();
        let me = Some((libc::F_WRLCK as i16, std::process::id() as i32));
        let shared = Some((libc::F_RDLCK as i16, std::process::id() as i32));

        let d = LockDaemon::new();
        d.create_lockspace(dir_s).unwrap();
        d.with_lockspace("", |ls| ls.acquire(img.to_str().unwrap(), 100, 0))
            .unwrap();
        d.with_lockspace(dir_s, |ls| {
            ls.acquire("excl", 100, AUTO)?;
            ls.acquire("shr", 100, SHARED | AUTO)?;
            ls.acquire("shr", 200, SHARED | AUTO)
        })
        .unwrap();
        assert_eq!(d.held_count(), 3);

        let v1 = d.save_for_exec();
        assert_eq!(d.held_count(), 0);
        assert!(!d.has_lockspace(dir_s));
        // libvirt's layout.
        assert!(v1["defaultLockspace"].get("directory").is_none());
        let def = &v1["defaultLockspace"]["resources"][0];
        assert_eq!(def["name"], img.to_str().unwrap());
        assert_eq!(def["path"], img.to_str().unwrap());
        assert_eq!(def["lockHeld"], true);
        assert_eq!(def["flags"], 0);
        assert_eq!(def["owners"], json!([100]));
        let ls = &v1["lockspaces"][0];
        assert_eq!(ls["directory"], dir_s);
        let shr = &ls["resources"][1];
        assert_eq!(shr["name"], "shr");
        assert_eq!(shr["path"], format!("{dir_s}/shr"));
        assert_eq!(shr["flags"], 3);
        assert_eq!(shr["owners"], json!([100, 200]));
        // The fds are open, inheritable, and still hold their locks; nothing was deleted.
        let saved_fds = fds(&v1);
        assert_eq!(saved_fds.len(), 3);
        assert!(saved_fds.iter().all(|&fd| !cloexec(fd)));
        assert_eq!(probe(&img), me);
        assert_eq!(probe(&dir.join("excl")), me);
        assert_eq!(probe(&dir.join("shr")), shared);

        let d2 = LockDaemon::restore(&v1).unwrap();
        assert_eq!(d2.held_count(), 3);
        assert!(saved_fds.iter().all(|&fd| cloexec(fd)));
        assert_eq!(probe(&dir.join("excl")), me);
        d2.with_lockspace(dir_s, |ls| {
            assert_eq!(ls.owners("shr"), Some(&[100, 200][..]));
            Ok(())
        })
        .unwrap();
        // The rebuilt state saves to the same document.
        let v2 = d2.save_for_exec();
        assert_eq!(v1, v2);

        // A bad document adopts nothing: the locks stay.
        let mut dup = v2.clone();
        dup["lockspaces"][0]["resources"][0]["fd"] =
            v2["defaultLockspace"]["resources"][0]["fd"].clone();
        assert!(matches!(
            LockDaemon::restore(&dup),
            Err(LockError::BadState(_))
        ));
        let mut closed = v2.clone();
        closed["lockspaces"][0]["resources"][0]["fd"] = json!(100_000);
        assert!(LockDaemon::restore(&closed).is_err());
        assert!(LockDaemon::restore(&json!({"lockspaces": []})).is_err());
        assert_eq!(probe(&dir.join("excl")), me);

        // Back again, then give everything up: the locks go, autocreated files too.
        let d3 = LockDaemon::restore(&v2).unwrap();
        assert_eq!(d3.release_owner(100), 3);
        assert_eq!(probe(&dir.join("shr")), shared);
        assert_eq!(d3.release_owner(200), 1);
        assert_eq!(d3.held_count(), 0);
        assert_eq!(probe(&img), None);
        assert!(img.exists());
        assert!(!dir.join("excl").exists());
        assert!(!dir.join("shr").exists());
    }

    #[test]
    fn lockspaces_survive_without_resources() {
        let t = tempfile::tempdir().unwrap();
        let dir = t.path().join("empty");
        let d = LockDaemon::new();
        d.create_lockspace(dir.to_str().unwrap()).unwrap();
        let v = d.save_for_exec();
        assert_eq!(
            v,
            json!({
                "defaultLockspace": {"resources": []},
                "lockspaces": [{"directory": dir.to_str().unwrap(), "resources": []}],
            })
        );
        let d2 = LockDaemon::restore(&v).unwrap();
        assert!(d2.has_lockspace(dir.to_str().unwrap()));
    }

    #[test]
    fn client_private_round_trip() {
        let t = tempfile::tempdir().unwrap();
        let dir = t.path().join("l");
        let dir_s = dir.to_str().unwrap();
        let d = LockDaemon::new();
        d.create_lockspace(dir_s).unwrap();
        let prog = crate::program(d.clone());

        let fresh = Client::detached("virtlockd", false);
        assert_eq!(
            client_private(&fresh),
            json!({"restricted": false, "ownerPid": 0, "ownerId": 0, "ownerName": "",
                   "ownerUUID": "00000000-0000-0000-0000-000000000000"})
        );

        let c = Client::detached("virtlockd", false);
        register(&prog, &c, 7, 4321);
        let v = client_private(&c);
        assert_eq!(v["ownerPid"], 4321);
        assert_eq!(v["ownerId"], 7);
        assert_eq!(v["ownerName"], "vm7");
        assert_eq!(v["ownerUUID"], "07070707-0707-0707-0707-070707070707");
        assert_eq!(v["restricted"], false);

        let c2 = Client::detached("virtlockd", false);
        restore_client_private(&c2, &v).unwrap();
        assert_eq!(client_private(&c2), v);
        // The restored connection is registered: it may take leases for its owner.
        call(
            &prog,
            &c2,
            p::ACQUIRE_RESOURCE,
            &acquire_args(dir_s, "r", AUTO),
        )
        .unwrap();
        d.with_lockspace(dir_s, |ls| {
            assert_eq!(ls.owners("r"), Some(&[4321][..]));
            Ok(())
        })
        .unwrap();

        let mut restricted = v.clone();
        restricted["restricted"] = json!(true);
        let c3 = Client::detached("virtlockd", false);
        restore_client_private(&c3, &restricted).unwrap();
        let e = call(
            &prog,
            &c3,
            p::ACQUIRE_RESOURCE,
            &acquire_args(dir_s, "q", AUTO),
        )
        .unwrap_err();
        assert_eq!(e.code, 29);

        let mut missing = v.clone();
        missing.as_object_mut().unwrap().remove("ownerName");
        assert_eq!(
            restore_client_private(&c3, &missing).unwrap_err(),
            LockError::BadState("Missing ownerName data in JSON document".into())
        );
    }

    /// The lockspace part of a state file written by libvirt's virtlockd 9.0 (Debian), with
    /// its fds replaced by fds of ours, reads back and saves to the same document.
    #[test]
    fn reads_and_writes_libvirts_document() {
        let t = tempfile::tempdir().unwrap();
        let img = t.path().join("lockme.img");
        std::fs::write(&img, b"").unwrap();
        let dir = t.path().join("lsdir");
        let mut direct = LockSpace::direct();
        direct
            .acquire(img.to_str().unwrap(), 25378, SHARED)
            .unwrap();
        let mut indirect = LockSpace::new(dir.to_str().unwrap()).unwrap();
        indirect.acquire("res1", 25378, AUTO).unwrap();
        let fd_img = direct.take_for_exec()[0].fd;
        let fd_res = indirect.take_for_exec()[0].fd;
        let text = r#"{
          "daemon": {"servers": {}},
          "defaultLockspace": {
            "resources": [
              {"name": "IMG", "path": "IMG", "fd": FD_IMG, "lockHeld": true, "flags": 1,
               "owners": [25378]}
            ]
          },
          "lockspaces": [
            {
              "directory": "DIR",
              "resources": [
                {"name": "res1", "path": "DIR/res1", "fd": FD_RES, "lockHeld": true,
                 "flags": 2, "owners": [25378]}
              ]
            }
          ],
          "magic": "25375"
        }"#
        .replace("FD_IMG", &fd_img.to_string())
        .replace("FD_RES", &fd_res.to_string())
        .replace("IMG", img.to_str().unwrap())
        .replace("DIR", dir.to_str().unwrap());
        let v: Value = serde_json::from_str(&text).unwrap();
        let d = LockDaemon::restore(&v).unwrap();
        assert_eq!(d.held_count(), 2);
        let again = d.save_for_exec();
        let mut want = v.clone();
        let o = want.as_object_mut().unwrap();
        o.remove("daemon");
        o.remove("magic");
        assert_eq!(again, want);
        let d = LockDaemon::restore(&again).unwrap();
        assert_eq!(d.release_owner(25378), 2);
        assert_eq!(probe(&img), None);

        let c = Client::detached("virtlockd", false);
        let private = json!({
            "restricted": true,
            "ownerPid": 25378,
            "ownerId": 1,
            "ownerName": "dom1",
            "ownerUUID": "11111111-1111-1111-1111-111111111111"
        });
        restore_client_private(&c, &private).unwrap();
        assert_eq!(client_private(&c), private);
    }

    #[test]
    fn uuids() {
        let u = [
            0x12, 0x34, 0x56, 0x78, 0x9a, 0xbc, 0xde, 0xf0, 0x01, 0x23, 0x45, 0x67, 0x89, 0xab,
            0xcd, 0xef,
        ];
        let s = format_uuid(&u);
        assert_eq!(s, "12345678-9abc-def0-0123-456789abcdef");
        assert_eq!(parse_uuid(&s), Some(u));
        assert_eq!(parse_uuid("123456789ABCDEF00123456789abcdef"), Some(u));
        assert_eq!(parse_uuid("1234"), None);
        assert_eq!(parse_uuid("zz345678-9abc-def0-0123-456789abcdef"), None);
    }
}
