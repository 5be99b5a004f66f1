//! The real C libvirtd 9.0 (Debian 12) in session mode, with the real QEMU driver and a tiny
//! bootable guest, as the client of a virtlogd (and virtlockd) binary of our choosing:
//! `OXVIRT_TEST_VIRTLOGD` and `OXVIRT_TEST_VIRTLOCKD`, by default ours (set them to
//! /usr/sbin/virtlogd and /usr/sbin/virtlockd to run the same checks against Debian's).
//! Both daemons are also re-executed (SIGUSR1) while the guest runs: its console keeps
//! arriving, its disk lease stays held. Runs as root; libvirtd, the helpers it spawns and QEMU run as the
//! unprivileged user oxvirt-test. Needs scripts/guest-assets.sh's guest (built on first use) for
//! the guest-console checks; without it the guest has no boot device and those are skipped.

#[path = "common/libvirt_session.rs"]
mod libvirt_session;

use libvirt_session::{
    alive, exe_of, fd_target, fd_targets, posix_locks, GuestAssets, SessionLibvirtd, GUEST_UP,
};
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

fn bin_from_env(var: &str, default: &str) -> PathBuf {
    std::env::var_os(var)
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(default))
}

fn virtlogd_bin() -> PathBuf {
    bin_from_env("OXVIRT_TEST_VIRTLOGD", env!("CARGO_BIN_EXE_virtlogd"))
}

fn virtlockd_bin() -> PathBuf {
    bin_from_env("OXVIRT_TEST_VIRTLOCKD", env!("CARGO_BIN_EXE_virtlockd"))
}

fn stderr(o: &std::process::Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

/// SIGUSR1 the helper and wait until the new process has taken its state file.
fn reexec(pid: u32, sock: &Path, daemon: &str) {
    let state = sock.with_file_name(format!("{daemon}-restart-exec.json"));
    nix::sys::signal::kill(
        nix::unistd::Pid::from_raw(pid as i32),
        nix::sys::signal::Signal::SIGUSR1,
    )
    .unwrap();
    // The file appears (old process) and is removed at once by the new one.
    let t0 = Instant::now();
    while t0.elapsed() < Duration::from_secs(3) && !state.exists() {
        std::thread::sleep(Duration::from_millis(2));
    }
    while t0.elapsed() < Duration::from_secs(10) && state.exists() {
        std::thread::sleep(Duration::from_millis(10));
    }
    assert!(!state.exists(), "{daemon} did not come back from SIGUSR1");
    std::thread::sleep(Duration::from_millis(300));
    assert!(alive(pid), "{daemon} died on SIGUSR1");
}

/// The highest OXVIRT-GUEST-TICK number in a console log.
fn last_tick(log: &Path) -> u64 {
    std::fs::read_to_string(log)
        .unwrap_or_default()
        .lines()
        .filter_map(|l| l.trim().strip_prefix("OXVIRT-GUEST-TICK "))
        .filter_map(|n| n.trim().parse().ok())
        .max()
        .unwrap_or(0)
}

/// The spawned helper is the binary asked for, started the way libvirtd starts it.
fn assert_spawned_as(h: &SessionLibvirtd, daemon: &str, bin: &Path) -> u32 {
    let pid = h.wait_daemon_pid(daemon, Duration::from_secs(10));
    let want = std::fs::canonicalize(bin).unwrap();
    assert_eq!(
        exe_of(pid),
        Some(want.clone()),
        "the running {daemon} (pid {pid}) is not {}",
        want.display()
    );
    let spawns = h.spawns(daemon);
    assert_eq!(
        spawns.len(),
        1,
        "{daemon} spawned more than once: {spawns:?}"
    );
    // libvirtd 9.0: `$VIRTxxxD_PATH/<daemon> --timeout=120`, env LC_ALL=C + PATH/HOME/XDG_*.
    assert_eq!(spawns[0].args, vec!["--timeout=120".to_string()]);
    for var in [
        "LC_ALL=C",
        "XDG_RUNTIME_DIR=",
        "XDG_CONFIG_HOME=",
        "XDG_CACHE_HOME=",
    ] {
        assert!(
            spawns[0].env.iter().any(|e| e.starts_with(var)),
            "{daemon} env lacks {var}: {:?}",
            spawns[0].env
        );
    }
    pid
}

/// Guest start → domain log and console log through virtlogd; destroy → logged; restart appends.
#[test]
fn libvirtd_logs_a_guest_through_the_chosen_virtlogd() {
    let t0 = Instant::now();
    let assets = GuestAssets::ensure();
    let logd = virtlogd_bin();
    let h = SessionLibvirtd::start(&logd, None, false);
    eprintln!("libvirtd up after {:?}", t0.elapsed());

    let out = h.define_and_start_guest("logd-a", &assets, None);
    assert!(
        out.status.success(),
        "start failed: {}\n{}",
        stderr(&out),
        h.diagnostics()
    );
    eprintln!("guest started after {:?}", t0.elapsed());

    // The helper: the binary we chose, listening where libvirtd looks.
    let logd_pid = assert_spawned_as(&h, "virtlogd", &logd);
    assert!(
        h.virtlogd_sock().exists(),
        "no {}",
        h.virtlogd_sock().display()
    );

    // libvirt's start-up lines and QEMU's command line, written through virtlogd.
    let log = h.log_path("logd-a");
    let text = h.wait_for_log(&log, "qemu-system-x86_64", Duration::from_secs(20));
    assert!(
        text.contains("starting up libvirt version: 9.0.0"),
        "{text}"
    );
    assert!(text.contains("LC_ALL=C"), "{text}");
    assert!(text.contains("-name guest=logd-a"), "{text}");
    let md = std::fs::metadata(&log).unwrap();
    assert_eq!(md.mode() & 0o777, 0o600, "domain log mode");
    assert_eq!(md.uid(), h.uid, "domain log owner");

    // QEMU's stdout and stderr are the write end of a pipe whose read end virtlogd holds.
    let qemu = h.qemu_pid("logd-a").expect("qemu pid file");
    let out_pipe = fd_target(qemu, 1).expect("qemu fd 1");
    assert!(out_pipe.starts_with("pipe:"), "qemu stdout is {out_pipe}");
    assert_eq!(fd_target(qemu, 2).as_deref(), Some(out_pipe.as_str()));
    assert!(
        fd_targets(logd_pid).contains(&out_pipe),
        "virtlogd (pid {logd_pid}) does not hold QEMU's stdout pipe {out_pipe}"
    );

    // The guest's serial console, logged through virtlogd as well (<serial><log file=...>).
    if assets.bootable() {
        let console = h.console_log_path("logd-a");
        h.wait_for_log(&console, GUEST_UP, Duration::from_secs(60));
        h.wait_for_log(&console, "OXVIRT-GUEST-TICK 3", Duration::from_secs(20));
        eprintln!("guest up after {:?}", t0.elapsed());

        // Live upgrade while the guest writes: virtlogd re-executes twice, keeps the pipes,
        // and the console keeps arriving (QEMU never sees EPIPE: it is still running).
        if std::env::var_os("OXVIRT_TEST_VIRTLOGD").is_none() {
            for _ in 0..2 {
                reexec(logd_pid, &h.virtlogd_sock(), "virtlogd");
            }
            let before = last_tick(&console);
            h.wait_for_log(
                &console,
                &format!("OXVIRT-GUEST-TICK {}", before + 5),
                Duration::from_secs(20),
            );
            assert!(alive(qemu), "QEMU died across the virtlogd re-exec");
            assert!(
                fd_targets(logd_pid).contains(&out_pipe),
                "re-executed virtlogd lost QEMU's stdout pipe {out_pipe}"
            );
            eprintln!("virtlogd re-executed twice after {:?}", t0.elapsed());
        }
    } else {
        eprintln!("no bootable guest: console checks skipped");
    }

    // Destroy: libvirt appends its shut-down line through virtlogd.
    let out = h.destroy_guest("logd-a");
    assert!(out.status.success(), "destroy: {}", stderr(&out));
    let text = h.wait_for_log(
        &log,
        "shutting down, reason=destroyed",
        Duration::from_secs(10),
    );
    assert!(
        text.contains("terminating on signal 15"),
        "QEMU's last words missing: {text}"
    );
    assert!(alive(logd_pid), "virtlogd died with the guest");

    // A second start appends to the same domain log, through the same virtlogd.
    let out = h.start_guest("logd-a");
    assert!(out.status.success(), "restart: {}", stderr(&out));
    let text = h.wait_for_log(&log, "-name guest=logd-a", Duration::from_secs(10));
    assert_eq!(
        text.matches("starting up libvirt version").count(),
        2,
        "domain log not appended: {text}"
    );
    let out = h.destroy_guest("logd-a");
    assert!(out.status.success(), "destroy: {}", stderr(&out));
    let t1 = Instant::now();
    loop {
        let text = std::fs::read_to_string(&log).unwrap_or_default();
        if text.matches("shutting down, reason=destroyed").count() == 2 {
            break;
        }
        assert!(
            t1.elapsed() < Duration::from_secs(10),
            "second destroy not logged: {text}"
        );
        std::thread::sleep(Duration::from_millis(100));
    }
    assert_eq!(h.spawns("virtlogd").len(), 1, "virtlogd was spawned again");
    eprintln!("done after {:?}", t0.elapsed());
}

/// lock_manager = "lockd": virtlockd (the binary we chose) holds a lock on the guest's disk and
/// refuses a second guest wanting the same disk; the lock goes when the first guest does.
#[test]
fn libvirtd_locks_disks_through_the_chosen_virtlockd() {
    let t0 = Instant::now();
    let assets = GuestAssets::ensure();
    let logd = virtlogd_bin();
    let lockd = virtlockd_bin();
    let h = SessionLibvirtd::start(&logd, Some(&lockd), true);
    let disk = h.create_disk("shared.img", 16 << 20);
    let disk_s = disk.display().to_string();

    let out = h.define_and_start_guest("lock-a", &assets, Some(&disk));
    assert!(
        out.status.success(),
        "start lock-a: {}\n{}",
        stderr(&out),
        h.diagnostics()
    );
    let lockd_pid = assert_spawned_as(&h, "virtlockd", &lockd);
    assert!(
        h.virtlockd_sock().exists(),
        "no {}",
        h.virtlockd_sock().display()
    );
    assert_spawned_as(&h, "virtlogd", &logd);

    // Direct lockspace (qemu-lockd.conf defaults): virtlockd fcntl-locks byte 0 of the image.
    let ino = std::fs::metadata(&disk).unwrap().ino();
    let locks = posix_locks(lockd_pid, ino);
    assert!(
        locks
            .iter()
            .any(|l| l.contains(" WRITE ") && l.ends_with(" 0 0")),
        "virtlockd holds no write lock on byte 0 of {disk_s}: {locks:?}\n{}",
        std::fs::read_to_string("/proc/locks").unwrap_or_default()
    );

    // Live upgrade: the lease survives virtlockd re-executing itself (same pid, same lock).
    if std::env::var_os("OXVIRT_TEST_VIRTLOCKD").is_none() {
        reexec(lockd_pid, &h.virtlockd_sock(), "virtlockd");
        let locks = posix_locks(lockd_pid, ino);
        assert!(
            locks.iter().any(|l| l.contains(" WRITE ")),
            "lease lost across the virtlockd re-exec: {locks:?}"
        );
    }

    // A second guest on the same image: QEMU's own image locking refuses it first (libvirt
    // asks virtlockd for disk leases only when it resumes the paused QEMU, after QEMU opened
    // its disks).
    h.define_guest("lock-b", &assets, Some(&disk));
    let out = h.start_guest("lock-b");
    assert!(
        !out.status.success(),
        "lock-b started on a disk lock-a holds"
    );
    let err = stderr(&out);
    assert!(err.contains("Failed to get \"write\" lock"), "{err}");

    // Same path, but a fresh file QEMU can lock: now virtlockd is the one that refuses.
    std::fs::rename(&disk, h.files_dir().join("shared-a.img")).unwrap();
    h.create_disk("shared.img", 16 << 20);
    let out = h.start_guest("lock-b");
    assert!(
        !out.status.success(),
        "lock-b started although virtlockd holds {disk_s}"
    );
    let err = stderr(&out);
    assert!(
        err.contains(&format!(
            "resource busy: Lockspace resource '{disk_s}' is locked"
        )),
        "{err}"
    );
    assert!(
        std::fs::read_to_string(h.log_path("lock-b"))
            .unwrap_or_default()
            .contains("shutting down, reason=failed"),
        "failed start not logged"
    );

    // lock-a goes → its QEMU's virtlockd connection closes → the lease is released.
    let out = h.destroy_guest("lock-a");
    assert!(out.status.success(), "destroy lock-a: {}", stderr(&out));
    let t1 = Instant::now();
    while !posix_locks(lockd_pid, ino).is_empty() {
        assert!(
            t1.elapsed() < Duration::from_secs(10),
            "virtlockd keeps lock-a's lock"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
    let out = h.start_guest("lock-b");
    assert!(
        out.status.success(),
        "lock-b after lock-a went: {}\n{}",
        stderr(&out),
        h.diagnostics()
    );
    let ino_b = std::fs::metadata(&disk).unwrap().ino();
    let t1 = Instant::now();
    while posix_locks(lockd_pid, ino_b).is_empty() {
        assert!(
            t1.elapsed() < Duration::from_secs(10),
            "virtlockd does not lock lock-b's disk"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
    assert_eq!(
        h.spawns("virtlockd").len(),
        1,
        "virtlockd was spawned again"
    );
    let out = h.destroy_guest("lock-b");
    assert!(out.status.success(), "destroy lock-b: {}", stderr(&out));
    eprintln!("done after {:?}", t0.elapsed());
}
