//! The async connection: handshake, call multiplexing, fd passing, streams, keepalive, events
//! and the close notification.
//!
//! Who talks to whom:
//! - A caller encodes its CALL (in a per-thread buffer) and, when no other call is in flight,
//!   writes it **itself**, straight to the socket, under a short lock; only what the socket
//!   would not take is queued. With other calls in flight the frame is queued for the writer
//!   task, which merges the queued frames of all callers into one write (and waits for
//!   writability when the socket is full). fds of a CALL_WITH_FDS follow their frame, each with
//!   its own one-byte `sendmsg`, as libvirt sends them.
//! - One reader task reads the socket (into one reusable buffer, fds included), frames what it
//!   read and hands each REPLY to the caller waiting on its serial (a oneshot; the payload is
//!   copied once, out of the read buffer), STREAM/STREAM_HOLE packets to the [`crate::stream`]
//!   registered under the serial of the call that opened it, events to
//!   `EventRoutes::dispatch`, and answers keepalive PINGs. A caller that was alone also waits
//!   on the socket itself and, when it becomes readable first, does that same read and dispatch
//!   on its own task (the read buffer is shared under a lock), so its reply needs no task
//!   hand-off at all.
//! - A keepalive task (only after [`Connection::set_keepalive`]) sends PINGs when the server
//!   was quiet and declares the connection dead after interval × (count + 1) of silence.
//!
//! The writer and reader sides, framing, dispatch and the keepalive task live in `tasks`;
//! opening and the handshake in `open`; this module holds the shared state (`Inner`) and the
//! call API.
//!
//! A sequential call therefore costs the kernel a `sendto`, one `epoll_wait` and a `recvmsg`
//! (measured with `strace -c`; a reply handed over from the reader task would add a zero-timeout
//! `epoll_wait`, which tokio's current-thread scheduler makes when it wakes the `block_on`
//! future from a task). The socket is registered for read readiness only: with write interest,
//! every time the server drains a request the kernel raises an EPOLLOUT edge that wakes the
//! runtime for nothing. Transports that are not sockets (ssh, ext: a boxed
//! `AsyncRead + AsyncWrite`) use a writer task fed by a channel and the reader task alone, and
//! cannot pass fds.
//!
//! A [`Connection`] is a cheap handle (`Clone + Send + Sync`); when the last handle is dropped
//! the tasks stop and the socket closes (without `CONNECT_CLOSE`; call [`Connection::close`] for
//! an orderly shutdown). [`Connection::closed`] tells why a connection ended, with libvirt's
//! close reasons.
//!
//! ```no_run
//! # async fn demo() -> Result<(), oxvirt_client::ClientError> {
//! use oxvirt_client::Connection;
//! let conn = Connection::open(Some("qemu:///system"), false).await?;
//! conn.set_keepalive(std::time::Duration::from_secs(5), 5)?;
//! let closed = conn.closed();
//! let mut events = conn.domain_lifecycle_events().await?;
//! for dom in conn.list_all_domains(0).await? {
//!     let info = conn.domain_get_info(&dom).await?;
//!     println!("{} state {} vcpus {}", dom.name, info.state, info.nr_virt_cpu);
//! }
//! if let Some(ev) = events.recv().await {
//!     println!("{}: {:?}", ev.domain.name, ev.kind);
//! }
//! conn.close().await?;
//! assert_eq!(closed.await, oxvirt_client::CloseReason::Client);
//! # Ok(())
//! # }
//! ```

use crate::error::{ClientError, Disconnect};
use crate::events::EventRoutes;
use crate::io::{ReadReady, RecvBuf, Sock};
use crate::{conf::ClientConf, select, sockets, Env};
use oxvirt_proto::header::{begin_frame, finish_frame, LEN_SIZE};
use oxvirt_proto::remote::{self, procs};
use oxvirt_proto::{keepalive, Header, MsgStatus, MsgType, RemoteError};
use oxvirt_xdr::Xdr;
use std::any::Any;
use std::collections::{HashMap, VecDeque};
use std::future::Future;
use std::io;
use std::os::fd::{AsRawFd, OwnedFd};
use std::path::Path;
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, AtomicU32, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, Weak};
use std::task::Poll;
use std::time::{Duration, Instant};
use tokio::io::{AsyncRead, AsyncWrite, AsyncWriteExt};
use tokio::sync::{mpsc, oneshot, watch, Notify};
use tokio::task::JoinHandle;

mod open;
mod tasks;
use tasks::*;
#[cfg(test)]
mod tests;

/// `VIR_DRV_FEATURE_PROGRAM_KEEPALIVE`.
pub const FEATURE_PROGRAM_KEEPALIVE: i32 = 10;
/// `VIR_DRV_FEATURE_REMOTE_EVENT_CALLBACK`.
pub const FEATURE_REMOTE_EVENT_CALLBACK: i32 = 14;
/// `VIR_DRV_FEATURE_REMOTE_CLOSE_CALLBACK`.
pub const FEATURE_REMOTE_CLOSE_CALLBACK: i32 = 15;

/// Why a connection closed: libvirt's `virConnectCloseReason`, as its close callback reports it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum CloseReason {
    /// `VIR_CONNECT_CLOSE_REASON_ERROR` (0): an I/O error or a protocol violation.
    Error,
    /// `VIR_CONNECT_CLOSE_REASON_EOF` (1): the server closed the socket.
    Eof,
    /// `VIR_CONNECT_CLOSE_REASON_KEEPALIVE` (2): the server stopped answering keepalive.
    Keepalive,
    /// `VIR_CONNECT_CLOSE_REASON_CLIENT` (3): this side closed it ([`Connection::close`], or
    /// every handle was dropped).
    Client,
}

impl CloseReason {
    /// libvirt's number for the reason.
    pub fn to_i32(self) -> i32 {
        match self {
            CloseReason::Error => 0,
            CloseReason::Eof => 1,
            CloseReason::Keepalive => 2,
            CloseReason::Client => 3,
        }
    }

    fn of(d: &Disconnect) -> CloseReason {
        match d {
            Disconnect::Eof | Disconnect::EofWith(_) => CloseReason::Eof,
            Disconnect::KeepaliveTimeout => CloseReason::Keepalive,
            Disconnect::Closed => CloseReason::Client,
            Disconnect::Io(_) | Disconnect::Write(_) | Disconnect::Protocol(_) => {
                CloseReason::Error
            }
        }
    }
}

/// A reply as the reader hands it over: header, payload (after the fd count word of a
/// REPLY_WITH_FDS) and the fds that came with it.
pub(crate) type Reply = (Header, Vec<u8>, Vec<OwnedFd>);
type ReplyResult = Result<Reply, ClientError>;

/// Runs in the reader task on a successful reply, before the next frame is read (used to
/// install event routes so that no event following the reply is missed).
pub(crate) type OnOk = Box<dyn FnOnce(&[u8]) + Send>;

struct Pending {
    tx: oneshot::Sender<ReplyResult>,
    on_ok: Option<OnOk>,
}

/// One STREAM or STREAM_HOLE packet of an open stream, as received.
#[derive(Debug)]
pub(crate) struct StreamPacket {
    pub(crate) kind: MsgType,
    pub(crate) status: MsgStatus,
    pub(crate) payload: Vec<u8>,
}

/// What a stream route receives: packets, then `Err` once if the connection dies.
pub(crate) type StreamTx = mpsc::UnboundedSender<Result<StreamPacket, ClientError>>;

#[derive(Default)]
struct State {
    pending: HashMap<u32, Pending>,
    streams: HashMap<u32, StreamTx>,
    dead: Option<Disconnect>,
}

/// What the handshake learnt about the server.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Features {
    /// The server answers keepalive (feature 10).
    pub keepalive: bool,
    /// Modern event callbacks (feature 14).
    pub event_callback: bool,
    /// Close callbacks (feature 15).
    pub close_callback: bool,
}

/// A frame (or its unwritten rest) waiting for the socket to take it.
struct OutFrame {
    bytes: Vec<u8>,
    off: usize,
    fds: VecDeque<OwnedFd>,
    /// Fired once the frame is written (several when frames were merged).
    dones: Vec<oneshot::Sender<()>>,
}

/// How long a connection whose write failed waits for its reader to reach the peer's EOF.
const WRITE_FAILED_GRACE: Duration = Duration::from_secs(5);

#[derive(Default)]
struct WriteQueue {
    q: VecDeque<OutFrame>,
    closed: bool,
}

/// The write side of a socket transport: callers write directly while `q` is empty.
struct SockWriter {
    sock: Arc<Sock>,
    q: Mutex<WriteQueue>,
    wake: Notify,
}

enum Writer {
    Sock(Arc<SockWriter>),
    Chan(mpsc::UnboundedSender<OutFrame>),
}

/// The read side of a socket transport, shared by the reader task and a lone waiting caller.
struct SockRead {
    sock: Arc<Sock>,
    state: Mutex<ReadState>,
}

struct ReadState {
    rb: RecvBuf,
    /// Unconsumed bytes the framer needs.
    want: usize,
}

pub(crate) struct Inner {
    serial: AtomicU32,
    sock_read: Option<SockRead>,
    /// Bytes of stream data received and not yet taken by `Stream::recv`; above
    /// [`crate::stream::QUEUE_MAX`] the connection stops reading the socket.
    stream_bytes: AtomicUsize,
    stream_drained: Notify,
    /// Reading is paused for a slow stream consumer (keepalive does not count this as silence).
    stalled: AtomicBool,
    state: Mutex<State>,
    writer: Writer,
    last_rx: Mutex<Instant>,
    pub(crate) events: Mutex<EventRoutes>,
    tasks: Mutex<Vec<JoinHandle<()>>>,
    keepalive: Mutex<Option<JoinHandle<()>>>,
    features: Mutex<Features>,
    uri: Mutex<Option<String>>,
    read_only: AtomicBool,
    /// Set by `close()` before CONNECT_CLOSE: the EOF that follows is the client's doing.
    closing: AtomicBool,
    /// The first failed write. The connection stays up until the reader has taken what the
    /// peer sent before it closed (a CONNECT_CLOSE reply, say); new writes fail with this.
    write_err: Mutex<Option<Disconnect>>,
    /// This connection, for the tasks it starts itself.
    me: Weak<Inner>,
    closed_tx: watch::Sender<Option<CloseReason>>,
}

impl Inner {
    /// Marks the connection dead (first reason wins), fails every pending call and stream,
    /// shuts the socket down and reports the close reason.
    fn kill(&self, why: Disconnect) {
        let why = if self.closing.load(Ordering::Acquire) {
            Disconnect::Closed
        } else {
            why
        };
        let (pending, streams, first) = {
            let mut st = self.state.lock().unwrap();
            let first = st.dead.is_none();
            if first {
                st.dead = Some(why.clone());
            }
            (
                std::mem::take(&mut st.pending),
                std::mem::take(&mut st.streams),
                first,
            )
        };
        let why = self.dead_reason();
        if !pending.is_empty() {
            tracing::debug!(reason = %why, n = pending.len(), "failing pending calls");
        }
        for (_, p) in pending {
            let _ = p.tx.send(Err(ClientError::Disconnected(why.clone())));
        }
        for (_, s) in streams {
            let _ = s.send(Err(ClientError::Disconnected(why.clone())));
        }
        match &self.writer {
            Writer::Sock(w) => {
                let dropped = {
                    let mut q = w.q.lock().unwrap();
                    q.closed = true;
                    std::mem::take(&mut q.q)
                };
                drop(dropped);
                w.sock.shutdown();
                w.wake.notify_one();
            }
            Writer::Chan(_) => {}
        }
        self.events.lock().unwrap().clear();
        for t in self.tasks.lock().unwrap().drain(..) {
            t.abort();
        }
        if let Some(t) = self.keepalive.lock().unwrap().take() {
            t.abort();
        }
        if first {
            self.closed_tx.send_replace(Some(CloseReason::of(&why)));
        }
    }

    /// Writes (or queues) one frame with its fds. `done` fires once all of it is on the socket.
    fn send(
        &self,
        bytes: &[u8],
        fds: Vec<OwnedFd>,
        done: Option<oneshot::Sender<()>>,
    ) -> Result<(), ClientError> {
        self.send_opt(bytes, fds, done, true)
    }

    /// [`Inner::send`]; `direct: false` leaves the frame to the writer task even when the
    /// socket has room, so that frames of many concurrent callers go out in one write.
    fn send_opt(
        &self,
        bytes: &[u8],
        fds: Vec<OwnedFd>,
        done: Option<oneshot::Sender<()>>,
        direct: bool,
    ) -> Result<(), ClientError> {
        match &self.writer {
            Writer::Sock(w) => match w.send(bytes, fds, done, direct) {
                Ok(()) => Ok(()),
                Err(None) => Err(ClientError::Disconnected(self.dead_reason())),
                Err(Some(e)) => {
                    self.write_failed(e);
                    Err(ClientError::Disconnected(self.dead_reason()))
                }
            },
            Writer::Chan(tx) => {
                if !fds.is_empty() {
                    return Err(ClientError::Protocol(
                        "fd passing needs a UNIX socket transport".into(),
                    ));
                }
                tx.send(OutFrame {
                    bytes: bytes.to_vec(),
                    off: 0,
                    fds: VecDeque::new(),
                    dones: done.into_iter().collect(),
                })
                .map_err(|_| ClientError::Disconnected(self.dead_reason()))
            }
        }
    }

    /// Sends a frame and waits until it is written (streams use it: a sender is slowed down to
    /// the pace the socket takes data, as libvirt's client is).
    pub(crate) async fn send_flushed(&self, bytes: &[u8]) -> Result<(), ClientError> {
        let (tx, rx) = oneshot::channel();
        self.send(bytes, Vec::new(), Some(tx))?;
        rx.await
            .map_err(|_| ClientError::Disconnected(self.dead_reason()))
    }

    /// Sends a frame without waiting for it to be written.
    pub(crate) fn send_nowait(&self, bytes: &[u8]) -> Result<(), ClientError> {
        self.send(bytes, Vec::new(), None)
    }

    fn can_pass_fds(&self) -> bool {
        matches!(&self.writer, Writer::Sock(w) if w.sock.is_unix())
    }

    /// Why the connection is dead, or why it can no longer send.
    pub(crate) fn dead_reason(&self) -> Disconnect {
        let dead = self.state.lock().unwrap().dead.clone();
        dead.or_else(|| self.write_err.lock().unwrap().clone())
            .unwrap_or(Disconnect::Closed)
    }

    /// A write failed: nothing more can be sent, but the peer may have written replies before
    /// it closed (it answers CONNECT_CLOSE, then closes, while another task of ours is still
    /// sending). Those are in our receive buffer already, so the connection is killed by the
    /// reader when it reaches the end of them; the write side is shut down so that a peer that
    /// is still there sees EOF and closes too. If nobody is reading (stream flow control has
    /// paused the reader), or the reader has not ended within [`WRITE_FAILED_GRACE`], the
    /// connection is killed here.
    pub(crate) fn write_failed(&self, e: io::Error) {
        let why = Disconnect::Write(e.to_string());
        {
            let mut slot = self.write_err.lock().unwrap();
            if slot.is_some() {
                return;
            }
            *slot = Some(why.clone());
        }
        match &self.writer {
            Writer::Sock(w) => {
                let dropped = {
                    let mut q = w.q.lock().unwrap();
                    q.closed = true;
                    std::mem::take(&mut q.q)
                };
                drop(dropped);
                w.sock.shutdown_write();
                w.wake.notify_one();
            }
            Writer::Chan(_) => {}
        }
        let reader_runs = self.sock_read.is_some() || matches!(self.writer, Writer::Chan(_));
        match tokio::runtime::Handle::try_current() {
            Ok(rt) if reader_runs && !self.reading_paused() => {
                let inner = self.me.clone();
                rt.spawn(async move {
                    tokio::time::sleep(WRITE_FAILED_GRACE).await;
                    if let Some(i) = inner.upgrade() {
                        i.kill(why);
                    }
                });
            }
            _ => self.kill(why),
        }
    }

    pub(crate) fn next_serial(&self) -> u32 {
        self.serial.fetch_add(1, Ordering::Relaxed)
    }

    /// Registers a stream route for `serial` (before the CALL that opens it is sent).
    pub(crate) fn add_stream(&self, serial: u32, tx: StreamTx) -> Result<(), ClientError> {
        let mut st = self.state.lock().unwrap();
        if let Some(d) = &st.dead {
            return Err(ClientError::Disconnected(d.clone()));
        }
        st.streams.insert(serial, tx);
        Ok(())
    }

    /// A stream consumer took `n` bytes: reading resumes once the queue is short again.
    pub(crate) fn stream_consumed(&self, n: usize) {
        if n == 0 {
            return;
        }
        let before = self.stream_bytes.fetch_sub(n, Ordering::AcqRel);
        if before > crate::stream::QUEUE_MAX && before - n <= crate::stream::QUEUE_MAX {
            self.stream_drained.notify_waiters();
        }
    }

    /// Waits while undelivered stream data exceeds the bound (flow control towards the server:
    /// it stops sending once the socket fills, as with a C client that stops reading).
    async fn wait_stream_room(&self) {
        loop {
            let drained = self.stream_drained.notified();
            tokio::pin!(drained);
            drained.as_mut().enable();
            if self.stream_bytes.load(Ordering::Acquire) <= crate::stream::QUEUE_MAX {
                self.stalled.store(false, Ordering::Release);
                return;
            }
            self.stalled.store(true, Ordering::Release);
            drained.await;
        }
    }

    pub(crate) fn queued_stream_bytes(&self) -> usize {
        self.stream_bytes.load(Ordering::Acquire)
    }

    fn reading_paused(&self) -> bool {
        self.stream_bytes.load(Ordering::Acquire) > crate::stream::QUEUE_MAX
    }

    pub(crate) fn remove_stream(&self, serial: u32) {
        self.state.lock().unwrap().streams.remove(&serial);
    }
}

impl Drop for Inner {
    fn drop(&mut self) {
        if let Ok(tasks) = self.tasks.get_mut() {
            for t in tasks.drain(..) {
                t.abort();
            }
        }
        if let Ok(Some(t)) = self.keepalive.get_mut().map(Option::take) {
            t.abort();
        }
        if let Writer::Sock(w) = &self.writer {
            w.sock.shutdown();
        }
        self.closed_tx.send_if_modified(|r| {
            if r.is_none() {
                *r = Some(CloseReason::Client);
                true
            } else {
                false
            }
        });
    }
}

/// A connection to a libvirt daemon (the REMOTE program, or any program over a raw
/// connection: see [`Connection::connect_unix_raw`]).
#[derive(Clone)]
pub struct Connection {
    pub(crate) inner: Arc<Inner>,
}

impl std::fmt::Debug for Connection {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Connection")
            .field("uri", &self.inner.uri.lock().unwrap())
            .field("read_only", &self.is_read_only())
            .finish()
    }
}

/// What a transport hands to the connection: any byte stream. UNIX and TCP sockets from
/// tokio are recognised and driven directly (direct writes, fd passing on UNIX).
trait Stream: AsyncRead + AsyncWrite + Send + Unpin + Any {
    fn as_any(&self) -> &dyn Any;
    fn into_any(self: Box<Self>) -> Box<dyn Any>;
}
impl<T: AsyncRead + AsyncWrite + Send + Unpin + Any> Stream for T {
    fn as_any(&self) -> &dyn Any {
        self
    }
    fn into_any(self: Box<Self>) -> Box<dyn Any> {
        self
    }
}

thread_local! {
    /// Encoding buffer of the calling thread: a call's frame is built here and written from
    /// here; it is copied only when the socket cannot take it at once.
    static ENCODE: std::cell::RefCell<Vec<u8>> = std::cell::RefCell::new(Vec::with_capacity(4096));
}

/// Builds the frame of `h` + (fd count) + `args` in the thread's buffer and runs `f` on it.
fn with_frame<A: Xdr, T>(h: &Header, nfds: Option<u32>, args: &A, f: impl FnOnce(&[u8]) -> T) -> T {
    ENCODE.with(|b| {
        let mut guard = b.try_borrow_mut();
        let mut fresh = Vec::new();
        let out: &mut Vec<u8> = match guard.as_deref_mut() {
            Ok(v) => v,
            Err(_) => &mut fresh,
        };
        out.clear();
        begin_frame(out, h);
        if let Some(n) = nfds {
            n.encode(out);
        }
        args.encode(out);
        finish_frame(out, 0);
        let r = f(out);
        if out.capacity() > 1 << 20 {
            *out = Vec::with_capacity(4096);
        }
        r
    })
}

fn frame<A: Xdr>(h: &Header, args: &A) -> Vec<u8> {
    with_frame(h, None, args, <[u8]>::to_vec)
}

impl Connection {
    /// `CONNECT_SUPPORTS_FEATURE`.
    pub async fn supports_feature(&self, feature: i32) -> Result<bool, ClientError> {
        let r: remote::SupportsFeatureRet = self
            .call(
                procs::CONNECT_SUPPORTS_FEATURE,
                &remote::SupportsFeatureArgs { feature },
            )
            .await?;
        Ok(r.supported != 0)
    }

    /// What the handshake learnt.
    pub fn features(&self) -> Features {
        *self.inner.features.lock().unwrap()
    }

    /// The URI the connection was opened with (what `CONNECT_OPEN` got, or what the server
    /// reported when none was given).
    pub fn uri(&self) -> Option<String> {
        self.inner.uri.lock().unwrap().clone()
    }

    /// Whether the connection was opened read-only.
    pub fn is_read_only(&self) -> bool {
        self.inner.read_only.load(Ordering::Relaxed)
    }

    /// Whether the connection still works (no EOF, keepalive timeout, error or close).
    pub fn is_alive(&self) -> bool {
        self.inner.state.lock().unwrap().dead.is_none()
    }

    /// Resolves once, when the connection closes, with the reason (libvirt's close callback:
    /// EOF when the server went away, KEEPALIVE on a keepalive timeout, ERROR on an I/O or
    /// protocol error, CLIENT after [`Connection::close`] or when every handle was dropped).
    /// The future holds no reference to the connection; it may be awaited from any task, and
    /// resolves at once for a connection already closed.
    pub fn closed(&self) -> impl Future<Output = CloseReason> + Send + 'static {
        let mut rx = self.inner.closed_tx.subscribe();
        async move {
            loop {
                if let Some(r) = *rx.borrow_and_update() {
                    return r;
                }
                if rx.changed().await.is_err() {
                    return rx.borrow().unwrap_or(CloseReason::Client);
                }
            }
        }
    }

    /// The close reason, if the connection has closed.
    pub fn close_reason(&self) -> Option<CloseReason> {
        *self.inner.closed_tx.borrow()
    }

    /// Calls a REMOTE procedure.
    pub async fn call<A: Xdr, R: Xdr>(&self, proc_: i32, args: &A) -> Result<R, ClientError> {
        self.call_program(remote::PROGRAM, remote::VERSION, proc_, args)
            .await
    }

    /// Calls a procedure of any program served on this connection (REMOTE, QEMU, LXC, or the
    /// program of a raw connection).
    pub async fn call_program<A: Xdr, R: Xdr>(
        &self,
        prog: u32,
        vers: u32,
        proc_: i32,
        args: &A,
    ) -> Result<R, ClientError> {
        let (body, _) = self
            .call_inner(prog, vers, proc_, args, Vec::new(), None)
            .await?;
        Ok(oxvirt_xdr::from_bytes(&body)?)
    }

    /// Calls a procedure passing `fds` (CALL_WITH_FDS; a plain CALL when `fds` is empty) and
    /// returns its result with the fds the server passed back (REPLY_WITH_FDS), e.g. virtlogd's
    /// DOMAIN_OPEN_LOG_FILE, which returns the write end of a pipe. Only over UNIX sockets.
    ///
    /// ```no_run
    /// # async fn demo() -> Result<(), oxvirt_client::ClientError> {
    /// use std::os::fd::OwnedFd;
    /// oxvirt_xdr::xdr_struct! {
    ///     pub struct Dom { pub uuid: oxvirt_xdr::Uuid, pub name: String }
    ///     pub struct OpenArgs { pub driver: String, pub dom: Dom, pub path: String, pub flags: u32 }
    ///     pub struct Pos { pub inode: u64, pub offset: u64 }
    /// }
    /// let c = oxvirt_client::Connection::connect_unix_raw("/run/libvirt/virtlogd-sock").await?;
    /// let args = OpenArgs {
    ///     driver: "qemu".into(),
    ///     dom: Dom { uuid: oxvirt_xdr::Uuid([0; 16]), name: "guest".into() },
    ///     path: "/var/log/libvirt/qemu/guest.log".into(),
    ///     flags: 0,
    /// };
    /// // virtlogd's DOMAIN_OPEN_LOG_FILE: the position, and the pipe's write end.
    /// let (pos, fds): (Pos, Vec<OwnedFd>) =
    ///     c.call_with_fds(0x8753_9319, 1, 1, &args, Vec::new()).await?;
    /// # Ok(()) }
    /// ```
    pub async fn call_with_fds<A: Xdr, R: Xdr>(
        &self,
        prog: u32,
        vers: u32,
        proc_: i32,
        args: &A,
        fds: Vec<OwnedFd>,
    ) -> Result<(R, Vec<OwnedFd>), ClientError> {
        if fds.len() > crate::io::NUM_FDS_MAX {
            return Err(ClientError::Protocol(format!(
                "Too many FDs to send {}, expected {} maximum",
                fds.len(),
                crate::io::NUM_FDS_MAX
            )));
        }
        if !fds.is_empty() && !self.inner.can_pass_fds() {
            return Err(ClientError::Protocol(
                "fd passing needs a UNIX socket transport".into(),
            ));
        }
        let (body, fds) = self.call_inner(prog, vers, proc_, args, fds, None).await?;
        Ok((oxvirt_xdr::from_bytes(&body)?, fds))
    }

    pub(crate) async fn call_raw<A: Xdr>(
        &self,
        prog: u32,
        vers: u32,
        proc_: i32,
        args: &A,
        on_ok: Option<OnOk>,
    ) -> Result<Vec<u8>, ClientError> {
        Ok(self
            .call_inner(prog, vers, proc_, args, Vec::new(), on_ok)
            .await?
            .0)
    }

    /// Sends one CALL (with `serial` already chosen and, for streams, its route registered)
    /// and waits for its REPLY.
    pub(crate) async fn call_serial<A: Xdr>(
        &self,
        h: Header,
        args: &A,
        fds: Vec<OwnedFd>,
        on_ok: Option<OnOk>,
    ) -> Result<(Vec<u8>, Vec<OwnedFd>), ClientError> {
        let (tx, rx) = oneshot::channel();
        // Alone (the sequential case): write directly. With other calls in flight, leave the
        // frame to the writer task, which sends the frames of all callers in one write.
        let alone = {
            let mut st = self.inner.state.lock().unwrap();
            if let Some(d) = &st.dead {
                return Err(ClientError::Disconnected(d.clone()));
            }
            let alone = st.pending.is_empty();
            st.pending.insert(h.serial, Pending { tx, on_ok });
            alone
        };
        let nfds = (h.kind == MsgType::CallWithFds).then_some(fds.len() as u32);
        if let Err(e) = with_frame(&h, nfds, args, |f| self.inner.send_opt(f, fds, None, alone)) {
            self.inner.state.lock().unwrap().pending.remove(&h.serial);
            return Err(e);
        }
        let reply = match (&self.inner.sock_read, alone) {
            (Some(sr), true) if !self.inner.reading_paused() => {
                self.inner.wait_helping(sr, rx).await
            }
            _ => rx.await,
        };
        let (rh, body, rfds) = match reply {
            Ok(r) => r?,
            Err(_) => return Err(ClientError::Disconnected(self.inner.dead_reason())),
        };
        match rh.status {
            MsgStatus::Ok => {
                if rh.proc_ != h.proc_ {
                    return Err(ClientError::Protocol(format!(
                        "Unexpected message proc {} != {}",
                        rh.proc_, h.proc_
                    )));
                }
                Ok((body, rfds))
            }
            MsgStatus::Error => {
                let e: RemoteError = oxvirt_xdr::from_bytes(&body)?;
                Err(ClientError::from_remote(e.0))
            }
            s => Err(ClientError::Protocol(format!(
                "Unexpected message status {}",
                s.to_i32()
            ))),
        }
    }

    async fn call_inner<A: Xdr>(
        &self,
        prog: u32,
        vers: u32,
        proc_: i32,
        args: &A,
        fds: Vec<OwnedFd>,
        on_ok: Option<OnOk>,
    ) -> Result<(Vec<u8>, Vec<OwnedFd>), ClientError> {
        let h = Header {
            prog,
            vers,
            proc_,
            kind: if fds.is_empty() {
                MsgType::Call
            } else {
                MsgType::CallWithFds
            },
            serial: self.inner.next_serial(),
            status: MsgStatus::Ok,
        };
        self.call_serial(h, args, fds, on_ok).await
    }

    /// Sends `CONNECT_CLOSE`, waits for its reply and shuts the connection down. Other handles
    /// to this connection fail from then on; [`Connection::closed`] reports
    /// [`CloseReason::Client`] (or why the connection had ended before).
    ///
    /// A connection that is gone when or while it is closed (the peer closed first, a proxy
    /// such as virt-ssh-helper dropped the reply) is closed as asked: that is `Ok`, as
    /// `virConnectClose` succeeds then. Only an error the server sends back is returned.
    pub async fn close(&self) -> Result<(), ClientError> {
        self.inner.closing.store(true, Ordering::Release);
        let r = self.call::<(), ()>(procs::CONNECT_CLOSE, &()).await;
        self.inner.kill(Disconnect::Closed);
        match r {
            Err(ClientError::Disconnected(why)) => {
                tracing::debug!(%why, "connection ended while closing");
                Ok(())
            }
            r => r,
        }
    }

    /// Closes a connection without `CONNECT_CLOSE` (for raw connections, whose programs have
    /// no close procedure): the socket is shut down and pending calls fail.
    pub fn shutdown(&self) {
        self.inner.closing.store(true, Ordering::Release);
        self.inner.kill(Disconnect::Closed);
    }

    /// Enables client keepalive: a PING after `interval` without traffic from the server, and
    /// the connection declared dead (pending calls fail) after `interval × (count + 1)` without
    /// any message from it. A zero interval disables it; a new call replaces the previous
    /// setting. Fails with [`ClientError::NotSupported`] when the server did not advertise
    /// keepalive. Must be called inside a tokio runtime.
    pub fn set_keepalive(&self, interval: Duration, count: u32) -> Result<(), ClientError> {
        let mut slot = self.inner.keepalive.lock().unwrap();
        if let Some(old) = slot.take() {
            old.abort();
        }
        if interval.is_zero() {
            return Ok(());
        }
        if !self.is_alive() {
            return Err(ClientError::Disconnected(self.inner.dead_reason()));
        }
        if !self.features().keepalive {
            return Err(ClientError::NotSupported(
                oxvirt_virerror::VirError::no_support("virConnectSetKeepAlive"),
            ));
        }
        *self.inner.last_rx.lock().unwrap() = Instant::now();
        *slot = Some(tokio::spawn(keepalive_loop(
            Arc::downgrade(&self.inner),
            interval,
            count,
        )));
        Ok(())
    }

    pub(crate) fn weak(&self) -> Weak<Inner> {
        Arc::downgrade(&self.inner)
    }
}
