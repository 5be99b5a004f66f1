//! Allocation and memory guards of the steady-state call path, over a real UNIX socket.
//!
//! The REMOTE program is served in-process by an `oxvirt-rpc` server on its own multi-thread
//! runtime (as the daemon runs it); the client is this test's thread, speaking raw frames.
//! A counting global allocator counts only what the runtime's threads allocate, so the figures
//! are the server's: after a warm-up, N sequential `DOMAIN_GET_INFO` calls, and N lookups of a
//! domain by name, UUID or id, may allocate at most N times (the reply buffer each), and an idle
//! opened connection keeps under 2 KiB live.

use oxvirt_proto::remote::{self as r, procs as p};
use oxvirt_proto::{Header, MsgStatus};
use oxvirt_rpc::service::{bind_unix, PeerPolicy};
use oxvirt_rpc::{Server, ServerLimits, Service};
use oxvirt_xdr::Xdr;
use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;
use std::io::{Read, Write};
use std::os::unix::net::UnixStream;
use std::sync::atomic::{AtomicI64, AtomicU64, Ordering};
use std::sync::Mutex;
use std::time::Duration;

struct Counting;

static ALLOCS: AtomicU64 = AtomicU64::new(0);
static LIVE: AtomicI64 = AtomicI64::new(0);

thread_local! {
    /// Set on the server runtime's threads: only their allocations are counted.
    static COUNTED: Cell<bool> = const { Cell::new(false) };
}

fn counted() -> bool {
    COUNTED.try_with(Cell::get).unwrap_or(false)
}

// SAFETY: every call is forwarded unchanged to the system allocator; the counters are atomics
// and the thread-local flag is a const-initialised `Cell` (no allocation, no destructor).
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, l: Layout) -> *mut u8 {
        if counted() {
            ALLOCS.fetch_add(1, Ordering::Relaxed);
            LIVE.fetch_add(l.size() as i64, Ordering::Relaxed);
        }
        // SAFETY: same contract as ours.
        unsafe { System.alloc(l) }
    }
    unsafe fn dealloc(&self, ptr: *mut u8, l: Layout) {
        if counted() {
            LIVE.fetch_sub(l.size() as i64, Ordering::Relaxed);
        }
        // SAFETY: `ptr` came from `System` with layout `l`.
        unsafe { System.dealloc(ptr, l) }
    }
    unsafe fn realloc(&self, ptr: *mut u8, l: Layout, new: usize) -> *mut u8 {
        if counted() {
            ALLOCS.fetch_add(1, Ordering::Relaxed);
            LIVE.fetch_add(new as i64 - l.size() as i64, Ordering::Relaxed);
        }
        // SAFETY: `ptr` came from `System` with layout `l`.
        unsafe { System.realloc(ptr, l, new) }
    }
}

#[global_allocator]
static GLOBAL: Counting = Counting;

/// Both tests read process-wide counters: run them one at a time.
static SERIAL: Mutex<()> = Mutex::new(());

struct InProcess {
    rt: tokio::runtime::Runtime,
    _dir: tempfile::TempDir,
    sock: std::path::PathBuf,
}

fn serve() -> InProcess {
    let dir = tempfile::tempdir().unwrap();
    let sock = dir.path().join("libvirt-sock");
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .on_thread_start(|| COUNTED.with(|c| c.set(true)))
        .build()
        .unwrap();
    {
        let sock = sock.clone();
        rt.block_on(async move {
            let server = Server::new(
                "libvirtd",
                ServerLimits::default(),
                oxvirt_daemon::remote::programs(&oxvirt_daemon::family::LIBVIRTD),
            );
            let service = Service {
                listener: bind_unix(&sock, 0o700, None, 64).unwrap(),
                readonly: false,
                auth_none: true,
                peers: PeerPolicy::Any,
            };
            // Leaked on purpose: the service runs until the runtime is dropped.
            std::mem::forget(service.spawn(server));
        });
    }
    InProcess {
        rt,
        _dir: dir,
        sock,
    }
}

fn call<T: Xdr>(proc_: i32, serial: u32, body: &T) -> Vec<u8> {
    oxvirt_rpc::frame::call(r::PROGRAM, r::VERSION, proc_, serial, body)
}

fn roundtrip(s: &mut UnixStream, frame: &[u8], buf: &mut Vec<u8>) -> Header {
    s.write_all(frame).unwrap();
    let mut len = [0u8; 4];
    s.read_exact(&mut len).unwrap();
    buf.resize(u32::from_be_bytes(len) as usize - 4, 0);
    s.read_exact(buf).unwrap();
    let h = oxvirt_xdr::from_bytes::<Header>(buf).unwrap();
    assert_eq!(h.status, MsgStatus::Ok, "procedure {} failed", h.proc_);
    h
}

/// AUTH_LIST + CONNECT_OPEN, as every libvirt client starts.
fn opened(srv: &InProcess) -> UnixStream {
    let mut s = UnixStream::connect(&srv.sock).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    let mut buf = Vec::new();
    roundtrip(&mut s, &call(p::AUTH_LIST, 0, &()), &mut buf);
    let open = r::ConnectOpenArgs {
        name: Some("test:///default".into()),
        flags: 0,
    };
    roundtrip(&mut s, &call(p::CONNECT_OPEN, 1, &open), &mut buf);
    s
}

#[test]
fn steady_state_calls_allocate_only_the_reply_buffer() {
    let _g = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
    let srv = serve();
    let mut s = opened(&srv);
    let mut buf = Vec::new();
    let lookup = r::LookupByNameArgs {
        name: "test".into(),
    };
    roundtrip(
        &mut s,
        &call(p::DOMAIN_LOOKUP_BY_NAME, 2, &lookup),
        &mut buf,
    );
    let dom = oxvirt_xdr::from_bytes::<r::DomainRet>(&buf[24..])
        .unwrap()
        .dom;
    let uuid = dom.uuid;
    let info = call(p::DOMAIN_GET_INFO, 3, &r::DomainArgs { dom });
    for _ in 0..500 {
        roundtrip(&mut s, &info, &mut buf);
    }
    const N: u64 = 2000;
    let before = ALLOCS.load(Ordering::SeqCst);
    for _ in 0..N {
        roundtrip(&mut s, &info, &mut buf);
    }
    let allocs = ALLOCS.load(Ordering::SeqCst) - before;
    eprintln!("{allocs} allocations on the server's threads for {N} DOMAIN_GET_INFO calls");
    // A worker thread that runs the connection for the first time creates its per-thread
    // buffers once (receive scratch, reply batch, domain reference): a small constant.
    assert!(
        allocs <= N + 16,
        "{allocs} allocations for {N} calls: more than the reply buffer per call"
    );
    // Lookups (virsh makes one per command) encode their reply from the driver's domain: the
    // reply is their only allocation too.
    for (what, frame) in [
        (
            "DOMAIN_LOOKUP_BY_NAME",
            call(p::DOMAIN_LOOKUP_BY_NAME, 4, &lookup),
        ),
        (
            "DOMAIN_LOOKUP_BY_UUID",
            call(p::DOMAIN_LOOKUP_BY_UUID, 5, &r::LookupByUuidArgs { uuid }),
        ),
        (
            "DOMAIN_LOOKUP_BY_ID",
            call(p::DOMAIN_LOOKUP_BY_ID, 6, &r::LookupByIdArgs { id: 1 }),
        ),
    ] {
        roundtrip(&mut s, &frame, &mut buf);
        let before = ALLOCS.load(Ordering::SeqCst);
        for _ in 0..N {
            let h = roundtrip(&mut s, &frame, &mut buf);
            assert_eq!(h.status, MsgStatus::Ok, "{what}");
        }
        let allocs = ALLOCS.load(Ordering::SeqCst) - before;
        eprintln!("{allocs} allocations on the server's threads for {N} {what} calls");
        assert!(
            allocs <= N + 16,
            "{allocs} allocations for {N} {what} calls: more than the reply buffer per call"
        );
    }
    drop(s);
    drop(srv.rt);
}

#[test]
fn idle_connections_hold_under_2_kib_each() {
    let _g = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
    let srv = serve();
    // Warm up per-thread buffers and the runtime's slabs.
    let warm: Vec<UnixStream> = (0..50).map(|_| opened(&srv)).collect();
    drop(warm);
    std::thread::sleep(Duration::from_millis(200));
    const N: i64 = 400;
    let before = LIVE.load(Ordering::SeqCst);
    let conns: Vec<UnixStream> = (0..N).map(|_| opened(&srv)).collect();
    std::thread::sleep(Duration::from_millis(200));
    let per_conn = (LIVE.load(Ordering::SeqCst) - before) / N;
    eprintln!("{per_conn} bytes live on the server per idle opened connection");
    assert!(
        per_conn < 2048,
        "{per_conn} bytes per idle connection (target: under 2 KiB)"
    );
    drop(conns);
    drop(srv.rt);
}
