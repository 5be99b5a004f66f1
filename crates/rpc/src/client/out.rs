//! A client's outgoing queue (`OutQueue`): frames the connection task could not write at once
//! and frames other tasks send (events, replies computed later), bounded in frames and bytes,
//! and `flush`, which writes them in order (fds after their frame) when the socket takes them.
//! Filled by the parent module's `Client` and connection task; only the connection task
//! flushes.

use super::{OUT_QUEUE, OUT_QUEUE_BYTES};
use crate::transport::Stream;
use std::collections::VecDeque;
use std::io::IoSlice;
use std::os::fd::OwnedFd;
use std::sync::Mutex;

/// Outgoing work queued on a client.
#[derive(Debug)]
pub(crate) enum Out {
    Frame(Vec<u8>, Vec<OwnedFd>),
    Close,
}

#[derive(Debug, Default)]
pub(super) struct OutState {
    pub(super) q: VecDeque<Out>,
    /// Bytes of the front frame already written.
    off: usize,
    /// Bytes of all queued frames.
    bytes: usize,
}

impl OutState {
    /// Queue `m`; false if the queue is full (the client is not reading).
    pub(super) fn push(&mut self, m: Out) -> bool {
        if let Out::Frame(f, _) = &m {
            // Bytes already queued are checked, not the new frame's: any single frame (up to
            // the 32 MiB message limit) is accepted below the bound.
            let full = self.q.len() >= OUT_QUEUE || self.bytes >= OUT_QUEUE_BYTES;
            if full {
                return false;
            }
            self.bytes += f.len();
        }
        self.q.push_back(m);
        true
    }

    fn pop(&mut self) {
        if let Some(Out::Frame(f, _)) = self.q.pop_front() {
            self.bytes -= f.len();
        }
        self.off = 0;
    }
}

/// A client's outgoing queue: what could not be written at once (the socket was full) and
/// what other tasks send (events, replies computed later). Bounded; holds no memory while
/// empty. Only the connection task writes to the socket.
#[derive(Debug, Default)]
pub(crate) struct OutQueue {
    pub(super) s: Mutex<OutState>,
}

impl OutQueue {
    /// Queue `m`; false if the queue is full (the client is not reading).
    pub(super) fn push(&self, m: Out) -> bool {
        self.s.lock().unwrap().push(m)
    }

    /// Empties the queue: its frames, without fds or close markers (a detached client's
    /// pending output).
    pub(super) fn take_frames(&self) -> Vec<Vec<u8>> {
        let mut s = self.s.lock().unwrap();
        s.off = 0;
        s.bytes = 0;
        s.q.drain(..)
            .filter_map(|m| match m {
                Out::Frame(f, _) => Some(f),
                Out::Close => None,
            })
            .collect()
    }

    pub(super) fn is_empty(&self) -> bool {
        self.s.lock().unwrap().q.is_empty()
    }
}

/// What [`flush`] left behind.
#[derive(Debug, PartialEq, Eq)]
pub(super) enum Flushed {
    /// Everything is written.
    Empty,
    /// The socket is full; wait until it is writable.
    Blocked,
    /// A `Close` marker was reached: everything before it is written.
    Close,
}

/// Write queued frames while the socket takes them (consecutive frames in one `sendmsg`;
/// passed fds after their frame's bytes).
pub(super) fn flush(out: &OutQueue, stream: &Stream) -> std::io::Result<Flushed> {
    let mut guard = out.s.lock().unwrap();
    let s = &mut *guard;
    loop {
        let written = {
            let mut iov: [IoSlice<'_>; 16] = [IoSlice::new(&[]); 16];
            let mut n = 0;
            for (i, m) in s.q.iter().enumerate() {
                match m {
                    Out::Close => break,
                    Out::Frame(f, fds) => {
                        let from = if i == 0 { s.off.min(f.len()) } else { 0 };
                        iov[n] = IoSlice::new(&f[from..]);
                        n += 1;
                        if !fds.is_empty() || n == iov.len() {
                            break;
                        }
                    }
                }
            }
            if n == 0 {
                break;
            }
            let total: usize = iov[..n].iter().map(|b| b.len()).sum();
            if total == 0 {
                0
            } else {
                match stream.try_send(&iov[..n]) {
                    Ok(w) => w,
                    Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => {
                        return Ok(Flushed::Blocked)
                    }
                    Err(e) => return Err(e),
                }
            }
        };
        // Retire what was written: whole frames (after their fds), then the front's offset.
        let mut left = written;
        while let Some(Out::Frame(f, fds)) = s.q.front_mut() {
            let rest = f.len() - s.off.min(f.len());
            if left < rest {
                s.off += left;
                break;
            }
            left -= rest;
            s.off = f.len();
            while let Some(fd) = fds.first() {
                match stream.try_send_fd(fd) {
                    Ok(()) => {
                        fds.remove(0);
                    }
                    Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => {
                        return Ok(Flushed::Blocked)
                    }
                    Err(e) => return Err(e),
                }
            }
            s.pop();
        }
    }
    if matches!(s.q.front(), Some(Out::Close)) {
        return Ok(Flushed::Close);
    }
    if s.q.capacity() > 16 {
        s.q = VecDeque::new();
    }
    Ok(Flushed::Empty)
}

#[cfg(test)]
mod queue_tests {
    use super::*;
    use std::io::Read;
    use std::time::{Duration, Instant};

    /// Frames queued while the peer does not read are written in order once it does, partial
    /// writes included; fds follow their frame's bytes.
    #[tokio::test]
    async fn queued_frames_survive_a_full_socket_in_order() {
        let (a, b) = std::os::unix::net::UnixStream::pair().unwrap();
        a.set_nonblocking(true).unwrap();
        let stream = Stream::unix(tokio::net::UnixStream::from_std(a).unwrap()).unwrap();
        let out = OutQueue::default();
        let mut expect = Vec::new();
        for i in 0..64u32 {
            let f: Vec<u8> = (0..50_000u32).map(|j| (i * 7 + j) as u8).collect();
            expect.extend_from_slice(&f);
            let fds = if i == 40 {
                vec![OwnedFd::from(std::fs::File::open("/dev/null").unwrap())]
            } else {
                Vec::new()
            };
            if i == 40 {
                expect.push(0);
            }
            assert!(out.push(Out::Frame(f, fds)));
        }
        assert_eq!(flush(&out, &stream).unwrap(), Flushed::Blocked);
        let reader = std::thread::spawn(move || {
            let mut got = Vec::new();
            let mut buf = vec![0u8; 65536];
            while got.len() < 64 * 50_000 + 1 {
                let n = (&b).read(&mut buf).unwrap();
                assert!(n > 0);
                got.extend_from_slice(&buf[..n]);
            }
            got
        });
        let t0 = Instant::now();
        loop {
            match flush(&out, &stream).unwrap() {
                Flushed::Empty => break,
                Flushed::Blocked => {
                    assert!(t0.elapsed() < Duration::from_secs(20));
                    tokio::time::sleep(Duration::from_millis(1)).await;
                }
                Flushed::Close => unreachable!(),
            }
        }
        assert!(out.is_empty());
        assert_eq!(out.s.lock().unwrap().bytes, 0);
        assert!(reader.join().unwrap() == expect);
    }

    #[test]
    fn queue_is_bounded_in_frames_and_bytes() {
        let mut s = OutState::default();
        for _ in 0..OUT_QUEUE {
            assert!(s.push(Out::Frame(vec![0; 8], Vec::new())));
        }
        assert!(!s.push(Out::Frame(vec![0; 8], Vec::new())));
        assert!(s.push(Out::Close));
        let mut s = OutState::default();
        assert!(s.push(Out::Frame(vec![0; OUT_QUEUE_BYTES], Vec::new())));
        assert!(!s.push(Out::Frame(vec![0; 1], Vec::new())));
        s.pop();
        assert_eq!(s.bytes, 0);
    }
}
