use super::*;
use std::fs::File;
use std::io::Write;
use std::os::unix::fs::MetadataExt;
use std::time::{Duration, Instant};

const UUID: [u8; 16] = [
    0xc7, 0xa5, 0xfd, 0xbd, 0xed, 0xaf, 0x9a, 0xba, 0x7f, 0x05, 0x2d, 0x45, 0x42, 0x24, 0x67, 0x07,
];

fn settings(max_size: u64) -> LogSettings {
    LogSettings {
        max_size,
        max_backups: 3,
    }
}

async fn wait_count(h: &LogHandler, n: usize) {
    let mut rx = h.open_count();
    tokio::time::timeout(Duration::from_secs(10), rx.wait_for(|c| *c == n))
        .await
        .expect("open count did not reach the expected value in time")
        .unwrap();
}

/// Join a writer thread, failing (instead of hanging) if it is stuck for 30 s.
async fn join_bounded<T>(t: std::thread::JoinHandle<T>) -> T {
    for _ in 0..3000 {
        if t.is_finished() {
            return t.join().unwrap();
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    panic!("writer thread is stuck");
}

fn path_of(d: &tempfile::TempDir, name: &str) -> String {
    d.path().join(name).to_str().unwrap().to_string()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pipe_is_drained_into_the_file_and_closed_at_eof() {
    let d = tempfile::tempdir().unwrap();
    let path = path_of(&d, "vm.log");
    std::fs::write(&path, "before\n").unwrap();
    let h = LogHandler::new(settings(0));
    let count = h.open_count();
    let (pos, wr) = h.open_log_file("qemu", UUID, "vm", &path, 0).unwrap();
    let inode = std::fs::metadata(&path).unwrap().ino();
    assert_eq!(pos, LogFilePosition { inode, offset: 7 });
    assert_eq!(*count.borrow(), 1);
    assert_eq!(h.open_paths(), vec![PathBuf::from(&path)]);

    // The write end is blocking and close-on-exec; the read end stays with the handler.
    let fl = OFlag::from_bits_retain(fcntl(wr.as_raw_fd(), FcntlArg::F_GETFL).unwrap());
    assert!(!fl.contains(OFlag::O_NONBLOCK));
    let fd = FdFlag::from_bits_retain(fcntl(wr.as_raw_fd(), FcntlArg::F_GETFD).unwrap());
    assert!(fd.contains(FdFlag::FD_CLOEXEC));

    // A second open of the same path is refused.
    let e = h.open_log_file("qemu", UUID, "vm", &path, 0).unwrap_err();
    assert_eq!(e, LogError::AlreadyOpen(path.clone()));
    assert_eq!(*count.borrow(), 1);

    let mut w = File::from(wr);
    w.write_all(b"hello from qemu\n").unwrap();
    // GET_LOG_FILE_POSITION drains what is pending before answering.
    let p = h.get_position(&path).unwrap();
    assert_eq!(p, LogFilePosition { inode, offset: 23 });
    assert_eq!(std::fs::read(&path).unwrap(), b"before\nhello from qemu\n");

    // Binary data passes untouched (more than a pipe holds: the task drains meanwhile).
    let bin: Vec<u8> = (0..=255u8).cycle().take(200_000).collect();
    let w = {
        let bin = bin.clone();
        join_bounded(std::thread::spawn(move || {
            w.write_all(&bin).unwrap();
            w
        }))
        .await
    };
    let p = h.get_position(&path).unwrap();
    assert_eq!(p.offset, 23 + 200_000);
    assert_eq!(&std::fs::read(&path).unwrap()[23..], &bin[..]);

    // All writers gone: the file is closed and forgotten.
    drop(w);
    wait_count(&h, 0).await;
    assert!(h.open_paths().is_empty());
    assert_eq!(
        h.get_position(&path).unwrap_err(),
        LogError::NotOpen(path.clone())
    );

    // And the path can be opened again, with TRUNCATE this time.
    let (pos, wr) = h
        .open_log_file("qemu", UUID, "vm", &path, OPEN_LOG_FILE_TRUNCATE)
        .unwrap();
    assert_eq!(pos.offset, 0);
    assert_eq!(std::fs::metadata(&path).unwrap().len(), 0);
    assert_eq!(*count.borrow(), 1);
    drop(wr);
    wait_count(&h, 0).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn draining_task_keeps_up_without_get_position() {
    let d = tempfile::tempdir().unwrap();
    let path = path_of(&d, "vm.log");
    let h = LogHandler::new(settings(0));
    let (_, wr) = h.open_log_file("qemu", UUID, "vm", &path, 0).unwrap();
    let total = 3 * 1024 * 1024;
    let writer = std::thread::spawn(move || {
        let mut w = File::from(wr);
        let chunk = [b'z'; 4096];
        for _ in 0..total / chunk.len() {
            w.write_all(&chunk).unwrap();
        }
    });
    join_bounded(writer).await;
    wait_count(&h, 0).await;
    assert_eq!(std::fs::metadata(&path).unwrap().len(), total as u64);
}

#[tokio::test]
async fn read_and_append() {
    let d = tempfile::tempdir().unwrap();
    let path = path_of(&d, "vm.log");
    let h = LogHandler::new(settings(16));

    // Not open: a transient writer, rotating with the handler's settings.
    h.append_log_file("qemu", UUID, "vm", &path, b"0123456789\n")
        .unwrap();
    let start = LogFilePosition {
        inode: std::fs::metadata(&path).unwrap().ino(),
        offset: 0,
    };
    h.append_log_file("qemu", UUID, "vm", &path, b"abcdefghij\n")
        .unwrap();
    assert!(Path::new(&format!("{path}.0")).exists());

    // Open: through the open writer, in order with the pipe's data.
    let (_, wr) = h.open_log_file("qemu", UUID, "vm", &path, 0).unwrap();
    let mut w = File::from(wr);
    w.write_all(b"pipe\n").unwrap();
    h.get_position(&path).unwrap();
    h.append_log_file("qemu", UUID, "vm", &path, b"\xffmsg\n")
        .unwrap();

    let all = h.read_log_file(&path, start, 1000).unwrap();
    assert_eq!(all, b"0123456789\nabcdefghij\npipe\n\xffmsg\n");
    let some = h.read_log_file(&path, start, 13).unwrap();
    assert_eq!(some, b"0123456789\nab");
    assert_eq!(
        h.read_log_file(&path, start, READ_MAX + 1).unwrap_err(),
        LogError::ReadTooLong(READ_MAX + 1)
    );
    assert!(h.read_log_file(&path, start, READ_MAX).is_ok());
    drop(w);
    wait_count(&h, 0).await;
}

#[tokio::test]
async fn open_errors() {
    let h = LogHandler::new(settings(0));
    let e = h
        .open_log_file("qemu", UUID, "vm", "/nonexistent-dir/x/vm.log", 0)
        .unwrap_err();
    assert!(
        e.to_string()
            .starts_with("Unable to open file: /nonexistent-dir/x/vm.log: "),
        "{e}"
    );
    assert!(h.open_paths().is_empty());
    assert_eq!(*h.open_count().borrow(), 0);
}

#[test]
fn uuids() {
    let s = format_uuid(&UUID);
    assert_eq!(s, "c7a5fdbd-edaf-9aba-7f05-2d4542246707");
    assert_eq!(parse_uuid(&s), Some(UUID));
    assert_eq!(parse_uuid(" C7A5FDBDEDAF9ABA7F052D4542246707 "), Some(UUID));
    assert_eq!(parse_uuid("c7a5fdbd"), None);
    assert_eq!(parse_uuid("x7a5fdbd-edaf-9aba-7f05-2d4542246707"), None);
}

/// Simulates virtlogd's re-exec in one process: save the handler (as before execve), drop it,
/// restore a new one from the JSON (as the new image does), while a "QEMU" thread keeps writing.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn exec_handover_loses_nothing() {
    let d = tempfile::tempdir().unwrap();
    let path = path_of(&d, "vm.log");
    let other = path_of(&d, "other.log");
    let s = settings(0);
    let mut h = LogHandler::new(s);
    let (_, wr) = h.open_log_file("qemu", UUID, "vm", &path, 0).unwrap();
    let (_, wr_other) = h.open_log_file("lxc", [0; 16], "other", &other, 0).unwrap();

    // The "QEMU" keeps writing until every handover is done (bounded by count and time).
    const MAX_LINES: usize = 1_000_000;
    let stop = Arc::new(std::sync::atomic::AtomicBool::new(false));
    let writer = {
        let stop = stop.clone();
        std::thread::spawn(move || {
            let deadline = Instant::now() + Duration::from_secs(60);
            let mut w = File::from(wr);
            let mut n = 0;
            while n < MAX_LINES && !stop.load(std::sync::atomic::Ordering::Relaxed) {
                assert!(Instant::now() < deadline, "writer took too long");
                // Any EPIPE here would mean a moment without a read end.
                w.write_all(format!("line {n:07}\n").as_bytes())
                    .expect("write to log pipe");
                n += 1;
                if n % 256 == 0 {
                    std::thread::sleep(Duration::from_micros(200));
                }
            }
            n
        })
    };

    for round in 0..3 {
        tokio::time::sleep(Duration::from_millis(15)).await;
        let state = h.save_for_exec();
        assert_eq!(*h.open_count().borrow(), 0);
        let files = state["files"].as_array().unwrap();
        assert_eq!(files.len(), 2, "round {round}: {state}");
        let vm = files.iter().find(|f| f["path"] == path.as_str()).unwrap();
        assert_eq!(vm["driver"], "qemu");
        assert_eq!(vm["domname"], "vm");
        assert_eq!(vm["domuuid"], "c7a5fdbd-edaf-9aba-7f05-2d4542246707");
        let fd = vm["pipefd"].as_i64().unwrap() as RawFd;
        let fl = FdFlag::from_bits_retain(fcntl(fd, FcntlArg::F_GETFD).unwrap());
        assert!(
            !fl.contains(FdFlag::FD_CLOEXEC),
            "saved fds must be inheritable"
        );
        drop(h);
        // The "exec" gap: the writer may fill the pipe and block, but never fails.
        tokio::time::sleep(Duration::from_millis(15)).await;
        h = LogHandler::restore(s, &state).unwrap();
        assert_eq!(*h.open_count().borrow(), 2);
        let fl = FdFlag::from_bits_retain(fcntl(fd, FcntlArg::F_GETFD).unwrap());
        assert!(fl.contains(FdFlag::FD_CLOEXEC));
    }

    stop.store(true, std::sync::atomic::Ordering::Relaxed);
    let lines = join_bounded(writer).await;
    assert!(
        lines < MAX_LINES,
        "the writer stopped before the handovers were done"
    );
    wait_count(&h, 1).await;
    let expected: String = (0..lines).map(|i| format!("line {i:07}\n")).collect();
    let got = std::fs::read_to_string(&path).unwrap();
    assert_eq!(got.len(), expected.len());
    assert!(got == expected, "log content differs");

    // The other file survived the handovers too.
    let mut w = File::from(wr_other);
    w.write_all(b"still here\n").unwrap();
    assert_eq!(h.get_position(&other).unwrap().offset, 11);
    drop(w);
    wait_count(&h, 0).await;
}

/// libvirt's own virtlogd writes the same document, with blocking, inheritable read ends.
#[tokio::test]
async fn restore_adopts_libvirt_state() {
    let d = tempfile::tempdir().unwrap();
    let path = path_of(&d, "vm.log");
    let (rd, wr) = nix::unistd::pipe().unwrap();
    let mut w = File::from(wr);
    w.write_all(b"queued during exec\n").unwrap();
    let state = json!({"files": [{
        "pipefd": std::os::fd::IntoRawFd::into_raw_fd(rd),
        "path": path,
        "driver": "qemu",
        "domname": "vm",
        "domuuid": "c7a5fdbd-edaf-9aba-7f05-2d4542246707",
    }]});
    let h = LogHandler::restore(settings(0), &state).unwrap();
    assert_eq!(h.get_position(&path).unwrap().offset, 19);
    assert_eq!(std::fs::read(&path).unwrap(), b"queued during exec\n");
    drop(w);
    wait_count(&h, 0).await;
}

#[tokio::test]
async fn restore_rejects_bad_documents() {
    let s = settings(0);
    let err = |v: Value| LogHandler::restore(s, &v).unwrap_err().to_string();
    assert_eq!(
        err(json!({})),
        "internal error: Missing files data from JSON file"
    );
    assert_eq!(
        err(json!({"files": 3})),
        "internal error: Malformed files array"
    );
    let good = json!({"pipefd": 100_000, "path": "/x", "driver": "qemu", "domname": "vm",
        "domuuid": "c7a5fdbd-edaf-9aba-7f05-2d4542246707"});
    let without = |k: &str| {
        let mut v = good.clone();
        v.as_object_mut().unwrap().remove(k);
        json!({ "files": [v] })
    };
    assert_eq!(
        err(without("path")),
        "internal error: Missing 'path' field in JSON document"
    );
    assert_eq!(
        err(without("driver")),
        "internal error: Missing 'driver' in JSON document"
    );
    assert_eq!(
        err(without("domname")),
        "internal error: Missing 'domname' in JSON document"
    );
    assert_eq!(
        err(without("domuuid")),
        "internal error: Missing 'domuuid' in JSON document"
    );
    assert_eq!(
        err(without("pipefd")),
        "internal error: Missing 'pipefd' in JSON document"
    );
    let mut bad_uuid = good.clone();
    bad_uuid["domuuid"] = json!("nope");
    assert_eq!(
        err(json!({ "files": [bad_uuid] })),
        "internal error: Malformed 'domuuid' in JSON document"
    );
    // A closed fd.
    assert_eq!(
        err(json!({ "files": [good] })),
        "Cannot enable close-on-exec flag: Bad file descriptor"
    );
    // An fd that is not a pipe is never adopted (and so not closed).
    let f = tempfile::tempfile().unwrap();
    let mut not_pipe = good.clone();
    not_pipe["pipefd"] = json!(f.as_raw_fd());
    assert!(err(json!({ "files": [not_pipe] })).contains("is not a pipe"));
    assert!(f.metadata().is_ok());
    // Empty state is fine.
    let h = LogHandler::restore(s, &json!({"files": []})).unwrap();
    assert_eq!(*h.open_count().borrow(), 0);
}

#[tokio::test]
async fn restore_skips_files_that_cannot_be_reopened() {
    let d = tempfile::tempdir().unwrap();
    let good_path = path_of(&d, "good.log");
    let (rd1, wr1) = nix::unistd::pipe().unwrap();
    let (rd2, wr2) = nix::unistd::pipe().unwrap();
    let state = json!({"files": [
        {"pipefd": std::os::fd::IntoRawFd::into_raw_fd(rd1), "path": "/nonexistent-dir/x.log",
         "driver": "qemu", "domname": "a", "domuuid": format_uuid(&UUID)},
        {"pipefd": std::os::fd::IntoRawFd::into_raw_fd(rd2), "path": good_path,
         "driver": "qemu", "domname": "b", "domuuid": format_uuid(&UUID)},
    ]});
    let h = LogHandler::restore(settings(0), &state).unwrap();
    assert_eq!(h.open_paths(), vec![PathBuf::from(&good_path)]);
    // The skipped pipe's read end was closed.
    let mut w1 = File::from(wr1);
    assert_eq!(
        w1.write_all(b"x").unwrap_err().raw_os_error(),
        Some(nix::libc::EPIPE)
    );
    drop(wr2);
    wait_count(&h, 0).await;
}
