//! The blocking facade: the async [`crate::Connection`] for synchronous code.
//!
//! Each blocking connection owns a single-threaded tokio runtime. A call runs on the **caller's
//! own thread**: [`Connection::call`] drives the runtime (`block_on`) while it writes its frame
//! and waits for the reply, so the reply is read and handed over on the thread that asked for
//! it: no hop to a runtime thread and back (a sequential call costs what an async call costs on
//! a current-thread runtime: `sendto`, `epoll_wait`, `recvmsg`).
//!
//! When no caller is inside a call, something must still answer the server's keepalive PINGs,
//! run the client keepalive timer and receive events. A helper thread does it: once the
//! connection has seen no call for [`IDLE_GRACE`], it drives the runtime until the next call
//! starts, which preempts it (one wake-up, paid only by the first call after an idle spell).
//! While calls keep coming the helper only wakes every [`IDLE_GRACE`] to look. Several threads
//! may call at once: whichever drives the runtime reads every reply and wakes the others.
//!
//! Event channels are tokio channels: read them with `blocking_recv()` from plain threads.
//! Do not use a blocking connection from inside an async runtime (tokio refuses nested
//! `block_on`); use [`crate::Connection`] there.
//!
//! ```no_run
//! use oxvirt_client::blocking::Connection;
//! let conn = Connection::open(Some("test:///default"), false)?;
//! let dom = conn.lookup_domain_by_name("test")?;
//! let info = conn.domain_get_info(&dom)?;
//! println!("state {} vcpus {}", info.state, info.nr_virt_cpu);
//! // Any async API through block_on:
//! let n = conn.block_on(conn.as_async().list_all_domains(0))?.len();
//! conn.close()?;
//! # Ok::<(), oxvirt_client::ClientError>(())
//! ```

use crate::connection::CloseReason;
use crate::error::ClientError;
use crate::{api::DomainInfo, sockets, Domain};
use oxvirt_xdr::Xdr;
use std::future::Future;
use std::os::fd::OwnedFd;
use std::path::Path;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::sync::Notify;

/// How long a connection must see no call before the helper thread drives it.
pub const IDLE_GRACE: Duration = Duration::from_millis(50);

struct Driver {
    rt: tokio::runtime::Runtime,
    /// Callers inside `block_on`.
    active: AtomicUsize,
    /// Calls started (the helper drives only when this stood still for a grace period).
    calls: AtomicU64,
    /// The helper thread is (about to be) driving the runtime.
    idle_driving: AtomicBool,
    preempt: Notify,
    stop: AtomicBool,
}

struct Shared {
    driver: Arc<Driver>,
    idle: Mutex<Option<std::thread::JoinHandle<()>>>,
}

impl Drop for Shared {
    fn drop(&mut self) {
        self.driver.stop.store(true, Ordering::SeqCst);
        self.driver.preempt.notify_one();
        if let Some(t) = self.idle.lock().unwrap().take() {
            t.thread().unpark();
            let _ = t.join();
        }
    }
}

fn idle_loop(d: Arc<Driver>) {
    let mut last = d.calls.load(Ordering::SeqCst);
    loop {
        std::thread::park_timeout(IDLE_GRACE);
        if d.stop.load(Ordering::SeqCst) {
            return;
        }
        let now = d.calls.load(Ordering::SeqCst);
        if now != last || d.active.load(Ordering::SeqCst) != 0 {
            last = now;
            continue;
        }
        d.idle_driving.store(true, Ordering::SeqCst);
        if d.active.load(Ordering::SeqCst) == 0 && !d.stop.load(Ordering::SeqCst) {
            d.rt.block_on(d.preempt.notified());
        }
        d.idle_driving.store(false, Ordering::SeqCst);
        last = d.calls.load(Ordering::SeqCst);
    }
}

struct ActiveGuard<'a>(&'a Driver);

impl Drop for ActiveGuard<'_> {
    fn drop(&mut self) {
        self.0.active.fetch_sub(1, Ordering::SeqCst);
    }
}

/// A blocking connection: the async [`crate::Connection`] driven by the calling thread.
/// `Clone + Send + Sync`; the runtime and helper thread stop when the last clone is dropped.
#[derive(Clone)]
pub struct Connection {
    conn: crate::Connection,
    shared: Arc<Shared>,
}

impl std::fmt::Debug for Connection {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_tuple("blocking::Connection")
            .field(&self.conn)
            .finish()
    }
}

impl Connection {
    fn with_runtime<F, Fut>(f: F) -> Result<Connection, ClientError>
    where
        F: FnOnce() -> Fut,
        Fut: Future<Output = Result<crate::Connection, ClientError>>,
    {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .map_err(|e| ClientError::Config(format!("cannot start the runtime: {e}")))?;
        let conn = rt.block_on(f())?;
        let driver = Arc::new(Driver {
            rt,
            active: AtomicUsize::new(0),
            calls: AtomicU64::new(0),
            idle_driving: AtomicBool::new(false),
            preempt: Notify::new(),
            stop: AtomicBool::new(false),
        });
        let d = driver.clone();
        let idle = std::thread::Builder::new()
            .name("oxvirt-client-idle".into())
            .spawn(move || idle_loop(d))
            .map_err(|e| ClientError::Config(format!("cannot start the idle thread: {e}")))?;
        Ok(Connection {
            conn,
            shared: Arc::new(Shared {
                driver,
                idle: Mutex::new(Some(idle)),
            }),
        })
    }

    /// [`crate::Connection::open`], blocking.
    pub fn open(uri: Option<&str>, read_only: bool) -> Result<Connection, ClientError> {
        let uri = uri.map(str::to_string);
        Self::with_runtime(
            || async move { crate::Connection::open(uri.as_deref(), read_only).await },
        )
    }

    /// [`crate::Connection::open_plan`], blocking.
    pub fn open_plan(
        plan: &sockets::ConnectPlan,
        read_only: bool,
    ) -> Result<Connection, ClientError> {
        Self::with_runtime(|| crate::Connection::open_plan(plan, read_only))
    }

    /// [`crate::Connection::connect_unix_raw`], blocking.
    pub fn connect_unix_raw(path: impl AsRef<Path>) -> Result<Connection, ClientError> {
        let path = path.as_ref().to_path_buf();
        Self::with_runtime(|| async move { crate::Connection::connect_unix_raw(&path).await })
    }

    /// Runs any future of this connection (e.g. a typed call of the async API) on the calling
    /// thread. Must not be called from inside an async runtime.
    pub fn block_on<F: Future>(&self, f: F) -> F::Output {
        let d = &*self.shared.driver;
        d.active.fetch_add(1, Ordering::SeqCst);
        let _guard = ActiveGuard(d);
        d.calls.fetch_add(1, Ordering::SeqCst);
        if d.idle_driving.load(Ordering::SeqCst) {
            d.preempt.notify_one();
        }
        d.rt.block_on(f)
    }

    /// The async connection underneath (its futures must run through [`Connection::block_on`]).
    pub fn as_async(&self) -> &crate::Connection {
        &self.conn
    }

    /// [`crate::Connection::call`].
    pub fn call<A: Xdr, R: Xdr>(&self, proc_: i32, args: &A) -> Result<R, ClientError> {
        self.block_on(self.conn.call(proc_, args))
    }

    /// [`crate::Connection::call_program`].
    pub fn call_program<A: Xdr, R: Xdr>(
        &self,
        prog: u32,
        vers: u32,
        proc_: i32,
        args: &A,
    ) -> Result<R, ClientError> {
        self.block_on(self.conn.call_program(prog, vers, proc_, args))
    }

    /// [`crate::Connection::call_with_fds`].
    pub fn call_with_fds<A: Xdr, R: Xdr>(
        &self,
        prog: u32,
        vers: u32,
        proc_: i32,
        args: &A,
        fds: Vec<OwnedFd>,
    ) -> Result<(R, Vec<OwnedFd>), ClientError> {
        self.block_on(self.conn.call_with_fds(prog, vers, proc_, args, fds))
    }

    /// `virDomainLookupByName`.
    pub fn lookup_domain_by_name(&self, name: &str) -> Result<Domain, ClientError> {
        self.block_on(self.conn.lookup_domain_by_name(name))
    }

    /// `virDomainGetInfo`.
    pub fn domain_get_info(&self, dom: &Domain) -> Result<DomainInfo, ClientError> {
        self.block_on(self.conn.domain_get_info(dom))
    }

    /// `virConnectGetHostname`.
    pub fn get_hostname(&self) -> Result<String, ClientError> {
        self.block_on(self.conn.get_hostname())
    }

    /// [`crate::Connection::set_keepalive`]; the timer runs while callers are idle too.
    pub fn set_keepalive(&self, interval: Duration, count: u32) -> Result<(), ClientError> {
        let _rt = self.shared.driver.rt.enter();
        self.conn.set_keepalive(interval, count)
    }

    /// Whether the connection still works.
    pub fn is_alive(&self) -> bool {
        self.conn.is_alive()
    }

    /// Blocks until the connection closes and returns why ([`crate::Connection::closed`]).
    pub fn closed(&self) -> CloseReason {
        self.block_on(self.conn.closed())
    }

    /// The close reason, if the connection has closed.
    pub fn close_reason(&self) -> Option<CloseReason> {
        self.conn.close_reason()
    }

    /// [`crate::Connection::close`].
    pub fn close(&self) -> Result<(), ClientError> {
        self.block_on(self.conn.close())
    }
}
