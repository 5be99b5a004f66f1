//! Socket I/O of a connection: who reads and writes the bytes, and how fds travel.
//!
//! A connection's transport is either a socket this module drives itself ([`Sock`]: UNIX or TCP
//! registered with tokio through `AsyncFd`) or any boxed `AsyncRead + AsyncWrite` stream a
//! transport produced (ssh, ext: a child process's pipes). The socket form lets a caller write
//! its frame straight to the kernel from its own task (`try_send`, no hand-off to a writer task)
//! and receives fds passed with `SCM_RIGHTS` (libvirt sends each fd after its frame with its own
//! one-byte `sendmsg`; every read uses `recvmsg` so that passed fds are never silently closed).
//!
//! Readiness is managed by hand: a read that returned less than it asked for drained the socket,
//! so its readiness is cleared without an extra EAGAIN-only `recvmsg` (tokio's epoll is
//! edge-triggered and `clear_ready` keeps an event that arrived meanwhile).

use nix::sys::socket::{recvmsg, sendmsg, ControlMessage, ControlMessageOwned, MsgFlags};
use std::collections::VecDeque;
use std::io::{self, IoSlice, IoSliceMut};
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd, RawFd};
use tokio::io::unix::AsyncFd;

/// The most fds libvirt passes with one message.
pub(crate) const NUM_FDS_MAX: usize = oxvirt_proto::header::NUM_FDS_MAX;

/// Bytes received but not yet framed, and fds received but not yet claimed.
pub(crate) struct RecvBuf {
    buf: Vec<u8>,
    start: usize,
    end: usize,
    /// fds received over SCM_RIGHTS, in arrival order.
    pub(crate) fds: VecDeque<OwnedFd>,
}

/// Smallest read attempted: replies usually arrive whole in one read.
const READ_MIN: usize = 64 * 1024;

impl RecvBuf {
    pub(crate) fn new() -> RecvBuf {
        RecvBuf {
            buf: vec![0; READ_MIN],
            start: 0,
            end: 0,
            fds: VecDeque::new(),
        }
    }

    /// The unconsumed bytes.
    pub(crate) fn data(&self) -> &[u8] {
        &self.buf[self.start..self.end]
    }

    /// Marks `n` bytes consumed.
    pub(crate) fn consume(&mut self, n: usize) {
        self.start += n;
        if self.start == self.end {
            self.start = 0;
            self.end = 0;
            if self.buf.len() > 4 * READ_MIN {
                self.buf = vec![0; READ_MIN];
            }
        }
    }

    /// Free room after the unconsumed bytes, enough for `want` unconsumed bytes in total (and
    /// at least `READ_MIN`), plus the fd queue to receive into.
    fn spare(&mut self, want: usize) -> (&mut [u8], &mut VecDeque<OwnedFd>) {
        let have = self.end - self.start;
        let need = want.max(have + READ_MIN);
        if self.start + need > self.buf.len() {
            self.buf.copy_within(self.start..self.end, 0);
            self.start = 0;
            self.end = have;
            if need > self.buf.len() {
                self.buf.resize(need, 0);
            }
        }
        (&mut self.buf[self.end..], &mut self.fds)
    }

    fn commit(&mut self, n: usize) {
        self.end += n;
    }
}

#[derive(Debug)]
pub(crate) enum SockKind {
    Unix(std::os::unix::net::UnixStream),
    Tcp(std::net::TcpStream),
}

impl SockKind {
    fn try_clone_fd(&self) -> io::Result<OwnedFd> {
        match self {
            SockKind::Unix(s) => Ok(s.try_clone()?.into()),
            SockKind::Tcp(s) => Ok(s.try_clone()?.into()),
        }
    }
}

impl AsRawFd for SockKind {
    fn as_raw_fd(&self) -> RawFd {
        match self {
            SockKind::Unix(s) => s.as_raw_fd(),
            SockKind::Tcp(s) => s.as_raw_fd(),
        }
    }
}

/// The socket was seen readable; hand it to [`Sock::read_ready`].
pub(crate) struct ReadReady<'a>(tokio::io::unix::AsyncFdReadyGuard<'a, SockKind>);

/// A connected UNIX or TCP socket registered with the runtime.
#[derive(Debug)]
pub(crate) struct Sock {
    fd: AsyncFd<SockKind>,
}

impl Sock {
    pub(crate) fn unix(s: tokio::net::UnixStream) -> io::Result<Sock> {
        let s = s.into_std()?;
        s.set_nonblocking(true)?;
        Self::register(SockKind::Unix(s))
    }

    pub(crate) fn tcp(s: tokio::net::TcpStream) -> io::Result<Sock> {
        let s = s.into_std()?;
        s.set_nonblocking(true)?;
        let _ = s.set_nodelay(true);
        Self::register(SockKind::Tcp(s))
    }

    fn register(kind: SockKind) -> io::Result<Sock> {
        // Read interest only: with write interest too, every time the peer drains our requests
        // the kernel raises an EPOLLOUT edge that wakes the runtime for nothing (measured:
        // 1.65 instead of 1 epoll_wait per call). Writability is waited for on a dup of the
        // socket, registered only while a write is blocked (see `writable`).
        // SAFETY: `SockKind` owns its socket and always returns the same open fd from
        // `as_raw_fd`; the fd is closed only when the `SockKind` (and so the `AsyncFd`) drops.
        let fd = unsafe { AsyncFd::register_with_interest(kind, tokio::io::Interest::READABLE) }
            .map_err(|e| e.into_parts().1)?;
        Ok(Sock { fd })
    }

    pub(crate) fn is_unix(&self) -> bool {
        matches!(self.fd.get_ref(), SockKind::Unix(_))
    }

    fn raw(&self) -> RawFd {
        self.fd.get_ref().as_raw_fd()
    }

    /// Writes what the socket takes now (never waits).
    pub(crate) fn try_send(&self, data: &[u8]) -> io::Result<usize> {
        loop {
            match nix::sys::socket::send(
                self.raw(),
                data,
                MsgFlags::MSG_NOSIGNAL | MsgFlags::MSG_DONTWAIT,
            ) {
                Ok(n) => return Ok(n),
                Err(nix::errno::Errno::EINTR) => continue,
                Err(e) => return Err(e.into()),
            }
        }
    }

    /// Passes one fd with one dummy byte, as libvirt does (never waits).
    pub(crate) fn try_send_fd(&self, fd: RawFd) -> io::Result<()> {
        let fds = [fd];
        loop {
            let iov = [IoSlice::new(&[0u8])];
            let cmsg = [ControlMessage::ScmRights(&fds)];
            match sendmsg::<()>(
                self.raw(),
                &iov,
                &cmsg,
                MsgFlags::MSG_NOSIGNAL | MsgFlags::MSG_DONTWAIT,
                None,
            ) {
                Ok(_) => return Ok(()),
                Err(nix::errno::Errno::EINTR) => continue,
                Err(e) => return Err(e.into()),
            }
        }
    }

    /// Waits after a `try_send` hit EAGAIN. The readiness seen first may be stale (set before
    /// the EAGAIN): it is cleared, and the caller's retry either progresses or comes back here
    /// to wait for a real edge.
    pub(crate) async fn writable(&self) -> io::Result<()> {
        let dup = self.fd.get_ref().try_clone_fd()?;
        // SAFETY: `dup` is an OwnedFd this AsyncFd owns; it stays open until `w` drops.
        let w = unsafe { AsyncFd::register_with_interest(dup, tokio::io::Interest::WRITABLE) }
            .map_err(|e| e.into_parts().1)?;
        // A fresh registration reports the current state: writable now means progress is
        // possible, otherwise it waits for the edge.
        let _ready = w.writable().await?;
        Ok(())
    }

    /// Waits until the socket is (or may be) readable. Several tasks may wait at once (the
    /// reader task and callers waiting for their reply); all are woken.
    pub(crate) async fn readable(&self) -> io::Result<ReadReady<'_>> {
        Ok(ReadReady(self.fd.readable().await?))
    }

    /// One non-blocking read into `rb` (fds too on UNIX sockets) after [`Sock::readable`];
    /// `want` is how many unconsumed bytes the framer needs. `Ok(None)`: nothing there (the
    /// readiness was stale and is cleared); `Ok(Some(0))`: the peer closed.
    pub(crate) fn read_ready(
        &self,
        mut ready: ReadReady<'_>,
        rb: &mut RecvBuf,
        want: usize,
    ) -> io::Result<Option<usize>> {
        let raw = self.raw();
        let unix = self.is_unix();
        let (spare, fds) = rb.spare(want);
        let room = spare.len();
        let fds_before = fds.len();
        let r = if unix {
            recv_with_fds(raw, spare, fds)
        } else {
            nix::sys::socket::recv(raw, spare, MsgFlags::empty()).map_err(io::Error::from)
        };
        match r {
            Ok(n) => {
                rb.commit(n);
                // A UNIX read also stops at a message carrying fds (before or after it), so a
                // short read proves the socket drained only when no fds are in play.
                let fds_in_play = unix && (rb.fds.len() != fds_before || awaits_fds(rb.data()));
                if n > 0 && n < room && !fds_in_play {
                    ready.0.clear_ready();
                }
                Ok(Some(n))
            }
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => {
                ready.0.clear_ready();
                Ok(None)
            }
            Err(e) if e.kind() == io::ErrorKind::Interrupted => Ok(None),
            Err(e) => Err(e),
        }
    }

    /// Waits for data and reads some into `rb`. Returns the number of bytes read (0 = peer
    /// closed).
    #[cfg(test)]
    pub(crate) async fn read_into(&self, rb: &mut RecvBuf, want: usize) -> io::Result<usize> {
        loop {
            let ready = self.readable().await?;
            if let Some(n) = self.read_ready(ready, rb, want)? {
                return Ok(n);
            }
        }
    }

    /// Shuts the write direction down: the peer sees EOF, what it sent can still be read.
    pub(crate) fn shutdown_write(&self) {
        let _ = nix::sys::socket::shutdown(self.raw(), nix::sys::socket::Shutdown::Write);
    }

    /// Shuts both directions down (the peer sees EOF; a blocked read here returns 0).
    pub(crate) fn shutdown(&self) {
        let _ = nix::sys::socket::shutdown(self.raw(), nix::sys::socket::Shutdown::Both);
    }
}

/// Reads some bytes of a boxed transport into `rb`.
pub(crate) async fn read_boxed<R: tokio::io::AsyncRead + Unpin + ?Sized>(
    rd: &mut R,
    rb: &mut RecvBuf,
    want: usize,
) -> io::Result<usize> {
    use tokio::io::AsyncReadExt;
    let (spare, _) = rb.spare(want);
    let n = rd.read(spare).await?;
    rb.commit(n);
    Ok(n)
}

/// Whether a buffered frame is a CALL_WITH_FDS/REPLY_WITH_FDS, whose fds (one-byte messages
/// of their own) follow it.
fn awaits_fds(data: &[u8]) -> bool {
    let mut off = 0;
    while data.len() >= off + 20 {
        let kind = i32::from_be_bytes(data[off + 16..off + 20].try_into().expect("4 bytes"));
        if kind == 4 || kind == 5 {
            return true;
        }
        let len = u32::from_be_bytes(data[off..off + 4].try_into().expect("4 bytes")) as usize;
        if len < 28 {
            return false;
        }
        off += len;
    }
    false
}

thread_local! {
    /// `recvmsg`'s control buffer, reused by every read on this thread (`cmsg_space!`
    /// allocates one per call otherwise).
    static CMSG: std::cell::RefCell<Vec<u8>> =
        std::cell::RefCell::new(nix::cmsg_space!([RawFd; NUM_FDS_MAX]));
}

fn recv_with_fds(fd: RawFd, spare: &mut [u8], out: &mut VecDeque<OwnedFd>) -> io::Result<usize> {
    CMSG.with(|cmsg| {
        let mut cmsg = cmsg.borrow_mut();
        let mut iov = [IoSliceMut::new(spare)];
        let msg = recvmsg::<()>(fd, &mut iov, Some(&mut cmsg), MsgFlags::MSG_CMSG_CLOEXEC)
            .map_err(io::Error::from)?;
        for c in msg.cmsgs().map_err(io::Error::from)? {
            if let ControlMessageOwned::ScmRights(fds) = c {
                for f in fds {
                    // SAFETY: the kernel just installed `f` in our fd table for this message;
                    // nothing else refers to it, so this OwnedFd is its only owner.
                    out.push_back(unsafe { OwnedFd::from_raw_fd(f) });
                }
            }
        }
        Ok(msg.bytes)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn bytes_and_fds_arrive_in_order() {
        let (a, b) = tokio::net::UnixStream::pair().unwrap();
        let (a, b) = (Sock::unix(a).unwrap(), Sock::unix(b).unwrap());
        assert_eq!(a.try_send(b"hello").unwrap(), 5);
        let f = std::fs::File::open("/dev/null").unwrap();
        a.try_send_fd(f.as_raw_fd()).unwrap();
        let mut rb = RecvBuf::new();
        let mut total = 0;
        while total < 6 {
            total += b.read_into(&mut rb, 6).await.unwrap();
        }
        assert_eq!(rb.data(), b"hello\0");
        assert_eq!(rb.fds.len(), 1);
        rb.consume(6);
        assert!(rb.data().is_empty());
    }

    #[test]
    fn recv_buf_grows_for_big_frames_and_compacts() {
        let mut rb = RecvBuf::new();
        let (s, _) = rb.spare(10);
        s[..3].copy_from_slice(b"abc");
        rb.commit(3);
        rb.consume(1);
        let (s, _) = rb.spare(300_000);
        assert!(s.len() >= 300_000 - 2);
        assert_eq!(rb.data(), b"bc");
    }
}
