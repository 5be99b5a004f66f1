use super::*;
use crate::handler::LogSettings;
use crate::protocol::{Domain, LogFilePosition};
use oxvirt_proto::{MsgStatus, MsgType, RemoteError};
use oxvirt_rpc::frame::{self, Parsed};
use oxvirt_xdr::{to_bytes, Uuid};
use std::fs::File;
use std::io::Write;
use std::os::unix::fs::MetadataExt;
use std::path::Path;
use std::time::Duration;

const UUID: Uuid = Uuid([7; 16]);

struct Fixture {
    prog: Arc<dyn Program>,
    handler: Arc<LogHandler>,
    client: Arc<Client>,
    serial: u32,
}

/// A decoded reply: header, payload and passed fds.
struct Answer {
    header: Header,
    payload: Vec<u8>,
    fds: Vec<OwnedFd>,
}

impl Answer {
    fn ok<T: Xdr>(&self) -> T {
        assert_eq!(self.header.status, MsgStatus::Ok, "{:?}", self.err_opt());
        oxvirt_xdr::from_bytes(&self.payload).unwrap()
    }
    fn err_opt(&self) -> Option<VirError> {
        (self.header.status == MsgStatus::Error).then(|| {
            oxvirt_xdr::from_bytes::<RemoteError>(&self.payload)
                .unwrap()
                .0
        })
    }
    fn err(&self) -> VirError {
        self.err_opt().expect("an error reply")
    }
}

impl Fixture {
    fn new(settings: LogSettings) -> Fixture {
        let handler = LogHandler::new(settings);
        Fixture {
            prog: program(handler.clone()),
            handler,
            client: Client::detached("virtlogd", false),
            serial: 0,
        }
    }

    fn call_raw(&mut self, proc_: i32, body: &[u8]) -> Answer {
        let h = Header {
            prog: p::PROGRAM,
            vers: p::VERSION,
            proc_,
            kind: MsgType::Call,
            serial: self.serial,
            status: MsgStatus::Ok,
        };
        self.serial += 1;
        let reply = match self.prog.dispatch(&self.client, &h, body, vec![]) {
            Dispatched::Now(r) => r,
            Dispatched::Later(_) => panic!("log program answers inline"),
        };
        let (bytes, fds) = match reply {
            Reply::Frame(f) => (f, vec![]),
            Reply::FrameWithFds(f, fds) => (f, fds),
            other => panic!("unexpected reply {other:?}"),
        };
        let Ok(Parsed::Frame { len, header, nfds }) = frame::parse(&bytes) else {
            panic!("bad frame");
        };
        assert_eq!(len, bytes.len());
        assert_eq!(nfds, fds.len());
        assert_eq!(
            (header.prog, header.vers, header.proc_),
            (h.prog, h.vers, proc_)
        );
        assert_eq!(header.serial, h.serial);
        let expected_kind = if fds.is_empty() {
            MsgType::Reply
        } else {
            MsgType::ReplyWithFds
        };
        assert_eq!(header.kind, expected_kind);
        Answer {
            payload: bytes[frame::payload_offset(&header)..len].to_vec(),
            header,
            fds,
        }
    }

    fn call<A: Xdr>(&mut self, proc_: i32, args: &A) -> Answer {
        self.call_raw(proc_, &to_bytes(args))
    }
}

fn dom() -> Domain {
    Domain {
        uuid: UUID,
        name: "vm".into(),
    }
}

fn open_args(path: &str, flags: u32) -> p::OpenLogFileArgs {
    p::OpenLogFileArgs {
        driver: "qemu".into(),
        dom: dom(),
        path: path.into(),
        flags,
    }
}

#[tokio::test]
async fn all_procedures() {
    let d = tempfile::tempdir().unwrap();
    let path = d.path().join("vm.log").to_str().unwrap().to_string();
    let mut f = Fixture::new(LogSettings {
        max_size: 0,
        max_backups: 3,
    });
    assert_eq!((f.prog.number(), f.prog.version()), (0x8753_9319, 1));

    // APPEND to a file nobody opened.
    let a = f.call(
        procs::DOMAIN_APPEND_LOG_FILE,
        &p::AppendLogFileArgs {
            driver: "qemu".into(),
            dom: dom(),
            path: path.clone(),
            message: p::ByteString(b"starting \xff\n".to_vec()),
            flags: 0,
        },
    );
    assert_eq!(a.ok::<p::AppendLogFileRet>().ret, 0);

    // OPEN: position after the appended text, one fd.
    let mut a = f.call(procs::DOMAIN_OPEN_LOG_FILE, &open_args(&path, 0));
    let ret: p::OpenLogFileRet = a.ok();
    let inode = std::fs::metadata(&path).unwrap().ino();
    assert_eq!(ret.pos, LogFilePosition { inode, offset: 11 });
    assert_eq!(a.fds.len(), 1);
    let mut w = File::from(a.fds.pop().unwrap());
    w.write_all(b"qemu says hi\n").unwrap();

    // GET_LOG_FILE_POSITION drains first.
    let a = f.call(
        procs::DOMAIN_GET_LOG_FILE_POSITION,
        &p::GetLogFilePositionArgs {
            path: path.clone(),
            flags: 0,
        },
    );
    let pos = a.ok::<p::GetLogFilePositionRet>().pos;
    assert_eq!(pos, LogFilePosition { inode, offset: 24 });

    // READ from the OPEN position.
    let a = f.call(
        procs::DOMAIN_READ_LOG_FILE,
        &p::ReadLogFileArgs {
            path: path.clone(),
            pos: ret.pos,
            maxlen: 1024,
            flags: 0,
        },
    );
    assert_eq!(a.ok::<p::ReadLogFileRet>().data.0, b"qemu says hi\n");
    let a = f.call(
        procs::DOMAIN_READ_LOG_FILE,
        &p::ReadLogFileArgs {
            path: path.clone(),
            pos: LogFilePosition { inode, offset: 0 },
            maxlen: 12,
            flags: 0,
        },
    );
    assert_eq!(a.ok::<p::ReadLogFileRet>().data.0, b"starting \xff\nq");

    // OPEN again while open: EBUSY.
    let a = f.call(procs::DOMAIN_OPEN_LOG_FILE, &open_args(&path, 0));
    let e = a.err();
    assert_eq!((e.code, e.domain, e.int1), (38, 63, 16));
    assert_eq!(
        e.message,
        format!("Cannot open log file: '{path}': Device or resource busy")
    );
    assert!(a.fds.is_empty());

    drop(w);
    let mut rx = f.handler.open_count();
    tokio::time::timeout(Duration::from_secs(10), rx.wait_for(|n| *n == 0))
        .await
        .unwrap()
        .unwrap();

    // Not open any more.
    let e = f
        .call(
            procs::DOMAIN_GET_LOG_FILE_POSITION,
            &p::GetLogFilePositionArgs {
                path: path.clone(),
                flags: 0,
            },
        )
        .err();
    assert_eq!((e.code, e.domain), (1, 63));
    assert_eq!(
        e.message,
        format!("internal error: No open log file {path}")
    );

    // OPEN with TRUNCATE (and an unknown flag, which libvirt ignores on OPEN).
    let mut a = f.call(procs::DOMAIN_OPEN_LOG_FILE, &open_args(&path, 1 | 0x100));
    assert_eq!(a.ok::<p::OpenLogFileRet>().pos.offset, 0);
    assert_eq!(std::fs::metadata(&path).unwrap().len(), 0);
    drop(a.fds.pop());
}

#[tokio::test]
async fn errors() {
    let d = tempfile::tempdir().unwrap();
    let path = d.path().join("vm.log").to_str().unwrap().to_string();
    let mut f = Fixture::new(LogSettings::default());

    // Flags.
    let e = f
        .call(
            procs::DOMAIN_GET_LOG_FILE_POSITION,
            &p::GetLogFilePositionArgs {
                path: path.clone(),
                flags: 4,
            },
        )
        .err();
    assert_eq!(
        e.message,
        "unsupported flags (0x4) in function virLogHandlerDomainGetLogFilePosition"
    );
    assert_eq!((e.code, e.domain), (8, 63));
    let read = |maxlen, flags| p::ReadLogFileArgs {
        path: path.clone(),
        pos: LogFilePosition::default(),
        maxlen,
        flags,
    };
    let e = f.call(procs::DOMAIN_READ_LOG_FILE, &read(10, 1)).err();
    assert_eq!(
        e.message,
        "unsupported flags (0x1) in function virLogHandlerDomainReadLogFile"
    );
    // The length is checked first, by the dispatcher (RPC domain).
    let e = f
        .call(procs::DOMAIN_READ_LOG_FILE, &read(4_194_305, 1))
        .err();
    assert_eq!(
        e.message,
        "internal error: Requested data len 4194305 is larger than maximum 4194304"
    );
    assert_eq!((e.code, e.domain), (1, 7));
    // Reading a log that does not exist fails as libvirt's does (seek on a closed slot).
    let e = f
        .call(procs::DOMAIN_READ_LOG_FILE, &read(4_194_304, 0))
        .err();
    assert_eq!((e.code, e.domain), (38, 0));
    assert!(
        e.message.starts_with("Unable to seek to inode"),
        "{}",
        e.message
    );
    let e = f
        .call(
            procs::DOMAIN_APPEND_LOG_FILE,
            &p::AppendLogFileArgs {
                driver: "qemu".into(),
                dom: dom(),
                path: path.clone(),
                message: "x".into(),
                flags: 0x8000_0000,
            },
        )
        .err();
    assert_eq!(
        e.message,
        "unsupported flags (0x80000000) in function virLogHandlerDomainAppendLogFile"
    );
    assert!(!Path::new(&path).exists());

    // Undecodable arguments and unknown procedures: RPC errors, nothing else happens.
    for proc_ in 1..=4 {
        let e = f.call_raw(proc_, &[0, 0, 0]).err();
        assert_eq!((e.code, e.domain), (39, 7));
        assert_eq!(e.message, "Unable to decode message payload");
    }
    for proc_ in [0, 5, -1] {
        let e = f.call_raw(proc_, &[]).err();
        assert_eq!((e.code, e.domain), (39, 7));
        assert_eq!(e.message, format!("unknown procedure: {proc_}"));
    }
    assert_eq!(*f.handler.open_count().borrow(), 0);

    // An OPEN that fails passes no fd.
    let a = f.call(
        procs::DOMAIN_OPEN_LOG_FILE,
        &open_args("/nonexistent-dir/vm.log", 0),
    );
    assert_eq!(a.err().code, 38);
    assert!(a.fds.is_empty());
}
