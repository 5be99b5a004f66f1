//! One client connection: its identity and flags (what programs see), and the two tasks that
//! serve it: the reader loop (framing, keepalive, in-flight limit, dispatch) and the writer task
//! (drains a bounded queue, batching frames into few writes, then passes fds).

use crate::frame::{self, Parsed};
use crate::keepalive::{Keepalive, KeepaliveAction, KeepaliveConfig};
use crate::program::{Dispatched, Reply};
use crate::server::Server;
use crate::transport::{RecvBuf, Stream};
use oxvirt_proto::{keepalive as ka, Header, MsgStatus, MsgType};
use oxvirt_virerror::{ErrorCode, ErrorDomain, VirError};
use std::any::Any;
use std::collections::VecDeque;
use std::net::SocketAddr;
use std::os::fd::OwnedFd;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Instant;
use tokio::sync::{watch, Notify, Semaphore};

/// Frames queued for one client before it is considered stuck and dropped.
pub const OUT_QUEUE: usize = 1024;

/// Who is on the other end.
#[derive(Debug, Clone, Default)]
pub struct ClientIdentity {
    /// SO_PEERCRED uid (UNIX sockets).
    pub uid: Option<u32>,
    /// SO_PEERCRED gid.
    pub gid: Option<u32>,
    /// SO_PEERCRED pid.
    pub pid: Option<i32>,
    /// TCP peer address, IPv4-mapped addresses unmapped.
    pub sock_addr: Option<SocketAddr>,
}

/// Outgoing work for the writer.
#[derive(Debug)]
pub(crate) enum Out {
    Frame(Vec<u8>, Vec<OwnedFd>),
    Close,
}

/// A client's outgoing queue: bounded, allocation-free while empty, drained whole by the writer.
#[derive(Debug, Default)]
pub(crate) struct OutQueue {
    q: Mutex<VecDeque<Out>>,
    ready: Notify,
}

impl OutQueue {
    /// Queue `m`; false if the queue is full (the client is not reading).
    fn push(&self, m: Out) -> bool {
        {
            let mut q = self.q.lock().unwrap();
            if q.len() >= OUT_QUEUE && !matches!(m, Out::Close) {
                return false;
            }
            q.push_back(m);
        }
        self.ready.notify_one();
        true
    }

    /// Wait for work and take all of it.
    async fn take_all(&self, into: &mut VecDeque<Out>) {
        loop {
            {
                let mut q = self.q.lock().unwrap();
                if !q.is_empty() {
                    std::mem::swap(&mut *q, into);
                    return;
                }
            }
            self.ready.notified().await;
        }
    }
}

/// A connected client, as programs and the admin interface see it.
pub struct Client {
    /// Daemon-wide unique id.
    pub id: u64,
    /// Name of the server it belongs to.
    pub server_name: String,
    /// Connect time, seconds since the epoch.
    pub connected_at: i64,
    /// `VIR_CLIENT_TRANS_*`.
    pub transport: u32,
    /// Peer identity.
    pub identity: ClientIdentity,
    readonly: AtomicBool,
    authenticated: AtomicBool,
    out: OutQueue,
    closed: watch::Sender<bool>,
    keepalive_on: AtomicBool,
    keepalive_changed: Notify,
    ext: Mutex<Vec<Arc<dyn Any + Send + Sync>>>,
    /// Set for an exec-restart: stop serving but keep the socket open.
    detaching: AtomicBool,
    /// Input received but not framed, carried across an exec-restart (empty otherwise).
    pending_input: Mutex<Vec<u8>>,
}

/// A client taken off its socket for an exec-restart: the open connection, the bytes read but
/// not yet framed, and the record (id, flags, per-program state) to carry over.
#[derive(Debug)]
pub struct DetachedClient {
    pub client: Arc<Client>,
    pub fd: OwnedFd,
    pub pending: Vec<u8>,
}

impl std::fmt::Debug for Client {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Client")
            .field("id", &self.id)
            .field("server", &self.server_name)
            .field("identity", &self.identity)
            .finish()
    }
}

impl Client {
    /// True if the client may only use read-only procedures.
    pub fn is_readonly(&self) -> bool {
        self.readonly.load(Ordering::Relaxed)
    }

    /// Make the client read-only (CONNECT_OPEN with the RO flag).
    pub fn set_readonly(&self) {
        self.readonly.store(true, Ordering::Relaxed)
    }

    /// True once authentication is done (at once for auth "none").
    pub fn is_authenticated(&self) -> bool {
        self.authenticated.load(Ordering::Relaxed)
    }

    /// Mark the client authenticated.
    pub fn set_authenticated(&self) {
        self.authenticated.store(true, Ordering::Relaxed)
    }

    /// Queue a frame (an event). A client whose queue is full is not reading: it is dropped.
    pub fn send(&self, frame: Vec<u8>) {
        if !self.out.push(Out::Frame(frame, Vec::new())) {
            tracing::warn!(
                client = self.id,
                "client is not reading its messages; dropping it"
            );
            self.close();
        }
    }

    /// Close the connection (admin client-disconnect, CONNECT_CLOSE, daemon shutdown).
    pub fn close(&self) {
        self.closed.send_replace(true);
    }

    /// True once the connection is closing.
    pub fn is_closed(&self) -> bool {
        *self.closed.borrow()
    }

    /// Start server PINGs for this client (it asked with CONNECT_SUPPORTS_FEATURE 10).
    pub fn start_keepalive(&self) {
        self.keepalive_on.store(true, Ordering::Relaxed);
        self.keepalive_changed.notify_one();
    }

    /// A client attached to no socket: what it is sent stays queued until [`Client::take_out`].
    /// For driving programs in-process (unit tests, fuzzing).
    pub fn detached(server_name: &str, readonly: bool) -> Arc<Client> {
        Arc::new(Client {
            id: 0,
            server_name: server_name.to_string(),
            connected_at: 0,
            transport: 0,
            identity: ClientIdentity::default(),
            readonly: AtomicBool::new(readonly),
            authenticated: AtomicBool::new(true),
            out: OutQueue::default(),
            closed: watch::channel(false).0,
            keepalive_on: AtomicBool::new(false),
            keepalive_changed: Notify::new(),
            ext: Mutex::new(Vec::new()),
            detaching: AtomicBool::new(false),
            pending_input: Mutex::new(Vec::new()),
        })
    }

    /// Bytes to frame before reading from the socket (a restored client's unframed input).
    pub fn set_pending_input(&self, bytes: Vec<u8>) {
        *self.pending_input.lock().unwrap() = bytes;
    }

    /// Stop serving this client at the next frame boundary, keeping its socket open; the
    /// server collects it as a [`DetachedClient`] (exec-restart).
    pub fn detach(&self) {
        self.detaching.store(true, Ordering::SeqCst);
        self.close();
    }

    /// Take the frames queued for a detached client (replies pushed by [`Client::send`] or
    /// delivered by the RPC layer).
    pub fn take_out(&self) -> Vec<Vec<u8>> {
        let mut q = self.out.q.lock().unwrap();
        q.drain(..)
            .filter_map(|m| match m {
                Out::Frame(f, _) => Some(f),
                Out::Close => None,
            })
            .collect()
    }

    /// Per-program state of type `T`, created on first use.
    pub fn state<T: Default + Send + Sync + 'static>(&self) -> Arc<T> {
        let mut ext = self.ext.lock().unwrap();
        for e in ext.iter() {
            if let Ok(t) = e.clone().downcast::<T>() {
                return t;
            }
        }
        let t = Arc::new(T::default());
        ext.push(t.clone());
        t
    }
}

/// Create the client record for an accepted connection and register it with its server at
/// once, so that the accept loop's limit check counts it before the next accept.
pub(crate) fn register(
    server: &Arc<Server>,
    identity: ClientIdentity,
    transport: u32,
    readonly: bool,
    authenticated: bool,
) -> Arc<Client> {
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs() as i64)
        .unwrap_or(0);
    register_as(
        server,
        server.next_client_id(),
        now,
        identity,
        transport,
        readonly,
        authenticated,
    )
}

/// Register a client record with a given id and connect time (a restored client keeps both).
pub(crate) fn register_as(
    server: &Arc<Server>,
    id: u64,
    connected_at: i64,
    identity: ClientIdentity,
    transport: u32,
    readonly: bool,
    authenticated: bool,
) -> Arc<Client> {
    let client = Arc::new(Client {
        id,
        server_name: server.name.clone(),
        connected_at,
        transport,
        identity,
        readonly: AtomicBool::new(readonly),
        authenticated: AtomicBool::new(authenticated),
        out: OutQueue::default(),
        closed: watch::channel(false).0,
        keepalive_on: AtomicBool::new(false),
        keepalive_changed: Notify::new(),
        ext: Mutex::new(Vec::new()),
        detaching: AtomicBool::new(false),
        pending_input: Mutex::new(Vec::new()),
    });
    server.register(&client);
    client
}

/// Serve one accepted connection until it closes.
pub(crate) async fn serve(
    server: Arc<Server>,
    stream: Stream,
    identity: ClientIdentity,
    transport: u32,
    readonly: bool,
    authenticated: bool,
) {
    let client = register(&server, identity, transport, readonly, authenticated);
    run(server, client, stream).await
}

/// Serve a registered client's connection until it closes, then unregister it. A restored
/// client's unframed input waits in [`Client::set_pending_input`].
pub(crate) async fn run(server: Arc<Server>, client: Arc<Client>, stream: Stream) {
    let closed_rx = client.closed.subscribe();
    tracing::debug!(client = client.id, server = %server.name, identity = ?client.identity, "client connected");
    let stream = Arc::new(stream);
    let writer = {
        let (stream, client, closed) = (stream.clone(), client.clone(), closed_rx.clone());
        tokio::spawn(async move {
            write_loop(stream, client.clone(), closed).await;
            // A failed or finished writer ends the connection.
            client.close();
        })
    };
    read_loop(&server, &client, &stream, closed_rx).await;
    client.close();
    let _ = writer.await;
    let mut stream = stream;
    if client.detaching.load(Ordering::SeqCst) {
        match Arc::try_unwrap(stream) {
            Err(still_shared) => stream = still_shared,
            Ok(stream) => {
                let pending = std::mem::take(&mut *client.pending_input.lock().unwrap());
                let fd = stream.into_fd();
                server.detached(
                    &client,
                    DetachedClient {
                        client: client.clone(),
                        fd,
                        pending,
                    },
                );
                tracing::debug!(client = client.id, "client detached for exec-restart");
                return;
            }
        }
    }
    stream.shutdown();
    server.unregister(&client);
    tracing::debug!(client = client.id, "client disconnected");
}

async fn write_out(stream: &Stream, frame: &[u8], fds: &[OwnedFd]) -> bool {
    if stream.write_all(frame).await.is_err() {
        return false;
    }
    for fd in fds {
        if stream.send_fd(fd).await.is_err() {
            return false;
        }
    }
    true
}

async fn write_loop(stream: Arc<Stream>, client: Arc<Client>, mut closed: watch::Receiver<bool>) {
    let mut work: VecDeque<Out> = VecDeque::new();
    let mut batch: Vec<u8> = Vec::new();
    let mut closing = false;
    loop {
        if !closing {
            tokio::select! {
                biased;
                _ = client.out.take_all(&mut work) => {}
                _ = closed.changed() => {
                    // Flush what is already queued (e.g. the CONNECT_CLOSE reply), then stop.
                    closing = true;
                    std::mem::swap(&mut *client.out.q.lock().unwrap(), &mut work);
                }
            }
        }
        // A lone frame is written as is; several are batched into one write. Fds follow their
        // frame, so a frame with fds flushes the batch first.
        if work.len() == 1 {
            if let Some(Out::Frame(f, fds)) = work.front() {
                if !write_out(&stream, f, fds).await {
                    return;
                }
                work.clear();
            }
        }
        for m in work.drain(..) {
            match m {
                Out::Close => {
                    closing = true;
                    break;
                }
                Out::Frame(f, fds) if fds.is_empty() => batch.extend_from_slice(&f),
                Out::Frame(f, fds) => {
                    if !write_out(&stream, &batch, &[]).await || !write_out(&stream, &f, &fds).await
                    {
                        return;
                    }
                    batch.clear();
                }
            }
        }
        if !batch.is_empty() && !write_out(&stream, &batch, &[]).await {
            return;
        }
        batch.clear();
        if batch.capacity() > 256 * 1024 {
            batch = Vec::new();
        }
        if work.capacity() > 64 {
            work = VecDeque::new();
        }
        if closing {
            return;
        }
    }
}

async fn read_loop(
    server: &Arc<Server>,
    client: &Arc<Client>,
    stream: &Stream,
    mut closed: watch::Receiver<bool>,
) {
    let pending = std::mem::take(&mut *client.pending_input.lock().unwrap());
    let mut keep = KeepInput {
        rb: RecvBuf::with_pending(pending),
        client,
    };
    let rb = &mut keep.rb;
    let limits = server.limits();
    let inflight = Arc::new(Semaphore::new(limits.max_client_requests.max(1)));
    let mut ka = Keepalive::new(
        KeepaliveConfig {
            interval: limits.keepalive_interval,
            count: limits.keepalive_count,
        },
        Instant::now(),
    );
    loop {
        // Frame everything already buffered.
        let want = loop {
            let parsed = match frame::parse(rb.data()) {
                Ok(p) => p,
                Err(e) => {
                    tracing::warn!(client = client.id, "{e}; closing connection");
                    return;
                }
            };
            let (len, header, nfds) = match parsed {
                Parsed::Need(n) => break n,
                Parsed::Frame { len, header, nfds } => (len, header, nfds),
            };
            if rb.data().len() < len + nfds {
                break len + nfds;
            }
            if rb.fds.len() < nfds {
                tracing::warn!(client = client.id, "announced fds did not arrive; closing");
                return;
            }
            let fds: Vec<OwnedFd> = rb.fds.drain(..nfds).collect();
            ka.received(Instant::now());
            let off = frame::payload_offset(&header);
            let body_end = len;
            let flow = {
                let data = rb.data();
                let body = if off <= body_end {
                    &data[off..body_end]
                } else {
                    &[][..]
                };
                handle(server, client, &header, body, fds)
            };
            rb.consume(len + nfds);
            match flow {
                Flow::Continue => {}
                Flow::Spawn(fut) => {
                    let permit = tokio::select! {
                        p = inflight.clone().acquire_owned() => p.expect("never closed"),
                        _ = closed.changed() => return,
                    };
                    let c = client.clone();
                    tokio::spawn(async move {
                        let reply = fut.await;
                        deliver(&c, reply);
                        drop(permit);
                    });
                }
            }
            if client.is_closed() {
                return;
            }
        };
        let deadline = if client.keepalive_on.load(Ordering::Relaxed) {
            ka.deadline()
        } else {
            None
        };
        let sleep = async {
            match deadline {
                Some(d) => tokio::time::sleep_until(d.into()).await,
                None => std::future::pending().await,
            }
        };
        tokio::select! {
            r = stream.read_into(rb, want) => match r {
                Ok(0) => return,
                Ok(_) if rb.fds.len() > 2 * oxvirt_proto::header::NUM_FDS_MAX => {
                    // fds no message announced: never let a peer park descriptors in the daemon.
                    tracing::warn!(client = client.id, "client passed {} unclaimed fds; closing", rb.fds.len());
                    return;
                }
                Ok(_) => {}
                Err(e) => {
                    tracing::debug!(client = client.id, "read failed: {e}");
                    return;
                }
            },
            _ = sleep => match ka.expired() {
                KeepaliveAction::Ping => client.send(keepalive_frame(ka::PROC_PING)),
                KeepaliveAction::Close => {
                    tracing::warn!(client = client.id, "connection closed due to keepalive timeout");
                    return;
                }
            },
            _ = client.keepalive_changed.notified() => {}
            _ = closed.changed() => return,
        }
    }
}

/// The receive buffer of a reader loop; when the loop ends for an exec-restart, the bytes not
/// yet framed are kept on the client.
struct KeepInput<'a> {
    rb: RecvBuf,
    client: &'a Client,
}

impl Drop for KeepInput<'_> {
    fn drop(&mut self) {
        if self.client.detaching.load(Ordering::SeqCst) {
            *self.client.pending_input.lock().unwrap() = self.rb.data().to_vec();
        }
    }
}

enum Flow {
    Continue,
    Spawn(crate::program::ReplyFuture),
}

fn keepalive_frame(proc_: i32) -> Vec<u8> {
    frame::message(ka::PROGRAM, ka::VERSION, proc_, 0, &())
}

/// Route one frame: keepalive, unknown programs, then the program's dispatch.
fn handle(
    server: &Arc<Server>,
    client: &Arc<Client>,
    h: &Header,
    body: &[u8],
    fds: Vec<OwnedFd>,
) -> Flow {
    if h.prog == ka::PROGRAM && h.vers == ka::VERSION && h.kind == MsgType::Message {
        if h.proc_ == ka::PROC_PING {
            client.send(keepalive_frame(ka::PROC_PONG));
        }
        return Flow::Continue;
    }
    let is_call = matches!(h.kind, MsgType::Call | MsgType::CallWithFds);
    let Some(program) = server.program(h.prog, h.vers) else {
        if is_call {
            let e = VirError::bare(
                ErrorCode::Rpc,
                ErrorDomain::Rpc,
                format!("Cannot find program {} version {}", h.prog, h.vers),
            );
            client.send(frame::reply_err(h, &e));
        }
        return Flow::Continue;
    };
    if !is_call {
        // Replies, events and stream packets from a client are dropped (no streams yet).
        return Flow::Continue;
    }
    if h.status != MsgStatus::Ok {
        let e = VirError::bare(
            ErrorCode::Rpc,
            ErrorDomain::Rpc,
            format!("Unexpected message status {}", h.status.to_i32()),
        );
        client.send(frame::reply_err(h, &e));
        return Flow::Continue;
    }
    match program.dispatch(client, h, body, fds) {
        Dispatched::Now(reply) => {
            deliver(client, reply);
            Flow::Continue
        }
        Dispatched::Later(fut) => Flow::Spawn(fut),
    }
}

fn deliver(client: &Client, reply: Reply) {
    let msg = match reply {
        Reply::None => return,
        Reply::Frame(f) => Out::Frame(f, Vec::new()),
        Reply::FrameWithFds(f, fds) => Out::Frame(f, fds),
        Reply::CloseAfter(f) => {
            client.out.push(Out::Frame(f, Vec::new()));
            client.out.push(Out::Close);
            client.close();
            return;
        }
    };
    if !client.out.push(msg) {
        tracing::warn!(
            client = client.id,
            "client is not reading its replies; dropping it"
        );
        client.close();
    }
}

#[cfg(test)]
mod size_tests {
    //! Memory regression guards.
    /// Idle connections must stay cheap: the per-connection task and client record are the
    /// bulk of what an idle connection costs.
    #[tokio::test]
    async fn per_connection_state_stays_small() {
        let server = crate::Server::new("x", Default::default(), vec![]);
        let (a, _b) = tokio::net::UnixStream::pair().unwrap();
        let f = super::serve(
            server,
            super::Stream::unix(a).unwrap(),
            Default::default(),
            0,
            false,
            true,
        );
        assert!(
            std::mem::size_of_val(&f) <= 1024,
            "serve future is {} bytes",
            std::mem::size_of_val(&f)
        );
        assert!(std::mem::size_of::<super::Client>() <= 320);
    }
}
