//! Fencing: a lease holder whose connection closed while it still held leases has lost them,
//! so it must not go on writing to the disks they protected. virtlockd kills it: SIGTERM, then
//! SIGKILL 1.6 s later, probing every 200 ms for at most 3 s, stopping once the pid is gone.
//!
//! Called by [`mod@crate::program`] when a connection closes. Runs on its own thread so that no
//! RPC dispatch ever waits for it (libvirt blocks its event loop for those 3 s).

use nix::errno::Errno;
use nix::sys::signal::{kill, Signal};
use nix::unistd::Pid;
use std::thread::JoinHandle;
use std::time::Duration;

/// Time between probes.
pub const STEP: Duration = Duration::from_millis(200);
/// Number of probes (the first one is SIGTERM).
pub const STEPS: usize = 15;
/// The probe that is SIGKILL instead.
pub const KILL_STEP: usize = 8;

/// Whether `pid` may be signalled at all: never 0 (our process group), 1 (init), our own pid,
/// or a value that would be negative as a `pid_t` (a process group, or every process).
pub fn can_fence(pid: u32) -> bool {
    pid > 1 && pid <= i32::MAX as u32 && pid != std::process::id()
}

/// Start killing `pid` in the background; `None` if [`can_fence`] refuses it.
pub fn fence(pid: u32) -> Option<JoinHandle<()>> {
    if !can_fence(pid) {
        tracing::warn!(pid, "refusing to fence this pid");
        return None;
    }
    tracing::warn!(
        pid,
        "lease holder disconnected while holding leases; killing it"
    );
    let pid = Pid::from_raw(pid as i32);
    std::thread::Builder::new()
        .name("lockd-fence".into())
        .spawn(move || run(pid))
        .map_err(|e| tracing::error!("cannot start fencing thread: {e}"))
        .ok()
}

fn run(pid: Pid) {
    for i in 0..STEPS {
        let sig = match i {
            0 => Some(Signal::SIGTERM),
            KILL_STEP => Some(Signal::SIGKILL),
            _ => None,
        };
        match kill(pid, sig) {
            Err(Errno::ESRCH) => return,
            Err(e) => tracing::warn!("Failed to kill off pid {pid}: {e}"),
            Ok(()) => {}
        }
        std::thread::sleep(STEP);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::process::Command;
    use std::time::Instant;

    #[test]
    fn refuses_dangerous_pids() {
        assert!(!can_fence(0));
        assert!(!can_fence(1));
        assert!(!can_fence(std::process::id()));
        assert!(!can_fence(u32::MAX));
        assert!(!can_fence(i32::MAX as u32 + 1));
        assert!(can_fence(2));
        assert!(fence(0).is_none());
        assert!(fence(std::process::id()).is_none());
    }

    #[test]
    fn sigkill_follows_an_ignored_sigterm() {
        let mut child = Command::new("/bin/sh")
            .args(["-c", "trap '' TERM; exec sleep 60"])
            .spawn()
            .unwrap();
        // Give the shell time to install the trap before exec.
        std::thread::sleep(Duration::from_millis(200));
        let start = Instant::now();
        let t = fence(child.id()).unwrap();
        let mut status = None;
        for _ in 0..100 {
            if let Some(s) = child.try_wait().unwrap() {
                status = Some(s);
                break;
            }
            if start.elapsed() > Duration::from_secs(5) {
                break;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        let elapsed = start.elapsed();
        let Some(status) = status else {
            let _ = child.kill();
            let _ = child.wait();
            panic!("child survived fencing");
        };
        use std::os::unix::process::ExitStatusExt;
        assert_eq!(status.signal(), Some(libc::SIGKILL));
        assert!(elapsed >= STEP * KILL_STEP as u32 - Duration::from_millis(100));
        t.join().unwrap();
    }
}
