//! `--daemon`: fork into the background before the runtime starts. The original process waits
//! on a pipe until the daemon reports that start-up finished, and exits with its status.

use nix::unistd::{fork, setsid, ForkResult};
use std::io::{Read, Write};

/// The daemon's end of the status pipe.
#[derive(Debug)]
pub struct StatusPipe(Option<std::fs::File>);

impl StatusPipe {
    /// Not daemonised: reporting does nothing.
    pub fn none() -> Self {
        StatusPipe(None)
    }

    /// Tell the waiting parent how start-up went (0 = ok) and detach from it.
    pub fn report(&mut self, status: u8) {
        if let Some(mut f) = self.0.take() {
            let _ = f.write_all(&[status]);
        }
    }
}

/// Fork twice, start a session, point stdio at /dev/null. Returns in the daemon; the original
/// process exits here with the daemon's reported status. Must run before threads exist.
pub fn daemonize(argv0: &str) -> StatusPipe {
    let (r, w) = nix::unistd::pipe().expect("pipe");
    // SAFETY: called from main before the tokio runtime or any other thread exists.
    match unsafe { fork() }.expect("fork") {
        ForkResult::Parent { .. } => {
            drop(w);
            let mut f = std::fs::File::from(r);
            let mut b = [0u8; 1];
            let status = match f.read(&mut b) {
                Ok(1) => b[0],
                _ => 1,
            };
            if status != 0 {
                eprintln!(
                    "{argv0}: error: Failed to start daemon (status {status}). Check the log or run without --daemon for more info."
                );
            }
            std::process::exit(status as i32);
        }
        ForkResult::Child => {}
    }
    drop(r);
    let _ = setsid();
    // SAFETY: still single-threaded (the first child of main).
    if let ForkResult::Parent { .. } = unsafe { fork() }.expect("fork") {
        std::process::exit(0);
    }
    let _ = std::env::set_current_dir("/");
    if let Ok(null) = std::fs::OpenOptions::new()
        .read(true)
        .write(true)
        .open("/dev/null")
    {
        use std::os::fd::AsRawFd;
        for fd in 0..3 {
            let _ = nix::unistd::dup2(null.as_raw_fd(), fd);
        }
    }
    StatusPipe(Some(std::fs::File::from(w)))
}
