//! The async connection: handshake, call multiplexing, keepalive and event routing.
//!
//! One reader task owns the read half of the socket: it hands each REPLY to the caller waiting
//! on its serial, answers keepalive PINGs, and routes event MESSAGEs to their receivers. One
//! writer task owns the write half and writes frames queued by callers in order. A
//! [`Connection`] is a cheap handle (`Clone + Send + Sync`); when the last handle is dropped the
//! tasks stop and the socket closes (without `CONNECT_CLOSE`; call [`Connection::close`]
//! for an orderly shutdown).
//!
//! ```no_run
//! # async fn demo() -> Result<(), oxvirt_client::ClientError> {
//! use oxvirt_client::Connection;
//! let conn = Connection::open(Some("qemu:///system"), false).await?;
//! conn.set_keepalive(std::time::Duration::from_secs(5), 5)?;
//! let mut events = conn.domain_lifecycle_events().await?;
//! for dom in conn.list_all_domains(0).await? {
//!     let info = conn.domain_get_info(&dom).await?;
//!     println!("{} state {} vcpus {}", dom.name, info.state, info.nr_virt_cpu);
//! }
//! if let Some(ev) = events.recv().await {
//!     println!("{}: {:?}", ev.domain.name, ev.kind);
//! }
//! conn.close().await
//! # }
//! ```

use crate::error::{ClientError, Disconnect};
use crate::events::{EventRoutes, LifecycleEvent};
use crate::{conf::ClientConf, select, sockets, Env};
use oxvirt_proto::header::{self, begin_frame, check_length, finish_frame};
use oxvirt_proto::remote::{self, procs};
use oxvirt_proto::{keepalive, Header, MsgStatus, MsgType, RemoteError};
use oxvirt_xdr::Xdr;
use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, AtomicU32, Ordering};
use std::sync::{Arc, Mutex, Weak};
use std::time::{Duration, Instant};
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::sync::{mpsc, oneshot};
use tokio::task::JoinHandle;

/// `VIR_DRV_FEATURE_PROGRAM_KEEPALIVE`.
pub const FEATURE_PROGRAM_KEEPALIVE: i32 = 10;
/// `VIR_DRV_FEATURE_REMOTE_EVENT_CALLBACK`.
pub const FEATURE_REMOTE_EVENT_CALLBACK: i32 = 14;
/// `VIR_DRV_FEATURE_REMOTE_CLOSE_CALLBACK`.
pub const FEATURE_REMOTE_CLOSE_CALLBACK: i32 = 15;

type ReplyResult = Result<(Header, Vec<u8>), ClientError>;

/// Runs in the reader task on a successful reply, before the next frame is read (used to
/// install event routes so that no event following the reply is missed).
pub(crate) type OnOk = Box<dyn FnOnce(&[u8]) + Send>;

struct Pending {
    tx: oneshot::Sender<ReplyResult>,
    on_ok: Option<OnOk>,
}

#[derive(Default)]
struct State {
    pending: HashMap<u32, Pending>,
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

pub(crate) struct Inner {
    serial: AtomicU32,
    state: Mutex<State>,
    out: mpsc::UnboundedSender<Vec<u8>>,
    last_rx: Mutex<Instant>,
    pub(crate) events: Mutex<EventRoutes>,
    tasks: Mutex<Vec<JoinHandle<()>>>,
    keepalive: Mutex<Option<JoinHandle<()>>>,
    features: Mutex<Features>,
    uri: Mutex<Option<String>>,
    read_only: AtomicBool,
}

impl Inner {
    /// Marks the connection dead (first reason wins) and fails every pending call.
    fn kill(&self, why: Disconnect) {
        let pending = {
            let mut st = self.state.lock().unwrap();
            if st.dead.is_none() {
                st.dead = Some(why.clone());
            }
            std::mem::take(&mut st.pending)
        };
        if !pending.is_empty() {
            tracing::debug!(reason = %why, n = pending.len(), "failing pending calls");
        }
        for (_, p) in pending {
            let _ = p.tx.send(Err(ClientError::Disconnected(why.clone())));
        }
        self.events.lock().unwrap().clear();
        for t in self.tasks.lock().unwrap().drain(..) {
            t.abort();
        }
        if let Some(t) = self.keepalive.lock().unwrap().take() {
            t.abort();
        }
    }

    fn send_frame(&self, frame: Vec<u8>) -> Result<(), ClientError> {
        self.out
            .send(frame)
            .map_err(|_| ClientError::Disconnected(self.dead_reason()))
    }

    fn dead_reason(&self) -> Disconnect {
        self.state
            .lock()
            .unwrap()
            .dead
            .clone()
            .unwrap_or(Disconnect::Closed)
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
    }
}

/// A connection to a libvirt daemon speaking the REMOTE program.
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

trait Stream: AsyncRead + AsyncWrite + Send + Unpin {}
impl<T: AsyncRead + AsyncWrite + Send + Unpin> Stream for T {}

fn effective_uid() -> u32 {
    nix::unistd::geteuid().as_raw()
}

fn frame<A: Xdr>(h: &Header, args: &A) -> Vec<u8> {
    let mut out = Vec::with_capacity(64);
    begin_frame(&mut out, h);
    args.encode(&mut out);
    finish_frame(&mut out, 0);
    out
}

impl Connection {
    /// Opens `uri` (`None`: `LIBVIRT_DEFAULT_URI`, `uri_default`, then probing) as the C client
    /// does: decides the endpoint from the process environment and `libvirt.conf`, connects and
    /// runs the open handshake. UNIX and TCP endpoints are supported; a missing session daemon
    /// is started as libvirt's client starts it ([`crate::autostart`]).
    pub async fn open(uri: Option<&str>, read_only: bool) -> Result<Connection, ClientError> {
        let env = Env::from_process();
        let euid = effective_uid();
        let conf = match ClientConf::path(euid, &env) {
            Ok(p) => match std::fs::read_to_string(&p) {
                Ok(text) => ClientConf::parse(&p.to_string_lossy(), &text)
                    .map_err(|e| ClientError::Config(e.to_string()))?,
                Err(_) => ClientConf::default(),
            },
            Err(_) => ClientConf::default(),
        };
        let parsed = select::select_uri(uri, &env, &conf, false)
            .map_err(|e| ClientError::Config(e.to_string()))?;
        let ctx = sockets::Context::new(euid, &env, &conf);
        let plan = sockets::plan(parsed.as_ref(), read_only, &ctx)
            .map_err(|e| ClientError::Config(e.to_string()))?;
        Self::open_plan(&plan, read_only).await
    }

    /// Connects to a planned endpoint and runs the handshake.
    pub async fn open_plan(
        plan: &sockets::ConnectPlan,
        read_only: bool,
    ) -> Result<Connection, ClientError> {
        let stream: Box<dyn Stream> = match &plan.endpoint {
            sockets::Endpoint::Unix(u) => Box::new(crate::autostart::connect(u).await?),
            sockets::Endpoint::Tcp { host, port } => {
                let s = tokio::net::TcpStream::connect((host.as_str(), *port))
                    .await
                    .map_err(|e| ClientError::Connect {
                        target: format!("{host}:{port}"),
                        reason: e.to_string(),
                    })?;
                let _ = s.set_nodelay(true);
                Box::new(s)
            }
            sockets::Endpoint::Ssh { .. } | sockets::Endpoint::Ext { .. } => {
                Box::new(crate::transport::connect(&plan.endpoint)?)
            }
            sockets::Endpoint::Tls { .. } => return Err(crate::transport::tls_unsupported()),
        };
        let conn = Self::start(stream);
        conn.inner.read_only.store(read_only, Ordering::Relaxed);
        conn.handshake(plan).await?;
        Ok(conn)
    }

    /// Wraps an already-connected UNIX stream without any handshake (used by
    /// [`crate::admin::AdminConnection`], which runs the ADMIN program's own).
    pub fn from_unix_stream(stream: tokio::net::UnixStream) -> Connection {
        Self::start(Box::new(stream))
    }

    fn start(stream: Box<dyn Stream>) -> Connection {
        let (rd, wr) = tokio::io::split(stream);
        let (tx, rx) = mpsc::unbounded_channel();
        let inner = Arc::new(Inner {
            serial: AtomicU32::new(0),
            state: Mutex::new(State::default()),
            out: tx,
            last_rx: Mutex::new(Instant::now()),
            events: Mutex::new(EventRoutes::default()),
            tasks: Mutex::new(Vec::new()),
            keepalive: Mutex::new(None),
            features: Mutex::new(Features::default()),
            uri: Mutex::new(None),
            read_only: AtomicBool::new(false),
        });
        let w = tokio::spawn(writer(rd_weak(&inner), wr, rx));
        let r = tokio::spawn(reader(rd_weak(&inner), rd));
        inner.tasks.lock().unwrap().extend([w, r]);
        Connection { inner }
    }

    async fn handshake(&self, plan: &sockets::ConnectPlan) -> Result<(), ClientError> {
        match self
            .call::<(), remote::AuthListRet>(procs::AUTH_LIST, &())
            .await
        {
            Ok(r) => {
                if let Some(&first) = r.types.first() {
                    if first != remote::AUTH_NONE {
                        return Err(ClientError::AuthUnsupported(first));
                    }
                }
            }
            Err(ClientError::NotSupported(_)) => {}
            Err(e) => return Err(e),
        }
        let keepalive = self.supports_feature(FEATURE_PROGRAM_KEEPALIVE).await?;
        self.call::<_, ()>(
            procs::CONNECT_OPEN,
            &remote::ConnectOpenArgs {
                name: Some(plan.open_name.clone()),
                flags: plan.open_flags,
            },
        )
        .await?;
        let uri = if plan.query_uri_after_open {
            self.call::<(), remote::StringRet>(procs::CONNECT_GET_URI, &())
                .await?
                .value
        } else {
            plan.open_name.clone()
        };
        *self.inner.uri.lock().unwrap() = Some(uri);
        let event_callback = self.supports_feature(FEATURE_REMOTE_EVENT_CALLBACK).await?;
        let close_callback = self.supports_feature(FEATURE_REMOTE_CLOSE_CALLBACK).await?;
        *self.inner.features.lock().unwrap() = Features {
            keepalive,
            event_callback,
            close_callback,
        };
        Ok(())
    }

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

    /// Calls a REMOTE procedure.
    pub async fn call<A: Xdr, R: Xdr>(&self, proc_: i32, args: &A) -> Result<R, ClientError> {
        self.call_program(remote::PROGRAM, remote::VERSION, proc_, args)
            .await
    }

    /// Calls a procedure of any program served on this connection (REMOTE, QEMU, LXC).
    pub async fn call_program<A: Xdr, R: Xdr>(
        &self,
        prog: u32,
        vers: u32,
        proc_: i32,
        args: &A,
    ) -> Result<R, ClientError> {
        let body = self.call_raw(prog, vers, proc_, args, None).await?;
        Ok(oxvirt_xdr::from_bytes(&body)?)
    }

    pub(crate) async fn call_raw<A: Xdr>(
        &self,
        prog: u32,
        vers: u32,
        proc_: i32,
        args: &A,
        on_ok: Option<OnOk>,
    ) -> Result<Vec<u8>, ClientError> {
        let (tx, rx) = oneshot::channel();
        let serial = {
            let mut st = self.inner.state.lock().unwrap();
            if let Some(d) = &st.dead {
                return Err(ClientError::Disconnected(d.clone()));
            }
            let serial = self.inner.serial.fetch_add(1, Ordering::Relaxed);
            st.pending.insert(serial, Pending { tx, on_ok });
            serial
        };
        let h = Header {
            prog,
            vers,
            proc_,
            kind: MsgType::Call,
            serial,
            status: MsgStatus::Ok,
        };
        if let Err(e) = self.inner.send_frame(frame(&h, args)) {
            self.inner.state.lock().unwrap().pending.remove(&serial);
            return Err(e);
        }
        let (rh, body) = match rx.await {
            Ok(r) => r?,
            Err(_) => return Err(ClientError::Disconnected(self.inner.dead_reason())),
        };
        match rh.status {
            MsgStatus::Ok => {
                if rh.proc_ != proc_ {
                    return Err(ClientError::Protocol(format!(
                        "Unexpected message proc {} != {}",
                        rh.proc_, proc_
                    )));
                }
                Ok(body)
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

    /// Sends `CONNECT_CLOSE`, waits for its reply and shuts the connection down. Other handles
    /// to this connection fail from then on.
    pub async fn close(&self) -> Result<(), ClientError> {
        let r = self.call::<(), ()>(procs::CONNECT_CLOSE, &()).await;
        self.inner.kill(Disconnect::Closed);
        r
    }

    /// Enables client keepalive: a PING after `interval` without traffic from the server, and
    /// the connection declared dead (pending calls fail) after `interval × (count + 1)` without
    /// any message from it. A zero interval disables it; a new call replaces the previous
    /// setting. Fails with [`ClientError::NotSupported`] when the server did not advertise
    /// keepalive.
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
            rd_weak(&self.inner),
            interval,
            count,
        )));
        Ok(())
    }

    pub(crate) fn weak(&self) -> Weak<Inner> {
        Arc::downgrade(&self.inner)
    }

    /// Registers an event route before the server can send events for it.
    pub(crate) fn add_lifecycle_route(
        inner: &Weak<Inner>,
        id: i32,
        tx: mpsc::Sender<LifecycleEvent>,
    ) {
        if let Some(i) = inner.upgrade() {
            i.events.lock().unwrap().lifecycle.insert(id, tx);
        }
    }
}

fn rd_weak(inner: &Arc<Inner>) -> Weak<Inner> {
    Arc::downgrade(inner)
}

fn ping_frame(proc_: i32) -> Vec<u8> {
    let h = Header {
        prog: keepalive::PROGRAM,
        vers: keepalive::VERSION,
        proc_,
        kind: MsgType::Message,
        serial: 0,
        status: MsgStatus::Ok,
    };
    frame(&h, &())
}

async fn keepalive_loop(inner: Weak<Inner>, interval: Duration, count: u32) {
    let deadline = interval * (count + 1);
    let tick = (interval / 4).max(Duration::from_millis(10));
    let mut last_ping = Instant::now();
    loop {
        tokio::time::sleep(tick).await;
        let Some(i) = inner.upgrade() else { return };
        let idle = i.last_rx.lock().unwrap().elapsed();
        if idle >= deadline {
            tracing::warn!(?idle, "no message from the server: keepalive timeout");
            i.kill(Disconnect::KeepaliveTimeout);
            return;
        }
        if idle >= interval && last_ping.elapsed() >= interval {
            last_ping = Instant::now();
            if i.send_frame(ping_frame(keepalive::PROC_PING)).is_err() {
                return;
            }
        }
    }
}

async fn writer(
    inner: Weak<Inner>,
    mut wr: tokio::io::WriteHalf<Box<dyn Stream>>,
    mut rx: mpsc::UnboundedReceiver<Vec<u8>>,
) {
    let mut buf = Vec::new();
    while let Some(f) = rx.recv().await {
        buf.clear();
        buf.extend_from_slice(&f);
        // Batch whatever else is queued into one write.
        while buf.len() < 256 * 1024 {
            match rx.try_recv() {
                Ok(f) => buf.extend_from_slice(&f),
                Err(_) => break,
            }
        }
        if let Err(e) = wr.write_all(&buf).await {
            if let Some(i) = inner.upgrade() {
                i.kill(Disconnect::Io(e.to_string()));
            }
            return;
        }
    }
    let _ = wr.shutdown().await;
}

async fn reader(inner: Weak<Inner>, rd: tokio::io::ReadHalf<Box<dyn Stream>>) {
    // Buffered: a reply's length word and body usually arrive in one read.
    let mut rd = tokio::io::BufReader::with_capacity(64 * 1024, rd);
    let why = loop {
        let mut len = [0u8; 4];
        if let Err(e) = rd.read_exact(&mut len).await {
            break if e.kind() == std::io::ErrorKind::UnexpectedEof {
                Disconnect::Eof
            } else {
                Disconnect::Io(e.to_string())
            };
        }
        let body_len = match check_length(u32::from_be_bytes(len)) {
            Ok(n) => n,
            Err(n) => {
                break Disconnect::Protocol(format!(
                    "packet {n} bytes received from server too large"
                ))
            }
        };
        let mut body = vec![0u8; body_len];
        if let Err(e) = rd.read_exact(&mut body).await {
            break if e.kind() == std::io::ErrorKind::UnexpectedEof {
                Disconnect::Eof
            } else {
                Disconnect::Io(e.to_string())
            };
        }
        let Some(i) = inner.upgrade() else { return };
        *i.last_rx.lock().unwrap() = Instant::now();
        let h: Header = match oxvirt_xdr::from_bytes(&body) {
            Ok(h) => h,
            Err(_) => break Disconnect::Protocol("malformed message header".into()),
        };
        let payload = body.split_off(header::HEADER_SIZE);
        if let Err(why) = dispatch(&i, h, payload) {
            break why;
        }
    };
    if let Some(i) = inner.upgrade() {
        i.kill(why);
    }
}

fn dispatch(i: &Inner, h: Header, mut payload: Vec<u8>) -> Result<(), Disconnect> {
    if h.prog == keepalive::PROGRAM {
        if h.kind == MsgType::Message && h.proc_ == keepalive::PROC_PING {
            let _ = i.send_frame(ping_frame(keepalive::PROC_PONG));
        }
        return Ok(());
    }
    match h.kind {
        MsgType::Reply | MsgType::ReplyWithFds => {
            if h.kind == MsgType::ReplyWithFds && payload.len() >= 4 {
                // No fd passing yet: drop the count word (fds, if any, are not received).
                payload.drain(..4);
            }
            let p = i.state.lock().unwrap().pending.remove(&h.serial);
            let Some(p) = p else {
                return Err(Disconnect::Protocol(format!(
                    "no call waiting for reply with prog {} vers {} serial {}",
                    h.prog, h.vers, h.serial
                )));
            };
            if h.status == MsgStatus::Ok && h.prog == remote::PROGRAM {
                if let Some(f) = p.on_ok {
                    f(&payload);
                }
            }
            let _ = p.tx.send(Ok((h, payload)));
            Ok(())
        }
        MsgType::Message if h.prog == remote::PROGRAM => {
            i.events.lock().unwrap().dispatch(h.proc_, &payload);
            Ok(())
        }
        MsgType::Message if h.prog == remote::QEMU_PROGRAM || h.prog == remote::LXC_PROGRAM => {
            tracing::debug!(prog = h.prog, proc_ = h.proc_, "ignoring event");
            Ok(())
        }
        MsgType::Message => Err(Disconnect::Protocol(format!(
            "unexpected message from program {} version {}",
            h.prog, h.vers
        ))),
        other => {
            tracing::debug!(?other, "ignoring message of unexpected type");
            Ok(())
        }
    }
}
