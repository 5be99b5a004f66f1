//! Runs a piece of a test as another user, on a thread of its own: the thread (only it: raw
//! syscalls change one thread's credentials, unlike glibc's process-wide wrappers) switches to
//! the user, so sockets it connects carry that user's SO_PEERCRED, which the session daemons
//! require (they accept only their own uid).
#![allow(dead_code)]

use std::future::Future;

/// Switches the calling thread to `uid`/`gid` with no supplementary groups.
fn become_user(uid: u32, gid: u32) {
    // SAFETY: plain syscalls with integer arguments (and a null list for setgroups); they only
    // change this thread's credentials.
    unsafe {
        assert_eq!(
            libc::syscall(libc::SYS_setgroups, 0, std::ptr::null::<libc::gid_t>()),
            0
        );
        assert_eq!(libc::syscall(libc::SYS_setresgid, gid, gid, gid), 0);
        assert_eq!(libc::syscall(libc::SYS_setresuid, uid, uid, uid), 0);
    }
}

/// Runs `f` as `uid`/`gid` on a new thread with its own current-thread runtime.
pub fn run_as<F, Fut>(uid: u32, gid: u32, f: F)
where
    F: FnOnce() -> Fut + Send + 'static,
    Fut: Future<Output = ()>,
{
    let t = std::thread::spawn(move || {
        become_user(uid, gid);
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        rt.block_on(async {
            tokio::time::timeout(std::time::Duration::from_secs(120), f())
                .await
                .expect("test body exceeded its time bound")
        });
    });
    if let Err(p) = t.join() {
        std::panic::resume_unwind(p);
    }
}

/// Runs a blocking `f` as `uid`/`gid` on a new thread.
pub fn run_as_blocking<F: FnOnce() + Send + 'static>(uid: u32, gid: u32, f: F) {
    let t = std::thread::spawn(move || {
        become_user(uid, gid);
        f();
    });
    if let Err(p) = t.join() {
        std::panic::resume_unwind(p);
    }
}
