//! A server: a set of programs, limits, and the registry of its connected clients.
//! A daemon has several (libvirtd has "libvirtd" and "admin"); services feed them clients.

use crate::client::{Client, ClientIdentity, DetachedClient};
use crate::program::Program;
use std::collections::BTreeMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use tokio::sync::{watch, Notify};

/// Client ids are unique across every server of the process.
static NEXT_CLIENT_ID: AtomicU64 = AtomicU64::new(1);

/// Limits and worker settings of a server (from the daemon's configuration).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ServerLimits {
    /// `max_clients`: accept is suspended while this many are connected.
    pub max_clients: usize,
    /// `max_anonymous_clients`: connected but unauthenticated; 0 = no limit.
    pub max_anonymous_clients: usize,
    /// `max_client_requests`: calls in flight per client.
    pub max_client_requests: usize,
    /// `keepalive_interval`.
    pub keepalive_interval: i32,
    /// `keepalive_count`.
    pub keepalive_count: u32,
    /// `min_workers` (reported through the admin interface).
    pub min_workers: u32,
    /// `max_workers`.
    pub max_workers: u32,
    /// `prio_workers`.
    pub prio_workers: u32,
}

impl Default for ServerLimits {
    fn default() -> Self {
        ServerLimits {
            max_clients: 5000,
            max_anonymous_clients: 20,
            max_client_requests: 5,
            keepalive_interval: 5,
            keepalive_count: 5,
            min_workers: 5,
            max_workers: 20,
            prio_workers: 5,
        }
    }
}

/// A connection restored after an exec-restart, as [`Server::adopt`] takes it.
#[derive(Debug)]
pub struct AdoptedClient {
    pub id: u64,
    pub connected_at: i64,
    pub readonly: bool,
    pub fd: std::os::fd::OwnedFd,
    pub pending: Vec<u8>,
}

/// One RPC server.
pub struct Server {
    /// Name shown by the admin interface ("libvirtd", "admin", ...).
    pub name: String,
    programs: Vec<Arc<dyn Program>>,
    limits: Mutex<ServerLimits>,
    clients: Mutex<BTreeMap<u64, Arc<Client>>>,
    slot_free: Notify,
    count_tx: watch::Sender<usize>,
    detached: Mutex<Vec<DetachedClient>>,
}

impl std::fmt::Debug for Server {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Server").field("name", &self.name).finish()
    }
}

impl Server {
    /// A server with these programs.
    pub fn new(name: &str, limits: ServerLimits, programs: Vec<Arc<dyn Program>>) -> Arc<Server> {
        Arc::new(Server {
            name: name.to_string(),
            programs,
            limits: Mutex::new(limits),
            clients: Mutex::new(BTreeMap::new()),
            slot_free: Notify::new(),
            count_tx: watch::channel(0).0,
            detached: Mutex::new(Vec::new()),
        })
    }

    /// The program registered for (prog, vers).
    pub fn program(&self, prog: u32, vers: u32) -> Option<&Arc<dyn Program>> {
        self.programs
            .iter()
            .find(|p| p.number() == prog && p.version() == vers)
    }

    /// Current limits.
    pub fn limits(&self) -> ServerLimits {
        *self.limits.lock().unwrap()
    }

    /// Change limits at run time (admin interface); wakes suspended accepts.
    pub fn set_limits(&self, l: ServerLimits) {
        *self.limits.lock().unwrap() = l;
        self.slot_free.notify_waiters();
    }

    /// Connected clients, by id.
    pub fn clients(&self) -> Vec<Arc<Client>> {
        self.clients.lock().unwrap().values().cloned().collect()
    }

    /// One client by id.
    pub fn client(&self, id: u64) -> Option<Arc<Client>> {
        self.clients.lock().unwrap().get(&id).cloned()
    }

    /// (connected, unauthenticated).
    pub fn counts(&self) -> (usize, usize) {
        let c = self.clients.lock().unwrap();
        let unauth = c.values().filter(|c| !c.is_authenticated()).count();
        (c.len(), unauth)
    }

    /// Watch the number of connected clients (auto-shutdown uses it).
    pub fn watch_count(&self) -> watch::Receiver<usize> {
        self.count_tx.subscribe()
    }

    /// Close every client.
    pub fn close_all(&self) {
        for c in self.clients() {
            c.close();
        }
    }

    /// Wait until one more client may be accepted (libvirt suspends accept, never resets).
    pub async fn wait_for_slot(&self) {
        loop {
            let notified = self.slot_free.notified();
            let l = self.limits();
            let (n, unauth) = self.counts();
            let anon_ok = l.max_anonymous_clients == 0 || unauth < l.max_anonymous_clients;
            if n < l.max_clients && anon_ok {
                return;
            }
            tracing::debug!(server = %self.name, n, unauth, "client limit reached; accept suspended");
            notified.await;
        }
    }

    /// The programs served.
    pub fn programs(&self) -> &[Arc<dyn Program>] {
        &self.programs
    }

    /// The id the next client will get (saved across an exec-restart).
    pub fn peek_next_client_id(&self) -> u64 {
        NEXT_CLIENT_ID.load(Ordering::Relaxed)
    }

    /// Never hand out an id below `next` again (restored clients keep theirs).
    pub fn reserve_client_ids(&self, next: u64) {
        NEXT_CLIENT_ID.fetch_max(next, Ordering::Relaxed);
    }

    /// Take every client off its socket for an exec-restart: each stops at a frame boundary
    /// after its queued replies are written; its socket stays open. Waits at most `within`.
    pub async fn detach_all(&self, within: std::time::Duration) -> Vec<DetachedClient> {
        let mut count = self.watch_count();
        for c in self.clients() {
            c.detach();
        }
        let deadline = tokio::time::Instant::now() + within;
        while *count.borrow_and_update() > 0 {
            if tokio::time::timeout_at(deadline, count.changed())
                .await
                .is_err()
            {
                tracing::warn!(server = %self.name, "some clients did not stop in time for the restart");
                break;
            }
        }
        std::mem::take(&mut *self.detached.lock().unwrap())
    }

    /// Serve a connection kept across an exec-restart under its old id and connect time.
    /// `init` runs before the first frame is read (restore per-program state there).
    pub fn adopt(
        self: &Arc<Self>,
        saved: AdoptedClient,
        init: impl FnOnce(&Arc<Client>),
    ) -> std::io::Result<Arc<Client>> {
        let stream = crate::transport::Stream::from_fd(saved.fd)?;
        let identity = match stream.peer_cred() {
            Some((uid, gid, pid)) => ClientIdentity {
                uid: Some(uid),
                gid: Some(gid),
                pid: Some(pid),
                sock_addr: None,
            },
            None => ClientIdentity {
                sock_addr: stream.peer_addr().map(crate::service::unmap),
                ..Default::default()
            },
        };
        let transport = if identity.sock_addr.is_some() {
            oxvirt_proto::admin::transport::TCP
        } else {
            oxvirt_proto::admin::transport::UNIX
        };
        self.reserve_client_ids(saved.id + 1);
        let c = crate::client::register_as(
            self,
            saved.id,
            saved.connected_at,
            identity,
            transport,
            saved.readonly,
            true,
        );
        c.set_pending_input(saved.pending);
        init(&c);
        tokio::spawn(crate::client::run(self.clone(), c.clone(), stream));
        Ok(c)
    }

    /// List a client that has no socket ([`Client::detached`]) among this server's clients,
    /// so in-process drivers (unit tests, fuzzers) can reach per-client procedures.
    pub fn register_detached(&self, c: &Arc<Client>) {
        self.register(c);
    }

    pub(crate) fn detached(&self, c: &Arc<Client>, d: DetachedClient) {
        self.detached.lock().unwrap().push(d);
        let n = {
            let mut m = self.clients.lock().unwrap();
            m.remove(&c.id);
            m.len()
        };
        self.count_tx.send_replace(n);
    }

    pub(crate) fn next_client_id(&self) -> u64 {
        NEXT_CLIENT_ID.fetch_add(1, Ordering::Relaxed)
    }

    pub(crate) fn register(&self, c: &Arc<Client>) {
        let n = {
            let mut m = self.clients.lock().unwrap();
            m.insert(c.id, c.clone());
            m.len()
        };
        self.count_tx.send_replace(n);
    }

    pub(crate) fn unregister(&self, c: &Arc<Client>) {
        for p in &self.programs {
            p.client_closed(c);
        }
        let n = {
            let mut m = self.clients.lock().unwrap();
            m.remove(&c.id);
            m.len()
        };
        self.count_tx.send_replace(n);
        self.slot_free.notify_waiters();
    }

    /// A client finished authenticating: the anonymous count dropped.
    pub fn client_authenticated(&self, c: &Client) {
        c.set_authenticated();
        self.slot_free.notify_waiters();
    }
}
