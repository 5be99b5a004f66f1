//! One client connection: its identity and flags (what programs see), and the one task that
//! serves it (`Connection`): framing, keepalive, in-flight limit, dispatch, and the writes.
//! The replies to the calls of one read go out in one `send` from that task; other tasks
//! (event forwarders, calls answered later) queue frames on the client and wake it. The
//! bounded outgoing queue and its flush are in `out`.

use crate::frame::{self, Parsed};
use crate::keepalive::{Keepalive, KeepaliveAction, KeepaliveConfig};
use crate::program::{Dispatched, Reply};
use crate::server::Server;
use crate::transport::{RecvBuf, Stream};
use oxvirt_proto::{keepalive as ka, Header, MsgStatus, MsgType};
use oxvirt_virerror::{ErrorCode, ErrorDomain, VirError};
use std::any::Any;
use std::cell::RefCell;
use std::collections::VecDeque;
use std::future::Future;
use std::io::IoSlice;
use std::net::SocketAddr;
use std::os::fd::OwnedFd;
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll, Waker};
use std::time::{Duration, Instant};

mod out;
use out::{flush, Flushed, Out, OutQueue};

/// Frames queued for one client before it is considered stuck and dropped.
pub const OUT_QUEUE: usize = 1024;
/// Bytes queued for one client from which on it is considered stuck and dropped (a frame
/// queued below the bound is accepted whatever its size).
pub const OUT_QUEUE_BYTES: usize = 16 * 1024 * 1024;

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
    closed: AtomicBool,
    /// Wakes the connection task: something was queued, the client is closing, keepalive was
    /// switched on, or a spawned call finished.
    wake: WakeSlot,
    keepalive_on: AtomicBool,
    /// Calls spawned and not yet answered (bounded by `max_client_requests`).
    inflight: AtomicUsize,
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
        self.wake.wake();
    }

    /// Close the connection (admin client-disconnect, CONNECT_CLOSE, daemon shutdown).
    pub fn close(&self) {
        self.closed.store(true, Ordering::SeqCst);
        self.wake.wake();
    }

    /// True once the connection is closing.
    pub fn is_closed(&self) -> bool {
        self.closed.load(Ordering::SeqCst)
    }

    /// Start server PINGs for this client (it asked with CONNECT_SUPPORTS_FEATURE 10).
    pub fn start_keepalive(&self) {
        self.keepalive_on.store(true, Ordering::Relaxed);
        self.wake.wake();
    }

    /// A client attached to no socket: what it is sent stays queued until [`Client::take_out`].
    /// For driving programs in-process (unit tests, fuzzing).
    pub fn detached(server_name: &str, readonly: bool) -> Arc<Client> {
        Client::new(
            0,
            server_name.to_string(),
            0,
            0,
            ClientIdentity::default(),
            readonly,
            true,
        )
    }

    fn new(
        id: u64,
        server_name: String,
        connected_at: i64,
        transport: u32,
        identity: ClientIdentity,
        readonly: bool,
        authenticated: bool,
    ) -> Arc<Client> {
        Arc::new(Client {
            id,
            server_name,
            connected_at,
            transport,
            identity,
            readonly: AtomicBool::new(readonly),
            authenticated: AtomicBool::new(authenticated),
            out: OutQueue::default(),
            closed: AtomicBool::new(false),
            wake: WakeSlot::default(),
            keepalive_on: AtomicBool::new(false),
            inflight: AtomicUsize::new(0),
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
        self.out.take_frames()
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
        // Most clients carry one program's state: no spare slots.
        ext.reserve_exact(1);
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
    let client = Client::new(
        id,
        server.name.clone(),
        connected_at,
        transport,
        identity,
        readonly,
        authenticated,
    );
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
///
/// One task per connection: it reads, frames and dispatches, and writes the replies itself
/// (the replies to everything one read brought go out in one `send`); what the socket does
/// not take at once, and what other tasks send (events, replies computed later), waits in the
/// client's queue until the socket is writable. The task is a hand-written state machine
/// rather than an `async fn` with `select!`: it polls the socket's readiness directly instead
/// of keeping readiness futures, which keeps an idle connection's task at a few hundred bytes.
pub(crate) fn run(
    server: Arc<Server>,
    client: Arc<Client>,
    stream: Stream,
) -> impl Future<Output = ()> + Send + 'static {
    tracing::debug!(client = client.id, server = %server.name, identity = ?client.identity, "client connected");
    let pending = std::mem::take(&mut *client.pending_input.lock().unwrap());
    let limits = server.limits();
    let rb_ready = !pending.is_empty();
    Connection {
        ka: Keepalive::new(
            KeepaliveConfig {
                interval: limits.keepalive_interval,
                count: limits.keepalive_count,
            },
            Instant::now(),
        ),
        max_inflight: limits.max_client_requests.max(1),
        server,
        client,
        stream: Some(stream),
        rb: RecvBuf::with_pending(pending),
        held: None,
        rb_ready,
        want: 0,
        timer: None,
        draining: false,
    }
}

/// A connection task's state.
struct Connection {
    server: Arc<Server>,
    client: Arc<Client>,
    /// Taken when the connection ends (detached for an exec-restart, or shut down).
    stream: Option<Stream>,
    rb: RecvBuf,
    ka: Keepalive,
    /// A call dispatched while the in-flight limit was reached: spawned once a slot frees; no
    /// further input is read meanwhile.
    held: Option<crate::program::ReplyFuture>,
    max_inflight: usize,
    /// `rb` may hold whole frames not handled yet (restored input, or input left behind when
    /// a call was held).
    rb_ready: bool,
    /// Bytes the framer needs before it can go on.
    want: usize,
    /// The keepalive timer (once the client asked for keepalive), then the drain deadline.
    timer: Option<Pin<Box<tokio::time::Sleep>>>,
    /// Serving is over: queued frames are being written out before the connection ends.
    draining: bool,
}

/// Why serving stopped.
struct Stop;

impl Future for Connection {
    type Output = ();

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        let this = self.get_mut();
        if this.stream.is_none() {
            return Poll::Ready(());
        }
        if !this.draining {
            match this.serve(cx) {
                Poll::Pending => return Poll::Pending,
                Poll::Ready(Stop) => {
                    this.client.close();
                    // Write what is queued (the CONNECT_CLOSE reply, replies before an
                    // exec-restart), bounded: a peer that does not read cannot hold the
                    // connection open.
                    this.draining = true;
                    this.timer = Some(Box::pin(tokio::time::sleep(Duration::from_secs(5))));
                }
            }
        }
        if this.drain(cx).is_pending() {
            return Poll::Pending;
        }
        this.finish();
        Poll::Ready(())
    }
}

impl Connection {
    fn stream(&self) -> &Stream {
        self.stream.as_ref().expect("open until finished")
    }

    /// Serve until the connection should end.
    fn serve(&mut self, cx: &mut Context<'_>) -> Poll<Stop> {
        let client = self.client.clone();
        loop {
            if client.is_closed() {
                return Poll::Ready(Stop);
            }
            if let Some(fut) = self.held.take() {
                if client.inflight.load(Ordering::SeqCst) < self.max_inflight {
                    spawn_call(&client, fut);
                } else {
                    self.held = Some(fut);
                }
            }
            if self.rb_ready && self.held.is_none() {
                let (data, fds) = self.rb.split();
                let pass = process(
                    &self.server,
                    &client,
                    data,
                    fds,
                    &mut self.ka,
                    &mut self.held,
                    self.max_inflight,
                );
                self.rb.consume(pass.used);
                self.want = pass.want;
                self.rb_ready = self.held.is_some();
                if send_batch(&client, self.stream()).is_err() || pass.fatal {
                    return Poll::Ready(Stop);
                }
            }
            let blocked = if client.out.is_empty() {
                false
            } else {
                match flush(&client.out, self.stream()) {
                    Ok(Flushed::Empty) => false,
                    Ok(Flushed::Blocked) => true,
                    Ok(Flushed::Close) | Err(_) => return Poll::Ready(Stop),
                }
            };
            // The keepalive timer exists only once the client asked for keepalive (boxed:
            // most connections never do).
            let deadline = if client.keepalive_on.load(Ordering::Relaxed) {
                self.ka.deadline()
            } else {
                None
            };
            match (deadline, &mut self.timer) {
                (Some(d), Some(t)) => {
                    if t.deadline() != d.into() {
                        t.as_mut().reset(d.into())
                    }
                }
                (Some(_), None) => {
                    // Keepalive was just switched on: count from now.
                    self.ka.received(Instant::now());
                    let d = self.ka.deadline().expect("interval > 0");
                    self.timer = Some(Box::pin(tokio::time::sleep_until(d.into())))
                }
                (None, _) => self.timer = None,
            }

            // Poll every source; go round again if any made progress.
            let mut progress = client.wake.poll(cx);
            if blocked {
                match self.stream().poll_writable(cx) {
                    Poll::Ready(Ok(())) => progress = true,
                    Poll::Ready(Err(_)) => return Poll::Ready(Stop),
                    Poll::Pending => {}
                }
            }
            if self.held.is_none() {
                let mut pass = Pass::default();
                let Connection {
                    server,
                    stream,
                    rb,
                    ka,
                    held,
                    max_inflight,
                    want,
                    ..
                } = self;
                let stream = stream.as_ref().expect("open until finished");
                let r = stream.poll_read_with(cx, rb, *want, |data, fds| {
                    pass = process(server, &client, data, fds, ka, held, *max_inflight);
                    pass.used
                });
                match r {
                    Poll::Pending => {}
                    Poll::Ready(Ok(0)) => return Poll::Ready(Stop),
                    Poll::Ready(Ok(_)) => {
                        progress = true;
                        self.want = pass.want;
                        self.rb_ready = self.held.is_some();
                        if send_batch(&client, self.stream()).is_err() || pass.fatal {
                            return Poll::Ready(Stop);
                        }
                        if self.rb.fds.len() > 2 * oxvirt_proto::header::NUM_FDS_MAX {
                            // fds no message announced: never let a peer park descriptors.
                            tracing::warn!(
                                client = client.id,
                                "client passed {} unclaimed fds; closing",
                                self.rb.fds.len()
                            );
                            return Poll::Ready(Stop);
                        }
                    }
                    Poll::Ready(Err(e)) => {
                        tracing::debug!(client = client.id, "read failed: {e}");
                        return Poll::Ready(Stop);
                    }
                }
            }
            if let Some(t) = self.timer.as_mut() {
                if t.as_mut().poll(cx).is_ready() {
                    progress = true;
                    match self.ka.expired() {
                        KeepaliveAction::Ping => client.send(keepalive_frame(ka::PROC_PING)),
                        KeepaliveAction::Close => {
                            tracing::warn!(
                                client = client.id,
                                "connection closed due to keepalive timeout"
                            );
                            return Poll::Ready(Stop);
                        }
                    }
                }
            }
            if !progress {
                return Poll::Pending;
            }
        }
    }

    /// Write the queue out up to a `Close` marker, or until the drain deadline passes.
    fn drain(&mut self, cx: &mut Context<'_>) -> Poll<()> {
        loop {
            match flush(&self.client.out, self.stream()) {
                Ok(Flushed::Blocked) => match self.stream().poll_writable(cx) {
                    Poll::Ready(Ok(())) => continue,
                    Poll::Ready(Err(_)) => return Poll::Ready(()),
                    Poll::Pending => {
                        let expired = match self.timer.as_mut() {
                            Some(t) => t.as_mut().poll(cx).is_ready(),
                            None => true,
                        };
                        return if expired {
                            Poll::Ready(())
                        } else {
                            Poll::Pending
                        };
                    }
                },
                _ => return Poll::Ready(()),
            }
        }
    }

    /// Hand the socket over for an exec-restart, or shut it down and unregister.
    fn finish(&mut self) {
        let stream = self.stream.take().expect("finished once");
        let client = &self.client;
        if client.detaching.load(Ordering::SeqCst) {
            let pending = self.rb.data().to_vec();
            let fd = stream.into_fd();
            self.server.detached(
                client,
                DetachedClient {
                    client: client.clone(),
                    fd,
                    pending,
                },
            );
            tracing::debug!(client = client.id, "client detached for exec-restart");
            return;
        }
        stream.shutdown();
        drop(stream);
        self.server.unregister(client);
        tracing::debug!(client = client.id, "client disconnected");
    }
}

/// The connection task's wake-up: set by other tasks (something queued, closing, keepalive
/// switched on, a spawned call finished), taken by the connection task's poll.
#[derive(Debug, Default)]
struct WakeSlot {
    woken: AtomicBool,
    waker: Mutex<Option<Waker>>,
}

impl WakeSlot {
    fn wake(&self) {
        self.woken.store(true, Ordering::SeqCst);
        let w = self.waker.lock().unwrap().take();
        if let Some(w) = w {
            w.wake();
        }
    }

    /// True if woken since the last poll; else the task's waker is kept for [`WakeSlot::wake`].
    fn poll(&self, cx: &mut Context<'_>) -> bool {
        if self.woken.swap(false, Ordering::SeqCst) {
            return true;
        }
        {
            let mut w = self.waker.lock().unwrap();
            match &*w {
                Some(old) if old.will_wake(cx.waker()) => {}
                _ => *w = Some(cx.waker().clone()),
            }
        }
        self.woken.swap(false, Ordering::SeqCst)
    }
}

/// What one framing pass did.
#[derive(Default)]
struct Pass {
    /// Bytes framed and handled.
    used: usize,
    /// Bytes the framer needs (from the first unhandled one) before it can go on.
    want: usize,
    /// The input cannot be framed: close the connection.
    fatal: bool,
}

/// Frame and handle the calls at the start of `data` (fds passed so far in `fds`); replies
/// go to this thread's batch. Stops at an incomplete frame, a held call, or a closing client.
fn process(
    server: &Arc<Server>,
    client: &Arc<Client>,
    data: &[u8],
    fds: &mut VecDeque<OwnedFd>,
    ka: &mut Keepalive,
    held: &mut Option<crate::program::ReplyFuture>,
    max_inflight: usize,
) -> Pass {
    let mut pass = Pass::default();
    loop {
        if held.is_some() || client.is_closed() {
            return pass;
        }
        let buf = &data[pass.used..];
        let (len, header, nfds) = match frame::parse(buf) {
            Ok(Parsed::Need(n)) => {
                pass.want = n;
                return pass;
            }
            Ok(Parsed::Frame { len, header, nfds }) => (len, header, nfds),
            Err(e) => {
                tracing::warn!(client = client.id, "{e}; closing connection");
                pass.fatal = true;
                return pass;
            }
        };
        if buf.len() < len + nfds {
            pass.want = len + nfds;
            return pass;
        }
        if fds.len() < nfds {
            tracing::warn!(client = client.id, "announced fds did not arrive; closing");
            pass.fatal = true;
            return pass;
        }
        let passed: Vec<OwnedFd> = fds.drain(..nfds).collect();
        // Only a client with keepalive on has a deadline to push back (switching it on starts
        // the count): no clock read per call for the others.
        if client.keepalive_on.load(Ordering::Relaxed) {
            ka.received(Instant::now());
        }
        let off = frame::payload_offset(&header);
        let body = if off <= len { &buf[off..len] } else { &[][..] };
        pass.used += len + nfds;
        if let Some(fut) = handle(server, client, &header, body, passed) {
            if client.inflight.load(Ordering::SeqCst) < max_inflight {
                spawn_call(client, fut);
            } else {
                *held = Some(fut);
            }
        }
    }
}

/// Run a call answered later in its own task; it counts as in flight until it is answered.
fn spawn_call(client: &Arc<Client>, fut: crate::program::ReplyFuture) {
    /// Releases the in-flight slot even if the call panics.
    struct Slot(Arc<Client>);
    impl Drop for Slot {
        fn drop(&mut self) {
            self.0.inflight.fetch_sub(1, Ordering::SeqCst);
            self.0.wake.wake();
        }
    }
    client.inflight.fetch_add(1, Ordering::SeqCst);
    let slot = Slot(client.clone());
    tokio::spawn(async move {
        let reply = fut.await;
        deliver(&slot.0, reply);
        drop(slot);
    });
}

/// Largest batch buffer a thread keeps between passes.
const BATCH_KEEP: usize = 256 * 1024;

thread_local! {
    /// Replies produced by one framing pass, written with one `send` after it. Per thread, so
    /// idle connections hold no output buffer.
    static BATCH: RefCell<Vec<u8>> = const { RefCell::new(Vec::new()) };
}

/// A reply produced inside a framing pass (on the connection task).
fn emit(client: &Client, reply: Reply) {
    match reply {
        Reply::None => {}
        Reply::Frame(f) => BATCH.with(|b| b.borrow_mut().extend_from_slice(&f)),
        Reply::FrameWithFds(f, fds) => {
            queue_batch(client);
            push_or_drop(client, Out::Frame(f, fds));
        }
        Reply::CloseAfter(f) => {
            BATCH.with(|b| b.borrow_mut().extend_from_slice(&f));
            queue_batch(client);
            client.out.push(Out::Close);
            client.close();
        }
    }
}

/// Move the batch into the client's queue (before a frame that must go through it).
fn queue_batch(client: &Client) {
    let frame = BATCH.with(|b| {
        let mut b = b.borrow_mut();
        let f = b.to_vec();
        b.clear();
        f
    });
    if !frame.is_empty() {
        push_or_drop(client, Out::Frame(frame, Vec::new()));
    }
}

fn push_or_drop(client: &Client, m: Out) {
    if !client.out.push(m) {
        tracing::warn!(
            client = client.id,
            "client is not reading its replies; dropping it"
        );
        client.close();
    }
}

/// After a pass: write the batch at once if nothing is queued before it, and queue what the
/// socket did not take.
fn send_batch(client: &Client, stream: &Stream) -> std::io::Result<()> {
    BATCH.with(|b| {
        let mut b = b.borrow_mut();
        if b.is_empty() {
            return Ok(());
        }
        let mut sent = 0;
        let mut s = client.out.s.lock().unwrap();
        let mut res = Ok(());
        if s.q.is_empty() {
            match stream.try_send(&[IoSlice::new(&b)]) {
                Ok(n) => sent = n,
                Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => {}
                Err(e) => {
                    sent = b.len();
                    res = Err(e);
                }
            }
        }
        if sent < b.len() && !s.push(Out::Frame(b[sent..].to_vec(), Vec::new())) {
            tracing::warn!(
                client = client.id,
                "client is not reading its replies; dropping it"
            );
            client.close();
        }
        drop(s);
        b.clear();
        if b.capacity() > BATCH_KEEP {
            *b = Vec::new();
        }
        res
    })
}

fn keepalive_frame(proc_: i32) -> Vec<u8> {
    frame::message(ka::PROGRAM, ka::VERSION, proc_, 0, &())
}

/// Route one frame: keepalive, unknown programs, then the program's dispatch. Replies go to
/// the pass's batch; a call answered later is returned.
fn handle(
    server: &Arc<Server>,
    client: &Arc<Client>,
    h: &Header,
    body: &[u8],
    fds: Vec<OwnedFd>,
) -> Option<crate::program::ReplyFuture> {
    if h.prog == ka::PROGRAM && h.vers == ka::VERSION && h.kind == MsgType::Message {
        if h.proc_ == ka::PROC_PING {
            emit(client, Reply::Frame(keepalive_frame(ka::PROC_PONG)));
        }
        return None;
    }
    let is_call = matches!(h.kind, MsgType::Call | MsgType::CallWithFds);
    let Some(program) = server.program(h.prog, h.vers) else {
        if is_call {
            let e = VirError::bare(
                ErrorCode::Rpc,
                ErrorDomain::Rpc,
                format!("Cannot find program {} version {}", h.prog, h.vers),
            );
            emit(client, Reply::Frame(frame::reply_err(h, &e)));
        }
        return None;
    };
    if !is_call {
        // Replies, events and stream packets from a client are dropped (no streams yet).
        return None;
    }
    if h.status != MsgStatus::Ok {
        let e = VirError::bare(
            ErrorCode::Rpc,
            ErrorDomain::Rpc,
            format!("Unexpected message status {}", h.status.to_i32()),
        );
        emit(client, Reply::Frame(frame::reply_err(h, &e)));
        return None;
    }
    match program.dispatch(client, h, body, fds) {
        Dispatched::Now(reply) => {
            emit(client, reply);
            None
        }
        Dispatched::Later(fut) => Some(fut),
    }
}

/// A reply computed by another task: queue it and wake the connection task.
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
    push_or_drop(client, msg);
    client.wake.wake();
}

#[cfg(test)]
mod size_tests {
    //! Memory regression guards.
    /// Idle connections must stay cheap (under 2 KiB each): the per-connection task and
    /// client record are the bulk of what an idle connection costs. The whole figure is
    /// guarded by `crates/daemon/tests/alloc.rs`.
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
        // The connection task is a hand-written state machine: with the task's header this
        // stays within 384 bytes (tokio aligns task cells to 128 bytes).
        assert!(
            std::mem::size_of_val(&f) <= 512,
            "serve future is {} bytes",
            std::mem::size_of_val(&f)
        );
        assert!(std::mem::size_of::<super::Client>() <= 320);
    }
}
