//! Exec-restart: how virtlogd and virtlockd upgrade in place on SIGUSR1 without dropping a
//! client, a guest's log pipe or a disk lease.
//!
//! The old process stops its services and clients at frame boundaries (sockets stay open),
//! asks its core ([`crate::support`]) for its state, writes everything to the restart state file
//! in libvirt's JSON layout (so the fds are named by number), clears FD_CLOEXEC on every fd
//! named there and `exec`s its own binary with the same arguments. The new process (same pid)
//! finds the file, removes it at once, checks that its `magic` is our pid (a stale file left
//! by a crash is ignored with a warning), and rebuilds servers, services, clients and the core.
//!
//! Layout (libvirt's, observed from Debian's virtlogd/virtlockd 9.0):
//! `{"magic": "<pid>", "daemon": {"servers": {"<name>": {min_workers, max_workers,
//! priority_workers, max_clients, max_anonymous_clients, keepaliveInterval, keepaliveCount,
//! next_client_id, services: [{auth, readonly, nrequests_client_max, socks: [{fd, errfd, pid,
//! isClient, unlinkUNIX}]}], clients: [{id, auth, auth_pending, readonly, nrequests_max,
//! conn_time, sock: {...}, privateData: {...}}]}}}, <core keys>}`. We add one key of our own to
//! a client, `oxvirtPending` (hex of bytes read but not yet framed), which libvirt ignores.

use oxvirt_rpc::service::PeerPolicy;
use oxvirt_rpc::{AdoptedClient, Listener, Server, ServerLimits, Service, ServiceHandle};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use std::collections::{BTreeMap, HashSet};
use std::os::fd::{AsRawFd, FromRawFd, IntoRawFd, OwnedFd, RawFd};
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

/// Largest state file read back (libvirt's bound).
const MAX_STATE: u64 = 10 * 1024 * 1024;

/// Why saved state could not be used.
#[derive(Debug, thiserror::Error)]
pub enum RestartError {
    #[error("Unable to read restart state '{0}': {1}")]
    Read(String, std::io::Error),
    #[error("Unable to write restart state '{0}': {1}")]
    Write(String, std::io::Error),
    #[error("Malformed restart state: {0}")]
    Format(String),
    #[error("Restart state names fd {0}, which is not an open descriptor of ours")]
    BadFd(i64),
    #[error("Unable to restore a socket from the restart state: {0}")]
    Socket(std::io::Error),
}

/// A socket as libvirt saves it.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct SockJson {
    pub fd: i64,
    #[serde(default = "minus_one")]
    pub errfd: i64,
    #[serde(default)]
    pub pid: i64,
    #[serde(rename = "isClient", default)]
    pub is_client: bool,
    #[serde(rename = "unlinkUNIX", default)]
    pub unlink_unix: bool,
}

fn minus_one() -> i64 {
    -1
}

/// A listening service.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct ServiceJson {
    pub auth: i32,
    pub readonly: bool,
    pub nrequests_client_max: u64,
    pub socks: Vec<SockJson>,
}

/// A connected client.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct ClientJson {
    pub id: u64,
    pub auth: i32,
    #[serde(default)]
    pub auth_pending: bool,
    pub readonly: bool,
    pub nrequests_max: u64,
    #[serde(default)]
    pub conn_time: i64,
    pub sock: SockJson,
    #[serde(rename = "privateData", default)]
    pub private_data: Value,
    #[serde(
        rename = "oxvirtPending",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub pending: Option<String>,
}

/// A server with its services and clients.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct ServerJson {
    pub min_workers: u64,
    pub max_workers: u64,
    pub priority_workers: u64,
    pub max_clients: u64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_anonymous_clients: Option<u64>,
    /// libvirt writes -1 (disabled) as an unsigned 32-bit number.
    #[serde(rename = "keepaliveInterval")]
    pub keepalive_interval: i64,
    #[serde(rename = "keepaliveCount")]
    pub keepalive_count: u64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub next_client_id: Option<u64>,
    pub services: Vec<ServiceJson>,
    pub clients: Vec<ClientJson>,
}

/// Is this restart state ours (same pid), or a stale file to ignore? Pure; unit tested.
pub fn magic_matches(state: &Value, pid: u32) -> bool {
    state.get("magic").and_then(Value::as_str) == Some(pid.to_string().as_str())
}

/// What the new process finds at start-up.
#[derive(Debug)]
pub enum Found {
    /// No state file: a normal start.
    None,
    /// State of our own exec.
    State(Value),
    /// A file that is not ours (or unreadable); it was removed. The text is the warning.
    Stale(String),
}

/// Read and remove the state file at `path` (before anything else is set up).
pub fn take(path: &Path) -> Found {
    let meta = match std::fs::metadata(path) {
        Ok(m) => m,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Found::None,
        Err(e) => return Found::Stale(format!("Unable to read {}: {e}", path.display())),
    };
    let text = if meta.len() > MAX_STATE {
        Err(format!(
            "{} is larger than {MAX_STATE} bytes",
            path.display()
        ))
    } else {
        std::fs::read_to_string(path).map_err(|e| format!("Unable to read {}: {e}", path.display()))
    };
    // Removed at once, used or not: a crash during restore must not loop.
    let _ = std::fs::remove_file(path);
    let state: Value = match text.and_then(|t| {
        serde_json::from_str(&t).map_err(|e| format!("{} is not JSON: {e}", path.display()))
    }) {
        Ok(v) => v,
        Err(e) => return Found::Stale(format!("Ignoring restart state: {e}")),
    };
    if !magic_matches(&state, std::process::id()) {
        return Found::Stale(format!(
            "Ignoring stale restart state {} (magic {:?} is not our pid {})",
            path.display(),
            state.get("magic").cloned().unwrap_or(Value::Null),
            std::process::id()
        ));
    }
    Found::State(state)
}

/// libvirt's auth numbers: 0 = none.
const AUTH_NONE: i32 = 0;

fn keepalive_json(interval: i32) -> i64 {
    if interval < 0 {
        u32::MAX as i64
    } else {
        interval as i64
    }
}

fn keepalive_from_json(v: i64) -> i32 {
    if v >= u32::MAX as i64 || v < 0 {
        -1
    } else {
        v.min(i32::MAX as i64) as i32
    }
}

/// Stop `services` and detach every client of `server`, and describe them. The fds named in
/// the result stay open (ownership moves into `keep`) until the exec.
pub async fn save_server(
    server: &Arc<Server>,
    services: Vec<ServiceHandle>,
    keep: &mut Vec<OwnedFd>,
) -> ServerJson {
    let limits = server.limits();
    let mut services_json = Vec::new();
    for h in services {
        let Some(svc) = h.stop().await else { continue };
        let (readonly, auth_none) = (svc.readonly, svc.auth_none);
        match svc.listener.keep() {
            Ok((fd, unlink)) => {
                services_json.push(ServiceJson {
                    auth: if auth_none { AUTH_NONE } else { 1 },
                    readonly,
                    nrequests_client_max: limits.max_client_requests as u64,
                    socks: vec![SockJson {
                        fd: fd.as_raw_fd() as i64,
                        errfd: -1,
                        pid: 0,
                        is_client: false,
                        unlink_unix: unlink,
                    }],
                });
                keep.push(fd);
            }
            Err(e) => tracing::error!("Unable to keep a listening socket across the restart: {e}"),
        }
    }
    let mut clients = Vec::new();
    for d in server.detach_all(Duration::from_secs(5)).await {
        let private = server
            .programs()
            .iter()
            .find_map(|p| p.save_client(&d.client))
            .unwrap_or_else(|| Value::Object(Default::default()));
        clients.push(ClientJson {
            id: d.client.id,
            auth: AUTH_NONE,
            auth_pending: false,
            readonly: d.client.is_readonly(),
            nrequests_max: limits.max_client_requests as u64,
            conn_time: d.client.connected_at,
            sock: SockJson {
                fd: d.fd.as_raw_fd() as i64,
                errfd: -1,
                pid: 0,
                is_client: true,
                unlink_unix: false,
            },
            private_data: private,
            pending: (!d.pending.is_empty()).then(|| hex(&d.pending)),
        });
        keep.push(d.fd);
    }
    ServerJson {
        min_workers: limits.min_workers as u64,
        max_workers: limits.max_workers as u64,
        priority_workers: limits.prio_workers as u64,
        max_clients: limits.max_clients as u64,
        max_anonymous_clients: Some(limits.max_anonymous_clients as u64),
        keepalive_interval: keepalive_json(limits.keepalive_interval),
        keepalive_count: limits.keepalive_count as u64,
        next_client_id: Some(server.peek_next_client_id()),
        services: services_json,
        clients,
    }
}

/// The servers of a saved daemon, by name (`daemon.servers`, or the old single `daemon.server`
/// which virtlockd once wrote, taken as the main server `main_name`).
pub fn servers_of(
    state: &Value,
    main_name: &str,
) -> Result<BTreeMap<String, ServerJson>, RestartError> {
    let daemon = state
        .get("daemon")
        .ok_or_else(|| RestartError::Format("missing 'daemon'".into()))?;
    let mut out = BTreeMap::new();
    if let Some(servers) = daemon.get("servers").and_then(Value::as_object) {
        for (name, v) in servers {
            let s: ServerJson = serde_json::from_value(v.clone())
                .map_err(|e| RestartError::Format(format!("server '{name}': {e}")))?;
            out.insert(name.clone(), s);
        }
    } else if let Some(v) = daemon.get("server") {
        let s: ServerJson = serde_json::from_value(v.clone())
            .map_err(|e| RestartError::Format(format!("server: {e}")))?;
        out.insert(main_name.to_string(), s);
    } else {
        return Err(RestartError::Format("missing 'daemon.servers'".into()));
    }
    Ok(out)
}

/// Take ownership of an fd named in the state: it must be open, and named only once.
pub fn claim_fd(fd: i64, claimed: &mut HashSet<RawFd>) -> Result<OwnedFd, RestartError> {
    let raw = RawFd::try_from(fd).map_err(|_| RestartError::BadFd(fd))?;
    if raw < 3 || claimed.contains(&raw) {
        return Err(RestartError::BadFd(fd));
    }
    // F_GETFD only inspects the descriptor table: an error means the fd is not open.
    if nix::fcntl::fcntl(raw, nix::fcntl::FcntlArg::F_GETFD).is_err() {
        return Err(RestartError::BadFd(fd));
    }
    claimed.insert(raw);
    // SAFETY: `raw` is open (checked above), was inherited across our own exec for exactly
    // this purpose, and is claimed once (the set prevents a second owner).
    let owned = unsafe { OwnedFd::from_raw_fd(raw) };
    set_cloexec(&owned, true);
    Ok(owned)
}

/// Set or clear FD_CLOEXEC.
pub fn set_cloexec(fd: &impl AsRawFd, on: bool) {
    use nix::fcntl::{fcntl, FcntlArg, FdFlag};
    if let Ok(flags) = fcntl(fd.as_raw_fd(), FcntlArg::F_GETFD) {
        let mut f = FdFlag::from_bits_truncate(flags);
        f.set(FdFlag::FD_CLOEXEC, on);
        let _ = fcntl(fd.as_raw_fd(), FcntlArg::F_SETFD(f));
    }
}

/// Limits of a restored server: the saved numbers over the configured ones.
pub fn limits_of(saved: &ServerJson, base: ServerLimits) -> ServerLimits {
    ServerLimits {
        max_clients: saved.max_clients as usize,
        max_anonymous_clients: saved.max_anonymous_clients.unwrap_or(saved.max_clients) as usize,
        max_client_requests: base.max_client_requests,
        keepalive_interval: keepalive_from_json(saved.keepalive_interval),
        keepalive_count: saved.keepalive_count as u32,
        min_workers: saved.min_workers as u32,
        max_workers: saved.max_workers as u32,
        prio_workers: saved.priority_workers as u32,
    }
}

/// Rebuild the services and clients of `server` from its saved form. Returns the services
/// to spawn (the caller starts them once every server is restored).
pub fn restore_server(
    server: &Arc<Server>,
    saved: &ServerJson,
    peers: PeerPolicy,
    claimed: &mut HashSet<RawFd>,
) -> Result<Vec<Service>, RestartError> {
    if saved.next_client_id.is_none() {
        tracing::warn!(
            "Restart state has no next_client_id for server {}; client ids restart at 1",
            server.name
        );
    }
    server.reserve_client_ids(saved.next_client_id.unwrap_or(1));
    let mut services = Vec::new();
    for svc in &saved.services {
        for sock in &svc.socks {
            let fd = claim_fd(sock.fd, claimed)?;
            let listener = Listener::adopt(fd, sock.unlink_unix).map_err(RestartError::Socket)?;
            services.push(Service {
                listener,
                readonly: svc.readonly,
                auth_none: svc.auth == AUTH_NONE,
                peers,
            });
        }
    }
    for c in &saved.clients {
        let fd = match claim_fd(c.sock.fd, claimed) {
            Ok(fd) => fd,
            Err(e) => {
                tracing::error!("Dropping client {} of {}: {e}", c.id, server.name);
                continue;
            }
        };
        let pending = c.pending.as_deref().and_then(unhex).unwrap_or_default();
        let adopted = AdoptedClient {
            id: c.id,
            connected_at: c.conn_time,
            readonly: c.readonly,
            fd,
            pending,
        };
        let private = c.private_data.clone();
        let programs = server.programs().to_vec();
        if let Err(e) = server.adopt(adopted, |client| {
            for p in &programs {
                p.restore_client(client, &private);
            }
        }) {
            tracing::error!("Dropping client {} of {}: {e}", c.id, server.name);
        }
    }
    Ok(services)
}

/// Write `state` to `path` (mode 0700 as libvirt), let the fds of `keep` survive the exec,
/// and replace this process with `exe` `args`. Returns only on failure; `keep` is handed back
/// so that the caller can carry on in this process.
pub fn exec(
    path: &Path,
    state: &Value,
    keep: Vec<OwnedFd>,
    exe: &std::ffi::CStr,
    args: &[std::ffi::CString],
) -> (RestartError, Vec<OwnedFd>) {
    use std::io::Write;
    use std::os::unix::fs::OpenOptionsExt;
    let text = match serde_json::to_string_pretty(state) {
        Ok(t) => t,
        Err(e) => return (RestartError::Format(e.to_string()), keep),
    };
    let written = std::fs::OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .mode(0o700)
        .open(path)
        .and_then(|mut f| {
            f.write_all(text.as_bytes())?;
            f.write_all(b"\n")
        });
    if let Err(e) = written {
        return (RestartError::Write(path.display().to_string(), e), keep);
    }
    for fd in &keep {
        set_cloexec(fd, false);
    }
    let err = nix::unistd::execv(exe, args).unwrap_err();
    // Still here: put things back as they were.
    let _ = std::fs::remove_file(path);
    for fd in &keep {
        set_cloexec(fd, true);
    }
    (
        RestartError::Write(
            exe.to_string_lossy().into_owned(),
            std::io::Error::from(err),
        ),
        keep,
    )
}

/// Forget ownership of kept fds after a failed exec when they are to be re-claimed from the
/// same state by [`restore_server`] (which takes ownership again by number).
pub fn release(keep: Vec<OwnedFd>) {
    for fd in keep {
        let _ = fd.into_raw_fd();
    }
}

fn hex(b: &[u8]) -> String {
    use std::fmt::Write;
    let mut s = String::with_capacity(b.len() * 2);
    for x in b {
        let _ = write!(s, "{x:02x}");
    }
    s
}

fn unhex(s: &str) -> Option<Vec<u8>> {
    if !s.len().is_multiple_of(2) {
        return None;
    }
    (0..s.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(s.get(i..i + 2)?, 16).ok())
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// What Debian's virtlogd 9.0 wrote on SIGUSR1 with one client connected.
    const C_VIRTLOGD: &str = include_str!("../tests/fixtures/virtlogd-restart-exec.json");
    /// Debian's virtlockd 9.0 with a restricted owner holding a direct and an indirect lease.
    const C_VIRTLOCKD: &str = include_str!("../tests/fixtures/virtlockd-restart-exec.json");

    #[test]
    fn reads_libvirts_layout() {
        let v: Value = serde_json::from_str(C_VIRTLOGD).unwrap();
        let servers = servers_of(&v, "virtlogd").unwrap();
        assert_eq!(servers.keys().collect::<Vec<_>>(), ["admin", "virtlogd"]);
        let m = &servers["virtlogd"];
        assert_eq!(m.max_clients, 1024);
        assert_eq!(keepalive_from_json(m.keepalive_interval), -1);
        assert_eq!(m.next_client_id, Some(2));
        assert_eq!(m.services[0].socks[0].fd, 4);
        assert!(m.services[0].socks[0].unlink_unix);
        assert_eq!(m.clients[0].id, 1);
        assert!(m.clients[0].sock.is_client);
        let limits = limits_of(m, ServerLimits::default());
        assert_eq!(limits.keepalive_interval, -1);
        assert_eq!(limits.max_anonymous_clients, 1024);

        let v: Value = serde_json::from_str(C_VIRTLOCKD).unwrap();
        let servers = servers_of(&v, "virtlockd").unwrap();
        let c = &servers["virtlockd"].clients[0];
        assert_eq!(c.private_data["ownerName"], "dom1");
        assert_eq!(c.private_data["restricted"], true);
    }

    #[test]
    fn round_trips_and_keeps_keepalive_disabled() {
        let s = ServerJson {
            min_workers: 0,
            max_workers: 0,
            priority_workers: 0,
            max_clients: 1024,
            max_anonymous_clients: None,
            keepalive_interval: keepalive_json(-1),
            keepalive_count: 0,
            next_client_id: None,
            services: vec![],
            clients: vec![ClientJson {
                id: 7,
                auth: 0,
                auth_pending: false,
                readonly: false,
                nrequests_max: 1,
                conn_time: 0,
                sock: SockJson {
                    fd: 9,
                    errfd: -1,
                    pid: 0,
                    is_client: true,
                    unlink_unix: false,
                },
                private_data: Value::Object(Default::default()),
                pending: Some(hex(&[0, 1, 0xfe])),
            }],
        };
        let text = serde_json::to_string(&s).unwrap();
        assert!(text.contains("\"keepaliveInterval\":4294967295"));
        let back: ServerJson = serde_json::from_str(&text).unwrap();
        assert_eq!(back, s);
        assert_eq!(
            unhex(back.clients[0].pending.as_deref().unwrap()).unwrap(),
            [0, 1, 0xfe]
        );
        // Missing max_anonymous_clients defaults to max_clients, as libvirt does.
        assert_eq!(
            limits_of(&back, ServerLimits::default()).max_anonymous_clients,
            1024
        );
    }

    #[test]
    fn stale_magic_is_rejected_and_bad_fds_are_not_claimed() {
        let v: Value = serde_json::json!({"magic": "1"});
        assert!(!magic_matches(&v, 2));
        assert!(magic_matches(&serde_json::json!({"magic": "2"}), 2));
        assert!(!magic_matches(&serde_json::json!({"magic": 2}), 2));
        let mut claimed = HashSet::new();
        assert!(matches!(
            claim_fd(-1, &mut claimed),
            Err(RestartError::BadFd(-1))
        ));
        assert!(matches!(
            claim_fd(1, &mut claimed),
            Err(RestartError::BadFd(1))
        ));
        assert!(claim_fd(1 << 40, &mut claimed).is_err());
        // An fd number nobody has open.
        assert!(claim_fd(19_999, &mut claimed).is_err());
        // An open one is claimed once only.
        let f = std::fs::File::open("/dev/null").unwrap();
        let raw = f.into_raw_fd() as i64;
        let owned = claim_fd(raw, &mut claimed).unwrap();
        assert!(claim_fd(raw, &mut claimed).is_err());
        drop(owned);
    }

    #[test]
    fn take_removes_the_file_and_ignores_strangers() {
        let d = tempfile::tempdir().unwrap();
        let p = d.path().join("x-restart-exec.json");
        assert!(matches!(take(&p), Found::None));
        std::fs::write(&p, C_VIRTLOGD).unwrap();
        assert!(matches!(take(&p), Found::Stale(_)));
        assert!(!p.exists());
        std::fs::write(&p, "not json").unwrap();
        assert!(matches!(take(&p), Found::Stale(_)));
        assert!(!p.exists());
        std::fs::write(
            &p,
            serde_json::json!({"magic": std::process::id().to_string(), "daemon": {}}).to_string(),
        )
        .unwrap();
        assert!(matches!(take(&p), Found::State(_)));
        assert!(!p.exists());
    }
}
